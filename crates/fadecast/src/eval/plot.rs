//! Plots (plotters, pure Rust): for the evaluation report (SVG), per dataset a few cells' context,
//! truth, forecast median and p10–p90 band, and the error against horizon per dataset; for
//! `fadecast forecast --plot` (SVG or PNG), each cell's history and forecast.
//!
//! Text is laid out and drawn with an embedded DejaVu Sans (assets/, with its licence), so plots
//! look the same on every machine and need no system fonts.

use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor;

use super::baselines::fit::subsample;
use super::metrics::HORIZON_EDGES;
use super::run::{Example, Scored};
use super::tasks::EOL_THRESHOLD;

/// Points drawn per series at most (SVG size stays small for 2 000-cycle cells).
const MAX_DRAWN: usize = 400;

fn thin(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    subsample(x.len(), MAX_DRAWN).into_iter().map(|i| (x[i], y[i])).collect()
}

/// Cycle ticks as whole numbers ("1500", not "1500.0").
fn cycle_label(x: &f64) -> String {
    format!("{x:.0}")
}

/// Draws the series' labels as a small key in the panel's lower left, where a fading curve
/// leaves the most room.
fn draw_key<'a, DB: DrawingBackend + 'a>(chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .label_font(("sans-serif", 11))
        .background_style(WHITE.mix(0.8))
        .border_style(RGBColor(200, 200, 200))
        .draw()?;
    Ok(())
}

/// A legend swatch: a short line of `color`, or a filled square for a band.
fn line_key(color: RGBColor, width: u32) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(width))
}
fn area_key(color: RGBAColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], color.filled())
}

fn file_name(dataset: &str) -> String {
    dataset.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

static FONT: std::sync::Once = std::sync::Once::new();

/// Registers the embedded font as "sans-serif" (once per process; every plot calls it first).
fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../../assets/DejaVuSans.ttf");
        // The font is embedded and valid: a failure here would show as a plotting error later.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

/// Writes every plot into `dir`; returns their file names (relative to `dir`).
pub fn write_plots(dir: &Path, scored: &Scored) -> Result<Vec<String>, String> {
    register_font();
    let mut names = Vec::new();
    let mut datasets: Vec<&str> = scored.examples.iter().map(|e| e.dataset.as_str()).collect();
    datasets.dedup();
    for d in datasets {
        let ex: Vec<&Example> = scored.examples.iter().filter(|e| e.dataset == d).collect();
        let name = format!("forecast_{}.svg", file_name(d));
        forecast_panels(&dir.join(&name), &ex).map_err(|e| format!("plot {name}: {e}"))?;
        names.push(name);
    }
    if !crate::eval::Task::is_eol_label(&scored.report.task) && !scored.report.datasets.is_empty() {
        let name = "error_vs_horizon.svg".to_string();
        horizon_plot(&dir.join(&name), scored).map_err(|e| format!("plot {name}: {e}"))?;
        names.push(name);
    }
    Ok(names)
}

fn forecast_panels(path: &Path, ex: &[&Example]) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (420 * ex.len().max(1) as u32, 360)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, ex.len().max(1)));
    for (area, e) in panels.iter().zip(ex) {
        let truth_end = e.truth.0.last().copied().unwrap_or(e.context.0[e.context.0.len() - 1]);
        // eol queries run far past the data: show up to a little beyond the truth's end.
        let x_end = if e.eol_true.is_some() { truth_end * 1.3 } else { truth_end };
        let x0 = e.context.0[0];
        let keep: Vec<usize> = (0..e.query.len()).filter(|i| e.query[*i] <= x_end).collect();
        let ys = e.context.1.iter().chain(&e.truth.1).chain(keep.iter().flat_map(|i| [&e.forecast.p10[*i], &e.forecast.p90[*i]]));
        let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(*y), b.max(*y)));
        let pad = ((hi - lo) * 0.05).max(0.01);
        let mut chart = ChartBuilder::on(area)
            .caption(&e.cell_id, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(45)
            .build_cartesian_2d(x0..x_end.max(x0 + 1.0), (lo - pad)..(hi + pad))?;
        chart.configure_mesh().disable_mesh().x_desc("cycle").y_desc("SOH").x_label_formatter(&cycle_label).draw()?;
        let q = |v: &Vec<f64>| keep.iter().map(|i| (e.query[*i], v[*i])).collect::<Vec<_>>();
        let mut band = q(&e.forecast.p90);
        band.extend(q(&e.forecast.p10).into_iter().rev());
        if band.len() > 2 {
            chart.draw_series(std::iter::once(Polygon::new(band, BLUE.mix(0.15))))?.label("p10–p90").legend(area_key(BLUE.mix(0.15)));
        }
        let grey = RGBColor(150, 150, 150);
        chart.draw_series(LineSeries::new(thin(&e.truth.0, &e.truth.1), grey))?.label("truth").legend(line_key(grey, 1));
        chart.draw_series(LineSeries::new(thin(&e.context.0, &e.context.1), BLACK.stroke_width(2)))?.label("context").legend(line_key(BLACK, 2));
        let p50 = q(&e.forecast.p50);
        let (px, py): (Vec<f64>, Vec<f64>) = p50.into_iter().unzip();
        chart.draw_series(LineSeries::new(thin(&px, &py), BLUE.stroke_width(2)))?.label("forecast p50").legend(line_key(BLUE, 2));
        if e.eol_true.is_some() {
            chart.draw_series(LineSeries::new([(x0, EOL_THRESHOLD), (x_end, EOL_THRESHOLD)], RED.mix(0.5)))?;
        }
        draw_key(&mut chart)?;
    }
    root.present()?;
    Ok(())
}

fn horizon_plot(path: &Path, scored: &Scored) -> Result<(), Box<dyn std::error::Error>> {
    let labels: Vec<String> = (0..HORIZON_EDGES.len()).map(super::metrics::horizon_label).collect();
    let series: Vec<(&String, Vec<(f64, f64)>)> = scored
        .report
        .datasets
        .iter()
        .map(|(d, m)| {
            let pts = m
                .horizon
                .iter()
                .filter_map(|b| labels.iter().position(|l| *l == b.cycles_ahead).map(|i| (i as f64, b.mae)))
                .collect();
            (d, pts)
        })
        .collect();
    let hi = series.iter().flat_map(|(_, p)| p.iter().map(|x| x.1)).fold(0.0, f64::max).max(0.1);
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{}: MAE against horizon ({})", scored.report.model, scored.report.task), ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .right_y_label_area_size(0)
        .build_cartesian_2d(-0.2..(labels.len() as f64 - 0.8), 0.0..hi * 1.05)?;
    chart
        .configure_mesh()
        .x_desc("cycles after the origin")
        .y_desc("MAE (SOH pp)")
        .x_labels(labels.len())
        .x_label_formatter(&|x| labels.get(x.round() as usize).filter(|_| (x - x.round()).abs() < 0.01).cloned().unwrap_or_default())
        .draw()?;
    for (k, (d, pts)) in series.iter().enumerate() {
        let color = Palette99::pick(k).to_rgba();
        chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?.label(d.as_str()).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 15, y)], color.stroke_width(2))
        });
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).position(SeriesLabelPosition::UpperLeft).draw()?;
    root.present()?;
    Ok(())
}

/// One cell of a `fadecast forecast --plot` figure: its history and the forecast quantiles.
pub struct ForecastPanel {
    pub title: String,
    /// The observed history (cycle, SOH).
    pub history: (Vec<f64>, Vec<f64>),
    /// Future cycles and the p10 / p50 / p90 SOH there.
    pub cycles: Vec<f64>,
    pub p10: Vec<f64>,
    pub p50: Vec<f64>,
    pub p90: Vec<f64>,
    pub eol_threshold: f64,
    /// End of life: point and interval, where the rollout reached them.
    pub eol: (Option<f64>, Option<f64>, Option<f64>),
    /// A line written in the panel's upper right (the forecast's EOL and RUL in figures).
    pub note: String,
}

/// The image formats a forecast figure can be written in, by file extension.
pub const FIGURE_EXTENSIONS: [&str; 2] = ["svg", "png"];

/// Writes a forecast figure, one panel per cell, three panels a row: SVG or PNG by the
/// extension of `path`.
pub fn forecast_figure(path: &Path, panels: &[ForecastPanel]) -> Result<(), String> {
    register_font();
    let cols = panels.len().clamp(1, 3);
    let rows = panels.len().div_ceil(cols).max(1);
    let size = (440 * cols as u32, 340 * rows as u32);
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).unwrap_or_default();
    let drawn = match ext.as_str() {
        "svg" => draw_forecast_figure(SVGBackend::new(path, size).into_drawing_area(), panels, rows, cols),
        "png" => draw_forecast_figure(BitMapBackend::new(path, size).into_drawing_area(), panels, rows, cols),
        _ => return Err(format!("{}: a figure is written as .svg or .png", path.display())),
    };
    drawn.map_err(|e| format!("{}: {e}", path.display()))
}

fn draw_forecast_figure<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    panels: &[ForecastPanel],
    rows: usize,
    cols: usize,
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let areas = root.split_evenly((rows, cols));
    for (area, p) in areas.iter().zip(panels) {
        let x0 = p.history.0.first().copied().unwrap_or(0.0);
        let x_end = p.cycles.last().copied().unwrap_or(x0 + 1.0).max(x0 + 1.0);
        let ys = p.history.1.iter().chain(&p.p10).chain(&p.p90).chain(std::iter::once(&p.eol_threshold));
        let (lo, hi) = ys.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(*y), b.max(*y)));
        let pad = ((hi - lo) * 0.05).max(0.01);
        let mut chart = ChartBuilder::on(area)
            .caption(&p.title, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(45)
            .build_cartesian_2d(x0..x_end, (lo - pad)..(hi + pad))?;
        chart.configure_mesh().disable_mesh().x_desc("cycle").y_desc("SOH").x_label_formatter(&cycle_label).draw()?;
        let finite = |v: &[f64]| -> Vec<(f64, f64)> {
            p.cycles.iter().zip(v).filter(|(_, y)| y.is_finite()).map(|(x, y)| (*x, *y)).collect()
        };
        // The end-of-life interval first, behind the rest: from where the band's lower edge
        // crosses the threshold to where its upper edge does (or the figure's end, not reached).
        if let Some(a) = p.eol.1.filter(|a| *a < x_end) {
            let b = p.eol.2.unwrap_or(x_end).min(x_end);
            let span = Rectangle::new([(a.max(x0), lo - pad), (b, hi + pad)], RED.mix(0.07).filled());
            chart.draw_series(std::iter::once(span))?.label("EOL p10–p90").legend(area_key(RED.mix(0.15)));
        }
        let mut band = finite(&p.p90);
        band.extend(finite(&p.p10).into_iter().rev());
        if band.len() > 2 {
            chart.draw_series(std::iter::once(Polygon::new(band, BLUE.mix(0.15))))?.label("SOH p10–p90").legend(area_key(BLUE.mix(0.15)));
        }
        chart.draw_series(LineSeries::new(thin(&p.history.0, &p.history.1), BLACK.stroke_width(2)))?.label("history").legend(line_key(BLACK, 2));
        let (px, py): (Vec<f64>, Vec<f64>) = finite(&p.p50).into_iter().unzip();
        chart.draw_series(LineSeries::new(thin(&px, &py), BLUE.stroke_width(2)))?.label("median").legend(line_key(BLUE, 2));
        chart.draw_series(LineSeries::new([(x0, p.eol_threshold), (x_end, p.eol_threshold)], RED.mix(0.5)))?;
        if let Some(e) = p.eol.0 {
            chart.draw_series(LineSeries::new([(e, lo - pad), (e, hi + pad)], RED.stroke_width(1)))?.label("EOL (median)").legend(line_key(RED, 1));
        }
        let note = TextStyle::from(("sans-serif", 11).into_font()).pos(text_anchor::Pos::new(text_anchor::HPos::Right, text_anchor::VPos::Top));
        chart.draw_series(std::iter::once(Text::new(p.note.clone(), (x_end, hi + pad), note)))?;
        draw_key(&mut chart)?;
    }
    root.present()?;
    Ok(())
}
