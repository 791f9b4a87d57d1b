"""From results/bench/<date>/samples.ndjson to bench.json and bench.md: per tool and writer
count the median, min and max of commits/s and of CPU seconds per 1,000 commits, and the
ratios against ducklake-stress (the headline; absolute numbers depend on the machine)."""
import json
import statistics
import sys
from collections import defaultdict

out = sys.argv[1]
samples = [json.loads(l) for l in open(f"{out}/samples.ndjson") if l.strip()]
groups = defaultdict(list)
for s in samples:
    if s.get("commits_per_second") is not None:
        groups[(s["tool"], s.get("writers"))].append(s)


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


rows = []
for (tool, writers), ss in sorted(groups.items(), key=lambda k: (str(k[0][1]), k[0][0])):
    cpu_per_k = [s["cpu_seconds"] / s["commits"] * 1000 for s in ss if s.get("cpu_seconds") and s.get("commits")]
    rows.append({"tool": tool, "writers": writers, "commits_per_second": spread([s["commits_per_second"] for s in ss]),
                 "cpu_seconds_per_1000_commits": spread(cpu_per_k), "failed": spread([s.get("failed") for s in ss]),
                 "setup_seconds": spread([s.get("setup_seconds") for s in ss])})
by = {(r["tool"], r["writers"]): r for r in rows}
for r in rows:
    h = by.get(("ducklake-stress", r["writers"]))
    if h and r["commits_per_second"] and h["commits_per_second"]:
        r["throughput_vs_harness"] = r["commits_per_second"]["median"] / h["commits_per_second"]["median"]
    if h and r["cpu_seconds_per_1000_commits"] and h["cpu_seconds_per_1000_commits"]:
        r["cpu_vs_harness"] = r["cpu_seconds_per_1000_commits"]["median"] / h["cpu_seconds_per_1000_commits"]["median"]
env_up = spread([s["seconds"] for s in samples if s["tool"] == "env-up"])
json.dump({"rows": rows, "env_up_seconds": env_up}, open(f"{out}/bench.json", "w"), indent=2)


def fmt(s, d=1):
    return "n/a" if not s else f"{s['median']:.{d}f} ({s['min']:.{d}f}–{s['max']:.{d}f})"


lines = ["| tool | writers | commits/s, median (min–max) | vs ducklake-stress | CPU s per 1,000 commits | CPU vs ducklake-stress | failed |", "|---|---|---|---|---|---|---|"]
for r in rows:
    lines.append(f"| {r['tool']} | {r['writers']} | {fmt(r['commits_per_second'])} | {r.get('throughput_vs_harness', float('nan')):.3f} | "
                 f"{fmt(r['cpu_seconds_per_1000_commits'], 2)} | {r.get('cpu_vs_harness', float('nan')):.3f} | {fmt(r['failed'], 0)} |")
lines.append("")
lines.append(f"Native environment up (Postgres + S3): {fmt(env_up, 2)} s.")
open(f"{out}/bench.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
