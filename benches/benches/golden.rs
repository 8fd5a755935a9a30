//! Golden paths: rendering a service (inputs to seven manifests, checked against two packs) and
//! checking one for drift, beside the cost of compiling the packs every render is judged by.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use paved::{Bundle, Context, GoldenPath, Resource};
use serde_json::json;
use std::hint::black_box;

fn golden_paths(c: &mut Criterion) {
    let bundle = Bundle::golden_paths_builtin().unwrap();
    let inputs = json!({"name": "checkout", "team": "payments", "costCenter": "cc-3120", "tier": "critical",
                        "image": "registry.acme.dev/payments/checkout:4.2.1", "ingress": {"host": "checkout.acme.dev"}});
    let path = bundle.golden_path("web-service").unwrap();
    let rendered = path.render(&inputs, &bundle).unwrap();
    let text: Vec<String> = rendered.manifests.iter().map(paved::to_yaml).collect();
    let live = Resource::from_str("checkout.yaml", &text.join("---\n")).unwrap();
    let ctx = Context::at("2026-11-22T00:00:00Z".parse().unwrap());
    assert!(GoldenPath::conform(&bundle, &live, &ctx).services[0].conforms());

    let mut g = c.benchmark_group("web-service");
    g.bench_function("render (7 manifests, checked)", |b| {
        b.iter(|| black_box(path.render(black_box(&inputs), &bundle).unwrap()))
    });
    g.bench_function("conform one service", |b| {
        b.iter(|| black_box(GoldenPath::conform(&bundle, black_box(&live), &ctx)))
    });
    g.bench_function("peer: compile its two packs", |b| {
        b.iter(|| {
            for name in ["pod-security-restricted", "platform-baseline"] {
                black_box(Bundle::pack(name).unwrap());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, golden_paths);
criterion_main!(benches);
