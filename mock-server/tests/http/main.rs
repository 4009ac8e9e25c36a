//! tmp
mod support;
