//! A measured probe, not shipped (models/README.md, *Adapting on the histories being forecast*):
//! LoRA adapters trained on the forecast cells' own histories up to their origins, then the same
//! cells forecast with them.
//!
//! For each dataset named: its cells in the split, each cut at the `early` task's origin (the
//! context the evaluator hands a forecaster, nothing after it), renamed so they are not the scored
//! cells; rank-4 adapters for every member of the shipped model, trained on those cut histories
//! with the windows the members were trained on; then the `early` task scored on the dataset's
//! cells with the shipped model as it is and with the adapters.
//!
//!   cargo run --release --example context_adaptation -- SPLIT DATASET[,DATASET...] [EPOCHS] [LR]
//!   (SPLIT: test, val or unseen; EPOCHS 10 and LR 3e-3 by default; needs out/corpus)

use std::path::Path;

use fadecast::eval::split::is_unseen_dataset;
use fadecast::eval::tasks::{context_len, EARLY_FRACTION};
use fadecast::eval::{evaluate, MetricsReport, Selected, Selection, Split, SplitFile, Task};
use fadecast_model::forecast::{ForecastConfig, Forecaster};
use fadecast_model::lora::{finetune_any, load_adapted_any, LoraConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: context_adaptation SPLIT DATASET[,DATASET...] [EPOCHS] [LR]";
    let (Some(split_name), Some(datasets)) = (args.first(), args.get(1)) else { return Err(usage.into()) };
    let selection = Selection::parse(split_name).ok_or(usage)?;
    let epochs: usize = args.get(2).map_or(Ok(10), |s| s.parse())?;
    let lr: f64 = args.get(3).map_or(Ok(3e-3), |s| s.parse())?;

    let cells = fadecast::corpus::read_corpus(Path::new("out/corpus"))?;
    let splits = SplitFile::read(Path::new("splits/v1.json"))?.splits_of(&cells)?;
    let base = Path::new("models/default");
    let config: ForecastConfig = serde_json::from_str(&std::fs::read_to_string(base.join("forecast.json"))?)?;
    // Teacher-forced, as measured at stop 24 (before self-fed adapters became finetune's default).
    let lora = LoraConfig { epochs, lr, windows_per_epoch: 1024, base_windows: true, self_feed: false, ..LoraConfig::default() };
    let shipped = Forecaster::load(base, config.clone())?;

    for dataset in datasets.split(',') {
        // Every other dataset's cells count as training cells, which no selection scores.
        let kept: Vec<Split> =
            cells.iter().zip(&splits).map(|(c, s)| if c.meta.dataset == dataset { *s } else { Split::Train }).collect();
        let histories: Vec<_> = cells
            .iter()
            .zip(&kept)
            .filter(|(_, s)| selection.includes(**s))
            .map(|(c, _)| {
                let mut h = c.clone();
                h.cycles.truncate(context_len(c, EARLY_FRACTION));
                h.meta.cell_id = format!("{}@origin", c.meta.cell_id);
                h
            })
            .collect();
        let out = Path::new("out/context-adaptation").join(dataset);
        let losses = finetune_any(base, &histories, &lora, &out, &mut |_, _| {})?;

        let sel = Selected {
            cells: &cells,
            splits: &kept,
            selection,
            split_name: split_name.clone(),
            split_version: None,
            seen: &|d| !is_unseen_dataset(d),
        };
        let adapted = Forecaster::ensemble(load_adapted_any(base, &out, &fadecast_model::Device::flex())?, config.clone());
        let before = evaluate(&shipped, &sel, Task::Early)?.report;
        let after = evaluate(&adapted, &sel, Task::Early)?.report;
        println!(
            "{dataset} ({} cells, adapter loss {:.3} → {:.3}): shipped {} | adapted {}",
            histories.len(),
            losses.first().unwrap_or(&f64::NAN),
            losses.last().unwrap_or(&f64::NAN),
            summary(&before),
            summary(&after)
        );
    }
    Ok(())
}

fn summary(r: &MetricsReport) -> String {
    let Some(m) = &r.macro_all else { return "no window".into() };
    let coverage = m.coverage_p10_p90.map_or("–".into(), |c| format!("{:.0} %", 100.0 * c));
    format!("RMSE {:.2}, bias {:+.2}, p10–p90 coverage {coverage}", m.rmse, m.bias.unwrap_or(f64::NAN))
}
