//! What mutation costs: per admission request, the latency (p50, p99) of the webhook's answers
//! — `/validate` (mutate, then judge) and `/mutate` — on every Pod Security Admission fixture,
//! with the default packs alone and with `examples/mutation`'s defaults besides; and `paved
//! fix` (mutate and write YAML) over 10,000 manifests.
//!
//! In process, as the webhook calls the engine (`Engine::admit_request`, `admit_mutation`), so
//! the numbers are the engine's, without TLS. `cargo bench -p paved-benches --bench mutation`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use paved::{AdmissionRequest, Bundle, Context, Engine, Resource};
use serde_json::{json, Value};

/// The allocator the `paved` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const PSA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance/pod-security-admission");

fn main() {
    // `cargo test --benches` runs bench targets without `--bench`: only measure when asked.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let ctx = Context::parse_at("2026-06-01").unwrap();
    let defaults = Bundle::defaults().unwrap();
    let plain = Engine::builder().bundle(defaults.clone()).build().unwrap();
    let mutation = Bundle::from_paths(&[Path::new(ROOT).join("examples/mutation/bundle")]).unwrap();
    let mutating = Engine::builder().bundle(defaults).bundle(mutation.clone()).build().unwrap();
    let requests = requests();
    println!("mutation: {} AdmissionReviews (every Pod Security fixture), in process", requests.len());
    for (name, engine) in [("default packs", &plain), ("default packs + examples/mutation", &mutating)] {
        let validate = latencies(&requests, |r| drop(engine.admit_request(r, &ctx)));
        let mutate = latencies(&requests, |r| drop(engine.admit_mutation(r, &ctx)));
        println!("  {name:<36} /validate {}   /mutate {}", show(&validate), show(&mutate));
    }

    let manifests = deployments(10_000);
    let fix = Engine::builder().bundle(mutation).build().unwrap();
    let times = median_of(5, || {
        let (mutated, report) = fix.mutate(&manifests, &ctx);
        let text: Vec<String> = mutated.iter().map(|r| paved::to_yaml(r.value())).collect();
        assert!(report.patches.len() >= manifests.len() && text.len() == manifests.len());
    });
    println!("  paved fix, {} Deployments (mutate and write YAML): median {:.1} ms", manifests.len(), ms(times));
}

/// Every fixture as an AdmissionReview of a CREATE in namespace `shop`.
fn requests() -> Vec<AdmissionRequest> {
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::from(PSA)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .iter()
        .flat_map(|f| Resource::from_paths(std::slice::from_ref(f)).unwrap())
        .enumerate()
        .map(|(i, r)| {
            let o = r.value();
            let (group, version) = o["apiVersion"].as_str().unwrap().split_once('/').unwrap_or(("", "v1"));
            let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
                "uid": format!("u{i}"), "operation": "CREATE", "namespace": "shop", "name": o["metadata"]["name"],
                "kind": {"group": group, "version": version, "kind": o["kind"]}, "object": o}});
            AdmissionRequest::read(review).unwrap()
        })
        .collect()
}

/// `n` Deployments, as teams write them.
fn deployments(n: usize) -> Vec<Resource> {
    (0..n)
        .map(|i| {
            let d: Value = json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": format!("web-{i}"), "namespace": "shop"},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "web", "image": "registry.example.com/shop/web:1.4.2",
                            "ports": [{"containerPort": 8080}]}]}}}});
            Resource::new(d)
        })
        .collect()
}

/// Each request's time, over three rounds (the first warms up and is left out).
fn latencies(requests: &[AdmissionRequest], f: impl Fn(&AdmissionRequest)) -> Vec<Duration> {
    let mut out = Vec::with_capacity(requests.len() * 2);
    for round in 0..3 {
        for r in requests {
            let start = Instant::now();
            f(r);
            if round > 0 {
                out.push(start.elapsed());
            }
        }
    }
    out.sort();
    out
}

fn median_of(runs: usize, f: impl Fn()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// `p50 … µs, p99 … µs` of sorted times.
fn show(sorted: &[Duration]) -> String {
    let at = |q: f64| sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)].as_secs_f64() * 1e6;
    format!("p50 {:>6.1} µs  p99 {:>7.1} µs", at(0.50), at(0.99))
}
