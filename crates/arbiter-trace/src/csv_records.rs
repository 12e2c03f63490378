//! A splitter for comma-separated text whose double-quoted fields may hold commas, doubled
//! quotes and line breaks (RFC 4180), as in the joined 2019 extract.

use crate::error::{Location, TraceError};

/// One record and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// 1-based line of the record's first character.
    pub(crate) line: usize,
    /// The fields, unquoted.
    pub(crate) fields: Vec<String>,
}

/// Splits `text` into records, skipping blank lines. `file` names the source in errors.
pub(crate) fn split_records(text: &str, file: &str) -> Result<Vec<Record>, TraceError> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let (mut line, mut record_line) = (1, 1);
    let mut quoted = false;
    let mut chars = text.chars().peekable();

    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, _) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                fields.push(std::mem::take(&mut field));
                push_record(&mut records, record_line, std::mem::take(&mut fields));
                record_line = line;
            }
            (false, _) => field.push(c),
        }
    }

    if quoted {
        return Err(TraceError::UnclosedQuote {
            at: Location {
                file: file.to_owned(),
                line: record_line,
            },
        });
    }
    fields.push(field);
    push_record(&mut records, record_line, fields);
    Ok(records)
}

fn push_record(records: &mut Vec<Record>, line: usize, fields: Vec<String>) {
    let blank = fields.len() == 1 && fields[0].trim().is_empty();
    if !blank {
        records.push(Record { line, fields });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<(usize, Vec<String>)> {
        let records = split_records(text, "x.csv").unwrap();
        records
            .into_iter()
            .map(|record| (record.line, record.fields))
            .collect()
    }

    #[test]
    fn plain_records_split_on_commas() {
        assert_eq!(
            fields("a,b\r\n1,\n"),
            vec![
                (1, vec!["a".into(), "b".into()]),
                (2, vec!["1".into(), "".into()])
            ]
        );
    }

    #[test]
    fn quoted_fields_keep_commas_quotes_and_line_breaks() {
        let text = "1,\"{'a': 1, 'b': None}\",\"[1 2\n 3]\"\n2,\"say \"\"hi\"\"\",x";
        let records = fields(text);

        assert_eq!(
            records[0],
            (
                1,
                vec!["1".into(), "{'a': 1, 'b': None}".into(), "[1 2\n 3]".into()]
            )
        );
        assert_eq!(
            records[1],
            (3, vec!["2".into(), "say \"hi\"".into(), "x".into()])
        );
    }

    #[test]
    fn blank_lines_are_skipped() {
        assert_eq!(fields("\na\n\n"), vec![(2, vec!["a".into()])]);
    }

    #[test]
    fn split_rejects_unclosed_quote() {
        let error = split_records("a\nb,\"open\n", "x.csv").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("x.csv:2: a quoted field is never closed"),
            "{error}"
        );
    }
}
