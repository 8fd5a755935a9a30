//! The manifest reader: any bytes are either resources or a diagnostic, and every resource it
//! reads survives a round trip through paved's YAML writer unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use paved::Resource;

fuzz_target!(|data: &[u8]| {
    let Ok(resources) = Resource::from_bytes("fuzz.yaml", data) else { return };
    for r in &resources {
        let text = paved::to_yaml(r.value());
        let back = Resource::from_str("emitted.yaml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let back: Vec<_> = back.iter().map(Resource::value).collect();
        assert_eq!(back, [r.value()], "{text}");
    }
});
