//! Arbin Excel export: an info sheet (`Info`, `Global_Info`) and one or more `Channel_*` sheets
//! holding the same columns as the Arbin CSV. Long tests are split over several channel sheets,
//! which are read in workbook order and concatenated.

use std::path::Path;

use std::fs::File;
use std::io::{BufReader, Read};
use std::panic::AssertUnwindSafe;

use calamine::{open_workbook, Data, Reader, Sheets, Xls, Xlsx};

use super::series;
use super::table::{Record, TextTable};
use super::{arbin_csv, cell_id_of, Parsed};
use crate::error::{ImportError, Result};

pub fn parse(path: &Path) -> Result<Parsed> {
    // calamine can panic (an arithmetic overflow) on a corrupt sheet; that is this file's
    // error, not a reason to stop the program.
    let table = std::panic::catch_unwind(AssertUnwindSafe(|| channel_table(path))).unwrap_or_else(|panic| {
        let why = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
        Err(ImportError::malformed(path, format!("the workbook is corrupt (the Excel reader failed: {})", why.unwrap_or_default())))
    })?;
    let series = series::build(&table, &arbin_csv::mapping(&table)?, &cell_id_of(path))?;
    Ok(Parsed::Series(series))
}

/// The channel sheets' rows, as one table.
fn channel_table(path: &Path) -> Result<TextTable> {
    let mut book = open(path)?;
    let mut table: Option<TextTable> = None;
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| ImportError::malformed(path, format!("sheet `{name}`: {e}")))?;
        let mut rows = range.rows();
        let Some(header) = rows.next() else { continue };
        let headers: Vec<String> = header.iter().map(|c| text(c).trim().to_string()).collect();
        if !arbin_csv::is_header(&headers) {
            continue;
        }
        let t = table.get_or_insert_with(|| TextTable {
            file: path.to_path_buf(),
            preamble: Vec::new(),
            headers: headers.clone(),
            records: Vec::new(),
        });
        if t.headers != headers {
            return Err(ImportError::malformed(path, format!("sheet `{name}` has other columns than the first channel sheet")));
        }
        // Rows are located as "row N of the sheet" (header = 1); sheets follow one another.
        for (i, row) in rows.enumerate() {
            let fields: Vec<String> = row.iter().map(text).collect();
            if fields.iter().all(|f| f.is_empty()) {
                continue;
            }
            t.records.push(Record { line: i + 2, fields });
        }
    }
    table.ok_or_else(|| ImportError::malformed(path, "no Arbin channel sheet (a sheet with Cycle_Index, Test_Time and Voltage columns)"))
}

/// Opens the workbook by its content: a zip is `.xlsx`, an OLE2 compound file is `.xls`.
fn open(path: &Path) -> Result<Sheets<BufReader<File>>> {
    let mut magic = [0u8; 4];
    File::open(path).and_then(|mut f| f.read_exact(&mut magic)).map_err(|e| ImportError::io(path, e))?;
    let bad = |e: String| ImportError::malformed(path, format!("not a readable workbook: {e}"));
    if magic == [0xD0, 0xCF, 0x11, 0xE0] {
        open_workbook::<Xls<_>, _>(path).map(Sheets::Xls).map_err(|e| bad(e.to_string()))
    } else {
        open_workbook::<Xlsx<_>, _>(path).map(Sheets::Xlsx).map_err(|e| bad(e.to_string()))
    }
}

/// A cell as text; floats print in their shortest round-trip form, so no precision is lost.
fn text(c: &Data) -> String {
    match c {
        Data::Empty => String::new(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::String(s) => s.trim().to_string(),
        Data::DateTime(d) => d.as_f64().to_string(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}
