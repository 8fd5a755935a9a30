//! The report for people: findings grouped by file and resource, exceptions that need
//! attention, and a summary; in colour on a terminal.

use std::fmt::{self, Write};

use super::contract::{Decision, Report};
use super::info::ExceptionStatus;
use super::writer::Writer;
use crate::k8s::ResourceRef;
use crate::model::Action;

/// The report for people, with ANSI colours or without.
pub(super) struct Human {
    pub(super) color: bool,
}

impl Writer for Human {
    fn write(&self, report: &Report) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = human(&mut out, report, self.color);
        out
    }
}

/// ANSI colours, or none.
struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    fn red(&self, s: &str) -> String {
        self.wrap("1;31", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    fn blue(&self, s: &str) -> String {
        self.wrap("34", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
}

/// Findings grouped by file and resource, then exceptions that need attention, then a summary.
fn human(out: &mut String, report: &Report, color: bool) -> fmt::Result {
    let p = Paint(color);
    let mut last: Option<(&str, &ResourceRef)> = None;
    for f in &report.findings {
        let file = f.source.as_ref().map(|s| s.file.as_str()).unwrap_or("<input>");
        if last.map(|l| l.0) != Some(file) {
            if last.is_some() {
                writeln!(out)?;
            }
            writeln!(out, "{}", p.bold(file))?;
        }
        if last.map(|l| l.1) != Some(&f.resource) {
            let r = &f.resource;
            let ns = if r.namespace.is_empty() { String::new() } else { format!("{}/", r.namespace) };
            writeln!(out, "  {} {ns}{}", r.kind, r.name)?;
        }
        last = Some((file, &f.resource));
        let (mark, word) = match (&f.waived_by, f.action) {
            (Some(_), _) => (p.dim("~"), p.dim("waived")),
            (None, Action::Deny) => (p.red("✗"), p.red("deny  ")),
            (None, Action::Warn) => (p.yellow("!"), p.yellow("warn  ")),
            (None, Action::Audit) => (p.blue("·"), p.blue("audit ")),
        };
        let at = f.source.as_ref().map(|s| format!("  (line {})", s.line)).unwrap_or_default();
        writeln!(
            out,
            "    {mark} {word} {:<8} {}/{}  {}",
            f.severity.as_str(),
            f.policy,
            f.rule,
            p.dim(&format!("{}{at}", f.path))
        )?;
        writeln!(out, "        {}", f.message)?;
        if let Some(d) = &f.detail {
            writeln!(out, "        {}", p.dim(d))?;
        }
        if let Some(h) = &f.help {
            writeln!(out, "        {} {h}", p.bold("help:"))?;
        }
        if let Some(w) = &f.waived_by {
            writeln!(out, "        {}", p.dim(&format!("waived by exception `{w}`")))?;
        }
    }
    let notable: Vec<_> = report.exceptions.iter().filter(|e| e.status != ExceptionStatus::Active).collect();
    if !notable.is_empty() {
        writeln!(out, "\n{}", p.bold("exceptions"))?;
        for e in notable {
            let status = e.status.as_str();
            let status = match e.status {
                ExceptionStatus::Expired | ExceptionStatus::Invalid => p.red(status),
                _ => p.yellow(status),
            };
            writeln!(
                out,
                "  {status:<10} {} (owner {}, expires {}) {}:{}",
                e.name, e.owner, e.expires, e.source.file, e.source.line
            )?;
        }
    }
    let s = &report.summary;
    if !report.findings.is_empty() || !report.exceptions.is_empty() {
        writeln!(out)?;
    }
    let verdict = match report.decision {
        Decision::Deny => p.red("deny"),
        Decision::Warn => p.yellow("warn"),
        Decision::Allow => p.bold("allow"),
    };
    writeln!(
        out,
        "{} resources, {} findings: {} denied, {} warned, {} audited, {} waived → {verdict}",
        s.resources, s.findings, s.denied, s.warned, s.audited, s.waived
    )
}
