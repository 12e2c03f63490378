//! Field access on a JSON document that keeps each value's text.
//!
//! Objects and arrays are split one level at a time into [`RawValue`]s, so numbers keep the
//! text XGBoost wrote. A split threshold parses straight from that text to `f32`, as XGBoost's
//! own JSON reader does, because rounding the text to `f64` first and then to `f32` gives a
//! different `f32` for a few values (for example `7.038531e-26`).

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::error::ModelError;

/// The fields of one JSON object, each with its unparsed text.
pub(crate) type Object<'a> = BTreeMap<String, &'a RawValue>;

/// Maximum length, in characters, of a value quoted in an error message.
const MAX_QUOTED_CHARS: usize = 60;

/// Joins a parent field path and a field name with a dot.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// Quotes a value's text for an error message, cut to [`MAX_QUOTED_CHARS`] characters.
pub(crate) fn quote(raw: &RawValue) -> String {
    let text = raw.get().trim();
    if text.chars().count() <= MAX_QUOTED_CHARS {
        text.to_owned()
    } else {
        let head: String = text.chars().take(MAX_QUOTED_CHARS).collect();
        format!("{head}...")
    }
}

fn invalid(field: &str, raw: &RawValue, reason: &str) -> ModelError {
    ModelError::InvalidField {
        field: field.to_owned(),
        value: quote(raw),
        reason: reason.to_owned(),
    }
}

/// Splits a JSON object into its fields.
pub(crate) fn object<'a>(raw: &'a RawValue, field: &str) -> Result<Object<'a>, ModelError> {
    serde_json::from_str(raw.get()).map_err(|_| invalid(field, raw, "expected a JSON object"))
}

/// Returns the field `key` of `object`, whose own path is `parent`.
pub(crate) fn field<'a>(
    object: &Object<'a>,
    parent: &str,
    key: &str,
) -> Result<&'a RawValue, ModelError> {
    object
        .get(key)
        .copied()
        .ok_or_else(|| ModelError::MissingField {
            field: join(parent, key),
        })
}

/// Splits a JSON array into its elements.
pub(crate) fn array<'a>(raw: &'a RawValue, field: &str) -> Result<Vec<&'a RawValue>, ModelError> {
    serde_json::from_str(raw.get()).map_err(|_| invalid(field, raw, "expected a JSON array"))
}

/// Parses a JSON string.
pub(crate) fn string(raw: &RawValue, field: &str) -> Result<String, ModelError> {
    serde_json::from_str(raw.get()).map_err(|_| invalid(field, raw, "expected a JSON string"))
}

/// Parses a JSON integer.
pub(crate) fn integer(raw: &RawValue, field: &str) -> Result<i64, ModelError> {
    serde_json::from_str(raw.get()).map_err(|_| invalid(field, raw, "expected an integer"))
}

/// Parses a JSON number straight from its text to the nearest `f32`.
pub(crate) fn float32(raw: &RawValue, field: &str) -> Result<f32, ModelError> {
    let text = raw.get().trim();
    let is_number = text.starts_with(|c: char| c == '-' || c.is_ascii_digit());
    match text.parse::<f32>() {
        Ok(value) if is_number && value.is_finite() => Ok(value),
        _ => Err(invalid(field, raw, "expected a finite number")),
    }
}

/// Parses an integer that XGBoost writes as a decimal string (`"16"`), also accepting a JSON
/// integer.
pub(crate) fn count(raw: &RawValue, field: &str) -> Result<usize, ModelError> {
    let text = if raw.get().trim_start().starts_with('"') {
        string(raw, field)?
    } else {
        raw.get().trim().to_owned()
    };
    text.trim()
        .parse::<usize>()
        .map_err(|_| invalid(field, raw, "expected a non-negative integer"))
}

/// Parses an array of integers, naming the first element that is not one.
pub(crate) fn integers(raw: &RawValue, field: &str) -> Result<Vec<i64>, ModelError> {
    if let Ok(values) = serde_json::from_str::<Vec<i64>>(raw.get()) {
        return Ok(values);
    }
    array(raw, field)?
        .iter()
        .enumerate()
        .map(|(index, element)| integer(element, &format!("{field}[{index}]")))
        .collect()
}

/// Parses an array of numbers to `f32`, each straight from its text.
pub(crate) fn floats32(raw: &RawValue, field: &str) -> Result<Vec<f32>, ModelError> {
    array(raw, field)?
        .iter()
        .enumerate()
        .map(|(index, element)| float32(element, &format!("{field}[{index}]")))
        .collect()
}

/// Parses an array of flags written as `0`/`1` (XGBoost's JSON) or `true`/`false`.
pub(crate) fn flags(raw: &RawValue, field: &str) -> Result<Vec<bool>, ModelError> {
    array(raw, field)?
        .iter()
        .enumerate()
        .map(|(index, element)| match element.get().trim() {
            "0" | "false" => Ok(false),
            "1" | "true" => Ok(true),
            _ => Err(invalid(
                &format!("{field}[{index}]"),
                element,
                "expected 0, 1, true or false",
            )),
        })
        .collect()
}

/// Parses an array of strings.
pub(crate) fn strings(raw: &RawValue, field: &str) -> Result<Vec<String>, ModelError> {
    array(raw, field)?
        .iter()
        .enumerate()
        .map(|(index, element)| string(element, &format!("{field}[{index}]")))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::value::RawValue;

    use super::float32;

    #[test]
    fn float32_parses_text_without_f64_rounding() {
        let raw: &RawValue = serde_json::from_str("7.038531e-26").unwrap();
        let direct = float32(raw, "x").unwrap();
        let through_f64 = 7.038531e-26f64 as f32;
        assert_eq!(direct, "7.038531e-26".parse::<f32>().unwrap());
        assert_ne!(direct.to_bits(), through_f64.to_bits());
    }

    #[test]
    fn float32_rejects_non_numbers() {
        for text in ["\"1.5\"", "true", "null", "[1]", "1e39"] {
            let raw: &RawValue = serde_json::from_str(text).unwrap();
            assert!(float32(raw, "x").is_err(), "{text}");
        }
    }
}
