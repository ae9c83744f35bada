//! Finding and loading the universal model: `--model default` (the shipped weights), a run or
//! model directory, and `--adapter` (LoRA adapters from `fadecast finetune`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use fadecast::data::Cell;
use fadecast::import::any::{load_path, LoadOptions};
use fadecast_model::forecast::{ForecastConfig, Forecaster, ENSEMBLE_FILE};

/// The name of the shipped weights.
pub const DEFAULT_MODEL: &str = "default";

/// Where the shipped weights are looked for, in order: `$FADECAST_MODELS/default`,
/// `models/default` under the working directory, beside the executable (or up to three folders
/// above it: `target/release/fadecast` in a checkout), and the source tree it was built from.
fn default_candidates() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(env) = std::env::var_os("FADECAST_MODELS") {
        dirs.push(PathBuf::from(env).join(DEFAULT_MODEL));
    }
    dirs.push(PathBuf::from("models").join(DEFAULT_MODEL));
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(1).take(4) {
            dirs.push(up.join("models").join(DEFAULT_MODEL));
        }
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models").join(DEFAULT_MODEL));
    dirs
}

/// One model (`model.json` + `model.safetensors`) or an ensemble of them (`ensemble.json`).
fn is_model_dir(dir: &Path) -> bool {
    (dir.join("model.json").is_file() && dir.join("model.safetensors").is_file()) || dir.join(ENSEMBLE_FILE).is_file()
}

/// Whether `--model NAME` names the universal model (the shipped weights or a directory).
pub fn is_model(name: &str) -> bool {
    name == DEFAULT_MODEL || Path::new(name).is_dir()
}

/// The directory holding `model.json` + `model.safetensors` for `--model NAME`.
pub fn resolve(name: &str) -> anyhow::Result<PathBuf> {
    if name == DEFAULT_MODEL {
        let tried = default_candidates();
        return match tried.iter().find(|d| is_model_dir(d)) {
            Some(d) => Ok(d.clone()),
            None => bail!(
                "the shipped weights (models/default) were not found; looked in: {} (set FADECAST_MODELS to the folder holding default/)",
                tried.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
        };
    }
    let dir = PathBuf::from(name);
    if !is_model_dir(&dir) {
        bail!("{}: not a model directory (it needs model.json and model.safetensors, as `fadecast train --out` writes, or an ensemble.json naming such directories)", dir.display());
    }
    Ok(dir)
}

/// `--interval-scale`, `--disagreement-weight` and `--trend-weight`: the band's calibration and the
/// trend blend, instead of the model's own (its forecast.json). Shared by `forecast` and `eval`.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct BandArgs {
    /// Widen (>1) or narrow (<1) the p10–p90 bands about the median by this factor (default: the
    /// model's own `interval_scale`, chosen with `scripts/calibrate_intervals.sh`; see
    /// models/README.md).
    #[arg(long, value_name = "FACTOR")]
    pub interval_scale: Option<f64>,
    /// Ensembles: how much the members' disagreement widens the band (default: the model's own
    /// `disagreement_weight`; 1 = the variance of their mixture, 0 = their own bands alone).
    #[arg(long, value_name = "WEIGHT")]
    pub disagreement_weight: Option<f64>,
    /// Blend the median with a straight line through the last quarter of the history: 0 = the
    /// model alone, 1 = the line alone; the band keeps the model's width about it (default: the
    /// model's own `trend_weight`; see models/README.md).
    #[arg(long, value_name = "WEIGHT")]
    pub trend_weight: Option<f64>,
    /// With the trend blend: only lower the median towards the line, where the line lies below
    /// it; never raise it (default: the model's own `trend_below_only`).
    #[arg(long)]
    pub trend_below_only: bool,
}

impl BandArgs {
    pub fn any(&self) -> bool {
        self.interval_scale.is_some() || self.disagreement_weight.is_some() || self.trend_weight.is_some() || self.trend_below_only
    }
}

/// The rollout settings saved beside the weights (`forecast.json`, calibrated when the model was
/// shipped), else the defaults; the caller's end-of-life threshold always wins, and so do its
/// band and trend settings (`--interval-scale`, `--disagreement-weight`, `--trend-weight`) when given.
pub fn forecast_config(dir: &Path, eol_threshold: f64, bands: BandArgs) -> anyhow::Result<ForecastConfig> {
    let path = dir.join("forecast.json");
    let mut config: ForecastConfig = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).with_context(|| format!("{}: not a forecast config", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ForecastConfig::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    config.validate().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    config.eol_threshold = eol_threshold;
    if let Some(scale) = bands.interval_scale {
        config.interval_scale = scale;
        config.validate().map_err(anyhow::Error::msg).context("--interval-scale")?;
    }
    if let Some(weight) = bands.disagreement_weight {
        config.disagreement_weight = weight;
        config.validate().map_err(anyhow::Error::msg).context("--disagreement-weight")?;
    }
    if let Some(weight) = bands.trend_weight {
        config.trend_weight = weight;
        config.validate().map_err(anyhow::Error::msg).context("--trend-weight")?;
    }
    config.trend_below_only |= bands.trend_below_only;
    Ok(config)
}

/// Loads `--model NAME` with `--adapter DIR` applied when given, ready to forecast.
pub fn load(name: &str, adapter: Option<&Path>, eol_threshold: f64, bands: BandArgs) -> anyhow::Result<Forecaster> {
    let dir = resolve(name)?;
    let config = forecast_config(&dir, eol_threshold, bands)?;
    let forecaster = match adapter {
        None => Forecaster::load(&dir, config).map_err(anyhow::Error::msg)?,
        Some(a) => {
            let models = fadecast_model::lora::load_adapted_any(&dir, a, &burn_device()).map_err(anyhow::Error::msg)?;
            Forecaster::ensemble(models, config)
        }
    };
    let label = match adapter {
        None if name == DEFAULT_MODEL => "universal".to_string(),
        None => format!("universal:{}", dir.file_name().map_or(name.into(), |f| f.to_string_lossy().into_owned())),
        Some(a) => format!("universal+lora:{}", a.file_name().map_or(a.display().to_string(), |f| f.to_string_lossy().into_owned())),
    };
    Ok(forecaster.with_name(&label))
}

fn burn_device() -> fadecast_model::Device {
    fadecast_model::Device::flex()
}

/// A file of the user's folder that could not be read: its path and why.
pub type Unreadable = (PathBuf, String);

/// The cells of a user's file or folder (`--data` / `--input`), with a clear error when none.
/// A folder's files that could not be read are each warned of and returned beside the cells,
/// so a forecast of the rest never hides them.
pub fn load_cells(path: &Path, opts: &LoadOptions) -> anyhow::Result<(Vec<Cell>, Vec<Unreadable>)> {
    let loaded = load_path(path, opts).with_context(|| format!("reading {}", path.display()))?;
    let unreadable: Vec<Unreadable> = loaded.unreadable().map(|(p, why)| (p.to_path_buf(), why.to_string())).collect();
    for (_, why) in &unreadable {
        tracing::warn!("left out, could not be read: {why}");
    }
    let cells = loaded.into_cells();
    if cells.is_empty() {
        bail!("{}: no cell with capacity data was found", path.display());
    }
    Ok((cells, unreadable))
}
