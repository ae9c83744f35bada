//! CLO (Attia et al. 2020, closed-loop fast-charging optimisation): the 45-cell validation batch,
//! A123 LFP/graphite 18650. See raw/CLO/PROVENANCE.md.
//!
//! `Qn.csv` is a headerless matrix: line k+1 is the cell whose `Qn_row_index` in cells.csv is k,
//! column j is cycle j+1, values are discharge capacity in Ah. Each line is right-padded with
//! exact zeros after the cell's last cycle; the padding is not data and is not counted. A zero
//! *before* the last non-zero value is not padding: it is kept, and `clean` rejects it.
//! Every cycle of a cell comes from the same line, so `RawCycle::row` is that line for all.

use std::path::Path;

use super::pinn4soh::{meta_from_cells_csv, read_cells_csv, CellRecord};
use super::read::open;
use super::{RawCell, RawCycle};
use crate::data::CellMeta;
use crate::error::{ErrorKind, ImportError, Result};

const CITATION: &str = "Attia et al., Nature 578, 397–402 (2020), doi:10.1038/s41586-020-1994-5; \
    raw data data.matr.io/1/projects/5d80e633f405260001c0b60a; capacity matrix from \
    chueh-ermon/battery-fast-charging-optimization@0068fd0136bcd65884f5cd94b2b967c1ba73a668 \
    `figures/fig4/Qn.csv`";
const LICENSE: &str = "none stated (no LICENSE file in chueh-ermon/battery-fast-charging-optimization)";

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    let cells_path = dir.join("cells.csv");
    let records = read_cells_csv(&cells_path)?;
    let qn_path = dir.join("Qn.csv");
    let matrix = read_matrix(&qn_path)?;

    // Every matrix line belongs to exactly one cell, or a cell would be lost or doubled.
    let mut owner: Vec<Option<&str>> = vec![None; matrix.len()];
    let mut cells = Vec::with_capacity(records.len());
    for rec in &records {
        let k = rec.num("Qn_row_index")?;
        let index = k as usize;
        if k < 0.0 || k.fract() != 0.0 || index >= matrix.len() {
            return Err(ImportError::malformed(
                &cells_path,
                format!("Qn_row_index {k} is not a row of Qn.csv (0..{})", matrix.len()),
            )
            .cell(rec.cell_id())
            .row(rec.line));
        }
        if let Some(other) = owner[index].replace(rec.cell_id()) {
            return Err(ImportError::malformed(&cells_path, format!("Qn_row_index {index} is also cell {other}'s"))
                .cell(rec.cell_id())
                .row(rec.line));
        }
        let (line, capacities) = &matrix[index];
        let mut cell = RawCell::new(describe(rec)?, &qn_path);
        cell.rows = capacities[..unpadded_len(capacities)]
            .iter()
            .enumerate()
            .map(|(j, &q)| RawCycle::new(*line, (j + 1) as f64, Some(q)))
            .collect();
        let expected = rec.num("n_cycles")?;
        if cell.rows.len() as f64 != expected {
            return Err(ImportError::malformed(
                &qn_path,
                format!("has {} cycles before the padding but cells.csv (line {}) says n_cycles = {expected}", cell.rows.len(), rec.line),
            )
            .cell(rec.cell_id())
            .row(*line));
        }
        cells.push(cell);
    }
    if let Some(k) = owner.iter().position(Option::is_none) {
        return Err(ImportError::malformed(&qn_path, "no cell in cells.csv has this Qn_row_index").row(matrix[k].0));
    }
    Ok(cells)
}

/// Conditions not recorded in the files are Attia et al.'s, as PROVENANCE quotes them: 30 °C
/// chamber, 4C discharge. The charge is four CC steps (C1–C4), so the single charge C-rate
/// stays unknown and the steps go into the protocol text.
fn describe(rec: &CellRecord) -> Result<CellMeta> {
    let mut meta = meta_from_cells_csv("CLO", rec)?;
    meta.temperature_c = Some(30.0);
    meta.discharge_c_rate = Some(4.0);
    meta.protocol = Some(format!(
        "10-minute 0→80 % SOC fast charge in four 20 %-SOC CC steps {}C-{}C-{}C-{}C (C4 computed); \
         above 80 % SOC as in Attia et al. 2020 (not recorded here); 4C discharge; 30 °C chamber",
        rec.num("C1")?,
        rec.num("C2")?,
        rec.num("C3")?,
        rec.num("C4_computed")?,
    ));
    // The observed cycle life from the source's final_results.csv.
    meta.eol_cycle_label = rec.opt_num("final_cycle_life_final_results")?;
    meta.source = Some(CITATION.to_string());
    meta.license = Some(LICENSE.to_string());
    Ok(meta)
}

/// Length of a matrix line without its trailing zero padding.
fn unpadded_len(capacities: &[f64]) -> usize {
    capacities.iter().rposition(|&q| q != 0.0).map_or(0, |i| i + 1)
}

/// Reads the headerless capacity matrix: one `(line, values)` per line. NaN/inf are kept for
/// `clean` to reject; text that is no number is an error naming the line and the cycle column.
fn read_matrix(path: &Path) -> Result<Vec<(usize, Vec<f64>)>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(open(path)?);
    let mut out = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize);
            let err = ImportError::malformed(path, format!("malformed CSV: {e}"));
            match line {
                Some(l) => err.row(l),
                None => err,
            }
        })?;
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(out.len() + 1);
        let values = rec
            .iter()
            .enumerate()
            .map(|(j, s)| {
                s.trim().parse::<f64>().map_err(|_| {
                    ImportError::new(
                        path,
                        ErrorKind::NotNumeric { column: format!("cycle {}", j + 1), value: s.to_string() },
                    )
                    .row(line)
                })
            })
            .collect::<Result<Vec<f64>>>()?;
        out.push((line, values));
    }
    if out.is_empty() {
        return Err(ImportError::new(path, ErrorKind::Empty));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_is_only_the_trailing_zeros() {
        assert_eq!(unpadded_len(&[1.0, 0.9, 0.0, 0.0]), 2);
        assert_eq!(unpadded_len(&[1.0, 0.9, 0.8]), 3, "a full row has no padding");
        assert_eq!(unpadded_len(&[1.0, 0.0, 0.9, 0.0]), 3, "an interior zero is data, not padding");
        assert_eq!(unpadded_len(&[f64::NAN, 0.0]), 1, "NaN is kept for clean to reject");
        assert_eq!(unpadded_len(&[0.0, 0.0]), 0);
    }

    #[test]
    fn a_non_numeric_value_names_the_line_and_cycle() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("Qn.csv");
        std::fs::write(&p, "1.0,0.9,0\n1.0,x,0\n").unwrap();
        let msg = read_matrix(&p).unwrap_err().to_string();
        assert!(msg.contains("row 2") && msg.contains("cycle 2") && msg.contains("`x`"), "{msg}");
    }

    fn dir_with(cells: &str, qn: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("cells.csv"), cells).unwrap();
        std::fs::write(d.path().join("Qn.csv"), qn).unwrap();
        d
    }

    const HEADER: &str = "cell_id,Qn_row_index,C1,C2,C3,C4_computed,n_cycles,final_cycle_life_final_results\n";

    #[test]
    fn cells_map_to_their_matrix_line() {
        let d = dir_with(
            &format!("{HEADER}b,1,8,4.4,4.4,3.94,3,\na,0,3.6,6,5.6,4.755,2,761\n"),
            "1.05,1.04,0,0\n1.02,1.01,1.00,0\n",
        );
        let cells = import(d.path()).unwrap();
        assert_eq!(cells[0].meta.cell_id, "b");
        assert_eq!(cells[0].rows.iter().map(|r| (r.row, r.cycle)).collect::<Vec<_>>(), vec![(2, 1.0), (2, 2.0), (2, 3.0)]);
        assert_eq!(cells[1].rows[1].capacity_ah, Some(1.04));
        assert_eq!(cells[1].meta.eol_cycle_label, Some(761.0));
        assert_eq!(cells[0].meta.eol_cycle_label, None);
    }

    #[test]
    fn an_unclaimed_or_doubly_claimed_line_is_an_error() {
        let d = dir_with(&format!("{HEADER}a,0,3.6,6,5.6,4.755,1,1\n"), "1.0,0\n1.0,0\n");
        assert!(import(d.path()).unwrap_err().to_string().contains("no cell in cells.csv"));
        let d = dir_with(&format!("{HEADER}a,0,3.6,6,5.6,4.755,1,1\nb,0,3.6,6,5.6,4.755,1,1\n"), "1.0,0\n");
        assert!(import(d.path()).unwrap_err().to_string().contains("also cell a's"));
    }

    #[test]
    fn a_cycle_count_unlike_cells_csv_is_an_error() {
        let d = dir_with(&format!("{HEADER}a,0,3.6,6,5.6,4.755,5,1\n"), "1.0,0.9,0\n");
        let msg = import(d.path()).unwrap_err().to_string();
        assert!(msg.contains("cell a") && msg.contains("n_cycles = 5"), "{msg}");
    }
}
