//! Server-side apply's merge, as the API server merges a MutatingAdmissionPolicy's
//! `applyConfiguration` into the object: objects field by field, lists by their schema's
//! `x-kubernetes-list-type` (`map`: items paired by their `x-kubernetes-list-map-keys`; `set`:
//! a union; `atomic`, the default: replaced). An apply configuration may not hold an atomic
//! list, map or struct at all (it would delete what it does not name): that is refused, as the
//! API server refuses it. A kind without a schema is merged as Kubernetes deduces one: objects
//! by field, every list atomic.

use serde_json::Value;

use super::schema::{self, Crds, Field, Version};

/// The schema of an object's kind: Kubernetes' own, or its CustomResourceDefinition's.
struct Typed {
    version: &'static Version,
    /// Whether the kind is Kubernetes' own (stored through its Go types), not a custom one.
    builtin: bool,
}

/// `config` merged into `live` (both objects with `apiVersion` and `kind`), or why not, worded
/// as the API server words it.
pub(crate) fn apply(live: &Value, config: &Value, crds: &Crds) -> Result<Value, String> {
    let version = schema::version("latest").map_err(|e| format!("error applying patch: {e}"))?;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (api_version, kind) = (text(live, "apiVersion"), text(live, "kind"));
    let builtin = version.kind_schema(&api_version, &kind);
    let root = builtin.or_else(|| crds.raw_schema(&api_version, &kind));
    let typed = Typed { version, builtin: builtin.is_some() };
    let mut unknown = Vec::new();
    let mut atomics = Vec::new();
    typed.find(root, config, &mut String::new(), &mut unknown, &mut atomics);
    if let Some(first) = unknown.first() {
        return Err(format!("error applying patch: failed to convert patch object to typed object: {first}"));
    }
    if !atomics.is_empty() {
        return Err(format!(
            "error applying patch: invalid ApplyConfiguration: may not mutate atomic arrays, maps or structs: {}",
            atomics.join(", ")
        ));
    }
    Ok(typed.merge(root, live, config))
}

/// What a schema node says a list is.
enum ListType<'a> {
    Atomic,
    Set,
    Map(Vec<&'a str>),
}

impl Typed {
    fn node<'s>(&self, schema: Option<&'s Value>) -> Option<&'s Value> {
        schema.map(|s| self.version.resolve_refs(s))
    }

    fn child<'s>(&self, schema: Option<&'s Value>, key: &str) -> Result<Option<&'s Value>, Option<String>> {
        match schema.map(|s| self.version.field(s, key)) {
            None | Some(Field::Open) => Ok(None),
            Some(Field::Known(s)) => Ok(Some(s)),
            Some(Field::Unknown(help)) => Err(help),
        }
    }

    fn items<'s>(&self, schema: Option<&'s Value>) -> Option<&'s Value> {
        schema.and_then(|s| self.version.items(s))
    }

    fn list_type<'s>(&self, schema: Option<&'s Value>) -> ListType<'s> {
        let Some(node) = self.node(schema) else { return ListType::Atomic };
        match node.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => ListType::Map(
                node.get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|keys| keys.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default(),
            ),
            _ => ListType::Atomic,
        }
    }

    fn atomic_map(&self, schema: Option<&Value>) -> bool {
        self.node(schema).and_then(|n| n.get("x-kubernetes-map-type")).and_then(Value::as_str) == Some("atomic")
    }

    /// The fields `config` has that its schema does not declare, and the atomic lists, maps
    /// and structs it holds, as paths written `.spec.containers[0].args`.
    fn find(
        &self,
        schema: Option<&Value>,
        config: &Value,
        at: &mut String,
        unknown: &mut Vec<String>,
        atomics: &mut Vec<String>,
    ) {
        let len = at.len();
        match config {
            Value::Object(fields) => {
                if self.atomic_map(schema) {
                    atomics.push(at.clone());
                }
                for (key, value) in fields {
                    at.push('.');
                    at.push_str(key);
                    match self.child(schema, key) {
                        Ok(child) => self.find(child, value, at, unknown, atomics),
                        Err(help) => {
                            let help = help.map(|h| format!(" ({h})")).unwrap_or_default();
                            unknown.push(format!("{at}: field not declared in schema{help}"));
                        }
                    }
                    at.truncate(len);
                }
            }
            Value::Array(items) => {
                if matches!(self.list_type(schema), ListType::Atomic) {
                    atomics.push(at.clone());
                    return;
                }
                let item_schema = self.items(schema);
                for (i, item) in items.iter().enumerate() {
                    at.push_str(&format!("[{i}]"));
                    self.find(item_schema, item, at, unknown, atomics);
                    at.truncate(len);
                }
            }
            _ => {}
        }
    }

    fn merge(&self, schema: Option<&Value>, live: &Value, config: &Value) -> Value {
        match (live, config) {
            (Value::Object(have), Value::Object(want)) => {
                let mut out = have.clone();
                for (key, value) in want {
                    let child = self.child(schema, key).ok().flatten();
                    let merged = match have.get(key) {
                        Some(old) => self.merge(child, old, value),
                        // An empty list or map where there was none is no field once the object
                        // is stored (Kubernetes' types leave empty optional fields out).
                        None if self.builtin && is_empty(value) => continue,
                        None => value.clone(),
                    };
                    out.insert(key.clone(), merged);
                }
                Value::Object(out)
            }
            (Value::Array(have), Value::Array(want)) => match self.list_type(schema) {
                ListType::Atomic => config.clone(),
                ListType::Set => {
                    let mut out = have.clone();
                    out.extend(want.iter().filter(|v| !have.contains(v)).cloned());
                    Value::Array(out)
                }
                ListType::Map(keys) => {
                    let item_schema = self.items(schema);
                    let key_of = |item: &Value| key_of(self.node(item_schema), item, &keys);
                    let mut out = have.clone();
                    for item in want {
                        let k = key_of(item);
                        match out.iter_mut().find(|old| key_of(old) == k) {
                            Some(old) => *old = self.merge(item_schema, old, item),
                            None => out.push(item.clone()),
                        }
                    }
                    Value::Array(out)
                }
            },
            _ => config.clone(),
        }
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    }
}

/// An item's key in a list of `x-kubernetes-list-type: map`: its key fields' values, or their
/// schema defaults where it leaves them out (a port's `protocol` is `TCP`).
fn key_of(item_schema: Option<&Value>, item: &Value, keys: &[&str]) -> Vec<Value> {
    keys.iter()
        .map(|k| {
            item.get(*k).cloned().unwrap_or_else(|| {
                item_schema.and_then(|s| s.pointer(&format!("/properties/{k}/default"))).cloned().unwrap_or(Value::Null)
            })
        })
        .collect()
}

/// JSON Patch operations applied to `object` in order, as the API server applies a
/// MutatingAdmissionPolicy's: RFC 6902 with the library's leniencies kept (a `replace` of a key an
/// object lacks adds it; a negative array index counts from the end). `None` when a `test` does
/// not hold: then nothing is applied, and that is no error.
pub(crate) fn json_patch(object: &Value, operations: Value) -> Result<Option<Value>, String> {
    let patch: json_patch::Patch = serde_json::from_value(operations)
        .map_err(|e| format!("the expression gave no list of JSONPatch operations: {e}"))?;
    let mut out = object.clone();
    for (i, op) in patch.0.into_iter().enumerate() {
        let op = lenient(&out, op);
        match json_patch::patch(&mut out, &[op]) {
            Ok(()) => {}
            Err(e) if matches!(e.kind, json_patch::PatchErrorKind::TestFailed) => return Ok(None),
            Err(e) => return Err(format!("JSON Patch: operation {i} failed at {}: {}", e.path, e.kind)),
        }
    }
    Ok(Some(out))
}

/// An operation with the API server's leniencies made explicit.
fn lenient(doc: &Value, op: json_patch::PatchOperation) -> json_patch::PatchOperation {
    use json_patch::{AddOperation, PatchOperation as Op};
    let path = op.path().to_owned();
    let (Some(last), Some(parent)) = (path.back(), path.parent()) else { return op };
    let last = last.decoded().into_owned();
    match (doc.pointer(parent.as_str()), op) {
        (Some(Value::Object(m)), Op::Replace(r)) if !m.contains_key(&last) => {
            Op::Add(AddOperation { path: r.path, value: r.value })
        }
        (Some(Value::Array(items)), mut op) if last.starts_with('-') && last != "-" => {
            let Ok(n) = last.parse::<i64>() else { return op };
            let len = items.len() as i64 + i64::from(matches!(op, Op::Add(_)));
            if n >= -len {
                let at = parent.with_trailing_token((len + n).to_string());
                match &mut op {
                    Op::Add(o) => o.path = at,
                    Op::Remove(o) => o.path = at,
                    Op::Replace(o) => o.path = at,
                    Op::Move(o) => o.path = at,
                    Op::Copy(o) => o.path = at,
                    Op::Test(o) => o.path = at,
                }
            }
            op
        }
        (_, op) => op,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "1"}},
            "spec": {"containers": [{"name": "app", "image": "a:1", "args": ["x"]}],
                "tolerations": [{"key": "k", "operator": "Exists"}]}})
    }

    #[test]
    fn maps_merge_by_field_and_list_maps_by_key() {
        let config = json!({"metadata": {"labels": {"b": "2"}},
            "spec": {"containers": [{"name": "app", "image": "a:2"}, {"name": "side", "image": "s:1"}]}});
        let out = apply(&pod(), &config, &Crds::default()).unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"a": "1", "b": "2"}));
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name": "app", "image": "a:2", "args": ["x"]}, {"name": "side", "image": "s:1"}])
        );
    }

    #[test]
    fn json_patches_keep_the_api_servers_leniencies() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}, "list": [1, 2, 3]});
        let ops = json!([{"op": "replace", "path": "/data/b", "value": "2"}, {"op": "remove", "path": "/list/-1"},
            {"op": "add", "path": "/list/-1", "value": 9}]);
        let out = json_patch(&cm, ops).unwrap().unwrap();
        assert_eq!(out["data"], json!({"a": "1", "b": "2"}), "a replace of a missing key adds it");
        assert_eq!(out["list"], json!([1, 2, 9]), "negative indices count from the end");
        let test =
            json!([{"op": "test", "path": "/data/a", "value": "no"}, {"op": "add", "path": "/data/c", "value": "3"}]);
        assert_eq!(json_patch(&cm, test).unwrap(), None, "a failed test applies nothing, and is no error");
        let err = json_patch(&cm, json!([{"op": "remove", "path": "/data/zz"}])).unwrap_err();
        assert!(err.starts_with("JSON Patch: operation 0 failed at /data/zz"), "{err}");
    }

    #[test]
    fn atomic_lists_and_unknown_fields_are_refused_as_the_api_server_refuses_them() {
        let atomic = json!({"spec": {"containers": [{"name": "app", "args": ["y"]}], "tolerations": [{"key": "z"}]}});
        let err = apply(&pod(), &atomic, &Crds::default()).unwrap_err();
        assert!(
            err.ends_with("may not mutate atomic arrays, maps or structs: .spec.containers[0].args, .spec.tolerations"),
            "{err}"
        );
        let unknown = json!({"spec": {"containerz": []}});
        let err = apply(&pod(), &unknown, &Crds::default()).unwrap_err();
        assert!(err.contains(".spec.containerz: field not declared in schema (did you mean `containers`?)"), "{err}");
    }
}
