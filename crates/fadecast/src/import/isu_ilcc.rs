//! ISU_ILCC — Iowa State / Iowa Lakes CC ageing dataset (Thelen, Li et al.), 251 NMC/graphite
//! cells in 64 cycling groups, capacity at roughly weekly reference performance tests (RPTs).
//!
//! `NMC_data.csv` gives one row per RPT with `qdis`, the discharge capacity normalised to the
//! cell's first RPT, and no capacity in Ah: rows carry `RawCycle::soh`. `cells.csv` (the source's
//! three files joined) gives each cell's group C-rates, empirical DoD and the 0.25 Ah nominal
//! capacity. The axis is equivalent full cycles, see [`equivalent_full_cycles`].
//!
//! The 30 °C temperature and the 502030 pouch format come from third-party notes the
//! PROVENANCE could not verify, so they stay out of the metadata fields (quoted in `protocol`).

use std::collections::HashMap;
use std::path::Path;

use super::tables::{cells_by_row, metas_by_cell};
use super::read::Table;
use super::{RawCell, RawCycle};
use crate::data::{CellMeta, CycleAxis, Observation};
use crate::error::Result;

pub const DATASET: &str = "ISU_ILCC";
const CELLS: &str = "cells.csv";
const RPTS: &str = "NMC_data.csv";

/// Equivalent full cycles at an RPT.
///
/// `Ah_throughput` counts charge *and* discharge Ah: read as discharge only, the cycling it
/// implies would need up to 1.64× the elapsed time `t_hrs` (group 16, at its C-rates and
/// DoD), which is impossible; counted both ways it needs at most 0.82×. One full cycle moves the
/// nominal capacity twice, so EFC = throughput / (2 · nominal).
pub fn equivalent_full_cycles(charge_and_discharge_ah: f64, nominal_capacity_ah: f64) -> f64 {
    charge_and_discharge_ah / (2.0 * nominal_capacity_ah)
}

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let metas = read_cells(&dir.join(CELLS))?;

    let path = dir.join(RPTS);
    let mut table = Table::open(&path)?;
    let c_cell = table.col("cellID")?;
    let c_qdis = table.col("qdis")?;
    let c_throughput = table.col("Ah_throughput")?;
    cells_by_row(&mut table, c_cell, &metas, CELLS, |row, cell| {
        let Some(qdis) = row.num(c_qdis)? else {
            cell.drop_row("RPT without qdis");
            return Ok(());
        };
        let nominal = cell.meta.nominal_capacity_ah.expect("set by read_cells");
        let mut r = RawCycle::new(
            row.line,
            equivalent_full_cycles(row.req(c_throughput)?, nominal),
            None,
        );
        r.soh = Some(qdis);
        cell.rows.push(r);
        Ok(())
    })
}

/// One [`CellMeta`] per row of `cells.csv`.
fn read_cells(path: &Path) -> Result<HashMap<String, CellMeta>> {
    let mut table = Table::open(path)?;
    let c_cell = table.col("cell_id")?;
    let c_group = table.col("group")?;
    let c_ch = table.col("Charging C-rate")?;
    let c_dch = table.col("Discharging C-rate")?;
    let c_dod = table.col("empirical_DoD")?;
    let c_chem = table.col("chemistry")?;
    let c_nominal = table.col("nominal_capacity_Ah")?;
    let c_temp = table.find("temperature_C_unverified");
    let c_form = table.find("form_factor_unverified");
    metas_by_cell(&mut table, c_cell, |row, id| {
        let nominal = row.nominal_capacity(c_nominal)?;
        let chemistry = row.text(Some(c_chem));
        // "NMC/graphite" → cathode / anode.
        let (cathode, anode) = match chemistry.as_deref().and_then(|c| c.split_once('/')) {
            Some((c, a)) => (Some(c.trim().to_string()), Some(a.trim().to_string())),
            None => (None, None),
        };
        let (ch, dch) = (row.finite(c_ch)?, row.finite(c_dch)?);
        let unverified = match (row.opt(c_temp)?, row.text(c_form)) {
            (Some(t), Some(f)) => format!(" Unverified third-party notes: {t} °C, {f}."),
            _ => String::new(),
        };
        Ok(CellMeta {
            dataset: DATASET.into(),
            cell_id: id.to_string(),
            chemistry,
            cathode,
            anode,
            form_factor: None,
            nominal_capacity_ah: Some(nominal),
            temperature_c: None,
            charge_c_rate: ch,
            discharge_c_rate: dch,
            dod: row.finite(c_dod)?,
            protocol: Some(format!(
                "Group {}: CC cycling at {} C charge / {} C discharge to the empirical DoD, RPT roughly \
                 weekly; capacity normalised to the first RPT. Axis: EFC = Ah throughput (charge + \
                 discharge) / (2 x {nominal} Ah).{unverified}",
                row.str(c_group),
                fmt_opt(ch),
                fmt_opt(dch),
            )),
            source: Some(
                "ISU-ILCC Battery Aging Dataset, Iowa State University DataShare \
                 doi:10.25380/iastate.22582234, via tingkai-li/empirical_early_prediction @6709a7c"
                    .into(),
            ),
            license: Some(
                "MIT (tingkai-li/empirical_early_prediction); original reportedly CC BY 4.0 \
                 (unverified)"
                    .into(),
            ),
            axis: CycleAxis::EquivalentFullCycles,
            observation: Observation::CheckUp,
            ..Default::default()
        })
    })
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "?".into(), |v| v.to_string())
}
