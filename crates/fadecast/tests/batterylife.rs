//! The BatteryLife pickle importer on the three real CALB fixtures, and on broken pickles.

use std::path::{Path, PathBuf};

use fadecast::import::batterylife::{import_file, looks_like_batterylife};
use fadecast::import::{clean, CleanOptions};
use fadecast::Descriptor;

/// `shared/data/fixtures/batterylife_pkl`, found beside the working directory or an ancestor
/// (or under `$FADECAST_DATA/..`).
fn fixtures() -> PathBuf {
    let from_env = std::env::var_os("FADECAST_DATA").map(|raw| PathBuf::from(raw).join("../fixtures/batterylife_pkl"));
    let cwd = std::env::current_dir().unwrap();
    from_env
        .into_iter()
        .chain(cwd.ancestors().map(|a| a.join("shared/data/fixtures/batterylife_pkl")))
        .find(|p| p.is_dir())
        .expect("shared/data/fixtures/batterylife_pkl not found")
}

fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

const FIXTURES: [&str; 3] = ["CALB_0_B182.pkl", "CALB_25_T25-1.pkl", "CALB_45_B253.pkl"];

#[test]
fn the_three_fixtures_import_with_plausible_capacities_for_a_58_ah_cell() {
    for name in FIXTURES {
        let path = fixture(name);
        assert!(looks_like_batterylife(&path), "{name} not sniffed as BatteryLife");
        let raw = import_file(&path).unwrap();
        assert_eq!(raw.len(), 1, "{name}: one cell per pickle");
        let cell_id = name.trim_end_matches(".pkl");
        assert_eq!(raw[0].meta.cell_id, cell_id);
        assert_eq!(raw[0].meta.nominal_capacity_ah, Some(58.0));
        assert_eq!(raw[0].meta.chemistry.as_deref(), Some("NMC/graphite"));
        assert!((99..=100).contains(&raw[0].rows.len()), "{name}: {} cycles", raw[0].rows.len());

        let (cell, stats) = clean(raw.into_iter().next().unwrap(), CleanOptions::STRICT).unwrap();
        assert_eq!(cell.meta.reference_rule, "nominal");
        assert!(stats.rows_kept >= 95, "{name}: {stats:?}");
        for c in &cell.cycles {
            let q = c.capacity_ah.unwrap();
            // 58 Ah nominal; the 0 °C cell delivers ~45-50 Ah, the warm ones ~59-61 Ah.
            assert!((40.0..=62.0).contains(&q), "{name} cycle {}: {q} Ah", c.cycle);
        }
    }
}

#[test]
fn capacities_match_the_calb_summary_csv_and_fade_at_zero_celsius() {
    // The CALB summary CSV was computed independently (in Python) from the same pickles:
    // CALB_0_B182 cycle 1 = 49.6982 Ah, cycle 2 = 47.6514 Ah.
    let raw = import_file(&fixture("CALB_0_B182.pkl")).unwrap();
    let rows = &raw[0].rows;
    assert_eq!(rows[0].cycle, 1.0);
    assert!((rows[0].capacity_ah.unwrap() - 49.6982).abs() < 1e-3);
    assert!((rows[1].capacity_ah.unwrap() - 47.6514).abs() < 1e-3);
    let last = rows.last().unwrap().capacity_ah.unwrap();
    assert!(last < 46.0, "0 °C cell should fade over 100 cycles, ends at {last}");
    // The chamber set-point is constant: it is the cell's test temperature.
    assert_eq!(raw[0].meta.temperature_c, Some(0.0));
    assert!(rows.iter().all(|r| r.descriptors[Descriptor::TemperatureC.index()].is_none()));
    // 1C / 1C stated and measured (58 A on a 58 Ah cell).
    assert_eq!((raw[0].meta.charge_c_rate, raw[0].meta.discharge_c_rate), (Some(1.0), Some(1.0)));
}

#[test]
fn stated_c_rates_that_the_currents_contradict_are_dropped() {
    // CALB_45_B253 states 5C charge / 15C discharge but draws <= 69.6 A / 58 A on a 58 Ah cell.
    let raw = import_file(&fixture("CALB_45_B253.pkl")).unwrap();
    let meta = &raw[0].meta;
    assert_eq!((meta.charge_c_rate, meta.discharge_c_rate), (None, None));
    assert_eq!(meta.protocol.as_deref(), Some("charge 5C; discharge 15C"));
    assert_eq!(meta.temperature_c, Some(45.0));
}

#[test]
fn descriptors_are_available_and_physical() {
    for name in FIXTURES {
        let raw = import_file(&fixture(name)).unwrap();
        let (cell, _) = clean(raw.into_iter().next().unwrap(), CleanOptions::STRICT).unwrap();
        let get = |c: &fadecast::Cycle, d: Descriptor| c.descriptors[d.index()];
        // Every descriptor but resistance (None in the source) and temperature (a constant
        // set-point in these files, kept as the cell's temperature) on most cycles.
        const ALL: u16 = 0b10_0111_1111;
        let full = cell.cycles.iter().filter(|c| c.descriptor_mask() == ALL).count();
        assert!(
            full * 10 >= cell.cycles.len() * 9,
            "{name}: only {full}/{} cycles have all descriptors",
            cell.cycles.len()
        );
        for c in cell.cycles.iter().filter(|c| c.descriptor_mask() == ALL) {
            let charge = get(c, Descriptor::ChargeTimeS).unwrap();
            let (cc, cv) = (get(c, Descriptor::CcChargeTimeS).unwrap(), get(c, Descriptor::CvChargeTimeS).unwrap());
            assert!(
                (cc + cv - charge).abs() < 1e-6 && cc >= 0.0 && cv >= 0.0,
                "{name} {}: {cc}+{cv}≠{charge}",
                c.cycle
            );
            // A ~1C charge of a 58 Ah cell takes about an hour, never a day.
            assert!((1_000.0..20_000.0).contains(&charge), "{name} {}: charge {charge} s", c.cycle);
            let v = get(c, Descriptor::ChargeVoltageMeanV).unwrap();
            assert!((3.5..4.4).contains(&v), "{name} {}: charge V {v}", c.cycle);
            let vd = get(c, Descriptor::DischargeVoltageMeanV).unwrap();
            assert!((2.8..v).contains(&vd), "{name} {}: discharge V {vd}", c.cycle);
            let i = get(c, Descriptor::ChargeCurrentMeanA).unwrap();
            assert!((5.0..70.0).contains(&i), "{name} {}: charge I {i}", c.cycle);
            let ce = get(c, Descriptor::CoulombicEfficiency).unwrap();
            assert!((0.9..1.1).contains(&ce), "{name} {}: CE {ce}", c.cycle);
        }
    }
}

#[test]
fn descriptors_agree_with_the_calb_summary_csv() {
    // CALB_0_B182 cycle 2 in raw/CALB/calb_cycles_first100.csv: charge_time_s 4456,
    // charge_V_mean 4.16988, charge_V_std 0.202835, discharge_V_mean 3.53022, charge_I_mean 38.1524,
    // charge_time_near_Vmax_s 2056. Different edge conventions allow one sampling interval (30 s).
    let raw = import_file(&fixture("CALB_0_B182.pkl")).unwrap();
    let d = raw[0].rows[1].descriptors;
    let at = |x: Descriptor| d[x.index()].unwrap();
    assert!((at(Descriptor::ChargeTimeS) - 4456.0).abs() <= 30.0, "{}", at(Descriptor::ChargeTimeS));
    assert!((at(Descriptor::CvChargeTimeS) - 2056.0).abs() <= 30.0, "{}", at(Descriptor::CvChargeTimeS));
    assert!((at(Descriptor::ChargeVoltageMeanV) - 4.16988).abs() < 0.01);
    assert!((at(Descriptor::ChargeVoltageStdV) - 0.202835).abs() < 0.01);
    assert!((at(Descriptor::DischargeVoltageMeanV) - 3.53022).abs() < 0.01);
    assert!((at(Descriptor::ChargeCurrentMeanA) - 38.1524).abs() < 0.5);
}

#[test]
fn a_cycle_across_midnight_gets_a_sane_charge_time() {
    // CALB_0_B182 cycle 1 starts at 65,515 s and ends at 16,683 s: its clock wraps at 86,400 s.
    let raw = import_file(&fixture("CALB_0_B182.pkl")).unwrap();
    let t = raw[0].rows[0].descriptors[Descriptor::ChargeTimeS.index()].unwrap();
    assert!((4_000.0..5_000.0).contains(&t), "{t}");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn truncated_pickles_are_clear_errors_never_panics() {
    let bytes = std::fs::read(fixture("CALB_25_T25-1.pkl")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Cut in the header, in the metadata, mid-cycle and one byte short of the end.
    for cut in [1, 2, 40, 300, bytes.len() / 3, bytes.len() - 1] {
        let p = write(dir.path(), "cut.pkl", &bytes[..cut]);
        let e = import_file(&p).unwrap_err().to_string();
        assert!(e.contains("cut.pkl") && e.contains("not a readable pickle"), "cut at {cut}: {e}");
        if cut > 2 {
            assert!(e.contains("truncated"), "cut at {cut}: {e}");
        }
    }
}

#[test]
fn garbage_and_wrong_shapes_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "text.pkl", b"cell_id,cycle\nA,1\n");
    assert!(!looks_like_batterylife(&p));
    let e = import_file(&p).unwrap_err().to_string();
    assert!(e.contains("text.pkl") && e.contains("not a readable pickle"), "{e}");

    // pickle.dumps([1, 2], protocol=4): a valid pickle, but a list rather than a cell dict.
    let list = [0x80, 0x04, 0x95, 0x09, 0, 0, 0, 0, 0, 0, 0, 0x5d, 0x94, 0x28, 0x4b, 0x01, 0x4b, 0x02, 0x65, 0x2e];
    let p = write(dir.path(), "list.pkl", &list);
    assert!(!looks_like_batterylife(&p));
    let e = import_file(&p).unwrap_err().to_string();
    assert!(e.contains("list.pkl") && e.contains("expected a dict"), "{e}");
}

#[test]
fn a_bad_cycle_entry_names_the_cell_and_cycle_index() {
    // pickle.dumps({'cell_id': 'X1', 'cycle_data': [{'cycle_number': 1, 'current_in_A': [1.0, 'a']}]}, protocol=4)
    let bytes: &[u8] = b"\x80\x04\x95Y\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x07cell_id\x94\x8c\x02X1\x94\x8c\ncycle_data\x94]\x94}\x94(\x8c\x0ccycle_number\x94K\x01\x8c\x0ccurrent_in_A\x94]\x94(G?\xf0\x00\x00\x00\x00\x00\x00\x8c\x01a\x94euau.";
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "bad_cycle.pkl", bytes);
    assert!(looks_like_batterylife(&p));
    let e = import_file(&p).unwrap_err();
    let msg = e.to_string();
    assert_eq!(e.cell.as_deref(), Some("X1"), "{msg}");
    assert_eq!(e.row, Some(1), "{msg}");
    assert!(msg.contains("bad_cycle.pkl") && msg.contains("cycle_data[0]") && msg.contains("current_in_A"), "{msg}");
}

#[test]
fn batterylife_life_labels_attach_to_the_fixture_cells() {
    let raw_dir = fixtures().join("../../raw");
    let labels = fadecast::import::labels::load(&raw_dir).unwrap();
    let mut cells: Vec<_> = FIXTURES.iter().flat_map(|n| import_file(&fixture(n)).unwrap()).collect();
    assert_eq!(fadecast::import::labels::attach(&mut cells, &labels), 3);
    let eol: Vec<_> = cells.iter().map(|c| c.meta.eol_cycle_label).collect();
    // raw/CALB/calb_life_labels_batterylife.json
    assert_eq!(eol, vec![Some(107.0), Some(792.0), Some(997.0)]);
}

#[test]
fn corrupted_bytes_never_panic() {
    // pickle.dumps({'cell_id': 'X1', 'cycle_data': [{'cycle_number': 1, 'current_in_A': [1.0, -1.0],
    //               'discharge_capacity_in_Ah': [0.0, 0.5]}]}, protocol=4): a valid cell, then every
    // byte overwritten in turn with a few values. Each result is Ok or an error naming the file.
    let good: &[u8] = b"\x80\x04\x95\x8f\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x07cell_id\x94\x8c\x02X1\x94\x8c\ncycle_data\x94]\x94}\x94(\x8c\x0ccycle_number\x94K\x01\x8c\x0ccurrent_in_A\x94]\x94(G?\xf0\x00\x00\x00\x00\x00\x00G\xbf\xf0\x00\x00\x00\x00\x00\x00e\x8c\x18discharge_capacity_in_Ah\x94]\x94(G\x00\x00\x00\x00\x00\x00\x00\x00G?\xe0\x00\x00\x00\x00\x00\x00euau.";
    let dir = tempfile::tempdir().unwrap();
    let ok = import_file(&write(dir.path(), "good.pkl", good)).unwrap();
    assert_eq!(ok[0].rows[0].capacity_ah, Some(0.5));
    for i in 0..good.len() {
        for b in [0x00, 0xff, 0x80, b'K', b'e'] {
            let mut bytes = good.to_vec();
            bytes[i] = b;
            let p = write(dir.path(), "flip.pkl", &bytes);
            if let Err(e) = import_file(&p) {
                assert!(e.to_string().contains("flip.pkl"), "byte {i} = {b:#x}: {e}");
            }
        }
    }
}

#[test]
fn a_varying_temperature_is_a_per_cycle_descriptor() {
    // pickle.dumps({'cell_id': 'T1', 'cycle_data': [
    //   {'cycle_number': 1, 'current_in_A': [1.0, -1.0], 'discharge_capacity_in_Ah': [0.0, 0.5], 'temperature_in_C': [20, 22]},
    //   {'cycle_number': 2, 'current_in_A': [1.0, -1.0], 'discharge_capacity_in_Ah': [0.0, 0.49], 'temperature_in_C': [30.0, 30.0]}]}, protocol=4)
    let bytes: &[u8] = b"\x80\x04\x95\xfb\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x07cell_id\x94\x8c\x02T1\x94\x8c\ncycle_data\x94]\x94(}\x94(\x8c\x0ccycle_number\x94K\x01\x8c\x0ccurrent_in_A\x94]\x94(G?\xf0\x00\x00\x00\x00\x00\x00G\xbf\xf0\x00\x00\x00\x00\x00\x00e\x8c\x18discharge_capacity_in_Ah\x94]\x94(G\x00\x00\x00\x00\x00\x00\x00\x00G?\xe0\x00\x00\x00\x00\x00\x00e\x8c\x10temperature_in_C\x94]\x94(K\x14K\x16eu}\x94(h\x06K\x02h\x07]\x94(G?\xf0\x00\x00\x00\x00\x00\x00G\xbf\xf0\x00\x00\x00\x00\x00\x00eh\x09]\x94(G\x00\x00\x00\x00\x00\x00\x00\x00G?\xdf\x5c(\xf5\xc2\x8f\x5ceh\x0b]\x94(G@>\x00\x00\x00\x00\x00\x00G@>\x00\x00\x00\x00\x00\x00eueu.";
    let dir = tempfile::tempdir().unwrap();
    let raw = import_file(&write(dir.path(), "t.pkl", bytes)).unwrap().remove(0);
    assert_eq!(raw.meta.temperature_c, None);
    let t: Vec<_> = raw.rows.iter().map(|r| r.descriptors[Descriptor::TemperatureC.index()]).collect();
    assert_eq!(t, [Some(21.0), Some(30.0)]);
    assert_eq!(raw.rows[1].capacity_ah, Some(0.49));
}

#[test]
fn a_pickle_with_python_objects_says_only_plain_pickles_are_supported() {
    // pickle.dumps({'cell_id': 'G1', 'cycle_data': [], 'when': datetime.date(2024, 1, 2)}, protocol=4)
    let bytes: &[u8] = b"\x80\x04\x95I\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x07cell_id\x94\x8c\x02G1\x94\x8c\ncycle_data\x94]\x94\x8c\x04when\x94\x8c\x08datetime\x94\x8c\x04date\x94\x93\x94C\x04\x07\xe8\x01\x02\x94\x85\x94R\x94u.";
    let dir = tempfile::tempdir().unwrap();
    let e = import_file(&write(dir.path(), "obj.pkl", bytes)).unwrap_err().to_string();
    assert!(e.contains("obj.pkl") && e.contains("only plain dict/list pickles"), "{e}");
}
