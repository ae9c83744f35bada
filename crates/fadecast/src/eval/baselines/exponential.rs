//! Empirical exponential fade models fitted to the cell's own context by robust least squares:
//! - single: SOH(t) = a·e^{b t}
//! - double: SOH(t) = a·e^{b t} + c·e^{d t} (He et al. 2011; one slow term plus one that can bend
//!   into a knee)
//!
//! Time is the context's own: t = (cycle − first cycle) / context span, so the rate grids mean the
//! same for every dataset. For fixed rates the model is linear in the amplitudes, so each fit
//! searches the rates (grid, then golden section) with the amplitudes solved exactly inside
//! (variable projection), under Huber IRLS weights so a few noisy points cannot pull the fit.
//! Long contexts are subsampled to [`MAX_FIT_POINTS`] to keep fits O(small).

use super::fit::{huber_weights, minimise_1d, subsample, weighted_lstsq};
use crate::eval::forecaster::{Context, Forecaster, Quantiles};

pub const MAX_FIT_POINTS: usize = 300;
pub const IRLS_ITERATIONS: usize = 5;

/// Rates tried before refinement, per context span: dense near zero where real fade lives.
pub const RATE_GRID: [f64; 23] = [
    -3.0, -2.0, -1.0, -0.5, -0.2, -0.1, -0.05, -0.02, -0.01, -0.005, -0.002, 0.0, 0.002, 0.005, 0.01, 0.02, 0.05,
    0.1, 0.2, 0.5, 1.0, 2.0, 3.0,
];

/// The context as normalised time and SOH, subsampled.
pub(crate) fn normalised(ctx: &Context) -> (Vec<f64>, Vec<f64>) {
    let (c, s) = (ctx.cycles(), ctx.soh());
    let idx = subsample(c.len(), MAX_FIT_POINTS);
    let (c0, span) = (c[0], ctx.span());
    (idx.iter().map(|&i| (c[i] - c0) / span).collect(), idx.iter().map(|&i| s[i]).collect())
}

/// Weighted SSE and amplitudes of Σₖ aₖ e^{rₖ t} for fixed rates.
fn amplitudes(t: &[f64], y: &[f64], w: &[f64], rates: &[f64]) -> Option<(Vec<f64>, f64)> {
    weighted_lstsq(rates.len(), t.len(), |i, j| (rates[j] * t[i]).exp(), y, w)
}

fn sse(t: &[f64], y: &[f64], w: &[f64], rates: &[f64]) -> f64 {
    amplitudes(t, y, w, rates).map_or(f64::INFINITY, |(_, s)| s)
}

/// A fitted sum of exponentials in normalised time.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpFit {
    pub amplitudes: Vec<f64>,
    pub rates: Vec<f64>,
}

impl ExpFit {
    pub fn eval(&self, t: f64) -> f64 {
        self.amplitudes.iter().zip(&self.rates).map(|(a, r)| a * (r * t).exp()).sum()
    }
}

/// Robust fit of `terms` (1 or 2) exponentials.
pub fn fit_exponentials(t: &[f64], y: &[f64], terms: usize) -> ExpFit {
    let mut w = vec![1.0; t.len()];
    let mut rates = vec![0.0; terms];
    let mut amps = vec![y.iter().sum::<f64>() / y.len() as f64; terms];
    for _ in 0..IRLS_ITERATIONS {
        rates = if terms == 1 {
            vec![minimise_1d(&RATE_GRID, |b| sse(t, y, &w, &[b])).0]
        } else {
            search_pair(t, y, &w)
        };
        let Some((a, _)) = amplitudes(t, y, &w, &rates) else { break };
        amps = a;
        let fit = ExpFit { amplitudes: amps.clone(), rates: rates.clone() };
        let res: Vec<f64> = t.iter().zip(y).map(|(ti, yi)| yi - fit.eval(*ti)).collect();
        w = huber_weights(&res);
    }
    if terms == 1 && amplitudes(t, y, &w, &rates).is_none() {
        // Degenerate context (a single point): a flat line at its mean.
        return ExpFit { amplitudes: amps, rates: vec![0.0] };
    }
    ExpFit { amplitudes: amps, rates }
}

/// Best (b, d) with b < d: grid over pairs, then two rounds of coordinate refinement.
fn search_pair(t: &[f64], y: &[f64], w: &[f64]) -> Vec<f64> {
    let mut best = (f64::INFINITY, 0.0, 0.0);
    for (i, &b) in RATE_GRID.iter().enumerate() {
        for &d in &RATE_GRID[i + 1..] {
            let s = sse(t, y, w, &[b, d]);
            if s < best.0 {
                best = (s, b, d);
            }
        }
    }
    let (_, mut b, mut d) = best;
    if !best.0.is_finite() {
        return vec![0.0, 0.0];
    }
    for _ in 0..2 {
        let step_b = (b.abs() * 0.5).max(0.01);
        b = minimise_1d(&[b - step_b, b, (b + step_b).min(d - 1e-3)], |x| if x < d { sse(t, y, w, &[x, d]) } else { f64::INFINITY }).0;
        let step_d = (d.abs() * 0.5).max(0.01);
        d = minimise_1d(&[(d - step_d).max(b + 1e-3), d, d + step_d], |x| if x > b { sse(t, y, w, &[b, x]) } else { f64::INFINITY }).0;
    }
    vec![b, d]
}

fn forecast_with(fit: &ExpFit, ctx: &Context, at: &[f64]) -> Quantiles {
    let (c0, span) = (ctx.cycles()[0], ctx.span());
    Quantiles::point(at.iter().map(|c| fit.eval((c - c0) / span)).collect())
}

/// Single exponential (point forecast; intervals come from `calibrate`).
pub struct Exponential;

impl Forecaster for Exponential {
    fn name(&self) -> &str {
        "exp"
    }
    fn probabilistic(&self) -> bool {
        false
    }
    fn forecast(&self, ctx: &Context, at: &[f64]) -> Quantiles {
        let (t, y) = normalised(ctx);
        forecast_with(&fit_exponentials(&t, &y, 1), ctx, at)
    }
}

/// Double exponential (point forecast; intervals come from `calibrate`).
pub struct DoubleExponential;

impl Forecaster for DoubleExponential {
    fn name(&self) -> &str {
        "exp2"
    }
    fn probabilistic(&self) -> bool {
        false
    }
    fn forecast(&self, ctx: &Context, at: &[f64]) -> Quantiles {
        let (t, y) = normalised(ctx);
        if t.len() < 4 {
            // Four parameters need four points; fall back to the single exponential.
            return forecast_with(&fit_exponentials(&t, &y, 1), ctx, at);
        }
        forecast_with(&fit_exponentials(&t, &y, 2), ctx, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_single_exponential_despite_an_outlier() {
        let t: Vec<f64> = (0..50).map(|i| i as f64 / 49.0).collect();
        let mut y: Vec<f64> = t.iter().map(|t| 0.98 * (-0.1 * t).exp()).collect();
        y[20] = 0.5;
        let f = fit_exponentials(&t, &y, 1);
        assert!((f.rates[0] + 0.1).abs() < 1e-3 && (f.amplitudes[0] - 0.98).abs() < 1e-3, "{f:?}");
    }

    #[test]
    fn double_exponential_fits_a_knee() {
        let t: Vec<f64> = (0..100).map(|i| i as f64 / 99.0).collect();
        let y: Vec<f64> = t.iter().map(|t| 1.0 * (-0.05 * t).exp() - 0.01 * (2.0 * t).exp()).collect();
        let f = fit_exponentials(&t, &y, 2);
        let worst = t.iter().zip(&y).map(|(t, y)| (f.eval(*t) - y).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-3, "{f:?} worst {worst}");
    }
}
