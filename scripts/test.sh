#!/usr/bin/env bash
# Installs what is missing, then runs the whole test suite against real services
# (Postgres, an S3 server, DuckLake) and ends with one line of totals.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
mkdir -p results
log=results/last-test.log   # kept for reading failures after the fact (ignored by git)
rm -f results/skipped-tests.txt   # tests that could not judge append why (tests/reports.rs)
set +e
cargo test --release --locked --no-fail-fast "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
[ -s results/skipped-tests.txt ] && sed 's/^/skipped: /' results/skipped-tests.txt
exit "$status"
