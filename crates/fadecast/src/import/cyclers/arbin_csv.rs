//! Arbin MITS CSV export (as beep and battery-data-toolkit read it): `Data_Point, Test_Time,
//! Step_Index, Cycle_Index, Current, Voltage, Charge_Capacity, Discharge_Capacity, …`, with or
//! without units in the names (`Current(A)`). Current is positive on charge. The counters reset
//! every cycle. A `<name>_Metadata.csv` beside the file supplies the schedule name.

use std::path::Path;

use super::series::{self, Mapping, TimeCol};
use super::table::{read_text, unit_scale, TextTable};
use super::{cell_id_of, Parsed};
use crate::error::Result;

pub fn parse(path: &Path) -> Result<Parsed> {
    let text = read_text(path)?;
    let table = TextTable::parse(path, &text, b',', is_header)?;
    let mut series = series::build(&table, &mapping(&table)?, &cell_id_of(path))?;
    let protocol = schedule_name(path);
    for s in &mut series {
        s.protocol = protocol.clone();
    }
    Ok(Parsed::Series(series))
}

/// Arbin's header: `Cycle_Index`, `Test_Time…` and `Voltage…` (`Data_Point` is absent from
/// newer MITS Pro 7 exports).
pub fn is_header(h: &[String]) -> bool {
    let starts = |p: &str| h.iter().any(|c| c.starts_with(p));
    super::table::has_all(h, &["Cycle_Index"]) && starts("Test_Time") && starts("Voltage")
}

/// The Arbin column mapping, shared with the Excel export.
pub fn mapping(t: &TextTable) -> Result<Mapping> {
    let scaled = |i: usize| (i, unit_scale(&t.headers[i]));
    let time = t.col(&["Test_Time(s)", "Test_Time", "Test_Time (s)"])?;
    let current = t.col(&["Current(A)", "Current", "Current (A)"])?;
    let voltage = t.col(&["Voltage(V)", "Voltage", "Voltage (V)"])?;
    let mut m = Mapping::new(TimeCol::Number(time, unit_scale(&t.headers[time])), scaled(current), scaled(voltage));
    m.cycle = t.find(&["Cycle_Index"]);
    m.step = t.find(&["Step_Index"]);
    m.charge_capacity = t.find_prefix(&["Charge_Capacity"]).map(|c| t.capacity(c)).transpose()?;
    m.discharge_capacity = t.find_prefix(&["Discharge_Capacity"]).map(|c| t.capacity(c)).transpose()?;
    m.charge_energy = t.find_prefix(&["Charge_Energy"]).map(scaled);
    m.discharge_energy = t.find_prefix(&["Discharge_Energy"]).map(scaled);
    m.temperature = t.find_prefix(&["Temperature", "Aux_Temperature"]);
    Ok(m)
}

/// `Schedule_File_Name` from `<stem>_Metadata.csv`, where that file exists and reads.
fn schedule_name(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let meta = path.with_file_name(format!("{stem}_Metadata.csv"));
    let text = read_text(&meta).ok()?;
    let table = TextTable::parse(&meta, &text, b',', |h| super::table::find_col(h, &["Schedule_File_Name"]).is_some()).ok()?;
    let col = table.find(&["Schedule_File_Name"])?;
    table.records.first().map(|r| r.get(col).to_string()).filter(|s| !s.is_empty())
}
