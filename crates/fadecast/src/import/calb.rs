//! CALB — 27 CALB 58 Ah prismatic NMC / graphite cells at 0, 25, 35 and 45 °C (BatteryLife
//! benchmark, Tan et al., KDD 2025), first ~100 cycles of each cell only.
//!
//! Files: `calb_cycles_first100.csv` (one row per cycle, reduced from the BatteryLife pkl time
//! series), `calb_cell_metadata.json` (the pkl's non-time-series fields) and
//! `calb_life_labels_batterylife.json` (BatteryLife cycles-to-EOL, keyed `<cell>.pkl`).
//!
//! Capacity is `discharge_capacity_Ah` (max of the pkl counter), which the time-axis wrap below
//! does not affect. The one row with no charge samples (CALB_0_B188 cycle 208, a 61-point stub at
//! 29.5 Ah) is a truncated last cycle and is dropped.
//!
//! The pkl time axis wraps at 86,400 s, which corrupts every time-integrated column of a cycle
//! that spans the wrap (negative `cycle_duration_s`; 353 rows). So the time-derived descriptors
//! are taken only where `cycle_duration_s > 0`: charge time, CV time = `charge_time_near_Vmax_s`
//! (charge within 10 mV of the maximum voltage, the CV or top-step stage), CC time = charge − CV,
//! coulombic efficiency (within [`CE_RANGE`]). Sample statistics (`charge_V_mean`, `charge_V_std`,
//! `discharge_V_mean`, `charge_I_mean`) do not depend on the time axis and are always taken. The T
//! columns are the chamber set-point, not a cell temperature, so no temperature descriptor.
//!
//! C-rates: the pkl protocol gives 1C/1C (0 °C cells), "stepcharge" (25/35 °C) and 5C/15C (45 °C).
//! The measured currents are ≈58 A discharge and ≤69.6 A charge on every cell, which contradicts
//! 5C/15C, so a stated rate is kept only where the cell's median peak current agrees with it
//! ([`rate_if_measured`]); the stated protocol stays in the protocol text.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use super::clean::median;
use super::tables::{cell_id, ByCell};
use super::tables::{within, CE_RANGE};
use super::read::{read_to_string, Table};
use super::{RawCell, RawCycle};
use crate::data::{CellMeta, Descriptor};
use crate::error::{ImportError, Result};

pub const DATASET: &str = "CALB";
const CYCLES: &str = "calb_cycles_first100.csv";
const METADATA: &str = "calb_cell_metadata.json";
const LABELS: &str = "calb_life_labels_batterylife.json";
pub const DROP_STUB: &str = "truncated cycle without charge data";

/// A stated C-rate is accepted when the measured peak current is within this fraction of it.
const RATE_TOLERANCE: f64 = 0.1;

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let metas = read_metadata(&dir.join(METADATA), &dir.join(LABELS))?;

    let path = dir.join(CYCLES);
    let mut table = Table::open(&path)?;
    let c_cell = table.col("cell_id")?;
    let c_cycle = table.col("cycle_number")?;
    let c_cap = table.col("discharge_capacity_Ah")?;
    let c_duration = table.col("cycle_duration_s")?;
    let c_charge_time = table.col("charge_time_s")?;
    let c_cv_time = table.col("charge_time_near_Vmax_s")?;
    let c_ce = table.col("coulombic_efficiency")?;
    let (c_vc, c_vc_std) = (table.col("charge_V_mean")?, table.col("charge_V_std")?);
    let (c_vd, c_ic) = (table.col("discharge_V_mean")?, table.col("charge_I_mean")?);
    let (c_ic_max, c_id_max) = (table.col("charge_I_max_abs")?, table.col("discharge_I_max_abs")?);
    let mut cells = ByCell::default();
    // Per cell: peak charge and discharge currents of each cycle, to check the stated C-rates.
    let mut peaks: HashMap<String, (Vec<f64>, Vec<f64>)> = HashMap::new();
    while let Some(row) = table.next_row() {
        let row = row?;
        let id = cell_id(&row, c_cell)?;
        let cell = cells.get_known(&row, &id, &metas, METADATA)?;
        let located = |e: ImportError| e.cell(id.clone());
        let charge_v = row.finite(c_vc).map_err(located)?;
        if charge_v.is_none() {
            cell.drop_row(DROP_STUB);
            continue;
        }
        let mut r = RawCycle::new(row.line, row.req(c_cycle).map_err(located)?, row.num(c_cap).map_err(located)?);
        let d = &mut r.descriptors;
        d[Descriptor::ChargeVoltageMeanV.index()] = charge_v;
        d[Descriptor::ChargeVoltageStdV.index()] = row.finite(c_vc_std).map_err(located)?;
        d[Descriptor::DischargeVoltageMeanV.index()] = row.finite(c_vd).map_err(located)?;
        d[Descriptor::ChargeCurrentMeanA.index()] = row.finite(c_ic).map_err(located)?;
        let no_wrap = row.finite(c_duration).map_err(located)?.is_some_and(|t| t > 0.0);
        if no_wrap {
            let charge = row.finite(c_charge_time).map_err(located)?;
            let cv = row.finite(c_cv_time).map_err(located)?;
            d[Descriptor::ChargeTimeS.index()] = charge;
            d[Descriptor::CvChargeTimeS.index()] = cv;
            d[Descriptor::CcChargeTimeS.index()] = charge.zip(cv).map(|(t, cv)| t - cv).filter(|t| *t >= 0.0);
            d[Descriptor::CoulombicEfficiency.index()] = within(row.finite(c_ce).map_err(located)?, &CE_RANGE);
        }
        cell.rows.push(r);
        let p = peaks.entry(id.clone()).or_default();
        p.0.extend(row.finite(c_ic_max).map_err(located)?);
        p.1.extend(row.finite(c_id_max).map_err(located)?);
    }

    let mut cells = cells.into_cells();
    for cell in &mut cells {
        let Some((charge, discharge)) = peaks.get_mut(&cell.meta.cell_id) else { continue };
        let m = &mut cell.meta;
        if let Some(n) = m.nominal_capacity_ah {
            m.charge_c_rate = rate_if_measured(m.charge_c_rate, charge, n);
            m.discharge_c_rate = rate_if_measured(m.discharge_c_rate, discharge, n);
        }
    }
    Ok(cells)
}

/// The stated C-rate if the cell's median peak current agrees with it within [`RATE_TOLERANCE`].
fn rate_if_measured(stated: Option<f64>, peak_currents: &mut [f64], nominal_ah: f64) -> Option<f64> {
    let stated = stated?;
    if peak_currents.is_empty() {
        return None;
    }
    let measured = median(peak_currents) / nominal_ah;
    ((measured - stated).abs() <= RATE_TOLERANCE * stated).then_some(stated)
}

/// Cell metadata from the pkl fields, with the BatteryLife EOL label. C-rates are the stated
/// ones here; [`import`] keeps them only where the measured currents agree.
fn read_metadata(path: &Path, labels_path: &Path) -> Result<HashMap<String, CellMeta>> {
    let json = |p: &Path| -> Result<Value> {
        serde_json::from_str(&read_to_string(p)?).map_err(|e| ImportError::malformed(p, format!("invalid JSON: {e}")))
    };
    let labels = json(labels_path)?;
    let Value::Array(entries) = json(path)? else {
        return Err(ImportError::malformed(path, "expected a JSON array of cells"));
    };
    let mut out = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let err = |msg: &str| ImportError::malformed(path, msg.to_string()).row(i + 1);
        let id = e["cell_id"].as_str().ok_or_else(|| err("entry without `cell_id`"))?.to_string();
        let text = |k: &str| e[k].as_str().map(str::to_string);
        let (cathode, anode) = (text("cathode_material"), text("anode_material"));
        let charge = e["charge_protocol"].as_array().map(Vec::as_slice).unwrap_or_default();
        let discharge = e["discharge_protocol"].as_array().map(Vec::as_slice).unwrap_or_default();
        let (vmin, vmax) = (e["min_voltage_limit_in_V"].as_f64(), e["max_voltage_limit_in_V"].as_f64());
        let window = match (vmin, vmax) {
            (Some(lo), Some(hi)) => format!("{lo}–{hi} V"),
            _ => "voltage window not stated".into(),
        };
        let meta = CellMeta {
            dataset: DATASET.into(),
            cell_id: id.clone(),
            chemistry: cathode.as_ref().zip(anode.as_ref()).map(|(c, a)| format!("{c}/{a}")),
            cathode,
            anode,
            form_factor: text("form_factor"),
            nominal_capacity_ah: e["nominal_capacity_in_Ah"].as_f64(),
            temperature_c: temperature_from_id(&id),
            charge_c_rate: single_rate(charge),
            discharge_c_rate: single_rate(discharge),
            dod: e["depth_of_discharge"].as_f64(),
            protocol: Some(format!(
                "charge {} / discharge {} (pkl protocol fields), {window}; only the first ~100 cycles \
                 of a longer test are available",
                describe(charge),
                describe(discharge)
            )),
            source: Some(
                "BatteryLife (Tan et al., KDD 2025, arXiv:2502.18807) CALB subset; pkl files via \
                 NKomrade/TATA-Hackathon @72efac4, reduced per cycle"
                    .into(),
            ),
            eol_cycle_label: labels[format!("{id}.pkl")].as_f64(),
            ..Default::default()
        };
        if out.insert(id.clone(), meta).is_some() {
            return Err(err(&format!("cell `{id}` is listed twice")).cell(id));
        }
    }
    Ok(out)
}

/// The C-rate of a one-step protocol with a numeric rate; "stepcharge" or several steps → none.
fn single_rate(steps: &[Value]) -> Option<f64> {
    match steps {
        [one] => one["rate_in_C"].as_f64(),
        _ => None,
    }
}

/// The protocol steps as text, e.g. "1C" or "stepcharge".
fn describe(steps: &[Value]) -> String {
    let parts: Vec<String> = steps
        .iter()
        .map(|s| match &s["rate_in_C"] {
            Value::Number(n) => format!("{n}C"),
            Value::String(t) => t.clone(),
            _ => "?".into(),
        })
        .collect();
    if parts.is_empty() {
        "not stated".into()
    } else {
        parts.join(" → ")
    }
}

/// The chamber temperature in the BatteryLife cell name `CALB_<°C>_<cell>`.
fn temperature_from_id(id: &str) -> Option<f64> {
    id.split('_').nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stated_rate_is_kept_only_when_the_measured_current_agrees() {
        // 58 Ah cell: 58 A peaks are 1C, so a stated 1C stands and a stated 15C does not.
        assert_eq!(rate_if_measured(Some(1.0), &mut [58.03, 58.02, 57.9], 58.0), Some(1.0));
        assert_eq!(rate_if_measured(Some(15.0), &mut [58.03, 58.02, 57.9], 58.0), None);
        assert_eq!(rate_if_measured(Some(1.0), &mut [], 58.0), None);
        assert_eq!(rate_if_measured(None, &mut [58.0], 58.0), None);
    }

    #[test]
    fn protocol_rates_and_names() {
        let one: Vec<Value> = serde_json::from_str(r#"[{"rate_in_C": 5.0}]"#).unwrap();
        let step: Vec<Value> = serde_json::from_str(r#"[{"rate_in_C": "stepcharge"}]"#).unwrap();
        assert_eq!(single_rate(&one), Some(5.0));
        assert_eq!(single_rate(&step), None);
        assert_eq!(describe(&step), "stepcharge");
        assert_eq!(describe(&one), "5.0C");
        assert_eq!(temperature_from_id("CALB_35_B173"), Some(35.0));
        assert_eq!(temperature_from_id("CALB_25_T25-1"), Some(25.0));
        assert_eq!(temperature_from_id("other"), None);
    }
}
