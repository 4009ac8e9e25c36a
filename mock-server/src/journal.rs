//! The request journal: a bounded ring of the last requests and a count per method and outcome,
//! read through `/__admin/journal` and `/__admin/counts` for `verify`-style assertions (as
//! wiremock's `received_requests`). Written once per request at the end of the flow, after
//! `render`; secrets never enter it (`hash` and `p` are redacted).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use model::params::Params;
use serde::Serialize;

/// How many entries the journal keeps; older ones are dropped.
pub const JOURNAL_CAPACITY: usize = 1000;

/// What replaces a redacted parameter value.
pub const REDACTED: &str = "<redacted>";

/// Parameters whose values never enter the journal: the digest and the password.
const REDACTED_PARAMS: [&str; 2] = ["hash", "p"];

/// One request as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// Unix milliseconds (real time) when the answer was rendered.
    pub time_ms: u128,
    /// HTTP verb as sent.
    pub verb: String,
    /// Request path (without the query string).
    pub path: String,
    /// Canonical method name, when the path named one.
    pub method: Option<String>,
    /// The caller `u`, when sent.
    pub u: Option<String>,
    /// Merged parameters in request order, `hash` and `p` redacted.
    pub params: Vec<(String, String)>,
    /// `ok`, the error text answered, or what the overlay did (`canned`, `fault:http_status`).
    pub outcome: String,
    /// HTTP status answered (0 when the connection was closed without an answer).
    pub status: u16,
}

impl Entry {
    /// The parameters as the journal keeps them: in order, secrets redacted.
    pub fn redact(params: &Params) -> Vec<(String, String)> {
        params
            .iter()
            .map(|(n, v)| {
                let v = if REDACTED_PARAMS.contains(&n) {
                    REDACTED
                } else {
                    v
                };
                (n.to_string(), v.to_string())
            })
            .collect()
    }
}

#[derive(Debug, Default)]
struct Inner {
    entries: VecDeque<Entry>,
    counts: BTreeMap<String, BTreeMap<String, u64>>,
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
        // and one increment), so a poisoned lock is simply taken over.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Record one request.
    pub fn record(&self, entry: Entry) {
        let mut g = self.lock();
        let method = entry
            .method
            .clone()
            .unwrap_or_else(|| NO_METHOD.to_string());
        *g.counts
            .entry(method)
            .or_default()
            .entry(entry.outcome.clone())
            .or_insert(0) += 1;
        if g.entries.len() == JOURNAL_CAPACITY {
            g.entries.pop_front();
        }
        g.entries.push_back(entry);
    }

    /// The kept entries, oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().entries.iter().cloned().collect()
    }

    /// Requests per canonical method and outcome since the start or the last [`Journal::clear`].
    pub fn counts(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.lock().counts.clone()
    }

    /// Forget every entry and count.
    pub fn clear(&self) {
        let mut g = self.lock();
        g.entries.clear();
        g.counts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> Entry {
        Entry {
            time_ms: 0,
            verb: "POST".into(),
            path: format!("/billing/api/m{i}"),
            method: Some("quickstats_get".into()),
            u: None,
            params: Vec::new(),
            outcome: "ok".into(),
            status: 200,
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
        assert_eq!(e[0].path, "/billing/api/m5");
        assert_eq!(
            j.counts()["quickstats_get"]["ok"],
            (JOURNAL_CAPACITY + 5) as u64
        );
        j.clear();
        assert!(j.entries().is_empty() && j.counts().is_empty());
    }

    #[test]
    fn hash_and_password_are_redacted() {
        let p = Params::new()
            .with("u", "admin")
            .with("hash", "abc")
            .with("p", "pw");
        let r = Entry::redact(&p);
        assert_eq!(r[0].1, "admin");
        assert_eq!(r[1].1, REDACTED);
        assert_eq!(r[2].1, REDACTED);
    }
}
