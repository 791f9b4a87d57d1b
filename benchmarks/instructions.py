"""From the callgrind files of scripts/bench-instructions.sh to instructions.json and
instructions.md: instructions per commit of each tool (difference of two runs), the
harness's overhead over the bare loop, and where the harness's own instructions go (its
functions' inclusive counts per commit, from callgrind_annotate)."""
import json
import re
import subprocess
import sys
from collections import defaultdict

out, small, large = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


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


tools = {}
for tool in ["ducklake-stress", "bare-loop", "bare-loop-tag"]:
    # `.1`: the dump each tool makes when its writers have stopped, counting from when they
    # started (DUCKLAKE_STRESS_CALLGRIND_MARKS): the writing alone, every thread.
    a, b = total(f"{out}/{tool}-{small}.callgrind.1"), total(f"{out}/{tool}-{large}.callgrind.1")
    whole = total(f"{out}/{tool}-{large}.callgrind")
    tools[tool] = {"writing_instructions": {str(small): a, str(large): b}, "per_commit": (b - a) / (large - small),
                   "fixed_per_run": a - (b - a) / (large - small) * small, "after_writing_stopped": whole}
h, bare = tools["ducklake-stress"]["per_commit"], tools["bare-loop"]["per_commit"]
overhead = h / bare - 1
tagged = tools["bare-loop-tag"]["per_commit"]
overhead_vs_tagged = h / tagged - 1

# Where the harness's extra instructions per commit go: the top harness functions by the
# growth of their inclusive count between the small and the large run.
grow_small, grow_large = inclusive(f"{out}/ducklake-stress-{small}.callgrind.1"), inclusive(f"{out}/ducklake-stress-{large}.callgrind.1")
growth = sorted(((grow_large[k] - grow_small.get(k, 0)) / (large - small), k) for k in grow_large)
top = [{"layer": k[0], "function": k[1][:140], "per_commit": g} for g, k in reversed(growth[-15:]) if g > 0]

json.dump({"small": small, "large": large, "tools": tools, "overhead": overhead, "overhead_vs_tagged_loop": overhead_vs_tagged, "harness_functions": top}, open(f"{out}/instructions.json", "w"), indent=2)
lines = [
    f"Instructions per commit while the writers write (callgrind, counters zeroed when the writers start and dumped when they stop; 1 writer; difference of {small} and {large} commits):",
    "",
    "| tool | instructions per commit | vs bare loop | fixed per run while writing | after the writers stopped (checks, report) |",
    "|---|---|---|---|---|",
]
for tool, t in tools.items():
    lines.append(f"| {tool} | {t['per_commit'] / 1e6:.2f} M | {t['per_commit'] / bare:.3f} | {t['fixed_per_run'] / 1e9:.2f} G | {t['after_writing_stopped'] / 1e9:.2f} G |")
lines += ["", f"Harness overhead per commit: {overhead * 100:+.1f} % against the bare loop, {overhead_vs_tagged * 100:+.1f} % against the bare loop with the same commit tag.", "", "Harness functions whose inclusive count grows most per commit:", "",
          "| layer | function | instructions per commit |", "|---|---|---|"]
for t in top:
    lines.append(f"| {t['layer']} | `{t['function']}` | {t['per_commit'] / 1e6:.3f} M |")
open(f"{out}/instructions.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
