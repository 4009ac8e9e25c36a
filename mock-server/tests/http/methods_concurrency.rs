//! Writes under contention: 1,000 concurrent balance updates and payments against one server
//! leave exactly the balance their sum predicts (nothing lost, nothing doubled).

use mock_server::model::catalogue::Product;
use mock_server::model::world::Money;
use mock_server::MockConfig;

use crate::support::{Mock, SECRET};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_updates_and_payments_lose_nothing() {
    for product in Product::ALL {
        let mock = Mock::start_with(MockConfig::new(product)).await;
        // user3: balance 250.0, USD, no VAT, so a payment adds exactly its amount.
        let mut expected: Money = "250".parse().expect("amount");
        let mut requests = Vec::new();
        for i in 0..1000u32 {
            let amount = format!("{}.{:02}", i % 9, i % 100);
            expected += amount.parse::<Money>().expect("amount");
            let (method, params) = if i % 2 == 0 {
                (
                    "user_balance_update",
                    vec![("user_id", "3".to_string()), ("balance", amount)],
                )
            } else if product == Product::Mor {
                (
                    "payment_create",
                    vec![
                        ("user_id", "3".to_string()),
                        ("p_currency", "USD".to_string()),
                        ("amount", amount),
                    ],
                )
            } else {
                (
                    "payment_create",
                    vec![
                        ("user_id", "3".to_string()),
                        ("amount", amount),
                        ("currency", "USD".to_string()),
                    ],
                )
            };
            let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let p = mock.signed(method, Some("admin"), &pairs, SECRET);
            let url = format!(
                "{}/billing/api/{method}?{}",
                mock.server.url(),
                p.to_query()
            );
            let client = mock.client.clone();
            requests.push(tokio::spawn(async move {
                let r = client.post(url).send().await.expect("answered");
                r.text().await.expect("body")
            }));
        }
        for r in requests {
            let body = r.await.expect("task");
            assert!(!body.contains("<error>"), "{product}: {body}");
        }
        let a = mock
            .post("user_balance_get", "admin", &[("username", "user3")])
            .await;
        let doc = mock_server::model::xml::parse(&a.body).expect("xml");
        let got: Money = doc
            .root
            .at("balance")
            .expect("balance")
            .text_content()
            .parse()
            .expect("money");
        assert_eq!(got, expected, "{product}");
        mock.stop().await;
    }
}
