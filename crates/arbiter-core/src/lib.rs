//! Arbiter's domain types and the pure layers of its controller.
//!
//! The six layers of one controller tick: observe ([`snapshot`]), featurize ([`features`]),
//! predict ([`predict`]), propose ([`agents`]), referee ([`referee`]) and act ([`execution`]).
//! Layers 2 to 5 are pure and joined in [`controller`]; observing and acting happen in the
//! simulator and the live adapters.

#![deny(missing_docs)]

pub mod action;
pub mod agents;
pub mod controller;
pub mod discipline;
pub mod energy;
pub mod error;
pub mod execution;
pub mod features;
pub mod predict;
pub mod referee;
pub mod replay;
pub mod series;
pub mod snapshot;
pub mod stats;
