//! Scenario files, format v1: a world, settings, quirks, a clock and an overlay for the mock, and
//! cases (request + expectations) for the runner. One file can serve both: the mock loads the
//! world part, the runner replays the cases against any target.
//!
//! Unknown fields are errors, reported as `file:line: field: unknown field ...`. The JSON Schema
//! of the format is [`json_schema`] (`mor-conformance schema`).
//!
//! ```yaml
//! version: 1
//! name: quickstats for the admin
//! products: [m4]
//! clock: "2026-11-23 12:00:00"
//! settings: { allow_get: false }
//! cases:
//!   - name: admin sees today's calls
//!     request: { method: quickstats_get, as: admin }
//!     expect: { structure: sample, values: { "quickstats/today/calls": "{{int}}" } }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::catalogue::{Catalogue, HttpVerb, Product, Wrapper};
use crate::error::{LoadError, SourceError};
use crate::params::Params;
use crate::quirks::QuirksPatch;
use crate::settings::SettingsPatch;
use crate::world::{Scalar, When, WorldData};

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Format version: 1.
    pub version: u32,
    /// A short title (defaults to the file name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it shows, for people reading the suite as documentation.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Products it applies to (empty: both).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<Product>,
    /// Tags for selection (`--tag`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// A pinned clock (UTC). Without it the mock uses the real clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<When>,
    /// The world the cases need.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world: Option<WorldSpec>,
    /// Settings changed from the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<SettingsPatch>,
    /// Quirk positions changed from the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quirks: Option<QuirksPatch>,
    /// Canned answers and faults laid over the computed behaviour (mock only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overlay: Option<Overlay>,
    /// The cases the runner sends and checks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<Case>,
}

/// Where a scenario's world starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorldBase {
    /// The generated default world (with `seed`), then the records given here added or replaced.
    #[default]
    Default,
    /// Only the admin and the records given here.
    Empty,
}

/// The world part of a scenario.
///
/// Read by its own [`Deserialize`] rather than a derived one with `#[serde(flatten)]`: a
/// flattened field makes serde buffer the whole mapping into an untyped tree first, which for
/// a world of a million calls is gigabytes and seconds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorldSpec {
    /// Start from the generated world or from an empty one.
    #[serde(default)]
    pub base: WorldBase,
    /// Seed of the generated world (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Records added to (or replacing, by id) the base.
    #[serde(flatten)]
    pub data: WorldData,
}

impl<'de> Deserialize<'de> for WorldSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<WorldSpec, D::Error> {
        #[derive(Deserialize, Clone, Copy)]
        #[serde(field_identifier, rename_all = "snake_case")]
        enum Field {
            Base,
            Seed,
            Users,
            Devices,
            Providers,
            Destinations,
            Tariffs,
            Calls,
            ActiveCalls,
            Payments,
            Currencies,
            Dids,
            Services,
            Subscriptions,
            Invoices,
            CreditNotes,
            NumberPools,
            NumberPoolNumbers,
            Phonebooks,
            Lcrs,
            LcrProviders,
            ProviderRules,
            Records,
        }
        const FIELDS: &[&str] = &[
            "base",
            "seed",
            "users",
            "devices",
            "providers",
            "destinations",
            "tariffs",
            "calls",
            "active_calls",
            "payments",
            "currencies",
            "dids",
            "services",
            "subscriptions",
            "invoices",
            "credit_notes",
            "number_pools",
            "number_pool_numbers",
            "phonebooks",
            "lcrs",
            "lcr_providers",
            "provider_rules",
            "records",
        ];
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = WorldSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("struct WorldSpec")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<WorldSpec, A::Error> {
                let mut w = WorldSpec::default();
                let mut seen = [false; FIELDS.len()];
                while let Some(field) = map.next_key::<Field>()? {
                    let i = field as usize;
                    if std::mem::replace(&mut seen[i], true) {
                        return Err(serde::de::Error::duplicate_field(FIELDS[i]));
                    }
                    let data = &mut w.data;
                    match field {
                        Field::Base => w.base = map.next_value()?,
                        Field::Seed => w.seed = map.next_value()?,
                        Field::Users => data.users = map.next_value()?,
                        Field::Devices => data.devices = map.next_value()?,
                        Field::Providers => data.providers = map.next_value()?,
                        Field::Destinations => data.destinations = map.next_value()?,
                        Field::Tariffs => data.tariffs = map.next_value()?,
                        Field::Calls => data.calls = map.next_value()?,
                        Field::ActiveCalls => data.active_calls = map.next_value()?,
                        Field::Payments => data.payments = map.next_value()?,
                        Field::Currencies => data.currencies = map.next_value()?,
                        Field::Dids => data.dids = map.next_value()?,
                        Field::Services => data.services = map.next_value()?,
                        Field::Subscriptions => data.subscriptions = map.next_value()?,
                        Field::Invoices => data.invoices = map.next_value()?,
                        Field::CreditNotes => data.credit_notes = map.next_value()?,
                        Field::NumberPools => data.number_pools = map.next_value()?,
                        Field::NumberPoolNumbers => data.number_pool_numbers = map.next_value()?,
                        Field::Phonebooks => data.phonebooks = map.next_value()?,
                        Field::Lcrs => data.lcrs = map.next_value()?,
                        Field::LcrProviders => data.lcr_providers = map.next_value()?,
                        Field::ProviderRules => data.provider_rules = map.next_value()?,
                        Field::Records => data.records = map.next_value()?,
                    }
                }
                Ok(w)
            }
        }
        d.deserialize_struct("WorldSpec", FIELDS, V)
    }
}

/// Canned answers and faults for the mock.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Overlay {
    /// Seed for random faults, so a run can be reproduced.
    #[serde(default)]
    pub seed: u64,
    /// Answers pinned for matching requests (checked before faults and the model).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<CannedResponse>,
    /// Faults injected for matching requests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultRule>,
}

/// Which requests an overlay rule applies to. Every field given must match.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestMatch {
    /// Method name (canonical or alias; aliases match their method).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Caller `u`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<String>,
    /// Parameters that must be sent with these values.
    #[serde(default, skip_serializing_if = "ParamList::is_empty")]
    pub params: ParamList,
    /// HTTP method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpVerb>,
}

/// A pinned answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedResponse {
    /// Which requests.
    #[serde(rename = "match", default)]
    pub matches: RequestMatch,
    /// HTTP status (default 200).
    #[serde(default = "ok_status")]
    pub status: u16,
    /// Body text as sent.
    pub body: String,
    /// Content type (default `application/xml; charset=utf-8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Answer only the first N matching requests (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
}

fn ok_status() -> u16 {
    200
}

/// A fault to inject, written `{ kind: delay, ms: 5 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Wait this many milliseconds, then answer normally.
    Delay {
        /// Milliseconds (fixed), or the lower bound with `max_ms`.
        ms: u64,
        /// Upper bound of a random delay.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ms: Option<u64>,
    },
    /// Answer with this HTTP status and a short HTML body, as a crashed app server would.
    HttpStatus {
        /// Status code (500, 502, 503, ...).
        status: u16,
    },
    /// Close the connection without an answer.
    ConnectionReset,
    /// Send only the first `bytes` bytes of the real answer.
    Truncate {
        /// Bytes kept.
        bytes: usize,
    },
    /// Answer `Cannot connect to Elasticsearch` in the method's wrapper.
    Elasticsearch,
}

/// A fault rule: what, for which requests, how often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Which requests.
    #[serde(rename = "match", default)]
    pub matches: RequestMatch,
    /// The fault.
    pub fault: Fault,
    /// Probability in [0, 1] that a matching request gets it (default 1).
    #[serde(default = "always")]
    pub probability: f64,
}

fn always() -> f64 {
    1.0
}

/// Parameters as an ordered list, written as a YAML mapping. Numbers and booleans keep their
/// literal text (`1` and `0` for booleans); write amounts such as `"100.50"` in quotes to keep
/// trailing zeros.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParamList(pub Vec<(String, String)>);

impl ParamList {
    /// No parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// As request parameters, in order.
    pub fn to_params(&self) -> Params {
        self.0.iter().cloned().collect()
    }
}

impl Serialize for ParamList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for ParamList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ParamList, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ParamList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of parameter names to values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<ParamList, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Scalar>()? {
                    out.push((k, v.0));
                }
                Ok(ParamList(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl JsonSchema for ParamList {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ParamList".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Parameter names to values (strings, numbers or booleans), in the order sent.",
            "type": "object",
            "additionalProperties": { "type": ["string", "number", "boolean"] }
        })
    }
}

/// How a case's request is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Signing {
    /// Signed from the catalogue with the caller's secret, the way the target verifies (its
    /// known quirks: hash order, variants, absent parameters). The default.
    #[default]
    Auto,
    /// Signed exactly as the catalogue documents, ignoring the target's quirks (to show that a
    /// quirk position refuses the documented signature).
    Documented,
    /// No `hash` parameter at all.
    None,
    /// Signed with a wrong secret.
    WrongSecret,
    /// Signed correctly, then the digest is uppercased.
    Uppercase,
    /// Signed correctly, then one hex digit of the digest is changed.
    Corrupt,
    /// Signed over the hashed values in reverse order.
    Reversed,
    /// Signed with the absent optional parameters filled with their defaults.
    Defaults,
    /// Signed without the secret appended.
    NoSecret,
}

/// How parameters travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// All in the query string of a POST (as every wiki example does).
    #[default]
    Query,
    /// A form-encoded body.
    Form,
    /// A JSON body (numbers as numbers where the text is numeric).
    Json,
}

/// A request to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Method name as it goes in the path (an alias is sent as is).
    pub method: String,
    /// Who sends it: a role (`admin`, `manager`, `reseller`, `accountant`, `user`) whose
    /// credentials the target provides, or `nobody` for no `u` at all.
    #[serde(rename = "as", default = "admin")]
    pub caller: String,
    /// An explicit `u`, overriding the caller's username (for unknown-user cases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub u: Option<String>,
    /// Parameters, in order (without `u` and `hash`).
    #[serde(default, skip_serializing_if = "ParamList::is_empty")]
    pub params: ParamList,
    /// HTTP method (default POST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpVerb>,
    /// How parameters travel.
    #[serde(default)]
    pub encoding: Encoding,
    /// How it is signed.
    #[serde(default)]
    pub sign: Signing,
    /// A raw path instead of `/billing/api/<method>` (for path and routing cases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

fn one() -> f64 {
    1.0
}

fn admin() -> String {
    "admin".to_string()
}

/// The kind of a check: decides whether it can run against a foreign target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// Needs the seeded world (skipped against a target whose data is not ours).
    Exact,
    /// Element tree and value types.
    #[default]
    Structural,
    /// Relations that hold on any data.
    Invariant,
    /// Hash, GET, permissions, error text and wrapper.
    Protocol,
    /// What a production deployment must have.
    Policy,
}

/// Expectations on an answer. Every field given is checked.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The answer is this error text (in an `<error>` anywhere, or as plain text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// ... wrapped this way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrapper: Option<Wrapper>,
    /// The answer is not an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub success: bool,
    /// Canonical XML the answer must equal (placeholders such as `{{number}}` allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xml: Option<String>,
    /// The answer has this structure: `sample` (the catalogue's success sample) or XML whose
    /// values only give types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structure: Option<String>,
    /// Values at paths below the root (`quickstats/today/calls`), exact or placeholders.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, String>,
    /// Number of elements at a path (`calls_stat/calls/call`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, usize>,
    /// The plain-text body equals this (placeholders allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The body is delivered this way: `xml`, `text` or `gzip_xml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<crate::catalogue::BodyKind>,
    /// The XML declaration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declaration: Option<crate::catalogue::Declaration>,
    /// The media type of the answer contains this (`xml` for `application/xml` or `text/xml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Invariants that must hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invariants: Vec<Invariant>,
}

/// A relation that holds on any data, written `{ check: order_desc_reverses, rows: ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "check", rename_all = "snake_case", deny_unknown_fields)]
pub enum Invariant {
    /// Each total under `totals` equals the sum of that element over the rows at `rows`.
    TotalsEqualSumOfRows {
        /// Path of the repeated rows (`aggregates/aggregate`).
        rows: String,
        /// Path of the totals element (`totals`).
        totals: String,
        /// Element names to sum.
        fields: Vec<String>,
    },
    /// `profit` equals `revenue` minus `self_cost` at each path given (and `margin` follows).
    ProfitIsRevenueMinusSelfCost {
        /// Paths of elements holding revenue, self_cost and profit (`quickstats/today`).
        at: Vec<String>,
    },
    /// The same request with these parameters changed returns no more rows at `rows`.
    NarrowerReturnsNoMore {
        /// Path of the counted rows.
        rows: String,
        /// Parameters changed (a narrower period, an extra filter).
        params: ParamList,
    },
    /// The same request with `order_desc=1` returns the rows at `rows` in reverse order.
    OrderDescReverses {
        /// Path of the rows.
        rows: String,
    },
    /// Grouping by more fields sums to the coarser grouping (aggregate_get).
    FinerGroupingSumsToCoarser {
        /// Path of the rows.
        rows: String,
        /// Extra grouping parameters of the finer request.
        params: ParamList,
        /// Value elements compared.
        fields: Vec<String>,
    },
    /// Every row's `field` (a date-time) lies in the period the request asked
    /// (`period_start`..`period_end` or the parameters named, Unix seconds, UTC).
    RowsInPeriod {
        /// Path of the rows.
        rows: String,
        /// Element of a row holding its date-time (`calldate2`).
        field: String,
        /// The request parameter holding the period's start (default `period_start`;
        /// aggregate_get `from`, payments_get `s_from`). Without it in the request: today.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// The parameter holding the period's end (default `period_end`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        till: Option<String>,
    },
    /// Every row's `field` is one of `one_of` (facts allowed: `$user.username`).
    RowsMatch {
        /// Path of the rows.
        rows: String,
        /// Element of a row, or `@name` for an attribute of it.
        field: String,
        /// The values allowed.
        one_of: Vec<String>,
    },
    /// In every row at `rows`, `value` = `numerator` / `denominator` × `scale`, rounded to the
    /// digits `value` is printed with (ACD = billed time / answered calls; ASR = answered /
    /// total × 100). A zero denominator wants 0.
    RatioRounded {
        /// Path of the rows (`aggregates/aggregate`, or `totals` for the one totals element).
        rows: String,
        /// The element holding the ratio.
        value: String,
        /// The element divided.
        numerator: String,
        /// The element it is divided by.
        denominator: String,
        /// Multiplier (1, or 100 for a percent).
        #[serde(default = "one")]
        scale: f64,
    },
    /// The number at `path` equals the number of rows at `rows` (`total_calls`).
    CountEquals {
        /// Path of the rows.
        rows: String,
        /// Path of the count.
        path: String,
    },
    /// Every row at `rows` is also a row of the answer to `of` (a simple user sees a subset of
    /// what the admin sees).
    SubsetOf {
        /// Path of the rows.
        rows: String,
        /// The wider request.
        of: Box<Request>,
    },
    /// The value at `path` equals the value at `of_path` in the answer to `of` (the same
    /// quantity read through another method: quick stats against the calls list).
    SameValueAs {
        /// Path of the value in this answer.
        path: String,
        /// The other request.
        of: Box<Request>,
        /// Path of the value in its answer.
        of_path: String,
    },
    /// The same signed request sent as query string, form body and JSON body gets the same
    /// answer.
    SameAcrossEncodings {},
    /// After this request (a write), the value at `path` of `read` equals that of `base` times
    /// `factor` (`{{param:rate}}`): a balance in another currency after its rate was set.
    ScalesAfterWrite {
        /// The converted read.
        read: Box<Request>,
        /// The unconverted read.
        base: Box<Request>,
        /// Path of the value in both answers.
        path: String,
        /// The factor (placeholders `{{param:NAME}}` allowed).
        factor: String,
    },
    /// After this request, reading with `read` shows the change at `path`.
    ReadShowsWrite {
        /// The read request.
        read: Box<Request>,
        /// Path of the value in the read answer.
        path: String,
        /// Expected value (placeholders allowed; `{{param:NAME}}` is a parameter of the write; a
        /// fact `$NAME`).
        value: String,
    },
}

/// One case: a request and what its answer must show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A sentence naming the behaviour (`rejects GET when GET is disabled`).
    pub name: String,
    /// Longer explanation, with the documentation page behind it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Kind of check (default structural).
    #[serde(default)]
    pub kind: CheckKind,
    /// Products (narrower than the scenario's; empty: the scenario's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<Product>,
    /// Tags for selection.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The request.
    pub request: Request,
    /// The expectations.
    #[serde(default)]
    pub expect: Expect,
    /// Keep the snapshot of this case's canonical answer (`snapshots/`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub snapshot: bool,
    /// The undocumented (UNK or CONTRA) point this case shows, by its quirk name. On a foreign
    /// target an answer that contradicts the case is an observation, not a failure, unless the
    /// target file pins this quirk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quirk: Option<String>,
    /// The known positions of that point, each as expectations: an observation names the
    /// position the answer matches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub positions: BTreeMap<String, Expect>,
}

/// A scenario with the file it came from and the line of each case (for reports).
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The file.
    pub path: String,
    /// The content.
    pub scenario: Scenario,
    /// 1-based line of each case's `name`, in case order.
    pub case_lines: Vec<usize>,
}

impl Scenario {
    /// Whether it applies to `product`.
    pub fn applies_to(&self, product: Product) -> bool {
        self.products.is_empty() || self.products.contains(&product)
    }
}

impl Case {
    /// Whether it runs for `product` inside `scenario`.
    pub fn applies_to(&self, scenario: &Scenario, product: Product) -> bool {
        scenario.applies_to(product)
            && (self.products.is_empty() || self.products.contains(&product))
    }
}

/// Load and validate a scenario file.
pub fn load(path: &Path, catalogue: &Catalogue) -> Result<LoadedScenario, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    load_str(&text, path, catalogue)
}

/// Parse and validate scenario text (`path` names it in errors).
pub fn load_str(
    text: &str,
    path: &Path,
    catalogue: &Catalogue,
) -> Result<LoadedScenario, LoadError> {
    let scenario: Scenario = crate::yaml::from_str(text, path)?;
    let case_lines = case_lines(text, scenario.cases.len());
    let loaded = LoadedScenario {
        path: path.display().to_string(),
        scenario,
        case_lines,
    };
    validate(&loaded, text, catalogue)?;
    Ok(loaded)
}

/// Lines of `- name:` entries under `cases:`, found by scanning (the YAML parser keeps no spans).
fn case_lines(text: &str, n: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(n);
    let mut in_cases = false;
    let mut item_indent: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if indent == 0 && !trimmed.is_empty() && !trimmed.starts_with('#') {
            in_cases = trimmed.starts_with("cases:");
            item_indent = None;
            continue;
        }
        if in_cases && trimmed.starts_with("- ") {
            match item_indent {
                None => {
                    item_indent = Some(indent);
                    out.push(i + 1);
                }
                Some(k) if k == indent => out.push(i + 1),
                _ => {}
            }
        }
    }
    out.resize(n, 1);
    out
}

/// The 1-based line where `needle` first appears at or after line `from` (for semantic errors).
fn line_of(text: &str, from: usize, needle: &str) -> usize {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .unwrap_or(from.max(1))
}

/// Checks that serde cannot make: version, method and parameter names against the catalogue.
fn validate(s: &LoadedScenario, text: &str, catalogue: &Catalogue) -> Result<(), LoadError> {
    let err = |line: usize, field: String, msg: String| {
        LoadError::Source(SourceError::new(&s.path, line, &field, msg))
    };
    if s.scenario.version != 1 {
        return Err(err(
            line_of(text, 1, "version"),
            "version".into(),
            format!("unsupported version {} (expected 1)", s.scenario.version),
        ));
    }
    let products: Vec<Product> = if s.scenario.products.is_empty() {
        Product::ALL.to_vec()
    } else {
        s.scenario.products.clone()
    };
    for (i, case) in s.scenario.cases.iter().enumerate() {
        let line = s.case_lines[i];
        let m = &case.request.method;
        let known = products.iter().any(|p| catalogue.method(*p, m).is_some());
        // A raw path may name anything (routing cases); otherwise the method must exist.
        if !known && case.request.path.is_none() {
            return Err(err(
                line_of(text, line, "method"),
                format!("cases[{i}].request.method"),
                format!("unknown method `{m}` for {}", join(&products)),
            ));
        }
        for p in &case.products {
            if !products.contains(p) {
                return Err(err(
                    line_of(text, line, "products"),
                    format!("cases[{i}].products"),
                    format!("product `{p}` is not among the scenario's products"),
                ));
            }
        }
        // Parameter names the method does not take are a typo (a MOR name on M4, say), unless
        // the case sends them on purpose (tag `extra_params`) or sends a raw path.
        if !case.tags.iter().any(|t| t == "extra_params") {
            let case_products: Vec<Product> = if case.products.is_empty() {
                products.clone()
            } else {
                case.products.clone()
            };
            let mut requests = vec![("request".to_string(), &case.request)];
            for (j, inv) in case.expect.invariants.iter().enumerate() {
                match inv {
                    Invariant::SubsetOf { of: r, .. }
                    | Invariant::SameValueAs { of: r, .. }
                    | Invariant::ReadShowsWrite { read: r, .. } => {
                        requests.push((format!("expect.invariants[{j}].request"), r))
                    }
                    Invariant::ScalesAfterWrite { read, base, .. } => {
                        requests.push((format!("expect.invariants[{j}].read"), read));
                        requests.push((format!("expect.invariants[{j}].base"), base));
                    }
                    _ => {}
                }
            }
            for (at, r) in requests {
                if r.path.is_some() {
                    continue;
                }
                for (k, _) in &r.params.0 {
                    let known = case_products.iter().any(|p| {
                        catalogue
                            .method(*p, &r.method)
                            .is_none_or(|m| m.param(k).is_some())
                    });
                    if !known {
                        return Err(err(
                            line_of(text, line, k),
                            format!("cases[{i}].{at}.params.{k}"),
                            format!(
                                "{} does not take `{k}` ({}); tag the case `extra_params` to send it on purpose",
                                r.method,
                                join(&case_products)
                            ),
                        ));
                    }
                }
            }
        }
        let mut names = Vec::new();
        names_in_case(case, &mut names);
        for (field, value, problem) in names {
            if let Some(problem) = problem {
                return Err(err(
                    line_of(text, line, &value),
                    format!("cases[{i}].{field}"),
                    problem,
                ));
            }
        }
    }
    Ok(())
}

/// Every role, fact and placeholder a case names, each with the problem it has (None: fine).
fn names_in_case(case: &Case, out: &mut Vec<(String, String, Option<String>)>) {
    names_in_request("request", &case.request, out);
    names_in_expect("expect", &case.expect, out);
    for (name, e) in &case.positions {
        names_in_expect(&format!("positions.{name}"), e, out);
    }
}

fn names_in_request(at: &str, r: &Request, out: &mut Vec<(String, String, Option<String>)>) {
    let role_ok =
        r.caller == crate::facts::NOBODY || crate::facts::ROLES.contains(&r.caller.as_str());
    out.push((
        format!("{at}.as"),
        r.caller.clone(),
        (!role_ok).then(|| {
            format!(
                "unknown role `{}` (expected one of {}, {})",
                r.caller,
                crate::facts::ROLES.join(", "),
                crate::facts::NOBODY
            )
        }),
    ));
    if let Some(u) = &r.u {
        out.push((format!("{at}.u"), u.clone(), fact_problem(u)));
    }
    for (k, v) in &r.params.0 {
        out.push((format!("{at}.params.{k}"), v.clone(), fact_problem(v)));
    }
}

fn names_in_expect(at: &str, e: &Expect, out: &mut Vec<(String, String, Option<String>)>) {
    for (path, v) in &e.values {
        let problem = fact_problem(v).or_else(|| placeholder_problem(v));
        out.push((format!("{at}.values.{path}"), v.clone(), problem));
    }
    if let Some(t) = &e.text {
        out.push((format!("{at}.text"), t.clone(), placeholder_problem(t)));
    }
    for (j, inv) in e.invariants.iter().enumerate() {
        let here = format!("{at}.invariants[{j}]");
        match inv {
            Invariant::NarrowerReturnsNoMore { params, .. }
            | Invariant::FinerGroupingSumsToCoarser { params, .. } => {
                for (k, v) in &params.0 {
                    out.push((format!("{here}.params.{k}"), v.clone(), fact_problem(v)));
                }
            }
            Invariant::RowsMatch { one_of, .. } => {
                for v in one_of {
                    out.push((format!("{here}.one_of"), v.clone(), fact_problem(v)));
                }
            }
            Invariant::SubsetOf { of, .. } | Invariant::SameValueAs { of, .. } => {
                names_in_request(&format!("{here}.of"), of, out)
            }
            Invariant::ScalesAfterWrite {
                read, base, factor, ..
            } => {
                names_in_request(&format!("{here}.read"), read, out);
                names_in_request(&format!("{here}.base"), base, out);
                out.push((
                    format!("{here}.factor"),
                    factor.clone(),
                    placeholder_problem(factor),
                ));
            }
            Invariant::ReadShowsWrite { read, value, .. } => {
                names_in_request(&format!("{here}.read"), read, out);
                out.push((
                    format!("{here}.value"),
                    value.clone(),
                    placeholder_problem(value).or_else(|| fact_problem(value)),
                ));
            }
            _ => {}
        }
    }
}

/// The problem of a value that names a fact, if it names an unknown one (or a password inside
/// a longer value, where the report could not mask it).
fn fact_problem(v: &str) -> Option<String> {
    let whole = crate::facts::reference(v).is_some();
    crate::facts::references(v).into_iter().find_map(|name| {
        if !crate::facts::is_fact(name) {
            let written = if whole {
                format!("${name}")
            } else {
                format!("{{{{fact:{name}}}}}")
            };
            return Some(format!(
                "unknown fact `{written}` (known: {})",
                crate::facts::FACTS
                    .iter()
                    .map(|(n, _)| format!("${n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        (!whole && crate::facts::password_of(name).is_some()).then(|| {
            format!(
                "`{{{{fact:{name}}}}}`: a password is a whole value (`${name}`), masked in reports"
            )
        })
    })
}

/// The placeholders a value may hold: the XML value types and `{{param:NAME}}`.
pub const PLACEHOLDERS: [&str; 8] = [
    "any", "text", "subtree", "int", "number", "date", "datetime", "hex40",
];

/// The problem of a value holding `{{...}}` that is not a known placeholder.
fn placeholder_problem(v: &str) -> Option<String> {
    let mut rest = v;
    while let Some(i) = rest.find("{{") {
        let after = &rest[i + 2..];
        let Some(j) = after.find("}}") else {
            return Some(format!("`{v}`: `{{{{` without `}}}}`"));
        };
        let inner = after[..j].trim();
        let known = PLACEHOLDERS.contains(&inner)
            || inner.strip_prefix("param:").is_some_and(|n| !n.is_empty())
            || inner.starts_with("fact:");
        if !known {
            return Some(format!(
                "unknown placeholder `{{{{{inner}}}}}` (known: {}, param:NAME, fact:NAME)",
                PLACEHOLDERS.join(", ")
            ));
        }
        rest = &after[j + 2..];
    }
    None
}

fn join(products: &[Product]) -> String {
    products
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The JSON Schema of the scenario format, for editors.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Scenario);
    serde_json::to_value(schema).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat() -> Catalogue {
        Catalogue::parse_embedded().unwrap()
    }

    const GOOD: &str = r#"version: 1
name: example
products: [m4]
clock: "2026-11-23 12:00:00"
settings:
  allow_get: true
quirks:
  balance_update: set
world:
  seed: 7
  users:
    - { id: 9, username: bob, role: user, balance: "10.50" }
overlay:
  faults:
    - match: { method: quickstats_get }
      fault: { kind: delay, ms: 5 }
cases:
  - name: admin reads quick stats
    request:
      method: user_calls_get
      params: { s_user: 1, only_did: true, period_start: "0.10" }
    expect: { success: true }
  - name: a wrong hash is refused
    kind: protocol
    request: { method: quickstats_get, sign: wrong_secret }
    expect: { error: Incorrect hash, wrapper: status }
"#;

    #[test]
    fn a_full_scenario_loads_with_case_lines() {
        let s = load_str(GOOD, Path::new("good.yaml"), &cat()).unwrap();
        assert_eq!(s.scenario.cases.len(), 2);
        assert_eq!(s.case_lines, vec![18, 23]);
        let p = &s.scenario.cases[0].request.params;
        assert_eq!(
            p.0,
            vec![
                ("s_user".to_string(), "1".to_string()),
                ("only_did".to_string(), "1".to_string()),
                ("period_start".to_string(), "0.10".to_string())
            ]
        );
        assert_eq!(
            s.scenario.world.as_ref().unwrap().data.users[0]
                .balance
                .to_string(),
            "10.5"
        );
    }

    #[test]
    fn a_world_writes_number_pools_and_their_numbers() {
        let text = GOOD.replace(
            "    - { id: 9, username: bob, role: user, balance: \"10.50\" }\n",
            "    - { id: 9, username: bob, role: user, balance: \"10.50\" }\n  number_pools:\n    - { id: 7, name: CLIs }\n  number_pool_numbers:\n    - { id: 70, number_pool_id: 7, number: \"3706%\" }\n",
        );
        let s = load_str(&text, Path::new("w.yaml"), &cat()).unwrap_or_else(|e| panic!("{e}"));
        let w = &s.scenario.world.as_ref().expect("a world").data;
        assert_eq!((w.number_pools[0].id, w.number_pools[0].owner_id), (7, 0));
        assert_eq!(w.number_pool_numbers[0].number, "3706%");
        let bad = text.replace("number: \"3706%\"", "numbr: \"3706%\"");
        assert!(load_str(&bad, Path::new("w.yaml"), &cat()).is_err());
    }

    #[test]
    fn a_world_writes_services_subscriptions_invoices_and_credit_notes() {
        let text = GOOD.replace(
            "    - { id: 9, username: bob, role: user, balance: \"10.50\" }\n",
            concat!(
                "    - { id: 9, username: bob, role: user, balance: \"10.50\" }\n",
                "  services:\n    - { id: 5, name: Hosting, price: \"3.5\" }\n",
                "  subscriptions:\n    - { id: 6, user_id: 9, service_id: 5, added: \"today-3 08:00:00\" }\n",
                "  invoices:\n    - { id: 7, user_id: 9, number: INV7, period_start: \"2026-10-01 00:00:00\",",
                " period_end: \"2026-10-31 23:59:59\", issue_date: \"2026-11-01 00:00:00\" }\n",
                "  credit_notes:\n    - { id: 8, user_id: 9, issue_date: \"today 10:00:00\", price: \"1.25\" }\n",
            ),
        );
        let s = load_str(&text, Path::new("w.yaml"), &cat()).unwrap_or_else(|e| panic!("{e}"));
        let w = &s.scenario.world.as_ref().expect("a world").data;
        assert_eq!(
            (w.services[0].id, w.services[0].name.as_str()),
            (5, "Hosting")
        );
        assert_eq!(
            (w.subscriptions[0].user_id, w.subscriptions[0].service_id),
            (9, 5)
        );
        assert_eq!(w.invoices[0].number, "INV7");
        assert_eq!(w.credit_notes[0].price.to_string(), "1.25");
        // A misspelled field of the new collections is refused like any other.
        let bad = text.replace("service_id: 5", "servce_id: 5");
        assert!(load_str(&bad, Path::new("w.yaml"), &cat()).is_err());
    }

    #[test]
    fn every_typed_collection_is_writable_from_a_scenario_world() {
        // A collection the typed world gains is a scenario world field too (four were missed).
        for name in crate::records::TYPED {
            let text = format!("version: 1\nworld:\n  base: empty\n  {name}: []\n");
            if let Err(e) = load_str(&text, Path::new("w.yaml"), &cat()) {
                panic!("{name}: {e}");
            }
        }
    }

    #[test]
    fn a_world_writes_dids_and_records_of_a_collection_only_the_catalogue_knows() {
        let text = GOOD.replace(
            "    - { id: 9, username: bob, role: user, balance: \"10.50\" }\n",
            "    - { id: 9, username: bob, role: user, balance: \"10.50\" }\n  dids:\n    - { id: 3, did: \"37052000003\", provider_id: 1, status: reserved, user_id: 9 }\n  records:\n    contacts:\n      - { id: \"1\", user_id: \"9\", number: \"0037\" }\n",
        );
        let s = load_str(&text, Path::new("w.yaml"), &cat()).unwrap_or_else(|e| panic!("{e}"));
        let w = &s.scenario.world.as_ref().expect("a world").data;
        assert_eq!(w.dids[0].status, "reserved");
        assert_eq!(w.dids[0].user_id, 9);
        assert_eq!(
            w.records["contacts"][0].get("number"),
            Some(&serde_json::Value::String("0037".into()))
        );
        let bad = text.replace("status: reserved", "state: reserved");
        let e = load_str(&bad, Path::new("w.yaml"), &cat())
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `state`"), "{e}");
    }

    #[test]
    fn a_world_writes_custom_rates_and_retail_group_rates_checked_as_read() {
        let text = GOOD.replace(
            "    - { id: 9, username: bob, role: user, balance: \"10.50\" }\n",
            "    - { id: 9, username: bob, role: user, balance: \"10.50\", tariff_id: 7,\n        custom_rates: [ { group: Spain, group_type: MOB, bands: [ { price: \"0.1\", duration: 5 } ] } ] }\n  tariffs:\n    - id: 7\n      name: R7\n      purpose: user\n      group_rates:\n        - group: Spain\n          bands:\n            - { from: 2, price: \"0.2\", daytype: FD, artype: event }\n",
        );
        let s = load_str(&text, Path::new("w.yaml"), &cat()).unwrap_or_else(|e| panic!("{e}"));
        let w = &s.scenario.world.as_ref().expect("a world").data;
        let custom = &w.users[0].custom_rates[0];
        assert_eq!(
            (custom.group.as_str(), custom.group_type.as_str()),
            ("Spain", "MOB")
        );
        assert_eq!(custom.bands[0].duration, 5);
        assert_eq!(custom.bands[0].from, 1, "from defaults to the first minute");
        let band = &w.tariffs[0].group_rates[0].bands[0];
        assert_eq!(band.duration, -1, "duration defaults to the whole call");
        assert_eq!(band.artype, crate::world::RateKind::Event);
        assert_eq!(
            (band.start_time.as_str(), band.end_time.as_str()),
            ("00:00:00", "23:59:59")
        );
        for (from, to, says) in [
            ("daytype: FD", "daytype: SAT", "daytype must be WD"),
            ("duration: 5", "duration: -2", "duration must be -1"),
            ("from: 2", "from: 0", "from must be a minute"),
            (
                "from: 2,",
                "from: 2, start_time: \"25:00:00\",",
                "is not a time of day",
            ),
            (
                "artype: event",
                "artype: hourly",
                "unknown variant `hourly`",
            ),
            (
                "- group: Spain\n",
                "- group: \"\"\n",
                "group must name a destination group",
            ),
        ] {
            let bad = text.replace(from, to);
            assert_ne!(bad, text, "{from}");
            let e = load_str(&bad, Path::new("w.yaml"), &cat())
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("w.yaml:"), "{e}");
            assert!(e.contains(says), "{to}: {e}");
        }
    }

    #[test]
    fn a_misspelled_field_fails_with_file_line_and_field() {
        let bad = GOOD.replace("expect: { success: true }", "expcet: { success: true }");
        let e = load_str(&bad, Path::new("bad.yaml"), &cat()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("bad.yaml:22:"), "{msg}");
        assert!(msg.contains("unknown field `expcet`"), "{msg}");
        assert!(msg.contains("cases[0]"), "{msg}");
    }

    #[test]
    fn an_unknown_method_is_reported_at_its_line() {
        let bad = GOOD.replace(
            "method: user_calls_get\n      params",
            "method: user_call_get\n      params",
        );
        let e = load_str(&bad, Path::new("bad.yaml"), &cat()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "bad.yaml:20: cases[0].request.method: unknown method `user_call_get` for m4"
        );
    }

    #[test]
    fn a_bad_setting_type_names_the_field() {
        let bad = GOOD.replace("allow_get: true", "allow_get: maybe");
        let e = load_str(&bad, Path::new("bad.yaml"), &cat()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("bad.yaml:6:"), "{msg}");
        assert!(msg.contains("settings.allow_get"), "{msg}");
    }

    #[test]
    fn an_unknown_fact_role_or_placeholder_fails_at_its_line() {
        let bad = GOOD.replace("params: { s_user: 1,", "params: { s_user: $user.idd,");
        let e = load_str(&bad, Path::new("bad.yaml"), &cat()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with(
                "bad.yaml:21: cases[0].request.params.s_user: unknown fact `$user.idd`"
            ),
            "{msg}"
        );
        for (inside, at) in [
            (
                "'<u>{{fact:user.idd}}</u>'",
                "unknown fact `{{fact:user.idd}}`",
            ),
            (
                "'x{{fact:admin.password}}'",
                "`{{fact:admin.password}}`: a password is a whole value",
            ),
        ] {
            let bad = GOOD.replace(
                "params: { s_user: 1,",
                &format!("params: {{ s_user: {inside},"),
            );
            let msg = load_str(&bad, Path::new("bad.yaml"), &cat())
                .unwrap_err()
                .to_string();
            assert!(
                msg.starts_with("bad.yaml:21: cases[0].request.params.s_user: ")
                    && msg.contains(at),
                "{msg}"
            );
        }
        let bad = GOOD.replace(
            "method: quickstats_get, sign",
            "method: quickstats_get, as: admn, sign",
        );
        let msg = load_str(&bad, Path::new("bad.yaml"), &cat())
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("bad.yaml:25: cases[1].request.as: unknown role `admn`"),
            "{msg}"
        );
        let bad = GOOD.replace(
            "expect: { success: true }",
            "expect: { values: { a: \"{{nmber}}\" } }",
        );
        let msg = load_str(&bad, Path::new("bad.yaml"), &cat())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("cases[0].expect.values.a: unknown placeholder `{{nmber}}`"),
            "{msg}"
        );
    }

    #[test]
    fn a_parameter_the_method_does_not_take_fails_unless_tagged() {
        let bad = GOOD.replace(
            "params: { s_user: 1, only_did: true, period_start: \"0.10\" }",
            "params: { s_device: 5 }",
        );
        let msg = load_str(&bad, Path::new("bad.yaml"), &cat())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(
                "cases[0].request.params.s_device: user_calls_get does not take `s_device`"
            ),
            "{msg}"
        );
        let ok = bad.replace(
            "  - name: admin reads quick stats\n",
            "  - name: admin reads quick stats\n    tags: [extra_params]\n",
        );
        assert!(load_str(&ok, Path::new("ok.yaml"), &cat()).is_ok());
    }

    #[test]
    fn the_json_schema_names_the_top_level_fields() {
        let s = json_schema();
        let props = s["properties"].as_object().unwrap();
        for f in [
            "version", "world", "settings", "quirks", "overlay", "cases", "clock",
        ] {
            assert!(props.contains_key(f), "{f}");
        }
    }
}
