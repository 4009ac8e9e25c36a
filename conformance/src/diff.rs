//! `mor-conformance diff`: send the same signed requests to two deployments (a baseline and a
//! candidate) and report every difference between their answers, grouped by method.
//!
//! The flow: requests (the read-only cases of the scenario files given, or one request per read
//! method generated from the catalogue with its default parameters) -> for each, sign and send
//! it to the baseline, to the candidate, then to the baseline again (`client`) -> flatten each
//! answer into paths and values (the canonical XML tree of `model::xml`, plus `@status` and
//! `@delivery`) -> compare -> report.
//!
//! Volatile values are not differences:
//! - paths whose values differ between the two baseline answers (noise, estimated per request);
//! - paths matching an `--ignore` pattern: `/page/quickstats/today/calls` (from the root),
//!   `today/calls` (any suffix), `*` for one segment, `**` for any number, `[k]` indices
//!   optional, and an optional `method:` prefix (`quickstats_get:**/revenue`);
//! - values that are dates or date-times on both sides (they follow each server's clock),
//!   unless `--keep-dates`.
//!
//! Each side signs with its own credentials (flags, environment, or a target file per side) and
//! its known quirks (the target file's `quirks`). Write methods are sent only with
//! `--allow-writes`. Exit code: 3 if any exchange failed, else 4 if the answers differ, else 0.
//! No secret and no digest appears in the output: answers are masked value by value as they are
//! flattened and requests are shown parameter by parameter (`secret`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use model::catalogue::{Catalogue, Method, ParamType, Product};
use model::scenario::{Encoding, ParamList, Request, Signing};
use model::xml::{canonicalize, parse, Element, ValueType};
use serde::Serialize;

use crate::client::{build, today_utc, Answer, Client, Delivery, Limits, SignContext};
use crate::exit::Failure;
use crate::plan::{self, Selection};
use crate::secret::Known;
use crate::target::{External, TargetFile};

/// Arguments of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Scenario files or directories whose cases are sent (default: one request per read method,
    /// generated from the catalogue).
    #[arg(value_name = "PATHS")]
    pub paths: Vec<PathBuf>,
    /// Base URL of the baseline deployment.
    #[arg(long, value_name = "URL")]
    pub baseline: Option<String>,
    /// Base URL of the candidate deployment.
    #[arg(long, value_name = "URL")]
    pub candidate: Option<String>,
    /// A target file for the baseline (base URL, credentials per role, known quirks).
    #[arg(long, value_name = "FILE")]
    pub baseline_target_file: Option<PathBuf>,
    /// A target file for the candidate.
    #[arg(long, value_name = "FILE")]
    pub candidate_target_file: Option<PathBuf>,
    /// Product: mor, m4 (m2 is m4). Default: the baseline target file's, else m4.
    #[arg(long, env = "MOR_PRODUCT")]
    pub product: Option<Product>,
    /// The admin's username on both sides (default: the target files', else `admin`).
    #[arg(long)]
    pub username: Option<String>,
    /// Environment variable holding the admin's API secret on both sides (default `MOR_SECRET`).
    #[arg(long, value_name = "VAR", conflicts_with = "secret_file")]
    pub secret_env: Option<String>,
    /// File holding the admin's API secret on both sides.
    #[arg(long, value_name = "FILE")]
    pub secret_file: Option<PathBuf>,
    /// Environment variable holding the baseline admin's secret (overrides --secret-env).
    #[arg(long, value_name = "VAR", conflicts_with = "baseline_secret_file")]
    pub baseline_secret_env: Option<String>,
    /// File holding the baseline admin's secret.
    #[arg(long, value_name = "FILE")]
    pub baseline_secret_file: Option<PathBuf>,
    /// Environment variable holding the candidate admin's secret (overrides --secret-env).
    #[arg(long, value_name = "VAR", conflicts_with = "candidate_secret_file")]
    pub candidate_secret_env: Option<String>,
    /// File holding the candidate admin's secret.
    #[arg(long, value_name = "FILE")]
    pub candidate_secret_file: Option<PathBuf>,
    /// A volatile path to ignore (repeatable; see the module documentation for the syntax).
    #[arg(long = "ignore", value_name = "PATH")]
    pub ignore: Vec<String>,
    /// Compare date and date-time values too (by default they follow the clock and are ignored).
    #[arg(long)]
    pub keep_dates: bool,
    /// Send the write cases of the scenarios too.
    #[arg(long)]
    pub allow_writes: bool,
    /// Requests per second at most (both sides together; one request in flight at a time).
    #[arg(long, value_parser = crate::flags::rate, default_value_t = 10.0, value_name = "R")]
    pub rate: f64,
    /// Per-request timeout in seconds.
    #[arg(long, value_parser = crate::flags::seconds, default_value_t = 10.0, value_name = "SECS")]
    pub timeout: f64,
    /// Largest body accepted, in bytes (after gzip decoding).
    #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
    pub max_body: usize,
    /// Write the differences as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// An extra catalogue file adding or overriding methods.
    #[arg(long, value_name = "FILE")]
    pub catalogue: Option<PathBuf>,
}

/// One side of a diff: its base URL, credentials per role and known quirks.
pub type Side = External;

/// One request to send to both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffRequest {
    /// Where it comes from (`file:line` or `catalogue`).
    pub origin: String,
    /// The request.
    pub request: Request,
}

/// One differing path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathDiff {
    /// The path (`/page/balance`, `@status`, `text()`).
    pub path: String,
    /// The baseline's value (`nothing` when absent).
    pub baseline: String,
    /// The candidate's value.
    pub candidate: String,
}

/// The differences of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestDiff {
    /// The method (canonical name).
    pub method: String,
    /// The request as sent (`hash=<redacted>`).
    pub request: String,
    /// Where it comes from.
    pub origin: String,
    /// The differing paths, sorted.
    pub paths: Vec<PathDiff>,
}

/// The result of a diff.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DiffReport {
    /// Product.
    pub product: String,
    /// Requests sent (to each side).
    pub requests: usize,
    /// Requests with differences, grouped by method (sorted by method, then request order).
    pub differences: Vec<RequestDiff>,
    /// Paths ignored because the two baseline answers differed, per method.
    pub noise: BTreeMap<String, BTreeSet<String>>,
    /// Requests not sent, with the reason.
    pub skipped: Vec<String>,
    /// Failed exchanges (the diff is incomplete).
    pub errors: Vec<String>,
}

/// Run `diff` and return the exit code; everything is printed here.
pub fn run(args: DiffArgs) -> i32 {
    crate::exit::finish(run_inner(args))
}

fn run_inner(args: DiffArgs) -> Result<i32, Failure> {
    let catalogue = plan::catalogue(args.catalogue.as_deref())?;
    let load =
        |f: &Option<PathBuf>| TargetFile::load_or_default(f.as_deref()).map_err(Failure::invalid);
    let btf = load(&args.baseline_target_file)?;
    let ctf = load(&args.candidate_target_file)?;
    let product = args
        .product
        .or(btf.product)
        .or(ctf.product)
        .unwrap_or(plan::DEFAULT_PRODUCT);
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        return Err(Failure::usage("--rate must be a positive number"));
    }
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        return Err(Failure::usage(
            "--timeout must be a positive number of seconds",
        ));
    }
    let side = |url: &Option<String>,
                tf: &TargetFile,
                env: &Option<String>,
                file: &Option<PathBuf>,
                which: &str|
     -> Result<Side, Failure> {
        let base = url.clone().or(tf.base_url.clone()).ok_or_else(|| {
            Failure::usage(format!(
                "diff needs --{which} URL (or --{which}-target-file with a base_url)"
            ))
        })?;
        let (env, file) = match (env, file) {
            (None, None) => (&args.secret_env, &args.secret_file),
            given => given,
        };
        External::resolve(
            &base,
            tf,
            args.username.as_deref(),
            env.as_deref(),
            file.as_deref(),
        )
        .map_err(|m| Failure::usage(format!("{which}: {m}")))
    };
    let baseline = side(
        &args.baseline,
        &btf,
        &args.baseline_secret_env,
        &args.baseline_secret_file,
        "baseline",
    )?;
    let candidate = side(
        &args.candidate,
        &ctf,
        &args.candidate_secret_env,
        &args.candidate_secret_file,
        "candidate",
    )?;
    let mut skipped = Vec::new();
    let requests = if args.paths.is_empty() {
        let admin = baseline
            .credentials
            .get("admin")
            .map_or("admin".to_string(), |c| c.username.clone());
        from_catalogue(&catalogue, product, &admin)
    } else {
        let files = plan::collect_files(&args.paths)?;
        let loaded = plan::load(&files, &catalogue)?;
        let sel = Selection {
            product: Some(product),
            ..Selection::default()
        };
        let planned = plan::select(loaded, &sel, &catalogue);
        from_plan(
            &planned,
            &catalogue,
            args.allow_writes,
            &[&baseline, &candidate],
            &mut skipped,
        )
    };
    let ignore: Vec<Pattern> = args.ignore.iter().map(|p| Pattern::new(p)).collect();
    let client = Client::new(Limits {
        timeout: Duration::from_secs_f64(args.timeout),
        max_body: args.max_body,
        rate: Some(args.rate),
        retries: 0,
    })
    .map_err(Failure::runtime)?;
    let mut known = baseline.credentials.known();
    known.extend(&candidate.credentials.known());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    let opts = CompareOptions {
        ignore,
        keep_dates: args.keep_dates,
        known,
    };
    let mut report = runtime.block_on(diff(
        &client, &catalogue, product, &baseline, &candidate, &requests, &opts,
    ));
    report.skipped.extend(skipped);
    let text = terminal(&report, &baseline.base, &candidate.base);
    crate::out!("{text}");
    let mut code = if !report.errors.is_empty() {
        crate::exit::RUNTIME
    } else if !report.differences.is_empty() {
        crate::exit::ASSERTION
    } else {
        crate::exit::PASS
    };
    if let Some(f) = &args.json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|t| std::fs::write(f, t).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("mor-conformance: cannot write {}: {e}", f.display());
            code = crate::exit::RUNTIME;
        }
    }
    Ok(code)
}

/// One request per read method of `product` (not user_login / user_logout, which need a
/// password and a session), with its required parameters filled: defaults where the catalogue
/// has them, `admin` for usernames, 0 (the admin's id) for user ids, 1 for other ids.
pub fn from_catalogue(catalogue: &Catalogue, product: Product, admin: &str) -> Vec<DiffRequest> {
    let today = (0, 86_399);
    let mut out = Vec::new();
    for m in catalogue.product(product).methods() {
        if m.writes || m.name == "user_login" || m.name == "user_logout" {
            continue;
        }
        let mut params = Vec::new();
        let mut wanted: Vec<&str> = m
            .params
            .iter()
            .filter(|p| p.required && p.name != "u" && p.name != "p")
            .map(|p| p.name.as_str())
            .collect();
        for group in &m.require_one_of {
            if !group.iter().any(|n| wanted.contains(&n.as_str())) {
                if let Some(first) = group.first() {
                    wanted.push(first);
                }
            }
        }
        for name in wanted {
            params.push((name.to_string(), default_value(m, name, admin, today)));
        }
        out.push(DiffRequest {
            origin: "catalogue".into(),
            request: Request {
                method: m.name.to_string(),
                caller: if m.param("u").is_some() {
                    "admin".into()
                } else {
                    "nobody".into()
                },
                u: None,
                params: ParamList(params),
                http: None,
                encoding: Encoding::Query,
                sign: Signing::Auto,
                path: None,
            },
        });
    }
    out
}

fn default_value(m: &Method, name: &str, admin: &str, today: (i64, i64)) -> String {
    let p = m.param(name);
    if let Some(d) = p.and_then(|p| p.resolved_default(today)) {
        return d;
    }
    if name == "username" || name.ends_with("_username") {
        return admin.to_string();
    }
    if name == "user_id" || name.ends_with("user_id") || name == "s_user" {
        return "0".into();
    }
    match p.map(|p| p.kind) {
        Some(ParamType::Currency) => "USD".into(),
        Some(ParamType::Flag) => "0".into(),
        Some(ParamType::Timestamp) => today.0.to_string(),
        Some(ParamType::Enum) => p
            .and_then(|p| p.values.first().cloned())
            .unwrap_or_else(|| "1".into()),
        _ => "1".into(),
    }
}

/// The cases of a plan as requests: read-only ones (writes with `allow_writes`), whose caller
/// both sides have credentials for, each distinct request once.
fn from_plan(
    planned: &plan::Plan,
    catalogue: &Catalogue,
    allow_writes: bool,
    sides: &[&Side],
    skipped: &mut Vec<String>,
) -> Vec<DiffRequest> {
    let mut out: Vec<DiffRequest> = Vec::new();
    for pc in planned.cases() {
        let r = &pc.case.request;
        let origin = format!("{}:{}", pc.file, pc.line);
        let writes = catalogue
            .method(planned.product, &r.method)
            .is_some_and(|m| m.writes);
        if writes && !allow_writes {
            skipped.push(format!(
                "{origin} {}: writes (needs --allow-writes)",
                r.method
            ));
            continue;
        }
        let role = if r.caller == "nobody" {
            "admin"
        } else {
            r.caller.as_str()
        };
        if sides.iter().any(|s| s.credentials.get(role).is_none()) {
            skipped.push(format!(
                "{origin} {}: no credentials for role `{role}` on both sides",
                r.method
            ));
            continue;
        }
        if out.iter().any(|d| d.request == *r) {
            continue;
        }
        out.push(DiffRequest {
            origin,
            request: r.clone(),
        });
    }
    out
}

/// What counts as a difference.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// Paths ignored.
    pub ignore: Vec<Pattern>,
    /// Compare dates too.
    pub keep_dates: bool,
    /// What the answers are masked with.
    pub known: Known,
}

/// Send every request to both sides (the baseline twice) and compare the answers.
pub async fn diff(
    client: &Client,
    catalogue: &Catalogue,
    product: Product,
    baseline: &Side,
    candidate: &Side,
    requests: &[DiffRequest],
    opts: &CompareOptions,
) -> DiffReport {
    let mut report = DiffReport {
        product: product.to_string(),
        ..DiffReport::default()
    };
    let today = today_utc();
    for dr in requests {
        let r = &dr.request;
        let method = catalogue
            .method(product, &r.method)
            .map_or(r.method.clone(), |m| m.name.to_string());
        fn ctx<'a>(
            catalogue: &'a Catalogue,
            product: Product,
            side: &'a Side,
            today: (i64, i64),
        ) -> SignContext<'a> {
            SignContext {
                catalogue,
                product,
                quirks: &side.quirks,
                today,
            }
        }
        let built_b = build(
            r,
            &baseline.credentials,
            &ctx(catalogue, product, baseline, today),
            &baseline.base,
        );
        let built_c = build(
            r,
            &candidate.credentials,
            &ctx(catalogue, product, candidate, today),
            &candidate.base,
        );
        let (bb, bc) = match (built_b, built_c) {
            (Ok(b), Ok(c)) => (b, c),
            (Err(e), _) | (_, Err(e)) => {
                report
                    .skipped
                    .push(format!("{} {}: {e}", dr.origin, r.method));
                continue;
            }
        };
        report.requests += 1;
        let shown = show_request(r, &bb);
        let b1 = client.send(&bb).await;
        let c = client.send(&bc).await;
        let b2 = client.send(&bb).await;
        let (b1, c, b2) = match (b1, c, b2) {
            (Ok(b1), Ok(c), Ok(b2)) => (b1, c, b2),
            (b1, c, b2) => {
                for (side, res) in [("baseline", b1), ("candidate", c), ("baseline", b2)] {
                    if let Err(e) = res {
                        report
                            .errors
                            .push(format!("{shown} [{}]: {side}: {e}", dr.origin));
                    }
                }
                continue;
            }
        };
        let (f1, fc, f2) = (
            flatten(&b1, &opts.known),
            flatten(&c, &opts.known),
            flatten(&b2, &opts.known),
        );
        let noise: BTreeSet<String> = keys(&f1, &f2)
            .into_iter()
            .filter(|k| f1.get(k) != f2.get(k))
            .collect();
        if !noise.is_empty() {
            report
                .noise
                .entry(method.clone())
                .or_default()
                .extend(noise.iter().cloned());
        }
        let mut paths = Vec::new();
        for k in keys(&f1, &fc) {
            let (a, b) = (f1.get(&k), fc.get(&k));
            if a == b || noise.contains(&k) {
                continue;
            }
            if opts.ignore.iter().any(|p| p.matches(&method, &k)) {
                continue;
            }
            if !opts.keep_dates {
                if let (Some(a), Some(b)) = (a, b) {
                    let dated =
                        |v: &str| matches!(ValueType::of(v), ValueType::Date | ValueType::DateTime);
                    if dated(a) && dated(b) {
                        continue;
                    }
                }
            }
            paths.push(PathDiff {
                path: k.clone(),
                baseline: a.cloned().unwrap_or_else(|| "nothing".into()),
                candidate: b.cloned().unwrap_or_else(|| "nothing".into()),
            });
        }
        if !paths.is_empty() {
            report.differences.push(RequestDiff {
                method,
                request: shown,
                origin: dr.origin.clone(),
                paths,
            });
        }
    }
    // Grouped by method; within a method, in request order (the sort is stable).
    report.differences.sort_by(|a, b| a.method.cmp(&b.method));
    report
}

fn keys(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let mut k: BTreeSet<String> = a.keys().cloned().collect();
    k.extend(b.keys().cloned());
    k.into_iter().collect()
}

/// The request as the report shows it: path, parameters, `hash=<redacted>`.
fn show_request(r: &Request, built: &crate::client::BuiltRequest) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (k, v) in built.query.iter().chain(built.body.iter()) {
        parts.push(format!("{k}={}", crate::secret::shown_param(k, v)));
    }
    let mut s = r.method.clone();
    if let Some(h) = r.http {
        let _ = write!(
            s,
            " [{}]",
            if h == model::catalogue::HttpVerb::Get {
                "GET"
            } else {
                "POST"
            }
        );
    }
    if r.encoding != Encoding::Query {
        let _ = write!(s, " [{:?}]", r.encoding);
    }
    if r.sign != Signing::Auto {
        let _ = write!(s, " [sign {:?}]", r.sign);
    }
    if !parts.is_empty() {
        s.push(' ');
        s.push_str(&parts.join(" "));
    }
    s
}

/// An answer as paths and values: `@status`, `@delivery`, then the canonical XML tree (leaf
/// texts and attributes) or `text()` for a body that is not XML, every value masked by `known`.
pub fn flatten(answer: &Answer, known: &Known) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("@status".to_string(), answer.status.to_string());
    out.insert(
        "@delivery".to_string(),
        match answer.delivery {
            Delivery::Plain => "plain",
            Delivery::ContentEncoding => "content_encoding",
            Delivery::GzipBody => "gzip_body",
            Delivery::ZipBody => "zip_body",
        }
        .to_string(),
    );
    let text = answer.text();
    let trimmed = text.trim();
    match trimmed
        .starts_with('<')
        .then(|| parse(trimmed).ok())
        .flatten()
    {
        Some(doc) => {
            let root = canonicalize(&known.element(&doc.root, crate::secret::REPORT));
            walk(&root, &format!("/{}", root.name), &mut out);
        }
        None => {
            out.insert(
                "text()".to_string(),
                known.text(trimmed, crate::secret::REPORT),
            );
        }
    }
    out
}

fn walk(el: &Element, path: &str, out: &mut BTreeMap<String, String>) {
    for (k, v) in &el.attrs {
        out.insert(format!("{path}/@{k}"), v.clone());
    }
    let children: Vec<&Element> = el.elements().collect();
    if children.is_empty() {
        out.insert(path.to_string(), el.text_content().trim().to_string());
        return;
    }
    for (i, c) in children.iter().enumerate() {
        let same = children.iter().filter(|s| s.name == c.name).count();
        let p = if same > 1 {
            let k = children[..=i].iter().filter(|s| s.name == c.name).count();
            format!("{path}/{}[{k}]", c.name)
        } else {
            format!("{path}/{}", c.name)
        };
        walk(c, &p, out);
    }
}

/// An `--ignore` pattern (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    method: Option<String>,
    anchored: bool,
    segments: Vec<String>,
}

impl Pattern {
    /// Parse a pattern: `[method:]path`.
    pub fn new(text: &str) -> Pattern {
        let (method, path) = match text.split_once(':') {
            Some((m, p)) if !m.contains('/') && !m.is_empty() => (Some(m.to_string()), p),
            _ => (None, text),
        };
        let anchored = path.starts_with('/');
        let segments = path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        Pattern {
            method,
            anchored,
            segments,
        }
    }

    /// Whether the pattern matches `path` of an answer of `method`.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if self.method.as_deref().is_some_and(|m| m != method) {
            return false;
        }
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let pat: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        if self.anchored {
            glob(&pat, &segs)
        } else {
            (0..=segs.len()).any(|i| glob(&pat, &segs[i..]))
        }
    }
}

fn segment_matches(pat: &str, seg: &str) -> bool {
    if pat == "*" || pat == seg {
        return true;
    }
    // `call` matches `call[3]`.
    !pat.contains('[') && seg.split('[').next() == Some(pat)
}

fn glob(pat: &[&str], segs: &[&str]) -> bool {
    match pat.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|i| glob(rest, &segs[i..])),
        Some((p, rest)) => match segs.split_first() {
            Some((s, srest)) => segment_matches(p, s) && glob(rest, srest),
            None => false,
        },
    }
}

/// Paths shown per request in the terminal report.
const MAX_SHOWN: usize = 20;

/// The terminal report: differences grouped by method, then noise, skips, errors and a last
/// line `N differences in R requests` or `no differences`.
pub fn terminal(r: &DiffReport, baseline: &str, candidate: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "diff ({}): baseline {baseline} vs candidate {candidate}",
        r.product
    );
    let _ = writeln!(
        out,
        "{} requests, each sent to the baseline twice and to the candidate once",
        r.requests
    );
    let mut last: Option<&str> = None;
    for d in &r.differences {
        if last != Some(d.method.as_str()) {
            let _ = writeln!(out, "\n{}", d.method);
            last = Some(d.method.as_str());
        }
        let _ = writeln!(out, "  {}  ({})", d.request, d.origin);
        for p in d.paths.iter().take(MAX_SHOWN) {
            let _ = writeln!(
                out,
                "    {}: baseline {}, candidate {}",
                p.path,
                crate::check::excerpt(&p.baseline),
                crate::check::excerpt(&p.candidate)
            );
        }
        if d.paths.len() > MAX_SHOWN {
            let _ = writeln!(out, "    ... and {} more paths", d.paths.len() - MAX_SHOWN);
        }
    }
    if r.differences.iter().any(|d| d.paths.len() > MAX_SHOWN) {
        let _ = writeln!(
            out,
            "\n(at most {MAX_SHOWN} paths shown per request; --json FILE lists them all)"
        );
    }
    if !r.noise.is_empty() {
        let _ = writeln!(
            out,
            "\nvolatile (the two baseline answers differ; ignored):"
        );
        for (m, paths) in &r.noise {
            let list: Vec<&str> = paths.iter().map(String::as_str).collect();
            let _ = writeln!(out, "  {m}: {}", list.join(", "));
        }
    }
    if !r.skipped.is_empty() {
        let _ = writeln!(out, "\nnot sent:");
        for s in &r.skipped {
            let _ = writeln!(out, "  {s}");
        }
    }
    if !r.errors.is_empty() {
        let _ = writeln!(out, "\nfailed exchanges (the diff is incomplete):");
        for e in &r.errors {
            let _ = writeln!(out, "  {e}");
        }
    }
    let n: usize = r.differences.iter().map(|d| d.paths.len()).sum();
    if n == 0 {
        let _ = writeln!(out, "\nno differences");
    } else {
        let methods: BTreeSet<&str> = r.differences.iter().map(|d| d.method.as_str()).collect();
        let _ = writeln!(
            out,
            "\n{n} differences in {} requests of {} methods",
            r.differences.len(),
            methods.len()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_from_the_root_as_a_suffix_with_globs_and_methods() {
        let p = Pattern::new("today/revenue");
        assert!(p.matches("quickstats_get", "/page/quickstats/today/revenue"));
        assert!(!p.matches("quickstats_get", "/page/quickstats/month/revenue"));
        assert!(Pattern::new("/page/*/today/**").matches("x", "/page/quickstats/today/a/b"));
        assert!(!Pattern::new("/quickstats/today").matches("x", "/page/quickstats/today"));
        assert!(Pattern::new("calls/call/dst").matches("x", "/page/calls/call[2]/dst"));
        assert!(!Pattern::new("calls/call[1]/dst").matches("x", "/page/calls/call[2]/dst"));
        let m = Pattern::new("quickstats_get:**/revenue");
        assert!(m.matches("quickstats_get", "/page/revenue"));
        assert!(!m.matches("devices_get", "/page/revenue"));
    }

    #[test]
    fn flattening_names_every_leaf_attribute_status_and_delivery() {
        let a = Answer {
            status: 200,
            content_type: None,
            delivery: Delivery::Plain,
            body: b"<page><a x=\"1\">2</a><b>3</b><b>4</b></page>".to_vec(),
            date: None,
        };
        let f = flatten(&a, &Known::default());
        assert_eq!(f.get("/page/a/@x").map(String::as_str), Some("1"));
        assert_eq!(f.get("/page/a").map(String::as_str), Some("2"));
        assert_eq!(f.get("/page/b[2]").map(String::as_str), Some("4"));
        assert_eq!(f.get("@status").map(String::as_str), Some("200"));
        let t = Answer {
            body: b"60.0".to_vec(),
            date: None,
            ..a
        };
        assert_eq!(
            flatten(&t, &Known::default())
                .get("text()")
                .map(String::as_str),
            Some("60.0")
        );
    }
}
