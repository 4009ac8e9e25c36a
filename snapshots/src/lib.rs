//! The regression snapshot suite of the workspace (see `README.md` beside this file).
//!
//! The package holds no library code: its test target (`tests/suite.rs`) runs every
//! `snapshot: true` case of `scenarios/` against the in-process mock for both products and keeps
//! one `.snap` file per product, method and case in `m4/` and `mor/`. Being a workspace member is
//! what makes `cargo insta pending-snapshots`, `review` and `accept` find them from the root.
