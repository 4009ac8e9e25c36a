//! credit_notes_get (alias credit_notes): the credit notes the caller manages. Page: MOR API
//! credit_notes_get (from MOR 12; X4 name) and the X3 code (C `credit_notes`): the notes of the
//! caller's users (the admin's users for the admin and accountants, a reseller's own users),
//! one by `credit_note_id` (which wins over `user_id`) or a user's by `user_id`. An accountant
//! without the financial data permission (`see_financial_data`) sees no price, price with VAT
//! or pay date. None found: an empty `<page/>`, as the X3 code answers.

use model::catalogue::Role;
use model::world::format_datetime;
use model::xml::Element;

use super::invoices_get::{day_of, with_vat};
use super::{parse_id, xml, Ctx, Reply};
use crate::world::World;

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    let today = ctx.today.0;
    let by_id = ctx.params.get("credit_note_id");
    let by_user = ctx.arg("user_id").filter(|_| by_id.is_none());
    let finances = ctx.caller.is_some_and(|c| {
        c.role != Role::Accountant || c.permissions.iter().any(|p| p == "see_financial_data")
    });
    let mut notes = Element::new("credit_notes");
    for n in &world.data.credit_notes {
        let keep = by_id.is_none_or(|id| parse_id(id).unwrap_or(0) == n.id)
            && by_user.is_none_or(|u| parse_id(u).unwrap_or(0) == n.user_id)
            && world
                .user(n.user_id)
                .is_some_and(|u| u.id != ctx.caller_id())
            && ctx.can_act_on(world, n.user_id);
        if !keep {
            continue;
        }
        let issued = day_of(&n.issue_date, today)
            .map(model::world::format_date)
            .unwrap_or_default();
        let mut e = Element::new("credit_note")
            .leaf("user_id", n.user_id)
            .leaf("issue_date", issued)
            .leaf("number", &n.number)
            .leaf("comment", &n.comment);
        if finances {
            let paid = n
                .pay_date
                .as_ref()
                .and_then(|w| w.resolve(today).ok())
                .map(format_datetime)
                .unwrap_or_default();
            e = e
                .leaf("price", n.price)
                .leaf("price_with_vat", with_vat(world, n.user_id, n.price))
                .leaf("pay_date", paid);
        }
        notes.push(e);
    }
    if notes.children.is_empty() {
        return xml(Element::new("page"));
    }
    xml(Element::new("page").child(notes))
}

#[cfg(test)]
mod tests {
    use crate::methods::testkit::*;
    use model::catalogue::Product;

    #[test]
    fn lists_managed_notes_by_id_or_user_with_vat() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, "credit_notes_get", "admin").run(&mut w);
        assert_shape(Product::Mor, "credit_notes_get", &r);
        assert_eq!(
            root(&r).at("credit_notes").map(|e| e.elements().count()),
            Some(2)
        );
        // user1 pays 21 % VAT: 5 -> 6.05.
        assert_eq!(text(&r, "credit_notes/credit_note/price_with_vat"), "6.05");
        let r = req(Product::Mor, "credit_notes_get", "admin")
            .p("credit_note_id", "2")
            .p("user_id", "1")
            .run(&mut w);
        assert_eq!(text(&r, "credit_notes/credit_note/user_id"), "3");
        // The reseller's user's note is his, not the admin's.
        let r = req(Product::Mor, "credit_notes_get", "admin")
            .p("credit_note_id", "3")
            .run(&mut w);
        assert!(root(&r).elements().next().is_none());
        let r = req(Product::Mor, "credit_notes_get", "reseller").run(&mut w);
        assert_eq!(text(&r, "credit_notes/credit_note/user_id"), "7");
    }
}
