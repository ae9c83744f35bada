//! The common shape every cycler parser produces: one row per sample.

use std::path::Path;

use crate::error::{ImportError, Result};

/// What the cycler says a sample's step is doing, where the file names it (Maccor `State`,
/// Neware `Step Type`/`Status`, Landt `step_name`, PEC `Instruction Name`). Where it is given,
/// segmentation trusts it over the sign of the current.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StepKind {
    Rest,
    Charge,
    Discharge,
    /// Anything else (pulses, impedance, unknown labels): classified by the current's sign.
    #[default]
    Other,
}

impl StepKind {
    /// Classifies a cycler's step label: "D", "CC DChg", "CCCV_DChg", "discharge CC" → Discharge;
    /// "C", "CC Chg", "charge" → Charge; "R", "Rest", "Idle", "OCV" → Rest.
    pub fn from_label(label: &str) -> Self {
        let l = label.trim().to_ascii_lowercase();
        // "dchg" contains "chg", so discharge is tested first.
        if l == "d" || l.contains("dchg") || l.contains("discharg") {
            StepKind::Discharge
        } else if l == "c" || l.contains("chg") || l.contains("charg") {
            StepKind::Charge
        } else if l == "r" || l.contains("rest") || l.contains("idle") || l.contains("ocv") || l.contains("pause") {
            StepKind::Rest
        } else {
            StepKind::Other
        }
    }
}

/// Raw samples of one test (one channel / one cell). Units: s, A, V, Ah, Wh, °C.
/// Current sign convention: positive = charge, negative = discharge (parsers convert; where a
/// file's sign is inverted, segmentation detects it from the capacity counters and flips it).
/// Optional columns are `None` when the file does not carry them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeSeries {
    /// Cell / test name, from the file's metadata or its file name.
    pub cell_id: String,
    /// 1-based line (text formats) or record index (binary formats) of each sample, for errors.
    pub row: Vec<usize>,
    pub time_s: Vec<f64>,
    pub current_a: Vec<f64>,
    pub voltage_v: Vec<f64>,
    pub temperature_c: Option<Vec<f64>>,
    /// The file's own cycle counter, where it has one.
    pub cycle: Option<Vec<i64>>,
    /// The file's own step counter, where it has one.
    pub step: Option<Vec<i64>>,
    /// The file's step label per sample, where it has one (see [`StepKind`]).
    pub step_kind: Option<Vec<StepKind>>,
    /// Cumulative charge / discharge capacity counters as the cycler reports them (they reset
    /// per cycle or per step depending on the cycler). A format with one signed or shared
    /// counter is split into these two by its parser.
    pub charge_capacity_ah: Option<Vec<f64>>,
    pub discharge_capacity_ah: Option<Vec<f64>>,
    pub charge_energy_wh: Option<Vec<f64>>,
    pub discharge_energy_wh: Option<Vec<f64>>,
    /// Nominal capacity from the file's metadata, where given.
    pub nominal_capacity_ah: Option<f64>,
    /// Test procedure / schedule name from the file's metadata, where given.
    pub protocol: Option<String>,
}

impl TimeSeries {
    pub fn len(&self) -> usize {
        self.time_s.len()
    }
    pub fn is_empty(&self) -> bool {
        self.time_s.is_empty()
    }

    /// Checks that every per-sample column has one value per sample, so that segmentation can
    /// index them freely. A parser bug or a corrupt binary file surfaces here as an error.
    pub fn validate(&self, file: &Path) -> Result<()> {
        let n = self.len();
        let lens: [(&str, Option<usize>); 12] = [
            ("row", Some(self.row.len())),
            ("current", Some(self.current_a.len())),
            ("voltage", Some(self.voltage_v.len())),
            ("temperature", self.temperature_c.as_ref().map(Vec::len)),
            ("cycle", self.cycle.as_ref().map(Vec::len)),
            ("step", self.step.as_ref().map(Vec::len)),
            ("step kind", self.step_kind.as_ref().map(Vec::len)),
            ("charge capacity", self.charge_capacity_ah.as_ref().map(Vec::len)),
            ("discharge capacity", self.discharge_capacity_ah.as_ref().map(Vec::len)),
            ("charge energy", self.charge_energy_wh.as_ref().map(Vec::len)),
            ("discharge energy", self.discharge_energy_wh.as_ref().map(Vec::len)),
            ("time", Some(n)),
        ];
        for (what, len) in lens {
            if let Some(len) = len {
                if len != n {
                    return Err(ImportError::malformed(
                        file,
                        format!("{what} has {len} values for {n} samples"),
                    )
                    .cell(self.cell_id.clone()));
                }
            }
        }
        Ok(())
    }
}
