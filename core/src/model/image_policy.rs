//! Kyverno's `kind: ImageValidatingPolicy` (`policies.kyverno.io`): the images of the objects it
//! matches verified by its attestors (cosign keys and keyless identities), with its attestations,
//! as its validations ask. paved reads it as `verifyImages` rules.

use serde::Deserialize;
use serde_json::Value;

use super::{AuditAnnotationSpec, MatchResources, NamedExpression, ObjectMeta, Validation};

/// `kind: ImageValidatingPolicy`.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ImagePolicyDocument {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: ImagePolicySpec,
    #[serde(default)]
    pub status: Option<Value>,
}

/// Its body.
#[allow(dead_code)] // what Kyverno deploys (timeouts, credentials) is accepted, not read
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ImagePolicySpec {
    #[serde(default)]
    pub match_constraints: Option<MatchResources>,
    #[serde(default)]
    pub failure_policy: Option<String>,
    #[serde(default)]
    pub audit_annotations: Vec<AuditAnnotationSpec>,
    #[serde(default)]
    pub validation_actions: Vec<String>,
    #[serde(default)]
    pub match_conditions: Vec<NamedExpression>,
    #[serde(default)]
    pub variables: Vec<NamedExpression>,
    #[serde(default)]
    pub validation_configurations: Option<ValidationConfigurations>,
    #[serde(default)]
    pub match_image_references: Vec<MatchImageReference>,
    /// The registry credentials Kyverno uses: paved's come from its own environment.
    #[serde(default)]
    pub credentials: Option<Value>,
    /// Expressions that find images in other objects than pods (refused where compiled).
    #[serde(default)]
    pub images: Vec<NamedExpression>,
    #[serde(default)]
    pub attestors: Vec<Attestor>,
    #[serde(default)]
    pub attestations: Vec<AttestationRef>,
    #[serde(default)]
    pub validations: Vec<Validation>,
    #[serde(default)]
    pub webhook_configuration: Option<Value>,
    #[serde(default)]
    pub evaluation: Option<super::Evaluation>,
    #[serde(default)]
    pub autogen: Option<super::Autogen>,
}

/// `mutateDigest`, `verifyDigest` and `required`, each true when left out.
#[allow(dead_code)] // `verifyDigest` holds of what `mutateDigest` pinned; it is accepted, not read
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ValidationConfigurations {
    #[serde(default)]
    pub mutate_digest: Option<bool>,
    #[serde(default)]
    pub verify_digest: Option<bool>,
    #[serde(default)]
    pub required: Option<bool>,
}

/// The images a policy applies to: a glob, or a CEL expression (refused where compiled).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MatchImageReference {
    #[serde(default)]
    pub glob: Option<String>,
    #[serde(default)]
    pub expression: Option<String>,
}

/// A named signer: cosign's (a key, or keyless identities), or Notary's (refused where
/// compiled).
#[allow(dead_code)] // a Notary attestor is refused by its absence of `cosign`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Attestor {
    pub name: String,
    #[serde(default)]
    pub cosign: Option<Cosign>,
    #[serde(default)]
    pub notary: Option<Value>,
}

/// A cosign attestor. Only `key.data` and `keyless.identities` change whom paved trusts; what
/// else would is refused where compiled.
#[allow(dead_code)] // the Rekor instance (`ctlog`) is the trusted root's: accepted, not read
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Cosign {
    #[serde(default)]
    pub key: Option<CosignKey>,
    #[serde(default)]
    pub keyless: Option<Keyless>,
    #[serde(default)]
    pub certificate: Option<Value>,
    #[serde(default)]
    pub source: Option<Value>,
    /// The Rekor instance: paved checks Rekor's entries against the trusted root it is given.
    #[serde(default)]
    pub ctlog: Option<Value>,
    #[serde(default)]
    pub tuf: Option<Value>,
    #[serde(default)]
    pub annotations: Option<Value>,
}

/// A cosign public key, inline (`data`), from a KMS or by expression (both refused).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CosignKey {
    #[serde(default)]
    pub data: Option<String>,
    #[serde(default)]
    pub kms: Option<String>,
    #[serde(default)]
    pub hash_algorithm: Option<String>,
    #[serde(default)]
    pub expression: Option<String>,
}

/// Keyless signers, checked against the trusted root paved is given (`roots` refused).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Keyless {
    #[serde(default)]
    pub identities: Vec<super::IdentitySpec>,
    #[serde(default)]
    pub roots: Option<String>,
}

/// A named attestation: an in-toto statement of a predicate type (`referrer`, OCI 1.1
/// referrers, refused where compiled).
#[allow(dead_code)] // a referrer is refused by its absence of `intoto`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AttestationRef {
    pub name: String,
    #[serde(default)]
    pub intoto: Option<TypeRef>,
    #[serde(default)]
    pub referrer: Option<TypeRef>,
}

/// `type: ...`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TypeRef {
    #[serde(rename = "type")]
    pub type_: String,
}
