//! Maccor text exports (tab-separated), in both layouts:
//! * **old**: one title line (`Today's Date … Procedure: … Comment/Barcode: …`), then `Rec#,
//!   Cyc#, Step, Test (Sec|Min), Step (…), Amp-hr, Watt-hr, Amps, Volts, State, ES, DPt Time, …`;
//! * **new**: `key<TAB>value` lines (`Name`, `Procedure`, …), a blank line, then `Rec, Cycle P,
//!   Cycle C, Step, TestTime, StepTime, Cap. [Ah], Ener. [Wh], Current [A], Voltage [V], Md, ES,
//!   DPT Time, …` (the cycle is `Cycle C`).
//!
//! Maccor keeps one capacity and one energy counter for both directions, reset every step; the
//! `State`/`Md` letter (C, D, R, O…) says which. The current is written unsigned in some
//! exports, so its sign is set from the state. `TestTime` carries no unit: it is calibrated
//! against the wall-clock `DPT Time` column (minutes in the exports seen).

use std::path::Path;

use super::series::{self, Mapping, TimeCol};
use super::table::{find_col, parse_datetime, parse_num, read_text, unit_scale, TextTable};
use super::{cell_id_of, Parsed};
use crate::error::Result;

pub fn parse(path: &Path) -> Result<Parsed> {
    let text = read_text(path)?;
    let table = TextTable::parse(path, &text, b'\t', |h| {
        find_col(h, &["Rec#", "Rec"]).is_some() && find_col(h, &["Cyc#", "Cycle C"]).is_some()
    })?;
    let t = &table;
    let col = |names: &[&str]| t.col(names);
    let scaled = |i: usize| (i, unit_scale(&t.headers[i]));
    let time = t.find_prefix(&["Test (", "TestTime", "Test Time"]).ok_or_else(|| t.missing("Test (Sec)"))?;
    let time_scale = if t.headers[time].contains('(') { unit_scale(&t.headers[time]) } else { clock_scale(t, time) };
    let mut m = Mapping::new(
        TimeCol::Number(time, time_scale),
        scaled(col(&["Amps", "Current [A]", "Current"])?),
        scaled(col(&["Volts", "Voltage [V]", "Voltage"])?),
    );
    m.cycle = Some(col(&["Cyc#", "Cycle C"])?);
    m.step = t.find(&["Step"]);
    m.state = Some(col(&["State", "Md"])?);
    m.sign_from_state = true;
    m.shared_capacity = Some(t.capacity(col(&["Amp-hr", "Cap. [Ah]", "Capacity"])?)?);
    m.shared_energy = t.find(&["Watt-hr", "Ener. [Wh]", "Energy"]).map(scaled);
    m.temperature = t.find_prefix(&["Temp 1", "Temp1", "Temperature"]);
    let mut series = series::build(t, &m, &cell_id_of(path))?;
    let protocol = procedure(&t.preamble);
    for s in &mut series {
        s.protocol = protocol.clone();
    }
    Ok(Parsed::Series(series))
}

/// Seconds per unit of a unit-less test-time column: the wall-clock time elapsed between the
/// first and last record over the test time elapsed, snapped to s / min / h. Minutes when the
/// clock column is absent or unreadable (what Maccor's newer exports write).
fn clock_scale(t: &TextTable, time: usize) -> f64 {
    let clock = t.find(&["DPT Time", "DPt Time"]);
    let at = |r: &super::table::Record| -> Option<(f64, f64)> {
        Some((parse_num(r.get(time), false).ok()??, parse_datetime(r.get(clock?))?))
    };
    let (Some(a), Some(b)) = (t.records.first().and_then(at), t.records.last().and_then(at)) else { return 60.0 };
    let (dtest, dclock) = (b.0 - a.0, b.1 - a.1);
    if !(dtest > 0.0 && dclock > 0.0) {
        return 60.0;
    }
    let ratio = dclock / dtest;
    [1.0, 60.0, 3600.0].into_iter().min_by(|x, y| (ratio / x).ln().abs().total_cmp(&(ratio / y).ln().abs())).unwrap_or(60.0)
}

/// The test procedure, from `Procedure: X` in the old title line or `Procedure<TAB>X` in the new header.
fn procedure(preamble: &[String]) -> Option<String> {
    preamble.iter().find_map(|l| {
        let rest = &l[l.find("Procedure")? + "Procedure".len()..];
        let value = rest.trim_start_matches(':').trim_start().split(['\t']).next()?.trim();
        (!value.is_empty()).then(|| value.to_string())
    })
}
