//! Cycler exports (issue 6): detect the format of a raw time-series file, parse it into a
//! [`TimeSeries`], segment it into cycles and summarise each cycle.

mod timeseries;

pub use timeseries::TimeSeries;
