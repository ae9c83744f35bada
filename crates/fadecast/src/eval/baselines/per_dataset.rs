//! The strong per-dataset baseline: a direct multi-horizon linear model (DLinear-style) trained by
//! closed-form ridge regression on one dataset's train split, hyperparameters chosen on its val
//! split.
//!
//! Input: the context averaged into `L` equal-width cycle bins (empty bins interpolated), taken
//! relative to the last bin's level (the forecast's anchor), plus the level itself, log(1 + span)
//! and log(1 + origin). Output: the SOH change from the level at [`N_OUTPUTS`] relative horizons
//! r = (cycle − origin) / span = 0.2, 0.4, …, 8, each its own ridge regression (direct
//! multi-step forecasting); a query between outputs is interpolated linearly, beyond the last
//! trained output extrapolated along the last segment.
//!
//! Training windows: every train cell, origins at 10 %, 15 %, …, 90 % of its span (with the
//! tasks' minimum context); targets are the observed SOH (interpolated) at each output horizon
//! that the cell's data reaches. Hyperparameters (`L` ∈ [`BIN_COUNTS`], λ ∈ [`RIDGES`]) minimise
//! the mean per-window RMSE on the dataset's val-cell `early` + `rolling` windows. Datasets with
//! no train split (the unseen ones, a user's cells) get the model trained the same way on the
//! pooled train splits of all seen datasets, and selected on their pooled val windows.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::fit::{cholesky, cholesky_solve};
use crate::data::Cell;
use crate::eval::forecaster::{Context, Forecaster, Quantiles};
use crate::eval::tasks::{context_len, Target, Window};

pub const N_OUTPUTS: usize = 40;
pub const OUTPUT_STEP: f64 = 0.2;
pub const BIN_COUNTS: [usize; 4] = [8, 16, 32, 64];
pub const RIDGES: [f64; 8] = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0];
/// Training origins, as fractions of each train cell's span.
pub const TRAIN_FRACTIONS: [f64; 17] =
    [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9];
/// An output needs at least this many training targets to be fitted.
const MIN_SAMPLES: usize = 8;

/// Features of a context for `bins` bins, and the level forecasts are anchored to.
pub fn features(ctx: &Context, bins: usize) -> (Vec<f64>, f64) {
    let (c, s) = (ctx.cycles(), ctx.soh());
    let (c0, span) = (c[0], ctx.span());
    let mut sum = vec![0.0; bins];
    let mut cnt = vec![0usize; bins];
    for (ci, si) in c.iter().zip(s) {
        let b = (((ci - c0) / span * bins as f64) as usize).min(bins - 1);
        sum[b] += si;
        cnt[b] += 1;
    }
    let known: Vec<(usize, f64)> = (0..bins).filter(|b| cnt[*b] > 0).map(|b| (b, sum[b] / cnt[b] as f64)).collect();
    let value = |b: usize| -> f64 {
        // Linear interpolation between the nearest non-empty bins (constant beyond them).
        let after = known.iter().position(|(k, _)| *k >= b);
        match after {
            Some(0) => known[0].1,
            None => known[known.len() - 1].1,
            Some(j) => {
                let ((b0, v0), (b1, v1)) = (known[j - 1], known[j]);
                v0 + (v1 - v0) * (b - b0) as f64 / (b1 - b0) as f64
            }
        }
    };
    let level = value(bins - 1);
    let mut x: Vec<f64> = (0..bins - 1).map(|b| value(b) - level).collect();
    x.push(level);
    x.push((1.0 + span).ln());
    x.push((1.0 + ctx.origin().max(0.0)).ln());
    (x, level)
}

/// SOH of `cell` at `cycle` by linear interpolation (`None` beyond its last observation).
fn soh_at(cell: &Cell, cycle: f64) -> Option<f64> {
    let c = &cell.cycles;
    let j = c.iter().position(|y| y.cycle >= cycle)?;
    if j == 0 {
        return Some(c[0].soh);
    }
    let (a, b) = (&c[j - 1], &c[j]);
    Some(a.soh + (b.soh - a.soh) * (cycle - a.cycle) / (b.cycle - a.cycle))
}

/// One training example: features and the targets the cell's data reaches (a prefix of outputs).
struct Sample {
    x: Vec<f64>,
    y: Vec<f64>,
}

fn samples(cells: &[&Cell], bins: usize) -> Vec<Sample> {
    cells
        .par_iter()
        .flat_map_iter(|cell| {
            let mut ns: Vec<usize> = TRAIN_FRACTIONS.iter().map(|f| context_len(cell, *f)).collect();
            ns.dedup();
            ns.into_iter()
                .filter(|n| *n >= 1 && *n < cell.cycles.len())
                .map(|n| {
                    let ctx = Context::new(cell, n);
                    let (x, level) = features(&ctx, bins);
                    let y = (1..=N_OUTPUTS)
                        .map_while(|k| soh_at(cell, ctx.origin() + k as f64 * OUTPUT_STEP * ctx.span()))
                        .map(|v| v - level)
                        .collect();
                    Sample { x, y }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A fitted model: standardisation, then one weight vector (with intercept) per output.
#[derive(Debug, Clone)]
pub struct Ridge {
    pub bins: usize,
    pub lambda: f64,
    mean: Vec<f64>,
    sd: Vec<f64>,
    /// Per output: weights over [1, standardised features]; outputs past the data are absent.
    weights: Vec<Vec<f64>>,
}

/// Sufficient statistics per output, so every λ is one small solve.
struct Gram {
    bins: usize,
    mean: Vec<f64>,
    sd: Vec<f64>,
    /// Per output k: (XᵀX, Xᵀy, n) over samples reaching k, with X = [1, standardised x].
    per_output: Vec<(Vec<f64>, Vec<f64>, usize)>,
}

fn gram(samples: &[Sample], bins: usize) -> Gram {
    let f = samples.first().map_or(bins + 2, |s| s.x.len());
    let n = samples.len().max(1) as f64;
    let mean: Vec<f64> = (0..f).map(|j| samples.iter().map(|s| s.x[j]).sum::<f64>() / n).collect();
    let sd: Vec<f64> = (0..f)
        .map(|j| (samples.iter().map(|s| (s.x[j] - mean[j]).powi(2)).sum::<f64>() / n).sqrt().max(1e-9))
        .collect();
    let p = f + 1;
    // Samples reaching output k also reach every earlier one: accumulate XᵀX from the far end.
    let mut by_reach: Vec<Vec<&Sample>> = vec![Vec::new(); N_OUTPUTS + 1];
    for s in samples {
        by_reach[s.y.len()].push(s);
    }
    let mut xtx = vec![0.0; p * p];
    let mut count = 0;
    let mut active: Vec<Vec<f64>> = Vec::new();
    let mut active_y: Vec<&[f64]> = Vec::new();
    let mut per_output = vec![(Vec::new(), Vec::new(), 0); N_OUTPUTS];
    for k in (0..N_OUTPUTS).rev() {
        for s in &by_reach[k + 1] {
            let z: Vec<f64> = std::iter::once(1.0).chain(s.x.iter().enumerate().map(|(j, v)| (v - mean[j]) / sd[j])).collect();
            for a in 0..p {
                for b in 0..p {
                    xtx[a * p + b] += z[a] * z[b];
                }
            }
            active.push(z);
            active_y.push(&s.y);
            count += 1;
        }
        let mut xty = vec![0.0; p];
        for (z, y) in active.iter().zip(&active_y) {
            for a in 0..p {
                xty[a] += z[a] * y[k];
            }
        }
        per_output[k] = (xtx.clone(), xty, count);
    }
    Gram { bins, mean, sd, per_output }
}

fn solve(g: &Gram, lambda: f64) -> Ridge {
    let p = g.mean.len() + 1;
    let mut weights = Vec::new();
    for (xtx, xty, n) in &g.per_output {
        if *n < MIN_SAMPLES {
            break;
        }
        let mut a = xtx.clone();
        // The intercept is not penalised; λ is per sample so it means the same for any data size.
        for j in 1..p {
            a[j * p + j] += lambda * *n as f64;
        }
        a[0] += 1e-9;
        let Some(l) = cholesky(&a, p) else { break };
        let mut w = xty.clone();
        cholesky_solve(&l, p, &mut w);
        weights.push(w);
    }
    Ridge { bins: g.bins, lambda, mean: g.mean.clone(), sd: g.sd.clone(), weights }
}

impl Ridge {
    pub fn predict(&self, ctx: &Context, at: &[f64]) -> Vec<f64> {
        let (x, level) = features(ctx, self.bins);
        let z: Vec<f64> = std::iter::once(1.0).chain(x.iter().enumerate().map(|(j, v)| (v - self.mean[j]) / self.sd[j])).collect();
        // Output curve: change from the level at r = 0, 0.2, 0.4, …
        let mut d = vec![0.0];
        d.extend(self.weights.iter().map(|w| w.iter().zip(&z).map(|(a, b)| a * b).sum::<f64>()));
        let last = d.len() - 1;
        at.iter()
            .map(|c| {
                let r = ((c - ctx.origin()) / ctx.span()).max(0.0) / OUTPUT_STEP;
                let delta = if last == 0 {
                    0.0
                } else if r >= last as f64 {
                    d[last] + (d[last] - d[last - 1]) * (r - last as f64)
                } else {
                    let i = r.floor() as usize;
                    d[i] + (d[i + 1] - d[i]) * (r - i as f64)
                };
                level + delta
            })
            .collect()
    }
}

/// Mean per-window RMSE of `m` on trajectory windows.
fn val_rmse(m: &Ridge, windows: &[&Window]) -> f64 {
    let v: Vec<f64> = windows
        .iter()
        .filter_map(|w| match &w.target {
            Target::Trajectory { cycles, soh } => {
                let p = m.predict(&w.context, cycles);
                let mse = p.iter().zip(soh).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / soh.len() as f64;
                Some(mse.sqrt())
            }
            Target::Eol { .. } => None,
        })
        .collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// Trains on `train` cells, selecting (bins, λ) on `val` windows (defaults without any).
pub fn train(train: &[&Cell], val: &[&Window]) -> Option<Ridge> {
    if train.is_empty() {
        return None;
    }
    let mut best: Option<(f64, Ridge)> = None;
    for bins in BIN_COUNTS {
        let g = gram(&samples(train, bins), bins);
        for lambda in RIDGES {
            let m = solve(&g, lambda);
            if m.weights.is_empty() {
                continue;
            }
            // Without val windows every candidate scores the same: the first (smallest bins,
            // lightest ridge) stands, a fixed documented default.
            let score = if val.is_empty() { 0.0 } else { val_rmse(&m, val) };
            if best.as_ref().is_none_or(|(s, _)| score < *s) {
                best = Some((score, m));
            }
        }
    }
    best.map(|(_, m)| m)
}

/// The per-dataset model set: one [`Ridge`] per seen dataset with train cells, plus the pooled one.
pub struct PerDataset {
    pub models: HashMap<String, Ridge>,
    pub pooled: Option<Ridge>,
}

impl PerDataset {
    /// `train` and `val_windows` are grouped by dataset; the pooled model uses all of them.
    pub fn train(train: &BTreeMap<String, Vec<&Cell>>, val_windows: &BTreeMap<String, Vec<&Window>>) -> Self {
        let no_val = Vec::new();
        let models: HashMap<String, Ridge> = train
            .par_iter()
            .filter_map(|(d, cells)| Some((d.clone(), self::train(cells, val_windows.get(d).unwrap_or(&no_val))?)))
            .collect();
        let all_train: Vec<&Cell> = train.values().flatten().copied().collect();
        let all_val: Vec<&Window> = val_windows.values().flatten().copied().collect();
        Self { models, pooled: self::train(&all_train, &all_val) }
    }
}

impl Forecaster for PerDataset {
    fn name(&self) -> &str {
        "per_dataset"
    }
    fn probabilistic(&self) -> bool {
        false
    }
    fn settings(&self) -> String {
        let mut v: Vec<String> = self.models.iter().map(|(d, m)| format!("{d}: L={} λ={}", m.bins, m.lambda)).collect();
        v.sort();
        if let Some(m) = &self.pooled {
            v.push(format!("pooled (datasets without train cells): L={} λ={}", m.bins, m.lambda));
        }
        format!("ridge per dataset, chosen on val: {}", v.join(", "))
    }
    fn forecast(&self, ctx: &Context, at: &[f64]) -> Quantiles {
        let p50 = match self.models.get(&ctx.dataset).or(self.pooled.as_ref()) {
            Some(m) => m.predict(ctx, at),
            None => vec![*ctx.soh().last().expect("non-empty"); at.len()],
        };
        Quantiles::point(p50)
    }
}
