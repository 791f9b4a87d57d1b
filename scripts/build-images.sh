#!/usr/bin/env bash
# Builds the container images the tests (and an offline compose stack) use, from what a
# machine without a container registry can reach: Debian's packages and files already on
# this machine. No `docker pull` anywhere.
#
#   ducklake-stress/debian-base   debootstrap (bookworm, minbase) + docker import
#   ducklake-stress/postgres      Debian's postgresql; behaves like the official image
#                                 (POSTGRES_USER/PASSWORD/DB, `postgres -c ...` arguments)
#   ducklake-stress/garage        the Garage binary of this machine; its entrypoint lays out
#                                 one node and creates the key and bucket (GARAGE_* variables)
#   ducklake-stress/harness       the release binary and DuckDB's extension files: the
#                                 repository's Dockerfile, `--target prebuilt` on debian-base
#
# Idempotent and cached: every image carries a label with the hash of its inputs and is
# skipped when an image with that hash exists (a second run takes seconds). Needs root
# (debootstrap) the first time. Usage: scripts/build-images.sh [base|postgres|garage|harness]...
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'build-images: %s\n' "$*" >&2; exit 3; }

SUITE=bookworm
LABEL=ducklake-stress.inputs
BASE=ducklake-stress/debian-base
images_cache="$cache_root/images"
GARAGE_BIN="${GARAGE_BIN:-$(command -v garage || echo "${CARGO_HOME:-$HOME/.cargo}/bin/garage")}"
HARNESS_BIN="${HARNESS_BIN:-$CARGO_TARGET_DIR/release/ducklake-stress}"

docker info >/dev/null 2>&1 || die "no Docker engine answers ('docker info' failed). Start one, or skip the container images: the native environment needs none."

# The mirror apt already uses here, so that the images need no host of their own.
apt_mirror() {
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
  [ -n "$uri" ] || uri=$(grep -hs '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -1 || true)
  [ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list; set DEBIAN_MIRROR=http://... ."
  echo "$uri"
}

image_hash() { docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null || true; }

build_base() {
  local mirror inputs
  mirror="${DEBIAN_MIRROR:-$(apt_mirror)}"
  inputs=$(printf '%s\n' "$SUITE" minbase ca-certificates "$mirror" "$(sha256sum docker/base/import.conf)" | sha256sum | cut -c1-32)
  if [ "$(image_hash "$BASE")" = "$inputs" ]; then say "$BASE: up to date"; return; fi
  [ "$(id -u)" -eq 0 ] || die "making the Debian base image needs root (debootstrap). Run this script as root once; later runs reuse the image."
  command -v debootstrap >/dev/null || { say "installing debootstrap (apt-get)"; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  local root="$images_cache/rootfs.$$"
  mkdir -p "$images_cache"; rm -rf "$root"
  trap 'rm -rf "$root"' EXIT
  say "$BASE: debootstrap $SUITE (minbase) from $mirror: about a minute"
  debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$root" "$mirror" >"$images_cache/debootstrap.log" 2>&1 \
    || die "debootstrap failed; its log: $images_cache/debootstrap.log"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  cp docker/base/import.conf "$root/etc/apt/apt.conf.d/90ducklake-stress"
  tar -C "$root" -c . | docker import --change "LABEL $LABEL=$inputs" --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
  rm -rf "$root"; trap - EXIT
}

# build NAME CONTEXT_DIR [DOCKER BUILD ARGS...]: docker build with the inputs' hash as label,
# unless up to date.
build() {
  local name=$1 ctx=$2 inputs
  shift 2
  inputs=$( (cd "$ctx" && find . -type f -print0 | sort -z | xargs -0 sha256sum; image_hash "$BASE") | sha256sum | cut -c1-32)
  if [ "$(image_hash "ducklake-stress/$name")" = "$inputs" ]; then say "ducklake-stress/$name: up to date"; return; fi
  say "ducklake-stress/$name: building"
  docker build --network host --label "$LABEL=$inputs" "$@" -t "ducklake-stress/$name" "$ctx" >"$images_cache/build-$name.log" 2>&1 \
    || { tail -20 "$images_cache/build-$name.log" >&2; die "building ducklake-stress/$name failed; its log: $images_cache/build-$name.log"; }
}

# A build context of copies, so that large local files need not live in the checkout.
context() {
  local ctx="$images_cache/context-$1"
  rm -rf "$ctx"; mkdir -p "$ctx"
  if [ -d "docker/$1" ]; then cp -a "docker/$1/." "$ctx/"; fi
  echo "$ctx"
}

build_postgres() { build postgres "$(context postgres)"; }

build_garage() {
  [ -x "$GARAGE_BIN" ] || die "no Garage binary at $GARAGE_BIN: run scripts/setup.sh (it installs Garage) or set GARAGE_BIN."
  local ctx; ctx=$(context garage)
  cp "$GARAGE_BIN" "$ctx/garage"
  build garage "$ctx"
}

build_harness() {
  [ -x "$HARNESS_BIN" ] || die "no harness binary at $HARNESS_BIN: build it first (scripts/setup.sh) or set HARNESS_BIN."
  [ -d "$DUCKLAKE_STRESS_EXTENSION_DIR" ] || die "no DuckDB extensions at $DUCKLAKE_STRESS_EXTENSION_DIR: run scripts/fetch-extensions.sh."
  local ctx; ctx=$(context harness)
  # The repository's own Dockerfile, its offline way (see its header); the hash covers it too.
  cp Dockerfile "$ctx/Dockerfile"
  cp "$HARNESS_BIN" "$ctx/ducklake-stress"
  cp -a "$DUCKLAKE_STRESS_EXTENSION_DIR" "$ctx/extensions"
  cp -a scenarios "$ctx/scenarios"
  build harness "$ctx" --target prebuilt --build-arg "BASE_IMAGE=$BASE"
}

started=$(date +%s)
mkdir -p "$images_cache"
wanted=("$@"); [ ${#wanted[@]} -gt 0 ] || wanted=(base postgres garage harness)
for w in "${wanted[@]}"; do
  case "$w" in
    base) build_base ;;
    postgres|garage|harness) [ -n "$(image_hash "$BASE")" ] || build_base; "build_$w" ;;
    *) die "unknown image '$w'; the images are: base postgres garage harness." ;;
  esac
done
say "images ready in $(( $(date +%s) - started )) s:"
docker image ls --format '  {{.Repository}}:{{.Tag}}  {{.Size}}' 'ducklake-stress/*' >&2
