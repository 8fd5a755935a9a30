//! The data-driven corpus: each `tests/cases/*.yaml` holds a bundle, resources, a context and
//! the expected findings and exception statuses. One test walks them all and names every file
//! that fails.

use std::collections::BTreeMap;
use std::path::Path;

use paved::{Bundle, Context, Engine, Operation, Resource};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Case {
    #[allow(dead_code)]
    description: String,
    now: String,
    #[serde(default)]
    operation: Option<Operation>,
    #[serde(default)]
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    params: BTreeMap<String, Value>,
    /// The namespace objects without one are applied into.
    #[serde(default)]
    namespace: Option<String>,
    bundle: String,
    resources: String,
    #[serde(default)]
    old_object: Option<Value>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// `policy/rule Kind/namespace/name path` with ` waived-by=NAME`, ` action=Warn` or
    /// ` container=NAME` appended when set.
    findings: Vec<String>,
    #[serde(default)]
    exceptions: BTreeMap<String, String>,
    decision: String,
    #[serde(default)]
    messages: Vec<String>,
}

fn line(f: &paved::Finding) -> String {
    let mut s = format!("{}/{} {}/{}/{}", f.policy, f.rule, f.resource.kind, f.resource.namespace, f.resource.name);
    if !f.path.is_empty() {
        s.push_str(&format!(" {}", f.path));
    }
    if let Some(w) = &f.waived_by {
        s.push_str(&format!(" waived-by={w}"));
    }
    if f.action != paved::Action::Deny {
        s.push_str(&format!(" action={:?}", f.action));
    }
    s
}

fn run(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case: Case = serde_json::from_value(serde_json::to_value(paved_yaml(&text)?).map_err(|e| e.to_string())?)
        .map_err(|e| format!("bad case file: {e}"))?;
    let bundle = Bundle::from_str("bundle.yaml", &case.bundle).map_err(|e| format!("bundle: {e}"))?;
    let engine = Engine::builder().bundle(bundle).build().map_err(|e| e.to_string())?;
    let mut resources = Resource::from_str("resources.yaml", &case.resources).map_err(|e| format!("resources: {e}"))?;
    if let Some(old) = case.old_object {
        resources = resources.into_iter().map(|r| r.with_old_object(old.clone())).collect();
    }
    let mut ctx = Context::at(case.now.parse().map_err(|e| format!("now: {e}"))?);
    ctx.operation = case.operation.unwrap_or_default();
    ctx.namespaces = case.namespaces;
    ctx.params = case.params;
    ctx.namespace = case.namespace;
    let report = engine.evaluate(&resources, &ctx);

    let got: Vec<String> = report.findings.iter().map(line).collect();
    let mut problems = Vec::new();
    if got != case.expect.findings {
        problems.push(format!("findings differ\n  expected: {:#?}\n  got: {:#?}", case.expect.findings, got));
    }
    for (name, status) in &case.expect.exceptions {
        let actual = report.exceptions.iter().find(|e| &e.name == name).map(|e| {
            serde_json::to_value(e.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
        });
        if actual.as_deref() != Some(status.as_str()) {
            problems.push(format!("exception {name}: expected {status}, got {actual:?}"));
        }
    }
    if report.decision.as_str() != case.expect.decision {
        problems.push(format!("decision: expected {}, got {}", case.expect.decision, report.decision.as_str()));
    }
    let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    for m in &case.expect.messages {
        if !messages.iter().any(|x| x.contains(m.as_str())) {
            problems.push(format!("no finding message contains {m:?}; messages: {messages:?}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Reads the case file itself with paved's own loader (so the harness needs no YAML crate).
fn paved_yaml(text: &str) -> Result<Value, String> {
    let docs = paved::Resource::from_str("case.yaml", &format!("apiVersion: x\nkind: Case\n{text}"))
        .map_err(|e| e.to_string())?;
    let mut v = docs.into_iter().next().ok_or("empty case")?.value().clone();
    if let Value::Object(m) = &mut v {
        m.remove("apiVersion");
        m.remove("kind");
    }
    Ok(v)
}

#[test]
fn corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus is missing");
    let mut failed = Vec::new();
    for f in &files {
        if let Err(e) = run(f) {
            failed.push(format!("{}:\n{e}", f.display()));
        }
    }
    println!("{} of {} cases pass", files.len() - failed.len(), files.len());
    assert!(failed.is_empty(), "{} case(s) failed:\n\n{}", failed.len(), failed.join("\n\n"));
}
