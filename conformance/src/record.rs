//! Recording a target's answers (`run --record DIR`) and comparing a later run with them
//! (`run --compare DIR`), so an operator sees exactly what an upgrade changed.
//!
//! A recording is one small text file per case, `DIR/<product>/<scenario file>/<NNN>-<case>.snap`:
//! a `#` header (case, method, HTTP status, content type) and the answer as canonical XML (or
//! the plain text), with volatile and sensitive values redacted ([`redact_element`]): elements
//! whose name says secret (`hash`, `uniquehash`, `api_secret`, `password`, ...) become
//! `[redacted]`, 40-hex digests `[hash]`, dates and times `[datetime]` / `[date]` (answers
//! relative to the real clock), and every value holding a secret the runner knows is masked
//! (`secret::Known`, value by value: the file is never searched as text). No request, no
//! digest and no secret is written.
//!
//! Comparing flattens both answers into `path = value` lines (`/page/user/balance = 10.5`,
//! repeated siblings indexed `/page/users/user[2]/id`) and reports every path whose value
//! changed, appeared or disappeared, as a `recording /path` mismatch of that case: the rest of
//! the run's report (terminal, JUnit, JSON, exit code 4) carries it.
//!
//! Stage: after `client` (the answer), beside `check`; wired into `run` by `--record` and
//! `--compare`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use model::catalogue::Product;
use model::xml::{canonical_element, parse, Element, Node};

use crate::check::{CaseId, Mismatch};
use crate::client::Answer;
use crate::secret::{Known, RECORD};

/// What a recording does in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write every answer (replacing an older recording of the same case).
    Record,
    /// Compare every answer with the recorded one; write nothing.
    Compare,
}

/// A recording directory and what to do with it.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The directory.
    pub dir: PathBuf,
    /// Record or compare.
    pub mode: Mode,
}

/// How values are redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redaction {
    /// Replace dates and times (answers relative to the real clock).
    pub times: bool,
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `YYYY-MM-DD`.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && digits(&s[0..4])
        && b[4] == b'-'
        && digits(&s[5..7])
        && b[7] == b'-'
        && digits(&s[8..10])
}

/// `YYYY-MM-DD HH:MM:SS` (or with a `T`, seconds fraction or zone after).
fn is_datetime(s: &str) -> bool {
    s.len() >= 19
        && s.is_char_boundary(10)
        && s.is_char_boundary(19)
        && is_date(&s[..10])
        && matches!(s.as_bytes()[10], b' ' | b'T')
        && {
            let t = &s.as_bytes()[11..19];
            t[2] == b':'
                && t[5] == b':'
                && t.iter()
                    .enumerate()
                    .all(|(i, c)| i == 2 || i == 5 || c.is_ascii_digit())
        }
}

/// The redacted form of one value: what [`Known::value`] masks (credentials, digests, known
/// secrets), then dates and times.
pub fn redact_value(element: &str, value: &str, how: Redaction, known: &Known) -> String {
    let v = value.trim();
    if v.is_empty() {
        return value.to_string();
    }
    let masked = known.value(element, value, RECORD);
    if masked != value {
        return masked;
    }
    if how.times && is_datetime(v) {
        return "[datetime]".into();
    }
    if how.times && is_date(v) {
        return "[date]".into();
    }
    masked
}

/// A copy of `el` with volatile and sensitive values redacted (see the module documentation).
pub fn redact_element(el: &Element, how: Redaction, known: &Known) -> Element {
    let attrs = el
        .attrs
        .iter()
        .map(|(k, v)| (k.clone(), redact_value(k, v, how, known)))
        .collect();
    let children = el
        .children
        .iter()
        .map(|n| match n {
            Node::Element(c) => Node::Element(redact_element(c, how, known)),
            Node::Text(t) => Node::Text(redact_value(&el.name, t, how, known)),
        })
        .collect();
    Element {
        name: el.name.clone(),
        attrs,
        children,
    }
}

/// An answer body as canonical XML with values redacted, or its trimmed text when it is not
/// XML (text answers are redacted as a whole value).
pub fn redacted_body(text: &str, how: Redaction, known: &Known) -> String {
    let t = text.trim();
    if t.starts_with('<') {
        if let Ok(doc) = parse(t) {
            return canonical_element(&redact_element(&doc.root, how, known));
        }
    }
    let mut out = redact_value("", t, how, known);
    out.push('\n');
    out
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    out.trim_matches('-').to_string()
}

impl Recording {
    /// The file of a case.
    pub fn file(&self, product: Product, case: &CaseId) -> PathBuf {
        let scenario = case
            .file
            .trim_start_matches("./")
            .trim_end_matches(".yaml")
            .trim_end_matches(".yml")
            .replace(['/', '\\'], "__")
            .replace("..", "_")
            // The built-in policy probes' pseudo file `<policy>` is a plain folder name.
            .replace(['<', '>'], "");
        self.dir.join(product.as_str()).join(scenario).join(format!(
            "{:03}-{}.snap",
            case.index,
            slug(&case.name)
        ))
    }

    /// The text recorded for an answer. The case's name is the scenario's, as written (on one
    /// line); everything else comes from the answer, masked value by value.
    pub fn render(&self, case: &CaseId, answer: &Answer, known: &Known) -> String {
        let body = redacted_body(&answer.text(), Redaction { times: true }, known);
        let content_type = answer
            .content_type
            .as_deref()
            .map(|c| known.value("content-type", &c.replace('\n', " "), RECORD));
        format!(
            "# case: {}\n# method: {}\n# status: {}\n# content-type: {}\n{}",
            case.name.replace('\n', " "),
            case.method,
            answer.status,
            content_type.as_deref().unwrap_or("-"),
            body
        )
    }

    /// Record or compare one answer; mismatches are the changes found (or why the recording
    /// could not be used).
    pub fn observe(
        &self,
        product: Product,
        case: &CaseId,
        answer: &Answer,
        known: &Known,
    ) -> Vec<Mismatch> {
        let path = self.file(product, case);
        let now = self.render(case, answer, known);
        match self.mode {
            Mode::Record => match write(&path, &now) {
                Ok(()) => Vec::new(),
                Err(e) => vec![Mismatch {
                    what: "recording".into(),
                    expected: format!("the answer written to {}", path.display()),
                    actual: e,
                    diff: None,
                }],
            },
            Mode::Compare => match std::fs::read_to_string(&path) {
                Ok(before) => changes(&before, &now)
                    .into_iter()
                    .map(|c| Mismatch {
                        what: format!("recording {}", c.path),
                        expected: c.before.unwrap_or_else(|| "(absent)".into()),
                        actual: c.after.unwrap_or_else(|| "(absent)".into()),
                        diff: None,
                    })
                    .collect(),
                Err(e) => vec![Mismatch {
                    what: "recording".into(),
                    expected: format!("a recorded answer in {}", path.display()),
                    actual: format!("none ({e})"),
                    diff: None,
                }],
            },
        }
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// One changed path between two recordings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `/page/user/balance`, `status`, `(text)`.
    pub path: String,
    /// The recorded value (None: absent then).
    pub before: Option<String>,
    /// The value now (None: absent now).
    pub after: Option<String>,
}

/// Every `path = value` of a recording file: header fields by name, then the body flattened.
pub fn flatten(recording: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut body = String::new();
    for line in recording.lines() {
        match line.strip_prefix("# ") {
            Some(h) if body.is_empty() => {
                if let Some((k, v)) = h.split_once(": ") {
                    if k != "case" {
                        out.insert(k.to_string(), v.to_string());
                    }
                }
            }
            _ => {
                body.push_str(line);
                body.push('\n');
            }
        }
    }
    let t = body.trim();
    match parse(t) {
        Ok(doc) if t.starts_with('<') => flatten_element(&doc.root, "", &mut out),
        _ => {
            out.insert("(text)".into(), t.to_string());
        }
    }
    out
}

fn flatten_element(el: &Element, parent: &str, out: &mut BTreeMap<String, String>) {
    let here = format!("{parent}/{}", el.name);
    for (k, v) in &el.attrs {
        out.insert(format!("{here}/@{k}"), v.clone());
    }
    let kids: Vec<&Element> = el.elements().collect();
    if kids.is_empty() {
        out.insert(here, el.text_content().trim().to_string());
        return;
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for k in &kids {
        let total = kids.iter().filter(|o| o.name == k.name).count();
        let n = seen.entry(k.name.as_str()).or_insert(0);
        *n += 1;
        let prefix = if total > 1 {
            // Index the repeated sibling: /page/users/user[2]/...
            format!("{here}/{}[{n}]", k.name)
        } else {
            format!("{here}/{}", k.name)
        };
        let mut sub = BTreeMap::new();
        flatten_element(k, "", &mut sub);
        for (p, v) in sub {
            // `sub` paths start with `/<name>`; graft them under the indexed prefix.
            let rest = p.strip_prefix(&format!("/{}", k.name)).unwrap_or(&p);
            out.insert(format!("{prefix}{rest}"), v);
        }
    }
}

/// Every path whose value differs between two recordings, in path order.
pub fn changes(before: &str, after: &str) -> Vec<Change> {
    let a = flatten(before);
    let b = flatten(after);
    let mut out = Vec::new();
    for (p, v) in &a {
        match b.get(p) {
            Some(w) if w == v => {}
            other => out.push(Change {
                path: p.clone(),
                before: Some(v.clone()),
                after: other.cloned(),
            }),
        }
    }
    for (p, w) in &b {
        if !a.contains_key(p) {
            out.push(Change {
                path: p.clone(),
                before: None,
                after: Some(w.clone()),
            });
        }
    }
    out.sort_by(|x, y| x.path.cmp(&y.path));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(body: &str) -> String {
        format!("# case: c\n# method: m\n# status: 200\n# content-type: text/xml\n{body}")
    }

    #[test]
    fn only_the_changed_value_is_reported() {
        let a = rec(
            "<page>\n  <user>\n    <id>2</id>\n    <balance>10.5</balance>\n  </user>\n</page>\n",
        );
        let b = rec(
            "<page>\n  <user>\n    <id>2</id>\n    <balance>12</balance>\n  </user>\n</page>\n",
        );
        assert_eq!(
            changes(&a, &b),
            vec![Change {
                path: "/page/user/balance".into(),
                before: Some("10.5".into()),
                after: Some("12".into()),
            }]
        );
    }

    #[test]
    fn repeated_siblings_are_indexed_and_additions_show() {
        let a = rec("<a><b>1</b><b>2</b></a>");
        let b = rec("<a><b>1</b><b>3</b><c>x</c></a>");
        let c = changes(&a, &b);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(c[0].path, "/a/b[2]");
        assert_eq!(c[1].path, "/a/c");
        assert_eq!(c[1].before, None);
    }

    #[test]
    fn secrets_digests_and_times_are_redacted() {
        let how = Redaction { times: true };
        let body = redacted_body(
            "<page><uniquehash>abc</uniquehash><d>2026-01-02 03:04:05</d><h>0123456789abcdef0123456789abcdef01234567</h><v>1.5</v></page>",
            how,
            &Known::default(),
        );
        assert!(
            body.contains("<uniquehash>[redacted]</uniquehash>"),
            "{body}"
        );
        assert!(body.contains("<d>[datetime]</d>"), "{body}");
        assert!(body.contains("<h>[hash]</h>"), "{body}");
        assert!(body.contains("<v>1.5</v>"), "{body}");
    }

    #[test]
    fn a_case_file_name_is_stable_and_safe() {
        let r = Recording {
            dir: "rec".into(),
            mode: Mode::Record,
        };
        let id = CaseId {
            file: "scenarios/m4/user_details_get.yaml".into(),
            index: 3,
            line: 10,
            name: "Admin reads a user's details!".into(),
            method: "user_details_get".into(),
        };
        assert_eq!(
            r.file(Product::M4, &id),
            PathBuf::from(
                "rec/m4/scenarios__m4__user_details_get/003-admin-reads-a-user-s-details.snap"
            )
        );
    }
}
