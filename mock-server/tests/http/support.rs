//! Helpers shared by the integration tests: start a mock on `127.0.0.1:0` with a small known
//! world, sign requests from the catalogue, send them with reqwest, and read the answers.

#![allow(dead_code)]

use std::path::Path;

use mock_server::model::catalogue::{Catalogue, Product};
use mock_server::model::params::Params;
use mock_server::model::scenario::Scenario;
use mock_server::model::sign::{self, SignOptions};
use mock_server::model::xml;
use mock_server::{MockConfig, MockServer};

/// The admin's API secret in every test world.
pub const SECRET: &str = "secret";

/// A small world with one user of each kind the gating tests need (ids fixed, secrets known).
pub const TEST_WORLD: &str = r#"version: 1
name: test world
world:
  base: empty
  users:
    - { id: 2, username: mgr, role: manager }
    - { id: 3, username: mgr_qs, role: manager, permissions: [quick_stats, currency_management] }
    - { id: 4, username: res, role: reseller, api_secret: rsecret, uniquehash: resuh }
    - { id: 5, username: res_nohash, role: reseller, api_secret: r2secret, hash_check_disabled: true }
    - { id: 6, username: alice, role: user, password: pw, uniquehash: aliceuh, balance: "12.5" }
    - { id: 7, username: bob, role: user, owner_id: 4, uniquehash: bobuh }
    - { id: 8, username: blocked, role: user, blocked: true }
    - { id: 9, username: acc, role: accountant }
"#;

/// The secret each test-world user signs with (the owner's, as the default quirk says).
pub fn secret_of(u: &str) -> &'static str {
    match u {
        "res" | "bob" => "rsecret",
        "res_nohash" => "r2secret",
        _ => SECRET,
    }
}

/// Parse a scenario from YAML text (panics with file:line on a bad one: tests only).
pub fn scenario(yaml: &str) -> Scenario {
    model_scenario(yaml)
}

fn model_scenario(yaml: &str) -> Scenario {
    mock_server::model::scenario::load_str(yaml, Path::new("test.yaml"), Catalogue::embedded())
        .unwrap_or_else(|e| panic!("test scenario: {e}"))
        .scenario
}

/// A running mock and a client for it.
pub struct Mock {
    /// The server.
    pub server: MockServer,
    /// Its product.
    pub product: Product,
    /// A keep-alive client.
    pub client: reqwest::Client,
}

/// An answer as the tests see it.
#[derive(Debug)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body text.
    pub body: String,
}

impl Answer {
    /// The error text: an `<error>` anywhere (its text or its `<message>`), or a plain-text body
    /// that is not a number.
    pub fn error(&self) -> Option<String> {
        match xml::parse(&self.body) {
            Ok(doc) => find_error(&doc.root),
            Err(_) => {
                let t = self.body.trim();
                (!t.is_empty() && t.parse::<f64>().is_err()).then(|| t.to_string())
            }
        }
    }

    /// The root element's name (None for a non-XML body).
    pub fn root(&self) -> Option<String> {
        xml::parse(&self.body).ok().map(|d| d.root.name)
    }

    /// Whether the answer is not an error.
    pub fn is_success(&self) -> bool {
        self.error().is_none()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

fn find_error(el: &xml::Element) -> Option<String> {
    if el.name == "error" {
        return Some(match el.find("message") {
            Some(m) => m.text_content().trim().to_string(),
            None => el.text_content().trim().to_string(),
        });
    }
    if el.name == "action" && el.find("status").map(|s| s.text_content()) == Some("failed".into()) {
        return Some(
            el.find("status_message")
                .map(|m| m.text_content())
                .unwrap_or_default(),
        );
    }
    el.elements().find_map(find_error)
}

impl Mock {
    /// A mock of `product` on the test world.
    pub async fn start(product: Product) -> Mock {
        Mock::start_with(MockConfig::new(product).scenario(scenario(TEST_WORLD))).await
    }

    /// A mock of `product` on the test world with more scenarios laid over it.
    pub async fn start_over(product: Product, extra: &[&str]) -> Mock {
        let mut config = MockConfig::new(product).scenario(scenario(TEST_WORLD));
        for yaml in extra {
            config = config.scenario(scenario(yaml));
        }
        Mock::start_with(config).await
    }

    /// A mock from a full configuration.
    pub async fn start_with(config: MockConfig) -> Mock {
        let product = config.product;
        let server = MockServer::start(config).await.expect("mock starts");
        Mock {
            server,
            product,
            client: reqwest::Client::new(),
        }
    }

    /// Stop the server.
    pub async fn stop(self) {
        self.server.shutdown().await;
    }

    /// `BASE/path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    /// Parameters with `u` (if any) and a hash signed with `secret` from the catalogue.
    pub fn signed(
        &self,
        method: &str,
        u: Option<&str>,
        params: &[(&str, &str)],
        secret: &str,
    ) -> Params {
        let mut p = Params::new();
        if let Some(u) = u {
            p.push("u", u);
        }
        for (k, v) in params {
            p.push(*k, *v);
        }
        let m = Catalogue::embedded()
            .method(self.product, method)
            .unwrap_or_else(|| panic!("{method} is in the catalogue"));
        let digest = sign::sign(m, &p, u == Some("admin"), secret, &SignOptions::default());
        p.push("hash", digest);
        p
    }

    /// Send `params` in the query string of a request with this verb.
    pub async fn send(&self, verb: reqwest::Method, method: &str, params: &Params) -> Answer {
        let url = format!(
            "{}/billing/api/{method}?{}",
            self.server.url(),
            params.to_query()
        );
        let r = self
            .client
            .request(verb, url)
            .send()
            .await
            .expect("request answered");
        read(r).await
    }

    /// POST `method` as `u`, signed with `u`'s secret.
    pub async fn post(&self, method: &str, u: &str, params: &[(&str, &str)]) -> Answer {
        let p = self.signed(method, Some(u), params, secret_of(u));
        self.send(reqwest::Method::POST, method, &p).await
    }

    /// POST a raw request builder's result.
    pub async fn raw(&self, req: reqwest::RequestBuilder) -> Answer {
        read(req.send().await.expect("request answered")).await
    }

    /// PATCH an admin endpoint with JSON.
    pub async fn admin_patch(&self, endpoint: &str, json: &str) -> Answer {
        let r = self
            .client
            .patch(self.url(&format!("/__admin/{endpoint}")))
            .header("content-type", "application/json")
            .body(json.to_string())
            .send()
            .await
            .expect("admin answered");
        read(r).await
    }

    /// GET an admin endpoint's JSON.
    pub async fn admin_get(&self, endpoint: &str) -> serde_json::Value {
        let r = self
            .client
            .get(self.url(&format!("/__admin/{endpoint}")))
            .send()
            .await
            .expect("admin answered");
        let text = r.text().await.expect("admin body");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("admin JSON: {e}: {text}"))
    }
}

/// Read a reqwest response into an [`Answer`].
pub async fn read(r: reqwest::Response) -> Answer {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.text().await.expect("body read");
    Answer {
        status,
        headers,
        body,
    }
}
