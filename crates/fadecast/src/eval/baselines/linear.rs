//! Linear extrapolation of the last observations: an ordinary least-squares line through the last
//! `fraction` of the context (at least [`MIN_POINTS`] observations), extended to the horizon.
//! The fraction is tuned on the validation split (see `baselines::build`).

use super::fit::line;
use crate::eval::forecaster::{Context, Forecaster, Quantiles};

pub const MIN_POINTS: usize = 3;
/// The fractions of the context tried on the validation split.
pub const FRACTIONS: [f64; 4] = [0.1, 0.25, 0.5, 1.0];

pub struct Linear {
    pub fraction: f64,
}

impl Forecaster for Linear {
    fn name(&self) -> &str {
        "linear"
    }
    fn probabilistic(&self) -> bool {
        false
    }
    fn settings(&self) -> String {
        format!("line through the last {} % of the context (chosen on val)", self.fraction * 100.0)
    }
    fn forecast(&self, ctx: &Context, at: &[f64]) -> Quantiles {
        let (level, slope) = recent_line(ctx.cycles(), ctx.soh(), self.fraction);
        Quantiles::point(at.iter().map(|t| level + slope * (t - ctx.origin())).collect())
    }
}

/// The least-squares line through the last `fraction` of a history's observations (at least
/// [`MIN_POINTS`], or all of them if fewer), as (its level at the last cycle, the origin; slope
/// per cycle). Also the universal model's trend blend (`ForecastConfig::trend_weight`).
pub fn recent_line(cycles: &[f64], soh: &[f64], fraction: f64) -> (f64, f64) {
    let n = cycles.len();
    let k = ((n as f64 * fraction).round() as usize).clamp(MIN_POINTS.min(n), n);
    let origin = cycles[n - 1];
    // Centre time on the origin so the intercept is the fitted level there.
    let x: Vec<f64> = cycles[n - k..].iter().map(|c| c - origin).collect();
    line(&x, &soh[n - k..])
}
