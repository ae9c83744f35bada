//! The common shape every cycler parser produces: one row per sample.

/// Raw samples of one test (one channel / one cell). Units: s, A, V, Ah, Wh, °C.
/// Current sign convention: positive = charge, negative = discharge (parsers convert).
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
    /// Cumulative charge / discharge capacity counters as the cycler reports them (they reset
    /// per cycle or per step depending on the cycler).
    pub charge_capacity_ah: Option<Vec<f64>>,
    pub discharge_capacity_ah: Option<Vec<f64>>,
    pub charge_energy_wh: Option<Vec<f64>>,
    pub discharge_energy_wh: Option<Vec<f64>>,
    /// Nominal capacity from the file's metadata, where given.
    pub nominal_capacity_ah: Option<f64>,
}

impl TimeSeries {
    pub fn len(&self) -> usize {
        self.time_s.len()
    }
    pub fn is_empty(&self) -> bool {
        self.time_s.is_empty()
    }
}
