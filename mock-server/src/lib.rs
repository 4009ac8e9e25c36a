//! `mor-mock`: a behavioural local twin of the Kolmisoft MOR / M2 / M4 legacy XML API.
//!
//! The flow of a request: `router` (paths, admin API) -> `request` (query, form and JSON
//! parameters merged as Rails does) -> `overlay` (canned answers and faults) -> `dispatch`
//! (API and GET settings, login, hash, role and permission, in the documented order) ->
//! `methods/<one file per method>` (answers computed from the `world`) -> `render` (wrappers,
//! declarations, gzip, XML extension).

pub mod clock;
pub mod generate;
pub mod methods;
pub mod world;

pub use model;
