//! Training: loss = quantile (pinball) loss + λ · InfoNCE over window embeddings.
//!
//! The contrastive term pulls together windows whose *physical descriptors* are close: within a
//! shard of the batch, each anchor's positive is the window with the nearest descriptor vector and
//! its negatives are the windows farther than the anchor's median descriptor distance. Descriptors
//! enter the loss only; the forecaster never sees them.
//!
//! A step runs its shards' forward and backward passes in parallel, one autodiff graph each, and
//! sums their gradients: the shards' losses are normalised by the whole batch, so the sum is the
//! batch's gradient ([`shard_gradients`]; checked against finite differences in
//! `tests/gradcheck.rs`).
//!
//! With `self_feed_prob` > 0 (from epoch `self_feed_from_epoch`), that share of a step's windows is
//! *self-fed* first ([`self_feed`]): the patches after the context are replaced by the model's
//! own median forecast, as a rollout's second forward pass reads them, and the truth stays the
//! target. Teacher forcing alone never shows the model its own predictions, and a rollout's
//! errors compound where it reads them back.
//!
//! A run directory holds:
//!
//! ```text
//! RUN_DIR/config.json          the TrainConfig (model config inside)
//! RUN_DIR/manifest.json        the cells trained on, their grids, a data fingerprint, git revision
//! RUN_DIR/log.jsonl            one line per epoch: losses, learning rate, seconds
//! RUN_DIR/checkpoints/epoch-NNNN/{model.bpk, optimizer.bpk, state.json}   resume points
//! RUN_DIR/model.safetensors    the latest weights, for forecasting (with RUN_DIR/model.json)
//! RUN_DIR/forecast.json        rollout settings that read histories on the training windows' grids
//! ```
//!
//! A checkpoint is complete once its `state.json` exists (written last, atomically); `--resume`
//! continues after the newest complete one with the same config, windows and learning rate it
//! would have had without the interruption.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::lr_scheduler::sequential::SequentialLrSchedulerConfig;
use burn::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::lr_scheduler::LrSchedulerConfig;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use fadecast::data::Cell;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::model::{input_tensors, FadeModel, ModelConfig};
use crate::synthetic::{self, SyntheticConfig};
use crate::windows::{descriptor_distance, DescriptorScaler, Example, SplitMix64, Window, WindowConfig, WindowSampler, DESC_DIM};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub model: ModelConfig,
    pub windows: WindowConfig,
    pub seed: u64,
    pub epochs: usize,
    /// Windows drawn per epoch (an epoch is a fixed number of steps, not a pass over a fixed set).
    pub windows_per_epoch: usize,
    pub batch_size: usize,
    /// Peak learning rate, reached after `warmup_steps` of linear warm-up, then cosine decay to `min_lr`.
    pub lr: f64,
    pub min_lr: f64,
    pub warmup_steps: usize,
    pub weight_decay: f32,
    /// Each parameter's gradient is clipped to this L2 norm (burn clips per parameter).
    pub grad_clip_norm: f32,
    /// λ: weight of the contrastive term (0 disables it: the "without contrastive" ablation).
    pub contrastive_weight: f64,
    /// InfoNCE temperature τ.
    pub temperature: f64,
    /// Two windows are comparable only if they share at least this many descriptors.
    pub min_common_descriptors: usize,
    /// Windows used to fit the descriptor scaler.
    pub scaler_windows: usize,
    /// Fixed validation windows scored after each epoch (0: none).
    pub val_windows: usize,
    /// Weight each window's forecast loss by its normalisation scale, so the loss is measured in
    /// SOH rather than in each window's own units (see `Example::weight`).
    pub scale_weighted_loss: bool,
    /// Each step's batch is split into this many shards whose forward and backward passes run in
    /// parallel, each on its own autodiff graph, and whose gradients are summed (see
    /// [`shard_gradients`]). Contrastive triplets are drawn within a shard. Part of the config,
    /// not taken from the thread count, so a run trains the same on any machine.
    pub shards: usize,
    /// Synthetic fade curves mixed into the windows (see [`crate::synthetic`]); off by default.
    pub synthetic: SyntheticConfig,
    /// Chance that a window is *self-fed* ([`self_feed`]): its inputs after the context are the
    /// model's own median forecast instead of the truth, as in a rollout's second pass, so the
    /// model learns to continue from its own predictions (teacher forcing alone never shows it
    /// them, and its errors compound there). 0: never.
    pub self_feed_prob: f64,
    /// First epoch (1-based) whose windows may be self-fed: the earlier ones train exactly as
    /// without it, so a run can take it up from another run's checkpoint of that epoch.
    pub self_feed_from_epoch: usize,
    /// Passes of self-feeding per chosen window: the first feeds the M patches after the context,
    /// each next one the M after those, forecast from the last fed patch — as a rollout's later
    /// passes read their own earlier forecasts. 1: the first only.
    pub self_feed_rounds: usize,
    /// Corpus cells tested far past end of life, drawn more often (see [`DeepCellsConfig`]); off by default.
    pub deep_cells: DeepCellsConfig,
}

/// Why: most cells of the corpus stop near SOH 0.8, so few training futures show a fade that
/// speeds up beyond end of life, and the model forecasts collapsing cells too high. The cells
/// whose tests went far deeper (RWTH, NASA_PCoE, MICH_FASTFORM, ISU_ILCC, CALCE, some others)
/// are few and short next to HUST's and MATR's; this gives them a fixed share of the draws
/// (docs/preregistered.md, experiment 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeepCellsConfig {
    /// Share of the training windows drawn from deep cells (0: their natural share).
    pub share: f64,
    /// A corpus cell is deep when its lowest measured SOH is below this (synthetic cells never are).
    pub below_soh: f64,
    /// How the share is split between the deep cells' datasets: ∝ their present share^`balance`
    /// (1: as now, dominated by the dataset with the most deep cells; 0: alike).
    pub balance: f64,
    /// First epoch (1-based) drawn this way: the earlier ones train exactly as without it, so a
    /// run can take it up from another run's checkpoint of that epoch.
    pub from_epoch: usize,
}

impl Default for DeepCellsConfig {
    fn default() -> Self {
        Self { share: 0.0, below_soh: 0.6, balance: 1.0, from_epoch: 1 }
    }
}

impl DeepCellsConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..1.0).contains(&self.share) {
            return Err(format!("deep_cells.share must be in [0, 1), got {}", self.share));
        }
        if !(self.below_soh > 0.0 && self.below_soh <= 1.0) {
            return Err(format!("deep_cells.below_soh must be in (0, 1], got {}", self.below_soh));
        }
        if !(0.0..=1.0).contains(&self.balance) {
            return Err(format!("deep_cells.balance must be between 0 and 1, got {}", self.balance));
        }
        Ok(())
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            model: ModelConfig::default(),
            windows: WindowConfig::default(),
            seed: 42,
            epochs: 20,
            windows_per_epoch: 16_384,
            batch_size: 64,
            lr: 1e-3,
            min_lr: 1e-5,
            warmup_steps: 200,
            weight_decay: 1e-4,
            grad_clip_norm: 1.0,
            contrastive_weight: 0.1,
            temperature: 0.2,
            min_common_descriptors: 2,
            scaler_windows: 4096,
            val_windows: 1024,
            scale_weighted_loss: true,
            shards: 2,
            synthetic: SyntheticConfig::default(),
            self_feed_prob: 0.0,
            self_feed_from_epoch: 1,
            self_feed_rounds: 1,
            deep_cells: DeepCellsConfig::default(),
        }
    }
}

impl TrainConfig {
    pub fn steps_per_epoch(&self) -> usize {
        self.windows_per_epoch.div_ceil(self.batch_size.max(1))
    }
    /// The model's and the windows' checks.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.self_feed_prob) {
            return Err(format!("self_feed_prob must be between 0 and 1, got {}", self.self_feed_prob));
        }
        if self.self_feed_rounds == 0 {
            return Err("self_feed_rounds must be at least 1".into());
        }
        self.model.validate()?;
        self.windows.validate()?;
        self.synthetic.validate()?;
        self.deep_cells.validate()
    }
    /// Reads and validates a config file; errors name the file (checked before a run writes anything).
    pub fn read(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        let config: Self = serde_json::from_str(&text).map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))?;
        config.validate().map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))?;
        Ok(config)
    }
}

#[derive(Debug)]
pub enum TrainError {
    Io(PathBuf, std::io::Error),
    Config(String),
    Data(String),
    Store(String),
}

impl TrainError {
    fn io(path: &Path, e: std::io::Error) -> Self {
        Self::Io(path.to_path_buf(), e)
    }
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(p, e) => write!(f, "{}: {e}", p.display()),
            Self::Config(m) => write!(f, "config: {m}"),
            Self::Data(m) => write!(f, "data: {m}"),
            Self::Store(m) => write!(f, "weights: {m}"),
        }
    }
}

impl std::error::Error for TrainError {}

// ───────────────────────────────────────── losses ─────────────────────────────────────────

/// Pinball loss averaged over the scored predictions: `pred` [B, N, M·P, Q], `target` [B, N, M·P],
/// `mask` [B, N, M] (the weight of position n's prediction m patches ahead; 0 = not scored).
/// Returns a one-element tensor.
pub fn pinball_loss(pred: Tensor<4>, target: Tensor<3>, mask: Tensor<3>, quantiles: &[f64]) -> Tensor<1> {
    let weight = mask.clone().sum().clamp_min(1e-9);
    pinball_sum(pred, target, mask, quantiles) / weight
}

/// The pinball loss summed over predicted patches (each weighted by `mask`), averaged over the
/// P × Q points and levels of a patch: the numerator of [`pinball_loss`].
pub fn pinball_sum(pred: Tensor<4>, target: Tensor<3>, mask: Tensor<3>, quantiles: &[f64]) -> Tensor<1> {
    let [b, n, mp, q] = pred.dims();
    let m = mask.dims()[2];
    let p = mp / m;
    let device = pred.device();
    let tau = Tensor::<4>::from_data(
        TensorData::new(quantiles.iter().map(|&t| t as f32).collect(), [1, 1, 1, q]),
        &device,
    );
    let diff = target.unsqueeze_dim::<4>(3) - pred; // [B, N, M·P, Q]: y − ŷ
    // τ·(y − ŷ) when under-predicting, (1 − τ)·(ŷ − y) when over-predicting.
    let loss = relu(diff.clone()) * tau.clone() + relu(-diff) * (-tau + 1.0); // [B, N, M·P, Q]
    let weights = mask.reshape([b, n, m, 1]).expand([b, n, m, p]).reshape([b, n, mp, 1]); // each patch's weight on its P points
    (loss * weights).sum() / (p * q) as f64
}

/// Who is compared with whom in a batch's contrastive term, as [B, B] host matrices.
#[derive(Debug, Clone, PartialEq)]
pub struct ContrastivePlan {
    pub size: usize,
    /// 1 at (anchor, its positive).
    pub positive: Vec<f32>,
    /// 1 at (anchor, a negative).
    pub negative: Vec<f32>,
    /// Anchors that have a positive and at least one negative.
    pub anchors: usize,
}

/// Picks each anchor's positive (nearest descriptor vector) and negatives (farther than the
/// anchor's median distance). Windows with too few shared descriptors are not compared.
pub fn plan_contrastive(desc: &[[f32; DESC_DIM]], masks: &[[bool; DESC_DIM]], min_common: usize) -> ContrastivePlan {
    let b = desc.len();
    let (mut positive, mut negative) = (vec![0f32; b * b], vec![0f32; b * b]);
    let mut anchors = 0;
    for i in 0..b {
        let mut d: Vec<(usize, f32)> = (0..b)
            .filter(|&j| j != i)
            .filter_map(|j| descriptor_distance(&desc[i], &masks[i], &desc[j], &masks[j], min_common).map(|v| (j, v)))
            .collect();
        if d.len() < 3 {
            continue;
        }
        d.sort_by(|x, y| x.1.total_cmp(&y.1));
        let median = d[d.len() / 2].1;
        let negatives: Vec<usize> = d.iter().filter(|(_, v)| *v > median).map(|(j, _)| *j).collect();
        // A positive tied with the negatives teaches nothing.
        if negatives.is_empty() || d[0].1 >= median {
            continue;
        }
        positive[i * b + d[0].0] = 1.0;
        for j in negatives {
            negative[i * b + j] = 1.0;
        }
        anchors += 1;
    }
    ContrastivePlan { size: b, positive, negative, anchors }
}

/// InfoNCE over unit-norm embeddings `z` [B, E]: for each planned anchor,
/// −log( e^{s⁺/τ} / (e^{s⁺/τ} + Σ e^{s⁻/τ}) ), averaged over anchors. Zero when no anchor.
pub fn info_nce(z: Tensor<2>, plan: &ContrastivePlan, temperature: f64) -> Tensor<1> {
    info_nce_sum(z, plan, temperature) / (plan.anchors.max(1) as f64)
}

/// The InfoNCE terms of every anchor, summed: the numerator of [`info_nce`].
pub fn info_nce_sum(z: Tensor<2>, plan: &ContrastivePlan, temperature: f64) -> Tensor<1> {
    let b = plan.size;
    let device = z.device();
    let matrix = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [b, b]), &device);
    let (pos, neg) = (matrix(&plan.positive), matrix(&plan.negative));
    let logits = z.clone().matmul(z.transpose()) / temperature; // [B, B]
    let candidates = pos.clone() + neg; // [B, B], 1 where the softmax runs
    let masked = logits.clone() * candidates.clone() + (candidates.clone() - 1.0) * 1.0e9;
    let max = masked.clone().max_dim(1).detach(); // [B, 1], for a stable log-sum-exp
    let lse = ((masked - max.clone()).exp() * candidates).sum_dim(1).clamp_min(1e-30).log() + max; // [B, 1]
    let pos_logit = (logits * pos.clone()).sum_dim(1); // [B, 1]
    let is_anchor = pos.sum_dim(1); // [B, 1]
    ((lse - pos_logit) * is_anchor).sum()
}

// ─────────────────────────────────────── batches ───────────────────────────────────────

/// A batch on the device.
pub struct Batch {
    pub input: Tensor<3>,
    pub side: Tensor<3>,
    pub target: Tensor<3>,
    pub mask: Tensor<3>,
    pub valid: Vec<usize>,
}

pub fn make_batch(examples: &[Example], cfg: &ModelConfig, device: &Device) -> Batch {
    let (p, n, m, b) = (cfg.patch_len, cfg.max_context_patches, cfg.output_patches, examples.len());
    let inputs: Vec<Vec<f32>> = examples.iter().map(|e| e.input.clone()).collect();
    let sides: Vec<_> = examples.iter().map(|e| e.side.clone()).collect();
    let (input, side) = input_tensors(&inputs, &sides, p, device, device.settings().float_dtype.into());
    let target: Vec<f32> = examples.iter().flat_map(|e| e.target.iter().copied()).collect();
    // Scored predictions (after the context, inside the window), weighted by the window's scale.
    let mask: Vec<f32> = examples.iter().flat_map(|e| e.loss_mask(n)).collect();
    Batch {
        input,
        side,
        target: Tensor::from_data(TensorData::new(target, [b, n, m * p]), device),
        mask: Tensor::from_data(TensorData::new(mask, [b, n, m]), device),
        valid: examples.iter().map(|e| e.valid).collect(),
    }
}

/// One shard of a step's batch: its windows' examples and, with the contrastive term on, who is
/// compared with whom among them.
pub struct Shard {
    pub examples: Vec<Example>,
    pub plan: Option<ContrastivePlan>,
}

/// Splits a step's windows into `cfg.shards` contiguous shards (fewer for a tiny batch). With a
/// descriptor `scaler` (and λ > 0) each shard gets its contrastive plan.
pub fn make_shards(windows: &[Window], scaler: Option<&DescriptorScaler>, cfg: &TrainConfig) -> Vec<Shard> {
    let size = windows.len().div_ceil(cfg.shards.clamp(1, windows.len().max(1)));
    windows
        .chunks(size.max(1))
        .map(|chunk| {
            let mut examples: Vec<Example> = chunk.iter().map(|w| w.example(&cfg.model)).collect();
            if !cfg.scale_weighted_loss {
                examples.iter_mut().for_each(|e| e.weight = 1.0);
            }
            let plan = scaler.filter(|_| cfg.contrastive_weight > 0.0).map(|sc| {
                let desc: Vec<[f32; DESC_DIM]> = chunk.iter().map(|w| sc.apply(w)).collect();
                let masks: Vec<[bool; DESC_DIM]> = chunk.iter().map(|w| w.mask).collect();
                plan_contrastive(&desc, &masks, cfg.min_common_descriptors)
            });
            Shard { examples, plan }
        })
        .collect()
}

/// Self-feeds each example with chance `prob` (drawn from `rng`, in order), in `rounds` passes of
/// `model` (no gradients) over the chosen examples: the first gives each one's median forecast
/// from its last context position, which replaces the M input patches after the context
/// ([`Example::feed_back_from`]); each next pass forecasts from the last replaced patch and
/// replaces the M after it, while the window lasts.
pub fn self_feed(model: &FadeModel, examples: &mut [&mut Example], prob: f64, rounds: usize, rng: &mut SplitMix64) {
    let chosen: Vec<usize> = (0..examples.len()).filter(|_| rng.next_f64() < prob).collect();
    let cfg = &model.config;
    let median = cfg.median_index();
    for round in 0..rounds.max(1) {
        // (example, the position it forecasts from); the first pass takes every chosen example, as
        // self-feeding always did, the later ones those whose window goes on past their last fed patch.
        let from: Vec<(usize, usize)> = chosen
            .iter()
            .map(|&i| (i, examples[i].first + round * examples[i].horizons))
            .filter(|&(i, t)| round == 0 || t + 1 < examples[i].valid)
            .collect();
        if from.is_empty() {
            return;
        }
        let rows: Vec<Example> = from.iter().map(|&(i, _)| examples[i].clone()).collect();
        // One batch per thread: a batch this small keeps a second core mostly idle, and a row's
        // forecast is the same whichever rows share its batch, so training is unchanged.
        let part = rows.len().div_ceil(rayon::current_num_threads().max(1));
        let forecasts: Vec<Vec<f32>> = rows
            .par_chunks(part)
            .zip(from.par_chunks(part))
            .flat_map_iter(|(part_rows, part_from)| {
                let batch = make_batch(part_rows, cfg, &Device::flex());
                let out = model.forward(batch.input, batch.side).quantiles; // [B, N, M·P, Q]
                let [_, n, mp, q] = out.dims();
                let values = out.into_data().convert::<f32>().try_to_vec::<f32>().expect("float quantiles");
                // Each row's median forecast of the M patches after its position t.
                let median_after = |row: usize, t: usize| (0..mp).map(|j| values[((row * n + t) * mp + j) * q + median]).collect();
                part_from.iter().enumerate().map(|(row, &(_, t))| median_after(row, t)).collect::<Vec<Vec<f32>>>()
            })
            .collect();
        for (&(i, t), forecast) in from.iter().zip(&forecasts) {
            examples[i].feed_back_from(t, forecast, cfg.patch_len);
        }
    }
}

/// What the shards' losses are normalised by: the whole batch's forecast weight and anchors, so
/// that the shards' losses (and so their gradients) add up to the batch's.
struct BatchTotals {
    weight: f64,
    anchors: usize,
}

impl BatchTotals {
    fn of(shards: &[Shard]) -> Self {
        let examples = shards.iter().flat_map(|s| &s.examples);
        Self {
            // The mask's sum: each scored prediction carries its window's weight.
            weight: examples.map(|e| e.scored() as f64 * e.weight as f64).sum::<f64>().max(1e-9),
            anchors: shards.iter().filter_map(|s| s.plan.as_ref()).map(|p| p.anchors).sum(),
        }
    }
}

/// One shard's share of the batch loss: (loss tensor, forecast part, contrastive part).
fn shard_loss(model: &FadeModel, shard: &Shard, totals: &BatchTotals, cfg: &TrainConfig, device: &Device) -> (Tensor<1>, f64, f64) {
    let batch = make_batch(&shard.examples, &model.config, device);
    let out = model.forward(batch.input, batch.side);
    let forecast = pinball_sum(out.quantiles, batch.target, batch.mask, &model.config.quantiles) / totals.weight;
    let f = scalar(&forecast);
    match &shard.plan {
        Some(plan) if cfg.contrastive_weight > 0.0 && plan.anchors > 0 => {
            let z = model.embed(out.hidden, &batch.valid);
            let nce = info_nce_sum(z, plan, cfg.temperature) / totals.anchors as f64;
            let c = scalar(&nce);
            (forecast + nce * cfg.contrastive_weight, f, c)
        }
        _ => (forecast, f, 0.0),
    }
}

/// The training loss of a batch given as shards, on one autodiff graph: (total, forecast part,
/// contrastive part). Its gradient is what [`shard_gradients`] computes in parallel.
pub fn batch_loss(model: &FadeModel, shards: &[Shard], cfg: &TrainConfig, device: &Device) -> (Tensor<1>, f64, f64) {
    let totals = BatchTotals::of(shards);
    let mut parts = shards.iter().map(|s| shard_loss(model, s, &totals, cfg, device));
    let first = parts.next().expect("at least one shard");
    parts.fold(first, |(l, f, c), (l2, f2, c2)| (l + l2, f + f2, c + c2))
}

/// Gradients of the batch loss, with every shard's forward and backward pass on its own thread
/// and autodiff graph (each on its own fork of the parameters; a graph shared by both would be
/// one lock), summed per parameter. Also returns the losses.
pub fn shard_gradients(model: &FadeModel, shards: &[Shard], cfg: &TrainConfig, device: &Device) -> (GradientsParams, StepLoss) {
    let totals = BatchTotals::of(shards);
    let parts: Vec<(GradientsParams, StepLoss)> = shards
        .par_iter()
        .map(|shard| {
            let fork = model.clone().fork(device);
            let (loss, forecast_loss, contrastive_loss) = shard_loss(&fork, shard, &totals, cfg, device);
            let step = StepLoss { loss: scalar(&loss), forecast_loss, contrastive_loss };
            (GradientsParams::from_grads(loss.backward(), &fork), step)
        })
        .collect();
    let mut parts = parts.into_iter();
    let (mut grads, mut total) = parts.next().expect("at least one shard");
    for (g, l) in parts {
        model.visit(&mut SumGradients { into: &mut grads, from: g });
        total = StepLoss {
            loss: total.loss + l.loss,
            forecast_loss: total.forecast_loss + l.forecast_loss,
            contrastive_loss: total.contrastive_loss + l.contrastive_loss,
        };
    }
    (grads, total)
}

/// Adds the gradients in `from` to those in `into`, parameter by parameter.
struct SumGradients<'a> {
    into: &'a mut GradientsParams,
    from: GradientsParams,
}

impl ModuleVisitor for SumGradients<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.from.remove::<D>(param.id) {
            let sum = match self.into.remove::<D>(param.id) {
                Some(acc) => acc + g,
                None => g,
            };
            self.into.register(param.id, sum);
        }
    }
}

/// The value of a one-element tensor (read back at f64, so an f64 model loses nothing).
pub fn scalar(t: &Tensor<1>) -> f64 {
    t.clone().into_data().convert::<f64>().try_to_vec::<f64>().expect("a float scalar")[0]
}

/// Losses of one optimisation step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLoss {
    pub loss: f64,
    pub forecast_loss: f64,
    pub contrastive_loss: f64,
}

/// AdamW with per-parameter gradient clipping, the learning-rate schedule, and the step count:
/// everything a step needs besides the model (shared by pretraining and LoRA finetuning).
pub struct Trainer {
    pub optim: ModuleOptimizer,
    pub schedule: ModuleLrScheduler,
    pub device: Device,
    pub global_step: usize,
    /// Learning rate of the last step.
    pub lr: f64,
    /// Chance that a window of the next steps is self-fed ([`self_feed`]); in finetuning 0 unless
    /// `LoraConfig::self_feed`.
    pub self_feed_prob: f64,
}

impl Trainer {
    pub fn new(cfg: &TrainConfig, device: Device) -> Result<Self, TrainError> {
        let optim = AdamWConfig::new()
            .with_weight_decay(cfg.weight_decay)
            .with_grad_clipping(Some(GradientClippingConfig::Norm(cfg.grad_clip_norm)))
            .init();
        Ok(Self { optim, schedule: lr_schedule(cfg)?, device, global_step: 0, lr: cfg.lr, self_feed_prob: 0.0 })
    }

    /// One step on `windows`: forward, loss, backward (by shards, in parallel), AdamW update.
    /// With a descriptor `scaler` (and λ > 0) the contrastive term is added.
    pub fn step(&mut self, model: FadeModel, windows: &[Window], scaler: Option<&DescriptorScaler>, cfg: &TrainConfig) -> (FadeModel, StepLoss) {
        let mut shards = make_shards(windows, scaler, cfg);
        if self.self_feed_prob > 0.0 {
            // Its own generator, seeded by the step, so the window draws are untouched.
            let mut rng = SplitMix64::new(epoch_seed(cfg.seed ^ 0x5E1F, self.global_step));
            let mut examples: Vec<&mut Example> = shards.iter_mut().flat_map(|s| s.examples.iter_mut()).collect();
            self_feed(&model.valid(), &mut examples, self.self_feed_prob, cfg.self_feed_rounds, &mut rng);
        }
        let (grads, loss) = shard_gradients(&model, &shards, cfg, &self.device);
        let lr = self.schedule.step();
        self.lr = lr.base();
        self.global_step += 1;
        (self.optim.step(lr, model, grads), loss)
    }

    /// Restores model and optimizer from a checkpoint directory and fast-forwards the schedule.
    pub fn restore(&mut self, model: FadeModel, dir: &Path, global_step: usize) -> Result<FadeModel, TrainError> {
        let err = |e: &dyn std::fmt::Debug| TrainError::Store(format!("{}: {e:?}", dir.display()));
        let model = model.try_load_file(dir.join("model.bpk")).map_err(|e| err(&e))?;
        self.optim = self.optim.clone().load(dir.join("optimizer.bpk")).map_err(|e| err(&e))?;
        for _ in 0..global_step {
            self.lr = self.schedule.step().base();
        }
        self.global_step = global_step;
        Ok(model)
    }
}

// ───────────────────────────────────── run bookkeeping ─────────────────────────────────────

/// What a run was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub fadecast_model_version: String,
    pub git_revision: String,
    /// SHA-256 over every training cell's key, cycles and SOH, in order.
    pub data_fingerprint: String,
    pub cells: Vec<ManifestCell>,
    pub descriptor_names: Vec<String>,
    pub descriptor_scaler: DescriptorScaler,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestCell {
    pub key: String,
    pub observations: usize,
    pub grid_spacing: f64,
    pub grid_points: usize,
}

/// Progress after each step (drive a progress bar with it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepInfo {
    pub epoch: usize,
    pub step_in_epoch: usize,
    pub steps_per_epoch: usize,
    pub global_step: usize,
    pub lr: f64,
    pub loss: f64,
    pub forecast_loss: f64,
    pub contrastive_loss: f64,
}

/// One line of `log.jsonl`, and the resume state of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch just finished.
    pub epoch: usize,
    pub global_step: usize,
    pub loss: f64,
    pub forecast_loss: f64,
    pub contrastive_loss: f64,
    pub val_forecast_loss: Option<f64>,
    pub lr: f64,
    pub seconds: f64,
}

/// The commit this code was built from (+ "-dirty" when its crates differed from it), or "unknown"
/// when built outside a repository: recorded at build time by build.rs.
pub fn git_revision() -> String {
    env!("FADECAST_GIT_REVISION").into()
}

pub fn data_fingerprint(cells: &[Cell]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for c in cells {
        h.update(c.key().as_bytes());
        for o in &c.cycles {
            h.update(o.cycle.to_le_bytes());
            h.update(o.soh.to_le_bytes());
        }
    }
    hex::encode(h.finalize())
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), TrainError> {
    let text = serde_json::to_string_pretty(value).expect("serialisable");
    fadecast::corpus::write_atomic(path, text.as_bytes()).map_err(|e| TrainError::io(path, e))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))
}

fn checkpoint_dir(out: &Path, epoch: usize) -> PathBuf {
    out.join("checkpoints").join(format!("epoch-{epoch:04}"))
}

/// Newest complete checkpoint (one with a `state.json`).
pub fn latest_checkpoint(out: &Path) -> Option<(PathBuf, EpochRecord)> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out.join("checkpoints")).ok()?.flatten().map(|e| e.path()).collect();
    dirs.sort();
    dirs.into_iter().rev().find_map(|d| read_json::<EpochRecord>(&d.join("state.json")).ok().map(|r| (d, r)))
}

/// The learning-rate schedule: linear warm-up to `lr`, then cosine decay to `min_lr`.
pub fn lr_schedule(cfg: &TrainConfig) -> Result<ModuleLrScheduler, TrainError> {
    let total = cfg.epochs * cfg.steps_per_epoch();
    let warmup = cfg.warmup_steps.clamp(1, total.saturating_sub(1).max(1));
    let decay = total.saturating_sub(warmup).max(1);
    SequentialLrSchedulerConfig::new(
        vec![
            LrSchedulerConfig::Linear(LinearLrSchedulerConfig::new(cfg.lr / 100.0, cfg.lr, warmup)),
            LrSchedulerConfig::Cosine(CosineAnnealingLrSchedulerConfig::new(cfg.lr, decay).with_min_lr(cfg.min_lr)),
        ],
        vec![warmup],
    )
    .init()
    .map_err(TrainError::Config)
}

/// The seed of epoch `e`'s windows (distinct per epoch, fixed by the run seed).
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Forecast loss of `model` on fixed windows (no gradients).
pub fn evaluate(model: &FadeModel, windows: &[Window], batch_size: usize, device: &Device) -> f64 {
    let cfg = &model.config;
    let (mut sum, mut weight) = (0.0, 0.0);
    for chunk in windows.chunks(batch_size.max(1)) {
        let examples: Vec<Example> = chunk.iter().map(|w| w.example(cfg)).collect();
        let n: f64 = examples.iter().map(|e| e.scored() as f64 * e.weight as f64).sum();
        let batch = make_batch(&examples, cfg, device);
        let out = model.forward(batch.input, batch.side);
        sum += scalar(&pinball_loss(out.quantiles, batch.target, batch.mask, &cfg.quantiles)) * n as f64;
        weight += n as f64;
    }
    if weight > 0.0 { sum / weight } else { 0.0 }
}

/// Trains on `train` (validating on `val` when non-empty) into `out`. With `resume`, continues
/// after the newest complete checkpoint in `out`; the config must then match the saved one.
pub fn train(
    train: &[Cell],
    val: &[Cell],
    cfg: &TrainConfig,
    out: &Path,
    resume: bool,
    mut progress: impl FnMut(&StepInfo),
) -> Result<Vec<EpochRecord>, TrainError> {
    cfg.validate().map_err(TrainError::Config)?;
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    // The corpus's train cells, plus the synthetic ones at their configured share of the draws.
    // (Borrowed when there are none: the corpus is not copied for nothing.)
    let synthetic = synthetic::cells(&cfg.synthetic, cfg.seed);
    let pool: Cow<[Cell]> =
        if synthetic.is_empty() { Cow::Borrowed(train) } else { Cow::Owned(train.iter().cloned().chain(synthetic).collect()) };
    let sampler = WindowSampler::new(&pool, &cfg.model, &cfg.windows).with_dataset_share(synthetic::DATASET, cfg.synthetic.share);
    if sampler.is_empty() {
        return Err(TrainError::Data("no training cell is long enough for two patches".into()));
    }
    // From `deep_cells.from_epoch`, the same series with the deep ones at their configured share
    // (the descriptor scaler stays the one fitted above).
    let deep = &cfg.deep_cells;
    let deep_sampler = (deep.share > 0.0).then(|| {
        sampler.clone().with_share(|s| s.dataset != synthetic::DATASET && s.min_soh() < deep.below_soh, deep.share, deep.balance)
    });
    let fit_scaler = |s: &WindowSampler| DescriptorScaler::fit(&s.sample_many(cfg.scaler_windows, cfg.seed ^ 0x5CA1E));
    let scaler = fit_scaler(&sampler);
    // Before `synthetic.from_epoch`, the corpus alone, drawn and scaled exactly as a run without
    // synthetic cells (whose checkpoint such a run may continue).
    let corpus_only = (cfg.synthetic.share > 0.0 && cfg.synthetic.from_epoch > 1).then(|| {
        let s = WindowSampler::new(train, &cfg.model, &cfg.windows);
        let scaler = fit_scaler(&s);
        (s, scaler)
    });
    let val_windows = {
        let vs = WindowSampler::new(val, &cfg.model, &cfg.windows);
        if vs.is_empty() || cfg.val_windows == 0 { Vec::new() } else { vs.sample_many(cfg.val_windows, cfg.seed ^ 0x7A1) }
    };

    let config_path = out.join("config.json");
    let resumed = if resume { latest_checkpoint(out) } else { None };
    if resumed.is_some() {
        let saved: TrainConfig = read_json(&config_path)?;
        if &saved != cfg {
            return Err(TrainError::Config(format!("--resume with a config that differs from {}", config_path.display())));
        }
    }
    write_json(&config_path, cfg)?;
    write_json(&out.join("model.json"), &cfg.model)?;
    write_json(&out.join("forecast.json"), &crate::forecast::ForecastConfig::matching(&cfg.windows))?;
    let manifest = Manifest {
        fadecast_model_version: env!("CARGO_PKG_VERSION").into(),
        git_revision: git_revision(),
        data_fingerprint: data_fingerprint(train),
        cells: sampler
            .series
            .iter()
            .map(|s| ManifestCell {
                key: s.key.clone(),
                observations: pool.iter().find(|c| c.key() == s.key).map_or(0, |c| c.cycles.len()),
                grid_spacing: s.spacing,
                grid_points: s.soh.len(),
            })
            .collect(),
        descriptor_names: crate::windows::descriptor_names().into_iter().map(String::from).collect(),
        descriptor_scaler: scaler.clone(),
    };
    write_json(&out.join("manifest.json"), &manifest)?;

    let device = Device::flex().autodiff();
    device.seed(cfg.seed);
    let mut model = cfg.model.init(&device);
    let mut trainer = Trainer::new(cfg, device)?;
    let (mut first_epoch, mut history) = (1, Vec::new());
    if let Some((dir, state)) = resumed {
        model = trainer.restore(model, &dir, state.global_step)?;
        history = read_log(out)?.into_iter().filter(|r| r.epoch <= state.epoch).collect();
        first_epoch = state.epoch + 1;
    }

    let steps = cfg.steps_per_epoch();
    for epoch in first_epoch..=cfg.epochs {
        let started = Instant::now();
        trainer.self_feed_prob = if epoch >= cfg.self_feed_from_epoch { cfg.self_feed_prob } else { 0.0 };
        let (sampler, scaler) = match &corpus_only {
            Some((s, scaler)) if epoch < cfg.synthetic.from_epoch => (s, scaler),
            _ => match &deep_sampler {
                Some(s) if epoch >= deep.from_epoch => (s, &scaler),
                _ => (&sampler, &scaler),
            },
        };
        let windows = sampler.sample_many(steps * cfg.batch_size, epoch_seed(cfg.seed, epoch));
        let mut sums = [0.0f64; 3];
        for (step, chunk) in windows.chunks(cfg.batch_size).enumerate() {
            let (next, loss) = trainer.step(model, chunk, Some(scaler), cfg);
            model = next;
            for (s, v) in sums.iter_mut().zip([loss.loss, loss.forecast_loss, loss.contrastive_loss]) {
                *s += v;
            }
            progress(&StepInfo {
                epoch,
                step_in_epoch: step + 1,
                steps_per_epoch: steps,
                global_step: trainer.global_step,
                lr: trainer.lr,
                loss: loss.loss,
                forecast_loss: loss.forecast_loss,
                contrastive_loss: loss.contrastive_loss,
            });
        }
        let n = steps.max(1) as f64;
        let val_forecast_loss = (!val_windows.is_empty())
            .then(|| evaluate(&model.valid(), &val_windows, cfg.batch_size, &Device::flex()));
        let record = EpochRecord {
            epoch,
            global_step: trainer.global_step,
            loss: sums[0] / n,
            forecast_loss: sums[1] / n,
            contrastive_loss: sums[2] / n,
            val_forecast_loss,
            lr: trainer.lr,
            seconds: started.elapsed().as_secs_f64(),
        };
        save_checkpoint(out, &model, &trainer.optim, &record)?;
        history.push(record);
        write_log(out, &history)?;
    }
    Ok(history)
}

fn save_checkpoint(out: &Path, model: &FadeModel, optim: &ModuleOptimizer, record: &EpochRecord) -> Result<(), TrainError> {
    let dir = checkpoint_dir(out, record.epoch);
    std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
    let store_err = |e: &dyn std::fmt::Debug| TrainError::Store(format!("{}: {e:?}", dir.display()));
    // burnpack keeps parameter ids, which the optimizer state is keyed by: what resume needs.
    model.clone().save_file(dir.join("model.bpk")).map_err(|e| store_err(&e))?;
    optim.save(dir.join("optimizer.bpk")).map_err(|e| store_err(&e))?;
    crate::forecast::save_weights(&model.valid(), &out.join("model.safetensors"))?;
    write_json(&dir.join("state.json"), record)
}

fn read_log(out: &Path) -> Result<Vec<EpochRecord>, TrainError> {
    let path = out.join("log.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TrainError::io(&path, e)),
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| TrainError::Config(format!("{}: {e}", path.display()))))
        .collect()
}

fn write_log(out: &Path, history: &[EpochRecord]) -> Result<(), TrainError> {
    let text: String = history.iter().map(|r| serde_json::to_string(r).expect("serialisable") + "\n").collect();
    let path = out.join("log.jsonl");
    fadecast::corpus::write_atomic(&path, text.as_bytes()).map_err(|e| TrainError::io(&path, e))
}
