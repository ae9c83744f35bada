//! The Parquet store round-trips cells exactly, and the corpus folder is replaced atomically.

use fadecast::corpus::build::write_dir_atomically;
use fadecast::corpus::store::{cell_batch, cycle_batch, read_corpus, write_parquet, CELLS_FILE, CYCLES_FILE};
use fadecast::data::{CycleAxis, Observation};
use fadecast::{Cell, CellMeta, Cycle, ImportError, N_DESCRIPTORS};

fn cell(dataset: &str, id: &str, n: usize) -> Cell {
    let meta = CellMeta {
        dataset: dataset.into(),
        cell_id: id.into(),
        chemistry: Some("LFP/graphite".into()),
        nominal_capacity_ah: Some(1.1),
        temperature_c: Some(30.0),
        dod: None,
        axis: CycleAxis::EquivalentFullCycles,
        observation: Observation::CheckUp,
        eol_cycle_label: Some(812.0),
        reference_capacity_ah: Some(1.1),
        reference_rule: "nominal".into(),
        ..Default::default()
    };
    let cycles = (0..n)
        .map(|i| {
            let mut descriptors = [None; N_DESCRIPTORS];
            descriptors[i % N_DESCRIPTORS] = Some(i as f64 * 0.5);
            Cycle { cycle: i as f64 + 1.0, capacity_ah: (i % 3 != 0).then_some(1.0 - i as f64 * 1e-3), soh: 0.99 - i as f64 * 1e-3, descriptors }
        })
        .collect();
    Cell { meta, cycles }
}

fn write(dir: &std::path::Path, cells: &[Cell]) {
    write_parquet(&dir.join(CELLS_FILE), &cell_batch(cells, None).unwrap()).unwrap();
    write_parquet(&dir.join(CYCLES_FILE), &cycle_batch(cells).unwrap()).unwrap();
}

#[test]
fn cells_round_trip_through_parquet_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let cells = vec![cell("A", "c1", 25), cell("A", "c2", 3), cell("B", "c1", 40)];
    write(dir.path(), &cells);
    assert_eq!(read_corpus(dir.path()).unwrap(), cells);
}

#[test]
fn descriptor_mask_marks_available_descriptors() {
    let c = cell("A", "c1", 12);
    assert_eq!(c.cycles[0].descriptor_mask(), 1);
    assert_eq!(c.cycles[11].descriptor_mask(), 1 << 1);
}

#[test]
fn a_failed_build_leaves_the_previous_corpus_untouched() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("corpus");
    write_dir_atomically(&out, |tmp| {
        write(tmp, &[cell("A", "c1", 5)]);
        Ok(())
    })
    .unwrap();
    let err = write_dir_atomically(&out, |tmp| {
        std::fs::write(tmp.join(CELLS_FILE), b"half").unwrap();
        Err(ImportError::malformed("x.csv", "boom"))
    });
    assert!(err.is_err());
    assert_eq!(read_corpus(&out).unwrap(), vec![cell("A", "c1", 5)]);
    let leftovers: Vec<_> = std::fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("corpus")], "temp folders are cleaned up");
}

#[test]
fn a_truncated_parquet_file_is_a_clear_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[cell("A", "c1", 5)]);
    let p = dir.path().join(CYCLES_FILE);
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let e = read_corpus(dir.path()).unwrap_err().to_string();
    assert!(e.contains(CYCLES_FILE), "{e}");
}
