//! paved as WebAssembly against native paved, in one run: one `check` of the 3 KB Deployment
//! against the 23-rule bundle (building the engine from the bundle text, parsing, evaluating and
//! writing the JSON report, which is what one call of the component does), and the component's
//! cold start: compiling it, loading it precompiled, and instantiating it.
//!
//! Needs `scripts/build-wasm` first. Node's figures (the same component transpiled by jco) come
//! from `playground/bench.mjs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]
// `Component::deserialize` runs its bytes as machine code; here they are the ones `serialize`
// produced a moment before, in this process, with this engine.
#![allow(unsafe_code)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use paved::{Bundle, Context, Engine, Format, Resource};
use paved_benches::{BUNDLE, DEPLOYMENT};
use paved_wasm_host::{artifact, document, Context as WasmContext, EngineComponent, EngineOptions};
use wasmtime::component::Component;

const NOW: &str = "2026-06-01T00:00:00Z";

/// What one call of the component's `check` does, natively.
fn native_check() -> String {
    let engine = Engine::builder().bundle(Bundle::from_str("bundle.yaml", BUNDLE).unwrap()).build().unwrap();
    let resources = Resource::from_str("deployment.yaml", DEPLOYMENT).unwrap();
    let report = engine.evaluate(&resources, &Context::parse_at(NOW).unwrap());
    report.format(Format::Json)
}

fn options() -> EngineOptions {
    EngineOptions { packs: vec![], bundle: vec![document("bundle.yaml", BUNDLE)], exceptions: vec![], set: vec![] }
}

fn context() -> WasmContext {
    WasmContext { now: Some(NOW.to_owned()), operation: None, namespace: None, namespace_labels: vec![] }
}

fn check(c: &mut Criterion) {
    let path = artifact("paved_engine.wasm");
    let component = EngineComponent::load(&path).expect("run scripts/build-wasm first");
    let mut instance = component.instantiate().unwrap();
    let (options, context, resources) = (options(), context(), vec![document("deployment.yaml", DEPLOYMENT)]);
    let expected = native_check();
    let wasm_engine = instance.create(&options).unwrap().unwrap();
    assert_eq!(instance.check_with(wasm_engine, &resources, &context, "json").unwrap().unwrap().output, expected);
    assert_eq!(instance.check(&options, &resources, &context, "json").unwrap().unwrap().output, expected);

    // The engine built once: what a check costs.
    let engine = Engine::builder().bundle(Bundle::from_str("bundle.yaml", BUNDLE).unwrap()).build().unwrap();
    let parsed = Resource::from_str("deployment.yaml", DEPLOYMENT).unwrap();
    let ctx = Context::parse_at(NOW).unwrap();
    let mut g = c.benchmark_group("check-deployment-23-rules");
    g.bench_function("native evaluate (the evaluate bench)", |b| {
        b.iter(|| black_box(engine.evaluate(black_box(&parsed), &ctx)))
    });
    g.bench_function("native parse, evaluate, JSON report", |b| {
        b.iter(|| {
            let resources = Resource::from_str("deployment.yaml", black_box(DEPLOYMENT)).unwrap();
            black_box(engine.evaluate(&resources, &ctx).format(Format::Json))
        })
    });
    g.bench_function("wasmtime engine.check (parse, evaluate, JSON report)", |b| {
        b.iter(|| black_box(instance.check_with(wasm_engine, &resources, &context, "json").unwrap().unwrap()))
    });
    g.finish();

    // One call that loads and compiles the bundle too: `paved check`.
    let mut g = c.benchmark_group("build-and-check-deployment-23-rules");
    g.bench_function("native", |b| b.iter(|| black_box(native_check())));
    g.bench_function("wasmtime check", |b| {
        b.iter(|| black_box(instance.check(&options, &resources, &context, "json").unwrap().unwrap()))
    });
    g.finish();
}

fn cold_start(c: &mut Criterion) {
    let path = artifact("paved_engine.wasm");
    let wasm = std::fs::read(&path).expect("run scripts/build-wasm first");
    eprintln!(
        "paved_engine.wasm: {} bytes; paved.wasm: {} bytes",
        wasm.len(),
        std::fs::metadata(artifact("paved.wasm")).map(|m| m.len()).unwrap_or(0)
    );
    let engine = paved_wasm_host::engine().unwrap();
    let started = Instant::now();
    let compiled = Component::new(&engine, &wasm).unwrap();
    eprintln!("compile (Cranelift, once): {:.2} s", started.elapsed().as_secs_f64());
    let precompiled = compiled.serialize().unwrap();
    let linked = EngineComponent::link(engine.clone(), &compiled).unwrap();

    let mut g = c.benchmark_group("wasm-cold-start");
    g.sample_size(20);
    g.bench_function("load precompiled (wasmtime's cache)", |b| {
        // SAFETY: `precompiled` is what `serialize` wrote above, with this engine.
        b.iter(|| black_box(unsafe { Component::deserialize(&engine, &precompiled) }.unwrap()))
    });
    g.bench_function("instantiate", |b| b.iter(|| black_box(linked.instantiate().unwrap())));
    g.bench_function("instantiate and check once", |b| {
        let (options, context, resources) = (options(), context(), vec![document("deployment.yaml", DEPLOYMENT)]);
        b.iter(|| {
            let mut instance = linked.instantiate().unwrap();
            black_box(instance.check(&options, &resources, &context, "json").unwrap().unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, check, cold_start);
criterion_main!(benches);
