//! Shared reading helpers: open plain or gzip files, and read CSV tables whose every
//! numeric-field error names the file, the column and the row.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{ErrorKind, ImportError, Result};

/// Opens `path` for reading, transparently un-gzipping it when it starts with the gzip magic.
pub fn open(path: &Path) -> Result<Box<dyn Read>> {
    let mut f = BufReader::new(File::open(path).map_err(|e| ImportError::io(path, e))?);
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut f, &mut magic).map_err(|e| ImportError::io(path, e))?;
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let chained = head.chain(f);
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(chained)))
    } else {
        Ok(Box::new(chained))
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Reads a whole (possibly gzip) file into a string; errors name the file.
pub fn read_to_string(path: &Path) -> Result<String> {
    let mut s = String::new();
    open(path)?.read_to_string(&mut s).map_err(|e| ImportError::io(path, e))?;
    Ok(s)
}

/// Turns CRLF line ends into LF as bytes stream through. The csv crate counts lines by `\n`
/// but, on CRLF files, dates a record from before the header's `\n`, so every row number came
/// out one too low; after this adapter the numbers are the file's real line numbers.
struct StripCr<R> {
    inner: R,
    /// A `\r` seen at the end of the previous chunk, not yet known to precede `\n`.
    pending_cr: bool,
}

impl<R: Read> StripCr<R> {
    fn new(inner: R) -> Self {
        Self { inner, pending_cr: false }
    }
}

impl<R: Read> Read for StripCr<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.len() < 2 {
            // Too small to hold a held-back `\r` plus new data; pass through unchanged.
            return self.inner.read(buf);
        }
        let off = self.pending_cr as usize;
        let n = self.inner.read(&mut buf[off..])?;
        self.pending_cr = false;
        if off == 1 {
            buf[0] = b'\r';
        }
        if n == 0 {
            return Ok(off);
        }
        let total = n + off;
        // Move the bytes between `\r`s in whole runs (a CRLF file has one per line), not one by one.
        let mut w = 0;
        let mut i = 0;
        while let Some(k) = memchr::memchr(b'\r', &buf[i..total]) {
            let cr = i + k;
            buf.copy_within(i..cr, w);
            w += cr - i;
            i = cr + 1;
            if i == total {
                self.pending_cr = true; // decided by the next chunk
            } else if buf[i] != b'\n' {
                buf[w] = b'\r'; // a lone `\r` is data
                w += 1;
            }
        }
        buf.copy_within(i..total, w);
        w += total - i;
        if w == 0 {
            // Only a held-back `\r`: read on so that 0 still means end of file.
            return self.read(buf);
        }
        Ok(w)
    }
}

/// A CSV table with a header row. Column lookups are exact first, then case-insensitive
/// and trimmed, so `" Capacity"` finds `capacity`.
pub struct Table {
    file: PathBuf,
    headers: Vec<String>,
    reader: csv::Reader<Box<dyn Read>>,
    /// The one record every row is read into (no allocation per row).
    record: csv::StringRecord,
}

impl Table {
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, b',')
    }

    pub fn open_with(path: &Path, delimiter: u8) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(Box::new(StripCr::new(open(path)?)) as Box<dyn Read>);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(path, e))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        if headers.is_empty() || headers.iter().all(|h| h.is_empty()) {
            return Err(ImportError::new(path, ErrorKind::Empty));
        }
        Ok(Self { file: path.to_path_buf(), headers, reader, record: csv::StringRecord::new() })
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Index of an optional column.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.headers
            .iter()
            .position(|h| h == name)
            .or_else(|| self.headers.iter().position(|h| h.eq_ignore_ascii_case(name.trim())))
    }

    /// Index of a required column, or a `MissingColumn` error naming the file.
    pub fn col(&self, name: &str) -> Result<usize> {
        self.find(name)
            .ok_or_else(|| ImportError::new(&self.file, ErrorKind::MissingColumn(name.to_string())))
    }

    /// The next data row: `None` at the end of the file, or an error naming the file and line (a
    /// truncated gzip or a broken quote surfaces here). The row borrows the table's record, so
    /// rows are read with `while let Some(row) = table.next_row()`.
    pub fn next_row(&mut self) -> Option<Result<Row<'_>>> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Ok(true) => {
                let line = self.record.position().map(|p| p.line() as usize).unwrap_or(0);
                Some(Ok(Row { file: &self.file, headers: &self.headers, line, rec: &self.record }))
            }
            Err(e) => Some(Err(csv_error(&self.file, e))),
        }
    }
}

fn csv_error(file: &Path, e: csv::Error) -> ImportError {
    let line = e.position().map(|p| p.line() as usize);
    let err = match e.into_kind() {
        csv::ErrorKind::Io(io) => ImportError::io(file, io),
        csv::ErrorKind::Utf8 { err, .. } => ImportError::malformed(file, format!("invalid UTF-8: {err}")),
        other => ImportError::malformed(file, format!("malformed CSV: {other:?}")),
    };
    match line {
        Some(l) => err.row(l),
        None => err,
    }
}

/// One data row of a [`Table`].
pub struct Row<'a> {
    file: &'a Path,
    headers: &'a [String],
    /// 1-based line number in the file (header = line 1).
    pub line: usize,
    rec: &'a csv::StringRecord,
}

impl Row<'_> {
    /// The file this row was read from.
    pub fn file(&self) -> &Path {
        self.file
    }

    /// The raw text of a field, trimmed; "" when the row is short.
    pub fn str(&self, col: usize) -> &str {
        self.rec.get(col).map(str::trim).unwrap_or("")
    }

    /// An error when the row holds a value beyond the header's last column: a decimal comma
    /// (`2,05`) or an unquoted comma inside a value shifts every field after it, so reading
    /// the row by column would silently take a wrong number. Empty trailing fields are fine.
    pub fn no_extra_fields(&self) -> Result<()> {
        let extra = self.rec.iter().skip(self.headers.len()).filter(|f| !f.trim().is_empty()).count();
        if extra == 0 {
            return Ok(());
        }
        Err(self.error(ErrorKind::Malformed(format!(
            "{} fields where the header has {} columns (a decimal comma, or an unquoted comma inside a value?)",
            self.rec.len(),
            self.headers.len()
        ))))
    }

    /// An error located at this row.
    pub fn error(&self, kind: ErrorKind) -> ImportError {
        ImportError::new(self.file, kind).row(self.line)
    }

    /// A numeric field: empty → `None`; `nan`/`inf` → `Some(NaN/inf)` (so that `clean` can
    /// reject them where they matter); anything else that does not parse → `NotNumeric`.
    pub fn num(&self, col: usize) -> Result<Option<f64>> {
        let s = self.str(col);
        if s.is_empty() {
            return Ok(None);
        }
        // fast-float2 reads exactly what `str::parse::<f64>` reads (nan and inf included), faster.
        fast_float2::parse::<f64, _>(s).map(Some).map_err(|_| {
            self.error(ErrorKind::NotNumeric {
                column: self.headers.get(col).cloned().unwrap_or_else(|| format!("#{col}")),
                value: s.to_string(),
            })
        })
    }

    /// A numeric field that must be present.
    pub fn req(&self, col: usize) -> Result<f64> {
        self.num(col)?.ok_or_else(|| {
            self.error(ErrorKind::Malformed(format!(
                "column `{}` is empty",
                self.headers.get(col).map(String::as_str).unwrap_or("?")
            )))
        })
    }

    /// A nominal capacity (Ah) that must be present, finite and above 0.
    pub fn nominal_capacity(&self, col: usize) -> Result<f64> {
        let nominal = self.req(col)?;
        if nominal.is_finite() && nominal > 0.0 {
            Ok(nominal)
        } else {
            Err(self.error(ErrorKind::Malformed(format!("nominal capacity {nominal} Ah"))))
        }
    }

    /// A numeric field where only finite values count; NaN, inf and empty are `None`.
    /// For descriptors and other optional fields, where a gap is not an error.
    pub fn finite(&self, col: usize) -> Result<Option<f64>> {
        Ok(self.num(col)?.filter(|v| v.is_finite()))
    }

    /// An optional column: `None` when the column index is `None` or the field is empty/non-finite.
    pub fn opt(&self, col: Option<usize>) -> Result<Option<f64>> {
        match col {
            Some(c) => self.finite(c),
            None => Ok(None),
        }
    }

    /// A text field, `None` when empty or the column is absent.
    pub fn text(&self, col: Option<usize>) -> Option<String> {
        col.map(|c| self.str(c)).filter(|s| !s.is_empty()).map(str::to_string)
    }
}

/// All files under `dir` (recursively) whose name ends with `suffix`, sorted by path.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| ImportError::io(&d, e))? {
            let p = entry.map_err(|e| ImportError::io(&d, e))?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(suffix)) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Row::num` swapped `str::parse` for fast-float2: both must accept and reject the same
    /// text and give the same bits.
    #[test]
    fn number_parsing_matches_the_standard_library() {
        let cases = [
            "1", "1.", ".5", "-0", "+3", "1e5", "1E-5", "nan", "NaN", "-nan", "inf", "-inf", "+inf", "Infinity",
            "infinity", "INF", "1e", ".", "", "-", "+", "0x10", "1_000", "1,5", "1.7976931348623157e308", "1e400",
            "-1e400", "4.9e-324", "1e-400", "2.2250738585072011e-308", "3.141592653589793238462643383279502884197",
            "0.1000000000000000055511151231257827", "123456789012345678901234567890e-20", "1.2.3", "e5", "1e+5",
            "00012", "-.5e-3", "nan(1)", "info", "1d", "1f", "١", "1 ",
        ];
        for c in cases {
            let std = c.parse::<f64>().map(f64::to_bits).ok();
            let fast = fast_float2::parse::<f64, _>(c).map(f64::to_bits).ok();
            // NaN payloads may differ; NaN-ness must not.
            let same = match (std, fast) {
                (Some(a), Some(b)) => a == b || (f64::from_bits(a).is_nan() && f64::from_bits(b).is_nan()),
                (a, b) => a.is_none() && b.is_none(),
            };
            assert!(same, "{c:?}: std {std:?} vs fast-float2 {fast:?}");
        }
    }

    fn lines_of(content: &[u8]) -> Vec<usize> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, content).unwrap();
        let mut t = Table::open(&p).unwrap();
        let mut lines = Vec::new();
        while let Some(r) = t.next_row() {
            lines.push(r.unwrap().line);
        }
        lines
    }

    #[test]
    fn row_numbers_are_file_lines_for_lf_and_crlf() {
        assert_eq!(lines_of(b"a,b\n1,2\n3,4\n"), vec![2, 3]);
        assert_eq!(lines_of(b"a,b\r\n1,2\r\n3,4\r\n"), vec![2, 3]);
    }

    #[test]
    fn strip_cr_keeps_lone_carriage_returns_and_handles_chunk_edges() {
        let mut out = Vec::new();
        let data = b"x\r\ny\rz\r".to_vec();
        // A reader that hands out one byte at a time exercises the held-back `\r`.
        struct OneByte(Vec<u8>, usize);
        impl Read for OneByte {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.1 >= self.0.len() { return Ok(0); }
                buf[0] = self.0[self.1];
                self.1 += 1;
                Ok(1)
            }
        }
        let mut r = StripCr::new(OneByte(data, 0));
        let mut buf = [0u8; 8];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 { break; }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, b"x\ny\rz\r");
    }
}
