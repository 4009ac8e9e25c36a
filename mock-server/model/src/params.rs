//! Request parameters as the API sees them: an ordered list of name/value pairs.
//!
//! Order matters for one quirk (hash in request-line order) and for explaining mismatches, so the
//! pairs are kept as sent; lookups follow Rails, where a later duplicate replaces an earlier one.

use std::fmt;

/// Ordered request parameters. `get` returns the last value sent for a name, as Rails does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Params::default()
    }

    /// Append one pair (a duplicate name is kept; the last one wins on lookup).
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((name.into(), value.into()));
    }

    /// Builder form of [`Params::push`].
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.push(name, value);
        self
    }

    /// Set a name to one value: replaces every earlier pair of that name in place.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.pairs.iter().position(|(n, _)| n == name) {
            Some(i) => {
                self.pairs[i].1 = value;
                let mut seen = false;
                self.pairs.retain(|(n, _)| {
                    if n != name {
                        return true;
                    }
                    let keep = !seen;
                    seen = true;
                    keep
                });
            }
            None => self.pairs.push((name.to_string(), value)),
        }
    }

    /// Remove every pair of that name.
    pub fn remove(&mut self, name: &str) {
        self.pairs.retain(|(n, _)| n != name);
    }

    /// The value sent for `name` (the last one, if sent twice).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` was sent at all (even empty).
    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    /// The pairs in the order they were sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether no pair was sent.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Position of the first pair named `name` (request-line order).
    pub fn position(&self, name: &str) -> Option<usize> {
        self.pairs.iter().position(|(n, _)| n == name)
    }

    /// Append every pair of `other` after ours (so `other` wins on lookup), as Rails merges the
    /// query string over the body.
    pub fn merge_over(&mut self, other: Params) {
        if self.pairs.is_empty() {
            // The usual request (no body): the other's pairs as they are, no copy.
            self.pairs = other.pairs;
        } else {
            self.pairs.extend(other.pairs);
        }
    }

    /// The pairs, in the order they were sent (for a consumer that keeps them).
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.pairs
    }

    /// `application/x-www-form-urlencoded` text of the pairs, in order.
    pub fn to_query(&self) -> String {
        let mut out = String::new();
        for (i, (n, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(&form_encode(n));
            out.push('=');
            out.push_str(&form_encode(v));
        }
        out
    }

    /// Parse `application/x-www-form-urlencoded` text (a query string or a form body). Never
    /// fails: invalid percent escapes are kept literally and invalid UTF-8 is replaced, as a
    /// lenient server would.
    pub fn parse_query(text: &[u8]) -> Params {
        let mut p = Params::new();
        for part in text.split(|&b| b == b'&') {
            if part.is_empty() {
                continue;
            }
            let (n, v) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &[][..]),
            };
            p.push(form_decode(n), form_decode(v));
        }
        p
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_query())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut p = Params::new();
        for (k, v) in iter {
            p.push(k, v);
        }
        p
    }
}

/// Percent-encode for a form or query value: unreserved characters stay, space becomes `+`.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Decode a form or query component: `+` is a space, `%XX` a byte; bad escapes stay literal.
pub fn form_decode(s: &[u8]) -> String {
    if !s.iter().any(|&b| b == b'+' || b == b'%') {
        // Nothing to decode (the usual name and value): one copy.
        return match std::str::from_utf8(s) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(s).into_owned(),
        };
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len() => match (hex_val(s[i + 1]), hex_val(s[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    // Valid UTF-8 (the usual case) keeps its buffer; only invalid bytes cost a copy.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_last_duplicate_wins_as_in_rails() {
        let p = Params::parse_query(b"a=1&b=2&a=3");
        assert_eq!(p.get("a"), Some("3"));
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn plus_and_percent_twenty_both_decode_to_a_space() {
        let p = Params::parse_query(b"n=a+b&m=a%20b&bad=%zz%4");
        assert_eq!(p.get("n"), Some("a b"));
        assert_eq!(p.get("m"), Some("a b"));
        assert_eq!(p.get("bad"), Some("%zz%4"));
    }

    #[test]
    fn invalid_utf8_decodes_to_replacement_characters_escaped_or_not() {
        assert_eq!(form_decode(b"a\xffb"), "a\u{FFFD}b");
        assert_eq!(form_decode(b"a%FFb"), "a\u{FFFD}b");
        assert_eq!(form_decode(b"a\xff+b"), "a\u{FFFD} b");
        assert_eq!(form_decode(b"plain-text_1.2"), "plain-text_1.2");
    }

    #[test]
    fn a_name_without_value_is_present_and_empty() {
        let p = Params::parse_query(b"a&b=");
        assert!(p.contains("a"));
        assert_eq!(p.get("a"), Some(""));
        assert_eq!(p.get("b"), Some(""));
    }

    proptest! {
        // No regression files: the seed is fixed (.cargo/config.toml), so a failure replays on
        // every run anyway, and no outcome depends on a file an earlier run left behind.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn encode_then_parse_is_identity(pairs in proptest::collection::vec(("[a-z_]{1,8}", ".{0,12}"), 0..6)) {
            let p: Params = pairs.iter().cloned().collect();
            let q = Params::parse_query(p.to_query().as_bytes());
            prop_assert_eq!(p, q);
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Params::parse_query(&bytes);
        }
    }
}
