//! Gatekeeper's documents, as Gatekeeper reads them: `templates.gatekeeper.sh` ConstraintTemplate
//! (`v1`, `v1beta1`, `v1alpha1`: one shape), the Constraints its templates define
//! (`constraints.gatekeeper.sh`, of any kind a loaded template names), `config.gatekeeper.sh`
//! Config and `syncset.gatekeeper.sh` SyncSet (which kinds the inventory holds), and
//! `expansion.gatekeeper.sh` ExpansionTemplate (which workloads are judged as the pods they
//! make). Unknown fields are refused; what the API server or Gatekeeper writes back (`status`,
//! `metadata.uid`, ...) is accepted, so a document exported from a cluster loads.

use serde::Deserialize;
use serde_json::Value;

use super::{LabelSelector, NamedExpression, ObjectMeta, Validation};

/// The group of ConstraintTemplates, and its versions.
pub(crate) const TEMPLATE_GROUP: &str = "templates.gatekeeper.sh";
pub(crate) const TEMPLATE_VERSIONS: &[&str] = &["v1", "v1beta1", "v1alpha1"];
/// The group of Constraints, and its versions.
pub(crate) const CONSTRAINT_GROUP: &str = "constraints.gatekeeper.sh";
pub(crate) const CONSTRAINT_VERSIONS: &[&str] = &["v1beta1", "v1alpha1"];
/// The groups of the sync configuration and of expansion, and their versions.
pub(crate) const CONFIG_GROUP: &str = "config.gatekeeper.sh";
pub(crate) const SYNCSET_GROUP: &str = "syncset.gatekeeper.sh";
pub(crate) const EXPANSION_GROUP: &str = "expansion.gatekeeper.sh";
pub(crate) const ALPHA_BETA: &[&str] = &["v1alpha1", "v1beta1"];

/// The one target Gatekeeper's admission templates are written for.
pub(crate) const ADMISSION_TARGET: &str = "admission.k8s.gatekeeper.sh";

/// `kind: ConstraintTemplate`.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct TemplateDocument {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    pub spec: TemplateSpec,
    #[serde(default)]
    pub status: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct TemplateSpec {
    #[serde(default)]
    pub crd: TemplateCrd,
    #[serde(default)]
    pub targets: Vec<Target>,
}

/// `spec.crd`: the constraint kind the template defines.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct TemplateCrd {
    #[serde(default)]
    pub spec: TemplateCrdSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct TemplateCrdSpec {
    #[serde(default)]
    pub names: TemplateNames,
    #[serde(default)]
    pub validation: Option<TemplateValidation>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct TemplateNames {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub short_names: Vec<String>,
}

/// The parameters' schema.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct TemplateValidation {
    #[serde(default, rename = "openAPIV3Schema")]
    pub open_api_v3_schema: Option<Value>,
    #[serde(default)]
    pub legacy_schema: Option<bool>,
}

/// One target of a template: its code, in Rego (`rego` and `libs`, or a `Rego` engine) or in
/// CEL (a `K8sNativeValidation` engine).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Target {
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub rego: Option<String>,
    #[serde(default)]
    pub libs: Vec<String>,
    #[serde(default)]
    pub code: Vec<Code>,
    /// The admission operations the template judges (default: every one Gatekeeper is sent).
    #[serde(default)]
    pub operations: Vec<String>,
}

/// `code[]`: an engine and its source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Code {
    pub engine: String,
    #[serde(default)]
    pub source: Value,
}

/// The source of a `Rego` engine.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RegoSource {
    #[serde(default)]
    pub rego: String,
    #[serde(default)]
    pub libs: Vec<String>,
    /// Gatekeeper's Rego version (`v0`, `v1`).
    #[serde(default)]
    pub version: Option<String>,
}

/// The source of a `K8sNativeValidation` engine: a ValidatingAdmissionPolicy's parts.
#[allow(dead_code)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CelSource {
    #[serde(default)]
    pub validations: Vec<Validation>,
    #[serde(default)]
    pub failure_policy: Option<String>,
    /// Gatekeeper spells it in the singular.
    #[serde(default, rename = "matchCondition", alias = "matchConditions")]
    pub match_conditions: Vec<NamedExpression>,
    #[serde(default)]
    pub variables: Vec<NamedExpression>,
    /// Whether Gatekeeper generates a ValidatingAdmissionPolicy from it (accepted, not read).
    #[serde(default, rename = "generateVAP")]
    pub generate_vap: Option<bool>,
}

/// A Constraint: an instance of a template's kind.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ConstraintDocument {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ConstraintSpec,
    #[serde(default)]
    pub status: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ConstraintSpec {
    #[serde(default, rename = "match")]
    pub match_: ConstraintMatch,
    #[serde(default)]
    pub parameters: Option<Value>,
    #[serde(default)]
    pub enforcement_action: Option<String>,
    #[serde(default)]
    pub scoped_enforcement_actions: Vec<ScopedAction>,
}

/// A constraint's `match`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ConstraintMatch {
    #[serde(default)]
    pub kinds: Vec<GroupKinds>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub excluded_namespaces: Vec<String>,
    #[serde(default)]
    pub label_selector: Option<LabelSelector>,
    #[serde(default)]
    pub namespace_selector: Option<LabelSelector>,
    #[serde(default)]
    pub name: Option<String>,
    /// `All` (the default), `Original` or `Generated` (by expansion).
    #[serde(default)]
    pub source: Option<String>,
}

/// `apiGroups` and `kinds`, as a constraint's match and an expansion's `applyTo` name them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct GroupKinds {
    #[serde(default)]
    pub api_groups: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// One of `scopedEnforcementActions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ScopedAction {
    pub action: String,
    #[serde(default)]
    pub enforcement_points: Vec<EnforcementPoint>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct EnforcementPoint {
    pub name: String,
}

/// A group, version and kind, as the sync configuration names them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Gvk {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
}

/// `kind: Config` (its sync list; the rest is accepted, not read) or `kind: SyncSet`.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SyncDocument {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: SyncSpec,
    #[serde(default)]
    pub status: Option<Value>,
}

#[allow(dead_code)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SyncSpec {
    /// A SyncSet's kinds.
    #[serde(default)]
    pub gvks: Vec<Gvk>,
    /// A Config's sync list.
    #[serde(default)]
    pub sync: Option<SyncOnly>,
    #[serde(default, rename = "match")]
    pub match_: Option<Value>,
    #[serde(default)]
    pub validation: Option<Value>,
    #[serde(default)]
    pub readiness: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SyncOnly {
    #[serde(default)]
    pub sync_only: Vec<Gvk>,
}

/// `kind: ExpansionTemplate`.
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ExpansionDocument {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ExpansionSpec,
    #[serde(default)]
    pub status: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ExpansionSpec {
    #[serde(default)]
    pub apply_to: Vec<ApplyTo>,
    #[serde(default)]
    pub template_source: String,
    #[serde(default, rename = "generatedGVK")]
    pub generated_gvk: Gvk,
    #[serde(default)]
    pub enforcement_action: Option<String>,
}

/// The resources an expansion applies to (any version of each group and kind).
#[allow(dead_code)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ApplyTo {
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub versions: Vec<String>,
}

/// The group of Gatekeeper's mutators, and its versions (AssignImage is `v1alpha1` only).
pub(crate) const MUTATION_GROUP: &str = "mutations.gatekeeper.sh";
pub(crate) const MUTATION_VERSIONS: &[&str] = &["v1", "v1beta1", "v1alpha1"];

/// `kind: Assign`, `AssignMetadata`, `ModifySet` or `AssignImage`: one shape, whose fields each
/// kind takes its own of (checked as it compiles).
#[allow(dead_code)]
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct MutatorDocument {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: MutatorSpec,
    #[serde(default)]
    pub status: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct MutatorSpec {
    #[serde(default)]
    pub apply_to: Option<Vec<MutationApplyTo>>,
    #[serde(default, rename = "match")]
    pub match_: ConstraintMatch,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub parameters: MutatorParameters,
}

/// `applyTo`: groups, versions and kinds (no globs), and the operations.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct MutationApplyTo {
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub operations: Vec<String>,
}

/// Every kind's `parameters`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct MutatorParameters {
    #[serde(default)]
    pub path_tests: Vec<PathTest>,
    /// Assign and AssignMetadata.
    #[serde(default)]
    pub assign: Option<AssignField>,
    /// Assign, as its first versions had it: the value at the location must be (or not be) one
    /// of these.
    #[serde(default)]
    pub assign_if: Option<AssignIf>,
    /// ModifySet: `merge` (the default) or `prune`, and the values.
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub values: Option<SetValues>,
    /// AssignImage.
    #[serde(default)]
    pub assign_domain: Option<String>,
    #[serde(default)]
    pub assign_path: Option<String>,
    #[serde(default)]
    pub assign_tag: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PathTest {
    #[serde(default)]
    pub sub_path: String,
    #[serde(default)]
    pub condition: String,
}

/// What Assign and AssignMetadata set: a `value`, or the object's `name` or `namespace`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AssignField {
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub from_metadata: Option<FromMetadata>,
    #[serde(default)]
    pub external_data: Option<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct FromMetadata {
    #[serde(default)]
    pub field: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AssignIf {
    #[serde(default, rename = "in")]
    pub in_: Vec<Value>,
    #[serde(default)]
    pub not_in: Vec<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SetValues {
    #[serde(default)]
    pub from_list: Vec<Value>,
}
