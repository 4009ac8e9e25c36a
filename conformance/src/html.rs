//! `run --html FILE`: the run as one self-contained HTML page (inline CSS and a small inline
//! script to filter the cases; nothing loaded from anywhere), rendered from [`RunReport`], the
//! same data as the JUnit and JSON reports.
//!
//! Escaped by construction: the page is written through [`Html`], whose only way to add text or
//! an attribute value escapes it; unescaped markup can only be a `&'static str` of this file
//! (tags, the style sheet, the script). The page is well-formed XML too (void elements closed,
//! control characters shown as their Unicode pictures), so tests and tools can parse it.
//!
//! The page: totals; a table per method (cases, run, passed, failed, errors, skipped, observed,
//! and the coverage of its catalogue entry: the share of its parameters and documented errors
//! that a case with an answer exercised, each listed); every failure and observation with the
//! request as the scenario writes it, the mismatches (a line diff of the canonical XML when
//! both sides are documents) and the `curl` reproduction; then every case, filterable.

use std::fmt::Write as _;

use crate::check::{kind_name, CheckOutcome, Status};
use crate::report::{diff_lines, label, MethodReport, RunReport};

/// An HTML writer that escapes every text and attribute value it is given.
struct Html {
    out: String,
}

impl Html {
    fn open(&mut self, tag: &'static str, attrs: &[(&'static str, &str)]) {
        self.out.push('<');
        self.out.push_str(tag);
        for (k, v) in attrs {
            let _ = write!(self.out, " {k}=\"{}\"", escape(v));
        }
        self.out.push('>');
    }

    fn close(&mut self, tag: &'static str) {
        let _ = write!(self.out, "</{tag}>");
    }

    /// A void element (`<meta/>`, `<input/>`), closed for XML parsers. Only for HTML's void
    /// elements: a browser reads `<span/>` as an opening tag.
    fn void(&mut self, tag: &'static str, attrs: &[(&'static str, &str)]) {
        debug_assert!(matches!(tag, "meta" | "input" | "br"));
        self.open(tag, attrs);
        self.out.pop();
        self.out.push_str("/>");
    }

    fn text(&mut self, s: &str) {
        self.out.push_str(&escape(s));
    }

    /// `<tag attrs>text</tag>`.
    fn leaf(&mut self, tag: &'static str, attrs: &[(&'static str, &str)], text: &str) {
        self.open(tag, attrs);
        self.text(text);
        self.close(tag);
    }

    /// Markup of this file only.
    fn raw(&mut self, s: &'static str) {
        self.out.push_str(s);
    }
}

/// Text for HTML and XML: the five special characters as references, and control characters
/// (which XML does not allow) as their Unicode control pictures (`␛` for ESC).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {
                out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'))
            }
            '\u{7f}' => out.push('\u{2421}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --pass: #1a7f37; --fail: #cf222e; --skip: #9a6700; --obs: #0969da; --err: #8250df;
  --line: #d0d7de; --muted: #57606a; --bg2: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
  margin: 0 auto; padding: 24px 32px 48px; max-width: 1200px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 4px; }
.meta, .where, .note { color: var(--muted); }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 14px 0 6px; }
.tile { border: 1px solid var(--line); border-left-width: 5px; border-radius: 6px; padding: 6px 14px; min-width: 110px; }
.tile b { display: block; font-size: 22px; }
.tile.passed { border-left-color: var(--pass); } .tile.failed { border-left-color: var(--fail); }
.tile.error { border-left-color: var(--err); } .tile.skipped { border-left-color: var(--skip); }
.tile.observed { border-left-color: var(--obs); } .tile.total { border-left-color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg2); font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; width: 64px; }
td.cov { white-space: nowrap; width: 190px; }
td.zero { color: #afb8c1; }
td.n.failed:not(.zero) { color: var(--fail); font-weight: 600; }
td.n.error:not(.zero) { color: var(--err); font-weight: 600; }
tr.detail td { background: #fbfcfd; font-size: 12.5px; padding-bottom: 8px; }
.bar { display: inline-block; width: 80px; height: 8px; background: #eaeef2; border-radius: 4px;
  vertical-align: middle; margin-right: 6px; overflow: hidden; }
.bar span { display: block; height: 100%; background: var(--pass); }
.chip { display: inline-block; padding: 0 6px; margin: 1px 2px; border-radius: 10px; font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.chip.yes { background: #dafbe1; color: #116329; }
.chip.no { background: #eaeef2; color: var(--muted); text-decoration: line-through; }
.badge { display: inline-block; min-width: 70px; text-align: center; border-radius: 4px; color: #fff;
  font: 600 11px/18px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; padding: 0 6px; }
.badge.passed { background: var(--pass); } .badge.failed { background: var(--fail); }
.badge.error { background: var(--err); } .badge.skipped { background: var(--skip); }
.badge.observed { background: var(--obs); }
article { min-width: 0; overflow: hidden; border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; margin: 12px 0; }
article.failed { border-left: 5px solid var(--fail); } article.error { border-left: 5px solid var(--err); }
article.observed { border-left: 5px solid var(--obs); }
h4 { font-size: 13px; margin: 12px 0 4px; }
pre { background: var(--bg2); border: 1px solid var(--line); border-radius: 4px; padding: 8px 10px;
  margin: 4px 0; overflow-x: auto; font: 12.5px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-all; }
pre.diff { white-space: pre; word-break: normal; }
.diff .del { background: #ffebe9; color: #82071e; display: block; }
.diff .ins { background: #dafbe1; color: #116329; display: block; }
.diff .ctx { display: block; } .diff .gap { display: block; color: var(--muted); }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 12px; margin: 6px 0; }
dt { color: var(--muted); } dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; word-break: break-all; }
.filters { display: flex; gap: 8px; margin: 8px 0; }
.filters input { flex: 1; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
.filters select { padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
#cases { table-layout: fixed; }
#cases td { font-size: 13px; overflow-wrap: anywhere; }
#cases th:nth-child(1) { width: 96px; } #cases th:nth-child(2) { width: 30%; }
#cases th:nth-child(4) { width: 160px; } #cases th:nth-child(5) { width: 80px; }
#cases td.file { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
"#;

/// Filters the case table by text and status. No `<` or `&` in it: the page stays well-formed
/// XML without a CDATA section.
const SCRIPT: &str = r#"
(function () {
  var q = document.getElementById('q'), st = document.getElementById('st');
  function apply() {
    var text = q.value.toLowerCase(), want = st.value, shown = 0;
    document.querySelectorAll('#cases tbody tr').forEach(function (r) {
      var ok = want === 'all' || r.getAttribute('data-status') === want;
      if (ok) { ok = r.textContent.toLowerCase().indexOf(text) !== -1; }
      r.style.display = ok ? '' : 'none';
      if (ok) { shown += 1; }
    });
    document.getElementById('shown').textContent = shown;
  }
  q.addEventListener('input', apply);
  st.addEventListener('change', apply);
})();
"#;

/// The CSS class of a status.
fn class(s: &Status) -> &'static str {
    match s {
        Status::Passed => "passed",
        Status::Failed => "failed",
        Status::Skipped => "skipped",
        Status::Error => "error",
        Status::Observed => "observed",
    }
}

/// The whole page.
pub fn render(r: &RunReport) -> String {
    let mut h = Html { out: String::new() };
    h.raw("<!DOCTYPE html>\n");
    h.open("html", &[("lang", "en")]);
    h.open("head", &[]);
    h.void("meta", &[("charset", "utf-8")]);
    h.void(
        "meta",
        &[("name", "viewport"), ("content", "width=device-width")],
    );
    h.leaf(
        "title",
        &[],
        &format!("mor-conformance: {} against {}", r.product, r.target),
    );
    h.open("style", &[]);
    h.raw(STYLE);
    h.close("style");
    h.close("head");
    h.open("body", &[]);
    header(&mut h, r);
    methods(&mut h, &r.methods);
    problems(&mut h, r);
    cases(&mut h, &r.outcomes);
    h.open("footer", &[]);
    h.text(&format!(
        "mor-conformance {}. The request lines are the scenario files' (facts unresolved); secrets and digests never appear: a reproduction recomputes the hash from $MOR_SECRET.",
        env!("CARGO_PKG_VERSION")
    ));
    h.close("footer");
    h.open("script", &[]);
    h.raw(SCRIPT);
    h.close("script");
    h.close("body");
    h.close("html");
    h.out.push('\n');
    h.out
}

fn header(h: &mut Html, r: &RunReport) {
    h.open("header", &[]);
    h.leaf("h1", &[], "mor-conformance report");
    h.leaf(
        "p",
        &[("class", "meta")],
        &format!(
            "product {} · target {} · {} · {} cases",
            r.product,
            r.target,
            if r.seeded {
                "seeded world: exact checks ran"
            } else {
                "not our seeded world: exact checks skipped"
            },
            r.outcomes.len()
        ),
    );
    let s = &r.summary;
    h.open("div", &[("class", "tiles"), ("id", "totals")]);
    for (cls, n, what) in [
        ("total", r.outcomes.len(), "cases"),
        ("passed", s.passed - s.observed, "passed"),
        ("failed", s.failed - s.errors, "failed"),
        ("error", s.errors, "errors"),
        ("skipped", s.skipped, "skipped"),
        ("observed", s.observed, "observed"),
    ] {
        h.open(
            "div",
            &[("class", &format!("tile {cls}")), ("data-count", cls)],
        );
        h.leaf("b", &[], &n.to_string());
        h.text(what);
        h.close("div");
    }
    h.close("div");
    h.leaf(
        "p",
        &[("class", "note")],
        &format!(
            "{}: errors (no usable answer) count as failed, observations (undocumented behaviour that differs) as passed.",
            s.line()
        ),
    );
    h.close("header");
}

fn methods(h: &mut Html, methods: &[MethodReport]) {
    h.leaf("h2", &[], "Methods");
    h.leaf(
        "p",
        &[("class", "note")],
        "Coverage: the share of the method's catalogue parameters and own documented errors that a case with an answer sent or expected (struck through: none did). The general errors (Incorrect hash, Bad login, ...) apply to every method and are not counted.",
    );
    h.open("table", &[("id", "methods")]);
    h.open("thead", &[]);
    h.open("tr", &[]);
    h.leaf("th", &[], "method");
    for c in [
        "cases", "run", "passed", "failed", "errors", "skipped", "observed",
    ] {
        h.leaf("th", &[("class", "n")], c);
    }
    h.leaf("th", &[], "coverage");
    h.close("tr");
    h.close("thead");
    h.open("tbody", &[]);
    for m in methods {
        h.open("tr", &[("data-method", &m.method)]);
        h.open("td", &[]);
        h.leaf("b", &[], &m.method);
        h.close("td");
        for (cls, n) in [
            ("cases", m.cases),
            ("run", m.run),
            ("passed", m.passed),
            ("failed", m.failed),
            ("error", m.errors),
            ("skipped", m.skipped),
            ("observed", m.observed),
        ] {
            let c = if n == 0 {
                format!("n {cls} zero")
            } else {
                format!("n {cls}")
            };
            h.leaf("td", &[("class", &c), ("data-count", cls)], &n.to_string());
        }
        h.open("td", &[("class", "cov")]);
        match m.coverage {
            Some(c) => {
                let pct = (c * 100.0).round();
                h.open("span", &[("class", "bar")]);
                h.leaf("span", &[("style", &format!("width:{pct}%"))], "");
                h.close("span");
                let hit = m
                    .params
                    .iter()
                    .chain(&m.documented_errors)
                    .filter(|c| c.exercised)
                    .count();
                let all = m.params.len() + m.documented_errors.len();
                h.text(&format!("{pct}% ({hit}/{all})"));
            }
            None => h.text("-"),
        }
        h.close("td");
        h.close("tr");
        if !m.params.is_empty() || !m.documented_errors.is_empty() {
            h.open("tr", &[("class", "detail")]);
            h.open("td", &[("colspan", "9")]);
            for (what, list) in [
                ("parameters: ", &m.params),
                ("documented errors: ", &m.documented_errors),
            ] {
                if list.is_empty() {
                    continue;
                }
                h.open("div", &[]);
                h.text(what);
                for c in list {
                    let cls = if c.exercised { "chip yes" } else { "chip no" };
                    h.leaf("span", &[("class", cls)], &c.name);
                }
                h.close("div");
            }
            h.close("td");
            h.close("tr");
        }
    }
    h.close("tbody");
    h.close("table");
}

fn anchor(i: usize) -> String {
    format!("case-{i}")
}

fn problems(h: &mut Html, r: &RunReport) {
    for (title, wanted, none) in [
        (
            "Failures",
            &[Status::Failed, Status::Error][..],
            "No failure.",
        ),
        ("Observations", &[Status::Observed][..], "No observation."),
    ] {
        let list: Vec<(usize, &CheckOutcome)> = r
            .outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| wanted.contains(&o.status))
            .collect();
        h.open("section", &[("id", &title.to_lowercase())]);
        h.leaf("h2", &[], &format!("{title} ({})", list.len()));
        if list.is_empty() {
            h.leaf("p", &[("class", "note")], none);
        }
        for (i, o) in list {
            outcome(h, i, o);
        }
        h.close("section");
    }
}

fn outcome(h: &mut Html, i: usize, o: &CheckOutcome) {
    h.open(
        "article",
        &[("class", class(&o.status)), ("id", &anchor(i))],
    );
    h.open("h3", &[]);
    h.leaf(
        "span",
        &[("class", &format!("badge {}", class(&o.status)))],
        label(&o.status),
    );
    h.text(" ");
    h.text(&o.case.name);
    h.close("h3");
    h.leaf(
        "p",
        &[("class", "where")],
        &format!(
            "{}:{} · {} · {}",
            o.case.file,
            o.case.line,
            if o.case.method.is_empty() {
                "-"
            } else {
                &o.case.method
            },
            kind_name(o.kind)
        ),
    );
    h.open("dl", &[]);
    if let Some(req) = &o.request {
        h.leaf("dt", &[], "request");
        h.leaf("dd", &[("class", "request")], req);
    }
    if o.mismatches.is_empty() || o.status == Status::Observed {
        if let Some(first) = o.message.lines().next() {
            h.leaf("dt", &[], "why");
            h.leaf("dd", &[], first);
        }
    }
    h.close("dl");
    if o.mismatches.is_empty() {
        let rest: Vec<&str> = o.message.lines().skip(1).collect();
        if !rest.is_empty() {
            h.leaf("pre", &[], &rest.join("\n"));
        }
    }
    for m in &o.mismatches {
        h.leaf("h4", &[], &m.what);
        if m.expected.contains('\n') && m.actual.contains('\n') {
            h.leaf(
                "div",
                &[("class", "note")],
                "diff of the canonical XML (- expected, + actual):",
            );
            h.open("pre", &[("class", "diff")]);
            for l in diff_lines(&m.expected, &m.actual) {
                match l {
                    Some((sign, line)) => {
                        let cls = match sign {
                            '-' => "del",
                            '+' => "ins",
                            _ => "ctx",
                        };
                        h.leaf("span", &[("class", cls)], &format!("{sign} {line}"));
                    }
                    None => h.leaf("span", &[("class", "gap")], "…"),
                }
            }
            h.close("pre");
        } else {
            h.open("dl", &[]);
            h.leaf("dt", &[], "expected");
            h.leaf("dd", &[("class", "expected")], &m.expected);
            h.leaf("dt", &[], "actual");
            h.leaf("dd", &[("class", "actual")], &m.actual);
            h.close("dl");
        }
        if let Some(d) = &m.diff {
            h.open("dl", &[]);
            h.leaf("dt", &[], "first difference");
            h.leaf("dd", &[], d);
            h.close("dl");
        }
    }
    if let Some(c) = &o.curl {
        h.leaf("h4", &[], "reproduce");
        h.leaf("pre", &[("class", "curl")], c);
    }
    h.close("article");
}

fn cases(h: &mut Html, outcomes: &[CheckOutcome]) {
    h.leaf("h2", &[], "Cases");
    h.open("div", &[("class", "filters")]);
    h.void(
        "input",
        &[
            ("id", "q"),
            ("type", "search"),
            ("placeholder", "filter by name, file, method or reason"),
        ],
    );
    h.open("select", &[("id", "st")]);
    for s in ["all", "passed", "failed", "error", "skipped", "observed"] {
        h.leaf("option", &[("value", s)], s);
    }
    h.close("select");
    h.close("div");
    h.open("p", &[("class", "note")]);
    h.leaf("span", &[("id", "shown")], &outcomes.len().to_string());
    h.text(&format!(" of {} cases shown", outcomes.len()));
    h.close("p");
    h.open("table", &[("id", "cases")]);
    h.open("thead", &[]);
    h.open("tr", &[]);
    for c in ["status", "case", "name", "method", "kind", "note"] {
        h.leaf("th", &[], c);
    }
    h.close("tr");
    h.close("thead");
    h.open("tbody", &[]);
    for (i, o) in outcomes.iter().enumerate() {
        h.open("tr", &[("data-status", class(&o.status))]);
        h.open("td", &[]);
        h.leaf(
            "span",
            &[("class", &format!("badge {}", class(&o.status)))],
            label(&o.status),
        );
        h.close("td");
        h.open("td", &[("class", "file")]);
        let place = format!("{}:{}", o.case.file, o.case.line);
        if matches!(o.status, Status::Failed | Status::Error | Status::Observed) {
            h.leaf("a", &[("href", &format!("#{}", anchor(i)))], &place);
        } else {
            h.text(&place);
        }
        h.close("td");
        h.leaf("td", &[], &o.case.name);
        h.leaf("td", &[], &o.case.method);
        h.leaf("td", &[], kind_name(o.kind));
        let note = match o.status {
            Status::Passed => "",
            _ => o.message.lines().next().unwrap_or_default(),
        };
        h.leaf("td", &[("class", "note")], note);
        h.close("tr");
    }
    h.close("tbody");
    h.close("table");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped_and_control_characters_shown() {
        let mut h = Html { out: String::new() };
        h.leaf("p", &[("title", "a\"b'<c>&")], "<script>&amp;\u{1b}[31m");
        assert_eq!(
            h.out,
            "<p title=\"a&quot;b&#39;&lt;c&gt;&amp;\">&lt;script&gt;&amp;amp;\u{241b}[31m</p>"
        );
    }
}
