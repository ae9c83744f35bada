//! BatteryLife / BatteryML processed pickles: one cell per `.pkl`.
//!
//! The file is a plain pickled dict (no numpy, no classes): `cell_id`, cell metadata
//! (`nominal_capacity_in_Ah`, `cathode_material`, `charge_protocol`, ...) and `cycle_data`, a list
//! of dicts with `cycle_number` and per-sample lists `current_in_A` (positive = charge),
//! `voltage_in_V`, `charge_capacity_in_Ah`, `discharge_capacity_in_Ah`, `time_in_s`,
//! `temperature_in_C`. Each cycle is summarised to one [`RawCycle`]:
//!
//! * capacity = max of the discharge counter over the cycle (BatteryLife's own rule);
//! * a sample is *charging* when current > 1 % of the cycle's peak |current|, *discharging* when
//!   below −1 %; time is attributed half to each end of a sampling interval;
//! * charge time splits into CV (charging with voltage within [`CV_BAND_V`] of the cycle's
//!   highest charge voltage) and CC (the rest);
//! * voltage / current means and the voltage std are plain sample statistics (as in the CALB
//!   summary CSV, so both paths give comparable descriptors for the same cells);
//! * coulombic efficiency = Ah discharged / Ah charged, each accumulated from its counter over
//!   the discharging / charging samples only, restarting at every counter reset: the CALB files
//!   reset the charge counter at each step of a multi-step charge, and their charge counter
//!   mirrors the discharge counter during discharge, so neither max is the charged Ah;
//! * temperature = mean of the cycle's samples, unless every sample of the file reads the same
//!   value: that is a chamber set-point (as in the CALB files), not a cell temperature, so it
//!   becomes the cell's [`CellMeta::temperature_c`] and no descriptor (as in [`super::calb`]).
//!
//! Stated C-rates (`charge_protocol[0].rate_in_C`, ...) are kept only where the measured currents
//! agree: the CALB 45 °C files state 5C / 15C but draw ≈1.2C / 1C. The stated protocol stays in
//! the protocol text either way.
//!
//! `time_in_s` is time of day in some files and wraps at 86 400 s; a backwards step is read as
//! one wrap. Rows carry the 1-based index of the cycle in `cycle_data`, for errors.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_pickle::{DeOptions, Error as PickleError, ErrorCode, HashableValue, Value};

use super::clean::median;
use super::{read, RawCell, RawCycle};
use crate::data::{CellMeta, Descriptor};
use crate::error::{ImportError, Result};

/// `dataset` of cells read from a pickle: like [`super::user_csv`], these are the user's cells.
pub const DATASET: &str = super::user_csv::DATASET;

/// A charge sample counts as constant-voltage when within this of the cycle's top charge voltage.
pub const CV_BAND_V: f64 = 0.010;
/// Current below this fraction of the cycle's peak |current| counts as rest.
const REST_FRACTION: f64 = 0.01;
/// A stated C-rate is kept when the measured peak current is within this fraction of it.
const RATE_TOLERANCE: f64 = 0.1;
const DAY_S: f64 = 86_400.0;
/// How far into the file the content sniffer looks for the `cycle_data` key.
const SNIFF_BYTES: u64 = 64 * 1024;

/// Content sniffing: a binary pickle (protocol 2–5 header) whose opening bytes hold the
/// `cycle_data` key. BatteryLife writes `cell_id` then `cycle_data` first, so the key is near the start.
pub fn looks_like_batterylife(path: &Path) -> bool {
    let Ok(r) = read::open(path) else { return false };
    let mut head = Vec::new();
    if r.take(SNIFF_BYTES).read_to_end(&mut head).is_err() {
        return false;
    }
    head.len() > 2
        && head[0] == 0x80
        && (2..=5).contains(&head[1])
        && head.windows(b"cycle_data".len()).any(|w| w == b"cycle_data")
}

/// Reads one BatteryLife pickle into one raw cell.
pub fn import_file(path: &Path) -> Result<Vec<RawCell>> {
    let mut bytes = Vec::new();
    read::open(path)?.read_to_end(&mut bytes).map_err(|e| ImportError::io(path, e))?;
    let value = serde_pickle::value_from_slice(&bytes, DeOptions::new()).map_err(|e| {
        let code = match &e {
            PickleError::Eval(code, _) | PickleError::Syntax(code) => Some(code),
            PickleError::Io(_) => None,
        };
        let hint = match code {
            Some(ErrorCode::EOFWhileParsing) => " (the file is truncated)",
            Some(ErrorCode::UnresolvedGlobal | ErrorCode::UnsupportedGlobal(..)) => {
                " (only plain dict/list pickles are supported, not numpy or pandas objects)"
            }
            _ => "",
        };
        ImportError::malformed(path, format!("not a readable pickle: {e}{hint}"))
    })?;
    let Value::Dict(top) = value else {
        return Err(ImportError::malformed(path, format!("expected a dict at the top level, found {}", kind(&value))));
    };
    let cell_id = match get(&top, "cell_id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(other) => return Err(ImportError::malformed(path, format!("`cell_id` is {}, not a name", kind(other)))),
        None => return Err(ImportError::malformed(path, "no `cell_id` key: not a BatteryLife cell")),
    };
    let cell_err = |msg: String| ImportError::malformed(path, msg).cell(cell_id.clone());

    let meta = cell_meta(&top, &cell_id, path).map_err(cell_err)?;
    let cycles = match get(&top, "cycle_data") {
        Some(Value::List(l)) | Some(Value::Tuple(l)) => l,
        Some(other) => return Err(cell_err(format!("`cycle_data` is {}, not a list", kind(other)))),
        None => return Err(cell_err("no `cycle_data` key".into())),
    };
    let per_cycle_temperature = meta.temperature_c.is_none();
    let mut cell = RawCell::new(meta, path);
    let (mut charge_peaks, mut discharge_peaks) = (Vec::new(), Vec::new());
    for (i, c) in cycles.iter().enumerate() {
        let row = i + 1;
        let (raw, peaks) = summarise(c, row, per_cycle_temperature)
            .map_err(|msg| cell_err(format!("cycle_data[{i}]: {msg}")).row(row))?;
        charge_peaks.extend(peaks.charge);
        discharge_peaks.extend(peaks.discharge);
        cell.rows.push(raw);
    }
    let meta = &mut cell.meta;
    if let Some(nominal) = meta.nominal_capacity_ah {
        meta.charge_c_rate = rate_if_measured(meta.charge_c_rate, &mut charge_peaks, nominal);
        meta.discharge_c_rate = rate_if_measured(meta.discharge_c_rate, &mut discharge_peaks, nominal);
    }
    Ok(vec![cell])
}

/// The cell metadata BatteryLife stores next to `cycle_data`.
fn cell_meta(top: &BTreeMap<HashableValue, Value>, cell_id: &str, path: &Path) -> Result<CellMeta, String> {
    let text = |k: &str| match get(top, k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    };
    let number =
        |k: &str| get(top, k).map(|v| number(v).map_err(|m| format!("`{k}`: {m}"))).transpose().map(Option::flatten);
    let (cathode, anode) = (text("cathode_material"), text("anode_material"));
    let chemistry = match (&cathode, &anode) {
        (Some(c), Some(a)) => Some(format!("{c}/{a}")),
        (c, a) => c.clone().or_else(|| a.clone()),
    };
    let (charge, charge_text) = protocol(get(top, "charge_protocol"));
    let (discharge, discharge_text) = protocol(get(top, "discharge_protocol"));
    let protocol = match (charge_text, discharge_text) {
        (None, None) => None,
        (c, d) => Some(format!("charge {}; discharge {}", c.as_deref().unwrap_or("?"), d.as_deref().unwrap_or("?"))),
    };
    Ok(CellMeta {
        dataset: DATASET.into(),
        cell_id: cell_id.to_string(),
        chemistry,
        cathode,
        anode,
        form_factor: text("form_factor"),
        nominal_capacity_ah: number("nominal_capacity_in_Ah")?.filter(|n| *n > 0.0),
        temperature_c: constant_temperature(top),
        charge_c_rate: charge,
        discharge_c_rate: discharge,
        dod: number("depth_of_discharge")?.filter(|d| *d > 0.0 && *d <= 1.0),
        protocol,
        source: Some(format!("BatteryLife processed pickle {}", path.display())),
        ..Default::default()
    })
}

/// A protocol list's first-step C-rate (when numeric) and a text rendering of all steps'
/// rates, e.g. `"1C"`, `"stepcharge"`, `"5C → 1C"`.
fn protocol(v: Option<&Value>) -> (Option<f64>, Option<String>) {
    let Some(Value::List(steps)) = v else { return (None, None) };
    let rates: Vec<&Value> = steps
        .iter()
        .filter_map(|s| match s {
            Value::Dict(d) => get(d, "rate_in_C"),
            _ => None,
        })
        .collect();
    let first = rates.first().and_then(|r| number(r).ok().flatten());
    let text: Vec<String> = rates
        .iter()
        .filter_map(|r| match r {
            Value::String(s) => Some(s.clone()),
            other => number(other).ok().flatten().map(|x| format!("{x}C")),
        })
        .collect();
    (first, (!text.is_empty()).then(|| text.join(" → ")))
}

/// The stated C-rate if the cell's median peak current agrees with it within
/// [`RATE_TOLERANCE`], or if there is no current to check it against.
fn rate_if_measured(stated: Option<f64>, peaks: &mut [f64], nominal_ah: f64) -> Option<f64> {
    let stated = stated?;
    if peaks.is_empty() {
        return Some(stated);
    }
    let measured = median(peaks) / nominal_ah;
    ((measured - stated).abs() <= RATE_TOLERANCE * stated).then_some(stated)
}

/// The temperature when every sample of the file reads the same value (a chamber set-point).
fn constant_temperature(top: &BTreeMap<HashableValue, Value>) -> Option<f64> {
    let (Some(Value::List(cycles)) | Some(Value::Tuple(cycles))) = get(top, "cycle_data") else { return None };
    let mut seen: Option<f64> = None;
    for c in cycles {
        let Value::Dict(d) = c else { return None };
        for t in series(d, "temperature_in_C").ok().flatten()?.into_iter().filter(|t| t.is_finite()) {
            match seen {
                None => seen = Some(t),
                Some(s) if s != t => return None,
                Some(_) => {}
            }
        }
    }
    seen
}

/// Peak |current| of one cycle while charging and while discharging (A).
#[derive(Default)]
struct Peaks {
    charge: Option<f64>,
    discharge: Option<f64>,
}

/// One `cycle_data` entry → one raw row, and its peak currents. Errors are messages; the
/// caller adds file, cell and row.
fn summarise(c: &Value, row: usize, per_cycle_temperature: bool) -> Result<(RawCycle, Peaks), String> {
    let Value::Dict(d) = c else { return Err(format!("expected a dict, found {}", kind(c))) };
    let cycle = match get(d, "cycle_number") {
        Some(v) => number(v).map_err(|m| format!("`cycle_number`: {m}"))?.ok_or("`cycle_number` is None")?,
        None => return Err("no `cycle_number`".into()),
    };
    let current = series(d, "current_in_A")?;
    let voltage = series(d, "voltage_in_V")?;
    let q_charge = series(d, "charge_capacity_in_Ah")?;
    let q_discharge = series(d, "discharge_capacity_in_Ah")?;
    let time = series(d, "time_in_s")?;
    let temperature = series(d, "temperature_in_C")?;
    // Sample-wise series must line up with the current, which defines the charge/discharge split.
    if let Some(n) = current.as_ref().map(Vec::len) {
        for (name, s) in [
            ("voltage_in_V", &voltage),
            ("charge_capacity_in_Ah", &q_charge),
            ("discharge_capacity_in_Ah", &q_discharge),
            ("time_in_s", &time),
            ("temperature_in_C", &temperature),
        ] {
            if let Some(s) = s.as_ref().filter(|s| s.len() != n) {
                return Err(format!("`{name}` has {} samples but `current_in_A` has {n}", s.len()));
            }
        }
    }

    let capacity = q_discharge.as_deref().and_then(max_finite);
    let mut raw = RawCycle::new(row, cycle, capacity);
    let mut set = |d: Descriptor, v: Option<f64>| raw.descriptors[d.index()] = v.filter(|x| x.is_finite());
    if per_cycle_temperature {
        set(Descriptor::TemperatureC, temperature.as_deref().and_then(|t| mean(t.iter().copied())));
    }

    let Some(current) = current else { return Ok((raw, Peaks::default())) };
    let peak = current.iter().filter(|i| i.is_finite()).fold(0.0_f64, |m, i| m.max(i.abs()));
    if peak == 0.0 {
        return Ok((raw, Peaks::default()));
    }
    let charging: Vec<bool> = current.iter().map(|&i| i > REST_FRACTION * peak).collect();
    let discharging: Vec<bool> = current.iter().map(|&i| i < -REST_FRACTION * peak).collect();
    let picked =
        |s: &[f64], mask: &[bool]| -> Vec<f64> { s.iter().zip(mask).filter(|(_, m)| **m).map(|(v, _)| *v).collect() };
    let peaks = Peaks {
        charge: max_finite(&picked(&current, &charging)),
        discharge: max_finite(&picked(&current, &discharging).iter().map(|i| -i).collect::<Vec<_>>()),
    };

    set(Descriptor::ChargeCurrentMeanA, mean(picked(&current, &charging).into_iter()));
    if let Some(v) = &voltage {
        let charge_v = picked(v, &charging);
        set(Descriptor::ChargeVoltageMeanV, mean(charge_v.iter().copied()));
        set(Descriptor::ChargeVoltageStdV, std(&charge_v));
        set(Descriptor::DischargeVoltageMeanV, mean(picked(v, &discharging).into_iter()));
        if let Some(t) = &time {
            let dt = intervals(t);
            let charge_time = masked_time(&dt, &charging);
            if charge_time > 0.0 {
                let top = max_finite(&charge_v).unwrap_or(f64::NAN);
                let cv: Vec<bool> = charging.iter().zip(v).map(|(&c, &v)| c && v >= top - CV_BAND_V).collect();
                let cv_time = masked_time(&dt, &cv);
                set(Descriptor::ChargeTimeS, Some(charge_time));
                set(Descriptor::CvChargeTimeS, Some(cv_time));
                set(Descriptor::CcChargeTimeS, Some(charge_time - cv_time));
            }
        }
    }
    if let (Some(qd), Some(qc)) = (q_discharge.as_deref(), q_charge.as_deref()) {
        let discharged = accumulated(&picked(qd, &discharging));
        let charged = accumulated(&picked(qc, &charging)).filter(|q| *q > 0.0);
        set(Descriptor::CoulombicEfficiency, discharged.zip(charged).map(|(d, c)| d / c));
    }
    Ok((raw, peaks))
}

/// Sampling intervals `t[i] − t[i−1]` (first = 0), undoing a time-of-day wrap; a step that is
/// still negative after one wrap is a clock reset of unknown length and counts as 0.
fn intervals(t: &[f64]) -> Vec<f64> {
    let mut dt = vec![0.0; t.len()];
    for i in 1..t.len() {
        let mut d = t[i] - t[i - 1];
        if d < 0.0 {
            d += DAY_S;
        }
        dt[i] = if d.is_finite() && d >= 0.0 { d } else { 0.0 };
    }
    dt
}

/// Time spent in `mask`: each interval counts half for each of its two end samples in the mask.
fn masked_time(dt: &[f64], mask: &[bool]) -> f64 {
    (1..dt.len()).map(|i| dt[i] * 0.5 * (mask[i - 1] as u8 + mask[i] as u8) as f64).sum()
}

/// Total Ah counted by a capacity counter over a run of samples: increments add up, and a drop
/// is a counter reset (a new step), after which the new reading is itself the increment.
fn accumulated(q: &[f64]) -> Option<f64> {
    let (mut prev, mut total, mut any) = (0.0, 0.0, false);
    for &x in q.iter().filter(|x| x.is_finite()) {
        total += if x >= prev { x - prev } else { x };
        prev = x;
        any = true;
    }
    any.then_some(total)
}

fn max_finite(v: &[f64]) -> Option<f64> {
    v.iter().copied().filter(|x| x.is_finite()).reduce(f64::max)
}

fn mean(v: impl Iterator<Item = f64>) -> Option<f64> {
    let (n, s) = v.filter(|x| x.is_finite()).fold((0usize, 0.0), |(n, s), x| (n + 1, s + x));
    (n > 0).then(|| s / n as f64)
}

/// Population standard deviation of the finite values.
fn std(v: &[f64]) -> Option<f64> {
    let m = mean(v.iter().copied())?;
    mean(v.iter().map(|x| (x - m) * (x - m))).map(f64::sqrt)
}

fn get<'a>(d: &'a BTreeMap<HashableValue, Value>, key: &str) -> Option<&'a Value> {
    d.get(&HashableValue::String(key.to_string()))
}

/// A scalar number; `None` for a pickled `None`.
fn number(v: &Value) -> Result<Option<f64>, String> {
    match v {
        Value::None => Ok(None),
        Value::F64(x) => Ok(Some(*x)),
        Value::I64(x) => Ok(Some(*x as f64)),
        Value::Int(_) => Err("an integer too large for 64 bits".into()),
        other => Err(format!("expected a number, found {}", kind(other))),
    }
}

/// A per-sample list of numbers (`None` entries become NaN); `None` when the key is absent or None.
fn series(d: &BTreeMap<HashableValue, Value>, key: &str) -> Result<Option<Vec<f64>>, String> {
    match get(d, key) {
        None | Some(Value::None) => Ok(None),
        Some(Value::List(l)) | Some(Value::Tuple(l)) => l
            .iter()
            .enumerate()
            .map(|(i, v)| number(v).map(|x| x.unwrap_or(f64::NAN)).map_err(|m| format!("`{key}`[{i}]: {m}")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(other) => Err(format!("`{key}` is {}, not a list of numbers", kind(other))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::None => "None",
        Value::Bool(_) => "a bool",
        Value::I64(_) | Value::Int(_) => "an int",
        Value::F64(_) => "a float",
        Value::Bytes(_) => "bytes",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Tuple(_) => "a tuple",
        Value::Set(_) | Value::FrozenSet(_) => "a set",
        Value::Dict(_) => "a dict",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_undo_a_time_of_day_wrap() {
        assert_eq!(intervals(&[86_370.0, 86_400.0, 29.0]), vec![0.0, 30.0, 29.0]);
    }

    #[test]
    fn masked_time_counts_half_intervals_at_the_edges() {
        // Charging at samples 1 and 2 of 0..=3, 10 s apart: 5 + 10 + 5.
        assert_eq!(masked_time(&[0.0, 10.0, 10.0, 10.0], &[false, true, true, false]), 20.0);
    }

    #[test]
    fn accumulated_adds_up_steps_of_a_resetting_counter() {
        // Two steps: 0 → 3 Ah, then the counter resets and counts 0.5 → 2 Ah.
        assert_eq!(accumulated(&[1.0, 3.0, 0.5, 2.0]), Some(5.0));
        assert_eq!(accumulated(&[f64::NAN]), None);
    }

    #[test]
    fn std_is_the_population_std() {
        assert_eq!(std(&[1.0, 3.0]), Some(1.0));
        assert_eq!(std(&[]), None);
    }
}
