//! The 2019 cell aggregate: `instance_usage` of one whole cell grouped per 300 s window, with a
//! header (`avg_cpu,avg_mem,avg_assigned_mem,avg_cycles_per_instruction`) and no time column.
//!
//! Row `i` is window `i` and starts at `i * 300` s. The file does not say whether its values
//! are means or sums (a CPI near 166 suggests sums), so the series is [`UsageUnit::Relative`]
//! and only its shape is meaningful. Columns are found by name, and every field must be a
//! finite number of zero or more.

use std::path::Path;

use arbiter_core::series::{
    BORG_WINDOW_S, PointFlags, QuirkReport, SeriesPoint, UsageUnit, WorkloadSeries,
};

use crate::error::TraceError;
use crate::format::TraceFormat;
use crate::text::{Line, data_lines};

const FORMAT: &str = TraceFormat::CellAggregate2019.name();

/// The workload name of every cell aggregate, because the file does not name its cell.
const WORKLOAD: &str = "cell-aggregate";

const CPU_COLUMN: &str = "avg_cpu";
const MEMORY_COLUMN: &str = "avg_mem";
const EXAMPLE_HEADER: &str = "avg_cpu,avg_mem,avg_assigned_mem,avg_cycles_per_instruction";

/// Tells whether `first_line` is a cell aggregate header: it names both used columns.
pub(crate) fn matches_first_line(first_line: &str) -> bool {
    let names: Vec<&str> = first_line.split(',').map(str::trim).collect();
    names.contains(&CPU_COLUMN) && names.contains(&MEMORY_COLUMN)
}

/// Parses the text of a 2019 cell aggregate read from `path`.
pub(crate) fn parse(text: &str, path: &Path) -> Result<WorkloadSeries, TraceError> {
    let file = path.display().to_string();
    let empty = || TraceError::Empty {
        file: file.clone(),
        format: FORMAT,
    };
    let mut lines = data_lines(text);
    let (_, header) = lines.next().ok_or_else(empty)?;
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    let position = |column: &'static str| {
        let missing = || TraceError::MissingColumn {
            file: file.clone(),
            header: header.to_owned(),
            column,
            example: EXAMPLE_HEADER,
        };
        columns
            .iter()
            .position(|name| *name == column)
            .ok_or_else(missing)
    };
    let (cpu_at, memory_at) = (position(CPU_COLUMN)?, position(MEMORY_COLUMN)?);

    let mut points = Vec::new();
    for (window, (number, content)) in (0_i64..).zip(lines) {
        let line = Line {
            file: &file,
            number,
        };
        let values = parse_row(line, content, &columns)?;
        points.push(SeriesPoint {
            start_s: window * BORG_WINDOW_S,
            cpu: values[cpu_at],
            memory: values[memory_at],
            tasks: None,
            flags: PointFlags::default(),
        });
    }
    if points.is_empty() {
        return Err(empty());
    }

    Ok(WorkloadSeries {
        workload: WORKLOAD.to_owned(),
        source: file,
        format: FORMAT.to_owned(),
        window_s: BORG_WINDOW_S,
        unit: UsageUnit::Relative,
        points,
        quirks: QuirkReport::default(),
    })
}

/// Parses every field of a data row. The header gives the column count and names.
fn parse_row(line: Line<'_>, content: &str, columns: &[&str]) -> Result<Vec<f64>, TraceError> {
    let fields: Vec<&str> = content.split(',').collect();
    line.expect_fields(fields.len(), columns.len(), FORMAT)?;
    let named_fields = columns.iter().zip(&fields).enumerate();
    named_fields
        .map(|(column, (name, value))| line.number(column, name, value))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text, Path::new("c.csv")).unwrap_err().to_string()
    }

    #[test]
    fn rows_are_windows_from_zero() {
        let text = "avg_cpu,avg_mem,avg_assigned_mem\n0.4,0.3,0.6\n0.5,0.2,0.6\n";
        let series = parse(text, Path::new("c.csv")).unwrap();

        assert_eq!(series.workload, WORKLOAD);
        assert_eq!(series.unit, UsageUnit::Relative);
        let starts: Vec<i64> = series.points.iter().map(|point| point.start_s).collect();
        assert_eq!(starts, vec![0, 300]);
        assert_eq!(series.points[1].cpu, 0.5);
        assert_eq!(series.points[1].memory, 0.2);
        assert_eq!(series.points[1].tasks, None);
    }

    #[test]
    fn columns_are_found_by_name() {
        let series = parse("avg_mem,avg_cpu\n0.3,0.4\n", Path::new("c.csv")).unwrap();
        assert_eq!(series.points[0].cpu, 0.4);
        assert_eq!(series.points[0].memory, 0.3);
    }

    #[test]
    fn empty_files_are_errors() {
        let expected =
            "c.csv: the file contains no data rows, expected a g2019-cell-aggregate file";
        assert_eq!(error(""), expected);
        assert_eq!(error("avg_cpu,avg_mem\n"), expected);
    }

    #[test]
    fn bad_rows_name_line_column_and_text() {
        assert!(
            error("cpu,avg_mem\n0.1,0.2\n")
                .starts_with("c.csv: the header \"cpu,avg_mem\" has no column \"avg_cpu\"")
        );
        assert!(
            error("avg_cpu,avg_mem\n0.1\n")
                .starts_with("c.csv:2: found 1 comma-separated fields, expected 2")
        );
        assert_eq!(
            error("avg_cpu,avg_mem,avg_assigned_mem\n0.1,0.2,x\n"),
            "c.csv:2: column 3 (avg_assigned_mem) is \"x\", expected a finite number >= 0; correct or remove the row"
        );
    }
}
