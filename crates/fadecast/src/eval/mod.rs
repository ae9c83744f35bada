//! Evaluation: the yardstick every model is measured with.
//!
//! - [`split`]: cells split by cell (train / val / test, unseen datasets held out whole), versioned
//!   in `splits/v1.json`.
//! - [`tasks`]: `early`, `rolling`, `eol` and `first` (end of life and trajectory from the first N
//!   cycles) as forecast windows, identical for every model.
//! - [`forecaster`]: the [`Forecaster`] trait; a forecaster sees only the context.
//! - [`baselines`]: persistence, linear, exponential (single, double), power law, GP, per-dataset.
//! - [`calibrate`]: intervals for point forecasters from their val-split errors.
//! - [`perturb`]: robustness probes (SOH shifted, cycle axis stretched).
//! - [`run`]: scores a forecaster; [`metrics`]: the scores; [`report`] / [`plot`]: the outputs.
//!
//! # `metrics.json` (schema version 1)
//!
//! ```text
//! {
//!   "schema_version": 1,
//!   "model": str, "model_settings": str,    // name, and what tuning chose
//!   "probabilistic": bool,                  // false: coverage and pinball are null
//!   "task": "early" | "rolling" | "eol" | "eol<N>" | "first<N>",   // eol from other than 100 cycles: "eol20"
//!   "split": "test" | "unseen" | "all" | "data",
//!   "split_version": int | null,            // the split file used (null for --data)
//!   "units": {"mae", "rmse", "mape"},       // "SOH percentage points" (eol: "cycles"), "%"
//!   "n_windows": int,
//!   "perturbation"?: {"soh_shift", "cycle_scale"},  // only for a robustness probe
//!   "macro":        {"n_datasets", "n_cells", "mae", "rmse", "mape", "coverage_p10_p90",
//!                    "pinball", "bias", "acc15"?, "horizon"?} | null,   // mean over all datasets scored
//!   "macro_seen":   same | null,            // over datasets seen in training
//!   "macro_unseen": same | null,            // over held-out datasets (or a user's data)
//!   "datasets": {"<name>": {"seen": bool, "n_cells", "n_points", "mae", "rmse", "mape",
//!                "coverage_p10_p90", "pinball", "bias", "acc15"?,
//!                "horizon"?: [{"cycles_ahead": "100-200", "n_points", "mae", "bias"}]}},
//!   "cells_without_window": {"<dataset>": int},
//!   "cells": [{"dataset", "cell_id", "split", "n_windows", "n_points", "mae", "rmse", "mape",
//!              "coverage_p10_p90", "pinball", "bias",
//!              "eol_true"?, "eol_pred"?, "eol_interval"?, "eol_censored"?, "eol_within_15"?}]
//! }
//! ```
//! `acc15` and the `eol_*` fields appear for the `eol` task only, `horizon` for the others.
//! `bias` (the median's mean signed error: SOH pp, or cycles for `eol`) is `null` in files written
//! before it was added. How
//! each number is computed is in [`metrics`]; which cells and windows, in [`split`] and [`tasks`].

pub mod baselines;
pub mod calibrate;
pub mod forecaster;
pub mod metrics;
pub mod perturb;
pub mod plot;
pub mod report;
pub mod run;
pub mod split;
pub mod tasks;

pub use forecaster::{Context, Forecaster, Quantiles};
pub use run::{evaluate, MetricsReport, Selected, Selection};
pub use split::{Split, SplitFile, UNSEEN_DATASETS};
pub use tasks::Task;
