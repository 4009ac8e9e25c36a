//! Secrets come from environment variables or files, never from the command line, and never
//! appear in output: this module reads them. How requests and answers are shown
//! ([`shown_param`] for what the runner sends, [`Known`] for what a target answers) is decided
//! in the model (`model::mask`), shared with the mock's proxy, and re-exported here.

use std::path::Path;

pub use model::mask::{
    is_password_param, mask_digests, shown_param, Known, Markers, CREDENTIAL_NAMES, MIN_SEARCHED,
    RECORD, REPORT,
};

use thiserror::Error;

/// Why a secret could not be read.
#[derive(Debug, Error)]
pub enum SecretError {
    /// The environment variable is not set (or not UTF-8).
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The file could not be read.
    #[error("secret file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Read a secret from an environment variable.
pub fn from_env(var: &str) -> Result<String, SecretError> {
    std::env::var(var).map_err(|_| SecretError::MissingEnv(var.to_string()))
}

/// Read a secret from a file (trailing newline removed).
pub fn from_file(path: &Path) -> Result<String, SecretError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
        .map_err(|e| SecretError::File {
            path: path.display().to_string(),
            source: e,
        })
}
