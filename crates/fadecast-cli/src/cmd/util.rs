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

/// How a command reads the user's own files (`import`, `forecast`, `finetune --data`, `eval --data`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct InputArgs {
    /// Rename a per-cycle CSV column onto a canonical one, e.g. capacity_ah=Discharge_Ah (repeatable).
    #[arg(long = "map", value_name = "CANONICAL=THEIRS")]
    pub map: Vec<String>,
    /// The cells' nominal (rated) capacity in Ah, e.g. 2.5: SOH becomes capacity over it, as in
    /// the corpus the model learned from. Replaces what the files state; without it, SOH is
    /// relative to the stated nominal or, where none is stated, to the first full cycles.
    #[arg(long, value_name = "AH", value_parser = positive_ah, allow_hyphen_values = true)]
    pub nominal_capacity: Option<f64>,
}

impl InputArgs {
    pub fn load_options(&self, format: Option<fadecast::import::cyclers::Format>) -> anyhow::Result<fadecast::import::any::LoadOptions> {
        let map = fadecast::import::user_csv::ColumnMap::from_flags(self.map.iter().map(String::as_str)).map_err(anyhow::Error::msg)?;
        Ok(fadecast::import::any::LoadOptions { format, map, nominal_capacity_ah: self.nominal_capacity })
    }
}

fn positive_ah(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s}: give the capacity in Ah as a positive number, e.g. 2.5 (for 2500 mAh)")),
    }
}
