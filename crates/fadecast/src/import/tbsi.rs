//! TBSI_Sunwoda — 32 Sunwoda NCM811 / SiOx-graphite cells under a 9-step fast charge at 25–55 °C
//! (Tao et al., Energy Environ. Sci. 2025; terencetaothucb/TBSI-Sunwoda-Battery-Dataset).
//!
//! Source: `tbsi_sunwoda_capacity.csv`, the long-format copy of `Labels_original.xlsx` (the same
//! 37,368 rows per PROVENANCE's audit; the CSV avoids an xlsx reader). One row per cycle: `cell`
//! (the sheet name, e.g. `B1T25`), `temperature_C`, `cycle` (row in the sheet, 1-based),
//! `capacity_Ah`.
//! Capacity is the only per-cycle quantity the available files give, so no descriptors.
//! The per-cycle feature file (`Features.xlsx`) was not in the snapshot.

use std::path::Path;

use super::tables::{cell_id, ByCell};
use super::read::Table;
use super::{RawCell, RawCycle};
use crate::data::CellMeta;
use crate::error::Result;

pub const DATASET: &str = "TBSI_Sunwoda";
const FILE: &str = "tbsi_sunwoda_capacity.csv";

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let path = dir.join(FILE);
    let mut table = Table::open(&path)?;
    let c_cell = table.col("cell")?;
    let c_temp = table.col("temperature_C")?;
    let c_cycle = table.col("cycle")?;
    let c_cap = table.col("capacity_Ah")?;
    let mut cells = ByCell::default();
    while let Some(row) = table.next_row() {
        let row = row?;
        let id = cell_id(&row, c_cell)?;
        let cell = cells.get(&id, || {
            // The chamber temperature is constant per cell (it is also in the sheet name, `T25`).
            let temperature = row.req(c_temp).map_err(|e| e.cell(id.clone()))?;
            Ok(RawCell::new(meta(&id, temperature), &path))
        })?;
        let cycle = row.req(c_cycle).map_err(|e| e.cell(id.clone()))?;
        // A missing capacity stays `None` so that `clean` rejects it naming file, cell and row.
        let capacity = row.num(c_cap).map_err(|e| e.cell(id.clone()))?;
        cell.rows.push(RawCycle::new(row.line, cycle, capacity));
    }
    Ok(cells.into_cells())
}

/// Conditions from the repository README (identical for all cells except the temperature).
fn meta(id: &str, temperature_c: f64) -> CellMeta {
    CellMeta {
        dataset: DATASET.into(),
        cell_id: id.into(),
        chemistry: Some("NCM811/SiOx-graphite".into()),
        cathode: Some("LiNi0.8Co0.1Mn0.1O2 (NCM811)".into()),
        anode: Some("graphite + 13 wt% SiOx".into()),
        nominal_capacity_ah: Some(1.1),
        temperature_c: Some(temperature_c),
        // The charge is a 9-step ladder (0.33C–3C), so no single charge C-rate.
        charge_c_rate: None,
        discharge_c_rate: Some(1.0),
        protocol: Some(
            "9-step multi-step fast charge (0.33C–3C, ~20 min to 75 % SOC), then 1C CC discharge; \
             EOL (80 % of nominal) between 480 and 1025 cycles (README)"
                .into(),
        ),
        source: Some(
            "Tao et al., Energy Environ. Sci. 2025 (doi:10.1039/D4EE03839H); \
             terencetaothucb/TBSI-Sunwoda-Battery-Dataset Labels.xlsx @074106b"
                .into(),
        ),
        license: Some("MIT".into()),
        ..Default::default()
    }
}
