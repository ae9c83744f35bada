//! Scores: per window, per cell, per dataset, macro.
//!
//! Trajectory tasks (`early`, `rolling`), errors in SOH percentage points (pp):
//! - per cell, the points of all its windows pooled: MAE = mean |p50 − truth|·100,
//!   RMSE = √(mean (p50 − truth)²)·100, MAPE = mean |p50 − truth| / truth · 100 (%; capacity and
//!   SOH differ by a constant factor per cell, so this is also the MAPE of capacity);
//!   coverage_p10_p90 = share of points with p10 ≤ truth ≤ p90; pinball = mean over the three
//!   quantiles and the points of the pinball loss ·100 (pp); bias = mean (p50 − truth)·100
//!   (pp; negative: the forecast runs below the truth, pessimistic). Coverage and pinball are
//!   `null` for point forecasters.
//! - per dataset: the mean over its cells of each cell metric (each cell counts once, however
//!   long); error against horizon: the MAE and bias of all the dataset's points pooled, in bins
//!   of cycles after the origin ([`HORIZON_EDGES`]).
//! - macro: the mean over datasets (each dataset counts once), over seen and unseen datasets
//!   separately and together.
//!
//! `eol` task, errors in cycles: per cell, the predicted EOL is where p50 first drops below the
//! threshold ([`super::tasks::crossing`]), censored at the query grid's end; mae = |pred − true|,
//! bias = pred − true (negative: end of life predicted too early),
//! mape = |pred − true| / true ·100, within_15 = relative error ≤ 15 %. The p10–p90 interval is
//! the p10 and p90 crossings (p10 crosses first); coverage is the share of cells whose true EOL
//! lies in it. Per dataset: mae, mape, coverage and acc15 (share within 15 %) are means over
//! cells, and so is bias; rmse is the root mean square of the cells' errors.

use serde::{Deserialize, Serialize};

use super::forecaster::Quantiles;
use super::tasks::{crossing, EOL_THRESHOLD};

/// Horizon bin edges, in cycles after the origin (the last bin is open).
pub const HORIZON_EDGES: [f64; 7] = [0.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0];

pub fn horizon_bin(h: f64) -> usize {
    HORIZON_EDGES.iter().rposition(|e| h >= *e).unwrap_or(0)
}

pub fn horizon_label(i: usize) -> String {
    match HORIZON_EDGES.get(i + 1) {
        Some(hi) => format!("{}-{}", HORIZON_EDGES[i], hi),
        None => format!("{}+", HORIZON_EDGES[i]),
    }
}

/// Pinball (quantile) loss of `q` at level `tau` for truth `y`.
pub fn pinball(y: f64, q: f64, tau: f64) -> f64 {
    let d = y - q;
    if d >= 0.0 {
        tau * d
    } else {
        (tau - 1.0) * d
    }
}

/// Running sums over forecast points (one cell's windows pooled).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointSums {
    pub n: usize,
    pub abs: f64,
    pub sq: f64,
    pub ape: f64,
    pub covered: usize,
    pub pinball: f64,
    /// Sum of signed errors p50 − truth.
    pub signed: f64,
    /// Per horizon bin: (points, sum of absolute errors, sum of signed errors).
    pub horizon: [(usize, f64, f64); HORIZON_EDGES.len()],
}

impl PointSums {
    /// Adds one window's points: forecast `q` of truth `soh` at `cycles`, origin `origin`.
    pub fn add(&mut self, q: &Quantiles, cycles: &[f64], soh: &[f64], origin: f64) {
        for i in 0..soh.len() {
            let (y, p) = (soh[i], q.p50[i]);
            let d = p - y; // signed error
            let e = d.abs();
            self.n += 1;
            self.signed += d;
            self.abs += e;
            self.sq += e * e;
            self.ape += e / y.abs().max(1e-9);
            self.covered += usize::from(q.p10[i] <= y && y <= q.p90[i]);
            self.pinball += (pinball(y, q.p10[i], 0.1) + pinball(y, p, 0.5) + pinball(y, q.p90[i], 0.9)) / 3.0;
            let b = horizon_bin(cycles[i] - origin);
            self.horizon[b].0 += 1;
            self.horizon[b].1 += e;
            self.horizon[b].2 += d;
        }
    }
}

/// The predicted end of life of one forecast: p50, p10 and p90 crossings (censored at the end).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EolPrediction {
    pub p50: f64,
    pub p10: f64,
    pub p90: f64,
    pub censored: bool,
}

pub fn eol_prediction(q: &Quantiles, query: &[f64]) -> EolPrediction {
    let end = *query.last().expect("non-empty query grid");
    let cross = |v: &[f64]| crossing(query, v, EOL_THRESHOLD);
    let p50 = cross(&q.p50);
    EolPrediction {
        censored: p50.is_none(),
        p50: p50.unwrap_or(end),
        // p10 is the pessimistic trajectory: it crosses first.
        p10: cross(&q.p10).unwrap_or(end),
        p90: cross(&q.p90).unwrap_or(f64::INFINITY),
    }
}

/// One cell's scores. Trajectory fields for `early`/`rolling`, `eol_*` fields for `eol`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellMetrics {
    pub dataset: String,
    pub cell_id: String,
    pub split: String,
    pub n_windows: usize,
    pub n_points: usize,
    pub mae: f64,
    pub rmse: f64,
    pub mape: f64,
    pub coverage_p10_p90: Option<f64>,
    pub pinball: Option<f64>,
    /// Mean signed error of the median (`None` only in files written before it was reported).
    #[serde(default)]
    pub bias: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eol_true: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eol_pred: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eol_interval: Option<[Option<f64>; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eol_censored: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eol_within_15: Option<bool>,
}

impl CellMetrics {
    /// Trajectory scores from pooled sums.
    pub fn trajectory(dataset: &str, cell_id: &str, split: &str, n_windows: usize, s: &PointSums, probabilistic: bool) -> Self {
        let n = s.n.max(1) as f64;
        Self {
            dataset: dataset.into(),
            cell_id: cell_id.into(),
            split: split.into(),
            n_windows,
            n_points: s.n,
            mae: 100.0 * s.abs / n,
            rmse: 100.0 * (s.sq / n).sqrt(),
            mape: 100.0 * s.ape / n,
            coverage_p10_p90: probabilistic.then(|| s.covered as f64 / n),
            pinball: probabilistic.then(|| 100.0 * s.pinball / n),
            bias: Some(100.0 * s.signed / n),
            eol_true: None,
            eol_pred: None,
            eol_interval: None,
            eol_censored: None,
            eol_within_15: None,
        }
    }

    /// End-of-life scores of one cell.
    pub fn eol(dataset: &str, cell_id: &str, split: &str, truth: f64, p: &EolPrediction, probabilistic: bool) -> Self {
        let err = (p.p50 - truth).abs();
        let rel = err / truth.abs().max(1.0);
        Self {
            dataset: dataset.into(),
            cell_id: cell_id.into(),
            split: split.into(),
            n_windows: 1,
            n_points: 1,
            mae: err,
            rmse: err,
            mape: 100.0 * rel,
            coverage_p10_p90: probabilistic.then(|| f64::from(u8::from(p.p10 <= truth && truth <= p.p90))),
            pinball: None,
            bias: Some(p.p50 - truth),
            eol_true: Some(truth),
            eol_pred: Some(p.p50),
            eol_interval: Some([Some(p.p10), p.p90.is_finite().then_some(p.p90)]),
            eol_censored: Some(p.censored),
            eol_within_15: Some(rel <= 0.15),
        }
    }
}

/// MAE and bias in one horizon bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonBin {
    /// e.g. "100-200" cycles after the origin.
    pub cycles_ahead: String,
    pub n_points: usize,
    pub mae: f64,
    #[serde(default)]
    pub bias: Option<f64>,
}

/// One dataset's scores (means over its cells, see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetMetrics {
    pub seen: bool,
    pub n_cells: usize,
    pub n_points: usize,
    pub mae: f64,
    pub rmse: f64,
    pub mape: f64,
    pub coverage_p10_p90: Option<f64>,
    pub pinball: Option<f64>,
    /// Mean over cells of the cells' bias.
    #[serde(default)]
    pub bias: Option<f64>,
    /// `eol` only: share of cells with relative EOL error ≤ 15 %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acc15: Option<f64>,
    /// Trajectory tasks only: MAE and bias (pp) by cycles after the origin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub horizon: Vec<HorizonBin>,
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

fn mean_opt(v: impl Iterator<Item = Option<f64>> + Clone) -> Option<f64> {
    if v.clone().any(|x| x.is_none()) {
        return None;
    }
    Some(mean(v.flatten()))
}

/// Aggregates one dataset's cells (non-empty); `horizon` is its pooled per-bin sums
/// (trajectory tasks; empty for eol).
pub fn dataset_metrics(cells: &[&CellMetrics], seen: bool, horizon: &[(usize, f64, f64)], eol: bool) -> DatasetMetrics {
    let it = || cells.iter().copied();
    DatasetMetrics {
        seen,
        n_cells: cells.len(),
        n_points: it().map(|c| c.n_points).sum(),
        mae: mean(it().map(|c| c.mae)),
        rmse: if eol { mean(it().map(|c| c.rmse * c.rmse)).sqrt() } else { mean(it().map(|c| c.rmse)) },
        mape: mean(it().map(|c| c.mape)),
        coverage_p10_p90: mean_opt(it().map(|c| c.coverage_p10_p90)),
        pinball: mean_opt(it().map(|c| c.pinball)),
        bias: mean_opt(it().map(|c| c.bias)),
        acc15: eol.then(|| mean(it().map(|c| f64::from(u8::from(c.eol_within_15 == Some(true)))))),
        horizon: horizon
            .iter()
            .enumerate()
            .filter(|(_, (n, ..))| *n > 0)
            .map(|(i, (n, abs, signed))| HorizonBin {
                cycles_ahead: horizon_label(i),
                n_points: *n,
                mae: 100.0 * abs / *n as f64,
                bias: Some(100.0 * signed / *n as f64),
            })
            .collect(),
    }
}

/// The mean over datasets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MacroMetrics {
    pub n_datasets: usize,
    pub n_cells: usize,
    pub mae: f64,
    pub rmse: f64,
    pub mape: f64,
    pub coverage_p10_p90: Option<f64>,
    pub pinball: Option<f64>,
    #[serde(default)]
    pub bias: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acc15: Option<f64>,
    /// Mean over datasets of the per-bin MAE and bias (datasets with points in the bin).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub horizon: Vec<HorizonBin>,
}

/// Macro average of `datasets` (`None` when empty).
pub fn macro_metrics<'a>(datasets: impl Iterator<Item = &'a DatasetMetrics> + Clone) -> Option<MacroMetrics> {
    let d: Vec<&DatasetMetrics> = datasets.collect();
    if d.is_empty() {
        return None;
    }
    let it = || d.iter().copied();
    let mut horizon = Vec::new();
    for i in 0..HORIZON_EDGES.len() {
        let label = horizon_label(i);
        let bins: Vec<&HorizonBin> = it().filter_map(|x| x.horizon.iter().find(|b| b.cycles_ahead == label)).collect();
        if !bins.is_empty() {
            horizon.push(HorizonBin {
                cycles_ahead: label,
                n_points: bins.iter().map(|b| b.n_points).sum(),
                mae: mean(bins.iter().map(|b| b.mae)),
                bias: mean_opt(bins.iter().map(|b| b.bias)),
            });
        }
    }
    Some(MacroMetrics {
        n_datasets: d.len(),
        n_cells: it().map(|x| x.n_cells).sum(),
        mae: mean(it().map(|x| x.mae)),
        rmse: mean(it().map(|x| x.rmse)),
        mape: mean(it().map(|x| x.mape)),
        coverage_p10_p90: mean_opt(it().map(|x| x.coverage_p10_p90)),
        pinball: mean_opt(it().map(|x| x.pinball)),
        bias: mean_opt(it().map(|x| x.bias)),
        acc15: mean_opt(it().map(|x| x.acc15)).filter(|_| it().all(|x| x.acc15.is_some())),
        horizon,
    })
}
