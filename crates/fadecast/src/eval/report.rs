//! The evaluator's outputs: `metrics.json`, `report.md` and the plots, written into an output
//! folder atomically; and the side-by-side comparison of several `metrics.json` files (which is
//! also how `docs/baselines.md` is generated).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::metrics::{DatasetMetrics, MacroMetrics};
use super::plot;
use super::run::{MetricsReport, Scored};
use super::tasks::Task;
use crate::corpus::build::write_dir_atomically;
use crate::error::ImportError;

fn num(v: f64, eol: bool) -> String {
    if !v.is_finite() {
        "–".into()
    } else if eol {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}
/// A signed number with its sign always shown (a bias).
fn signed(v: Option<f64>, eol: bool) -> String {
    match v {
        Some(x) if x.is_finite() && eol => format!("{x:+.0}"),
        Some(x) if x.is_finite() => format!("{x:+.2}"),
        _ => "–".into(),
    }
}
fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{:.0} %", 100.0 * x))
}

fn macro_row(out: &mut String, scope: &str, m: &MacroMetrics, eol: bool) {
    let _ = writeln!(
        out,
        "| {scope} | {} | {} | {} | {} | {} | {} | {} | {} |{}",
        m.n_datasets,
        m.n_cells,
        num(m.mae, eol),
        num(m.rmse, eol),
        num(m.mape, false),
        signed(m.bias, eol),
        pct(m.coverage_p10_p90),
        m.pinball.map_or("–".into(), |p| format!("{p:.2}")),
        if eol { format!(" {} |", pct(m.acc15)) } else { String::new() }
    );
}

/// `report.md`: the run's tables.
pub fn markdown(r: &MetricsReport, plots: &[String]) -> String {
    let eol = Task::is_eol_label(&r.task);
    let mut s = String::new();
    let _ = writeln!(s, "# `{}` on `{}`, split `{}`\n", r.model, r.task, r.split);
    if !r.model_settings.is_empty() {
        let _ = writeln!(s, "Settings: {}\n", r.model_settings);
    }
    if let Some(p) = &r.perturbation {
        let _ = writeln!(s, "Robustness probe: every scored cell perturbed ({}).\n", p.describe());
    }
    let _ = writeln!(
        s,
        "{} windows. MAE, RMSE and bias (median − truth; negative: forecast below the truth{}) in {}, MAPE in %{}.\n",
        r.n_windows,
        if eol { ", end of life too early" } else { "" },
        r.units.mae,
        if r.probabilistic { "; coverage of the p10–p90 interval (80 % is calibrated); pinball loss in SOH pp" } else { "; point forecaster: no coverage or pinball" }
    );
    let acc = if eol { " acc15 |" } else { "" };
    let sep = if eol { "---:|" } else { "" };
    let _ = writeln!(s, "## Macro average over datasets\n\n| scope | datasets | cells | MAE | RMSE | MAPE | bias | coverage | pinball |{acc}\n|---|---:|---:|---:|---:|---:|---:|---:|---:|{sep}");
    for (scope, m) in [("all", &r.macro_all), ("seen", &r.macro_seen), ("unseen", &r.macro_unseen)] {
        if let Some(m) = m {
            macro_row(&mut s, scope, m, eol);
        }
    }
    let _ = writeln!(s, "\n## Per dataset\n\n| dataset | seen | cells | MAE | RMSE | MAPE | bias | coverage | pinball |{acc}\n|---|---|---:|---:|---:|---:|---:|---:|---:|{sep}");
    for (d, m) in &r.datasets {
        let _ = writeln!(
            s,
            "| {d} | {} | {} | {} | {} | {} | {} | {} | {} |{}",
            if m.seen { "yes" } else { "no" },
            m.n_cells,
            num(m.mae, eol),
            num(m.rmse, eol),
            num(m.mape, false),
            signed(m.bias, eol),
            pct(m.coverage_p10_p90),
            m.pinball.map_or("–".into(), |p| format!("{p:.2}")),
            if eol { format!(" {} |", pct(m.acc15)) } else { String::new() }
        );
    }
    if !r.cells_without_window.is_empty() {
        let v: Vec<String> = r.cells_without_window.iter().map(|(d, n)| format!("{d} {n}")).collect();
        let _ = writeln!(s, "\nSelected cells with no `{}` window (too short, or not reaching EOL after the context): {}.", r.task, v.join(", "));
    }
    if !r.unreadable_files.is_empty() {
        let _ = writeln!(s, "\nFiles left out, not read so not scored:\n");
        for f in &r.unreadable_files {
            let _ = writeln!(s, "- `{}`: {}", f.path, f.error);
        }
    }
    if !eol {
        let bins: Vec<String> = r
            .macro_all
            .as_ref()
            .map(|m| m.horizon.iter().map(|b| b.cycles_ahead.clone()).collect())
            .unwrap_or_default();
        type Read = fn(&super::metrics::HorizonBin) -> String;
        let tables: [(&str, Read); 2] = [
            ("MAE (SOH pp)", |x| format!("{:.2}", x.mae)),
            ("Bias (median − truth, SOH pp)", |x| signed(x.bias, false)),
        ];
        if !bins.is_empty() {
            for (title, read) in tables {
                let _ = writeln!(s, "\n## {title} against cycles after the origin\n");
                let _ = writeln!(s, "| dataset | {} |\n|---|{}", bins.join(" | "), "---:|".repeat(bins.len()));
                let row = |name: &str, h: &[super::metrics::HorizonBin]| {
                    let cells: Vec<String> =
                        bins.iter().map(|b| h.iter().find(|x| &x.cycles_ahead == b).map_or("".into(), read)).collect();
                    format!("| {name} | {} |\n", cells.join(" | "))
                };
                if let Some(m) = &r.macro_all {
                    s.push_str(&row("**macro**", &m.horizon));
                }
                for (d, m) in &r.datasets {
                    s.push_str(&row(d, &m.horizon));
                }
            }
        }
    }
    if !plots.is_empty() {
        let _ = writeln!(s, "\n## Plots\n");
        for p in plots {
            let _ = writeln!(s, "- [{p}]({p})");
        }
    }
    s
}

/// Writes `metrics.json`, `report.md` and the SVG plots into `out` (replaced atomically).
pub fn write(out: &Path, scored: &Scored) -> Result<(), String> {
    let json = serde_json::to_string_pretty(&scored.report).map_err(|e| e.to_string())? + "\n";
    write_dir_atomically(out, |dir| {
        let err = |e: String| ImportError::malformed(dir, e);
        let plots = plot::write_plots(dir, scored).map_err(err)?;
        let md = markdown(&scored.report, &plots);
        std::fs::write(dir.join("metrics.json"), &json).map_err(|e| ImportError::write(dir.join("metrics.json"), e))?;
        std::fs::write(dir.join("report.md"), md).map_err(|e| ImportError::write(dir.join("report.md"), e))?;
        Ok(())
    })
    .map_err(|e| e.to_string())
}

pub fn read(path: &Path) -> Result<MetricsReport, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not a fadecast metrics.json: {e}", path.display()))
}

/// One metric of a dataset or macro row.
fn pick(m: &DatasetMetrics, metric: &str) -> Option<f64> {
    match metric {
        "rmse" => Some(m.rmse),
        "mae" => Some(m.mae),
        "mape" => Some(m.mape),
        "bias" => m.bias,
        "coverage" => m.coverage_p10_p90,
        "acc15" => m.acc15,
        _ => None,
    }
}
fn pick_macro(m: &MacroMetrics, metric: &str) -> Option<f64> {
    match metric {
        "rmse" => Some(m.rmse),
        "mae" => Some(m.mae),
        "mape" => Some(m.mape),
        "bias" => m.bias,
        "coverage" => m.coverage_p10_p90,
        "acc15" => m.acc15,
        _ => None,
    }
}

/// Side-by-side Markdown tables of several runs, grouped by task and split: one table per metric,
/// datasets as rows, runs as columns, the best value per row in bold (lowest error, highest
/// acc15, coverage closest to 80 %, bias closest to 0).
pub fn compare_markdown(reports: &[MetricsReport]) -> String {
    let mut groups: BTreeMap<((usize, u32), String), Vec<&MetricsReport>> = BTreeMap::new();
    // The tasks in their docs' order, each by its cycles (`eol20` before `eol`, which is from
    // 100; `first20` before `first100`).
    let order = |t: &str| match Task::from_label(t) {
        Some(Task::Early) => (0, 0),
        Some(Task::Rolling) => (1, 0),
        Some(Task::Eol(n)) => (2, n),
        Some(Task::First(n)) => (3, n),
        None => (4, 0),
    };
    for r in reports {
        groups.entry((order(&r.task), format!("{}\u{0}{}", r.task, r.split))).or_default().push(r);
    }
    let mut s = String::new();
    for ((_, key), runs) in groups {
        let (task, split) = key.split_once('\u{0}').unwrap_or((&key, ""));
        let eol = Task::is_eol_label(task);
        let unit = if eol { "cycles" } else { "SOH pp" };
        let _ = writeln!(s, "## Task `{task}`, split `{split}`\n");
        let mut metrics: Vec<(&str, String)> =
            vec![("rmse", format!("RMSE ({unit})")), ("mae", format!("MAE ({unit})")), ("mape", "MAPE (%)".into())];
        let below = if eol { "end of life predicted too early" } else { "forecast below the truth" };
        metrics.push(("bias", format!("Bias, median − truth ({unit}; negative: {below})")));
        if runs.iter().any(|r| r.probabilistic) {
            metrics.push(("coverage", "p10–p90 coverage (80 % is calibrated; – for point forecasters)".into()));
        }
        if eol {
            metrics.push(("acc15", "share of cells with EOL error ≤ 15 %".into()));
        }
        let mut datasets: Vec<&String> = runs.iter().flat_map(|r| r.datasets.keys()).collect();
        datasets.sort();
        datasets.dedup();
        for (metric, title) in metrics {
            let _ = writeln!(s, "**{title}**\n");
            let names: Vec<&str> = runs.iter().map(|r| r.model.as_str()).collect();
            let _ = writeln!(s, "| dataset | cells | {} |\n|---|---:|{}", names.join(" | "), "---:|".repeat(names.len()));
            let fmt = |v: Option<f64>| match (metric, v) {
                (_, None) => "–".to_string(),
                ("coverage" | "acc15", Some(x)) => format!("{:.0} %", 100.0 * x),
                ("mape", Some(x)) => format!("{x:.2}"),
                ("bias", x) => signed(x, eol),
                (_, Some(x)) => num(x, eol),
            };
            let best = |vals: &[Option<f64>]| -> Option<usize> {
                let score = |x: f64| match metric {
                    "coverage" => (x - 0.8).abs(),
                    "acc15" => -x,
                    "bias" => x.abs(),
                    _ => x,
                };
                (0..vals.len()).filter(|i| vals[*i].is_some_and(f64::is_finite)).min_by(|a, b| score(vals[*a].unwrap()).total_cmp(&score(vals[*b].unwrap())))
            };
            let mut line = |name: String, cells: String, vals: Vec<Option<f64>>| {
                let b = best(&vals).filter(|_| vals.len() > 1);
                let v: Vec<String> =
                    vals.iter().enumerate().map(|(i, x)| if Some(i) == b { format!("**{}**", fmt(*x)) } else { fmt(*x) }).collect();
                let _ = writeln!(s, "| {name} | {cells} | {} |", v.join(" | "));
            };
            for (scope, get) in [
                ("macro", (|r: &MetricsReport| r.macro_all.clone()) as fn(&MetricsReport) -> Option<MacroMetrics>),
                ("macro seen", |r| r.macro_seen.clone()),
                ("macro unseen", |r| r.macro_unseen.clone()),
            ] {
                let ms: Vec<Option<MacroMetrics>> = runs.iter().map(|r| get(r)).collect();
                // The seen / unseen rows only add information when a run mixes both.
                let same_as_all = runs.iter().zip(&ms).all(|(r, m)| m.is_none() || *m == r.macro_all);
                if ms.iter().all(|m| m.is_none()) || (scope != "macro" && same_as_all) {
                    continue;
                }
                let cells = ms.iter().flatten().map(|m| m.n_cells).max().unwrap_or(0);
                line(format!("**{scope}**"), cells.to_string(), ms.iter().map(|m| m.as_ref().and_then(|m| pick_macro(m, metric))).collect());
            }
            for d in &datasets {
                let ms: Vec<Option<&DatasetMetrics>> = runs.iter().map(|r| r.datasets.get(*d)).collect();
                let cells = ms.iter().flatten().map(|m| m.n_cells).max().unwrap_or(0);
                line(d.to_string(), cells.to_string(), ms.iter().map(|m| m.and_then(|m| pick(m, metric))).collect());
            }
            s.push('\n');
        }
    }
    // What each model was tuned to (the settings of its first run; tuning uses train/val only,
    // so every run of a model has the same).
    let mut models: Vec<(&str, &str)> = Vec::new();
    for r in reports {
        if !models.iter().any(|(m, _)| *m == r.model) {
            models.push((&r.model, &r.model_settings));
        }
    }
    let _ = writeln!(s, "## Models\n");
    for (m, settings) in models {
        let desc = super::baselines::BASELINES.iter().find(|(n, _)| *n == m).map_or("", |(_, d)| d);
        let _ = writeln!(s, "- `{m}`: {desc}{}{settings}", if settings.is_empty() || desc.is_empty() { "" } else { ". Tuned: " });
    }
    s
}
