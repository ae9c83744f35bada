//! Training-step benchmark (driven by `bench/run.sh`; not part of the product).
//!
//! ```text
//! bench_train_step --corpus out/corpus --steps 20 --out out/bench
//! ```
//!
//! Draws one batch of `batch_size` windows (default config) from the corpus and times `--steps`
//! optimisation steps on it — forward, quantile + contrastive loss, backward, per-parameter
//! clipping, AdamW at a constant learning rate — exactly the work of one step of `fadecast train`
//! once its windows are drawn. The first step is a warm-up and is not timed. Writes the initial
//! weights (`train_init.safetensors`) and the batch with the losses it saw (`train_batch.json`) so
//! the PyTorch reference can run the same steps. One JSON line of figures on stdout.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use burn::module::Module;
use fadecast_model::train::{make_shards, shard_gradients, TrainConfig, Trainer};
use fadecast_model::windows::{DescriptorScaler, Example, WindowSampler};
use fadecast_model::Device;

mod shared;

fn main() {
    let flags = shared::Flags::from_env();
    let flag = |name: &str, default: &str| flags.get(name, default);
    let corpus = PathBuf::from(flag("--corpus", "out/corpus"));
    let steps: usize = flag("--steps", "20").parse().expect("--steps N");
    let out = PathBuf::from(flag("--out", "out/bench"));
    let cfg = TrainConfig::default();

    let cells = fadecast::corpus::read_corpus(&corpus).expect("reading the corpus");
    let sampler = WindowSampler::new(&cells, &cfg.model, &cfg.windows);
    let scaler = DescriptorScaler::fit(&sampler.sample_many(cfg.scaler_windows, cfg.seed ^ 1));
    let windows = sampler.sample_many(cfg.batch_size, cfg.seed);
    let shards = make_shards(&windows, Some(&scaler), &cfg);

    let device = Device::flex().autodiff();
    device.seed(cfg.seed);
    let mut model = cfg.model.init(&device);
    std::fs::create_dir_all(&out).expect("creating the output folder");
    fadecast_model::forecast::save_weights(&model.valid(), &out.join("train_init.safetensors")).expect("saving the weights");
    let mut trainer = Trainer::new(&cfg, device.clone()).expect("optimizer");

    let (mut losses, mut timed) = (Vec::new(), 0.0);
    for step in 0..steps.max(2) {
        let started = Instant::now();
        let (grads, loss) = shard_gradients(&model, &shards, &cfg, &device);
        losses.push(loss.loss);
        model = trainer.optim.step(cfg.lr, model, grads);
        if step > 0 {
            timed += started.elapsed().as_secs_f64();
        }
    }
    // The batch as one piece for the reference: the shards' examples in order, and their
    // contrastive plans as one block-diagonal plan (a window is compared within its shard).
    let examples: Vec<&Example> = shards.iter().flat_map(|s| &s.examples).collect();
    let b = examples.len();
    let (mut positive, mut negative, mut anchors, mut offset) = (vec![0f32; b * b], vec![0f32; b * b], 0, 0);
    for shard in &shards {
        let plan = shard.plan.as_ref().expect("the default config has the contrastive term");
        for i in 0..plan.size {
            for j in 0..plan.size {
                positive[(offset + i) * b + offset + j] = plan.positive[i * plan.size + j];
                negative[(offset + i) * b + offset + j] = plan.negative[i * plan.size + j];
            }
        }
        anchors += plan.anchors;
        offset += plan.size;
    }
    let flat = |f: &dyn Fn(&Example) -> Vec<f32>| -> Vec<f32> { examples.iter().flat_map(|e| f(e)).collect() };
    let mask: Vec<f32> = examples.iter().flat_map(|e| e.loss_mask(cfg.model.max_context_patches)).collect();
    let batch = serde_json::json!({
        "config": cfg,
        "input": flat(&|e| e.input.clone()),
        "side": flat(&|e| e.side.iter().flatten().copied().collect()),
        "target": flat(&|e| e.target.clone()),
        "mask": mask,
        "valid": examples.iter().map(|e| e.valid).collect::<Vec<_>>(),
        "positive": positive,
        "negative": negative,
        "anchors": anchors,
        "batch_size": b,
        "lr": cfg.lr,
        "steps": losses.len(),
        "losses": losses,
    });
    fadecast::corpus::write_atomic(&out.join("train_batch.json"), batch.to_string().as_bytes()).expect("writing the batch");
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    let figures: BTreeMap<&str, serde_json::Value> = BTreeMap::from([
        ("steps", (losses.len() - 1).into()),
        ("seconds_per_step", (timed / (losses.len() - 1) as f64).into()),
        ("batch", b.into()),
        ("threads", threads.into()),
        ("first_loss", losses[0].into()),
        ("last_loss", losses[losses.len() - 1].into()),
    ]);
    println!("{}", serde_json::to_string(&figures).expect("serialisable"));
}
