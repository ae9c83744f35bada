//! `fadecast eval`: score a forecaster on the corpus's test / unseen cells or on your own data,
//! compare runs, list the models, and write the versioned split file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use fadecast::data::Cell;
use fadecast::eval::baselines::{self, TrainData, BASELINES};
use fadecast::eval::perturb::Perturbation;
use fadecast::eval::split::{is_unseen_dataset, Split, SplitFile};
use fadecast::eval::{evaluate, report, Selected, Selection, Task};
use std::collections::HashSet;

use super::model::DEFAULT_MODEL;

#[derive(clap::Args)]
#[command(after_help = "Examples:
  fadecast eval --corpus out/corpus --task early --split test --out out/eval/universal-early-test
  fadecast eval --corpus out/corpus --model gp --task early --split test --out out/eval/gp-early-test
  fadecast eval --corpus out/corpus --task first --context-cycles 20 --split test --out out/eval/universal-first20-test
  fadecast eval --corpus out/corpus --model linear --data my_cells.csv --out out/eval/mine
  fadecast eval --compare out/eval/a/metrics.json out/eval/b/metrics.json
  fadecast eval --list-models --json
  fadecast eval --corpus out/corpus --write-split splits/v1.json")]
pub struct Args {
    /// Corpus folder written by `fadecast corpus build` (cells are scored by the split file;
    /// baselines that tune or train use its train / val cells).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Score on your own data instead (any file or folder `fadecast import` reads); every cell is
    /// a test cell from an unseen dataset.
    #[arg(long, value_name = "FILE_OR_DIR")]
    data: Option<PathBuf>,
    /// With --data: how its files are read.
    #[command(flatten)]
    input: super::util::InputArgs,
    /// `default` (the shipped universal model), a run folder from `fadecast train`, or a
    /// baseline name (see --list-models).
    #[arg(long, default_value = "default", value_name = "NAME_OR_CHECKPOINT")]
    model: String,
    /// LoRA adapters from `fadecast finetune` (universal model only). The cells the adapters were
    /// trained on are left out of the score.
    #[arg(long, value_name = "ADAPTER_DIR")]
    adapter: Option<PathBuf>,
    // Universal model only (`scripts/calibrate_intervals.sh` scores a few to choose them).
    #[command(flatten)]
    bands: super::model::BandArgs,
    /// Score only these datasets (repeatable).
    #[arg(long, value_name = "NAME")]
    dataset: Vec<String>,
    /// Leave these cells out of the score: DATASET/CELL_ID, comma-separated, or @FILE (one per line).
    #[arg(long, value_name = "KEYS")]
    exclude_cells: Option<String>,
    /// early: the first 20 % of each cell's observed span as context; rolling: origins at 40, 60
    /// and 80 %; eol: the end-of-life cycle from the first 100 cycles (or --context-cycles); first:
    /// the trajectory from the first --context-cycles cycles (how good a forecast is that early in
    /// a test). Every later observation is scored (see `fadecast::eval::tasks`).
    #[arg(long, default_value = "early", value_parser = ["early", "rolling", "eol", "first"])]
    task: String,
    /// With --task first or eol: the context is the observations before the cell's first cycle +
    /// this many (at least 3 observations; shorter cells are left out and counted). Default 100.
    #[arg(long, value_name = "CYCLES", value_parser = clap::value_parser!(u32).range(1..))]
    context_cycles: Option<u32>,
    /// Cells to score: test (seen datasets), unseen (held-out datasets), all (both), or val (the
    /// seen datasets' validation cells: for choosing settings, never for reporting).
    #[arg(long, default_value = "test", value_parser = ["test", "unseen", "all", "val"])]
    split: String,
    /// Robustness probe: add this to every scored cell's SOH, context and truth alike (e.g. 0.02:
    /// SOH referred to a capacity 2 % smaller). A model that reads only the curve's shape scores
    /// the same; see `fadecast::eval::perturb`.
    #[arg(long, default_value_t = 0.0, value_name = "SOH", allow_negative_numbers = true)]
    shift_soh: f64,
    /// Robustness probe: multiply every scored cell's cycle numbers by this (e.g. 2: the same
    /// fade over twice the cycles; `eol` errors are then in stretched cycles).
    #[arg(long, default_value_t = 1.0, value_name = "FACTOR")]
    scale_cycles: f64,
    /// Output folder for metrics.json, report.md and plots (replaced atomically).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The versioned split file.
    #[arg(long, default_value = "splits/v1.json")]
    split_file: PathBuf,
    /// Print a side-by-side Markdown table of two or more metrics.json files.
    #[arg(long, num_args = 2.., value_name = "METRICS_JSON")]
    compare: Vec<PathBuf>,
    /// List the models --model accepts.
    #[arg(long)]
    list_models: bool,
    /// With --list-models: print JSON.
    #[arg(long)]
    json: bool,
    /// Assign every corpus cell to a split by the version-1 rule and write the split file here.
    #[arg(long, value_name = "PATH")]
    write_split: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if a.list_models {
        return list_models(a.json);
    }
    if !a.compare.is_empty() {
        let reports = a.compare.iter().map(|p| report::read(p)).collect::<Result<Vec<_>, _>>().map_err(anyhow::Error::msg)?;
        let from = if a.compare.len() <= 4 {
            a.compare.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", ")
        } else {
            format!("{} metrics.json files", a.compare.len())
        };
        println!("Generated by `fadecast eval --compare` from {from}.\n");
        print!("{}", report::compare_markdown(&reports));
        return Ok(());
    }
    if let Some(path) = &a.write_split {
        return write_split(a.corpus.as_deref(), path);
    }
    score(a)
}

const MODEL_DESCRIPTION: &str = "the universal Timer-style transformer, shipped weights (models/default, an ensemble of three seeds); a run or ensemble folder also works";

fn list_models(json: bool) -> anyhow::Result<()> {
    let all = std::iter::once((DEFAULT_MODEL, "model", MODEL_DESCRIPTION)).chain(BASELINES.iter().map(|(n, d)| (*n, "baseline", *d)));
    if json {
        let v: Vec<serde_json::Value> =
            all.map(|(n, k, d)| serde_json::json!({"name": n, "kind": k, "description": d})).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for (n, k, d) in all {
            println!("{n:<12} {k:<9} {d}");
        }
    }
    Ok(())
}

/// `--exclude-cells`: keys given inline (comma-separated) or in a file (`@FILE`, one per line).
fn exclusion_keys(spec: Option<&str>) -> anyhow::Result<HashSet<String>> {
    let Some(spec) = spec else { return Ok(HashSet::new()) };
    let text = match spec.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("--exclude-cells: reading {path}"))?,
        None => spec.replace(',', "\n"),
    };
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect())
}

fn write_split(corpus: Option<&Path>, path: &Path) -> anyhow::Result<()> {
    let corpus = corpus.context("--write-split needs --corpus (the cells to assign)")?;
    let cells = fadecast::corpus::read_corpus(corpus).with_context(|| format!("reading corpus {}", corpus.display()))?;
    let split = SplitFile::assign(&cells);
    fadecast::corpus::write_atomic(path, split.to_json().as_bytes()).with_context(|| format!("writing {}", path.display()))?;
    let mut counts = std::collections::BTreeMap::<Split, usize>::new();
    for s in split.datasets.values() {
        for (k, ids) in s {
            *counts.entry(*k).or_default() += ids.len();
        }
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{} {n}", k.name())).collect();
    eprintln!("wrote {} (version {}; {} datasets; cells: {})", path.display(), split.version, split.datasets.len(), parts.join(", "));
    Ok(())
}

fn score(a: Args) -> anyhow::Result<()> {
    let model = a.model.as_str();
    let out = a.out.as_deref().context("--out is required: the folder for metrics.json, report.md and plots")?;
    let task = match (Task::parse(&a.task).expect("clap checked the task"), a.context_cycles) {
        (Task::First(_), Some(n)) => Task::First(n),
        (Task::Eol(_), Some(n)) => Task::Eol(n),
        (t, None) => t,
        (_, Some(_)) => bail!("--context-cycles goes with --task first or eol (the {} task's origin moves with each cell's life)", a.task),
    };
    let universal = super::model::is_model(model);
    if !baselines::is_baseline(model) && !universal {
        if Path::new(model).exists() {
            bail!("{model}: not a model directory (it needs model.json and model.safetensors, as `fadecast train --out` writes)");
        }
        let names: Vec<&str> = BASELINES.iter().map(|(n, _)| *n).collect();
        bail!("unknown model `{model}`: give `default`, a run folder from `fadecast train`, or a baseline: {}", names.join(", "));
    }
    if a.adapter.is_some() && !universal {
        bail!("--adapter applies to the universal model only, not to the baseline `{model}`");
    }
    if a.bands.any() && !universal {
        bail!("--interval-scale, --disagreement-weight, --trend-weight and --trend-below-only apply to the universal model only, not to the baseline `{model}`");
    }
    let mut excluded = exclusion_keys(a.exclude_cells.as_deref())?;
    if let Some(dir) = &a.adapter {
        excluded.extend(adapter_cells(dir)?);
    }

    // The corpus and its split: for scoring (without --data) and for tuning / training.
    let corpus = match &a.corpus {
        Some(dir) => {
            let cells = fadecast::corpus::read_corpus(dir).with_context(|| format!("reading corpus {}", dir.display()))?;
            let split = SplitFile::read(&a.split_file).map_err(anyhow::Error::msg).context("reading the split file (write one with --write-split)")?;
            let splits = split.splits_of(&cells).map_err(anyhow::Error::msg)?;
            Some((cells, splits, split.version))
        }
        None => None,
    };
    let train = corpus.as_ref().map(|(cells, splits, _)| TrainData { cells, splits });
    let probe = Perturbation { soh_shift: a.shift_soh, cycle_scale: a.scale_cycles };
    probe.validate().map_err(anyhow::Error::msg).context("--shift-soh / --scale-cycles")?;
    let forecaster: Box<dyn fadecast::eval::Forecaster> = if universal {
        Box::new(super::model::load(model, a.adapter.as_deref(), fadecast::eval::tasks::EOL_THRESHOLD, a.bands)?)
    } else {
        tracing::info!("fitting {model}");
        baselines::build(model, train.as_ref()).map_err(anyhow::Error::msg)?
    };

    let mut scored = if let Some(path) = &a.data {
        let (cells, unreadable) = super::model::load_cells(path, &a.input.load_options(None)?)?;
        let cells: Vec<_> = cells.into_iter().filter(|c| !excluded.contains(&c.key())).collect();
        let cells = probe.apply_all(&cells);
        let splits = vec![Split::Test; cells.len()];
        let sel = Selected {
            cells: &cells,
            splits: &splits,
            selection: Selection::All,
            split_name: "data".into(),
            split_version: None,
            seen: &|_| false,
        };
        let mut scored = evaluate(forecaster.as_ref(), &sel, task).map_err(anyhow::Error::msg)?;
        scored.report.unreadable_files = unreadable
            .into_iter()
            .map(|(path, error)| fadecast::eval::run::UnreadableFile { path: path.display().to_string(), error })
            .collect();
        scored
    } else {
        let Some((cells, splits, version)) = &corpus else { bail!("give --corpus DIR (or --data FILE_OR_DIR) to score on") };
        // Only the scored cells are perturbed: baselines tune and train on the corpus as it is.
        let cells = &probe.apply_all(cells);
        let selection = Selection::parse(&a.split).expect("clap checked the split");
        // Excluded cells are kept out by marking them as training cells, which no selection scores.
        let wanted = |c: &Cell| a.dataset.is_empty() || a.dataset.contains(&c.meta.dataset);
        let kept: Vec<Split> = cells
            .iter()
            .zip(splits)
            .map(|(c, s)| if excluded.contains(&c.key()) || !wanted(c) { Split::Train } else { *s })
            .collect();
        let splits = &kept;
        let sel = Selected {
            cells,
            splits,
            selection,
            split_name: selection.name().into(),
            split_version: Some(*version),
            seen: &|d| !is_unseen_dataset(d),
        };
        evaluate(forecaster.as_ref(), &sel, task).map_err(anyhow::Error::msg)?
    };
    if !probe.is_identity() {
        scored.report.perturbation = Some(probe);
    }
    if scored.report.n_windows == 0 {
        bail!("no cell has a `{}` window in the selection (too short, or none reaches EOL)", task.label());
    }
    report::write(out, &scored).map_err(anyhow::Error::msg)?;
    let r = &scored.report;
    if let Some(m) = &r.macro_all {
        let cov = m.coverage_p10_p90.map_or("–".into(), |c| format!("{:.0} %", 100.0 * c));
        let probe = r.perturbation.map_or(String::new(), |p| format!(" [{}]", p.describe()));
        let bias = m.bias.map_or("–".into(), |b| format!("{b:+.3}"));
        println!(
            "{} {} {}{probe}: {} datasets, {} cells; macro MAE {:.3}, RMSE {:.3}, bias {bias} ({}), MAPE {:.2} %, p10–p90 coverage {cov}",
            r.model, r.task, r.split, m.n_datasets, m.n_cells, m.mae, m.rmse, r.units.rmse, m.mape
        );
    }
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// The cells an adapter was trained on (from its `adapter.json`).
fn adapter_cells(dir: &Path) -> anyhow::Result<Vec<String>> {
    Ok(fadecast_model::lora::read_info(dir).map_err(anyhow::Error::msg)?.cells)
}
