//! HUST (Ma et al. 2022): 77 LFP/graphite 18650 cells, one discharge protocol each, per-cycle
//! features via PINN4SOH (reader in [`super::pinn4soh`]). See raw/HUST/PROVENANCE.md.

use std::path::Path;

use super::pinn4soh::{self, CellRecord, Dataset};
use super::RawCell;
use crate::data::CellMeta;
use crate::error::Result;

const HUST: Dataset = Dataset {
    name: "HUST",
    citation: "Ma et al., Energy & Environmental Science (2022), doi:10.1039/D2EE01676A; \
               raw data data.mendeley.com/datasets/nsc7hnsg4s/2",
    describe,
};

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    pinn4soh::import(dir, &HUST)
}

/// Charge (5C then 1C, CV) and discharge (four stages, per cell) are multi-rate, so the single
/// C-rate fields stay unknown and the rates go into the protocol text. Every cycle runs the
/// whole 2.0–3.6 V window, hence a depth of discharge of 1. Test temperature is not stated.
fn describe(rec: &CellRecord, meta: &mut CellMeta) -> Result<()> {
    meta.dod = Some(1.0);
    meta.protocol = Some(format!(
        "{}; discharge {}C (100→60 % SOC), {}C (60→40 %), {}C (40→20 %), then {}C to 2.0 V; \
         window {} V",
        rec.text("charge_protocol")?,
        rec.num("discharge_C_rate_SOC100_60")?,
        rec.num("discharge_C_rate_SOC60_40")?,
        rec.num("discharge_C_rate_SOC40_20")?,
        rec.num("discharge_C_rate_SOC20_to_2V")?,
        rec.text("voltage_window_V")?,
    ));
    Ok(())
}
