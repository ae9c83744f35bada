//! fadecast: forecast battery capacity fade from capacity history alone.
//!
//! The crate mirrors the pipeline in DESIGN.md:
//! raw files ─[`import`]─▶ [`data::Cell`] ─[`corpus`]─▶ Parquet corpus ─▶ windows ─▶ model ─▶ forecast / eval.

pub mod corpus;
pub mod data;
pub mod error;
pub mod eval;
pub mod import;

pub use data::{Cell, CellMeta, Cycle, Descriptor, DESCRIPTORS, N_DESCRIPTORS};
pub use error::{ImportError, Result};
