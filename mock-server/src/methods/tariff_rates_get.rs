//! tariff_rates_get (alias get_tariff): the rates of a tariff. Page: M4 / MOR API
//! tariff_rates_get. The XML is gzipped by `render` (catalogue body `gzip_xml`).
//!
//! M4: `device_id` wins over `tariff_id` and names the device's origination-point tariff (its
//! termination-point tariff when it has no OP tariff). MOR: `user_id` wins over `tariff_id` and
//! names the user's tariff; neither sent, the caller's own tariff (MOR 11 revision: "If not sent,
//! user gets his tariff rates"; X3 C 1015-1178 the same; custom rates are not in the world). M4,
//! neither sent or an unknown device: `device_id or tariff_id was not found`; an unknown tariff
//! or a device/user without one: `No tariff found`. MOR documents only `No tariff found`, so it
//! answers that for every case where no tariff can be named.
//!
//! Who may read which tariff: the admin and managers (tariffs permission, checked by dispatch)
//! any; a simple user his own tariff or his devices'; a reseller the tariffs he owns, his users'
//! tariffs, his own, and the admin's when Allow Resellers to use Admin Tariffs is on.

use model::catalogue::{Product, Role, Wrapper};
use model::world::Tariff;
use model::xml::Element;

use super::{parse_id, xml, Ctx, Reply};
use crate::world::World;

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    let none = || ctx.error("No tariff found", Wrapper::Page);
    let not_sent = || match ctx.product {
        Product::M4 => ctx.error("device_id or tariff_id was not found", Wrapper::Status),
        Product::Mor => none(),
    };
    let owner_param = match ctx.product {
        Product::M4 => "device_id",
        Product::Mor => "user_id",
    };
    let tariff_id = if let Some(raw) = ctx.arg(owner_param) {
        match ctx.product {
            Product::M4 => {
                let Some(d) = parse_id(raw).and_then(|id| world.device(id)) else {
                    return not_sent();
                };
                if !ctx.can_act_on(world, d.user_id) {
                    return ctx.access_denied();
                }
                d.op_tariff_id.or(d.tp_tariff_id)
            }
            Product::Mor => {
                let Some(u) = parse_id(raw).and_then(|id| world.user(id)) else {
                    return none();
                };
                if !ctx.can_act_on(world, u.id) {
                    return ctx.access_denied();
                }
                u.tariff_id
            }
        }
    } else if let Some(raw) = ctx.arg("tariff_id") {
        parse_id(raw)
    } else if ctx.product == Product::Mor {
        // MOR without any id: the caller's own tariff (MOR 11 page: "If not sent, user gets his
        // tariff rates"; X3 C 1015-1178 the same).
        ctx.caller.and_then(|c| c.tariff_id)
    } else {
        return not_sent();
    };
    let Some(t) = tariff_id.and_then(|id| world.tariff(id)) else {
        return none();
    };
    if !may_read(ctx, world, t) {
        return ctx.access_denied();
    }
    let mut rates = Element::new("rates");
    for r in &t.rates {
        let dest = world
            .data
            .destinations
            .iter()
            .find(|d| d.prefix == r.prefix)
            .or_else(|| world.destination_of(&r.prefix));
        let mut e = Element::new("rate")
            .leaf("direction", dest.map_or("", |d| d.direction.as_str()))
            .leaf("destination", dest.map_or("", |d| d.name.as_str()))
            .leaf("prefix", &r.prefix);
        if ctx.product == Product::Mor {
            e.push_leaf("subcode", dest.map_or("", |d| d.group.as_str()));
            e.push_leaf("code", &r.prefix);
        }
        e = e
            .leaf("tariff_rate", r.rate)
            .leaf("con_fee", r.con_fee)
            .leaf("increment", r.increment)
            .leaf("min_time", r.min_time)
            .leaf("start_time", &r.start_time)
            .leaf("end_time", &r.end_time)
            .leaf("daytype", &r.daytype);
        rates.push(e);
    }
    xml(Element::new("page")
        .leaf("pagename", "Tariff")
        .leaf("tariff_name", &t.name)
        .leaf("purpose", &t.purpose)
        .leaf("currency", &t.currency)
        .child(rates))
}

fn may_read(ctx: &Ctx<'_>, world: &World, t: &Tariff) -> bool {
    let Some(c) = ctx.caller else {
        return false;
    };
    match c.role {
        Role::Admin | Role::Manager | Role::Accountant => true,
        Role::Reseller | Role::ResellerPro => {
            t.owner_id == c.id
                || c.tariff_id == Some(t.id)
                || (t.owner_id == 0 && ctx.settings.resellers_use_admin_tariffs)
                || world
                    .data
                    .users
                    .iter()
                    .any(|u| u.owner_id == c.id && u.tariff_id == Some(t.id))
        }
        Role::User | Role::Partner => {
            c.tariff_id == Some(t.id)
                || world
                    .devices_of(c.id)
                    .iter()
                    .any(|d| d.op_tariff_id == Some(t.id) || d.tp_tariff_id == Some(t.id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use model::catalogue::{Product, Wrapper};

    const M: &str = "tariff_rates_get";

    #[test]
    fn answers_a_tariff_by_id_with_every_rate() {
        for p in Product::ALL {
            let mut w = world(p);
            let r = req(p, M, "admin").p("tariff_id", 2).run(&mut w);
            assert_shape(p, M, &r);
            assert_eq!(text(&r, "tariff_name"), "Wholesale EUR");
            assert_eq!(
                root(&r)
                    .at("rates")
                    .expect("test data is valid")
                    .elements()
                    .count(),
                13
            );
            assert_eq!(text(&r, "rates/rate/prefix"), "370");
        }
    }

    #[test]
    fn m4_prefers_the_devices_origination_tariff() {
        let mut w = world(Product::M4);
        let r = req(Product::M4, M, "admin")
            .p("device_id", 1)
            .p("tariff_id", 3)
            .run(&mut w);
        assert_eq!(text(&r, "tariff_name"), "Retail USD");
        let r = req(Product::M4, M, "admin").p("device_id", 101).run(&mut w);
        assert_eq!(text(&r, "purpose"), "provider");
        let r = req(Product::M4, M, "admin").p("device_id", 999).run(&mut w);
        assert_eq!(
            err(&r),
            ("device_id or tariff_id was not found", Wrapper::Status)
        );
        let r = req(Product::M4, M, "admin").run(&mut w);
        assert_eq!(
            err(&r),
            ("device_id or tariff_id was not found", Wrapper::Status)
        );
        let r = req(Product::M4, M, "admin").p("tariff_id", 77).run(&mut w);
        assert_eq!(err(&r), ("No tariff found", Wrapper::PageStatus));
    }

    #[test]
    fn users_read_only_their_own_tariff() {
        let mut w = world(Product::M4);
        let r = req(Product::M4, M, "user1").p("tariff_id", 1).run(&mut w);
        assert_eq!(text(&r, "tariff_name"), "Retail USD");
        let r = req(Product::M4, M, "user1").p("tariff_id", 2).run(&mut w);
        assert_eq!(err(&r), ("Access Denied", Wrapper::Status));
        let r = req(Product::M4, M, "user1").p("device_id", 3).run(&mut w);
        assert_eq!(err(&r).0, "Access Denied");
    }

    #[test]
    fn mor_reads_a_users_tariff_and_limits_resellers() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "admin").run(&mut w);
        assert_eq!(err(&r).0, "No tariff found");
        let r = req(Product::Mor, M, "admin").p("user_id", 2).run(&mut w);
        assert_eq!(text(&r, "tariff_name"), "Wholesale EUR");
        let r = req(Product::Mor, M, "reseller")
            .p("tariff_id", 6)
            .run(&mut w);
        assert_eq!(text(&r, "tariff_name"), "Reseller Retail");
        let r = req(Product::Mor, M, "reseller")
            .p("tariff_id", 1)
            .run(&mut w);
        assert_eq!(err(&r).0, "Access Denied");
        let mut q = req(Product::Mor, M, "reseller").p("tariff_id", 1);
        q.settings.resellers_use_admin_tariffs = true;
        assert_eq!(text(&q.run(&mut w), "tariff_name"), "Retail USD");
        let r = req(Product::Mor, M, "admin").p("user_id", 0).run(&mut w);
        assert_eq!(err(&r), ("No tariff found", Wrapper::Page));
    }
}
