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

# --- Chromium and xmllint: the report tests render report.html and validate junit.xml ---
# Optional: without them those tests say they skipped (results/skipped-tests.txt).
report_pkgs=()
command -v chromium >/dev/null 2>&1 || report_pkgs+=(chromium)
command -v xmllint >/dev/null 2>&1 || report_pkgs+=(libxml2-utils)
if [ ${#report_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    say "installing ${report_pkgs[*]} (apt-get) for the report tests"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${report_pkgs[@]}" >/dev/null \
      || echo "setup: could not install ${report_pkgs[*]}; the report tests will say they skipped" >&2
  else
    echo "setup: ${report_pkgs[*]} missing (needs root and apt-get to install): the report tests will say they skipped" >&2
  fi
fi

# --- kubernetes-validate: the Kubernetes schemas the `k8s` manifests are checked against ---
# Optional too: without it tests/deploy.rs says it skipped. A user install where the
# system Python refuses packages (PEP 668).
if ! command -v kubernetes-validate >/dev/null 2>&1; then
  say "installing kubernetes-validate (PyPI) for the Kubernetes manifest test"
  python3 -m pip install --quiet --disable-pip-version-check kubernetes-validate >/dev/null 2>&1 \
    || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages kubernetes-validate >/dev/null 2>&1 \
    || echo "setup: could not install kubernetes-validate (pip); the Kubernetes manifest test will say it skipped" >&2
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

# --- DuckDB extensions from their official PyPI wheels ---------------------------------
scripts/fetch-extensions.sh

# --- the harness itself ---------------------------------------------------------------
if [ ! -x "$CARGO_TARGET_DIR/release/ducklake-stress" ]; then
  say "building ducklake-stress (release; the first build compiles DuckDB: about 30 minutes on 2 cores)"
fi
cargo build --release --locked
say "ready: $CARGO_TARGET_DIR/release/ducklake-stress"
