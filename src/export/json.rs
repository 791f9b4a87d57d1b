//! report.json: the complete report, for CI and for comparing runs.

use super::Exporter;
use crate::report::Report;

pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn file_name(&self) -> &'static str {
        "report.json"
    }

    fn render(&self, report: &Report) -> anyhow::Result<Vec<u8>> {
        let mut out = serde_json::to_vec_pretty(report)?;
        out.push(b'\n');
        Ok(out)
    }
}
