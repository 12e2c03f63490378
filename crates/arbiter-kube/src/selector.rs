//! Label and field selectors in the syntax of the Kubernetes API's `labelSelector` and
//! `fieldSelector` query parameters.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value` or `key==value`.
    Equals(String, String),
    /// `key!=value`: the label is absent or has another value.
    NotEquals(String, String),
    /// `key in (a,b)`.
    In(String, BTreeSet<String>),
    /// `key notin (a,b)`: the label is absent or has none of the values.
    NotIn(String, BTreeSet<String>),
    /// `key`: the label exists.
    Exists(String),
    /// `!key`: the label does not exist.
    DoesNotExist(String),
}

/// A parsed label selector: all requirements must hold. The empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    /// Requirements, in the order written.
    pub requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// Parses `labelSelector` text such as `app=web,tier in (a,b),!canary`.
    ///
    /// # Errors
    /// Returns the offending requirement text when one does not parse.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            requirements.push(parse_requirement(part)?);
        }
        Ok(Self { requirements })
    }

    /// Returns whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements
            .iter()
            .all(|requirement| match requirement {
                Requirement::Equals(key, value) => labels.get(key) == Some(value),
                Requirement::NotEquals(key, value) => labels.get(key) != Some(value),
                Requirement::In(key, values) => labels.get(key).is_some_and(|v| values.contains(v)),
                Requirement::NotIn(key, values) => {
                    !labels.get(key).is_some_and(|v| values.contains(v))
                }
                Requirement::Exists(key) => labels.contains_key(key),
                Requirement::DoesNotExist(key) => !labels.contains_key(key),
            })
    }
}

/// Splits on commas outside parentheses.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn parse_requirement(part: &str) -> Result<Requirement, String> {
    let invalid = || format!("invalid label selector requirement `{part}`");
    if let Some(key) = part.strip_prefix('!') {
        return valid_key(key.trim())
            .map(Requirement::DoesNotExist)
            .ok_or_else(invalid);
    }
    if let Some((key, value)) = part.split_once("!=") {
        let key = valid_key(key.trim()).ok_or_else(invalid)?;
        return Ok(Requirement::NotEquals(key, value.trim().to_owned()));
    }
    if let Some((key, value)) = part.split_once("==").or_else(|| part.split_once('=')) {
        let key = valid_key(key.trim()).ok_or_else(invalid)?;
        return Ok(Requirement::Equals(key, value.trim().to_owned()));
    }
    for (operator, negated) in [(" notin ", true), (" in ", false)] {
        if let Some((key, values)) = part.split_once(operator) {
            let key = valid_key(key.trim()).ok_or_else(invalid)?;
            let values = values
                .trim()
                .strip_prefix('(')
                .and_then(|inner| inner.strip_suffix(')'))
                .ok_or_else(invalid)?;
            let set: BTreeSet<String> = values
                .split(',')
                .map(|value| value.trim().to_owned())
                .collect();
            return Ok(if negated {
                Requirement::NotIn(key, set)
            } else {
                Requirement::In(key, set)
            });
        }
    }
    valid_key(part).map(Requirement::Exists).ok_or_else(invalid)
}

fn valid_key(key: &str) -> Option<String> {
    let ok = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
    ok.then(|| key.to_owned())
}

/// A parsed field selector: `path=value`, `path==value` or `path!=value` terms joined by commas,
/// where `path` is a dotted JSON path such as `involvedObject.name` or `spec.nodeName`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// Terms as (path, value, negated).
    pub terms: Vec<(String, String, bool)>,
}

impl FieldSelector {
    /// Parses `fieldSelector` text.
    ///
    /// # Errors
    /// Returns the offending term when one has no `=` or `!=`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        for part in text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let term = if let Some((path, value)) = part.split_once("!=") {
                (path.trim().to_owned(), value.trim().to_owned(), true)
            } else if let Some((path, value)) =
                part.split_once("==").or_else(|| part.split_once('='))
            {
                (path.trim().to_owned(), value.trim().to_owned(), false)
            } else {
                return Err(format!(
                    "invalid field selector term `{part}`: expected path=value or path!=value"
                ));
            };
            terms.push(term);
        }
        Ok(Self { terms })
    }

    /// Returns whether the object's fields satisfy every term. A missing field compares as the
    /// empty string, as the API server does for unset fields.
    pub fn matches(&self, object: &Value) -> bool {
        self.terms.iter().all(|(path, expected, negated)| {
            let actual = path
                .split('.')
                .try_fold(object, |value, key| value.get(key))
                .map(|value| match value {
                    Value::String(text) => text.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            (actual == *expected) != *negated
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn label_selector_forms() {
        let selector =
            LabelSelector::parse("app=web,tier in (a, b),!canary,arbiter.dev/exercise").unwrap();
        assert_eq!(selector.requirements.len(), 4);
        assert!(selector.matches(&labels(&[
            ("app", "web"),
            ("tier", "b"),
            ("arbiter.dev/exercise", "x")
        ])));
        assert!(!selector.matches(&labels(&[
            ("app", "web"),
            ("tier", "c"),
            ("arbiter.dev/exercise", "x")
        ])));
        assert!(!selector.matches(&labels(&[
            ("app", "web"),
            ("tier", "a"),
            ("canary", "1"),
            ("arbiter.dev/exercise", "x")
        ])));
    }

    #[test]
    fn label_selector_negations() {
        let selector = LabelSelector::parse("app!=web,tier notin (a)").unwrap();
        assert!(selector.matches(&labels(&[])));
        assert!(!selector.matches(&labels(&[("app", "web")])));
        assert!(!selector.matches(&labels(&[("tier", "a")])));
    }

    #[test]
    fn label_selector_rejects_garbage() {
        assert!(LabelSelector::parse("app=web,(").is_err());
        assert!(LabelSelector::parse("tier in a,b").is_err());
        assert!(
            LabelSelector::parse("")
                .unwrap()
                .matches(&labels(&[("a", "b")]))
        );
    }

    #[test]
    fn field_selector_on_json() {
        let object = serde_json::json!({"involvedObject": {"name": "web", "kind": "Deployment"}});
        assert!(
            FieldSelector::parse("involvedObject.name=web,involvedObject.kind=Deployment")
                .unwrap()
                .matches(&object)
        );
        assert!(
            !FieldSelector::parse("involvedObject.name!=web")
                .unwrap()
                .matches(&object)
        );
        assert!(
            FieldSelector::parse("involvedObject.uid=")
                .unwrap()
                .matches(&object)
        );
        assert!(FieldSelector::parse("nonsense").is_err());
    }
}
