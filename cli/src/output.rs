//! How the CLI writes reports and errors for people.

use std::collections::BTreeMap;
use std::io::{self, Write};

use paved::{Action, Error, ExceptionStatus, Report};

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
pub fn human(out: &mut impl Write, report: &Report, color: bool) -> io::Result<()> {
    let p = Paint(color);
    let mut last: Option<(&str, &paved::ResourceRef)> = None;
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
            word_of(f.severity),
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
            let status = word_of(e.status);
            let status = match e.status {
                ExceptionStatus::Expired | ExceptionStatus::Invalid => p.red(&status),
                _ => p.yellow(&status),
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
        paved::Decision::Deny => p.red("deny"),
        paved::Decision::Warn => p.yellow("warn"),
        paved::Decision::Allow => p.bold("allow"),
    };
    writeln!(
        out,
        "{} resources, {} findings: {} denied, {} warned, {} audited, {} waived → {verdict}",
        s.resources, s.findings, s.denied, s.warned, s.audited, s.waived
    )
}

/// The built-in packs, their policies and rules.
pub fn packs(out: &mut impl Write, packs: &[(&paved::Pack, Vec<paved::PolicyInfo>)]) -> io::Result<()> {
    for (pack, policies) in packs {
        let default = if paved::DEFAULT_PACKS.contains(&pack.name) { " (default)" } else { "" };
        writeln!(out, "{}{default}\n  {}", pack.name, pack.description)?;
        for p in policies {
            writeln!(out, "  policy {} {} [{}]", p.name, p.version, word_of(p.action))?;
            for r in &p.rules {
                writeln!(out, "    {:<28} {:<8} {}", r.id, word_of(r.severity), r.message)?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The word serde writes for an enum value (`high`, `expired`).
fn word_of(v: impl serde::Serialize) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Writes an error to standard error; problems in files are shown like rustc shows them: the
/// place, the line of source, a caret, and a help line.
pub fn error(e: &Error, color: bool) {
    let p = Paint(color);
    let mut err = io::stderr().lock();
    let Some(diags) = e.diagnostics() else {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            msg.push_str(&format!(": {s}"));
            source = s.source();
        }
        let _ = writeln!(err, "{} {msg}", p.red("error:"));
        return;
    };
    let mut files: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    for d in diags.iter() {
        let _ = writeln!(err, "{} {}", p.red("error:"), p.bold(&d.message));
        let _ = writeln!(err, "  {} {}:{}:{}", p.blue("-->"), d.file, d.line, d.column);
        let lines = files
            .entry(d.file.to_string())
            .or_insert_with(|| std::fs::read_to_string(&*d.file).ok().map(|t| t.lines().map(str::to_owned).collect()));
        let text = lines.as_ref().and_then(|l| l.get((d.line as usize).wrapping_sub(1)));
        if let Some(text) = text {
            let n = d.line.to_string();
            let pad = " ".repeat(n.len());
            let _ = writeln!(err, "  {pad} {}", p.blue("|"));
            let _ = writeln!(err, "  {} {} {text}", p.blue(&n), p.blue("|"));
            let caret = " ".repeat((d.column as usize).saturating_sub(1));
            let _ = writeln!(err, "  {pad} {} {caret}{}", p.blue("|"), p.red("^"));
        }
        if let Some(ptr) = d.pointer.as_deref().filter(|p| !p.is_empty()) {
            let _ = writeln!(err, "  {} at {ptr}", p.blue("="));
        }
        if let Some(h) = &d.help {
            for (i, line) in h.lines().enumerate() {
                let head = if i == 0 { format!("{} ", p.blue("= help:")) } else { "          ".into() };
                let _ = writeln!(err, "  {head}{line}");
            }
        }
        let _ = writeln!(err);
    }
    let _ = writeln!(err, "{} {} problem(s); nothing was checked", p.red("error:"), diags.len());
}
