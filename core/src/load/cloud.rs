//! What the documents paved reads from infrastructure tools (Terraform plans and HCL, Pulumi
//! previews) share: their apiVersion groups and their metadata.

use serde_json::{json, Map, Value};

use super::origin::Origin;

/// The apiVersion group of a Terraform resource's document: `terraform/<provider>`.
pub(crate) const TERRAFORM: &str = "terraform";

/// The apiVersion group of a Pulumi resource's document: `pulumi/<package>`.
pub(crate) const PULUMI: &str = "pulumi";

/// Whether an apiVersion group is one paved gives documents read from infrastructure tools
/// (not Kubernetes objects, which no Kubernetes check judges).
pub(crate) fn is_infrastructure(group: &str) -> bool {
    group == TERRAFORM || group == PULUMI
}

/// The name and labels of a resource: its address, and its tags that are known strings.
pub(super) fn metadata(address: &str, values: &Value) -> Value {
    let tags =
        ["tags_all", "tags"].iter().find_map(|k| values.get(*k).and_then(Value::as_object).filter(|t| !t.is_empty()));
    let labels: Map<String, Value> =
        tags.into_iter().flatten().filter(|(_, v)| v.is_string()).map(|(k, v)| (k.clone(), v.clone())).collect();
    if labels.is_empty() {
        json!({ "name": address })
    } else {
        json!({ "name": address, "labels": labels })
    }
}

/// What a plan or a preview does to a resource, as the admission operation it is judged for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Create,
    /// Updated in place, left as it is, or replaced: judged as it will be, with what it was.
    Update,
    /// Judged on what it was.
    Delete,
}

/// One resource change of a plan or a preview, as a document.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    /// What the resource will be; what it was, for a delete.
    pub value: Value,
    /// What it was, for an update or a replacement.
    pub before: Option<Value>,
    pub action: Action,
    pub origin: Origin,
}
