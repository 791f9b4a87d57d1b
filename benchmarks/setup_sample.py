"""One samples.ndjson line about set-up from a ducklake-stress run's log (scripts/bench.sh,
part "setup"): the run's set-up seconds (from `run` to the go: environment, extension
verification, the lake, every writer's set-up) and each writer's own set-up (its
extensions, secret and ATTACH), median and max, and the time to the first commit.
Usage: setup_sample.py LOG WRITERS REP MODE LABEL (LABEL: "before" or "after", which binary)"""
import json
import statistics
import sys

log, writers, rep, mode, label = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
path = [line[8:].strip() for line in open(log) if line.startswith("report: ")]
if not path:
    print(json.dumps({"tool": "setup", "label": label, "mode": mode, "writers": writers, "rep": rep, "error": open(log).read()[-500:]}))
    sys.exit()
r = json.load(open(path[0]))
per_writer = [w["setup_ms"] for w in r.get("writers", []) if w.get("setup_ms") is not None]
first = next((s["second"] for s in r.get("timeline", []) if s.get("commits")), None)
print(json.dumps({
    "tool": "setup", "label": label, "mode": mode, "writers": writers, "rep": rep,
    "setup_seconds": r["setup_seconds"],
    "writer_setup_ms_median": statistics.median(per_writer) if per_writer else None,
    "writer_setup_ms_max": max(per_writer) if per_writer else None,
    "first_commit_within_seconds": None if first is None else r["setup_seconds"] + first + 1,
    "extensions": [{k: e.get(k) for k in ("name", "verified", "sha256")} for e in r["versions"]["extensions"]],
    "verdict": r["verdict"],
}))
