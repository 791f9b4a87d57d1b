#!/usr/bin/env bash
# Puts DuckDB's signed v1.5.5 extensions into $DUCKLAKE_STRESS_EXTENSION_DIR, laid out
# the way DuckDB's extension_directory expects (<dir>/v1.5.5/<platform>/<name>.duckdb_extension).
# They come from PyPI (duckdb-extension-<name>), which machines without general internet
# can still reach; on machines with internet DuckDB's own INSTALL works as well.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

case "$(uname -m)" in
  x86_64) platform=linux_amd64 ;;
  aarch64|arm64) platform=linux_arm64 ;;
  *) echo "fetch-extensions: no DuckDB extension wheels for $(uname -m)" >&2; exit 3 ;;
esac
dest="$DUCKLAKE_STRESS_EXTENSION_DIR/v$DUCKDB_VERSION/$platform"
mkdir -p "$dest"
wheels="$cache_root/wheels"
mkdir -p "$wheels"
# sqlite_scanner only for lakes with catalog = "sqlite" (loaded only then).
for name in parquet json httpfs postgres_scanner ducklake sqlite_scanner; do
  [ -s "$dest/$name.duckdb_extension" ] && continue
  pkg="duckdb-extension-${name//_/-}==$DUCKDB_VERSION"
  printf '==> fetching %s\n' "$pkg" >&2
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$wheels" "$pkg"
  whl=$(ls "$wheels"/duckdb_extension_"${name}"-"$DUCKDB_VERSION"-*.whl | head -1)
  python3 - "$whl" "$name" "$dest" <<'PY'
import sys, zipfile, shutil, os
whl, name, dest = sys.argv[1:]
member = f"duckdb_extension_{name}/extensions/v1.5.5/{name}.duckdb_extension"
with zipfile.ZipFile(whl) as z, z.open(member) as src, open(os.path.join(dest, name + ".duckdb_extension.tmp"), "wb") as out:
    shutil.copyfileobj(src, out)
os.replace(os.path.join(dest, name + ".duckdb_extension.tmp"), os.path.join(dest, name + ".duckdb_extension"))
PY
done
printf '==> DuckDB extensions ready in %s\n' "$dest" >&2
