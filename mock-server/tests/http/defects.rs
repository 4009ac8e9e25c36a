//! The unseen world and the deliberate defects over real HTTP. For every [`Defect`], one request
//! answers differently (status, content type or body) on a mock with that defect than on the
//! same mock without it: both start from the same unseen world and the same pinned clock, so
//! the only difference is the defect.

use mock_server::model::catalogue::{Catalogue, Product, Role};
use mock_server::model::params::Params;
use mock_server::model::sign::{self, SignOptions};
use mock_server::model::world::month_start;
use mock_server::{unseen_accounts, Defect, MockConfig};

use crate::support::{Answer, Mock, SECRET};

/// The unseen world's seed in these tests.
const SEED: u64 = 11;

/// 2026-11-23 14:30:00 UTC, a Monday: calls today, earlier this month and last month.
const CLOCK: i64 = 1_795_444_200;

async fn mock(product: Product, defect: Option<Defect>) -> Mock {
    let mut config = MockConfig::new(product).unseen_world(SEED).clock(CLOCK);
    config.defect = defect;
    Mock::start_with(config).await
}

/// Who is who in the unseen world (from `unseen_accounts` and the mock's world).
struct Cast {
    /// The `user` account: admin-owned, calls today.
    user: String,
    user_id: String,
    /// Another admin-owned simple user.
    other: String,
}

fn cast(mock: &Mock) -> Cast {
    let accounts = unseen_accounts(mock.product, SEED);
    let user = accounts
        .iter()
        .find(|a| a.role == "user")
        .map(|a| a.username.clone())
        .expect("a user account");
    let live = mock.server.shared().read();
    let world = &live.world;
    let user_id = world.user_by_name(&user).expect("in the world").id;
    let other = world
        .data
        .users
        .iter()
        .find(|u| u.role == Role::User && u.owner_id == 0 && u.id != user_id)
        .map(|u| u.username.clone())
        .expect("a second admin-owned user");
    Cast {
        user,
        user_id: user_id.to_string(),
        other,
    }
}

/// How a request is sent.
enum Send {
    /// POST, parameters in the query string, signed with the admin's secret.
    Signed,
    /// POST with this `hash`.
    Hash(&'static str),
    /// POST signed over the values without the secret.
    NoSecret,
    /// POST signed over the values in reverse order.
    Reversed,
    /// GET, signed.
    Get,
    /// POST, signed, every parameter in a JSON body.
    Json,
    /// POST, signed, every parameter in a form body.
    Form,
}

/// One request: method, `u`, parameters (`{user}`, `{user_id}`, `{other}` and `{month}` are
/// replaced), how it is sent.
struct Request {
    method: &'static str,
    u: &'static str,
    params: &'static [(&'static str, &'static str)],
    send: Send,
}

const fn req(
    method: &'static str,
    u: &'static str,
    params: &'static [(&'static str, &'static str)],
    send: Send,
) -> Request {
    Request {
        method,
        u,
        params,
        send,
    }
}

/// The request that shows each defect, and the product it is sent to.
fn case(defect: Defect) -> (Product, Request) {
    use Defect as D;
    use Send::*;
    const QS: Request = req("quickstats_get", "admin", &[], Signed);
    const MONTH_AGG: &[(&str, &str)] = &[("from", "{month}")];
    const USER_CALLS: &[(&str, &str)] = &[("s_user", "{user_id}")];
    const ANSWERED: &[(&str, &str)] = &[("s_user", "{user_id}"), ("s_call_type", "answered")];
    const EUR: &[(&str, &str)] = &[("username", "{user}"), ("currency", "EUR")];
    match defect {
        D::QuickstatsMarginFloor
        | D::QuickstatsProfitIgnoresSelfCost
        | D::QuickstatsElementMissing
        | D::QuickstatsElementAdded
        | D::QuickstatsMonthCountsAll
        | D::PaddedValues
        | D::WrongContentType => (Product::M4, QS),
        D::AggregateTotalsNotSum | D::AggregateMarginFloor => (
            Product::M4,
            req("aggregate_get", "admin", MONTH_AGG, Signed),
        ),
        D::AggregatePeriodIgnored => (Product::Mor, req("aggregate_get", "admin", &[], Signed)),
        D::AggregateFinerLosesRow => (
            Product::M4,
            req(
                "aggregate_get",
                "admin",
                &[
                    ("from", "{month}"),
                    ("group_by_originator", "1"),
                    ("group_by_terminator", "1"),
                    ("group_by_dst_group", "1"),
                    ("group_by_dst", "1"),
                ],
                Signed,
            ),
        ),
        D::CallsPeriodIgnored => (
            Product::Mor,
            req("user_calls_get", "admin", USER_CALLS, Signed),
        ),
        D::CallsTotalBeforeFilter | D::CallsCallTypeIgnored => (
            Product::Mor,
            req("user_calls_get", "admin", ANSWERED, Signed),
        ),
        D::CallsOtherUsersVisible => (
            Product::M4,
            req("user_calls_get", "{user}", USER_CALLS, Signed),
        ),
        D::CallsOrderDescIgnored => (
            Product::M4,
            req(
                "user_calls_get",
                "admin",
                &[("s_user", "{user_id}"), ("order_desc", "1")],
                Signed,
            ),
        ),
        D::BalanceCurrencyIgnored | D::BalanceRateInverted => {
            (Product::Mor, req("user_balance_get", "admin", EUR, Signed))
        }
        D::BalanceOtherUserVisible => (
            Product::M4,
            req(
                "user_balance_get",
                "{user}",
                &[("username", "{other}")],
                Signed,
            ),
        ),
        D::ErrorTextCase | D::ErrorNoDeclaration | D::ErrorHttp500 | D::AnyHashAccepted => (
            Product::M4,
            req("quickstats_get", "admin", &[], Hash("0123456789abcdef")),
        ),
        D::ChecksWrongOrder => (
            Product::Mor,
            req("quickstats_get", "nobody", &[], Hash("0123456789abcdef")),
        ),
        D::UnknownUserAnswersAccessDenied => {
            (Product::M4, req("quickstats_get", "nobody", &[], Signed))
        }
        D::JsonBodyIgnored => (Product::M4, req("quickstats_get", "admin", &[], Json)),
        D::FormBodyIgnored => (Product::Mor, req("quickstats_get", "admin", &[], Form)),
        D::HashSecretIgnored => (Product::M4, req("user_balance_get", "admin", EUR, NoSecret)),
        D::HashOrderIgnored => (
            Product::Mor,
            req("user_balance_get", "admin", EUR, Reversed),
        ),
        D::GetAllowed => (Product::M4, req("quickstats_get", "admin", &[], Get)),
    }
}

/// Send `r` to `mock`; the answer's status, content type and body.
async fn send(mock: &Mock, r: &Request) -> (u16, String, String) {
    let cast = cast(mock);
    let month = month_start(CLOCK).to_string();
    let fill = |v: &str| {
        v.replace("{user_id}", &cast.user_id)
            .replace("{user}", &cast.user)
            .replace("{other}", &cast.other)
            .replace("{month}", &month)
    };
    let u = fill(r.u);
    let mut params = Params::new();
    params.push("u", u.clone());
    for (k, v) in r.params {
        params.push(*k, fill(v));
    }
    let m = Catalogue::embedded()
        .method(mock.product, r.method)
        .expect("in the catalogue");
    let is_admin = u == "admin";
    let opts = SignOptions::default();
    let hash = match r.send {
        Send::Hash(h) => h.to_string(),
        Send::NoSecret => sign::plan(m, &params, is_admin, &opts).digest(""),
        Send::Reversed => {
            let mut plan = sign::plan(m, &params, is_admin, &opts);
            plan.parts.reverse();
            plan.digest(SECRET)
        }
        _ => sign::sign(m, &params, is_admin, SECRET, &opts),
    };
    params.push("hash", hash);
    let url = mock.url(&format!("/billing/api/{}", r.method));
    let request = match r.send {
        Send::Get => mock.client.get(format!("{url}?{}", params.to_query())),
        Send::Json => {
            let body: serde_json::Map<String, serde_json::Value> = params
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(v)))
                .collect();
            mock.client
                .post(url)
                .header("content-type", "application/json")
                .body(serde_json::Value::Object(body).to_string())
        }
        Send::Form => mock
            .client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(params.to_query()),
        _ => mock.client.post(format!("{url}?{}", params.to_query())),
    };
    let a: Answer = mock.raw(request).await;
    let content_type = a.header("content-type").unwrap_or_default();
    (a.status, content_type, a.body)
}

#[tokio::test]
async fn every_defect_changes_the_answer_to_one_request() {
    let m4 = mock(Product::M4, None).await;
    let mor = mock(Product::Mor, None).await;
    let mut unchanged = Vec::new();
    for defect in Defect::ALL {
        let (product, r) = case(defect);
        let clean = if product == Product::M4 { &m4 } else { &mor };
        let expected = send(clean, &r).await;
        assert_eq!(
            expected,
            send(clean, &r).await,
            "{defect}: the mock without the defect answers the same twice"
        );
        let broken = mock(product, Some(defect)).await;
        let actual = send(&broken, &r).await;
        if actual == expected {
            unchanged.push(format!("{defect} ({product} {}): {}", r.method, actual.2));
        }
        broken.stop().await;
    }
    m4.stop().await;
    mor.stop().await;
    assert!(
        unchanged.is_empty(),
        "these defects did not change the answer:\n{}",
        unchanged.join("\n")
    );
}

#[tokio::test]
async fn the_unseen_world_answers_its_own_accounts_and_not_the_default_ones() {
    for product in Product::ALL {
        let mock = mock(product, None).await;
        let accounts = unseen_accounts(product, SEED);
        assert!(accounts.iter().any(|a| a.role == "user"));
        for a in &accounts {
            let secret = a.api_secret.as_deref().unwrap_or(SECRET);
            // An accountant may see statistics through aggregate_get, not quickstats_get.
            let method = if a.role == "accountant" {
                "aggregate_get"
            } else {
                "quickstats_get"
            };
            let answer = mock.post_as(method, &a.username, secret).await;
            assert!(answer.is_success(), "{product} {}: {}", a.role, answer.body);
        }
        // The default world's accounts are unknown here (MOR answers Access Denied for an
        // unknown user, M4 Bad login).
        let unknown = mock.post_as("quickstats_get", "no_such_user", SECRET).await;
        assert!(unknown.error().is_some(), "{product}: {}", unknown.body);
        for name in ["user1", "manager", "reseller"] {
            let a = mock.post_as("quickstats_get", name, SECRET).await;
            assert_eq!(a.error(), unknown.error(), "{product}: {name}");
        }
        mock.stop().await;
    }
}

impl Mock {
    /// POST `method` as `u` with no other parameter, signed with `secret`.
    async fn post_as(&self, method: &str, u: &str, secret: &str) -> Answer {
        let p = self.signed(method, Some(u), &[], secret);
        self.send(reqwest::Method::POST, method, &p).await
    }
}
