//! Every policy of the platform-baseline pack has a good example that passes it and, for each
//! rule, a bad example that fails exactly as intended. The examples live beside the pack in
//! `packs/examples/platform-baseline/<policy>/{good,<rule>.bad}.yaml`.

use std::path::Path;

use paved::{Context, Engine, Pack, Resource};
use serde_json::json;

#[test]
fn platform_baseline_examples() {
    let bundle = Pack::named("platform-baseline").unwrap().bundle().unwrap();
    let policies = bundle.policies();
    let engine = Engine::builder().bundle(bundle).build().unwrap();
    let mut ctx = Context::at("2026-06-01T00:00:00Z".parse().unwrap());
    ctx.params.insert("images".into(), json!({"registries": ["registry.acme.dev/"]}));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packs/examples/platform-baseline");
    let mut problems = Vec::new();
    let mut checked = 0;
    for policy in &policies {
        assert!(policy.description.is_some(), "policy {} has no description", policy.name);
        let dir = root.join(&policy.name);
        let run = |file: &str| {
            let resources =
                Resource::from_paths(&[dir.join(file)]).unwrap_or_else(|e| panic!("{}/{file}: {e}", policy.name));
            engine.evaluate(&resources, &ctx)
        };
        let good = run("good.yaml");
        for f in good.findings.iter().filter(|f| f.policy == policy.name) {
            problems.push(format!("{}/good.yaml: unexpected {}: {}", policy.name, f.rule, f.message));
        }
        for rule in &policy.rules {
            let file = format!("{}.bad.yaml", rule.id);
            let bad = run(&file);
            let hits: Vec<_> = bad.findings.iter().filter(|f| f.policy == policy.name).collect();
            if !hits.iter().any(|f| f.rule == rule.id && f.error.is_none()) {
                problems.push(format!("{}/{file}: expected a finding of {}, got {:?}", policy.name, rule.id, hits));
            }
            checked += 1;
        }
    }
    println!("platform-baseline: {} policies, {checked} rules, each with good and bad examples", policies.len());
    assert!(checked >= 14, "rules are missing from the pack");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn default_packs_exist() {
    for name in paved::DEFAULT_PACKS {
        Pack::named(name).unwrap().bundle().unwrap();
    }
}
