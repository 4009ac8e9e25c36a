//! Method implementations: one file per method of the catalogue, each computing its answer from
//! the world. This is the stage after `dispatch` (which has already checked API/GET settings,
//! login, hash, role and permission) and before `render` (which turns a [`Reply`] into bytes in
//! the documented wrapper, declaration and delivery).
//!
//! A read method gets `&World`, a write method `&mut World` under the write lock, so writes are
//! atomic and seen by later reads.

use model::catalogue::{Method, Product, Scope, Wrapper};
use model::params::Params;
use model::world::User;
use model::xml::Document;
use model::{Quirks, Settings};

use crate::world::World;

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

    /// An error reply using the method's documented wrapper for `text` (or `fallback`).
    pub fn error(&self, text: &str, fallback: Wrapper) -> Reply {
        let wrapper = self.method.error(text).map(|e| e.wrapper).unwrap_or(fallback);
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
    let _ = name;
    None
}
