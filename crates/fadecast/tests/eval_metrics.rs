//! The metrics, pinned on hand-computed examples.

mod eval_common;

use eval_common::{cell, checkup};
use fadecast::eval::baselines::persistence::Persistence;
use fadecast::eval::metrics::{dataset_metrics, eol_prediction, horizon_bin, macro_metrics, pinball, CellMetrics, PointSums};
use fadecast::eval::split::Split;
use fadecast::eval::tasks::{crossing, Task};
use fadecast::eval::{evaluate, Quantiles, Selected, Selection};

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9, "{a} != {b}");
}

#[test]
fn pinball_loss_by_hand() {
    close(pinball(1.0, 0.8, 0.1), 0.02); // under-forecast, low quantile: 0.1 · 0.2
    close(pinball(1.0, 1.2, 0.1), 0.18); // over-forecast, low quantile: 0.9 · 0.2
    close(pinball(1.0, 0.8, 0.9), 0.18);
}

#[test]
fn trajectory_metrics_by_hand() {
    // truth 1.0, 0.9; p50 0.9, 0.9; p10 0.85, 0.8; p90 0.95, 0.95
    let q = Quantiles { p10: vec![0.85, 0.8], p50: vec![0.9, 0.9], p90: vec![0.95, 0.95] };
    let mut s = PointSums::default();
    s.add(&q, &[110.0, 260.0], &[1.0, 0.9], 100.0);
    let m = CellMetrics::trajectory("D", "c", "test", 1, &s, true);
    close(m.mae, 5.0); // mean(0.1, 0) · 100
    close(m.rmse, 100.0 * (0.01f64 / 2.0).sqrt()); // 7.0711
    close(m.mape, 5.0); // mean(0.1/1.0, 0/0.9) · 100
    close(m.coverage_p10_p90.unwrap(), 0.5); // 1.0 is above p90; 0.9 is inside
    // point 1: (0.1·0.15 + 0.5·0.1 + 0.9·0.05)/3 = 0.036667; point 2: (0.1·0.1 + 0 + 0.1·0.05)/3 = 0.005
    close(m.pinball.unwrap(), 100.0 * (0.11 / 3.0 + 0.015 / 3.0) / 2.0);
    // horizons 10 and 160 cycles fall in bins 0-50 and 100-200
    assert_eq!((s.horizon[0].0, s.horizon[2].0), (1, 1));
    assert_eq!((horizon_bin(10.0), horizon_bin(160.0), horizon_bin(5000.0)), (0, 2, 6));
    let point = CellMetrics::trajectory("D", "c", "test", 1, &s, false);
    assert_eq!((point.coverage_p10_p90, point.pinball), (None, None));
}

#[test]
fn bias_is_the_medians_signed_error_negative_when_the_forecast_runs_low() {
    // truth 1.0, 0.9, 0.8 at 10, 160, 170 cycles ahead; p50 0.9 (below), 0.9, 0.85 (above)
    let q = Quantiles { p10: vec![0.8; 3], p50: vec![0.9, 0.9, 0.85], p90: vec![1.0; 3] };
    let mut s = PointSums::default();
    s.add(&q, &[110.0, 260.0, 270.0], &[1.0, 0.9, 0.8], 100.0);
    let m = CellMetrics::trajectory("D", "c", "test", 1, &s, true);
    close(m.bias.unwrap(), 100.0 * (-0.1 + 0.0 + 0.05) / 3.0); // −1.67 pp: pessimistic on the whole
    close(m.mae, 100.0 * 0.15 / 3.0); // the same errors, unsigned
    let d = dataset_metrics(&[&m], true, &s.horizon, false);
    let bins: Vec<(&str, f64)> = d.horizon.iter().map(|b| (b.cycles_ahead.as_str(), b.bias.unwrap())).collect();
    assert_eq!(bins.len(), 2);
    assert_eq!((bins[0].0, bins[1].0), ("0-50", "100-200"));
    close(bins[0].1, -10.0);
    close(bins[1].1, 2.5); // (0 + 5) / 2
    // end of life: predicted at 15 cycles, true at 20: five cycles too early
    let p = eol_prediction(&Quantiles::point(vec![0.85, 0.75, 0.7]), &[10.0, 20.0, 30.0]);
    let e = CellMetrics::eol("D", "c", "test", 20.0, &p, false);
    close(e.bias.unwrap(), -5.0);
    let late = CellMetrics { bias: Some(15.0), ..e.clone() };
    let d = dataset_metrics(&[&e, &late], true, &[], true);
    close(d.bias.unwrap(), 5.0); // a mean of signed errors: early and late cancel
    close(macro_metrics([&d].into_iter()).unwrap().bias.unwrap(), 5.0);
}

#[test]
fn dataset_and_macro_are_plain_means() {
    let mk = |mae: f64, rmse: f64| CellMetrics { mae, rmse, mape: mae, ..CellMetrics::trajectory("D", "c", "test", 1, &PointSums::default(), false) };
    let (a, b) = (mk(5.0, 6.0), mk(1.0, 2.0));
    let d1 = dataset_metrics(&[&a, &b], true, &[], false);
    close(d1.mae, 3.0);
    close(d1.rmse, 4.0);
    let c = mk(10.0, 10.0);
    let d2 = dataset_metrics(&[&c], false, &[], false);
    let m = macro_metrics([&d1, &d2].into_iter()).unwrap();
    close(m.mae, 6.5); // (3 + 10) / 2: datasets weigh the same, whatever their cell counts
    assert_eq!((m.n_datasets, m.n_cells), (2, 3));
    assert!(macro_metrics(std::iter::empty()).is_none());
}

#[test]
fn eol_by_hand() {
    // p50 crosses 0.8 between cycles 10 (0.85) and 20 (0.75): at 15.
    let q = Quantiles { p10: vec![0.79, 0.7, 0.6], p50: vec![0.85, 0.75, 0.7], p90: vec![0.9, 0.85, 0.82] };
    let p = eol_prediction(&q, &[10.0, 20.0, 30.0]);
    close(p.p50, 15.0);
    close(p.p10, 10.0);
    assert!(p.p90.is_infinite() && !p.censored, "p90 never crosses: open interval");
    let m = CellMetrics::eol("D", "c", "test", 20.0, &p, true);
    close(m.mae, 5.0);
    close(m.mape, 25.0);
    assert_eq!(m.eol_within_15, Some(false));
    assert_eq!(m.coverage_p10_p90, Some(1.0));
    // two cells with errors 5 and 15: rmse = √((25 + 225) / 2)
    let mut m2 = m.clone();
    (m2.mae, m2.rmse, m2.eol_within_15) = (15.0, 15.0, Some(true));
    let d = dataset_metrics(&[&m, &m2], true, &[], true);
    close(d.rmse, 125f64.sqrt());
    close(d.acc15.unwrap(), 0.5);
    // a forecast that never crosses is censored at the grid's end
    let flat = Quantiles::point(vec![0.9; 3]);
    let p = eol_prediction(&flat, &[10.0, 20.0, 30.0]);
    assert!(p.censored && p.p50 == 30.0);
    close(crossing(&[0.0, 10.0], &[0.9, 0.7], 0.8).unwrap(), 5.0);
}

#[test]
fn persistence_on_a_straight_line_by_hand() {
    // SOH = 1 − 0.001·c at c = 1..100. early: context = max(20 % of span, 50 obs) = cycles 1..50,
    // persistence holds 0.95; the errors at c = 51..100 are 0.001·k, k = 1..50.
    let cells = vec![cell("D", "a", 100, |c| 1.0 - 0.001 * c)];
    let splits = vec![Split::Test];
    let sel = Selected { cells: &cells, splits: &splits, selection: Selection::Test, split_name: "test".into(), split_version: Some(1), seen: &|_| true };
    let r = evaluate(&Persistence, &sel, Task::Early).unwrap().report;
    let c = &r.cells[0];
    assert_eq!((c.n_windows, c.n_points), (1, 50));
    close(c.mae, 0.1 * 25.5); // mean(k) · 0.001 · 100
    close(c.rmse, 0.1 * (50.0f64 * 51.0 * 101.0 / 6.0 / 50.0).sqrt());
    let mape: f64 = (1..=50).map(|k| 0.001 * k as f64 / (1.0 - 0.001 * (50 + k) as f64)).sum::<f64>() / 50.0 * 100.0;
    close(c.mape, mape);
    assert_eq!(r.macro_all.as_ref().unwrap().mae, c.mae);
    assert!(r.macro_unseen.is_none());
    // rolling: origins at 40 % (c ≤ 40.6 → min 50 obs), 60 % (60 obs), 80 % (80 obs); the 40 % one
    // hits the minimum context, which the 60 % does not, so three distinct windows.
    let r = evaluate(&Persistence, &sel, Task::Rolling).unwrap().report;
    assert_eq!(r.cells[0].n_windows, 3);
    assert_eq!(r.cells[0].n_points, 50 + 40 + 20);
}

#[test]
fn first_task_takes_the_same_cycles_of_every_cell_as_context() {
    // SOH = 1 − 0.001·c at c = 1..100; first 20 cycles: the context is cycles 1..20 (before
    // 1 + 20), persistence holds 0.98, and the errors at c = 21..100 are 0.001·k, k = 1..80.
    // A check-up cell with two check-ups in its first 20 cycles has too short a context.
    let cells = vec![cell("D", "a", 100, |c| 1.0 - 0.001 * c), checkup("D", "b", &[0.0, 10.0, 40.0, 80.0], |c| 1.0 - 0.001 * c)];
    let splits = vec![Split::Test; 2];
    let sel = Selected { cells: &cells, splits: &splits, selection: Selection::Test, split_name: "test".into(), split_version: Some(1), seen: &|_| true };
    let r = evaluate(&Persistence, &sel, Task::First(20)).unwrap().report;
    assert_eq!(r.task, "first20");
    assert_eq!(r.cells.len(), 1);
    assert_eq!((r.cells[0].n_windows, r.cells[0].n_points), (1, 80));
    close(r.cells[0].mae, 0.1 * 40.5);
    assert_eq!(r.cells_without_window.get("D"), Some(&1));
    // Another N moves the origin for every cell alike: three check-ups lie before cycle 50.
    let r = evaluate(&Persistence, &sel, Task::First(50)).unwrap().report;
    assert_eq!(r.cells.iter().map(|c| c.n_points).collect::<Vec<_>>(), [50, 1]);
    assert!(r.cells_without_window.is_empty());
}

#[test]
fn eol_task_from_other_cycles_is_labelled_with_them() {
    // SOH = 1 − 0.001·c at c = 1..300 reaches 0.8 at cycle 200. From the first 20 cycles the
    // context is cycles 1..20; persistence never crosses, so it is censored at the grid's end.
    let cells = vec![cell("D", "a", 300, |c| 1.0 - 0.001 * c)];
    let splits = vec![Split::Test];
    let sel = Selected { cells: &cells, splits: &splits, selection: Selection::Test, split_name: "test".into(), split_version: Some(1), seen: &|_| true };
    let r = evaluate(&Persistence, &sel, Task::Eol(20)).unwrap().report;
    assert_eq!(r.task, "eol20");
    assert_eq!(r.units.rmse, "cycles");
    let c = &r.cells[0];
    close(c.eol_true.unwrap(), 200.0);
    assert_eq!(c.eol_censored, Some(true));
    close(c.eol_pred.unwrap(), 20.0 + 10.0 * 1000.0);
    // The usual 100 cycles keep the plain name, so older metrics files still compare.
    assert_eq!(evaluate(&Persistence, &sel, Task::Eol(100)).unwrap().report.task, "eol");
    assert!(Task::is_eol_label("eol") && Task::is_eol_label("eol20") && !Task::is_eol_label("early") && !Task::is_eol_label("eolx"));
    for t in [Task::Early, Task::Rolling, Task::Eol(100), Task::Eol(20), Task::First(20), Task::First(100)] {
        assert_eq!(Task::from_label(&t.label()), Some(t), "{t:?} reads back from its label");
    }
}
