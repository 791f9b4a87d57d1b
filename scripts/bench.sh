#!/usr/bin/env bash
# The benchmark suite (not tests: timings never decide a test). In one environment, with
# interleaved repetitions (the order of the tools rotates every repetition):
#   - ducklake-stress against a bare Rust loop of the same SQL (src/bin/bare-loop.rs) and
#     against a Python harness in the seeds' style (benchmarks/peers/poc.py, duckdb==1.5.5);
#   - pgbench's simple writes on the same Postgres: what the catalog alone can do;
#   - set-up: the native environment's start, and set-up time of a run.
# Writes results/bench/<UTC date>/samples.ndjson, bench.json and bench.md (medians, min, max).
#   - scale: 1 to 256 writer threads and 1 to 64 writer processes, 10 s of writing each:
#     commits/s, failures, memory and CPU per writer, set-up per writer, time to first commit.
#   - setup: quickstart (2 s of writing) at 1 to 256 writer threads and 16 and 64 writer
#     processes: the run's set-up, each writer's own set-up (median, max), the first commit;
#     with BENCH_SETUP_BASELINE=/path/to/another/ducklake-stress the same with that binary,
#     interleaved, as "before" (issue 24: extensions verified once per run, not per writer).
# Knobs: BENCH_REPS (3), BENCH_COMMITS per writer (50), BENCH_WRITERS ("4 16"),
# BENCH_PARTS ("tools pgbench scale setup"), BENCH_SETUP_THREADS ("1 16 64 256"),
# BENCH_SETUP_PROCESSES ("16 64"), BENCH_SETUP_REPS (2), BENCH_SCALE_THREADS ("1 4 16 64 256"),
# BENCH_SCALE_PROCESSES ("1 4 16 64"), BENCH_SCALE_REPS (1).
# Instruction counts (callgrind), which machine noise does not move: scripts/bench-instructions.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
source scripts/env.sh
reps=${BENCH_REPS:-3}
commits=${BENCH_COMMITS:-50}
writers_list=${BENCH_WRITERS:-"4 16"}
parts=${BENCH_PARTS:-"tools pgbench scale setup"}
setup_threads=${BENCH_SETUP_THREADS:-"1 16 64 256"}
setup_processes=${BENCH_SETUP_PROCESSES:-"16 64"}
setup_reps=${BENCH_SETUP_REPS:-2}
setup_baseline=${BENCH_SETUP_BASELINE:-}
scale_threads=${BENCH_SCALE_THREADS:-"1 4 16 64 256"}
scale_processes=${BENCH_SCALE_PROCESSES:-"1 4 16 64"}
scale_reps=${BENCH_SCALE_REPS:-1}
out="results/bench/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out/runs"
bin="$CARGO_TARGET_DIR/release"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

venv="${XDG_CACHE_HOME:-$HOME/.cache}/ducklake-stress/bench-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import duckdb; assert duckdb.__version__ == "1.5.5"' 2>/dev/null; then
  say "installing duckdb==1.5.5 for the Python peer into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q duckdb==1.5.5
fi

state=$(mktemp -d)
cleanup() { "$bin/ducklake-stress" env down --state "$state" >/dev/null 2>&1 || true; rm -rf "$state"; }
trap cleanup EXIT
t0=$(date +%s.%N)
"$bin/ducklake-stress" env up --state "$state" >&2
t1=$(date +%s.%N)
env_json="$state/env.json"
samples="$out/samples.ndjson"
read -r host port user db pass < <(python3 -c "import json,sys; p=json.load(open(sys.argv[1]))['postgres']; print(p['host'], p['port'], p['user'], p['dbname'], p['password'])" "$env_json")
export PGPASSWORD="$pass"
psql_bin=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | tail -1)
# The catalog's rolled-back transactions: DuckLake's hidden commit retries, whoever ran
# them. Read around every tool's run, so the "what each finds" table can set what was
# there against what each tool reported.
rollbacks() { "$psql_bin" -h "$host" -p "$port" -U "$user" -d "$db" -tAc "SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()"; }
measured() { # command...: runs one tool (which appends its sample), adds the catalog's rollbacks to it
  local before after; before=$(rollbacks)
  "$@"
  after=$(rollbacks)
  python3 -c "import json,sys; l=open(sys.argv[1]).read().splitlines(); d=json.loads(l[-1]); d['catalog_rollbacks_seen_by_bench']=int(sys.argv[3])-int(sys.argv[2]); l[-1]=json.dumps(d); open(sys.argv[1],'w').write(chr(10).join(l)+chr(10))" "$samples" "$before" "$after"
}
python3 -c "import json,sys; print(json.dumps({'tool':'env-up','seconds':float(sys.argv[2])-float(sys.argv[1])}))" "$t0" "$t1" >>"$samples"

harness() { # writers rep
  local table="bench_h_${2}_$1" log="$out/runs/harness-$1-$2.log"
  "$bin/ducklake-stress" run benchmarks/append.toml --env-file "$env_json" --results-dir "$out/runs" --quiet \
    --set "run.writers=$1" --set "run.commits_per_writer=$commits" --set "lake.table=$table" >"$log" 2>&1 || true
  python3 benchmarks/report_sample.py "$log" ducklake-stress "$1" "$2" >>"$samples"
}
bare() {
  "$bin/bare-loop" benchmarks/append.toml "$env_json" "$1" "$commits" "bench_b_${2}_$1" \
    | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d.update(rep=int(sys.argv[1])); print(json.dumps(d))" "$2" >>"$samples"
}
python_peer() {
  "$venv/bin/python" benchmarks/peers/poc.py "$env_json" "$DUCKLAKE_STRESS_EXTENSION_DIR" "bench_p_${2}_$1" "$1" "$commits" \
    | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d.update(rep=int(sys.argv[1])); print(json.dumps(d))" "$2" >>"$samples"
}

# Each tool's run is measured alone, one after the other, never two at once.
scale() { # mode writers rep: a fixed time of writing, to see how far one machine goes
  local table="bench_s_${1}_${2}_${3}" log="$out/runs/scale-$1-$2-$3.log"
  "$bin/ducklake-stress" run benchmarks/scale.toml --env-file "$env_json" --results-dir "$out/runs" --quiet \
    --set "run.mode=\"$1\"" --set "run.writers=$2" --set "lake.table=$table" >"$log" 2>&1 || true
  python3 benchmarks/report_sample.py "$log" scale "$2" "$3" "$1" >>"$samples"
}

setup_run() { # binary label mode writers rep: set-up of a short quickstart run
  local table="bench_u_${2}_${3}_${4}_${5}" log="$out/runs/setup-$2-$3-$4-$5.log"
  "$1" run scenarios/quickstart.toml --env-file "$env_json" --results-dir "$out/runs" --quiet \
    --set "run.mode=\"$3\"" --set "run.writers=$4" --set 'run.duration="2s"' --set "lake.table=$table" >"$log" 2>&1 || true
  python3 benchmarks/setup_sample.py "$log" "$4" "$5" "$3" "$2" >>"$samples"
}

tools=(harness bare python_peer)
part() { [[ " $parts " == *" $1 "* ]]; }
part tools && for rep in $(seq 1 "$reps"); do
  for w in $writers_list; do
    for i in 0 1 2; do
      tool=${tools[$(( (i + rep) % 3 ))]}
      say "repetition $rep/$reps, $w writers: $tool"
      measured "$tool" "$w" "$rep"
    done
  done
done

if part pgbench; then
say "pgbench: simple writes (-N) on the catalog's Postgres, 4 clients, 10 s"
pgbench=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -1)
"$pgbench" -h "$host" -p "$port" -U "$user" -i -s 1 -q "$db" >/dev/null 2>&1
for rep in $(seq 1 "$reps"); do
  "$pgbench" -h "$host" -p "$port" -U "$user" -N -c 4 -j 2 -T 10 "$db" 2>/dev/null \
    | python3 -c "import json,re,sys; t=sys.stdin.read(); m=re.search(r'tps = ([0-9.]+)', t); print(json.dumps({'tool':'pgbench','writers':4,'rep':int(sys.argv[1]),'commits_per_second':float(m.group(1)) if m else None}))" "$rep" >>"$samples"
done
fi

if part scale; then
  for rep in $(seq 1 "$scale_reps"); do
    for w in $scale_threads; do say "scale, repetition $rep/$scale_reps: $w writer threads"; scale thread "$w" "$rep"; done
    for w in $scale_processes; do say "scale, repetition $rep/$scale_reps: $w writer processes"; scale process "$w" "$rep"; done
  done
fi

if part setup; then
  for rep in $(seq 1 "$setup_reps"); do
    for point in $(for w in $setup_threads; do echo "thread:$w"; done; for w in $setup_processes; do echo "process:$w"; done); do
      mode=${point%%:*} w=${point#*:}
      if [ -n "$setup_baseline" ]; then
        say "set-up, repetition $rep/$setup_reps: $w writer ${mode}s, before ($setup_baseline)"
        setup_run "$setup_baseline" before "$mode" "$w" "$rep"
      fi
      say "set-up, repetition $rep/$setup_reps: $w writer ${mode}s"
      setup_run "$bin/ducklake-stress" after "$mode" "$w" "$rep"
    done
  done
fi

python3 benchmarks/summarize.py "$out"
echo "bench: $out/bench.md"
