//! The one interface every model is scored through: a [`Forecaster`] sees a [`Context`] (a cell's
//! history up to the forecast origin, nothing after it) and returns [`Quantiles`] of SOH at the
//! cycles it is asked about.
//!
//! "No data past the origin" is enforced by construction: a [`Context`] owns copies of the
//! observations up to the origin only (see [`Context::new`]); the rest of the cell never reaches
//! the forecaster. The cycles to forecast are the only thing it learns about the future.

use rayon::prelude::*;

use crate::data::{Cell, Observation};

/// The quantile levels every forecast carries.
pub const QUANTILE_LEVELS: [f64; 3] = [0.1, 0.5, 0.9];

/// A cell's history up to and including the forecast origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// The dataset the cell belongs to (per-dataset models pick their weights by it).
    pub dataset: String,
    /// Per-cycle or check-up observation (check-up series are sparse).
    pub observation: Observation,
    cycles: Vec<f64>,
    soh: Vec<f64>,
}

impl Context {
    /// The first `n` observations of `cell`: the only way to make a context from a cell.
    pub fn new(cell: &Cell, n: usize) -> Self {
        let n = n.min(cell.cycles.len());
        Self {
            dataset: cell.meta.dataset.clone(),
            observation: cell.meta.observation,
            cycles: cell.cycles[..n].iter().map(|c| c.cycle).collect(),
            soh: cell.cycles[..n].iter().map(|c| c.soh).collect(),
        }
    }

    /// A context from bare series (tests, user data). `cycles` must be increasing.
    pub fn from_series(dataset: &str, observation: Observation, cycles: Vec<f64>, soh: Vec<f64>) -> Self {
        assert_eq!(cycles.len(), soh.len(), "cycles and soh must have the same length");
        Self { dataset: dataset.to_string(), observation, cycles, soh }
    }

    pub fn cycles(&self) -> &[f64] {
        &self.cycles
    }
    pub fn soh(&self) -> &[f64] {
        &self.soh
    }
    pub fn len(&self) -> usize {
        self.cycles.len()
    }
    pub fn is_empty(&self) -> bool {
        self.cycles.is_empty()
    }
    /// The forecast origin: the last observed cycle.
    pub fn origin(&self) -> f64 {
        *self.cycles.last().expect("a context is never empty")
    }
    /// Cycles from the first to the last observation (at least 1, so it can scale time).
    pub fn span(&self) -> f64 {
        (self.origin() - self.cycles[0]).max(1.0)
    }
}

/// SOH quantiles at the requested cycles (p10 ≤ p50 ≤ p90 at every point).
#[derive(Debug, Clone, PartialEq)]
pub struct Quantiles {
    pub p10: Vec<f64>,
    pub p50: Vec<f64>,
    pub p90: Vec<f64>,
}

impl Quantiles {
    /// A point forecast: all three quantiles equal.
    pub fn point(p50: Vec<f64>) -> Self {
        Self { p10: p50.clone(), p90: p50.clone(), p50 }
    }
    pub fn len(&self) -> usize {
        self.p50.len()
    }
    pub fn is_empty(&self) -> bool {
        self.p50.is_empty()
    }
}

/// Anything that forecasts SOH from a context: a baseline or a trained model.
pub trait Forecaster: Send + Sync {
    /// The name `--model` accepts and reports carry.
    fn name(&self) -> &str;
    /// Whether the quantiles are a real predictive distribution. Point forecasters return equal
    /// quantiles and are reported with coverage and pinball loss `null`.
    fn probabilistic(&self) -> bool;
    /// SOH quantiles at each of `at` (cycles after the origin, increasing).
    fn forecast(&self, ctx: &Context, at: &[f64]) -> Quantiles;
    /// Many forecasts at once, in order; the same as calling [`Forecaster::forecast`] on each.
    /// A model that batches across contexts overrides it; the default runs them in parallel.
    fn forecast_many(&self, requests: &[(&Context, &[f64])]) -> Vec<Quantiles> {
        requests.par_iter().map(|(ctx, at)| self.forecast(ctx, at)).collect()
    }
    /// The hyperparameters it was tuned to, in words (reported beside its metrics).
    fn settings(&self) -> String {
        String::new()
    }
}

/// Clamps a forecast to a physically meaningful SOH range and orders the quantiles, so one
/// diverging fit (an exponential extrapolated far) yields a bad score rather than an infinity.
pub fn sanitise(mut q: Quantiles) -> Quantiles {
    for i in 0..q.len() {
        let mut v = [q.p10[i], q.p50[i], q.p90[i]].map(|x| if x.is_finite() { x.clamp(SOH_MIN, SOH_MAX) } else { f64::NAN });
        if v.iter().any(|x| x.is_nan()) {
            // A non-finite point is replaced by the nearest finite quantile, else the SOH floor.
            let fill = v.iter().copied().find(|x| !x.is_nan()).unwrap_or(SOH_MIN);
            v = v.map(|x| if x.is_nan() { fill } else { x });
        }
        v.sort_by(f64::total_cmp);
        (q.p10[i], q.p50[i], q.p90[i]) = (v[0], v[1], v[2]);
    }
    q
}

/// The SOH range forecasts are clamped to (see [`sanitise`]).
pub const SOH_MIN: f64 = 0.0;
pub const SOH_MAX: f64 = 1.5;
