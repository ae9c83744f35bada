//! Synthetic fade curves: reproducible, valid, varied, and drawn at their configured share.

mod common;

use fadecast::data::Observation;
use fadecast_model::synthetic::{self, SyntheticConfig};
use fadecast_model::train::TrainConfig;
use fadecast_model::windows::{WindowConfig, WindowSampler};

#[test]
fn synthetic_cells_are_reproducible_valid_and_varied() {
    let cfg = SyntheticConfig { share: 0.25, cells: 200, ..SyntheticConfig::default() };
    let cells = synthetic::cells(&cfg, 42);
    assert_eq!(cells.len(), 200);
    assert_eq!(cells, synthetic::cells(&cfg, 42), "the same seed gives the same cells");
    assert_ne!(cells, synthetic::cells(&cfg, 43), "another seed, other cells");
    assert!(synthetic::cells(&SyntheticConfig { share: 0.0, cells: 200, ..SyntheticConfig::default() }, 42).is_empty(), "share 0: none");

    for c in &cells {
        assert_eq!(c.meta.dataset, synthetic::DATASET);
        assert!(c.cycles.len() >= 2, "{}: {} observations", c.key(), c.cycles.len());
        assert!(c.cycles.windows(2).all(|w| w[1].cycle > w[0].cycle), "{}: cycles increase", c.key());
        assert!(c.cycles.iter().all(|o| o.soh.is_finite() && o.soh > 0.0 && o.soh < 1.1), "{}: SOH in range", c.key());
        assert!(c.cycles.iter().all(|o| o.descriptors.iter().all(Option::is_none)), "no descriptors");
    }
    let last = |c: &fadecast::Cell| c.cycles[c.cycles.len() - 1].soh;
    let share = |f: &dyn Fn(&fadecast::Cell) -> bool| cells.iter().filter(|c| f(c)).count() as f64 / cells.len() as f64;
    // Tests that stop far above end of life are the regime the corpus lacks; those that run past
    // it through a knee stay too.
    assert!(share(&|c| last(c) > 0.9) > 0.15, "some tests stop early, far above end of life");
    assert!(share(&|c| last(c) < 0.8) > 0.15, "some run past end of life");
    let per_cycle = share(&|c| c.meta.observation == Observation::PerCycle);
    assert!((0.3..0.7).contains(&per_cycle), "per-cycle and check-up series both ({per_cycle})");
}

#[test]
fn wider_stop_and_fade_ranges_let_synthetic_curves_fall_below_half_their_capacity() {
    let last = |c: &fadecast::Cell| c.cycles[c.cycles.len() - 1].soh;
    let default = SyntheticConfig { share: 0.1, cells: 400, ..SyntheticConfig::default() };
    // A test stops before its first observation below its threshold, so with the default's
    // thresholds (0.5 up) no curve ends below SOH 0.5.
    assert!(synthetic::cells(&default, 5).iter().all(|c| last(c) >= 0.5), "the default stays at SOH 0.5 or above");
    let deep = SyntheticConfig { stop_soh: [0.05, 0.82], main_fade: [0.02, 0.8], knee_fade: [0.05, 1.0], ..default };
    let cells = synthetic::cells(&deep, 5);
    let below = cells.iter().filter(|c| last(c) < 0.4).count() as f64 / cells.len() as f64;
    assert!(below > 0.05, "a share of the deep curves ends below SOH 0.4 ({below})");
    assert!(cells.iter().all(|c| c.cycles.iter().all(|o| o.soh > 0.0)), "SOH stays positive");
}

#[test]
fn a_dataset_share_gives_the_synthetic_cells_that_share_of_the_windows() {
    let model = common::tiny_model();
    let mut cells = common::synthetic_cells(8, 300);
    cells[7].meta.dataset = "B".into();
    cells.extend(synthetic::cells(&SyntheticConfig { share: 0.25, cells: 30, ..SyntheticConfig::default() }, 7));
    let plain = WindowSampler::new(&cells, &model, &WindowConfig::default());
    let sampler = WindowSampler::new(&cells, &model, &WindowConfig::default()).with_dataset_share(synthetic::DATASET, 0.25);
    let (p0, p) = (plain.draw_probabilities(), sampler.draw_probabilities());
    let is_synthetic: Vec<bool> = sampler.series.iter().map(|s| s.dataset == synthetic::DATASET).collect();
    let sum = |p: &[f64], want: bool| p.iter().zip(&is_synthetic).filter(|(_, &s)| s == want).map(|(p, _)| p).sum::<f64>();
    assert!((sum(&p, true) - 0.25).abs() < 1e-12, "synthetic share {}", sum(&p, true));
    // The corpus cells keep their proportions among themselves.
    for i in (0..p.len()).filter(|&i| !is_synthetic[i]) {
        assert!((p[i] / 0.75 - p0[i] / sum(&p0, false)).abs() < 1e-12, "series {i}");
    }
    let drawn = sampler.sample_many(4000, 3).iter().filter(|w| is_synthetic[w.series]).count() as f64 / 4000.0;
    assert!((drawn - 0.25).abs() < 0.03, "drawn {drawn}");
}

#[test]
fn a_synthetic_share_of_one_or_more_is_a_config_error() {
    let mut cfg = TrainConfig::default();
    cfg.synthetic.share = 1.0;
    assert_eq!(cfg.validate().unwrap_err(), "synthetic.share must be in [0, 1), got 1");
    cfg.synthetic = SyntheticConfig { share: 0.2, cells: 0, ..SyntheticConfig::default() };
    assert!(cfg.validate().unwrap_err().contains("synthetic.cells"));
    cfg.synthetic = SyntheticConfig { share: 0.2, stop_soh: [0.8, 0.5], ..SyntheticConfig::default() };
    assert!(cfg.validate().unwrap_err().contains("synthetic.stop_soh"), "a reversed range");
    cfg.synthetic = SyntheticConfig { share: 0.2, knee_fade: [0.0, 1.0], ..SyntheticConfig::default() };
    assert!(cfg.validate().unwrap_err().contains("synthetic.knee_fade"), "log-uniform needs a positive lower bound");
}
