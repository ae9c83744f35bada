//! Oxford — Oxford Battery Degradation Dataset 1 (Birkl, 2017): 8 Kokam SLPB533459H4 pouch
//! cells (740 mAh) cycled at 40 °C with a CC-CV charge and an Artemis urban drive-cycle
//! discharge, characterised every 100 drive cycles.
//!
//! `oxford_merged_per_characterisation.csv` has one row per characterisation: the drive-cycle
//! count `cycle`, the 1C discharge capacity `capacity_Ah`, and statistics of the 1C charge and
//! discharge. Its durations are in **days** (the Oxford `t` is a MATLAB datenum), converted to
//! seconds with [`days_to_seconds`]. One characterisation reads ≈ 0.5 °C in a 40 °C chamber (a
//! sensor dropout, PROVENANCE); temperatures below [`MIN_PLAUSIBLE_TEMP_C`] are marked unavailable.

use std::path::Path;

use super::tables::{cell_id, in_cell, ByCell};
use super::read::{Row, Table};
use super::{RawCell, RawCycle};
use crate::data::{CellMeta, CycleAxis, Descriptor, Observation};
use crate::error::Result;

pub const DATASET: &str = "Oxford";
const FILE: &str = "oxford_merged_per_characterisation.csv";
const NOMINAL_AH: f64 = 0.74;
/// Below this a cell temperature in the 40 °C chamber is a thermocouple dropout, not a reading.
pub const MIN_PLAUSIBLE_TEMP_C: f64 = 10.0;

pub fn days_to_seconds(days: f64) -> f64 {
    days * 86_400.0
}

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let path = dir.join(FILE);
    let mut table = Table::open(&path)?;
    let c_cell = table.col("cell_id")?;
    let c_cycle = table.col("cycle")?;
    let c_capacity = table.col("capacity_Ah")?;
    let c_ch_days = table.col("t_ch_duration_days")?;
    let c_cc_days = table.col("cc_charge_duration_days")?;
    let c_cv_days = table.col("cv_charge_duration_days")?;
    let c_v_ch_mean = table.col("v_ch_mean")?;
    let c_v_ch_std = table.col("v_ch_std")?;
    let c_v_dc_mean = table.col("v_dc_mean")?;
    let c_t_ch = table.col("T_ch_mean")?;
    let c_t_dc = table.col("T_dc_mean")?;
    let mut cells = ByCell::default();
    while let Some(row) = table.next_row() {
        let row = row?;
        let id = cell_id(&row, c_cell)?;
        let cell = cells.get(&id, || Ok(RawCell::new(meta(&id), &path)))?;
        in_cell(&id, || {
            let Some(capacity) = row.num(c_capacity)? else {
                cell.drop_row("characterisation without a 1C discharge capacity");
                return Ok(());
            };
            let cycle = row.req(c_cycle)?;
            let mut r = RawCycle::new(row.line, cycle, Some(capacity));
            let seconds =
                |col| -> Result<Option<f64>> { Ok(row.finite(col)?.map(days_to_seconds)) };
            r.descriptors[Descriptor::ChargeTimeS.index()] = seconds(c_ch_days)?;
            r.descriptors[Descriptor::CcChargeTimeS.index()] = seconds(c_cc_days)?;
            r.descriptors[Descriptor::CvChargeTimeS.index()] = seconds(c_cv_days)?;
            r.descriptors[Descriptor::ChargeVoltageMeanV.index()] = row.finite(c_v_ch_mean)?;
            r.descriptors[Descriptor::ChargeVoltageStdV.index()] = row.finite(c_v_ch_std)?;
            r.descriptors[Descriptor::DischargeVoltageMeanV.index()] = row.finite(c_v_dc_mean)?;
            r.descriptors[Descriptor::TemperatureC.index()] =
                mean_temperature(&row, c_t_ch, c_t_dc)?;
            cell.rows.push(r);
            Ok(())
        })?;
    }
    Ok(cells.into_cells())
}

/// Mean of the charge and discharge mean temperatures; `None` if either is missing or a dropout.
fn mean_temperature(row: &Row<'_>, c_ch: usize, c_dc: usize) -> Result<Option<f64>> {
    let plausible = |t: Option<f64>| t.filter(|t| *t >= MIN_PLAUSIBLE_TEMP_C);
    Ok(
        match (plausible(row.finite(c_ch)?), plausible(row.finite(c_dc)?)) {
            (Some(a), Some(b)) => Some(0.5 * (a + b)),
            _ => None,
        },
    )
}

fn meta(id: &str) -> CellMeta {
    CellMeta {
        dataset: DATASET.into(),
        cell_id: id.into(),
        // Birkl reports an LCO/NCO blend; other compilations say LCO or NCA (PROVENANCE caveat).
        chemistry: Some("LCO/NCO blend / graphite".into()),
        cathode: Some("LCO/NCO blend".into()),
        anode: Some("graphite".into()),
        form_factor: Some("pouch".into()),
        nominal_capacity_ah: Some(NOMINAL_AH),
        temperature_c: Some(40.0),
        protocol: Some(
            "Kokam SLPB533459H4 (740 mAh); CC-CV charge and Artemis urban drive-cycle discharge at 40 °C; \
             characterisation (1C charge/discharge, pseudo-OCV) every 100 drive cycles. Axis: drive cycles."
                .into(),
        ),
        source: Some(
            "Birkl, Oxford Battery Degradation Dataset 1 (2017), doi:10.5287/bodleian:KO2kdmYGg; \
             per-characterisation features via Meghana-thota/battery-degradation-oxford-lightgbm-lstm \
             @fc1c971 and StarSword-C/Patel-Khade-Reproduction-2 @26fcff2"
                .into(),
        ),
        license: Some(
            "charge-time features GPL-2.0 (StarSword-C repo); other features none stated; original: \
             see the Oxford Research Archive record"
                .into(),
        ),
        axis: CycleAxis::Cycle,
        observation: Observation::CheckUp,
        ..Default::default()
    }
}
