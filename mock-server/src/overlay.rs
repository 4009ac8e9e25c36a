//! The overlay: canned answers and faults that a scenario lays over the computed behaviour. It
//! runs after `request` and before `dispatch`: a canned answer replaces everything (gating
//! included); a fault delays, breaks or replaces the answer. Random choices (probability, random
//! delays) come from one RNG seeded by `overlay.seed`, so a run can be reproduced.

use std::sync::Mutex;
use std::time::Duration;

use model::catalogue::{HttpVerb, ProductCatalogue};
use model::params::Params;
use model::scenario::{CannedResponse, Fault, FaultRule, Overlay, RequestMatch};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What a request looks like to the overlay's matchers.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    /// The method name in the path.
    pub name: &'a str,
    /// Its canonical name, when the catalogue knows it.
    pub canonical: Option<&'a str>,
    /// The merged parameters.
    pub params: &'a Params,
    /// The verb (non-GET counts as POST).
    pub verb: HttpVerb,
}

/// A fault that changes the answer itself (delays are returned apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer this HTTP status with a short HTML page.
    HttpStatus(u16),
    /// Close the connection without an answer.
    ConnectionReset,
    /// Send only this many bytes of the real answer.
    Truncate(usize),
    /// Answer `Cannot connect to Elasticsearch` in the method's wrapper.
    Elasticsearch,
}

/// The faults drawn for one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Total delay before answering (every matching delay rule that fired, summed).
    pub delay: Option<Duration>,
    /// The first matching non-delay fault that fired.
    pub action: Option<FaultAction>,
}

impl FaultAction {
    /// The journal's name for it.
    pub fn label(self) -> &'static str {
        match self {
            FaultAction::HttpStatus(_) => "fault:http_status",
            FaultAction::ConnectionReset => "fault:connection_reset",
            FaultAction::Truncate(_) => "fault:truncate",
            FaultAction::Elasticsearch => "fault:elasticsearch",
        }
    }
}

#[derive(Debug)]
struct Runtime {
    rng: StdRng,
    used: Vec<u64>,
}

/// The overlay rules in force and their run-time state (use counts, RNG).
#[derive(Debug)]
pub struct OverlayState {
    overlay: Overlay,
    /// Canonical method of each canned rule, then of each fault rule (None: match the raw name).
    canned_methods: Vec<Option<String>>,
    fault_methods: Vec<Option<String>>,
    runtime: Mutex<Runtime>,
}

fn canonical(catalogue: &ProductCatalogue, m: &RequestMatch) -> Option<String> {
    m.method
        .as_deref()
        .and_then(|n| catalogue.method(n))
        .map(|m| m.name.to_string())
}

impl OverlayState {
    /// Fresh state for these rules: no use counted, the RNG at its seed.
    pub fn new(overlay: Overlay, catalogue: &ProductCatalogue) -> Self {
        let canned_methods = overlay
            .responses
            .iter()
            .map(|r| canonical(catalogue, &r.matches))
            .collect();
        let fault_methods = overlay
            .faults
            .iter()
            .map(|r| canonical(catalogue, &r.matches))
            .collect();
        let runtime = Mutex::new(Runtime {
            rng: StdRng::seed_from_u64(overlay.seed),
            used: vec![0; overlay.responses.len()],
        });
        OverlayState {
            overlay,
            canned_methods,
            fault_methods,
            runtime,
        }
    }

    /// The rules, as loaded.
    pub fn rules(&self) -> &Overlay {
        &self.overlay
    }

    /// Whether there is nothing to do (the common case: no lock taken).
    pub fn is_empty(&self) -> bool {
        self.overlay.responses.is_empty() && self.overlay.faults.is_empty()
    }

    fn runtime(&self) -> std::sync::MutexGuard<'_, Runtime> {
        // Each critical section is a counter increment or one RNG draw: a poisoned lock holds
        // consistent data.
        self.runtime.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The first canned answer matching the request that still has uses left (and count a use).
    pub fn canned(&self, probe: &Probe<'_>) -> Option<CannedResponse> {
        if self.overlay.responses.is_empty() {
            return None;
        }
        let mut rt = self.runtime();
        for (i, rule) in self.overlay.responses.iter().enumerate() {
            if !matches(&rule.matches, self.canned_methods[i].as_deref(), probe) {
                continue;
            }
            if rule.times.is_some_and(|t| rt.used[i] >= t) {
                continue;
            }
            rt.used[i] += 1;
            return Some(rule.clone());
        }
        None
    }

    /// Draw the faults for a request.
    pub fn faults(&self, probe: &Probe<'_>) -> Faults {
        let mut out = Faults::default();
        if self.overlay.faults.is_empty() {
            return out;
        }
        let mut rt = self.runtime();
        for (i, rule) in self.overlay.faults.iter().enumerate() {
            if !matches(&rule.matches, self.fault_methods[i].as_deref(), probe) {
                continue;
            }
            if !fires(rule, &mut rt.rng) {
                continue;
            }
            match rule.fault {
                Fault::Delay { ms, max_ms } => {
                    let ms = match max_ms {
                        Some(max) if max > ms => rt.rng.gen_range(ms..=max),
                        _ => ms,
                    };
                    let total = out.delay.unwrap_or_default() + Duration::from_millis(ms);
                    out.delay = Some(total);
                }
                _ if out.action.is_some() => {}
                Fault::HttpStatus { status } => out.action = Some(FaultAction::HttpStatus(status)),
                Fault::ConnectionReset => out.action = Some(FaultAction::ConnectionReset),
                Fault::Truncate { bytes } => out.action = Some(FaultAction::Truncate(bytes)),
                Fault::Elasticsearch => out.action = Some(FaultAction::Elasticsearch),
            }
        }
        out
    }
}

fn fires(rule: &FaultRule, rng: &mut StdRng) -> bool {
    if rule.probability >= 1.0 {
        return true;
    }
    if rule.probability <= 0.0 || rule.probability.is_nan() {
        return false;
    }
    rng.gen::<f64>() < rule.probability
}

fn matches(m: &RequestMatch, canonical: Option<&str>, probe: &Probe<'_>) -> bool {
    if let Some(want) = &m.method {
        let ok = match (canonical, probe.canonical) {
            (Some(a), Some(b)) => a == b,
            _ => want == probe.name,
        };
        if !ok {
            return false;
        }
    }
    if let Some(u) = &m.u {
        if probe.params.get("u") != Some(u.as_str()) {
            return false;
        }
    }
    if let Some(verb) = m.http {
        if verb != probe.verb {
            return false;
        }
    }
    m.params
        .0
        .iter()
        .all(|(k, v)| probe.params.get(k) == Some(v.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::catalogue::{Catalogue, Product};

    fn state(yaml: &str) -> OverlayState {
        let overlay: Overlay =
            model::yaml::from_str(yaml, std::path::Path::new("t.yaml")).expect("overlay parses");
        OverlayState::new(overlay, Catalogue::embedded().product(Product::M4))
    }

    fn probe<'a>(name: &'a str, params: &'a Params) -> Probe<'a> {
        Probe {
            name,
            canonical: Catalogue::embedded()
                .method(Product::M4, name)
                .map(|m| m.name.as_str()),
            params,
            verb: HttpVerb::Post,
        }
    }

    #[test]
    fn a_canned_answer_matches_aliases_and_runs_out_after_its_times() {
        let s = state(
            "responses:\n  - match: { method: balance, u: admin }\n    body: '<x/>'\n    times: 1\n",
        );
        let p = Params::new().with("u", "admin");
        assert!(s.canned(&probe("user_balance_get", &p)).is_some());
        assert!(s.canned(&probe("user_balance_get", &p)).is_none());
        let other = Params::new().with("u", "bob");
        let s2 = state("responses:\n  - match: { u: admin }\n    body: '<x/>'\n");
        assert!(s2.canned(&probe("quickstats_get", &other)).is_none());
    }

    #[test]
    fn random_faults_are_reproducible_from_the_seed() {
        let yaml = "seed: 42\nfaults:\n  - fault: { kind: delay, ms: 1, max_ms: 100 }\n    probability: 0.5\n";
        let p = Params::new();
        let draw = |s: &OverlayState| -> Vec<Option<Duration>> {
            (0..20)
                .map(|_| s.faults(&probe("quickstats_get", &p)).delay)
                .collect()
        };
        let a = draw(&state(yaml));
        let b = draw(&state(yaml));
        assert_eq!(a, b);
        assert!(a.iter().any(Option::is_some) && a.iter().any(Option::is_none));
    }
}
