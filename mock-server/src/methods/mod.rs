//! Method implementations: one file per method of the catalogue, each computing its answer from
//! the world. This is the stage after `dispatch` (which has already checked API/GET settings,
//! login, hash, role and permission) and before `render` (which turns a [`Reply`] into bytes in
//! the documented wrapper, declaration and delivery).
//!
//! A read method gets `&World`, a write method `&mut World` under the write lock, so writes are
//! atomic and seen by later reads.

use model::catalogue::{Method, Product, Role, Scope, Wrapper};
use model::params::Params;
use model::world::{Money, User};
use model::xml::{render_element, Document, Element, Layout, Node};
use model::{Catalogue, Quirks, Settings};

use crate::defect::Defect;
use crate::world::World;

pub mod active_calls_get;
pub mod aggregate_get;
pub mod credit_notes_get;
pub mod device_details_get;
pub mod devices_get;
pub mod exchange_rate_update;
pub mod financial_statements_get;
pub mod invoices_get;
pub mod payment_create;
pub mod payments_get;
pub mod quickstats_get;
pub mod rate_get;
pub mod subscriptions_get;
pub mod tariff_rates_get;
pub mod tariff_retail_import;
pub mod tariff_wholesale_update;
pub mod user_balance_get;
pub mod user_balance_update;
pub mod user_calls_get;
pub mod user_details_get;
pub mod user_login;
pub mod user_logout;
pub mod user_simple_balance_get;

/// Everything a method needs to know about the request, already authenticated.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The product being mocked.
    pub product: Product,
    /// The catalogue entry.
    pub method: &'a Method,
    /// The merged request parameters.
    pub params: &'a Params,
    /// The caller resolved from `u` (None for methods that do not log in).
    pub caller: Option<&'a User>,
    /// Settings in force.
    pub settings: &'a Settings,
    /// Quirks in force.
    pub quirks: &'a Quirks,
    /// Unix time now.
    pub now: i64,
    /// Today's 00:00:00 and 23:59:59.
    pub today: (i64, i64),
}

impl Ctx<'_> {
    /// A parameter's value, or its documented default resolved against the clock.
    pub fn param_or_default(&self, name: &str) -> Option<String> {
        self.params.get(name).map(str::to_string).or_else(|| {
            self.method
                .param(name)
                .and_then(|p| p.resolved_default(self.today))
        })
    }

    /// Whether the caller may act on the user `target` under the method's access scope.
    pub fn can_act_on(&self, world: &World, target: u64) -> bool {
        let Some(caller) = self.caller else {
            return false;
        };
        let Some(access) = self.method.access_for(caller.role) else {
            return false;
        };
        match access.scope {
            Scope::Any => true,
            Scope::Own => caller.id == target,
            Scope::OwnAndOwned => {
                caller.id == target || world.user(target).is_some_and(|u| u.owner_id == caller.id)
            }
            Scope::AdminUsers => world.user(target).is_some_and(|u| u.owner_id == 0),
        }
    }

    /// A sent, non-empty parameter value.
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.params.get(name).filter(|v| !v.is_empty())
    }

    /// Whether a 0/1 flag parameter is `1` (absent: its catalogue default).
    pub fn flag(&self, name: &str) -> bool {
        self.param_or_default(name).is_some_and(|v| v.trim() == "1")
    }

    /// A timestamp parameter (or its default) read the way Ruby's `to_i` reads it: leading
    /// digits, anything else 0.
    pub fn time_param(&self, name: &str, fallback: i64) -> i64 {
        self.param_or_default(name)
            .map_or(fallback, |v| ruby_to_i(&v))
    }

    /// The caller's role (`None` when the method does not log in).
    pub fn role(&self) -> Option<Role> {
        self.caller.map(|c| c.role)
    }

    /// The caller's id (0, the admin, when the method does not log in).
    pub fn caller_id(&self) -> u64 {
        self.caller.map_or(0, |c| c.id)
    }

    /// The product's general `Access Denied` answer.
    pub fn access_denied(&self) -> Reply {
        let g = &Catalogue::embedded()
            .product(self.product)
            .general
            .access_denied;
        self.error(&g.text, g.wrapper)
    }

    /// An error reply using the method's documented wrapper for `text` (or `fallback`).
    pub fn error(&self, text: &str, fallback: Wrapper) -> Reply {
        let wrapper = self
            .method
            .error(text)
            .map(|e| e.wrapper)
            .unwrap_or(fallback);
        Reply::Error {
            text: text.to_string(),
            wrapper,
        }
    }
}

/// What a method answers, before rendering.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A success document (declaration included); delivery (gzip, XML extension) is applied by
    /// `render` from the catalogue and settings.
    Xml(Document),
    /// A success document already written in the pretty layout (declaration included) by a
    /// [`model::xml::PrettyWriter`], without building its tree; delivered as [`Reply::Xml`] is.
    Rendered(String),
    /// A plain-text answer (user_simple_balance_get).
    Text(String),
    /// An error text in a wrapper.
    Error {
        /// The error text.
        text: String,
        /// Its wrapper.
        wrapper: Wrapper,
    },
    /// An `<action>` answer (login/logout): name, status and optional extra elements.
    Action(Document),
    /// An HTTP redirect (Allow API Login Redirect).
    Redirect(String),
    /// A success document ending in a long list, kept as rows copied out of the world and
    /// rendered after the state's lock is released ([`Listing`]).
    Listing(Listing),
}

impl Reply {
    /// The same answer with a [`Reply::Listing`] built into a whole document (for what changes
    /// a document: defects, unit tests).
    pub fn settled(self) -> Reply {
        match self {
            Reply::Listing(l) => Reply::Xml(l.document()),
            Reply::Rendered(text) => match model::xml::parse_pretty(&text) {
                Ok(doc) => Reply::Xml(doc),
                // Not reached: a writer's text parses.
                Err(_) => Reply::Rendered(text),
            },
            other => other,
        }
    }
}

/// A success document whose root's last child is a long list (payments_get over 200,000
/// payments). Its rows are values copied out of the world while the handler holds the state's
/// read lock; they become elements one at a time while the answer is rendered, after the lock
/// is released: no writer waits for the rendering, and the answer never exists as a whole tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    /// The root; its last child is the list element, empty.
    pub root: Element,
    /// The list's rows.
    pub rows: Rows,
}

/// The rows of a [`Listing`], by method.
#[derive(Debug, Clone, PartialEq)]
pub enum Rows {
    /// payments_get.
    Payments(payments_get::Rows),
}

impl Rows {
    fn len(&self) -> usize {
        match self {
            Rows::Payments(r) => r.len(),
        }
    }

    /// Keep the first `n` rows.
    pub fn truncate(&mut self, n: usize) {
        match self {
            Rows::Payments(r) => r.truncate(n),
        }
    }

    fn element(&self, i: usize) -> Element {
        match self {
            Rows::Payments(r) => r.element(i),
        }
    }
}

impl Listing {
    /// How many rows.
    pub fn rows_len(&self) -> usize {
        self.rows.len()
    }

    /// The whole document, every row an element.
    pub fn document(mut self) -> Document {
        let rows: Vec<Element> = (0..self.rows.len()).map(|i| self.rows.element(i)).collect();
        if let Some(Node::Element(list)) = self.root.children.last_mut() {
            for row in rows {
                list.push(row);
            }
        }
        Document::new(self.root)
    }

    /// Exactly what `document().render(Layout::Pretty)` renders, one row element at a time.
    pub fn render_pretty(&self) -> String {
        let simple = |e: &Element| e.attrs.is_empty();
        let head = &self.root.children[..self.root.children.len().saturating_sub(1)];
        let list = match self.root.children.last() {
            Some(Node::Element(list))
                if self.rows.len() > 0
                    && simple(&self.root)
                    && simple(list)
                    && list.children.is_empty()
                    && head.iter().all(|n| matches!(n, Node::Element(_))) =>
            {
                list
            }
            // Nothing to gain, or a shape the row-at-a-time path does not write: the whole tree.
            _ => return self.clone().document().render(Layout::Pretty),
        };
        let mut out = String::with_capacity(64 + self.rows.len() * 512);
        let decl = Document::new(Element::new("x")).declaration;
        if !decl.as_str().is_empty() {
            out.push_str(decl.as_str());
            out.push('\n');
        }
        out.push('<');
        out.push_str(&self.root.name);
        out.push('>');
        for n in head {
            if let Node::Element(c) = n {
                out.push('\n');
                render_element(c, Layout::Pretty, 1, &mut out);
            }
        }
        out.push_str("\n  <");
        out.push_str(&list.name);
        out.push('>');
        for i in 0..self.rows.len() {
            out.push('\n');
            render_element(&self.rows.element(i), Layout::Pretty, 2, &mut out);
        }
        out.push_str("\n  </");
        out.push_str(&list.name);
        out.push_str(">\n</");
        out.push_str(&self.root.name);
        out.push_str(">\n");
        out
    }
}

/// A method implementation.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Reads the world.
    Read(fn(&Ctx<'_>, &World) -> Reply),
    /// Changes the world (run under the write lock).
    Write(fn(&Ctx<'_>, &mut World) -> Reply),
}

/// The implementation of a catalogue method, by canonical name. Methods a user adds to the
/// catalogue have none and are answered from their catalogue sample by `dispatch`.
pub fn handler(name: &str) -> Option<Handler> {
    Some(match name {
        "user_balance_update" => Handler::Write(user_balance_update::run),
        "user_balance_get" => Handler::Read(user_balance_get::run),
        "user_simple_balance_get" => Handler::Read(user_simple_balance_get::run),
        "user_calls_get" => Handler::Read(user_calls_get::run),
        "exchange_rate_update" => Handler::Write(exchange_rate_update::run),
        "devices_get" => Handler::Read(devices_get::run),
        "device_details_get" => Handler::Read(device_details_get::run),
        "user_login" => Handler::Read(user_login::run),
        "user_logout" => Handler::Read(user_logout::run),
        "payment_create" => Handler::Write(payment_create::run),
        "payments_get" => Handler::Read(payments_get::run),
        "tariff_rates_get" => Handler::Read(tariff_rates_get::run),
        "tariff_wholesale_update" => Handler::Write(tariff_wholesale_update::run),
        "quickstats_get" => Handler::Read(quickstats_get::run),
        "aggregate_get" => Handler::Read(aggregate_get::run),
        "user_details_get" => Handler::Read(user_details_get::run),
        "rate_get" => Handler::Read(rate_get::run),
        "subscriptions_get" => Handler::Read(subscriptions_get::run),
        "invoices_get" => Handler::Read(invoices_get::run),
        "credit_notes_get" => Handler::Read(credit_notes_get::run),
        "financial_statements_get" => Handler::Read(financial_statements_get::run),
        "active_calls_get" => Handler::Read(active_calls_get::run),
        "tariff_retail_import" => Handler::Write(tariff_retail_import::run),
        _ => return None,
    })
}

/// The answer of a read method broken by `defect`, when that defect lives in the method's handler
/// (quickstats, aggregate, calls and balance defects; see `defect`). `None`: the defect lives
/// elsewhere and the plain handler answers. Only `dispatch` calls this, and only when a defect
/// is on, so the plain handlers stay as they are.
pub fn answer_with_defect(defect: Defect, ctx: &Ctx<'_>, world: &World) -> Option<Reply> {
    let d = Some(defect);
    Some(match ctx.method.name.as_str() {
        "quickstats_get" => quickstats_get::answer(ctx, world, d),
        "aggregate_get" => aggregate_get::answer(ctx, world, d),
        "user_calls_get" => user_calls_get::answer(ctx, world, d),
        "user_balance_get" => user_balance_get::answer(ctx, world, d),
        _ => return None,
    })
}

/// A success document with the usual declaration.
pub fn xml(root: Element) -> Reply {
    Reply::Xml(Document::new(root))
}

/// Ruby's `String#to_i`: optional sign and leading digits; anything else (or overflow) is 0.
pub fn ruby_to_i(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, d) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: String = d.chars().take_while(char::is_ascii_digit).collect();
    let v: i64 = digits.parse().unwrap_or(0);
    if neg {
        -v
    } else {
        v
    }
}

/// A strict id: decimal digits only.
pub fn parse_id(s: &str) -> Option<u64> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// `first last` of a user, or the username when both are empty.
pub fn nice_name(u: &User) -> String {
    let n = format!("{} {}", u.first_name, u.last_name);
    let n = n.trim();
    if n.is_empty() {
        u.username.clone()
    } else {
        n.to_string()
    }
}

/// A balance with four decimals, as MOR shows balances (`60.0000`).
pub fn balance4(m: Money) -> String {
    m.fixed(4)
}

/// Unit-test support: build a [`Ctx`] over a default world with a pinned clock.
#[cfg(test)]
pub(crate) mod testkit {
    use super::*;
    use crate::generate::default_world;

    /// A pinned "now": 2026-11-23 14:30:00 UTC (a Monday).
    pub const NOW: i64 = 1_795_444_200;

    /// Today's 00:00:00.
    pub fn today() -> i64 {
        NOW.div_euclid(86_400) * 86_400
    }

    /// The default world of a product at [`NOW`].
    pub fn world(p: Product) -> World {
        World::build(default_world(p, 42, NOW), today())
    }

    /// A request to a method.
    pub struct Req {
        /// Product.
        pub product: Product,
        /// Canonical method name.
        pub method: &'static str,
        /// Caller username.
        pub caller: Option<String>,
        /// Parameters.
        pub params: Params,
        /// Settings.
        pub settings: Settings,
        /// Quirks.
        pub quirks: Quirks,
    }

    /// Start a request as `caller`.
    pub fn req(product: Product, method: &'static str, caller: &str) -> Req {
        Req {
            product,
            method,
            caller: Some(caller.to_string()).filter(|c| !c.is_empty()),
            params: Params::new(),
            settings: Settings::default(),
            quirks: Quirks::default(),
        }
    }

    impl Req {
        /// Add a parameter.
        pub fn p(mut self, k: &str, v: impl ToString) -> Self {
            self.params.push(k, v.to_string());
            self
        }

        /// Run against the world (read or write); a listing built into its document.
        pub fn run(&self, w: &mut World) -> Reply {
            self.run_as_answered(w).settled()
        }

        /// Run against the world, the reply as the handler answers it.
        pub fn run_as_answered(&self, w: &mut World) -> Reply {
            let m = Catalogue::embedded()
                .method(self.product, self.method)
                .expect("method");
            let caller = self
                .caller
                .as_deref()
                .and_then(|c| w.user_by_name(c))
                .cloned();
            let ctx = Ctx {
                product: self.product,
                method: m,
                params: &self.params,
                caller: caller.as_ref(),
                settings: &self.settings,
                quirks: &self.quirks,
                now: NOW,
                today: (today(), today() + 86_399),
            };
            match handler(self.method).expect("handler") {
                Handler::Read(f) => f(&ctx, w),
                Handler::Write(f) => f(&ctx, w),
            }
        }
    }

    /// The root element of a success, or panic with the reply.
    pub fn root(r: &Reply) -> &Element {
        match r {
            Reply::Xml(d) | Reply::Action(d) => &d.root,
            other => panic!("not XML: {other:?}"),
        }
    }

    /// The text at a path below the root.
    pub fn text(r: &Reply, path: &str) -> String {
        root(r)
            .at(path)
            .unwrap_or_else(|| panic!("no {path} in {r:?}"))
            .text_content()
    }

    /// The error text of an error reply.
    pub fn err(r: &Reply) -> (&str, Wrapper) {
        match r {
            Reply::Error { text, wrapper } => (text.as_str(), *wrapper),
            other => panic!("not an error: {other:?}"),
        }
    }

    /// Check a success against the catalogue sample's element tree (names and order, with
    /// repeated elements allowed and elements of an empty list absent).
    pub fn assert_shape(product: Product, method: &str, r: &Reply) {
        let m = Catalogue::embedded()
            .method(product, method)
            .expect("method");
        let sample = model::xml::parse(&m.response.sample).expect("sample parses");
        fn go(exp: &Element, act: &Element, path: &str) {
            assert_eq!(exp.name, act.name, "at {path}");
            let exp_names: Vec<&str> = exp.elements().map(|e| e.name.as_str()).collect();
            let act_names: Vec<&str> = act.elements().map(|e| e.name.as_str()).collect();
            let mut dedup = act_names.clone();
            dedup.dedup();
            for a in &dedup {
                assert!(
                    exp_names.contains(a),
                    "{path}: unexpected <{a}> ({act_names:?})"
                );
            }
            let order: Vec<usize> = dedup
                .iter()
                .map(|a| exp_names.iter().position(|e| e == a).unwrap_or(0))
                .collect();
            assert!(
                order.windows(2).all(|w| w[0] < w[1]),
                "{path}: order {act_names:?}"
            );
            for c in act.elements() {
                if let Some(e) = exp.find(&c.name) {
                    go(e, c, &format!("{path}/{}", c.name));
                }
            }
        }
        go(&sample.root, root(r), &sample.root.name);
    }
}
