//! MATR (Severson et al. 2019): 125 A123 APR18650M1A LFP/graphite cells, per-cycle features via
//! PINN4SOH (reader in [`super::pinn4soh`]). See raw/MATR/PROVENANCE.md.

use std::path::Path;

use super::pinn4soh::{self, CellRecord, Dataset};
use super::RawCell;
use crate::data::CellMeta;
use crate::error::Result;

const MATR: Dataset = Dataset {
    name: "MATR",
    citation: "Severson et al., Nature Energy 4, 383–391 (2019), doi:10.1038/s41560-019-0356-8; \
               raw data data.matr.io/1/projects/5c48dd2bc625d700019f3204",
    describe,
};

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    pinn4soh::import(dir, &MATR)
}

/// Chamber temperature and discharge rate are Severson et al.'s, quoted by PROVENANCE; the
/// per-cell fast-charge policy is not in these files, so the charge C-rate stays unknown.
fn describe(rec: &CellRecord, meta: &mut CellMeta) -> Result<()> {
    meta.temperature_c = Some(30.0);
    meta.discharge_c_rate = Some(4.0);
    meta.protocol = Some(format!(
        "batch {}: multi-step fast charge (per-cell policy not in these files), 4C discharge, \
         30 °C chamber (Severson et al. 2019)",
        rec.text("batch")?
    ));
    Ok(())
}
