//! `repro.py`: the schedule as a standalone Python script needing only the `duckdb` package.
//! The schedule travels as JSON inside it; the script runs each session on a thread of its
//! own, the steps in the schedule's order (a step that does not return within the step
//! timeout is reported blocked and the next one runs, as the harness's runner does), then
//! the invariants on a fresh connection, and exits 1 when an invariant fails.

use crate::interleave::Schedule;

const TEMPLATE: &str = r##"#!/usr/bin/env python3
"""@TITLE@

Written by `ducklake-stress repro`. Needs only the duckdb package (pip install duckdb==1.5.5).
Catalog: a DuckDB file in a temporary directory (sessions are connections of one instance),
or Postgres with --postgres DSN (each session its own instance, a fresh METADATA_SCHEMA).
Extensions: LOADed from --extension-dir (default $DUCKLAKE_STRESS_EXTENSION_DIR, else
~/.cache/ducklake-stress/extensions, DuckDB's extension_directory layout), else INSTALLed.
Exit 1: reproduced (an invariant failed); 0: not reproduced; 2: could not run.
"""
import argparse, json, os, queue, sys, tempfile, threading, time, uuid

import duckdb

SPEC = json.loads(@SPEC@)


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def instance(args, extensions):
    config = {}
    if os.path.isdir(args.extension_dir):
        config["extension_directory"] = args.extension_dir
    con = duckdb.connect(config=config)
    for ext in extensions:
        try:
            con.execute(f"LOAD {ext}")
        except duckdb.Error:
            con.execute(f"INSTALL {ext}")
            con.execute(f"LOAD {ext}")
    return con


class Session:
    """One session's connection, running the statements it is handed on a thread of its own."""

    def __init__(self, name, con):
        self.name, self.con = name, con
        self.todo, self.done = queue.Queue(), queue.Queue()
        self.pending = None
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            sql = self.todo.get()
            try:
                rows = self.con.execute(sql).fetchall()
                self.done.put(f"ok ({len(rows)} rows)" if sql.lstrip().upper().startswith("SELECT") else "ok")
            except Exception as e:  # every error is an outcome to report
                self.done.put("error: " + str(e).splitlines()[0])

    def wait(self, timeout):
        try:
            return self.done.get(timeout=timeout)
        except queue.Empty:
            return None


def main():
    ap = argparse.ArgumentParser(description=SPEC["title"])
    ap.add_argument("--postgres", metavar="DSN", help="a Postgres catalog, e.g. 'dbname=lake host=localhost'")
    default_ext = os.environ.get(
        "DUCKLAKE_STRESS_EXTENSION_DIR", os.path.expanduser("~/.cache/ducklake-stress/extensions"))
    ap.add_argument("--extension-dir", default=default_ext)
    ap.add_argument("--data-path", help="where the lake's files go (default: a temporary directory)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ducklake-repro-")
    data = args.data_path or os.path.join(work, "data") + "/"
    options = [f"DATA_PATH {lit(data)}"]
    if SPEC["data_inlining_row_limit"] is not None:
        options.append(f"DATA_INLINING_ROW_LIMIT {SPEC['data_inlining_row_limit']}")
    extensions = ["parquet", "ducklake"]
    if args.postgres:
        extensions.insert(1, "postgres_scanner")
        schema = "repro_" + uuid.uuid4().hex[:12]
        admin = instance(args, extensions)
        admin.execute(f"ATTACH {lit(args.postgres)} AS pg (TYPE postgres)")
        admin.execute(f"CALL postgres_execute('pg', {lit('CREATE SCHEMA ' + schema)})")
        admin.close()
        options.append(f"METADATA_SCHEMA {lit(schema)}")
        target = "ducklake:postgres:" + args.postgres
    else:
        target = "ducklake:" + os.path.join(work, "catalog.ducklake")
    attach = f"ATTACH {lit(target)} AS lake ({', '.join(options)})"
    shared = None
    if not args.postgres:
        shared = instance(args, extensions)
        shared.execute(attach)

    def connect():
        if shared is not None:
            return shared.cursor()
        con = instance(args, extensions)
        con.execute(attach)
        return con

    print(f"duckdb {duckdb.__version__}; catalog {'postgres' if args.postgres else 'duckdb file'}; {work}")
    setup = connect()
    for sql in SPEC["setup"]:
        setup.execute(sql)
    sessions = {}
    for s in SPEC["sessions"]:
        sessions[s["name"]] = Session(s["name"], connect())
        for sql in s["connect_sql"]:
            sessions[s["name"]].con.execute(sql)
    timeout = SPEC["step_timeout_seconds"]
    spoiled = []  # steps that had to succeed (a COMMIT whose effect the invariant judges) and did not
    for i, step in enumerate(SPEC["steps"], 1):
        s = sessions[step["session"]]
        if s.pending is not None:
            late = s.wait(timeout)
            print(f"  {s.pending}: {late or 'still blocked'}")
            s.pending = None
        s.todo.put(step["sql"])
        got = s.wait(timeout)
        if got is None:
            s.pending = step["name"]
            got = "blocked"
        print(f"{i:3} {step['name']:<24} {got}")
        if step["must_succeed"] and not got.startswith("ok"):
            spoiled.append(step["name"])
    for s in sessions.values():
        if s.pending is not None:
            print(f"  {s.pending}: {s.wait(timeout) or 'still blocked'}")
    check = connect()
    failed = False
    for inv in SPEC["invariants"]:
        rows = check.execute(inv["sql"]).fetchall()
        ok = inv["expect_rows"] is None or len(rows) == inv["expect_rows"]
        failed = failed or not ok
        print(f"invariant {inv['name']}: {len(rows)} rows (expect {inv['expect_rows']}): {'ok' if ok else 'FAILED'}")
        for r in rows[:5]:
            print("   ", r)
    if failed and spoiled:
        print(f"not reproduced: {', '.join(spoiled)} did not succeed, so the invariant judged a transaction "
              "that never committed")
        failed = False
    print("REPRODUCED" if failed else "not reproduced")
    sys.stdout.flush()
    os._exit(1 if failed else 0)  # a session still blocked must not keep the process alive


if __name__ == "__main__":
    try:
        main()
    except duckdb.Error as e:
        print(f"could not run the reproducer: {e}", file=sys.stderr)
        sys.exit(2)
"##;

/// The script for `schedule`, its steps in the schedule's (single) order.
pub fn script(schedule: &Schedule, run_id: &str, check: &str) -> anyhow::Result<String> {
    let steps: Vec<serde_json::Value> = schedule.permutations[0]
        .iter()
        .map(|&i| {
            let s = &schedule.steps[i];
            let must = s.expect == Some(crate::interleave::model::Expect::Ok);
            let session = &schedule.sessions[s.session].name;
            serde_json::json!({"session": session, "name": s.name, "sql": s.sql, "must_succeed": must})
        })
        .collect();
    let title = format!("Reproducer of run {run_id}: check {check} ({})", schedule.name);
    let spec = serde_json::json!({
        "title": title,
        "setup": schedule.setup,
        "sessions": schedule.sessions.iter().map(|s| serde_json::json!({"name": s.name, "connect_sql": s.connect_sql}))
            .collect::<Vec<_>>(),
        "steps": steps,
        "invariants": schedule.invariants,
        "data_inlining_row_limit": schedule.lake.data_inlining_row_limit,
        "step_timeout_seconds": schedule.step_timeout.as_secs_f64(),
    });
    // A JSON string literal is a valid Python string literal (ASCII escapes only).
    let literal = serde_json::to_string(&serde_json::to_string(&spec)?)?;
    Ok(TEMPLATE
        .replace("@TITLE@", &title.replace("\"\"\"", "'''"))
        .replace("@SPEC@", &literal))
}
