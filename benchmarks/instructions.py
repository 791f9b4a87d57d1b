"""From the callgrind files of scripts/bench-instructions.sh to instructions.json and
instructions.md: instructions per commit of each tool (difference of two runs), the
harness's overhead over the bare loop, and where the harness's own instructions go (its
functions' inclusive counts per commit, from callgrind_annotate); once per DuckDB thread
setting (`default`: DuckDB's own, one thread per core; `1`), see scripts/bench-instructions.sh.

usage: instructions.py OUT SMALL LARGE THREADS..."""
import json
import re
import subprocess
import sys
from collections import defaultdict

out, small, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
variants = sys.argv[4:] or ["default"]


def total(path):
    """The run's instruction count (callgrind's `totals:` line, every thread)."""
    for line in open(path, errors="replace"):
        if line.startswith("totals:") or line.startswith("summary:"):
            return int(line.split()[1])
    raise SystemExit(f"{path}: no totals line")


def inclusive(path):
    """Inclusive instructions per function, for the harness's own modules."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                          capture_output=True, text=True, check=True).stdout
    by = defaultdict(int)
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\([^)]*\)\s+(?:\?\?\?|[^:]*):(.*?)(?:\s+\[.*\])?$", line)
        if not m:
            continue
        count, name = int(m.group(1).replace(",", "")), m.group(2)
        # The harness's layers, as src/lib.rs lists them; a function's inclusive count
        # includes DuckDB's work it calls, so the writer's transaction covers the SQL too.
        for layer in ["history::", "monitor::", "checker::", "client::writer", "client::retry", "metrics::", "export::", "report::", "nemesis::", "runner::"]:
            if f"ducklake_stress::{layer}" in name:
                by[(layer.rstrip(':'), name)] = max(by[(layer.rstrip(':'), name)], count)
    return by


def per_tool(tool):
    # `.1`: the dump each tool makes when its writers have stopped, counting from when they
    # started (DUCKLAKE_STRESS_CALLGRIND_MARKS): the writing alone, every thread.
    a, b = total(f"{out}/{tool}-{small}.callgrind.1"), total(f"{out}/{tool}-{large}.callgrind.1")
    whole = total(f"{out}/{tool}-{large}.callgrind")
    return {"writing_instructions": {str(small): a, str(large): b}, "per_commit": (b - a) / (large - small),
            "fixed_per_run": a - (b - a) / (large - small) * small, "after_writing_stopped": whole}


def harness_functions(v):
    """Where the harness's instructions per commit go: the top harness functions by the
    growth of their inclusive count between the small and the large run."""
    grow_small = inclusive(f"{out}/ducklake-stress-t{v}-{small}.callgrind.1")
    grow_large = inclusive(f"{out}/ducklake-stress-t{v}-{large}.callgrind.1")
    growth = sorted(((grow_large[k] - grow_small.get(k, 0)) / (large - small), k) for k in grow_large)
    return [{"layer": k[0], "function": k[1][:140], "per_commit": g} for g, k in reversed(growth[-15:]) if g > 0]


results = {}
for v in variants:
    tools = {tool: per_tool(f"{tool}-t{v}") for tool in ["ducklake-stress", "bare-loop", "bare-loop-tag"]}
    h, bare, tagged = (tools[t]["per_commit"] for t in ["ducklake-stress", "bare-loop", "bare-loop-tag"])
    results[v] = {"tools": tools, "overhead": h / bare - 1, "overhead_vs_tagged_loop": h / tagged - 1, "harness_functions": harness_functions(v)}

json.dump({"small": small, "large": large, "threads": results}, open(f"{out}/instructions.json", "w"), indent=2)
lines = [
    f"Instructions per commit while the writers write (callgrind, counters zeroed when the writers start and dumped when they stop; 1 writer; difference of {small} and {large} commits):",
    "",
    "| DuckDB threads | tool | instructions per commit | vs bare loop | fixed per run while writing | after the writers stopped (checks, report) |",
    "|---|---|---|---|---|---|",
]
for v, r in results.items():
    bare = r["tools"]["bare-loop"]["per_commit"]
    for tool, t in r["tools"].items():
        lines.append(f"| {v} | {tool} | {t['per_commit'] / 1e6:.2f} M | {t['per_commit'] / bare:.3f} | {t['fixed_per_run'] / 1e9:.2f} G | {t['after_writing_stopped'] / 1e9:.2f} G |")
lines.append("")
for v, r in results.items():
    lines.append(f"Harness overhead per commit, threads {v}: {r['overhead'] * 100:+.1f} % against the bare loop, {r['overhead_vs_tagged_loop'] * 100:+.1f} % against the bare loop with the same commit tag.")
for v, r in results.items():
    lines += ["", f"Harness functions whose inclusive count grows most per commit (threads {v}):", "", "| layer | function | instructions per commit |", "|---|---|---|"]
    lines += [f"| {t['layer']} | `{t['function']}` | {t['per_commit'] / 1e6:.3f} M |" for t in r["harness_functions"]]
open(f"{out}/instructions.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
