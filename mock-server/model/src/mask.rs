//! What of an answer or a request may be shown: the one place both binaries decide it. The
//! runner masks a target's answers with it value by value as it reads them (reports,
//! recordings), and the mock's proxy masks what it records with the same rules, so a credential
//! element, a digest or a known secret is left out the same way everywhere.
//!
//! Values are known to be secret by their name (a credential element or parameter) or because
//! they hold a known secret or a digest; text is never searched after rendering.

use crate::catalogue::Method;
use crate::xml::{Element, Node};

/// The shortest secret searched for inside an answer's values. A shorter one cannot be told
/// from ordinary text: the mock's own test secret is the word `secret`, the default world's
/// passwords equal usernames (`user1`, `admin`), and a one-character secret such as `<` is in
/// every answer. Searching those would mask real names and words (and did: "balance of
/// <secret>"), so they are masked only where they are known to be (a request's parameters, a
/// credential element) and through their digests, which are always searched.
pub const MIN_SEARCHED: usize = 8;

/// Element and attribute names whose values are credentials, in any answer: never shown.
pub const CREDENTIAL_NAMES: [&str; 10] = [
    "hash",
    "uniquehash",
    "api_secret",
    "secret",
    "device_secret",
    "password",
    "p",
    "token",
    "api_key",
    "session",
];

/// Whether parameter `name` of `method` (when known) is a credential: any of
/// [`CREDENTIAL_NAMES`], and any parameter the catalogue documents as a password, a uniquehash
/// or a secret (such as `user_simple_balance_get`'s `id`).
pub fn is_credential(method: Option<&Method>, name: &str) -> bool {
    if CREDENTIAL_NAMES
        .iter()
        .any(|a| a.eq_ignore_ascii_case(name))
    {
        return true;
    }
    method
        .and_then(|m| m.params.iter().find(|p| p.name == name))
        .is_some_and(|p| p.credential)
}

/// Request parameters that carry a password (the catalogue's `p`, and any parameter named as a
/// credential): shown as `<password>`, never as their value.
pub fn is_password_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n != "hash" && CREDENTIAL_NAMES.contains(&n.as_str())
}

/// How a request parameter is shown in reports, curl lines and request lines: the digest as
/// `<redacted>`, a password as `<password>`, anything else as sent. The value is known to be
/// secret from its name, never found by searching text.
pub fn shown_param<'a>(name: &str, value: &'a str) -> std::borrow::Cow<'a, str> {
    if name.eq_ignore_ascii_case("hash") {
        "<redacted>".into()
    } else if is_password_param(name) {
        "<password>".into()
    } else {
        value.into()
    }
}

/// The markers a mask writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Markers {
    /// A credential element's value.
    pub credential: &'static str,
    /// A 40-hex digest.
    pub digest: &'static str,
    /// A value holding a known secret.
    pub secret: &'static str,
}

/// Markers of reports (terminal, JUnit, JSON, HTML, profiles).
pub const REPORT: Markers = Markers {
    credential: "<redacted>",
    digest: "<redacted>",
    secret: "<secret>",
};

/// Markers of recordings (`.snap` files).
pub const RECORD: Markers = Markers {
    credential: "[redacted]",
    digest: "[hash]",
    secret: "[secret]",
};

/// The secrets a command knows (API secrets, passwords, device secrets), and how answers are
/// masked with them. The one place that decides what of a target's answer is shown: every
/// command reads its answers through [`Known::reading`] or [`Known::element`] /
/// [`Known::text`], value by value, before anything is rendered.
#[derive(Clone, Default)]
pub struct Known {
    /// Forms searched inside values: long secrets raw, XML-escaped and URL-encoded, and the
    /// SHA-1 of every secret (hex, both cases).
    forms: Vec<String>,
    /// Values shown even when they hold a secret (usernames).
    shown: Vec<String>,
    /// The length of the shortest form: a shorter value holds none (most values: numbers,
    /// names), so it is not searched.
    shortest: usize,
    /// Every form at once (None when there is none): one pass over a value finds any.
    finder: Option<aho_corasick::AhoCorasick>,
}

impl std::fmt::Debug for Known {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Known({} forms)", self.forms.len())
    }
}

impl Known {
    /// Known secrets (empty ones ignored) and the usernames that stay shown.
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Known {
        let mut forms = Vec::new();
        for s in secrets {
            let s = s.as_ref();
            if s.is_empty() {
                continue;
            }
            let digest = crate::sign::sha1_hex(s);
            forms.push(digest.to_ascii_uppercase());
            forms.push(digest);
            if s.chars().count() >= MIN_SEARCHED {
                forms.push(s.to_string());
                forms.push(xml_escape(s));
                forms.push(crate::params::form_encode(s));
                forms.push(s.replace(' ', "%20"));
            }
        }
        let mut known = Known {
            forms,
            ..Known::default()
        };
        known.index();
        known
    }

    /// Sort and deduplicate the forms, and build what searches them.
    fn index(&mut self) {
        self.forms.sort();
        self.forms.dedup();
        self.shortest = shortest(&self.forms);
        // Building fails only past the automaton's size limits, far beyond a few secrets' forms;
        // were it to, every value would be searched form by form instead.
        // A contiguous NFA: built in microseconds (every scenario's mock and every command
        // builds one), and searched about as fast as a DFA for a few dozen forms.
        self.finder = (!self.forms.is_empty())
            .then(|| {
                aho_corasick::AhoCorasick::builder()
                    .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                    .build(&self.forms)
                    .ok()
            })
            .flatten();
    }

    /// The same, with these usernames always shown as they are.
    pub fn with_usernames<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Known {
        self.shown
            .extend(names.into_iter().map(|n| n.as_ref().to_string()));
        self
    }

    /// Add the secrets of another set (an in-process mock's own).
    pub fn extend(&mut self, other: &Known) {
        self.forms.extend(other.forms.iter().cloned());
        self.index();
        self.shown.extend(other.shown.iter().cloned());
    }

    /// Whether a value holds a known secret (or its digest).
    pub fn holds_secret(&self, value: &str) -> bool {
        value.len() >= self.shortest
            && !self.shown.iter().any(|u| u == value.trim())
            && match &self.finder {
                Some(f) => f.is_match(value),
                None => self.forms.iter().any(|f| value.contains(f.as_str())),
            }
    }

    /// One value of an answer, named by its element or attribute: a credential's value, a
    /// value holding a known secret, and every 40-hex digest in it are masked.
    pub fn value(&self, name: &str, value: &str, m: Markers) -> String {
        self.masked(name, value, m)
            .unwrap_or_else(|| value.to_string())
    }

    /// What [`Known::value`] shows for a value, or None when it is shown as it is (most values:
    /// nothing is allocated for them).
    pub fn masked(&self, name: &str, value: &str, m: Markers) -> Option<String> {
        if value.trim().is_empty() {
            return None;
        }
        if CREDENTIAL_NAMES
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
        {
            return Some(m.credential.into());
        }
        if self.holds_secret(value) {
            return Some(m.secret.into());
        }
        next_digest(value.as_bytes(), 0).map(|_| mask_digests(value, m.digest))
    }

    /// A copy of an element with every value masked ([`Known::value`]).
    pub fn element(&self, el: &Element, m: Markers) -> Element {
        Element {
            name: el.name.clone(),
            attrs: el
                .attrs
                .iter()
                .map(|(k, v)| (k.clone(), self.value(k, v, m)))
                .collect(),
            children: el
                .children
                .iter()
                .map(|n| match n {
                    Node::Element(c) => Node::Element(self.element(c, m)),
                    Node::Text(t) => Node::Text(self.value(&el.name, t, m)),
                })
                .collect(),
        }
    }

    /// Mask an element's values where it stands ([`Known::value`]); whether any changed.
    pub fn mask_in_place(&self, el: &mut Element, m: Markers) -> bool {
        let mut changed = false;
        for (k, v) in &mut el.attrs {
            if let Some(shown) = self.masked(k, v, m).filter(|s| s != v) {
                *v = shown;
                changed = true;
            }
        }
        for child in &mut el.children {
            match child {
                Node::Element(c) => changed |= self.mask_in_place(c, m),
                Node::Text(t) => {
                    if let Some(shown) = self.masked(&el.name, t, m).filter(|s| s != t) {
                        *t = shown;
                        changed = true;
                    }
                }
            }
        }
        changed
    }

    /// A text that is not XML (or not well-formed), masked as one value.
    pub fn text(&self, text: &str, m: Markers) -> String {
        self.value("", text, m)
    }

    /// A message the runner made from something it cannot parse (a transport error, a
    /// target's text): masked as one value.
    pub fn message(&self, text: &str) -> String {
        self.text(text, REPORT)
    }
}

/// The length of the shortest form (`usize::MAX` when there is none: nothing is searched).
fn shortest(forms: &[String]) -> usize {
    forms.iter().map(String::len).min().unwrap_or(usize::MAX)
}

/// `s` with `&`, `<`, `>`, `"` and `'` escaped as XML writes them.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A value with every run of exactly 40 hex digits (a SHA-1 digest) replaced by `marker`.
pub fn mask_digests(value: &str, marker: &str) -> String {
    let b = value.as_bytes();
    let mut out = String::with_capacity(value.len());
    let mut last = 0;
    let mut from = 0;
    while let Some((i, j)) = next_digest(b, from) {
        out.push_str(&value[last..i]);
        out.push_str(marker);
        last = j;
        from = j;
    }
    out.push_str(&value[last..]);
    out
}

/// The first run of exactly 40 hex digits at or after `from`, standing alone (no letter or digit
/// on either side), as its start and end.
fn next_digest(b: &[u8], from: usize) -> Option<(usize, usize)> {
    if b.len() < 40 {
        return None;
    }
    let mut i = from;
    while i < b.len() {
        if b[i].is_ascii_hexdigit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_hexdigit() {
                j += 1;
            }
            if j - i == 40 && (j == b.len() || !b[j].is_ascii_alphanumeric()) {
                return Some((i, j));
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secrets_and_usernames_stay_long_ones_and_digests_go() {
        let k = Known::new(["user1", "<", "0123456789abcdefghij", ""]).with_usernames(["user1"]);
        assert_eq!(k.value("username", "user1", REPORT), "user1");
        assert_eq!(k.value("note", "a < b", REPORT), "a < b");
        assert_eq!(
            k.value("note", "x0123456789abcdefghijx", REPORT),
            "<secret>"
        );
        let digest = crate::sign::sha1_hex("<");
        assert_eq!(k.value("note", &format!("d={digest}"), REPORT), "<secret>");
        let other = crate::sign::sha1_hex("other");
        assert_eq!(k.value("note", &format!("d={other}."), RECORD), "d=[hash].");
        assert_eq!(k.value("uniquehash", "abc", RECORD), "[redacted]");
        assert_eq!(k.value("balance", "10.5", REPORT), "10.5");
    }

    #[test]
    fn escaped_and_encoded_forms_of_a_long_secret_are_found() {
        let k = Known::new(["a<b&c d\"e'f"]);
        assert_eq!(
            k.value("x", "a&lt;b&amp;c d&quot;e&apos;f", REPORT),
            "<secret>"
        );
        assert_eq!(k.value("x", "q=a%3Cb%26c+d%22e%27f", REPORT), "<secret>");
        assert_eq!(k.value("x", "a<b&c d\"e'f", REPORT), "<secret>");
    }

    #[test]
    fn parameters_are_shown_by_name() {
        assert_eq!(shown_param("hash", "abc"), "<redacted>");
        assert_eq!(shown_param("p", "user1"), "<password>");
        assert_eq!(shown_param("u", "user1"), "user1");
        assert_eq!(shown_param("username", "user1"), "user1");
    }

    #[test]
    fn digests_are_masked_but_other_hex_is_kept() {
        let d = "a".repeat(40);
        assert_eq!(
            mask_digests(&format!("h={d}&x=abc123 {d}x"), "<redacted>"),
            format!("h=<redacted>&x=abc123 {d}x")
        );
    }
}
