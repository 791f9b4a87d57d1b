#!/usr/bin/env bash
# The benchmark suite (not tests: timings never decide a test). In one environment, with
# interleaved repetitions (the order of the tools rotates every repetition):
#   - ducklake-stress against a bare Rust loop of the same SQL (src/bin/bare-loop.rs) and
#     against a Python harness in the seeds' style (benchmarks/peers/poc.py, duckdb==1.5.5);
#   - pgbench's simple writes on the same Postgres: what the catalog alone can do;
#   - set-up: the native environment's start, and set-up time of a run.
# Writes results/bench/<UTC date>/samples.ndjson, bench.json and bench.md (medians, min, max).
# Knobs: BENCH_REPS (3), BENCH_COMMITS per writer (50), BENCH_WRITERS ("4 16").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
source scripts/env.sh
reps=${BENCH_REPS:-3}
commits=${BENCH_COMMITS:-50}
writers_list=${BENCH_WRITERS:-"4 16"}
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
python3 -c "import json,sys; print(json.dumps({'tool':'env-up','seconds':float(sys.argv[2])-float(sys.argv[1])}))" "$t0" "$t1" >>"$samples"

harness() { # writers rep
  local table="bench_h_${2}_$1" log="$out/runs/harness-$1-$2.log"
  "$bin/ducklake-stress" run benchmarks/append.toml --env-file "$env_json" --results-dir "$out/runs" --quiet \
    --set "run.writers=$1" --set "run.commits_per_writer=$commits" --set "lake.table=$table" >"$log" 2>&1 || true
  python3 - "$log" "$1" "$2" <<'PY' >>"$samples"
import json, sys
log, w, rep = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
path = [l[8:].strip() for l in open(log) if l.startswith("report: ")]
if not path:
    print(json.dumps({"tool": "ducklake-stress", "writers": w, "rep": rep, "error": open(log).read()[-500:]})); sys.exit()
r = json.load(open(path[0]))
c = r["totals"]
print(json.dumps({"tool": "ducklake-stress", "writers": w, "rep": rep, "commits": c["commits"], "failed": c["failed"],
  "seconds": r["run_seconds"], "commits_per_second": c["commits_per_second"], "cpu_seconds": r["harness"]["cpu_seconds"],
  "peak_rss_mb": r["harness"]["peak_rss_mb"], "setup_seconds": r["setup_seconds"], "verdict": r["verdict"]}))
PY
}
bare() {
  "$bin/bare-loop" benchmarks/append.toml "$env_json" "$1" "$commits" "bench_b_${2}_$1" \
    | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d.update(rep=int(sys.argv[1])); print(json.dumps(d))" "$2" >>"$samples"
}
python_peer() {
  "$venv/bin/python" benchmarks/peers/poc.py "$env_json" "$DUCKLAKE_STRESS_EXTENSION_DIR" "bench_p_${2}_$1" "$1" "$commits" \
    | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); d.update(rep=int(sys.argv[1])); print(json.dumps(d))" "$2" >>"$samples"
}

tools=(harness bare python_peer)
for rep in $(seq 1 "$reps"); do
  for w in $writers_list; do
    for i in 0 1 2; do
      tool=${tools[$(( (i + rep) % 3 ))]}
      say "repetition $rep/$reps, $w writers: $tool"
      "$tool" "$w" "$rep"
    done
  done
done

say "pgbench: simple writes (-N) on the catalog's Postgres, 4 clients, 10 s"
read -r host port user db pass < <(python3 -c "import json,sys; p=json.load(open(sys.argv[1]))['postgres']; print(p['host'], p['port'], p['user'], p['dbname'], p['password'])" "$env_json")
pgbench=$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | tail -1)
export PGPASSWORD="$pass"
"$pgbench" -h "$host" -p "$port" -U "$user" -i -s 1 -q "$db" >/dev/null 2>&1
for rep in $(seq 1 "$reps"); do
  "$pgbench" -h "$host" -p "$port" -U "$user" -N -c 4 -j 2 -T 10 "$db" 2>/dev/null \
    | python3 -c "import json,re,sys; t=sys.stdin.read(); m=re.search(r'tps = ([0-9.]+)', t); print(json.dumps({'tool':'pgbench','writers':4,'rep':int(sys.argv[1]),'commits_per_second':float(m.group(1)) if m else None}))" "$rep" >>"$samples"
done

python3 benchmarks/summarize.py "$out"
echo "bench: $out/bench.md"
