//! `pod-security-restricted` on the 3 KB Deployment: time and allocations per evaluation, and
//! the same checks written in Rego, evaluated by regorus on the same object.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used, missing_docs, unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, criterion_main, Criterion};
use paved::{Bundle, Context, Engine, Resource};
use paved_benches::{DEPLOYMENT, POD_SECURITY_REGO};

/// Counts allocations, to report how many one evaluation makes.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(mut f: impl FnMut()) -> u64 {
    f();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..100 {
        f();
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) / 100
}

fn pod_security(c: &mut Criterion) {
    let engine = Engine::builder().bundle(Bundle::pack("pod-security-restricted").unwrap()).build().unwrap();
    let resources = Resource::from_str("deployment.yaml", DEPLOYMENT).unwrap();
    let ctx = Context::at("2026-06-01T00:00:00Z".parse().unwrap());
    let report = engine.evaluate(&resources, &ctx);

    let mut rego = regorus::Engine::new();
    rego.add_policy("pod_security.rego".into(), POD_SECURITY_REGO.into()).unwrap();
    rego.set_input(regorus::Value::from_json_str(&serde_json::to_string(resources[0].value()).unwrap()).unwrap());
    let denials = rego.eval_rule("data.pod_security.violations".into()).unwrap();
    eprintln!(
        "paved: {} findings, {} allocations per evaluation; regorus: {:?}, {} allocations per evaluation",
        report.summary.findings,
        allocations(|| {
            black_box(engine.evaluate(&resources, &ctx));
        }),
        denials,
        allocations(|| {
            black_box(rego.eval_rule("data.pod_security.violations".into()).unwrap());
        }),
    );

    let mut g = c.benchmark_group("pod-security-restricted, 3 KB Deployment");
    g.bench_function("paved evaluate", |b| b.iter(|| black_box(engine.evaluate(black_box(&resources), &ctx))));
    g.bench_function("peer: regorus, the same checks in Rego", |b| {
        b.iter(|| black_box(rego.eval_rule("data.pod_security.violations".into()).unwrap()))
    });
    g.finish();
}

/// What the cost budget bounds: a policy whose one loop runs over a list far longer than the
/// estimate assumes is stopped at the run-time budget, and the time that takes is the most any
/// expression can cost.
fn budget(c: &mut Criterion) {
    let bundle = "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: long-loop, version: 1.0.0}\nspec:\n  match: {kinds: [ConfigMap]}\n  rules:\n    - id: every-key\n      message: m\n      cel: \"object.data.all(k, object.data[k] + object.data[k] != '')\"\n";
    let engine = Engine::builder().bundle(Bundle::from_str("b.yaml", bundle).unwrap()).build().unwrap();
    let data: serde_json::Map<String, serde_json::Value> =
        (0..200_000).map(|i| (format!("k{i}"), serde_json::Value::String("v".repeat(64)))).collect();
    let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big", "namespace": "a"}, "data": data});
    let resources = vec![Resource::from_value(cm).unwrap()];
    let ctx = Context::at("2026-06-01T00:00:00Z".parse().unwrap());
    let report = engine.evaluate(&resources, &ctx);
    let error = report.findings[0].error.as_ref().expect("stopped by the budget");
    assert_eq!(error.kind, paved::ErrorKind::Cost);
    let mut g = c.benchmark_group("cost budget");
    g.sample_size(20);
    g.bench_function("a loop over 200,000 keys, stopped at the budget", |b| {
        b.iter(|| black_box(engine.evaluate(black_box(&resources), &ctx)))
    });
    g.finish();
}

criterion_group!(benches, pod_security, budget);
criterion_main!(benches);
