//! `mor-conformance probe` end to end: the real binary against mocks this test starts through
//! the `mock-server` library (port 0, pinned clock), each with other quirk positions and
//! settings. The probe must recover every position it can tell; a mock started from the written
//! profile must answer the probe's requests exactly as the probed mock did.

use std::path::{Path, PathBuf};
use std::process::Output;

use mock_server::{MockConfig, MockServer};
use model::catalogue::{Catalogue, Product};
use model::quirks::QuirksPatch;
use model::scenario::Scenario;
use model::settings::SettingsPatch;

use crate::{run, text};

/// A secret that appears nowhere else, to grep artifacts for.
const SECRET: &str = "Pr0be-secret-Qv8-unique";

/// 2026-11-23 12:00:00 UTC: a pinned clock, so two mocks hold the same world.
const CLOCK: i64 = 1_795_435_200;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("probe-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn scenario(yaml: &str) -> Scenario {
    model::scenario::load_str(yaml, Path::new("row.yaml"), Catalogue::embedded())
        .expect("test scenario loads")
        .scenario
}

async fn mock(product: Product, s: Scenario) -> MockServer {
    let c = MockConfig::new(product)
        .settings(SettingsPatch {
            api_secret: Some(SECRET.into()),
            ..SettingsPatch::default()
        })
        .clock(CLOCK)
        .scenario(s);
    MockServer::start(c).await.expect("mock starts")
}

/// Probe `url`; returns the output, the profile text and the JSON report.
async fn probe(url: String, name: &str, extra: &[&str]) -> (Output, String, serde_json::Value) {
    let out = tmp(&format!("{name}.yaml"));
    let json = tmp(&format!("{name}.json"));
    let mut args: Vec<String> = [
        "probe",
        "--target",
        &url,
        "--rate",
        "1000",
        "--out",
        &out.display().to_string(),
        "--json",
        &json.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&a, &[("MOR_SECRET", SECRET), ("CI", "true")])
    })
    .await
    .expect("runner thread");
    let profile = std::fs::read_to_string(&out).unwrap_or_default();
    let report = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    (o, profile, report)
}

/// One row: a mock's product and scenario, and what the profile must say.
struct Row {
    name: &'static str,
    product: Product,
    mock: &'static str,
    quirks: &'static str,
    settings: &'static str,
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "defaults",
            product: Product::M4,
            mock: "version: 1\n",
            quirks: "{ hash_hex_case: lower, absent_hash_params: skip, hash_order: catalogue, \
                     hash_verification: strict, json_body: true, error_precedence: login_first, \
                     gzip_delivery: attachment, aggregates_get_alias: true, error_http_status: 200 }",
            settings: "{ api_enabled: true, allow_get: false, hash_check: true, xml_extension: false, \
                       balance_over_http: true }",
        },
        Row {
            name: "other_positions",
            product: Product::M4,
            mock: "version: 1\n\
                   settings: { allow_get: true, xml_extension: true }\n\
                   quirks: { hash_hex_case: upper, hash_order: request_line, absent_hash_params: defaults, \
                   json_body: false, error_precedence: hash_first, gzip_delivery: content_encoding, \
                   xml_extension_wrapper: html, aggregates_get_alias: false, error_http_status: 500, \
                   hash_variants: { user_calls_get: php_client, payments_get: php_client, \
                   user_simple_balance_get: php_client } }\n",
            quirks: "{ hash_hex_case: upper, hash_order: request_line, absent_hash_params: defaults, \
                     hash_verification: strict, json_body: false, error_precedence: hash_first, \
                     gzip_delivery: content_encoding, xml_extension_wrapper: html, \
                     aggregates_get_alias: false, error_http_status: 500, \
                     hash_variants: { user_calls_get: php_client, payments_get: php_client, \
                     user_simple_balance_get: php_client } }",
            settings: "{ allow_get: true, xml_extension: true, hash_check: true }",
        },
        Row {
            name: "third_positions_on_mor",
            product: Product::Mor,
            mock: "version: 1\n\
                   settings: { balance_over_http: false, xml_extension: true }\n\
                   quirks: { hash_hex_case: any, hash_order: any, hash_verification: ignore_secret, \
                   gzip_delivery: plain, xml_extension_wrapper: html_body }\n",
            quirks: "{ hash_hex_case: any, hash_order: any, hash_verification: ignore_secret, \
                     gzip_delivery: plain, xml_extension_wrapper: html_body, absent_hash_params: skip }",
            settings: "{ balance_over_http: false, xml_extension: true }",
        },
        Row {
            name: "any_digest",
            product: Product::M4,
            mock: "version: 1\nquirks: { hash_verification: any_digest }\n",
            quirks: "{ hash_verification: any_digest }",
            settings: "{ hash_check: true }",
        },
        Row {
            name: "hash_check_off",
            product: Product::Mor,
            mock: "version: 1\nsettings: { hash_check: false }\n",
            quirks: "{ json_body: true }",
            settings: "{ hash_check: false }",
        },
    ]
}

/// Every field `want` gives must be in `got` with the same value.
fn assert_subset(row: &str, what: &str, want: serde_json::Value, got: serde_json::Value) {
    let (Some(w), Some(g)) = (want.as_object(), got.as_object()) else {
        panic!("{row}: {what}: not objects: {want} / {got}");
    };
    for (k, v) in w {
        assert_eq!(g.get(k), Some(v), "{row}: {what}.{k}: profile says {got}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probing_mocks_with_other_quirk_positions_recovers_each_position() {
    for row in rows() {
        let server = mock(row.product, scenario(row.mock)).await;
        let (out, profile, _) = probe(server.url(), row.name, &[]).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}\n{}",
            row.name,
            text(&out.stdout),
            text(&out.stderr)
        );
        let loaded =
            model::scenario::load_str(&profile, Path::new("p.yaml"), Catalogue::embedded())
                .unwrap_or_else(|e| {
                    panic!(
                        "{}: the profile is a valid scenario: {e}\n{profile}",
                        row.name
                    )
                })
                .scenario;
        assert_eq!(loaded.products, vec![row.product], "{}: product", row.name);
        let want_q: QuirksPatch = serde_json::from_value(
            serde_json::to_value(
                model::yaml::value_from_str(row.quirks, Path::new("q")).expect("row quirks"),
            )
            .expect("json"),
        )
        .expect("row quirks are a quirks patch");
        let want_s: SettingsPatch = serde_json::from_value(
            serde_json::to_value(
                model::yaml::value_from_str(row.settings, Path::new("s")).expect("row settings"),
            )
            .expect("json"),
        )
        .expect("row settings are a settings patch");
        assert_subset(
            row.name,
            "quirks",
            serde_json::to_value(&want_q).expect("json"),
            serde_json::to_value(loaded.quirks.clone().unwrap_or_default()).expect("json"),
        );
        assert_subset(
            row.name,
            "settings",
            serde_json::to_value(&want_s).expect("json"),
            serde_json::to_value(loaded.settings.clone().unwrap_or_default()).expect("json"),
        );
        assert!(
            !profile.contains(SECRET),
            "{}: secret in the profile",
            row.name
        );
        assert!(
            !text(&out.stdout).contains(SECRET),
            "{}: secret in the output",
            row.name
        );
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mock_started_from_the_profile_answers_the_probe_as_the_probed_mock_did() {
    for row in rows() {
        let first = mock(row.product, scenario(row.mock)).await;
        let (out, profile, report) = probe(first.url(), &format!("{}-a", row.name), &[]).await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            row.name,
            text(&out.stderr)
        );
        first.shutdown().await;
        let replay = mock(row.product, scenario(&profile)).await;
        let (out2, profile2, report2) = probe(replay.url(), &format!("{}-b", row.name), &[]).await;
        assert_eq!(
            out2.status.code(),
            Some(0),
            "{}: {}",
            row.name,
            text(&out2.stderr)
        );
        replay.shutdown().await;
        assert_eq!(profile, profile2, "{}: the same profile", row.name);
        let obs = &report["observations"];
        assert!(
            obs.as_array().is_some_and(|a| a.len() > 10),
            "{}: observations recorded",
            row.name
        );
        assert_eq!(
            obs, &report2["observations"],
            "{}: the same answers",
            row.name
        );
        let json = report.to_string();
        assert!(!json.contains(SECRET), "{}: secret in the JSON", row.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_probed_only_with_allow_writes_and_tell_balance_update() {
    let server = mock(
        Product::M4,
        scenario("version: 1\nquirks: { balance_update: set, balance_update_nesting: double }\n"),
    )
    .await;
    let (out, profile, report) = probe(server.url(), "writes-off", &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        profile.contains("balance_update: needs a write"),
        "{profile}"
    );
    let sent = report["observations"].to_string();
    assert!(
        !sent.contains("user_balance_update"),
        "no write without the flag"
    );
    let (out, profile, _) = probe(server.url(), "writes-on", &["--allow-writes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let loaded = model::scenario::load_str(&profile, Path::new("p.yaml"), Catalogue::embedded())
        .expect("profile loads")
        .scenario;
    let q = loaded.quirks.unwrap_or_default();
    assert_eq!(
        serde_json::to_value(q.balance_update).expect("json"),
        serde_json::json!("set")
    );
    assert_eq!(
        serde_json::to_value(q.balance_update_nesting).expect("json"),
        serde_json::json!("double")
    );
    server.shutdown().await;
}

#[test]
fn probe_without_a_target_is_a_usage_error() {
    let out = run(&["probe"], &[("MOR_SECRET", SECRET)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

#[test]
fn probe_against_a_closed_port_is_a_transport_failure() {
    let out = run(
        &["probe", "--target", "http://127.0.0.1:9", "--timeout", "2"],
        &[("MOR_SECRET", SECRET)],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains(SECRET));
}

/// `probe` against a mock started with each named profile names that profile as the nearest,
/// with every position it told matching (issue 11). Writes are allowed so the balance update's
/// nesting is told too (the mock's world is its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_names_the_profile_a_mock_was_started_with() {
    let profiles = model::profile::Profiles::embedded();
    for profile in profiles.all() {
        let c = MockConfig::new(profile.product)
            .settings(SettingsPatch {
                api_secret: Some(SECRET.into()),
                ..SettingsPatch::default()
            })
            .clock(CLOCK)
            .quirks(profile.patch());
        let server = MockServer::start(c).await.expect("mock starts");
        let (out, _, report) = probe(
            server.url(),
            &format!("named-{}", profile.name),
            &["--allow-writes"],
        )
        .await;
        server.shutdown().await;
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            profile.name,
            text(&out.stderr)
        );
        let nearest = &report["nearest"];
        assert_eq!(
            nearest[0]["name"], profile.name,
            "{}: nearest {nearest}",
            profile.name
        );
        assert_eq!(
            nearest[0]["differs"],
            serde_json::json!([]),
            "{}: {nearest}",
            profile.name
        );
        let told = nearest[0]["told"].as_u64().unwrap_or(0);
        assert!(told >= 8, "{}: only {told} positions told", profile.name);
        // Every other profile of the product matches fewer of the positions told.
        for other in nearest.as_array().into_iter().flatten().skip(1) {
            assert!(
                other["matching"].as_u64() < nearest[0]["matching"].as_u64(),
                "{}: {other} ties with it",
                profile.name
            );
        }
        assert!(
            text(&out.stdout).contains(&format!("nearest profile: {}", profile.name)),
            "{}: {}",
            profile.name,
            text(&out.stdout)
        );
    }
}
