//! BatteryLife end-of-life labels: one cycle count per cell (first cycle with SOH ≤ 0.8, see
//! `raw/BatteryLife_life_labels/PROVENANCE.md`), attached to cells as
//! [`CellMeta::eol_cycle_label`](crate::data::CellMeta::eol_cycle_label).
//!
//! **Where labels come from.** Every `*label*.json` file directly inside a sub-folder of `raw/`:
//! today `BatteryLife_life_labels/{NA-ion,NA-coin,ZN-coin,SNL,HNEI,UL-PUR}_labels.json` (419 cells)
//! and `CALB/calb_life_labels_batterylife.json` (27 cells). Each is BatteryLife's flat JSON map
//! `{"<cell file>.pkl": cycles}`. (`life_labels_all.csv` repeats the six JSONs and is not read.)
//!
//! **How ids match.** BatteryLife names a cell file `<DATASET>_<cell>.pkl`, e.g.
//! `CALB_0_B182.pkl`; the key is that name without `.pkl` ([`normalise_id`]). A cell matches when
//! its `cell_id` equals a key, or when `<dataset>_<cell_id>` does (for importers that drop the
//! dataset prefix). Nothing fuzzier: a label on the wrong cell would be worse than none. With
//! the data we hold only CALB cells (and BatteryLife pickles of CALB cells) match; the other
//! labelled chemistries (Na-ion, Zn-ion, SNL, HNEI, UL-PUR) have no trajectories here, and
//! BatteryLife's labels for MATR/HUST/... are not among the files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{read, RawCell};
use crate::error::{ErrorKind, ImportError, Result};

/// The label key for a BatteryLife cell file name or a cell id: trimmed, without `.pkl`.
pub fn normalise_id(id: &str) -> String {
    let id = id.trim();
    match id.len().checked_sub(4).filter(|&i| id.is_char_boundary(i)) {
        Some(i) if id[i..].eq_ignore_ascii_case(".pkl") => id[..i].to_string(),
        _ => id.to_string(),
    }
}

/// The label files under `raw_dir` (see the module docs), sorted by path.
pub fn label_files(raw_dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(raw_dir).map_err(|e| ImportError::io(raw_dir, e))? {
        let dir = entry.map_err(|e| ImportError::io(raw_dir, e))?.path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).map_err(|e| ImportError::io(&dir, e))? {
            let f = f.map_err(|e| ImportError::io(&dir, e))?.path();
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("").to_ascii_lowercase();
            if f.is_file() && name.ends_with(".json") && name.contains("label") {
                files.push(f);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Reads every label file under `raw_dir` (the `raw/` folder): normalised cell id → EOL cycle.
/// Errors: no label file at all, a file that is not a `{name: number}` map, a non-positive
/// label, or one cell labelled differently by two files.
pub fn load(raw_dir: &Path) -> Result<BTreeMap<String, f64>> {
    let files = label_files(raw_dir)?;
    if files.is_empty() {
        return Err(ImportError::malformed(raw_dir, "no `*label*.json` file in any sub-folder"));
    }
    let mut labels = BTreeMap::new();
    let mut origin: BTreeMap<String, PathBuf> = BTreeMap::new();
    for file in files {
        let map: BTreeMap<String, serde_json::Value> = serde_json::from_str(&read::read_to_string(&file)?)
            .map_err(|e| ImportError::malformed(&file, format!("not a JSON map of cell → cycle life: {e}")))?;
        for (name, value) in map {
            let key = normalise_id(&name);
            let eol = value.as_f64().filter(|v| v.is_finite() && *v > 0.0).ok_or_else(|| {
                ImportError::new(&file, ErrorKind::Malformed(format!("label `{value}` is not a positive cycle count")))
                    .cell(&key)
            })?;
            if let Some(prev) = labels.insert(key.clone(), eol).filter(|p| *p != eol) {
                return Err(ImportError::malformed(
                    &file,
                    format!("labels {eol} cycles, but {} labels it {prev}", origin[&key].display()),
                )
                .cell(key));
            }
            origin.entry(key).or_insert_with(|| file.clone());
        }
    }
    Ok(labels)
}

/// The label for one cell, by the matching rule in the module docs.
pub fn label_for(labels: &BTreeMap<String, f64>, dataset: &str, cell_id: &str) -> Option<f64> {
    let id = normalise_id(cell_id);
    labels.get(&id).copied().or_else(|| {
        let prefix = format!("{dataset}_");
        (!dataset.is_empty() && !id.starts_with(&prefix))
            .then(|| labels.get(&format!("{prefix}{id}")).copied())
            .flatten()
    })
}

/// How many cells of one dataset got a label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Matches {
    pub cells: usize,
    pub labelled: usize,
}

/// Sets `eol_cycle_label` on every cell with a matching label (replacing any label the importer
/// set, so that all labels share BatteryLife's definition) and counts matches per dataset.
pub fn attach_report(cells: &mut [RawCell], labels: &BTreeMap<String, f64>) -> BTreeMap<String, Matches> {
    let mut report: BTreeMap<String, Matches> = BTreeMap::new();
    for cell in cells.iter_mut() {
        let m = report.entry(cell.meta.dataset.clone()).or_default();
        m.cells += 1;
        if let Some(eol) = label_for(labels, &cell.meta.dataset, &cell.meta.cell_id) {
            cell.meta.eol_cycle_label = Some(eol);
            m.labelled += 1;
        }
    }
    for (dataset, m) in &report {
        tracing::info!(dataset, cells = m.cells, labelled = m.labelled, "BatteryLife life labels attached");
    }
    report
}

/// [`attach_report`], returning the number of cells labelled.
pub fn attach(cells: &mut [RawCell], labels: &BTreeMap<String, f64>) -> usize {
    attach_report(cells, labels).values().map(|m| m.labelled).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::CellMeta;

    fn raw_dir() -> PathBuf {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::env::var_os("FADECAST_DATA")
            .map(PathBuf::from)
            .into_iter()
            .chain(here.ancestors().map(|a| a.join("shared/data/raw")))
            .find(|p| p.is_dir())
            .expect("shared/data/raw not found")
    }

    fn cell(dataset: &str, id: &str) -> RawCell {
        RawCell::new(CellMeta { dataset: dataset.into(), cell_id: id.into(), ..Default::default() }, "x")
    }

    /// Cell ids of a dataset as its raw files spell them (column `cell_id` of a CSV).
    fn ids(file: &Path) -> Vec<String> {
        let mut t = read::Table::open(file).unwrap();
        let c = t.col("cell_id").unwrap();
        let mut ids: Vec<String> = Vec::new();
        while let Some(r) = t.next_row() {
            ids.push(r.unwrap().str(c).to_string());
        }
        ids.dedup();
        ids
    }

    #[test]
    fn normalise_strips_pkl_and_whitespace_only() {
        assert_eq!(normalise_id(" CALB_0_B182.pkl "), "CALB_0_B182");
        assert_eq!(normalise_id("NA-ion_270040-1-2-63.PKL"), "NA-ion_270040-1-2-63");
        assert_eq!(normalise_id("MATR_2017-05-12_battery-1"), "MATR_2017-05-12_battery-1");
        assert_eq!(normalise_id("é"), "é");
    }

    #[test]
    fn loads_all_446_labels_from_the_real_files() {
        let labels = load(&raw_dir()).unwrap();
        // 419 BatteryLife_life_labels (PROVENANCE) + 27 CALB.
        assert_eq!(labels.len(), 446);
        assert_eq!(labels["CALB_0_B182"], 107.0);
        assert_eq!(labels["HNEI_18650_NMC_LCO_25C_0-100_0.5-1.5C_o"], 266.0);
        assert_eq!(labels["UL-PUR_N15-NA10_18650_NCA_23C_0-100_0.5-0.5C_j"], 259.0);
    }

    #[test]
    fn every_calb_cell_matches_and_no_matr_or_hust_cell_does() {
        let raw = raw_dir();
        let labels = load(&raw).unwrap();
        let mut cells: Vec<RawCell> = Vec::new();
        for (dataset, file) in
            [("CALB", "CALB/calb_cycles_first100.csv"), ("MATR", "MATR/cells.csv"), ("HUST", "HUST/cells.csv")]
        {
            cells.extend(ids(&raw.join(file)).iter().map(|id| cell(dataset, id)));
        }
        let report = attach_report(&mut cells, &labels);
        assert_eq!(report["CALB"], Matches { cells: 27, labelled: 27 });
        assert_eq!(report["MATR"], Matches { cells: 125, labelled: 0 });
        assert_eq!(report["HUST"], Matches { cells: 77, labelled: 0 });
        let b253 = cells.iter().find(|c| c.meta.cell_id == "CALB_45_B253").unwrap();
        assert_eq!(b253.meta.eol_cycle_label, Some(997.0));
    }

    #[test]
    fn a_cell_id_without_its_dataset_prefix_still_matches() {
        let labels = BTreeMap::from([("CALB_0_B182".to_string(), 107.0)]);
        let mut cells = vec![cell("CALB", "0_B182"), cell("MATR", "0_B182"), cell("CALB", "0_B18")];
        assert_eq!(attach(&mut cells, &labels), 1);
        assert_eq!(cells[0].meta.eol_cycle_label, Some(107.0));
        assert_eq!(cells[1].meta.eol_cycle_label, None);
    }

    #[test]
    fn bad_and_conflicting_label_files_are_errors_naming_the_file_and_cell() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("A")).unwrap();
        std::fs::create_dir(dir.path().join("B")).unwrap();
        assert!(load(dir.path()).unwrap_err().to_string().contains("no `*label*.json`"));

        std::fs::write(dir.path().join("A/a_labels.json"), r#"{"X_1.pkl": 100, "X_2.pkl": 200}"#).unwrap();
        std::fs::write(dir.path().join("B/b_labels.json"), r#"{"X_1": 100}"#).unwrap();
        assert_eq!(load(dir.path()).unwrap().len(), 2, "agreeing duplicates are fine");

        std::fs::write(dir.path().join("B/b_labels.json"), r#"{"X_1": 150}"#).unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("b_labels.json") && e.contains("cell X_1") && e.contains("a_labels.json"), "{e}");

        std::fs::write(dir.path().join("B/b_labels.json"), r#"{"X_3": -1}"#).unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("b_labels.json") && e.contains("cell X_3") && e.contains("positive"), "{e}");

        std::fs::write(dir.path().join("B/b_labels.json"), r#"[1, 2]"#).unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("b_labels.json") && e.contains("not a JSON map"), "{e}");
    }
}
