//! Stage 4 of `run`: reports. The outcomes are sorted (file, case index), so every artifact is
//! the same from run to run whatever the concurrency. None holds a secret or a digest by
//! construction: outcomes are made from answers masked as they were read (`secret::Known`) and
//! requests shown parameter by parameter (`secret::shown_param`); nothing here searches text.
//!
//! - terminal: one line per case, then every failure with expected versus actual, the XML diff
//!   (path of the first difference) and a `curl` reproduction; it ends with the exact line
//!   `N passed, N failed, N skipped` (errors count as failed, observations as passed; the line
//!   before says how many of each);
//! - `--junit FILE`: one testsuite per scenario file, one testcase per case; a failed check is a
//!   `<failure>`, a transport or runtime problem an `<error>`, a skipped case `<skipped>`;
//! - `--json FILE`: [`RunReport`] as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use crate::check::{kind_name, CheckOutcome, Status};

/// Counts of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Passed, including observations.
    pub passed: usize,
    /// Failed, including errors.
    pub failed: usize,
    /// Skipped.
    pub skipped: usize,
    /// Of the failed: errors (no usable answer).
    pub errors: usize,
    /// Of the passed: observations of undocumented behaviour.
    pub observed: usize,
}

impl Summary {
    /// Count outcomes.
    pub fn of(outcomes: &[CheckOutcome]) -> Summary {
        let mut s = Summary::default();
        for o in outcomes {
            match o.status {
                Status::Passed => s.passed += 1,
                Status::Observed => {
                    s.passed += 1;
                    s.observed += 1
                }
                Status::Failed => s.failed += 1,
                Status::Error => {
                    s.failed += 1;
                    s.errors += 1
                }
                Status::Skipped => s.skipped += 1,
            }
        }
        s
    }

    /// The last line of the terminal report.
    pub fn line(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// What a case exercised of the catalogue once it got an answer: a parameter it sent to a method,
/// or a documented error of a method it expected.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Touch {
    /// (canonical method, parameter name)
    Param(String, String),
    /// (canonical method, error text)
    Error(String, String),
}

/// A parameter or a documented error of a method, and whether some case exercised it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Covered {
    /// The parameter's name or the error's text.
    pub name: String,
    /// Whether a case that got an answer sent it (a parameter) or expected it (an error).
    pub exercised: bool,
}

/// One method of a run: its cases and how much of its catalogue entry they exercised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodReport {
    /// The canonical method (an alias counts for its method; `-` for raw paths, a name the
    /// catalogue does not know as written).
    pub method: String,
    /// Cases calling it.
    pub cases: usize,
    /// Of those, cases run (not skipped).
    pub run: usize,
    /// Passed (observations not included).
    pub passed: usize,
    /// Failed checks (errors not included).
    pub failed: usize,
    /// Errors: no usable answer.
    pub errors: usize,
    /// Skipped.
    pub skipped: usize,
    /// Observations of undocumented behaviour.
    pub observed: usize,
    /// The catalogue's parameters of the method (empty when the catalogue does not know it).
    pub params: Vec<Covered>,
    /// The method's own documented errors (the general ones, such as `Incorrect hash`, apply to
    /// every method and are not counted).
    pub documented_errors: Vec<Covered>,
    /// Share of the parameters and documented errors exercised, 0 to 1 (None when the method
    /// has neither or is not in the catalogue).
    pub coverage: Option<f64>,
}

/// Per method, in name order: counts and coverage. `touches[i]` is what `outcomes[i]` exercised
/// (counted only when the case got an answer: passed, failed or observed); `canonical` maps the
/// method a case names to its catalogue entry.
pub fn methods<'c>(
    outcomes: &[CheckOutcome],
    touches: &[Vec<Touch>],
    canonical: impl Fn(&str) -> Option<&'c model::catalogue::Method>,
) -> Vec<MethodReport> {
    let mut by: BTreeMap<String, MethodReport> = BTreeMap::new();
    let mut exercised: std::collections::BTreeSet<&Touch> = Default::default();
    for (i, o) in outcomes.iter().enumerate() {
        let entry = canonical(&o.case.method);
        let name = match entry {
            Some(m) => m.name.to_string(),
            None if o.case.method.is_empty() => "-".to_string(),
            None => o.case.method.clone(),
        };
        let r = by.entry(name.clone()).or_insert_with(|| MethodReport {
            method: name,
            cases: 0,
            run: 0,
            passed: 0,
            failed: 0,
            errors: 0,
            skipped: 0,
            observed: 0,
            params: entry
                .map(|m| {
                    m.params
                        .iter()
                        .map(|p| Covered {
                            name: p.name.clone(),
                            exercised: false,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            documented_errors: entry
                .map(|m| {
                    let mut seen = std::collections::BTreeSet::new();
                    m.errors
                        .iter()
                        .filter(|e| seen.insert(e.text.clone()))
                        .map(|e| Covered {
                            name: e.text.clone(),
                            exercised: false,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            coverage: None,
        });
        r.cases += 1;
        match o.status {
            Status::Passed => r.passed += 1,
            Status::Failed => r.failed += 1,
            Status::Error => r.errors += 1,
            Status::Skipped => r.skipped += 1,
            Status::Observed => r.observed += 1,
        }
        if o.status != Status::Skipped {
            r.run += 1;
        }
        if matches!(o.status, Status::Passed | Status::Failed | Status::Observed) {
            exercised.extend(touches.get(i).into_iter().flatten());
        }
    }
    for r in by.values_mut() {
        for p in &mut r.params {
            p.exercised = exercised.contains(&Touch::Param(r.method.clone(), p.name.clone()));
        }
        for e in &mut r.documented_errors {
            e.exercised = exercised.contains(&Touch::Error(r.method.clone(), e.name.clone()));
        }
        let all = r.params.len() + r.documented_errors.len();
        let hit = r
            .params
            .iter()
            .chain(&r.documented_errors)
            .filter(|c| c.exercised)
            .count();
        r.coverage = (all > 0).then(|| hit as f64 / all as f64);
    }
    by.into_values().collect()
}

/// Everything a run found (the `--json` document).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The product checked.
    pub product: String,
    /// The target (`in-process mock` or the base URL).
    pub target: String,
    /// Whether exact checks could run.
    pub seeded: bool,
    /// Counts.
    pub summary: Summary,
    /// What the run knew of a foreign target: the target file's facts and settings and what
    /// discovery found (None for the in-process mock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery: Option<crate::discover::Discovery>,
    /// Per method: counts and how much of the catalogue the cases exercised.
    pub methods: Vec<MethodReport>,
    /// Every case, sorted by file then index.
    pub outcomes: Vec<CheckOutcome>,
}

/// The status as the terminal prints it (`PASS`, `FAIL`, ...).
pub fn label(s: &Status) -> &'static str {
    match s {
        Status::Passed => "PASS",
        Status::Failed => "FAIL",
        Status::Skipped => "SKIP",
        Status::Error => "ERROR",
        Status::Observed => "OBSERVED",
    }
}

/// One line of a line diff: `-` only in the expected text, `+` only in the actual one, ` ` in
/// both; `None` separates groups of changes (context elided between them).
pub type DiffLine = Option<(char, String)>;

/// The line diff of two texts (grouped with three lines of context), from `similar`.
pub fn diff_lines(expected: &str, actual: &str) -> Vec<DiffLine> {
    let diff = similar::TextDiff::from_lines(expected, actual);
    let mut out = Vec::new();
    for group in diff.grouped_ops(3) {
        for op in group {
            for change in diff.iter_changes(&op) {
                let sign = match change.tag() {
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                    similar::ChangeTag::Equal => ' ',
                };
                let line = change.value().trim_end_matches('\n');
                out.push(Some((sign, line.to_string())));
            }
        }
        out.push(None);
    }
    out
}

/// A unified line diff of two texts (three lines of context), each line prefixed.
fn line_diff(expected: &str, actual: &str, prefix: &str) -> String {
    let mut out = String::new();
    for l in diff_lines(expected, actual) {
        let _ = match l {
            Some((sign, line)) => writeln!(out, "{prefix}{sign} {line}"),
            None => writeln!(out, "{prefix}…"),
        };
    }
    out
}

/// A status label, padded to 8 columns, in colour when asked.
fn painted(s: &Status, colour: bool) -> String {
    paint(s, &format!("{:<8}", label(s)), colour)
}

/// `text` in the colour of status `s` when asked (ANSI: green, bold red, yellow, cyan).
pub fn paint(s: &Status, text: &str, colour: bool) -> String {
    if !colour {
        return text.to_string();
    }
    let code = match s {
        Status::Passed => "32",
        Status::Failed | Status::Error => "1;31",
        Status::Skipped => "33",
        Status::Observed => "36",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// The terminal report, without colour (CI logs, pipes, files).
pub fn terminal(r: &RunReport) -> String {
    terminal_with(r, false)
}

/// The terminal report; `colour` paints the status labels.
pub fn terminal_with(r: &RunReport, colour: bool) -> String {
    let mut out = String::new();
    for o in &r.outcomes {
        let _ = write!(
            out,
            "{} {}:{} {} [{}]",
            painted(&o.status, colour),
            o.case.file,
            o.case.line,
            o.case.name,
            kind_name(o.kind)
        );
        if o.status == Status::Skipped {
            let _ = write!(out, " ({})", o.message);
        }
        out.push('\n');
    }
    let notable: Vec<&CheckOutcome> = r
        .outcomes
        .iter()
        .filter(|o| matches!(o.status, Status::Failed | Status::Error | Status::Observed))
        .collect();
    for o in notable {
        let _ = writeln!(
            out,
            "\n{} {}:{} {} ({} {})",
            paint(&o.status, &format!("--- {}", label(&o.status)), colour),
            o.case.file,
            o.case.line,
            o.case.name,
            o.case.method,
            kind_name(o.kind)
        );
        if o.status == Status::Observed {
            out.push_str("    an undocumented behaviour (UNK or quirk) differs from the case; reported, not failed\n");
            if let Some(note) = o
                .message
                .lines()
                .next()
                .filter(|l| l.starts_with("observed:"))
            {
                let _ = writeln!(out, "    {note}");
            }
        }
        if o.mismatches.is_empty() {
            let _ = writeln!(out, "    {}", o.message.replace('\n', "\n    "));
        }
        for m in &o.mismatches {
            let _ = writeln!(out, "    {}:", m.what);
            if m.expected.contains('\n') && m.actual.contains('\n') {
                // Two documents: a line diff of their canonical forms.
                let _ = writeln!(out, "      diff (- expected, + actual):");
                let diff = line_diff(&m.expected, &m.actual, "        ");
                if colour {
                    // Removed lines red, added lines green.
                    for l in diff.lines() {
                        let code = match l.trim_start().as_bytes().first() {
                            Some(b'-') => "31",
                            Some(b'+') => "32",
                            _ => "0",
                        };
                        let _ = writeln!(out, "\x1b[{code}m{l}\x1b[0m");
                    }
                } else {
                    out.push_str(&diff);
                }
            } else {
                let _ = writeln!(
                    out,
                    "      expected: {}",
                    indent(&m.expected, "                ")
                );
                let _ = writeln!(
                    out,
                    "      actual:   {}",
                    indent(&m.actual, "                ")
                );
            }
            if let Some(d) = &m.diff {
                let _ = writeln!(out, "      first difference: {d}");
            }
        }
        if let Some(c) = &o.curl {
            let _ = writeln!(out, "    reproduce:\n      {c}");
        }
    }
    out.push('\n');
    // Per method: what ran and how it went.
    let mut by_method: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    for o in &r.outcomes {
        let m = if o.case.method.is_empty() {
            "-"
        } else {
            o.case.method.as_str()
        };
        let slot = match o.status {
            Status::Passed => 0,
            Status::Failed | Status::Error => 1,
            Status::Skipped => 2,
            Status::Observed => 3,
        };
        let e = by_method.entry(m).or_default();
        e[slot] += 1;
        e[4] += 1;
    }
    let _ = writeln!(
        out,
        "{:<28} {:>6} {:>6} {:>6} {:>8}",
        "method", "passed", "failed", "skipped", "observed"
    );
    for (m, c) in &by_method {
        let _ = writeln!(
            out,
            "{m:<28} {:>6} {:>6} {:>6} {:>8}",
            c[0], c[1], c[2], c[3]
        );
    }
    out.push('\n');
    let s = &r.summary;
    let _ = writeln!(
        out,
        "{} cases against {} ({}): {} errors counted as failed, {} observations counted as passed",
        r.outcomes.len(),
        r.target,
        r.product,
        s.errors,
        s.observed
    );
    out.push_str(&s.line());
    out.push('\n');
    out
}

fn indent(s: &str, pad: &str) -> String {
    s.replace('\n', &format!("\n{pad}"))
}

/// The JUnit report: one testsuite per scenario file, one testcase per case.
pub fn junit(r: &RunReport) -> Result<String, String> {
    let mut report = Report::new("mor-conformance");
    let mut suites: Vec<TestSuite> = Vec::new();
    for o in &r.outcomes {
        if suites.last().is_none_or(|s| s.name.as_str() != o.case.file) {
            suites.push(TestSuite::new(o.case.file.clone()));
        }
        let status = match o.status {
            Status::Passed | Status::Observed => TestCaseStatus::success(),
            Status::Skipped => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(o.message.clone());
                s
            }
            Status::Failed | Status::Error => {
                let kind = if o.status == Status::Failed {
                    NonSuccessKind::Failure
                } else {
                    NonSuccessKind::Error
                };
                let mut s = TestCaseStatus::non_success(kind);
                s.set_message(o.message.lines().next().unwrap_or_default().to_string());
                s.set_type(kind_name(o.kind));
                let mut d = o.message.clone();
                if let Some(diff) = &o.diff {
                    let _ = write!(d, "\nfirst difference: {diff}");
                }
                if let Some(c) = &o.curl {
                    let _ = write!(d, "\nreproduce: {c}");
                }
                s.set_description(d);
                s
            }
        };
        let mut tc = TestCase::new(o.case.name.clone(), status);
        tc.set_classname(format!("{}:{}", o.case.file, o.case.line));
        tc.set_time(std::time::Duration::from_millis(o.millis));
        if o.status == Status::Observed {
            tc.set_system_out(format!("observed: {}", o.message));
        }
        if let Some(s) = suites.last_mut() {
            s.add_test_case(tc);
        }
    }
    report.add_test_suites(suites);
    report.to_string().map_err(|e| e.to_string())
}

/// The JSON report.
pub fn json(r: &RunReport) -> Result<String, String> {
    serde_json::to_string_pretty(r).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_counts_errors_as_failed_and_observations_as_passed() {
        use crate::check::CaseId;
        use model::scenario::CheckKind;
        let id = |n: &str| CaseId {
            file: "f".into(),
            index: 0,
            line: 1,
            name: n.into(),
            method: "m".into(),
        };
        let outs = vec![
            CheckOutcome::other(id("a"), CheckKind::Protocol, Status::Error, "x".into()),
            CheckOutcome::other(id("b"), CheckKind::Protocol, Status::Observed, "x".into()),
            CheckOutcome::other(id("c"), CheckKind::Exact, Status::Skipped, "x".into()),
        ];
        assert_eq!(Summary::of(&outs).line(), "1 passed, 1 failed, 1 skipped");
    }

    #[test]
    fn colour_only_when_asked_failures_red_and_diff_lines_red_and_green() {
        use crate::check::{CaseId, Mismatch};
        use model::scenario::CheckKind;
        let id = CaseId {
            file: "f".into(),
            index: 0,
            line: 1,
            name: "a".into(),
            method: "m".into(),
        };
        let mut o = CheckOutcome::other(id, CheckKind::Exact, Status::Failed, "x".into());
        o.mismatches.push(Mismatch {
            what: "xml".into(),
            expected: "<a>\n  <b>1</b>\n</a>".into(),
            actual: "<a>\n  <b>2</b>\n</a>".into(),
            diff: None,
        });
        let report = RunReport {
            product: "m4".into(),
            target: "in-process".into(),
            seeded: true,
            summary: Summary::of(std::slice::from_ref(&o)),
            discovery: None,
            methods: Vec::new(),
            outcomes: vec![o],
        };
        let plain = terminal_with(&report, false);
        assert!(!plain.contains('\x1b'), "{plain}");
        let coloured = terminal_with(&report, true);
        assert!(
            coloured.contains("\x1b[1;31m--- FAIL\x1b[0m f:1 a"),
            "{coloured}"
        );
        assert!(coloured.contains("\x1b[31m        - "), "{coloured}");
        assert!(coloured.contains("\x1b[32m        + "), "{coloured}");
    }
}
