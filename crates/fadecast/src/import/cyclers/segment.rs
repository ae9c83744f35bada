//! Cycle segmentation of a raw time series and the per-cycle summary of each cycle.
//!
//! The rules, in order:
//! 1. **Direction** of each sample: the file's step label where it has one (Maccor `State`,
//!    Neware `Step Type`, …), else the sign of the current beyond a noise threshold
//!    (`max(1e-3 · max|I|, 1e-9 A)`). If the counters mostly rise against the current's sign
//!    (discharge counter while positive, charge counter while negative), the file's sign
//!    convention is inverted and the current is flipped.
//! 2. **Cycles**: the file's own cycle counter where it has one (samples are grouped by its
//!    value, so a counter that restarts merges into the earlier cycle of the same number).
//!    Without one, a new cycle starts at each change back to the test's first active direction
//!    (charge-first tests: each charge after a discharge; discharge-first half cells: each
//!    discharge after a charge), numbered from 1.
//! 3. **Capacity and energy**: the largest value of the cycler's counter within the cycle (its
//!    counters reset every cycle or step; this is the "max per cycle" that cycler software
//!    reports). Without counters, the current (or V·I) is integrated over the cycle.
//! 4. **Descriptors**: charge time, split into CV (voltage within 10 mV of the cycle's highest
//!    charge voltage *and* current below 95 % of its highest charge current) and CC (the rest);
//!    mean and standard deviation of the charge voltage, mean discharge voltage and mean charge
//!    current (over samples); mean temperature over the cycle; coulombic efficiency =
//!    discharge / charge capacity.
//! 5. **Sanity**: a discharge counter far above the charge the current carried in its cycle
//!    ([`COUNTER_OVER_CURRENT_MAX`]) is an error at its row: binary formats carry no checksum,
//!    and a corrupted record would otherwise become the cell's capacity.

use std::collections::BTreeMap;
use std::path::Path;

use super::summary::{CycleSummary, CycleTable};
use super::timeseries::{StepKind, TimeSeries};
use crate::data::Descriptor;
use crate::error::{ImportError, Result};

/// Tolerance below the highest charge voltage within which a falling current counts as CV.
pub const CV_VOLTAGE_TOL_V: f64 = 0.010;
/// A charge sample at ≥ this fraction of the highest charge current is still CC.
pub const CV_CURRENT_FRACTION: f64 = 0.95;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Rest,
    Charge,
    Discharge,
}

/// Segments `ts` into cycles and summarises each one.
pub fn summarise(file: &Path, ts: &TimeSeries) -> Result<CycleTable> {
    ts.validate(file)?;
    let n = ts.len();
    let mut current = ts.current_a.clone();
    if sign_inverted(ts) {
        current.iter_mut().for_each(|i| *i = -*i);
    }
    let dirs = directions(ts, &current);
    let labels: Vec<i64> = match &ts.cycle {
        Some(c) => c.clone(),
        None => derived_cycles(&dirs),
    };

    // dt[i] is the interval that ends at sample i; backwards time (a clock change) counts 0.
    let dt: Vec<f64> = (0..n)
        .map(|i| if i == 0 { 0.0 } else { (ts.time_s[i] - ts.time_s[i - 1]).max(0.0) })
        .map(|d| if d.is_finite() { d } else { 0.0 })
        .collect();

    let mut groups: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (i, &c) in labels.iter().enumerate() {
        groups.entry(c).or_default().push(i);
    }
    let cycles = groups
        .into_iter()
        .map(|(cycle, idx)| {
            let s = summarise_cycle(ts, &current, &dirs, &dt, cycle, &idx);
            check_discharge_counter(file, ts, &current, &dt, &idx, &s)?;
            Ok(s)
        })
        .collect::<Result<_>>()?;
    Ok(CycleTable {
        cell_id: ts.cell_id.clone(),
        cycles,
        nominal_capacity_ah: ts.nominal_capacity_ah,
        protocol: ts.protocol.clone(),
        samples: n,
    })
}

/// How far a cycle's discharge counter may exceed the charge its current carried in that cycle
/// before the cycle reads as corrupt. Real exports reach about 5 (a file that starts
/// mid-discharge carries its counter in; the integral is rough where logging is sparse); a
/// flipped bit in a binary record is off by orders of magnitude (5·10⁸ in one corrupted `.nda`).
pub const COUNTER_OVER_CURRENT_MAX: f64 = 100.0;

/// Errors at the row where a cycle's discharge counter peaks when the current cannot account for
/// it, rather than forecasting from a capacity no discharge delivered. Cycles without discharge,
/// and files whose clock never advances (nothing to integrate), are not judged.
fn check_discharge_counter(file: &Path, ts: &TimeSeries, current: &[f64], dt: &[f64], idx: &[usize], s: &CycleSummary) -> Result<()> {
    let Some(q) = &ts.discharge_capacity_ah else { return Ok(()) };
    if !s.has_discharge {
        return Ok(());
    }
    let carried: f64 = idx.iter().map(|&i| current[i].abs() * dt[i]).filter(|x| x.is_finite()).sum::<f64>() / 3600.0;
    let peak = idx.iter().copied().filter(|&i| q[i].is_finite()).max_by(|&a, &b| q[a].total_cmp(&q[b]));
    match peak {
        Some(p) if carried > 0.0 && q[p] > COUNTER_OVER_CURRENT_MAX * carried => Err(ImportError::malformed(
            file,
            format!(
                "the discharge capacity counter reads {:.4e} Ah in cycle {}, but the current carried only {:.4e} Ah in that cycle: the record looks corrupted (or the counter does not restart each cycle)",
                q[p], s.cycle, carried
            ),
        )
        .cell(ts.cell_id.clone())
        .row(ts.row[p])),
        _ => Ok(()),
    }
}

/// `true` when the counters mostly rise against the current's sign: the discharge counter while
/// the current is positive, the charge counter while it is negative.
fn sign_inverted(ts: &TimeSeries) -> bool {
    let (mut inverted, mut normal) = (0usize, 0usize);
    for (counter, sign) in [(&ts.discharge_capacity_ah, 1.0), (&ts.charge_capacity_ah, -1.0)] {
        let Some(q) = counter else { continue };
        for i in 1..ts.len() {
            if q[i] > q[i - 1] {
                match ts.current_a[i] * sign {
                    x if x > 0.0 => inverted += 1,
                    x if x < 0.0 => normal += 1,
                    _ => {}
                }
            }
        }
    }
    inverted > 2 * normal
}

fn directions(ts: &TimeSeries, current: &[f64]) -> Vec<Dir> {
    let max_abs = current.iter().filter(|i| i.is_finite()).fold(0.0f64, |m, i| m.max(i.abs()));
    let eps = (1e-3 * max_abs).max(1e-9);
    let by_sign = |i: f64| {
        if i > eps {
            Dir::Charge
        } else if i < -eps {
            Dir::Discharge
        } else {
            Dir::Rest
        }
    };
    (0..ts.len())
        .map(|k| match ts.step_kind.as_ref().map(|s| s[k]) {
            Some(StepKind::Charge) => Dir::Charge,
            Some(StepKind::Discharge) => Dir::Discharge,
            Some(StepKind::Rest) => Dir::Rest,
            Some(StepKind::Other) | None => by_sign(current[k]),
        })
        .collect()
}

/// Cycle numbers for a file without a cycle column (rule 2 in the module docs).
fn derived_cycles(dirs: &[Dir]) -> Vec<i64> {
    let first = dirs.iter().copied().find(|d| *d != Dir::Rest);
    let mut cycle = 1;
    let mut last = first;
    dirs.iter()
        .map(|&d| {
            if d != Dir::Rest {
                if Some(d) == first && last.is_some_and(|l| l != d) {
                    cycle += 1;
                }
                last = Some(d);
            }
            cycle
        })
        .collect()
}

fn summarise_cycle(ts: &TimeSeries, current: &[f64], dirs: &[Dir], dt: &[f64], cycle: i64, idx: &[usize]) -> CycleSummary {
    let charge: Vec<usize> = idx.iter().copied().filter(|&i| dirs[i] == Dir::Charge).collect();
    let discharge: Vec<usize> = idx.iter().copied().filter(|&i| dirs[i] == Dir::Discharge).collect();
    let v = &ts.voltage_v;

    let counter_max = |c: &Option<Vec<f64>>| {
        c.as_ref().map(|c| idx.iter().map(|&i| c[i]).filter(|x| x.is_finite()).fold(0.0f64, f64::max))
    };
    let integral = |set: &[usize], f: &dyn Fn(usize) -> f64| set.iter().map(|&i| f(i).abs() * dt[i]).sum::<f64>() / 3600.0 + 0.0;

    let dchg_q = counter_max(&ts.discharge_capacity_ah).unwrap_or_else(|| integral(&discharge, &|i| current[i]));
    let chg_q = counter_max(&ts.charge_capacity_ah).unwrap_or_else(|| integral(&charge, &|i| current[i]));
    let dchg_e = counter_max(&ts.discharge_energy_wh).unwrap_or_else(|| integral(&discharge, &|i| current[i] * v[i]));
    let chg_e = counter_max(&ts.charge_energy_wh).unwrap_or_else(|| integral(&charge, &|i| current[i] * v[i]));

    let mut s = CycleSummary::new(cycle as f64, ts.row[idx[0]], dchg_q);
    s.has_discharge = !discharge.is_empty() && dchg_q > 0.0;
    s.charge_capacity_ah = Some(chg_q);
    s.has_charge = !charge.is_empty() && chg_q > 0.0;
    s.discharge_energy_wh = Some(dchg_e);
    s.charge_energy_wh = Some(chg_e);

    if !charge.is_empty() {
        let v_max = charge.iter().map(|&i| v[i]).filter(|x| x.is_finite()).fold(f64::MIN, f64::max);
        let i_max = charge.iter().map(|&i| current[i]).filter(|x| x.is_finite()).fold(f64::MIN, f64::max);
        // `+ 0.0` turns the -0.0 that an empty float sum yields into 0.
        let total: f64 = charge.iter().map(|&i| dt[i]).sum::<f64>() + 0.0;
        let cv: f64 = charge
            .iter()
            .filter(|&&i| v[i] >= v_max - CV_VOLTAGE_TOL_V && current[i] < CV_CURRENT_FRACTION * i_max)
            .map(|&i| dt[i])
            .sum::<f64>()
            + 0.0;
        s.set(Descriptor::ChargeTimeS, Some(total));
        s.set(Descriptor::CvChargeTimeS, Some(cv));
        s.set(Descriptor::CcChargeTimeS, Some(total - cv));
        let (mean, std) = mean_std(charge.iter().map(|&i| v[i]));
        s.set(Descriptor::ChargeVoltageMeanV, mean);
        s.set(Descriptor::ChargeVoltageStdV, std);
        s.set(Descriptor::ChargeCurrentMeanA, mean_std(charge.iter().map(|&i| current[i])).0);
    }
    if !discharge.is_empty() {
        s.set(Descriptor::DischargeVoltageMeanV, mean_std(discharge.iter().map(|&i| v[i])).0);
    }
    if let Some(t) = &ts.temperature_c {
        s.set(Descriptor::TemperatureC, mean_std(idx.iter().map(|&i| t[i])).0);
    }
    if s.has_discharge && chg_q > 0.0 {
        s.set(Descriptor::CoulombicEfficiency, Some(dchg_q / chg_q));
    }
    s
}

/// Mean and population standard deviation of the finite values; `None` when there are none.
fn mean_std(values: impl Iterator<Item = f64>) -> (Option<f64>, Option<f64>) {
    let v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (None, None);
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (Some(mean), Some(var.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic CC–CV charge then CC discharge, repeated, with no cycle column.
    fn two_cycles(sign: f64) -> TimeSeries {
        let mut ts = TimeSeries { cell_id: "t".into(), ..Default::default() };
        let mut t = 0.0;
        for _cycle in 0..2 {
            // CC charge 1 A for 10 s, voltage rising to 4.2 V.
            for k in 0..10 {
                ts.current_a.push(sign * 1.0);
                ts.voltage_v.push(3.7 + 0.05 * k as f64 + if k == 9 { 0.05 } else { 0.0 });
                t += 1.0;
                ts.time_s.push(t);
            }
            // CV at 4.2 V, current tapering, 5 s.
            for k in 0..5 {
                ts.current_a.push(sign * (0.5 - 0.1 * k as f64));
                ts.voltage_v.push(4.2);
                t += 1.0;
                ts.time_s.push(t);
            }
            // Discharge 2 A for 3 600 s in 1-s samples → 2 Ah.
            for _ in 0..3600 {
                ts.current_a.push(-sign * 2.0);
                ts.voltage_v.push(3.6);
                t += 1.0;
                ts.time_s.push(t);
            }
        }
        ts.row = (2..2 + ts.len()).collect();
        ts
    }

    #[test]
    fn segments_without_cycle_column_and_integrates_current() {
        let table = summarise(Path::new("t"), &two_cycles(1.0)).unwrap();
        assert_eq!(table.cycles.len(), 2);
        let c = &table.cycles[1];
        assert_eq!(c.cycle, 2.0);
        assert!((c.discharge_capacity_ah - 2.0).abs() < 1e-9, "{}", c.discharge_capacity_ah);
        assert_eq!(c.descriptors[Descriptor::ChargeTimeS.index()], Some(15.0));
        // CV: the samples at 4.2 V with tapering current (one 4.2-V CC sample excluded).
        assert_eq!(c.descriptors[Descriptor::CvChargeTimeS.index()], Some(5.0));
        assert_eq!(c.descriptors[Descriptor::CcChargeTimeS.index()], Some(10.0));
    }

    #[test]
    fn counters_decide_capacity_and_detect_an_inverted_sign() {
        let mut ts = two_cycles(-1.0);
        // Discharge counter rising during the (positive-current) discharge: inverted file.
        let mut q = 0.0;
        ts.discharge_capacity_ah = Some(
            ts.current_a
                .iter()
                .map(|&i| {
                    if i > 1.5 {
                        q += 2.0 / 3600.0;
                    } else if i < 0.0 {
                        q = 0.0;
                    }
                    q
                })
                .collect(),
        );
        let table = summarise(Path::new("t"), &ts).unwrap();
        assert_eq!(table.cycles.len(), 2);
        assert!(table.cycles.iter().all(|c| c.has_discharge && (c.discharge_capacity_ah - 2.0).abs() < 1e-9));
    }

    #[test]
    fn rest_only_series_has_no_discharge() {
        let ts = TimeSeries {
            cell_id: "r".into(),
            row: vec![2, 3, 4],
            time_s: vec![0.0, 1.0, 2.0],
            current_a: vec![0.0; 3],
            voltage_v: vec![3.3; 3],
            discharge_capacity_ah: Some(vec![0.0, 1e-5, 2e-5]),
            ..Default::default()
        };
        let table = summarise(Path::new("t"), &ts).unwrap();
        assert!(table.cycles.iter().all(|c| !c.has_discharge));
    }
}
