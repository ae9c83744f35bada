//! Cleaning and standardisation, shared by every importer (public datasets and user data).
//!
//! The rules, in order:
//! 1. **Validate** every row: the cycle must be finite, ≥ 0 and at most [`MAX_CYCLE`]; capacity
//!    (or the source's normalised capacity) must be present, finite and > 0, a capacity at most
//!    [`MAX_CAPACITY_AH`]. Any violation is an error naming the file, the cell and the row: bad
//!    data is never silently repaired.
//! 2. **Order**: cycles must be strictly increasing. By default a duplicate or an out-of-order
//!    cycle is an error; an importer whose source is documented to need it may set
//!    [`CleanOptions::reorder`] to sort and merge duplicates (mean), counted in the stats.
//! 2b. **Partial cycles** (cycler exports only, [`CleanOptions::CYCLER_EXPORT`]): a cycle whose
//!    capacity is below [`PARTIAL_FRACTION`] of its neighbours' on both sides (of the largest of
//!    up to [`PARTIAL_NEIGHBOURS`] on each; at the ends, of the median of the one side) is left
//!    out, with a warning naming it: a raw export's first cycle is often a formation step or
//!    starts mid-discharge, its last is often cut when the test stopped, and diagnostic blocks
//!    (pulse tests) discharge only part of the cell; each would read as a sudden loss of
//!    capacity (an end of life observed at cycle 1). Curated datasets and per-cycle tables keep
//!    every row.
//! 3. **SOH** = capacity / reference capacity. Reference: the nominal capacity where known
//!    (`"nominal"`); otherwise, for per-cycle data, the median of the first
//!    [`INITIAL_OBSERVATIONS`] full capacities (`"initial"`: robust to a noisy first cycle; a
//!    capacity below [`PARTIAL_FRACTION`] of the median of the first [`INITIAL_WINDOW`] is a
//!    partial cycle — a pulse test, a cut-off discharge — and does not count), and for
//!    check-up data the first check-up (`"first check-up"`: check-ups are sparse, and five of them
//!    can span much of the early fade). Sources that publish only normalised capacity keep their
//!    normalisation (`"source-normalised"`) and have no capacity in Ah: their normalisation is
//!    relative to a first measurement, not to the nominal, so multiplying back would invent Ah.
//! 4. **Outliers** (per-cycle data with at least [`OUTLIER_WINDOW`] rows only; check-up series
//!    are too sparse for a local filter): a row is removed when its SOH is further than
//!    `max(OUTLIER_K · 1.4826 · MAD, OUTLIER_FLOOR)` from the median of the
//!    [`OUTLIER_WINDOW`] rows centred on it. The count removed per cell is reported.
//! 5. Descriptors: non-finite values become "unavailable" (they are optional by design).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{RawCell, RawCycle};
use crate::data::{Cell, Cycle, Observation};
use crate::error::{ErrorKind, ImportError, Result};

pub const INITIAL_OBSERVATIONS: usize = 5;
/// Above these a value is corrupt or mis-scaled, not a cell: the largest cells made hold a few
/// thousand Ah, and none lasts a million cycles. (A flipped byte in a binary export or a wrong
/// unit otherwise becomes the SOH reference, or a remaining life of 10^18 cycles.)
pub const MAX_CAPACITY_AH: f64 = 1e5;
pub const MAX_CYCLE: f64 = 1e6;
/// The rows whose median decides which of the first capacities are full cycles.
pub const INITIAL_WINDOW: usize = 20;
/// A capacity below this fraction of its neighbours' is a partial cycle, not fade: no cell
/// loses half its capacity from one cycle to the next.
pub const PARTIAL_FRACTION: f64 = 0.5;
/// Neighbours on each side a cycle's capacity is compared with (rule 2b).
pub const PARTIAL_NEIGHBOURS: usize = 5;
pub const OUTLIER_WINDOW: usize = 11;
const _: () = assert!(OUTLIER_WINDOW % 2 == 1, "the window's median is its middle value");
pub const OUTLIER_K: f64 = 5.0;
/// Minimum deviation (SOH fraction) that can count as an outlier, so that flat, quiet series
/// with a near-zero MAD keep their ordinary noise.
pub const OUTLIER_FLOOR: f64 = 0.02;

#[derive(Debug, Clone, Copy)]
pub struct CleanOptions {
    /// Sort rows by cycle and merge duplicate cycles instead of rejecting them.
    pub reorder: bool,
    /// Apply the rolling median / MAD outlier filter.
    pub remove_outliers: bool,
    /// Leave out partial cycles (rule 2b).
    pub drop_partial_cycles: bool,
}

impl CleanOptions {
    /// Reject duplicate / unsorted cycles (user data, and sources that are clean).
    pub const STRICT: Self = Self { reorder: false, remove_outliers: true, drop_partial_cycles: false };
    /// Sort and merge duplicates: only for sources whose PROVENANCE documents the need.
    pub const REORDER: Self = Self { reorder: true, remove_outliers: true, drop_partial_cycles: false };
    /// A raw cycler export, cut into cycles by `fadecast`: strict, and its partial cycles left out.
    pub const CYCLER_EXPORT: Self = Self { drop_partial_cycles: true, ..Self::STRICT };
}

impl Default for CleanOptions {
    fn default() -> Self {
        Self::STRICT
    }
}

/// What cleaning did to one cell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CleanStats {
    pub rows_read: usize,
    /// Rows the importer skipped for a documented source caveat, per reason.
    pub dropped_by_importer: BTreeMap<String, usize>,
    pub duplicates_merged: usize,
    pub reordered: bool,
    pub outliers_removed: usize,
    /// Cycles left out as partial cycles (rule 2b).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partial_cycles_dropped: Vec<f64>,
    pub rows_kept: usize,
}

/// Validates and standardises one raw cell.
pub fn clean(raw: RawCell, opts: CleanOptions) -> Result<(Cell, CleanStats)> {
    let RawCell { mut meta, file, mut rows, dropped } = raw;
    let cell_err = |kind: ErrorKind, row: usize| {
        ImportError::new(&file, kind).cell(meta.cell_id.clone()).row(row)
    };
    let mut stats = CleanStats {
        rows_read: rows.len() + dropped.values().sum::<usize>(),
        dropped_by_importer: dropped,
        ..Default::default()
    };
    if rows.is_empty() {
        return Err(ImportError::new(&file, ErrorKind::NoCycles).cell(meta.cell_id.clone()));
    }

    // 1. validate
    for r in &rows {
        if !r.cycle.is_finite() {
            return Err(cell_err(ErrorKind::NotFinite("cycle".into()), r.row));
        }
        if r.cycle < 0.0 {
            return Err(cell_err(ErrorKind::Negative { what: "cycle".into(), value: r.cycle }, r.row));
        }
        if r.cycle > MAX_CYCLE {
            return Err(cell_err(ErrorKind::Malformed(format!("cycle {:e} is beyond any cell's life (above {MAX_CYCLE}): a corrupt or mis-scaled value", r.cycle)), r.row));
        }
        if let Some(c) = r.capacity_ah.filter(|c| *c > MAX_CAPACITY_AH) {
            return Err(cell_err(ErrorKind::Malformed(format!("capacity {c:e} Ah is beyond any cell's (above {MAX_CAPACITY_AH} Ah): a corrupt value or a wrong unit")), r.row));
        }
        if r.capacity_ah.is_none() && r.soh.is_none() {
            return Err(cell_err(ErrorKind::Malformed("capacity is missing".into()), r.row));
        }
        for (what, v) in [("capacity", r.capacity_ah), ("normalised capacity", r.soh)] {
            if let Some(v) = v {
                if !v.is_finite() {
                    return Err(cell_err(ErrorKind::NotFinite(what.into()), r.row));
                }
                if v < 0.0 {
                    return Err(cell_err(ErrorKind::Negative { what: what.into(), value: v }, r.row));
                }
                if v == 0.0 {
                    return Err(cell_err(ErrorKind::Malformed(format!("{what} is zero")), r.row));
                }
            }
        }
    }

    // 2. order
    if opts.reorder {
        if rows.windows(2).any(|w| w[1].cycle < w[0].cycle) {
            stats.reordered = true;
            rows.sort_by(|a, b| a.cycle.total_cmp(&b.cycle));
        }
        let before = rows.len();
        rows = merge_duplicates(rows);
        stats.duplicates_merged = before - rows.len();
    } else {
        let mut first_row_of_prev = rows[0].row;
        for w in rows.windows(2) {
            if w[1].cycle == w[0].cycle {
                return Err(cell_err(
                    ErrorKind::DuplicateCycle { cycle: w[1].cycle, first_row: first_row_of_prev },
                    w[1].row,
                ));
            }
            if w[1].cycle < w[0].cycle {
                return Err(cell_err(
                    ErrorKind::UnsortedCycle { cycle: w[1].cycle, previous: w[0].cycle },
                    w[1].row,
                ));
            }
            first_row_of_prev = w[1].row;
        }
    }

    // 2b. partial cycles
    let has_capacity = rows.iter().all(|r| r.capacity_ah.is_some());
    if opts.drop_partial_cycles && has_capacity {
        let capacity: Vec<f64> = rows.iter().map(|r| r.capacity_ah.expect("checked above")).collect();
        let partial = partial_cycles(&capacity);
        if partial.iter().any(|&p| p) {
            let mut it = partial.iter();
            let (dropped, kept): (Vec<RawCycle>, Vec<RawCycle>) = rows.drain(..).partition(|_| *it.next().unwrap());
            rows = kept;
            let list: Vec<String> = dropped.iter().take(8).map(|r| format!("cycle {} (row {})", r.cycle, r.row)).collect();
            tracing::warn!(
                "{}, cell {}: {} partial cycle{} left out (capacity under {PARTIAL_FRACTION} of the neighbouring cycles'): {}{}",
                file.display(),
                meta.cell_id,
                dropped.len(),
                if dropped.len() == 1 { "" } else { "s" },
                list.join(", "),
                if dropped.len() > list.len() { ", …" } else { "" }
            );
            // The largest capacity is never under half of another, so every cell keeps a cycle.
            stats.partial_cycles_dropped = dropped.iter().map(|r| r.cycle).collect();
        }
    }

    // 3. SOH
    let (reference, rule) = if has_capacity {
        match meta.nominal_capacity_ah.filter(|n| *n > 0.0) {
            Some(n) => (Some(n), "nominal"),
            None if meta.observation == Observation::CheckUp => (rows[0].capacity_ah, "first check-up"),
            None => {
                let mut window: Vec<f64> = rows.iter().take(INITIAL_WINDOW).filter_map(|r| r.capacity_ah).collect();
                let full = PARTIAL_FRACTION * median(&mut window);
                let mut first: Vec<f64> =
                    rows.iter().filter_map(|r| r.capacity_ah).filter(|&c| c >= full).take(INITIAL_OBSERVATIONS).collect();
                (Some(median(&mut first)), "initial")
            }
        }
    } else if rows.iter().all(|r| r.soh.is_some()) {
        (None, "source-normalised")
    } else {
        let r = rows.iter().find(|r| r.capacity_ah.is_none()).map(|r| r.row).unwrap_or(0);
        return Err(cell_err(
            ErrorKind::Malformed("mixes rows with capacity in Ah and rows with normalised capacity only".into()),
            r,
        ));
    };
    meta.reference_capacity_ah = reference;
    meta.reference_rule = rule.to_string();
    let mut cycles: Vec<Cycle> = rows
        .iter()
        .map(|r| {
            let (capacity_ah, soh) = match (r.capacity_ah, rule) {
                (Some(c), _) => (Some(c), c / reference.expect("reference set with capacity")),
                (None, _) => (None, r.soh.expect("checked above")),
            };
            let mut descriptors = r.descriptors;
            for d in descriptors.iter_mut() {
                *d = d.filter(|v| v.is_finite());
            }
            Cycle { cycle: r.cycle, capacity_ah, soh, descriptors }
        })
        .collect();

    // 4. outliers
    if opts.remove_outliers && meta.observation == Observation::PerCycle {
        let keep = outlier_mask(&cycles.iter().map(|c| c.soh).collect::<Vec<_>>());
        let before = cycles.len();
        let mut it = keep.iter();
        cycles.retain(|_| *it.next().unwrap());
        stats.outliers_removed = before - cycles.len();
    }
    stats.rows_kept = cycles.len();
    Ok((Cell { meta, cycles }, stats))
}

fn merge_duplicates(rows: Vec<RawCycle>) -> Vec<RawCycle> {
    let mut out: Vec<(RawCycle, usize)> = Vec::with_capacity(rows.len());
    for r in rows {
        match out.last_mut() {
            Some((last, n)) if last.cycle == r.cycle => {
                let k = *n as f64;
                let avg = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) => Some((a * k + b) / (k + 1.0)),
                    (a, b) => a.or(b),
                };
                last.capacity_ah = avg(last.capacity_ah, r.capacity_ah);
                last.soh = avg(last.soh, r.soh);
                for i in 0..last.descriptors.len() {
                    last.descriptors[i] = avg(last.descriptors[i], r.descriptors[i]);
                }
                *n += 1;
            }
            _ => out.push((r, 1)),
        }
    }
    out.into_iter().map(|(r, _)| r).collect()
}

/// `true` = keep. See the module docs for the rule.
pub fn outlier_mask(soh: &[f64]) -> Vec<bool> {
    let n = soh.len();
    if n < OUTLIER_WINDOW {
        return vec![true; n];
    }
    let half = OUTLIER_WINDOW / 2;
    // The window slides one row at a time, so it is kept sorted (one value out, one in) rather
    // than sorted afresh for every row; the median and MAD are then read off it in O(window).
    let mut window: Vec<f64> = soh[..OUTLIER_WINDOW].to_vec();
    window.sort_by(f64::total_cmp);
    let mut start = 0;
    (0..n)
        .map(|i| {
            // Shift the window inwards at the edges so it always holds OUTLIER_WINDOW rows.
            let want = i.saturating_sub(half).min(n - OUTLIER_WINDOW);
            if want != start {
                slide(&mut window, soh[start], soh[start + OUTLIER_WINDOW]);
                start = want;
            }
            let (med, mad) = median_and_mad(&window);
            (soh[i] - med).abs() <= (OUTLIER_K * 1.4826 * mad).max(OUTLIER_FLOOR)
        })
        .collect()
}

/// Replaces one occurrence of `out` with `incoming` in a sorted window, keeping it sorted.
fn slide(window: &mut [f64], out: f64, incoming: f64) {
    let mut j = window.iter().position(|v| v.total_cmp(&out).is_eq()).expect("the value leaving is in the window");
    // Close the gap towards where `incoming` belongs.
    while j > 0 && window[j - 1].total_cmp(&incoming).is_gt() {
        window[j] = window[j - 1];
        j -= 1;
    }
    while j + 1 < window.len() && window[j + 1].total_cmp(&incoming).is_lt() {
        window[j] = window[j + 1];
        j += 1;
    }
    window[j] = incoming;
}

/// Median and median absolute deviation of a sorted, odd-length window. The deviations below
/// the median and those above it are each already in order, so the MAD is a merge, not a sort.
fn median_and_mad(sorted: &[f64]) -> (f64, f64) {
    let m = sorted.len() / 2;
    let med = sorted[m];
    let (mut lo, mut hi) = (m as isize, m + 1); // next candidates below / above
    let mut mad = 0.0;
    for _ in 0..=m {
        let below = (lo >= 0).then(|| (sorted[lo as usize] - med).abs());
        let above = (hi < sorted.len()).then(|| (sorted[hi] - med).abs());
        mad = match (below, above) {
            (Some(b), Some(a)) if a.total_cmp(&b).is_lt() => {
                hi += 1;
                a
            }
            (Some(b), _) => {
                lo -= 1;
                b
            }
            (None, Some(a)) => {
                hi += 1;
                a
            }
            (None, None) => unreachable!("m + 1 deviations exist"),
        };
    }
    (med, mad)
}

/// Rule 2b: which capacities are partial cycles. Inside the series: under [`PARTIAL_FRACTION`]
/// of the largest of the [`PARTIAL_NEIGHBOURS`] before it and of the largest of those after it —
/// both sides, so a cell whose capacity really collapses keeps the cycles after the step (their
/// later neighbours are as low), and the largest, so a cluster of partial cycles (a diagnostic
/// block) does not hide its members from each other. At either end, where only one side is
/// known: under that fraction of the median of that side, so a real step a few cycles before the
/// end does not make the last cycle look partial.
fn partial_cycles(capacity: &[f64]) -> Vec<bool> {
    let n = capacity.len();
    let largest = |side: &[f64]| side.iter().copied().fold(f64::MIN, f64::max);
    (0..n)
        .map(|i| {
            let before = &capacity[i.saturating_sub(PARTIAL_NEIGHBOURS)..i];
            let after = &capacity[(i + 1).min(n)..(i + 1 + PARTIAL_NEIGHBOURS).min(n)];
            let under = |typical: f64| capacity[i] < PARTIAL_FRACTION * typical;
            match (before.is_empty(), after.is_empty()) {
                (true, true) => false,
                (true, false) => under(median(&mut after.to_vec())),
                (false, true) => under(median(&mut before.to_vec())),
                (false, false) => under(largest(before)) && under(largest(after)),
            }
        })
        .collect()
}

/// Median of a non-empty slice (reorders it).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sliding window must give exactly what sorting each window afresh gives.
    #[test]
    fn outlier_mask_matches_sorting_every_window() {
        let naive = |soh: &[f64]| -> Vec<bool> {
            let n = soh.len();
            let half = OUTLIER_WINDOW / 2;
            (0..n)
                .map(|i| {
                    let start = i.saturating_sub(half).min(n - OUTLIER_WINDOW);
                    let mut w = soh[start..start + OUTLIER_WINDOW].to_vec();
                    let med = median(&mut w);
                    let mut dev: Vec<f64> = w.iter().map(|v| (v - med).abs()).collect();
                    let mad = median(&mut dev);
                    (soh[i] - med).abs() <= (OUTLIER_K * 1.4826 * mad).max(OUTLIER_FLOOR)
                })
                .collect()
        };
        let mut state = 12345u64;
        let mut rand = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as f64 / (1u64 << 31) as f64
        };
        for n in [11, 12, 30, 500] {
            // Fade with noise, repeated values (plateaus) and spikes.
            let soh: Vec<f64> = (0..n)
                .map(|i| {
                    let r = rand();
                    let base = 1.0 - 0.001 * i as f64;
                    if r < 0.1 { 0.5 } else if r < 0.3 { (base * 100.0).round() / 100.0 } else { base + 0.02 * (rand() - 0.5) }
                })
                .collect();
            let got = outlier_mask(&soh);
            assert_eq!(got, naive(&soh), "n = {n}");
            assert!(got.iter().any(|k| !k) || n < 30, "the spikes are found (n = {n})");
        }
    }
    use crate::data::CellMeta;

    fn raw(caps: &[(f64, f64)]) -> RawCell {
        let meta = CellMeta { dataset: "T".into(), cell_id: "c1".into(), nominal_capacity_ah: Some(1.0), ..Default::default() };
        let mut c = RawCell::new(meta, "t.csv");
        c.rows = caps.iter().enumerate().map(|(i, &(cy, q))| RawCycle::new(i + 2, cy, Some(q))).collect();
        c
    }

    #[test]
    fn nan_capacity_is_an_error_naming_file_cell_and_row() {
        let e = clean(raw(&[(1.0, 1.0), (2.0, f64::NAN)]), CleanOptions::default()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("t.csv") && msg.contains("cell c1") && msg.contains("row 3"), "{msg}");
    }

    #[test]
    fn negative_capacity_is_an_error() {
        let e = clean(raw(&[(1.0, 1.0), (2.0, -0.5)]), CleanOptions::default()).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Negative { .. }), "{e}");
    }

    #[test]
    fn duplicate_and_unsorted_cycles_are_errors_by_default() {
        let e = clean(raw(&[(1.0, 1.0), (1.0, 0.9)]), CleanOptions::default()).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::DuplicateCycle { .. }), "{e}");
        let e = clean(raw(&[(2.0, 1.0), (1.0, 0.9)]), CleanOptions::default()).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::UnsortedCycle { .. }), "{e}");
    }

    #[test]
    fn reorder_sorts_and_merges_duplicates() {
        let opts = CleanOptions { reorder: true, remove_outliers: false, drop_partial_cycles: false };
        let (cell, stats) = clean(raw(&[(2.0, 0.8), (1.0, 1.0), (2.0, 0.9)]), opts).unwrap();
        assert_eq!(cell.cycle_axis(), vec![1.0, 2.0]);
        assert!((cell.cycles[1].soh - 0.85).abs() < 1e-12);
        assert_eq!(stats.duplicates_merged, 1);
        assert!(stats.reordered);
    }

    #[test]
    fn soh_uses_nominal_then_initial_median() {
        let (cell, _) = clean(raw(&[(1.0, 0.9), (2.0, 0.8)]), CleanOptions::default()).unwrap();
        assert_eq!(cell.meta.reference_rule, "nominal");
        assert!((cell.cycles[1].soh - 0.8).abs() < 1e-12);
        let mut r = raw(&[(1.0, 2.0), (2.0, 1.0), (3.0, 3.0)]);
        r.meta.nominal_capacity_ah = None;
        let (cell, _) = clean(r, CleanOptions::default()).unwrap();
        assert_eq!(cell.meta.reference_rule, "initial");
        assert_eq!(cell.meta.reference_capacity_ah, Some(2.0));
    }

    fn capacities(caps: &[f64]) -> RawCell {
        let mut r = raw(&caps.iter().enumerate().map(|(i, &q)| (i as f64 + 1.0, q)).collect::<Vec<_>>());
        r.meta.nominal_capacity_ah = None;
        r
    }

    #[test]
    fn a_cycler_exports_partial_first_and_last_cycles_are_left_out_and_counted() {
        let caps = [0.2, 1.0, 0.99, 0.99, 0.98, 0.3];
        let (cell, stats) = clean(capacities(&caps), CleanOptions::CYCLER_EXPORT).unwrap();
        assert_eq!(cell.cycle_axis(), vec![2.0, 3.0, 4.0, 5.0]);
        assert_eq!(stats.partial_cycles_dropped, vec![1.0, 6.0]);
        assert_eq!(stats.rows_kept, 4);
        // Curated tables and per-cycle CSVs keep every row.
        let (cell, stats) = clean(capacities(&caps), CleanOptions::STRICT).unwrap();
        assert_eq!(cell.cycles.len(), 6);
        assert!(stats.partial_cycles_dropped.is_empty());
    }

    #[test]
    fn a_diagnostic_block_of_partial_cycles_is_left_out_whole_but_a_real_collapse_is_kept() {
        let block = [1.0, 1.0, 1.0, 1.0, 0.1, 0.05, 0.99, 0.99, 0.99];
        let (cell, stats) = clean(capacities(&block), CleanOptions::CYCLER_EXPORT).unwrap();
        assert_eq!(stats.partial_cycles_dropped, vec![5.0, 6.0]);
        assert!(cell.cycles.iter().all(|c| c.soh > 0.9));
        // A step down that lasts is fade, whatever its size: its later neighbours are as low.
        let collapse = [1.0, 1.0, 1.0, 1.0, 1.0, 0.3, 0.3, 0.29, 0.29, 0.28];
        // (its last cycle has the step among its five before, but most of them are as low)
        let (cell, stats) = clean(capacities(&collapse), CleanOptions::CYCLER_EXPORT).unwrap();
        assert!(stats.partial_cycles_dropped.is_empty(), "{:?}", stats.partial_cycles_dropped);
        assert_eq!(cell.cycles.len(), 10);
    }

    #[test]
    fn the_initial_reference_leaves_out_partial_cycles() {
        // Pulse tests among the first cycles would otherwise drag the median down tenfold.
        let caps = [0.1, 1.0, 0.1, 0.1, 0.98, 0.97, 0.96, 0.95];
        let (cell, _) = clean(capacities(&caps), CleanOptions { remove_outliers: false, ..CleanOptions::STRICT }).unwrap();
        assert_eq!(cell.meta.reference_rule, "initial");
        assert_eq!(cell.meta.reference_capacity_ah, Some(0.97));
    }

    #[test]
    fn outlier_filter_removes_a_spike_but_keeps_smooth_fade() {
        let mut pts: Vec<(f64, f64)> = (0..50).map(|i| (i as f64 + 1.0, 1.0 - 0.004 * i as f64)).collect();
        pts[25].1 = 0.5;
        let (cell, stats) = clean(raw(&pts), CleanOptions::default()).unwrap();
        assert_eq!(stats.outliers_removed, 1);
        assert_eq!(cell.cycles.len(), 49);
        assert!(cell.cycles.iter().all(|c| c.soh > 0.7));
    }
}
