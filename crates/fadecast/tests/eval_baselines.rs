//! The baselines do what they claim on data whose answer is known.

mod eval_common;

use eval_common::{cell, fading};
use fadecast::eval::baselines::{self, gp::Gp, linear::Linear, persistence::Persistence, TrainData};
use fadecast::eval::split::Split;
use fadecast::eval::tasks::Task;
use fadecast::eval::{evaluate, Context, Forecaster, Selected, Selection};

fn ctx_of(cell: &fadecast::Cell, n: usize) -> Context {
    Context::new(cell, n)
}

#[test]
fn persistence_and_linear_extrapolate_exactly() {
    let c = cell("D", "a", 100, |x| 1.0 - 0.002 * x);
    let ctx = ctx_of(&c, 40);
    let at = [60.0, 100.0];
    assert_eq!(Persistence.forecast(&ctx, &at).p50, vec![1.0 - 0.08; 2]);
    let p = Linear { fraction: 0.5 }.forecast(&ctx, &at).p50;
    assert!((p[0] - 0.88).abs() < 1e-9 && (p[1] - 0.8).abs() < 1e-9, "{p:?}");
}

#[test]
fn fade_models_extrapolate_their_own_family() {
    let c = cell("D", "a", 500, |x| 0.99 * (-0.0004 * x).exp());
    let ctx = ctx_of(&c, 100);
    let at = [300.0, 500.0];
    let truth: Vec<f64> = at.iter().map(|x: &f64| 0.99 * (-0.0004 * x).exp()).collect();
    for f in [&baselines::exponential::Exponential as &dyn Forecaster, &baselines::exponential::DoubleExponential] {
        let p = f.forecast(&ctx, &at).p50;
        assert!(p.iter().zip(&truth).all(|(a, b)| (a - b).abs() < 2e-3), "{}: {p:?} vs {truth:?}", f.name());
    }
    let c = cell("D", "b", 500, |x| 1.0 - 0.004 * x.sqrt());
    let p = baselines::power_law::PowerLaw.forecast(&ctx_of(&c, 100), &at).p50;
    assert!((p[1] - (1.0 - 0.004 * 500f64.sqrt())).abs() < 2e-3, "{p:?}");
}

#[test]
fn gp_intervals_are_ordered_and_widen_with_horizon() {
    let c = fading("D", 1, 300).remove(0);
    let q = Gp.forecast(&ctx_of(&c, 100), &[110.0, 300.0]);
    assert!(q.p10[0] <= q.p50[0] && q.p50[0] <= q.p90[0]);
    assert!(q.p90[1] - q.p10[1] > q.p90[0] - q.p10[0]);
}

/// Datasets "A" and "B" fade with different shapes; the per-dataset model learns each from its
/// own train cells and beats persistence on the test cells; calibrated intervals are not absurd.
#[test]
fn per_dataset_model_learns_the_dataset_and_beats_persistence() {
    let mut cells = fading("A", 30, 300);
    cells.extend(fading("B", 30, 200).into_iter().map(|mut c| {
        for y in &mut c.cycles {
            y.soh = 1.0 - 2.0 * (1.0 - y.soh);
        }
        c
    }));
    let splits: Vec<Split> = (0..cells.len()).map(|i| match i % 10 { 0 | 1 => Split::Test, 2 => Split::Val, _ => Split::Train }).collect();
    let data = TrainData { cells: &cells, splits: &splits };
    let model = baselines::build("per_dataset", Some(&data)).unwrap();
    let sel = Selected { cells: &cells, splits: &splits, selection: Selection::Test, split_name: "test".into(), split_version: None, seen: &|_| true };
    let ours = evaluate(model.as_ref(), &sel, Task::Early).unwrap().report;
    let base = evaluate(&Persistence, &sel, Task::Early).unwrap().report;
    let (a, b) = (ours.macro_all.unwrap(), base.macro_all.unwrap());
    assert!(a.rmse < 0.5 * b.rmse, "per_dataset {} vs persistence {}", a.rmse, b.rmse);
    let cov = a.coverage_p10_p90.unwrap();
    assert!((0.3..=1.0).contains(&cov), "coverage {cov}");
}

#[test]
fn unknown_models_and_missing_corpus_are_clear_errors() {
    let e = baselines::build("transformer9000", None).err().unwrap();
    assert!(e.contains("unknown model") && e.contains("persistence"), "{e}");
    let e = baselines::build("per_dataset", None).err().unwrap();
    assert!(e.contains("--corpus"), "{e}");
    assert!(baselines::build("gp", None).is_ok());
}
