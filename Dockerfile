# ducklake-stress for machines that reach Docker Hub and crates.io (the usual way):
#   docker build -t ducklake-stress .
#   docker run --rm --network host -v "$PWD/results:/work/results" \
#     -v "$PWD/env.json:/work/env.json:ro" ducklake-stress run /opt/ducklake-stress/scenarios/quickstart.toml --env-file env.json
# Machines without a registry build the same image offline with scripts/build-images.sh
# (ducklake-stress/harness, from the binary built on the host). The first stage compiles
# the bundled DuckDB: about 30 minutes on 2 cores.
FROM rust:1-bookworm AS build
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

FROM debian:bookworm-slim
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/ducklake-stress /usr/local/bin/ducklake-stress
COPY --from=build /extensions /opt/ducklake-stress/extensions
COPY scenarios /opt/ducklake-stress/scenarios
ENV DUCKLAKE_STRESS_EXTENSION_DIR=/opt/ducklake-stress/extensions
WORKDIR /work
ENTRYPOINT ["ducklake-stress"]
CMD ["--help"]
