//! tariff_wholesale_update (alias wholesale_tariff): creates a wholesale tariff (no `id`) or
//! updates one (`id`). Page: M4 / MOR API tariff_wholesale_update.
//!
//! Create needs a non-empty `name`; `currency` (default: the system currency) must be known.
//! A failure answers `Tariff was not saved` in the `<response><error><message>` wrapper; an
//! unknown id `Tariff not found`. A reseller (MOR) may only update tariffs he owns: another's
//! (the admin's, another reseller's) answers `Access Denied`, as tariff_rates_get documents for
//! someone else's tariff (INF).

use model::catalogue::{Role, Wrapper};
use model::world::Tariff;
use model::xml::Element;

use super::{parse_id, xml, Ctx, Reply};
use crate::world::World;

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &mut World) -> Reply {
    let failed = || ctx.error("Tariff was not saved", Wrapper::ResponseMessage);
    let default = ctx.settings.default_currency.clone();
    let currency = match ctx.arg("currency") {
        Some(c) => match world.rate_of(c, &default) {
            Some(_) if c.eq_ignore_ascii_case(&default) => default.clone(),
            Some(_) => world
                .data
                .currencies
                .iter()
                .find(|x| x.name.eq_ignore_ascii_case(c))
                .map_or(c.to_string(), |x| x.name.clone()),
            None => return failed(),
        },
        None => String::new(),
    };
    let name = ctx.arg("name").map(str::trim).filter(|n| !n.is_empty());
    let owner = match ctx.caller {
        Some(c) if c.role.is_reseller() => c.id,
        _ => 0,
    };
    if let Some(raw) = ctx.params.get("id") {
        let is_reseller = ctx.caller.is_some_and(|c| c.role.is_reseller());
        let Some(t) = parse_id(raw).and_then(|id| world.tariff_mut(id)) else {
            return ctx.error("Tariff not found", Wrapper::Page);
        };
        if is_reseller && t.owner_id != owner {
            return ctx.access_denied();
        }
        if let Some(n) = name {
            t.name = n.to_string();
        }
        if !currency.is_empty() {
            t.currency = currency;
        }
        return xml(Element::new("page").leaf("status", "ok"));
    }
    let Some(n) = name else {
        return failed();
    };
    let id = world.next_tariff_id();
    world.add_tariff(Tariff {
        id,
        name: n.to_string(),
        purpose: "user_wholesale".into(),
        currency: if currency.is_empty() {
            default
        } else {
            currency
        },
        owner_id: if ctx.caller.is_some_and(|c| c.role == Role::Manager) {
            0
        } else {
            owner
        },
        rates: Vec::new(),
        group_rates: Vec::new(),
    });
    xml(Element::new("page")
        .leaf("status", "ok")
        .leaf("tariff_id", id))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use model::catalogue::{Product, Wrapper};

    const M: &str = "tariff_wholesale_update";

    #[test]
    fn creates_then_updates_a_tariff() {
        for p in Product::ALL {
            let mut w = world(p);
            let r = req(p, M, "admin")
                .p("name", "New WS")
                .p("currency", "EUR")
                .run(&mut w);
            assert_shape(p, M, &r);
            let id = text(&r, "tariff_id");
            let t = w
                .tariff(id.parse().expect("test data is valid"))
                .expect("test data is valid");
            assert_eq!((t.name.as_str(), t.currency.as_str()), ("New WS", "EUR"));
            let r = req(p, M, "admin")
                .p("id", &id)
                .p("name", "Renamed")
                .run(&mut w);
            assert_eq!(text(&r, "status"), "ok");
            assert!(root(&r).find("tariff_id").is_none());
            assert_eq!(
                w.tariff(id.parse().expect("test data is valid"))
                    .expect("test data is valid")
                    .name,
                "Renamed"
            );
            let r = req(p, "tariff_rates_get", "admin")
                .p("tariff_id", &id)
                .run(&mut w);
            assert_eq!(text(&r, "tariff_name"), "Renamed");
        }
    }

    #[test]
    fn documents_its_failures() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "admin")
            .p("id", 999)
            .p("name", "x")
            .run(&mut w);
        assert_eq!(err(&r), ("Tariff not found", Wrapper::Page));
        let r = req(Product::Mor, M, "admin")
            .p("name", "x")
            .p("currency", "ZZZ")
            .run(&mut w);
        assert_eq!(err(&r), ("Tariff was not saved", Wrapper::ResponseMessage));
        let r = req(Product::Mor, M, "admin").run(&mut w);
        assert_eq!(err(&r).0, "Tariff was not saved");
        let r = req(Product::Mor, M, "reseller")
            .p("id", 1)
            .p("name", "mine")
            .run(&mut w);
        assert_eq!(err(&r), ("Access Denied", Wrapper::Status));
        assert_eq!(
            w.tariff(1).expect("test data is valid").name,
            "Retail USD",
            "not renamed"
        );
        let r = req(Product::Mor, M, "reseller")
            .p("id", 999)
            .p("name", "mine")
            .run(&mut w);
        assert_eq!(err(&r).0, "Tariff not found");
        let r = req(Product::Mor, M, "reseller")
            .p("id", 6)
            .p("name", "mine")
            .run(&mut w);
        assert_eq!(text(&r, "status"), "ok");
    }
}
