//! `mor-conformance run` end to end: the real binary against the fixture suite
//! (`tests/fixtures/`), with the in-process mock, and with `--target` pointed at mocks this test
//! starts through the `mock-server` library (a quirk flipped, faults injected, another world
//! seed, a production policy), against a closed port, and with an invalid scenario.

use std::path::{Path, PathBuf};
use std::process::Output;

use mock_server::MockServer;

use crate::{run, start_mock, text};

/// A secret that appears nowhere else, to grep artifacts for.
const SECRET: &str = "Zq9-conformance-test-Kx7";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn suite() -> String {
    fixtures().join("suite").display().to_string()
}

fn last_line(o: &Output) -> String {
    text(&o.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// A mock for M4 with the test secret, plus scenarios given as YAML.
async fn mock(seed: Option<u64>, scenarios: &[&str]) -> MockServer {
    start_mock(SECRET, None, seed, scenarios).await
}

/// Run the binary off the async runtime, so the mock keeps serving.
async fn run_async(args: Vec<String>, env: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(&a, &e)
    })
    .await
    .expect("runner thread")
}

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn ci_env() -> Vec<(&'static str, String)> {
    vec![
        ("MOR_SECRET", SECRET.to_string()),
        ("CI", "true".to_string()),
    ]
}

#[test]
fn the_fixture_suite_passes_against_the_in_process_mock() {
    let out = run(&["run", &suite()], &[("CI", "true")]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert_eq!(last_line(&out), "7 passed, 0 failed, 0 skipped", "{stdout}");
}

#[test]
fn list_prints_the_planned_cases_and_partitions_cover_them_once() {
    let mut all = Vec::new();
    for k in 1..=3 {
        let out = run(
            &["run", &suite(), "--list", "--partition", &format!("{k}/3")],
            &[],
        );
        assert_eq!(out.status.code(), Some(0));
        let s = text(&out.stdout);
        all.extend(
            s.lines()
                .filter(|l| l.contains(".yaml:"))
                .map(str::to_string),
        );
    }
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!(before, 7);
    assert_eq!(all.len(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flipped_quirk_and_an_injected_fault_fail_the_right_cases_with_a_diff() {
    // The target accepts any digest (a broken server) and answers quickstats_get with a
    // non-numeric value: the wrong-secret and missing-hash cases keep failing as they should,
    // the structural case shows the path of the difference.
    let server = mock(
        None,
        &[r#"version: 1
quirks: { hash_verification: any_digest }
overlay:
  responses:
    - match: { method: quickstats_get, http: POST }
      body: "<page><quickstats><today><calls>many</calls></today></quickstats></page>"
"#],
    )
    .await;
    let dir = tempdir("quirk");
    let junit = dir.join("junit.xml");
    let out = run_async(
        args(&[
            "run",
            &suite(),
            "--target",
            &server.url(),
            "--junit",
            &junit.display().to_string(),
        ]),
        ci_env(),
    )
    .await;
    server.shutdown().await;
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let fail = |name: &str| {
        stdout
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains(name))
    };
    assert!(fail("admin reads quick stats"), "{stdout}");
    assert!(fail("a wrong secret is refused"), "{stdout}");
    assert!(stdout.contains("first difference: /page/"), "{stdout}");
    assert!(stdout.contains("reproduce:"), "{stdout}");
    assert!(stdout.contains("| sha1sum | cut -c1-40"), "{stdout}");
    // The seeded-world case is skipped: the target is not declared seeded.
    assert!(
        stdout.contains("SKIP") && stdout.contains("needs the seeded world"),
        "{stdout}"
    );
    let j = std::fs::read_to_string(&junit).unwrap();
    assert!(j.contains("<failure"), "{j}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_world_seed_raises_no_false_failures() {
    let server = mock(Some(7), &[]).await;
    let out = run_async(
        args(&[
            "run",
            &suite(),
            "--target",
            &format!("{}/billing", server.url()),
        ]),
        ci_env(),
    )
    .await;
    server.shutdown().await;
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert_eq!(last_line(&out), "6 passed, 0 failed, 1 skipped", "{stdout}");
    assert!(stdout.contains("needs the seeded world"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_target_gives_per_case_errors_and_the_run_goes_on() {
    // An HTML error page, a truncated body and a dropped connection, each for one method.
    let server = mock(
        None,
        &[r#"version: 1
overlay:
  faults:
    - match: { method: user_details_get }
      fault: { kind: truncate, bytes: 20 }
    - match: { method: quickstats_get, http: GET }
      fault: { kind: http_status, status: 502 }
    - match: { method: quickstats_get, u: nosuchuser }
      fault: { kind: connection_reset }
"#],
    )
    .await;
    let out = run_async(
        args(&[
            "run",
            &suite(),
            "--target",
            &server.url(),
            "--seeded",
            "true",
        ]),
        ci_env(),
    )
    .await;
    server.shutdown().await;
    let stdout = text(&out.stdout);
    // Errors and one failed check: the failure decides the exit code (4), never hidden by the
    // errors (3).
    assert_eq!(
        out.status.code(),
        Some(4),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.contains(name) && !l.starts_with("---"))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("user details have the sample structure").starts_with("ERROR"),
        "{stdout}"
    );
    assert!(
        line("an unknown user gets bad login").starts_with("ERROR"),
        "{stdout}"
    );
    assert!(
        line("GET is disabled by default").starts_with("FAIL"),
        "{stdout}"
    );
    assert!(stdout.contains("cut short"), "{stdout}");
    assert!(stdout.contains("HTTP 502"), "{stdout}");
    assert!(
        line("admin reads quick stats").starts_with("PASS"),
        "{stdout}"
    );
    assert!(stdout.contains("errors counted as failed"), "{stdout}");
}

#[test]
fn a_closed_port_is_reported_once_and_exits_3() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = run(
        &[
            "run",
            &suite(),
            "--target",
            &format!("http://127.0.0.1:{port}"),
            "--timeout",
            "2",
        ],
        &[("MOR_SECRET", SECRET), ("CI", "true")],
    );
    // Reported once, not once per case.
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(
        stderr.matches("cannot connect to the target").count(),
        1,
        "{stderr}"
    );
    assert!(text(&out.stdout).is_empty(), "{}", text(&out.stdout));
}

#[test]
fn an_invalid_scenario_exits_2_with_file_and_line() {
    let out = run(
        &["run", &fixtures().join("invalid").display().to_string()],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("misspelled.yaml:6:"), "{stderr}");
    assert!(stderr.contains("unknown field `expcet`"), "{stderr}");
}

#[test]
fn numeric_flags_no_run_can_use_are_usage_errors_not_panics() {
    for flags in [
        ["--jobs", "18446744073709551615"],
        ["--timeout", "18446744073709551615"],
        ["--rate", "1e-300"],
        ["--rate", "0"],
        ["--rate", "NaN"],
    ] {
        let out = run(&["run", &suite(), flags[0], flags[1]], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flags:?}: {stderr}");
        assert!(stderr.contains(flags[0]), "{flags:?}: {stderr}");
    }
    let out = run(
        &["run", &suite(), "--target", "http://user:pw@127.0.0.1:9"],
        &[("MOR_SECRET", SECRET)],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        !stderr.contains("pw@") && !text(&out.stdout).contains("pw@"),
        "{stderr}"
    );
}

#[test]
fn zero_cases_selected_is_an_error_not_a_pass() {
    let out = run(&["run", &suite(), "--method", "no_such_method"], &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no case selected"), "{stderr}");
}

#[test]
fn an_unknown_fact_or_role_is_reported_when_the_file_loads() {
    let dir = tempdir("unknown-fact");
    for (body, field, what) in [
        (
            "request: { method: user_calls_get, as: admin, params: { s_user: $user.idd } }",
            "cases[0].request.params.s_user",
            "unknown fact `$user.idd`",
        ),
        (
            "request: { method: quickstats_get, as: operator }",
            "cases[0].request.as",
            "unknown role `operator`",
        ),
    ] {
        let f = dir.join("bad.yaml");
        std::fs::write(&f, format!("version: 1\ncases:\n  - name: x\n    {body}\n")).unwrap();
        let out = run(&["run", f.to_str().unwrap()], &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("bad.yaml:4: {field}: {what}")),
            "{stderr}"
        );
    }
}

#[test]
fn a_missing_secret_is_a_usage_error_naming_the_variable() {
    let out = run(
        &[
            "run",
            &suite(),
            "--target",
            "http://127.0.0.1:9",
            "--secret-env",
            "MOR_UNSET_SECRET_VAR",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("MOR_UNSET_SECRET_VAR"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_production_policy_fails_a_target_that_allows_get() {
    let server = mock(None, &["version: 1\nsettings: { allow_get: true }\n"]).await;
    let out = run_async(
        args(&[
            "run",
            &suite(),
            "--target",
            &server.url(),
            "--policy",
            "production",
            "--method",
            "user_details_get",
        ]),
        ci_env(),
    )
    .await;
    server.shutdown().await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("FAIL") && l.contains("policy: GET requests are disabled")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("PASS") && l.contains("policy: hash checking is on")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("PASS") && l.contains("/api/quickstats_get")),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junit_and_json_list_every_case_and_no_artifact_holds_the_secret() {
    let server = mock(
        None,
        &[r#"version: 1
quirks: { hash_verification: any_digest }
"#],
    )
    .await;
    let dir = tempdir("artifacts");
    let (junit, json) = (dir.join("r.xml"), dir.join("r.json"));
    let target_file = dir.join("target.yaml");
    std::fs::write(
        &target_file,
        format!(
            "base_url: {}/billing\nproduct: m4\nseeded: true\ncredentials:\n  admin: {{ username: admin, secret_env: MOR_TEST_ADMIN_SECRET }}\n",
            server.url()
        ),
    )
    .unwrap();
    let out = run_async(
        args(&[
            "run",
            &suite(),
            "--target-file",
            &target_file.display().to_string(),
            "--junit",
            &junit.display().to_string(),
            "--json",
            &json.display().to_string(),
        ]),
        vec![
            ("MOR_TEST_ADMIN_SECRET", SECRET.to_string()),
            ("CI", "true".to_string()),
        ],
    )
    .await;
    server.shutdown().await;
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let j = std::fs::read_to_string(&junit).unwrap();
    let js = std::fs::read_to_string(&json).unwrap();
    for (name, artifact) in [
        ("stdout", stdout.as_str()),
        ("stderr", &text(&out.stderr)),
        ("junit", &j),
        ("json", &js),
    ] {
        assert!(
            !artifact.contains(SECRET),
            "{name} holds the secret:\n{artifact}"
        );
        assert!(!has_digest(artifact), "{name} holds a digest:\n{artifact}");
    }
    assert!(stdout.contains("\"$MOR_TEST_ADMIN_SECRET\""), "{stdout}");
    // JUnit: well-formed, one testsuite per file, one testcase per case, failures marked.
    let (suites, cases, failures) = junit_counts(&j);
    assert_eq!(suites, 2, "{j}");
    assert_eq!(cases, 7, "{j}");
    assert_eq!(failures, 1, "{j}");
    let v: serde_json::Value = serde_json::from_str(&js).unwrap();
    assert_eq!(v["outcomes"].as_array().map(Vec::len), Some(7));
    assert_eq!(v["summary"]["failed"], 1);
}

/// Counts of `<testsuite>`, `<testcase>` and `<failure>` elements; panics if not well-formed.
fn junit_counts(xml: &str) -> (usize, usize, usize) {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(xml);
    let (mut s, mut c, mut f) = (0, 0, 0);
    let mut root = None;
    loop {
        match r.read_event().expect("well-formed JUnit XML") {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                if root.is_none() {
                    root = Some(name.clone());
                }
                match name.as_str() {
                    "testsuite" => s += 1,
                    "testcase" => c += 1,
                    "failure" => f += 1,
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(root.as_deref(), Some("testsuites"));
    (s, c, f)
}

fn has_digest(s: &str) -> bool {
    let b = s.as_bytes();
    let mut run = 0;
    for (i, c) in b.iter().enumerate() {
        if c.is_ascii_hexdigit() {
            run += 1;
        } else {
            run = 0;
        }
        if run == 40 && b.get(i + 1).is_none_or(|n| !n.is_ascii_hexdigit()) {
            return true;
        }
    }
    false
}

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mor-conformance-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Each row: a quirk position or fault laid on the mock, and the one case of
/// `fixtures/documented/defaults.yaml` it must fail, with a text the report must show.
const FLIPS: &[(&str, &str, &str)] = &[
    (
        "quirks: { hash_hex_case: any }",
        "an uppercase digest is refused",
        "Incorrect hash",
    ),
    (
        "quirks: { error_precedence: hash_first }",
        "login is checked before the hash",
        "Bad login",
    ),
    (
        "quirks: { gzip_delivery: plain }",
        "the device list is delivered gzipped",
        "gzip",
    ),
    ("quirks: { json_body: false }", "a JSON body is read", "Bad login"),
    (
        "quirks: { balance_update_nesting: double }",
        "a balance update answers in one page",
        "first difference: /page/",
    ),
    (
        "overlay: { faults: [ { match: { method: quickstats_get }, fault: { kind: elasticsearch } } ] }",
        "quick stats answer with the documented shape",
        "Cannot connect to Elasticsearch",
    ),
    (
        "overlay: { faults: [ { match: { method: devices_get }, fault: { kind: http_status, status: 500 } } ] }",
        "the device list is delivered gzipped",
        "500",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_flipped_quirk_or_injected_fault_fails_exactly_its_case() {
    let suite = fixtures().join("documented").display().to_string();
    // Against the mock with documented defaults everything passes.
    let server = mock(None, &[]).await;
    let out = run_async(
        args(&["run", &suite, "--target", &server.url(), "--allow-writes"]),
        ci_env(),
    )
    .await;
    server.shutdown().await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    for (flip, case, shown) in FLIPS {
        let server = mock(None, &[&format!("version: 1\n{flip}\n")]).await;
        let out = run_async(
            args(&["run", &suite, "--target", &server.url(), "--allow-writes"]),
            ci_env(),
        )
        .await;
        server.shutdown().await;
        let stdout = text(&out.stdout);
        let failed: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with("FAIL") || l.starts_with("ERROR"))
            .collect();
        assert_eq!(failed.len(), 1, "{flip}: exactly one case fails\n{stdout}");
        assert!(failed[0].contains(case), "{flip}: {case}\n{stdout}");
        assert!(
            stdout.contains(shown),
            "{flip}: report shows {shown}\n{stdout}"
        );
        assert!(
            matches!(out.status.code(), Some(3) | Some(4)),
            "{flip}: exit code\n{stdout}"
        );
    }
}
