//! Scoring one forecaster on one task and split: windows ─▶ forecasts (in parallel) ─▶ metrics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::forecaster::{sanitise, Context, Forecaster, Quantiles};
use super::metrics::{dataset_metrics, eol_prediction, macro_metrics, CellMetrics, DatasetMetrics, MacroMetrics, PointSums};
use super::split::Split;
use super::tasks::{windows, Target, Task, Window};
use crate::data::Cell;

pub const METRICS_SCHEMA_VERSION: u32 = 1;
/// Cells per dataset kept for the report's plots.
pub const EXAMPLES_PER_DATASET: usize = 3;

/// Which cells are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    Test,
    Unseen,
    /// Test and unseen cells (never train or val).
    All,
    /// The seen datasets' validation cells: for choosing a model's settings, never for reporting.
    Val,
}

impl Selection {
    pub fn name(self) -> &'static str {
        match self {
            Selection::Test => "test",
            Selection::Unseen => "unseen",
            Selection::All => "all",
            Selection::Val => "val",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Selection::Test, Selection::Unseen, Selection::All, Selection::Val].into_iter().find(|x| x.name() == s)
    }
    pub fn includes(self, s: Split) -> bool {
        match self {
            Selection::Test => s == Split::Test,
            Selection::Unseen => s == Split::Unseen,
            Selection::All => matches!(s, Split::Test | Split::Unseen),
            Selection::Val => s == Split::Val,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Units {
    pub mae: String,
    pub rmse: String,
    pub mape: String,
}

/// `metrics.json`. See the `eval` module docs for the schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    pub schema_version: u32,
    pub model: String,
    #[serde(default)]
    pub model_settings: String,
    pub probabilistic: bool,
    pub task: String,
    pub split: String,
    /// Version of the split file the cells were selected by (`None` for `--data`).
    pub split_version: Option<u32>,
    pub units: Units,
    pub n_windows: usize,
    /// Set when the scored cells were perturbed ([`crate::eval::perturb`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perturbation: Option<crate::eval::perturb::Perturbation>,
    #[serde(rename = "macro")]
    pub macro_all: Option<MacroMetrics>,
    pub macro_seen: Option<MacroMetrics>,
    pub macro_unseen: Option<MacroMetrics>,
    pub datasets: BTreeMap<String, DatasetMetrics>,
    /// Selected cells the task has no window for (too short, or never reaching EOL), per dataset.
    pub cells_without_window: BTreeMap<String, usize>,
    pub cells: Vec<CellMetrics>,
    /// `--data` only: files of the folder that could not be read, so were not scored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable_files: Vec<UnreadableFile>,
}

/// A file left out of a scored folder, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnreadableFile {
    pub path: String,
    pub error: String,
}

/// One scored window kept for plotting.
#[derive(Debug, Clone)]
pub struct Example {
    pub dataset: String,
    pub cell_id: String,
    pub context: (Vec<f64>, Vec<f64>),
    /// The cell's observations after the origin (for eol: all of them, for the picture only).
    pub truth: (Vec<f64>, Vec<f64>),
    pub query: Vec<f64>,
    pub forecast: Quantiles,
    pub eol_true: Option<f64>,
}

pub struct Scored {
    pub report: MetricsReport,
    pub examples: Vec<Example>,
}

/// What the evaluator needs to know about the cells beside the cells themselves.
pub struct Selected<'a> {
    pub cells: &'a [Cell],
    pub splits: &'a [Split],
    pub selection: Selection,
    /// Reported as `split` (e.g. "test", or "data" for a user's cells).
    pub split_name: String,
    pub split_version: Option<u32>,
    /// Whether a dataset was seen in training (for the seen / unseen macros).
    pub seen: &'a (dyn Fn(&str) -> bool + Sync),
}

/// Scores `f` on every window of `task` over the selected cells.
pub fn evaluate(f: &dyn Forecaster, sel: &Selected, task: Task) -> Result<Scored, String> {
    let keep = |i: usize| sel.selection.includes(sel.splits[i]);
    let ws: Vec<Window> = windows(sel.cells, task, keep);
    let requests: Vec<(&Context, &[f64])> = ws.iter().map(|w| (&w.context, w.target.query())).collect();
    let forecasts: Vec<Quantiles> = f
        .forecast_many(&requests)
        .into_iter()
        .zip(&ws)
        .map(|(q, w)| {
            if q.p10.len() != w.target.query().len() || q.p50.len() != q.p10.len() || q.p90.len() != q.p10.len() {
                return Err(format!(
                    "model `{}` returned {} values for {} requested cycles (cell {})",
                    f.name(),
                    q.len(),
                    w.target.query().len(),
                    sel.cells[w.cell].key()
                ));
            }
            Ok(sanitise(q))
        })
        .collect::<Result<_, _>>()?;

    // Per cell: pool the windows.
    let prob = f.probabilistic();
    let mut by_cell: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (k, w) in ws.iter().enumerate() {
        by_cell.entry(w.cell).or_default().push(k);
    }
    let mut cells = Vec::new();
    let mut horizon: BTreeMap<String, PointSums> = BTreeMap::new();
    for (&ci, ks) in &by_cell {
        let cell = &sel.cells[ci];
        let (d, id, split) = (&cell.meta.dataset, &cell.meta.cell_id, sel.splits[ci].name());
        match &ws[ks[0]].target {
            Target::Eol { eol_cycle, query } => {
                let p = eol_prediction(&forecasts[ks[0]], query);
                cells.push(CellMetrics::eol(d, id, split, *eol_cycle, &p, prob));
            }
            Target::Trajectory { .. } => {
                let mut sums = PointSums::default();
                for &k in ks {
                    if let Target::Trajectory { cycles, soh } = &ws[k].target {
                        sums.add(&forecasts[k], cycles, soh, ws[k].context.origin());
                    }
                }
                let h = horizon.entry(d.clone()).or_default();
                for (b, (n, abs, signed)) in sums.horizon.iter().enumerate() {
                    h.horizon[b].0 += n;
                    h.horizon[b].1 += abs;
                    h.horizon[b].2 += signed;
                }
                cells.push(CellMetrics::trajectory(d, id, split, ks.len(), &sums, prob));
            }
        }
    }

    let eol = matches!(task, Task::Eol(_));
    let mut by_dataset: BTreeMap<String, Vec<&CellMetrics>> = BTreeMap::new();
    for c in &cells {
        by_dataset.entry(c.dataset.clone()).or_default().push(c);
    }
    let datasets: BTreeMap<String, DatasetMetrics> = by_dataset
        .iter()
        .map(|(d, cs)| {
            let h = horizon.get(d).map(|s| s.horizon.to_vec()).unwrap_or_default();
            (d.clone(), dataset_metrics(cs, (sel.seen)(d), &h, eol))
        })
        .collect();
    let mut cells_without_window = BTreeMap::new();
    for (i, c) in sel.cells.iter().enumerate() {
        if keep(i) && !by_cell.contains_key(&i) {
            *cells_without_window.entry(c.meta.dataset.clone()).or_insert(0) += 1;
        }
    }

    let examples = examples(sel.cells, &ws, &forecasts, &by_cell);
    let unit = if eol { "cycles" } else { "SOH percentage points" };
    let report = MetricsReport {
        schema_version: METRICS_SCHEMA_VERSION,
        model: f.name().to_string(),
        model_settings: f.settings(),
        probabilistic: prob,
        task: task.label(),
        split: sel.split_name.clone(),
        split_version: sel.split_version,
        units: Units { mae: unit.into(), rmse: unit.into(), mape: "%".into() },
        n_windows: ws.len(),
        perturbation: None,
        macro_all: macro_metrics(datasets.values()),
        macro_seen: macro_metrics(datasets.values().filter(|d| d.seen)),
        macro_unseen: macro_metrics(datasets.values().filter(|d| !d.seen)),
        datasets,
        cells_without_window,
        cells,
        unreadable_files: Vec::new(),
    };
    Ok(Scored { report, examples })
}

/// The first window of the first few cells of each dataset.
fn examples(cells: &[Cell], ws: &[Window], fc: &[Quantiles], by_cell: &BTreeMap<usize, Vec<usize>>) -> Vec<Example> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (&ci, ks) in by_cell {
        let cell = &cells[ci];
        let n = count.entry(&cell.meta.dataset).or_default();
        if *n >= EXAMPLES_PER_DATASET {
            continue;
        }
        *n += 1;
        let w = &ws[ks[0]];
        let origin = w.context.origin();
        let after: Vec<_> = cell.cycles.iter().filter(|c| c.cycle > origin).collect();
        out.push(Example {
            dataset: cell.meta.dataset.clone(),
            cell_id: cell.meta.cell_id.clone(),
            context: (w.context.cycles().to_vec(), w.context.soh().to_vec()),
            truth: (after.iter().map(|c| c.cycle).collect(), after.iter().map(|c| c.soh).collect()),
            query: w.target.query().to_vec(),
            forecast: fc[ks[0]].clone(),
            eol_true: match &w.target {
                Target::Eol { eol_cycle, .. } => Some(*eol_cycle),
                Target::Trajectory { .. } => None,
            },
        });
    }
    out
}
