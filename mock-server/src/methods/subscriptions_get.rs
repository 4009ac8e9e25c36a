//! subscriptions_get: the subscriptions the caller may see, filtered. Page: MOR API
//! Subscriptions get (from MOR X5). Each row joins the subscription with its user (name), its
//! device and its service (name, type, price), which is why it is code and not a declared list.
//!
//! Filters (all optional, together): `service_id`, `user_id`, `subscription_memo` (equal),
//! `subscription_until_canceled` (0/1), `subscription_activation_start` (Unix seconds: only
//! subscriptions starting then or later) and `subscription_activation_end` (only those ending
//! then or earlier; an open one never does). The admin and accountants see every subscription
//! of the admin's users, a reseller those of his users, a simple user his own. None left:
//! `No Subscriptions found`.

use model::catalogue::Wrapper;
use model::world::{format_datetime, Subscription, When};
use model::xml::Element;

use super::{nice_name, parse_id, ruby_to_i, xml, Ctx, Reply};
use crate::world::World;

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    let today = ctx.today.0;
    let time = |w: &When| w.resolve(today).ok();
    let start_of = |s: &Subscription| {
        s.activation_start
            .as_ref()
            .or(Some(&s.added))
            .and_then(time)
    };
    let end_of = |s: &Subscription| s.activation_end.as_ref().and_then(time);
    let eq_id = |name: &str, v: u64| ctx.arg(name).is_none_or(|a| parse_id(a) == Some(v));
    let since = ctx.arg("subscription_activation_start").map(ruby_to_i);
    let until = ctx.arg("subscription_activation_end").map(ruby_to_i);
    let mut rows = Element::new("subscriptions");
    for s in &world.data.subscriptions {
        let keep = eq_id("service_id", s.service_id)
            && eq_id("user_id", s.user_id)
            && ctx.arg("subscription_memo").is_none_or(|m| m == s.memo)
            && ctx
                .arg("subscription_until_canceled")
                .is_none_or(|f| (f.trim() == "1") == s.until_canceled)
            && since.is_none_or(|t| start_of(s).is_some_and(|x| x >= t))
            && until.is_none_or(|t| end_of(s).is_some_and(|x| x <= t))
            && ctx.can_act_on(world, s.user_id);
        if !keep {
            continue;
        }
        let user = world.user(s.user_id);
        let service = world.data.services.iter().find(|x| x.id == s.service_id);
        let device = (s.device_id != 0)
            .then(|| world.device(s.device_id))
            .flatten();
        let stamp = |t: Option<i64>| t.map(|t| format!("{} +0000", format_datetime(t)));
        rows.push(
            Element::new("subscription")
                .leaf("id", s.id)
                .leaf("user", user.map(nice_name).unwrap_or_default())
                .leaf("device", device.map_or("", |d| d.name.as_str()))
                .leaf("service", service.map_or("", |x| x.name.as_str()))
                .leaf("from", stamp(start_of(s)).unwrap_or_default())
                .leaf("till", stamp(end_of(s)).unwrap_or_default())
                .leaf("time_left", "")
                .leaf("memo", &s.memo)
                .leaf("type", service.map_or("", |x| x.service_type.as_str()))
                .leaf(
                    "price",
                    service.map(|x| x.price.to_string()).unwrap_or_default(),
                )
                .leaf("user_id", s.user_id),
        );
    }
    if rows.children.is_empty() {
        return ctx.error("No Subscriptions found", Wrapper::PageStatus);
    }
    xml(Element::new("page").child(Element::new("status").child(rows)))
}

#[cfg(test)]
mod tests {
    use crate::methods::testkit::*;
    use model::catalogue::{Product, Wrapper};

    fn rows(r: &crate::methods::Reply) -> usize {
        root(r)
            .at("status/subscriptions")
            .map_or(0, |e| e.elements().count())
    }

    #[test]
    fn lists_joined_rows_filtered_and_scoped() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, "subscriptions_get", "admin").run(&mut w);
        assert_shape(Product::Mor, "subscriptions_get", &r);
        // The admin sees his users' three, not the reseller's user's.
        assert_eq!(rows(&r), 3);
        assert_eq!(
            text(&r, "status/subscriptions/subscription/service"),
            "Monthly fee"
        );
        assert_eq!(text(&r, "status/subscriptions/subscription/price"), "10.0");
        let r = req(Product::Mor, "subscriptions_get", "admin")
            .p("service_id", "2")
            .run(&mut w);
        assert_eq!(text(&r, "status/subscriptions/subscription/user_id"), "2");
        let r = req(Product::Mor, "subscriptions_get", "reseller").run(&mut w);
        assert_eq!(
            text(&r, "status/subscriptions/subscription/service"),
            "Reseller box"
        );
        let r = req(Product::Mor, "subscriptions_get", "admin")
            .p("user_id", "999")
            .run(&mut w);
        assert_eq!(err(&r), ("No Subscriptions found", Wrapper::PageStatus));
        // Only user3's subscription has an end; an end filter keeps it alone.
        let r = req(Product::Mor, "subscriptions_get", "admin")
            .p("subscription_activation_end", i64::MAX / 2)
            .run(&mut w);
        assert_eq!(rows(&r), 1);
    }
}
