//! Neware BTS CSV exports, in both layouts:
//! * **flat** ("record" export): one row per sample with `Cycle Index, Step Index, Step Type,
//!   Time, Cumulative Time (or Total Time), Current(A), Voltage(V), Chg. Cap.(Ah),
//!   DChg. Cap.(Ah), …`; counters reset every step, current is negative on discharge.
//! * **nested** ("regular" export): three header levels — cycle rows (first field non-empty:
//!   `Cycle Index, Chg. Cap.(Ah), DChg. Cap.(Ah), …`), step rows (second field non-empty) and
//!   record rows (two empty leading fields). The cycle rows are the per-cycle summary and give
//!   the capacities as written; the record rows are segmented for the descriptors.
//!
//! Units in the names are honoured (`(mAh)`, `(mA)`); mojibake unit symbols (`T1(?)`) are fine.

use std::path::Path;

use super::segment;
use super::series::{self, Mapping, TimeCol};
use super::summary::{CycleSummary, CycleTable};
use super::table::{
    capacity_scale, check_capacity, check_one_line, find_col, parse_datetime, parse_num, read_text, split_line, unit_scale, Record,
    TextTable,
};
use super::{cell_id_of, Parsed};
use crate::data::Descriptor;
use crate::error::{ErrorKind, ImportError, Result};

pub fn parse(path: &Path) -> Result<Parsed> {
    let text = read_text(path)?;
    let second = text.lines().nth(1).unwrap_or("");
    if second.trim_start().starts_with(",Step") {
        return parse_nested(path, &text);
    }
    let table = TextTable::parse(path, &text, b',', |h| find_col(h, &["Cycle Index"]).is_some())?;
    let m = flat_mapping(&table)?;
    Ok(Parsed::Series(series::build(&table, &m, &cell_id_of(path))?))
}

fn flat_mapping(t: &TextTable) -> Result<Mapping> {
    let scaled = |i: usize| (i, unit_scale(&t.headers[i]));
    let current = t.find_prefix(&["Current("]).ok_or_else(|| t.missing("Current(A)"))?;
    let voltage = t.find_prefix(&["Voltage("]).ok_or_else(|| t.missing("Voltage(V)"))?;
    let time = match (t.find(&["Cumulative Time", "Total Time"]), t.find(&["Date", "Realtime", "Absolute Time"])) {
        (Some(c), _) => TimeCol::Duration(c),
        (None, Some(c)) => TimeCol::DateTime(c),
        (None, None) => return Err(t.missing("Total Time")),
    };
    let mut m = Mapping::new(time, scaled(current), scaled(voltage));
    m.cycle = t.find(&["Cycle Index", "Cycle ID"]);
    m.step = t.find(&["Step Index", "Step ID"]);
    m.state = t.find(&["Step Type", "Step Name"]);
    m.charge_capacity = t.find_prefix(&["Chg. Cap.("]).map(|c| t.capacity(c)).transpose()?;
    m.discharge_capacity = t.find_prefix(&["DChg. Cap.("]).map(|c| t.capacity(c)).transpose()?;
    m.charge_energy = t.find_prefix(&["Chg. Energy("]).map(scaled);
    m.discharge_energy = t.find_prefix(&["DChg. Energy("]).map(scaled);
    m.temperature = t.find_prefix(&["T1(", "Temperature", "Aux. T"]);
    Ok(m)
}

/// The nested export: cycle rows → summary; record rows (labelled with their cycle and step
/// type) → a time series for the descriptors.
fn parse_nested(path: &Path, text: &str) -> Result<Parsed> {
    let lines: Vec<&str> = text.lines().take(3).collect();
    let [l1, l2, l3] = lines[..] else {
        return Err(ImportError::malformed(path, "a nested Neware export needs three header lines"));
    };
    let (cycle_h, step_h, rec_h) = (split_line(l1, b','), split_line(l2, b','), split_line(l3, b','));
    let col = |h: &[String], prefix: &str| h.iter().position(|c| c.starts_with(prefix));
    let need = |h: &[String], prefix: &str| col(h, prefix).ok_or_else(|| ImportError::new(path, ErrorKind::MissingColumn(prefix.into())));
    let (c_cycle, c_chg, c_dchg) = (need(&cycle_h, "Cycle Index")?, need(&cycle_h, "Chg. Cap.(")?, need(&cycle_h, "DChg. Cap.(")?);
    let (c_chg_e, c_dchg_e) = (col(&cycle_h, "Chg. Energy("), col(&cycle_h, "DChg. Energy("));
    let s_type = need(&step_h, "Step Type")?;
    let (chg_scale, dchg_scale) = (capacity_scale(path, &cycle_h[c_chg])?, capacity_scale(path, &cycle_h[c_dchg])?);
    let cell = cell_id_of(path);

    // Record rows become a table with two extra columns: the cycle and step type they sit in.
    let mut rec_headers: Vec<String> = rec_h.iter().skip(2).cloned().collect();
    rec_headers.extend(["Cycle Index".to_string(), "Step Type".to_string()]);
    let mut table = TextTable { file: path.to_path_buf(), preamble: Vec::new(), headers: rec_headers, records: Vec::new() };
    let mut cycles: Vec<CycleSummary> = Vec::new();
    let (mut cycle, mut step_type) = (String::new(), String::new());
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    for (i, rec) in reader.records().enumerate().skip(3) {
        let line = i + 1;
        let rec = rec.map_err(|e| ImportError::malformed(path, format!("malformed record: {e}")).row(line))?;
        check_one_line(path, line, rec.iter())?;
        let f: Vec<String> = rec.iter().map(|s| s.trim().to_string()).collect();
        let get = |c: usize| f.get(c).map(String::as_str).unwrap_or("");
        let num = |h: &[String], c: usize| -> Result<Option<f64>> {
            parse_num(get(c), false).map_err(|_| {
                ImportError::new(path, ErrorKind::NotNumeric { column: h[c].clone(), value: get(c).to_string() }).row(line)
            })
        };
        if !get(0).is_empty() {
            // A cycle row (which also carries its first step's fields: the step type follows).
            cycle = get(c_cycle).to_string();
            let n = num(&cycle_h, c_cycle)?.ok_or_else(|| ImportError::malformed(path, "cycle index is empty").row(line))?;
            let capacity = |c: usize, scale: f64| -> Result<Option<f64>> {
                let v = num(&cycle_h, c)?;
                v.map(|v| check_capacity(path, &cell, line, &cycle_h[c], v, false).map(|v| v * scale)).transpose()
            };
            let dchg = capacity(c_dchg, dchg_scale)?.unwrap_or(0.0);
            let mut s = CycleSummary::new(n, line, dchg);
            s.with_charge(capacity(c_chg, chg_scale)?);
            let scaled = |c: Option<usize>| -> Result<Option<f64>> {
                Ok(match c {
                    Some(c) => num(&cycle_h, c)?.map(|v| v * unit_scale(&cycle_h[c])),
                    None => None,
                })
            };
            s.charge_energy_wh = scaled(c_chg_e)?;
            s.discharge_energy_wh = scaled(c_dchg_e)?;
            cycles.push(s);
            step_type = get(cycle_h.len() + s_type - 1).to_string();
        } else if !get(1).is_empty() {
            step_type = get(s_type).to_string();
        } else {
            let mut fields: Vec<String> = f.iter().skip(2).cloned().collect();
            fields.resize(table.headers.len() - 2, String::new());
            fields.extend([cycle.clone(), step_type.clone()]);
            table.records.push(Record { line, fields });
        }
    }

    // Descriptors from the records, where they segment; the capacities stay as written.
    let descriptors = record_descriptors(&table)?;
    for s in &mut cycles {
        if let Some(d) = descriptors.iter().find(|d| d.cycle == s.cycle) {
            s.descriptors = d.descriptors;
        }
        let ce = s.charge_capacity_ah.filter(|q| *q > 0.0).map(|q| s.discharge_capacity_ah / q);
        s.set(Descriptor::CoulombicEfficiency, ce.filter(|_| s.has_discharge));
    }
    let samples = cycles.len() + table.records.len();
    Ok(Parsed::Cycles(vec![CycleTable { cell_id: cell_id_of(path), cycles, samples, ..Default::default() }]))
}

fn record_descriptors(table: &TextTable) -> Result<Vec<CycleSummary>> {
    if table.records.is_empty() {
        return Ok(Vec::new());
    }
    let t = table;
    let scaled = |i: usize| (i, unit_scale(&t.headers[i]));
    let (Some(cur), Some(volt)) = (t.find_prefix(&["Current("]), t.find_prefix(&["Voltage("])) else {
        return Ok(Vec::new());
    };
    let time = match (t.find(&["Total Time"]), t.find(&["Date"])) {
        (Some(c), _) => TimeCol::Duration(c),
        (None, Some(c)) if t.records.first().is_some_and(|r| parse_datetime(r.get(c)).is_some()) => TimeCol::DateTime(c),
        _ => return Ok(Vec::new()),
    };
    let mut m = Mapping::new(time, scaled(cur), scaled(volt));
    m.cycle = t.find(&["Cycle Index"]);
    m.state = t.find(&["Step Type"]);
    m.shared_capacity = t.find_prefix(&["Capacity("]).map(|c| t.capacity(c)).transpose()?;
    m.temperature = t.find_prefix(&["T1("]);
    let series = series::build(t, &m, "records")?;
    let mut out = Vec::new();
    for s in &series {
        out.extend(segment::summarise(&t.file, s)?.cycles);
    }
    Ok(out)
}
