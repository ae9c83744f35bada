//! BioLogic EC-Lab / BT-Lab text exports: `.mpt` (an `EC-Lab ASCII FILE` header block, then a
//! tab-separated table) and the `;`-separated CSVs some tools write from them. Columns are
//! `name/unit`: `time/s`, `Ewe/V` or `Ecell/V`, `I/mA` or `<I>/mA`, `cycle number`,
//! `Q charge/mA.h` and `Q discharge/mA.h` (or one signed `Q charge/discharge/mA.h`),
//! `Energy charge/W.h`, `Energy discharge/W.h`, `Temperature/°C`. EC-Lab's current is
//! positive on oxidation (charge). Localised exports use a decimal comma; `time/s` is
//! sometimes written as a date-time.

use std::path::Path;

use super::detect::delimiter_of;
use super::series::{self, Mapping, TimeCol};
use super::table::{find_col, parse_datetime, parse_num, read_text, unit_scale, TextTable};
use super::{cell_id_of, Parsed};
use crate::error::Result;

pub fn parse(path: &Path) -> Result<Parsed> {
    let text = read_text(path)?;
    let header_line = text.lines().take(super::table::MAX_PREAMBLE_LINES).find(|l| l.contains("time/s")).unwrap_or("");
    let delim = delimiter_of(header_line);
    let table = TextTable::parse(path, &text, delim, |h| {
        find_col(h, &["time/s"]).is_some() && find_col(h, &["Ewe/V", "Ecell/V", "<Ewe>/V"]).is_some()
    })?;
    let t = &table;
    let scaled = |i: usize| (i, unit_scale(&t.headers[i]));
    let voltage = t.col(&["Ecell/V", "Ewe/V", "<Ewe>/V"])?;
    let current = t.col(&["I/mA", "<I>/mA", "I/A", "<I>/A"])?;
    let first = t.records.first();
    let decimal_comma = delim != b',' && first.is_some_and(|r| r.get(voltage).contains(','));
    let time = t.col(&["time/s"])?;
    let numeric_time = first.is_none_or(|r| parse_num(r.get(time), decimal_comma).is_ok());
    let time_col = match (numeric_time, first.is_some_and(|r| parse_datetime(r.get(time)).is_some())) {
        (false, true) => TimeCol::DateTime(time),
        _ => TimeCol::Number(time, 1.0),
    };
    let mut m = Mapping::new(time_col, scaled(current), scaled(voltage));
    m.decimal_comma = decimal_comma;
    m.cycle = t.find(&["cycle number"]);
    m.charge_capacity = t.find(&["Q charge/mA.h", "Q charge/A.h"]).map(|c| t.capacity(c)).transpose()?;
    m.discharge_capacity = t.find(&["Q discharge/mA.h", "Q discharge/A.h"]).map(|c| t.capacity(c)).transpose()?;
    if m.discharge_capacity.is_none() {
        m.signed_capacity = t.find(&["Q charge/discharge/mA.h", "Q charge/discharge/A.h"]).map(|c| t.capacity(c)).transpose()?;
    }
    m.charge_energy = t.find(&["Energy charge/W.h", "Energy charge/mW.h"]).map(scaled);
    m.discharge_energy = t.find(&["Energy discharge/W.h", "Energy discharge/mW.h"]).map(scaled);
    m.temperature = t.find(&["Temperature/°C", "T/°C"]);
    Ok(Parsed::Series(series::build(t, &m, &cell_id_of(path))?))
}
