//! The shared model of the Kolmisoft MOR / M2 / M4 legacy XML API.
//!
//! Pure and synchronous: no runtime, no network. Both `mor-mock` and `mor-conformance` are built
//! on it, so the API is described exactly once:
//!
//! - [`catalogue`]: every method, per product, as data (names, aliases, parameters, hash order,
//!   access, answers, errors);
//! - [`engine`]: behaviour declared as data (list, find, create, update, delete over the world's
//!   records), as a catalogue entry declares it for the mock's engine;
//! - [`params`]: request parameters as an ordered list, with Rails' lookup rules;
//! - [`sign`]: hash strings and digests from the catalogue, with explained mismatches;
//! - [`hash_rule`]: MOR's global hash rule as the X3 server code computes it (ordered names and
//!   value filters), selected by the quirk `mor_hash_rule`;
//! - [`mask`]: what of a request or an answer may be shown (credentials, digests, known
//!   secrets), for the runner's reports and the mock's proxy alike;
//! - [`xml`]: rendering in the documented shapes, canonical form and path-naming diffs;
//! - [`scenario`]: the scenario file format v1 (world, settings, quirks, overlay, cases);
//! - [`profile`]: server generations as presets (every quirk position at once, with evidence);
//! - [`records`]: the world's collections seen alike, as records the catalogue's engine methods use;
//! - [`world`], [`settings`], [`quirks`]: the data a scenario describes and the mock computes
//!   from.

pub mod answer;
pub mod catalogue;
pub mod engine;
pub mod error;
pub mod facts;
pub mod hash_rule;
pub mod mask;
pub mod params;
pub mod patch;
pub mod profile;
pub mod quirks;
pub mod records;
pub mod scenario;
pub mod settings;
pub mod sign;
pub mod world;
pub mod xml;
pub mod yaml;

pub use catalogue::{Catalogue, Method, Product, Role};
pub use error::{LoadError, SourceError};
pub use params::Params;
pub use quirks::Quirks;
pub use settings::Settings;
