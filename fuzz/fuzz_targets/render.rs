//! Golden-path render with arbitrary inputs: the first byte picks a built-in golden path, the
//! rest is its inputs file. Every render is objects or diagnostics, and every object it renders
//! reads back unchanged from the YAML `paved render` writes.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use paved::{Bundle, GoldenPath, Resource};

static BUNDLE: LazyLock<Bundle> = LazyLock::new(|| Bundle::golden_paths_builtin().unwrap_or_else(|e| panic!("{e}")));
static PATHS: LazyLock<Vec<&'static GoldenPath>> = LazyLock::new(|| BUNDLE.golden_paths().collect());

fuzz_target!(|data: &[u8]| {
    let Some((pick, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let Some(path) = PATHS.get(usize::from(*pick) % PATHS.len().max(1)) else { return };
    let Ok(rendered) = path.render_text("inputs.yaml", text, &BUNDLE) else { return };
    for m in &rendered.manifests {
        let text = paved::to_yaml(m);
        let back = Resource::from_str("rendered.yaml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let back: Vec<_> = back.iter().map(Resource::value).collect();
        assert_eq!(back, [m], "{text}");
    }
});
