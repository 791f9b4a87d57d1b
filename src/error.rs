//! The harness's own error kinds. Each maps to one documented exit code, and each message
//! is a single paragraph that names the file, setting or service at fault and what to do.

/// Exit codes, documented in the README; CI jobs branch on them.
pub mod exit_code {
    pub const PASS: i32 = 0;
    pub const CHECK_FAILED: i32 = 1;
    pub const BAD_INPUT: i32 = 2;
    pub const ENVIRONMENT: i32 = 3;
    pub const HANG: i32 = 4;
    /// Ended by Ctrl-C (the shell convention 128 + SIGINT).
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A scenario file, flag or env.json the user gave us is wrong (exit 2).
    #[error("{0}")]
    BadInput(String),
    /// A service could not be started or reached, or an extension is missing (exit 3).
    #[error("{0}")]
    Environment(String),
    /// Ctrl-C or SIGTERM arrived before a run could start (exit 130).
    #[error("interrupted (Ctrl-C or SIGTERM) before the run started; everything started so far was stopped")]
    Interrupted,
}

impl HarnessError {
    pub fn exit_code(&self) -> i32 {
        match self {
            HarnessError::BadInput(_) => exit_code::BAD_INPUT,
            HarnessError::Environment(_) => exit_code::ENVIRONMENT,
            HarnessError::Interrupted => exit_code::INTERRUPTED,
        }
    }
}

pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    HarnessError::BadInput(msg.into()).into()
}

pub fn environment(msg: impl Into<String>) -> anyhow::Error {
    HarnessError::Environment(msg.into()).into()
}

/// The exit code for any error that reaches `main`: our own kinds keep theirs, anything
/// else is treated as an environment failure (the harness could not do its job).
pub fn exit_code_of(err: &anyhow::Error) -> i32 {
    err.chain()
        .find_map(|e| e.downcast_ref::<HarnessError>())
        .map(HarnessError::exit_code)
        .unwrap_or(exit_code::ENVIRONMENT)
}
