use clap::Parser;
use ducklake_stress::{cli::Cli, commands, error};

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    ducklake_stress::util::interrupt::install();
    let code = match commands::dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            error::exit_code_of(&e)
        }
    };
    // Leave without running C/C++ exit handlers. A DuckDB instance whose DuckLake commit
    // failed is never fully destroyed (its catalog session stays open: see the README), and
    // its background threads crashed the process during global destruction in CI
    // ("exit -1" after the report was already written). Everything of ours is flushed
    // and torn down by now.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: _exit only ends the process; nothing runs after it.
    unsafe { nix::libc::_exit(code) }
}
