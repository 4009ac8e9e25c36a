//! payment_create (alias create_payment): records a payment and changes the user's balance.
//! Pages: M4 API payment_create (`currency`, `amount_in_tax`, `comment`, `payment_to_provider`,
//! `exchange_rate`), MOR API payment_create (`p_currency`, `paymenttype`, `tax_in_amount`,
//! `transaction`, `payer_email`, `comments_for_user`).
//!
//! Tax comes from the user's VAT percent: with the amount-includes-tax flag the amount is the
//! gross, else the net. The balance grows by the net amount converted to the default currency
//! with `exchange_rate` (M4, when a positive number) or the system rate; a payment to a provider
//! (M4) lowers it. MOR with API Payment Confirmation on records an unconfirmed payment and leaves
//! the balance alone (`<confirmed>No</confirmed>`). Amounts are answered Ruby-float style in the
//! payment's currency.
//!
//! Under the quirk position `payment_create_answers: x3` it answers as the X3 action does
//! (GitHub `adeshjohnson/MX3`, `app/controllers/api_controller.rb` C 3224-3303), the gate having
//! checked only the login and the hash: API payments off answers `Payments not allow from api`
//! first; then the user must be owned by the caller (an accountant: by the admin; a simple user
//! finds none), else `Access Denied`, an unknown user included; `p_currency` must name a known
//! currency (no default), else `No currency`; the payment type is stored as `from_api : TYPE`;
//! the success has no `<confirmed>`. Every error is in `<page>`.

use model::catalogue::{Product, Role, Wrapper};
use model::quirks::{AnswerSource, X3_PAYMENTS_OFF};
use model::world::{Money, Payment};
use model::xml::Element;

use super::{parse_id, xml, Ctx, Reply};
use crate::generate::when_at;
use crate::world::{checked_div_money, checked_mul_money, World};

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &mut World) -> Reply {
    let mor = ctx.product == Product::Mor;
    let x3 = ctx.quirks.payment_create_answers == AnswerSource::X3;
    let uid = if x3 {
        match x3_target(ctx, world) {
            Ok(uid) => uid,
            Err(reply) => return reply,
        }
    } else {
        let Some(uid) = ctx
            .arg("user_id")
            .and_then(parse_id)
            .filter(|id| world.user(*id).is_some())
        else {
            return ctx.error("User was not found", Wrapper::Page);
        };
        if !ctx.can_act_on(world, uid) {
            return ctx.access_denied();
        }
        uid
    };
    let default = ctx.settings.default_currency.clone();
    let sent = ctx.arg(if mor { "p_currency" } else { "currency" });
    if x3 && sent.is_none() {
        // X3 looks the currency up by the name sent: none sent, none found.
        return ctx.error("No currency", Wrapper::Page);
    }
    let code = sent.unwrap_or(&default).to_string();
    let Some(system_rate) = world.rate_of(&code, &default) else {
        return if mor {
            ctx.error("No currency", Wrapper::Page)
        } else {
            ctx.error("Currency was not found", Wrapper::Page)
        };
    };
    let amount = ctx
        .arg("amount")
        .and_then(|a| a.parse::<Money>().ok())
        .filter(|a| *a > Money::ZERO && a.0 < i64::MAX / 1_000);
    let Some(amount) = amount else {
        return not_saved(ctx, "Amount is invalid");
    };
    let rate = if mor {
        system_rate
    } else {
        ctx.arg("exchange_rate")
            .and_then(|r| r.parse::<Money>().ok())
            .filter(|r| *r > Money::ZERO)
            .unwrap_or(system_rate)
    };
    let in_tax = ctx.flag(if mor {
        "tax_in_amount"
    } else {
        "amount_in_tax"
    });
    let to_provider = !mor && ctx.flag("payment_to_provider");
    let Some(user) = world.user(uid) else {
        return ctx.error("User was not found", Wrapper::Page);
    };
    let vat = Money(user.vat_percent.0 / 100);
    // Checked throughout: an amount whose tax, conversion or balance is not representable is
    // refused, never clamped (issue 13: 1e9 at a rate of 0.000001 moved a balance by i64::MIN).
    let Some((net, tax, gross, delta)) = amounts(amount, vat, rate, in_tax, to_provider) else {
        return not_saved(ctx, "Amount is too large");
    };
    let confirmed = !(mor && ctx.settings.api_payment_confirmation);
    let before = user.balance;
    let after = if confirmed {
        match world.change_balance(uid, delta) {
            Some(b) => b,
            None => return not_saved(ctx, "Balance overflow"),
        }
    } else {
        before
    };
    let id = world.next_payment_id();
    let comment = ctx
        .arg(if mor { "comments_for_user" } else { "comment" })
        .unwrap_or("");
    let Some(date) = when_at(ctx.now) else {
        return not_saved(ctx, "Bad clock");
    };
    world.data.payments.push(Payment {
        id,
        user_id: uid,
        date,
        amount: net,
        tax,
        currency: code.clone(),
        comment: comment.to_string(),
        paymenttype: if x3 {
            format!("from_api : {}", ctx.params.get("paymenttype").unwrap_or(""))
        } else {
            ctx.arg("paymenttype").unwrap_or("manual").to_string()
        },
        transaction: ctx.arg("transaction").unwrap_or("").to_string(),
        completed: true,
        confirmed,
        to_provider,
        balance_before: before,
        balance_after: after,
    });
    let mut resp = Element::new("response").leaf("status", "ok");
    if mor && !x3 {
        resp.push_leaf("confirmed", if confirmed { "Yes" } else { "No" });
    }
    resp.push(
        Element::new("payment")
            .attr("currency", code)
            .leaf("payment_id", id)
            .leaf("tax", tax)
            .leaf("amount", net)
            .leaf("gross", gross),
    );
    xml(Element::new("page").child(resp))
}

/// The user an X3 payment is for, or the X3 action's error (in `<page>`): the payments switch
/// first, then the user among the caller's own (an accountant's: the admin's; a simple user has
/// none), whatever the catalogue's access rules say.
fn x3_target(ctx: &Ctx<'_>, world: &World) -> Result<u64, Reply> {
    let page = |text: &str| Reply::Error {
        text: text.to_string(),
        wrapper: Wrapper::Page,
    };
    if !ctx.settings.api_allow_payments {
        return Err(page(X3_PAYMENTS_OFF));
    }
    let owner = match ctx.caller {
        None => None,
        Some(c) if c.role == Role::User => None,
        Some(c) if c.role == Role::Accountant => Some(0),
        Some(c) => Some(c.id),
    };
    owner
        .and_then(|o| {
            ctx.arg("user_id")
                .and_then(parse_id)
                .filter(|id| world.user(*id).is_some_and(|u| u.owner_id == o))
        })
        .ok_or_else(|| page("Access Denied"))
}

/// Net, tax, gross and the balance change of a payment, or `None` when one of them is not
/// representable.
fn amounts(
    amount: Money,
    vat: Money,
    rate: Money,
    in_tax: bool,
    to_provider: bool,
) -> Option<(Money, Money, Money, Money)> {
    let (net, tax, gross) = if in_tax {
        let net = checked_div_money(amount, Money::units(1).checked_add(vat)?)?;
        (net, Money(amount.0.checked_sub(net.0)?), amount)
    } else {
        let tax = checked_mul_money(amount, vat)?;
        (amount, tax, amount.checked_add(tax)?)
    };
    let delta = checked_div_money(net, rate)?;
    let delta = if to_provider {
        Money(delta.0.checked_neg()?)
    } else {
        delta
    };
    Some((net, tax, gross, delta))
}

/// `Payment was not saved`; on MOR with the documented sibling `<message>`.
fn not_saved(ctx: &Ctx<'_>, why: &str) -> Reply {
    if ctx.product == Product::Mor {
        return xml(Element::new("page")
            .leaf("error", "Payment was not saved")
            .leaf("message", why));
    }
    ctx.error("Payment was not saved", Wrapper::Page)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use model::catalogue::{Product, Wrapper};

    const M: &str = "payment_create";

    #[test]
    fn m4_adds_tax_from_vat_and_changes_the_balance() {
        let mut w = world(Product::M4);
        let r = req(Product::M4, M, "admin")
            .p("user_id", 1)
            .p("amount", 100)
            .p("currency", "USD")
            .run(&mut w);
        assert_shape(Product::M4, M, &r);
        assert_eq!(text(&r, "response/payment/tax"), "21.0");
        assert_eq!(text(&r, "response/payment/amount"), "100.0");
        assert_eq!(text(&r, "response/payment/gross"), "121.0");
        assert_eq!(
            w.user(1).expect("test data is valid").balance.to_string(),
            "160.0"
        );
        let r = req(Product::M4, M, "admin")
            .p("user_id", 1)
            .p("amount", "121")
            .p("currency", "USD")
            .p("amount_in_tax", 1)
            .run(&mut w);
        assert_eq!(text(&r, "response/payment/amount"), "100.0");
        assert_eq!(text(&r, "response/payment/tax"), "21.0");
        let r = req(Product::M4, M, "admin")
            .p("user_id", 3)
            .p("amount", "50")
            .p("currency", "EUR")
            .p("exchange_rate", "0.5")
            .run(&mut w);
        assert_eq!(
            root(&r)
                .at("response/payment")
                .expect("test data is valid")
                .attrs[0]
                .1,
            "EUR"
        );
        assert_eq!(
            w.user(3).expect("test data is valid").balance.to_string(),
            "350.0"
        );
        req(Product::M4, M, "admin")
            .p("user_id", 3)
            .p("amount", "10")
            .p("currency", "USD")
            .p("payment_to_provider", 1)
            .run(&mut w);
        assert_eq!(
            w.user(3).expect("test data is valid").balance.to_string(),
            "340.0"
        );
    }

    #[test]
    fn mor_confirmation_leaves_the_balance_alone() {
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "admin")
            .p("user_id", 3)
            .p("amount", 10)
            .p("p_currency", "USD")
            .run(&mut w);
        assert_shape(Product::Mor, M, &r);
        assert_eq!(text(&r, "response/confirmed"), "Yes");
        assert_eq!(
            w.user(3).expect("test data is valid").balance.to_string(),
            "260.0"
        );
        let mut q = req(Product::Mor, M, "admin")
            .p("user_id", 3)
            .p("amount", 10)
            .p("p_currency", "USD");
        q.settings.api_payment_confirmation = true;
        let r = q.run(&mut w);
        assert_eq!(text(&r, "response/confirmed"), "No");
        assert_eq!(
            w.user(3).expect("test data is valid").balance.to_string(),
            "260.0"
        );
    }

    #[test]
    fn documents_its_errors() {
        let mut w = world(Product::M4);
        let r = req(Product::M4, M, "admin")
            .p("user_id", 1)
            .p("amount", 1)
            .p("currency", "XYZ")
            .run(&mut w);
        assert_eq!(err(&r), ("Currency was not found", Wrapper::Page));
        let r = req(Product::M4, M, "admin")
            .p("user_id", 99)
            .p("amount", 1)
            .p("currency", "USD")
            .run(&mut w);
        assert_eq!(err(&r).0, "User was not found");
        for a in ["x", "-5", "0", "", "999999999999"] {
            let r = req(Product::M4, M, "admin")
                .p("user_id", 1)
                .p("amount", a)
                .p("currency", "USD")
                .run(&mut w);
            assert_eq!(err(&r).0, "Payment was not saved", "{a}");
        }
        let mut w = world(Product::Mor);
        let r = req(Product::Mor, M, "admin")
            .p("user_id", 1)
            .p("amount", 1)
            .p("p_currency", "XYZ")
            .run(&mut w);
        assert_eq!(err(&r).0, "No currency");
        let r = req(Product::Mor, M, "admin")
            .p("user_id", 1)
            .p("amount", "x")
            .p("p_currency", "USD")
            .run(&mut w);
        assert_eq!(text(&r, "error"), "Payment was not saved");
        assert_eq!(text(&r, "message"), "Amount is invalid");
        let r = req(Product::Mor, M, "reseller")
            .p("user_id", 1)
            .p("amount", 1)
            .p("p_currency", "USD")
            .run(&mut w);
        assert_eq!(err(&r).0, "Access Denied");
    }

    #[test]
    fn the_payment_is_listed_afterwards() {
        let mut w = world(Product::M4);
        req(Product::M4, M, "admin")
            .p("user_id", 2)
            .p("amount", 7)
            .p("currency", "USD")
            .p("comment", "hello")
            .run(&mut w);
        let r = req(Product::M4, "payments_get", "admin")
            .p("user_id_s", 2)
            .run(&mut w);
        let last = root(&r)
            .at("payments")
            .expect("test data is valid")
            .elements()
            .last()
            .expect("test data is valid");
        assert_eq!(
            last.find("comment")
                .expect("test data is valid")
                .text_content(),
            "hello"
        );
        assert_eq!(
            last.find("user_balance_before_payment")
                .expect("test data is valid")
                .text_content(),
            "-12.5"
        );
        assert_eq!(
            last.find("user_balance_after_payment")
                .expect("test data is valid")
                .text_content(),
            "-5.5"
        );
    }
}
