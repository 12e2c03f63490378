//! Fuzzes the InstanceEvents2019 line parser: any line must parse or return an error, never panic.

#![no_main]

use arbiter_trace::{TraceFormat, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = parse_line(TraceFormat::InstanceEvents2019, line, "fuzz", 1);
    }
});
