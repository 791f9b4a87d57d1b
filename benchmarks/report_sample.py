"""One samples.ndjson line from a ducklake-stress run's log (scripts/bench.sh): the report
it printed the path of, reduced to the figures the benchmark tables use.
Usage: report_sample.py LOG TOOL WRITERS REP [MODE]"""
import json
import sys

log, tool, writers, rep = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
mode = sys.argv[5] if len(sys.argv) > 5 else "thread"
path = [line[8:].strip() for line in open(log) if line.startswith("report: ")]
if not path:
    print(json.dumps({"tool": tool, "mode": mode, "writers": writers, "rep": rep, "error": open(log).read()[-500:]}))
    sys.exit()
r = json.load(open(path[0]))
c, h = r["totals"], r["harness"]
# Time from `run` to the first commit: set-up, then the run clock's first second with one.
first = next((s["second"] for s in r.get("timeline", []) if s.get("commits")), None)
print(json.dumps({
    "tool": tool, "mode": mode, "writers": writers, "rep": rep, "commits": c["commits"], "failed": c["failed"],
    "seconds": r["run_seconds"], "commits_per_second": c["commits_per_second"],
    "cpu_seconds": h["cpu_seconds"] + h.get("children_cpu_seconds", 0.0),
    "peak_rss_mb": h["peak_rss_mb"], "children_peak_rss_mb": h.get("children_peak_rss_mb"),
    "setup_seconds": r["setup_seconds"], "first_commit_within_seconds": None if first is None else r["setup_seconds"] + first + 1,
    "verdict": r["verdict"],
    # What the harness reported beyond commits and failures (the "what each finds" table).
    "app_retries": c["harness_retries"], "indeterminate": c["indeterminate"], "catalog_rollbacks": c.get("catalog_rollbacks"),
    "peak_lock_waiters": r["postgres"]["peak_lock_waiters"],
    "checks": {k["name"]: k["status"] for k in r["checks"]},
}))
