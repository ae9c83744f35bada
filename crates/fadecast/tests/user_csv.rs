//! Good user CSV files import correctly: columns, units, renames, gzip and cell order.
//! (Bad ones are in `bad_input.rs`.)

use std::io::Write;
use std::path::{Path, PathBuf};

use fadecast::import::user_csv::{import_file, load_file, ColumnMap};
use fadecast::Descriptor;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn write_gz(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&p).unwrap(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
    p
}

#[test]
fn interleaved_cells_come_out_in_order_of_first_appearance_with_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "two.csv",
        "cell_id,cycle,capacity_ah,nominal_ah\nB7,1,2.00,2.0\nA1,1,1.10,1.1\nB7,2,1.98,2.0\nA1,2,1.09,\nA1,3,1.08,1.1\n",
    );
    let cells = import_file(&p, &ColumnMap::default()).unwrap();
    let ids: Vec<&str> = cells.iter().map(|c| c.meta.cell_id.as_str()).collect();
    assert_eq!(ids, ["B7", "A1"]);
    assert!(cells.iter().all(|c| c.meta.dataset == "user" && c.file == p));
    let a1 = &cells[1];
    assert_eq!(a1.meta.nominal_capacity_ah, Some(1.1));
    // Header = line 1, so A1's rows are lines 3, 5 and 6.
    assert_eq!(a1.rows.iter().map(|r| r.row).collect::<Vec<_>>(), [3, 5, 6]);
    assert_eq!(a1.rows.iter().map(|r| r.cycle).collect::<Vec<_>>(), [1.0, 2.0, 3.0]);
    assert_eq!(a1.rows[2].capacity_ah, Some(1.08));

    let loaded = load_file(&p, &ColumnMap::default()).unwrap();
    let (b7, _) = &loaded[0];
    assert_eq!(b7.meta.reference_rule, "nominal");
    assert!((b7.cycles[1].soh - 0.99).abs() < 1e-12);
}

#[test]
fn descriptor_columns_and_temperature_are_read_and_blanks_are_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "desc.csv",
        "cell_id,cycle,capacity_ah,temperature_c,charge_time_s,coulombic_efficiency,operator\n\
         c,1,1.0,24,3600,0.998,ann\n\
         c,2,0.99,26,,0.999,bob\n\
         c,3,0.98,30,3550,,ann\n",
    );
    let cells = import_file(&p, &ColumnMap::default()).unwrap();
    let rows = &cells[0].rows;
    let d = |r: usize, x: Descriptor| rows[r].descriptors[x.index()];
    assert_eq!(d(0, Descriptor::ChargeTimeS), Some(3600.0));
    assert_eq!(d(1, Descriptor::ChargeTimeS), None);
    assert_eq!(d(2, Descriptor::CoulombicEfficiency), None);
    assert_eq!(d(1, Descriptor::TemperatureC), Some(26.0));
    assert_eq!(d(0, Descriptor::ResistanceOhm), None);
    // The cell's temperature is the median of its rows.
    assert_eq!(cells[0].meta.temperature_c, Some(26.0));

    // Without a nominal capacity, SOH is relative to the first capacities.
    let (cell, _) = load_file(&p, &ColumnMap::default()).unwrap().remove(0);
    assert_eq!(cell.meta.reference_rule, "initial");
    assert_eq!(cell.meta.reference_capacity_ah, Some(0.99));
}

#[test]
fn map_renames_the_users_columns() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "tester.csv",
        "Battery,Cycle_Index,Discharge_Capacity(Ah),Charge_Time(s)\nX,10,1.5,4000\nX,20,1.4,4100\n",
    );
    let map = ColumnMap::from_flags([
        "cell_id=Battery",
        "cycle=Cycle_Index",
        "capacity_ah=Discharge_Capacity(Ah)",
        "charge_time_s=Charge_Time(s)",
    ])
    .unwrap();
    let cells = import_file(&p, &map).unwrap();
    assert_eq!(cells[0].meta.cell_id, "X");
    assert_eq!(
        cells[0].rows.iter().map(|r| (r.cycle, r.capacity_ah)).collect::<Vec<_>>(),
        [(10.0, Some(1.5)), (20.0, Some(1.4))]
    );
    assert_eq!(cells[0].rows[1].descriptors[Descriptor::ChargeTimeS.index()], Some(4100.0));
    // The same file without the map lacks the canonical columns.
    assert!(import_file(&p, &ColumnMap::default()).is_err());
}

#[test]
fn milliamp_hours_are_converted_to_amp_hours() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "mah.csv", "cell_id,cycle,capacity_mah,nominal_mah\nm,1,2500,2600\nm,2,2490,2600\n");
    let cells = import_file(&p, &ColumnMap::default()).unwrap();
    assert_eq!(cells[0].rows[0].capacity_ah, Some(2.5));
    assert_eq!(cells[0].meta.nominal_capacity_ah, Some(2.6));

    // A renamed mAh column converts too.
    let p = write(dir.path(), "mah2.csv", "cell_id,cycle,Q [mAh]\nm,1,1200\n");
    let map = ColumnMap::from_flags(["capacity_mah=Q [mAh]"]).unwrap();
    assert_eq!(import_file(&p, &map).unwrap()[0].rows[0].capacity_ah, Some(1.2));
}

#[test]
fn gzip_files_and_spreadsheet_quirks_are_read_transparently() {
    let dir = tempfile::tempdir().unwrap();
    // A byte-order mark, CRLF line ends, mixed-case headers and padded fields.
    let text = "\u{feff}Cell_ID,Cycle,Capacity_Ah\r\nz, 1 , 1.00\r\nz,2,0.99\r\n";
    let plain = import_file(&write(dir.path(), "q.csv", text), &ColumnMap::default()).unwrap();
    let gz = import_file(&write_gz(dir.path(), "q.csv.gz", text), &ColumnMap::default()).unwrap();
    assert_eq!(plain[0].rows, gz[0].rows);
    assert_eq!(gz[0].meta.cell_id, "z");
    assert_eq!(gz[0].rows[0].cycle, 1.0);
    assert_eq!(gz[0].rows.len(), 2);
}
