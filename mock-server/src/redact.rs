//! What never leaves the mock as sent: credentials (the digest `hash`, the password `p`, and any
//! parameter the catalogue documents as a password or a uniquehash, such as
//! `user_simple_balance_get`'s `id`) are replaced in the journal, the log and the
//! `X-Mor-Mock-Explain` header; values written to the log or a header are escaped, so a raw
//! newline in a parameter cannot forge a log line; journal values are cut to a bound.

use model::catalogue::Method;
use model::sign::HashMismatch;

/// What replaces a credential.
pub const REDACTED: &str = "<redacted>";

/// Whether a parameter is a credential: the rule is the model's, shared with the runner
/// (`model::mask`).
pub use model::mask::is_credential;

/// `text` with every character outside printable ASCII escaped (`\n`, `\u{7f}`, `\\`): one
/// line, safe in a log line and in a header value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\\' || !(c == ' ' || c.is_ascii_graphic()) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` escaped and cut to about `max` bytes, saying how much was cut.
pub fn escape_bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return escape(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}... ({} more bytes)",
        escape(&text[..end]),
        text.len() - end
    )
}

/// A hash mismatch explained without credentials (a password among the hashed values is
/// redacted), escaped to one line: what the log and the explain header show.
pub fn explain_mismatch(method: &Method, mismatch: &HashMismatch) -> String {
    let mut shown = mismatch.clone();
    for part in &mut shown.expected.parts {
        if is_credential(Some(method), &part.name) {
            part.value = REDACTED.to_string();
        }
    }
    escape_bounded(&shown.to_string(), 2048)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::catalogue::{Catalogue, Product};

    #[test]
    fn the_catalogue_marks_passwords_and_uniquehashes_as_credentials() {
        let c = Catalogue::embedded();
        for product in Product::ALL {
            let m = c.method(product, "user_simple_balance_get");
            assert!(is_credential(m, "id"), "{product}");
            let login = c.method(product, "user_login");
            assert!(is_credential(login, "p"));
            assert!(!is_credential(login, "u"));
            assert!(is_credential(None, "hash"));
            let calls = c.method(product, "user_calls_get");
            assert!(!is_credential(calls, "s_user"));
        }
    }

    #[test]
    fn escaping_keeps_one_line() {
        assert_eq!(escape("a\nb\\c\u{7f}é"), "a\\nb\\\\c\\u{7f}\\u{e9}");
        assert_eq!(escape_bounded("abcdef", 3), "abc... (3 more bytes)");
    }
}
