//! user_simple_balance_get (alias simple_balance): the balance of the user owning the uniquehash
//! `id`, as plain text with four decimals (`60.0000`), for phone displays. Page: M4 Balance in
//! phone.
//!
//! No `u` and no login (catalogue `requires_login: false`). The hash is optional
//! (`hash_required: false`): the documented request carries none, yet `Incorrect hash` is a listed
//! error, so dispatch verifies it only when one is sent, with the secret that signs for the user
//! owning the uniquehash.

use model::catalogue::Wrapper;

use super::user_balance_get::convert_balance;
use super::{balance4, Ctx, Reply};
use crate::world::World;

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    let id = ctx.arg("id").unwrap_or("");
    let user = world.user_by_uniquehash(id).or_else(|| {
        // The admin's uniquehash lives in the settings (SETTINGS > Registration).
        (!id.is_empty() && id == ctx.settings.uniquehash)
            .then(|| world.user(0))
            .flatten()
    });
    let Some(user) = user else {
        return ctx.error("User not found", Wrapper::Text);
    };
    let (value, _) = convert_balance(ctx, world, user, ctx.arg("currency"), false);
    Reply::Text(balance4(value))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::Reply;
    use model::catalogue::{Product, Wrapper};

    const M: &str = "user_simple_balance_get";

    #[test]
    fn answers_plain_text_with_four_decimals() {
        for p in Product::ALL {
            let mut w = world(p);
            let r = req(p, M, "").p("id", "user1uniq").run(&mut w);
            assert_eq!(r, Reply::Text("60.0000".into()));
            let r = req(p, M, "")
                .p("id", "user2uniq")
                .p("currency", "USER")
                .run(&mut w);
            assert_eq!(r, Reply::Text("-11.5000".into()));
            let r = req(p, M, "").p("id", "adm1nun1q").run(&mut w);
            assert_eq!(r, Reply::Text("0.0000".into()));
        }
    }

    #[test]
    fn an_unknown_uniquehash_is_user_not_found_as_text() {
        let mut w = world(Product::M4);
        for id in ["nope", ""] {
            let r = req(Product::M4, M, "").p("id", id).run(&mut w);
            assert_eq!(err(&r), ("User not found", Wrapper::Text));
        }
    }
}
