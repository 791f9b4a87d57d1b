#!/usr/bin/env bash
# What only the tests need, beside scripts/setup.sh (which quickstart also runs): the
# report tests' Chromium and xmllint, and kubernetes-validate for the manifest test. Each is
# optional: without it, the tests that need it say they skipped. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

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

# --- DuckDB 1.5.5 for Python: tests/repro.rs runs the repro.py it writes ------------------
if ! python3 -c 'import duckdb, sys; sys.exit(duckdb.__version__ != "1.5.5")' >/dev/null 2>&1; then
  say "installing duckdb==1.5.5 for Python (PyPI), which the reproducer test's repro.py runs on"
  python3 -m pip install --quiet --disable-pip-version-check duckdb==1.5.5 >/dev/null 2>&1 \
    || python3 -m pip install --quiet --disable-pip-version-check --user --break-system-packages duckdb==1.5.5 >/dev/null 2>&1 \
    || echo "setup: could not install duckdb==1.5.5 (pip); the repro.py part of tests/repro.rs will say it skipped" >&2
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
