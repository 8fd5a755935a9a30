//! GitLab's code quality report (Code Climate's issue format, the part GitLab reads): each
//! finding an issue on its file and line, shown in the merge request's widget and diff.

use sha2::{Digest, Sha256};

use super::contract::Report;
use super::writer::{pretty, Writer};
use crate::model::{Action, Severity};

/// The report as a JSON array of issues: `description`, `check_name` (`policy/rule`), a
/// `fingerprint` stable across runs (the rule, the object and the field, never the line, so a
/// moved finding is the same issue), `severity` from the rule's, and `location` with the path
/// and line. Waived findings, and findings only known after apply, are left out.
fn code_quality(report: &Report) -> String {
    let issues: Vec<serde_json::Value> = report
        .findings
        .iter()
        .filter(|f| f.waived_by.is_none() && !f.unknown())
        .map(|f| {
            let r = &f.resource;
            let ns = if r.namespace.is_empty() { String::new() } else { format!("{}/", r.namespace) };
            let check = format!("{}/{}", f.policy, f.rule);
            let identity = [check.as_str(), &r.api_version, &r.kind, &r.namespace, &r.name, &f.path];
            let fingerprint = Sha256::digest(identity.join("\u{0}").as_bytes());
            let (path, line) = f.source.as_ref().map_or(("", 1), |s| (&*s.file, s.line.max(1)));
            serde_json::json!({
                "type": "issue",
                "description": format!("{} {ns}{}: {} (at {})", r.kind, r.name, f.message, f.path),
                "check_name": check,
                "fingerprint": hex(&fingerprint),
                "severity": severity(f.action, f.severity),
                "location": { "path": path, "lines": { "begin": line } },
            })
        })
        .collect();
    pretty(&serde_json::Value::Array(issues))
}

/// Code Climate's severities: a denial by its rule's severity, a warning `minor`, an audit `info`.
fn severity(action: Action, severity: Severity) -> &'static str {
    match (action, severity) {
        (Action::Deny, Severity::Critical) => "blocker",
        (Action::Deny, Severity::High) => "critical",
        (Action::Deny, _) => "major",
        (Action::Warn, _) => "minor",
        (Action::Audit, _) => "info",
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// CodeQuality: see [`code_quality`].
pub(super) struct CodeQuality;

impl Writer for CodeQuality {
    fn write(&self, report: &Report) -> String {
        code_quality(report)
    }
}
