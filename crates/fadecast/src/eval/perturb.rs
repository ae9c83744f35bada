//! Robustness probes: score the same cells with every SOH shifted by a constant, or with the
//! cycle axis stretched. A forecaster that reads only the shape of the curve scores the same
//! (persistence does; linear extrapolation does except where the evaluator's clamp to SOH ≥ 0
//! bites); one that has learned a dataset's SOH reference or
//! cycling pace as a cue does not. SOH in the corpus is capacity over the *nominal* capacity, so
//! a user whose reference differs by a few percent, or whose cells cycle at another pace, meets
//! exactly these shifts.

use std::borrow::Cow;

use crate::data::Cell;

/// What is done to every scored cell (the training and tuning cells are left as they are).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Perturbation {
    /// Added to every SOH value, context and truth alike (errors stay in SOH points).
    pub soh_shift: f64,
    /// Every cycle number is multiplied by this (`eol` errors are then in stretched cycles).
    pub cycle_scale: f64,
}

impl Default for Perturbation {
    fn default() -> Self {
        Self { soh_shift: 0.0, cycle_scale: 1.0 }
    }
}

impl Perturbation {
    pub fn is_identity(&self) -> bool {
        *self == Self::default()
    }

    pub fn validate(&self) -> Result<(), String> {
        if !self.soh_shift.is_finite() || self.soh_shift.abs() >= 0.5 {
            return Err(format!("SOH shift must be finite and within ±0.5, got {}", self.soh_shift));
        }
        if !self.cycle_scale.is_finite() || self.cycle_scale <= 0.0 || self.cycle_scale > 100.0 {
            return Err(format!("cycle scale must be in (0, 100], got {}", self.cycle_scale));
        }
        Ok(())
    }

    /// The cell as the probe scores it. Capacity follows SOH (same reference capacity), so the
    /// cell stays self-consistent.
    pub fn apply(&self, cell: &Cell) -> Cell {
        let mut out = cell.clone();
        for c in &mut out.cycles {
            c.cycle *= self.cycle_scale;
            let shifted = c.soh + self.soh_shift;
            c.capacity_ah = c.capacity_ah.map(|cap| if c.soh > 0.0 { cap * shifted / c.soh } else { cap });
            c.soh = shifted;
        }
        out
    }

    /// Every cell as the probe scores it; borrowed as they are when there is nothing to do, so
    /// a plain evaluation copies no cells.
    pub fn apply_all<'a>(&self, cells: &'a [Cell]) -> Cow<'a, [Cell]> {
        if self.is_identity() {
            Cow::Borrowed(cells)
        } else {
            Cow::Owned(cells.iter().map(|c| self.apply(c)).collect())
        }
    }

    /// In words, for reports: "SOH +0.020, cycles ×2".
    pub fn describe(&self) -> String {
        format!("SOH {:+.3}, cycles ×{}", self.soh_shift, self.cycle_scale)
    }
}
