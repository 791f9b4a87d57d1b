//! DuckDB instances attached to the DuckLake catalog: extension loading, the S3 secret,
//! ATTACH and DuckLake's retry settings. Every writer and the checker open their own.

pub mod extensions;
pub mod instance;
pub mod staged;
/// The scenario's table and its qualified name (low, in util: the workloads write it too).
pub use crate::util::lake_table as table;

pub use extensions::ExtensionSource;
pub use instance::{apply_client, apply_settings, open, open_with, LakeTarget, LAKE_ALIAS, METADATA_ALIAS};

pub use crate::util::sql_str;
