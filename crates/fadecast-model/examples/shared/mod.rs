//! What the bench examples share: a minimal flag reader.

/// The command line after the program name.
pub struct Flags(Vec<String>);

impl Flags {
    pub fn from_env() -> Self {
        Self(std::env::args().skip(1).collect())
    }

    /// The first argument (a subcommand), if any.
    #[allow(dead_code)] // bench_train_step has no subcommands
    pub fn first(&self) -> Option<&str> {
        self.0.first().map(String::as_str)
    }

    /// The value after `name`, or `default`.
    pub fn get(&self, name: &str, default: &str) -> String {
        self.0.iter().position(|a| a == name).and_then(|i| self.0.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
    }
}
