//! `fadecast corpus build` / `corpus info` end to end on the real shared data.

use assert_cmd::Command;
use serde_json::Value;

fn fadecast() -> Command {
    Command::cargo_bin("fadecast").unwrap()
}

#[test]
fn corpus_build_holds_all_18_datasets_and_info_reports_them() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("corpus");
    let manifest = fadecast().args(["corpus", "build", "--json", "--out"]).arg(&out).output().unwrap();
    assert!(manifest.status.success(), "{}", String::from_utf8_lossy(&manifest.stderr));
    let m: Value = serde_json::from_slice(&manifest.stdout).unwrap();
    assert_eq!(m["datasets"].as_array().unwrap().len(), 18);
    assert!(m["cells"].as_u64().unwrap() >= 1150, "cells {}", m["cells"]);
    assert!(m["cycle_rows"].as_u64().unwrap() >= 420_000, "rows {}", m["cycle_rows"]);
    for d in m["datasets"].as_array().unwrap() {
        assert!(!d["inputs"].as_array().unwrap().is_empty(), "{} lists its input checksums", d["dataset"]);
    }
    for f in ["cells.parquet", "cycles.parquet", "manifest.json"] {
        assert!(out.join(f).is_file(), "{f} written");
    }

    let info = fadecast().args(["corpus", "info", "--json"]).arg(&out).output().unwrap();
    assert!(info.status.success(), "{}", String::from_utf8_lossy(&info.stderr));
    let s: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(s["cells"], m["cells"]);
    assert_eq!(s["cycle_rows"], m["cycle_rows"]);
    let by_name: std::collections::BTreeMap<String, &Value> =
        s["datasets"].as_array().unwrap().iter().map(|d| (d["dataset"].as_str().unwrap().to_string(), d)).collect();
    for d in m["datasets"].as_array().unwrap() {
        let name = d["dataset"].as_str().unwrap();
        assert_eq!(by_name[name]["cells"], d["cells"], "{name}: manifest and info agree");
        let (lo, hi) = (by_name[name]["soh"][0].as_f64().unwrap(), by_name[name]["soh"][1].as_f64().unwrap());
        assert!(lo > 0.0 && hi < 1.6, "{name}: SOH range {lo}..{hi} is physical");
    }
}

#[test]
fn corpus_build_with_a_missing_raw_folder_fails_clearly_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("corpus");
    let o = fadecast()
        .args(["corpus", "build", "--raw"])
        .arg(tmp.path().join("nope"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope"));
    assert!(!out.exists());
}

#[test]
fn a_dataset_that_fails_to_import_names_its_file_and_leaves_no_corpus() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = tmp.path().join("raw");
    // A CLO folder whose capacity matrix is cut off mid-file.
    std::fs::create_dir_all(raw.join("CLO")).unwrap();
    let real = fadecast::corpus::default_raw_dir().join("CLO");
    for e in std::fs::read_dir(&real).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, raw.join("CLO").join(p.file_name().unwrap())).unwrap();
    }
    let q = raw.join("CLO/Qn.csv");
    let bytes = std::fs::read(&q).unwrap();
    let mut cut = bytes[..bytes.len() / 3].to_vec();
    cut.extend_from_slice(b",abc\n");
    std::fs::write(&q, cut).unwrap();
    let out = tmp.path().join("corpus");
    let o = fadecast().args(["corpus", "build", "--dataset", "CLO", "--raw"]).arg(&raw).arg("--out").arg(&out).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("Qn.csv") && err.contains("row"), "{err}");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "no temp folder left behind");
}
