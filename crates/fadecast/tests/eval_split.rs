//! The split: deterministic, disjoint, unseen datasets held out whole; and the committed split
//! file obeys the same rules.

mod eval_common;

use std::collections::{BTreeMap, HashSet};

use eval_common::cell;
use fadecast::eval::split::{fnv1a64, Split, SplitFile, UNSEEN_DATASETS};

#[test]
fn fnv1a_matches_the_reference_vectors() {
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
}

fn corpus() -> Vec<fadecast::Cell> {
    let mut cells = Vec::new();
    for (d, n) in [("MATR", 40), ("CALCE", 4), ("TWO", 2), ("ONE", 1), ("Oxford", 8), ("TBSI_Sunwoda", 5)] {
        for i in 0..n {
            cells.push(cell(d, &format!("{d}_cell{i}"), 3, |_| 1.0));
        }
    }
    cells
}

#[test]
fn split_is_deterministic_and_independent_of_cell_order() {
    let cells = corpus();
    let a = SplitFile::assign(&cells);
    let mut reversed = cells.clone();
    reversed.reverse();
    assert_eq!(a, SplitFile::assign(&reversed));
    assert_eq!(a.to_json(), SplitFile::assign(&cells).to_json());
}

fn check_rules(f: &SplitFile) {
    let mut seen_keys = HashSet::new();
    for (d, splits) in &f.datasets {
        for ids in splits.values() {
            for id in ids {
                assert!(seen_keys.insert((d.clone(), id.clone())), "{d}/{id} is in two splits");
            }
        }
        if UNSEEN_DATASETS.contains(&d.as_str()) {
            assert_eq!(splits.keys().copied().collect::<Vec<_>>(), vec![Split::Unseen], "{d} is held out whole");
        } else {
            assert!(!splits.contains_key(&Split::Unseen), "{d} is seen");
        }
    }
}

#[test]
fn split_is_disjoint_with_unseen_datasets_held_out_and_sensible_sizes() {
    let f = SplitFile::assign(&corpus());
    check_rules(&f);
    let n = |d: &str, s: Split| f.datasets[d].get(&s).map_or(0, Vec::len);
    assert_eq!((n("MATR", Split::Train), n("MATR", Split::Val), n("MATR", Split::Test)), (28, 4, 8));
    assert_eq!((n("CALCE", Split::Train), n("CALCE", Split::Val), n("CALCE", Split::Test)), (2, 1, 1));
    assert_eq!((n("TWO", Split::Train), n("TWO", Split::Test)), (1, 1));
    assert_eq!(n("ONE", Split::Train), 1);
    assert_eq!(n("Oxford", Split::Unseen), 8);
    let look = f.lookup();
    assert!(look.iter().all(|((d, _), s)| (*s == Split::Unseen) == UNSEEN_DATASETS.contains(&d.as_str())));
}

#[test]
fn a_cell_missing_from_the_split_file_is_an_error() {
    let f = SplitFile::assign(&corpus());
    let stranger = cell("MATR", "not-in-the-file", 3, |_| 1.0);
    let e = f.splits_of(&[stranger]).unwrap_err();
    assert!(e.contains("MATR/not-in-the-file") && e.contains("--write-split"), "{e}");
}

#[test]
fn the_committed_split_file_obeys_the_rules() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../splits/v1.json");
    let f = SplitFile::read(&path).unwrap();
    assert_eq!(f.version, 1);
    check_rules(&f);
    // Every unseen dataset is in the file, and roughly 70/10/20 overall.
    for d in UNSEEN_DATASETS {
        assert!(f.datasets.contains_key(d), "{d} missing");
    }
    let mut counts: BTreeMap<Split, usize> = BTreeMap::new();
    for s in f.datasets.values() {
        for (k, ids) in s {
            *counts.entry(*k).or_default() += ids.len();
        }
    }
    let seen = counts[&Split::Train] + counts[&Split::Val] + counts[&Split::Test];
    let test_share = counts[&Split::Test] as f64 / seen as f64;
    assert!((0.17..0.23).contains(&test_share), "test share {test_share}");
    // Reassigning the file's own cells reproduces it exactly (the rule is the file).
    let cells: Vec<fadecast::Cell> = f
        .datasets
        .iter()
        .flat_map(|(d, s)| s.values().flatten().map(move |id| cell(d, id, 1, |_| 1.0)))
        .collect();
    assert_eq!(SplitFile::assign(&cells).datasets, f.datasets);
}
