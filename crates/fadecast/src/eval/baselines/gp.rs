//! Gaussian-process regression on the context, with a linear mean.
//!
//! The mean is a line whose coefficients get a vague prior and are integrated out (explicit basis
//! functions, Rasmussen & Williams 2006 §2.7), so the slope's uncertainty widens the forecast as
//! the horizon grows; the kernel is Matérn-5/2 plus white noise. Hyperparameters (length scale,
//! signal and noise amplitudes) maximise the marginal likelihood over a small grid ([`LENGTHS`] ×
//! [`SIGNALS`] × [`NOISES`], amplitudes relative to the robust scale of the context's residuals
//! from a straight line). Time is (cycle − origin) / context span; long contexts are subsampled
//! to [`MAX_POINTS`] so each fit is a few 64×64 Cholesky factorisations.
//!
//! Quantiles are the Gaussian posterior predictive (observation noise included): p50 ± 1.2816 σ.

use super::fit::{cholesky, line, robust_scale, solve_lower, subsample};
use crate::eval::forecaster::{Context, Forecaster, Quantiles};

pub const MAX_POINTS: usize = 64;
/// Length scales, in context spans.
pub const LENGTHS: [f64; 4] = [0.1, 0.3, 1.0, 3.0];
/// Signal amplitudes, in robust residual scales.
pub const SIGNALS: [f64; 3] = [0.5, 2.0, 8.0];
/// Noise amplitudes, in robust residual scales.
pub const NOISES: [f64; 3] = [0.25, 0.5, 1.0];
const Z90: f64 = 1.281_551_565_5;

fn matern52(r: f64, length: f64, signal: f64) -> f64 {
    let s = 5f64.sqrt() * r.abs() / length;
    signal * signal * (1.0 + s + s * s / 3.0) * (-s).exp()
}

/// A GP fitted to one context: everything prediction needs.
pub struct GpFit {
    t: Vec<f64>,
    l: Vec<f64>,
    /// L⁻¹ Hᵀ, one column per basis function (1, t).
    w: [Vec<f64>; 2],
    /// A⁻¹ = (H K⁻¹ Hᵀ)⁻¹, 2×2.
    a_inv: [f64; 4],
    beta: [f64; 2],
    /// K⁻¹ (y − Hᵀβ).
    alpha: Vec<f64>,
    pub length: f64,
    pub signal: f64,
    pub noise: f64,
    pub log_ml: f64,
}

/// Fits the GP for one set of hyperparameters; `None` if the kernel matrix is singular.
pub fn fit(t: &[f64], y: &[f64], length: f64, signal: f64, noise: f64) -> Option<GpFit> {
    let n = t.len();
    let mut k = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let v = matern52(t[i] - t[j], length, signal);
            k[i * n + j] = v;
            k[j * n + i] = v;
        }
        k[i * n + i] += noise * noise;
    }
    let l = cholesky(&k, n)?;
    let mut ly = y.to_vec();
    solve_lower(&l, n, &mut ly);
    let mut w0 = vec![1.0; n];
    solve_lower(&l, n, &mut w0);
    let mut w1 = t.to_vec();
    solve_lower(&l, n, &mut w1);
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let a = [dot(&w0, &w0), dot(&w0, &w1), dot(&w1, &w1)];
    let det = a[0] * a[2] - a[1] * a[1];
    if det <= 0.0 || !det.is_finite() {
        return None;
    }
    let a_inv = [a[2] / det, -a[1] / det, -a[1] / det, a[0] / det];
    let hky = [dot(&w0, &ly), dot(&w1, &ly)];
    let beta = [a_inv[0] * hky[0] + a_inv[1] * hky[1], a_inv[2] * hky[0] + a_inv[3] * hky[1]];
    // Marginal likelihood with the mean integrated out (R&W eq. 2.45, vague prior).
    let log_det_k: f64 = 2.0 * (0..n).map(|i| l[i * n + i].ln()).sum::<f64>();
    let log_ml = -0.5 * dot(&ly, &ly) + 0.5 * (hky[0] * beta[0] + hky[1] * beta[1])
        - 0.5 * log_det_k
        - 0.5 * det.ln()
        - 0.5 * (n as f64 - 2.0) * (2.0 * std::f64::consts::PI).ln();
    let mut alpha: Vec<f64> = (0..n).map(|i| y[i] - beta[0] - beta[1] * t[i]).collect();
    super::fit::cholesky_solve(&l, n, &mut alpha);
    Some(GpFit { t: t.to_vec(), l, w: [w0, w1], a_inv, beta, alpha, length, signal, noise, log_ml })
}

impl GpFit {
    /// Posterior predictive mean and standard deviation (with observation noise) at `ts`.
    pub fn predict(&self, ts: f64) -> (f64, f64) {
        let n = self.t.len();
        let ks: Vec<f64> = self.t.iter().map(|ti| matern52(ts - ti, self.length, self.signal)).collect();
        let mean = self.beta[0] + self.beta[1] * ts + ks.iter().zip(&self.alpha).map(|(a, b)| a * b).sum::<f64>();
        let mut v = ks;
        solve_lower(&self.l, n, &mut v);
        let vv: f64 = v.iter().map(|x| x * x).sum();
        let r = [1.0 - dot(&self.w[0], &v), ts - dot(&self.w[1], &v)];
        let ai = &self.a_inv;
        let mean_var = r[0] * (ai[0] * r[0] + ai[1] * r[1]) + r[1] * (ai[2] * r[0] + ai[3] * r[1]);
        let var = self.signal * self.signal - vv + mean_var + self.noise * self.noise;
        (mean, var.max(0.0).sqrt())
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The hyperparameters with the highest marginal likelihood on the grid.
pub fn fit_best(t: &[f64], y: &[f64]) -> Option<GpFit> {
    let (a, b) = line(t, y);
    let res: Vec<f64> = t.iter().zip(y).map(|(ti, yi)| yi - a - b * ti).collect();
    let scale = robust_scale(&res).max(1e-4);
    let mut best: Option<GpFit> = None;
    for &len in &LENGTHS {
        for &s in &SIGNALS {
            for &nz in &NOISES {
                if let Some(f) = fit(t, y, len, s * scale, nz * scale) {
                    if best.as_ref().is_none_or(|b| f.log_ml > b.log_ml) {
                        best = Some(f);
                    }
                }
            }
        }
    }
    best
}

pub struct Gp;

impl Forecaster for Gp {
    fn name(&self) -> &str {
        "gp"
    }
    fn probabilistic(&self) -> bool {
        true
    }
    fn forecast(&self, ctx: &Context, at: &[f64]) -> Quantiles {
        let (c, s) = (ctx.cycles(), ctx.soh());
        let idx = subsample(c.len(), MAX_POINTS);
        let (origin, span) = (ctx.origin(), ctx.span());
        let t: Vec<f64> = idx.iter().map(|&i| (c[i] - origin) / span).collect();
        let y: Vec<f64> = idx.iter().map(|&i| s[i]).collect();
        let Some(gp) = (t.len() >= 3).then(|| fit_best(&t, &y)).flatten() else {
            // Too few points for a GP with a linear mean: hold the last value, no spread claimed.
            return Quantiles::point(vec![*s.last().expect("non-empty"); at.len()]);
        };
        let mut q = Quantiles { p10: Vec::with_capacity(at.len()), p50: Vec::with_capacity(at.len()), p90: Vec::with_capacity(at.len()) };
        for c in at {
            let (m, sd) = gp.predict((c - origin) / span);
            q.p10.push(m - Z90 * sd);
            q.p50.push(m);
            q.p90.push(m + Z90 * sd);
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_widens_with_horizon_and_mean_follows_the_trend() {
        let t: Vec<f64> = (0..40).map(|i| -1.0 + i as f64 / 39.0).collect();
        let y: Vec<f64> = t.iter().enumerate().map(|(i, t)| 0.9 + 0.05 * t + 0.002 * ((i * 7919) % 13) as f64 / 13.0).collect();
        let gp = fit_best(&t, &y).unwrap();
        let (m1, s1) = gp.predict(0.5);
        let (m3, s3) = gp.predict(3.0);
        assert!((m3 - (0.901 + 0.05 * 3.0)).abs() < 0.02, "mean {m3}");
        assert!(m1 < m3 && s3 > s1, "{m1} {s1} {m3} {s3}");
    }
}
