//! Differences between JSON values (as readable changes and as JSON Patch), JSON pointer
//! patterns with `*`, and the CPU and memory a set of manifests requests.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::k8s::{self, quantity};
use crate::load::pointer::escape_segment;

/// One difference between two JSON values.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Change {
    /// JSON pointer to where the values differ.
    pub path: String,
    /// The value before (absent: it was added).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The value after (absent: it was removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// One RFC 6902 JSON Patch operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum PatchOp {
    /// Adds `value` at `path`.
    Add {
        /// Where.
        path: String,
        /// What.
        value: Value,
    },
    /// Removes what is at `path`.
    Remove {
        /// Where.
        path: String,
    },
    /// Replaces what is at `path` by `value`.
    Replace {
        /// Where.
        path: String,
        /// What.
        value: Value,
    },
}

/// The changes that turn `before` into `after`, in an order that is also a valid JSON Patch:
/// mappings key by key, lists item by item, with trailing items removed from the end. With
/// `fine`, a mapping or list present on one side only is compared against an empty one, so
/// each of its entries is a change of its own.
pub(crate) fn diff(before: &Value, after: &Value, fine: bool) -> Vec<Change> {
    let mut out = Vec::new();
    walk(before, after, &mut String::new(), fine, &mut out);
    out
}

fn walk(before: &Value, after: &Value, at: &mut String, fine: bool, out: &mut Vec<Change>) {
    let len = at.len();
    match (before, after) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                at.push('/');
                at.push_str(&escape_segment(k));
                match y.get(k) {
                    Some(w) => walk(v, w, at, fine, out),
                    None => one_side(Some(v), None, at, fine, out),
                }
                at.truncate(len);
            }
            for (k, w) in y.iter().filter(|(k, _)| !x.contains_key(*k)) {
                at.push('/');
                at.push_str(&escape_segment(k));
                one_side(None, Some(w), at, fine, out);
                at.truncate(len);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                at.push_str(&format!("/{i}"));
                walk(v, w, at, fine, out);
                at.truncate(len);
            }
            for (i, v) in x.iter().enumerate().skip(y.len()).rev() {
                at.push_str(&format!("/{i}"));
                one_side(Some(v), None, at, fine, out);
                at.truncate(len);
            }
            for (i, w) in y.iter().enumerate().skip(x.len()) {
                at.push_str(&format!("/{i}"));
                one_side(None, Some(w), at, fine, out);
                at.truncate(len);
            }
        }
        _ if before == after => {}
        _ => out.push(Change { path: at.clone(), before: Some(before.clone()), after: Some(after.clone()) }),
    }
}

/// A value present on one side only.
fn one_side(before: Option<&Value>, after: Option<&Value>, at: &mut String, fine: bool, out: &mut Vec<Change>) {
    let empty = |v: &Value| match v {
        Value::Object(_) => Some(Value::Object(Map::new())),
        Value::Array(_) => Some(Value::Array(Vec::new())),
        _ => None,
    };
    match (before, after) {
        (Some(v), None) if fine && !is_empty(v) => {
            if let Some(e) = empty(v) {
                return walk(v, &e, at, fine, out);
            }
        }
        (None, Some(w)) if fine && !is_empty(w) => {
            if let Some(e) = empty(w) {
                return walk(&e, w, at, fine, out);
            }
        }
        _ => {}
    }
    out.push(Change { path: at.clone(), before: before.cloned(), after: after.cloned() });
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => true,
    }
}

/// The changes as a JSON Patch.
pub(crate) fn patch(changes: &[Change]) -> Vec<PatchOp> {
    changes
        .iter()
        .map(|c| match (&c.before, &c.after) {
            (None, Some(v)) => PatchOp::Add { path: c.path.clone(), value: v.clone() },
            (Some(_), None) | (None, None) => PatchOp::Remove { path: c.path.clone() },
            (Some(_), Some(v)) => PatchOp::Replace { path: c.path.clone(), value: v.clone() },
        })
        .collect()
}

/// The CPU (millicores) and memory (bytes) that manifests request at their declared scale: each
/// pod's requests (containers summed, or the largest init container if more) times its replicas
/// (`replicas`, or a Job's `parallelism`; one for a DaemonSet, counted per node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Requests {
    /// CPU in millicores.
    pub cpu_millis: u64,
    /// Memory in bytes.
    pub memory_bytes: u64,
}

impl Requests {
    /// Requests of `cpu_millis` millicores and `memory_bytes` bytes.
    pub fn new(cpu_millis: u64, memory_bytes: u64) -> Self {
        Requests { cpu_millis, memory_bytes }
    }

    /// The CPU as Kubernetes writes it: `750m`, or `2` for whole cores.
    pub fn cpu(&self) -> String {
        k8s::format_cpu(self.cpu_millis)
    }

    /// The memory in the largest binary unit that divides it: `768Mi`, `2Gi`.
    pub fn memory(&self) -> String {
        k8s::format_memory(self.memory_bytes)
    }

    /// What `manifests` request.
    pub fn of(manifests: &[Value]) -> Requests {
        let mut total = Requests::default();
        for m in manifests {
            let text = |key: &str| m.get(key).and_then(Value::as_str).unwrap_or_default();
            let (api_version, kind) = (text("apiVersion"), text("kind"));
            let Some(pod) = k8s::pod_spec(api_version, kind).and_then(|p| m.pointer(&p)) else { continue };
            let (group, _) = k8s::split_api_version(api_version);
            let scale = k8s::controller(group, kind)
                .and_then(|c| c.replicas)
                .and_then(|p| m.pointer(p))
                .and_then(Value::as_u64)
                .unwrap_or(1);
            let sum = |key: &str, field: &str| -> (f64, f64) {
                let requests = |c: &Value| c.pointer(&format!("/resources/requests/{field}")).and_then(quantity);
                let list = pod.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                let each = list.iter().map(|c| requests(c).unwrap_or(0.0));
                (each.clone().sum(), each.fold(0.0, f64::max))
            };
            for (field, into, unit) in
                [("cpu", &mut total.cpu_millis, 1000.0), ("memory", &mut total.memory_bytes, 1.0)]
            {
                let per_pod = sum("containers", field).0.max(sum("initContainers", field).1);
                *into += (per_pod * unit).round() as u64 * scale;
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fine_diffs_split_one_sided_containers() {
        let a = json!({"x": 1});
        let b = json!({"x": 1, "env": [{"name": "A"}]});
        assert_eq!(diff(&a, &b, false).len(), 1);
        let fine = diff(&a, &b, true);
        assert_eq!(fine, vec![Change { path: "/env/0/name".into(), before: None, after: Some(json!("A")) }]);
    }
}
