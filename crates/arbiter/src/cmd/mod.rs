//! One module per top-level command. Each stays thin and calls into the library crates.

pub mod compare;
pub mod hpa;
pub mod model;
pub mod replay;
