//! XJTU (Wang et al. 2024): 55 NCM cells in 6 batches, per-cycle features via PINN4SOH (reader
//! in [`super::pinn4soh`]). See raw/XJTU/PROVENANCE.md.

use std::path::Path;

use super::pinn4soh::{self, CellRecord, Dataset};
use super::RawCell;
use crate::data::CellMeta;
use crate::error::Result;

const XJTU: Dataset = Dataset {
    name: "XJTU",
    citation: "Wang et al., Nature Communications 15, 4332 (2024), doi:10.1038/s41467-024-48779-z; \
               raw data Zenodo record 10963339",
    describe,
};

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    pinn4soh::import(dir, &XJTU)
}

/// Only batches 2C and 3C have rates PROVENANCE can state (from the repo figure: ~4 A / ~6 A
/// charge and ~2 A discharge on 2 Ah cells). The other batches use variable or random discharge
/// currents described elsewhere, so their rates stay unknown. Temperature is not stated.
fn describe(rec: &CellRecord, meta: &mut CellMeta) -> Result<()> {
    let batch = rec.text("batch")?;
    let charge = match batch {
        "2C" => Some(2.0),
        "3C" => Some(3.0),
        _ => None,
    };
    meta.protocol = Some(match charge {
        Some(c) => format!("batch {batch}: {c}C charge, 1C discharge (PINN4SOH repo figure)"),
        None => format!(
            "batch {batch}: variable/random discharge currents; exact protocol in the XJTU dataset \
             documentation, not in these files"
        ),
    });
    meta.charge_c_rate = charge;
    meta.discharge_c_rate = charge.map(|_| 1.0);
    Ok(())
}
