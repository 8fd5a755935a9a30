//! The documents a platform team writes: `Policy`, `PolicyException`, the bundle settings and
//! `PolicyTest`.
//!
//! These types are the schema: unknown fields are rejected, and `paved schema` prints the JSON
//! Schema generated from them. They know nothing of loading or evaluation.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod admission_policy;
mod bundle;
mod exception;
mod gatekeeper;
mod golden_path;
mod image_policy;
mod images;
mod policy;
mod test;

pub(crate) use admission_policy::*;
pub use bundle::ArtifactTrust;
pub(crate) use bundle::*;
pub(crate) use exception::*;
pub(crate) use gatekeeper::*;
pub use golden_path::*;
pub(crate) use image_policy::*;
pub(crate) use images::{image_names, requirement_id};
pub use images::{Attestation, AttestationRequest, ImageOutcome, ImageRequest, ImageVerdict, ImageVerdicts};
pub use policy::IdentitySpec;
pub(crate) use policy::*;
pub use test::*;

/// The API version every paved document carries.
pub(crate) const API_VERSION: &str = "paved.dev/v1";

/// The document kinds paved reads. Bundles hold the first three and skip `PolicyTest`
/// documents, so tests can live beside the policies they test.
pub const KINDS: &[&str] = &["Policy", "PolicyBinding", "PolicyException", "Bundle", "PolicyTest", "GoldenPath"];

/// The JSON Schema (2020-12) of a paved document kind (`Policy`, `PolicyException`, `Bundle`,
/// `PolicyTest`, `GoldenPath`), generated from these types, for editor completion.
pub(crate) fn json_schema(kind: &str) -> Option<Value> {
    let schema = match kind {
        "Policy" => schemars::schema_for!(PolicyDocument),
        "PolicyBinding" => schemars::schema_for!(BindingDocument),
        "PolicyException" => schemars::schema_for!(ExceptionDocument),
        "Bundle" => schemars::schema_for!(BundleDocument),
        "PolicyTest" => schemars::schema_for!(TestDocument),
        "GoldenPath" => schemars::schema_for!(GoldenPathDocument),
        _ => return None,
    };
    serde_json::to_value(schema).ok()
}

/// `metadata` of a paved document.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Metadata {
    /// Unique name of the document among documents of its kind.
    pub name: String,
    /// Namespace, accepted for documents kept beside Kubernetes manifests; paved ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Semantic version (`1.2.0`). Golden paths pin policies by it. Default `0.0.0`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub version: Option<semver::Version>,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium (the default).
    #[default]
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

words!(Severity, "severity" { Info => "info", Low => "low", Medium => "medium", High => "high", Critical => "critical" });

/// What a failed rule does, in the words of Kubernetes' ValidatingAdmissionPolicy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema, Default)]
pub enum Action {
    /// Reject the resource (the default).
    #[default]
    Deny,
    /// Admit it with a warning.
    Warn,
    /// Admit it and record the finding.
    Audit,
}

words!(Action, "action" { Deny => "Deny", Warn => "Warn", Audit => "Audit" });

/// What happens when a check cannot be evaluated (an expression error, a plugin trap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema, Default)]
pub(crate) enum FailurePolicy {
    /// The error is a finding with the policy's action (fail closed; the default).
    #[default]
    Fail,
    /// The error is a `Warn` finding; the resource is not denied for it.
    Ignore,
}
