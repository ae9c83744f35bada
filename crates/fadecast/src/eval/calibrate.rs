//! Honest intervals for point forecasters, from their own errors on the validation split.
//!
//! The empirical fade models and the per-dataset learned model predict a single trajectory. Their
//! p10 / p90 come from how wrong they were on the *validation* cells (never train, never test):
//! the residuals truth − p50 of the `early` and `rolling` windows of the val cells are binned by
//! relative horizon r = (cycle − origin) / context span ([`REL_HORIZON_EDGES`]), and each bin's
//! 10th / 90th percentiles are added to the forecast at that horizon (split-conformal style).
//! Per dataset where its bin has at least [`MIN_BIN_POINTS`] residuals, otherwise the pooled table,
//! in which every dataset weighs the same. Widths are made non-decreasing with horizon
//! (uncertainty does not shrink the further out one forecasts). Unseen datasets have no val cells
//! and always use the pooled table.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::forecaster::{Context, Forecaster, Quantiles};
use super::tasks::Window;

/// Relative-horizon bin edges, in context spans after the origin (the last bin is open).
pub const REL_HORIZON_EDGES: [f64; 11] = [0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0];
pub const MIN_BIN_POINTS: usize = 30;
const NB: usize = REL_HORIZON_EDGES.len();

fn bin(ctx: &Context, cycle: f64) -> usize {
    let r = (cycle - ctx.origin()) / ctx.span();
    REL_HORIZON_EDGES.iter().rposition(|e| r >= *e).unwrap_or(0)
}

/// Per relative-horizon bin: the 10th and 90th percentiles of truth − p50.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub q10: [f64; NB],
    pub q90: [f64; NB],
}

/// A forecaster's calibration: one table per dataset with enough val residuals, and a pooled one.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub pooled: Table,
    pub per_dataset: HashMap<String, Table>,
}

/// One residual: (dataset, bin, truth − p50).
pub type Residual = (String, usize, f64);

/// The residuals of `f` on trajectory `windows` (eol windows are ignored).
pub fn residuals(f: &dyn Forecaster, windows: &[Window]) -> Vec<Residual> {
    windows
        .par_iter()
        .flat_map_iter(|w| {
            let super::tasks::Target::Trajectory { cycles, soh } = &w.target else { return Vec::new() };
            let q = f.forecast(&w.context, cycles);
            cycles
                .iter()
                .zip(soh)
                .zip(&q.p50)
                .map(|((c, y), p)| (w.context.dataset.clone(), bin(&w.context, *c), y - p))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Weighted quantile: `values` sorted by value with weights, level in (0, 1).
fn weighted_quantile(v: &mut [(f64, f64)], level: f64) -> f64 {
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|x| x.1).sum();
    let mut acc = 0.0;
    for (x, w) in v.iter() {
        acc += w;
        if acc >= level * total {
            return *x;
        }
    }
    v.last().map_or(0.0, |x| x.0)
}

/// Fills empty bins from the nearest filled bin before them (else after) and makes the interval
/// non-narrowing with horizon.
fn finish(mut q10: [Option<f64>; NB], mut q90: [Option<f64>; NB]) -> Table {
    for q in [&mut q10, &mut q90] {
        let first = q.iter().flatten().next().copied().unwrap_or(0.0);
        let mut last = first;
        for v in q.iter_mut() {
            last = v.unwrap_or(last);
            *v = Some(last);
        }
    }
    let mut t = Table { q10: q10.map(|v| v.unwrap_or(0.0)), q90: q90.map(|v| v.unwrap_or(0.0)) };
    for i in 1..NB {
        t.q10[i] = t.q10[i].min(t.q10[i - 1]);
        t.q90[i] = t.q90[i].max(t.q90[i - 1]);
    }
    t
}

/// Builds the calibration from residuals.
pub fn calibrate(res: &[Residual]) -> Calibration {
    let mut by: BTreeMap<&str, [Vec<f64>; NB]> = BTreeMap::new();
    for (d, b, r) in res {
        by.entry(d.as_str()).or_insert_with(|| std::array::from_fn(|_| Vec::new()))[*b].push(*r);
    }
    let mut pooled10 = [None; NB];
    let mut pooled90 = [None; NB];
    for b in 0..NB {
        // Every dataset weighs the same in the pooled table: weight 1 / its residuals in the bin.
        let mut v: Vec<(f64, f64)> =
            by.values().flat_map(|bins| bins[b].iter().map(|r| (*r, 1.0 / bins[b].len() as f64))).collect();
        if !v.is_empty() {
            pooled10[b] = Some(weighted_quantile(&mut v, 0.1));
            pooled90[b] = Some(weighted_quantile(&mut v, 0.9));
        }
    }
    let pooled = finish(pooled10, pooled90);
    let per_dataset = by
        .into_iter()
        .map(|(d, bins)| {
            let mut q10 = [None; NB];
            let mut q90 = [None; NB];
            for b in 0..NB {
                if bins[b].len() >= MIN_BIN_POINTS {
                    let mut v: Vec<(f64, f64)> = bins[b].iter().map(|r| (*r, 1.0)).collect();
                    q10[b] = Some(weighted_quantile(&mut v, 0.1));
                    q90[b] = Some(weighted_quantile(&mut v, 0.9));
                } else {
                    q10[b] = pooled10[b].or(Some(pooled.q10[b]));
                    q90[b] = pooled90[b].or(Some(pooled.q90[b]));
                }
            }
            (d.to_string(), finish(q10, q90))
        })
        .collect();
    Calibration { pooled, per_dataset }
}

/// A point forecaster with calibrated intervals.
pub struct Calibrated {
    pub inner: Box<dyn Forecaster>,
    pub calibration: Calibration,
}

impl Calibrated {
    /// Calibrates `inner` on the val `windows`.
    pub fn new(inner: Box<dyn Forecaster>, val_windows: &[Window]) -> Self {
        let calibration = calibrate(&residuals(inner.as_ref(), val_windows));
        Self { inner, calibration }
    }
}

impl Forecaster for Calibrated {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn probabilistic(&self) -> bool {
        true
    }
    fn settings(&self) -> String {
        let inner = self.inner.settings();
        let sep = if inner.is_empty() { "" } else { "; " };
        format!("{inner}{sep}p10/p90 from val residuals by relative horizon ({} datasets with their own table)", self.calibration.per_dataset.len())
    }
    fn forecast(&self, ctx: &Context, at: &[f64]) -> Quantiles {
        let p50 = self.inner.forecast(ctx, at).p50;
        let table = self.calibration.per_dataset.get(&ctx.dataset).unwrap_or(&self.calibration.pooled);
        let (mut p10, mut p90) = (Vec::with_capacity(at.len()), Vec::with_capacity(at.len()));
        for (c, p) in at.iter().zip(&p50) {
            let b = bin(ctx, *c);
            p10.push(p + table.q10[b]);
            p90.push(p + table.q90[b]);
        }
        Quantiles { p10, p50, p90 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_table_weighs_datasets_equally_and_widens() {
        let mut res = Vec::new();
        // Dataset A: many residuals at +1 in bin 0; dataset B: a few at -1 in bin 0.
        res.extend((0..1000).map(|_| ("A".to_string(), 0, 1.0)));
        res.extend((0..10).map(|_| ("B".to_string(), 0, -1.0)));
        res.extend((0..10).map(|_| ("B".to_string(), 3, -0.5)));
        let c = calibrate(&res);
        assert_eq!((c.pooled.q10[0], c.pooled.q90[0]), (-1.0, 1.0));
        // Bin 3 has only B's -0.5, but widths never shrink: q10 stays at -1, q90 at 1.
        assert_eq!((c.pooled.q10[3], c.pooled.q90[3]), (-1.0, 1.0));
        // A has enough residuals for its own bin 0.
        assert_eq!((c.per_dataset["A"].q10[0], c.per_dataset["A"].q90[0]), (1.0, 1.0));
    }
}
