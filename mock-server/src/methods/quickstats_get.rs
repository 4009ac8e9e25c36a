//! quickstats_get: today's (and on M4 this month's) call statistics and the active calls.
//! Page: M4 / MOR API quickstats_get.
//!
//! `calls` counts answered calls, `duration` sums their billsec, `revenue` the user prices,
//! `self_cost` the provider prices (for a reseller: what he pays the admin), `profit` their
//! difference and `margin` = round(profit / revenue * 100) (0 without revenue). The admin and
//! managers see every call; a reseller his users' calls; a simple user his own, in the chosen
//! simple-user view: `calls`, `duration`, `price` per period, then `balance`, and active calls
//! only when Show Active Calls for Users is on. MOR has no `<month>`.

use model::catalogue::{Declaration, Product, Role, Wrapper};
use model::tag;
use model::world::{Call, Disposition, Money, User};
use model::xml::PrettyWriter;

use super::{Ctx, Reply};
use crate::defect::Defect;
use crate::world::World;

/// Sums over a period.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Answered calls.
    pub calls: u64,
    /// Billed seconds.
    pub duration: u64,
    /// What users paid.
    pub revenue: Money,
    /// What it cost.
    pub self_cost: Money,
}

impl Stats {
    /// Revenue minus self cost.
    pub fn profit(&self) -> Money {
        self.revenue - self.self_cost
    }

    /// Profit share of revenue in whole percent.
    pub fn margin(&self) -> i64 {
        self.margin_with(f64::round)
    }

    /// The margin rounded by `round` (defect `quickstats_margin_floor` floors it).
    fn margin_with(&self, round: fn(f64) -> f64) -> i64 {
        if self.revenue.0 == 0 {
            return 0;
        }
        let m = round(self.profit().to_f64() / self.revenue.to_f64() * 100.0);
        if m.is_finite() {
            m as i64
        } else {
            0
        }
    }
}

/// Whether the caller sees this call.
pub fn visible(caller: Option<&User>, world: &World, c: &Call) -> bool {
    match caller.map(|u| (u.role, u.id)) {
        Some((Role::Admin | Role::Manager | Role::Accountant, _)) => true,
        Some((Role::Reseller | Role::ResellerPro, id)) => {
            c.reseller_id == id || c.user_id == id || world.is_owned_by(c.user_id, id)
        }
        Some((_, id)) => c.user_id == id,
        None => false,
    }
}

/// The statistics of the calls the caller sees in a range of call indexes (as from
/// [`World::calls_between`]).
pub fn stats(ctx: &Ctx<'_>, world: &World, range: std::ops::Range<usize>) -> Stats {
    if ctx
        .caller
        .is_some_and(|c| matches!(c.role, Role::Admin | Role::Manager | Role::Accountant))
    {
        // Every call is visible and costs its provider price: the world's running totals.
        let t = world.answered_totals(range);
        return Stats {
            calls: t.calls,
            duration: t.billsec,
            revenue: Money(t.user_price),
            self_cost: Money(t.provider_price),
        };
    }
    let reseller = ctx.caller.is_some_and(|c| c.role.is_reseller());
    let mut s = Stats::default();
    for c in &world.data.calls[range] {
        if c.disposition != Disposition::Answered || !visible(ctx.caller, world, c) {
            continue;
        }
        s.calls += 1;
        s.duration += u64::from(c.billsec);
        s.revenue += c.user_price;
        s.self_cost += if reseller {
            c.reseller_price
        } else {
            c.provider_price
        };
    }
    s
}

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    answer(ctx, world, None)
}

/// The answer, as broken by a quickstats defect when one is given (see `defect`).
pub(crate) fn answer(ctx: &Ctx<'_>, world: &World, defect: Option<Defect>) -> Reply {
    if !ctx.settings.elasticsearch_available {
        return ctx.error("Cannot connect to Elasticsearch", Wrapper::Status);
    }
    let simple = ctx.role() == Some(Role::User);
    let (today_start, today_end) = ctx.today;
    let today_calls = world.calls_between(today_start, today_end);
    let today = stats(ctx, world, today_calls.clone());
    let month = (ctx.product == Product::M4).then(|| {
        let from = if defect == Some(Defect::QuickstatsMonthCountsAll) {
            i64::MIN
        } else {
            model::world::month_start(today_start)
        };
        // The month ends where today does: one search less.
        let end = today_calls.end;
        stats(ctx, world, world.first_call_from(from).min(end)..end)
    });
    // Written straight into the answer's text (no element tree), every element with the tags
    // made for its depth at compile time: the hot path of the edge benchmark.
    let period = |w: &mut PrettyWriter<'_>, s: Stats| {
        w.leaf_plain_tag(tag!(3, "calls"), s.calls);
        w.leaf_plain_tag(tag!(3, "duration"), s.duration);
        if simple {
            w.leaf_plain_tag(tag!(3, "price"), s.revenue);
        } else {
            w.leaf_plain_tag(tag!(3, "revenue"), s.revenue);
            if defect != Some(Defect::QuickstatsElementMissing) {
                w.leaf_plain_tag(tag!(3, "self_cost"), s.self_cost);
            }
            if defect == Some(Defect::QuickstatsProfitIgnoresSelfCost) {
                w.leaf_plain_tag(tag!(3, "profit"), s.revenue);
            } else {
                w.leaf_plain_tag(tag!(3, "profit"), s.profit());
            }
            if defect == Some(Defect::QuickstatsMarginFloor) {
                w.leaf_plain_tag(tag!(3, "margin"), s.margin_with(f64::floor));
            } else {
                w.leaf_plain_tag(tag!(3, "margin"), s.margin());
            }
        }
        if defect == Some(Defect::QuickstatsElementAdded) {
            w.leaf("currency", &ctx.settings.default_currency);
        }
    };
    let active = (!simple || ctx.settings.show_active_calls_for_users).then(|| {
        let (mut total, mut answered) = (0usize, 0usize);
        for a in world.data.active_calls.iter().filter(|a| match ctx.caller {
            Some(c) if c.role == Role::User => a.user_id == c.id,
            Some(c) if c.role.is_reseller() => {
                a.user_id == c.id || world.is_owned_by(a.user_id, c.id)
            }
            _ => true,
        }) {
            total += 1;
            answered += usize::from(a.answered);
        }
        (total, answered)
    });
    let mut w = PrettyWriter::new(Declaration::Utf8, 1024);
    w.within(tag!(0, "page"), |w| {
        w.within(tag!(1, "quickstats"), |w| {
            w.within(tag!(2, "today"), |w| period(w, today));
            if let Some(month) = month {
                w.within(tag!(2, "month"), |w| period(w, month));
            }
            if let (true, Some(u)) = (simple, ctx.caller) {
                w.leaf_plain_tag(tag!(2, "balance"), u.balance);
            }
            if let Some((total, answered)) = active {
                w.within(tag!(2, "active_calls"), |w| {
                    w.leaf_plain_tag(tag!(3, "total"), total);
                    w.leaf_plain_tag(tag!(3, "answered_calls"), answered);
                });
            }
        });
    });
    Reply::Rendered(w.finish())
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::Stats;
    use model::catalogue::{Product, Wrapper};
    use model::world::Money;

    const M: &str = "quickstats_get";

    fn n(r: &super::Reply, path: &str) -> i64 {
        text(r, path).parse().expect("test data is valid")
    }

    #[test]
    fn admin_sees_today_month_and_active_calls_consistently() {
        let mut w = world(Product::M4);
        let r = req(Product::M4, M, "admin").run(&mut w);
        assert_shape(Product::M4, M, &r);
        assert!(n(&r, "quickstats/today/calls") >= 5);
        assert!(n(&r, "quickstats/month/calls") >= n(&r, "quickstats/today/calls"));
        let rev: Money = text(&r, "quickstats/month/revenue")
            .parse()
            .expect("test data is valid");
        let cost: Money = text(&r, "quickstats/month/self_cost")
            .parse()
            .expect("test data is valid");
        let profit: Money = text(&r, "quickstats/month/profit")
            .parse()
            .expect("test data is valid");
        assert_eq!(rev - cost, profit);
        assert_eq!(n(&r, "quickstats/active_calls/total"), 4);
        assert_eq!(n(&r, "quickstats/active_calls/answered_calls"), 3);
    }

    #[test]
    fn today_calls_equal_answered_calls_of_user_calls_get() {
        let mut w = world(Product::M4);
        let q = req(Product::M4, M, "user1").run(&mut w);
        let c = req(Product::M4, "user_calls_get", "admin")
            .p("s_user", 1)
            .p("s_call_type", "answered")
            .run(&mut w);
        assert_eq!(text(&q, "quickstats/today/calls"), text(&c, "total_calls"));
    }

    #[test]
    fn mor_has_no_month() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "admin").run(&mut w);
        assert_shape(Product::Mor, M, &r);
        assert!(root(&r).at("quickstats/month").is_none());
        let r = req(Product::Mor, M, "reseller").run(&mut w);
        assert!(root(&r).at("quickstats/today/revenue").is_some());
    }

    #[test]
    fn simple_users_see_their_view_and_active_calls_only_when_allowed() {
        let mut w = world(Product::M4);
        let r = req(Product::M4, M, "user1").run(&mut w);
        assert!(root(&r).at("quickstats/today/price").is_some());
        assert!(root(&r).at("quickstats/today/revenue").is_none());
        assert_eq!(text(&r, "quickstats/balance"), "60.0");
        assert!(root(&r).at("quickstats/active_calls").is_none());
        let mut q = req(Product::M4, M, "user1");
        q.settings.show_active_calls_for_users = true;
        let r = q.run(&mut w);
        assert_eq!(n(&r, "quickstats/active_calls/total"), 2);
    }

    #[test]
    fn elasticsearch_down_is_an_error() {
        let mut w = world(Product::M4);
        let mut q = req(Product::M4, M, "admin");
        q.settings.elasticsearch_available = false;
        assert_eq!(
            err(&q.run(&mut w)),
            ("Cannot connect to Elasticsearch", Wrapper::Status)
        );
    }

    #[test]
    fn margin_is_the_rounded_profit_share() {
        let s = |r: &str, c: &str| Stats {
            calls: 1,
            duration: 1,
            revenue: r.parse().expect("test data is valid"),
            self_cost: c.parse().expect("test data is valid"),
        };
        assert_eq!(s("1.4475", "0.6725").margin(), 54);
        assert_eq!(s("6.04", "3.734166").margin(), 38);
        assert_eq!(s("0", "1").margin(), 0);
        assert_eq!(s("1", "2").margin(), -100);
    }
}
