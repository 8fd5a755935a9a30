//! The engine's promises as properties: order never changes the report; exceptions only ever
//! remove denials.

use paved::{Bundle, Context, Engine, Resource};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn policies() -> Vec<Value> {
    vec![
        json!({"apiVersion": "paved.dev/v1", "kind": "Policy", "metadata": {"name": "images", "version": "1.0.0"},
               "spec": {"severity": "high", "match": {"kinds": ["Pod"]}, "rules": [
                   {"id": "no-latest", "forEach": "containers", "message": "pin images", "path": "/image",
                    "cel": "!item.image.endsWith(':latest')"},
                   {"id": "requests", "forEach": "containers", "message": "set requests",
                    "assert": {"required": ["resources"]}}]}}),
        json!({"apiVersion": "paved.dev/v1", "kind": "Policy", "metadata": {"name": "labels", "version": "2.1.0"},
               "spec": {"action": "Warn", "match": {"kinds": ["Deployment", "Pod"]}, "podControllers": false, "rules": [
                   {"id": "team", "message": "needs a team", "cel": "has(object.metadata.labels) && 'team' in object.metadata.labels"}]}}),
        json!({"apiVersion": "paved.dev/v1", "kind": "Policy", "metadata": {"name": "host", "version": "1.0.0"},
               "spec": {"match": {"kinds": ["Pod"], "namespaces": {"exclude": ["kube-*"]}}, "rules": [
                   {"id": "host-network", "message": "no host network", "path": "/spec/hostNetwork",
                    "cel": "!has(object.spec.hostNetwork) || !object.spec.hostNetwork"},
                   {"id": "host-pid", "message": "no host pid", "cel": "!has(object.spec.hostPID) || !object.spec.hostPID"}]}}),
        json!({"apiVersion": "paved.dev/v1", "kind": "PolicyException", "metadata": {"name": "legacy"},
               "spec": {"policies": [{"name": "images", "rules": ["no-latest"]}], "match": {"names": ["legacy-*"]},
                        "owner": "team-a", "reason": "migration", "expires": "2026-08-01"}}),
        json!({"apiVersion": "paved.dev/v1", "kind": "Bundle", "metadata": {"name": "b"}, "spec": {"exceptionWarnDays": 30}}),
    ]
}

const RESOURCES: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, labels: {team: a}}
spec:
  template:
    spec:
      hostNetwork: true
      containers:
        - {name: app, image: "shop:latest"}
        - {name: sidecar, image: "proxy:1.2", resources: {}}
---
apiVersion: v1
kind: Pod
metadata: {name: legacy-1, namespace: shop}
spec:
  hostPID: true
  containers: [{name: app, image: "old:latest"}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: kube-jobs}
spec: {jobTemplate: {spec: {template: {spec: {hostNetwork: true, containers: [{name: c, image: "c:latest"}]}}}}}
"#;

/// Rebuilds a value with the keys of every map in an order given by `seed`.
fn shuffle_keys(v: &Value, seed: &mut u64) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            permute(&mut entries, seed);
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k.clone(), shuffle_keys(v, seed));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| shuffle_keys(x, seed)).collect()),
        other => other.clone(),
    }
}

fn permute<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let j = (*seed >> 33) as usize % (i + 1);
        items.swap(i, j);
    }
}

fn report(docs: &[Value], files: usize, seed: u64) -> String {
    let mut seed = seed;
    let mut docs: Vec<Value> = docs.iter().map(|d| shuffle_keys(d, &mut seed)).collect();
    permute(&mut docs, &mut seed);
    // Spread the documents over `files` files (JSON is YAML), in a fresh directory.
    let dir = tempfile::tempdir().unwrap();
    let mut texts = vec![String::new(); files];
    for (i, d) in docs.iter().enumerate() {
        let t = &mut texts[i % files];
        t.push_str("---\n");
        t.push_str(&serde_json::to_string_pretty(d).unwrap());
        t.push('\n');
    }
    for (i, t) in texts.iter().enumerate() {
        std::fs::write(dir.path().join(format!("f{i}.yaml")), t).unwrap();
    }
    let bundle = Bundle::from_paths(&[dir.path()]).unwrap();
    let engine = Engine::builder().bundle(bundle).build().unwrap();
    let resources = Resource::from_str("resources.yaml", RESOURCES).unwrap();
    let mut report = engine.evaluate(&resources, &Context::at("2026-07-01T00:00:00Z".parse().unwrap()));
    // Where an exception was written follows the document when it moves; all else must not.
    for e in &mut report.exceptions {
        e.source.file.clear();
        e.source.line = 0;
        e.source.column = 0;
    }
    report.to_json()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn order_of_files_documents_keys_and_policies_does_not_matter(seed in any::<u64>(), files in 1usize..4) {
        let docs = policies();
        let reference = report(&docs, 1, 0);
        prop_assert_eq!(report(&docs, files, seed), reference);
    }

    #[test]
    fn an_exception_never_adds_a_denial(
        // Every policy and rule an exception may name (naming one that is not loaded is a load
        // error, tested in exceptions.rs).
        (policy, rule) in prop::sample::select(vec![
            ("images", None), ("images", Some("no-latest")), ("images", Some("requests")), ("labels", None),
            ("labels", Some("team")), ("host", None), ("host", Some("host-network")), ("host", Some("host-pid")),
        ]),
        names in prop::option::of(prop::sample::select(vec!["web", "legacy-*", "*"])),
        containers in prop::option::of(prop::sample::select(vec!["app", "side*"])),
        expires in prop::sample::select(vec!["2026-06-01", "2026-07-02", "2026-09-01"]),
    ) {
        let mut docs = policies();
        let before: Value = serde_json::from_str(&report(&docs, 1, 0)).unwrap();
        let mut m = json!({"policies": [{"name": policy}], "owner": "o", "reason": "r", "expires": expires, "match": {}});
        if let Some(r) = rule { m["policies"][0]["rules"] = json!([r]); }
        if let Some(n) = names { m["match"]["names"] = json!([n]); }
        if let Some(c) = containers { m["match"]["containers"] = json!([c]); }
        docs.push(json!({"apiVersion": "paved.dev/v1", "kind": "PolicyException", "metadata": {"name": "extra"}, "spec": m}));
        let after: Value = serde_json::from_str(&report(&docs, 1, 0)).unwrap();
        let denied = |r: &Value| -> Vec<Value> {
            r["findings"].as_array().unwrap().iter()
                .filter(|f| f["action"] == "Deny" && f["waivedBy"].is_null())
                .map(|f| json!([f["policy"], f["rule"], f["resource"], f["path"]]))
                .collect()
        };
        let (b, a) = (denied(&before), denied(&after));
        prop_assert!(a.iter().all(|f| b.contains(f)), "new denials: {:?}", a);
        prop_assert!(after["summary"]["denied"].as_u64() <= before["summary"]["denied"].as_u64());
    }
}

#[test]
fn the_report_is_stable_across_runs() {
    let docs = policies();
    let r = report(&docs, 2, 7);
    let v: Value = serde_json::from_str(&r).unwrap();
    // A fixed expectation of the shape, so a change to it is a reviewed change.
    assert_eq!(v["decision"], "deny");
    assert_eq!(
        v["summary"],
        json!({"resources": 3, "findings": 9, "denied": 7, "warned": 1, "audited": 0, "waived": 1, "unknown": 0})
    );
    assert_eq!(v["exceptions"][0]["status"], "active");
}

/// Large inputs are evaluated in parallel; the report is the one each resource gets alone,
/// concatenated in input order.
#[test]
fn parallel_evaluation_gives_the_sequential_report() {
    let bundle =
        Bundle::from_str("b.yaml", &policies().iter().map(|d| format!("---\n{d}\n")).collect::<String>()).unwrap();
    let engine = Engine::builder().bundle(bundle).build().unwrap();
    let one = Resource::from_str("resources.yaml", RESOURCES).unwrap();
    let many: Vec<Resource> = (0..200).flat_map(|_| one.iter().cloned()).collect();
    let ctx = Context::at("2026-07-01T00:00:00Z".parse().unwrap());
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let all = engine.evaluate_observed(&many, &ctx, &|| {
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(calls.into_inner(), many.len());
    let mut findings = Vec::new();
    let mut resources = Vec::new();
    for r in &many {
        let alone = engine.evaluate(std::slice::from_ref(r), &ctx);
        findings.extend(alone.findings);
        resources.extend(alone.resources);
    }
    assert_eq!(all.findings, findings);
    assert_eq!(all.resources, resources);
    assert_eq!(all.summary.resources, 600);
    assert!(all.by_resource().all(|(r, fs)| fs.iter().all(|f| f.resource == r.resource)));
}
