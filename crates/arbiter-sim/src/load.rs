//! The load generator: turns a trace series into per-tick demand.
//!
//! Demand is piecewise constant over each 300 s trace window, scaled by the
//! [`DemandMapping`], and multiplied per tick by log-normal noise with mean 1 drawn from a
//! generator seeded by the run seed. Both clusters of a comparison receive the same demand
//! sequence. A window whose row reported zero tasks, or that is absent from the trace, does not
//! describe the workload, so it repeats the last window that did.
//!
//! # Not modelled
//!
//! * Variation inside a 300 s window other than the per-tick noise: no request bursts, no
//!   diurnal shape finer than the trace's windows.
//! * Feedback from latency to demand: clients neither retry nor back off when the service is
//!   slow; only the load-generator cap removes demand.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use arbiter_core::series::WorkloadSeries;
use arbiter_core::stats::quantile;

use crate::SimError;
use crate::config::DemandMapping;

/// Demand of one workload during one tick.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Demand {
    /// CPU work arriving per second, in cores.
    pub cpu_cores: f64,
    /// Memory the in-flight work needs, in GiB, spread over the Ready pods.
    pub memory_gib: f64,
}

/// Scale factors a mapping resolved to for one series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ResolvedMapping {
    /// Cores per trace CPU unit.
    pub cores_per_unit: f64,
    /// GiB per trace memory unit.
    pub gib_per_unit: f64,
}

/// Replays one series as demand.
#[derive(Debug, Clone)]
pub struct LoadGenerator {
    series: WorkloadSeries,
    mapping: ResolvedMapping,
    noise_sigma: f64,
    rng: ChaCha8Rng,
    last_valid: Demand,
}

impl LoadGenerator {
    /// Creates a generator; `seed` drives the noise.
    pub fn new(
        series: WorkloadSeries,
        mapping: &DemandMapping,
        seed: u64,
    ) -> Result<Self, SimError> {
        if series.points.is_empty() {
            return Err(SimError::EmptySeries {
                workload: series.workload.clone(),
                file: series.source.clone(),
            });
        }
        let valid: Vec<_> = series
            .points
            .iter()
            .filter(|point| !point.flags.zero_tasks)
            .collect();
        let median = |values: Vec<f64>| quantile(&values, 0.5).filter(|median| *median > 0.0);
        let cpu_median = median(valid.iter().map(|point| point.cpu).collect());
        let memory_median = median(valid.iter().map(|point| point.memory).collect());
        let cores_per_unit = match (mapping.cores_per_unit, cpu_median) {
            (Some(factor), _) => factor,
            (None, Some(median)) => mapping.median_cores / median,
            (None, None) => {
                return Err(SimError::NoDemand {
                    workload: series.workload.clone(),
                    file: series.source.clone(),
                });
            }
        };
        let gib_per_unit = match (mapping.gib_per_unit, memory_median) {
            (Some(factor), _) => factor,
            (None, Some(median)) => mapping.median_memory_gib / median,
            (None, None) => 0.0,
        };
        let first = valid.first().map_or(Demand::default(), |point| Demand {
            cpu_cores: point.cpu * cores_per_unit,
            memory_gib: point.memory * gib_per_unit,
        });
        Ok(Self {
            series,
            mapping: ResolvedMapping {
                cores_per_unit,
                gib_per_unit,
            },
            noise_sigma: mapping.noise_sigma,
            rng: ChaCha8Rng::seed_from_u64(seed),
            last_valid: first,
        })
    }

    /// Keeps only the first `days` of the series, with the scale factors derived from the
    /// whole series, so that a shorter replay has the same demand at the same time.
    pub fn replaying_days(mut self, days: f64) -> Self {
        self.series = self.series.truncated_to_days(days);
        self
    }

    /// The scale factors in use.
    pub fn mapping(&self) -> ResolvedMapping {
        self.mapping
    }

    /// The replayed series.
    pub fn series(&self) -> &WorkloadSeries {
        &self.series
    }

    /// Returns the demand at `time_s` seconds after the series start. Call once per tick, in
    /// time order: every call draws noise.
    pub fn demand_at(&mut self, time_s: f64) -> Demand {
        if let Some(point) = self
            .series
            .point_at(time_s)
            .filter(|point| !point.flags.zero_tasks)
        {
            self.last_valid = Demand {
                cpu_cores: point.cpu * self.mapping.cores_per_unit,
                memory_gib: point.memory * self.mapping.gib_per_unit,
            };
        }
        let noise = self.lognormal_noise();
        Demand {
            cpu_cores: self.last_valid.cpu_cores * noise,
            memory_gib: self.last_valid.memory_gib * noise,
        }
    }

    /// Log-normal factor with mean 1, by the Box-Muller transform.
    fn lognormal_noise(&mut self) -> f64 {
        if self.noise_sigma <= 0.0 {
            return 1.0;
        }
        let u1: f64 = self.rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = self.rng.random::<f64>();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (self.noise_sigma * z - self.noise_sigma * self.noise_sigma / 2.0).exp()
    }
}
