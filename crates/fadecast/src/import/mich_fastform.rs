//! MICH_FASTFORM — Weng et al., "Predicting the impact of formation protocols on battery lifetime
//! immediately after manufacturing" (Joule, 2021): 40 UMich-built NMC111/graphite pouch cells
//! (2.36 Ah), fast vs baseline formation, aged at room or elevated temperature.
//!
//! `rpt_metrics_from_correlation_data_2022.csv` has one row per (cell, cycle) with whichever
//! metrics were measured there. A reference performance test (RPT) is a C/3 discharge at cycle N
//! followed by a C/20 discharge and the DC-resistance pulses at N+1; in between, every ~50
//! cycles, only DC resistance and the ageing-cycle `retention` are given. The check-up series
//! here is the **C/20 discharge capacity** (the RPT's slowest, reference capacity), with the 10 s
//! discharge-pulse resistance at 50 % SOC of the same row. Rows without a C/20 capacity are
//! dropped and counted (C/3-only rows; resistance/retention-only rows): mixing C/3 or ageing-rate
//! retention into the series would put three different capacities on one axis.
//!
//! Cell 9 has only eSOH fits (`summary_esoh_table_weng2021.csv`, rounded Qfull) and no RPT
//! metrics or metadata, so it is not imported.

use std::collections::HashMap;
use std::path::Path;

use super::tables::{cells_by_row, metas_by_cell};
use super::read::Table;
use super::{RawCell, RawCycle};
use crate::data::{CellMeta, CycleAxis, Descriptor, Observation};
use crate::error::{ErrorKind, Result};

pub const DATASET: &str = "MICH_FASTFORM";
const CELLS: &str = "cells.csv";
const RPTS: &str = "rpt_metrics_from_correlation_data_2022.csv";

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let metas = read_cells(&dir.join(CELLS))?;

    let path = dir.join(RPTS);
    let mut table = Table::open(&path)?;
    let c_cell = table.col("cellid")?;
    let c_cycle = table.col("cycle")?;
    let c_c20 = table.col("c20_dch_cap_ah")?;
    let c_c3 = table.col("c3_dch_cap_ah")?;
    let c_dcr = table.col("dcr_10s_50_soc")?;
    cells_by_row(&mut table, c_cell, &metas, CELLS, |row, cell| {
        let Some(capacity) = row.num(c_c20)? else {
            if row.num(c_c3)?.is_some() {
                cell.drop_row("C/3 capacity only (first half of an RPT)");
            } else {
                cell.drop_row("no RPT capacity (resistance / retention only)");
            }
            return Ok(());
        };
        let cycle = row.req(c_cycle)?;
        let mut r = RawCycle::new(row.line, cycle, Some(capacity));
        r.descriptors[Descriptor::ResistanceOhm.index()] = row.finite(c_dcr)?;
        cell.rows.push(r);
        Ok(())
    })
}

/// One [`CellMeta`] per row of `cells.csv`.
fn read_cells(path: &Path) -> Result<HashMap<String, CellMeta>> {
    let mut table = Table::open(path)?;
    let c_cell = table.col("cellid")?;
    let c_room = table.col("is_room_temp_aging")?;
    let c_baseline = table.col("is_baseline_formation")?;
    let c_chem = table.col("chemistry")?;
    let c_form = table.col("form_factor")?;
    let c_nominal = table.col("nominal_capacity_Ah")?;
    metas_by_cell(&mut table, c_cell, |row, id| {
        let flag = |col, what: &str| {
            let f = row.req(col)?;
            if f == 0.0 || f == 1.0 {
                Ok(f == 1.0)
            } else {
                Err(row.error(ErrorKind::Malformed(format!("{what} is {f}, expected 0 or 1"))))
            }
        };
        let room = flag(c_room, "is_room_temp_aging")?;
        let baseline = flag(c_baseline, "is_baseline_formation")?;
        // cells.csv writes "NMC111/graphite (per Weng et al. ...)": keep the chemistry before the note.
        let chemistry = row
            .text(Some(c_chem))
            .map(|c| c.split(" (").next().unwrap_or(&c).trim().to_string());
        let (cathode, anode) = match chemistry.as_deref().and_then(|c| c.split_once('/')) {
            Some((c, a)) => (Some(c.to_string()), Some(a.to_string())),
            None => (None, None),
        };
        Ok(CellMeta {
            dataset: DATASET.into(),
            cell_id: id.to_string(),
            chemistry,
            cathode,
            anode,
            form_factor: row.text(Some(c_form)),
            nominal_capacity_ah: row.finite(c_nominal)?,
            // "Room" vs "elevated": the files give no number for either.
            temperature_c: None,
            protocol: Some(format!(
                "{} formation; ageing at {} temperature (value not stated in the files); RPT = C/3 then \
                 C/20 discharge + DC-resistance pulses; capacity = C/20 discharge capacity. Axis: cycles.",
                if baseline { "Baseline" } else { "Fast" },
                if room { "room" } else { "elevated" },
            )),
            source: Some(
                "Weng et al., Joule (2021); Fast Formation Data, doi:10.7302/pa3f-4w30; via \
                 wengandrew/fast-formation data/correlation_data_2022.csv @50664e9"
                    .into(),
            ),
            license: None,
            axis: CycleAxis::Cycle,
            observation: Observation::CheckUp,
            ..Default::default()
        })
    })
}
