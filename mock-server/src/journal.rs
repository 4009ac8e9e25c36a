//! The request journal: a bounded ring of the last requests and a count per method and outcome,
//! read through `/__admin/journal` and `/__admin/counts` for `verify`-style assertions (as
//! wiremock's `received_requests`). Written once per request at the end of the flow, after
//! `render`; credentials never enter it (`hash`, `p` and what the catalogue documents as a
//! password or uniquehash are redacted, see `redact`). Bounded in entries and in bytes: each
//! value is cut to [`MAX_VALUE`], each entry keeps [`MAX_PARAMS`] parameters, and the oldest
//! entries go once the whole passes [`JOURNAL_MAX_BYTES`].

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Mutex;

use model::catalogue::{Method, MethodName};
use model::params::Params;
use serde::ser::SerializeStruct;
use serde::Serialize;

use crate::redact::is_credential;
pub use crate::redact::REDACTED;
use crate::router::API_PREFIX;

/// How many entries the journal keeps; older ones are dropped.
pub const JOURNAL_CAPACITY: usize = 1000;

/// How many bytes of text the kept entries may hold together; older ones are dropped.
pub const JOURNAL_MAX_BYTES: usize = 4 * 1024 * 1024;

/// The longest value (path, caller, parameter name or value) kept whole; longer ones are cut.
pub const MAX_VALUE: usize = 1024;

/// The most parameters kept per entry; the rest are counted in a last `...` pair.
pub const MAX_PARAMS: usize = 64;
// `Entry::redact_owned` marks the kept pairs in a u64.
const _: () = assert!(MAX_PARAMS <= 64);

/// `text` cut to [`MAX_VALUE`] bytes, saying how much was cut.
pub fn cut(text: &str) -> String {
    let mut s = text.to_string();
    cut_in_place(&mut s);
    s
}

/// [`cut`] without a copy: a value within the bound is left as it is.
pub fn cut_in_place(text: &mut String) {
    if text.len() <= MAX_VALUE {
        return;
    }
    let mut end = MAX_VALUE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let more = text.len() - end;
    text.truncate(end);
    let _ = write!(text, "... ({more} more bytes)");
}

/// The journal's text of an HTTP verb (the usual ones without an allocation).
pub fn verb_text(verb: &http::Method) -> Cow<'static, str> {
    match *verb {
        http::Method::GET => Cow::Borrowed("GET"),
        http::Method::POST => Cow::Borrowed("POST"),
        http::Method::PUT => Cow::Borrowed("PUT"),
        http::Method::DELETE => Cow::Borrowed("DELETE"),
        http::Method::PATCH => Cow::Borrowed("PATCH"),
        http::Method::HEAD => Cow::Borrowed("HEAD"),
        http::Method::OPTIONS => Cow::Borrowed("OPTIONS"),
        _ => Cow::Owned(verb.as_str().to_string()),
    }
}

/// Where an entry keeps its caller `u` (the request's last `u`, as sent: never redacted).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Caller {
    /// No `u` was sent.
    #[default]
    None,
    /// The value of the kept parameter at this position, which is the `u` as sent (cut like
    /// any value): no copy of its own (saves an allocation and its free per request).
    Param(usize),
    /// A copy: a `u` not among the kept parameters, or redacted there by its method.
    Text(String),
}

impl From<Option<String>> for Caller {
    fn from(u: Option<String>) -> Caller {
        u.map_or(Caller::None, Caller::Text)
    }
}

/// Where an entry keeps its request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryPath {
    /// [`API_PREFIX`] and the entry's method name, which is what the request's path was (the
    /// usual request): no copy of its own (saves an allocation, a copy and a free per request,
    /// ~100 instructions, callgrind).
    OfMethod,
    /// The path as sent (cut like any value).
    Text(String),
}

impl EntryPath {
    /// How an entry for `method` keeps `path`.
    pub fn new(path: &str, method: Option<&MethodName>) -> EntryPath {
        match method {
            Some(m) if path.strip_prefix(API_PREFIX) == Some(m.as_str()) => EntryPath::OfMethod,
            _ => EntryPath::Text(path.to_string()),
        }
    }
}

/// One request as the journal keeps it (in JSON, `u` is the caller's text or null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Unix milliseconds (real time): when the API flow took the request (the clock reading
    /// dispatch uses too, unless an overlay delay came between), or when the edge answered it
    /// otherwise.
    pub time_ms: u128,
    /// HTTP verb as sent.
    pub verb: Cow<'static, str>,
    /// Request path (without the query string): read it with [`Entry::path`].
    pub path: EntryPath,
    /// Canonical method name, when the path named one.
    pub method: Option<MethodName>,
    /// The caller `u`, when sent.
    pub u: Caller,
    /// Merged parameters in request order, `hash` and `p` redacted (a list of `[name, value]`
    /// pairs in JSON). Kept as the request's own buffer: two allocations per entry, however
    /// many parameters.
    pub params: Params,
    /// `ok`, the error text answered, or what the overlay did (`canned`, `fault:http_status`).
    pub outcome: Cow<'static, str>,
    /// HTTP status answered (0 when the connection was closed without an answer).
    pub status: u16,
    /// What a success not computed by the mock was answered from: `documented sample (SOURCE)`
    /// for a method catalogued only, or the sample's shape. Absent when computed.
    pub answer: Option<String>,
}

impl Serialize for Entry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut e = s.serialize_struct("Entry", 9)?;
        e.serialize_field("time_ms", &self.time_ms)?;
        e.serialize_field("verb", &self.verb)?;
        e.serialize_field("path", &self.path())?;
        e.serialize_field("method", &self.method)?;
        e.serialize_field("u", &self.u())?;
        e.serialize_field("params", &PairList(&self.params))?;
        e.serialize_field("outcome", &self.outcome)?;
        e.serialize_field("status", &self.status)?;
        if let Some(answer) = &self.answer {
            e.serialize_field("answer", answer)?;
        }
        e.end()
    }
}

impl Entry {
    /// The parameters as the journal keeps them: in order, credentials of `method` (when
    /// known) redacted, values cut, at most [`MAX_PARAMS`].
    pub fn redact(params: &Params, method: Option<&Method>) -> Params {
        let mut out: Params = params
            .iter()
            .take(MAX_PARAMS)
            .map(|(n, v)| {
                let v = if is_credential(method, n) {
                    REDACTED.to_string()
                } else {
                    cut(v)
                };
                (cut(n), v)
            })
            .collect();
        if params.len() > MAX_PARAMS {
            out.push(
                "...",
                format!("{} more parameters", params.len() - MAX_PARAMS),
            );
        }
        out
    }

    /// The request path (without the query string; cut to [`MAX_VALUE`] once recorded).
    pub fn path(&self) -> Cow<'_, str> {
        match (&self.path, &self.method) {
            (EntryPath::Text(path), _) => Cow::Borrowed(path),
            (EntryPath::OfMethod, m) => Cow::Owned(format!(
                "{API_PREFIX}{}",
                m.as_ref().map_or("", MethodName::as_str)
            )),
        }
    }

    /// The length of [`Entry::path`].
    fn path_len(&self) -> usize {
        match (&self.path, &self.method) {
            (EntryPath::Text(path), _) => path.len(),
            (EntryPath::OfMethod, m) => API_PREFIX.len() + m.as_ref().map_or(0, |m| m.len()),
        }
    }

    /// The caller `u`, when sent (cut to [`MAX_VALUE`] once recorded).
    pub fn u(&self) -> Option<&str> {
        match &self.u {
            Caller::None => None,
            Caller::Param(i) => self.params.nth(*i).map(|(_, v)| v),
            Caller::Text(u) => Some(u),
        }
    }

    /// [`Entry::redact`] of parameters the request no longer needs: their buffer is kept, a
    /// credential overwritten and a long name or value cut in place (no copy).
    pub fn redact_owned(params: Params, method: Option<&Method>) -> Params {
        Entry::redact_request(params, method).0
    }

    /// [`Entry::redact_owned`], and where the kept entry finds its caller: the request's last
    /// `u` as sent, among the kept parameters when it is there unredacted, else a copy.
    pub fn redact_request(mut params: Params, method: Option<&Method>) -> (Params, Caller) {
        let caller = Entry::redact_in_place(&mut params, method);
        (params, caller)
    }

    /// [`Entry::redact_request`] of parameters where they are (not moved in and out: the
    /// journal entry of `server::api`, 690 -> 657 instructions per request, callgrind).
    pub fn redact_in_place(params: &mut Params, method: Option<&Method>) -> Caller {
        let mut caller = match params.last_position("u") {
            None => Caller::None,
            Some(i) if i < MAX_PARAMS => Caller::Param(i),
            Some(i) => Caller::Text(params.nth(i).map_or_else(String::new, |(_, v)| cut(v))),
        };
        let more = params.len().saturating_sub(MAX_PARAMS);
        params.truncate(MAX_PARAMS);
        // One look at each pair (at most MAX_PARAMS = 64 of them, one bit each), then the few
        // edits: a credential's value, a long name or value.
        let (mut credentials, mut long) = (0u64, 0u64);
        for (i, (n, v)) in params.iter().enumerate() {
            if is_credential(method, n) {
                credentials |= 1 << i;
                if caller == Caller::Param(i) {
                    caller = Caller::Text(cut(v));
                }
            }
            if n.len() > MAX_VALUE || v.len() > MAX_VALUE {
                long |= 1 << i;
            }
        }
        // The pairs to edit, lowest first (an edit moves only the spans after it).
        let mut edits = credentials | long;
        while edits != 0 {
            let i = edits.trailing_zeros() as usize;
            edits &= edits - 1;
            if credentials & (1 << i) != 0 {
                params.replace_value(i, REDACTED);
            }
            if long & (1 << i) == 0 {
                continue;
            }
            let Some((n, v)) = params.nth(i) else { break };
            let (n, v) = (cut(n), (credentials & (1 << i) == 0).then(|| cut(v)));
            params.replace_name(i, &n);
            if let Some(v) = v {
                params.replace_value(i, &v);
            }
        }
        if more > 0 {
            params.push("...", format!("{more} more parameters"));
        }
        if long != 0 || more > 0 {
            // A request's long values, once cut, would otherwise keep their whole buffer alive
            // in the journal, outside its byte bound.
            params.compact();
        }
        caller
    }

    /// The bytes of text it holds (what the journal's byte bound counts).
    pub fn size(&self) -> usize {
        let fixed = 64 + self.verb.len() + self.path_len() + self.outcome.len();
        let optional = self.method.as_ref().map_or(0, |m| m.len())
            + match &self.u {
                Caller::None => 0,
                Caller::Param(i) => self.params.value_len(*i),
                Caller::Text(u) => u.len(),
            }
            + self.answer.as_ref().map_or(0, String::len);
        fixed + optional + self.params.len() * 16 + self.params.text_len()
    }
}

/// The JSON form of [`Entry::params`]: `[[name, value], ...]`.
struct PairList<'a>(&'a Params);

impl Serialize for PairList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

#[derive(Debug, Default)]
struct Inner {
    /// Each entry with its [`Entry::size`], computed once (not again when it is dropped).
    entries: VecDeque<(Entry, usize)>,
    bytes: usize,
    /// The counts, but for the current run's.
    counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// The requests counted since the last one of another method or outcome, added to `counts`
    /// when the run ends or the counts are read: a request like the one before is counted
    /// without a look into the maps (~90 instructions per request, callgrind).
    run: Option<Run>,
}

/// Requests in a row of one method and outcome.
#[derive(Debug)]
struct Run {
    method: Option<MethodName>,
    outcome: Cow<'static, str>,
    requests: u64,
}

impl Run {
    /// Whether `entry` counts in this run.
    fn takes(&self, entry: &Entry) -> bool {
        // The usual outcome is the same static text: its address tells it without a comparison.
        self.method == entry.method
            && (std::ptr::eq(self.outcome.as_ref(), entry.outcome.as_ref())
                || self.outcome == entry.outcome)
    }
}

impl Inner {
    /// Add the current run to the counts.
    fn end_run(&mut self) {
        let Some(run) = self.run.take() else {
            return;
        };
        let method = run.method.as_deref().unwrap_or(NO_METHOD);
        // Counted without a copy of either key once both are known.
        match self
            .counts
            .get_mut(method)
            .and_then(|m| m.get_mut(run.outcome.as_ref()))
        {
            Some(n) => *n += run.requests,
            None => {
                *self
                    .counts
                    .entry(method.to_string())
                    .or_default()
                    .entry(run.outcome.into_owned())
                    .or_insert(0) += run.requests;
            }
        }
    }
}

/// The journal of one mock instance. Cheap to write: one short lock per request.
#[derive(Debug, Default)]
pub struct Journal {
    inner: Mutex<Inner>,
}

/// The count key of requests that named no known method.
pub const NO_METHOD: &str = "<none>";

impl Journal {
    /// An empty journal.
    pub fn new() -> Self {
        Journal::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave it inconsistent (each write is one push
        // and one increment, or a run's count added), so a poisoned lock is simply taken over.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record one request (its path, caller and outcome cut to [`MAX_VALUE`]).
    pub fn record(&self, mut entry: Entry) {
        if let EntryPath::Text(path) = &mut entry.path {
            cut_in_place(path);
        }
        if let Caller::Text(u) = &mut entry.u {
            cut_in_place(u);
        }
        if entry.outcome.len() > MAX_VALUE {
            entry.outcome = Cow::Owned(cut(&entry.outcome));
        }
        if let Some(a) = entry.answer.as_mut() {
            cut_in_place(a);
        }
        let size = entry.size();
        let mut g = self.lock();
        match &mut g.run {
            Some(run) if run.takes(&entry) => run.requests += 1,
            _ => {
                g.end_run();
                g.run = Some(Run {
                    method: entry.method.clone(),
                    outcome: entry.outcome.clone(),
                    requests: 1,
                });
            }
        }
        while g.entries.len() >= JOURNAL_CAPACITY
            || (g.bytes + size > JOURNAL_MAX_BYTES && !g.entries.is_empty())
        {
            if let Some((_, old)) = g.entries.pop_front() {
                g.bytes = g.bytes.saturating_sub(old);
            }
        }
        g.bytes += size;
        g.entries.push_back((entry, size));
    }

    /// The kept entries, oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().entries.iter().map(|(e, _)| e.clone()).collect()
    }

    /// Requests per canonical method and outcome since the start or the last [`Journal::clear`].
    pub fn counts(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        let mut g = self.lock();
        g.end_run();
        g.counts.clone()
    }

    /// Forget every entry and count.
    pub fn clear(&self) {
        let mut g = self.lock();
        g.entries.clear();
        g.bytes = 0;
        g.counts.clear();
        g.run = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> Entry {
        Entry {
            time_ms: 0,
            verb: "POST".into(),
            path: EntryPath::Text(format!("/billing/api/m{i}")),
            method: Some("quickstats_get".into()),
            u: Caller::None,
            params: Params::new(),
            outcome: "ok".into(),
            status: 200,
            answer: None,
        }
    }

    #[test]
    fn the_journal_keeps_only_the_last_thousand_entries_but_counts_all() {
        let j = Journal::new();
        for i in 0..JOURNAL_CAPACITY + 5 {
            j.record(entry(i));
        }
        let e = j.entries();
        assert_eq!(e.len(), JOURNAL_CAPACITY);
        assert_eq!(e[0].path(), "/billing/api/m5");
        assert_eq!(
            j.counts()["quickstats_get"]["ok"],
            (JOURNAL_CAPACITY + 5) as u64
        );
        j.clear();
        assert!(j.entries().is_empty() && j.counts().is_empty());
    }

    #[test]
    fn requests_are_counted_per_method_and_outcome_in_runs_or_not() {
        let j = Journal::new();
        let mut want: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        let methods = [Some("quickstats_get"), None, Some("user_calls_get")];
        // Runs of one to four requests, outcomes static, copied or of another text.
        for i in 0..60usize {
            let mut e = entry(i);
            e.method = methods[i / 4 % 3].map(MethodName::from);
            e.outcome = match i % 7 {
                0..=2 => "ok".into(),
                3 => Cow::Owned("ok".to_string()),
                4 | 5 => Cow::Owned("Bad login".to_string()),
                _ => "fault:http_status".into(),
            };
            let method = e.method.as_deref().unwrap_or(NO_METHOD).to_string();
            *want
                .entry(method)
                .or_default()
                .entry(e.outcome.to_string())
                .or_insert(0) += 1;
            j.record(e);
            if i % 11 == 0 {
                // Read in the middle of a run.
                assert_eq!(j.counts(), want, "after {i}");
            }
            if i == 30 {
                j.clear();
                want.clear();
            }
        }
        assert_eq!(j.counts(), want);
        assert_eq!(j.counts(), want, "a second read counts nothing twice");
    }

    #[test]
    fn large_entries_are_cut_and_the_journal_stays_under_its_byte_bound() {
        let j = Journal::new();
        let mut p = Params::new();
        for i in 0..200 {
            p.push(format!("x{i}"), "v".repeat(100_000));
        }
        for _ in 0..JOURNAL_CAPACITY {
            let mut e = entry(0);
            e.path = EntryPath::Text("/".repeat(100_000));
            e.params = Entry::redact(&p, None);
            j.record(e);
        }
        let kept = j.entries();
        let bytes: usize = kept.iter().map(Entry::size).sum();
        assert!(bytes <= JOURNAL_MAX_BYTES, "{bytes}");
        assert!(!kept.is_empty());
        let last = kept.last().expect("an entry");
        assert_eq!(last.params.len(), MAX_PARAMS + 1);
        assert!(last.params.nth(0).expect("a pair").1.len() < 2 * MAX_VALUE);
        assert!(last.path().len() < 2 * MAX_VALUE);
        assert_eq!(j.counts()["quickstats_get"]["ok"], JOURNAL_CAPACITY as u64);
    }

    #[test]
    fn redacting_in_place_keeps_what_a_copy_keeps() {
        let mut p = Params::new()
            .with("u", "admin")
            .with("hash", "abc")
            .with("p", "pw")
            .with("x".repeat(3000), "y".repeat(5000))
            .with("é".repeat(600), "ok")
            .with("", "")
            .with("p", "");
        for i in 0..70 {
            p.push(format!("k{i}"), "v");
        }
        // The rule pair by pair, on copies.
        let mut want: Vec<(String, String)> = p
            .iter()
            .take(MAX_PARAMS)
            .map(|(n, v)| {
                let v = if is_credential(None, n) {
                    REDACTED.to_string()
                } else {
                    cut(v)
                };
                (cut(n), v)
            })
            .collect();
        want.push(("...".into(), "13 more parameters".into()));
        let want: Params = want.into_iter().collect();
        assert_eq!(Entry::redact_owned(p.clone(), None), want);
        assert_eq!(Entry::redact(&p, None), want);
        // A query parsed into one buffer, its spans separated by `=` and `&`.
        let q = Params::parse_query(b"u=admin&hash=0123456789&p=&x=1");
        let r = Entry::redact_owned(q, None);
        let pairs: Vec<(&str, &str)> = r.iter().collect();
        assert_eq!(
            pairs,
            [
                ("u", "admin"),
                ("hash", REDACTED),
                ("p", REDACTED),
                ("x", "1")
            ]
        );
        assert_eq!(
            crate::journal::verb_text(&http::Method::from_bytes(b"PROPFIND").expect("a verb")),
            "PROPFIND"
        );
    }

    #[test]
    fn an_entry_lists_its_parameters_as_name_value_pairs_in_json() {
        let mut e = entry(1);
        e.params = Entry::redact_owned(Params::parse_query(b"u=admin&hash=abc"), None);
        let json = serde_json::to_value(&e).expect("an entry serializes");
        assert_eq!(
            json["params"],
            serde_json::json!([["u", "admin"], ["hash", REDACTED]])
        );
    }

    #[test]
    fn a_cut_entry_keeps_no_more_buffer_than_its_text_needs() {
        let p = Params::parse_query(format!("u=admin&big={}", "v".repeat(100_000)).as_bytes());
        let r = Entry::redact_owned(p, None);
        assert!(r.nth(1).expect("a pair").1.len() < 2 * MAX_VALUE);
        assert!(
            r.buffer_capacity() < 4 * MAX_VALUE,
            "{}",
            r.buffer_capacity()
        );
    }

    #[test]
    fn the_caller_is_the_last_u_as_sent_kept_in_the_params_or_copied() {
        let long = "a".repeat(3000);
        let mut many = Params::new();
        for i in 0..70 {
            many.push(format!("k{i}"), "v");
        }
        many.push("u", "late");
        let cases = [
            Params::parse_query(b"hash=abc&x=1"),
            Params::parse_query(b"u=admin&hash=abc"),
            Params::parse_query(b"u=first&hash=abc&u=second"),
            Params::new().with("u", long.as_str()).with("p", "pw"),
            many,
        ];
        let j = Journal::new();
        for p in cases {
            // What the entry kept before: a copy of `get("u")`, cut when recorded.
            let want = p.get("u").map(cut);
            let (params, u) = Entry::redact_request(p, None);
            let mut e = entry(0);
            (e.params, e.u) = (params, u);
            j.record(e);
            let kept = j.entries().pop().expect("an entry");
            assert_eq!(kept.u().map(str::to_string), want);
            let json = serde_json::to_value(&kept).expect("an entry serializes");
            assert_eq!(json["u"], serde_json::json!(want));
            assert_eq!(
                kept.size(),
                64 + 4
                    + kept.path().len()
                    + 2
                    + 14
                    + want.map_or(0, |u| u.len())
                    + kept.params.len() * 16
                    + kept.params.text_len()
            );
        }
    }

    #[test]
    fn the_path_is_kept_as_the_method_s_when_it_is_that_and_as_sent_otherwise() {
        let quickstats = MethodName::from("quickstats_get");
        let cases = [
            ("/billing/api/quickstats_get", Some(&quickstats), true),
            // An alias, a name the catalogue does not know, another path.
            ("/billing/api/quickstats", Some(&quickstats), false),
            ("/billing/api/quickstats_get", None, false),
            ("/__admin/x", Some(&quickstats), false),
            ("/billing/api/quickstats_getx", Some(&quickstats), false),
        ];
        for (path, method, shared) in cases {
            let mut e = entry(0);
            e.path = EntryPath::new(path, method);
            e.method = method.cloned();
            assert_eq!(e.path == EntryPath::OfMethod, shared, "{path}");
            assert_eq!(e.path(), path);
            let json = serde_json::to_value(&e).expect("an entry serializes");
            assert_eq!(json["path"], path);
            let text = EntryPath::Text(path.to_string());
            let copied = Entry {
                path: text,
                ..e.clone()
            };
            assert_eq!(e.size(), copied.size(), "{path}");
        }
    }

    #[test]
    fn hash_and_password_are_redacted() {
        let p = Params::new()
            .with("u", "admin")
            .with("hash", "abc")
            .with("p", "pw");
        let r = Entry::redact(&p, None);
        let pairs: Vec<(&str, &str)> = r.iter().collect();
        assert_eq!(pairs, [("u", "admin"), ("hash", REDACTED), ("p", REDACTED)]);
    }
}
