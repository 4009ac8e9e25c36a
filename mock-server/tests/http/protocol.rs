//! Protocol behaviours through real HTTP, both products: routing, gating in the documented order
//! of precedence, parameters, the admin API, the overlay and robustness against any input.

use bytes::Bytes;
use mock_server::model::catalogue::{Catalogue, Product};
use mock_server::model::params::Params;
use mock_server::model::quirks::QuirksPatch;
use mock_server::model::settings::SettingsPatch;
use mock_server::MockConfig;
use reqwest::Method;

use crate::support::{scenario, secret_of, Mock, SECRET, TEST_WORLD};

fn both() -> [Product; 2] {
    Product::ALL
}

async fn with_settings(product: Product, patch: SettingsPatch) -> Mock {
    Mock::start_with(
        MockConfig::new(product)
            .scenario(scenario(TEST_WORLD))
            .settings(patch),
    )
    .await
}

async fn with_quirks(product: Product, patch: QuirksPatch) -> Mock {
    Mock::start_with(
        MockConfig::new(product)
            .scenario(scenario(TEST_WORLD))
            .quirks(patch),
    )
    .await
}

#[tokio::test]
async fn every_canonical_name_and_alias_routes_to_its_method() {
    for product in both() {
        let mock = Mock::start(product).await;
        let pc = Catalogue::embedded().product(product);
        for name in pc.names() {
            let a = mock
                .send(Method::POST, name, &Params::new().with("u", "admin"))
                .await;
            assert_ne!(a.status, 404, "{product}: {name} did not route: {}", a.body);
            assert_ne!(
                a.error().as_deref(),
                Some("Unknown API method"),
                "{product}: {name}"
            );
        }
        mock.stop().await;
    }
}

#[tokio::test]
async fn an_unknown_method_answers_404_in_the_catalogue_wrapper() {
    for product in both() {
        let mock = Mock::start(product).await;
        let p = Params::new().with("u", "admin").with("hash", "0");
        let a = mock.send(Method::POST, "quickstat_get", &p).await;
        assert_eq!(a.status, 404);
        assert_eq!(a.error().as_deref(), Some("Unknown API method"));
        assert_eq!(a.root().as_deref(), Some("page"));
        mock.stop().await;
    }
}

#[tokio::test]
async fn aggregates_get_stops_routing_when_its_quirk_is_off() {
    let mock = with_quirks(
        Product::M4,
        QuirksPatch {
            aggregates_get_alias: Some(false),
            ..QuirksPatch::default()
        },
    )
    .await;
    let p = Params::new().with("u", "admin");
    assert_eq!(
        mock.send(Method::POST, "aggregates_get", &p).await.status,
        404
    );
    assert_ne!(
        mock.send(Method::POST, "aggregate_get", &p).await.status,
        404
    );
    mock.stop().await;
}

#[tokio::test]
async fn paths_outside_the_api_answer_a_plain_404() {
    let mock = Mock::start(Product::M4).await;
    for path in ["/", "/billing/api/", "/mor/api/balance", "/billing/api/a/b"] {
        let a = mock.raw(mock.client.post(mock.url(path))).await;
        assert_eq!(a.status, 404, "{path}");
        assert!(
            a.header("content-type")
                .unwrap_or_default()
                .starts_with("text/plain"),
            "{path}"
        );
    }
    mock.stop().await;
}

fn quickstats(u: &str) -> (&'static str, String) {
    ("quickstats_get", u.to_string())
}

#[tokio::test]
async fn a_disabled_api_answers_api_requests_are_disabled() {
    for product in both() {
        let mock = with_settings(
            product,
            SettingsPatch {
                api_enabled: Some(false),
                ..SettingsPatch::default()
            },
        )
        .await;
        let a = mock.post("quickstats_get", "admin", &[]).await;
        assert_eq!(a.error().as_deref(), Some("API Requests are disabled"));
        assert_eq!(a.root().as_deref(), Some("status"));
        assert_eq!(a.status, 200);
        mock.stop().await;
    }
}

#[tokio::test]
async fn get_is_refused_by_default_and_accepted_when_allowed() {
    for product in both() {
        let (method, u) = quickstats("admin");
        let mock = Mock::start(product).await;
        let p = mock.signed(method, Some(&u), &[], SECRET);
        let a = mock.send(Method::GET, method, &p).await;
        assert_eq!(a.error().as_deref(), Some("GET Requests are disabled"));
        assert_eq!(a.root().as_deref(), Some("status"));
        mock.stop().await;

        let mock = with_settings(
            product,
            SettingsPatch {
                allow_get: Some(true),
                ..SettingsPatch::default()
            },
        )
        .await;
        let a = mock.send(Method::GET, method, &p).await;
        assert!(a.is_success(), "{product}: {}", a.body);
        mock.stop().await;
    }
}

#[tokio::test]
async fn a_post_only_method_refuses_get_even_when_get_is_allowed() {
    for product in both() {
        let mock = with_settings(
            product,
            SettingsPatch {
                allow_get: Some(true),
                ..SettingsPatch::default()
            },
        )
        .await;
        let p = mock.signed("tariff_wholesale_update", Some("admin"), &[], SECRET);
        let a = mock.send(Method::GET, "tariff_wholesale_update", &p).await;
        assert_eq!(a.error().as_deref(), Some("GET Requests are disabled"));
        mock.stop().await;
    }
}

#[tokio::test]
async fn other_verbs_are_treated_like_post() {
    let mock = Mock::start(Product::M4).await;
    let p = mock.signed("quickstats_get", Some("admin"), &[], SECRET);
    for verb in [Method::PUT, Method::DELETE, Method::PATCH] {
        let a = mock.send(verb.clone(), "quickstats_get", &p).await;
        assert!(a.is_success(), "{verb}: {}", a.body);
    }
    mock.stop().await;
}

#[tokio::test]
async fn an_unknown_missing_or_blocked_user_gets_bad_login() {
    let mock = Mock::start(Product::M4).await;
    for u in ["nobody", "blocked"] {
        let a = mock.post("quickstats_get", u, &[]).await;
        assert_eq!(a.error().as_deref(), Some("Bad login"), "{u}");
        assert_eq!(a.root().as_deref(), Some("page"));
    }
    let p = Params::new().with("hash", "x");
    let a = mock.send(Method::POST, "quickstats_get", &p).await;
    assert_eq!(a.error().as_deref(), Some("Bad login"));
    mock.stop().await;
}

#[tokio::test]
async fn mor_answers_access_denied_for_an_unknown_user_where_its_page_says_so() {
    let mock = Mock::start(Product::Mor).await;
    for method in ["quickstats_get", "user_calls_get"] {
        let a = mock.post(method, "nobody", &[]).await;
        assert_eq!(a.error().as_deref(), Some("Access Denied"), "{method}");
    }
    let a = mock.post("devices_get", "nobody", &[]).await;
    assert_eq!(a.error().as_deref(), Some("Bad login"));
    mock.stop().await;
}

#[tokio::test]
async fn a_missing_or_wrong_hash_is_incorrect() {
    for product in both() {
        let mock = Mock::start(product).await;
        let none = Params::new().with("u", "admin");
        let a = mock.send(Method::POST, "quickstats_get", &none).await;
        assert_eq!(a.error().as_deref(), Some("Incorrect hash"));
        assert_eq!(a.root().as_deref(), Some("status"));
        let wrong = mock.signed("quickstats_get", Some("admin"), &[], "not the secret");
        let a = mock.send(Method::POST, "quickstats_get", &wrong).await;
        assert_eq!(a.error().as_deref(), Some("Incorrect hash"));
        mock.stop().await;
    }
}

fn uppercased(mut p: Params) -> Params {
    let h = p.get("hash").unwrap_or_default().to_ascii_uppercase();
    p.set("hash", h);
    p
}

#[tokio::test]
async fn an_uppercase_hash_is_refused_by_default_and_accepted_with_hex_case_any() {
    let mock = Mock::start(Product::M4).await;
    let p = uppercased(mock.signed("quickstats_get", Some("alice"), &[], SECRET));
    let a = mock.send(Method::POST, "quickstats_get", &p).await;
    assert_eq!(a.error().as_deref(), Some("Incorrect hash"));
    mock.stop().await;

    let mock = with_quirks(
        Product::M4,
        QuirksPatch {
            hash_hex_case: Some(mock_server::model::quirks::HexCase::Any),
            ..QuirksPatch::default()
        },
    )
    .await;
    let a = mock.send(Method::POST, "quickstats_get", &p).await;
    assert_ne!(a.error().as_deref(), Some("Incorrect hash"), "{}", a.body);
    mock.stop().await;
}

#[tokio::test]
async fn with_hash_checking_disabled_no_hash_is_needed() {
    for product in both() {
        let mock = with_settings(
            product,
            SettingsPatch {
                hash_check: Some(false),
                ..SettingsPatch::default()
            },
        )
        .await;
        let p = Params::new().with("u", "admin");
        let a = mock.send(Method::POST, "quickstats_get", &p).await;
        assert!(a.is_success(), "{product}: {}", a.body);
        mock.stop().await;
    }
}

#[tokio::test]
async fn a_reseller_and_his_users_sign_with_the_resellers_own_secret() {
    let mock = Mock::start(Product::Mor).await;
    for u in ["res", "bob"] {
        let ok = mock.signed("quickstats_get", Some(u), &[], "rsecret");
        let a = mock.send(Method::POST, "quickstats_get", &ok).await;
        assert!(a.is_success(), "{u}: {}", a.body);
        let admins = mock.signed("quickstats_get", Some(u), &[], SECRET);
        let a = mock.send(Method::POST, "quickstats_get", &admins).await;
        assert_eq!(a.error().as_deref(), Some("Incorrect hash"), "{u}");
    }
    mock.stop().await;
}

#[tokio::test]
async fn a_reseller_with_his_own_hash_checking_disabled_needs_no_hash() {
    let mock = Mock::start(Product::Mor).await;
    let p = Params::new().with("u", "res_nohash");
    let a = mock.send(Method::POST, "quickstats_get", &p).await;
    assert!(a.is_success(), "{}", a.body);
    let p = Params::new().with("u", "res");
    let a = mock.send(Method::POST, "quickstats_get", &p).await;
    assert_eq!(a.error().as_deref(), Some("Incorrect hash"));
    mock.stop().await;
}

#[tokio::test]
async fn checks_follow_the_documented_precedence() {
    for product in both() {
        // Everything wrong: unknown user, no hash, GET.
        let bad = Params::new().with("u", "nobody");
        let mock = with_settings(
            product,
            SettingsPatch {
                api_enabled: Some(false),
                ..SettingsPatch::default()
            },
        )
        .await;
        let a = mock.send(Method::GET, "devices_get", &bad).await;
        assert_eq!(a.error().as_deref(), Some("API Requests are disabled"));
        mock.stop().await;

        let mock = Mock::start(product).await;
        let a = mock.send(Method::GET, "devices_get", &bad).await;
        assert_eq!(a.error().as_deref(), Some("GET Requests are disabled"));
        let a = mock.send(Method::POST, "devices_get", &bad).await;
        assert_eq!(a.error().as_deref(), Some("Bad login"));
        // A known user without access and without a hash: the hash comes first.
        let a = mock
            .send(
                Method::POST,
                "exchange_rate_update",
                &Params::new().with("u", "alice"),
            )
            .await;
        assert_eq!(a.error().as_deref(), Some("Incorrect hash"));
        let a = mock.post("exchange_rate_update", "alice", &[]).await;
        assert_eq!(a.error().as_deref(), Some("Access Denied"));
        mock.stop().await;
    }
}

#[tokio::test]
async fn with_hash_first_an_unknown_user_without_hash_gets_incorrect_hash() {
    let mock = with_quirks(
        Product::M4,
        QuirksPatch {
            error_precedence: Some(mock_server::model::quirks::Precedence::HashFirst),
            ..QuirksPatch::default()
        },
    )
    .await;
    let bad = Params::new().with("u", "nobody");
    let a = mock.send(Method::POST, "devices_get", &bad).await;
    assert_eq!(a.error().as_deref(), Some("Incorrect hash"));
    // Signed correctly with the admin's secret, the unknown user is then refused.
    let a = mock.post("devices_get", "nobody", &[]).await;
    assert_eq!(a.error().as_deref(), Some("Bad login"));
    mock.stop().await;
}

#[tokio::test]
async fn a_role_without_access_is_denied() {
    for product in both() {
        let mock = Mock::start(product).await;
        let a = mock
            .post(
                "exchange_rate_update",
                "alice",
                &[("currency", "EUR"), ("rate", "1.1")],
            )
            .await;
        assert_eq!(a.error().as_deref(), Some("Access Denied"));
        assert_eq!(a.root().as_deref(), Some("status"));
        mock.stop().await;
    }
}

#[tokio::test]
async fn a_manager_without_the_permission_is_not_authorized() {
    let mock = Mock::start(Product::M4).await;
    let a = mock.post("quickstats_get", "mgr", &[]).await;
    assert_eq!(
        a.error().as_deref(),
        Some("You are not authorized to use this functionality")
    );
    let a = mock.post("quickstats_get", "mgr_qs", &[]).await;
    assert!(a.is_success(), "{}", a.body);
    let a = mock
        .post("tariff_rates_get", "mgr", &[("tariff_id", "1")])
        .await;
    assert_eq!(
        a.error().as_deref(),
        Some("You are not authorized to manage tariffs")
    );
    mock.stop().await;
}

#[tokio::test]
async fn a_feature_switched_off_answers_feature_disabled_in_the_methods_wrapper() {
    for product in both() {
        let mock = with_settings(
            product,
            SettingsPatch {
                balance_over_http: Some(false),
                ..SettingsPatch::default()
            },
        )
        .await;
        let a = mock
            .post("user_balance_get", "admin", &[("username", "alice")])
            .await;
        assert_eq!(a.error().as_deref(), Some("Feature disabled"));
        assert_eq!(a.root().as_deref(), Some("page"));
        let p = Params::new().with("id", "aliceuh");
        let a = mock.send(Method::POST, "user_simple_balance_get", &p).await;
        assert_eq!(a.body, "Feature disabled", "{product}: plain text");
        assert!(a
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain"));
        mock.stop().await;
    }
}

#[tokio::test]
async fn a_json_body_is_read_and_its_numbers_hashed_as_written() {
    for product in both() {
        let mock = Mock::start(product).await;
        let signed = mock.signed(
            "user_balance_update",
            Some("admin"),
            &[("user_id", "6"), ("balance", "100.50")],
            SECRET,
        );
        let hash = signed.get("hash").unwrap_or_default().to_string();
        let body = format!(r#"{{"u":"admin","user_id":6,"balance":100.50,"hash":"{hash}"}}"#);
        let req = mock
            .client
            .post(mock.url("/billing/api/user_balance_update"))
            .header("content-type", "application/json")
            .body(body.clone());
        let a = mock.raw(req).await;
        assert_ne!(
            a.error().as_deref(),
            Some("Incorrect hash"),
            "{product}: {}",
            a.body
        );
        assert_ne!(a.error().as_deref(), Some("Bad login"), "{product}");
        mock.stop().await;
    }
}

#[tokio::test]
async fn a_json_body_is_ignored_when_the_json_body_quirk_is_off() {
    let mock = with_quirks(
        Product::M4,
        QuirksPatch {
            json_body: Some(false),
            ..QuirksPatch::default()
        },
    )
    .await;
    let p = mock.signed("quickstats_get", Some("admin"), &[], SECRET);
    let body = format!(
        r#"{{"u":"admin","hash":"{}"}}"#,
        p.get("hash").unwrap_or_default()
    );
    let req = mock
        .client
        .post(mock.url("/billing/api/quickstats_get"))
        .header("content-type", "application/json")
        .body(body);
    let a = mock.raw(req).await;
    assert_eq!(a.error().as_deref(), Some("Bad login"));
    mock.stop().await;
}

#[tokio::test]
async fn a_form_body_is_read_and_the_query_string_wins_over_it() {
    let mock = Mock::start(Product::M4).await;
    let p = mock.signed("quickstats_get", Some("admin"), &[], SECRET);
    let req = mock
        .client
        .post(mock.url(&format!("/billing/api/quickstats_get?{}", p.to_query())))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("u=nobody&hash=0000");
    let a = mock.raw(req).await;
    assert!(a.is_success(), "{}", a.body);
    let req = mock
        .client
        .post(mock.url("/billing/api/quickstats_get"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(p.to_query());
    let a = mock.raw(req).await;
    assert!(a.is_success(), "form only: {}", a.body);
    mock.stop().await;
}

#[tokio::test]
async fn the_admin_api_reports_health_changes_settings_and_resets() {
    for product in both() {
        let mock = Mock::start(product).await;
        let h = mock.admin_get("health").await;
        assert_eq!(h["status"], "ok");
        assert_eq!(h["product"], product.as_str());

        let a = mock
            .admin_patch("settings", r#"{"api_enabled": false}"#)
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        let a = mock.post("quickstats_get", "admin", &[]).await;
        assert_eq!(a.error().as_deref(), Some("API Requests are disabled"));
        assert_eq!(mock.admin_get("settings").await["api_enabled"], false);

        let a = mock
            .admin_patch("settings", r#"{"api_enabld": false}"#)
            .await;
        assert_eq!(a.status, 400, "a misspelled setting is refused");
        let a = mock
            .admin_patch("quirks", r#"{"error_http_status": 500}"#)
            .await;
        assert_eq!(a.status, 200);
        let a = mock.post("quickstats_get", "admin", &[]).await;
        assert_eq!(a.status, 500);

        let r = mock
            .client
            .post(mock.url("/__admin/reset"))
            .send()
            .await
            .expect("reset");
        assert_eq!(r.status(), 200);
        let a = mock.post("quickstats_get", "admin", &[]).await;
        assert!(a.is_success(), "{}", a.body);
        assert_eq!(a.status, 200);
        mock.stop().await;
    }
}

#[tokio::test]
async fn the_journal_redacts_the_hash_and_counts_outcomes() {
    let mock = Mock::start(Product::M4).await;
    mock.post("quickstats_get", "admin", &[]).await;
    mock.post("quickstats_get", "nobody", &[]).await;
    let j = mock.admin_get("journal").await;
    let entries = j.as_array().expect("array");
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["path"], "/billing/api/quickstats_get");
    assert_eq!(entries[0]["method"], "quickstats_get");
    let text = j.to_string();
    assert!(text.contains("<redacted>"));
    let p = mock.signed("quickstats_get", Some("admin"), &[], SECRET);
    assert!(
        !text.contains(p.get("hash").unwrap_or("?")),
        "the digest leaked"
    );
    let c = mock.admin_get("counts").await;
    assert_eq!(c["quickstats_get"]["ok"], 1);
    assert_eq!(c["quickstats_get"]["Bad login"], 1);
    let r = mock
        .client
        .delete(mock.url("/__admin/journal"))
        .send()
        .await
        .expect("delete");
    assert_eq!(r.status(), 200);
    assert_eq!(
        mock.admin_get("journal").await.as_array().map(Vec::len),
        Some(0)
    );
    mock.stop().await;
}

#[tokio::test]
async fn a_scenario_posted_to_the_admin_api_is_applied_or_refused_with_its_line() {
    let mock = Mock::start(Product::M4).await;
    let post = |body: &'static str| {
        mock.client
            .post(mock.url("/__admin/scenario"))
            .body(body)
            .send()
    };
    let r = post("version: 1\nsettings:\n  allow_gett: true\n")
        .await
        .expect("answered");
    assert_eq!(r.status(), 400);
    let msg = r.text().await.unwrap_or_default();
    assert!(msg.contains("<admin scenario>:3"), "{msg}");
    let r = post("version: 1\nsettings:\n  api_enabled: false\n")
        .await
        .expect("answered");
    assert_eq!(r.status(), 200);
    let a = mock.post("quickstats_get", "admin", &[]).await;
    assert_eq!(a.error().as_deref(), Some("API Requests are disabled"));
    mock.stop().await;
}

#[tokio::test]
async fn explain_puts_the_hash_string_in_a_header_without_the_secret() {
    let key = "K3y-n0t-in-logs";
    let mock = Mock::start_with(
        MockConfig::new(Product::M4)
            .scenario(scenario(TEST_WORLD))
            .settings(SettingsPatch {
                api_secret: Some(key.to_string()),
                ..SettingsPatch::default()
            })
            .explain(true),
    )
    .await;
    let p = mock.signed("quickstats_get", Some("alice"), &[], "wrong");
    let a = mock.send(Method::POST, "quickstats_get", &p).await;
    assert_eq!(a.error().as_deref(), Some("Incorrect hash"));
    let why = a.header("x-mor-mock-explain").expect("explained");
    assert!(why.contains("alice<secret>"), "{why}");
    assert!(!why.contains(key), "{why}");
    mock.stop().await;

    let mock = Mock::start(Product::M4).await;
    let a = mock.send(Method::POST, "quickstats_get", &p).await;
    assert!(a.header("x-mor-mock-explain").is_none(), "off by default");
    mock.stop().await;
}

#[tokio::test]
async fn a_canned_answer_replaces_the_model_for_its_times() {
    for product in both() {
        let overlay = "version: 1\noverlay:\n  responses:\n    - match: { method: quickstats_get, u: admin }\n      body: '<page><canned>1</canned></page>'\n      times: 1\n";
        let mock = Mock::start_over(product, &[overlay]).await;
        let a = mock.post("quickstats_get", "admin", &[]).await;
        assert!(a.body.contains("<canned>1</canned>"), "{}", a.body);
        let a = mock.post("quickstats_get", "admin", &[]).await;
        assert!(!a.body.contains("canned"), "used up: {}", a.body);
        let c = mock.admin_get("counts").await;
        assert_eq!(c["quickstats_get"]["canned"], 1);
        mock.stop().await;
    }
}

#[tokio::test]
async fn a_delay_fault_still_answers_normally() {
    let overlay =
        "version: 1\noverlay:\n  faults:\n    - fault: { kind: delay, ms: 1, max_ms: 3 }\n";
    let mock = Mock::start_over(Product::M4, &[overlay]).await;
    let a = mock.post("quickstats_get", "admin", &[]).await;
    assert!(a.is_success(), "{}", a.body);
    mock.stop().await;
}

#[tokio::test]
async fn an_http_status_fault_answers_a_short_html_error_page() {
    let overlay = "version: 1\noverlay:\n  faults:\n    - match: { method: quickstats_get }\n      fault: { kind: http_status, status: 503 }\n";
    let mock = Mock::start_over(Product::Mor, &[overlay]).await;
    let a = mock.post("quickstats_get", "admin", &[]).await;
    assert_eq!(a.status, 503);
    assert!(a.body.contains("503 Service Unavailable"), "{}", a.body);
    assert!(a
        .header("content-type")
        .unwrap_or_default()
        .starts_with("text/html"));
    let a = mock.post("devices_get", "admin", &[]).await;
    assert_ne!(a.status, 503, "other methods are untouched");
    mock.stop().await;
}

#[tokio::test]
async fn a_connection_reset_fault_closes_the_connection_without_an_answer() {
    let overlay = "version: 1\noverlay:\n  faults:\n    - match: { method: quickstats_get }\n      fault: { kind: connection_reset }\n";
    let mock = Mock::start_over(Product::M4, &[overlay]).await;
    let p = mock.signed("quickstats_get", Some("admin"), &[], SECRET);
    let r = mock
        .client
        .post(mock.url(&format!("/billing/api/quickstats_get?{}", p.to_query())))
        .send()
        .await;
    assert!(r.is_err(), "expected a transport error, got {r:?}");
    // The server itself is fine.
    assert_eq!(mock.admin_get("health").await["status"], "ok");
    mock.stop().await;
}

#[tokio::test]
async fn a_truncate_fault_sends_fewer_bytes_than_announced() {
    let overlay = "version: 1\noverlay:\n  faults:\n    - fault: { kind: truncate, bytes: 10 }\n";
    let mock = Mock::start_over(Product::M4, &[overlay]).await;
    let p = mock.signed("quickstats_get", Some("admin"), &[], SECRET);
    let r = mock
        .client
        .post(mock.url(&format!("/billing/api/quickstats_get?{}", p.to_query())))
        .send()
        .await;
    let outcome = match r {
        Ok(resp) => resp.bytes().await.map(|b| b.len()),
        Err(e) => Err(e),
    };
    assert!(outcome.is_err(), "expected a broken body, got {outcome:?}");
    mock.stop().await;
}

#[tokio::test]
async fn an_elasticsearch_fault_answers_in_the_methods_wrapper_after_the_checks() {
    let overlay = "version: 1\noverlay:\n  faults:\n    - match: { method: quickstats_get }\n      fault: { kind: elasticsearch }\n";
    let mock = Mock::start_over(Product::M4, &[overlay]).await;
    let a = mock.post("quickstats_get", "admin", &[]).await;
    assert_eq!(
        a.error().as_deref(),
        Some("Cannot connect to Elasticsearch")
    );
    assert_eq!(a.root().as_deref(), Some("status"));
    let a = mock.post("quickstats_get", "nobody", &[]).await;
    assert_eq!(a.error().as_deref(), Some("Bad login"), "checks come first");
    mock.stop().await;
}

#[tokio::test]
async fn a_fault_with_probability_zero_never_fires() {
    let overlay = "version: 1\noverlay:\n  seed: 3\n  faults:\n    - fault: { kind: http_status, status: 500 }\n      probability: 0\n";
    let mock = Mock::start_over(Product::M4, &[overlay]).await;
    for _ in 0..5 {
        assert_ne!(mock.post("quickstats_get", "admin", &[]).await.status, 500);
    }
    mock.stop().await;
}

#[tokio::test]
async fn garbage_over_a_raw_socket_does_not_hurt_the_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mock = Mock::start(Product::M4).await;
    let junk: [&[u8]; 4] = [
        b"\x00\xff\xfe garbage\r\n\r\n",
        b"POST /billing/api/quickstats_get?u=%ff%00 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Type: application/json\r\n\r\n{\"u\":",
        b"GET /billing/api/\xc3\x28 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /__admin/scenario HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n\xff\xfe\x00\x01",
    ];
    for bytes in junk {
        let mut s = tokio::net::TcpStream::connect(mock.server.addr())
            .await
            .expect("connect");
        let _ = s.write_all(bytes).await;
        let _ = s.shutdown().await;
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
    }
    assert_eq!(mock.admin_get("health").await["status"], "ok");
    let a = mock.post("quickstats_get", "admin", &[]).await;
    assert!(a.is_success());
    mock.stop().await;
}

#[test]
fn secrets_of_the_test_world_are_consistent() {
    assert_eq!(secret_of("bob"), secret_of("res"));
    assert_eq!(secret_of("admin"), SECRET);
}

mod fuzz {
    use super::*;
    use http::{HeaderMap, HeaderName, HeaderValue, Uri};
    use mock_server::Shared;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    fn shared() -> &'static std::sync::Arc<Shared> {
        static S: OnceLock<std::sync::Arc<Shared>> = OnceLock::new();
        S.get_or_init(|| {
            let overlay = "version: 1\noverlay:\n  seed: 9\n  faults:\n    - match: { method: devices_get }\n      fault: { kind: truncate, bytes: 3 }\n      probability: 0.5\n";
            std::sync::Arc::new(
                Shared::new(
                    MockConfig::new(Product::Mor)
                        .scenario(scenario(TEST_WORLD))
                        .scenario(scenario(overlay)),
                )
                .expect("state builds"),
            )
        })
    }

    fn well_formed(status: u16, content_type: &str, body: &[u8]) -> Result<(), String> {
        if !(200..600).contains(&status) {
            return Err(format!("status {status}"));
        }
        if content_type.starts_with("application/xml") {
            let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
            mock_server::model::xml::parse(text).map_err(|e| format!("{e}: {text}"))?;
        }
        Ok(())
    }

    proptest! {
        // No regression files: the seed is fixed (.cargo/config.toml), so a failure replays on
        // every run anyway, and no outcome depends on a file an earlier run left behind.
        #![proptest_config(ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn arbitrary_requests_never_panic_and_get_a_well_formed_answer(
            method_idx in 0usize..6,
            name in prop_oneof![
                Just("quickstats_get".to_string()),
                Just("user_balance_update".to_string()),
                Just("devices_get".to_string()),
                Just("user_simple_balance_get".to_string()),
                "[a-z_]{0,20}",
                ".{0,12}",
            ],
            query in proptest::collection::vec(any::<u8>(), 0..80),
            header_bytes in proptest::collection::vec(any::<u8>(), 0..30),
            json in any::<bool>(),
            body in proptest::collection::vec(any::<u8>(), 0..120),
            prefix in prop_oneof![Just("/billing/api/"), Just("/__admin/"), Just("/")],
        ) {
            let verbs = [http::Method::GET, http::Method::POST, http::Method::PUT,
                http::Method::DELETE, http::Method::PATCH, http::Method::OPTIONS];
            let q: String = query.iter().map(|b| format!("%{b:02X}")).collect();
            let raw = format!("{prefix}{}?u=admin&{q}&x={}", mock_server::model::params::form_encode(&name), String::from_utf8_lossy(&query).replace(|c: char| !c.is_ascii_graphic(), ""));
            let uri: Uri = raw.parse().unwrap_or_else(|_| Uri::from_static("/billing/api/x"));
            let mut headers = HeaderMap::new();
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(if json { "application/json" } else { "application/x-www-form-urlencoded" }));
            if let Ok(v) = HeaderValue::from_bytes(&header_bytes) {
                headers.insert(HeaderName::from_static("x-junk"), v);
            }
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            let answer = rt.block_on(mock_server::handle(shared(), verbs[method_idx].clone(), &uri, &headers, Bytes::from(body)));
            let ct = answer.response.headers().get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let ok = well_formed(answer.response.status().as_u16(), &ct, answer.response.body());
            prop_assert!(ok.is_ok(), "{:?}", ok);
        }
    }
}

// ------------------------------------------------- optional hash, login-free methods, no-u balance

#[tokio::test]
async fn an_optional_hash_is_checked_only_when_sent() {
    // user_simple_balance_get: `hash_required: false`. The documented request has no hash; a hash
    // that is sent must be right (`Incorrect hash` in its catalogue wrapper, <status>).
    for product in both() {
        let mock = Mock::start(product).await;
        let bare = Params::new().with("id", "aliceuh");
        let a = mock
            .send(Method::POST, "user_simple_balance_get", &bare)
            .await;
        assert_eq!(a.body, "12.5000", "{product}: no hash sent");
        let good = mock.signed(
            "user_simple_balance_get",
            None,
            &[("id", "aliceuh")],
            SECRET,
        );
        let a = mock
            .send(Method::POST, "user_simple_balance_get", &good)
            .await;
        assert_eq!(a.body, "12.5000", "{product}: right hash");
        let wrong = mock.signed(
            "user_simple_balance_get",
            None,
            &[("id", "aliceuh")],
            "not the secret",
        );
        let a = mock
            .send(Method::POST, "user_simple_balance_get", &wrong)
            .await;
        assert_eq!(a.error().as_deref(), Some("Incorrect hash"), "{product}");
        assert_eq!(a.root().as_deref(), Some("status"), "{product}");
        let empty = Params::new().with("id", "aliceuh").with("hash", "");
        let a = mock
            .send(Method::POST, "user_simple_balance_get", &empty)
            .await;
        assert_eq!(
            a.error().as_deref(),
            Some("Incorrect hash"),
            "{product}: empty hash sent"
        );
        // A reseller's user's uniquehash is verified with the reseller's secret (user_secret owner).
        let a = mock
            .send(
                Method::POST,
                "user_simple_balance_get",
                &mock.signed(
                    "user_simple_balance_get",
                    None,
                    &[("id", "bobuh")],
                    "rsecret",
                ),
            )
            .await;
        assert!(a.is_success(), "{product}: {}", a.body);
        mock.stop().await;
    }
}

#[tokio::test]
async fn an_optional_hash_is_not_checked_while_hash_checking_is_disabled() {
    let mock = with_settings(
        Product::M4,
        SettingsPatch {
            hash_check: Some(false),
            ..SettingsPatch::default()
        },
    )
    .await;
    let wrong = Params::new().with("id", "aliceuh").with("hash", "0000");
    let a = mock
        .send(Method::POST, "user_simple_balance_get", &wrong)
        .await;
    assert_eq!(a.body, "12.5000");
    mock.stop().await;
}

#[tokio::test]
async fn user_login_answers_its_own_failure_never_bad_login() {
    for product in both() {
        let mock = Mock::start(product).await;
        let login =
            |u: &str, p: &str| mock.signed("user_login", Some(u), &[("p", p)], secret_of(u));
        let a = mock
            .send(Method::POST, "user_login", &login("alice", "pw"))
            .await;
        assert!(a.is_success(), "{product}: {}", a.body);
        assert!(a.body.contains("standalone=\"yes\""), "{}", a.body);
        for (u, p) in [("alice", "wrong"), ("blocked", ""), ("ghost", "x")] {
            let a = mock.send(Method::POST, "user_login", &login(u, p)).await;
            assert_eq!(
                a.root().as_deref(),
                Some("action"),
                "{product} {u}: {}",
                a.body
            );
            assert_eq!(a.error().as_deref(), Some("Login failed"), "{product} {u}");
            assert!(a.body.contains("standalone=\"yes\""), "{}", a.body);
        }
        // The hash (u, p) still counts: a wrong one is Incorrect hash, not a login failure.
        let wrong = mock.signed("user_login", Some("alice"), &[("p", "pw")], "nope");
        let a = mock.send(Method::POST, "user_login", &wrong).await;
        assert_eq!(a.error().as_deref(), Some("Incorrect hash"), "{product}");
        mock.stop().await;
    }
}

#[tokio::test]
async fn user_login_of_a_resellers_user_is_verified_with_the_owners_secret() {
    let mock = Mock::start(Product::Mor).await;
    let p = mock.signed("user_login", Some("bob"), &[("p", "")], "rsecret");
    let a = mock.send(Method::POST, "user_login", &p).await;
    assert_eq!(a.root().as_deref(), Some("action"), "{}", a.body);
    let p = mock.signed("user_login", Some("bob"), &[("p", "")], SECRET);
    let a = mock.send(Method::POST, "user_login", &p).await;
    assert_eq!(a.error().as_deref(), Some("Incorrect hash"));
    mock.stop().await;
    // user_secret admin: the admin's secret for the reseller's user, the reseller his own.
    let mock = with_quirks(
        Product::Mor,
        QuirksPatch {
            user_secret: Some(mock_server::model::quirks::UserSecret::Admin),
            ..QuirksPatch::default()
        },
    )
    .await;
    let p = mock.signed("user_login", Some("bob"), &[("p", "")], SECRET);
    let a = mock.send(Method::POST, "user_login", &p).await;
    assert_eq!(a.root().as_deref(), Some("action"), "{}", a.body);
    let p = mock.signed("user_logout", Some("res"), &[], "rsecret");
    let a = mock.send(Method::POST, "user_logout", &p).await;
    assert!(a.is_success(), "{}", a.body);
    let p = mock.signed("user_logout", Some("res"), &[], SECRET);
    let a = mock.send(Method::POST, "user_logout", &p).await;
    assert_eq!(a.error().as_deref(), Some("Incorrect hash"));
    mock.stop().await;
}

#[tokio::test]
async fn user_logout_of_an_unknown_user_is_the_action_failure() {
    for product in both() {
        let mock = Mock::start(product).await;
        let a = mock.post("user_logout", "alice", &[]).await;
        assert!(a.is_success(), "{product}: {}", a.body);
        let a = mock.post("user_logout", "ghost", &[]).await;
        assert_eq!(a.root().as_deref(), Some("action"), "{product}: {}", a.body);
        assert!(a.body.contains("<status>failed</status>"), "{}", a.body);
        assert!(
            a.body
                .starts_with(r#"<?xml version="1.0" encoding="utf-8" standalone="yes"?>"#),
            "{}",
            a.body
        );
        let none = Params::new().with("u", "alice");
        let a = mock.send(Method::POST, "user_logout", &none).await;
        assert_eq!(a.error().as_deref(), Some("Incorrect hash"), "{product}");
        mock.stop().await;
    }
}

#[tokio::test]
async fn user_balance_get_needs_no_u_unless_its_quirk_says_so() {
    for product in both() {
        // Default (balance_get_requires_u off): no u, the admin's secret authenticates.
        let mock = Mock::start(product).await;
        let p = mock.signed("user_balance_get", None, &[("username", "bob")], SECRET);
        let a = mock.send(Method::POST, "user_balance_get", &p).await;
        assert!(a.is_success(), "{product}: {}", a.body);
        let p = mock.signed("user_balance_get", None, &[("username", "bob")], "rsecret");
        let a = mock.send(Method::POST, "user_balance_get", &p).await;
        assert_eq!(a.error().as_deref(), Some("Incorrect hash"), "{product}");
        // A u that is sent is resolved as usual.
        let a = mock
            .post("user_balance_get", "ghost", &[("username", "alice")])
            .await;
        assert_eq!(a.error().as_deref(), Some("Bad login"), "{product}");
        let a = mock
            .post("user_balance_get", "alice", &[("username", "alice")])
            .await;
        assert!(a.is_success(), "{product}: {}", a.body);
        mock.stop().await;

        let mock = with_quirks(
            product,
            QuirksPatch {
                balance_get_requires_u: Some(true),
                ..QuirksPatch::default()
            },
        )
        .await;
        let p = mock.signed("user_balance_get", None, &[("username", "alice")], SECRET);
        let a = mock.send(Method::POST, "user_balance_get", &p).await;
        assert_eq!(a.error().as_deref(), Some("Bad login"), "{product}");
        assert_eq!(a.root().as_deref(), Some("page"));
        mock.stop().await;
    }
}
