//! batteryarchive.org exports: `*_cycle_data.csv` (one row per cycle: `Cycle_Index,
//! Test_Time (s), Min/Max_Current (A), Min/Max_Voltage (V), Charge_Capacity (Ah),
//! Discharge_Capacity (Ah), Charge_Energy (Wh), Discharge_Energy (Wh)`), mapped straight to
//! cycles, and `*_timeseries.csv` (`Test_Time (s), Cycle_Index, Current (A), Voltage (V),
//! Charge/Discharge_Capacity (Ah), …, Cell_Temperature (C)`), segmented like any time series.

use std::path::Path;

use super::series::{self, Mapping, TimeCol};
use super::summary::{CycleSummary, CycleTable};
use super::table::{check_capacity, find_col, read_text, TextTable};
use super::{cell_id_of, Parsed};
use crate::data::Descriptor;
use crate::error::{ImportError, Result};

pub fn parse(path: &Path) -> Result<Parsed> {
    let text = read_text(path)?;
    let table = TextTable::parse(path, &text, b',', |h| find_col(h, &["Cycle_Index"]).is_some())?;
    if table.find(&["Current (A)"]).is_some() && table.find(&["Voltage (V)"]).is_some() {
        timeseries(&table, path)
    } else {
        cycle_data(&table, path)
    }
}

fn timeseries(t: &TextTable, path: &Path) -> Result<Parsed> {
    let mut m = Mapping::new(
        TimeCol::Number(t.col(&["Test_Time (s)"])?, 1.0),
        (t.col(&["Current (A)"])?, 1.0),
        (t.col(&["Voltage (V)"])?, 1.0),
    );
    m.cycle = t.find(&["Cycle_Index"]);
    m.charge_capacity = t.find(&["Charge_Capacity (Ah)"]).map(|c| (c, 1.0));
    m.discharge_capacity = t.find(&["Discharge_Capacity (Ah)"]).map(|c| (c, 1.0));
    m.charge_energy = t.find(&["Charge_Energy (Wh)"]).map(|c| (c, 1.0));
    m.discharge_energy = t.find(&["Discharge_Energy (Wh)"]).map(|c| (c, 1.0));
    m.temperature = t.find(&["Cell_Temperature (C)", "Environment_Temperature (C)"]);
    Ok(Parsed::Series(series::build(t, &m, &cell_id_of(path))?))
}

fn cycle_data(t: &TextTable, path: &Path) -> Result<Parsed> {
    let cycle = t.col(&["Cycle_Index"])?;
    let dchg = t.col(&["Discharge_Capacity (Ah)"])?;
    let chg = t.find(&["Charge_Capacity (Ah)"]);
    let (chg_e, dchg_e) = (t.find(&["Charge_Energy (Wh)"]), t.find(&["Discharge_Energy (Wh)"]));
    let cell = cell_id_of(path);
    let mut cycles = Vec::new();
    for r in &t.records {
        let num = |c: usize| super::table::parse_num(r.get(c), false).map_err(|_| t.not_numeric(r, c));
        let opt = |c: Option<usize>| c.map(num).transpose().map(|v| v.flatten().filter(|x| x.is_finite()));
        // A NaN, infinite or negative capacity used to drop its cycle silently.
        let capacity = |c: usize| num(c)?.map(|v| check_capacity(path, &cell, r.line, &t.headers[c], v, false)).transpose();
        let n = num(cycle)?.ok_or_else(|| t.not_numeric(r, cycle))?;
        let q = capacity(dchg)?.ok_or_else(|| {
            ImportError::malformed(path, format!("`{}` is empty", t.headers[dchg])).cell(cell.clone()).row(r.line)
        })?;
        let mut s = CycleSummary::new(n, r.line, q);
        s.with_charge(chg.map(capacity).transpose()?.flatten());
        s.charge_energy_wh = opt(chg_e)?;
        s.discharge_energy_wh = opt(dchg_e)?;
        let ce = s.charge_capacity_ah.filter(|c| *c > 0.0 && s.has_discharge).map(|c| q / c);
        s.set(Descriptor::CoulombicEfficiency, ce);
        cycles.push(s);
    }
    let samples = cycles.len();
    Ok(Parsed::Cycles(vec![CycleTable { cell_id: cell_id_of(path), cycles, samples, ..Default::default() }]))
}
