//! Pulumi previews, as `pulumi preview --json` writes them, read as documents policies match
//! like manifests: one per step on a cloud resource.
//!
//! A step becomes
//!
//! ```yaml
//! apiVersion: pulumi/aws                  # `pulumi/` and the type's package
//! kind: aws:s3/bucket:Bucket              # the type token
//! metadata: {name: exports, labels: {owner: data}}   # the logical name; its string tags
//! values: {acl: private, bucket: exports} # the step's new inputs (the old ones for a delete)
//! pulumi: {urn: ..., type: ..., op: create, parent: ..., provider: ...}
//! ```
//!
//! Pulumi writes a value known only after the update as one of its sentinel strings; each is
//! the [`unknown`](super::unknown::unknown) marker here, so a rule that reads one is `unknown`.
//! Policies match a type as `pulumi/*/aws:s3/bucket:Bucket`.

use serde_json::{json, Map, Value};

use super::cloud::{metadata, Action, Change, PULUMI};
use super::origin::{Origin, Sourced};
use super::unknown::unknown;
use crate::error::Diagnostic;

/// The strings Pulumi writes for a value not known during a preview, by the type it will have.
const UNKNOWNS: [&str; 7] = [
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string (and any value, in a serialized state)
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
    "030794c1-ac77-496b-92df-f27374a8bd58", // asset
    "e48ece36-62e2-4504-bad9-02848725956a", // archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
];

/// The key that marks a secret in a serialized Pulumi value, and its signature.
const SIG_KEY: &str = "4dabf18193072939515e22adb298388d";
const SECRET_SIG: &str = "1b47061264138c4ac30d75fd1eb44270";

/// Whether a document is a preview: `steps` whose items carry an `op` and a Pulumi URN.
pub(crate) fn is_preview(v: &Value) -> bool {
    v.get("steps").and_then(Value::as_array).is_some_and(|steps| {
        !steps.is_empty()
            && steps.iter().all(|s| {
                s.get("op").is_some_and(Value::is_string)
                    && s.get("urn").and_then(Value::as_str).is_some_and(|u| u.starts_with("urn:pulumi:"))
            })
    })
}

/// The steps of a preview on cloud resources (not components, providers or the stack), each
/// with the place in the preview it was written; every problem with its place.
pub(crate) fn read(doc: &Sourced) -> Result<Vec<Change>, Vec<Diagnostic>> {
    let steps = doc.value.get("steps").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let replaced: Vec<&str> =
        steps.iter().filter(|s| op(s) == "replace").filter_map(|s| s.get("urn").and_then(Value::as_str)).collect();
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    for (i, s) in steps.iter().enumerate() {
        let origin = Origin { base: format!("{}/steps/{i}", doc.origin.base), ..doc.origin.clone() };
        let urn = s.get("urn").and_then(Value::as_str).unwrap_or_default();
        let action = match op(s) {
            "create" | "import" => Action::Create,
            "update" | "same" | "replace" => Action::Update,
            // A replacement is judged once, as its `replace` step, when the preview has one.
            "create-replacement" if !replaced.contains(&urn) => Action::Update,
            "delete" => Action::Delete,
            "create-replacement"
            | "delete-replaced"
            | "read"
            | "read-replacement"
            | "refresh"
            | "discard"
            | "remove-pending-replace"
            | "import-replacement" => continue,
            other => {
                problems.push(origin.diagnostic("/op", format!("`{other}` is not a step of a preview"), None));
                continue;
            }
        };
        let state = if action == Action::Delete { s.get("oldState") } else { s.get("newState") };
        let Some(state) = state.filter(|st| st.get("custom") == Some(&Value::Bool(true))) else { continue };
        let kind = state.get("type").and_then(Value::as_str).unwrap_or_default();
        if kind.is_empty() || kind.starts_with("pulumi:") {
            continue;
        }
        let side = if action == Action::Delete { "oldState" } else { "newState" };
        let value = document(s, state, urn, kind);
        let before = (action == Action::Update)
            .then(|| s.get("oldState").filter(|o| o.is_object()))
            .flatten()
            .map(|old| document(s, old, urn, kind));
        let origin = origin.renamed(vec![
            ("/values".into(), format!("/{side}/inputs")),
            ("/kind".into(), format!("/{side}/type")),
            ("/metadata".into(), "/urn".into()),
            ("/pulumi".into(), String::new()),
        ]);
        out.push(Change { value, before, action, origin });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn op(step: &Value) -> &str {
    step.get("op").and_then(Value::as_str).unwrap_or_default()
}

/// A resource's state in a step as a document.
fn document(step: &Value, state: &Value, urn: &str, kind: &str) -> Value {
    let values = state.get("inputs").cloned().map_or_else(|| Value::Object(Map::new()), read_value);
    let name = urn.rsplit("::").next().unwrap_or(urn);
    let package = kind.split(':').next().unwrap_or(kind);
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    json!({
        "apiVersion": format!("{PULUMI}/{package}"),
        "kind": kind,
        "metadata": metadata(name, &values),
        "values": values,
        "pulumi": {
            "urn": urn,
            "type": kind,
            "op": op(step),
            "parent": text(state.get("parent")),
            "provider": text(state.get("provider").or_else(|| step.get("provider"))),
        },
    })
}

/// A serialized Pulumi value as paved reads it: its unknown sentinels as the unknown marker,
/// its secrets as their value.
pub(crate) fn read_value(v: Value) -> Value {
    match v {
        Value::String(s) if UNKNOWNS.contains(&s.as_str()) => unknown(),
        Value::Array(items) => Value::Array(items.into_iter().map(read_value).collect()),
        Value::Object(mut m) => {
            if m.get(SIG_KEY).and_then(Value::as_str) == Some(SECRET_SIG) {
                return m.remove("value").map_or(Value::Null, read_value);
            }
            Value::Object(m.into_iter().map(|(k, v)| (k, read_value(v))).collect())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::super::unknown::is_unknown;
    use super::*;

    #[test]
    fn sentinels_are_unknown_and_secrets_their_value() {
        let v = read_value(json!({
            "a": "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
            "b": ["dd056dcd-154b-4c76-9bd3-c8f88648b5ff", "x"],
            "c": {SIG_KEY: SECRET_SIG, "value": "hunter2"},
        }));
        assert!(is_unknown(&v["a"]) && is_unknown(&v["b"][0]));
        assert_eq!((v["b"][1].as_str(), v["c"].as_str()), (Some("x"), Some("hunter2")));
    }
}
