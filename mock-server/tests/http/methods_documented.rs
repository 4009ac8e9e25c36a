//! Methods catalogued only (catalogue `sample`, or `inferred` where no sample is documented),
//! over real HTTP on the generated default world: each passes the protocol checks (known method,
//! verb, login, hash, role) and then answers its documented sample as the page shows it, or its
//! inferred shape with placeholder values, never silently and never one for the other: a
//! response header, the journal's `answer` and, under `--explain`, the explain header say which.

use mock_server::model::catalogue::{Catalogue, Method, Product, Role};
use mock_server::model::params::Params;
use mock_server::model::sign::{self, SignOptions};
use mock_server::model::xml;
use mock_server::MockConfig;

use std::io::Read;

use crate::support::{Answer, Mock};

/// Callers of the default worlds: username, role, the secret they sign with.
fn callers(product: Product) -> Vec<(&'static str, Role, &'static str)> {
    let mut c = vec![
        ("admin", Role::Admin, "secret"),
        ("user1", Role::User, "secret"),
    ];
    match product {
        Product::Mor => c.extend([
            ("reseller", Role::Reseller, "reseller_secret"),
            ("reseller_pro", Role::ResellerPro, "reseller_pro_secret"),
            ("accountant", Role::Accountant, "secret"),
        ]),
        Product::M4 => c.push(("manager", Role::Manager, "secret")),
    }
    c
}

/// `u` and a hash signed from the catalogue (with `hash` replaced when `digest` is given).
fn signed(m: &Method, u: &str, secret: &str, digest: Option<&str>) -> Params {
    let mut p = Params::new().with("u", u);
    let d = sign::sign(m, &p, u == "admin", secret, &SignOptions::default());
    p.push("hash", digest.unwrap_or(&d));
    p
}

/// Send, unpacking a gzipped body (cli_info_get's answer is gzipped XML).
async fn send(mock: &Mock, verb: reqwest::Method, method: &str, p: &Params) -> Answer {
    let url = format!(
        "{}/billing/api/{method}?{}",
        mock.server.url(),
        p.to_query()
    );
    let r = mock
        .client
        .request(verb, url)
        .send()
        .await
        .expect("answered");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.expect("body");
    let body = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .expect("gzip body");
        s
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Answer {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn every_method_catalogued_only_answers_its_documented_sample_after_the_protocol_checks() {
    let cat = Catalogue::embedded();
    let mut checked = 0;
    let mut inferred = 0;
    for product in Product::ALL {
        let documented: Vec<&Method> = cat
            .product(product)
            .methods()
            .iter()
            .filter(|m| m.is_catalogued_only())
            .collect();
        let mock = Mock::start_with(MockConfig::new(product).explain(true)).await;
        for m in &documented {
            let allowed = |role: Role| {
                m.access_for(role)
                    .is_some_and(|a| a.permission.is_none() || role == Role::Admin)
            };
            let (u, _, secret) = callers(product)
                .into_iter()
                .find(|(_, r, _)| allowed(*r))
                .unwrap_or_else(|| panic!("{product} {}: no caller of the default world", m.name));

            // Signed as a caller it allows: the sample, marked.
            let ok = send(
                &mock,
                reqwest::Method::POST,
                &m.name,
                &signed(m, u, secret, None),
            )
            .await;
            assert_eq!(ok.status, 200, "{product} {}: {}", m.name, ok.body);
            let explain = ok.header("x-mor-mock-explain").unwrap_or_default();
            match (&m.sample, &m.inferred) {
                (Some(sample), _) => {
                    assert_eq!(
                        xml::canonical(&ok.body).unwrap_or_else(|e| panic!("{}: {e}", m.name)),
                        xml::canonical(&sample.answer).expect("the sample parses"),
                        "{product} {} answered something else than its sample",
                        m.name
                    );
                    assert_eq!(
                        ok.header("x-mor-mock-answer").as_deref(),
                        Some("documented-sample"),
                        "{product} {}",
                        m.name
                    );
                    assert!(
                        explain.contains("documented sample") && explain.contains(&sample.source),
                        "{product} {}: explain header {explain:?}",
                        m.name
                    );
                }
                (None, Some(shape)) => {
                    // The shape's elements in order, every placeholder filled with a value of
                    // its type, the fixed texts as written.
                    let expected = xml::parse(&shape.shape).expect("the shape parses");
                    let actual = xml::parse(&ok.body)
                        .unwrap_or_else(|e| panic!("{product} {}: {e}", m.name));
                    assert_eq!(
                        xml::diff(&expected.root, &actual.root, xml::DiffMode::Exact),
                        None,
                        "{product} {} answered something else than its inferred shape: {}",
                        m.name,
                        ok.body
                    );
                    assert!(!ok.body.contains("{{"), "{product} {}: {}", m.name, ok.body);
                    assert_eq!(
                        ok.header("x-mor-mock-answer").as_deref(),
                        Some("sample-shape"),
                        "{product} {}: an inferred shape is never a documented sample",
                        m.name
                    );
                    assert!(
                        explain.contains("inferred shape, not a documented sample")
                            && explain.contains(&shape.source),
                        "{product} {}: explain header {explain:?}",
                        m.name
                    );
                    inferred += 1;
                }
                (None, None) => unreachable!("filtered: catalogued only"),
            }
            // Every alias answers the same.
            for alias in &m.aliases {
                let a = send(
                    &mock,
                    reqwest::Method::POST,
                    alias,
                    &signed(m, u, secret, None),
                )
                .await;
                assert_eq!(a.body, ok.body, "{product} alias {alias}");
            }

            // The protocol checks come first, and their refusals are not marked.
            let zeros = "0".repeat(40);
            let bad = signed(m, u, secret, Some(&zeros));
            let refused = send(&mock, reqwest::Method::POST, &m.name, &bad).await;
            assert_eq!(
                refused.error().as_deref(),
                Some("Incorrect hash"),
                "{product} {}",
                m.name
            );
            assert!(refused.header("x-mor-mock-answer").is_none());
            let get = send(
                &mock,
                reqwest::Method::GET,
                &m.name,
                &signed(m, u, secret, None),
            )
            .await;
            assert_eq!(
                get.error().as_deref(),
                Some("GET Requests are disabled"),
                "{product} {}",
                m.name
            );
            let nobody = Params::new().with("u", "nobody_at_all");
            let unknown = send(&mock, reqwest::Method::POST, &m.name, &nobody).await;
            let expected = m.bad_login_error.as_deref().unwrap_or("Bad login");
            assert_eq!(
                unknown.error().as_deref(),
                Some(expected),
                "{product} {}",
                m.name
            );
            if let Some((u, _, secret)) = callers(product)
                .into_iter()
                .find(|(_, r, _)| m.access_for(*r).is_none())
            {
                let denied = send(
                    &mock,
                    reqwest::Method::POST,
                    &m.name,
                    &signed(m, u, secret, None),
                )
                .await;
                assert_eq!(
                    denied.error().as_deref(),
                    Some("Access Denied"),
                    "{product} {} as {u}",
                    m.name
                );
            }
            checked += 1;
        }

        // The journal says which answers were the documented samples, and from where.
        let journal = mock.admin_get("journal").await;
        let entries = journal.as_array().expect("journal entries");
        for m in &documented {
            let said = match (&m.sample, &m.inferred) {
                (Some(s), _) => format!("documented sample ({})", s.source),
                (None, Some(i)) => format!(
                    "inferred shape, not a documented sample (INF: {}), placeholders filled",
                    i.source
                ),
                (None, None) => unreachable!("filtered: catalogued only"),
            };
            let answers: Vec<&str> = entries
                .iter()
                .filter(|e| e["method"] == m.name.as_str())
                .filter_map(|e| e["answer"].as_str())
                .collect();
            assert!(
                !answers.is_empty() && answers.iter().all(|a| *a == said),
                "{product} {}: journal answers {answers:?}",
                m.name
            );
            let refusals = entries
                .iter()
                .filter(|e| e["method"] == m.name.as_str() && e["outcome"] != "ok")
                .filter(|e| e.get("answer").is_some())
                .count();
            assert_eq!(
                refusals, 0,
                "{product} {}: a refusal marked as a sample",
                m.name
            );
        }
        mock.stop().await;
    }
    assert!(checked >= 40, "only {checked} methods catalogued only");
    assert!(inferred >= 1, "no method catalogued with an inferred shape");
}

#[tokio::test]
async fn a_method_catalogued_only_is_answered_from_its_sample_without_explain_too() {
    let cat = Catalogue::embedded();
    let m = cat
        .product(Product::Mor)
        .methods()
        .iter()
        .find(|m| m.is_documented_sample() && m.access_for(Role::Admin).is_some())
        .expect("a MOR method catalogued only that the admin may call");
    let mock = Mock::start_with(MockConfig::new(Product::Mor)).await;
    let a = send(
        &mock,
        reqwest::Method::POST,
        &m.name,
        &signed(m, "admin", "secret", None),
    )
    .await;
    assert_eq!(
        a.header("x-mor-mock-answer").as_deref(),
        Some("documented-sample")
    );
    assert!(a.header("x-mor-mock-explain").is_none(), "{:?}", a.headers);
    mock.stop().await;
}
