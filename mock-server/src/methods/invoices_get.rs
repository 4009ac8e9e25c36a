//! invoices_get (alias invoices): the invoices of a period. Page: MOR API invoices_get (from MOR
//! X4; the 2019 sample) and the X3 code (C `invoices`). An invoice is listed when its period
//! lies within `from`..`till` (Unix seconds, compared as dates; 0 when not sent, so a request
//! without them finds none): period start on or after `from`'s day, period end on or before
//! `till`'s. The admin and accountants see the invoices of the admin's users, a reseller those of
//! his users and his own, a simple user his own. Each invoice lists its lines (`<Product>`) with
//! their sums; none left: `<Error>no invoices found</Error>` (a capitalised bare root).

use model::catalogue::Wrapper;
use model::world::{format_date, Invoice, Money, When};
use model::xml::Element;

use super::{ruby_to_i, xml, Ctx, Reply};
use crate::world::World;

/// The day (Unix seconds of its 00:00:00) of a world time, resolved against today.
pub fn day_of(w: &When, today: i64) -> Option<i64> {
    w.resolve(today).ok().map(|t| t.div_euclid(86_400) * 86_400)
}

/// Whether the caller may see the financial records of `user_id`: the admin and accountants
/// those of the admin's users, a reseller his users' and his own, a simple user his own.
pub fn sees(ctx: &Ctx<'_>, world: &World, user_id: u64) -> bool {
    ctx.can_act_on(world, user_id)
}

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    let today = ctx.today.0;
    let day = |name: &str| ctx.params.get(name).map_or(0, ruby_to_i).div_euclid(86_400) * 86_400;
    let (from, till) = (day("from"), day("till"));
    let listed: Vec<&Invoice> = world
        .data
        .invoices
        .iter()
        .filter(|i| {
            day_of(&i.period_start, today).is_some_and(|d| d >= from)
                && day_of(&i.period_end, today).is_some_and(|d| d <= till)
                && sees(ctx, world, i.user_id)
        })
        .collect();
    if listed.is_empty() {
        return ctx.error("no invoices found", Wrapper::BareCapital);
    }
    let mut root = Element::new("Invoices")
        .attr("from", format_date(from))
        .attr("till", format_date(till));
    for inv in listed {
        let issued = day_of(&inv.issue_date, today)
            .map(format_date)
            .unwrap_or_default();
        let mut e = Element::new("Invoice")
            .attr("user_id", inv.user_id.to_string())
            .attr("agreementnumber", "")
            .attr("clientid", "")
            .attr("number", &inv.number)
            .leaf("id", inv.id)
            .leaf("paid", u8::from(inv.paid));
        for line in &inv.lines {
            e.push(
                Element::new("Product")
                    .leaf("Name", &line.name)
                    .leaf("Quantity", line.quantity)
                    .leaf("Price", line.price.fixed(4))
                    .leaf("Discount", line.discount.fixed(4))
                    .leaf("Sum", line.sum().fixed(4))
                    .leaf("Date_added", "")
                    .leaf("Issue_date", &issued),
            );
        }
        root.push(e);
    }
    xml(root)
}

/// The amount with the user's VAT added (`price * (100 + vat) / 100`).
pub fn with_vat(world: &World, user_id: u64, price: Money) -> Money {
    let vat = world.user(user_id).map_or(Money::ZERO, |u| u.vat_percent);
    price + crate::world::mul_money(price, Money(vat.0 / 100))
}

#[cfg(test)]
mod tests {
    use crate::methods::testkit::*;
    use model::catalogue::{Product, Wrapper};

    const LONG_AGO: i64 = 0;
    const FAR_AHEAD: i64 = 4_000_000_000;

    #[test]
    fn lists_the_period_s_invoices_with_their_lines_scoped() {
        let mut w = world(Product::Mor);
        let all = |who: &str, w: &mut crate::world::World| {
            req(Product::Mor, "invoices_get", who)
                .p("from", LONG_AGO)
                .p("till", FAR_AHEAD)
                .run(w)
        };
        let r = all("admin", &mut w);
        assert_shape(Product::Mor, "invoices_get", &r);
        let top = root(&r);
        assert_eq!(top.name, "Invoices");
        assert_eq!(top.elements().count(), 3, "the admin's users' invoices");
        assert_eq!(text(&r, "Invoice/Product[2]/Sum"), "12.5000");
        let r = all("reseller", &mut w);
        assert_eq!(root(&r).elements().count(), 1);
        let r = all("user3", &mut w);
        assert_eq!(text(&r, "Invoice/id"), "3");
        // Without a period nothing lies in 1970.
        let r = req(Product::Mor, "invoices_get", "admin").run(&mut w);
        assert_eq!(err(&r), ("no invoices found", Wrapper::BareCapital));
    }
}
