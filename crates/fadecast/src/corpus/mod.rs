//! Corpus build, storage (Parquet) and summary.

pub mod build;
pub mod info;
pub mod store;

pub use store::read_corpus;

use std::path::{Path, PathBuf};

/// Where the raw public datasets live: `$FADECAST_DATA` if set, else the first
/// `shared/data/raw` found beside the current directory or one of its ancestors
/// (so `../shared/data/raw` from the repository root, as the team lays it out).
pub fn default_raw_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("FADECAST_DATA") {
        return PathBuf::from(d);
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    cwd.ancestors()
        .map(|a| a.join("shared/data/raw"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| PathBuf::from("../shared/data/raw"))
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder, then a rename, so a
/// reader never sees a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
