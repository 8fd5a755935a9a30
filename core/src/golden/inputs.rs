//! Inputs given as text beside an inputs file (`paved generate --input`, Argo CD's parameters):
//! each a dotted path and a value read as the golden path's inputs schema types it.

use serde_json::{Map, Value};

use crate::error::Diagnostics;

/// An input set over (or, as a default, under) an inputs file's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSet {
    /// A dotted path of the inputs: `image`, `scaling.min`.
    pub path: String,
    /// The value as text: `3` is an integer where the schema asks for one, a string where it
    /// asks for a string; an array or object is JSON.
    pub text: String,
    /// Set only where the file gives no value and the schema declares the input (Argo CD's
    /// application name as `name`); otherwise it replaces the file's value.
    pub default: bool,
}

impl InputSet {
    /// An input set over the file's.
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        Self { path: path.into(), text: text.into(), default: false }
    }

    /// An input the file's own value, if any, wins over.
    pub fn default(path: impl Into<String>, text: impl Into<String>) -> Self {
        Self { default: true, ..Self::new(path, text) }
    }
}

/// `inputs` with every set applied, in order; the paths applied (a default the file's value
/// wins over is not); an error names the input and why.
pub(super) fn apply<'s>(inputs: &mut Value, schema: &Value, sets: &'s [InputSet]) -> Result<Vec<&'s str>, String> {
    let mut applied = Vec::new();
    for set in sets {
        let keys: Vec<&str> = set.path.split('.').collect();
        if keys.iter().any(|k| k.is_empty()) {
            return Err(format!("input `{}`: a path is keys joined by dots, such as `scaling.min`", set.path));
        }
        let at = keys.iter().try_fold(schema, |s, k| s.get("properties").and_then(|p| p.get(*k)));
        if set.default && (at.is_none() || lookup(inputs, &keys).is_some()) {
            continue;
        }
        let value =
            typed(at.unwrap_or(&Value::Null), &set.text).map_err(|why| format!("input `{}`: {why}", set.path))?;
        put(inputs, &keys, value).map_err(|why| format!("input `{}`: {why}", set.path))?;
        applied.push(set.path.as_str());
    }
    Ok(applied)
}

/// `diags` with each problem of an input `applied` placed at that input (`<input scaling.min>`),
/// not at the file's line it replaced.
pub(super) fn placed(mut diags: Diagnostics, applied: &[&str]) -> Diagnostics {
    for d in &mut diags.0 {
        let Some(pointer) = d.pointer.as_deref() else { continue };
        let set = applied.iter().rev().find(|path| {
            let at = format!("/{}", path.replace('.', "/"));
            pointer == at || pointer.starts_with(&format!("{at}/"))
        });
        if let Some(path) = set {
            d.file = format!("<input {path}>").into();
            (d.line, d.column) = (0, 0);
        }
    }
    diags
}

fn lookup<'v>(inputs: &'v Value, keys: &[&str]) -> Option<&'v Value> {
    keys.iter().try_fold(inputs, |v, k| v.get(*k))
}

/// Sets `keys` in `inputs`, making the objects on the way.
fn put(inputs: &mut Value, keys: &[&str], value: Value) -> Result<(), String> {
    let not_object = |depth: usize| match keys.get(..depth) {
        Some(above) if depth > 0 => format!("`{}` is not an object in the inputs", above.join(".")),
        _ => "the inputs are not a mapping".to_owned(),
    };
    let Some((last, parents)) = keys.split_last() else { return Ok(()) };
    let mut at = inputs;
    for (depth, key) in parents.iter().enumerate() {
        let Value::Object(map) = at else { return Err(not_object(depth)) };
        at = map.entry(*key).or_insert_with(|| Value::Object(Map::new()));
    }
    let Value::Object(map) = at else { return Err(not_object(parents.len())) };
    map.insert((*last).to_owned(), value);
    Ok(())
}

/// `text` as the schema at its input types it; a string where the schema says nothing.
fn typed(schema: &Value, text: &str) -> Result<Value, String> {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let wants = |t: &str| types.contains(&t);
    if types.is_empty() || wants("string") {
        return Ok(Value::String(text.to_owned()));
    }
    let trimmed = text.trim();
    if wants("integer") {
        if let Ok(n) = trimmed.parse::<i64>() {
            return Ok(n.into());
        }
    }
    if wants("number") {
        if let Some(n) = trimmed.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            return Ok(Value::Number(n));
        }
    }
    if wants("boolean") && matches!(trimmed, "true" | "false") {
        return Ok(Value::Bool(trimmed == "true"));
    }
    if wants("array") || wants("object") {
        if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
            return Ok(match v {
                Value::Array(items) => Value::Array(typed_items(schema.get("items"), items)?),
                other => other,
            });
        }
    }
    Err(format!("`{text}` is not {}", types.iter().map(|t| article(t)).collect::<Vec<_>>().join(" or ")))
}

/// An array's string items typed as its `items` schema says.
fn typed_items(items: Option<&Value>, values: Vec<Value>) -> Result<Vec<Value>, String> {
    values
        .into_iter()
        .map(|v| match (items, v) {
            (Some(schema), Value::String(s)) => typed(schema, &s),
            (_, v) => Ok(v),
        })
        .collect()
}

fn article(json_type: &str) -> String {
    match json_type {
        "integer" => "an integer".to_owned(),
        "object" | "array" => format!("an {json_type} (as JSON)"),
        other => format!("a {other}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({"properties": {
            "name": {"type": "string"},
            "replicas": {"type": "integer"},
            "ratio": {"type": "number"},
            "public": {"type": "boolean"},
            "scaling": {"type": "object", "properties": {"min": {"type": "integer"}}},
            "ports": {"type": "array", "items": {"type": "integer"}},
        }})
    }

    #[test]
    fn text_is_read_as_the_schema_types_it() {
        let mut inputs = json!({"name": "a"});
        let sets = [
            InputSet::new("replicas", "3"),
            InputSet::new("ratio", "0.5"),
            InputSet::new("public", "true"),
            InputSet::new("scaling.min", "2"),
            InputSet::new("ports", r#"["80", 443]"#),
            InputSet::new("name", "007"),
            InputSet::new("other", "x"),
        ];
        assert_eq!(apply(&mut inputs, &schema(), &sets).unwrap().len(), 7);
        assert_eq!(
            inputs,
            json!({"name": "007", "replicas": 3, "ratio": 0.5, "public": true, "scaling": {"min": 2},
                   "ports": [80, 443], "other": "x"})
        );
    }

    #[test]
    fn defaults_fill_only_declared_absent_inputs() {
        let mut inputs = json!({"name": "from-file"});
        let sets = [InputSet::default("name", "app"), InputSet::default("namespace", "shop")];
        assert!(apply(&mut inputs, &schema(), &sets).unwrap().is_empty());
        assert_eq!(inputs, json!({"name": "from-file"}), "the file wins; an undeclared default is dropped");
        let mut empty = json!({});
        apply(&mut empty, &schema(), &[InputSet::default("name", "app")]).unwrap();
        assert_eq!(empty, json!({"name": "app"}));
    }

    #[test]
    fn wrong_text_names_the_input_and_the_type() {
        let e = apply(&mut json!({}), &schema(), &[InputSet::new("scaling.min", "two")]).unwrap_err();
        assert_eq!(e, "input `scaling.min`: `two` is not an integer");
        let e = apply(&mut json!({"scaling": 3}), &schema(), &[InputSet::new("scaling.min", "2")]).unwrap_err();
        assert_eq!(e, "input `scaling.min`: `scaling` is not an object in the inputs");
        assert!(apply(&mut json!({}), &schema(), &[InputSet::new("scaling.", "2")]).is_err());
    }
}
