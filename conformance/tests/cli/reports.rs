//! `run --html FILE`: the page is well-formed (parsed as XML), self-contained, holds the counts
//! of the run per method, and shows each failure with its request, line diff and curl line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use quick_xml::events::Event;

use crate::{run, start_mock, text};

/// A secret that appears nowhere else, to grep the page for.
const SECRET: &str = "Hq4-html-report-secret-Zp2";

fn suite() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/suite")
        .display()
        .to_string()
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mor-conformance-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// What the page holds, read with an XML parser (panics if it is not well-formed).
#[derive(Debug, Default)]
struct Page {
    /// `data-count` cells of each method row: method -> (count name -> value).
    methods: BTreeMap<String, BTreeMap<String, usize>>,
    /// `data-count` tiles of the totals.
    totals: BTreeMap<String, usize>,
    /// Text of each `<article>` (a failure or observation), with its class.
    articles: Vec<(String, String)>,
    /// `data-status` of each row of the case table.
    rows: Vec<String>,
    /// Text of `del` and `ins` lines of diffs.
    diff_lines: Vec<String>,
    /// Elements that load something (`src`, `link`, `@import`, `url(`).
    external: Vec<String>,
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .map(|a| a.expect("well-formed attribute"))
        .find(|a| a.key.as_ref() == name.as_bytes())
        .map(|a| a.unescape_value().expect("escaped value").into_owned())
}

fn parse(html: &str) -> Page {
    let mut r = quick_xml::Reader::from_str(html);
    let mut p = Page::default();
    let mut stack: Vec<String> = Vec::new();
    let mut method: Option<String> = None;
    let mut count: Option<(String, bool)> = None; // (name, tile)
    let mut article: Option<(String, String)> = None;
    let mut diff_span = false;
    loop {
        let ev = r.read_event().expect("the HTML report is well-formed XML");
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if attr(e, "src").is_some() || name == "link" || name == "iframe" {
                    p.external.push(name.clone());
                }
                if let Some(h) = attr(e, "href") {
                    if !h.starts_with('#') {
                        p.external.push(h);
                    }
                }
                let class = attr(e, "class").unwrap_or_default();
                match name.as_str() {
                    "tr" => {
                        if let Some(m) = attr(e, "data-method") {
                            method = Some(m.clone());
                            p.methods.insert(m, BTreeMap::new());
                        } else {
                            method = None;
                        }
                        if let Some(s) = attr(e, "data-status") {
                            p.rows.push(s);
                        }
                    }
                    "td" => {
                        if let (Some(_), Some(c)) = (&method, attr(e, "data-count")) {
                            count = Some((c, false));
                        }
                    }
                    "div" if class.starts_with("tile") => {
                        count = attr(e, "data-count").map(|c| (c, true));
                    }
                    "article" => article = Some((class.clone(), String::new())),
                    "span" if class == "del" || class == "ins" => {
                        diff_span = true;
                        p.diff_lines.push(String::new());
                    }
                    _ => {}
                }
                if matches!(ev, Event::Start(_)) {
                    stack.push(name);
                }
            }
            Event::Text(t) => {
                let s = t.decode().expect("utf-8").into_owned();
                let s = quick_xml::escape::unescape(&s)
                    .expect("escaped text")
                    .into_owned();
                if let Some((c, tile)) = &count {
                    if let Ok(n) = s.trim().parse::<usize>() {
                        match (tile, &method) {
                            (true, _) => p.totals.insert(c.clone(), n),
                            (false, Some(m)) => {
                                p.methods.get_mut(m).and_then(|x| x.insert(c.clone(), n))
                            }
                            _ => None,
                        };
                    }
                    count = None;
                }
                if let Some((_, a)) = &mut article {
                    a.push_str(&s);
                    a.push('\n');
                }
                if diff_span {
                    p.diff_lines.last_mut().unwrap().push_str(&s);
                }
                if stack.last().map(String::as_str) == Some("style")
                    && (s.contains("@import") || s.contains("url("))
                {
                    p.external.push("style".into());
                }
            }
            Event::GeneralRef(g) => {
                // quick-xml reports `&amp;` and friends apart from the text around them.
                let name: &[u8] = g.as_ref();
                let s = match name {
                    b"amp" => "&",
                    b"lt" => "<",
                    b"gt" => ">",
                    b"quot" => "\"",
                    _ => "'",
                };
                if let Some((_, a)) = &mut article {
                    a.push_str(s);
                }
                if diff_span {
                    p.diff_lines.last_mut().unwrap().push_str(s);
                }
            }
            Event::End(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                assert_eq!(stack.pop().as_deref(), Some(name.as_str()), "balanced");
                match name.as_str() {
                    "article" => p.articles.extend(article.take()),
                    "span" => diff_span = false,
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    p
}

fn has_digest(s: &str) -> bool {
    s.as_bytes()
        .split(|c| !c.is_ascii_hexdigit())
        .any(|w| w.len() == 40)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_counts_every_method_and_shows_each_failure_with_diff_and_curl() {
    // A broken deployment: any digest accepted (the wrong-secret case fails) and quick stats
    // without `<self_cost>` in a document the structure check compares line by line.
    let server = start_mock(
        SECRET,
        None,
        None,
        &[r#"version: 1
quirks: { hash_verification: any_digest }
overlay:
  responses:
    - match: { method: quickstats_get, http: POST }
      body: "<page>\n<quickstats>\n<today>\n<calls>many</calls>\n</today>\n</quickstats>\n</page>"
"#],
    )
    .await;
    let dir = tempdir("html");
    let (html, json) = (dir.join("r.html"), dir.join("r.json"));
    let args: Vec<String> = [
        "run",
        &suite(),
        "--target",
        &server.url(),
        "--html",
        &html.display().to_string(),
        "--json",
        &json.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&a, &[("MOR_SECRET", SECRET), ("CI", "true")])
    })
    .await
    .unwrap();
    server.shutdown().await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}{}", text(&out.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(!page.contains(SECRET), "the page holds the secret");
    assert!(!has_digest(&page), "the page holds a digest");
    let p = parse(&page);
    assert!(p.external.is_empty(), "loads {:?}", p.external);

    // The counts are the run's, per method and in total.
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let outcomes = v["outcomes"].as_array().unwrap();
    assert_eq!(p.rows.len(), outcomes.len());
    for o in outcomes {
        let st = o["status"].as_str().unwrap();
        let n = |s: &str| outcomes.iter().filter(|x| x["status"] == s).count();
        assert_eq!(p.rows.iter().filter(|r| *r == st).count(), n(st), "{st}");
    }
    let failed = v["summary"]["failed"].as_u64().unwrap() as usize;
    assert!(failed >= 2, "{stdout}");
    assert_eq!(p.totals["failed"] + p.totals["error"], failed);
    assert_eq!(p.totals["total"], outcomes.len());
    let methods = v["methods"].as_array().unwrap();
    assert_eq!(p.methods.len(), methods.len());
    let mut sum = 0;
    for m in methods {
        let row = &p.methods[m["method"].as_str().unwrap()];
        for (k, json_key) in [
            ("cases", "cases"),
            ("run", "run"),
            ("passed", "passed"),
            ("failed", "failed"),
            ("error", "errors"),
            ("skipped", "skipped"),
            ("observed", "observed"),
        ] {
            assert_eq!(row[k] as u64, m[json_key].as_u64().unwrap(), "{m} {k}");
        }
        sum += row["cases"];
    }
    assert_eq!(sum, outcomes.len());
    // quickstats_get has one parameter (`u`), which the cases sent: full coverage.
    let q = methods
        .iter()
        .find(|m| m["method"] == "quickstats_get")
        .unwrap();
    assert_eq!(q["params"][0]["name"], "u");
    assert_eq!(q["params"][0]["exercised"], true);
    assert!(page.contains("chip yes\">u</span>"));

    // Each failure: its request, the line diff of the documents and a curl line.
    assert_eq!(
        p.articles.iter().filter(|(c, _)| c != "observed").count(),
        failed
    );
    let quick = p
        .articles
        .iter()
        .map(|(_, t)| t)
        .find(|t| t.contains("admin reads quick stats"))
        .expect("the quick stats failure is shown");
    assert!(quick.contains("POST quickstats_get as admin"), "{quick}");
    assert!(quick.contains("curl "), "{quick}");
    assert!(quick.contains("| sha1sum"), "{quick}");
    assert!(
        p.diff_lines
            .iter()
            .any(|l| l.starts_with("- ") && l.contains("<self_cost>")),
        "{:?}",
        p.diff_lines
    );
    assert!(
        p.diff_lines
            .iter()
            .any(|l| l.starts_with("+ ") && l.contains("many")),
        "{:?}",
        p.diff_lines
    );
    let wrong = p
        .articles
        .iter()
        .map(|(_, t)| t)
        .find(|t| t.contains("a wrong secret is refused"))
        .expect("the wrong-secret failure is shown");
    assert!(wrong.contains("sign: wrong_secret"), "{wrong}");
    assert!(wrong.contains("Incorrect hash"), "{wrong}");
}

/// `props --junit --json` on a server that accepts any digest: both files list every property
/// of the method, the JUnit file parses with failures where the run printed FAIL, and the JSON
/// counts agree with the last line.
#[test]
fn props_writes_junit_and_json_like_run() {
    let dir = tempdir("props-reports");
    let scenario = dir.join("quirk.yaml");
    std::fs::write(
        &scenario,
        "version: 1\nquirks: { hash_verification: any_digest }\n",
    )
    .unwrap();
    let (junit, json) = (dir.join("p.xml"), dir.join("p.json"));
    let o = run(
        &[
            "props",
            "--scenario",
            &scenario.display().to_string(),
            "--method",
            "user_details_get",
            "--seed",
            "5",
            "--cases",
            "16",
            "--regressions",
            &dir.join("reg.json").display().to_string(),
            "--junit",
            &junit.display().to_string(),
            "--json",
            &json.display().to_string(),
        ],
        &[("CI", "true")],
    );
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(4), "{stdout}");
    let fails = stdout.lines().filter(|l| l.starts_with("FAIL")).count();
    let results = stdout
        .lines()
        .filter(|l| l.contains(" m4 user_details_get "))
        .count();
    assert!(fails > 0 && results > fails, "{stdout}");

    let x = std::fs::read_to_string(&junit).unwrap();
    let mut r = quick_xml::Reader::from_str(&x);
    let (mut suites, mut cases, mut failures) = (Vec::new(), 0, 0);
    loop {
        match r.read_event().expect("well-formed JUnit XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuite" => suites.push(attr(&e, "name").unwrap_or_default()),
                b"testcase" => cases += 1,
                b"failure" => failures += 1,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(suites, vec!["props m4 user_details_get".to_string()]);
    assert_eq!(cases, results, "{x}");
    assert_eq!(failures, fails, "{x}");
    assert!(x.contains("replay: mor-conformance props --seed 5"), "{x}");

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["seed"], 5);
    assert_eq!(v["results"].as_array().map(Vec::len), Some(results));
    let last = stdout.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!(
            "{} passed, {} failed, {} skipped",
            v["summary"]["passed"], v["summary"]["failed"], v["summary"]["skipped"]
        )
    );
}

/// Piped, outside CI (`CI` unset), with the default `--color auto`: no progress bar, no colour,
/// not one control code on stdout or stderr; one plain line per case.
#[test]
fn piped_output_outside_ci_has_no_control_codes() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mor-conformance"))
        .args(["run", &suite()])
        .env_remove("CI")
        .env_remove("NO_COLOR")
        .env_remove("MOR_COLOR")
        .output()
        .expect("mor-conformance runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !bytes.contains(&0x1b) && !bytes.contains(&b'\r'),
            "{name} holds a control code:\n{}",
            text(bytes)
        );
    }
    let cases = stdout.lines().filter(|l| l.starts_with("PASS ")).count();
    assert_eq!(cases, 7, "{stdout}");
}
