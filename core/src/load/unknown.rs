//! The value that stands for one known only after apply (a Terraform plan's `after_unknown`):
//! an object of one reserved key, which CEL reads as an unknown, a forEach as an item that
//! holds anything, and a JSON Schema check as a reason to be unknown rather than failed.

use serde_json::{json, Value};

/// The key of the object that stands for a value known only after apply.
pub(crate) const UNKNOWN_KEY: &str = "$paved.unknown";

/// The value that stands for one known only after apply.
pub(crate) fn unknown() -> Value {
    json!({ UNKNOWN_KEY: "known after apply" })
}

/// Whether a value is the [`unknown`] marker.
#[inline]
pub(crate) fn is_unknown(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.len() == 1 && m.contains_key(UNKNOWN_KEY))
}
