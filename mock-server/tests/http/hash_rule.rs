//! The quirk `mor_hash_rule` over HTTP: a MOR mock on the X3 code's global rule accepts a request
//! signed by that rule and refuses one signed by the method's own list where the two differ; the
//! default mock does the opposite.

use mock_server::model::catalogue::{Catalogue, Product};
use mock_server::model::params::Params;
use mock_server::model::quirks::MorHashRule;
use mock_server::model::sign::{self, SignOptions};
use mock_server::MockConfig;
use reqwest::Method;

use crate::support::{scenario, Mock, SECRET, TEST_WORLD};

/// The scenario fragment that selects the global rule.
const GLOBAL: &str = "version: 1\nname: global hash rule\nquirks: { mor_hash_rule: global }\n";

/// `params` as the admin sends them to `method`, signed by `rule`.
fn signed(method: &str, params: &[(&str, &str)], rule: MorHashRule) -> Params {
    let mut p = Params::new();
    p.push("u", "admin");
    for (k, v) in params {
        p.push(*k, *v);
    }
    let m = Catalogue::embedded()
        .method(Product::Mor, method)
        .unwrap_or_else(|| panic!("{method} is in the catalogue"));
    let opts = SignOptions {
        rule,
        ..SignOptions::default()
    };
    let digest = sign::sign(m, &p, true, SECRET, &opts);
    p.push("hash", digest);
    p
}

/// Requests whose hash strings differ between the rules: order_by hashed whatever the method,
/// user_id before tariff_id, an integer normalised, a value left out by its filter.
const DIFFERING: &[(&str, &[(&str, &str)])] = &[
    (
        "user_calls_get",
        &[("s_user", "6"), ("order_by", "time"), ("order_desc", "1")],
    ),
    ("tariff_rates_get", &[("tariff_id", "1"), ("user_id", "6")]),
    ("devices_get", &[("user_id", "006")]),
    (
        "user_calls_get",
        &[("s_user", "6"), ("s_device", "all"), ("s_hgc", "x")],
    ),
];

#[tokio::test]
async fn a_mor_mock_on_the_global_rule_accepts_its_signature_and_refuses_the_per_method_one() {
    let mock = Mock::start_over(Product::Mor, &[GLOBAL]).await;
    for (method, params) in DIFFERING {
        let global = signed(method, params, MorHashRule::Global);
        let per_method = signed(method, params, MorHashRule::PerMethod);
        assert_ne!(
            global.get("hash"),
            per_method.get("hash"),
            "{method} {params:?}"
        );
        let a = mock.send(Method::POST, method, &global).await;
        assert_ne!(
            a.error().as_deref(),
            Some("Incorrect hash"),
            "{method} {params:?}: {}",
            a.body
        );
        let a = mock.send(Method::POST, method, &per_method).await;
        assert_eq!(
            a.error().as_deref(),
            Some("Incorrect hash"),
            "{method} {params:?}: {}",
            a.body
        );
    }
    mock.stop().await;
}

#[tokio::test]
async fn the_default_mor_mock_keeps_the_per_method_rule() {
    let mock = Mock::start(Product::Mor).await;
    for (method, params) in DIFFERING {
        let a = mock
            .send(
                Method::POST,
                method,
                &signed(method, params, MorHashRule::PerMethod),
            )
            .await;
        assert_ne!(
            a.error().as_deref(),
            Some("Incorrect hash"),
            "{method}: {}",
            a.body
        );
        let a = mock
            .send(
                Method::POST,
                method,
                &signed(method, params, MorHashRule::Global),
            )
            .await;
        assert_eq!(
            a.error().as_deref(),
            Some("Incorrect hash"),
            "{method}: {}",
            a.body
        );
    }
    mock.stop().await;
}

#[tokio::test]
async fn a_global_rule_mismatch_is_explained_with_what_was_left_out() {
    let mock = Mock::start_with(
        MockConfig::new(Product::Mor)
            .scenario(scenario(TEST_WORLD))
            .scenario(scenario(GLOBAL))
            .explain(true),
    )
    .await;
    let params: &[(&str, &str)] = &[("user_id", "006")];
    let p = signed("devices_get", params, MorHashRule::PerMethod);
    let a = mock.send(Method::POST, "devices_get", &p).await;
    assert_eq!(a.error().as_deref(), Some("Incorrect hash"), "{}", a.body);
    let why = a.header("x-mor-mock-explain").expect("explained");
    assert!(why.contains(r#"as integers: user_id "006""#), "{why}");
    assert!(why.contains("u (never hashed)"), "{why}");
    mock.stop().await;
}
