#!/usr/bin/env bash
# Installs what is missing, then runs scenarios/quickstart.toml (or the scenario given).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
exec "$CARGO_TARGET_DIR/release/ducklake-stress" run "${1:-scenarios/quickstart.toml}" "${@:2}"
