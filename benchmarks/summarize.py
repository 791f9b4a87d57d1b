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
    if s.get("commits_per_second") is not None and s["tool"] not in ("scale", "setup"):
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


def finds_table(samples):
    """What each tool told its user about the same work, beside what was there: DuckLake's
    hidden commit retries are the catalog's rolled-back transactions, which the bench script
    counts around every run whichever tool ran (medians over the repetitions)."""
    tools = ["ducklake-stress", "bare-loop", "python-poc"]
    out = ["", "What each tool reports about the same work (medians over repetitions; \"—\" = not reported):", ""]
    for writers in sorted({s.get("writers") for s in samples if s["tool"] in tools and s.get("writers")}):
        by = {t: [s for s in samples if s["tool"] == t and s.get("writers") == writers] for t in tools}

        def med(tool, key):
            values = [s[key] for s in by[tool] if s.get(key) is not None]
            return statistics.median(values) if values else None

        def cell(tool, key):
            v = med(tool, key)
            return "—" if v is None else f"{v:g}"

        checks = {c for s in by["ducklake-stress"] for c in s.get("checks", {})}
        failing = sorted({c for s in by["ducklake-stress"] for c, st in s.get("checks", {}).items() if st == "fail"})
        present = [med(t, "catalog_rollbacks_seen_by_bench") for t in tools]
        out += [f"{writers} writers:", "", "| | " + " | ".join(tools) + " |", "|---" * (len(tools) + 1) + "|",
                "| commits / failed for good | " + " | ".join(f"{cell(t, 'commits')} / {cell(t, 'failed')}" for t in tools) + " |",
                "| application retries | " + " | ".join(cell(t, "app_retries") if t != "bare-loop" else "none made" for t in tools) + " |",
                "| DuckLake's hidden retries (catalog rollbacks), present in the run | " + " | ".join("—" if v is None else f"{v:g}" for v in present) + " |",
                "| … reported by the tool | " + " | ".join(cell(t, "catalog_rollbacks") for t in tools) + " |",
                "| unknown commit outcomes | " + " | ".join(cell(t, "indeterminate") if t == "ducklake-stress" else "counted as failed" for t in tools) + " |",
                "| peak lock waiters on the catalog | " + " | ".join(cell(t, "peak_lock_waiters") for t in tools) + " |",
                f"| checks after the run | {len(checks)} run, failing: {', '.join(failing) or 'none'} | none | none |", ""]
    return out


def scale_table(samples):
    """The scale grid: per writer mode and count, the median over repetitions."""
    grid = defaultdict(list)
    for s in samples:
        if s["tool"] == "scale" and s.get("commits"):
            grid[(s["mode"], s["writers"])].append(s)
    if not grid:
        return []

    def med(ss, f):
        values = [v for v in (f(s) for s in ss) if v is not None]
        return statistics.median(values) if values else float("nan")

    out = ["", "Scale (10 s of appends per point; memory per writer: harness peak RSS / threads, or the largest writer process's peak RSS):", "",
           "| mode | writers | commits/s | failed | harness peak RSS MB | MB per writer | CPU ms per commit | set-up s | set-up s per writer | first commit within s |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for (mode, w), ss in sorted(grid.items()):
        per_writer = (lambda s: s["peak_rss_mb"] / w) if mode == "thread" else (lambda s: s.get("children_peak_rss_mb"))
        out.append(f"| {mode} | {w} | {med(ss, lambda s: s['commits_per_second']):.1f} | {med(ss, lambda s: s['failed']):g} | "
                   f"{med(ss, lambda s: s['peak_rss_mb']):.0f} | {med(ss, per_writer):.1f} | {med(ss, lambda s: s['cpu_seconds'] / s['commits'] * 1000):.0f} | "
                   f"{med(ss, lambda s: s['setup_seconds']):.1f} | {med(ss, lambda s: s['setup_seconds'] / w):.2f} | {med(ss, lambda s: s.get('first_commit_within_seconds')):.1f} |")
    return out


def setup_table(samples):
    """Set-up per writer mode and count, before (BENCH_SETUP_BASELINE) and after: medians
    over repetitions."""
    grid = defaultdict(list)
    for s in samples:
        if s["tool"] == "setup" and s.get("setup_seconds") is not None:
            grid[(s["mode"], s["writers"], s["label"])].append(s)
    if not grid:
        return []

    def med(ss, key):
        values = [s[key] for s in ss if s.get(key) is not None]
        return f"{statistics.median(values):.1f}" if values else "—"

    out = ["", "Set-up (quickstart, 2 s of writing; medians over repetitions):", "",
           "| mode | writers | binary | runs | run set-up s | writer set-up ms, median | writer set-up ms, max | first commit within s |",
           "|---|---|---|---|---|---|---|---|"]
    for (mode, w, label), ss in sorted(grid.items(), key=lambda k: (k[0][0] != "thread", k[0][1], k[0][2] != "before")):
        out.append(f"| {mode} | {w} | {label} | {len(ss)} | {med(ss, 'setup_seconds')} | {med(ss, 'writer_setup_ms_median')} | "
                   f"{med(ss, 'writer_setup_ms_max')} | {med(ss, 'first_commit_within_seconds')} |")
    return out


def fmt(s, d=1):
    return "n/a" if not s else f"{s['median']:.{d}f} ({s['min']:.{d}f}–{s['max']:.{d}f})"


lines = ["| tool | writers | commits/s, median (min–max) | vs ducklake-stress | CPU s per 1,000 commits | CPU vs ducklake-stress | failed |", "|---|---|---|---|---|---|---|"]
for r in rows:
    lines.append(f"| {r['tool']} | {r['writers']} | {fmt(r['commits_per_second'])} | {r.get('throughput_vs_harness', float('nan')):.3f} | "
                 f"{fmt(r['cpu_seconds_per_1000_commits'], 2)} | {r.get('cpu_vs_harness', float('nan')):.3f} | {fmt(r['failed'], 0)} |")
lines.append("")
lines.append(f"Native environment up (Postgres + S3): {fmt(env_up, 2)} s.")
lines += finds_table(samples)
lines += scale_table(samples)
lines += setup_table(samples)
open(f"{out}/bench.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
