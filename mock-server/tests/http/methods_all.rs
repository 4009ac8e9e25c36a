//! Every method of both products, under its canonical name and every alias, over real HTTP on
//! the generated default world (accounts: see `mock_server::generate`): answers are computed
//! from the world, writes are seen by later reads, and gzipped answers unpack to the XML.

use std::io::Read;

use mock_server::model::catalogue::{Catalogue, Product};
use mock_server::model::xml;
use mock_server::MockConfig;

use crate::support::{Answer, Mock, SECRET};

async fn default_mock(product: Product) -> Mock {
    Mock::start_with(MockConfig::new(product)).await
}

/// POST signed as `u` with `secret`, unpacking a gzip body when there is one.
async fn call(
    mock: &Mock,
    name: &str,
    u: Option<&str>,
    params: &[(&str, &str)],
    secret: &str,
) -> Answer {
    let canonical = Catalogue::embedded()
        .method(mock.product, name)
        .map_or_else(|| name.to_string(), |m| m.name.to_string());
    let p = mock.signed(&canonical, u, params, secret);
    let url = format!("{}/billing/api/{name}?{}", mock.server.url(), p.to_query());
    let r = mock.client.post(url).send().await.expect("answered");
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

fn at(a: &Answer, path: &str) -> String {
    let doc = xml::parse(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
    doc.root
        .at(path)
        .unwrap_or_else(|| panic!("no {path} in {}", a.body))
        .text_content()
}

/// A method, its parameters and the element that proves the answer was computed.
type Case = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
);

/// One successful request per method, with the element that proves it was computed.
fn cases(product: Product) -> Vec<Case> {
    let mor = product == Product::Mor;
    vec![
        ("user_balance_get", vec![("username", "user1")], "balance"),
        ("user_calls_get", vec![("s_user", "1")], "total_calls"),
        (
            "exchange_rate_update",
            vec![("currency", "AMD"), ("rate", "45.5")],
            "status/success",
        ),
        (
            "devices_get",
            vec![("user_id", "1")],
            "devices/device/device_id",
        ),
        (
            "device_details_get",
            vec![("device_id", "1")],
            if mor {
                "context"
            } else {
                "status/devices/device/id"
            },
        ),
        ("user_login", vec![("p", "admin")], "status"),
        ("user_logout", vec![], "status"),
        (
            "payment_create",
            if mor {
                vec![("user_id", "3"), ("p_currency", "USD"), ("amount", "5")]
            } else {
                vec![("user_id", "3"), ("amount", "5"), ("currency", "USD")]
            },
            "response/status",
        ),
        ("payments_get", vec![], "pagename"),
        ("tariff_rates_get", vec![("tariff_id", "1")], "tariff_name"),
        (
            "tariff_wholesale_update",
            vec![("name", "HTTP tariff"), ("currency", "EUR")],
            "tariff_id",
        ),
        ("quickstats_get", vec![], "quickstats/today/calls"),
        ("aggregate_get", vec![], "totals/total_calls"),
        (
            "user_details_get",
            vec![("user_id", "1")],
            "details/main_detail/balance",
        ),
        (
            "user_balance_update",
            vec![("user_id", "1"), ("balance", "1")],
            "user/balance",
        ),
    ]
}

#[tokio::test]
async fn every_method_and_alias_answers_from_the_default_world() {
    for product in Product::ALL {
        let mock = default_mock(product).await;
        for (method, params, proof) in cases(product) {
            let m = Catalogue::embedded()
                .method(product, method)
                .expect("method");
            for name in std::iter::once(m.name.as_str()).chain(m.aliases.iter().map(String::as_str))
            {
                let a = call(&mock, name, Some("admin"), &params, SECRET).await;
                assert_eq!(a.status, 200, "{product} {name}: {}", a.body);
                assert!(a.error().is_none(), "{product} {name}: {}", a.body);
                assert!(!at(&a, proof).is_empty(), "{product} {name}: {proof} empty");
            }
        }
        let a = call(
            &mock,
            "user_simple_balance_get",
            None,
            &[("id", "user3uniq")],
            SECRET,
        )
        .await;
        assert!(
            a.body.trim().parse::<f64>().is_ok(),
            "{product}: {}",
            a.body
        );
        let a = call(&mock, "simple_balance", None, &[("id", "nobody")], SECRET).await;
        assert_eq!(a.body.trim(), "User not found");
        mock.stop().await;
    }
}

#[tokio::test]
async fn writes_are_seen_by_later_reads() {
    for product in Product::ALL {
        let mock = default_mock(product).await;
        let a = call(
            &mock,
            "user_balance_update",
            Some("admin"),
            &[("user_id", "1"), ("balance", "2.5")],
            SECRET,
        )
        .await;
        assert_eq!(at(&a, "user/balance"), "62.5", "{product}");
        let a = call(
            &mock,
            "user_balance_get",
            Some("admin"),
            &[("username", "user1")],
            SECRET,
        )
        .await;
        assert_eq!(at(&a, "balance"), "62.5");
        let a = call(
            &mock,
            "user_simple_balance_get",
            None,
            &[("id", "user1uniq")],
            SECRET,
        )
        .await;
        assert_eq!(a.body.trim(), "62.5000");
        let a = call(
            &mock,
            "tariff_wholesale_update",
            Some("admin"),
            &[("name", "Seen")],
            SECRET,
        )
        .await;
        let id = at(&a, "tariff_id");
        let a = call(
            &mock,
            "get_tariff",
            Some("admin"),
            &[("tariff_id", &id)],
            SECRET,
        )
        .await;
        assert_eq!(at(&a, "tariff_name"), "Seen");
        mock.stop().await;
    }
}

#[tokio::test]
async fn method_errors_come_in_their_documented_wrappers() {
    for product in Product::ALL {
        let mock = default_mock(product).await;
        let a = call(
            &mock,
            "user_details_get",
            Some("admin"),
            &[("user_id", "999")],
            SECRET,
        )
        .await;
        assert_eq!(a.error().as_deref(), Some("User was not found"));
        let a = call(
            &mock,
            "exchange_rate_update",
            Some("admin"),
            &[("currency", "AMD"), ("rate", "x")],
            SECRET,
        )
        .await;
        assert_eq!(a.error().as_deref(), Some("Exchange rate is invalid"));
        assert_eq!(a.root().as_deref(), Some("page"));
        let a = call(
            &mock,
            "aggregate_get",
            Some("admin"),
            &[("a_dst", "000%")],
            SECRET,
        )
        .await;
        assert_eq!(a.error().as_deref(), Some("No data found"));
        let a = call(&mock, "devices_get", Some("admin"), &[], SECRET).await;
        assert_eq!(a.error().as_deref(), Some("user_id is empty"));
        let a = call(
            &mock,
            "user_login",
            Some("user1"),
            &[("p", "wrong")],
            SECRET,
        )
        .await;
        assert_eq!(a.error().as_deref(), Some("Login failed"));
        mock.stop().await;
    }
}

#[tokio::test]
async fn a_reseller_signs_with_his_own_secret_and_sees_his_users_only() {
    let mock = default_mock(Product::Mor).await;
    let a = call(
        &mock,
        "user_balance_get",
        Some("reseller"),
        &[("username", "ruser1")],
        "reseller_secret",
    )
    .await;
    assert_eq!(at(&a, "balance"), "30.0", "{}", a.body);
    let a = call(
        &mock,
        "user_balance_get",
        Some("reseller"),
        &[("username", "user1")],
        "reseller_secret",
    )
    .await;
    assert_eq!(a.error().as_deref(), Some("Access Denied"));
    mock.stop().await;
}
