//! Aggregation of raw trace records into per-collection series of 300 s windows, and the
//! series types that carry the result.
//!
//! Every usage record adds to the window its start time falls in, weighted by the share of
//! 300 s it covers (a record of 150 s counts half). So a window's CPU average is the
//! collection's mean usage over the window in NCU (the sum of its instances' means), and its
//! instance count is instance-seconds over 300 s. Maxima and percentiles are the same weighted
//! sums of per-instance values, an upper bound of the collection's own maximum or percentile,
//! because the instances need not peak together.

use std::collections::BTreeSet;
use std::str::FromStr;

use arbiter_core::features::EventCounts;
use arbiter_core::series::{
    BORG_WINDOW_S, PointFlags, QuirkReport, SeriesPoint, SpikePolicy, UsageUnit, WorkloadSeries,
};
use serde::{Deserialize, Serialize};

use crate::records::{EventKind, Resources, UsageRecord};

/// Microseconds per 300 s window.
pub(crate) const WINDOW_US: i64 = BORG_WINDOW_S * 1_000_000;

/// Priority bands of the Borg traces. In 2019: free (99 and below), best-effort batch
/// (110 to 115), mid-tier (116 to 119), production (120 to 359) and monitoring (360 and above);
/// priorities 100 to 109 belong to no band. In 2011, whose priorities run from 0 to 11: free
/// (0 and 1), mid-tier (2 to 8) and production (9 to 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PriorityBand {
    /// Free tier: no service level.
    Free,
    /// Best-effort batch (2019 only).
    BestEffortBatch,
    /// Mid-tier.
    MidTier,
    /// Production tier: latency-sensitive serving.
    Production,
    /// Monitoring (2019 only).
    Monitoring,
}

impl PriorityBand {
    /// Every band, in order of priority.
    pub const ALL: [PriorityBand; 5] = [
        Self::Free,
        Self::BestEffortBatch,
        Self::MidTier,
        Self::Production,
        Self::Monitoring,
    ];

    /// Returns the band's name, as accepted by `FromStr`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::BestEffortBatch => "best-effort-batch",
            Self::MidTier => "mid-tier",
            Self::Production => "production",
            Self::Monitoring => "monitoring",
        }
    }

    /// Returns the band of a priority in a trace of the given generation (2011 or 2019).
    pub fn of(priority: u32, generation: u16) -> Option<PriorityBand> {
        if generation == 2011 {
            return match priority {
                0..=1 => Some(Self::Free),
                2..=8 => Some(Self::MidTier),
                9..=11 => Some(Self::Production),
                _ => None,
            };
        }
        match priority {
            0..=99 => Some(Self::Free),
            110..=115 => Some(Self::BestEffortBatch),
            116..=119 => Some(Self::MidTier),
            120..=359 => Some(Self::Production),
            360.. => Some(Self::Monitoring),
            _ => None,
        }
    }
}

impl FromStr for PriorityBand {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|band| band.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|band| band.name()).collect();
                format!(
                    "unknown priority band {name:?}, expected one of: {}",
                    known.join(", ")
                )
            })
    }
}

/// Filter of the collections and windows to keep. An empty set keeps everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeriesFilter {
    /// Cells to keep, by name (`a` to `h` for 2019, `2011` for the 2011 trace).
    pub cells: BTreeSet<String>,
    /// Collections (2019) or jobs (2011) to keep.
    pub collections: BTreeSet<u64>,
    /// Priority bands to keep. A collection whose priority no event reported is dropped when
    /// this is set.
    pub priority_bands: BTreeSet<PriorityBand>,
    /// Scheduling classes (0 to 3) to keep. A collection whose class no event reported is
    /// dropped when this is set.
    pub scheduling_classes: BTreeSet<u8>,
    /// Keep records at or after this time, in microseconds since the trace epoch.
    pub start_us: Option<i64>,
    /// Keep records before this time, in microseconds since the trace epoch.
    pub end_us: Option<i64>,
}

impl SeriesFilter {
    /// Tells whether a record of this cell, collection and time passes the filter.
    pub(crate) fn keeps_record(&self, cell: &str, collection_id: u64, time_us: i64) -> bool {
        (self.cells.is_empty() || self.cells.contains(cell))
            && (self.collections.is_empty() || self.collections.contains(&collection_id))
            && self.start_us.is_none_or(|start| time_us >= start)
            && self.end_us.is_none_or(|end| time_us < end)
    }

    /// Tells whether a collection with these attributes passes the priority and class filters.
    pub(crate) fn keeps_collection(
        &self,
        attributes: &CollectionAttributes,
        generation: u16,
    ) -> bool {
        let band_ok = self.priority_bands.is_empty()
            || attributes
                .priority
                .and_then(|priority| PriorityBand::of(priority, generation))
                .is_some_and(|band| self.priority_bands.contains(&band));
        let class_ok = self.scheduling_classes.is_empty()
            || attributes
                .scheduling_class
                .is_some_and(|class| self.scheduling_classes.contains(&class));
        band_ok && class_ok
    }
}

/// A collection's scheduling attributes, from its latest event that carries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CollectionAttributes {
    pub(crate) time_us: i64,
    pub(crate) scheduling_class: Option<u8>,
    pub(crate) priority: Option<u32>,
}

impl CollectionAttributes {
    /// Keeps the later of two observations, and fills what the later lacks from the earlier.
    pub(crate) fn merge(&mut self, other: CollectionAttributes) {
        let (earlier, later) = if other.time_us >= self.time_us {
            (*self, other)
        } else {
            (other, *self)
        };
        *self = CollectionAttributes {
            time_us: later.time_us,
            scheduling_class: later.scheduling_class.or(earlier.scheduling_class),
            priority: later.priority.or(earlier.priority),
        };
    }
}

/// Units of a [`Sum`] per 1.0.
const SUM_SCALE: f64 = 1e15;

/// A sum of non-negative values in fixed point (1e-15 resolution), so that the total does not
/// depend on the order in which worker threads add and merge their parts, as a float sum would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Sum(i128);

impl Sum {
    fn add(&mut self, value: f64) {
        // The cast saturates, and the readers reject values that are not finite.
        self.0 += (value * SUM_SCALE).round() as i128;
    }

    fn merge(&mut self, other: Sum) {
        self.0 += other.0;
    }

    fn value(self) -> f64 {
        self.0 as f64 / SUM_SCALE
    }
}

/// Running sums of one collection's window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct WindowSums {
    usage_records: u32,
    percentile_records: u32,
    request_records: u32,
    any_event: bool,
    events: EventCounts,
    /// In order: instance windows, CPU average, CPU maximum, memory average, memory maximum,
    /// assigned memory, page cache, p50, p90, p99, CPI, CPI weight, MAI, MAI weight, CPU
    /// request, memory request.
    sums: [Sum; 16],
}

const INSTANCE_WINDOWS: usize = 0;
const CPU_AVERAGE: usize = 1;
const CPU_MAXIMUM: usize = 2;
const MEMORY_AVERAGE: usize = 3;
const MEMORY_MAXIMUM: usize = 4;
const ASSIGNED_MEMORY: usize = 5;
const PAGE_CACHE: usize = 6;
const CPU_P50: usize = 7;
const CPU_P90: usize = 8;
const CPU_P99: usize = 9;
const CPI: usize = 10;
const CPI_WEIGHT: usize = 11;
const MAI: usize = 12;
const MAI_WEIGHT: usize = 13;
const CPU_REQUEST: usize = 14;
const MEMORY_REQUEST: usize = 15;

impl WindowSums {
    /// Adds a usage record, with the request of its instance when known.
    pub(crate) fn add_usage(&mut self, usage: &UsageRecord, request: Option<Resources>) {
        let duration_us = (usage.end_us - usage.start_us).clamp(0, WINDOW_US);
        let weight = duration_us as f64 / WINDOW_US as f64;
        let sums = &mut self.sums;
        let mut add =
            |index: usize, value: Option<f64>| sums[index].add(value.unwrap_or(0.0) * weight);

        self.usage_records += 1;
        add(INSTANCE_WINDOWS, Some(1.0));
        add(CPU_AVERAGE, usage.average.cpus);
        add(CPU_MAXIMUM, usage.maximum.cpus);
        add(MEMORY_AVERAGE, usage.average.memory);
        add(MEMORY_MAXIMUM, usage.maximum.memory);
        add(ASSIGNED_MEMORY, usage.assigned_memory);
        add(PAGE_CACHE, usage.page_cache_memory);
        if let (Some(p50), Some(p90), Some(p99)) =
            (usage.cpu_p50(), usage.cpu_p90(), usage.cpu_p99())
        {
            self.percentile_records += 1;
            add(CPU_P50, Some(p50));
            add(CPU_P90, Some(p90));
            add(CPU_P99, Some(p99));
        }
        if let Some(cpi) = usage.cycles_per_instruction {
            add(CPI, Some(cpi));
            add(CPI_WEIGHT, Some(1.0));
        }
        if let Some(mai) = usage.memory_accesses_per_instruction {
            add(MAI, Some(mai));
            add(MAI_WEIGHT, Some(1.0));
        }
        if let Some(request) = request {
            self.request_records += 1;
            add(CPU_REQUEST, request.cpus);
            add(MEMORY_REQUEST, request.memory);
        }
    }

    /// Counts an event of one of the collection's instances.
    pub(crate) fn add_event(&mut self, kind: EventKind) {
        self.any_event = true;
        let counter = match kind {
            EventKind::Evict => &mut self.events.evictions,
            EventKind::Fail => &mut self.events.failures,
            EventKind::Kill => &mut self.events.kills,
            EventKind::Lost => &mut self.events.losses,
            _ => return,
        };
        *counter = counter.saturating_add(1);
    }

    pub(crate) fn merge(&mut self, other: &WindowSums) {
        self.usage_records += other.usage_records;
        self.percentile_records += other.percentile_records;
        self.request_records += other.request_records;
        self.any_event |= other.any_event;
        self.events.evictions = self.events.evictions.saturating_add(other.events.evictions);
        self.events.failures = self.events.failures.saturating_add(other.events.failures);
        self.events.kills = self.events.kills.saturating_add(other.events.kills);
        self.events.losses = self.events.losses.saturating_add(other.events.losses);
        for (mine, theirs) in self.sums.iter_mut().zip(other.sums) {
            mine.merge(theirs);
        }
    }

    /// Closes the window into a point starting at `start_s`.
    pub(crate) fn point(&self, start_s: i64) -> CollectionPoint {
        let sum = |index: usize| self.sums[index].value();
        let all = |records: u32| self.usage_records > 0 && records == self.usage_records;
        let mean = |total: usize, weight: usize| {
            (self.sums[weight].0 > 0).then(|| sum(total) / sum(weight))
        };
        let percentile = |index: usize| all(self.percentile_records).then(|| sum(index));
        let request = |index: usize| all(self.request_records).then(|| sum(index));
        CollectionPoint {
            start_s,
            usage_records: self.usage_records,
            instances: sum(INSTANCE_WINDOWS),
            cpu_average: sum(CPU_AVERAGE),
            cpu_maximum: sum(CPU_MAXIMUM),
            cpu_p50: percentile(CPU_P50),
            cpu_p90: percentile(CPU_P90),
            cpu_p99: percentile(CPU_P99),
            memory_average: sum(MEMORY_AVERAGE),
            memory_maximum: sum(MEMORY_MAXIMUM),
            assigned_memory: sum(ASSIGNED_MEMORY),
            page_cache_memory: sum(PAGE_CACHE),
            cycles_per_instruction: mean(CPI, CPI_WEIGHT),
            memory_accesses_per_instruction: mean(MAI, MAI_WEIGHT),
            cpu_request: request(CPU_REQUEST),
            memory_request: request(MEMORY_REQUEST),
            evictions: self.events.evictions,
            failures: self.events.failures,
            kills: self.events.kills,
            losses: self.events.losses,
        }
    }
}

/// One 300 s window of a collection. Usage is in NCU (normalized to the largest machine of the
/// trace): CPU in core-seconds per second, memory as a share of that machine's memory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CollectionPoint {
    /// Window start in seconds since the trace epoch, a multiple of 300.
    pub start_s: i64,
    /// Usage records that fell in the window; 0 for a window with events only.
    pub usage_records: u32,
    /// Mean running instances: instance-seconds of usage records over 300 s.
    pub instances: f64,
    /// Mean CPU usage of the collection.
    pub cpu_average: f64,
    /// Sum of the instances' maximum CPU usage, an upper bound of the collection's maximum.
    pub cpu_maximum: f64,
    /// Sum of the instances' median CPU usage; `None` unless every record of the window has a
    /// CPU distribution (2011 has none).
    pub cpu_p50: Option<f64>,
    /// Sum of the instances' p90 CPU usage, as for `cpu_p50`.
    pub cpu_p90: Option<f64>,
    /// Sum of the instances' p99 CPU usage, as for `cpu_p50`.
    pub cpu_p99: Option<f64>,
    /// Mean memory usage of the collection.
    pub memory_average: f64,
    /// Sum of the instances' maximum memory usage.
    pub memory_maximum: f64,
    /// Memory assigned to the instances.
    pub assigned_memory: f64,
    /// Page cache memory of the instances (2011: total page cache).
    pub page_cache_memory: f64,
    /// Cycles per instruction, the mean over the records that measured it.
    pub cycles_per_instruction: Option<f64>,
    /// Memory accesses per instruction, the mean over the records that measured it.
    pub memory_accesses_per_instruction: Option<f64>,
    /// Summed CPU request (a limit in Borg) of the instances. It is `None` unless an instance
    /// or task event gave the request of every record's instance.
    pub cpu_request: Option<f64>,
    /// Summed memory request of the instances, as for `cpu_request`.
    pub memory_request: Option<f64>,
    /// EVICT events in the window.
    pub evictions: u32,
    /// FAIL events in the window.
    pub failures: u32,
    /// KILL events in the window.
    pub kills: u32,
    /// LOST events in the window.
    pub losses: u32,
}

/// One collection's (2019) or job's (2011) usage, one point per 300 s window with usage or
/// events, in time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollectionSeries {
    /// Cell name: `a` to `h` for 2019 when the file path names it, `2011` for the 2011 trace,
    /// empty when unknown.
    pub cell: String,
    /// Collection (2019) or job (2011) ID.
    pub collection_id: u64,
    /// Trace generation, 2011 or 2019.
    pub generation: u16,
    /// Format of the usage records.
    pub format: String,
    /// Unit of the usage values.
    pub unit: UsageUnit,
    /// Scheduling class (0 to 3) from the latest event, when an event was read.
    pub scheduling_class: Option<u8>,
    /// Priority from the latest event, when an event carrying it was read.
    pub priority: Option<u32>,
    /// Whether event records were read, so that zero event counts mean no events rather than
    /// no data.
    pub events_read: bool,
    /// The windows.
    pub points: Vec<CollectionPoint>,
}

impl CollectionSeries {
    /// Returns the workload name: `job-<id>` for 2011, `collection-<id>` for 2019, prefixed by
    /// `<cell>/` when the cell is known.
    pub fn workload(&self) -> String {
        let kind = if self.generation == 2011 {
            "job"
        } else {
            "collection"
        };
        match self.cell.as_str() {
            "" | "2011" => format!("{kind}-{}", self.collection_id),
            cell => format!("{cell}/{kind}-{}", self.collection_id),
        }
    }

    /// Converts the series for the simulator: CPU average and memory average per window, and
    /// the instance count rounded to whole tasks. Windows with events but no usage are left
    /// out and counted in [`QuirkReport::gap_windows`] with the other absent windows.
    pub fn to_workload_series(&self, source: &str) -> WorkloadSeries {
        let points: Vec<SeriesPoint> = self
            .points
            .iter()
            .filter(|point| point.usage_records > 0)
            .map(|point| {
                let tasks = point.instances.round().clamp(0.0, f64::from(u32::MAX)) as u32;
                SeriesPoint {
                    start_s: point.start_s,
                    cpu: point.cpu_average,
                    memory: point.memory_average,
                    tasks: Some(tasks),
                    flags: PointFlags {
                        zero_tasks: tasks == 0,
                        ..PointFlags::default()
                    },
                }
            })
            .collect();
        let gap_windows = points
            .windows(2)
            .map(|pair| ((pair[1].start_s - pair[0].start_s) / BORG_WINDOW_S - 1).max(0) as usize)
            .sum();
        let zero_task_windows = points.iter().filter(|point| point.flags.zero_tasks).count();
        WorkloadSeries {
            workload: self.workload(),
            source: source.to_owned(),
            format: self.format.clone(),
            window_s: BORG_WINDOW_S,
            unit: self.unit,
            points,
            quirks: QuirkReport {
                zero_task_windows,
                spike_windows: 0,
                spike_policy: SpikePolicy::Flag,
                grid_offset_s: 0,
                gap_windows,
            },
        }
    }
}
