//! Power-law fade fitted to the cell's own context by robust least squares:
//! SOH(t) = q₀ − a·t^z, with t = (cycle − first cycle) / context span. z = 0.5 is the
//! square-root-of-time growth of the SEI; z is fitted (grid then golden section over
//! [`EXPONENT_GRID`]) so calendar-like (z < 1) and accelerating (z > 1) fade are both expressible.
//! q₀ and a are solved exactly for each z, under Huber IRLS weights.

use super::exponential::{normalised, IRLS_ITERATIONS};
use super::fit::{huber_weights, minimise_1d, weighted_lstsq};
use crate::eval::forecaster::{Context, Forecaster, Quantiles};

pub const EXPONENT_GRID: [f64; 9] = [0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0];

/// (q₀, a, z).
pub fn fit_power_law(t: &[f64], y: &[f64]) -> (f64, f64, f64) {
    let mut w = vec![1.0; t.len()];
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let mut params = (mean, 0.0, 1.0);
    let solve = |w: &[f64], z: f64| weighted_lstsq(2, t.len(), |i, j| if j == 0 { 1.0 } else { -t[i].powf(z) }, y, w);
    for _ in 0..IRLS_ITERATIONS {
        let z = minimise_1d(&EXPONENT_GRID, |z| if z > 0.0 { solve(&w, z).map_or(f64::INFINITY, |r| r.1) } else { f64::INFINITY }).0;
        let Some((b, _)) = solve(&w, z) else { break };
        params = (b[0], b[1], z);
        let res: Vec<f64> = t.iter().zip(y).map(|(ti, yi)| yi - (b[0] - b[1] * ti.powf(z))).collect();
        w = huber_weights(&res);
    }
    params
}

pub struct PowerLaw;

impl Forecaster for PowerLaw {
    fn name(&self) -> &str {
        "power"
    }
    fn probabilistic(&self) -> bool {
        false
    }
    fn forecast(&self, ctx: &Context, at: &[f64]) -> Quantiles {
        let (t, y) = normalised(ctx);
        let (q0, a, z) = fit_power_law(&t, &y);
        let (c0, span) = (ctx.cycles()[0], ctx.span());
        Quantiles::point(at.iter().map(|c| q0 - a * ((c - c0) / span).max(0.0).powf(z)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_square_root_fade() {
        let t: Vec<f64> = (0..60).map(|i| i as f64 / 59.0).collect();
        let y: Vec<f64> = t.iter().map(|t| 1.0 - 0.05 * t.sqrt()).collect();
        let (q0, a, z) = fit_power_law(&t, &y);
        assert!((q0 - 1.0).abs() < 1e-4 && (a - 0.05).abs() < 1e-4 && (z - 0.5).abs() < 1e-3, "{q0} {a} {z}");
    }
}
