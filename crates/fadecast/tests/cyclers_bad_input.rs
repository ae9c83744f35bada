//! Bad cycler exports: a capacity in a unit that is not charge, NaN / negative / missing
//! capacities, a counter no current explains, CRLF row numbers, a stray quote and a broken gzip
//! each end in an error that names the file (and, where the problem sits in a row, the cell and
//! the row), never a silently wrong result. Small synthetic exports, written into a temporary
//! folder.

use std::io::Write;
use std::path::PathBuf;

use fadecast::error::{ErrorKind, ImportError};
use fadecast::import::cyclers::{self, Format};

struct Case {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn file(name: &str, bytes: impl AsRef<[u8]>) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    Case { _dir: dir, path }
}

fn import_err(case: &Case, format: Format) -> ImportError {
    match cyclers::import_file(&case.path, format) {
        Ok(cells) => panic!("{} imported {} cells; expected an error", case.path.display(), cells.len()),
        Err(e) => e,
    }
}

/// Discharge capacities (Ah) of every cycle that measured one.
fn capacities(case: &Case, format: Format) -> Vec<f64> {
    let cells = cyclers::import_file(&case.path, format).unwrap_or_else(|e| panic!("{e}"));
    cells[0].rows.iter().map(|r| r.capacity_ah.unwrap()).collect()
}

const ARBIN_HEADER: &str =
    "Data_Point,Test_Time(s),Step_Index,Cycle_Index,Current(A),Voltage(V),Charge_Capacity(Ah),Discharge_Capacity(Ah)";

/// Two cycles of an Arbin CSV (charge then discharge, counters reset per cycle); line 1 is the
/// header, so the data row `i` (0-based) is on line `i + 2`. `edit(line, fields)` may change
/// a row's fields.
fn arbin(header: &str, eol: &str, edit: impl Fn(usize, &mut Vec<String>)) -> String {
    let mut out = format!("{header}{eol}");
    let mut point = 0;
    for cycle in 1..=2 {
        for (step, current, n) in [(1, 1.0, 4), (2, -1.0, 4)] {
            for k in 1..=n {
                point += 1;
                let q = 0.25 * k as f64;
                let (chg, dchg) = if current > 0.0 { (q, 0.0) } else { (1.0, q) };
                let mut f: Vec<String> = [
                    point.to_string(),
                    (900.0 * point as f64).to_string(),
                    step.to_string(),
                    cycle.to_string(),
                    current.to_string(),
                    (3.6 + 0.1 * current * k as f64 / 4.0).to_string(),
                    chg.to_string(),
                    dchg.to_string(),
                ]
                .into();
                edit(point + 1, &mut f);
                out += &f.join(",");
                out += eol;
            }
        }
    }
    out
}

fn assert_located(e: &ImportError, case: &Case, cell: &str, row: usize) {
    assert_eq!(e.file, case.path, "{e}");
    assert_eq!(e.cell.as_deref(), Some(cell), "{e}");
    assert_eq!(e.row, Some(row), "{e}");
}

#[test]
fn the_synthetic_arbin_export_reads_two_cycles_of_one_ah() {
    let case = file("good.csv", arbin(ARBIN_HEADER, "\n", |_, _| {}));
    assert_eq!(capacities(&case, Format::ArbinCsv), vec![1.0, 1.0]);
}

// 1. Units.

#[test]
fn a_capacity_column_in_kwh_is_an_unknown_unit_error_naming_file_and_column() {
    let header = ARBIN_HEADER.replace("Discharge_Capacity(Ah)", "Discharge_Capacity[kWh]");
    let case = file("kwh.csv", arbin(&header, "\n", |_, _| {}));
    let e = import_err(&case, Format::ArbinCsv);
    assert_eq!(e.file, case.path);
    match &e.kind {
        ErrorKind::UnknownUnit { unit, column, .. } => {
            assert_eq!(unit, "kWh");
            assert_eq!(column, "Discharge_Capacity[kWh]");
        }
        other => panic!("expected an unknown unit, got {other}"),
    }
}

#[test]
fn a_bdf_capacity_column_in_wh_is_an_unknown_unit_error() {
    let mut text = String::from("Test Time / h,Current / A,Voltage / V,Cycle Count / 1,Charge Capacity / Ah,Discharge Capacity / Wh\n");
    for (i, (cur, chg, dchg)) in [(1.0, 0.5, 0.0), (1.0, 1.0, 0.0), (-1.0, 1.0, 0.5), (-1.0, 1.0, 1.0)].iter().enumerate() {
        text += &format!("{},{cur},3.7,1,{chg},{dchg}\n", i as f64 * 0.5);
    }
    let case = file("wh.bdf.csv", text);
    let e = import_err(&case, Format::Bdf);
    assert!(matches!(&e.kind, ErrorKind::UnknownUnit { unit, column, .. } if unit == "Wh" && column == "Discharge Capacity / Wh"), "{e}");
}

#[test]
fn charge_units_other_than_ah_are_scaled_and_names_without_a_unit_read_as_ah() {
    let mah = ARBIN_HEADER.replace("Discharge_Capacity(Ah)", "Discharge_Capacity(mAh)");
    let case = file("mah.csv", arbin(&mah, "\n", |_, _| {}));
    assert_eq!(capacities(&case, Format::ArbinCsv), vec![1e-3, 1e-3]);
    let bare = ARBIN_HEADER.replace("Discharge_Capacity(Ah)", "Discharge_Capacity");
    let case = file("bare.csv", arbin(&bare, "\n", |_, _| {}));
    assert_eq!(capacities(&case, Format::ArbinCsv), vec![1.0, 1.0]);
}

// 2. NaN, infinite, negative and missing values.

#[test]
fn a_nan_capacity_in_a_cycler_export_is_an_error_naming_file_cell_and_row() {
    let case = file("nan.csv", arbin(ARBIN_HEADER, "\n", |line, f| if line == 14 { f[7] = "NaN".into() }));
    let e = import_err(&case, Format::ArbinCsv);
    assert_located(&e, &case, "nan", 14);
    assert!(matches!(&e.kind, ErrorKind::NotFinite(c) if c.contains("Discharge_Capacity(Ah)")), "{e}");
}

#[test]
fn a_negative_capacity_in_a_cycler_export_is_an_error_naming_file_cell_and_row() {
    let case = file("neg.csv", arbin(ARBIN_HEADER, "\n", |line, f| if line == 7 { f[7] = "-5.0".into() }));
    let e = import_err(&case, Format::ArbinCsv);
    assert_located(&e, &case, "neg", 7);
    assert!(matches!(&e.kind, ErrorKind::Negative { value, .. } if *value == -5.0), "{e}");
}

#[test]
fn an_infinite_current_in_a_cycler_export_is_an_error_naming_file_cell_and_row() {
    let case = file("inf.csv", arbin(ARBIN_HEADER, "\n", |line, f| if line == 5 { f[4] = "inf".into() }));
    let e = import_err(&case, Format::ArbinCsv);
    assert_located(&e, &case, "inf", 5);
    assert!(matches!(&e.kind, ErrorKind::NotFinite(c) if c.contains("Current(A)")), "{e}");
}

#[test]
fn a_capacity_cell_empty_where_other_rows_have_one_is_an_error_at_that_row() {
    let case = file("gap.csv", arbin(ARBIN_HEADER, "\n", |line, f| if line == 15 { f[7].clear() }));
    let e = import_err(&case, Format::ArbinCsv);
    assert_located(&e, &case, "gap", 15);
    assert!(e.to_string().contains("`Discharge_Capacity(Ah)` is empty"), "{e}");
}

#[test]
fn a_discharge_counter_the_current_cannot_explain_is_an_error_at_its_row() {
    // A corrupted record: 3909 Ah in a cycle whose current carried 2 Ah.
    let case = file("corrupt.csv", arbin(ARBIN_HEADER, "\n", |line, f| if line == 16 { f[7] = "3909.37".into() }));
    let e = import_err(&case, Format::ArbinCsv);
    assert_located(&e, &case, "corrupt", 16);
    assert!(e.to_string().contains("the discharge capacity counter reads 3.9094e3 Ah in cycle 2"), "{e}");
}

#[test]
fn a_discharge_counter_carried_in_from_before_the_file_is_kept() {
    // A file that starts mid-test: cycle 2's counter starts at 8 Ah, over four times the charge
    // its current carried, as in a real Maccor export (5x); only a far larger gap is corruption.
    let case = file("carried.csv", arbin(ARBIN_HEADER, "\n", |line, f| {
        if (14..=17).contains(&line) {
            f[7] = (f[7].parse::<f64>().unwrap() + 8.0).to_string();
        }
    }));
    assert_eq!(capacities(&case, Format::ArbinCsv), vec![1.0, 9.0]);
}

#[test]
fn a_capacity_column_empty_in_every_row_is_integrated_from_the_current() {
    let case = file("blank.csv", arbin(ARBIN_HEADER, "\n", |_, f| f[7].clear()));
    // Discharge: 4 samples at 1 A, 900 s apart; the first counts from the charge's last sample.
    let q = capacities(&case, Format::ArbinCsv);
    assert_eq!(q.len(), 2);
    assert!(q.iter().all(|q| (q - 1.0).abs() < 1e-9), "{q:?}");
}

#[test]
fn a_nan_capacity_in_a_neware_export_is_an_error_naming_file_cell_and_row() {
    let mut text = String::from("DataPoint,Cycle Index,Step Index,Step Type,Time,Total Time,Current(A),Voltage(V),Chg. Cap.(Ah),DChg. Cap.(Ah)\n");
    let rows = [("CC Chg", 1.0, "0.5", "0"), ("CC Chg", 1.0, "1.0", "0"), ("CC DChg", -1.0, "0", "0.5"), ("CC DChg", -1.0, "0", "nan")];
    for (i, (kind, cur, chg, dchg)) in rows.iter().enumerate() {
        text += &format!("{},1,1,{kind},00:00:{i:02},00:00:{i:02},{cur},3.7,{chg},{dchg}\n", i + 1);
    }
    let case = file("nw.csv", text);
    let e = import_err(&case, Format::NewareCsv);
    assert_located(&e, &case, "nw", 5);
    assert!(matches!(&e.kind, ErrorKind::NotFinite(c) if c.contains("DChg. Cap.(Ah)")), "{e}");
}

const ARCHIVE_HEADER: &str = "Cycle_Index,Test_Time (s),Charge_Capacity (Ah),Discharge_Capacity (Ah)";

fn archive(bad: &str) -> String {
    let mut text = format!("{ARCHIVE_HEADER}\n");
    for c in 1..=6 {
        let q = if c == 4 { bad.to_string() } else { format!("{:.3}", 1.3 - 0.001 * c as f64) };
        text += &format!("{c}.0,{},1.3,{q}\n", 3600 * c);
    }
    text
}

#[test]
fn a_nan_or_negative_capacity_in_a_per_cycle_export_is_an_error_naming_file_cell_and_row() {
    for bad in ["NaN", "-5.0", "inf"] {
        let case = file("CELL_cycle_data.csv", archive(bad));
        let e = import_err(&case, Format::BatteryArchive);
        assert_located(&e, &case, "CELL", 5);
        assert!(matches!(e.kind, ErrorKind::NotFinite(_) | ErrorKind::Negative { .. }), "{bad}: {e}");
    }
    let case = file("CELL_cycle_data.csv", archive(""));
    let e = import_err(&case, Format::BatteryArchive);
    assert_located(&e, &case, "CELL", 5);
    assert!(e.to_string().contains("is empty"), "{e}");
}

// 3. Row numbers in CRLF files.

#[test]
fn row_numbers_in_crlf_cycler_exports_are_the_file_lines() {
    for eol in ["\n", "\r\n"] {
        let case = file("crlf.csv", arbin(ARBIN_HEADER, eol, |line, f| if line == 12 { f[7] = "x1.0".into() }));
        let e = import_err(&case, Format::ArbinCsv);
        assert_eq!(e.row, Some(12), "{eol:?}: {e}");
    }
    // Maccor: tab-separated, a title line above the header.
    let mut text = String::from("Today's Date 01/01/2020\tProcedure: p.000\r\nRec#\tCyc#\tStep\tTest (Sec)\tAmp-hr\tAmps\tVolts\tState\r\n");
    for i in 1..=6 {
        let (state, amps) = if i <= 3 { ("C", "1.0") } else { ("D", "1.0") };
        let amp_hr = if i == 5 { "oops".to_string() } else { format!("{}", 0.1 * i as f64) };
        text += &format!("{i}\t1\t1\t{}\t{amp_hr}\t{amps}\t3.7\t{state}\r\n", 10 * i);
    }
    let case = file("m.001", text);
    let e = import_err(&case, Format::Maccor);
    // Header on line 2, record i on line i + 2.
    assert_eq!(e.row, Some(7), "{e}");
}

// 4. A stray quote.

#[test]
fn a_stray_quote_in_a_cycler_export_is_an_error_naming_the_row_where_it_starts() {
    let mut text = archive("1.296");
    text = text.replacen("3.0,10800,", "3.0,\"10800,", 1);
    let case = file("quote_cycle_data.csv", text);
    let e = import_err(&case, Format::BatteryArchive);
    assert_eq!(e.file, case.path);
    assert_eq!(e.row, Some(4), "{e}");
    assert!(e.to_string().contains("quote"), "{e}");
}

// 5. A broken gzip.

#[test]
fn a_garbage_gzip_is_reported_as_not_valid_gzip_not_as_empty() {
    let mut bytes = vec![0x1f, 0x8b, 0x08, 0x00];
    bytes.extend(std::iter::repeat_n(0xed, 300));
    let case = file("garbage.csv.gz", &bytes);
    for e in [cyclers::detect(&case.path).unwrap_err(), import_err(&case, Format::ArbinCsv)] {
        assert_eq!(e.file, case.path);
        assert!(!matches!(e.kind, ErrorKind::Empty), "{e}");
        assert!(e.to_string().contains("not a valid gzip file"), "{e}");
    }
}

#[test]
fn a_gzip_cut_short_is_reported_as_not_valid_gzip() {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(arbin(ARBIN_HEADER, "\n", |_, _| {}).as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    let case = file("cut.csv.gz", &gz[..gz.len() / 2]);
    let e = import_err(&case, Format::ArbinCsv);
    assert!(e.to_string().contains("not a valid gzip file"), "{e}");
}

#[test]
fn a_neware_export_with_a_discharge_capacity_in_wh_is_read_as_neware_and_its_unit_refused() {
    let text = "DataPoint,Cycle Index,Step Index,Step Type,Time,Total Time,Current(A),Voltage(V),Chg. Cap.(Ah),DChg. Cap.(Wh)\n\
                1,1,1,CC Chg,00:00:00,00:00:00,1.0,3.7,0.5,0\n\
                2,1,1,CC DChg,00:00:01,00:00:01,-1.0,3.6,0.5,0.5\n";
    let case = file("nw_wh.csv", text);
    assert_eq!(cyclers::detect(&case.path).unwrap(), cyclers::Detection::Data(Format::NewareCsv));
    let e = import_err(&case, Format::NewareCsv);
    assert!(matches!(&e.kind, ErrorKind::UnknownUnit { unit, .. } if unit == "Wh"), "{e}");
}

// 6. Files cut short.

#[test]
fn a_last_row_cut_short_is_left_out_and_a_whole_one_without_a_line_break_is_kept() {
    let whole = arbin(ARBIN_HEADER, "\n", |_, _| {});
    let case = file("whole.csv", whole.trim_end());
    assert_eq!(capacities(&case, Format::ArbinCsv), vec![1.0, 1.0]);
    // Cut inside the last row, after its current: that row (cycle 2's last point) is left out.
    let (head, last) = whole.trim_end().rsplit_once('\n').unwrap();
    let cut: Vec<&str> = last.split(',').take(5).collect();
    let case = file("cut.csv", format!("{head}\n{}", cut.join(",")));
    assert_eq!(capacities(&case, Format::ArbinCsv), vec![1.0, 0.75]);
}
