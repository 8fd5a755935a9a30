//! The documents a platform team writes: `Policy`, `PolicyException`, the bundle settings and
//! `PolicyTest`.
//!
//! These types are the schema: unknown fields are rejected, and `paved schema` prints the JSON
//! Schema generated from them. They know nothing of loading or evaluation.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The API version every paved document carries.
pub const API_VERSION: &str = "paved.dev/v1";

/// The document kinds paved reads. Bundles hold the first three and skip `PolicyTest`
/// documents, so tests can live beside the policies they test.
pub const KINDS: &[&str] = &["Policy", "PolicyBinding", "PolicyException", "Bundle", "PolicyTest", "GoldenPath"];

/// The JSON Schema (2020-12) of a paved document kind (`Policy`, `PolicyException`, `Bundle`,
/// `PolicyTest`, `GoldenPath`), generated from these types, for editor completion.
pub fn json_schema(kind: &str) -> Option<Value> {
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
pub struct Metadata {
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

/// What happens when a check cannot be evaluated (an expression error, a plugin trap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema, Default)]
pub enum FailurePolicy {
    /// The error is a finding with the policy's action (fail closed; the default).
    #[default]
    Fail,
    /// The error is a `Warn` finding; the resource is not denied for it.
    Ignore,
}

/// `kind: Policy`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyDocument {
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
pub struct BindingDocument {
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
pub struct BindingSpec {
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
pub struct PolicySpec {
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
    /// Named CEL expressions computed once per resource and bound as `variables.NAME` (as in
    /// ValidatingAdmissionPolicy); each may use the ones before it.
    #[serde(default)]
    pub variables: Vec<Variable>,
    /// The rules; at least one.
    pub rules: Vec<RuleSpec>,
}

/// A named expression of a policy.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Variable {
    /// The name, used as `variables.NAME`.
    pub name: String,
    /// A CEL expression over `object`, `oldObject`, `request`, `params`, `namespaceObject` and the
    /// variables before it.
    pub expression: String,
}

fn yes() -> bool {
    true
}

/// One rule of a policy: exactly one of `assert`, `cel`, `plugin` and `kubernetes`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleSpec {
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
}

/// What a `kubernetes` rule checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum KubernetesCheck {
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

/// Which resources a policy or exception applies to. Every given field must match.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Match {
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
    /// Admission operations; empty matches all.
    #[serde(default)]
    pub operations: Vec<Operation>,
}

/// A list of globs to include, or include and exclude lists.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Globs {
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
pub struct LabelSelector {
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
pub struct LabelRequirement {
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
pub enum LabelOperator {
    /// The label's value is one of `values`.
    In,
    /// The label is absent or its value is none of `values`.
    NotIn,
    /// The label is present.
    Exists,
    /// The label is absent.
    DoesNotExist,
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

/// `kind: PolicyException`: an owned, justified, expiring waiver.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExceptionDocument {
    /// Always `paved.dev/v1`.
    pub api_version: String,
    /// Always `PolicyException`.
    pub kind: String,
    /// Name.
    pub metadata: Metadata,
    /// What is waived, where, by whom, until when.
    pub spec: ExceptionSpec,
}

/// The body of an exception.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExceptionSpec {
    /// The policies (and optionally rules) waived.
    pub policies: Vec<WaivedPolicy>,
    /// Where the waiver applies.
    #[serde(default, rename = "match")]
    pub match_: ExceptionMatch,
    /// Who answers for it (a team or person).
    pub owner: String,
    /// Why it is needed.
    pub reason: String,
    /// Tracking ticket.
    #[serde(default)]
    pub ticket: Option<String>,
    /// Who approved it.
    #[serde(default)]
    pub approved_by: Option<String>,
    /// When it was granted (RFC 3339 date or timestamp); the bundle's longest window counts from
    /// here.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub created: Option<String>,
    /// When it stops waiving anything (RFC 3339 date or timestamp; a date means 00:00 UTC).
    #[schemars(with = "String")]
    pub expires: String,
}

/// A policy named by an exception.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WaivedPolicy {
    /// Policy name.
    pub name: String,
    /// Rule ids; empty waives every rule of the policy.
    #[serde(default)]
    pub rules: Vec<String>,
}

/// Where an exception applies.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExceptionMatch {
    /// As in policies.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// As in policies.
    #[serde(default)]
    pub namespaces: Option<Globs>,
    /// As in policies.
    #[serde(default)]
    pub names: Option<Globs>,
    /// Container name globs: only findings about these containers are waived.
    #[serde(default)]
    pub containers: Vec<String>,
}

/// `kind: Bundle` (`paved.yaml`): settings for a set of policies and exceptions.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BundleDocument {
    /// Always `paved.dev/v1`.
    pub api_version: String,
    /// Always `Bundle`.
    pub kind: String,
    /// Name and version.
    pub metadata: Metadata,
    /// Settings.
    #[serde(default)]
    pub spec: BundleSpec,
}

/// Bundle settings.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BundleSpec {
    /// Built-in packs this bundle builds on; its own policies override theirs by name.
    #[serde(default)]
    pub packs: Vec<String>,
    /// Longest time an exception may run, in days, from `created` (or, without `created`, from
    /// the evaluation's `now`).
    #[serde(default = "default_window")]
    pub exception_max_days: u32,
    /// An exception that expires within this many days is reported as `expiring`.
    #[serde(default = "default_horizon")]
    pub exception_warn_days: u32,
    /// WASM plugins the bundle's policies may run, each pinned by its sha256.
    #[serde(default)]
    pub plugins: Vec<PluginSpec>,
    /// Kinds the policies may match that are not Kubernetes' own (custom resources), by name
    /// (`Certificate`); a `match.kinds` naming any other unknown kind is a load error.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// CEL functions every expression of the bundle's policies may call, written once.
    #[serde(default)]
    pub functions: Vec<FunctionSpec>,
}

/// A CEL function a bundle defines: `name(params...)` is `expression` with the params bound.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FunctionSpec {
    /// How expressions call it.
    pub name: String,
    /// Its parameters' names, in order.
    #[serde(default)]
    pub params: Vec<String>,
    /// The CEL expression it stands for. It sees its params and the policy's variables
    /// (`object`, `params`, ...), not the variables of the expression that calls it.
    pub expression: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// A plugin a bundle uses.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginSpec {
    /// The name policies use in `plugin:`.
    pub name: String,
    /// The component (`.wasm`), relative to the file of this Bundle document.
    pub path: String,
    /// sha256 of the component, hex; the plugin does not load if the file differs.
    pub sha256: String,
    /// What one call may use.
    #[serde(default)]
    pub limits: PluginLimits,
}

/// Limits of one plugin call; each defaults to paved's default.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginLimits {
    /// Fuel per call, about one unit per WebAssembly instruction (default 20000000).
    #[serde(default)]
    pub fuel: Option<u64>,
    /// Largest memory, as a Kubernetes quantity (`64Mi`, the default; at most `1Gi`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub memory: Option<Value>,
    /// Largest answer, as a quantity of bytes (`1Mi`, the default).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub output: Option<Value>,
}

fn default_window() -> u32 {
    90
}
fn default_horizon() -> u32 {
    14
}

impl Default for BundleSpec {
    fn default() -> Self {
        BundleSpec {
            packs: Vec::new(),
            exception_max_days: default_window(),
            exception_warn_days: default_horizon(),
            plugins: Vec::new(),
            kinds: Vec::new(),
            functions: Vec::new(),
        }
    }
}

/// `kind: PolicyTest`: unit tests for policies, as `kyverno test` and `opa test` have them.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestDocument {
    /// Always `paved.dev/v1`.
    pub api_version: String,
    /// Always `PolicyTest`.
    pub kind: String,
    /// Name.
    pub metadata: Metadata,
    /// What to load and what to expect.
    pub spec: TestSpec,
}

/// The body of a policy test: the policies under test, shared settings, and cases.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestSpec {
    /// Built-in packs to load.
    #[serde(default)]
    pub packs: Vec<String>,
    /// Bundle files or directories, relative to the test file.
    #[serde(default)]
    pub bundles: Vec<String>,
    /// Exception files or directories, relative to the test file, for every case.
    #[serde(default)]
    pub exceptions: Vec<String>,
    /// The instant of evaluation (RFC 3339); defaults to the caller's (`paved test --now`, else
    /// the current time).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub now: Option<String>,
    /// The admission operation (default `CREATE`).
    #[serde(default)]
    pub operation: Option<Operation>,
    /// Parameter overrides by policy name, as `--set` gives them.
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// Labels of namespaces, by name, for `namespaceSelector`.
    #[serde(default)]
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// The cases.
    pub cases: Vec<TestCase>,
}

/// One case: resources, and what each policy or rule should make of them.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestCase {
    /// What the case shows.
    pub name: String,
    /// Overrides the suite's `now`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub now: Option<String>,
    /// Resources written inline.
    #[serde(default)]
    pub resources: Vec<Value>,
    /// Resource files or directories, relative to the test file.
    #[serde(default)]
    pub files: Vec<String>,
    /// `PolicyException` documents written inline, for this case only.
    #[serde(default)]
    pub exceptions: Vec<Value>,
    /// Overrides the suite's admission operation, for this case (`UPDATE` with `oldObject`).
    #[serde(default)]
    pub operation: Option<Operation>,
    /// The object as it was before the change (`oldObject`), for every resource of the case.
    #[serde(default)]
    pub old_object: Option<Value>,
    /// The requesting user (`request.userInfo`): `username`, `uid`, `groups`, `extra`.
    #[serde(default)]
    pub user_info: Option<Value>,
    /// The namespace resources without `metadata.namespace` are applied into (default
    /// `default`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Other objects the policies may look up (`inventory` in CEL), besides `resources`.
    #[serde(default)]
    pub inventory: Vec<Value>,
    /// Whether `resources` and `inventory` hold every object: `true` for every namespace, or
    /// the namespaces they hold completely. Without it, nothing is complete.
    #[serde(default)]
    pub inventory_complete: Option<Completeness>,
    /// The expected results.
    pub expect: Vec<Expectation>,
}

/// Which namespaces an inventory holds completely.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Completeness {
    /// `true`: every namespace; `false`: none.
    All(bool),
    /// These namespaces.
    Namespaces(Vec<String>),
}

/// What a policy (or one of its rules) should make of a resource.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expectation {
    /// `Kind/name` or `Kind/namespace/name`.
    pub resource: String,
    /// Policy name.
    pub policy: String,
    /// Rule id; without it, the policy as a whole (any failing rule fails it).
    #[serde(default)]
    pub rule: Option<String>,
    /// The expected result.
    pub result: Outcome,
}

/// The result of a policy or rule for one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It applied and found nothing.
    Pass,
    /// It found something that no exception waives.
    Fail,
    /// It found something, and exceptions waive all of it.
    Waived,
    /// It does not apply to the resource.
    Skip,
}

/// `kind: GoldenPath`: a versioned blueprint that turns a developer's small spec into complete,
/// compliant manifests.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GoldenPathDocument {
    /// Always `paved.dev/v1`.
    pub api_version: String,
    /// Always `GoldenPath`.
    pub kind: String,
    /// Name and version (both required: services pin golden paths by version).
    pub metadata: Metadata,
    /// Inputs, outputs and the policies every render must pass.
    pub spec: GoldenPathSpec,
}

/// The body of a golden path.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GoldenPathSpec {
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// A JSON Schema (2020-12) of what a developer writes; `default`s fill what they leave out.
    pub inputs: Value,
    /// The manifests, as YAML documents whose strings may hold `${{ expr }}` (CEL, with `inputs`
    /// and `path` bound). A string that is exactly one expression keeps its type. A mapping with
    /// `$if: expr` is left out where the expression is false; a list item or document with
    /// `$each: expr` (and `$as: name`, default `item`) is repeated for each element.
    pub outputs: Vec<Value>,
    /// Packs or policies, with semver ranges, that every render must pass (no `Deny` finding).
    #[serde(default)]
    pub policies: Vec<PolicyRef>,
    /// JSON pointers into rendered objects (`*` matches any list item or key) that a service may
    /// change after rendering without that counting as drift, such as `/spec/replicas` or
    /// `/spec/template/spec/containers/*/env`. A pointer covers everything below it.
    #[serde(default)]
    pub extension_points: Vec<String>,
    /// How inputs written for earlier versions become inputs of this one. `paved upgrade`
    /// applies the migrations of every version it passes, in order.
    #[serde(default)]
    pub migrations: Vec<Migration>,
    /// Set when this version should no longer be used.
    #[serde(default)]
    pub deprecated: Option<Deprecation>,
}

/// Operations that turn inputs of the versions `from` matches into inputs of this version.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Migration {
    /// The semver range of versions whose inputs this migrates (`>=1.0.0, <2.0.0`). It must not
    /// match this version or a later one.
    pub from: String,
    /// What changes, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// The operations, applied in order. A major upgrade with nothing to change still needs a
    /// migration (with no operations) to say it is covered.
    #[serde(default)]
    pub ops: Vec<MigrationOp>,
}

/// One typed operation on inputs. Paths are JSON pointers into the inputs; `*` matches every
/// list item or key. An operation whose path is absent changes nothing.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub enum MigrationOp {
    /// Renames the key at `path` to `to`, in the same mapping.
    Rename {
        /// The key to rename.
        path: String,
        /// Its new name.
        to: String,
    },
    /// Moves the value at `from` to `to` (creating mappings on the way).
    Move {
        /// Where the value is (no `*`).
        from: String,
        /// Where it goes (no `*`).
        to: String,
    },
    /// Sets `value` at `path` where the inputs leave it out: pins a default that this version
    /// changes, or gives a new required input its value.
    SetDefault {
        /// Where.
        path: String,
        /// The value.
        value: Value,
    },
    /// Removes the value at `path`.
    Remove {
        /// What.
        path: String,
    },
    /// Replaces the value at `path` by the one `values` maps it to; values not in the map stay.
    MapValue {
        /// Where.
        path: String,
        /// Old value (as a string) to new value.
        values: BTreeMap<String, Value>,
    },
}

/// That a golden path version is on its way out.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Deprecation {
    /// Since when (a date, `2026-09-01`).
    #[serde(default)]
    pub since: Option<String>,
    /// From when it must not be used any more (a date).
    #[serde(default)]
    pub sunset: Option<String>,
    /// What to use instead: `NAME@RANGE`.
    #[serde(default)]
    pub replacement: Option<String>,
    /// Why, for people.
    #[serde(default)]
    pub message: Option<String>,
}

/// A pack or policy a golden path's renders must pass.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyRef {
    /// A built-in pack's name, or a policy's name.
    pub name: String,
    /// A semver range the policies' versions must satisfy (default `*`).
    #[serde(default)]
    pub version: Option<String>,
}

// The vocabulary reports share with documents: what a resource, a place in a file, an
// exception's standing and a policy are, as every output names them.

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

/// A place in an input file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SourceRef {
    /// File name (`<stdin>` for standard input).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// The state of an exception in one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ExceptionStatus {
    /// In force, and it waived something.
    Active,
    /// In force, but expires within the bundle's warning horizon.
    Expiring,
    /// In force, but waived nothing in this run.
    Unused,
    /// Past `expires` (`now >= expires`): it waives nothing.
    Expired,
    /// Runs longer than the bundle allows: it waives nothing.
    Invalid,
}

/// A policy as listings show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct PolicyInfo {
    /// Name.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// What it is for.
    pub description: Option<String>,
    /// What a failed rule does.
    pub action: Action,
    /// The kinds it matches, as written (empty: every kind).
    pub kinds: Vec<String>,
    /// Whether it also checks the pod templates of workload controllers (Deployment, Job, ...).
    pub pod_controllers: bool,
    /// Where it was written.
    pub source: SourceRef,
    /// Its rules, in order.
    pub rules: Vec<RuleInfo>,
}

/// A rule as listings show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct RuleInfo {
    /// Rule id.
    pub id: String,
    /// What a failure says.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// How serious.
    pub severity: Severity,
    /// The condition under which it applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// What it iterates over.
    #[serde(rename = "forEach", skip_serializing_if = "Option::is_none")]
    pub for_each: Option<ForEach>,
    /// Its CEL check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cel: Option<String>,
    /// Its JSON Schema check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assert: Option<serde_json::Value>,
    /// The WASM plugin it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// The params it gives the plugin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Value>,
}
