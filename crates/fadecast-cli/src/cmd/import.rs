//! `fadecast import FILE...`: read cycler exports, per-cycle CSVs or BatteryLife pickles and
//! show what fadecast makes of them — the detected format and each cell's per-cycle table —
//! optionally writing the cells to Parquet.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context;
use fadecast::data::{Descriptor, DESCRIPTORS};
use fadecast::import::any::{load_path, FileOutcome, Loaded, LoadedCell};
use fadecast::import::cyclers::Format;
use serde_json::{json, Value};

const AFTER_HELP: &str = "\
Formats (detected from the content; --format forces one):
  arbin-csv        Arbin MITS CSV export (Cycle_Index, Test_Time, Current, Voltage, ...)
  arbin-xlsx       Arbin Excel export (.xlsx / .xls, Channel_* sheets)
  arbin-res        Arbin .res (MS Access database)
  neware-csv       Neware BTS CSV, flat record export or nested cycle/step/record export
  neware-nda       Neware .nda binary
  neware-ndax      Neware .ndax (BTS 8)
  maccor           Maccor text export, old (Rec#, Cyc#, State) or new (Rec, Cycle C, Md) layout
  biologic-txt     BioLogic EC-Lab text export (.mpt, or ;-separated CSV)
  biologic-mpr     BioLogic EC-Lab .mpr binary
  landt            Landt CSV (SINTEF layout)
  bdf              Battery Data Format CSV
  batteryarchive   batteryarchive.org cycle_data.csv / timeseries.csv
  batterydata-hub  Battery Data Hub raw or summary CSV
  pec              PEC tester CSV
  user-csv         plain per-cycle CSV: cell_id, cycle, capacity_ah[, descriptors]
  batterylife      BatteryLife / BatteryML processed pickle

Raw time series are cut into cycles (by the file's cycle column, or by the current where there is
none); each cycle's discharge capacity is the cycler's own counter (its largest value in the
cycle). Files without any discharge (rest-only, charge-only) are refused with a message.

Examples:
  fadecast import run_CH8.csv
  fadecast import exports/ --json > cycles.json
  fadecast import my_cells.csv --map capacity_ah=Discharge_Ah --map cycle=Cycle_Index
  fadecast import a.mpt b.mpt --out cells.parquet";

/// Read cycler exports or per-cycle files and print the detected format and per-cycle table.
#[derive(clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct Args {
    /// Files or folders to read (folders recursively; files that are not data are skipped).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Read every file as this format instead of detecting it.
    #[arg(long, value_name = "F", value_parser = parse_format)]
    pub format: Option<Format>,
    #[command(flatten)]
    pub input: super::util::InputArgs,
    /// Write the cells' per-cycle rows to this Parquet file (atomically).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Print JSON instead of tables: per cell, its cycles with cycle, discharge_capacity_ah,
    /// charge_capacity_ah, soh, energies and descriptors.
    #[arg(long)]
    pub json: bool,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let opts = args.input.load_options(args.format)?;
    let mut loaded = Loaded::default();
    for path in &args.files {
        loaded.extend(load_path(path, &opts)?);
    }
    if let Some(out) = &args.out {
        let cells: Vec<_> = loaded.cells.iter().map(|c| c.cell.clone()).collect();
        fadecast::corpus::store::write_cells(out, &cells).with_context(|| format!("writing {}", out.display()))?;
    }
    let mut stdout = io::stdout().lock();
    let printed = if args.json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(&to_json(&loaded))?)
    } else {
        print_tables(&mut stdout, &loaded)
    };
    match printed {
        // A reader that stops early (`| head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
        r => r?,
    }
    if let Some(out) = &args.out {
        eprintln!("wrote {} cells to {}", loaded.cells.len(), out.display());
    }
    Ok(())
}

fn to_json(loaded: &Loaded) -> Value {
    let files: Vec<Value> = loaded
        .files
        .iter()
        .map(|f| match &f.outcome {
            FileOutcome::Read { format, cells } => json!({"path": f.path, "format": format.name(), "cells": cells}),
            FileOutcome::Skipped(why) | FileOutcome::Companion(why) => json!({"path": f.path, "skipped": why}),
        })
        .collect();
    let cells: Vec<Value> = loaded.cells.iter().map(cell_json).collect();
    json!({"files": files, "cells": cells})
}

fn cell_json(c: &LoadedCell) -> Value {
    let m = &c.cell.meta;
    let cycles: Vec<Value> = c
        .cell
        .cycles
        .iter()
        .enumerate()
        .map(|(i, cy)| {
            let s = c.summaries.get(i);
            let mut row = serde_json::Map::new();
            row.insert("cycle".into(), json!(cy.cycle));
            row.insert("discharge_capacity_ah".into(), json!(cy.capacity_ah));
            row.insert("charge_capacity_ah".into(), json!(s.and_then(|s| s.charge_capacity_ah)));
            row.insert("soh".into(), json!(cy.soh));
            row.insert("discharge_energy_wh".into(), json!(s.and_then(|s| s.discharge_energy_wh)));
            row.insert("charge_energy_wh".into(), json!(s.and_then(|s| s.charge_energy_wh)));
            for (name, v) in DESCRIPTORS.iter().zip(cy.descriptors) {
                row.insert((*name).into(), json!(v));
            }
            Value::Object(row)
        })
        .collect();
    json!({
        "file": c.file,
        "format": c.format.name(),
        "dataset": m.dataset,
        "cell_id": m.cell_id,
        "nominal_capacity_ah": m.nominal_capacity_ah,
        "reference_capacity_ah": m.reference_capacity_ah,
        "reference_rule": m.reference_rule,
        "protocol": m.protocol,
        "clean": c.stats,
        "cycles": cycles,
    })
}

fn print_tables(w: &mut impl Write, loaded: &Loaded) -> io::Result<()> {
    for f in &loaded.files {
        match &f.outcome {
            FileOutcome::Read { format, cells } => writeln!(w, "{}: {} ({cells} cell{})", f.path.display(), format, plural(*cells))?,
            FileOutcome::Skipped(why) | FileOutcome::Companion(why) => writeln!(w, "{}: skipped — {why}", f.path.display())?,
        }
    }
    for c in &loaded.cells {
        let m = &c.cell.meta;
        writeln!(w)?;
        writeln!(
            w,
            "cell {} [{}] from {}: {} cycles; SOH reference {} Ah ({})",
            m.cell_id,
            c.format,
            c.file.display(),
            c.cell.cycles.len(),
            m.reference_capacity_ah.map(|r| format!("{r:.6}")).unwrap_or_else(|| "-".into()),
            m.reference_rule
        )?;
        let dropped: usize = c.stats.dropped_by_importer.values().sum();
        let partial = &c.stats.partial_cycles_dropped;
        if dropped + c.stats.outliers_removed + partial.len() > 0 {
            write!(w, "  left out: {dropped} cycles without discharge, {} outliers", c.stats.outliers_removed)?;
            if !partial.is_empty() {
                let list: Vec<String> = partial.iter().map(|c| c.to_string()).collect();
                write!(w, ", {} partial cycle{} ({})", partial.len(), plural(partial.len()), list.join(", "))?;
            }
            writeln!(w)?;
        }
        writeln!(
            w,
            "  {:>8} {:>12} {:>12} {:>7} {:>7} {:>10} {:>9} {:>7}",
            "cycle", "dchg_Ah", "chg_Ah", "SOH", "CE", "chg_time_s", "cv_time_s", "T_C"
        )?;
        for (i, cy) in c.cell.cycles.iter().enumerate() {
            let d = |k: Descriptor| cy.descriptors[k.index()];
            let chg = c.summaries.get(i).and_then(|s| s.charge_capacity_ah);
            writeln!(
                w,
                "  {:>8} {:>12} {:>12} {:>7.4} {:>7} {:>10} {:>9} {:>7}",
                cy.cycle,
                opt(cy.capacity_ah, 7),
                opt(chg, 7),
                cy.soh,
                opt(d(Descriptor::CoulombicEfficiency), 4),
                opt(d(Descriptor::ChargeTimeS), 0),
                opt(d(Descriptor::CvChargeTimeS), 0),
                opt(d(Descriptor::TemperatureC), 1),
            )?;
        }
    }
    Ok(())
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map(|x| format!("{x:.decimals$}")).unwrap_or_else(|| "-".into())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
