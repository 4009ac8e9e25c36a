//! `--proxy`: a client that behaves like the public PHP client (JSON body, an extra `p`, numbers
//! as JSON numbers) talks to a mock through a second mock started as a proxy. Correct requests
//! pass untouched, a request signed in the wrong order is forwarded and reported as the
//! client's fault with the explanation, and an answer missing an element is reported as the
//! server's.

use mock_server::model::catalogue::{Catalogue, Product};
use mock_server::model::params::Params;
use mock_server::model::sign::{self, SignOptions};
use mock_server::proxy::ProxyConfig;
use mock_server::MockConfig;

use crate::support::{read, scenario, Mock, SECRET, TEST_WORLD};

/// The deployment answers bob's balance without `<balance>` (a broken server).
const BROKEN_FOR_BOB: &str = r#"version: 1
name: a server that drops an element
overlay:
  responses:
    - match: { method: user_balance_get, params: { username: bob } }
      body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<page>\n  <amount>1</amount>\n</page>\n"
"#;

fn digest(method: &str, params: &[(&str, &str)]) -> String {
    let m = Catalogue::embedded()
        .method(Product::M4, method)
        .expect("in the catalogue");
    let mut p = Params::new();
    for (k, v) in params {
        p.push(*k, *v);
    }
    sign::sign(m, &p, true, SECRET, &SignOptions::default())
}

/// POST a PHP-client-style JSON body.
async fn php_post(
    client: &reqwest::Client,
    base: &str,
    method: &str,
    body: serde_json::Value,
) -> crate::support::Answer {
    let r = client
        .post(format!("{base}/billing/api/{method}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("answered");
    read(r).await
}

#[tokio::test]
async fn a_php_style_client_through_the_proxy_shows_whose_fault_each_deviation_is() {
    let deployment = Mock::start_over(Product::M4, &[BROKEN_FOR_BOB]).await;
    let recording = std::env::temp_dir().join(format!("mor-proxy-rec-{}", std::process::id()));
    let mut config = MockConfig::new(Product::M4).scenario(scenario(TEST_WORLD));
    config.proxy = Some(ProxyConfig {
        base: format!("{}/billing", deployment.server.url()),
        secret: Some(SECRET.into()),
        admin: "admin".into(),
        record: Some(recording.clone()),
    });
    let proxy = Mock::start_with(config).await;
    let client = reqwest::Client::new();
    let (direct, through) = (deployment.server.url(), proxy.server.url());

    // A correct read: the same bytes, status and type through the proxy as directly.
    let read_alice = serde_json::json!({
        "u": "admin", "p": "admin", "username": "alice",
        "hash": digest("user_balance_get", &[("username", "alice")]),
    });
    let a = php_post(&client, &direct, "user_balance_get", read_alice.clone()).await;
    let b = php_post(&client, &through, "user_balance_get", read_alice).await;
    assert!(a.is_success(), "{a:?}");
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    assert_eq!(a.header("content-type"), b.header("content-type"));

    // A correct write with numbers as JSON numbers: accepted, no deviation.
    let top_up = serde_json::json!({
        "u": "admin", "p": "admin", "user_id": 6, "balance": 5,
        "hash": digest("user_balance_update", &[("user_id", "6"), ("balance", "5")]),
    });
    let w = php_post(&client, &through, "user_balance_update", top_up).await;
    assert!(w.is_success(), "{w:?}");
    let report = proxy.admin_get("proxy").await;
    assert_eq!(report["exchanges"], 2, "{report}");
    assert_eq!(report["clean"], 2, "{report}");

    // Signed in the wrong order (balance before user_id): forwarded, refused by the deployment,
    // and reported as the client's fault with the explanation.
    let wrong_order = serde_json::json!({
        "u": "admin", "p": "admin", "user_id": 6, "balance": 5,
        "hash": sign::sha1_hex(&format!("5{}{SECRET}", 6)),
    });
    let r = php_post(&client, &through, "user_balance_update", wrong_order).await;
    assert_eq!(r.error().as_deref(), Some("Incorrect hash"), "{r:?}");

    // The M4 page's own example sends no `u` (quirk balance_get_requires_u off): not a fault.
    let no_u = serde_json::json!({
        "username": "alice",
        "hash": digest("user_balance_get", &[("username", "alice")]),
    });
    let n = php_post(&client, &through, "user_balance_get", no_u).await;
    assert!(n.is_success(), "{n:?}");

    // The deployment drops <balance> for bob: the server's fault.
    let read_bob = serde_json::json!({
        "u": "admin", "username": "bob",
        "hash": digest("user_balance_get", &[("username", "bob")]),
    });
    let bob = php_post(&client, &through, "user_balance_get", read_bob).await;
    assert!(
        bob.body.contains("<amount>1</amount>"),
        "returned unchanged: {bob:?}"
    );

    let report = proxy.admin_get("proxy").await;
    assert_eq!(report["exchanges"], 5, "{report}");
    assert_eq!(report["clean"], 3, "{report}");
    let deviations = report["deviations"].as_array().expect("deviations");
    assert_eq!(deviations.len(), 2, "{report}");
    assert_eq!(deviations[0]["side"], "client", "{report}");
    assert_eq!(deviations[0]["method"], "user_balance_update");
    let why = deviations[0]["what"].as_str().unwrap_or_default();
    assert!(
        why.contains("hash does not match") && why.contains("user_id, balance"),
        "the mock's explanation: {why}"
    );
    assert!(!why.replace("<secret>", "").contains(SECRET), "{why}");
    assert_eq!(deviations[1]["side"], "server", "{report}");
    assert_eq!(deviations[1]["method"], "user_balance_get");
    assert!(
        deviations[1]["what"]
            .as_str()
            .unwrap_or_default()
            .contains("balance"),
        "names the missing element: {report}"
    );
    assert_eq!(report["methods"]["user_balance_update"]["client"], 1);
    assert_eq!(report["methods"]["user_balance_get"]["server"], 1);

    // The journal says the same next to each exchange, without the password.
    let journal = proxy.admin_get("journal").await;
    let text = journal.to_string();
    assert!(
        text.contains("proxied; client: hash does not match"),
        "{text}"
    );
    assert!(text.contains("proxied; server: "), "{text}");
    assert!(
        !text.contains("\"p\",\"admin\""),
        "the password is redacted: {text}"
    );

    // What the proxy recorded serves the same answers offline, and holds no credential.
    proxy
        .server
        .shared()
        .proxy
        .as_ref()
        .expect("a proxy")
        .flush();
    let file = recording.join(mock_server::proxy::RECORDING);
    let text = std::fs::read_to_string(&file).expect("recording written");
    for digest in [
        digest("user_balance_get", &[("username", "alice")]),
        digest("user_balance_update", &[("user_id", "6"), ("balance", "5")]),
    ] {
        assert!(
            !text.contains(&digest),
            "a digest in the recording:\n{text}"
        );
    }
    assert!(
        !text.contains("p: admin") && !text.contains("hash:"),
        "{text}"
    );
    let offline = Mock::start_with(MockConfig::new(Product::M4).scenario(scenario(&text))).await;
    let replay = offline
        .raw(client.post(offline.url("/billing/api/user_balance_get?u=admin&username=alice")))
        .await;
    assert_eq!((replay.status, &replay.body), (a.status, &a.body));
    offline.stop().await;
    std::fs::remove_dir_all(&recording).expect("recording removed");

    proxy.stop().await;
    deployment.stop().await;
}
