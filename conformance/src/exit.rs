//! Exit codes, mapped in one place (PRODUCT.md principle 7).

/// Everything passed.
pub const PASS: i32 = 0;
/// The command line was wrong.
pub const USAGE: i32 = 1;
/// A scenario (or catalogue, target) file is invalid.
pub const INVALID_SCENARIO: i32 = 2;
/// The target could not be reached or the runner failed at run time.
pub const RUNTIME: i32 = 3;
/// At least one check failed.
pub const ASSERTION: i32 = 4;
