"""The seeds' kind of harness, as a peer to measure ducklake-stress against: Python threads,
one DuckDB instance each, explicit BEGIN/COMMIT, ROLLBACK on error, an application-level
retry loop over DuckLake's own retries. Same extensions, same lake, same INSERT shape.

python3 poc.py ENV_JSON EXTENSION_DIR TABLE WRITERS COMMITS_PER_WRITER  -> one JSON line
"""
import hashlib
import json
import resource
import sys
import threading
import time

import duckdb

env_path, ext_dir, table, writers, commits = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
env = json.load(open(env_path))
pg, s3 = env["postgres"], env["s3"]
BATCH, PAYLOAD, APP_RETRIES = 25, 64, 3


def q(s):
    return "'" + str(s).replace("'", "''") + "'"


def connect(name):
    con = duckdb.connect(config={"extension_directory": ext_dir})
    for ext in ["parquet", "json", "httpfs", "postgres_scanner", "ducklake"]:
        con.execute(f"LOAD {ext}")
    con.execute(
        f"CREATE SECRET lake_s3 (TYPE s3, KEY_ID {q(s3['access_key_id'])}, SECRET {q(s3['secret_access_key'])}, "
        f"ENDPOINT {q(s3['endpoint'])}, REGION {q(s3['region'])}, URL_STYLE {q(s3['url_style'])}, USE_SSL {str(s3['use_ssl']).lower()})"
    )
    dsn = f"host={pg['host']} port={pg['port']} dbname={pg['dbname']} user={pg['user']} password={pg['password']} application_name={name}"
    con.execute(f"ATTACH {q('ducklake:postgres:' + dsn)} AS lake (DATA_PATH {q('s3://' + s3['bucket'] + '/lake/')})")
    con.execute("SET ducklake_max_retry_count = 100; SET ducklake_retry_wait_ms = 100; SET ducklake_retry_backoff = 2.0")
    return con


def insert_sql(run, w, t):
    # A VALUES list built in the client, as ducklake-stress's writers build theirs.
    rows = []
    for r in range(BATCH):
        payload = (f"{run}-{w}-{t}-{r}-" * PAYLOAD)[:PAYLOAD]
        rows.append(f"('{run}',{w},{t},{r},'{payload}','{hashlib.md5(payload.encode()).hexdigest()}',now())")
    return f"INSERT INTO lake.\"{table}\" (run_id, writer_id, txn_seq, row_seq, payload, checksum, written_at) VALUES " + ",".join(rows)


results, ready = [], threading.Barrier(writers + 1)


def writer(w, run):
    con = connect(f"poc/{run}/w{w}")
    ready.wait()
    ok = failed = retries = 0
    for t in range(commits):
        for attempt in range(APP_RETRIES):
            try:
                con.execute("BEGIN TRANSACTION")
                con.execute(insert_sql(run, w, t))
                con.execute("COMMIT")
                ok += 1
                break
            except Exception:
                try:
                    con.execute("ROLLBACK")
                except Exception:
                    pass
                if attempt + 1 == APP_RETRIES:
                    failed += 1
                else:
                    retries += 1
                    time.sleep(0.05 * 2**attempt)
    results.append((ok, failed, retries))


run = f"poc-{int(time.time())}"
setup = connect(f"poc/{run}/setup")
setup.execute(
    f"CREATE TABLE IF NOT EXISTS lake.\"{table}\" (run_id VARCHAR, writer_id INTEGER, txn_seq BIGINT, row_seq INTEGER, payload VARCHAR, checksum VARCHAR, written_at TIMESTAMPTZ)"
)
threads = [threading.Thread(target=writer, args=(w, run)) for w in range(writers)]
for t in threads:
    t.start()
ready.wait()
start = time.monotonic()
for t in threads:
    t.join()
seconds = time.monotonic() - start
u = resource.getrusage(resource.RUSAGE_SELF)
ok = sum(r[0] for r in results)
print(json.dumps({
    "tool": "python-poc", "writers": writers, "commits": ok, "failed": sum(r[1] for r in results), "app_retries": sum(r[2] for r in results),
    "seconds": seconds, "commits_per_second": ok / seconds, "cpu_seconds": u.ru_utime + u.ru_stime, "peak_rss_mb": u.ru_maxrss / 1024,
}))
