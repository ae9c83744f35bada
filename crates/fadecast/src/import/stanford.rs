//! STANFORD_DYNAMIC — Geslin et al., "Dynamic cycling enhances battery lifetime" (Nature Energy,
//! Onori / Chueh labs): 92 cells under constant-current, periodic, synthetic and drive-cycle
//! protocols, with a diagnostic every few dozen cycles.
//!
//! `diagnostic_capacity_normalized.csv` gives per diagnostic the C/2 CC discharge capacity
//! normalised by the (undisclosed) nominal capacity, and the source's equivalent full cycles
//! `efc`, which is the axis here. No capacity in Ah: rows carry `RawCycle::soh`. Chemistry,
//! nominal capacity and temperature are not in the files, so they stay unknown.

use std::collections::HashMap;
use std::path::Path;

use super::tables::{cells_by_row, metas_by_cell};
use super::read::Table;
use super::{RawCell, RawCycle};
use crate::data::{CellMeta, CycleAxis, Observation};
use crate::error::Result;

pub const DATASET: &str = "STANFORD_DYNAMIC";
const METADATA: &str = "cells_metadata.csv";
const DIAGNOSTICS: &str = "diagnostic_capacity_normalized.csv";

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let metas = read_metadata(&dir.join(METADATA))?;

    let path = dir.join(DIAGNOSTICS);
    let mut table = Table::open(&path)?;
    let c_cell = table.col("cell_name")?;
    let c_q = table.col("c2_discharge_cc_capacity_normalized")?;
    let c_efc = table.col("efc")?;
    cells_by_row(&mut table, c_cell, &metas, METADATA, |row, cell| {
        let Some(q) = row.num(c_q)? else {
            cell.drop_row("diagnostic without a normalised capacity");
            return Ok(());
        };
        let mut r = RawCycle::new(row.line, row.req(c_efc)?, None);
        r.soh = Some(q);
        cell.rows.push(r);
        Ok(())
    })
}

/// One [`CellMeta`] per row of `cells_metadata.csv`.
fn read_metadata(path: &Path) -> Result<HashMap<String, CellMeta>> {
    let mut table = Table::open(path)?;
    let c_cell = table.col("cell_name")?;
    let c_type = table.col("protocol_type")?;
    let c_variant = table.col("protocol_variant")?;
    let c_label = table.col("avg_Crate")?;
    let c_exp = table.col("avg_crate_exp")?;
    let c_name = table.col("protocol_name")?;
    metas_by_cell(&mut table, c_cell, |row, id| {
        // The average C-rate mixes charge, discharge and rest, so it fills neither C-rate field.
        let measured = row
            .finite(c_exp)?
            .map_or_else(String::new, |c| format!(", measured {c:.4} C"));
        Ok(CellMeta {
            dataset: DATASET.into(),
            cell_id: id.to_string(),
            protocol: Some(format!(
                "{} ({} {}), average C-rate label {}{measured}; C/2 CC discharge diagnostic, capacity \
                 normalised by the undisclosed nominal capacity. Axis: source EFC.",
                row.str(c_name),
                row.str(c_type),
                row.str(c_variant),
                row.str(c_label),
            )),
            source: Some(
                "Geslin et al., Nature Energy (2024), doi:10.1038/s41560-024-01675-8; Stanford Digital \
                 Repository purl.stanford.edu/td676xr4322; via geslina/dynamic_cycling_2024 @5b2f7f0"
                    .into(),
            ),
            license: None,
            axis: CycleAxis::EquivalentFullCycles,
            observation: Observation::CheckUp,
            ..Default::default()
        })
    })
}
