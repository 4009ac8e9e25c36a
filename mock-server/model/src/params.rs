//! Request parameters as the API sees them: an ordered list of name/value pairs.
//!
//! Order matters for one quirk (hash in request-line order) and for explaining mismatches, so the
//! pairs are kept as sent; lookups follow Rails, where a later duplicate replaces an earlier one.
//!
//! The decoded names and values share one text buffer (pairs are spans of it): a request's
//! parameters cost two allocations however many there are, instead of two per pair. For the
//! usual query string (no `%` escape) the buffer is the query itself, `+` read as a space.

use std::fmt;
use std::ops::Range;

/// One pair: where its name and its value sit in the text buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pair {
    name: (usize, usize),
    value: (usize, usize),
}

impl Pair {
    fn name(&self) -> Range<usize> {
        self.name.0..self.name.1
    }

    fn value(&self) -> Range<usize> {
        self.value.0..self.value.1
    }
}

/// Ordered request parameters. `get` returns the last value sent for a name, as Rails does.
#[derive(Clone, Default)]
pub struct Params {
    /// The decoded names and values (and, for a parsed query, the `=` and `&` between them).
    text: String,
    pairs: Vec<Pair>,
}

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Params::default()
    }

    fn name_of(&self, p: &Pair) -> &str {
        &self.text[p.name()]
    }

    fn value_of(&self, p: &Pair) -> &str {
        &self.text[p.value()]
    }

    /// Whether `p` is named `name`: lengths first, then bytes, with no char-boundary checks
    /// (`get` on a two-pair request: 96 -> 77 instructions per call, callgrind), byte by byte
    /// (names are short: a call to memcmp cost more than the loop, 77 -> 66).
    fn is_named(&self, p: &Pair, name: &str) -> bool {
        let sent = &self.text.as_bytes()[p.name()];
        sent.len() == name.len() && sent.iter().zip(name.as_bytes()).all(|(a, b)| a == b)
    }

    /// Append one pair (a duplicate name is kept; the last one wins on lookup).
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.push_str(&name.into(), &value.into());
    }

    fn push_str(&mut self, name: &str, value: &str) {
        let n0 = self.text.len();
        self.text.push_str(name);
        let v0 = self.text.len();
        self.text.push_str(value);
        self.pairs.push(Pair {
            name: (n0, v0),
            value: (v0, self.text.len()),
        });
    }

    /// Builder form of [`Params::push`].
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.push(name, value);
        self
    }

    /// Set a name to one value: replaces every earlier pair of that name in place.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        let Some(first) = self.position(name) else {
            self.push_str(name, &value);
            return;
        };
        let mut out = Params::new();
        for (i, (n, v)) in self.iter().enumerate() {
            if i == first {
                out.push_str(n, &value);
            } else if n != name {
                out.push_str(n, v);
            }
        }
        *self = out;
    }

    /// Remove every pair of that name.
    pub fn remove(&mut self, name: &str) {
        if self.contains(name) {
            *self = self.iter().filter(|(n, _)| *n != name).collect();
        }
    }

    /// The value sent for `name` (the last one, if sent twice).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|p| self.is_named(p, name))
            .map(|p| self.value_of(p))
    }

    /// Position of the last pair named `name` (the one [`Params::get`] reads).
    pub fn last_position(&self, name: &str) -> Option<usize> {
        self.pairs.iter().rposition(|p| self.is_named(p, name))
    }

    /// Whether `name` was sent at all (even empty).
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// The pairs in the order they were sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs
            .iter()
            .map(|p| (self.name_of(p), self.value_of(p)))
    }

    /// The pair at `index` in sending order.
    pub fn nth(&self, index: usize) -> Option<(&str, &str)> {
        self.pairs
            .get(index)
            .map(|p| (self.name_of(p), self.value_of(p)))
    }

    /// The length of the value of the pair at `index` (0 when there is no such pair).
    pub fn value_len(&self, index: usize) -> usize {
        self.pairs.get(index).map_or(0, |p| p.value().len())
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
        self.pairs.iter().position(|p| self.is_named(p, name))
    }

    /// Append every pair of `other` after ours (so `other` wins on lookup), as Rails merges the
    /// query string over the body.
    pub fn merge_over(&mut self, other: Params) {
        if self.pairs.is_empty() {
            // The usual request (no body): the other's pairs as they are, no copy.
            *self = other;
            return;
        }
        let base = self.text.len();
        self.text.push_str(&other.text);
        self.pairs.extend(other.pairs.iter().map(|p| Pair {
            name: (p.name.0 + base, p.name.1 + base),
            value: (p.value.0 + base, p.value.1 + base),
        }));
    }

    /// The pairs, in the order they were sent (for a consumer that keeps them).
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// Keep the first `len` pairs only.
    pub fn truncate(&mut self, len: usize) {
        self.pairs.truncate(len);
    }

    /// Bytes of text the names and values hold together.
    pub fn text_len(&self) -> usize {
        self.pairs
            .iter()
            .map(|p| p.name().len() + p.value().len())
            .sum()
    }

    /// Bytes the text buffer holds allocated (for checks of what a kept `Params` costs).
    pub fn buffer_capacity(&self) -> usize {
        self.text.capacity()
    }

    /// Release the buffer space no pair uses (after [`Params::truncate`], or a long value
    /// replaced by a short one) when it is more than the pairs hold: a kept `Params` then
    /// holds at most about twice its text. Leaves a buffer without much slack as it is.
    pub fn compact(&mut self) {
        let live = self.text_len();
        if self.text.capacity() <= 2 * live + 256 && self.pairs.capacity() <= 2 * self.len() + 8 {
            return;
        }
        let mut out = Params {
            text: String::with_capacity(live),
            pairs: Vec::with_capacity(self.len()),
        };
        for (n, v) in self.iter() {
            out.push_str(n, v);
        }
        *self = out;
    }

    /// Replace the name of the pair at `index` (in sending order), in place: no allocation
    /// when the new name is not longer. Panics when there is no such pair.
    pub fn replace_name(&mut self, index: usize, name: &str) {
        self.replace_span(index, false, name);
    }

    /// Replace the value of the pair at `index` (in sending order), in place: no allocation
    /// when the new value is not longer. Panics when there is no such pair.
    pub fn replace_value(&mut self, index: usize, value: &str) {
        self.replace_span(index, true, value);
    }

    /// Put `with` in place of pair `index`'s name or value. The spans follow each other in the
    /// text in sending order, name before value (every way of building a `Params` keeps that),
    /// so exactly the spans after this one move.
    fn replace_span(&mut self, index: usize, value: bool, with: &str) {
        let pair = &mut self.pairs[index];
        let at = if value { pair.value } else { pair.name };
        if at.1 == self.text.len() {
            // The last span (a `hash` sent last): no splice.
            self.text.truncate(at.0);
            self.text.push_str(with);
        } else {
            self.text.replace_range(at.0..at.1, with);
        }
        let end = at.0 + with.len();
        let shift = |x: &mut usize| *x = *x - at.1 + end;
        if value {
            pair.value.1 = end;
        } else {
            pair.name.1 = end;
            shift(&mut pair.value.0);
            shift(&mut pair.value.1);
        }
        for p in &mut self.pairs[index + 1..] {
            for x in [&mut p.name.0, &mut p.name.1, &mut p.value.0, &mut p.value.1] {
                shift(x);
            }
        }
    }

    /// `application/x-www-form-urlencoded` text of the pairs, in order.
    pub fn to_query(&self) -> String {
        let mut out = String::new();
        for (i, (n, v)) in self.iter().enumerate() {
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
        match std::str::from_utf8(text) {
            Ok(s) => Params::parse_query_str(s),
            Err(_) => Params::parse_escaped(text),
        }
    }

    /// [`Params::parse_query`] of text known to be UTF-8 (a query string): no UTF-8 check.
    pub fn parse_query_str(s: &str) -> Params {
        if s.is_empty() {
            return Params::new();
        }
        // The pairs are spans between `&` and `=`, and the text, `+` read as a space, is the
        // buffer (two allocations instead of one per name and value; request::parse went from
        // 1,982 to ~700 instructions per request, callgrind). Anything with a `%` is decoded
        // component by component instead. One memchr pass (a vector at a time) finds the few
        // `&`, `+` and `%`, and the `=` is looked for from the start of each pair (names are
        // short): parse_query_str went from 713 to 421 instructions per request, where a match
        // on every byte spent most of them.
        let bytes = s.as_bytes();
        let mut pairs = Vec::with_capacity(4);
        let mut push = |start: usize, end: usize| {
            if end > start {
                let eq = bytes[start..end].iter().position(|&b| b == b'=');
                let (name_end, value_start) = eq.map_or((end, end), |i| (start + i, start + i + 1));
                pairs.push(Pair {
                    name: (start, name_end),
                    value: (value_start, end),
                });
            }
        };
        let (mut start, mut plus) = (0, false);
        for i in memchr::memchr3_iter(b'&', b'+', b'%', bytes) {
            match bytes[i] {
                b'&' => {
                    push(start, i);
                    start = i + 1;
                }
                b'+' => plus = true,
                _ => return Params::parse_escaped(bytes),
            }
        }
        push(start, bytes.len());
        let text = if plus {
            s.replace('+', " ")
        } else {
            s.to_owned()
        };
        Params { text, pairs }
    }

    /// [`Params::parse_query`] of text with percent escapes or invalid UTF-8: each name and
    /// value decoded on its own (an invalid sequence is replaced within its component).
    fn parse_escaped(text: &[u8]) -> Params {
        let mut p = Params::new();
        for part in text.split(|&b| b == b'&') {
            if part.is_empty() {
                continue;
            }
            let (n, v) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &[][..]),
            };
            p.push_str(&form_decode(n), &form_decode(v));
        }
        p
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // As the derived form of the former `Vec<(String, String)>` field printed it.
        let pairs: Vec<(&str, &str)> = self.iter().collect();
        f.debug_struct("Params").field("pairs", &pairs).finish()
    }
}

/// Equal when the same pairs were sent in the same order (however the buffers are laid out).
impl PartialEq for Params {
    fn eq(&self, other: &Params) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Params {}

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

    #[test]
    fn replacing_a_name_or_value_moves_only_what_follows_even_around_empty_ones() {
        let mut p = Params::new()
            .with("", "")
            .with("a", "")
            .with("", "b")
            .with("c", "d");
        p.replace_value(0, "x");
        p.replace_name(1, "");
        p.replace_value(1, "yy");
        p.replace_name(2, "zzz");
        let pairs: Vec<(&str, &str)> = p.iter().collect();
        assert_eq!(pairs, [("", "x"), ("", "yy"), ("zzz", "b"), ("c", "d")]);
        let mut q = Params::parse_query(b"u=admin&hash=abcdef&x");
        q.replace_value(1, "<r>");
        q.replace_name(2, "longer");
        let pairs: Vec<(&str, &str)> = q.iter().collect();
        assert_eq!(pairs, [("u", "admin"), ("hash", "<r>"), ("longer", "")]);
    }

    #[test]
    fn the_same_pairs_are_equal_however_they_were_built() {
        let parsed = Params::parse_query(b"a=1&&b=x+y&c");
        let pushed = Params::new().with("a", "1").with("b", "x y").with("c", "");
        assert_eq!(parsed, pushed);
        assert_eq!(
            format!("{parsed:?}"),
            r#"Params { pairs: [("a", "1"), ("b", "x y"), ("c", "")] }"#
        );
        let mut merged = Params::parse_query(b"a=1");
        merged.merge_over(Params::parse_query(b"b=x+y&c"));
        assert_eq!(merged, pushed);
        assert_ne!(merged, Params::new().with("a", "1").with("b", "x y"));
    }

    /// One edit of a `Params`, applied alike to a plain list of pairs (the model).
    #[derive(Debug, Clone)]
    enum Op {
        Push(String, String),
        Set(String, String),
        Remove(String),
        ReplaceName(usize, String),
        ReplaceValue(usize, String),
        Truncate(usize),
        Merge(String),
        Compact,
    }

    fn op() -> impl Strategy<Value = Op> {
        let name = "[ab]{0,2}";
        let value = "[a-z+%=&é]{0,5}";
        prop_oneof![
            (name, value).prop_map(|(n, v)| Op::Push(n, v)),
            (name, value).prop_map(|(n, v)| Op::Set(n, v)),
            name.prop_map(Op::Remove),
            (0usize..6, name).prop_map(|(i, n)| Op::ReplaceName(i, n)),
            (0usize..6, value).prop_map(|(i, v)| Op::ReplaceValue(i, v)),
            (0usize..6).prop_map(Op::Truncate),
            "[ab=&+x%2é]{0,10}".prop_map(Op::Merge),
            Just(Op::Compact),
        ]
    }

    fn decoded(text: &str) -> Vec<(String, String)> {
        text.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (n, v) = p.split_once('=').unwrap_or((p, ""));
                (form_decode(n.as_bytes()), form_decode(v.as_bytes()))
            })
            .collect()
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
        fn edits_keep_the_pairs_a_plain_list_would_hold(start in "[ab=&+x%2é]{0,12}", ops in proptest::collection::vec(op(), 0..12)) {
            let mut p = Params::parse_query(start.as_bytes());
            let mut model = decoded(&start);
            for op in ops {
                match op {
                    Op::Push(n, v) => {
                        p.push(n.clone(), v.clone());
                        model.push((n, v));
                    }
                    Op::Set(n, v) => {
                        p.set(&n, v.clone());
                        match model.iter().position(|(m, _)| *m == n) {
                            Some(i) => {
                                model[i].1 = v;
                                let mut k = 0;
                                model.retain(|(m, _)| {
                                    k += 1;
                                    *m != n || k - 1 == i
                                });
                            }
                            None => model.push((n, v)),
                        }
                    }
                    Op::Remove(n) => {
                        p.remove(&n);
                        model.retain(|(m, _)| *m != n);
                    }
                    Op::ReplaceName(i, n) if i < model.len() => {
                        p.replace_name(i, &n);
                        model[i].0 = n;
                    }
                    Op::ReplaceValue(i, v) if i < model.len() => {
                        p.replace_value(i, &v);
                        model[i].1 = v;
                    }
                    Op::ReplaceName(..) | Op::ReplaceValue(..) => {}
                    Op::Truncate(n) => {
                        p.truncate(n);
                        model.truncate(n);
                    }
                    Op::Merge(text) => {
                        p.merge_over(Params::parse_query(text.as_bytes()));
                        model.extend(decoded(&text));
                    }
                    Op::Compact => p.compact(),
                }
                let got: Vec<(String, String)> =
                    p.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
                prop_assert_eq!(&got, &model);
                for (n, _) in &model {
                    let last = model.iter().rev().find(|(m, _)| m == n).map(|(_, v)| v.as_str());
                    prop_assert_eq!(p.get(n), last);
                }
            }
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Params::parse_query(&bytes);
        }

        #[test]
        fn parsing_gives_each_component_decoded_on_its_own(bytes in proptest::collection::vec(prop_oneof![Just(b'&'), Just(b'='), Just(b'+'), Just(b'%'), Just(b'4'), Just(b'1'), Just(b'a'), Just(0xc3u8), Just(0xa9u8)], 0..24)) {
            // The former parser, one decoded String per name and value.
            let want: Vec<(String, String)> = bytes
                .split(|&b| b == b'&')
                .filter(|p| !p.is_empty())
                .map(|part| match part.iter().position(|&b| b == b'=') {
                    Some(i) => (form_decode(&part[..i]), form_decode(&part[i + 1..])),
                    None => (form_decode(part), String::new()),
                })
                .collect();
            let got: Vec<(String, String)> = Params::parse_query(&bytes)
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
