//! What names an object and what is done to it: its identity and the admission operation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Identity of a resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ResourceRef {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace` (empty when none).
    pub namespace: String,
    /// `metadata.name` (or `generateName`).
    pub name: String,
}

impl std::fmt::Display for ResourceRef {
    /// `Kind/namespace/name`, or `Kind/name` for a cluster-scoped object (as tests name them).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// An admission operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operation {
    /// Create (also what `paved check` assumes).
    #[default]
    Create,
    /// Update.
    Update,
    /// Delete.
    Delete,
    /// Connect.
    Connect,
}

impl Operation {
    /// The Kubernetes spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }
}

impl std::str::FromStr for Operation {
    type Err = String;

    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`, in any case.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [Operation::Create, Operation::Update, Operation::Delete, Operation::Connect]
            .into_iter()
            .find(|o| o.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("operation `{name}` is not CREATE, UPDATE, DELETE or CONNECT"))
    }
}

/// Splits `apiVersion` into group and version (`v1` is the core group).
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}
