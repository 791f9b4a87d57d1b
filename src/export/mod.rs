//! Writing a document (a run's report, a sweep, a comparison) in each format, one file
//! per format behind one trait, always atomically (see `util::atomic_write`) so a reader
//! never sees half a report: report.json, summary.md, summary.txt, junit.xml (CI) and
//! report.html (people; its `charts` draw the sweep and comparison pages too); sweep.json,
//! .csv, .md, .html; comparison.json, .md, .html.

pub mod console;
pub mod csv;
pub mod html;
pub mod json;
pub mod junit;
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
    vec![
        Box::new(json::JsonFile("sweep.json")),
        Box::new(csv::SweepCsv),
        Box::new(markdown::SweepMarkdown),
        Box::new(html::campaign::SweepHtml),
    ]
}

pub fn comparison_formats() -> Vec<Box<dyn Exporter<Comparison>>> {
    vec![
        Box::new(json::JsonFile("comparison.json")),
        Box::new(markdown::ComparisonMarkdown),
        Box::new(html::campaign::ComparisonHtml),
    ]
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
    vec![
        Box::new(json::JsonExporter),
        Box::new(markdown::MarkdownExporter),
        Box::new(console::ConsoleExporter),
        Box::new(junit::JunitExporter),
        Box::new(html::HtmlExporter),
    ]
}

/// Writes every format of a run's report into `dir`.
pub fn write_all(report: &Report, dir: &Path) -> anyhow::Result<()> {
    write_each(report, dir, &all())
}

/// Writes one format to a path of the user's choice (`run --junit FILE`).
pub fn write_to(exporter: &dyn Exporter, report: &Report, path: &Path) -> anyhow::Result<()> {
    crate::util::write_atomically(path, &exporter.render(report)?).map_err(|e| {
        anyhow::anyhow!(
            "{}: cannot write the {} there ({e:#}); the run directory has its own copy.",
            path.display(),
            exporter.file_name()
        )
    })
}

/// Refuses an output path that cannot be a file, before a run spends minutes.
pub fn check_output_path(flag: &str, path: &Path) -> anyhow::Result<()> {
    if path.is_dir() || path.as_os_str().is_empty() || path.to_string_lossy().ends_with('/') {
        return Err(crate::error::bad_input(format!(
            "{flag} {}: is a directory, not a file. Give a file name, e.g. {flag} {}.",
            path.display(),
            path.join("junit.xml").display()
        )));
    }
    Ok(())
}

/// The committed rows as the summaries show them: the sql workload's statements write what
/// they write, which the harness does not count.
pub fn rows_committed(r: &Report) -> String {
    match r.scenario.workload.kind.counts_rows() {
        false => format!("not counted ({})", r.scenario.workload.kind.name()),
        true => r.totals.counts.rows_committed.to_string(),
    }
}
