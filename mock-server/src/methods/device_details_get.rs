//! device_details_get: every field of a device. Page: M4 API device_details_get (long list under
//! `<page><status><devices><device>`), MOR API device_details_get (flat Asterisk fields under
//! `<page>`; the stored copy stops after `context`).
//!
//! M4: a device the caller may not see (a manager asking for a device of a non-admin user)
//! answers `Device was not found` (catalogue); MOR answers `Access Denied`.
//!
//! MOR names the device by `device_id` or by its username `device_u` (`device_id` wins; MOR API
//! device_details_get since 2019, oldid 23453) and answers the elements of the current page in
//! its order as far as the stored revisions show them in full: `id`, the Asterisk fields, then
//! `user_id` and `primary_did_id` (oldid 25022, September 2019). The rest of the current list
//! (from `works_not_logged` to `balance`, `device_balance_enabled` and `codecs`, April 2020) is
//! cut in every stored copy, so neither its full order nor its values are known and it is not
//! answered.

use model::catalogue::{Product, Wrapper};
use model::world::Device;
use model::xml::Element;

use super::{parse_id, xml, Ctx, Reply};
use crate::world::World;

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    let by_id = ctx.arg("device_id");
    let found = match (by_id, ctx.arg("device_u")) {
        (Some(raw), _) => parse_id(raw).and_then(|id| world.device(id)),
        (None, Some(u)) if ctx.product == Product::Mor => {
            world.data.devices.iter().find(|d| d.username == u)
        }
        _ => None,
    };
    let Some(d) = found else {
        return ctx.error("Device was not found", Wrapper::Page);
    };
    if !ctx.can_act_on(world, d.user_id) {
        return match ctx.product {
            Product::M4 => ctx.error("Device was not found", Wrapper::Page),
            Product::Mor => ctx.access_denied(),
        };
    }
    xml(match ctx.product {
        Product::M4 => Element::new("page")
            .child(Element::new("status").child(Element::new("devices").child(m4_device(d)))),
        Product::Mor => Element::new("page")
            .leaf("id", d.id)
            .leaf("name", &d.name)
            .leaf("host", &d.host)
            .leaf("secret", &d.secret)
            .leaf("context", "mor_local")
            .leaf("ipaddr", &d.ipaddr)
            .leaf("port", d.port)
            .leaf("regseconds", 0)
            .leaf("accountcode", d.id)
            .leaf("callerid", &d.callerid)
            .leaf("extension", &d.name)
            .leaf("voicemail_active", 0)
            .leaf("username", &d.username)
            .leaf("device_type", &d.device_type)
            .leaf("user_id", d.user_id)
            .leaf("primary_did_id", 0),
    })
}

fn flag(b: bool) -> u8 {
    u8::from(b)
}

fn m4_device(d: &Device) -> Element {
    Element::new("device")
        .leaf("id", d.id)
        .leaf("name", &d.name)
        .leaf("host", &d.host)
        .leaf("secret", &d.secret)
        .leaf("ipaddr", &d.ipaddr)
        .leaf("port", d.port)
        .leaf("accountcode", d.id)
        .leaf("callerid", &d.callerid)
        .leaf("username", &d.username)
        .leaf("device_type", &d.device_type)
        .leaf("user_id", d.user_id)
        .leaf("insecure", "no")
        .leaf("description", &d.description)
        .leaf("timeout", 60)
        .leaf("allow_duplicate_calls", 0)
        .leaf("call_limit", 0)
        .leaf("grace_time", 0)
        .leaf("server_id", 1)
        .leaf("change_failed_code_to", 0)
        .leaf("max_timeout", 0)
        .leaf("cps_call_limit", 0)
        .leaf("cps_period", 0)
        .leaf("callerid_number_pool_id", 0)
        .leaf("op", flag(d.op))
        .leaf("op_active", flag(d.op && !d.hidden))
        .leaf("op_tech_prefix", "")
        .leaf("op_routing_algorithm", "lcr")
        .leaf("op_routing_group_id", if d.op { 12001 } else { 0 })
        .leaf("op_tariff_id", d.op_tariff_id.unwrap_or(0))
        .leaf("op_capacity", 500)
        .leaf("op_src_regexp", if d.op { ".*" } else { "" })
        .leaf("op_src_deny_regexp", "")
        .leaf("tp", flag(d.tp))
        .leaf("tp_active", flag(d.tp && !d.hidden))
        .leaf("tp_tech_prefix", "")
        .leaf("tp_tariff_id", d.tp_tariff_id.unwrap_or(0))
        .leaf("tp_capacity", 500)
        .leaf("tp_src_regexp", if d.tp { ".*" } else { "" })
        .leaf("tp_src_deny_regexp", "")
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use model::catalogue::{Product, Wrapper};

    const M: &str = "device_details_get";

    #[test]
    fn m4_answers_the_long_nested_list() {
        let mut w = world(Product::M4);
        let r = req(Product::M4, M, "admin").p("device_id", 1).run(&mut w);
        assert_shape(Product::M4, M, &r);
        assert_eq!(text(&r, "status/devices/device/id"), "1");
        assert_eq!(text(&r, "status/devices/device/op"), "1");
        assert_eq!(text(&r, "status/devices/device/callerid"), "\"101\" <101>");
        let r = req(Product::M4, M, "admin").p("device_id", 101).run(&mut w);
        assert_eq!(text(&r, "status/devices/device/tp"), "1");
        let r = req(Product::M4, M, "manager").p("device_id", 1).run(&mut w);
        assert_eq!(text(&r, "status/devices/device/user_id"), "1");
    }

    #[test]
    fn mor_answers_the_flat_variant() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "admin").p("device_id", 2).run(&mut w);
        assert_shape(Product::Mor, M, &r);
        assert_eq!(text(&r, "context"), "mor_local");
        let r = req(Product::Mor, M, "reseller")
            .p("device_id", 1)
            .run(&mut w);
        assert_eq!(err(&r).0, "Access Denied");
    }

    #[test]
    fn mor_finds_a_device_by_its_username_and_device_id_wins() {
        let mut w = world(Product::Mor);
        let d2 = w.device(2).expect("device 2").clone();
        let d1 = w.device(1).expect("device 1").clone();
        assert!(!d2.username.is_empty() && d1.username != d2.username);
        let r = req(Product::Mor, M, "admin")
            .p("device_u", &d2.username)
            .run(&mut w);
        assert_eq!(text(&r, "id"), "2");
        assert_eq!(text(&r, "user_id"), d2.user_id.to_string());
        let r = req(Product::Mor, M, "admin")
            .p("device_id", 1)
            .p("device_u", &d2.username)
            .run(&mut w);
        assert_eq!(text(&r, "id"), "1");
        let r = req(Product::Mor, M, "admin")
            .p("device_u", "no-such-device")
            .run(&mut w);
        assert_eq!(err(&r), ("Device was not found", Wrapper::Page));
    }

    #[test]
    fn an_unknown_device_is_not_found() {
        for p in Product::ALL {
            let mut w = world(p);
            for id in ["9999", "abc", ""] {
                let r = req(p, M, "admin").p("device_id", id).run(&mut w);
                assert_eq!(err(&r), ("Device was not found", Wrapper::Page));
            }
        }
    }
}
