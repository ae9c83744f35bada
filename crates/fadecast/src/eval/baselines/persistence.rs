//! Persistence: the future equals the last observed SOH. The floor every model must clear.

use crate::eval::forecaster::{Context, Forecaster, Quantiles};

pub struct Persistence;

impl Forecaster for Persistence {
    fn name(&self) -> &str {
        "persistence"
    }
    fn probabilistic(&self) -> bool {
        false
    }
    fn forecast(&self, ctx: &Context, at: &[f64]) -> Quantiles {
        let last = *ctx.soh().last().expect("a context is never empty");
        Quantiles::point(vec![last; at.len()])
    }
}
