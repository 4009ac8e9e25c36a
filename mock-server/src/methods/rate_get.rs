//! rate_get (alias rate): the rate a user pays for a number, as `rate#destination#prefix`. Page:
//! MOR API rate_get (oldid 17549 and current; "Allow devices to check rate over HTTP" gates it,
//! feature `rate_over_http`). Rating: the destination is the one whose prefix is the longest
//! prefix of the number sent (X3 C `rate`: every leading part of the number, the longest
//! destination prefix first), and the rate is the user's custom rate for its destination group
//! when he has one (the first band's price), else his tariff's rate for that destination (by
//! prefix, else the tariff's retail rate for the group), as the X3 code and the page ("If rate by
//! prefix is not found in Custom Rates, it will be taken from Tariff assigned to User") order it.
//!
//! Checks in the X3 order: an empty prefix (`Empty prefix`), the user (`User was not found`),
//! the destination (`Prefix not found`), the rate (`Rate was not found`). Who may ask for whose
//! rate: the admin and accountants any user, a reseller himself and his users, a simple user
//! himself (`Access Denied` otherwise; the pages say nothing, X3 checks no owner).

use model::catalogue::Wrapper;
use model::world::GroupRates;
use model::xml::Element;

use super::{xml, Ctx, Reply};
use crate::world::World;

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    let err = |text: &str| ctx.error(text, Wrapper::Page);
    let number = ctx.params.get("prefix").unwrap_or_default().trim();
    if number.is_empty() {
        return err("Empty prefix");
    }
    let Some(user) = ctx
        .params
        .get("username")
        .and_then(|name| world.user_by_name(name))
    else {
        return err("User was not found");
    };
    if !ctx.can_act_on(world, user.id) {
        return ctx.access_denied();
    }
    match rate(world, user.tariff_id, &user.custom_rates, number) {
        Rated::Rate { rate, name, prefix } => {
            xml(Element::new("page").leaf("rate", format!("{rate}#{name}#{prefix}")))
        }
        Rated::NoDestination => err("Prefix not found"),
        Rated::NoRate => err("Rate was not found"),
    }
}

/// What rating a number under a tariff found.
#[derive(Debug, Clone, PartialEq)]
pub enum Rated {
    /// The rate per minute, the destination's name and its prefix.
    Rate {
        /// Price per minute.
        rate: model::world::Money,
        /// The destination's name.
        name: String,
        /// The destination's prefix (the longest prefix of the number).
        prefix: String,
    },
    /// No destination's prefix is a prefix of the number.
    NoDestination,
    /// The tariff (or its absence) has no rate for the destination.
    NoRate,
}

/// Rate `number` for a user with tariff `tariff_id` and custom rates `custom`: the destination
/// by longest prefix; then a custom rate of its group (first band), the tariff's rate for
/// exactly that destination's prefix, or the tariff's retail rate of its group (first band).
pub fn rate(world: &World, tariff_id: Option<u64>, custom: &[GroupRates], number: &str) -> Rated {
    let Some(dest) = world.destination_of(number) else {
        return Rated::NoDestination;
    };
    let first_band = |groups: &[GroupRates]| {
        groups
            .iter()
            .find(|g| g.group == dest.group)
            .and_then(|g| g.bands.first())
            .map(|b| b.price)
    };
    let tariff = tariff_id.and_then(|id| world.tariff(id));
    let found = first_band(custom)
        .or_else(|| {
            tariff.and_then(|t| {
                t.rates
                    .iter()
                    .find(|r| r.prefix == dest.prefix)
                    .map(|r| r.rate)
            })
        })
        .or_else(|| tariff.and_then(|t| first_band(&t.group_rates)));
    match found {
        Some(rate) => Rated::Rate {
            rate,
            name: dest.name.clone(),
            prefix: dest.prefix.clone(),
        },
        None => Rated::NoRate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::testkit::*;
    use model::catalogue::Product;

    #[test]
    fn the_longest_destination_prefix_wins() {
        let w = world(Product::Mor);
        // The default world has 370 (Lithuania) and longer Lithuanian prefixes; every
        // destination's own prefix, and the prefix followed by more digits, rates to itself.
        for d in &w.data.destinations {
            let longer = format!("{}0000", d.prefix);
            let want = w.destination_of(&longer).map(|x| x.prefix.clone());
            assert_eq!(want.as_deref(), Some(d.prefix.as_str()), "{longer}");
            match rate(&w, Some(1), &[], &longer) {
                Rated::Rate { prefix, .. } => assert_eq!(prefix, d.prefix),
                other => panic!("{longer}: {other:?}"),
            }
        }
        assert_eq!(rate(&w, Some(1), &[], "999"), Rated::NoDestination);
        assert_eq!(
            rate(&w, None, &[], &w.data.destinations[0].prefix),
            Rated::NoRate
        );
        // A custom rate of the destination's group wins over the tariff (user3: Lithuania MOB).
        let user3 = w.user(3).expect("user3").clone();
        match rate(&w, user3.tariff_id, &user3.custom_rates, "37061234") {
            Rated::Rate { rate, prefix, .. } => {
                assert_eq!((rate.to_string(), prefix.as_str()), ("0.09".into(), "3706"))
            }
            other => panic!("{other:?}"),
        }
        match rate(&w, user3.tariff_id, &user3.custom_rates, "3705") {
            Rated::Rate { rate, .. } => assert_eq!(rate.to_string(), "0.04"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn answers_rate_destination_and_prefix() {
        let mut w = world(Product::Mor);
        let d = w.data.destinations[0].clone();
        let tariff_rate = w
            .tariff(1)
            .and_then(|t| t.rates.iter().find(|r| r.prefix == d.prefix))
            .map(|r| r.rate)
            .expect("rate");
        let r = req(Product::Mor, "rate_get", "admin")
            .p("username", "user1")
            .p("prefix", format!("{}123", d.prefix))
            .run(&mut w);
        assert_eq!(
            text(&r, "rate"),
            format!("{tariff_rate}#{}#{}", d.name, d.prefix)
        );
        let r = req(Product::Mor, "rate_get", "admin")
            .p("username", "nobody")
            .p("prefix", "370")
            .run(&mut w);
        assert_eq!(err(&r), ("User was not found", Wrapper::Page));
        let r = req(Product::Mor, "rate_get", "admin")
            .p("username", "user1")
            .run(&mut w);
        assert_eq!(err(&r).0, "Empty prefix");
        // A simple user may read his own rate only.
        let r = req(Product::Mor, "rate_get", "user2")
            .p("username", "user1")
            .p("prefix", "370")
            .run(&mut w);
        assert_eq!(err(&r).0, "Access Denied");
    }
}
