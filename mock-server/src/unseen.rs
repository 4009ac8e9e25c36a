//! The unseen world: a generated world of the same kind as the embedded default world
//! (`generate`) whose shape the scenario suite has never seen. It measures how much the suite
//! leans on knowing the default world by heart (admin 0, `user1`..`user3` with ids 1-3, manager
//! 4, ...). Chosen by `MockConfig::unseen_world` or `mor-mock --unseen-world SEED` only; a
//! scenario file cannot ask for it. Under it, every place that would generate the default world
//! (no scenario world, or a scenario world on `base: default`) generates this one instead.
//!
//! What stays as in the default world: the admin (`admin`, id 0, the settings' API secret), the
//! destinations, the currency codes (EUR, GBP and AMD updated by hand, JPY automatically),
//! passwords equal to usernames, and per product the roles:
//!
//! - M4: simple users, a manager with `quick_stats`, `connection_points`,
//!   `currency_management`, `tariffs` and `users`, and a manager without permissions;
//! - MOR: simple users, a reseller and a reseller PRO with their own API secrets, each owning
//!   users of his own, and an accountant with `data_stats`.
//!
//! What the seed changes: every id (users from 100 plus an offset, in a shuffled order with
//! gaps; devices, providers, tariffs, calls and payments likewise), usernames (`cust_<word><n>`,
//! `mgr_…`, `res_…`, `rpro_…`, `acct_…`), the number of admin-owned simple users (3 to 6) and of
//! the resellers' users, who owns which devices and users, which tariff each user has, rates
//! (four decimals), balances, exchange rates, the resellers' secrets, and the calls, payments
//! and active calls. Accounts depend on the seed alone ([`unseen_accounts`]); the times of calls
//! and payments are relative to `now`: at least ten calls today with every disposition, from at
//! least two admin-owned users (the `user` account one of them), calls earlier this month and
//! last month, some through a DID, prices with four decimals so margins are not round numbers.
//! MOR billing records ([`make_billing`]): services of the admin and of each reseller, the
//! subscriptions, last month's invoices and the credit notes of the admin's and the resellers'
//! users (the `user` account has each kind), ids and amounts from the seed, times relative to
//! `now`. MOR phonebook records ([`make_phonebooks`]): some of every simple user's, two or more
//! of the `user` account's. MOR LCRs ([`make_lcrs`]): two to four of the admin with some of his
//! providers, one of each reseller PRO. MOR provider rules ([`make_provider_rules`]): one to
//! three on every provider of the admin.

use std::collections::HashSet;

use model::catalogue::{Product, Role};
use model::world::{
    month_start, ActiveCall, Call, CreditNote, Currency, Destination, Device, Did, Disposition,
    Invoice, InvoiceLine, Money, Payment, Provider, Rate, Service, Subscription, User, When,
    WorldData,
};

use crate::generate::{self, money, price, tariff, user, when_at, Rng, DESTINATIONS};
use crate::world::mul_money;

/// One account of the unseen world a conformance run signs in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnseenAccount {
    /// The role name of a target file: `admin`, `manager`, `reseller`, `reseller_pro`,
    /// `accountant` or `user`.
    pub role: &'static str,
    /// The login name (`u`).
    pub username: String,
    /// The password (equal to the username, as in the default world).
    pub password: String,
    /// The account's own API secret (resellers); `None`: it signs with the admin's API secret
    /// (the mock's `--api-secret`, `secret` by default).
    pub api_secret: Option<String>,
}

/// The accounts of the unseen world of `product` for `seed`, one per role: `admin`; M4
/// `manager` (the one with all five permissions); MOR `reseller`, `reseller_pro` and
/// `accountant`; and `user`, a simple user owned by the admin with calls today (the admin-owned
/// simple user with the lowest id, as the conformance runner picks in-process). They depend on
/// the seed alone, so a test can write a target file without starting a mock.
pub fn unseen_accounts(product: Product, seed: u64) -> Vec<UnseenAccount> {
    Skeleton::new(product, seed).accounts
}

/// The unseen world of `product` for `seed`, with "today", "this month" and "last month"
/// relative to `now` (Unix seconds).
pub fn unseen_world(product: Product, seed: u64, now: i64) -> WorldData {
    let s = Skeleton::new(product, seed);
    let mut rng = Rng(seed ^ 0xCA11_5EED_C0FF_EE00 ^ product_salt(product));
    let mut w = s.data;
    w.calls = make_calls(&w, &mut rng, now, s.user_id, s.second_id).into();
    w.payments = make_payments(&w, &mut rng, now);
    w.active_calls = make_active_calls(&w, &mut rng);
    if product == Product::Mor {
        // A stream of its own, so the calls and payments are what they were before billing
        // records existed.
        let mut rng = Rng(seed ^ 0xB111_1460_0000_0001 ^ product_salt(product));
        make_billing(&mut w, &mut rng, now, s.user_id);
    }
    // A stream of its own, so everything above is what it was before number pools existed.
    let mut rng = Rng(seed ^ 0x9001_5000_0000_0002 ^ product_salt(product));
    make_number_pools(&mut w, &mut rng);
    if product == Product::Mor {
        // Likewise a stream of its own.
        let mut rng = Rng(seed ^ 0xB00C_0000_0000_0003 ^ product_salt(product));
        make_phonebooks(&mut w, &mut rng, s.user_id);
        let mut rng = Rng(seed ^ 0x1C80_0000_0000_0004 ^ product_salt(product));
        make_lcrs(&mut w, &mut rng);
        let mut rng = Rng(seed ^ 0x9A1E_0000_0000_0005 ^ product_salt(product));
        make_provider_rules(&mut w, &mut rng);
    }
    w
}

/// The ids of the admin's providers, in the world's order.
fn admin_providers(w: &WorldData) -> Vec<u64> {
    w.providers
        .iter()
        .filter(|p| p.user_id == 0)
        .map(|p| p.id)
        .collect()
}

/// Provider rules (MOR): one to three on every provider of the admin, ids from 30 plus an
/// offset with gaps; cut and add patterns of digits, dst rules mostly.
fn make_provider_rules(w: &mut WorldData, rng: &mut Rng) {
    use model::world::ProviderRule;
    let providers = admin_providers(w);
    let mut id = 30 + rng.below(40);
    for provider_id in providers {
        for _ in 0..1 + rng.below(3) {
            let digits = |rng: &mut Rng| rng.range(0, 999).to_string();
            let (cut, add) = match rng.below(3) {
                0 => (digits(rng), String::new()),
                1 => (String::new(), digits(rng)),
                _ => (digits(rng), digits(rng)),
            };
            w.provider_rules.push(ProviderRule {
                id,
                provider_id,
                name: capitalized(pick(rng, &WORDS)),
                enabled: rng.below(5) != 0,
                cut,
                add,
                minlen: 1 + rng.below(9),
                maxlen: 100,
                pr_type: if rng.below(4) == 0 { "src" } else { "dst" }.into(),
                change_callerid_name: false,
                tariff_id: None,
                set_pai: rng.below(3) == 0,
                suffix: String::new(),
            });
            id += 1 + rng.below(4);
        }
    }
}

/// LCRs (MOR): two to four of the admin (ids from 20 plus an offset, with gaps), the first with
/// one or more of the admin's providers, some with a failover provider; one of each reseller
/// PRO.
fn make_lcrs(w: &mut WorldData, rng: &mut Rng) {
    use model::world::{Lcr, LcrProvider};
    let providers = admin_providers(w);
    let pros: Vec<u64> = w
        .users
        .iter()
        .filter(|u| u.role == Role::ResellerPro)
        .map(|u| u.id)
        .collect();
    let mine = 2 + rng.below(3) as usize;
    let lcr_ids = ids(rng, mine + pros.len(), 20, 30, 6);
    let mut link_id = 200 + rng.below(100);
    let mut taken = HashSet::new();
    for (i, id) in lcr_ids.into_iter().enumerate() {
        let owner_id = if i < mine { 0 } else { pros[i - mine] };
        let order = pick(rng, &["price", "priority", "percent", "quality"]).to_string();
        let failover_provider_id = if owner_id == 0 && rng.below(3) == 0 {
            providers
                .get(rng.below(providers.len() as u64) as usize)
                .copied()
        } else {
            None
        };
        w.lcrs.push(Lcr {
            id,
            name: fresh_name(rng, &mut taken, "lcr"),
            order,
            first_provider_percent_limit: format!("{}.0", rng.below(3) * 10),
            failover_provider_id,
            no_failover: rng.below(4) == 0,
            minimal_rate_margin_percent: format!("{}.0", rng.below(5)),
            quality_routing_id: -1,
            allow_loss_calls: rng.below(2) == 0,
            owner_id,
        });
        if owner_id != 0 {
            continue;
        }
        let n = if i == 0 {
            1 + rng.below(providers.len().max(1) as u64)
        } else {
            rng.below(providers.len() as u64 + 1)
        };
        for provider_id in providers.iter().take(n as usize) {
            w.lcr_providers.push(LcrProvider {
                id: link_id,
                lcr_id: id,
                provider_id: *provider_id,
            });
            link_id += 1 + rng.below(3);
        }
    }
}

/// Phonebook records (MOR): two to four of the `user` account (`user_id`), zero to three of
/// every other simple user, ids from 60 plus an offset with gaps; numbers of 11 digits and speed
/// dials of two or three digits, unique per user.
fn make_phonebooks(w: &mut WorldData, rng: &mut Rng, user_id: u64) {
    use model::world::Phonebook;
    let users: Vec<u64> = w
        .users
        .iter()
        .filter(|u| u.role == Role::User)
        .map(|u| u.id)
        .collect();
    let mut id = 60 + rng.below(40);
    for owner in users {
        let n = if owner == user_id {
            2 + rng.below(3)
        } else {
            rng.below(4)
        };
        let mut dials = HashSet::new();
        for _ in 0..n {
            let speeddial = loop {
                let d = rng.range(10, 299).to_string();
                if dials.insert(d.clone()) {
                    break d;
                }
            };
            w.phonebooks.push(Phonebook {
                id,
                user_id: owner,
                name: capitalized(pick(rng, &WORDS)),
                number: rng.range(30_000_000_000, 49_999_999_999).to_string(),
                speeddial,
            });
            id += 1 + rng.below(4);
        }
    }
}

/// Number pools: two to four of the admin (ids from 40 plus an offset, with gaps), each with
/// zero to six numbers or prefix patterns (ids from 300 plus an offset), the first with at least
/// three; MOR also one pool of each reseller.
fn make_number_pools(w: &mut WorldData, rng: &mut Rng) {
    use model::world::{NumberPool, PoolNumber};
    let resellers: Vec<u64> = w
        .users
        .iter()
        .filter(|u| matches!(u.role, Role::Reseller | Role::ResellerPro))
        .map(|u| u.id)
        .collect();
    let mine = 2 + rng.below(3) as usize;
    let pool_ids = ids(rng, mine + resellers.len(), 40, 30, 5);
    let mut number_id = 300 + rng.below(200);
    let mut taken = HashSet::new();
    for (i, id) in pool_ids.into_iter().enumerate() {
        let owner_id = if i < mine { 0 } else { resellers[i - mine] };
        let name = fresh_name(rng, &mut taken, "pool");
        let comment = if rng.below(2) == 0 {
            String::new()
        } else {
            format!("{} numbers", capitalized(pick(rng, &WORDS)))
        };
        w.number_pools.push(NumberPool {
            id,
            name,
            comment,
            owner_id,
        });
        let n = if i == 0 {
            3 + rng.below(4)
        } else {
            rng.below(7)
        };
        for _ in 0..n {
            let number = if rng.below(4) == 0 {
                format!("{}%", rng.range(30, 499))
            } else {
                format!("{}", rng.range(30_000_000_000, 49_999_999_999))
            };
            w.number_pool_numbers.push(PoolNumber {
                id: number_id,
                number_pool_id: id,
                number,
            });
            number_id += 1 + rng.below(3);
        }
    }
}

/// What an operator writes in a target file for the unseen world of `product` and `seed`
/// because no read of the API shows it: MOR the id of a service of the admin (`service.id`) and
/// of the `reseller` account (`reseller_service.id`), and of the `user` account's credit note
/// (`credit_note.id`) and of a reseller's user's (`reseller_credit_note.id`). Services and credit
/// notes depend on the seed alone.
pub fn unseen_facts(product: Product, seed: u64) -> Vec<(&'static str, String)> {
    // Any clock gives the same services.
    let w = unseen_world(product, seed, 1_795_444_200);
    let reseller = unseen_accounts(product, seed)
        .into_iter()
        .find(|a| a.role == "reseller")
        .and_then(|a| {
            w.users
                .iter()
                .find(|u| u.username == a.username)
                .map(|u| u.id)
        });
    let mut out = Vec::new();
    if let Some(s) = w.services.iter().find(|s| s.owner_id == 0) {
        out.push(("service.id", s.id.to_string()));
    }
    if let Some(s) = reseller.and_then(|r| w.services.iter().find(|s| s.owner_id == r)) {
        out.push(("reseller_service.id", s.id.to_string()));
    }
    // The `user` account's credit note (the first), which no read shows by id either.
    if let Some(n) = w.credit_notes.first() {
        out.push(("credit_note.id", n.id.to_string()));
    }
    // And a note of a reseller's user (the last: the admin's users' come first).
    let resold = |uid: u64| {
        w.users
            .iter()
            .find(|u| u.id == uid)
            .is_some_and(|u| u.owner_id != 0)
    };
    if let Some(n) = w.credit_notes.iter().find(|n| resold(n.user_id)) {
        out.push(("reseller_credit_note.id", n.id.to_string()));
    }
    out
}

/// Distinct random streams per product for the same seed.
fn product_salt(product: Product) -> u64 {
    match product {
        Product::M4 => 0x4D34_0000_0000_0000,
        Product::Mor => 0x4D4F_5200_0000_0000,
    }
}

/// Words of generated names.
const WORDS: [&str; 24] = [
    "amber", "birch", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper",
    "kelp", "lumen", "maple", "nectar", "onyx", "pepper", "quartz", "raven", "sable", "tundra",
    "umber", "velvet", "willow", "zephyr",
];

const FIRST_NAMES: [&str; 10] = [
    "Ada", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas",
];

const LAST_NAMES: [&str; 10] = [
    "Novak", "Ortega", "Petrov", "Quinn", "Rossi", "Silva", "Tanaka", "Ulrich", "Varga", "Weber",
];

const COUNTRIES: [&str; 6] = [
    "Lithuania",
    "Germany",
    "Latvia",
    "Poland",
    "Estonia",
    "United Kingdom",
];

/// What a slot of the user list is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// A simple user; the owner is the slot index of a reseller, or the admin.
    User { owner: Option<usize> },
    /// An M4 manager, with all five permissions or none.
    Manager { full: bool },
    /// A MOR reseller (or reseller PRO).
    Reseller { pro: bool },
    /// A MOR accountant.
    Accountant,
}

/// Everything of the unseen world that depends on the seed alone.
struct Skeleton {
    data: WorldData,
    accounts: Vec<UnseenAccount>,
    /// The `user` account's id.
    user_id: u64,
    /// Another admin-owned simple user with calls today.
    second_id: u64,
}

/// `n` ascending ids from `lo + offset` with gaps of 1 to `max_gap`.
fn ids(rng: &mut Rng, n: usize, lo: i64, spread: u64, max_gap: u64) -> Vec<u64> {
    let mut next = lo as u64 + rng.below(spread);
    (0..n)
        .map(|_| {
            let id = next;
            next += 1 + rng.below(max_gap);
            id
        })
        .collect()
}

/// A money amount with four decimals in `lo..=hi` ten-thousandths.
fn amount4(rng: &mut Rng, lo: i64, hi: i64) -> Money {
    Money(rng.range(lo, hi) * 100)
}

/// Round to four decimals, half away from zero.
fn round4(m: Money) -> Money {
    let q = (m.0.abs() + 50) / 100 * 100;
    Money(if m.0 < 0 { -q } else { q })
}

fn pick<'a>(rng: &mut Rng, from: &[&'a str]) -> &'a str {
    from[rng.below(from.len() as u64) as usize]
}

/// A fresh name `<prefix>_<word><n>`.
fn fresh_name(rng: &mut Rng, taken: &mut HashSet<String>, prefix: &str) -> String {
    loop {
        let word = pick(rng, &WORDS);
        let n = rng.range(2, 97);
        let name = format!("{prefix}_{word}{n}");
        if taken.insert(name.clone()) {
            return name;
        }
    }
}

/// The rates of a tariff: the retail rate of each destination times `lo..=hi` percent, plus up
/// to 0.0089, rounded to four decimals.
fn rates(rng: &mut Rng, lo: i64, hi: i64) -> Vec<Rate> {
    DESTINATIONS
        .iter()
        .map(|&(prefix, _, _, _, retail, inc)| {
            let pct = rng.range(lo, hi);
            let base = Money(money(retail).0 * pct / 100 + rng.range(0, 89) * 100);
            Rate {
                prefix: prefix.into(),
                rate: round4(base),
                con_fee: Money::ZERO,
                increment: inc,
                min_time: if inc > 1 { inc } else { 0 },
                start_time: "00:00:00".into(),
                end_time: "23:59:59".into(),
                daytype: String::new(),
            }
        })
        .collect()
}

fn capitalized(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

impl Skeleton {
    fn new(product: Product, seed: u64) -> Skeleton {
        let mut rng = Rng(seed ^ 0x0A5E_E000_5EED_0001 ^ product_salt(product));
        let mut taken = HashSet::new();
        let mor = product == Product::Mor;

        // The user list by slot: admin-owned simple users first (slot 0 is the `user`
        // account, slot 1 the second caller of today), then the product's other roles.
        let simple = 3 + rng.below(4) as usize;
        let mut slots: Vec<Slot> = vec![Slot::User { owner: None }; simple];
        if mor {
            let res = slots.len();
            slots.push(Slot::Reseller { pro: false });
            let pro = slots.len();
            slots.push(Slot::Reseller { pro: true });
            slots.push(Slot::Accountant);
            for _ in 0..1 + rng.below(3) {
                slots.push(Slot::User { owner: Some(res) });
            }
            for _ in 0..1 + rng.below(2) {
                slots.push(Slot::User { owner: Some(pro) });
            }
        } else {
            slots.push(Slot::Manager { full: true });
            slots.push(Slot::Manager { full: false });
        }

        // Ids: ascending with gaps, dealt to the slots in a shuffled order; then the `user`
        // account takes the lowest id of the admin-owned simple users and the manager with
        // permissions the lower manager id, so "the first account of a role" (how a runner
        // picks credentials) is the account this module names for it.
        let pool = ids(&mut rng, slots.len(), 100, 400, 9);
        let mut order: Vec<usize> = (0..slots.len()).collect();
        for i in (1..order.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        let mut id_of: Vec<u64> = order.iter().map(|&k| pool[k]).collect();
        let lowest_simple = (0..simple).min_by_key(|&i| id_of[i]).unwrap_or(0);
        id_of.swap(0, lowest_simple);
        if !mor && id_of[simple] > id_of[simple + 1] {
            id_of.swap(simple, simple + 1);
        }

        let mut users = vec![generate::admin()];
        let mut accounts = vec![UnseenAccount {
            role: "admin",
            username: "admin".into(),
            password: "admin".into(),
            api_secret: None,
        }];
        for (i, slot) in slots.iter().enumerate() {
            let (prefix, role) = match slot {
                Slot::User { .. } => ("cust", Role::User),
                Slot::Manager { .. } => ("mgr", Role::Manager),
                Slot::Reseller { pro: false } => ("res", Role::Reseller),
                Slot::Reseller { pro: true } => ("rpro", Role::ResellerPro),
                Slot::Accountant => ("acct", Role::Accountant),
            };
            let name = fresh_name(&mut rng, &mut taken, prefix);
            let owner = match slot {
                Slot::User { owner: Some(o) } => id_of[*o],
                _ => 0,
            };
            let uniquehash = format!("{:09x}", rng.next() & 0xF_FFFF_FFFF);
            let balance = match role {
                Role::User => amount4(&mut rng, -500_000, 5_000_000),
                Role::Reseller | Role::ResellerPro => amount4(&mut rng, 1_000_000, 20_000_000),
                _ => Money::ZERO,
            };
            let first = pick(&mut rng, &FIRST_NAMES);
            let last = pick(&mut rng, &LAST_NAMES);
            let mut u = user(id_of[i], &name, role, first, last, &uniquehash, owner, "0");
            u.balance = balance;
            u.country = pick(&mut rng, &COUNTRIES).into();
            u.vat_percent = money(pick(&mut rng, &["0", "5", "18", "21"]));
            match slot {
                Slot::User { .. } => {
                    u.currency = pick(&mut rng, &["USD", "USD", "EUR", "GBP"]).into();
                    u.postpaid = rng.below(3) != 0;
                    if rng.below(3) == 0 {
                        u.credit = Some(Money::units(rng.range(5, 30) * 10));
                    }
                }
                Slot::Manager { full: true } => {
                    u.permissions = [
                        "quick_stats",
                        "connection_points",
                        "currency_management",
                        "tariffs",
                        "users",
                    ]
                    .map(String::from)
                    .to_vec();
                }
                Slot::Manager { full: false } => {}
                Slot::Reseller { .. } => {
                    u.api_secret = Some(format!("rk{:016x}", rng.next()));
                }
                Slot::Accountant => u.permissions = vec!["data_stats".into()],
            }
            let role_name = match slot {
                _ if i == 0 => Some("user"),
                Slot::Manager { full: true } => Some("manager"),
                Slot::Reseller { pro: false } => Some("reseller"),
                Slot::Reseller { pro: true } => Some("reseller_pro"),
                Slot::Accountant => Some("accountant"),
                _ => None,
            };
            if let Some(role) = role_name {
                accounts.push(UnseenAccount {
                    role,
                    username: u.username.clone(),
                    password: u.password.clone(),
                    api_secret: u.api_secret.clone(),
                });
            }
            users.push(u);
        }

        // At least one simple user of the admin besides `user` pays in another currency, so a
        // deployment's currencies can be found through the API (as on most real deployments).
        let user_name = accounts
            .iter()
            .find(|a| a.role == "user")
            .map(|a| a.username.clone());
        let foreign = |u: &User| u.currency != "USD";
        let candidates = |u: &&mut User| {
            u.role == Role::User && u.owner_id == 0 && Some(&u.username) != user_name.as_ref()
        };
        if !users.iter_mut().filter(candidates).any(|u| foreign(u)) {
            if let Some(u) = users.iter_mut().find(candidates) {
                u.currency = "EUR".into();
            }
        }

        // Tariffs: one or two retail, one wholesale, one per provider, and (MOR) one retail
        // tariff per reseller for his users.
        let providers_n = 2 + rng.below(3) as usize;
        let retail_n = 1 + rng.below(2) as usize;
        let resellers: Vec<u64> = users
            .iter()
            .filter(|u| u.role.is_reseller())
            .map(|u| u.id)
            .collect();
        let tariff_ids = ids(
            &mut rng,
            retail_n + 1 + providers_n + resellers.len(),
            100,
            300,
            7,
        );
        let mut tariffs = Vec::new();
        let mut next_tariff = tariff_ids.into_iter();
        let mut retail = Vec::new();
        for _ in 0..retail_n {
            let id = next_tariff.next().unwrap_or_default();
            let name = format!("Retail {}", capitalized(pick(&mut rng, &WORDS)));
            let r = rates(&mut rng, 85, 135);
            tariffs.push(tariff(id, &name, "user", "USD", 0, r));
            retail.push(id);
        }
        let wholesale = next_tariff.next().unwrap_or_default();
        let r = rates(&mut rng, 65, 90);
        tariffs.push(tariff(
            wholesale,
            &format!("Wholesale {}", capitalized(pick(&mut rng, &WORDS))),
            "user_wholesale",
            "EUR",
            0,
            r,
        ));

        // Providers, each with a termination point and a tariff.
        let mut words: Vec<&str> = WORDS.to_vec();
        let provider_ids = ids(&mut rng, providers_n, 100, 500, 11);
        let mut providers = Vec::new();
        let mut provider_tariffs = Vec::new();
        for &pid in &provider_ids {
            let k = rng.below(words.len() as u64) as usize;
            let word = words.swap_remove(k);
            let kind = pick(&mut rng, &["Telecom", "Carrier", "Route", "Voice"]);
            let name = format!("{} {kind}", capitalized(word));
            let tid = next_tariff.next().unwrap_or_default();
            let r = rates(&mut rng, 40, 75);
            tariffs.push(tariff(
                tid,
                &format!("{name} rates"),
                "provider",
                "USD",
                0,
                r,
            ));
            provider_tariffs.push(tid);
            providers.push(Provider {
                user_id: 0,
                id: pid,
                name,
                device_id: None,
                tariff_id: Some(tid),
            });
        }
        let mut reseller_tariff = Vec::new();
        for &rid in &resellers {
            let tid = next_tariff.next().unwrap_or_default();
            let r = rates(&mut rng, 120, 155);
            tariffs.push(tariff(tid, &format!("Resale {rid}"), "user", "USD", rid, r));
            reseller_tariff.push((rid, tid));
        }
        for u in &mut users {
            u.tariff_id = match u.role {
                Role::User if u.owner_id != 0 => reseller_tariff
                    .iter()
                    .find(|(r, _)| *r == u.owner_id)
                    .map(|(_, t)| *t),
                Role::User => Some(if rng.below(4) == 0 {
                    wholesale
                } else {
                    retail[rng.below(retail.len() as u64) as usize]
                }),
                Role::Reseller | Role::ResellerPro => Some(wholesale),
                _ => None,
            };
        }
        users.sort_by_key(|u| u.id);

        // Devices: one to three per simple user, then one termination point per provider.
        let callers: Vec<(u64, Option<u64>)> = users
            .iter()
            .filter(|u| u.role == Role::User)
            .map(|u| (u.id, u.tariff_id))
            .collect();
        let counts: Vec<u64> = callers.iter().map(|_| 1 + rng.below(3)).collect();
        let total: usize = counts.iter().sum::<u64>() as usize + providers.len();
        let device_ids = ids(&mut rng, total, 100, 2_000, 5);
        let mut next_device = device_ids.into_iter();
        let mut devices = Vec::new();
        for (&(uid, tariff_id), &n) in callers.iter().zip(&counts) {
            for k in 0..n {
                let id = next_device.next().unwrap_or_default();
                let ext = rng.range(200, 899).to_string();
                let sip = k == 0 || rng.below(2) == 0;
                let host = format!(
                    "10.{}.{}.{}",
                    rng.below(250),
                    rng.below(250),
                    1 + rng.below(250)
                );
                devices.push(Device {
                    pin: String::new(),
                    id,
                    user_id: uid,
                    name: ext.clone(),
                    device_type: if sip { "SIP" } else { "IAX2" }.into(),
                    host: if k == 0 {
                        host.clone()
                    } else {
                        "dynamic".into()
                    },
                    ipaddr: host,
                    port: if sip { 5060 } else { 4569 },
                    username: ext.clone(),
                    secret: format!("d{:08x}", rng.next() & 0xFFFF_FFFF),
                    callerid: format!("\"{ext}\" <{ext}>"),
                    description: format!("Line {} of {uid}", k + 1),
                    op: product == Product::M4,
                    tp: false,
                    op_tariff_id: if product == Product::M4 {
                        tariff_id
                    } else {
                        None
                    },
                    tp_tariff_id: None,
                    hidden: k > 0 && rng.below(3) == 0,
                });
            }
        }
        for (p, &tid) in providers.iter_mut().zip(&provider_tariffs) {
            let id = next_device.next().unwrap_or_default();
            let ip = format!("198.51.100.{}", 1 + rng.below(250));
            devices.push(Device {
                pin: String::new(),
                id,
                user_id: 0,
                name: format!("tp{id}"),
                device_type: "SIP".into(),
                host: ip.clone(),
                ipaddr: ip,
                port: 5060,
                username: String::new(),
                secret: String::new(),
                callerid: String::new(),
                description: format!("Termination point of {}", p.name),
                op: false,
                tp: true,
                op_tariff_id: None,
                tp_tariff_id: Some(tid),
                hidden: false,
            });
            p.device_id = Some(id);
        }

        let destinations = DESTINATIONS
            .iter()
            .map(|&(prefix, name, group, direction, _, _)| Destination {
                prefix: prefix.into(),
                name: name.into(),
                group: group.into(),
                group_type: crate::generate::group_type(group).into(),
                direction: direction.into(),
            })
            .collect();
        let mut currencies = vec![
            currency("EUR", amount4(&mut rng, 8_500, 9_800), false, "Euro"),
            currency(
                "GBP",
                amount4(&mut rng, 7_200, 8_600),
                false,
                "British Pound",
            ),
            currency(
                "AMD",
                Money(rng.range(38_000, 42_000) * 10_000),
                false,
                "Armenian Dram",
            ),
            currency(
                "JPY",
                Money(rng.range(14_000, 16_000) * 10_000),
                true,
                "Japanese Yen",
            ),
        ];
        if rng.below(2) == 0 {
            currencies.push(currency(
                "PLN",
                amount4(&mut rng, 38_000, 42_000),
                false,
                "Polish Zloty",
            ));
        }

        // MOR: two free DIDs of the admin on his first provider, numbers from the seed (drawn
        // without the generator, so the rest of the world is what it was before DIDs existed).
        let dids = match (mor, providers.first()) {
            (true, Some(p)) => (1..=2u64)
                .map(|k| Did {
                    id: p.id * 10 + k,
                    did: format!("3709{:07}", (seed % 9_000_000) * 2 + k),
                    provider_id: p.id,
                    status: "free".into(),
                    user_id: 0,
                    device_id: 0,
                    reseller_id: 0,
                    dialplan_id: 0,
                })
                .collect(),
            _ => Vec::new(),
        };
        let user_id = id_of[0];
        let second_id = id_of[1];
        Skeleton {
            data: WorldData {
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
            },
            accounts,
            user_id,
            second_id,
        }
    }
}

fn currency(name: &str, rate: Money, auto: bool, full: &str) -> Currency {
    Currency {
        name: name.into(),
        rate,
        auto_update: auto,
        full_name: full.into(),
    }
}

fn rate_of(w: &WorldData, tariff_id: Option<u64>, prefix: &str) -> Money {
    w.tariffs
        .iter()
        .find(|t| Some(t.id) == tariff_id)
        .and_then(|t| t.rates.iter().find(|r| r.prefix == prefix))
        .map_or(Money::ZERO, |r| r.rate)
}

fn increment_of(w: &WorldData, tariff_id: Option<u64>, prefix: &str) -> (u32, u32) {
    w.tariffs
        .iter()
        .find(|t| Some(t.id) == tariff_id)
        .and_then(|t| t.rates.iter().find(|r| r.prefix == prefix))
        .map_or((1, 0), |r| (r.increment.max(1), r.min_time))
}

fn random_disposition(rng: &mut Rng) -> Disposition {
    match rng.below(100) {
        0..=54 => Disposition::Answered,
        55..=74 => Disposition::NoAnswer,
        75..=87 => Disposition::Busy,
        _ => Disposition::Failed,
    }
}

/// Calls today (the first eight fixed: the `user` account and `second` alternate, every
/// disposition, one through a DID), earlier this month and last month.
fn make_calls(w: &WorldData, rng: &mut Rng, now: i64, user_id: u64, second: u64) -> Vec<Call> {
    let today_start = now.div_euclid(86_400) * 86_400;
    let this_month = month_start(now);
    let last_month = month_start(this_month - 1);
    // On the first of the month "earlier this month" is earlier today.
    let earlier = if today_start > this_month {
        (this_month, today_start - 1)
    } else {
        (today_start, now)
    };
    let n_today = 10 + rng.below(9) as usize;
    let n_earlier = 60 + rng.below(90) as usize;
    let n_last = 30 + rng.below(50) as usize;
    let callers: Vec<&User> = w.users.iter().filter(|u| u.role == Role::User).collect();
    let mut id = 1_000 + rng.below(9_000);
    let mut calls = Vec::with_capacity(n_today + n_earlier + n_last);
    let fixed: [(bool, Disposition); 8] = [
        (true, Disposition::Answered),
        (false, Disposition::Answered),
        (true, Disposition::NoAnswer),
        (false, Disposition::Busy),
        (true, Disposition::Answered),
        (false, Disposition::Failed),
        (true, Disposition::Answered),
        (false, Disposition::Answered),
    ];
    let plan = (0..n_today)
        .map(|i| (today_start, now, i))
        .chain((0..n_earlier).map(|_| (earlier.0, earlier.1, usize::MAX)))
        .chain((0..n_last).map(|_| (last_month, this_month - 1, usize::MAX)));
    for (from, till, i) in plan {
        let t = rng.range(from, till.min(now));
        let (caller, disposition) = match fixed.get(i) {
            Some(&(first, d)) => {
                let uid = if first { user_id } else { second };
                (callers.iter().find(|u| u.id == uid).copied(), d)
            }
            None => (
                callers
                    .get(rng.below(callers.len() as u64) as usize)
                    .copied(),
                random_disposition(rng),
            ),
        };
        let Some(u) = caller else { break };
        let devs: Vec<&Device> = w.devices.iter().filter(|d| d.user_id == u.id).collect();
        let device_id = devs
            .get(rng.below(devs.len() as u64) as usize)
            .map_or(0, |d| d.id);
        let (prefix, ..) = DESTINATIONS[rng.below(DESTINATIONS.len() as u64) as usize];
        let dst = format!("{prefix}{:07}", rng.below(10_000_000));
        let Some(prov) = w
            .providers
            .get(rng.below(w.providers.len() as u64) as usize)
        else {
            break;
        };
        let answered = disposition == Disposition::Answered;
        let (inc, min_time) = increment_of(w, u.tariff_id, prefix);
        let (real, billsec) = if answered {
            let real = rng.range(2, 1_200) as u32;
            (real, (real.div_ceil(inc) * inc).max(min_time))
        } else {
            (0, 0)
        };
        let duration = billsec.max(real) + rng.range(0, 30) as u32;
        let user_rate = rate_of(w, u.tariff_id, prefix);
        let provider_rate = rate_of(w, prov.tariff_id, prefix);
        let reseller_rate = if u.owner_id != 0 {
            let owner_tariff = w
                .users
                .iter()
                .find(|x| x.id == u.owner_id)
                .and_then(|x| x.tariff_id);
            rate_of(w, owner_tariff, prefix)
        } else {
            Money::ZERO
        };
        let pr = |rate: Money| {
            if answered {
                round4(price(rate, billsec, Money::ZERO))
            } else {
                Money::ZERO
            }
        };
        let via_did = i == 4 || (i == usize::MAX && rng.below(8) == 0);
        let src = format!(
            "{}{:07}",
            pick(rng, &["3706", "4470", "4915", "3712"]),
            rng.below(10_000_000)
        );
        let hangupcause = match disposition {
            Disposition::Answered => 16,
            Disposition::NoAnswer => 19,
            Disposition::Busy => 17,
            Disposition::Failed => [34, 21, 38, 27][rng.below(4) as usize],
        };
        let Some(calldate) = when_at(t) else {
            continue;
        };
        let (did, did_price, did_inc_price, did_prov_price) = if via_did {
            (
                format!("3705{:07}", rng.below(10_000_000)),
                amount4(rng, 40, 300),
                amount4(rng, 20, 150),
                amount4(rng, 10, 90),
            )
        } else {
            (String::new(), Money::ZERO, Money::ZERO, Money::ZERO)
        };
        calls.push(Call {
            id,
            calldate,
            clid: src.clone(),
            src,
            dst,
            prefix: prefix.into(),
            user_id: u.id,
            device_id,
            provider_id: prov.id,
            tp_device_id: prov.device_id.unwrap_or(0),
            reseller_id: u.owner_id,
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
            did,
            did_price,
            did_inc_price,
            did_prov_price,
            server_id: 1 + rng.below(3),
        });
        id += 1 + rng.below(4);
    }
    calls
}

/// Payments of several users: today, earlier this month and last month in turn.
fn make_payments(w: &WorldData, rng: &mut Rng, now: i64) -> Vec<Payment> {
    let today_start = now.div_euclid(86_400) * 86_400;
    let this_month = month_start(now);
    let last_month = month_start(this_month - 1);
    let payers: Vec<&User> = w.users.iter().filter(|u| u.role == Role::User).collect();
    let n = 4 + rng.below(5) as usize;
    if payers.is_empty() {
        return Vec::new();
    }
    let first = rng.below(payers.len() as u64) as usize;
    let mut id = 100 + rng.below(800);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        // The first payers in turn, so at least three users pay; then anyone.
        let u = if i < 3 {
            payers[(first + i) % payers.len()]
        } else {
            payers[rng.below(payers.len() as u64) as usize]
        };
        let t = match i % 3 {
            0 => rng.range(today_start, now),
            1 if today_start > this_month => rng.range(this_month, today_start - 1),
            1 => rng.range(today_start, now),
            _ => rng.range(last_month, this_month - 1),
        };
        let Some(date) = when_at(t) else {
            continue;
        };
        let amount = amount4(rng, 50_000, 2_500_000);
        let currency = if rng.below(2) == 0 {
            u.currency.clone()
        } else {
            "USD".to_string()
        };
        out.push(Payment {
            id,
            user_id: u.id,
            date,
            amount,
            tax: round4(mul_money(amount, Money(u.vat_percent.0 / 100))),
            currency,
            comment: format!("Top-up {}", i + 1),
            paymenttype: pick(rng, &["manual", "paypal", "manual", "card"]).into(),
            transaction: format!("T{:08X}", rng.next() & 0xFFFF_FFFF),
            completed: true,
            confirmed: true,
            to_provider: false,
            balance_before: u.balance,
            balance_after: u.balance,
        });
        id += 1 + rng.below(6);
    }
    out
}

/// Three to six calls in progress of simple users (the first answered, the second not), each
/// from one of its user's devices to a number of a destination of the world, through a
/// provider or (now and then) to another user's device, on server 1 or 2, started up to half
/// an hour ago; ids from 200 with gaps. The caller and answered draws come first, so the users
/// and states are what they were before the calls had more fields.
fn make_active_calls(w: &WorldData, rng: &mut Rng) -> Vec<ActiveCall> {
    let callers: Vec<u64> = w
        .users
        .iter()
        .filter(|u| u.role == Role::User)
        .map(|u| u.id)
        .collect();
    let drawn: Vec<(u64, bool)> = (0..3 + rng.below(4))
        .filter_map(|i| {
            let user_id = *callers.get(rng.below(callers.len() as u64) as usize)?;
            let answered = match i {
                0 => true,
                1 => false,
                _ => rng.below(3) != 0,
            };
            Some((user_id, answered))
        })
        .collect();
    let mut id = 200 + rng.below(50);
    drawn
        .into_iter()
        .map(|(user_id, answered)| {
            let devices: Vec<&Device> = w.devices.iter().filter(|d| d.user_id == user_id).collect();
            let device = devices.get(rng.below(devices.len().max(1) as u64) as usize);
            let local = rng.below(4) == 0;
            let callee = callers[rng.below(callers.len() as u64) as usize];
            let callee_device = w.devices.iter().find(|d| d.user_id == callee);
            let dst = if local {
                callee_device.map_or_else(String::new, |d| d.name.clone())
            } else {
                let d = &w.destinations[rng.below(w.destinations.len().max(1) as u64) as usize];
                format!("{}{:07}", d.prefix, rng.below(10_000_000))
            };
            let provider = (!local && !w.providers.is_empty())
                .then(|| w.providers[rng.below(w.providers.len() as u64) as usize].id);
            let start_ago = 5 + rng.below(1800);
            let ringing = if answered {
                1 + rng.below(start_ago.min(20))
            } else {
                start_ago
            };
            let call = ActiveCall {
                id,
                device_id: device.map_or(0, |d| d.id),
                src: device.map_or_else(String::new, |d| d.name.clone()),
                dst,
                start_ago,
                ringing,
                provider_id: provider.unwrap_or(0),
                server_id: 1 + rng.below(2),
                dst_user_id: if local { callee } else { 0 },
                dst_device_id: if local {
                    callee_device.map_or(0, |d| d.id)
                } else {
                    0
                },
                ..ActiveCall::of(user_id, answered)
            };
            id += 1 + rng.below(5);
            call
        })
        .collect()
}

/// The MOR billing records: two or three services of the admin and one of each reseller; a
/// subscription of every simple user (the `user` account's until canceled, since last month),
/// some to a second service; last month's invoice of every simple user (issued on this month's
/// first day; the `user` account's paid, with a service line and a calls line, others with one to
/// three lines and a discount now and then); credit notes of the `user` account (paid, last
/// month), of another user of the admin (unpaid, today) and of a reseller's user.
fn make_billing(w: &mut WorldData, rng: &mut Rng, now: i64, user_id: u64) {
    let this_month = month_start(now);
    let last_month = month_start(this_month - 1);
    let today = now.div_euclid(86_400) * 86_400;
    let at =
        |t: i64| when_at(t).unwrap_or_else(|| When::parse("2026-01-01 00:00:00").expect("a time"));
    let resellers: Vec<u64> = w
        .users
        .iter()
        .filter(|u| u.role.is_reseller())
        .map(|u| u.id)
        .collect();
    let admin_n = 2 + rng.below(2) as usize;
    let service_ids = ids(rng, admin_n + resellers.len(), 100, 300, 6);
    let kinds = ["periodic_fee", "one_time_fee", "flat_rate"];
    let mut services = Vec::new();
    for (k, &id) in service_ids.iter().enumerate() {
        let owner_id = k.checked_sub(admin_n).map_or(0, |r| resellers[r]);
        let kind = if owner_id == 0 {
            kinds[k % 3]
        } else {
            "periodic_fee"
        };
        let word = capitalized(pick(rng, &WORDS));
        let name = match kind {
            "one_time_fee" => format!("{word} setup"),
            "flat_rate" => format!("{word} minutes"),
            _ => format!("{word} plan"),
        };
        // The fields below draw nothing from the random stream, so every later record is as
        // before they existed.
        services.push(Service {
            id,
            name,
            service_type: kind.into(),
            price: Money(rng.range(150, 4_999) * 100),
            owner_id,
            memo: String::new(),
            period: if kind == "periodic_fee" { "month" } else { "" }.into(),
            self_cost: Money::ZERO,
            currency: "USD".into(),
            quantity: match kind {
                "flat_rate" => Some(100 + id % 5 * 50),
                "periodic_fee" => Some(1),
                _ => None,
            },
            continue_call: false,
        });
    }
    let simple: Vec<(u64, u64)> = w
        .users
        .iter()
        .filter(|u| u.role == Role::User)
        .map(|u| (u.id, u.owner_id))
        .collect();
    let of_owner =
        |owner: u64| -> Vec<&Service> { services.iter().filter(|s| s.owner_id == owner).collect() };
    // Another simple user of the admin than the `user` account.
    let other = simple
        .iter()
        .find(|&&(id, owner)| owner == 0 && id != user_id)
        .map_or(u64::MAX, |&(id, _)| id);
    let mut subscriptions = Vec::new();
    let mut sub_id = 100 + rng.below(500);
    let mut invoices = Vec::new();
    let mut inv_id = 100 + rng.below(700);
    let (y, m, _) = model::world::civil_from_days(last_month.div_euclid(86_400));
    let last_month_end = (this_month - 1).div_euclid(86_400) * 86_400;
    for &(uid, owner) in &simple {
        let own = of_owner(owner);
        let Some(&first) = own.first() else { continue };
        let is_user = uid == user_id;
        let mut subscribed = vec![first];
        if own.len() > 1 && rng.below(2) == 0 {
            subscribed.push(own[1 + rng.below(own.len() as u64 - 1) as usize]);
        }
        for (k, s) in subscribed.iter().enumerate() {
            let added = if is_user && k == 0 {
                last_month + rng.range(0, 9) * 86_400
            } else {
                rng.range(last_month, now)
            };
            // The `user` account's first runs until canceled; another user's of the admin
            // ends with this month (so both kinds are there).
            let ends = uid == other && k == 0;
            let until_canceled = !ends && ((is_user && k == 0) || rng.below(2) == 0);
            let end = (ends || (!until_canceled && rng.below(2) == 0))
                .then(|| month_start(this_month + 32 * 86_400) - 1);
            subscriptions.push(Subscription {
                id: sub_id,
                user_id: uid,
                service_id: s.id,
                device_id: 0,
                added: at(added),
                activation_start: (rng.below(3) != 0)
                    .then(|| at(added.div_euclid(86_400) * 86_400)),
                activation_end: end.map(at),
                memo: if rng.below(2) == 0 {
                    format!("{} {}", pick(rng, &WORDS), uid)
                } else {
                    String::new()
                },
                until_canceled,
            });
            sub_id += 1 + rng.below(5);
        }
        // Last month's invoice: every user of a reseller, the `user` account and most other
        // users of the admin have one.
        if !is_user && owner == 0 && rng.below(5) == 0 {
            continue;
        }
        let mut lines = vec![InvoiceLine {
            name: first.name.clone(),
            quantity: 1,
            price: first.price,
            discount: Money::ZERO,
        }];
        if is_user || rng.below(3) != 0 {
            lines.push(InvoiceLine {
                name: "Calls".into(),
                quantity: 1,
                price: amount4(rng, 5_000, 900_000),
                discount: Money::ZERO,
            });
        }
        if !is_user && rng.below(3) == 0 {
            let extra = own[rng.below(own.len() as u64) as usize];
            lines.push(InvoiceLine {
                name: extra.name.clone(),
                quantity: 1 + rng.below(3) as u32,
                price: extra.price,
                discount: Money(rng.range(1, 99) * 100),
            });
        }
        let paid = is_user || rng.below(2) == 0;
        invoices.push(Invoice {
            id: inv_id,
            user_id: uid,
            number: format!("INV{:02}{:02}{:04}", y % 100, m, inv_id),
            period_start: at(last_month),
            period_end: at(last_month_end),
            issue_date: at(this_month),
            paid,
            paid_date: paid.then(|| at(this_month + rng.range(3_600, 86_000))),
            lines,
        });
        inv_id += 1 + rng.below(7);
    }
    // Credit notes: the `user` account's (paid, last month), another user of the admin's
    // (unpaid, today) and one of a reseller's user.
    let resold = simple
        .iter()
        .find(|&&(_, owner)| owner != 0)
        .map(|&(id, _)| id);
    let mut note_id = 100 + rng.below(400);
    let mut credit_notes = Vec::new();
    for (uid, issued, paid, comment) in [
        (
            Some(user_id),
            last_month + rng.range(1, 20) * 86_400,
            true,
            "overcharge",
        ),
        (
            (other != u64::MAX).then_some(other),
            today.max(this_month),
            false,
            "goodwill",
        ),
        (
            resold,
            last_month + rng.range(1, 20) * 86_400,
            rng.below(2) == 0,
            "refund",
        ),
    ] {
        let Some(uid) = uid else { continue };
        credit_notes.push(CreditNote {
            id: note_id,
            user_id: uid,
            number: format!("CN{note_id:05}"),
            issue_date: at(issued),
            comment: comment.into(),
            price: Money(rng.range(100, 9_999) * 100),
            pay_date: paid.then(|| at(issued + 3_600)),
        });
        note_id += 1 + rng.below(9);
    }
    w.services = services;
    w.subscriptions = subscriptions;
    w.invoices = invoices;
    w.credit_notes = credit_notes;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    /// 2026-11-23 14:30:00 UTC.
    const NOW: i64 = 1_795_444_200;

    fn users(p: Product, seed: u64) -> Vec<User> {
        unseen_world(p, seed, NOW).users
    }

    #[test]
    fn two_seeds_give_different_ids_and_usernames() {
        for p in Product::ALL {
            let names =
                |s| -> Vec<String> { users(p, s).into_iter().map(|u| u.username).collect() };
            let ids = |s| -> Vec<u64> { users(p, s).into_iter().map(|u| u.id).collect() };
            assert_ne!(names(1), names(2), "{p}");
            assert_ne!(ids(1), ids(2), "{p}");
            let devices = |s| -> Vec<u64> {
                unseen_world(p, s, NOW)
                    .devices
                    .iter()
                    .map(|d| d.id)
                    .collect()
            };
            assert_ne!(devices(1), devices(2), "{p}");
            let rates = |s| unseen_world(p, s, NOW).currencies;
            assert_ne!(rates(1), rates(2), "{p}");
        }
    }

    #[test]
    fn no_simple_user_has_an_id_from_one_to_three() {
        for p in Product::ALL {
            for seed in 0..200 {
                for u in users(p, seed) {
                    assert!(
                        u.role == Role::Admin || u.id >= 100,
                        "{p} seed {seed}: {u:?}"
                    );
                }
                let w = unseen_world(p, seed, NOW);
                assert!(w.devices.iter().all(|d| d.id >= 100));
                assert!(w.providers.iter().all(|x| x.id >= 100));
                assert!(w.tariffs.iter().all(|x| x.id >= 100));
            }
        }
    }

    #[test]
    fn the_unseen_world_is_deterministic_and_its_accounts_ignore_the_clock() {
        for p in Product::ALL {
            assert_eq!(unseen_world(p, 9, NOW), unseen_world(p, 9, NOW));
            assert_eq!(unseen_accounts(p, 9), unseen_accounts(p, 9));
            let later = NOW + 86_400 * 40 + 777;
            let a = unseen_world(p, 9, NOW);
            let b = unseen_world(p, 9, later);
            assert_eq!(a.users, b.users);
            assert_eq!(a.devices, b.devices);
            assert_eq!(a.tariffs, b.tariffs);
        }
    }

    #[test]
    fn every_role_of_the_default_world_is_there_with_its_permissions() {
        for seed in 0..50 {
            let m4 = users(Product::M4, seed);
            let simple = m4.iter().filter(|u| u.role == Role::User).count();
            assert!((3..=6).contains(&simple), "{simple}");
            let managers: Vec<&User> = m4.iter().filter(|u| u.role == Role::Manager).collect();
            assert_eq!(managers.len(), 2);
            let acc = unseen_accounts(Product::M4, seed);
            let manager = acc.iter().find(|a| a.role == "manager").expect("manager");
            let full = m4
                .iter()
                .find(|u| u.username == manager.username)
                .expect("in the world");
            assert_eq!(full.permissions.len(), 5);
            assert!(managers.iter().any(|m| m.permissions.is_empty()));
            assert!(managers.iter().all(|m| m.id >= full.id));

            let mor = users(Product::Mor, seed);
            let acc = unseen_accounts(Product::Mor, seed);
            let admin_simple = mor
                .iter()
                .filter(|u| u.role == Role::User && u.owner_id == 0)
                .count();
            assert!((3..=6).contains(&admin_simple));
            for (role, r) in [
                ("reseller", Role::Reseller),
                ("reseller_pro", Role::ResellerPro),
            ] {
                let a = acc.iter().find(|a| a.role == role).expect("role");
                let u = mor.iter().find(|u| u.username == a.username).expect("user");
                assert_eq!(u.role, r);
                assert!(a.api_secret.is_some());
                assert_eq!(a.api_secret, u.api_secret);
                assert!(mor
                    .iter()
                    .any(|x| x.owner_id == u.id && x.role == Role::User));
            }
            let a = acc
                .iter()
                .find(|a| a.role == "accountant")
                .expect("accountant");
            let u = mor.iter().find(|u| u.username == a.username).expect("user");
            assert_eq!(u.permissions, ["data_stats"]);
            for a in &acc {
                assert_eq!(a.username, a.password);
            }
        }
    }

    #[test]
    fn calls_fall_today_earlier_this_month_and_last_month_with_every_outcome() {
        // A mid-month day and the first of a month (2026-12-01 09:00).
        for now in [NOW, 1_796_115_600] {
            for p in Product::ALL {
                for seed in [0, 1, 7, 12_345] {
                    let data = unseen_world(p, seed, now);
                    let acc = unseen_accounts(p, seed);
                    let today = now.div_euclid(86_400) * 86_400;
                    let w = World::build(data, today);
                    let r = w.calls_between(today, today + 86_399);
                    let calls_today = &w.data.calls[r];
                    assert!(calls_today.len() >= 10, "{p} {seed}: {}", calls_today.len());
                    for d in [
                        Disposition::Answered,
                        Disposition::NoAnswer,
                        Disposition::Busy,
                        Disposition::Failed,
                    ] {
                        assert!(calls_today.iter().any(|c| c.disposition == d), "{d:?}");
                    }
                    let user = acc.iter().find(|a| a.role == "user").expect("user");
                    let user = w.user_by_name(&user.username).expect("user");
                    assert_eq!(user.owner_id, 0);
                    let admin_callers: HashSet<u64> = calls_today
                        .iter()
                        .filter(|c| c.disposition == Disposition::Answered)
                        .filter(|c| w.user(c.user_id).is_some_and(|u| u.owner_id == 0))
                        .map(|c| c.user_id)
                        .collect();
                    assert!(admin_callers.len() >= 2 && admin_callers.contains(&user.id));
                    let month = month_start(now);
                    let last = w.calls_between(month_start(month - 1), month - 1);
                    assert!(last.len() >= 30);
                    assert!(w.calls_between(month, today - 1).len() >= 60 || today == month);
                    assert!(w.data.calls.iter().any(|c| !c.did.is_empty()));
                    assert!(w.call_times().iter().all(|&t| t <= now));
                    let payers: HashSet<u64> = w.data.payments.iter().map(|x| x.user_id).collect();
                    assert!(payers.len() >= 3);
                    assert!(!w.data.active_calls.is_empty());
                    assert!(w
                        .data
                        .active_calls
                        .iter()
                        .all(|a| w.user(a.user_id).is_some()));
                }
            }
        }
    }

    #[test]
    fn the_mor_world_has_billing_records_of_the_user_account_and_of_resellers_users() {
        // A mid-month day and the first of a month (2026-12-01 09:00).
        for now in [NOW, 1_796_115_600] {
            for seed in [0, 1, 7, 4242, 12_345] {
                let w = unseen_world(Product::Mor, seed, now);
                let acc = unseen_accounts(Product::Mor, seed);
                let id_of = |role: &str| {
                    let a = acc.iter().find(|a| a.role == role).expect("role");
                    w.users
                        .iter()
                        .find(|u| u.username == a.username)
                        .expect("user")
                        .id
                };
                let (user, reseller) = (id_of("user"), id_of("reseller"));
                let owner = |uid: u64| w.users.iter().find(|u| u.id == uid).map(|u| u.owner_id);
                assert!(w.services.iter().filter(|s| s.owner_id == 0).count() >= 2);
                assert!(w.services.iter().any(|s| s.owner_id == reseller));
                assert!(w
                    .services
                    .iter()
                    .all(|s| s.id >= 100 && s.price > Money::ZERO));
                for s in &w.subscriptions {
                    let service = w.services.iter().find(|x| x.id == s.service_id);
                    assert_eq!(service.map(|x| x.owner_id), owner(s.user_id), "{s:?}");
                }
                let time = |x: &When| x.resolve(0).expect("absolute");
                assert!(w.subscriptions.iter().all(|s| time(&s.added) <= now));
                assert!(w
                    .subscriptions
                    .iter()
                    .any(|s| s.user_id == user && s.until_canceled));
                assert!(w
                    .subscriptions
                    .iter()
                    .any(|s| owner(s.user_id) == Some(0) && s.activation_end.is_some()));
                assert!(w
                    .subscriptions
                    .iter()
                    .any(|s| owner(s.user_id) == Some(reseller)));
                let inv = w
                    .invoices
                    .iter()
                    .find(|i| i.user_id == user)
                    .expect("invoice");
                assert!(inv.paid && inv.lines.len() >= 2 && inv.price() > Money::ZERO);
                assert!(w.invoices.iter().any(|i| !i.paid));
                assert!(w
                    .invoices
                    .iter()
                    .any(|i| owner(i.user_id) == Some(reseller)));
                let last_month = month_start(month_start(now) - 1);
                assert!(w
                    .invoices
                    .iter()
                    .all(|i| time(&i.period_start) == last_month && time(&i.issue_date) <= now));
                assert!(w
                    .credit_notes
                    .iter()
                    .any(|n| n.user_id == user && n.pay_date.is_some()));
                assert!(w.credit_notes.iter().any(|n| n.pay_date.is_none()));
                assert!(w.credit_notes.iter().all(|n| time(&n.issue_date) <= now));
                // The services and the first credit note's id (what a target file names) do
                // not depend on the clock.
                let other = unseen_world(Product::Mor, seed, NOW);
                assert_eq!(w.services, other.services);
                let ids = |w: &WorldData| w.credit_notes.iter().map(|n| n.id).collect::<Vec<_>>();
                assert_eq!(ids(&w), ids(&other));
                assert_eq!(w.credit_notes[0].user_id, user);
            }
        }
        assert!(unseen_world(Product::M4, 1, NOW).invoices.is_empty());
        let facts = unseen_facts(Product::Mor, 4242);
        assert_eq!(facts.len(), 4, "{facts:?}");
    }

    #[test]
    fn the_admin_has_number_pools_the_first_with_numbers_and_ids_move_with_the_seed() {
        for p in Product::ALL {
            let a = unseen_world(p, 7, NOW);
            let b = unseen_world(p, 8, NOW);
            let admin: Vec<_> = a.number_pools.iter().filter(|x| x.owner_id == 0).collect();
            assert!((2..=4).contains(&admin.len()), "{p}: {}", admin.len());
            let first = admin[0].id;
            assert!(
                a.number_pool_numbers
                    .iter()
                    .filter(|n| n.number_pool_id == first)
                    .count()
                    >= 3
            );
            assert!(a
                .number_pool_numbers
                .iter()
                .all(|n| a.number_pools.iter().any(|x| x.id == n.number_pool_id)));
            assert_ne!(
                a.number_pools.iter().map(|x| x.id).collect::<Vec<_>>(),
                b.number_pools.iter().map(|x| x.id).collect::<Vec<_>>()
            );
            assert!(!a.number_pools.iter().any(|x| (1..=4).contains(&x.id)));
            assert_eq!(a.number_pools, unseen_world(p, 7, NOW).number_pools);
        }
        let mor = unseen_world(Product::Mor, 7, NOW);
        assert!(mor.number_pools.iter().any(|x| x.owner_id != 0));
    }

    #[test]
    fn the_user_account_has_phonebook_records_with_speed_dials_unique_per_user() {
        let a = unseen_world(Product::Mor, 7, NOW);
        let user = Skeleton::new(Product::Mor, 7).user_id;
        let mine = a.phonebooks.iter().filter(|p| p.user_id == user).count();
        assert!((2..=4).contains(&mine), "{mine}");
        for p in &a.phonebooks {
            assert!(a
                .users
                .iter()
                .any(|u| u.id == p.user_id && u.role == Role::User));
            let same_dial = a
                .phonebooks
                .iter()
                .filter(|q| q.user_id == p.user_id && q.speeddial == p.speeddial)
                .count();
            assert_eq!(same_dial, 1, "{p:?}");
        }
        moves_with_the_seed(|w| &w.phonebooks, |p| p.id, 4);
    }

    /// What every MOR-only collection of the unseen world shows: none of its ids among the
    /// default world's (`1..=default_ids`), the same for a seed, another for another seed, and
    /// none in M4.
    fn moves_with_the_seed<T: PartialEq + std::fmt::Debug>(
        of: fn(&WorldData) -> &Vec<T>,
        id: fn(&T) -> u64,
        default_ids: u64,
    ) {
        let a = unseen_world(Product::Mor, 7, NOW);
        assert!(!of(&a).iter().any(|x| (1..=default_ids).contains(&id(x))));
        assert_eq!(of(&a), of(&unseen_world(Product::Mor, 7, NOW)));
        assert_ne!(of(&a), of(&unseen_world(Product::Mor, 8, NOW)));
        assert!(of(&unseen_world(Product::M4, 7, NOW)).is_empty());
    }

    #[test]
    fn the_admin_has_lcrs_the_first_with_providers_and_ids_move_with_the_seed() {
        let a = unseen_world(Product::Mor, 7, NOW);
        let admin: Vec<_> = a.lcrs.iter().filter(|l| l.owner_id == 0).collect();
        assert!((2..=4).contains(&admin.len()), "{}", admin.len());
        assert!(a.lcr_providers.iter().any(|p| p.lcr_id == admin[0].id));
        for p in &a.lcr_providers {
            assert!(a.lcrs.iter().any(|l| l.id == p.lcr_id && l.owner_id == 0));
            assert!(a
                .providers
                .iter()
                .any(|x| x.id == p.provider_id && x.user_id == 0));
        }
        let pros = a
            .users
            .iter()
            .filter(|u| u.role == Role::ResellerPro)
            .count();
        assert_eq!(a.lcrs.len(), admin.len() + pros);
        moves_with_the_seed(|w| &w.lcrs, |l| l.id, 4);
    }

    #[test]
    fn every_provider_of_the_admin_has_rules_whose_ids_move_with_the_seed() {
        let a = unseen_world(Product::Mor, 7, NOW);
        for p in a.providers.iter().filter(|p| p.user_id == 0) {
            let n = a
                .provider_rules
                .iter()
                .filter(|r| r.provider_id == p.id)
                .count();
            assert!((1..=3).contains(&n), "provider {}: {n}", p.id);
        }
        for r in &a.provider_rules {
            assert!(!(r.cut.is_empty() && r.add.is_empty()), "{r:?}");
        }
        moves_with_the_seed(|w| &w.provider_rules, |r| r.id, 3);
    }

    #[test]
    fn prices_have_four_decimals_and_margins_are_not_round() {
        let w = unseen_world(Product::M4, 3, NOW);
        let mut revenue = Money::ZERO;
        let mut cost = Money::ZERO;
        for c in w.calls.iter() {
            for m in [
                c.user_price,
                c.provider_price,
                c.reseller_price,
                c.user_rate,
            ] {
                assert_eq!(m.0 % 100, 0, "{m}");
            }
            revenue += c.user_price;
            cost += c.provider_price;
        }
        assert!(w.calls.iter().any(|c| c.user_price.0 % 10_000 != 0));
        let margin = (revenue - cost).to_f64() / revenue.to_f64() * 100.0;
        assert!((margin - margin.round()).abs() > 1e-6, "{margin}");
    }
}
