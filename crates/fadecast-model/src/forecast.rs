//! Context → quantile trajectory at future cycles, end of life with an interval, remaining life.
//!
//! 1. The history is resampled onto a grid that *ends at the origin* (the last observation), so
//!    nothing after it is ever interpolated; the last `max_context_patches` whole patches are kept
//!    (a history shorter than one patch is padded at the front with its first value).
//! 2. The context is normalised on itself and encoded once; then the model rolls out patch by
//!    patch with its KV cache. Each quantile level follows its own path: path q feeds back its
//!    own q-quantile patch ([`Feedback::OwnQuantile`], so uncertainty compounds with the horizon),
//!    or every level is read along the median path ([`Feedback::Median`]).
//! 3. The rollout stops once it covers the requested cycles and every path has crossed the
//!    end-of-life threshold (or the median has, and the rollout is three times its remaining life
//!    long), or at `max_rollout_patches`. A path that fills the model's context window is
//!    re-anchored on its latest patches. SOH is floored at 0.
//! 4. End of life is where a path first crosses the threshold: the median path gives the point,
//!    the lowest and highest quantile paths the interval (earliest, latest).

use std::path::Path;

use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use fadecast::data::{Cell, Observation};
use serde::{Deserialize, Serialize};

use crate::model::{input_tensors, side_channels, FadeModel, ModelConfig, SeriesNorm, N_SIDE};
use crate::train::TrainError;
use crate::windows::{grid_spacing, interpolate, WindowConfig};

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
    /// Longest rollout, in patches (also capped by the model's rotary table).
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
}

impl Default for ForecastConfig {
    fn default() -> Self {
        Self {
            eol_threshold: 0.8,
            max_rollout_patches: 256,
            feedback: Feedback::OwnQuantile,
            checkup_subdivide: WindowConfig::default().checkup_subdivide,
            strides: WindowConfig::default().strides,
            min_context_patches: 2,
            reanchor_patches: 8,
        }
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
}

/// A loaded model ready to forecast (inference device, no autodiff).
pub struct Forecaster {
    pub model: FadeModel,
    pub config: ForecastConfig,
    /// The name the evaluator reports it under.
    pub name: String,
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

impl Forecaster {
    pub fn new(model: FadeModel, config: ForecastConfig) -> Self {
        let device = model.devices().first().cloned().unwrap_or_else(Device::flex);
        Self { model, config, name: "universal".into(), device }
    }

    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Loads `model.json` + `model.safetensors` from a run or model directory.
    pub fn load(dir: &Path, config: ForecastConfig) -> Result<Self, TrainError> {
        let model_config = crate::lora::read_model_config(dir)?;
        let device = Device::flex();
        let model = load_weights(&model_config, &dir.join("model.safetensors"), &device)?;
        Ok(Self::new(model, config))
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
        assert!(!cycles.is_empty() && cycles.len() == soh.len(), "history must be non-empty, cycles and SOH aligned");
        let mc = &self.model.config;
        let (p, levels) = (mc.patch_len, mc.quantiles.clone());
        let q = levels.len();
        let origin = cycles[cycles.len() - 1];
        let threshold = self.config.eol_threshold;

        // Already at end of life: nothing to roll out for the EOL, but the trajectory is still asked for.
        let observed_eol = crate::forecast::first_crossing(cycles, soh, threshold);

        // 1. Grid ending at the origin, whole patches, at most the model's context.
        let base = grid_spacing(cycles, observation, self.config.checkup_subdivide);
        let points = |spacing: f64| ((origin - cycles[0]) / spacing + 1e-9).floor() as usize + 1;
        let stride = self
            .config
            .strides
            .iter()
            .copied()
            .filter(|&s| s >= 1 && points(base * s as f64) / p >= self.config.min_context_patches)
            .max()
            .unwrap_or(1);
        let spacing = base * stride as f64;
        let available = points(spacing);
        let n_patches = (available / p).clamp(1, mc.max_context_patches);
        let ctx: Vec<f64> = (0..n_patches * p)
            .map(|i| {
                let back = (n_patches * p - 1 - i) as f64;
                interpolate(cycles, soh, (origin - back * spacing).max(cycles[0]))
            })
            .collect();
        let ctx_start = origin - (n_patches * p - 1) as f64 * spacing;

        // 2. Encode the context once per path (each path keeps its own normalisation: see 3).
        let rows = match self.config.feedback {
            Feedback::OwnQuantile => q,
            Feedback::Median => 1,
        };
        let patch_start = |t: isize| origin + (t * p as isize + 1) as f64 * spacing; // t < 0: context patches
        let first_ctx_patch = -(n_patches as isize);
        debug_assert!((patch_start(first_ctx_patch) - ctx_start).abs() < 1e-6 * spacing.max(1.0));
        // Per path: its raw SOH on the grid (context, then its own rollout) and its normalisation.
        let mut series: Vec<Vec<f64>> = vec![ctx.clone(); rows];
        let mut norms = vec![SeriesNorm::from_context(&ctx, mc.min_scale); rows];
        let encode = |series: &[Vec<f64>], norms: &[SeriesNorm], patches: usize, first: isize| {
            let z: Vec<Vec<f32>> = series
                .iter()
                .zip(norms)
                .map(|(s, n)| s[s.len() - patches * p..].iter().map(|&v| n.normalise(v) as f32).collect())
                .collect();
            let side: Vec<Vec<[f32; N_SIDE]>> = norms
                .iter()
                .map(|n| (0..patches).map(|t| side_channels(spacing, n, patch_start(first + t as isize))).collect())
                .collect();
            input_tensors(&z, &side, p, &self.device)
        };
        let (x, s) = encode(&series, &norms, n_patches, first_ctx_patch);
        let mut cache = self.model.new_cache();
        let mut out = self.model.forward_cached(x, s, Some(&mut cache)).quantiles; // [R, n, P, Q]
        let mut positions = n_patches;

        // 3. Roll out. Once a path has filled the model's context window it is re-anchored: its
        //    last `reanchor_patches` patches become a fresh context, normalised on themselves and
        //    encoded anew. Every position then stays inside what training showed (a context of
        //    k patches normalised on itself, predictions up to `max_context_patches`), however
        //    far the rollout goes and however far SOH has fallen from the original context.
        let horizon = at.iter().copied().fold(origin, f64::max);
        let max_steps = self.config.max_rollout_patches;
        let median = mc.median_index();
        let mut grid = Vec::new();
        let mut paths = vec![Vec::new(); q];
        for step in 0..max_steps {
            let last = out.dims()[1] - 1;
            let next: Vec<f32> = out.narrow(1, last, 1).into_data().convert::<f32>().try_to_vec::<f32>().expect("f32"); // [R, 1, P, Q]
            let mut feed = vec![vec![0f32; p]; rows];
            for i in 0..p {
                grid.push(origin + (step * p + i + 1) as f64 * spacing);
                for (level, path) in paths.iter_mut().enumerate() {
                    let row = if rows == 1 { 0 } else { level };
                    // Capacity cannot go below zero, whatever the extrapolation says.
                    path.push(norms[row].denormalise(next[(row * p + i) * q + level] as f64).max(0.0));
                }
                for (r, f) in feed.iter_mut().enumerate() {
                    let level = if rows == 1 { median } else { r };
                    f[i] = next[(r * p + i) * q + level];
                }
            }
            for (r, f) in feed.iter().enumerate() {
                let norm = norms[r];
                series[r].extend(f.iter().map(|&z| norm.denormalise(z as f64)));
            }
            let end = *grid.last().expect("one patch pushed");
            let covered = end >= horizon;
            let crossed = |path: &Vec<f64>| path.iter().position(|&v| v <= threshold).map(|i| grid[i]);
            let all_crossed = observed_eol.is_some() || paths.iter().all(|path| crossed(path).is_some());
            // A slow upper path need not be followed for ever: once the median has crossed, three
            // times its remaining life is enough (the interval's upper end is then left open).
            let far_enough = crossed(&paths[median]).is_some_and(|e| end - origin >= 3.0 * (e - origin));
            if (covered && (all_crossed || far_enough)) || step + 1 == max_steps {
                break;
            }
            if positions + 1 > mc.max_context_patches {
                let keep = self.config.reanchor_patches.clamp(1, mc.max_context_patches - 1);
                for r in 0..rows {
                    norms[r] = SeriesNorm::from_context(&series[r][series[r].len() - keep * p..], mc.min_scale);
                }
                let (x, s) = encode(&series, &norms, keep, step as isize + 1 - keep as isize);
                cache = self.model.new_cache();
                out = self.model.forward_cached(x, s, Some(&mut cache)).quantiles; // [R, keep, P, Q]
                positions = keep;
            } else {
                let side: Vec<Vec<[f32; N_SIDE]>> = norms.iter().map(|n| vec![side_channels(spacing, n, patch_start(step as isize))]).collect();
                let (x, s) = input_tensors(&feed, &side, p, &self.device);
                out = self.model.forward_cached(x, s, Some(&mut cache)).quantiles; // [R, 1, P, Q]
                positions += 1;
            }
        }

        // 4. Read off the requested cycles, end of life and remaining life.
        let last_soh = soh[soh.len() - 1];
        let path_eol = |path: &Vec<f64>| {
            let gx: Vec<f64> = std::iter::once(origin).chain(grid.iter().copied()).collect();
            let gy: Vec<f64> = std::iter::once(last_soh).chain(path.iter().copied()).collect();
            first_crossing(&gx, &gy, threshold)
        };
        let eol = match observed_eol {
            Some(c) => Interval { point: Some(c), lower: Some(c), upper: Some(c) },
            None => {
                // The interval spans every path's crossing; a path that never crossed leaves it open.
                let crossings: Vec<Option<f64>> = paths.iter().map(path_eol).collect();
                let reached: Vec<f64> = crossings.iter().flatten().copied().collect();
                let lower = reached.iter().copied().reduce(f64::min);
                let upper = if reached.len() == crossings.len() { reached.iter().copied().reduce(f64::max) } else { None };
                Interval { point: crossings[median], lower, upper }
            }
        };
        let rul_of = |e: Option<f64>| e.map(|c| (c - origin).max(0.0));
        let rul = Interval { point: rul_of(eol.point), lower: rul_of(eol.lower), upper: rul_of(eol.upper) };
        let mut f = Forecast {
            origin,
            quantile_levels: levels,
            at: at.to_vec(),
            values: Vec::new(),
            grid,
            paths,
            origin_soh: last_soh,
            eol_threshold: threshold,
            eol,
            rul,
        };
        f.values = f.read_at(at);
        f
    }
}

impl Forecast {
    /// Per quantile level, SOH at each of `cycles` (linear between grid points, NaN past the
    /// rollout). Each path follows its own quantile, so two paths can cross far out: the values
    /// at a cycle are the paths' values there in increasing order.
    pub fn read_at(&self, cycles: &[f64]) -> Vec<Vec<f64>> {
        let gx: Vec<f64> = std::iter::once(self.origin).chain(self.grid.iter().copied()).collect();
        let end = gx[gx.len() - 1];
        let mut values: Vec<Vec<f64>> = self
            .paths
            .iter()
            .map(|path| {
                let gy: Vec<f64> = std::iter::once(self.origin_soh).chain(path.iter().copied()).collect();
                cycles.iter().map(|&c| if c > end + 1e-9 { f64::NAN } else { interpolate(&gx, &gy, c) }).collect()
            })
            .collect();
        for i in 0..cycles.len() {
            let mut column: Vec<f64> = values.iter().map(|v| v[i]).collect();
            column.sort_by(f64::total_cmp);
            values.iter_mut().zip(column).for_each(|(v, x)| v[i] = x);
        }
        values
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

    fn forecast(&self, ctx: &fadecast::eval::Context, at: &[f64]) -> fadecast::eval::Quantiles {
        let f = Forecaster::forecast(self, ctx.cycles(), ctx.soh(), ctx.observation, at);
        // The model's level nearest each of the evaluator's (they match under the default config).
        let level = |target: f64| {
            let i = (0..f.quantile_levels.len())
                .min_by(|&a, &b| (f.quantile_levels[a] - target).abs().total_cmp(&(f.quantile_levels[b] - target).abs()))
                .expect("at least one level");
            f.values[i].clone()
        };
        let [lo, mid, hi] = fadecast::eval::forecaster::QUANTILE_LEVELS;
        fadecast::eval::forecaster::sanitise(fadecast::eval::Quantiles { p10: level(lo), p50: level(mid), p90: level(hi) })
    }
}
