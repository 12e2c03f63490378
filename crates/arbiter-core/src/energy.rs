//! Utilization-derived node power. Every figure it produces is an estimate, not a measurement.

use serde::{Deserialize, Serialize};

/// Linear node power model: `idle + cpu_full_scale * cpu_utilization + memory_full_scale *
/// memory_utilization`, with utilizations in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerModel {
    /// Power of an idle, powered-on node in watts. Default 80.
    pub idle_w: f64,
    /// Additional power at full CPU utilization in watts. Default 120.
    pub cpu_full_scale_w: f64,
    /// Additional power at full memory utilization in watts. Default 60.
    pub memory_full_scale_w: f64,
}

impl Default for PowerModel {
    fn default() -> Self {
        Self {
            idle_w: 80.0,
            cpu_full_scale_w: 120.0,
            memory_full_scale_w: 60.0,
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

impl PowerModel {
    /// Estimates a node's power from its CPU and memory utilization (clamped to [0, 1]).
    pub fn node_power(&self, cpu_utilization: f64, memory_utilization: f64) -> NodePower {
        NodePower {
            idle_w: self.idle_w,
            dynamic_w: self.cpu_full_scale_w * cpu_utilization.clamp(0.0, 1.0)
                + self.memory_full_scale_w * memory_utilization.clamp(0.0, 1.0),
        }
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
}
