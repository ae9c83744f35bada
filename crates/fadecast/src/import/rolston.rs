//! RolstonLab_Molicel21700_EIS — 16 Molicel 21700 P42A cells cycled at a high C-rate with an EIS
//! after every charge: CA1–CA8 at room temperature, N10_CB1–4 at −10 °C, N20_CB1–4 at −20 °C
//! (Rolston Lab in-house data, Battery-Degradation-Rolston-Lab/LIB-EIS-ML; unpublished).
//!
//! Files: `rolston_capacity_per_cycle.csv` (capacity in mAh per cycle, cycle 0-based, and the
//! authors' RUL label) and `rolston_eis_per_cycle.csv` (same (cell, cycle) keys, real and imaginary
//! impedance at 33 frequencies, 10 kHz–0.999 Hz).
//!
//! The protocol (C-rates, voltage window) is not documented, nor is a nominal capacity, so those
//! stay unknown and `clean` takes the reference from the first cycles. "RT" is not stated as a
//! number, so room-temperature cells have no temperature. The EOL label is `cycle + RUL` of the
//! labelled rows (the RUL counts down to the authors' EOL index; CA6 never reached EOL).
//!
//! Descriptor mapping: resistance = the ohmic (high-frequency) resistance of each cycle's
//! spectrum, i.e. Re(Z) where Im(Z) crosses zero ([`ohmic_resistance`]). The sign convention of
//! Im(Z) is not documented, and the crossing does not depend on it. No other descriptor is given.

use std::collections::HashMap;
use std::path::Path;

use super::tables::{cell_id, ByCell};
use super::read::Table;
use super::{RawCell, RawCycle};
use crate::data::{CellMeta, Descriptor};
use crate::error::{ErrorKind, ImportError, Result};

pub const DATASET: &str = "RolstonLab_Molicel21700_EIS";
const CAPACITY: &str = "rolston_capacity_per_cycle.csv";
const EIS: &str = "rolston_eis_per_cycle.csv";

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let resistance = read_ohmic_resistance(&dir.join(EIS))?;

    let path = dir.join(CAPACITY);
    let mut table = Table::open(&path)?;
    let c_cell = table.col("cell")?;
    let c_group = table.col("group")?;
    let c_temp = table.col("nominal_temperature_C")?;
    let c_cycle = table.col("cycle")?;
    let c_cap = table.col("discharge_capacity_mAh")?;
    let c_rul = table.col("rul_cycles_as_provided")?;
    let mut cells = ByCell::default();
    while let Some(row) = table.next_row() {
        let row = row?;
        let id = cell_id(&row, c_cell)?;
        let located = |e: ImportError| e.cell(id.clone());
        let cell = cells.get(&id, || {
            let group = row.str(c_group).to_string();
            // Only the cold groups state a temperature; "RT" was recorded as 25 by the curator.
            let temperature = if group == "RT" { None } else { row.finite(c_temp).map_err(located)? };
            Ok(RawCell::new(meta(&id, &group, temperature), &path))
        })?;
        let cycle = row.req(c_cycle).map_err(located)?;
        if let Some(rul) = row.finite(c_rul).map_err(located)? {
            let eol = cycle + rul;
            match cell.meta.eol_cycle_label {
                None => cell.meta.eol_cycle_label = Some(eol),
                Some(first) if first != eol => {
                    let msg = format!("RUL label points at EOL cycle {eol}, earlier rows at {first}");
                    return Err(row.error(ErrorKind::Malformed(msg)).cell(id.clone()));
                }
                Some(_) => {}
            }
        }
        let capacity = row.num(c_cap).map_err(located)?.map(|mah| mah / 1000.0);
        let mut r = RawCycle::new(row.line, cycle, capacity);
        r.descriptors[Descriptor::ResistanceOhm.index()] = resistance.get(&(id.clone(), cycle as i64)).copied();
        cell.rows.push(r);
    }
    Ok(cells.into_cells())
}

fn meta(id: &str, group: &str, temperature_c: Option<f64>) -> CellMeta {
    CellMeta {
        dataset: DATASET.into(),
        cell_id: id.into(),
        chemistry: Some("NMC (per the repository README)".into()),
        cathode: Some("NMC".into()),
        form_factor: Some("21700 cylindrical".into()),
        temperature_c,
        protocol: Some(format!(
            "Molicel P42A, high C-rate cycling (C-rates and voltage limits not documented), EIS after \
             every charge (33 frequencies, 10 kHz–1 Hz); temperature group {group}"
        )),
        source: Some(
            "Rolston Lab in-house data (unpublished); Battery-Degradation-Rolston-Lab/LIB-EIS-ML @c9bff90 \
             cap/cyc/rul/EIS text files"
                .into(),
        ),
        ..Default::default()
    }
}

/// The ohmic resistance of every (cell, cycle) spectrum in the EIS file.
fn read_ohmic_resistance(path: &Path) -> Result<HashMap<(String, i64), f64>> {
    let mut table = Table::open(path)?;
    let c_cell = table.col("cell")?;
    let c_cycle = table.col("cycle")?;
    // (frequency, ReZ column, ImZ column), highest frequency first.
    let mut spectrum: Vec<(f64, usize, usize)> = Vec::new();
    for (c, h) in table.headers().iter().enumerate() {
        let Some(f) = h.strip_prefix("ReZ_").and_then(|s| s.strip_suffix("Hz_ohm")) else { continue };
        let im = table.col(&format!("ImZ_{f}Hz_ohm"))?;
        let hz = f.replace('p', ".").parse::<f64>().map_err(|_| {
            ImportError::new(path, ErrorKind::Malformed(format!("cannot read the frequency in column `{h}`")))
        })?;
        spectrum.push((hz, c, im));
    }
    if spectrum.is_empty() {
        return Err(ImportError::new(path, ErrorKind::MissingColumn("ReZ_<f>Hz_ohm".into())));
    }
    spectrum.sort_by(|a, b| b.0.total_cmp(&a.0));

    let mut out = HashMap::new();
    while let Some(row) = table.next_row() {
        let row = row?;
        let id = cell_id(&row, c_cell)?;
        let cycle = row.req(c_cycle).map_err(|e| e.cell(id.clone()))? as i64;
        let mut points = Vec::with_capacity(spectrum.len());
        for &(_, re, im) in &spectrum {
            if let (Some(re), Some(im)) = (row.finite(re)?, row.finite(im)?) {
                points.push((re, im));
            }
        }
        if let Some(r0) = ohmic_resistance(&points) {
            out.insert((id, cycle), r0);
        }
    }
    Ok(out)
}

/// Re(Z) where Im(Z) first changes sign, scanning from the highest frequency down (points ordered
/// so), interpolated linearly between the two bracketing points. `None` without a crossing.
pub(super) fn ohmic_resistance(points: &[(f64, f64)]) -> Option<f64> {
    if let Some(&(re, _)) = points.first().filter(|p| p.1 == 0.0) {
        return Some(re);
    }
    points.windows(2).find_map(|w| {
        let ((re0, im0), (re1, im1)) = (w[0], w[1]);
        if im1 == 0.0 {
            Some(re1)
        } else if im0.signum() != im1.signum() {
            Some(re0 + (re1 - re0) * im0 / (im0 - im1))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ohmic_resistance_interpolates_the_zero_crossing() {
        // Im goes -2 → +2 between Re 10 and 14: the crossing is half-way.
        let r = ohmic_resistance(&[(9.0, -4.0), (10.0, -2.0), (14.0, 2.0), (20.0, 3.0)]).unwrap();
        assert!((r - 12.0).abs() < 1e-12);
        // Either sign convention gives the same crossing.
        let r = ohmic_resistance(&[(10.0, 2.0), (14.0, -2.0)]).unwrap();
        assert!((r - 12.0).abs() < 1e-12);
        assert_eq!(ohmic_resistance(&[(10.0, 0.0), (14.0, 2.0)]), Some(10.0));
        assert_eq!(ohmic_resistance(&[(10.0, 1.0), (14.0, 2.0)]), None);
        assert_eq!(ohmic_resistance(&[]), None);
    }
}
