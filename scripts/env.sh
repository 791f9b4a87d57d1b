# Shared settings for the scripts (sourced, not run).
# One target directory outside the checkout, one profile (--release) for running and
# testing: the bundled DuckDB (~28 min cold on 2 cores) is built once per machine and
# reused by every clone, including CI's fresh one.
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/ducklake-stress"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache_root/target}"
export DUCKLAKE_STRESS_EXTENSION_DIR="${DUCKLAKE_STRESS_EXTENSION_DIR:-$cache_root/extensions}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$HOME/.local/bin:$PATH"
DUCKDB_VERSION=1.5.5
