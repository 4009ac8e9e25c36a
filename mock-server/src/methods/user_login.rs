//! user_login (alias login): checks `u` and `p`. Page: M2/M4 and MOR API user_login.
//!
//! Success is `<action>` with `ok`, the user id and `Successfully logged in`; failure `failed`
//! and `Login failed`. With Allow API Login Redirect on, success is a redirect to the billing main
//! page and failure an `<action>` without `status_message`. A blocked user cannot log in, except
//! under the X3 position of the quirk `login_answers`, which also checks no hash (dispatch).
//!
//! `u` is the user logging in, not an authenticated caller (catalogue `requires_login: false`):
//! dispatch runs no login step (so never answers `Bad login` here) and has verified the hash
//! (u, p) with the secret that signs for that user; this handler looks him up by `u` itself, and
//! an unknown or blocked user or a wrong password is the documented failure. With the setting
//! Allow login by email on, a `u` naming no username is looked up as a user's e-mail address
//! (MOR API user_login since oldid 26283, 2021: "username to login (or email if Allow login by
//! email is enabled)").

use model::catalogue::Declaration;
use model::quirks::AnswerSource;
use model::xml::{Document, Element};

use super::{Ctx, Reply};
use crate::world::World;

/// Where a successful login redirects when Allow API Login Redirect is on.
pub const MAIN_PAGE: &str = "/billing/callc/main";

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    let user = ctx.arg("u").and_then(|u| {
        world.user_by_name(u).or_else(|| {
            ctx.settings
                .allow_login_by_email
                .then(|| {
                    world
                        .data
                        .users
                        .iter()
                        .find(|x| !x.email.is_empty() && x.email == u)
                })
                .flatten()
        })
    });
    // The X3 action (quirk login_answers x3) matches the username and the password only: a
    // blocked user logs in (C 4273-4279).
    let blocked_fail = ctx.quirks.login_answers != AnswerSource::X3;
    let ok = user.filter(|u| {
        !(blocked_fail && u.blocked) && ctx.params.get("p") == Some(u.password.as_str())
    });
    let redirect = ctx.settings.api_login_redirect;
    match ok {
        Some(_) if redirect => Reply::Redirect(MAIN_PAGE.to_string()),
        Some(u) => action(
            Element::new("action")
                .leaf("name", "login")
                .leaf("status", "ok")
                .leaf("user_id", u.id)
                .leaf("status_message", "Successfully logged in"),
        ),
        None if redirect => action(
            Element::new("action")
                .leaf("name", "login")
                .leaf("status", "failed"),
        ),
        None => action(
            Element::new("action")
                .leaf("name", "login")
                .leaf("status", "failed")
                .leaf("status_message", "Login failed"),
        ),
    }
}

/// An `<action>` answer with the standalone declaration.
pub fn action(root: Element) -> Reply {
    Reply::Action(Document {
        declaration: Declaration::Standalone,
        root,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::Reply;
    use model::catalogue::Product;

    const M: &str = "user_login";

    #[test]
    fn logs_in_with_the_right_password() {
        for p in Product::ALL {
            let mut w = world(p);
            let r = req(p, M, "user1")
                .p("u", "user1")
                .p("p", "user1")
                .run(&mut w);
            assert_shape(p, M, &r);
            assert_eq!(text(&r, "status"), "ok");
            assert_eq!(text(&r, "user_id"), "1");
            let r = req(p, M, "user1")
                .p("u", "user1")
                .p("p", "wrong")
                .run(&mut w);
            assert_eq!(text(&r, "status"), "failed");
            assert_eq!(text(&r, "status_message"), "Login failed");
            let r = req(p, M, "").p("u", "ghost").p("p", "x").run(&mut w);
            assert_eq!(text(&r, "status"), "failed");
        }
    }

    #[test]
    fn logs_in_by_email_only_when_allowed() {
        let mut w = world(Product::Mor);
        let email = w.user(1).expect("user1").email.clone();
        assert!(!email.is_empty());
        let mut q = req(Product::Mor, M, "").p("u", &email).p("p", "user1");
        assert_eq!(text(&q.run(&mut w), "status"), "failed");
        q.settings.allow_login_by_email = true;
        let r = q.run(&mut w);
        assert_eq!(text(&r, "status"), "ok");
        assert_eq!(text(&r, "user_id"), "1");
        let mut q = req(Product::Mor, M, "").p("u", &email).p("p", "wrong");
        q.settings.allow_login_by_email = true;
        assert_eq!(text(&q.run(&mut w), "status"), "failed");
    }

    #[test]
    fn redirects_when_login_redirect_is_on() {
        let mut w = world(Product::Mor);
        let mut q = req(Product::Mor, M, "admin")
            .p("u", "admin")
            .p("p", "admin");
        q.settings.api_login_redirect = true;
        assert_eq!(q.run(&mut w), Reply::Redirect(super::MAIN_PAGE.into()));
        let mut q = req(Product::Mor, M, "admin").p("u", "admin").p("p", "no");
        q.settings.api_login_redirect = true;
        let r = q.run(&mut w);
        assert!(root(&r).find("status_message").is_none());
    }
}
