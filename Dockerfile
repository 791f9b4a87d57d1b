# ducklake-stress in a container, two ways from this one file.
#
# 1. Compiled inside (machines that reach Docker Hub and crates.io; the usual way, the default
#    target). The first stage compiles the bundled DuckDB: about 30 minutes on 2 cores.
#      docker build -t ducklake-stress .
#      docker run --rm --network host -v "$PWD/results:/work/results" \
#        -v "$PWD/env.json:/work/env.json:ro" ducklake-stress run /opt/ducklake-stress/scenarios/quickstart.toml --env-file env.json
#    Needs BuildKit (the default since Docker 23; DOCKER_BUILDKIT=1 before): the legacy builder
#    runs every stage, and the `prebuilt` one needs the context of way 2.
#
# 2. From a binary built on the host (offline: no registry, no crates.io), `--target prebuilt`,
#    with a context directory that holds `ducklake-stress` (the release binary), `extensions/`
#    (DuckDB's extension files) and `scenarios/`, and a base image of your own:
#      docker build --target prebuilt --build-arg BASE_IMAGE=ducklake-stress/debian-base -t ducklake-stress/harness CTX
#    scripts/build-images.sh (image `harness`) lays out CTX and does exactly this.
#
# BASE_IMAGE: the runtime's Debian (bookworm; glibc 2.36 or newer for the binary).
# BUILDER_IMAGE: the Rust toolchain of way 1.
ARG BASE_IMAGE=debian:bookworm-slim
ARG BUILDER_IMAGE=rust:1-bookworm

FROM ${BASE_IMAGE} AS runtime
# TLS roots for S3 over HTTPS; the project's base image has them already (no network needed).
RUN [ -e /etc/ssl/certs/ca-certificates.crt ] || { apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/*; }
ENV DUCKLAKE_STRESS_EXTENSION_DIR=/opt/ducklake-stress/extensions
WORKDIR /work
ENTRYPOINT ["ducklake-stress"]
CMD ["--help"]

# Way 2. Before the compiling stages, so that `--target prebuilt` never reaches them (the legacy
# builder of Docker 20.10 builds every stage up to the target).
FROM runtime AS prebuilt
COPY ducklake-stress /usr/local/bin/ducklake-stress
COPY extensions /opt/ducklake-stress/extensions
COPY scenarios /opt/ducklake-stress/scenarios

# Way 1.
FROM ${BUILDER_IMAGE} AS build
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >/dev/null \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY scripts scripts
# The extensions come from DuckDB's PyPI wheels (scripts/fetch-extensions.sh), so the
# image needs no network at run time.
ENV XDG_CACHE_HOME=/cache PIP_BREAK_SYSTEM_PACKAGES=1
RUN scripts/fetch-extensions.sh \
 && cargo build --release --locked \
 && cp target/release/ducklake-stress /usr/local/bin/ \
 && cp -a "$XDG_CACHE_HOME/ducklake-stress/extensions" /extensions

FROM runtime AS compiled
COPY --from=build /usr/local/bin/ducklake-stress /usr/local/bin/ducklake-stress
COPY --from=build /extensions /opt/ducklake-stress/extensions
COPY scenarios /opt/ducklake-stress/scenarios
