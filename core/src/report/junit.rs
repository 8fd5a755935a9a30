//! JUnit XML, as CI systems (GitLab, Jenkins, Azure, CircleCI) show test results.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::contract::{Finding, Report, ResourceReport};
use super::writer::Writer;
use crate::model::Action;

/// The report as JUnit XML: a test suite per input file, a test case per resource and policy
/// that applied to it. A case fails when the policy denied the resource (an unwaived `Deny`
/// finding); warnings, audits and waived findings are written to the case's output.
fn junit(report: &Report) -> String {
    let mut suites: BTreeMap<&str, Vec<(&ResourceReport, &[Finding])>> = BTreeMap::new();
    for (r, findings) in report.by_resource() {
        let file = r.source.as_ref().map_or("<input>", |s| s.file.as_str());
        suites.entry(file).or_default().push((r, findings));
    }
    let mut body = String::new();
    let (mut all_tests, mut all_failures, mut all_skipped) = (0, 0, 0);
    for (file, resources) in &suites {
        let mut cases = String::new();
        let (mut tests, mut failures, mut skipped) = (0, 0, 0);
        for (r, findings) in resources {
            let object = r.resource.to_string();
            for policy in &r.policies {
                tests += 1;
                let (denied, others): (Vec<&Finding>, Vec<&Finding>) = findings
                    .iter()
                    .filter(|f| &f.policy == policy)
                    .partition(|f| f.waived_by.is_none() && f.action == Action::Deny && !f.unknown());
                let unknown = others.iter().filter(|f| f.waived_by.is_none() && f.unknown()).count();
                let line = r.source.as_ref().map(|s| format!(" line=\"{}\"", s.line)).unwrap_or_default();
                let _ = write!(
                    cases,
                    "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\"{line}>",
                    esc(&object),
                    esc(policy),
                    esc(file)
                );
                if let Some(first) = denied.first() {
                    failures += 1;
                    let text: Vec<String> = denied.iter().map(|f| describe(f)).collect();
                    let _ = write!(
                        cases,
                        "\n      <failure message=\"{}\" type=\"{}/{}\">{}</failure>",
                        esc(&first.message),
                        esc(&first.policy),
                        esc(&first.rule),
                        esc(&text.join("\n"))
                    );
                }
                if denied.is_empty() && unknown > 0 {
                    skipped += 1;
                    let _ = write!(cases, "\n      <skipped message=\"{unknown} check(s) known only after apply\"/>");
                }
                if !others.is_empty() {
                    let text: Vec<String> = others.iter().map(|f| describe(f)).collect();
                    let _ = write!(cases, "\n      <system-out>{}</system-out>", esc(&text.join("\n")));
                }
                if denied.is_empty() && others.is_empty() {
                    cases.push_str("</testcase>\n");
                } else {
                    cases.push_str("\n    </testcase>\n");
                }
            }
        }
        all_tests += tests;
        all_failures += failures;
        all_skipped += skipped;
        let _ = write!(
            body,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n{cases}  </testsuite>\n",
            esc(file)
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"paved\" tests=\"{all_tests}\" failures=\"{all_failures}\" errors=\"0\" skipped=\"{all_skipped}\">\n{body}</testsuites>\n"
    )
}

/// One finding as a line of text.
fn describe(f: &Finding) -> String {
    let what = match (&f.waived_by, f.action) {
        (Some(w), _) => format!("waived by {w}"),
        (None, _) if f.unknown() => "unknown until apply".into(),
        (None, Action::Deny) => "deny".into(),
        (None, Action::Warn) => "warn".into(),
        (None, Action::Audit) => "audit".into(),
    };
    let at = f.source.as_ref().map(|s| format!(" ({}:{}:{})", s.file, s.line, s.column)).unwrap_or_default();
    let help = f.help.as_ref().map(|h| format!("\n  help: {h}")).unwrap_or_default();
    format!("[{what}] {}/{} at {}{at}: {}{help}", f.policy, f.rule, f.path, f.message)
}

/// Escapes text for XML, dropping characters XML 1.0 cannot hold.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Junit: see [`junit`].
pub(super) struct Junit;

impl Writer for Junit {
    fn write(&self, report: &Report) -> String {
        junit(report)
    }
}
