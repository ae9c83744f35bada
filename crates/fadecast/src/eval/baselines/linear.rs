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
        let n = ctx.len();
        let k = ((n as f64 * self.fraction).round() as usize).clamp(MIN_POINTS.min(n), n);
        let (x, y) = (&ctx.cycles()[n - k..], &ctx.soh()[n - k..]);
        // Centre time on the origin so the intercept is the fitted level there.
        let xc: Vec<f64> = x.iter().map(|c| c - ctx.origin()).collect();
        let (level, slope) = line(&xc, y);
        Quantiles::point(at.iter().map(|t| level + slope * (t - ctx.origin())).collect())
    }
}
