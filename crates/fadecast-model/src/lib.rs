//! The universal capacity-fade forecaster (issue 4): a Timer-style decoder-only transformer over
//! patches of the SOH series, trained with a quantile loss plus a physics-guided contrastive term,
//! adapted to new cells with LoRA.
//!
//! - [`model`]: the network, its config, per-series normalisation, KV cache.
//! - [`windows`]: corpus cells → cycle grid → training windows with descriptor vectors.
//! - [`synthetic`]: textbook fade curves mixed into the training windows.
//! - [`train`]: the loss, the training loop, checkpoints and resume.
//! - [`lora`]: LoRA adapters on a frozen base.
//! - [`forecast`]: context → quantile trajectory, end of life, remaining useful life.

pub mod model;
pub mod windows;
pub mod synthetic;
pub mod train;
pub mod lora;
pub mod forecast;

/// The tensor device (`Device::flex()`: the pure-Rust CPU backend).
pub use burn::tensor::Device;
