//! The `mor-conformance` command line: a thin layer over the library, with exit codes mapped in
//! one place (see `exit`).

use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};
use conformance::{capture, diff, exit, hash, methods, probe, props, run};
use mock_server::cli_docs;

/// The allocator (see the README's props row: it pays per request).
#[global_allocator]
static ALLOCATOR: mor_alloc::MiMalloc = mor_alloc::MiMalloc;

/// Check a Kolmisoft MOR / M2 / M4 API endpoint against the scenario suite.
#[derive(Debug, Parser)]
#[command(name = "mor-conformance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print a method's hash string (secret masked) and its digest on the last line.
    Hash(hash::HashArgs),
    /// Print the JSON Schema of the scenario format.
    Schema,
    /// List the API's methods, or one in full: parameters, hash order, who may call, answer and
    /// errors.
    Methods(methods::MethodsArgs),
    /// Run scenarios against a target (or an in-process mock per scenario) and report.
    Run(Box<run::RunArgs>),
    /// Generated signature properties (proptest) against a target or the in-process mock.
    Props(Box<props::PropsArgs>),
    /// Fingerprint a deployment: tell its quirk positions and settings apart with a few signed
    /// read-only requests and write a profile the mock can load (`mor-mock --scenario`).
    Probe(Box<probe::ProbeArgs>),
    /// Send the same signed requests to two deployments and report every difference in their
    /// answers (canonical XML), ignoring volatile values.
    Diff(Box<diff::DiffArgs>),
    /// Read a deployment's users, devices, tariffs, currencies and a period's calls and payments
    /// (read-only, rate-limited) and write them as a world `mor-mock --scenario` serves.
    Capture(Box<capture::CaptureArgs>),
    /// Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell):
    /// `mor-conformance completions bash > /etc/bash_completion.d/mor-conformance`.
    Completions {
        /// The shell.
        #[arg(value_name = "SHELL")]
        shell: cli_docs::Shell,
    },
    /// Print the man page (roff), or write one page per command into a folder:
    /// `mor-conformance man --out-dir man/man1` (mor-conformance.1, mor-conformance-run.1, ...).
    Man {
        /// Write mor-conformance.1 and a page per subcommand here instead of printing.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::PASS
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let code = match cli.command {
        Command::Hash(args) => match hash::run(&args) {
            Ok(text) => {
                conformance::out!("{text}");
                exit::PASS
            }
            Err(f) => {
                eprintln!("mor-conformance: {}", f.message);
                f.code
            }
        },
        Command::Methods(args) => match methods::run(&args) {
            Ok(text) => {
                use std::io::Write as _;
                // A closed pipe (`| head`) ends the output quietly.
                let _ = std::io::stdout().write_all(text.as_bytes());
                exit::PASS
            }
            Err(f) => {
                eprintln!("mor-conformance: {}", f.message);
                f.code
            }
        },
        Command::Run(args) => run::run(*args),
        Command::Props(args) => props::run(*args),
        Command::Probe(args) => probe::run(*args),
        Command::Diff(args) => diff::run(*args),
        Command::Capture(args) => capture::run(*args),
        Command::Completions { shell } => {
            // A closed pipe (`| head`) ends the output quietly.
            let _ = cli_docs::completions(shell, &mut Cli::command(), &mut std::io::stdout());
            exit::PASS
        }
        Command::Man { out_dir: None } => {
            let _ = cli_docs::man_page(Cli::command(), &mut std::io::stdout());
            exit::PASS
        }
        Command::Man { out_dir: Some(dir) } => match cli_docs::man_pages(Cli::command(), &dir) {
            Ok(files) => {
                for f in files {
                    conformance::outln!("{}", f.display());
                }
                exit::PASS
            }
            Err(e) => {
                eprintln!(
                    "mor-conformance: cannot write man pages into {}: {e}",
                    dir.display()
                );
                exit::RUNTIME
            }
        },
        Command::Schema => {
            let schema = model::scenario::json_schema();
            match serde_json::to_string_pretty(&schema) {
                Ok(s) => {
                    conformance::outln!("{s}");
                    exit::PASS
                }
                Err(e) => {
                    eprintln!("mor-conformance: cannot render the schema: {e}");
                    exit::RUNTIME
                }
            }
        }
    };
    std::process::exit(code);
}
