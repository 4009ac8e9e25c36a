//! Named quirks: every point where the documentation is silent (UNK) or contradicts itself
//! (CONTRA) and the answer changes. Each has the most plausible default and can be switched per
//! scenario or captured from a deployment into a profile.
//!
//! The README's quirk table is the user-facing list; keep the two in step (a test checks that
//! every field here appears there).

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::catalogue::Wrapper;
use crate::patchable;

/// Which hex case of the digest is accepted. UNK: every wiki example is lowercase (Ruby's
/// `hexdigest`); whether uppercase passes is not documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HexCase {
    /// Only lowercase hex (a plain string comparison with Ruby's hexdigest).
    Lower,
    /// Either case.
    Any,
    /// Only uppercase (a deliberately broken server, for testing the tester).
    Upper,
}

/// What an absent optional hashed parameter contributes. UNK: the PHP client fills every default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AbsentParams {
    /// Nothing: only parameters actually sent are concatenated (hash construction page).
    Skip,
    /// Its documented default is concatenated (what the PHP client sends).
    Defaults,
}

/// In which order hashed values are concatenated. CONTRA across revisions of the hash page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HashOrder {
    /// The order each method page lists (every method page; the 2008 and 14272 revisions).
    Catalogue,
    /// The order of the request line (2013 revisions 16261/16264).
    RequestLine,
    /// Any order is accepted (current text, read literally).
    Any,
}

/// How strictly the digest is verified; positions other than `strict` model broken servers so
/// the signature attacks of `props` can be shown to catch them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HashVerification {
    /// The digest must match.
    Strict,
    /// Any non-empty `hash` value is accepted.
    AnyDigest,
    /// A digest computed without the secret is accepted too.
    IgnoreSecret,
}

/// What `balance` means in user_balance_update. CONTRA: "new user balance" in the parameter list,
/// "increases/decreases by the amount" in the method description (M4 current).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BalanceUpdate {
    /// The amount is added (negative amounts subtract).
    Add,
    /// The balance is set to the value.
    Set,
}

/// Nesting of the user_balance_update answer. CONTRA: the M4 page shows `<page><page>`; the PHP
/// client reads a single `<page>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Nesting {
    /// `<page><status>…`.
    Single,
    /// `<page><page><status>…` as printed on the M4 page.
    Double,
}

/// How gzipped answers (devices_get, tariff_rates_get) are delivered. UNK: headers not documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GzipDelivery {
    /// A gzip file as the body: `Content-Type: application/x-gzip` with a `Content-Disposition`
    /// file name (the page says the XML is put in a file and gzipped).
    Attachment,
    /// XML with `Content-Encoding: gzip` (HTTP clients decode it transparently).
    ContentEncoding,
    /// Plain XML, not compressed.
    Plain,
}

/// Which check answers first when several fail. UNK; the error lists of quickstats_get and
/// users_get suggest API, GET, login, hash, permission, validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Precedence {
    /// API disabled, GET disabled, bad login, incorrect hash, permission, validation.
    LoginFirst,
    /// API disabled, GET disabled, incorrect hash, bad login, permission, validation.
    HashFirst,
}

/// The HTML tag the "XML API Extension" setting wraps XML in. UNK: exact wrapper not documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum XmlExtensionWrapper {
    /// `<html><body>XML</body></html>`.
    HtmlBody,
    /// `<html>XML</html>`.
    Html,
}

/// Whose secret validates a non-admin caller's hash. UNK (which secret validates a simple user's
/// request); INF: the owner's. In every position a reseller himself signs with his own key
/// (documented on API_Configuration: a reseller has his own API Secret Key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserSecret {
    /// The owner's: the admin's for admin-owned users, managers, accountants and partners, a
    /// reseller's for his users; a reseller himself signs with his own key.
    Owner,
    /// The admin's for every non-admin caller (a reseller's users included) except a reseller
    /// himself, who always signs with his own key.
    Admin,
}

/// What a path naming no method answers. UNK in the documentation, which never shows it (catalogue
/// `general.unknown_method`); Rails answers a route it does not know with a plain 404 page; the
/// X3 controller answers an action it does not define from its `method_missing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnknownMethod {
    /// HTTP 404 with `Unknown API method` in the catalogue's wrapper.
    ApiError,
    /// HTTP 404 with a plain-text `Not Found` body, no API error.
    NotFound,
    /// HTTP 200 with `<error><type>Undefined method</type><name>NAME</name></error>` and no XML
    /// declaration: the X3 controller's `method_missing` (C 28-36), which Rails 3.2 calls for an
    /// action the controller does not define (`ActionController::Compatibility`).
    UndefinedMethod,
}

/// Which rule a MOR server hashes by. CONTRA: the MOR wiki's method pages (and the hash
/// construction page's per-method examples) give each method its own ordered list of hashed
/// parameters (catalogue `hash`); the MOR X3 server code (GitHub `adeshjohnson/MX3`,
/// `app/models/mor_api.rb`, `check_params_with_all_keys`) concatenates, in one global order,
/// every present parameter that passes its value filter, whatever the method
/// (`catalogue/mor-hash-rule.yaml`, [`crate::hash_rule`]). MOR only: M4 keeps its per-method lists
/// (no code is available for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MorHashRule {
    /// Each method's documented list, in its order (the wiki's method pages).
    PerMethod,
    /// The X3 code's global ordered list with its value filters and integer normalisation.
    Global,
}

patchable! {
    /// Every named quirk with its default position.
    pub struct Quirks / QuirksPatch {
        /// Hex case of the digest that is accepted.
        hash_hex_case: HexCase = HexCase::Lower,
        /// What an absent optional hashed parameter contributes.
        absent_hash_params: AbsentParams = AbsentParams::Skip,
        /// Order of concatenation.
        hash_order: HashOrder = HashOrder::Catalogue,
        /// How strictly the digest is verified.
        hash_verification: HashVerification = HashVerification::Strict,
        /// Which rule a MOR server hashes by: each method's list, or the X3 code's global one.
        mor_hash_rule: MorHashRule = MorHashRule::PerMethod,
        /// Per method, a named alternative hash order from the catalogue's `hash_variants`
        /// (for example `payment_create: rev22240`).
        hash_variants: BTreeMap<String, String> = BTreeMap::new(),
        /// Whose secret validates a non-admin caller's hash (a reseller always signs with his
        /// own key).
        user_secret: UserSecret = UserSecret::Owner,
        /// Whether JSON bodies are read (a JSON number is hashed as its literal text). UNK; the
        /// PHP client sends JSON and Rails parses it.
        json_body: bool = true,
        /// Which failing check answers first.
        error_precedence: Precedence = Precedence::LoginFirst,
        /// Per method (canonical name), the order of the login and hash checks where it differs
        /// from `error_precedence` (the X3 code checks the hash first for some actions and the
        /// login first for others). A method that logs nobody in (user_logout) listed here looks
        /// its `u` up at the gate: an unknown one answers `Bad login`.
        check_order: BTreeMap<String, Precedence> = BTreeMap::new(),
        /// Per method (canonical name), per error text, the wrapper that replaces the
        /// catalogue's (the X3 code builds some errors as bare roots, some inside `<page>`).
        error_wrappers: BTreeMap<String, BTreeMap<String, Wrapper>> = BTreeMap::new(),
        /// Methods (canonical names) answered without the GET gate, a hash or a login: the X3
        /// code exempts simple_balance and balance from the GET filter and neither checks a
        /// hash nor looks `u` up (phones paste a link).
        open_methods: BTreeSet<String> = BTreeSet::new(),
        /// Path names (aliases) answered with an HTTP redirect to another method's path with the
        /// same parameters, once the API and GET checks pass: X3's `user_calls` action redirects
        /// to `user_calls_get`.
        redirects: BTreeMap<String, String> = BTreeMap::new(),
        /// Meaning of `balance` in user_balance_update.
        balance_update: BalanceUpdate = BalanceUpdate::Add,
        /// Nesting of the user_balance_update answer.
        balance_update_nesting: Nesting = Nesting::Single,
        /// Delivery of gzipped answers.
        gzip_delivery: GzipDelivery = GzipDelivery::Attachment,
        /// The wrapper of the XML API Extension.
        xml_extension_wrapper: XmlExtensionWrapper = XmlExtensionWrapper::HtmlBody,
        /// Whether user_balance_get needs `u` (CONTRA: the MOR X4 example sends it, the M4 one not).
        balance_get_requires_u: bool = false,
        /// Whether the M4 index name `aggregates_get` routes to aggregate_get (CONTRA: the index
        /// says aggregates_get, the page and the PHP client aggregate_get).
        aggregates_get_alias: bool = true,
        /// HTTP status of error answers (INF: 200, the error is in the body).
        error_http_status: u16 = 200,
        /// What a path naming no method answers.
        unknown_method: UnknownMethod = UnknownMethod::ApiError,
    }
}

impl Quirks {
    /// The hash variant selected for `method`, if any.
    pub fn hash_variant(&self, method: &str) -> Option<&str> {
        self.hash_variants.get(method).map(String::as_str)
    }

    /// The order of the login and hash checks for `method`: its `check_order` entry, else
    /// `error_precedence`.
    pub fn precedence_of(&self, method: &str) -> Precedence {
        self.check_order
            .get(method)
            .copied()
            .unwrap_or(self.error_precedence)
    }

    /// Whether `method` is one of `open_methods`.
    pub fn is_open(&self, method: &str) -> bool {
        !self.open_methods.is_empty() && self.open_methods.contains(method)
    }

    /// The wrapper `error_wrappers` gives the error `text` of `method`, if any.
    pub fn error_wrapper(&self, method: &str, text: &str) -> Option<Wrapper> {
        if self.error_wrappers.is_empty() {
            return None;
        }
        self.error_wrappers.get(method)?.get(text).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quirk_is_in_the_readme_table() {
        let readme = include_str!("../../../README.md");
        let fields = serde_json::to_value(Quirks::default()).unwrap();
        for name in fields.as_object().unwrap().keys() {
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "README quirk table lacks `{name}`"
            );
        }
    }

    #[test]
    fn a_patch_changes_only_the_fields_it_names() {
        let mut q = Quirks::default();
        let p: QuirksPatch = serde_json::from_str(r#"{"balance_update":"set"}"#).unwrap();
        q.apply(&p);
        assert_eq!(q.balance_update, BalanceUpdate::Set);
        assert_eq!(q.hash_hex_case, HexCase::Lower);
    }
}
