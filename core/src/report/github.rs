//! GitHub Actions workflow commands: each finding becomes an annotation on its file and line.

use std::fmt::Write;

use super::contract::Report;
use super::writer::Writer;
use crate::model::Action;

/// The report as workflow commands (`::error file=…,line=…::…`): denials are errors, warnings
/// warnings, audits notices; waived findings are left out. A last plain line sums up.
fn github(report: &Report) -> String {
    let mut out = String::new();
    for f in report.findings.iter().filter(|f| f.waived_by.is_none()) {
        let command = match f.action {
            _ if f.unknown() => "notice",
            Action::Deny => "error",
            Action::Warn => "warning",
            Action::Audit => "notice",
        };
        let mut props = Vec::new();
        // Standard input with no name has no file to annotate: the message names the object.
        if let Some(s) = f.source.as_ref().filter(|s| s.file != "<stdin>") {
            props.push(format!("file={}", property(&s.file)));
            props.push(format!("line={}", s.line));
            props.push(format!("col={}", s.column));
        }
        props.push(format!("title={}", property(&format!("{}/{}", f.policy, f.rule))));
        let r = &f.resource;
        let ns = if r.namespace.is_empty() { String::new() } else { format!("{}/", r.namespace) };
        let mut message = format!("{} {ns}{}: {} (at {})", r.kind, r.name, f.message, f.path);
        if let Some(h) = &f.help {
            message = format!("{message}\nhelp: {h}");
        }
        let _ = writeln!(out, "::{command} {}::{}", props.join(","), data(&message));
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "paved: {} resources, {} findings: {} denied, {} warned, {} audited, {} waived -> {}",
        s.resources,
        s.findings,
        s.denied,
        s.warned,
        s.audited,
        s.waived,
        report.decision.as_str()
    );
    out
}

/// Escapes a command's message.
fn data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a command's property value.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Github: see [`github`].
pub(super) struct Github;

impl Writer for Github {
    fn write(&self, report: &Report) -> String {
        github(report)
    }
}
