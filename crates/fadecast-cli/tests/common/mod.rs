//! Synthetic data shared by the CLI tests (the real corpus is too slow for CI).
#![allow(dead_code)]

use std::path::Path;

use fadecast::corpus::store::{cell_batch, cycle_batch, write_parquet, CELLS_FILE, CYCLES_FILE};
use fadecast::data::{Cell, CellMeta, Cycle, N_DESCRIPTORS};

pub fn cell(dataset: &str, id: &str, n: usize, rate: f64) -> Cell {
    Cell {
        meta: CellMeta { dataset: dataset.into(), cell_id: id.into(), reference_rule: "nominal".into(), ..Default::default() },
        cycles: (1..=n)
            .map(|i| {
                let c = i as f64;
                let soh = 1.0 - rate * c - 0.0005 * ((i * 37) % 7) as f64;
                Cycle { cycle: c, capacity_ah: Some(soh), soh, descriptors: [None; N_DESCRIPTORS] }
            })
            .collect(),
    }
}

/// Two seen datasets and one unseen (Oxford), written as a corpus folder.
pub fn write_corpus(dir: &Path) {
    let mut cells = Vec::new();
    for i in 0..12 {
        cells.push(cell("MATR", &format!("m{i:02}"), 200, 0.0008 + 0.00002 * i as f64));
    }
    for i in 0..6 {
        cells.push(cell("CALCE", &format!("c{i}"), 150, 0.0015));
    }
    for i in 0..3 {
        cells.push(cell("Oxford", &format!("o{i}"), 120, 0.002));
    }
    write_parquet(&dir.join(CELLS_FILE), &cell_batch(&cells, None).unwrap()).unwrap();
    write_parquet(&dir.join(CYCLES_FILE), &cycle_batch(&cells).unwrap()).unwrap();
}


/// A plain per-cycle CSV with two cells fading at different rates.
pub fn write_user_csv(path: &Path, cycles: usize) {
    let mut text = String::from("cell_id,cycle,capacity_ah\n");
    for c in 1..=cycles {
        text += &format!("A,{c},{:.5}\nB,{c},{:.5}\n", 2.0 - 0.002 * c as f64, 2.0 - 0.003 * c as f64);
    }
    std::fs::write(path, text).unwrap();
}

pub fn fadecast() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("fadecast").unwrap()
}

/// Runs `fadecast ARGS`, failing the test with its stderr unless it succeeds.
pub fn run_ok(args: &[&str]) -> std::process::Output {
    let out = fadecast().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}
