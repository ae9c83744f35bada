//! Battery Data Format (battery-data-alliance) CSV, with machine-readable column names
//! (`test_time_second, voltage_volt, current_ampere, cycle_count, step_index,
//! charging_capacity_ah, discharging_capacity_ah, …`) or human-readable `Name / unit` ones
//! (`Test Time / h, Current / A, Cycle Count / 1, Charge Capacity / Ah, …`). BDF defines current
//! as positive on charge; files that write it the other way round are caught by the sign check
//! in segmentation. Without a cycle column, cycles are derived from the current.

use std::path::Path;

use super::series::{self, Mapping, TimeCol};
use super::table::{read_text, unit_scale, TextTable};
use super::{cell_id_of, Parsed};
use crate::error::Result;

pub fn parse(path: &Path) -> Result<Parsed> {
    let text = read_text(path)?;
    let table = TextTable::parse(path, &text, b',', |h| {
        h.iter().any(|c| c == "test_time_second" || c.to_ascii_lowercase().starts_with("test time /"))
    })?;
    let t = &table;
    // Machine name, else the human name's prefix (its unit is read from after the `/`).
    let find = |machine: &[&str], human: &[&str]| t.find(machine).or_else(|| t.find_prefix(human));
    let scaled = |i: usize| (i, unit_scale(&t.headers[i]));
    let time = find(&["test_time_second"], &["Test Time /"]).ok_or_else(|| t.missing("test_time_second"))?;
    let current = find(&["current_ampere"], &["Current /"]).ok_or_else(|| t.missing("current_ampere"))?;
    let voltage = find(&["voltage_volt"], &["Voltage /"]).ok_or_else(|| t.missing("voltage_volt"))?;
    let mut m = Mapping::new(TimeCol::Number(time, unit_scale(&t.headers[time])), scaled(current), scaled(voltage));
    m.cycle = find(&["cycle_count"], &["Cycle Count /"]);
    m.step = find(&["step_index", "step_count"], &["Step Index /", "Step Count /"]);
    m.state = t.find_prefix(&["Step Type /", "step_type"]);
    let capacity = |i: Option<usize>| i.map(|c| t.capacity(c)).transpose();
    m.charge_capacity = capacity(find(&["charging_capacity_ah"], &["Charging Capacity /", "Charge Capacity /"]))?;
    m.discharge_capacity = capacity(find(&["discharging_capacity_ah"], &["Discharging Capacity /", "Discharge Capacity /"]))?;
    m.charge_energy = find(&["charging_energy_wh"], &["Charging Energy /", "Charge Energy /"]).map(scaled);
    m.discharge_energy = find(&["discharging_energy_wh"], &["Discharging Energy /", "Discharge Energy /"]).map(scaled);
    m.temperature = find(
        &["surface_temperature_celsius", "ambient_temperature_celsius"],
        &["Surface Temperature /", "Ambient Temperature /"],
    );
    Ok(Parsed::Series(series::build(t, &m, &cell_id_of(path))?))
}
