#!/usr/bin/env bash
# Installs whatever this machine lacks and builds ducklake-stress. Idempotent: a second
# run only checks. Needs: cargo, python3 with pip; installs PostgreSQL (apt), an S3
# server (Garage via cargo, unless `minio` is on PATH) and DuckDB's extensions (PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# --- PostgreSQL server binaries --------------------------------------------------------
have_postgres() {
  [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ] && return 0
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && return 0
  command -v initdb >/dev/null 2>&1
}
if ! have_postgres; then
  say "installing PostgreSQL (apt-get)"
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "setup: PostgreSQL server binaries are missing. Install them (e.g. 'sudo apt-get install postgresql') or set PG_BIN." >&2
    exit 3
  fi
fi

# --- S3 server: MinIO if present, else Garage ------------------------------------------
if command -v minio >/dev/null 2>&1; then
  say "S3 server: minio ($(command -v minio))"
elif command -v garage >/dev/null 2>&1; then
  say "S3 server: $(garage --version 2>/dev/null | head -1)"
else
  say "installing Garage (S3 server) with cargo: about 11 minutes on 2 cores, once per machine"
  cargo install garage --locked --no-default-features --features bundled-libs,sqlite
fi

# --- the style tools the test command runs (cargo fmt --check, clippy) -------------------
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  say "installing rustfmt and clippy (rustup)"
  rustup component add rustfmt clippy
fi

# --- DuckDB extensions from their official PyPI wheels ---------------------------------
scripts/fetch-extensions.sh

# --- the harness itself ---------------------------------------------------------------
if [ ! -x "$CARGO_TARGET_DIR/release/ducklake-stress" ]; then
  say "building ducklake-stress (release; the first build compiles DuckDB: about 30 minutes on 2 cores)"
fi
cargo build --release --locked
say "ready: $CARGO_TARGET_DIR/release/ducklake-stress"
