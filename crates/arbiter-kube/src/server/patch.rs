//! JSON merge patches (RFC 7396), which also serve for the strategic merge patches kubectl
//! sends for the map fields the served simulator lets clients change.

use serde_json::Value;

/// Applies a JSON merge patch to `target`: objects merge key by key, `null` removes a key,
/// anything else replaces.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let Value::Object(target_map) = target else {
        return;
    };
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// Removes strategic merge patch directives (keys starting with `$`, such as `$patch` or
/// `$setElementOrder/containers`).
// NOTE: directives are dropped, not interpreted. That is exact for the map fields the served
// simulator accepts (labels, annotations, replicas) and wrong for list merges by key.
pub(crate) fn strip_directives(patch: &mut Value) {
    match patch {
        Value::Object(map) => {
            map.retain(|key, _| !key.starts_with('$'));
            for value in map.values_mut() {
                strip_directives(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_directives),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_patch_rfc7396_cases() {
        let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut target, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(target, json!({"a": "z", "c": {"d": "e"}}));
        let mut list = json!({"a": [1, 2]});
        merge_patch(&mut list, &json!({"a": [3]}));
        assert_eq!(list, json!({"a": [3]}));
    }

    #[test]
    fn directives_are_removed() {
        let mut patch = json!({"spec": {"$setElementOrder/containers": [{"name": "app"}], "replicas": 3}, "$patch": "merge"});
        strip_directives(&mut patch);
        assert_eq!(patch, json!({"spec": {"replicas": 3}}));
    }
}
