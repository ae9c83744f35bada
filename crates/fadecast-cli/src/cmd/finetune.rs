//! `fadecast finetune`: LoRA adapters for the universal model, trained on a user's own cells
//! (any importable file or folder) or on chosen corpus cells; the base weights stay frozen.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use fadecast::data::Cell;
use fadecast::import::cyclers::Format;
use fadecast_model::forecast::EnsembleInfo;
use fadecast_model::lora::{finetune_any, read_info, LoraConfig};

#[derive(clap::Args)]
#[command(after_help = "The adapter folder holds adapter.safetensors (the low-rank factors only) and adapter.json
(rank, alpha, training settings, the SHA-256 of the base weights, the cells it saw, the loss per
epoch). For an ensemble base (the shipped model is one) every member gets its own adapters, in
a sub-folder named as the member. Apply it with --adapter on `fadecast forecast` and `fadecast
eval`; `eval` then leaves the adapter's own cells out of the score.

Choose cells that span the conditions of the cells you will forecast (temperatures, C-rates):
adapted members agree with each other even about conditions none of them saw, so the band does
not widen there. On TBSI_Sunwoda, adapters on one cell per test temperature forecast the other
cells with p10–p90 coverage 89 %; four cells all at 35 °C gave 61 %, 9 % on the 55 °C cells
(models/README.md, *LoRA*). Adapt where the zero-shot forecast is weak and on several cells:
adapting to a dataset whose cells it already forecast well, or on two cells, made it worse.
Check with `fadecast eval --data HELD_BACK --adapter DIR`.

Examples:
  fadecast finetune --data my_cells.csv --out adapters/mine
  fadecast finetune --base default --data exports/ --out adapters/fleet --rank 8
  fadecast finetune --corpus out/corpus --cells Oxford/Cell1,Oxford/Cell2 --out adapters/oxford")]
pub struct Args {
    /// The base model: `default` (the shipped weights) or a run folder from `fadecast train`.
    #[arg(long, default_value = "default", value_name = "CHECKPOINT")]
    base: String,
    /// Your cells: any file or folder `fadecast import` reads.
    #[arg(long, value_name = "FILE_OR_DIR", conflicts_with = "corpus")]
    data: Option<PathBuf>,
    /// Or cells from a corpus folder (with --cells).
    #[arg(long, requires = "cells")]
    corpus: Option<PathBuf>,
    /// With --corpus: the cells to train on, as DATASET/CELL_ID, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "KEYS")]
    cells: Vec<String>,
    /// Read --data as this format instead of detecting it.
    #[arg(long, value_name = "F", value_parser = |s: &str| s.parse::<Format>())]
    format: Option<Format>,
    #[command(flatten)]
    input: super::util::InputArgs,
    /// Adapter folder to write.
    #[arg(long, value_name = "ADAPTER_DIR")]
    out: PathBuf,
    /// LoRA rank.
    #[arg(long, default_value_t = LoraConfig::default().rank)]
    rank: usize,
    /// Training epochs.
    #[arg(long, default_value_t = LoraConfig::default().epochs)]
    epochs: usize,
    /// Learning rate.
    #[arg(long, default_value_t = LoraConfig::default().lr)]
    lr: f64,
    #[arg(long, default_value_t = LoraConfig::default().seed)]
    seed: u64,
    /// Train on the windows the base model was trained on (its run's config.json: whole-history
    /// grids among them) instead of the default fixed-stride windows.
    #[arg(long)]
    base_windows: bool,
    /// Self-feed training windows as the base's last epochs did (its config.json; the shipped
    /// model's were): some windows read the model's own median forecast after their context. The
    /// default; with the shipped model about 1.3x the time of --no-self-feed (MATR: 47 s, 37 s).
    #[arg(long, overrides_with = "no_self_feed")]
    self_feed: bool,
    /// Train teacher-forced only: every window reads the truth after its context.
    #[arg(long, overrides_with = "self_feed")]
    no_self_feed: bool,
    /// Print the training summary as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let cells: Vec<Cell> = match (&a.data, &a.corpus) {
        (Some(path), _) => super::model::load_cells(path, &a.input.load_options(a.format)?)?.0,
        (None, Some(corpus)) => {
            let all = fadecast::corpus::read_corpus(corpus).with_context(|| format!("reading corpus {}", corpus.display()))?;
            let mut picked = Vec::new();
            for key in &a.cells {
                match all.iter().find(|c| &c.key() == key) {
                    Some(c) => picked.push(c.clone()),
                    None => bail!("--cells: {key} is not in {} (keys are DATASET/CELL_ID)", corpus.display()),
                }
            }
            picked
        }
        (None, None) => bail!("give --data FILE_OR_DIR (your cells) or --corpus DIR --cells KEYS"),
    };
    if a.rank == 0 {
        bail!("--rank must be at least 1");
    }
    let base = super::model::resolve(&a.base)?;
    let cfg = LoraConfig { rank: a.rank, alpha: 2.0 * a.rank as f64, epochs: a.epochs, lr: a.lr, seed: a.seed, base_windows: a.base_windows, self_feed: a.self_feed || !a.no_self_feed, ..LoraConfig::default() };
    eprintln!("fine-tuning rank-{} adapters on {} cells (base {})", cfg.rank, cells.len(), base.display());
    // Training steps, every member's (finetune reports the exact count with each step).
    let members = EnsembleInfo::member_dirs(&base).map_err(anyhow::Error::msg)?.map_or(1, |m| m.len());
    let pb = super::util::progress((members * cfg.steps_per_model()) as u64, &format!("fine-tuning ({} epochs)", cfg.epochs));
    pb.enable_steady_tick(std::time::Duration::from_millis(200));
    // Adapters are written to a temporary folder and renamed: a killed run leaves no half adapter.
    let tmp = a.out.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    let mut on_step = |done: usize, total: usize| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
    };
    let losses = finetune_any(&base, &cells, &cfg, &tmp, &mut on_step).map_err(anyhow::Error::msg)?;
    pb.finish_and_clear();
    if a.out.exists() {
        std::fs::remove_dir_all(&a.out).with_context(|| format!("replacing {}", a.out.display()))?;
    }
    std::fs::rename(&tmp, &a.out).with_context(|| format!("writing {}", a.out.display()))?;
    if a.json {
        let keys: Vec<String> = cells.iter().map(Cell::key).collect();
        // The settings as trained (adapter.json says whether windows were in fact self-fed).
        let settings = read_info(&a.out).map_err(anyhow::Error::msg)?.lora;
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"adapter": a.out, "base": base, "cells": keys, "settings": settings, "losses": losses}))?);
    } else {
        for (i, l) in losses.iter().enumerate() {
            eprintln!("epoch {}: loss {l:.4}", i + 1);
        }
        eprintln!("wrote {}", a.out.display());
    }
    Ok(())
}
