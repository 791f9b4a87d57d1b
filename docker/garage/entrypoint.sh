#!/bin/bash
# Garage's single-node guide as an entrypoint: server in the background, then layout,
# key and bucket (each only if missing, so a restart on the same volume keeps them), then
# "ready" and wait on the server. `healthcheck` answers whether the bucket is served.
set -euo pipefail
conf=/etc/garage.toml
state=${GARAGE_STATE_DIR:-/var/lib/garage}
ready=/run/garage-ready
g() { garage -c "$conf" "$@"; }

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

if g layout show 2>/dev/null | grep -q 'No nodes currently have a role'; then
  node=$(g node id -q); node=${node%%@*}
  g layout assign -z dc1 -c 1G "$node" >/dev/null
  g layout apply --version 1 >/dev/null
fi
g key info "$GARAGE_KEY_ID" >/dev/null 2>&1 \
  || g key import --yes -n ducklake-stress "$GARAGE_KEY_ID" "$GARAGE_SECRET_KEY" >/dev/null
g bucket info "$GARAGE_BUCKET" >/dev/null 2>&1 || g bucket create "$GARAGE_BUCKET" >/dev/null
g bucket allow --read --write --owner "$GARAGE_BUCKET" --key "$GARAGE_KEY_ID" >/dev/null
touch "$ready"
echo "ducklake-stress garage ready: bucket $GARAGE_BUCKET on :${GARAGE_S3_PORT:-3900}"
wait $server
