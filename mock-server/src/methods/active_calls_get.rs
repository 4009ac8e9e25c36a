//! active_calls_get: the calls in progress the caller may see, filtered. Page: MOR API active
//! calls get (from MOR X14; revisions oldid 29450 and 29486 are stored, the sample cut after
//! `localized_dst`). Each row joins the call with its user, source device, destination (by the
//! longest prefix of the number dialled), provider and DID, and its answer time and duration
//! are relative to the clock's now, which is why it is code and not a declared list.
//!
//! Filters (all optional, together): `s_status` (`ringing` or `answered`, any case; another
//! value answers `Status value must be Ringing or Answered`, the PHP client's text), `s_server`
//! (a server id; one no call runs on and not the first server answers `Server was not found`,
//! PHP), `s_user_id` and, only with it, `s_device` (the source), `s_dst_user_id` and, only with
//! it, `s_dst_device` (the page: "does not work without"), `s_provider`, `s_destination_group`
//! (the id each row shows), `s_country` (the destination's direction name), and the patterns
//! `s_did`, `s_destination` and `s_source`: a prefix of the DID, the number dialled and the
//! caller's number, where `%` stands for any run of characters (the page: `%25370` for
//! `%370`). The admin and accountants see every call, a reseller his own and his users', a
//! simple user his own (page: Admin, Reseller, User; accountants INF).

use model::catalogue::Wrapper;
use model::world::{format_datetime, ActiveCall};
use model::xml::Element;

use super::{nice_name, parse_id, xml, Ctx, Reply};
use crate::world::World;

/// The error of an `s_status` other than ringing or answered (PHP client).
pub const BAD_STATUS: &str = "Status value must be Ringing or Answered";
/// The error of an `s_server` naming no server (PHP client).
pub const NO_SERVER: &str = "Server was not found";

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    let status = match ctx.arg("s_status").map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("ringing") => Some(false),
        Some("answered") => Some(true),
        Some(_) => return ctx.error(BAD_STATUS, Wrapper::PageStatus),
    };
    let server = match ctx.arg("s_server") {
        None => None,
        Some(raw) => match parse_id(raw).filter(|&id| server_exists(world, id)) {
            Some(id) => Some(id),
            None => return ctx.error(NO_SERVER, Wrapper::PageStatus),
        },
    };
    let id_filter = |name: &str| ctx.arg(name).map(parse_id);
    let user = id_filter("s_user_id");
    let device = user.and(id_filter("s_device"));
    let dst_user = id_filter("s_dst_user_id");
    let dst_device = dst_user.and(id_filter("s_dst_device"));
    let provider = id_filter("s_provider");
    let group = id_filter("s_destination_group");
    let is = |f: Option<Option<u64>>, v: u64| f.is_none_or(|want| want == Some(v));
    let mut page = Element::new("page");
    for (i, a) in world.data.active_calls.iter().enumerate() {
        let dest = destination(world, a);
        let group_id = group_id(world, dest);
        let direction = dest.map_or("", |d| world.data.destinations[d].direction.as_str());
        let keep = status.is_none_or(|s| s == a.answered)
            && server.is_none_or(|s| s == a.server_id)
            && is(user, a.user_id)
            && is(device, a.device_id)
            && is(dst_user, a.dst_user_id)
            && is(dst_device, a.dst_device_id)
            && is(provider, a.provider_id)
            && group.is_none_or(|g| g.is_some() && g == group_id)
            && ctx
                .arg("s_country")
                .is_none_or(|c| c.eq_ignore_ascii_case(direction))
            && ctx.arg("s_did").is_none_or(|p| like_prefix(p, &a.did))
            && ctx
                .arg("s_destination")
                .is_none_or(|p| like_prefix(p, &a.dst))
            && ctx.arg("s_source").is_none_or(|p| like_prefix(p, &a.src))
            && ctx.can_act_on(world, a.user_id);
        if keep {
            page.push(row(ctx, world, a, i));
        }
    }
    xml(page)
}

/// The destination of a call out (by the longest prefix of the number dialled); a call to a
/// local device has none.
fn destination(world: &World, a: &ActiveCall) -> Option<usize> {
    (a.dst_user_id == 0)
        .then(|| world.destination_index(&a.dst))
        .flatten()
}

/// Whether a server of this id exists: the first server always, and every server a call runs
/// on (the world keeps no server list of its own).
fn server_exists(world: &World, id: u64) -> bool {
    id == 1 || world.data.active_calls.iter().any(|a| a.server_id == id)
}

/// The id of a destination's group: its place among the world's group names, from 1.
fn group_id(world: &World, dest: Option<usize>) -> Option<u64> {
    let g = world.dest_group_id(u32::try_from(dest?).ok()?)?;
    Some(u64::from(g) + 1)
}

/// Whether `text` starts with `pattern`, where `%` in the pattern stands for any run of
/// characters (SQL `LIKE 'pattern%'`).
pub fn like_prefix(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => true,
            Some((b'%', rest)) => (0..=t.len()).any(|k| go(rest, &t[k..])),
            Some((c, rest)) => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// One `<active_call>`: the page's elements up to `localized_dst` in its order, then the
/// destination, provider, server, DID and destination user (element names inferred from the
/// filters: the stored copies of the page cut the sample there).
fn row(ctx: &Ctx<'_>, world: &World, a: &ActiveCall, index: usize) -> Element {
    let id = if a.id == 0 { index as u64 + 1 } else { a.id };
    let start = ctx.now - a.start_ago as i64;
    let answered_at = a
        .answered
        .then(|| start + a.ringing.min(a.start_ago) as i64);
    let device = world.device(a.device_id);
    let dest = destination(world, a);
    let destination = dest.map(|d| &world.data.destinations[d]);
    let provider = world.provider(a.provider_id);
    Element::new("active_call")
        .leaf("id", id)
        .leaf("uniqueid", format!("{start}.{id}"))
        .leaf("status", if a.answered { "Answered" } else { "Ringing" })
        .leaf(
            "answer_time",
            answered_at.map(format_datetime).unwrap_or_default(),
        )
        .leaf(
            "duration",
            answered_at
                .map(|t| (ctx.now - t).to_string())
                .unwrap_or_default(),
        )
        .leaf("src", &a.src)
        .leaf("user_id", a.user_id)
        .leaf(
            "user",
            world.user(a.user_id).map(nice_name).unwrap_or_default(),
        )
        .leaf("src_device_id", a.device_id)
        .leaf("device_type", device.map_or("", |d| d.device_type.as_str()))
        .leaf("device_extension", device.map_or("", |d| d.name.as_str()))
        .leaf("device_name", device.map_or("", |d| d.name.as_str()))
        .leaf("device_istrunk", 0)
        .leaf("device_ani", 0)
        .leaf("localized_dst", &a.dst)
        .leaf(
            "direction_name",
            destination.map_or("", |d| d.direction.as_str()),
        )
        .leaf("destination", destination.map_or("", |d| d.name.as_str()))
        .leaf("prefix", destination.map_or("", |d| d.prefix.as_str()))
        .leaf(
            "destination_group_id",
            group_id(world, dest)
                .map(|g| g.to_string())
                .unwrap_or_default(),
        )
        .leaf("provider_id", a.provider_id)
        .leaf("provider_name", provider.map_or("", |p| p.name.as_str()))
        .leaf("server_id", a.server_id)
        .leaf("did", &a.did)
        .leaf("dst_user_id", a.dst_user_id)
        .leaf("dst_device_id", a.dst_device_id)
        .leaf("start_time", format_datetime(start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::testkit::*;
    use model::catalogue::Product;

    const M: &str = "active_calls_get";

    fn ids(r: &Reply) -> Vec<String> {
        root(r)
            .elements()
            .map(|c| c.find("id").map(|e| e.text_content()).unwrap_or_default())
            .collect()
    }

    #[test]
    fn lists_the_calls_in_progress_joined_and_timed_from_now() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "admin").run(&mut w);
        assert_shape(Product::Mor, M, &r);
        assert_eq!(ids(&r), ["1", "2", "3", "4"]);
        // user1's call started 125 s ago and rang 5 s: answered 120 s ago.
        assert_eq!(text(&r, "active_call/status"), "Answered");
        assert_eq!(text(&r, "active_call/duration"), "120");
        assert_eq!(
            text(&r, "active_call/answer_time"),
            format_datetime(NOW - 120)
        );
        assert_eq!(text(&r, "active_call/user"), "Test User 1");
        assert_eq!(text(&r, "active_call/destination"), "Lithuania mobile");
        assert_eq!(text(&r, "active_call/provider_name"), "Test Provider");
        assert_eq!(text(&r, "active_call[2]/status"), "Ringing");
        assert_eq!(text(&r, "active_call[2]/duration"), "");
        assert_eq!(text(&r, "active_call[2]/answer_time"), "");
    }

    #[test]
    fn filters_narrow_the_list_and_scopes_hold() {
        let mut w = world(Product::Mor);
        let run = |w: &mut World, caller: &str, params: &[(&str, &str)]| {
            let mut q = req(Product::Mor, M, caller);
            for (k, v) in params {
                q = q.p(k, v);
            }
            ids(&q.run(w))
        };
        assert_eq!(run(&mut w, "admin", &[("s_status", "RINGING")]), ["2"]);
        assert_eq!(run(&mut w, "admin", &[("s_server", "2")]), ["2"]);
        assert_eq!(run(&mut w, "admin", &[("s_user_id", "1")]), ["1", "3"]);
        // s_device works only with s_user_id.
        assert_eq!(run(&mut w, "admin", &[("s_device", "999")]).len(), 4);
        assert!(run(&mut w, "admin", &[("s_user_id", "1"), ("s_device", "999")]).is_empty());
        assert_eq!(run(&mut w, "admin", &[("s_dst_user_id", "3")]), ["3"]);
        assert_eq!(run(&mut w, "admin", &[("s_destination", "%0012")]), ["1"]);
        assert_eq!(run(&mut w, "admin", &[("s_destination", "3706")]), ["1"]);
        assert_eq!(run(&mut w, "admin", &[("s_did", "370")]), ["4"]);
        assert_eq!(run(&mut w, "admin", &[("s_country", "iran")]), ["2"]);
        assert_eq!(run(&mut w, "admin", &[("s_provider", "3")]), ["4"]);
        // The reseller sees his user ruser1's call, user1 his own two.
        assert_eq!(run(&mut w, "reseller", &[]), ["4"]);
        assert_eq!(run(&mut w, "user1", &[]), ["1", "3"]);
        assert_eq!(
            run(&mut w, "user1", &[("s_user_id", "2")]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_bad_status_or_an_unknown_server_is_an_error() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "admin")
            .p("s_status", "busy")
            .run(&mut w);
        assert_eq!(err(&r), (BAD_STATUS, Wrapper::PageStatus));
        let r = req(Product::Mor, M, "admin")
            .p("s_server", "77")
            .run(&mut w);
        assert_eq!(err(&r), (NO_SERVER, Wrapper::PageStatus));
        // Server 1 exists even with no call on it.
        w.data.active_calls.retain(|a| a.server_id != 1);
        let r = req(Product::Mor, M, "admin").p("s_server", "1").run(&mut w);
        assert!(root(&r).children.is_empty());
    }

    #[test]
    fn a_like_pattern_matches_a_prefix_with_percent_as_any_run() {
        assert!(like_prefix("370", "37060012345"));
        assert!(like_prefix("%0012", "37060012345"));
        assert!(like_prefix("3%12", "37060012345"));
        assert!(!like_prefix("371", "37060012345"));
        assert!(!like_prefix("370", ""));
        assert!(like_prefix("", ""));
    }
}
