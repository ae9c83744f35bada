//! Shared helpers for the model tests: a tiny config and synthetic fade curves.
#![allow(dead_code)]

use burn::store::{bridge, ModuleSnapshot};
use fadecast::data::{Cell, CellMeta, Cycle, Observation};
use fadecast::N_DESCRIPTORS;
use fadecast_model::forecast::Request;
use fadecast_model::model::{FadeModel, ModelConfig};
use fadecast_model::train::TrainConfig;
use fadecast_model::windows::WindowConfig;

/// A model small enough to train in a second.
pub fn tiny_model() -> ModelConfig {
    ModelConfig {
        patch_len: 4,
        d_model: 16,
        n_layers: 2,
        n_heads: 2,
        d_ff: 32,
        max_context_patches: 6,
        max_positions: 128,
        quantiles: vec![0.1, 0.5, 0.9],
        min_scale: 0.01,
        d_proj: 8,
        age_channel: true,
        output_patches: 1,
    }
}

pub fn tiny_train(epochs: usize) -> TrainConfig {
    TrainConfig {
        model: tiny_model(),
        windows: WindowConfig { checkup_subdivide: 2, strides: vec![1, 2], short_window_prob: 0.3, checkup_refine: vec![1], ..WindowConfig::default() },
        seed: 3,
        epochs,
        windows_per_epoch: 128,
        batch_size: 32,
        lr: 3e-3,
        min_lr: 1e-4,
        warmup_steps: 4,
        scaler_windows: 256,
        val_windows: 32,
        ..TrainConfig::default()
    }
}

/// A smooth fade curve: linear loss plus an accelerating knee, with a small deterministic ripple.
pub fn fade(c: f64, life: f64) -> f64 {
    let x = c / life;
    1.0 - 0.08 * x - 0.14 * x.powi(4) + 0.002 * (c * 0.7).sin()
}

/// A per-cycle cell whose life and descriptors depend on `temp`: hotter cells fade faster and
/// charge faster, so the descriptors carry information about the fade.
pub fn synthetic_cell(id: usize, temp: f64, n_cycles: usize) -> Cell {
    let life = 400.0 - 4.0 * (temp - 25.0);
    let cycles = (1..=n_cycles)
        .map(|c| {
            let c = c as f64;
            let mut descriptors = [None; N_DESCRIPTORS];
            descriptors[0] = Some(3600.0 - 10.0 * temp + c * 0.5);
            descriptors[7] = Some(temp + 0.01 * c);
            Cycle { cycle: c, capacity_ah: Some(fade(c, life) * 2.0), soh: fade(c, life), descriptors }
        })
        .collect();
    Cell {
        meta: CellMeta {
            dataset: "SYNTH".into(),
            cell_id: format!("c{id}"),
            temperature_c: Some(temp),
            charge_c_rate: Some(1.0),
            nominal_capacity_ah: Some(2.0),
            observation: Observation::PerCycle,
            ..CellMeta::default()
        },
        cycles,
    }
}

pub fn synthetic_cells(n: usize, n_cycles: usize) -> Vec<Cell> {
    (0..n).map(|i| synthetic_cell(i, 20.0 + 5.0 * i as f64, n_cycles)).collect()
}

/// Every tensor of a model, by path, as raw bits (for bit-identity checks).
pub fn snapshot(model: &FadeModel) -> Vec<(String, Vec<u32>)> {
    let mut out: Vec<(String, Vec<u32>)> = model
        .collect(None, None, false)
        .iter()
        .map(|t| {
            let data = bridge::to_data(t).expect("tensor data");
            let bits = data.convert::<f32>().try_to_vec::<f32>().expect("f32").iter().map(|v| v.to_bits()).collect();
            (t.name.clone(), bits)
        })
        .collect();
    out.sort();
    out
}

/// The device RNG is process-wide: tests that seed it and then draw from it hold this lock, so a
/// test running beside them cannot take numbers out of their sequence.
pub fn seeded() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A history to forecast from: cycles, SOH, and the cycles asked for.
pub type History = (Vec<f64>, Vec<f64>, Vec<f64>);

/// Cell i's first `origins[i]` observations, asked about at `horizon(i, origin)`.
pub fn histories(cells: &[Cell], origins: &[usize], horizon: impl Fn(usize, usize) -> f64) -> Vec<History> {
    cells
        .iter()
        .zip(origins)
        .enumerate()
        .map(|(i, (c, &n))| {
            let h = &c.cycles[..n];
            (h.iter().map(|o| o.cycle).collect(), h.iter().map(|o| o.soh).collect(), vec![horizon(i, n)])
        })
        .collect()
}

/// Per-cycle forecast requests over `histories`.
pub fn requests(histories: &[History]) -> Vec<Request<'_>> {
    histories.iter().map(|(cycles, soh, at)| Request { cycles, soh, observation: Observation::PerCycle, at }).collect()
}
