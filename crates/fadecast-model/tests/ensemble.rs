//! Ensembles: several members forecasting as one, on one grid, with a band that widens where the
//! members disagree.

mod common;

use burn::tensor::Device;
use fadecast_model::forecast::{combine_bands, normal_quantile, save_weights, ForecastConfig, Forecaster, ENSEMBLE_FILE};
use fadecast_model::model::{FadeModel, ModelConfig};

fn tiny(seed: u64) -> FadeModel {
    let device = Device::flex();
    device.seed(seed);
    common::tiny_model().init(&device)
}

fn config() -> ForecastConfig {
    ForecastConfig { eol_threshold: 0.97, strides: vec![1], ..ForecastConfig::default() }
}

#[test]
fn combined_bands_of_agreeing_members_are_their_own_band() {
    assert!((normal_quantile(0.1) + 1.2815515655446008).abs() < 1e-8);
    assert!((normal_quantile(0.99) - 2.3263478740408408).abs() < 1e-8);
    assert_eq!(normal_quantile(0.5), 0.0);
    let levels = [0.1, 0.5, 0.9];
    let band = vec![0.90, 0.93, 0.95];
    let same = combine_bands(&[band.clone(), band.clone(), band.clone()], &levels, 1, 1.0);
    for (c, b) in same.iter().zip(&band) {
        assert!((c - b).abs() < 1e-12, "{same:?} vs {band:?}");
    }
    // (Members that disagree: the next test, at the mixture's weight 1 and others.)
}

#[test]
fn the_disagreement_weight_widens_the_band_only_where_members_disagree() {
    let levels = [0.1, 0.5, 0.9];
    let band = vec![0.90, 0.93, 0.95];
    // Members that agree: their own band, whatever the weight.
    let same = combine_bands(&[band.clone(), band.clone()], &levels, 1, 16.0);
    for (c, b) in same.iter().zip(&band) {
        assert!((c - b).abs() < 1e-12, "{same:?} vs {band:?}");
    }
    // Two members with the same own spread, medians 0.02 apart: the median is their mean, and
    // each side is √(own² + w·z²·var) from it — the variance of their medians (0.01²) counts w
    // times (w = 1: the law of total variance of their mixture).
    let members = [vec![0.90, 0.92, 0.93], vec![0.92, 0.94, 0.95]];
    let z = normal_quantile(0.9);
    for w in [0.0, 1.0, 16.0] {
        let combined = combine_bands(&members, &levels, 1, w);
        assert!((combined[1] - 0.93).abs() < 1e-12, "the median never moves: {combined:?}");
        let lower = 0.93 - (0.02f64.powi(2) + w * z * z * 0.01f64.powi(2)).sqrt();
        let upper = 0.93 + (0.01f64.powi(2) + w * z * z * 0.01f64.powi(2)).sqrt();
        assert!((combined[0] - lower).abs() < 1e-12 && (combined[2] - upper).abs() < 1e-12, "w {w}: {combined:?}");
    }
    let bad = ForecastConfig { disagreement_weight: -1.0, ..ForecastConfig::default() };
    assert!(bad.validate().unwrap_err().contains("disagreement_weight"));
}

#[test]
fn an_ensemble_of_one_model_twice_forecasts_as_that_model() {
    let _serial = common::seeded();
    let model = tiny(21);
    let cell = common::synthetic_cell(3, 35.0, 200);
    let at = [100.0, 130.0, 170.0];
    let alone = Forecaster::new(model.clone(), config()).forecast_cell(&cell, 90, &at);
    let twice = Forecaster::ensemble(vec![model.clone(), model], config()).forecast_cell(&cell, 90, &at);
    assert_eq!(alone.grid, twice.grid);
    for (a, t) in alone.values.iter().flatten().zip(twice.values.iter().flatten()) {
        assert!((a - t).abs() < 1e-9 || (a.is_nan() && t.is_nan()), "{:?} vs {:?}", alone.values, twice.values);
    }
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (a, b) => a == b,
    };
    assert!(close(alone.eol.point, twice.eol.point) && close(alone.eol.lower, twice.eol.lower) && close(alone.eol.upper, twice.eol.upper));
}

#[test]
fn an_ensemble_rolls_every_member_out_to_the_longest_and_reports_their_mean_median() {
    let _serial = common::seeded();
    let members: Vec<FadeModel> = (30..36).map(tiny).collect();
    let cell = common::synthetic_cell(5, 30.0, 200);
    let at = [95.0, 110.0];
    // A threshold just below the origin's SOH, which some of these untrained members' paths cross
    // at once and others never do.
    let config = ForecastConfig { eol_threshold: cell.cycles[89].soh - 0.002, ..config() };
    let alone: Vec<_> = members.iter().map(|m| Forecaster::new(m.clone(), config.clone()).forecast_cell(&cell, 90, &at)).collect();
    let longest = alone.iter().map(|f| f.grid.len()).max().unwrap();
    assert!(alone.iter().any(|f| f.grid.len() != longest), "the members stop at different points: the test has teeth");
    let f = Forecaster::ensemble(members, config).forecast_cell(&cell, 90, &at);
    assert_eq!(f.grid.len(), longest, "every member rolled out to the longest");
    assert_eq!(f.grid[..], alone.iter().find(|a| a.grid.len() == longest).unwrap().grid[..]);
    for (i, &c) in at.iter().enumerate() {
        let mean = alone.iter().map(|a| a.values[1][i]).sum::<f64>() / alone.len() as f64;
        assert!((f.values[1][i] - mean).abs() < 1e-6, "cycle {c}: median {} vs members' mean {mean}", f.values[1][i]);
        assert!(f.values[0][i] <= f.values[1][i] && f.values[1][i] <= f.values[2][i]);
    }
}

#[test]
fn an_ensemble_forecasts_many_cells_at_once_as_it_forecasts_each_alone() {
    let _serial = common::seeded();
    // A context window long enough that cells stop between re-anchorings, where a finished cell's
    // rows leave every member's KV cache.
    let model = ModelConfig { max_context_patches: 24, ..common::tiny_model() };
    let device = Device::flex();
    let members: Vec<FadeModel> = (50..53)
        .map(|seed| {
            device.seed(seed);
            model.init(&device)
        })
        .collect();
    let cells: Vec<_> = (0..6).map(|i| common::synthetic_cell(10 + i, 25.0 + 6.0 * i as f64, 160 + 30 * i)).collect();
    // Every history has crossed this threshold already, so a cell stops once it covers its
    // horizon: cells of equal context length (one batch) stop at different steps, and a finished
    // cell's rows leave every member's KV cache.
    let mut ensemble = Forecaster::ensemble(members, ForecastConfig { eol_threshold: 0.9999, ..config() });
    let origins = [40, 60, 60, 61, 90, 150];
    let histories = common::histories(&cells, &origins, |i, n| n as f64 + 20.0 + 25.0 * i as f64);
    let requests = common::requests(&histories);
    let alone: Vec<_> = requests.iter().map(|r| ensemble.forecast(r.cycles, r.soh, r.observation, r.at)).collect();
    assert!(alone.windows(2).any(|w| w[0].grid.len() != w[1].grid.len()), "cells stop at different steps: the test has teeth");
    for batch in [2, 64] {
        ensemble.batch_cells = batch;
        for (i, (m, a)) in ensemble.forecast_many(&requests).iter().zip(&alone).enumerate() {
            assert_eq!(m.grid, a.grid, "cell {i}, batches of {batch}: same rollout length");
            let diff = m.paths.iter().flatten().zip(a.paths.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            assert!(diff < 1e-5, "cell {i}, batches of {batch}: paths differ by {diff}");
        }
    }
}

#[test]
fn an_ensemble_folder_loads_its_members_and_refuses_mismatched_ones() {
    let _serial = common::seeded();
    let dir = tempfile::tempdir().unwrap();
    let write_member = |name: &str, model: &FadeModel, config: &ModelConfig| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("model.json"), serde_json::to_string(config).unwrap()).unwrap();
        save_weights(model, &d.join("model.safetensors")).unwrap();
    };
    let (a, b) = (tiny(40), tiny(41));
    write_member("seed-a", &a, &common::tiny_model());
    write_member("seed-b", &b, &common::tiny_model());
    std::fs::write(dir.path().join(ENSEMBLE_FILE), r#"{"members": ["seed-a", "seed-b"]}"#).unwrap();
    let cell = common::synthetic_cell(6, 30.0, 200);
    let loaded = Forecaster::load(dir.path(), config()).unwrap();
    assert_eq!(loaded.models.len(), 2);
    let built = Forecaster::ensemble(vec![a, b.clone()], config());
    assert_eq!(loaded.forecast_cell(&cell, 90, &[120.0]), built.forecast_cell(&cell, 90, &[120.0]));

    // A member with another architecture is refused, naming it.
    write_member("wide", &b, &ModelConfig { d_ff: 64, ..common::tiny_model() });
    std::fs::write(dir.path().join(ENSEMBLE_FILE), r#"{"members": ["seed-a", "wide"]}"#).unwrap();
    let err = Forecaster::load(dir.path(), config()).err().expect("mismatched members are an error").to_string();
    assert!(err.contains("wide") && err.contains("model.json"), "{err}");
    std::fs::write(dir.path().join(ENSEMBLE_FILE), r#"{"members": []}"#).unwrap();
    let err = Forecaster::load(dir.path(), config()).err().expect("an empty ensemble is an error").to_string();
    assert!(err.contains(ENSEMBLE_FILE), "{err}");
}
