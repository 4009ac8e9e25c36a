//! tariff_retail_import (alias import_tariff_retail): writes the retail rates of an XML tariff
//! into the caller's retail tariff, creating it when its id names none. Page: MOR API tariff
//! retail import (MOR 11 revisions 11330 and 14942, 2013; from MOR X4 under this name); the
//! checks and answers follow the MOR X3 action `import_tariff_retail` (C, and its helpers
//! `check_params_name_id`, `check_params_rates`, `create_rates`, `create_rates_merge`,
//! `check_rates_params`).
//!
//! The XML: `<tariff><name/><id/><destinations><destination><destination_group_name/>
//! <destination_group_type/><rates>...</rates>...</destination></destinations></tariff>`, each
//! `<rates>` one band (`rate_price`, `rate_round_by`, `rate_type`, `rate_start_time`,
//! `rate_end_time`, `rate_duration`, `day_type`). In order: no `xml` answers `No XML`; text
//! without `<` `File does not exist` (XmlSimple reads such text as a file name); XML that does
//! not parse `Bad XML data`; no id `No tariff id`, no name `No tariff name`. The id names a
//! tariff: it must be the caller's (`Tariff belongs to other user!`) and have that name (`TARIFF
//! NAME WITH THIS ID DO NOT MATCH !!!FOUND <name>`). It names none: a retail tariff of the
//! caller is created with the name and the caller's currency under the next free id (not the
//! XML's), unless a tariff already has that name (`TARIFF with same name exists, ID:<id>!!!
//! CHANGE NAME OR ID` when it is a retail tariff of the caller or the caller is the admin, else
//! `TARIFF with same name exists, it belongs to other user! CHANGE NAME OR ID`). No destination
//! answers `No destinations!` with the tariff's id and name (the tariff stays created, as in
//! X3).
//!
//! Each destination names a destination group by name and type; an unknown one is listed under
//! `bad_destinations`. Each band is checked as X3 checks it (a price of digits, `.`, `+`, `-`; a
//! round-by of digits; type `minute` or `event`; times; day type empty, `WD` or `FD`; a
//! duration of digits, `.`, `-`), and here also that the times are times of day: a bad band is
//! listed under `destination_with_bad_rates`. Bands of the XML whose periods (same day type)
//! overlap with other bounds are dropped and listed under
//! `destination_with_time_collisions_in_xml`; bands overlapping a period the tariff already
//! has under `destination_with_time_collisions_in_db`; a band whose day type mixes every-day with
//! work/free days against the tariff's under `destination_with_day_type_collision`. The rest
//! are appended to the group's bands: each period's bands follow each other (`from` is the
//! previous band's `from` plus its duration; after an event band the same `from`), nothing
//! follows a band lasting to the end of the call, and a minute band shorter than its round-by
//! is a bad band. Every change is made together, after every check, under the world's write
//! lock: a later tariff_rates_get shows it.
//!
//! Who may import is quirk `retail_import_answers` (the page names no role): by default the
//! catalogue's access (the admin and resellers) has been checked before the handler runs; at
//! position `x3` no role is (the X3 action checks none), and a tariff is the caller's when its
//! owner is his id, whatever his role.

use model::catalogue::Wrapper;
use model::world::{GroupRates, Money, RateBand, RateKind, Tariff};
use model::xml::Element;

use super::tariff_rates_get::retail_groups;
use super::{xml, Ctx, Reply};
use crate::world::World;

/// The error of a request without `xml` (X3).
pub const NO_XML: &str = "No XML";
/// The error of text XmlSimple takes for a file name (page, X3).
pub const NO_FILE: &str = "File does not exist";
/// The error of XML that does not parse (page, X3).
pub const BAD_XML: &str = "Bad XML data";
/// The error of a tariff without an id (X3).
pub const NO_ID: &str = "No tariff id";
/// The error of a tariff without a name (X3).
pub const NO_NAME: &str = "No tariff name";
/// The error of a tariff of another owner (page 2013, X3).
pub const NOT_YOURS: &str = "Tariff belongs to other user!";
/// The error of XML without destinations (page, X3).
pub const NO_DESTINATIONS: &str = "No destinations!";

/// One band as the XML gives it.
#[derive(Debug, Clone, Default)]
struct XmlRate {
    price: String,
    round_by: String,
    kind: String,
    start: String,
    end: String,
    duration: String,
    day_type: Option<String>,
}

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &mut World) -> Reply {
    let fail = |text: &str| ctx.error(text, Wrapper::Response);
    let Some(text) = ctx.arg("xml") else {
        return fail(NO_XML);
    };
    if !text.contains('<') {
        return fail(NO_FILE);
    }
    let Ok(doc) = model::xml::parse(text) else {
        return fail(BAD_XML);
    };
    let field = |e: &Element, name: &str| e.find(name).map(|x| x.text_content().trim().to_string());
    let root = &doc.root;
    let Some(xml_id) = field(root, "id").filter(|v| !v.is_empty()) else {
        return fail(NO_ID);
    };
    let Some(name) = field(root, "name").filter(|v| !v.is_empty()) else {
        return fail(NO_NAME);
    };
    let caller = ctx.caller_id();
    let is_admin = ctx.caller.is_some_and(|c| c.id == 0);
    // The tariff: found by id (Ruby's to_i) or created.
    let found = super::ruby_to_i(&xml_id);
    let existing = u64::try_from(found).ok().and_then(|id| world.tariff(id));
    let (tariff_id, created) = match existing {
        Some(t) if t.owner_id != caller => return fail(NOT_YOURS),
        Some(t) if t.name != name => {
            return fail(&format!(
                "TARIFF NAME WITH THIS ID DO NOT MATCH !!!FOUND {}",
                t.name
            ))
        }
        Some(t) => (t.id, None),
        None => {
            if let Some(same) = world.data.tariffs.iter().find(|t| t.name == name) {
                let ours = same.purpose == "user" && (same.owner_id == caller || is_admin);
                return fail(&if ours {
                    format!(
                        "TARIFF with same name exists, ID:{}!!! CHANGE NAME OR ID",
                        same.id
                    )
                } else {
                    "TARIFF with same name exists, it belongs to other user! CHANGE NAME OR ID"
                        .to_string()
                });
            }
            let id = world.next_tariff_id();
            let currency = ctx
                .caller
                .map(|c| c.currency.clone())
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| ctx.settings.default_currency.clone());
            let t = Tariff {
                id,
                name: name.clone(),
                purpose: "user".into(),
                currency,
                owner_id: caller,
                rates: Vec::new(),
                group_rates: Vec::new(),
            };
            (id, Some(t))
        }
    };
    let destinations: Vec<&Element> = root
        .find("destinations")
        .map(|d| d.elements().filter(|e| e.name == "destination").collect())
        .unwrap_or_default();
    if destinations.is_empty() {
        if let Some(t) = created {
            world.add_tariff(t);
        }
        return xml(Element::new("response")
            .leaf("error", NO_DESTINATIONS)
            .leaf("tariff_id", tariff_id)
            .leaf("tariff_name", &name));
    }
    // The tariff's groups as they stand (a retail tariff kept as prefix rates is first turned
    // into its groups, as tariff_rates_get answers them).
    let mut groups = match (&created, world.tariff(tariff_id)) {
        (Some(_), _) | (None, None) => Vec::new(),
        (None, Some(t)) => retail_groups(world, t),
    };
    let mut report = Report::default();
    let mut added = 0usize;
    for d in destinations {
        let group = field(d, "destination_group_name").unwrap_or_default();
        let kind = field(d, "destination_group_type").unwrap_or_default();
        let known = world
            .data
            .destinations
            .iter()
            .any(|x| x.group == group && x.group_type == kind);
        if !known {
            report.bad_destinations.push((group, kind));
            continue;
        }
        let rates: Vec<XmlRate> = d
            .elements()
            .filter(|e| e.name == "rates")
            .map(|r| XmlRate {
                price: field(r, "rate_price").unwrap_or_default(),
                round_by: field(r, "rate_round_by").unwrap_or_default(),
                kind: field(r, "rate_type").unwrap_or_default(),
                start: field(r, "rate_start_time").unwrap_or_default(),
                end: field(r, "rate_end_time").unwrap_or_default(),
                duration: field(r, "rate_duration").unwrap_or_default(),
                day_type: field(r, "day_type"),
            })
            .collect();
        let at = match groups
            .iter()
            .position(|g| g.group == group && g.group_type == kind)
        {
            Some(i) => i,
            None => {
                groups.push(GroupRates {
                    group: group.clone(),
                    group_type: kind.clone(),
                    bands: Vec::new(),
                });
                groups.len() - 1
            }
        };
        added += merge(&mut groups[at], rates, &mut report);
    }
    groups.retain(|g| !g.bands.is_empty());
    // Every check passed: the writes, together.
    if let Some(t) = created {
        world.add_tariff(t);
    }
    // Only when a band was added: a tariff kept as prefix rates stays so otherwise.
    if let Some(t) = world.tariff_mut(tariff_id).filter(|_| added > 0) {
        t.group_rates = groups;
    }
    xml(report.answer(tariff_id, &name))
}

/// What an import reports besides the rates it wrote.
#[derive(Debug, Default)]
struct Report {
    bad_destinations: Vec<(String, String)>,
    day_type_collisions: Vec<(String, String)>,
    bad_rates: Vec<(String, String, XmlRate)>,
    collisions_in_xml: Vec<String>,
    collisions_in_db: Vec<String>,
}

impl Report {
    fn answer(&self, tariff_id: u64, name: &str) -> Element {
        let named = |tag: &str, list: &[(String, String)]| {
            let mut e = Element::new(tag);
            for (n, t) in list {
                e.push(
                    Element::new("destination")
                        .leaf("destination_group_name", n)
                        .leaf("destination_group_type", t),
                );
            }
            e
        };
        let mut bad = Element::new("destination_with_bad_rates");
        for (n, t, r) in &self.bad_rates {
            bad.push(
                Element::new("destination")
                    .leaf("destination_group_name", n)
                    .leaf("destination_group_type", t)
                    .leaf("rate_price", &r.price)
                    .leaf("rate_round_by", &r.round_by)
                    .leaf("rate_duration", &r.duration)
                    .leaf("rate_type", &r.kind)
                    .leaf("rate_start_time", &r.start)
                    .leaf("rate_end_time", &r.end)
                    .leaf("day_type", r.day_type.as_deref().unwrap_or_default()),
            );
        }
        let ranges = |tag: &str, list: &[String]| {
            let mut e = Element::new(tag);
            for c in list {
                e.push(Element::new("destination").leaf("collision_in_time_range", c));
            }
            e
        };
        Element::new("response")
            .leaf("tariff_id", tariff_id)
            .leaf("tariff_name", name)
            .child(named("bad_destinations", &self.bad_destinations))
            .child(named(
                "destination_with_day_type_collision",
                &self.day_type_collisions,
            ))
            .child(bad)
            .child(ranges(
                "destination_with_time_collisions_in_xml",
                &self.collisions_in_xml,
            ))
            .child(ranges(
                "destination_with_time_collisions_in_db",
                &self.collisions_in_db,
            ))
    }
}

/// A time of day `HH:MM:SS`.
fn clock(t: &str) -> bool {
    let b = t.as_bytes();
    let two = |i: usize, max: u8| {
        b[i].is_ascii_digit()
            && b[i + 1].is_ascii_digit()
            && (b[i] - b'0') * 10 + (b[i + 1] - b'0') <= max
    };
    b.len() == 8 && b[2] == b':' && b[5] == b':' && two(0, 23) && two(3, 59) && two(6, 59)
}

/// X3's `check_rates_params`, and times that are times of day: the band as the world keeps it.
fn band_of(r: &XmlRate) -> Option<(RateBand, i64)> {
    let only = |s: &str, ok: &dyn Fn(char) -> bool| !s.is_empty() && s.chars().all(ok);
    let number = |c: char| c.is_ascii_digit() || matches!(c, '.' | '-' | '+');
    if !only(&r.price, &number)
        || !only(&r.round_by, &|c| c.is_ascii_digit())
        || !only(&r.duration, &|c| {
            c.is_ascii_digit() || matches!(c, '.' | '-')
        })
        || !clock(&r.start)
        || !clock(&r.end)
        || r.start > r.end
    {
        return None;
    }
    let artype = match r.kind.as_str() {
        "minute" => RateKind::Minute,
        "event" => RateKind::Event,
        _ => return None,
    };
    let daytype = r.day_type.clone()?;
    if !matches!(daytype.as_str(), "" | "WD" | "FD") {
        return None;
    }
    let price = Money::from_f64(r.price.parse::<f64>().ok()?);
    let duration = super::ruby_to_i(&r.duration);
    if duration < -1 {
        return None;
    }
    let band = RateBand {
        from: 1,
        duration,
        artype,
        round_by: r.round_by.parse().ok()?,
        price,
        start_time: r.start.clone(),
        end_time: r.end.clone(),
        daytype,
    };
    Some((band, duration))
}

fn same_period(a: &RateBand, b: &RateBand) -> bool {
    a.start_time == b.start_time && a.end_time == b.end_time && a.daytype == b.daytype
}

fn overlap(a: &RateBand, b: &RateBand) -> bool {
    a.daytype == b.daytype
        && !same_period(a, b)
        && a.start_time <= b.end_time
        && b.start_time <= a.end_time
}

fn range_of(a: &RateBand, b: &RateBand) -> (String, String) {
    (
        a.start_time.clone().min(b.start_time.clone()),
        a.end_time.clone().max(b.end_time.clone()),
    )
}

/// Merge one destination's XML bands into its group (see the module's documentation); how many
/// bands were added.
fn merge(g: &mut GroupRates, rates: Vec<XmlRate>, report: &mut Report) -> usize {
    let mut added = 0;
    let who = format!("{} {}", g.group, g.group_type);
    let mut new: Vec<(RateBand, XmlRate)> = Vec::new();
    for r in rates {
        match band_of(&r) {
            Some((b, _)) => new.push((b, r)),
            None => report
                .bad_rates
                .push((g.group.clone(), g.group_type.clone(), r)),
        }
    }
    // Collisions inside the XML: both sides dropped.
    let mut dropped = vec![false; new.len()];
    for i in 0..new.len() {
        for j in i + 1..new.len() {
            if overlap(&new[i].0, &new[j].0) {
                let (s, e) = range_of(&new[i].0, &new[j].0);
                report
                    .collisions_in_xml
                    .push(format!("{who} COLLISION IN {s} AND {e} TIME RANGE "));
                dropped[i] = true;
                dropped[j] = true;
            }
        }
    }
    let mut kept: Vec<(RateBand, XmlRate)> = new
        .into_iter()
        .zip(dropped)
        .filter_map(|(n, d)| (!d).then_some(n))
        .collect();
    // Against the tariff's bands: day types that mix every-day with work/free days, and periods
    // overlapping the tariff's with other bounds.
    kept.retain(|(b, _)| {
        let mixes = g
            .bands
            .iter()
            .any(|x| x.daytype.is_empty() != b.daytype.is_empty());
        if mixes {
            let entry = (g.group.clone(), g.group_type.clone());
            if !report.day_type_collisions.contains(&entry) {
                report.day_type_collisions.push(entry);
            }
            return false;
        }
        if let Some(x) = g.bands.iter().find(|x| overlap(x, b)) {
            let (s, e) = range_of(x, b);
            report.collisions_in_db.push(format!(
                "{who} COLLISION WITH EXISTING RATES IN {s} AND {e} TIME RANGE"
            ));
            return false;
        }
        true
    });
    // Append each period's bands after those it has.
    for (mut b, r) in kept {
        let last = g
            .bands
            .iter()
            .filter(|x| same_period(x, &b))
            .max_by_key(|x| x.from);
        let from = match last {
            None => 1,
            Some(x) if x.artype == RateKind::Minute && x.duration == -1 => continue,
            Some(x) if x.artype == RateKind::Event => x.from,
            Some(x) => x.from + u32::try_from(x.duration.max(0)).unwrap_or(0),
        };
        b.from = from.max(1);
        if b.artype == RateKind::Minute
            && b.duration != -1
            && i64::from(b.from) + b.duration < i64::from(b.round_by)
        {
            report
                .bad_rates
                .push((g.group.clone(), g.group_type.clone(), r));
            continue;
        }
        g.bands.push(b);
        added += 1;
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::methods::testkit::*;
    use model::catalogue::Product;

    const M: &str = "tariff_retail_import";

    fn tariff_xml(id: &str, name: &str, destinations: &str) -> String {
        format!("<tariff><name>{name}</name><id>{id}</id><destinations>{destinations}</destinations></tariff>")
    }

    fn dest(group: &str, kind: &str, rates: &str) -> String {
        format!("<destination><direction/><destination_group_name>{group}</destination_group_name><destination_group_type>{kind}</destination_group_type>{rates}</destination>")
    }

    fn rate(price: &str, kind: &str, start: &str, end: &str, duration: &str, day: &str) -> String {
        format!("<rates><rate_price>{price}</rate_price><rate_round_by>1</rate_round_by><rate_type>{kind}</rate_type><rate_start_time>{start}</rate_start_time><rate_end_time>{end}</rate_end_time><rate_duration>{duration}</rate_duration><day_type>{day}</day_type></rates>")
    }

    fn import(w: &mut World, caller: &str, xml_text: &str) -> Reply {
        req(Product::Mor, M, caller).p("xml", xml_text).run(w)
    }

    fn bands(w: &World, tariff: u64, group: &str) -> Vec<(u32, i64, String, String)> {
        w.tariff(tariff)
            .expect("tariff")
            .group_rates
            .iter()
            .filter(|g| g.group == group)
            .flat_map(|g| &g.bands)
            .map(|b| (b.from, b.duration, b.price.to_string(), b.daytype.clone()))
            .collect()
    }

    #[test]
    fn creates_a_tariff_and_writes_its_bands_in_sequence() {
        let mut w = world(Product::Mor);
        let before = w.data.tariffs.len();
        let text = tariff_xml(
            "900",
            "Imported",
            &(dest(
                "Lithuania MOB",
                "MOB",
                &(rate("0.2", "minute", "00:00:00", "23:59:59", "3", "")
                    + &rate("0.1", "minute", "00:00:00", "23:59:59", "-1", "")),
            ) + &dest("Nowhere", "FIX", "")),
        );
        let r = import(&mut w, "admin", &text);
        assert_shape(Product::Mor, M, &r);
        let id = text_of(&r, "tariff_id");
        assert_ne!(id, "900", "the new tariff takes the next free id");
        let id: u64 = id.parse().unwrap();
        assert_eq!(w.data.tariffs.len(), before + 1);
        let t = w.tariff(id).unwrap();
        assert_eq!((t.purpose.as_str(), t.owner_id), ("user", 0));
        assert_eq!(
            bands(&w, id, "Lithuania MOB"),
            [
                (1, 3, "0.2".into(), "".into()),
                (4, -1, "0.1".into(), "".into())
            ]
        );
        assert_eq!(
            text_of(&r, "bad_destinations/destination/destination_group_name"),
            "Nowhere"
        );
        // Read back through tariff_rates_get.
        let read = req(Product::Mor, "tariff_rates_get", "admin")
            .p("tariff_id", id)
            .run(&mut w);
        assert_eq!(
            text_of(&read, "rates/destination/rate[2]/from"),
            "4",
            "{read:?}"
        );
    }

    fn text_of(r: &Reply, path: &str) -> String {
        text(r, path)
    }

    #[test]
    fn merges_into_an_existing_tariff_and_reports_collisions_and_bad_bands() {
        let mut w = world(Product::Mor);
        // Tariff 1 "Retail USD" is kept as prefix rates: every group one band, all day.
        let r = import(
            &mut w,
            "admin",
            &tariff_xml(
                "1",
                "Retail USD",
                &dest(
                    "Lithuania MOB",
                    "MOB",
                    &(rate("0.3", "minute", "08:00:00", "17:59:59", "1", "")
                        + &rate("x", "minute", "00:00:00", "23:59:59", "1", "")),
                ),
            ),
        );
        assert_eq!(
            text_of(
                &r,
                "destination_with_time_collisions_in_db/destination/collision_in_time_range"
            ),
            "Lithuania MOB MOB COLLISION WITH EXISTING RATES IN 00:00:00 AND 23:59:59 TIME RANGE"
        );
        assert_eq!(
            text_of(&r, "destination_with_bad_rates/destination/rate_price"),
            "x"
        );
        // Nothing was added: tariff 1 is still kept as its prefix rates.
        assert!(w.tariff(1).unwrap().group_rates.is_empty());
        // Work-day bands against an every-day tariff: a day type collision.
        let r = import(
            &mut w,
            "admin",
            &tariff_xml(
                "1",
                "Retail USD",
                &dest(
                    "Iran - Fixed",
                    "FIX",
                    &rate("0.3", "minute", "00:00:00", "23:59:59", "-1", "WD"),
                ),
            ),
        );
        assert_eq!(
            text_of(
                &r,
                "destination_with_day_type_collision/destination/destination_group_name"
            ),
            "Iran - Fixed"
        );
        // Two XML bands that overlap with other bounds are both dropped.
        let r = import(
            &mut w,
            "admin",
            &tariff_xml(
                "1",
                "Retail USD",
                &dest(
                    "UK - Mobile",
                    "MOB",
                    &(rate("0.3", "minute", "00:00:00", "12:00:00", "-1", "WD")
                        + &rate("0.3", "minute", "11:00:00", "23:59:59", "-1", "WD")),
                ),
            ),
        );
        assert_eq!(
            text_of(
                &r,
                "destination_with_time_collisions_in_xml/destination/collision_in_time_range"
            ),
            "UK - Mobile MOB COLLISION IN 00:00:00 AND 23:59:59 TIME RANGE "
        );
    }

    #[test]
    fn checks_the_tariff_before_anything_is_written() {
        let mut w = world(Product::Mor);
        let before = w.data.clone();
        let cases = [
            ("", NO_XML.to_string()),
            ("tariff.xml", NO_FILE.to_string()),
            ("<tariff><name>x</name>", BAD_XML.to_string()),
            ("<tariff><name>x</name></tariff>", NO_ID.to_string()),
            ("<tariff><id>1</id></tariff>", NO_NAME.to_string()),
            (
                "<tariff><id>1</id><name>Other</name></tariff>",
                "TARIFF NAME WITH THIS ID DO NOT MATCH !!!FOUND Retail USD".to_string(),
            ),
            (
                "<tariff><id>999</id><name>Retail USD</name></tariff>",
                "TARIFF with same name exists, ID:1!!! CHANGE NAME OR ID".to_string(),
            ),
        ];
        for (text, want) in cases {
            let r = import(&mut w, "admin", text);
            assert_eq!(err(&r), (want.as_str(), Wrapper::Response), "{text}");
        }
        // The reseller may not write the admin's tariff; the admin not the reseller's (6).
        let r = import(
            &mut w,
            "reseller",
            "<tariff><id>1</id><name>Retail USD</name></tariff>",
        );
        assert_eq!(err(&r).0, NOT_YOURS);
        let r = import(
            &mut w,
            "admin",
            "<tariff><id>6</id><name>Reseller Retail</name></tariff>",
        );
        assert_eq!(err(&r).0, NOT_YOURS);
        let r = import(
            &mut w,
            "reseller",
            "<tariff><id>99</id><name>Retail USD</name></tariff>",
        );
        assert_eq!(
            err(&r).0,
            "TARIFF with same name exists, it belongs to other user! CHANGE NAME OR ID"
        );
        assert_eq!(w.data, before);
    }

    #[test]
    fn at_the_x3_position_the_gate_leaves_the_roles_to_the_action() {
        let q = model::Quirks {
            retail_import_answers: model::quirks::AnswerSource::X3,
            ..model::Quirks::default()
        };
        assert!(q.checks_in_action(M));
        assert!(!model::Quirks::default().checks_in_action(M));
        // The action itself checks no role: an accountant creates a tariff of his own.
        let mut w = world(Product::Mor);
        let r = import(
            &mut w,
            "accountant",
            "<tariff><id>99</id><name>Acc</name></tariff>",
        );
        let id: u64 = text_of(&r, "tariff_id").parse().unwrap();
        assert_eq!(w.tariff(id).unwrap().owner_id, 6);
    }

    #[test]
    fn no_destinations_answers_the_tariff_it_created() {
        let mut w = world(Product::Mor);
        let r = import(
            &mut w,
            "reseller",
            "<tariff><id>99</id><name>Mine</name></tariff>",
        );
        assert_eq!(text_of(&r, "error"), NO_DESTINATIONS);
        let id: u64 = text_of(&r, "tariff_id").parse().unwrap();
        let t = w.tariff(id).unwrap();
        assert_eq!((t.name.as_str(), t.owner_id), ("Mine", 4));
    }
}
