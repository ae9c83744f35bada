//! STROEBL_NCA — Stroebl et al., "A multi-stage lithium-ion battery aging dataset" (Sci. Data
//! 11, 1020, 2024): Samsung INR21700-50E cells, combined calendar and cycle ageing in two stages.
//!
//! Only the cycled ("z") cells have trajectories: `Stage_<n>/Trajectory_Ah_throughput/<serial>.csv`,
//! one row per check-up, header `0,1,2` = cumulative Ah throughput, capacity (Ah), capacity /
//! first capacity. Serials repeat between the stages (different physical cells), so the cell id
//! is `S<stage>_<serial>`, as `cells.csv` (the source metadata joined per cell) names it.
//! TP_z04_01 of stage 1 ends with an all-empty line `,,`; it is dropped and counted.
//!
//! The axis is equivalent full cycles, see [`equivalent_full_cycles`].

use std::collections::HashSet;
use std::path::Path;

use super::tables::{cell_id, in_cell};
use super::read::{files_with_suffix, Table};
use super::{RawCell, RawCycle};
use crate::data::{CellMeta, CycleAxis, Observation};
use crate::error::{ErrorKind, ImportError, Result};

pub const DATASET: &str = "STROEBL_NCA";
const CELLS: &str = "cells.csv";
const TRAJECTORY_DIR: &str = "Trajectory_Ah_throughput";

/// Equivalent full cycles at a check-up.
///
/// The files state neither the nominal capacity nor whether the throughput counts one or both
/// directions. We take the usual convention, cumulative |I|·dt over charge and discharge, and
/// the cell's first check-up capacity (the source's own normalisation, column `2`) as the
/// capacity: EFC = throughput / (2 · first capacity). Check-up Ah are not in the throughput.
pub fn equivalent_full_cycles(throughput_ah: f64, first_capacity_ah: f64) -> f64 {
    throughput_ah / (2.0 * first_capacity_ah)
}

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let cells_path = dir.join(CELLS);
    let mut table = Table::open(&cells_path)?;
    let c_id = table.col("cell_id")?;
    let c_file = table.col("file")?;
    let c_stage = table.col("stage")?;
    let c_temp = table.col("amb_temp_tp")?;
    let c_soc_max = table.col("soc_max_tp")?;
    let c_dod = table.col("dod_tp")?;
    let c_ch = table.col("c_ch_tp")?;
    let c_dch = table.col("c_dch_tp")?;
    let c_form = table.col("form_factor")?;
    let c_internal = table.col("serial_internal")?;
    let mut out = Vec::new();
    while let Some(row) = table.next_row() {
        let row = row?;
        let id = cell_id(&row, c_id)?;
        let file = dir.join(row.str(c_file));
        let meta = in_cell(&id, || {
            let (ch, dch, dod) = (row.finite(c_ch)?, row.finite(c_dch)?, row.finite(c_dod)?);
            Ok(CellMeta {
                dataset: DATASET.into(),
                cell_id: id.clone(),
                // The source repo labels the folder "NCA"; the anode is not stated.
                chemistry: Some("NCA".into()),
                cathode: Some("NCA".into()),
                anode: None,
                form_factor: row.text(Some(c_form)),
                nominal_capacity_ah: None,
                temperature_c: row.finite(c_temp)?,
                charge_c_rate: ch,
                discharge_c_rate: dch,
                dod,
                protocol: Some(format!(
                    "Samsung INR21700-50E, stage {} (internal serial {}): cycling between SOC {} and {} \
                     at {} C charge / {} C discharge, periodic check-ups. Axis: EFC = Ah throughput / \
                     (2 x first check-up capacity).",
                    row.str(c_stage),
                    row.str(c_internal),
                    fmt_opt(row.finite(c_soc_max)?.zip(dod).map(|(max, d)| max - d)),
                    fmt_opt(row.finite(c_soc_max)?),
                    fmt_opt(ch),
                    fmt_opt(dch),
                )),
                source: Some(
                    "Stroebl et al., Sci. Data 11, 1020 (2024), doi:10.1038/s41597-024-03859-z; figshare \
                     doi:10.6084/m9.figshare.25975315; via tingkai-li/empirical_early_prediction @6709a7c"
                        .into(),
                ),
                license: Some("MIT (tingkai-li/empirical_early_prediction)".into()),
                axis: CycleAxis::EquivalentFullCycles,
                observation: Observation::CheckUp,
                ..Default::default()
            })
        })?;
        out.push(read_trajectory(meta, &file).map_err(|e| e.cell(id))?);
    }

    // Every trajectory file must have its metadata row, or a cell would vanish unnoticed.
    let listed: HashSet<_> = out.iter().map(|c| c.file.clone()).collect();
    for stage in ["Stage_1", "Stage_2"] {
        for f in files_with_suffix(&dir.join(stage).join(TRAJECTORY_DIR), ".csv")? {
            if !listed.contains(&f) {
                return Err(ImportError::malformed(
                    &f,
                    format!("trajectory file not listed in {CELLS}"),
                ));
            }
        }
    }
    Ok(out)
}

/// Reads one trajectory file into a cell.
fn read_trajectory(meta: CellMeta, path: &Path) -> Result<RawCell> {
    let mut table = Table::open(path)?;
    let (c_throughput, c_capacity) = (table.col("0")?, table.col("1")?);
    let mut cell = RawCell::new(meta, path);
    let mut first_capacity = None;
    while let Some(row) = table.next_row() {
        let row = row?;
        let (throughput, capacity) = (row.num(c_throughput)?, row.num(c_capacity)?);
        let (throughput, capacity) = match (throughput, capacity) {
            (Some(t), Some(c)) => (t, c),
            (None, None) => {
                cell.drop_row("all-empty line");
                continue;
            }
            (None, Some(_)) => {
                return Err(row.error(ErrorKind::Malformed(
                    "capacity without Ah throughput".into(),
                )))
            }
            (Some(_), None) => {
                cell.drop_row("check-up without a capacity");
                continue;
            }
        };
        let first = *first_capacity.get_or_insert(capacity);
        if !(first.is_finite() && first > 0.0) {
            return Err(row.error(ErrorKind::Malformed(format!("first capacity {first} Ah"))));
        }
        cell.rows.push(RawCycle::new(
            row.line,
            equivalent_full_cycles(throughput, first),
            Some(capacity),
        ));
    }
    Ok(cell)
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(
        || "?".into(),
        |v| format!("{}", (v * 1000.0).round() / 1000.0),
    )
}
