#!/usr/bin/env bash
# docker compose with the repository's stack, choosing its images as `run --docker` does:
# docker-compose.yml's registry images (postgres:16, minio/minio, minio/mc) when this engine
# has them all, else the project's own (docker-compose.local.yml: ducklake-stress/postgres and
# ducklake-stress/garage, from scripts/build-images.sh) when it has those. With DLS_POSTGRES_IMAGE
# or DLS_S3_IMAGE set, the files are used as given. Compose v2 (`docker compose`) or v1.
#   scripts/compose.sh up -d --wait        scripts/compose.sh down -v
#   scripts/compose.sh -f docker-compose.workers.yml up -d --scale worker=4
set -euo pipefail
cd "$(dirname "$0")/.."

have() { docker image inspect "$1" >/dev/null 2>&1; }

if docker compose version >/dev/null 2>&1; then compose=(docker compose)
elif command -v docker-compose >/dev/null; then compose=(docker-compose)
else echo "compose.sh: neither \`docker compose\` nor \`docker-compose\` is installed." >&2; exit 3; fi

files=(-f docker-compose.yml)
if [ -z "${DLS_POSTGRES_IMAGE:-}${DLS_S3_IMAGE:-}" ]; then
  if have postgres:16 && have minio/minio:latest && have minio/mc:latest; then
    echo "compose: postgres:16 and minio/minio (registry images on this engine)" >&2
  elif have ducklake-stress/postgres && have ducklake-stress/garage; then
    files+=(-f docker-compose.local.yml)
    echo "compose: ducklake-stress/postgres and ducklake-stress/garage (the registry images are not on this engine)" >&2
  else
    echo "compose: neither the registry images (postgres:16, minio/minio, minio/mc) nor the project's" \
      "(ducklake-stress/postgres, ducklake-stress/garage) are all on this engine; compose will try to pull." \
      "Without a registry, build the project's with: scripts/build-images.sh" >&2
  fi
fi
exec "${compose[@]}" "${files[@]}" "$@"
