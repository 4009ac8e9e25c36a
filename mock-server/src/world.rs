//! The mock's world at run time: the records of [`model::world::WorldData`] with the indexes the
//! methods need. Built from the generated default world (see `generate`) or a scenario's.
//!
//! Calls are kept sorted by their start time, resolved once to Unix seconds against the clock's
//! today when the world is built ([`World::build`]), so a period is a binary-searched slice and
//! aggregate_get over a million calls is a single pass. Each call's destination (longest prefix
//! match) and destination group are resolved at the same time.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use model::world::{Call, Currency, Device, Money, Provider, Tariff, User, WorldData};

/// No destination matched a call's number.
pub const NO_DEST: u32 = u32::MAX;

/// The world the mock computes from.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// All records. Calls are sorted by start time; after changing `data` call [`World::reindex`].
    pub data: WorldData,
    /// The Unix time of the day the relative times (`today-3 ...`) were resolved against.
    pub today_start: i64,
    user_by_id: HashMap<u64, usize>,
    /// Looked up on every request (`u`): FxHash, not SipHash (~160 instructions per request,
    /// callgrind). The names come from the world (a scenario), not from a client.
    user_by_name: FxHashMap<String, usize>,
    user_by_uniquehash: HashMap<String, usize>,
    device_by_id: HashMap<u64, usize>,
    provider_by_id: HashMap<u64, usize>,
    tariff_by_id: HashMap<u64, usize>,
    dest_by_prefix: HashMap<String, usize>,
    max_prefix_len: usize,
    /// Destination group names, interned (index = group id).
    groups: Vec<String>,
    dest_group: Vec<u32>,
    /// The columns derived from the calls, shared like the calls themselves (a copy of the
    /// world, such as the live state made from the start state, holds them once).
    calls: std::sync::Arc<CallColumns>,
}

/// What the methods read of every call, as columns parallel to `data.calls`.
#[derive(Debug, Default)]
struct CallColumns {
    time: Vec<i64>,
    dest: Vec<u32>,
    facts: Vec<CallFacts>,
    /// The distinct who-and-where of the calls ([`CallFacts::cell`] indexes it).
    cells: Vec<CallCell>,
    src: TextColumn,
    dst: TextColumn,
    clid: TextColumn,
    /// Running totals of the answered calls before every [`BLOCK`]-th call (`answered[k]` sums
    /// calls `0..k * BLOCK`), so the totals of any period read two entries and at most two
    /// partial blocks instead of every call in it.
    answered: Vec<AnsweredTotals>,
}

/// Calls per entry of the running totals: 32 bytes of totals per 8 calls of 100-odd bytes
/// each, and at most 2 x 7 calls read beside them (16 read up to 2 x 15: ~30 instructions more
/// per period of quickstats_get, callgrind).
const BLOCK: usize = 8;

/// Sums over the answered calls of a range, as every call is seen (the admin's view).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnsweredTotals {
    /// Answered calls.
    pub calls: u64,
    /// Their billed seconds.
    pub billsec: u64,
    /// Their user prices (millionths).
    pub user_price: i64,
    /// Their provider prices (millionths).
    pub provider_price: i64,
}

impl AnsweredTotals {
    fn add(&mut self, f: &CallFacts) {
        if f.answered {
            self.calls += 1;
            self.billsec += u64::from(f.billsec);
            self.user_price += f.user_price;
            self.provider_price += f.provider_price;
        }
    }

    fn minus(self, o: AnsweredTotals) -> AnsweredTotals {
        AnsweredTotals {
            calls: self.calls - o.calls,
            billsec: self.billsec - o.billsec,
            user_price: self.user_price - o.user_price,
            provider_price: self.provider_price - o.provider_price,
        }
    }

    fn of(facts: &[CallFacts]) -> AnsweredTotals {
        let mut t = AnsweredTotals::default();
        for f in facts {
            t.add(f);
        }
        t
    }
}

/// One text field of every call, stored contiguously so a pattern scan over a million calls
/// reads memory in order instead of chasing a pointer per call.
#[derive(Debug, Clone, Default)]
pub struct TextColumn {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl TextColumn {
    fn of<'a>(texts: impl Iterator<Item = &'a str>) -> TextColumn {
        let mut c = TextColumn::default();
        for t in texts {
            c.bytes.extend_from_slice(t.as_bytes());
            c.ends.push(c.bytes.len());
        }
        c
    }

    /// The text of call `i` (empty when out of range).
    #[inline]
    pub fn get(&self, i: usize) -> &[u8] {
        let end = self.ends.get(i).copied().unwrap_or(0);
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).copied().unwrap_or(end)
        };
        self.bytes.get(start..end).unwrap_or(&[])
    }
}

/// Who and where of a call: originator, origination point, provider, termination point,
/// reseller and destination. A world's calls share few of them (its users, devices, providers
/// and destinations), so each call names its cell by index ([`CallFacts::cell`]) and statistics
/// can sum calls per cell before grouping the cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CallCell {
    /// Originator.
    pub user_id: u64,
    /// Origination point.
    pub device_id: u64,
    /// Provider / terminator.
    pub provider_id: u64,
    /// Termination point.
    pub tp_device_id: u64,
    /// The user's reseller (0 none).
    pub reseller_id: u64,
    /// Destination index (or [`NO_DEST`]).
    pub dest: u32,
}

/// The numbers of one call that statistics need, packed densely (parallel to `data.calls`), so
/// a pass over a million calls reads a tenth of the memory the full records take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallFacts {
    /// Its [`CallCell`] (index into [`World::call_cells`]).
    pub cell: u32,
    /// Billed seconds.
    pub billsec: u32,
    /// Real billed seconds (billsec when unknown).
    pub real_billsec: u32,
    /// Whole duration.
    pub duration: u32,
    /// User price (millionths).
    pub user_price: i64,
    /// Reseller price (millionths).
    pub reseller_price: i64,
    /// Provider price (millionths).
    pub provider_price: i64,
    /// User rate (millionths).
    pub user_rate: i64,
    /// Provider rate (millionths).
    pub provider_rate: i64,
    /// Answered.
    pub answered: bool,
}

impl CallFacts {
    fn of(c: &Call, cell: u32) -> CallFacts {
        CallFacts {
            cell,
            user_price: c.user_price.0,
            reseller_price: c.reseller_price.0,
            provider_price: c.provider_price.0,
            user_rate: c.user_rate.0,
            provider_rate: c.provider_rate.0,
            billsec: c.billsec,
            real_billsec: c.real_billsec.unwrap_or(c.billsec),
            duration: c.duration,
            answered: c.disposition == model::world::Disposition::Answered,
        }
    }
}

impl World {
    /// Index a world, resolving relative times against today (UTC) of the system clock. Prefer
    /// [`World::build`] with the mock's clock.
    pub fn new(data: WorldData) -> World {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        World::build(data, now.div_euclid(86_400) * 86_400)
    }

    /// Index a world, resolving relative times (`today-3 08:00:00`) against `today_start`, the
    /// Unix time of the clock's today at 00:00:00.
    pub fn build(data: WorldData, today_start: i64) -> World {
        let mut w = World {
            data,
            today_start,
            ..World::default()
        };
        w.reindex();
        w
    }

    /// Rebuild every index after records were added or removed (sorts the calls by time).
    pub fn reindex(&mut self) {
        self.reindex_records();
        self.index_calls();
    }

    /// Take the records of `data` (a copy of this world's data with some records changed, the
    /// calls untouched) and rebuild the indexes of everything but the calls, whose columns stay
    /// as they are: a declared write costs the size of the records, not of a million calls.
    pub fn replace_records(&mut self, data: WorldData) {
        // The calls' destination columns depend on the destinations too.
        let same_calls = std::sync::Arc::ptr_eq(&self.data.calls, &data.calls)
            && self.data.destinations == data.destinations;
        self.data = data;
        if same_calls {
            self.reindex_records();
        } else {
            self.reindex();
        }
    }

    fn reindex_records(&mut self) {
        self.user_by_id.clear();
        self.user_by_name.clear();
        self.user_by_uniquehash.clear();
        for (i, u) in self.data.users.iter().enumerate() {
            self.user_by_id.insert(u.id, i);
            self.user_by_name.insert(u.username.clone(), i);
            if !u.uniquehash.is_empty() {
                self.user_by_uniquehash.insert(u.uniquehash.clone(), i);
            }
        }
        self.device_by_id = index_by(&self.data.devices, |d| d.id);
        self.provider_by_id = index_by(&self.data.providers, |p| p.id);
        self.tariff_by_id = index_by(&self.data.tariffs, |t| t.id);
        self.dest_by_prefix.clear();
        self.groups.clear();
        self.dest_group.clear();
        self.max_prefix_len = 0;
        let mut group_ids: HashMap<String, u32> = HashMap::new();
        for (i, d) in self.data.destinations.iter().enumerate() {
            self.dest_by_prefix.insert(d.prefix.clone(), i);
            self.max_prefix_len = self.max_prefix_len.max(d.prefix.len());
            let next = self.groups.len() as u32;
            let g = *group_ids.entry(d.group.clone()).or_insert(next);
            if g == next {
                self.groups.push(d.group.clone());
            }
            self.dest_group.push(g);
        }
    }

    fn index_calls(&mut self) {
        let today = self.today_start;
        // A call whose time does not parse sorts first (time 0) rather than failing the world.
        let key = |c: &Call| (c.calldate.resolve(today).unwrap_or(0), c.id);
        let sorted = self.data.calls.windows(2).all(|p| key(&p[0]) <= key(&p[1]));
        if !sorted {
            // In place: the calls are moved, not copied (the keys are computed once).
            std::sync::Arc::make_mut(&mut self.data.calls).sort_by_cached_key(key);
        }
        let calls = &self.data.calls;
        let time = calls.iter().map(|c| key(c).0).collect();
        let dest: Vec<u32> = calls
            .iter()
            .map(|c| {
                let key = if c.prefix.is_empty() {
                    &c.dst
                } else {
                    &c.prefix
                };
                self.destination_index(key).map_or(NO_DEST, |i| i as u32)
            })
            .collect();
        let mut cells: Vec<CallCell> = Vec::new();
        // FxHash: keys of small integers, none from a client.
        let mut cell_ids: FxHashMap<CallCell, u32> = FxHashMap::default();
        let facts: Vec<CallFacts> = calls
            .iter()
            .zip(&dest)
            .map(|(c, &dest)| {
                let cell = CallCell {
                    user_id: c.user_id,
                    device_id: c.device_id,
                    provider_id: c.provider_id,
                    tp_device_id: c.tp_device_id,
                    reseller_id: c.reseller_id,
                    dest,
                };
                let id = *cell_ids.entry(cell).or_insert_with(|| {
                    cells.push(cell);
                    (cells.len() - 1) as u32
                });
                CallFacts::of(c, id)
            })
            .collect();
        let mut answered = Vec::with_capacity(facts.len() / BLOCK + 1);
        let mut running = AnsweredTotals::default();
        for (i, f) in facts.iter().enumerate() {
            if i % BLOCK == 0 {
                answered.push(running);
            }
            running.add(f);
        }
        answered.push(running);
        self.calls = std::sync::Arc::new(CallColumns {
            time,
            dest,
            facts,
            cells,
            answered,
            src: TextColumn::of(calls.iter().map(|c| c.src.as_str())),
            dst: TextColumn::of(calls.iter().map(|c| c.dst.as_str())),
            clid: TextColumn::of(calls.iter().map(|c| c.clid.as_str())),
        });
    }

    /// The user with this id.
    pub fn user(&self, id: u64) -> Option<&User> {
        self.user_by_id.get(&id).map(|&i| &self.data.users[i])
    }

    /// The user with this id, to change.
    pub fn user_mut(&mut self, id: u64) -> Option<&mut User> {
        self.user_by_id.get(&id).map(|&i| &mut self.data.users[i])
    }

    /// The user logging in as `username`.
    pub fn user_by_name(&self, username: &str) -> Option<&User> {
        self.user_by_name
            .get(username)
            .map(|&i| &self.data.users[i])
    }

    /// The user with this uniquehash.
    pub fn user_by_uniquehash(&self, hash: &str) -> Option<&User> {
        self.user_by_uniquehash
            .get(hash)
            .map(|&i| &self.data.users[i])
    }

    /// The device with this id.
    pub fn device(&self, id: u64) -> Option<&Device> {
        self.device_by_id.get(&id).map(|&i| &self.data.devices[i])
    }

    /// The devices of a user, by id.
    pub fn devices_of(&self, user_id: u64) -> Vec<&Device> {
        let mut v: Vec<&Device> = self
            .data
            .devices
            .iter()
            .filter(|d| d.user_id == user_id)
            .collect();
        v.sort_by_key(|d| d.id);
        v
    }

    /// The provider (terminator) with this id.
    pub fn provider(&self, id: u64) -> Option<&Provider> {
        self.provider_by_id
            .get(&id)
            .map(|&i| &self.data.providers[i])
    }

    /// The tariff with this id.
    pub fn tariff(&self, id: u64) -> Option<&Tariff> {
        self.tariff_by_id.get(&id).map(|&i| &self.data.tariffs[i])
    }

    /// The tariff with this id, to change.
    pub fn tariff_mut(&mut self, id: u64) -> Option<&mut Tariff> {
        self.tariff_by_id
            .get(&id)
            .map(|&i| &mut self.data.tariffs[i])
    }

    /// Add a tariff and index it.
    pub fn add_tariff(&mut self, t: Tariff) {
        self.tariff_by_id.insert(t.id, self.data.tariffs.len());
        self.data.tariffs.push(t);
    }

    /// Index (in `data.destinations`) of the destination whose prefix is the longest prefix of
    /// `number`.
    pub fn destination_index(&self, number: &str) -> Option<usize> {
        let max = self.max_prefix_len.min(number.len());
        (1..=max).rev().find_map(|n| {
            number
                .get(..n)
                .and_then(|p| self.dest_by_prefix.get(p).copied())
        })
    }

    /// The destination of a number by longest prefix.
    pub fn destination_of(&self, number: &str) -> Option<&model::world::Destination> {
        self.destination_index(number)
            .map(|i| &self.data.destinations[i])
    }

    /// Interned destination group names (index = group id of [`World::dest_group_id`]).
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The group id of a destination index.
    pub fn dest_group_id(&self, dest: u32) -> Option<u32> {
        self.dest_group.get(dest as usize).copied()
    }

    /// Start times (Unix seconds) of the calls, parallel to `data.calls` and ascending.
    pub fn call_times(&self) -> &[i64] {
        &self.calls.time
    }

    /// Destination index of each call (or [`NO_DEST`]), parallel to `data.calls`.
    pub fn call_dests(&self) -> &[u32] {
        &self.calls.dest
    }

    /// The packed numbers of each call, parallel to `data.calls`.
    pub fn call_facts(&self) -> &[CallFacts] {
        &self.calls.facts
    }

    /// The distinct cells of the calls ([`CallFacts::cell`] indexes them).
    pub fn call_cells(&self) -> &[CallCell] {
        &self.calls.cells
    }

    /// The cell of a call's facts.
    pub fn cell_of(&self, f: &CallFacts) -> CallCell {
        self.calls
            .cells
            .get(f.cell as usize)
            .copied()
            .unwrap_or_default()
    }

    /// `src`, `dst` and `clid` of every call, as columns parallel to `data.calls`.
    pub fn call_texts(&self) -> (&TextColumn, &TextColumn, &TextColumn) {
        (&self.calls.src, &self.calls.dst, &self.calls.clid)
    }

    /// The range of call indexes whose start time lies in `from..=till`.
    pub fn calls_between(&self, from: i64, till: i64) -> std::ops::Range<usize> {
        let a = self.first_call_from(from);
        let b = a + self.calls.time[a..].partition_point(|&t| t <= till);
        a..b
    }

    /// The index of the first call starting at `from` or later (where
    /// [`World::calls_between`] from `from` starts).
    pub fn first_call_from(&self, from: i64) -> usize {
        self.calls.time.partition_point(|&t| t < from)
    }

    /// The totals of the answered calls in a range of call indexes (as from
    /// [`World::calls_between`]), kept with the calls when the world is indexed.
    pub fn answered_totals(&self, range: std::ops::Range<usize>) -> AnsweredTotals {
        let c = &self.calls;
        let end = range.end.min(c.facts.len());
        let start = range.start.min(end);
        // Whole blocks from the running totals, the partial blocks at either end call by call.
        let first = start.div_ceil(BLOCK);
        let last = end / BLOCK;
        if first >= last {
            return AnsweredTotals::of(&c.facts[start..end]);
        }
        let mut t = c.answered[last].minus(c.answered[first]);
        let head = AnsweredTotals::of(&c.facts[start..first * BLOCK]);
        let tail = AnsweredTotals::of(&c.facts[last * BLOCK..end]);
        for part in [head, tail] {
            t.calls += part.calls;
            t.billsec += part.billsec;
            t.user_price += part.user_price;
            t.provider_price += part.provider_price;
        }
        t
    }

    /// The Unix time of a call by index.
    pub fn call_time(&self, i: usize) -> i64 {
        self.calls.time.get(i).copied().unwrap_or(0)
    }

    /// The currency named `code` (exact, case-sensitive), other than the default.
    pub fn currency(&self, code: &str) -> Option<&Currency> {
        self.data.currencies.iter().find(|c| c.name == code)
    }

    /// Units of `code` per one unit of the default currency: 1 for the default currency, the
    /// stored rate for another known currency (case-insensitive), `None` if unknown.
    pub fn rate_of(&self, code: &str, default_currency: &str) -> Option<Money> {
        if code.eq_ignore_ascii_case(default_currency) {
            return Some(Money::units(1));
        }
        self.data
            .currencies
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(code))
            .map(|c| c.rate)
    }

    /// Next free id for a payment.
    pub fn next_payment_id(&self) -> u64 {
        self.data.payments.iter().map(|p| p.id).max().unwrap_or(0) + 1
    }

    /// Next free id for a tariff.
    pub fn next_tariff_id(&self) -> u64 {
        self.data.tariffs.iter().map(|t| t.id).max().unwrap_or(0) + 1
    }

    /// Change a user's balance by `delta` (in the default currency); the new balance, or `None`
    /// if the user is unknown or the sum overflows.
    pub fn change_balance(&mut self, user_id: u64, delta: Money) -> Option<Money> {
        let u = self.user_mut(user_id)?;
        let nb = u.balance.checked_add(delta)?;
        u.balance = nb;
        Some(nb)
    }

    /// The users the caller owns (a reseller's users), and whether `user_id` is one of them.
    pub fn is_owned_by(&self, user_id: u64, owner: u64) -> bool {
        self.user(user_id).is_some_and(|u| u.owner_id == owner)
    }
}

fn index_by<T>(v: &[T], key: impl Fn(&T) -> u64) -> HashMap<u64, usize> {
    v.iter().enumerate().map(|(i, x)| (key(x), i)).collect()
}

/// `amount * rate` with rate in the same fixed point (both millionths), rounded half away from
/// zero; saturates instead of overflowing.
pub fn mul_money(amount: Money, rate: Money) -> Money {
    let p = i128::from(amount.0) * i128::from(rate.0);
    Money(clamp_i64(div_round(p, 1_000_000)))
}

/// `amount / rate` (rate in millionths), rounded; zero when the rate is zero.
pub fn div_money(amount: Money, rate: Money) -> Money {
    if rate.0 == 0 {
        return Money::ZERO;
    }
    let p = i128::from(amount.0) * 1_000_000;
    Money(clamp_i64(div_round(p, i128::from(rate.0))))
}

/// `amount * rate` (rate in millionths), rounded; `None` when the result is not representable
/// (money arithmetic that must not clamp: a balance change).
pub fn checked_mul_money(amount: Money, rate: Money) -> Option<Money> {
    let p = i128::from(amount.0) * i128::from(rate.0);
    i64::try_from(div_round(p, 1_000_000)).ok().map(Money)
}

/// `amount / rate` (rate in millionths), rounded; `None` when the rate is zero or the result is
/// not representable.
pub fn checked_div_money(amount: Money, rate: Money) -> Option<Money> {
    if rate.0 == 0 {
        return None;
    }
    let p = i128::from(amount.0) * 1_000_000;
    i64::try_from(div_round(p, i128::from(rate.0)))
        .ok()
        .map(Money)
}

/// Convert an amount in the default currency into a currency with `rate` units per default unit.
pub fn to_currency(amount: Money, rate: Money) -> Money {
    mul_money(amount, rate)
}

/// Convert an amount in a currency with `rate` units per default unit into the default currency.
pub fn from_currency(amount: Money, rate: Money) -> Money {
    div_money(amount, rate)
}

fn div_round(n: i128, d: i128) -> i128 {
    if d == 0 {
        return 0;
    }
    let q = n / d;
    let r = n % d;
    if r.abs() * 2 >= d.abs() {
        if (n < 0) ^ (d < 0) {
            q - 1
        } else {
            q + 1
        }
    } else {
        q
    }
}

fn clamp_i64(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::world::{Destination, Disposition, When};

    #[test]
    fn users_are_found_by_name_and_names_spread_over_the_index() {
        let names: Vec<String> = (0..1000)
            .map(|i| format!("user{i}"))
            .chain(
                [
                    "",
                    "a",
                    "admin",
                    "exactly8",
                    "nine_char",
                    "é-sixteen-bytes",
                    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
                ]
                .map(String::from),
            )
            .collect();
        let users = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let mut u = crate::generate::admin();
                u.id = i as u64 + 1;
                u.username = n.clone();
                u
            })
            .collect();
        let w = World::new(WorldData {
            users,
            ..WorldData::default()
        });
        for n in &names {
            assert_eq!(w.user_by_name(n).map(|u| &u.username), Some(n));
        }
        for missing in ["user", "user1000", "admin\0", "exactly8x", "Admin"] {
            assert!(w.user_by_name(missing).is_none(), "{missing}");
        }
        // The low bits the table indexes with differ from name to name (a hash whose low bits
        // barely change would put sequential names in a few buckets).
        let low: std::collections::HashSet<u64> = names
            .iter()
            .map(|n| std::hash::BuildHasher::hash_one(&rustc_hash::FxBuildHasher, n) & 1023)
            .collect();
        assert!(low.len() > 550, "{}", low.len());
    }

    fn call(id: u64, when: &str, dst: &str) -> Call {
        Call {
            id,
            calldate: When::parse(when).expect("test data is valid"),
            src: String::new(),
            clid: String::new(),
            dst: dst.into(),
            prefix: String::new(),
            user_id: 1,
            device_id: 0,
            provider_id: 0,
            tp_device_id: 0,
            reseller_id: 0,
            disposition: Disposition::Answered,
            hangupcause: 16,
            billsec: 1,
            real_billsec: None,
            duration: 1,
            user_rate: Money::ZERO,
            user_price: Money::ZERO,
            provider_rate: Money::ZERO,
            provider_price: Money::ZERO,
            reseller_rate: Money::ZERO,
            reseller_price: Money::ZERO,
            did: String::new(),
            did_price: Money::ZERO,
            did_inc_price: Money::ZERO,
            did_prov_price: Money::ZERO,
            server_id: 1,
        }
    }

    #[test]
    fn running_totals_equal_a_pass_over_every_range() {
        // 100 calls over 50 hours, every third unanswered, prices and seconds varied: the
        // totals of every range (whole blocks, partial blocks, empty) equal a plain pass.
        let calls: Vec<Call> = (0..100u64)
            .map(|i| {
                let mut c = call(
                    i,
                    &format!("today-3 {:02}:{:02}:00", i / 4 % 24, i % 60),
                    "370",
                );
                c.billsec = (i * 7 % 90) as u32;
                c.user_price = Money(i as i64 * 1_000 + 17);
                c.provider_price = Money(i as i64 * 700 + 3);
                if i % 3 == 0 {
                    c.disposition = Disposition::NoAnswer;
                }
                c
            })
            .collect();
        let w = World::build(
            WorldData {
                calls: calls.into(),
                ..WorldData::default()
            },
            0,
        );
        let n = w.data.calls.len();
        for a in 0..=n {
            for b in a..=n {
                let mut want = AnsweredTotals::default();
                for f in &w.call_facts()[a..b] {
                    want.add(f);
                }
                assert_eq!(w.answered_totals(a..b), want, "{a}..{b}");
            }
        }
    }

    #[test]
    fn calls_are_sorted_by_resolved_time_and_periods_are_slices() {
        let data = WorldData {
            destinations: vec![
                Destination {
                    prefix: "370".into(),
                    name: "Lithuania".into(),
                    group: "LT".into(),
                    group_type: "FIX".into(),
                    direction: "Lithuania".into(),
                },
                Destination {
                    prefix: "3706".into(),
                    name: "Lithuania mobile".into(),
                    group: "LT MOB".into(),
                    group_type: "MOB".into(),
                    direction: "Lithuania".into(),
                },
            ],
            calls: vec![
                call(1, "today 10:00:00", "37061234"),
                call(2, "today-1 10:00:00", "3705123"),
                call(3, "today 09:00:00", "999"),
            ]
            .into(),
            ..WorldData::default()
        };
        let w = World::build(data, 86_400 * 100);
        let ids: Vec<u64> = w.data.calls.iter().map(|c| c.id).collect();
        assert_eq!(ids, [2, 3, 1]);
        assert_eq!(w.calls_between(86_400 * 100, 86_400 * 101 - 1), 1..3);
        assert_eq!(w.calls_between(5, 4), 0..0);
        assert_eq!(w.calls_between(86_400 * 101, 86_400 * 100), 3..3);
        assert_eq!(w.first_call_from(86_400 * 100), 1);
        // A call starting at either end of a period is in it.
        let nine = 86_400 * 100 + 9 * 3_600;
        assert_eq!(w.first_call_from(nine), 1);
        assert_eq!(w.calls_between(nine, nine), 1..2);
        assert_eq!(w.first_call_from(i64::MIN), 0);
        assert_eq!(w.first_call_from(i64::MAX), w.data.calls.len());
        assert_eq!(w.call_dests()[0], 0);
        assert_eq!(w.call_dests()[1], NO_DEST);
        assert_eq!(w.call_dests()[2], 1);
        assert_eq!(
            w.destination_of("370612").map(|d| d.group.as_str()),
            Some("LT MOB")
        );
    }

    #[test]
    fn money_conversion_is_exact_and_never_panics() {
        let r: Money = "0.5".parse().expect("test data is valid");
        assert_eq!(to_currency(Money::units(10), r), Money::units(5));
        assert_eq!(from_currency(Money::units(5), r), Money::units(10));
        assert_eq!(div_money(Money::units(1), Money::ZERO), Money::ZERO);
        let _ = mul_money(Money(i64::MAX), Money(i64::MAX));
        let _ = div_money(Money(i64::MIN), Money(-1));
    }
}
