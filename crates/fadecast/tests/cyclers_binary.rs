//! Issue 6, binary cycler formats (`nda`, `ndax`, `mpr`, `res`): every fixture parses, its
//! per-cycle discharge capacities (as FIXTURES.md defines them for the file) match the
//! reference values, and truncated or corrupted copies end in an error that names the file or
//! in a valid partial series — never a panic, and quickly.
//!
//! Tolerance: 1e-6 relative, or 1e-6 absolute in the unit FIXTURES.md states (the references
//! are rounded to 7 decimals, so a purely relative bound cannot hold for values like 6.53e-5).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fadecast::error::Result;
use fadecast::import::cyclers::{mpr, nda, ndax, res, StepKind, TimeSeries};

fn fixture(rel: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .flat_map(|a| [a.join("shared/data/fixtures/cyclers"), a.join("../shared/data/fixtures/cyclers")])
        .find(|p| p.is_dir())
        .expect("fixtures folder shared/data/fixtures/cyclers beside the repository")
        .join(rel)
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= (1e-6 * want.abs()).max(1e-6)
}

/// Max of `value` per `key` over the samples `keep` admits (FIXTURES.md's "max per cycle").
fn max_per(keys: &[i64], values: &[f64], keep: impl Fn(usize) -> bool) -> BTreeMap<i64, f64> {
    let mut out = BTreeMap::new();
    for i in (0..keys.len()).filter(|&i| keep(i)) {
        let e = out.entry(keys[i]).or_insert(f64::NEG_INFINITY);
        *e = f64::max(*e, values[i]);
    }
    out
}

/// Asserts every (key, reference) pair; returns the largest absolute deviation.
fn check(file: &str, got: &BTreeMap<i64, f64>, want: &[(i64, f64)], scale: f64) -> f64 {
    let mut worst = 0.0f64;
    for &(k, w) in want {
        let g = got.get(&k).copied().unwrap_or_else(|| panic!("{file}: no value for {k}; got {got:?}")) * scale;
        assert!(close(g, w), "{file}: {k}: got {g:.9}, reference {w}");
        worst = worst.max((g - w).abs());
    }
    println!("{file}: {} values match, largest deviation {worst:.2e}", want.len());
    worst
}

fn only(v: Vec<TimeSeries>, path: &Path) -> TimeSeries {
    assert_eq!(v.len(), 1, "{}: one series expected", path.display());
    let s = v.into_iter().next().unwrap();
    s.validate(path).unwrap();
    s
}

#[test]
fn nda_matches_newarenda_reference() {
    let p = fixture("neware_nda/test.nda");
    let s = only(nda::parse(&p).unwrap(), &p);
    assert_eq!(s.len(), 439);
    assert!(s.time_s.windows(2).all(|w| w[1] >= w[0]), "test time must not go backwards");
    // FIXTURES.md: rows whose Status contains DChg, max per Cycle, in mAh.
    let kinds = s.step_kind.as_ref().unwrap();
    let got = max_per(s.cycle.as_ref().unwrap(), s.discharge_capacity_ah.as_ref().unwrap(), |i| {
        kinds[i] == StepKind::Discharge
    });
    check("test.nda", &got, &[(1, 0.0000653), (2, 0.0070092)], 1000.0);
    let labels: std::collections::BTreeSet<_> = kinds.iter().map(|k| format!("{k:?}")).collect();
    assert_eq!(labels.into_iter().collect::<Vec<_>>(), ["Charge", "Discharge", "Rest"]);
}

#[test]
fn ndax_matches_newarenda_reference() {
    let p = fixture("neware_ndax/test.ndax");
    let s = only(ndax::parse(&p).unwrap(), &p);
    assert_eq!(s.len(), 1464);
    assert!(s.time_s.windows(2).all(|w| w[1] >= w[0]), "test time must not go backwards");
    let got = max_per(s.cycle.as_ref().unwrap(), s.discharge_capacity_ah.as_ref().unwrap(), |_| true);
    assert_eq!(got.len(), 1, "one cycle: {got:?}");
    check("test.ndax", &got, &[(1, 0.6254508)], 1000.0);

    // A newer file type (NDC 14, split over data / runInfo / step members): 67 rest samples.
    let p = fixture("neware_ndax/filetype14-0.ndax");
    let s = only(ndax::parse(&p).unwrap(), &p);
    assert_eq!(s.len(), 67);
    assert!(s.step_kind.as_ref().unwrap().iter().all(|k| *k == StepKind::Rest));
    assert!(s.discharge_capacity_ah.as_ref().unwrap().iter().all(|&q| q == 0.0));
    // 12 runInfo records for 67 samples: the rest are filled in (time interpolated), so the
    // test time rises steadily to the last runInfo time, 655.4 s at sample 67.
    assert!(s.time_s.windows(2).all(|w| w[1] > w[0]), "time must rise: {:?}", s.time_s);
    assert!((s.time_s[66] - 655.4).abs() < 1e-9, "last time {}", s.time_s[66]);
}

#[test]
fn mpr_matches_galvani_reference() {
    let p = fixture("biologic_mpr/jdb11-1_c3_gcpl_5cycles_2V-3p8V_C-24_data_C09.mpr");
    let s = only(mpr::parse(&p).unwrap(), &p);
    assert_eq!(s.len(), 46102);
    // FIXTURES.md: per `half cycle` with negative `Q charge/discharge`, discharge = −min (mAh).
    // The parser puts `half cycle` in `step` and −Q (where Q < 0) in the discharge counter.
    let q = s.discharge_capacity_ah.as_ref().unwrap();
    let got = max_per(s.step.as_ref().unwrap(), q, |i| q[i] > 0.0);
    // The reference lists the first six discharge halves; the file has one more (13).
    assert_eq!(got.keys().take(6).copied().collect::<Vec<_>>(), [0, 3, 5, 7, 9, 11]);
    check(
        "jdb11-1…C09.mpr",
        &got,
        &[(0, 0.2065287), (3, 0.8528550), (5, 0.8763298), (7, 0.8746781), (9, 0.8766560), (11, 0.8786127)],
        1000.0,
    );
    // The current is derived from dq/dt (the file has no I column): discharge halves draw
    // a negative current of about C/24, i.e. the same magnitude throughout.
    let hc = s.step.as_ref().unwrap();
    let i_dis: Vec<f64> = (0..s.len()).filter(|&i| hc[i] == 3 && q[i] > 0.01e-3).map(|i| s.current_a[i]).collect();
    let mean = i_dis.iter().sum::<f64>() / i_dis.len() as f64;
    assert!(mean < 0.0 && i_dis.iter().all(|i| (i / mean - 1.0).abs() < 0.05), "discharge current {mean}");

    // FIXTURES.md: "no discharge" (header/format tests). The MB file does draw −50 µA for 10 s
    // (its counter reaches 1.3e-4 mAh); what we can check is that the counter the file records
    // equals the charge its current column integrates to, i.e. the columns are decoded right.
    for (f, rows) in [("biologic_mpr/00_test_02_MB_C01.mpr", 11), ("biologic_mpr/GCPL-0.mpr", 4)] {
        let p = fixture(f);
        let s = only(mpr::parse(&p).unwrap(), &p);
        assert_eq!(s.len(), rows, "{f}");
        let q = s.discharge_capacity_ah.as_ref().unwrap();
        let qmax = q.iter().copied().fold(0.0, f64::max);
        let integral: f64 = (1..s.len()).map(|i| -s.current_a[i] * (s.time_s[i] - s.time_s[i - 1]) / 3600.0).sum();
        println!("{f}: {rows} rows, discharge counter max {:.3e} mAh, ∫−I dt {:.3e} mAh", qmax * 1e3, integral * 1e3);
        assert!(qmax < 1e-6, "{f}: no real discharge (< 1 µAh)");
        assert!((qmax - integral.max(0.0)).abs() <= 0.05 * qmax.max(1e-12), "{f}: counter vs current");
    }
}

#[test]
fn res_matches_mdbtools_reference() {
    let cases: [(&str, usize, &[(i64, f64)]); 3] = [
        (
            "arbin_res/arbin_example.res",
            2150,
            &[(1, 0.0004752), (2, 0.0004744), (3, 0.0004740), (4, 0.0004737), (5, 0.0)],
        ),
        ("arbin_res/20160805_test001_45_cc_01.res", 10261, &[(1, 0.0017551), (2, 0.0015675), (3, 0.0015857), (18, 0.0002393)]),
        ("arbin_res/mits7-0.res.gz", 8, &[(1, 0.0)]),
    ];
    for (f, rows, want) in cases {
        let p = fixture(f);
        let s = only(res::parse(&p).unwrap(), &p);
        assert_eq!(s.len(), rows, "{f}");
        let got = max_per(s.cycle.as_ref().unwrap(), s.discharge_capacity_ah.as_ref().unwrap(), |_| true);
        check(f, &got, want, 1.0);
    }
}

#[test]
fn sniffers_recognise_their_own_files_only() {
    let heads: Vec<(&str, Vec<u8>)> = [
        "neware_nda/test.nda",
        "neware_ndax/test.ndax",
        "biologic_mpr/GCPL-0.mpr",
        "arbin_res/arbin_example.res",
        "arbin_csv/arbin_example.csv",
    ]
    .iter()
    .map(|f| (*f, std::fs::read(fixture(f)).unwrap()[..512].to_vec()))
    .collect();
    for (f, h) in &heads {
        let hits = [nda::sniff(h), ndax::sniff(h), mpr::sniff(h), res::sniff(h)];
        let want = [f.ends_with(".nda"), f.ends_with(".ndax"), f.ends_with(".mpr"), f.ends_with(".res")];
        assert_eq!(hits, want, "{f}");
    }
}

/// A small deterministic generator (Knuth's MMIX LCG), so the damage is the same every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

type ParseBytes = fn(&Path, &[u8]) -> Result<Vec<TimeSeries>>;

/// Runs `parse` on a damaged copy: it must not panic, must finish within `limit`, and must
/// give either an error naming the file or series that pass `validate`.
fn survives(parse: ParseBytes, name: &Path, bytes: &[u8], what: &str, limit: Duration) -> bool {
    let t = Instant::now();
    let out = catch_unwind(AssertUnwindSafe(|| parse(name, bytes)));
    let took = t.elapsed();
    assert!(took < limit, "{}: {what}: took {took:?}", name.display());
    match out {
        Err(_) => panic!("{}: {what}: the parser panicked", name.display()),
        Ok(Err(e)) => {
            let msg = e.to_string();
            assert!(msg.contains(&*name.to_string_lossy()), "{what}: error does not name the file: {msg}");
            false
        }
        Ok(Ok(series)) => {
            for s in &series {
                s.validate(name).unwrap_or_else(|e| panic!("{what}: invalid partial result: {e}"));
            }
            true
        }
    }
}

#[test]
fn damaged_files_give_errors_or_partial_results_never_panics() {
    let cases: [(&str, ParseBytes, usize); 7] = [
        ("neware_nda/test.nda", nda::parse_bytes, 120),
        ("neware_ndax/test.ndax", ndax::parse_bytes, 120),
        ("neware_ndax/filetype14-0.ndax", ndax::parse_bytes, 80),
        ("biologic_mpr/00_test_02_MB_C01.mpr", mpr::parse_bytes, 120),
        ("biologic_mpr/jdb11-1_c3_gcpl_5cycles_2V-3p8V_C-24_data_C09.mpr", mpr::parse_bytes, 30),
        ("arbin_res/arbin_example.res", res::parse_bytes, 60),
        ("arbin_res/20160805_test001_45_cc_01.res", res::parse_bytes, 20),
    ];
    let limit = Duration::from_secs(20);
    let mut rng = Lcg(0x5eed_f00d);
    for (f, parse, n) in cases {
        let original = std::fs::read(fixture(f)).unwrap();
        let name = PathBuf::from(format!("damaged/{}", f.rsplit('/').next().unwrap()));
        let (mut ok, mut err) = (0, 0);
        // Truncations: the header region byte by byte-ish, then spread over the whole file.
        let mut cuts: Vec<usize> = (0..n / 2).map(|k| k * 7).filter(|&c| c < original.len()).collect();
        cuts.extend((0..n / 2).map(|_| rng.below(original.len())));
        for cut in cuts {
            if survives(parse, &name, &original[..cut], &format!("truncated at {cut}"), limit) { ok += 1 } else { err += 1 }
        }
        // Corruptions: a few random bytes overwritten, sometimes in the first kilobyte (headers).
        for k in 0..n {
            let mut b = original.clone();
            let hits = 1 + rng.below(8);
            for _ in 0..hits {
                let at = if k % 2 == 0 { rng.below(b.len().min(1024)) } else { rng.below(b.len()) };
                b[at] = rng.next() as u8;
            }
            if survives(parse, &name, &b, &format!("corruption #{k}"), limit) { ok += 1 } else { err += 1 }
        }
        println!("{f}: {} damaged copies: {ok} partial results, {err} errors", ok + err);
        assert!(err > 0, "{f}: some damage must be detected");
    }
}
