//! Builds [`TimeSeries`] from a [`TextTable`] given which column holds what. Every text
//! format's parser is a column mapping plus its quirks; the row loop, the unit scaling and the
//! row-located errors live here, once.

use std::collections::BTreeMap;

use super::table::{check_capacity, check_finite, parse_datetime, parse_duration, parse_num, Record, TextTable};
use super::timeseries::{StepKind, TimeSeries};
use crate::error::{ImportError, Result};

/// How a file writes time.
#[derive(Debug, Clone, Copy)]
pub enum TimeCol {
    /// A number, times `scale` to get seconds.
    Number(usize, f64),
    /// `hh:mm:ss(.f)`.
    Duration(usize),
    /// A date-time; the series starts at 0 s.
    DateTime(usize),
}

/// A numeric column and the factor to its canonical unit.
pub type Scaled = (usize, f64);

/// Which column holds what. `None` = the file does not have it.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub time: TimeCol,
    pub current: Scaled,
    pub voltage: Scaled,
    pub temperature: Option<usize>,
    pub cycle: Option<usize>,
    pub step: Option<usize>,
    /// Step label column (see [`StepKind::from_label`]).
    pub state: Option<usize>,
    /// Make the current's sign follow the step label (for files that write |I|).
    pub sign_from_state: bool,
    pub charge_capacity: Option<Scaled>,
    pub discharge_capacity: Option<Scaled>,
    pub charge_energy: Option<Scaled>,
    pub discharge_energy: Option<Scaled>,
    /// One capacity / energy counter for both directions (Maccor `Amp-hr`), split into the
    /// charge and discharge counters by the step label.
    pub shared_capacity: Option<Scaled>,
    pub shared_energy: Option<Scaled>,
    /// One signed capacity counter (EC-Lab `Q charge/discharge`): positive is charge,
    /// negative is discharge.
    pub signed_capacity: Option<Scaled>,
    /// A column naming the cell of each row, for files that hold several cells (PEC).
    pub group: Option<usize>,
    pub decimal_comma: bool,
}

impl Mapping {
    /// A mapping with only the three columns every series needs.
    pub fn new(time: TimeCol, current: Scaled, voltage: Scaled) -> Self {
        Self {
            time,
            current,
            voltage,
            temperature: None,
            cycle: None,
            step: None,
            state: None,
            sign_from_state: false,
            charge_capacity: None,
            discharge_capacity: None,
            charge_energy: None,
            discharge_energy: None,
            shared_capacity: None,
            shared_energy: None,
            signed_capacity: None,
            group: None,
            decimal_comma: false,
        }
    }
}

/// Accumulates one cell's columns.
#[derive(Default)]
struct Builder {
    ts: TimeSeries,
    temperature: Vec<f64>,
    cycle: Vec<Option<i64>>,
    step: Vec<Option<i64>>,
    kind: Vec<StepKind>,
    chg: Vec<f64>,
    dchg: Vec<f64>,
    chg_e: Vec<f64>,
    dchg_e: Vec<f64>,
    /// Per capacity column (charge, discharge, shared, signed): see [`Filled`].
    caps: [Filled; 4],
}

/// Whether a capacity column had a value in any row, and its first empty row.
#[derive(Default, Clone, Copy)]
struct Filled {
    any: bool,
    first_empty: Option<usize>,
}

/// Builds one series per cell (one, unless the mapping has a `group` column). `cell_id` names
/// the series; with groups it becomes `cell_id/group`.
pub fn build(table: &TextTable, m: &Mapping, cell_id: &str) -> Result<Vec<TimeSeries>> {
    let mut groups: BTreeMap<String, Builder> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let records = complete_records(table);
    let mut t0: Option<f64> = None;
    for rec in records {
        let num = |col: usize| -> Result<Option<f64>> {
            parse_num(rec.get(col), m.decimal_comma).map_err(|_| table.not_numeric(rec, col))
        };
        // The cell this row belongs to, for errors (built only when one is raised).
        let cell = || match m.group.map(|c| rec.get(c)).filter(|g| !g.is_empty()) {
            Some(g) => format!("{cell_id}/{g}"),
            None => cell_id.to_string(),
        };
        let req = |col: usize, what: &str| -> Result<f64> {
            let v = num(col)?.ok_or_else(|| ImportError::malformed(&table.file, format!("{what} is empty")).row(rec.line))?;
            if v.is_finite() { Ok(v) } else { check_finite(&table.file, &cell(), rec.line, &table.headers[col], v) }
        };
        // A capacity counter's value (scaled), `None` for an empty cell; NaN, infinite and (but
        // for a signed counter) negative values are errors, see `check_capacity`.
        let cap = |c: Option<Scaled>, signed: bool| -> Result<Option<f64>> {
            let Some((col, scale)) = c else { return Ok(None) };
            match num(col)? {
                Some(v) if v.is_finite() && (signed || v >= 0.0) => Ok(Some(v * scale)),
                Some(v) => check_capacity(&table.file, &cell(), rec.line, &table.headers[col], v, signed).map(Some),
                None => Ok(None),
            }
        };
        let opt = |c: Option<Scaled>| -> Result<f64> {
            Ok(match c {
                Some((col, scale)) => num(col)?.map(|v| v * scale).unwrap_or(f64::NAN),
                None => f64::NAN,
            })
        };
        let int = |c: Option<usize>| -> Result<Option<i64>> {
            match c {
                Some(col) => Ok(num(col)?.filter(|v| v.is_finite()).map(|v| v.round() as i64)),
                None => Ok(None),
            }
        };

        let time = match m.time {
            TimeCol::Number(col, scale) => req(col, "time")? * scale,
            TimeCol::Duration(col) => parse_duration(rec.get(col)).ok_or_else(|| table.not_numeric(rec, col))?,
            TimeCol::DateTime(col) => {
                let abs = parse_datetime(rec.get(col)).ok_or_else(|| table.not_numeric(rec, col))?;
                abs - *t0.get_or_insert(abs)
            }
        };
        let kind = m.state.map(|c| StepKind::from_label(rec.get(c))).unwrap_or_default();
        let mut current = req(m.current.0, "current")? * m.current.1;
        if m.sign_from_state {
            current = match kind {
                StepKind::Charge => current.abs(),
                StepKind::Discharge => -current.abs(),
                _ => current,
            };
        }
        let voltage = req(m.voltage.0, "voltage")? * m.voltage.1;
        let caps = [
            cap(m.charge_capacity, false)?,
            cap(m.discharge_capacity, false)?,
            cap(m.shared_capacity, false)?,
            cap(m.signed_capacity, true)?,
        ];
        let gap = |v: Option<f64>| v.unwrap_or(f64::NAN);
        let (mut chg, mut dchg) = (gap(caps[0]), gap(caps[1]));
        let (mut chg_e, mut dchg_e) = (opt(m.charge_energy)?, opt(m.discharge_energy)?);
        if m.shared_capacity.is_some() {
            (chg, dchg) = split_by_kind(gap(caps[2]), kind);
        }
        if m.signed_capacity.is_some() {
            let q = gap(caps[3]);
            (chg, dchg) = (q.max(0.0), (-q).max(0.0));
        }
        if m.shared_energy.is_some() {
            (chg_e, dchg_e) = split_by_kind(opt(m.shared_energy)?, kind);
        }

        let key = m.group.map(|c| rec.get(c).to_string()).unwrap_or_default();
        let b = groups.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Builder::default()
        });
        b.ts.row.push(rec.line);
        b.ts.time_s.push(time);
        b.ts.current_a.push(current);
        b.ts.voltage_v.push(voltage);
        b.temperature.push(match m.temperature {
            Some(c) => num(c)?.unwrap_or(f64::NAN),
            None => f64::NAN,
        });
        b.cycle.push(int(m.cycle)?);
        b.step.push(int(m.step)?);
        b.kind.push(kind);
        b.chg.push(chg);
        b.dchg.push(dchg);
        b.chg_e.push(chg_e);
        b.dchg_e.push(dchg_e);
        for (f, v) in b.caps.iter_mut().zip(caps) {
            match v {
                Some(_) => f.any = true,
                None => {
                    f.first_empty.get_or_insert(rec.line);
                }
            }
        }
    }

    let many = order.len() > 1;
    order
        .into_iter()
        .map(|key| {
            let b = groups.remove(&key).expect("every key was inserted");
            let id = if many && !key.is_empty() { format!("{cell_id}/{key}") } else { cell_id.to_string() };
            finish(table, m, b, id)
        })
        .collect()
}

/// Drops a last record with fewer fields than both the header and the record before it: an
/// export cut off mid-line. (Only shorter than the record before is not enough: exporters that
/// end every row with a delimiter often leave it off the last.) Any other short record is
/// kept, and its missing fields read as empty.
fn complete_records(table: &TextTable) -> &[Record] {
    let records = &table.records[..];
    match records {
        [.., prev, last] if last.fields.len() < prev.fields.len() && last.fields.len() < table.headers.len() => {
            &records[..records.len() - 1]
        }
        _ => records,
    }
}

/// A shared counter belongs to the charge or the discharge counter by the step label.
fn split_by_kind(v: f64, kind: StepKind) -> (f64, f64) {
    match kind {
        StepKind::Charge => (v, 0.0),
        StepKind::Discharge => (0.0, v),
        _ => (0.0, 0.0),
    }
}

fn finish(table: &TextTable, m: &Mapping, b: Builder, cell_id: String) -> Result<TimeSeries> {
    let Builder { mut ts, temperature, cycle, step, kind, chg, dchg, chg_e, dchg_e, caps } = b;
    ts.cell_id = cell_id;
    // A capacity column with a value in some rows and none in others is a gap that would be read
    // as "no capacity" in that cycle: an error at the first empty row. One empty in every row is
    // a column the cycler did not fill: the capacity is then integrated from the current, as
    // for a file without the column.
    let columns = [m.charge_capacity, m.discharge_capacity, m.shared_capacity, m.signed_capacity];
    let mut usable = [false; 4];
    for ((col, f), ok) in columns.iter().zip(caps).zip(&mut usable) {
        let Some((col, _)) = col else { continue };
        let name = &table.headers[*col];
        match (f.any, f.first_empty) {
            (true, Some(row)) => {
                return Err(ImportError::malformed(&table.file, format!("`{name}` is empty, though other rows have a value"))
                    .cell(ts.cell_id.clone())
                    .row(row));
            }
            (true, None) => *ok = true,
            (false, _) => tracing::warn!(
                "{}, cell {}: column `{name}` is empty in every row; capacity is integrated from the current",
                table.file.display(),
                ts.cell_id
            ),
        }
    }
    let [chg_col, dchg_col, shared_col, signed_col] = usable;
    // A temperature column of exact zeros is an unconnected probe (Landt, BDF exports), not 0 °C.
    let measured = |v: &[f64]| v.iter().any(|x| x.is_finite() && *x != 0.0);
    ts.temperature_c = measured(&temperature).then_some(temperature);
    ts.cycle = counter(table, &ts, cycle, "cycle")?;
    ts.step = counter(table, &ts, step, "step")?;
    ts.step_kind = m.state.map(|_| kind);
    let shared = shared_col || signed_col;
    let has_chg = chg_col || shared;
    let has_dchg = dchg_col || shared;
    ts.charge_capacity_ah = has_chg.then_some(chg);
    ts.discharge_capacity_ah = has_dchg.then_some(dchg);
    ts.charge_energy_wh = (m.charge_energy.is_some() || m.shared_energy.is_some()).then_some(chg_e);
    ts.discharge_energy_wh = (m.discharge_energy.is_some() || m.shared_energy.is_some()).then_some(dchg_e);
    Ok(ts)
}

/// An integer counter column: `None` when the column is absent or entirely empty (Arbin
/// exports with blank `Cycle_Index`); partly empty is an error at the first empty row.
fn counter(table: &TextTable, ts: &TimeSeries, v: Vec<Option<i64>>, what: &str) -> Result<Option<Vec<i64>>> {
    if v.iter().all(Option::is_none) {
        return Ok(None);
    }
    v.iter()
        .zip(&ts.row)
        .map(|(c, &row)| c.ok_or_else(|| ImportError::malformed(&table.file, format!("{what} is empty")).row(row)))
        .collect::<Result<Vec<i64>>>()
        .map(Some)
}
