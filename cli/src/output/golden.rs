//! How the CLI writes the golden-path commands' results for people: conformance, upgrades,
//! the fleet, and its metrics.

use std::io::{self, Write};

use paved::golden;
use paved::Action;

use super::Paint;

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

/// `paved golden-paths`: a table of every golden path's versions, then deprecation notices.
pub fn golden_paths(
    out: &mut impl Write,
    paths: &[&paved::GoldenPath],
    now: jiff::Timestamp,
    color: bool,
) -> io::Result<()> {
    let p = Paint(color);
    if paths.is_empty() {
        return writeln!(out, "no golden paths");
    }
    let width = paths.iter().map(|g| g.name().len()).max().unwrap_or(0).max(4);
    let versions = paths.iter().map(|g| g.version().to_string().len()).max().unwrap_or(0).max(7);
    writeln!(out, "{}", p.bold(&format!("{:<width$}  {:<versions$}  DESCRIPTION", "NAME", "VERSION")))?;
    for g in paths {
        let line = format!(
            "{:<width$}  {:<versions$}  {}",
            g.name(),
            g.version().to_string(),
            g.description().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ")
        );
        writeln!(out, "{}", if g.deprecation().is_some() { p.dim(&line) } else { line })?;
    }
    for g in paths {
        if let Some(d) = g.deprecation() {
            writeln!(out, "{}", p.yellow(&deprecation(&g.id(), d, g.is_sunset(now))))?;
        }
    }
    Ok(())
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
            deviation(out, &p, d)?;
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
            writeln!(out, "    {}  {} = {}", p.dim("score"), s.score.total, score_parts(&s.score))?;
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
    let hint = if verbose || extensions == 0 { "" } else { " (--verbose lists them)" };
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

/// One deviation of a live object from its render: drift (changed, missing, extra) or an
/// allowed extension, where it is, and what was expected and found.
fn deviation(out: &mut impl Write, p: &Paint, d: &golden::Deviation) -> io::Result<()> {
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
    Ok(())
}

/// What a drift score is made of: `2 versions behind + 3 drift`.
fn score_parts(sc: &golden::Score) -> String {
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
    parts.join(" + ")
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
        let set = labels(&[
            ("golden_path", &a.golden_path),
            ("version", &a.version),
            ("behind", a.standing.behind.as_str()),
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
    sorted_samples(&text)
}

/// Prometheus text with each metric's samples in one order, whatever the order of the
/// family's map.
fn sorted_samples(text: &str) -> String {
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
