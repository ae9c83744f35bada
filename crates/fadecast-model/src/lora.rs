//! LoRA adaptation: low-rank adapters on the attention and MLP weights of a frozen base model,
//! trained on a user's own cells, saved apart from the base.
//!
//! burn does the work: [`Module::apply_lora`] freezes *every* parameter of the model and attaches
//! trainable factors `a` [d_in, r], `b` [r, d_out] (b = 0, so the adapted model starts equal to
//! the base) to the 2-D weights the parameter group names; a weight then reads `base + α/r · a·b`.
//! The optimizer only ever sees gradients of the factors, so the base stays bit-identical.
//!
//! An adapter directory holds `adapter.json` (the [`LoraConfig`] and the SHA-256 of the base
//! weights it was trained on) and `adapter.safetensors` (the factors only). An ensemble's adapter
//! directory holds one such directory per member, named as the member, and an `adapter.json`
//! whose `base_sha256` is that of the ensemble's `ensemble.json` and whose losses are the members'
//! mean ([`finetune_any`], [`load_adapted_any`]).

use std::path::Path;

use burn::module::{Lora, Module, ParamGroup};
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::Device;
use fadecast::data::Cell;
use serde::{Deserialize, Serialize};

use crate::forecast::{load_weights, EnsembleInfo, ENSEMBLE_FILE};
use crate::model::{FadeModel, ModelConfig};
use crate::train::{TrainConfig, TrainError, Trainer};
use crate::windows::{WindowConfig, WindowSampler};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoraConfig {
    pub rank: usize,
    /// The adapter's contribution is scaled by alpha / rank.
    pub alpha: f64,
    /// Parameters whose path contains any of these get adapters.
    pub targets: Vec<String>,
    pub epochs: usize,
    pub windows_per_epoch: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub seed: u64,
    /// Train on the windows the base was trained on (its run's `config.json`: whole-history grids
    /// among them) instead of the default fixed-stride ones. Off by default: on the TBSI_Sunwoda
    /// demo (model card, *LoRA*) the default windows adapted better.
    pub base_windows: bool,
    /// Self-feed windows as the base's own last epochs did (its run's `config.json`:
    /// `self_feed_prob`, `self_feed_rounds`; nothing for a base trained without it): some windows
    /// read the adapted model's own median after their context, as a rollout's later passes do.
    /// On by default since experiment 8 of docs/preregistered.md. In `adapter.json`, whether the
    /// windows were in fact self-fed (an ensemble's: every member's were).
    pub self_feed: bool,
}

impl LoraConfig {
    /// Training steps for one model (an ensemble trains each member alike).
    pub fn steps_per_model(&self) -> usize {
        self.epochs * self.windows_per_epoch.div_ceil(self.batch_size.max(1))
    }
}

impl Default for LoraConfig {
    fn default() -> Self {
        Self {
            rank: 4,
            alpha: 8.0,
            targets: ["query", "key", "value", "out", "fc_in", "fc_out", "head"].map(String::from).to_vec(),
            epochs: 5,
            windows_per_epoch: 2048,
            batch_size: 32,
            lr: 1e-3,
            seed: 7,
            base_windows: false,
            self_feed: true,
        }
    }
}

/// What `adapter.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterInfo {
    pub lora: LoraConfig,
    pub base_sha256: String,
    pub cells: Vec<String>,
    /// Mean training loss per epoch.
    pub losses: Vec<f64>,
}

/// Attaches fresh adapters (every base parameter frozen).
pub fn attach(model: FadeModel, cfg: &LoraConfig) -> FadeModel {
    let group = ParamGroup::from_any_predicates(cfg.targets.clone());
    model.apply_lora(Lora::new(cfg.rank, cfg.alpha).set_param_group(group))
}

pub fn file_sha256(path: &Path) -> Result<String, TrainError> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).map_err(|e| TrainError::Io(path.to_path_buf(), e))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Trains adapters for the base model in `base_dir` (`model.json` + `model.safetensors`) on
/// `cells`, and writes them to `out`. Returns the mean loss per epoch. `on_step(done, total)`
/// follows the training steps, for a progress bar.
pub fn finetune(base_dir: &Path, cells: &[Cell], cfg: &LoraConfig, out: &Path, on_step: &mut dyn FnMut(usize, usize)) -> Result<Vec<f64>, TrainError> {
    let model_config = read_model_config(base_dir)?;
    let base_path = base_dir.join("model.safetensors");
    let device = Device::flex().autodiff();
    device.seed(cfg.seed);
    let model = attach(load_weights(&model_config, &base_path, &device)?, cfg);

    // The base's own training recipe, narrowed to the adapters: forecast loss only (a user's cells
    // rarely carry descriptors), the finetune's own length and learning rate.
    let windows = if cfg.base_windows { base_windows(base_dir)? } else { WindowConfig::default() };
    let (self_feed_prob, self_feed_rounds) = if cfg.self_feed { base_self_feed(base_dir)? } else { (0.0, 1) };
    let cfg = &LoraConfig { self_feed: self_feed_prob > 0.0, ..cfg.clone() };
    let train_cfg = TrainConfig {
        model: model_config.clone(),
        windows,
        self_feed_rounds,
        seed: cfg.seed,
        epochs: cfg.epochs,
        windows_per_epoch: cfg.windows_per_epoch,
        batch_size: cfg.batch_size,
        lr: cfg.lr,
        min_lr: cfg.lr / 100.0,
        warmup_steps: 10,
        contrastive_weight: 0.0,
        ..TrainConfig::default()
    };
    let sampler = WindowSampler::new(cells, &model_config, &train_cfg.windows);
    if sampler.is_empty() {
        return Err(TrainError::Data("no cell is long enough for two patches".into()));
    }
    let mut trainer = Trainer::new(&train_cfg, device)?;
    trainer.self_feed_prob = self_feed_prob;
    let (mut model, mut losses) = (model, Vec::new());
    let total = cfg.steps_per_model();
    let mut done = 0;
    for epoch in 1..=cfg.epochs {
        let windows = sampler.sample_many(train_cfg.steps_per_epoch() * cfg.batch_size, cfg.seed ^ epoch as u64);
        let mut sum = 0.0;
        for chunk in windows.chunks(cfg.batch_size) {
            let (next, step) = trainer.step(model, chunk, None, &train_cfg);
            model = next;
            sum += step.loss;
            done += 1;
            on_step(done, total);
        }
        losses.push(sum / train_cfg.steps_per_epoch().max(1) as f64);
    }
    save_adapters(&model, out)?;
    let info = AdapterInfo {
        lora: cfg.clone(),
        base_sha256: file_sha256(&base_path)?,
        cells: cells.iter().map(Cell::key).collect(),
        losses: losses.clone(),
    };
    write_info(out, &info)?;
    Ok(losses)
}

/// The config the base was trained with (its run's `config.json`), if it has one.
fn base_run_config(base_dir: &Path) -> Result<Option<TrainConfig>, TrainError> {
    let path = base_dir.join("config.json");
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(TrainConfig::read(&path)?))
}

/// The window config the base was trained with (its run's `config.json`), or the default one for a
/// base folder without it.
pub fn base_windows(base_dir: &Path) -> Result<WindowConfig, TrainError> {
    Ok(base_run_config(base_dir)?.map_or_else(WindowConfig::default, |c| c.windows))
}

/// The base's self-feeding (chance, passes), from its run's `config.json`: none (chance 0) for a
/// base without one.
fn base_self_feed(base_dir: &Path) -> Result<(f64, usize), TrainError> {
    Ok(base_run_config(base_dir)?.map_or((0.0, 1), |c| (c.self_feed_prob, c.self_feed_rounds)))
}

/// [`finetune`] for one model or for every member of an ensemble (each with its own adapters,
/// trained alike on the same cells, one after another; `on_step` counts every member's steps).
pub fn finetune_any(base_dir: &Path, cells: &[Cell], cfg: &LoraConfig, out: &Path, on_step: &mut dyn FnMut(usize, usize)) -> Result<Vec<f64>, TrainError> {
    let Some(members) = EnsembleInfo::member_dirs(base_dir)? else {
        return finetune(base_dir, cells, cfg, out, on_step);
    };
    let mut per_member = Vec::new();
    for (m, dir) in members.iter().enumerate() {
        let mut member_step = |done: usize, total: usize| on_step(m * total + done, members.len() * total);
        per_member.push(finetune(dir, cells, cfg, &out.join(member_name(dir)), &mut member_step)?);
    }
    let losses: Vec<f64> = (0..cfg.epochs).map(|e| per_member.iter().map(|l| l[e]).sum::<f64>() / per_member.len() as f64).collect();
    // Self-fed only if every member was (each follows its own run's config).
    let mut self_fed = true;
    for dir in &members {
        self_fed &= read_info(&out.join(member_name(dir)))?.lora.self_feed;
    }
    let info = AdapterInfo {
        lora: LoraConfig { self_feed: self_fed, ..cfg.clone() },
        base_sha256: file_sha256(&base_dir.join(ENSEMBLE_FILE))?,
        cells: cells.iter().map(Cell::key).collect(),
        losses: losses.clone(),
    };
    write_info(out, &info)?;
    Ok(losses)
}

/// [`load_adapted`] for one model, or for every member of an ensemble from its adapters.
pub fn load_adapted_any(base_dir: &Path, adapter_dir: &Path, device: &Device) -> Result<Vec<FadeModel>, TrainError> {
    let Some(members) = EnsembleInfo::member_dirs(base_dir)? else {
        return Ok(vec![load_adapted(base_dir, adapter_dir, device)?]);
    };
    let info = read_info(adapter_dir)?;
    if file_sha256(&base_dir.join(ENSEMBLE_FILE))? != info.base_sha256 {
        return Err(TrainError::Config(format!("{} was trained on another base than the ensemble {}", adapter_dir.display(), base_dir.display())));
    }
    members.iter().map(|dir| load_adapted(dir, &adapter_dir.join(member_name(dir)), device)).collect()
}

fn member_name(dir: &Path) -> String {
    dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Writes the adapter factors only.
pub fn save_adapters(model: &FadeModel, out: &Path) -> Result<(), TrainError> {
    std::fs::create_dir_all(out).map_err(|e| TrainError::Io(out.to_path_buf(), e))?;
    let path = out.join("adapter.safetensors");
    let mut store = SafetensorsStore::from_file(&path).with_regex(r"\.lora\.").overwrite(true);
    model.valid().save_into(&mut store).map_err(|e| TrainError::Store(format!("{}: {e}", path.display())))
}

/// The base model in `base_dir` with the adapters in `adapter_dir` applied (inference device).
pub fn load_adapted(base_dir: &Path, adapter_dir: &Path, device: &Device) -> Result<FadeModel, TrainError> {
    let info = read_info(adapter_dir)?;
    let base_path = base_dir.join("model.safetensors");
    if file_sha256(&base_path)? != info.base_sha256 {
        return Err(TrainError::Config(format!(
            "{} was trained on other base weights than {}",
            adapter_dir.display(),
            base_path.display()
        )));
    }
    let mut model = attach(load_weights(&read_model_config(base_dir)?, &base_path, device)?, &info.lora);
    let path = adapter_dir.join("adapter.safetensors");
    let mut store = SafetensorsStore::from_file(&path).with_regex(r"\.lora\.").allow_partial(true);
    let result = model.load_from(&mut store).map_err(|e| TrainError::Store(format!("{}: {e}", path.display())))?;
    if result.applied.is_empty() || !result.errors.is_empty() {
        return Err(TrainError::Store(format!("{}: no adapter loaded ({:?})", path.display(), result.errors)));
    }
    Ok(model)
}

/// Writes an adapter folder's `adapter.json` (atomically).
fn write_info(adapter_dir: &Path, info: &AdapterInfo) -> Result<(), TrainError> {
    let path = adapter_dir.join("adapter.json");
    let text = serde_json::to_string_pretty(info).expect("serialisable");
    fadecast::corpus::write_atomic(&path, text.as_bytes()).map_err(|e| TrainError::Io(path.clone(), e))
}

/// An adapter folder's `adapter.json`.
pub fn read_info(adapter_dir: &Path) -> Result<AdapterInfo, TrainError> {
    let path = adapter_dir.join("adapter.json");
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::Io(path.clone(), e))?;
    serde_json::from_str(&text).map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))
}

/// A model or run folder's `model.json`.
pub fn read_model_config(dir: &Path) -> Result<ModelConfig, TrainError> {
    let path = dir.join("model.json");
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::Io(path.clone(), e))?;
    let config: ModelConfig = serde_json::from_str(&text).map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))?;
    // A bad config would otherwise panic when the model is built from it.
    config.validate().map_err(|e| TrainError::Config(format!("{}: {e}", path.display())))?;
    Ok(config)
}
