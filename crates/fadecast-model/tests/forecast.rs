//! The model's contract at inference: causal, cache-consistent, reproducible from saved weights,
//! and blind to everything after the forecast origin.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use fadecast_model::forecast::{load_weights, save_weights, Feedback, ForecastConfig, Forecaster};
use fadecast_model::model::{input_tensors, side_channels, FadeModel, ModelConfig, SeriesNorm, N_SIDE};
use fadecast_model::windows::{WindowConfig, WindowSampler};

fn tiny(seed: u64) -> FadeModel {
    tiny_m(seed, 1)
}

/// A tiny model predicting `m` patches per position.
fn tiny_m(seed: u64, m: usize) -> FadeModel {
    let device = Device::flex();
    device.seed(seed);
    ModelConfig { output_patches: m, ..common::tiny_model() }.init(&device)
}

fn inputs(n: usize, shift_patch: Option<usize>) -> (Tensor<3>, Tensor<3>) {
    let p = common::tiny_model().patch_len;
    let values: Vec<f32> = (0..n * p)
        .map(|i| (i as f32 * 0.37).sin() + if shift_patch == Some(i / p) { 3.0 } else { 0.0 })
        .collect();
    let side: Vec<f32> = (0..n * N_SIDE).map(|i| (i as f32 * 0.11).cos()).collect();
    let device = Device::flex();
    (
        Tensor::from_data(TensorData::new(values, [1, n, p]), &device),
        Tensor::from_data(TensorData::new(side, [1, n, N_SIDE]), &device),
    )
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

#[test]
fn a_position_never_sees_later_patches() {
    let _serial = common::seeded();
    let model = tiny(1);
    let (x, s) = inputs(5, None);
    let (x2, s2) = inputs(5, Some(3));
    let a = model.forward(x, s).quantiles; // [1, 5, P, Q]
    let b = model.forward(x2, s2).quantiles;
    for t in 0..5 {
        let (ua, ub) = (to_vec(a.clone().narrow(1, t, 1)), to_vec(b.clone().narrow(1, t, 1)));
        if t < 3 {
            assert_eq!(ua, ub, "position {t} changed when patch 3 did");
        } else {
            assert_ne!(ua, ub, "position {t} ignores patch 3");
        }
    }
}

#[test]
fn quantiles_never_cross() {
    let _serial = common::seeded();
    let model = tiny(2);
    let (x, s) = inputs(5, None);
    let q = to_vec(model.forward(x, s).quantiles);
    for level in q.chunks(3) {
        assert!(level[0] <= level[1] && level[1] <= level[2], "{level:?}");
    }
}

#[test]
fn the_kv_cache_and_the_last_position_head_give_the_full_pass_outputs() {
    let _serial = common::seeded();
    let model = tiny(3);
    let (x, s) = inputs(5, None);
    let full = to_vec(model.forward(x.clone(), s.clone()).quantiles.narrow(1, 4, 1));
    let mut cache = model.new_cache();
    model.forward_cached(x.clone().narrow(1, 0, 2), s.clone().narrow(1, 0, 2), Some(&mut cache));
    model.forward_cached(x.clone().narrow(1, 2, 2), s.clone().narrow(1, 2, 2), Some(&mut cache));
    let last = to_vec(model.forward_cached(x.clone().narrow(1, 4, 1), s.clone().narrow(1, 4, 1), Some(&mut cache)).quantiles);
    for (a, b) in full.iter().zip(&last) {
        assert!((a - b).abs() < 1e-5, "cached {b} vs full {a}");
    }
    // The rollout's variant, which runs the head on the last new position only, extends the
    // cache alike and gives that position's outputs.
    let all = model.forward(x.clone(), s.clone()).quantiles;
    let mut cache = model.new_cache();
    let first = model.forward_last(x.clone().narrow(1, 0, 2), s.clone().narrow(1, 0, 2), &mut cache);
    let second = model.forward_last(x.clone().narrow(1, 2, 2), s.clone().narrow(1, 2, 2), &mut cache);
    let third = model.forward_last(x.narrow(1, 4, 1), s.narrow(1, 4, 1), &mut cache);
    for (position, got) in [(1, first), (3, second), (4, third)] {
        assert_eq!(got.dims()[1], 1);
        for (a, b) in to_vec(all.clone().narrow(1, position, 1)).iter().zip(&to_vec(got)) {
            assert!((a - b).abs() < 1e-5, "position {position}: last-only {b} vs full {a}");
        }
    }
}

#[test]
fn forecasting_never_reads_past_the_origin() {
    let _serial = common::seeded();
    for (m, trend_weight, smooth_patches) in [(1, 0.0, false), (3, 0.0, false), (1, 0.5, false), (3, 0.0, true)] {
        let forecaster = Forecaster::new(tiny_m(4, m), ForecastConfig { trend_weight, smooth_patches, ..ForecastConfig::default() });
        let cell = common::synthetic_cell(0, 30.0, 200);
        let mut altered = cell.clone();
        for c in &mut altered.cycles[60..] {
            c.soh = 0.1; // a future nothing may peek at
        }
        let at: Vec<f64> = (61..=200).step_by(10).map(f64::from).collect();
        let a = forecaster.forecast_cell(&cell, 60, &at);
        let b = forecaster.forecast_cell(&altered, 60, &at);
        assert_eq!(a, b);
        assert_eq!(a.origin, 60.0);
        assert!(a.grid.iter().all(|&c| c > a.origin), "the rollout starts after the origin");
    }
}

#[test]
fn each_rollout_step_takes_the_next_m_patches_the_model_predicts() {
    let _serial = common::seeded();
    let cfg = ForecastConfig { strides: vec![1], ..ForecastConfig::default() };
    let cell = common::synthetic_cell(2, 30.0, 200);
    // 24 cycles at spacing 1 are exactly the 6 patches of 4 the tiny model reads: the context is
    // the observations themselves.
    let n = 24;
    let history: Vec<f64> = cell.cycles[..n].iter().map(|c| c.soh).collect();
    for m in [1, 3] {
        let model = tiny_m(21, m);
        let f = Forecaster::new(model.clone(), cfg.clone()).forecast_cell(&cell, n, &[n as f64 + 60.0]);
        assert!(f.grid.len() > 4 * m, "the rollout goes on past its first step");
        assert!(f.grid.len().is_multiple_of(4 * m) || f.grid.len() == 4 * cfg.max_rollout_patches, "it advances M patches at a time");

        // The model's prediction at the origin, by hand: its M·P points are the first step of every path.
        let norm = SeriesNorm::from_context(&history, model.config.min_scale);
        let z: Vec<f64> = history.iter().map(|&v| norm.normalise(v)).collect();
        let side: Vec<[f32; N_SIDE]> = (0..6).map(|t| side_channels(1.0, &norm, Some((t * 4 + 1) as f64))).collect();
        let (x, s) = input_tensors(&[z], &[side], 4, &Device::flex(), burn::tensor::DType::F32);
        let q = to_vec(model.forward(x, s).quantiles.narrow(1, 5, 1)); // [1, 1, M·P, Q]
        for (level, path) in f.paths.iter().enumerate() {
            for i in 0..4 * m {
                let expected = norm.denormalise(q[i * 3 + level] as f64).max(0.0);
                assert!((path[i] - expected).abs() < 1e-6, "M = {m}, level {level}, point {i}: {} vs {expected}", path[i]);
            }
            assert_eq!(f.grid[4 * m - 1], (n + 4 * m) as f64, "the first step covers M patches of the grid");
        }
    }
}

#[test]
fn a_training_window_normalises_on_its_context_only() {
    let _serial = common::seeded();
    let cfg = common::tiny_model();
    let cells = common::synthetic_cells(2, 120);
    let sampler = WindowSampler::new(&cells, &cfg, &WindowConfig::default());
    let p = cfg.patch_len;
    let windows: Vec<_> = sampler.sample_many(64, 9).into_iter().filter(|w| w.context_patches < w.n_patches - 1).collect();
    assert!(!windows.is_empty(), "some windows have patches after their context");
    for w in windows {
        let k = w.context_patches;
        let mut future = w.clone();
        for v in &mut future.values[k * p..] {
            *v -= 0.3; // everything after the context: inputs and targets, never the normalisation
        }
        let (a, b) = (w.example(&cfg), future.example(&cfg));
        assert_eq!(a.side, b.side, "side channels (level, scale) come from the context alone");
        assert_eq!(a.input[..k * p], b.input[..k * p]);
        assert_ne!(a.target, b.target);
        assert_eq!(a.first, k - 1, "only predictions of patches after the context are scored");
    }
}

#[test]
fn a_training_window_targets_the_next_m_patches_of_each_position_inside_the_window() {
    let _serial = common::seeded();
    let one = common::tiny_model();
    let three = ModelConfig { output_patches: 3, ..common::tiny_model() };
    let cells = common::synthetic_cells(2, 120);
    let sampler = WindowSampler::new(&cells, &one, &WindowConfig::default());
    let p = one.patch_len;
    for w in sampler.sample_many(64, 4) {
        let (a, b) = (w.example(&one), w.example(&three));
        assert_eq!(a.input, b.input);
        assert_eq!(a.scored(), a.valid - a.first, "one patch ahead: every position after the context");
        let mut scored = 0;
        for t in 0..b.valid {
            for h in 0..3 {
                let got = &b.target[(t * 3 + h) * p..][..p];
                if t + h < b.valid {
                    // h patches further on than the next: the one-patch target of position t + h.
                    assert_eq!(got, &a.target[(t + h) * p..][..p], "position {t}, {h} patches further");
                    assert_eq!(b.is_scored(t, h), t >= b.first);
                } else {
                    assert!(got.iter().all(|&v| v == 0.0) && !b.is_scored(t, h), "past the window: no target");
                }
                scored += usize::from(b.is_scored(t, h));
            }
        }
        assert_eq!(b.scored(), scored);
    }
}

#[test]
fn a_self_fed_window_reads_the_fed_median_after_its_context_and_scores_only_up_to_it() {
    let _serial = common::seeded();
    let cfg = ModelConfig { output_patches: 2, ..common::tiny_model() };
    let (p, m) = (cfg.patch_len, cfg.output_patches);
    let cells = common::synthetic_cells(2, 120);
    let sampler = WindowSampler::new(&cells, &cfg, &WindowConfig::default());
    let windows: Vec<_> = sampler.sample_many(64, 5).into_iter().filter(|w| w.context_patches + m + 1 < w.n_patches - 1).collect();
    assert!(!windows.is_empty(), "some windows reach past the fed patches");
    for w in windows {
        let plain = w.example(&cfg);
        let mut fed = plain.clone();
        let median: Vec<f32> = (0..m * p).map(|j| 10.0 + j as f32).collect();
        fed.feed_back(&median, p);
        let first = plain.first;
        // The context is untouched; the next M patches are the fed median, in order.
        assert_eq!(fed.input[..(first + 1) * p], plain.input[..(first + 1) * p]);
        assert_eq!(fed.input[(first + 1) * p..(first + 1 + m) * p], median[..]);
        assert_eq!(fed.target, plain.target, "the targets stay the truth");
        assert_eq!(fed.last, first + m);
        for t in 0..plain.valid {
            for h in 0..m {
                assert_eq!(fed.is_scored(t, h), plain.is_scored(t, h) && t <= first + m, "position {t}, {h} ahead");
            }
        }
        let scored = (0..plain.valid).flat_map(|t| (0..m).map(move |h| (t, h))).filter(|&(t, h)| fed.is_scored(t, h)).count();
        assert_eq!(fed.scored(), scored);
        assert!(fed.scored() < plain.scored(), "positions after the fed patches are no longer scored");
    }
}

#[test]
fn self_feeding_in_rounds_feeds_each_pass_its_forecast_from_the_last_fed_patch() {
    let _serial = common::seeded();
    // Windows of up to 12 patches, so some go on past two passes of 2.
    let cfg = ModelConfig { output_patches: 2, max_context_patches: 12, ..common::tiny_model() };
    let (p, m) = (cfg.patch_len, cfg.output_patches);
    let model = cfg.init(&Device::flex());
    let cells = common::synthetic_cells(2, 120);
    let sampler = WindowSampler::new(&cells, &cfg, &WindowConfig::default());
    let windows: Vec<_> = sampler.sample_many(64, 5).into_iter().filter(|w| w.context_patches + 2 * m + 1 < w.n_patches - 1).collect();
    assert!(!windows.is_empty(), "some windows reach past two rounds of fed patches");
    // The median the model forecasts from position `t` of an example's inputs, M patches of it.
    let median_from = |e: &fadecast_model::windows::Example, t: usize| -> Vec<f32> {
        let batch = fadecast_model::train::make_batch(std::slice::from_ref(e), &cfg, &Device::flex());
        let out = model.forward(batch.input, batch.side).quantiles; // [1, N, M·P, Q]
        let [_, _, mp, q] = out.dims();
        let v = to_vec(out);
        (0..mp).map(|j| v[(t * mp + j) * q + cfg.median_index()]).collect()
    };
    for w in windows {
        let plain = w.example(&cfg);
        let first = plain.first;
        let mut by_hand = plain.clone();
        by_hand.feed_back_from(first, &median_from(&plain, first), p);
        let once = by_hand.clone();
        by_hand.feed_back_from(first + m, &median_from(&once, first + m), p);
        let mut fed = plain.clone();
        let mut rng = fadecast_model::windows::SplitMix64::new(1);
        fadecast_model::train::self_feed(&model, &mut [&mut fed], 1.0, 2, &mut rng);
        assert_eq!(fed.input, by_hand.input, "two passes: the second forecasts from the first one's last fed patch");
        assert_eq!(fed.input[(first + 1) * p..(first + 1 + m) * p], once.input[(first + 1) * p..(first + 1 + m) * p]);
        assert_ne!(fed.input[(first + 1 + m) * p..(first + 1 + 2 * m) * p], plain.input[(first + 1 + m) * p..(first + 1 + 2 * m) * p]);
        assert_eq!(fed.last, first + 2 * m, "scored up to the last fed patch");
        assert_eq!(fed.target, plain.target, "the targets stay the truth");
    }
}

#[test]
fn saved_and_reloaded_weights_forecast_identically() {
    let _serial = common::seeded();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let model = tiny(5);
    save_weights(&model, &path).unwrap();
    let reloaded = load_weights(&common::tiny_model(), &path, &Device::flex()).unwrap();
    let cell = common::synthetic_cell(1, 35.0, 150);
    let at = [100.0, 200.0, 400.0];
    for feedback in [Feedback::Median, Feedback::OwnQuantile] {
        let cfg = ForecastConfig { feedback, ..ForecastConfig::default() };
        let a = Forecaster::new(model.clone(), cfg.clone()).forecast_cell(&cell, 90, &at);
        let b = Forecaster::new(reloaded.clone(), cfg).forecast_cell(&cell, 90, &at);
        assert_eq!(a, b);
    }
    // A fresh model with other weights forecasts differently: the check above has teeth.
    let other = Forecaster::new(tiny(6), ForecastConfig::default()).forecast_cell(&cell, 90, &at);
    assert_ne!(Forecaster::new(model, ForecastConfig::default()).forecast_cell(&cell, 90, &at), other);
}

#[test]
fn end_of_life_interval_is_ordered_and_rul_is_relative_to_the_origin() {
    let _serial = common::seeded();
    let forecaster = Forecaster::new(tiny(7), ForecastConfig { eol_threshold: 0.97, ..ForecastConfig::default() });
    let cell = common::synthetic_cell(2, 40.0, 300);
    let f = forecaster.forecast_cell(&cell, 50, &[100.0]);
    if let (Some(lo), Some(mid), Some(hi)) = (f.eol.lower, f.eol.point, f.eol.upper) {
        assert!(lo <= mid && mid <= hi, "{:?}", f.eol);
        assert_eq!(f.rul.point, Some(mid - f.origin));
    }
    // History already below the threshold: end of life is observed, remaining life zero.
    let g = forecaster.forecast_cell(&cell, 300, &[]);
    let observed = g.eol.point.expect("observed crossing");
    assert!(observed <= 300.0 && g.rul.point == Some(0.0));
}

#[test]
fn a_history_shorter_than_one_patch_still_forecasts() {
    let _serial = common::seeded();
    let forecaster = Forecaster::new(tiny(8), ForecastConfig::default());
    let f = forecaster.forecast(&[1.0, 2.0], &[1.0, 0.999], fadecast::data::Observation::PerCycle, &[10.0]);
    assert!(f.values.iter().all(|v| v[0].is_finite()));
}

#[test]
fn the_evaluator_sees_the_models_p10_p50_p90() {
    let _serial = common::seeded();
    let forecaster = Forecaster::new(tiny(9), ForecastConfig::default());
    let cell = common::synthetic_cell(3, 25.0, 200);
    let at = [80.0, 120.0, 160.0];
    let ctx = fadecast::eval::Context::new(&cell, 60);
    let q = fadecast::eval::Forecaster::forecast(&forecaster, &ctx, &at);
    let own = forecaster.forecast_cell(&cell, 60, &at);
    assert_eq!((q.p10, q.p50, q.p90), (own.values[0].clone(), own.values[1].clone(), own.values[2].clone()));
}

#[test]
fn a_rollout_far_past_the_context_window_re_anchors_and_stays_sound() {
    let _serial = common::seeded();
    for m in [1, 4] {
        rollout_re_anchors(tiny_m(11, m));
    }
}

fn rollout_re_anchors(model: FadeModel) {
    let cfg = ForecastConfig { strides: vec![1], ..ForecastConfig::default() };
    let forecaster = Forecaster::new(model, cfg);
    let cell = common::synthetic_cell(3, 35.0, 60);
    // Max context 6 patches of 4 cycles: 400 cycles ahead is 100 patches, many re-anchors.
    let at: Vec<f64> = (1..=40).map(|k| 60.0 + 10.0 * k as f64).collect();
    let f = forecaster.forecast_cell(&cell, 60, &at);
    assert!(f.grid.last().unwrap() >= at.last().unwrap(), "the rollout covers the horizon");
    for level in &f.values {
        assert!(level.iter().all(|v| v.is_finite()), "every requested cycle gets a value");
    }
    for i in 0..at.len() {
        assert!(f.values[0][i] <= f.values[1][i] + 1e-9 && f.values[1][i] <= f.values[2][i] + 1e-9, "p10 ≤ p50 ≤ p90 at {}", at[i]);
    }
    // Same weights and history: the same forecast (re-anchoring is deterministic).
    assert_eq!(forecaster.forecast_cell(&cell, 60, &at), f);
}

#[test]
fn forecasting_many_cells_at_once_gives_each_its_own_forecast() {
    let _serial = common::seeded();
    for m in [1, 3] {
        many_cells_at_once(tiny_m(12, m));
    }
}

fn many_cells_at_once(model: FadeModel) {
    let cfg = ForecastConfig { strides: vec![1], eol_threshold: 0.97, ..ForecastConfig::default() };
    let mut forecaster = Forecaster::new(model, cfg);
    // Different context lengths (batches of their own), lives (cells leave the batch at different
    // steps), horizons, and one cell already at end of life.
    let cells: Vec<_> = (0..7).map(|i| common::synthetic_cell(i, 25.0 + 5.0 * i as f64, 150 + 40 * i)).collect();
    let origins = [30, 60, 60, 61, 90, 120, 300];
    let histories = common::histories(&cells, &origins, |i, n| n as f64 + 30.0 * i as f64);
    let requests = common::requests(&histories);
    let alone: Vec<_> = requests.iter().map(|r| forecaster.forecast(r.cycles, r.soh, r.observation, r.at)).collect();
    for batch in [2, 3, 64] {
        forecaster.batch_cells = batch;
        let many = forecaster.forecast_many(&requests);
        for (i, (m, a)) in many.iter().zip(&alone).enumerate() {
            assert_eq!(m.grid, a.grid, "cell {i}, batches of {batch}: same rollout length");
            let diff = m.paths.iter().flatten().zip(a.paths.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            assert!(diff < 1e-5, "cell {i}, batches of {batch}: paths differ by {diff}");
        }
    }
    assert!(alone.windows(2).any(|w| w[0].grid.len() != w[1].grid.len()), "cells stop at different steps");
}

/// A check-up cell: SOH measured every 50 cycles, fading along a bent line.
fn checkup_cell(dataset: &str, id: usize, checkups: usize) -> fadecast::data::Cell {
    use fadecast::data::{Cell, CellMeta, Cycle, Observation};
    let cycles = (0..checkups)
        .map(|k| {
            let c = 50.0 * k as f64;
            let soh = 1.0 - 0.01 * k as f64 - 0.002 * (k * k) as f64;
            Cycle { cycle: c, capacity_ah: Some(soh), soh, descriptors: [None; fadecast::N_DESCRIPTORS] }
        })
        .collect();
    let meta = CellMeta { dataset: dataset.into(), cell_id: format!("c{id}"), observation: Observation::CheckUp, ..CellMeta::default() };
    Cell { meta, cycles }
}

#[test]
fn check_up_windows_on_refined_grids_lie_on_the_line_between_check_ups() {
    let cfg = common::tiny_model();
    // Two check-ups: 5 points on the base grid (a quarter check-up apart), under two patches of 4.
    let cells = vec![checkup_cell("CHECKUPS", 0, 2)];
    assert!(WindowSampler::new(&cells, &cfg, &WindowConfig::default()).is_empty(), "too short on the base grid");
    let wc = WindowConfig { checkup_refine: vec![1, 2, 4, 8], ..WindowConfig::default() };
    let sampler = WindowSampler::new(&cells, &cfg, &wc);
    let (xs, ys) = (cells[0].cycle_axis(), cells[0].soh());
    let windows = sampler.sample_many(200, 3);
    let spacings: std::collections::BTreeSet<u64> = windows.iter().map(|w| w.spacing.to_bits()).collect();
    assert!(spacings.len() >= 2, "several refinements drawn");
    for w in &windows {
        assert!(w.spacing < 12.5, "only refined grids leave two patches");
        for (i, v) in w.values.iter().enumerate() {
            let truth = fadecast_model::windows::interpolate(&xs, &ys, w.start_cycle + i as f64 * w.spacing);
            assert!((v - truth).abs() < 1e-12, "point {i} of a window at spacing {}: {v} vs {truth}", w.spacing);
        }
    }
}

#[test]
fn a_few_check_ups_are_refined_to_fill_the_minimum_context() {
    let _serial = common::seeded();
    let cell = checkup_cell("CHECKUPS", 0, 8);
    let at = [250.0, 300.0, 350.0];
    let cfg = ForecastConfig { refine_short_context: true, ..ForecastConfig::default() };
    let need = cfg.min_context_patches * common::tiny_model().patch_len;
    // Two check-ups: 5 points on the quarter-gap grid, fewer than two patches.
    let f = Forecaster::new(tiny(13), cfg).forecast_cell(&cell, 2, &at);
    let step = f.grid[1] - f.grid[0];
    assert!((step - 50.0 / (need - 1) as f64).abs() < 1e-9, "one check-up gap spread over {need} points, got a step of {step}");
    assert!(f.values.iter().flatten().all(|v| v.is_finite()));
    // Unrefined, the same history sits on the quarter-gap grid (padded at the front).
    let g = Forecaster::new(tiny(13), ForecastConfig::default()).forecast_cell(&cell, 2, &at);
    assert!((g.grid[1] - g.grid[0] - 12.5).abs() < 1e-9);
}

#[test]
fn without_the_age_channel_a_history_forecasts_the_same_whenever_it_started() {
    let _serial = common::seeded();
    let cell = common::synthetic_cell(0, 30.0, 120);
    let (cycles, soh) = (cell.cycle_axis(), cell.soh());
    let later: Vec<f64> = cycles.iter().map(|c| c + 1000.0).collect();
    let paths = |age_channel: bool, xs: &[f64]| {
        let device = Device::flex();
        device.seed(14);
        let model = fadecast_model::model::ModelConfig { age_channel, ..common::tiny_model() }.init(&device);
        Forecaster::new(model, ForecastConfig::default()).forecast(xs, &soh, fadecast::data::Observation::PerCycle, &[]).paths
    };
    assert_eq!(paths(false, &cycles), paths(false, &later), "shape, level, scale and spacing only");
    assert_ne!(paths(true, &cycles), paths(true, &later), "the age channel tells them apart");
}

#[test]
fn whole_history_windows_put_the_history_on_its_patches_and_continue_at_that_spacing() {
    let cfg = common::tiny_model();
    let p = cfg.patch_len;
    let cells = vec![common::synthetic_cell(0, 30.0, 300)];
    let wc = WindowConfig { whole_history_prob: 1.0, whole_history_patches: 2, ..WindowConfig::default() };
    let sampler = WindowSampler::new(&cells, &cfg, &wc);
    let (xs, ys) = (cells[0].cycle_axis(), cells[0].soh());
    let windows = sampler.sample_many(100, 5);
    let spacings: std::collections::BTreeSet<u64> = windows.iter().map(|w| w.spacing.to_bits()).collect();
    assert!(spacings.len() > 10, "origins are drawn along the series");
    // A draw whose series ends too soon after its origin falls back to an ordinary window.
    let whole: Vec<_> = windows.iter().filter(|w| w.context_patches == 2 && w.start_cycle == xs[0] && w.spacing.fract() != 0.0).collect();
    assert!(whole.len() > 50, "most draws are whole-history windows ({} of 100)", whole.len());
    for w in whole {
        let origin = w.start_cycle + (2 * p - 1) as f64 * w.spacing;
        assert!(xs.iter().any(|c| (c - origin).abs() < 1e-9), "the context ends at an observation, not at {origin}");
        assert!(w.n_patches > 2 && w.n_patches <= cfg.max_context_patches + 1);
        let end = w.start_cycle + (w.n_patches * p - 1) as f64 * w.spacing;
        assert!(end <= xs[xs.len() - 1] + 1e-9, "targets stay inside the observed series");
        for (i, v) in w.values.iter().enumerate() {
            let truth = fadecast_model::windows::interpolate(&xs, &ys, w.start_cycle + i as f64 * w.spacing);
            assert!((v - truth).abs() < 1e-12);
        }
    }
}

#[test]
fn spacing_jitter_stretches_the_cycle_axis_and_leaves_the_curve() {
    let cfg = common::tiny_model();
    let cells = vec![common::synthetic_cell(0, 30.0, 300)];
    let (xs, ys) = (cells[0].cycle_axis(), cells[0].soh());
    let wc = WindowConfig { strides: vec![1], spacing_jitter: 2.0, ..WindowConfig::default() };
    let windows = WindowSampler::new(&cells, &cfg, &wc).sample_many(200, 3);
    let mut stretches = Vec::new();
    for w in &windows {
        // The synthetic cell is per-cycle at one cycle a step: the spacing is the stretch itself.
        let stretch = w.spacing;
        assert!((0.5 - 1e-12..=2.0 + 1e-12).contains(&stretch), "stretch {stretch}");
        let start = w.start_cycle / stretch;
        for (i, v) in w.values.iter().enumerate() {
            let truth = fadecast_model::windows::interpolate(&xs, &ys, start + i as f64);
            assert!((v - truth).abs() < 1e-9, "point {i}: the same curve, on a stretched axis");
        }
        stretches.push(stretch);
    }
    let (lo, hi) = stretches.iter().fold((f64::MAX, f64::MIN), |(a, b), &s| (a.min(s), b.max(s)));
    assert!(lo < 0.7 && hi > 1.4, "the stretch is drawn over the whole range: {lo}..{hi}");
    let plain = WindowConfig { strides: vec![1], ..WindowConfig::default() };
    assert!(WindowSampler::new(&cells, &cfg, &plain).sample_many(50, 3).iter().all(|w| w.spacing == 1.0), "off by default");
}

#[test]
fn dataset_balance_tempers_each_datasets_share_of_the_windows() {
    let cfg = common::tiny_model();
    // Dataset A: 9 cells, dataset B: 1 cell, all the same length.
    let mut cells = common::synthetic_cells(10, 300);
    cells[9].meta.dataset = "B".into();
    let share_of_b = |balance: f64| {
        let wc = WindowConfig { dataset_balance: balance, ..WindowConfig::default() };
        let sampler = WindowSampler::new(&cells, &cfg, &wc);
        let p = sampler.draw_probabilities();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let b = sampler.series.iter().position(|s| s.dataset == "B").unwrap();
        let drawn = sampler.sample_many(4000, 5).iter().filter(|w| w.series == b).count() as f64 / 4000.0;
        (p[b], drawn)
    };
    let (p1, d1) = share_of_b(1.0);
    assert!((p1 - 0.1).abs() < 1e-12 && (d1 - 0.1).abs() < 0.02, "1: cells alike ({p1}, drawn {d1})");
    let (p0, d0) = share_of_b(0.0);
    assert!((p0 - 0.5).abs() < 1e-12 && (d0 - 0.5).abs() < 0.03, "0: datasets alike ({p0}, drawn {d0})");
    let (ph, _) = share_of_b(0.5);
    assert!((ph - 1.0 / (1.0 + 3.0)).abs() < 1e-12, "0.5: shares 3 : 1 for 9 cells : 1 ({ph})");
    let bad = WindowConfig { dataset_balance: 1.5, ..WindowConfig::default() };
    assert_eq!(bad.validate().unwrap_err(), "windows.dataset_balance must be between 0 and 1, got 1.5");
}

#[test]
fn a_share_for_picked_series_is_split_between_their_datasets_by_balance() {
    let cfg = common::tiny_model();
    // Dataset A: 6 cells, not picked; B: 3 cells and C: 1 cell, picked. All the same length.
    let mut cells = common::synthetic_cells(10, 300);
    for (i, c) in cells.iter_mut().enumerate() {
        c.meta.dataset = if i < 6 { "A" } else if i < 9 { "B" } else { "C" }.into();
    }
    let shares = |balance: f64| {
        let sampler = WindowSampler::new(&cells, &cfg, &WindowConfig::default()).with_share(|s| s.dataset != "A", 0.4, balance);
        let p = sampler.draw_probabilities();
        let of = |d: &str| sampler.series.iter().zip(&p).filter(|(s, _)| s.dataset == d).map(|(_, p)| p).sum::<f64>();
        assert!(p[..6].iter().all(|&q| (q - 0.6 / 6.0).abs() < 1e-12), "A's cells keep their proportions: {p:?}");
        assert!(p[6..9].iter().all(|&q| (q - p[6]).abs() < 1e-12), "so do B's");
        (of("B"), of("C"))
    };
    let (b, c) = shares(1.0);
    assert!((b - 0.3).abs() < 1e-12 && (c - 0.1).abs() < 1e-12, "1: as now, 3 : 1 ({b}, {c})");
    let (b, c) = shares(0.0);
    assert!((b - 0.2).abs() < 1e-12 && (c - 0.2).abs() < 1e-12, "0: datasets alike ({b}, {c})");
    let (b, c) = shares(0.5);
    assert!((b / c - 3f64.sqrt()).abs() < 1e-9 && (b + c - 0.4).abs() < 1e-12, "0.5: √3 : 1 ({b}, {c})");
}

#[test]
fn a_whole_history_forecast_spreads_any_history_over_the_same_patches() {
    let _serial = common::seeded();
    let cell = common::synthetic_cell(0, 30.0, 300);
    let cfg = ForecastConfig { whole_history_patches: 3, ..ForecastConfig::default() };
    let points = 3 * common::tiny_model().patch_len;
    let forecaster = Forecaster::new(tiny(15), cfg);
    for n in [10, 60, 200] {
        let f = forecaster.forecast_cell(&cell, n, &[400.0]);
        let span = cell.cycles[n - 1].cycle - cell.cycles[0].cycle;
        let step = f.grid[1] - f.grid[0];
        assert!((step - span / (points - 1) as f64).abs() < 1e-9, "{n} observations: step {step} for a span of {span}");
        assert!(f.values.iter().flatten().all(|v| v.is_finite()), "the request at cycle 400 is reached");
    }
}

#[test]
fn a_history_spanning_less_than_the_minimum_is_read_on_its_own_grid() {
    let _serial = common::seeded();
    let cell = common::synthetic_cell(0, 30.0, 300);
    let p = common::tiny_model().patch_len;
    let cfg = ForecastConfig { whole_history_patches: 3, refine_short_context: true, whole_history_min_span: 32.0, ..ForecastConfig::default() };
    let forecaster = Forecaster::new(tiny(15), cfg);
    for n in [10, 60] {
        let f = forecaster.forecast_cell(&cell, n, &[400.0]);
        let span = cell.cycles[n - 1].cycle - cell.cycles[0].cycle;
        // Under 32 cycles: the cell's own grid, a cycle a step (10 observations fill the two
        // patches of 4 the tiny model needs); from 32 on: spread over the 3 whole-history patches.
        let expected = if span < 32.0 { 1.0 } else { span / (3 * p - 1) as f64 };
        let step = f.grid[1] - f.grid[0];
        assert!((step - expected).abs() < 1e-9, "{n} observations: step {step} for a span of {span}");
        assert!(f.values.iter().flatten().all(|v| v.is_finite()), "the request at cycle 400 is reached");
    }
}

#[test]
fn the_matching_forecast_config_reads_histories_on_the_training_grids() {
    let plain = ForecastConfig::matching(&WindowConfig::default());
    assert_eq!(plain, ForecastConfig::default(), "default windows, default rollout");
    let wc = WindowConfig { checkup_subdivide: 2, strides: vec![1, 3], checkup_refine: vec![1, 4], whole_history_prob: 0.5, whole_history_patches: 5, ..WindowConfig::default() };
    let f = ForecastConfig::matching(&wc);
    assert_eq!((f.checkup_subdivide, f.strides.clone()), (2, vec![1, 3]));
    assert!(f.refine_short_context);
    assert_eq!(f.whole_history_patches, 5);
    // The shipped recipe's file is what its training config implies, with the band's calibration
    // (interval scale and disagreement weight, scripts/calibrate_intervals.sh), the shortest span
    // the whole-history grid reads and how a shorter history is read (docs/preregistered.md,
    // experiments 10 and 11) and the paths' smoothing (experiment 13) on top.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let train: fadecast_model::train::TrainConfig = serde_json::from_str(&std::fs::read_to_string(root.join("configs/train-self-fed-rounds.json")).unwrap()).unwrap();
    let shipped: ForecastConfig = serde_json::from_str(&std::fs::read_to_string(root.join("configs/forecast-default.json")).unwrap()).unwrap();
    let calibrated = ForecastConfig {
        interval_scale: shipped.interval_scale,
        disagreement_weight: shipped.disagreement_weight,
        whole_history_min_span: shipped.whole_history_min_span,
        refine_short_context: shipped.refine_short_context,
        smooth_patches: shipped.smooth_patches,
        ..ForecastConfig::matching(&train.windows)
    };
    assert_eq!(calibrated, shipped);
}

#[test]
fn a_model_folder_with_an_invalid_config_is_an_error_naming_its_model_json() {
    let dir = tempfile::tempdir().unwrap();
    let bad = ModelConfig { output_patches: 0, ..common::tiny_model() };
    std::fs::write(dir.path().join("model.json"), serde_json::to_string(&bad).unwrap()).unwrap();
    let err = Forecaster::load(dir.path(), ForecastConfig::default()).err().expect("an invalid config is an error, not a panic");
    let text = err.to_string();
    assert!(text.contains("model.json") && text.contains("output_patches"), "{text}");
}

#[test]
fn interval_scale_widens_the_bands_and_the_end_of_life_interval_about_an_unchanged_median() {
    let _serial = common::seeded();
    let model = tiny(12);
    let cell = common::synthetic_cell(4, 30.0, 250);
    let at = [120.0, 160.0, 220.0];
    let forecast = |scale: f64, eol_threshold: f64| {
        let cfg = ForecastConfig { interval_scale: scale, eol_threshold, ..ForecastConfig::default() };
        Forecaster::new(model.clone(), cfg).forecast_cell(&cell, 100, &at)
    };
    // An end-of-life threshold below the (noisy) history that the p10 path crosses.
    let probe = forecast(1.0, 0.0);
    let lowest = probe.paths[0].iter().copied().fold(f64::INFINITY, f64::min);
    let history = cell.cycles[..100].iter().map(|c| c.soh).fold(f64::INFINITY, f64::min);
    assert!(lowest < history, "the tiny model's p10 never falls below the history: {lowest} vs {history}");
    let threshold = (history + lowest) / 2.0;
    let (own, wide) = (forecast(1.0, threshold), forecast(2.0, threshold));
    // The rollout is the model's own; it only runs on until the wider band has crossed too.
    let n = own.grid.len();
    assert!(wide.grid.len() >= n && wide.grid[..n] == own.grid[..], "{} vs {} grid points", wide.grid.len(), n);
    for (w, o) in wide.paths.iter().zip(&own.paths) {
        assert_eq!(&w[..n], &o[..]);
    }
    // The reported quantiles: the median as it was, p10 and p90 twice as far from it (floored at 0).
    assert_eq!(own.values[1], wide.values[1], "the median is left alone");
    let beyond = at.iter().position(|&c| c > *own.grid.last().unwrap()).unwrap_or(at.len());
    assert!(beyond > 0, "some requested cycles lie inside the rollout");
    for level in [0, 2] {
        for i in 0..beyond {
            let (w, o, m) = (wide.values[level][i], own.values[level][i], own.values[1][i]);
            assert!((w - (m + 2.0 * (o - m)).max(0.0)).abs() < 1e-12, "level {level}, cycle {}: {w} vs {o} about {m}", at[i]);
        }
    }
    assert_ne!(own.values, wide.values, "the check above has teeth: the bands did move");
    // End of life is where the reported band crosses: the same point, an interval as wide or wider.
    let lo = own.eol.lower.expect("the p10 band crosses the threshold");
    let wlo = wide.eol.lower.expect("so does the wider one");
    assert!(wlo < lo, "the wider band crosses earlier: {:?} vs {:?}", wide.eol, own.eol);
    assert!(own.eol.upper.is_none_or(|hi| wide.eol.upper.is_none_or(|w| w >= hi)), "{:?} vs {:?}", wide.eol, own.eol);
    assert_eq!(own.eol.point, wide.eol.point);
    assert_eq!(wide.rul.lower, Some(wlo - wide.origin));
    // A scale no rollout can use is refused by name.
    for bad in [0.0, -1.0, f64::NAN] {
        let err = ForecastConfig { interval_scale: bad, ..ForecastConfig::default() }.validate().unwrap_err();
        assert!(err.contains("interval_scale"), "{err}");
    }
    assert!(ForecastConfig::default().validate().is_ok());
}

#[test]
fn the_trend_weight_moves_the_median_towards_the_recent_line_and_the_band_with_it() {
    let _serial = common::seeded();
    let model = tiny(12);
    let cell = common::synthetic_cell(4, 30.0, 250);
    let at = [120.0, 160.0, 220.0];
    let forecast = |trend_weight: f64| {
        let cfg = ForecastConfig { trend_weight, ..ForecastConfig::default() };
        Forecaster::new(model.clone(), cfg).forecast_cell(&cell, 100, &at)
    };
    let history: (Vec<f64>, Vec<f64>) = cell.cycles[..100].iter().map(|c| (c.cycle, c.soh)).unzip();
    let (level, slope) = fadecast::eval::baselines::linear::recent_line(&history.0, &history.1, 0.25);
    assert!(slope < 0.0, "a fading history has a falling line: {slope}");
    let line = |c: f64| level + slope * (c - 100.0);
    let own = forecast(0.0);
    let sorted = |f: &fadecast_model::forecast::Forecast, k: usize| {
        let mut column: Vec<f64> = f.paths.iter().map(|p| p[k]).collect();
        column.sort_by(f64::total_cmp);
        column
    };
    for w in [0.3, 1.0] {
        let blended = forecast(w);
        // The rollout is the model's own: the same grid, each point moved by w · (line − median).
        assert_eq!(blended.grid, own.grid);
        let mut moved = 0;
        for (k, &c) in own.grid.iter().enumerate() {
            let (o, b) = (sorted(&own, k), sorted(&blended, k));
            let shift = w * (line(c) - o[1]);
            for (x, y) in o.iter().zip(&b) {
                assert!((y - (x + shift).max(0.0)).abs() < 1e-12, "w {w}, cycle {c}: {y} vs {x} moved by {shift}");
            }
            moved += usize::from(shift.abs() > 1e-6);
            if w == 1.0 {
                assert!((b[1] - line(c).max(0.0)).abs() < 1e-12, "w 1: the median is the line at cycle {c}");
            }
        }
        assert!(moved > 0, "the check has teeth: the model's median is not already the line");
        // The reported values and end of life are read from the moved paths.
        assert_ne!(blended.values, own.values);
        let reread = blended.read_at(&at);
        assert_eq!(reread, blended.values);
    }
    // Lowering only: each point moves by w · (line − median) where the line is below the median,
    // and not at all where it is above. Checked on the fading history and on a rising one whose
    // last observation dips (its recent line, flat as a rising line is, stays above the dip).
    let dipped: (Vec<f64>, Vec<f64>) = (1..=100).map(|c| (f64::from(c), if c < 100 { 0.5 + 0.004 * f64::from(c) } else { 0.85 })).unzip();
    let (mut down, mut kept) = (0, 0);
    for (cycles, soh) in [&history, &dipped] {
        let forecast = |trend_weight: f64, trend_below_only: bool| {
            let cfg = ForecastConfig { trend_weight, trend_below_only, ..ForecastConfig::default() };
            Forecaster::new(model.clone(), cfg).forecast(cycles, soh, fadecast::data::Observation::PerCycle, &at)
        };
        let (own, lowered) = (forecast(0.0, false), forecast(0.5, true));
        assert_eq!(lowered.grid, own.grid);
        let (level, slope) = fadecast::eval::baselines::linear::recent_line(cycles, soh, 0.25);
        let line = |c: f64| level + slope.min(0.0) * (c - 100.0);
        for (k, &c) in own.grid.iter().enumerate() {
            let (o, b) = (sorted(&own, k), sorted(&lowered, k));
            let shift = 0.5 * (line(c) - o[1]).min(0.0);
            for (x, y) in o.iter().zip(&b) {
                assert!((y - (x + shift).max(0.0)).abs() < 1e-12, "cycle {c}: {y} vs {x} moved by {shift}");
            }
            if line(c) < o[1] - 1e-6 { down += 1 } else if line(c) > o[1] + 1e-6 { kept += 1 }
        }
    }
    assert!(down > 0 && kept > 0, "the check has teeth: the line lies below the median at {down} points, above at {kept}");
    // A history whose capacity rises is blended with a flat line at its fitted level.
    let cycles: Vec<f64> = (1..=100).map(f64::from).collect();
    let rising: Vec<f64> = cycles.iter().map(|c| 0.9 + 0.0005 * c).collect();
    let cfg = ForecastConfig { trend_weight: 1.0, ..ForecastConfig::default() };
    let f = Forecaster::new(model.clone(), cfg).forecast(&cycles, &rising, fadecast::data::Observation::PerCycle, &at);
    let (flat, _) = fadecast::eval::baselines::linear::recent_line(&cycles, &rising, 0.25);
    for k in 0..f.grid.len() {
        assert!((sorted(&f, k)[1] - flat).abs() < 1e-12, "grid point {k}: the median stays at {flat}");
    }
    // A weight no forecast can use is refused by name.
    for bad in [-0.1, 1.5, f64::NAN] {
        let err = ForecastConfig { trend_weight: bad, ..ForecastConfig::default() }.validate().unwrap_err();
        assert!(err.contains("trend_weight"), "{err}");
    }
    let err = ForecastConfig { trend_fraction: 0.0, ..ForecastConfig::default() }.validate().unwrap_err();
    assert!(err.contains("trend_fraction"), "{err}");
}

#[test]
fn smoothing_over_a_patch_removes_a_sawtooth_of_the_patch_period_and_keeps_a_line() {
    use fadecast_model::forecast::smooth_over_patch;
    let p = 16;
    // A falling line from the origin's SOH, plus a sawtooth that drops within each patch and
    // jumps back at its end (the rollout's artifact), zero on average over a patch.
    let line = |k: usize| 0.9 - 0.001 * (k + 1) as f64;
    let tooth = |k: usize| 0.004 * (7.5 - (k % p) as f64) / 7.5;
    let n = 6 * p;
    let path: Vec<f64> = (0..n).map(|k| line(k) + tooth(k)).collect();
    let smoothed = smooth_over_patch(0.9, &path, p);
    assert_eq!(smoothed.len(), n);
    // Where the whole window fits (half a patch on each side), the sawtooth is gone.
    for k in p / 2..n - p / 2 {
        assert!((smoothed[k] - line(k)).abs() < 1e-12, "grid point {k}: {} vs the line's {}", smoothed[k], line(k));
    }
    assert!((path[20] - line(20)).abs() > 1e-3, "the check has teeth: the path is off the line");
    // A line alone stays itself everywhere, its ends included (the window narrows symmetrically,
    // with the origin's SOH before the first point).
    let straight: Vec<f64> = (0..n).map(line).collect();
    for (k, v) in smooth_over_patch(0.9, &straight, p).iter().enumerate() {
        assert!((v - line(k)).abs() < 1e-12, "grid point {k}");
    }
    // The first point averages itself with the origin and the next: [0.9, a, b] -> (0.9 + a + b) / 3.
    let short = smooth_over_patch(0.9, &[0.5, 0.2, 0.1], p);
    assert!((short[0] - (0.9 + 0.5 + 0.2) / 3.0).abs() < 1e-12 && short[2] == 0.1, "{short:?}");
}

#[test]
fn a_smoothed_forecast_moves_its_paths_and_reads_its_values_from_them() {
    let _serial = common::seeded();
    let model = tiny(12);
    let cell = common::synthetic_cell(4, 30.0, 250);
    let at = [120.0, 160.0, 220.0];
    let forecast = |smooth_patches: bool| {
        let cfg = ForecastConfig { smooth_patches, ..ForecastConfig::default() };
        Forecaster::new(model.clone(), cfg).forecast_cell(&cell, 100, &at)
    };
    let (own, smoothed) = (forecast(false), forecast(true));
    assert_eq!(smoothed.grid, own.grid, "the rollout is the model's own");
    let p = model.config.patch_len;
    for (a, b) in own.paths.iter().zip(&smoothed.paths) {
        assert_eq!(*b, fadecast_model::forecast::smooth_over_patch(own.origin_soh, a, p));
    }
    assert_ne!(smoothed.paths, own.paths, "the check has teeth");
    assert_eq!(smoothed.read_at(&at), smoothed.values);
}
