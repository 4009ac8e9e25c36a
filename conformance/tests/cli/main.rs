//! The integration tests of `mor-conformance`, one binary: each module covers a subcommand,
//! running the real executable.

mod diff;
mod hash;
mod hostile;
mod probe;
mod props;
mod record;
mod run;
mod schema;
mod suite;
mod suite_run;

use std::process::{Command, Output};

/// Run `mor-conformance` with these arguments and extra environment.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mor-conformance"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("mor-conformance runs")
}
