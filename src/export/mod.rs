//! Writing a document (a run's report, a sweep, a comparison) in each format, one file
//! per format behind one trait, always atomically (see `util::atomic_write`) so a reader
//! never sees half a report.

pub mod console;
pub mod csv;
pub mod json;
pub mod markdown;

use crate::campaign::compare::Comparison;
use crate::campaign::sweep::SweepResult;
use crate::report::Report;
use std::path::Path;

pub trait Exporter<D: ?Sized = Report> {
    /// File name inside the run (or sweep, or comparison) directory.
    fn file_name(&self) -> &'static str;
    fn render(&self, doc: &D) -> anyhow::Result<Vec<u8>>;
}

pub fn sweep_formats() -> Vec<Box<dyn Exporter<SweepResult>>> {
    vec![Box::new(json::JsonFile("sweep.json")), Box::new(csv::SweepCsv), Box::new(markdown::SweepMarkdown)]
}

pub fn comparison_formats() -> Vec<Box<dyn Exporter<Comparison>>> {
    vec![Box::new(json::JsonFile("comparison.json")), Box::new(markdown::ComparisonMarkdown)]
}

/// Writes `doc` in each of `formats` into `dir`.
pub fn write_each<D: ?Sized>(doc: &D, dir: &Path, formats: &[Box<dyn Exporter<D>>]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    for e in formats {
        crate::util::write_atomically(&dir.join(e.file_name()), &e.render(doc)?)?;
    }
    Ok(())
}

pub fn all() -> Vec<Box<dyn Exporter>> {
    vec![Box::new(json::JsonExporter), Box::new(markdown::MarkdownExporter), Box::new(console::ConsoleExporter)]
}

/// Writes every format of a run's report into `dir`.
pub fn write_all(report: &Report, dir: &Path) -> anyhow::Result<()> {
    write_each(report, dir, &all())
}
