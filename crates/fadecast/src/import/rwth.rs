//! RWTH — RWTH Aachen ISEA ageing of 48 Sanyo/Panasonic UR18650E NMC cells (Li et al. 2021;
//! experiments of Baumhöfer et al. 2014).
//!
//! The cells cycle at partial depth (~55 % DoD) in blocks of ~160 cycles, with a check-up between
//! blocks. The per-cycle rows (`rwth_cycles.csv`) are partial-depth throughputs, not capacities,
//! so the capacity series comes from the check-ups (`rwth_checkups.csv`, 1C full discharge
//! `CapDCH1_Ah`). Because a partial cycle is not a full one, the axis is equivalent full cycles,
//! see [`equivalent_full_cycles`].
//!
//! Check-ups without a 1C capacity test (the second begin-of-life test, `TBA_BOL_P2`) are
//! dropped. Nine pairs of check-ups follow each other with no cycling in between, so they share
//! one position on the axis; the source does not say why, so both are kept for `clean` to judge.

use std::collections::HashMap;
use std::path::Path;

use super::tables::{cells_by_row, metas_by_cell};
use super::read::Table;
use super::{RawCell, RawCycle};
use crate::data::{CellMeta, CycleAxis, Descriptor, Observation};
use crate::error::Result;

pub const DATASET: &str = "RWTH";
const METADATA: &str = "rwth_cell_metadata.csv";
const CHECKUPS: &str = "rwth_checkups.csv";

/// Equivalent full cycles before a check-up.
///
/// `cycling_Ah_throughput_before` counts the *discharged* Ah of the cycling blocks only: for
/// epSanyo002 the sum of `discharge_Ah` over cycles 1–160 is 164.984 Ah against 164.985 Ah in the
/// check-up row, while charge + discharge would be ~330 Ah. One full cycle discharges the
/// nominal capacity once, so EFC = discharge throughput / nominal capacity (no factor 1/2).
pub fn equivalent_full_cycles(discharge_throughput_ah: f64, nominal_capacity_ah: f64) -> f64 {
    discharge_throughput_ah / nominal_capacity_ah
}

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let metas = read_metadata(&dir.join(METADATA))?;

    let path = dir.join(CHECKUPS);
    let mut table = Table::open(&path)?;
    let c_cell = table.col("cell")?;
    let c_throughput = table.col("cycling_Ah_throughput_before")?;
    let c_capacity = table.col("CapDCH1_Ah")?;
    let c_temp = table.col("checkup_temp_C")?;
    let c_r10 = table.col("R_dis_1C_10s_ohm")?;
    cells_by_row(&mut table, c_cell, &metas, METADATA, |row, cell| {
        let Some(capacity) = row.num(c_capacity)? else {
            cell.drop_row("check-up without a 1C capacity test (no CapDCH1_Ah)");
            return Ok(());
        };
        let nominal = cell.meta.nominal_capacity_ah.expect("set by read_metadata");
        let throughput = row.req(c_throughput)?;
        let mut r = RawCycle::new(
            row.line,
            equivalent_full_cycles(throughput, nominal),
            Some(capacity),
        );
        // The ≈ −2.05 A (1C) discharge pulse resistance after 10 s, and the check-up temperature.
        r.descriptors[Descriptor::ResistanceOhm.index()] = row.finite(c_r10)?;
        r.descriptors[Descriptor::TemperatureC.index()] = row.finite(c_temp)?;
        cell.rows.push(r);
        Ok(())
    })
}

/// One [`CellMeta`] per cell of `rwth_cell_metadata.csv`.
fn read_metadata(path: &Path) -> Result<HashMap<String, CellMeta>> {
    let mut table = Table::open(path)?;
    let c_cell = table.col("cell")?;
    let c_format = table.col("cell_format")?;
    let c_chem = table.col("chemistry")?;
    let c_nominal = table.col("manufacturer_capacity_Ah")?;
    let c_dod = table.col("delta_DOD")?;
    let c_crate = table.col("charge_CRate")?;
    let c_temp = table.col("mean_cycle_temp_C")?;
    metas_by_cell(&mut table, c_cell, |row, id| {
        let nominal = row.nominal_capacity(c_nominal)?;
        let cathode = row.text(Some(c_chem));
        Ok(CellMeta {
            dataset: DATASET.into(),
            cell_id: id.to_string(),
            // PROVENANCE: "NMC/carbon"; the file names only the cathode.
            chemistry: cathode.as_ref().map(|c| format!("{c}/carbon")),
            cathode,
            anode: Some("carbon".into()),
            form_factor: row.text(Some(c_format)),
            nominal_capacity_ah: Some(nominal),
            temperature_c: row.finite(c_temp)?,
            charge_c_rate: row.finite(c_crate)?,
            discharge_c_rate: None,
            dod: row.finite(c_dod)?,
            protocol: Some(
                "Sanyo/Panasonic UR18650E; partial-depth cycling (~55 % DoD, mean 3.7 V, ~2 A charge) in \
                 blocks of ~160 cycles (TBA_Zyk), check-up between blocks (~25-28 °C: 1C capacity, qOCV, \
                 multi-pulse resistance). Axis: EFC = cycling discharge Ah / manufacturer capacity."
                    .into(),
            ),
            source: Some(
                "isea-rwth-aachen/battery-degradation-trajectory-prediction @488eb68 (Li et al., J. Power \
                 Sources 506 (2021) 230024); raw data DOI 10.18154/RWTH-2021-04545"
                    .into(),
            ),
            license: None,
            axis: CycleAxis::EquivalentFullCycles,
            observation: Observation::CheckUp,
            ..Default::default()
        })
    })
}
