//! The train / val / test / unseen split, by cell, never by cycle.
//!
//! Rule (version 1): the datasets in [`UNSEEN_DATASETS`] are held out whole (`unseen`). Within
//! every other dataset the cells are ordered by [`fnv1a64`] of `"<dataset>/<cell_id>"` (ties by
//! id) and cut in that order: the first [`test_count`] go to `test`, the next [`val_count`] to
//! `val`, the rest to `train` (about 70/10/20, with at least one test cell from 2 cells and one
//! val cell from 3). The hash is written out here, not Rust's randomised hasher, so the split is
//! the same on every machine and every run. Ranking within a dataset (rather than bucketing each
//! hash on its own) guarantees small datasets a test cell.
//!
//! The split is versioned in `splits/v1.json` ([`SplitFile`]); the evaluator reads that file, so a
//! change to the corpus cannot silently move cells between splits: a cell missing from the file
//! is an error, and a new split is a new version.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::data::Cell;

/// Datasets never used for training or model selection: zero-shot transfer is measured on them.
pub const UNSEEN_DATASETS: [&str; 4] = ["TBSI_Sunwoda", "RolstonLab_Molicel21700_EIS", "STROEBL_NCA", "Oxford"];

pub const SPLIT_VERSION: u32 = 1;
pub const TEST_FRACTION: f64 = 0.2;
pub const VAL_FRACTION: f64 = 0.1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Train,
    Val,
    Test,
    Unseen,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
            Split::Unseen => "unseen",
        }
    }
}

pub fn is_unseen_dataset(dataset: &str) -> bool {
    UNSEEN_DATASETS.contains(&dataset)
}

/// 64-bit FNV-1a: a tiny, stable, well-spread hash.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Test cells in a seen dataset of `n` cells.
pub fn test_count(n: usize) -> usize {
    if n < 2 {
        0
    } else {
        ((n as f64 * TEST_FRACTION).round() as usize).max(1)
    }
}

/// Validation cells in a seen dataset of `n` cells.
pub fn val_count(n: usize) -> usize {
    if n < 3 {
        0
    } else {
        ((n as f64 * VAL_FRACTION).round() as usize).max(1)
    }
}

/// The split file: for each dataset, the cell ids of each split (sorted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitFile {
    pub version: u32,
    pub rule: String,
    pub unseen_datasets: Vec<String>,
    pub datasets: BTreeMap<String, BTreeMap<Split, Vec<String>>>,
}

impl SplitFile {
    /// Assigns every cell by the version-1 rule.
    pub fn assign(cells: &[Cell]) -> Self {
        let mut by_dataset: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for c in cells {
            by_dataset.entry(&c.meta.dataset).or_default().push(&c.meta.cell_id);
        }
        let mut datasets = BTreeMap::new();
        for (dataset, mut ids) in by_dataset {
            ids.sort_unstable();
            ids.dedup();
            let mut splits: BTreeMap<Split, Vec<String>> = BTreeMap::new();
            if is_unseen_dataset(dataset) {
                splits.insert(Split::Unseen, ids.iter().map(|s| s.to_string()).collect());
            } else {
                ids.sort_by_key(|id| (fnv1a64(format!("{dataset}/{id}").as_bytes()), *id));
                let (nt, nv) = (test_count(ids.len()), val_count(ids.len()));
                for (i, id) in ids.iter().enumerate() {
                    let s = if i < nt {
                        Split::Test
                    } else if i < nt + nv {
                        Split::Val
                    } else {
                        Split::Train
                    };
                    splits.entry(s).or_default().push(id.to_string());
                }
                for v in splits.values_mut() {
                    v.sort();
                }
            }
            datasets.insert(dataset.to_string(), splits);
        }
        Self {
            version: SPLIT_VERSION,
            rule: "unseen datasets held out whole; within each other dataset cells ranked by FNV-1a-64 of \
                   \"dataset/cell_id\": first round(20%) (>=1 from 2 cells) test, next round(10%) (>=1 from 3 cells) val, rest train"
                .into(),
            unseen_datasets: UNSEEN_DATASETS.iter().map(|s| s.to_string()).collect(),
            datasets,
        }
    }

    /// `(dataset, cell_id) -> split`.
    pub fn lookup(&self) -> HashMap<(String, String), Split> {
        let mut m = HashMap::new();
        for (d, splits) in &self.datasets {
            for (s, ids) in splits {
                for id in ids {
                    m.insert((d.clone(), id.clone()), *s);
                }
            }
        }
        m
    }

    /// The split of every cell, in order; an error names the first cell the file does not know.
    pub fn splits_of(&self, cells: &[Cell]) -> Result<Vec<Split>, String> {
        let m = self.lookup();
        cells
            .iter()
            .map(|c| {
                m.get(&(c.meta.dataset.clone(), c.meta.cell_id.clone())).copied().ok_or_else(|| {
                    format!(
                        "cell {} is not in split file version {} (the corpus changed since the split was written: \
                         write a new split version with `fadecast eval --write-split`)",
                        c.key(),
                        self.version
                    )
                })
            })
            .collect()
    }

    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: not a split file: {e}", path.display()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("split file serialises") + "\n"
    }
}
