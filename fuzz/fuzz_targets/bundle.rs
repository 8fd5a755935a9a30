//! Bundle load and compile: any text is a bundle or a diagnostic; a bundle that compiles
//! evaluates a Pod without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paved::{Bundle, Context, Engine, Resource};

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: n, labels: {app: a}}\n\
spec: {containers: [{name: c, image: 'r.example/i:1', securityContext: {privileged: true}}]}\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(bundle) = Bundle::from_str("fuzz.yaml", text) else { return };
    let Ok(engine) = Engine::builder().bundle(bundle).build() else { return };
    let Ok(pod) = Resource::from_str("pod.yaml", POD) else { return };
    let ctx = Context::parse_at("2026-06-01T00:00:00Z").unwrap_or_else(|e| panic!("{e}"));
    let report = engine.evaluate(&pod, &ctx);
    let _ = serde_json::to_string(&report);
});
