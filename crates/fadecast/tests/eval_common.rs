//! Synthetic cells shared by the `eval_*` tests (included with `mod eval_common;`).
#![allow(dead_code)]

use fadecast::data::{Cell, CellMeta, Cycle, Observation, N_DESCRIPTORS};

/// A per-cycle cell with SOH = f(cycle) at cycles 1..=n.
pub fn cell(dataset: &str, id: &str, n: usize, f: impl Fn(f64) -> f64) -> Cell {
    Cell {
        meta: CellMeta { dataset: dataset.into(), cell_id: id.into(), reference_rule: "nominal".into(), ..Default::default() },
        cycles: (1..=n)
            .map(|i| {
                let c = i as f64;
                Cycle { cycle: c, capacity_ah: Some(f(c)), soh: f(c), descriptors: [None; N_DESCRIPTORS] }
            })
            .collect(),
    }
}

/// A check-up cell: SOH = f(cycle) at the given cycles.
pub fn checkup(dataset: &str, id: &str, cycles: &[f64], f: impl Fn(f64) -> f64) -> Cell {
    let mut c = cell(dataset, id, 0, &f);
    c.meta.observation = Observation::CheckUp;
    c.cycles = cycles.iter().map(|&x| Cycle { cycle: x, capacity_ah: Some(f(x)), soh: f(x), descriptors: [None; N_DESCRIPTORS] }).collect();
    c
}

/// Small deterministic noise in [-amp, amp].
pub fn noise(i: usize, amp: f64) -> f64 {
    let h = fadecast::eval::split::fnv1a64(&i.to_le_bytes());
    amp * ((h % 2001) as f64 / 1000.0 - 1.0)
}

/// A family of cells that fade like 1 − a·c − b·e^{c/k}: per dataset a shared shape, per cell a
/// varied rate, with a little noise.
pub fn fading(dataset: &str, n_cells: usize, n_cycles: usize) -> Vec<Cell> {
    (0..n_cells)
        .map(|j| {
            let rate = 1.0 + 0.5 * (j as f64 / n_cells.max(1) as f64);
            let mut c = cell(dataset, &format!("{dataset}-{j:03}"), n_cycles, |x| {
                1.0 - rate * (1e-4 * x + 0.02 * ((x / n_cycles as f64) * 3.0).exp() - 0.02)
            });
            for (i, y) in c.cycles.iter_mut().enumerate() {
                y.soh += noise(i + 1000 * j, 0.002);
            }
            c
        })
        .collect()
}
