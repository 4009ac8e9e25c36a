//! Deliberate defects, to measure the conformance suite: a mock with one [`Defect`] switched on
//! answers the way one realistic broken deployment or reimplementation would, and a suite with
//! power fails on it. Test only: a defect is chosen by [`crate::MockConfig::defect`] or the
//! hidden `mor-mock --defect NAME` flag, never read from a scenario file nor changed by the admin
//! API, and every check is `if defect == Some(Defect::X)` in the narrowest place that computes
//! the behaviour, so a mock without a defect pays nothing for them.
//!
//! Where each lives: the quickstats, aggregate, calls and balance defects in their method's
//! handler (`methods/<name>.rs`, through [`crate::methods::answer_with_defect`]); the checks
//! and hash defects in `dispatch` and `auth`; the body defects in `server` (parameters) and the
//! answer defects in [`apply_to_reply`] and [`apply_to_response`], called by `dispatch`.

use std::fmt;
use std::str::FromStr;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use model::xml::{Element, Node};
use serde::{Deserialize, Serialize};

use crate::methods::Reply;

/// One deliberate way to be broken. Names are `snake_case` on the command line and in serde.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Defect {
    /// quickstats_get: margin rounded down instead of rounded.
    QuickstatsMarginFloor,
    /// quickstats_get: profit equals revenue.
    QuickstatsProfitIgnoresSelfCost,
    /// quickstats_get: `<self_cost>` left out of the period blocks.
    QuickstatsElementMissing,
    /// quickstats_get: an extra `<currency>` element in the period blocks.
    QuickstatsElementAdded,
    /// quickstats_get: the month block counts every call ever.
    QuickstatsMonthCountsAll,
    /// aggregate_get: the totals leave out the last row.
    AggregateTotalsNotSum,
    /// aggregate_get: the period is ignored.
    AggregatePeriodIgnored,
    /// aggregate_get: ASR and ACD rounded down.
    AggregateMarginFloor,
    /// aggregate_get: a finer grouping than the default drops its last row.
    AggregateFinerLosesRow,
    /// user_calls_get: the period is ignored.
    CallsPeriodIgnored,
    /// user_calls_get: `total_calls` counts before the filters.
    CallsTotalBeforeFilter,
    /// user_calls_get: a simple user also gets other users' calls.
    CallsOtherUsersVisible,
    /// user_calls_get: `s_call_type` is ignored.
    CallsCallTypeIgnored,
    /// user_calls_get: `order_desc` is ignored.
    CallsOrderDescIgnored,
    /// user_balance_get: `currency` is ignored.
    BalanceCurrencyIgnored,
    /// user_balance_get: divides by the exchange rate.
    BalanceRateInverted,
    /// user_balance_get: a simple user reads another user's balance.
    BalanceOtherUserVisible,
    /// Errors: `Incorrect Hash`, `Bad Login`.
    ErrorTextCase,
    /// Errors: no XML declaration.
    ErrorNoDeclaration,
    /// Errors: HTTP 500.
    #[serde(rename = "error_http_500")]
    ErrorHttp500,
    /// Successes: numbers padded with spaces.
    PaddedValues,
    /// Checks: hash before login.
    ChecksWrongOrder,
    /// Parameters of a JSON body ignored.
    JsonBodyIgnored,
    /// Parameters of a form body ignored.
    FormBodyIgnored,
    /// Successes: `Content-Type: text/html`.
    WrongContentType,
    /// Every hash accepted, a missing one too.
    AnyHashAccepted,
    /// A digest without the secret accepted too.
    HashSecretIgnored,
    /// A digest over the values in reverse order accepted too.
    HashOrderIgnored,
    /// GET answered although Allow GET API is off.
    GetAllowed,
    /// An unknown `u` gets `Access Denied`.
    UnknownUserAnswersAccessDenied,
}

impl Defect {
    /// Every defect, in the order of this list.
    pub const ALL: [Defect; 30] = [
        Defect::QuickstatsMarginFloor,
        Defect::QuickstatsProfitIgnoresSelfCost,
        Defect::QuickstatsElementMissing,
        Defect::QuickstatsElementAdded,
        Defect::QuickstatsMonthCountsAll,
        Defect::AggregateTotalsNotSum,
        Defect::AggregatePeriodIgnored,
        Defect::AggregateMarginFloor,
        Defect::AggregateFinerLosesRow,
        Defect::CallsPeriodIgnored,
        Defect::CallsTotalBeforeFilter,
        Defect::CallsOtherUsersVisible,
        Defect::CallsCallTypeIgnored,
        Defect::CallsOrderDescIgnored,
        Defect::BalanceCurrencyIgnored,
        Defect::BalanceRateInverted,
        Defect::BalanceOtherUserVisible,
        Defect::ErrorTextCase,
        Defect::ErrorNoDeclaration,
        Defect::ErrorHttp500,
        Defect::PaddedValues,
        Defect::ChecksWrongOrder,
        Defect::JsonBodyIgnored,
        Defect::FormBodyIgnored,
        Defect::WrongContentType,
        Defect::AnyHashAccepted,
        Defect::HashSecretIgnored,
        Defect::HashOrderIgnored,
        Defect::GetAllowed,
        Defect::UnknownUserAnswersAccessDenied,
    ];

    /// The `snake_case` name (command line, serde, reports).
    pub fn name(self) -> &'static str {
        match self {
            Defect::QuickstatsMarginFloor => "quickstats_margin_floor",
            Defect::QuickstatsProfitIgnoresSelfCost => "quickstats_profit_ignores_self_cost",
            Defect::QuickstatsElementMissing => "quickstats_element_missing",
            Defect::QuickstatsElementAdded => "quickstats_element_added",
            Defect::QuickstatsMonthCountsAll => "quickstats_month_counts_all",
            Defect::AggregateTotalsNotSum => "aggregate_totals_not_sum",
            Defect::AggregatePeriodIgnored => "aggregate_period_ignored",
            Defect::AggregateMarginFloor => "aggregate_margin_floor",
            Defect::AggregateFinerLosesRow => "aggregate_finer_loses_row",
            Defect::CallsPeriodIgnored => "calls_period_ignored",
            Defect::CallsTotalBeforeFilter => "calls_total_before_filter",
            Defect::CallsOtherUsersVisible => "calls_other_users_visible",
            Defect::CallsCallTypeIgnored => "calls_call_type_ignored",
            Defect::CallsOrderDescIgnored => "calls_order_desc_ignored",
            Defect::BalanceCurrencyIgnored => "balance_currency_ignored",
            Defect::BalanceRateInverted => "balance_rate_inverted",
            Defect::BalanceOtherUserVisible => "balance_other_user_visible",
            Defect::ErrorTextCase => "error_text_case",
            Defect::ErrorNoDeclaration => "error_no_declaration",
            Defect::ErrorHttp500 => "error_http_500",
            Defect::PaddedValues => "padded_values",
            Defect::ChecksWrongOrder => "checks_wrong_order",
            Defect::JsonBodyIgnored => "json_body_ignored",
            Defect::FormBodyIgnored => "form_body_ignored",
            Defect::WrongContentType => "wrong_content_type",
            Defect::AnyHashAccepted => "any_hash_accepted",
            Defect::HashSecretIgnored => "hash_secret_ignored",
            Defect::HashOrderIgnored => "hash_order_ignored",
            Defect::GetAllowed => "get_allowed",
            Defect::UnknownUserAnswersAccessDenied => "unknown_user_answers_access_denied",
        }
    }

    /// Whether the defect can show on `product` at all (MOR quick stats have no month block).
    pub fn applies_to(self, product: model::catalogue::Product) -> bool {
        !(self == Defect::QuickstatsMonthCountsAll && product == model::catalogue::Product::Mor)
    }

    /// One line: what the broken deployment does.
    pub fn describe(self) -> &'static str {
        match self {
            Defect::QuickstatsMarginFloor => {
                "quickstats_get margin is rounded down (floor) instead of rounded"
            }
            Defect::QuickstatsProfitIgnoresSelfCost => {
                "quickstats_get profit equals revenue (self cost not subtracted)"
            }
            Defect::QuickstatsElementMissing => {
                "quickstats_get leaves <self_cost> out of the today and month blocks"
            }
            Defect::QuickstatsElementAdded => {
                "quickstats_get adds a <currency> element to the today and month blocks"
            }
            Defect::QuickstatsMonthCountsAll => {
                "quickstats_get month block counts every call ever, not this month's"
            }
            Defect::AggregateTotalsNotSum => "aggregate_get totals leave out the last row",
            Defect::AggregatePeriodIgnored => {
                "aggregate_get ignores the period (from/till) and uses every call"
            }
            Defect::AggregateMarginFloor => {
                "aggregate_get ASR and ACD are rounded down instead of rounded"
            }
            Defect::AggregateFinerLosesRow => {
                "aggregate_get drops the last row when grouped by more fields than the default"
            }
            Defect::CallsPeriodIgnored => {
                "user_calls_get ignores period_start/period_end and lists every call"
            }
            Defect::CallsTotalBeforeFilter => {
                "user_calls_get total_calls counts the calls before s_call_type and other filters"
            }
            Defect::CallsOtherUsersVisible => {
                "user_calls_get shows a simple user the calls of other users too"
            }
            Defect::CallsCallTypeIgnored => "user_calls_get ignores s_call_type",
            Defect::CallsOrderDescIgnored => "user_calls_get ignores order_desc",
            Defect::BalanceCurrencyIgnored => {
                "user_balance_get ignores currency and answers in the system currency"
            }
            Defect::BalanceRateInverted => {
                "user_balance_get divides by the exchange rate instead of multiplying"
            }
            Defect::BalanceOtherUserVisible => {
                "user_balance_get lets a simple user read another user's balance"
            }
            Defect::ErrorTextCase => "errors say `Incorrect Hash` and `Bad Login` (wrong case)",
            Defect::ErrorNoDeclaration => "error answers have no <?xml ...?> declaration",
            Defect::ErrorHttp500 => "error answers come with HTTP 500 (body unchanged)",
            Defect::PaddedValues => "numbers in success answers are padded with spaces",
            Defect::ChecksWrongOrder => {
                "the hash is checked before the login: unknown user + bad hash is Incorrect hash"
            }
            Defect::JsonBodyIgnored => "parameters in a JSON body are ignored",
            Defect::FormBodyIgnored => "parameters in a form-encoded body are ignored",
            Defect::WrongContentType => "success answers come with Content-Type: text/html",
            Defect::AnyHashAccepted => "every hash is accepted, a missing one too",
            Defect::HashSecretIgnored => {
                "a digest of the values without the secret is accepted too"
            }
            Defect::HashOrderIgnored => {
                "a digest of the hashed values in reverse order is accepted too"
            }
            Defect::GetAllowed => "GET requests are answered although Allow GET API is off",
            Defect::UnknownUserAnswersAccessDenied => {
                "an unknown u gets Access Denied instead of Bad login"
            }
        }
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a text names no defect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown defect `{0}` (see mock_server::defect::Defect::ALL)")]
pub struct UnknownDefect(pub String);

impl FromStr for Defect {
    type Err = UnknownDefect;

    fn from_str(s: &str) -> Result<Defect, UnknownDefect> {
        Defect::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| UnknownDefect(s.to_string()))
    }
}

impl clap::ValueEnum for Defect {
    fn value_variants<'a>() -> &'a [Self] {
        &Defect::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).help(self.describe()))
    }
}

/// The error texts `error_text_case` changes, with the changed text.
const CASE_CHANGES: [(&str, &str); 2] = [
    ("Incorrect hash", "Incorrect Hash"),
    ("Bad login", "Bad Login"),
];

/// The reply as `defect` changes it before rendering: `error_text_case` (error texts) and
/// `padded_values` (numbers of success documents and plain-text balances).
pub fn apply_to_reply(defect: Defect, reply: Reply) -> Reply {
    match (defect, reply) {
        (Defect::ErrorTextCase, Reply::Error { text, wrapper }) => {
            let text = CASE_CHANGES
                .iter()
                .find(|(from, _)| *from == text)
                .map_or(text, |(_, to)| (*to).to_string());
            Reply::Error { text, wrapper }
        }
        (Defect::PaddedValues, Reply::Xml(mut doc)) => {
            pad_numbers(&mut doc.root);
            Reply::Xml(doc)
        }
        (Defect::PaddedValues, Reply::Action(mut doc)) => {
            pad_numbers(&mut doc.root);
            Reply::Action(doc)
        }
        (Defect::PaddedValues, Reply::Text(text)) if text.trim().parse::<f64>().is_ok() => {
            Reply::Text(format!(" {text} "))
        }
        (_, reply) => reply,
    }
}

/// `<calls>4</calls>` becomes `<calls> 4 </calls>`, at every depth.
fn pad_numbers(el: &mut Element) {
    if el.has_elements() {
        for child in &mut el.children {
            if let Node::Element(e) = child {
                pad_numbers(e);
            }
        }
        return;
    }
    let text = el.text_content();
    if !text.is_empty() && text.parse::<f64>().is_ok() {
        el.children = vec![Node::Text(format!(" {text} "))];
    }
}

/// The rendered answer as `defect` changes it: `error_no_declaration` and `error_http_500` on
/// errors, `wrong_content_type` on successes.
pub fn apply_to_response(
    defect: Defect,
    is_error: bool,
    response: Response<Bytes>,
) -> Response<Bytes> {
    match (defect, is_error) {
        (Defect::ErrorNoDeclaration, true) => {
            let (parts, body) = response.into_parts();
            Response::from_parts(parts, strip_declaration(body))
        }
        (Defect::ErrorHttp500, true) => {
            let mut r = response;
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        }
        (Defect::WrongContentType, false) => {
            let mut r = response;
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            r
        }
        _ => response,
    }
}

/// The body without its `<?xml ...?>` declaration and the line break after it.
fn strip_declaration(body: Bytes) -> Bytes {
    let text = String::from_utf8_lossy(&body);
    let Some(start) = text.find("<?xml") else {
        return body;
    };
    let Some(len) = text[start..].find("?>") else {
        return body;
    };
    let mut end = start + len + 2;
    if text[end..].starts_with('\n') {
        end += 1;
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..start]);
    out.push_str(&text[end..]);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::catalogue::Wrapper;
    use model::xml::Document;

    #[test]
    fn every_defect_has_one_name_in_serde_clap_and_from_str() {
        let mut seen = std::collections::HashSet::new();
        for d in Defect::ALL {
            assert!(seen.insert(d.name()), "{d} twice");
            let json = serde_json::to_string(&d).expect("serializes");
            assert_eq!(json, format!("\"{}\"", d.name()));
            assert_eq!(serde_json::from_str::<Defect>(&json).ok(), Some(d));
            assert_eq!(d.name().parse::<Defect>(), Ok(d));
            assert_eq!(
                <Defect as clap::ValueEnum>::from_str(d.name(), false).ok(),
                Some(d)
            );
            assert!(!d.describe().is_empty() && !d.describe().contains('\n'));
        }
        assert!("quickstats_margin_round".parse::<Defect>().is_err());
    }

    #[test]
    fn padded_values_pad_numbers_only() {
        let doc = Document::new(
            Element::new("page")
                .leaf("calls", 4)
                .leaf("name", "x")
                .child(Element::new("q").leaf("price", "1.25")),
        );
        let Reply::Xml(doc) = apply_to_reply(Defect::PaddedValues, Reply::Xml(doc)) else {
            panic!("still XML");
        };
        assert_eq!(
            doc.root.at("calls").map(Element::text_content).as_deref(),
            Some(" 4 ")
        );
        assert_eq!(
            doc.root.at("name").map(Element::text_content).as_deref(),
            Some("x")
        );
        assert_eq!(
            doc.root.at("q/price").map(Element::text_content).as_deref(),
            Some(" 1.25 ")
        );
    }

    #[test]
    fn error_text_case_changes_two_texts() {
        let e = |t: &str| Reply::Error {
            text: t.into(),
            wrapper: Wrapper::Page,
        };
        assert_eq!(
            apply_to_reply(Defect::ErrorTextCase, e("Incorrect hash")),
            e("Incorrect Hash")
        );
        assert_eq!(
            apply_to_reply(Defect::ErrorTextCase, e("Bad login")),
            e("Bad Login")
        );
        assert_eq!(
            apply_to_reply(Defect::ErrorTextCase, e("Access Denied")),
            e("Access Denied")
        );
    }

    #[test]
    fn the_declaration_is_stripped_with_its_line_break() {
        let b = strip_declaration(Bytes::from_static(b"<?xml version=\"1.0\"?>\n<page/>"));
        assert_eq!(&b[..], b"<page/>");
        let b = strip_declaration(Bytes::from_static(b"plain"));
        assert_eq!(&b[..], b"plain");
    }
}
