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

criterion_group!(benches, pod_security);
criterion_main!(benches);
