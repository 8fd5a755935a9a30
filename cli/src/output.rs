//! How the CLI writes reports and errors for people.

use std::collections::BTreeMap;
use std::io::{self, Write};

use jiff::Timestamp;
use paved::golden;
use paved::{Action, Error, ExceptionStatus};

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
    let _ = writeln!(err, "{} aborting: {} problem(s)", p.red("error:"), diags.len());
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
                e.status.to_string(),
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
    let notes: Vec<String> = list
        .iter()
        .flat_map(|e| {
            let problem = e.problem.as_ref().map(|why| format!("{}: {why}", e.name));
            let broad = e.matches_everything.then(|| {
                format!(
                    "{}: its `match` names no kind, namespace, name or container, so it waives {} on every resource",
                    e.name,
                    e.waives.join(", ")
                )
            });
            problem.into_iter().chain(broad)
        })
        .collect();
    if !notes.is_empty() {
        writeln!(out)?;
        for n in notes {
            writeln!(out, "{} {n}", p.yellow("warning:"))?;
        }
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
        if let Some(h) = &rule.help {
            writeln!(out, "\n{}\n  {h}", p.bold("How to fix it"))?;
        }
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

/// A deprecation notice: `web-service@1.0.0 is deprecated since …, sunset …; use …`.
pub fn deprecation(id: &str, d: &paved::golden::Deprecation, sunset: bool) -> String {
    let mut s = format!("{id} is deprecated");
    if let Some(since) = &d.since {
        s += &format!(" since {since}");
    }
    if let Some(at) = &d.sunset {
        s += &if sunset { format!(", past its sunset on {at}") } else { format!(", sunset {at}") };
    }
    if let Some(r) = &d.replacement {
        s += &format!("; use {r}");
    }
    if let Some(m) = &d.message {
        s += &format!(" ({m})");
    }
    s
}

/// A JSON value, compact and cut to a readable length.
fn brief(v: Option<&serde_json::Value>) -> String {
    let s = v.map(serde_json::Value::to_string).unwrap_or_else(|| "nothing".into());
    match s.char_indices().nth(72) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or_default()),
        None => s,
    }
}

/// Where a version stands, in words: `1 major version behind (2.0.0) · deprecated …`.
fn standing(id: &str, s: &golden::Standing) -> String {
    let mut words = match s.behind {
        golden::Lag::Current => "the latest version".to_owned(),
        golden::Lag::Major => format!("a major version behind; latest is {} ({} newer)", s.latest, s.newer),
        lag => format!("{} versions behind; latest is {} ({} newer)", lag.as_str(), s.latest, s.newer),
    };
    if let Some(d) = &s.deprecated {
        words += &format!(" · {}", deprecation(id, d, s.sunset).trim_start_matches(id).trim_start_matches(" is "));
    }
    words
}

/// Each service: its claim, verdict and score, its drift (and with `verbose`, its extensions),
/// findings, standing and exceptions; then the workloads on no golden path and a summary.
pub fn conformance(out: &mut impl Write, c: &golden::Conformance, verbose: bool, color: bool) -> io::Result<()> {
    let p = Paint(color);
    for s in &c.services {
        let verdict = match (&s.error, s.conforms()) {
            (Some(_), _) => p.red("✗ cannot check"),
            (None, true) => p.green("✓ conforms"),
            (None, false) => p.red("✗ drifted"),
        };
        let score = if s.error.is_none() { format!("  score {}", s.score.total) } else { String::new() };
        writeln!(out, "{}  {}  {verdict}{score}", p.bold(&format!("{}/{}", s.namespace, s.service)), s.golden_path)?;
        if let Some(e) = &s.error {
            writeln!(out, "    {} {e}", p.red("error:"))?;
        }
        for d in s.deviations.iter().filter(|d| verbose || d.kind == golden::DeviationKind::Drift) {
            let word = match d.kind {
                golden::DeviationKind::Drift => p.red(&format!("{:<9}", format!("{} ", d.change.as_str()))),
                golden::DeviationKind::Extension => p.dim("extension"),
            };
            let at = d.source.as_ref().map(|s| format!("  ({}:{})", s.file, s.line)).unwrap_or_default();
            if d.path.is_empty() {
                let what = match d.change {
                    golden::ChangeKind::Missing => "the golden path renders it; it is not there",
                    _ => "not rendered by the golden path",
                };
                writeln!(out, "    {word} {}  {}{}", d.object, what, p.dim(&at))?;
            } else {
                writeln!(out, "    {word} {} {}{}", d.object, d.path, p.dim(&at))?;
                writeln!(
                    out,
                    "              {} {}, {} {}",
                    p.dim("expected"),
                    brief(d.expected.as_ref()),
                    p.dim("found"),
                    brief(d.actual.as_ref())
                )?;
            }
        }
        for f in s.findings.iter().filter(|f| f.waived_by.is_none() && f.action != Action::Audit) {
            let word = if f.action == Action::Deny { p.red("deny     ") } else { p.yellow("warn     ") };
            writeln!(out, "    {word} {} {}/{}: {}", f.resource, f.policy, f.rule, f.message)?;
        }
        if let Some(st) = &s.standing {
            writeln!(out, "    {}  {}", p.dim("version"), standing(&s.golden_path, st))?;
        }
        if !s.open_exceptions.is_empty() || !s.expired_exceptions.is_empty() {
            writeln!(
                out,
                "    {}  in force: {}; expired: {}",
                p.dim("exceptions"),
                list_or_none(&s.open_exceptions),
                list_or_none(&s.expired_exceptions)
            )?;
        }
        if s.error.is_none() && s.score.total > 0 {
            let sc = &s.score;
            let parts: Vec<String> = [
                (sc.versions_behind, "versions behind"),
                (sc.deprecation, "deprecation"),
                (sc.drift, "drift"),
                (sc.findings, "findings"),
                (sc.exceptions, "exceptions"),
            ]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
            writeln!(out, "    {}  {} = {}", p.dim("score"), sc.total, parts.join(" + "))?;
        }
        writeln!(out)?;
    }
    if !c.unmanaged.is_empty() {
        writeln!(out, "{}", p.bold("on no golden path"))?;
        for r in &c.unmanaged {
            writeln!(out, "    {r}")?;
        }
        writeln!(out)?;
    }
    let s = &c.summary;
    let extensions =
        c.services.iter().flat_map(|s| &s.deviations).filter(|d| d.kind == golden::DeviationKind::Extension).count();
    let hint = if verbose || extensions == 0 { "" } else { " (-v lists them)" };
    writeln!(
        out,
        "{}: {} conform, {} drifted, {} cannot be checked; {}{hint}; {} on no golden path",
        count(s.services, "service"),
        s.conforming,
        s.drifted,
        s.errors,
        count(extensions, "allowed extension"),
        count(s.unmanaged, "workload")
    )
}

/// `1 service`, `2 services`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// What an upgrade does: the migrations applied, each object's changes, the change in requested
/// CPU and memory, and the new inputs.
pub fn upgrade(out: &mut impl Write, u: &golden::Upgrade, color: bool) -> io::Result<()> {
    let p = Paint(color);
    writeln!(out, "{}\n", p.bold(&format!("{} → {}", u.from, u.to)))?;
    writeln!(out, "{}", p.bold("inputs"))?;
    if u.migrations.is_empty() {
        writeln!(out, "    no migration changes them")?;
    }
    for m in &u.migrations {
        writeln!(out, "    {}  {}", p.dim(&format!("{:<7}", m.version)), m.description)?;
    }
    writeln!(out, "\n{}", p.bold("manifests"))?;
    for o in &u.changes {
        let fields: Vec<&golden::Change> = o.fields.iter().filter(|c| !provenance(&c.path)).collect();
        match o.change {
            "added" => writeln!(out, "    {} {}", p.green("+"), o.object)?,
            "removed" => writeln!(out, "    {} {}", p.red("-"), o.object)?,
            _ if fields.is_empty() => {}
            _ => {
                writeln!(out, "    {} {}", p.yellow("~"), o.object)?;
                for c in fields {
                    let (mark, text) = match (&c.before, &c.after) {
                        (None, after) => (p.green("+"), brief(after.as_ref())),
                        (before, None) => (p.red("-"), brief(before.as_ref())),
                        (before, after) => {
                            (p.yellow("~"), format!("{} → {}", brief(before.as_ref()), brief(after.as_ref())))
                        }
                    };
                    writeln!(out, "        {mark} {}: {text}", c.path)?;
                }
            }
        }
    }
    let (b, a) = (u.requests.before, u.requests.after);
    writeln!(out, "\n{}", p.bold("requests (at the declared replicas)"))?;
    let show: [fn(u64) -> String; 2] =
        [|m| golden::Requests::new(m, 0).cpu(), |b| golden::Requests::new(0, b).memory()];
    let rows = [("cpu", b.cpu_millis, a.cpu_millis), ("memory", b.memory_bytes, a.memory_bytes)];
    for ((what, before, after), show) in rows.into_iter().zip(show) {
        let delta = match after.cmp(&before) {
            std::cmp::Ordering::Equal => "no change".to_owned(),
            std::cmp::Ordering::Greater => format!("+{}", show(after - before)),
            std::cmp::Ordering::Less => format!("-{}", show(before - after)),
        };
        writeln!(out, "    {what:<7} {} → {} ({delta})", show(before), show(after))?;
    }
    writeln!(out, "\n{}", p.bold("new inputs"))?;
    for line in paved::to_yaml(&u.inputs).lines() {
        writeln!(out, "    {line}")?;
    }
    Ok(())
}

/// Adoption per golden path version, then the services that are behind, on deprecated versions
/// or unknown ones, the workloads on no golden path, and a summary.
pub fn fleet(out: &mut impl Write, f: &golden::Fleet, color: bool) -> io::Result<()> {
    let p = Paint(color);
    let width = f.adoption.iter().map(|a| a.golden_path.len()).max().unwrap_or(0).max(11);
    writeln!(out, "{}", p.bold(&format!("{:<width$}  {:<8}  {:>8}  STATUS", "GOLDEN PATH", "VERSION", "SERVICES")))?;
    for a in &f.adoption {
        let id = format!("{}@{}", a.golden_path, a.version);
        writeln!(
            out,
            "{:<width$}  {:<8}  {:>8}  {}",
            a.golden_path,
            a.version,
            a.services,
            standing(&id, &a.standing)
        )?;
    }
    writeln!(out, "{:<width$}  {:<8}  {:>8}  on no golden path", "-", "-", f.unmanaged.len())?;
    let mut behind: Vec<&golden::FleetService> =
        f.services.iter().filter(|s| s.standing.as_ref().is_some_and(|st| st.behind != golden::Lag::Current)).collect();
    behind.sort_by_key(|s| std::cmp::Reverse(s.standing.as_ref().map(|st| st.behind)));
    if !behind.is_empty() {
        writeln!(out, "\n{}", p.bold("behind"))?;
        for s in behind {
            if let Some(st) = &s.standing {
                let sunset = if st.sunset { p.red(" (past sunset)") } else { String::new() };
                writeln!(
                    out,
                    "    {:<6} {}/{}  {} → {}{sunset}",
                    st.behind.as_str(),
                    s.namespace,
                    s.service,
                    s.golden_path,
                    st.latest
                )?;
            }
        }
    }
    let unknown: Vec<&golden::FleetService> = f.services.iter().filter(|s| s.error.is_some()).collect();
    if !unknown.is_empty() {
        writeln!(out, "\n{}", p.bold("unknown golden path versions"))?;
        for s in unknown {
            writeln!(out, "    {}/{}  {}", s.namespace, s.service, s.error.as_deref().unwrap_or_default())?;
        }
    }
    if !f.unmanaged.is_empty() {
        writeln!(out, "\n{}", p.bold("on no golden path"))?;
        for r in &f.unmanaged {
            writeln!(out, "    {r}")?;
        }
    }
    let s = &f.summary;
    writeln!(
        out,
        "\n{} on golden paths: {} on the latest version, {} a major version behind, {} minor, {} patch; \
         {} on deprecated versions ({} past sunset); {} on unknown versions; {} on no golden path",
        count(s.services, "service"),
        s.current,
        s.behind_major,
        s.behind_minor,
        s.behind_patch,
        s.deprecated,
        s.sunset,
        s.unknown,
        count(s.unmanaged, "workload")
    )
}

/// Provenance annotations change on every object with every upgrade: not worth a line each.
fn provenance(path: &str) -> bool {
    path.starts_with("/metadata/annotations/paved.dev~1")
}

/// The requests before and after, as `750m → 1500m`.
fn requests_delta(r: &golden::RequestsChange) -> (String, String) {
    let (b, a) = (r.before, r.after);
    (format!("{} → {}", b.cpu(), a.cpu()), format!("{} → {}", b.memory(), a.memory()))
}

/// A three-way upgrade of one service: each object and what the merge did with each field.
pub fn three_way(out: &mut impl Write, u: &golden::ServiceUpgrade, color: bool) -> io::Result<()> {
    use golden::{Disposition, FieldOutcome};
    let p = Paint(color);
    let team = u.team.as_deref().map(|t| format!(" (team {t})")).unwrap_or_default();
    writeln!(
        out,
        "{}",
        p.bold(&format!("{}/{}{team}: {} → {}", u.namespace, u.service, u.upgrade.from, u.upgrade.to))
    )?;
    for o in &u.objects {
        let at = o.source.as_ref().map(|s| p.dim(&format!("  ({}:{})", s.file, s.line))).unwrap_or_default();
        let fields: Vec<&golden::FieldMerge> = o.fields.iter().filter(|f| !provenance(&f.path)).collect();
        match o.disposition {
            Disposition::Added => writeln!(out, "    {} {} (new in {})", p.green("+"), o.object, u.upgrade.to)?,
            Disposition::Restored => {
                writeln!(out, "    {} {} (gone from the manifests: created again)", p.green("+"), o.object)?
            }
            Disposition::Removed => writeln!(out, "    {} {}{at} (no longer rendered: removed)", p.red("-"), o.object)?,
            Disposition::Unchanged if fields.is_empty() => {}
            Disposition::Unchanged | Disposition::Changed => writeln!(out, "    {} {}{at}", p.yellow("~"), o.object)?,
        }
        for f in fields {
            let (b, o_, t) = (brief(f.base.as_ref()), brief(f.ours.as_ref()), brief(f.theirs.as_ref()));
            let line = match f.outcome {
                FieldOutcome::Upgraded => format!("{}  {}: {o_} → {t}", p.green("upgraded"), f.path),
                FieldOutcome::Kept => format!(
                    "{}      {}: {o_} (extension point {})",
                    p.dim("kept"),
                    f.path,
                    f.extension_point.as_deref().unwrap_or_default()
                ),
                FieldOutcome::Reverted => format!(
                    "{}  {}: {o_} → {t} (not an extension point: the golden path's value; change the inputs to keep yours)",
                    p.yellow("reverted"),
                    f.path
                ),
                FieldOutcome::Conflict => format!(
                    "{}  {}: was {b}, the team has {o_}, {} renders {t}",
                    p.red("CONFLICT"),
                    f.path,
                    u.upgrade.to
                ),
                FieldOutcome::Ours => format!("{}      {}: {o_} (kept over {t}: --prefer ours)", p.yellow("ours"), f.path),
                FieldOutcome::Theirs => format!("{}    {}: {o_} → {t} (--prefer theirs)", p.yellow("theirs"), f.path),
            };
            writeln!(out, "        {line}")?;
        }
        if !o.replace.is_empty() {
            writeln!(
                out,
                "        {}   {} changes, which Kubernetes does not update in place: delete {} and apply it again",
                p.red("REPLACE"),
                o.replace.join(", "),
                o.object
            )?;
        }
    }
    let (cpu, memory) = requests_delta(&u.requests);
    writeln!(out, "    requests: cpu {cpu}, memory {memory}")?;
    if u.conflicts > 0 {
        writeln!(
            out,
            "    {}",
            p.red(&format!(
                "{} conflict{}: resolve with --prefer ours|theirs, or change the manifests and run again; nothing of this service is written",
                u.conflicts,
                if u.conflicts == 1 { "" } else { "s" }
            ))
        )?;
    }
    writeln!(out)
}

/// What `upgrade --all` found, service by service, and the counts.
pub fn fleet_upgrade(out: &mut impl Write, plan: &golden::FleetUpgrade, color: bool) -> io::Result<()> {
    let p = Paint(color);
    for s in &plan.services {
        match s {
            golden::Planned::Current { service, namespace, golden_path } => {
                writeln!(out, "{}  {namespace}/{service} is on {golden_path}", p.dim("current"))?;
            }
            golden::Planned::Refused { service, namespace, golden_path, reason } => {
                writeln!(out, "{}  {namespace}/{service} on {golden_path}: {reason}", p.red("refused"))?;
            }
            golden::Planned::Upgrade(_) => {}
        }
    }
    let s = plan.summary;
    writeln!(
        out,
        "{}",
        p.bold(&format!(
            "{} services: {} upgraded, {} with conflicts ({} fields), {} current, {} refused; {} objects to replace",
            s.services, s.upgraded, s.conflicted, s.conflicts, s.current, s.refused, s.replacements
        ))
    )
}

/// The files `--write` rewrote.
pub fn written(out: &mut impl Write, files: &[(String, golden::Rewrite)]) -> io::Result<()> {
    for (file, r) in files {
        let mut parts = vec![format!("{} edited in place", r.edited)];
        if r.rewritten > 0 {
            parts.push(format!("{} written again whole (comments inside them are not kept)", r.rewritten));
        }
        if r.added > 0 {
            parts.push(format!("{} added", r.added));
        }
        if r.removed > 0 {
            parts.push(format!("{} removed", r.removed));
        }
        writeln!(out, "wrote {file}: documents {}", parts.join(", "))?;
    }
    Ok(())
}

/// A pull request's description per team: services upgraded, fields changed, requests before
/// and after, conflicts left, objects to replace, refusals.
pub fn upgrade_summary(
    out: &mut impl Write,
    upgrades: &[golden::ServiceUpgrade],
    plan: Option<&golden::FleetUpgrade>,
) -> io::Result<()> {
    use golden::FieldOutcome;
    let mut teams: std::collections::BTreeMap<&str, Vec<&golden::ServiceUpgrade>> = std::collections::BTreeMap::new();
    for u in upgrades {
        teams.entry(u.team.as_deref().unwrap_or("(no team label)")).or_default().push(u);
    }
    let code = |v: Option<&serde_json::Value>| format!("`{}`", brief(v).replace('`', "'"));
    for (team, services) in &teams {
        writeln!(out, "## Golden path upgrades for {team}\n")?;
        writeln!(
            out,
            "Generated by `paved upgrade --all`. Extensions are kept; drift outside extension points is reset.\n"
        )?;
        writeln!(out, "| service | from | to | fields changed | CPU requests | memory requests | conflicts |")?;
        writeln!(out, "| --- | --- | --- | --- | --- | --- | --- |")?;
        for u in services {
            let changed = u
                .objects
                .iter()
                .flat_map(|o| &o.fields)
                .filter(|f| {
                    !provenance(&f.path)
                        && matches!(f.outcome, FieldOutcome::Upgraded | FieldOutcome::Reverted | FieldOutcome::Theirs)
                })
                .count();
            let (cpu, memory) = requests_delta(&u.requests);
            writeln!(
                out,
                "| {}/{} | {} | {} | {changed} | {cpu} | {memory} | {} |",
                u.namespace, u.service, u.upgrade.from, u.upgrade.to, u.conflicts
            )?;
        }
        let conflicts: Vec<String> = services
            .iter()
            .flat_map(|u| u.objects.iter().map(move |o| (u, o)))
            .flat_map(|(u, o)| o.fields.iter().filter(|f| f.outcome == FieldOutcome::Conflict).map(move |f| (u, o, f)))
            .map(|(u, o, f)| {
                format!(
                    "- {}: {} `{}`: the team has {}, {} renders {}",
                    u.service,
                    o.object,
                    f.path,
                    code(f.ours.as_ref()),
                    u.upgrade.to,
                    code(f.theirs.as_ref())
                )
            })
            .collect();
        if !conflicts.is_empty() {
            writeln!(out, "\n### Conflicts left (not written)\n\n{}", conflicts.join("\n"))?;
        }
        let replaced: Vec<String> = services
            .iter()
            .flat_map(|u| u.replaced())
            .map(|o| format!("- {}: {} change; delete it and apply it again", o.object, o.replace.join(", ")))
            .collect();
        if !replaced.is_empty() {
            writeln!(out, "\n### Objects to replace\n\n{}", replaced.join("\n"))?;
        }
        writeln!(out)?;
    }
    let refused: Vec<String> = plan
        .into_iter()
        .flat_map(|p| &p.services)
        .filter_map(|s| match s {
            golden::Planned::Refused { service, namespace, golden_path, reason } => {
                Some(format!("- {namespace}/{service} on {golden_path}: {reason}"))
            }
            _ => None,
        })
        .collect();
    if !refused.is_empty() {
        writeln!(out, "## Not upgraded\n\n{}\n", refused.join("\n"))?;
    }
    Ok(())
}

/// The fleet's adoption as Prometheus metrics (text exposition format), for a scheduled job to
/// push: services per golden path version with where the version stands, the fleet's counts,
/// the adoption rate, and each service's drift score.
pub fn fleet_metrics(f: &golden::Fleet) -> String {
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    use prometheus_client::registry::Registry;
    use std::sync::atomic::AtomicU64;

    type Labels = Vec<(String, String)>;
    let labels =
        |pairs: &[(&str, &str)]| -> Labels { pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect() };
    let mut registry = Registry::with_prefix("paved");
    let versions = Family::<Labels, Gauge>::default();
    let drift_by_version = Family::<Labels, Gauge<f64, AtomicU64>>::default();
    for a in &f.adoption {
        let behind = serde_json::to_value(a.standing.behind).ok();
        let set = labels(&[
            ("golden_path", &a.golden_path),
            ("version", &a.version),
            ("behind", behind.as_ref().and_then(|b| b.as_str()).unwrap_or_default()),
            ("deprecated", if a.standing.deprecated.is_some() { "true" } else { "false" }),
            ("sunset", if a.standing.sunset { "true" } else { "false" }),
        ]);
        versions.get_or_create(&set).set(i64::try_from(a.services).unwrap_or(i64::MAX));
        let version = labels(&[("golden_path", &a.golden_path), ("version", &a.version)]);
        drift_by_version.get_or_create(&version).set(a.mean_drift_score);
    }
    registry.register("golden_path_services", "Services on each golden path version", versions);
    registry.register(
        "golden_path_mean_drift_score",
        "Mean drift score of the services on each golden path version",
        drift_by_version,
    );
    let fleet = Family::<Labels, Gauge>::default();
    let s = f.summary;
    for (state, n) in [
        ("current", s.current),
        ("behind_patch", s.behind_patch),
        ("behind_minor", s.behind_minor),
        ("behind_major", s.behind_major),
        ("deprecated", s.deprecated),
        ("sunset", s.sunset),
        ("unknown", s.unknown),
        ("unmanaged", s.unmanaged),
    ] {
        fleet.get_or_create(&labels(&[("state", state)])).set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    registry.register("fleet_services", "Services (and unmanaged workloads) by where they stand", fleet);
    let rate = Gauge::<f64, AtomicU64>::default();
    rate.set(s.adoption_rate);
    registry.register(
        "golden_path_adoption_ratio",
        "Services on a golden path among all services and unmanaged workloads",
        rate,
    );
    let drift = Family::<Labels, Gauge>::default();
    for svc in &f.services {
        if let Some(score) = svc.drift_score {
            let set =
                labels(&[("service", &svc.service), ("namespace", &svc.namespace), ("golden_path", &svc.golden_path)]);
            drift.get_or_create(&set).set(i64::from(score));
        }
    }
    registry.register(
        "service_drift_score",
        "Each service's drift score (0: on its golden path's latest version, as rendered)",
        drift,
    );
    let mut text = String::new();
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    // Each metric's samples in one order, whatever the order of the family's map.
    let mut out = String::new();
    let mut samples: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            samples.sort_unstable();
            samples.drain(..).for_each(|s| out.extend([s, "\n"]));
            out.extend([line, "\n"]);
        } else {
            samples.push(line);
        }
    }
    samples.sort_unstable();
    samples.into_iter().for_each(|s| out.extend([s, "\n"]));
    out
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
