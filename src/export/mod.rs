//! Writing a report in each format, one file per format behind one trait, always
//! atomically (see `util::atomic_write`) so a reader never sees half a report.

pub mod console;
pub mod json;
pub mod markdown;

use crate::report::Report;
use std::path::Path;

pub trait Exporter {
    /// File name inside the run directory.
    fn file_name(&self) -> &'static str;
    fn render(&self, report: &Report) -> anyhow::Result<Vec<u8>>;
}

pub fn all() -> Vec<Box<dyn Exporter>> {
    vec![Box::new(json::JsonExporter), Box::new(markdown::MarkdownExporter), Box::new(console::ConsoleExporter)]
}

/// Writes every format into `dir`.
pub fn write_all(report: &Report, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    for e in all() {
        crate::util::write_atomically(&dir.join(e.file_name()), &e.render(report)?)?;
    }
    Ok(())
}
