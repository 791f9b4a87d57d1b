use clap::Parser;
use ducklake_stress::{cli::Cli, commands, error};

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    ducklake_stress::benchmark::interrupt::install();
    let code = match commands::dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            error::exit_code_of(&e)
        }
    };
    std::process::exit(code);
}
