//! The formats a report is written in, by the names the CLI's `--format` and the bindings use.

use super::github::Github;
use super::json::Json;
use super::junit::Junit;
use super::policy_report::PolicyReports;
use super::sarif::Sarif;
use super::writer::Writer;

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

impl Format {
    /// The writer of the format.
    pub(crate) fn writer(self) -> &'static dyn Writer {
        match self {
            Format::Json => &Json,
            Format::Sarif => &Sarif,
            Format::Junit => &Junit,
            Format::Github => &Github,
            Format::PolicyReport => &PolicyReports,
        }
    }
}
