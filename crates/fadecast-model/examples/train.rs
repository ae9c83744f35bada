//! Trains the model on a corpus until the CLI's `fadecast train` exists:
//!
//! ```text
//! cargo run --release -p fadecast-model --example train -- \
//!     --corpus out/corpus --split splits/v1.json --config train.json --out runs/full [--resume]
//! ```
//!
//! `--split` is the evaluator's split file: training uses its `train` cells, validation its `val`
//! cells (unseen datasets are in neither). Without it every cell is used: benchmarking only.
//! Without `--config` the defaults of `TrainConfig` apply (`--print-config` shows them).

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use fadecast::data::Cell;
use fadecast_model::train::{train, TrainConfig};

fn split_ids(path: &PathBuf, split: &str) -> HashSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).expect("split file is JSON");
    let mut keys = HashSet::new();
    for (dataset, splits) in json["datasets"].as_object().expect("`datasets` object") {
        for id in splits[split].as_array().into_iter().flatten() {
            keys.insert(format!("{dataset}/{}", id.as_str().expect("cell id")));
        }
    }
    keys
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).map(|i| PathBuf::from(&args[i + 1]));
    let config = match value("--config") {
        Some(p) => TrainConfig::read(&p).unwrap_or_else(|e| panic!("{e}")),
        None => TrainConfig::default(),
    };
    if args.iter().any(|a| a == "--print-config") {
        println!("{}", serde_json::to_string_pretty(&config).unwrap());
        return;
    }
    let corpus = value("--corpus").expect("--corpus DIR");
    let out = value("--out").expect("--out RUN_DIR");
    let cells = fadecast::corpus::read_corpus(&corpus).unwrap_or_else(|e| panic!("{e}"));
    let (train_cells, val_cells): (Vec<Cell>, Vec<Cell>) = match value("--split") {
        Some(split) => {
            let (t, v) = (split_ids(&split, "train"), split_ids(&split, "val"));
            (
                cells.iter().filter(|c| t.contains(&c.key())).cloned().collect(),
                cells.iter().filter(|c| v.contains(&c.key())).cloned().collect(),
            )
        }
        None => {
            eprintln!("warning: no --split, training on every cell (benchmark only)");
            (cells, Vec::new())
        }
    };
    eprintln!("{} training cells, {} validation cells", train_cells.len(), val_cells.len());

    let started = Instant::now();
    let mut last = Instant::now();
    let history = train(&train_cells, &val_cells, &config, &out, args.iter().any(|a| a == "--resume"), |s| {
        if s.step_in_epoch % 10 == 0 || s.step_in_epoch == s.steps_per_epoch {
            let per_step = last.elapsed().as_secs_f64() / if s.step_in_epoch % 10 == 0 { 10.0 } else { (s.step_in_epoch % 10) as f64 };
            last = Instant::now();
            eprintln!(
                "epoch {} step {}/{}  loss {:.4} (forecast {:.4}, contrastive {:.4})  lr {:.2e}  {:.3} s/step",
                s.epoch, s.step_in_epoch, s.steps_per_epoch, s.loss, s.forecast_loss, s.contrastive_loss, s.lr, per_step
            );
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    for r in &history {
        println!("{}", serde_json::to_string(r).unwrap());
    }
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());
}
