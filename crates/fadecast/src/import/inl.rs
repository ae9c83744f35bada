//! INL_NMC_pouch_fastcharge — Idaho National Laboratory single-layer pouch cells, graphite vs
//! NMC532 or NMC811 at three electrode loadings, CC-CV fast charge to 4.1 V at 1C–9C
//! (Chen et al., Joule 2022; hypochen/Battery-aging-modes-across-NMC). 44 cells, 17–32 mAh.
//!
//! Files: `inl_cycles.csv` (the four per-cell CSVs of `Battery_raw_data_original.zip` joined per
//! cycle; its capacities equal the zip's `Capacity_CellNN.csv` for all 44 cells, so the zip is
//! not re-read) and `inl_cell_metadata.csv` (the summary xlsx, transcribed). Capacity is the
//! README's "cycle-by-cycle capacity" in Ah (charge or discharge not specified); no nominal
//! capacity is given, so `clean` uses the initial capacity as reference.
//! The README notes RPT spikes in the series: the rows are kept as provided.
//!
//! Descriptor mapping: `coulombic_efficiency_pct` / 100 → coulombic efficiency (within
//! [`CE_RANGE`]). `end_of_charge_V` / `end_of_discharge_V` are end-point voltages, not the
//! charge/discharge means the descriptors hold, so they are not mapped.

use std::path::Path;

use super::tables::{cell_id, ByCell};
use super::tables::{within, MetaTable, CE_RANGE};
use super::read::Table;
use super::{RawCell, RawCycle};
use crate::data::{CellMeta, Descriptor};
use crate::error::{ImportError, Result};

pub const DATASET: &str = "INL_NMC_pouch_fastcharge";
const CYCLES: &str = "inl_cycles.csv";
const METADATA: &str = "inl_cell_metadata.csv";

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let metas = MetaTable::read(&dir.join(METADATA), "cell")?;
    let path = dir.join(CYCLES);
    let mut table = Table::open(&path)?;
    let c_cell = table.col("cell")?;
    let c_cycle = table.col("cycle")?;
    let c_cap = table.col("capacity_Ah")?;
    let c_ce = table.col("coulombic_efficiency_pct")?;
    let mut cells = ByCell::default();
    while let Some(row) = table.next_row() {
        let row = row?;
        let id = cell_id(&row, c_cell)?;
        let cell = cells.get(&id, || Ok(RawCell::new(cell_meta(&metas, &id)?, &path)))?;
        let located = |e: ImportError| e.cell(id.clone());
        let mut r = RawCycle::new(row.line, row.req(c_cycle).map_err(located)?, row.num(c_cap).map_err(located)?);
        let ce = row.finite(c_ce).map_err(located)?.map(|pct| pct / 100.0);
        r.descriptors[Descriptor::CoulombicEfficiency.index()] = within(ce, &CE_RANGE);
        cell.rows.push(r);
    }
    Ok(cells.into_cells())
}

fn cell_meta(metas: &MetaTable, id: &str) -> Result<CellMeta> {
    let pack = metas.text(id, "pack_description")?.unwrap_or_default();
    let cathode = cathode_of(pack);
    let rate_text = metas.text(id, "C-rate")?;
    let charge_v = metas.text(id, "Charge Voltage (V)")?.unwrap_or("?");
    let mut protocol = format!(
        "{} charge at {} to {charge_v} V, fast-charge cycling; pack {}",
        metas.text(id, "Protocol")?.unwrap_or("charge"),
        rate_text.unwrap_or("?"),
        pack.trim()
    );
    if let Some(mode) = metas.text(id, "Major aging modes")? {
        protocol.push_str(&format!("; major ageing mode: {mode}"));
    }
    Ok(CellMeta {
        dataset: DATASET.into(),
        cell_id: id.into(),
        chemistry: cathode.as_ref().map(|c| format!("{c}/graphite")),
        cathode,
        anode: Some("graphite".into()),
        form_factor: Some("single-layer pouch".into()),
        // Cells are 17–32 mAh by design; no per-cell nominal is given.
        nominal_capacity_ah: None,
        charge_c_rate: rate_text.and_then(c_rate),
        protocol: Some(protocol),
        source: Some(
            "B.-R. Chen et al., Joule (2022), Idaho National Laboratory; \
             hypochen/Battery-aging-modes-across-NMC @35ae2ae"
                .into(),
        ),
        eol_cycle_label: metas.num(id, "End of life cycles")?,
        ..Default::default()
    })
}

/// `"6C"` → 6, `"4.5C"` → 4.5.
fn c_rate(text: &str) -> Option<f64> {
    text.trim().strip_suffix('C')?.trim().parse().ok()
}

/// The cathode in a pack description, `"P462 (NMC532, high load)"` → `NMC532`.
fn cathode_of(pack: &str) -> Option<String> {
    let inside = pack.split_once('(')?.1;
    let cathode = inside.split([',', ')']).next()?.trim();
    (!cathode.is_empty()).then(|| cathode.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_rate_and_cathode_are_read_from_the_summary_text() {
        assert_eq!(c_rate("6C"), Some(6.0));
        assert_eq!(c_rate("4.5C"), Some(4.5));
        assert_eq!(c_rate("fast"), None);
        assert_eq!(cathode_of("P531 (NMC811, low load) ").as_deref(), Some("NMC811"));
        assert_eq!(cathode_of("P462"), None);
    }
}
