//! The check-up importers (RWTH, ISU_ILCC, STANFORD_DYNAMIC, STROEBL_NCA, Oxford, MICH,
//! MICH_FASTFORM) against the real raw data: counts as PROVENANCE.md states them, every cell
//! cleans, SOH is plausible, and the metadata is filled as documented.

use std::collections::BTreeMap;
use std::path::PathBuf;

use fadecast::corpus::default_raw_dir;
use fadecast::data::{CycleAxis, Observation};
use fadecast::error::ErrorKind;
use fadecast::import::{clean, isu_ilcc, mich, mich_fastform, oxford, rwth, stanford, stroebl};
use fadecast::import::{CleanOptions, CleanStats, RawCell};
use fadecast::{Cell, Descriptor, Result};

fn raw_dir(dataset: &str) -> PathBuf {
    default_raw_dir().join(dataset)
}

fn import(dataset: &str, f: fn(&std::path::Path) -> Result<Vec<RawCell>>) -> Vec<RawCell> {
    f(&raw_dir(dataset)).unwrap_or_else(|e| panic!("{dataset}: {e}"))
}

fn clean_all(raw: Vec<RawCell>, opts: CleanOptions) -> Vec<(Cell, CleanStats)> {
    raw.into_iter()
        .map(|c| clean(c, opts).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// Totals over a dataset: rows read, rows dropped per reason, rows kept.
fn totals(cells: &[(Cell, CleanStats)]) -> (usize, BTreeMap<String, usize>, usize) {
    let mut dropped = BTreeMap::new();
    for (_, s) in cells {
        for (k, v) in &s.dropped_by_importer {
            *dropped.entry(k.clone()).or_insert(0) += v;
        }
    }
    let read = cells.iter().map(|(_, s)| s.rows_read).sum();
    let kept = cells.iter().map(|(_, s)| s.rows_kept).sum();
    eprintln!("rows read {read}, dropped {dropped:?}, kept {kept}");
    (read, dropped, kept)
}

/// What every check-up cell must satisfy once cleaned. SOH must start in [0.9, `max_soh`] and
/// stay in (0.05, `max_soh`]: 1.1 where the reference is a nominal or the source's own
/// normalisation; more where `clean` takes the median of the first check-ups (see MICH).
fn assert_checkup_cells(
    cells: &[(Cell, CleanStats)],
    dataset: &str,
    axis: CycleAxis,
    max_soh: f64,
) {
    for (cell, _) in cells {
        let m = &cell.meta;
        let key = cell.key();
        assert_eq!(m.dataset, dataset, "{key}");
        assert!(!m.cell_id.is_empty(), "{key}");
        assert_eq!(m.axis, axis, "{key}");
        assert_eq!(m.observation, Observation::CheckUp, "{key}");
        assert!(
            m.source.is_some() && m.protocol.is_some(),
            "{key}: source and protocol are documented"
        );
        assert!(
            cell.cycles.windows(2).all(|w| w[1].cycle > w[0].cycle),
            "{key}: axis strictly increasing"
        );
        let soh = cell.soh();
        assert!(
            (0.9..=max_soh).contains(&soh[0]),
            "{key}: first SOH {}",
            soh[0]
        );
        assert!(
            soh.iter().all(|s| *s > 0.05 && *s <= max_soh),
            "{key}: SOH out of range: {soh:?}"
        );
        if let Some(dod) = m.dod {
            assert!(
                dod > 0.0 && dod <= 1.0,
                "{key}: DoD {dod} is not a fraction"
            );
        }
    }
}

fn cell<'a>(cells: &'a [(Cell, CleanStats)], id: &str) -> &'a (Cell, CleanStats) {
    cells
        .iter()
        .find(|(c, _)| c.meta.cell_id == id)
        .unwrap_or_else(|| panic!("no cell {id}"))
}

// ---------------------------------------------------------------- unit conversions

#[test]
fn rwth_efc_is_discharge_throughput_over_nominal() {
    // 160 partial cycles of ~1.03 Ah on a 1.85 Ah cell ≈ 89 full cycles.
    assert!((rwth::equivalent_full_cycles(164.985, 1.85) - 89.181).abs() < 1e-3);
    assert_eq!(rwth::equivalent_full_cycles(0.0, 1.85), 0.0);
}

#[test]
fn isu_efc_halves_charge_plus_discharge_throughput() {
    // 0.5 Ah moved in and out of a 0.25 Ah cell = one full cycle.
    assert_eq!(isu_ilcc::equivalent_full_cycles(0.5, 0.25), 1.0);
    assert!((isu_ilcc::equivalent_full_cycles(18.23744417, 0.25) - 36.4749).abs() < 1e-3);
}

#[test]
fn stroebl_efc_halves_throughput_over_first_capacity() {
    assert!((stroebl::equivalent_full_cycles(9.6, 4.8) - 1.0).abs() < 1e-12);
}

#[test]
fn oxford_days_become_seconds() {
    assert_eq!(oxford::days_to_seconds(1.0), 86_400.0);
    // A 1C charge of ~0.04 d is just under an hour.
    assert!((oxford::days_to_seconds(0.0406096) - 3508.67).abs() < 0.01);
}

// ---------------------------------------------------------------- RWTH

#[test]
fn rwth_strict_clean_fails_only_on_the_nine_repeated_checkups() {
    let raw = import("RWTH", rwth::import);
    let failing: Vec<String> = raw
        .into_iter()
        .filter_map(|c| match clean(c, CleanOptions::STRICT) {
            Ok(_) => None,
            Err(e) => {
                assert!(matches!(e.kind, ErrorKind::DuplicateCycle { .. }), "{e}");
                Some(e.cell.expect("errors name the cell"))
            }
        })
        .collect();
    let expected = [
        "epSanyo002",
        "epSanyo003",
        "epSanyo007",
        "epSanyo008",
        "epSanyo018",
        "epSanyo020",
        "epSanyo023",
        "epSanyo034",
        "epSanyo035",
    ];
    assert_eq!(failing, expected);
}

#[test]
fn rwth_counts_match_provenance_with_checkups_without_capacity_dropped() {
    let cells = clean_all(import("RWTH", rwth::import), CleanOptions::REORDER);
    assert_eq!(cells.len(), 48);
    let (read, dropped, kept) = totals(&cells);
    assert_eq!(read, 837);
    // PROVENANCE: 837 check-ups, 777 with a capacity (the 60 TBA_BOL_P2 tests have none).
    assert_eq!(dropped.values().sum::<usize>(), 60);
    assert_eq!(
        dropped["check-up without a 1C capacity test (no CapDCH1_Ah)"],
        60
    );
    let merged: usize = cells.iter().map(|(_, s)| s.duplicates_merged).sum();
    assert_eq!(merged, 9);
    assert_eq!(kept, 777 - 9);
    assert_checkup_cells(&cells, "RWTH", CycleAxis::EquivalentFullCycles, 1.1);
}

#[test]
fn rwth_metadata_axis_and_descriptors() {
    let cells = clean_all(import("RWTH", rwth::import), CleanOptions::REORDER);
    let (c, _) = cell(&cells, "epSanyo002");
    let m = &c.meta;
    assert_eq!(m.nominal_capacity_ah, Some(1.85));
    assert_eq!(m.form_factor.as_deref(), Some("18650"));
    assert_eq!(m.chemistry.as_deref(), Some("NMC/carbon"));
    assert!((m.dod.unwrap() - 0.5629839).abs() < 1e-9);
    assert!((m.charge_c_rate.unwrap() - 0.743607).abs() < 1e-9);
    assert!((m.temperature_c.unwrap() - 28.6035).abs() < 1e-9);
    assert_eq!(m.reference_rule, "nominal");
    // First check-up at 0 EFC; the one after the first 160-cycle block at 164.985 Ah / 1.85 Ah.
    assert_eq!(c.cycles[0].cycle, 0.0);
    assert!((c.cycles[1].cycle - 164.985 / 1.85).abs() < 1e-9);
    assert!((c.cycles[1].capacity_ah.unwrap() - 1.780073).abs() < 1e-9);
    // Deep fade: 1.83 → below 0.2 Ah.
    assert!(c.cycles.last().unwrap().capacity_ah.unwrap() < 0.2);
    for (c, _) in &cells {
        for cy in &c.cycles {
            let r = cy.descriptors[Descriptor::ResistanceOhm.index()]
                .expect("pulse resistance at every check-up");
            assert!(r > 0.01 && r < 1.0, "{}: R = {r}", c.key());
            let t = cy.descriptors[Descriptor::TemperatureC.index()].expect("check-up temperature");
            assert!((20.0..35.0).contains(&t), "{}: T = {t}", c.key());
        }
    }
}

// ---------------------------------------------------------------- ISU_ILCC

#[test]
fn isu_ilcc_counts_match_provenance() {
    let cells = clean_all(import("ISU_ILCC", isu_ilcc::import), CleanOptions::STRICT);
    assert_eq!(cells.len(), 251);
    let (read, dropped, kept) = totals(&cells);
    assert_eq!((read, kept), (5455, 5455));
    assert!(dropped.is_empty());
    let n = |id| cell(&cells, id).0.cycles.len();
    assert_eq!(n("G11C1"), 2);
    assert_eq!(cells.iter().map(|(c, _)| c.cycles.len()).max(), Some(80));
    assert_checkup_cells(&cells, "ISU_ILCC", CycleAxis::EquivalentFullCycles, 1.1);
}

#[test]
fn isu_ilcc_keeps_the_source_normalisation_and_group_conditions() {
    let cells = clean_all(import("ISU_ILCC", isu_ilcc::import), CleanOptions::STRICT);
    for (c, _) in &cells {
        assert_eq!(c.meta.reference_rule, "source-normalised", "{}", c.key());
        assert_eq!(
            c.cycles[0].soh,
            1.0,
            "{}: qdis starts at exactly 1",
            c.key()
        );
        assert_eq!(c.cycles[0].cycle, 0.0, "{}", c.key());
        assert_eq!(c.meta.nominal_capacity_ah, Some(0.25));
        assert_eq!(c.meta.chemistry.as_deref(), Some("NMC/graphite"));
        assert!(
            c.meta.charge_c_rate.is_some()
                && c.meta.discharge_c_rate.is_some()
                && c.meta.dod.is_some()
        );
        // Third-party, unverified: kept out of the fields.
        assert_eq!(
            (c.meta.temperature_c, c.meta.form_factor.as_deref()),
            (None, None)
        );
    }
    // G10C1: charge 2.5 C, discharge 0.5 C; 404.65 Ah moved in and out of 0.25 Ah ≈ 809 EFC.
    let (c, _) = cell(&cells, "G10C1");
    assert_eq!(
        (c.meta.charge_c_rate, c.meta.discharge_c_rate),
        (Some(2.5), Some(0.5))
    );
    assert!((c.cycles.last().unwrap().cycle - 404.6538953 / 0.5).abs() < 1e-3);
    assert!((c.cycles.last().unwrap().soh - 0.638736168).abs() < 1e-9);
}

// ---------------------------------------------------------------- STANFORD_DYNAMIC

#[test]
fn stanford_dynamic_counts_match_provenance() {
    let cells = clean_all(
        import("STANFORD_DYNAMIC", stanford::import),
        CleanOptions::STRICT,
    );
    assert_eq!(cells.len(), 92);
    let (read, dropped, kept) = totals(&cells);
    assert_eq!((read, kept), (1885, 1885));
    assert!(dropped.is_empty());
    let lens: Vec<usize> = cells.iter().map(|(c, _)| c.cycles.len()).collect();
    assert_eq!(
        (lens.iter().min(), lens.iter().max()),
        (Some(&10), Some(&32))
    );
    assert_checkup_cells(
        &cells,
        "STANFORD_DYNAMIC",
        CycleAxis::EquivalentFullCycles,
        1.1,
    );
}

#[test]
fn stanford_dynamic_uses_source_efc_and_normalised_capacity() {
    let cells = clean_all(
        import("STANFORD_DYNAMIC", stanford::import),
        CleanOptions::STRICT,
    );
    let (c, _) = cell(&cells, "cell_003");
    assert!((c.cycles[0].cycle - 1.98895513315).abs() < 1e-9);
    assert!((c.cycles[0].soh - 0.98646652844).abs() < 1e-9);
    assert!(c
        .meta
        .protocol
        .as_deref()
        .unwrap()
        .contains("CC_(5%_storage)_Co10"));
    for (c, _) in &cells {
        assert_eq!(c.meta.reference_rule, "source-normalised");
        // Nominal capacity undisclosed: no Ah, and no invented chemistry.
        assert!(
            c.cycles.iter().all(|cy| cy.capacity_ah.is_none()),
            "{}",
            c.key()
        );
        assert_eq!(
            (c.meta.nominal_capacity_ah, c.meta.chemistry.as_deref()),
            (None, None)
        );
    }
}

// ---------------------------------------------------------------- STROEBL_NCA

#[test]
fn stroebl_counts_match_provenance_with_the_empty_line_dropped() {
    let cells = clean_all(import("STROEBL_NCA", stroebl::import), CleanOptions::STRICT);
    assert_eq!(cells.len(), 133);
    assert_eq!(
        cells
            .iter()
            .filter(|(c, _)| c.meta.cell_id.starts_with("S1_"))
            .count(),
        68
    );
    assert_eq!(
        cells
            .iter()
            .filter(|(c, _)| c.meta.cell_id.starts_with("S2_"))
            .count(),
        65
    );
    let (read, dropped, kept) = totals(&cells);
    assert_eq!((read, kept), (1835, 1834));
    assert_eq!(dropped, BTreeMap::from([("all-empty line".to_string(), 1)]));
    assert_eq!(cell(&cells, "S1_TP_z04_01").1.dropped_by_importer.len(), 1);
    let lens: Vec<usize> = cells.iter().map(|(c, _)| c.cycles.len()).collect();
    assert_eq!(
        (lens.iter().min(), lens.iter().max()),
        (Some(&4), Some(&17))
    );
    assert_checkup_cells(&cells, "STROEBL_NCA", CycleAxis::EquivalentFullCycles, 1.1);
}

#[test]
fn stroebl_stages_are_different_cells_with_their_own_conditions() {
    let cells = clean_all(import("STROEBL_NCA", stroebl::import), CleanOptions::STRICT);
    let (s1, _) = cell(&cells, "S1_TP_z04_01");
    let (s2, _) = cell(&cells, "S2_TP_z04_01");
    assert_ne!(s1.cycles[0].capacity_ah, s2.cycles[0].capacity_ah);
    assert!((s2.cycles[0].capacity_ah.unwrap() - 4.868767088400369).abs() < 1e-12);
    let (c, _) = cell(&cells, "S1_TP_z01_01");
    let m = &c.meta;
    assert_eq!(
        (m.temperature_c, m.dod, m.charge_c_rate, m.discharge_c_rate),
        (Some(23.0), Some(0.3), Some(0.6), Some(1.1))
    );
    assert_eq!(m.form_factor.as_deref(), Some("cylindrical 21700"));
    assert_eq!(m.reference_rule, "first check-up");
    // Last check-up: 29923 Ah over 2 × the first capacity.
    let last = c.cycles.last().unwrap().cycle;
    assert!(
        (last - 29923.092634393935 / (2.0 * 4.767438375353746)).abs() < 1e-6,
        "{last}"
    );
    for (c, _) in &cells {
        assert!(
            matches!(c.meta.temperature_c, Some(t) if [23.0, 35.0, 45.0].contains(&t)),
            "{}",
            c.key()
        );
    }
}

// ---------------------------------------------------------------- Oxford

#[test]
fn oxford_counts_match_provenance() {
    let cells = clean_all(import("Oxford", oxford::import), CleanOptions::STRICT);
    let (read, dropped, kept) = totals(&cells);
    assert_eq!((read, kept), (519, 519));
    assert!(dropped.is_empty());
    let per_cell: BTreeMap<&str, usize> = cells
        .iter()
        .map(|(c, _)| (c.meta.cell_id.as_str(), c.cycles.len()))
        .collect();
    let expected = BTreeMap::from([
        ("Cell1", 78),
        ("Cell2", 73),
        ("Cell3", 76),
        ("Cell4", 47),
        ("Cell5", 46),
        ("Cell6", 46),
        ("Cell7", 77),
        ("Cell8", 76),
    ]);
    assert_eq!(per_cell, expected);
    assert_checkup_cells(&cells, "Oxford", CycleAxis::Cycle, 1.1);
    let min_ah = cells
        .iter()
        .flat_map(|(c, _)| c.cycles.iter().filter_map(|cy| cy.capacity_ah))
        .fold(f64::MAX, f64::min);
    assert!(
        (min_ah - 0.456).abs() < 0.001,
        "PROVENANCE: capacity falls to 456 mAh, got {min_ah}"
    );
}

#[test]
fn oxford_durations_are_days_converted_to_seconds_and_dropouts_masked() {
    let cells = clean_all(import("Oxford", oxford::import), CleanOptions::STRICT);
    let (c, _) = cell(&cells, "Cell1");
    assert_eq!(
        (c.meta.nominal_capacity_ah, c.meta.temperature_c),
        (Some(0.74), Some(40.0))
    );
    let first = &c.cycles[0];
    let d = |k: Descriptor| first.descriptors[k.index()].unwrap();
    assert!((d(Descriptor::ChargeTimeS) - 0.0406096 * 86_400.0).abs() < 1e-6);
    assert!((d(Descriptor::CcChargeTimeS) - 0.0388657 * 86_400.0).abs() < 1e-6);
    assert!((d(Descriptor::CvChargeTimeS) - 0.00174384 * 86_400.0).abs() < 1e-6);
    assert!((d(Descriptor::TemperatureC) - 0.5 * (40.4193 + 40.0495)).abs() < 1e-9);
    // The ≈ 0.52 °C sensor dropout at cycle 1600 is unavailable, not a temperature.
    let dropout = c.cycles.iter().find(|cy| cy.cycle == 1600.0).unwrap();
    assert_eq!(dropout.descriptors[Descriptor::TemperatureC.index()], None);
    for (c, _) in &cells {
        for cy in &c.cycles {
            let t = cy.descriptors[Descriptor::ChargeTimeS.index()].unwrap();
            assert!(
                (1_000.0..10_000.0).contains(&t),
                "{}: 1C charge of {t} s",
                c.key()
            );
        }
    }
}

// ---------------------------------------------------------------- MICH

#[test]
fn mich_counts_match_provenance() {
    let cells = clean_all(import("MICH", mich::import), CleanOptions::STRICT);
    assert_eq!(cells.len(), 21);
    let (read, dropped, kept) = totals(&cells);
    assert_eq!((read, kept), (248, 248));
    assert!(dropped.is_empty());
    let lens: Vec<usize> = cells.iter().map(|(c, _)| c.cycles.len()).collect();
    assert_eq!(
        (lens.iter().min(), lens.iter().max()),
        (Some(&7), Some(&15))
    );
    // No nominal capacity: `clean` divides by the first diagnostic, so every cell starts at SOH 1.
    assert_checkup_cells(&cells, "MICH", CycleAxis::Cycle, 1.0 + 1e-9);
}

#[test]
fn mich_capacity_is_qfull_relative_to_the_first_diagnostics() {
    let cells = clean_all(import("MICH", mich::import), CleanOptions::STRICT);
    let (c, _) = cell(&cells, "1");
    assert_eq!(c.cycles[0].capacity_ah, Some(5.1));
    for (c, _) in &cells {
        assert_eq!(
            c.meta.reference_rule,
            "first check-up",
            "{}: no nominal capacity in the source",
            c.key()
        );
        assert_eq!(c.meta.nominal_capacity_ah, None);
        let q: Vec<f64> = c.cycles.iter().filter_map(|cy| cy.capacity_ah).collect();
        assert!(
            q.iter().all(|q| (2.8..=5.2).contains(q)),
            "{}: {q:?}",
            c.key()
        );
    }
    // PROVENANCE: diagnostics at cycle_number 0 … 574.
    let all = || {
        cells
            .iter()
            .flat_map(|(c, _)| c.cycles.iter().map(|cy| cy.cycle))
    };
    assert_eq!(
        (all().fold(f64::MAX, f64::min), all().fold(0.0, f64::max)),
        (0.0, 574.0)
    );
}

// ---------------------------------------------------------------- MICH_FASTFORM

#[test]
fn mich_fastform_keeps_c20_rpt_capacity_and_counts_the_rest() {
    let cells = clean_all(
        import("MICH_FASTFORM", mich_fastform::import),
        CleanOptions::STRICT,
    );
    // PROVENANCE: 39 cells in the RPT table (cell 9 absent), 909 rows, 276 C/20 and 282 C/3 values.
    assert_eq!(cells.len(), 39);
    assert!(cells.iter().all(|(c, _)| c.meta.cell_id != "9"));
    let (read, dropped, kept) = totals(&cells);
    assert_eq!((read, kept), (909, 276));
    assert_eq!(dropped["C/3 capacity only (first half of an RPT)"], 282);
    assert_eq!(
        dropped["no RPT capacity (resistance / retention only)"],
        909 - 276 - 282
    );
    assert_checkup_cells(&cells, "MICH_FASTFORM", CycleAxis::Cycle, 1.1);
}

#[test]
fn mich_fastform_metadata_and_dc_resistance() {
    let cells = clean_all(
        import("MICH_FASTFORM", mich_fastform::import),
        CleanOptions::STRICT,
    );
    let (c, _) = cell(&cells, "1");
    let m = &c.meta;
    assert_eq!(m.nominal_capacity_ah, Some(2.36));
    assert_eq!(
        (
            m.chemistry.as_deref(),
            m.cathode.as_deref(),
            m.anode.as_deref()
        ),
        (Some("NMC111/graphite"), Some("NMC111"), Some("graphite"))
    );
    assert_eq!(m.form_factor.as_deref(), Some("pouch"));
    assert!(m
        .protocol
        .as_deref()
        .unwrap()
        .starts_with("Baseline formation; ageing at elevated"));
    assert_eq!(
        (c.cycles[0].cycle, c.cycles[0].capacity_ah),
        (3.0, Some(2.49337))
    );
    assert_eq!(
        c.cycles[0].descriptors[Descriptor::ResistanceOhm.index()],
        Some(0.0149641)
    );
    let with_r: usize = cells
        .iter()
        .map(|(c, _)| {
            c.cycles
                .iter()
                .filter(|cy| cy.descriptors[Descriptor::ResistanceOhm.index()].is_some())
                .count()
        })
        .sum();
    // 195 of the 276 C/20 rows carry the pulse resistances (the cycle-468/520 RPTs have none).
    assert_eq!(with_r, 195);
    // PROVENANCE: 20 room-temperature and 19 elevated-temperature cells.
    let rooms = cells
        .iter()
        .filter(|(c, _)| c.meta.protocol.as_deref().unwrap().contains("at room"))
        .count();
    assert_eq!((rooms, cells.len() - rooms), (20, 19));
}

// ---------------------------------------------------------------- errors

#[test]
fn a_bad_value_is_an_error_naming_file_cell_and_row() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("summary_esoh_table_mohtat2021.csv"),
        "cellid,cycle_number,Qfull\n1,0,5.1\n2,0,5.0\n2,41,four\n",
    )
    .unwrap();
    let msg = mich::import(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("summary_esoh_table_mohtat2021.csv")
            && msg.contains("cell 2")
            && msg.contains("row 4"),
        "{msg}"
    );
}

/// The error of importing ISU_ILCC files holding these rows of `cells.csv` and `NMC_data.csv`.
fn isu_ilcc_error(cells: &str, rpts: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let header = "cell_id,group,Charging C-rate,Discharging C-rate,empirical_DoD,chemistry,nominal_capacity_Ah\n";
    std::fs::write(dir.path().join("cells.csv"), format!("{header}{cells}")).unwrap();
    std::fs::write(dir.path().join("NMC_data.csv"), format!("cellID,qdis,Ah_throughput\n{rpts}")).unwrap();
    isu_ilcc::import(dir.path()).unwrap_err().to_string()
}

#[test]
fn a_checkup_of_a_cell_without_metadata_is_an_error() {
    let msg = isu_ilcc_error("G1C1,1,0.5,0.5,0.25,NMC/graphite,0.25\n", "G1C1,1,0\nG9C9,1,0\n");
    assert!(
        msg.contains("NMC_data.csv") && msg.contains("cell G9C9") && msg.contains("row 3"),
        "{msg}"
    );
}

#[test]
fn a_cell_listed_twice_in_the_metadata_is_an_error_at_its_second_row() {
    let msg = isu_ilcc_error(
        "G1C1,1,0.5,0.5,0.25,NMC/graphite,0.25\nG1C2,1,0.5,0.5,0.25,NMC/graphite,0.25\nG1C1,2,1,1,0.5,NMC/graphite,0.25\n",
        "G1C1,1,0\n",
    );
    assert!(
        msg.contains("cells.csv") && msg.contains("cell G1C1") && msg.contains("row 4") && msg.contains("listed twice"),
        "{msg}"
    );
}

#[test]
fn a_nominal_capacity_that_is_not_positive_is_an_error_naming_file_cell_and_row() {
    let msg = isu_ilcc_error(
        "G1C1,1,0.5,0.5,0.25,NMC/graphite,0.25\nG1C2,1,0.5,0.5,0.25,NMC/graphite,-0.25\n",
        "G1C1,1,0\n",
    );
    assert!(
        msg.contains("cells.csv") && msg.contains("cell G1C2") && msg.contains("row 3") && msg.contains("nominal capacity -0.25 Ah"),
        "{msg}"
    );
}
