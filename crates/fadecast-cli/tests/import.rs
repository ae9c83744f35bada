//! `fadecast import` on the real cycler fixtures in `shared/data/fixtures/cyclers`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn fixture(rel: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared/data/fixtures/cyclers"))
        .chain(here.ancestors().map(|a| a.join("../shared/data/fixtures/cyclers")))
        .find(|p| p.is_dir())
        .expect("fixtures folder shared/data/fixtures/cyclers beside the repository")
        .join(rel)
}

fn fadecast() -> Command {
    Command::cargo_bin("fadecast").unwrap()
}

#[test]
fn prints_the_detected_format_and_the_per_cycle_table() {
    fadecast()
        .args(["import"])
        .arg(fixture("arbin_csv/arbin_example.csv"))
        .assert()
        .success()
        .stdout(predicate::str::contains("arbin-csv (1 cell)"))
        .stdout(predicate::str::contains("1.0723603"))
        .stdout(predicate::str::contains("1.0729095"));
}

#[test]
fn json_lists_each_cells_cycles_with_discharge_and_charge_capacity() {
    let out = fadecast().arg("import").arg(fixture("neware_csv/neware_uio.csv")).arg("--json").assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["files"][0]["format"], "neware-csv");
    let cycles = v["cells"][0]["cycles"].as_array().unwrap();
    assert_eq!(cycles.len(), 4);
    assert_eq!(cycles[0]["cycle"], 1.0);
    let q = cycles[0]["discharge_capacity_ah"].as_f64().unwrap();
    assert!((q - 0.0046803).abs() < 1e-6, "{q}");
    let chg = cycles[0]["charge_capacity_ah"].as_f64().unwrap();
    assert!(chg > 0.004 && chg < 0.005, "{chg}");
}

#[test]
fn a_rest_only_file_is_refused_with_a_clear_message() {
    fadecast()
        .arg("import")
        .arg(fixture("pec_csv/Test25205.csv"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("Test25205.csv"))
        .stderr(predicate::str::contains("no discharge"))
        .stderr(predicate::str::contains("only rest"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn format_can_be_forced_and_a_wrong_one_is_an_error_naming_the_column() {
    fadecast()
        .arg("import")
        .arg(fixture("maccor_txt/maccor_002.txt"))
        .args(["--format", "maccor"])
        .assert()
        .success()
        .stdout(predicate::str::contains("maccor (1 cell)"));
    fadecast()
        .arg("import")
        .arg(fixture("maccor_txt/maccor_002.txt"))
        .args(["--format", "bdf"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("maccor_002.txt"));
    fadecast()
        .arg("import")
        .arg(fixture("maccor_txt/maccor_002.txt"))
        .args(["--format", "excel"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("arbin-csv"));
}

#[test]
fn a_folder_is_read_file_by_file_and_non_data_files_are_reported_as_skipped() {
    fadecast()
        .arg("import")
        .arg(fixture("maccor_txt"))
        .assert()
        .success()
        .stdout(predicate::str::contains("PredictionDiagnostics_000109_tztest.010: maccor (1 cell)"))
        .stdout(predicate::str::contains("maccor_example.001: skipped"));
}

#[test]
fn out_writes_a_parquet_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cells.parquet");
    fadecast()
        .arg("import")
        .arg(fixture("batteryarchive_csv/CALCE_CX2-33_prism_LCO_25C_0-100_0.5-0.5C_d_cycle_data.csv"))
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"), "not a Parquet file");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 1, "temp files left behind: {leftovers:?}");
}

#[test]
fn help_lists_the_formats() {
    fadecast()
        .args(["import", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("neware-ndax"))
        .stdout(predicate::str::contains("--format"))
        .stdout(predicate::str::contains("--json"));
}

#[test]
fn a_partial_last_cycle_is_left_out_with_a_warning_naming_file_cell_and_row() {
    // The Maccor test stopped 30 % into cycle 89's discharge.
    fadecast()
        .arg("import")
        .arg(fixture("maccor_txt/PredictionDiagnostics_000109_tztest.010"))
        .assert()
        .success()
        .stdout(predicate::str::contains("3 cycles;"))
        .stdout(predicate::str::contains("1 partial cycle (89)"))
        .stderr(predicate::str::contains("PredictionDiagnostics_000109_tztest.010, cell PredictionDiagnostics_000109_tztest"))
        .stderr(predicate::str::contains("cycle 89 (row 1618)"));
}

#[test]
fn a_partial_first_cycle_does_not_read_as_an_end_of_life_already_reached() {
    // EC-Lab's first cycle discharged a quarter of the cell; the six after it hold 100 %.
    let out = fadecast()
        .args(["forecast", "--json", "--input"])
        .arg(fixture("biologic_mpr/jdb11-1_c3_gcpl_5cycles_2V-3p8V_C-24_data_C09.mpr"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cycle 1 (row 1)"), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &v["cells"][0];
    assert_eq!(c["observations"], 6);
    assert!(c["source"].as_str().unwrap().contains("jdb11-1_c3_gcpl_5cycles_2V-3p8V_C-24_data_C09.mpr"), "{}", c["source"]);
    assert!(c["last_soh"].as_f64().unwrap() > 0.99, "{}", c["last_soh"]);
    // Not "end of life at cycle 1, no life left": the forecast runs on from the origin.
    let eol_lower = c["eol_cycle"]["lower"].as_f64().unwrap();
    assert!(eol_lower > c["origin_cycle"].as_f64().unwrap() + 10.0, "{}", c["eol_cycle"]);
}

#[test]
fn nominal_capacity_sets_every_cells_soh_reference_and_a_bad_one_is_refused() {
    fadecast()
        .arg("import")
        .arg(fixture("neware_csv/neware_uio.csv"))
        .args(["--nominal-capacity", "0.005"])
        .assert()
        .success()
        .stdout(predicate::str::contains("SOH reference 0.005000 Ah (nominal)"))
        .stdout(predicate::str::contains("0.9361")); // 0.0046803 Ah / 0.005 Ah
    let out = fadecast()
        .args(["forecast", "--json", "--nominal-capacity", "1.8", "--input"])
        .arg(fixture("maccor_txt/PredictionDiagnostics_000109_tztest.010"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cells"][0]["reference_capacity_ah"], 1.8);
    let soh = v["cells"][0]["last_soh"].as_f64().unwrap();
    assert!((soh - 1.7460849 / 1.8).abs() < 1e-6, "{soh}");
    for bad in ["0", "-2", "2500mAh"] {
        fadecast()
            .args(["forecast", "--input", "x.csv", "--nominal-capacity", bad])
            .assert()
            .failure()
            .stderr(predicate::str::contains("give the capacity in Ah as a positive number"));
    }
}

#[test]
fn a_reference_capacity_far_below_the_cells_capacity_is_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("mah_as_ah.csv");
    // 2.5 Ah cells whose nominal was typed as 0.25 Ah.
    let rows: String = (1..=20).map(|c| format!("A,{c},{:.4},0.25\n", 2.5 - 0.001 * c as f64)).collect();
    std::fs::write(&csv, format!("cell_id,cycle,capacity_ah,nominal_ah\n{rows}")).unwrap();
    fadecast()
        .arg("import")
        .arg(&csv)
        .assert()
        .success()
        .stderr(predicate::str::contains("mah_as_ah.csv, cell A: SOH reaches 10.00 at cycle 1"))
        .stderr(predicate::str::contains("--nominal-capacity"));
    // With the right one there is nothing to warn about.
    fadecast().arg("import").arg(&csv).args(["--nominal-capacity", "2.5"]).assert().success().stderr(predicate::str::contains("SOH reaches").not());
}

#[test]
fn a_per_cycle_csv_cut_mid_row_is_warned_about_naming_the_row() {
    let tmp = tempfile::tempdir().unwrap();
    let cut = tmp.path().join("cut.csv");
    // "1.87" cut to "1." still parses as a number: only the missing line break gives it away.
    std::fs::write(&cut, "cell_id,cycle,capacity_ah\nA,1,2.0\nA,2,1.9\nA,3,1.").unwrap();
    fadecast()
        .arg("import")
        .arg(&cut)
        .assert()
        .success()
        .stderr(predicate::str::contains("cut.csv, row 4: the file does not end with a line break"));
    std::fs::write(&cut, "cell_id,cycle,capacity_ah\nA,1,2.0\nA,2,1.9\nA,3,1.87\n").unwrap();
    fadecast().arg("import").arg(&cut).assert().success().stderr(predicate::str::contains("line break").not());
}

#[test]
fn one_cell_id_in_two_files_is_named_apart_by_its_file() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = |fade: f64| (1..=40).map(|c| format!("A,{c},{}\n", 2.0 - fade * c as f64)).collect::<String>();
    std::fs::write(tmp.path().join("run1.csv"), format!("cell_id,cycle,capacity_ah\n{}", rows(0.001))).unwrap();
    std::fs::write(tmp.path().join("run2.csv"), format!("cell_id,cycle,capacity_ah\n{}", rows(0.002))).unwrap();
    let sub = tmp.path().join("more");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("run2.csv"), format!("cell_id,cycle,capacity_ah\n{}B,1,2.0\nB,2,1.99\nB,3,1.98\n", rows(0.003))).unwrap();
    let out = fadecast().arg("forecast").arg("--input").arg(tmp.path()).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let f: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut ids: Vec<String> = f["cells"].as_array().unwrap().iter().map(|c| c["cell_id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    let (nested, top) = (sub.join("run2.csv"), tmp.path().join("run2.csv"));
    let mut want = vec![
        "A@run1.csv".to_string(),
        format!("A@{}", top.display()),
        format!("A@{}", nested.display()),
        "B".to_string(), // an id of its own keeps it
    ];
    want.sort();
    assert_eq!(ids, want);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cell A also comes from another file; it is named A@run1.csv here"), "{err}");
}

#[test]
fn an_output_that_cannot_be_written_is_an_error_saying_so_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("cells.csv");
    std::fs::write(&csv, "cell_id,cycle,capacity_ah\nA,1,2.0\nA,2,1.99\n").unwrap();
    // --out naming a folder: the error is about writing it, not reading it.
    let out = fadecast().arg("import").arg(&csv).arg("--out").arg(tmp.path()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write") && !err.contains("cannot read"), "{err}");
    // --plot in a folder that does not exist names the path asked for, not a temporary file.
    let plot = tmp.path().join("no-such-folder").join("f.svg");
    let out = fadecast().args(["forecast", "--input"]).arg(&csv).arg("--plot").arg(&plot).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("--plot {}: the folder", plot.display())) && !err.contains(".f.svg.tmp"), "{err}");
}

#[test]
fn a_cycler_export_cut_inside_its_last_row_is_warned_about_naming_the_row() {
    let tmp = tempfile::tempdir().unwrap();
    let cut = tmp.path().join("cut.csv");
    let mut text = String::from("Data_Point,Test_Time(s),Step_Index,Cycle_Index,Current(A),Voltage(V),Charge_Capacity(Ah),Discharge_Capacity(Ah)\n");
    for p in 1..=8 {
        let (current, q) = if p <= 4 { (1.0, 0.25 * p as f64) } else { (-1.0, 0.25 * (p - 4) as f64) };
        let (chg, dchg) = if current > 0.0 { (q, 0.0) } else { (1.0, q) };
        text += &format!("{p},{},{},1,{current},3.7,{chg},{dchg}\n", 900 * p, if p <= 4 { 1 } else { 2 });
    }
    text += "9,8100,2";
    std::fs::write(&cut, text).unwrap();
    fadecast()
        .arg("import")
        .arg(&cut)
        .assert()
        .success()
        .stderr(predicate::str::contains("cut.csv, row 10: the file ends inside this row (3 of the header's 8 fields)"));
}
