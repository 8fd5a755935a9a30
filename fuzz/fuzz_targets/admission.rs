//! The AdmissionReview reader: any JSON gets a well-formed response or an error, never a panic,
//! and the response echoes the request's uid.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use paved::{Bundle, Context, Engine};

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let bundle = Bundle::defaults().unwrap_or_else(|e| panic!("{e}"));
    Engine::builder().bundle(bundle).build().unwrap_or_else(|e| panic!("{e}"))
});

fuzz_target!(|data: &[u8]| {
    let Ok(review) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let ctx = Context::parse_at("2026-06-01T00:00:00Z").unwrap_or_else(|e| panic!("{e}"));
    let Ok(answer) = ENGINE.admit(review.clone(), &ctx) else { return };
    let uid = review.pointer("/request/uid").or_else(|| review.pointer("/uid"));
    if let Some(uid) = uid {
        assert_eq!(answer.pointer("/response/uid"), Some(uid), "{answer}");
    }
});
