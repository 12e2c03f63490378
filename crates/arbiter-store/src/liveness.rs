//! Liveness of the process that writes a run.
//!
//! A run records its writer's pid and, on Linux, the process start time from `/proc/PID/stat`
//! (field 22, in clock ticks since boot), so that a pid reused by another process after a crash
//! is not mistaken for the writer.

use std::path::Path;

/// Identity of a process: its pid and its start time, when the platform exposes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcessIdentity {
    pub pid: u32,
    pub start_ticks: Option<i64>,
}

/// Returns the identity of the current process.
pub(crate) fn current_process() -> ProcessIdentity {
    let pid = std::process::id();
    ProcessIdentity {
        pid,
        start_ticks: start_ticks(pid),
    }
}

/// Reads a process's start time from `/proc/PID/stat`; `None` when it cannot be read.
fn start_ticks(pid: u32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in field 2 is in parentheses and may contain spaces, so fields are
    // counted from the last closing parenthesis: field 3 is the first one after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// Returns whether the writer is known to be gone. Without `/proc` (platforms other than Linux)
/// nothing is known, so the writer counts as alive.
pub(crate) fn writer_gone(pid: Option<i64>, recorded_start: Option<i64>) -> bool {
    if !Path::new("/proc/self/stat").exists() {
        // NOTE: without /proc a run whose writer crashed stays `running` until it is fixed by
        // hand; only Linux is detected.
        return false;
    }
    let Some(pid) = pid.and_then(|pid| u32::try_from(pid).ok()) else {
        return true;
    };
    match start_ticks(pid) {
        None => true,
        Some(now) => recorded_start.is_some_and(|recorded| recorded != now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_process_alive() {
        let me = current_process();
        assert!(!writer_gone(Some(i64::from(me.pid)), me.start_ticks));
    }

    #[test]
    fn reused_pid_counts_as_gone() {
        let me = current_process();
        if let Some(start) = me.start_ticks {
            assert!(writer_gone(Some(i64::from(me.pid)), Some(start + 1)));
        }
    }

    #[test]
    fn missing_pid_counts_as_gone() {
        if Path::new("/proc/self/stat").exists() {
            assert!(writer_gone(Some(i64::from(u32::MAX >> 1)), None));
            assert!(writer_gone(None, None));
        }
    }
}
