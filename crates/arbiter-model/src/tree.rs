//! One regression tree of a `gbtree` model: reading it from XGBoost JSON and walking it.

use serde_json::value::RawValue;

use crate::error::ModelError;
use crate::json;

/// `left_children` value of a leaf in XGBoost JSON.
const JSON_LEAF: i64 = -1;

/// Child index that marks a leaf in [`Node`].
const LEAF: u32 = u32::MAX;

/// A tree node. For a leaf, `left` is [`LEAF`] and `value` is the leaf value. For a split,
/// `value` is the threshold and `missing` is the child that takes a missing (NaN) feature.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    value: f32,
    feature: u32,
    left: u32,
    right: u32,
    missing: u32,
}

/// A regression tree with scalar leaves, validated so that every walk from the root ends at a
/// leaf and reads only features below the model's feature count.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    /// Returns the leaf value that `row` reaches.
    ///
    /// A NaN feature follows the node's `default_left`; otherwise a row goes left when its
    /// value is below the threshold (`value < split_condition` in `f32`, as XGBoost compares).
    /// `row` must have at least the model's feature count, which the callers check.
    #[inline]
    pub(crate) fn leaf_value(&self, row: &[f32]) -> f32 {
        let mut node = &self.nodes[0];
        while node.left != LEAF {
            let value = row[node.feature as usize];
            let next = if value.is_nan() {
                node.missing
            } else if value < node.value {
                node.left
            } else {
                node.right
            };
            node = &self.nodes[next as usize];
        }
        node.value
    }

    /// Reads `learner.gradient_booster.model.trees[index]`.
    pub(crate) fn from_json(
        raw: &RawValue,
        index: usize,
        num_feature: usize,
    ) -> Result<Self, ModelError> {
        let path = format!("learner.gradient_booster.model.trees[{index}]");
        let fields = json::object(raw, &path)?;

        let param_path = json::join(&path, "tree_param");
        let param = json::object(json::field(&fields, &path, "tree_param")?, &param_path)?;
        let num_nodes = json::count(
            json::field(&param, &param_path, "num_nodes")?,
            &json::join(&param_path, "num_nodes"),
        )?;
        check_scalar_leaves(&param, &param_path)?;
        if num_nodes == 0 {
            return Err(ModelError::InvalidField {
                field: json::join(&param_path, "num_nodes"),
                value: "0".to_owned(),
                reason: "a tree needs at least its root node".to_owned(),
            });
        }

        let column = |key: &str| -> Result<(&RawValue, String), ModelError> {
            Ok((json::field(&fields, &path, key)?, json::join(&path, key)))
        };
        let (raw_left, left_path) = column("left_children")?;
        let (raw_right, right_path) = column("right_children")?;
        let (raw_features, features_path) = column("split_indices")?;
        let (raw_conditions, conditions_path) = column("split_conditions")?;
        let (raw_default_left, default_left_path) = column("default_left")?;
        let left = json::integers(raw_left, &left_path)?;
        let right = json::integers(raw_right, &right_path)?;
        let features = json::integers(raw_features, &features_path)?;
        let conditions = json::floats32(raw_conditions, &conditions_path)?;
        let default_left = json::flags(raw_default_left, &default_left_path)?;
        check_len(&left_path, left.len(), num_nodes)?;
        check_len(&right_path, right.len(), num_nodes)?;
        check_len(&features_path, features.len(), num_nodes)?;
        check_len(&conditions_path, conditions.len(), num_nodes)?;
        check_len(&default_left_path, default_left.len(), num_nodes)?;

        // XGBoost before 1.6 wrote no split_type, and then every split is numerical.
        let split_types = match fields.get("split_type") {
            Some(raw) => {
                let split_types_path = json::join(&path, "split_type");
                let split_types = json::integers(raw, &split_types_path)?;
                check_len(&split_types_path, split_types.len(), num_nodes)?;
                split_types
            }
            None => vec![0; num_nodes],
        };

        let mut nodes = Vec::with_capacity(num_nodes);
        for node in 0..num_nodes {
            if left[node] == JSON_LEAF {
                nodes.push(Node {
                    value: conditions[node],
                    feature: 0,
                    left: LEAF,
                    right: LEAF,
                    missing: LEAF,
                });
                continue;
            }
            if split_types[node] != 0 {
                return Err(ModelError::CategoricalSplit {
                    tree: index,
                    node,
                    split_type: split_types[node],
                });
            }
            let left_child = child_index(&left_path, node, left[node], num_nodes)?;
            let right_child = child_index(&right_path, node, right[node], num_nodes)?;
            let feature = feature_index(&features_path, node, features[node], num_feature)?;
            nodes.push(Node {
                value: conditions[node],
                feature,
                left: left_child,
                right: right_child,
                missing: if default_left[node] {
                    left_child
                } else {
                    right_child
                },
            });
        }

        check_reachable_once(&nodes, &path)?;
        Ok(Tree { nodes })
    }
}

/// Rejects vector-leaf trees, which `multi_strategy="multi_output_tree"` grows. XGBoost writes
/// `size_leaf_vector` 1 (hessboost 0.4.6 writes 0) for scalar leaves.
fn check_scalar_leaves(param: &json::Object<'_>, param_path: &str) -> Result<(), ModelError> {
    let Some(raw) = param.get("size_leaf_vector") else {
        return Ok(());
    };
    let field = json::join(param_path, "size_leaf_vector");
    let size = json::count(raw, &field)?;
    if size > 1 {
        return Err(ModelError::InvalidField {
            field,
            value: size.to_string(),
            reason: "vector-leaf trees (multi_strategy=\"multi_output_tree\") are not \
                     supported; train with multi_strategy=\"one_output_per_tree\""
                .to_owned(),
        });
    }
    Ok(())
}

fn check_len(field: &str, found: usize, num_nodes: usize) -> Result<(), ModelError> {
    if found == num_nodes {
        return Ok(());
    }
    Err(ModelError::InvalidField {
        field: field.to_owned(),
        value: format!("an array of {found} entries"),
        reason: format!("expected one entry per node, {num_nodes} (tree_param.num_nodes)"),
    })
}

fn child_index(field: &str, node: usize, child: i64, num_nodes: usize) -> Result<u32, ModelError> {
    match usize::try_from(child) {
        Ok(index) if index < num_nodes && index != node => Ok(index as u32),
        _ => Err(ModelError::InvalidField {
            field: format!("{field}[{node}]"),
            value: child.to_string(),
            reason: format!(
                "a child must be a node index from 0 to {} other than the node itself",
                num_nodes - 1
            ),
        }),
    }
}

fn feature_index(
    field: &str,
    node: usize,
    feature: i64,
    num_feature: usize,
) -> Result<u32, ModelError> {
    match usize::try_from(feature) {
        Ok(index) if index < num_feature => Ok(index as u32),
        _ => Err(ModelError::InvalidField {
            field: format!("{field}[{node}]"),
            value: feature.to_string(),
            reason: format!(
                "the split feature must be below learner_model_param.num_feature ({num_feature})"
            ),
        }),
    }
}

/// Checks that a walk from the root reaches every node at most once, so the tree has no cycle
/// and [`Tree::leaf_value`] always ends.
fn check_reachable_once(nodes: &[Node], path: &str) -> Result<(), ModelError> {
    let mut reached = vec![false; nodes.len()];
    let mut pending = vec![0u32];
    reached[0] = true;
    while let Some(index) = pending.pop() {
        let node = nodes[index as usize];
        if node.left == LEAF {
            continue;
        }
        for child in [node.left, node.right] {
            if reached[child as usize] {
                return Err(ModelError::InvalidField {
                    field: format!("{path}.left_children and right_children"),
                    value: format!("node {child}"),
                    reason: format!(
                        "node {child} is reached twice from the root (through node {index}), \
                         so the tree has a cycle or a shared child"
                    ),
                });
            }
            reached[child as usize] = true;
            pending.push(child);
        }
    }
    Ok(())
}
