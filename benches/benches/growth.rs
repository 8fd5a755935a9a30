//! How the default packs' cost grows with the size of what they read: one resource of 1,000,
//! 10,000 and 40,000 hosts, containers, keys or list items, evaluated and loaded. Each case
//! reports its median time at each size and the growth exponent `log(t40k / t1k) / log 40`
//! (1 is linear, 2 quadratic). Medians of repeated runs, interleaved across sizes so that a
//! noisy moment of the machine does not fall on one size only.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs, clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use paved::{Bundle, Context, Engine, Resource};

/// The allocator the `paved` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIZES: [usize; 3] = [1_000, 10_000, 40_000];

/// The text of one resource of a size.
type Make = fn(usize) -> String;

/// The cases: a name, and how to make the resource.
const CASES: &[(&str, Make)] = &[
    ("Ingress hosts", paved_benches::ingress),
    ("Pod containers", paved_benches::pod),
    ("ConfigMap keys", paved_benches::config_map),
    ("ConfigMap keys, one-line JSON", paved_benches::config_map_json),
    ("Deployment env items", paved_benches::env_list),
    ("Service ports", paved_benches::service),
];

/// The median of `runs` timings of `f`, run in turn for each input.
fn medians<T>(inputs: &[T], runs: usize, f: impl Fn(&T)) -> Vec<Duration> {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); inputs.len()];
    for _ in 0..runs {
        for (input, times) in inputs.iter().zip(&mut times) {
            let start = Instant::now();
            f(input);
            times.push(start.elapsed());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect()
}

fn exponent(first: Duration, last: Duration) -> f64 {
    let ratio = SIZES[2] as f64 / SIZES[0] as f64;
    (last.as_secs_f64() / first.as_secs_f64()).ln() / ratio.ln()
}

fn report(what: &str, times: &[Duration]) -> f64 {
    let e = exponent(times[0], times[2]);
    let shown: Vec<String> = times.iter().map(|t| format!("{:.3} ms", t.as_secs_f64() * 1e3)).collect();
    println!("{what:<44} {:>12} {:>12} {:>12}   exponent {e:.2}", shown[0], shown[1], shown[2]);
    e
}

fn main() {
    // `cargo bench` passes `--bench`; a filter selects cases by name.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let runs: usize = std::env::var("GROWTH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(11);
    let engine = Engine::builder().bundle(Bundle::defaults().unwrap()).build().unwrap();
    let ctx = Context::at("2026-06-01T00:00:00Z".parse().unwrap());
    println!("median of {runs} runs; {:<33} {:>12} {:>12} {:>12}", "", "1,000", "10,000", "40,000");
    let mut worst: f64 = 0.0;
    for (name, make) in CASES {
        if filter.as_ref().is_some_and(|f| !name.contains(f.as_str())) {
            continue;
        }
        let texts: Vec<String> = SIZES.iter().map(|&n| make(n)).collect();
        let resources: Vec<Vec<Resource>> = texts.iter().map(|t| Resource::from_str("big.yaml", t).unwrap()).collect();
        let evaluate = medians(&resources, runs, |r| {
            black_box(engine.evaluate(black_box(r), &ctx));
        });
        let load = medians(&texts, runs, |t| {
            black_box(Resource::from_str("big.yaml", black_box(t)).unwrap());
        });
        worst = worst.max(report(&format!("{name}: evaluate"), &evaluate));
        worst = worst.max(report(&format!("{name}: load"), &load));
    }
    if filter.as_ref().is_none_or(|f| "inventory".contains(f.as_str())) {
        worst = worst.max(inventory(&engine, runs));
    }
    println!("largest exponent {worst:.2} (goal: at most 1.1)");
}

/// One admitted Pod, and one Deployment, judged with an inventory of 1,000, 10,000 and 40,000
/// Pods (as `paved serve --watch-inventory` keeps them: metadata only) across 20 namespaces.
fn inventory(engine: &Engine, runs: usize) -> f64 {
    let contexts: Vec<Context> = SIZES
        .iter()
        .map(|&n| {
            let pods: Vec<Resource> = (0..n)
                .map(|i| {
                    Resource::new(serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {
                        "name": format!("pod-{i}"), "namespace": format!("team-{}", i % 20),
                        "labels": {"app": format!("app-{}", i % 50)}}}))
                })
                .collect();
            let mut ctx = Context::at("2026-06-01T00:00:00Z".parse().unwrap());
            ctx.inventory = Some(std::sync::Arc::new(paved::Inventory::new(&pods).complete_all()));
            ctx
        })
        .collect();
    let pod = Resource::from_str("pod.yaml", "{apiVersion: v1, kind: Pod, metadata: {name: new, namespace: team-1}, spec: {containers: [{name: c, image: 'r/x:1'}]}}").unwrap();
    let deployment = Resource::from_str("d.yaml", &paved_benches::env_list(1)).unwrap();
    let mut worst: f64 = 0.0;
    for (what, r) in [("a Pod", &pod), ("a Deployment", &deployment)] {
        let times = medians(&contexts, runs, |ctx| {
            black_box(engine.evaluate(black_box(r), ctx));
        });
        worst = worst.max(report(&format!("{what} with an inventory of N Pods"), &times));
    }
    worst
}
