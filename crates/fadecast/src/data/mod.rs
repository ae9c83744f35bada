//! The canonical data model every stage shares: a [`Cell`] is its [`CellMeta`] plus its
//! cleaned [`Cycle`]s. Importers produce cells; the corpus stores them; models read them.

mod descriptors;

pub use descriptors::{Descriptor, DESCRIPTORS, N_DESCRIPTORS};

use serde::{Deserialize, Serialize};

/// What the `cycle` axis of a cell counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CycleAxis {
    /// Full charge/discharge cycles, every cycle observed (or nearly).
    #[default]
    Cycle,
    /// Equivalent full cycles (throughput / nominal capacity), used for partial-depth
    /// or dynamic protocols; observations are periodic check-ups.
    EquivalentFullCycles,
}

/// How a cell was observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Observation {
    /// One capacity measurement per ageing cycle.
    #[default]
    PerCycle,
    /// Capacity measured at periodic reference tests (check-ups), irregular spacing.
    CheckUp,
}

/// Per-cell metadata. Unknown is `None`, stored as an explicit null.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CellMeta {
    pub dataset: String,
    pub cell_id: String,
    /// Chemistry as the source states it, e.g. "LFP/graphite", "NCM811/SiOx-graphite".
    pub chemistry: Option<String>,
    pub cathode: Option<String>,
    pub anode: Option<String>,
    pub form_factor: Option<String>,
    pub nominal_capacity_ah: Option<f64>,
    /// Ambient / chamber temperature of the ageing test.
    pub temperature_c: Option<f64>,
    pub charge_c_rate: Option<f64>,
    pub discharge_c_rate: Option<f64>,
    /// Depth of discharge as a fraction (0–1].
    pub dod: Option<f64>,
    pub protocol: Option<String>,
    pub source: Option<String>,
    pub license: Option<String>,
    pub axis: CycleAxis,
    pub observation: Observation,
    /// End-of-life cycle label from BatteryLife (or the source), where a label matches this cell.
    pub eol_cycle_label: Option<f64>,
    /// Capacity the SOH is relative to, and the rule that chose it (see `import::clean`).
    pub reference_capacity_ah: Option<f64>,
    pub reference_rule: String,
}

/// One observation of a cell: its position on the cycle axis, its capacity and SOH, and the
/// physical descriptors available for it (`None` where not measured: that is the availability mask).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cycle {
    /// Cycle index (or equivalent full cycles, see [`CellMeta::axis`]). Strictly increasing.
    pub cycle: f64,
    /// Discharge capacity in Ah; `None` where the source gives normalised capacity only
    /// and no nominal capacity is known.
    pub capacity_ah: Option<f64>,
    /// State of health: capacity / reference capacity.
    pub soh: f64,
    pub descriptors: [Option<f64>; N_DESCRIPTORS],
}

impl Cycle {
    /// Bit i set = descriptor i available.
    pub fn descriptor_mask(&self) -> u16 {
        self.descriptors
            .iter()
            .enumerate()
            .filter(|(_, d)| d.is_some())
            .fold(0, |m, (i, _)| m | (1 << i))
    }
}

/// A cleaned cell, ready for the corpus or a forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub meta: CellMeta,
    pub cycles: Vec<Cycle>,
}

impl Cell {
    pub fn key(&self) -> String {
        format!("{}/{}", self.meta.dataset, self.meta.cell_id)
    }
    pub fn cycle_axis(&self) -> Vec<f64> {
        self.cycles.iter().map(|c| c.cycle).collect()
    }
    pub fn soh(&self) -> Vec<f64> {
        self.cycles.iter().map(|c| c.soh).collect()
    }
}
