//! The embedded default world, generated deterministically from a seed relative to the clock, so
//! "today" and "this month" always have calls whatever the date. (`unseen` generates a world of
//! the same kind whose ids and usernames the scenario suite has never seen.)
//!
//! # Accounts of the default world
//!
//! Passwords equal usernames except where noted. Uniquehashes are used by
//! `user_simple_balance_get?id=`.
//!
//! | id | username | password | role | uniquehash | notes |
//! |---|---|---|---|---|---|
//! | 0 | `admin` | `admin` | System Admin | `adm1nun1q` | secret = the `--api-secret` (default `secret`) |
//! | 1 | `user1` | `user1` | simple user | `user1uniq` | balance 60.0 USD, VAT 21 %, tariff 1 |
//! | 2 | `user2` | `user2` | simple user | `user2uniq` | balance -12.5, currency EUR, prepaid |
//! | 3 | `user3` | `user3` | simple user | `user3uniq` | balance 250.0, credit 100.0, tariff 1, custom rates for `Lithuania MOB` and `UK - Mobile` |
//! | 4 | `manager` (M4) | `manager` | manager | `managuniq` | permissions quick_stats, connection_points, currency_management, tariffs, users |
//! | 5 | `manager2` (M4) | `manager2` | manager | `mana2uniq` | no permissions |
//! | 4 | `reseller` (MOR) | `reseller` | reseller | `resuniq01` | own API secret `reseller_secret`; owns 7 and 8 |
//! | 5 | `reseller_pro` (MOR) | `reseller_pro` | reseller PRO | `respuniq1` | own API secret `reseller_pro_secret`; owns 9 |
//! | 6 | `accountant` (MOR) | `accountant` | accountant | `accuniq01` | permission data_stats |
//! | 7 | `ruser1` (MOR) | `ruser1` | simple user of `reseller` | `ruser1uni` | |
//! | 8 | `ruser2` (MOR) | `ruser2` | simple user of `reseller` | `ruser2uni` | |
//! | 9 | `rpuser1` (MOR) | `rpuser1` | simple user of `reseller_pro` | `rpuser1un` | |
//!
//! Devices: two per simple user (ids from 1; M4: origination points with the user's tariff),
//! and one termination point per provider (ids from 101, owned by the admin). Providers
//! (terminators) 1 `Test Provider`, 2 `Carrier Two`, 3 `Budget Route`. Tariffs: 1 `Retail USD`
//! (user), 2 `Wholesale EUR` (user_wholesale), 3/4/5 provider tariffs, 6 `Reseller Retail`
//! (MOR, owned by `reseller`). Currencies: EUR 0.92, GBP 0.79, AMD 404.5 (manual) and JPY
//! (automatically updated, so exchange_rate_update refuses it). Calls: about
//! [`DEFAULT_CALLS`] spread over this month up to now, at least 12 of them today; 4 active
//! calls; a few payments. DIDs (MOR): `37052000001` to `37052000007`, one of each status the
//! did_* methods tell apart: 1 active on device 1 of user1, 2 free, 3 reserved for user3, 4
//! terminated, 5 free and owned by `reseller`, 6 active on ruser1's device 7 (owned by
//! `reseller`), 7 active on user2's device 3 and in dial plan 1.
//! MOR billing records (function `billing`): services 1-3, subscriptions 1-4, last month's invoices
//! 1-4 (issued on this month's first day) and credit notes 1-3. Number pools (function
//! `number_pools`): 1 `Caller IDs`, 2 `Blacklist`, 3 `Spare` (empty) of the admin, and MOR 4 of
//! `reseller`; numbers 1-5 (MOR 1-6). Phonebook records (MOR, function `phonebooks`): 1-2 of
//! user1, 3 of user2, 4 of ruser1 (user3 and the admin have none). LCRs (MOR, function `lcrs`):
//! 1 `Primary` (providers 1, 2), 2 `Backup` (provider 3, failover 1), 3 `BLANK` of the admin, 4
//! of `reseller_pro`. Provider rules (MOR, function `provider_rules`): 1-2 of provider 1, 3 of
//! provider 2.

use model::catalogue::{Product, Role};
use model::world::{
    ActiveCall, Call, Currency, Destination, Device, Did, Disposition, GroupRates, Money, Payment,
    Provider, Rate, RateBand, RateKind, Tariff, User, When, WorldData,
};

use crate::world::mul_money;

/// Number of calls in the default world.
pub const DEFAULT_CALLS: usize = 400;

/// The default world of `product` for `seed`, with "today" and "this month" relative to `now`.
pub fn default_world(product: Product, seed: u64, now: i64) -> WorldData {
    let mut w = skeleton(product);
    w.calls = make_calls(&w, product, seed, now, DEFAULT_CALLS, 12).into();
    w.active_calls = active_calls(&w, product);
    w.payments = make_payments(&w, now);
    if product == Product::Mor {
        billing(&mut w, now);
    }
    number_pools(&mut w, product);
    if product == Product::Mor {
        phonebooks(&mut w);
        lcrs(&mut w);
        provider_rules(&mut w);
    }
    w
}

/// The default MOR world's provider rules: 1 `Strip 00` (dst, cut 00) and 2 `National` (dst,
/// cut 8, add 370, minlen 9) of provider 1, 3 `CLI prefix` (src, add 370, disabled) of provider 2;
/// provider 3 has none.
fn provider_rules(w: &mut WorldData) {
    use model::world::ProviderRule;
    let rule = |id, provider_id, name: &str, cut: &str, add: &str| ProviderRule {
        id,
        provider_id,
        name: name.into(),
        enabled: true,
        cut: cut.into(),
        add: add.into(),
        minlen: 1,
        maxlen: 100,
        pr_type: "dst".into(),
        change_callerid_name: false,
        tariff_id: None,
        set_pai: false,
        suffix: String::new(),
    };
    let mut national = rule(2, 1, "National", "8", "370");
    national.minlen = 9;
    let mut cli = rule(3, 2, "CLI prefix", "", "370");
    cli.pr_type = "src".into();
    cli.enabled = false;
    w.provider_rules = vec![rule(1, 1, "Strip 00", "00", ""), national, cli];
}

/// The default MOR world's LCRs: 1 `Primary` (by price: providers 1 and 2), 2 `Backup` (by
/// priority: provider 3, failover provider 1, loss calls allowed), 3 `BLANK` (no providers), all
/// the admin's; 4 `Pro routes` of `reseller_pro` (5), which the admin never lists.
fn lcrs(w: &mut WorldData) {
    use model::world::{Lcr, LcrProvider};
    let lcr = |id, name: &str, order: &str, owner_id| Lcr {
        id,
        name: name.into(),
        order: order.into(),
        first_provider_percent_limit: "0.0".into(),
        failover_provider_id: None,
        no_failover: false,
        minimal_rate_margin_percent: "0.0".into(),
        quality_routing_id: -1,
        allow_loss_calls: false,
        owner_id,
    };
    let mut backup = lcr(2, "Backup", "priority", 0);
    backup.failover_provider_id = Some(1);
    backup.allow_loss_calls = true;
    w.lcrs = vec![
        lcr(1, "Primary", "price", 0),
        backup,
        lcr(3, "BLANK", "price", 0),
        lcr(4, "Pro routes", "price", 5),
    ];
    w.lcr_providers = [(1, 1, 1), (2, 1, 2), (3, 2, 3)]
        .into_iter()
        .map(|(id, lcr_id, provider_id)| LcrProvider {
            id,
            lcr_id,
            provider_id,
        })
        .collect();
}

/// The default MOR world's phonebook records: 1 `Office` (speed dial 11) and 2 `Home` (12) of
/// user1, 3 `Support` (21) of user2, 4 `Reseller desk` (31) of ruser1, a user of `reseller`;
/// user3 and the admin have none (phonebooks_get answers `No Phonebooks`).
fn phonebooks(w: &mut WorldData) {
    use model::world::Phonebook;
    w.phonebooks = [
        (1, 1, "Office", "37052000201", "11"),
        (2, 1, "Home", "37061234567", "12"),
        (3, 2, "Support", "37052000300", "21"),
        (4, 7, "Reseller desk", "37052000400", "31"),
    ]
    .into_iter()
    .map(|(id, user_id, name, number, speeddial)| Phonebook {
        id,
        user_id,
        name: name.into(),
        number: number.into(),
        speeddial: speeddial.into(),
    })
    .collect();
}

/// The four calls in progress: user1's answered call to a Lithuanian mobile through Test
/// Provider on server 1 (two minutes in), user2's call to Iran ringing through Carrier Two on
/// server 2, user1's answered call to user3's first device (no provider), and an answered call
/// of the reseller's ruser1 (M4: user3) that came in through DID 6 and goes out through
/// Budget Route.
fn active_calls(w: &WorldData, product: Product) -> Vec<ActiveCall> {
    let first_device = |uid: u64| {
        w.devices
            .iter()
            .find(|d| d.user_id == uid)
            .map_or(0, |d| d.id)
    };
    let fourth = if product == Product::Mor { 7 } else { 3 };
    vec![
        ActiveCall {
            id: 1,
            device_id: first_device(1),
            src: "101".into(),
            dst: "37060012345".into(),
            start_ago: 125,
            provider_id: 1,
            ..ActiveCall::of(1, true)
        },
        ActiveCall {
            id: 2,
            device_id: first_device(2),
            src: "103".into(),
            dst: "989121234567".into(),
            start_ago: 8,
            ringing: 8,
            provider_id: 2,
            server_id: 2,
            ..ActiveCall::of(2, false)
        },
        ActiveCall {
            id: 3,
            device_id: first_device(1),
            src: "101".into(),
            dst: "105".into(),
            start_ago: 40,
            ringing: 4,
            dst_user_id: 3,
            dst_device_id: first_device(3),
            ..ActiveCall::of(1, true)
        },
        ActiveCall {
            id: 4,
            device_id: first_device(fourth),
            src: "37052000006".into(),
            dst: "79161234567".into(),
            start_ago: 610,
            ringing: 10,
            provider_id: 3,
            did: if product == Product::Mor {
                "37052000006".into()
            } else {
                String::new()
            },
            ..ActiveCall::of(fourth, true)
        },
    ]
}

/// The default world's number pools: 1 `Caller IDs` (three numbers), 2 `Blacklist` (two
/// prefix patterns, one sent as `#900` and stored as `_900`), 3 `Spare` (no numbers), all the
/// admin's; MOR also 4 `Reseller CLIs`, owned by `reseller` (4), which the admin never lists.
fn number_pools(w: &mut WorldData, product: Product) {
    use model::world::{NumberPool, PoolNumber};
    let mut pools = vec![
        (1, "Caller IDs", "Outgoing caller ID numbers", 0),
        (2, "Blacklist", "Blocked prefixes", 0),
        (3, "Spare", "", 0),
    ];
    let mut numbers = vec![
        (1, 1, "37052000101"),
        (2, 1, "37052000102"),
        (3, 1, "37052000103"),
        (4, 2, "3706%"),
        (5, 2, "_900%"),
    ];
    if product == Product::Mor {
        pools.push((4, "Reseller CLIs", "", 4));
        numbers.push((6, 4, "37052000401"));
    }
    w.number_pools = pools
        .into_iter()
        .map(|(id, name, comment, owner_id)| NumberPool {
            id,
            name: name.into(),
            comment: comment.into(),
            owner_id,
        })
        .collect();
    w.number_pool_numbers = numbers
        .into_iter()
        .map(|(id, number_pool_id, number)| PoolNumber {
            id,
            number_pool_id,
            number: number.into(),
        })
        .collect();
}

/// The default world with `n` generated calls instead (for the aggregate benchmark): the same
/// users, tariffs and destinations, calls spread over this month up to `now`.
pub fn generated_calls(product: Product, seed: u64, now: i64, n: usize) -> WorldData {
    let mut w = skeleton(product);
    w.calls = make_calls(&w, product, seed, now, n, n.min(12)).into();
    w
}

/// splitmix64: small, fast and deterministic.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when n is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// Uniform in `lo..=hi` (`lo` when the range is empty).
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            lo + self.below((hi - lo + 1) as u64) as i64
        }
    }
}

/// An amount from text (zero if it does not parse: callers pass literals).
pub(crate) fn money(s: &str) -> Money {
    s.parse().unwrap_or(Money::ZERO)
}

/// The System Admin (id 0).
pub fn admin() -> User {
    User {
        lcr_id: None,
        hidden: false,
        custom_rates: Vec::new(),
        id: 0,
        username: "admin".into(),
        password: "admin".into(),
        role: Role::Admin,
        first_name: "System".into(),
        last_name: "Admin".into(),
        balance: Default::default(),
        currency: "USD".into(),
        owner_id: 0,
        uniquehash: "adm1nun1q".into(),
        api_secret: None,
        hash_check_disabled: false,
        permissions: Vec::new(),
        tariff_id: None,
        postpaid: true,
        credit: None,
        blocked: false,
        email: String::new(),
        country: String::new(),
        vat_percent: money("18"),
    }
}

/// A user with the defaults of generated worlds (password = username, USD, Lithuania).
#[allow(clippy::too_many_arguments)]
pub(crate) fn user(
    id: u64,
    name: &str,
    role: Role,
    first: &str,
    last: &str,
    hash: &str,
    owner: u64,
    balance: &str,
) -> User {
    User {
        lcr_id: None,
        hidden: false,
        custom_rates: Vec::new(),
        id,
        username: name.into(),
        password: name.into(),
        role,
        first_name: first.into(),
        last_name: last.into(),
        balance: money(balance),
        currency: "USD".into(),
        owner_id: owner,
        uniquehash: hash.into(),
        api_secret: None,
        hash_check_disabled: false,
        permissions: Vec::new(),
        tariff_id: None,
        postpaid: true,
        credit: None,
        blocked: false,
        email: format!("{name}@example.com"),
        country: "Lithuania".into(),
        vat_percent: Money::ZERO,
    }
}

/// (prefix, name, group, direction, retail rate per minute, increment seconds)
pub(crate) const DESTINATIONS: [(&str, &str, &str, &str, &str, u32); 13] = [
    (
        "370",
        "Lithuania fixed",
        "Lithuania FIX",
        "Lithuania",
        "0.04",
        1,
    ),
    (
        "3706",
        "Lithuania mobile",
        "Lithuania MOB",
        "Lithuania",
        "0.12",
        1,
    ),
    ("98", "Iran fixed", "Iran - Fixed", "Iran", "0.15", 1),
    ("989", "Iran mobile", "Iran - Mobile", "Iran", "0.24", 60),
    ("7", "Russia fixed", "Russia - Fixed", "Russia", "0.05", 1),
    (
        "79",
        "Russia mobile",
        "Russia - Mobile",
        "Russia",
        "0.11",
        1,
    ),
    (
        "44",
        "United Kingdom fixed",
        "UK - Fixed",
        "United Kingdom",
        "0.02",
        1,
    ),
    (
        "447",
        "United Kingdom mobile",
        "UK - Mobile",
        "United Kingdom",
        "0.09",
        1,
    ),
    ("1", "USA", "USA", "United States", "0.01", 6),
    (
        "49",
        "Germany fixed",
        "Germany - Fixed",
        "Germany",
        "0.03",
        1,
    ),
    (
        "4915",
        "Germany mobile",
        "Germany - Mobile",
        "Germany",
        "0.14",
        1,
    ),
    ("33", "France fixed", "France - Fixed", "France", "0.03", 1),
    (
        "336",
        "France mobile",
        "France - Mobile",
        "France",
        "0.13",
        30,
    ),
];

/// The type of a generated destination group (MOR `desttype`): `MOB` for mobile groups, else
/// `FIX`.
pub(crate) fn group_type(group: &str) -> &'static str {
    if group.ends_with("MOB") || group.ends_with("Mobile") {
        "MOB"
    } else {
        "FIX"
    }
}

/// user3's custom rates: two groups his retail tariff also prices, one with two bands (the
/// first three minutes, then the rest of the call) on work days, one a single band rounded to
/// the minute.
fn custom_rates() -> Vec<GroupRates> {
    let band = |from: u32, duration: i64, price: &str, round_by: u32, daytype: &str| RateBand {
        from,
        duration,
        artype: RateKind::Minute,
        round_by,
        price: money(price),
        start_time: "00:00:00".into(),
        end_time: "23:59:59".into(),
        daytype: daytype.into(),
    };
    vec![
        GroupRates {
            group: "Lithuania MOB".into(),
            group_type: "MOB".into(),
            bands: vec![band(1, 3, "0.09", 1, "WD"), band(4, -1, "0.07", 1, "WD")],
        },
        GroupRates {
            group: "UK - Mobile".into(),
            group_type: "MOB".into(),
            bands: vec![band(1, -1, "0.06", 60, "")],
        },
    ]
}

fn rates(percent_of_retail: i64, con_fee: &str) -> Vec<Rate> {
    DESTINATIONS
        .iter()
        .map(|&(prefix, _, _, _, r, inc)| Rate {
            prefix: prefix.into(),
            rate: Money(money(r).0 * percent_of_retail / 100),
            con_fee: money(con_fee),
            increment: inc,
            min_time: if inc > 1 { inc } else { 0 },
            start_time: "00:00:00".into(),
            end_time: "23:59:59".into(),
            daytype: String::new(),
        })
        .collect()
}

/// A tariff record.
pub(crate) fn tariff(
    id: u64,
    name: &str,
    purpose: &str,
    currency: &str,
    owner: u64,
    r: Vec<Rate>,
) -> Tariff {
    Tariff {
        id,
        name: name.into(),
        purpose: purpose.into(),
        currency: currency.into(),
        owner_id: owner,
        rates: r,
        group_rates: Vec::new(),
    }
}

/// Everything but calls, active calls and payments.
fn skeleton(product: Product) -> WorldData {
    let mut users = vec![admin()];
    let mut u1 = user(
        1,
        "user1",
        Role::User,
        "Test",
        "User 1",
        "user1uniq",
        0,
        "60",
    );
    u1.vat_percent = money("21");
    u1.tariff_id = Some(1);
    let mut u2 = user(
        2,
        "user2",
        Role::User,
        "Test",
        "User 2",
        "user2uniq",
        0,
        "-12.5",
    );
    u2.currency = "EUR".into();
    u2.postpaid = false;
    u2.tariff_id = Some(2);
    u2.country = "Germany".into();
    let mut u3 = user(
        3,
        "user3",
        Role::User,
        "Test",
        "User 3",
        "user3uniq",
        0,
        "250",
    );
    u3.credit = Some(money("100"));
    u3.tariff_id = Some(1);
    u3.custom_rates = custom_rates();
    users.extend([u1, u2, u3]);
    match product {
        Product::M4 => {
            let mut m = user(
                4,
                "manager",
                Role::Manager,
                "Mary",
                "Manager",
                "managuniq",
                0,
                "0",
            );
            m.permissions = [
                "quick_stats",
                "connection_points",
                "currency_management",
                "tariffs",
                "users",
            ]
            .map(String::from)
            .to_vec();
            users.push(m);
            users.push(user(
                5,
                "manager2",
                Role::Manager,
                "Max",
                "Manager",
                "mana2uniq",
                0,
                "0",
            ));
        }
        Product::Mor => {
            let mut r = user(
                4,
                "reseller",
                Role::Reseller,
                "Rita",
                "Reseller",
                "resuniq01",
                0,
                "500",
            );
            r.api_secret = Some("reseller_secret".into());
            r.tariff_id = Some(2);
            let mut rp = user(
                5,
                "reseller_pro",
                Role::ResellerPro,
                "Paul",
                "Pro",
                "respuniq1",
                0,
                "800",
            );
            rp.api_secret = Some("reseller_pro_secret".into());
            rp.tariff_id = Some(2);
            let mut a = user(
                6,
                "accountant",
                Role::Accountant,
                "Anna",
                "Accountant",
                "accuniq01",
                0,
                "0",
            );
            a.permissions = vec!["data_stats".into()];
            let mut r1 = user(
                7,
                "ruser1",
                Role::User,
                "Resold",
                "User 1",
                "ruser1uni",
                4,
                "30",
            );
            r1.tariff_id = Some(6);
            let mut r2 = user(
                8,
                "ruser2",
                Role::User,
                "Resold",
                "User 2",
                "ruser2uni",
                4,
                "5.5",
            );
            r2.tariff_id = Some(6);
            let mut rp1 = user(
                9,
                "rpuser1",
                Role::User,
                "Pro",
                "Customer",
                "rpuser1un",
                5,
                "75",
            );
            rp1.tariff_id = Some(6);
            users.extend([r, rp, a, r1, r2, rp1]);
        }
    }
    let callers: Vec<u64> = users
        .iter()
        .filter(|u| u.role == Role::User)
        .map(|u| u.id)
        .collect();
    let mut devices = Vec::new();
    let mut next = 1u64;
    for &uid in &callers {
        let tariff_id = users.iter().find(|u| u.id == uid).and_then(|u| u.tariff_id);
        for k in 0..2u64 {
            let ext = 100 + next;
            devices.push(Device {
                pin: String::new(),
                id: next,
                user_id: uid,
                name: ext.to_string(),
                device_type: if k == 0 { "SIP" } else { "IAX2" }.into(),
                host: if k == 0 {
                    format!("10.0.{uid}.{next}")
                } else {
                    "dynamic".into()
                },
                ipaddr: format!("10.0.{uid}.{next}"),
                port: if k == 0 { 5060 } else { 4569 },
                username: ext.to_string(),
                secret: format!("dev{next}pw"),
                callerid: format!("\"{ext}\" <{ext}>"),
                description: format!("Device {k} of user {uid}"),
                op: product == Product::M4,
                tp: false,
                op_tariff_id: if product == Product::M4 {
                    tariff_id
                } else {
                    None
                },
                tp_tariff_id: None,
                hidden: k == 1 && uid == 3,
            });
            next += 1;
        }
    }
    let providers: Vec<Provider> = [
        (1, "Test Provider", 3),
        (2, "Carrier Two", 4),
        (3, "Budget Route", 5),
    ]
    .iter()
    .map(|&(id, name, tariff_id)| {
        let dev = 100 + id;
        devices.push(Device {
            pin: String::new(),
            id: dev,
            user_id: 0,
            name: format!("tp{id}"),
            device_type: "SIP".into(),
            host: format!("192.0.2.{id}"),
            ipaddr: format!("192.0.2.{id}"),
            port: 5060,
            username: String::new(),
            secret: String::new(),
            callerid: String::new(),
            description: format!("Termination point of {name}"),
            op: false,
            tp: true,
            op_tariff_id: None,
            tp_tariff_id: Some(tariff_id),
            hidden: false,
        });
        Provider {
            user_id: 0,
            id,
            name: name.into(),
            device_id: Some(dev),
            tariff_id: Some(tariff_id),
        }
    })
    .collect();
    let destinations = DESTINATIONS
        .iter()
        .map(|&(prefix, name, group, direction, _, _)| Destination {
            prefix: prefix.into(),
            name: name.into(),
            group: group.into(),
            group_type: group_type(group).into(),
            direction: direction.into(),
        })
        .collect();
    let mut tariffs = vec![
        tariff(1, "Retail USD", "user", "USD", 0, rates(100, "0")),
        tariff(
            2,
            "Wholesale EUR",
            "user_wholesale",
            "EUR",
            0,
            rates(80, "0"),
        ),
        tariff(
            3,
            "Test Provider rates",
            "provider",
            "USD",
            0,
            rates(55, "0"),
        ),
        tariff(4, "Carrier Two rates", "provider", "USD", 0, rates(60, "0")),
        tariff(
            5,
            "Budget Route rates",
            "provider",
            "USD",
            0,
            rates(45, "0"),
        ),
    ];
    if product == Product::Mor {
        tariffs.push(tariff(
            6,
            "Reseller Retail",
            "user",
            "USD",
            4,
            rates(130, "0"),
        ));
    }
    let currencies = vec![
        currency("EUR", "0.92", false, "Euro"),
        currency("GBP", "0.79", false, "British Pound"),
        currency("AMD", "404.5", false, "Armenian Dram"),
        currency("JPY", "151.2", true, "Japanese Yen"),
    ];
    let dids = if product == Product::Mor {
        mor_dids()
    } else {
        Vec::new()
    };
    WorldData {
        users,
        devices,
        providers,
        destinations,
        tariffs,
        calls: Default::default(),
        active_calls: Vec::new(),
        payments: Vec::new(),
        currencies,
        dids,
        records: Default::default(),
        ..WorldData::default()
    }
}

/// The MOR default world's DIDs, one of each status the did_* methods tell apart: (id, number,
/// provider, status, user, device, reseller, dial plan).
fn mor_dids() -> Vec<Did> {
    [
        (1, "37052000001", 1, "active", 1, 1, 0, 0),
        (2, "37052000002", 1, "free", 0, 0, 0, 0),
        (3, "37052000003", 2, "reserved", 3, 0, 0, 0),
        (4, "37052000004", 1, "terminated", 0, 0, 0, 0),
        (5, "37052000005", 1, "free", 0, 0, 4, 0),
        (6, "37052000006", 1, "active", 7, 7, 4, 0),
        (7, "37052000007", 2, "active", 2, 3, 0, 1),
    ]
    .into_iter()
    .map(
        |(id, did, provider_id, status, user_id, device_id, reseller_id, dialplan_id)| Did {
            id,
            did: did.into(),
            provider_id,
            status: status.into(),
            user_id,
            device_id,
            reseller_id,
            dialplan_id,
        },
    )
    .collect()
}

/// The MOR default world's services, subscriptions, invoices and credit notes, relative to
/// `now`: last month's invoices (issued on this month's first day, user1's paid), and credit
/// notes of last month and today.
///
/// | id | service | type | price | owner |
/// |---|---|---|---|---|
/// | 1 | `Monthly fee` | periodic_fee (month, self cost 2, memo `every month`) | 10 | admin |
/// | 2 | `Setup fee` | one_time_fee | 25 | admin |
/// | 3 | `Reseller box` | periodic_fee (month) | 7.5 | `reseller` |
///
/// Subscriptions: 1 user1 to 1 since last month's first day, until canceled; 2 user3 to 1 from
/// last month's first day to this month's last; 3 user2 to 2 added today; 4 ruser1 to 3.
/// Invoices 1-3 (user1 paid, user2 and user3 unpaid; last month; monthly fee and calls), 4
/// ruser1's (reseller). Credit notes 1 user1 paid last month, 2 user3 unpaid today, 3 ruser1.
fn billing(w: &mut WorldData, now: i64) {
    use model::world::{CreditNote, Invoice, InvoiceLine, Service, Subscription};
    let this_month = model::world::month_start(now);
    let last_month = model::world::month_start(this_month - 86_400);
    let this_month_end = model::world::month_start(this_month + 32 * 86_400) - 1;
    let at =
        |t: i64| when_at(t).unwrap_or_else(|| When::parse("2026-01-01 00:00:00").expect("a time"));
    let today = now.div_euclid(86_400) * 86_400;
    w.services = vec![
        Service {
            id: 1,
            name: "Monthly fee".into(),
            service_type: "periodic_fee".into(),
            price: money("10"),
            owner_id: 0,
            memo: "every month".into(),
            period: "month".into(),
            self_cost: money("2"),
            currency: "USD".into(),
            quantity: Some(1),
            continue_call: false,
        },
        Service {
            id: 2,
            name: "Setup fee".into(),
            service_type: "one_time_fee".into(),
            price: money("25"),
            owner_id: 0,
            memo: String::new(),
            period: String::new(),
            self_cost: Money::ZERO,
            currency: "USD".into(),
            quantity: None,
            continue_call: false,
        },
        Service {
            id: 3,
            name: "Reseller box".into(),
            service_type: "periodic_fee".into(),
            price: money("7.5"),
            owner_id: 4,
            memo: String::new(),
            period: "month".into(),
            self_cost: Money::ZERO,
            currency: "USD".into(),
            quantity: Some(1),
            continue_call: false,
        },
    ];
    let sub = |id,
               user_id,
               service_id,
               added: i64,
               start: Option<i64>,
               end: Option<i64>,
               memo: &str,
               until_canceled| Subscription {
        id,
        user_id,
        service_id,
        device_id: 0,
        added: at(added),
        activation_start: start.map(at),
        activation_end: end.map(at),
        memo: memo.into(),
        until_canceled,
    };
    w.subscriptions = vec![
        sub(
            1,
            1,
            1,
            last_month,
            Some(last_month),
            None,
            "user1 monthly",
            true,
        ),
        sub(
            2,
            3,
            1,
            last_month,
            Some(last_month),
            Some(this_month_end),
            "",
            false,
        ),
        sub(3, 2, 2, today, None, None, "setup", false),
        sub(
            4,
            7,
            3,
            last_month + 86_400,
            Some(last_month + 86_400),
            None,
            "box",
            true,
        ),
    ];
    let last_month_end = this_month - 1;
    let (y, m, _) = model::world::civil_from_days(last_month.div_euclid(86_400));
    let line = |name: &str, quantity, price: &str| InvoiceLine {
        name: name.into(),
        quantity,
        price: money(price),
        discount: Money::ZERO,
    };
    let inv = |id: u64, user_id, paid: bool, lines: Vec<InvoiceLine>| Invoice {
        id,
        user_id,
        number: format!("INV{:02}{:02}{:03}", y % 100, m, id),
        period_start: at(last_month),
        period_end: at(last_month_end.div_euclid(86_400) * 86_400),
        issue_date: at(this_month),
        paid,
        paid_date: paid.then(|| at(this_month + 3_600)),
        lines,
    };
    w.invoices = vec![
        inv(
            1,
            1,
            true,
            vec![line("Monthly fee", 1, "10"), line("Calls", 1, "12.5")],
        ),
        inv(2, 2, false, vec![line("Calls", 1, "4.2")]),
        inv(
            3,
            3,
            false,
            vec![line("Monthly fee", 1, "10"), line("Calls", 1, "31.75")],
        ),
        inv(4, 7, false, vec![line("Reseller box", 2, "7.5")]),
    ];
    let note = |id: u64, user_id, issued: i64, price: &str, paid: bool, comment: &str| CreditNote {
        id,
        user_id,
        number: format!("CN{id:04}"),
        issue_date: at(issued),
        comment: comment.into(),
        price: money(price),
        pay_date: paid.then(|| at(issued + 3_600)),
    };
    w.credit_notes = vec![
        note(1, 1, last_month + 2 * 86_400, "5", true, "overcharge"),
        note(2, 3, today.max(this_month), "2.5", false, "goodwill"),
        note(3, 7, last_month + 86_400, "1.25", false, "reseller refund"),
    ];
}

/// A currency record.
pub(crate) fn currency(name: &str, rate: &str, auto: bool, full: &str) -> Currency {
    Currency {
        name: name.into(),
        rate: money(rate),
        auto_update: auto,
        full_name: full.into(),
    }
}

/// The absolute moment of a Unix time. Generated worlds use absolute times anchored on the
/// `now` they were generated for, so they mean the same whatever day the world is indexed
/// against (scenario worlds may use relative `today-N` times instead).
pub fn when_at(t: i64) -> Option<When> {
    When::parse(&model::world::format_datetime(t)).ok()
}

/// Price of `billsec` seconds at `rate` per minute plus a connection fee.
pub fn price(rate: Money, billsec: u32, con_fee: Money) -> Money {
    mul_money(rate, Money(i64::from(billsec) * 1_000_000 / 60)) + con_fee
}

fn rate_for<'a>(w: &'a WorldData, tariff_id: Option<u64>, prefix: &str) -> Option<&'a Rate> {
    let t = w.tariffs.iter().find(|t| Some(t.id) == tariff_id)?;
    t.rates.iter().find(|r| r.prefix == prefix)
}

fn make_calls(
    w: &WorldData,
    product: Product,
    seed: u64,
    now: i64,
    n: usize,
    today_min: usize,
) -> Vec<Call> {
    let mut rng = Rng(seed ^ 0x5EED_CA11);
    let today_start = now.div_euclid(86_400) * 86_400;
    let month_start = model::world::month_start(now);
    let callers: Vec<&User> = w.users.iter().filter(|u| u.role == Role::User).collect();
    let mut calls = Vec::with_capacity(n);
    for i in 0..n {
        let t = if i < today_min {
            rng.range(today_start, now)
        } else {
            rng.range(month_start, now)
        };
        let Some(&u) = callers.get(rng.below(callers.len() as u64) as usize) else {
            break;
        };
        let devs: Vec<&Device> = w.devices.iter().filter(|d| d.user_id == u.id).collect();
        let dev = devs
            .get(rng.below(devs.len() as u64) as usize)
            .map_or(0, |d| d.id);
        let (prefix, ..) = DESTINATIONS[rng.below(DESTINATIONS.len() as u64) as usize];
        let dst = format!("{prefix}{:07}", rng.below(10_000_000));
        let prov = &w.providers[rng.below(w.providers.len() as u64) as usize];
        let roll = rng.below(100);
        // Calls answered early in the list so today always has every outcome.
        let disposition = match (i, roll) {
            (0 | 1 | 4 | 5 | 7, _) => Disposition::Answered,
            (2, _) => Disposition::NoAnswer,
            (3, _) => Disposition::Busy,
            (6, _) => Disposition::Failed,
            (_, 0..=59) => Disposition::Answered,
            (_, 60..=79) => Disposition::NoAnswer,
            (_, 80..=91) => Disposition::Busy,
            _ => Disposition::Failed,
        };
        let hangupcause = match disposition {
            Disposition::Answered => 16,
            Disposition::NoAnswer => 19,
            Disposition::Busy => 17,
            Disposition::Failed => [34, 21, 38][rng.below(3) as usize],
        };
        let user_rate_rec = rate_for(w, u.tariff_id, prefix);
        let inc = user_rate_rec.map_or(1, |r| r.increment.max(1));
        let min_time = user_rate_rec.map_or(0, |r| r.min_time);
        let (real, billsec) = if disposition == Disposition::Answered {
            let real = rng.range(3, 900) as u32;
            let rounded = real.div_ceil(inc) * inc;
            (real, rounded.max(min_time))
        } else {
            (0, 0)
        };
        let duration = billsec.max(real) + rng.range(0, 25) as u32;
        let user_rate = user_rate_rec.map_or(Money::ZERO, |r| r.rate);
        let provider_rate = rate_for(w, prov.tariff_id, prefix).map_or(Money::ZERO, |r| r.rate);
        let reseller_id = if u.owner_id != 0 { u.owner_id } else { 0 };
        let reseller_rate = if reseller_id != 0 {
            let owner_tariff = w
                .users
                .iter()
                .find(|x| x.id == reseller_id)
                .and_then(|x| x.tariff_id);
            rate_for(w, owner_tariff, prefix).map_or(Money::ZERO, |r| r.rate)
        } else {
            Money::ZERO
        };
        let answered = disposition == Disposition::Answered;
        let pr = |rate: Money| {
            if answered {
                price(rate, billsec, Money::ZERO)
            } else {
                Money::ZERO
            }
        };
        let via_did = product == Product::Mor && rng.below(10) == 0;
        let src = format!("3706{:07}", 1_000_000 + u.id * 1000 + rng.below(1000));
        let Some(calldate) = when_at(t) else {
            continue;
        };
        calls.push(Call {
            id: i as u64 + 1,
            calldate,
            clid: src.clone(),
            src,
            dst,
            prefix: prefix.into(),
            user_id: u.id,
            device_id: dev,
            provider_id: prov.id,
            tp_device_id: prov.device_id.unwrap_or(0),
            reseller_id,
            disposition,
            hangupcause,
            billsec,
            real_billsec: Some(real),
            duration,
            user_rate,
            user_price: pr(user_rate),
            provider_rate,
            provider_price: pr(provider_rate),
            reseller_rate,
            reseller_price: pr(reseller_rate),
            did: if via_did {
                format!("3705200{:04}", rng.below(10_000))
            } else {
                String::new()
            },
            did_price: if via_did { money("0.01") } else { Money::ZERO },
            did_inc_price: if via_did { money("0.005") } else { Money::ZERO },
            did_prov_price: if via_did { money("0.002") } else { Money::ZERO },
            server_id: 1 + rng.below(2),
        });
    }
    calls
}

fn make_payments(w: &WorldData, now: i64) -> Vec<Payment> {
    let today_start = now.div_euclid(86_400) * 86_400;
    let month_start = model::world::month_start(now);
    // (user, amount, currency, seconds before now (today) or a month day offset)
    let plan: [(u64, &str, &str, i64); 5] = [
        (1, "20", "USD", 0),
        (2, "15", "EUR", 0),
        (3, "100", "USD", -1),
        (1, "10", "USD", -2),
        (3, "50", "USD", 0),
    ];
    let mut out = Vec::new();
    for (i, &(uid, amount, cur, when)) in plan.iter().enumerate() {
        let Some(u) = w.users.iter().find(|u| u.id == uid) else {
            continue;
        };
        let t = if when == 0 {
            today_start + (now - today_start) / (i as i64 + 2)
        } else {
            month_start.max(today_start + when * 86_400) + 3_600 * (i as i64 + 1)
        };
        let t = t.min(now);
        let amount = money(amount);
        let Some(date) = when_at(t) else {
            continue;
        };
        let tax = mul_money(amount, Money(u.vat_percent.0 / 100));
        out.push(Payment {
            id: i as u64 + 1,
            user_id: uid,
            date,
            amount,
            tax,
            currency: cur.into(),
            comment: format!("Payment {}", i + 1),
            paymenttype: if i % 2 == 0 { "manual" } else { "paypal" }.into(),
            transaction: format!("TX{:05}", 1000 + i),
            completed: true,
            confirmed: true,
            to_provider: false,
            balance_before: u.balance,
            balance_after: u.balance,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    const NOW: i64 = 1_795_444_200; // a Monday afternoon (UTC)

    #[test]
    fn the_default_world_is_deterministic_and_has_calls_today_of_every_kind() {
        for p in Product::ALL {
            let a = default_world(p, 7, NOW);
            assert_eq!(a, default_world(p, 7, NOW));
            let today = NOW.div_euclid(86_400) * 86_400;
            let w = World::build(a, today);
            let r = w.calls_between(today, today + 86_399);
            assert!(r.len() >= 12, "{p}: {} calls today", r.len());
            for d in [
                Disposition::Answered,
                Disposition::NoAnswer,
                Disposition::Busy,
                Disposition::Failed,
            ] {
                assert!(w.data.calls[r.clone()].iter().any(|c| c.disposition == d));
            }
            assert!(w.call_times().iter().all(|&t| t <= NOW));
            assert!(w.call_dests().iter().all(|&d| d != crate::world::NO_DEST));
            assert!(w.user_by_name("admin").is_some());
        }
    }

    #[test]
    fn prices_follow_rates_and_billsec() {
        let w = default_world(Product::M4, 1, NOW);
        for c in w.calls.iter() {
            assert_eq!(c.user_price, price(c.user_rate, c.billsec, Money::ZERO));
            if c.disposition != Disposition::Answered {
                assert_eq!(c.billsec, 0);
            }
        }
    }

    #[test]
    fn a_generated_world_has_the_asked_number_of_calls() {
        let w = generated_calls(Product::Mor, 3, NOW, 5_000);
        assert_eq!(w.calls.len(), 5_000);
    }

    #[test]
    fn generated_times_are_absolute() {
        let today = NOW.div_euclid(86_400) * 86_400;
        for t in [today, today + 5, today - 1, today - 86_400 * 20 + 77, NOW] {
            assert_eq!(
                when_at(t)
                    .expect("test data is valid")
                    .resolve(today + 86_400 * 9),
                Ok(t)
            );
        }
    }
}
