//! Small helpers shared by the subcommands.

use std::path::{Path, PathBuf};

/// Where the raw datasets live: `$FADECAST_DATA`, else `../shared/data/raw` beside the project.
pub fn default_raw_dir() -> PathBuf {
    fadecast::corpus::default_raw_dir()
}

/// Writes `bytes` to `path` atomically: a temp file beside it, then a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    fadecast::corpus::write_atomic(path, bytes).map_err(Into::into)
}

/// A progress bar on stderr, hidden when stderr is not a terminal.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg:>24} [{bar:30}] {pos}/{len} ({elapsed})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}
