//! The tasks, as forecast windows every model is scored on identically.
//!
//! - `early`: the context is the observations up to 20 % of the cell's observed cycle span (first
//!   to last observation), and at least the first [`MIN_CONTEXT_PER_CYCLE`] observations
//!   (per-cycle data) or [`MIN_CONTEXT_CHECKUP`] check-ups; every later observation is a target.
//! - `rolling`: origins at 40 %, 60 % and 80 % of the span (same minimum context); every later
//!   observation is a target. A cell contributes up to three windows.
//! - `eol` (N cycles, [`EOL_CONTEXT_CYCLES`] unless chosen): the context is the observations
//!   before cycle `first + N` (at least 3); the target is the cycle at which SOH first drops
//!   below [`EOL_THRESHOLD`] (linearly interpolated between the last observation at or above it
//!   and the first below), for cells that reach it after the context. The forecaster is queried on a fixed grid of [`EOL_GRID_POINTS`] cycles spaced
//!   [`EOL_GRID_STEP`] apart after the origin, the same for every cell, so the horizon never
//!   depends on the truth; a forecast that never crosses is censored at the grid's end.
//! - `first` (N cycles, [`FIRST_DEFAULT_CYCLES`] unless chosen): the context is the observations
//!   before cycle `first + N` (at least [`EOL_MIN_CONTEXT`], as for `eol`); every later observation
//!   is a target. The early task's origin moves with each cell's life; this one is the same number
//!   of cycles into every cell's test, as a user forecasting a new cell has it.
//!
//! A window whose context would hold every observation (no target) is skipped.

use serde::{Deserialize, Serialize};

use super::forecaster::Context;
use crate::data::{Cell, Observation};

pub const EARLY_FRACTION: f64 = 0.2;
pub const ROLLING_FRACTIONS: [f64; 3] = [0.4, 0.6, 0.8];
pub const MIN_CONTEXT_PER_CYCLE: usize = 50;
pub const MIN_CONTEXT_CHECKUP: usize = 3;
pub const EOL_THRESHOLD: f64 = 0.8;
pub const EOL_CONTEXT_CYCLES: u32 = 100;
pub const EOL_MIN_CONTEXT: usize = 3;
pub const EOL_GRID_STEP: f64 = 10.0;
pub const EOL_GRID_POINTS: usize = 1000;
pub const FIRST_DEFAULT_CYCLES: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Early,
    Rolling,
    /// End of life from the first N cycles.
    Eol(u32),
    /// The trajectory from the first N cycles.
    First(u32),
}

impl Task {
    pub const ALL: [Task; 4] = [Task::Early, Task::Rolling, Task::Eol(EOL_CONTEXT_CYCLES), Task::First(FIRST_DEFAULT_CYCLES)];
    pub fn name(self) -> &'static str {
        match self {
            Task::Early => "early",
            Task::Rolling => "rolling",
            Task::Eol(_) => "eol",
            Task::First(_) => "first",
        }
    }
    /// The name reports carry: `first` with its cycles (`first100`), and `eol` with them where they
    /// are not the usual 100 (`eol20`), so runs with different N never share a table.
    pub fn label(self) -> String {
        match self {
            Task::First(n) => format!("first{n}"),
            Task::Eol(n) if n != EOL_CONTEXT_CYCLES => format!("eol{n}"),
            t => t.name().to_string(),
        }
    }
    /// The task a report's label names: [`Task::label`] read back (`None` for any other text).
    pub fn from_label(label: &str) -> Option<Self> {
        let cycles = |prefix: &str| label.strip_prefix(prefix).and_then(|n| n.parse::<u32>().ok());
        match label {
            "early" => Some(Task::Early),
            "rolling" => Some(Task::Rolling),
            "eol" => Some(Task::Eol(EOL_CONTEXT_CYCLES)),
            _ => cycles("eol").map(Task::Eol).or_else(|| cycles("first").map(Task::First)),
        }
    }
    /// Whether a report's task label is an end-of-life task (scored in cycles, not SOH).
    pub fn is_eol_label(label: &str) -> bool {
        matches!(Task::from_label(label), Some(Task::Eol(_)))
    }
    /// `eol` and `first` take their usual cycles; see [`Task::Eol`] and [`Task::First`] for others.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// What a window is scored against.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// The observations after the origin.
    Trajectory { cycles: Vec<f64>, soh: Vec<f64> },
    /// The true end-of-life cycle, and the cycles the forecaster is asked about.
    Eol { eol_cycle: f64, query: Vec<f64> },
}

impl Target {
    /// The cycles the forecaster is asked about.
    pub fn query(&self) -> &[f64] {
        match self {
            Target::Trajectory { cycles, .. } => cycles,
            Target::Eol { query, .. } => query,
        }
    }
}

/// One forecast problem: a context (up to the origin) and what comes after.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Index of the cell in the slice the windows were made from.
    pub cell: usize,
    /// The origin as a fraction of the cell's span (rolling/early), `None` for eol and first.
    pub fraction: Option<f64>,
    pub context: Context,
    pub target: Target,
}

fn min_context(cell: &Cell) -> usize {
    match cell.meta.observation {
        Observation::PerCycle => MIN_CONTEXT_PER_CYCLE,
        Observation::CheckUp => MIN_CONTEXT_CHECKUP,
    }
}

/// Number of observations in the context of an origin at `fraction` of the cell's span.
pub fn context_len(cell: &Cell, fraction: f64) -> usize {
    let c = &cell.cycles;
    if c.is_empty() {
        return 0;
    }
    let cutoff = c[0].cycle + fraction * (c[c.len() - 1].cycle - c[0].cycle);
    let by_span = c.iter().take_while(|y| y.cycle <= cutoff).count();
    by_span.max(min_context(cell)).min(c.len())
}

/// The window with the first `n` observations as context and the rest as target, if any remain.
pub fn trajectory_window(cells_index: usize, cell: &Cell, n: usize, fraction: Option<f64>) -> Option<Window> {
    if n == 0 || n >= cell.cycles.len() {
        return None;
    }
    let rest = &cell.cycles[n..];
    Some(Window {
        cell: cells_index,
        fraction,
        context: Context::new(cell, n),
        target: Target::Trajectory {
            cycles: rest.iter().map(|c| c.cycle).collect(),
            soh: rest.iter().map(|c| c.soh).collect(),
        },
    })
}

/// First cycle at which `soh` drops below `threshold`, interpolated linearly between the last
/// point at or above it and the first below (the first point itself if it is already below).
pub fn crossing(cycles: &[f64], soh: &[f64], threshold: f64) -> Option<f64> {
    let i = soh.iter().position(|s| *s < threshold)?;
    if i == 0 {
        return Some(cycles[0]);
    }
    let (c0, c1, s0, s1) = (cycles[i - 1], cycles[i], soh[i - 1], soh[i]);
    Some(c0 + (s0 - threshold) / (s0 - s1) * (c1 - c0))
}

/// How many observations lie before cycle `first + cycles`, if at least [`EOL_MIN_CONTEXT`].
fn observations_before(cell: &Cell, cycles: f64) -> Option<usize> {
    let c = &cell.cycles;
    let first = c.first()?.cycle;
    let n = c.iter().take_while(|y| y.cycle < first + cycles).count();
    (n >= EOL_MIN_CONTEXT).then_some(n)
}

/// The eol window of a cell from its first `context_cycles` cycles, if it reaches the threshold
/// after a usable context.
pub fn eol_window(cells_index: usize, cell: &Cell, context_cycles: u32) -> Option<Window> {
    let c = &cell.cycles;
    let n = observations_before(cell, f64::from(context_cycles))?;
    if n >= c.len() {
        return None;
    }
    let eol = crossing(&cell.cycle_axis(), &cell.soh(), EOL_THRESHOLD)?;
    let origin = c[n - 1].cycle;
    if eol <= origin {
        return None;
    }
    let query = (1..=EOL_GRID_POINTS).map(|k| origin + k as f64 * EOL_GRID_STEP).collect();
    Some(Window { cell: cells_index, fraction: None, context: Context::new(cell, n), target: Target::Eol { eol_cycle: eol, query } })
}

/// Every window of `task` for one cell (index `i` in its slice).
pub fn windows_for(i: usize, cell: &Cell, task: Task) -> Vec<Window> {
    match task {
        Task::Early => {
            trajectory_window(i, cell, context_len(cell, EARLY_FRACTION), Some(EARLY_FRACTION)).into_iter().collect()
        }
        Task::Rolling => {
            // Short cells can hit the minimum context at several fractions: score each context once.
            let mut seen = Vec::new();
            ROLLING_FRACTIONS
                .iter()
                .filter_map(|f| {
                    let n = context_len(cell, *f);
                    if seen.contains(&n) {
                        return None;
                    }
                    seen.push(n);
                    trajectory_window(i, cell, n, Some(*f))
                })
                .collect()
        }
        Task::Eol(cycles) => eol_window(i, cell, cycles).into_iter().collect(),
        Task::First(cycles) => observations_before(cell, f64::from(cycles))
            .and_then(|n| trajectory_window(i, cell, n, None))
            .into_iter()
            .collect(),
    }
}

/// Every window of `task` for the cells selected by `keep`.
pub fn windows(cells: &[Cell], task: Task, keep: impl Fn(usize) -> bool) -> Vec<Window> {
    cells.iter().enumerate().filter(|(i, _)| keep(*i)).flat_map(|(i, c)| windows_for(i, c, task)).collect()
}
