//! report.json (sweep.json, comparison.json): the complete document, for CI and for
//! comparing runs; it reads back with serde.

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

/// Any serializable document under the given file name.
pub struct JsonFile(pub &'static str);

impl<D: serde::Serialize> Exporter<D> for JsonFile {
    fn file_name(&self) -> &'static str {
        self.0
    }

    fn render(&self, doc: &D) -> anyhow::Result<Vec<u8>> {
        let mut out = serde_json::to_vec_pretty(doc)?;
        out.push(b'\n');
        Ok(out)
    }
}
