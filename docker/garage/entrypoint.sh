#!/bin/bash
# Garage's single-node guide as an entrypoint: server in the background, then layout,
# key and bucket (each only if missing, so a restart on the same volume keeps them), then
# "ready" and wait on the server. `healthcheck` answers whether the bucket is served.
set -euo pipefail
conf=/etc/garage.toml
state=${GARAGE_STATE_DIR:-/var/lib/garage}
ready=/run/garage-ready
g() { garage -c "$conf" "$@"; }
# A freshly applied layout takes a moment to be "ready" for keys and buckets: retry for 30 s.
retry() {
  for _ in $(seq 1 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "garage set-up step failed for 30 s: $*" >&2
  "$@" >/dev/null
}

if [ "${1:-}" = healthcheck ]; then
  [ -f "$ready" ] && g bucket info "$GARAGE_BUCKET" >/dev/null 2>&1
  exit
fi
[ "${1:-}" = server ] || exec "$@"

rm -f "$ready"
mkdir -p "$state/meta" "$state/data"
[ -s "$state/rpc_secret" ] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$state/rpc_secret"
cat >"$conf" <<TOML
metadata_dir = "$state/meta"
data_dir = "$state/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:3901"
rpc_public_addr = "127.0.0.1:3901"
rpc_secret = "$(cat "$state/rpc_secret")"

[s3_api]
s3_region = "$GARAGE_REGION"
api_bind_addr = "0.0.0.0:${GARAGE_S3_PORT:-3900}"
root_domain = ".s3.garage.localhost"
TOML

g server &
server=$!
trap 'kill -TERM $server 2>/dev/null' TERM INT

for _ in $(seq 1 300); do
  g status >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { echo "garage exited during start-up" >&2; wait $server; exit 1; }
  sleep 0.1
done
g status >/dev/null || { echo "garage did not answer within 30 s" >&2; exit 1; }

# Whether the layout is applied, asked again on every try: a fresh server may answer
# `layout show` before it has loaded its state.
ensure_layout() {
  g layout show 2>/dev/null | grep -q 'Current cluster layout version: [1-9]' && return 0
  local node; node=$(g node id -q); node=${node%%@*}
  g layout assign -z dc1 -c 1G "$node" && g layout apply --version 1
}
retry ensure_layout
g key info "$GARAGE_KEY_ID" >/dev/null 2>&1 \
  || retry g key import --yes -n ducklake-stress "$GARAGE_KEY_ID" "$GARAGE_SECRET_KEY"
g bucket info "$GARAGE_BUCKET" >/dev/null 2>&1 || retry g bucket create "$GARAGE_BUCKET"
retry g bucket allow --read --write --owner "$GARAGE_BUCKET" --key "$GARAGE_KEY_ID"
touch "$ready"
echo "ducklake-stress garage ready: bucket $GARAGE_BUCKET on :${GARAGE_S3_PORT:-3900}"
wait $server
