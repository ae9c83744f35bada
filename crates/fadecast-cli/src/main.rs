//! The `fadecast` command-line tool. Each subcommand lives in `cmd/<name>.rs`.

mod alloc;
mod cmd;

use clap::{Parser, Subcommand};

/// fadecast — forecast battery capacity fade from capacity history alone.
#[derive(Parser)]
#[command(name = "fadecast", version, about, long_about = None)]
struct Cli {
    /// Log more (-v: info, -vv: debug). Logs go to stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the canonical Parquet corpus from the public datasets, or summarise one.
    #[command(subcommand)]
    Corpus(cmd::corpus::Corpus),
    /// Read cycler exports or per-cycle files and print the detected format and per-cycle table.
    Import(cmd::import::Args),
    /// Forecast cells' capacity fade, end of life and remaining useful life from their history.
    Forecast(cmd::forecast::Args),
    /// Score a forecaster (the universal model or a baseline) on the corpus or on your own data.
    Eval(cmd::eval::Args),
    /// Pretrain the universal model on the corpus's train split.
    Train(cmd::train::Args),
    /// Adapt the universal model to your own cells with LoRA adapters (base weights frozen).
    Finetune(cmd::finetune::Args),
}

fn main() {
    alloc::keep_freed_memory();
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr).init();
    let result = match cli.command {
        Command::Corpus(c) => cmd::corpus::run(c),
        Command::Import(a) => cmd::import::run(a),
        Command::Forecast(a) => cmd::forecast::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Train(a) => cmd::train::run(a),
        Command::Finetune(a) => cmd::finetune::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
