//! The report in the formats of other tools, for CI systems and clusters, and YAML for
//! rendered manifests. Each report format takes the policies the report was made with
//! ([`Engine::policies`](crate::Engine::policies)), for rule descriptions and for the rules that
//! passed.

pub use crate::report::github::github;
pub use crate::report::junit::junit;
pub use crate::report::policy_report::policy_report;
pub use crate::report::sarif::sarif;
pub use crate::testing::junit as test_junit;

/// A JSON value as block-style YAML, keys in their order, strings quoted where YAML would read
/// them as something else (as `kubectl get -o yaml` prints).
///
/// ```
/// let yaml = paved::formats::yaml(&serde_json::json!({"kind": "Pod", "metadata": {"name": "on"}}));
/// assert_eq!(yaml, "kind: Pod\nmetadata:\n  name: \"on\"\n");
/// ```
pub fn yaml(value: &serde_json::Value) -> String {
    crate::load::to_yaml(value)
}
