//! Lists as Kubernetes merges them: a list whose schema names merge keys
//! (`x-kubernetes-list-map-keys`, or the patch merge key of a list of maps: containers and env
//! by `name`, ports by `containerPort` and `protocol`, volume mounts by `mountPath`) is a set of
//! items known by their keys, not by their positions. [`keyed`] writes such lists as mappings
//! from key to item, so a diff or a three-way merge pairs items by what they are; [`unkeyed`]
//! turns them back into lists, in the mapping's order.

use serde_json::{Map, Value};

use super::schema::{self, Field, Version};

/// `value` (an object with `apiVersion` and `kind`) with every list Kubernetes merges by key
/// written as a mapping from the item's key (the key fields' values, joined by `,`) to the
/// item. A list with an item that has no key, or two items with one key, stays a list. An
/// object of a kind paved has no schema for is returned as it is.
pub(crate) fn keyed(value: &Value) -> Value {
    match kind_schema(value) {
        Some((version, schema)) => to_keyed(version, schema, value),
        None => value.clone(),
    }
}

/// The object [`keyed`] was given back: its keyed lists lists again.
pub(crate) fn unkeyed(value: &Value) -> Value {
    match kind_schema(value) {
        Some((version, schema)) => from_keyed(version, schema, value),
        None => value.clone(),
    }
}

/// The pointer into `real` of what `path` names in `keyed(real)`: each key of a keyed list
/// becomes the item's index. `None` when `real` has nothing there.
pub(crate) fn real_path(real: &Value, keyed: &Value, path: &str) -> Option<String> {
    let (mut r, mut k) = (real, keyed);
    let mut out = String::new();
    for segment in path.split('/').skip(1) {
        let key = crate::load::pointer::unescape_segment(segment);
        match (r, k) {
            (Value::Array(items), Value::Object(by_key)) => {
                let i = by_key.keys().position(|x| *x == key)?;
                out.push_str(&format!("/{i}"));
                r = items.get(i)?;
                k = by_key.get(&key)?;
            }
            _ => {
                out.push('/');
                out.push_str(segment);
                r = match r {
                    Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                    other => other.get(&key)?,
                };
                k = match k {
                    Value::Array(items) => items.get(key.parse::<usize>().ok()?)?,
                    other => other.get(&key)?,
                };
            }
        }
    }
    Some(out)
}

fn kind_schema(value: &Value) -> Option<(&'static Version, &'static Value)> {
    let api_version = value.get("apiVersion")?.as_str()?;
    let kind = value.get("kind")?.as_str()?;
    let version = schema::version("latest").ok()?;
    Some((version, version.kind_schema(api_version, kind)?))
}

/// The merge keys of the list a schema node describes, if its items are merged by key.
fn merge_keys(version: &Version, schema: &'static Value) -> Option<Vec<&'static str>> {
    let schema = version.resolve_refs(schema);
    if let Some(keys) = schema.get("x-kubernetes-list-map-keys").and_then(Value::as_array) {
        return keys.iter().map(Value::as_str).collect();
    }
    let merge = schema.get("x-kubernetes-patch-merge-key").and_then(Value::as_str)?;
    let strategy = schema.get("x-kubernetes-patch-strategy").and_then(Value::as_str).unwrap_or_default();
    (strategy.split(',').any(|s| s == "merge")
        && schema.get("x-kubernetes-list-type").and_then(Value::as_str) != Some("atomic"))
    .then(|| vec![merge])
}

/// An item's key: its key fields' values joined by `,`. A missing one is empty, except
/// `protocol`, which the API server defaults to `TCP` (so a port written without it and the
/// same port read back from a cluster are one port).
fn key_of(item: &Value, keys: &[&str]) -> Option<String> {
    let item = item.as_object()?;
    let parts: Vec<String> = keys
        .iter()
        .map(|k| match (item.get(*k), *k) {
            (Some(Value::String(s)), _) => s.clone(),
            (Some(Value::Null) | None, "protocol") => "TCP".to_owned(),
            (Some(Value::Null) | None, _) => String::new(),
            (Some(other), _) => other.to_string(),
        })
        .collect();
    parts.iter().any(|p| !p.is_empty()).then(|| parts.join(","))
}

/// An object's fields, each passed through `f` with its schema (as it is where the schema
/// does not declare it).
fn fields(
    version: &'static Version,
    schema: &'static Value,
    m: &Map<String, Value>,
    f: fn(&'static Version, &'static Value, &Value) -> Value,
) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| match version.field(schema, k) {
                Field::Known(s) => (k.clone(), f(version, s, v)),
                _ => (k.clone(), v.clone()),
            })
            .collect(),
    )
}

fn to_keyed(version: &'static Version, schema: &'static Value, value: &Value) -> Value {
    match value {
        Value::Object(m) => fields(version, schema, m, to_keyed),
        Value::Array(items) => {
            let converted: Vec<Value> = match version.items(schema) {
                Some(s) => items.iter().map(|i| to_keyed(version, s, i)).collect(),
                None => items.clone(),
            };
            let Some(keys) = merge_keys(version, schema) else { return Value::Array(converted) };
            let mut by_key = Map::new();
            for item in &converted {
                match key_of(item, &keys) {
                    Some(k) if !by_key.contains_key(&k) => {
                        by_key.insert(k, item.clone());
                    }
                    _ => return Value::Array(converted),
                }
            }
            Value::Object(by_key)
        }
        other => other.clone(),
    }
}

fn from_keyed(version: &'static Version, schema: &'static Value, value: &Value) -> Value {
    let items = version.items(schema);
    match value {
        // A keyed list: its items, in order.
        Value::Object(by_key) if items.is_some() && merge_keys(version, schema).is_some() => Value::Array(
            by_key.values().map(|i| items.map_or_else(|| i.clone(), |s| from_keyed(version, s, i))).collect(),
        ),
        Value::Object(m) => fields(version, schema, m, from_keyed),
        Value::Array(list) => match items {
            Some(s) => Value::Array(list.iter().map(|i| from_keyed(version, s, i)).collect()),
            None => value.clone(),
        },
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn containers_env_and_ports_are_keyed_and_come_back_as_they_were() {
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "a:1",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "args": ["--x", "--y"]}]}}}});
        let k = keyed(&deployment);
        assert_eq!(k.pointer("/spec/template/spec/containers/app/env/B/value"), Some(&json!("2")));
        assert_eq!(k.pointer("/spec/template/spec/containers/app/ports/8080,TCP/containerPort"), Some(&json!(8080)));
        assert_eq!(k.pointer("/spec/template/spec/containers/app/args/1"), Some(&json!("--y")), "args stay a list");
        assert_eq!(unkeyed(&k), deployment);
        assert_eq!(
            real_path(&deployment, &k, "/spec/template/spec/containers/app/env/B/value").as_deref(),
            Some("/spec/template/spec/containers/0/env/1/value")
        );
        // Two items with one key: the list stays a list.
        let mut twice = deployment.clone();
        twice["spec"]["template"]["spec"]["containers"][0]["env"][1]["name"] = json!("A");
        assert!(keyed(&twice).pointer("/spec/template/spec/containers/app/env/0").is_some());
    }
}
