//! Kubernetes facts every part of paved agrees on: where a controller keeps its pod template,
//! how a quantity reads, how an apiVersion splits, and how a name glob matches. One table each,
//! so the evaluator, golden paths and the plugin host cannot disagree (the plugin SDK in
//! `plugins/pdk` follows the same table, tested on the same cases).

pub(crate) mod admission;
pub(crate) mod apply;
mod fields;
mod kinds;
pub(crate) mod merge_keys;
mod object;
mod pattern;
mod quantity;
pub(crate) mod schema;
mod workloads;

pub(crate) use fields::{
    IMMUTABLE, KIND_ASSIGNED, KIND_DEFAULTS, MUTABLE_ONLY, POD_DEFAULTS, SERVER_MANAGED, SERVICE_ASSIGNED,
};
pub(crate) use kinds::{is_resource_of, namespaced, resource_of};
pub(crate) use object::split_api_version;
pub use object::{Operation, ResourceRef};
pub(crate) use pattern::Pattern;
pub(crate) use quantity::{format_cpu, format_memory, quantity, Quantity};
pub(crate) use workloads::{controller, pod_spec, CONTAINER_LISTS, CONTROLLERS};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The table the plugin SDK is tested on too (`plugins/pdk`), so host and guest agree.
    const QUANTITIES: &str = include_str!("../../../wit/testdata/quantities.json");
    const GLOBS: &str = include_str!("../../../wit/testdata/globs.json");

    #[test]
    fn quantities_follow_the_shared_table() {
        let cases: Vec<(String, Option<f64>)> = serde_json::from_str(QUANTITIES).unwrap();
        assert!(cases.len() > 10);
        for (text, want) in cases {
            assert_eq!(quantity(&json!(text)), want, "{text}");
        }
        assert_eq!(quantity(&json!(2)), Some(2.0));
        assert_eq!(format_cpu(1500), "1500m");
        assert_eq!(format_cpu(2000), "2");
        assert_eq!(format_memory(768 << 20), "768Mi");
        assert_eq!(format_memory(2 << 30), "2Gi");
    }

    #[test]
    fn globs_follow_the_shared_table() {
        let cases: Vec<(String, String, bool)> = serde_json::from_str(GLOBS).unwrap();
        for (pattern, text, want) in cases {
            assert_eq!(Pattern::new(&pattern).unwrap().matches(&text), want, "{pattern} ~ {text}");
        }
    }

    #[test]
    fn pod_specs_follow_the_shared_table() {
        let cases: Vec<(String, String, Option<String>)> =
            serde_json::from_str(include_str!("../../../wit/testdata/pod-specs.json")).unwrap();
        for (api_version, kind, want) in cases {
            assert_eq!(pod_spec(&api_version, &kind), want, "{api_version} {kind}");
        }
    }
}
