//! Writing a report in each format, one file per format behind one trait, always
//! atomically (temp file + rename) so a reader never sees half a report.

pub mod console;
pub mod json;
pub mod markdown;

use crate::report::Report;
use std::io::Write;
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
        write_atomically(&dir.join(e.file_name()), &e.render(report)?)?;
    }
    Ok(())
}

pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomically_with_mode(path, bytes, 0o644)
}

pub fn write_atomically_with_mode(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("out"), std::process::id()));
    {
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}
