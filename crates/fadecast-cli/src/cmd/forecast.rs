//! `fadecast forecast`: a cell's future capacity from its history alone — SOH quantiles at future
//! cycles, the end-of-life cycle with its interval, and the remaining useful life.

use std::path::PathBuf;

use anyhow::{bail, Context as _};
use fadecast::data::Cell;
use fadecast::eval::plot::{forecast_figure, ForecastPanel, FIGURE_EXTENSIONS};
use fadecast::import::any::suspicious_peak;
use fadecast::import::cyclers::Format;
use fadecast_model::forecast::{Forecast, Request};
use serde_json::json;

/// Cells per progress-bar update (each chunk is itself batched across cells).
const PROGRESS_CHUNK: usize = 1024;

#[derive(clap::Args)]
#[command(after_help = "Only the capacity history is used: the last observation is the forecast origin. The rollout
covers at least --horizon cycles. The p10–p90 band is the model's, widened about the median by
its calibrated interval scale (--interval-scale to choose another), and the rollout runs on until
the whole band has crossed the end-of-life threshold, or the median has and the rollout is three
times its remaining life long, or the model's longest rollout is reached. The shipped model is
an ensemble of three: each member rolls out so (all as far as the longest), the median is theirs
averaged, and the band holds their own bands and their disagreement (weighted by the model's
calibrated disagreement weight, --disagreement-weight to choose another: members disagree most
on cells unlike their training data, so that is where the band widens); each path is then
averaged over one patch of its grid (forecast.json's smooth_patches). EOL is where the median
crosses the threshold; its interval, where the band's edges do. RUL = EOL − origin. Bounds never
reached are null (JSON) or '>N'.

Examples:
  fadecast forecast --input my_cells.csv
  fadecast forecast --input run_CH8.csv --json > forecast.json
  fadecast forecast --input exports/ --plot forecast.svg --eol-threshold 0.7
  fadecast forecast --input my_cells.csv --adapter adapters/mine")]
pub struct Args {
    /// Your cells: a cycler export, a per-cycle CSV, a BatteryLife pickle, or a folder of them.
    #[arg(long, value_name = "FILE_OR_DIR")]
    input: PathBuf,
    /// The input's format: auto (detect from the content) or one `fadecast import --help` lists.
    #[arg(long, default_value = "auto", value_name = "F")]
    format: String,
    #[command(flatten)]
    input_args: super::util::InputArgs,
    /// `default` (the shipped weights), a run folder from `fadecast train`, or a folder whose
    /// ensemble.json names several.
    #[arg(long, default_value = "default", value_name = "NAME_OR_CHECKPOINT")]
    model: String,
    /// LoRA adapters from `fadecast finetune`.
    #[arg(long, value_name = "ADAPTER_DIR")]
    adapter: Option<PathBuf>,
    /// End of life: SOH at or below this (fraction of the reference capacity).
    #[arg(long, default_value_t = 0.8)]
    eol_threshold: f64,
    #[command(flatten)]
    bands: super::model::BandArgs,
    /// Forecast at least this many cycles past the origin (default: until end of life). The
    /// rollout has a limit in grid points (forecast.json's max_rollout_patches; a history spanning
    /// at least its whole_history_min_span, 32 cycles, steps a sixty-fourth of its span), so a
    /// forecast may end sooner: a warning then says where.
    #[arg(long, value_name = "CYCLES")]
    horizon: Option<f64>,
    /// Spacing of the reported trajectory, in cycles (default: about 50 points).
    #[arg(long, value_name = "CYCLES")]
    every: Option<f64>,
    /// Print JSON: the settings it forecast with (forecast_config), then per cell its source file and SOH reference capacity, the origin, the trajectory quantiles, EOL and RUL with intervals, and warnings (too short a history, a reference capacity that looks wrong); last, the input folder's files that could not be read, and why (unreadable_files).
    #[arg(long)]
    json: bool,
    /// Also draw every cell's history and forecast (SVG or PNG, by the extension): the median, the p10–p90 band, the end-of-life threshold, the EOL cycle and its interval (shaded), a key, and the EOL and RUL figures in each panel's corner.
    #[arg(long, value_name = "OUT.svg|OUT.png")]
    plot: Option<PathBuf>,
}

struct CellForecast {
    cell: Cell,
    forecast: Forecast,
    /// Reported cycles and, per quantile level, the SOH there.
    cycles: Vec<f64>,
    values: Vec<Vec<f64>>,
    /// Why the rollout ended before what was asked of it, if it did ([`cut_short`]).
    cut_short: Option<String>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    if !(a.eol_threshold > 0.0 && a.eol_threshold < 1.5) {
        bail!("--eol-threshold {}: give a SOH fraction such as 0.8", a.eol_threshold);
    }
    if let Some(p) = &a.plot {
        let ext = p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
        if !FIGURE_EXTENSIONS.contains(&ext.as_str()) {
            bail!("--plot {}: give a path ending in .svg or .png", p.display());
        }
        // Said now, not after the forecasts (and not about the temporary file it is drawn in).
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
            bail!("--plot {}: the folder {} does not exist", p.display(), dir.display());
        }
    }
    let format: Option<Format> = match a.format.as_str() {
        "auto" => None,
        f => Some(f.parse().map_err(anyhow::Error::msg)?),
    };
    let model = super::model::load(&a.model, a.adapter.as_deref(), a.eol_threshold, a.bands)?;
    let (cells, unreadable) = super::model::load_cells(&a.input, &a.input_args.load_options(format)?)?;

    warn_of_short_histories(&cells, model.model().config.patch_len);

    // Forecast in batches (so the progress bar moves), each batched across cells by the model.
    let pb = super::util::progress(cells.len() as u64, "forecasting");
    let mut results: Vec<CellForecast> = Vec::with_capacity(cells.len());
    // The rollout's limit, in grid points (a forecast that reaches it may be cut short).
    let max_points = model.config.max_rollout_patches * model.model().config.patch_len;
    let mut rest = cells.into_iter().peekable();
    while rest.peek().is_some() {
        let chunk: Vec<Cell> = rest.by_ref().take(PROGRESS_CHUNK).collect();
        let histories: Vec<(Vec<f64>, Vec<f64>, Vec<f64>)> = chunk
            .iter()
            .map(|cell| {
                let origin = cell.cycles.last().expect("importers never yield empty cells").cycle;
                let at: Vec<f64> = a.horizon.map(|h| vec![origin + h]).unwrap_or_default();
                (cell.cycles.iter().map(|c| c.cycle).collect(), cell.cycles.iter().map(|c| c.soh).collect(), at)
            })
            .collect();
        let requests: Vec<Request> = chunk
            .iter()
            .zip(&histories)
            .map(|(cell, (cycles, soh, at))| Request { cycles, soh, observation: cell.meta.observation, at })
            .collect();
        let forecasts = model.forecast_many(&requests);
        for (cell, f) in chunk.into_iter().zip(forecasts) {
            let cut_short = cut_short(&f, a.horizon, max_points);
            let origin = f.origin;
            let end = f.grid.last().copied().unwrap_or(origin);
            let step = a.every.filter(|s| *s > 0.0).unwrap_or_else(|| nice_step((end - origin) / 50.0));
            let cycles: Vec<f64> = (1..).map(|k| origin + k as f64 * step).take_while(|c| *c <= end + 1e-9).collect();
            let values = f.read_at(&cycles);
            results.push(CellForecast { cell, forecast: f, cycles, values, cut_short });
        }
        pb.inc(requests.len() as u64);
    }
    pb.finish_and_clear();
    warn_of_cut_short(&results);
    warn_of_past_end_of_life(&results);

    if let Some(path) = &a.plot {
        let panels: Vec<ForecastPanel> = results.iter().map(panel).collect();
        // Drawn beside the target under a temporary name with the same extension, then renamed.
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp.{}", path.extension().and_then(|e| e.to_str()).unwrap_or("svg")));
        if let Err(e) = forecast_figure(&tmp, &panels) {
            let _ = std::fs::remove_file(&tmp);
            bail!(e);
        }
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if a.json {
        let patch_len = model.model().config.patch_len;
        let cells: Vec<serde_json::Value> = results.iter().map(|r| to_json(r, &model.name, patch_len)).collect();
        // The rollout and band settings the forecasts were made with (forecast.json and flags).
        // Files of the input folder that could not be read (also warned of on stderr).
        let unreadable: Vec<serde_json::Value> = unreadable.iter().map(|(path, why)| json!({"path": path, "error": why})).collect();
        let settings = json!({"model": model.name, "eol_threshold": a.eol_threshold, "forecast_config": model.config, "cells": cells, "unreadable_files": unreadable});
        println!("{}", serde_json::to_string_pretty(&settings)?);
    } else {
        print_table(&results, a.eol_threshold);
    }
    Ok(())
}

/// Cells observed fewer times than one patch have too little of their own fade for the model to
/// read: their forecast is mostly what it learned from other cells (a single observation, a
/// flat history). Said once, naming a few of them, so a fleet of new cells does not flood stderr.
fn warn_of_short_histories(cells: &[Cell], patch_len: usize) {
    let short: Vec<String> = cells.iter().filter(|c| c.cycles.len() < patch_len).map(|c| format!("{} ({})", c.meta.cell_id, c.cycles.len())).collect();
    if short.is_empty() {
        return;
    }
    tracing::warn!(
        "{} cell{} observed fewer than {patch_len} times (one patch), so {} forecast rests mostly on what the model learned from other cells: {}",
        short.len(),
        if short.len() == 1 { " is" } else { "s are" },
        if short.len() == 1 { "its" } else { "their" },
        a_few(&short)
    );
}

/// The first five of `names`, then how many more: a fleet's warning names a few, not all.
fn a_few(names: &[String]) -> String {
    let named = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > 5 { format!("{named} and {} more", names.len() - 5) } else { named }
}

/// The rollout stops after `max_rollout_patches` patches (forecast.json), on the grid the history
/// was read on (on the whole-history grid a step is a sixty-fourth of the history's span), so the
/// limit can come before the `--horizon` asked for, or before the median reaches end of life;
/// said, not hidden. `max_points`: the limit in grid points.
fn cut_short(f: &Forecast, horizon: Option<f64>, max_points: usize) -> Option<String> {
    let end = *f.grid.last()?;
    if f.grid.len() < max_points {
        return None;
    }
    let short_of = match horizon {
        Some(h) if end < f.origin + h - 1e-9 => format!("the {h} cycles asked for (--horizon)"),
        _ if f.eol.point.is_none() => "the median reached end of life".to_string(),
        _ => return None,
    };
    let spacing = (end - f.origin) / f.grid.len() as f64;
    Some(format!(
        "the forecast ends at cycle {end:.0}, before {short_of}: the rollout's limit is {max_points} grid points, and this history is read on a grid of {spacing:.3} cycles"
    ))
}

/// Said once for all the cells whose forecast was cut short, naming a few.
fn warn_of_cut_short(results: &[CellForecast]) {
    let short: Vec<&CellForecast> = results.iter().filter(|r| r.cut_short.is_some()).collect();
    let Some(first) = short.first() else { return };
    let names: Vec<String> = short.iter().map(|r| r.cell.meta.cell_id.clone()).collect();
    tracing::warn!("{} cell(s) forecast less far than asked: {} (the first: {})", short.len(), a_few(&names), first.cut_short.as_deref().unwrap_or_default());
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw > 0.0) {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * p).find(|s| *s >= raw).unwrap_or(10.0 * p).max(1.0)
}

fn panel(r: &CellForecast) -> ForecastPanel {
    let f = &r.forecast;
    let hist = (r.cell.cycles.iter().map(|c| c.cycle).collect(), r.cell.cycles.iter().map(|c| c.soh).collect());
    let level = |target: f64| f.level_nearest(target);
    // The quantiles as reported (ordered, calibrated width) at every grid point of the rollout.
    let bands = f.quantiles(f.paths.clone());
    let along = |i: usize| -> Vec<f64> { bands[i].clone() };
    ForecastPanel {
        title: r.cell.key(),
        history: hist,
        cycles: f.grid.clone(),
        p10: along(level(0.1)),
        p50: along(level(0.5)),
        p90: along(level(0.9)),
        eol_threshold: f.eol_threshold,
        eol: (f.eol.point, f.eol.lower, f.eol.upper),
        note: format!(
            "EOL {} (p10–p90: {} to {}), RUL {}",
            shown(f.eol.point, r, 0.0),
            shown(f.eol.lower, r, 0.0),
            shown(f.eol.upper, r, 0.0),
            shown(f.rul.point, r, f.origin)
        ),
    }
}

fn num(v: f64) -> serde_json::Value {
    if v.is_finite() { json!(v) } else { serde_json::Value::Null }
}

/// What a reader of the JSON should know before trusting a cell's forecast (stderr says it too):
/// too short a history, a reference capacity that looks wrong, a forecast cut short.
fn cell_warnings(r: &CellForecast, patch_len: usize) -> Vec<String> {
    let cell = &r.cell;
    let mut out = Vec::new();
    let n = cell.cycles.len();
    if n < patch_len {
        out.push(format!("observed {n} times, fewer than one patch ({patch_len}): the forecast rests mostly on what the model learned from other cells"));
    }
    if let Some(top) = suspicious_peak(cell) {
        out.push(format!(
            "SOH reaches {:.2} at cycle {}: the reference capacity is most likely not the cell's nominal (give it with --nominal-capacity)",
            top.soh, top.cycle
        ));
    }
    if let Some(e) = past_end_of_life(r) {
        out.push(format!(
            "SOH already fell to the end-of-life threshold ({}) at cycle {e:.0}, before the last observation (cycle {:.0}): EOL is that cycle and RUL 0; the trajectory goes on from the last observation",
            r.forecast.eol_threshold, r.forecast.origin
        ));
    }
    out.extend(r.cut_short.clone());
    out
}

/// The cycle where the history itself crossed the end-of-life threshold, if it did: such a cell's
/// EOL is in the past, and a fleet report should say so rather than show a bare RUL of 0.
fn past_end_of_life(r: &CellForecast) -> Option<f64> {
    r.forecast.eol.point.filter(|e| *e <= r.forecast.origin)
}

/// Said once for all the cells already past end of life, naming a few.
fn warn_of_past_end_of_life(results: &[CellForecast]) {
    let past: Vec<String> =
        results.iter().filter_map(|r| past_end_of_life(r).map(|e| format!("{} (cycle {e:.0})", r.cell.meta.cell_id))).collect();
    if past.is_empty() {
        return;
    }
    let threshold = results[0].forecast.eol_threshold;
    tracing::warn!(
        "{} cell{} already past end of life (SOH ≤ {threshold}) before {} last observation, so {} RUL is 0: {}",
        past.len(),
        if past.len() == 1 { " is" } else { "s are" },
        if past.len() == 1 { "its" } else { "their" },
        if past.len() == 1 { "its" } else { "their" },
        a_few(&past)
    );
}

fn to_json(r: &CellForecast, model: &str, patch_len: usize) -> serde_json::Value {
    let f = &r.forecast;
    let last = r.cell.cycles.last().expect("non-empty");
    let trajectory: Vec<serde_json::Value> = r
        .cycles
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut row = serde_json::Map::new();
            row.insert("cycle".into(), json!(c));
            for (l, level) in f.quantile_levels.iter().enumerate() {
                row.insert(format!("p{}", (level * 100.0).round()), num(r.values[l][i]));
            }
            serde_json::Value::Object(row)
        })
        .collect();
    json!({
        "dataset": r.cell.meta.dataset,
        "cell_id": r.cell.meta.cell_id,
        // Which file: two exports of one test (raw and summary) give the same cell id.
        "source": r.cell.meta.source,
        "reference_capacity_ah": r.cell.meta.reference_capacity_ah,
        "model": model,
        "observations": r.cell.cycles.len(),
        "warnings": cell_warnings(r, patch_len),
        "origin_cycle": f.origin,
        "last_soh": last.soh,
        "quantile_levels": f.quantile_levels,
        "trajectory": trajectory,
        "eol_cycle": {"p50": f.eol.point, "lower": f.eol.lower, "upper": f.eol.upper},
        "rul_cycles": {"p50": f.rul.point, "lower": f.rul.lower, "upper": f.rul.upper},
    })
}

/// A cycle count as the table and the figure show it: whole cycles, and a bound the rollout never
/// reached as ">" the rollout's end (for RUL, `minus` the origin).
fn shown(v: Option<f64>, r: &CellForecast, minus: f64) -> String {
    match v {
        Some(c) => format!("{c:.0}"),
        None => format!(">{:.0}", r.forecast.grid.last().copied().unwrap_or(r.forecast.origin) - minus),
    }
}

fn print_table(results: &[CellForecast], threshold: f64) {
    println!("EOL = first cycle with SOH ≤ {threshold}; interval where the p10–p90 band crosses; RUL = EOL − last observed cycle.\n");
    // The cell column as wide as the longest key, so long file-derived names keep the columns aligned.
    let w = results.iter().map(|r| r.cell.key().chars().count()).max().unwrap_or(0).max(36);
    println!("{:<w$} {:>6} {:>8} {:>7} {:>10} {:>21} {:>10} {:>21}", "cell", "obs", "last", "SOH", "EOL", "EOL p10–p90", "RUL", "RUL p10–p90");
    for r in results {
        let f = &r.forecast;
        let o = f.origin;
        println!(
            "{:<w$} {:>6} {:>8.0} {:>7.3} {:>10} {:>21} {:>10} {:>21}",
            r.cell.key(),
            r.cell.cycles.len(),
            o,
            r.cell.cycles.last().map_or(f64::NAN, |c| c.soh),
            shown(f.eol.point, r, 0.0),
            format!("{} – {}", shown(f.eol.lower, r, 0.0), shown(f.eol.upper, r, 0.0)),
            shown(f.rul.point, r, o),
            format!("{} – {}", shown(f.rul.lower, r, o), shown(f.rul.upper, r, o)),
        );
    }
}
