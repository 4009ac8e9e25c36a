//! Read-only discovery: what a foreign target has, learnt from its own API with the credentials
//! given, so that cases can run on its data (PRODUCT.md principle 4).
//!
//! The target file states what it knows (`settings`, `facts`); discovery fills in the rest and
//! never overrides the file. Every request is a read (or a request the target refuses before
//! acting: unsigned, or signed wrong); nothing is written. What it finds:
//!
//! - which methods the target answers: an unsigned request per method; HTTP 404 or
//!   `Unknown API method` (or X3's `<error><type>Undefined method</type>`) means the method is
//!   not served and its cases are skipped;
//! - settings: `api_enabled` (`API Requests are disabled`), `hash_check` (is a corrupted digest
//!   refused?), `allow_get` (is a signed GET answered?);
//! - facts (see [`model::facts::FACTS`]): each credential's user id, another simple user, a
//!   simple user of the reseller, a device, a tariff, a non-default currency, a recent day with
//!   calls, and ids and a username proven absent. A service's or a credit note's id no read
//!   shows: the target file gives it (`service.id`, `reseller_service.id`, `credit_note.id`).
//!
//! A fact that cannot be found is noted with the reason; only the cases that need it skip.

use std::collections::BTreeMap;

use futures_util::StreamExt as _;
use model::catalogue::{Catalogue, HttpVerb, Product};
use model::facts::{set_period_with_calls, Facts, ROLES};
use model::quirks::Quirks;
use model::scenario::{Encoding, ParamList, Request, Signing};
use model::settings::SettingsPatch;
use model::world::When;
use serde::Serialize;

use crate::check::{self, Reading};
use crate::client::{build, Answer, Client, SignContext};
use crate::target::Credentials;

/// What discovery learnt, printed at the start of a run and kept in the JSON report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Discovery {
    /// Facts: the target file's, then those found.
    pub facts: Facts,
    /// Where each fact came from (`target file`, `discovered`, `the mock's world`).
    pub sources: BTreeMap<String, String>,
    /// Settings known: the target file's, then those found.
    pub settings: SettingsPatch,
    /// Methods the target does not answer, with why.
    pub unavailable: BTreeMap<String, String>,
    /// What could not be found, and why.
    pub notes: Vec<String>,
    /// The target's day (00:00:00 and 23:59:59 UTC, Unix seconds), from its `Date` header, when
    /// it sent one: `$today`, `$month` and the `@today_*` defaults follow the target's clock,
    /// not the runner's.
    pub today: Option<(i64, i64)>,
}

impl Discovery {
    /// Start from what a target file states.
    pub fn from_file(facts: &Facts, settings: Option<&SettingsPatch>) -> Discovery {
        let mut d = Discovery {
            facts: facts.clone(),
            settings: settings.cloned().unwrap_or_default(),
            ..Discovery::default()
        };
        for k in facts.0.keys() {
            d.sources.insert(k.clone(), "target file".into());
        }
        d
    }

    fn found(&mut self, name: &str, value: impl Into<String>) {
        if self.facts.get(name).is_none() {
            self.facts.set(name, value);
            self.sources.insert(name.into(), "discovered".into());
        }
    }

    /// The lines printed at the start of a run.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let settings = serde_json::to_value(&self.settings).unwrap_or_default();
        let settings: Vec<String> = settings
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.as_str() != "api_secret" && k.as_str() != "uniquehash")
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect()
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "target settings: {}\n",
            if settings.is_empty() {
                "none known".into()
            } else {
                settings.join(", ")
            }
        ));
        for (k, v) in &self.facts.0 {
            let src = self.sources.get(k).map_or("", String::as_str);
            out.push_str(&format!("fact ${k} = {v} ({src})\n"));
        }
        if let Some((start, _)) = self.today {
            out.push_str(&format!(
                "target today: {} (its Date header)\n",
                model::world::format_date(start)
            ));
        }
        for (m, why) in &self.unavailable {
            out.push_str(&format!("not served: {m} ({why})\n"));
        }
        for n in &self.notes {
            out.push_str(&format!("not found: {n}\n"));
        }
        out
    }
}

/// Everything discovery needs to send requests.
pub struct Target<'a> {
    /// The client (rate limits and timeouts apply).
    pub client: &'a Client,
    /// Base URL.
    pub base: &'a str,
    /// Credentials per role.
    pub credentials: &'a Credentials,
    /// Known quirks (how to sign).
    pub quirks: &'a Quirks,
    /// The catalogue.
    pub catalogue: &'a Catalogue,
    /// The product.
    pub product: Product,
    /// Today in the target's clock.
    pub today: (i64, i64),
    /// Requests in flight at most (the run's `--jobs`).
    pub jobs: usize,
}

impl Target<'_> {
    async fn ask(
        &self,
        method: &str,
        role: &str,
        params: &[(&str, String)],
        sign: Signing,
        http: HttpVerb,
    ) -> Option<(Answer, Reading)> {
        let req = Request {
            method: method.into(),
            caller: role.into(),
            u: None,
            params: ParamList(
                params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            ),
            http: Some(http),
            encoding: Encoding::Query,
            sign,
            path: None,
        };
        let ctx = SignContext {
            catalogue: self.catalogue,
            product: self.product,
            quirks: self.quirks,
            today: self.today,
        };
        let built = build(&req, self.credentials, &ctx, self.base).ok()?;
        let answer = self.client.send(&built).await.ok()?;
        let reading = check::read_unmasked(&answer);
        Some((answer, reading))
    }

    /// A signed POST answered without an error: its document.
    async fn read(
        &self,
        method: &str,
        role: &str,
        params: &[(&str, String)],
    ) -> Option<model::xml::Element> {
        let (a, r) = self
            .ask(method, role, params, Signing::Auto, HttpVerb::Post)
            .await?;
        if r.error.is_some() || !(200..300).contains(&a.status) {
            return None;
        }
        r.doc.map(|d| d.root)
    }

    /// Whether a signed read answers with an error (a user or an id the target does not know).
    async fn refused(&self, method: &str, params: &[(&str, String)]) -> bool {
        matches!(
            self.ask(method, "admin", params, Signing::Auto, HttpVerb::Post).await,
            Some((_, r)) if r.error.is_some()
        )
    }
}

/// Whether the target answers at all: one unsigned request; `Err` names why it could not be
/// reached (then the run stops with one message instead of one error per case). `Ok` holds the
/// target's clock from its `Date` header, when it sent one.
pub async fn reachable(t: &Target<'_>) -> Result<Option<i64>, String> {
    let req = Request {
        method: "quickstats_get".into(),
        caller: "admin".into(),
        u: None,
        params: ParamList::default(),
        http: Some(HttpVerb::Post),
        encoding: Encoding::Query,
        sign: Signing::None,
        path: None,
    };
    let ctx = SignContext {
        catalogue: t.catalogue,
        product: t.product,
        quirks: t.quirks,
        today: t.today,
    };
    let built = build(&req, t.credentials, &ctx, t.base).map_err(|e| e.to_string())?;
    match t.client.send(&built).await {
        Err(e @ crate::client::TransportError::Connect(_)) => Err(e.to_string()),
        Err(_) => Ok(None),
        Ok(a) => Ok(a.date),
    }
}

/// Whether an answer is the X3 controller's `<error><type>Undefined method</type>...</error>`.
fn undefined_method(body: &str) -> bool {
    model::xml::parse(body).is_ok_and(|d| {
        d.root.name == "error"
            && d.root.find("type").map(|t| t.text_content()) == Some("Undefined method".into())
    })
}

/// Discover what `methods` need on the target, starting from what the file states.
pub async fn discover(t: &Target<'_>, methods: &[String], mut d: Discovery) -> Discovery {
    let general = &t.catalogue.product(t.product).general;
    // Which methods are served: probed at once (at most `jobs` in flight; the client's rate
    // limit still applies), so a slow target costs one timeout here, not one per method.
    let probes: Vec<_> = futures_util::stream::iter(methods)
        .map(|m| async move {
            (
                m,
                t.ask(m, "admin", &[], Signing::None, HttpVerb::Post).await,
            )
        })
        .buffered(t.jobs.max(1))
        .collect()
        .await;
    let mut served: Vec<String> = Vec::new();
    let mut answered = 0;
    for (m, answer) in probes {
        match answer {
            None => {
                d.notes.push(format!("{m}: no answer to a probe"));
                served.push(m.clone());
            }
            Some((a, r)) => {
                answered += 1;
                if a.status == 404 {
                    d.unavailable.insert(m.clone(), "HTTP 404".into());
                } else if r
                    .error
                    .as_ref()
                    .is_some_and(|(e, _)| *e == general.unknown_method.text)
                {
                    d.unavailable.insert(
                        m.clone(),
                        format!("answers `{}`", general.unknown_method.text),
                    );
                } else if undefined_method(&a.text()) {
                    // The X3 controller's method_missing (quirk unknown_method: undefined_method).
                    d.unavailable
                        .insert(m.clone(), "answers `Undefined method`".into());
                } else {
                    served.push(m.clone());
                }
            }
        }
    }
    if answered == 0 && !methods.is_empty() {
        // Every later read would wait out its timeout too: the cases say what they lacked.
        d.notes
            .push("discovery stopped: the target answered none of the probes".into());
        return d;
    }
    let serves = |m: &str| served.iter().any(|s| s == m);
    // Settings, through the first read the target serves.
    let probe = [
        "quickstats_get",
        "user_calls_get",
        "user_details_get",
        "devices_get",
        "payments_get",
    ]
    .into_iter()
    .find(|m| serves(m));
    match probe {
        None => d
            .notes
            .push("settings: the target serves none of the reads used to tell them".into()),
        Some(m) => {
            if let Some((_, r)) = t.ask(m, "admin", &[], Signing::Auto, HttpVerb::Post).await {
                let disabled = r
                    .error
                    .as_ref()
                    .is_some_and(|(e, _)| *e == general.api_disabled.text);
                d.settings.api_enabled.get_or_insert(!disabled);
                if !disabled && r.error.is_none() {
                    if d.settings.hash_check.is_none() {
                        if let Some((a, r)) = t
                            .ask(m, "admin", &[], Signing::Corrupt, HttpVerb::Post)
                            .await
                        {
                            let refused = r
                                .error
                                .as_ref()
                                .is_some_and(|(e, _)| *e == general.incorrect_hash.text);
                            let ok = r.error.is_none() && (200..300).contains(&a.status);
                            if refused || ok {
                                d.settings.hash_check = Some(refused);
                            }
                        }
                    }
                    if d.settings.allow_get.is_none() {
                        if let Some((a, r)) =
                            t.ask(m, "admin", &[], Signing::Auto, HttpVerb::Get).await
                        {
                            let refused = r
                                .error
                                .as_ref()
                                .is_some_and(|(e, _)| *e == general.get_disabled.text);
                            let ok = r.error.is_none() && (200..300).contains(&a.status);
                            if refused || ok {
                                d.settings.allow_get = Some(ok);
                            }
                        }
                    }
                } else if r.error.is_some() && !disabled {
                    d.notes.push(format!(
                        "settings: the admin's signed {m} was refused ({}); check the credentials",
                        r.error.as_ref().map_or("", |e| e.0.as_str())
                    ));
                }
            }
        }
    }
    // The callers' usernames and ids.
    let mut ids: Vec<u64> = Vec::new();
    for role in ROLES {
        let Some(c) = t.credentials.get(role) else {
            continue;
        };
        d.found(&format!("{role}.username"), c.username.clone());
        let mut id = None;
        if serves("user_details_get") {
            id = t
                .read(
                    "user_details_get",
                    "admin",
                    &[("username", c.username.clone())],
                )
                .await
                .and_then(|root| check::value_at(&root, "userid"));
        }
        if id.is_none() && serves("user_calls_get") {
            id = t
                .read("user_calls_get", role, &[])
                .await
                .and_then(|root| check::value_at(&root, "userid"));
        }
        match id {
            Some(v) => {
                if let Ok(n) = v.parse::<u64>() {
                    ids.push(n);
                }
                d.found(&format!("{role}.id"), v);
            }
            None if d.facts.get(&format!("{role}.id")).is_none() => d.notes.push(format!(
                "${role}.id: neither user_details_get nor user_calls_get named it"
            )),
            None => {}
        }
    }
    let this_month = (model::world::month_start(t.today.0), t.today.1);
    let user_id = d.facts.get("user.id").map(str::to_string);
    // Users seen with calls this month (besides the credentials), for the currency search.
    let mut seen_users: Vec<String> = Vec::new();
    if d.facts.get("other_user.id").is_none() && serves("aggregate_get") {
        let root = t
            .read(
                "aggregate_get",
                "admin",
                &[
                    ("from", this_month.0.to_string()),
                    ("till", this_month.1.to_string()),
                ],
            )
            .await;
        let mut others: Vec<String> = root
            .as_ref()
            .map(|r| {
                check::rows_at(r, "aggregates/aggregate")
                    .iter()
                    .filter_map(|row| {
                        check::value_at(row, "originator_id")
                            .or_else(|| check::value_at(row, "user_id"))
                    })
                    .filter(|v| Some(v) != user_id.as_ref())
                    .filter(|v| {
                        !t.credentials
                            .roles
                            .keys()
                            .any(|role| d.facts.get(&format!("{role}.id")) == Some(v.as_str()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        others.sort_by_key(|v| v.parse::<u64>().unwrap_or(u64::MAX));
        others.dedup();
        // Without the `user` credentials, $user is a user of the admin with calls this month
        // (cases that act as him still skip; cases about him run as the admin).
        if d.facts.get("user.id").is_none() && t.credentials.get("user").is_none() {
            if let Some(u) = others.first().cloned() {
                others.remove(0);
                d.found("user.id", u);
            }
        }
        if let Some(o) = others.first() {
            d.found("other_user.id", o.clone());
        }
        ids.extend(others.iter().filter_map(|o| o.parse::<u64>().ok()));
        seen_users = others;
    }
    if d.facts.get("other_user.id").is_none() {
        d.notes
            .push("$other_user.id: no other user with calls this month in aggregate_get".into());
    }
    if let (Some(oid), true) = (
        d.facts.get("other_user.id").map(str::to_string),
        serves("user_details_get"),
    ) {
        if let Some(name) = t
            .read("user_details_get", "admin", &[("user_id", oid)])
            .await
            .and_then(|r| check::value_at(&r, "details/other_details/username"))
        {
            d.found("other_user.username", name);
        }
    }
    if let (Some(uid), None, true) = (
        d.facts.get("user.id").map(str::to_string),
        d.facts.get("user.username"),
        serves("user_details_get"),
    ) {
        if let Some(name) = t
            .read("user_details_get", "admin", &[("user_id", uid)])
            .await
            .and_then(|r| check::value_at(&r, "details/other_details/username"))
        {
            d.found("user.username", name);
        }
    }
    // A recent day with calls of `user`.
    let user_id = d.facts.get("user.id").map(str::to_string);
    if serves("user_calls_get") {
        if let Some(uid) = &user_id {
            let wide = (t.today.0 - 62 * 86_400, t.today.1);
            let root = t
                .read(
                    "user_calls_get",
                    "admin",
                    &[
                        ("period_start", wide.0.to_string()),
                        ("period_end", wide.1.to_string()),
                        ("s_user", uid.clone()),
                    ],
                )
                .await;
            let latest = root.as_ref().and_then(|r| {
                check::rows_at(r, "calls_stat/calls/call")
                    .iter()
                    .filter_map(|c| c.find("calldate2"))
                    .filter_map(|e| parse_datetime(&e.text_content()))
                    .max()
            });
            match latest {
                Some(t0) => {
                    if d.facts.get("period_with_calls.start").is_none() {
                        set_period_with_calls(&mut d.facts, t0);
                        for k in ["start", "end", "wide_start"] {
                            d.sources
                                .insert(format!("period_with_calls.{k}"), "discovered".into());
                        }
                    }
                }
                None => d.notes.push(
                    "$period_with_calls: user_calls_get found no call of $user in 62 days".into(),
                ),
            }
        }
    }
    // A device of `user`, and a tariff through it.
    if serves("devices_get") && d.facts.get("device.id").is_none() {
        let first = match d.facts.get("user.id").map(str::to_string) {
            Some(uid) => t
                .read("devices_get", "admin", &[("user_id", uid)])
                .await
                .and_then(|r| {
                    check::rows_at(&r, "devices/device")
                        .iter()
                        .find_map(|dev| check::value_at(dev, "device_id"))
                }),
            None => None,
        };
        match first {
            Some(id) => d.found("device.id", id),
            None if d.facts.get("user.id").is_none() => d.notes.push(
                "$device.id: needs $user.id to list his devices (give the `user` credentials)"
                    .into(),
            ),
            None => d
                .notes
                .push("$device.id: devices_get listed no device of $user".into()),
        }
    }
    // A device of `other_user`, for the writes no other scenario reads back.
    if let (true, None, Some(uid)) = (
        serves("devices_get"),
        d.facts.get("other_user_device.id"),
        d.facts.get("other_user.id").map(str::to_string),
    ) {
        let first = t
            .read("devices_get", "admin", &[("user_id", uid)])
            .await
            .and_then(|r| {
                check::rows_at(&r, "devices/device")
                    .iter()
                    .find_map(|dev| check::value_at(dev, "device_id"))
            });
        match first {
            Some(id) => d.found("other_user_device.id", id),
            None => d
                .notes
                .push("$other_user_device.id: devices_get listed no device of $other_user".into()),
        }
    }
    if let (Some(dev), true) = (
        d.facts.get("device.id").map(str::to_string),
        serves("device_details_get"),
    ) {
        if let Some(root) = t
            .read("device_details_get", "admin", &[("device_id", dev)])
            .await
        {
            let tariff = ["op_tariff_id", "tp_tariff_id", "tariff_id"]
                .iter()
                .find_map(|f| {
                    check::value_at(&root, &format!("status/devices/device/{f}"))
                        .or_else(|| check::value_at(&root, &format!("devices/device/{f}")))
                        .or_else(|| check::value_at(&root, &format!("device/{f}")))
                        .filter(|v| v.parse::<u64>().is_ok_and(|n| n > 0))
                });
            if let Some(tid) = tariff {
                d.found("tariff.id", tid);
            }
        }
    }
    if d.facts.get("tariff.id").is_none() {
        d.notes
            .push("$tariff.id: no device named a tariff (give it in the target file)".into());
    }
    // A provider of the admin: the provider of one of his DIDs (MOR dids_get).
    if serves("dids_get") && d.facts.get("provider.id").is_none() {
        let provider = t.read("dids_get", "admin", &[]).await.and_then(|r| {
            check::rows_at(&r, "dids/did")
                .iter()
                .filter(|row| check::value_at(row, "reseller_id").as_deref() == Some("0"))
                .find_map(|row| {
                    check::value_at(row, "provider_id")
                        .filter(|v| v.parse::<u64>().is_ok_and(|n| n > 0))
                })
        });
        match provider {
            Some(id) => d.found("provider.id", id),
            None => d.notes.push(
                "$provider.id: dids_get listed no DID of the admin (give it in the target file)"
                    .into(),
            ),
        }
    }
    // A simple user of the reseller: the first his users_get lists (it asks for his password).
    if let (Some(c), Some(rid), true, None) = (
        t.credentials.get("reseller"),
        d.facts.get("reseller.id").map(str::to_string),
        serves("users_get"),
        d.facts.get("reseller_user.id"),
    ) {
        let found = match &c.password {
            Some(pw) => t
                .read("users_get", "reseller", &[("p", pw.clone())])
                .await
                .and_then(|r| {
                    check::rows_at(&r, "status/users/user")
                        .iter()
                        .filter(|row| check::value_at(row, "owner_id").as_deref() == Some(&rid))
                        .filter(|row| check::value_at(row, "usertype").as_deref() == Some("user"))
                        .find_map(|row| {
                            Some((
                                check::value_at(row, "id")?,
                                check::value_at(row, "username")?,
                            ))
                        })
                }),
            None => None,
        };
        match found {
            Some((id, name)) => {
                d.found("reseller_user.id", id);
                d.found("reseller_user.username", name);
            }
            None => d.notes.push(
                "$reseller_user.id: users_get as the reseller (with his password_env) listed no simple user of his"
                    .into(),
            ),
        }
    }
    // A currency other than the default: a user's own currency.
    if serves("user_balance_get") && d.facts.get("currency.code").is_none() {
        let mut names: Vec<String> = ["user", "other_user", "admin"]
            .iter()
            .filter_map(|r| d.facts.get(&format!("{r}.username")).map(str::to_string))
            .collect();
        if serves("user_details_get") {
            for id in seen_users.iter().take(8) {
                if let Some(n) = t
                    .read("user_details_get", "admin", &[("user_id", id.clone())])
                    .await
                    .and_then(|r| check::value_at(&r, "details/other_details/username"))
                {
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
        }
        for name in names {
            let own = t
                .read(
                    "user_balance_get",
                    "admin",
                    &[("username", name), ("user_currency", "1".into())],
                )
                .await
                .and_then(|r| check::value_at(&r, "currency"));
            if let Some(code) = own.filter(|c| {
                !c.is_empty()
                    && Some(c.as_str()) != d.settings.default_currency.as_deref()
                    && c != "USD"
            }) {
                d.found("currency.code", code);
                break;
            }
        }
    }
    if serves("payments_get") && d.facts.get("currency.code").is_none() {
        // A payment made in a currency other than the default.
        let other = t.read("payments_get", "admin", &[]).await.and_then(|r| {
            check::rows_at(&r, "payments/payment")
                .iter()
                .filter_map(|p| check::value_at(p, "currency"))
                .find(|c| {
                    !c.is_empty()
                        && Some(c.as_str()) != d.settings.default_currency.as_deref()
                        && c != "USD"
                })
        });
        if let Some(code) = other {
            d.found("currency.code", code);
        }
    }
    if d.facts.get("currency.code").is_none() {
        d.notes.push(
            "$currency.code: no known user or payment has a currency other than the default".into(),
        );
    }
    // A number pool of the admin: the first number_pools_get lists with numbers, else the first.
    let mut pool_ids: Vec<u64> = Vec::new();
    if serves("number_pools_get") && d.facts.get("number_pool.id").is_none() {
        let found = t
            .read("number_pools_get", "admin", &[("show_numbers", "1".into())])
            .await
            .and_then(|r| {
                let pools = check::rows_at(&r, "number_pools/number_pool");
                pool_ids.extend(
                    pools
                        .iter()
                        .filter_map(|p| check::value_at(p, "id")?.parse::<u64>().ok()),
                );
                pools
                    .iter()
                    .find(|p| !check::rows_at(p, "numbers/number").is_empty())
                    .or(pools.first())
                    .and_then(|p| check::value_at(p, "id"))
            });
        match found {
            Some(id) => d.found("number_pool.id", id),
            None => d.notes.push(
                "$number_pool.id: number_pools_get listed no number pool of the admin".into(),
            ),
        }
    }
    // A phonebook record of the `user` account (MOR phonebooks_get as the admin).
    let mut phonebook_ids: Vec<u64> = Vec::new();
    if let (true, None, Some(uid)) = (
        serves("phonebooks_get"),
        d.facts.get("phonebook.id"),
        d.facts.get("user.id").map(str::to_string),
    ) {
        let found = t
            .read("phonebooks_get", "admin", &[("user_id", uid)])
            .await
            .and_then(|r| {
                let rows = check::rows_at(&r, "phonebooks/phonebook");
                phonebook_ids.extend(
                    rows.iter()
                        .filter_map(|p| check::value_at(p, "id")?.parse::<u64>().ok()),
                );
                rows.first().and_then(|p| check::value_at(p, "id"))
            });
        match found {
            Some(id) => d.found("phonebook.id", id),
            None => d.notes.push(
                "$phonebook.id: phonebooks_get listed no phonebook record of the user".into(),
            ),
        }
    }
    // A subscription of the admin's users: the first subscriptions_get lists.
    if serves("subscriptions_get") && d.facts.get("subscription.id").is_none() {
        let found = t
            .read("subscriptions_get", "admin", &[])
            .await
            .and_then(|r| check::value_at(&r, "status/subscriptions/subscription/id"));
        match found {
            Some(id) if !id.is_empty() => d.found("subscription.id", id),
            _ => d.notes.push(
                "$subscription.id: subscriptions_get listed no subscription of the admin's users"
                    .into(),
            ),
        }
    }
    // An LCR of the admin: the first lcrs_get lists (MOR).
    let mut lcr_ids: Vec<u64> = Vec::new();
    if serves("lcrs_get") && d.facts.get("lcr.id").is_none() {
        let found = t.read("lcrs_get", "admin", &[]).await.and_then(|r| {
            let rows = check::rows_at(&r, "lcrs/lcr");
            lcr_ids.extend(
                rows.iter()
                    .filter_map(|l| check::value_at(l, "id")?.parse::<u64>().ok()),
            );
            let first = rows.first()?;
            Some((
                check::value_at(first, "id")?,
                check::value_at(first, "name")?,
            ))
        });
        match found {
            Some((id, name)) => {
                d.found("lcr.id", id);
                d.found("lcr.name", name);
            }
            None => d
                .notes
                .push("$lcr.id: lcrs_get listed no LCR of the admin".into()),
        }
    }
    // Names and ids proven absent.
    let top = ids.iter().copied().max().unwrap_or(0);
    let absent_id = (top + 1) * 1000 + 7;
    let absent_name = "mor_conformance_no_such_user";
    if d.facts.get("absent.user_id").is_none() {
        let proof = if serves("user_details_get") {
            Some(("user_details_get", "user_id"))
        } else if serves("user_calls_get") {
            Some(("user_calls_get", "s_user"))
        } else {
            None
        };
        match proof {
            Some((m, p)) if t.refused(m, &[(p, absent_id.to_string())]).await => {
                d.found("absent.user_id", absent_id.to_string())
            }
            _ => d
                .notes
                .push("$absent.user_id: no read refused an unknown user id".into()),
        }
    }
    if d.facts.get("absent.username").is_none() {
        let proof = if serves("user_details_get") {
            Some("user_details_get")
        } else if serves("user_balance_get") {
            Some("user_balance_get")
        } else {
            None
        };
        match proof {
            Some(m) if t.refused(m, &[("username", absent_name.to_string())]).await => {
                d.found("absent.username", absent_name)
            }
            _ => d
                .notes
                .push("$absent.username: no read refused an unknown username".into()),
        }
    }
    if d.facts.get("absent.device_id").is_none()
        && serves("device_details_get")
        && t.refused(
            "device_details_get",
            &[("device_id", absent_id.to_string())],
        )
        .await
    {
        d.found("absent.device_id", absent_id.to_string());
    }
    let absent_pool = (pool_ids.iter().copied().max().unwrap_or(0).max(top) + 1) * 1000 + 7;
    if d.facts.get("absent.number_pool_id").is_none()
        && serves("number_pools_get")
        && t.refused(
            "number_pools_get",
            &[("number_pool_id", absent_pool.to_string())],
        )
        .await
    {
        d.found("absent.number_pool_id", absent_pool.to_string());
    }
    // credit_notes_get answers an empty page, not an error, for an id it does not know.
    if d.facts.get("absent.credit_note_id").is_none() && serves("credit_notes_get") {
        let listed = t
            .read(
                "credit_notes_get",
                "admin",
                &[("credit_note_id", absent_id.to_string())],
            )
            .await
            .map(|r| check::rows_at(&r, "credit_notes/credit_note").len());
        if listed == Some(0) {
            d.found("absent.credit_note_id", absent_id.to_string());
        }
    }
    // Nor a provider rule: an id far above every rule of the provider fact.
    if d.facts.get("absent.provider_rule_id").is_none() && serves("provider_rules_get") {
        let mut rule_ids: Vec<u64> = Vec::new();
        if let Some(pid) = d.facts.get("provider.id").map(str::to_string) {
            if let Some(r) = t
                .read("provider_rules_get", "admin", &[("provider_id", pid)])
                .await
            {
                rule_ids.extend(
                    check::rows_at(&r, "status/provider_rules/provider_rule")
                        .iter()
                        .filter_map(|x| check::value_at(x, "id")?.parse::<u64>().ok()),
                );
            }
        }
        let absent = (rule_ids.iter().copied().max().unwrap_or(0).max(top) + 1) * 1000 + 7;
        d.found("absent.provider_rule_id", absent.to_string());
    }
    // No read finds an LCR by id either (lcrs_get filters by name).
    if d.facts.get("absent.lcr_id").is_none() && serves("lcrs_get") {
        let absent = (lcr_ids.iter().copied().max().unwrap_or(0).max(top) + 1) * 1000 + 7;
        d.found("absent.lcr_id", absent.to_string());
    }
    // No read finds a phonebook record by id: an id far above every one seen stands for one.
    if d.facts.get("absent.phonebook_id").is_none() && serves("phonebooks_get") {
        let absent = (phonebook_ids.iter().copied().max().unwrap_or(0).max(top) + 1) * 1000 + 7;
        d.found("absent.phonebook_id", absent.to_string());
    }
    if d.facts.get("absent.tariff_id").is_none()
        && serves("tariff_rates_get")
        && t.refused("tariff_rates_get", &[("tariff_id", absent_id.to_string())])
            .await
    {
        d.found("absent.tariff_id", absent_id.to_string());
    }
    d
}

/// `YYYY-MM-DD HH:MM:SS` as Unix seconds (UTC).
pub fn parse_datetime(s: &str) -> Option<i64> {
    When::parse(s.trim()).ok()?.resolve(0).ok()
}
