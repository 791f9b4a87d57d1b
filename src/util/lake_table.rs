//! The table every writer appends to. Each row carries enough to account for every
//! transaction afterwards: run, writer, transaction sequence, row sequence, and an MD5 of
//! its payload that the checker recomputes inside DuckDB. Here, low, with the name the
//! lake is attached as, because the workloads write SQL naming them (`lake::table`).

/// The name every DuckDB instance of the harness attaches the lake as.
pub const LAKE_ALIAS: &str = "lake";

pub fn create_sql(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} (
            run_id VARCHAR,
            writer_id INTEGER,
            txn_seq BIGINT,
            row_seq INTEGER,
            payload VARCHAR,
            checksum VARCHAR,
            written_at TIMESTAMPTZ
        )",
        qualified(table)
    )
}

/// `lake."table"`: quoted, so a name that is a reserved word still works.
pub fn qualified(table: &str) -> String {
    format!("{LAKE_ALIAS}.\"{table}\"")
}

/// Persists DuckLake's inlining limit on one table of the lake (`[lake]
/// table_data_inlining_row_limit`), for every client, unlike the ATTACH option.
pub fn inlining_limit_sql(table: &str, limit: u64) -> String {
    format!(
        "CALL {LAKE_ALIAS}.set_option('data_inlining_row_limit', {limit}, table_name => {})",
        crate::util::sql_str(table)
    )
}
