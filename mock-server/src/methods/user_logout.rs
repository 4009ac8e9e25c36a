//! user_logout (alias logout): `<action>` with `ok` for a known user, `failed` otherwise (the
//! page: "bad username"), both with the standalone declaration. Page: M2/M4 and MOR API
//! user_logout.
//!
//! `u` is the user logging out, not an authenticated caller (catalogue `requires_login: false`):
//! dispatch runs no login step (never `Bad login`) and has verified the hash (the secret alone)
//! with the secret that signs for that user; this handler looks him up by `u` itself.

use model::xml::Element;

use super::user_login::action;
use super::{Ctx, Reply};
use crate::world::World;

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    let known = ctx.arg("u").and_then(|u| world.user_by_name(u)).is_some();
    action(
        Element::new("action")
            .leaf("name", "logout")
            .leaf("status", if known { "ok" } else { "failed" }),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use model::catalogue::Product;

    #[test]
    fn logs_out_known_users_only() {
        for p in Product::ALL {
            let mut w = world(p);
            let r = req(p, "user_logout", "user1").p("u", "user1").run(&mut w);
            assert_shape(p, "user_logout", &r);
            assert_eq!(text(&r, "status"), "ok");
            let r = req(p, "user_logout", "").p("u", "ghost").run(&mut w);
            assert_eq!(text(&r, "status"), "failed");
        }
    }
}
