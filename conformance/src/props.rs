//! `mor-conformance props`: generated properties of every method's signature, driven by
//! proptest's [`TestRunner`] with shrinking (PRODUCT.md principle 5).
//!
//! Generic fuzzers change a value and break the hash, so they only ever reach `Incorrect hash`.
//! Here every generated request is signed from the catalogue, so it reaches the method logic, and
//! the signature is attacked on purpose. Per method of the catalogue (for one product):
//!
//! - `valid_in_domain` / `valid_out_of_domain`: freshly signed requests with parameter values
//!   drawn from each parameter's domain (`ParamType`, `values`, defaults), or deliberately
//!   outside it, never get `Incorrect hash`, and get either a success or a documented error (the
//!   method's `errors` plus the product's general errors);
//! - attacks that must get `Incorrect hash`: `digest_one_char`, `uppercase_digest`,
//!   `wrong_secret`, `no_secret`, `no_hash`, `value_changed_after_signing`, `reordered`,
//!   `empty_vs_missing`, `duplicated_parameter` (signed over the first of two values: Rails
//!   reads the last), `encoded_before_hashing` and `u_in_hash` (`u` added to, or left out of, the
//!   hash string);
//! - attacks a correct server accepts, shown as the documented weaknesses they are:
//!   `concatenation_boundary` (`12`+`3` versus `1`+`23`: the same hash string from different
//!   parameters), `duplicated_parameter` signed over the last value, and `url_encoding` (`%20`
//!   versus `+`: the server hashes decoded values);
//! - `get_vs_post`: the same signed request by GET answers like the POST when the target
//!   allows GET (settings, catalogue `http`), else `GET Requests are disabled`.
//!
//! Against a foreign target (`--target`), an accepted attack that matches a named quirk position
//! (`hash_hex_case: any`, `hash_order: any`, a first-wins parser, ...) is reported as
//! `OBSERVED` with the quirk's name, not failed; broken positions (any digest, a digest without
//! the secret) always fail. Against the in-process mock every surprise fails.
//!
//! Reproducibility: the seed is printed (`--seed N` replays a run); a failing case is shrunk and
//! saved to the regressions file (`--regressions`, default `.mor-props/regressions.json`), which
//! is replayed first on the next run; `--cases N` bounds each property.
//!
//! Against the in-process mock the requests go straight to [`mock_server::handle`] (no socket):
//! the same flow as over HTTP, at the speed of the handler.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use mock_server::{MockConfig, Shared};
use model::catalogue::{Catalogue, HttpVerb, Method, Param, ParamType, Product, Role};
use model::params::{form_encode, Params};
use model::quirks::Quirks;
use model::scenario::Encoding;
use model::sign::{plan, HashPart, HashPlan, SignOptions};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde::{Deserialize, Serialize};

use crate::client::{today_utc, Answer, BuiltRequest, Client, Limits};
use crate::exit::Failure;
use crate::secret::Known;
use crate::target::{api_url, Credential, Credentials, External, TargetArgs};

/// Default number of cases per property.
pub const DEFAULT_CASES: u32 = 256;

/// Default regressions file.
pub const DEFAULT_REGRESSIONS: &str = ".mor-props/regressions.json";

/// Arguments of `props`. Target flags follow `run`'s rules (secrets from the environment or
/// files, never from the command line).
#[derive(Debug, Args)]
pub struct PropsArgs {
    /// The target, its target file, product and admin credentials.
    #[command(flatten)]
    pub target: TargetArgs,
    /// A scenario file for the in-process mock (world, settings, quirks).
    #[arg(long, value_name = "FILE", conflicts_with = "target")]
    pub scenario: Option<PathBuf>,
    /// Only these methods (repeatable; aliases match their method).
    #[arg(long = "method", value_delimiter = ',')]
    pub methods: Vec<String>,
    /// Only these properties (`valid_in_domain`, `reordered`, ...; repeatable).
    #[arg(long = "property", value_delimiter = ',')]
    pub properties: Vec<String>,
    /// Seed of the run (printed; default: from the clock).
    #[arg(long, env = "MOR_PROPS_SEED")]
    pub seed: Option<u64>,
    /// Cases per property.
    #[arg(long, env = "MOR_PROPS_CASES", default_value_t = DEFAULT_CASES)]
    pub cases: u32,
    /// Where shrunk failing cases are saved and replayed from.
    #[arg(long, env = "MOR_PROPS_REGRESSIONS", default_value = DEFAULT_REGRESSIONS, value_name = "FILE")]
    pub regressions: PathBuf,
    /// Send write methods to a real target.
    #[arg(long, env = "MOR_ALLOW_WRITES")]
    pub allow_writes: bool,
    /// Per-request timeout in seconds (HTTP targets).
    #[arg(long, value_parser = crate::flags::seconds, env = "MOR_TIMEOUT", default_value_t = 10.0, value_name = "SECS")]
    pub timeout: f64,
    /// Requests per second at most (HTTP targets).
    #[arg(long, value_parser = crate::flags::rate, env = "MOR_RATE", value_name = "R")]
    pub rate: Option<f64>,
    /// Write a JUnit XML report (one testsuite per method, one testcase per property).
    #[arg(long, env = "MOR_PROPS_JUNIT", value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report ([`PropsReport`]).
    #[arg(long, env = "MOR_PROPS_JSON", value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Everything a `props` run found (the `--json` document).
#[derive(Debug, Clone, Serialize)]
pub struct PropsReport {
    /// The product checked.
    pub product: String,
    /// The target (`the in-process mock (m4)` or the base URL).
    pub target: String,
    /// The run's seed (`--seed` replays it).
    pub seed: u64,
    /// Cases per property at most.
    pub cases_per_property: u32,
    /// Counts, as `run` counts them (errors as failed, observations as passed).
    pub summary: crate::report::Summary,
    /// Every property of every method, in report order; messages hold no secret.
    pub results: Vec<PropertyResult>,
}

impl PropsReport {
    /// The JUnit report: one testsuite per method (`<product> <method>`), one testcase per
    /// property; a failed property is a `<failure>`, an unreachable target an `<error>`, a
    /// property that does not apply `<skipped>`, an observed quirk a success with the
    /// observation in `system-out`.
    pub fn junit(&self) -> Result<String, String> {
        use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
        let mut report = Report::new("mor-conformance props");
        let mut suites: Vec<TestSuite> = Vec::new();
        for r in &self.results {
            let suite = format!("props {} {}", self.product, r.method);
            if suites.last().is_none_or(|s| s.name.as_str() != suite) {
                suites.push(TestSuite::new(suite));
            }
            let status = match r.verdict {
                Verdict::Passed | Verdict::Observed => TestCaseStatus::success(),
                Verdict::Skipped => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(r.message.clone());
                    s
                }
                Verdict::Failed | Verdict::Error => {
                    let kind = if r.verdict == Verdict::Failed {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    s.set_message(r.message.lines().next().unwrap_or_default().to_string());
                    s.set_type("property");
                    s.set_description(format!(
                        "{}\nreplay: mor-conformance props --seed {} --method {} --property {}",
                        r.message, self.seed, r.method, r.property
                    ));
                    s
                }
            };
            let mut tc = TestCase::new(r.property.clone(), status);
            tc.set_classname(format!("props.{}.{}", self.product, r.method));
            tc.set_assertions(r.cases as usize);
            if r.verdict == Verdict::Observed {
                tc.set_system_out(format!("observed: {}", r.message));
            }
            if let Some(s) = suites.last_mut() {
                s.add_test_case(tc);
            }
        }
        report.add_test_suites(suites);
        report.to_string().map_err(|e| e.to_string())
    }

    /// The JSON report.
    pub fn json(&self) -> Result<String, String> {
        serde_json::to_string_pretty(self).map_err(|e| e.to_string())
    }
}

/// Every property, in report order.
pub const PROPERTIES: [&str; 16] = [
    "valid_in_domain",
    "valid_out_of_domain",
    "digest_one_char",
    "uppercase_digest",
    "wrong_secret",
    "no_secret",
    "no_hash",
    "value_changed_after_signing",
    "reordered",
    "concatenation_boundary",
    "empty_vs_missing",
    "duplicated_parameter",
    "url_encoding",
    "encoded_before_hashing",
    "u_in_hash",
    "get_vs_post",
];

/// The quirk a foreign target shows when it accepts this attack (None: a broken server).
fn quirk_of(property: &str) -> Option<&'static str> {
    Some(match property {
        "uppercase_digest" => "hash_hex_case: any (or upper)",
        "reordered" => "hash_order: any",
        "empty_vs_missing" => "absent_hash_params (an empty value hashed like a default)",
        "duplicated_parameter" => "a parser where the first duplicate wins (not Rails)",
        "url_encoding" => "a server hashing the raw query text",
        "encoded_before_hashing" => "a server hashing the raw query text",
        "u_in_hash" => "u hashed where the catalogue says not (or the reverse)",
        "concatenation_boundary" => "a hash string with separators (not a plain concatenation)",
        "get_vs_post" => "GET answered differently from POST",
        _ => return None,
    })
}

/// One generated case: parameter values plus the attack's own choices. Saved as is in the
/// regressions file (it never holds a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseInput {
    /// Parameters sent (without `u` and `hash`), in order.
    pub params: Vec<(String, String)>,
    /// An attack's choice of position (modulo what it picks from).
    pub pick: usize,
    /// An attack's text (a replacement value, a wrong secret, ...).
    pub text: String,
    /// An attack's either/or.
    pub flag: bool,
}

/// One saved failing case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Regression {
    /// Product.
    pub product: Product,
    /// Canonical method name.
    pub method: String,
    /// Property name.
    pub property: String,
    /// The shrunk input.
    pub input: CaseInput,
}

/// How a property ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Held for every case.
    Passed,
    /// A case broke it.
    Failed,
    /// Not applicable here.
    Skipped,
    /// A foreign target showed a named quirk.
    Observed,
    /// The target could not be reached.
    Error,
}

/// The result of one property for one method.
#[derive(Debug, Clone, Serialize)]
pub struct PropertyResult {
    /// Canonical method name.
    pub method: String,
    /// Property name.
    pub property: String,
    /// Verdict.
    pub verdict: Verdict,
    /// Cases sent.
    pub cases: u64,
    /// Why (failure, skip reason, observation): made of masked answers and shown parameters.
    pub message: String,
}

/// What an answer says, in the API's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Success(String),
    Error(String),
    Malformed(String),
}

impl Seen {
    fn of(a: &Answer, known: &Known) -> Seen {
        let r = crate::check::read(a, known);
        if let Some((text, _)) = &r.error {
            return Seen::Error(text.clone());
        }
        match &r.doc {
            Some(d) => Seen::Success(model::xml::shape_text(&d.root)),
            None if !r.text.is_empty() && r.xml_error.is_none() && a.status < 400 => {
                Seen::Success("text".into())
            }
            None => Seen::Malformed(crate::check::describe(a, &r)),
        }
    }

    fn describe(&self) -> String {
        match self {
            Seen::Success(_) => "a success".into(),
            Seen::Error(t) => format!("error `{t}`"),
            Seen::Malformed(d) => format!("no API answer: {d}"),
        }
    }
}

/// Where requests go.
enum Transport {
    InProcess(Arc<Shared>),
    Http { client: Client, base: String },
}

/// A raw request: verb, method path and an already-encoded query string.
#[derive(Debug, Clone)]
struct Wire {
    verb: HttpVerb,
    method: String,
    query: String,
}

impl Wire {
    /// The request line for reports: each parameter as `secret::shown_param` shows it (the
    /// digest `<redacted>`, a password `<password>`).
    fn shown(&self) -> String {
        let q: Vec<String> = self
            .query
            .split('&')
            .map(|kv| {
                let decoded = model::params::Params::parse_query(kv.as_bytes());
                let first = decoded.iter().next();
                match (kv.split_once('='), first) {
                    (Some((k, _)), Some((name, value))) => {
                        let shown = crate::secret::shown_param(name, value);
                        if shown == value {
                            kv.to_string()
                        } else {
                            format!("{k}={shown}")
                        }
                    }
                    _ => kv.to_string(),
                }
            })
            .collect();
        let verb = match self.verb {
            HttpVerb::Post => "POST",
            HttpVerb::Get => "GET",
        };
        format!("{verb} /billing/api/{}?{}", self.method, q.join("&"))
    }
}

/// The target of a props run and what is known about it.
struct Target {
    transport: Transport,
    runtime: tokio::runtime::Runtime,
    product: Product,
    credentials: Credentials,
    /// What the target's answers are masked with.
    known: Known,
    quirks: Quirks,
    /// GET allowed and hash checking on, when known (in-process).
    allow_get: Option<bool>,
    hash_check: bool,
    today: (i64, i64),
    foreign: bool,
    label: String,
    max_body: usize,
    sent: Cell<u64>,
}

impl Target {
    fn send(&self, w: &Wire) -> Result<Answer, String> {
        self.sent.set(self.sent.get() + 1);
        match &self.transport {
            Transport::InProcess(shared) => {
                let uri: http::Uri = format!("/billing/api/{}?{}", w.method, w.query)
                    .parse()
                    .map_err(|e| format!("cannot build the URI: {e}"))?;
                let verb = match w.verb {
                    HttpVerb::Post => http::Method::POST,
                    HttpVerb::Get => http::Method::GET,
                };
                let a = self.runtime.block_on(mock_server::handle(
                    shared,
                    verb,
                    &uri,
                    &http::HeaderMap::new(),
                    bytes::Bytes::new(),
                ));
                if a.delivery != mock_server::Delivery::Full {
                    return Err("the mock dropped the connection (overlay fault)".into());
                }
                let header = |n: http::header::HeaderName| {
                    a.response
                        .headers()
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let content_type = header(http::header::CONTENT_TYPE);
                let encoding = header(http::header::CONTENT_ENCODING);
                let status = a.response.status().as_u16();
                let body = a.response.into_body().to_vec();
                let (delivery, body) = crate::client::decode(
                    content_type.as_deref(),
                    encoding.as_deref(),
                    body,
                    self.max_body,
                )
                .map_err(|e| e.to_string())?;
                Ok(Answer {
                    status,
                    content_type,
                    delivery,
                    body,
                    date: None,
                })
            }
            Transport::Http { client, base } => {
                let req = BuiltRequest {
                    verb: w.verb,
                    url: format!("{}?{}", api_url(base, &w.method), w.query),
                    query: Params::new(),
                    body: Params::new(),
                    encoding: Encoding::Query,
                    signature: None,
                    digest: None,
                    secret_params: Vec::new(),
                };
                self.runtime
                    .block_on(client.send(&req))
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// Run `props` and return the exit code; everything is printed here.
pub fn run(args: PropsArgs) -> i32 {
    crate::exit::finish(run_inner(args))
}

fn build_target(args: &PropsArgs) -> Result<Target, Failure> {
    let target_file = args.target.file().map_err(Failure::invalid)?;
    let product = args
        .target
        .product(&target_file)
        .unwrap_or(crate::plan::DEFAULT_PRODUCT);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start a runtime: {e}")))?;
    match args.target.base(&target_file) {
        Some(base) => {
            if args.scenario.is_some() {
                return Err(Failure::usage(
                    "--scenario configures the in-process mock; it cannot go with a target",
                ));
            }
            if !(args.timeout > 0.0 && args.timeout.is_finite()) {
                return Err(Failure::usage(
                    "--timeout must be a positive number of seconds",
                ));
            }
            let External {
                base,
                credentials,
                quirks,
            } = args
                .target
                .external(&base, &target_file)
                .map_err(Failure::usage)?;
            let max_body = 8 * 1024 * 1024;
            let client = Client::new(Limits {
                timeout: Duration::from_secs_f64(args.timeout),
                max_body,
                rate: args.rate,
                retries: 0,
            })
            .map_err(Failure::runtime)?;
            Ok(Target {
                transport: Transport::Http {
                    client,
                    base: base.clone(),
                },
                runtime,
                product,
                known: credentials.known(),
                credentials,
                quirks,
                allow_get: None,
                hash_check: true,
                today: today_utc(),
                foreign: !target_file.seeded.unwrap_or(false),
                label: base,
                max_body,
                sent: Cell::new(0),
            })
        }
        None => {
            let mut config = MockConfig::new(product);
            if let Some(q) = &target_file.quirks {
                // `--profile`: the mock's quirks before the scenario's.
                config = config.quirks(q.clone());
            }
            if let Some(path) = &args.scenario {
                let s = MockConfig::load_scenario(path, Catalogue::embedded())
                    .map_err(|e| Failure::invalid(e.to_string()))?;
                config = config.scenario(s);
            }
            let shared = Shared::new(config).map_err(|e| Failure::invalid(e.to_string()))?;
            let (credentials, quirks, allow_get, hash_check, today) = {
                let live = shared.read();
                (
                    crate::inproc::credentials(
                        &live.world.data.users,
                        &live.settings.api_secret,
                        &Quirks::default(),
                    ),
                    live.quirks.clone(),
                    live.settings.allow_get,
                    live.settings.hash_check,
                    live.clock.today(),
                )
            };
            Ok(Target {
                transport: Transport::InProcess(Arc::new(shared)),
                runtime,
                product,
                known: credentials.known(),
                credentials,
                quirks,
                allow_get: Some(allow_get),
                hash_check,
                today,
                foreign: false,
                label: format!("the in-process mock ({product})"),
                max_body: 64 * 1024 * 1024,
                sent: Cell::new(0),
            })
        }
    }
}

fn run_inner(args: PropsArgs) -> Result<i32, Failure> {
    if args.cases == 0 {
        return Err(Failure::usage("--cases must be at least 1"));
    }
    for p in &args.properties {
        if !PROPERTIES.contains(&p.as_str()) {
            return Err(Failure::usage(format!(
                "unknown property `{p}` (expected one of: {})",
                PROPERTIES.join(", ")
            )));
        }
    }
    let target = build_target(&args)?;
    let catalogue = Catalogue::embedded().product(target.product);
    let mut methods: Vec<&Method> = Vec::new();
    for name in &args.methods {
        match catalogue.method(name) {
            Some(m) if !methods.iter().any(|x| x.name == m.name) => methods.push(m),
            Some(_) => {}
            None => {
                return Err(Failure::usage(format!(
                    "unknown method `{name}` for {}",
                    target.product
                )))
            }
        }
    }
    if args.methods.is_empty() {
        methods = catalogue.methods().iter().collect();
    }
    let regressions = load_regressions(&args.regressions)?;
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    crate::outln!(
        "props: seed {seed} (replay with --seed {seed}), {} cases per property, against {}",
        args.cases,
        target.label
    );
    let started = Instant::now();
    let mut results = Vec::new();
    let mut new_failures = Vec::new();
    for m in &methods {
        for property in PROPERTIES {
            if !args.properties.is_empty() && !args.properties.iter().any(|p| p == property) {
                continue;
            }
            // In-process, every property starts from the mock's start state: one method's
            // writes (user_details_update's valid cases change user1) never reach another's
            // callers, and a create method's records do not pile up over its properties (a
            // declared write reads its whole collection: a thousand pools made every later
            // number_pool_create slower).
            if let Transport::InProcess(shared) = &target.transport {
                shared.reset();
            }
            let saved: Vec<&CaseInput> = regressions
                .iter()
                .filter(|r| {
                    r.product == target.product && r.method == m.name && r.property == property
                })
                .map(|r| &r.input)
                .collect();
            let (result, shrunk) = run_property(&target, m, property, &args, seed, &saved);
            print_result(&result, target.product);
            if let Some(input) = shrunk {
                new_failures.push(Regression {
                    product: target.product,
                    method: m.name.to_string(),
                    property: property.to_string(),
                    input,
                });
            }
            results.push(result);
        }
    }
    let elapsed = started.elapsed();
    let mut code = crate::exit::PASS;
    if !new_failures.is_empty() {
        let mut all = regressions;
        for r in new_failures {
            if !all.contains(&r) {
                all.push(r);
            }
        }
        match save_regressions(&args.regressions, &all) {
            Ok(()) => crate::outln!(
                "shrunk failing cases saved to {} (replayed first next time)",
                args.regressions.display()
            ),
            Err(e) => {
                eprintln!("mor-conformance: {e}");
                code = crate::exit::RUNTIME;
            }
        }
    }
    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    let summary = crate::report::Summary {
        passed: count(Verdict::Passed) + count(Verdict::Observed),
        failed: count(Verdict::Failed) + count(Verdict::Error),
        skipped: count(Verdict::Skipped),
        errors: count(Verdict::Error),
        observed: count(Verdict::Observed),
    };
    let report = PropsReport {
        product: target.product.to_string(),
        target: target.label.clone(),
        seed,
        cases_per_property: args.cases,
        summary,
        results: results.clone(),
    };
    for (file, text) in [(&args.junit, report.junit()), (&args.json, report.json())] {
        if let Some(f) = file {
            if let Err(e) = text.and_then(|t| std::fs::write(f, t).map_err(|e| e.to_string())) {
                eprintln!("mor-conformance: cannot write {}: {e}", f.display());
                code = crate::exit::RUNTIME;
            }
        }
    }
    let observed = count(Verdict::Observed);
    let errors = count(Verdict::Error);
    let failed = count(Verdict::Failed) + errors;
    if observed > 0 {
        crate::outln!("{observed} observed quirks (accepted attacks a named quirk explains)");
    }
    crate::outln!(
        "{} passed, {failed} failed, {} skipped",
        count(Verdict::Passed) + observed,
        count(Verdict::Skipped)
    );
    let sent = target.sent.get();
    let secs = elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "{sent} signed requests in {:.2}s ({:.0} requests/s)",
        secs,
        sent as f64 / secs
    );
    if code == crate::exit::PASS {
        code = if errors > 0 {
            crate::exit::RUNTIME
        } else if failed > 0 {
            crate::exit::ASSERTION
        } else {
            crate::exit::PASS
        };
    }
    Ok(code)
}

fn print_result(r: &PropertyResult, product: Product) {
    let label = match r.verdict {
        Verdict::Passed => "PASS",
        Verdict::Failed => "FAIL",
        Verdict::Skipped => "SKIP",
        Verdict::Observed => "OBSERVED",
        Verdict::Error => "ERROR",
    };
    let mut line = format!("{label:<8} {product} {} {}", r.method, r.property);
    match r.verdict {
        Verdict::Passed => {
            let _ = write!(line, " ({} cases)", r.cases);
            if !r.message.is_empty() {
                let _ = write!(line, ": {}", r.message);
            }
        }
        _ => {
            let _ = write!(line, ": {}", r.message);
        }
    }
    crate::outln!("{}", line.trim_end());
}

fn load_regressions(path: &Path) -> Result<Vec<Regression>, Failure> {
    match std::fs::read_to_string(path) {
        Ok(text) if text.trim().is_empty() => Ok(Vec::new()),
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| Failure::invalid(format!("regressions file {}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Failure::runtime(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

fn save_regressions(path: &Path, all: &[Regression]) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(all).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A 32-byte ChaCha seed per (run seed, product, method, property), so each property has its own
/// stream and narrowing the run with `--method` does not change the cases of the others.
fn property_seed(seed: u64, product: Product, method: &str, property: &str) -> [u8; 32] {
    let text = format!("{seed}/{product}/{method}/{property}");
    let a = model::sign::sha1_hex(&text);
    let b = model::sign::sha1_hex(&format!("{text}/2"));
    let hex = format!("{a}{b}");
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap_or(0);
    }
    out
}

/// The caller for a method: the admin if allowed, else the first allowed role with credentials.
fn caller<'a>(m: &Method, creds: &'a Credentials) -> Option<(&'a str, &'a Credential)> {
    let roles = std::iter::once(Role::Admin).chain(m.access.iter().map(|a| a.role));
    for role in roles {
        if m.access_for(role).is_none() {
            continue;
        }
        if let Some((name, c)) = creds.roles.get_key_value(role.as_str()) {
            return Some((name.as_str(), c));
        }
    }
    None
}

/// Everything one method's properties share.
struct MethodCtx<'a> {
    target: &'a Target,
    method: &'a Method,
    role: &'a str,
    cred: &'a Credential,
    opts: SignOptions,
    incorrect_hash: String,
    get_disabled: String,
    documented: BTreeSet<String>,
}

impl MethodCtx<'_> {
    fn is_admin(&self) -> bool {
        self.role == "admin"
    }

    /// The parameters as sent: `u` first, then the generated ones.
    fn params(&self, input: &CaseInput) -> Params {
        let mut p = Params::new();
        p.push("u", self.cred.username.clone());
        for (k, v) in &input.params {
            p.push(k.clone(), v.clone());
        }
        p
    }

    fn plan(&self, params: &Params) -> HashPlan {
        plan(self.method, params, self.is_admin(), &self.opts)
    }

    fn wire(&self, verb: HttpVerb, pairs: &[(String, String)]) -> Wire {
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), v))
            .collect::<Vec<_>>()
            .join("&");
        Wire {
            verb,
            // The name the target answers to for the method (quirk served_names).
            method: self
                .target
                .quirks
                .name_to_send(self.method, &self.method.name)
                .to_string(),
            query,
        }
    }

    /// Pairs of `params` form-encoded, plus `hash` last.
    fn encoded(params: &Params, digest: Option<&str>) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), form_encode(v)))
            .collect();
        if let Some(d) = digest {
            out.push(("hash".into(), d.to_string()));
        }
        out
    }

    /// Hashed parameter names sent in attack bases, except `u`.
    fn hashed_values(&self) -> Vec<&str> {
        self.method
            .hash_order(self.target.quirks.hash_variant(&self.method.name))
            .iter()
            .map(String::as_str)
            .filter(|n| *n != "u")
            .collect()
    }

    fn u_hashed(&self) -> bool {
        self.method
            .hash_order(self.target.quirks.hash_variant(&self.method.name))
            .iter()
            .any(|n| n == "u")
            && (self.method.u_in_hash == model::catalogue::UInHash::Always || !self.is_admin())
    }
}

/// What a property needs to hold for one answer.
enum Expectation {
    Refused,
    Accepted,
}

fn run_property(
    target: &Target,
    method: &Method,
    property: &str,
    args: &PropsArgs,
    seed: u64,
    saved: &[&CaseInput],
) -> (PropertyResult, Option<CaseInput>) {
    let mut result = PropertyResult {
        method: method.name.to_string(),
        property: property.to_string(),
        verdict: Verdict::Skipped,
        cases: 0,
        message: String::new(),
    };
    let Some((role, cred)) = caller(method, &target.credentials) else {
        result.message = "no credentials for a role that may call it".into();
        return (result, None);
    };
    if method.writes && target.foreign && !args.allow_writes {
        result.message = "writes: needs --allow-writes against a real target".into();
        return (result, None);
    }
    let general = &Catalogue::embedded().product(target.product).general;
    let mut documented: BTreeSet<String> = method.errors.iter().map(|e| e.text.clone()).collect();
    for g in [
        &general.api_disabled,
        &general.get_disabled,
        &general.bad_login,
        &general.incorrect_hash,
        &general.access_denied,
        &general.not_authorized,
        &general.feature_disabled,
        &general.unknown_method,
    ] {
        documented.insert(g.text.clone());
    }
    if let Some(t) = &method.bad_login_error {
        documented.insert(t.clone());
    }
    for t in target.quirks.extra_errors(&method.name) {
        documented.insert((*t).to_string());
    }
    for a in &method.access {
        if let Some(t) = &a.permission_error {
            documented.insert(t.clone());
        }
    }
    let ctx = MethodCtx {
        target,
        method,
        role,
        cred,
        opts: SignOptions::from_quirks(&target.quirks, &method.name, target.today),
        incorrect_hash: general.incorrect_hash.text.clone(),
        get_disabled: general.get_disabled.text.clone(),
        documented,
    };
    if let Some(reason) = not_applicable(&ctx, property) {
        result.message = reason;
        return (result, None);
    }
    let strategy = strategy(&ctx, property);
    let transport_error: RefCell<Option<String>> = RefCell::new(None);
    let cases = Cell::new(0u64);
    let test = |input: CaseInput| -> Result<(), TestCaseError> {
        if transport_error.borrow().is_some() {
            return Ok(());
        }
        cases.set(cases.get() + 1);
        match check_case(&ctx, property, &input) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(m)) => Err(TestCaseError::fail(m)),
            Err(t) => {
                *transport_error.borrow_mut() = Some(t);
                Ok(())
            }
        }
    };
    // Saved regressions first.
    for input in saved {
        if let Err(e) = test((*input).clone()) {
            result.cases = cases.get();
            result.verdict = Verdict::Failed;
            result.message = format!(
                "{} (saved regression replayed: {})",
                reason_text(&e),
                show_input(&ctx, input)
            );
            classify_observed(&ctx, &mut result);
            return (result, None);
        }
    }
    let config = Config {
        cases: args.cases,
        failure_persistence: None,
        max_shrink_iters: 512,
        ..Config::default()
    };
    let rng = TestRng::from_seed(
        RngAlgorithm::ChaCha,
        &property_seed(seed, target.product, &method.name, property),
    );
    let mut runner = TestRunner::new_with_rng(config, rng);
    let outcome = runner.run(&strategy, test);
    result.cases = cases.get();
    if let Some(t) = transport_error.borrow().clone() {
        result.verdict = Verdict::Error;
        result.message = t;
        return (result, None);
    }
    match outcome {
        Ok(()) => {
            result.verdict = Verdict::Passed;
            if property == "concatenation_boundary" {
                result.message =
                    "accepted, the documented weakness: the same hash string from other parameters"
                        .into();
            }
            (result, None)
        }
        Err(TestError::Fail(reason, input)) => {
            result.verdict = Verdict::Failed;
            result.message = format!(
                "{}; minimal case: {}",
                reason.message(),
                show_input(&ctx, &input)
            );
            classify_observed(&ctx, &mut result);
            (result, Some(input))
        }
        Err(TestError::Abort(reason)) => {
            result.verdict = Verdict::Error;
            result.message = format!("the generator gave up: {}", reason.message());
            (result, None)
        }
    }
}

fn reason_text(e: &TestCaseError) -> String {
    match e {
        TestCaseError::Fail(r) | TestCaseError::Reject(r) => r.message().to_string(),
    }
}

fn classify_observed(ctx: &MethodCtx<'_>, r: &mut PropertyResult) {
    if ctx.target.foreign {
        if let Some(q) = quirk_of(&r.property) {
            r.verdict = Verdict::Observed;
            r.message = format!("the target behaves like quirk {q}: {}", r.message);
        }
    }
}

fn show_input(ctx: &MethodCtx<'_>, input: &CaseInput) -> String {
    let p = ctx.params(input);
    let sent: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    let mut s = format!("as {} [{}]", ctx.role, sent.join(", "));
    if input.pick != 0 || !input.text.is_empty() || input.flag {
        let _ = write!(
            s,
            " pick={} text={:?} flag={}",
            input.pick, input.text, input.flag
        );
    }
    s
}

/// Why a property does not apply to this method on this target, if it does not.
fn not_applicable(ctx: &MethodCtx<'_>, property: &str) -> Option<String> {
    if !ctx.target.quirks.serves_method(ctx.method) {
        return Some(
            "the target answers to none of this method's names (quirk served_names)".into(),
        );
    }
    if ctx.target.quirks.is_unimplemented(&ctx.method.name) {
        return Some(
            "the target does not implement this method (quirk unimplemented_methods)".into(),
        );
    }
    let valid = property.starts_with("valid_") || property == "get_vs_post";
    if valid {
        return None;
    }
    if !ctx.target.hash_check {
        return Some("hash checking is off on the target (settings)".into());
    }
    let m = ctx.method;
    if ctx.target.quirks.is_open(&m.name) {
        return Some("the target checks no hash for this method (quirk open_methods)".into());
    }
    if ctx.target.quirks.hash_unchecked(&m.name) {
        return Some("the target checks no hash for this method (quirk login_answers)".into());
    }
    if !m.hash_required {
        // Optional hash (user_simple_balance_get): verified only when sent, with the secret of
        // the user its `id` names, which generated requests do not know.
        return Some(
            "the hash is optional for this method (catalogue hash_required: false)".into(),
        );
    }
    let values = ctx.hashed_values().len();
    let parts = values + usize::from(ctx.u_hashed());
    match property {
        "reordered" if parts < 2 => Some("fewer than two hashed values".into()),
        "concatenation_boundary" if values < 2 => {
            Some("fewer than two hashed values other than u".into())
        }
        "value_changed_after_signing"
        | "empty_vs_missing"
        | "duplicated_parameter"
        | "url_encoding"
        | "encoded_before_hashing"
            if values == 0 =>
        {
            Some("no hashed value other than u".into())
        }
        _ => None,
    }
}

// ------------------------------------------------------------------ generation

const CURRENCIES: [&str; 4] = ["USD", "EUR", "GBP", "JPY"];

/// A value inside the parameter's domain (`nonempty`: never the empty string).
fn in_domain(p: &Param, today: (i64, i64), nonempty: bool) -> BoxedStrategy<String> {
    let int = prop_oneof![3 => 0u64..20, 1 => 0u64..100_000].prop_map(|n| n.to_string());
    match p.kind {
        ParamType::String => {
            if nonempty {
                regex("[a-z0-9_]{1,10}")
            } else {
                regex("[a-zA-Z0-9_.@-]{0,12}")
            }
        }
        ParamType::Integer => int.boxed(),
        ParamType::Number => prop_oneof![
            (0i64..100_000, 0u32..100).prop_map(|(i, f)| format!("{i}.{f:02}")),
            (-1000i64..1000).prop_map(|i| i.to_string()),
        ]
        .boxed(),
        ParamType::Timestamp => ((today.0 - 40 * 86_400)..(today.1 + 2 * 86_400))
            .prop_map(|t| t.to_string())
            .boxed(),
        ParamType::Flag => prop_oneof![Just("0".to_string()), Just("1".to_string())].boxed(),
        ParamType::Enum if !p.values.is_empty() => {
            proptest::sample::select(p.values.clone()).boxed()
        }
        ParamType::Enum => regex("[a-z]{1,8}"),
        ParamType::Currency => {
            proptest::sample::select(CURRENCIES.map(str::to_string).to_vec()).boxed()
        }
        ParamType::IdOrAll => prop_oneof![Just("all".to_string()), int].boxed(),
    }
}

/// Strings matching `pattern`, its regex parsed once, here (a `&str` used as a strategy parses
/// it again for every case). The patterns are this file's constants: a debug build (the tests
/// running props) asserts each parses; a release build would give empty strings instead.
fn regex(pattern: &str) -> BoxedStrategy<String> {
    let parsed = proptest::string::string_regex(pattern);
    debug_assert!(parsed.is_ok(), "props pattern {pattern:?} does not parse");
    parsed
        .map(Strategy::boxed)
        .unwrap_or_else(|_| Just(String::new()).boxed())
}

/// A value outside every domain (or at its edges).
fn out_of_domain() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        regex("\\PC{1,20}"),
        regex("-[0-9]{1,6}"),
        regex("[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}"),
        regex("[a-z]{1,4}[ &=+%/?#;][a-z]{1,4}"),
        regex("[0-9]{20,40}"),
        Just("NaN".to_string()),
        Just("1e308".to_string()),
        Just("0x1F".to_string()),
        Just("all".to_string()),
        regex("[a-z]{200,300}"),
    ]
    .boxed()
}

fn strategy(ctx: &MethodCtx<'_>, property: &str) -> BoxedStrategy<CaseInput> {
    let today = ctx.target.today;
    let m = ctx.method;
    let password = ctx.cred.password.clone();
    let mut fields: Vec<BoxedStrategy<Option<(String, String)>>> = Vec::new();
    let attack = !property.starts_with("valid_");
    let hashed: Vec<String> = ctx.hashed_values().iter().map(|s| s.to_string()).collect();
    for p in &m.params {
        if p.name == "u" {
            continue;
        }
        let name = p.name.clone();
        let value: BoxedStrategy<String> = if p.name == "p" && password.is_some() {
            let pw = password.clone().unwrap_or_default();
            if property == "valid_out_of_domain" {
                prop_oneof![Just(pw), out_of_domain()].boxed()
            } else {
                Just(pw).boxed()
            }
        } else if attack && hashed.contains(&p.name) {
            // Attack bases send every hashed value, non-empty and not its default, so removing
            // or emptying one changes the hash string.
            let default = p.resolved_default(today);
            in_domain(p, today, true)
                .prop_map(move |v| {
                    if Some(&v) == default.as_ref() {
                        format!("{v}1")
                    } else {
                        v
                    }
                })
                .boxed()
        } else if property == "valid_out_of_domain" {
            prop_oneof![in_domain(p, today, false), out_of_domain()].boxed()
        } else {
            in_domain(p, today, false)
        };
        let always = p.required || (attack && hashed.contains(&p.name));
        let field = if always && property != "valid_out_of_domain" {
            value.prop_map(move |v| Some((name.clone(), v))).boxed()
        } else if always {
            proptest::option::weighted(0.9, value)
                .prop_map(move |v| v.map(|v| (name.clone(), v)))
                .boxed()
        } else {
            proptest::option::weighted(0.4, value)
                .prop_map(move |v| v.map(|v| (name.clone(), v)))
                .boxed()
        };
        fields.push(field);
    }
    let text: BoxedStrategy<String> = match property {
        "wrong_secret" => regex("[A-Za-z0-9]{1,16}"),
        "value_changed_after_signing" | "duplicated_parameter" => regex("[a-z0-9]{1,6}"),
        "url_encoding" => regex("[a-z]{1,4} [a-z]{1,4}"),
        "encoded_before_hashing" => regex("[a-z]{1,4}[ &=+/:@é][a-z]{1,4}"),
        _ => Just(String::new()).boxed(),
    };
    (fields, 0usize..1000, text, any::<bool>())
        .prop_map(|(fields, pick, text, flag)| CaseInput {
            params: fields.into_iter().flatten().collect(),
            pick,
            text,
            flag,
        })
        .boxed()
}

// ------------------------------------------------------------------ checking

/// Send one case and check it: Ok(Ok) held, Ok(Err(why)) broke, Err(transport failure).
fn check_case(
    ctx: &MethodCtx<'_>,
    property: &str,
    input: &CaseInput,
) -> Result<Result<(), String>, String> {
    let secret = ctx.cred.secret.as_str();
    let params = ctx.params(input);
    let base_plan = ctx.plan(&params);
    let good = base_plan.digest(secret);
    let post = |pairs: &[(String, String)]| ctx.wire(HttpVerb::Post, pairs);
    let signed = |digest: &str| post(&MethodCtx::encoded(&params, Some(digest)));
    // The plan over other parts, unless they hash the same string as the good signature (then the
    // attack is no attack and the case holds).
    let resigned = |parts: Vec<HashPart>| {
        let other = HashPlan::new(base_plan.method.clone(), parts);
        (other.values() != base_plan.values()).then_some(other)
    };
    let (wire, expect, what) = match property {
        "valid_in_domain" | "valid_out_of_domain" => {
            let w = signed(&good);
            let seen = Seen::of(&ctx.target.send(&w)?, &ctx.target.known);
            return Ok(match &seen {
                Seen::Error(t) if *t == ctx.incorrect_hash => Err(format!(
                    "a freshly signed request got `{t}` ({} signed over {}): {}",
                    w.shown(),
                    base_plan.explain(),
                    seen.describe()
                )),
                Seen::Error(t) if !ctx.documented.contains(t) => {
                    Err(format!("undocumented error `{t}` for {}", w.shown()))
                }
                Seen::Malformed(d) => Err(format!(
                    "neither a success nor a documented error for {}: {d}",
                    w.shown()
                )),
                _ => Ok(()),
            });
        }
        "get_vs_post" => {
            let w = signed(&good);
            let by_post = Seen::of(&ctx.target.send(&w)?, &ctx.target.known);
            let mut g = w.clone();
            g.verb = HttpVerb::Get;
            let by_get = Seen::of(&ctx.target.send(&g)?, &ctx.target.known);
            let get_disabled = Seen::Error(ctx.get_disabled.clone());
            // A method of the quirk open_methods is not gated by GET (X3 simple_balance, balance).
            let open = ctx.target.quirks.is_open(&ctx.method.name);
            let allowed = ctx
                .target
                .allow_get
                .map(|a| open || (a && ctx.method.http.contains(&HttpVerb::Get)));
            let same = match (&by_post, &by_get) {
                (Seen::Success(a), Seen::Success(b)) => a == b || ctx.method.writes,
                (a, b) => a == b,
            };
            let ok = match allowed {
                Some(true) => same,
                Some(false) => by_get == get_disabled,
                None => same || by_get == get_disabled,
            };
            return Ok(if ok {
                Ok(())
            } else {
                Err(format!(
                    "GET answered {} where POST answered {} (GET {}) for {}",
                    by_get.describe(),
                    by_post.describe(),
                    match allowed {
                        Some(true) => "allowed",
                        Some(false) => "disabled",
                        None => "unknown",
                    },
                    g.shown()
                ))
            });
        }
        "digest_one_char" => {
            let pos = input.pick % 40;
            let mut chars: Vec<char> = good.chars().collect();
            let old = chars[pos].to_digit(16).unwrap_or(0);
            let new = (old + 1 + (input.pick / 40) as u32 % 15) % 16;
            chars[pos] = char::from_digit(new, 16).unwrap_or('0');
            let d: String = chars.into_iter().collect();
            (
                signed(&d),
                Expectation::Refused,
                format!("digest with character {pos} changed"),
            )
        }
        "uppercase_digest" => {
            let d = good.to_ascii_uppercase();
            if d == good {
                return Ok(Ok(()));
            }
            (signed(&d), Expectation::Refused, "uppercase digest".into())
        }
        "wrong_secret" => {
            let mut other = input.text.clone();
            if other == secret {
                other.push('x');
            }
            (
                signed(&base_plan.digest(&other)),
                Expectation::Refused,
                "digest with a wrong secret".into(),
            )
        }
        "no_secret" => (
            signed(&base_plan.digest("")),
            Expectation::Refused,
            "digest without the secret".into(),
        ),
        "no_hash" => (
            post(&MethodCtx::encoded(&params, None)),
            Expectation::Refused,
            "no hash parameter".into(),
        ),
        "value_changed_after_signing" => {
            let names = ctx.hashed_values();
            let Some(&name) = names.get(input.pick % names.len().max(1)) else {
                return Ok(Ok(()));
            };
            let mut changed = params.clone();
            let old = changed.get(name).unwrap_or("").to_string();
            let mut new = input.text.clone();
            if new == old {
                new.push('0');
            }
            changed.set(name, new);
            if ctx.plan(&changed).values() == base_plan.values() {
                return Ok(Ok(()));
            }
            (
                post(&MethodCtx::encoded(&changed, Some(&good))),
                Expectation::Refused,
                format!("`{name}` changed after signing"),
            )
        }
        "reordered" => {
            let n = base_plan.parts.len();
            if n < 2 {
                // One value (the global rule left the others out): no other order exists.
                return Ok(Ok(()));
            }
            let k = 1 + input.pick % (n - 1);
            let mut parts: Vec<HashPart> = base_plan.parts.clone();
            parts.rotate_left(k);
            let Some(other) = resigned(parts) else {
                return Ok(Ok(()));
            };
            (
                signed(&other.digest(secret)),
                Expectation::Refused,
                format!("signed in the order [{}]", other.order().join(", ")),
            )
        }
        "concatenation_boundary" => {
            // Move one character across a boundary between two adjacent non-u values: the
            // concatenation is the same, the parameters differ.
            let idx: Vec<usize> = base_plan
                .parts
                .iter()
                .enumerate()
                .filter(|(_, p)| p.name != "u" && !p.defaulted)
                .map(|(i, _)| i)
                .collect();
            let pairs: Vec<(usize, usize)> = idx
                .windows(2)
                .filter(|w| w[1] == w[0] + 1)
                .map(|w| (w[0], w[1]))
                .collect();
            if pairs.is_empty() {
                return Ok(Ok(()));
            }
            let (a, b) = pairs[input.pick % pairs.len()];
            let (mut va, mut vb) = (
                base_plan.parts[a].value.clone(),
                base_plan.parts[b].value.clone(),
            );
            if input.flag {
                let Some(c) = va.pop() else { return Ok(Ok(())) };
                vb.insert(0, c);
            } else {
                if vb.is_empty() {
                    return Ok(Ok(()));
                }
                let c = vb.remove(0);
                va.push(c);
            }
            let mut moved = params.clone();
            moved.set(&base_plan.parts[a].name, va);
            moved.set(&base_plan.parts[b].name, vb);
            if ctx.plan(&moved).values() != base_plan.values() {
                // An emptied value dropped out of the hash string (skip): not this attack.
                return Ok(Ok(()));
            }
            (
                post(&MethodCtx::encoded(&moved, Some(&good))),
                Expectation::Accepted,
                format!(
                    "a character moved between `{}` and `{}` (same hash string)",
                    base_plan.parts[a].name, base_plan.parts[b].name
                ),
            )
        }
        "empty_vs_missing" => {
            let names = ctx.hashed_values();
            let Some(&name) = names.get(input.pick % names.len().max(1)) else {
                return Ok(Ok(()));
            };
            let mut changed = params.clone();
            if input.flag {
                changed.set(name, "");
            } else {
                changed.remove(name);
            }
            if ctx.plan(&changed).values() == base_plan.values() {
                return Ok(Ok(()));
            }
            (
                post(&MethodCtx::encoded(&changed, Some(&good))),
                Expectation::Refused,
                format!(
                    "signed over `{name}` then sent it {}",
                    if input.flag { "empty" } else { "missing" }
                ),
            )
        }
        "duplicated_parameter" => {
            let names = ctx.hashed_values();
            let Some(&name) = names.get(input.pick % names.len().max(1)) else {
                return Ok(Ok(()));
            };
            let signed_value = params.get(name).unwrap_or("").to_string();
            let mut other = input.text.clone();
            if other == signed_value {
                other.push('0');
            }
            let mut pairs = MethodCtx::encoded(&params, None);
            // flag: the signed value comes last (Rails reads it: accepted); else first (refused).
            let extra = (name.to_string(), form_encode(&other));
            match pairs.iter().position(|(k, _)| k == name) {
                Some(i) if input.flag => pairs.insert(i, extra),
                Some(i) => pairs.insert(i + 1, extra),
                None => return Ok(Ok(())),
            }
            let mut with_other = params.clone();
            with_other.set(name, other.clone());
            if ctx.plan(&with_other).values() == base_plan.values() {
                return Ok(Ok(()));
            }
            pairs.push(("hash".into(), good.clone()));
            (
                post(&pairs),
                if input.flag {
                    Expectation::Accepted
                } else {
                    Expectation::Refused
                },
                format!(
                    "`{name}` sent twice, the signed value {}",
                    if input.flag {
                        "last (Rails: last wins)"
                    } else {
                        "first (Rails reads the last)"
                    }
                ),
            )
        }
        "url_encoding" | "encoded_before_hashing" => {
            let names = ctx.hashed_values();
            let Some(&name) = names.get(input.pick % names.len().max(1)) else {
                return Ok(Ok(()));
            };
            let mut changed = params.clone();
            changed.set(name, input.text.clone());
            let p = ctx.plan(&changed);
            let mut pairs = MethodCtx::encoded(&changed, None);
            if property == "url_encoding" {
                // `%20` instead of `+`: the server decodes both to a space before hashing.
                for (k, v) in pairs.iter_mut() {
                    if k == name {
                        *v = v.replace('+', "%20");
                    }
                }
                pairs.push(("hash".into(), p.digest(secret)));
                (
                    post(&pairs),
                    Expectation::Accepted,
                    format!("`{name}` sent with %20 for a space, signed over the decoded value"),
                )
            } else {
                let enc = HashPlan::new(
                    p.method.clone(),
                    p.parts
                        .iter()
                        .map(|x| HashPart {
                            value: form_encode(&x.value),
                            ..x.clone()
                        })
                        .collect(),
                );
                if enc.values() == p.values() {
                    return Ok(Ok(()));
                }
                pairs.push(("hash".into(), enc.digest(secret)));
                (
                    post(&pairs),
                    Expectation::Refused,
                    format!("signed over the encoded `{name}` instead of the decoded value"),
                )
            }
        }
        "u_in_hash" => {
            let mut parts = base_plan.parts.clone();
            let what = if parts.iter().any(|p| p.name == "u") {
                parts.retain(|p| p.name != "u");
                "u left out of the hash string"
            } else {
                let u = HashPart {
                    name: "u".into(),
                    value: ctx.cred.username.clone(),
                    defaulted: false,
                };
                if input.flag {
                    parts.push(u);
                } else {
                    parts.insert(0, u);
                }
                "u added to the hash string"
            };
            let Some(other) = resigned(parts) else {
                return Ok(Ok(()));
            };
            (
                signed(&other.digest(secret)),
                Expectation::Refused,
                what.into(),
            )
        }
        other => return Ok(Err(format!("unknown property {other}"))),
    };
    let seen = Seen::of(&ctx.target.send(&wire)?, &ctx.target.known);
    let refused = matches!(&seen, Seen::Error(t) if *t == ctx.incorrect_hash);
    Ok(match expect {
        Expectation::Refused if refused => Ok(()),
        Expectation::Refused => Err(format!(
            "attack {property} ({what}) was not refused: expected `{}`, got {} for {}",
            ctx.incorrect_hash,
            seen.describe(),
            wire.shown()
        )),
        Expectation::Accepted if refused || matches!(seen, Seen::Malformed(_)) => Err(format!(
            "attack {property} ({what}) should pass the hash check, got {} for {}",
            seen.describe(),
            wire.shown()
        )),
        Expectation::Accepted => Ok(()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_seeds_differ_per_property_and_repeat_per_seed() {
        let a = property_seed(7, Product::M4, "quickstats_get", "no_secret");
        let b = property_seed(7, Product::M4, "quickstats_get", "wrong_secret");
        assert_ne!(a, b);
        assert_eq!(
            a,
            property_seed(7, Product::M4, "quickstats_get", "no_secret")
        );
    }

    #[test]
    fn a_shown_request_never_carries_the_digest() {
        let w = Wire {
            verb: HttpVerb::Post,
            method: "m".into(),
            query: "u=admin&hash=0123456789abcdef0123456789abcdef01234567".into(),
        };
        assert_eq!(w.shown(), "POST /billing/api/m?u=admin&hash=<redacted>");
        let w = Wire {
            query: "u=user1&p=user1&username=user1".into(),
            ..w
        };
        assert_eq!(
            w.shown(),
            "POST /billing/api/m?u=user1&p=<password>&username=user1"
        );
    }

    #[test]
    fn every_property_but_the_valid_ones_names_an_attack() {
        for p in PROPERTIES {
            let broken = matches!(
                p,
                "digest_one_char"
                    | "wrong_secret"
                    | "no_secret"
                    | "no_hash"
                    | "value_changed_after_signing"
            );
            assert_eq!(
                quirk_of(p).is_none(),
                broken || p.starts_with("valid_"),
                "{p}"
            );
        }
    }
}
