//! `kind: Policy` and `kind: PolicyBinding`: what a policy checks and where it applies.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::k8s::Operation;

use super::{Action, FailurePolicy, Metadata, Severity};

/// `kind: Policy`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PolicyDocument {
    /// Always `paved.dev/v1`.
    pub api_version: String,
    /// Always `Policy`.
    pub kind: String,
    /// Name and version.
    pub metadata: Metadata,
    /// What the policy checks.
    pub spec: PolicySpec,
}

/// `kind: PolicyBinding`: one instance of a policy, with its own params, a narrower match and
/// its own action, as a ValidatingAdmissionPolicyBinding or a Gatekeeper constraint is. A policy
/// that has bindings applies only through them; findings name the binding.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BindingDocument {
    /// Always `paved.dev/v1`.
    pub api_version: String,
    /// Always `PolicyBinding`.
    pub kind: String,
    /// The binding's name: findings and exceptions name it as they name a policy.
    pub metadata: Metadata,
    /// The policy, and what this instance changes of it.
    pub spec: BindingSpec,
}

/// The body of a binding.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BindingSpec {
    /// The name of the policy this binding instantiates.
    pub policy: String,
    /// Params merged over the policy's `spec.params`.
    #[serde(default)]
    pub params: Option<Value>,
    /// What the instance applies to, within what the policy matches (both must match).
    #[serde(default, rename = "match")]
    pub match_: Option<Match>,
    /// The instance's action, instead of the policy's (`Warn` in staging, `Deny` in production).
    #[serde(default)]
    pub action: Option<Action>,
}

/// The body of a policy.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PolicySpec {
    /// What the policy is for, shown by `paved explain`.
    #[serde(default)]
    pub description: Option<String>,
    /// Severity of its findings (rules may override).
    #[serde(default)]
    pub severity: Severity,
    /// What a failed rule does.
    #[serde(default)]
    pub action: Action,
    /// What happens when a check cannot be evaluated.
    #[serde(default)]
    pub failure_policy: FailurePolicy,
    /// Which resources the policy applies to.
    #[serde(default, rename = "match")]
    pub match_: Match,
    /// A policy that matches `Pod` also checks the pod template of Deployment, StatefulSet,
    /// DaemonSet, ReplicaSet, Job and CronJob. Set `false` to opt out.
    #[serde(default = "yes")]
    pub pod_controllers: bool,
    /// Parameters bound as `params` in expressions; callers may override them per run.
    #[serde(default)]
    pub params: Option<Value>,
    /// The schema of `params` (JSON Schema, or OpenAPI v3 as a CRD or a Gatekeeper template
    /// writes it): expressions are type-checked against it, and every value given for the
    /// params (defaults, bindings, `--set`, callers) is validated by it. Without one, it is
    /// inferred from `params`: each declared param with the type of its default, and no others.
    #[serde(default)]
    pub params_schema: Option<Value>,
    /// Named CEL expressions computed once per resource and bound as `variables.NAME` (as in
    /// ValidatingAdmissionPolicy); each may use the ones before it.
    #[serde(default)]
    pub variables: Vec<Variable>,
    /// Conditions the resource must meet for the policy to apply, in order (as a
    /// ValidatingAdmissionPolicy's `matchConditions`): each a CEL expression over `object`,
    /// `oldObject`, `request`, `params` and `namespaceObject` (not the variables). One that is
    /// false leaves the resource out; one that fails, when none is false, is an error under the
    /// policy's `failurePolicy`.
    #[serde(default)]
    pub match_conditions: Vec<Variable>,
    /// Annotations the policy adds to the audit record of each resource it applies to (as a
    /// ValidatingAdmissionPolicy's `auditAnnotations`): `POLICY/KEY` set to what
    /// `valueExpression` gives (a string; `null` adds nothing).
    #[serde(default)]
    pub audit_annotations: Vec<AuditAnnotationSpec>,
    /// The rules. A policy has at least one rule or one mutation.
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    /// Changes the policy makes to what it matches, in order, before any policy validates it
    /// (mutating admission runs before validating admission).
    #[serde(default)]
    pub mutations: Vec<MutationSpec>,
    /// Whether the mutations run once more when a later policy changed the object after they
    /// ran (Kubernetes' `reinvocationPolicy`).
    #[serde(default)]
    pub reinvocation_policy: Reinvocation,
}

/// Kubernetes' `reinvocationPolicy`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub(crate) enum Reinvocation {
    /// Once.
    #[default]
    Never,
    /// Once more, when a later mutation changed the object after these ran.
    IfNeeded,
}

/// One mutation of a policy: exactly one of `applyConfiguration`, `jsonPatch` and the
/// shorthands (`setLabels`, `setAnnotations`, `setDefault`, `addToleration`, `pinImages`),
/// each of which is compiled to one of the first two.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct MutationSpec {
    /// Stable id, unique in the policy.
    pub id: String,
    /// Why the change is made, shown with each change.
    #[serde(default)]
    pub message: Option<String>,
    /// A CEL condition; the mutation only applies where it is true.
    #[serde(default)]
    pub when: Option<String>,
    /// A CEL expression giving a partial object (`Object{...}`), merged as server-side apply
    /// merges it, as a MutatingAdmissionPolicy's `applyConfiguration`.
    #[serde(default)]
    pub apply_configuration: Option<String>,
    /// A CEL expression giving a list of JSON Patch operations (`JSONPatch{op, path, value}`),
    /// applied in order, as a MutatingAdmissionPolicy's `jsonPatch`.
    #[serde(default)]
    pub json_patch: Option<String>,
    /// Labels set where the object does not have them (a label it has is kept).
    #[serde(default)]
    pub set_labels: Option<BTreeMap<String, String>>,
    /// Annotations set where the object does not have them.
    #[serde(default)]
    pub set_annotations: Option<BTreeMap<String, String>>,
    /// A value set at a path (a JSON pointer of field names) where the object has none.
    #[serde(default)]
    pub set_default: Option<DefaultSpec>,
    /// A toleration added to a pod's `spec.tolerations` unless an equal one is there.
    #[serde(default)]
    pub add_toleration: Option<Value>,
    /// Every container image the param names pinned to its digest.
    #[serde(default)]
    pub pin_images: Option<PinImagesSpec>,
}

/// What `setDefault` sets.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct DefaultSpec {
    /// A JSON pointer of field names, e.g. `/spec/template/spec/priorityClassName`.
    pub path: String,
    /// The value.
    pub value: Value,
}

/// What `pinImages` pins.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PinImagesSpec {
    /// The param (of the policy's `params`) that maps an image as containers write it
    /// (`nginx:1.27`) to its digest (`sha256:...`).
    pub param: String,
}

/// A named expression of a policy.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Variable {
    /// The name, used as `variables.NAME`.
    pub name: String,
    /// A CEL expression over `object`, `oldObject`, `request`, `params`, `namespaceObject` and the
    /// variables before it.
    pub expression: String,
}

/// An audit annotation of a policy.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AuditAnnotationSpec {
    /// The key, after `POLICY/`.
    pub key: String,
    /// A CEL expression giving the value: a string, or `null` for none. It sees what the rules
    /// see, the variables too.
    pub value_expression: String,
}

fn yes() -> bool {
    true
}

/// One rule of a policy: exactly one of `assert`, `cel`, `plugin`, `kubernetes` and
/// `verifyImages`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RuleSpec {
    /// Stable id, unique in the policy.
    pub id: String,
    /// What is wrong, shown when the rule fails.
    pub message: String,
    /// A CEL expression that builds the message (falls back to `message` if it fails).
    #[serde(default)]
    pub message_expression: Option<String>,
    /// How to fix it.
    #[serde(default)]
    pub help: Option<String>,
    /// Overrides the policy's severity.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// A CEL condition; the rule only applies where it is true.
    #[serde(default)]
    pub when: Option<String>,
    /// Check each element found at these paths instead of the whole object (bound as `item`).
    #[serde(default)]
    pub for_each: Option<ForEach>,
    /// A JSON pointer, relative to the checked value, that findings of a `cel` rule point at.
    #[serde(default)]
    pub path: Option<String>,
    /// A JSON Schema (2020-12) the checked value must satisfy.
    #[serde(default)]
    pub assert: Option<Value>,
    /// A CEL expression that must be true.
    #[serde(default)]
    pub cel: Option<String>,
    /// A WASM plugin the bundle lists, by name, that checks the value.
    #[serde(default)]
    pub plugin: Option<String>,
    /// Params for the plugin, over the policy's `params`; checked against the plugin's params
    /// schema when the bundle loads.
    #[serde(default)]
    pub params: Option<Value>,
    /// A check against Kubernetes' own schemas of the version in the policy's
    /// `params.kubernetesVersion` (default `latest`).
    #[serde(default)]
    pub kubernetes: Option<KubernetesCheck>,
    /// The images of the pod's containers must be signed, as cosign signs them, by one of
    /// these keys or identities, and carry these attestations. Checked outside the engine (the registry is asked by `paved check` and
    /// `paved serve`, or verdicts are replayed from a file); the engine judges the verdicts.
    #[serde(default)]
    pub verify_images: Option<VerifyImagesSpec>,
    /// The monthly cost of what the resource provisions (a Terraform plan's instances and
    /// databases from the price table, a workload's CPU and memory requests at the params'
    /// rates), reported per resource and judged against the budget of its group.
    #[serde(default)]
    pub cost: Option<CostSpec>,
}

/// What a `cost` rule groups by. Prices and budgets are params (`prices`, `budgets`,
/// `cpuCoreHour`, `memoryGiBHour`), so a run can change them with `--set`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CostSpec {
    /// The label (a Terraform resource's tag) whose value names the budget in
    /// `params.budgets`: a team or an environment. Default `environment`.
    #[serde(default)]
    pub budget_by: Option<String>,
    /// The label (tag) whose value owns the cost in the report. Default `owner`.
    #[serde(default)]
    pub owner_by: Option<String>,
}

/// What a `verifyImages` rule requires of images.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct VerifyImagesSpec {
    /// Globs of the image references the rule applies to (`registry.acme.dev/*`); every image
    /// when empty. An image on Docker Hub matches by its full name too
    /// (`docker.io/library/nginx:1.27` for `nginx:1.27`).
    #[serde(default)]
    pub images: Vec<String>,
    /// Public keys (PEM, as cosign's `cosign.pub`); a signature by any one suffices.
    #[serde(default)]
    pub keys: Vec<String>,
    /// Keyless signers (Fulcio certificates logged in Rekor, checked offline against the trusted
    /// root given to paved with `--trusted-root`): a signature by any one suffices.
    #[serde(default)]
    pub identities: Vec<IdentitySpec>,
    /// Attestations (in-toto statements in cosign's `.att` layout) the image must carry, signed
    /// by one of the same keys or identities, each with conditions on its predicate.
    #[serde(default)]
    pub attestations: Vec<AttestationSpec>,
    /// Writes the digest each verified image's tag named into the object (`image:tag@sha256:…`),
    /// as a mutation, so the node pulls exactly what was verified.
    #[serde(default)]
    pub mutate_digest: bool,
}

/// Whose keyless signature counts: its OIDC issuer and subject, exactly or by a regular
/// expression (matched whole), as cosign's `--certificate-identity[-regexp]` and
/// `--certificate-oidc-issuer[-regexp]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IdentitySpec {
    /// The OIDC issuer, exactly (`https://token.actions.githubusercontent.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The OIDC issuer, by a regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_reg_exp: Option<String>,
    /// The subject (an email, or a URI such as a CI workflow's), exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The subject, by a regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_reg_exp: Option<String>,
}

/// An attestation an image must carry.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AttestationSpec {
    /// The in-toto predicate type (`https://slsa.dev/provenance/v1`, `https://spdx.dev/Document`,
    /// `https://cyclonedx.org/bom`).
    pub predicate_type: String,
    /// CEL conditions on the statement's `predicate` that one attestation of the type must all
    /// meet; none asks only that one is there (an SBOM present).
    #[serde(default)]
    pub conditions: Vec<AttestationCondition>,
}

/// A condition on an attestation's predicate.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct AttestationCondition {
    /// A CEL expression over `predicate` that must be true.
    pub expression: String,
    /// What it means, for the finding when it is false.
    #[serde(default)]
    pub message: Option<String>,
}

/// What a `kubernetes` rule checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum KubernetesCheck {
    /// The `apiVersion` and `kind` are a kind the version serves (not misspelt, not removed).
    Kind,
    /// The fields fit the kind's schema, as `kubectl --validate=strict` checks them: no unknown
    /// field, every type, required field and enum value right.
    Fields,
    /// A custom resource has a schema paved can check it with (an `info` finding if not).
    CustomResource,
    /// The `apiVersion` is served, but removed in a later Kubernetes version paved knows.
    Deprecated,
}

/// Paths to iterate: a JSON pointer where `*` stands for every array element or map value,
/// or `containers` for every init, regular and ephemeral container of the pod.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ForEach {
    /// One path.
    One(String),
    /// Several paths, visited in order.
    Many(Vec<String>),
}

impl std::fmt::Display for ForEach {
    /// One path as it is; several as their JSON list.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ForEach::One(path) => f.write_str(path),
            ForEach::Many(paths) => f.write_str(&serde_json::to_string(paths).unwrap_or_default()),
        }
    }
}

/// Which resources a policy or exception applies to. Every given field must match.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Match {
    /// `Kind`, `version/Kind` (core group) or `group/version/Kind`; each part may be a glob.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Namespace globs.
    #[serde(default)]
    pub namespaces: Option<Globs>,
    /// Name globs.
    #[serde(default)]
    pub names: Option<Globs>,
    /// Labels of the resource (for pod controllers: of the pod template).
    #[serde(default)]
    pub labels: Option<LabelSelector>,
    /// Labels of the resource's namespace: from a `Namespace` object among the evaluated
    /// resources, else as given in the evaluation context.
    #[serde(default)]
    pub namespace_selector: Option<LabelSelector>,
    /// Admission operations. A policy that names none judges CREATE and UPDATE; an exception
    /// or binding that names none matches every operation.
    #[serde(default)]
    pub operations: Vec<Operation>,
}

/// A list of globs to include, or include and exclude lists.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum Globs {
    /// Include these.
    Include(Vec<String>),
    /// Include and exclude.
    Both {
        /// Globs to include; empty includes everything.
        #[serde(default)]
        include: Vec<String>,
        /// Globs to exclude; they win over `include`.
        #[serde(default)]
        exclude: Vec<String>,
    },
}

/// A Kubernetes label selector.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct LabelSelector {
    /// Labels that must be present with these values.
    #[serde(default)]
    pub match_labels: BTreeMap<String, String>,
    /// Set-based requirements.
    #[serde(default)]
    pub match_expressions: Vec<LabelRequirement>,
}

/// One set-based label requirement.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct LabelRequirement {
    /// Label key.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: LabelOperator,
    /// Values for `In` and `NotIn`.
    #[serde(default)]
    pub values: Vec<String>,
}

/// Operator of a label requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub(crate) enum LabelOperator {
    /// The label's value is one of `values`.
    In,
    /// The label is absent or its value is none of `values`.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
}
