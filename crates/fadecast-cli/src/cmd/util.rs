//! Small helpers shared by the subcommands.

use std::path::PathBuf;

/// Where the raw datasets live: `$FADECAST_DATA`, else `../shared/data/raw` beside the project.
pub fn default_raw_dir() -> PathBuf {
    fadecast::corpus::default_raw_dir()
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
