//! The MATR, HUST, XJTU, TJU (PINN4SOH-derived) and CLO importers on the real data under
//! `shared/data/raw`: counts as PROVENANCE.md states them, clean() on every cell, capacities in
//! Ah, metadata and descriptors as documented.
//!
//! Each dataset is imported and cleaned once (cached) and shared by the tests.
//! Run with `--nocapture` to see the per-dataset figures.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use fadecast::data::{Cell, Descriptor};
use fadecast::import::read::Table;
use fadecast::import::{clean, dataset, CleanStats, RawCell};

const PINN4SOH: [&str; 4] = ["MATR", "HUST", "XJTU", "TJU"];
const ALL: [&str; 5] = ["MATR", "HUST", "XJTU", "TJU", "CLO"];

fn raw_dir(name: &str) -> PathBuf {
    fadecast::corpus::default_raw_dir().join(name)
}

fn slot(name: &str) -> usize {
    ALL.iter().position(|n| *n == name).unwrap_or_else(|| panic!("not one of this file's datasets: {name}"))
}

/// The dataset's raw cells, read once through the importer registered in `import::DATASETS`.
fn raw(name: &str) -> &'static [RawCell] {
    static CACHE: [OnceLock<Vec<RawCell>>; 5] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    CACHE[slot(name)].get_or_init(|| {
        let importer = dataset(name).unwrap_or_else(|| panic!("{name} is not in import::DATASETS"));
        assert_eq!(importer.name, name);
        (importer.import)(&raw_dir(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    })
}

/// The dataset's cells after `clean` with the registry's options; panics naming the first failure.
fn cleaned(name: &str) -> &'static [(Cell, CleanStats)] {
    static CACHE: [OnceLock<Vec<(Cell, CleanStats)>>; 5] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    CACHE[slot(name)].get_or_init(|| {
        let opts = dataset(name).expect("registered").clean;
        raw(name).iter().map(|c| clean(c.clone(), opts).unwrap_or_else(|e| panic!("{name}: {e}"))).collect()
    })
}

fn row_count(cells: &[RawCell]) -> usize {
    cells.iter().map(|c| c.rows.len()).sum()
}

/// (cells, rows) whose cell_id starts with `prefix`.
fn group(cells: &[RawCell], prefix: &str) -> (usize, usize) {
    let g: Vec<&RawCell> = cells.iter().filter(|c| c.meta.cell_id.starts_with(prefix)).collect();
    (g.len(), g.iter().map(|c| c.rows.len()).sum())
}

fn cell<'a>(cells: &'a [RawCell], id: &str) -> &'a RawCell {
    cells.iter().find(|c| c.meta.cell_id == id).unwrap_or_else(|| panic!("no cell {id}"))
}

/// cells.csv of a dataset as cell_id → column → text, read independently of the importers.
fn cells_csv(name: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let path = raw_dir(name).join("cells.csv");
    let mut t = Table::open(&path).unwrap();
    let headers = t.headers().to_vec();
    let id = t.col("cell_id").unwrap();
    let mut out = BTreeMap::new();
    while let Some(r) = t.next_row() {
        let r = r.unwrap();
        let fields = headers.iter().enumerate().map(|(i, h)| (h.clone(), r.str(i).to_string())).collect();
        out.insert(r.str(id).to_string(), fields);
    }
    out
}

fn num(fields: &BTreeMap<String, String>, col: &str) -> f64 {
    fields[col].parse().unwrap_or_else(|_| panic!("{col} = {:?}", fields[col]))
}

#[test]
fn matr_has_the_documented_cells_and_rows() {
    let cells = raw("MATR");
    assert_eq!((cells.len(), row_count(cells)), (125, 85_577));
    assert_eq!(group(cells, "MATR_2017-05-12_").0, 46);
    assert_eq!(group(cells, "MATR_2017-06-30_").0, 43);
    assert_eq!(group(cells, "MATR_2018-04-12_").0, 36);
    let lens: Vec<usize> = cells.iter().map(|c| c.rows.len()).collect();
    assert_eq!((lens.iter().min(), lens.iter().max()), (Some(&36), Some(&2_156)));
    assert_eq!(cell(cells, "MATR_2017-06-30_battery-11").rows.len(), 36, "PROVENANCE's shortest series");
}

#[test]
fn hust_has_the_documented_cells_and_rows() {
    let cells = raw("HUST");
    assert_eq!((cells.len(), row_count(cells)), (77, 144_366));
    let lens: Vec<usize> = cells.iter().map(|c| c.rows.len()).collect();
    assert_eq!((lens.iter().min(), lens.iter().max()), (Some(&1_123), Some(&2_672)));
}

#[test]
fn xjtu_has_the_documented_cells_and_rows_per_batch() {
    let cells = raw("XJTU");
    assert_eq!((cells.len(), row_count(cells)), (55, 23_297));
    for (batch, expected) in [
        ("2C", (8, 3_120)),
        ("3C", (15, 3_487)),
        ("R2.5", (8, 4_434)),
        ("R3", (8, 4_575)),
        ("RW", (8, 1_535)),
        ("Sim_satellite", (8, 6_146)),
    ] {
        assert_eq!(group(cells, &format!("XJTU_{batch}_")), expected, "batch {batch}");
    }
}

#[test]
fn tju_has_the_documented_cells_and_rows_per_subset() {
    let cells = raw("TJU");
    assert_eq!((cells.len(), row_count(cells)), (130, 57_465));
    assert_eq!(group(cells, "TJU_1_").0, 66);
    assert_eq!(group(cells, "TJU_2_").0, 55);
    assert_eq!(group(cells, "TJU_3_").0, 9);
    let lens: Vec<usize> = cells.iter().map(|c| c.rows.len()).collect();
    assert_eq!((lens.iter().min(), lens.iter().max()), (Some(&28), Some(&1_246)));
}

#[test]
fn clo_has_the_documented_cells_and_unpadded_cycles() {
    let cells = raw("CLO");
    assert_eq!((cells.len(), row_count(cells)), (45, 35_313));
    let lens: Vec<usize> = cells.iter().map(|c| c.rows.len()).collect();
    assert_eq!((lens.iter().min(), lens.iter().max()), (Some(&453), Some(&1_176)));
    // Qn.csv line 18 (row index 17) is the one line with no zero padding.
    let full: Vec<usize> = cells.iter().filter(|c| c.rows.len() == 1_176).map(|c| c.rows[0].row).collect();
    assert_eq!(full, vec![18]);
    assert!(cells.iter().flat_map(|c| &c.rows).all(|r| r.capacity_ah.is_some_and(|q| q > 0.0)), "padding read as data");
}

#[test]
fn every_cell_cleans_strictly_and_few_rows_are_outliers() {
    let mut total = (0, 0, 0);
    for name in ALL {
        let raw = raw(name);
        let cleaned = cleaned(name);
        let read: usize = cleaned.iter().map(|(_, s)| s.rows_read).sum();
        let kept: usize = cleaned.iter().map(|(_, s)| s.rows_kept).sum();
        let outliers: usize = cleaned.iter().map(|(_, s)| s.outliers_removed).sum();
        let dropped: usize = cleaned.iter().flat_map(|(_, s)| s.dropped_by_importer.values()).sum();
        eprintln!(
            "{name:5} cells {:4}  rows read {read:7}  kept {kept:7}  outliers removed {outliers:3} ({:.3} %)  dropped by importer {dropped}",
            cleaned.len(),
            100.0 * outliers as f64 / read as f64
        );
        assert_eq!(cleaned.len(), raw.len());
        assert_eq!(read, row_count(raw), "{name}: every row read is accounted for");
        assert_eq!(dropped, 0, "{name}: no source caveat calls for dropping rows");
        assert_eq!(kept + outliers, read, "{name}");
        assert!(outliers * 100 <= read, "{name}: the outlier filter removed {outliers} of {read} rows (> 1 %)");
        assert!(cleaned.iter().all(|(c, _)| c.meta.reference_rule == "nominal"), "{name}: SOH relative to nominal");
        total = (total.0 + cleaned.len(), total.1 + read, total.2 + kept);
    }
    eprintln!("total cells {}  rows read {}  kept {}", total.0, total.1, total.2);
}

/// A summary of a capacity series, as cells.csv computed one.
type Stat = fn(&[f64]) -> f64;

/// Capacities are in Ah: every first/last/max/min capacity equals what cells.csv computed from
/// the same files (so rows are neither reordered nor rescaled), and the whole series lies within
/// a plausible band around the nominal capacity (a normalised or mAh column would not).
#[test]
fn capacities_are_in_ah_and_agree_with_cells_csv() {
    for name in ALL {
        let csv = cells_csv(name);
        let cols: &[(&str, Stat)] = &[
            ("capacity_first_Ah", |q| q[0]),
            ("capacity_last_Ah", |q| q[q.len() - 1]),
            ("capacity_max_Ah", |q| q.iter().copied().fold(f64::MIN, f64::max)),
            ("capacity_min_Ah", |q| q.iter().copied().fold(f64::MAX, f64::min)),
        ];
        for c in raw(name) {
            let fields = &csv[&c.meta.cell_id];
            let q: Vec<f64> = c.rows.iter().map(|r| r.capacity_ah.expect("capacity")).collect();
            for (col, f) in cols.iter().filter(|(col, _)| fields.contains_key(*col)) {
                let (got, want) = (f(&q), num(fields, col));
                assert!((got - want).abs() < 1e-4, "{name}/{}: {col} {got} vs cells.csv {want}", c.meta.cell_id);
            }
            let nominal = c.meta.nominal_capacity_ah.expect("nominal capacity");
            let (lo, hi) = (0.6 * nominal, 1.15 * nominal);
            assert!(q.iter().all(|v| (lo..=hi).contains(v)), "{name}/{}: capacity outside {lo}..{hi} Ah", c.meta.cell_id);
        }
    }
    // CLO's PROVENANCE gives the range of all non-padded values.
    let q: Vec<f64> = raw("CLO").iter().flat_map(|c| &c.rows).filter_map(|r| r.capacity_ah).collect();
    let (min, max) = (q.iter().copied().fold(f64::MAX, f64::min), q.iter().copied().fold(f64::MIN, f64::max));
    assert!((min - 0.782).abs() < 5e-4 && (max - 1.071).abs() < 5e-4, "CLO range {min}..{max}");
}

#[test]
fn metadata_is_filled_as_documented() {
    for name in ALL {
        let csv = cells_csv(name);
        for c in raw(name) {
            let m = &c.meta;
            let fields = &csv[&m.cell_id];
            assert_eq!(m.dataset, name);
            assert_eq!(m.nominal_capacity_ah, Some(num(fields, "nominal_capacity_Ah")), "{}", m.cell_id);
            assert_eq!(m.chemistry.as_deref(), Some(fields["chemistry"].as_str()));
            assert_eq!(m.form_factor.as_deref(), Some(fields["form_factor"].as_str()));
            assert!(m.cathode.is_some() && m.protocol.is_some(), "{}", m.cell_id);
            assert!(m.source.as_deref().is_some_and(|s| s.contains("doi:")), "{}", m.cell_id);
            assert!(m.license.as_deref().is_some_and(|s| s.starts_with("none stated")), "{}", m.cell_id);
            assert!(m.eol_cycle_label.is_none() || name == "CLO");
        }
    }

    // LFP/graphite A123 cells in a 30 °C chamber with 4C discharge (Severson / Attia et al.).
    for name in ["MATR", "CLO"] {
        for c in raw(name) {
            let m = &c.meta;
            assert_eq!((m.cathode.as_deref(), m.anode.as_deref()), (Some("LFP"), Some("graphite")));
            assert_eq!((m.temperature_c, m.discharge_c_rate, m.charge_c_rate), (Some(30.0), Some(4.0), None));
        }
    }
    let m = &cell(raw("MATR"), "MATR_2018-04-12_battery-39").meta;
    assert!(m.source.as_deref().unwrap().contains("data/MIT data/2018-04-12/2018-04-12_battery-39.csv"));

    let m = &cell(raw("CLO"), "CLO_val_3.6-6-5.6_rep1").meta;
    assert_eq!(m.eol_cycle_label, Some(761.0));
    assert!(m.protocol.as_deref().unwrap().contains("3.6C-6C-5.6C-4.755C"), "{:?}", m.protocol);
    assert!(raw("CLO").iter().all(|c| c.meta.eol_cycle_label.is_some()));

    // HUST: the per-cell discharge stages (cells.csv line 3: 5C, 1C, 2C, then 1C).
    let m = &cell(raw("HUST"), "HUST_1-2").meta;
    assert!(m.protocol.as_deref().unwrap().contains("discharge 5C (100→60 % SOC), 1C (60→40 %), 2C (40→20 %), then 1C"));
    assert_eq!((m.temperature_c, m.dod), (None, Some(1.0)));

    // XJTU: rates only for the 2C / 3C batches.
    let xjtu = raw("XJTU");
    assert_eq!(cell(xjtu, "XJTU_3C_battery-8").meta.charge_c_rate, Some(3.0));
    assert_eq!(cell(xjtu, "XJTU_2C_battery-1").meta.discharge_c_rate, Some(1.0));
    assert_eq!(cell(xjtu, "XJTU_RW_battery-3").meta.charge_c_rate, None);
    assert!(xjtu.iter().all(|c| c.meta.temperature_c.is_none() && c.meta.cathode.as_deref() == Some("NCM")));

    // TJU: conditions from the file name, nominal per subset.
    let tju = raw("TJU");
    let m = &cell(tju, "TJU_1_CY25-025_1-#1").meta;
    assert_eq!((m.temperature_c, m.charge_c_rate, m.discharge_c_rate), (Some(25.0), Some(0.25), Some(1.0)));
    assert_eq!((m.cathode.as_deref(), m.nominal_capacity_ah), (Some("NCA"), Some(3.5)));
    let subset3: Vec<&RawCell> = tju.iter().filter(|c| c.meta.cell_id.starts_with("TJU_3_")).collect();
    assert!(subset3.iter().all(|c| c.meta.nominal_capacity_ah == Some(2.5)));
    let mut discharge: Vec<f64> = subset3.iter().filter_map(|c| c.meta.discharge_c_rate).collect();
    discharge.sort_by(f64::total_cmp);
    discharge.dedup();
    assert_eq!(discharge, vec![1.0, 2.0, 4.0]);
    let at_45 = tju.iter().filter(|c| c.meta.temperature_c == Some(45.0)).count();
    assert_eq!(at_45, 28 + 28, "NCA and NCM cells at 45 °C");
}

#[test]
fn pinn4soh_cycles_are_the_one_based_row_index_with_source_lines() {
    for name in PINN4SOH {
        for c in raw(name) {
            for (i, r) in c.rows.iter().enumerate() {
                assert_eq!((r.cycle, r.row), ((i + 1) as f64, i + 2), "{name}/{}", c.meta.cell_id);
            }
            assert!(c.file.to_string_lossy().ends_with(".csv.gz"));
        }
    }
    for c in raw("CLO") {
        assert!(c.rows.iter().enumerate().all(|(i, r)| r.cycle == (i + 1) as f64 && r.row == c.rows[0].row));
    }
}

#[test]
fn descriptors_follow_the_documented_mapping() {
    // First data line of XJTU 2C_battery-1, as in the source file.
    let r = &cell(raw("XJTU"), "XJTU_2C_battery-1").rows[0];
    let d = |x: Descriptor| r.descriptors[x.index()];
    assert_eq!(d(Descriptor::ChargeVoltageMeanV), Some(4.096620521172638));
    assert_eq!(d(Descriptor::ChargeVoltageStdV), Some(0.05636909081871357));
    assert_eq!(d(Descriptor::CcChargeTimeS), Some(314.94000000000005));
    assert_eq!(d(Descriptor::CvChargeTimeS), Some(882.7800000000002));
    assert_eq!(d(Descriptor::ChargeCurrentMeanA), Some(0.23517892898719442));
    assert_eq!(r.capacity_ah, Some(1.9));
    let mapped = [
        Descriptor::CcChargeTimeS,
        Descriptor::CvChargeTimeS,
        Descriptor::ChargeVoltageMeanV,
        Descriptor::ChargeVoltageStdV,
        Descriptor::ChargeCurrentMeanA,
    ];
    for name in PINN4SOH {
        for r in raw(name).iter().flat_map(|c| &c.rows) {
            for (i, v) in r.descriptors.iter().enumerate() {
                let is_mapped = mapped.iter().any(|m| m.index() == i);
                assert!(is_mapped || v.is_none(), "{name}: descriptor {i} has no source column");
            }
            // The CV-window descriptors are present in every row (no NaN/inf in these columns).
            assert!(r.descriptors[Descriptor::CvChargeTimeS.index()].is_some());
            assert!(r.descriptors[Descriptor::ChargeCurrentMeanA.index()].is_some());
        }
    }
    assert!(raw("CLO").iter().flat_map(|c| &c.rows).all(|r| r.descriptors.iter().all(Option::is_none)));
}

/// PROVENANCE (MATR audit): 16 files have rows with `CC Q` ≈ 0 and a very short CC window,
/// 2017-05-12_battery-5 with 14 of them. Their CC-window descriptors are masked, rows kept.
#[test]
fn matr_cc_window_glitches_are_masked_where_provenance_counts_them() {
    let masked = |c: &RawCell| c.rows.iter().filter(|r| r.descriptors[Descriptor::CcChargeTimeS.index()].is_none()).count();
    let per_cell: Vec<(&str, usize)> =
        raw("MATR").iter().map(|c| (c.meta.cell_id.as_str(), masked(c))).filter(|(_, n)| *n > 0).collect();
    assert_eq!(per_cell.len(), 16, "{per_cell:?}");
    assert!(per_cell.contains(&("MATR_2017-05-12_battery-5", 14)), "{per_cell:?}");
    for r in raw("MATR").iter().flat_map(|c| &c.rows) {
        let window = [Descriptor::CcChargeTimeS, Descriptor::ChargeVoltageMeanV, Descriptor::ChargeVoltageStdV];
        let present: Vec<bool> = window.iter().map(|d| r.descriptors[d.index()].is_some()).collect();
        assert!(present.iter().all(|p| *p == present[0]), "row {}: the CC window is masked as a whole", r.row);
        assert!(r.capacity_ah.is_some());
    }
    for name in ["HUST", "XJTU", "TJU"] {
        assert_eq!(raw(name).iter().map(masked).sum::<usize>(), 0, "{name}");
    }
}
