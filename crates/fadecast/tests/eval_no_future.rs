//! No forecaster can see data past the forecast origin: the evaluator hands it a context that is
//! exactly the cell's prefix, asks only about later cycles, and every baseline's forecast is
//! unchanged when the cell's future is rewritten.

mod eval_common;

use std::sync::Mutex;

use eval_common::{checkup, fading};
use fadecast::eval::baselines::{self, TrainData, BASELINES};
use fadecast::eval::split::Split;
use fadecast::eval::tasks::{windows, Task};
use fadecast::eval::{evaluate, Context, Forecaster, Quantiles, Selected, Selection};

/// Records every context and query it is given.
struct Spy(Mutex<Vec<(Context, Vec<f64>)>>);

impl Forecaster for Spy {
    fn name(&self) -> &str {
        "spy"
    }
    fn probabilistic(&self) -> bool {
        false
    }
    fn forecast(&self, ctx: &Context, at: &[f64]) -> Quantiles {
        self.0.lock().unwrap().push((ctx.clone(), at.to_vec()));
        Quantiles::point(vec![1.0; at.len()])
    }
}

fn corpus() -> (Vec<fadecast::Cell>, Vec<Split>) {
    let mut cells = fading("A", 10, 300);
    cells.extend(fading("B", 6, 200));
    cells.push(checkup("C", "c1", &[0.0, 50.0, 100.0, 150.0, 200.0, 260.0], |c| 1.0 - 0.0012 * c));
    let splits = cells
        .iter()
        .enumerate()
        .map(|(i, c)| match (c.meta.dataset.as_str(), i % 5) {
            ("C", _) => Split::Unseen,
            (_, 0) => Split::Test,
            (_, 1) => Split::Val,
            _ => Split::Train,
        })
        .collect();
    (cells, splits)
}

#[test]
fn the_evaluator_passes_only_the_prefix_and_asks_only_about_later_cycles() {
    let (cells, splits) = corpus();
    for task in Task::ALL {
        let spy = Spy(Mutex::new(Vec::new()));
        let sel = Selected { cells: &cells, splits: &splits, selection: Selection::All, split_name: "all".into(), split_version: None, seen: &|_| true };
        evaluate(&spy, &sel, task).unwrap();
        let calls = spy.0.into_inner().unwrap();
        assert!(!calls.is_empty(), "{task:?} made windows");
        for (ctx, at) in calls {
            let is_prefix = |c: &fadecast::Cell| {
                c.meta.dataset == ctx.dataset
                    && c.cycles.len() > ctx.len()
                    && c.cycles[..ctx.len()].iter().map(|y| y.cycle).eq(ctx.cycles().iter().copied())
                    && c.cycles[..ctx.len()].iter().map(|y| y.soh).eq(ctx.soh().iter().copied())
            };
            let cell = cells.iter().find(|c| is_prefix(c)).expect("the context is exactly a prefix of a cell");
            assert!(at.iter().all(|c| *c > ctx.origin()), "{task:?}: asked about a cycle at or before the origin");
            // Nothing after the origin leaked into the context.
            assert!(ctx.cycles().iter().all(|c| *c <= ctx.origin()) && ctx.len() < cell.cycles.len());
        }
    }
}

#[test]
fn every_baseline_forecast_is_unchanged_when_the_future_is_rewritten() {
    let (cells, splits) = corpus();
    let data = TrainData { cells: &cells, splits: &splits };
    let test: Vec<usize> = (0..cells.len()).filter(|i| matches!(splits[*i], Split::Test | Split::Unseen)).collect();
    for (name, _) in BASELINES {
        let f = baselines::build(name, Some(&data)).unwrap();
        for task in Task::ALL {
            for w in windows(&cells, task, |i| test.contains(&i)) {
                let n = w.context.len();
                let mut altered = cells[w.cell].clone();
                for y in &mut altered.cycles[n..] {
                    y.soh = 0.1;
                    y.cycle += 0.5;
                }
                let ctx2 = Context::new(&altered, n);
                let (a, b) = (f.forecast(&w.context, w.target.query()), f.forecast(&ctx2, w.target.query()));
                assert_eq!(a, b, "{name} {task:?}: forecast depends on data after the origin");
                assert!(a.p50.iter().all(|v| v.is_finite()), "{name}: finite forecast");
            }
        }
    }
}
