//! Fuzzes the JobSeries2011 parser on whole files: any text must parse or return an error, never
//! panic.

#![no_main]

use arbiter_trace::{ReadOptions, TraceFormat, parse_series_text};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let options = ReadOptions::default();
        let _ = parse_series_text(
            text,
            Path::new("fuzz"),
            TraceFormat::JobSeries2011,
            &options,
        );
    }
});
