//! payments_get (alias payments_list): payments in a period, filtered. Pages: M4 / MOR API
//! payments_get.
//!
//! Both naming sets are read on both products (M4 `user_id_s`, `from_s`, ... and MOR
//! `s_user_id`, `s_from`, ...; the first M4 revision used `s_user_id`). The period defaults to
//! today; MOR `s_from` counts only together with `s_till`. Amount filters compare the net amount
//! in the payment's currency. Card filters (`s_number`, `s_pin`) match nothing: the world has no
//! cards. A simple user sees his own payments; asking for another user's is `Access Denied`.

use model::catalogue::Product;
use model::world::{format_datetime, Money, Payment};
use model::xml::Element;

use super::{nice_name, parse_id, ruby_to_i, xml, Ctx, Listing, Reply};
use crate::world::World;

/// Handle the request.
pub fn run(ctx: &Ctx<'_>, world: &World) -> Reply {
    let get = |m4: &str, mor: &str| ctx.arg(m4).or_else(|| ctx.arg(mor));
    let user_filter = get("user_id_s", "s_user_id");
    let user_id = match user_filter {
        Some(v) => match parse_id(v) {
            Some(id) => Some(id),
            None => return xml(empty()),
        },
        None => None,
    };
    if let Some(id) = user_id {
        if world.user(id).is_some() && !ctx.can_act_on(world, id) {
            return ctx.access_denied();
        }
    }
    let (mut from, mut till) = ctx.today;
    let m4_period = (ctx.arg("from_s"), ctx.arg("till_s"));
    let mor_period = (ctx.arg("s_from"), ctx.arg("s_till"));
    if let Some(f) = m4_period.0 {
        from = ruby_to_i(f);
    }
    if let Some(t) = m4_period.1 {
        till = ruby_to_i(t);
    }
    if let (Some(f), Some(t)) = mor_period {
        from = ruby_to_i(f);
        till = ruby_to_i(t);
    }
    let text_eq = |filter: Option<&str>, actual: &str| filter.is_none_or(|f| f == actual);
    let min = get("amount_min_s", "s_amount_min").and_then(|v| v.parse::<Money>().ok());
    let max = get("amount_max_s", "s_amount_max").and_then(|v| v.parse::<Money>().ok());
    let currency = get("currency_s", "s_currency");
    let username = get("username_s", "s_username");
    let first = get("first_name_s", "s_first_name");
    let last = get("last_name_s", "s_last_name");
    let transaction = ctx.arg("s_transaction");
    let completed = ctx.arg("s_completed");
    let ptype = ctx.arg("s_paymenttype");
    let card = ctx.arg("s_number").or_else(|| ctx.arg("s_pin")).is_some();
    let mut rows: Vec<(i64, &Payment)> = world
        .data
        .payments
        .iter()
        .filter_map(|p| p.date.resolve(world.today_start).ok().map(|t| (t, p)))
        .filter(|(t, _)| *t >= from && *t <= till)
        .filter(|(_, p)| user_id.is_none_or(|id| p.user_id == id))
        .filter(|(_, p)| ctx.can_act_on(world, p.user_id))
        .filter(|(_, p)| {
            let u = world.user(p.user_id);
            text_eq(username, u.map_or("", |u| u.username.as_str()))
                && text_eq(first, u.map_or("", |u| u.first_name.as_str()))
                && text_eq(last, u.map_or("", |u| u.last_name.as_str()))
        })
        .filter(|(_, p)| min.is_none_or(|m| p.amount >= m) && max.is_none_or(|m| p.amount <= m))
        .filter(|(_, p)| currency.is_none_or(|c| c.eq_ignore_ascii_case(&p.currency)))
        .filter(|(_, p)| text_eq(transaction, &p.transaction))
        .filter(|(_, p)| completed.is_none_or(|c| (c == "1") == p.completed))
        .filter(|(_, p)| text_eq(ptype, &p.paymenttype))
        .filter(|_| !card)
        .collect();
    rows.sort_by_key(|(t, p)| (*t, p.id));
    // Copied out here (the state's read lock is held); built into elements and rendered after
    // it is released.
    let rows = rows
        .into_iter()
        .map(|(t, p)| {
            let user = world.user(p.user_id);
            Row {
                time: t,
                user: user.map_or(String::new(), |u| u.username.clone()),
                payer: match ctx.product {
                    Product::Mor => user.map_or(String::new(), nice_name),
                    Product::M4 => String::new(),
                },
                payment: p.clone(),
            }
        })
        .collect();
    Reply::Listing(Listing {
        root: empty(),
        rows: super::Rows::Payments(Rows {
            product: ctx.product,
            rows,
        }),
    })
}

/// The payments an answer lists, copied out of the world.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    product: Product,
    rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq)]
struct Row {
    time: i64,
    user: String,
    /// The payer's name (MOR).
    payer: String,
    payment: Payment,
}

impl Rows {
    /// How many.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Keep the first `n` rows.
    pub fn truncate(&mut self, n: usize) {
        self.rows.truncate(n);
    }

    /// Row `i` as its `<payment>` element.
    pub fn element(&self, i: usize) -> Element {
        let Row {
            time: t,
            user,
            payer,
            payment: p,
        } = &self.rows[i];
        let gross = p.amount + p.tax;
        match self.product {
            Product::M4 => Element::new("payment")
                .leaf("user", user)
                .leaf("date", format_datetime(*t))
                .leaf("amount", p.amount)
                .leaf("amount_with_tax", gross)
                .leaf("comment", &p.comment)
                .leaf("currency", &p.currency),
            Product::Mor => Element::new("payment")
                .leaf("user", user)
                .leaf("payer", payer)
                .leaf("transaction_id", &p.transaction)
                .leaf("date", format_datetime(*t))
                .leaf("confirm_date", format_datetime(*t))
                .leaf("type", &p.paymenttype)
                .leaf("amount", p.amount)
                .leaf("fee", Money::ZERO)
                .leaf("amount_with_tax", gross)
                .leaf("currency", &p.currency)
                .leaf("completed", yes_no(p.completed))
                .leaf("confirmed_by_admin", yes_no(p.confirmed))
                .leaf("comments_for_user", &p.comment),
        }
        .leaf("user_balance_before_payment", p.balance_before)
        .leaf("user_balance_after_payment", p.balance_after)
    }
}

fn empty() -> Element {
    Element::new("page")
        .leaf("pagename", "Payments_list")
        .child(Element::new("payments"))
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::super::Reply;
    use model::catalogue::Product;

    const M: &str = "payments_get";

    fn n(r: &Reply) -> usize {
        root(r)
            .at("payments")
            .expect("test data is valid")
            .elements()
            .count()
    }

    #[test]
    fn a_listing_renders_row_by_row_exactly_as_its_whole_document() {
        for p in Product::ALL {
            let mut w = world(p);
            // A comment that needs escaping.
            for pay in &mut w.data.payments {
                pay.comment = "a <b> & \"c\"".into();
            }
            let Reply::Listing(l) = req(p, M, "admin").run_as_answered(&mut w) else {
                panic!("{p}: payments_get answers a listing");
            };
            assert_eq!(l.rows_len(), 3, "{p}");
            let whole = l.clone().document().render(model::xml::Layout::Pretty);
            assert_eq!(l.render_pretty(), whole, "{p}");
            // No rows: the empty list element, as the whole document renders it.
            let mut none = l.clone();
            none.rows.truncate(0);
            assert!(none.render_pretty().contains("<payments/>"), "{p}");
            assert_eq!(
                none.render_pretty(),
                none.document().render(model::xml::Layout::Pretty)
            );
        }
    }

    #[test]
    fn lists_todays_payments_by_default() {
        for p in Product::ALL {
            let mut w = world(p);
            let r = req(p, M, "admin").run(&mut w);
            assert_shape(p, M, &r);
            assert_eq!(n(&r), 3, "{p}");
        }
    }

    #[test]
    fn every_filter_narrows_in_both_namings() {
        let mut w = world(Product::M4);
        let month = model::world::month_start(today()).to_string();
        let all = |k: &str, v: &str| {
            req(Product::M4, M, "admin")
                .p("from_s", &month)
                .p(k, v)
                .run(&mut w.clone())
        };
        let total = n(&all("x", "y"));
        assert_eq!(total, 5);
        assert_eq!(n(&all("user_id_s", "1")), 2);
        assert_eq!(n(&all("username_s", "user3")), 2);
        assert_eq!(n(&all("first_name_s", "Test")), 5);
        assert_eq!(n(&all("last_name_s", "User 2")), 1);
        assert_eq!(n(&all("amount_min_s", "20")), 3);
        assert_eq!(n(&all("amount_max_s", "15")), 2);
        assert_eq!(n(&all("currency_s", "EUR")), 1);
        let r = req(Product::M4, M, "admin")
            .p("s_user_id", 3)
            .p("s_from", &month)
            .p("s_till", NOW)
            .run(&mut w);
        assert_eq!(n(&r), 2);
        let r = req(Product::M4, M, "admin")
            .p("s_number", "1234")
            .run(&mut w);
        assert_eq!(n(&r), 0);
        let r = req(Product::M4, M, "admin")
            .p("user_id_s", "abc")
            .run(&mut w);
        assert_eq!(n(&r), 0);
    }

    #[test]
    fn simple_users_see_only_their_own_payments() {
        let mut w = world(Product::Mor);
        let month = model::world::month_start(today()).to_string();
        let r = req(Product::Mor, M, "user1")
            .p("s_from", &month)
            .p("s_till", NOW)
            .run(&mut w);
        assert_eq!(n(&r), 2);
        let r = req(Product::Mor, M, "user1").p("s_user_id", 2).run(&mut w);
        assert_eq!(err(&r).0, "Access Denied");
        let r = req(Product::Mor, M, "admin")
            .p("s_paymenttype", "paypal")
            .p("s_from", &month)
            .p("s_till", NOW)
            .run(&mut w);
        assert_eq!(n(&r), 2);
        let r = req(Product::Mor, M, "admin")
            .p("s_completed", "0")
            .run(&mut w);
        assert_eq!(n(&r), 0);
    }
}
