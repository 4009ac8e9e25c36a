//! `mor-conformance probe`: fingerprint a deployment. A small, signed, read-only set of requests
//! (one at a time, at most `--rate` per second) tells the positions of the named quirks apart
//! (see `model::quirks`), shows which settings are visibly on, which error wrappers the deployment
//! uses, which hash order each probed method accepts, and which product it runs. The result is a
//! profile: a scenario fragment (`version`, `products`, `settings`, `quirks`, a `description`, and
//! comments saying what could not be told and why), so `mor-mock --scenario profile.yaml` then
//! answers the way the deployment does (PRODUCT.md principle 3).
//!
//! How each position is told (every request signed as the admin; a hash is "accepted" when the
//! answer is anything but `Incorrect hash`, because the hash is checked before permissions,
//! features and validation):
//!
//! - `api_enabled`: the first quickstats_get answers, or answers `API Requests are disabled`;
//! - `hash_hex_case`: the lowercase and the uppercase digest of the same request;
//! - `hash_check` / `hash_verification`: no hash, a corrupted digest, a digest without the secret;
//! - `hash_order`: user_details_get with `username` sent before `user_id`, signed in catalogue
//!   and in request-line order;
//! - `hash_variants`: every read method with variants, signed over the union of the candidates'
//!   parameters with each candidate order (and a corrupted digest, for methods that check none);
//! - `absent_hash_params`: user_calls_get with the defaulted parameters left out, signed with
//!   them skipped and with their defaults filled;
//! - `mor_hash_rule` (MOR): user_calls_get with `order_by`, signed by the method page's list and
//!   by the X3 code's global rule; under the global rule `hash_order`, `hash_variants` and
//!   `absent_hash_params` are not probed (one order decides every method);
//! - `json_body`: the same user_details_get as a JSON body;
//! - `error_precedence`: an unknown `u` without a hash (`Bad login` or `Incorrect hash` first);
//! - `error_http_status`: the status of the error answers;
//! - `allow_get`: quickstats_get by GET;
//! - `balance_over_http`, `balance_get_requires_u`: user_balance_get with and without `u`;
//! - `gzip_delivery`: how devices_get's gzipped answer comes;
//! - `xml_extension` / `xml_extension_wrapper`: whether answers come wrapped in HTML, and how;
//! - `aggregates_get_alias`: whether `/billing/api/aggregates_get` routes;
//! - `unimplemented_methods`: which of the methods MOR X3 lacks answer as an unknown method to an
//!   unsigned request (a served one refuses the hash; nothing is written); without
//!   quickstats_get the baseline, GET and product probes use payments_get (and the product is
//!   MOR: M2/M4 serve quickstats_get);
//! - `balance_update`, `balance_update_nesting`: only with `--allow-writes` (the admin's balance
//!   is raised by 1 twice, read back and restored);
//! - product: quickstats_get has `<month>` on M4 only, and MOR answers `Access Denied` for an
//!   unknown `u` there (M4: `Bad login`).
//!
//! The positions told are compared with every named profile of the product
//! (`catalogue/profiles.yaml`): the report names the nearest (most positions matching; the
//! product's default on a tie) and the positions where it differs.
//!
//! Secrets come from environment variables or files; neither a secret nor a digest appears in
//! the profile or the output.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use model::catalogue::{Catalogue, HttpVerb, Param, ParamType, Product, Wrapper};
use model::params::Params;
use model::quirks::{
    AbsentParams, BalanceUpdate, GzipDelivery, HashOrder, HashVerification, HexCase, MorHashRule,
    Nesting, Precedence, Quirks, QuirksPatch, XmlExtensionWrapper,
};
use model::scenario::{Encoding, Scenario};
use model::settings::SettingsPatch;
use model::sign::{plan, HashPlan, SignOptions};
use model::xml::Element;
use serde::Serialize;
use thiserror::Error;

use crate::check;
use crate::client::{today_utc, Answer, BuiltRequest, Client, Delivery, Limits, TransportError};
use crate::exit::Failure;
use crate::secret::Known;
use crate::target::{api_url, Credential, TargetArgs};

/// Arguments of `probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The deployment, its target file, product and admin credentials.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Write the profile here (default: print it).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write the profile as JSON, with every request sent and its answer (`observations`).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Requests per second at most (one request in flight at a time).
    #[arg(long, value_parser = crate::flags::rate, default_value_t = 10.0, value_name = "R")]
    pub rate: f64,
    /// Per-request timeout in seconds.
    #[arg(long, value_parser = crate::flags::seconds, default_value_t = 10.0, value_name = "SECS")]
    pub timeout: f64,
    /// Largest body accepted, in bytes (after gzip decoding).
    #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
    pub max_body: usize,
    /// Also send write requests (user_balance_update on the admin, restored afterwards) to tell
    /// `balance_update` and `balance_update_nesting`.
    #[arg(long)]
    pub allow_writes: bool,
    /// An extra catalogue file adding or overriding methods.
    #[arg(long, env = "MOR_CATALOGUE", value_name = "FILE")]
    pub catalogue: Option<PathBuf>,
}

/// Why a probe could not finish.
#[derive(Debug, Error)]
pub enum ProbeError {
    /// The target did not answer.
    #[error("{0}")]
    Transport(#[from] TransportError),
    /// The target answered, but refused the admin (nothing can be told).
    #[error("the target refuses the admin: {0}")]
    Refused(String),
}

/// Where a probe goes and as whom.
#[derive(Debug, Clone)]
pub struct ProbeTarget {
    /// Base URL.
    pub base: String,
    /// The product, if known (else told from the answers).
    pub product: Option<Product>,
    /// The admin's credentials.
    pub admin: Credential,
    /// Whether write requests may be sent.
    pub allow_writes: bool,
    /// What the target's answers are masked with.
    pub known: Known,
}

/// One request of a probe and what came back (no secret, no digest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observation {
    /// What the request tells.
    pub label: String,
    /// Method, HTTP method, encoding and parameters (`hash=<redacted>`).
    pub request: String,
    /// HTTP status.
    pub status: u16,
    /// How the body came (`plain`, `content_encoding`, `gzip_body`).
    pub delivery: String,
    /// `ok`, `error TEXT (wrapper)` or `not an API answer`.
    pub answer: String,
}

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// The product (given, or told from the answers).
    pub product: Product,
    /// What the answers say about product and version.
    pub clues: Vec<String>,
    /// Settings that could be told.
    pub settings: SettingsPatch,
    /// Quirk positions that could be told.
    pub quirks: QuirksPatch,
    /// Per probed method, which hash order it accepted.
    pub hash_orders: BTreeMap<String, String>,
    /// Error text -> the wrapper it came in.
    pub wrappers: BTreeMap<String, String>,
    /// What could not be told, and why.
    pub untold: Vec<String>,
    /// The named profiles of the product (`catalogue/profiles.yaml`), nearest first: how many of
    /// the quirk positions told match each, and which differ.
    pub nearest: Vec<ProfileMatch>,
    /// Every request sent and its answer, in order.
    pub observations: Vec<Observation>,
}

impl Profile {
    /// The profile as a scenario fragment (no world, no cases, no secret).
    pub fn scenario(&self) -> Scenario {
        let mut description = format!(
            "Quirk positions and settings observed by mor-conformance probe ({} requests).",
            self.observations.len()
        );
        if !self.untold.is_empty() {
            description.push_str(" Not told: ");
            let names: Vec<&str> = self
                .untold
                .iter()
                .map(|u| u.split(':').next().unwrap_or(u))
                .collect();
            description.push_str(&names.join(", "));
            description.push_str(" (see the comments).");
        }
        Scenario {
            version: 1,
            name: Some(format!("probed profile ({})", self.product)),
            description,
            products: vec![self.product],
            tags: vec!["profile".into()],
            clock: None,
            world: None,
            settings: Some(self.settings.clone()),
            quirks: Some(self.quirks.clone()),
            overlay: None,
            cases: Vec::new(),
        }
    }

    /// The profile file: comments (clues, hash orders, wrappers, what was not told) and the
    /// scenario fragment. Deterministic: the same answers give the same text.
    pub fn to_yaml(&self) -> Result<String, String> {
        let mut out = String::new();
        out.push_str("# Profile written by `mor-conformance probe`: a scenario fragment.\n");
        out.push_str(
            "# `mor-mock --scenario THIS_FILE` answers the way the probed deployment did.\n",
        );
        let section = |out: &mut String, title: &str, lines: &[String]| {
            if lines.is_empty() {
                return;
            }
            let _ = writeln!(out, "#\n# {title}:");
            for l in lines {
                let _ = writeln!(out, "#   {l}");
            }
        };
        section(&mut out, "product and version clues", &self.clues);
        section(&mut out, "named profiles", &nearest_line(self));
        let orders: Vec<String> = self
            .hash_orders
            .iter()
            .map(|(m, o)| format!("{m}: {o}"))
            .collect();
        section(&mut out, "hash order accepted per probed method", &orders);
        let wrappers: Vec<String> = self
            .wrappers
            .iter()
            .map(|(t, w)| format!("{t}: {w}"))
            .collect();
        section(&mut out, "error wrappers seen", &wrappers);
        section(
            &mut out,
            "not told (left at the mock's defaults)",
            &self.untold,
        );
        out.push('\n');
        out.push_str(&model::yaml::to_string(&self.scenario())?);
        Ok(out)
    }
}

/// Run `probe` and return the exit code; everything is printed here.
pub fn run(args: ProbeArgs) -> i32 {
    crate::exit::finish(run_inner(args))
}

fn run_inner(args: ProbeArgs) -> Result<i32, Failure> {
    let catalogue = crate::plan::catalogue(args.catalogue.as_deref())?;
    let tf = args.target.file().map_err(Failure::invalid)?;
    let base = args.target.base(&tf).ok_or_else(|| {
        Failure::usage("probe needs --target BASE_URL (or a target file's base_url)")
    })?;
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        return Err(Failure::usage("--rate must be a positive number"));
    }
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        return Err(Failure::usage(
            "--timeout must be a positive number of seconds",
        ));
    }
    let external = args.target.external(&base, &tf).map_err(Failure::usage)?;
    let admin = external
        .credentials
        .get("admin")
        .cloned()
        .ok_or_else(|| Failure::usage("no admin credentials"))?;
    let known = external.credentials.known();
    let client = Client::new(Limits {
        timeout: Duration::from_secs_f64(args.timeout),
        max_body: args.max_body,
        rate: Some(args.rate),
        retries: 0,
    })
    .map_err(Failure::runtime)?;
    let target = ProbeTarget {
        base: external.base,
        product: args.target.product(&tf),
        admin,
        allow_writes: args.allow_writes,
        known: known.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    let profile = runtime
        .block_on(probe(&target, &client, &catalogue))
        .map_err(|e| Failure::runtime(known.message(&e.to_string())))?;
    let yaml = profile
        .to_yaml()
        .map_err(|e| Failure::runtime(format!("cannot write the profile: {e}")))?;
    // The profile must load as a scenario, or the mock could not use it.
    model::scenario::load_str(&yaml, Path::new("profile.yaml"), &catalogue).map_err(|e| {
        Failure::runtime(format!(
            "the written profile does not load as a scenario: {e}"
        ))
    })?;
    if let Some(f) = &args.json {
        let text = serde_json::to_string_pretty(&profile)
            .map_err(|e| Failure::runtime(format!("cannot render JSON: {e}")))?;
        std::fs::write(f, text)
            .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", f.display())))?;
    }
    match &args.out {
        Some(f) => {
            std::fs::write(f, &yaml)
                .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", f.display())))?;
            crate::out!("{}", summary(&profile));
            crate::outln!("profile written to {}", f.display());
        }
        None => crate::out!("{yaml}"),
    }
    Ok(crate::exit::PASS)
}

/// A short terminal summary of a profile.
pub fn summary(p: &Profile) -> String {
    let mut out = format!("probed {} ({} requests)\n", p.product, p.observations.len());
    let fields = |v: serde_json::Value| -> Vec<String> {
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| match v {
                        serde_json::Value::String(s) => format!("{k}: {s}"),
                        other => format!("{k}: {other}"),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    for l in fields(serde_json::to_value(&p.settings).unwrap_or_default()) {
        let _ = writeln!(out, "  setting {l}");
    }
    for l in fields(serde_json::to_value(&p.quirks).unwrap_or_default()) {
        let _ = writeln!(out, "  quirk {l}");
    }
    for u in &p.untold {
        let _ = writeln!(out, "  not told: {u}");
    }
    for l in nearest_line(p) {
        let _ = writeln!(out, "  {l}");
    }
    out
}

/// Probe `target` and return what it shows.
pub async fn probe(
    target: &ProbeTarget,
    client: &Client,
    catalogue: &Catalogue,
) -> Result<Profile, ProbeError> {
    let mut p = Prober {
        cat: catalogue,
        product: target.product.unwrap_or(Product::M4),
        client,
        target,
        today: today_utc(),
        known: Quirks::default(),
        profile: Profile {
            product: target.product.unwrap_or(Product::M4),
            clues: Vec::new(),
            settings: SettingsPatch::default(),
            quirks: QuirksPatch::default(),
            hash_orders: BTreeMap::new(),
            wrappers: BTreeMap::new(),
            untold: Vec::new(),
            nearest: Vec::new(),
            observations: Vec::new(),
        },
        error_statuses: Vec::new(),
    };
    p.run().await?;
    p.profile.nearest = nearest_profiles(p.profile.product, &p.profile.quirks);
    Ok(p.profile)
}

/// How one named profile compares with the quirk positions a probe told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileMatch {
    /// The profile's name.
    pub name: String,
    /// Quirk positions told that equal the profile's.
    pub matching: usize,
    /// Quirk positions told.
    pub told: usize,
    /// Each differing quirk: `quirk: told P, profile Q`.
    pub differs: Vec<String>,
}

/// Rank the profiles of `product` against the positions `told`: most matching positions first,
/// then the product's default profile, then by name.
pub fn nearest_profiles(product: Product, told: &QuirksPatch) -> Vec<ProfileMatch> {
    let profiles = model::profile::Profiles::embedded();
    let told_json = serde_json::to_value(told).unwrap_or_default();
    let told_map = told_json.as_object().cloned().unwrap_or_default();
    let default = profiles.default_of(product).name.clone();
    let mut out: Vec<ProfileMatch> = profiles
        .of(product)
        .map(|prof| {
            let mut matching = 0;
            let mut differs = Vec::new();
            for (q, v) in &told_map {
                let told_pos = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                match model::profile::position_of(&prof.quirks, q) {
                    Some(p) if p == told_pos => matching += 1,
                    Some(p) => differs.push(format!("{q}: told {told_pos}, profile {p}")),
                    None => {}
                }
            }
            ProfileMatch {
                name: prof.name.clone(),
                matching,
                told: told_map.len(),
                differs,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.matching
            .cmp(&a.matching)
            .then_with(|| (b.name == default).cmp(&(a.name == default)))
            .then_with(|| a.name.cmp(&b.name))
    });
    out
}

/// The nearest profile in a sentence: `nearest profile: x3 (5 of 5 quirk positions told match)`,
/// with the positions that differ.
pub fn nearest_line(p: &Profile) -> Vec<String> {
    let Some(best) = p.nearest.first() else {
        return Vec::new();
    };
    let mut lines = vec![format!(
        "nearest profile: {} ({} of {} quirk positions told match{})",
        best.name,
        best.matching,
        best.told,
        if best.differs.is_empty() {
            String::new()
        } else {
            format!("; differs: {}", best.differs.join("; "))
        }
    )];
    for other in &p.nearest[1..] {
        lines.push(format!(
            "then {} ({} of {} match)",
            other.name, other.matching, other.told
        ));
    }
    lines
}

/// How an answer reads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// A working answer.
    Success,
    /// An error in the API's vocabulary.
    Error(String, Option<Wrapper>),
    /// Not an API answer (an HTML page, a 404 of the web server).
    Other,
}

/// An answer, read.
#[derive(Debug, Clone)]
struct Reply {
    status: u16,
    delivery: Delivery,
    verdict: Verdict,
    root: Option<Element>,
    text: String,
    extension: Option<XmlExtensionWrapper>,
}

impl Reply {
    fn error_text(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::Error(t, _) => Some(t.as_str()),
            _ => None,
        }
    }

    fn value(&self, path: &str) -> Option<String> {
        self.root.as_ref().and_then(|r| check::value_at(r, path))
    }
}

/// How the digest of a probe request is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tweak {
    /// In the hex case the target accepts (lowercase until told otherwise).
    AsIs,
    /// Uppercase.
    Upper,
    /// Lowercase.
    Lower,
    /// One hex digit changed.
    Corrupt,
    /// Without the secret.
    NoSecret,
    /// No `hash` at all.
    Missing,
}

/// One probe request.
#[derive(Debug, Clone)]
struct Ask {
    label: String,
    path: String,
    method: String,
    u: Option<String>,
    params: Vec<(String, String)>,
    verb: HttpVerb,
    encoding: Encoding,
    opts: Option<SignOptions>,
    tweak: Tweak,
}

impl Ask {
    fn new(label: impl Into<String>, method: &str, u: Option<&str>) -> Ask {
        Ask {
            label: label.into(),
            path: method.to_string(),
            method: method.to_string(),
            u: u.map(str::to_string),
            params: Vec::new(),
            verb: HttpVerb::Post,
            encoding: Encoding::Query,
            opts: None,
            tweak: Tweak::AsIs,
        }
    }
    fn p(mut self, k: &str, v: impl Into<String>) -> Ask {
        self.params.push((k.to_string(), v.into()));
        self
    }
    fn tweak(mut self, t: Tweak) -> Ask {
        self.tweak = t;
        self
    }
    fn opts(mut self, o: SignOptions) -> Ask {
        self.opts = Some(o);
        self
    }
}

struct Prober<'a> {
    cat: &'a Catalogue,
    product: Product,
    client: &'a Client,
    target: &'a ProbeTarget,
    today: (i64, i64),
    /// What is known so far (signing follows it).
    known: Quirks,
    profile: Profile,
    error_statuses: Vec<u16>,
}

/// The username no deployment has (for the unknown-`u` requests).
const NOBODY: &str = "mor-probe-nobody";

/// The methods the MOR X3 controller has no action for (quirk `unimplemented_methods`), as the
/// `x3` profile lists them. Probed unsigned and without parameters: nothing is named, so even
/// the writes among them change nothing where the hash is not checked.
fn x3_lacks() -> Vec<String> {
    model::profile::Profiles::embedded()
        .get(Product::Mor, "x3")
        .map(|p| p.quirks.unimplemented_methods.iter().cloned().collect())
        .unwrap_or_default()
}

/// The names the MOR X3 controller answers to (quirk `served_names`), as the `x3` profile
/// lists them: a target answering to X3's names only is told this list.
fn x3_served_names() -> std::collections::BTreeSet<String> {
    model::profile::Profiles::embedded()
        .get(Product::Mor, "x3")
        .map(|p| p.quirks.served_names.clone())
        .unwrap_or_default()
}

impl Prober<'_> {
    fn admin(&self) -> String {
        self.target.admin.username.clone()
    }

    fn untold(&mut self, what: &str, why: &str) {
        self.profile.untold.push(format!("{what}: {why}"));
    }

    fn incorrect_hash(&self) -> String {
        self.cat
            .product(self.product)
            .general
            .incorrect_hash
            .text
            .clone()
    }

    /// Whether the hash of the request was accepted (see the module documentation).
    fn accepted(&self, r: &Reply) -> bool {
        match &r.verdict {
            Verdict::Error(t, _) => *t != self.incorrect_hash(),
            Verdict::Success => true,
            Verdict::Other => false,
        }
    }

    fn is_bad_login(&self, r: &Reply) -> bool {
        let g = &self.cat.product(self.product).general;
        r.error_text()
            .is_some_and(|t| t == g.bad_login.text || t == g.access_denied.text)
    }

    /// The sign options under what is known (any order signs in catalogue order).
    fn known_opts(&self, method: &str) -> SignOptions {
        let mut o = SignOptions::from_quirks(&self.known, method, self.today);
        if o.order == HashOrder::Any {
            o.order = HashOrder::Catalogue;
        }
        o
    }

    fn hash_plan(&self, ask: &Ask, params: &Params) -> HashPlan {
        let opts = ask
            .opts
            .clone()
            .unwrap_or_else(|| self.known_opts(&ask.method));
        let is_admin = ask.u.as_deref() == Some(self.target.admin.username.as_str());
        match self.cat.method(self.product, &ask.method) {
            Some(m) => plan(m, params, is_admin, &opts),
            None => HashPlan::new(ask.method.clone(), Vec::new()),
        }
    }

    async fn ask(&mut self, ask: Ask) -> Result<Reply, ProbeError> {
        let mut params = Params::new();
        if let Some(u) = &ask.u {
            params.push("u", u.clone());
        }
        for (k, v) in &ask.params {
            params.push(k.clone(), v.clone());
        }
        let digest = if ask.tweak == Tweak::Missing {
            None
        } else {
            let plan = self.hash_plan(&ask, &params);
            let secret = if ask.tweak == Tweak::NoSecret {
                ""
            } else {
                self.target.admin.secret.as_str()
            };
            let d = plan.digest(secret);
            let upper = self.known.hash_hex_case == HexCase::Upper;
            Some(match ask.tweak {
                Tweak::Upper => d.to_ascii_uppercase(),
                Tweak::Lower => d,
                Tweak::Corrupt => {
                    let c = corrupt(&d);
                    if upper {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                }
                _ if upper => d.to_ascii_uppercase(),
                _ => d,
            })
        };
        if let Some(d) = &digest {
            params.push("hash", d.clone());
        }
        let (query, body) = match (ask.encoding, ask.verb) {
            (Encoding::Query, _) | (_, HttpVerb::Get) => (params.clone(), Params::new()),
            _ => (Params::new(), params.clone()),
        };
        // Asked by a method's name: the name the target is known to answer to.
        let path = match self.cat.method(self.product, &ask.method) {
            Some(m) if ask.path == ask.method => self.known.name_to_send(m, &ask.path).to_string(),
            _ => ask.path.clone(),
        };
        let req = BuiltRequest {
            verb: ask.verb,
            url: api_url(&self.target.base, &path),
            query,
            body,
            encoding: ask.encoding,
            signature: None,
            digest,
            secret_params: Vec::new(),
        };
        let answer = self.client.send(&req).await?;
        let reply = read_reply(&answer, &self.target.known);
        let shown: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", crate::secret::shown_param(k, v)))
            .collect();
        let verb = match ask.verb {
            HttpVerb::Post => "POST",
            HttpVerb::Get => "GET",
        };
        let enc = match ask.encoding {
            Encoding::Query => "",
            Encoding::Form => " (form)",
            Encoding::Json => " (json)",
        };
        let answer_text = match &reply.verdict {
            Verdict::Success => "ok".to_string(),
            Verdict::Error(t, w) => {
                let w = wrapper_name(*w);
                self.profile.wrappers.insert(t.clone(), w.clone());
                self.error_statuses.push(reply.status);
                format!("error `{t}` ({w})")
            }
            Verdict::Other => "not an API answer".to_string(),
        };
        self.profile.observations.push(Observation {
            label: ask.label.clone(),
            request: format!("{verb} {}{enc} {}", ask.path, shown.join(" ")),
            status: reply.status,
            delivery: delivery_name(reply.delivery).to_string(),
            answer: answer_text,
        });
        Ok(reply)
    }

    async fn run(&mut self) -> Result<(), ProbeError> {
        let admin = self.admin();
        let g = self.cat.product(self.product).general.clone();
        // 0. Which of the methods X3 lacks are served: unsigned, so a served one refuses the
        // hash (nothing is written) and an unserved one says so.
        let mut lacking = std::collections::BTreeSet::new();
        for m in x3_lacks() {
            let r = self
                .ask(Ask::new("unimplemented_methods", &m, Some(&admin)).tweak(Tweak::Missing))
                .await?;
            if unserved(&r, &g.unknown_method.text) {
                lacking.insert(m);
            }
        }
        // 0b. Whether the target answers to the current names or only to X3's action names
        // (quirk served_names): user_details_get and its X3 name user_details, unsigned.
        let current = self
            .ask(Ask::new("served_names", "user_details_get", Some(&admin)).tweak(Tweak::Missing))
            .await?;
        let mut old =
            Ask::new("served_names", "user_details_get", Some(&admin)).tweak(Tweak::Missing);
        old.path = "user_details".into();
        let old = self.ask(old).await?;
        let x3_names = x3_served_names();
        let current_served = !unserved(&current, &g.unknown_method.text);
        if !current_served && !unserved(&old, &g.unknown_method.text) && !x3_names.is_empty() {
            self.known.served_names = x3_names.clone();
            self.profile.quirks.served_names = Some(x3_names);
        } else if current_served {
            self.profile.quirks.served_names = Some(Default::default());
        } else {
            self.untold(
                "served_names",
                "neither user_details_get nor user_details is served",
            );
        }
        // The baseline is quickstats_get, or payments_get where quickstats_get is not served.
        let baseline = if lacking.contains("quickstats_get") {
            "payments_get"
        } else {
            "quickstats_get"
        };
        // 1. A working request, the settings it shows, and the hex case if lowercase fails.
        let base = self
            .ask(Ask::new("baseline", baseline, Some(&admin)).tweak(Tweak::Lower))
            .await?;
        if base.error_text() == Some(g.api_disabled.text.as_str()) {
            self.profile.settings.api_enabled = Some(false);
            self.untold(
                "everything else",
                "the API is disabled (Allow API globally is off), so every request answers the same",
            );
            self.finish_product(None, None);
            return Ok(());
        }
        let mut base = base;
        if !self.accepted(&base) {
            let up = self
                .ask(Ask::new("hash_hex_case", baseline, Some(&admin)).tweak(Tweak::Upper))
                .await?;
            if self.accepted(&up) && up.verdict == Verdict::Success {
                self.known.hash_hex_case = HexCase::Upper;
                self.profile.quirks.hash_hex_case = Some(HexCase::Upper);
                base = up;
            } else {
                return Err(ProbeError::Refused(format!(
                    "{baseline} signed with the admin's secret answers {} (check the username and the secret)",
                    describe(&base)
                )));
            }
        }
        if base.verdict != Verdict::Success {
            return Err(ProbeError::Refused(format!(
                "{baseline} as {admin} answers {} (check the username)",
                describe(&base)
            )));
        }
        self.profile.settings.api_enabled = Some(true);
        self.profile
            .hash_orders
            .insert(baseline.into(), "catalogue (admin: sha1(secret))".into());
        self.profile.settings.xml_extension = Some(base.extension.is_some());
        match base.extension {
            Some(w) => self.profile.quirks.xml_extension_wrapper = Some(w),
            None => self.untold(
                "xml_extension_wrapper",
                "the XML API Extension setting is off, so its wrapper is not visible",
            ),
        }
        let has_month = base
            .root
            .as_ref()
            .is_some_and(|r| r.at("quickstats/month").is_some());
        let has_margin = base
            .root
            .as_ref()
            .is_some_and(|r| r.at("quickstats/today/margin").is_some());

        // 2. Product: the unknown-u answer of quickstats_get (signed with u, as for a non-admin);
        // without quickstats_get, MOR X3 (M4 has it).
        if baseline == "quickstats_get" {
            let nobody = self
                .ask(Ask::new(
                    "product (unknown u)",
                    "quickstats_get",
                    Some(NOBODY),
                ))
                .await?;
            self.finish_product(Some(has_month), nobody.error_text().map(str::to_string));
        } else {
            self.profile.clues.push(
                "quickstats_get is not served (MOR X3 has no such action; M2/M4 have it)".into(),
            );
            self.product = self.target.product.unwrap_or(Product::Mor);
            self.profile.product = self.product;
        }
        if has_margin {
            self.profile
                .clues
                .push("quickstats_get has <margin> (MOR 2017 or later, or M4)".into());
        }

        // Told over the product's own methods only (M4 has none of MOR's record methods).
        let told: std::collections::BTreeSet<String> = lacking
            .iter()
            .filter(|m| self.cat.method(self.product, m).is_some())
            .cloned()
            .collect();
        self.profile.quirks.unimplemented_methods = Some(told);

        // 3. Hash checking and verification.
        let ud = |label: &str, admin: &str| {
            Ask::new(label, "user_details_get", Some(admin))
                .p("user_id", "1")
                .p("username", "mor-probe")
        };
        let missing = self
            .ask(ud("hash_check", &admin).tweak(Tweak::Missing))
            .await?;
        let mut hash_told = true;
        if self.accepted(&missing) {
            self.profile.settings.hash_check = Some(false);
            hash_told = false;
            for q in [
                "hash_hex_case",
                "hash_verification",
                "hash_order",
                "hash_variants",
                "absent_hash_params",
                "error_precedence",
            ] {
                if q == "hash_hex_case" && self.profile.quirks.hash_hex_case.is_some() {
                    continue;
                }
                self.untold(
                    q,
                    "hash checking is off (a request without hash is answered)",
                );
            }
        } else {
            self.profile.settings.hash_check = Some(true);
            let corrupt = self
                .ask(ud("hash_verification", &admin).tweak(Tweak::Corrupt))
                .await?;
            if self.accepted(&corrupt) {
                self.known.hash_verification = HashVerification::AnyDigest;
                hash_told = false;
                for q in [
                    "hash_hex_case",
                    "hash_order",
                    "hash_variants",
                    "absent_hash_params",
                ] {
                    if q == "hash_hex_case" && self.profile.quirks.hash_hex_case.is_some() {
                        continue;
                    }
                    self.untold(
                        q,
                        "any digest is accepted, so signatures cannot be told apart",
                    );
                }
            } else {
                let nosecret = self
                    .ask(ud("hash_verification", &admin).tweak(Tweak::NoSecret))
                    .await?;
                self.known.hash_verification = if self.accepted(&nosecret) {
                    HashVerification::IgnoreSecret
                } else {
                    HashVerification::Strict
                };
            }
            self.profile.quirks.hash_verification = Some(self.known.hash_verification);
        }

        if hash_told {
            // 4. Hex case (lowercase worked unless told upper above).
            if self.profile.quirks.hash_hex_case.is_none() {
                let up = self
                    .ask(ud("hash_hex_case", &admin).tweak(Tweak::Upper))
                    .await?;
                self.known.hash_hex_case = if self.accepted(&up) {
                    HexCase::Any
                } else {
                    HexCase::Lower
                };
                self.profile.quirks.hash_hex_case = Some(self.known.hash_hex_case);
            }
            // 4b. MOR: the method's own list, or the X3 code's global rule.
            let global = self.product == Product::Mor && self.probe_hash_rule(&admin).await?;
            if global {
                // One global order decides every method's values and their order: per-method
                // order, variants and filled defaults do not apply.
                for q in ["hash_order", "hash_variants", "absent_hash_params"] {
                    self.untold(
                        q,
                        "the global hash rule (mor_hash_rule) hashes every method by one order of the values sent",
                    );
                }
            } else {
                // 5. Order: username sent before user_id.
                self.probe_order(&admin).await?;
                // 6. Variants of the read methods (writes too with --allow-writes).
                self.probe_variants(&admin).await?;
                // 7. Absent optional hashed parameters.
                self.probe_absent(&admin).await?;
            }
        }

        // 8. JSON bodies.
        let mut json =
            Ask::new("json_body", "user_details_get", Some(&admin)).p("username", &admin);
        json.encoding = Encoding::Json;
        let j = self.ask(json).await?;
        let seen =
            !(self.is_bad_login(&j) || j.error_text() == Some(g.incorrect_hash.text.as_str()));
        self.known.json_body = seen;
        self.profile.quirks.json_body = Some(seen);

        // 9. Which check answers first: an unknown u and no hash.
        let prec = self
            .ask(
                Ask::new("error_precedence", "user_details_get", Some(NOBODY))
                    .p("username", "mor-probe")
                    .tweak(Tweak::Missing),
            )
            .await?;
        if self.profile.settings.hash_check == Some(true) {
            if prec.error_text() == Some(g.incorrect_hash.text.as_str()) {
                self.profile.quirks.error_precedence = Some(Precedence::HashFirst);
            } else if self.is_bad_login(&prec) {
                self.profile.quirks.error_precedence = Some(Precedence::LoginFirst);
            } else {
                self.untold(
                    "error_precedence",
                    &format!("an unknown u without hash answered {}", describe(&prec)),
                );
            }
        }
        if prec.error_text().is_some() {
            self.profile.quirks.error_http_status = Some(prec.status);
        }

        // 10. GET.
        let mut get = Ask::new("allow_get", baseline, Some(&admin));
        get.verb = HttpVerb::Get;
        let got = self.ask(get).await?;
        if got.verdict == Verdict::Success {
            self.profile.settings.allow_get = Some(true);
        } else if got.error_text() == Some(g.get_disabled.text.as_str()) {
            self.profile.settings.allow_get = Some(false);
        } else {
            self.untold("allow_get", &format!("a GET answered {}", describe(&got)));
        }

        // 11. Balance over HTTP, with and without u.
        let bal = self
            .ask(
                Ask::new("balance_over_http", "user_balance_get", Some(&admin))
                    .p("username", &admin),
            )
            .await?;
        let feature_off = bal.error_text() == Some(g.feature_disabled.text.as_str());
        self.profile.settings.balance_over_http = Some(!feature_off);
        self.note_order("user_balance_get", &bal);
        let no_u = self
            .ask(Ask::new("balance_get_requires_u", "user_balance_get", None).p("username", &admin))
            .await?;
        if self.is_bad_login(&no_u) {
            self.profile.quirks.balance_get_requires_u = Some(true);
        } else if self.accepted(&no_u) && no_u.verdict != Verdict::Other {
            self.profile.quirks.balance_get_requires_u = Some(false);
        } else {
            self.untold(
                "balance_get_requires_u",
                &format!("user_balance_get without u answered {}", describe(&no_u)),
            );
        }

        // 12. Gzip delivery: devices_get of the admin.
        let me = self
            .ask(Ask::new("admin id", "user_details_get", Some(&admin)).p("username", &admin))
            .await?;
        let admin_id = me.value("userid").unwrap_or_else(|| "0".into());
        let balance = me.value("details/main_detail/balance_number");
        let dev = self
            .ask(Ask::new("gzip_delivery", "devices_get", Some(&admin)).p("user_id", &admin_id))
            .await?;
        self.note_order("devices_get", &dev);
        if dev.verdict == Verdict::Success {
            self.profile.quirks.gzip_delivery = Some(match dev.delivery {
                Delivery::ContentEncoding => GzipDelivery::ContentEncoding,
                Delivery::GzipBody => GzipDelivery::Attachment,
                Delivery::Plain | Delivery::ZipBody => GzipDelivery::Plain,
            });
        } else {
            self.untold(
                "gzip_delivery",
                &format!("devices_get of the admin answered {}", describe(&dev)),
            );
        }

        // 13. The aggregates_get alias.
        let mut alias = Ask::new("aggregates_get_alias", "aggregate_get", Some(&admin));
        alias.path = "aggregates_get".into();
        if lacking.contains("aggregate_get") {
            self.untold(
                "aggregates_get_alias",
                "aggregate_get is not served under any name",
            );
        } else {
            let al = self.ask(alias).await?;
            let unknown = al.verdict == Verdict::Other
                || al.error_text() == Some(g.unknown_method.text.as_str())
                || (al.status == 404 && al.error_text() == Some("Not Found"));
            self.profile.quirks.aggregates_get_alias = Some(!unknown);
        }

        // 14. Writes.
        if self.target.allow_writes {
            self.probe_balance_update(&admin, &admin_id, balance)
                .await?;
        } else {
            for q in ["balance_update", "balance_update_nesting"] {
                self.untold(
                    q,
                    "needs a write (user_balance_update): probe with --allow-writes",
                );
            }
        }

        self.untold(
            "user_secret",
            "needs a reseller's user's credentials (the probe signs as the admin only)",
        );
        let mut statuses = self.error_statuses.clone();
        statuses.sort_unstable();
        statuses.dedup();
        if statuses.len() > 1 {
            self.profile.clues.push(format!(
                "error answers came with more than one HTTP status: {statuses:?}"
            ));
        }
        if let Some(v) = &self.profile.quirks.hash_variants {
            if v.is_empty() {
                self.profile.quirks.hash_variants = None;
            }
        }
        Ok(())
    }

    /// Settle the product from the flag or the clues.
    fn finish_product(&mut self, has_month: Option<bool>, unknown_u: Option<String>) {
        let mut votes = Vec::new();
        if let Some(m) = has_month {
            let p = if m { Product::M4 } else { Product::Mor };
            self.profile.clues.push(format!(
                "quickstats_get {} <month> ({})",
                if m { "has" } else { "has no" },
                if m { "M2/M4" } else { "MOR" }
            ));
            votes.push(p);
        }
        if let Some(t) = unknown_u {
            let g = &self.cat.product(Product::Mor).general;
            let p = if t == g.access_denied.text {
                Some(Product::Mor)
            } else if t == g.bad_login.text {
                Some(Product::M4)
            } else {
                None
            };
            self.profile.clues.push(format!(
                "quickstats_get with an unknown u answers `{t}`{}",
                match p {
                    Some(Product::Mor) => " (MOR)",
                    Some(_) => " (M2/M4)",
                    None => "",
                }
            ));
            votes.extend(p);
        }
        let told = match votes.as_slice() {
            [] => None,
            [first, rest @ ..] if rest.iter().all(|p| p == first) => Some(*first),
            _ => None,
        };
        match (self.target.product, told) {
            (Some(given), Some(t)) if given != t => {
                self.profile.clues.push(format!(
                    "the product was given as {given} but the answers look like {t}"
                ));
                self.product = given;
            }
            (Some(given), _) => self.product = given,
            (None, Some(t)) => self.product = t,
            (None, None) => {
                self.profile.clues.push(
                    "the product could not be told from the answers; m4 assumed (give --product)"
                        .into(),
                );
                self.product = Product::M4;
            }
        }
        self.profile.product = self.product;
    }

    fn note_order(&mut self, method: &str, r: &Reply) {
        if self.profile.hash_orders.contains_key(method) || !self.hash_checked() {
            return;
        }
        let v = match self.known.hash_variant(method) {
            Some(v) => format!("variant {v}"),
            None => "catalogue".into(),
        };
        let s = if self.accepted(r) {
            v
        } else {
            format!("not {v} (refused)")
        };
        self.profile.hash_orders.insert(method.to_string(), s);
    }

    fn hash_checked(&self) -> bool {
        self.profile.settings.hash_check == Some(true)
            && self.known.hash_verification != HashVerification::AnyDigest
    }

    async fn probe_order(&mut self, admin: &str) -> Result<(), ProbeError> {
        let ask = |label: &str, order: HashOrder, today| {
            Ask::new(label, "user_details_get", Some(admin))
                .p("username", "mor-probe")
                .p("user_id", "1")
                .opts(SignOptions {
                    absent: AbsentParams::Skip,
                    order,
                    variant: None,
                    today,
                    ..SignOptions::default()
                })
        };
        let cat = self
            .ask(ask("hash_order", HashOrder::Catalogue, self.today))
            .await?;
        let line = self
            .ask(ask("hash_order", HashOrder::RequestLine, self.today))
            .await?;
        let order = match (self.accepted(&cat), self.accepted(&line)) {
            (true, true) => Some(HashOrder::Any),
            (true, false) => Some(HashOrder::Catalogue),
            (false, true) => Some(HashOrder::RequestLine),
            (false, false) => None,
        };
        match order {
            Some(o) => {
                self.known.hash_order = o;
                self.profile.quirks.hash_order = Some(o);
                let name = serde_json::to_value(o)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                self.profile
                    .hash_orders
                    .insert("user_details_get".into(), name);
            }
            None => self.untold(
                "hash_order",
                "user_details_get refused both the catalogue and the request-line order",
            ),
        }
        Ok(())
    }

    /// MOR's hash rule: user_calls_get with `order_by` (hashed by the X3 code's global list,
    /// not by the method page's), signed by each rule. Returns whether the global rule was told.
    async fn probe_hash_rule(&mut self, admin: &str) -> Result<bool, ProbeError> {
        let base = Ask::new("mor_hash_rule", "user_calls_get", Some(admin))
            .p("period_start", self.today.0.to_string())
            .p("period_end", self.today.1.to_string())
            .p("order_by", "time")
            .p("order_desc", "1");
        let mut accepted = Vec::new();
        for rule in [MorHashRule::PerMethod, MorHashRule::Global] {
            let mut opts = self.known_opts("user_calls_get");
            opts.rule = rule;
            let r = self.ask(base.clone().opts(opts)).await?;
            if self.accepted(&r) {
                accepted.push(rule);
            }
        }
        match accepted.as_slice() {
            [rule] => {
                self.known.mor_hash_rule = *rule;
                self.profile.quirks.mor_hash_rule = Some(*rule);
                Ok(*rule == MorHashRule::Global)
            }
            [] => {
                self.untold(
                    "mor_hash_rule",
                    "user_calls_get refused the signatures of both rules",
                );
                Ok(false)
            }
            _ => {
                self.untold(
                    "mor_hash_rule",
                    "user_calls_get accepted the signatures of both rules",
                );
                Ok(false)
            }
        }
    }

    async fn probe_variants(&mut self, admin: &str) -> Result<(), ProbeError> {
        let methods: Vec<model::catalogue::Method> = self
            .cat
            .product(self.product)
            .methods()
            .iter()
            .filter(|m| !m.hash_variants.is_empty())
            .filter(|m| self.target.allow_writes || !m.writes)
            .cloned()
            .collect();
        let mut variants = BTreeMap::new();
        for m in methods {
            let mut candidates: Vec<Option<String>> = vec![None];
            candidates.extend(m.hash_variants.keys().cloned().map(Some));
            // The union of every candidate's parameters, each with its own value.
            let mut names: Vec<String> = Vec::new();
            for c in &candidates {
                for n in m.hash_order(c.as_deref()) {
                    if n != "u" && n != "p" && !names.contains(n) {
                        names.push(n.clone());
                    }
                }
            }
            let u = m.param("u").is_some().then_some(admin);
            let mut base = Ask::new(format!("hash_variants {}", m.name), &m.name, u);
            for (i, n) in names.iter().enumerate() {
                base = base.p(n, sample_value(m.param(n), i, self.today));
            }
            let mut accepted = Vec::new();
            for c in &candidates {
                let mut opts = self.known_opts(&m.name);
                opts.variant = c.clone();
                let r = self.ask(base.clone().opts(opts)).await?;
                if self.accepted(&r) {
                    accepted.push(c.clone());
                }
            }
            let r = self.ask(base.clone().tweak(Tweak::Corrupt)).await?;
            let unchecked = self.accepted(&r);
            let found: Option<Option<String>> = if unchecked {
                candidates
                    .iter()
                    .find(|c| m.hash_order(c.as_deref()).is_empty())
                    .cloned()
            } else if accepted.len() == 1 {
                accepted.first().cloned()
            } else {
                None
            };
            match found {
                Some(v) => {
                    let shown = match (&v, unchecked) {
                        (Some(v), true) => format!("variant {v} (no parameters: no hash checked)"),
                        (Some(v), false) => format!("variant {v}"),
                        (None, true) => "catalogue (no parameters: no hash checked)".into(),
                        (None, false) => "catalogue".into(),
                    };
                    self.profile.hash_orders.insert(m.name.to_string(), shown);
                    if let Some(v) = v {
                        self.known
                            .hash_variants
                            .insert(m.name.to_string(), v.clone());
                        variants.insert(m.name.to_string(), v);
                    }
                }
                None => {
                    let why = if accepted.is_empty() {
                        "neither the catalogue order nor any variant was accepted".to_string()
                    } else {
                        format!(
                            "more than one order was accepted ({} of them)",
                            accepted.len()
                        )
                    };
                    self.profile
                        .hash_orders
                        .insert(m.name.to_string(), format!("not told: {why}"));
                    self.untold(&format!("hash_variants.{}", m.name), &why);
                }
            }
        }
        self.profile.quirks.hash_variants = Some(variants);
        Ok(())
    }

    async fn probe_absent(&mut self, admin: &str) -> Result<(), ProbeError> {
        let Some(m) = self.cat.method(self.product, "user_calls_get").cloned() else {
            self.untold("absent_hash_params", "the catalogue has no user_calls_get");
            return Ok(());
        };
        let order = m.hash_order(self.known.hash_variant(&m.name)).to_vec();
        let mut ask = Ask::new("absent_hash_params", &m.name, Some(admin));
        // Required parameters and clock-dependent defaults are sent; the others are left out.
        let mut left_out = 0;
        for (i, n) in order.iter().enumerate() {
            if n == "u" || n == "p" {
                continue;
            }
            let p = m.param(n);
            let default = p.and_then(|p| p.default.clone());
            match default {
                Some(d) if !d.starts_with('@') => left_out += 1,
                Some(_) => ask = ask.p(n, sample_value(p, i, self.today)),
                None if p.is_some_and(|p| p.required) => {
                    ask = ask.p(n, sample_value(p, i, self.today))
                }
                None => {}
            }
        }
        if left_out == 0 {
            self.untold(
                "absent_hash_params",
                "user_calls_get has no defaulted hashed parameter in the order in force",
            );
            return Ok(());
        }
        let mut found = Vec::new();
        for absent in [AbsentParams::Skip, AbsentParams::Defaults] {
            let mut opts = self.known_opts(&m.name);
            opts.absent = absent;
            let r = self.ask(ask.clone().opts(opts)).await?;
            if self.accepted(&r) {
                found.push(absent);
            }
        }
        match found.as_slice() {
            [one] => {
                self.known.absent_hash_params = *one;
                self.profile.quirks.absent_hash_params = Some(*one);
            }
            [] => self.untold(
                "absent_hash_params",
                "user_calls_get refused both the skipped and the defaulted signature",
            ),
            _ => self.untold(
                "absent_hash_params",
                "user_calls_get accepted both the skipped and the defaulted signature",
            ),
        }
        Ok(())
    }

    async fn probe_balance_update(
        &mut self,
        admin: &str,
        admin_id: &str,
        before: Option<String>,
    ) -> Result<(), ProbeError> {
        let Some(b) = before.as_deref().and_then(|b| b.parse::<f64>().ok()) else {
            for q in ["balance_update", "balance_update_nesting"] {
                self.untold(
                    q,
                    "the admin's balance could not be read from user_details_get",
                );
            }
            return Ok(());
        };
        let update = |amount: &str| {
            Ask::new("balance_update", "user_balance_update", Some(admin))
                .p("user_id", admin_id)
                .p("balance", amount)
        };
        let first = self.ask(update("1")).await?;
        if first.error_text().is_some() || first.verdict == Verdict::Other {
            for q in ["balance_update", "balance_update_nesting"] {
                self.untold(
                    q,
                    &format!("user_balance_update answered {}", describe(&first)),
                );
            }
            return Ok(());
        }
        let nested = first.root.as_ref().is_some_and(|r| {
            r.name == "page" && r.elements().next().is_some_and(|c| c.name == "page")
        });
        self.profile.quirks.balance_update_nesting = Some(if nested {
            Nesting::Double
        } else {
            Nesting::Single
        });
        self.ask(update("1")).await?;
        let after = self
            .ask(
                Ask::new(
                    "balance_update (read back)",
                    "user_details_get",
                    Some(admin),
                )
                .p("username", admin),
            )
            .await?
            .value("details/main_detail/balance_number")
            .and_then(|v| v.parse::<f64>().ok());
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        match after {
            Some(a) if close(a, b + 2.0) && !close(a, 1.0) => {
                self.profile.quirks.balance_update = Some(BalanceUpdate::Add);
                self.ask(update("-2")).await?;
            }
            Some(a) if close(a, 1.0) && !close(b + 2.0, 1.0) => {
                self.profile.quirks.balance_update = Some(BalanceUpdate::Set);
                self.ask(update(&before.unwrap_or_default())).await?;
            }
            _ => self.untold(
                "balance_update",
                "the balance read back after two updates of 1 matches neither add nor set (it was not restored)",
            ),
        }
        Ok(())
    }
}

/// A value for a hashed parameter, distinct per index.
fn sample_value(p: Option<&Param>, i: usize, today: (i64, i64)) -> String {
    match p.map(|p| p.kind) {
        Some(ParamType::Currency) => ["USD", "EUR", "GBP"][i % 3].to_string(),
        Some(ParamType::Flag) => "1".into(),
        Some(ParamType::Enum) => p
            .and_then(|p| p.values.first().cloned())
            .unwrap_or_else(|| (11 + i).to_string()),
        Some(ParamType::Timestamp) => (today.0 + i as i64).to_string(),
        _ => (11 + i).to_string(),
    }
}

/// The digest with its first hex digit changed (to another hex digit).
fn corrupt(d: &str) -> String {
    let mut chars: Vec<char> = d.chars().collect();
    if let Some(c) = chars.first_mut() {
        *c = if *c == '0' { '1' } else { '0' };
    }
    chars.into_iter().collect()
}

fn wrapper_name(w: Option<Wrapper>) -> String {
    match w {
        Some(w) => serde_json::to_value(w)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into()),
        None => "undocumented place".into(),
    }
}

fn delivery_name(d: Delivery) -> &'static str {
    match d {
        Delivery::Plain => "plain",
        Delivery::ContentEncoding => "content_encoding",
        Delivery::GzipBody => "gzip_body",
        Delivery::ZipBody => "zip_body",
    }
}

/// Whether an answer says the method is not served: HTTP 404, `Unknown API method`, or X3's
/// `<error><type>Undefined method</type>...</error>` (quirk `unimplemented_methods`).
fn unserved(r: &Reply, unknown_method: &str) -> bool {
    r.status == 404
        || r.error_text() == Some(unknown_method)
        || r.root.as_ref().is_some_and(|e| {
            e.name == "error"
                && e.find("type").map(Element::text_content) == Some("Undefined method".into())
        })
}

fn describe(r: &Reply) -> String {
    match &r.verdict {
        Verdict::Success => format!("a working answer (HTTP {})", r.status),
        Verdict::Error(t, _) => format!("`{t}` (HTTP {})", r.status),
        Verdict::Other => format!(
            "no API answer (HTTP {}: {})",
            r.status,
            check::excerpt(&r.text)
        ),
    }
}

/// Remove the XML API Extension's HTML wrapper, if any: the inner text and the wrapper.
pub fn unwrap_extension(text: &str) -> (String, Option<XmlExtensionWrapper>) {
    let t = text.trim();
    if let Some(inner) = t
        .strip_prefix("<html><body>")
        .and_then(|r| r.strip_suffix("</body></html>"))
    {
        return (inner.to_string(), Some(XmlExtensionWrapper::HtmlBody));
    }
    if let Some(inner) = t
        .strip_prefix("<html>")
        .and_then(|r| r.strip_suffix("</html>"))
    {
        let i = inner.trim_start();
        if i.starts_with("<?xml")
            || (i.starts_with('<') && !i.starts_with("<head") && !i.starts_with("<body"))
        {
            return (inner.to_string(), Some(XmlExtensionWrapper::Html));
        }
    }
    (text.to_string(), None)
}

fn is_html(answer: &Answer) -> bool {
    answer
        .content_type
        .as_deref()
        .is_some_and(|c| c.contains("html"))
}

fn read_reply(answer: &Answer, known: &Known) -> Reply {
    let (inner, extension) = unwrap_extension(&answer.text());
    let unwrapped = Answer {
        status: answer.status,
        content_type: answer.content_type.clone(),
        delivery: answer.delivery,
        body: inner.into_bytes(),
        date: answer.date,
    };
    let reading = check::read(&unwrapped, known);
    let root = reading.doc.as_ref().map(|d| d.root.clone());
    let html = root.as_ref().is_some_and(|r| r.name == "html");
    let verdict = match &reading.error {
        _ if html => Verdict::Other,
        Some((t, w)) if reading.doc.is_some() => Verdict::Error(t.clone(), *w),
        // A plain-text error (user_simple_balance_get) may come with any status (quirk
        // `error_http_status`); an HTML page is a web server's, not the API's.
        Some(_) if is_html(answer) => Verdict::Other,
        Some((t, w)) => Verdict::Error(t.clone(), *w),
        None if reading.doc.is_some() || !reading.text.is_empty() => {
            if (200..300).contains(&answer.status) {
                Verdict::Success
            } else {
                Verdict::Other
            }
        }
        None => Verdict::Other,
    };
    Reply {
        status: answer.status,
        delivery: answer.delivery,
        verdict,
        root,
        text: reading.text,
        extension,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_wrappers_are_told_apart_and_an_html_page_is_not_one() {
        let (i, w) = unwrap_extension("<html><body><?xml version=\"1.0\"?><page/></body></html>");
        assert_eq!(w, Some(XmlExtensionWrapper::HtmlBody));
        assert!(i.starts_with("<?xml"));
        let (_, w) = unwrap_extension("<html><page/></html>");
        assert_eq!(w, Some(XmlExtensionWrapper::Html));
        let (_, w) = unwrap_extension("<html>\r\n<head><title>500</title></head></html>");
        assert_eq!(w, None);
    }

    #[test]
    fn a_corrupted_digest_differs_and_stays_hex() {
        let d = "0a".repeat(20);
        let c = corrupt(&d);
        assert_ne!(c, d);
        assert!(c.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
