//! `fadecast train`: pretrain the universal model on the train cells of the seen datasets (the
//! evaluator's split file decides which), validating on its val cells.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use fadecast::data::Cell;
use fadecast::eval::split::{Split, SplitFile};
use fadecast_model::train::{train, TrainConfig};

#[derive(clap::Args)]
#[command(after_help = "The run folder gets, beside the weights (model.json + model.safetensors, updated every
epoch): config.json (the full config, defaults filled in), manifest.json (every training cell,
a SHA-256 of the data, the git revision, the descriptor scaler), run.json (the command line and
split file), log.jsonl (losses per epoch) and checkpoints/epoch-NNNN/ (weights + optimizer
state). A killed run continues from its last checkpoint with the same command plus --resume.

Examples:
  fadecast train --print-config > train.json
  fadecast train --corpus out/corpus --config train.json --out runs/full
  fadecast train --corpus out/corpus --config train.json --out runs/full --resume
  fadecast train --corpus out/corpus --config train.json --dataset HUST --out runs/hust-only
  fadecast train --corpus out/corpus --config configs/train-default.json --seed 7 --out runs/seed-7")]
pub struct Args {
    /// Corpus folder written by `fadecast corpus build`.
    #[arg(long, required_unless_present = "print_config")]
    corpus: Option<PathBuf>,
    /// Training config (JSON; missing fields take their defaults). Without it: the defaults.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run folder: weights, checkpoints, config, manifest, logs.
    #[arg(long, required_unless_present = "print_config")]
    out: Option<PathBuf>,
    /// Continue after the newest complete checkpoint in --out (the config must be the same).
    #[arg(long)]
    resume: bool,
    /// The evaluator's split file: train cells train, val cells validate, unseen datasets are never read.
    #[arg(long, default_value = "splits/v1.json")]
    split_file: PathBuf,
    /// Train on these seen datasets only (repeatable): the per-dataset ablation. Synthetic
    /// curves (`synthetic.share` in the config) are then left out too.
    #[arg(long, value_name = "NAME")]
    dataset: Vec<String>,
    /// The run's seed, replacing the config's (saved in the run's config.json): the members of
    /// an ensemble are one config trained from several seeds.
    #[arg(long)]
    seed: Option<u64>,
    /// Print the config (defaults, or --config with defaults filled in) as JSON and exit.
    #[arg(long)]
    print_config: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let mut config = match &a.config {
        Some(p) => TrainConfig::read(p).map_err(anyhow::Error::msg)?,
        None => TrainConfig::default(),
    };
    if let Some(seed) = a.seed {
        config.seed = seed;
    }
    if a.print_config {
        println!("{}", serde_json::to_string_pretty(&config)?);
        return Ok(());
    }
    let (corpus, out) = (a.corpus.as_deref().expect("clap requires it"), a.out.as_deref().expect("clap requires it"));
    let cells = fadecast::corpus::read_corpus(corpus).with_context(|| format!("reading corpus {}", corpus.display()))?;
    let split = SplitFile::read(&a.split_file).map_err(anyhow::Error::msg).context("reading the split file")?;
    let splits = split.splits_of(&cells).map_err(anyhow::Error::msg)?;
    for d in &a.dataset {
        if !split.datasets.contains_key(d) || split.unseen_datasets.contains(d) {
            bail!("--dataset {d}: not a seen dataset of {} (unseen datasets are never trained on)", a.split_file.display());
        }
    }
    if !a.dataset.is_empty() && config.synthetic.share > 0.0 {
        // The per-dataset ablation is that dataset's cells alone: no synthetic curves either.
        eprintln!("--dataset: synthetic curves off (synthetic.share {} → 0)", config.synthetic.share);
        config.synthetic.share = 0.0;
    }
    let wanted = |c: &Cell| a.dataset.is_empty() || a.dataset.contains(&c.meta.dataset);
    let pick = |s: Split| -> Vec<Cell> {
        cells.iter().zip(&splits).filter(|(c, k)| **k == s && wanted(c)).map(|(c, _)| c.clone()).collect()
    };
    let (train_cells, val_cells) = (pick(Split::Train), pick(Split::Val));
    if train_cells.is_empty() {
        bail!("no training cells selected");
    }
    eprintln!(
        "training on {} cells ({} validation) from {} datasets; {} epochs × {} steps of batch {}",
        train_cells.len(),
        val_cells.len(),
        train_cells.iter().map(|c| c.meta.dataset.as_str()).collect::<std::collections::BTreeSet<_>>().len(),
        config.epochs,
        config.steps_per_epoch(),
        config.batch_size
    );

    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let run_info = serde_json::json!({
        "command": std::env::args().collect::<Vec<_>>(),
        "split_file": a.split_file,
        "split_version": split.version,
        "datasets": if a.dataset.is_empty() { serde_json::Value::Null } else { serde_json::json!(a.dataset) },
        "train_cells": train_cells.len(),
        "val_cells": val_cells.len(),
    });
    fadecast::corpus::write_atomic(&out.join("run.json"), serde_json::to_string_pretty(&run_info)?.as_bytes())?;

    let total = (config.epochs * config.steps_per_epoch()) as u64;
    let pb = super::util::progress(total, "training");
    let history = train(&train_cells, &val_cells, &config, out, a.resume, |s| {
        pb.set_position(s.global_step as u64);
        pb.set_message(format!("epoch {}/{} loss {:.4}", s.epoch, config.epochs, s.loss));
        // Without a terminal (a run in the background, CI) the bar is hidden: log each epoch instead.
        if s.step_in_epoch == s.steps_per_epoch && !std::io::stderr().is_terminal() {
            eprintln!("epoch {}/{} done: last step loss {:.4} (forecast {:.4}, contrastive {:.4})", s.epoch, config.epochs, s.loss, s.forecast_loss, s.contrastive_loss);
        }
    })
    .map_err(anyhow::Error::msg)?;
    pb.finish_and_clear();
    for r in &history {
        let val = r.val_forecast_loss.map_or("–".into(), |v| format!("{v:.4}"));
        eprintln!(
            "epoch {:>3}: loss {:.4} (forecast {:.4}, contrastive {:.4}), val forecast {val}, {:.0} s",
            r.epoch, r.loss, r.forecast_loss, r.contrastive_loss, r.seconds
        );
    }
    eprintln!("wrote {} (evaluate with: fadecast eval --corpus {} --model {})", out.display(), corpus.display(), out.display());
    Ok(())
}
