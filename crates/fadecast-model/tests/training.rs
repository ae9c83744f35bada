//! Training and adaptation behave: the loss falls on a learnable fade curve, a killed run resumes
//! to the same weights, and LoRA leaves the base weights bit-identical.

mod common;

use burn::tensor::Device;
use fadecast_model::forecast::{load_weights, save_weights, ForecastConfig, Forecaster};
use fadecast_model::lora::{self, LoraConfig};
use fadecast_model::synthetic::SyntheticConfig;
use fadecast_model::train::{self_feed, train, DeepCellsConfig, TrainConfig, Trainer};
use fadecast_model::windows::{DescriptorScaler, Example, SplitMix64, WindowConfig, WindowSampler};

#[test]
fn loss_falls_on_a_synthetic_fade_curve() {
    let _serial = common::seeded();
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::tiny_train(8);
    let cells = common::synthetic_cells(4, 300);
    let history = train(&cells, &cells[..1], &cfg, dir.path(), false, |_| {}).unwrap();
    let (first, last) = (&history[0], &history[history.len() - 1]);
    assert!(
        last.forecast_loss < 0.6 * first.forecast_loss,
        "forecast loss {:.4} → {:.4}",
        first.forecast_loss,
        last.forecast_loss
    );
    assert!(last.contrastive_loss > 0.0, "the contrastive term took part");
    for name in ["config.json", "manifest.json", "log.jsonl", "model.json", "model.safetensors", "forecast.json"] {
        assert!(dir.path().join(name).is_file(), "{name} missing");
    }
    let saved: ForecastConfig = serde_json::from_str(&std::fs::read_to_string(dir.path().join("forecast.json")).unwrap()).unwrap();
    assert_eq!(saved, ForecastConfig::matching(&cfg.windows), "the run forecasts on its training grids");
    // The run directory is a loadable model.
    let f = Forecaster::load(dir.path(), ForecastConfig::default()).unwrap();
    let out = f.forecast_cell(&cells[0], 100, &[150.0]);
    assert!(out.values.iter().all(|v| v[0].is_finite()));
}

#[test]
fn a_resumed_run_ends_with_the_same_weights() {
    let _serial = common::seeded();
    let cfg = common::tiny_train(3);
    let cells = common::synthetic_cells(3, 200);
    let straight = tempfile::tempdir().unwrap();
    train(&cells, &[], &cfg, straight.path(), false, |_| {}).unwrap();

    // Same run, "killed" after epoch 2: its last checkpoint and log line are gone.
    let killed = tempfile::tempdir().unwrap();
    train(&cells, &[], &cfg, killed.path(), false, |_| {}).unwrap();
    std::fs::remove_dir_all(killed.path().join("checkpoints/epoch-0003")).unwrap();
    let mut resumed_epochs = Vec::new();
    let history = train(&cells, &[], &cfg, killed.path(), true, |s| resumed_epochs.push(s.epoch)).unwrap();
    assert!(resumed_epochs.iter().all(|&e| e == 3), "only epoch 3 reruns: {resumed_epochs:?}");
    assert_eq!(history.len(), 3);

    // (Compared by value: the SafeTensors header's metadata order is not fixed.)
    let weights = |dir: &std::path::Path| {
        let m = load_weights(&cfg.model, &dir.join("model.safetensors"), &Device::flex()).unwrap();
        common::snapshot(&m)
    };
    assert!(weights(straight.path()) == weights(killed.path()), "resumed weights differ from the uninterrupted run");

    // A changed config may not resume into the old run.
    let other = fadecast_model::train::TrainConfig { lr: 1e-2, ..cfg };
    assert!(train(&cells, &[], &other, killed.path(), true, |_| {}).is_err());
}

/// A run of `plain` (3 epochs), cut back to epoch 2 and continued with `later` — which differs
/// from it only from epoch 3 on — is what `later` trains from scratch, bit for bit; and `later`
/// does change the last epoch.
fn assert_a_change_from_epoch_3_continues_a_checkpoint_of_a_run_without_it(plain: &TrainConfig, later: &TrainConfig) {
    let _serial = common::seeded();
    let cells = common::synthetic_cells(3, 200);
    let weights = |dir: &std::path::Path| {
        let m = load_weights(&plain.model, &dir.join("model.safetensors"), &Device::flex()).unwrap();
        common::snapshot(&m)
    };

    let straight = tempfile::tempdir().unwrap();
    train(&cells, &[], later, straight.path(), false, |_| {}).unwrap();
    let without = tempfile::tempdir().unwrap();
    train(&cells, &[], plain, without.path(), false, |_| {}).unwrap();
    assert!(weights(straight.path()) != weights(without.path()), "the change did not change the last epoch");

    std::fs::remove_dir_all(without.path().join("checkpoints/epoch-0003")).unwrap();
    std::fs::write(without.path().join("config.json"), serde_json::to_string(later).unwrap()).unwrap();
    train(&cells, &[], later, without.path(), true, |_| {}).unwrap();
    assert!(weights(straight.path()) == weights(without.path()), "the continued run differs from the one trained with the change");
}

#[test]
fn self_feeding_from_a_later_epoch_continues_a_checkpoint_of_a_run_without_it() {
    let plain = common::tiny_train(3);
    let fed = TrainConfig { self_feed_prob: 0.5, self_feed_from_epoch: 3, ..plain.clone() };
    assert_a_change_from_epoch_3_continues_a_checkpoint_of_a_run_without_it(&plain, &fed);
}

#[test]
fn self_feeding_in_rounds_from_a_later_epoch_continues_a_checkpoint_of_a_run_without_it() {
    let plain = common::tiny_train(3);
    let fed = TrainConfig { self_feed_prob: 0.5, self_feed_from_epoch: 3, self_feed_rounds: 3, ..plain.clone() };
    assert_a_change_from_epoch_3_continues_a_checkpoint_of_a_run_without_it(&plain, &fed);
}

#[test]
fn self_feeding_feeds_back_the_same_forecasts_on_one_thread_as_on_several() {
    // The shipped model's shape: its batches are large enough for burn-flex to split matrix
    // products across threads, and self_feed splits the rows across threads itself.
    let _serial = common::seeded(); // the model's initial weights come from the device RNG
    let cfg = TrainConfig::default();
    let cells = common::synthetic_cells(8, 1500);
    let windows = WindowSampler::new(&cells, &cfg.model, &cfg.windows).sample_many(64, 7);
    let model = cfg.model.init(&Device::flex());
    let inputs = |examples: &[Example]| -> Vec<Vec<u32>> { examples.iter().map(|e| e.input.iter().map(|v| v.to_bits()).collect()).collect() };
    let fed = |threads: usize| {
        let mut examples: Vec<Example> = windows.iter().map(|w| w.example(&cfg.model)).collect();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut rows: Vec<&mut Example> = examples.iter_mut().collect();
            self_feed(&model, &mut rows, 0.5, 3, &mut SplitMix64::new(11));
        });
        inputs(&examples)
    };
    let one = fed(1);
    let untouched: Vec<Example> = windows.iter().map(|w| w.example(&cfg.model)).collect();
    assert_ne!(one, inputs(&untouched), "self-feeding replaced some inputs");
    assert_eq!(one, fed(2));
    assert_eq!(one, fed(3));
}

#[test]
fn synthetic_curves_from_a_later_epoch_continue_a_checkpoint_of_a_run_without_them() {
    // Epochs 1–2 draw and scale the corpus alone, as the run without them did.
    let plain = common::tiny_train(3);
    let mixed = TrainConfig { synthetic: SyntheticConfig { share: 0.3, cells: 8, from_epoch: 3, ..SyntheticConfig::default() }, ..plain.clone() };
    assert_a_change_from_epoch_3_continues_a_checkpoint_of_a_run_without_it(&plain, &mixed);
}

#[test]
fn drawing_deep_cells_more_from_a_later_epoch_continues_a_checkpoint_of_a_run_without_it() {
    // The three cells reach SOH 0.947, 0.951 and 0.954: at 0.95 the fastest fader is deep, the others not.
    let plain = common::tiny_train(3);
    let deep = DeepCellsConfig { share: 0.6, below_soh: 0.95, balance: 1.0, from_epoch: 3 };
    let more = TrainConfig { deep_cells: deep, ..plain.clone() };
    assert_a_change_from_epoch_3_continues_a_checkpoint_of_a_run_without_it(&plain, &more);
}

#[test]
fn a_deep_cell_share_or_balance_outside_its_range_is_a_config_error() {
    let bad = |deep: DeepCellsConfig| TrainConfig { deep_cells: deep, ..common::tiny_train(1) }.validate().unwrap_err();
    assert_eq!(bad(DeepCellsConfig { share: 1.0, ..DeepCellsConfig::default() }), "deep_cells.share must be in [0, 1), got 1");
    assert!(bad(DeepCellsConfig { below_soh: 0.0, ..DeepCellsConfig::default() }).contains("deep_cells.below_soh"));
    assert!(bad(DeepCellsConfig { balance: -0.5, ..DeepCellsConfig::default() }).contains("deep_cells.balance"));
}

#[test]
fn the_manifest_names_the_commit_the_code_was_built_from() {
    // build.rs records it when the crate is built; the tests are built from the same checkout.
    let head = std::process::Command::new("git").args(["rev-parse", "HEAD"]).output().ok().filter(|o| o.status.success());
    let revision = fadecast_model::train::git_revision();
    match head.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()) {
        Some(head) => assert!(revision == head || revision == format!("{head}-dirty"), "{revision} is not {head}"),
        None => assert_eq!(revision, "unknown"),
    }
}

#[test]
fn no_rounds_of_self_feeding_is_a_config_error() {
    let cfg = TrainConfig { self_feed_rounds: 0, ..common::tiny_train(1) };
    assert_eq!(cfg.validate().unwrap_err(), "self_feed_rounds must be at least 1");
}

#[test]
fn a_self_feed_chance_outside_zero_to_one_is_a_config_error() {
    let cfg = TrainConfig { self_feed_prob: 1.5, ..common::tiny_train(1) };
    let err = cfg.validate().unwrap_err();
    assert!(err.contains("self_feed_prob"), "{err}");
}

#[test]
fn lora_leaves_the_base_weights_bit_identical() {
    let _serial = common::seeded();
    let cfg = common::tiny_train(1);
    let cells = common::synthetic_cells(3, 200);
    let device = Device::flex().autodiff();
    device.seed(21);
    let base = cfg.model.init(&device);
    let before = common::snapshot(&base);

    let lora_cfg = LoraConfig { rank: 2, ..LoraConfig::default() };
    let mut model = lora::attach(base, &lora_cfg);
    let sampler = WindowSampler::new(&cells, &cfg.model, &cfg.windows);
    let windows = sampler.sample_many(96, 1);
    let scaler = DescriptorScaler::fit(&windows);
    let mut trainer = Trainer::new(&cfg, device).unwrap();
    for chunk in windows.chunks(32) {
        model = trainer.step(model, chunk, Some(&scaler), &cfg).0;
    }

    let after = common::snapshot(&model);
    let (adapters, rest): (Vec<_>, Vec<_>) = after.into_iter().partition(|(name, _)| name.contains(".lora."));
    assert_eq!(rest, before, "a base weight changed");
    assert!(!adapters.is_empty());
    let moved = adapters.iter().filter(|(n, bits)| n.ends_with(".b") && bits.iter().any(|&b| f32::from_bits(b) != 0.0));
    assert!(moved.count() > 0, "the adapters did not train");
}

#[test]
fn finetuned_adapters_load_beside_an_untouched_base() {
    let _serial = common::seeded();
    let cfg = common::tiny_train(1);
    let cells = common::synthetic_cells(3, 200);
    let base_dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    device.seed(5);
    let base = cfg.model.init(&device);
    save_weights(&base, &base_dir.path().join("model.safetensors")).unwrap();
    std::fs::write(base_dir.path().join("model.json"), serde_json::to_string(&cfg.model).unwrap()).unwrap();
    let base_bytes = std::fs::read(base_dir.path().join("model.safetensors")).unwrap();

    let adapter_dir = tempfile::tempdir().unwrap();
    let lora_cfg = LoraConfig { rank: 2, epochs: 2, windows_per_epoch: 64, batch_size: 32, ..LoraConfig::default() };
    let mut steps = Vec::new();
    let losses = lora::finetune(base_dir.path(), &cells, &lora_cfg, adapter_dir.path(), &mut |done, total| steps.push((done, total))).unwrap();
    assert_eq!(losses.len(), 2);
    // Two epochs of 64 windows in batches of 32: four steps, each reported.
    assert_eq!(steps, [(1, 4), (2, 4), (3, 4), (4, 4)]);
    assert_eq!(std::fs::read(base_dir.path().join("model.safetensors")).unwrap(), base_bytes);

    let adapted = lora::load_adapted(base_dir.path(), adapter_dir.path(), &device).unwrap();
    let (adapters, rest): (Vec<_>, Vec<_>) =
        common::snapshot(&adapted).into_iter().partition(|(name, _)| name.contains(".lora."));
    assert_eq!(rest, common::snapshot(&base));
    assert!(!adapters.is_empty());
    let at = [150.0, 250.0];
    let a = Forecaster::new(base, ForecastConfig::default()).forecast_cell(&cells[0], 120, &at);
    let b = Forecaster::new(adapted, ForecastConfig::default()).forecast_cell(&cells[0], 120, &at);
    assert_ne!(a.values, b.values, "the adapters change the forecast");
}

#[test]
fn finetuning_self_feeds_as_the_base_was_trained_and_records_whether_it_did() {
    let _serial = common::seeded();
    let mut cfg = common::tiny_train(1);
    let cells = common::synthetic_cells(3, 200);
    let base_dir = tempfile::tempdir().unwrap();
    let device = Device::flex();
    device.seed(5);
    save_weights(&cfg.model.init(&device), &base_dir.path().join("model.safetensors")).unwrap();
    std::fs::write(base_dir.path().join("model.json"), serde_json::to_string(&cfg.model).unwrap()).unwrap();
    let fed = LoraConfig { rank: 2, epochs: 1, windows_per_epoch: 64, batch_size: 32, ..LoraConfig::default() };
    assert!(fed.self_feed, "self-feeding is the default");
    let plain = LoraConfig { self_feed: false, ..fed.clone() };
    let run = |lora_cfg: &LoraConfig| {
        let out = tempfile::tempdir().unwrap();
        let losses = lora::finetune(base_dir.path(), &cells, lora_cfg, out.path(), &mut |_, _| {}).unwrap();
        let info: lora::AdapterInfo = serde_json::from_str(&std::fs::read_to_string(out.path().join("adapter.json")).unwrap()).unwrap();
        (losses, info.lora.self_feed)
    };

    // No run config beside the base, or one trained without self-feeding: nothing to follow.
    assert_eq!(run(&fed), run(&plain));
    assert!(!run(&fed).1);
    std::fs::write(base_dir.path().join("config.json"), serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(run(&fed), run(&plain));

    // A self-fed base: the same windows and seed train differently when self-fed.
    cfg.self_feed_prob = 1.0;
    cfg.self_feed_rounds = 2;
    std::fs::write(base_dir.path().join("config.json"), serde_json::to_string(&cfg).unwrap()).unwrap();
    let (fed_losses, fed_flag) = run(&fed);
    let (plain_losses, plain_flag) = run(&plain);
    assert!(fed_flag && !plain_flag);
    assert!(fed_losses[0].is_finite());
    assert_ne!(fed_losses, plain_losses, "self-feeding changed nothing");
}

#[test]
fn base_windows_are_read_from_the_base_run_config_and_default_without_one() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(lora::base_windows(dir.path()).unwrap(), WindowConfig::default());
    let mut cfg = common::tiny_train(1);
    cfg.windows.whole_history_prob = 0.7;
    cfg.windows.checkup_refine = vec![1, 2];
    std::fs::write(dir.path().join("config.json"), serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(lora::base_windows(dir.path()).unwrap(), cfg.windows);
    std::fs::write(dir.path().join("config.json"), "{ not json").unwrap();
    let err = lora::base_windows(dir.path()).unwrap_err().to_string();
    assert!(err.contains("config.json"), "{err}");
}

#[test]
fn a_spacing_jitter_below_one_is_a_config_error_before_anything_is_written() {
    let mut cfg = common::tiny_train(1);
    cfg.windows.spacing_jitter = 0.5;
    let out = tempfile::tempdir().unwrap();
    let run = out.path().join("run");
    let err = train(&common::synthetic_cells(2, 200), &[], &cfg, &run, false, |_| {}).unwrap_err();
    assert!(err.to_string().contains("spacing_jitter must be between 1 (off) and 100, got 0.5"), "{err}");
    assert!(!run.exists(), "no run folder for a rejected config");
}
