//! devices_get (alias device_list): the devices of a user. Page: M4 / MOR API devices_get.
//! The XML is gzipped by `render` (catalogue body `gzip_xml`). MOR `show_hidden_devices=0` hides
//! hidden or blocked devices.
//!
//! Under the quirk position `devices_get_answers: x3` it answers as the X3 action does (GitHub
//! `adeshjohnson/MX3`, `app/controllers/api_controller.rb` C 4039-4075), the gate having checked
//! only the login and the hash: an accountant without the `device_manage` permission is `not
//! authorized`; a user whose owner is not the caller (an accountant's: the admin) is `Access
//! Denied`, for the admin too; an empty `user_id` is `user_id is empty`, an unknown one `User not
//! found`; a user without devices `Device not found`; each device shows `device_id` and
//! `device_type` only, hidden ones included. Every error is in `<page>`.

use model::catalogue::{Product, Role, Wrapper};
use model::quirks::{AnswerSource, X3_DEVICES_NOT_AUTHORIZED, X3_DEVICE_NOT_FOUND};
use model::xml::Element;

use super::{parse_id, xml, Ctx, Reply};
use crate::world::World;

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    if ctx.quirks.devices_get_answers == AnswerSource::X3 {
        return run_x3(ctx, world);
    }
    let Some(raw) = ctx.arg("user_id") else {
        return ctx.error("user_id is empty", Wrapper::Page);
    };
    let Some(user) = parse_id(raw).and_then(|id| world.user(id)) else {
        return ctx.error("User not found", Wrapper::Page);
    };
    if !ctx.can_act_on(world, user.id) {
        return ctx.access_denied();
    }
    let show_hidden = ctx.product == Product::M4
        || ctx.param_or_default("show_hidden_devices").as_deref() != Some("0");
    let mut list = Element::new("devices");
    for d in world.devices_of(user.id) {
        if d.hidden && !show_hidden {
            continue;
        }
        list.push(
            Element::new("device")
                .leaf("device_id", d.id)
                .leaf("device_type", &d.device_type)
                .leaf("ipaddr", &d.ipaddr)
                .leaf("port", d.port),
        );
    }
    xml(Element::new("page").child(list))
}

/// X3's device_list (see the module notes).
fn run_x3(ctx: &Ctx<'_>, world: &World) -> Reply {
    let page = |text: &str| Reply::Error {
        text: text.to_string(),
        wrapper: Wrapper::Page,
    };
    let Some(caller) = ctx.caller else {
        return page("Bad login");
    };
    if caller.role == Role::Accountant && !caller.permissions.iter().any(|p| p == "device_manage") {
        return page(X3_DEVICES_NOT_AUTHORIZED);
    }
    let owner = if caller.role == Role::Accountant {
        0
    } else {
        caller.id
    };
    let raw = ctx.params.get("user_id").unwrap_or("").trim();
    let user = parse_id(raw).and_then(|id| world.user(id));
    match user {
        Some(u) if u.owner_id != owner => page("Access Denied"),
        Some(u) => {
            let mut list = Element::new("devices");
            for d in world.devices_of(u.id) {
                list.push(
                    Element::new("device")
                        .leaf("device_id", d.id)
                        .leaf("device_type", &d.device_type),
                );
            }
            if list.elements().next().is_none() {
                return page(X3_DEVICE_NOT_FOUND);
            }
            xml(Element::new("page").child(list))
        }
        None if raw.is_empty() => page("user_id is empty"),
        None => page("User not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use model::catalogue::{Product, Wrapper};

    const M: &str = "devices_get";

    #[test]
    fn lists_the_users_devices() {
        for p in Product::ALL {
            let mut w = world(p);
            let r = req(p, M, "admin").p("user_id", 3).run(&mut w);
            assert_shape(p, M, &r);
            assert_eq!(
                root(&r)
                    .at("devices")
                    .expect("test data is valid")
                    .elements()
                    .count(),
                2
            );
        }
    }

    #[test]
    fn mor_hides_hidden_devices_on_request() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "admin")
            .p("user_id", 3)
            .p("show_hidden_devices", 0)
            .run(&mut w);
        assert_eq!(
            root(&r)
                .at("devices")
                .expect("test data is valid")
                .elements()
                .count(),
            1
        );
    }

    #[test]
    fn documents_its_errors() {
        let mut w = world(Product::M4);
        let r = req(Product::M4, M, "admin").run(&mut w);
        assert_eq!(err(&r), ("user_id is empty", Wrapper::Page));
        let r = req(Product::M4, M, "admin").p("user_id", "").run(&mut w);
        assert_eq!(err(&r).0, "user_id is empty");
        for id in ["999", "x1"] {
            let r = req(Product::M4, M, "admin").p("user_id", id).run(&mut w);
            assert_eq!(err(&r), ("User not found", Wrapper::Page));
        }
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "reseller").p("user_id", 1).run(&mut w);
        assert_eq!(err(&r).0, "Access Denied");
        let r = req(Product::Mor, M, "reseller").p("user_id", 7).run(&mut w);
        assert_eq!(
            root(&r)
                .at("devices")
                .expect("test data is valid")
                .elements()
                .count(),
            2
        );
    }
}
