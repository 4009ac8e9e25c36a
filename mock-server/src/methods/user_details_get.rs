//! user_details_get (alias user_details): a user's details by `user_id` and/or `username` (both:
//! they must name the same user). Page: MOR API user_details_get (M4 uses the same shape, INF).
//!
//! Balances have four decimals, as the sample (`0.0000 USD`); `vat_percent` is Ruby-float style
//! (`18.0`); credit is `Unlimited` or the limit with four decimals.

use model::catalogue::Wrapper;
use model::xml::Element;

use super::{balance4, parse_id, xml, Ctx, Reply};
use crate::world::World;

/// Agreement date answered for every user (the world keeps none).
const AGREEMENT_DATE: &str = "2020-01-01";

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    let by_id = ctx
        .arg("user_id")
        .map(|s| parse_id(s).and_then(|id| world.user(id)));
    let by_name = ctx.arg("username").map(|s| world.user_by_name(s));
    let user = match (by_id, by_name) {
        (Some(Some(a)), Some(Some(b))) if a.id == b.id => Some(a),
        (Some(a), None) => a,
        (None, Some(b)) => b,
        _ => None,
    };
    let Some(u) = user else {
        return ctx.error("User was not found", Wrapper::Page);
    };
    if !ctx.can_act_on(world, u.id) {
        return ctx.access_denied();
    }
    let cur = ctx.settings.default_currency.as_str();
    let main = Element::new("main_detail")
        .leaf("account", if u.postpaid { "Postpaid" } else { "Prepaid" })
        .leaf("balance", format!("{} {cur}", balance4(u.balance)))
        .leaf("balance_number", balance4(u.balance))
        .leaf("balance_currency", cur)
        .leaf("credit", u.credit.map_or("Unlimited".to_string(), balance4));
    let other = Element::new("other_details")
        .leaf("username", &u.username)
        .leaf("first_name", &u.first_name)
        .leaf("surname", &u.last_name)
        .leaf("personalid", "")
        .leaf("agreement_number", format!("{:010}", u.id))
        .leaf("agreement_date", AGREEMENT_DATE)
        .leaf("taxation_country", &u.country)
        .leaf("vat_reg_number", "")
        .leaf("vat_percent", u.vat_percent);
    let mut reg = Element::new("registration");
    for (k, v) in [
        ("reg_address", ""),
        ("reg_postcode", ""),
        ("reg_city", ""),
        ("reg_country", u.country.as_str()),
        ("reg_state", ""),
        ("reg_direction", u.country.as_str()),
        ("reg_phone", ""),
        ("reg_mobile", ""),
        ("reg_fax", ""),
        ("reg_email", u.email.as_str()),
    ] {
        reg.push_leaf(k, v);
    }
    xml(Element::new("page")
        .leaf("pagename", "Personal_details")
        .leaf("language", "en")
        .leaf("userid", u.id)
        .child(Element::new("details").child(main).child(other).child(reg)))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use model::catalogue::{Product, Wrapper};

    const M: &str = "user_details_get";

    #[test]
    fn answers_by_id_name_or_both() {
        for p in Product::ALL {
            let mut w = world(p);
            for r in [
                req(p, M, "admin").p("user_id", 1).run(&mut w),
                req(p, M, "admin").p("username", "user1").run(&mut w),
                req(p, M, "admin")
                    .p("user_id", 1)
                    .p("username", "user1")
                    .run(&mut w),
            ] {
                assert_shape(p, M, &r);
                assert_eq!(text(&r, "userid"), "1");
                assert_eq!(text(&r, "details/main_detail/balance"), "60.0000 USD");
                assert_eq!(text(&r, "details/main_detail/balance_number"), "60.0000");
                assert_eq!(text(&r, "details/other_details/vat_percent"), "21.0");
                assert_eq!(text(&r, "details/main_detail/credit"), "Unlimited");
            }
            let r = req(p, M, "admin").p("user_id", 3).run(&mut w);
            assert_eq!(text(&r, "details/main_detail/credit"), "100.0000");
        }
    }

    #[test]
    fn refuses_unknown_mismatched_and_foreign_users() {
        let mut w = world(Product::Mor);
        for r in [
            req(Product::Mor, M, "admin").p("user_id", 99).run(&mut w),
            req(Product::Mor, M, "admin")
                .p("username", "zz")
                .run(&mut w),
            req(Product::Mor, M, "admin")
                .p("user_id", 1)
                .p("username", "user2")
                .run(&mut w),
            req(Product::Mor, M, "admin").run(&mut w),
        ] {
            assert_eq!(err(&r), ("User was not found", Wrapper::Page));
        }
        let r = req(Product::Mor, M, "user1").p("user_id", 2).run(&mut w);
        assert_eq!(err(&r).0, "Access Denied");
        let r = req(Product::Mor, M, "user1").p("user_id", 1).run(&mut w);
        assert_eq!(text(&r, "userid"), "1");
    }
}
