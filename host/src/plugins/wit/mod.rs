//! The plugin contract, one module per released version beside its bindings, each converting
//! between its generated types and the host model (`crate::model`). A plugin built for an older
//! contract is adapted to the latest host types; the host itself only works with the model.

pub mod since_v0_1;
