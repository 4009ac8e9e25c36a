//! tariff_rates_get (alias get_tariff): the rates of a tariff. Page: M4 / MOR API
//! tariff_rates_get. The XML is gzipped by `render` (catalogue body `gzip_xml`).
//!
//! M4: `device_id` wins over `tariff_id` and names the device's origination-point tariff (its
//! termination-point tariff when it has no OP tariff). MOR: `user_id` wins over `tariff_id` and
//! names the user's tariff; neither sent, the caller's own tariff (MOR 11 revision: "If not sent,
//! user gets his tariff rates"; X3 C 1015-1178 the same). M4, neither sent or an unknown device:
//! `device_id or tariff_id was not found`; an unknown tariff or a device/user without one: `No
//! tariff found`. MOR documents only `No tariff found`, so it answers that for every case where
//! no tariff can be named.
//!
//! MOR retail tariffs and custom rates. A tariff of purpose `user` (retail) is answered grouped
//! by destination group (`<destination>` with its name, type and `<rate>` bands), as every MOR
//! revision since 11949 (December 2011) prints it and the X3 code builds it; other tariffs (and
//! every M4 tariff) as the list of `<rate>` the M4 and MOR pages show. With `user_id`, or with
//! neither id, the user's custom rates come too (MOR page since oldid 15538: "If not sent, user
//! gets his tariff rates and custom rates"; "user_id - this specifies user id whose custom rates
//! and tariffs to show"; X3 C 1015-1178), and replace the tariff's rates of their groups. How,
//! is quirk `tariff_rates_answers`: the X3 action writes a block of its own first (`Custom
//! Rates`, purpose `user`, the user's currency) and then the tariff's block in the same
//! `<page>`, ends each band with `daytype`, `from` and answers a duration of -1 as `Infinity`;
//! the page shows one block whose bands end `from`, `daytype` (the custom groups, whose layout
//! it does not show, are put first in it: inference).
//!
//! Who may read which tariff: the admin and managers (tariffs permission, checked by dispatch)
//! any; a simple user his own tariff or his devices'; a reseller the tariffs he owns, his users'
//! tariffs, his own, and the admin's when Allow Resellers to use Admin Tariffs is on. The X3
//! action (quirk `tariff_rates_answers: x3`, its checks in the action) checks no ownership:
//! `user_id` names any user; `tariff_id` is any tariff for the admin, only his own for a
//! reseller, and ignored for a simple user or an accountant, who get their own tariff.

use model::catalogue::{Product, Role, Wrapper};
use model::quirks::AnswerSource;
use model::world::{GroupRates, RateBand, RateKind, Tariff, User};
use model::xml::Element;

use super::{parse_id, xml, Ctx, Reply};
use crate::world::World;

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    if ctx.product == Product::Mor && ctx.quirks.tariff_rates_answers == AnswerSource::X3 {
        let (tariff_id, custom_of) = select_x3(ctx, world);
        return answer(ctx, world, tariff_id, custom_of, true);
    }
    let none = || ctx.error("No tariff found", Wrapper::Page);
    let not_sent = || match ctx.product {
        Product::M4 => ctx.error("device_id or tariff_id was not found", Wrapper::Status),
        Product::Mor => none(),
    };
    let owner_param = match ctx.product {
        Product::M4 => "device_id",
        Product::Mor => "user_id",
    };
    // MOR: whose custom rates come with the tariff (the user named, or the caller when no id
    // is sent).
    let mut custom_of: Option<&User> = None;
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
                custom_of = Some(u);
                u.tariff_id
            }
        }
    } else if let Some(raw) = ctx.arg("tariff_id") {
        parse_id(raw)
    } else if ctx.product == Product::Mor {
        // MOR without any id: the caller's own tariff and custom rates (MOR page since oldid
        // 15538; X3 C 1015-1178 the same).
        custom_of = ctx.caller;
        ctx.caller.and_then(|c| c.tariff_id)
    } else {
        return not_sent();
    };
    if let Some(t) = tariff_id.and_then(|id| world.tariff(id)) {
        if !may_read(ctx, world, t) {
            return ctx.access_denied();
        }
    }
    answer(ctx, world, tariff_id, custom_of, false)
}

/// X3's choice of tariff and custom rates (C 1015-1178), which checks no ownership: `user_id`
/// (digits only, as the hash filter passes it) names any user, his tariff and custom rates;
/// else `tariff_id` names a tariff for the admin (any) and a reseller (his own only), while a
/// simple user or an accountant gets his own tariff whatever it says; with neither, the
/// caller's own tariff and custom rates.
fn select_x3<'w>(ctx: &Ctx<'w>, world: &'w World) -> (Option<u64>, Option<&'w User>) {
    let Some(caller) = ctx.caller else {
        return (None, None);
    };
    let tariff_id = ctx.arg("tariff_id").and_then(parse_id);
    if let Some(uid) = ctx.arg("user_id").and_then(parse_id) {
        let u = world.user(uid);
        return (u.and_then(|u| u.tariff_id), u);
    }
    match (tariff_id, caller.role) {
        (Some(_), Role::User | Role::Accountant | Role::Partner) | (None, _) => {
            (caller.tariff_id, tariff_id.is_none().then_some(caller))
        }
        (Some(id), Role::Admin | Role::Manager) => (Some(id), None),
        (Some(id), Role::Reseller | Role::ResellerPro) => (
            world
                .tariff(id)
                .filter(|t| t.owner_id == caller.id)
                .map(|t| t.id),
            None,
        ),
    }
}

/// The answer for the tariff `tariff_id` (checked as the position requires) and the custom
/// rates of `custom_of`, laid out as the X3 action (`x3`) or the page does.
fn answer(
    ctx: &Ctx<'_>,
    world: &World,
    tariff_id: Option<u64>,
    custom_of: Option<&User>,
    x3: bool,
) -> Reply {
    let custom = custom_of.map_or(&[][..], |u| u.custom_rates.as_slice());
    let Some(t) = tariff_id.and_then(|id| world.tariff(id)) else {
        if x3 && !custom.is_empty() {
            // X3 writes the Custom Rates block, then its error inside the same <page>.
            let mut page = Element::new("page");
            custom_block(&mut page, custom, custom_of, x3);
            page.push(Element::new("status").leaf("error", "No tariff found"));
            return xml(page);
        }
        return ctx.error("No tariff found", Wrapper::Page);
    };
    let mut page = Element::new("page");
    if x3 && !custom.is_empty() {
        custom_block(&mut page, custom, custom_of, x3);
    }
    let mut rates = Element::new("rates");
    if ctx.product == Product::Mor && !x3 {
        for g in custom {
            rates.push(destination(g, x3));
        }
    }
    if ctx.product == Product::Mor && t.purpose == "user" {
        for g in retail_groups(world, t) {
            let replaced = custom
                .iter()
                .any(|c| c.group == g.group && c.group_type == g.group_type);
            if !replaced {
                rates.push(destination(&g, x3));
            }
        }
    } else {
        wholesale_rates(ctx, world, t, &mut rates);
    }
    page.push_leaf("pagename", "Tariff");
    page.push_leaf("tariff_name", &t.name);
    page.push_leaf("purpose", &t.purpose);
    page.push_leaf("currency", &t.currency);
    page.push(rates);
    xml(page)
}

/// The wholesale shape: one `<rate>` per rate of the tariff.
fn wholesale_rates(ctx: &Ctx<'_>, world: &World, t: &Tariff, rates: &mut Element) {
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
}

/// X3's `Custom Rates` block (C 1015-1178): pagename, tariff name `Custom Rates`, purpose
/// `user`, the user's currency and his custom groups in their order.
fn custom_block(page: &mut Element, custom: &[GroupRates], owner: Option<&User>, x3: bool) {
    page.push_leaf("pagename", "Tariff");
    page.push_leaf("tariff_name", "Custom Rates");
    page.push_leaf("purpose", "user");
    page.push_leaf("currency", owner.map_or("", |u| u.currency.as_str()));
    let mut rates = Element::new("rates");
    for g in custom {
        rates.push(destination(g, x3));
    }
    page.push(rates);
}

/// A retail tariff's groups in the order MOR answers them (X3 `tariffs_api_retail`: by group
/// name and type, each group's bands by `from`, daytype and start time): its `group_rates`, or
/// else its prefix rates grouped by their destination's group, each a band for the whole call
/// rounded by the rate's increment.
pub(crate) fn retail_groups(world: &World, t: &Tariff) -> Vec<GroupRates> {
    let mut groups: Vec<GroupRates> = if t.group_rates.is_empty() {
        let mut out: Vec<GroupRates> = Vec::new();
        for r in &t.rates {
            let dest = world
                .data
                .destinations
                .iter()
                .find(|d| d.prefix == r.prefix)
                .or_else(|| world.destination_of(&r.prefix));
            let (group, group_type) = dest.map_or((String::new(), String::new()), |d| {
                (d.group.clone(), d.group_type.clone())
            });
            let band = RateBand {
                from: 1,
                duration: -1,
                artype: RateKind::Minute,
                round_by: r.increment,
                price: r.rate,
                start_time: r.start_time.clone(),
                end_time: r.end_time.clone(),
                daytype: r.daytype.clone(),
            };
            match out
                .iter_mut()
                .find(|g| g.group == group && g.group_type == group_type)
            {
                Some(g) => g.bands.push(band),
                None => out.push(GroupRates {
                    group,
                    group_type,
                    bands: vec![band],
                }),
            }
        }
        out
    } else {
        t.group_rates.clone()
    };
    groups.sort_by(|a, b| (&a.group, &a.group_type).cmp(&(&b.group, &b.group_type)));
    for g in &mut groups {
        g.bands.sort_by(|a, b| {
            (a.from, &a.daytype, &a.start_time).cmp(&(b.from, &b.daytype, &b.start_time))
        });
    }
    groups
}

/// One `<destination>` of the retail shape: the group's name and type, then a `<rate>` per band.
fn destination(g: &GroupRates, x3: bool) -> Element {
    let mut d = Element::new("destination")
        .leaf("destination_group_name", &g.group)
        .leaf("destination_group_type", &g.group_type);
    for b in &g.bands {
        d.push(band(b, x3));
    }
    d
}

/// One band: X3 answers a duration of -1 as `Infinity` and ends with daytype, from; the page
/// ends with from, daytype and shows no `Infinity`.
fn band(b: &RateBand, x3: bool) -> Element {
    let duration = if x3 && b.duration == -1 {
        "Infinity".to_string()
    } else {
        b.duration.to_string()
    };
    let e = Element::new("rate")
        .leaf("duration", duration)
        .leaf("type", b.artype.as_str())
        .leaf("round_by", b.round_by)
        .leaf("tariff_rate", b.price)
        .leaf("start_time", &b.start_time)
        .leaf("end_time", &b.end_time);
    if x3 {
        e.leaf("daytype", &b.daytype).leaf("from", b.from)
    } else {
        e.leaf("from", b.from).leaf("daytype", &b.daytype)
    }
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
    use model::quirks::{AnswerSource, Quirks};
    use model::xml::Element;

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

    fn x3() -> Quirks {
        Quirks {
            tariff_rates_answers: AnswerSource::X3,
            ..Quirks::default()
        }
    }

    /// The names of `el`'s child elements.
    fn names(el: &Element) -> Vec<&str> {
        el.elements().map(|e| e.name.as_str()).collect()
    }

    /// The `destination_group_name` of every `<destination>` below `rates`.
    fn groups(rates: &Element) -> Vec<String> {
        rates
            .elements()
            .map(|d| {
                d.at("destination_group_name")
                    .expect("a group name")
                    .text_content()
            })
            .collect()
    }

    #[test]
    fn mor_answers_a_retail_tariff_grouped_by_destination_group() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "admin").p("tariff_id", 1).run(&mut w);
        assert_eq!(text(&r, "purpose"), "user");
        let rates = root(&r).at("rates").expect("rates");
        let g = groups(rates);
        assert_eq!(g.len(), 13, "{g:?}");
        let mut sorted = g.clone();
        sorted.sort();
        assert_eq!(g, sorted, "groups in name order");
        assert_eq!(g[0], "France - Fixed");
        assert_eq!(text(&r, "rates/destination/destination_group_type"), "FIX");
        let rate = root(&r).at("rates/destination/rate").expect("a band");
        assert_eq!(
            names(rate),
            [
                "duration",
                "type",
                "round_by",
                "tariff_rate",
                "start_time",
                "end_time",
                "from",
                "daytype"
            ]
        );
        assert_eq!(text(&r, "rates/destination/rate/duration"), "-1");
        assert_eq!(text(&r, "rates/destination/rate/type"), "minute");
        assert_eq!(text(&r, "rates/destination/rate/tariff_rate"), "0.03");
        // A wholesale tariff keeps the list of <rate>; M4 answers every tariff that way.
        let r = req(Product::Mor, M, "admin").p("tariff_id", 2).run(&mut w);
        assert!(names(root(&r).at("rates").expect("rates"))
            .iter()
            .all(|n| *n == "rate"));
        let mut w4 = world(Product::M4);
        let r = req(Product::M4, M, "admin").p("tariff_id", 1).run(&mut w4);
        assert_eq!(text(&r, "purpose"), "user");
        assert_eq!(text(&r, "rates/rate/prefix"), "370");
    }

    #[test]
    fn x3_ends_a_band_with_daytype_and_from_and_answers_minus_one_as_infinity() {
        let mut w = world(Product::Mor);
        let mut q = req(Product::Mor, M, "admin").p("tariff_id", 1);
        q.quirks = x3();
        let r = q.run(&mut w);
        let rate = root(&r).at("rates/destination/rate").expect("a band");
        assert_eq!(
            names(rate),
            [
                "duration",
                "type",
                "round_by",
                "tariff_rate",
                "start_time",
                "end_time",
                "daytype",
                "from"
            ]
        );
        assert_eq!(text(&r, "rates/destination/rate/duration"), "Infinity");
        // A bounded band keeps its minutes.
        let mut q = req(Product::Mor, M, "admin").p("user_id", 3);
        q.quirks = x3();
        let r = q.run(&mut w);
        assert_eq!(text(&r, "rates/destination/rate/duration"), "3");
        assert_eq!(text(&r, "rates/destination/rate/daytype"), "WD");
    }

    #[test]
    fn x3_answers_custom_rates_in_a_block_of_their_own_before_the_tariff() {
        let mut w = world(Product::Mor);
        let mut q = req(Product::Mor, M, "admin").p("user_id", 3);
        q.quirks = x3();
        let r = q.run(&mut w);
        let page = root(&r);
        assert_eq!(
            names(page),
            [
                "pagename",
                "tariff_name",
                "purpose",
                "currency",
                "rates",
                "pagename",
                "tariff_name",
                "purpose",
                "currency",
                "rates"
            ]
        );
        let texts: Vec<String> = page.elements().map(|e| e.text_content()).collect();
        assert_eq!(texts[1], "Custom Rates");
        assert_eq!(texts[2], "user");
        assert_eq!(texts[3], "USD");
        assert_eq!(texts[6], "Retail USD");
        let blocks: Vec<&Element> = page.elements().filter(|e| e.name == "rates").collect();
        assert_eq!(groups(blocks[0]), ["Lithuania MOB", "UK - Mobile"]);
        let tariff_groups = groups(blocks[1]);
        assert_eq!(tariff_groups.len(), 11, "{tariff_groups:?}");
        assert!(!tariff_groups
            .iter()
            .any(|g| g == "Lithuania MOB" || g == "UK - Mobile"));
        // The first custom group keeps its two bands in order.
        let bands: Vec<String> = blocks[0]
            .elements()
            .next()
            .expect("a group")
            .elements()
            .filter(|e| e.name == "rate")
            .map(|b| b.at("tariff_rate").expect("price").text_content())
            .collect();
        assert_eq!(bands, ["0.09", "0.07"]);
    }

    #[test]
    fn the_wiki_position_lists_custom_groups_first_in_the_tariffs_one_block() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "admin").p("user_id", 3).run(&mut w);
        let page = root(&r);
        assert_eq!(
            names(page),
            ["pagename", "tariff_name", "purpose", "currency", "rates"]
        );
        assert_eq!(text(&r, "tariff_name"), "Retail USD");
        let g = groups(page.at("rates").expect("rates"));
        assert_eq!(g.len(), 13, "{g:?}");
        assert_eq!(&g[..2], ["Lithuania MOB", "UK - Mobile"]);
        assert_eq!(text(&r, "rates/destination/rate/tariff_rate"), "0.09");
        assert_eq!(g.iter().filter(|n| *n == "Lithuania MOB").count(), 1);
    }

    #[test]
    fn custom_rates_come_with_user_id_or_with_no_id_but_not_with_tariff_id_alone() {
        let mut w = world(Product::Mor);
        let custom = |q: &mut super::super::testkit::Req, w: &mut crate::world::World| {
            q.quirks = x3();
            text(&q.run(w), "tariff_name") == "Custom Rates"
        };
        assert!(custom(&mut req(Product::Mor, M, "user3"), &mut w));
        assert!(custom(
            &mut req(Product::Mor, M, "admin")
                .p("user_id", 3)
                .p("tariff_id", 2),
            &mut w
        ));
        assert!(!custom(
            &mut req(Product::Mor, M, "admin").p("tariff_id", 1),
            &mut w
        ));
        assert!(!custom(
            &mut req(Product::Mor, M, "user3").p("tariff_id", 1),
            &mut w
        ));
        // Other users have none.
        assert!(!custom(&mut req(Product::Mor, M, "user1"), &mut w));
    }

    #[test]
    fn x3_checks_no_ownership_and_ignores_tariff_id_for_users() {
        let mut w = world(Product::Mor);
        let run = |caller: &str, params: &[(&str, &str)], w: &mut crate::world::World| {
            let mut q = req(Product::Mor, M, caller);
            for (k, v) in params {
                q = q.p(k, v);
            }
            q.quirks = x3();
            q.run(w)
        };
        // Any user by user_id, whoever asks (the page: a user reads only his own).
        let r = run("user1", &[("user_id", "2")], &mut w);
        assert_eq!(text(&r, "tariff_name"), "Wholesale EUR");
        let r = run("reseller", &[("user_id", "1")], &mut w);
        assert_eq!(text(&r, "tariff_name"), "Retail USD");
        let r = run("accountant", &[("user_id", "2")], &mut w);
        assert_eq!(text(&r, "tariff_name"), "Wholesale EUR");
        // A simple user's tariff_id is ignored: his own tariff, without custom rates.
        let r = run("user3", &[("tariff_id", "2")], &mut w);
        assert_eq!(text(&r, "tariff_name"), "Retail USD");
        // A reseller's tariff_id names his own tariffs only.
        let r = run("reseller", &[("tariff_id", "6")], &mut w);
        assert_eq!(text(&r, "tariff_name"), "Reseller Retail");
        let r = run("reseller", &[("tariff_id", "2")], &mut w);
        assert_eq!(err(&r).0, "No tariff found");
        // An unknown user has no tariff.
        let r = run("admin", &[("user_id", "999")], &mut w);
        assert_eq!(err(&r).0, "No tariff found");
    }

    #[test]
    fn x3_answers_custom_rates_then_no_tariff_found_for_a_user_without_a_tariff() {
        let mut w = world(Product::Mor);
        w.user_mut(3).expect("user3").tariff_id = None;
        let mut q = req(Product::Mor, M, "admin").p("user_id", 3);
        q.quirks = x3();
        let r = q.run(&mut w);
        assert_eq!(text(&r, "tariff_name"), "Custom Rates");
        assert_eq!(text(&r, "status/error"), "No tariff found");
        // The wiki position answers the error alone.
        let r = req(Product::Mor, M, "admin").p("user_id", 3).run(&mut w);
        assert_eq!(err(&r), ("No tariff found", Wrapper::Page));
    }
}
