//! exchange_rate_update: sets the exchange rate of a currency whose automatic update is off.
//! Page: M2 API Exchange rate update (M4), MOR API Exchange rate update (X10+).
//!
//! The rate is checked first (`Exchange rate is invalid`: not a positive number), then the
//! currency (`Currency was not found`: unknown name, case-sensitive, the default currency, or a
//! currency with automatic update on).

use model::catalogue::Wrapper;
use model::world::Money;
use model::xml::Element;

use super::{xml, Ctx, Reply};
use crate::world::World;

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &mut World) -> Reply {
    let rate = ctx
        .arg("rate")
        .and_then(|r| r.parse::<Money>().ok())
        .filter(|r| *r > Money::ZERO);
    let Some(rate) = rate else {
        return ctx.error("Exchange rate is invalid", Wrapper::PageStatus);
    };
    let name = ctx.arg("currency").unwrap_or("");
    let Some(cur) = world
        .data
        .currencies
        .iter_mut()
        .find(|c| c.name == name && !c.auto_update)
    else {
        return ctx.error("Currency was not found", Wrapper::PageStatus);
    };
    cur.rate = rate;
    xml(Element::new("page")
        .child(Element::new("status").leaf("success", "Currency successfully updated")))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use model::catalogue::{Product, Wrapper};

    const M: &str = "exchange_rate_update";

    #[test]
    fn updates_a_manual_currency_and_later_conversions_use_it() {
        for p in Product::ALL {
            let mut w = world(p);
            let r = req(p, M, "admin")
                .p("currency", "AMD")
                .p("rate", "45.5")
                .run(&mut w);
            assert_shape(p, M, &r);
            assert_eq!(text(&r, "status/success"), "Currency successfully updated");
            assert_eq!(
                w.currency("AMD")
                    .expect("test data is valid")
                    .rate
                    .to_string(),
                "45.5"
            );
            let b = req(p, "user_balance_get", "admin")
                .p("username", "user1")
                .p("currency", "AMD")
                .run(&mut w);
            assert_eq!(text(&b, "balance"), "2730.0");
        }
    }

    #[test]
    fn refuses_bad_rates_and_unknown_or_automatic_currencies() {
        let mut w = world(Product::M4);
        for rate in ["abc", "", "-1", "0", "1e3"] {
            let r = req(Product::M4, M, "admin")
                .p("currency", "AMD")
                .p("rate", rate)
                .run(&mut w);
            assert_eq!(err(&r), ("Exchange rate is invalid", Wrapper::PageStatus));
        }
        for cur in ["amd", "XYZ", "JPY", "USD", ""] {
            let r = req(Product::M4, M, "admin")
                .p("currency", cur)
                .p("rate", "2")
                .run(&mut w);
            assert_eq!(
                err(&r),
                ("Currency was not found", Wrapper::PageStatus),
                "{cur}"
            );
        }
    }
}
