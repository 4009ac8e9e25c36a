//! Errors of the loaders: every one names the file, the line and the field at fault.

use std::fmt;

use thiserror::Error;

/// A defect in a source file (scenario, catalogue), located by file, line and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The file as the user named it.
    pub path: String,
    /// 1-based line of the fault (1 when the parser gave none).
    pub line: usize,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The dotted path of the field at fault (`cases[0].request.method`), empty when unknown.
    pub field: String,
    /// What is wrong, as a lowercase fragment.
    pub message: String,
}

impl SourceError {
    /// A located error.
    pub fn new(path: &str, line: usize, field: &str, message: impl Into<String>) -> Self {
        SourceError {
            path: path.to_string(),
            line,
            column: None,
            field: field.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.path, self.line)?;
        if let Some(c) = self.column {
            write!(f, "{c}:")?;
        }
        if self.field.is_empty() {
            write!(f, " {}", self.message)
        } else {
            write!(f, " {}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for SourceError {}

/// Why a file could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file was read but its content is wrong.
    #[error("{0}")]
    Source(#[from] SourceError),
}

impl LoadError {
    /// The located source error, if this is one.
    pub fn source_error(&self) -> Option<&SourceError> {
        match self {
            LoadError::Source(s) => Some(s),
            LoadError::Io { .. } => None,
        }
    }
}
