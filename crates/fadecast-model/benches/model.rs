//! Hot paths of inference: patching + normalisation, one forward pass, a rollout to end of life.
//! `cargo bench -p fadecast-model` (criterion keeps the last run and reports the change).
//! The model benches use the shipped weights (`models/default`).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fadecast::data::Observation;
use fadecast_model::forecast::{ForecastConfig, Forecaster, Request};
use fadecast_model::model::{input_tensors, side_channels, SeriesNorm, N_SIDE};
use fadecast_model::Device;

fn shipped() -> Forecaster {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/default");
    let config: ForecastConfig = serde_json::from_str(&std::fs::read_to_string(dir.join("forecast.json")).expect("models/default/forecast.json"))
        .expect("forecast.json parses");
    Forecaster::load(&dir, config).expect("the shipped weights load")
}

/// A smooth synthetic fade with a knee (per cycle), `n` cycles long.
fn history(n: usize, life: f64) -> (Vec<f64>, Vec<f64>) {
    let cycles: Vec<f64> = (1..=n).map(|c| c as f64).collect();
    let soh = cycles.iter().map(|c| 1.0 - 0.08 * c / life - 0.14 * (c / life).powi(4)).collect();
    (cycles, soh)
}

fn patching(c: &mut Criterion) {
    // 64 contexts of 32 patches × 16 points: normalise, side channels, tensors.
    let (p, n, b) = (16, 32, 64);
    let contexts: Vec<Vec<f64>> = (0..b).map(|i| history(n * p, 800.0 + 10.0 * i as f64).1).collect();
    let device = Device::flex();
    c.bench_function("patching_normalisation/64x32x16", |bench| {
        bench.iter(|| {
            let mut z = Vec::with_capacity(b);
            let mut side = Vec::with_capacity(b);
            for ctx in &contexts {
                let norm = SeriesNorm::from_context(ctx, 0.01);
                z.push(ctx.iter().map(|&v| norm.normalise(v) as f32).collect::<Vec<f32>>());
                side.push((0..n).map(|t| side_channels(1.0, &norm, Some((t * p) as f64))).collect::<Vec<[f32; N_SIDE]>>());
            }
            input_tensors(&z, &side, p, &device, burn::tensor::DType::F32)
        })
    });
}

fn forward(c: &mut Criterion) {
    let f = shipped();
    let (p, n) = (f.model().config.patch_len, f.model().config.max_context_patches);
    let device = Device::flex();
    let mut group = c.benchmark_group("forward");
    for b in [1usize, 64] {
        let z: Vec<Vec<f32>> = (0..b).map(|i| (0..n * p).map(|k| ((k + i) as f32 * 0.01).sin()).collect()).collect();
        let side: Vec<Vec<[f32; N_SIDE]>> = (0..b).map(|_| vec![[0.0, 0.1, -0.2, 0.5]; n]).collect();
        group.throughput(Throughput::Elements(b as u64));
        group.bench_with_input(BenchmarkId::new("batch", b), &b, |bench, _| {
            bench.iter(|| {
                let (x, s) = input_tensors(&z, &side, p, &device, burn::tensor::DType::F32);
                f.model().forward(x, s).quantiles.into_data()
            })
        });
    }
    group.finish();
}

fn rollout(c: &mut Criterion) {
    let f = shipped();
    let cells: Vec<(Vec<f64>, Vec<f64>)> = (0..64).map(|i| history(150 + 5 * i, 900.0 + 20.0 * i as f64)).collect();
    let requests: Vec<Request> =
        cells.iter().map(|(cycles, soh)| Request { cycles, soh, observation: Observation::PerCycle, at: &[] }).collect();
    let mut group = c.benchmark_group("rollout_to_eol");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));
    group.bench_function("one_cell", |bench| bench.iter(|| f.forecast_many(&requests[..1])));
    group.throughput(Throughput::Elements(requests.len() as u64));
    group.bench_function("64_cells_batched", |bench| bench.iter(|| f.forecast_many(&requests)));
    group.finish();
}

criterion_group!(benches, patching, forward, rollout);
criterion_main!(benches);
