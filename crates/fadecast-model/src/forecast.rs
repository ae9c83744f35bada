//! Context → quantile trajectory at future cycles, end of life with an interval, remaining life.
//!
//! 1. The history is resampled onto a grid that *ends at the origin* (the last observation), so
//!    nothing after it is ever interpolated; the last `max_context_patches` whole patches are kept
//!    (a history shorter than one patch is padded at the front with its first value). With
//!    `whole_history_patches` the grid is instead the whole history spread over exactly that many
//!    patches, so the rollout steps in fractions of the history's own span — for a history that
//!    spans at least `whole_history_min_span` cycles.
//! 2. The context is normalised on itself and encoded once; then the model rolls out with its KV
//!    cache, M patches per forward pass (`ModelConfig::output_patches`). Each quantile level
//!    follows its own path: path q feeds back its own q-quantile patches
//!    ([`Feedback::OwnQuantile`], so uncertainty compounds with the horizon), or every level is
//!    read along the median path ([`Feedback::Median`]).
//! 3. The rollout stops once it covers the requested cycles and every path has crossed the
//!    end-of-life threshold (or the median has, and the rollout is three times its remaining life
//!    long), or at `max_rollout_patches`. A path that fills the model's context window is
//!    re-anchored on its latest patches. SOH is floored at 0.
//! 4. The paths are read at the requested cycles: at each cycle the paths' values in increasing
//!    order, widened or narrowed about the middle one by `interval_scale` (calibrated on val).
//!    End of life is where those quantiles, read along the grid, first cross the threshold: the
//!    median gives the point, the lowest and highest the interval (earliest, latest).
//!
//! An *ensemble* (several members trained alike from different seeds, as a deep ensemble) rolls
//! each member out on the same grid, to the same length, and combines them point by point before
//! step 4 ([`combine_bands`]): the median is the members' mean median, and each other quantile
//! lies as far from it as the members' own quantiles do on average *plus* their disagreement
//! (weighted by `disagreement_weight`), so the band widens where the members disagree —
//! typically far from the data they were trained on.
//!
//! With `trend_weight` w > 0 the combined paths are then moved, point by point, by
//! w · (line − median): the median becomes (1 − w) · the model's median + w · the least-squares
//! line through the last `trend_fraction` of the history's observations (the linear baseline's
//! line, its slope capped at 0), and the band moves with it, its width unchanged
//! ([`Rollout::blend_trend`]). A forecast combination, off by default; see models/README.md.
//! With `trend_below_only` the median is only ever lowered towards the line, at the points where
//! the line lies below it, and left alone where it lies above.

use std::path::Path;

use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::{Device, Int, Tensor, TensorData};
use fadecast::data::{Cell, Observation};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{input_tensors, side_channels, FadeModel, ModelConfig, SeriesNorm, N_SIDE};
use crate::train::TrainError;
use crate::windows::{grid_points, grid_spacing, interpolate, WindowConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    Median,
    OwnQuantile,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastConfig {
    /// End of life: SOH at or below this.
    pub eol_threshold: f64,
    /// Longest rollout, in patches: a guard on time, reached by cells that never cross end of
    /// life and by short histories on the whole-history grid, whose step is a sixty-fourth of
    /// their span (with 256, a 20-cycle history read so stopped near cycle 1,200, and the
    /// evaluator scores what lies beyond a forecast as SOH 0: `fadecast eval --task first`).
    pub max_rollout_patches: usize,
    pub feedback: Feedback,
    /// Must match the training windows' rule, so check-up grids look as they did in training.
    pub checkup_subdivide: usize,
    /// The grid is the cell's base grid thinned by the largest of these strides (the training
    /// windows' strides) that still leaves `min_context_patches` whole patches of context: a long
    /// history then rolls out in fewer, coarser steps, as the training windows at that stride did.
    pub strides: Vec<usize>,
    pub min_context_patches: usize,
    /// Patches kept as the fresh context when a rollout re-anchors (see [`Forecaster::forecast`]).
    pub reanchor_patches: usize,
    /// A history too short to fill `min_context_patches` on its own grid (a few check-ups) is
    /// resampled finer until it does, instead of being padded at the front. Only for models whose
    /// training windows saw such grids ([`WindowConfig::checkup_refine`]).
    pub refine_short_context: bool,
    /// When > 0, the whole history (first observation to origin) is resampled onto exactly this
    /// many patches, whatever its length: every context then spans the same number of points and
    /// the rollout advances in fractions of the history's own span, the grid of the training
    /// windows with [`WindowConfig::whole_history_prob`]. Overrides `strides` and
    /// `refine_short_context` for histories spanning at least `whole_history_min_span` cycles (a
    /// one-observation history keeps the base grid).
    pub whole_history_patches: usize,
    /// A history spanning fewer cycles than this (first observation to origin) is read on the
    /// grid `strides` and `refine_short_context` choose, not the whole-history one. Spread over
    /// `whole_history_patches` patches, a history of ten cycles rolls out in steps of a fraction
    /// of a cycle for hundreds of patches, where the whole-history training windows began at 3 %
    /// of a cell's span and looked a few spans ahead; on its own grid a step is a cycle, as in
    /// the training windows at stride 1. 0: every history on the whole-history grid.
    pub whole_history_min_span: f64,
    /// The forecast quantiles' distance from the median is multiplied by this (1 = the model's
    /// own quantiles): a post-hoc calibration of the p10–p90 band, chosen on the val split, that
    /// leaves the median and the rollout alone. The end-of-life interval is where the scaled band
    /// crosses the threshold, as the evaluator reads it.
    pub interval_scale: f64,
    /// An ensemble's band: the weight of the variance of the members' medians beside their own
    /// spread ([`combine_bands`]). 1 is the law of total variance of their mixture; a handful of
    /// members trained alike understate how far a new dataset can lie from all of them, so a
    /// larger weight, calibrated on datasets held out of training, widens the band where they
    /// disagree and barely where they agree. Ignored by a single model.
    pub disagreement_weight: f64,
    /// Blends the median with a line through the recent history (module docs): 0 = the model
    /// alone, 1 = the line alone. The rollout is the model's own either way; the band keeps the
    /// model's width about the blended median.
    pub trend_weight: f64,
    /// The last fraction of the history's observations the trend line is fitted on (at least 3).
    pub trend_fraction: f64,
    /// Blend only where the line lies below the median, so the blend can lower the median and
    /// never raise it: the model errs optimistic on cells that keep fading at their recent pace
    /// and pessimistic far out on cells whose fade slows (models/README.md, *Which way it errs*).
    pub trend_below_only: bool,
    /// Replace every combined quantile path by its centred moving average over one patch of grid
    /// points ([`Rollout::smooth`]). Within each predicted patch the median falls a little faster
    /// than from one patch to the next and the next patch starts higher: a sawtooth of the
    /// patch's period (models/README.md, *Limits*) that an average over exactly one period
    /// removes, leaving the patches' levels.
    pub smooth_patches: bool,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            eol_threshold: 0.8,
            max_rollout_patches: 1024,
            feedback: Feedback::OwnQuantile,
            checkup_subdivide: WindowConfig::default().checkup_subdivide,
            strides: WindowConfig::default().strides,
            min_context_patches: 2,
            reanchor_patches: 8,
            refine_short_context: false,
            whole_history_patches: 0,
            whole_history_min_span: 0.0,
            interval_scale: 1.0,
            disagreement_weight: 1.0,
            trend_weight: 0.0,
            trend_fraction: 0.25,
            trend_below_only: false,
            smooth_patches: false,
        }
    }
}

impl ForecastConfig {
    /// The defaults, reading histories on the grids the training windows of `windows` showed:
    /// the same check-up grid and strides, refined short histories where check-up grids were
    /// refined, whole-history grids where there were whole-history windows. `fadecast train`
    /// saves it beside the weights, so a fresh run forecasts as it was trained.
    pub fn matching(windows: &WindowConfig) -> Self {
        Self {
            checkup_subdivide: windows.checkup_subdivide,
            strides: windows.strides.clone(),
            refine_short_context: windows.checkup_refine.iter().any(|&r| r > 1),
            whole_history_patches: if windows.whole_history_prob > 0.0 { windows.whole_history_patches } else { 0 },
            ..Self::default()
        }
    }

    /// The settings no rollout can use, as a message naming the field.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.whole_history_min_span.is_finite() && self.whole_history_min_span >= 0.0) {
            return Err(format!("whole_history_min_span must be a number of cycles at least 0, got {}", self.whole_history_min_span));
        }
        if !(self.interval_scale.is_finite() && self.interval_scale > 0.0) {
            return Err(format!("interval_scale must be a positive number, got {}", self.interval_scale));
        }
        if !(self.disagreement_weight.is_finite() && self.disagreement_weight >= 0.0) {
            return Err(format!("disagreement_weight must be a number at least 0, got {}", self.disagreement_weight));
        }
        if !(0.0..=1.0).contains(&self.trend_weight) {
            return Err(format!("trend_weight must be between 0 and 1, got {}", self.trend_weight));
        }
        if !(self.trend_fraction > 0.0 && self.trend_fraction <= 1.0) {
            return Err(format!("trend_fraction must be above 0 and at most 1, got {}", self.trend_fraction));
        }
        Ok(())
    }
}

/// End of life (or remaining life) with its interval; `None` bounds lie beyond the rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub point: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub origin: f64,
    pub quantile_levels: Vec<f64>,
    /// The requested cycles and, per quantile level, the SOH there (NaN beyond the rollout).
    pub at: Vec<f64>,
    pub values: Vec<Vec<f64>>,
    /// The rollout itself: grid cycles after the origin and, per level, SOH along its path.
    pub grid: Vec<f64>,
    pub paths: Vec<Vec<f64>>,
    /// The last observed SOH (where every path starts).
    pub origin_soh: f64,
    pub eol_threshold: f64,
    /// End-of-life cycle; already reached in the history gives point = lower = upper = that cycle.
    pub eol: Interval,
    /// Remaining useful life: end of life − origin (0 when already reached).
    pub rul: Interval,
    /// [`ForecastConfig::interval_scale`]: how [`Forecast::read_at`] widens the quantiles about
    /// the median (the paths are the model's own).
    pub interval_scale: f64,
}

/// A loaded model ready to forecast (inference device, no autodiff): one model, or the members
/// of an ensemble (same [`ModelConfig`], forecasting as one).
pub struct Forecaster {
    pub models: Vec<FadeModel>,
    pub config: ForecastConfig,
    /// The name the evaluator reports it under.
    pub name: String,
    /// Most cells advanced together in one forward pass by [`Forecaster::forecast_many`].
    pub batch_cells: usize,
    device: Device,
}

/// Writes the weights as SafeTensors (the rotary table is a constant and is not saved).
pub fn save_weights(model: &FadeModel, path: &Path) -> Result<(), TrainError> {
    let mut store = SafetensorsStore::from_file(path).overwrite(true);
    model.save_into(&mut store).map_err(|e| TrainError::Store(format!("{}: {e}", path.display())))
}

/// Builds a model from `config` and loads every parameter from `path`; a missing or extra
/// tensor is an error (a silent partial load would forecast with random weights).
pub fn load_weights(config: &ModelConfig, path: &Path, device: &Device) -> Result<FadeModel, TrainError> {
    let mut model = config.init(device);
    let mut store = SafetensorsStore::from_file(path);
    let result = model.load_from(&mut store).map_err(|e| TrainError::Store(format!("{}: {e}", path.display())))?;
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        return Err(TrainError::Store(format!(
            "{}: does not match the config (missing {:?}, unused {:?}, errors {:?})",
            path.display(),
            result.missing,
            result.unused,
            result.errors
        )));
    }
    Ok(model)
}

/// The file that makes a model directory an ensemble: its members' sub-directories.
pub const ENSEMBLE_FILE: &str = "ensemble.json";

/// `ensemble.json`: the member directories, relative to the ensemble's directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleInfo {
    pub members: Vec<String>,
}

impl EnsembleInfo {
    /// The member directories of the ensemble at `dir`, or `None` when `dir` holds one model.
    pub fn member_dirs(dir: &Path) -> Result<Option<Vec<std::path::PathBuf>>, TrainError> {
        let path = dir.join(ENSEMBLE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(TrainError::Io(path, e)),
        };
        let info: EnsembleInfo = serde_json::from_str(&text).map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))?;
        if info.members.is_empty() {
            return Err(TrainError::Config(format!("{}: an ensemble needs at least one member", path.display())));
        }
        Ok(Some(info.members.iter().map(|m| dir.join(m)).collect()))
    }
}

impl Forecaster {
    pub fn new(model: FadeModel, config: ForecastConfig) -> Self {
        Self::ensemble(vec![model], config)
    }

    /// Members that forecast as one (see the module docs); they must share one [`ModelConfig`].
    pub fn ensemble(models: Vec<FadeModel>, config: ForecastConfig) -> Self {
        assert!(!models.is_empty(), "an ensemble needs at least one member");
        assert!(models.iter().all(|m| m.config == models[0].config), "ensemble members must share one model config");
        let device = models[0].devices().first().cloned().unwrap_or_else(Device::flex);
        Self { models, config, name: "universal".into(), batch_cells: 64, device }
    }

    /// The (first) model: every member has its config.
    pub fn model(&self) -> &FadeModel {
        &self.models[0]
    }

    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Loads `model.json` + `model.safetensors` from a run or model directory, or every member of
    /// an ensemble directory (`ensemble.json`).
    pub fn load(dir: &Path, config: ForecastConfig) -> Result<Self, TrainError> {
        let dirs = EnsembleInfo::member_dirs(dir)?.unwrap_or_else(|| vec![dir.to_path_buf()]);
        let device = Device::flex();
        let mut models = Vec::new();
        for d in &dirs {
            let model_config = crate::lora::read_model_config(d)?;
            if let Some(first) = models.first().map(|m: &FadeModel| &m.config) {
                if *first != model_config {
                    return Err(TrainError::Config(format!("{}: its model.json differs from the first member's; ensemble members must share one", d.display())));
                }
            }
            models.push(load_weights(&model_config, &d.join("model.safetensors"), &device)?);
        }
        Ok(Self::ensemble(models, config))
    }

    /// Forecasts a cell from its first `n_obs` observations (the origin is observation `n_obs - 1`);
    /// the later observations are never read.
    pub fn forecast_cell(&self, cell: &Cell, n_obs: usize, at: &[f64]) -> Forecast {
        let n = n_obs.clamp(1, cell.cycles.len());
        let history = &cell.cycles[..n];
        let cycles: Vec<f64> = history.iter().map(|c| c.cycle).collect();
        let soh: Vec<f64> = history.iter().map(|c| c.soh).collect();
        self.forecast(&cycles, &soh, cell.meta.observation, at)
    }

    /// Forecasts from a history (`cycles` increasing, at least one point) at cycles `at`.
    pub fn forecast(&self, cycles: &[f64], soh: &[f64], observation: Observation, at: &[f64]) -> Forecast {
        let request = Request { cycles, soh, observation, at };
        self.forecast_many(std::slice::from_ref(&request)).pop().expect("one request, one forecast")
    }

    /// Forecasts many cells at once, each exactly as [`Forecaster::forecast`] would alone.
    ///
    /// Cells whose contexts hold the same number of patches advance in lockstep (their re-anchoring
    /// steps coincide), up to `batch_cells` of them per forward pass; a cell leaves the batch when it
    /// stops. Batches run in parallel on the rayon pool (`RAYON_NUM_THREADS`).
    pub fn forecast_many(&self, requests: &[Request]) -> Vec<Forecast> {
        // Every member starts from the same grid and context (one per cell, copied).
        let cells: Vec<Vec<Rollout>> = requests.iter().map(|r| vec![Rollout::new(self, r); self.models.len()]).collect();
        let context: Vec<usize> = cells.iter().map(|members| members[0].n_patches).collect();
        let mut order: Vec<usize> = (0..cells.len()).collect();
        order.sort_by_key(|&i| context[i]);
        // Move the cells into batches of equal context length, roll each batch out, move back.
        let mut slots: Vec<Option<Vec<Rollout>>> = cells.into_iter().map(Some).collect();
        let mut batches: Vec<Vec<(usize, Vec<Rollout>)>> = Vec::new();
        for group in order.chunk_by(|&a, &b| context[a] == context[b]) {
            for chunk in group.chunks(self.batch_cells.max(1)) {
                batches.push(chunk.iter().map(|&i| (i, slots[i].take().expect("each cell once"))).collect());
            }
        }
        batches.par_iter_mut().for_each(|batch| self.roll_out(batch));
        for (i, members) in batches.into_iter().flatten() {
            slots[i] = Some(members);
        }
        let weight = self.config.disagreement_weight;
        slots.into_iter().map(|members| Rollout::combine(members.expect("every cell rolled out"), weight).smooth().blend_trend().finish()).collect()
    }

    /// Rolls out a batch of cells with equal context length in lockstep until each has stopped.
    /// Every member of the ensemble rolls each cell out (its own forward passes and KV cache), and
    /// a cell stops when all its members would have: the members then cover one grid, the
    /// longest any of them needed, on which [`Rollout::combine`] reads the band.
    fn roll_out(&self, batch: &mut [(usize, Vec<Rollout>)]) {
        let mc = &self.model().config;
        let (p, q) = (mc.patch_len, mc.quantiles.len());
        let rows = self.rows();
        let n_patches = batch[0].1[0].n_patches;
        let mut active: Vec<usize> = (0..batch.len()).collect();

        // Encode every context once per member (each row keeps its own normalisation).
        let encode = |batch: &[(usize, Vec<Rollout>)], active: &[usize], member: usize, patches: usize, first: isize| {
            let (mut z, mut side) = (Vec::new(), Vec::new());
            for &c in active {
                batch[c].1[member].inputs(patches, first, &mut z, &mut side);
            }
            input_tensors(&z, &side, p, &self.device, self.models[member].dtype())
        };
        let mut caches: Vec<_> = self.models.iter().map(FadeModel::new_cache).collect();
        let mut outs: Vec<_> = (0..self.models.len())
            .map(|i| {
                let (x, s) = encode(batch, &active, i, n_patches, -(n_patches as isize));
                self.models[i].forward_last(x, s, &mut caches[i]) // [A·R, 1, M·P, Q]
            })
            .collect();
        let mut positions = n_patches;

        // Roll out. Once the rows have filled the model's context window they are re-anchored:
        // their last `reanchor_patches` patches become a fresh context, normalised on themselves
        // and encoded anew. Every position then stays inside what training showed (a context of
        // k patches normalised on itself, predictions up to `max_context_patches`), however far
        // the rollout goes and however far SOH has fallen from the original context.
        // Each forward pass predicts the next M patches (`output_patches`); all M are taken (a
        // cell that stops part-way leaves the batch), then fed back together.
        let m = mc.output_patches;
        let mut step = 0; // patches rolled out so far
        while step < self.config.max_rollout_patches {
            // Per member: [A·R, 1, M·P, Q]
            let next: Vec<Vec<f64>> = outs.drain(..).map(|out| out.into_data().convert::<f64>().try_to_vec::<f64>().expect("f64")).collect();
            let per_cell = rows * m * p * q;
            let mut kept_rows: Vec<i64> = Vec::new();
            let mut still = Vec::new();
            for (k, &c) in active.iter().enumerate() {
                let members = &mut batch[c].1;
                let mut going = true;
                for j in 0..m {
                    for (member, next) in members.iter_mut().zip(&next) {
                        member.push(&next[k * per_cell..(k + 1) * per_cell], j, m, step + j);
                    }
                    let last_step = step + j + 1 == self.config.max_rollout_patches;
                    if members.iter().all(Rollout::should_stop) || last_step {
                        going = false;
                        break;
                    }
                }
                if going {
                    still.push(c);
                    kept_rows.extend((0..rows).map(|r| (k * rows + r) as i64));
                }
            }
            if still.is_empty() {
                break;
            }
            let fed = step;
            step += m;
            let reanchor = positions + m > mc.max_context_patches;
            if still.len() < active.len() && !reanchor {
                // Finished cells leave the batch: drop their rows from the caches.
                let idx = Tensor::<1, Int>::from_data(TensorData::new(kept_rows, [still.len() * rows]), &self.device);
                for (k, v) in caches.iter_mut().flat_map(|cache| cache.layers.iter_mut().flatten()) {
                    *k = k.clone().select(0, idx.clone());
                    *v = v.clone().select(0, idx.clone());
                }
            }
            active = still;
            if reanchor {
                let keep = self.config.reanchor_patches.clamp(1, mc.max_context_patches - 1);
                for &c in &active {
                    batch[c].1.iter_mut().for_each(|member| member.reanchor(keep * p, mc.min_scale));
                }
                for (i, model) in self.models.iter().enumerate() {
                    let (x, s) = encode(batch, &active, i, keep, step as isize - keep as isize);
                    caches[i] = model.new_cache();
                    outs.push(model.forward_last(x, s, &mut caches[i])); // [A·R, 1, M·P, Q]
                }
                positions = keep;
            } else {
                for (i, model) in self.models.iter().enumerate() {
                    let (mut z, mut side) = (Vec::new(), Vec::new());
                    for &c in &active {
                        batch[c].1[i].fed_back(fed, &mut z, &mut side);
                    }
                    let (x, s) = input_tensors(&z, &side, p, &self.device, model.dtype());
                    outs.push(model.forward_last(x, s, &mut caches[i])); // [A·R, 1, M·P, Q]
                }
                positions += m;
            }
        }
    }

    /// Rows per cell in a batch: one per quantile path, or one median path.
    fn rows(&self) -> usize {
        match self.config.feedback {
            Feedback::OwnQuantile => self.model().config.quantiles.len(),
            Feedback::Median => 1,
        }
    }
}

/// One cell to forecast: its history (cycles increasing, at least one point) and the cycles asked for.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub cycles: &'a [f64],
    pub soh: &'a [f64],
    pub observation: Observation,
    pub at: &'a [f64],
}

/// One cell's rollout in progress: its grid, its rows (paths fed back) and what they produced.
#[derive(Clone)]
struct Rollout {
    origin: f64,
    spacing: f64,
    /// Context patches (equal within a batch).
    n_patches: usize,
    patch_len: usize,
    age_channel: bool,
    /// The last requested cycle (at least the origin).
    horizon: f64,
    observed_eol: Option<f64>,
    last_soh: f64,
    at: Vec<f64>,
    levels: Vec<f64>,
    /// Index of the median in `levels`.
    median: usize,
    eol_threshold: f64,
    /// Per row: raw SOH on the grid (context, then its own rollout), its normalisation, and the
    /// normalised patch it feeds back next (as the model computed it, then rounded to the model's
    /// float type when it goes back in).
    series: Vec<Vec<f64>>,
    norms: Vec<SeriesNorm>,
    feed: Vec<Vec<f64>>,
    /// Grid cycles after the origin and, per quantile level, SOH along its path.
    grid: Vec<f64>,
    paths: Vec<Vec<f64>>,
    /// [`ForecastConfig::interval_scale`], and per reported quantile (in increasing order) the
    /// first grid point where it is at or below the threshold: what the stopping rule reads.
    interval_scale: f64,
    first_below: Vec<Option<usize>>,
    /// [`ForecastConfig::trend_weight`] and the history's recent line: (level at the origin,
    /// slope per cycle, capped at 0); [`ForecastConfig::trend_below_only`].
    trend_weight: f64,
    trend: (f64, f64),
    trend_below_only: bool,
    /// [`ForecastConfig::smooth_patches`].
    smooth_patches: bool,
}

impl Rollout {
    /// Steps 1 and 2 of the module docs: the grid ending at the origin and the context on it.
    fn new(f: &Forecaster, r: &Request) -> Self {
        let (cycles, soh) = (r.cycles, r.soh);
        assert!(!cycles.is_empty() && cycles.len() == soh.len(), "history must be non-empty, cycles and SOH aligned");
        let mc = &f.model().config;
        let p = mc.patch_len;
        let origin = cycles[cycles.len() - 1];
        let base = grid_spacing(cycles, r.observation, f.config.checkup_subdivide);
        let points = |spacing: f64| grid_points(cycles[0], origin, spacing);
        let stride = f
            .config
            .strides
            .iter()
            .copied()
            .filter(|&s| s >= 1 && points(base * s as f64) / p >= f.config.min_context_patches)
            .max()
            .unwrap_or(1);
        let mut spacing = base * stride as f64;
        let need = f.config.min_context_patches.max(1) * p;
        if f.config.refine_short_context && points(spacing) < need && origin > cycles[0] {
            spacing = (origin - cycles[0]) / (need - 1) as f64;
        }
        let whole = f.config.whole_history_patches.min(mc.max_context_patches);
        if whole > 0 && origin > cycles[0] && origin - cycles[0] >= f.config.whole_history_min_span {
            spacing = (origin - cycles[0]) / (whole * p - 1) as f64;
        }
        let n_patches = (points(spacing) / p).clamp(1, mc.max_context_patches);
        // A history shorter than one patch (and not refined) is padded at the front with its first value.
        let ctx: Vec<f64> = (0..n_patches * p)
            .map(|i| {
                let back = (n_patches * p - 1 - i) as f64;
                interpolate(cycles, soh, (origin - back * spacing).max(cycles[0]))
            })
            .collect();
        let rows = f.rows();
        let (level, slope) = fadecast::eval::baselines::linear::recent_line(cycles, soh, f.config.trend_fraction);
        Self {
            origin,
            spacing,
            n_patches,
            patch_len: p,
            age_channel: mc.age_channel,
            horizon: r.at.iter().copied().fold(origin, f64::max),
            // Already at end of life: nothing to roll out for the EOL, but the trajectory is still asked for.
            observed_eol: first_crossing(cycles, soh, f.config.eol_threshold),
            last_soh: soh[soh.len() - 1],
            at: r.at.to_vec(),
            levels: mc.quantiles.clone(),
            median: mc.median_index(),
            eol_threshold: f.config.eol_threshold,
            norms: vec![SeriesNorm::from_context(&ctx, mc.min_scale); rows],
            series: vec![ctx; rows],
            feed: vec![Vec::new(); rows],
            grid: Vec::new(),
            paths: vec![Vec::new(); mc.quantiles.len()],
            interval_scale: f.config.interval_scale,
            first_below: vec![None; mc.quantiles.len()],
            trend_weight: f.config.trend_weight,
            // Capacity does not grow back for long: a rising recent line is blended as flat.
            trend: (level, slope.min(0.0)),
            trend_below_only: f.config.trend_below_only,
            smooth_patches: f.config.smooth_patches,
        }
    }

    /// The age side channel of patch `t` (t < 0: context patches, t = 0 the first predicted one):
    /// the cycle where it starts, for models that take it.
    fn age(&self, t: isize) -> Option<f64> {
        self.age_channel.then(|| self.origin + (t * self.patch_len as isize + 1) as f64 * self.spacing)
    }

    /// Appends each row's last `patches` patches (the first of them patch `first`), normalised,
    /// and their side channels.
    fn inputs(&self, patches: usize, first: isize, z: &mut Vec<Vec<f64>>, side: &mut Vec<Vec<[f32; N_SIDE]>>) {
        for (s, n) in self.series.iter().zip(&self.norms) {
            z.push(s[s.len() - patches * self.patch_len..].iter().map(|&v| n.normalise(v)).collect());
            side.push((0..patches).map(|t| side_channels(self.spacing, n, self.age(first + t as isize))).collect());
        }
    }

    /// Appends each row's fed-back patches (already normalised; the first of them rollout patch
    /// `step`) and their side channels.
    fn fed_back(&self, step: usize, z: &mut Vec<Vec<f64>>, side: &mut Vec<Vec<[f32; N_SIDE]>>) {
        for (f, n) in self.feed.iter().zip(&self.norms) {
            z.push(f.clone());
            side.push((0..f.len() / self.patch_len).map(|t| side_channels(self.spacing, n, self.age((step + t) as isize))).collect());
        }
    }

    /// Takes predicted patch `j` of `m` per row (`next`: [R, M·P, Q] normalised) as rollout patch
    /// `step`: extends the grid and the paths, and adds it to each row's feedback (restarted
    /// with `j` = 0).
    fn push(&mut self, next: &[f64], j: usize, m: usize, step: usize) {
        let (p, q) = (self.patch_len, self.levels.len());
        let rows = self.series.len();
        let median = self.median;
        let at = |row: usize, i: usize, level: usize| next[((row * m + j) * p + i) * q + level];
        for r in 0..rows {
            if j == 0 {
                self.feed[r].clear();
            }
            let level = if rows == 1 { median } else { r };
            self.feed[r].extend((0..p).map(|i| at(r, i, level)));
        }
        for i in 0..p {
            self.grid.push(self.origin + (step * p + i + 1) as f64 * self.spacing);
            for (level, path) in self.paths.iter_mut().enumerate() {
                let row = if rows == 1 { 0 } else { level };
                // Capacity cannot go below zero, whatever the extrapolation says.
                path.push(self.norms[row].denormalise(at(row, i, level)).max(0.0));
            }
            self.track_crossings(self.grid.len() - 1);
        }
        for r in 0..rows {
            let norm = self.norms[r];
            let fed: Vec<f64> = self.feed[r][j * p..].iter().map(|&z| norm.denormalise(z)).collect();
            self.series[r].extend(fed);
        }
    }

    /// Step 3's stopping rule: the requested cycles are covered and every reported quantile (the
    /// paths ordered and widened, as [`Forecast::quantiles`] reports them) has crossed the
    /// threshold — or the median has, and the rollout is three times its remaining life long (a
    /// slow upper quantile need not be followed for ever; the interval's upper end is then left
    /// open).
    fn should_stop(&self) -> bool {
        let end = *self.grid.last().expect("one patch pushed");
        let covered = end >= self.horizon;
        let all_crossed = self.observed_eol.is_some() || self.first_below.iter().all(Option::is_some);
        let far_enough = self.first_below[self.median].is_some_and(|i| end - self.origin >= 3.0 * (self.grid[i] - self.origin));
        covered && (all_crossed || far_enough)
    }

    /// Renormalises every row on its last `points` grid points (a fresh context).
    fn reanchor(&mut self, points: usize, min_scale: f64) {
        for (s, n) in self.series.iter().zip(self.norms.iter_mut()) {
            *n = SeriesNorm::from_context(&s[s.len() - points..], min_scale);
        }
    }

    /// Notes grid point `k` as the first at or below the threshold for each reported quantile
    /// that had not reached it yet (points are visited in order).
    fn track_crossings(&mut self, k: usize) {
        let band = self.band_at(k);
        for (first, v) in self.first_below.iter_mut().zip(band) {
            if first.is_none() && v <= self.eol_threshold {
                *first = Some(k);
            }
        }
    }

    /// The reported quantiles at grid point `k`: the paths' values there, ordered and widened.
    fn band_at(&self, k: usize) -> Vec<f64> {
        let mut band: Vec<f64> = self.paths.iter().map(|path| path[k]).collect();
        order_and_widen(&mut band, self.median, self.interval_scale);
        band
    }

    /// Where reported quantile `level` first reaches the threshold, interpolated from the point
    /// before (the origin for the first grid point, whose SOH is above it unless end of life was
    /// already observed).
    fn crossing(&self, level: usize) -> Option<f64> {
        let k = self.first_below[level]?;
        let (x0, y0) = if k == 0 { (self.origin, self.last_soh) } else { (self.grid[k - 1], self.band_at(k - 1)[level]) };
        first_crossing(&[x0, self.grid[k]], &[y0, self.band_at(k)[level]], self.eol_threshold)
    }

    /// An ensemble's rollouts of one cell (rolled out in lockstep, so on one grid) as one: the
    /// paths are [`combine_bands`] of the members' ordered, unwidened quantiles (their
    /// disagreement weighted by `disagreement_weight`), and the end-of-life crossings are found
    /// anew on them. One rollout is returned as it is.
    fn combine(mut members: Vec<Rollout>, disagreement_weight: f64) -> Rollout {
        if members.len() == 1 {
            return members.pop().expect("one member");
        }
        let n = members[0].grid.len();
        debug_assert!(members.iter().all(|r| r.grid == members[0].grid), "members rolled out in lockstep share one grid");
        let median = members[0].median;
        let levels = members[0].levels.clone();
        let mut paths = vec![Vec::with_capacity(n); levels.len()];
        for k in 0..n {
            let bands: Vec<Vec<f64>> = members
                .iter()
                .map(|r| {
                    let mut band: Vec<f64> = r.paths.iter().map(|path| path[k]).collect();
                    order_and_widen(&mut band, median, 1.0);
                    band
                })
                .collect();
            for (path, v) in paths.iter_mut().zip(combine_bands(&bands, &levels, median, disagreement_weight)) {
                path.push(v);
            }
        }
        let mut r = members.swap_remove(0);
        r.paths = paths;
        r.find_crossings();
        r
    }

    /// The end-of-life crossings found anew along paths that were replaced or moved.
    fn find_crossings(&mut self) {
        self.first_below = vec![None; self.levels.len()];
        (0..self.grid.len()).for_each(|k| self.track_crossings(k));
    }

    /// With `smooth_patches`, every path becomes its centred moving average over one patch (P
    /// grid points; P even, so P + 1 points with the two ends weighted a half, which averages out
    /// anything of period P exactly). The last observed SOH stands before the first grid point, so
    /// near the origin, and near the rollout's end, the window narrows to what lies on both sides
    /// (plainly averaged), and the path still starts at the history. The end-of-life crossings
    /// are found anew.
    fn smooth(mut self) -> Rollout {
        if !self.smooth_patches || self.grid.is_empty() {
            return self;
        }
        let (p, last_soh) = (self.patch_len, self.last_soh);
        self.paths.iter_mut().for_each(|path| *path = smooth_over_patch(last_soh, path, p));
        self.find_crossings();
        self
    }

    /// The trend blend (module docs): at each grid point every path moves by
    /// w · (line − median), the median read as [`Rollout::band_at`] orders the paths — only where
    /// that is a move down when `trend_below_only` — and SOH stays at or above 0. The end-of-life
    /// crossings are found anew. With w = 0 nothing changes.
    fn blend_trend(mut self) -> Rollout {
        let w = self.trend_weight;
        if w == 0.0 {
            return self;
        }
        let (level, slope) = self.trend;
        for k in 0..self.grid.len() {
            let mut column: Vec<f64> = self.paths.iter().map(|path| path[k]).collect();
            column.sort_by(f64::total_cmp);
            let gap = level + slope * (self.grid[k] - self.origin) - column[self.median];
            let shift = w * if self.trend_below_only { gap.min(0.0) } else { gap };
            self.paths.iter_mut().for_each(|path| path[k] = (path[k] + shift).max(0.0));
        }
        self.find_crossings();
        self
    }

    /// Step 4: reads off the requested cycles, end of life and remaining life.
    fn finish(self) -> Forecast {
        let (origin, threshold) = (self.origin, self.eol_threshold);
        let eol = match self.observed_eol {
            Some(c) => Interval { point: Some(c), lower: Some(c), upper: Some(c) },
            None => {
                // The median gives the point, the other quantiles the interval; a quantile that
                // never crossed leaves it open.
                let crossings: Vec<Option<f64>> = (0..self.paths.len()).map(|level| self.crossing(level)).collect();
                let reached: Vec<f64> = crossings.iter().flatten().copied().collect();
                let lower = reached.iter().copied().reduce(f64::min);
                let upper = if reached.len() == crossings.len() { reached.iter().copied().reduce(f64::max) } else { None };
                Interval { point: crossings[self.median], lower, upper }
            }
        };
        let rul_of = |e: Option<f64>| e.map(|c| (c - origin).max(0.0));
        let rul = Interval { point: rul_of(eol.point), lower: rul_of(eol.lower), upper: rul_of(eol.upper) };
        let mut f = Forecast {
            origin,
            quantile_levels: self.levels,
            at: self.at.clone(),
            values: Vec::new(),
            grid: self.grid,
            paths: self.paths,
            origin_soh: self.last_soh,
            eol_threshold: threshold,
            eol,
            rul,
            interval_scale: self.interval_scale,
        };
        f.values = f.read_at(&self.at);
        f
    }
}

impl Forecast {
    /// Per quantile level, SOH at each of `cycles` (linear between grid points, NaN past the
    /// rollout), as [`Forecast::quantiles`] orders and widens them.
    pub fn read_at(&self, cycles: &[f64]) -> Vec<Vec<f64>> {
        let gx: Vec<f64> = std::iter::once(self.origin).chain(self.grid.iter().copied()).collect();
        let end = gx[gx.len() - 1];
        let values: Vec<Vec<f64>> = self
            .paths
            .iter()
            .map(|path| {
                let gy: Vec<f64> = std::iter::once(self.origin_soh).chain(path.iter().copied()).collect();
                cycles.iter().map(|&c| if c > end + 1e-9 { f64::NAN } else { interpolate(&gx, &gy, c) }).collect()
            })
            .collect();
        self.quantiles(values)
    }

    /// The reported quantiles from per-level values at the same points: each path follows its own
    /// quantile, so two paths can cross far out, and the values at a point are taken in
    /// increasing order; then each one's distance from the middle one (the median level's) is
    /// multiplied by `interval_scale`, floored at SOH 0.
    pub fn quantiles(&self, mut values: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
        let median = self.level_nearest(0.5);
        let n = values.first().map_or(0, Vec::len);
        for i in 0..n {
            let mut column: Vec<f64> = values.iter().map(|v| v[i]).collect();
            order_and_widen(&mut column, median, self.interval_scale);
            values.iter_mut().zip(column).for_each(|(v, x)| v[i] = x);
        }
        values
    }

    /// Index of the quantile level nearest `target` (the levels are never empty).
    pub fn level_nearest(&self, target: f64) -> usize {
        let levels = &self.quantile_levels;
        (0..levels.len()).min_by(|&a, &b| (levels[a] - target).abs().total_cmp(&(levels[b] - target).abs())).unwrap_or(0)
    }
}

/// One point's quantiles, one per level: sorted, then each one's distance from the middle one
/// (index `median`) multiplied by `scale`, floored at SOH 0 (non-finite values left as they are).
fn order_and_widen(column: &mut [f64], median: usize, scale: f64) {
    column.sort_by(f64::total_cmp);
    let mid = column[median];
    if scale != 1.0 {
        column.iter_mut().filter(|x| x.is_finite()).for_each(|x| *x = (mid + scale * (*x - mid)).max(0.0));
    }
}

/// [`Rollout::smooth`] of one path: `path` on the grid after the origin, `start` the SOH at the
/// origin (the window's first point, never moved), `p` the patch length in grid points.
pub fn smooth_over_patch(start: f64, path: &[f64], p: usize) -> Vec<f64> {
    let h = p / 2;
    // v[0] is the origin, v[k + 1] the path at grid point k.
    let v: Vec<f64> = std::iter::once(start).chain(path.iter().copied()).collect();
    (1..v.len())
        .map(|i| {
            let w = h.min(i).min(v.len() - 1 - i);
            if w == h && p % 2 == 0 {
                // Exactly one period: the P − 1 inner points and half of each end.
                let inner: f64 = v[i + 1 - w..i + w].iter().sum();
                (inner + 0.5 * (v[i - w] + v[i + w])) / p as f64
            } else {
                v[i - w..=i + w].iter().sum::<f64>() / (2 * w + 1) as f64
            }
        })
        .collect()
}

/// Several members' quantiles at one point (each band ordered, one value per level) as one band:
/// the median is the members' mean median μ; level ℓ lies at μ ± √(mean d² + w·z_ℓ²·var), where d
/// is each member's own distance from its median at ℓ, var the variance of the members' medians,
/// z_ℓ the standard normal quantile of ℓ and w the disagreement weight. With w = 1 it is the law
/// of total variance for a mixture, per side.
pub fn combine_bands(bands: &[Vec<f64>], levels: &[f64], median: usize, disagreement_weight: f64) -> Vec<f64> {
    let k = bands.len() as f64;
    let mu = bands.iter().map(|b| b[median]).sum::<f64>() / k;
    let var = disagreement_weight * bands.iter().map(|b| (b[median] - mu).powi(2)).sum::<f64>() / k;
    (0..levels.len())
        .map(|l| {
            if l == median {
                return mu;
            }
            let z = normal_quantile(levels[l]);
            let own = bands.iter().map(|b| (b[l] - b[median]).powi(2)).sum::<f64>() / k;
            (mu + z.signum() * (own + z * z * var).sqrt()).max(0.0)
        })
        .collect()
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.383577518672690e2, -3.066479806614716e1, 2.506628277459239];
    const B: [f64; 5] = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let tail = |q: f64| (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0);
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// First cycle where the series reaches `threshold` or below, linearly interpolated between the
/// last point above and the first at or below.
pub fn first_crossing(cycles: &[f64], soh: &[f64], threshold: f64) -> Option<f64> {
    let i = soh.iter().position(|&v| v <= threshold)?;
    if i == 0 {
        return Some(cycles[0]);
    }
    let (x0, x1, y0, y1) = (cycles[i - 1], cycles[i], soh[i - 1], soh[i]);
    Some(x0 + (x1 - x0) * (y0 - threshold) / (y0 - y1))
}

/// The evaluator scores the model like any baseline: the context in, p10/p50/p90 at `at` out.
impl fadecast::eval::Forecaster for Forecaster {
    fn name(&self) -> &str {
        &self.name
    }

    fn probabilistic(&self) -> bool {
        true
    }

    /// Recorded in eval's metrics.json: the coverage it reports depends on the interval scale.
    fn settings(&self) -> String {
        let c = &self.config;
        let mut band = match self.models.len() {
            1 => format!("interval_scale {}", c.interval_scale),
            k => format!("interval_scale {}, disagreement_weight {}, ensemble of {k}", c.interval_scale, c.disagreement_weight),
        };
        if c.smooth_patches {
            band += ", paths smoothed over a patch";
        }
        if c.trend_weight == 0.0 {
            return band;
        }
        let below = if c.trend_below_only { ", lowering only" } else { "" };
        format!("{band}, trend_weight {} (line through the last {} % of the context{below})", c.trend_weight, c.trend_fraction * 100.0)
    }

    fn forecast(&self, ctx: &fadecast::eval::Context, at: &[f64]) -> fadecast::eval::Quantiles {
        evaluator_quantiles(&Forecaster::forecast(self, ctx.cycles(), ctx.soh(), ctx.observation, at))
    }

    /// Batched across contexts (see [`Forecaster::forecast_many`]).
    fn forecast_many(&self, requests: &[(&fadecast::eval::Context, &[f64])]) -> Vec<fadecast::eval::Quantiles> {
        let inputs: Vec<Request> = requests
            .iter()
            .map(|(ctx, at)| Request { cycles: ctx.cycles(), soh: ctx.soh(), observation: ctx.observation, at })
            .collect();
        Forecaster::forecast_many(self, &inputs).into_iter().map(|f| evaluator_quantiles(&f)).collect()
    }
}

/// The model's levels nearest each of the evaluator's (they match under the default config).
fn evaluator_quantiles(f: &Forecast) -> fadecast::eval::Quantiles {
    let level = |target: f64| f.values[f.level_nearest(target)].clone();
    let [lo, mid, hi] = fadecast::eval::forecaster::QUANTILE_LEVELS;
    fadecast::eval::forecaster::sanitise(fadecast::eval::Quantiles { p10: level(lo), p50: level(mid), p90: level(hi) })
}
