//! The one place that calls the YAML parser.
//!
//! `serde_yaml` is deprecated upstream; every YAML file of the project (catalogue, scenarios,
//! profiles) is parsed through [`from_str`] so the parser can be swapped in one place. Errors are
//! turned into [`SourceError`]s that name the file, the line and the field.
//!
//! Before the parser sees a text, [`check_bounds`] refuses one larger than [`MAX_YAML_BYTES`] or
//! nested deeper than [`MAX_YAML_DEPTH`] in one linear pass: the parser's time grows with the
//! square of the nesting of flow collections (`[[[[...`), so a 400 KB text of brackets would hold
//! a thread for minutes. No file of this project nests more than a dozen levels.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::SourceError;

/// The largest YAML text parsed (a scenario world of a million calls fits).
pub const MAX_YAML_BYTES: usize = 512 * 1024 * 1024;

/// The deepest nesting of collections accepted (block and flow levels together).
pub const MAX_YAML_DEPTH: usize = 64;

/// Parse `text` (read from `path`) into `T`, locating any error by line and field. Texts over
/// the bounds are refused before parsing ([`check_bounds`]).
///
/// A text that is a JSON object (JSON is YAML) is read by the JSON parser first, which streams:
/// a world of a million calls then loads in a fraction of the time and memory the YAML parser
/// needs (it holds every event of the document at once). Whatever the JSON parser refuses goes
/// to the YAML parser, so the answer and its errors are YAML's.
pub fn from_str<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, SourceError> {
    check_bounds(text, path)?;
    if text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{')
    {
        if let Ok(value) = serde_json::from_str(text) {
            return Ok(value);
        }
    }
    serde_yaml::from_str(text).map_err(|e| locate(&e, path))
}

/// Parse `text` into an untyped YAML value (used to find a field's line).
pub fn value_from_str(text: &str, path: &Path) -> Result<serde_yaml::Value, SourceError> {
    check_bounds(text, path)?;
    serde_yaml::from_str(text).map_err(|e| locate(&e, path))
}

/// Refuse a text larger than [`MAX_YAML_BYTES`] or nested deeper than [`MAX_YAML_DEPTH`],
/// in time linear in its length, naming the line where the nesting goes too deep.
///
/// The depth counted is an upper estimate of the parser's: the indentation levels of block
/// lines, the compact `- - -` and `? ` entries starting a line, and the open `[`/`{` of flow
/// collections outside quoted scalars, comments and block scalars (`|`, `>`).
pub fn check_bounds(text: &str, path: &Path) -> Result<(), SourceError> {
    let name = path.display().to_string();
    if text.len() > MAX_YAML_BYTES {
        return Err(SourceError::new(
            &name,
            1,
            "",
            format!(
                "too large: {} bytes, the limit is {MAX_YAML_BYTES}",
                text.len()
            ),
        ));
    }
    match nesting_over(text, MAX_YAML_DEPTH) {
        Some(line) => Err(SourceError::new(
            &name,
            line,
            "",
            format!("nested deeper than {MAX_YAML_DEPTH} levels; refused before parsing"),
        )),
        None => Ok(()),
    }
}

/// The first line (1-based) where the estimated nesting exceeds `max`.
fn nesting_over(text: &str, max: usize) -> Option<usize> {
    #[derive(PartialEq)]
    enum Quote {
        None,
        Single,
        Double,
    }
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut quote = Quote::None;
    // Lines indented more than this belong to a block scalar and are not YAML structure.
    let mut block_scalar: Option<usize> = None;
    for (i, line) in text.split('\n').enumerate() {
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let rest = &bytes[indent..];
        if let Some(parent) = block_scalar {
            if rest.iter().all(u8::is_ascii_whitespace) || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        let mut depth = indents.len();
        let mut j = 0;
        if flow == 0 && quote == Quote::None {
            if rest.is_empty() || rest[0] == b'#' || rest[0] == b'\r' {
                continue;
            }
            while indents.last().is_some_and(|&k| k > indent) {
                indents.pop();
            }
            if indents.last() != Some(&indent) {
                indents.push(indent);
            }
            depth = indents.len();
            // Compact nested entries: `- - - x`, `? - x`.
            while j < rest.len()
                && matches!(rest[j], b'-' | b'?')
                && rest
                    .get(j + 1)
                    .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r'))
            {
                depth += 1;
                j += 1;
                while j < rest.len() && matches!(rest[j], b' ' | b'\t') {
                    j += 1;
                }
            }
        }
        if depth + flow > max {
            return Some(i + 1);
        }
        let mut prev = b' ';
        while j < rest.len() {
            let b = rest[j];
            match quote {
                Quote::Single => {
                    if b == b'\'' {
                        if rest.get(j + 1) == Some(&b'\'') {
                            j += 1;
                        } else {
                            quote = Quote::None;
                        }
                    }
                }
                Quote::Double => match b {
                    b'\\' => j += 1,
                    b'"' => quote = Quote::None,
                    _ => {}
                },
                Quote::None => {
                    let starts_scalar = matches!(prev, b' ' | b'\t' | b'[' | b'{' | b',' | b':');
                    match b {
                        b'#' if matches!(prev, b' ' | b'\t') => break,
                        b'\'' if starts_scalar => quote = Quote::Single,
                        b'"' if starts_scalar => quote = Quote::Double,
                        b'[' | b'{' => {
                            flow += 1;
                            if depth + flow > max {
                                return Some(i + 1);
                            }
                        }
                        b']' | b'}' => flow = flow.saturating_sub(1),
                        b'|' | b'>' if flow == 0 && matches!(prev, b' ' | b'\t') => {
                            // `key: |` and `- >-2`: the lines below are text.
                            let tail = &rest[j + 1..];
                            let header_only = tail.iter().take_while(|&&c| c != b'#').all(|&c| {
                                matches!(c, b'-' | b'+' | b'0'..=b'9' | b' ' | b'\t' | b'\r')
                            });
                            if header_only {
                                block_scalar = Some(indent);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            prev = b;
            j += 1;
        }
    }
    None
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
    let message = without_quoted_input(&message);
    SourceError {
        path: path.display().to_string(),
        line,
        column,
        field,
        message,
    }
}

/// The parser's message without the text it quotes from the input, beyond a field name: a
/// file that is not YAML at all (a key file, a password list) must not be echoed in an error.
/// `invalid type: string "..."` becomes `invalid type: a string`; an unknown field is named only
/// when it looks like a field name.
fn without_quoted_input(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find("string \"") {
        out.push_str(&rest[..i]);
        out.push_str("a string");
        // The quoted text is Debug-escaped: skip to the first unescaped closing quote.
        let quoted = &rest[i + "string \"".len()..];
        let mut end = quoted.len();
        let mut escaped = false;
        for (k, c) in quoted.char_indices() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &quoted[end.min(quoted.len())..];
    }
    out.push_str(rest);
    let field_name = |f: &str| {
        f.len() <= 64
            && f.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    };
    if let Some(after) = out.strip_prefix("unknown field `") {
        if let Some((name, tail)) = after.split_once('`') {
            if !field_name(name) {
                return format!("unknown field (not shown: not a field name){tail}");
            }
        }
    }
    out
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
    fn deep_flow_nesting_is_refused_before_parsing_with_its_line() {
        let text = format!("a: 1\nb: {}", "[".repeat(400_000));
        let e = value_from_str(&text, Path::new("deep.yaml")).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("nested deeper than 64"), "{e}");
        let compact = format!("x:\n  {}1\n", "- ".repeat(200));
        let e = value_from_str(&compact, Path::new("deep.yaml")).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn ordinary_nesting_quotes_comments_and_block_scalars_pass_the_bounds() {
        let text = concat!(
            "a:\n  b:\n    - { c: [1, [2, [3]]], d: 'x [[[[' }\n",
            "    - \"y {{{{ \\\" [[\"  # [[[[[[ a comment\n",
            "  body: |\n    [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n",
            "  it's: fine\n",
        );
        assert_eq!(nesting_over(text, 8), None);
        assert!(value_from_str(text, Path::new("ok.yaml")).is_ok());
        let mut deep = String::new();
        for i in 0..70 {
            deep.push_str(&" ".repeat(i * 2));
            deep.push_str("k:\n");
        }
        assert_eq!(nesting_over(&deep, 64), Some(65));
    }

    #[test]
    fn a_text_that_is_not_yaml_of_ours_is_not_echoed_in_the_error() {
        for text in [
            "root:x:0:0:root:/root:/bin/bash\n",
            "hunter2-Pa55word\n",
            "-----BEGIN KEY-----\nMIIEv hunter2-Pa55word\n",
        ] {
            let e = from_str::<Outer>(text, Path::new("k.txt")).unwrap_err();
            let shown = e.to_string();
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains("root:x"), "{shown}");
            assert!(shown.starts_with("k.txt:"), "{shown}");
        }
    }

    #[test]
    fn a_json_text_is_read_as_yaml_would_and_its_errors_are_yaml_errors() {
        let json = r#"{"items": [{"name": "a"}, {"name": "b"}]}"#;
        let o: Outer = from_str(json, Path::new("j.json")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.items.len(), 2);
        // A YAML flow mapping that is not JSON, and JSON that does not fit the type.
        assert!(from_str::<Outer>("{ items: [ { name: a } ] }", Path::new("f.yaml")).is_ok());
        let e =
            from_str::<Outer>(r#"{"items": [{"nmae": "a"}]}"#, Path::new("j.json")).unwrap_err();
        assert!(e.message.starts_with("unknown field `nmae`"), "{e}");
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
