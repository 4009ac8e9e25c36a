//! `mor-conformance`: checks any MOR / M2 / M4 API endpoint against the scenario suite,
//! generated signature properties and XML snapshots, and reports like a CI tool.
//!
//! The flow of `run`: `plan` (load and select scenarios) -> `client` (sign from the catalogue
//! and send) -> `check` (exact, structural, invariant, protocol and policy checks) -> `report`
//! (terminal, JUnit, JSON). `hash` and `schema` expose the shared model directly.

pub mod capture;
pub mod check;
pub mod client;
pub mod diff;
pub mod discover;
pub mod exit;
pub mod flags;
pub mod hash;
pub mod html;
pub mod inproc;
pub mod methods;
pub mod plan;
pub mod probe;
pub mod props;
pub mod record;
pub mod report;
pub mod run;
pub mod secret;
pub mod target;

pub use model;
