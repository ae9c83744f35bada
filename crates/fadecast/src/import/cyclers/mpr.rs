//! BioLogic EC-Lab `.mpr` reader (binary "modular file").
//!
//! The format is undocumented; this follows galvani (echemdata/galvani, `galvani/BioLogic.py`:
//! `MPR_MAGIC`, `read_VMP_modules`, `MPRfile.__init__`, `VMPdata_colID_dtype_map`,
//! `VMPdata_colID_flag_map`), galvani 0.5 being what FIXTURES.md's reference numbers came from.
//!
//! Layout (little-endian):
//! - a 52-byte magic `BIO-LOGIC MODULAR FILE\x1a` padded with spaces, then four zero bytes;
//! - modules, each `MODULE` + short name (10 bytes) + long name (25) + then either
//!   `length u32, version u32, date[8]` or, from EC-Lab 11.50 on (marked by `ff ff ff ff`
//!   where the length would be), `max length u32, length u32, version u32, unknown u32,
//!   date[8]`; then `length` bytes of module data;
//! - the `VMP data  ` module: `n_points u32`, `n_columns u8`, the column ids (u8 in version 0,
//!   or u8 interleaved with zeros when byte 5 is 0; u16 in versions 2/3), zero padding, and the
//!   records from byte 100 (v0), 1007 (v0, interleaved ids), 405 (v2) or 406 (v3). Each column
//!   id has a fixed binary type; ids 1, 2, 3, 21, 31, 65 are bit fields packed into one
//!   `flags` byte placed where the first of them appears.
//!
//! What we return (one series: an `.mpr` is one channel): time, `Ewe` as the voltage, the
//! current (`I/mA` or `<I>/mA`; files that record only `dq/mA.h` get I = dq / dt), the
//! `Q charge/discharge` counter split into charge (positive) and discharge (negated negative)
//! capacity, energies, temperature, `cycle number` where recorded, and as `step` the
//! `half cycle` counter (EC-Lab's count of charge/discharge halves), or `Ns` without it.
//! Samples in `mode` 3 (rest/OCV) are labelled rest. BioLogic's current is positive for
//! oxidation of the working electrode, i.e. charge for a cell wired cathode-as-WE: the sign
//! convention fadecast uses (segmentation flips it if the counters say otherwise).

use std::path::Path;

use super::nda::read_capped;
use super::{cell_id_of, StepKind, TimeSeries};
use crate::error::{ErrorKind, ImportError, Result};

const MAGIC_TEXT: &[u8] = b"BIO-LOGIC MODULAR FILE\x1a";
const MAGIC_LEN: usize = 52;

/// True when `head` starts with the EC-Lab modular-file magic.
pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(MAGIC_TEXT)
}

/// Reads a BioLogic `.mpr` file (plain or gzip-compressed).
pub fn parse(path: &Path) -> Result<Vec<TimeSeries>> {
    let data = read_capped(path)?;
    parse_bytes(path, &data)
}

/// A module: its short name, version and data (a slice of the file).
struct Module<'a> {
    name: &'a [u8],
    version: u32,
    data: &'a [u8],
    /// Byte offset of `data` in the file, for errors.
    offset: usize,
}

/// Parses the bytes of an `.mpr` file; `path` only names the file in errors.
pub fn parse_bytes(path: &Path, data: &[u8]) -> Result<Vec<TimeSeries>> {
    let bad = |at: usize, msg: String| ImportError::malformed(path, format!("at byte {at}: {msg}"));
    let magic_ok = data.len() >= MAGIC_LEN
        && data.starts_with(MAGIC_TEXT)
        && data[MAGIC_TEXT.len()..48].iter().all(|&b| b == b' ')
        && data[48..52] == [0, 0, 0, 0];
    if !magic_ok {
        return Err(ImportError::malformed(path, "not a BioLogic .mpr file (bad magic in the first 52 bytes)"));
    }
    let modules = read_modules(data).map_err(|(at, m)| bad(at, m))?;
    let dm = modules
        .iter()
        .find(|m| m.name == b"VMP data  ")
        .ok_or_else(|| ImportError::malformed(path, "no `VMP data` module"))?;
    let d = dm.data;
    let at = dm.offset;
    if d.len() < 6 {
        return Err(bad(at, format!("`VMP data` module is {} bytes, too short for its header", d.len())));
    }
    let n_points = u32::from_le_bytes(d[0..4].try_into().expect("4 bytes")) as usize;
    let n_cols = d[4] as usize;
    let (col_ids, data_start): (Vec<u16>, usize) = match dm.version {
        0 if d[5] != 0 => (d.get(5..5 + n_cols).map(|c| c.iter().map(|&b| u16::from(b)).collect()).unwrap_or_default(), 100),
        // EC-Lab ≥ 11.50 writes the ids as `0 id 0 id …`.
        0 => (d.get(5..5 + 2 * n_cols).map(|c| c.iter().skip(1).step_by(2).map(|&b| u16::from(b)).collect()).unwrap_or_default(), 1007),
        2 | 3 => (
            d.get(5..5 + 2 * n_cols)
                .map(|c| c.chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect())
                .unwrap_or_default(),
            if dm.version == 3 { 406 } else { 405 },
        ),
        v => return Err(bad(at, format!("`VMP data` module version {v} is not supported (0, 2, 3)"))),
    };
    if col_ids.len() != n_cols || data_start > d.len() {
        return Err(bad(at, format!("`VMP data` header is cut short ({} bytes)", d.len())));
    }
    let layout = Layout::new(&col_ids).map_err(|m| bad(at, m))?;
    let body = &d[data_start..];
    let needed = n_points.checked_mul(layout.record_len).filter(|&n| n <= body.len()).ok_or_else(|| {
        bad(
            at + data_start,
            format!(
                "header promises {n_points} records of {} bytes but only {} bytes follow (truncated file?)",
                layout.record_len,
                body.len()
            ),
        )
    })?;
    if n_points == 0 {
        return Err(ImportError::new(path, ErrorKind::Empty));
    }
    let series = to_series(path, &layout, &body[..needed], n_points).map_err(|m| bad(at + data_start, m))?;
    series.validate(path)?;
    Ok(vec![series])
}

/// Splits the file after the magic into modules (galvani `read_VMP_modules`). Errors carry the
/// byte offset. Bounded: each turn consumes the module header and its declared length, which
/// is checked against the bytes left.
fn read_modules(data: &[u8]) -> std::result::Result<Vec<Module<'_>>, (usize, String)> {
    let mut out = Vec::new();
    let mut pos = MAGIC_LEN;
    while pos < data.len() {
        let rest = &data[pos..];
        if !rest.starts_with(b"MODULE") {
            return Err((pos, "expected the start of a `MODULE`".into()));
        }
        let h = &rest[6..];
        if h.len() < 51 {
            return Err((pos, "file ends inside a module header".into()));
        }
        let u32_at = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().expect("4 bytes"));
        let (length, version, header_len) = if h[35..39] == [0xff; 4] {
            if h.len() < 59 {
                return Err((pos, "file ends inside a module header".into()));
            }
            (u32_at(39), u32_at(43), 59)
        } else {
            (u32_at(35), u32_at(39), 51)
        };
        let start = pos + 6 + header_len;
        let end = start
            .checked_add(length as usize)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| (pos, format!("module declares {length} bytes but the file ends at byte {}", data.len())))?;
        out.push(Module { name: &h[..10], version, data: &data[start..end], offset: start });
        pos = end;
    }
    Ok(out)
}

/// What a column id holds: its name, binary type, and the role we give it.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Ty {
    U1,
    U2,
    U4,
    F4,
    F8,
}

impl Ty {
    fn size(self) -> usize {
        match self {
            Ty::U1 => 1,
            Ty::U2 => 2,
            Ty::U4 | Ty::F4 => 4,
            Ty::F8 => 8,
        }
    }
}

/// galvani's `VMPdata_colID_dtype_map` (0.5.0): the binary type of each column id, and the
/// name for the columns we use (others only need their size to be skipped).
fn column_type(id: u16) -> Option<(Ty, &'static str)> {
    use Ty::*;
    Some(match id {
        4 => (F8, "time/s"),
        5 => (F4, "control/V/mA"),
        6 => (F4, "Ewe/V"),
        7 => (F8, "dq/mA.h"),
        8 => (F4, "I/mA"),
        9 => (F4, "Ece/V"),
        11 => (F8, "<I>/mA"),
        13 => (F8, "(Q-Qo)/mA.h"),
        16 | 19 | 20 | 26 | 27 | 32..=38 | 50 | 69 | 70 | 73 | 75 | 78 | 96 | 98..=101 | 163 | 168 | 169 | 172
        | 173 | 178 | 179 | 217 | 218 | 220 | 221 | 223 | 224 | 230..=248 | 271..=278 | 301..=308 | 331..=338
        | 361..=368 | 391..=398 | 422..=426 | 430..=435 | 441 | 471 | 473..=481 | 486..=503 | 505 => (F4, ""),
        23 => (F8, "dQ/mA.h"),
        24 => (F8, "cycle number"),
        39 => (U2, "I Range"),
        74 => (F8, "|Energy|/W.h"),
        76 => (F4, "<I>/mA"),
        77 | 174 => (F4, "<Ewe>/V"),
        123 => (F8, "Energy charge/W.h"),
        124 => (F8, "Energy discharge/W.h"),
        125 | 126 => (F8, ""),
        131 => (U2, "Ns"),
        182 | 438 => (F8, "step time/s"),
        211 | 467 => (F8, "Q charge/discharge/mA.h"),
        212 | 468 => (U4, "half cycle"),
        213 | 469 => (U4, "z cycle"),
        462 => (F4, "Temperature/°C"),
        509 => (U1, ""),
        _ => return None,
    })
}

/// Flag column ids, all packed into one byte (galvani `VMPdata_colID_flag_map`).
const FLAG_IDS: [u16; 6] = [1, 2, 3, 21, 31, 65];

/// Byte offsets (within a record) of the columns we use, and the record length.
#[derive(Default, Debug)]
struct Layout {
    record_len: usize,
    /// name → (offset, type); first occurrence of a name wins (galvani renames repeats).
    cols: Vec<(&'static str, usize, Ty)>,
    flags: Option<usize>,
}

impl Layout {
    fn new(ids: &[u16]) -> std::result::Result<Self, String> {
        let mut l = Layout::default();
        for (k, &id) in ids.iter().enumerate() {
            if FLAG_IDS.contains(&id) {
                if l.flags.is_none() {
                    l.flags = Some(l.record_len);
                    l.record_len += 1;
                }
                continue;
            }
            let (ty, name) = column_type(id).ok_or_else(|| {
                format!("unknown column id {id} (column {}) — its size is unknown, so the records cannot be read", k + 1)
            })?;
            if !name.is_empty() && l.get(name).is_none() {
                l.cols.push((name, l.record_len, ty));
            }
            l.record_len += ty.size();
        }
        if l.record_len == 0 {
            return Err("the data module declares no columns".into());
        }
        Ok(l)
    }

    fn get(&self, name: &str) -> Option<(usize, Ty)> {
        self.cols.iter().find(|c| c.0 == name).map(|c| (c.1, c.2))
    }

    /// Column `name` as f64 for every record, if present.
    fn column(&self, name: &str, body: &[u8], n: usize) -> Option<Vec<f64>> {
        let (off, ty) = self.get(name)?;
        Some(
            (0..n)
                .map(|i| {
                    let b = &body[i * self.record_len + off..];
                    match ty {
                        Ty::U1 => f64::from(b[0]),
                        Ty::U2 => f64::from(u16::from_le_bytes([b[0], b[1]])),
                        Ty::U4 => f64::from(u32::from_le_bytes(b[..4].try_into().expect("4 bytes"))),
                        Ty::F4 => f64::from(f32::from_le_bytes(b[..4].try_into().expect("4 bytes"))),
                        Ty::F8 => f64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
                    }
                })
                .collect(),
        )
    }
}

fn to_series(path: &Path, l: &Layout, body: &[u8], n: usize) -> std::result::Result<TimeSeries, String> {
    let col = |name: &str| l.column(name, body, n);
    let time_s = col("time/s").ok_or("no `time/s` column")?;
    let voltage_v = col("Ewe/V").or_else(|| col("<Ewe>/V")).ok_or("no `Ewe/V` column")?;
    let current_ma = match col("I/mA").or_else(|| col("<I>/mA")) {
        Some(i) => i,
        None => {
            // Only the charge passed since the previous point is recorded: I = dq / dt.
            let dq = col("dq/mA.h").or_else(|| col("dQ/mA.h")).ok_or("no current column (`I/mA`, `<I>/mA` or `dq/mA.h`)")?;
            (0..n)
                .map(|i| {
                    let dt = if i == 0 { 0.0 } else { time_s[i] - time_s[i - 1] };
                    if dt > 0.0 && dt.is_finite() { dq[i] * 3600.0 / dt } else { 0.0 }
                })
                .collect()
        }
    };
    let qcd = col("Q charge/discharge/mA.h");
    let as_int = |v: Vec<f64>| -> Vec<i64> { v.into_iter().map(|x| if x.is_finite() { x as i64 } else { -1 }).collect() };
    let step = col("half cycle").or_else(|| col("Ns")).map(as_int);
    let step_kind = l.flags.map(|off| {
        (0..n)
            .map(|i| if body[i * l.record_len + off] & 0x03 == 3 { StepKind::Rest } else { StepKind::Other })
            .collect()
    });
    Ok(TimeSeries {
        cell_id: cell_id_of(path),
        row: (1..=n).collect(),
        time_s,
        current_a: current_ma.iter().map(|i| i / 1000.0).collect(),
        voltage_v,
        temperature_c: col("Temperature/°C"),
        cycle: col("cycle number").map(as_int),
        step,
        step_kind,
        charge_capacity_ah: qcd.as_ref().map(|q| q.iter().map(|&x| x.max(0.0) / 1000.0).collect()),
        discharge_capacity_ah: qcd.as_ref().map(|q| q.iter().map(|&x| (-x).max(0.0) / 1000.0).collect()),
        charge_energy_wh: col("Energy charge/W.h"),
        discharge_energy_wh: col("Energy discharge/W.h"),
        nominal_capacity_ah: None,
        protocol: None,
    })
}
