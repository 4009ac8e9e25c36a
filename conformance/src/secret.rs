//! Secrets come from environment variables or files, never from the command line, and never
//! appear in output: this module reads them and masks them.

use std::path::Path;

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

/// Replace every occurrence of each secret in `text` by `<secret>` (empty secrets are ignored).
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() {
            out = out.replace(s, "<secret>");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_masks_every_occurrence_and_ignores_empty_secrets() {
        assert_eq!(redact("a k1 b k1", &["k1", ""]), "a <secret> b <secret>");
    }
}
