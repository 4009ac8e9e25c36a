//! user_balance_update (aliases user_balance_change, change_user_balance): changes a user's
//! balance and reports the new one. Page: M4 API user_balance_update.
//!
//! `balance` is added (quirk `balance_update: add`, the method description) or set (`set`, the
//! parameter list); the answer nests one `<page>` or two (quirk `balance_update_nesting`).
//! The balance is answered Ruby-float style (`72.5`), as the stored value.

use model::catalogue::Wrapper;
use model::quirks::{BalanceUpdate, Nesting};
use model::world::Money;
use model::xml::Element;

use super::{parse_id, xml, Ctx, Reply};
use crate::world::World;

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &mut World) -> Reply {
    let Some(id) = ctx.arg("user_id").and_then(parse_id) else {
        return ctx.error("User was not found", Wrapper::Page);
    };
    if world.user(id).is_none() {
        return ctx.error("User was not found", Wrapper::Page);
    }
    if !ctx.can_act_on(world, id) {
        return ctx.access_denied();
    }
    let Some(amount) = ctx.arg("balance").and_then(|b| b.parse::<Money>().ok()) else {
        return ctx.error("User balance not updated", Wrapper::Page);
    };
    let Some(user) = world.user_mut(id) else {
        return ctx.error("User was not found", Wrapper::Page);
    };
    let new = match ctx.quirks.balance_update {
        BalanceUpdate::Add => user.balance.checked_add(amount),
        BalanceUpdate::Set => Some(amount),
    };
    let Some(new) = new else {
        return ctx.error("User balance not updated", Wrapper::Page);
    };
    user.balance = new;
    let body = Element::new("page")
        .leaf("status", "User balance updated")
        .child(
            Element::new("user")
                .leaf("username", &user.username)
                .leaf("id", user.id)
                .leaf("balance", new),
        );
    xml(match ctx.quirks.balance_update_nesting {
        Nesting::Single => body,
        Nesting::Double => Element::new("page").child(body),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use model::catalogue::{Product, Wrapper};
    use model::quirks::{BalanceUpdate, Nesting};

    const M: &str = "user_balance_update";

    #[test]
    fn adds_to_the_balance_by_default_and_the_change_is_seen_later() {
        for p in Product::ALL {
            let mut w = world(p);
            let r = req(p, M, "admin")
                .p("user_id", 1)
                .p("balance", "12.5")
                .run(&mut w);
            assert_shape(p, M, &r);
            assert_eq!(text(&r, "status"), "User balance updated");
            assert_eq!(text(&r, "user/balance"), "72.5");
            assert_eq!(text(&r, "user/username"), "user1");
            assert_eq!(
                w.user(1).expect("test data is valid").balance.to_string(),
                "72.5"
            );
        }
    }

    #[test]
    fn sets_the_balance_under_the_set_quirk_and_nests_twice_under_double() {
        let mut w = world(Product::M4);
        let mut q = req(Product::M4, M, "admin")
            .p("user_id", 1)
            .p("balance", "-3");
        q.quirks.balance_update = BalanceUpdate::Set;
        q.quirks.balance_update_nesting = Nesting::Double;
        let r = q.run(&mut w);
        assert_eq!(text(&r, "page/user/balance"), "-3.0");
    }

    #[test]
    fn reports_unknown_users_and_bad_amounts() {
        let mut w = world(Product::Mor);
        for id in ["999", "abc", ""] {
            let r = req(Product::Mor, M, "admin")
                .p("user_id", id)
                .p("balance", "1")
                .run(&mut w);
            assert_eq!(err(&r), ("User was not found", Wrapper::Page));
        }
        for b in ["x", "1e5", "", "99999999999999999"] {
            let r = req(Product::Mor, M, "admin")
                .p("user_id", 1)
                .p("balance", b)
                .run(&mut w);
            assert_eq!(err(&r), ("User balance not updated", Wrapper::Page));
        }
        assert_eq!(
            w.user(1).expect("test data is valid").balance.to_string(),
            "60.0"
        );
    }

    #[test]
    fn a_reseller_changes_only_his_own_users() {
        let mut w = world(Product::Mor);
        let ok = req(Product::Mor, M, "reseller")
            .p("user_id", 7)
            .p("balance", "1")
            .run(&mut w);
        assert_eq!(text(&ok, "user/id"), "7");
        let no = req(Product::Mor, M, "reseller")
            .p("user_id", 1)
            .p("balance", "1")
            .run(&mut w);
        assert_eq!(err(&no).0, "Access Denied");
    }
}
