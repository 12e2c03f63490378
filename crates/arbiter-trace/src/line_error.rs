//! Problems found in one line before the reader adds the file and line, and the count of
//! absent optional fields.

use crate::error::{Location, TraceError};

/// A problem with one line or one of its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LineError {
    /// The line is not valid in the format's syntax (JSON, CSV, a dict literal).
    Malformed(String),
    /// A mandatory field is absent or empty.
    Missing(&'static str),
    /// A field has a value the format does not allow.
    Invalid {
        field: String,
        value: String,
        expected: String,
    },
}

impl LineError {
    pub(crate) fn invalid(
        field: impl Into<String>,
        value: impl Into<String>,
        expected: &str,
    ) -> Self {
        let mut value: String = value.into();
        if value.len() > 120 {
            let mut end = 120;
            while !value.is_char_boundary(end) {
                end -= 1;
            }
            value.truncate(end);
            value.push('…');
        }
        Self::Invalid {
            field: field.into(),
            value,
            expected: expected.to_owned(),
        }
    }

    /// Adds the place of the line.
    pub(crate) fn at(self, at: Location) -> TraceError {
        match self {
            Self::Malformed(message) => TraceError::MalformedLine { at, message },
            Self::Missing(field) => TraceError::MissingField { at, field },
            Self::Invalid {
                field,
                value,
                expected,
            } => TraceError::InvalidField {
                at,
                field,
                value,
                expected,
            },
        }
    }
}

/// Bit set of the optional fields absent from one line, indexed by the position of the field
/// in its format's field list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Missing(pub(crate) u64);

impl Missing {
    pub(crate) fn mark(&mut self, field: usize) {
        self.0 |= 1 << field;
    }

    pub(crate) fn mark_if<T>(&mut self, field: usize, value: &Option<T>) {
        if value.is_none() {
            self.mark(field);
        }
    }
}
