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

/// X3's login failure once the last three attempts from the client's address failed (C 40-88).
pub const X3_LOGIN_WAIT: &str = "Please wait 10 seconds before trying to login again";
/// X3's payment_create answer when API payments are off (C 3224-3303).
pub const X3_PAYMENTS_OFF: &str = "Payments not allow from api";
/// X3's device_list answer for a user without devices (C 4039-4075).
pub const X3_DEVICE_NOT_FOUND: &str = "Device not found";
/// X3's device_list answer to an accountant without the `device_manage` permission.
pub const X3_DEVICES_NOT_AUTHORIZED: &str = "You are not authorized to view this page";

/// Whether login answers a wait message after repeated failures. The wiki documents no such
/// answer; the X3 code answers `Please wait 10 seconds before trying to login again` once the
/// last three attempts from the client's address failed (C 40-88, `Action.disable_login_check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoginThrottle {
    /// Every failure answers `Login failed` (the wiki pages).
    None,
    /// X3's rule, per client address (profile `x3`).
    X3,
}

/// How answers are delivered. UNK on the wiki, which shows the XML only; the X3 code sends
/// every answer as a file download unless `test=1`, and get_tariff as a zip archive (C
/// 4232-4258).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerDelivery {
    /// The XML as the body, `application/xml` (the catalogue's delivery).
    Inline,
    /// X3's `send_xml_data` (profile `x3`): see `mor-mock`'s `delivery` module.
    X3,
}

/// Whose answers a method gives where the MOR wiki page and the MOR X3 server code disagree
/// (CONTRA): the page's, or the code's (GitHub `adeshjohnson/MX3`, `app/controllers/api_controller.rb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerSource {
    /// As the wiki page documents it (the catalogue's sample, errors and access rules).
    Wiki,
    /// As the X3 action computes it (profile `x3`).
    X3,
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
        /// Per method, a named alternative success answer from the engine declaration's
        /// `variants` (for example `credit_note_delete: current_page`): where a page's
        /// revisions or the X3 code answer otherwise than the catalogue's default.
        answer_variants: BTreeMap<String, String> = BTreeMap::new(),
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
        /// payment_create's answers: the wiki page's (`<confirmed>`, `User was not found`,
        /// `Feature disabled` when API payments are off), or the X3 action's (C 3224-3303: no
        /// `<confirmed>`; API payments off answers `Payments not allow from api` before any role
        /// check; a caller who is a simple user or does not own the user, an unknown user
        /// included, answers `Access Denied` in `<page>`).
        payment_create_answers: AnswerSource = AnswerSource::Wiki,
        /// devices_get's answers: the wiki page's (device_id, device_type, ipaddr, port; the
        /// catalogue's access rules), or the X3 action's (C 4039-4075: device_id and
        /// device_type only; the user must be the caller's own, `Access Denied` otherwise, the
        /// admin's included; an accountant needs `device_manage`; no devices answers `Device not
        /// found`).
        devices_get_answers: AnswerSource = AnswerSource::Wiki,
        /// MOR tariff_rates_get's retail tariffs and custom rates: the wiki page's (one
        /// `<page>` block; a retail tariff's rates grouped by destination group, each `<rate>`
        /// ending `from`, `daytype`, its duration as stored; the user's custom rates listed
        /// first in the tariff's `<rates>`), or the X3 action's (C 1015-1178: a `Custom Rates`
        /// block of its own first, then the tariff's block without the custom groups; each
        /// `<rate>` ending `daytype`, `from`; duration -1 answered `Infinity`; no ownership
        /// check: `user_id` names any user, `tariff_id` is the admin's any tariff, a reseller's
        /// own, and ignored for a simple user or an accountant, who get their own tariff).
        /// MOR only.
        tariff_rates_answers: AnswerSource = AnswerSource::Wiki,
        /// user_login's checks: the wiki page's (the hash over `u` and `p`, MOR since March
        /// 2021; a blocked user fails), or the X3 action's (C 16-21, 40-88, 4273-4279: login is
        /// not in the hash filter's list, so a sent hash is ignored, and the password lookup
        /// does not look at `blocked`).
        login_answers: AnswerSource = AnswerSource::Wiki,
        /// user_calls_get's answer: the wiki page's, or the X3 action's (C 1404-1519): a
        /// `<timezone>` after each call's `calldate2` (the server's zone as Rails prints it),
        /// `show_destination` when `s_destination` is sent, `show_hgc` as the cause id or `all`,
        /// and no `<calls>` element when no call matches.
        user_calls_answers: AnswerSource = AnswerSource::Wiki,
        /// MOR tariff_retail_import's roles, which the page does not name (UNK): the catalogue's
        /// (the admin and resellers, each on his own tariffs, as tariff_wholesale_update), or
        /// the X3 action's (C import_tariff_retail: no role check, any caller imports into a
        /// tariff he owns or creates one owned by himself).
        retail_import_answers: AnswerSource = AnswerSource::Wiki,
        /// Methods (canonical names) the server does not implement: every name of them is
        /// answered as a path naming no method (quirk `unknown_method`). X3 has no action for
        /// exchange_rate_update, device_details_get, quickstats_get or aggregate_get.
        unimplemented_methods: BTreeSet<String> = BTreeSet::new(),
        /// The names (canonical or alias) the server answers to; empty: every name of the
        /// catalogue. Any other name is answered as a path naming no method (quirk
        /// `unknown_method`). X3 routes `/api/NAME` to the controller action NAME (routes.rb's
        /// `:controller(/:action)`), and its actions carry the old names: `user_details`, not
        /// `user_details_get`.
        served_names: BTreeSet<String> = BTreeSet::new(),
        /// Whether user_login answers `Please wait 10 seconds before trying to login again` once
        /// the last three attempts from the client's address failed (X3, C 40-88).
        login_throttle: LoginThrottle = LoginThrottle::None,
        /// How answers are delivered: inline, or as X3 sends them (a `text/html` download named
        /// `mor_api_response.html`, `text/xml` `mor_api_response.xml` with the XML API
        /// Extension, get_tariff a zip archive; inline `text/html` with `test=1`).
        answer_delivery: AnswerDelivery = AnswerDelivery::Inline,
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

    /// Whether the server answers to `name` (a method's canonical name or an alias): every
    /// name when `served_names` is empty.
    pub fn serves(&self, name: &str) -> bool {
        self.served_names.is_empty() || self.served_names.contains(name)
    }

    /// Whether the server answers to at least one of `method`'s names.
    pub fn serves_method(&self, method: &crate::catalogue::Method) -> bool {
        self.serves(&method.name) || method.aliases.iter().any(|a| self.serves(a))
    }

    /// The name to send for `method` when a client asks for it as `asked`: `asked` where the
    /// server answers to it, else the first of the method's names (canonical, then aliases in
    /// catalogue order) it answers to, else `asked`.
    pub fn name_to_send<'a>(
        &'a self,
        method: &'a crate::catalogue::Method,
        asked: &'a str,
    ) -> &'a str {
        if self.serves(asked) {
            return asked;
        }
        std::iter::once(method.name.as_str())
            .chain(method.aliases.iter().map(String::as_str))
            .find(|n| self.serves(n))
            .unwrap_or(asked)
    }

    /// Whether `method` (canonical name) is one of `unimplemented_methods`.
    pub fn is_unimplemented(&self, method: &str) -> bool {
        !self.unimplemented_methods.is_empty() && self.unimplemented_methods.contains(method)
    }

    /// Whether the handler of `method` makes its own role, ownership and feature checks (the X3
    /// positions of `payment_create_answers`, `devices_get_answers`, `tariff_rates_answers` and
    /// `retail_import_answers`),
    /// so the gate stops after the login and hash checks.
    pub fn checks_in_action(&self, method: &str) -> bool {
        match method {
            "payment_create" => self.payment_create_answers == AnswerSource::X3,
            "devices_get" => self.devices_get_answers == AnswerSource::X3,
            "tariff_rates_get" => self.tariff_rates_answers == AnswerSource::X3,
            "tariff_retail_import" => self.retail_import_answers == AnswerSource::X3,
            _ => false,
        }
    }

    /// Error texts `method` (canonical name) answers under these positions beyond its
    /// catalogue's errors and the general ones: the X3 actions' own texts.
    pub fn extra_errors(&self, method: &str) -> &'static [&'static str] {
        match method {
            "payment_create" if self.payment_create_answers == AnswerSource::X3 => {
                &[X3_PAYMENTS_OFF]
            }
            "devices_get" if self.devices_get_answers == AnswerSource::X3 => {
                &[X3_DEVICE_NOT_FOUND, X3_DEVICES_NOT_AUTHORIZED]
            }
            "user_login" if self.login_throttle == LoginThrottle::X3 => &[X3_LOGIN_WAIT],
            _ => &[],
        }
    }

    /// Element paths below the root (`/`-separated) of `method`'s success sample that these
    /// positions leave out: X3's payment_create has no `<confirmed>`, its device_list no
    /// `<ipaddr>` or `<port>`.
    pub fn omitted_elements(&self, method: &str) -> &'static [&'static str] {
        match method {
            "payment_create" if self.payment_create_answers == AnswerSource::X3 => {
                &["response/confirmed"]
            }
            "devices_get" if self.devices_get_answers == AnswerSource::X3 => {
                &["devices/device/ipaddr", "devices/device/port"]
            }
            _ => &[],
        }
    }

    /// The success sample of `method` as these positions answer it: `sample` (the catalogue's)
    /// less [`Quirks::omitted_elements`]; `None` when nothing is left out or `sample` is not XML.
    pub fn sample_for(&self, method: &str, sample: &str) -> Option<String> {
        let omit = self.omitted_elements(method);
        if omit.is_empty() {
            return None;
        }
        let mut doc = crate::xml::parse(sample).ok()?;
        for path in omit {
            let parts: Vec<&str> = path.split('/').collect();
            remove_path(&mut doc.root, &parts);
        }
        let mut out = String::new();
        crate::xml::render_element(&doc.root, crate::xml::Layout::Pretty, 0, &mut out);
        Some(out)
    }

    /// Whether the hash of a request to `method` is never checked (a sent one is ignored): a
    /// method of `open_methods`, or user_login under the X3 position of `login_answers`.
    pub fn hash_unchecked(&self, method: &str) -> bool {
        self.is_open(method) || (method == "user_login" && self.login_answers == AnswerSource::X3)
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

/// tariff_rates_get (quirk `tariff_rates_answers`): the success shapes beyond the catalogue's
/// sample, which is the wholesale shape.
impl Quirks {
    /// Other success samples of `method` under these positions, for `structure: sample`: an
    /// answer matching any of them, or the catalogue's `sample`, has the documented structure.
    /// MOR tariff_rates_get answers a retail tariff grouped by destination group, and under the
    /// X3 position a user's custom rates in a block of their own before the tariff's.
    pub fn alternative_samples(
        &self,
        product: crate::catalogue::Product,
        method: &str,
        sample: &str,
    ) -> Vec<String> {
        if product != crate::catalogue::Product::Mor || method != "tariff_rates_get" {
            return Vec::new();
        }
        let x3 = self.tariff_rates_answers == AnswerSource::X3;
        let rate = if x3 {
            "<rate><duration>{{any}}</duration><type>{{text}}</type><round_by>{{int}}</round_by>\
             <tariff_rate>{{number}}</tariff_rate><start_time>{{text}}</start_time>\
             <end_time>{{text}}</end_time><daytype>{{text}}</daytype><from>{{int}}</from></rate>"
        } else {
            "<rate><duration>{{int}}</duration><type>{{text}}</type><round_by>{{int}}</round_by>\
             <tariff_rate>{{number}}</tariff_rate><start_time>{{text}}</start_time>\
             <end_time>{{text}}</end_time><from>{{int}}</from><daytype>{{text}}</daytype></rate>"
        };
        let head = "<pagename>Tariff</pagename><tariff_name>{{text}}</tariff_name>\
                    <purpose>{{text}}</purpose><currency>{{text}}</currency>";
        let retail = format!(
            "{head}<rates><destination><destination_group_name>{{{{text}}}}</destination_group_name>\
             <destination_group_type>{{{{text}}}}</destination_group_type>{rate}</destination></rates>"
        );
        let mut out = vec![format!("<page>{retail}</page>")];
        if x3 {
            // The Custom Rates block has the retail block's elements; the tariff's follows.
            let wholesale = sample
                .trim()
                .strip_prefix("<page>")
                .and_then(|s| s.strip_suffix("</page>"))
                .unwrap_or_default();
            out.push(format!("<page>{retail}{retail}</page>"));
            if !wholesale.is_empty() {
                out.push(format!("<page>{retail}{wholesale}</page>"));
            }
        }
        out
    }
}

/// Remove every element at `path` (names from `el`'s children down) below `el`.
fn remove_path(el: &mut crate::xml::Element, path: &[&str]) {
    match path {
        [] => {}
        [last] => el
            .children
            .retain(|c| !matches!(c, crate::xml::Node::Element(e) if e.name == *last)),
        [first, rest @ ..] => {
            for c in &mut el.children {
                if let crate::xml::Node::Element(e) = c {
                    if e.name == *first {
                        remove_path(e, rest);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x3_samples_leave_out_what_the_x3_actions_do_not_answer() {
        let q = Quirks {
            payment_create_answers: AnswerSource::X3,
            devices_get_answers: AnswerSource::X3,
            ..Quirks::default()
        };
        let devices = "<page><devices><device><device_id>{{int}}</device_id><device_type>{{text}}</device_type><ipaddr>{{text}}</ipaddr><port>{{int}}</port></device></devices></page>";
        let got = q.sample_for("devices_get", devices).expect("changed");
        assert!(
            got.contains("<device_type>") && !got.contains("ipaddr") && !got.contains("port"),
            "{got}"
        );
        let pay = "<page><response><status>ok</status><confirmed>{{text}}</confirmed><payment currency=\"{{text}}\"><payment_id>{{int}}</payment_id></payment></response></page>";
        let got = q.sample_for("payment_create", pay).expect("changed");
        assert!(
            !got.contains("confirmed") && got.contains("payment_id"),
            "{got}"
        );
        assert_eq!(Quirks::default().sample_for("devices_get", devices), None);
    }

    #[test]
    fn tariff_rates_alternative_samples_follow_the_position() {
        use crate::catalogue::Product;
        use crate::xml::{diff, parse, DiffMode};
        let wholesale = "<page><pagename>Tariff</pagename><tariff_name>{{text}}</tariff_name><purpose>{{text}}</purpose><currency>{{text}}</currency><rates><rate><prefix>{{text}}</prefix></rate></rates></page>";
        let band = |last: &str| {
            format!("<rate><duration>-1</duration><type>minute</type><round_by>1</round_by><tariff_rate>0.1</tariff_rate><start_time>00:00:00</start_time><end_time>23:59:59</end_time>{last}</rate>")
        };
        let retail = |last: &str| {
            format!("<pagename>Tariff</pagename><tariff_name>R</tariff_name><purpose>user</purpose><currency>EUR</currency><rates><destination><destination_group_name>Spain</destination_group_name><destination_group_type>MOB</destination_group_type>{}</destination></rates>", band(last))
        };
        let wiki_doc = format!("<page>{}</page>", retail("<from>1</from><daytype/>"));
        let x3_doc = format!("<page>{}</page>", retail("<daytype/><from>1</from>"));
        let matches = |alts: &[String], doc: &str| {
            let d = parse(doc).expect("doc parses");
            alts.iter().any(|a| {
                let a = parse(a).unwrap_or_else(|e| panic!("{e}: {a}"));
                diff(&a.root, &d.root, DiffMode::Structure).is_none()
            })
        };
        let wiki =
            Quirks::default().alternative_samples(Product::Mor, "tariff_rates_get", wholesale);
        assert_eq!(wiki.len(), 1);
        assert!(matches(&wiki, &wiki_doc));
        assert!(!matches(&wiki, &x3_doc), "the bands end from, daytype");
        let q = Quirks {
            tariff_rates_answers: AnswerSource::X3,
            ..Quirks::default()
        };
        let x3 = q.alternative_samples(Product::Mor, "tariff_rates_get", wholesale);
        assert_eq!(x3.len(), 3);
        assert!(matches(&x3, &x3_doc));
        assert!(!matches(&x3, &wiki_doc));
        let custom_then_wholesale = format!(
            "<page>{}<pagename>Tariff</pagename><tariff_name>W</tariff_name><purpose>user_wholesale</purpose><currency>EUR</currency><rates><rate><prefix>370</prefix></rate></rates></page>",
            retail("<daytype/><from>1</from>")
        );
        assert!(matches(&x3, &custom_then_wholesale));
        assert!(Quirks::default()
            .alternative_samples(Product::M4, "tariff_rates_get", wholesale)
            .is_empty());
    }

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
