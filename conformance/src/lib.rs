//! `mor-conformance`: checks any MOR / M2 / M4 API endpoint against the scenario suite,
//! generated signature properties and XML snapshots, and reports like a CI tool.
//!
//! The flow of `run`: `plan` (load and select scenarios) -> `client` (sign from the catalogue
//! and send) -> `check` (exact, structural, invariant, protocol and policy checks) -> `report`
//! (terminal, JUnit, JSON). `hash` and `schema` expose the shared model directly.

/// `println!` that ends quietly when stdout is closed (`| head`): the write error is ignored, as
/// a command's output has nowhere left to go (the exit code still tells the result).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` that ends quietly when stdout is closed (see [`outln!`]).
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

pub mod capture;
pub mod check;
pub mod client;
pub mod diff;
pub mod discover;
pub mod exit;
pub mod flags;
pub mod hash;
pub mod html;
pub mod inproc;
pub mod methods;
pub mod plan;
pub mod probe;
pub mod props;
pub mod record;
pub mod report;
pub mod run;
pub mod secret;
pub mod target;

pub use model;
