//! `mor-conformance diff` end to end: the real binary against pairs of mocks this test starts
//! through the `mock-server` library (port 0, the same pinned clock, so their worlds agree):
//! a mock against itself, mocks that differ in one quirk, one setting or one world value, and a
//! baseline whose first answer is volatile.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Output;

use mock_server::MockServer;

use crate::{run, start_mock, text};

const SECRET: &str = "D1ff-secret-Wm3-unique";
const OTHER_SECRET: &str = "D1ff-candidate-Zr5";

/// 2026-11-23 12:00:00 UTC.
const CLOCK: i64 = 1_795_435_200;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("diff-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

async fn mock(secret: &str, scenarios: &[&str]) -> MockServer {
    start_mock(secret, Some(CLOCK), None, scenarios).await
}

/// Run `diff` between two URLs with extra arguments; returns the output and the JSON report.
async fn diff(
    name: &str,
    baseline: String,
    candidate: String,
    extra: &[&str],
    env: &[(&'static str, &'static str)],
) -> (Output, serde_json::Value) {
    let json = tmp(&format!("{name}.json"));
    let mut args: Vec<String> = [
        "diff",
        "--baseline",
        &baseline,
        "--candidate",
        &candidate,
        "--rate",
        "1000",
        "--json",
        &json.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut env: Vec<(&'static str, &'static str)> = env.to_vec();
    env.push(("CI", "true"));
    let o = tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&a, &env)
    })
    .await
    .expect("runner thread");
    let report = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    (o, report)
}

/// (method, path) of every reported difference.
fn differences(report: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for d in report["differences"].as_array().into_iter().flatten() {
        let m = d["method"].as_str().unwrap_or_default().to_string();
        for p in d["paths"].as_array().into_iter().flatten() {
            out.insert((
                m.clone(),
                p["path"].as_str().unwrap_or_default().to_string(),
            ));
        }
    }
    out
}

fn last_line(o: &Output) -> String {
    text(&o.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mock_diffed_against_itself_reports_nothing() {
    let m = mock(SECRET, &[]).await;
    let (out, report) = diff("self", m.url(), m.url(), &[], &[("MOR_SECRET", SECRET)]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(last_line(&out), "no differences");
    assert!(
        report["requests"].as_u64().is_some_and(|n| n >= 8),
        "{report}"
    );
    assert!(differences(&report).is_empty());
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_quirk_apart_reports_exactly_that_difference() {
    let a = mock(SECRET, &[]).await;
    let b = mock(
        OTHER_SECRET,
        &["version: 1\nquirks: { gzip_delivery: content_encoding }\n"],
    )
    .await;
    // Separate secrets per side.
    let (out, report) = diff(
        "quirk",
        a.url(),
        b.url(),
        &[
            "--baseline-secret-env",
            "BASE_SECRET",
            "--candidate-secret-env",
            "CAND_SECRET",
        ],
        &[("BASE_SECRET", SECRET), ("CAND_SECRET", OTHER_SECRET)],
    )
    .await;
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let want: BTreeSet<(String, String)> = [
        ("devices_get".to_string(), "@delivery".to_string()),
        ("tariff_rates_get".to_string(), "@delivery".to_string()),
    ]
    .into_iter()
    .collect();
    assert_eq!(differences(&report), want, "{stdout}");
    assert!(stdout.contains("hash=<redacted>"), "{stdout}");
    assert!(!stdout.contains(SECRET) && !stdout.contains(OTHER_SECRET));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_setting_apart_reports_only_the_methods_it_gates() {
    let a = mock(SECRET, &[]).await;
    let b = mock(
        SECRET,
        &["version: 1\nsettings: { balance_over_http: false }\n"],
    )
    .await;
    let (out, report) = diff("setting", a.url(), b.url(), &[], &[("MOR_SECRET", SECRET)]).await;
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    let methods: BTreeSet<String> = differences(&report).into_iter().map(|(m, _)| m).collect();
    let want: BTreeSet<String> = ["user_balance_get", "user_simple_balance_get"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(methods, want, "{}", text(&out.stdout));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_world_value_apart_reports_exactly_that_value_with_its_request() {
    let user = |balance: &str| {
        format!(
            "version: 1\nworld:\n  users:\n    - {{ id: 901, username: diffuser, password: x, role: user, \
             balance: \"{balance}\", uniquehash: diffuniq }}\n"
        )
    };
    let a = mock(SECRET, &[&user("10")]).await;
    let b = mock(SECRET, &[&user("12.5")]).await;
    let cases = tmp("cases.yaml");
    std::fs::write(
        &cases,
        "version: 1\nproducts: [m4]\ncases:\n\
         - name: balance\n  request: { method: user_balance_get, params: { username: diffuser } }\n  expect: { success: true }\n\
         - name: stats\n  request: { method: quickstats_get }\n  expect: { success: true }\n\
         - name: a write is not sent\n  request: { method: user_balance_update, params: { user_id: 901, balance: 1 } }\n  expect: { success: true }\n",
    )
    .expect("cases written");
    let (out, report) = diff(
        "world",
        a.url(),
        b.url(),
        &[&cases.display().to_string()],
        &[("MOR_SECRET", SECRET)],
    )
    .await;
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let want: BTreeSet<(String, String)> =
        [("user_balance_get".to_string(), "/page/balance".to_string())]
            .into_iter()
            .collect();
    assert_eq!(differences(&report), want, "{stdout}");
    assert!(
        stdout.contains("user_balance_get u=admin username=diffuser hash=<redacted>"),
        "{stdout}"
    );
    assert!(stdout.contains("/page/balance: baseline 10"), "{stdout}");
    assert!(stdout.contains("writes (needs --allow-writes)"), "{stdout}");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_that_differ_between_two_baseline_answers_are_ignored_as_noise() {
    // The first quickstats_get answer is canned: baseline (canned) and baseline again (computed)
    // differ, so the candidate's (computed) answer differs only in volatile paths.
    let canned = "version: 1\noverlay:\n  responses:\n    - match: { method: quickstats_get }\n      times: 1\n      body: \"<page><quickstats><today><calls>999</calls></today></quickstats></page>\"\n";
    let m = mock(SECRET, &[canned]).await;
    let (out, report) = diff("noise", m.url(), m.url(), &[], &[("MOR_SECRET", SECRET)]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(report["noise"]["quickstats_get"].is_array(), "{report}");
    assert!(stdout.contains("volatile"), "{stdout}");
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ignored_path_is_not_a_difference() {
    let user = |balance: &str| {
        format!(
            "version: 1\nworld:\n  users:\n    - {{ id: 901, username: diffuser, password: x, role: user, \
             balance: \"{balance}\", uniquehash: diffuniq }}\n"
        )
    };
    let a = mock(SECRET, &[&user("10")]).await;
    let b = mock(SECRET, &[&user("11")]).await;
    let cases = tmp("ignore.yaml");
    std::fs::write(
        &cases,
        "version: 1\ncases:\n- name: balance\n  request: { method: user_balance_get, params: { username: diffuser } }\n  expect: { success: true }\n",
    )
    .expect("cases written");
    let (out, _) = diff(
        "ignore",
        a.url(),
        b.url(),
        &[
            &cases.display().to_string(),
            "--ignore",
            "user_balance_get:balance",
        ],
        &[("MOR_SECRET", SECRET)],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    a.shutdown().await;
    b.shutdown().await;
}

#[test]
fn diff_without_a_candidate_is_a_usage_error_and_a_closed_port_a_transport_failure() {
    let out = run(
        &["diff", "--baseline", "http://127.0.0.1:9"],
        &[("MOR_SECRET", SECRET)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let out = run(
        &[
            "diff",
            "--baseline",
            "http://127.0.0.1:9",
            "--candidate",
            "http://127.0.0.1:9",
            "--timeout",
            "2",
        ],
        &[("MOR_SECRET", SECRET)],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
}
