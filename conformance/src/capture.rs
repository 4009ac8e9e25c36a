//! `mor-conformance capture`: read a deployment's data through its API and write it as a
//! scenario world (`world: { base: empty, ... }`) that `mor-mock --scenario` serves, so the mock
//! answers like that deployment, with its data.
//!
//! Read-only and rate-limited (`--rate`, one request in flight), signed as the admin with the
//! runner's client (`client`), credentials and target file (`target`). What is read, and how:
//!
//! - users: `user_details_get` for every id from 0 to `--max-id` (the API lists no users), the
//!   scan stopping `--id-gap` ids after the last one found; their own currency from
//!   `user_balance_get user_currency=1`; roles from the target file's credentials (a username
//!   given for a role has that role; the others are simple users, the admin is id 0);
//! - devices: `devices_get` per user, then `device_details_get` per device (M4: tariffs,
//!   origination/termination point, hidden);
//! - tariffs and rates: `tariff_rates_get` for every tariff id the devices name, and for ids
//!   0 to `--max-id` (the scan stopping as for users); destinations from the rates and calls;
//! - currencies: every code seen (users, tariffs, payments), each rate estimated from the
//!   balance of the user with the largest balance in the default currency and in that one;
//! - calls of the period (`--from`, `--till`; default this month of the deployment's clock):
//!   `user_calls_get` per user, then per device of that user (`s_origination_point`) and per
//!   termination point to tell which device carried each call;
//! - payments of the period: `payments_get`.
//!
//! - what no call list shows, from aggregate_get: the providers' ids, and the calls' whole
//!   durations and real billsec as sums per day, caller, terminator and destination, spread over
//!   that group's calls, so aggregations over whole days answer as the deployment's do.
//!
//! Known gap: active calls (quick stats) are not captured: no read method lists them.
//!
//! What the API does not show is not invented: passwords, API secrets, uniquehashes and device
//! secrets are never written (left empty), nor is any digest. Call ids are numbered in time
//! order, a call's duration is its billsec. Personal data (first and last names, e-mails, caller
//! ids) is replaced by consistent pseudonyms unless `--keep-personal-data`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use model::catalogue::{Catalogue, Product, Role};
use model::quirks::Quirks;
use model::scenario::{Encoding, ParamList, Request, Scenario, Signing, WorldBase, WorldSpec};
use model::world::{
    format_datetime, month_start, Call, Currency, Destination, Device, Disposition, GroupRates,
    Money, NumberPool, Payment, PoolNumber, Provider, Rate, RateBand, RateKind, Tariff, User, When,
    WorldData,
};
use model::xml::Element;

use crate::client::{build, day_of, today_utc, Client, Limits, SignContext};
use crate::exit::Failure;
use crate::target::{External, TargetArgs};

/// Arguments of `capture`.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// The deployment, its target file, product and admin credentials.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Write the world here (a scenario file).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// First day of the period whose calls and payments are read (`YYYY-MM-DD`, the deployment's
    /// UTC; default: the first of its current month).
    #[arg(long, value_name = "DAY")]
    pub from: Option<String>,
    /// Last day of the period (`YYYY-MM-DD`, included; default: the deployment's today).
    #[arg(long, value_name = "DAY")]
    pub till: Option<String>,
    /// Keep names, e-mails and caller ids as they are (default: consistent pseudonyms).
    #[arg(long)]
    pub keep_personal_data: bool,
    /// Highest user and tariff id scanned (the API lists neither).
    #[arg(long, default_value_t = 5_000, value_name = "ID")]
    pub max_id: u64,
    /// Stop a scan this many ids after the last one found.
    #[arg(long, default_value_t = 1_000, value_name = "N")]
    pub id_gap: u64,
    /// Requests per second at most (one request in flight at a time).
    #[arg(long, value_parser = crate::flags::rate, default_value_t = 10.0, value_name = "R")]
    pub rate: f64,
    /// Per-request timeout in seconds.
    #[arg(long, value_parser = crate::flags::seconds, default_value_t = 10.0, value_name = "SECS")]
    pub timeout: f64,
    /// Largest body accepted, in bytes (after gzip decoding).
    #[arg(long, default_value_t = 8 * 1024 * 1024, value_name = "BYTES")]
    pub max_body: usize,
    /// An extra catalogue file adding or overriding methods.
    #[arg(long, env = "MOR_CATALOGUE", value_name = "FILE")]
    pub catalogue: Option<PathBuf>,
}

/// Run `capture` and return the exit code; everything is printed here.
pub fn run(args: CaptureArgs) -> i32 {
    crate::exit::finish(run_inner(args))
}

fn run_inner(args: CaptureArgs) -> Result<i32, Failure> {
    let catalogue = crate::plan::catalogue(args.catalogue.as_deref())?;
    let tf = args.target.file().map_err(Failure::invalid)?;
    let base = args.target.base(&tf).ok_or_else(|| {
        Failure::usage("capture needs --target BASE_URL (or a target file's base_url)")
    })?;
    let product = args
        .target
        .product(&tf)
        .unwrap_or(crate::plan::DEFAULT_PRODUCT);
    let external = args.target.external(&base, &tf).map_err(Failure::usage)?;
    if external.credentials.get("admin").is_none() {
        return Err(Failure::usage("no admin credentials"));
    }
    let parse_day = |s: &Option<String>, flag: &str| -> Result<Option<i64>, Failure> {
        s.as_deref()
            .map(|d| {
                When::parse(&format!("{d} 00:00:00"))
                    .and_then(|w| w.resolve(0))
                    .map_err(|_| Failure::usage(format!("--{flag}: `{d}` is not a YYYY-MM-DD day")))
            })
            .transpose()
    };
    let from = parse_day(&args.from, "from")?;
    let till = parse_day(&args.till, "till")?;
    let known = external.credentials.known();
    let client = Client::new(Limits {
        timeout: Duration::from_secs_f64(args.timeout),
        max_body: args.max_body,
        rate: Some(args.rate),
        retries: 0,
    })
    .map_err(Failure::runtime)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::runtime(format!("cannot start the async runtime: {e}")))?;
    let roles: BTreeMap<String, Role> = tf
        .credentials
        .iter()
        .filter_map(|(role, spec)| Some((spec.username.clone(), role_of(role)?)))
        .collect();
    let mut cap = Capturer {
        client: &client,
        catalogue: &catalogue,
        product,
        target: &external,
        today: today_utc(),
        requests: 0,
    };
    let options = Options {
        from,
        till,
        max_id: args.max_id,
        id_gap: args.id_gap,
        roles,
    };
    let captured = runtime
        .block_on(cap.capture(&options))
        .map_err(|e| Failure::runtime(known.message(&e)))?;
    let mut world = captured.world;
    if !args.keep_personal_data {
        pseudonymise(&mut world);
    }
    let scenario = Scenario {
        version: 1,
        name: Some(format!("captured world ({product})")),
        description: format!(
            "Captured by mor-conformance capture from {} to {} ({} requests){}.",
            format_datetime(captured.period.0),
            format_datetime(captured.period.1),
            cap.requests,
            if args.keep_personal_data {
                ", personal data kept"
            } else {
                ", personal data pseudonymised"
            }
        ),
        products: vec![product],
        tags: vec!["captured".into()],
        clock: None,
        world: Some(WorldSpec {
            base: WorldBase::Empty,
            seed: None,
            data: world,
        }),
        settings: None,
        quirks: None,
        overlay: None,
        cases: Vec::new(),
    };
    let yaml = model::yaml::to_string(&scenario)
        .map_err(|e| Failure::runtime(format!("cannot write the world: {e}")))?;
    // API secrets are never shown by the API; if one turns up, nothing is written. (Passwords
    // are not checked here: on a test deployment they may equal usernames.)
    // Checked value by value on the world (a secret too short to tell from text is looked for
    // through its digest only, see `secret::MIN_SEARCHED`).
    let api_secrets = crate::secret::Known::new(external.credentials.api_secrets());
    if serde_json::to_value(&scenario).is_ok_and(|v| holds_secret(&v, &api_secrets)) {
        return Err(Failure::runtime(
            "the captured world would hold a credential's secret; nothing written",
        ));
    }
    // The world must load as a scenario, or the mock could not serve it.
    model::scenario::load_str(&yaml, Path::new("world.yaml"), &catalogue).map_err(|e| {
        Failure::runtime(format!(
            "the captured world does not load as a scenario: {e}"
        ))
    })?;
    let mut text = String::from(
        "# World captured by `mor-conformance capture`: `mor-mock --scenario THIS_FILE` serves it.\n",
    );
    text.push_str(&yaml);
    std::fs::write(&args.out, text)
        .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", args.out.display())))?;
    let d = &scenario.world.as_ref().map(|w| &w.data);
    if let Some(d) = d {
        crate::outln!(
            "captured {} users, {} devices, {} tariffs, {} currencies, {} calls, {} payments ({} requests)",
            d.users.len(),
            d.devices.len(),
            d.tariffs.len(),
            d.currencies.len(),
            d.calls.len(),
            d.payments.len(),
            cap.requests
        );
    }
    crate::outln!("world written to {}", args.out.display());
    Ok(crate::exit::PASS)
}

fn role_of(name: &str) -> Option<Role> {
    Some(match name {
        "admin" => Role::Admin,
        "manager" => Role::Manager,
        "reseller" => Role::Reseller,
        "reseller_pro" => Role::ResellerPro,
        "accountant" => Role::Accountant,
        "user" => Role::User,
        _ => return None,
    })
}

/// What to capture.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// First day of the period (Unix time of its 00:00:00), default the month's first.
    pub from: Option<i64>,
    /// Last day of the period (its 00:00:00), default today.
    pub till: Option<i64>,
    /// Highest id scanned.
    pub max_id: u64,
    /// A scan stops this many ids after the last found.
    pub id_gap: u64,
    /// Known roles by username.
    pub roles: BTreeMap<String, Role>,
}

/// A captured world and its period.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The world (personal data as read).
    pub world: WorldData,
    /// The period read (first and last second).
    pub period: (i64, i64),
}

/// Reads a deployment.
pub struct Capturer<'a> {
    client: &'a Client,
    catalogue: &'a Catalogue,
    product: Product,
    target: &'a External,
    today: (i64, i64),
    /// Requests sent so far.
    pub requests: usize,
}

/// What an answer said.
enum Read {
    Ok(Element),
    Error(String),
}

/// The rows of an aggregate_get answer.
fn aggregate_rows(root: &Element) -> Vec<Element> {
    root.at("aggregates")
        .map(|l| l.elements().cloned().collect())
        .unwrap_or_default()
}

/// Set `calls[idx]`'s values of one kind to `base` each, then move the group's total to `total`
/// by adding the difference to the earliest calls (never below zero).
fn spread(calls: &mut [Call], idx: &[usize], total: i64, set: impl Fn(&mut Call, u32)) {
    let base: Vec<i64> = idx.iter().map(|&i| i64::from(calls[i].billsec)).collect();
    let mut left = total - base.iter().sum::<i64>();
    for (k, &i) in idx.iter().enumerate() {
        let mut v = base[k];
        if left > 0 && k == 0 {
            v += left;
            left = 0;
        } else if left < 0 {
            let take = v.min(-left);
            v -= take;
            left += take;
        }
        set(&mut calls[i], u32::try_from(v.max(0)).unwrap_or(u32::MAX));
    }
}

impl Capturer<'_> {
    /// What no call list shows, read back from aggregate_get: the providers' ids (its
    /// terminator_id), and each call's whole duration and real billsec, as sums per day, caller,
    /// terminator and destination, spread over that group's calls (each call its billsec, the
    /// difference on the earliest). Any aggregation over whole days then answers as the
    /// deployment's does.
    async fn settle_with_aggregates(
        &mut self,
        calls: &mut [Call],
        providers: &mut BTreeMap<String, u64>,
        period: (i64, i64),
    ) -> Result<(), String> {
        if calls.is_empty() {
            return Ok(());
        }
        let span = [
            ("from", period.0.to_string()),
            ("till", period.1.to_string()),
        ];
        // Provider ids.
        let mut p: Vec<(&str, String)> = span.to_vec();
        p.push(("group_by_terminator", "1".into()));
        if let Read::Ok(root) = self.ask("aggregate_get", &p).await? {
            let mut renamed: BTreeMap<u64, u64> = BTreeMap::new();
            for row in aggregate_rows(&root) {
                let name = text_at(&row, "terminator").unwrap_or_default();
                let id = text_at(&row, "terminator_id").and_then(|t| t.parse().ok());
                if let (Some(old), Some(new)) = (providers.get(&name).copied(), id) {
                    renamed.insert(old, new);
                    providers.insert(name, new);
                }
            }
            for c in calls.iter_mut() {
                if let Some(new) = renamed.get(&c.provider_id) {
                    c.provider_id = *new;
                }
            }
        }
        // Durations and real billsec, day by day.
        let (user_flag, user_id) = match self.product {
            Product::M4 => ("group_by_originator", "originator_id"),
            Product::Mor => ("group_by_user", "user_id"),
        };
        let day = 86_400;
        let mut start = period.0 - period.0.rem_euclid(day);
        while start <= period.1 {
            let end = (start + day - 1).min(period.1);
            let from = start.max(period.0);
            start += day;
            let in_day: Vec<usize> = (0..calls.len())
                .filter(|&i| {
                    calls[i]
                        .calldate
                        .resolve(0)
                        .is_ok_and(|t| t >= from && t <= end)
                })
                .collect();
            if in_day.is_empty() {
                continue;
            }
            let q = [
                ("from", from.to_string()),
                ("till", end.to_string()),
                (user_flag, "1".to_string()),
                ("group_by_terminator", "1".to_string()),
                ("group_by_dst", "1".to_string()),
            ];
            let Read::Ok(root) = self.ask("aggregate_get", &q).await? else {
                continue;
            };
            for row in aggregate_rows(&root) {
                let num = |path: &str| {
                    text_at(&row, path)
                        .and_then(|t| t.parse::<i64>().ok())
                        .unwrap_or(0)
                };
                let (user, provider) = (num(user_id) as u64, num("terminator_id") as u64);
                let dst = text_at(&row, "dst").unwrap_or_default();
                let group: Vec<usize> = in_day
                    .iter()
                    .copied()
                    .filter(|&i| {
                        let c = &calls[i];
                        c.user_id == user && c.provider_id == provider && c.prefix == dst
                    })
                    .collect();
                if group.is_empty() {
                    continue;
                }
                spread(calls, &group, num("duration"), |c, v| c.duration = v);
                spread(calls, &group, num("terminator_billed_time"), |c, v| {
                    c.real_billsec = Some(v)
                });
            }
        }
        Ok(())
    }

    /// Destinations in the deployment's order, as far as its aggregates show it: aggregate_get
    /// lists rows in the order of its destination groups, then of its destinations, so the
    /// groups (then the destinations) with calls in the period come first in that order.
    async fn order_destinations(
        &mut self,
        mut dests: Vec<Destination>,
        period: (i64, i64),
    ) -> Result<Vec<Destination>, String> {
        let mut ranks: Vec<BTreeMap<String, usize>> = Vec::new();
        for (field, flag) in [("dst_group", "group_by_dst_group"), ("dst", "group_by_dst")] {
            let q = [
                ("from", period.0.to_string()),
                ("till", period.1.to_string()),
                (flag, "1".to_string()),
            ];
            let mut order = BTreeMap::new();
            if let Read::Ok(root) = self.ask("aggregate_get", &q).await? {
                for (i, row) in aggregate_rows(&root).iter().enumerate() {
                    order
                        .entry(text_at(row, field).unwrap_or_default())
                        .or_insert(i);
                }
            }
            ranks.push(order);
        }
        dests.sort_by_key(|d| {
            (
                ranks[0].get(&d.group).copied().unwrap_or(usize::MAX),
                ranks[1].get(&d.prefix).copied().unwrap_or(usize::MAX),
            )
        });
        Ok(dests)
    }

    async fn ask(&mut self, method: &str, params: &[(&str, String)]) -> Result<Read, String> {
        let req = Request {
            method: method.into(),
            caller: "admin".into(),
            u: None,
            params: ParamList(
                params
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            ),
            http: None,
            encoding: Encoding::Query,
            sign: Signing::Auto,
            path: None,
        };
        let quirks: &Quirks = &self.target.quirks;
        let ctx = SignContext {
            catalogue: self.catalogue,
            product: self.product,
            quirks,
            today: self.today,
        };
        let built = build(&req, &self.target.credentials, &ctx, &self.target.base)
            .map_err(|e| e.to_string())?;
        self.requests += 1;
        let answer = self
            .client
            .send(&built)
            .await
            .map_err(|e| format!("{method}: {e}"))?;
        if self.requests == 1 {
            if let Some(t) = answer.date {
                self.today = day_of(t);
            }
        }
        let (inner, _) = crate::probe::unwrap_extension(&answer.text());
        let unwrapped = crate::client::Answer {
            body: inner.into_bytes(),
            ..answer.clone()
        };
        // The answer is data for the captured world (pseudonymised below), read as it came.
        let reading = crate::check::read_unmasked(&unwrapped);
        match (reading.error, reading.doc) {
            (Some((text, _)), _) => Ok(Read::Error(text)),
            (None, Some(doc)) => Ok(Read::Ok(doc.root)),
            (None, None) => Err(format!(
                "{method}: the answer is not XML (HTTP {}): {}",
                answer.status,
                reading.text.chars().take(200).collect::<String>()
            )),
        }
    }

    /// The request refused as a whole (bad login, hash, API off): capture cannot go on.
    fn fatal(&self, method: &str, text: &str) -> Option<String> {
        let fatal = [
            "Bad login",
            "Incorrect hash",
            "API Requests are disabled",
            "Access Denied",
        ];
        fatal
            .iter()
            .any(|f| text.starts_with(f))
            .then(|| format!("{method}: the deployment refuses the admin: {text}"))
    }

    /// Capture everything.
    pub async fn capture(&mut self, o: &Options) -> Result<Captured, String> {
        let mut w = WorldData::default();
        // Users (the first answer also sets today from the deployment's clock).
        let mut misses = 0;
        let mut id = 0;
        while id <= o.max_id && misses <= o.id_gap {
            match self
                .ask("user_details_get", &[("user_id", id.to_string())])
                .await?
            {
                Read::Ok(root) => {
                    misses = 0;
                    let mut u = user_of(&root, id);
                    u.role = if id == 0 {
                        Role::Admin
                    } else {
                        o.roles.get(&u.username).copied().unwrap_or(Role::User)
                    };
                    w.users.push(u);
                }
                Read::Error(t) => {
                    if let Some(e) = self.fatal("user_details_get", &t) {
                        return Err(e);
                    }
                    if id > 0 {
                        misses += 1;
                    }
                }
            }
            id += 1;
        }
        let period = (
            o.from.unwrap_or_else(|| month_start(self.today.0)),
            o.till.map_or(self.today.1, |t| t + 86_399),
        );
        let default_currency = "USD".to_string();
        for i in 0..w.users.len() {
            let name = w.users[i].username.clone();
            if let Read::Ok(root) = self
                .ask(
                    "user_balance_get",
                    &[("username", name), ("user_currency", "1".into())],
                )
                .await?
            {
                if let Some(c) = text_at(&root, "currency").filter(|c| !c.is_empty()) {
                    w.users[i].currency = c;
                }
            }
        }
        // Devices.
        for i in 0..w.users.len() {
            let uid = w.users[i].id;
            let Read::Ok(root) = self
                .ask("devices_get", &[("user_id", uid.to_string())])
                .await?
            else {
                continue;
            };
            let Some(list) = root.find("devices") else {
                continue;
            };
            let ids: Vec<(u64, Element)> = list
                .elements()
                .filter_map(|d| Some((text_at(d, "device_id")?.parse().ok()?, d.clone())))
                .collect();
            for (did, brief) in ids {
                let mut d = Device {
                    pin: String::new(),
                    id: did,
                    user_id: uid,
                    name: String::new(),
                    device_type: text_at(&brief, "device_type").unwrap_or_default(),
                    host: String::new(),
                    ipaddr: text_at(&brief, "ipaddr").unwrap_or_default(),
                    port: num(&brief, "port").unwrap_or(5060) as u16,
                    username: String::new(),
                    secret: String::new(),
                    callerid: String::new(),
                    description: String::new(),
                    op: false,
                    tp: false,
                    op_tariff_id: None,
                    tp_tariff_id: None,
                    hidden: false,
                };
                if let Read::Ok(root) = self
                    .ask("device_details_get", &[("device_id", did.to_string())])
                    .await?
                {
                    let e = root.at("status/devices/device").unwrap_or(&root);
                    let t = |k: &str| text_at(e, k).unwrap_or_default();
                    d.name = t("name");
                    d.host = t("host");
                    d.username = t("username");
                    d.callerid = t("callerid");
                    d.description = t("description");
                    d.op = t("op") == "1";
                    d.tp = t("tp") == "1";
                    d.op_tariff_id = num(e, "op_tariff_id").filter(|v| *v != 0);
                    d.tp_tariff_id = num(e, "tp_tariff_id").filter(|v| *v != 0);
                    d.hidden = (d.op && t("op_active") == "0") || (d.tp && t("tp_active") == "0");
                }
                w.devices.push(d);
            }
        }
        // Tariffs: those the devices name, then a scan.
        let mut destinations: BTreeMap<String, Destination> = BTreeMap::new();
        let mut tariff_ids: BTreeSet<u64> = w
            .devices
            .iter()
            .flat_map(|d| [d.op_tariff_id, d.tp_tariff_id])
            .flatten()
            .collect();
        let mut misses = 0;
        let mut id = 0;
        while id <= o.max_id && misses <= o.id_gap {
            let known = tariff_ids.contains(&id);
            match self
                .ask("tariff_rates_get", &[("tariff_id", id.to_string())])
                .await?
            {
                Read::Ok(root) => {
                    misses = 0;
                    tariff_ids.remove(&id);
                    w.tariffs.push(tariff_of(&root, id, &mut destinations));
                }
                Read::Error(t) => {
                    if let Some(e) = self.fatal("tariff_rates_get", &t) {
                        return Err(e);
                    }
                    if id > 0 && !known {
                        misses += 1;
                    }
                }
            }
            id += 1;
        }
        for id in tariff_ids {
            if let Read::Ok(root) = self
                .ask("tariff_rates_get", &[("tariff_id", id.to_string())])
                .await?
            {
                w.tariffs.push(tariff_of(&root, id, &mut destinations));
            }
        }
        // Calls of the period.
        let (dev_param, tp_param) = match self.product {
            Product::M4 => ("s_origination_point", "s_termination_point"),
            Product::Mor => ("s_device", "s_provider"),
        };
        let span = [
            ("period_start", period.0.to_string()),
            ("period_end", period.1.to_string()),
        ];
        let mut calls: Vec<(Call, Element)> = Vec::new();
        let mut providers: BTreeMap<String, u64> = BTreeMap::new();
        let tp_devices: Vec<u64> = w.devices.iter().filter(|d| d.tp).map(|d| d.id).collect();
        for i in 0..w.users.len() {
            let uid = w.users[i].id;
            let mut p: Vec<(&str, String)> = span.to_vec();
            p.push(("s_user", uid.to_string()));
            let Read::Ok(root) = self.ask("user_calls_get", &p).await? else {
                continue;
            };
            let mut mine: Vec<(Call, Element)> = root
                .at("calls_stat/calls")
                .map(|l| l.elements().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .map(|e| (call_of(&e, uid, &w.users, &mut providers), e))
                .collect();
            if mine.is_empty() {
                continue;
            }
            let devices: Vec<u64> = w
                .devices
                .iter()
                .filter(|d| d.user_id == uid)
                .map(|d| d.id)
                .collect();
            for (param, ids, set) in [
                (dev_param, &devices, 0usize),
                (tp_param, &tp_devices, 1usize),
            ] {
                for did in ids {
                    let mut q = p.clone();
                    q.push((param, did.to_string()));
                    let Read::Ok(root) = self.ask("user_calls_get", &q).await? else {
                        continue;
                    };
                    let mut used = vec![false; mine.len()];
                    for e in root
                        .at("calls_stat/calls")
                        .map(|l| l.elements().cloned().collect::<Vec<_>>())
                        .unwrap_or_default()
                    {
                        if let Some(k) = (0..mine.len()).find(|k| !used[*k] && mine[*k].1 == e) {
                            used[k] = true;
                            if set == 0 {
                                mine[k].0.device_id = *did;
                            } else {
                                mine[k].0.tp_device_id = *did;
                            }
                        }
                    }
                }
            }
            calls.extend(mine);
        }
        for (_, e) in &calls {
            let dest = text_at(e, "destination").unwrap_or_default();
            let prefix = text_at(e, "prefix").unwrap_or_default();
            if prefix.is_empty() || dest.is_empty() {
                continue;
            }
            if let Some(d) = destinations.get_mut(&prefix) {
                if let Some(g) = dest.strip_suffix(&format!(" {}", d.name)) {
                    d.group = g.to_string();
                }
            } else {
                let (group, name) = dest.split_once(' ').unwrap_or(("", dest.as_str()));
                destinations.insert(
                    prefix.clone(),
                    Destination {
                        prefix,
                        name: name.to_string(),
                        group: group.to_string(),
                        group_type: String::new(),
                        direction: String::new(),
                    },
                );
            }
        }
        let mut calls: Vec<Call> = calls.into_iter().map(|(c, _)| c).collect();
        self.settle_with_aggregates(&mut calls, &mut providers, period)
            .await?;
        calls.sort_by_key(|c| c.calldate.resolve(0).unwrap_or(0));
        for (n, c) in calls.iter_mut().enumerate() {
            c.id = n as u64 + 1;
        }
        w.calls = calls.into();
        w.providers = providers
            .into_iter()
            .map(|(name, id)| Provider {
                user_id: 0,
                id,
                name,
                device_id: None,
                tariff_id: None,
            })
            .collect();
        w.destinations = self
            .order_destinations(destinations.into_values().collect(), period)
            .await?;
        // Payments of the period.
        let (fk, tk) = match self.product {
            Product::M4 => ("from_s", "till_s"),
            Product::Mor => ("s_from", "s_till"),
        };
        if let Read::Ok(root) = self
            .ask(
                "payments_get",
                &[(fk, period.0.to_string()), (tk, period.1.to_string())],
            )
            .await?
        {
            if let Some(list) = root.find("payments") {
                for (n, e) in list.elements().enumerate() {
                    w.payments.push(payment_of(e, n as u64 + 1, &w.users));
                }
            }
        }
        // Currencies: every code seen, rated from the user with the largest balance.
        let mut codes: BTreeSet<String> = BTreeSet::new();
        codes.extend(w.users.iter().map(|u| u.currency.clone()));
        codes.extend(w.tariffs.iter().map(|t| t.currency.clone()));
        codes.extend(w.payments.iter().map(|p| p.currency.clone()));
        codes.retain(|c| !c.is_empty());
        let richest = w.users.iter().max_by_key(|u| u.balance.0.abs()).cloned();
        for code in codes {
            let mut rate = Money::units(1);
            if code != default_currency {
                if let Some(u) = richest.as_ref().filter(|u| u.balance.0 != 0) {
                    if let Read::Ok(root) = self
                        .ask(
                            "user_balance_get",
                            &[("username", u.username.clone()), ("currency", code.clone())],
                        )
                        .await?
                    {
                        if let Some(b) =
                            text_at(&root, "balance").and_then(|b| b.parse::<Money>().ok())
                        {
                            rate = Money(
                                (i128::from(b.0) * i128::from(Money::units(1).0)
                                    / i128::from(u.balance.0))
                                    as i64,
                            );
                        }
                    }
                }
            }
            w.currencies.push(Currency {
                name: code,
                rate,
                auto_update: false,
                full_name: String::new(),
            });
        }
        // The admin's number pools with their numbers (M4, MOR X17); a deployment without
        // number_pools_get refuses it (or answers no XML) and has none.
        if let Ok(Read::Ok(root)) = self
            .ask("number_pools_get", &[("show_numbers", "1".into())])
            .await
        {
            for p in root.find("number_pools").iter().flat_map(|l| l.elements()) {
                let Some(id) = num(p, "id") else { continue };
                w.number_pools.push(NumberPool {
                    id,
                    name: text_at(p, "name").unwrap_or_default(),
                    comment: text_at(p, "comment").unwrap_or_default(),
                    owner_id: 0,
                });
                for n in p.find("numbers").iter().flat_map(|l| l.elements()) {
                    if let (Some(nid), Some(number)) = (num(n, "id"), text_at(n, "number")) {
                        w.number_pool_numbers.push(PoolNumber {
                            id: nid,
                            number_pool_id: id,
                            number,
                        });
                    }
                }
            }
        }
        // The admin is in an empty world already; the captured one replaces it by id.
        Ok(Captured { world: w, period })
    }
}

fn text_at(e: &Element, path: &str) -> Option<String> {
    e.at(path).map(|x| x.text_content().trim().to_string())
}

fn num(e: &Element, path: &str) -> Option<u64> {
    text_at(e, path)?.parse().ok()
}

fn money(e: &Element, path: &str) -> Money {
    text_at(e, path)
        .and_then(|v| v.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or_default()
}

fn user_of(root: &Element, id: u64) -> User {
    let t = |p: &str| text_at(root, &format!("details/{p}")).unwrap_or_default();
    let m = |p: &str| money(root, &format!("details/{p}"));
    let credit = t("main_detail/credit");
    User {
        lcr_id: None,
        hidden: false,
        custom_rates: Vec::new(),
        id,
        username: t("other_details/username"),
        password: String::new(),
        role: Role::User,
        first_name: t("other_details/first_name"),
        last_name: t("other_details/surname"),
        balance: m("main_detail/balance_number"),
        currency: "USD".into(),
        owner_id: 0,
        uniquehash: String::new(),
        api_secret: None,
        hash_check_disabled: false,
        permissions: Vec::new(),
        tariff_id: None,
        postpaid: t("main_detail/account") == "Postpaid",
        credit: (credit != "Unlimited").then(|| credit.parse().unwrap_or_default()),
        blocked: false,
        email: t("registration/reg_email"),
        country: t("other_details/taxation_country"),
        vat_percent: m("other_details/vat_percent"),
    }
}

fn tariff_of(root: &Element, id: u64, dests: &mut BTreeMap<String, Destination>) -> Tariff {
    let t = |e: &Element, p: &str| text_at(e, p).unwrap_or_default();
    let mut rates = Vec::new();
    let mut group_rates = Vec::new();
    if let Some(list) = root.find("rates") {
        for r in list.elements() {
            if r.name == "destination" {
                // A retail tariff: its rates by destination group (MOR retail shape).
                group_rates.push(group_rates_of(r));
                continue;
            }
            let prefix = t(r, "prefix");
            let name = t(r, "destination");
            if !name.is_empty() {
                dests.entry(prefix.clone()).or_insert_with(|| Destination {
                    prefix: prefix.clone(),
                    name,
                    group: t(r, "subcode"),
                    group_type: String::new(),
                    direction: t(r, "direction"),
                });
            }
            rates.push(Rate {
                prefix,
                rate: money(r, "tariff_rate"),
                con_fee: money(r, "con_fee"),
                increment: num(r, "increment").unwrap_or(1) as u32,
                min_time: num(r, "min_time").unwrap_or(0) as u32,
                start_time: t(r, "start_time"),
                end_time: t(r, "end_time"),
                daytype: t(r, "daytype"),
            });
        }
    }
    Tariff {
        id,
        name: t(root, "tariff_name"),
        purpose: t(root, "purpose"),
        currency: t(root, "currency"),
        owner_id: 0,
        rates,
        group_rates,
    }
}

/// One `<destination>` of tariff_rates_get's retail shape: a group and its bands, whichever
/// order `from` and `daytype` come in, a duration of `Infinity` read as -1.
fn group_rates_of(d: &Element) -> GroupRates {
    let t = |e: &Element, p: &str| text_at(e, p).unwrap_or_default();
    let bands = d
        .elements()
        .filter(|r| r.name == "rate")
        .map(|r| RateBand {
            from: num(r, "from").unwrap_or(1).max(1) as u32,
            duration: match t(r, "duration").trim() {
                "Infinity" => -1,
                v => v.parse().unwrap_or(-1),
            },
            artype: if t(r, "type").trim() == "event" {
                RateKind::Event
            } else {
                RateKind::Minute
            },
            round_by: num(r, "round_by").unwrap_or(1) as u32,
            price: money(r, "tariff_rate"),
            start_time: t(r, "start_time"),
            end_time: t(r, "end_time"),
            daytype: t(r, "daytype"),
        })
        .collect();
    GroupRates {
        group: t(d, "destination_group_name"),
        group_type: t(d, "destination_group_type"),
        bands,
    }
}

fn nice(u: &User) -> String {
    let n = format!("{} {}", u.first_name, u.last_name);
    let n = n.trim();
    if n.is_empty() {
        u.username.clone()
    } else {
        n.to_string()
    }
}

fn call_of(
    e: &Element,
    user_id: u64,
    users: &[User],
    providers: &mut BTreeMap<String, u64>,
) -> Call {
    let t = |p: &str| text_at(e, p).unwrap_or_default();
    let m = |p: &str| money(e, p);
    let dispod = t("dispod");
    let (disp, hgc) = match dispod.rsplit_once('(') {
        Some((d, h)) => (d.to_string(), h.trim_end_matches(')').parse().unwrap_or(16)),
        None => (dispod.clone(), 16),
    };
    let disposition = match disp.as_str() {
        "ANSWERED" => Disposition::Answered,
        "BUSY" => Disposition::Busy,
        "FAILED" => Disposition::Failed,
        _ => Disposition::NoAnswer,
    };
    let billsec = t("nice_billsec")
        .parse::<Money>()
        .map(|m| (m.0 / Money::units(1).0) as u32)
        .unwrap_or(0);
    let reseller = t("nice_reseller");
    let reseller_id = if reseller.is_empty() {
        0
    } else {
        users
            .iter()
            .find(|u| nice(u) == reseller)
            .map_or(0, |u| u.id)
    };
    let pname = t("provider_name");
    let provider_id = if pname.is_empty() {
        0
    } else {
        let next = providers.len() as u64 + 1;
        *providers.entry(pname).or_insert(next)
    };
    Call {
        id: 0,
        calldate: When::parse(&t("calldate2"))
            .unwrap_or_else(|_| When::parse("1970-01-01 00:00:00").expect("a fixed time parses")),
        src: t("src"),
        clid: t("clid"),
        dst: t("dst"),
        prefix: t("prefix"),
        user_id,
        device_id: 0,
        provider_id,
        tp_device_id: 0,
        reseller_id,
        disposition,
        hangupcause: hgc,
        billsec,
        real_billsec: None,
        duration: billsec,
        user_rate: m("user_rate"),
        user_price: m("user_price"),
        provider_rate: m("provider_rate"),
        provider_price: m("provider_price"),
        reseller_rate: m("reseller_rate"),
        reseller_price: m("reseller_price"),
        did: t("did"),
        did_price: m("did_price"),
        did_inc_price: m("did_inc_price"),
        did_prov_price: m("did_prov_price"),
        server_id: num(e, "server_id").unwrap_or(1),
    }
}

fn payment_of(e: &Element, id: u64, users: &[User]) -> Payment {
    let t = |p: &str| text_at(e, p).unwrap_or_default();
    let amount = money(e, "amount");
    let user = t("user");
    Payment {
        id,
        user_id: users
            .iter()
            .find(|u| u.username == user)
            .map_or(0, |u| u.id),
        date: When::parse(&t("date"))
            .unwrap_or_else(|_| When::parse("1970-01-01 00:00:00").expect("a fixed time parses")),
        amount,
        tax: money(e, "amount_with_tax") - amount,
        currency: t("currency"),
        comment: text_at(e, "comment")
            .or_else(|| text_at(e, "comments_for_user"))
            .unwrap_or_default(),
        paymenttype: t("type"),
        transaction: t("transaction_id"),
        completed: t("completed") != "No",
        confirmed: t("confirmed_by_admin") != "No",
        to_provider: false,
        balance_before: money(e, "user_balance_before_payment"),
        balance_after: money(e, "user_balance_after_payment"),
    }
}

/// Replace names, e-mails and caller ids by consistent pseudonyms: the same original always
/// becomes the same pseudonym within a capture, so what matched still matches.
pub fn pseudonymise(w: &mut WorldData) {
    let mut names = Pseudonyms::new("Name");
    let mut numbers = Pseudonyms::new("");
    for u in &mut w.users {
        u.first_name = names.name(&u.first_name);
        u.last_name = names.name(&u.last_name);
        if !u.email.is_empty() {
            u.email = format!("user{}@example.invalid", u.id);
        }
    }
    for d in &mut w.devices {
        d.callerid = numbers.number(&d.callerid);
    }
    for c in std::sync::Arc::make_mut(&mut w.calls) {
        c.src = numbers.number(&c.src);
        c.clid = numbers.number(&c.clid);
    }
    // A pool's whole number may be a person's; a prefix pattern (`3706%`) is kept.
    for n in &mut w.number_pool_numbers {
        if !n.number.is_empty() && n.number.bytes().all(|b| b.is_ascii_digit()) {
            n.number = numbers.number(&n.number);
        }
    }
}

struct Pseudonyms {
    prefix: &'static str,
    seen: BTreeMap<String, String>,
}

impl Pseudonyms {
    fn new(prefix: &'static str) -> Pseudonyms {
        Pseudonyms {
            prefix,
            seen: BTreeMap::new(),
        }
    }

    fn name(&mut self, original: &str) -> String {
        if original.is_empty() {
            return String::new();
        }
        let n = self.seen.len() + 1;
        let prefix = self.prefix;
        self.seen
            .entry(original.to_string())
            .or_insert_with(|| format!("{prefix}{n}"))
            .clone()
    }

    /// A caller id: every digit run replaced by a pseudonymous number of the same length, the
    /// rest (`"Name" <...>`) kept in form.
    fn number(&mut self, original: &str) -> String {
        if original.is_empty() {
            return String::new();
        }
        let n = self.seen.len() + 1;
        self.seen
            .entry(original.to_string())
            .or_insert_with(|| format!("555{n:07}"))
            .clone()
    }
}

/// Whether any string in a JSON value holds one of the secrets.
fn holds_secret(v: &serde_json::Value, known: &crate::secret::Known) -> bool {
    match v {
        serde_json::Value::String(s) => known.holds_secret(s),
        serde_json::Value::Array(a) => a.iter().any(|x| holds_secret(x, known)),
        serde_json::Value::Object(o) => o
            .iter()
            .any(|(k, x)| known.holds_secret(k) || holds_secret(x, known)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_consistent_and_hide_the_original() {
        let mut p = Pseudonyms::new("Name");
        let a = p.name("Alice");
        assert_eq!(p.name("Alice"), a);
        assert_ne!(p.name("Bob"), a);
        assert!(!a.contains("Alice"));
        assert_eq!(p.name(""), "");
        let mut q = Pseudonyms::new("");
        let x = q.number("\"Alice\" <37060000001>");
        assert_eq!(q.number("\"Alice\" <37060000001>"), x);
        assert!(!x.contains("37060000001") && !x.contains("Alice"));
    }

    #[test]
    fn a_call_element_reads_back_into_a_call() {
        let e = model::xml::parse(
            "<call><calldate2>2026-11-02 10:00:00</calldate2><clid>123</clid><dispod>BUSY(17)</dispod>\
             <dst>3706</dst><nice_billsec>42.0000</nice_billsec><provider_name>P</provider_name>\
             <user_price>0.1234</user_price><server_id>2</server_id></call>",
        )
        .expect("xml")
        .root;
        let mut providers = BTreeMap::new();
        let c = call_of(&e, 7, &[], &mut providers);
        assert_eq!(c.disposition, Disposition::Busy);
        assert_eq!(c.hangupcause, 17);
        assert_eq!(c.billsec, 42);
        assert_eq!(c.user_id, 7);
        assert_eq!(c.server_id, 2);
        assert_eq!(c.user_price.to_string(), "0.1234");
        assert_eq!(providers.get("P"), Some(&1));
    }
}
