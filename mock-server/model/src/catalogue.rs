//! The method catalogue: every method of the API described once, as data.
//!
//! The catalogue is the first stage of every flow in this project: the mock routes and validates
//! from it, the signer reads each method's hashed parameters from it, the scenario validator checks
//! method and parameter names against it, and the generated tests draw parameter domains from it.
//! The embedded catalogue lives in `catalogue/*.yaml` beside this crate (one file per product) and
//! is compiled into the binaries; a user can load further files that add or override methods
//! ([`Catalogue::with_file`]).

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{LoadError, SourceError};

/// A product variant of the billing system. M2 is the former name of M4 and speaks the same API.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Product {
    /// MOR (Kolmisoft's retail/wholesale switch), with resellers and accountants.
    Mor,
    /// M4 (formerly M2), the wholesale switch; `m2` is accepted as an alias.
    #[serde(alias = "m2")]
    M4,
}

impl Product {
    /// Both products, in a stable order.
    pub const ALL: [Product; 2] = [Product::Mor, Product::M4];

    /// The lowercase name used on command lines, in file names and in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            Product::Mor => "mor",
            Product::M4 => "m4",
        }
    }
}

impl fmt::Display for Product {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Product {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "mor" => Ok(Product::Mor),
            "m4" | "m2" => Ok(Product::M4),
            other => Err(format!(
                "unknown product `{other}` (expected mor, m4 or m2)"
            )),
        }
    }
}

/// A role a caller (`u`) can have.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The System Admin (user id 0 on a real deployment).
    Admin,
    /// M4 manager: authenticates with the admin's secret; needs per-area permissions.
    Manager,
    /// MOR reseller: owns users; has his own API secret.
    Reseller,
    /// MOR reseller PRO: a reseller with providers of his own.
    ResellerPro,
    /// MOR accountant: admin helper with permissions.
    Accountant,
    /// MOR partner (seen on users_get only).
    Partner,
    /// A simple user.
    User,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Manager,
        Role::Reseller,
        Role::ResellerPro,
        Role::Accountant,
        Role::Partner,
        Role::User,
    ];

    /// The snake_case name used in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Reseller => "reseller",
            Role::ResellerPro => "reseller_pro",
            Role::Accountant => "accountant",
            Role::Partner => "partner",
            Role::User => "user",
        }
    }

    /// Resellers of either kind own users and have their own secret.
    pub fn is_reseller(self) -> bool {
        matches!(self, Role::Reseller | Role::ResellerPro)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An HTTP method a catalogue entry accepts (GET is further gated by the Allow GET API setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpVerb {
    /// POST, the documented method.
    Post,
    /// GET, accepted only when the Allow GET API setting is on.
    Get,
}

/// How trustworthy a fact is, following the tags of the API fact sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Source {
    /// Documented on a wiki page.
    #[default]
    Doc,
    /// Inferred; not stated anywhere.
    Inf,
    /// Unknown; the behaviour is a named quirk with a default.
    Unk,
    /// Pages disagree; the behaviour is a named quirk with a default.
    Contra,
    /// What the public PHP client does.
    Php,
}

/// The value domain of a parameter; drives validation in the mock and generation in `props`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// Free text.
    #[default]
    String,
    /// A non-negative integer id or count.
    Integer,
    /// A decimal number (amounts, rates).
    Number,
    /// A Unix timestamp in seconds.
    Timestamp,
    /// `0` or `1`.
    Flag,
    /// One of `values`.
    Enum,
    /// A currency code such as `USD` (or `USER` where documented).
    Currency,
    /// An id or the word `all`.
    IdOrAll,
}

/// One parameter of a method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Param {
    /// The parameter name as sent on the wire.
    pub name: String,
    /// What it means.
    #[serde(default)]
    pub doc: String,
    /// Whether the method fails without it.
    #[serde(default)]
    pub required: bool,
    /// The value domain.
    #[serde(default, rename = "type")]
    pub kind: ParamType,
    /// The documented default. `@today_start` and `@today_end` stand for today's 00:00:00 and
    /// 23:59:59 as Unix timestamps in the server's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The allowed values, where the documentation lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Roles that may use this parameter (empty: every role that may call the method).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    /// How sure we are of this parameter.
    #[serde(default)]
    pub source: Source,
    /// Whether the documentation names it a password, a uniquehash or a secret (computed when
    /// the catalogue is built, never read from a file): [`crate::mask::is_credential`] asks it
    /// for every parameter of every journalled request.
    #[serde(skip)]
    pub credential: bool,
}

impl Param {
    /// Whether the doc says the value is a password (it starts with the word), a uniquehash or
    /// a secret, in any case.
    fn documented_as_credential(&self) -> bool {
        let doc = self.doc.as_bytes();
        let has = |word: &str| {
            doc.windows(word.len())
                .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
        };
        doc.get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"password"))
            || has("uniquehash")
            || has("secret")
    }

    /// The default value resolved against a clock (`today_start`, `today_end` in Unix seconds).
    pub fn resolved_default(&self, today: (i64, i64)) -> Option<String> {
        match self.default.as_deref()? {
            "@today_start" => Some(today.0.to_string()),
            "@today_end" => Some(today.1.to_string()),
            v => Some(v.to_string()),
        }
    }
}

/// When `u` takes part in the hash (only meaningful when `hash` names `u`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UInHash {
    /// `u` is always hashed where `hash` names it.
    #[default]
    Always,
    /// `u` is hashed only when the caller is not the System Admin (M4 quickstats_get page).
    NonAdmin,
}

/// Which users a role may act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Any user or object.
    #[default]
    Any,
    /// Only the caller's own user and objects.
    Own,
    /// The caller's own objects and those of the users he owns (resellers).
    OwnAndOwned,
    /// Only objects of users the admin owns (M4 managers).
    AdminUsers,
}

/// One role allowed to call a method, and on what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// The role.
    pub role: Role,
    /// On which users' data it may act.
    #[serde(default)]
    pub scope: Scope,
    /// A permission the role must hold (M4 managers: `connection_points`, `currency_management`,
    /// `quick_stats`, `tariffs`; MOR accountants: `data_stats`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// The error text when the permission is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_error: Option<String>,
}

/// How an answer body is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// An XML document.
    #[default]
    Xml,
    /// Plain text without tags (user_simple_balance_get).
    Text,
    /// An XML document gzipped into the body (devices_get, tariff_rates_get).
    GzipXml,
    /// A zip archive holding one XML file (X3's get_tariff, quirk `answer_delivery: x3`).
    ZipXml,
}

/// The XML declaration an answer starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Declaration {
    /// `<?xml version="1.0" encoding="UTF-8"?>`, the usual one.
    #[default]
    Utf8,
    /// `<?xml version="1.0" encoding="utf-8" standalone="yes"?>` (login, logout).
    Standalone,
    /// No declaration.
    None,
}

impl Declaration {
    /// The literal declaration line, empty for [`Declaration::None`].
    pub fn as_str(self) -> &'static str {
        match self {
            Declaration::Utf8 => r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            Declaration::Standalone => r#"<?xml version="1.0" encoding="utf-8" standalone="yes"?>"#,
            Declaration::None => "",
        }
    }
}

/// The element that carries an `<error>` in an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Wrapper {
    /// `<error>TEXT</error>` as the root (older MOR pages).
    Bare,
    /// `<Error>TEXT</Error>` as the root, capitalised (MOR invoices_get).
    BareCapital,
    /// `<page><error>TEXT</error></page>`.
    #[default]
    Page,
    /// `<status><error>TEXT</error></status>`.
    Status,
    /// `<page><status><error>TEXT</error></status></page>`.
    PageStatus,
    /// `<response><error><message>TEXT</message></error></response>` (wholesale tariff failures).
    ResponseMessage,
    /// `<response><error>TEXT</error></response>` (MOR tariff_retail_import).
    Response,
    /// `<action><name>..</name><status>failed</status>..</action>` (login, logout).
    Action,
    /// The text alone, no XML (user_simple_balance_get).
    Text,
}

/// The success answer of a method.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// How the body is delivered.
    #[serde(default)]
    pub body: BodyKind,
    /// The XML declaration.
    #[serde(default)]
    pub declaration: Declaration,
    /// The documented success sample, as XML with `{{type}}` placeholders for values
    /// (`{{int}}`, `{{number}}`, `{{text}}`, `{{datetime}}`, `{{any}}`); `*` after an element name in
    /// a comment is not used: repeated elements appear once in the sample.
    #[serde(default)]
    pub sample: String,
    /// How sure we are of the element names.
    #[serde(default)]
    pub source: Source,
}

/// A documented error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorSpec {
    /// The error text exactly as sent.
    pub text: String,
    /// The element that wraps it.
    #[serde(default)]
    pub wrapper: Wrapper,
    /// When it is answered.
    #[serde(default)]
    pub when: String,
    /// How sure we are.
    #[serde(default)]
    pub source: Source,
    /// The read's answer when nothing matches (no rows), not a refusal: on a deployment whose
    /// data has none, a case needing rows is skipped saying so, and a narrower second read
    /// answering it returned no rows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty: bool,
}

/// The documented sample answer of a method catalogued only: no behaviour of the mock computes
/// its answer, so after the protocol checks (method, verb, login, hash, role) the mock answers
/// this sample as the documentation shows it, and says so (journal, response header, `--explain`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentedSample {
    /// The success answer as the page shows it: XML without the declaration (the method's
    /// `response.declaration` is sent), or the text of a `body: text` method.
    pub answer: String,
    /// Where it is documented: the page's title, its address and revision where known.
    pub source: String,
}

/// The inferred answer shape of a method catalogued only whose documentation shows no complete
/// success sample (the page read ends before it, or only the vendor's server code builds it).
/// The mock answers the shape with its placeholders filled (`X-Mor-Mock-Answer: sample-shape`),
/// never as a documented sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InferredShape {
    /// The answer's shape: XML without the declaration whose values are `{{type}}`
    /// placeholders (`{{int}}`, `{{number}}`, `{{text}}`, `{{datetime}}`, `{{date}}`, `{{any}}`)
    /// or fixed texts the source shows, or the text of a `body: text` method.
    pub shape: String,
    /// What it is inferred from and how far that goes: the page's title, address and revision
    /// and where the copy read ends, or the code's file and lines (printable ASCII).
    pub source: String,
}

/// A method's canonical name, its text shared: what keeps it per request (the journal's
/// entries) holds it without a copy (a `String`'s copy and its free cost ~140 instructions per
/// request, callgrind). Reads and compares as a `&str`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MethodName(Arc<str>);

impl MethodName {
    /// The name's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for MethodName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for MethodName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MethodName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for MethodName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for MethodName {
    fn from(name: &str) -> Self {
        MethodName(name.into())
    }
}

impl From<String> for MethodName {
    fn from(name: String) -> Self {
        MethodName(name.into())
    }
}

impl PartialEq<str> for MethodName {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for MethodName {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for MethodName {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<MethodName> for str {
    fn eq(&self, other: &MethodName) -> bool {
        *self == *other.0
    }
}

impl PartialEq<MethodName> for &str {
    fn eq(&self, other: &MethodName) -> bool {
        **self == *other.0
    }
}

impl PartialEq<MethodName> for String {
    fn eq(&self, other: &MethodName) -> bool {
        **self == *other.0
    }
}

impl From<MethodName> for String {
    fn from(name: MethodName) -> Self {
        name.0.to_string()
    }
}

impl Serialize for MethodName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MethodName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(MethodName::from)
    }
}

/// One method of the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Method {
    /// The canonical name (`/billing/api/<name>`).
    #[schemars(with = "String")]
    pub name: MethodName,
    /// Old names that route to the same method.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// One line on what it does.
    #[serde(default)]
    pub summary: String,
    /// Accepted HTTP methods.
    #[serde(default = "default_http")]
    pub http: Vec<HttpVerb>,
    /// Whether it changes the world (the runner sends it only with `--allow-writes`).
    #[serde(default)]
    pub writes: bool,
    /// Whether `u` must name a known, unblocked caller before the method runs (the generic
    /// `Bad login` step and the role and permission checks). False for user_simple_balance_get,
    /// which authenticates by the user's uniquehash, and for user_login and user_logout, whose `u`
    /// is the user logging in or out (their handlers answer the documented `<action>` failure).
    #[serde(default = "yes")]
    pub requires_login: bool,
    /// Whether a `hash` must be sent (default true). When false the hash is optional: it is
    /// verified only when a `hash` parameter is sent (user_simple_balance_get: the documented
    /// request carries no hash, yet `Incorrect hash` is a listed error, so it is checked when
    /// sent). Either way nothing is checked while hash checking is disabled.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub hash_required: bool,
    /// The error answered when `u` is missing or unknown, where the method page documents one
    /// other than the general `Bad login` (MOR user_calls_get and quickstats_get: `Access Denied`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bad_login_error: Option<String>,
    /// A setting that must be on, else the feature error is answered (for example
    /// `balance_over_http`, `api_allow_payments`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
    /// Every parameter except `hash`.
    #[serde(default)]
    pub params: Vec<Param>,
    /// Groups of parameters of which at least one must be sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub require_one_of: Vec<Vec<String>>,
    /// The hashed parameters, in order. May name `u` and `p`.
    #[serde(default)]
    pub hash: Vec<String>,
    /// When `u` (if named in `hash`) takes part.
    #[serde(default)]
    pub u_in_hash: UInHash,
    /// Alternative hash orders seen in other revisions or clients, selectable by the
    /// `hash_variants` quirk (name -> ordered parameter list).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hash_variants: BTreeMap<String, Vec<String>>,
    /// Who may call it.
    #[serde(default)]
    pub access: Vec<Access>,
    /// The success answer.
    #[serde(default)]
    pub response: ResponseSpec,
    /// The documented errors specific to this method (gating errors are in [`General`]).
    #[serde(default)]
    pub errors: Vec<ErrorSpec>,
    /// Notes on contradictions, unknowns and the pages behind them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// A method catalogued only: the documented sample the mock answers after the protocol
    /// checks (no behaviour computed). Without `response.sample` the answer's shape is derived
    /// from it when the catalogue loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<DocumentedSample>,
    /// A method catalogued only without a documented sample: its inferred answer shape, which
    /// becomes `response.sample` when the catalogue loads. Never beside `sample`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inferred: Option<InferredShape>,
    /// The behaviour as data, run by the mock's engine: the method's checks, writes and answer
    /// over the world's records (see [`crate::engine`]). Without it the mock answers with the
    /// method's own code, or its documented sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<crate::engine::Engine>,
    /// The product whose catalogue holds this method, set when the catalogue is built (never
    /// read from a file). The signer needs it: the quirk `mor_hash_rule` applies to MOR only.
    #[serde(skip)]
    pub product: Option<Product>,
}

fn default_http() -> Vec<HttpVerb> {
    vec![HttpVerb::Post, HttpVerb::Get]
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Method {
    /// The parameter called `name`, if the method has one.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The error spec with this exact text, if documented.
    pub fn error(&self, text: &str) -> Option<&ErrorSpec> {
        self.errors.iter().find(|e| e.text == text)
    }

    /// Whether `role` may call this method at all, and with which access rule.
    pub fn access_for(&self, role: Role) -> Option<&Access> {
        self.access.iter().find(|a| a.role == role)
    }

    /// The hashed parameter list in force, given the selected variant (if any).
    pub fn hash_order(&self, variant: Option<&str>) -> &[String] {
        variant
            .and_then(|v| self.hash_variants.get(v))
            .map(Vec::as_slice)
            .unwrap_or(&self.hash)
    }

    /// Whether this method is answered with `name` (canonical or alias).
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.aliases.iter().any(|a| a == name)
    }
}

impl Method {
    /// Check the method's engine declaration (if any) against its parameters and documented
    /// errors (its own and the product's `general` ones).
    pub fn validate_engine(&self, general: &General) -> Result<(), String> {
        let Some(engine) = &self.engine else {
            return Ok(());
        };
        let params: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
        let documented = |t: &str| self.error(t).is_some() || general.texts().any(|g| g == t);
        engine.validate(&params, &documented)?;
        if engine.writes() && !self.writes {
            return Err("the engine writes: the method needs `writes: true`".into());
        }
        Ok(())
    }
}

impl Method {
    /// Whether the mock answers this method from its documented sample (catalogued only).
    pub fn is_documented_sample(&self) -> bool {
        self.sample.is_some()
    }

    /// Whether the mock answers this method from its catalogue entry alone, with no behaviour:
    /// its documented sample, or its inferred shape.
    pub fn is_catalogued_only(&self) -> bool {
        self.sample.is_some() || self.inferred.is_some()
    }

    /// Check a method catalogued only (answered from its documented sample or its inferred
    /// shape), and set its answer's shape (`response.sample`): derived from the documented
    /// sample when the entry gives none, or the inferred shape. `strict` (the files of methods
    /// catalogued only): a sample or an inferred shape is required, every hashed parameter is
    /// a parameter (or `u`, `p`) and someone may call it. The error is the field path (keys
    /// from the method's line) and what is wrong.
    pub fn check_documented_sample(
        &mut self,
        strict: bool,
    ) -> Result<(), (Vec<&'static str>, String)> {
        let (field, source, answer) = match (&self.sample, &self.inferred) {
            (Some(_), Some(_)) => {
                return Err((
                    vec!["inferred"],
                    "a method has a documented sample or an inferred shape, not both".into(),
                ))
            }
            (Some(s), None) => ("sample", &s.source, &s.answer),
            (None, Some(i)) => ("inferred", &i.source, &i.shape),
            (None, None) => {
                return if strict {
                    Err((
                        vec!["sample"],
                        "a method of a file of methods catalogued only needs `sample` (answer and source) or, without a documented sample, `inferred` (shape and source)"
                            .into(),
                    ))
                } else {
                    Ok(())
                };
            }
        };
        let inferred = field == "inferred";
        let answer_key = if inferred { "shape" } else { "answer" };
        if self.engine.is_some() {
            return Err((
                vec!["engine"],
                format!(
                    "a method answered from its {} declares no engine",
                    if inferred {
                        "inferred shape"
                    } else {
                        "documented sample"
                    }
                ),
            ));
        }
        if source.trim().is_empty() {
            return Err((
                vec![field, "source"],
                if inferred {
                    "empty: name what the shape is inferred from (page and where its copy ends, or code and lines)"
                } else {
                    "empty: name the page (title, address, revision where known)"
                }
                .into(),
            ));
        }
        if let Some(c) = source.chars().find(|c| !(' '..='~').contains(c)) {
            return Err((
                vec![field, "source"],
                format!("{c:?} is not printable ASCII (the source is sent in a response header)"),
            ));
        }
        if answer.trim().is_empty() {
            return Err((vec![field, answer_key], "empty".into()));
        }
        let shape = match self.response.body {
            BodyKind::Text => answer.clone(),
            BodyKind::Xml | BodyKind::GzipXml | BodyKind::ZipXml => {
                let doc = crate::xml::parse(answer).map_err(|e| {
                    (
                        vec![field, answer_key],
                        format!("not XML: {} (at byte {})", e.message, e.position),
                    )
                })?;
                if inferred {
                    // Kept as written: its fixed texts (a status the page shows) stay, and
                    // its placeholders are filled when answered.
                    answer.clone()
                } else {
                    // A page's `<id> ... </id>` is its formatting: a server's XML builder
                    // writes no whitespace around a value, and the runner's structure check
                    // refuses it (so the mock's own answer would fail its suite).
                    if let Some(leaf) = padded_leaf(&doc.root) {
                        return Err((
                            vec![field, answer_key],
                            format!(
                                "<{}>{}</{}>: a value with whitespace around it (a page's formatting; a server writes none): write it trimmed",
                                leaf.name,
                                leaf.text_content(),
                                leaf.name
                            ),
                        ));
                    }
                    let mut out = String::new();
                    crate::xml::render_element(
                        &crate::xml::shape(&doc.root),
                        crate::xml::Layout::Pretty,
                        0,
                        &mut out,
                    );
                    out
                }
            }
        };
        if inferred {
            if !self.response.sample.trim().is_empty() && self.response.sample != shape {
                return Err((
                    vec!["response", "sample"],
                    "an inferred shape is the answer's shape: leave `response.sample` out".into(),
                ));
            }
            // Never presented as documented: the answer's shape is an inference.
            if self.response.source == Source::Doc {
                self.response.source = Source::Inf;
            }
        }
        if strict {
            for h in &self.hash {
                if h != "u" && h != "p" && self.param(h).is_none() {
                    return Err((
                        vec!["hash"],
                        format!("hashed `{h}` is not a parameter of the method"),
                    ));
                }
            }
            for (i, p) in self.params.iter().enumerate() {
                if self.params[..i].iter().any(|q| q.name == p.name) {
                    return Err((vec!["params"], format!("`{}` is listed twice", p.name)));
                }
            }
            if self.access.is_empty() {
                return Err((
                    vec!["access"],
                    "nobody may call it: list the roles the page names".into(),
                ));
            }
        }
        if self.response.sample.trim().is_empty() {
            self.response.sample = shape;
        }
        Ok(())
    }
}

/// The 1-based line of method `name` in a catalogue file's text (1 when not found).
fn method_line(text: &str, name: &str) -> usize {
    let needle = format!("name: {name}");
    text.lines()
        .position(|l| l.trim_start().trim_start_matches("- ") == needle)
        .map_or(1, |i| i + 1)
}

/// The 1-based line of a field of method `name`: each of `keys` looked for in turn, from the
/// method's line to the next method (the method's line when a key is not found).
fn field_line(text: &str, name: &str, keys: &[&str]) -> usize {
    let start = method_line(text, name);
    let lines: Vec<&str> = text.lines().collect();
    let Some(first) = lines.get(start - 1) else {
        return start;
    };
    let indent = first.len() - first.trim_start().len();
    let end = lines
        .iter()
        .enumerate()
        .skip(start)
        .find(|(_, l)| {
            let t = l.trim_start();
            l.len() - t.len() == indent && t.starts_with("- ")
        })
        .map_or(lines.len(), |(i, _)| i);
    let mut at = start - 1;
    for key in keys {
        let prefix = format!("{key}:");
        match (at..end).find(|&i| lines[i].trim_start().starts_with(&prefix)) {
            Some(i) => at = i,
            None => return start,
        }
    }
    at + 1
}

/// The first leaf element of `el` whose text has whitespace around it.
fn padded_leaf(el: &crate::xml::Element) -> Option<&crate::xml::Element> {
    if el.elements().next().is_none() {
        let t = el.text_content();
        return (!t.trim().is_empty() && t.trim() != t).then_some(el);
    }
    el.elements().find_map(padded_leaf)
}

/// Check the documented samples of `methods` (see [`Method::check_documented_sample`]); the
/// error names the file, the field's line and the field.
fn check_samples(
    path: &str,
    text: &str,
    methods: &mut [Method],
    strict: bool,
) -> Result<(), LoadError> {
    for m in methods {
        if let Err((keys, message)) = m.check_documented_sample(strict) {
            let field = std::iter::once(format!("methods[{}]", m.name))
                .chain(keys.iter().map(|k| k.to_string()))
                .collect::<Vec<_>>()
                .join(".");
            return Err(LoadError::Source(SourceError::new(
                path,
                field_line(text, &m.name, &keys),
                &field,
                message,
            )));
        }
    }
    Ok(())
}

/// The gating errors shared by every method of a product, with their wrappers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct General {
    /// Allow API globally is off.
    pub api_disabled: ErrorSpec,
    /// GET used while Allow GET API is off.
    pub get_disabled: ErrorSpec,
    /// `u` missing or unknown.
    pub bad_login: ErrorSpec,
    /// Hash missing or wrong.
    pub incorrect_hash: ErrorSpec,
    /// The caller's role may not use the method.
    pub access_denied: ErrorSpec,
    /// A manager (M4) or accountant (MOR) lacks the method's permission.
    pub not_authorized: ErrorSpec,
    /// The method's feature setting is off.
    pub feature_disabled: ErrorSpec,
    /// The path names no method.
    pub unknown_method: ErrorSpec,
}

impl General {
    /// Every general error text.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        [
            &self.api_disabled,
            &self.get_disabled,
            &self.bad_login,
            &self.incorrect_hash,
            &self.access_denied,
            &self.not_authorized,
            &self.feature_disabled,
            &self.unknown_method,
        ]
        .into_iter()
        .map(|e| e.text.as_str())
    }
}

/// The engine declarations of `methods`, checked; the error names the file, the method's line
/// and the field.
fn validate_engines(
    path: &str,
    text: &str,
    general: &General,
    methods: &[Method],
) -> Result<(), LoadError> {
    for m in methods {
        if let Err(e) = m.validate_engine(general) {
            return Err(LoadError::Source(SourceError::new(
                path,
                method_line(text, &m.name),
                &format!("methods[{}].engine", m.name),
                &e,
            )));
        }
    }
    Ok(())
}

/// One catalogue file: the methods of one product.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogueFile {
    /// Format version; 1.
    pub version: u32,
    /// The product these methods belong to.
    pub product: Product,
    /// The gating errors (required in the embedded files; optional in user files, which then keep
    /// the embedded ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub general: Option<General>,
    /// The methods; a user file's method replaces the embedded one of the same name.
    #[serde(default)]
    pub methods: Vec<Method>,
}

/// The methods of one product, indexed by name and alias.
#[derive(Debug, Clone)]
pub struct ProductCatalogue {
    /// The product.
    pub product: Product,
    /// The gating errors.
    pub general: General,
    methods: Vec<Method>,
    /// Every name and alias: looked up once per request, hashed (a B-tree's ~9 string
    /// comparisons among the names cost ~200 instructions per request, callgrind).
    index: FxHashMap<String, usize>,
}

impl ProductCatalogue {
    fn new(product: Product, general: General, mut methods: Vec<Method>) -> Self {
        for m in &mut methods {
            m.product = Some(product);
        }
        let mut pc = ProductCatalogue {
            product,
            general,
            methods,
            index: FxHashMap::default(),
        };
        pc.reindex();
        pc
    }

    fn reindex(&mut self) {
        for p in self.methods.iter_mut().flat_map(|m| m.params.iter_mut()) {
            p.credential = p.documented_as_credential();
        }
        self.index.clear();
        for (i, m) in self.methods.iter().enumerate() {
            self.index.insert(m.name.to_string(), i);
            for a in &m.aliases {
                self.index.entry(a.clone()).or_insert(i);
            }
        }
    }

    /// The method answering to `name` (canonical name or alias).
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.index.get(name).map(|&i| &self.methods[i])
    }

    /// Every method, in catalogue order.
    pub fn methods(&self) -> &[Method] {
        &self.methods
    }

    /// Every name a method answers to (canonical and aliases), sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let mut names: Vec<&str> = self.index.keys().map(String::as_str).collect();
        names.sort_unstable();
        names.into_iter()
    }

    /// Add `methods`, each replacing the method of its name, and index once (indexing after
    /// each method made loading a file quadratic in its number of methods).
    fn upsert_all(&mut self, methods: Vec<Method>) {
        for mut method in methods {
            method.product = Some(self.product);
            match self.methods.iter().position(|m| m.name == method.name) {
                Some(i) => self.methods[i] = method,
                None => self.methods.push(method),
            }
        }
        self.reindex();
    }
}

/// The catalogue of both products.
///
/// A product's part is the embedded one, parsed once per process when first asked for (so a
/// mock of one product never parses the other's catalogue: YAML parsing was 90% of the mock's
/// start-up, three quarters of it the MOR files an M4 mock never reads), until a file changes
/// it; then the catalogue holds its own changed copy. Copying a catalogue copies only the
/// parts it changed.
#[derive(Debug, Clone)]
pub struct Catalogue {
    mor: Part,
    m4: Part,
}

/// One product's part of a catalogue.
#[derive(Debug, Clone)]
enum Part {
    /// The embedded files' catalogue, shared by every catalogue that did not change it.
    Embedded,
    /// Changed by a file (or parsed afresh by [`Catalogue::parse_embedded`]).
    Own(Box<ProductCatalogue>),
}

/// The embedded catalogue of `product`, parsed on first use.
fn embedded_part(product: Product) -> Result<&'static ProductCatalogue, LoadError> {
    static PARSED: [OnceLock<ProductCatalogue>; 2] = [OnceLock::new(), OnceLock::new()];
    let cell = &PARSED[Product::ALL.iter().position(|p| *p == product).unwrap_or(0)];
    if let Some(pc) = cell.get() {
        return Ok(pc);
    }
    let pc = parse_embedded_product(product)?;
    Ok(cell.get_or_init(|| pc))
}

/// The embedded files of one product: its catalogue and its methods catalogued only.
struct Embedded {
    product: Product,
    /// The catalogue (path as named in errors, text).
    catalogue: (&'static str, &'static str),
    /// The methods catalogued only, answered from their documented samples: checked strictly
    /// (see [`Method::check_documented_sample`]), and never replacing one of the catalogue's
    /// methods.
    documented: (&'static str, &'static str),
}

const EMBEDDED: [Embedded; 2] = [
    Embedded {
        product: Product::Mor,
        catalogue: ("catalogue/mor.yaml", include_str!("../catalogue/mor.yaml")),
        documented: (
            "catalogue/mor-documented.yaml",
            include_str!("../catalogue/mor-documented.yaml"),
        ),
    },
    Embedded {
        product: Product::M4,
        catalogue: ("catalogue/m4.yaml", include_str!("../catalogue/m4.yaml")),
        documented: (
            "catalogue/m4-documented.yaml",
            include_str!("../catalogue/m4-documented.yaml"),
        ),
    },
];

/// Parse the embedded files of `product`.
fn parse_embedded_product(product: Product) -> Result<ProductCatalogue, LoadError> {
    let Some(files) = EMBEDDED.iter().find(|e| e.product == product) else {
        return Err(LoadError::Source(SourceError::new(
            product.as_str(),
            1,
            "product",
            "product has no embedded catalogue",
        )));
    };
    // One of the product's embedded files, which must name the product.
    let parse = |(path, text): (&str, &str)| -> Result<CatalogueFile, LoadError> {
        let file: CatalogueFile = crate::yaml::from_str(text, Path::new(path))?;
        if file.product != product {
            return Err(LoadError::Source(SourceError::new(
                path,
                field_line_top(text, "product"),
                "product",
                format!("an embedded file of {product} names another product"),
            )));
        }
        Ok(file)
    };
    let (path, text) = files.catalogue;
    let file = parse(files.catalogue)?;
    let general = file.general.ok_or_else(|| {
        LoadError::Source(SourceError::new(
            path,
            1,
            "general",
            "missing field `general` in an embedded catalogue",
        ))
    })?;
    validate_engines(path, text, &general, &file.methods)?;
    let mut methods = file.methods;
    check_samples(path, text, &mut methods, false)?;
    let mut pc = ProductCatalogue::new(product, general, methods);
    let (path, text) = files.documented;
    let file = parse(files.documented)?;
    merge_documented_into(&mut pc, file, text, path)?;
    Ok(pc)
}

/// The line of a top-level key of `text` (1 when absent).
fn field_line_top(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.starts_with(':'))
        })
        .map_or(1, |i| i + 1)
}

/// Merge a parsed file of documented samples into `pc` (see [`Catalogue::merge_documented`]).
fn merge_documented_into(
    pc: &mut ProductCatalogue,
    file: CatalogueFile,
    text: &str,
    name: &str,
) -> Result<(), LoadError> {
    if file.general.is_some() {
        return Err(LoadError::Source(SourceError::new(
            name,
            field_line_top(text, "general"),
            "general",
            "a file of documented samples keeps the product's general errors",
        )));
    }
    let mut methods = file.methods;
    check_samples(name, text, &mut methods, true)?;
    let mut seen: Vec<&str> = Vec::new();
    for m in &methods {
        for n in std::iter::once(m.name.as_str()).chain(m.aliases.iter().map(String::as_str)) {
            let clash = match pc.method(n) {
                Some(old) => Some(format!(
                    "`{n}` is already {} in the catalogue: a documented sample never replaces a method",
                    if old.name == *n { "a method" } else { "an alias" }
                )),
                None if seen.contains(&n) => {
                    Some(format!("`{n}` is named twice in this file"))
                }
                None => None,
            };
            if let Some(message) = clash {
                let field = if m.name == n { "name" } else { "aliases" };
                return Err(LoadError::Source(SourceError::new(
                    name,
                    if m.name == n {
                        method_line(text, &m.name)
                    } else {
                        field_line(text, &m.name, &["aliases"])
                    },
                    &format!("methods[{}].{field}", m.name),
                    message,
                )));
            }
            seen.push(n);
        }
    }
    validate_engines(name, text, &pc.general, &methods)?;
    pc.upsert_all(methods);
    Ok(())
}

impl Catalogue {
    /// The catalogue compiled into the binaries, each product's part parsed once, when first
    /// asked for.
    ///
    /// The embedded files are checked by the crate's tests, so a failure here is a build defect;
    /// it is reported with the file, line and field rather than panicking at an unwrap.
    pub fn embedded() -> &'static Catalogue {
        static EMBEDDED_CATALOGUE: Catalogue = Catalogue {
            mor: Part::Embedded,
            m4: Part::Embedded,
        };
        &EMBEDDED_CATALOGUE
    }

    /// Parse the embedded files afresh, both products now (used by tests, which see every
    /// error of the embedded files).
    pub fn parse_embedded() -> Result<Catalogue, LoadError> {
        Ok(Catalogue {
            mor: Part::Own(Box::new(parse_embedded_product(Product::Mor)?)),
            m4: Part::Own(Box::new(parse_embedded_product(Product::M4)?)),
        })
    }

    fn part_mut(&mut self, product: Product) -> &mut Part {
        match product {
            Product::Mor => &mut self.mor,
            Product::M4 => &mut self.m4,
        }
    }

    /// The part of `product`, for changing: this catalogue's own copy from now on.
    fn product_mut(&mut self, product: Product) -> Result<&mut ProductCatalogue, LoadError> {
        let part = self.part_mut(product);
        if let Part::Embedded = part {
            *part = Part::Own(Box::new(embedded_part(product)?.clone()));
        }
        match part {
            Part::Own(pc) => Ok(pc),
            Part::Embedded => Err(LoadError::Source(SourceError::new(
                product.as_str(),
                1,
                "product",
                "product has no embedded catalogue",
            ))),
        }
    }

    /// Merge a file of documented samples (methods catalogued only): every method carries its
    /// sample and its evidence, none names a method or alias the catalogue already has, and the
    /// file keeps the product's general errors.
    pub fn merge_documented(&mut self, text: &str, path: &Path) -> Result<(), LoadError> {
        let file: CatalogueFile = crate::yaml::from_str(text, path)?;
        let name = path.display().to_string();
        let pc = self.product_mut(file.product)?;
        merge_documented_into(pc, file, text, &name)
    }

    /// This catalogue with the methods of a user file added or replaced.
    pub fn with_file(mut self, path: &Path) -> Result<Catalogue, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|e| LoadError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        self.merge_str(&text, path)?;
        Ok(self)
    }

    /// Merge a catalogue file given as text (`path` names it in errors).
    pub fn merge_str(&mut self, text: &str, path: &Path) -> Result<(), LoadError> {
        let file: CatalogueFile = crate::yaml::from_str(text, path)?;
        let pc = self.product_mut(file.product)?;
        if let Some(g) = file.general {
            pc.general = g;
        }
        let name = path.display().to_string();
        validate_engines(&name, text, &pc.general, &file.methods)?;
        let mut methods = file.methods;
        check_samples(&name, text, &mut methods, false)?;
        pc.upsert_all(methods);
        Ok(())
    }

    /// The catalogue of one product.
    pub fn product(&self, product: Product) -> &ProductCatalogue {
        let part = match product {
            Product::Mor => &self.mor,
            Product::M4 => &self.m4,
        };
        match part {
            Part::Own(pc) => pc,
            Part::Embedded => match embedded_part(product) {
                Ok(pc) => pc,
                Err(e) => panic!("embedded catalogue is invalid (a build defect): {e}"),
            },
        }
    }

    /// The method of `product` answering to `name`.
    pub fn method(&self, product: Product, name: &str) -> Option<&Method> {
        self.product(product).method(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalogue_parses_for_both_products() {
        let c = Catalogue::parse_embedded().expect("embedded catalogue parses");
        for p in Product::ALL {
            assert!(!c.product(p).methods().is_empty(), "{p} has methods");
        }
    }

    #[test]
    fn every_method_of_the_m4_index_is_present_with_its_aliases() {
        let c = Catalogue::parse_embedded().unwrap();
        let index: [(&str, &[&str]); 16] = [
            (
                "user_balance_update",
                &["user_balance_change", "change_user_balance"],
            ),
            ("user_balance_get", &["balance"]),
            ("user_simple_balance_get", &["simple_balance"]),
            ("user_calls_get", &["user_calls"]),
            ("exchange_rate_update", &[]),
            ("devices_get", &["device_list"]),
            ("device_details_get", &[]),
            ("user_login", &["login"]),
            ("user_logout", &["logout"]),
            ("payment_create", &["create_payment"]),
            ("payments_get", &["payments_list"]),
            ("tariff_rates_get", &["get_tariff"]),
            ("tariff_wholesale_update", &["wholesale_tariff"]),
            ("quickstats_get", &[]),
            ("aggregate_get", &["aggregates_get"]),
            ("user_details_get", &["user_details"]),
        ];
        for p in Product::ALL {
            for (name, aliases) in index {
                let m = c
                    .method(p, name)
                    .unwrap_or_else(|| panic!("{p}: {name} missing"));
                assert_eq!(m.name, name);
                for a in aliases {
                    assert_eq!(
                        c.method(p, a).map(|m| m.name.as_str()),
                        Some(name),
                        "{p}: alias {a}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_hashed_parameter_is_a_declared_parameter_or_u_or_p() {
        let c = Catalogue::parse_embedded().unwrap();
        for p in Product::ALL {
            for m in c.product(p).methods() {
                let lists = std::iter::once(&m.hash).chain(m.hash_variants.values());
                for list in lists {
                    for h in list {
                        assert!(
                            h == "u" || h == "p" || m.param(h).is_some(),
                            "{p}/{}: hashed `{h}` is not a parameter",
                            m.name
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_user_file_overrides_a_method_and_adds_a_new_one() {
        let mut c = Catalogue::parse_embedded().unwrap();
        let text = "version: 1\nproduct: mor\nmethods:\n  - name: users_get\n    hash: [u, p]\n    params:\n      - {name: p}\n  - name: quickstats_get\n    summary: overridden\n";
        c.merge_str(text, Path::new("extra.yaml")).unwrap();
        assert_eq!(
            c.method(Product::Mor, "users_get").unwrap().hash,
            ["u", "p"]
        );
        assert_eq!(
            c.method(Product::Mor, "quickstats_get").unwrap().summary,
            "overridden"
        );
        // A MOR file leaves the M4 method of the same name as it was.
        assert_eq!(
            c.method(Product::M4, "users_get").unwrap().hash,
            ["u", "user_id"]
        );
    }

    #[test]
    fn a_misspelled_field_in_a_catalogue_file_names_file_line_and_field() {
        let mut c = Catalogue::parse_embedded().unwrap();
        let text = "version: 1\nproduct: m4\nmethods:\n  - name: x\n    hashh: [a]\n";
        let err = c.merge_str(text, Path::new("extra.yaml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("extra.yaml:5:"), "{msg}");
        assert!(msg.contains("unknown field `hashh`"), "{msg}");
    }

    /// A file of documented samples with one method; `method` is the YAML of its fields after
    /// `name`.
    fn documented(method: &str) -> String {
        format!("version: 1\nproduct: mor\nmethods:\n  - name: doc_x\n{method}")
    }

    const GOOD: &str = "    params:\n      - {name: u, required: true}\n      - {name: id}\n    hash: [id]\n    access:\n      - {role: admin}\n    sample:\n      source: 'MOR API doc x (wiki, oldid 1)'\n      answer: |-\n        <page><status>ok</status><id>5</id></page>\n";

    #[test]
    fn every_method_catalogued_only_carries_its_sample_source_and_derived_shape() {
        let c = Catalogue::parse_embedded().expect("embedded catalogue parses");
        let mut n = 0;
        for p in Product::ALL {
            for m in c
                .product(p)
                .methods()
                .iter()
                .filter(|m| m.is_documented_sample())
            {
                let s = m.sample.as_ref().expect("sample");
                assert!(!s.source.trim().is_empty(), "{p} {}", m.name);
                assert!(m.engine.is_none(), "{p} {}", m.name);
                let shape = crate::xml::parse(&m.response.sample)
                    .unwrap_or_else(|e| panic!("{p} {}: shape: {e}", m.name));
                let answer = crate::xml::parse(&s.answer).expect("answer parses");
                assert_eq!(shape.root.name, answer.root.name, "{p} {}", m.name);
                n += 1;
            }
        }
        assert!(n > 0, "no method catalogued only");
        // An inferred shape is the answer's shape as written, marked INF, and parses.
        for p in Product::ALL {
            for m in c
                .product(p)
                .methods()
                .iter()
                .filter(|m| m.inferred.is_some())
            {
                let i = m.inferred.as_ref().expect("inferred");
                assert!(!i.source.trim().is_empty(), "{p} {}", m.name);
                assert!(m.engine.is_none() && m.sample.is_none(), "{p} {}", m.name);
                assert_eq!(m.response.sample, i.shape, "{p} {}", m.name);
                assert_eq!(m.response.source, Source::Inf, "{p} {}", m.name);
                crate::xml::parse(&i.shape)
                    .unwrap_or_else(|e| panic!("{p} {}: shape: {e}", m.name));
            }
        }
    }

    #[test]
    fn a_documented_sample_file_is_checked_strictly_naming_file_line_and_field() {
        let base = || Catalogue::parse_embedded().expect("embedded");
        let path = Path::new("extra-documented.yaml");
        let mut c = base();
        c.merge_documented(&documented(GOOD), path)
            .expect("a good entry loads");
        let m = c.method(Product::Mor, "doc_x").expect("added");
        assert!(
            m.response.sample.contains("<id>{{number}}</id>"),
            "{}",
            m.response.sample
        );

        let cases: [(String, &str, &str); 7] = [
            (
                documented("    params:\n      - {name: u}\n    access:\n      - {role: admin}\n"),
                "extra-documented.yaml:4: methods[doc_x].sample:",
                "needs `sample`",
            ),
            (
                documented(&GOOD.replace("<id>5</id></page>", "<id>5</page>")),
                "extra-documented.yaml:13: methods[doc_x].sample.answer:",
                "not XML",
            ),
            (
                documented(&GOOD.replace("<id>5</id></page>", "<id> ... </id></page>")),
                "extra-documented.yaml:13: methods[doc_x].sample.answer:",
                "<id> ... </id>: a value with whitespace around it",
            ),
            (
                documented(&GOOD.replace("'MOR API doc x (wiki, oldid 1)'", "''")),
                "extra-documented.yaml:12: methods[doc_x].sample.source:",
                "empty",
            ),
            (
                documented(&GOOD.replace("hash: [id]", "hash: [idd]")),
                "extra-documented.yaml:8: methods[doc_x].hash:",
                "`idd` is not a parameter",
            ),
            (
                documented(
                    &GOOD
                        .replace("      - {role: admin}\n", "")
                        .replace("access:\n", "access: []\n"),
                ),
                "extra-documented.yaml:9: methods[doc_x].access:",
                "nobody may call it",
            ),
            (
                documented(GOOD).replace("doc_x", "users_get"),
                "extra-documented.yaml:4: methods[users_get].name:",
                "already a method",
            ),
        ];
        for (text, at, what) in cases {
            let err = base()
                .merge_documented(&text, path)
                .expect_err("refused")
                .to_string();
            assert!(
                err.starts_with(at) && err.contains(what),
                "{err}\n---\n{text}"
            );
        }
        // The same checks (bar strictness) hold for a sample in any catalogue file.
        let bad = documented(&GOOD.replace("<id>5</id></page>", "<id>5</page>"));
        let err = base()
            .merge_str(&bad, path)
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains("methods[doc_x].sample.answer: not XML"),
            "{err}"
        );
    }

    const INFERRED: &str = "    params:\n      - {name: u, required: true}\n      - {name: id}\n    hash: [id]\n    access:\n      - {role: admin}\n    inferred:\n      source: 'MOR API doc x (wiki, oldid 1; the copy read ends before the sample)'\n      shape: |-\n        <page><status>Done</status><id>{{int}}</id></page>\n";

    #[test]
    fn an_inferred_shape_loads_as_the_answers_shape_marked_inf_and_never_as_a_documented_sample() {
        let base = || Catalogue::parse_embedded().expect("embedded");
        let path = Path::new("extra-documented.yaml");
        let mut c = base();
        c.merge_documented(&documented(INFERRED), path)
            .expect("an inferred entry loads");
        let m = c.method(Product::Mor, "doc_x").expect("added");
        assert!(m.is_catalogued_only() && !m.is_documented_sample());
        assert_eq!(
            m.response.sample,
            "<page><status>Done</status><id>{{int}}</id></page>"
        );
        assert_eq!(m.response.source, Source::Inf);

        let cases: [(String, &str, &str); 4] = [
            (
                documented(&format!(
                    "{INFERRED}    sample:\n      source: 'p'\n      answer: <page/>\n"
                )),
                "extra-documented.yaml:11: methods[doc_x].inferred:",
                "not both",
            ),
            (
                documented(&INFERRED.replace("</id></page>", "</page>")),
                "extra-documented.yaml:13: methods[doc_x].inferred.shape:",
                "not XML",
            ),
            (
                documented(&INFERRED.replace(
                    "'MOR API doc x (wiki, oldid 1; the copy read ends before the sample)'",
                    "' '",
                )),
                "extra-documented.yaml:12: methods[doc_x].inferred.source:",
                "empty: name what the shape is inferred from",
            ),
            (
                documented(&format!(
                    "{INFERRED}    response:\n      sample: <page><other/></page>\n"
                )),
                "extra-documented.yaml:16: methods[doc_x].response.sample:",
                "leave `response.sample` out",
            ),
        ];
        for (text, at, what) in cases {
            let err = base()
                .merge_documented(&text, path)
                .expect_err("refused")
                .to_string();
            assert!(
                err.starts_with(at) && err.contains(what),
                "{err}\n---\n{text}"
            );
        }
    }

    #[test]
    fn m2_is_an_alias_of_m4() {
        assert_eq!("m2".parse::<Product>().unwrap(), Product::M4);
        assert_eq!("MOR".parse::<Product>().unwrap(), Product::Mor);
        assert!("m3".parse::<Product>().is_err());
    }
}
