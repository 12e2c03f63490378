//! Helpers shared by the readers: reading a file, walking its lines and parsing fields with the
//! offending place in every error.

use std::path::Path;

use crate::error::{Location, TraceError};

/// Reads a whole file as UTF-8 text.
pub(crate) fn read_text(path: &Path) -> Result<String, TraceError> {
    std::fs::read_to_string(path).map_err(|source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Returns the non-blank lines of `text` with their 1-based line numbers, without line endings.
pub(crate) fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim_end_matches('\r')))
        .filter(|(_, line)| !line.trim().is_empty())
}

/// A line of a file, for parsing its fields and naming it in errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    pub(crate) file: &'a str,
    pub(crate) number: usize,
}

impl Line<'_> {
    pub(crate) fn location(&self) -> Location {
        Location {
            file: self.file.to_owned(),
            line: self.number,
        }
    }

    /// Checks that the line has exactly `expected` fields.
    pub(crate) fn expect_fields(
        &self,
        found: usize,
        expected: usize,
        format: &'static str,
    ) -> Result<(), TraceError> {
        if found == expected {
            return Ok(());
        }
        Err(TraceError::FieldCount {
            at: self.location(),
            format,
            expected,
            found,
        })
    }

    fn invalid(
        &self,
        column: usize,
        name: &str,
        value: &str,
        expected: &'static str,
    ) -> TraceError {
        TraceError::InvalidValue {
            at: self.location(),
            column: column + 1,
            name: name.to_owned(),
            value: value.to_owned(),
            expected,
        }
    }

    /// Parses the field at 0-based `column` as a finite number, zero or more. Every field of the
    /// aggregated Borg formats is a time, a count or a usage, so none is negative.
    pub(crate) fn number(&self, column: usize, name: &str, value: &str) -> Result<f64, TraceError> {
        match value.trim().parse::<f64>() {
            Ok(number) if number.is_finite() && number >= 0.0 => Ok(number),
            _ => Err(self.invalid(column, name, value, "a finite number >= 0")),
        }
    }

    /// Parses a whole number written as a float (the 2011 series write `600.0`), up to `max`.
    pub(crate) fn whole(
        &self,
        column: usize,
        name: &str,
        value: &str,
        max: u64,
    ) -> Result<u64, TraceError> {
        let number = self.number(column, name, value)?;
        // `u64 as f64` can round up, so the comparison is done on the float before converting.
        if number.fract() == 0.0 && number <= max as f64 && number < u64::MAX as f64 {
            return Ok(number as u64);
        }
        Err(self.invalid(column, name, value, "a whole number in range"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: Line<'static> = Line {
        file: "f.csv",
        number: 7,
    };

    #[test]
    fn data_lines_skip_blank_lines() {
        let lines: Vec<_> = data_lines("a\r\n\n  \nb\n").collect();
        assert_eq!(lines, vec![(1, "a"), (4, "b")]);
    }

    #[test]
    fn number_rejects_negative_and_garbled_values() {
        assert_eq!(LINE.number(3, "cpu", "0.5").unwrap(), 0.5);
        for bad in ["-0.1", "NaN", "inf", "0.5x", ""] {
            let message = LINE.number(3, "cpu", bad).unwrap_err().to_string();
            let expected = format!(
                "f.csv:7: column 4 (cpu) is {bad:?}, expected a finite number >= 0; correct or remove the row"
            );
            assert_eq!(message, expected);
        }
    }

    #[test]
    fn whole_accepts_integral_floats_in_range() {
        assert_eq!(LINE.whole(0, "time", "600.0", u64::MAX).unwrap(), 600);
        assert!(LINE.whole(0, "time", "600.5", u64::MAX).is_err());
        assert!(LINE.whole(0, "time", "1e30", u64::MAX).is_err());
        assert!(
            LINE.whole(1, "tasks", "5000000000", u64::from(u32::MAX))
                .is_err()
        );
    }
}
