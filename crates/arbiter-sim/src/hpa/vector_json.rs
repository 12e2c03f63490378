//! A JSON reader for the test vectors that names the vector and the field in every error.

use std::path::Path;

use serde_json::Value;

use super::error::HpaError;
use super::pods::EPOCH_S;

/// A JSON value with its location: file, vector name and path inside the vector.
#[derive(Clone)]
pub(crate) struct Node<'a> {
    value: &'a Value,
    file: &'a Path,
    vector: &'a str,
    path: String,
}

impl<'a> Node<'a> {
    /// Creates the root node of one vector.
    pub(crate) fn root(value: &'a Value, file: &'a Path, vector: &'a str) -> Self {
        Node {
            value,
            file,
            vector,
            path: String::new(),
        }
    }

    /// Builds an error about this node.
    pub(crate) fn error(&self, reason: impl Into<String>) -> HpaError {
        HpaError::InvalidVector {
            path: self.file.to_path_buf(),
            vector: self.vector.to_string(),
            field: if self.path.is_empty() {
                "<vector>".to_string()
            } else {
                self.path.to_string()
            },
            reason: reason.into(),
        }
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Returns the field `key`, which may be null; fails when it is absent or this is no object.
    pub(crate) fn field(&self, key: &str) -> Result<Node<'a>, HpaError> {
        let object = self
            .value
            .as_object()
            .ok_or_else(|| self.error("must be a JSON object"))?;
        let value = object.get(key).ok_or_else(|| HpaError::InvalidVector {
            path: self.file.to_path_buf(),
            vector: self.vector.to_string(),
            field: self.child_path(key),
            reason: "is missing".to_string(),
        })?;
        Ok(Node {
            value,
            file: self.file,
            vector: self.vector,
            path: self.child_path(key),
        })
    }

    /// Returns the field `key`, or `None` when it is absent or null.
    pub(crate) fn opt_field(&self, key: &str) -> Option<Node<'a>> {
        let value = self.value.as_object()?.get(key)?;
        if value.is_null() {
            return None;
        }
        Some(Node {
            value,
            file: self.file,
            vector: self.vector,
            path: self.child_path(key),
        })
    }

    /// Returns the array items.
    pub(crate) fn items(&self) -> Result<Vec<Node<'a>>, HpaError> {
        let array = self
            .value
            .as_array()
            .ok_or_else(|| self.error("must be a JSON array"))?;
        Ok(array
            .iter()
            .enumerate()
            .map(|(index, value)| Node {
                value,
                file: self.file,
                vector: self.vector,
                path: format!("{}[{index}]", self.path),
            })
            .collect())
    }

    pub(crate) fn is_null(&self) -> bool {
        self.value.is_null()
    }

    pub(crate) fn raw(&self) -> &'a Value {
        self.value
    }

    pub(crate) fn str(&self) -> Result<&'a str, HpaError> {
        self.value
            .as_str()
            .ok_or_else(|| self.error(format!("must be a string, found {}", self.value)))
    }

    pub(crate) fn bool(&self) -> Result<bool, HpaError> {
        self.value
            .as_bool()
            .ok_or_else(|| self.error(format!("must be true or false, found {}", self.value)))
    }

    pub(crate) fn i64(&self) -> Result<i64, HpaError> {
        self.value
            .as_i64()
            .ok_or_else(|| self.error(format!("must be an integer, found {}", self.value)))
    }

    pub(crate) fn i32(&self) -> Result<i32, HpaError> {
        let value = self.i64()?;
        i32::try_from(value)
            .map_err(|_| self.error(format!("must fit a 32-bit integer, found {value}")))
    }

    pub(crate) fn f64(&self) -> Result<f64, HpaError> {
        self.value
            .as_f64()
            .ok_or_else(|| self.error(format!("must be a number, found {}", self.value)))
    }

    /// Reads a time: seconds relative to now, or the string `"epoch"` for Go's zero time.
    pub(crate) fn time(&self, now_s: f64) -> Result<f64, HpaError> {
        match self.value {
            Value::String(text) if text == "epoch" => Ok(EPOCH_S),
            Value::Number(number) => number
                .as_f64()
                .map(|relative| now_s + relative)
                .ok_or_else(|| self.error("must be a finite number")),
            other => Err(self.error(format!(
                "must be seconds relative to now or \"epoch\", found {other}"
            ))),
        }
    }
}
