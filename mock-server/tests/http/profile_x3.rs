//! A MOR mock started with the `x3` profile (what `mor-mock --profile x3` does: every quirk at
//! the profile's position) answers as the MOR X3 server code does (GitHub `adeshjohnson/MX3`;
//! `../shared/api/X3-FACTS.md`), one test per behaviour, through real HTTP.

use mock_server::model::catalogue::{Catalogue, Product};
use mock_server::model::params::Params;
use mock_server::model::profile::Profiles;
use mock_server::model::sign::{self, SignOptions};
use mock_server::model::xml;
use mock_server::MockConfig;
use reqwest::Method;

use crate::support::{read, scenario, secret_of, Answer, Mock, TEST_WORLD};

/// A MOR mock on the test world with the `x3` profile's quirks, and any scenarios over it.
async fn x3(extra: &[&str]) -> Mock {
    let profile = Profiles::embedded()
        .get(Product::Mor, "x3")
        .expect("the x3 profile");
    let mut config = MockConfig::new(Product::Mor)
        .quirks(profile.patch())
        .scenario(scenario(TEST_WORLD));
    for yaml in extra {
        config = config.scenario(scenario(yaml));
    }
    Mock::start_with(config).await
}

/// `params` with `u` and a hash signed as the x3 profile's server checks it, with `secret`.
fn signed(method: &str, u: &str, params: &[(&str, &str)], secret: &str) -> Params {
    let mut p = Params::new();
    p.push("u", u);
    for (k, v) in params {
        p.push(*k, *v);
    }
    let quirks = &Profiles::embedded()
        .get(Product::Mor, "x3")
        .expect("x3")
        .quirks;
    let m = Catalogue::embedded()
        .method(Product::Mor, method)
        .unwrap_or_else(|| panic!("{method} is in the catalogue"));
    let opts = SignOptions::from_quirks(quirks, method, (0, 86_399));
    p.push("hash", sign::sign(m, &p, u == "admin", secret, &opts));
    p
}

/// The name the x3 profile's server answers to for `method` (X3's action names: `user_details`
/// for user_details_get); a name of no method as it is.
fn x3_name(method: &str) -> String {
    let quirks = &Profiles::embedded()
        .get(Product::Mor, "x3")
        .expect("x3")
        .quirks;
    match Catalogue::embedded().method(Product::Mor, method) {
        Some(m) => quirks.name_to_send(m, method).to_string(),
        None => method.to_string(),
    }
}

/// POST `method` (by the name X3 answers to) as `u` signed with `u`'s secret (the admin's for
/// an unknown `u`).
async fn post(mock: &Mock, method: &str, u: &str, params: &[(&str, &str)]) -> Answer {
    let p = signed(method, u, params, secret_of(u));
    mock.send(Method::POST, &x3_name(method), &p).await
}

/// POST `method` as `u` with a hash that cannot match.
async fn post_wrong_hash(mock: &Mock, method: &str, u: &str, params: &[(&str, &str)]) -> Answer {
    let mut p = Params::new();
    p.push("u", u);
    for (k, v) in params {
        p.push(*k, *v);
    }
    p.push("hash", "0".repeat(40));
    mock.send(Method::POST, &x3_name(method), &p).await
}

/// The element path from the root down to the first `<error>`, and its text.
fn error_path(a: &Answer) -> (String, String) {
    fn go(el: &xml::Element, path: &mut Vec<String>) -> Option<String> {
        path.push(el.name.clone());
        if el.name == "error" {
            return Some(el.text_content().trim().to_string());
        }
        for c in el.elements() {
            if let Some(t) = go(c, path) {
                return Some(t);
            }
        }
        path.pop();
        None
    }
    let doc = xml::parse(&a.body).unwrap_or_else(|e| panic!("not XML ({e}): {}", a.body));
    let mut path = Vec::new();
    let text = go(&doc.root, &mut path).unwrap_or_else(|| panic!("no <error>: {}", a.body));
    (path.join("/"), text)
}

/// X3-FACTS 1 (C 15-21, 4325-4340): the hash filter runs before the caller lookup for
/// user_details, get_tariff, user_balance_change, wholesale_tariff, device_list and
/// user_calls_get, so an unknown `u` with a wrong hash hears `Incorrect hash`; logout,
/// create_payment and payments_list look the caller up first and answer `Bad login` in the
/// filter's `<status>` root.
#[tokio::test]
async fn x3_orders_the_login_and_hash_checks_per_method() {
    let mock = x3(&[]).await;
    for method in [
        "user_details_get",
        "tariff_rates_get",
        "user_balance_update",
        "tariff_wholesale_update",
        "devices_get",
        "user_calls_get",
    ] {
        let a = post_wrong_hash(&mock, method, "nobody", &[("test", "1")]).await;
        assert_eq!(
            a.error().as_deref(),
            Some("Incorrect hash"),
            "{method}: {}",
            a.body
        );
    }
    for method in ["payments_get", "payment_create", "user_logout"] {
        let a = post_wrong_hash(&mock, method, "nobody", &[("test", "1")]).await;
        assert_eq!(
            error_path(&a),
            ("status/error".to_string(), "Bad login".to_string()),
            "{method}: {}",
            a.body
        );
    }
    mock.stop().await;
}

/// X3-FACTS 3.4 (C 590-687): user_details writes its errors as bare `<error>` roots after the
/// declaration, `Bad login` (checked after the hash) and `User was not found`.
#[tokio::test]
async fn x3_user_details_errors_are_bare_roots() {
    let mock = x3(&[]).await;
    let a = post(&mock, "user_details_get", "nobody", &[]).await;
    assert_eq!(
        error_path(&a),
        ("error".into(), "Bad login".into()),
        "{}",
        a.body
    );
    assert!(
        a.body
            .starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#),
        "{}",
        a.body
    );
    let a = post(&mock, "user_details_get", "admin", &[("user_id", "999")]).await;
    assert_eq!(
        error_path(&a),
        ("error".into(), "User was not found".into()),
        "{}",
        a.body
    );
    mock.stop().await;
}

/// X3-FACTS 3.5 (C 1015-1178): get_tariff appends its errors as `<status><error>` inside its
/// `<page>`: `Bad login` (after the hash) and `No tariff found`.
#[tokio::test]
async fn x3_get_tariff_errors_are_inside_page_status() {
    let mock = x3(&[]).await;
    let a = post(&mock, "tariff_rates_get", "nobody", &[("test", "1")]).await;
    assert_eq!(
        error_path(&a),
        ("page/status/error".into(), "Bad login".into()),
        "{}",
        a.body
    );
    let a = post(
        &mock,
        "tariff_rates_get",
        "admin",
        &[("tariff_id", "999"), ("test", "1")],
    )
    .await;
    assert_eq!(
        error_path(&a),
        ("page/status/error".into(), "No tariff found".into()),
        "{}",
        a.body
    );
    mock.stop().await;
}

/// X3-FACTS 3.6 (C 1404-1519): user_calls_get checks the hash, then the caller, inline, and
/// answers both as bare roots.
#[tokio::test]
async fn x3_user_calls_get_errors_are_bare_roots() {
    let mock = x3(&[]).await;
    let a = post_wrong_hash(&mock, "user_calls_get", "nobody", &[]).await;
    assert_eq!(
        error_path(&a),
        ("error".into(), "Incorrect hash".into()),
        "{}",
        a.body
    );
    let a = post(&mock, "user_calls_get", "nobody", &[]).await;
    assert_eq!(
        error_path(&a),
        ("error".into(), "Access Denied".into()),
        "{}",
        a.body
    );
    mock.stop().await;
}

/// X3-FACTS 3.7 and 3.8 (C 13, 1675-1713): simple_balance and balance are exempt from the GET
/// filter and check no hash and no login, so a pasted link with GET off, no `u` and a wrong hash
/// is answered.
#[tokio::test]
async fn x3_simple_balance_and_balance_answer_get_without_hash_or_login() {
    let mock = x3(&[]).await;
    let get = |method: &'static str, params: &'static [(&'static str, &'static str)]| {
        let mut p = Params::new();
        for (k, v) in params {
            p.push(*k, *v);
        }
        let mock = &mock;
        async move { mock.send(Method::GET, &x3_name(method), &p).await }
    };
    for params in [
        &[("id", "aliceuh")][..],
        &[("id", "aliceuh"), ("hash", "0000")][..],
    ] {
        let a = get("user_simple_balance_get", params).await;
        assert_eq!(a.body.trim(), "12.5000", "{params:?}: {}", a.body);
    }
    for params in [
        &[("username", "alice")][..],
        &[("username", "alice"), ("u", "nobody"), ("hash", "0000")][..],
    ] {
        let a = get("user_balance_get", params).await;
        assert!(a.is_success(), "{params:?}: {}", a.body);
        let doc = xml::parse(&a.body).expect("XML");
        assert_eq!(
            doc.root.at("balance").map(|b| b.text_content()),
            Some("12.5".to_string()),
            "{}",
            a.body
        );
    }
    // The GET gate still holds for the other methods.
    let a = get("user_details_get", &[("u", "admin")]).await;
    assert_eq!(
        a.error().as_deref(),
        Some("GET Requests are disabled"),
        "{}",
        a.body
    );
    mock.stop().await;
}

/// routes.rb (`:controller(/:action)`) and C 12-21: `/api/NAME` runs the action NAME, and X3's
/// actions carry the old names, so the current name user_details_get reaches `method_missing`
/// while user_details answers; with the quirk `served_names` reset to every name both answer.
#[tokio::test]
async fn x3_answers_only_to_its_own_action_names() {
    let mock = x3(&[]).await;
    for (current, old) in [
        ("user_details_get", "user_details"),
        ("payments_get", "payments_list"),
        ("devices_get", "device_list"),
        ("user_simple_balance_get", "simple_balance"),
    ] {
        let p = signed(current, "admin", &[("user_id", "2")], secret_of("admin"));
        let a = mock.send(Method::POST, current, &p).await;
        let doc = xml::parse(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
        assert_eq!(
            doc.root.at("type").map(|e| e.text_content()).as_deref(),
            Some("Undefined method"),
            "{current}: {}",
            a.body
        );
        assert_eq!(
            doc.root.at("name").map(|e| e.text_content()).as_deref(),
            Some(current),
            "{}",
            a.body
        );
        let a = mock.send(Method::POST, old, &p).await;
        assert!(
            !a.body.contains("Undefined method"),
            "{old} is X3's action: {}",
            a.body
        );
    }
    mock.stop().await;
    let mock = x3(&["version: 1\nquirks: { served_names: [] }\n"]).await;
    let p = signed(
        "user_details_get",
        "admin",
        &[("user_id", "2")],
        secret_of("admin"),
    );
    let a = mock.send(Method::POST, "user_details_get", &p).await;
    assert!(a.is_success(), "{}", a.body);
    mock.stop().await;
}

/// X3-FACTS 1 (C 28-36): an action the controller does not define reaches its `method_missing`
/// (the catch-all route and Rails 3.2's compatibility fallback), which answers HTTP 200
/// `<error><type>Undefined method</type><name>NAME</name></error>` with no XML declaration.
#[tokio::test]
async fn x3_answers_an_unknown_method_with_undefined_method() {
    let mock = x3(&[]).await;
    for name in ["no_such_method", "quickstat_get"] {
        let a = mock.send(Method::POST, name, &Params::new()).await;
        assert_eq!(a.status, 200, "{name}: {}", a.body);
        assert!(!a.body.trim_start().starts_with("<?xml"), "{}", a.body);
        let doc = xml::parse(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
        assert_eq!(doc.root.name, "error", "{}", a.body);
        let at = |p: &str| doc.root.at(p).map(|e| e.text_content());
        assert_eq!(
            at("type").as_deref(),
            Some("Undefined method"),
            "{}",
            a.body
        );
        assert_eq!(at("name").as_deref(), Some(name), "{}", a.body);
    }
    mock.stop().await;
}

/// X3-FACTS 3.6 (C 1400-1402): `user_calls` only redirects to `user_calls_get` with the same
/// parameters; the canonical name answers the calls itself.
#[tokio::test]
async fn x3_user_calls_redirects_to_user_calls_get() {
    let mock = x3(&[]).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let p = signed(
        "user_calls_get",
        "admin",
        &[("s_user", "6")],
        secret_of("admin"),
    );
    let r = client
        .post(mock.url(&format!("/billing/api/user_calls?{}", p.to_query())))
        .send()
        .await
        .expect("answered");
    assert!(r.status().is_redirection(), "{}", r.status());
    let to = r.headers()["location"].to_str().expect("text").to_string();
    assert_eq!(to, format!("/billing/api/user_calls_get?{}", p.to_query()));
    let a = mock.send(Method::POST, "user_calls_get", &p).await;
    assert!(a.is_success(), "{}", a.body);
    mock.stop().await;
}

/// The text of the element at `path` below the root, if any.
fn text_at(a: &Answer, path: &str) -> Option<String> {
    let doc = xml::parse(&a.body).unwrap_or_else(|e| panic!("not XML ({e}): {}", a.body));
    doc.root.at(path).map(|e| e.text_content())
}

/// X3-FACTS 3.12 (C 3224-3303): create_payment answers without `<confirmed>`; a user the caller
/// does not own, an unknown one included, is `Access Denied` inside `<page>`; with API payments
/// off it answers `Payments not allow from api` in `<page>` before looking at the caller's role.
#[tokio::test]
async fn x3_payment_create_answers_as_the_create_payment_action() {
    let mock = x3(&[]).await;
    let pay =
        |user_id: &'static str| [("user_id", user_id), ("p_currency", "USD"), ("amount", "1")];
    let a = post(&mock, "payment_create", "admin", &pay("6")).await;
    assert_eq!(
        text_at(&a, "response/status").as_deref(),
        Some("ok"),
        "{}",
        a.body
    );
    assert!(
        text_at(&a, "response/payment/payment_id").is_some(),
        "{}",
        a.body
    );
    assert_eq!(text_at(&a, "response/confirmed"), None, "{}", a.body);
    for user_id in ["999", "7"] {
        // 999: nobody; 7: bob, the reseller's user, not the admin's.
        let a = post(&mock, "payment_create", "admin", &pay(user_id)).await;
        assert_eq!(
            error_path(&a),
            ("page/error".into(), "Access Denied".into()),
            "user_id {user_id}: {}",
            a.body
        );
    }
    mock.stop().await;

    let off = "version: 1\nname: payments off\nsettings: { api_allow_payments: false }\n";
    let mock = x3(&[off]).await;
    for u in ["admin", "alice"] {
        let a = post(&mock, "payment_create", u, &pay("6")).await;
        assert_eq!(
            error_path(&a),
            ("page/error".into(), "Payments not allow from api".into()),
            "{u}: {}",
            a.body
        );
    }
    mock.stop().await;
}

/// X3-FACTS 3.11 (C 4039-4075): device_list answers plain XML with device_id and device_type
/// only, refuses a user the caller does not own (the admin too) with `Access Denied` in
/// `<page>`, answers `Device not found` for a user without devices and `You are not authorized
/// to view this page` to an accountant without `device_manage`.
#[tokio::test]
async fn x3_device_list_answers_as_the_device_list_action() {
    let devices = r#"version: 1
name: devices
world:
  devices:
    - { id: 61, user_id: 6, name: "61", device_type: SIP, ipaddr: 10.0.0.61, port: 5060 }
    - { id: 62, user_id: 6, name: "62", device_type: IAX2, ipaddr: 10.0.0.62, port: 4569, hidden: true }
    - { id: 71, user_id: 7, name: "71", device_type: SIP, ipaddr: 10.0.0.71, port: 5060 }
"#;
    let mock = x3(&[devices]).await;
    let a = post(&mock, "devices_get", "admin", &[("user_id", "6")]).await;
    assert!(
        a.header("content-type")
            .is_some_and(|c| !c.contains("gzip")),
        "{:?}",
        a.headers
    );
    let doc = xml::parse(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
    let list = doc
        .root
        .at("devices")
        .unwrap_or_else(|| panic!("{}", a.body));
    let shown: Vec<Vec<String>> = list
        .elements()
        .map(|d| d.elements().map(|e| e.name.clone()).collect())
        .collect();
    assert_eq!(
        shown,
        vec![vec!["device_id".to_string(), "device_type".to_string()]; 2],
        "{}",
        a.body
    );
    for (u, user_id, want) in [
        ("admin", "7", "Access Denied"),
        ("admin", "8", "Device not found"),
        ("acc", "6", "You are not authorized to view this page"),
    ] {
        let a = post(&mock, "devices_get", u, &[("user_id", user_id)]).await;
        assert_eq!(
            error_path(&a),
            ("page/error".into(), want.to_string()),
            "{u} {user_id}: {}",
            a.body
        );
    }
    mock.stop().await;
}

/// X3-FACTS 3.13: the X3 controller defines no action for exchange_rate_update,
/// device_details_get, quickstats_get or aggregate_get (read end to end), nor for users_get,
/// user_delete, device_update or tariffs_get, so every name of them reaches `method_missing` and
/// answers `Undefined method`, signed or not.
#[tokio::test]
async fn x3_answers_methods_it_does_not_implement_with_undefined_method() {
    let mock = x3(&[]).await;
    for name in [
        "exchange_rate_update",
        "device_details_get",
        "quickstats_get",
        "aggregate_get",
        "aggregates_get",
        "users_get",
        "user_delete",
        "device_update",
        "tariffs_get",
    ] {
        let a = post(&mock, name, "admin", &[]).await;
        assert_eq!(a.status, 200, "{name}: {}", a.body);
        let doc = xml::parse(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
        assert_eq!(doc.root.name, "error", "{name}: {}", a.body);
        assert_eq!(
            doc.root.at("type").map(|e| e.text_content()).as_deref(),
            Some("Undefined method"),
            "{name}: {}",
            a.body
        );
        assert_eq!(
            doc.root.at("name").map(|e| e.text_content()).as_deref(),
            Some(name),
            "{}",
            a.body
        );
    }
    mock.stop().await;
}

/// X3-FACTS 3.1 (C 40-88, app/models/action.rb `Action.disable_login_check`): a failed login
/// answers `Please wait 10 seconds before trying to login again` once the last three attempts
/// from the client's address, this one included, failed; a right password still logs in, and a
/// success among the last three brings `Login failed` back.
#[tokio::test]
async fn x3_login_asks_to_wait_after_three_failures_from_one_address() {
    let mock = x3(&[]).await;
    let message = |a: &Answer| text_at(a, "status_message").unwrap_or_default();
    let wrong = [("p", "wrong")];
    let mut seen = Vec::new();
    for _ in 0..4 {
        let a = post(&mock, "user_login", "alice", &wrong).await;
        assert_eq!(
            text_at(&a, "status").as_deref(),
            Some("failed"),
            "{}",
            a.body
        );
        seen.push(message(&a));
    }
    let wait = "Please wait 10 seconds before trying to login again";
    assert_eq!(seen, ["Login failed", "Login failed", wait, wait]);
    // Another address (127.0.0.2, also loopback) has its own history: the connection's peer
    // reaches the throttle.
    let other = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("a client");
    let p = signed("user_login", "alice", &wrong, secret_of("alice"));
    let url = format!(
        "{}/billing/api/{}?{}",
        mock.server.url(),
        x3_name("user_login"),
        p.to_query()
    );
    let a = read(other.post(url).send().await.expect("answered")).await;
    assert_eq!(message(&a), "Login failed", "{}", a.body);
    let a = post(&mock, "user_login", "alice", &[("p", "pw")]).await;
    assert_eq!(text_at(&a, "status").as_deref(), Some("ok"), "{}", a.body);
    let a = post(&mock, "user_login", "alice", &wrong).await;
    assert_eq!(message(&a), "Login failed", "{}", a.body);
    mock.stop().await;
}

/// X3-FACTS 1 (C 4232-4258, `send_xml_data`): every answer, errors included, is a file download
/// (`text/html`, `mor_api_response.html`; `text/xml`, `mor_api_response.xml` with the XML API
/// Extension, unwrapped) unless `test=1` renders it inline; get_tariff's is a zip archive of
/// `get_tariff_<time>.xml` named `/tmp/get_tariff_<time>.xml.zip`.
#[tokio::test]
async fn x3_sends_answers_as_downloads_and_get_tariff_as_a_zip_archive() {
    use std::io::Read as _;
    let mock = x3(&[]).await;
    let disposition = |a: &Answer| a.header("content-disposition").unwrap_or_default();
    for a in [
        post(&mock, "user_details_get", "admin", &[("user_id", "6")]).await,
        post_wrong_hash(&mock, "user_details_get", "admin", &[("user_id", "6")]).await,
    ] {
        assert_eq!(
            a.header("content-type").as_deref(),
            Some("text/html"),
            "{a:?}"
        );
        assert_eq!(
            disposition(&a),
            "attachment; filename=\"mor_api_response.html\"",
            "{a:?}"
        );
        assert!(xml::parse(&a.body).is_ok(), "{}", a.body);
    }
    let a = post(
        &mock,
        "user_details_get",
        "admin",
        &[("user_id", "6"), ("test", "1")],
    )
    .await;
    assert_eq!(
        a.header("content-type").as_deref(),
        Some("text/html; charset=utf-8"),
        "{a:?}"
    );
    assert_eq!(disposition(&a), "", "{a:?}");
    assert_eq!(text_at(&a, "userid").as_deref(), Some("6"), "{}", a.body);

    // get_tariff: the admin has no tariff in this world, so the archive holds the action's
    // No tariff found page.
    let p = signed("tariff_rates_get", "admin", &[], secret_of("admin"));
    let r = mock
        .client
        .post(mock.url(&format!("/billing/api/get_tariff?{}", p.to_query())))
        .send()
        .await
        .expect("answered");
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(header("content-type"), "application/zip");
    let disposition = header("content-disposition");
    let name = disposition
        .strip_prefix("attachment; filename=\"/tmp/")
        .and_then(|n| n.strip_suffix(".zip\""))
        .unwrap_or_else(|| panic!("{disposition}"))
        .to_string();
    let stamp = name
        .strip_prefix("get_tariff_")
        .and_then(|n| n.strip_suffix(".xml"))
        .unwrap_or_else(|| panic!("{name}"));
    assert!(stamp.bytes().all(|b| b.is_ascii_digit()), "{name}");
    let bytes = r.bytes().await.expect("body");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
    assert_eq!(archive.len(), 1);
    let mut file = archive.by_index(0).expect("one file");
    assert_eq!(file.name(), name);
    let mut text = String::new();
    file.read_to_string(&mut text).expect("inflates");
    let doc = xml::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(
        doc.root
            .at("status/error")
            .map(|e| e.text_content())
            .as_deref(),
        Some("No tariff found"),
        "{text}"
    );
    mock.stop().await;

    let ext = "version: 1\nname: extension\nsettings: { xml_extension: true }\n";
    let mock = x3(&[ext]).await;
    let a = post(&mock, "user_details_get", "admin", &[("user_id", "6")]).await;
    assert_eq!(
        a.header("content-type").as_deref(),
        Some("text/xml"),
        "{a:?}"
    );
    assert_eq!(
        a.header("content-disposition").as_deref(),
        Some("attachment; filename=\"mor_api_response.xml\"")
    );
    assert!(a.body.starts_with("<?xml"), "not wrapped: {}", a.body);
    mock.stop().await;
}

/// A retail tariff with three groups, one of them also a custom rate of carol (id 20, GBP),
/// and a wholesale tariff.
const RATES_WORLD: &str = r#"version: 1
name: retail tariff and custom rates
world:
  tariffs:
    - id: 20
      name: Retail T20
      purpose: user
      currency: EUR
      group_rates:
        - { group: Spain, group_type: MOB, bands: [ { price: "0.3", round_by: 60 } ] }
        - group: Latvia
          group_type: FIX
          bands:
            - { from: 4, price: "0.04", daytype: WD }
            - { from: 1, duration: 3, price: "0.05", daytype: WD }
        - { group: Latvia, group_type: MOB, bands: [ { price: "0.2" } ] }
  users:
    - id: 20
      username: carol
      role: user
      currency: GBP
      tariff_id: 20
      custom_rates:
        - { group: Latvia, group_type: MOB, bands: [ { price: "0.15", duration: 10 } ] }
"#;

/// get_tariff read inline (`test=1`) as `u`: its root element.
async fn get_tariff(mock: &Mock, u: &str, params: &[(&str, &str)]) -> xml::Element {
    let mut all = params.to_vec();
    all.push(("test", "1"));
    let a = post(mock, "tariff_rates_get", u, &all).await;
    xml::parse(&a.body)
        .unwrap_or_else(|e| panic!("not XML ({e}): {}", a.body))
        .root
}

/// The names of `el`'s child elements.
fn child_names(el: &xml::Element) -> Vec<String> {
    el.elements().map(|e| e.name.clone()).collect()
}

/// Each `<destination>` of a `<rates>` as `name type`.
fn rate_groups(rates: &xml::Element) -> Vec<String> {
    rates
        .elements()
        .map(|d| {
            let t = |p: &str| d.at(p).map(|e| e.text_content()).unwrap_or_default();
            format!(
                "{} {}",
                t("destination_group_name"),
                t("destination_group_type")
            )
        })
        .collect()
}

/// X3-FACTS 3.5 (C 1015-1178): with user_id (or no id) the user's custom rates come first as a
/// `Custom Rates` block (purpose user, the user's currency), then the tariff's own block in the
/// same `<page>`, leaving out the groups the custom block listed.
#[tokio::test]
async fn x3_get_tariff_answers_custom_rates_first_then_the_tariff_without_their_groups() {
    let mock = x3(&[RATES_WORLD]).await;
    for (u, params) in [("admin", vec![("user_id", "20")]), ("carol", vec![])] {
        let page = get_tariff(&mock, u, &params).await;
        assert_eq!(
            child_names(&page),
            [
                "pagename",
                "tariff_name",
                "purpose",
                "currency",
                "rates",
                "pagename",
                "tariff_name",
                "purpose",
                "currency",
                "rates"
            ],
            "{u}"
        );
        let texts: Vec<String> = page.elements().map(|e| e.text_content()).collect();
        assert_eq!(texts[..4], ["Tariff", "Custom Rates", "user", "GBP"], "{u}");
        assert_eq!(texts[5..9], ["Tariff", "Retail T20", "user", "EUR"], "{u}");
        let blocks: Vec<&xml::Element> = page.elements().filter(|e| e.name == "rates").collect();
        assert_eq!(rate_groups(blocks[0]), ["Latvia MOB"], "{u}");
        assert_eq!(rate_groups(blocks[1]), ["Latvia FIX", "Spain MOB"], "{u}");
    }
    // tariff_id alone names no user: no custom block, the tariff's Latvia MOB rate is there.
    let page = get_tariff(&mock, "admin", &[("tariff_id", "20")]).await;
    assert_eq!(
        page.at("tariff_name").map(|e| e.text_content()).as_deref(),
        Some("Retail T20")
    );
    assert_eq!(
        rate_groups(page.at("rates").expect("rates")),
        ["Latvia FIX", "Latvia MOB", "Spain MOB"]
    );
    mock.stop().await;
}

/// X3-FACTS 3.5 (C 1015-1178; app/models/tariff.rb `tariffs_api_retail`): a retail tariff is
/// grouped by destination group (name, then type), each `<rate>` band ending with `daytype`,
/// `from`, the bands of a group by `from`.
#[tokio::test]
async fn x3_get_tariff_answers_a_retail_tariff_grouped_by_destination_group() {
    let mock = x3(&[RATES_WORLD]).await;
    let page = get_tariff(&mock, "admin", &[("tariff_id", "20")]).await;
    let rates = page.at("rates").expect("rates");
    assert_eq!(
        rate_groups(rates),
        ["Latvia FIX", "Latvia MOB", "Spain MOB"]
    );
    let latvia = rates.elements().next().expect("a group");
    assert_eq!(
        child_names(latvia),
        [
            "destination_group_name",
            "destination_group_type",
            "rate",
            "rate"
        ]
    );
    let band = latvia.find("rate").expect("a band");
    assert_eq!(
        child_names(band),
        [
            "duration",
            "type",
            "round_by",
            "tariff_rate",
            "start_time",
            "end_time",
            "daytype",
            "from"
        ]
    );
    let froms: Vec<String> = latvia
        .elements()
        .filter(|e| e.name == "rate")
        .map(|r| r.at("from").map(|e| e.text_content()).unwrap_or_default())
        .collect();
    assert_eq!(froms, ["1", "4"]);
    mock.stop().await;
}

/// X3-FACTS 3.5 (C 1015-1178): a band's duration of -1 (to the end of the call) is answered
/// `Infinity`, in the tariff's block and in the Custom Rates block; other durations as stored.
#[tokio::test]
async fn x3_get_tariff_answers_a_duration_of_minus_one_as_infinity() {
    let mock = x3(&[RATES_WORLD]).await;
    let page = get_tariff(&mock, "admin", &[("tariff_id", "20")]).await;
    let durations: Vec<String> = page
        .at("rates")
        .expect("rates")
        .elements()
        .flat_map(|d| d.elements().filter(|e| e.name == "rate"))
        .map(|r| {
            r.at("duration")
                .map(|e| e.text_content())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(durations, ["3", "Infinity", "Infinity", "Infinity"]);
    let page = get_tariff(&mock, "admin", &[("user_id", "20")]).await;
    assert_eq!(
        page.at("rates/destination/rate/duration")
            .map(|e| e.text_content())
            .as_deref(),
        Some("10"),
        "the custom band lasts 10 minutes"
    );
    let custom = "version: 1\nname: infinite custom\nworld:\n  users:\n    - { id: 21, username: dave, role: user, custom_rates: [ { group: Spain, group_type: MOB, bands: [ { price: \"0.1\" } ] } ] }\n";
    mock.stop().await;
    let mock = x3(&[RATES_WORLD, custom]).await;
    let page = get_tariff(&mock, "admin", &[("user_id", "21")]).await;
    assert_eq!(
        page.at("rates/destination/rate/duration")
            .map(|e| e.text_content())
            .as_deref(),
        Some("Infinity")
    );
    mock.stop().await;
}

/// The quirk reset to the wiki's position, layered over the x3 profile (scenario quirks win).
fn reset(quirk: &str) -> String {
    format!("version: 1\nquirks: {{ {quirk}: wiki }}\n")
}

/// X3-FACTS 3.1 (C 16-21, 40-88, 4273-4279): login is not in the hash filter's list, so a
/// wrong hash is ignored, and the password lookup does not look at `blocked`, so a blocked user
/// logs in. With the quirk `login_answers` reset to the wiki's position both fail.
#[tokio::test]
async fn x3_login_checks_no_hash_and_lets_a_blocked_user_in() {
    let status = |a: &Answer| text_at(a, "status").unwrap_or_else(|| a.body.clone());
    let mock = x3(&[]).await;
    let a = post_wrong_hash(&mock, "user_login", "alice", &[("p", "pw")]).await;
    assert_eq!(status(&a), "ok", "{}", a.body);
    assert_eq!(text_at(&a, "user_id").as_deref(), Some("6"), "{}", a.body);
    // The test world's blocked user has the empty password.
    let a = post(&mock, "user_login", "blocked", &[("p", "")]).await;
    assert_eq!(status(&a), "ok", "{}", a.body);
    let a = post_wrong_hash(&mock, "user_login", "alice", &[("p", "wrong")]).await;
    assert_eq!(status(&a), "failed", "{}", a.body);
    mock.stop().await;

    let wiki = reset("login_answers");
    let mock = x3(&[&wiki]).await;
    let a = post_wrong_hash(&mock, "user_login", "alice", &[("p", "pw")]).await;
    assert_eq!(error_path(&a).1, "Incorrect hash", "{}", a.body);
    let a = post(&mock, "user_login", "blocked", &[("p", "")]).await;
    assert_eq!(status(&a), "failed", "{}", a.body);
    mock.stop().await;
}

/// Today's calls of alice (id 6), for user_calls_get's answer shape.
const CALLS: &str = r#"version: 1
name: alice's calls
world:
  base: empty
  users:
    - { id: 6, username: alice, role: user, password: pw }
  destinations:
    - { prefix: "3706", name: Lithuania mobile, group: Lithuania MOB, direction: Lithuania }
  calls:
    - { id: 1, calldate: "today 09:00:00", src: "1001", dst: "37060000001", prefix: "3706", user_id: 6, disposition: ANSWERED, hangupcause: 16, billsec: 60, duration: 62 }
    - { id: 2, calldate: "today 10:00:00", src: "1001", dst: "37060000002", prefix: "3706", user_id: 6, disposition: BUSY, hangupcause: 17, duration: 5 }
"#;

/// X3-FACTS 3.6 (C 1404-1519): every call carries `<timezone>` right after `calldate2` (Rails'
/// default zone, printed `(GMT+00:00) UTC`); calls_stat shows `show_destination` when
/// `s_destination` is sent and `show_hgc` as the cause id; with no matching call there is no
/// `<calls>` element at all. With the quirk `user_calls_answers` reset none of this holds.
#[tokio::test]
async fn x3_user_calls_get_shows_the_timezone_and_the_destination_filter() {
    let parse = |a: &Answer| xml::parse(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
    let names = |c: &xml::Element| c.elements().map(|e| e.name.clone()).collect::<Vec<_>>();
    let mock = x3(&[CALLS]).await;
    let a = post(
        &mock,
        "user_calls_get",
        "admin",
        &[("s_user", "6"), ("s_destination", "3706")],
    )
    .await;
    let doc = parse(&a);
    let calls: Vec<_> = doc
        .root
        .at("calls_stat/calls")
        .expect("calls")
        .elements()
        .collect();
    assert_eq!(calls.len(), 2, "{}", a.body);
    for c in &calls {
        assert_eq!(names(c)[..2], ["calldate2", "timezone"], "{}", a.body);
        assert_eq!(
            c.find("timezone").map(|t| t.text_content()).as_deref(),
            Some("(GMT+00:00) UTC")
        );
    }
    assert_eq!(
        text_at(&a, "calls_stat/show_destination").as_deref(),
        Some("3706"),
        "{}",
        a.body
    );
    assert_eq!(
        text_at(&a, "calls_stat/show_hgc").as_deref(),
        Some("all"),
        "{}",
        a.body
    );
    let a = post(
        &mock,
        "user_calls_get",
        "admin",
        &[("s_user", "6"), ("s_hgc", "016")],
    )
    .await;
    assert_eq!(
        text_at(&a, "calls_stat/show_hgc").as_deref(),
        Some("16"),
        "{}",
        a.body
    );
    assert_eq!(
        text_at(&a, "calls_stat/show_destination"),
        None,
        "{}",
        a.body
    );
    let a = post(
        &mock,
        "user_calls_get",
        "admin",
        &[("s_user", "6"), ("s_destination", "99")],
    )
    .await;
    assert_eq!(
        text_at(&a, "total_calls").as_deref(),
        Some("0"),
        "{}",
        a.body
    );
    assert!(
        parse(&a).root.at("calls_stat/calls").is_none(),
        "{}",
        a.body
    );
    mock.stop().await;

    let wiki = reset("user_calls_answers");
    let mock = x3(&[CALLS, &wiki]).await;
    let a = post(
        &mock,
        "user_calls_get",
        "admin",
        &[("s_user", "6"), ("s_destination", "3706")],
    )
    .await;
    let doc = parse(&a);
    let call = doc.root.at("calls_stat/calls/call").expect("a call");
    assert!(call.find("timezone").is_none(), "{}", a.body);
    assert_eq!(
        text_at(&a, "calls_stat/show_destination"),
        None,
        "{}",
        a.body
    );
    let a = post(
        &mock,
        "user_calls_get",
        "admin",
        &[("s_user", "6"), ("s_destination", "99")],
    )
    .await;
    assert!(
        parse(&a).root.at("calls_stat/calls").is_some(),
        "{}",
        a.body
    );
    mock.stop().await;
}

/// X3-FACTS 3.5 (C 1015-1178): get_tariff checks no ownership - any caller reads any user's
/// tariff and custom rates by user_id - and a simple user's tariff_id is ignored (his own
/// tariff answers); the page lets a user read only his own.
#[tokio::test]
async fn x3_get_tariff_reads_any_users_tariff_without_an_ownership_check() {
    let mock = x3(&[RATES_WORLD]).await;
    // alice (6), a simple user of the admin, reads carol's (20) tariff and custom rates.
    let page = get_tariff(&mock, "alice", &[("user_id", "20")]).await;
    let names: Vec<String> = page
        .elements()
        .filter(|e| e.name == "tariff_name")
        .map(|e| e.text_content())
        .collect();
    assert_eq!(names, ["Custom Rates", "Retail T20"]);
    // carol's tariff_id is ignored: her own tariff, without her custom rates.
    let page = get_tariff(&mock, "carol", &[("tariff_id", "999")]).await;
    assert_eq!(
        page.at("tariff_name").map(|e| e.text_content()).as_deref(),
        Some("Retail T20")
    );
    mock.stop().await;
}
