//! `fadecast corpus build|info`.

#[derive(clap::Subcommand)]
pub enum Corpus {}

pub fn run(c: Corpus) -> anyhow::Result<()> {
    match c {}
}
