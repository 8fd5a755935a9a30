//! Kubernetes' own policy documents, as the API server reads them:
//! `admissionregistration.k8s.io` ValidatingAdmissionPolicy and MutatingAdmissionPolicy and their
//! bindings (`v1`, and the `v1beta1` and `v1alpha1` versions that came before it, of the same
//! shape; the two kinds share their types, and what one kind may not have is refused where they
//! are compiled).
//! Unknown fields are refused, as `kubectl apply --validate=strict` refuses them; what the API
//! server writes back (`status`, `metadata.uid`, `managedFields`, ...) is accepted, so a policy
//! exported from a cluster loads.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::LabelSelector;

/// The group of Kubernetes' admission policies.
pub(crate) const GROUP: &str = "admissionregistration.k8s.io";

/// The versions of that group whose policies paved reads.
pub(crate) const VERSIONS: &[&str] = &["v1", "v1beta1", "v1alpha1"];

/// `kind: ValidatingAdmissionPolicy`. (Fields paved accepts but does not read are kept so that
/// they are known, not refused.)
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AdmissionPolicyDocument {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: AdmissionPolicySpec,
    /// Written by the API server (the type-checking warnings); not read.
    #[serde(default)]
    pub status: Option<Value>,
}

/// `kind: ValidatingAdmissionPolicyBinding`.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AdmissionBindingDocument {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: AdmissionBindingSpec,
}

/// `metadata` of a Kubernetes object: what paved reads, and what the API server adds.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ObjectMeta {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    // What the API server writes: accepted, not read.
    #[serde(default)]
    pub generate_name: Option<Value>,
    #[serde(default)]
    pub uid: Option<Value>,
    #[serde(default)]
    pub resource_version: Option<Value>,
    #[serde(default)]
    pub generation: Option<Value>,
    #[serde(default)]
    pub creation_timestamp: Option<Value>,
    #[serde(default)]
    pub deletion_timestamp: Option<Value>,
    #[serde(default)]
    pub deletion_grace_period_seconds: Option<Value>,
    #[serde(default)]
    pub managed_fields: Option<Value>,
    #[serde(default)]
    pub finalizers: Option<Value>,
    #[serde(default)]
    pub owner_references: Option<Value>,
    #[serde(default)]
    pub self_link: Option<Value>,
}

/// The body of a ValidatingAdmissionPolicy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AdmissionPolicySpec {
    #[serde(default)]
    pub param_kind: Option<ParamKind>,
    #[serde(default)]
    pub match_constraints: Option<MatchResources>,
    #[serde(default)]
    pub validations: Vec<Validation>,
    #[serde(default)]
    pub failure_policy: Option<String>,
    #[serde(default)]
    pub audit_annotations: Vec<super::AuditAnnotationSpec>,
    #[serde(default)]
    pub match_conditions: Vec<NamedExpression>,
    #[serde(default)]
    pub variables: Vec<NamedExpression>,
    /// A MutatingAdmissionPolicy's mutations.
    #[serde(default)]
    pub mutations: Vec<AdmissionMutation>,
    /// A MutatingAdmissionPolicy's `reinvocationPolicy`: `Never` (the default) or `IfNeeded`.
    #[serde(default)]
    pub reinvocation_policy: Option<String>,
}

/// One mutation of a MutatingAdmissionPolicy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AdmissionMutation {
    /// `ApplyConfiguration` or `JSONPatch`.
    #[serde(default)]
    pub patch_type: String,
    #[serde(default)]
    pub apply_configuration: Option<Expression>,
    #[serde(default)]
    pub json_patch: Option<Expression>,
}

/// An `expression` alone.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Expression {
    pub expression: String,
}

/// The kind of a policy's params.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ParamKind {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub kind: String,
}

/// `matchConstraints` of a policy, `matchResources` of a binding.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct MatchResources {
    #[serde(default)]
    pub namespace_selector: Option<LabelSelector>,
    #[serde(default)]
    pub object_selector: Option<LabelSelector>,
    #[serde(default)]
    pub resource_rules: Vec<ResourceRule>,
    #[serde(default)]
    pub exclude_resource_rules: Vec<ResourceRule>,
    /// `Exact` or `Equivalent` (the default).
    #[serde(default)]
    pub match_policy: Option<String>,
}

/// A `NamedRuleWithOperations`: operations on resources of groups and versions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ResourceRule {
    #[serde(default)]
    pub api_groups: Vec<String>,
    #[serde(default)]
    pub api_versions: Vec<String>,
    #[serde(default)]
    pub operations: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub resource_names: Vec<String>,
    /// `Cluster`, `Namespaced` or `*` (the default).
    #[serde(default)]
    pub scope: Option<String>,
}

/// One validation of a policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Validation {
    pub expression: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub message_expression: Option<String>,
    /// `Unauthorized`, `Forbidden`, `Invalid` (the default) or `RequestEntityTooLarge`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// A match condition or a variable: a name and an expression.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NamedExpression {
    pub name: String,
    pub expression: String,
}

/// The body of a ValidatingAdmissionPolicyBinding.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AdmissionBindingSpec {
    #[serde(default)]
    pub policy_name: String,
    #[serde(default)]
    pub param_ref: Option<ParamRef>,
    #[serde(default)]
    pub match_resources: Option<MatchResources>,
    #[serde(default)]
    pub validation_actions: Vec<String>,
}

/// Which param objects a binding gives its policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ParamRef {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub selector: Option<LabelSelector>,
    /// `Allow` or `Deny`.
    #[serde(default)]
    pub parameter_not_found_action: Option<String>,
}

/// The group of Kyverno's CEL policies.
pub(crate) const KYVERNO_GROUP: &str = "policies.kyverno.io";

/// The versions of that group whose ValidatingPolicies paved reads.
pub(crate) const KYVERNO_VERSIONS: &[&str] = &["v1", "v1beta1", "v1alpha1"];

/// Kyverno's `kind: ValidatingPolicy` and `MutatingPolicy` (and their `Namespaced` kinds): a
/// ValidatingAdmissionPolicy (MutatingAdmissionPolicy) with its actions, pod-controller
/// generation and evaluation settings, and no binding.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct KyvernoPolicyDocument {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: KyvernoPolicySpec,
    #[serde(default)]
    pub status: Option<Value>,
}

/// The body of a Kyverno ValidatingPolicy.
#[allow(dead_code)] // what Kyverno deploys (timeouts, admission or background) is accepted, not read
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct KyvernoPolicySpec {
    #[serde(default)]
    pub match_constraints: Option<MatchResources>,
    #[serde(default)]
    pub validations: Vec<Validation>,
    #[serde(default)]
    pub failure_policy: Option<String>,
    #[serde(default)]
    pub audit_annotations: Vec<super::AuditAnnotationSpec>,
    #[serde(default)]
    pub match_conditions: Vec<NamedExpression>,
    #[serde(default)]
    pub variables: Vec<NamedExpression>,
    #[serde(default)]
    pub autogen: Option<Autogen>,
    #[serde(default)]
    pub validation_actions: Vec<String>,
    /// The webhook's timeout: Kyverno's deployment, not the policy's meaning; not read.
    #[serde(default)]
    pub webhook_configuration: Option<Value>,
    #[serde(default)]
    pub evaluation: Option<Evaluation>,
    /// A MutatingPolicy's mutations.
    #[serde(default)]
    pub mutations: Vec<AdmissionMutation>,
    /// A MutatingPolicy's `reinvocationPolicy` (`Never` when left out).
    #[serde(default)]
    pub reinvocation_policy: Option<String>,
    /// The existing objects a MutatingPolicy mutates in the background: refused where the policy
    /// is compiled.
    #[serde(default)]
    pub target_match_constraints: Option<Value>,
}

/// What Kyverno generates from a policy.
#[allow(dead_code)] // what Kyverno deploys (timeouts, admission or background) is accepted, not read
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Autogen {
    #[serde(default)]
    pub pod_controllers: Option<PodControllers>,
    /// Whether Kyverno also generates a ValidatingAdmissionPolicy: its deployment; not read.
    #[serde(default)]
    pub validating_admission_policy: Option<Value>,
}

/// The pod controllers a Pod policy is generated for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PodControllers {
    #[serde(default)]
    pub controllers: Vec<String>,
}

/// Where and how Kyverno evaluates a policy.
#[allow(dead_code)] // what Kyverno deploys (timeouts, admission or background) is accepted, not read
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Evaluation {
    /// `Kubernetes` (the default) or `JSON`.
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub admission: Option<Enabled>,
    #[serde(default)]
    pub background: Option<Enabled>,
    /// A MutatingPolicy's mutation of existing objects (refused where it is compiled).
    #[serde(default)]
    pub mutate_existing: Option<Enabled>,
}

/// `enabled: bool`.
#[allow(dead_code)] // what Kyverno deploys (timeouts, admission or background) is accepted, not read
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Enabled {
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Kyverno's `kind: PolicyException` of its CEL policies: the policies it exempts, the
/// conditions under which, and the images or values it allows instead of exempting.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct KyvernoExceptionDocument {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: KyvernoExceptionSpec,
    #[serde(default)]
    pub status: Option<Value>,
}

/// The body of a Kyverno PolicyException.
#[allow(dead_code)] // `reportResult` is how Kyverno's reports show it; paved's show the waiver
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct KyvernoExceptionSpec {
    pub policy_refs: Vec<PolicyRef>,
    #[serde(default)]
    pub match_conditions: Vec<NamedExpression>,
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default)]
    pub allowed_values: Vec<String>,
    #[serde(default)]
    pub report_result: Option<String>,
}

/// A policy a Kyverno exception names.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PolicyRef {
    pub name: String,
    pub kind: String,
}
