//! Helpers the dataset importers share for long tables: grouping rows into cells, per-cell
//! metadata tables looked up by cell id, and plausibility windows for descriptors.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use super::read::{Row, Table};
use super::RawCell;
use crate::data::CellMeta;
use crate::error::{ErrorKind, ImportError, Result};

/// The cell named in column `col` of `row`; an empty name is an error at that row.
pub fn cell_id(row: &Row<'_>, col: usize) -> Result<String> {
    match row.str(col) {
        "" => Err(row.error(ErrorKind::Malformed("the cell id is empty".into()))),
        id => Ok(id.to_string()),
    }
}

/// Runs `f` for the cell `id`, naming the cell in any error it returns (the row errors from
/// [`Row`] name only the file and the line).
pub fn in_cell<T>(id: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    f().map_err(|e| e.cell(id))
}

/// Groups the rows of a long table (one row per check-up, a column naming the cell) into
/// cells, in the order each cell first appears. Shared by the check-up importers.
#[derive(Default)]
pub struct ByCell {
    index: HashMap<String, usize>,
    cells: Vec<RawCell>,
}

impl ByCell {
    /// The cell named `id`, made with `make` the first time the name is seen.
    pub fn get(
        &mut self,
        id: &str,
        make: impl FnOnce() -> Result<RawCell>,
    ) -> Result<&mut RawCell> {
        let i = match self.index.get(id) {
            Some(&i) => i,
            None => {
                self.cells.push(make()?);
                self.index.insert(id.to_string(), self.cells.len() - 1);
                self.cells.len() - 1
            }
        };
        Ok(&mut self.cells[i])
    }

    /// The cell named `id`, made from its entry in `metas` (read from `meta_file`) the first time
    /// the name is seen; a cell missing from `metas` is an error at `row`.
    pub fn get_known(
        &mut self,
        row: &Row<'_>,
        id: &str,
        metas: &HashMap<String, CellMeta>,
        meta_file: &str,
    ) -> Result<&mut RawCell> {
        self.get(id, || match metas.get(id) {
            Some(meta) => Ok(RawCell::new(meta.clone(), row.file())),
            None => Err(row.error(ErrorKind::Malformed(format!("cell `{id}` is not in {meta_file}"))).cell(id)),
        })
    }

    pub fn into_cells(self) -> Vec<RawCell> {
        self.cells
    }
}

/// Reads a table of one row per cell, the cell named in column `c_cell`, into one [`CellMeta`]
/// per cell, made by `meta` from the row and the cell's id (its errors name the cell). A cell
/// listed twice is an error at its second row.
pub fn metas_by_cell(
    table: &mut Table,
    c_cell: usize,
    mut meta: impl FnMut(&Row<'_>, &str) -> Result<CellMeta>,
) -> Result<HashMap<String, CellMeta>> {
    let mut out = HashMap::new();
    while let Some(row) = table.next_row() {
        let row = row?;
        let id = cell_id(&row, c_cell)?;
        let m = in_cell(&id, || meta(&row, &id))?;
        if out.insert(id.clone(), m).is_some() {
            return Err(row.error(ErrorKind::Malformed(format!("cell `{id}` is listed twice"))).cell(&id));
        }
    }
    Ok(out)
}

/// Reads a long table (one row per check-up, the cell named in column `c_cell`) into the cells
/// of `metas` (read from `meta_file`), in the order each first appears: `add` turns each row
/// into the cell's rows (its errors name the cell). A cell missing from `metas` is an error at
/// its first row.
pub fn cells_by_row(
    table: &mut Table,
    c_cell: usize,
    metas: &HashMap<String, CellMeta>,
    meta_file: &str,
    mut add: impl FnMut(&Row<'_>, &mut RawCell) -> Result<()>,
) -> Result<Vec<RawCell>> {
    let mut cells = ByCell::default();
    while let Some(row) = table.next_row() {
        let row = row?;
        let id = cell_id(&row, c_cell)?;
        let cell = cells.get_known(&row, &id, metas, meta_file)?;
        in_cell(&id, || add(&row, cell))?;
    }
    Ok(cells.into_cells())
}

/// Coulombic efficiency of a complete cycle. Outside this window the value belongs to a cycle
/// after a partial charge, a check-up or a corrupted integral, not to steady cycling, so the
/// descriptor is left unavailable (the capacity row itself is kept).
pub const CE_RANGE: RangeInclusive<f64> = 0.8..=1.2;

/// `v` if it lies in `range`: descriptors outside their physical range are unavailable.
pub fn within(v: Option<f64>, range: &RangeInclusive<f64>) -> Option<f64> {
    v.filter(|x| range.contains(x))
}

/// A small per-cell metadata CSV (one row per cell), looked up by cell id; errors name the file,
/// the cell and the row.
pub struct MetaTable {
    file: PathBuf,
    headers: Vec<String>,
    /// cell id → (line, fields)
    rows: HashMap<String, (usize, Vec<String>)>,
}

impl MetaTable {
    pub fn read(path: &Path, key: &str) -> Result<Self> {
        let mut table = Table::open(path)?;
        let c_key = table.col(key)?;
        let headers = table.headers().to_vec();
        let mut rows = HashMap::new();
        while let Some(row) = table.next_row() {
            let row = row?;
            let id = cell_id(&row, c_key)?;
            let fields = (0..headers.len()).map(|c| row.str(c).to_string()).collect();
            if let Some((first, _)) = rows.insert(id.clone(), (row.line, fields)) {
                return Err(row
                    .error(ErrorKind::Malformed(format!("cell `{id}` is listed twice (first at row {first})")))
                    .cell(id));
            }
        }
        Ok(Self { file: path.to_path_buf(), headers, rows })
    }

    /// The trimmed text of `column` for cell `id`; `None` when empty.
    pub fn text(&self, id: &str, column: &str) -> Result<Option<&str>> {
        let (_, fields) = self.row(id)?;
        let c = self.column(column)?;
        Ok(fields.get(c).map(String::as_str).filter(|s| !s.is_empty()))
    }

    /// A numeric field of cell `id`; `None` when empty.
    pub fn num(&self, id: &str, column: &str) -> Result<Option<f64>> {
        let Some(s) = self.text(id, column)? else { return Ok(None) };
        s.parse().map(Some).map_err(|_| {
            ImportError::new(&self.file, ErrorKind::NotNumeric { column: column.into(), value: s.into() })
                .cell(id)
                .row(self.rows[id].0)
        })
    }

    fn row(&self, id: &str) -> Result<&(usize, Vec<String>)> {
        self.rows
            .get(id)
            .ok_or_else(|| ImportError::malformed(&self.file, format!("no metadata row for cell `{id}`")).cell(id))
    }

    fn column(&self, name: &str) -> Result<usize> {
        self.headers
            .iter()
            .position(|h| h == name)
            .or_else(|| self.headers.iter().position(|h| h.eq_ignore_ascii_case(name)))
            .ok_or_else(|| ImportError::new(&self.file, ErrorKind::MissingColumn(name.into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_masks_values_outside_the_range() {
        assert_eq!(within(Some(0.99), &CE_RANGE), Some(0.99));
        assert_eq!(within(Some(9.4), &CE_RANGE), None);
        assert_eq!(within(None, &CE_RANGE), None);
    }
}
