//! Corpus parsing hot path: import + clean one real dataset (TJU, gzip CSVs) and build its
//! Parquet tables in memory. Reads `../shared/data/raw` (or `$FADECAST_DATA`); skips without it.
//! `cargo bench -p fadecast`.

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, Criterion};
use fadecast::corpus::build::import_dataset;
use fadecast::corpus::store::cycle_batch;
use fadecast::import::DATASETS;

fn corpus(c: &mut Criterion) {
    let raw = fadecast::corpus::default_raw_dir();
    let Some(tju) = DATASETS.iter().find(|d| d.name == "TJU") else { return };
    if !raw.join("TJU").is_dir() {
        eprintln!("{}: no TJU data, corpus bench skipped", raw.display());
        return;
    }
    let labels = BTreeMap::new();
    let mut group = c.benchmark_group("corpus");
    group.sample_size(10);
    group.bench_function("import_and_clean/TJU", |b| b.iter(|| import_dataset(&raw, tju, &labels).expect("TJU imports")));
    let (cells, _, _) = import_dataset(&raw, tju, &labels).expect("TJU imports");
    group.bench_function("cycle_table/TJU", |b| b.iter(|| cycle_batch(&cells).expect("table")));
    group.finish();
}

criterion_group!(benches, corpus);
criterion_main!(benches);
