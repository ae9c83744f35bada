//! Synthetic fade curves mixed into the training windows, as Chronos (KernelSynth) and TimesFM mix
//! synthetic series into their pretraining corpora.
//!
//! Why: nearly every cell of the seen datasets was cycled until it reached end of life, most of
//! them through a knee, so the corpus alone teaches that *any* early history is followed by an
//! accelerating drop within a few history spans. Cells whose tests stop long before end of life,
//! or whose fade keeps slowing down (calendar-like, SEI-dominated ageing), are then forecast to
//! collapse. The curves here come from the textbook families of capacity fade, with parameters
//! spread wide and nothing fitted to any dataset:
//!
//! ```text
//! SOH(t) = 1 + offset − d₀·(1 − e^(−t/τ₀))    initial drop (formation, SEI growth)
//!                     − a·t^b                 main fade, b in [0.5, 2]: √t-like to accelerating
//!                     − k·max(0, t − t_k)²    a knee (half the curves), onset anywhere in the test
//!                     + noise
//! ```
//!
//! with t the cycle over the planned test length. A test stops at its planned length or when SOH
//! falls below a stop threshold, whichever comes first, so some curves end far above end of life.
//! The ranges of the stop threshold and of the two amplitudes are configurable. By default no
//! curve goes below SOH 0.5, and most per-cycle datasets of the corpus stop at 0.8, so a model may
//! learn that SOH levels off there; wider ranges let some curves fall to near zero, as real cells
//! that are cycled on do (docs/preregistered.md, experiment 2).
//! Half are per-cycle series, half check-ups at jittered gaps. Synthetic cells carry no
//! descriptors: the contrastive term never pairs them.

use fadecast::data::{Cell, CellMeta, Cycle, Observation};
use fadecast::N_DESCRIPTORS;
use serde::{Deserialize, Serialize};

use crate::windows::SplitMix64;

/// The dataset name synthetic cells carry (never a corpus dataset's).
pub const DATASET: &str = "synthetic";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Share of the training windows drawn from synthetic cells (0: none, the corpus only).
    pub share: f64,
    /// Synthetic cells generated (from the run's seed, so a run always sees the same ones).
    pub cells: usize,
    /// First epoch (1-based) whose windows include them: the earlier ones train exactly as
    /// without them, so a run can take them up from another run's checkpoint of that epoch.
    pub from_epoch: usize,
    /// Range of the SOH at which a synthetic test stops (uniform): how deep the curves may go.
    pub stop_soh: [f64; 2],
    /// Range of the main fade's amplitude `a` (log-uniform): the SOH it takes by the planned end.
    pub main_fade: [f64; 2],
    /// Range of the knee's amplitude `k` (log-uniform), for the half of the curves that have one.
    pub knee_fade: [f64; 2],
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self { share: 0.0, cells: 512, from_epoch: 1, stop_soh: [0.5, 0.82], main_fade: [0.02, 0.4], knee_fade: [0.05, 0.6] }
    }
}

impl SyntheticConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..1.0).contains(&self.share) {
            return Err(format!("synthetic.share must be in [0, 1), got {}", self.share));
        }
        if self.share > 0.0 && self.cells == 0 {
            return Err("synthetic.cells must be at least 1 when synthetic.share > 0".into());
        }
        let [lo, hi] = self.stop_soh;
        if !(0.0 < lo && lo <= hi && hi < 1.0) {
            return Err(format!("synthetic.stop_soh must be a range within (0, 1), got [{lo}, {hi}]"));
        }
        for (name, [lo, hi]) in [("main_fade", self.main_fade), ("knee_fade", self.knee_fade)] {
            if !(0.0 < lo && lo <= hi && hi.is_finite()) {
                return Err(format!("synthetic.{name} must be a positive range, got [{lo}, {hi}]"));
            }
        }
        Ok(())
    }
}

/// Uniform in [lo, hi).
fn uniform(rng: &mut SplitMix64, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.next_f64()
}

/// Log-uniform in [lo, hi).
fn log_uniform(rng: &mut SplitMix64, lo: f64, hi: f64) -> f64 {
    uniform(rng, lo.ln(), hi.ln()).exp()
}

/// Standard normal (Box–Muller).
fn normal(rng: &mut SplitMix64) -> f64 {
    let u = rng.next_f64().max(1e-12);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * rng.next_f64()).cos()
}

/// `cfg.cells` synthetic cells from `seed` (none when the share is 0).
pub fn cells(cfg: &SyntheticConfig, seed: u64) -> Vec<Cell> {
    if cfg.share <= 0.0 {
        return Vec::new();
    }
    let mut rng = SplitMix64::new(seed ^ 0x5EED_5717);
    (0..cfg.cells).map(|i| cell(i, cfg, &mut rng)).collect()
}

fn cell(index: usize, cfg: &SyntheticConfig, rng: &mut SplitMix64) -> Cell {
    let length = log_uniform(rng, 150.0, 5000.0);
    let per_cycle = rng.next_f64() < 0.5;
    let offset = uniform(rng, -0.02, 0.02);
    let (d0, tau0) = (uniform(rng, 0.0, 0.03), log_uniform(rng, 0.01, 0.2));
    let (b, main_fade) = (log_uniform(rng, 0.5, 2.0), log_uniform(rng, cfg.main_fade[0], cfg.main_fade[1]));
    let (knee_t, knee_fade) = if rng.next_f64() < 0.5 {
        (uniform(rng, 0.2, 1.0), log_uniform(rng, cfg.knee_fade[0], cfg.knee_fade[1]))
    } else {
        (f64::INFINITY, 0.0)
    };
    let stop_soh = uniform(rng, cfg.stop_soh[0], cfg.stop_soh[1]);
    let noise = log_uniform(rng, 1e-4, 5e-3);
    let truth = |t: f64| {
        let knee = if t > knee_t { knee_fade * ((t - knee_t) / (1.0 - knee_t).max(0.05)).powi(2) } else { 0.0 };
        1.0 + offset - d0 * (1.0 - (-t / tau0).exp()) - main_fade * t.powf(b) - knee
    };

    // Observation cycles: every cycle, or check-ups at a jittered gap (10–60 over the test).
    let gap = if per_cycle { 1.0 } else { length / uniform(rng, 10.0, 60.0) };
    let mut cycles = Vec::new();
    let mut c: f64 = if per_cycle { 1.0 } else { 0.0 };
    while c <= length {
        cycles.push(c);
        c += if per_cycle { 1.0 } else { gap * uniform(rng, 0.8, 1.2) };
    }
    let mut obs = Vec::with_capacity(cycles.len());
    for &c in &cycles {
        let soh = truth(c / length) + noise * normal(rng);
        if soh < stop_soh && obs.len() >= 2 {
            break;
        }
        obs.push(Cycle { cycle: c, capacity_ah: None, soh: soh.max(0.01), descriptors: [None; N_DESCRIPTORS] });
    }
    let observation = if per_cycle { Observation::PerCycle } else { Observation::CheckUp };
    let meta = CellMeta {
        dataset: DATASET.into(),
        cell_id: format!("s{index:05}"),
        observation,
        reference_rule: "synthetic".into(),
        ..CellMeta::default()
    };
    Cell { meta, cycles: obs }
}
