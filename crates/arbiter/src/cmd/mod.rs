//! One module per top-level command. Each stays thin and calls into the library crates.

pub mod apiserver;
pub mod compare;
pub mod dashboard;
pub mod eval;
pub mod exercise;
pub mod hpa;
pub mod live;
pub mod model;
pub mod replay;
pub mod report;
pub mod trace;
pub mod train;
