//! PEC tester CSV: `key:,value` metadata lines (`TestRegime CellSize:,1500 mAh`, …), then
//! `Test, Cell, Rack, Shelf, Position, Cell ID, Step, Instruction Name, Cycle,
//! Total Time (Hours in hh:mm:ss.xxx), …, Voltage (V), Current (A), Charge Capacity (mAh),
//! Discharge Capacity (mAh), Charge Energy (mWh), Discharge Energy (mWh), …, Temp (°C)`.
//! One file may hold several cells (one series per `Cell ID`). The instruction name (`Idle`,
//! `Charge`, `Discharge`, …) gives the step direction; the cell size is the nominal capacity.

use std::path::Path;

use super::series::{self, Mapping, TimeCol};
use super::table::{has_all, read_text, unit_scale, TextTable};
use super::{cell_id_of, Parsed};
use crate::error::Result;

pub fn parse(path: &Path) -> Result<Parsed> {
    let text = read_text(path)?;
    let table = TextTable::parse(path, &text, b',', |h| has_all(h, &["Test", "Cell", "Cycle"]))?;
    let t = &table;
    let scaled = |i: usize| (i, unit_scale(&t.headers[i]));
    let time = t.find_prefix(&["Total Time"]).ok_or_else(|| t.missing("Total Time"))?;
    let mut m = Mapping::new(
        TimeCol::Duration(time),
        scaled(t.find_prefix(&["Current ("]).ok_or_else(|| t.missing("Current (A)"))?),
        scaled(t.find_prefix(&["Voltage ("]).ok_or_else(|| t.missing("Voltage (V)"))?),
    );
    m.cycle = t.find(&["Cycle"]);
    m.step = t.find(&["Step"]);
    m.state = t.find(&["Instruction Name"]);
    m.charge_capacity = t.find_prefix(&["Charge Capacity ("]).map(|c| t.capacity(c)).transpose()?;
    m.discharge_capacity = t.find_prefix(&["Discharge Capacity ("]).map(|c| t.capacity(c)).transpose()?;
    m.charge_energy = t.find_prefix(&["Charge Energy ("]).map(scaled);
    m.discharge_energy = t.find_prefix(&["Discharge Energy ("]).map(scaled);
    m.temperature = t.find_prefix(&["Temp ("]);
    m.group = t.find(&["Cell ID", "Cell"]);
    let nominal = cell_size(&t.preamble);
    let protocol = value_of(&t.preamble, "TestRegime Name:");
    let mut series = series::build(t, &m, &cell_id_of(path))?;
    for s in &mut series {
        s.nominal_capacity_ah = nominal;
        s.protocol = protocol.clone();
    }
    Ok(Parsed::Series(series))
}

fn value_of(preamble: &[String], key: &str) -> Option<String> {
    let line = preamble.iter().find(|l| l.starts_with(key))?;
    let v = line[key.len()..].trim_start_matches(',').split(',').next()?.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// `TestRegime CellSize:,1500 mAh` → 1.5 Ah.
fn cell_size(preamble: &[String]) -> Option<f64> {
    let v = value_of(preamble, "TestRegime CellSize:")?;
    let (number, scale) = match v.to_ascii_lowercase().strip_suffix("mah") {
        Some(n) => (n.trim().to_string(), 1e-3),
        None => (v.to_ascii_lowercase().trim_end_matches("ah").trim().to_string(), 1.0),
    };
    number.parse::<f64>().ok().map(|x| x * scale).filter(|x| x.is_finite() && *x > 0.0)
}
