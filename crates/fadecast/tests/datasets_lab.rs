//! The per-cycle lab datasets (CALCE, NASA_PCoE, CALB, INL_NMC_pouch_fastcharge, TBSI_Sunwoda,
//! RolstonLab_Molicel21700_EIS) read from the real files under `shared/data/raw`: cell and row
//! counts as PROVENANCE.md states them (minus the documented drops), every cell cleans, capacities
//! are plausible in Ah and the metadata is filled as documented.
//!
//! Run with `--nocapture` to see the per-dataset figures (cells, rows read / dropped / kept,
//! outliers removed by `clean`).

use std::collections::{BTreeMap, HashMap};

use fadecast::corpus::default_raw_dir;
use fadecast::import::{clean, dataset, CleanOptions, CleanStats, RawCell};
use fadecast::{Cell, Descriptor};

struct Imported {
    raw: Vec<RawCell>,
    cells: Vec<(Cell, CleanStats)>,
}

impl Imported {
    fn rows_read(&self) -> usize {
        self.cells.iter().map(|(_, s)| s.rows_read).sum()
    }
    fn dropped(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for (_, s) in &self.cells {
            for (k, v) in &s.dropped_by_importer {
                *out.entry(k.clone()).or_default() += v;
            }
        }
        out
    }
    fn rows_before_outliers(&self) -> usize {
        self.raw.iter().map(|r| r.rows.len()).sum()
    }
    fn outliers(&self) -> usize {
        self.cells.iter().map(|(_, s)| s.outliers_removed).sum()
    }
    fn cell(&self, id: &str) -> &Cell {
        &self.cells.iter().find(|(c, _)| c.meta.cell_id == id).unwrap_or_else(|| panic!("no cell {id}")).0
    }
    fn rows_per_cell(&self) -> HashMap<String, usize> {
        self.cells.iter().map(|(c, s)| (c.meta.cell_id.clone(), s.rows_read)).collect()
    }
    /// Every cleaned capacity lies in `lo..=hi` Ah.
    fn assert_capacities_within(&self, lo: f64, hi: f64) {
        for (c, _) in &self.cells {
            for cy in &c.cycles {
                let q = cy.capacity_ah.unwrap_or_else(|| panic!("{} cycle {}: no capacity in Ah", c.key(), cy.cycle));
                assert!((lo..=hi).contains(&q), "{} cycle {}: capacity {q} Ah outside {lo}–{hi}", c.key(), cy.cycle);
            }
        }
    }
    /// Rows where descriptor `d` is available.
    fn with_descriptor(&self, d: Descriptor) -> usize {
        self.cells.iter().flat_map(|(c, _)| &c.cycles).filter(|cy| cy.descriptors[d.index()].is_some()).count()
    }
}

/// Imports `name` through the registry and cleans every cell with STRICT options; any error fails
/// the test with its message (file, cell, row).
fn import(name: &str) -> Imported {
    let importer = dataset(name).unwrap_or_else(|| panic!("{name} is not registered"));
    let dir = default_raw_dir().join(name);
    let raw = (importer.import)(&dir).unwrap_or_else(|e| panic!("import {name}: {e}"));
    for r in &raw {
        assert_eq!(r.meta.dataset, name, "dataset field of {}", r.meta.cell_id);
        assert!(r.rows.iter().all(|c| c.row >= 2), "{}: a row number points at the header", r.meta.cell_id);
    }
    let cells: Vec<(Cell, CleanStats)> = raw
        .iter()
        .cloned()
        .map(|r| clean(r, CleanOptions::STRICT).unwrap_or_else(|e| panic!("clean {name}: {e}")))
        .collect();
    let imported = Imported { raw, cells };
    let kept: usize = imported.cells.iter().map(|(_, s)| s.rows_kept).sum();
    eprintln!(
        "{name}: {} cells, {} rows read, dropped {:?}, {} rows after import, {} outliers removed ({:.2} %), {kept} rows kept",
        imported.cells.len(),
        imported.rows_read(),
        imported.dropped(),
        imported.rows_before_outliers(),
        imported.outliers(),
        100.0 * imported.outliers() as f64 / imported.rows_before_outliers() as f64,
    );
    imported
}

#[test]
fn calce_reads_4_cells_and_drops_the_38_partial_cycles() {
    let d = import("CALCE");
    assert_eq!(d.cells.len(), 4);
    assert_eq!(d.rows_read(), 3_937);
    let per_cell = d.rows_per_cell();
    for (id, n) in [("CS2_35", 886), ("CS2_36", 976), ("CS2_37", 1_043), ("CS2_38", 1_032)] {
        assert_eq!(per_cell[id], n, "{id}");
    }
    // PROVENANCE: 3,899 rows have is_full_cycle = 1.
    assert_eq!(d.dropped(), BTreeMap::from([("partial or aborted cycle (is_full_cycle = 0)".to_string(), 38)]));
    assert_eq!(d.rows_before_outliers(), 3_899);
    d.assert_capacities_within(0.1, 1.2);
    for (c, _) in &d.cells {
        assert_eq!(c.meta.chemistry.as_deref(), Some("LCO/graphite"));
        assert_eq!(c.meta.nominal_capacity_ah, Some(1.1));
        assert_eq!((c.meta.charge_c_rate, c.meta.discharge_c_rate), (Some(0.5), Some(1.0)));
        assert_eq!(c.meta.reference_rule, "nominal");
    }
    // Every kept row carries the Arbin features; CE only where it is a full cycle's.
    let kept = d.cells.iter().map(|(c, _)| c.cycles.len()).sum::<usize>();
    assert_eq!(d.with_descriptor(Descriptor::ResistanceOhm), kept);
    assert_eq!(d.with_descriptor(Descriptor::CcChargeTimeS), kept);
    let ce = d.with_descriptor(Descriptor::CoulombicEfficiency);
    assert!(ce < kept && ce > kept * 95 / 100, "CE on {ce} of {kept} rows");
}

#[test]
fn nasa_reads_34_cells_and_drops_the_226_aborted_runs() {
    let d = import("NASA_PCoE");
    assert_eq!(d.cells.len(), 34);
    assert_eq!(d.rows_read(), 2_794);
    // PROVENANCE: 25 NaN and 201 values < 0.1 Ah in capacity_ahr.
    assert_eq!(
        d.dropped(),
        BTreeMap::from([
            ("capacity below 0.1 Ah (aborted run)".to_string(), 201),
            ("missing capacity (aborted run)".to_string(), 25),
        ])
    );
    assert_eq!(d.rows_before_outliers(), 2_794 - 226);
    let per_cell = d.rows_per_cell();
    for (id, n) in [("B0005", 168), ("B0018", 132), ("B0025", 28), ("B0036", 197), ("B0056", 102)] {
        assert_eq!(per_cell[id], n, "{id}");
    }
    d.assert_capacities_within(0.1, 2.7);
    // The cycle axis is the discharge ordinal: B0041's first 40 runs are aborted, so it starts later.
    assert_eq!(d.cell("B0005").cycles[0].cycle, 1.0);
    assert!(d.cell("B0041").cycles[0].cycle > 40.0);
    let b5 = &d.cell("B0005").meta;
    assert_eq!(
        (b5.nominal_capacity_ah, b5.temperature_c, b5.form_factor.as_deref()),
        (Some(2.0), Some(24.0), Some("18650"))
    );
    assert_eq!((b5.charge_c_rate, b5.discharge_c_rate), (Some(0.75), Some(1.0)));
    assert_eq!(d.cell("B0029").meta.discharge_c_rate, Some(2.0));
    assert_eq!(d.cell("B0025").meta.discharge_c_rate, None, "square wave has no single rate");
    assert_eq!(d.cell("B0038").meta.temperature_c, None, "24/44 °C mixed");
    assert_eq!(d.cell("B0041").meta.temperature_c, Some(4.0));
    // Descriptors exist only for the 28 cells with a per-discharge reduction.
    let with_any: Vec<&str> = d
        .cells
        .iter()
        .filter(|(c, _)| c.cycles.iter().any(|cy| cy.descriptor_mask() != 0))
        .map(|(c, _)| c.meta.cell_id.as_str())
        .collect();
    assert_eq!(with_any.len(), 28, "{with_any:?}");
    assert!(!with_any.contains(&"B0005") && with_any.contains(&"B0018") && with_any.contains(&"B0025"));
    for (c, _) in &d.cells {
        for cy in &c.cycles {
            if let Some(r) = cy.descriptors[Descriptor::ResistanceOhm.index()] {
                assert!(r > 0.0 && r < 1.0, "{} cycle {}: Re {r}", c.key(), cy.cycle);
            }
        }
    }
}

#[test]
fn calb_reads_27_cells_masks_wrapped_time_columns_and_checks_c_rates() {
    let d = import("CALB");
    assert_eq!(d.cells.len(), 27);
    assert_eq!(d.rows_read(), 2_791);
    assert_eq!(d.dropped(), BTreeMap::from([("truncated cycle without charge data".to_string(), 1)]));
    assert_eq!(d.rows_per_cell()["CALB_0_B188"], 208);
    d.assert_capacities_within(25.0, 65.0);
    for (c, _) in &d.cells {
        let m = &c.meta;
        assert_eq!((m.nominal_capacity_ah, m.chemistry.as_deref()), (Some(58.0), Some("NMC/graphite")), "{}", c.key());
        assert!(
            m.eol_cycle_label.is_some_and(|l| (104.0..=1_410.0).contains(&l)),
            "{}: {:?}",
            c.key(),
            m.eol_cycle_label
        );
        let t = m.temperature_c.unwrap_or_else(|| panic!("{}: no temperature", c.key()));
        assert_eq!(c.meta.cell_id.split('_').nth(1).unwrap().parse::<f64>().unwrap(), t);
        // 0 °C cells: stated 1C/1C, measured 58 A. 45 °C: stated 5C/15C, measured ~1C: dropped.
        let expected = if t == 0.0 { (Some(1.0), Some(1.0)) } else { (None, None) };
        assert_eq!((m.charge_c_rate, m.discharge_c_rate), expected, "{}", c.key());
    }
    // Time-derived descriptors only on cycles whose time axis did not wrap (353 wrapped rows).
    let rows = d.rows_before_outliers();
    let charge_time = d.with_descriptor(Descriptor::ChargeTimeS);
    assert!(charge_time <= rows - 353 + d.outliers() && charge_time > rows - 400, "{charge_time} of {rows}");
    assert_eq!(
        d.with_descriptor(Descriptor::ChargeVoltageMeanV),
        d.cells.iter().map(|(c, _)| c.cycles.len()).sum::<usize>()
    );
    for (c, _) in &d.cells {
        for cy in &c.cycles {
            for desc in [Descriptor::ChargeTimeS, Descriptor::CcChargeTimeS, Descriptor::CvChargeTimeS] {
                assert!(cy.descriptors[desc.index()].is_none_or(|v| v >= 0.0), "{} cycle {}", c.key(), cy.cycle);
            }
            let ce = cy.descriptors[Descriptor::CoulombicEfficiency.index()];
            assert!(ce.is_none_or(|v| (0.8..=1.2).contains(&v)), "{} cycle {}: CE {ce:?}", c.key(), cy.cycle);
        }
    }
}

#[test]
fn inl_reads_44_cells_with_rows_equal_to_their_eol_cycles() {
    let d = import("INL_NMC_pouch_fastcharge");
    assert_eq!(d.cells.len(), 44);
    assert_eq!(d.rows_read(), 24_525);
    assert!(d.dropped().is_empty());
    // PROVENANCE: rows per cell = the summary's end-of-life cycles (425–600).
    for (c, s) in &d.cells {
        assert_eq!(Some(s.rows_read as f64), c.meta.eol_cycle_label, "{}", c.key());
    }
    // 17–32 mAh cells, fading: in Ah, never mAh.
    d.assert_capacities_within(0.005, 0.035);
    for (c, _) in &d.cells {
        let m = &c.meta;
        assert_eq!(m.nominal_capacity_ah, None);
        assert_eq!(m.reference_rule, "initial");
        assert!(matches!(m.charge_c_rate, Some(r) if (1.0..=9.0).contains(&r)), "{}", c.key());
        assert!(matches!(m.cathode.as_deref(), Some("NMC532") | Some("NMC811")), "{}", c.key());
    }
    assert_eq!(d.cell("P540_Cell07").meta.charge_c_rate, Some(4.5));
    assert_eq!(d.cell("P531_Cell01").meta.chemistry.as_deref(), Some("NMC811/graphite"));
}

#[test]
fn tbsi_reads_32_cells_with_their_temperature_series_lengths() {
    let d = import("TBSI_Sunwoda");
    assert_eq!(d.cells.len(), 32);
    assert_eq!(d.rows_read(), 37_368);
    assert!(d.dropped().is_empty());
    for (c, s) in &d.cells {
        let t = c.meta.temperature_c.unwrap_or_else(|| panic!("{}: no temperature", c.key()));
        let expected = match t as i64 {
            25 | 35 => 1_299,
            45 => 1_099,
            55 => 899,
            other => panic!("{}: unexpected temperature {other}", c.key()),
        };
        assert_eq!(s.rows_read, expected, "{}", c.key());
        assert!(c.key().ends_with(&format!("T{}", t as i64)), "{} vs {t} °C", c.key());
        assert_eq!(c.meta.nominal_capacity_ah, Some(1.1));
        assert_eq!(c.meta.license.as_deref(), Some("MIT"));
    }
    d.assert_capacities_within(0.5, 1.2);
}

#[test]
fn rolston_reads_16_cells_in_ah_with_eis_resistance() {
    let d = import("RolstonLab_Molicel21700_EIS");
    assert_eq!(d.cells.len(), 16);
    assert_eq!(d.rows_read(), 4_885);
    assert!(d.dropped().is_empty());
    let per_cell = d.rows_per_cell();
    assert_eq!((per_cell["CA7"], per_cell["CA6"], per_cell["N20_CB4"]), (529, 414, 104));
    // mAh → Ah: ~4.06 Ah fresh, down to 8 mAh at the end of the RT tests.
    d.assert_capacities_within(0.005, 4.3);
    assert!((d.cell("CA1").cycles[0].capacity_ah.unwrap() - 4.059989).abs() < 1e-9);
    assert_eq!(d.cell("CA1").cycles[0].cycle, 0.0);
    assert_eq!(d.cell("CA1").meta.temperature_c, None, "RT is not stated as a number");
    assert_eq!(d.cell("N10_CB1").meta.temperature_c, Some(-10.0));
    assert_eq!(d.cell("N20_CB1").meta.temperature_c, Some(-20.0));
    assert_eq!(d.cell("CA1").meta.eol_cycle_label, Some(174.0));
    assert_eq!(d.cell("CA6").meta.eol_cycle_label, None, "CA6 never reached EOL");
    // The ohmic resistance of a 21700 is ~10–20 mΩ at room temperature.
    let r0 = d.cell("CA1").cycles[0].descriptors[Descriptor::ResistanceOhm.index()].unwrap();
    assert!((0.011..0.013).contains(&r0), "{r0}");
    let kept = d.cells.iter().map(|(c, _)| c.cycles.len()).sum::<usize>();
    let with_r = d.with_descriptor(Descriptor::ResistanceOhm);
    assert!(with_r * 100 >= kept * 95, "resistance on {with_r} of {kept} rows");
}

#[test]
fn importer_errors_name_the_file_cell_and_row() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tbsi_sunwoda_capacity.csv"),
        "cell,temperature_C,cycle,capacity_Ah\nB1T25,25,1,1.08\nB1T25,25,2,abc\n",
    )
    .unwrap();
    let e = (dataset("TBSI_Sunwoda").unwrap().import)(dir.path()).expect_err("non-numeric capacity");
    let msg = e.to_string();
    assert!(msg.contains("tbsi_sunwoda_capacity.csv") && msg.contains("cell B1T25") && msg.contains("row 3"), "{msg}");

    let e = (dataset("CALCE").unwrap().import)(dir.path()).expect_err("missing file");
    assert!(e.to_string().contains("calce_cs2_cycles_from_raw.csv"), "{e}");
}

#[test]
fn nasa_refuses_a_descriptor_join_whose_capacities_disagree() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "nasa_cell_metadata.csv",
        "cell,chemistry,form_factor,nominal_capacity_Ah,ambient_temperature_C,charge_protocol,discharge_protocol,\
         discharge_cutoff_V,stop_criterion,note\nB0025,Li-ion,18650,2.0,24,CC 1.5A to 4.2V,CC 2A,2.7,not stated,\n",
    );
    write("nasa_cycle_summary_34cells.csv", "battery_id,cycle_number,capacity_ahr\nB0025,4,1.84701\nB0025,6,1.80000\n");
    write("nasa_cycles_from_mat.csv", "cell,op_index,capacity_Ah,Re_ohm\nB0025,4,1.84701,0.05\nB0025,6,1.70000,0.05\n");
    write("nasa_discharge_from_csv.csv", "cell,op_index,capacity_Ah\n");
    let e = (dataset("NASA_PCoE").unwrap().import)(dir.path()).expect_err("capacities disagree");
    let msg = e.to_string();
    assert!(
        msg.contains("nasa_cycle_summary_34cells.csv") && msg.contains("cell B0025") && msg.contains("row 3"),
        "{msg}"
    );
    assert!(msg.contains("nasa_cycles_from_mat.csv row 3"), "{msg}");

    // With matching capacities the same files import, with the joined descriptor.
    write("nasa_cycles_from_mat.csv", "cell,op_index,capacity_Ah,Re_ohm\nB0025,4,1.84701,0.05\nB0025,6,1.80000,0.05\n");
    let cells = (dataset("NASA_PCoE").unwrap().import)(dir.path()).unwrap();
    assert_eq!(cells[0].rows.len(), 2);
    assert_eq!(cells[0].rows[1].descriptors[Descriptor::ResistanceOhm.index()], Some(0.05));
    assert_eq!(cells[0].rows[1].cycle, 2.0);
}
