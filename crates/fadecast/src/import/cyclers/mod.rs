//! Cycler exports (issue 6): detect the format of a raw file, parse it into [`TimeSeries`]
//! (or, for files that are per-cycle summaries already, straight into cycles), segment each
//! series into cycles and summarise every cycle, then hand [`RawCell`]s to `import::clean`.
//!
//! ```text
//! file ─detect─▶ Format ─parse─▶ Parsed::Series ─segment─▶ CycleTable ─▶ RawCell ─clean─▶ Cell
//!                               Parsed::Cycles ───────────────┘
//! ```
//!
//! One file per format; the shared pieces are `table` (reading text tables), `series` (column
//! mapping → time series), `segment` (cycles and descriptors) and `summary` (per-cycle rows →
//! raw cells). The binary formats (`nda`, `ndax`, `mpr`, `res`) produce [`TimeSeries`] too.

pub mod detect;
pub mod segment;
pub mod summary;
mod series;
mod table;
mod timeseries;

pub mod arbin_csv;
pub mod arbin_xlsx;
pub mod batteryarchive;
pub mod batterydata_hub;
pub mod bdf;
pub mod biologic_txt;
pub mod landt;
pub mod maccor;
pub mod neware_csv;
pub mod pec;

pub mod mpr;
pub mod nda;
pub mod ndax;
pub mod res;

use std::path::Path;

pub use detect::{detect, Detection, Format};
pub use summary::{CycleSummary, CycleTable};
pub use timeseries::{StepKind, TimeSeries};

use crate::error::{ImportError, Result};
use crate::import::RawCell;

/// What a parser read from a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// Raw samples, one series per cell / channel: to be segmented.
    Series(Vec<TimeSeries>),
    /// Per-cycle rows already (batteryarchive `cycle_data.csv`, Battery Data Hub summaries,
    /// Neware nested exports).
    Cycles(Vec<CycleTable>),
}

/// Parses `path` as `format` (a cycler format; `UserCsv` and `BatteryLife` are read by their
/// own modules, see `import::any`).
pub fn parse(path: &Path, format: Format) -> Result<Parsed> {
    let series = |r: Result<Vec<TimeSeries>>| r.map(Parsed::Series);
    match format {
        Format::ArbinCsv => arbin_csv::parse(path),
        Format::ArbinXlsx => arbin_xlsx::parse(path),
        Format::ArbinRes => series(res::parse(path)),
        Format::NewareCsv => neware_csv::parse(path),
        Format::NewareNda => series(nda::parse(path)),
        Format::NewareNdax => series(ndax::parse(path)),
        Format::Maccor => maccor::parse(path),
        Format::BiologicTxt => biologic_txt::parse(path),
        Format::BiologicMpr => series(mpr::parse(path)),
        Format::Landt => landt::parse(path),
        Format::Bdf => bdf::parse(path),
        Format::BatteryArchive => batteryarchive::parse(path),
        Format::BatteryDataHub => batterydata_hub::parse(path),
        Format::Pec => pec::parse(path),
        Format::UserCsv | Format::BatteryLife => {
            Err(ImportError::malformed(path, format!("`{format}` is not a cycler format (read it with import::any)")))
        }
    }
}

/// Parses and segments `path`: one [`CycleTable`] per cell, every cycle included (also those
/// without discharge, which [`summary::to_raw_cell`] then leaves out).
pub fn read_cycles(path: &Path, format: Format) -> Result<Vec<CycleTable>> {
    match parse(path, format)? {
        Parsed::Cycles(tables) => Ok(tables),
        Parsed::Series(series) => {
            if series.is_empty() {
                return Err(ImportError::new(path, crate::error::ErrorKind::Empty));
            }
            series.iter().map(|s| segment::summarise(path, s)).collect()
        }
    }
}

/// [`read_cycles`], then one [`RawCell`] per cell that measured any discharge. Cells without
/// one (rest-only channels) are left out with a warning; a file where no cell has one is an
/// error that says so.
pub fn import_file(path: &Path, format: Format) -> Result<Vec<RawCell>> {
    let tables = read_cycles(path, format)?;
    let mut cells = Vec::new();
    let mut first_err = None;
    for t in &tables {
        match summary::to_raw_cell(path, format.name(), t) {
            Ok(c) => cells.push(c),
            Err(e) => {
                tracing::warn!("{e}");
                first_err.get_or_insert(e);
            }
        }
    }
    match (cells.is_empty(), first_err) {
        (true, Some(e)) => Err(e),
        (true, None) => Err(ImportError::new(path, crate::error::ErrorKind::NoCycles)),
        _ => Ok(cells),
    }
}

/// A cell name from the file name, without the suffixes export tools append.
pub fn cell_id_of(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("cell");
    let name = name.strip_suffix(".gz").unwrap_or(name);
    let stem = match name.rsplit_once('.') {
        Some((s, ext)) if !ext.is_empty() && ext.len() <= 5 => s,
        _ => name,
    };
    let stem = stem.strip_suffix(".bdf").unwrap_or(stem);
    ["_cycle_data", "_timeseries", "-raw", "-summary"]
        .iter()
        .find_map(|s| stem.strip_suffix(s))
        .unwrap_or(stem)
        .to_string()
}
