//! Forecast throughput benchmark (driven by `bench/run.sh`; not part of the product).
//!
//! ```text
//! # write the benchmark cells: every corpus cell's first 20 % of span, repeated up to N cells
//! bench_forecast make-cells --corpus out/corpus --cells 10000 --out out/bench/cells.csv
//! # forecast them to end of life with the shipped weights; one JSON line of figures on stdout
//! bench_forecast run --model models/default --cells out/bench/cells.csv --batch 64 \
//!     --out out/bench/forecasts_rust.json --write 200 [--dtype f64]
//! ```
//!
//! `run` forecasts with `Forecaster::forecast_many` (`--batch 1`: one cell per forward pass, on
//! one thread, the unbatched path). Threads come from `RAYON_NUM_THREADS`. `--dtype f64` casts the
//! model to float64 (the product forecasts in float32) for the round-off-free comparison with the
//! PyTorch reference.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use fadecast::data::Observation;
use burn::tensor::FloatDType;
use fadecast_model::forecast::{ForecastConfig, Forecaster, Request};

mod shared;

fn main() {
    let flags = shared::Flags::from_env();
    let flag = |name: &str, default: &str| flags.get(name, default);
    match flags.first() {
        Some("make-cells") => make_cells(flag("--corpus", "out/corpus").into(), flag("--cells", "10000").parse().expect("--cells N"), flag("--out", "out/bench/cells.csv").into()),
        Some("run") => run(
            flag("--model", "models/default").into(),
            flag("--cells", "out/bench/cells.csv").into(),
            flag("--batch", "64").parse().expect("--batch N"),
            flag("--out", "").into(),
            flag("--write", "200").parse().expect("--write N"),
            match flag("--dtype", "f32").as_str() {
                "f32" => FloatDType::F32,
                "f64" => FloatDType::F64,
                other => panic!("--dtype f32|f64, not {other}"),
            },
        ),
        _ => {
            eprintln!("usage: bench_forecast make-cells|run [flags] (see the source's header)");
            std::process::exit(2);
        }
    }
}

fn make_cells(corpus: PathBuf, n: usize, out: PathBuf) {
    let cells = fadecast::corpus::store::read_corpus(&corpus).expect("reading the corpus");
    let mut text = String::from("cell,observation,cycle,soh\n");
    for k in 0..n {
        let cell = &cells[k % cells.len()];
        let obs = match cell.meta.observation {
            Observation::PerCycle => "per_cycle",
            Observation::CheckUp => "check_up",
        };
        let context = fadecast::eval::tasks::context_len(cell, 0.2);
        for c in &cell.cycles[..context] {
            // `{:?}` prints the shortest text that reads back to the same f64.
            text.push_str(&format!("{}#{},{obs},{:?},{:?}\n", cell.key(), k / cells.len(), c.cycle, c.soh));
        }
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).expect("creating the output folder");
    }
    fadecast::corpus::write_atomic(&out, text.as_bytes()).expect("writing the cells");
    eprintln!("wrote {} cells to {}", n, out.display());
}

struct History {
    key: String,
    observation: Observation,
    cycles: Vec<f64>,
    soh: Vec<f64>,
}

fn read_cells(path: &PathBuf) -> Vec<History> {
    let text = std::fs::read_to_string(path).expect("reading the cells");
    let mut cells: Vec<History> = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if cells.last().is_none_or(|c| c.key != f[0]) {
            let observation = if f[1] == "check_up" { Observation::CheckUp } else { Observation::PerCycle };
            cells.push(History { key: f[0].to_string(), observation, cycles: Vec::new(), soh: Vec::new() });
        }
        let c = cells.last_mut().expect("pushed");
        c.cycles.push(f[2].parse().expect("cycle"));
        c.soh.push(f[3].parse().expect("soh"));
    }
    cells
}

fn run(model: PathBuf, cells_path: PathBuf, batch: usize, out: PathBuf, write: usize, dtype: FloatDType) {
    // Tensors made inside burn's layers (the rotary sign matrix) take the device's default type.
    let mut device = fadecast_model::Device::flex();
    device.configure(dtype).expect("setting the device's float type before any tensor exists");
    let config: ForecastConfig = serde_json::from_str(&std::fs::read_to_string(model.join("forecast.json")).expect("forecast.json"))
        .expect("forecast.json parses");
    let mut forecaster = Forecaster::load(&model, config).expect("loading the model");
    forecaster.batch_cells = batch.max(1);
    forecaster.models = forecaster.models.into_iter().map(|m| m.cast(dtype)).collect();
    let cells = read_cells(&cells_path);
    let requests: Vec<Request> = cells
        .iter()
        .map(|c| Request { cycles: &c.cycles, soh: &c.soh, observation: c.observation, at: &[] })
        .collect();

    let started = Instant::now();
    let forecasts = if batch <= 1 {
        // The unbatched reference: one cell at a time.
        requests.iter().map(|r| forecaster.forecast(r.cycles, r.soh, r.observation, r.at)).collect()
    } else {
        forecaster.forecast_many(&requests)
    };
    let seconds = started.elapsed().as_secs_f64();
    let steps: usize = forecasts.iter().map(|f| f.grid.len()).sum();

    if !out.as_os_str().is_empty() {
        let list: Vec<serde_json::Value> = cells
            .iter()
            .zip(&forecasts)
            .take(write)
            .map(|(c, f)| serde_json::json!({"cell": c.key, "forecast": f}))
            .collect();
        let text = serde_json::to_string(&serde_json::json!({ "cells": list })).expect("serialisable");
        fadecast::corpus::write_atomic(&out, text.as_bytes()).expect("writing the forecasts");
    }
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    let figures: BTreeMap<&str, serde_json::Value> = BTreeMap::from([
        ("cells", cells.len().into()),
        ("seconds", seconds.into()),
        ("cells_per_s", (cells.len() as f64 / seconds).into()),
        ("grid_points", steps.into()),
        ("batch", batch.into()),
        ("threads", threads.into()),
    ]);
    println!("{}", serde_json::to_string(&figures).expect("serialisable"));
}
