//! Bad user files, end to end through `user_csv::load_file`: every error names the file, the
//! cell (where the bad row has one) and the row, and nothing is silently repaired.

use std::io::Write;
use std::path::PathBuf;

use fadecast::error::{ErrorKind, ImportError};
use fadecast::import::user_csv::{load_file, ColumnMap};

struct Case {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn file(name: &str, text: &str) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    Case { _dir: dir, path }
}

fn load_err(case: &Case) -> ImportError {
    load_err_with(case, &ColumnMap::default())
}

fn load_err_with(case: &Case, map: &ColumnMap) -> ImportError {
    match load_file(&case.path, map) {
        Ok(cells) => panic!("{} loaded {} cells; expected an error", case.path.display(), cells.len()),
        Err(e) => e,
    }
}

/// The message names the file, the cell (if given) and the row (if given), in that order.
fn assert_located(e: &ImportError, case: &Case, cell: Option<&str>, row: Option<usize>) {
    let msg = e.to_string();
    let name = case.path.file_name().unwrap().to_str().unwrap();
    assert!(msg.starts_with(&case.path.display().to_string()) && msg.contains(name), "file not named: {msg}");
    assert_eq!(e.cell.as_deref(), cell, "{msg}");
    assert_eq!(e.row, row, "{msg}");
    if let Some(c) = cell {
        assert!(msg.contains(&format!(", cell {c}")), "{msg}");
    }
    if let Some(r) = row {
        assert!(msg.contains(&format!(", row {r}:")), "{msg}");
    }
}

const GOOD: &str = "cell_id,cycle,capacity_ah\nA,1,1.00\nA,2,0.99\nA,3,0.98\n";

#[test]
fn the_good_file_these_cases_break_loads() {
    let case = file("good.csv", GOOD);
    let cells = load_file(&case.path, &ColumnMap::default()).unwrap();
    assert_eq!(cells.len(), 1);
    assert_eq!(cells[0].0.cycles.len(), 3);
}

#[test]
fn truncated_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.csv.gz");
    // Enough rows that the cut falls in the data, not the header.
    let mut text = String::from("cell_id,cycle,capacity_ah\n");
    for i in 1..=2000 {
        text += &format!("A,{i},{:.6}\n", 1.0 - 1e-4 * i as f64 + 1e-3 * ((i * 7919) % 13) as f64);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let case = Case { _dir: dir, path };

    let e = load_err(&case);
    assert!(matches!(e.kind, ErrorKind::Io(_)), "{e}");
    // The stream ends mid-file: the error sits just after the last complete row.
    let row = e.row.expect("a row");
    assert!(row > 2 && row < 2001, "{e}");
    assert_located(&e, &case, None, Some(row));

    // Cut inside the gzip header: located at the header line.
    std::fs::write(&case.path, &bytes[..12]).unwrap();
    let e = load_err(&case);
    assert_located(&e, &case, None, Some(1));
}

#[test]
fn nan_capacity() {
    let case = file("nan.csv", "cell_id,cycle,capacity_ah\nA,1,1.00\nA,2,NaN\nA,3,0.98\n");
    let e = load_err(&case);
    assert!(matches!(e.kind, ErrorKind::NotFinite(_)), "{e}");
    assert_located(&e, &case, Some("A"), Some(3));
}

#[test]
fn negative_capacity() {
    let case = file("neg.csv", "cell_id,cycle,capacity_ah\nA,1,1.00\nA,2,0.99\nA,3,-0.98\n");
    let e = load_err(&case);
    assert!(matches!(e.kind, ErrorKind::Negative { .. }), "{e}");
    assert_located(&e, &case, Some("A"), Some(4));
}

#[test]
fn missing_capacity_value() {
    let case = file("gap.csv", "cell_id,cycle,capacity_ah\nA,1,1.00\nA,2,\n");
    let e = load_err(&case);
    assert!(e.to_string().contains("capacity is missing"), "{e}");
    assert_located(&e, &case, Some("A"), Some(3));
}

#[test]
fn a_decimal_comma_or_any_field_beyond_the_header_is_an_error_at_its_row() {
    let case = file("comma.csv", "cell_id,cycle,capacity_ah\nA,1,1.00\nA,2,0,99\nA,3,0.98\n");
    let e = load_err(&case);
    assert!(e.to_string().contains("4 fields where the header has 3 columns (a decimal comma"), "{e}");
    assert_located(&e, &case, Some("A"), Some(3));

    // An empty trailing field (a spreadsheet's trailing comma) shifts nothing and is read.
    let case = file("trailing.csv", "cell_id,cycle,capacity_ah\nA,1,1.00,\nA,2,0.99,\n");
    assert_eq!(load_file(&case.path, &ColumnMap::default()).unwrap()[0].0.cycles.len(), 2);
}

#[test]
fn a_capacity_or_cycle_beyond_any_cell_is_an_error_at_its_row() {
    let case = file("huge.csv", "cell_id,cycle,capacity_ah\nA,1,1.00\nA,2,1e300\nA,3,0.98\n");
    let e = load_err(&case);
    assert!(e.to_string().contains("capacity 1e300 Ah is beyond any cell's"), "{e}");
    assert_located(&e, &case, Some("A"), Some(3));

    let case = file("far.csv", "cell_id,cycle,capacity_ah\nA,1,1.00\nA,1e18,0.99\n");
    let e = load_err(&case);
    assert!(e.to_string().contains("cycle 1e18 is beyond any cell's life"), "{e}");
    assert_located(&e, &case, Some("A"), Some(3));
}

#[test]
fn duplicate_cycles() {
    // The duplicate is in the second cell, after other cells' rows: row numbers stay file lines.
    let case = file("dup.csv", "cell_id,cycle,capacity_ah\nA,1,1.0\nB,1,1.0\nA,2,0.99\nB,1,0.99\n");
    let e = load_err(&case);
    assert!(matches!(e.kind, ErrorKind::DuplicateCycle { cycle, first_row: 3 } if cycle == 1.0), "{e}");
    assert_located(&e, &case, Some("B"), Some(5));
}

#[test]
fn unsorted_cycles() {
    let case = file("unsorted.csv", "cell_id,cycle,capacity_ah\nA,1,1.0\nA,3,0.98\nA,2,0.99\n");
    let e = load_err(&case);
    assert!(matches!(e.kind, ErrorKind::UnsortedCycle { .. }), "{e}");
    assert_located(&e, &case, Some("A"), Some(4));
}

#[test]
fn non_numeric_fields() {
    // (A decimal comma spills into a field beyond the header: see the test above.)
    let case = file("text.csv", "cell_id,cycle,capacity_ah\nA,1,1.0\nA,2,0.99 Ah\n");
    let e = load_err(&case);
    assert!(
        matches!(&e.kind, ErrorKind::NotNumeric { column, value } if column == "capacity_ah" && value == "0.99 Ah"),
        "{e}"
    );
    assert_located(&e, &case, Some("A"), Some(3));

    let case = file("cycle.csv", "cell_id,cycle,capacity_ah\nA,one,1.0\n");
    let e = load_err(&case);
    assert!(matches!(&e.kind, ErrorKind::NotNumeric { column, .. } if column == "cycle"), "{e}");
    assert_located(&e, &case, Some("A"), Some(2));

    let case = file("desc.csv", "cell_id,cycle,capacity_ah,charge_time_s\nA,1,1.0,1h\n");
    let e = load_err(&case);
    assert!(matches!(&e.kind, ErrorKind::NotNumeric { column, .. } if column == "charge_time_s"), "{e}");
    assert_located(&e, &case, Some("A"), Some(2));
}

#[test]
fn missing_required_columns() {
    let case = file("nocap.csv", "cell_id,cycle,discharge\nA,1,1.0\n");
    let e = load_err(&case);
    assert!(matches!(e.kind, ErrorKind::MissingColumn(_)), "{e}");
    assert!(e.to_string().contains("`capacity_ah`") && e.to_string().contains("`capacity_mah`"), "{e}");
    assert_located(&e, &case, None, Some(1));

    let case = file("nocycle.csv", "cell_id,capacity_ah\nA,1.0\n");
    let e = load_err(&case);
    assert!(matches!(&e.kind, ErrorKind::MissingColumn(c) if c == "cycle"), "{e}");
    assert_located(&e, &case, None, Some(1));

    // A column the user mapped must exist too.
    let case = file("mapped.csv", GOOD);
    let map = ColumnMap::from_flags(["capacity_ah=Discharge_Ah"]).unwrap();
    let e = load_err_with(&case, &map);
    assert!(matches!(&e.kind, ErrorKind::MissingColumn(c) if c == "Discharge_Ah"), "{e}");
    assert_located(&e, &case, None, Some(1));
}

#[test]
fn unknown_capacity_unit() {
    let case = file("wh.csv", "cell_id,cycle,capacity_wh\nA,1,3.6\n");
    let e = load_err(&case);
    assert!(matches!(e.kind, ErrorKind::UnknownUnit { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("`wh`") && msg.contains("`capacity_wh`") && msg.contains("`capacity_mah`"), "{msg}");
    assert_located(&e, &case, None, Some(1));

    let case = file("kelvin.csv", "cell_id,cycle,capacity_ah,temperature_k\nA,1,1.0,298\n");
    let e = load_err(&case);
    assert!(e.to_string().contains("unknown unit `k` in column `temperature_k`: use `temperature_c`"), "{e}");
    assert_located(&e, &case, None, Some(1));

    // Both units at once is ambiguous, not a choice to make silently.
    let case = file("both.csv", "cell_id,cycle,capacity_ah,capacity_mah\nA,1,1.0,1000\n");
    let e = load_err(&case);
    assert!(e.to_string().contains("more than one unit"), "{e}");
    assert_located(&e, &case, None, Some(1));
}

#[test]
fn empty_file() {
    let case = file("empty.csv", "");
    let e = load_err(&case);
    assert!(matches!(e.kind, ErrorKind::Empty), "{e}");
    assert_located(&e, &case, None, None);
}

#[test]
fn header_only_file() {
    let case = file("header.csv", "cell_id,cycle,capacity_ah\n");
    let e = load_err(&case);
    assert!(matches!(e.kind, ErrorKind::NoCycles), "{e}");
    assert_located(&e, &case, None, Some(1));
}

#[test]
fn empty_cell_id() {
    let case = file("noid.csv", "cell_id,cycle,capacity_ah\nA,1,1.0\n,2,0.99\n");
    let e = load_err(&case);
    assert!(e.to_string().contains("`cell_id` is empty"), "{e}");
    assert_located(&e, &case, None, Some(3));
}

#[test]
fn conflicting_or_bad_nominal_capacity() {
    let case = file("nominal.csv", "cell_id,cycle,capacity_ah,nominal_ah\nA,1,1.0,1.1\nA,2,0.99,1.2\n");
    let e = load_err(&case);
    assert!(e.to_string().contains("differs from 1.1 Ah given at row 2"), "{e}");
    assert_located(&e, &case, Some("A"), Some(3));

    let case = file("nominal0.csv", "cell_id,cycle,capacity_ah,nominal_ah\nA,1,1.0,0\n");
    let e = load_err(&case);
    assert!(e.to_string().contains("not a positive number"), "{e}");
    assert_located(&e, &case, Some("A"), Some(2));
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let case = Case { path: dir.path().join("absent.csv"), _dir: dir };
    let e = load_err(&case);
    assert!(matches!(e.kind, ErrorKind::Io(_)), "{e}");
    assert_located(&e, &case, None, None);
}

#[test]
fn bad_map_flags_are_rejected_before_any_file_is_read() {
    assert!(ColumnMap::from_flags(["capacity_ah"]).is_err());
    assert!(ColumnMap::from_flags(["capacity=Q"]).is_err());
    assert!(ColumnMap::from_flags(["cycle=a", "cycle=b"]).is_err());
}
