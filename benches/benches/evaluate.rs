//! Time to evaluate one realistic Deployment against a 23-rule bundle, beside the cost of
//! merely parsing that Deployment (a floor every engine pays).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use paved::{Bundle, Context, Engine, Resource};
use paved_benches::{BUNDLE, DEPLOYMENT};
use std::hint::black_box;

fn evaluate(c: &mut Criterion) {
    let engine = Engine::builder().bundle(Bundle::from_str("bundle.yaml", BUNDLE).unwrap()).build().unwrap();
    let resources = Resource::from_str("deployment.yaml", DEPLOYMENT).unwrap();
    let ctx = Context::at("2026-06-01T00:00:00Z".parse().unwrap());
    let report = engine.evaluate(&resources, &ctx);
    assert!(report.summary.findings > 0, "the bench should exercise findings too");
    let json = serde_json::to_string(resources[0].value()).unwrap();

    let mut g = c.benchmark_group("deployment-23-rules");
    g.bench_function("paved evaluate", |b| b.iter(|| black_box(engine.evaluate(black_box(&resources), &ctx))));
    g.bench_function("peer: serde_json parse of the same manifest", |b| {
        b.iter(|| black_box(serde_json::from_str::<serde_json::Value>(black_box(&json)).unwrap()))
    });
    g.bench_function("paved load (YAML with spans)", |b| {
        b.iter(|| black_box(Resource::from_str("deployment.yaml", black_box(DEPLOYMENT)).unwrap()))
    });
    g.finish();

    c.bench_function("bundle load and compile (23 rules)", |b| {
        b.iter(|| black_box(Bundle::from_str("bundle.yaml", black_box(BUNDLE)).unwrap()))
    });
}

/// The platform baseline over an Ingress of 1,000 and of 10,000 hosts: linear checks take ten
/// times as long for ten times the hosts.
fn large_ingress(c: &mut Criterion) {
    let engine = Engine::builder().bundle(Bundle::pack("platform-baseline").unwrap()).build().unwrap();
    let ctx = Context::at("2026-06-01T00:00:00Z".parse().unwrap());
    let mut g = c.benchmark_group("ingress-platform-baseline");
    g.sample_size(20);
    for hosts in [1_000, 10_000, 40_000] {
        let resources = Resource::from_str("ingress.yaml", &paved_benches::ingress(hosts)).unwrap();
        let report = engine.evaluate(&resources, &ctx);
        assert!(!report.findings.iter().any(|f| f.policy == "ingress-tls"), "every host has TLS");
        g.bench_function(format!("{hosts} hosts"), |b| {
            b.iter(|| black_box(engine.evaluate(black_box(&resources), &ctx)))
        });
    }
    g.finish();
}

/// The same five checks of a Deployment, as a paved Policy and as a ValidatingAdmissionPolicy
/// with its binding: reading Kubernetes' form costs nothing at evaluation.
fn admission_policy_form(c: &mut Criterion) {
    const CHECKS: [(&str, &str); 5] = [
        ("replicas", "!has(object.spec.replicas) || object.spec.replicas <= 2"),
        ("team", "has(object.metadata.labels) && 'team' in object.metadata.labels"),
        ("limits", "object.spec.template.spec.containers.all(c, has(c.resources) && has(c.resources.limits))"),
        ("tags", "object.spec.template.spec.containers.all(c, !c.image.endsWith(':latest'))"),
        ("probes", "object.spec.template.spec.containers.all(c, has(c.readinessProbe))"),
    ];
    let rules: String =
        CHECKS.iter().map(|(id, e)| format!("    - id: {id}\n      message: {id}\n      cel: \"{e}\"\n")).collect();
    let native = format!(
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{name: checks}}\nspec:\n  podControllers: false\n  match: {{kinds: [apps/v1/Deployment]}}\n  rules:\n{rules}"
    );
    let validations: String =
        CHECKS.iter().map(|(id, e)| format!("    - expression: \"{e}\"\n      message: {id}\n")).collect();
    let kubernetes = format!(
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {{name: checks}}\nspec:\n  matchConstraints:\n    resourceRules:\n      - {{apiGroups: [apps], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [deployments]}}\n  validations:\n{validations}---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {{name: checks}}\nspec: {{policyName: checks, validationActions: [Deny]}}\n"
    );
    let resources = Resource::from_str("deployment.yaml", DEPLOYMENT).unwrap();
    let ctx = Context::at("2026-06-01T00:00:00Z".parse().unwrap());
    let mut g = c.benchmark_group("five checks of a Deployment");
    let mut found: Vec<Vec<String>> = Vec::new();
    for (form, text) in [("paved Policy", native), ("ValidatingAdmissionPolicy", kubernetes)] {
        let engine = Engine::builder().bundle(Bundle::from_str("checks.yaml", &text).unwrap()).build().unwrap();
        found.push(engine.evaluate(&resources, &ctx).findings.iter().map(|f| f.message.clone()).collect());
        g.bench_function(form, |b| b.iter(|| black_box(engine.evaluate(black_box(&resources), &ctx))));
    }
    assert!(!found[0].is_empty() && found[0] == found[1], "both forms find the same: {found:?}");
    g.finish();
}

criterion_group!(benches, evaluate, large_ingress, admission_policy_form);
criterion_main!(benches);
