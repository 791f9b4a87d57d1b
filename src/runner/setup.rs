//! Before the writers: the environment, the lake's table, the versions in play, and the
//! object store as it was (so only this run's orphans count against it).

use crate::environment::{self, existing::ExistingArgs, Environment};
use crate::lake::{self, LakeTarget};
use crate::report::Versions;
use crate::scenario::Scenario;
use crate::util::deadline::run_with_deadline;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub enum EnvChoice {
    Native,
    /// `--docker`; `build_images`: run scripts/build-images.sh first (`--build-images`).
    Docker {
        build_images: bool,
    },
    File(PathBuf),
    /// An env file with `--local-data-dir` / `--catalog-dir` given beside it: the flags win.
    FileWithDirs {
        path: PathBuf,
        local_data_dir: Option<PathBuf>,
        catalog_dir: Option<PathBuf>,
    },
    Flags(ExistingArgs),
}

pub fn provision(choice: &EnvChoice, needs_s3: bool) -> anyhow::Result<Environment> {
    match choice {
        EnvChoice::Native => environment::native::start(needs_s3),
        EnvChoice::Docker { build_images } => {
            let (mut env, containers) = environment::containers::start(needs_s3, *build_images)?;
            env.containers = Some(containers);
            Ok(env)
        }
        EnvChoice::File(path) => environment::existing::from_file(path),
        EnvChoice::FileWithDirs {
            path,
            local_data_dir,
            catalog_dir,
        } => {
            let mut env = environment::existing::from_file(path)?;
            if local_data_dir.is_some() {
                env.endpoints.local_data_dir = local_data_dir.clone();
            }
            if catalog_dir.is_some() {
                env.endpoints.catalog_dir = catalog_dir.clone();
            }
            Ok(env)
        }
        EnvChoice::Flags(args) => args.to_env(),
    }
}

/// Creates the table once, before any writer attaches, and reads the versions in play.
/// Bounded by `limit`: a catalog someone holds locked blocks ATTACH itself.
pub fn prepare_lake(
    target: &Arc<LakeTarget>,
    scenario: &Scenario,
    run_id: &str,
    env: &Environment,
    catalog: &tokio_postgres::Client,
    limit: Duration,
) -> anyhow::Result<Versions> {
    let app = format!("{}setup", crate::util::ids::session_prefix(run_id));
    let table = TableSetup::new(scenario, run_id);
    let (target, client) = (target.clone(), scenario.client.clone());
    let (duckdb, ducklake, extensions) = run_with_deadline("preparing the lake", limit, move || {
        // The scenario's [client] options are tried here once: a wrong one is bad input
        // before any writer starts.
        let conn = lake::open_with(&target, &app, None, &client.attach_options)?;
        lake::apply_client(&conn, &client)?;
        table.run(&conn)?;
        let duckdb: String = conn
            .query_row("SELECT library_version FROM pragma_version()", [], |r| r.get(0))
            .unwrap_or_default();
        let ducklake: String = conn
            .query_row(
                "SELECT coalesce(extension_version, '') FROM duckdb_extensions() WHERE extension_name = 'ducklake'",
                [],
                |r| r.get(0),
            )
            .unwrap_or_default();
        let extensions = lake::extensions::loaded(&conn, &target.extensions, target.catalog);
        Ok((duckdb, ducklake, extensions))
    })?;
    let (postgres, s3_server) = service_versions(scenario, env, catalog);
    Ok(Versions {
        duckdb,
        ducklake,
        postgres,
        s3_server,
        extensions,
    })
}

/// The workload's table as the writers need it: created, checked to have the workload's
/// columns, seeded, with its inlining limit, and (sql workload) its statements tried once.
struct TableSetup {
    table: String,
    kind: String,
    create: String,
    probe: String,
    columns: String,
    seed: Option<String>,
    inlining: Option<String>,
    /// A sql workload's table exists only once its `setup` (run as the seed) made it.
    inlining_after_seed: bool,
    workload: Box<dyn crate::workload::Generator>,
    run_id: String,
}

impl TableSetup {
    fn new(scenario: &Scenario, run_id: &str) -> Self {
        let table = scenario.lake.table.clone();
        let (probe, columns) = crate::workload::columns_probe_sql(&scenario.workload, &table);
        TableSetup {
            kind: format!("{:?}", scenario.workload.kind).to_lowercase(),
            create: crate::workload::create_sql(&scenario.workload, &table),
            probe,
            columns: columns.to_string(),
            seed: crate::workload::seed_sql(&scenario.workload, &table, run_id),
            inlining: scenario
                .lake
                .table_data_inlining_row_limit
                .map(|n| crate::util::lake_table::inlining_limit_sql(&table, n)),
            inlining_after_seed: crate::workload::table_made_by_seed(&scenario.workload),
            workload: crate::workload::generator(&scenario.workload, &table),
            run_id: run_id.to_string(),
            table,
        }
    }

    fn run(&self, conn: &duckdb::Connection) -> anyhow::Result<()> {
        let table = &self.table;
        conn.execute_batch(&self.create)
            .map_err(|e| crate::error::environment(format!("creating table {table} in the lake failed: {e}")))?;
        if let Err(e) = conn.execute_batch(&self.probe) {
            return Err(crate::error::bad_input(format!(
                "table {table} already exists in the lake without the columns the {} workload writes ({}): \
                    it was made by another workload ({e}). Set [lake] table to another name in the scenario file.",
                self.kind, self.columns
            )));
        }
        if !self.inlining_after_seed {
            self.persist_inlining(conn)?;
        }
        if let Some(sql) = &self.seed {
            // One commit, before the writers: every key present once (upsert with seed =
            // true, every counter, every account, the rows deleters start from).
            conn.execute_batch(&format!("BEGIN TRANSACTION; {sql}; COMMIT"))
                .map_err(|e| crate::error::environment(format!("seeding table {table} failed: {e}")))?;
        }
        if self.inlining_after_seed {
            self.persist_inlining(conn)?;
        }
        self.workload.preflight(conn, &self.run_id).map_err(preflight_failed)?;
        Ok(())
    }

    fn persist_inlining(&self, conn: &duckdb::Connection) -> anyhow::Result<()> {
        match &self.inlining {
            Some(sql) => conn.execute_batch(sql).map_err(|e| {
                crate::error::environment(format!(
                    "persisting lake.table_data_inlining_row_limit on {} failed: {e}",
                    self.table
                ))
            }),
            None => Ok(()),
        }
    }
}

/// The catalog's and the object store's versions, for the report.
fn service_versions(scenario: &Scenario, env: &Environment, catalog: &tokio_postgres::Client) -> (String, String) {
    let postgres = match scenario.lake.catalog.no_postgres() {
        Some(_) => format!("none (catalog = {})", scenario.lake.catalog.name()),
        None => crate::runtime::block_on(crate::environment::pg::query_with_deadline(
            catalog,
            "SHOW server_version",
            &[],
            Duration::from_secs(5),
        ))
        .ok()
        .and_then(|rows| rows.first().map(|r| r.get::<_, String>(0)))
        .unwrap_or_default(),
    };
    let s3_server = match (&env.endpoints.s3, &env.endpoints.s3_server) {
        (None, _) => "none (local data)".into(),
        (Some(_), Some(v)) => v.clone(),
        (Some(s3), None) => format!("external ({})", s3.endpoint),
    };
    (postgres, s3_server)
}

/// A statement the preflight transaction could not run: bad input (exit 2) naming it when
/// the error is the statement's own (class `other`: a type error, a missing table); an
/// environment error when the catalog or the store failed under it.
fn preflight_failed(e: crate::workload::sql::StatementError) -> anyhow::Error {
    use crate::history::error_class::{classify, ErrorClass};
    let class = classify(&e.message);
    let place =
        "in the preflight (one transaction of writer 0, with its placeholders, rolled back before any writer started)";
    // DuckDB's message last: it may run over several lines (the statement, a caret).
    if class == ErrorClass::Other {
        crate::error::bad_input(format!(
            "{} cannot work: it failed {place} and would fail the same way in every transaction. Fix it in the \
                scenario file (`validate` checks placeholders, not SQL). DuckDB said: {}",
            e.key, e.message
        ))
    } else {
        crate::error::environment(format!(
            "{} failed {place} with an error of class {}: {}",
            e.key,
            class.name(),
            e.message
        ))
    }
}

/// Every object under the lake's data path now (None if it could not be listed in time:
/// then every orphan counts, and the object_store check says so).
pub fn objects_now(env: &Environment, target: &LakeTarget) -> Option<Vec<String>> {
    let data_path = target.data_path.clone()?;
    let endpoints = env.endpoints.clone();
    run_with_deadline("listing the object store", Duration::from_secs(30), move || {
        crate::checker::object_store::list_stored(&endpoints, &data_path)
    })
    .map(|m| m.into_keys().collect())
    .inspect_err(|e| tracing::warn!("could not list the object store before the run: {e:#}"))
    .ok()
}
