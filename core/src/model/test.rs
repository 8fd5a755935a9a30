//! `kind: PolicyTest`: cases of resources and what policies should make of them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::k8s::Operation;

use super::Metadata;

/// `kind: PolicyTest`: unit tests for policies, as `kyverno test` and `opa test` have them.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct TestDocument {
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
pub(crate) struct TestSpec {
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
pub(crate) struct TestCase {
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
    /// Other objects the policies may look up (`inventory` in CEL), besides `resources`: each
    /// written inline, or a file or directory of them (a string, relative to the test file),
    /// as `paved check --inventory` reads them.
    #[serde(default)]
    pub inventory: Vec<Value>,
    /// Whether `resources` and `inventory` hold every object: `true` for every namespace, or
    /// the namespaces they hold completely. Without it, nothing is complete.
    #[serde(default)]
    pub inventory_complete: Option<Completeness>,
    /// Verdicts on images for `verifyImages` rules: a file `paved check
    /// --record-image-verdicts` wrote (relative to the test file), so a CI decision replays.
    #[serde(default)]
    pub image_verdicts: Option<String>,
    /// The expected results.
    pub expect: Vec<Expectation>,
}

/// Which namespaces an inventory holds completely.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum Completeness {
    /// `true`: every namespace; `false`: none.
    All(bool),
    /// These namespaces.
    Namespaces(Vec<String>),
}

/// What a policy (or one of its rules) should make of a resource.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Expectation {
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
    /// It could not be evaluated (every finding it made is an error: an expression that failed,
    /// a plugin that trapped). A test that expects `fail` counts an error as the failure it is
    /// under `failurePolicy: Fail`.
    Error,
    /// It depends on values known only after apply (a Terraform plan's unknowns): every
    /// finding it made is `unknown`.
    Unknown,
}

words!(Outcome, "outcome" { Pass => "pass", Fail => "fail", Waived => "waived", Skip => "skip", Error => "error", Unknown => "unknown" });
