//! Reading the delimited text tables cyclers export: a preamble of metadata lines, one header
//! line, then data records. Also the small parsers every text format needs: numbers (with
//! decimal commas), units in column names, durations and date-times.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{ErrorKind, ImportError, Result};
use crate::import::read;

/// How far into a file the header line may be (PEC exports carry ~45 metadata lines).
pub const MAX_PREAMBLE_LINES: usize = 200;

/// Reads a whole file (gzip transparently) as text; invalid UTF-8 (mojibake in free-text
/// metadata, as Maccor writes) is replaced rather than rejected, since data columns are ASCII.
pub fn read_text(path: &Path) -> Result<String> {
    let mut bytes = Vec::new();
    read::open(path)?.read_to_end(&mut bytes).map_err(|e| read_error(path, e))?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::new(path, ErrorKind::Empty));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The error for a failed read. A file that starts with the gzip magic but does not decompress
/// gets a message that says so: the decoder's own text ("corrupt deflate stream") names no
/// layer, and a read that fails before any byte would otherwise pass for an empty file.
pub fn read_error(path: &Path, e: std::io::Error) -> ImportError {
    if starts_like_gzip(path) {
        ImportError::malformed(path, format!("not a valid gzip file (corrupt or truncated): {e}"))
    } else {
        ImportError::io(path, e)
    }
}

fn starts_like_gzip(path: &Path) -> bool {
    let mut magic = [0u8; 2];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic)).is_ok() && magic == [0x1f, 0x8b]
}

/// A data record whose field holds a line break is a quote left open (a stray `"`): the CSV
/// reader would otherwise swallow every line up to the next quote, or to the end of the file,
/// into one field, silently. Cycler exports never quote line breaks into data records.
pub fn check_one_line<'a>(file: &Path, line: usize, mut fields: impl Iterator<Item = &'a str>) -> Result<()> {
    if fields.any(|f| f.contains(['\n', '\r'])) {
        return Err(ImportError::malformed(
            file,
            "a quote (`\"`) opened here is not closed on this line: the field runs over the following lines",
        )
        .row(line));
    }
    Ok(())
}

/// One data record: its 1-based line in the file and its trimmed fields.
#[derive(Debug, Clone)]
pub struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

impl Record {
    pub fn get(&self, col: usize) -> &str {
        self.fields.get(col).map(String::as_str).unwrap_or("")
    }
}

/// A table found in a text export.
#[derive(Debug, Clone)]
pub struct TextTable {
    pub file: PathBuf,
    /// The lines before the header, untouched.
    pub preamble: Vec<String>,
    pub headers: Vec<String>,
    /// Data records, blank lines skipped.
    pub records: Vec<Record>,
}

impl TextTable {
    /// Splits `text` on `delim`, taking as header the first line (within
    /// [`MAX_PREAMBLE_LINES`]) whose fields satisfy `is_header`.
    pub fn parse(file: &Path, text: &str, delim: u8, is_header: impl Fn(&[String]) -> bool) -> Result<Self> {
        // The csv crate dates a CRLF record from before the previous line's `\n`, so every row
        // number came out one too low; with LF line ends they are the file's line numbers.
        let text = if text.contains("\r\n") { std::borrow::Cow::Owned(text.replace("\r\n", "\n")) } else { text.into() };
        let mut preamble = Vec::new();
        let mut offset = 0;
        let mut header = None;
        for (i, line) in text.split_inclusive('\n').enumerate().take(MAX_PREAMBLE_LINES) {
            let fields = split_line(line, delim);
            offset += line.len();
            if is_header(&fields) {
                header = Some((i + 1, fields));
                break;
            }
            preamble.push(line.trim_end().to_string());
        }
        let Some((header_line, headers)) = header else {
            return Err(ImportError::malformed(file, "no header line found (is this the right format?)"));
        };
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delim)
            .has_headers(false)
            .flexible(true)
            .from_reader(&text.as_bytes()[offset..]);
        let mut records = Vec::new();
        for rec in reader.records() {
            let rec = rec.map_err(|e| {
                let line = e.position().map(|p| header_line + p.line() as usize);
                let err = ImportError::malformed(file, format!("malformed record: {e}"));
                match line {
                    Some(l) => err.row(l),
                    None => err,
                }
            })?;
            let line = header_line + rec.position().map(|p| p.line() as usize).unwrap_or(0);
            if rec.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            check_one_line(file, line, rec.iter())?;
            records.push(Record { line, fields: rec.iter().map(|f| f.trim().to_string()).collect() });
        }
        // A file cut short (a copy interrupted, a test still writing) ends mid-row: without its
        // line break and with fewer fields than the header. That row is left out, said with the
        // row; a last row that is whole but lacks a line break (some exporters) is kept silently.
        if !text.ends_with('\n') && records.last().is_some_and(|r| r.fields.len() < headers.len()) {
            let cut = records.pop().expect("checked above");
            tracing::warn!(
                "{}, row {}: the file ends inside this row ({} of the header's {} fields), as if cut short; the row is left out and the last cycle may be partial",
                file.display(),
                cut.line,
                cut.fields.len(),
                headers.len()
            );
        }
        Ok(Self { file: file.to_path_buf(), preamble, headers, records })
    }

    /// Index of the first column whose name equals one of `names` (trimmed, case-insensitive).
    pub fn find(&self, names: &[&str]) -> Option<usize> {
        find_col(&self.headers, names)
    }

    /// Like [`Self::find`], but a missing column is an error naming the file and the column.
    pub fn col(&self, names: &[&str]) -> Result<usize> {
        self.find(names).ok_or_else(|| {
            ImportError::new(&self.file, ErrorKind::MissingColumn(names.first().copied().unwrap_or("?").to_string()))
        })
    }

    /// The error for a required column that is not there.
    pub fn missing(&self, name: &str) -> ImportError {
        ImportError::new(&self.file, ErrorKind::MissingColumn(name.to_string()))
    }

    /// Index of the first column whose name starts with one of `prefixes` (case-insensitive).
    pub fn find_prefix(&self, prefixes: &[&str]) -> Option<usize> {
        prefixes.iter().find_map(|p| {
            let p = p.to_ascii_lowercase();
            self.headers.iter().position(|h| h.to_ascii_lowercase().starts_with(&p))
        })
    }

    /// A capacity column and the factor to Ah, from its unit (see [`capacity_scale`]).
    pub fn capacity(&self, col: usize) -> Result<(usize, f64)> {
        Ok((col, capacity_scale(&self.file, &self.headers[col])?))
    }

    /// The error for a bad value at `rec`, column `col`.
    pub fn not_numeric(&self, rec: &Record, col: usize) -> ImportError {
        ImportError::new(
            &self.file,
            ErrorKind::NotNumeric {
                column: self.headers.get(col).cloned().unwrap_or_else(|| format!("#{col}")),
                value: rec.get(col).to_string(),
            },
        )
        .row(rec.line)
    }
}

/// Splits one line into trimmed fields (quotes honoured); the BOM of a first line is dropped.
pub fn split_line(line: &str, delim: u8) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delim)
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    match reader.records().next() {
        Some(Ok(rec)) => rec.iter().map(|f| f.trim_start_matches('\u{feff}').trim().to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Index of the first header equal to one of `names` (trimmed, case-insensitive), in the
/// order of `names` (so the preferred spelling wins).
pub fn find_col(headers: &[String], names: &[&str]) -> Option<usize> {
    names.iter().find_map(|n| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(n.trim())))
}

/// `true` when every one of `names` is a header.
pub fn has_all(headers: &[String], names: &[&str]) -> bool {
    names.iter().all(|n| find_col(headers, &[n]).is_some())
}

/// A numeric field. `Ok(None)` for empty / "N/A" / "-"; NaN stays NaN (it means "not
/// measured" to most exporters); anything else unparsable is `Err(())`.
pub fn parse_num(s: &str, decimal_comma: bool) -> std::result::Result<Option<f64>, ()> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("n/a") || s.eq_ignore_ascii_case("na") || s == "-" {
        return Ok(None);
    }
    let parsed = if decimal_comma && s.contains(',') { s.replace(',', ".").parse() } else { s.parse::<f64>() };
    parsed.map(Some).map_err(|_| ())
}

/// Scale that converts a column's unit to the canonical one (A, V, Ah, Wh, s), read from the
/// column name: `Current(mA)`, `Cap. [Ah]`, `I/mA`, `Q charge/mA.h`, `Test Time / h`,
/// `current_A`. No recognisable unit → 1 (the canonical unit is assumed).
pub fn unit_scale(header: &str) -> f64 {
    let unit = unit_of(header).to_ascii_lowercase().replace(['.', ' '], "");
    match unit.as_str() {
        "ma" | "mah" | "mwh" | "mv" | "mw" | "ms" => 1e-3,
        "µa" | "ua" | "µah" | "uah" | "µwh" | "uwh" => 1e-6,
        "h" | "hr" | "hours" => 3600.0,
        "min" | "minutes" => 60.0,
        _ => 1.0,
    }
}

/// The unit part of a column name (see [`unit_scale`]); "" when there is none.
pub fn unit_of(header: &str) -> &str {
    unit_part(header).0
}

/// The unit part of a column name, and whether the name marks it as a unit (`(…)`, `[…]`,
/// `/ …`); after a `_` it may be the last word of the name instead (`Discharge_Capacity`).
fn unit_part(header: &str) -> (&str, bool) {
    let h = header.trim();
    if let (Some(open), true) = (h.rfind(['(', '[']), h.ends_with([')', ']'])) {
        return (&h[open + 1..h.len() - 1], true);
    }
    if let Some(slash) = h.rfind('/') {
        return (h[slash + 1..].trim(), true);
    }
    if let Some(us) = h.rfind('_') {
        return (&h[us + 1..], false);
    }
    ("", false)
}

/// Charge units a capacity column may carry, with their factor to Ah (normalised: lower case,
/// without `.`, spaces, `-` and `·`).
const CHARGE_UNITS: [(&str, f64); 14] = [
    ("ah", 1.0),
    ("ahr", 1.0),
    ("amphr", 1.0),
    ("mah", 1e-3),
    ("mahr", 1e-3),
    ("µah", 1e-6),
    ("μah", 1e-6),
    ("uah", 1e-6),
    ("kah", 1e3),
    ("as", 1.0 / 3600.0),
    ("c", 1.0 / 3600.0),
    ("mas", 1e-3 / 3600.0),
    ("mc", 1e-3 / 3600.0),
    ("", 1.0),
];

/// Units that are not charge: after a `_` (where the last word may be no unit at all) only
/// these are taken as a unit, and refused.
const OTHER_UNITS: [&str; 17] =
    ["wh", "mwh", "kwh", "µwh", "uwh", "j", "kj", "mj", "v", "mv", "a", "ma", "w", "mw", "s", "h", "%"];

/// Factor from a capacity column's unit to Ah. No unit → Ah, as in [`unit_scale`]; a unit that
/// is not a charge (`Wh`, `kWh`, `mAh/g`, …) is an error naming the file and the column, since
/// reading energy as charge would be a silently wrong capacity.
pub fn capacity_scale(file: &Path, header: &str) -> Result<f64> {
    let (unit, marked) = unit_part(header);
    let norm = unit.to_lowercase().replace(['.', ' ', '-', '·'], "");
    if let Some((_, scale)) = CHARGE_UNITS.iter().find(|(u, _)| *u == norm) {
        return Ok(*scale);
    }
    if !marked && !OTHER_UNITS.contains(&norm.as_str()) {
        return Ok(1.0); // the last word of the name, not a unit
    }
    Err(ImportError::new(
        file,
        ErrorKind::UnknownUnit {
            unit: unit.to_string(),
            column: header.trim().to_string(),
            accepted: "a charge unit for a capacity: Ah, mAh, µAh, As or C".into(),
        },
    ))
}

/// A value from a column the import relies on (time, current, voltage, capacity): NaN or
/// infinite is an error naming the file, the cell, the row and the column. Exporters write NaN
/// for "not measured"; in these columns a gap would be dropped or integrated silently.
pub fn check_finite(file: &Path, cell: &str, row: usize, column: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(ImportError::new(file, ErrorKind::NotFinite(format!("`{column}`"))).cell(cell).row(row))
    }
}

/// A value from a capacity counter: [`check_finite`], and below 0 is an error too, unless the
/// column is `signed` (EC-Lab's `Q charge/discharge`). The cyclers read here all count charge
/// and discharge capacity up from 0 (a negative value used to be dropped with its cycle).
pub fn check_capacity(file: &Path, cell: &str, row: usize, column: &str, v: f64, signed: bool) -> Result<f64> {
    let v = check_finite(file, cell, row, column, v)?;
    if v < 0.0 && !signed {
        return Err(ImportError::new(file, ErrorKind::Negative { what: format!("`{column}`"), value: v }).cell(cell).row(row));
    }
    Ok(v)
}

/// Seconds in a duration written `hh:mm:ss(.fff)` (hours may exceed 24), `mm:ss`,
/// `d.hh:mm:ss`, `d-hh:mm:ss` or `d day(s), hh:mm:ss`.
pub fn parse_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    let (days, clock) = if let Some((d, rest)) = s.split_once(" day") {
        (d.trim().parse::<f64>().ok()?, rest.trim_start_matches('s').trim_start_matches(',').trim())
    } else if let Some((d, rest)) = s.split_once(['-', '.']).filter(|(d, r)| !d.contains(':') && r.contains(':')) {
        (d.parse::<f64>().ok()?, rest)
    } else {
        (0.0, s)
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let mut secs = 0.0;
    for p in &parts {
        let v: f64 = p.trim().parse().ok()?;
        if !v.is_finite() || v < 0.0 {
            return None;
        }
        secs = secs * 60.0 + v;
    }
    Some(days * 86400.0 + secs)
}

/// Seconds since 1970-01-01 of a local date-time as cyclers write it: `YYYY-MM-DD HH:MM:SS(.f)`
/// (also with `T`), or `MM/DD/YYYY h:mm:ss(.f)` with an optional `AM`/`PM` (US order, as
/// Maccor, Arbin and EC-Lab write it). Only differences between samples are used, so the
/// time zone does not matter.
pub fn parse_datetime(s: &str) -> Option<f64> {
    let s = s.trim();
    let (s, pm) = match s.rsplit_once(' ') {
        Some((rest, ampm)) if ampm.eq_ignore_ascii_case("am") => (rest, Some(false)),
        Some((rest, ampm)) if ampm.eq_ignore_ascii_case("pm") => (rest, Some(true)),
        _ => (s, None),
    };
    let (date, time) = s.split_once([' ', 'T'])?;
    let (y, m, d) = if date.contains('-') {
        let mut it = date.split('-');
        (it.next()?.parse().ok()?, it.next()?.parse().ok()?, it.next()?.parse().ok()?)
    } else {
        let mut it = date.split('/');
        let (m, d) = (it.next()?.parse().ok()?, it.next()?.parse().ok()?);
        (it.next()?.parse().ok()?, m, d)
    };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = parse_duration(time.trim())?;
    match pm {
        Some(true) if secs < 12.0 * 3600.0 => secs += 12.0 * 3600.0,
        Some(false) if secs >= 12.0 * 3600.0 => secs -= 12.0 * 3600.0,
        _ => {}
    }
    Some(days_from_civil(y, m, d) as f64 * 86400.0 + secs)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_from_column_names() {
        assert_eq!(unit_scale("Current(mA)"), 1e-3);
        assert_eq!(unit_scale("Q discharge/mA.h"), 1e-3);
        assert_eq!(unit_scale("Test Time / h"), 3600.0);
        assert_eq!(unit_scale("Cap. [Ah]"), 1.0);
        assert_eq!(unit_scale("Discharge Capacity (mAh)"), 1e-3);
        assert_eq!(unit_scale("current_A"), 1.0);
    }

    #[test]
    fn durations_and_datetimes() {
        assert_eq!(parse_duration("30:49:13"), Some(30.0 * 3600.0 + 49.0 * 60.0 + 13.0));
        assert_eq!(parse_duration("00:00:00.002"), Some(0.002));
        assert_eq!(parse_duration("1-01:00:00"), Some(90000.0));
        assert_eq!(parse_duration("abc"), None);
        let a = parse_datetime("5/11/2021 11:32:10 PM").unwrap();
        let b = parse_datetime("5/12/2021 5:22:10 AM").unwrap();
        assert_eq!(b - a, 5.0 * 3600.0 + 50.0 * 60.0);
        let c = parse_datetime("2022-05-18 16:27:52").unwrap();
        let d = parse_datetime("05/18/2022 16:28:52.5").unwrap();
        assert_eq!(d - c, 60.5);
        assert_eq!(parse_datetime("1970-01-02 00:00:00"), Some(86400.0));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_num("3,5", true), Ok(Some(3.5)));
        assert_eq!(parse_num("N/A", false), Ok(None));
        assert!(parse_num("NaN", false).unwrap().unwrap().is_nan());
        assert_eq!(parse_num("x1", false), Err(()));
    }
}
