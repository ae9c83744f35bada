//! Per-cycle summaries — what segmentation makes of a time series, and what per-cycle exports
//! (batteryarchive `cycle_data.csv`, Battery Data Hub summaries, Neware cycle rows) hold
//! already — and their conversion into [`RawCell`]s for `import::clean`.

use std::path::Path;

use serde::Serialize;

use crate::data::{CellMeta, Descriptor, N_DESCRIPTORS};
use crate::error::{ErrorKind, ImportError, Result};
use crate::import::{RawCell, RawCycle};

/// One cycle as the cycler's counters (or the integrated current) give it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CycleSummary {
    /// The file's own cycle number, or the derived one (1-based) where the file has none.
    pub cycle: f64,
    /// 1-based line (or record) where the cycle starts, for errors.
    pub row: usize,
    pub discharge_capacity_ah: f64,
    pub charge_capacity_ah: Option<f64>,
    pub discharge_energy_wh: Option<f64>,
    pub charge_energy_wh: Option<f64>,
    /// Whether the cycle holds discharge at all (discharge steps or discharging current).
    /// A rest-only or charge-only cycle has `false` and never becomes a capacity observation.
    pub has_discharge: bool,
    /// Whether the cycle holds any charge (same evidence as `has_discharge`), for messages.
    pub has_charge: bool,
    /// Indexed by [`Descriptor`].
    pub descriptors: [Option<f64>; N_DESCRIPTORS],
}

impl CycleSummary {
    pub fn new(cycle: f64, row: usize, discharge_capacity_ah: f64) -> Self {
        Self {
            cycle,
            row,
            discharge_capacity_ah,
            charge_capacity_ah: None,
            discharge_energy_wh: None,
            charge_energy_wh: None,
            has_discharge: discharge_capacity_ah > 0.0,
            has_charge: false,
            descriptors: [None; N_DESCRIPTORS],
        }
    }
    /// Sets the charge capacity of a per-cycle summary row (and `has_charge` from it).
    pub fn with_charge(&mut self, q: Option<f64>) {
        self.charge_capacity_ah = q;
        self.has_charge = q.is_some_and(|q| q > 0.0);
    }
    pub fn set(&mut self, d: Descriptor, v: Option<f64>) {
        self.descriptors[d.index()] = v.filter(|x| x.is_finite());
    }
}

/// One cell's cycles.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CycleTable {
    pub cell_id: String,
    pub cycles: Vec<CycleSummary>,
    pub nominal_capacity_ah: Option<f64>,
    pub protocol: Option<String>,
    /// Samples (or summary rows) the table was made from, for messages.
    pub samples: usize,
}

/// A cycle whose discharge is below this fraction of the cell's largest charge or discharge
/// is a blip (a counter carried over, a few ms of current at a step change), not a capacity
/// measurement.
pub const MIN_DISCHARGE_FRACTION: f64 = 1e-4;

/// The cycles of `table` that measured a discharge capacity.
pub fn capacity_cycles(table: &CycleTable) -> impl Iterator<Item = &CycleSummary> {
    let max = table
        .cycles
        .iter()
        .flat_map(|c| [Some(c.discharge_capacity_ah), c.charge_capacity_ah])
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    table.cycles.iter().filter(move |c| {
        c.has_discharge
            && c.discharge_capacity_ah.is_finite()
            && c.discharge_capacity_ah > 0.0
            && c.discharge_capacity_ah >= MIN_DISCHARGE_FRACTION * max
    })
}

/// Converts one cell's summary into a [`RawCell`] (dataset `user`, as the user CSV), keeping only the cycles
/// that measured a discharge; the others are counted as dropped. A table with no such cycle is
/// an error that says why (rest-only, charge-only or empty), never a cell with a fake cycle.
pub fn to_raw_cell(file: &Path, format_name: &str, table: &CycleTable) -> Result<RawCell> {
    let kept: Vec<&CycleSummary> = capacity_cycles(table).collect();
    if kept.is_empty() {
        return Err(no_discharge(file, table));
    }
    let meta = CellMeta {
        dataset: crate::import::user_csv::DATASET.into(),
        cell_id: table.cell_id.clone(),
        nominal_capacity_ah: table.nominal_capacity_ah.filter(|n| n.is_finite() && *n > 0.0),
        protocol: table.protocol.clone(),
        source: Some(format!("{} ({format_name})", file.display())),
        ..Default::default()
    };
    let mut raw = RawCell::new(meta, file);
    for c in &table.cycles {
        if kept.iter().any(|k| std::ptr::eq(*k, c)) {
            let mut r = RawCycle::new(c.row, c.cycle, Some(c.discharge_capacity_ah));
            r.descriptors = c.descriptors;
            raw.rows.push(r);
        } else if !c.has_discharge || c.discharge_capacity_ah <= 0.0 || !c.discharge_capacity_ah.is_finite() {
            raw.drop_row("cycle without discharge (rest or charge only)");
        } else {
            raw.drop_row("discharge below 1e-4 of the largest charge or discharge (counter blip)");
        }
    }
    Ok(raw)
}

fn no_discharge(file: &Path, table: &CycleTable) -> ImportError {
    let why = if table.samples == 0 {
        "the file holds no data rows".to_string()
    } else if table.cycles.iter().any(|c| c.has_charge) {
        format!(
            "no discharge in {} samples: the file holds only charge and rest data, so there is no \
             discharge capacity to import",
            table.samples
        )
    } else {
        format!(
            "no discharge in {} samples: the file holds only rest (no current), so there is no \
             capacity to import",
            table.samples
        )
    };
    ImportError::new(file, ErrorKind::Malformed(why)).cell(table.cell_id.clone())
}
