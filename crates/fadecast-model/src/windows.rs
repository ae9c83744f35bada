//! From corpus cells to training windows.
//!
//! 1. [`GridSeries::from_cell`]: each cell's SOH is resampled (linear interpolation) onto a regular
//!    cycle grid. Per-cycle data keeps its median cycle step; check-up data, sparse and irregular,
//!    gets its median check-up gap divided by `checkup_subdivide`, so a 20-check-up cell still
//!    spans a few patches. The spacing is recorded and reaches the model as a side channel.
//!    Windows of check-up series may also read that grid refined (`checkup_refine`), as the
//!    forecaster does for a history of a few check-ups (`ForecastConfig::refine_short_context`).
//! 2. [`WindowSampler`]: a window is `n` consecutive patches of one series, read at a stride
//!    (1, 2, 4, … grid steps: the model sees many spacings and long spans cheaply). The first
//!    `n - 1` patches are the context, patches 1..n the next-patch targets. A share of windows
//!    (`whole_history_prob`) are instead *whole-history* windows: the series from its first
//!    observation to a random origin resampled onto exactly `whole_history_patches` patches, then
//!    what follows at that spacing, as the forecaster reads a history with
//!    `ForecastConfig::whole_history_patches`. A window's cycle axis may be stretched at random
//!    (`spacing_jitter`), which only the spacing side channel sees. Which cell a window comes
//!    from is drawn by weight, datasets' shares tempered by `dataset_balance`.
//! 3. Each window carries a physical-descriptor vector with an availability mask, for the
//!    contrastive loss only: cycle descriptors averaged over the window's context cycles,
//!    temperature falling back to the cell's test temperature, plus the condition descriptors
//!    (C-rates, depth of discharge) from [`CellMeta`].
//!
//! Sampling is driven by [`SplitMix64`], seeded per epoch, so a resumed run replays exactly.

use std::collections::{BTreeMap, HashMap};

use fadecast::data::{Cell, CellMeta, Observation};
use fadecast::{Descriptor, DESCRIPTORS, N_DESCRIPTORS};
use serde::{Deserialize, Serialize};

use crate::model::{side_channels, ModelConfig, SeriesNorm, N_SIDE};

/// Descriptor vector: the cycle descriptors, then charge C-rate, discharge C-rate, depth of discharge.
pub const DESC_DIM: usize = N_DESCRIPTORS + 3;

/// Names of the descriptor vector's entries, in order.
pub fn descriptor_names() -> Vec<&'static str> {
    let mut n: Vec<&str> = DESCRIPTORS.to_vec();
    n.extend(["charge_c_rate", "discharge_c_rate", "dod"]);
    n
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowConfig {
    /// Check-up grids are the median check-up gap divided by this.
    pub checkup_subdivide: usize,
    /// Grid strides a window may be read at (each drawn with equal chance where the series is long enough).
    pub strides: Vec<usize>,
    /// Chance that a window is cut to a random shorter length (2 patches up), so the model also
    /// learns from the short-context normalisation it meets early in a cell's life.
    pub short_window_prob: f64,
    /// Check-up series are also read on grids this many times finer (linear interpolation between
    /// check-ups), each drawn with equal chance: the forecaster resamples a history of a few
    /// check-ups that finely so it still fills its minimum context, and training must have shown
    /// the model such grids. `[1]`: the base grid only.
    pub checkup_refine: Vec<usize>,
    /// Chance that a window is a *whole-history* window: the cell's history from its first
    /// observation up to a random origin, resampled onto exactly `whole_history_patches` patches,
    /// followed by what comes next at that same spacing — the grid the forecaster uses with
    /// [`ForecastConfig::whole_history_patches`](crate::forecast::ForecastConfig). 0: never.
    pub whole_history_prob: f64,
    /// Context patches of a whole-history window.
    pub whole_history_patches: usize,
    /// Each window's cycle axis is stretched by a factor drawn log-uniformly in
    /// [1/`spacing_jitter`, `spacing_jitter`] (1: never). Only the spacing side channel sees it —
    /// the normalised shape is the same — so the model knows the spacing roughly but cannot read
    /// it as the fingerprint of the few training datasets cycled at that pace.
    pub spacing_jitter: f64,
    /// How windows are shared between datasets. A cell's weight is √ its usable points; a
    /// dataset's share of the draws is ∝ W^`dataset_balance`, W the sum of its cells' weights,
    /// split among its cells by their weights. 1: cells weigh alike wherever they come from, so
    /// the datasets with the most cells dominate; 0: every dataset alike, as the macro average over
    /// datasets weighs them; in between, tempered (as multilingual language models sample their
    /// languages).
    pub dataset_balance: f64,
}

impl Default for WindowConfig {
    fn default() -> Self {
        Self {
            checkup_subdivide: 4,
            strides: vec![1, 2, 4, 8],
            short_window_prob: 0.3,
            checkup_refine: vec![1],
            whole_history_prob: 0.0,
            whole_history_patches: 4,
            spacing_jitter: 1.0,
            dataset_balance: 1.0,
        }
    }
}

impl WindowConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(1.0..=100.0).contains(&self.spacing_jitter) {
            return Err(format!("windows.spacing_jitter must be between 1 (off) and 100, got {}", self.spacing_jitter));
        }
        if !(0.0..=1.0).contains(&self.dataset_balance) {
            return Err(format!("windows.dataset_balance must be between 0 and 1, got {}", self.dataset_balance));
        }
        Ok(())
    }
}

/// Linear interpolation of `(xs, ys)` at `x` (`xs` increasing; clamped at the ends).
pub fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    let i = xs.partition_point(|&v| v < x);
    if i == 0 {
        return ys[0];
    }
    if i >= xs.len() {
        return ys[ys.len() - 1];
    }
    let (x0, x1, y0, y1) = (xs[i - 1], xs[i], ys[i - 1], ys[i]);
    if x1 == x0 { y1 } else { y0 + (y1 - y0) * (x - x0) / (x1 - x0) }
}

/// Median of the positive gaps between consecutive cycles (1.0 for fewer than two points).
pub fn median_gap(cycles: &[f64]) -> f64 {
    let mut gaps: Vec<f64> = cycles.windows(2).map(|w| w[1] - w[0]).filter(|g| *g > 0.0).collect();
    if gaps.is_empty() {
        return 1.0;
    }
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2]
}

/// Grid points from `start` to `end` (both included when `end` lies on the grid) at `spacing`;
/// the tolerance keeps an end that round-off puts a hair short of a grid point on it.
pub fn grid_points(start: f64, end: f64, spacing: f64) -> usize {
    ((end - start) / spacing + 1e-9).floor() as usize + 1
}

/// The grid spacing for a series observed at `cycles`.
pub fn grid_spacing(cycles: &[f64], observation: Observation, checkup_subdivide: usize) -> f64 {
    let gap = median_gap(cycles);
    match observation {
        Observation::PerCycle => gap,
        Observation::CheckUp => gap / checkup_subdivide.max(1) as f64,
    }
}

/// One cell on a regular cycle grid, plus what the descriptor vector needs.
#[derive(Debug, Clone)]
pub struct GridSeries {
    pub key: String,
    pub dataset: String,
    pub observation: Observation,
    /// Cycle of grid point 0.
    pub start: f64,
    pub spacing: f64,
    /// SOH at `start + k * spacing`.
    pub soh: Vec<f64>,
    /// Raw observation cycles, their SOH and descriptors (NaN = not measured).
    obs_cycles: Vec<f64>,
    obs_soh: Vec<f64>,
    obs_desc: Vec<[f32; N_DESCRIPTORS]>,
    /// Condition descriptors from the metadata (NaN = unknown).
    temperature_c: f32,
    conditions: [f32; 3],
}

impl GridSeries {
    pub fn from_cell(cell: &Cell, cfg: &WindowConfig) -> Option<Self> {
        let cycles = cell.cycle_axis();
        let soh = cell.soh();
        if cycles.len() < 2 {
            return None;
        }
        let spacing = grid_spacing(&cycles, cell.meta.observation, cfg.checkup_subdivide);
        let (start, end) = (cycles[0], cycles[cycles.len() - 1]);
        let n = grid_points(start, end, spacing);
        let grid = (0..n).map(|k| interpolate(&cycles, &soh, start + k as f64 * spacing)).collect();
        let nan = |v: Option<f64>| v.map_or(f32::NAN, |x| x as f32);
        let m: &CellMeta = &cell.meta;
        Some(Self {
            key: cell.key(),
            dataset: m.dataset.clone(),
            observation: m.observation,
            start,
            spacing,
            soh: grid,
            obs_cycles: cycles,
            obs_soh: soh,
            obs_desc: cell.cycles.iter().map(|c| c.descriptors.map(nan)).collect(),
            temperature_c: nan(m.temperature_c),
            conditions: [nan(m.charge_c_rate), nan(m.discharge_c_rate), nan(m.dod)],
        })
    }

    /// The lowest SOH the cell was measured at: how far past end of life its test went.
    pub fn min_soh(&self) -> f64 {
        self.obs_soh.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// The grid refinements windows of this series may use (see [`WindowConfig::checkup_refine`]).
    fn refines(&self, cfg: &WindowConfig) -> Vec<usize> {
        let checkup = self.observation == Observation::CheckUp;
        let mut r: Vec<usize> = cfg.checkup_refine.iter().copied().filter(|&r| r > 1 && checkup).collect();
        r.insert(0, 1);
        r.sort_unstable();
        r.dedup();
        r
    }

    /// Number of points on the grid refined `r` times.
    fn points_at(&self, r: usize) -> usize {
        (self.soh.len() - 1) * r + 1
    }

    /// SOH at point `j` of the grid refined `r` times (linear between base grid points).
    fn fine_value(&self, j: usize, r: usize) -> f64 {
        let (a, rem) = (j / r, j % r);
        if rem == 0 {
            return self.soh[a];
        }
        let t = rem as f64 / r as f64;
        self.soh[a] * (1.0 - t) + self.soh[a + 1] * t
    }

    /// Descriptor vector and mask over the cycles `[from, to]`: each cycle descriptor is the mean
    /// of its measured values there; temperature falls back to the cell's test temperature.
    pub fn descriptors(&self, from: f64, to: f64) -> ([f32; DESC_DIM], [bool; DESC_DIM]) {
        let (mut sum, mut count) = ([0f64; N_DESCRIPTORS], [0usize; N_DESCRIPTORS]);
        let lo = self.obs_cycles.partition_point(|&c| c < from);
        let hi = self.obs_cycles.partition_point(|&c| c <= to);
        for d in &self.obs_desc[lo..hi] {
            for k in 0..N_DESCRIPTORS {
                if d[k].is_finite() {
                    sum[k] += d[k] as f64;
                    count[k] += 1;
                }
            }
        }
        let mut v = [f32::NAN; DESC_DIM];
        for k in 0..N_DESCRIPTORS {
            if count[k] > 0 {
                v[k] = (sum[k] / count[k] as f64) as f32;
            }
        }
        let t = Descriptor::TemperatureC.index();
        if !v[t].is_finite() {
            v[t] = self.temperature_c;
        }
        v[N_DESCRIPTORS..].copy_from_slice(&self.conditions);
        (v, v.map(f32::is_finite))
    }
}

/// A training window: `n_patches` consecutive patches of one series at one stride.
#[derive(Debug, Clone)]
pub struct Window {
    pub series: usize,
    /// Raw SOH, `n_patches * patch_len` points.
    pub values: Vec<f64>,
    pub n_patches: usize,
    /// The first `context_patches` patches play the forecast's context: the series is normalised
    /// on them alone and the loss covers only the patches after them, exactly as in a rollout
    /// (normalising on patches a position has not seen yet would teach it to revert to a mean it
    /// could not know).
    pub context_patches: usize,
    /// Cycles between consecutive points (grid spacing × stride).
    pub spacing: f64,
    pub start_cycle: f64,
    pub descriptors: [f32; DESC_DIM],
    pub mask: [bool; DESC_DIM],
}

/// A window made model-ready: normalised on its context, padded to `max_context_patches`.
#[derive(Debug, Clone)]
pub struct Example {
    /// Context patches, normalised: `max_context_patches * P` (zeros past `valid`).
    pub input: Vec<f32>,
    pub side: Vec<[f32; N_SIDE]>,
    /// Targets, normalised: for each of `input`'s patches, the next M (`output_patches`) patches,
    /// `max_context_patches * M * P` (zeros where the window ends first).
    pub target: Vec<f32>,
    /// Number of real (unpadded) positions.
    pub valid: usize,
    /// The first position whose prediction is scored (`context_patches - 1`): earlier positions
    /// predict patches inside the context.
    pub first: usize,
    /// Patches each position predicts (M).
    pub horizons: usize,
    /// The last position whose prediction is scored (`usize::MAX`: every one to the window's end);
    /// see [`Example::feed_back`].
    pub last: usize,
    /// The loss weight of each scored position: the normalisation scale, so that the loss is
    /// measured in SOH (as the evaluator measures it), not in units of each window's own spread —
    /// otherwise a flat early-life context (scale at its floor) turns a small SOH error into a
    /// huge normalised one and such windows dominate training.
    pub weight: f32,
}

impl Example {
    /// Whether position `t`'s prediction `h` patches ahead (0: the next patch) is scored: `t` is
    /// past the context and inside the window, and so is the patch it predicts.
    pub fn is_scored(&self, t: usize, h: usize) -> bool {
        t >= self.first && t <= self.last && t + h < self.valid
    }

    /// The loss weight of every (position, patch ahead) prediction for `positions` positions,
    /// position-major: the window's `weight` where scored, 0 elsewhere.
    pub fn loss_mask(&self, positions: usize) -> Vec<f32> {
        let m = self.horizons;
        (0..positions * m).map(|i| if self.is_scored(i / m, i % m) { self.weight } else { 0.0 }).collect()
    }

    /// How many (position, patch ahead) predictions are scored.
    pub fn scored(&self) -> usize {
        (self.first..self.valid.min(self.last.saturating_add(1))).map(|t| (self.valid - t).min(self.horizons)).sum()
    }

    /// Replaces the inputs after the context with `median` ([M·P] normalised: the model's own
    /// median forecast from the last context position, what a rollout feeds back) and scores only
    /// the positions up to the last replaced one; the targets stay the truth. Later positions would
    /// read true patches after predicted ones, which no rollout does, so they are not scored.
    pub fn feed_back(&mut self, median: &[f32], patch_len: usize) {
        self.feed_back_from(self.first, median, patch_len);
    }

    /// [`Example::feed_back`] from position `from` (the context's last, or the last patch fed
    /// before): the M input patches after it become `median`, its forecast from there.
    pub fn feed_back_from(&mut self, from: usize, median: &[f32], patch_len: usize) {
        let p = patch_len;
        let end = (from + self.horizons).min(self.valid - 1);
        for t in from + 1..=end {
            let h = t - from - 1;
            self.input[t * p..(t + 1) * p].copy_from_slice(&median[h * p..(h + 1) * p]);
        }
        self.last = end;
    }
}

impl Window {
    /// Normalises on the context patches only; later patches are inputs (teacher forcing) and
    /// targets, never part of the normalisation.
    pub fn example(&self, cfg: &ModelConfig) -> Example {
        let (p, n, m) = (cfg.patch_len, cfg.max_context_patches, cfg.output_patches);
        let valid = self.n_patches - 1;
        let k = self.context_patches.clamp(1, valid);
        let norm = SeriesNorm::from_context(&self.values[..k * p], cfg.min_scale);
        let z = |v: f64| norm.normalise(v) as f32;
        let mut input = vec![0f32; n * p];
        let mut target = vec![0f32; n * m * p];
        for t in 0..valid {
            for i in 0..p {
                input[t * p + i] = z(self.values[t * p + i]);
            }
            // Position t predicts patches t + 1 ..= t + M, as far as the window goes.
            for h in 0..m.min(valid - t) {
                for i in 0..p {
                    target[(t * m + h) * p + i] = z(self.values[(t + 1 + h) * p + i]);
                }
            }
        }
        let side = (0..n)
            .map(|t| side_channels(self.spacing, &norm, cfg.age_channel.then(|| self.start_cycle + (t * p) as f64 * self.spacing)))
            .collect();
        Example { input, side, target, valid, first: k - 1, horizons: m, last: usize::MAX, weight: norm.scale as f32 }
    }
}

/// Running sums of the series' sampling weights (see [`WindowConfig::dataset_balance`]).
fn cumulative_weights(series: &[GridSeries], balance: f64) -> Vec<f64> {
    let base = |s: &GridSeries| (s.soh.len() as f64).sqrt();
    let mut per_dataset: HashMap<&str, f64> = HashMap::new();
    for s in series {
        *per_dataset.entry(s.dataset.as_str()).or_default() += base(s);
    }
    // W^b · w / W; at b = 1 the factor is exactly 1, so older configs replay their windows.
    running_sums(series.iter().map(|s| per_dataset[s.dataset.as_str()].powf(balance - 1.0) * base(s)))
}

/// Running sums of `weights`, in order (what a draw by `partition_point` reads).
fn running_sums(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .into_iter()
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

/// Draws windows from a set of series.
#[derive(Clone)]
pub struct WindowSampler {
    pub series: Vec<GridSeries>,
    /// Cumulative sampling weights (∝ √ usable points), for picking a series.
    cumulative: Vec<f64>,
    patch_len: usize,
    max_patches: usize,
    cfg: WindowConfig,
}

impl WindowSampler {
    /// Series with fewer than two patches (one context, one target) on their finest grid are dropped.
    pub fn new(cells: &[Cell], model: &ModelConfig, cfg: &WindowConfig) -> Self {
        let p = model.patch_len;
        let series: Vec<GridSeries> = cells
            .iter()
            .filter_map(|c| GridSeries::from_cell(c, cfg))
            .filter(|s| s.refines(cfg).into_iter().any(|r| s.points_at(r) >= 2 * p))
            .collect();
        let cumulative = cumulative_weights(&series, cfg.dataset_balance);
        Self { series, cumulative, patch_len: p, max_patches: model.max_context_patches + 1, cfg: cfg.clone() }
    }

    /// Rescales the draw weights so the series of `dataset` get `share` of the draws together (the
    /// others keep their proportions); unchanged when `share` is 0 or no series is of `dataset`.
    pub fn with_dataset_share(self, dataset: &str, share: f64) -> Self {
        self.with_share(|s| s.dataset == dataset, share, 1.0)
    }

    /// Rescales the draw weights so the series that `picked` selects get `share` of the draws
    /// together, and the others the rest in their present proportions; unchanged when `share` is 0
    /// or it selects none or all of them. Among the selected, a dataset's part is ∝ P^`balance`, P
    /// its present draw probability there (1: as now; 0: datasets alike; as
    /// [`WindowConfig::dataset_balance`]), and within a dataset the series keep their proportions.
    pub fn with_share(mut self, picked: impl Fn(&GridSeries) -> bool, share: f64, balance: f64) -> Self {
        let mut weights = self.draw_probabilities();
        let inside: f64 = self.series.iter().zip(&weights).filter(|(s, _)| picked(s)).map(|(_, w)| w).sum();
        if share <= 0.0 || inside <= 0.0 || inside >= 1.0 {
            return self;
        }
        // (A BTreeMap, so the sums run in one order and a run draws the same windows every time.)
        let mut per_dataset: BTreeMap<&str, f64> = BTreeMap::new();
        for (s, &w) in self.series.iter().zip(&weights) {
            if picked(s) {
                *per_dataset.entry(s.dataset.as_str()).or_default() += w;
            }
        }
        let tempered: f64 = if balance == 1.0 { inside } else { per_dataset.values().map(|p| p.powf(balance)).sum() };
        for (s, w) in self.series.iter().zip(weights.iter_mut()) {
            // p^(balance − 1) is exactly 1 at balance 1: the weights are then those of a plain rescale.
            *w *= if picked(s) { share / tempered * per_dataset[s.dataset.as_str()].powf(balance - 1.0) } else { (1.0 - share) / (1.0 - inside) };
        }
        self.cumulative = running_sums(weights);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Each series' chance of being drawn (see [`WindowConfig::dataset_balance`]).
    pub fn draw_probabilities(&self) -> Vec<f64> {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let mut prev = 0.0;
        self.cumulative
            .iter()
            .map(|&c| {
                let p = (c - prev) / total;
                prev = c;
                p
            })
            .collect()
    }

    /// One random window, its cycle axis stretched (see [`WindowConfig::spacing_jitter`]).
    pub fn sample(&self, rng: &mut SplitMix64) -> Window {
        let mut w = self.draw(rng);
        // (No draw when the jitter is off, so older configs replay their windows.)
        if self.cfg.spacing_jitter > 1.0 {
            let stretch = self.cfg.spacing_jitter.powf(2.0 * rng.next_f64() - 1.0);
            w.spacing *= stretch;
            w.start_cycle *= stretch;
        }
        w
    }

    /// One random window as the series has it.
    fn draw(&self, rng: &mut SplitMix64) -> Window {
        let total = *self.cumulative.last().expect("sampler has series");
        let pick = rng.next_f64() * total;
        let si = self.cumulative.partition_point(|&c| c <= pick).min(self.series.len() - 1);
        let s = &self.series[si];
        let p = self.patch_len;
        // (No draw when whole-history windows are off, so older configs replay their windows.)
        if self.cfg.whole_history_prob > 0.0 && rng.next_f64() < self.cfg.whole_history_prob {
            if let Some(w) = self.whole_history(si, rng) {
                return w;
            }
        }

        // The grid (refined `r` times: check-up series only) and the stride on it, among those that
        // still leave two patches; the finest grid at stride 1 always does (checked in `new`).
        let refines: Vec<usize> = s.refines(&self.cfg).into_iter().filter(|&r| s.points_at(r) >= 2 * p).collect();
        // (No draw when there is no choice, so configs without refinement replay their old windows.)
        let r = if refines.len() < 2 { refines.first().copied().unwrap_or(1) } else { refines[rng.below(refines.len())] };
        let fine_len = s.points_at(r);
        let fits = |stride: usize| (fine_len - 1) / stride + 1 >= 2 * p;
        let strides: Vec<usize> = self.cfg.strides.iter().copied().filter(|&st| st >= 1 && fits(st)).collect();
        let stride = if strides.is_empty() { 1 } else { strides[rng.below(strides.len())] };
        let points_at_stride = (fine_len - 1) / stride + 1;
        let mut n = (points_at_stride / p).min(self.max_patches);
        if n > 2 && rng.next_f64() < self.cfg.short_window_prob {
            n = 2 + rng.below(n - 1);
        }
        let span = (n * p - 1) * stride + 1;
        let offset = rng.below(fine_len - span + 1);
        // Context length: uniform over 1 ..= n - 1 patches, so short contexts with long rollouts
        // (the early-life forecast) are trained as often as long ones.
        let context_patches = 1 + rng.below(n - 1);
        let values: Vec<f64> = (0..n * p).map(|i| s.fine_value(offset + i * stride, r)).collect();
        let spacing = s.spacing * stride as f64 / r as f64;
        let start_cycle = s.start + offset as f64 / r as f64 * s.spacing;
        let context_end = start_cycle + ((n - 1) * p - 1) as f64 * spacing;
        let (descriptors, mask) = s.descriptors(start_cycle, context_end);
        Window { series: si, values, n_patches: n, context_patches, spacing, start_cycle, descriptors, mask }
    }

    /// A whole-history window of series `si` (see [`WindowConfig::whole_history_prob`]): the origin
    /// is the last observation at or before a uniformly drawn 3–90 % of the series' span; `None`
    /// when the series does not reach one patch past it at that spacing.
    fn whole_history(&self, si: usize, rng: &mut SplitMix64) -> Option<Window> {
        let s = &self.series[si];
        let (p, k) = (self.patch_len, self.cfg.whole_history_patches.clamp(1, self.max_patches - 1));
        let (cycles, start) = (&s.obs_cycles, s.start);
        let end = cycles[cycles.len() - 1];
        let wanted = start + (0.03 + 0.87 * rng.next_f64()) * (end - start);
        let origin = cycles[cycles.partition_point(|&c| c <= wanted).max(2) - 1];
        if origin <= start {
            return None;
        }
        let spacing = (origin - start) / (k * p - 1) as f64;
        let n = (grid_points(start, end, spacing) / p).min(self.max_patches);
        if n <= k {
            return None;
        }
        let values = (0..n * p).map(|i| interpolate(cycles, &s.obs_soh, start + i as f64 * spacing)).collect();
        let (descriptors, mask) = s.descriptors(start, origin);
        Some(Window { series: si, values, n_patches: n, context_patches: k, spacing, start_cycle: start, descriptors, mask })
    }

    /// `count` windows from a generator seeded with `seed` (the same seed gives the same windows).
    pub fn sample_many(&self, count: usize, seed: u64) -> Vec<Window> {
        let mut rng = SplitMix64::new(seed);
        (0..count).map(|_| self.sample(&mut rng)).collect()
    }
}

/// Per-dimension robust standardisation of descriptor vectors (median and IQR over a sample of
/// windows), so seconds of charge time and volts weigh alike in the descriptor distance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DescriptorScaler {
    pub center: Vec<f32>,
    pub scale: Vec<f32>,
}

impl DescriptorScaler {
    pub fn fit(windows: &[Window]) -> Self {
        let (mut center, mut scale) = (vec![0f32; DESC_DIM], vec![1f32; DESC_DIM]);
        for k in 0..DESC_DIM {
            let mut v: Vec<f32> = windows.iter().filter(|w| w.mask[k]).map(|w| w.descriptors[k]).collect();
            if v.len() < 4 {
                continue;
            }
            v.sort_by(f32::total_cmp);
            let q = |f: f64| v[((v.len() - 1) as f64 * f).round() as usize];
            center[k] = q(0.5);
            scale[k] = (q(0.75) - q(0.25)).max(1e-6 * q(0.5).abs()).max(1e-9);
        }
        Self { center, scale }
    }

    pub fn apply(&self, w: &Window) -> [f32; DESC_DIM] {
        std::array::from_fn(|k| if w.mask[k] { (w.descriptors[k] - self.center[k]) / self.scale[k] } else { 0.0 })
    }
}

/// Root-mean-square difference over the descriptors both windows have; `None` when they share
/// fewer than `min_common`.
pub fn descriptor_distance(
    a: &[f32; DESC_DIM],
    ma: &[bool; DESC_DIM],
    b: &[f32; DESC_DIM],
    mb: &[bool; DESC_DIM],
    min_common: usize,
) -> Option<f32> {
    let (mut sum, mut n) = (0f32, 0usize);
    for k in 0..DESC_DIM {
        if ma[k] && mb[k] {
            sum += (a[k] - b[k]).powi(2);
            n += 1;
        }
    }
    (n >= min_common.max(1)).then(|| (sum / n as f32).sqrt())
}

/// SplitMix64: a tiny, fast, well-mixed generator whose sequence is fixed forever (unlike a
/// library's default RNG), so a seed names the same windows in every version.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_f64() * n as f64) as usize % n.max(1)
    }
}
