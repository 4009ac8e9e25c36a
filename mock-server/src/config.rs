//! How a mock instance is configured: product, settings and quirks patches, scenarios, seed, clock,
//! explain flag, an extra catalogue file and the address to bind. Built by `main` from the command
//! line and by the conformance runner and tests directly; turned into the running state by
//! `state::Shared::new`.
//!
//! Layering, lowest first: defaults <- the patches given here (command-line flags; `--profile`
//! sets every quirk) <- each
//! scenario that applies to the product, in order. The world is the generated default world
//! (seed 1 unless given), replaced or extended by each scenario's `world` in order.
//!
//! Two fields exist to measure the conformance suite and are set only here (library) or by the
//! command line, never by a scenario file: [`MockConfig::unseen_world`] (a generated world whose
//! ids and usernames the suite has never seen, see `unseen`) and [`MockConfig::defect`] (one
//! deliberate defect, see `defect`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use model::catalogue::{Catalogue, Product};
use model::error::SourceError;
use model::quirks::QuirksPatch;
use model::scenario::Scenario;
use model::settings::SettingsPatch;
use model::world::When;
use model::LoadError;
use thiserror::Error;

use crate::defect::Defect;

/// Why a mock could not be configured or started.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The extra catalogue file is unreadable or invalid.
    #[error("catalogue: {0}")]
    Catalogue(#[source] LoadError),
    /// A scenario file is unreadable or invalid (the message names file and line).
    #[error("{0}")]
    Scenario(#[source] LoadError),
    /// The admin token file is unreadable or holds no token (its content is never shown).
    #[error("admin token: {0}")]
    AdminToken(String),
    /// The profile named is unknown for the product (the message lists the known ones).
    #[error("profile: {0}")]
    Profile(String),
    /// A clock value is not a time.
    #[error("clock: {0}")]
    Clock(String),
    /// The proxy's base URL or client is unusable.
    #[error("{0}")]
    Proxy(#[source] crate::proxy::ProxyError),
    /// The address could not be bound.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// What the server reads of one request, and for how long (issue 13: a slow or endless body
/// must not hold a connection forever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A body larger than this is refused with 413 (announced by Content-Length, or counted
    /// while reading a chunked one).
    pub max_body: usize,
    /// The same for the admin API (a scenario may hold a large world); read only once the
    /// request passed the admin API's checks.
    pub max_admin_body: usize,
    /// The request line and headers must arrive within this time (also closes idle keep-alive
    /// connections).
    pub header_timeout: Duration,
    /// The whole body must arrive within this time, or the connection is answered 408 and
    /// closed.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body: 4 * 1024 * 1024,
            max_admin_body: 64 * 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// Everything that decides how a mock instance starts.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Address to listen on (`127.0.0.1:0` by default here; the binary defaults to
    /// `127.0.0.1:8080`).
    pub bind: SocketAddr,
    /// The product mocked.
    pub product: Product,
    /// Settings changed from the defaults (the command-line flags).
    pub settings: SettingsPatch,
    /// Quirks changed from the defaults.
    pub quirks: QuirksPatch,
    /// Scenarios laid over the defaults and the patches, in order (those for another product are
    /// skipped).
    pub scenarios: Vec<Scenario>,
    /// Seed of the generated default world (1 when absent).
    pub seed: Option<u64>,
    /// A pinned clock (Unix seconds); real time when absent. A scenario's `clock` overrides it.
    pub clock: Option<i64>,
    /// Explain hash mismatches in an `X-Mor-Mock-Explain` response header.
    pub explain: bool,
    /// An extra catalogue file adding or replacing methods.
    pub catalogue_file: Option<PathBuf>,
    /// Generate the unseen world of this seed (`unseen::unseen_world`) wherever the default
    /// world would be generated. Not settable from a scenario.
    pub unseen_world: Option<u64>,
    /// One deliberate defect, to measure the conformance suite (test only; see `defect`). Not
    /// settable from a scenario.
    pub defect: Option<Defect>,
    /// The token the admin API requires (from `MOR_MOCK_ADMIN_TOKEN` or `--admin-token-file`,
    /// never argv). Required whenever the mock listens on a non-loopback address: without one
    /// the admin API refuses every request there.
    pub admin_token: Option<AdminToken>,
    /// Body size and read time bounds.
    pub limits: Limits,
    /// Forward every API request to a deployment instead of answering it (`--proxy`), judging
    /// each exchange (see `proxy`).
    pub proxy: Option<crate::proxy::ProxyConfig>,
}

/// A secret that opens the admin API. Its `Debug` form never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

impl AdminToken {
    /// A token from its text; surrounding whitespace (a file's final newline) is dropped. `None`
    /// when nothing is left.
    pub fn new(text: &str) -> Option<AdminToken> {
        let t = text.trim();
        (!t.is_empty()).then(|| AdminToken(t.to_string()))
    }

    /// Whether `offered` is this token, compared in time independent of where they differ.
    pub fn matches(&self, offered: &[u8]) -> bool {
        let mine = self.0.as_bytes();
        let mut diff = u8::from(mine.len() != offered.len());
        for (i, b) in mine.iter().enumerate() {
            diff |= b ^ offered.get(i).copied().unwrap_or(0);
        }
        diff == 0
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            product: Product::M4,
            settings: SettingsPatch::default(),
            quirks: QuirksPatch::default(),
            scenarios: Vec::new(),
            seed: None,
            clock: None,
            explain: false,
            catalogue_file: None,
            unseen_world: None,
            defect: None,
            admin_token: None,
            limits: Limits::default(),
            proxy: None,
        }
    }
}

impl MockConfig {
    /// The defaults for `product`, bound to `127.0.0.1:0`.
    pub fn new(product: Product) -> Self {
        MockConfig {
            product,
            ..MockConfig::default()
        }
    }

    /// Builder: add a scenario (layered after those already added).
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenarios.push(scenario);
        self
    }

    /// Builder: layer a settings patch over the one held.
    pub fn settings(mut self, patch: SettingsPatch) -> Self {
        self.settings.merge(&patch);
        self
    }

    /// Builder: layer a quirks patch over the one held.
    pub fn quirks(mut self, patch: QuirksPatch) -> Self {
        self.quirks.merge(&patch);
        self
    }

    /// Builder: pin the clock.
    pub fn clock(mut self, unix: i64) -> Self {
        self.clock = Some(unix);
        self
    }

    /// Builder: the world seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Builder: explain hash mismatches in a response header.
    pub fn explain(mut self, on: bool) -> Self {
        self.explain = on;
        self
    }

    /// Builder: start from the unseen world of `seed` instead of the default world.
    pub fn unseen_world(mut self, seed: u64) -> Self {
        self.unseen_world = Some(seed);
        self
    }

    /// Builder: switch one deliberate defect on (test only: it exists to measure the
    /// conformance suite).
    pub fn defect(mut self, defect: Defect) -> Self {
        self.defect = Some(defect);
        self
    }

    /// Builder: the token the admin API requires.
    pub fn admin_token(mut self, token: AdminToken) -> Self {
        self.admin_token = Some(token);
        self
    }

    /// Builder: body size and read time bounds.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Builder: the address to bind.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// The catalogue in force: the embedded one plus the extra file, if any.
    pub fn catalogue(&self) -> Result<Catalogue, ConfigError> {
        let base = Catalogue::embedded().clone();
        match &self.catalogue_file {
            Some(path) => base.with_file(path).map_err(ConfigError::Catalogue),
            None => Ok(base),
        }
    }

    /// Load a scenario file against `catalogue` (errors name file and line). The file is read
    /// with a bound ([`read_scenario_text`]).
    pub fn load_scenario(path: &Path, catalogue: &Catalogue) -> Result<Scenario, ConfigError> {
        let text = read_scenario_text(path).map_err(ConfigError::Scenario)?;
        model::scenario::load_str(&text, path, catalogue)
            .map(|l| l.scenario)
            .map_err(ConfigError::Scenario)
    }
}

/// The largest scenario file read (the YAML loader's own bound).
pub const MAX_SCENARIO_FILE: usize = model::yaml::MAX_YAML_BYTES;

/// Read a scenario file as text, refusing one larger than [`MAX_SCENARIO_FILE`] (a regular
/// file by its size before reading; a device or pipe such as `/dev/zero` by what it yields,
/// stopping at the bound or at the first NUL byte, which no YAML text holds). The content is
/// never quoted in an error.
pub fn read_scenario_text(path: &Path) -> Result<String, LoadError> {
    use std::io::Read as _;
    let name = path.display().to_string();
    let io = |source: std::io::Error| LoadError::Io {
        path: name.clone(),
        source,
    };
    let refuse = |why: String| LoadError::Source(SourceError::new(&name, 1, "", why));
    let mut file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_file() && meta.len() > MAX_SCENARIO_FILE as u64 {
        return Err(refuse(format!(
            "too large: {} bytes, the limit is {MAX_SCENARIO_FILE}",
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut chunk).map_err(io)?;
        if n == 0 {
            break;
        }
        let read = &chunk[..n];
        if let Some(i) = read.iter().position(|&b| b == 0) {
            return Err(refuse(format!(
                "not YAML text: a NUL byte at offset {}",
                bytes.len() + i
            )));
        }
        if bytes.len() + n > MAX_SCENARIO_FILE {
            return Err(refuse(format!(
                "too large: more than {MAX_SCENARIO_FILE} bytes"
            )));
        }
        bytes.extend_from_slice(read);
    }
    String::from_utf8(bytes).map_err(|e| {
        refuse(format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Parse a `--clock` value (`YYYY-MM-DD HH:MM:SS` or ISO `YYYY-MM-DDTHH:MM:SS[Z]`, UTC) into Unix
/// seconds.
pub fn parse_clock(text: &str) -> Result<i64, ConfigError> {
    // ISO 8601 as well: `2026-11-23T12:00:00` and `...Z` (UTC either way).
    let t = text.trim();
    let t = t.strip_suffix('Z').unwrap_or(t);
    let iso = match t.as_bytes().get(10) {
        Some(b'T') => format!("{} {}", &t[..10], &t[11..]),
        _ => t.to_string(),
    };
    When::parse(&iso)
        .and_then(|w| w.resolve(0))
        .map_err(ConfigError::Clock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_takes_iso_8601_too() {
        let plain = parse_clock("2026-11-23 12:00:00").expect("plain");
        assert_eq!(parse_clock("2026-11-23T12:00:00").expect("iso"), plain);
        assert_eq!(parse_clock("2026-11-23T12:00:00Z").expect("iso utc"), plain);
        assert!(parse_clock("2026-11-23X12:00:00").is_err());
    }

    #[test]
    fn a_clock_flag_parses_as_utc() {
        assert_eq!(parse_clock("1970-01-02 00:00:01").ok(), Some(86_401));
        assert!(parse_clock("tomorrow").is_err());
    }
}
