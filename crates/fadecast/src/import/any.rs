//! One entry point for a user's own files, whatever they are: a cycler export (see
//! [`cyclers`]), a plain per-cycle CSV ([`user_csv`]) or a BatteryLife pickle ([`batterylife`]).
//! `fadecast import`, `forecast`, `eval --data` and `finetune --data` all read through
//! [`load_path`], so every command accepts the same files.
//!
//! A path may be a file or a folder (read recursively, in path order). A named file that cannot
//! be read is an error. In a folder, companion files that hold no data (an Arbin metadata CSV,
//! an EC-Lab log) and files that cannot be read are skipped and reported in [`Loaded::files`],
//! so one stray file does not stop the rest; the commands warn of each unreadable one
//! ([`Loaded::unreadable`]), and a folder that yields no cell is an error listing why.
//!
//! Two cells with the same dataset and id from different files (a cycler's `CH8` in two runs'
//! exports) are told apart by their file, `CH8@run2.csv` ([`Loaded::name_apart`]), so every
//! forecast, adapter and score names one cell.

use std::path::{Path, PathBuf};

use super::clean::{clean, CleanOptions, CleanStats};
use super::cyclers::{self, summary, CycleSummary, Detection, Format};
use super::{batterylife, user_csv, RawCell};
use crate::data::{Cell, Cycle};
use crate::error::{ErrorKind, ImportError, Result};

/// One cleaned cell and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedCell {
    pub file: PathBuf,
    pub format: Format,
    pub cell: Cell,
    pub stats: CleanStats,
    /// For cycler files: the per-cycle summary (charge capacity, energies, …) of each of
    /// `cell.cycles`, aligned with it. Empty for per-cycle CSVs and pickles.
    pub summaries: Vec<CycleSummary>,
}

/// What happened to one file.
#[derive(Debug, Clone, PartialEq)]
pub enum FileOutcome {
    /// Read as `format`, giving `cells` cells.
    Read { format: Format, cells: usize },
    /// Left out of a folder load: a file that travels with data files but holds none (an Arbin
    /// metadata CSV, an EC-Lab log), and what it is.
    Companion(String),
    /// Left out of a folder load because it could not be read, and why.
    Skipped(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileReport {
    pub path: PathBuf,
    pub outcome: FileOutcome,
}

/// Everything [`load_path`] read.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub cells: Vec<LoadedCell>,
    pub files: Vec<FileReport>,
}

impl Loaded {
    pub fn into_cells(self) -> Vec<Cell> {
        self.cells.into_iter().map(|c| c.cell).collect()
    }

    /// The files of a folder that could not be read, and why: data the user may expect to see
    /// forecast, so every command that reads a folder reports them.
    pub fn unreadable(&self) -> impl Iterator<Item = (&Path, &str)> {
        self.files.iter().filter_map(|f| match &f.outcome {
            FileOutcome::Skipped(why) => Some((f.path.as_path(), why.as_str())),
            _ => None,
        })
    }

    /// Appends another load (for commands that take several paths).
    pub fn extend(&mut self, other: Loaded) {
        self.cells.extend(other.cells);
        self.files.extend(other.files);
        self.name_apart();
    }

    /// Gives cells that share a dataset and id distinct ids: `id@file name`, or `id@file path`
    /// where the file names repeat too, or `id@file path#k` for the same file read twice. Each
    /// renaming is logged; cells with an id of their own keep it.
    pub fn name_apart(&mut self) {
        let id = |c: &LoadedCell| (c.cell.meta.dataset.clone(), c.cell.meta.cell_id.clone());
        let shared = |cells: &[LoadedCell]| {
            let mut count = std::collections::HashMap::new();
            cells.iter().for_each(|c| *count.entry(id(c)).or_insert(0usize) += 1);
            cells.iter().map(|c| count[&id(c)] > 1).collect::<Vec<bool>>()
        };
        let original: Vec<String> = self.cells.iter().map(|c| c.cell.meta.cell_id.clone()).collect();
        let file_name = |c: &LoadedCell| c.file.file_name().map_or_else(|| c.file.display().to_string(), |n| n.to_string_lossy().into_owned());
        let renames: [&dyn Fn(&LoadedCell, usize) -> String; 3] = [
            &|c, i| format!("{}@{}", original[i], file_name(c)),
            &|c, i| format!("{}@{}", original[i], c.file.display()),
            &|c, i| format!("{}@{}#{}", original[i], c.file.display(), i + 1),
        ];
        for rename in renames {
            let clash = shared(&self.cells);
            if !clash.contains(&true) {
                break;
            }
            for (i, c) in self.cells.iter_mut().enumerate() {
                if clash[i] {
                    c.cell.meta.cell_id = rename(c, i);
                }
            }
        }
        for (c, before) in self.cells.iter().zip(&original) {
            if c.cell.meta.cell_id != *before {
                tracing::warn!("{}: cell {before} also comes from another file; it is named {} here", c.file.display(), c.cell.meta.cell_id);
            }
        }
    }
}

/// How [`load_path`] reads a user's files.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Forces the format of every file (otherwise each is detected from its content).
    pub format: Option<Format>,
    /// Renames per-cycle CSV columns.
    pub map: user_csv::ColumnMap,
    /// The cells' nominal capacity in Ah, their SOH reference: it replaces whatever the files
    /// state (or the first full cycles' median where they state none), so a user's SOH means
    /// capacity over nominal, as the corpus's does.
    pub nominal_capacity_ah: Option<f64>,
}

/// Reads a file or a folder of files into cleaned cells, as `opts` says.
pub fn load_path(path: &Path, opts: &LoadOptions) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    if !path.is_dir() {
        let (format, cells) = match read_one(path, opts)? {
            OneFile::Cells(format, cells) => (format, cells),
            OneFile::Companion(e) => return Err(e),
        };
        loaded.files.push(FileReport { path: path.to_path_buf(), outcome: FileOutcome::Read { format, cells: cells.len() } });
        loaded.cells = cells;
        return Ok(loaded);
    }
    for file in files_under(path)? {
        let outcome = match read_one(&file, opts) {
            Ok(OneFile::Cells(format, cells)) => {
                let n = cells.len();
                loaded.cells.extend(cells);
                FileOutcome::Read { format, cells: n }
            }
            Ok(OneFile::Companion(e)) => FileOutcome::Companion(e.to_string()),
            Err(e) => FileOutcome::Skipped(e.to_string()),
        };
        loaded.files.push(FileReport { path: file, outcome });
    }
    if loaded.cells.is_empty() {
        let why: Vec<String> = loaded
            .files
            .iter()
            .filter_map(|f| match &f.outcome {
                FileOutcome::Skipped(why) | FileOutcome::Companion(why) => Some(format!("  {}: {why}", f.path.display())),
                FileOutcome::Read { .. } => None,
            })
            .collect();
        let msg = if why.is_empty() { "the folder holds no files".to_string() } else { format!("no file gave a cell:\n{}", why.join("\n")) };
        return Err(ImportError::new(path, ErrorKind::Malformed(msg)));
    }
    loaded.name_apart();
    Ok(loaded)
}

/// One file: its format and cells, or a companion file that holds no data (why, as an error
/// for when it was named on its own).
enum OneFile {
    Cells(Format, Vec<LoadedCell>),
    Companion(ImportError),
}

fn read_one(path: &Path, opts: &LoadOptions) -> Result<OneFile> {
    let detected = match opts.format {
        Some(f) => Detection::Data(f),
        None => cyclers::detect(path)?,
    };
    let format = match detected {
        Detection::Data(f) => f,
        Detection::Companion(what) => return Ok(OneFile::Companion(ImportError::malformed(path, format!("{what}; nothing to import")))),
        Detection::Unknown => {
            return Err(ImportError::malformed(
                path,
                "format not recognised (not a known cycler export, per-cycle CSV or BatteryLife pickle); name it with --format",
            ))
        }
    };
    Ok(OneFile::Cells(format, load_file(path, format, opts)?))
}

/// Reads one file as `format` into cleaned cells.
fn load_file(path: &Path, format: Format, opts: &LoadOptions) -> Result<Vec<LoadedCell>> {
    let nominal = opts.nominal_capacity_ah;
    let cells = match format {
        Format::UserCsv => plain(path, format, user_csv::import_file(path, &opts.map)?, nominal)?,
        Format::BatteryLife => plain(path, format, batterylife::import_file(path)?, nominal)?,
        cycler => from_cycler(path, cycler, nominal)?,
    };
    cells.iter().for_each(warn_if_reference_looks_wrong);
    Ok(cells)
}

/// SOH above this reads as a wrong reference capacity rather than a cell that holds more than
/// its rating: the corpus's highest is 1.32 (NASA_PCoE), every other dataset's at most 1.12.
pub const SUSPICIOUS_SOH: f64 = 1.5;

/// The cell's highest-SOH cycle when that SOH is above [`SUSPICIOUS_SOH`]: its reference capacity
/// is then most likely not the cell's nominal (a wrong unit, another cell's rating), and every
/// forecast of it would be off by the same factor.
pub fn suspicious_peak(cell: &Cell) -> Option<&Cycle> {
    cell.cycles.iter().max_by(|a, b| a.soh.total_cmp(&b.soh)).filter(|top| top.soh > SUSPICIOUS_SOH)
}

/// Warns, naming the file, the cell and the cycle, when [`suspicious_peak`] finds one.
fn warn_if_reference_looks_wrong(c: &LoadedCell) {
    if let Some(top) = suspicious_peak(&c.cell) {
        let m = &c.cell.meta;
        let reference = m.reference_capacity_ah.map(|r| format!("{r} Ah ({})", m.reference_rule)).unwrap_or_else(|| m.reference_rule.clone());
        tracing::warn!(
            "{}, cell {}: SOH reaches {:.2} at cycle {} against a reference of {reference}; if that is not the cell's nominal capacity, give it with --nominal-capacity",
            c.file.display(),
            m.cell_id,
            top.soh,
            top.cycle
        );
    }
}

/// A raw cell with the user's nominal capacity, where one was given.
fn with_nominal(mut raw: RawCell, nominal_capacity_ah: Option<f64>) -> RawCell {
    if nominal_capacity_ah.is_some() {
        raw.meta.nominal_capacity_ah = nominal_capacity_ah;
    }
    raw
}

/// Cleans raw cells that carry no per-cycle summary.
fn plain(path: &Path, format: Format, raw: Vec<RawCell>, nominal_capacity_ah: Option<f64>) -> Result<Vec<LoadedCell>> {
    raw.into_iter()
        .map(|r| {
            let (cell, stats) = clean(with_nominal(r, nominal_capacity_ah), CleanOptions::STRICT)?;
            Ok(LoadedCell { file: path.to_path_buf(), format, cell, stats, summaries: Vec::new() })
        })
        .collect()
}

/// Segments a cycler file and cleans each cell, keeping each kept cycle's summary beside it.
fn from_cycler(path: &Path, format: Format, nominal_capacity_ah: Option<f64>) -> Result<Vec<LoadedCell>> {
    let tables = cyclers::read_cycles(path, format)?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for table in &tables {
        let raw = match summary::to_raw_cell(path, format.name(), table) {
            Ok(r) => r,
            Err(e) => {
                // A rest-only channel beside real ones is left out (warned below); alone, it is the error.
                errors.push(e);
                continue;
            }
        };
        let (cell, stats) = clean(with_nominal(raw, nominal_capacity_ah), CleanOptions::CYCLER_EXPORT)?;
        let summaries = cell
            .cycles
            .iter()
            .map(|c| table.cycles.iter().find(|s| s.cycle == c.cycle).cloned().expect("every kept cycle comes from the table"))
            .collect();
        out.push(LoadedCell { file: path.to_path_buf(), format, cell, stats, summaries });
    }
    if out.is_empty() {
        return Err(errors.into_iter().next().unwrap_or_else(|| ImportError::new(path, ErrorKind::NoCycles)));
    }
    for e in errors {
        tracing::warn!("{e}");
    }
    Ok(out)
}

/// Files under `dir`, recursively, sorted; hidden files (`.name`) are left out.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| ImportError::io(&d, e))? {
            let p = entry.map_err(|e| ImportError::io(&d, e))?.path();
            if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}
