//! user_balance_get (alias balance): a user's balance, in the default currency, another
//! currency (`currency`), or the user's own (`currency=USER`, or `user_currency=1`, which also adds
//! `<currency>`). Page: M4/MOR API user_balance_get.
//!
//! Without `u` (quirk `balance_get_requires_u` off, the default; the M4 example sends none)
//! dispatch runs no login step and verifies the hash with the admin's secret, so the request
//! reads any user's balance.
//!
//! The value is answered Ruby-float style (`60.0`), MOR's standard number formatting. An unknown
//! currency code answers in the default currency (INF: no error is documented).

use model::catalogue::{Role, Wrapper};
use model::world::{Money, User};
use model::xml::Element;

use super::{xml, Ctx, Reply};
use crate::defect::Defect;
use crate::world::{from_currency, to_currency, World};

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    answer(ctx, world, None)
}

/// The answer, as broken by a balance defect when one is given (see `defect`).
pub(crate) fn answer(ctx: &Ctx<'_>, world: &World, defect: Option<Defect>) -> Reply {
    let Some(user) = ctx.arg("username").and_then(|n| world.user_by_name(n)) else {
        return ctx.error("User was not found", Wrapper::Page);
    };
    // No caller: the request sent no `u` (quirk balance_get_requires_u off) and its hash was
    // verified with the admin's secret, so it reads any user's balance, as the admin does.
    let anyone = defect == Some(Defect::BalanceOtherUserVisible) && ctx.role() == Some(Role::User);
    if ctx.caller.is_some() && !anyone && !ctx.can_act_on(world, user.id) {
        return ctx.access_denied();
    }
    let own = ctx.flag("user_currency");
    let requested = if own || defect == Some(Defect::BalanceCurrencyIgnored) {
        None
    } else {
        ctx.arg("currency")
    };
    let invert = defect == Some(Defect::BalanceRateInverted);
    let (value, code) = convert(ctx, world, user, requested, own, invert);
    let mut page = Element::new("page").leaf("balance", value);
    if own {
        page.push_leaf("currency", code);
    }
    xml(page)
}

/// A user's balance in `requested` (a code, `USER`, or none for the default currency); `own`
/// forces the user's currency. Returns the amount and the code it is in.
pub fn convert_balance(
    ctx: &Ctx<'_>,
    world: &World,
    user: &User,
    requested: Option<&str>,
    own: bool,
) -> (Money, String) {
    convert(ctx, world, user, requested, own, false)
}

/// [`convert_balance`]; `invert` (defect `balance_rate_inverted`) divides by the rate.
fn convert(
    ctx: &Ctx<'_>,
    world: &World,
    user: &User,
    requested: Option<&str>,
    own: bool,
    invert: bool,
) -> (Money, String) {
    let default = ctx.settings.default_currency.as_str();
    let code = match requested {
        _ if own => user.currency.as_str(),
        Some(c) if c.eq_ignore_ascii_case("USER") => user.currency.as_str(),
        Some(c) => c,
        None => default,
    };
    match world.rate_of(code, default) {
        Some(rate) if invert => (from_currency(user.balance, rate), code.to_string()),
        Some(rate) => (to_currency(user.balance, rate), code.to_string()),
        None => (user.balance, default.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use model::catalogue::{Product, Wrapper};

    const M: &str = "user_balance_get";

    #[test]
    fn answers_the_balance_in_the_default_currency() {
        for p in Product::ALL {
            let mut w = world(p);
            let r = req(p, M, "admin").p("username", "user1").run(&mut w);
            assert_shape(p, M, &r);
            assert_eq!(text(&r, "balance"), "60.0");
            assert!(super::super::testkit::root(&r).find("currency").is_none());
        }
    }

    #[test]
    fn converts_to_a_currency_or_the_users_own() {
        let mut w = world(Product::M4);
        let r = req(Product::M4, M, "admin")
            .p("username", "user1")
            .p("currency", "EUR")
            .run(&mut w);
        assert_eq!(text(&r, "balance"), "55.2");
        let r = req(Product::M4, M, "admin")
            .p("username", "user2")
            .p("user_currency", 1)
            .run(&mut w);
        assert_eq!(text(&r, "balance"), "-11.5");
        assert_eq!(text(&r, "currency"), "EUR");
        let r = req(Product::M4, M, "admin")
            .p("username", "user2")
            .p("currency", "USER")
            .run(&mut w);
        assert_eq!(text(&r, "balance"), "-11.5");
        let r = req(Product::M4, M, "admin")
            .p("username", "user1")
            .p("currency", "XXX")
            .run(&mut w);
        assert_eq!(text(&r, "balance"), "60.0");
    }

    #[test]
    fn without_a_caller_any_users_balance_is_read() {
        let mut w = world(Product::M4);
        let r = req(Product::M4, M, "").p("username", "user1").run(&mut w);
        assert_eq!(text(&r, "balance"), "60.0");
    }

    #[test]
    fn unknown_users_and_other_users_are_refused() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "admin")
            .p("username", "nobody")
            .run(&mut w);
        assert_eq!(err(&r), ("User was not found", Wrapper::Page));
        let r = req(Product::Mor, M, "user1")
            .p("username", "user2")
            .run(&mut w);
        assert_eq!(err(&r).0, "Access Denied");
        let r = req(Product::Mor, M, "user1")
            .p("username", "user1")
            .run(&mut w);
        assert_eq!(text(&r, "balance"), "60.0");
    }
}
