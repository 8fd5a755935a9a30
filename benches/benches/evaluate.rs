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

criterion_group!(benches, evaluate, large_ingress);
criterion_main!(benches);
