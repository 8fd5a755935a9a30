//! Evaluation of arbitrary resources against every built-in pack: a report for whatever reads
//! as resources, the same report twice.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use paved::{Bundle, Context, Engine, Resource};

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let mut bundle = Bundle::golden_paths_builtin().unwrap_or_else(|e| panic!("{e}"));
    for pack in Bundle::packs() {
        bundle = bundle.merge(Bundle::pack(pack.name).unwrap_or_else(|e| panic!("{e}")));
    }
    Engine::builder().bundle(bundle).build().unwrap_or_else(|e| panic!("{e}"))
});

fuzz_target!(|data: &[u8]| {
    let Ok(resources) = Resource::from_bytes("fuzz.yaml", data) else { return };
    let ctx = Context::parse_at("2026-06-01T00:00:00Z").unwrap_or_else(|e| panic!("{e}"));
    let first = serde_json::to_string(&ENGINE.evaluate(&resources, &ctx)).unwrap_or_else(|e| panic!("{e}"));
    let again = serde_json::to_string(&ENGINE.evaluate(&resources, &ctx)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first, again, "evaluation is not deterministic");
});
