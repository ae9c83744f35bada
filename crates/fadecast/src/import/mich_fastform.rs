//! Placeholder: being written.
use std::path::Path;
use crate::error::{ImportError, Result};
use super::RawCell;

pub fn import(dir: &Path) -> Result<Vec<RawCell>> {
    Err(ImportError::malformed(dir, "importer not written yet"))
}
