//! How the CLI writes reports and errors for people.

use std::collections::BTreeMap;
use std::io::{self, Write};

use jiff::Timestamp;
use paved::{Error, ExceptionStatus};

mod golden;

pub use golden::{
    conformance, deprecation, fleet, fleet_metrics, fleet_upgrade, golden_paths, three_way, upgrade, upgrade_summary,
    written,
};

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

/// The built-in packs, their policies and rules.
pub fn packs(out: &mut impl Write, packs: &[(paved::PackInfo, Vec<paved::PolicyInfo>)]) -> io::Result<()> {
    for (pack, policies) in packs {
        let default = if pack.default { " (default)" } else { "" };
        writeln!(out, "{}{default}\n  {}", pack.name, pack.description)?;
        for p in policies {
            writeln!(out, "  policy {} {} [{}]", p.name, p.version, p.action.as_str())?;
            for r in &p.rules {
                writeln!(out, "    {:<28} {:<8} {}", r.id, r.severity.as_str(), r.message)?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
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
            // The OS's error number differs between platforms (and WASI); its words do not.
            let text = s.to_string();
            let text = text.rfind(" (os error ").filter(|_| text.ends_with(')')).map_or(&*text, |at| &text[..at]);
            msg.push_str(&format!(": {text}"));
            source = s.source();
        }
        let _ = writeln!(err, "{} {msg}", p.red("error:"));
        return;
    };
    let mut files: BTreeMap<String, Option<Vec<String>>> = BTreeMap::new();
    for d in diags.iter() {
        let _ = writeln!(err, "{} {}", p.red("error:"), p.bold(&d.message));
        let _ = writeln!(err, "  {} {}:{}:{}", p.blue("-->"), d.file, d.line, d.column);
        let lines = files.entry(d.file.to_string()).or_insert_with(|| {
            // Only a regular file is read again to show its line (never a device or a FIFO).
            std::fs::metadata(&*d.file)
                .ok()
                .filter(std::fs::Metadata::is_file)
                .and_then(|_| std::fs::read_to_string(&*d.file).ok())
                .map(|t| t.lines().map(str::to_owned).collect())
        });
        let text = lines.as_ref().and_then(|l| l.get((d.line as usize).wrapping_sub(1)));
        if let Some(text) = text {
            let n = d.line.to_string();
            let pad = " ".repeat(n.len());
            let (shown, caret) = window(text, d.column as usize);
            let _ = writeln!(err, "  {pad} {}", p.blue("|"));
            let _ = writeln!(err, "  {} {} {shown}", p.blue(&n), p.blue("|"));
            let _ = writeln!(err, "  {pad} {} {}{}", p.blue("|"), " ".repeat(caret), p.red("^"));
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
    let noun = if diags.len() == 1 { "problem" } else { "problems" };
    let _ = writeln!(err, "{} aborting: {} {noun}", p.red("error:"), diags.len());
}

/// The part of a line a diagnostic shows: at most [`WINDOW`] characters around the 1-based
/// `column` (a 50 MB line is not printed), with `…` where it was cut, and where the caret goes.
fn window(line: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    let at = column.saturating_sub(1).min(chars.len());
    if chars.len() <= WINDOW {
        return (line.to_owned(), at);
    }
    let start = at.saturating_sub(WINDOW / 2).min(chars.len() - WINDOW);
    let end = start + WINDOW;
    let mut shown: String = chars.get(start..end).unwrap_or_default().iter().collect();
    let mut caret = at - start;
    if start > 0 {
        shown.insert(0, '…');
        caret += 1;
    }
    if end < chars.len() {
        shown.push('…');
    }
    (shown, caret)
}

/// How many characters of a line a diagnostic shows.
const WINDOW: usize = 120;

/// Policy test results: a line per suite, every failed case with what differed (every case
/// with `verbose`), and a summary.
pub fn tests(out: &mut impl Write, reports: &[paved::SuiteReport], verbose: bool, color: bool) -> io::Result<()> {
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
                writeln!(out, "        {}", p.red(&format!("- expected {}", k.expected.as_str())))?;
                writeln!(out, "        {}", p.green(&format!("+ got      {}", k.actual.as_str())))?;
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
    let rows: Vec<[String; 6]> = list.iter().map(|e| exception_row(e, now)).collect();
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
    let notes: Vec<String> = list.iter().flat_map(exception_notes).collect();
    if !notes.is_empty() {
        writeln!(out)?;
        for n in notes {
            writeln!(out, "{} {n}", p.yellow("warning:"))?;
        }
    }
    Ok(())
}

/// An exception as a row of `paved exceptions`: status, name, owner, when it expires (and in
/// how many days), ticket, what it waives.
fn exception_row(e: &paved::ExceptionReport, now: Timestamp) -> [String; 6] {
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
        e.status.to_string(),
        e.name.clone(),
        e.owner.clone(),
        when,
        e.ticket.clone().unwrap_or_else(|| "-".into()),
        e.waives.join(", "),
    ]
}

/// What needs saying of an exception below the table: why it does not stand, and a `match` so
/// broad that it waives its rules everywhere.
fn exception_notes(e: &paved::ExceptionReport) -> impl Iterator<Item = String> {
    let problem = e.problem.as_ref().map(|why| format!("{}: {why}", e.name));
    let broad = e.matches_everything.then(|| {
        format!(
            "{}: its `match` names no kind, namespace, name or container, so it waives {} on every resource",
            e.name,
            e.waives.join(", ")
        )
    });
    problem.into_iter().chain(broad)
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
    let examples: Vec<paved::Example> = tests.iter().flat_map(paved::TestSuite::examples).collect();
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
            rule.severity.as_str(),
            policy.action.as_str()
        )?;
        if let Some(d) = &policy.description {
            writeln!(out, "\n{}\n  {d}", p.bold("Why"))?;
        }
        what_it_checks(out, &p, rule)?;
        if let Some(h) = &rule.help {
            writeln!(out, "\n{}\n  {h}", p.bold("How to fix it"))?;
        }
        examples_of(out, &p, policy, rule, &examples)?;
        exception_template(out, &p, policy, rule)?;
        writeln!(out)?;
    }
    Ok(())
}

/// The "What it checks" part of `paved explain`: the rule's iteration, condition and check.
fn what_it_checks(out: &mut impl Write, p: &Paint, rule: &paved::RuleInfo) -> io::Result<()> {
    writeln!(out, "\n{}", p.bold("What it checks"))?;
    if let Some(f) = &rule.for_each {
        writeln!(out, "  for each: {f}")?;
    }
    if let Some(w) = &rule.when {
        writeln!(out, "  when: {w}")?;
    }
    if let Some(c) = &rule.cel {
        writeln!(out, "  cel: {c}")?;
    }
    let yaml = |out: &mut dyn Write, title: &str, value: &serde_json::Value| -> io::Result<()> {
        writeln!(out, "  {title}:")?;
        paved::to_yaml(value).lines().try_for_each(|l| writeln!(out, "    {l}"))
    };
    if let Some(a) = &rule.assert {
        yaml(out, "assert (JSON Schema)", a)?;
    }
    if let Some(plugin) = &rule.plugin {
        writeln!(out, "  plugin: {plugin} (WASM)")?;
        if let Some(params) = &rule.params {
            yaml(out, "params", params)?;
        }
    }
    Ok(())
}

/// A failing and a passing example of a rule, from the policy tests, when there are some.
fn examples_of(
    out: &mut impl Write,
    p: &Paint,
    policy: &paved::PolicyInfo,
    rule: &paved::RuleInfo,
    examples: &[paved::Example],
) -> io::Result<()> {
    let about = |e: &&paved::Example| e.policy == policy.name && e.rule.as_ref().is_none_or(|r| r == &rule.id);
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
    Ok(())
}

/// How to ask for an exception to a rule, with a document to start from.
fn exception_template(
    out: &mut impl Write,
    p: &Paint,
    policy: &paved::PolicyInfo,
    rule: &paved::RuleInfo,
) -> io::Result<()> {
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
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_lines_show_a_window_around_the_column() {
        let line = format!("{}X{}", "a".repeat(10_000), "b".repeat(10_000));
        let (shown, caret) = super::window(&line, 10_001);
        assert_eq!(shown.chars().count(), super::WINDOW + 2);
        assert_eq!(shown.chars().nth(caret), Some('X'));
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert_eq!(super::window("short: line", 8), ("short: line".to_owned(), 7));
        let (shown, caret) = super::window(&"c".repeat(500), 1);
        assert_eq!((caret, shown.ends_with('…'), shown.starts_with('c')), (0, true, true));
    }
}
