//! What writers write (Jepsen's workload/generator). v1 has one kind: `append`.

pub mod append;
