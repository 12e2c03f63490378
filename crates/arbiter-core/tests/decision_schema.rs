//! Validates real decision records against `docs/decision-record.schema.json`.
//!
//! The validator below implements the subset of JSON Schema 2020-12 that the schema file uses:
//! `type`, `const`, `enum`, `required`, `properties`, `additionalProperties`, `items`,
//! `oneOf`, `$ref` into `$defs`, `minimum`, `maximum`, `minLength` and `maxLength`. It panics
//! on any other keyword, so the schema cannot silently rely on something left unchecked. It
//! stands in for the `jsonschema` crate, which would add a dependency tree to the shared
//! lock file for one test.

mod common;

use std::sync::OnceLock;

use serde_json::Value;

use arbiter_core::action::Action;
use arbiter_core::controller::{Controller, ControllerMode};
use arbiter_core::execution::{ExecutionRecord, ExecutionStatus, OperationRecord};
use arbiter_core::referee::{DECISION_SCHEMA_VERSION, Decision};

use common::{MiniCluster, WorkloadSpec, run_scenario, scenario_config, snapshot};

const SCHEMA_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/decision-record.schema.json"
);

fn schema() -> Value {
    let text = std::fs::read_to_string(SCHEMA_PATH)
        .unwrap_or_else(|error| panic!("failed to read {SCHEMA_PATH}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{SCHEMA_PATH}: {error}"))
}

/// Returns every violation of `schema` by `value`, each with its JSON path.
fn validate(root: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(object) = schema.as_object() else {
        errors.push(format!("{path}: schema is not an object"));
        return;
    };
    for (keyword, rule) in object {
        match keyword.as_str() {
            "$schema" | "$id" | "title" | "description" | "$defs" => {}
            "$ref" => {
                let name = rule
                    .as_str()
                    .and_then(|reference| reference.strip_prefix("#/$defs/"))
                    .unwrap_or_else(|| panic!("unsupported $ref {rule}"));
                let target = &root["$defs"][name];
                assert!(!target.is_null(), "$ref to missing definition {name}");
                validate(root, target, value, path, errors);
            }
            "type" => {
                let allowed: Vec<&str> = match rule {
                    Value::String(one) => vec![one.as_str()],
                    Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
                    _ => panic!("invalid type rule {rule}"),
                };
                if !allowed.iter().any(|kind| has_type(value, kind)) {
                    errors.push(format!("{path}: {value} is not of type {allowed:?}"));
                }
            }
            "const" => {
                if value != rule {
                    errors.push(format!("{path}: {value} is not {rule}"));
                }
            }
            "enum" => {
                let options = rule.as_array().expect("enum is an array");
                if !options.contains(value) {
                    errors.push(format!("{path}: {value} is not one of {rule}"));
                }
            }
            "required" => {
                if let Some(fields) = value.as_object() {
                    for name in rule.as_array().expect("required is an array") {
                        let name = name.as_str().expect("required names are strings");
                        if !fields.contains_key(name) {
                            errors.push(format!("{path}: missing required field `{name}`"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(fields) = value.as_object() {
                    for (name, sub) in rule.as_object().expect("properties is an object") {
                        if let Some(field) = fields.get(name) {
                            validate(root, sub, field, &format!("{path}.{name}"), errors);
                        }
                    }
                }
            }
            "additionalProperties" => {
                let Some(fields) = value.as_object() else {
                    continue;
                };
                let known = object.get("properties").and_then(Value::as_object);
                for (name, field) in fields {
                    if known.is_some_and(|known| known.contains_key(name)) {
                        continue;
                    }
                    match rule {
                        Value::Bool(false) => {
                            errors.push(format!("{path}: unexpected field `{name}`"));
                        }
                        Value::Bool(true) => {}
                        sub => validate(root, sub, field, &format!("{path}.{name}"), errors),
                    }
                }
            }
            "items" => {
                if let Some(items) = value.as_array() {
                    for (index, item) in items.iter().enumerate() {
                        validate(root, rule, item, &format!("{path}[{index}]"), errors);
                    }
                }
            }
            "oneOf" => {
                let options = rule.as_array().expect("oneOf is an array");
                let matching = options
                    .iter()
                    .filter(|option| {
                        let mut option_errors = Vec::new();
                        validate(root, option, value, path, &mut option_errors);
                        option_errors.is_empty()
                    })
                    .count();
                if matching != 1 {
                    errors.push(format!(
                        "{path}: {value} matches {matching} of the oneOf options"
                    ));
                }
            }
            "minimum" | "maximum" => {
                let (Some(number), Some(limit)) = (value.as_f64(), rule.as_f64()) else {
                    continue;
                };
                let below = keyword == "minimum" && number < limit;
                let above = keyword == "maximum" && number > limit;
                if below || above {
                    errors.push(format!("{path}: {number} violates {keyword} {limit}"));
                }
            }
            "minLength" | "maxLength" => {
                let (Some(text), Some(limit)) = (value.as_str(), rule.as_u64()) else {
                    continue;
                };
                let length = text.chars().count() as u64;
                if (keyword == "minLength" && length < limit)
                    || (keyword == "maxLength" && length > limit)
                {
                    errors.push(format!(
                        "{path}: length {length} violates {keyword} {limit}"
                    ));
                }
            }
            other => panic!("the schema uses `{other}`, which this validator does not check"),
        }
    }
}

fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        other => panic!("unknown type `{other}`"),
    }
}

fn violations(decision: &Decision) -> Vec<String> {
    let schema = schema();
    let value = serde_json::to_value(decision).expect("decision encodes");
    let mut errors = Vec::new();
    validate(&schema, &schema, &value, "$", &mut errors);
    errors
}

fn executed(action: &Action) -> ExecutionRecord {
    match action {
        Action::Scale { workload, to, .. } => ExecutionRecord {
            status: ExecutionStatus::Executed,
            operations: vec![OperationRecord {
                description: format!("scale deployment {workload} to {to} replicas"),
                kubectl: format!("kubectl scale deployment/web --replicas={to}"),
                method: "PATCH".to_owned(),
                path: "/apis/apps/v1/namespaces/arbiter-exercise/deployments/web/scale".to_owned(),
                request: Some(serde_json::json!({ "spec": { "replicas": to } })),
                status_code: Some(200),
                response: format!("spec.replicas={to}"),
                duration_ms: 0.0,
            }],
        },
        _ => ExecutionRecord {
            status: ExecutionStatus::Noop,
            operations: Vec::new(),
        },
    }
}

/// Records of the scenario run, a memory-leak run, a shadow run and a saturated cluster, with
/// execution records attached as an executor would. Made once and shared by the tests.
fn real_records() -> Vec<Decision> {
    static RECORDS: OnceLock<Vec<Decision>> = OnceLock::new();
    RECORDS.get_or_init(make_records).clone()
}

fn make_records() -> Vec<Decision> {
    let mut records = run_scenario(scenario_config(), &mut MiniCluster::new(4), 2_000);

    let mut leaking = MiniCluster::new(6);
    leaking.leak_bytes_per_tick = 4 << 20;
    records.extend(run_scenario(scenario_config(), &mut leaking, 400));

    let mut shadow = scenario_config();
    shadow.mode = ControllerMode::Shadow;
    records.extend(run_scenario(shadow, &mut MiniCluster::new(4), 100));

    let mut web = WorkloadSpec::new("web", 60, 40.0);
    web.unbound = 5;
    let mut saturated = snapshot(0.0, 4, &[web, WorkloadSpec::new("api", 3, 1.0)]);
    for node in &mut saturated.nodes {
        node.cpu_requested_milli = node.cpu_allocatable_milli;
    }
    records.extend(Controller::new(scenario_config()).decide(&saturated));

    for record in &mut records {
        record.execution = Some(executed(&record.action));
    }
    records
}

#[test]
fn real_records_match_schema() {
    let records = real_records();
    let kinds: std::collections::BTreeSet<&str> =
        records.iter().map(|record| record.action.kind()).collect();
    for kind in ["scale", "hold", "noop", "rollout_restart", "cap_load"] {
        assert!(kinds.contains(kind), "no `{kind}` record among {kinds:?}");
    }
    assert!(
        records.iter().any(Decision::dry_run),
        "no shadow-mode record"
    );
    assert!(
        records.iter().any(|record| !record.conflicts.is_empty()),
        "no conflict recorded"
    );
    for record in &records {
        let errors = violations(record);
        assert!(errors.is_empty(), "tick {}: {errors:#?}", record.tick);
    }
}

#[test]
fn schema_version_matches_code() {
    assert_eq!(
        schema()["properties"]["schema_version"]["const"],
        serde_json::json!(DECISION_SCHEMA_VERSION)
    );
}

#[test]
fn schema_rejects_broken_records() {
    let record = real_records().remove(0);
    let schema = schema();
    let check = |value: &Value| {
        let mut errors = Vec::new();
        validate(&schema, &schema, value, "$", &mut errors);
        errors
    };

    let mut missing = serde_json::to_value(&record).expect("encodes");
    missing.as_object_mut().expect("object").remove("observed");
    assert!(
        check(&missing)
            .iter()
            .any(|error| error.contains("`observed`"))
    );

    let mut bad_mode = serde_json::to_value(&record).expect("encodes");
    bad_mode["mode"] = serde_json::json!("auto");
    assert!(!check(&bad_mode).is_empty());

    let mut extra = serde_json::to_value(&record).expect("encodes");
    extra["surprise"] = serde_json::json!(1);
    assert!(
        check(&extra)
            .iter()
            .any(|error| error.contains("`surprise`"))
    );

    let mut bad_action = serde_json::to_value(&record).expect("encodes");
    bad_action["action"] = serde_json::json!({ "kind": "scale", "workload": "a/b", "to": 3 });
    assert!(!check(&bad_action).is_empty());
}
