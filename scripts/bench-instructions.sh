#!/usr/bin/env bash
# The harness's own cost per commit, in instructions (valgrind --tool=callgrind), against
# the bare loop of the same SQL (src/bin/bare-loop.rs). Instruction counts do not depend on
# what else the machine is doing, which commits/s on a shared 2-core machine do (README,
# Benchmarks). Set-up (extension loading, ATTACH) costs far more than a commit, so each
# tool runs twice, with SMALL and LARGE commits per writer, and the cost of one commit is
# the difference divided by the difference in commits: set-up cancels out.
# One writer: no commit races, so both tools do the same DuckLake work per commit.
# Only the writing is compared: both tools zero callgrind's counters when their writers start
# and dump them when they stop (src/util/callgrind.rs); *.callgrind.1 are those dumps.
# DuckDB's threads: with more than one, the thread that sent a statement busy-waits in
# PendingQueryResult::ExecuteInternal while DuckDB's other threads run its tasks (S3 uploads,
# catalog queries); those spins are counted as instructions and grow with wall time, which
# under valgrind (one thread at a time) depends on how many threads the process has. With
# threads = 1 the sending thread runs every task itself and nothing spins: the counts are
# the work. Both settings are measured, by default.
# Writes results/bench/<UTC time>-instructions/{instructions.json,instructions.md,*.callgrind}.
# Knobs: BENCH_SMALL (10), BENCH_LARGE (40) commits; BENCH_THREADS ("default 1": DuckDB's
# own thread count, then threads = 1, on every writer's instance in both tools).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
source scripts/env.sh
small=${BENCH_SMALL:-10}
large=${BENCH_LARGE:-40}
threads_list=${BENCH_THREADS:-"default 1"}
out="results/bench/$(date -u +%Y%m%dT%H%M%SZ)-instructions"
mkdir -p "$out/runs"
bin="$CARGO_TARGET_DIR/release"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
if ! command -v valgrind >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    say "installing valgrind (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
  else
    echo "bench-instructions: valgrind is missing and this is not root with apt-get: install valgrind" >&2; exit 3
  fi
fi

state=$(mktemp -d)
cleanup() { "$bin/ducklake-stress" env down --state "$state" >/dev/null 2>&1 || true; rm -rf "$state"; }
trap cleanup EXIT
"$bin/ducklake-stress" env up --state "$state" >&2
env_json="$state/env.json"

# Generous deadlines: under valgrind everything runs some 50 times slower (also libpq's
# connect timeout: a writer's ATTACH once timed out after 10 s).
# The harness's checks may run past their own deadline under valgrind (exit 3): the
# writing, which is what is compared, is complete; instructions.py counts the checks apart
# (run_all_into's inclusive count) and requires every commit to have happened.
grind() { # name commits command...
  local name=$1 commits=$2 rc=0; shift 2
  say "callgrind: $name, $commits commits"
  DUCKLAKE_STRESS_CALLGRIND_MARKS=1 DUCKLAKE_STRESS_PG_CONNECT_TIMEOUT=300 valgrind --tool=callgrind --callgrind-out-file="$out/$name-$commits.callgrind" "$@" >"$out/runs/$name-$commits.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ] && ! { [[ "$name" == ducklake-stress* ]] && [ "$rc" -eq 3 ]; }; then
    echo "bench-instructions: $name failed (exit $rc), see $out/runs/$name-$commits.log" >&2; tail -5 "$out/runs/$name-$commits.log" >&2; exit 1
  fi
  grep -Eq "committed $commits( |\\b)|\"commits\": ?$commits[,}]" "$out/runs/$name-$commits.log" \
    || { echo "bench-instructions: $name did not make $commits commits, see $out/runs/$name-$commits.log" >&2; exit 1; }
}
for threads in $threads_list; do
  # "default": DuckDB's own choice (one thread per core); else client.settings.threads.
  set_threads=(); [ "$threads" = default ] || set_threads=(--set "client.settings.threads=$threads")
  for n in "$small" "$large"; do
    grind "ducklake-stress-t$threads" "$n" "$bin/ducklake-stress" run benchmarks/append.toml --env-file "$env_json" --results-dir "$out/runs" --quiet \
      --set run.writers=1 --set "run.commits_per_writer=$n" --set "lake.table=instr_h_${threads}_$n" --set run.deadline=\"60m\" --set run.stall_after=\"30m\" "${set_threads[@]}"
    grind "bare-loop-t$threads" "$n" "$bin/bare-loop" benchmarks/append.toml "$env_json" 1 "$n" "instr_b_${threads}_$n" "${set_threads[@]}"
    # The bare loop with the harness's very commit tag (CALL set_commit_message): DuckLake's own
    # work for the tag, apart from the harness's.
    grind "bare-loop-tag-t$threads" "$n" "$bin/bare-loop" benchmarks/append.toml "$env_json" 1 "$n" "instr_t_${threads}_$n" --tag "${set_threads[@]}"
  done
done

python3 benchmarks/instructions.py "$out" "$small" "$large" $threads_list
echo "bench-instructions: $out/instructions.md"
