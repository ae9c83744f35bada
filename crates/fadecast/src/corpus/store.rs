//! Parquet storage of cells: `cells.parquet` (one row per cell, its metadata) and
//! `cycles.parquet` (one row per observation). Plain columns, readable from pandas, polars
//! or DuckDB; the descriptors' availability mask is the columns' null bitmap, also given as a
//! `descriptor_mask` bit field (bit i = `DESCRIPTORS[i]` present).

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, StringBuilder, UInt16Array,
    UInt32Array,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::arrow_writer::compute_leaves;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;

use crate::data::{Cell, CellMeta, Cycle, CycleAxis, Observation, DESCRIPTORS, N_DESCRIPTORS};
use crate::error::{ErrorKind, ImportError, Result};
use crate::import::CleanStats;

pub const CELLS_FILE: &str = "cells.parquet";
pub const CYCLES_FILE: &str = "cycles.parquet";

fn text<S: AsRef<str>>(v: impl IntoIterator<Item = Option<S>>) -> ArrayRef {
    Arc::new(v.into_iter().collect::<StringArray>())
}
fn num(v: impl IntoIterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(v.into_iter().collect::<Float64Array>())
}

fn axis_name(a: CycleAxis) -> &'static str {
    match a {
        CycleAxis::Cycle => "cycle",
        CycleAxis::EquivalentFullCycles => "equivalent_full_cycles",
    }
}
fn observation_name(o: Observation) -> &'static str {
    match o {
        Observation::PerCycle => "per_cycle",
        Observation::CheckUp => "check_up",
    }
}

/// The cell table. `stats`, when given, adds the cleaning counts per cell.
pub fn cell_batch(cells: &[Cell], stats: Option<&[CleanStats]>) -> Result<RecordBatch> {
    let m = |f: &dyn Fn(&CellMeta) -> Option<String>| text(cells.iter().map(|c| f(&c.meta)));
    let x = |f: &dyn Fn(&CellMeta) -> Option<f64>| num(cells.iter().map(|c| f(&c.meta)));
    let mut cols: Vec<(&str, ArrayRef)> = vec![
        ("dataset", m(&|c| Some(c.dataset.clone()))),
        ("cell_id", m(&|c| Some(c.cell_id.clone()))),
        ("chemistry", m(&|c| c.chemistry.clone())),
        ("cathode", m(&|c| c.cathode.clone())),
        ("anode", m(&|c| c.anode.clone())),
        ("form_factor", m(&|c| c.form_factor.clone())),
        ("nominal_capacity_ah", x(&|c| c.nominal_capacity_ah)),
        ("temperature_c", x(&|c| c.temperature_c)),
        ("charge_c_rate", x(&|c| c.charge_c_rate)),
        ("discharge_c_rate", x(&|c| c.discharge_c_rate)),
        ("dod", x(&|c| c.dod)),
        ("protocol", m(&|c| c.protocol.clone())),
        ("source", m(&|c| c.source.clone())),
        ("license", m(&|c| c.license.clone())),
        ("axis", m(&|c| Some(axis_name(c.axis).to_string()))),
        ("observation", m(&|c| Some(observation_name(c.observation).to_string()))),
        ("eol_cycle_label", x(&|c| c.eol_cycle_label)),
        ("reference_capacity_ah", x(&|c| c.reference_capacity_ah)),
        ("reference_rule", m(&|c| Some(c.reference_rule.clone()))),
        ("n_cycles", Arc::new(cells.iter().map(|c| c.cycles.len() as u32).collect::<UInt32Array>())),
    ];
    if let Some(stats) = stats {
        let u = |f: &dyn Fn(&CleanStats) -> usize| -> ArrayRef {
            Arc::new(stats.iter().map(|s| f(s) as u32).collect::<UInt32Array>())
        };
        cols.push(("rows_read", u(&|s| s.rows_read)));
        cols.push(("rows_dropped_by_importer", u(&|s| s.dropped_by_importer.values().sum())));
        cols.push(("duplicates_merged", u(&|s| s.duplicates_merged)));
        cols.push(("outliers_removed", u(&|s| s.outliers_removed)));
    }
    batch(cols)
}

/// The cycle table: one row per observation of every cell.
pub fn cycle_batch(cells: &[Cell]) -> Result<RecordBatch> {
    let names: Vec<&str> = ["dataset", "cell_id", "cycle", "capacity_ah", "soh"]
        .into_iter()
        .chain(DESCRIPTORS.iter().copied())
        .chain(["descriptor_mask"])
        .collect();
    let n_rows: usize = cells.iter().map(|c| c.cycles.len()).sum();
    // Builders sized up front and filled in one pass over the rows, cell by cell: a flat iterator
    // has no size hint (columns grew by doubling), and a pass per column re-read every row.
    let repeated = |f: &dyn Fn(&CellMeta) -> &str| -> ArrayRef {
        let bytes = cells.iter().map(|c| f(&c.meta).len() * c.cycles.len()).sum();
        let mut b = StringBuilder::with_capacity(n_rows, bytes);
        for c in cells {
            let v = f(&c.meta);
            c.cycles.iter().for_each(|_| b.append_value(v));
        }
        Arc::new(b.finish()) as ArrayRef
    };
    // Numeric column k of a row (k = 0 cycle, 1 capacity, 2 SOH, 3.. descriptors).
    let value = |y: &Cycle, k: usize| match k {
        0 => Some(y.cycle),
        1 => y.capacity_ah,
        2 => Some(y.soh),
        _ => y.descriptors[k - 3],
    };
    // Columns `ks`, filled in one pass over the rows into plain vectors.
    let numbers = |ks: std::ops::Range<usize>| -> Vec<ArrayRef> {
        let mut values: Vec<Vec<f64>> = ks.clone().map(|_| Vec::with_capacity(n_rows)).collect();
        let mut valid: Vec<Vec<bool>> = ks.clone().map(|_| Vec::with_capacity(n_rows)).collect();
        for y in cells.iter().flat_map(|c| &c.cycles) {
            for (j, k) in ks.clone().enumerate() {
                let v = value(y, k);
                values[j].push(v.unwrap_or(0.0));
                valid[j].push(v.is_some());
            }
        }
        values
            .into_iter()
            .zip(valid)
            .map(|(v, ok)| {
                let nulls = Some(NullBuffer::from(ok)).filter(|n| n.null_count() > 0);
                Arc::new(Float64Array::new(v.into(), nulls)) as ArrayRef
            })
            .collect()
    };
    let masks = || -> ArrayRef {
        Arc::new(UInt16Array::from_iter_values(cells.iter().flat_map(|c| &c.cycles).map(Cycle::descriptor_mask)))
    };
    // Two threads' worth of work of about equal size.
    let half = (3 + N_DESCRIPTORS) / 2;
    let ((dataset, cell_id, mask), (low, high)) = rayon::join(
        || {
            let ((d, c), m) = rayon::join(|| rayon::join(|| repeated(&|m| &m.dataset), || repeated(&|m| &m.cell_id)), masks);
            (d, c, m)
        },
        || rayon::join(|| numbers(0..half), || numbers(half..3 + N_DESCRIPTORS)),
    );
    let numbers: Vec<ArrayRef> = low.into_iter().chain(high).chain([mask]).collect();
    let cols: Vec<(&str, ArrayRef)> = names.into_iter().zip([dataset, cell_id].into_iter().chain(numbers)).collect();
    batch(cols)
}

fn batch(cols: Vec<(&str, ArrayRef)>) -> Result<RecordBatch> {
    let schema = Schema::new(
        cols.iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), a.null_count() > 0 || is_optional(n)))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(Arc::new(schema), cols.into_iter().map(|(_, a)| a).collect())
        .map_err(|e| ImportError::malformed("<corpus>", format!("building table: {e}")))
}

/// Columns that may hold nulls are declared nullable even when a particular build has none,
/// so the schema does not depend on the data.
fn is_optional(name: &str) -> bool {
    !matches!(name, "dataset" | "cell_id" | "cycle" | "soh" | "descriptor_mask" | "axis" | "observation" | "reference_rule" | "n_cycles")
}

/// Writes one record batch to a Parquet file, atomically (temp file + rename).
pub fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<()> {
    let io = |e: std::io::Error| ImportError::write(path, e);
    let pq = |e: parquet::errors::ParquetError| ImportError::malformed(path, format!("writing Parquet: {e}"));
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| {
        let file = File::create(&tmp).map_err(io)?;
        // Dictionary encoding pays for text (a few names repeated on every row) but not for
        // measurements, nearly all distinct: hashing each one cost more than encoding it.
        let mut props = WriterProperties::builder().set_compression(Compression::SNAPPY).set_dictionary_enabled(false);
        for field in batch.schema().fields() {
            if matches!(field.data_type(), DataType::Utf8) {
                props = props.set_column_dictionary_enabled(ColumnPath::from(field.name().as_str()), true);
            }
        }
        let props = props.build();
        // One row group whose columns are encoded in parallel (ArrowWriter encodes them one by one).
        let (mut writer, factory) =
            ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(pq)?.into_serialized_writer().map_err(pq)?;
        let mut leaves = Vec::new();
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            leaves.extend(compute_leaves(field, column).map_err(pq)?);
        }
        let chunks: Vec<_> = factory
            .create_column_writers(0)
            .map_err(pq)?
            .into_par_iter()
            .zip(leaves)
            .map(|(mut w, leaf)| {
                w.write(&leaf)?;
                w.close()
            })
            .collect::<std::result::Result<_, _>>()
            .map_err(pq)?;
        let mut row_group = writer.next_row_group().map_err(pq)?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group).map_err(pq)?;
        }
        row_group.close().map_err(pq)?;
        writer.close().map_err(pq)?;
        std::fs::rename(&tmp, path).map_err(io)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes the per-cycle rows of `cells` (with `dataset`/`cell_id` columns) to one Parquet file.
/// Used by `fadecast import --out`.
pub fn write_cells(path: &Path, cells: &[Cell]) -> Result<()> {
    write_parquet(path, &cycle_batch(cells)?)
}

fn read_parquet(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = File::open(path).map_err(|e| ImportError::io(path, e))?;
    let pq = |e: parquet::errors::ParquetError| ImportError::malformed(path, format!("reading Parquet: {e}"));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?.with_batch_size(65536).build().map_err(pq)?;
    reader
        .map(|b| b.map_err(|e| ImportError::malformed(path, format!("reading Parquet: {e}"))))
        .collect()
}

/// Typed column access with errors that name the file and column.
struct Cols<'a> {
    path: &'a Path,
    batch: &'a RecordBatch,
}

impl<'a> Cols<'a> {
    fn get<T: 'static>(&self, name: &str) -> Result<&'a T> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| ImportError::new(self.path, ErrorKind::MissingColumn(name.into())))?
            .as_any()
            .downcast_ref::<T>()
            .ok_or_else(|| ImportError::malformed(self.path, format!("column `{name}` has an unexpected type")))
    }
    fn text(&self, name: &str, i: usize) -> Result<Option<String>> {
        let a = self.get::<StringArray>(name)?;
        Ok(a.is_valid(i).then(|| a.value(i).to_string()))
    }
    fn num(&self, name: &str, i: usize) -> Result<Option<f64>> {
        let a = self.get::<Float64Array>(name)?;
        Ok(a.is_valid(i).then(|| a.value(i)))
    }
}

/// Reads a corpus directory back into cells (in `cells.parquet` order).
pub fn read_corpus(dir: &Path) -> Result<Vec<Cell>> {
    let cells_path = dir.join(CELLS_FILE);
    let mut cells: Vec<Cell> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for b in read_parquet(&cells_path)? {
        let c = Cols { path: &cells_path, batch: &b };
        for i in 0..b.num_rows() {
            let req = |n: &str| -> Result<String> {
                c.text(n, i)?.ok_or_else(|| ImportError::malformed(&cells_path, format!("null `{n}`")).row(i + 1))
            };
            let meta = CellMeta {
                dataset: req("dataset")?,
                cell_id: req("cell_id")?,
                chemistry: c.text("chemistry", i)?,
                cathode: c.text("cathode", i)?,
                anode: c.text("anode", i)?,
                form_factor: c.text("form_factor", i)?,
                nominal_capacity_ah: c.num("nominal_capacity_ah", i)?,
                temperature_c: c.num("temperature_c", i)?,
                charge_c_rate: c.num("charge_c_rate", i)?,
                discharge_c_rate: c.num("discharge_c_rate", i)?,
                dod: c.num("dod", i)?,
                protocol: c.text("protocol", i)?,
                source: c.text("source", i)?,
                license: c.text("license", i)?,
                axis: match req("axis")?.as_str() {
                    "equivalent_full_cycles" => CycleAxis::EquivalentFullCycles,
                    _ => CycleAxis::Cycle,
                },
                observation: match req("observation")?.as_str() {
                    "check_up" => Observation::CheckUp,
                    _ => Observation::PerCycle,
                },
                eol_cycle_label: c.num("eol_cycle_label", i)?,
                reference_capacity_ah: c.num("reference_capacity_ah", i)?,
                reference_rule: req("reference_rule")?,
            };
            index.insert((meta.dataset.clone(), meta.cell_id.clone()), cells.len());
            cells.push(Cell { meta, cycles: Vec::new() });
        }
    }
    let cycles_path = dir.join(CYCLES_FILE);
    for b in read_parquet(&cycles_path)? {
        let c = Cols { path: &cycles_path, batch: &b };
        let dataset = c.get::<StringArray>("dataset")?;
        let cell_id = c.get::<StringArray>("cell_id")?;
        let cycle = c.get::<Float64Array>("cycle")?;
        let soh = c.get::<Float64Array>("soh")?;
        let capacity = c.get::<Float64Array>("capacity_ah")?;
        let desc: Vec<&Float64Array> = DESCRIPTORS.iter().map(|n| c.get::<Float64Array>(n)).collect::<Result<_>>()?;
        let mut key = (String::new(), String::new());
        let mut at = usize::MAX;
        for i in 0..b.num_rows() {
            if key.0 != dataset.value(i) || key.1 != cell_id.value(i) {
                key = (dataset.value(i).to_string(), cell_id.value(i).to_string());
                at = *index.get(&key).ok_or_else(|| {
                    ImportError::malformed(&cycles_path, format!("cell {}/{} is not in {CELLS_FILE}", key.0, key.1)).row(i + 1)
                })?;
            }
            let mut descriptors = [None; N_DESCRIPTORS];
            for (d, a) in descriptors.iter_mut().zip(&desc) {
                *d = a.is_valid(i).then(|| a.value(i));
            }
            cells[at].cycles.push(Cycle {
                cycle: cycle.value(i),
                capacity_ah: capacity.is_valid(i).then(|| capacity.value(i)),
                soh: soh.value(i),
                descriptors,
            });
        }
    }
    Ok(cells)
}
