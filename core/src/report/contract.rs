//! The report's data: findings, resources, exceptions, a summary and a decision. Its JSON form
//! is the contract shared by the CLI, the webhook and the bindings: field names only ever get
//! added, never renamed.

use serde::Serialize;

use super::info::{ExceptionStatus, PolicyInfo};
use crate::k8s::ResourceRef;
use crate::load::SourceRef;
use crate::model::{Action, Severity};

/// Everything one evaluation found. Byte-identical JSON for the same inputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Report {
    /// Failed checks, ordered by resource, then policy, rule and path.
    pub findings: Vec<Finding>,
    /// Every resource evaluated, in input order, with the policies that applied to it (a
    /// policy that applied and has no finding for it passed).
    pub resources: Vec<ResourceReport>,
    /// Every exception of the bundle and its status in this run, by name.
    pub exceptions: Vec<ExceptionReport>,
    /// Counts.
    pub summary: Summary,
    /// The verdict: `deny` if any unwaived `Deny` finding, else `warn` if any unwaived `Warn`.
    pub decision: Decision,
    /// What the mutations changed, before the rules judged the result: one JSON Patch operation
    /// each, by resource (in input order), in the order they were made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
    /// What the patches change in the files the resources came from, one fix per resource, as
    /// text replacements (SARIF's `fixes`); filled in by [`golden::fixes`](crate::golden::fixes)
    /// by whoever can read the files.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<Fix>,
    /// The instant the report was made for (the context's `now`), stamped on PolicyReports.
    #[serde(skip)]
    pub(crate) now: jiff::Timestamp,
    /// The policies of the engine that made it, for the writers that describe them (SARIF's
    /// rules, JUnit's and PolicyReports' passes): shared with the engine, not copied.
    #[serde(skip)]
    pub(crate) policies: std::sync::Arc<[PolicyInfo]>,
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Finding {
    /// Policy name.
    pub policy: String,
    /// For a Kubernetes admission policy, the binding it applied through (Kubernetes names
    /// both); a paved `PolicyBinding`'s findings name the binding as their policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<String>,
    /// Rule id.
    pub rule: String,
    /// How serious.
    pub severity: Severity,
    /// What the policy does about it.
    pub action: Action,
    /// What is wrong.
    pub message: String,
    /// More about what failed (e.g. the schema errors), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The resource.
    pub resource: ResourceRef,
    /// Where in the input file, when the resource came from one.
    pub source: Option<SourceRef>,
    /// JSON pointer into the resource (for pod controllers, into the real template).
    pub path: String,
    /// The container the finding is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Set when the check could not be evaluated: why, as a value a program can read. The
    /// policy's failure policy decided the action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<FindingError>,
    /// The exception that waives it, if any.
    pub waived_by: Option<String>,
}

impl Finding {
    /// Whether the check depends on a value known only after apply: neither passed nor failed
    /// ([`ErrorKind::Unknown`]).
    pub fn unknown(&self) -> bool {
        self.error.as_ref().is_some_and(|e| e.kind == ErrorKind::Unknown)
    }
}

/// Why a check could not be evaluated. Its JSON form has a stable `kind`, so a webhook or a
/// binding can tell a plugin out of fuel from a CEL type error without reading the message:
///
/// ```json
/// {"kind": "fuel", "plugin": "registry-allowlist", "message": "plugin `registry-allowlist` ran out of fuel ..."}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FindingError {
    /// What kind of failure it is.
    pub kind: ErrorKind,
    /// The plugin that failed, for plugin errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// What happened, for people.
    pub message: String,
}

impl FindingError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        FindingError { kind, plugin: None, message: message.into() }
    }
}

impl std::fmt::Display for FindingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The kinds of [`FindingError`]; the JSON names are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// A CEL expression failed at run time (a missing field, a division by zero, a wrong type).
    Cel,
    /// A CEL expression ran past its cost budget and was stopped.
    Cost,
    /// A JSON Schema check could not be run.
    Schema,
    /// A plugin used up its fuel.
    Fuel,
    /// A plugin tried to grow its memory past its limit.
    Memory,
    /// A plugin trapped (a panic, an abort, an out-of-bounds access).
    Trap,
    /// A plugin ran past the host's deadline.
    Deadline,
    /// A plugin answered something the contract does not allow (too large, an unknown rule id,
    /// a path that is not a JSON pointer).
    InvalidOutput,
    /// A plugin said it could not check the resource (its own `error` result).
    PluginFailed,
    /// The host could not run the plugin (every instance slot in use).
    Unavailable,
    /// A Rego policy failed at run time (a rule with two values, a `violation` of the wrong
    /// shape).
    Rego,
    /// A mutation could not be applied (a JSON Patch that does not fit the object, an apply
    /// configuration that sets an atomic list), is not idempotent, or conflicts with another.
    Mutation,
    /// An image's signature could not be checked: its registry could not be reached, or no
    /// verdict was given for it.
    Registry,
    /// The check depends on a value known only after apply (a Terraform plan's or a Pulumi
    /// preview's unknown): neither passed nor failed, counted in [`Summary::unknown`] and not in
    /// the decision.
    Unknown,
    /// A `cost` rule has no price for what the resource provisions (a type missing from the
    /// price table), so its budget cannot be judged.
    Price,
}

words!(ErrorKind, "error kind" { Cel => "cel", Cost => "cost", Schema => "schema", Fuel => "fuel", Memory => "memory", Trap => "trap", Deadline => "deadline", InvalidOutput => "invalid-output", PluginFailed => "plugin-failed", Unavailable => "unavailable", Rego => "rego", Mutation => "mutation", Registry => "registry", Unknown => "unknown", Price => "price" });

/// One change a mutation made (or would have made, when an exception waives it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Patch {
    /// The policy whose mutation it is.
    pub policy: String,
    /// For a Kubernetes admission policy, the binding it applied through.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binding: Option<String>,
    /// The mutation's id.
    pub mutation: String,
    /// Why the change is made.
    pub message: String,
    /// The resource.
    pub resource: ResourceRef,
    /// Where in the input file the changed field (or the nearest field around it that the file
    /// has) is, when the resource came from one.
    pub source: Option<SourceRef>,
    /// The change, as a JSON Patch (RFC 6902) operation on the resource: `op`, `path`, and
    /// `value` or `from`.
    pub operation: serde_json::Value,
    /// The exception that waives it: the change is shown, not made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waived_by: Option<String>,
}

/// What a resource's patches change in its file: the edits the rewriter makes (comments,
/// order and formatting kept), as replacements of the text as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Fix {
    /// The resource.
    pub resource: ResourceRef,
    /// The file, as the resource's source names it.
    pub file: String,
    /// The replacements, in the order of the text, none overlapping.
    pub replacements: Vec<Replacement>,
}

/// One replacement of a file's text by `inserted`. Lines and columns are 1-based, counted in
/// Unicode code points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Replacement {
    /// The line where what is deleted starts.
    pub start_line: u32,
    /// Its column.
    pub start_column: u32,
    /// The line just past what is deleted (the start, when nothing is).
    pub end_line: u32,
    /// Its column.
    pub end_column: u32,
    /// Where the deletion starts, in code points from the start of the file.
    pub char_offset: usize,
    /// How many code points are deleted.
    pub char_length: usize,
    /// The text put in its place.
    pub inserted: String,
}

/// One evaluated resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ResourceReport {
    /// The resource.
    pub resource: ResourceRef,
    /// Where its document starts, when it came from a file.
    pub source: Option<SourceRef>,
    /// Names of the policies that applied to it, sorted.
    pub policies: Vec<String>,
    /// How many of the report's findings are about it (they follow the previous resource's).
    pub findings: usize,
    /// The admission request it was judged for, when it came from one (a captured
    /// AdmissionReview, or the webhook's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestInfo>,
    /// The audit annotations the policies added (`POLICY/KEY`), as a ValidatingAdmissionPolicy
    /// adds them to the API server's audit record.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, String>,
    /// What it costs by the month, as the `cost` rules that applied to it priced it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub costs: Vec<Cost>,
}

/// What a resource costs by the month before its change and after, as a `cost` rule priced
/// it. Amounts are in cents of `currency` here, and in its units (`496.4`) in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Cost {
    /// The policy of the rule.
    pub policy: String,
    /// The rule.
    pub rule: String,
    /// What was priced: `c5.4xlarge in eu-west-1`, `3 × (0.5 CPU, 1.00 GiB)`.
    pub item: String,
    /// Before the change; `None` for a resource created (or with no price: see `problem`).
    #[serde(serialize_with = "units")]
    pub before: Option<i64>,
    /// After the change; `None` for a resource deleted (or with no price).
    #[serde(serialize_with = "units")]
    pub after: Option<i64>,
    /// `after - before`; `None` when the resource could not be priced.
    #[serde(serialize_with = "units")]
    pub delta: Option<i64>,
    /// The currency (ISO 4217), `USD` for the shipped table.
    pub currency: String,
    /// The value of the owner label (tag), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The value of the budget label (tag): the group whose budget the change counts against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// That group's monthly budget, when the params give one.
    #[serde(serialize_with = "units", skip_serializing_if = "Option::is_none")]
    pub budget: Option<i64>,
    /// Why there is no price: its size is known only after apply, or the table has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Whether the problem is a value known only after apply.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unknown: bool,
}

/// Cents of `currency` as people read money: `+$496.40`, `-$12.00`, `EUR 3.10`.
pub(crate) fn money(cents: i64, currency: &str, signed: bool) -> String {
    let symbol = if currency == "USD" { "$".to_owned() } else { format!("{currency} ") };
    let sign = match (signed, cents < 0) {
        (_, true) => "-",
        (true, false) => "+",
        (false, false) => "",
    };
    let abs = cents.unsigned_abs();
    format!("{sign}{symbol}{}.{:02}", abs / 100, abs % 100)
}

/// Cents as units of the currency, in JSON.
fn units<S: serde::Serializer>(cents: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    #[allow(clippy::cast_precision_loss)]
    match cents {
        Some(c) => s.serialize_f64(*c as f64 / 100.0),
        None => s.serialize_none(),
    }
}

/// What an admission request says of itself that changes a verdict: the operation, and who asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RequestInfo {
    /// `request.operation`.
    pub operation: crate::k8s::Operation,
    /// `request.userInfo.username`; empty when the request names no user.
    pub user: String,
}

/// An exception's state in one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExceptionReport {
    /// Name.
    pub name: String,
    /// Who answers for it.
    pub owner: String,
    /// Why it exists.
    pub reason: String,
    /// Tracking ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Who approved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<String>,
    /// When it expires (RFC 3339, UTC).
    pub expires: String,
    /// Its status.
    pub status: ExceptionStatus,
    /// Why it waives nothing, when it is `expired` or `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Set when its `match` names no kind, namespace, name or container: it waives its rules on
    /// every resource, which `paved exceptions` warns about.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub matches_everything: bool,
    /// How many findings it waived in this run.
    pub waived: usize,
    /// What it waives: `policy` or `policy/rule`.
    pub waives: Vec<String>,
    /// Where it was written.
    pub source: SourceRef,
}

/// Counts over the run. `denied`, `warned` and `audited` count unwaived findings only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Summary {
    /// Resources evaluated.
    pub resources: usize,
    /// All findings, waived or not.
    pub findings: usize,
    /// Unwaived `Deny` findings.
    pub denied: usize,
    /// Unwaived `Warn` findings.
    pub warned: usize,
    /// Unwaived `Audit` findings.
    pub audited: usize,
    /// Waived findings.
    pub waived: usize,
    /// Unwaived findings whose check depends on a value known only after apply (a Terraform
    /// plan's unknown): neither passed nor failed, and not in the decision.
    pub unknown: usize,
}

/// The overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Nothing unwaived to act on.
    #[default]
    Allow,
    /// Unwaived warnings, no denial.
    Warn,
    /// At least one unwaived `Deny` finding.
    Deny,
}

words!(Decision, "decision" { Allow => "allow", Warn => "warn", Deny => "deny" });

impl Report {
    /// Each resource with its findings, in order.
    pub fn by_resource(&self) -> impl Iterator<Item = (&ResourceReport, &[Finding])> {
        let mut rest = self.findings.as_slice();
        self.resources.iter().map(move |r| {
            let (mine, after) = rest.split_at(r.findings.min(rest.len()));
            rest = after;
            (r, mine)
        })
    }

    /// Reports of parts of one input, made one after another by one engine at one instant
    /// (the pages of a cluster's objects, as an audit lists them), as one: findings, resources,
    /// patches and fixes in order, the summary and each exception's waived count summed, the
    /// strongest decision. `None` when there are no parts.
    ///
    /// ```
    /// let engine = paved::Engine::builder().bundle(paved::Bundle::defaults()?).build()?;
    /// let ctx = paved::Context::parse_at("2026-06-01")?;
    /// let pod = |name: &str| paved::Resource::from_str("p.yaml", &format!("{{apiVersion: v1, kind: Pod, metadata: {{name: {name}}}, spec: {{containers: [{{name: a, image: a, securityContext: {{privileged: true}}}}]}}}}"));
    /// let (a, b) = (pod("a")?, pod("b")?);
    /// let both = engine.evaluate(&[a[0].clone(), b[0].clone()], &ctx);
    /// let merged = paved::Report::merge([engine.evaluate(&a, &ctx), engine.evaluate(&b, &ctx)]).unwrap();
    /// assert_eq!(merged.to_json(), both.to_json());
    /// # Ok::<(), paved::Error>(())
    /// ```
    pub fn merge(parts: impl IntoIterator<Item = Report>) -> Option<Report> {
        let mut parts = parts.into_iter();
        let mut out = parts.next()?;
        for part in parts {
            out.findings.extend(part.findings);
            out.resources.extend(part.resources);
            out.patches.extend(part.patches);
            out.fixes.extend(part.fixes);
            for (mine, theirs) in out.exceptions.iter_mut().zip(&part.exceptions) {
                mine.waived += theirs.waived;
            }
            let (s, t) = (&mut out.summary, &part.summary);
            s.resources += t.resources;
            s.findings += t.findings;
            s.denied += t.denied;
            s.warned += t.warned;
            s.audited += t.audited;
            s.waived += t.waived;
            out.decision = out.decision.max(part.decision);
        }
        Some(out)
    }

    /// The report as pretty JSON (the stable contract).
    pub fn to_json(&self) -> String {
        // Serialising plain structs of strings and numbers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The report as compact JSON, one line (for machines: the bindings, the webhook's logs).
    pub fn to_json_compact(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub(crate) fn summarize(resources: usize, findings: &[Finding]) -> (Summary, Decision) {
        let mut s = Summary { resources, findings: findings.len(), ..Summary::default() };
        for f in findings {
            match (&f.waived_by, f.action) {
                (Some(_), _) => s.waived += 1,
                (None, _) if f.unknown() => s.unknown += 1,
                (None, Action::Deny) => s.denied += 1,
                (None, Action::Warn) => s.warned += 1,
                (None, Action::Audit) => s.audited += 1,
            }
        }
        let decision = if s.denied > 0 {
            Decision::Deny
        } else if s.warned > 0 {
            Decision::Warn
        } else {
            Decision::Allow
        };
        (s, decision)
    }
}
