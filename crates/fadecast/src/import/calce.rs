//! CALCE — University of Maryland CALCE CS2 cells CS2_35–CS2_38: LiCoO2 / graphite prismatic,
//! 1.1 Ah, CC-CV 0.5C charge to 4.2 V, 1C discharge to 2.7 V, room temperature (Arbin BT2000).
//!
//! Which file: `calce_cs2_cycles_from_raw.csv`, the per-cycle reduction of the Arbin exports.
//! Its cycle numbers follow the test chronologically and it carries charge/discharge features.
//! The other file (`calce_cs2_xiuzezhou_npy.csv`, from the .npy) had outliers removed by its author
//! and was renumbered, so its cycle index does not match the test: not read.
//!
//! Rows with `is_full_cycle = 0` (38: aborted or partial cycles between test files, 16 with
//! zero discharge) are dropped: their capacity is not the cell's capacity. The cycle axis keeps the
//! file's numbering, so a dropped cycle leaves a gap rather than shifting the later ones.
//!
//! Descriptor mapping: `charge_time_s`, `cc_charge_time_s`, `cv_charge_time_s`, `charge_V_mean`,
//! `charge_V_std`, `discharge_V_mean`, `charge_I_mean`, `internal_resistance_ohm` (median Arbin IR of
//! the cycle) map one to one; `coulombic_efficiency` only within [`CE_RANGE`] (the cycle after a
//! partial one has a partial charge, CE up to 9.4). No temperature column exists.

use std::path::Path;

use super::tables::{cell_id, ByCell};
use super::tables::{within, CE_RANGE};
use super::read::Table;
use super::{RawCell, RawCycle};
use crate::data::{CellMeta, Descriptor};
use crate::error::{ErrorKind, Result};

pub const DATASET: &str = "CALCE";
const FILE: &str = "calce_cs2_cycles_from_raw.csv";
pub const DROP_PARTIAL: &str = "partial or aborted cycle (is_full_cycle = 0)";

/// Descriptors read one to one: (descriptor, column).
const DIRECT: [(Descriptor, &str); 8] = [
    (Descriptor::ChargeTimeS, "charge_time_s"),
    (Descriptor::CcChargeTimeS, "cc_charge_time_s"),
    (Descriptor::CvChargeTimeS, "cv_charge_time_s"),
    (Descriptor::ChargeVoltageMeanV, "charge_V_mean"),
    (Descriptor::ChargeVoltageStdV, "charge_V_std"),
    (Descriptor::DischargeVoltageMeanV, "discharge_V_mean"),
    (Descriptor::ChargeCurrentMeanA, "charge_I_mean"),
    (Descriptor::ResistanceOhm, "internal_resistance_ohm"),
];

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let path = dir.join(FILE);
    let mut table = Table::open(&path)?;
    let c_cell = table.col("cell")?;
    let c_cycle = table.col("cycle")?;
    let c_full = table.col("is_full_cycle")?;
    let c_cap = table.col("discharge_capacity_Ah")?;
    let c_ce = table.col("coulombic_efficiency")?;
    let direct = DIRECT.iter().map(|&(d, name)| Ok((d, table.col(name)?))).collect::<Result<Vec<_>>>()?;
    let mut cells = ByCell::default();
    while let Some(row) = table.next_row() {
        let row = row?;
        let id = cell_id(&row, c_cell)?;
        let cell = cells.get(&id, || Ok(RawCell::new(meta(&id), &path)))?;
        let located = |e: crate::error::ImportError| e.cell(id.clone());
        match row.req(c_full).map_err(located)? {
            1.0 => {}
            0.0 => {
                cell.drop_row(DROP_PARTIAL);
                continue;
            }
            f => {
                let msg = format!("is_full_cycle must be 0 or 1, found {f}");
                return Err(row.error(ErrorKind::Malformed(msg)).cell(id.clone()));
            }
        }
        let mut r = RawCycle::new(row.line, row.req(c_cycle).map_err(located)?, row.num(c_cap).map_err(located)?);
        for &(d, c) in &direct {
            r.descriptors[d.index()] = row.finite(c).map_err(located)?;
        }
        r.descriptors[Descriptor::CoulombicEfficiency.index()] = within(row.finite(c_ce).map_err(located)?, &CE_RANGE);
        cell.rows.push(r);
    }
    Ok(cells.into_cells())
}

/// Conditions of the CALCE CS2 test (CALCE spec, BatteryLife table, and the raw files' currents).
fn meta(id: &str) -> CellMeta {
    CellMeta {
        dataset: DATASET.into(),
        cell_id: id.into(),
        chemistry: Some("LCO/graphite".into()),
        cathode: Some("LiCoO2".into()),
        anode: Some("graphite".into()),
        form_factor: Some("prismatic".into()),
        nominal_capacity_ah: Some(1.1),
        // "Room temperature" in the files; BatteryLife's table states 25 °C.
        temperature_c: Some(25.0),
        charge_c_rate: Some(0.5),
        discharge_c_rate: Some(1.0),
        dod: Some(1.0),
        protocol: Some(
            "CC 0.55 A (0.5C) to 4.2 V, CV until the current tapers; CC 1.1 A (1C) discharge to 2.7 V; \
             Arbin BT2000, 30 s sampling"
                .into(),
        ),
        source: Some(
            "CALCE Battery Research Group, University of Maryland (CS2 cells; He et al., J. Power Sources \
             196 (2011) 10314); Arbin exports via XiuzeZhou/CALCE @391f69a, reduced per cycle"
                .into(),
        ),
        // None stated; CALCE asks users to cite its publications.
        license: None,
        ..Default::default()
    }
}
