//! financial_statements_get (alias financial_statements): totals of invoices, credit notes and
//! payments by status over a period. Page: MOR API financial_statements_get (from MOR 12; X4
//! name) and the X3 code (C `financial_statements`).
//!
//! One `<statement type=T>` per type (invoices, credit notes, payments, in that order) and
//! status (paid, then unpaid) that has records: their count, price and price with VAT, in the
//! default currency (`currency` attribute). Invoices: issued in the period, paid or not, price
//! the sum of their lines, with the user's VAT. Credit notes: issued in the period, paid when
//! they have a pay date. Payments: added in the period, paid when completed; amount and amount
//! with tax converted from their currency. The period is `date_from`..`date_till` (Unix seconds,
//! whole days; today when not sent), `status` paid, unpaid or all (anything else: all). A simple
//! user sees his own, the admin and accountants the admin's users', a reseller his users'; a
//! `user_id` narrows to one user the caller manages (another: `Dont be so smart`).

use model::catalogue::Role;
use model::world::Money;
use model::xml::Element;

use super::invoices_get::{day_of, with_vat};
use super::{parse_id, ruby_to_i, xml, Ctx, Reply};
use crate::world::{div_money, World};

/// Count and totals of one type and status.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Totals {
    /// How many records.
    pub count: u64,
    /// Sum of their prices.
    pub price: Money,
    /// Sum of their prices with VAT or tax.
    pub price_with_vat: Money,
}

impl Totals {
    fn add(&mut self, price: Money, with_vat: Money) {
        self.count += 1;
        self.price += price;
        self.price_with_vat += with_vat;
    }
}

/// The statements: (type, status, totals), in answer order, only those with records.
pub fn statements(
    ctx: &Ctx<'_>,
    world: &World,
    user: Option<u64>,
    (from, till): (i64, i64),
    status: &str,
) -> Vec<(&'static str, &'static str, Totals)> {
    let today = ctx.today.0;
    let in_period = |d: Option<i64>| d.is_some_and(|d| d >= from && d <= till);
    let wanted = |u: u64| {
        user.is_none_or(|x| x == u)
            && (ctx.role() == Some(Role::User) || u != ctx.caller_id())
            && ctx.can_act_on(world, u)
    };
    let mut out = Vec::new();
    let mut push = |kind: &'static str, paid: Totals, unpaid: Totals| {
        for (name, t) in [("paid", paid), ("unpaid", unpaid)] {
            if t.count > 0 && (status == "all" || status == name) {
                out.push((kind, name, t));
            }
        }
    };
    let (mut paid, mut unpaid) = (Totals::default(), Totals::default());
    for i in &world.data.invoices {
        if wanted(i.user_id) && in_period(day_of(&i.issue_date, today)) {
            let p = i.price();
            let t = if i.paid { &mut paid } else { &mut unpaid };
            t.add(p, with_vat(world, i.user_id, p));
        }
    }
    push("invoices", paid, unpaid);
    let (mut paid, mut unpaid) = (Totals::default(), Totals::default());
    for n in &world.data.credit_notes {
        if wanted(n.user_id) && in_period(day_of(&n.issue_date, today)) {
            let t = if n.pay_date.is_some() {
                &mut paid
            } else {
                &mut unpaid
            };
            t.add(n.price, with_vat(world, n.user_id, n.price));
        }
    }
    push("credit_notes", paid, unpaid);
    let (mut paid, mut unpaid) = (Totals::default(), Totals::default());
    let default = &ctx.settings.default_currency;
    for p in &world.data.payments {
        if p.to_provider || !wanted(p.user_id) || !in_period(day_of(&p.date, today)) {
            continue;
        }
        let rate = world
            .rate_of(&p.currency, default)
            .unwrap_or(Money::units(1));
        let amount = div_money(p.amount, rate);
        let gross = div_money(p.amount + p.tax, rate);
        let t = if p.completed { &mut paid } else { &mut unpaid };
        t.add(amount, gross);
    }
    push("payments", paid, unpaid);
    out
}

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    let day = |name: &str, fallback: i64| {
        ctx.arg(name).map_or(fallback, ruby_to_i).div_euclid(86_400) * 86_400
    };
    let period = (day("date_from", ctx.today.0), day("date_till", ctx.today.0));
    let status = ctx
        .params
        .get("status")
        .filter(|s| matches!(*s, "paid" | "unpaid" | "all"))
        .unwrap_or("all");
    let user = if ctx.role() == Some(Role::User) {
        Some(ctx.caller_id())
    } else {
        match ctx.arg("user_id") {
            None => None,
            Some(raw) => match parse_id(raw).filter(|id| {
                *id != ctx.caller_id() && world.user(*id).is_some() && ctx.can_act_on(world, *id)
            }) {
                Some(id) => Some(id),
                None => return ctx.error("Dont be so smart", model::catalogue::Wrapper::Page),
            },
        }
    };
    let mut fs =
        Element::new("financial_statement").attr("currency", &ctx.settings.default_currency);
    for (kind, status, t) in statements(ctx, world, user, period, status) {
        fs.push(
            Element::new("statement")
                .attr("type", kind)
                .leaf("status", status)
                .leaf("count", t.count)
                .leaf("price", t.price.fixed(2))
                .leaf("price_with_vat", t.price_with_vat.fixed(2)),
        );
    }
    xml(Element::new("page").child(fs))
}

#[cfg(test)]
mod tests {
    use crate::methods::testkit::*;
    use model::catalogue::Product;

    #[test]
    fn totals_equal_the_records_summed_by_type_and_status() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, "financial_statements_get", "admin")
            .p("date_from", 0)
            .p("date_till", 4_000_000_000i64)
            .run(&mut w);
        assert_shape(Product::Mor, "financial_statements_get", &r);
        let fs = root(&r).at("financial_statement").expect("statement");
        let got: Vec<(String, String, String, String)> = fs
            .elements()
            .map(|s| {
                let t = |n: &str| s.find(n).map(|e| e.text_content()).unwrap_or_default();
                (s.attrs[0].1.clone(), t("status"), t("count"), t("price"))
            })
            .collect();
        // Invoices: user1's 22.50 paid; user2's 4.20 and user3's 41.75 unpaid. Credit notes:
        // user1's 5 paid, user3's 2.5 unpaid (ruser1's is the reseller's).
        let want = |k: &str, s: &str, c: &str, p: &str| (k.into(), s.into(), c.into(), p.into());
        assert_eq!(got[0], want("invoices", "paid", "1", "22.50"));
        assert_eq!(got[1], want("invoices", "unpaid", "2", "45.95"));
        assert_eq!(got[2], want("credit_notes", "paid", "1", "5.00"));
        assert_eq!(got[3], want("credit_notes", "unpaid", "1", "2.50"));
        assert_eq!(got[4].0, "payments");
        // A user the admin does not manage.
        let r = req(Product::Mor, "financial_statements_get", "admin")
            .p("user_id", "7")
            .run(&mut w);
        assert_eq!(err(&r).0, "Dont be so smart");
        // The unpaid filter keeps the unpaid statements only.
        let r = req(Product::Mor, "financial_statements_get", "user3")
            .p("date_from", 0)
            .p("date_till", 4_000_000_000i64)
            .p("status", "unpaid")
            .run(&mut w);
        let fs = root(&r).at("financial_statement").expect("statement");
        assert!(fs
            .elements()
            .all(|s| s.find("status").map(|e| e.text_content()) == Some("unpaid".into())));
        assert_eq!(fs.elements().count(), 2);
    }
}
