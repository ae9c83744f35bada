//! Importers: raw files ─▶ [`RawCell`]s ─[`clean`]─▶ [`Cell`]s.
//!
//! One small file per public dataset (as BatteryML's preprocessors), plus the importers for a
//! user's own data (`user_csv`, `batterylife`). Every importer only *reads*: it maps the
//! source's columns and units onto a [`RawCell`] and records the source rows it dropped for a
//! documented reason. Validation, sorting, outlier removal and SOH live in [`clean`], once.

pub mod clean;
pub mod labels;
pub mod read;
pub mod tables;

pub mod batterylife;
pub mod any;
pub mod cyclers;
pub mod user_csv;

pub mod calb;
pub mod calce;
pub mod clo;
pub mod hust;
pub mod inl;
pub mod isu_ilcc;
pub mod matr;
pub mod mich;
pub mod mich_fastform;
pub mod nasa;
pub mod oxford;
pub mod pinn4soh;
pub mod rolston;
pub mod rwth;
pub mod stanford;
pub mod stroebl;
pub mod tbsi;
pub mod tju;
pub mod xjtu;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use clean::{clean, CleanOptions, CleanStats};

use crate::data::{CellMeta, N_DESCRIPTORS};
use crate::error::Result;

/// One source row, mapped onto the canonical columns but not yet validated.
#[derive(Debug, Clone, PartialEq)]
pub struct RawCycle {
    /// Where the row came from (1-based line in the source file, header = line 1), for errors.
    pub row: usize,
    pub cycle: f64,
    /// Discharge capacity in Ah (may be NaN / negative here: `clean` rejects it).
    pub capacity_ah: Option<f64>,
    /// Normalised capacity, for sources that give only that (ISU_ILCC, STANFORD_DYNAMIC).
    pub soh: Option<f64>,
    pub descriptors: [Option<f64>; N_DESCRIPTORS],
}

impl RawCycle {
    pub fn new(row: usize, cycle: f64, capacity_ah: Option<f64>) -> Self {
        Self { row, cycle, capacity_ah, soh: None, descriptors: [None; N_DESCRIPTORS] }
    }
}

/// A cell as read from its source, before cleaning.
#[derive(Debug, Clone, PartialEq)]
pub struct RawCell {
    pub meta: CellMeta,
    /// The file the rows came from (named in errors).
    pub file: PathBuf,
    pub rows: Vec<RawCycle>,
    /// Source rows the importer skipped for a documented reason, counted per reason
    /// (e.g. "missing capacity (aborted run)" for NASA).
    pub dropped: BTreeMap<String, usize>,
}

impl RawCell {
    pub fn new(meta: CellMeta, file: impl Into<PathBuf>) -> Self {
        Self { meta, file: file.into(), rows: Vec::new(), dropped: BTreeMap::new() }
    }
    pub fn drop_row(&mut self, reason: &str) {
        *self.dropped.entry(reason.to_string()).or_default() += 1;
    }
}

/// A dataset importer: reads `raw/<name>/` into raw cells.
pub struct DatasetImporter {
    /// Folder name under `raw/`, also the `dataset` field of every cell it yields.
    pub name: &'static str,
    pub import: fn(&Path) -> Result<Vec<RawCell>>,
    /// How `clean` treats this source's rows (STRICT unless its PROVENANCE says otherwise).
    pub clean: CleanOptions,
}

/// Every public dataset the corpus is built from, in a stable order.
pub const DATASETS: &[DatasetImporter] = &[
    DatasetImporter { name: "MATR", import: matr::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "CLO", import: clo::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "HUST", import: hust::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "XJTU", import: xjtu::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "TJU", import: tju::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "CALCE", import: calce::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "NASA_PCoE", import: nasa::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "CALB", import: calb::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "INL_NMC_pouch_fastcharge", import: inl::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "TBSI_Sunwoda", import: tbsi::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "RolstonLab_Molicel21700_EIS", import: rolston::import, clean: CleanOptions::STRICT },
    // Nine cells have two back-to-back check-ups at the same cycle count (no cycling between
    // them, a few days apart): averaged, see rwth.rs.
    DatasetImporter { name: "RWTH", import: rwth::import, clean: CleanOptions::REORDER },
    DatasetImporter { name: "ISU_ILCC", import: isu_ilcc::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "STANFORD_DYNAMIC", import: stanford::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "STROEBL_NCA", import: stroebl::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "Oxford", import: oxford::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "MICH", import: mich::import, clean: CleanOptions::STRICT },
    DatasetImporter { name: "MICH_FASTFORM", import: mich_fastform::import, clean: CleanOptions::STRICT },
];

pub fn dataset(name: &str) -> Option<&'static DatasetImporter> {
    DATASETS.iter().find(|d| d.name.eq_ignore_ascii_case(name))
}
