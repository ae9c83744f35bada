//! The fixed set of per-cycle physical descriptors. They shape the model's representation
//! during training (contrastive loss) and are never needed to forecast.

/// Index into [`crate::Cycle::descriptors`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Descriptor {
    /// Total charge time of the cycle (s).
    ChargeTimeS = 0,
    /// Constant-current part of the charge (s); for the PINN4SOH sets, the CC voltage window.
    CcChargeTimeS = 1,
    /// Constant-voltage part of the charge (s); for the PINN4SOH sets, the CV current window.
    CvChargeTimeS = 2,
    /// Mean terminal voltage while charging (V).
    ChargeVoltageMeanV = 3,
    /// Standard deviation of the charge voltage (V).
    ChargeVoltageStdV = 4,
    /// Mean terminal voltage while discharging (V).
    DischargeVoltageMeanV = 5,
    /// Mean current during the charge, or its CV stage where that is all the source gives (A).
    ChargeCurrentMeanA = 6,
    /// Mean cell temperature over the cycle (°C).
    TemperatureC = 7,
    /// Internal (DC or pulse) resistance (Ω).
    ResistanceOhm = 8,
    /// Discharge / charge capacity (fraction).
    CoulombicEfficiency = 9,
}

pub const N_DESCRIPTORS: usize = 10;

/// Column names in `cycles.parquet`, in index order.
pub const DESCRIPTORS: [&str; N_DESCRIPTORS] = [
    "charge_time_s",
    "cc_charge_time_s",
    "cv_charge_time_s",
    "charge_voltage_mean_v",
    "charge_voltage_std_v",
    "discharge_voltage_mean_v",
    "charge_current_mean_a",
    "temperature_c",
    "resistance_ohm",
    "coulombic_efficiency",
];

impl Descriptor {
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn name(self) -> &'static str {
        DESCRIPTORS[self as usize]
    }
}
