//! Battery Data Hub (batterydata.energy.gov) CSVs, as battery-data-toolkit writes them:
//! * **raw**: `Cycle_Index, Step, Time_s, Current_A, Voltage_V, Cell_Temperature_C,
//!   Charge_Capacity_Ah, Discharge_Capacity_Ah, Charge_Energy_Wh, Discharge_Energy_Wh, …`
//!   (counters reset every cycle, current negative on discharge), segmented;
//! * **summary**: one row per cycle, `Cycle_Index, Cycle_Label, Q_chg, Q_dis, E_chg, E_dis,
//!   T_avg, …`, mapped straight to cycles (a `NaN` `Q_dis` is a cycle without discharge).

use std::path::Path;

use super::series::{self, Mapping, TimeCol};
use super::summary::{CycleSummary, CycleTable};
use super::table::{check_capacity, find_col, parse_num, read_text, TextTable};
use super::{cell_id_of, Parsed};
use crate::data::Descriptor;
use crate::error::Result;

pub fn parse(path: &Path) -> Result<Parsed> {
    let text = read_text(path)?;
    let table = TextTable::parse(path, &text, b',', |h| find_col(h, &["Cycle_Index"]).is_some())?;
    if table.find(&["Q_dis"]).is_some() {
        summary(&table, path)
    } else {
        raw(&table, path)
    }
}

fn raw(t: &TextTable, path: &Path) -> Result<Parsed> {
    let mut m = Mapping::new(
        TimeCol::Number(t.col(&["Time_s"])?, 1.0),
        (t.col(&["Current_A"])?, 1.0),
        (t.col(&["Voltage_V"])?, 1.0),
    );
    m.cycle = t.find(&["Cycle_Index"]);
    m.step = t.find(&["Step"]);
    m.charge_capacity = t.find(&["Charge_Capacity_Ah"]).map(|c| (c, 1.0));
    m.discharge_capacity = t.find(&["Discharge_Capacity_Ah"]).map(|c| (c, 1.0));
    m.charge_energy = t.find(&["Charge_Energy_Wh"]).map(|c| (c, 1.0));
    m.discharge_energy = t.find(&["Discharge_Energy_Wh"]).map(|c| (c, 1.0));
    m.temperature = t.find(&["Cell_Temperature_C"]);
    Ok(Parsed::Series(series::build(t, &m, &cell_id_of(path))?))
}

fn summary(t: &TextTable, path: &Path) -> Result<Parsed> {
    let cycle = t.col(&["Cycle_Index"])?;
    let q_dis = t.col(&["Q_dis"])?;
    let [q_chg, e_chg, e_dis, temp] = [t.find(&["Q_chg"]), t.find(&["E_chg"]), t.find(&["E_dis"]), t.find(&["T_avg"])];
    let cell = cell_id_of(path);
    let mut cycles = Vec::new();
    for r in &t.records {
        let num = |c: usize| parse_num(r.get(c), false).map_err(|_| t.not_numeric(r, c));
        let opt = |c: Option<usize>| c.map(num).transpose().map(|v| v.flatten().filter(|x| x.is_finite()));
        // NaN is the summary's "no such half-cycle"; infinite or negative is an error.
        let capacity = |c: usize| -> Result<Option<f64>> {
            match num(c)? {
                Some(v) if !v.is_nan() => check_capacity(path, &cell, r.line, &t.headers[c], v, false).map(Some),
                _ => Ok(None),
            }
        };
        let n = num(cycle)?.ok_or_else(|| t.not_numeric(r, cycle))?;
        let mut s = CycleSummary::new(n, r.line, capacity(q_dis)?.unwrap_or(0.0));
        s.with_charge(q_chg.map(capacity).transpose()?.flatten());
        s.charge_energy_wh = opt(e_chg)?;
        s.discharge_energy_wh = opt(e_dis)?;
        s.set(Descriptor::TemperatureC, opt(temp)?);
        let ce = s.charge_capacity_ah.filter(|c| *c > 0.0 && s.has_discharge).map(|c| s.discharge_capacity_ah / c);
        s.set(Descriptor::CoulombicEfficiency, ce);
        cycles.push(s);
    }
    let samples = cycles.len();
    Ok(Parsed::Cycles(vec![CycleTable { cell_id: cell_id_of(path), cycles, samples, ..Default::default() }]))
}
