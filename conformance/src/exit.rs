//! Exit codes, mapped in one place (PRODUCT.md principle 7), and the [`Failure`] that carries one
//! out of a command that could not take place.

/// Everything passed.
pub const PASS: i32 = 0;
/// The command line was wrong.
pub const USAGE: i32 = 1;
/// A scenario (or catalogue, target) file is invalid.
pub const INVALID_SCENARIO: i32 = 2;
/// The target could not be reached or the runner failed at run time.
pub const RUNTIME: i32 = 3;
/// At least one check failed.
pub const ASSERTION: i32 = 4;

/// A command that could not take place, with its exit code.
#[derive(Debug)]
pub struct Failure {
    /// Exit code.
    pub code: i32,
    /// Message.
    pub message: String,
}

impl Failure {
    /// A failure with this exit code.
    pub fn new(code: i32, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// The command line was wrong ([`USAGE`]).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(USAGE, message)
    }

    /// A scenario, catalogue or target file is invalid ([`INVALID_SCENARIO`]).
    pub fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(INVALID_SCENARIO, message)
    }

    /// The run failed at run time ([`RUNTIME`]).
    pub fn runtime(message: impl Into<String>) -> Failure {
        Failure::new(RUNTIME, message)
    }
}

/// The exit code of a command: its own, or its failure's after printing the message once.
pub fn finish(result: Result<i32, Failure>) -> i32 {
    match result {
        Ok(code) => code,
        Err(f) => {
            eprintln!("mor-conformance: {}", f.message);
            f.code
        }
    }
}
