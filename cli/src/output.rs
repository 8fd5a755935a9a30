//! How the CLI writes reports and errors for people.

use std::collections::BTreeMap;
use std::io::{self, Write};

use paved::{Action, Error, ExceptionStatus, Report, Timestamp};

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
    fn green(&self, s: &str) -> String {
        self.wrap("32", s)
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
    let _ = writeln!(err, "{} aborting: {} problem(s)", p.red("error:"), diags.len());
}

/// Policy test results: a line per suite, every failed case with what differed (every case
/// with `verbose`), and a summary.
pub fn tests(
    out: &mut impl Write,
    reports: &[paved::suite::SuiteReport],
    verbose: bool,
    color: bool,
) -> io::Result<()> {
    let p = Paint(color);
    let (mut cases, mut failed) = (0, 0);
    for s in reports {
        let bad = s.cases.iter().filter(|c| !c.passed()).count();
        cases += s.cases.len();
        failed += bad;
        let mark = if bad == 0 { p.green("✓") } else { p.red("✗") };
        writeln!(out, "{mark} {} {} ({} cases, {bad} failed)", p.bold(&s.name), p.dim(&s.file), s.cases.len())?;
        for c in s.cases.iter().filter(|c| verbose || !c.passed()) {
            let mark = if c.passed() { p.green("✓") } else { p.red("✗") };
            writeln!(out, "  {mark} {} {}", c.name, p.dim(&format!("({}:{})", s.file, c.line)))?;
            if let Some(e) = &c.error {
                writeln!(out, "      {} {e}", p.red("error:"))?;
            }
            for k in c.checks.iter().filter(|k| !k.passed()) {
                writeln!(out, "      {} {}", p.dim(&format!("line {}:", k.line)), k.subject())?;
                writeln!(out, "        {}", p.red(&format!("- expected {}", word_of(k.expected))))?;
                writeln!(out, "        {}", p.green(&format!("+ got      {}", word_of(k.actual))))?;
                for f in &k.findings {
                    let waived = f.waived_by.as_ref().map(|w| format!(" (waived by {w})")).unwrap_or_default();
                    writeln!(out, "          {}/{} at {}: {}{waived}", f.policy, f.rule, f.path, f.message)?;
                }
            }
        }
    }
    let verdict = if failed == 0 { p.green("ok") } else { p.red("FAILED") };
    writeln!(out, "\n{verdict}: {} suites, {cases} cases, {} passed, {failed} failed", reports.len(), cases - failed)
}

/// Exceptions as a table: status, name, owner, expiry (and how far off), ticket, what it waives.
pub fn exceptions(
    out: &mut impl Write,
    list: &[paved::ExceptionReport],
    now: Timestamp,
    color: bool,
) -> io::Result<()> {
    let p = Paint(color);
    if list.is_empty() {
        return writeln!(out, "no exceptions");
    }
    let rows: Vec<[String; 6]> = list
        .iter()
        .map(|e| {
            let when = e
                .expires
                .parse::<Timestamp>()
                .map(|t| {
                    let days = t.duration_since(now).as_hours().div_euclid(24);
                    let date = e.expires.get(..10).unwrap_or(&e.expires);
                    if days < 0 {
                        format!("{date} ({} days ago)", -days)
                    } else {
                        format!("{date} (in {days} days)")
                    }
                })
                .unwrap_or_else(|_| e.expires.clone());
            [
                word_of(e.status),
                e.name.clone(),
                e.owner.clone(),
                when,
                e.ticket.clone().unwrap_or_else(|| "-".into()),
                e.waives.join(", "),
            ]
        })
        .collect();
    let head = ["STATUS", "NAME", "OWNER", "EXPIRES", "TICKET", "WAIVES"];
    let mut widths = head.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i == 5 {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s
    };
    writeln!(out, "{}", p.bold(&line(head)))?;
    for (r, e) in rows.iter().zip(list) {
        let text = line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]);
        let text = match e.status {
            ExceptionStatus::Expired | ExceptionStatus::Invalid => p.red(&text),
            ExceptionStatus::Expiring => p.yellow(&text),
            _ => text,
        };
        writeln!(out, "{text}")?;
    }
    Ok(())
}

/// What a rule (or every rule of a policy) checks, its examples, and how to fix it or ask for
/// an exception.
pub fn explain(
    out: &mut impl Write,
    origin: &str,
    policy: &paved::PolicyInfo,
    rules: &[paved::RuleInfo],
    tests: &[paved::TestSuite],
    color: bool,
) -> io::Result<()> {
    let p = Paint(color);
    let examples: Vec<paved::suite::Example> = tests.iter().flat_map(paved::TestSuite::examples).collect();
    let mut kinds = if policy.kinds.is_empty() { "every kind".to_owned() } else { policy.kinds.join(", ") };
    if policy.pod_controllers {
        kinds.push_str(
            " and the pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs",
        );
    }
    for rule in rules {
        writeln!(
            out,
            "{} {}",
            p.bold(&format!("{}/{}", policy.name, rule.id)),
            p.dim(&format!("({origin}, policy version {})", policy.version))
        )?;
        writeln!(out, "  {}", rule.message)?;
        writeln!(
            out,
            "  severity {} · action {} · applies to {kinds}",
            word_of(rule.severity),
            word_of(policy.action)
        )?;
        if let Some(d) = &policy.description {
            writeln!(out, "\n{}\n  {d}", p.bold("Why"))?;
        }
        writeln!(out, "\n{}", p.bold("What it checks"))?;
        if let Some(f) = &rule.for_each {
            writeln!(out, "  for each: {}", serde_json::to_string(f).unwrap_or_default().trim_matches('"'))?;
        }
        if let Some(w) = &rule.when {
            writeln!(out, "  when: {w}")?;
        }
        if let Some(c) = &rule.cel {
            writeln!(out, "  cel: {c}")?;
        }
        if let Some(a) = &rule.assert {
            writeln!(out, "  assert (JSON Schema):")?;
            for l in paved::to_yaml(a).lines() {
                writeln!(out, "    {l}")?;
            }
        }
        if let Some(h) = &rule.help {
            writeln!(out, "\n{}\n  {h}", p.bold("How to fix it"))?;
        }
        let about =
            |e: &&paved::suite::Example| e.policy == policy.name && e.rule.as_ref().is_none_or(|r| r == &rule.id);
        // Cases about this rule alone make the clearest examples.
        let pick = |result: paved::Outcome| {
            let mut found: Vec<_> = examples.iter().filter(about).filter(|e| e.result == result).collect();
            found.sort_by_key(|e| (!e.focused, e.rule.is_none()));
            found.first().copied()
        };
        let (bad, good) = (pick(paved::Outcome::Fail), pick(paved::Outcome::Pass));
        for (title, e) in [("Bad example (fails the rule)", bad), ("Good example (passes)", good)] {
            if let Some(e) = e {
                writeln!(out, "\n{} {}", p.bold(title), p.dim(&format!("— test case `{}`", e.case)))?;
                for l in paved::to_yaml(&e.resource).lines() {
                    writeln!(out, "  {l}")?;
                }
            }
        }
        writeln!(out, "\n{}", p.bold("If it cannot be fixed yet"))?;
        writeln!(out, "  Ask the policy's owners for a time-limited exception, reviewed like code:")?;
        let template = serde_json::json!({
            "apiVersion": "paved.dev/v1",
            "kind": "PolicyException",
            "metadata": { "name": format!("my-app-{}", rule.id) },
            "spec": {
                "policies": [{ "name": policy.name, "rules": [rule.id] }],
                "match": { "kinds": ["Deployment"], "namespaces": ["my-namespace"], "names": ["my-app"] },
                "owner": "team-name",
                "reason": "why this cannot comply yet, and the plan to fix it",
                "ticket": "PROJ-123",
                "expires": "YYYY-MM-DD",
            },
        });
        for l in paved::to_yaml(&template).lines() {
            writeln!(out, "  {l}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}
