//! Issue 6: every cycler fixture in `shared/data/fixtures/cyclers` is detected and read, and
//! the per-cycle discharge capacities match the reference values in its FIXTURES.md; damaged
//! copies of every fixture end in an error or a valid partial result, never a panic or a hang.
//!
//! Tolerance: 1e-6 relative, or 1e-6 absolute in the unit FIXTURES.md states for the value
//! (its own stated tolerance: the references are rounded, some — batmo — to 6 decimals although
//! written with 7). The largest deviation seen per file is printed (`--nocapture`).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fadecast::import::cyclers::{self, detect, Detection, Format};
use fadecast::import::{clean, CleanOptions};

fn fixtures() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors().map(|a| a.join("shared/data/fixtures/cyclers")).find(|p| p.is_dir())
        .or_else(|| here.ancestors().map(|a| a.join("../shared/data/fixtures/cyclers")).find(|p| p.is_dir()))
        .expect("fixtures folder shared/data/fixtures/cyclers beside the repository")
}

/// What a fixture must give.
enum Expect {
    /// (cycle number, discharge capacity) in the file's own cycle numbering; `scale` converts
    /// the reference unit to Ah. A capacity of 0 means "the cycle exists and has no discharge".
    Cycles { scale: f64, cycles: &'static [(f64, f64)] },
    /// The first discharge capacities in order, for files without a cycle column.
    Ordered { scale: f64, capacities: &'static [f64] },
    /// Reads, but holds no discharge: importing it is an error that says so.
    NoDischarge(&'static str),
    /// Not a data file.
    Companion,
}
use Expect::*;

const MAH: f64 = 1e-3;

fn text_cases() -> Vec<(&'static str, Option<Format>, Expect)> {
    vec![
        ("arbin_csv/arbin_example.csv", Some(Format::ArbinCsv), Cycles { scale: 1.0, cycles: &[(1.0, 1.0723603), (2.0, 1.0729095)] }),
        ("arbin_csv/FastCharge_000025_CH8.csv", Some(Format::ArbinCsv), NoDischarge("only rest")),
        ("arbin_csv/2017-05-09_test-TC-contact_CH33.csv", Some(Format::ArbinCsv), NoDischarge("only charge")),
        ("arbin_csv/FastCharge_000025_CH8_Metadata.csv", None, Companion),
        ("arbin_csv/2017-05-09_test-TC-contact_CH33_Metadata.csv", None, Companion),
        ("arbin_xlsx/CS2_34_8_18_10.xlsx", Some(Format::ArbinXlsx), Cycles { scale: 1.0, cycles: &[(1.0, 1.1526776)] }),
        (
            "arbin_xlsx/bs542_004_gr_li_50ua_50mv_1v_191020_Channel_11.xlsx",
            Some(Format::ArbinXlsx),
            Cycles { scale: 1.0, cycles: &[(1.0, 0.0110549)] },
        ),
        (
            "neware_csv/neware_uio.csv",
            Some(Format::NewareCsv),
            Cycles { scale: 1.0, cycles: &[(1.0, 0.0046803), (2.0, 0.0040647), (3.0, 0.0040298), (4.0, 0.0033152)] },
        ),
        (
            "neware_csv/nw_regular_export_ife_example.csv",
            Some(Format::NewareCsv),
            Cycles { scale: 1.0, cycles: &[(1.0, 0.33067), (2.0, 0.33172), (3.0, 0.32663), (20.0, 0.26320)] },
        ),
        ("maccor_txt/maccor_example.001", Some(Format::Maccor), NoDischarge("only rest")),
        ("maccor_txt/PredictionDiagnostics_000151_test.052", Some(Format::Maccor), Cycles { scale: 1.0, cycles: &[(37.0, 0.0236349)] }),
        (
            "maccor_txt/PredictionDiagnostics_000109_tztest.010",
            Some(Format::Maccor),
            Cycles { scale: 1.0, cycles: &[(86.0, 1.9377580), (87.0, 1.8394550), (88.0, 1.7460850), (89.0, 0.5225950)] },
        ),
        ("maccor_txt/maccor_002.txt", Some(Format::Maccor), Cycles { scale: 1.0, cycles: &[(1.0, 0.0022510), (2.0, 0.0022539)] }),
        (
            "biologic_txt/test_loopsnewoutput_MB_CE1_short10k.csv",
            Some(Format::BiologicTxt),
            Cycles { scale: MAH, cycles: &[(0.0, 2324.5976807), (1.0, 2326.5861034), (2.0, 0.0)] },
        ),
        ("biologic_txt/test_loopsnewoutput_MB_CE1_short10k.mpl", None, Companion),
        (
            "landt_csv/SINTEF__LiGrR2032__2024-04-30__25degC__Landt.csv",
            Some(Format::Landt),
            Cycles { scale: 1.0, cycles: &[(1.0, 0.0063), (2.0, 0.0013)] },
        ),
        ("bdf_csv/SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv", Some(Format::Bdf), Ordered { scale: 1.0, capacities: &[0.0063] }),
        ("bdf_csv/batmo_bdf.csv", Some(Format::Bdf), Cycles { scale: 1.0, cycles: &[(1.0, 0.1597890), (2.0, 0.1468380), (3.0, 0.1478470)] }),
        (
            "batteryarchive_csv/CALCE_CX2-33_prism_LCO_25C_0-100_0.5-0.5C_d_cycle_data.csv",
            Some(Format::BatteryArchive),
            Cycles { scale: 1.0, cycles: &[(1.0, 1.292), (2.0, 1.295), (3.0, 1.295), (9.0, 1.291)] },
        ),
        (
            "batteryarchive_csv/CALCE_CX2-33_prism_LCO_25C_0-100_0.5-0.5C_d_timeseries.csv",
            Some(Format::BatteryArchive),
            NoDischarge("only charge"),
        ),
        (
            "batterydata_hub_csv/p492-13-raw.csv",
            Some(Format::BatteryDataHub),
            Cycles { scale: 1.0, cycles: &[(1.0, 0.0007195), (2.0, 0.0217383), (3.0, 0.0), (4.0, 0.0196210)] },
        ),
        (
            "batterydata_hub_csv/p492-13-summary.csv",
            Some(Format::BatteryDataHub),
            Cycles { scale: 1.0, cycles: &[(1.0, 0.00071952), (2.0, 0.02173834), (3.0, 0.0)] },
        ),
        ("pec_csv/Test25205.csv", Some(Format::Pec), NoDischarge("only rest")),
    ]
}

fn binary_cases() -> Vec<(&'static str, Option<Format>, Expect)> {
    vec![
        (
            "arbin_res/arbin_example.res",
            Some(Format::ArbinRes),
            Cycles { scale: 1.0, cycles: &[(1.0, 0.0004752), (2.0, 0.0004744), (3.0, 0.0004740), (4.0, 0.0004737), (5.0, 0.0)] },
        ),
        (
            "arbin_res/20160805_test001_45_cc_01.res",
            Some(Format::ArbinRes),
            Cycles { scale: 1.0, cycles: &[(1.0, 0.0017551), (2.0, 0.0015675), (3.0, 0.0015857), (18.0, 0.0002393)] },
        ),
        ("arbin_res/mits7-0.res.gz", Some(Format::ArbinRes), NoDischarge("only rest")),
        ("neware_nda/test.nda", Some(Format::NewareNda), Cycles { scale: MAH, cycles: &[(1.0, 0.0000653), (2.0, 0.0070092)] }),
        ("neware_ndax/test.ndax", Some(Format::NewareNdax), Cycles { scale: MAH, cycles: &[(1.0, 0.6254508)] }),
        ("neware_ndax/filetype14-0.ndax", Some(Format::NewareNdax), NoDischarge("only rest")),
        (
            "biologic_mpr/jdb11-1_c3_gcpl_5cycles_2V-3p8V_C-24_data_C09.mpr",
            Some(Format::BiologicMpr),
            Ordered { scale: MAH, capacities: &[0.2065287, 0.8528550, 0.8763298, 0.8746781, 0.8766560, 0.8786127] },
        ),
        // FIXTURES.md calls this "no discharge", but the file draws -50 µA for 10 s: its own
        // discharge counter reaches 1.35e-4 mAh and the integrated current 1.34e-4 mAh. We
        // report that one tiny cycle rather than pretend it is not there.
        ("biologic_mpr/00_test_02_MB_C01.mpr", Some(Format::BiologicMpr), Ordered { scale: MAH, capacities: &[0.0001346] }),
        ("biologic_mpr/GCPL-0.mpr", Some(Format::BiologicMpr), NoDischarge("")),
    ]
}

/// Within 1e-6 relative, or 1e-6 absolute in the reference's own unit.
fn matches(got_ah: f64, reference: f64, scale: f64) -> bool {
    let got = got_ah / scale;
    (got - reference).abs() <= (1e-6 * reference.abs()).max(1e-6)
}

/// Checks one fixture; returns a line for the report.
fn check(root: &Path, rel: &str, format: Option<Format>, expect: &Expect) -> String {
    let path = root.join(rel);
    let detected = detect(&path).unwrap_or_else(|e| panic!("{rel}: detection failed: {e}"));
    let format = match (expect, format) {
        (Companion, _) => {
            assert!(matches!(detected, Detection::Companion(_)), "{rel}: expected a companion file, got {detected:?}");
            return format!("{rel}: companion file, skipped");
        }
        (_, Some(f)) => {
            assert_eq!(detected, Detection::Data(f), "{rel}: detected format");
            f
        }
        (_, None) => unreachable!("data cases name their format"),
    };
    let tables = cyclers::read_cycles(&path, format).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let imported = cyclers::import_file(&path, format);
    match expect {
        Cycles { scale, cycles } => {
            assert_eq!(tables.len(), 1, "{rel}: one cell");
            let t = &tables[0];
            for &(n, reference) in *cycles {
                let c = t.cycles.iter().find(|c| c.cycle == n).unwrap_or_else(|| panic!("{rel}: no cycle {n}"));
                if reference == 0.0 {
                    assert!(!c.has_discharge || c.discharge_capacity_ah == 0.0, "{rel}: cycle {n} should have no discharge: {c:?}");
                } else {
                    assert!(c.has_discharge, "{rel}: cycle {n} has no discharge");
                    assert!(
                        matches(c.discharge_capacity_ah, reference, *scale),
                        "{rel}: cycle {n}: {} vs reference {reference} (× {scale} Ah)",
                        c.discharge_capacity_ah
                    );
                }
            }
            let raw = imported.unwrap_or_else(|e| panic!("{rel}: import: {e}"));
            let (cell, stats) = clean(raw.into_iter().next().unwrap(), CleanOptions::STRICT).unwrap_or_else(|e| panic!("{rel}: clean: {e}"));
            for &(n, reference) in *cycles {
                let kept = cell.cycles.iter().any(|c| c.cycle == n);
                if reference == 0.0 {
                    assert!(!kept, "{rel}: cycle {n} has no discharge and must not become a cycle");
                } else {
                    // `clean` may drop a first formation cycle as an outlier; it says so.
                    assert!(kept || stats.outliers_removed > 0, "{rel}: cycle {n} lost without a reason");
                }
            }
            format!("{rel}: {format}, {} cycles, {} with capacity; references matched: {}", t.cycles.len(), cell.cycles.len(), summary(t, cycles, *scale))
        }
        Ordered { scale, capacities } => {
            assert_eq!(tables.len(), 1, "{rel}: one cell");
            let got: Vec<f64> = cyclers::summary::capacity_cycles(&tables[0]).map(|c| c.discharge_capacity_ah).collect();
            assert!(got.len() >= capacities.len(), "{rel}: {} discharges, expected ≥ {}", got.len(), capacities.len());
            for (i, (&g, &r)) in got.iter().zip(capacities.iter()).enumerate() {
                assert!(matches(g, r, *scale), "{rel}: discharge #{}: {g} vs reference {r} (× {scale} Ah)", i + 1);
            }
            assert!(imported.is_ok(), "{rel}: import: {:?}", imported.err().map(|e| e.to_string()));
            format!("{rel}: {format}, derived cycles, first discharges {:?} Ah", &got[..capacities.len()])
        }
        NoDischarge(why) => {
            let e = imported.expect_err(&format!("{rel}: a file without discharge must not import"));
            let msg = e.to_string();
            assert!(msg.contains("no discharge") || msg.contains("no data rows"), "{rel}: unclear message: {msg}");
            assert!(msg.contains(why), "{rel}: message should say `{why}`: {msg}");
            format!("{rel}: {format}, refused: {msg}")
        }
        Companion => unreachable!(),
    }
}

/// The measured values and the largest relative deviation from the references.
fn summary(t: &cyclers::CycleTable, refs: &[(f64, f64)], scale: f64) -> String {
    let mut worst = 0.0f64;
    let values: Vec<String> = refs
        .iter()
        .filter_map(|&(n, r)| t.cycles.iter().find(|c| c.cycle == n).map(|c| (c, r)))
        .map(|(c, r)| {
            let got = c.discharge_capacity_ah / scale;
            if r != 0.0 {
                worst = worst.max((got - r).abs() / r);
            }
            format!("c{} {got:.7}", c.cycle)
        })
        .collect();
    format!("{} (largest relative deviation {worst:.1e})", values.join(", "))
}

#[test]
fn text_fixtures_match_reference_capacities() {
    let root = fixtures();
    for (rel, format, expect) in text_cases() {
        println!("{}", check(&root, rel, format, &expect));
    }
}

#[test]
fn binary_fixtures_match_reference_capacities() {
    let root = fixtures();
    for (rel, format, expect) in binary_cases() {
        println!("{}", check(&root, rel, format, &expect));
    }
}

#[test]
fn every_fixture_is_covered_by_a_case() {
    let root = fixtures();
    let mut named: Vec<&str> = text_cases().iter().chain(binary_cases().iter()).map(|c| c.0).collect();
    named.sort();
    for entry in walk(&root) {
        let rel = entry.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        if rel != "FIXTURES.md" {
            assert!(named.contains(&rel.as_str()), "fixture {rel} has no test case");
        }
    }
}

#[test]
fn landt_and_its_bdf_conversion_agree_and_hub_raw_agrees_with_summary() {
    let root = fixtures();
    let first = |rel: &str, f: Format| {
        let t = cyclers::read_cycles(&root.join(rel), f).unwrap();
        let q = cyclers::summary::capacity_cycles(&t[0]).next().unwrap().discharge_capacity_ah;
        q
    };
    let landt = first("landt_csv/SINTEF__LiGrR2032__2024-04-30__25degC__Landt.csv", Format::Landt);
    let bdf = first("bdf_csv/SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv", Format::Bdf);
    assert!((landt - bdf).abs() <= 1e-6 * landt, "{landt} vs {bdf}");
    let raw = cyclers::read_cycles(&root.join("batterydata_hub_csv/p492-13-raw.csv"), Format::BatteryDataHub).unwrap();
    let sum = cyclers::read_cycles(&root.join("batterydata_hub_csv/p492-13-summary.csv"), Format::BatteryDataHub).unwrap();
    for c in cyclers::summary::capacity_cycles(&raw[0]) {
        let s = sum[0].cycles.iter().find(|s| s.cycle == c.cycle).unwrap();
        assert!((c.discharge_capacity_ah - s.discharge_capacity_ah).abs() <= 1e-7, "cycle {}: raw {} vs summary {}", c.cycle, c.discharge_capacity_ah, s.discharge_capacity_ah);
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

// ---------------------------------------------------------------------------------------------
// Robustness: damaged copies of every fixture.

/// Longest any one damaged file may take to load (debug build, shared machine).
const CASE_LIMIT: Duration = Duration::from_secs(60);

/// The damaged variants of `bytes`: truncations at spread-out offsets (the very start, inside
/// the header, and through the data), and copies with a few bytes overwritten by garbage.
fn damaged(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let n = bytes.len();
    let k = if n > 1_000_000 { 6 } else { 12 };
    let mut offsets: Vec<usize> = vec![0, 1, 7, 100.min(n), 600.min(n)];
    offsets.extend((1..=k).map(|i| n * i / (k + 1)));
    offsets.push(n.saturating_sub(3));
    offsets.sort();
    offsets.dedup();
    let mut out: Vec<(String, Vec<u8>)> = offsets.iter().map(|&o| (format!("truncated at {o}"), bytes[..o].to_vec())).collect();
    let garbage: [&[u8]; 4] = [&[0u8; 8], &[0xFF; 8], b"NaN,;\t\"\n-", &[0x1f, 0x8b, 0x50, 0x4b, 0x03, 0x04, 0x80, 0x05]];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15 ^ n as u64;
    for i in 0..k {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let at = (seed >> 33) as usize % n.max(1);
        let g = garbage[i % garbage.len()];
        let mut b = bytes.to_vec();
        for (j, &x) in g.iter().enumerate() {
            if let Some(slot) = b.get_mut(at + j) {
                *slot = x;
            }
        }
        out.push((format!("{} bytes overwritten at {at}", g.len()), b));
    }
    out
}

/// Loads one damaged file in its own thread: `Err` with the reason when it panicked, hung, or
/// returned cells that break the data model's invariants.
fn load_damaged(path: PathBuf) -> Result<String, String> {
    let (tx, rx) = mpsc::channel();
    let p = path.clone();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(|| fadecast::import::any::load_path(&p, &Default::default()));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(CASE_LIMIT) {
        Err(_) => Err(format!("no result within {CASE_LIMIT:?}")),
        Ok(Err(_)) => Err("panicked".into()),
        Ok(Ok(Err(e))) => {
            let msg = e.to_string();
            if msg.contains(&*path.to_string_lossy()) {
                Ok(format!("error: {msg}"))
            } else {
                Err(format!("error does not name the file: {msg}"))
            }
        }
        Ok(Ok(Ok(loaded))) => {
            for c in &loaded.cells {
                let cycles = &c.cell.cycles;
                if cycles.is_empty() {
                    return Err(format!("cell {} has no cycles", c.cell.meta.cell_id));
                }
                if cycles.windows(2).any(|w| w[1].cycle <= w[0].cycle) {
                    return Err(format!("cell {}: cycles not increasing", c.cell.meta.cell_id));
                }
                if cycles.iter().any(|y| !(y.soh.is_finite() && y.soh > 0.0) || y.capacity_ah.is_some_and(|q| !(q.is_finite() && q > 0.0))) {
                    return Err(format!("cell {}: a non-finite or non-positive capacity", c.cell.meta.cell_id));
                }
                if c.summaries.len() != cycles.len() {
                    return Err(format!("cell {}: summaries not aligned with cycles", c.cell.meta.cell_id));
                }
            }
            Ok(format!("partial result: {} cells", loaded.cells.len()))
        }
    }
}

#[test]
fn damaged_fixtures_end_in_an_error_or_a_valid_partial_result() {
    let root = fixtures();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let (mut errors, mut partial) = (0, 0);
    let started = Instant::now();
    for fixture in walk(&root).into_iter().filter(|p| p.file_name().is_some_and(|n| n != "FIXTURES.md")) {
        let bytes = std::fs::read(&fixture).unwrap();
        let name = fixture.file_name().unwrap().to_owned();
        for (what, b) in damaged(&bytes) {
            let case_dir = dir.path().join(format!("case{}", errors + partial + failures.len()));
            std::fs::create_dir_all(&case_dir).unwrap();
            let path = case_dir.join(&name);
            std::fs::write(&path, &b).unwrap();
            match load_damaged(path) {
                Ok(r) if r.starts_with("error") => errors += 1,
                Ok(_) => partial += 1,
                Err(why) => failures.push(format!("{} {what}: {why}", fixture.strip_prefix(&root).unwrap().display())),
            }
            let _ = std::fs::remove_dir_all(&case_dir);
        }
    }
    println!("{errors} damaged files refused with an error, {partial} read partially, in {:?}", started.elapsed());
    assert!(failures.is_empty(), "{} damaged files misbehaved:\n{}", failures.len(), failures.join("\n"));
    assert!(errors > 0 && partial > 0, "both outcomes should occur ({errors} errors, {partial} partial)");
}
