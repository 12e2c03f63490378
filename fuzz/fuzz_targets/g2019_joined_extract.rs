//! Fuzzes the JoinedExtract2019 parser on whole files: any text must parse or return an error, never
//! panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = arbiter_trace::parse_joined_extract(text, "fuzz");
    }
});
