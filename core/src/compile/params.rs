//! A policy's params: their schema (`spec.paramsSchema`, or one inferred from the defaults),
//! the CEL type `params` has under it, and the check of every value given for them.

use serde_json::{Map, Value};

use crate::cel::Ty;
use crate::error::did_you_mean;

/// A problem with params: where (a JSON pointer into them), what, and the likely fix.
pub(crate) type Problem = (String, String, Option<String>);

/// The params' schema, compiled.
#[derive(Debug)]
pub(crate) struct Params {
    /// The schema, with every object that names its properties closed to others (as
    /// Kubernetes reads a structural schema).
    schema: Value,
    validator: jsonschema::Validator,
    /// The type of `params` in expressions.
    pub ty: Ty,
}

impl Params {
    /// The schema written, or the one the defaults imply; a schema that does not compile is a
    /// problem at `/spec/paramsSchema`.
    pub(crate) fn new(written: Option<&Value>, defaults: Option<&Value>) -> Result<Params, Problem> {
        let mut schema = match written {
            Some(s) => s.clone(),
            None => infer(defaults.unwrap_or(&Value::Object(Map::new()))),
        };
        close(&mut schema);
        let validator = jsonschema::draft202012::options()
            .build(&schema)
            .map_err(|e| ("/spec/paramsSchema".to_owned(), format!("the params schema does not compile: {e}"), None))?;
        let ty = Ty::of_declared(&schema, "params").0;
        Ok(Params { schema, validator, ty })
    }

    /// Every way `value` breaks the schema: an unknown param with the closest declared one, a
    /// value of the wrong type, a bound passed.
    pub(crate) fn problems(&self, value: &Value) -> Vec<Problem> {
        let mut out = Vec::new();
        for e in self.validator.iter_errors(value) {
            let at = e.instance_path().to_string();
            if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } = e.kind() {
                let declared = properties_at(&self.schema, &at);
                for k in unexpected {
                    let help = match did_you_mean(k, declared.iter().map(String::as_str)) {
                        Some(s) => Some(format!("did you mean `{s}`?")),
                        None if declared.is_empty() => Some("the policy declares no params here".to_owned()),
                        None => Some(format!("the params here are: {}", declared.join(", "))),
                    };
                    let pointer = format!("{at}/{}", crate::load::pointer::escape_segment(k));
                    out.push((pointer, format!("there is no param `{}`", dotted(&at, k)), help));
                }
            } else {
                out.push((at, e.to_string(), None));
            }
        }
        out
    }
}

/// `over`'s keys over `base`'s, as a binding's or a run's params go over a policy's; anything
/// but a mapping replaces.
pub(crate) fn overlay(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            let mut merged = b.clone();
            merged.extend(o.iter().map(|(k, v)| (k.clone(), v.clone())));
            Value::Object(merged)
        }
        (_, over) => over.clone(),
    }
}

/// `limits.max` for the key `max` under `/limits`.
fn dotted(at: &str, key: &str) -> String {
    let mut parts: Vec<String> = at.split('/').skip(1).map(crate::load::pointer::unescape_segment).collect();
    parts.push(key.to_owned());
    parts.join(".")
}

/// The schema the defaults imply: each param with the type of its default. A list's items take
/// the type all of its items share; an empty list, `null` and a mix take any value.
fn infer(value: &Value) -> Value {
    match value {
        Value::Object(m) => {
            let properties: Map<String, Value> = m.iter().map(|(k, v)| (k.clone(), infer(v))).collect();
            serde_json::json!({"type": "object", "properties": properties})
        }
        Value::Array(items) => {
            let mut kinds = items.iter().map(infer);
            match kinds.next() {
                Some(first) if kinds.all(|k| k == first) => serde_json::json!({"type": "array", "items": first}),
                _ => serde_json::json!({"type": "array"}),
            }
        }
        Value::String(_) => serde_json::json!({"type": "string"}),
        Value::Bool(_) => serde_json::json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => serde_json::json!({"type": "integer"}),
        Value::Number(_) => serde_json::json!({"type": "number"}),
        Value::Null => serde_json::json!({}),
    }
}

/// Closes every object schema that names its properties and says nothing of others: unknown
/// fields are refused, as Kubernetes refuses them under a structural schema.
fn close(schema: &mut Value) {
    let Some(node) = schema.as_object_mut() else { return };
    let open = node.get("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool) == Some(true);
    if node.contains_key("properties") && !node.contains_key("additionalProperties") && !open {
        node.insert("additionalProperties".into(), Value::Bool(false));
    }
    for key in ["properties", "patternProperties", "$defs", "definitions"] {
        if let Some(Value::Object(children)) = node.get_mut(key) {
            children.values_mut().for_each(close);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = node.get_mut(key) {
            close(child);
        }
    }
    for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
        if let Some(Value::Array(children)) = node.get_mut(key) {
            children.iter_mut().for_each(close);
        }
    }
}

/// The properties the schema declares for the object at `pointer` of a value.
fn properties_at(schema: &Value, pointer: &str) -> Vec<String> {
    let mut node = schema;
    for segment in pointer.split('/').skip(1) {
        let segment = crate::load::pointer::unescape_segment(segment);
        node = match node.get("properties").and_then(|p| p.get(&segment)) {
            Some(n) => n,
            None => match node.get("items").or_else(|| node.get("additionalProperties")) {
                Some(n) if n.is_object() => n,
                _ => return Vec::new(),
            },
        };
    }
    node.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_defaults_imply_a_closed_schema() {
        let p = Params::new(None, Some(&json!({"max": 3, "registries": ["a/"], "limits": {"cpu": "1"}}))).unwrap();
        assert!(p.problems(&json!({"max": 5, "registries": [], "limits": {"cpu": "2"}})).is_empty());
        let problems = p.problems(&json!({"mx": 5, "max": "five", "limits": {"cpus": "2"}}));
        let said: Vec<(&str, &str, Option<&str>)> =
            problems.iter().map(|(p, m, h)| (p.as_str(), m.as_str(), h.as_deref())).collect();
        assert!(said.contains(&("/mx", "there is no param `mx`", Some("did you mean `max`?"))), "{said:?}");
        assert!(
            said.contains(&("/limits/cpus", "there is no param `limits.cpus`", Some("did you mean `cpu`?"))),
            "{said:?}"
        );
        assert!(said.iter().any(|(p, m, _)| *p == "/max" && m.contains("integer")), "{said:?}");
    }

    #[test]
    fn a_written_schema_is_used_as_kubernetes_reads_it() {
        let schema = json!({"type": "object", "properties": {
            "hosts": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 253}},
            "labels": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"team": {"type": "string"}}}}});
        let p = Params::new(Some(&schema), None).unwrap();
        assert!(p.problems(&json!({"hosts": ["a"], "labels": {"team": "x", "anything": 1}})).is_empty());
        assert_eq!(p.problems(&json!({"hostz": []}))[0].2.as_deref(), Some("did you mean `hosts`?"));
        assert!(!p.problems(&json!({"hosts": vec!["h"; 11]})).is_empty(), "maxItems holds");
        assert_eq!(p.ty.member_bound("hosts"), Some(10));
        let e = Params::new(Some(&json!({"type": "nonsense"})), None).unwrap_err();
        assert_eq!(e.0, "/spec/paramsSchema");
    }
}
