//! Errors that name where the bad input is: the file, the cell and the row.

use std::fmt;
use std::path::{Path, PathBuf};

pub type Result<T, E = ImportError> = std::result::Result<T, E>;

/// An input problem, located as precisely as the source allows.
///
/// `row` is the 1-based line number in the source file (the header is line 1) where
/// the file is line-oriented, otherwise the 1-based record index.
#[derive(Debug)]
pub struct ImportError {
    pub file: PathBuf,
    pub cell: Option<String>,
    pub row: Option<usize>,
    pub kind: ErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot write: {0}")]
    Write(std::io::Error),
    #[error("the file is empty")]
    Empty,
    #[error("missing required column `{0}`")]
    MissingColumn(String),
    #[error("column `{column}`: `{value}` is not a number")]
    NotNumeric { column: String, value: String },
    #[error("{0} is NaN or infinite")]
    NotFinite(String),
    #[error("{what} is negative ({value})")]
    Negative { what: String, value: f64 },
    #[error("cycle {cycle} appears twice (first at row {first_row})")]
    DuplicateCycle { cycle: f64, first_row: usize },
    #[error("cycle {cycle} comes after cycle {previous}: cycles must be in increasing order")]
    UnsortedCycle { cycle: f64, previous: f64 },
    #[error("unknown unit `{unit}` in column `{column}`: use {accepted}")]
    UnknownUnit { unit: String, column: String, accepted: String },
    #[error("no usable cycles")]
    NoCycles,
    #[error("{0}")]
    Malformed(String),
}

impl ImportError {
    pub fn new(file: impl AsRef<Path>, kind: ErrorKind) -> Self {
        Self { file: file.as_ref().to_path_buf(), cell: None, row: None, kind }
    }
    pub fn malformed(file: impl AsRef<Path>, msg: impl Into<String>) -> Self {
        Self::new(file, ErrorKind::Malformed(msg.into()))
    }
    pub fn io(file: impl AsRef<Path>, e: std::io::Error) -> Self {
        Self::new(file, ErrorKind::Io(e))
    }
    /// An I/O error while writing `file` (an output, so not "cannot read").
    pub fn write(file: impl AsRef<Path>, e: std::io::Error) -> Self {
        Self::new(file, ErrorKind::Write(e))
    }
    pub fn cell(mut self, cell: impl Into<String>) -> Self {
        self.cell = Some(cell.into());
        self
    }
    pub fn row(mut self, row: usize) -> Self {
        self.row = Some(row);
        self
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(c) = &self.cell {
            write!(f, ", cell {c}")?;
        }
        if let Some(r) = self.row {
            write!(f, ", row {r}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// `Display` already includes the kind's message (and an I/O error's text), so `source` is
/// `None`: reporting the chain (`{:#}`) would otherwise print the message twice.
impl std::error::Error for ImportError {}
