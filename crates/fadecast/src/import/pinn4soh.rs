//! The shared reader for the four PINN4SOH-derived datasets (MATR, HUST, XJTU, TJU), and the
//! `cells.csv` reader that CLO uses too. Each dataset file only adds its own metadata.
//!
//! Layout of `raw/<DATASET>/` (see any of their PROVENANCE.md):
//! - `cells.csv`: one row per cell — `cell_id`, `file` (relative path), `source_path`, `n_rows`,
//!   `chemistry`, `form_factor`, `nominal_capacity_Ah`, plus dataset-specific columns.
//! - `features_pinn4soh/**/<cell>.csv.gz`: one row per cycle, in chronological order, 17 columns,
//!   **no cycle column**: the cycle is the 1-based row index. `capacity` is the discharge
//!   capacity in Ah (not normalised).
//!
//! Descriptor mapping (only where the meaning fits):
//!
//! | source column                | descriptor                               | note                          |
//! |------------------------------|------------------------------------------|-------------------------------|
//! | `CC charge time`             | [`Descriptor::CcChargeTimeS`]            | duration of the CC voltage window |
//! | `CV charge time`             | [`Descriptor::CvChargeTimeS`]            | duration of the CV current window |
//! | `voltage mean`/`voltage std` | [`Descriptor::ChargeVoltageMeanV`]/[`StdV`](Descriptor::ChargeVoltageStdV) | inside the CC window only |
//! | `current mean`               | [`Descriptor::ChargeCurrentMeanA`]       | inside the CV window only     |
//!
//! Not mapped: the window durations are not the total charge time (`ChargeTimeS`); `CC Q`/`CV Q`
//! are charge inside a window, not a coulombic efficiency; kurtosis, skewness, slope and entropy
//! have no descriptor. Temperature, resistance and discharge voltage are not in these files.
//!
//! Caveat honoured (MATR PROVENANCE audit): rows whose CC window held almost no charge
//! (`CC Q` < [`MIN_CC_WINDOW_AH`]) are feature-extraction glitches; their CC-window descriptors
//! are marked unavailable. The row itself (its capacity) is kept.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::read::{files_with_suffix, Table};
use super::{RawCell, RawCycle};
use crate::data::{CellMeta, Descriptor};
use crate::error::{ErrorKind, ImportError, Result};

/// Folder, under `raw/<DATASET>/`, holding the per-cell feature files.
pub const FEATURES_DIR: &str = "features_pinn4soh";
/// The snapshot the feature files were copied from (PROVENANCE).
const REPO: &str = "wang-fujin/PINN4SOH@bf7a93148de6a7e249c1b053bd60fe3c9a3dc1f0";
pub const LICENSE: &str = "none stated (no LICENSE file in wang-fujin/PINN4SOH)";

/// Below this charge (Ah) in the CC voltage window, the window statistics are glitches. The MATR
/// audit counts 16 such files (2017-05-12_battery-5: 14 rows) with this threshold; the other three
/// datasets never come near it (their smallest `CC Q` is 0.078 Ah).
pub const MIN_CC_WINDOW_AH: f64 = 0.01;

/// Descriptors computed inside the CC voltage window, masked together when the window is a glitch.
const CC_WINDOW: [Descriptor; 3] =
    [Descriptor::CcChargeTimeS, Descriptor::ChargeVoltageMeanV, Descriptor::ChargeVoltageStdV];

/// What a dataset file adds to the shared reading.
pub struct Dataset {
    /// Folder name under `raw/`, and `CellMeta::dataset`.
    pub name: &'static str,
    /// The original publication and raw data, for `CellMeta::source`.
    pub citation: &'static str,
    /// Fills the dataset-specific metadata (temperature, C-rates, protocol…) from the cell's
    /// `cells.csv` row; chemistry, form factor, nominal capacity and source are already set.
    pub describe: fn(&CellRecord, &mut CellMeta) -> Result<()>,
}

/// Reads every cell listed in `dir/cells.csv`, in that order.
pub fn import(dir: &Path, ds: &Dataset) -> Result<Vec<RawCell>> {
    let cells_path = dir.join("cells.csv");
    let records = read_cells_csv(&cells_path)?;
    check_every_file_is_listed(dir, &records)?;
    // Cells are independent files: parse them in parallel (collect keeps cells.csv's order).
    records
        .par_iter()
        .map(|rec| {
            let mut meta = meta_from_cells_csv(ds.name, rec)?;
            meta.source = Some(format!(
                "{}; per-cycle features from {REPO} `{}`",
                ds.citation,
                rec.text("source_path")?
            ));
            meta.license = Some(LICENSE.to_string());
            (ds.describe)(rec, &mut meta)?;
            let cell = read_features(&dir.join(rec.text("file")?), meta)?;
            // cells.csv counted the rows when the copy was made: a mismatch means a damaged file.
            let expected = rec.num("n_rows")?;
            if cell.rows.len() as f64 != expected {
                return Err(ImportError::malformed(
                    &cell.file,
                    format!("has {} rows but cells.csv (line {}) says n_rows = {expected}", cell.rows.len(), rec.line),
                )
                .cell(rec.cell_id()));
            }
            Ok(cell)
        })
        .collect()
}

/// A feature file on disk that cells.csv does not list would silently vanish from the corpus.
fn check_every_file_is_listed(dir: &Path, records: &[CellRecord]) -> Result<()> {
    let listed: BTreeSet<PathBuf> =
        records.iter().map(|r| r.text("file").map(|f| dir.join(f))).collect::<Result<_>>()?;
    for f in files_with_suffix(&dir.join(FEATURES_DIR), ".csv.gz")? {
        if !listed.contains(&f) {
            return Err(ImportError::malformed(&f, "feature file has no row in cells.csv"));
        }
    }
    Ok(())
}

/// Reads one feature file into a raw cell: cycle = 1-based data-row index, `row` = source line.
pub fn read_features(path: &Path, meta: CellMeta) -> Result<RawCell> {
    let cell_id = meta.cell_id.clone();
    let in_cell = |e: ImportError| e.cell(cell_id.clone());
    let mut t = Table::open(path).map_err(in_cell)?;
    let capacity = t.col("capacity").map_err(in_cell)?;
    let cc_q = t.col("CC Q").map_err(in_cell)?;
    let mapped = [
        (Descriptor::CcChargeTimeS, t.col("CC charge time").map_err(in_cell)?),
        (Descriptor::CvChargeTimeS, t.col("CV charge time").map_err(in_cell)?),
        (Descriptor::ChargeVoltageMeanV, t.col("voltage mean").map_err(in_cell)?),
        (Descriptor::ChargeVoltageStdV, t.col("voltage std").map_err(in_cell)?),
        (Descriptor::ChargeCurrentMeanA, t.col("current mean").map_err(in_cell)?),
    ];
    let mut cell = RawCell::new(meta, path);
    while let Some(row) = t.next_row() {
        let row = row.map_err(in_cell)?;
        // A missing or non-finite capacity is kept as read: `clean` rejects it with file, cell, row.
        let cycle = (cell.rows.len() + 1) as f64;
        let mut r = RawCycle::new(row.line, cycle, row.num(capacity).map_err(in_cell)?);
        for (d, col) in mapped {
            r.descriptors[d.index()] = row.finite(col).map_err(in_cell)?;
        }
        if row.finite(cc_q).map_err(in_cell)?.is_some_and(|q| q < MIN_CC_WINDOW_AH) {
            for d in CC_WINDOW {
                r.descriptors[d.index()] = None;
            }
        }
        cell.rows.push(r);
    }
    Ok(cell)
}

/// The metadata every `cells.csv` here carries: dataset, cell id, chemistry (as written, split
/// into cathode/anode), form factor and nominal capacity. Used by CLO as well.
pub fn meta_from_cells_csv(dataset: &str, rec: &CellRecord) -> Result<CellMeta> {
    let chemistry = rec.opt_text("chemistry").map(str::to_string);
    let (cathode, anode) = chemistry.as_deref().map(split_chemistry).unwrap_or_default();
    Ok(CellMeta {
        dataset: dataset.to_string(),
        cell_id: rec.cell_id().to_string(),
        chemistry,
        cathode,
        anode,
        form_factor: rec.opt_text("form_factor").map(str::to_string),
        nominal_capacity_ah: rec.opt_num("nominal_capacity_Ah")?,
        ..Default::default()
    })
}

/// `"LFP/graphite"` → (LFP, graphite); `"NCA (LiNi0.86… per Zhu et al.)"` → (NCA, unknown).
/// The curator's parenthetical note is dropped; an anode is only known where a `/` names it.
pub fn split_chemistry(text: &str) -> (Option<String>, Option<String>) {
    let bare = text.split(" (").next().unwrap_or_default().trim();
    let (cathode, anode) = match bare.split_once('/') {
        Some((c, a)) => (c, Some(a)),
        None => (bare, None),
    };
    let non_empty = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string);
    (non_empty(cathode), anode.and_then(non_empty))
}

/// One row of a `cells.csv`, kept as text so each dataset picks the columns it needs. Every
/// lookup error names the file, the cell and the line.
pub struct CellRecord {
    file: PathBuf,
    /// 1-based line in cells.csv (header = line 1).
    pub line: usize,
    cell_id: String,
    fields: BTreeMap<String, String>,
}

impl CellRecord {
    pub fn cell_id(&self) -> &str {
        &self.cell_id
    }

    fn error(&self, kind: ErrorKind) -> ImportError {
        ImportError::new(&self.file, kind).cell(self.cell_id.clone()).row(self.line)
    }

    /// A text field; `None` when the column is absent or the field empty.
    pub fn opt_text(&self, col: &str) -> Option<&str> {
        self.fields.get(col).map(String::as_str).filter(|s| !s.is_empty())
    }

    /// A text field that must be present.
    pub fn text(&self, col: &str) -> Result<&str> {
        match self.fields.get(col) {
            None => Err(self.error(ErrorKind::MissingColumn(col.to_string()))),
            Some(s) if s.is_empty() => Err(self.error(ErrorKind::Malformed(format!("column `{col}` is empty")))),
            Some(s) => Ok(s),
        }
    }

    /// A numeric field; `None` when absent or empty, an error when it is not a finite number.
    pub fn opt_num(&self, col: &str) -> Result<Option<f64>> {
        let Some(s) = self.opt_text(col) else { return Ok(None) };
        let v: f64 = s
            .parse()
            .map_err(|_| self.error(ErrorKind::NotNumeric { column: col.to_string(), value: s.to_string() }))?;
        if !v.is_finite() {
            return Err(self.error(ErrorKind::NotFinite(format!("column `{col}`"))));
        }
        Ok(Some(v))
    }

    /// A numeric field that must be present.
    pub fn num(&self, col: &str) -> Result<f64> {
        self.text(col)?;
        Ok(self.opt_num(col)?.expect("present and non-empty"))
    }
}

/// Reads a `cells.csv`: a non-empty `cell_id` per row, unique within the file.
pub fn read_cells_csv(path: &Path) -> Result<Vec<CellRecord>> {
    let mut t = Table::open(path)?;
    let id_col = t.col("cell_id")?;
    let headers = t.headers().to_vec();
    let mut out: Vec<CellRecord> = Vec::new();
    let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(row) = t.next_row() {
        let row = row?;
        let cell_id = row.str(id_col).to_string();
        if cell_id.is_empty() {
            return Err(row.error(ErrorKind::Malformed("empty cell_id".into())));
        }
        if let Some(first) = first_line.insert(cell_id.clone(), row.line) {
            return Err(row.error(ErrorKind::Malformed(format!("cell_id `{cell_id}` appears twice (first at line {first})"))));
        }
        let fields = headers.iter().enumerate().map(|(i, h)| (h.clone(), row.str(i).to_string())).collect();
        out.push(CellRecord { file: path.to_path_buf(), line: row.line, cell_id, fields });
    }
    if out.is_empty() {
        return Err(ImportError::new(path, ErrorKind::Empty));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "voltage mean,voltage std,voltage kurtosis,voltage skewness,CC Q,CC charge time,\
voltage slope,voltage entropy,current mean,current std,current kurtosis,current skewness,CV Q,\
CV charge time,current slope,current entropy,capacity";

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn meta() -> CellMeta {
        CellMeta { dataset: "T".into(), cell_id: "c1".into(), ..Default::default() }
    }

    #[test]
    fn cycle_is_the_row_index_and_row_the_source_line() {
        let d = tempfile::tempdir().unwrap();
        let body = format!(
            "{HEADER}\r\n3.5,0.04,0,0,0.15,460,0,-inf,0.22,0,0,0,0.013,205,0,0,1.07\r\n\
             3.5,0.04,0,0,0.15,455,0,1,0.23,0,0,0,0.013,200,0,0,1.06\r\n"
        );
        let cell = read_features(&write(d.path(), "c1.csv", &body), meta()).unwrap();
        assert_eq!(cell.rows.iter().map(|r| (r.row, r.cycle)).collect::<Vec<_>>(), vec![(2, 1.0), (3, 2.0)]);
        let r = &cell.rows[1];
        assert_eq!(r.capacity_ah, Some(1.06));
        assert_eq!(r.descriptors[Descriptor::CcChargeTimeS.index()], Some(455.0));
        assert_eq!(r.descriptors[Descriptor::CvChargeTimeS.index()], Some(200.0));
        assert_eq!(r.descriptors[Descriptor::ChargeCurrentMeanA.index()], Some(0.23));
        assert_eq!(r.descriptors[Descriptor::ChargeTimeS.index()], None);
    }

    #[test]
    fn an_empty_cc_window_masks_its_descriptors_but_keeps_the_row() {
        let d = tempfile::tempdir().unwrap();
        let body = format!("{HEADER}\n3.56,0.36,0,0,0.00007,0.56,0,0,0.22,0,0,0,0.013,44.7,0,0,1.05\n");
        let cell = read_features(&write(d.path(), "c1.csv", &body), meta()).unwrap();
        let r = &cell.rows[0];
        assert_eq!(r.capacity_ah, Some(1.05));
        for d in CC_WINDOW {
            assert_eq!(r.descriptors[d.index()], None, "{}", d.name());
        }
        assert_eq!(r.descriptors[Descriptor::CvChargeTimeS.index()], Some(44.7));
    }

    #[test]
    fn a_non_numeric_capacity_names_file_cell_and_row() {
        let d = tempfile::tempdir().unwrap();
        let body = format!("{HEADER}\r\n3.5,0.04,0,0,0.15,460,0,0,0.22,0,0,0,0.013,205,0,0,abc\r\n");
        let msg = read_features(&write(d.path(), "c1.csv", &body), meta()).unwrap_err().to_string();
        assert!(msg.contains("c1.csv") && msg.contains("cell c1") && msg.contains("row 2"), "{msg}");
    }

    #[test]
    fn chemistry_splits_into_cathode_and_anode() {
        let s = |c: &str, a: &str| (Some(c.to_string()), Some(a.to_string()));
        assert_eq!(split_chemistry("LFP/graphite"), s("LFP", "graphite"));
        assert_eq!(split_chemistry("NCA (LiNi0.86Co0.11Al0.03O2 per Zhu et al. 2022)"), (Some("NCA".into()), None));
        assert_eq!(split_chemistry("NCM+NCA blend (per Zhu et al. 2022)"), (Some("NCM+NCA blend".into()), None));
        assert_eq!(split_chemistry(""), (None, None));
    }

    #[test]
    fn cells_csv_rejects_a_repeated_cell_id() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "cells.csv", "cell_id,n_rows\na,1\nb,2\na,3\n");
        let msg = read_cells_csv(&p).err().expect("duplicate id").to_string();
        assert!(msg.contains("row 4") && msg.contains("first at line 2"), "{msg}");
    }

    #[test]
    fn cells_csv_numbers_are_checked() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "cells.csv", "cell_id,n_rows,note\na,x,\n");
        let rec = &read_cells_csv(&p).unwrap()[0];
        let msg = rec.num("n_rows").unwrap_err().to_string();
        assert!(msg.contains("cell a") && msg.contains("row 2") && msg.contains("n_rows"), "{msg}");
        assert_eq!(rec.opt_text("note"), None);
        assert!(rec.text("missing").is_err());
    }
}
