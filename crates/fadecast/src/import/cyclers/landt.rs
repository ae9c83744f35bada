//! Landt CSV in the layout SINTEF publishes with the Battery Data Format examples: metadata
//! lines (`cell model:`, `Nominal capacity used to define the C rate:<x>Ah`, …), then
//! `channel_index, cycle_index, step_index, date_time_iso_string, test_time_s, step_time_s,
//! current_A, voltage_V, discharge_capacity_Ah, charge_capacity_Ah, discharge_energy_Wh,
//! charge_energy_Wh, …, temperature_1_C, …, step_name`; data rows carry one trailing comma.
//! Counters reset every step; current is negative on discharge. Landt's own Chinese-header
//! exports are not this layout and are not read.

use std::path::Path;

use super::series::{self, Mapping, TimeCol};
use super::table::{has_all, read_text, unit_scale, TextTable};
use super::{cell_id_of, Parsed};
use crate::error::Result;

pub fn parse(path: &Path) -> Result<Parsed> {
    let text = read_text(path)?;
    let table = TextTable::parse(path, &text, b',', |h| has_all(h, &["cycle_index", "test_time_s", "current_A"]))?;
    let t = &table;
    let scaled = |i: usize| (i, unit_scale(&t.headers[i]));
    let mut m = Mapping::new(
        TimeCol::Number(t.col(&["test_time_s"])?, 1.0),
        scaled(t.col(&["current_A", "current_mA"])?),
        scaled(t.col(&["voltage_V"])?),
    );
    m.cycle = t.find(&["cycle_index"]);
    m.step = t.find(&["step_index"]);
    m.state = t.find(&["step_name"]);
    m.charge_capacity = t.find(&["charge_capacity_Ah", "charge_capacity_mAh"]).map(|c| t.capacity(c)).transpose()?;
    m.discharge_capacity = t.find(&["discharge_capacity_Ah", "discharge_capacity_mAh"]).map(|c| t.capacity(c)).transpose()?;
    m.charge_energy = t.find(&["charge_energy_Wh", "charge_energy_mWh"]).map(scaled);
    m.discharge_energy = t.find(&["discharge_energy_Wh", "discharge_energy_mWh"]).map(scaled);
    m.temperature = t.find(&["temperature_1_C", "temperature_C"]);
    let nominal = nominal_capacity(&t.preamble);
    let mut series = series::build(t, &m, &cell_id_of(path))?;
    for s in &mut series {
        s.nominal_capacity_ah = nominal;
    }
    Ok(Parsed::Series(series))
}

/// `Nominal capacity used to define the C rate:<value>Ah` (empty in the files seen).
fn nominal_capacity(preamble: &[String]) -> Option<f64> {
    let line = preamble.iter().find(|l| l.starts_with("Nominal capacity"))?;
    let value = line.split_once(':')?.1.split(',').next()?.trim();
    let (number, scale) = match value.strip_suffix("mAh") {
        Some(v) => (v, 1e-3),
        None => (value.trim_end_matches("Ah"), 1.0),
    };
    number.trim().parse::<f64>().ok().map(|v| v * scale).filter(|v| v.is_finite() && *v > 0.0)
}
