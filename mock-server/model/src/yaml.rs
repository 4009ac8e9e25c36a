//! The one place that calls the YAML parser.
//!
//! `serde_yaml` is deprecated upstream; every YAML file of the project (catalogue, scenarios,
//! profiles) is parsed through [`from_str`] so the parser can be swapped in one place. Errors are
//! turned into [`SourceError`]s that name the file, the line and the field.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::SourceError;

/// Parse `text` (read from `path`) into `T`, locating any error by line and field.
pub fn from_str<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, SourceError> {
    serde_yaml::from_str(text).map_err(|e| locate(&e, path))
}

/// Parse `text` into an untyped YAML value (used to find a field's line).
pub fn value_from_str(text: &str, path: &Path) -> Result<serde_yaml::Value, SourceError> {
    serde_yaml::from_str(text).map_err(|e| locate(&e, path))
}

/// Render a value as YAML (profiles, recordings).
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_yaml::to_string(value).map_err(|e| e.to_string())
}

fn locate(e: &serde_yaml::Error, path: &Path) -> SourceError {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), Some(l.column())))
        .unwrap_or((1, None));
    // serde_yaml renders "field.path: message at line L column C"; split the path off the front
    // and drop the position suffix, which we report in our own form.
    let raw = e.to_string();
    let raw = match raw.rfind(" at line ") {
        Some(i) => raw[..i].to_string(),
        None => raw,
    };
    let (field, message) = split_field(&raw);
    SourceError {
        path: path.display().to_string(),
        line,
        column,
        field,
        message,
    }
}

fn split_field(raw: &str) -> (String, String) {
    // A field path is a run of identifiers, dots and [n] indexes followed by ": ".
    if let Some(i) = raw.find(": ") {
        let head = &raw[..i];
        let looks_like_path = !head.is_empty()
            && head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '-'));
        if looks_like_path {
            return (head.to_string(), raw[i + 2..].to_string());
        }
    }
    (String::new(), raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        items: Vec<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        name: String,
    }

    #[test]
    fn unknown_field_is_reported_with_line_and_field_path() {
        let text = "items:\n  - name: a\n  - nmae: b\n";
        let e = from_str::<Outer>(text, Path::new("s.yaml")).unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(e.field, "items[1]");
        assert!(
            e.message.starts_with("unknown field `nmae`"),
            "{}",
            e.message
        );
        assert!(e.to_string().starts_with("s.yaml:3:"), "{e}");
    }
}
