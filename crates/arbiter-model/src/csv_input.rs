//! Prediction rows read from CSV.
//!
//! The first line is a header when a field of it is not a number and it names a feature or
//! contains no number (see [`is_header`]). Header columns are matched to the model's features
//! by name, and columns the model does not use are ignored. Without a header, each line
//! contains the model's features in the model's order. An empty field or `NaN` is a missing
//! value. Numbers are parsed to `f64` and rounded to `f32`, the same values XGBoost sees when
//! pandas reads the CSV and the frame is passed to `DMatrix`.

use std::collections::BTreeMap;
use std::io::Read;

use csv::StringRecord;

use crate::error::ModelError;
use crate::model::XgboostModel;

/// Feature names listed in full in a column-count error before the list is cut.
const MAX_LISTED_FEATURES: usize = 8;

/// Predicts every row of a CSV input, returning one vector of
/// [`num_outputs`](XgboostModel::num_outputs) values per data row, in input order.
///
/// # Errors
///
/// [`ModelError::CsvMissingFeature`] and [`ModelError::CsvDuplicateColumn`] for a header that
/// does not fit the model, [`ModelError::CsvColumnCount`] and [`ModelError::CsvValue`] for a
/// bad row, and [`ModelError::Csv`] when the input cannot be read as CSV.
pub fn predict_csv(model: &XgboostModel, input: impl Read) -> Result<Vec<Vec<f32>>, ModelError> {
    let rows = read_csv_features(model, input)?;
    let predictions = model.predict(&rows)?;
    Ok(predictions
        .chunks_exact(model.num_outputs())
        .map(<[f32]>::to_vec)
        .collect())
}

/// Formats one row of predictions as a CSV line: the outputs comma-separated, each as the
/// shortest decimal that reads back as the same `f32`.
pub fn format_prediction_row(values: &[f32]) -> String {
    values
        .iter()
        .map(f32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads the feature values of every row of a CSV input, row after row in the model's
/// feature order, NaN for missing values.
///
/// # Errors
///
/// The input errors of [`predict_csv`].
pub fn read_csv_features(model: &XgboostModel, input: impl Read) -> Result<Vec<f32>, ModelError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let mut record = StringRecord::new();
    if !reader.read_record(&mut record).map_err(csv_error)? {
        return Ok(Vec::new());
    }

    let mut values = Vec::new();
    let layout = if is_header(model, &record) {
        Layout::from_header(model, &record)?
    } else {
        let layout = Layout::positional(model);
        layout.push_row(model, &record, &mut values)?;
        layout
    };
    while reader.read_record(&mut record).map_err(csv_error)? {
        layout.push_row(model, &record, &mut values)?;
    }
    Ok(values)
}

/// Column positions of the model's features in a CSV row, and the row length.
struct Layout {
    /// CSV column of each feature, in the model's feature order.
    columns: Vec<usize>,
    /// Number of fields every row must have.
    fields_per_row: usize,
    /// Advice appended to a column-count error.
    count_hint: String,
}

impl Layout {
    fn positional(model: &XgboostModel) -> Self {
        let names = model.feature_names();
        let mut listed = names
            .iter()
            .take(MAX_LISTED_FEATURES)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if names.len() > MAX_LISTED_FEATURES {
            listed.push_str(", ...");
        }
        Layout {
            columns: (0..names.len()).collect(),
            fields_per_row: names.len(),
            count_hint: format!(
                "; a CSV without a header row lists the model's {} features in order ({listed}), \
                 or add a header row of feature names",
                names.len()
            ),
        }
    }

    fn from_header(model: &XgboostModel, header: &StringRecord) -> Result<Self, ModelError> {
        let mut column_of = BTreeMap::new();
        for (column, name) in header.iter().enumerate() {
            if column_of.insert(name, column).is_some() {
                return Err(ModelError::CsvDuplicateColumn {
                    column: name.to_owned(),
                });
            }
        }
        let columns = model
            .feature_names()
            .iter()
            .map(|feature| {
                column_of.get(feature.as_str()).copied().ok_or_else(|| {
                    ModelError::CsvMissingFeature {
                        feature: feature.clone(),
                        header: header.iter().collect::<Vec<_>>().join(", "),
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Layout {
            columns,
            fields_per_row: header.len(),
            count_hint: "; every row needs one field per header column".to_owned(),
        })
    }

    fn push_row(
        &self,
        model: &XgboostModel,
        record: &StringRecord,
        values: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        let line = record_line(record);
        if record.len() != self.fields_per_row {
            return Err(ModelError::CsvColumnCount {
                line,
                expected: self.fields_per_row,
                found: record.len(),
                hint: self.count_hint.clone(),
            });
        }
        for (feature, &column) in self.columns.iter().enumerate() {
            let text = &record[column];
            let value = parse_value(text).ok_or_else(|| ModelError::CsvValue {
                line,
                column: column + 1,
                feature: model.feature_names()[feature].clone(),
                value: text.to_owned(),
            })?;
            values.push(value);
        }
        Ok(())
    }
}

/// Decides whether the first line is a header: it has a field that is not a number, and it
/// either names a feature of the model or has no number at all. A first data row with one
/// mistyped value is read as data, so the error names that value.
fn is_header(model: &XgboostModel, record: &StringRecord) -> bool {
    let is_number = |field: &str| field.is_empty() || field.parse::<f64>().is_ok();
    let has_text = record.iter().any(|field| !is_number(field));
    let has_number = record.iter().any(is_number);
    let names_feature = record
        .iter()
        .any(|field| model.feature_names().iter().any(|name| name == field));
    has_text && (names_feature || !has_number)
}

/// Parses one field: empty or NaN is missing, any other finite number is rounded to `f32`.
/// Returns `None` for text that is not a number and for values that are infinite in `f32`,
/// which XGBoost also rejects.
fn parse_value(text: &str) -> Option<f32> {
    if text.is_empty() {
        return Some(f32::NAN);
    }
    let value = text.parse::<f64>().ok()?;
    if value.is_nan() {
        return Some(f32::NAN);
    }
    let value = value as f32;
    value.is_finite().then_some(value)
}

fn record_line(record: &StringRecord) -> u64 {
    record.position().map_or(0, csv::Position::line)
}

fn csv_error(error: csv::Error) -> ModelError {
    ModelError::Csv {
        line: error.position().map_or(0, csv::Position::line),
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{format_prediction_row, parse_value};

    #[test]
    fn format_prediction_row_reads_back_exactly() {
        let values = [0.1f32, -3.25, 1e-7, 0.951_234_5];
        let line = format_prediction_row(&values);
        assert_eq!(line.split(',').count(), 4);
        let parsed: Vec<f32> = line
            .split(',')
            .map(|field| field.parse().unwrap())
            .collect();
        assert_eq!(parsed, values);
    }

    #[test]
    fn parse_value_reads_missing_and_numbers() {
        assert!(parse_value("").is_some_and(f32::is_nan));
        assert!(parse_value("NaN").is_some_and(f32::is_nan));
        assert!(parse_value("nan").is_some_and(f32::is_nan));
        assert_eq!(parse_value("-1.5e2"), Some(-150.0));
        assert_eq!(parse_value("0.1"), Some(0.1f64 as f32));
    }

    #[test]
    fn parse_value_rejects_text_and_infinity() {
        assert_eq!(parse_value("high"), None);
        assert_eq!(parse_value("inf"), None);
        assert_eq!(parse_value("-Infinity"), None);
        assert_eq!(parse_value("1e39"), None);
    }
}
