//! SARIF 2.1.0, as GitHub code scanning and other code-quality tools read it.

use serde_json::{json, Value};

use super::contract::{Finding, Fix, Patch, Report};
use super::info::PolicyInfo;
use super::writer::{pretty, Writer};
use crate::model::{Action, Severity};

/// The report as a SARIF 2.1.0 log: one run, every rule and mutation of `policies` with its help
/// text, one result per finding with the file, line and column it is about, and one note per
/// change a mutation made, the first of each resource with the fix that makes them (when the
/// report has fixes: `golden::fixes`). Waived findings and changes are kept as suppressed
/// results, so they stay visible without failing anything.
fn sarif(report: &Report, policies: &[PolicyInfo]) -> Value {
    let mut rules = Vec::new();
    let mut index = std::collections::HashMap::new();
    for p in policies {
        for r in &p.rules {
            let id = format!("{}/{}", p.name, r.id);
            index.insert(id.clone(), rules.len());
            let mut help = r.help.clone().unwrap_or_else(|| r.message.clone());
            if let Some(d) = &p.description {
                help = format!("{help}\n\nPolicy `{}`: {d}", p.name);
            }
            rules.push(json!({
                "id": id,
                "name": camel(&format!("{}-{}", p.name, r.id)),
                "shortDescription": { "text": r.message },
                "fullDescription": { "text": p.description.clone().unwrap_or_else(|| r.message.clone()) },
                "help": { "text": help, "markdown": help },
                "defaultConfiguration": { "level": level(p.action) },
                "properties": {
                    "tags": ["kubernetes", "policy", p.name],
                    "security-severity": security_severity(r.severity),
                    "precision": "very-high",
                },
            }));
        }
    }
    for p in policies {
        for m in &p.mutations {
            let id = format!("{}/{}", p.name, m.id);
            index.insert(id.clone(), rules.len());
            rules.push(json!({
                "id": id,
                "name": camel(&format!("{}-{}", p.name, m.id)),
                "shortDescription": { "text": m.message },
                "fullDescription": { "text": p.description.clone().unwrap_or_else(|| m.message.clone()) },
                "help": { "text": format!("{}\n\n{}: {}", m.message, m.patch_type, m.expression) },
                "defaultConfiguration": { "level": "note" },
                "properties": { "tags": ["kubernetes", "mutation", p.name] },
            }));
        }
    }
    let mut results: Vec<Value> = report.findings.iter().map(|f| result(f, index.get(&rule_id(f)).copied())).collect();
    let mut fixed = std::collections::HashSet::new();
    for p in &report.patches {
        let id = format!("{}/{}", p.policy, p.mutation);
        // A resource's fix goes with its first change: it makes all of them.
        let at = report.fixes.iter().position(|x| x.resource == p.resource && p.waived_by.is_none());
        let fix = at.filter(|i| fixed.insert(*i)).and_then(|i| report.fixes.get(i));
        results.push(change(p, index.get(&id).copied(), fix));
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "paved",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn rule_id(f: &Finding) -> String {
    format!("{}/{}", f.policy, f.rule)
}

fn result(f: &Finding, rule_index: Option<usize>) -> Value {
    let object = f.resource.to_string();
    let mut location = json!({
        "logicalLocations": [{ "fullyQualifiedName": format!("{object}#{}", f.path), "kind": "object" }],
    });
    // Standard input with no name has no place in the repository: the object names it.
    let placed = f.source.as_ref().filter(|s| s.file != "<stdin>");
    if let (Some(src), Some(loc)) = (placed, location.as_object_mut()) {
        loc.insert(
            "physicalLocation".into(),
            json!({
                "artifactLocation": artifact(&src.file),
                "region": { "startLine": src.line, "startColumn": src.column },
            }),
        );
    }
    let mut text = format!("{object}: {}", f.message);
    if let Some(d) = &f.detail {
        text = format!("{text} ({d})");
    }
    let mut out = json!({
        "ruleId": rule_id(f),
        "level": if f.unknown() { "none" } else { level(f.action) },
        "message": { "text": text },
        "locations": [location],
        "partialFingerprints": { "pavedFinding/v1": fingerprint(f) },
        "properties": { "resource": object, "path": f.path, "severity": f.severity },
    });
    if let Some(o) = out.as_object_mut() {
        if let Some(i) = rule_index {
            o.insert("ruleIndex".into(), json!(i));
        }
        // SARIF's `open`: the tool could not tell a pass from a failure (`fail`, the default).
        if f.unknown() {
            o.insert("kind".into(), json!("open"));
        }
        if let Some(w) = &f.waived_by {
            o.insert(
                "suppressions".into(),
                json!([{ "kind": "external", "status": "accepted", "justification": format!("waived by exception `{w}`") }]),
            );
        }
    }
    out
}

/// A mutation's change as a result (a note), with the fix of its resource when given.
fn change(p: &Patch, rule_index: Option<usize>, fix: Option<&Fix>) -> Value {
    let object = p.resource.to_string();
    let text = |key: &str| p.operation.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut location = json!({
        "logicalLocations": [{ "fullyQualifiedName": format!("{object}#{}", text("path")), "kind": "object" }],
    });
    if let (Some(src), Some(loc)) = (p.source.as_ref().filter(|s| s.file != "<stdin>"), location.as_object_mut()) {
        let region = json!({ "startLine": src.line, "startColumn": src.column });
        loc.insert("physicalLocation".into(), json!({ "artifactLocation": artifact(&src.file), "region": region }));
    }
    let mut out = json!({
        "ruleId": format!("{}/{}", p.policy, p.mutation),
        "level": "note",
        "kind": "informational",
        "message": { "text": format!("{object}: {} ({} {})", p.message, text("op"), text("path")) },
        "locations": [location],
        "properties": { "resource": object, "patch": p.operation },
    });
    let Some(o) = out.as_object_mut() else { return out };
    if let Some(i) = rule_index {
        o.insert("ruleIndex".into(), json!(i));
    }
    if let Some(w) = &p.waived_by {
        let justification = format!("waived by exception `{w}`: the change is not made");
        o.insert(
            "suppressions".into(),
            json!([{ "kind": "external", "status": "accepted", "justification": justification }]),
        );
    }
    if let Some(fix) = fix {
        let replacements: Vec<Value> = fix
            .replacements
            .iter()
            .map(|r| {
                json!({
                    "deletedRegion": {
                        "startLine": r.start_line, "startColumn": r.start_column,
                        "endLine": r.end_line, "endColumn": r.end_column,
                        "charOffset": r.char_offset, "charLength": r.char_length,
                    },
                    "insertedContent": { "text": r.inserted },
                })
            })
            .collect();
        let description = format!("apply the platform's mutations to {object} (`paved fix --write`)");
        o.insert(
            "fixes".into(),
            json!([{
                "description": { "text": description },
                "artifactChanges": [{ "artifactLocation": artifact(&fix.file), "replacements": replacements }],
            }]),
        );
    }
    out
}

/// SARIF levels for what a policy does: only a denial is an error.
fn level(a: Action) -> &'static str {
    match a {
        Action::Deny => "error",
        Action::Warn => "warning",
        Action::Audit => "note",
    }
}

/// GitHub's security-severity scale (0–10).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// Where a file is: a relative path as a URI reference against `%SRCROOT%` (the repository's
/// root, as GitHub code scanning resolves it), an absolute one as a `file://` URI.
fn artifact(file: &str) -> Value {
    let f = file.replace('\\', "/");
    let f = f.strip_prefix("./").unwrap_or(&f);
    let escaped: String = f
        .chars()
        .map(|c| match c {
            ' ' => "%20".to_owned(),
            '%' => "%25".to_owned(),
            '#' => "%23".to_owned(),
            '?' => "%3F".to_owned(),
            c => c.to_string(),
        })
        .collect();
    if f.starts_with('/') {
        json!({ "uri": format!("file://{escaped}") })
    } else {
        json!({ "uri": escaped, "uriBaseId": "%SRCROOT%" })
    }
}

/// `require-requests-cpu` → `RequireRequestsCpu`.
fn camel(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

/// A fingerprint that survives edits elsewhere in the file: the rule, the object and the path
/// (FNV-1a, 64 bits, hex).
fn fingerprint(f: &Finding) -> String {
    let r = &f.resource;
    let key = [&f.policy, &f.rule, &r.api_version, &r.kind, &r.namespace, &r.name, &f.path];
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in key {
        for b in part.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// Sarif: see [`sarif`].
pub(super) struct Sarif;

impl Writer for Sarif {
    fn write(&self, report: &Report) -> String {
        pretty(&sarif(report, &report.policies))
    }
}
