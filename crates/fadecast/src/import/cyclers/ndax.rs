//! Neware `.ndax` reader (BTS 8+): a zip archive of XML settings and binary `.ndc` data files.
//!
//! Follows NewareNDA (d-cogswell/NewareNDA, `NewareNDA/NewareNDAx.py`: `read_ndax`,
//! `read_ndc`, `_read_ndc_{5,11,14}_filetype_{1,7,18}`, `_bytes_to_list_ndc`), whose output
//! FIXTURES.md records as the reference.
//!
//! Every `.ndc` starts with a 4-byte tag: byte 0 the file type, byte 2 the NDC version. After
//! a 4096-byte header the data come in 4096-byte pages:
//! - **version 5, type 1** (`data.ndc` holds everything): in each page, bytes 125..len-56 are
//!   87-byte slots; a slot whose byte 7 is `0x55` holds a record laid out like the `.nda`
//!   record shifted by 6 bytes (index u32 @8, cycle u32 @12, step u8 @16, status u8 @17, step
//!   time u64 ms @23, voltage i32 @31, current i32 @35, capacities / energies i64 @43..75,
//!   range i32 @82; same range multipliers as `.nda`).
//! - **versions 11 and 14** split the data over three files, joined on the record index:
//!   `data.ndc` (type 1: voltage/current f32 pairs at page bytes 132..len-4, one per record,
//!   index = position), `data_runInfo.ndc` (type 18: step time, capacities, energies, step and
//!   index; 47-byte (v11) or 55-byte (v14) slots at bytes 132..len-63 / len-59) and
//!   `data_step.ndc` (type 7: one 37-byte slot per executed step with cycle, step index and
//!   status at bytes 132..len-5). v11 stores voltage in 0.1 mV and capacity in mA·s; v14 stores
//!   V, A and Ah.
//!
//! Aux (temperature) `.ndc` files are not read: no fixture has one to test against. BTS writes
//! runInfo records only now and then (the v14 fixture: 12 for 67 samples); like NewareNDA, the
//! samples between get an interpolated step time and capacity counters integrated from the
//! current, with a warning.

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::Path;

use super::nda::{self, le_f32, le_i16, le_i32, le_i64, le_u32, le_u64, Record};
use super::TimeSeries;
use crate::error::{ImportError, Result};

const PAGE: usize = 4096;
/// Largest `.ndc` member we decompress (a zip bomb stops here).
const MAX_MEMBER_BYTES: u64 = 1 << 30;

/// True when `head` is a zip archive (local file header magic). The archive could be any zip
/// (xlsx too); `detect` looks for the `.ndc` member names before calling this format.
pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04") && head.windows(4).any(|w| w == b".ndc" || w == b"Step")
}

/// Reads a Neware `.ndax` file.
pub fn parse(path: &Path) -> Result<Vec<TimeSeries>> {
    let data = nda::read_capped(path)?;
    parse_bytes(path, &data)
}

/// Parses the bytes of an `.ndax` archive; `path` only names the file in errors.
pub fn parse_bytes(path: &Path, data: &[u8]) -> Result<Vec<TimeSeries>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(data))
        .map_err(|e| ImportError::malformed(path, format!("not a readable .ndax (zip) archive: {e}")))?;
    let main = member(path, &mut zip, "data.ndc")?
        .ok_or_else(|| ImportError::malformed(path, "archive has no `data.ndc` member"))?;
    let (filetype, version) = ndc_tag(path, "data.ndc", &main)?;
    let recs = match (version, filetype) {
        (5, 1) => read_v5_records(&main),
        (11 | 14, 1) => {
            let run = member(path, &mut zip, "data_runInfo.ndc")?
                .ok_or_else(|| ImportError::malformed(path, "archive has no `data_runInfo.ndc` member"))?;
            let step = member(path, &mut zip, "data_step.ndc")?
                .ok_or_else(|| ImportError::malformed(path, "archive has no `data_step.ndc` member"))?;
            check_tag(path, "data_runInfo.ndc", &run, 18, version)?;
            check_tag(path, "data_step.ndc", &step, 7, version)?;
            join_split(path, version, &main, &run, &step)
        }
        (v, t) => {
            return Err(ImportError::malformed(
                path,
                format!("`data.ndc` is NDC version {v} file type {t}, which is not supported (versions 5, 11, 14)"),
            ))
        }
    };
    if recs.is_empty() {
        return Err(ImportError::new(path, crate::error::ErrorKind::Empty));
    }
    Ok(vec![nda::to_series(path, &recs, None)])
}

/// Decompresses one member (at most [`MAX_MEMBER_BYTES`]); `None` when absent.
fn member(path: &Path, zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Option<Vec<u8>>> {
    let mut f = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(ImportError::malformed(path, format!("member `{name}`: {e}"))),
    };
    let mut buf = Vec::new();
    (&mut f)
        .take(MAX_MEMBER_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ImportError::malformed(path, format!("member `{name}` cannot be decompressed: {e}")))?;
    if buf.len() as u64 > MAX_MEMBER_BYTES {
        return Err(ImportError::malformed(path, format!("member `{name}` is larger than {MAX_MEMBER_BYTES} bytes")));
    }
    Ok(Some(buf))
}

/// (file type, NDC version) from the first bytes of an `.ndc`.
fn ndc_tag(path: &Path, name: &str, b: &[u8]) -> Result<(u8, u8)> {
    match b {
        [t, _, v, ..] => Ok((*t, *v)),
        _ => Err(ImportError::malformed(path, format!("member `{name}` is shorter than its 4-byte header"))),
    }
}

fn check_tag(path: &Path, name: &str, b: &[u8], filetype: u8, version: u8) -> Result<()> {
    let (t, v) = ndc_tag(path, name, b)?;
    if (t, v) != (filetype, version) {
        return Err(ImportError::malformed(
            path,
            format!("member `{name}` is NDC version {v} type {t}, expected version {version} type {filetype}"),
        ));
    }
    Ok(())
}

/// The data pages of an `.ndc` (everything after the 4096-byte header, last page maybe short),
/// each cut to `[head, len - tail)` and split into `slot`-byte slots. Bounded by the data size.
fn slots(b: &[u8], head: usize, tail: usize, slot: usize) -> impl Iterator<Item = &[u8]> {
    b.get(PAGE..)
        .unwrap_or(&[])
        .chunks(PAGE)
        .filter(move |p| p.len() >= head + tail)
        .flat_map(move |p| p[head..p.len() - tail].chunks_exact(slot))
}

/// Version 5, type 1: complete records in `data.ndc` (`_read_ndc_5_filetype_1`).
fn read_v5_records(b: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    for s in slots(b, 125, 56, 87) {
        if s[7] != 0x55 {
            continue;
        }
        let status = s[17];
        // An unknown range code gives no scale: the record is skipped (NewareNDA would fail).
        let Some(m) = nda::range_multiplier(le_i32(s, 82)) else { continue };
        out.push(Record {
            index: le_u32(s, 8),
            step_key: u32::from(s[16]) | (u32::from(status) << 8),
            status,
            step_time_ms: le_u64(s, 23) as f64,
            voltage_v: f64::from(le_i32(s, 31)) / 10_000.0,
            current_ma: f64::from(le_i32(s, 35)) * m,
            charge_mah: le_i64(s, 43) as f64 * m / 3600.0,
            discharge_mah: le_i64(s, 51) as f64 * m / 3600.0,
            charge_mwh: le_i64(s, 59) as f64 * m / 3600.0,
            discharge_mwh: le_i64(s, 67) as f64 * m / 3600.0,
        });
    }
    out
}

/// One `data_runInfo.ndc` record (in ms, mAh, mWh).
struct RunInfo {
    time_ms: f64,
    charge_mah: f64,
    discharge_mah: f64,
    charge_mwh: f64,
    discharge_mwh: f64,
    /// Step counter after NewareNDA's `_count_changes` renumbering: the row of `data_step.ndc`.
    step: usize,
}

/// Versions 11/14: joins voltage/current (by position), runInfo (by index) and step (by the
/// renumbered step) the way `read_ndax` merges its three data frames.
fn join_split(path: &Path, version: u8, main: &[u8], run: &[u8], step: &[u8]) -> Vec<Record> {
    // data.ndc: (voltage, current) pairs; zero voltage marks an empty slot.
    let vi: Vec<(f64, f64)> = slots(main, 132, 4, 8)
        .map(|s| (f64::from(le_f32(s, 0)), f64::from(le_f32(s, 4))))
        .filter(|&(v, _)| v != 0.0)
        .map(|(v, i)| if version == 11 { (v * 1e-4, i) } else { (v, i * 1000.0) })
        .collect();

    // data_runInfo.ndc: v11 47-byte slots (capacity in mA·s), v14 55-byte slots (Ah).
    let (slot, tail, cap_scale) = if version == 11 { (47, 63, 1.0 / 3600.0) } else { (55, 59, 1000.0) };
    let mut runs: HashMap<u32, RunInfo> = HashMap::new();
    let mut step_no = 0usize;
    let mut last_raw_step = None;
    for s in slots(run, 132, tail, slot) {
        let index = le_i32(s, 41);
        if index == 0 {
            continue;
        }
        let raw_step = le_i32(s, 37);
        if last_raw_step != Some(raw_step) {
            step_no += 1;
            last_raw_step = Some(raw_step);
        }
        let _ms = le_i16(s, 45); // sub-second part of the wall-clock timestamp (not used)
        runs.entry(index as u32).or_insert(RunInfo {
            time_ms: f64::from(le_i32(s, 0)),
            charge_mah: f64::from(le_f32(s, 5)) * cap_scale,
            discharge_mah: f64::from(le_f32(s, 9)) * cap_scale,
            charge_mwh: f64::from(le_f32(s, 13)) * cap_scale,
            discharge_mwh: f64::from(le_f32(s, 17)) * cap_scale,
            step: step_no,
        });
    }

    // data_step.ndc: one slot per executed step, numbered from 1 in file order.
    let statuses: Vec<u8> = slots(step, 132, 5, 37).filter(|s| le_i32(s, 4) != 0).map(|s| s[24]).collect();

    // Join on the record index; a record without runInfo takes the step of the one before.
    let n = vi.len();
    let known: Vec<Option<&RunInfo>> = (1..=n).map(|k| runs.get(&(k as u32))).collect();
    let mut step_of = vec![0usize; n];
    for k in 0..n {
        step_of[k] = known[k].map_or(if k > 0 { step_of[k - 1] } else { 0 }, |r| r.step);
    }
    let time_ms = fill_time(&known, &step_of);
    let missing = known.iter().filter(|r| r.is_none()).count();
    if missing > 0 {
        tracing::warn!(
            "{}: {missing} of {n} records have no runInfo record; their time is interpolated and their \
             capacity integrated from the current, as NewareNDA does",
            path.display()
        );
    }
    let mut out: Vec<Record> = Vec::with_capacity(n);
    for k in 0..n {
        let (v, i) = vi[k];
        let status = step_of[k].checked_sub(1).and_then(|s| statuses.get(s)).copied().unwrap_or(0);
        let (chg, dis, chg_e, dis_e) = match (known[k], out.last()) {
            (Some(r), _) => (r.charge_mah, r.discharge_mah, r.charge_mwh, r.discharge_mwh),
            (None, Some(p)) => {
                // Integrate |I|·dt since the previous sample into the counter of its direction.
                let dt_s = ((time_ms[k] - p.step_time_ms) / 1000.0).max(0.0);
                let dq = if dt_s.is_finite() { dt_s * i.abs() / 3600.0 } else { 0.0 };
                let (c, d) = if i > 0.0 { (dq, 0.0) } else if i < 0.0 { (0.0, dq) } else { (0.0, 0.0) };
                (p.charge_mah + c, p.discharge_mah + d, p.charge_mwh + c * v, p.discharge_mwh + d * v)
            }
            (None, None) => (0.0, 0.0, 0.0, 0.0),
        };
        out.push(Record {
            index: k as u32 + 1,
            step_key: step_of[k] as u32,
            status,
            step_time_ms: time_ms[k],
            voltage_v: v,
            current_ma: i,
            charge_mah: chg,
            discharge_mah: dis,
            charge_mwh: chg_e,
            discharge_mwh: dis_e,
        });
    }
    out
}

/// Step time of every record (ms): runInfo's where known; between two known records of the same
/// step, linear in the record position; after the last known one, continued at the last known
/// spacing (NewareNDA `_data_interpolation`). Records before any runInfo get 0.
fn fill_time(known: &[Option<&RunInfo>], step_of: &[usize]) -> Vec<f64> {
    let n = known.len();
    let mut t: Vec<Option<f64>> = known.iter().map(|r| r.map(|r| r.time_ms)).collect();
    let mut k = 0;
    // Bounded: k only grows.
    while k < n {
        if t[k].is_some() {
            k += 1;
            continue;
        }
        let a = k; // first unknown of a run
        let b = (a..n).find(|&j| t[j].is_some()).unwrap_or(n);
        if a > 0 && b < n && step_of[a - 1] == step_of[b] {
            let (t0, t1) = (t[a - 1].unwrap_or(0.0), t[b].unwrap_or(0.0));
            for j in a..b {
                t[j] = Some(t0 + (t1 - t0) * (j - a + 1) as f64 / (b - a + 1) as f64);
            }
        }
        k = b;
    }
    let mut out = Vec::with_capacity(n);
    let mut last_diff = 0.0;
    for j in 0..n {
        let v = match t[j] {
            Some(v) => {
                if let Some(p) = j.checked_sub(1).and_then(|q| t[q]) {
                    last_diff = v - p;
                }
                v
            }
            None => out.last().map_or(0.0, |p: &f64| p + last_diff),
        };
        out.push(v);
    }
    out
}
