//! Utilization-derived node power. Every figure it produces is an estimate, not a measurement.
//!
//! A node's power is `idle + cpu_dynamic(u_cpu) + memory_full_scale * u_memory`, where the CPU
//! term follows one of three calibrations ([`CpuCurve`]): linear, the concave `2u - u^r` form,
//! or a SPECpower-style table of watts at each 10% load step. Calibrations are stored as JSON
//! ([`PowerCalibration::from_json`]); this crate does no I/O, so callers read the file.
//!
//! Pod power follows Kepler's attribution: idle power stays with the node, and a pod gets the
//! node's dynamic power in proportion to its share of the CPU time used on the node
//! ([`NodePower::split_dynamic`]).
//!
//! # Not modelled
//!
//! * Power states and their latency (C-states, P-states, turbo); the curve is a steady-state
//!   average at each utilization.
//! * Per-component power other than CPU and memory (disks, NICs, fans, PSU losses).
//! * Temperature and the cooling overhead of the data centre (PUE).

use serde::{Deserialize, Serialize};

use crate::error::CoreError;

/// Shape of the CPU part of node power against CPU utilization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CpuCurve {
    /// `cpu_full_scale_w * u`.
    #[default]
    Linear,
    /// `cpu_full_scale_w * (2u - u^exponent)`, a concave curve that rises faster at low load.
    /// An exponent of 1.4 is the usual choice for this form.
    Nonlinear {
        /// Exponent `r` in `2u - u^r`, in [1, 2] so the curve stays within [0, 1].
        exponent: f64,
    },
    /// Whole-node watts at 0%, 10%, ..., 100% CPU load (11 values), in the order a
    /// SPECpower_ssj2008 result lists them from active idle to full load. Power is linear
    /// between steps. The first value replaces `idle_w`, and the last minus the first replaces
    /// `cpu_full_scale_w`.
    Table {
        /// Watts at each 10% step, from 0% to 100%.
        watts: Vec<f64>,
    },
}

/// Node power model: idle power, a CPU curve and a linear memory term, with utilizations in
/// [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerModel {
    /// Power of an idle, powered-on node in watts. Default 80. A [`CpuCurve::Table`] overrides
    /// it with its first value.
    pub idle_w: f64,
    /// Additional power at full CPU utilization in watts. Default 120.
    pub cpu_full_scale_w: f64,
    /// Additional power at full memory utilization in watts. Default 60.
    pub memory_full_scale_w: f64,
    /// Shape of the CPU term. Default linear.
    #[serde(default)]
    pub cpu_curve: CpuCurve,
}

impl Default for PowerModel {
    fn default() -> Self {
        Self {
            idle_w: 80.0,
            cpu_full_scale_w: 120.0,
            memory_full_scale_w: 60.0,
            cpu_curve: CpuCurve::Linear,
        }
    }
}

/// Estimated power of one node, split into idle and dynamic parts, in watts.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct NodePower {
    /// Idle power.
    pub idle_w: f64,
    /// Utilization-dependent power.
    pub dynamic_w: f64,
}

impl NodePower {
    /// Splits the dynamic power between a set of pods and everything else by CPU-time share,
    /// as Kepler attributes it: returns `(pods_w, rest_w)`. With no CPU used, all dynamic power
    /// stays with the rest (the memory term of an idle node).
    pub fn split_dynamic(&self, pods_cpu: f64, total_cpu: f64) -> (f64, f64) {
        let share = if total_cpu > 0.0 {
            (pods_cpu / total_cpu).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let pods = self.dynamic_w * share;
        (pods, self.dynamic_w - pods)
    }
}

impl PowerModel {
    /// Estimates a node's power from its CPU and memory utilization (clamped to [0, 1]).
    pub fn node_power(&self, cpu_utilization: f64, memory_utilization: f64) -> NodePower {
        let u = cpu_utilization.clamp(0.0, 1.0);
        let memory = self.memory_full_scale_w * memory_utilization.clamp(0.0, 1.0);
        let (idle_w, cpu_w) = match &self.cpu_curve {
            CpuCurve::Linear => (self.idle_w, self.cpu_full_scale_w * u),
            CpuCurve::Nonlinear { exponent } => (
                self.idle_w,
                self.cpu_full_scale_w * (2.0 * u - u.powf(*exponent)),
            ),
            CpuCurve::Table { watts } => table_power(watts, u),
        };
        NodePower {
            idle_w,
            dynamic_w: cpu_w + memory,
        }
    }

    /// Returns the idle power in watts, from the table when the curve is one.
    pub fn effective_idle_w(&self) -> f64 {
        self.node_power(0.0, 0.0).idle_w
    }

    /// Returns the power at full CPU and memory utilization in watts.
    pub fn peak_w(&self) -> f64 {
        let full = self.node_power(1.0, 1.0);
        full.idle_w + full.dynamic_w
    }

    /// Returns the same model with idle power set to `fraction` of the peak and the dynamic
    /// terms rescaled so that the peak and the curve's shape stay the same. Used to show how
    /// much an energy conclusion depends on the calibration.
    pub fn with_idle_fraction(&self, fraction: f64) -> PowerModel {
        let fraction = fraction.clamp(0.0, 1.0);
        let peak = self.peak_w();
        let full = self.node_power(1.0, 0.0);
        let cpu_dynamic = full.dynamic_w;
        let dynamic = cpu_dynamic + self.memory_full_scale_w;
        let scale = if dynamic > 0.0 {
            (1.0 - fraction) * peak / dynamic
        } else {
            0.0
        };
        let idle_w = fraction * peak;
        let cpu_curve = match &self.cpu_curve {
            CpuCurve::Table { watts } => {
                let base = watts.first().copied().unwrap_or(0.0);
                CpuCurve::Table {
                    watts: watts
                        .iter()
                        .map(|watt| idle_w + (watt - base) * scale)
                        .collect(),
                }
            }
            other => other.clone(),
        };
        PowerModel {
            idle_w,
            cpu_full_scale_w: self.cpu_full_scale_w * scale,
            memory_full_scale_w: self.memory_full_scale_w * scale,
            cpu_curve,
        }
    }

    /// Checks that every value is finite and in range; `source_name` names the file or origin
    /// in the error.
    pub fn validate(&self, source_name: &str) -> Result<(), CoreError> {
        let invalid = |field: &str, value: String, expected: &str| CoreError::InvalidConfig {
            field: format!("{source_name}: model.{field}"),
            value,
            expected: expected.to_owned(),
        };
        for (field, value) in [
            ("idle_w", self.idle_w),
            ("cpu_full_scale_w", self.cpu_full_scale_w),
            ("memory_full_scale_w", self.memory_full_scale_w),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(invalid(
                    field,
                    value.to_string(),
                    "a finite number of watts >= 0",
                ));
            }
        }
        match &self.cpu_curve {
            CpuCurve::Linear => {}
            CpuCurve::Nonlinear { exponent } => {
                if !exponent.is_finite() || !(1.0..=2.0).contains(exponent) {
                    return Err(invalid(
                        "cpu_curve.exponent",
                        exponent.to_string(),
                        "a number in [1, 2], so that 2u - u^r stays within [0, 1]",
                    ));
                }
            }
            CpuCurve::Table { watts } => {
                if watts.len() != 11 {
                    return Err(invalid(
                        "cpu_curve.watts",
                        format!("{} values", watts.len()),
                        "11 values, for 0%, 10%, ..., 100% load",
                    ));
                }
                for (index, watt) in watts.iter().enumerate() {
                    if !watt.is_finite() || *watt < 0.0 {
                        return Err(invalid(
                            &format!("cpu_curve.watts[{index}]"),
                            watt.to_string(),
                            "a finite number of watts >= 0",
                        ));
                    }
                    if index > 0 && *watt < watts[index - 1] {
                        return Err(invalid(
                            &format!("cpu_curve.watts[{index}]"),
                            watt.to_string(),
                            "values that do not fall as load rises",
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Interpolates a table of 11 whole-node watts; returns `(idle, cpu dynamic)`.
fn table_power(watts: &[f64], u: f64) -> (f64, f64) {
    let Some(&idle) = watts.first() else {
        return (0.0, 0.0);
    };
    let steps = watts.len() - 1;
    if steps == 0 {
        return (idle, 0.0);
    }
    let position = u * steps as f64;
    let lower = (position.floor() as usize).min(steps - 1);
    let fraction = position - lower as f64;
    let watt = watts[lower] + (watts[lower + 1] - watts[lower]) * fraction;
    (idle, watt - idle)
}

/// A named power calibration as stored in a JSON file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerCalibration {
    /// Short name, for example `linear-default`.
    pub name: String,
    /// Source of the numbers and how far they can be trusted.
    pub description: String,
    /// The model.
    pub model: PowerModel,
}

impl PowerCalibration {
    /// Parses and validates a calibration; `source_name` (usually the file path) names it in
    /// errors.
    pub fn from_json(text: &str, source_name: &str) -> Result<Self, CoreError> {
        let calibration: PowerCalibration =
            serde_json::from_str(text).map_err(|error| CoreError::InvalidConfig {
                field: source_name.to_owned(),
                value: format!("text that does not parse ({error})"),
                expected: "a JSON object with `name`, `description` and `model` fields".to_owned(),
            })?;
        calibration.model.validate(source_name)?;
        Ok(calibration)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_model_defaults() {
        let model = PowerModel::default();
        assert_eq!(
            model.node_power(0.0, 0.0),
            NodePower {
                idle_w: 80.0,
                dynamic_w: 0.0
            }
        );
        assert_eq!(model.node_power(1.0, 1.0).dynamic_w, 180.0);
        assert_eq!(model.node_power(0.5, 0.25).dynamic_w, 75.0);
        assert_eq!(model.node_power(2.0, -1.0).dynamic_w, 120.0);
    }

    #[test]
    fn nonlinear_curve_is_concave() {
        let model = PowerModel {
            cpu_curve: CpuCurve::Nonlinear { exponent: 1.4 },
            memory_full_scale_w: 0.0,
            ..PowerModel::default()
        };
        let half = model.node_power(0.5, 0.0).dynamic_w;
        let expected = 120.0 * (1.0 - 0.5f64.powf(1.4));
        assert!((half - expected).abs() < 1e-9, "{half}");
        assert!(half > 60.0, "above the linear model at half load: {half}");
        assert!((model.node_power(1.0, 0.0).dynamic_w - 120.0).abs() < 1e-9);
        assert_eq!(model.node_power(0.0, 0.0).dynamic_w, 0.0);
    }

    #[test]
    fn table_interpolates_between_steps() {
        let watts: Vec<f64> = (0..=10).map(|step| 50.0 + 10.0 * f64::from(step)).collect();
        let model = PowerModel {
            cpu_curve: CpuCurve::Table { watts },
            memory_full_scale_w: 0.0,
            ..PowerModel::default()
        };
        let power = model.node_power(0.25, 0.0);
        assert_eq!(power.idle_w, 50.0);
        assert!((power.dynamic_w - 25.0).abs() < 1e-9, "{}", power.dynamic_w);
        assert!((model.node_power(1.0, 0.0).dynamic_w - 100.0).abs() < 1e-9);
        assert_eq!(model.effective_idle_w(), 50.0);
    }

    #[test]
    fn idle_fraction_keeps_peak() {
        for model in [
            PowerModel::default(),
            PowerModel {
                cpu_curve: CpuCurve::Nonlinear { exponent: 1.4 },
                ..PowerModel::default()
            },
            PowerModel {
                cpu_curve: CpuCurve::Table {
                    watts: vec![
                        60.0, 80.0, 95.0, 108.0, 120.0, 131.0, 142.0, 155.0, 170.0, 188.0, 210.0,
                    ],
                },
                ..PowerModel::default()
            },
        ] {
            let peak = model.peak_w();
            for fraction in [0.27, 0.5, 0.73] {
                let swept = model.with_idle_fraction(fraction);
                assert!((swept.peak_w() - peak).abs() < 1e-9, "{fraction}");
                assert!((swept.effective_idle_w() - fraction * peak).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn split_dynamic_by_cpu_share() {
        let power = NodePower {
            idle_w: 80.0,
            dynamic_w: 100.0,
        };
        assert_eq!(power.split_dynamic(1.0, 4.0), (25.0, 75.0));
        assert_eq!(power.split_dynamic(0.0, 0.0), (0.0, 100.0));
    }

    #[test]
    fn calibration_parses_and_rejects() {
        let text = r#"{"name":"x","description":"d","model":{"idle_w":80,"cpu_full_scale_w":120,
            "memory_full_scale_w":0,"cpu_curve":{"kind":"nonlinear","exponent":1.4}}}"#;
        let calibration = PowerCalibration::from_json(text, "x.json").expect("valid");
        assert_eq!(
            calibration.model.cpu_curve,
            CpuCurve::Nonlinear { exponent: 1.4 }
        );

        let short_table = r#"{"name":"x","description":"d","model":{"idle_w":0,
            "cpu_full_scale_w":0,"memory_full_scale_w":0,"cpu_curve":{"kind":"table","watts":[1,2]}}}"#;
        let error = PowerCalibration::from_json(short_table, "t.json").unwrap_err();
        assert!(error.to_string().contains("t.json"), "{error}");
        assert!(error.to_string().contains("11 values"), "{error}");

        let negative = text.replace("\"idle_w\":80", "\"idle_w\":-1");
        let error = PowerCalibration::from_json(&negative, "n.json").unwrap_err();
        assert!(
            error.to_string().contains("n.json: model.idle_w"),
            "{error}"
        );
        assert!(error.to_string().contains("is -1"), "{error}");

        let unknown = text.replace("\"name\"", "\"nme\"");
        let error = PowerCalibration::from_json(&unknown, "u.json").unwrap_err();
        assert!(error.to_string().contains("does not parse"), "{error}");
    }
}
