//! The universal model through the CLI: train → resume → eval → forecast → finetune → adapters,
//! on a small synthetic corpus with a tiny config; and the shipped weights with no setup.

use std::path::Path;

use serde_json::Value;

mod common;
use common::{fadecast, run_ok, write_corpus, write_user_csv};

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const TINY: &str = r#"{
  "model": {"patch_len": 4, "d_model": 16, "n_layers": 1, "n_heads": 2, "d_ff": 32, "max_context_patches": 8, "d_proj": 8},
  "epochs": 2, "windows_per_epoch": 64, "batch_size": 16, "warmup_steps": 2,
  "scaler_windows": 64, "val_windows": 16, "synthetic": {"share": 0.2, "cells": 8}
}"#;

#[test]
fn train_resume_eval_forecast_and_finetune_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (corpus, split, config, run) =
        (tmp.path().join("corpus"), tmp.path().join("split.json"), tmp.path().join("tiny.json"), tmp.path().join("run"));
    std::fs::create_dir_all(&corpus).unwrap();
    write_corpus(&corpus);
    std::fs::write(&config, TINY).unwrap();
    run_ok(&["eval", "--corpus", &s(&corpus), "--write-split", &s(&split)]);

    // Train: weights, config, manifest (the train cells only: no unseen dataset), log, checkpoints.
    let train = ["train", "--corpus", &s(&corpus), "--config", &s(&config), "--split-file", &s(&split), "--out", &s(&run)];
    run_ok(&train);
    for f in ["model.json", "model.safetensors", "config.json", "manifest.json", "run.json", "log.jsonl", "checkpoints/epoch-0002/state.json"] {
        assert!(run.join(f).is_file(), "{f}");
    }
    let manifest = json(&run.join("manifest.json"));
    let keys: Vec<&str> = manifest["cells"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert!(!keys.is_empty() && keys.iter().all(|k| !k.starts_with("Oxford/")), "{keys:?}");
    assert_eq!(keys.iter().filter(|k| k.starts_with("synthetic/")).count(), 8, "the synthetic cells are listed too: {keys:?}");
    assert_eq!(json(&run.join("config.json"))["seed"], 42, "the full config, defaults filled in, is saved");
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 2);

    // --resume after the last epoch has nothing left to do and keeps the log.
    run_ok(&[&train[..], &["--resume"]].concat());
    assert_eq!(std::fs::read_to_string(run.join("log.jsonl")).unwrap(), log);

    // Eval with the run folder as --model: a probabilistic forecaster, on test and unseen cells.
    let ev = tmp.path().join("eval");
    run_ok(&["eval", "--corpus", &s(&corpus), "--split-file", &s(&split), "--model", &s(&run), "--split", "all", "--out", &s(&ev)]);
    let m = json(&ev.join("metrics.json"));
    assert_eq!(m["model"], "universal:run");
    assert_eq!(m["model_settings"], "interval_scale 1", "the interval scale it ran with is recorded");
    let cov = m["macro"]["coverage_p10_p90"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&cov));
    assert!(m["macro"]["rmse"].as_f64().unwrap().is_finite());

    // Forecast a user's CSV: per cell, a trajectory of quantiles, EOL and RUL with intervals.
    let csv = tmp.path().join("mine.csv");
    write_user_csv(&csv, 120);
    let plot = tmp.path().join("f.svg");
    let out = run_ok(&["forecast", "--input", &s(&csv), "--model", &s(&run), "--json", "--plot", &s(&plot)]);
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cells = f["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    for c in cells {
        assert_eq!(c["origin_cycle"], 120.0);
        let traj = c["trajectory"].as_array().unwrap();
        assert!(!traj.is_empty());
        assert!(traj.iter().all(|r| r["cycle"].as_f64().unwrap() > 120.0 && r["p10"].is_number() && r["p50"].is_number() && r["p90"].is_number()));
        for k in ["eol_cycle", "rul_cycles"] {
            assert!(c[k].get("p50").is_some() && c[k].get("lower").is_some() && c[k].get("upper").is_some(), "{k}");
        }
    }
    // The figure carries its own key, and each panel its cell's EOL and RUL as the JSON has them.
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg"));
    let svg = svg.replace("&gt;", ">");
    for key in ["history", "median", "SOH p10–p90"] {
        assert!(svg.contains(&format!("\n{key}\n")), "the key names {key}");
    }
    for c in cells {
        // A cycle never reached shows as ">" the rollout's end.
        let shown = |what: &str, v: &Value| v.as_f64().map_or_else(|| format!("{what} >"), |x| format!("{what} {x:.0}"));
        let (eol, rul) = (shown("EOL", &c["eol_cycle"]["p50"]), shown("RUL", &c["rul_cycles"]["p50"]));
        assert!(svg.contains(&eol) && svg.contains("(p10–p90: ") && svg.contains(&rul), "{eol} … {rul} in the figure");
    }

    // Finetune adapters on the CSV; forecast with them; eval with them leaves their cells out.
    let adapter = tmp.path().join("adapter");
    run_ok(&["finetune", "--base", &s(&run), "--data", &s(&csv), "--out", &s(&adapter), "--epochs", "1", "--rank", "2"]);
    assert!(adapter.join("adapter.safetensors").is_file() && adapter.join("adapter.json").is_file());
    assert!(!tmp.path().join("adapter.tmp").exists(), "no temporary folder is left behind");
    let adapted: Value =
        serde_json::from_slice(&run_ok(&["forecast", "--input", &s(&csv), "--model", &s(&run), "--adapter", &s(&adapter), "--json"]).stdout).unwrap();
    assert_eq!(adapted["cells"].as_array().unwrap().len(), 2);
    assert_eq!(adapted["cells"][0]["model"], "universal+lora:adapter");
    let ev2 = tmp.path().join("eval2");
    let out = fadecast()
        .args(["eval", "--data", &s(&csv), "--model", &s(&run), "--adapter", &s(&adapter), "--out", &s(&ev2)])
        .output()
        .unwrap();
    assert!(!out.status.success(), "every cell of the CSV trained the adapter, so none is left to score");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no cell has"), "{}", String::from_utf8_lossy(&out.stderr));

    // --hold-out 1: trained on one cell, warned of it, and the other scored with and without the
    // adapters exactly as `eval` scores it.
    let held = tmp.path().join("held");
    let out = run_ok(&["finetune", "--base", &s(&run), "--data", &s(&csv), "--out", &s(&held), "--epochs", "1", "--rank", "2", "--hold-out", "1", "--json"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("adapting on 1 cell"), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    let check = json(&held.join("check.json"));
    assert_eq!(summary["check"], check);
    let (trained, kept) = (summary["cells"][0].as_str().unwrap(), check["cells"][0].as_str().unwrap());
    assert_eq!(summary["cells"].as_array().unwrap().len(), 1);
    assert_ne!(trained, kept);
    let early = &check["tasks"][0];
    assert_eq!((early["task"].as_str(), early["n_cells"].as_u64()), (Some("early"), Some(1)));
    let eval_rmse = |extra: &[&str]| -> f64 {
        let ev = tmp.path().join("eval-held");
        run_ok(&[&["eval", "--data", &s(&csv), "--model", &s(&run), "--out", &s(&ev)], extra].concat());
        json(&ev.join("metrics.json"))["macro"]["rmse"].as_f64().unwrap()
    };
    assert_eq!(early["adapted"]["rmse"].as_f64().unwrap(), eval_rmse(&["--adapter", &s(&held)]));
    assert_eq!(early["base"]["rmse"].as_f64().unwrap(), eval_rmse(&["--exclude-cells", trained]));
    let out = fadecast().args(["finetune", "--base", &s(&run), "--data", &s(&csv), "--out", &s(&held), "--hold-out", "2"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--hold-out 2: only 2 cells were given"), "{err}");
}

#[test]
fn an_ensemble_of_two_seeds_evaluates_forecasts_and_finetunes_as_one() {
    let tmp = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (corpus, split, config, ens) =
        (tmp.path().join("corpus"), tmp.path().join("split.json"), tmp.path().join("tiny.json"), tmp.path().join("ensemble"));
    std::fs::create_dir_all(&corpus).unwrap();
    write_corpus(&corpus);
    // Self-fed in its last epoch, as the shipped members' last epochs were.
    std::fs::write(&config, TINY.replace(r#""epochs": 2,"#, r#""epochs": 2, "self_feed_prob": 0.5, "self_feed_from_epoch": 2,"#)).unwrap();
    run_ok(&["eval", "--corpus", &s(&corpus), "--write-split", &s(&split)]);
    // One config, two seeds (--seed replaces the config's and is saved with the run).
    for seed in ["42", "7"] {
        let out = ens.join(format!("seed-{seed}"));
        run_ok(&["train", "--corpus", &s(&corpus), "--config", &s(&config), "--split-file", &s(&split), "--seed", seed, "--out", &s(&out)]);
        assert_eq!(json(&out.join("config.json"))["seed"].to_string(), seed);
    }
    let a = std::fs::read(ens.join("seed-42/model.safetensors")).unwrap();
    assert_ne!(a, std::fs::read(ens.join("seed-7/model.safetensors")).unwrap(), "the seeds train different weights");
    std::fs::write(ens.join("ensemble.json"), r#"{"members": ["seed-42", "seed-7"]}"#).unwrap();

    let ev = tmp.path().join("eval");
    run_ok(&["eval", "--corpus", &s(&corpus), "--split-file", &s(&split), "--model", &s(&ens), "--out", &s(&ev)]);
    assert_eq!(json(&ev.join("metrics.json"))["model_settings"], "interval_scale 1, disagreement_weight 1, ensemble of 2");

    let csv = tmp.path().join("mine.csv");
    write_user_csv(&csv, 120);
    let forecast = |extra: &[&str]| -> Value {
        let out = run_ok(&[&["forecast", "--input", &s(&csv), "--model", &s(&ens), "--json"], extra].concat());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let f = forecast(&[]);
    assert_eq!(f["cells"].as_array().unwrap().len(), 2);
    // --disagreement-weight widens the band by the members' disagreement, never moves the median.
    let rows = |f: &Value| -> Vec<[f64; 3]> {
        let t = f["cells"][0]["trajectory"].as_array().unwrap();
        t.iter().filter(|r| r["p10"].is_number()).map(|r| ["p10", "p50", "p90"].map(|k| r[k].as_f64().unwrap())).collect()
    };
    let (own, wide) = (rows(&forecast(&["--disagreement-weight", "0", "--horizon", "200"])), rows(&forecast(&["--disagreement-weight", "25", "--horizon", "200"])));
    assert!(!own.is_empty());
    for ([lo, mid, hi], [wlo, wmid, whi]) in own.iter().zip(&wide) {
        assert!((mid - wmid).abs() < 1e-12 && wlo <= lo && whi >= hi, "{lo} {mid} {hi} vs {wlo} {wmid} {whi}");
    }
    assert!(own.iter().zip(&wide).any(|(o, w)| w[2] - w[0] > o[2] - o[0] + 1e-6), "two seeds disagree somewhere");
    let out = fadecast().args(["forecast", "--input", &s(&csv), "--model", &s(&ens), "--disagreement-weight=-1"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("--disagreement-weight: disagreement_weight must be a number at least 0, got -1"), "{err}");
    // Adapters for an ensemble: one set per member, in a folder named as the member.
    let adapter = tmp.path().join("adapter");
    let finetune = |extra: &[&str]| -> Value {
        let out = run_ok(&[&["finetune", "--base", &s(&ens), "--data", &s(&csv), "--out", &s(&adapter), "--epochs", "1", "--rank", "2", "--json"], extra].concat());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    // Self-fed as the members were, by default; the summary and adapter.json say so.
    assert_eq!(finetune(&["--no-self-feed"])["settings"]["self_feed"], false);
    assert_eq!(finetune(&[])["settings"]["self_feed"], true);
    assert_eq!(json(&adapter.join("adapter.json"))["lora"]["self_feed"], true);
    for member in ["seed-42", "seed-7"] {
        assert!(adapter.join(member).join("adapter.safetensors").is_file(), "{member}");
    }
    assert!(adapter.join("adapter.json").is_file());
    let adapted = forecast(&["--adapter", &s(&adapter)]);
    assert_eq!(adapted["cells"][0]["model"], "universal+lora:adapter");
    assert_ne!(adapted["cells"][0]["trajectory"], f["cells"][0]["trajectory"], "the adapters change the forecast");
    // Ensemble weights are the base's: changing a member's makes the adapters refuse them.
    std::fs::write(ens.join("ensemble.json"), r#"{"members": ["seed-7", "seed-42"]}"#).unwrap();
    let out = fadecast().args(["forecast", "--input", &s(&csv), "--model", &s(&ens), "--adapter", &s(&adapter)]).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("another base"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn the_shipped_weights_forecast_with_no_setup() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("mine.csv");
    write_user_csv(&csv, 150);
    // Run from an unrelated folder: the default model is found without any path or variable.
    let out = fadecast().current_dir(tmp.path()).env_remove("FADECAST_MODELS").args(["forecast", "--input", "mine.csv", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["model"], "universal");
    let c = &f["cells"][0];
    let (p10, p50, p90) = (&c["trajectory"][0]["p10"], &c["trajectory"][0]["p50"], &c["trajectory"][0]["p90"]);
    assert!(p10.as_f64().unwrap() <= p50.as_f64().unwrap() && p50.as_f64().unwrap() <= p90.as_f64().unwrap());
}

#[test]
fn a_forecast_cut_short_of_the_horizon_says_so() {
    // Five cycles are read on their own grid, a cycle a step, so the rollout's limit (1,024
    // patches of 16 points) comes near cycle 16,400; 50 cycles ahead is well inside it.
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("new.csv");
    std::fs::write(&csv, "cell_id,cycle,capacity_ah\nA,1,2.500\nA,2,2.499\nA,3,2.499\nA,4,2.498\nA,5,2.498\n").unwrap();
    let forecast = |horizon: &str| -> (Value, String) {
        let out = run_ok(&["forecast", "--input", csv.to_str().unwrap(), "--horizon", horizon, "--json"]);
        (serde_json::from_slice(&out.stdout).unwrap(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (far, err) = forecast("50000");
    let c = &far["cells"][0];
    let last = c["trajectory"].as_array().unwrap().last().unwrap()["cycle"].as_f64().unwrap();
    let warnings = c["warnings"].to_string();
    // The warning names where the rollout ends; the trajectory's last point (every ~1,000 cycles
    // here) lies at most one step before it.
    let end: f64 = warnings
        .split("the forecast ends at cycle ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no end cycle in {warnings}"));
    assert!(last <= end + 0.5 && end < 50000.0 && end - last < 1010.0, "ends at {end}, last point {last}");
    assert!(warnings.contains(&format!("the forecast ends at cycle {end:.0}, before the 50000 cycles asked for (--horizon)")), "{warnings}");
    assert!(err.contains("forecast less far than asked: A"), "{err}");
    let (near, err) = forecast("50");
    assert!(!near["cells"][0]["warnings"].to_string().contains("forecast ends"), "{}", near["cells"][0]["warnings"]);
    assert!(!err.contains("less far"), "{err}");
}

#[test]
fn forecast_errors_name_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "cell_id,cycle,capacity_ah\nA,1,2.0\nA,2,-1.0\n").unwrap();
    let out = fadecast().args(["forecast", "--input"]).arg(&bad).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv") && err.contains("row"), "{err}");

    let out = fadecast().args(["forecast", "--input", "x.csv", "--model"]).arg(tmp.path()).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a model directory"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = fadecast().args(["eval", "--model", "gp", "--adapter", "a", "--data", "x.csv", "--out"]).arg(tmp.path().join("o")).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("universal model only"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_folder_forecast_names_every_file_it_could_not_read() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("exports");
    std::fs::create_dir(&dir).unwrap();
    write_user_csv(&dir.join("good.csv"), 150);
    std::fs::write(dir.join("bad.csv"), "cell_id,cycle,capacity_ah\nB,1,2.0\nB,2,NaN\n").unwrap();
    let out = fadecast().args(["forecast", "--json", "--input"]).arg(&dir).output().unwrap();
    assert!(out.status.success(), "the readable file is still forecast: {}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv, cell B, row 3") && err.contains("could not be read"), "warned on stderr: {err}");
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["cells"].as_array().unwrap().len(), 2, "good.csv holds two cells");
    let unreadable = f["unreadable_files"].as_array().unwrap();
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");
    assert!(unreadable[0]["path"].as_str().unwrap().ends_with("bad.csv"));
    assert!(unreadable[0]["error"].as_str().unwrap().contains("NaN"), "{unreadable:?}");
}

#[test]
fn a_cell_observed_fewer_times_than_one_patch_is_warned_of() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("new.csv");
    std::fs::write(&csv, "cell_id,cycle,capacity_ah\nfresh,1,2.0\nfresh,2,1.999\n").unwrap();
    let out = fadecast().args(["forecast", "--input"]).arg(&csv).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 cell is observed fewer than 16 times (one patch)") && err.contains("fresh (2)"), "{err}");
    // --json carries it per cell, beside a reference capacity that looks wrong (SOH 10 at cycle 3).
    std::fs::write(&csv, "cell_id,cycle,capacity_ah\nfresh,1,2.0\nfresh,2,1.999\nfresh,3,20.0\n").unwrap();
    let out = fadecast().args(["forecast", "--json", "--input"]).arg(&csv).output().unwrap();
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings: Vec<&str> = f["cells"][0]["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    assert!(warnings[0].starts_with("observed 3 times, fewer than one patch (16)"), "{warnings:?}");
    assert!(warnings[1].starts_with("SOH reaches 10.00 at cycle 3"), "{warnings:?}");

    let long = tmp.path().join("long.csv");
    write_user_csv(&long, 150);
    let out = fadecast().args(["forecast", "--json", "--input"]).arg(&long).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("fewer than"), "{}", String::from_utf8_lossy(&out.stderr));
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["cells"][0]["warnings"], serde_json::json!([]));
}

#[test]
fn a_cell_already_past_end_of_life_is_said_to_be() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("fleet.csv");
    // A fades 0.1 % a cycle (SOH 0.85 at cycle 150); B 0.15 % (0.8 near cycle 133).
    write_user_csv(&csv, 150);
    let out = fadecast().args(["forecast", "--json", "--input"]).arg(&csv).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1 cell is already past end of life (SOH ≤ 0.8) before its last observation, so its RUL is 0: B (cycle 13"), "{err}");
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cells = f["cells"].as_array().unwrap();
    let (a, b) = (&cells[0], &cells[1]);
    assert_eq!((a["cell_id"].as_str(), b["cell_id"].as_str()), (Some("A"), Some("B")));
    assert_eq!(a["warnings"], serde_json::json!([]));
    let eol = b["eol_cycle"]["p50"].as_f64().unwrap();
    assert!((130.0..=136.0).contains(&eol) && b["rul_cycles"]["p50"] == 0.0, "{b}");
    let said = b["warnings"][0].as_str().unwrap();
    assert!(said.starts_with(&format!("SOH already fell to the end-of-life threshold (0.8) at cycle {eol:.0}, before the last observation (cycle 150)")), "{said}");
}

#[test]
fn an_invalid_train_config_is_an_error_naming_the_file_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (config, run) = (tmp.path().join("bad-train.json"), tmp.path().join("run"));
    std::fs::write(&config, r#"{"windows": {"dataset_balance": 1.5}}"#).unwrap();
    let out = fadecast().args(["train", "--corpus", "no-corpus", "--config"]).arg(&config).arg("--out").arg(&run).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad-train.json") && err.contains("dataset_balance must be between 0 and 1, got 1.5"), "{err}");
    assert!(!run.exists(), "no run folder is started for a config that cannot train");
}

#[test]
fn interval_scale_widens_the_forecast_bands_and_a_bad_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("mine.csv");
    write_user_csv(&csv, 150);
    let forecast = |extra: &[&str]| {
        let out = fadecast().args(["forecast", "--input"]).arg(&csv).args(["--json", "--every", "50"]).args(extra).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let f: Value = serde_json::from_slice(&out.stdout).unwrap();
        f["cells"][0].clone()
    };
    let (shipped, one, wide) = (forecast(&[]), forecast(&["--interval-scale", "1"]), forecast(&["--interval-scale", "3"]));
    let rows = |c: &Value| c["trajectory"].as_array().unwrap().iter().map(|r| ["p10", "p50", "p90"].map(|k| r[k].as_f64().unwrap())).collect::<Vec<_>>();
    let (one_rows, wide_rows) = (rows(&one), rows(&wide));
    // The wider band may take the rollout further before it has crossed end of life.
    assert!(!one_rows.is_empty() && wide_rows.len() >= one_rows.len(), "{} vs {} rows", wide_rows.len(), one_rows.len());
    for ([lo, mid, hi], [wlo, wmid, whi]) in one_rows.iter().zip(&wide_rows) {
        assert_eq!(mid, wmid, "the median does not move");
        assert!((whi - wmid - 3.0 * (hi - mid)).abs() < 1e-9 && (wlo - (wmid - 3.0 * (mid - lo)).max(0.0)).abs() < 1e-9, "{lo} {mid} {hi} vs {wlo} {wmid} {whi}");
    }
    let shipped_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/default");
    let shipped_scale = json(&shipped_dir.join("forecast.json"))["interval_scale"].as_f64().unwrap();
    assert_eq!(rows(&shipped), rows(&forecast(&["--interval-scale", &shipped_scale.to_string()])), "the shipped model forecasts at its own scale");
    assert_eq!(one["eol_cycle"]["p50"], wide["eol_cycle"]["p50"], "end of life: the same point");
    assert!(one["eol_cycle"]["p50"].is_number(), "{}", one["eol_cycle"]);

    let out = fadecast().args(["forecast", "--input"]).arg(&csv).args(["--interval-scale", "0"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--interval-scale: interval_scale must be a positive number, got 0"), "{}", String::from_utf8_lossy(&out.stderr));
    // A model folder whose forecast.json holds one is named.
    let model = tmp.path().join("model");
    std::fs::create_dir(&model).unwrap();
    // (one member of the shipped ensemble, or the shipped model itself)
    let ensemble = shipped_dir.join("ensemble.json").is_file().then(|| json(&shipped_dir.join("ensemble.json")));
    let members = ensemble.as_ref().map(|e| e["members"].as_array().unwrap().len());
    let one = match &ensemble {
        Some(e) => shipped_dir.join(e["members"][0].as_str().unwrap()),
        None => shipped_dir.clone(),
    };
    for f in ["model.json", "model.safetensors"] {
        std::fs::copy(one.join(f), model.join(f)).unwrap();
    }
    std::fs::write(model.join("forecast.json"), r#"{"interval_scale": -1}"#).unwrap();
    let out = fadecast().args(["forecast", "--input"]).arg(&csv).arg("--model").arg(&model).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("forecast.json") && err.contains("interval_scale must be a positive number, got -1"), "{err}");

    // eval records the scale its coverage was measured with.
    let ev = tmp.path().join("eval");
    let out = fadecast().args(["eval", "--data"]).arg(&csv).arg("--out").arg(&ev).args(["--interval-scale", "2.5"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shipped_config = json(&shipped_dir.join("forecast.json"));
    let weight = shipped_config["disagreement_weight"].as_f64().unwrap_or(1.0);
    let mut settings = match members {
        Some(k) => format!("interval_scale 2.5, disagreement_weight {weight}, ensemble of {k}"),
        None => "interval_scale 2.5".to_string(),
    };
    if shipped_config["smooth_patches"] == true {
        settings += ", paths smoothed over a patch";
    }
    assert_eq!(json(&ev.join("metrics.json"))["model_settings"], settings.as_str());
}

#[test]
fn a_trend_weight_is_recorded_by_eval_and_a_bad_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("mine.csv");
    write_user_csv(&csv, 150);
    let out = fadecast().args(["forecast", "--input"]).arg(&csv).args(["--trend-weight", "2"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--trend-weight: trend_weight must be between 0 and 1, got 2"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = fadecast().args(["eval", "--model", "linear", "--trend-weight", "0.5", "--data"]).arg(&csv).arg("--out").arg(tmp.path().join("o")).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("universal model only"), "{}", String::from_utf8_lossy(&out.stderr));

    let ev = tmp.path().join("eval");
    let out = fadecast().args(["eval", "--data"]).arg(&csv).arg("--out").arg(&ev).args(["--trend-weight", "0.5"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let settings = json(&ev.join("metrics.json"))["model_settings"].as_str().unwrap().to_string();
    assert!(settings.ends_with(", trend_weight 0.5 (line through the last 25 % of the context)"), "{settings}");
    let ev = tmp.path().join("eval-below");
    let out = fadecast().args(["eval", "--data"]).arg(&csv).arg("--out").arg(&ev).args(["--trend-weight", "0.5", "--trend-below-only"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let settings = json(&ev.join("metrics.json"))["model_settings"].as_str().unwrap().to_string();
    assert!(settings.ends_with(", trend_weight 0.5 (line through the last 25 % of the context, lowering only)"), "{settings}");

    // forecast --json records the settings it forecast with.
    let out = fadecast().args(["forecast", "--input"]).arg(&csv).args(["--json", "--trend-weight", "0.25"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let f: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(f["forecast_config"]["trend_weight"], 0.25);
    assert_eq!(f["forecast_config"]["trend_below_only"], false);
    let shipped = json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/default/forecast.json"));
    assert_eq!(f["forecast_config"]["interval_scale"], shipped["interval_scale"]);
}

#[test]
fn the_forecast_table_keeps_its_columns_aligned_for_long_cell_names() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("cells.csv");
    let long = "CALCE_CX2-33_prism_LCO_25C_0-100_0.5-0.5C_d_cycle_data";
    let mut text = String::from("cell_id,cycle,capacity_ah\n");
    for c in 1..=60 {
        text += &format!("A,{c},{:.5}\n{long},{c},{:.5}\n", 2.5 - 0.001 * c as f64, 2.5 - 0.002 * c as f64);
    }
    std::fs::write(&csv, text).unwrap();
    let out = String::from_utf8(run_ok(&["forecast", "--input", csv.to_str().unwrap()]).stdout).unwrap();
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("cell ") || l.starts_with("user/")).collect();
    assert_eq!(lines.len(), 3, "{out}");
    // The "obs" column is right-aligned: every row's count ends where the header's "obs" does.
    let header_end = lines[0].find("obs").unwrap() + 3;
    for l in &lines[1..] {
        let key = l.split_whitespace().next().unwrap();
        let obs = l.split_whitespace().nth(1).unwrap();
        let at = l.find(&format!(" {obs} ")).unwrap() + 1 + obs.len();
        assert_eq!(at, header_end, "{key}: {out}");
    }
}
