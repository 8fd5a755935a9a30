//! The result of an evaluation: ordered findings, exception statuses, a summary and a decision.
//!
//! Its JSON form is the contract shared by the CLI, the webhook and the bindings: field names
//! only ever get added, never renamed.

mod github;
mod junit;
mod policy_report;
mod sarif;

pub(crate) use junit::esc as xml_escape;

use serde::Serialize;

use crate::exception::ExceptionStatus;
use crate::model::{Action, Severity};

/// Everything one evaluation found. Byte-identical JSON for the same inputs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
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
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
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
    /// Set when the check could not be evaluated: why. The policy's failure policy decided the
    /// action.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The exception that waives it, if any.
    pub waived_by: Option<String>,
}

/// One evaluated resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
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

/// Identity of a resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "camelCase")]
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
pub struct SourceRef {
    /// File name (`<stdin>` for standard input).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// An exception's state in one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
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

/// The report in the formats of other tools, for CI systems and clusters. Each takes the
/// policies the report was made with (`Engine::policies`), for rule descriptions and for the
/// rules that passed.
pub mod formats {
    pub use super::github::github;
    pub use super::junit::junit;
    pub use super::policy_report::policy_report;
    pub use super::sarif::sarif;
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
