//! aggregate_get (index: aggregates_get): call statistics grouped by originator, terminator,
//! destination and more. Pages: M2 API aggregate_get (Jul 2017), MOR API aggregate_get (X18).
//!
//! One pass over the period's calls (a binary-searched slice of the time-sorted calls) into a
//! hash map keyed by the group tuple, so a million calls aggregate in tens of milliseconds.
//!
//! Decisions where the pages are silent (all INF, element names UNK):
//! - grouping: M4 `group_by_originator|op|terminator|tp|dst_group|dst`, MOR
//!   `group_by_user|device|terminator|provider|dst_group|dst|day|hour|user_rate|provider_rate`;
//!   none set = originator (MOR user) + terminator + destination group. A row shows only its
//!   grouped columns, in catalogue order, then the figures. Rows are ordered by the group ids.
//!   The MOR terminator of a call is its provider (the world has no separate terminators).
//! - `originator_price`: what the originator pays the admin (the user price; for a reseller's
//!   user the reseller price), or the user price with `from_user_perspective=1`; for a reseller
//!   caller, his users' prices. `terminator_price`: the provider price (a reseller: his price).
//! - `originator_billed_time`: billsec (`real_billsec` with `use_real_billsec=1`);
//!   `terminator_billed_time`: the real billsec; `duration`: the calls' whole durations.
//! - `acd`: originator billed seconds per answered call, rounded; `asr`: answered / total
//!   calls in percent with two decimals. Totals are the sums of the rows shown (after
//!   `answered_calls`), ACD and ASR recomputed from them.
//! - `a_currency` converts every price (unknown codes: the default currency); `a_src`, `a_dst`,
//!   `dst_group`, `clid` match like SQL LIKE, `%` a wildcard, case-insensitive; MOR
//!   `s_duration` keeps calls lasting at least that many seconds; `profit_show=1` (MOR) adds
//!   `profit` = originator price - terminator price.

use std::collections::HashSet;

use model::catalogue::{Declaration, Product, Role, Wrapper};
use model::world::{format_date, Money};
use model::xml::PrettyWriter;

use super::{nice_name, parse_id, ruby_to_i, Ctx, Reply};
use crate::defect::Defect;
use crate::world::{mul_money, CallCell, CallFacts, TextColumn, World, NO_DEST};

/// The grouping columns, as flags.
#[derive(Debug, Clone, Copy, Default)]
struct Groups {
    user: bool,
    device: bool,
    terminator: bool,
    provider: bool,
    tp: bool,
    dst_group: bool,
    dst: bool,
    day: bool,
    hour: bool,
    user_rate: bool,
    provider_rate: bool,
}

/// One group's identity; unused columns stay zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
struct Key {
    user: u64,
    device: u64,
    terminator: u64,
    provider: u64,
    tp: u64,
    dst_group: u32,
    dst: u32,
    day: i64,
    hour: i64,
    user_rate: i64,
    provider_rate: i64,
}

/// One group's sums (prices in the default currency).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Acc {
    orig_price: i64,
    orig_billed: u64,
    term_price: i64,
    term_billed: u64,
    duration: u64,
    answered: u64,
    total: u64,
}

/// The sums of some calls of one cell, in every variant a request may ask for (prices exact,
/// in i128).
#[derive(Debug, Clone, Copy, Default)]
struct CellSums {
    total: u64,
    duration: u64,
    answered: u64,
    /// Billed seconds (`billsec` or, with `use_real_billsec=1`, `real_billsec`).
    billed: u64,
    real_billed: u64,
    user_price: i128,
    reseller_price: i128,
    provider_price: i128,
}

impl CellSums {
    fn add(&mut self, c: &CallFacts, real: bool) {
        self.total += 1;
        self.duration += u64::from(c.duration);
        if c.answered {
            self.answered += 1;
            self.billed += u64::from(if real { c.real_billsec } else { c.billsec });
            self.real_billed += u64::from(c.real_billsec);
            self.user_price += i128::from(c.user_price);
            self.reseller_price += i128::from(c.reseller_price);
            self.provider_price += i128::from(c.provider_price);
        }
    }

    /// Add these sums to a group: the originator pays the user price (his own view, or no
    /// reseller between), else the reseller price; the terminator price is the provider's (a
    /// reseller caller: his own price). Prices saturate at the i64 bounds.
    fn add_to_group(&self, a: &mut Acc, cell: &CallCell, user_view: bool, reseller: bool) {
        let clamp = |v: i128| v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        a.total += self.total;
        a.duration += self.duration;
        a.answered += self.answered;
        a.orig_billed += self.billed;
        a.term_billed += self.real_billed;
        let orig = if user_view || cell.reseller_id == 0 {
            self.user_price
        } else {
            self.reseller_price
        };
        let term = if reseller {
            self.reseller_price
        } else {
            self.provider_price
        };
        a.orig_price = a.orig_price.saturating_add(clamp(orig));
        a.term_price = a.term_price.saturating_add(clamp(term));
    }
}

type FxMap<K, V> = rustc_hash::FxHashMap<K, V>;

/// A LIKE pattern with `%` wildcards, ASCII case-insensitive. The commonest filters (a
/// number's first digits, a whole value) get their own cases: aggregate_get tests one per call.
enum Like {
    /// No wildcard: the whole text.
    Exact(Vec<u8>),
    /// `text%`: a prefix.
    Prefix(Vec<u8>),
    /// `text%` where the text has no ASCII letter (digits, mostly): bytes compared as they are.
    CaselessPrefix(Vec<u8>),
    /// Any other pattern: the literal parts between its wildcards (at least two).
    Parts(Vec<Vec<u8>>),
}

impl Like {
    fn new(p: &str) -> Like {
        let parts: Vec<Vec<u8>> = p.split('%').map(|s| s.as_bytes().to_vec()).collect();
        match parts.as_slice() {
            [whole] => Like::Exact(whole.clone()),
            [first, last] if last.is_empty() => {
                if first.iter().any(u8::is_ascii_alphabetic) {
                    Like::Prefix(first.clone())
                } else {
                    Like::CaselessPrefix(first.clone())
                }
            }
            _ => Like::Parts(parts),
        }
    }

    #[inline]
    fn matches(&self, s: &[u8]) -> bool {
        let parts = match self {
            Like::Exact(whole) => return s.eq_ignore_ascii_case(whole),
            Like::Prefix(p) => {
                return s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p);
            }
            Like::CaselessPrefix(p) => return s.starts_with(p),
            Like::Parts(parts) => parts,
        };
        let (first, last) = (&parts[0], &parts[parts.len() - 1]);
        if s.len() < first.len() + last.len()
            || !s[..first.len()].eq_ignore_ascii_case(first)
            || !s[s.len() - last.len()..].eq_ignore_ascii_case(last)
        {
            return false;
        }
        let mut rest = &s[first.len()..s.len() - last.len()];
        for m in &parts[1..parts.len() - 1] {
            if m.is_empty() {
                continue;
            }
            match rest
                .windows(m.len())
                .position(|w| w.eq_ignore_ascii_case(m))
            {
                Some(i) => rest = &rest[i + m.len()..],
                None => return false,
            }
        }
        true
    }
}

/// Call filters.
#[derive(Default)]
struct Filters {
    user: Option<u64>,
    terminator: Option<u64>,
    device: Option<u64>,
    tp: Option<u64>,
    provider: Option<u64>,
    src: Option<Like>,
    dst: Option<Like>,
    /// Per destination group id whether `dst_group` matches it, and whether a call without a
    /// destination (group "") matches.
    group_ok: Option<(Vec<bool>, bool)>,
    clid: Option<Like>,
    min_duration: Option<u32>,
    /// Users the caller may see (None: every user).
    visible: Option<HashSet<u64>>,
}

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    answer(ctx, world, None)
}

/// The answer, as broken by an aggregate defect when one is given (see `defect`).
pub(crate) fn answer(ctx: &Ctx<'_>, world: &World, defect: Option<Defect>) -> Reply {
    let (f, g, grouped, real, user_view, reseller, range) = match read_request(ctx, world, defect) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let scan = Scan {
        f: &f,
        g,
        real,
        user_view,
        reseller,
    };
    let per_call = g.day || g.hour || g.user_rate || g.provider_rate;
    let map = scan.groups(world, range, per_call);
    rows_answer(ctx, world, defect, g, grouped, map)
}

/// What a request asks: filters, grouping (and how many columns it named), billed seconds,
/// price views, the calls' range; or its error.
#[allow(clippy::type_complexity)]
fn read_request(
    ctx: &Ctx<'_>,
    world: &World,
    defect: Option<Defect>,
) -> Result<
    (
        Filters,
        Groups,
        usize,
        bool,
        bool,
        bool,
        std::ops::Range<usize>,
    ),
    Reply,
> {
    let mor = ctx.product == Product::Mor;
    let f = filters(ctx, world)?;
    let mut g = Groups::default();
    if mor {
        g.user = ctx.flag("group_by_user");
        g.device = ctx.flag("group_by_device");
        g.terminator = ctx.flag("group_by_terminator");
        g.provider = ctx.flag("group_by_provider");
        g.day = ctx.flag("group_by_day");
        g.hour = ctx.flag("group_by_hour");
        g.user_rate = ctx.flag("group_by_user_rate");
        g.provider_rate = ctx.flag("group_by_provider_rate");
    } else {
        g.user = ctx.flag("group_by_originator");
        g.device = ctx.flag("group_by_op");
        g.terminator = ctx.flag("group_by_terminator");
        g.tp = ctx.flag("group_by_tp");
    }
    g.dst_group = ctx.flag("group_by_dst_group");
    g.dst = ctx.flag("group_by_dst");
    let grouped = [
        g.user,
        g.device,
        g.terminator,
        g.provider,
        g.tp,
        g.dst_group,
        g.dst,
        g.day,
        g.hour,
        g.user_rate,
        g.provider_rate,
    ]
    .iter()
    .filter(|&&on| on)
    .count();
    if grouped == 0 {
        g.user = true;
        g.terminator = true;
        g.dst_group = true;
    }
    let from = ctx.time_param("from", ctx.today.0);
    let till = ctx.time_param("till", ctx.today.1);
    let real = ctx.flag("use_real_billsec");
    let reseller = ctx.caller.is_some_and(|c| c.role.is_reseller());
    let user_view = ctx.flag("from_user_perspective") || reseller;
    let range = if defect == Some(Defect::AggregatePeriodIgnored) {
        world.calls_between(i64::MIN, i64::MAX)
    } else {
        world.calls_between(from, till)
    };
    Ok((f, g, grouped, real, user_view, reseller, range))
}

/// The answer of the groups' sums.
fn rows_answer(
    ctx: &Ctx<'_>,
    world: &World,
    defect: Option<Defect>,
    g: Groups,
    grouped: usize,
    map: FxMap<Key, Acc>,
) -> Reply {
    let mor = ctx.product == Product::Mor;
    let min_answered = ctx
        .arg("answered_calls")
        .map(|v| ruby_to_i(v).max(0) as u64);
    let mut rows: Vec<(Key, Acc)> = map
        .into_iter()
        .filter(|(_, a)| min_answered.is_none_or(|m| a.answered >= m))
        .collect();
    rows.sort_unstable_by_key(|(k, _)| *k);
    // The default grouping is three columns (originator or user, terminator, group).
    if defect == Some(Defect::AggregateFinerLosesRow) && grouped > 3 {
        rows.pop();
    }
    if rows.is_empty() {
        return ctx.error("No data found", Wrapper::Page);
    }
    let default = ctx.settings.default_currency.as_str();
    let code = ctx
        .param_or_default("a_currency")
        .unwrap_or_else(|| default.to_string());
    let rate = world.rate_of(&code, default).unwrap_or(Money::units(1));
    let profit = mor && ctx.flag("profit_show");
    let floor = defect == Some(Defect::AggregateMarginFloor);
    let mut totals = Acc::default();
    // Written straight into the answer's text (no element tree).
    let mut w = PrettyWriter::new(Declaration::Utf8, 512 + rows.len() * 640);
    w.open("page");
    w.open("aggregates");
    let last = rows.len().saturating_sub(1);
    for (i, (k, a)) in rows.iter().enumerate() {
        let a = Acc {
            orig_price: mul_money(Money(a.orig_price), rate).0,
            term_price: mul_money(Money(a.term_price), rate).0,
            ..*a
        };
        w.open("aggregate");
        columns(&mut w, ctx.product, world, &g, k);
        figures(&mut w, &a, profit, floor);
        w.close();
        if i == last && defect == Some(Defect::AggregateTotalsNotSum) {
            continue;
        }
        totals.orig_price = totals.orig_price.saturating_add(a.orig_price);
        totals.term_price = totals.term_price.saturating_add(a.term_price);
        totals.orig_billed += a.orig_billed;
        totals.term_billed += a.term_billed;
        totals.duration += a.duration;
        totals.answered += a.answered;
        totals.total += a.total;
    }
    w.close();
    w.open("totals");
    figures(&mut w, &totals, profit, floor);
    w.close();
    Reply::Rendered(w.finish())
}

/// What one request sums: its filters, grouping and price views.
#[derive(Clone, Copy)]
struct Scan<'f> {
    f: &'f Filters,
    g: Groups,
    real: bool,
    user_view: bool,
    reseller: bool,
}

impl Scan<'_> {
    /// The sums per group of the calls in `range`. `per_call`: each call keyed on its own (a
    /// grouping by time or rate needs it; any grouping may use it), else the calls summed per
    /// cell first, then the cells grouped.
    fn groups(
        &self,
        world: &World,
        range: std::ops::Range<usize>,
        per_call: bool,
    ) -> FxMap<Key, Acc> {
        let start = range.start;
        let facts = &world.call_facts()[range.clone()];
        let cells = world.call_cells();
        let Scan {
            f,
            g,
            real,
            user_view,
            reseller,
        } = *self;
        // The filters on who and where, decided once per cell instead of once per call.
        let keep_cell: Vec<bool> = cells.iter().map(|c| f.keeps_cell(c, world)).collect();
        // Without a filter on the calls themselves, a kept cell keeps every call.
        let call_filter = f.on_calls(world);
        let key_of = |cell: &CallCell, t: i64, c: &CallFacts| {
            let group = world.dest_group_id(cell.dest).unwrap_or(u32::MAX);
            Key {
                user: if g.user { cell.user_id } else { 0 },
                device: if g.device { cell.device_id } else { 0 },
                terminator: if g.terminator { cell.provider_id } else { 0 },
                provider: if g.provider { cell.provider_id } else { 0 },
                tp: if g.tp { cell.tp_device_id } else { 0 },
                dst_group: if g.dst_group { group } else { 0 },
                dst: if g.dst { cell.dest } else { 0 },
                day: if g.day { t.div_euclid(86_400) } else { 0 },
                hour: if g.hour {
                    t.rem_euclid(86_400) / 3600
                } else {
                    0
                },
                user_rate: if g.user_rate { c.user_rate } else { 0 },
                provider_rate: if g.provider_rate { c.provider_rate } else { 0 },
            }
        };
        let mut map: FxMap<Key, Acc> = FxMap::default();
        if per_call {
            // A group by time or rate: each call's own key.
            let times = &world.call_times()[range];
            for (i, (c, &t)) in facts.iter().zip(times).enumerate() {
                let Some(cell) = cells.get(c.cell as usize) else {
                    continue;
                };
                if !keep_cell[c.cell as usize]
                    || call_filter
                        .as_ref()
                        .is_some_and(|cf| !cf.keeps(c, start + i))
                {
                    continue;
                }
                let a = map.entry(key_of(cell, t, c)).or_default();
                a.total += 1;
                a.duration += u64::from(c.duration);
                if c.answered {
                    a.answered += 1;
                    a.orig_billed += u64::from(if real { c.real_billsec } else { c.billsec });
                    a.term_billed += u64::from(c.real_billsec);
                    let orig = if user_view || cell.reseller_id == 0 {
                        c.user_price
                    } else {
                        c.reseller_price
                    };
                    let term = if reseller {
                        c.reseller_price
                    } else {
                        c.provider_price
                    };
                    a.orig_price = a.orig_price.saturating_add(orig);
                    a.term_price = a.term_price.saturating_add(term);
                }
            }
        } else {
            // Every grouping column is one of the cell's: the calls are summed per cell (an array
            // indexed by the cell, no hashing per call), then the cells per group.
            let mut sums = vec![CellSums::default(); cells.len()];
            for (i, c) in facts.iter().enumerate() {
                let k = c.cell as usize;
                if !keep_cell[k]
                    || call_filter
                        .as_ref()
                        .is_some_and(|cf| !cf.keeps(c, start + i))
                {
                    continue;
                }
                sums[k].add(c, real);
            }
            let no_call = CallFacts::default();
            for (cell, s) in cells.iter().zip(&sums) {
                if s.total == 0 {
                    continue;
                }
                let a = map.entry(key_of(cell, 0, &no_call)).or_default();
                s.add_to_group(a, cell, user_view, reseller);
            }
        }
        map
    }
}

impl Filters {
    /// Whether the calls of this cell pass the filters on who and where.
    fn keeps_cell(&self, c: &CallCell, world: &World) -> bool {
        if self.user.is_some_and(|u| u != c.user_id)
            || self.terminator.is_some_and(|t| t != c.provider_id)
            || self.provider.is_some_and(|t| t != c.provider_id)
            || self.device.is_some_and(|d| d != c.device_id)
            || self.tp.is_some_and(|d| d != c.tp_device_id)
        {
            return false;
        }
        if let Some(v) = &self.visible {
            if !v.contains(&c.user_id) {
                return false;
            }
        }
        if let Some((ok, no_group)) = &self.group_ok {
            let keep = world
                .dest_group_id(c.dest)
                .and_then(|g| ok.get(g as usize).copied())
                .unwrap_or(*no_group);
            if !keep {
                return false;
            }
        }
        true
    }

    /// The filters on the calls themselves, each with the column it reads; `None` when there
    /// is none (a kept cell then keeps every call).
    fn on_calls<'a>(&'a self, world: &'a World) -> Option<CallFilter<'a>> {
        let (src, dst, clid) = world.call_texts();
        let texts: Vec<(&Like, &TextColumn)> =
            [(&self.src, src), (&self.dst, dst), (&self.clid, clid)]
                .into_iter()
                .filter_map(|(like, column)| like.as_ref().map(|l| (l, column)))
                .collect();
        (self.min_duration.is_some() || !texts.is_empty()).then_some(CallFilter {
            min_duration: self.min_duration.unwrap_or(0),
            texts,
        })
    }
}

/// The filters on a call itself (see [`Filters::on_calls`]).
struct CallFilter<'a> {
    /// Calls shorter than this are left out (0: none).
    min_duration: u32,
    /// The LIKE patterns and the text columns they match.
    texts: Vec<(&'a Like, &'a TextColumn)>,
}

impl CallFilter<'_> {
    /// Whether call `index` (of a kept cell) passes.
    #[inline]
    fn keeps(&self, c: &CallFacts, index: usize) -> bool {
        c.duration >= self.min_duration
            && self
                .texts
                .iter()
                .all(|(like, column)| like.matches(column.get(index)))
    }
}

fn filters(ctx: &Ctx<'_>, world: &World) -> Result<Filters, Reply> {
    let mor = ctx.product == Product::Mor;
    let id =
        |name: &str, exists: &dyn Fn(u64) -> bool, error: &str| -> Result<Option<u64>, Reply> {
            match ctx.arg(name) {
                None => Ok(None),
                Some(v) => match parse_id(v).filter(|&i| exists(i)) {
                    Some(i) => Ok(Some(i)),
                    None => Err(ctx.error(error, Wrapper::Page)),
                },
            }
        };
    let device_exists = |i: u64| world.device(i).is_some();
    let provider_exists = |i: u64| world.provider(i).is_some();
    let mut f = Filters {
        user: id(
            "s_originator_id",
            &|i| world.user(i).is_some(),
            "User was not found",
        )?,
        terminator: id(
            "s_terminator_id",
            &provider_exists,
            "Terminator was not found",
        )?,
        ..Filters::default()
    };
    if mor {
        f.device = id("s_device", &device_exists, "Device was not found")?;
        f.provider = id("s_provider", &provider_exists, "Provider was not found")?;
        f.clid = ctx.arg("clid").map(Like::new);
        f.min_duration = ctx
            .arg("s_duration")
            .map(|v| ruby_to_i(v).clamp(0, i64::from(u32::MAX)) as u32);
    } else {
        f.device = id("s_op_device", &device_exists, "Device was not found")?;
        f.tp = id("s_tp_device", &device_exists, "Device was not found")?;
    }
    f.src = ctx.arg("a_src").map(Like::new);
    f.dst = ctx.arg("a_dst").map(Like::new);
    f.group_ok = ctx.arg("dst_group").map(Like::new).map(|l| {
        let ok = world
            .groups()
            .iter()
            .map(|g| l.matches(g.as_bytes()))
            .collect();
        (ok, l.matches(b""))
    });
    f.visible = match ctx.caller.map(|c| (c.role, c.id)) {
        Some((Role::Admin | Role::Accountant, _)) | None => None,
        Some((Role::Manager, _)) => Some(users_where(world, |u| u.owner_id == 0)),
        Some((_, id)) => Some(users_where(world, |u| u.owner_id == id || u.id == id)),
    };
    Ok(f)
}

fn users_where(world: &World, keep: impl Fn(&model::world::User) -> bool) -> HashSet<u64> {
    world
        .data
        .users
        .iter()
        .filter(|u| keep(u))
        .map(|u| u.id)
        .collect()
}

fn columns(row: &mut PrettyWriter<'_>, product: Product, world: &World, g: &Groups, k: &Key) {
    let user = || world.user(k.user).map_or(String::new(), nice_name);
    let device = |id: u64| world.device(id).map_or("", |d| d.name.as_str());
    let prov = |id: u64| world.provider(id).map_or("", |p| p.name.as_str());
    match product {
        Product::M4 => {
            if g.user {
                row.leaf("originator", user());
                row.leaf_plain("originator_id", k.user);
            }
            if g.device {
                row.leaf("origination_point", device(k.device));
            }
            if g.terminator {
                row.leaf("terminator", prov(k.terminator));
                row.leaf_plain("terminator_id", k.terminator);
            }
            if g.tp {
                row.leaf("termination_point", device(k.tp));
            }
        }
        Product::Mor => {
            if g.user {
                row.leaf("user", user());
                row.leaf_plain("user_id", k.user);
            }
            if g.device {
                row.leaf("device", device(k.device));
                row.leaf_plain("device_id", k.device);
            }
            if g.terminator {
                row.leaf("terminator", prov(k.terminator));
                row.leaf_plain("terminator_id", k.terminator);
            }
            if g.provider {
                row.leaf("provider", prov(k.provider));
                row.leaf_plain("provider_id", k.provider);
            }
        }
    }
    if g.dst_group {
        row.leaf(
            "dst_group",
            world
                .groups()
                .get(k.dst_group as usize)
                .map_or("", String::as_str),
        );
    }
    if g.dst {
        let dst = if k.dst == NO_DEST {
            ""
        } else {
            world
                .data
                .destinations
                .get(k.dst as usize)
                .map_or("", |d| d.prefix.as_str())
        };
        row.leaf("dst", dst);
    }
    if g.day {
        row.leaf("day", format_date(k.day * 86_400));
    }
    if g.hour {
        row.leaf_plain("hour", k.hour);
    }
    if g.user_rate {
        row.leaf_plain("user_rate", Money(k.user_rate));
    }
    if g.provider_rate {
        row.leaf_plain("provider_rate", Money(k.provider_rate));
    }
}

/// The figures of a row or the totals; `floor` (defect `aggregate_margin_floor`) rounds ACD and
/// ASR down.
fn figures(e: &mut PrettyWriter<'_>, a: &Acc, profit: bool, floor: bool) {
    e.leaf_plain("originator_price", Money(a.orig_price));
    e.leaf_plain("originator_billed_time", a.orig_billed);
    e.leaf_plain("terminator_price", Money(a.term_price));
    e.leaf_plain("terminator_billed_time", a.term_billed);
    e.leaf_plain("duration", a.duration);
    e.leaf_plain("answered_calls", a.answered);
    e.leaf_plain("total_calls", a.total);
    let half = if floor { 0 } else { a.answered / 2 };
    let acd = (a.orig_billed + half).checked_div(a.answered).unwrap_or(0);
    e.leaf_plain("acd", acd);
    let asr = if a.total == 0 {
        Money::ZERO
    } else {
        // Percent with two decimals, rounded half up, exact in fixed point.
        let half = if floor { 0 } else { u128::from(a.total) };
        let hundredths = (u128::from(a.answered) * 10_000 * 2 + half) / (2 * u128::from(a.total));
        Money(i64::try_from(hundredths).unwrap_or(0) * 10_000)
    };
    e.leaf_plain("asr", asr);
    if profit {
        e.leaf_plain("profit", Money(a.orig_price) - Money(a.term_price));
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::Reply;
    use super::Like;
    use model::catalogue::{Product, Wrapper};
    use model::world::Money;

    const M: &str = "aggregate_get";

    fn month() -> i64 {
        model::world::month_start(today())
    }

    fn rows(r: &Reply) -> Vec<&model::xml::Element> {
        root(r)
            .at("aggregates")
            .expect("test data is valid")
            .elements()
            .collect()
    }

    fn num(e: &model::xml::Element, name: &str) -> Money {
        e.find(name)
            .expect("test data is valid")
            .text_content()
            .parse()
            .expect("test data is valid")
    }

    fn assert_totals_are_sums(r: &Reply) {
        let tot = root(r).at("totals").expect("test data is valid");
        for name in [
            "originator_price",
            "terminator_price",
            "originator_billed_time",
            "terminator_billed_time",
            "duration",
            "answered_calls",
            "total_calls",
        ] {
            let sum: Money = rows(r).iter().map(|e| num(e, name)).sum();
            assert_eq!(sum, num(tot, name), "{name}");
        }
    }

    #[test]
    fn groups_by_originator_terminator_and_group_by_default() {
        for p in Product::ALL {
            let mut w = world(p);
            let r = req(p, M, "admin").run(&mut w);
            assert_shape(p, M, &r);
            let first = rows(&r)[0];
            let names: Vec<&str> = first.elements().map(|e| e.name.as_str()).collect();
            let lead = if p == Product::M4 {
                "originator"
            } else {
                "user"
            };
            assert_eq!(
                &names[..5],
                [
                    lead,
                    &format!("{lead}_id"),
                    "terminator",
                    "terminator_id",
                    "dst_group"
                ]
            );
            assert_totals_are_sums(&r);
            let tot = root(&r).at("totals").expect("test data is valid");
            let all = req(p, "user_calls_get", "admin")
                .p("s_user", "all")
                .run(&mut w);
            assert_eq!(
                num(tot, "total_calls").to_string(),
                format!("{}.0", text(&all, "total_calls"))
            );
        }
    }

    #[test]
    fn every_grouping_keeps_the_totals() {
        let mut w = world(Product::Mor);
        let base = req(Product::Mor, M, "admin").p("from", month()).run(&mut w);
        let total = text(&base, "totals/total_calls");
        let m = model::Catalogue::embedded()
            .method(Product::Mor, M)
            .expect("test data is valid");
        for p in m.params.iter().filter(|p| p.name.starts_with("group_by_")) {
            let r = req(Product::Mor, M, "admin")
                .p("from", month())
                .p(&p.name, 1)
                .run(&mut w);
            assert_shape(Product::Mor, M, &r);
            assert_eq!(text(&r, "totals/total_calls"), total, "{}", p.name);
            assert_totals_are_sums(&r);
        }
        let mut w = world(Product::M4);
        for g in [
            "group_by_op",
            "group_by_tp",
            "group_by_dst",
            "group_by_originator",
        ] {
            let r = req(Product::M4, M, "admin")
                .p("from", month())
                .p(g, 1)
                .run(&mut w);
            assert_shape(Product::M4, M, &r);
            assert_totals_are_sums(&r);
        }
    }

    #[test]
    fn filters_narrow_and_unknown_ids_are_errors() {
        let mut w = world(Product::M4);
        let q = |k: &str, v: &str| req(Product::M4, M, "admin").p("from", month()).p(k, v);
        let all: i64 = text(&q("x", "1").run(&mut w), "totals/total_calls")
            .parse()
            .expect("test data is valid");
        for (k, v) in [
            ("s_originator_id", "1"),
            ("s_terminator_id", "2"),
            ("s_op_device", "1"),
            ("s_tp_device", "101"),
            ("a_dst", "3706%"),
            ("a_src", "%1002%"),
            ("dst_group", "%Mobile"),
        ] {
            let r = q(k, v).run(&mut w);
            let n: i64 = text(&r, "totals/total_calls")
                .parse()
                .expect("test data is valid");
            assert!(n > 0 && n < all, "{k}={v}: {n} of {all}");
            assert_totals_are_sums(&r);
        }
        for (k, e) in [
            ("s_originator_id", "User was not found"),
            ("s_terminator_id", "Terminator was not found"),
            ("s_op_device", "Device was not found"),
            ("s_tp_device", "Device was not found"),
        ] {
            assert_eq!(err(&q(k, "9999").run(&mut w)), (e, Wrapper::Page));
        }
        let r = q("a_dst", "nothing").run(&mut w);
        assert_eq!(err(&r), ("No data found", Wrapper::Page));
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "admin")
            .p("s_provider", "77")
            .run(&mut w);
        assert_eq!(err(&r).0, "Provider was not found");
        let r = req(Product::Mor, M, "admin")
            .p("from", month())
            .p("s_duration", "300")
            .p("clid", "3706%")
            .run(&mut w);
        assert_totals_are_sums(&r);
    }

    #[test]
    fn answered_calls_real_billsec_currency_and_profit() {
        let mut w = world(Product::Mor);
        let q = || req(Product::Mor, M, "admin").p("from", month());
        let r = q().p("answered_calls", 3).run(&mut w);
        for row in rows(&r) {
            assert!(num(row, "answered_calls") >= Money::units(3));
        }
        assert_totals_are_sums(&r);
        let billed = text(&q().run(&mut w), "totals/originator_billed_time");
        let real = text(
            &q().p("use_real_billsec", 1).run(&mut w),
            "totals/originator_billed_time",
        );
        assert!(
            real.parse::<i64>().expect("test data is valid")
                <= billed.parse::<i64>().expect("test data is valid")
        );
        let usd = num(
            root(&q().run(&mut w))
                .at("totals")
                .expect("test data is valid"),
            "originator_price",
        );
        let eur_r = q().p("a_currency", "EUR").run(&mut w);
        let eur = num(
            root(&eur_r).at("totals").expect("test data is valid"),
            "originator_price",
        );
        assert!((eur.to_f64() - usd.to_f64() * 0.92).abs() < 0.001 * rows(&eur_r).len() as f64);
        let user_view = num(
            root(&q().p("from_user_perspective", 1).run(&mut w))
                .at("totals")
                .expect("test data is valid"),
            "originator_price",
        );
        assert!(
            user_view > usd,
            "resold users pay more than their resellers"
        );
        let r = q().p("profit_show", 1).run(&mut w);
        assert_shape(Product::Mor, M, &r);
        let t = root(&r).at("totals").expect("test data is valid");
        assert_eq!(
            num(t, "originator_price") - num(t, "terminator_price"),
            num(t, "profit")
        );
    }

    #[test]
    fn acd_and_asr_follow_the_counts() {
        let mut w = world(Product::M4);
        let r = req(Product::M4, M, "admin").p("from", month()).run(&mut w);
        let t = root(&r).at("totals").expect("test data is valid");
        let ans = num(t, "answered_calls").to_f64();
        let tot = num(t, "total_calls").to_f64();
        assert!((num(t, "asr").to_f64() - ans / tot * 100.0).abs() < 0.006);
        let acd = num(t, "acd").to_f64();
        assert!((acd - num(t, "originator_billed_time").to_f64() / ans).abs() <= 0.5);
    }

    #[test]
    fn a_narrower_period_never_counts_more_calls() {
        let mut w = world(Product::M4);
        let wide: i64 = text(
            &req(Product::M4, M, "admin").p("from", month()).run(&mut w),
            "totals/total_calls",
        )
        .parse()
        .expect("test data is valid");
        let narrow: i64 = text(
            &req(Product::M4, M, "admin").run(&mut w),
            "totals/total_calls",
        )
        .parse()
        .expect("test data is valid");
        assert!(wide > narrow);
    }

    #[test]
    fn managers_see_admin_users_and_resellers_pro_their_own() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "reseller_pro")
            .p("from", month())
            .run(&mut w);
        for row in rows(&r) {
            assert_eq!(
                row.find("user_id")
                    .expect("test data is valid")
                    .text_content(),
                "9"
            );
        }
    }

    /// The per-cell sums (every grouping of who and where) against the per-call keys (the way
    /// a grouping by time or rate sums), on the default world and a generated one.
    #[test]
    fn summing_per_cell_gives_what_summing_per_call_gives() {
        use super::{read_request, FxMap, Scan};
        use crate::methods::Ctx;
        fn both_ways(q: &Req, w: &crate::world::World) -> [Vec<(super::Key, super::Acc)>; 2] {
            let m = model::Catalogue::embedded()
                .method(q.product, q.method)
                .expect("test data is valid");
            let caller = q.caller.as_deref().and_then(|c| w.user_by_name(c)).cloned();
            let ctx = Ctx {
                product: q.product,
                method: m,
                params: &q.params,
                caller: caller.as_ref(),
                settings: &q.settings,
                quirks: &q.quirks,
                now: NOW,
                today: (today(), today() + 86_399),
            };
            let (f, g, _, real, user_view, reseller, range) =
                read_request(&ctx, w, None).unwrap_or_else(|e| panic!("{e:?}"));
            let scan = Scan {
                f: &f,
                g,
                real,
                user_view,
                reseller,
            };
            let sorted = |m: FxMap<super::Key, super::Acc>| {
                let mut v: Vec<_> = m.into_iter().collect();
                v.sort_unstable_by_key(|(k, _)| *k);
                v
            };
            [false, true].map(|per_call| sorted(scan.groups(w, range.clone(), per_call)))
        }
        for p in Product::ALL {
            let generated = crate::world::World::build(
                crate::generate::generated_calls(p, 7, NOW, 20_000),
                today(),
            );
            for w in [world(p), generated] {
                let month = month();
                let mut cases = vec![
                    req(p, M, "admin"),
                    req(p, M, "admin").p("from", month),
                    req(p, M, "admin")
                        .p("from", month)
                        .p("from_user_perspective", 1),
                    req(p, M, "admin").p("from", month).p("use_real_billsec", 1),
                    req(p, M, "admin").p("from", month).p("a_dst", "3706%"),
                    req(p, M, "admin")
                        .p("from", month)
                        .p("dst_group", "%Mobile"),
                    req(p, M, "admin")
                        .p("from", month)
                        .p("group_by_dst", 1)
                        .p("group_by_terminator", 1),
                ];
                if p == Product::Mor {
                    cases.push(req(p, M, "admin").p("from", month).p("s_duration", 300));
                    cases.push(
                        req(p, M, "admin")
                            .p("from", month)
                            .p("group_by_device", 1)
                            .p("group_by_provider", 1),
                    );
                    if w.user_by_name("reseller_pro").is_some() {
                        cases.push(req(p, M, "reseller_pro").p("from", month));
                    }
                } else {
                    cases.push(
                        req(p, M, "admin")
                            .p("from", month)
                            .p("group_by_op", 1)
                            .p("group_by_tp", 1),
                    );
                }
                for q in &cases {
                    let [per_cell, per_call] = both_ways(q, &w);
                    assert!(!per_call.is_empty(), "{p} {:?}", q.params);
                    assert_eq!(per_cell, per_call, "{p} {:?}", q.params);
                }
            }
        }
    }

    #[test]
    fn like_patterns_use_percent_wildcards() {
        assert!(Like::new("3706%").matches("37061234".as_bytes()));
        assert!(!Like::new("3706%").matches("3705".as_bytes()));
        assert!(!Like::new("3706%").matches("370".as_bytes()));
        assert!(Like::new("iran%").matches("IRAN - Mobile".as_bytes()));
        assert!(!Like::new("iran%").matches("Ira".as_bytes()));
        assert!(Like::new("%mobile").matches("Iran - Mobile".as_bytes()));
        assert!(Like::new("a%b%c").matches("aXbYc".as_bytes()));
        assert!(!Like::new("a%b%c").matches("ac".as_bytes()));
        assert!(Like::new("%").matches("".as_bytes()));
        assert!(Like::new("exact").matches("EXACT".as_bytes()));
        assert!(!Like::new("ab%ba").matches("aba".as_bytes()));
    }
}
