//! `mor-mock`: a behavioural local twin of the Kolmisoft MOR / M2 / M4 legacy XML API.
//!
//! The flow of a request: `server` (the edge: an axum router with tower-http body limits and
//! tracing, served by hyper-util) -> `router` (the method name in the path) -> `request` (query, form and JSON
//! parameters merged as Rails does) -> `overlay` (canned answers and faults) -> `dispatch`
//! (API and GET settings, login, hash, role and permission, in the documented order) ->
//! `methods/<one file per method>` (answers computed from the `world`), or `engine` for a method
//! whose behaviour the catalogue declares as data -> `render` (wrappers,
//! declarations, gzip, XML extension) -> `journal` (the last requests, counts per outcome).
//!
//! Around it: `config` (what an instance starts from: product, settings and quirks patches,
//! scenarios, seed, clock; and, to measure the conformance suite, an `unseen` world and one
//! deliberate `defect`), `state` (the shared live world, settings, quirks, overlay and the
//! start state for reset), `auth` (login, secrets, hash verification), `admin` (the `/__admin/`
//! API) and `server` (the edge [`server::app`], the in-process [`server::handle`] entry through
//! the same router, the listener and [`MockServer`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), mock_server::ConfigError> {
//! let server = mock_server::MockServer::start(mock_server::MockConfig::new(model::Product::M4)).await?;
//! let base = server.url(); // http://127.0.0.1:PORT, serving /billing/api/<method>
//! # let _ = base;
//! server.shutdown().await;
//! # Ok(()) }
//! ```

pub mod clock;
pub mod generate;
pub mod methods;
pub mod unseen;
pub mod world;

pub mod admin;
pub mod auth;
pub mod cli_docs;
pub mod config;
pub mod defect;
pub mod delivery;
pub mod dispatch;
pub mod engine;
pub mod head_deadline;
pub mod journal;
pub mod login_throttle;
pub mod overlay;
pub mod proxy;
pub mod redact;
pub mod render;
pub mod request;
pub mod router;
pub mod server;
pub mod state;

pub use config::{ConfigError, MockConfig};
pub use defect::Defect;
pub use model;
pub use server::{handle, Answer, Delivery, MockServer};
pub use state::Shared;
pub use unseen::{unseen_accounts, unseen_facts, unseen_world, UnseenAccount};
