//! Stage 3 of `run`: compare an answer with a case's expectations.
//!
//! Everything here is pure: an [`Answer`] (or several, for invariants that need a second request)
//! goes in, [`Mismatch`]es come out. A failed check is data, never an `Err`; the runner wraps the
//! mismatches of a case into one [`CheckOutcome`].
//!
//! Where an error lives (the API has several wrappers, see the catalogue's `Wrapper`):
//! `<error>` as the root (bare), `<page><error>`, `<status><error>`, `<page><status><error>`
//! (also nested one `<page>` deeper), `<response><error><message>`, an `<action>` whose
//! `<status>` is `failed` (its `<status_message>` is the text), or a plain-text body that is not a
//! number (user_simple_balance_get answers a bare number on success).

use std::collections::BTreeMap;

pub use model::answer::find_error;
use model::catalogue::{BodyKind, Wrapper};
use model::scenario::{CheckKind, Expect, Invariant};
use model::xml::{diff, parse, placeholder_matches, DiffMode, Document, Element, XmlError};
use serde::Serialize;

use crate::client::{Answer, Delivery};
use crate::secret::Known;

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every expectation held.
    Passed,
    /// At least one expectation did not hold.
    Failed,
    /// Not run; `message` says why.
    Skipped,
    /// No usable answer (transport failure, unbuildable request); counts as failed.
    Error,
    /// The answer contradicts a case that documents an undocumented behaviour (UNK or quirk)
    /// on a target whose quirks are not ours: reported, not failed.
    Observed,
}

/// Which case an outcome belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseId {
    /// The scenario file.
    pub file: String,
    /// Index of the case in its file.
    pub index: usize,
    /// 1-based line of the case.
    pub line: usize,
    /// The case's name.
    pub name: String,
    /// The method called.
    pub method: String,
}

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// Which expectation (`error`, `xml`, `values.quickstats/today/calls`, ...).
    pub what: String,
    /// What was expected.
    pub expected: String,
    /// What was found.
    pub actual: String,
    /// For XML comparisons: the path of the first difference and what differs there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// The outcome of one case: what the reports show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckOutcome {
    /// The case.
    pub case: CaseId,
    /// Its kind of check.
    #[serde(serialize_with = "ser_kind")]
    pub kind: CheckKind,
    /// The result.
    pub status: Status,
    /// The first mismatch's expectation (empty when passed).
    pub expected: String,
    /// The first mismatch's finding.
    pub actual: String,
    /// The first XML difference, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Why skipped or errored, or every mismatch on one line each.
    pub message: String,
    /// Every mismatch.
    pub mismatches: Vec<Mismatch>,
    /// A reproduction, secret masked and digest re-computed in the shell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curl: Option<String>,
    /// The case's request as its scenario file writes it (facts such as `$user.password`
    /// unresolved, so never a secret): `POST quickstats_get as admin (query): u=$user.username`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// Wall time of the case in milliseconds (not part of the terminal output, which stays
    /// the same from run to run).
    pub millis: u64,
}

fn ser_kind<S: serde::Serializer>(k: &CheckKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind_name(*k))
}

/// The snake_case name of a check kind.
pub fn kind_name(k: CheckKind) -> &'static str {
    match k {
        CheckKind::Exact => "exact",
        CheckKind::Structural => "structural",
        CheckKind::Invariant => "invariant",
        CheckKind::Protocol => "protocol",
        CheckKind::Policy => "policy",
    }
}

impl CheckOutcome {
    /// An outcome from a case's mismatches.
    pub fn from_mismatches(
        case: CaseId,
        kind: CheckKind,
        mismatches: Vec<Mismatch>,
        curl: Option<String>,
    ) -> CheckOutcome {
        let status = if mismatches.is_empty() {
            Status::Passed
        } else {
            Status::Failed
        };
        let first = mismatches.first();
        CheckOutcome {
            case,
            kind,
            status,
            expected: first.map(|m| m.expected.clone()).unwrap_or_default(),
            actual: first.map(|m| m.actual.clone()).unwrap_or_default(),
            diff: first.and_then(|m| m.diff.clone()),
            message: mismatches
                .iter()
                .map(|m| format!("{}: expected {}, got {}", m.what, m.expected, m.actual))
                .collect::<Vec<_>>()
                .join("\n"),
            mismatches,
            curl,
            request: None,
            millis: 0,
        }
    }

    /// An outcome that did not compare anything.
    pub fn other(case: CaseId, kind: CheckKind, status: Status, message: String) -> CheckOutcome {
        CheckOutcome {
            case,
            kind,
            status,
            expected: String::new(),
            actual: String::new(),
            diff: None,
            message,
            mismatches: Vec::new(),
            curl: None,
            request: None,
            millis: 0,
        }
    }
}

/// An answer read as the API's vocabulary.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The parsed document, if the body is XML.
    pub doc: Option<Document>,
    /// Why the body is not XML (when it starts like XML but is broken).
    pub xml_error: Option<XmlError>,
    /// The error the answer carries, with its wrapper (None: not an error answer; the wrapper is
    /// None for an `<error>` in an undocumented place).
    pub error: Option<(String, Option<Wrapper>)>,
    /// The body text, trimmed.
    pub text: String,
}

/// Read an answer: parse XML, find an error. Every value is masked by `known` as it is read
/// (element text, attribute values, the whole text when it is not XML): checks and reports
/// only ever see the masked answer, so nothing rendered from it holds a secret or a digest.
pub fn read(answer: &Answer, known: &Known) -> Reading {
    read_with(answer, Some(known))
}

/// Read an answer without masking anything: only for the facts discovery takes from a target
/// (a user's `uniquehash` to sign with), never for anything shown.
pub fn read_unmasked(answer: &Answer) -> Reading {
    read_with(answer, None)
}

fn read_with(answer: &Answer, known: Option<&Known>) -> Reading {
    let mask = |name: &str, t: &str| match known {
        Some(k) => k.value(name, t, crate::secret::REPORT),
        None => t.to_string(),
    };
    let text = answer.text();
    let raw = text.trim();
    let looks_xml = raw.starts_with('<');
    let (doc, xml_error) = if looks_xml {
        match parse(raw) {
            Ok(mut d) => {
                if let Some(k) = known {
                    k.mask_in_place(&mut d.root, crate::secret::REPORT);
                }
                (Some(d), None)
            }
            Err(e) => (
                None,
                Some(XmlError {
                    message: mask("", &e.message),
                    ..e
                }),
            ),
        }
    } else {
        (None, None)
    };
    let trimmed = mask("", raw);
    let error = match &doc {
        Some(d) => find_error(&d.root),
        None if !looks_xml && !trimmed.is_empty() && !is_number(&trimmed) => {
            Some((trimmed.clone(), Some(Wrapper::Text)))
        }
        None => None,
    };
    Reading {
        doc,
        xml_error,
        error,
        text: trimmed,
    }
}

fn is_number(s: &str) -> bool {
    placeholder_matches("{{number}}", s).unwrap_or(false)
}

/// Whether `actual` matches `expected`, which may be a placeholder (`{{int}}`) or text with
/// placeholders inside (`ANSWERED({{int}})`).
pub fn value_matches(expected: &str, actual: &str) -> bool {
    let (e, a) = (expected.trim(), actual.trim());
    match placeholder_matches(e, a) {
        Some(m) => m,
        None if e.contains("{{") => template_matches(e, a),
        None => e == a,
    }
}

/// Text with placeholders inside: literal pieces must appear in order and each placeholder must
/// match the non-empty text between them.
fn template_matches(template: &str, actual: &str) -> bool {
    match template.find("{{") {
        None => template == actual,
        Some(i) => {
            let (lit, rest) = template.split_at(i);
            let Some(after) = actual.strip_prefix(lit) else {
                return false;
            };
            let Some(j) = rest.find("}}") else {
                return template == actual;
            };
            let (ph, tail) = (&rest[..j + 2], &rest[j + 2..]);
            // Try every split of `after` into a placeholder's text and the rest.
            (1..=after.len())
                .filter(|&k| after.is_char_boundary(k))
                .any(|k| {
                    placeholder_matches(ph, &after[..k]).unwrap_or(false)
                        && template_matches(tail, &after[k..])
                })
        }
    }
}

/// The elements at a path below `root`: `a/b/c` is every `<c>` child of `root/a/b`.
pub fn rows_at<'a>(root: &'a Element, path: &str) -> Vec<&'a Element> {
    let path = path.trim_matches('/');
    let (parent, last) = match path.rsplit_once('/') {
        Some((p, l)) => (root.at(p), l),
        None => (Some(root), path),
    };
    parent
        .map(|p| p.elements().filter(|e| e.name == last).collect())
        .unwrap_or_default()
}

/// The value at a path below `root` (`a/b`, or `a/@attr` for an attribute).
pub fn value_at(root: &Element, path: &str) -> Option<String> {
    let path = path.trim_matches('/');
    if let Some((el, attr)) = path.rsplit_once("/@") {
        let e = root.at(el)?;
        return e
            .attrs
            .iter()
            .find(|(k, _)| k == attr)
            .map(|(_, v)| v.clone());
    }
    if let Some(attr) = path.strip_prefix('@') {
        return root
            .attrs
            .iter()
            .find(|(k, _)| k == attr)
            .map(|(_, v)| v.clone());
    }
    root.at(path).map(|e| e.text_content().trim().to_string())
}

fn mm(what: impl Into<String>, expected: impl Into<String>, actual: impl Into<String>) -> Mismatch {
    Mismatch {
        what: what.into(),
        expected: expected.into(),
        actual: actual.into(),
        diff: None,
    }
}

fn wrapper_name(w: Option<Wrapper>) -> String {
    match w {
        Some(w) => serde_json::to_value(w)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{w:?}")),
        None => "an undocumented place".into(),
    }
}

/// A short description of what an answer is, for `actual` columns.
pub fn describe(answer: &Answer, reading: &Reading) -> String {
    if let Some((e, w)) = &reading.error {
        return format!("error `{e}` ({})", wrapper_name(*w));
    }
    if let Some(d) = &reading.doc {
        return format!("XML <{}> (HTTP {})", d.root.name, answer.status);
    }
    if let Some(e) = &reading.xml_error {
        return format!(
            "a body that is not well-formed XML ({e}): {}",
            excerpt(&reading.text)
        );
    }
    if reading.text.is_empty() {
        return format!("an empty body (HTTP {})", answer.status);
    }
    format!("text `{}` (HTTP {})", excerpt(&reading.text), answer.status)
}

/// The first 200 characters of a text, on one line.
pub fn excerpt(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 200 {
        format!("{}…", one.chars().take(200).collect::<String>())
    } else {
        one
    }
}

/// Check every expectation that needs only this answer. `sample` is the catalogue's success
/// sample of the method (for `structure: sample`).
pub fn check_answer(
    expect: &Expect,
    answer: &Answer,
    reading: &Reading,
    sample: Option<&str>,
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let actual = || describe(answer, reading);
    if let Some(s) = expect.status {
        if s != answer.status {
            out.push(mm(
                "status",
                format!("HTTP {s}"),
                format!("HTTP {}", answer.status),
            ));
        }
    }
    if let Some(e) = &expect.error {
        match &reading.error {
            Some((t, w)) => {
                if !value_matches(e, t) {
                    out.push(mm("error", format!("error `{e}`"), actual()));
                } else if let Some(want) = expect.wrapper {
                    if *w != Some(want) {
                        out.push(mm(
                            "wrapper",
                            format!("error `{e}` wrapped as {}", wrapper_name(Some(want))),
                            format!("wrapped as {}", wrapper_name(*w)),
                        ));
                    }
                }
            }
            None => out.push(mm("error", format!("error `{e}`"), actual())),
        }
    } else if let Some(want) = expect.wrapper {
        match &reading.error {
            Some((_, w)) if *w == Some(want) => {}
            _ => out.push(mm(
                "wrapper",
                format!("an error wrapped as {}", wrapper_name(Some(want))),
                actual(),
            )),
        }
    }
    if expect.success {
        let ok_status = (200..300).contains(&answer.status);
        let empty = reading.doc.is_none() && reading.text.is_empty();
        if reading.error.is_some() || !ok_status || reading.xml_error.is_some() || empty {
            out.push(mm("success", "a success answer", actual()));
        }
    }
    let need_doc = |what: &str, out: &mut Vec<Mismatch>| -> bool {
        if reading.doc.is_none() {
            out.push(mm(what, "an XML answer", actual()));
            false
        } else {
            true
        }
    };
    if let Some(x) = &expect.xml {
        if need_doc("xml", &mut out) {
            compare_xml("xml", x, reading, DiffMode::Exact, &mut out);
        }
    }
    if let Some(s) = &expect.structure {
        if need_doc("structure", &mut out) {
            let want = if s.trim() == "sample" {
                sample.filter(|s| !s.trim().is_empty())
            } else {
                Some(s.as_str())
            };
            if let Some(m) = reading.doc.as_ref().and_then(|d| padded_value(&d.root, "")) {
                out.push(m);
            }
            match want {
                Some(w) => compare_xml("structure", w, reading, DiffMode::Structure, &mut out),
                None => out.push(mm(
                    "structure",
                    "a catalogue sample for the method",
                    "the catalogue has none",
                )),
            }
        }
    }
    if !expect.values.is_empty() && need_doc("values", &mut out) {
        if let Some(d) = &reading.doc {
            for (path, want) in &expect.values {
                match value_at(&d.root, path) {
                    Some(v) if value_matches(want, &v) => {}
                    Some(v) => out.push(mm(format!("values.{path}"), show(want), show(&v))),
                    None => out.push(mm(
                        format!("values.{path}"),
                        show(want),
                        format!("no element at /{}/{path}", d.root.name),
                    )),
                }
            }
        }
    }
    if !expect.counts.is_empty() && need_doc("counts", &mut out) {
        if let Some(d) = &reading.doc {
            for (path, n) in &expect.counts {
                let got = rows_at(&d.root, path).len();
                if got != *n {
                    out.push(mm(
                        format!("counts.{path}"),
                        format!("{n} elements"),
                        format!("{got} elements"),
                    ));
                }
            }
        }
    }
    if let Some(t) = &expect.text {
        if !value_matches(t, &reading.text) {
            out.push(mm("text", show(t), excerpt(&reading.text)));
        }
    }
    if let Some(kind) = expect.body {
        let got = match (answer.delivery, reading.doc.is_some()) {
            (Delivery::Plain, true) => Some(BodyKind::Xml),
            (Delivery::Plain, false) => Some(BodyKind::Text),
            (Delivery::ZipBody, true) => Some(BodyKind::ZipXml),
            (_, true) => Some(BodyKind::GzipXml),
            (_, false) => None,
        };
        if got != Some(kind) {
            let how = match answer.delivery {
                Delivery::Plain => "not compressed",
                Delivery::ContentEncoding => "gzip by Content-Encoding",
                Delivery::GzipBody => "a gzip file",
                Delivery::ZipBody => "a zip archive",
            };
            let what = if reading.doc.is_some() {
                "XML"
            } else {
                "not XML"
            };
            out.push(mm(
                "body",
                format!("{kind:?} body"),
                format!("{what}, {how}"),
            ));
        }
    }
    if let Some(ct) = &expect.content_type {
        let got = answer.content_type.as_deref().unwrap_or("");
        let media = got
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !media.contains(&ct.to_ascii_lowercase()) {
            out.push(mm(
                "content_type",
                format!("a Content-Type containing `{ct}`"),
                if got.is_empty() {
                    "none".to_string()
                } else {
                    format!("`{got}`")
                },
            ));
        }
    }
    if let Some(decl) = expect.declaration {
        match &reading.doc {
            Some(d) if d.declaration == decl => {}
            Some(d) => out.push(mm("declaration", show_decl(decl), show_decl(d.declaration))),
            None => out.push(mm("declaration", show_decl(decl), actual())),
        }
    }
    for inv in &expect.invariants {
        if let Some(d) = &reading.doc {
            match inv {
                Invariant::TotalsEqualSumOfRows {
                    rows,
                    totals,
                    fields,
                } => out.extend(totals_equal_sum(&d.root, rows, totals, fields)),
                Invariant::ProfitIsRevenueMinusSelfCost { at } => {
                    out.extend(profit_is_revenue_minus_self_cost(&d.root, at))
                }
                _ => {}
            }
        } else if matches!(
            inv,
            Invariant::TotalsEqualSumOfRows { .. } | Invariant::ProfitIsRevenueMinusSelfCost { .. }
        ) {
            out.push(mm("invariants", "an XML answer", actual()));
        }
    }
    out
}

fn show(v: &str) -> String {
    if v.is_empty() {
        "nothing".into()
    } else {
        format!("`{v}`")
    }
}

fn show_decl(d: model::catalogue::Declaration) -> String {
    match d {
        model::catalogue::Declaration::None => "no declaration".into(),
        d => format!("`{}`", d.as_str()),
    }
}

fn compare_xml(
    what: &str,
    expected: &str,
    reading: &Reading,
    mode: DiffMode,
    out: &mut Vec<Mismatch>,
) {
    let Some(doc) = &reading.doc else { return };
    let want = match parse(expected) {
        Ok(w) => w,
        Err(e) => {
            out.push(mm(what, "well-formed expected XML", e.to_string()));
            return;
        }
    };
    if let Some(d) = diff(&want.root, &doc.root, mode) {
        out.push(Mismatch {
            what: what.into(),
            expected: model::xml::canonical_element(&want.root)
                .trim_end()
                .to_string(),
            actual: model::xml::canonical_element(&doc.root)
                .trim_end()
                .to_string(),
            diff: Some(d.to_string()),
        });
    }
}

/// A decimal value and its number of fraction digits.
fn decimal(s: &str) -> Option<(f64, usize)> {
    let t = s.trim();
    if !is_number(t) {
        return None;
    }
    let digits = t.split_once('.').map_or(0, |(_, f)| f.len());
    t.parse::<f64>().ok().map(|v| (v, digits))
}

/// Tolerance of a comparison of values printed with `digits` fraction digits, `terms` of them
/// summed (each rounded by half a unit in the last place).
/// Tolerance of a sum of `terms` values printed with `digits` fraction digits: whole numbers
/// (counts, seconds) add up exactly.
fn sum_tolerance(digits: usize, terms: usize) -> f64 {
    if digits == 0 {
        1e-9
    } else {
        tolerance(digits, terms)
    }
}

fn tolerance(digits: usize, terms: usize) -> f64 {
    0.5 * 10f64.powi(-(digits as i32)) * (terms.max(1) as f64) + 1e-9
}

/// Each total under `totals` equals the sum of the same element over the rows at `rows`.
pub fn totals_equal_sum(
    root: &Element,
    rows: &str,
    totals: &str,
    fields: &[String],
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let rs = rows_at(root, rows);
    let Some(t) = root.at(totals) else {
        out.push(mm(
            "invariants.totals_equal_sum_of_rows",
            format!("a totals element at {totals}"),
            "none",
        ));
        return out;
    };
    for f in fields {
        let Some((total, td)) = t.find(f).and_then(|e| decimal(&e.text_content())) else {
            out.push(mm(
                format!("invariants.totals_equal_sum_of_rows.{f}"),
                format!("a number at {totals}/{f}"),
                "none",
            ));
            continue;
        };
        let mut sum = 0.0;
        let mut digits = td;
        for r in &rs {
            if let Some((v, d)) = r.find(f).and_then(|e| decimal(&e.text_content())) {
                sum += v;
                digits = digits.max(d);
            }
        }
        if (sum - total).abs() > sum_tolerance(digits, rs.len() + 1) {
            out.push(mm(
                format!("invariants.totals_equal_sum_of_rows.{f}"),
                format!(
                    "{totals}/{f} = sum over {} rows = {sum:.*}",
                    rs.len(),
                    digits
                ),
                format!("{total:.*}", td),
            ));
        }
    }
    out
}

/// At each path, `profit` = `revenue` - `self_cost`, and `margin` (if present) = profit / revenue
/// × 100 (percent of the sell price, M4 quickstats page).
pub fn profit_is_revenue_minus_self_cost(root: &Element, at: &[String]) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for p in at {
        let Some(e) = (if p.trim_matches('/').is_empty() {
            Some(root)
        } else {
            root.at(p)
        }) else {
            out.push(mm(
                format!("invariants.profit_is_revenue_minus_self_cost.{p}"),
                format!("an element at {p}"),
                "none",
            ));
            continue;
        };
        let get = |n: &str| e.find(n).and_then(|x| decimal(&x.text_content()));
        let (Some((rev, rd)), Some((cost, cd)), Some((profit, pd))) =
            (get("revenue"), get("self_cost"), get("profit"))
        else {
            out.push(mm(
                format!("invariants.profit_is_revenue_minus_self_cost.{p}"),
                "numbers in revenue, self_cost and profit",
                "missing or not numeric",
            ));
            continue;
        };
        let d = rd.max(cd).max(pd);
        if (rev - cost - profit).abs() > tolerance(d, 3) {
            out.push(mm(
                format!("invariants.profit_is_revenue_minus_self_cost.{p}"),
                format!("profit = {rev:.d$} - {cost:.d$} = {:.d$}", rev - cost),
                format!("profit {profit:.d$}"),
            ));
        }
        if let Some((margin, md)) = get("margin") {
            let want = if rev.abs() < 1e-12 {
                0.0
            } else {
                profit / rev * 100.0
            };
            // The margin is rounded from rounded inputs: allow half a unit in its last place (a
            // rounded value, not a truncated one) plus the error that the inputs' rounding carries
            // into the ratio.
            let input_err = if rev.abs() < 1e-12 {
                0.0
            } else {
                100.0 * tolerance(d, 2) / rev.abs() * (1.0 + (profit / rev).abs())
            };
            if (margin - want).abs() > tolerance(md, 1) + input_err {
                out.push(mm(
                    format!("invariants.profit_is_revenue_minus_self_cost.{p}.margin"),
                    format!("margin = profit / revenue × 100 = {want:.md$}"),
                    format!("margin {margin:.md$}"),
                ));
            }
        }
    }
    out
}

/// A second answer returns no more rows at `rows` than the first.
pub fn narrower_returns_no_more(
    first: &Element,
    narrower: &Element,
    rows: &str,
) -> Option<Mismatch> {
    let (a, b) = (rows_at(first, rows).len(), rows_at(narrower, rows).len());
    (b > a).then(|| {
        mm(
            "invariants.narrower_returns_no_more",
            format!("at most {a} rows at {rows}"),
            format!("{b} rows"),
        )
    })
}

/// The rows of the second answer are those of the first in reverse order.
pub fn order_desc_reverses(first: &Element, desc: &Element, rows: &str) -> Option<Mismatch> {
    let a: Vec<String> = rows_at(first, rows)
        .iter()
        .map(|e| model::xml::canonical_element(e))
        .collect();
    let mut b: Vec<String> = rows_at(desc, rows)
        .iter()
        .map(|e| model::xml::canonical_element(e))
        .collect();
    b.reverse();
    (a != b).then(|| {
        let i = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
        mm(
            "invariants.order_desc_reverses",
            format!("{} rows at {rows}, reversed by order_desc=1", a.len()),
            format!(
                "{} rows; reversed order differs first at row {} (of the order_desc=1 answer, from the end)",
                b.len(),
                i + 1
            ),
        )
    })
}

/// The sums of `fields` over the finer rows equal those over the coarser rows.
pub fn finer_sums_to_coarser(
    coarse: &Element,
    finer: &Element,
    rows: &str,
    fields: &[String],
) -> Vec<Mismatch> {
    let sum = |root: &Element, f: &str| -> (f64, usize, usize) {
        let rs = rows_at(root, rows);
        let mut s = 0.0;
        let mut d = 0;
        for r in &rs {
            if let Some((v, dd)) = r.find(f).and_then(|e| decimal(&e.text_content())) {
                s += v;
                d = d.max(dd);
            }
        }
        (s, d, rs.len())
    };
    let mut out = Vec::new();
    for f in fields {
        let (a, ad, an) = sum(coarse, f);
        let (b, bd, bn) = sum(finer, f);
        let d = ad.max(bd);
        if (a - b).abs() > sum_tolerance(d, an + bn) {
            out.push(mm(
                format!("invariants.finer_grouping_sums_to_coarser.{f}"),
                format!("sum of {f} over {bn} finer rows = {a:.d$} (over {an} coarser rows)"),
                format!("{b:.d$}"),
            ));
        }
    }
    out
}

/// Every row's `field` is a date-time inside `period` (Unix seconds, both ends included).
pub fn rows_in_period(
    root: &Element,
    rows: &str,
    field: &str,
    period: (i64, i64),
) -> Vec<Mismatch> {
    let show = |t: i64| model::world::format_datetime(t);
    for (i, r) in rows_at(root, rows).iter().enumerate() {
        let v = r.find(field).map(|e| e.text_content().trim().to_string());
        let t = v.as_deref().and_then(crate::discover::parse_datetime);
        match t {
            Some(t) if t >= period.0 && t <= period.1 => {}
            _ => {
                return vec![mm(
                    "invariants.rows_in_period",
                    format!(
                        "every {rows}/{field} between {} and {}",
                        show(period.0),
                        show(period.1)
                    ),
                    format!(
                        "row {} has {}",
                        i + 1,
                        v.map_or_else(|| "no such element".into(), |v| format!("`{v}`"))
                    ),
                )]
            }
        }
    }
    Vec::new()
}

/// Every row's `field` is one of `one_of` (compared exactly, placeholders allowed).
pub fn rows_match(root: &Element, rows: &str, field: &str, one_of: &[String]) -> Vec<Mismatch> {
    for (i, r) in rows_at(root, rows).iter().enumerate() {
        // An element or an attribute of the row (`@user_id`: invoices_get's <Invoice>).
        let v = value_at(r, field);
        let ok = v
            .as_deref()
            .is_some_and(|v| one_of.iter().any(|w| value_matches(w, v)));
        if !ok {
            return vec![mm(
                "invariants.rows_match",
                format!("every {rows}/{field} one of {}", one_of.join(", ")),
                format!(
                    "row {} has {}",
                    i + 1,
                    v.map_or_else(|| "no such element".into(), |v| format!("`{v}`"))
                ),
            )];
        }
    }
    Vec::new()
}

/// In every row, `value` = round(`numerator` / `denominator` × `scale`) to its printed digits.
pub fn ratio_rounded(
    root: &Element,
    rows: &str,
    value: &str,
    numerator: &str,
    denominator: &str,
    scale: f64,
) -> Vec<Mismatch> {
    let what = format!("invariants.ratio_rounded.{value}");
    for (i, r) in rows_at(root, rows).iter().enumerate() {
        let get = |n: &str| r.find(n).and_then(|e| decimal(&e.text_content()));
        let (Some((v, vd)), Some((a, ad)), Some((b, bd))) =
            (get(value), get(numerator), get(denominator))
        else {
            return vec![mm(
                what,
                format!("numbers in {value}, {numerator} and {denominator} of every {rows}"),
                format!("row {} lacks one", i + 1),
            )];
        };
        let want = if b.abs() < 1e-12 { 0.0 } else { a / b * scale };
        // Inputs printed with fraction digits carry their rounding into the ratio; integers
        // (counts, seconds) are exact.
        let err = |d: usize| if d == 0 { 0.0 } else { tolerance(d, 1) };
        let input_err = if b.abs() < 1e-12 {
            0.0
        } else {
            (err(ad) + want.abs() / scale * err(bd)) / b.abs() * scale
        };
        if (v - want).abs() > tolerance(vd, 1) + input_err {
            return vec![mm(
                what,
                format!(
                    "{value} = {numerator} / {denominator} × {scale} = {a} / {b} × {scale} = {want:.*} (rounded)",
                    vd + 2
                ),
                format!("row {} has {v:.vd$}", i + 1),
            )];
        }
    }
    Vec::new()
}

/// The number at `path` equals the number of rows at `rows`.
pub fn count_equals(root: &Element, rows: &str, path: &str) -> Vec<Mismatch> {
    let n = rows_at(root, rows).len();
    match value_at(root, path) {
        Some(v) if v.parse::<usize>() == Ok(n) => Vec::new(),
        other => vec![mm(
            "invariants.count_equals",
            format!("{path} = {n}, the number of rows at {rows}"),
            other.map_or_else(|| "no such element".into(), |v| format!("`{v}`")),
        )],
    }
}

/// Every row at `rows` of `part` is also a row of `whole` (as a multiset, in canonical form).
pub fn subset_of(part: &Element, whole: &Element, rows: &str) -> Vec<Mismatch> {
    let mut pool: Vec<String> = rows_at(whole, rows)
        .iter()
        .map(|e| model::xml::canonical_element(e))
        .collect();
    let mine = rows_at(part, rows);
    for (i, r) in mine.iter().enumerate() {
        let c = model::xml::canonical_element(r);
        match pool.iter().position(|p| *p == c) {
            Some(k) => {
                pool.swap_remove(k);
            }
            None => {
                return vec![Mismatch {
                    what: "invariants.subset_of".into(),
                    expected: format!(
                        "each of the {} rows at {rows} among the {} of the wider answer",
                        mine.len(),
                        rows_at(whole, rows).len()
                    ),
                    actual: format!("row {} is not", i + 1),
                    diff: Some(excerpt(c.trim())),
                }]
            }
        }
    }
    Vec::new()
}

/// Whether a second answer to the same request (another encoding) is the same: status, error
/// and canonical XML (or text).
pub fn same_answer(
    first: &Answer,
    reading: &Reading,
    other: &Answer,
    how: &str,
    known: &Known,
) -> Option<Mismatch> {
    let r2 = read(other, known);
    let what = format!("invariants.same_across_encodings.{how}");
    if first.status != other.status {
        return Some(mm(
            what,
            format!("HTTP {} as with the query string", first.status),
            format!("HTTP {}", other.status),
        ));
    }
    match (&reading.doc, &r2.doc) {
        (Some(a), Some(b)) => diff(&a.root, &b.root, DiffMode::Exact).map(|d| Mismatch {
            what,
            expected: "the answer the query string got".into(),
            actual: describe(other, &r2),
            diff: Some(d.to_string()),
        }),
        _ if reading.text == r2.text => None,
        _ => Some(mm(what, describe(first, reading), describe(other, &r2))),
    }
}

/// The value at `path` of `converted` equals that of `base` times `factor`.
pub fn scales_by(converted: &Element, base: &Element, path: &str, factor: &str) -> Vec<Mismatch> {
    let what = "invariants.scales_after_write";
    let (Some(c), Some(b), Ok(k)) = (
        value_at(converted, path).as_deref().and_then(decimal),
        value_at(base, path).as_deref().and_then(decimal),
        factor.trim().parse::<f64>(),
    ) else {
        return vec![mm(
            what,
            format!("numbers at {path} in both answers and a numeric factor `{factor}`"),
            format!(
                "{:?} and {:?}",
                value_at(converted, path),
                value_at(base, path)
            ),
        )];
    };
    let want = b.0 * k;
    // Both values are rounded to their printed digits; the base's rounding is scaled too.
    if (c.0 - want).abs() > tolerance(c.1, 1) + tolerance(b.1, 1) * k.abs() {
        return vec![mm(
            what,
            format!("{path} = {:.*} × {factor} = {want:.*}", b.1, b.0, c.1),
            format!("{:.*}", c.1, c.0),
        )];
    }
    Vec::new()
}

/// Leaf values with whitespace around them (`<calls> 4 </calls>`): the canonical form trims
/// them, so the structure comparison alone would not see it.
pub fn padded_value(root: &Element, path: &str) -> Option<Mismatch> {
    let here = format!("{path}/{}", root.name);
    let children: Vec<&Element> = root.elements().collect();
    if children.is_empty() {
        let t = root.text_content();
        if !t.trim().is_empty() && t.trim() != t {
            return Some(mm(
                "structure",
                format!("{here} without surrounding whitespace"),
                format!("`{t}`"),
            ));
        }
        return None;
    }
    children.iter().find_map(|c| padded_value(c, &here))
}

/// Substitute `{{param:NAME}}` with the write request's parameter values.
pub fn substitute_params(value: &str, params: &BTreeMap<String, String>) -> String {
    let mut out = value.to_string();
    for (k, v) in params {
        out = out.replace(&format!("{{{{param:{k}}}}}"), v);
    }
    out
}

/// Whether a check of this kind needs the seeded world.
pub fn needs_seeded_world(kind: CheckKind) -> bool {
    kind == CheckKind::Exact
}

/// Whether an answer is a working API answer (XML with a root the API uses, no error): used by
/// the `api_only_under_billing_api` policy probe.
pub fn is_api_answer(answer: &Answer, reading: &Reading) -> bool {
    (200..300).contains(&answer.status)
        && reading
            .doc
            .as_ref()
            .is_some_and(|d| d.root.name != "html" && reading.error.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> Answer {
        Answer {
            status: 200,
            content_type: Some("application/xml".into()),
            delivery: Delivery::Plain,
            body: body.as_bytes().to_vec(),
            date: None,
        }
    }

    fn check(expect: &Expect, body: &str) -> Vec<Mismatch> {
        let a = answer(body);
        check_answer(expect, &a, &read(&a, &Known::default()), None)
    }

    #[test]
    fn rows_match_reads_an_element_or_an_attribute_of_each_row() {
        let doc = model::xml::parse(
            "<Invoices><Invoice user_id=\"7\"><id>1</id></Invoice><Invoice user_id=\"8\"><id>2</id></Invoice></Invoices>",
        )
        .expect("xml");
        let one = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(rows_match(&doc.root, "Invoice", "@user_id", &one(&["7", "8"])).is_empty());
        assert_eq!(
            rows_match(&doc.root, "Invoice", "@user_id", &one(&["7"]))[0].actual,
            "row 2 has `8`"
        );
        assert!(rows_match(&doc.root, "Invoice", "id", &one(&["1", "2"])).is_empty());
        assert_eq!(
            rows_match(&doc.root, "Invoice", "@number", &one(&["{{any}}"]))[0].actual,
            "row 1 has no such element"
        );
    }

    #[test]
    fn finds_errors_in_every_documented_wrapper() {
        let cases = [
            ("<error>Bad login</error>", Wrapper::Bare),
            ("<page><error>Bad login</error></page>", Wrapper::Page),
            ("<status><error>Incorrect hash</error></status>", Wrapper::Status),
            ("<page><status><error>X</error></status></page>", Wrapper::PageStatus),
            (
                "<response><error><message>Tariff not found</message></error></response>",
                Wrapper::ResponseMessage,
            ),
            (
                "<response><error>Bad XML data</error></response>",
                Wrapper::Response,
            ),
            (
                "<action><name>login</name><status>failed</status><status_message>Login failed</status_message></action>",
                Wrapper::Action,
            ),
        ];
        for (body, w) in cases {
            let r = read(&answer(body), &Known::default());
            assert_eq!(r.error.as_ref().map(|e| e.1), Some(Some(w)), "{body}");
        }
        let r = read(&answer("Feature disabled"), &Known::default());
        assert_eq!(
            r.error,
            Some(("Feature disabled".into(), Some(Wrapper::Text)))
        );
        assert_eq!(read(&answer("12.5"), &Known::default()).error, None);
        assert_eq!(
            read(
                &answer("<page><status>User balance updated</status></page>"),
                &Known::default()
            )
            .error,
            None
        );
    }

    #[test]
    fn an_error_text_and_wrapper_mismatch_is_reported_not_raised() {
        let e = Expect {
            error: Some("Incorrect hash".into()),
            wrapper: Some(Wrapper::Status),
            ..Expect::default()
        };
        assert!(check(&e, "<status><error>Incorrect hash</error></status>").is_empty());
        let m = check(&e, "<page><error>Incorrect hash</error></page>");
        assert_eq!(m[0].what, "wrapper");
        let m = check(&e, "<page><quickstats/></page>");
        assert_eq!(m[0].what, "error");
        assert!(m[0].actual.contains("XML <page>"), "{}", m[0].actual);
    }

    #[test]
    fn exact_xml_reports_the_path_of_the_first_difference() {
        let e = Expect {
            xml: Some("<page><a>1</a><b>{{int}}</b></page>".into()),
            ..Expect::default()
        };
        assert!(check(&e, "<page><a>1</a><b>7</b></page>").is_empty());
        let m = check(&e, "<page><a>2</a><b>7</b></page>");
        assert_eq!(m[0].diff.as_deref(), Some("/page/a: expected 1, got 2"));
    }

    #[test]
    fn structure_against_the_sample_accepts_other_values_of_the_same_type() {
        let e = Expect {
            structure: Some("sample".into()),
            ..Expect::default()
        };
        let sample = "<page><balance>{{number}}</balance></page>";
        let a = answer("<page><balance>12.5</balance></page>");
        assert!(check_answer(&e, &a, &read(&a, &Known::default()), Some(sample)).is_empty());
        let a = answer("<page><balance>lots</balance></page>");
        assert_eq!(
            check_answer(&e, &a, &read(&a, &Known::default()), Some(sample))[0].what,
            "structure"
        );
    }

    #[test]
    fn values_and_counts_are_read_at_paths_below_the_root() {
        let body = "<page><calls><call n=\"1\"><d>5</d></call><call n=\"2\"><d>6</d></call></calls></page>";
        let mut e = Expect::default();
        e.values.insert("calls/call/d".into(), "5".into());
        e.values.insert("calls/call/@n".into(), "{{int}}".into());
        e.counts.insert("calls/call".into(), 2);
        assert!(check(&e, body).is_empty());
        e.counts.insert("calls/call".into(), 3);
        e.values.insert("calls/missing".into(), "x".into());
        let m = check(&e, body);
        assert_eq!(m.len(), 2, "{m:?}");
    }

    #[test]
    fn success_fails_on_an_error_or_an_html_page() {
        let e = Expect {
            success: true,
            ..Expect::default()
        };
        assert!(check(&e, "<page><x>1</x></page>").is_empty());
        assert_eq!(check(&e, "<page><error>Bad login</error></page>").len(), 1);
        assert_eq!(
            check(&e, "<html><body><h1>502 Bad Gateway</h1></body>").len(),
            1
        );
    }

    #[test]
    fn totals_and_profit_invariants_tolerate_rounding_only() {
        let body = "<page><rows><r><v>1.0001</v></r><r><v>2.0001</v></r></rows><totals><v>3.0002</v></totals><t><revenue>10.00</revenue><self_cost>4.00</self_cost><profit>6.00</profit><margin>60.00</margin></t></page>";
        let root = parse(body).unwrap().root;
        assert!(totals_equal_sum(&root, "rows/r", "totals", &["v".into()]).is_empty());
        assert!(profit_is_revenue_minus_self_cost(&root, &["t".into()]).is_empty());
        let bad = parse(
            &body
                .replace("3.0002", "3.1002")
                .replace("<profit>6.00", "<profit>7.00"),
        )
        .unwrap()
        .root;
        assert_eq!(
            totals_equal_sum(&bad, "rows/r", "totals", &["v".into()]).len(),
            1
        );
        assert!(!profit_is_revenue_minus_self_cost(&bad, &["t".into()]).is_empty());
    }

    #[test]
    fn order_desc_and_narrower_compare_two_answers() {
        let a = parse("<p><r>1</r><r>2</r><r>3</r></p>").unwrap().root;
        let d = parse("<p><r>3</r><r>2</r><r>1</r></p>").unwrap().root;
        assert!(order_desc_reverses(&a, &d, "r").is_none());
        assert!(order_desc_reverses(&a, &a, "r").is_some());
        assert!(
            narrower_returns_no_more(&a, &parse("<p><r>1</r></p>").unwrap().root, "r").is_none()
        );
        assert!(narrower_returns_no_more(&parse("<p/>").unwrap().root, &a, "r").is_some());
    }

    #[test]
    fn body_kind_knows_how_the_body_came() {
        let e = Expect {
            body: Some(BodyKind::GzipXml),
            ..Expect::default()
        };
        let mut a = answer("<page/>");
        assert_eq!(
            check_answer(&e, &a, &read(&a, &Known::default()), None).len(),
            1
        );
        a.delivery = Delivery::GzipBody;
        assert!(check_answer(&e, &a, &read(&a, &Known::default()), None).is_empty());
    }

    #[test]
    fn a_ratio_rounded_down_is_caught_and_one_rounded_is_not() {
        let row = |acd: &str, asr: &str| {
            parse(&format!(
                "<p><t><b>13790</b><a>25</a><n>49</n><acd>{acd}</acd><asr>{asr}</asr></t></p>"
            ))
            .unwrap()
            .root
        };
        let ok = row("552", "51.02");
        assert!(ratio_rounded(&ok, "t", "acd", "b", "a", 1.0).is_empty());
        assert!(ratio_rounded(&ok, "t", "asr", "a", "n", 100.0).is_empty());
        assert_eq!(
            ratio_rounded(&row("551", "51.02"), "t", "acd", "b", "a", 1.0).len(),
            1
        );
        assert_eq!(
            ratio_rounded(&row("552", "51.03"), "t", "asr", "a", "n", 100.0).len(),
            1
        );
    }

    #[test]
    fn placeholders_inside_text_match_by_type() {
        assert!(value_matches("ANSWERED({{int}})", "ANSWERED(16)"));
        assert!(!value_matches("ANSWERED({{int}})", "ANSWERED(x)"));
        assert!(!value_matches("ANSWERED({{int}})", "BUSY(17)"));
        assert!(value_matches("{{int}} s", "12 s"));
        assert!(value_matches("plain", "plain"));
    }

    #[test]
    fn param_placeholders_are_substituted() {
        let mut p = BTreeMap::new();
        p.insert("balance".to_string(), "10".to_string());
        assert_eq!(substitute_params("{{param:balance}}.0", &p), "10.0");
    }
}
