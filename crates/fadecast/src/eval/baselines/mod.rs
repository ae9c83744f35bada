//! The baselines, by name, and how each is fitted before scoring.
//!
//! Every tuned choice uses the train and val splits of the seen datasets only ([`TrainData`]);
//! test and unseen cells are never looked at until they are scored.
//!
//! | name | what | tuned on |
//! |---|---|---|
//! | `persistence` | last observed SOH | nothing |
//! | `linear` | OLS line through the last part of the context | fraction of context: val |
//! | `exp` | a·e^{bt}, Huber-robust fit to the context | per cell; intervals: val |
//! | `exp2` | a·e^{bt} + c·e^{dt}, Huber-robust | per cell; intervals: val |
//! | `power` | q₀ − a·t^z, Huber-robust | per cell; intervals: val |
//! | `gp` | GP, linear mean, Matérn-5/2 | per cell, marginal likelihood |
//! | `per_dataset` | ridge multi-horizon linear model per dataset | train split; L, λ, intervals: val |

pub mod exponential;
pub mod fit;
pub mod gp;
pub mod linear;
pub mod per_dataset;
pub mod persistence;
pub mod power_law;

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::calibrate::Calibrated;
use super::forecaster::Forecaster;
use super::split::Split;
use super::tasks::{windows, Target, Task, Window};
use crate::data::Cell;

/// `(name, one-line description)` of every baseline, in report order.
pub const BASELINES: [(&str, &str); 7] = [
    ("persistence", "last observed SOH, held flat"),
    ("linear", "least-squares line through the last part of the context (fraction chosen on val)"),
    ("exp", "single exponential a·exp(bt), Huber-robust fit to the context; intervals calibrated on val"),
    ("exp2", "double exponential a·exp(bt) + c·exp(dt), Huber-robust; intervals calibrated on val"),
    ("power", "power law q0 − a·t^z (z = 0.5: sqrt-time SEI growth), Huber-robust; intervals calibrated on val"),
    ("gp", "Gaussian process, linear mean, Matérn-5/2, hyperparameters by marginal likelihood"),
    ("per_dataset", "ridge multi-horizon linear model trained on the dataset's train split; L, λ and intervals on val"),
];

pub fn is_baseline(name: &str) -> bool {
    BASELINES.iter().any(|(n, _)| *n == name)
}

/// The cells a baseline may learn from: the corpus with its split labels.
pub struct TrainData<'a> {
    pub cells: &'a [Cell],
    pub splits: &'a [Split],
}

impl TrainData<'_> {
    /// The `early` and `rolling` windows of the val cells (what tuning and intervals see).
    pub fn val_windows(&self) -> Vec<Window> {
        let val = |i: usize| self.splits[i] == Split::Val;
        let mut w = windows(self.cells, Task::Early, val);
        w.extend(windows(self.cells, Task::Rolling, val));
        w
    }

    /// Train cells by dataset.
    pub fn train_by_dataset(&self) -> BTreeMap<String, Vec<&Cell>> {
        let mut m: BTreeMap<String, Vec<&Cell>> = BTreeMap::new();
        for (c, s) in self.cells.iter().zip(self.splits) {
            if *s == Split::Train {
                m.entry(c.meta.dataset.clone()).or_default().push(c);
            }
        }
        m
    }
}

/// Macro (mean over datasets of the mean per-window) RMSE of `f`'s p50 on trajectory windows:
/// the selection score for tuned baselines.
pub fn val_score(f: &dyn Forecaster, windows: &[Window]) -> f64 {
    let per_window: Vec<(String, f64)> = windows
        .par_iter()
        .filter_map(|w| match &w.target {
            Target::Trajectory { cycles, soh } => {
                let p = f.forecast(&w.context, cycles).p50;
                let mse = p.iter().zip(soh).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / soh.len() as f64;
                Some((w.context.dataset.clone(), mse.sqrt()))
            }
            Target::Eol { .. } => None,
        })
        .collect();
    let mut by: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for (d, r) in per_window {
        let e = by.entry(d).or_default();
        e.0 += r;
        e.1 += 1;
    }
    by.values().map(|(s, n)| s / *n as f64).sum::<f64>() / by.len().max(1) as f64
}

/// Builds baseline `name`, fitting what it needs on `data` (`None`: no corpus; only the
/// baselines that need no training are available).
pub fn build(name: &str, data: Option<&TrainData>) -> Result<Box<dyn Forecaster>, String> {
    let needs = |what: &str| format!("baseline `{name}` needs --corpus: its {what} is chosen on the corpus's val split");
    Ok(match name {
        "persistence" => Box::new(persistence::Persistence),
        "gp" => Box::new(gp::Gp),
        "linear" => {
            let data = data.ok_or_else(|| needs("fitting window"))?;
            let val = data.val_windows();
            let best = linear::FRACTIONS
                .iter()
                .map(|f| (val_score(&linear::Linear { fraction: *f }, &val), *f))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .expect("non-empty grid");
            Box::new(linear::Linear { fraction: best.1 })
        }
        "exp" | "exp2" | "power" => {
            let data = data.ok_or_else(|| needs("interval width"))?;
            let inner: Box<dyn Forecaster> = match name {
                "exp" => Box::new(exponential::Exponential),
                "exp2" => Box::new(exponential::DoubleExponential),
                _ => Box::new(power_law::PowerLaw),
            };
            Box::new(Calibrated::new(inner, &data.val_windows()))
        }
        "per_dataset" => {
            let data = data.ok_or_else(|| needs("training data"))?;
            let val = data.val_windows();
            let mut val_by: BTreeMap<String, Vec<&Window>> = BTreeMap::new();
            for w in &val {
                val_by.entry(w.context.dataset.clone()).or_default().push(w);
            }
            let model = per_dataset::PerDataset::train(&data.train_by_dataset(), &val_by);
            Box::new(Calibrated::new(Box::new(model), &val))
        }
        _ => {
            let names: Vec<&str> = BASELINES.iter().map(|(n, _)| *n).collect();
            return Err(format!("unknown model `{name}`: the baselines are {}", names.join(", ")));
        }
    })
}
