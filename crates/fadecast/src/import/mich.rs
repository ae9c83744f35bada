//! MICH — University of Michigan expansion / cycling dataset (Mohtat et al., 2021), 21 cells.
//!
//! Source: `summary_esoh_table_mohtat2021.csv` (wengandrew/fast-formation), one row per slow
//! (C/20-type) diagnostic, fitted with an electrode-level SOH model. `Qfull` is the full-cell
//! capacity at the diagnostic (Ah, stored rounded); `cycle_number` is the ageing cycle of the
//! diagnostic. The file states no chemistry, nominal capacity, temperature or C-rate, so those
//! stay unknown and `clean` takes the reference capacity from the first diagnostics.
//!
//! Rows with a large fit error (`RMSE_mV` ≥ 50) are kept: the error belongs to the electrode
//! fit, `Qfull` itself is read off the measured curve.

use std::path::Path;

use super::read::Table;
use super::tables::{cell_id, in_cell, ByCell};
use super::{RawCell, RawCycle};
use crate::data::{CellMeta, CycleAxis, Observation};
use crate::error::Result;

pub const DATASET: &str = "MICH";
const FILE: &str = "summary_esoh_table_mohtat2021.csv";

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let path = dir.join(FILE);
    let mut table = Table::open(&path)?;
    let (c_cell, c_cycle, c_q) = (
        table.col("cellid")?,
        table.col("cycle_number")?,
        table.col("Qfull")?,
    );
    let mut cells = ByCell::default();
    while let Some(row) = table.next_row() {
        let row = row?;
        let id = cell_id(&row, c_cell)?;
        let cell = cells.get(&id, || {
            let meta = CellMeta {
                dataset: DATASET.into(),
                cell_id: id.clone(),
                protocol: Some(
                    "Ageing cycles with periodic slow (C/20-type) diagnostics; capacity = full-cell \
                     capacity Qfull of the diagnostic (eSOH fit table, stored rounded)"
                        .into(),
                ),
                source: Some(
                    "Mohtat et al. (2021) UMich expansion dataset, via wengandrew/fast-formation \
                     data/summary_esoh_table_mohtat2021.csv @50664e9"
                        .into(),
                ),
                axis: CycleAxis::Cycle,
                observation: Observation::CheckUp,
                ..Default::default()
            };
            Ok(RawCell::new(meta, &path))
        })?;
        in_cell(&id, || {
            match row.num(c_q)? {
                Some(q) => cell
                    .rows
                    .push(RawCycle::new(row.line, row.req(c_cycle)?, Some(q))),
                None => cell.drop_row("no Qfull capacity"),
            }
            Ok(())
        })?;
    }
    Ok(cells.into_cells())
}
