//! A user's own capacity data as a plain CSV (optionally gzip), one row per cycle:
//!
//! ```text
//! cell_id,cycle,capacity_ah[,nominal_ah][,temperature_c][,<descriptor columns>...]
//! A1,1,1.071,1.1,25
//! A1,2,1.069,1.1,25
//! ```
//!
//! * Capacity may be given in mAh instead (`capacity_mah`, likewise `nominal_mah`); any other
//!   unit suffix (`capacity_wh`, `temperature_k`, ...) is rejected rather than silently misread.
//! * Descriptor columns are named as in [`DESCRIPTORS`]; all are optional, and a blank field
//!   means "not measured". `temperature_c` is both a descriptor (per cycle) and, as the cell's
//!   median, its [`CellMeta::temperature_c`].
//! * Columns with other names can be renamed with a [`ColumnMap`] (`--map capacity_ah=Discharge_Ah`).
//!   Unknown columns are ignored.
//! * Rows of several cells may be interleaved; cells come out in order of first appearance.
//!
//! This module only reads. [`load_file`] then runs [`clean`] with [`CleanOptions::STRICT`], so
//! duplicate or unsorted cycles, NaN or negative capacities are errors naming file, cell and row.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::clean::{clean, median, CleanOptions, CleanStats};
use super::read::Table;
use super::{RawCell, RawCycle};
use crate::data::{Cell, CellMeta, Descriptor, DESCRIPTORS, N_DESCRIPTORS};
use crate::error::{ErrorKind, ImportError, Result};

/// `dataset` of every cell read from a user file.
pub const DATASET: &str = "user";

/// The per-cell and per-row columns this importer understands (besides [`DESCRIPTORS`]).
const BASE_COLUMNS: [&str; 6] = ["cell_id", "cycle", "capacity_ah", "capacity_mah", "nominal_ah", "nominal_mah"];

/// Quantities whose column name carries a unit suffix, and the units accepted for each with
/// their factor to the canonical unit (Ah). Used to reject e.g. `capacity_wh` clearly.
const UNIT_COLUMNS: [(&str, &[(&str, f64)]); 2] =
    [("capacity", &[("ah", 1.0), ("mah", 1e-3)]), ("nominal", &[("ah", 1.0), ("mah", 1e-3)])];

/// I/O errors that arise while reading a file's content (not while opening it).
const READ_ERRORS: [std::io::ErrorKind; 3] =
    [std::io::ErrorKind::UnexpectedEof, std::io::ErrorKind::InvalidData, std::io::ErrorKind::InvalidInput];

/// Renames the user's columns onto the canonical ones: canonical name → the user's header.
///
/// Serialises as a plain map, e.g. `{"capacity_ah": "Discharge_Ah", "cycle": "Cycle_Index"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ColumnMap {
    renames: BTreeMap<String, String>,
}

impl ColumnMap {
    /// Every canonical column name a map may target.
    pub fn canonical_columns() -> impl Iterator<Item = &'static str> {
        BASE_COLUMNS.iter().copied().chain(DESCRIPTORS.iter().copied())
    }

    /// Parses one `--map canonical=theirs` flag, e.g. `capacity_ah=Discharge_Ah`.
    /// The error is a sentence for the command line.
    pub fn parse_flag(flag: &str) -> std::result::Result<(String, String), String> {
        let Some((canonical, theirs)) = flag.split_once('=') else {
            return Err(format!("--map expects canonical=theirs (e.g. capacity_ah=Discharge_Ah), got `{flag}`"));
        };
        let (canonical, theirs) = (canonical.trim(), theirs.trim());
        if theirs.is_empty() {
            return Err(format!("--map `{flag}`: the column name after `=` is empty"));
        }
        if !Self::canonical_columns().any(|c| c == canonical) {
            // A swapped flag (theirs=canonical) is the likely mistake: say so.
            let hint = if Self::canonical_columns().any(|c| c == theirs) {
                format!(" (did you mean `{theirs}={canonical}`?)")
            } else {
                String::new()
            };
            return Err(format!(
                "--map `{flag}`: `{canonical}` is not a fadecast column{hint}; expected one of: {}",
                Self::canonical_columns().collect::<Vec<_>>().join(", ")
            ));
        }
        Ok((canonical.to_string(), theirs.to_string()))
    }

    /// Builds a map from repeated `--map` flags; the same canonical column twice is an error.
    pub fn from_flags<'a>(flags: impl IntoIterator<Item = &'a str>) -> std::result::Result<Self, String> {
        let mut map = Self::default();
        for flag in flags {
            let (canonical, theirs) = Self::parse_flag(flag)?;
            map.insert(canonical, theirs)?;
        }
        Ok(map)
    }

    /// Adds one rename; errors if `canonical` is unknown or already mapped.
    pub fn insert(
        &mut self,
        canonical: impl Into<String>,
        theirs: impl Into<String>,
    ) -> std::result::Result<(), String> {
        let (canonical, theirs) = (canonical.into(), theirs.into());
        if !Self::canonical_columns().any(|c| c == canonical) {
            return Err(format!("`{canonical}` is not a fadecast column"));
        }
        if let Some(prev) = self.renames.get(&canonical) {
            return Err(format!("`{canonical}` is mapped twice (to `{prev}` and to `{theirs}`)"));
        }
        self.renames.insert(canonical, theirs);
        Ok(())
    }

    /// The user's header for a canonical column, if renamed.
    pub fn get(&self, canonical: &str) -> Option<&str> {
        self.renames.get(canonical).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.renames.is_empty()
    }
}

/// Where each canonical column sits in one file.
struct Columns {
    cell_id: usize,
    cycle: usize,
    /// Capacity column and its factor to Ah.
    capacity: (usize, f64),
    nominal: Option<(usize, f64)>,
    descriptors: [Option<usize>; N_DESCRIPTORS],
}

impl Columns {
    fn locate(table: &Table, map: &ColumnMap) -> Result<Self> {
        let file = table.file();
        // A mapped column must exist: the user asked for it by name.
        let find = |canonical: &str| -> Result<Option<usize>> {
            match map.get(canonical) {
                Some(theirs) => table.col(theirs).map(Some).map_err(|e| e.row(1)),
                None => Ok(table.find(canonical)),
            }
        };
        let required = |canonical: &str| -> Result<usize> {
            find(canonical)?.ok_or_else(|| ImportError::new(file, ErrorKind::MissingColumn(canonical.into())).row(1))
        };
        let in_unit = |quantity: &str| -> Result<Option<(usize, f64)>> {
            let units = UNIT_COLUMNS.iter().find(|(q, _)| *q == quantity).map(|(_, u)| *u).unwrap_or(&[]);
            let mut found = Vec::new();
            for (unit, factor) in units {
                if let Some(i) = find(&format!("{quantity}_{unit}"))? {
                    found.push((i, *factor));
                }
            }
            match found.as_slice() {
                [] => unknown_unit(table, map, quantity, units).map(|()| None),
                [one] => Ok(Some(*one)),
                _ => Err(ImportError::malformed(
                    file,
                    format!(
                        "{quantity} is given in more than one unit ({}): keep one column",
                        header_list(table, &found)
                    ),
                )
                .row(1)),
            }
        };

        let capacity = in_unit("capacity")?.ok_or_else(|| {
            // Spliced into "missing required column `…`" so that both accepted names show.
            ImportError::new(file, ErrorKind::MissingColumn("capacity_ah` or `capacity_mah".into())).row(1)
        })?;
        let mut descriptors = [None; N_DESCRIPTORS];
        for (i, name) in DESCRIPTORS.iter().enumerate() {
            descriptors[i] = find(name)?;
        }
        if descriptors[Descriptor::TemperatureC.index()].is_none() {
            // Only °C is read; a `temperature_k` or `temperature_f` must not vanish silently.
            unknown_unit(table, map, "temperature", &[("c", 1.0)])?;
        }
        Ok(Self {
            cell_id: required("cell_id")?,
            cycle: required("cycle")?,
            capacity,
            nominal: in_unit("nominal")?,
            descriptors,
        })
    }
}

/// Errors if the header has `<quantity>_<suffix>` with a suffix we do not know: reading the
/// file without it would silently drop (or, for capacity, misplace) the user's data.
fn unknown_unit(table: &Table, map: &ColumnMap, quantity: &str, units: &[(&str, f64)]) -> Result<()> {
    let prefix = format!("{quantity}_");
    for h in table.headers() {
        let lower = h.to_ascii_lowercase();
        let mapped = map.renames.values().any(|v| v.eq_ignore_ascii_case(h));
        if let Some(unit) = lower.strip_prefix(&prefix) {
            if !mapped && !units.iter().any(|(u, _)| *u == unit) {
                let accepted: Vec<String> = units.iter().map(|(u, _)| format!("`{prefix}{u}`")).collect();
                return Err(ImportError::new(
                    table.file(),
                    ErrorKind::UnknownUnit {
                        unit: h[prefix.len()..].to_string(),
                        column: h.clone(),
                        accepted: accepted.join(" or "),
                    },
                )
                .row(1));
            }
        }
    }
    Ok(())
}

fn header_list(table: &Table, cols: &[(usize, f64)]) -> String {
    cols.iter().map(|(i, _)| format!("`{}`", table.headers()[*i])).collect::<Vec<_>>().join(", ")
}

/// Reads a user CSV into raw cells (in order of first appearance), without validating values:
/// that is [`clean`]'s job. Errors name the file, the cell (once known) and the line.
pub fn import_file(path: &Path, map: &ColumnMap) -> Result<Vec<RawCell>> {
    // A read error in the header (a gzip cut short, say) is located at line 1; a file that
    // cannot be opened at all has no line.
    let mut table = Table::open(path).map_err(|e| match &e.kind {
        ErrorKind::Io(io) if e.row.is_none() && READ_ERRORS.contains(&io.kind()) => e.row(1),
        _ => e,
    })?;
    let cols = Columns::locate(&table, map)?;

    let mut cells: Vec<RawCell> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    // Per cell: the row that set its nominal capacity, and all its temperatures.
    let mut nominal_row: Vec<usize> = Vec::new();
    let mut temperatures: Vec<Vec<f64>> = Vec::new();
    let mut last_line = 1;

    while let Some(row) = table.next_row() {
        // A stream error (e.g. truncated gzip) carries no line: it is just after the last good one.
        let row = row.map_err(|e| if e.row.is_none() { e.row(last_line + 1) } else { e })?;
        last_line = row.line;
        let id = row.str(cols.cell_id).to_string();
        if id.is_empty() {
            return Err(row.error(ErrorKind::Malformed("`cell_id` is empty".into())));
        }
        let in_cell = |e: ImportError| e.cell(id.clone());
        row.no_extra_fields().map_err(in_cell)?;

        let cycle = row.req(cols.cycle).map_err(in_cell)?;
        let capacity_ah = row.num(cols.capacity.0).map_err(in_cell)?.map(|v| v * cols.capacity.1);
        let mut raw = RawCycle::new(row.line, cycle, capacity_ah);
        for (d, col) in raw.descriptors.iter_mut().zip(cols.descriptors) {
            *d = row.opt(col).map_err(in_cell)?;
        }
        let nominal = match cols.nominal {
            Some((c, factor)) => row.num(c).map_err(in_cell)?.map(|v| v * factor),
            None => None,
        };

        let k = *index.entry(id.clone()).or_insert_with(|| {
            let meta = CellMeta {
                dataset: DATASET.into(),
                cell_id: id.clone(),
                source: Some(path.display().to_string()),
                ..Default::default()
            };
            cells.push(RawCell::new(meta, path));
            nominal_row.push(0);
            temperatures.push(Vec::new());
            cells.len() - 1
        });
        let cell = &mut cells[k];
        if let Some(n) = nominal {
            if !(n.is_finite() && n > 0.0) {
                return Err(in_cell(
                    row.error(ErrorKind::Malformed(format!("nominal capacity {n} Ah is not a positive number"))),
                ));
            }
            match cell.meta.nominal_capacity_ah {
                None => {
                    cell.meta.nominal_capacity_ah = Some(n);
                    nominal_row[k] = row.line;
                }
                Some(prev) if prev != n => {
                    return Err(in_cell(row.error(ErrorKind::Malformed(format!(
                        "nominal capacity {n} Ah differs from {prev} Ah given at row {}",
                        nominal_row[k]
                    )))));
                }
                Some(_) => {}
            }
        }
        if let Some(t) = raw.descriptors[Descriptor::TemperatureC.index()] {
            temperatures[k].push(t);
        }
        cell.rows.push(raw);
    }

    if cells.is_empty() {
        return Err(ImportError::new(path, ErrorKind::NoCycles).row(last_line));
    }
    if !ends_with_line_break(path) {
        // A number cut short ("1.9" saved as "1.") still parses: say where to look.
        tracing::warn!("{}, row {last_line}: the file does not end with a line break, so its last row may be cut short; check it", path.display());
    }
    for (cell, mut temps) in cells.iter_mut().zip(temperatures) {
        if !temps.is_empty() {
            cell.meta.temperature_c = Some(median(&mut temps));
        }
    }
    Ok(cells)
}

/// Whether a plain-text file's last byte is a line break (a gzip file checks its own length,
/// and one that cannot be read again here was already read whole: both count as ending well).
fn ends_with_line_break(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz")) {
        return true;
    }
    let mut last = [0u8];
    std::fs::File::open(path)
        .and_then(|mut f| f.seek(SeekFrom::End(-1)).and_then(|_| f.read_exact(&mut last)))
        .map_or(true, |_| last[0] == b'\n' || last[0] == b'\r')
}

/// [`import_file`], then [`clean`] with [`CleanOptions::STRICT`] on every cell.
pub fn load_file(path: &Path, map: &ColumnMap) -> Result<Vec<(Cell, CleanStats)>> {
    import_file(path, map)?.into_iter().map(|raw| clean(raw, CleanOptions::STRICT)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_flag_accepts_canonical_equals_theirs() {
        assert_eq!(
            ColumnMap::parse_flag("capacity_ah=Discharge_Ah").unwrap(),
            ("capacity_ah".to_string(), "Discharge_Ah".to_string())
        );
        assert_eq!(ColumnMap::parse_flag(" cycle = Cycle Index ").unwrap().1, "Cycle Index");
    }

    #[test]
    fn parse_flag_rejects_bad_flags_with_a_reason() {
        let e = ColumnMap::parse_flag("capacity_ah").unwrap_err();
        assert!(e.contains("canonical=theirs"), "{e}");
        let e = ColumnMap::parse_flag("capacity_ah=").unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = ColumnMap::parse_flag("Discharge_Ah=capacity_ah").unwrap_err();
        assert!(e.contains("did you mean `capacity_ah=Discharge_Ah`"), "{e}");
        let e = ColumnMap::parse_flag("capacity=Q").unwrap_err();
        assert!(e.contains("not a fadecast column") && !e.contains("did you mean"), "{e}");
    }

    #[test]
    fn from_flags_rejects_a_column_mapped_twice() {
        let e = ColumnMap::from_flags(["cycle=a", "cycle=b"]).unwrap_err();
        assert!(e.contains("mapped twice"), "{e}");
        let m = ColumnMap::from_flags(["cycle=a", "charge_time_s=t"]).unwrap();
        assert_eq!(m.get("charge_time_s"), Some("t"));
    }

    #[test]
    fn column_map_serialises_as_a_plain_map() {
        let m = ColumnMap::from_flags(["capacity_ah=Q"]).unwrap();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"capacity_ah":"Q"}"#);
        assert_eq!(serde_json::from_str::<ColumnMap>(&json).unwrap(), m);
    }
}
