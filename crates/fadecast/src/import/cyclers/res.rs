//! Arbin `.res` reader: the file is an MS Access (Jet 4) database; we read its
//! `Channel_Normal_Table` with a minimal, read-only Jet 4 page reader.
//!
//! The Jet format is undocumented by Microsoft; this follows mdbtools (mdbtools/mdbtools,
//! `HACKING.md` for the page layouts, `src/libmdb/data.c` `mdb_find_row` / `mdb_read_row` and
//! `mdb_crack_row` for the row layout and flags), mdbtools' `mdb-export` being what FIXTURES.md's
//! reference numbers came from. Only what a `.res` needs is implemented:
//!
//! - **Pages** of 4096 bytes (Jet 4; byte 0x14 of page 0 is the version, 1 = Jet 4). Byte 0 of
//!   a page is its type: 1 data, 2 table definition (TDEF).
//! - **TDEF** (a chain of pages linked by the u32 at byte 4; continuation pages add their bytes
//!   from 8 on): number of variable columns u16 @43, columns u16 @45, real indexes u32 @51; at
//!   63 + 12·real indexes, one 25-byte entry per column (type @0, number @5, variable-column
//!   slot @7, flags @15 with 0x01 = fixed length, fixed offset @21, length @23); then the column
//!   names (u16 byte length + UCS-2 text).
//! - **Data pages**: owning TDEF page u32 @4, row count u16 @12, then one u16 offset per row
//!   (row *i* runs from its offset to row *i−1*'s, row 0 to the page end; flag 0x4000 =
//!   deleted, skipped as mdbtools does). We find a table's pages by their owner field rather
//!   than through its usage map: the same pages, with one less structure to trust.
//! - **Rows**: u16 column count, the fixed-length columns at their offsets (+2), the variable
//!   ones; at the end, the null mask (one bit per column number, 1 = present), before it the
//!   u16 count of variable columns and, before that, their offsets (reversed, plus one for the
//!   end of the data).
//! - The **catalog** (`MSysObjects`, TDEF at page 2) maps table names to TDEF pages
//!   (`Id & 0xFFFFFF` for rows of `Type` 1).
//!
//! What we return: one [`TimeSeries`] per `Test_ID`, sorted by `Data_Point`, from
//! `Test_Time`, `Current`, `Voltage`, `Cycle_Index`, `Step_Index` and the charge/discharge
//! capacity and energy counters (Arbin units are already s, A, V, Ah, Wh; current positive =
//! charge). Auxiliary temperatures live in another table (`Auxiliary_Table`) and are not read.
//! Jet 3 (2 KiB pages, Access 97) and ACE (`.accdb`) files are refused with a clear error.

use std::collections::BTreeMap;
use std::path::Path;

use super::nda::read_capped;
use super::{cell_id_of, TimeSeries};
use crate::error::{ErrorKind, ImportError, Result};

const PAGE: usize = 4096;
/// A TDEF spanning more pages than this is taken as a loop in corrupt links.
const MAX_TDEF_PAGES: usize = 64;

/// True when `head` is an MS Access / Jet database (what Arbin writes as `.res`).
pub fn sniff(head: &[u8]) -> bool {
    head.len() >= 19 && (&head[4..19] == b"Standard Jet DB" || &head[4..19] == b"Standard ACE DB")
}

/// Reads an Arbin `.res` file (plain or gzip-compressed).
pub fn parse(path: &Path) -> Result<Vec<TimeSeries>> {
    let data = read_capped(path)?;
    parse_bytes(path, &data)
}

/// Parses the bytes of a `.res` file; `path` only names the file in errors.
pub fn parse_bytes(path: &Path, data: &[u8]) -> Result<Vec<TimeSeries>> {
    if !sniff(data) {
        return Err(ImportError::malformed(path, "not an Arbin .res file (no `Standard Jet DB` signature)"));
    }
    match data.get(0x14) {
        Some(1) => {}
        Some(0) => return Err(ImportError::malformed(path, "Jet 3 (Access 97) databases are not supported; export CSV/XLSX from MITS Pro")),
        Some(v) => {
            return Err(ImportError::malformed(
                path,
                format!("Access database version {v} (ACE / .accdb) is not supported; export CSV/XLSX from MITS Pro"),
            ))
        }
        None => return Err(ImportError::malformed(path, "file ends inside the database header")),
    }
    let db = Db { path, data };
    let catalog = db.table_def(2)?;
    let mut table_page = None;
    db.for_each_row(2, &catalog, |_, row| {
        let name = catalog.text(row, "Name");
        let ty = catalog.num(row, "Type");
        if name.as_deref() == Some("Channel_Normal_Table") && ty.map(|t| (t as i64) & 0x7f) == Some(1) {
            table_page = catalog.num(row, "Id").map(|id| (id as i64 as u32) & 0x00ff_ffff);
        }
    })?;
    let table_page = table_page.ok_or_else(|| ImportError::malformed(path, "the database has no `Channel_Normal_Table`"))?;
    let td = db.table_def(table_page)?;
    for required in ["Data_Point", "Test_Time", "Current", "Voltage"] {
        if td.column(required).is_none() {
            return Err(ImportError::new(path, ErrorKind::MissingColumn(format!("Channel_Normal_Table.{required}"))));
        }
    }

    // Test_ID → rows (data point, values), in page order for now.
    let mut tests: BTreeMap<i64, Vec<Sample>> = BTreeMap::new();
    db.for_each_row(table_page, &td, |_, row| {
        let get = |name| td.num(row, name);
        let (Some(point), Some(t), Some(i), Some(v)) = (get("Data_Point"), get("Test_Time"), get("Current"), get("Voltage"))
        else {
            return; // a row without the essentials (null fields) carries nothing to keep
        };
        tests.entry(get("Test_ID").map_or(0, |x| x as i64)).or_default().push(Sample {
            point,
            time_s: t,
            current_a: i,
            voltage_v: v,
            cycle: get("Cycle_Index").map(|x| x as i64),
            step: get("Step_Index").map(|x| x as i64),
            charge_ah: get("Charge_Capacity"),
            discharge_ah: get("Discharge_Capacity"),
            charge_wh: get("Charge_Energy"),
            discharge_wh: get("Discharge_Energy"),
        });
    })?;
    if tests.is_empty() {
        return Err(ImportError::new(path, ErrorKind::Empty).cell("Channel_Normal_Table"));
    }
    let several = tests.len() > 1;
    Ok(tests
        .into_iter()
        .map(|(id, mut s)| {
            s.sort_by(|a, b| a.point.total_cmp(&b.point));
            let cell_id = if several { format!("{}_test{id}", cell_id_of(path)) } else { cell_id_of(path) };
            to_series(cell_id, &s)
        })
        .collect())
}

/// One row of `Channel_Normal_Table`.
struct Sample {
    point: f64,
    time_s: f64,
    current_a: f64,
    voltage_v: f64,
    cycle: Option<i64>,
    step: Option<i64>,
    charge_ah: Option<f64>,
    discharge_ah: Option<f64>,
    charge_wh: Option<f64>,
    discharge_wh: Option<f64>,
}

fn to_series(cell_id: String, s: &[Sample]) -> TimeSeries {
    // A column is kept when every row has it (a null anywhere would leave a gap).
    fn all<T: Copy>(s: &[Sample], f: impl Fn(&Sample) -> Option<T>) -> Option<Vec<T>> {
        s.iter().map(f).collect()
    }
    TimeSeries {
        cell_id,
        row: s.iter().map(|x| x.point.max(0.0) as usize).collect(),
        time_s: s.iter().map(|x| x.time_s).collect(),
        current_a: s.iter().map(|x| x.current_a).collect(),
        voltage_v: s.iter().map(|x| x.voltage_v).collect(),
        temperature_c: None,
        cycle: all(s, |x| x.cycle),
        step: all(s, |x| x.step),
        step_kind: None,
        charge_capacity_ah: all(s, |x| x.charge_ah),
        discharge_capacity_ah: all(s, |x| x.discharge_ah),
        charge_energy_wh: all(s, |x| x.charge_wh),
        discharge_energy_wh: all(s, |x| x.discharge_wh),
        nominal_capacity_ah: None,
        protocol: None,
    }
}

/// The database bytes, and the file name for errors.
struct Db<'a> {
    path: &'a Path,
    data: &'a [u8],
}

/// A column of a TDEF.
#[derive(Debug)]
struct Column {
    name: String,
    ty: u8,
    number: usize,
    var_slot: usize,
    fixed: bool,
    fixed_offset: usize,
    size: usize,
}

/// A table definition: its columns sorted by column number, as mdbtools orders them.
#[derive(Debug)]
struct TableDef {
    num_var_cols: usize,
    columns: Vec<Column>,
}

/// A cracked row: the bytes of each column (by position in `TableDef::columns`), `None` if null.
type Row<'p> = Vec<Option<&'p [u8]>>;

impl Db<'_> {
    fn err(&self, page: usize, msg: impl std::fmt::Display) -> ImportError {
        ImportError::malformed(self.path, format!("page {page} (byte {}): {msg}", page * PAGE))
    }

    fn page(&self, n: usize) -> Result<&[u8]> {
        self.data
            .get(n * PAGE..(n + 1) * PAGE)
            .ok_or_else(|| self.err(n, format!("beyond the end of the file ({} bytes; truncated?)", self.data.len())))
    }

    /// Reads the TDEF starting at `first`, following its continuation pages.
    fn table_def(&self, first: u32) -> Result<TableDef> {
        let first = first as usize;
        let p = self.page(first)?;
        if p[0] != 2 {
            return Err(self.err(first, format!("expected a table definition page, found page type {}", p[0])));
        }
        let mut buf = p.to_vec();
        let mut next = u32_at(p, 4) as usize;
        let mut hops = 0;
        while next != 0 {
            hops += 1;
            if hops > MAX_TDEF_PAGES {
                return Err(self.err(first, "table definition continues over too many pages (corrupt links?)"));
            }
            let q = self.page(next)?;
            if q[0] != 2 {
                return Err(self.err(next, format!("expected a table definition continuation, found page type {}", q[0])));
            }
            buf.extend_from_slice(&q[8..]);
            next = u32_at(q, 4) as usize;
        }
        let short = || self.err(first, "table definition is cut short");
        let num_var_cols = u16_at(&buf, 43) as usize;
        let num_cols = u16_at(&buf, 45) as usize;
        let num_real_idx = u32_at(&buf, 51) as usize;
        let col_start = num_real_idx.checked_mul(12).and_then(|x| x.checked_add(63)).ok_or_else(short)?;
        let names_start = num_cols.checked_mul(25).and_then(|x| x.checked_add(col_start)).ok_or_else(short)?;
        if names_start > buf.len() {
            return Err(short());
        }
        let mut columns = Vec::with_capacity(num_cols);
        let mut pos = names_start;
        for i in 0..num_cols {
            let e = &buf[col_start + i * 25..col_start + (i + 1) * 25];
            let len = buf.get(pos..pos + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize).ok_or_else(short)?;
            let name = buf.get(pos + 2..pos + 2 + len).ok_or_else(short)?;
            pos += 2 + len;
            columns.push(Column {
                name: decode_text(name),
                ty: e[0],
                number: u16_at(e, 5) as usize,
                var_slot: u16_at(e, 7) as usize,
                fixed: e[15] & 0x01 != 0,
                fixed_offset: u16_at(e, 21) as usize,
                size: u16_at(e, 23) as usize,
            });
        }
        columns.sort_by_key(|c| c.number);
        Ok(TableDef { num_var_cols, columns })
    }

    /// Calls `f(page, row)` for every live row of the table whose TDEF is at `tdef_page`.
    /// Bounded: every page of the file is visited once, every row slot of it once.
    fn for_each_row(&self, tdef_page: u32, td: &TableDef, mut f: impl FnMut(usize, &Row<'_>)) -> Result<()> {
        let pages = self.data.len() / PAGE;
        for n in 1..pages {
            let p = self.page(n)?;
            if p[0] != 1 || u32_at(p, 4) != tdef_page {
                continue;
            }
            let rows = u16_at(p, 12) as usize;
            if 14 + 2 * rows > PAGE {
                return Err(self.err(n, format!("data page claims {rows} rows, more than fit")));
            }
            for r in 0..rows {
                let raw = u16_at(p, 14 + 2 * r) as usize;
                if raw & 0x4000 != 0 {
                    continue; // deleted row
                }
                let start = raw & 0x1fff;
                let end = if r == 0 { PAGE } else { u16_at(p, 14 + 2 * (r - 1)) as usize & 0x1fff };
                if start >= end || end > PAGE {
                    continue; // mdbtools skips a row it cannot locate ("mdb_find_row failed")
                }
                if let Some(row) = td.crack(&p[start..end]) {
                    f(n, &row);
                }
            }
        }
        Ok(())
    }
}

impl TableDef {
    fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Splits a Jet 4 row into its columns (mdbtools `mdb_crack_row`); `None` when the row's
    /// own lengths do not fit in it (a lookup stub or a damaged row).
    fn crack<'p>(&self, row: &'p [u8]) -> Option<Row<'p>> {
        let e = row.len();
        let row_cols = u16::from_le_bytes([*row.first()?, *row.get(1)?]) as usize;
        let bm = row_cols.div_ceil(8);
        let null_mask = row.get(e.checked_sub(bm)?..)?;
        let mut row_var_cols = 0;
        let mut var_offsets = Vec::new();
        if self.num_var_cols > 0 {
            let at = e.checked_sub(bm + 2)?;
            row_var_cols = u16_at(row.get(at..at + 2)?, 0) as usize;
            if row_var_cols > row_cols {
                return None;
            }
            for i in 0..=row_var_cols {
                let at = e.checked_sub(bm + 4 + 2 * i)?;
                var_offsets.push(u16_at(row.get(at..at + 2)?, 0) as usize);
            }
        }
        let row_fixed_cols = row_cols - row_var_cols;
        let mut fixed_found = 0;
        let mut out = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let present = null_mask.get(c.number / 8).is_some_and(|b| b & (1 << (c.number % 8)) != 0);
            let value = if c.fixed && fixed_found < row_fixed_cols {
                fixed_found += 1;
                let s = c.fixed_offset + 2;
                row.get(s..s + c.size)
            } else if !c.fixed && c.var_slot < row_var_cols {
                let (s, t) = (var_offsets[c.var_slot], var_offsets[c.var_slot + 1]);
                row.get(s..t.max(s))
            } else {
                None
            };
            out.push(if present { value } else { None });
        }
        Some(out)
    }

    /// A numeric column of a cracked row as f64 (`None` if absent, null or not numeric).
    fn num(&self, row: &Row<'_>, name: &str) -> Option<f64> {
        let i = self.column(name)?;
        let b = row.get(i).copied().flatten()?;
        let v = match (self.columns[i].ty, b.len()) {
            (0x02, 1) => f64::from(b[0]),
            (0x03, 2) => f64::from(i16::from_le_bytes([b[0], b[1]])),
            (0x04, 4) => f64::from(i32::from_le_bytes(b.try_into().ok()?)),
            (0x05, 8) => i64::from_le_bytes(b.try_into().ok()?) as f64 / 10_000.0,
            (0x06, 4) => f64::from(f32::from_le_bytes(b.try_into().ok()?)),
            (0x07 | 0x08, 8) => f64::from_le_bytes(b.try_into().ok()?),
            _ => return None,
        };
        Some(v)
    }

    /// A text column of a cracked row.
    fn text(&self, row: &Row<'_>, name: &str) -> Option<String> {
        let i = self.column(name)?;
        let b = row.get(i).copied().flatten()?;
        (self.columns[i].ty == 0x0a).then(|| decode_text(b))
    }
}

/// Jet 4 text: UCS-2 little-endian, or "compressed" when it starts `ff fe` (then single bytes,
/// with a 0 byte toggling between one-byte and two-byte characters; mdbtools `mdb_unicode2ascii`).
fn decode_text(b: &[u8]) -> String {
    let mut units: Vec<u16> = Vec::with_capacity(b.len());
    if let Some(rest) = b.strip_prefix(&[0xff, 0xfe]) {
        let mut compressed = true;
        let mut i = 0;
        while i < rest.len() {
            if rest[i] == 0 {
                compressed = !compressed;
                i += 1;
            } else if compressed {
                units.push(u16::from(rest[i]));
                i += 1;
            } else if i + 1 < rest.len() {
                units.push(u16::from_le_bytes([rest[i], rest[i + 1]]));
                i += 2;
            } else {
                break;
            }
        }
    } else {
        units.extend(b.chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])));
    }
    String::from_utf16_lossy(&units)
}

// Little-endian readers for slices whose length the caller has checked (pages are PAGE bytes
// and TDEF offsets used here are below 63).
fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
