//! Reading many raw trace files in parallel into per-collection series and an inspection
//! report, with memory bounded by the aggregation state rather than the input size.
//!
//! Files are read by producer threads (one per file at a time, decompressing gzip) into blocks
//! of whole lines, which worker threads parse and aggregate into private partial states that
//! are merged at the end. At most two blocks per worker wait in the queue, so memory is the
//! aggregation state (windows, collections, instance requests, machines) plus a few blocks per
//! thread. The read runs in two phases: event tables first, so that usage records can be
//! joined with the request (limit) of their instance, then usage tables.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use arbiter_core::series::{UsageUnit, WorkloadSeries};
use serde::Serialize;

use crate::aggregate::{
    CollectionAttributes, CollectionSeries, SeriesFilter, WINDOW_US, WindowSums,
};
use crate::error::{Location, TraceError};
use crate::format::{TraceFormat, detect_format};
use crate::input::{
    Block, BlockStop, Progress, cell_from_path, expand_inputs, is_gzip, open, read_blocks,
};
use crate::line_error::{LineError, Missing};
use crate::records::{EventKind, InstanceEventRecord, Record, Resources};
use crate::{ReadOptions, csv_2011, joined, json_2019};

/// Bad lines kept as examples in an [`InspectReport`].
const BAD_LINE_EXAMPLES: usize = 10;

/// Settings for [`ingest`].
#[derive(Clone, Default)]
pub struct IngestOptions {
    /// Format of every input file; `None` detects each file's format from its first line.
    pub format: Option<TraceFormat>,
    /// Count and skip bad lines (and the damaged end of a truncated gzip file) instead of
    /// stopping at the first.
    pub skip_bad_lines: bool,
    /// Worker threads; 0 uses the available parallelism.
    pub threads: usize,
    /// Filter of the collections and windows kept in the series. The report counts every record.
    pub filter: SeriesFilter,
    /// Receives the input bytes read, for a progress bar.
    pub progress: Option<Progress>,
    /// Bytes per parsing block; 0 uses 4 MiB.
    pub block_bytes: usize,
    /// Settings for the aggregated formats, read whole with [`crate::read_series`].
    pub read_options: ReadOptions,
}

impl std::fmt::Debug for IngestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestOptions")
            .field("format", &self.format)
            .field("skip_bad_lines", &self.skip_bad_lines)
            .field("threads", &self.threads)
            .field("filter", &self.filter)
            .field("progress", &self.progress.is_some())
            .field("block_bytes", &self.block_bytes)
            .finish()
    }
}

/// Report of `arbiter trace inspect`: the shape of the input and the quality of its lines.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct InspectReport {
    /// The format of the files, or `mixed` when they differ (see `formats`).
    pub format: String,
    /// Files per format.
    pub formats: BTreeMap<String, usize>,
    /// Files read.
    pub files: usize,
    /// Whether any file was gzipped.
    pub gzipped_files: usize,
    /// Records read without error (data rows; a joined extract record spans several lines).
    pub rows: u64,
    /// Distinct collections (2019) or jobs (2011), per cell.
    pub collections: u64,
    /// Distinct machines named by any record.
    pub machines: u64,
    /// Earliest time in microseconds since the trace epoch, without the before-trace time 0.
    pub first_time_us: Option<i64>,
    /// Latest time in microseconds, without the after-trace time 2^63-1.
    pub last_time_us: Option<i64>,
    /// Records at time 0, before the trace began.
    pub times_before_trace: u64,
    /// Records at time 2^63-1, after the trace ended.
    pub times_after_trace: u64,
    /// Lines skipped as bad (with `skip_bad_lines`).
    pub bad_lines: u64,
    /// The first bad lines, with file, line and problem.
    pub bad_line_examples: Vec<String>,
    /// Absent optional fields, per `format.field`.
    pub missing_values: BTreeMap<String, u64>,
}

/// The result of [`ingest`].
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    /// Shape and quality of the input.
    pub report: InspectReport,
    /// Per-collection series of the raw inputs, sorted by cell and collection, after the filter.
    pub series: Vec<CollectionSeries>,
    /// Series of the aggregated inputs (job series, cell aggregate), one per file.
    pub aggregated: Vec<WorkloadSeries>,
}

/// A cell as the aggregation keys it: its name and the trace generation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Cell {
    name: String,
    generation: u16,
}

/// One input file and what is known about it before reading.
#[derive(Debug, Clone)]
struct InputFile {
    path: PathBuf,
    format: TraceFormat,
    cell: u32,
}

type CollectionKey = (u32, u64);
type WindowKey = (u32, u64, i64);
type InstanceKey = (u32, u64, u64);

/// Requests (limits) of instances, from their latest event that carries one.
type Requests = HashMap<InstanceKey, (i64, Resources)>;

/// Counts for the report, built per worker and merged.
#[derive(Debug, Default)]
struct Stats {
    rows: u64,
    first_time_us: Option<i64>,
    last_time_us: Option<i64>,
    before_trace: u64,
    after_trace: u64,
    collections: HashSet<CollectionKey>,
    machines: HashSet<u64>,
    missing: HashMap<TraceFormat, [u64; 64]>,
    bad_lines: u64,
    bad_examples: Vec<(usize, usize, String)>,
    instance_events: u64,
}

impl Stats {
    fn observe_time(&mut self, time_us: i64) {
        if time_us == 0 {
            self.before_trace += 1;
        } else if time_us == i64::MAX {
            self.after_trace += 1;
        } else {
            self.first_time_us = Some(
                self.first_time_us
                    .map_or(time_us, |first| first.min(time_us)),
            );
            self.last_time_us = Some(self.last_time_us.map_or(time_us, |last| last.max(time_us)));
        }
    }

    fn count_missing(&mut self, format: TraceFormat, missing: Missing) {
        if missing.0 == 0 {
            return;
        }
        let counts = self.missing.entry(format).or_insert([0; 64]);
        let mut bits = missing.0;
        while bits != 0 {
            let bit = bits.trailing_zeros() as usize;
            counts[bit] += 1;
            bits &= bits - 1;
        }
    }

    fn bad_line(&mut self, file: usize, line: usize, message: String) {
        self.bad_lines += 1;
        if self.bad_examples.len() < BAD_LINE_EXAMPLES {
            self.bad_examples.push((file, line, message));
        }
    }

    fn merge(&mut self, other: Stats) {
        self.rows += other.rows;
        for time in [other.first_time_us, other.last_time_us]
            .into_iter()
            .flatten()
        {
            self.observe_time(time);
        }
        self.before_trace += other.before_trace;
        self.after_trace += other.after_trace;
        self.collections.extend(other.collections);
        self.machines.extend(other.machines);
        for (format, counts) in other.missing {
            let mine = self.missing.entry(format).or_insert([0; 64]);
            for (mine, theirs) in mine.iter_mut().zip(counts) {
                *mine += theirs;
            }
        }
        self.bad_lines += other.bad_lines;
        self.bad_examples.extend(other.bad_examples);
        self.bad_examples.sort();
        self.bad_examples.truncate(BAD_LINE_EXAMPLES);
        self.instance_events += other.instance_events;
    }
}

/// The aggregation state of one worker.
#[derive(Debug, Default)]
struct Partial {
    windows: HashMap<WindowKey, WindowSums>,
    attributes: HashMap<CollectionKey, CollectionAttributes>,
    requests: Requests,
    stats: Stats,
    /// The first error met: file index, line and error.
    error: Option<(usize, usize, TraceError)>,
}

impl Partial {
    fn merge(&mut self, other: Partial) {
        for (key, sums) in other.windows {
            self.windows.entry(key).or_default().merge(&sums);
        }
        for (key, attributes) in other.attributes {
            self.attributes
                .entry(key)
                .or_insert(attributes)
                .merge(attributes);
        }
        merge_requests(&mut self.requests, other.requests);
        self.stats.merge(other.stats);
        self.keep_first_error(other.error);
    }

    fn keep_first_error(&mut self, error: Option<(usize, usize, TraceError)>) {
        let Some(error) = error else { return };
        let earlier = self
            .error
            .as_ref()
            .is_none_or(|mine| (error.0, error.1) < (mine.0, mine.1));
        if earlier {
            self.error = Some(error);
        }
    }
}

fn merge_requests(into: &mut Requests, from: Requests) {
    for (key, (time, request)) in from {
        let entry = into.entry(key).or_insert((time, request));
        if time >= entry.0 {
            *entry = (time, request);
        }
    }
}

/// State shared by every worker of a phase.
struct Context<'a> {
    files: &'a [InputFile],
    cells: &'a [Cell],
    options: &'a IngestOptions,
    requests: &'a Requests,
    abort: &'a AtomicBool,
}

/// Reads the trace files named by `inputs` (files, directories or glob patterns) into
/// per-collection series and an inspection report.
///
/// # Errors
/// [`TraceError::NoInput`] when an input names no file, [`TraceError::UndetectedFormat`] when
/// a file's format cannot be detected, and the first bad line's error (file, line and field)
/// unless `skip_bad_lines` is set. A truncated gzip file is an error naming the line where the
/// damage begins, or with `skip_bad_lines` one bad line with the lines before it kept.
pub fn ingest(inputs: &[PathBuf], options: &IngestOptions) -> Result<Ingested, TraceError> {
    let paths = expand_inputs(inputs)?;
    let mut cells: Vec<Cell> = Vec::new();
    let mut files = Vec::new();
    let mut aggregated_paths = Vec::new();
    for path in paths {
        let format = match options.format {
            Some(format) => format,
            None => detect_format(&path)?,
        };
        if format.is_aggregated() {
            aggregated_paths.push((path, format));
            continue;
        }
        let cell = Cell {
            name: match format.generation() {
                2011 => "2011".to_owned(),
                _ => cell_from_path(&path).unwrap_or_default(),
            },
            generation: format.generation(),
        };
        let cell_index = match cells.iter().position(|known| *known == cell) {
            Some(index) => index,
            None => {
                cells.push(cell);
                cells.len() - 1
            }
        } as u32;
        files.push(InputFile {
            path,
            format,
            cell: cell_index,
        });
    }

    let mut report = InspectReport::default();
    for file in &files {
        *report
            .formats
            .entry(file.format.name().to_owned())
            .or_default() += 1;
        report.gzipped_files += usize::from(is_gzip(&file.path));
    }
    let aggregated = read_aggregated(&aggregated_paths, options, &mut report)?;

    let events: Vec<InputFile> = files
        .iter()
        .filter(|file| !file.format.has_usage() || file.format == TraceFormat::JoinedExtract2019)
        .cloned()
        .collect();
    let usage: Vec<InputFile> = files
        .iter()
        .filter(|file| file.format.has_usage() && file.format != TraceFormat::JoinedExtract2019)
        .cloned()
        .collect();
    let no_requests = Requests::new();
    let mut state = run_phase(&events, &cells, options, &no_requests)?;
    let requests = std::mem::take(&mut state.requests);
    let usage_state = run_phase(&usage, &cells, options, &requests)?;
    state.merge(usage_state);

    finish_report(&mut report, &files, &aggregated_paths, &state);
    report_aggregated(&mut report, &aggregated);
    let usage_formats: Vec<&str> = {
        let mut names: Vec<&str> = files
            .iter()
            .filter(|file| file.format.has_usage())
            .map(|file| file.format.name())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    };
    let series = build_series(state, &cells, &options.filter, &usage_formats.join("+"));
    Ok(Ingested {
        report,
        series,
        aggregated,
    })
}

/// Reads the aggregated files whole and adds them to the report.
fn read_aggregated(
    paths: &[(PathBuf, TraceFormat)],
    options: &IngestOptions,
    report: &mut InspectReport,
) -> Result<Vec<WorkloadSeries>, TraceError> {
    let mut all = Vec::new();
    for (path, format) in paths {
        *report.formats.entry(format.name().to_owned()).or_default() += 1;
        let series = crate::read_series(path, Some(*format), &options.read_options)?;
        if let Some(progress) = &options.progress {
            progress(std::fs::metadata(path).map_or(0, |meta| meta.len()));
        }
        all.extend(series);
    }
    Ok(all)
}

fn finish_report(
    report: &mut InspectReport,
    files: &[InputFile],
    aggregated: &[(PathBuf, TraceFormat)],
    state: &Partial,
) {
    let stats = &state.stats;
    report.files = files.len() + aggregated.len();
    report.format = match report.formats.len() {
        1 => report.formats.keys().next().cloned().unwrap_or_default(),
        _ => "mixed".to_owned(),
    };
    report.rows = stats.rows;
    report.collections = stats.collections.len() as u64;
    report.machines = stats.machines.len() as u64;
    report.first_time_us = stats.first_time_us;
    report.last_time_us = stats.last_time_us;
    report.times_before_trace = stats.before_trace;
    report.times_after_trace = stats.after_trace;
    report.bad_lines = stats.bad_lines;
    report.bad_line_examples = stats
        .bad_examples
        .iter()
        .map(|(file, line, message)| format!("{}:{line}: {message}", files[*file].path.display()))
        .collect();
    for (format, counts) in &stats.missing {
        for (field, count) in format.counted_fields().iter().zip(counts) {
            if *count > 0 {
                report
                    .missing_values
                    .insert(format!("{}.{field}", format.name()), *count);
            }
        }
    }
}

/// Adds the aggregated series to the report. Each is one workload without machines, and its
/// rows are its windows, at their times as written (before alignment to the 300 s grid).
fn report_aggregated(report: &mut InspectReport, aggregated: &[WorkloadSeries]) {
    for series in aggregated {
        report.rows += series.points.len() as u64;
        report.collections += 1;
        let offset_s = series.quirks.grid_offset_s;
        let times = series
            .points
            .iter()
            .map(|point| (point.start_s + offset_s) * 1_000_000);
        for time_us in times {
            report.first_time_us = Some(
                report
                    .first_time_us
                    .map_or(time_us, |first| first.min(time_us)),
            );
            report.last_time_us = Some(
                report
                    .last_time_us
                    .map_or(time_us, |last| last.max(time_us)),
            );
        }
    }
}

/// Runs one phase over `files` and returns the merged state.
fn run_phase(
    files: &[InputFile],
    cells: &[Cell],
    options: &IngestOptions,
    requests: &Requests,
) -> Result<Partial, TraceError> {
    if files.is_empty() {
        return Ok(Partial::default());
    }
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        threads => threads,
    };
    let block_bytes = match options.block_bytes {
        0 => 4 << 20,
        bytes => bytes,
    };
    let producers = threads.min(files.len());
    let abort = AtomicBool::new(false);
    let next_file = AtomicUsize::new(0);
    let (sender, receiver) = sync_channel::<Block>(threads * 2);
    let receiver = Mutex::new(receiver);
    let producer_state = Mutex::new(Partial::default());
    let context = Context {
        files,
        cells,
        options,
        requests,
        abort: &abort,
    };

    let mut state = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| work(&receiver, &context)))
            .collect();
        for _ in 0..producers {
            let sender = sender.clone();
            let (next_file, producer_state, context) = (&next_file, &producer_state, &context);
            scope.spawn(move || produce(sender, next_file, block_bytes, producer_state, context));
        }
        drop(sender);
        let mut state = Partial::default();
        for worker in workers {
            match worker.join() {
                Ok(partial) => state.merge(partial),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        state
    });
    let producer_state = producer_state
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner());
    state.merge(producer_state);
    match state.error.take() {
        Some((_, _, error)) => Err(error),
        None => Ok(state),
    }
}

/// Reads files, one at a time, into blocks for the workers.
fn produce(
    sender: SyncSender<Block>,
    next_file: &AtomicUsize,
    block_bytes: usize,
    state: &Mutex<Partial>,
    context: &Context<'_>,
) {
    loop {
        let index = next_file.fetch_add(1, Ordering::Relaxed);
        let Some(file) = context.files.get(index) else {
            return;
        };
        if context.abort.load(Ordering::Relaxed) {
            return;
        }
        let reader = match open(&file.path, context.options.progress.clone()) {
            Ok(reader) => reader,
            Err(error) => {
                fail(state, context, index, 0, error);
                return;
            }
        };
        // The joined extract's records span lines, so the file goes to one worker whole.
        // NOTE: a joined extract over 1 GiB is cut into blocks that may split a record.
        let whole = !file.format.is_line_table();
        let size = if whole { 1 << 30 } else { block_bytes };
        let result = read_blocks(reader, index, size, |block| {
            !context.abort.load(Ordering::Relaxed) && sender.send(block).is_ok()
        });
        match result {
            Ok(_) | Err(BlockStop::Cancelled) => {}
            Err(BlockStop::Failed { lines_read, error }) => {
                let at = Location {
                    file: file.path.display().to_string(),
                    line: lines_read + 1,
                };
                let gzip = is_gzip(&file.path);
                if gzip && context.options.skip_bad_lines {
                    let mut state = lock(state);
                    let message = format!("the gzip stream is truncated or corrupt ({error})");
                    state.stats.bad_line(index, lines_read + 1, message);
                } else if gzip {
                    let error = TraceError::TruncatedGzip {
                        at,
                        lines_read,
                        source: error,
                    };
                    fail(state, context, index, lines_read + 1, error);
                } else {
                    let error = TraceError::Io {
                        path: file.path.clone(),
                        source: error,
                    };
                    fail(state, context, index, lines_read + 1, error);
                }
            }
        }
    }
}

fn lock(state: &Mutex<Partial>) -> std::sync::MutexGuard<'_, Partial> {
    state.lock().unwrap_or_else(|poison| poison.into_inner())
}

fn fail(
    state: &Mutex<Partial>,
    context: &Context<'_>,
    file: usize,
    line: usize,
    error: TraceError,
) {
    context.abort.store(true, Ordering::Relaxed);
    lock(state).keep_first_error(Some((file, line, error)));
}

/// Parses and aggregates blocks until the queue closes.
fn work(receiver: &Mutex<Receiver<Block>>, context: &Context<'_>) -> Partial {
    let mut partial = Partial::default();
    loop {
        let block = {
            let receiver = receiver.lock().unwrap_or_else(|poison| poison.into_inner());
            receiver.recv()
        };
        let Ok(block) = block else {
            return partial;
        };
        if context.abort.load(Ordering::Relaxed) {
            continue;
        }
        process_block(&block, context, &mut partial);
    }
}

fn process_block(block: &Block, context: &Context<'_>, partial: &mut Partial) {
    let file = &context.files[block.file];
    if file.format == TraceFormat::JoinedExtract2019 {
        process_joined(block, context, partial);
        return;
    }
    let lines = block.data.split(|byte| *byte == b'\n');
    for (number, raw) in (block.first_line..).zip(lines) {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = match std::str::from_utf8(raw) {
            Ok(line) => parse_line(file.format, line),
            Err(_) => Err(LineError::Malformed(
                "the line is not UTF-8 text".to_owned(),
            )),
        };
        match parsed {
            Ok((record, missing)) => {
                partial.stats.count_missing(file.format, missing);
                apply(record, None, file, context, partial);
            }
            Err(error) => {
                if !bad_line(error, block.file, number, context, partial) {
                    return;
                }
            }
        }
    }
}

/// Handles a bad line: counts it and returns `true` to go on, or records the error and
/// returns `false` to stop.
fn bad_line(
    error: LineError,
    file: usize,
    line: usize,
    context: &Context<'_>,
    partial: &mut Partial,
) -> bool {
    let at = Location {
        file: context.files[file].path.display().to_string(),
        line,
    };
    if context.options.skip_bad_lines {
        let message = error.at(at).to_string();
        let message = message
            .split_once(": ")
            .map_or(message.as_str(), |(_, rest)| rest);
        let message = message
            .split("; correct or remove")
            .next()
            .unwrap_or(message);
        partial.stats.bad_line(file, line, message.to_owned());
        return true;
    }
    context.abort.store(true, Ordering::Relaxed);
    partial.keep_first_error(Some((file, line, error.at(at))));
    false
}

fn process_joined(block: &Block, context: &Context<'_>, partial: &mut Partial) {
    let file = &context.files[block.file];
    let name = file.path.display().to_string();
    let text = match std::str::from_utf8(&block.data) {
        Ok(text) => text,
        Err(error) => {
            let at = Location {
                file: name,
                line: 1,
            };
            let error =
                LineError::Malformed(format!("the file is not UTF-8 text ({error})")).at(at);
            partial.keep_first_error(Some((block.file, 1, error)));
            return;
        }
    };
    let rows = match joined::parse_joined_rows(text, &name) {
        Ok(rows) => rows,
        Err(error) => {
            partial.keep_first_error(Some((block.file, 1, error)));
            return;
        }
    };
    for (line, row) in rows {
        match row {
            Ok(record) => {
                let (usage, event) = record.to_records();
                let request = Some(event.request);
                apply(Record::InstanceEvent(event), None, file, context, partial);
                apply(Record::Usage(usage), request, file, context, partial);
                // Both halves come from one data row.
                partial.stats.rows -= 1;
            }
            Err(error) => {
                if !bad_line(error, block.file, line, context, partial) {
                    return;
                }
            }
        }
    }
}

/// Parses one line of a line table.
pub(crate) fn parse_line(format: TraceFormat, line: &str) -> Result<(Record, Missing), LineError> {
    let mut missing = Missing::default();
    let record = match format {
        TraceFormat::InstanceUsage2019 => {
            Record::Usage(json_2019::parse_usage(line, &mut missing)?)
        }
        TraceFormat::InstanceEvents2019 => {
            Record::InstanceEvent(json_2019::parse_instance_event(line, &mut missing)?)
        }
        TraceFormat::CollectionEvents2019 => {
            Record::CollectionEvent(json_2019::parse_collection_event(line, &mut missing)?)
        }
        TraceFormat::MachineEvents2019 => {
            Record::MachineEvent(json_2019::parse_machine_event(line, &mut missing)?)
        }
        TraceFormat::TaskUsage2011 => {
            Record::Usage(csv_2011::parse_task_usage(line, &mut missing)?)
        }
        TraceFormat::TaskEvents2011 => {
            Record::InstanceEvent(csv_2011::parse_task_event(line, &mut missing)?)
        }
        TraceFormat::JobEvents2011 => {
            Record::CollectionEvent(csv_2011::parse_job_event(line, &mut missing)?)
        }
        TraceFormat::MachineEvents2011 => {
            Record::MachineEvent(csv_2011::parse_machine_event(line, &mut missing)?)
        }
        TraceFormat::JobSeries2011
        | TraceFormat::CellAggregate2019
        | TraceFormat::JoinedExtract2019 => {
            return Err(LineError::Malformed(format!(
                "{} is not read line by line",
                format.name()
            )));
        }
    };
    Ok((record, missing))
}

/// Adds one record to the report counts and, when it passes the filter, to the aggregation.
fn apply(
    record: Record,
    request: Option<Resources>,
    file: &InputFile,
    context: &Context<'_>,
    partial: &mut Partial,
) {
    let cell = file.cell;
    let cell_name = context.cells[cell as usize].name.as_str();
    let filter = &context.options.filter;
    let stats = &mut partial.stats;
    stats.rows += 1;
    match record {
        Record::Usage(usage) => {
            stats.observe_time(usage.start_us);
            stats.collections.insert((cell, usage.collection_id));
            if usage.machine_id != 0 {
                stats.machines.insert(usage.machine_id);
            }
            if !filter.keeps_record(cell_name, usage.collection_id, usage.start_us) {
                return;
            }
            let request = request.or_else(|| {
                let key = (cell, usage.collection_id, usage.instance_index);
                context.requests.get(&key).map(|(_, request)| *request)
            });
            let window = usage.start_us.div_euclid(WINDOW_US);
            partial
                .windows
                .entry((cell, usage.collection_id, window))
                .or_default()
                .add_usage(&usage, request);
        }
        Record::InstanceEvent(event) => {
            stats.observe_time(event.time_us);
            stats.instance_events += 1;
            stats.collections.insert((cell, event.collection_id));
            if event.machine_id != 0 {
                stats.machines.insert(event.machine_id);
            }
            apply_instance_event(&event, cell, cell_name, filter, partial);
        }
        Record::CollectionEvent(event) => {
            stats.observe_time(event.time_us);
            stats.collections.insert((cell, event.collection_id));
            let attributes = CollectionAttributes {
                time_us: event.time_us,
                scheduling_class: Some(event.scheduling_class),
                priority: event.priority,
            };
            partial
                .attributes
                .entry((cell, event.collection_id))
                .or_insert(attributes)
                .merge(attributes);
        }
        Record::MachineEvent(event) => {
            stats.observe_time(event.time_us);
            stats.machines.insert(event.machine_id);
        }
    }
}

fn apply_instance_event(
    event: &InstanceEventRecord,
    cell: u32,
    cell_name: &str,
    filter: &SeriesFilter,
    partial: &mut Partial,
) {
    let attributes = CollectionAttributes {
        time_us: event.time_us,
        scheduling_class: Some(event.scheduling_class),
        priority: Some(event.priority),
    };
    partial
        .attributes
        .entry((cell, event.collection_id))
        .or_insert(attributes)
        .merge(attributes);
    if event.request.cpus.is_some() || event.request.memory.is_some() {
        let key = (cell, event.collection_id, event.instance_index);
        let entry = partial
            .requests
            .entry(key)
            .or_insert((event.time_us, event.request));
        if event.time_us >= entry.0 {
            *entry = (event.time_us, event.request);
        }
    }
    let Some(kind) = event.kind else { return };
    let counted = matches!(
        kind,
        EventKind::Evict | EventKind::Fail | EventKind::Kill | EventKind::Lost
    );
    if !counted
        || event.time_us == i64::MAX
        || !filter.keeps_record(cell_name, event.collection_id, event.time_us)
    {
        return;
    }
    let window = event.time_us.div_euclid(WINDOW_US);
    partial
        .windows
        .entry((cell, event.collection_id, window))
        .or_default()
        .add_event(kind);
}

/// Sorts the merged windows into per-collection series and applies the collection filters.
fn build_series(
    state: Partial,
    cells: &[Cell],
    filter: &SeriesFilter,
    usage_format: &str,
) -> Vec<CollectionSeries> {
    let events_read = state.stats.instance_events > 0;
    let mut windows: Vec<(WindowKey, WindowSums)> = state.windows.into_iter().collect();
    windows.sort_by(|(a, _), (b, _)| {
        let cell = |key: &WindowKey| &cells[key.0 as usize];
        cell(a).cmp(cell(b)).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
    });

    let mut series: Vec<CollectionSeries> = Vec::new();
    for ((cell, collection_id, window), sums) in windows {
        let start_s = window * WINDOW_US / 1_000_000;
        let same = series.last().is_some_and(|last| {
            last.collection_id == collection_id
                && last.cell == cells[cell as usize].name
                && last.generation == cells[cell as usize].generation
        });
        if !same {
            let attributes = state
                .attributes
                .get(&(cell, collection_id))
                .copied()
                .unwrap_or_default();
            series.push(CollectionSeries {
                cell: cells[cell as usize].name.clone(),
                collection_id,
                generation: cells[cell as usize].generation,
                format: usage_format.to_owned(),
                unit: UsageUnit::Normalized,
                scheduling_class: attributes.scheduling_class,
                priority: attributes.priority,
                events_read,
                points: Vec::new(),
            });
        }
        if let Some(last) = series.last_mut() {
            last.points.push(sums.point(start_s));
        }
    }
    series.retain(|series| {
        let attributes = CollectionAttributes {
            time_us: 0,
            scheduling_class: series.scheduling_class,
            priority: series.priority,
        };
        filter.keeps_collection(&attributes, series.generation)
    });
    series
}

/// Makes a [`Progress`] from a closure.
pub fn progress(callback: impl Fn(u64) + Send + Sync + 'static) -> Progress {
    Arc::new(callback)
}
