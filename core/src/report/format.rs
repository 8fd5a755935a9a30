//! The formats a report is written in, by the names the CLI's `--format` and the bindings use.

use super::code_quality::CodeQuality;
use super::github::Github;
use super::human::Human;
use super::json::Json;
use super::junit::Junit;
use super::policy_report::PolicyReports;
use super::sarif::Sarif;
use super::writer::Writer;

/// The forms a [`Report`](super::Report) can be written in
/// ([`Report::format`](super::Report::format)), by the names the CLI's `--format` and the
/// bindings take them: `human`, `json`, `sarif`, `junit`, `github`, `policy-report`,
/// `code-quality`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// For people: findings grouped by file and resource, exceptions that need attention, a
    /// summary ([`Report::human`](super::Report::human) with colours).
    Human,
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
    /// GitLab's code quality report (Code Climate issues): the merge request's widget and diff.
    CodeQuality,
}

words!(Format, "report format (human, json, sarif, junit, github, policy-report, code-quality)" {
    Human => "human", Json => "json", Sarif => "sarif", Junit => "junit", Github => "github",
    PolicyReport => "policy-report", CodeQuality => "code-quality",
});

impl Format {
    /// The format's name.
    pub fn name(self) -> &'static str {
        self.as_str()
    }

    /// The writer of the format.
    pub(crate) fn writer(self) -> &'static dyn Writer {
        match self {
            Format::Human => &Human { color: false },
            Format::Json => &Json,
            Format::Sarif => &Sarif,
            Format::Junit => &Junit,
            Format::Github => &Github,
            Format::PolicyReport => &PolicyReports,
            Format::CodeQuality => &CodeQuality,
        }
    }
}
