//! `corpus build`: every public dataset ─import─▶ clean ─▶ `cells.parquet`, `cycles.parquet`,
//! `manifest.json`, written into a temporary folder that is renamed into place at the end, so
//! an interrupted build never leaves a half-written corpus.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::store;
use crate::data::Cell;
use crate::error::{ImportError, Result};
use crate::import::{self, clean, CleanStats, DatasetImporter};

pub const MANIFEST_FILE: &str = "manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputFile {
    /// Path relative to the raw folder.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// What the build did with one dataset.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DatasetReport {
    pub dataset: String,
    pub cells: usize,
    pub cycle_rows: usize,
    /// Source rows read (before any drop), summed over cells.
    pub rows_read: usize,
    /// Rows the importer skipped for documented source caveats, per reason.
    pub dropped_by_importer: BTreeMap<String, usize>,
    pub duplicates_merged: usize,
    pub outliers_removed: usize,
    /// Cells with the most outliers removed (cell id, count), at most five.
    pub most_outliers: Vec<(String, usize)>,
    /// Cells carrying an end-of-life label (from the source or BatteryLife).
    pub eol_labels_attached: usize,
    pub inputs: Vec<InputFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub tool: String,
    pub version: String,
    pub raw_dir: String,
    pub built_unix: u64,
    pub cleaning: BTreeMap<String, String>,
    pub cells: usize,
    pub cycle_rows: usize,
    pub datasets: Vec<DatasetReport>,
}

/// Imports and cleans one dataset; returns its cells, their cleaning stats and the report.
/// `labels` are the BatteryLife end-of-life labels ([`import::labels::load`]), attached where
/// the cell ids match.
pub fn import_dataset(
    raw_dir: &Path,
    d: &DatasetImporter,
    labels: &BTreeMap<String, f64>,
) -> Result<(Vec<Cell>, Vec<CleanStats>, DatasetReport)> {
    let dir = raw_dir.join(d.name);
    if !dir.is_dir() {
        return Err(ImportError::malformed(&dir, format!("dataset folder for {} not found", d.name)));
    }
    let mut raws = (d.import)(&dir)?;
    import::labels::attach(&mut raws, labels);
    let mut cells = Vec::with_capacity(raws.len());
    let mut stats = Vec::with_capacity(raws.len());
    let mut report = DatasetReport { dataset: d.name.to_string(), ..Default::default() };
    report.eol_labels_attached = raws.iter().filter(|r| r.meta.eol_cycle_label.is_some()).count();
    let cleaned: Vec<(Cell, CleanStats)> = raws.into_par_iter().map(|raw| clean(raw, d.clean)).collect::<Result<_>>()?;
    for (cell, s) in cleaned {
        report.cells += 1;
        report.cycle_rows += cell.cycles.len();
        report.rows_read += s.rows_read;
        for (k, v) in &s.dropped_by_importer {
            *report.dropped_by_importer.entry(k.clone()).or_default() += v;
        }
        report.duplicates_merged += s.duplicates_merged;
        report.outliers_removed += s.outliers_removed;
        if s.outliers_removed > 0 {
            report.most_outliers.push((cell.meta.cell_id.clone(), s.outliers_removed));
        }
        cells.push(cell);
        stats.push(s);
    }
    report.most_outliers.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    report.most_outliers.truncate(5);
    report.inputs = checksums(raw_dir, &dir)?;
    Ok((cells, stats, report))
}

/// SHA-256 of every file in a dataset folder, so a corpus names exactly the bytes it came from.
fn checksums(raw_dir: &Path, dir: &Path) -> Result<Vec<InputFile>> {
    let mut files = import::read::files_with_suffix(dir, "")?;
    files.sort();
    files
        .par_iter()
        .map(|p| {
            let io = |e| ImportError::io(p, e);
            let mut f = std::fs::File::open(p).map_err(io)?;
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 1 << 16];
            let mut bytes = 0u64;
            loop {
                let n = f.read(&mut buf).map_err(io)?;
                if n == 0 {
                    break;
                }
                bytes += n as u64;
                h.update(&buf[..n]);
            }
            Ok(InputFile {
                path: p.strip_prefix(raw_dir).unwrap_or(p).to_string_lossy().into_owned(),
                bytes,
                sha256: hex::encode(h.finalize()),
            })
        })
        .collect()
}

/// Builds the corpus from `raw_dir` into `out`. `on_dataset` is called as each dataset finishes
/// (for a progress bar). `only` restricts the build to the named datasets (all when empty).
pub fn build(
    raw_dir: &Path,
    out: &Path,
    only: &[String],
    on_dataset: &(dyn Fn(&str) + Sync),
) -> Result<Manifest> {
    let chosen: Vec<&DatasetImporter> = import::DATASETS
        .iter()
        .filter(|d| only.is_empty() || only.iter().any(|o| o.eq_ignore_ascii_case(d.name)))
        .collect();
    if chosen.is_empty() {
        return Err(ImportError::malformed(raw_dir, format!("no dataset matches {only:?}")));
    }
    // A raw folder without label files (a user's own subset) simply gets no labels.
    let labels = if import::labels::label_files(raw_dir)?.is_empty() {
        BTreeMap::new()
    } else {
        import::labels::load(raw_dir)?
    };
    let parts: Vec<(Vec<Cell>, Vec<CleanStats>, DatasetReport)> = chosen
        .par_iter()
        .map(|d| {
            let r = import_dataset(raw_dir, d, &labels);
            on_dataset(d.name);
            r
        })
        .collect::<Result<_>>()?;

    let mut cells = Vec::new();
    let mut stats = Vec::new();
    let mut datasets = Vec::new();
    for (c, s, r) in parts {
        cells.extend(c);
        stats.extend(s);
        datasets.push(r);
    }
    let manifest = Manifest {
        tool: "fadecast".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        raw_dir: raw_dir.display().to_string(),
        built_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        cleaning: cleaning_rules(),
        cells: cells.len(),
        cycle_rows: cells.iter().map(|c| c.cycles.len()).sum(),
        datasets,
    };
    write_dir_atomically(out, |tmp| {
        let (a, b) = rayon::join(
            || store::write_parquet(&tmp.join(store::CELLS_FILE), &store::cell_batch(&cells, Some(&stats))?),
            || store::write_parquet(&tmp.join(store::CYCLES_FILE), &store::cycle_batch(&cells)?),
        );
        a.and(b)?;
        let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises");
        std::fs::write(tmp.join(MANIFEST_FILE), json).map_err(|e| ImportError::write(tmp.join(MANIFEST_FILE), e))
    })?;
    Ok(manifest)
}

fn cleaning_rules() -> BTreeMap<String, String> {
    use crate::import::clean::*;
    BTreeMap::from([
        ("validation".into(), format!("cycle finite, >= 0 and <= {MAX_CYCLE}; capacity present, finite, > 0 and <= {MAX_CAPACITY_AH} Ah; otherwise an error")),
        ("order".into(), "strictly increasing cycles; sources documented to need it are sorted and duplicate cycles averaged".into()),
        ("soh".into(), format!("capacity / nominal capacity; without a nominal, / median of the first {INITIAL_OBSERVATIONS} full capacities (per-cycle data; under {PARTIAL_FRACTION} of the median of the first {INITIAL_WINDOW} is a partial cycle and does not count) or / the first check-up (check-up data); normalised-only sources keep their normalisation and have no capacity in Ah")),
        ("outliers".into(), format!("per-cycle cells only: removed when |SOH - rolling median({OUTLIER_WINDOW})| > max({OUTLIER_K} * 1.4826 * MAD, {OUTLIER_FLOOR})")),
    ])
}

/// Runs `write` into a fresh temp folder beside `out`, then swaps it into place. On error the
/// temp folder is removed and `out` is left as it was.
pub fn write_dir_atomically(out: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| ImportError::write(parent, e))?;
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "corpus".into());
    let tmp: PathBuf = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| ImportError::write(&tmp, e))?;
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    if out.exists() {
        std::fs::rename(out, &old).map_err(|e| ImportError::write(out, e))?;
    }
    std::fs::rename(&tmp, out).map_err(|e| ImportError::write(out, e))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}
