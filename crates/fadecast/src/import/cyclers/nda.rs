//! Neware `.nda` reader (BTS 7.x binary export), NDA file versions 22, 23, 26, 28 and 29.
//!
//! The format is undocumented; this follows the reverse-engineered layout in the Python package
//! NewareNDA (d-cogswell/NewareNDA, `NewareNDA/NewareNDA.py`, functions `_read_nda_29`,
//! `_bytes_to_list`, `_bytes_to_list_22`, `_aux_bytes_to_list`; `dicts.py` for the status codes
//! and current-range multipliers; `utils.py` for the cycle numbering). Its reference output for
//! the fixture is what FIXTURES.md records.
//!
//! Layout (all little-endian):
//! - bytes 0..6 `NEWARE`; byte 14 the NDA version.
//! - a header of unknown length, then a stream of 86-byte records. The first record is found
//!   by searching for `00 00 00 00 55 00` whose record has a non-zero status and is followed,
//!   86 bytes on, by another `0x55` (NewareNDA does exactly this search).
//! - a data record starts `55 00` and ends with four zero bytes; an auxiliary (temperature)
//!   record starts `65` and ends the same way. Anything else is skipped.
//! - data record (v26–29): index u32 @2, cycle u32 @6, step u8 @10, status u8 @12,
//!   step time u64 ms @14, voltage i32 (0.1 mV) @22, current i32 @26, charge / discharge
//!   capacity i64 @38 / @46, charge / discharge energy i64 @54 / @62, range i32 @78. Current,
//!   capacity and energy are scaled by a multiplier that depends on the channel's current range
//!   (capacity and energy also / 3600: they are stored in mA·s and mW·s).
//! - v22/23 differ only in the range field, at @80.
//!
//! What we return: one [`TimeSeries`] (an `.nda` file holds one channel), sorted by record
//! index with duplicate indices dropped (as NewareNDA does), in s, A, V, Ah, Wh, °C. The time
//! in the record is the *step* time; the test time is accumulated over steps. The cycle number
//! is regenerated from the status labels the way NewareNDA does by default (BTSDA's "charge
//! first" cycle statistic): the file's own cycle counter depends on how the schedule was
//! written and is not what Neware's software reports.

use std::io::Read;
use std::path::Path;

use super::{cell_id_of, StepKind, TimeSeries};
use crate::error::{ImportError, Result};
use crate::import::read;

/// Record length of the BTS 7 data stream.
const RECORD_LEN: usize = 86;
/// Largest file we read into memory (a gzip bomb stops here, not at the allocator).
pub(super) const MAX_FILE_BYTES: u64 = 2 << 30;

/// True when `head` starts like a Neware `.nda` file.
pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(b"NEWARE")
}

/// Reads a Neware `.nda` file (plain or gzip-compressed).
pub fn parse(path: &Path) -> Result<Vec<TimeSeries>> {
    let data = read_capped(path)?;
    parse_bytes(path, &data)
}

/// Reads a whole (possibly gzip) file, refusing more than [`MAX_FILE_BYTES`].
pub(super) fn read_capped(path: &Path) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    read::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| ImportError::io(path, e))?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        return Err(ImportError::malformed(path, format!("file is larger than {MAX_FILE_BYTES} bytes")));
    }
    Ok(buf)
}

/// Parses the bytes of an `.nda` file; `path` only names the file in errors.
pub fn parse_bytes(path: &Path, data: &[u8]) -> Result<Vec<TimeSeries>> {
    if !sniff(data) {
        return Err(ImportError::malformed(path, "not a Neware .nda file (no `NEWARE` magic at byte 0)"));
    }
    let version = *data
        .get(14)
        .ok_or_else(|| ImportError::malformed(path, "file ends inside the header (byte 14, the NDA version)"))?;
    let range_at = match version {
        26 | 28 | 29 => 78,
        22 | 23 => 80,
        8 => {
            return Err(ImportError::malformed(
                path,
                "NDA version 8 is not supported: its records carry no time or capacity (export CSV from BTSDA)",
            ))
        }
        130 => {
            return Err(ImportError::malformed(
                path,
                "NDA version 130 (BTS 9) is not supported yet; export CSV from BTSDA or save as .ndax",
            ))
        }
        v => return Err(ImportError::malformed(path, format!("unknown NDA version {v} (byte 14)"))),
    };

    let start = first_record(data).ok_or_else(|| {
        ImportError::malformed(path, "no data records found (no `00 00 00 00 55 00` record start)")
    })?;

    let mut recs: Vec<Record> = Vec::new();
    let mut aux: Vec<(u32, u8, f64)> = Vec::new();
    let mut pos = start;
    // Bounded: `pos` advances by RECORD_LEN every turn and stops at the end of the data.
    while pos + RECORD_LEN <= data.len() {
        let r = &data[pos..pos + RECORD_LEN];
        let tail_zero = r[82..86] == [0, 0, 0, 0];
        if r[0] == 0x55 && r[1] == 0 && tail_zero {
            if let Some(rec) = decode_record(r, range_at)
                .map_err(|m| ImportError::malformed(path, format!("record at byte {pos}: {m}")).row(recs.len() + 1))?
            {
                recs.push(rec);
            }
        } else if r[0] == 0x65 && tail_zero {
            // Auxiliary channel: channel u8 @1, record index u32 @2, temperature i16 (0.1 °C) @34.
            aux.push((le_u32(r, 2), r[1], f64::from(le_i16(r, 34)) / 10.0));
        }
        pos += RECORD_LEN;
    }
    if recs.is_empty() {
        return Err(ImportError::new(path, crate::error::ErrorKind::Empty));
    }
    // NewareNDA: drop_duplicates(subset='Index') keeps the first, then a (stable) sort by Index.
    let mut seen = std::collections::HashSet::with_capacity(recs.len());
    recs.retain(|r| seen.insert(r.index));
    recs.sort_by_key(|r| r.index);

    let temperature = temperature_by_index(&recs, &aux);
    Ok(vec![to_series(path, &recs, temperature)])
}

/// One decoded data record, in the file's own units (ms, 0.1 mV, mA, mAh, mWh).
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub index: u32,
    /// NewareNDA's `Step` before it renumbers it: the u32 at byte 10 (step byte, status and jump).
    pub step_key: u32,
    pub status: u8,
    pub step_time_ms: f64,
    pub voltage_v: f64,
    pub current_ma: f64,
    pub charge_mah: f64,
    pub discharge_mah: f64,
    pub charge_mwh: f64,
    pub discharge_mwh: f64,
}

/// Finds the first data record the way NewareNDA's `_read_nda_29` does. Returns its offset.
fn first_record(data: &[u8]) -> Option<usize> {
    const ID: [u8; 6] = [0, 0, 0, 0, 0x55, 0];
    let mut from = 0;
    // Bounded: every turn moves `from` forward by at least 4 bytes.
    loop {
        let hit = from + data.get(from..)?.windows(ID.len()).position(|w| w == ID)?;
        let rec = hit + 4;
        let next = rec + RECORD_LEN;
        if next >= data.len() {
            // No room to check the following record: take it as NewareNDA does.
            return Some(rec);
        }
        if data[next] == 0x55 && data.get(rec + 12).is_some_and(|&s| s != 0) {
            return Some(rec);
        }
        from = hit + 4;
    }
}

/// Decodes an 86-byte data record. `Ok(None)` for the records NewareNDA drops (index or status
/// zero); `Err` for a current range it does not know (the scale would be a guess).
fn decode_record(r: &[u8], range_at: usize) -> std::result::Result<Option<Record>, String> {
    let index = le_u32(r, 2);
    let status = r[12];
    if index == 0 || status == 0 {
        return Ok(None);
    }
    let range = le_i32(r, range_at);
    let m = range_multiplier(range).ok_or_else(|| format!("unknown current range {range}"))?;
    Ok(Some(Record {
        index,
        step_key: le_u32(r, 10),
        status,
        step_time_ms: le_u64(r, 14) as f64,
        voltage_v: f64::from(le_i32(r, 22)) / 10_000.0,
        current_ma: f64::from(le_i32(r, 26)) * m,
        charge_mah: le_i64(r, 38) as f64 * m / 3600.0,
        discharge_mah: le_i64(r, 46) as f64 * m / 3600.0,
        charge_mwh: le_i64(r, 54) as f64 * m / 3600.0,
        discharge_mwh: le_i64(r, 62) as f64 * m / 3600.0,
    }))
}

/// NewareNDA `dicts.multiplier_dict`: raw current units → mA for each current range code.
pub(super) fn range_multiplier(range: i32) -> Option<f64> {
    Some(match range {
        -100_000_000 => 10.0,
        -200_000 | -100_000 | -60_000 | -50_000 | -30_000 | -20_000 | -12_000 | -10_000 | -6_000 | -5_000
        | -3_000 | -2_000 | -1_000 => 1e-2,
        -500 | -100 => 1e-3,
        -50 | -25 | -20 | -10 => 1e-4,
        -5 | -2 | -1 => 1e-5,
        0 => 0.0,
        1 | 2 | 5 => 1e-4,
        10 | 20 | 50 => 1e-3,
        100 | 200 | 250 | 500 => 1e-2,
        1_000 | 6_000 | 10_000 | 12_000 | 20_000 | 30_000 | 40_000 | 50_000 | 60_000 | 100_000 | 200_000 => 1e-1,
        _ => return None,
    })
}

/// NewareNDA `dicts.state_dict`: the status byte's label.
pub(super) fn status_label(code: u8) -> &'static str {
    match code {
        1 => "CC_Chg",
        2 => "CC_DChg",
        3 => "CV_Chg",
        4 => "Rest",
        5 => "Cycle",
        7 => "CCCV_Chg",
        8 => "CP_DChg",
        9 => "CP_Chg",
        10 => "CR_DChg",
        13 => "Pause",
        16 => "Pulse",
        17 => "SIM",
        19 => "CV_DChg",
        20 => "CCCV_DChg",
        21 => "Control",
        22 => "OCV",
        26 => "CPCV_DChg",
        27 => "CPCV_Chg",
        _ => "Unknown",
    }
}

/// Cycle numbers as Neware's software reports them with the "charge first" statistic
/// (NewareNDA `utils._generate_cycle_number`, mode `chg`): a new cycle starts at the first
/// sample of a CC/CCCV/CP charge step that follows a discharge (or a `SIM` step).
pub(super) fn software_cycles(labels: &[&str]) -> Vec<i64> {
    let is_inc = |l: &str| matches!(l, "CCCV_Chg" | "CC_Chg" | "CP_Chg");
    let mut out = Vec::with_capacity(labels.len());
    let mut cyc = 1i64;
    let mut flag = false;
    for (n, l) in labels.iter().enumerate() {
        // `inc` is 1 on the first sample of a run of increment states (and on sample 0).
        let inc = n == 0 || (is_inc(l) && !is_inc(labels[n - 1]));
        match l.split_once('_') {
            Some((_, state)) => {
                if inc && flag {
                    cyc += 1;
                    flag = false;
                } else if state == "DChg" {
                    flag = true;
                }
            }
            None => {
                if *l == "SIM" {
                    flag = true;
                }
            }
        }
        out.push(cyc);
    }
    out
}

/// Temperature of the lowest-numbered auxiliary channel, per record (NaN where none).
fn temperature_by_index(recs: &[Record], aux: &[(u32, u8, f64)]) -> Option<Vec<f64>> {
    let channel = aux.iter().map(|a| a.1).min()?;
    let mut by_index = std::collections::HashMap::new();
    for &(idx, ch, t) in aux {
        if ch == channel {
            // NewareNDA drops duplicate rows; the first value of an index wins.
            by_index.entry(idx).or_insert(t);
        }
    }
    Some(recs.iter().map(|r| by_index.get(&r.index).copied().unwrap_or(f64::NAN)).collect())
}

/// Builds the series from decoded records (already in order). Shared with `ndax`.
pub(super) fn to_series(path: &Path, recs: &[Record], temperature_c: Option<Vec<f64>>) -> TimeSeries {
    let n = recs.len();
    let labels: Vec<&str> = recs.iter().map(|r| status_label(r.status)).collect();
    // Test time: the record time restarts at every step, so add up the steps' last times.
    let mut time_s = Vec::with_capacity(n);
    let mut step = Vec::with_capacity(n);
    let mut offset_ms = 0.0;
    let mut step_no = 0i64;
    for (i, r) in recs.iter().enumerate() {
        if i == 0 || r.step_key != recs[i - 1].step_key {
            if i > 0 {
                offset_ms += recs[i - 1].step_time_ms;
            }
            step_no += 1;
        }
        time_s.push((offset_ms + r.step_time_ms) / 1000.0);
        step.push(step_no);
    }
    TimeSeries {
        cell_id: cell_id_of(path),
        row: recs.iter().map(|r| r.index as usize).collect(),
        time_s,
        current_a: recs.iter().map(|r| r.current_ma / 1000.0).collect(),
        voltage_v: recs.iter().map(|r| r.voltage_v).collect(),
        temperature_c,
        cycle: Some(software_cycles(&labels)),
        step: Some(step),
        step_kind: Some(labels.iter().map(|l| StepKind::from_label(l)).collect()),
        charge_capacity_ah: Some(recs.iter().map(|r| r.charge_mah / 1000.0).collect()),
        discharge_capacity_ah: Some(recs.iter().map(|r| r.discharge_mah / 1000.0).collect()),
        charge_energy_wh: Some(recs.iter().map(|r| r.charge_mwh / 1000.0).collect()),
        discharge_energy_wh: Some(recs.iter().map(|r| r.discharge_mwh / 1000.0).collect()),
        nominal_capacity_ah: None,
        protocol: None,
    }
}

// Little-endian readers. Callers pass slices whose length they have checked.
pub(super) fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
pub(super) fn le_i32(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
pub(super) fn le_i16(b: &[u8], at: usize) -> i16 {
    i16::from_le_bytes(b[at..at + 2].try_into().expect("2 bytes"))
}
pub(super) fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
pub(super) fn le_i64(b: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
pub(super) fn le_f32(b: &[u8], at: usize) -> f32 {
    f32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
