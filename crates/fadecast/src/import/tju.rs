//! TJU / Tongji (Zhu et al. 2022): 130 NCA, NCM and NCM+NCA cells, per-cycle features via
//! PINN4SOH (reader in [`super::pinn4soh`]). See raw/TJU/PROVENANCE.md.

use std::path::Path;

use super::pinn4soh::{self, CellRecord, Dataset};
use super::RawCell;
use crate::data::CellMeta;
use crate::error::Result;

const TJU: Dataset = Dataset {
    name: "TJU",
    citation: "Zhu et al., Nature Communications 13, 2261 (2022), doi:10.1038/s41467-022-29837-w; \
               raw data Zenodo record 6405084",
    describe,
};

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    pinn4soh::import(dir, &TJU)
}

/// Temperature and C-rates come from the file name (`CY<T>-<charge>_<discharge>-#<n>`), which
/// cells.csv has already parsed into columns; nominal capacity (3.5 / 3.5 / 2.5 Ah per subset)
/// is per cell in cells.csv too.
fn describe(rec: &CellRecord, meta: &mut CellMeta) -> Result<()> {
    let t = rec.num("temperature_C_from_name")?;
    let charge = rec.num("charge_C_rate_from_name")?;
    let discharge = rec.num("discharge_C_rate_from_name")?;
    meta.temperature_c = Some(t);
    meta.charge_c_rate = Some(charge);
    meta.discharge_c_rate = Some(discharge);
    meta.protocol = Some(format!(
        "{}: {charge}C charge, {discharge}C discharge at {t} °C (Zhu et al. 2022, from the file name)",
        rec.text("subset")?
    ));
    Ok(())
}
