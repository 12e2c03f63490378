//! The records every raw reader yields, independent of the trace generation: a usage window of
//! one instance, an instance event, a collection event or a machine event.

use serde::{Deserialize, Serialize};

/// CPU and memory, normalized to the largest machine of the trace (CPU in NCU); `None` where
/// the trace has no value.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Resources {
    /// CPU in NCU (core-seconds per second for usage).
    pub cpus: Option<f64>,
    /// Memory, normalized.
    pub memory: Option<f64>,
}

/// Kind of an event of an instance (2019) or task (2011), in the official enum's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventKind {
    /// Submitted to the scheduler.
    Submit,
    /// Queued until resources are available (2019 only).
    Queue,
    /// Eligible for scheduling (2019 only).
    Enable,
    /// Placed on a machine.
    Schedule,
    /// Descheduled for a higher-priority workload or a machine change.
    Evict,
    /// Descheduled by a failure of the instance.
    Fail,
    /// Completed normally.
    Finish,
    /// Cancelled by the user or a dependency.
    Kill,
    /// Ended without a record of why.
    Lost,
    /// Its request changed while pending.
    UpdatePending,
    /// Its request changed while running.
    UpdateRunning,
}

impl EventKind {
    /// The 2019 enum (format v3), in code order: code `i` is `CODES_2019[i]`.
    pub const CODES_2019: [EventKind; 11] = [
        Self::Submit,
        Self::Queue,
        Self::Enable,
        Self::Schedule,
        Self::Evict,
        Self::Fail,
        Self::Finish,
        Self::Kill,
        Self::Lost,
        Self::UpdatePending,
        Self::UpdateRunning,
    ];

    /// The 2011 enum (format v2.1), in code order. It has no QUEUE or ENABLE, so its codes
    /// differ from 2019's from 1 on.
    pub const CODES_2011: [EventKind; 9] = [
        Self::Submit,
        Self::Schedule,
        Self::Evict,
        Self::Fail,
        Self::Finish,
        Self::Kill,
        Self::Lost,
        Self::UpdatePending,
        Self::UpdateRunning,
    ];

    /// Returns the event of a 2019 code, or `None` for a code outside 0 to 10.
    pub fn from_code_2019(code: i64) -> Option<EventKind> {
        usize::try_from(code)
            .ok()
            .and_then(|code| Self::CODES_2019.get(code).copied())
    }

    /// Returns the event of a 2011 code, or `None` for a code outside 0 to 8.
    pub fn from_code_2011(code: i64) -> Option<EventKind> {
        usize::try_from(code)
            .ok()
            .and_then(|code| Self::CODES_2011.get(code).copied())
    }

    /// Returns the official name, as the trace documentation spells it (`UPDATE_PENDING`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Submit => "SUBMIT",
            Self::Queue => "QUEUE",
            Self::Enable => "ENABLE",
            Self::Schedule => "SCHEDULE",
            Self::Evict => "EVICT",
            Self::Fail => "FAIL",
            Self::Finish => "FINISH",
            Self::Kill => "KILL",
            Self::Lost => "LOST",
            Self::UpdatePending => "UPDATE_PENDING",
            Self::UpdateRunning => "UPDATE_RUNNING",
        }
    }
}

/// One usage measurement of one instance (2019) or task (2011) over a window of its life.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UsageRecord {
    /// Window start in microseconds since the trace epoch.
    pub start_us: i64,
    /// Window end in microseconds; usually 300 s after the start, shorter when the instance
    /// starts, stops or changes.
    pub end_us: i64,
    /// The instance's collection (2019) or job (2011).
    pub collection_id: u64,
    /// Index of the instance within its collection.
    pub instance_index: u64,
    /// Machine that ran the instance, 0 when absent.
    pub machine_id: u64,
    /// Mean usage over the window.
    pub average: Resources,
    /// Maximum usage over the window.
    pub maximum: Resources,
    /// Memory assigned to the instance.
    pub assigned_memory: Option<f64>,
    /// Page cache memory (2011: total page cache).
    pub page_cache_memory: Option<f64>,
    /// Cycles per instruction, where measured.
    pub cycles_per_instruction: Option<f64>,
    /// Memory accesses per instruction, where measured.
    pub memory_accesses_per_instruction: Option<f64>,
    /// CPU usage percentiles 0, 10, ..., 100 (2019 only); empty where absent.
    pub cpu_distribution: Vec<f64>,
    /// CPU usage percentiles 91 to 99 (2019 only); empty where absent.
    pub tail_cpu_distribution: Vec<f64>,
}

impl UsageRecord {
    /// Returns the median (p50) CPU usage of the window, from `cpu_distribution`.
    pub fn cpu_p50(&self) -> Option<f64> {
        self.cpu_distribution.get(5).copied()
    }

    /// Returns the p90 CPU usage of the window, from `cpu_distribution`.
    pub fn cpu_p90(&self) -> Option<f64> {
        self.cpu_distribution.get(9).copied()
    }

    /// Returns the p99 CPU usage of the window, from `tail_cpu_distribution`.
    pub fn cpu_p99(&self) -> Option<f64> {
        self.tail_cpu_distribution.get(8).copied()
    }
}

/// An event of one instance (2019 `instance_events`) or task (2011 `task_events`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct InstanceEventRecord {
    /// Event time in microseconds since the trace epoch; 0 is before the trace and `i64::MAX`
    /// after it.
    pub time_us: i64,
    /// The event.
    pub kind: Option<EventKind>,
    /// The instance's collection or job.
    pub collection_id: u64,
    /// Index of the instance within its collection.
    pub instance_index: u64,
    /// Machine of the instance, 0 when absent.
    pub machine_id: u64,
    /// Latency sensitivity, 0 (least) to 3 (most).
    pub scheduling_class: u8,
    /// Scheduling priority; higher wins.
    pub priority: u32,
    /// Requested resources, which Borg enforces as limits.
    pub request: Resources,
}

/// An event of a whole collection (2019 `collection_events`) or job (2011 `job_events`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CollectionEventRecord {
    /// Event time in microseconds since the trace epoch.
    pub time_us: i64,
    /// The event.
    pub kind: Option<EventKind>,
    /// The collection or job.
    pub collection_id: u64,
    /// Latency sensitivity, 0 (least) to 3 (most).
    pub scheduling_class: u8,
    /// Scheduling priority; 2011 has none in `job_events`.
    pub priority: Option<u32>,
}

/// An event of a machine: added, removed or updated.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MachineEventRecord {
    /// Event time in microseconds since the trace epoch.
    pub time_us: i64,
    /// The machine.
    pub machine_id: u64,
    /// The machine's capacity, normalized.
    pub capacity: Resources,
}

/// One parsed line (or, for the joined extract, one record) of a raw trace.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A usage window.
    Usage(UsageRecord),
    /// An instance or task event.
    InstanceEvent(InstanceEventRecord),
    /// A collection or job event.
    CollectionEvent(CollectionEventRecord),
    /// A machine event.
    MachineEvent(MachineEventRecord),
}
