//! user_calls_get (alias user_calls): the calls of a user in a period, filtered and ordered.
//! Page: MOR API user_calls_get (rev May 2013; its sample is the element set for both products),
//! M4 user_calls_get (parameters).
//!
//! `s_user` names the user (MOR admin: or `s_reseller`, the calls of a reseller's users; the
//! admin may also send `s_user=all`). Filters: `s_call_type` (`all`, `answered`, `no answer`
//! (or `no_answer`), `failed`, `busy`; another value matches nothing), M4
//! `s_origination_point` / `s_termination_point` (admin only), MOR `s_device` / `s_provider`
//! (admin, reseller PRO) / `s_did` (admin; the DID number), `s_hgc`, `s_destination` (prefix of
//! the dialled number), `only_did`. Parameters a role may not use are ignored. `order_by`
//! (unknown values: `time`) with `order_desc`; ties keep time order.
//!
//! `userid`/`username` name the caller, as in the sample (admin asking: 0, admin). Prices are
//! Ruby-float style as stored; `nice_billsec` is billsec as a float (`20.0`); `profit` is user
//! price minus provider price; `dispod` is `DISPOSITION(hangup cause)`.

use std::cmp::Ordering;

use model::catalogue::{Product, Role, Wrapper};
use model::quirks::AnswerSource;
use model::world::{format_datetime, Call, Money};
use model::xml::Element;

use super::{nice_name, parse_id, xml, Ctx, Reply};
use crate::defect::Defect;
use crate::world::World;

/// How Rails (ActiveSupport::TimeZone#to_s) prints its default zone, the mock's clock's zone.
const RAILS_UTC: &str = "(GMT+00:00) UTC";

/// Which users' calls are listed.
enum Whose {
    All,
    User(u64),
    Reseller(u64),
}

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    answer(ctx, world, None)
}

/// The answer, as broken by a calls defect when one is given (see `defect`).
pub(crate) fn answer(ctx: &Ctx<'_>, world: &World, defect: Option<Defect>) -> Reply {
    let role = ctx.role();
    let admin = role == Some(Role::Admin);
    let s_user = ctx.arg("s_user");
    let whose = match (s_user, ctx.arg("s_reseller")) {
        (Some("all"), _) if admin => Whose::All,
        (Some(v), _) => match parse_id(v).and_then(|id| world.user(id)) {
            Some(u) => Whose::User(u.id),
            None => return ctx.error("User was not found", Wrapper::Page),
        },
        (None, Some(r)) if admin && ctx.product == Product::Mor => {
            match parse_id(r)
                .and_then(|id| world.user(id))
                .filter(|u| u.role.is_reseller())
            {
                Some(u) => Whose::Reseller(u.id),
                None => return ctx.error("User was not found", Wrapper::Page),
            }
        }
        _ => return ctx.error("User was not found", Wrapper::Page),
    };
    if let Whose::User(id) = whose {
        if !ctx.can_act_on(world, id) {
            return ctx.access_denied();
        }
    }
    let from = ctx.time_param("period_start", ctx.today.0);
    let till = ctx.time_param("period_end", ctx.today.1);
    let allowed = |name: &str| {
        ctx.method
            .param(name)
            .is_none_or(|p| p.roles.is_empty() || role.is_some_and(|r| p.roles.contains(&r)))
    };
    let opt = |name: &str| -> Option<String> {
        if !allowed(name) {
            return None;
        }
        ctx.arg(name).filter(|v| *v != "all").map(str::to_string)
    };
    let call_type = ctx.arg("s_call_type").unwrap_or("all").to_string();
    let (device_param, tp_param) = match ctx.product {
        Product::M4 => ("s_origination_point", "s_termination_point"),
        Product::Mor => ("s_device", "s_provider"),
    };
    let device = opt(device_param);
    let term = opt(tp_param);
    let hgc = opt("s_hgc");
    let did = if ctx.product == Product::Mor {
        opt("s_did")
    } else {
        None
    };
    let dest = ctx.arg("s_destination").map(str::to_string);
    let only_did = ctx.flag("only_did");
    let id_matches =
        |v: &Option<String>, actual: u64| v.as_deref().is_none_or(|s| parse_id(s) == Some(actual));
    let period = if defect == Some(Defect::CallsPeriodIgnored) {
        world.calls_between(i64::MIN, i64::MAX)
    } else {
        world.calls_between(from, till)
    };
    let everyone = defect == Some(Defect::CallsOtherUsersVisible) && role == Some(Role::User);
    let whose_call = |c: &&Call| match whose {
        _ if everyone => true,
        Whose::All => true,
        Whose::User(id) => c.user_id == id,
        Whose::Reseller(r) => c.reseller_id == r || world.is_owned_by(c.user_id, r),
    };
    let any_type = defect == Some(Defect::CallsCallTypeIgnored);
    let mut calls: Vec<&Call> = world.data.calls[period.clone()]
        .iter()
        .filter(whose_call)
        .filter(|c| match call_type.as_str() {
            _ if any_type => true,
            "all" => true,
            "no_answer" => c.disposition.call_type() == "no answer",
            t => c.disposition.call_type() == t,
        })
        .filter(|c| id_matches(&device, c.device_id))
        .filter(|c| match ctx.product {
            Product::M4 => id_matches(&term, c.tp_device_id),
            Product::Mor => id_matches(&term, c.provider_id),
        })
        .filter(|c| {
            hgc.as_deref()
                .is_none_or(|h| h.trim() == c.hangupcause.to_string())
        })
        .filter(|c| did.as_deref().is_none_or(|d| d == c.did))
        .filter(|c| dest.as_deref().is_none_or(|d| c.dst.starts_with(d)))
        .filter(|c| !only_did || !c.did.is_empty())
        .collect();
    let order_by = ctx.arg("order_by").unwrap_or("time");
    calls.sort_by(|a, b| compare(order_by, world, a, b));
    if ctx.flag("order_desc") && defect != Some(Defect::CallsOrderDescIgnored) {
        calls.reverse();
    }
    let caller = ctx.caller;
    let mut list = Element::new("calls");
    // MOR's call rows carry the user's currency, its exchange rate and the user id (MOR API
    // user_calls_get, the 2019 revisions: oldid 24461 adds user_id beside the X11 user_currency
    // and user_exchange_rate); M4's do not.
    let mor_default =
        (ctx.product == Product::Mor).then_some(ctx.settings.default_currency.as_str());
    // Quirk user_calls_answers x3 (C 1404-1519): a <timezone> after calldate2, show_destination
    // when s_destination is sent, show_hgc as the cause id or `all`, no <calls> when empty.
    let x3 = ctx.quirks.user_calls_answers == AnswerSource::X3;
    for c in &calls {
        list.push(call_element(world, c, mor_default, x3));
    }
    let show = |name: &str| ctx.arg(name).unwrap_or("all").to_string();
    let show_hgc = if x3 {
        hgc.as_deref()
            .and_then(|h| h.trim().parse::<u32>().ok())
            .filter(|&h| h > 0)
            .map_or_else(|| "all".to_string(), |h| h.to_string())
    } else {
        show("s_hgc")
    };
    let stat = Element::new("calls_stat")
        .child(
            Element::new("period")
                .leaf("period_start", format_datetime(from))
                .leaf("period_end", format_datetime(till)),
        )
        .leaf("show_user", s_user.unwrap_or("all"))
        .leaf("show_device", show(device_param))
        .leaf("show_status", &call_type)
        .leaf("show_provider", show(tp_param))
        .leaf("show_hgc", show_hgc)
        .leaf(
            "show_did",
            if only_did {
                "1".to_string()
            } else {
                show("s_did")
            },
        );
    let stat = match ctx.arg("s_destination").filter(|d| x3 && !d.is_empty()) {
        Some(d) => stat.leaf("show_destination", d),
        None => stat,
    };
    let stat = if x3 && calls.is_empty() {
        stat
    } else {
        stat.child(list)
    };
    xml(Element::new("page")
        .leaf("pagename", "Calls")
        .leaf("language", "en")
        .leaf("error_msg", "")
        .leaf("userid", caller.map_or(0, |u| u.id))
        .leaf("username", caller.map_or("", |u| u.username.as_str()))
        .leaf(
            "total_calls",
            if defect == Some(Defect::CallsTotalBeforeFilter) {
                world.data.calls[period].iter().filter(whose_call).count()
            } else {
                calls.len()
            },
        )
        .leaf("currency", &ctx.settings.default_currency)
        .child(stat))
}

fn compare(order_by: &str, world: &World, a: &Call, b: &Call) -> Ordering {
    let name = |c: &Call| {
        world
            .user(c.user_id)
            .map_or(String::new(), |u| u.username.clone())
    };
    let pname = |c: &Call| {
        world
            .provider(c.provider_id)
            .map_or(String::new(), |p| p.name.clone())
    };
    let rname = |c: &Call| {
        world
            .user(c.reseller_id)
            .map_or(String::new(), |u| u.username.clone())
    };
    let primary = match order_by {
        "src" => a.src.cmp(&b.src),
        "dst" => a.dst.cmp(&b.dst),
        "prefix" => a.prefix.cmp(&b.prefix),
        "nice_billsec" => a.billsec.cmp(&b.billsec),
        "hgc" => a.hangupcause.cmp(&b.hangupcause),
        "server" => a.server_id.cmp(&b.server_id),
        "p_name" => pname(a).cmp(&pname(b)),
        "p_rate" => a.provider_rate.cmp(&b.provider_rate),
        "p_price" => a.provider_price.cmp(&b.provider_price),
        "reseller" => rname(a).cmp(&rname(b)),
        "r_rate" => a.reseller_rate.cmp(&b.reseller_rate),
        "r_price" => a.reseller_price.cmp(&b.reseller_price),
        "user" => name(a).cmp(&name(b)),
        "u_rate" => a.user_rate.cmp(&b.user_rate),
        "u_price" => a.user_price.cmp(&b.user_price),
        "number" => a.did.cmp(&b.did),
        "d_provider" => a.did_prov_price.cmp(&b.did_prov_price),
        "d_inc" => a.did_inc_price.cmp(&b.did_inc_price),
        "d_owner" => a.did_price.cmp(&b.did_price),
        _ => Ordering::Equal,
    };
    // Calls come in time order, so a stable sort keeps time order among equals.
    primary
}

/// One call row; `mor_default`: the default currency, when the row is MOR's (with
/// `user_currency`, `user_exchange_rate` and `user_id`).
/// `x3`: the quirk user_calls_answers' X3 position, which adds `<timezone>` after `calldate2`.
fn call_element(world: &World, c: &Call, mor_default: Option<&str>, x3: bool) -> Element {
    let dest = world.destination_of(if c.prefix.is_empty() {
        &c.dst
    } else {
        &c.prefix
    });
    let t = c.calldate.resolve(world.today_start).unwrap_or(0);
    let user = world.user(c.user_id);
    let row = Element::new("call").leaf("calldate2", format_datetime(t));
    // The mock's clock is UTC; Rails prints its default zone `UTC` as `(GMT+00:00) UTC`.
    let row = if x3 {
        row.leaf("timezone", RAILS_UTC)
    } else {
        row
    };
    let row = row
        .leaf("clid", &c.clid)
        .leaf(
            "destination",
            dest.map_or(String::new(), |d| format!("{} {}", d.group, d.name)),
        )
        .leaf("did", &c.did)
        .leaf("did_inc_price", c.did_inc_price)
        .leaf("did_price", c.did_price)
        .leaf("did_prov_price", c.did_prov_price)
        .leaf(
            "dispod",
            format!("{}({})", c.disposition.as_str(), c.hangupcause),
        )
        .leaf("dst", &c.dst)
        .leaf("nice_billsec", Money::units(i64::from(c.billsec)))
        .leaf(
            "nice_reseller",
            world
                .user(c.reseller_id)
                .filter(|_| c.reseller_id != 0)
                .map_or(String::new(), nice_name),
        )
        .leaf(
            "prefix",
            dest.map_or(c.prefix.as_str(), |d| d.prefix.as_str()),
        )
        .leaf("profit", c.user_price - c.provider_price)
        .leaf(
            "provider_name",
            world
                .provider(c.provider_id)
                .map_or("", |p| p.name.as_str()),
        )
        .leaf("provider_price", c.provider_price)
        .leaf("provider_rate", c.provider_rate)
        .leaf("reseller_price", c.reseller_price)
        .leaf("reseller_rate", c.reseller_rate)
        .leaf("server_id", c.server_id)
        .leaf("src", &c.src)
        .leaf("user", user.map_or(String::new(), nice_name));
    let row = match mor_default {
        Some(default) => {
            let currency = user.map_or(default, |u| u.currency.as_str());
            let rate = world.rate_of(currency, default).unwrap_or(Money::units(1));
            row.leaf("user_currency", currency)
                .leaf("user_exchange_rate", rate.fixed(15))
                .leaf("user_id", c.user_id)
        }
        None => row,
    };
    row.leaf("user_price", c.user_price)
        .leaf("user_rate", c.user_rate)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::Reply;
    use model::catalogue::{Product, Wrapper};

    const M: &str = "user_calls_get";

    fn count(r: &Reply) -> usize {
        let n: usize = text(r, "total_calls").parse().expect("test data is valid");
        assert_eq!(
            root(r)
                .at("calls_stat/calls")
                .expect("test data is valid")
                .elements()
                .count(),
            n
        );
        n
    }

    fn month() -> i64 {
        model::world::month_start(today())
    }

    #[test]
    fn lists_todays_calls_of_a_user_with_the_full_element_set() {
        for p in Product::ALL {
            let mut w = world(p);
            let r = req(p, M, "admin").p("s_user", 1).run(&mut w);
            assert_shape(p, M, &r);
            assert!(count(&r) > 0, "{p}");
            let call = root(&r)
                .at("calls_stat/calls/call")
                .expect("test data is valid");
            // MOR adds user_currency, user_exchange_rate and user_id (2019 revisions).
            let want = if p == Product::Mor { 26 } else { 23 };
            assert_eq!(call.elements().count(), want, "{p}");
            assert_eq!(text(&r, "calls_stat/period/period_start").len(), 19);
        }
    }

    #[test]
    fn a_narrower_period_never_returns_more_calls() {
        let mut w = world(Product::M4);
        let wide = req(Product::M4, M, "admin")
            .p("s_user", 1)
            .p("period_start", month())
            .p("period_end", NOW)
            .run(&mut w);
        let narrow = req(Product::M4, M, "admin")
            .p("s_user", 1)
            .p("period_start", month() + 86_400 * 5)
            .p("period_end", NOW)
            .run(&mut w);
        assert!(count(&wide) >= count(&narrow));
        assert!(count(&wide) > count(&req(Product::M4, M, "admin").p("s_user", 1).run(&mut w)));
    }

    #[test]
    fn call_types_partition_all_calls() {
        let mut w = world(Product::Mor);
        let base = |t: &str| {
            req(Product::Mor, M, "admin")
                .p("s_user", 2)
                .p("period_start", month())
                .p("s_call_type", t)
        };
        let all = count(&base("all").run(&mut w));
        let parts: usize = ["answered", "no answer", "busy", "failed"]
            .iter()
            .map(|t| count(&base(t).run(&mut w)))
            .sum();
        assert_eq!(all, parts);
        assert_eq!(count(&base("bogus").run(&mut w)), 0);
    }

    #[test]
    fn every_order_by_value_sorts_and_order_desc_reverses() {
        let mut w = world(Product::Mor);
        let m = model::Catalogue::embedded()
            .method(Product::Mor, M)
            .expect("test data is valid");
        let values = m
            .param("order_by")
            .expect("test data is valid")
            .values
            .clone();
        for v in values {
            let asc = req(Product::Mor, M, "admin")
                .p("s_user", 1)
                .p("period_start", month())
                .p("order_by", &v)
                .run(&mut w);
            let desc = req(Product::Mor, M, "admin")
                .p("s_user", 1)
                .p("period_start", month())
                .p("order_by", &v)
                .p("order_desc", 1)
                .run(&mut w);
            let ids = |r: &Reply| -> Vec<String> {
                root(r)
                    .at("calls_stat/calls")
                    .expect("test data is valid")
                    .elements()
                    .map(|c| {
                        c.find("calldate2")
                            .expect("test data is valid")
                            .text_content()
                            + &c.find("dst").expect("test data is valid").text_content()
                    })
                    .collect()
            };
            let mut a = ids(&asc);
            a.reverse();
            assert_eq!(a, ids(&desc), "{v}");
        }
        let r = req(Product::Mor, M, "admin")
            .p("s_user", 1)
            .p("period_start", month())
            .p("order_by", "nice_billsec")
            .run(&mut w);
        let secs: Vec<f64> = root(&r)
            .at("calls_stat/calls")
            .expect("test data is valid")
            .elements()
            .map(|c| {
                c.find("nice_billsec")
                    .expect("test data is valid")
                    .text_content()
                    .parse()
                    .expect("test data is valid")
            })
            .collect();
        assert!(secs.windows(2).all(|x| x[0] <= x[1]));
    }

    #[test]
    fn filters_by_device_destination_hgc_and_did() {
        let mut w = world(Product::M4);
        let q = |k: &str, v: &str| {
            req(Product::M4, M, "admin")
                .p("s_user", 1)
                .p("period_start", month())
                .p(k, v)
        };
        let all = count(&q("s_call_type", "all").run(&mut w));
        let d1 = count(&q("s_origination_point", "1").run(&mut w));
        let d2 = count(&q("s_origination_point", "2").run(&mut w));
        assert_eq!(all, d1 + d2);
        let r = q("s_destination", "3706").run(&mut w);
        for c in root(&r)
            .at("calls_stat/calls")
            .expect("test data is valid")
            .elements()
        {
            assert!(c
                .find("dst")
                .expect("test data is valid")
                .text_content()
                .starts_with("3706"));
        }
        let busy = count(&q("s_hgc", "17").run(&mut w));
        assert_eq!(busy, count(&q("s_call_type", "busy").run(&mut w)));
        let tps: usize = (101..=103)
            .map(|d| count(&q("s_termination_point", &d.to_string()).run(&mut w)))
            .sum();
        assert_eq!(tps, all);
        let mut w = world(Product::Mor);
        let q = |k: &str, v: &str| {
            req(Product::Mor, M, "admin")
                .p("s_user", "all")
                .p("period_start", month())
                .p(k, v)
        };
        let dids = count(&q("only_did", "1").run(&mut w));
        assert!(dids > 0);
        let r = q("only_did", "1").run(&mut w);
        let one = root(&r)
            .at("calls_stat/calls/call/did")
            .expect("test data is valid")
            .text_content();
        assert!(count(&q("s_did", &one).run(&mut w)) >= 1);
    }

    #[test]
    fn users_see_only_their_own_calls_and_resellers_their_users() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "user1").p("s_user", 2).run(&mut w);
        assert_eq!(err(&r).0, "Access Denied");
        let r = req(Product::Mor, M, "user1").p("s_user", 1).run(&mut w);
        assert_eq!(text(&r, "username"), "user1");
        let r = req(Product::Mor, M, "reseller").p("s_user", 7).run(&mut w);
        assert!(count(&r) < usize::MAX);
        let r = req(Product::Mor, M, "admin")
            .p("s_reseller", 4)
            .p("period_start", month())
            .run(&mut w);
        assert!(count(&r) > 0);
        for (k, v) in [("s_user", "999"), ("s_user", "x")] {
            let r = req(Product::Mor, M, "admin").p(k, v).run(&mut w);
            assert_eq!(err(&r), ("User was not found", Wrapper::Bare));
        }
        let r = req(Product::Mor, M, "admin").run(&mut w);
        assert_eq!(err(&r).0, "User was not found");
    }

    #[test]
    fn bad_timestamps_read_as_ruby_to_i_and_never_panic() {
        let mut w = world(Product::M4);
        let r = req(Product::M4, M, "admin")
            .p("s_user", 1)
            .p("period_start", "abc")
            .p("period_end", "99999999999999999999999")
            .run(&mut w);
        assert_eq!(count(&r), 0);
        let r = req(Product::M4, M, "admin")
            .p("s_user", 1)
            .p("period_start", "-5")
            .p("period_end", NOW)
            .run(&mut w);
        assert!(count(&r) > 0);
    }
}
