//! Identifiers: run ids and the random suffixes that keep parallel runs apart.

use rand::Rng;
use std::time::SystemTime;

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    hex::encode(buf)
}

/// `20261123T143000Z-9429a0`: sortable by start time, unique through its random suffix.
pub fn new_run_id(at: SystemTime) -> String {
    let stamp = humantime::format_rfc3339_seconds(at)
        .to_string()
        .replace(['-', ':'], "");
    format!("{}-{}", &stamp[..16], random_hex(3))
}

/// The application_name prefix of every catalog session of one run; the checks and the
/// diagnosis attribute sessions by it.
pub fn session_prefix(run_id: &str) -> String {
    format!("ducklake-stress/{run_id}/")
}

/// application_name of writer `writer` of run `run_id`.
pub fn writer_application_name(run_id: &str, writer: u32) -> String {
    format!("{}w{writer}", session_prefix(run_id))
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_ids_sort_by_time_and_differ() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000);
        let (a, b) = (super::new_run_id(t), super::new_run_id(t));
        assert_eq!(&a[..16], &b[..16]);
        assert!(a.starts_with("2026"), "{a}");
        assert_eq!(a.len(), 23, "{a}");
        assert_ne!(a, b);
    }
}
