//! NASA_PCoE — NASA Ames PCoE Li-ion ageing data (Saha & Goebel 2007): 34 commercial 18650 cells
//! (2.0 Ah rated), B0005–B0056, at 4, 24 or 43 °C with CC, square-wave or mixed discharges.
//!
//! Which file: `nasa_cycle_summary_34cells.csv` is the only file that covers all 34 cells, one row
//! per discharge with NASA's own `Capacity` field, so it is the capacity series. The two
//! reductions of the original data add descriptors for 28 of the cells, joined on the operation
//! index (`cycle_number` in the summary = `op_index` there; the import checks that both rows carry
//! the same capacity, so a wrong join is an error):
//! `nasa_cycles_from_mat.csv` (21 cells: charge, discharge and EIS features) and
//! `nasa_discharge_from_csv.csv` (7 cells: discharge features only). The XiuzeZhou file repeats
//! the capacities of B0005–B0007/B0018 and is not read.
//!
//! Cycle axis: `cycle_number` counts every NASA operation (charge, discharge, impedance), so the
//! axis is instead the discharge's ordinal within the cell (1..N, as the `discharge_number` of the
//! reductions), counting the dropped runs too: they happened to the cell.
//!
//! Aborted runs: the READMEs note "several discharge runs where the capacity was very low". A row
//! with no capacity (25, B0050/B0052) or a capacity below [`MIN_CAPACITY_AH`] (201 rows, mostly
//! 0.03–0.06 Ah on B0041–B0044) is dropped and counted. Low but real capacities above the threshold
//! and the few values above 2.2 Ah are kept for `clean` to judge.
//!
//! Descriptor mapping (from the joined reductions; the charge is the one preceding this discharge):
//! `charge_time_s`, `cc_charge_time_s`, `cv_charge_time_s`, `charge_V_mean`, `charge_I_mean`,
//! `discharge_V_mean` map one to one; temperature = mean cell temperature over charge and
//! discharge, weighted by their durations (only where both are known; a discharge-only mean would
//! be biased high); resistance = NASA's fitted electrolyte resistance `Re_ohm` of the latest EIS
//! (the ohmic part of the internal resistance), only within [`RE_RANGE_OHM`]; coulombic efficiency
//! = integrated discharge Ah / integrated charge Ah, only within [`CE_RANGE`]. The summary's
//! `ambient_temperature` is the chamber, not the cell, and its `max_temperature` is not a mean.
//!

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::Path;

use super::tables::{cell_id, within, ByCell, MetaTable, CE_RANGE};
use super::read::{Row, Table};
use super::{RawCell, RawCycle};
use crate::data::{CellMeta, Descriptor, N_DESCRIPTORS};
use crate::error::{ErrorKind, ImportError, Result};

pub const DATASET: &str = "NASA_PCoE";
const SUMMARY: &str = "nasa_cycle_summary_34cells.csv";
const DETAILS: [&str; 2] = ["nasa_cycles_from_mat.csv", "nasa_discharge_from_csv.csv"];
const METADATA: &str = "nasa_cell_metadata.csv";

/// Discharges below this capacity are aborted runs (5 % of the 2 Ah rating). The very-low runs sit
/// at 0–0.096 Ah (most ≈0.05 Ah), the lowest real end-of-test discharges well above; PROVENANCE
/// counts 201 summary values below 0.1 Ah.
pub const MIN_CAPACITY_AH: f64 = 0.1;
pub const DROP_MISSING: &str = "missing capacity (aborted run)";
pub const DROP_LOW: &str = "capacity below 0.1 Ah (aborted run)";

/// NASA's fitted `Re` outside this window is a failed fit (B0050/B0052 store −7,998 Ω, others
/// 448 Ω); an 18650's ohmic resistance is tens of mΩ.
const RE_RANGE_OHM: RangeInclusive<f64> = 1e-4..=1.0;

/// The reductions round capacities to 6 significant digits.
const JOIN_TOLERANCE_AH: f64 = 1e-4;

type Descriptors = [Option<f64>; N_DESCRIPTORS];

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let metas = MetaTable::read(&dir.join(METADATA), "cell")?;
    let mut details = HashMap::new();
    for file in DETAILS {
        read_details(dir, file, &mut details)?;
    }

    let path = dir.join(SUMMARY);
    let mut table = Table::open(&path)?;
    let c_cell = table.col("battery_id")?;
    let c_op = table.col("cycle_number")?;
    let c_cap = table.col("capacity_ahr")?;
    let mut cells = ByCell::default();
    while let Some(row) = table.next_row() {
        let row = row?;
        let id = cell_id(&row, c_cell)?;
        let cell = cells.get(&id, || Ok(RawCell::new(cell_meta(&metas, &id)?, &path)))?;
        let ordinal = cell.rows.len() + cell.dropped.values().sum::<usize>() + 1;
        let op = row.req(c_op).map_err(|e| e.cell(id.clone()))?;
        match row.num(c_cap).map_err(|e| e.cell(id.clone()))?.filter(|q| q.is_finite()) {
            None => cell.drop_row(DROP_MISSING),
            Some(q) if q < MIN_CAPACITY_AH => cell.drop_row(DROP_LOW),
            Some(q) => {
                let mut r = RawCycle::new(row.line, ordinal as f64, Some(q));
                if let Some(d) = details.get(&(id.clone(), op as i64)) {
                    // Same discharge in both files, or the join on the operation index is wrong.
                    if d.capacity_ah.is_none_or(|c| (c - q).abs() > JOIN_TOLERANCE_AH) {
                        let msg = format!(
                            "capacity {q} Ah differs from {:?} Ah in {} row {} (same operation {op})",
                            d.capacity_ah, d.file, d.line
                        );
                        return Err(row.error(ErrorKind::Malformed(msg)).cell(id));
                    }
                    r.descriptors = d.descriptors;
                }
                cell.rows.push(r);
            }
        }
    }
    Ok(cells.into_cells())
}

/// One per-discharge row of a reduction: its descriptors, NASA's capacity (to check the join) and
/// where it came from.
struct Detail {
    descriptors: Descriptors,
    capacity_ah: Option<f64>,
    file: &'static str,
    line: usize,
}

/// Reads one per-discharge reduction into `out`, keyed by (cell, operation index).
fn read_details(dir: &Path, file: &'static str, out: &mut HashMap<(String, i64), Detail>) -> Result<()> {
    let mut table = Table::open(&dir.join(file))?;
    let c_cell = table.col("cell")?;
    let c_op = table.col("op_index")?;
    let c_cap = table.col("capacity_Ah")?;
    // The discharge-only file lacks the charge and EIS columns: those stay unavailable.
    let find = |name: &str| table.find(name);
    let (c_tc, c_tcc, c_tcv) = (find("charge_time_s"), find("cc_charge_time_s"), find("cv_charge_time_s"));
    let (c_vc, c_vd, c_ic) = (find("charge_V_mean"), find("discharge_V_mean"), find("charge_I_mean"));
    let (c_temp_c, c_temp_d, c_td) = (find("charge_T_mean"), find("discharge_T_mean"), find("discharge_time_s"));
    let (c_re, c_qc, c_qd) = (find("Re_ohm"), find("charge_Ah_integrated"), find("discharge_Ah_integrated"));
    let descriptors = |row: &Row<'_>| -> Result<Descriptors> {
        let mut d: Descriptors = [None; N_DESCRIPTORS];
        let charge_time = row.opt(c_tc)?;
        d[Descriptor::ChargeTimeS.index()] = charge_time;
        d[Descriptor::CcChargeTimeS.index()] = row.opt(c_tcc)?;
        d[Descriptor::CvChargeTimeS.index()] = row.opt(c_tcv)?;
        d[Descriptor::ChargeVoltageMeanV.index()] = row.opt(c_vc)?;
        d[Descriptor::DischargeVoltageMeanV.index()] = row.opt(c_vd)?;
        d[Descriptor::ChargeCurrentMeanA.index()] = row.opt(c_ic)?;
        d[Descriptor::TemperatureC.index()] =
            time_weighted_mean(row.opt(c_temp_c)?, charge_time, row.opt(c_temp_d)?, row.opt(c_td)?);
        d[Descriptor::ResistanceOhm.index()] = within(row.opt(c_re)?, &RE_RANGE_OHM);
        let ce = match (row.opt(c_qd)?, row.opt(c_qc)?) {
            (Some(qd), Some(qc)) if qc != 0.0 => Some(qd / qc),
            _ => None,
        };
        d[Descriptor::CoulombicEfficiency.index()] = within(ce, &CE_RANGE);
        Ok(d)
    };
    while let Some(row) = table.next_row() {
        let row = row?;
        let id = cell_id(&row, c_cell)?;
        let located = |e: ImportError| e.cell(id.clone());
        let op = row.req(c_op).map_err(located)? as i64;
        let detail = Detail {
            descriptors: descriptors(&row).map_err(located)?,
            capacity_ah: row.finite(c_cap).map_err(located)?,
            file,
            line: row.line,
        };
        if let Some(first) = out.insert((id.clone(), op), detail) {
            let msg = format!("operation {op} of {id} is also in {} row {}", first.file, first.line);
            return Err(row.error(ErrorKind::Malformed(msg)).cell(id));
        }
    }
    Ok(())
}

/// Mean of two phases' means weighted by their durations; `None` unless all four are known.
fn time_weighted_mean(a: Option<f64>, ta: Option<f64>, b: Option<f64>, tb: Option<f64>) -> Option<f64> {
    let (a, ta, b, tb) = (a?, ta?, b?, tb?);
    (ta > 0.0 && tb > 0.0).then(|| (a * ta + b * tb) / (ta + tb))
}

/// Cell conditions, transcribed from the NASA READMEs into `nasa_cell_metadata.csv`.
fn cell_meta(metas: &MetaTable, id: &str) -> Result<CellMeta> {
    let nominal = metas.num(id, "nominal_capacity_Ah")?;
    let charge = metas.text(id, "charge_protocol")?.unwrap_or_default();
    let discharge = metas.text(id, "discharge_protocol")?.unwrap_or_default();
    let rate = |amps: Option<f64>| amps.zip(nominal).map(|(a, n)| a / n);
    let cutoff = metas.text(id, "discharge_cutoff_V")?.unwrap_or("?");
    let stop = metas.text(id, "stop_criterion")?.unwrap_or("not stated");
    let mut protocol = format!(
        "charge {charge}; discharge {discharge} to {cutoff} V; EIS (0.1 Hz–5 kHz) between cycles; \
         test stopped at: {stop}"
    );
    if let Some(note) = metas.text(id, "note")? {
        protocol.push_str(&format!("; {note}"));
    }
    Ok(CellMeta {
        dataset: DATASET.into(),
        cell_id: id.into(),
        chemistry: metas.text(id, "chemistry")?.map(str::to_string),
        form_factor: metas.text(id, "form_factor")?.map(str::to_string),
        nominal_capacity_ah: nominal,
        temperature_c: metas.text(id, "ambient_temperature_C")?.and_then(stated_temperature),
        // Only a plain constant current has one C-rate (not the square wave or mixed loads).
        charge_c_rate: rate(cc_amps(charge, false)),
        discharge_c_rate: rate(cc_amps(discharge, true)),
        // Every charge is full (CC-CV to 4.2 V) and every discharge runs to the cut-off voltage.
        dod: Some(1.0),
        protocol: Some(protocol),
        source: Some(
            "B. Saha, K. Goebel (2007), Battery Data Set, NASA Ames Prognostics Data Repository; \
             capacities from ashwinsriramulu7/Battery-RUL-SOH-TCN-SVR cycle_summary.csv @503af42"
                .into(),
        ),
        license: Some("NASA public data release (redistributing repository: AGPL-3.0)".into()),
        ..Default::default()
    })
}

/// The current of a constant-current protocol text: `"CC 1.5A to 4.2V then ..."` → 1.5.
/// With `whole`, the text must be exactly `"CC <x>A"` (a discharge with qualifiers, such as
/// "fixed load 4A and 1A", has no single current).
fn cc_amps(text: &str, whole: bool) -> Option<f64> {
    let rest = text.trim().strip_prefix("CC ")?;
    let (amps, tail) = rest.split_once('A').unwrap_or((rest, ""));
    if whole && !tail.trim().is_empty() {
        return None;
    }
    amps.trim().parse().ok()
}

/// The ambient temperature where the metadata states one: `"24"` → 24, `"4 (per-cycle ambient
/// ...)"` → 4 (the README's set-point, the note qualifies it), `"24 and 44 (varies by cycle)"` → none.
fn stated_temperature(text: &str) -> Option<f64> {
    let head = text.split_once(" (").map_or(text, |(h, _)| h);
    head.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cc_amps_reads_constant_currents_only() {
        assert_eq!(cc_amps("CC 1.5A to 4.2V then CV until 20mA", false), Some(1.5));
        assert_eq!(cc_amps("CC 2A", true), Some(2.0));
        assert_eq!(cc_amps("CC 1.5A to 4.2V then CV until 20mA", true), None);
        assert_eq!(cc_amps("fixed load 4A and 1A", true), None);
        assert_eq!(cc_amps("0.05Hz square wave, 4A amplitude, 50% duty", false), None);
    }

    #[test]
    fn stated_temperature_takes_the_set_point_not_a_range() {
        assert_eq!(stated_temperature("24"), Some(24.0));
        assert_eq!(stated_temperature("4 (per-cycle ambient in data shows 22 for some runs)"), Some(4.0));
        assert_eq!(stated_temperature("24 and 44 (varies by cycle)"), None);
    }

    #[test]
    fn temperature_is_weighted_by_phase_duration() {
        let t = time_weighted_mean(Some(30.0), Some(3.0), Some(40.0), Some(1.0)).unwrap();
        assert!((t - 32.5).abs() < 1e-12);
        assert_eq!(time_weighted_mean(None, Some(3.0), Some(40.0), Some(1.0)), None);
        assert_eq!(time_weighted_mean(Some(30.0), Some(0.0), Some(40.0), Some(1.0)), None);
    }

    #[test]
    fn within_masks_values_outside_the_range() {
        assert_eq!(within(Some(0.99), &CE_RANGE), Some(0.99));
        assert_eq!(within(Some(9.4), &CE_RANGE), None);
        assert_eq!(within(Some(-7997.93), &RE_RANGE_OHM), None);
        assert_eq!(within(None, &CE_RANGE), None);
    }
}
