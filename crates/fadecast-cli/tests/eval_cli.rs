//! `fadecast eval` end to end on a small synthetic corpus (the real corpus is too slow for CI).

use std::path::Path;

use serde_json::Value;

mod common;
use common::{fadecast, run_ok, write_corpus};

#[test]
fn list_models_json_names_the_model_and_every_baseline() {
    let out = run_ok(&["eval", "--list-models", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v.as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["default", "persistence", "linear", "exp", "exp2", "power", "gp", "per_dataset"]);
    let kinds: Vec<&str> = v.as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds[0], "model");
    assert!(kinds[1..].iter().all(|k| *k == "baseline"));
}

#[test]
fn split_eval_report_and_compare() {
    let tmp = tempfile::tempdir().unwrap();
    let (corpus, split) = (tmp.path().join("corpus"), tmp.path().join("split.json"));
    std::fs::create_dir_all(&corpus).unwrap();
    write_corpus(&corpus);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    run_ok(&["eval", "--corpus", &s(&corpus), "--write-split", &s(&split)]);
    let sf: Value = serde_json::from_str(&std::fs::read_to_string(&split).unwrap()).unwrap();
    assert_eq!(sf["datasets"]["Oxford"]["unseen"].as_array().unwrap().len(), 3);
    assert_eq!(sf["datasets"]["MATR"]["test"].as_array().unwrap().len(), 2);

    let out_a = tmp.path().join("persistence");
    let stdout = run_ok(&[
        "eval", "--corpus", &s(&corpus), "--split-file", &s(&split), "--model", "persistence", "--task", "early", "--split", "all", "--out", &s(&out_a),
    ])
    .stdout;
    assert!(String::from_utf8_lossy(&stdout).contains("macro MAE"));
    let m: Value = serde_json::from_str(&std::fs::read_to_string(out_a.join("metrics.json")).unwrap()).unwrap();
    assert_eq!((m["model"].as_str(), m["task"].as_str(), m["split"].as_str()), (Some("persistence"), Some("early"), Some("all")));
    for k in ["mae", "rmse", "mape"] {
        assert!(m["macro"][k].as_f64().unwrap() > 0.0, "macro.{k}");
    }
    assert!(m["macro"]["coverage_p10_p90"].is_null(), "point forecaster: coverage null");
    assert!(m["macro"]["bias"].as_f64().unwrap() > 0.0, "persistence holds the last SOH: above a fading truth");
    assert_eq!(m["datasets"]["Oxford"]["seen"], false);
    assert_eq!(m["datasets"]["MATR"]["seen"], true);
    assert_eq!(m["datasets"]["MATR"]["n_cells"], 2);
    assert!(m["macro_seen"].is_object() && m["macro_unseen"].is_object());
    let cells = m["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2 + 1 + 3, "test cells of MATR and CALCE plus Oxford");
    assert!(cells.iter().all(|c| c["dataset"].is_string() && c["cell_id"].is_string() && c["rmse"].is_f64()));
    assert!(cells.iter().all(|c| c["split"] == "test" || c["split"] == "unseen"), "never train or val cells");
    assert!(out_a.join("report.md").is_file() && out_a.join("forecast_MATR.svg").is_file() && out_a.join("error_vs_horizon.svg").is_file());
    let report = std::fs::read_to_string(out_a.join("report.md")).unwrap();
    assert!(report.contains("| MAPE | bias | coverage |") && report.contains("## Bias (median − truth, SOH pp) against cycles after the origin"), "{report}");

    let out_b = tmp.path().join("gp");
    run_ok(&["eval", "--corpus", &s(&corpus), "--split-file", &s(&split), "--model", "gp", "--split", "all", "--out", &s(&out_b)]);
    let g: Value = serde_json::from_str(&std::fs::read_to_string(out_b.join("metrics.json")).unwrap()).unwrap();
    let cov = g["macro"]["coverage_p10_p90"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&cov));

    let cmp = run_ok(&["eval", "--compare", &s(&out_a.join("metrics.json")), &s(&out_b.join("metrics.json"))]).stdout;
    let cmp = String::from_utf8(cmp).unwrap();
    assert!(cmp.contains("| dataset | cells | persistence | gp |") && cmp.contains("| MATR |") && cmp.contains("**macro**"), "{cmp}");
}

#[test]
fn eval_on_user_data_scores_every_cell_as_unseen_test() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("mine.csv");
    let mut text = String::from("cell_id,cycle,capacity_ah\n");
    for c in 1..=120 {
        text += &format!("A,{c},{:.5}\nB,{c},{:.5}\n", 2.0 - 0.002 * c as f64, 2.0 - 0.003 * c as f64);
    }
    std::fs::write(&csv, text).unwrap();
    let out = tmp.path().join("out");
    run_ok(&["eval", "--data", csv.to_str().unwrap(), "--model", "gp", "--out", out.to_str().unwrap()]);
    let m: Value = serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["split"], "data");
    assert_eq!(m["cells"].as_array().unwrap().len(), 2);
    assert!(m["split_version"].is_null());

    // The first 30 cycles as every cell's context: cycles 1..30, then 90 targets each.
    let first = tmp.path().join("first");
    run_ok(&["eval", "--data", csv.to_str().unwrap(), "--model", "persistence", "--task", "first", "--context-cycles", "30", "--out", first.to_str().unwrap()]);
    let m: Value = serde_json::from_str(&std::fs::read_to_string(first.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["task"], "first30");
    assert!(m["cells"].as_array().unwrap().iter().all(|c| c["n_points"] == 90), "{}", m["cells"]);
}

#[test]
fn eval_on_a_folder_records_the_files_it_could_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mine");
    std::fs::create_dir(&dir).unwrap();
    let mut text = String::from("cell_id,cycle,capacity_ah\n");
    for c in 1..=120 {
        text += &format!("A,{c},{:.5}\n", 2.0 - 0.002 * c as f64);
    }
    std::fs::write(dir.join("good.csv"), text).unwrap();
    std::fs::write(dir.join("bad.csv"), "cell_id,cycle,capacity_ah\nB,1,2.0\nB,2,-1\n").unwrap();
    let out = tmp.path().join("out");
    run_ok(&["eval", "--data", dir.to_str().unwrap(), "--model", "gp", "--out", out.to_str().unwrap()]);
    let m: Value = serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(m["cells"].as_array().unwrap().len(), 1);
    let left = m["unreadable_files"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0]["path"].as_str().unwrap().ends_with("bad.csv") && left[0]["error"].as_str().unwrap().contains("row 3"), "{left:?}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("Files left out, not read so not scored") && md.contains("bad.csv"), "{md}");
}

#[test]
fn clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let out = fadecast().args(["eval", "--model", "nope", "--out"]).arg(tmp.path().join("x")).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown model `nope`"));
    let out = fadecast().args(["eval", "--model", "per_dataset", "--data", "whatever.csv", "--out"]).arg(tmp.path().join("x")).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs --corpus"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = fadecast().args(["eval", "--model", "gp", "--task", "early", "--context-cycles", "20", "--data", "x.csv", "--out"]).arg(tmp.path().join("x")).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--context-cycles goes with --task first"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_robustness_probe_leaves_a_shape_only_forecaster_unchanged_and_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("mine.csv");
    let mut text = String::from("cell_id,cycle,capacity_ah\n");
    for c in 1..=200 {
        let c = c as f64;
        text += &format!("A,{c},{:.6}\nB,{c},{:.6}\n", 2.0 - 0.002 * c - 1e-5 * c * c, 2.0 - 0.003 * c);
    }
    std::fs::write(&csv, text).unwrap();
    let score = |probe: &[&str]| -> Value {
        let out = tmp.path().join(format!("out{}", probe.join("")));
        let mut args = vec!["eval", "--data", csv.to_str().unwrap(), "--model", "persistence", "--out", out.to_str().unwrap()];
        args.extend(probe);
        run_ok(&args);
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap()
    };
    let (plain, probed) = (score(&[]), score(&["--shift-soh", "-0.03", "--scale-cycles", "2.5"]));
    let rmse = |m: &Value| m["macro"]["rmse"].as_f64().unwrap();
    assert!(rmse(&plain) > 1.0, "the cells fade: {}", rmse(&plain));
    assert!((rmse(&plain) - rmse(&probed)).abs() < 1e-6, "the last value follows a shifted, stretched curve: {} vs {}", rmse(&plain), rmse(&probed));
    assert!(plain.get("perturbation").is_none());
    assert_eq!(probed["perturbation"]["soh_shift"], -0.03);
    assert_eq!(probed["perturbation"]["cycle_scale"], 2.5);

    let bad = fadecast().args(["eval", "--data", csv.to_str().unwrap(), "--model", "persistence", "--scale-cycles", "0", "--out"]).arg(tmp.path().join("x")).output().unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cycle scale must be in (0, 100]"), "{}", String::from_utf8_lossy(&bad.stderr));
    assert!(!tmp.path().join("x").exists(), "nothing written");
}
