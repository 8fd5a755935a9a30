//! The result of an evaluation: ordered findings, exception statuses, a summary and a decision.
//!
//! Its JSON form is the contract shared by the CLI, the webhook and the bindings: field names
//! only ever get added, never renamed.

pub(crate) mod github;
pub(crate) mod junit;
pub(crate) mod policy_report;
pub(crate) mod sarif;

pub(crate) use junit::esc as xml_escape;

use serde::Serialize;

use crate::model::{Action, ExceptionStatus, PolicyInfo, ResourceRef, Severity, SourceRef};

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
    /// The instant the report was made for (the context's `now`), stamped on PolicyReports.
    #[serde(skip)]
    pub(crate) now: jiff::Timestamp,
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Finding {
    /// Policy name.
    pub policy: String,
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
}

/// The forms a [`Report`] can be written in ([`Report::format`]), by the names the CLI's
/// `--format` and the bindings take them: `json`, `sarif`, `junit`, `github`, `policy-report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// The report contract, pretty JSON.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// JUnit XML: a test case per resource and policy (GitLab, Jenkins, CircleCI).
    Junit,
    /// GitHub Actions workflow commands: an annotation on the line of each finding.
    Github,
    /// `wgpolicyk8s.io/v1alpha2` PolicyReports, one per namespace, as a `List`.
    PolicyReport,
}

impl Format {
    /// Every format, in the order of their names.
    pub const ALL: [Format; 5] = [Format::Json, Format::Sarif, Format::Junit, Format::Github, Format::PolicyReport];

    /// The format's name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Github => "github",
            Format::PolicyReport => "policy-report",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = crate::Error;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Format::ALL.into_iter().find(|f| f.name() == name).ok_or_else(|| crate::Error::Unknown {
            what: "report format (json, sarif, junit, github, policy-report)",
            name: name.to_owned(),
            suggestion: crate::error::did_you_mean(name, Format::ALL.iter().map(|f| f.name())).map(str::to_owned),
        })
    }
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

    /// The report as pretty JSON (the stable contract).
    pub fn to_json(&self) -> String {
        // Serialising plain structs of strings and numbers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The report as compact JSON, one line (for machines: the bindings, the webhook's logs).
    pub fn to_json_compact(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The report in `format`, as the CLI prints it (ending in a newline). `policies` are the
    /// ones the report was made with ([`Engine::policies`](crate::Engine::policies)): SARIF
    /// takes rule descriptions from them, JUnit and PolicyReports list the rules that passed.
    ///
    /// ```
    /// use paved::{Bundle, Context, Engine, Format, Resource};
    ///
    /// let engine = Engine::builder().bundle(Bundle::defaults()?).build()?;
    /// let pod = Resource::from_str("pod.yaml", "{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {hostPID: true}}")?;
    /// let report = engine.evaluate(&pod, &Context::parse_at("2026-06-01T00:00:00Z")?);
    /// let sarif = report.format("sarif".parse()?, &engine.policies());
    /// assert!(sarif.contains("\"version\": \"2.1.0\""));
    /// assert!(report.format(Format::Github, &engine.policies()).starts_with("::error file=pod.yaml,line=1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn format(&self, format: Format, policies: &[PolicyInfo]) -> String {
        let pretty = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
        match format {
            Format::Json => self.to_json() + "\n",
            Format::Sarif => pretty(sarif::sarif(self, policies)),
            Format::Junit => junit::junit(self),
            Format::Github => github::github(self),
            Format::PolicyReport => pretty(policy_report::policy_report(self, policies, self.now)),
        }
    }

    pub(crate) fn summarize(resources: usize, findings: &[Finding]) -> (Summary, Decision) {
        let mut s = Summary { resources, findings: findings.len(), ..Summary::default() };
        for f in findings {
            match (&f.waived_by, f.action) {
                (Some(_), _) => s.waived += 1,
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
