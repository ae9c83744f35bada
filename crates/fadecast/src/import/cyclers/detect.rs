//! Which format a file is, from its content: binary signatures first, then the header line of
//! a text export. The extension only breaks ties a signature cannot (a zip is an `.xlsx` or an
//! `.ndax`), so a renamed file is still recognised.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::str::FromStr;

use super::table::{find_col, has_all, split_line};
use crate::error::{ImportError, Result};
use crate::import::{batterylife, read};

/// Every format `load_path` reads. The `--format` name of each is [`Format::name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    ArbinCsv,
    ArbinXlsx,
    ArbinRes,
    NewareCsv,
    NewareNda,
    NewareNdax,
    Maccor,
    BiologicTxt,
    BiologicMpr,
    Landt,
    Bdf,
    BatteryArchive,
    BatteryDataHub,
    Pec,
    /// A plain per-cycle CSV (`import::user_csv`).
    UserCsv,
    /// A BatteryLife / BatteryML pickle (`import::batterylife`).
    BatteryLife,
}

impl Format {
    pub const ALL: [Format; 16] = [
        Format::ArbinCsv,
        Format::ArbinXlsx,
        Format::ArbinRes,
        Format::NewareCsv,
        Format::NewareNda,
        Format::NewareNdax,
        Format::Maccor,
        Format::BiologicTxt,
        Format::BiologicMpr,
        Format::Landt,
        Format::Bdf,
        Format::BatteryArchive,
        Format::BatteryDataHub,
        Format::Pec,
        Format::UserCsv,
        Format::BatteryLife,
    ];

    /// The `--format` name.
    pub fn name(self) -> &'static str {
        match self {
            Format::ArbinCsv => "arbin-csv",
            Format::ArbinXlsx => "arbin-xlsx",
            Format::ArbinRes => "arbin-res",
            Format::NewareCsv => "neware-csv",
            Format::NewareNda => "neware-nda",
            Format::NewareNdax => "neware-ndax",
            Format::Maccor => "maccor",
            Format::BiologicTxt => "biologic-txt",
            Format::BiologicMpr => "biologic-mpr",
            Format::Landt => "landt",
            Format::Bdf => "bdf",
            Format::BatteryArchive => "batteryarchive",
            Format::BatteryDataHub => "batterydata-hub",
            Format::Pec => "pec",
            Format::UserCsv => "user-csv",
            Format::BatteryLife => "batterylife",
        }
    }

    /// One line for `--help`.
    pub fn description(self) -> &'static str {
        match self {
            Format::ArbinCsv => "Arbin MITS CSV export (Data_Point, Cycle_Index, …)",
            Format::ArbinXlsx => "Arbin Excel export (Channel_* sheets)",
            Format::ArbinRes => "Arbin .res (MS Access database)",
            Format::NewareCsv => "Neware BTS CSV, flat record export or nested cycle/step/record export",
            Format::NewareNda => "Neware .nda binary",
            Format::NewareNdax => "Neware .ndax (BTS 8 zip container)",
            Format::Maccor => "Maccor text export, old (Rec#, Cyc#, State) or new (Rec, Cycle C, Md) layout",
            Format::BiologicTxt => "BioLogic EC-Lab text export (.mpt / .txt / .csv, tab or ;)",
            Format::BiologicMpr => "BioLogic EC-Lab .mpr binary",
            Format::Landt => "Landt CSV (SINTEF layout: cycle_index, test_time_s, step_name)",
            Format::Bdf => "Battery Data Format CSV (test_time_second, … or `Name / unit` headers)",
            Format::BatteryArchive => "batteryarchive.org cycle_data.csv or timeseries.csv",
            Format::BatteryDataHub => "Battery Data Hub (batterydata.energy.gov) raw or summary CSV",
            Format::Pec => "PEC tester CSV",
            Format::UserCsv => "plain per-cycle CSV: cell_id, cycle, capacity_ah (see --map)",
            Format::BatteryLife => "BatteryLife / BatteryML processed pickle",
        }
    }

    /// Formats whose parser is the binary-format engineer's (`nda`, `ndax`, `mpr`, `res`).
    pub fn is_binary(self) -> bool {
        matches!(self, Format::ArbinRes | Format::NewareNda | Format::NewareNdax | Format::BiologicMpr)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim().to_ascii_lowercase().replace('_', "-");
        Format::ALL.into_iter().find(|f| f.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            format!("unknown format `{s}`; one of: {}", names.join(", "))
        })
    }
}

/// What a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection {
    Data(Format),
    /// A file that travels with data files but holds no cycling data (an Arbin test-metadata
    /// CSV, an EC-Lab `.mpl` log): skipped in a folder, an error when named explicitly.
    Companion(&'static str),
    Unknown,
}

const SNIFF_BYTES: usize = 64 * 1024;

/// Detects the format of `path` from its content.
pub fn detect(path: &Path) -> Result<Detection> {
    let head = head_bytes(path)?;
    if head.is_empty() || head.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::new(path, crate::error::ErrorKind::Empty));
    }
    if let Some(f) = binary_signature(path, &head)? {
        return Ok(Detection::Data(f));
    }
    if batterylife::looks_like_batterylife(path) {
        return Ok(Detection::Data(Format::BatteryLife));
    }
    // Text: look at the first lines (decoded leniently, the data columns are ASCII).
    let text = String::from_utf8_lossy(&head);
    let lines: Vec<&str> = text.lines().take(super::table::MAX_PREAMBLE_LINES).collect();
    Ok(text_signature(path, &lines))
}

/// The first [`SNIFF_BYTES`] of the file, gzip transparently undone.
fn head_bytes(path: &Path) -> Result<Vec<u8>> {
    let mut head = Vec::new();
    // A gzip cut short fails here only past the header; what was decoded is still usable. One
    // that yields nothing is not an empty file but a broken one, and is reported as such.
    if let Err(e) = read::open(path)?.take(SNIFF_BYTES as u64).read_to_end(&mut head) {
        if head.is_empty() {
            return Err(super::table::read_error(path, e));
        }
    }
    Ok(head)
}

fn binary_signature(path: &Path, head: &[u8]) -> Result<Option<Format>> {
    if head.starts_with(b"NEWARE") {
        return Ok(Some(Format::NewareNda));
    }
    if head.starts_with(b"BIO-LOGIC MODULAR FILE") {
        return Ok(Some(Format::BiologicMpr));
    }
    if head.len() > 20 && (&head[4..19] == b"Standard Jet DB" || &head[4..19] == b"Standard ACE DB") {
        return Ok(Some(Format::ArbinRes));
    }
    if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        // An OLE2 compound file: the legacy Excel `.xls` Arbin's older software writes.
        return Ok(Some(Format::ArbinXlsx));
    }
    if head.starts_with(b"PK\x03\x04") {
        // Entry names sit in the local headers (start) and the central directory (end).
        let mut names = head.to_vec();
        names.extend(tail_bytes(path)?);
        let has = |needle: &[u8]| names.windows(needle.len()).any(|w| w == needle);
        if has(b"xl/") || has(b"[Content_Types].xml") {
            return Ok(Some(Format::ArbinXlsx));
        }
        if has(b".ndc") || has(b"TestInfo.xml") || has(b"VersionInfo.xml") || has(b"Step.xml") {
            return Ok(Some(Format::NewareNdax));
        }
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        return Ok(match ext.as_str() {
            "ndax" => Some(Format::NewareNdax),
            "xlsx" | "xls" => Some(Format::ArbinXlsx),
            _ => None,
        });
    }
    Ok(None)
}

fn tail_bytes(path: &Path) -> Result<Vec<u8>> {
    let mut f = File::open(path).map_err(|e| ImportError::io(path, e))?;
    let len = f.metadata().map_err(|e| ImportError::io(path, e))?.len();
    let start = len.saturating_sub(SNIFF_BYTES as u64);
    f.seek(SeekFrom::Start(start)).map_err(|e| ImportError::io(path, e))?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).map_err(|e| ImportError::io(path, e))?;
    Ok(tail)
}

/// The delimiter a line most likely uses.
pub fn delimiter_of(line: &str) -> u8 {
    let count = |c: char| line.matches(c).count();
    [('\t', b'\t'), (';', b';'), (',', b',')].into_iter().max_by_key(|(c, _)| count(*c)).map(|(_, b)| b).unwrap_or(b',')
}

/// Extensions of documents that travel with data (READMEs, notes): never data, whatever they quote.
const DOCUMENTS: [&str; 9] = ["md", "markdown", "rst", "html", "json", "xml", "yaml", "yml", "pdf"];

fn text_signature(path: &Path, lines: &[&str]) -> Detection {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    if DOCUMENTS.contains(&ext.as_str()) {
        return Detection::Unknown;
    }
    let first = lines.first().copied().unwrap_or("");
    if first.starts_with("EC-Lab ASCII FILE") || first.starts_with("BT-Lab ASCII FILE") {
        return Detection::Data(Format::BiologicTxt);
    }
    if first.starts_with("EC-Lab LOG FILE") || first.starts_with("BT-Lab LOG FILE") {
        return Detection::Companion("an EC-Lab settings log (.mpl), not data");
    }
    if first.starts_with("Today's Date") {
        return Detection::Data(Format::Maccor);
    }
    if first.starts_with("Request Year:") {
        return Detection::Data(Format::Pec);
    }
    for (i, line) in lines.iter().enumerate() {
        let delim = delimiter_of(line);
        let h = split_line(line, delim);
        let next = lines[i + 1..].iter().copied().find(|l| !l.trim().is_empty());
        // A header is followed by records of about its width (this keeps prose that merely
        // quotes a header, such as a README, from being taken for data).
        let width = next.map(|n| split_line(n, delim).len()).unwrap_or(0);
        let prose = line.contains('`') || line.trim_start().starts_with(['|', '#']);
        if prose || h.len() < 3 || 2 * width < h.len() {
            continue;
        }
        if let Some(f) = header_format(&h, next) {
            return f;
        }
    }
    let is_table = matches!(ext.as_str(), "csv" | "tsv" | "txt" | "gz") && first.contains([',', ';', '\t']);
    if is_table {
        Detection::Data(Format::UserCsv)
    } else {
        Detection::Unknown
    }
}

/// The format whose header line `h` is, if any. `next` is the following line (Neware's nested
/// export is told apart by its second header level).
fn header_format(h: &[String], next: Option<&str>) -> Option<Detection> {
    let has = |names: &[&str]| has_all(h, names);
    let any = |names: &[&str]| find_col(h, names).is_some();
    let d = Detection::Data;
    if has(&["Rec#", "Cyc#", "State"]) || has(&["Rec", "Cycle C", "Md"]) {
        return Some(d(Format::Maccor));
    }
    if h.iter().any(|c| c == "time/s") && any(&["Ewe/V", "Ecell/V", "<Ewe>/V"]) {
        return Some(d(Format::BiologicTxt));
    }
    if has(&["Test", "Cell", "Cycle"]) && any(&["Voltage (V)"]) && any(&["Current (A)"]) {
        return Some(d(Format::Pec));
    }
    // Any unit in `DChg. Cap.(…)`: the reader then names a unit that is not a charge, rather
    // than the file falling through to the per-cycle CSV and a message about its columns.
    if has(&["Cycle Index"]) && h.iter().any(|c| c.starts_with("DChg. Cap.(")) {
        let nested = next.is_some_and(|n| n.trim_start().starts_with(",Step Index") || n.trim_start().starts_with(",Step ID"));
        if nested || has(&["DataPoint"]) || has(&["Step Type"]) {
            return Some(d(Format::NewareCsv));
        }
    }
    if has(&["cycle_index", "test_time_s", "current_A", "voltage_V"]) {
        return Some(d(Format::Landt));
    }
    if has(&["test_time_second", "current_ampere", "voltage_volt"])
        || (h.iter().any(|c| c.to_ascii_lowercase().starts_with("test time /")) && h.iter().any(|c| c.starts_with("Current /")))
    {
        return Some(d(Format::Bdf));
    }
    if has(&["Cycle_Index", "Discharge_Capacity (Ah)"]) {
        return Some(d(Format::BatteryArchive));
    }
    if has(&["Cycle_Index", "Q_dis"]) || has(&["Cycle_Index", "Time_s", "Discharge_Capacity_Ah"]) {
        return Some(d(Format::BatteryDataHub));
    }
    if any(&["Schedule_File_Name"]) && any(&["Test_ID"]) {
        return Some(Detection::Companion("an Arbin test-metadata CSV (read alongside its data CSV)"));
    }
    if super::arbin_csv::is_header(h) {
        return Some(d(Format::ArbinCsv));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
        }
        assert!("excel".parse::<Format>().is_err());
    }
}
