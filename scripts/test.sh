#!/usr/bin/env bash
# Installs what is missing, then runs the whole test suite against real services.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
exec cargo test --release --locked "$@"
