//! `corpus info`: a per-dataset summary of a built corpus (cells, rows, chemistry,
//! temperature and SOH ranges, descriptor coverage), as a table or JSON.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::build::Manifest;
use crate::data::{Cell, Observation, DESCRIPTORS, N_DESCRIPTORS};

#[derive(Debug, Clone, Serialize)]
pub struct DatasetSummary {
    pub dataset: String,
    pub cells: usize,
    pub cycle_rows: usize,
    pub observation: String,
    pub chemistry: Vec<String>,
    /// Min and max test temperature over cells that state one.
    pub temperature_c: Option<(f64, f64)>,
    pub soh: (f64, f64),
    /// Fraction of cycle rows carrying each descriptor.
    pub descriptor_coverage: BTreeMap<String, f64>,
    pub eol_labels: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub cells: usize,
    pub cycle_rows: usize,
    pub datasets: Vec<DatasetSummary>,
}

pub fn summarise(cells: &[Cell]) -> Summary {
    let mut by: BTreeMap<&str, Vec<&Cell>> = BTreeMap::new();
    for c in cells {
        by.entry(c.meta.dataset.as_str()).or_default().push(c);
    }
    let datasets = by
        .into_iter()
        .map(|(name, cs)| {
            let rows: usize = cs.iter().map(|c| c.cycles.len()).sum();
            let temps: Vec<f64> = cs.iter().filter_map(|c| c.meta.temperature_c).collect();
            let soh = cs.iter().flat_map(|c| c.cycles.iter().map(|y| y.soh));
            let mut counts = [0usize; N_DESCRIPTORS];
            for y in cs.iter().flat_map(|c| &c.cycles) {
                for (n, d) in counts.iter_mut().zip(&y.descriptors) {
                    *n += d.is_some() as usize;
                }
            }
            let kinds: BTreeSet<&str> = cs
                .iter()
                .map(|c| match c.meta.observation {
                    Observation::PerCycle => "per cycle",
                    Observation::CheckUp => "check-up",
                })
                .collect();
            DatasetSummary {
                dataset: name.to_string(),
                cells: cs.len(),
                cycle_rows: rows,
                observation: kinds.into_iter().collect::<Vec<_>>().join(", "),
                chemistry: cs.iter().filter_map(|c| c.meta.chemistry.clone()).collect::<BTreeSet<_>>().into_iter().collect(),
                temperature_c: min_max(temps.into_iter()),
                soh: min_max(soh).unwrap_or((f64::NAN, f64::NAN)),
                descriptor_coverage: DESCRIPTORS
                    .iter()
                    .zip(counts)
                    .map(|(n, k)| (n.to_string(), if rows == 0 { 0.0 } else { k as f64 / rows as f64 }))
                    .collect(),
                eol_labels: cs.iter().filter(|c| c.meta.eol_cycle_label.is_some()).count(),
            }
        })
        .collect::<Vec<_>>();
    Summary { cells: cells.len(), cycle_rows: cells.iter().map(|c| c.cycles.len()).sum(), datasets }
}

fn min_max(v: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    v.fold(None, |acc, x| match acc {
        None => Some((x, x)),
        Some((lo, hi)) => Some((lo.min(x), hi.max(x))),
    })
}

/// Short names for the descriptor coverage column.
const SHORT: [&str; N_DESCRIPTORS] = ["chg_t", "cc_t", "cv_t", "chg_v", "chg_v_sd", "dis_v", "chg_i", "temp", "R", "CE"];

/// A Markdown table (also readable as plain text in a terminal).
pub fn markdown(s: &Summary) -> String {
    let mut out = String::new();
    out.push_str("| dataset | cells | cycle rows | observed | chemistry | temperature (°C) | SOH range | descriptors (share of rows) | EOL labels |\n");
    out.push_str("|---|---:|---:|---|---|---|---|---|---:|\n");
    for d in &s.datasets {
        let temp = d
            .temperature_c
            .map(|(a, b)| if a == b { format!("{a:.0}") } else { format!("{a:.0} to {b:.0}") })
            .unwrap_or_else(|| "unknown".into());
        // The map is keyed by name (sorted); walk it in descriptor order for the short names.
        let desc: Vec<String> = DESCRIPTORS
            .iter()
            .zip(SHORT)
            .filter_map(|(name, short)| {
                let v = d.descriptor_coverage.get(*name).copied().unwrap_or(0.0);
                (v > 0.0).then(|| format!("{short} {:.0}%", v * 100.0))
            })
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.3} – {:.3} | {} | {} |\n",
            d.dataset,
            d.cells,
            d.cycle_rows,
            d.observation,
            if d.chemistry.is_empty() { "unknown".into() } else { d.chemistry.join("; ") },
            temp,
            d.soh.0,
            d.soh.1,
            if desc.is_empty() { "none".into() } else { desc.join(", ") },
            d.eol_labels,
        ));
    }
    out.push_str(&format!("| **total** | **{}** | **{}** | | | | | | |\n", s.cells, s.cycle_rows));
    let legend: Vec<String> = SHORT.iter().zip(DESCRIPTORS).map(|(s, n)| format!("{s} = `{n}`")).collect();
    out.push_str(&format!("\nDescriptors: {}.\n", legend.join(", ")));
    out
}

/// How each dataset's source rows became corpus rows (from the build manifest): rows read,
/// dropped by the importer for a documented caveat, merged duplicates, outliers removed.
pub fn cleaning_markdown(m: &Manifest) -> String {
    let mut out = String::new();
    out.push_str("| dataset | source rows read | dropped by importer (reason: rows) | duplicates merged | outliers removed | corpus rows |\n");
    out.push_str("|---|---:|---|---:|---:|---:|\n");
    for d in &m.datasets {
        let dropped: Vec<String> = d.dropped_by_importer.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            d.dataset,
            d.rows_read,
            if dropped.is_empty() { "0".into() } else { dropped.join("; ") },
            d.duplicates_merged,
            d.outliers_removed,
            d.cycle_rows
        ));
    }
    out
}
