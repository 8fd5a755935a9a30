//! The report for people: findings grouped by file and resource, exceptions that need
//! attention, and a summary; in colour on a terminal.

use std::fmt::{self, Write};

use super::contract::{money, Decision, Finding, Report};
use super::info::ExceptionStatus;
use super::writer::Writer;
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

/// One finding, under its resource.
fn finding(out: &mut String, p: &Paint, f: &Finding) -> fmt::Result {
    let (mark, word) = match (&f.waived_by, f.action) {
        (Some(_), _) => (p.dim("~"), p.dim("waived")),
        (None, _) if f.unknown() => (p.blue("?"), p.blue("unknown")),
        (None, Action::Deny) => (p.red("✗"), p.red("deny  ")),
        (None, Action::Warn) => (p.yellow("!"), p.yellow("warn  ")),
        (None, Action::Audit) => (p.blue("·"), p.blue("audit ")),
    };
    let at = f.source.as_ref().map(|s| format!("  (line {})", s.line)).unwrap_or_default();
    // A Kubernetes binding's or a Gatekeeper constraint's name, after its policy's.
    let bound = f.binding.as_ref().map(|b| format!(" [{b}]")).unwrap_or_default();
    writeln!(
        out,
        "    {mark} {word} {:<8} {}/{}{bound}  {}",
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
    Ok(())
}

/// Findings grouped by file and resource, then exceptions that need attention, then a summary.
fn human(out: &mut String, report: &Report, color: bool) -> fmt::Result {
    let p = Paint(color);
    let mut last_file: Option<&str> = None;
    for (r, findings) in report.by_resource() {
        // A resource is shown when it has findings, or when it was judged for an admission
        // request (a replay), so the operation and user it was judged for are on record.
        if findings.is_empty() && r.request.is_none() {
            continue;
        }
        let file = r.source.as_ref().map(|s| s.file.as_str()).unwrap_or("<input>");
        if last_file != Some(file) {
            if last_file.is_some() {
                writeln!(out)?;
            }
            writeln!(out, "{}", p.bold(file))?;
            last_file = Some(file);
        }
        let id = &r.resource;
        let ns = if id.namespace.is_empty() { String::new() } else { format!("{}/", id.namespace) };
        let judged = match &r.request {
            Some(q) if q.user.is_empty() => p.dim(&format!("  ({})", q.operation.as_str())),
            Some(q) => p.dim(&format!("  ({} by {})", q.operation.as_str(), q.user)),
            None => String::new(),
        };
        let nothing = if findings.is_empty() { p.dim(": no findings") } else { String::new() };
        writeln!(out, "  {} {ns}{}{judged}{nothing}", id.kind, id.name)?;
        for f in findings {
            finding(out, &p, f)?;
        }
    }
    exceptions(out, &p, report)?;
    if !report.patches.is_empty() {
        changes(out, &p, report)?;
    }
    let priced = report.resources.iter().any(|r| !r.costs.is_empty());
    if priced {
        costs(out, &p, report)?;
    }
    summary(out, &p, report, priced)
}

/// The exceptions that need attention: expiring, unused, expired, invalid.
fn exceptions(out: &mut String, p: &Paint, report: &Report) -> fmt::Result {
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
            if let Some(problem) = &e.problem {
                writeln!(out, "             {}", p.dim(problem))?;
            }
        }
    }
    Ok(())
}

/// The last line: counts and the decision.
fn summary(out: &mut String, p: &Paint, report: &Report, priced: bool) -> fmt::Result {
    let s = &report.summary;
    if !report.findings.is_empty() || !report.exceptions.is_empty() || !report.patches.is_empty() || priced {
        writeln!(out)?;
    }
    let verdict = match report.decision {
        Decision::Deny => p.red("deny"),
        Decision::Warn => p.yellow("warn"),
        Decision::Allow => p.bold("allow"),
    };
    let changed = match report.patches.iter().filter(|c| c.waived_by.is_none()).count() {
        0 => String::new(),
        n => format!(", {}", count(n, "change")),
    };
    // Unknowns are named only when there are some: most runs judge no plan.
    let unknown = if s.unknown > 0 { format!(", {} unknown until apply", s.unknown) } else { String::new() };
    writeln!(
        out,
        "{}, {}{changed}: {} denied, {} warned, {} audited, {} waived{unknown} → {verdict}",
        count(s.resources, "resource"),
        count(s.findings, "finding"),
        s.denied,
        s.warned,
        s.audited,
        s.waived
    )
}

/// What the `cost` rules priced: each resource's monthly change, then the totals by owner.
fn costs(out: &mut String, p: &Paint, report: &Report) -> fmt::Result {
    writeln!(out, "\n{}", p.bold("cost by month (on-demand)"))?;
    // Owner → (total of the known changes, currency, whether some change is unknown).
    let mut owners: std::collections::BTreeMap<&str, (i64, &str, bool)> = std::collections::BTreeMap::new();
    for r in &report.resources {
        for c in &r.costs {
            let amount = match c.delta {
                Some(d) => money(d, &c.currency, true),
                None => p.dim("?"),
            };
            let group = c.group.as_ref().map(|g| format!("  [{g}]")).unwrap_or_default();
            let owner = c.owner.as_deref().unwrap_or("no owner");
            let why = c.problem.as_ref().map(|w| p.dim(&format!("  ({w})"))).unwrap_or_default();
            writeln!(out, "  {amount:>11}  {} {}  {}{group}  {owner}{why}", r.resource.kind, r.resource.name, c.item)?;
            let entry = owners.entry(owner).or_insert((0, c.currency.as_str(), false));
            entry.0 += c.delta.unwrap_or(0);
            entry.2 |= c.delta.is_none();
        }
    }
    let by_owner: Vec<String> = owners
        .iter()
        .map(|(o, (total, currency, unknown))| {
            let more = if *unknown { " and what is not priced" } else { "" };
            format!("{o} {}{more}", money(*total, currency, true))
        })
        .collect();
    writeln!(out, "  by owner: {}", by_owner.join(", "))
}

/// What the mutations changed before the rules judged, one JSON Patch operation a line.
fn changes(out: &mut String, p: &Paint, report: &Report) -> fmt::Result {
    writeln!(out, "\n{}", p.bold("changes (made by mutations before the rules judged)"))?;
    for c in &report.patches {
        let at = c.source.as_ref().map(|s| format!("{}:{}  ", s.file, s.line)).unwrap_or_default();
        let id = &c.resource;
        let ns = if id.namespace.is_empty() { String::new() } else { format!("{}/", id.namespace) };
        let bound = c.binding.as_ref().map(|b| format!(" [{b}]")).unwrap_or_default();
        let text = |key: &str| c.operation.get(key).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned));
        let op = text("op").unwrap_or_default();
        let what = match (text("path"), c.operation.get("value"), text("from")) {
            (Some(path), Some(value), _) => format!("{path} = {}", short(&value.to_string())),
            (Some(path), None, Some(from)) => format!("{path} from {from}"),
            (path, ..) => path.unwrap_or_default(),
        };
        writeln!(out, "  {}{} {ns}{}  {}/{}{bound}  {op} {what}", p.dim(&at), id.kind, id.name, c.policy, c.mutation)?;
        writeln!(out, "        {}", c.message)?;
        if let Some(w) = &c.waived_by {
            writeln!(out, "        {}", p.dim(&format!("not made: waived by exception `{w}`")))?;
        }
    }
    Ok(())
}

/// A value's JSON, cut to a line's worth.
fn short(text: &str) -> String {
    const MOST: usize = 80;
    match text.char_indices().nth(MOST) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or(text)),
        None => text.to_owned(),
    }
}

/// `1 resource`, `2 resources`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
