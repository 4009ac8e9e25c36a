//! The integration tests of `mor-mock`, one binary: every test starts its own mock on
//! `127.0.0.1:0` (through the library, no sleeps) and stops it at the end.
//!
//! Modules: `support` (start, sign, send, read answers), `protocol` (routing, gating and its
//! precedence, parameters, admin API, overlay, robustness), `defects` (the unseen world, and
//! each deliberate defect changing an answer). Method tests go in
//! `methods_<name>.rs` modules listed below.

mod support;

mod cli;
mod defects;
mod hostile;
mod protocol;
mod proxy;
// Method behaviour modules (append here):
mod hash_rule;
mod methods_all;
mod methods_concurrency;
mod methods_documented;
mod methods_records;
mod profile_x3;
