#![doc = include_str!("../README.md")]

// The modules depend one way, following the data flow: model → k8s, pointer → cel → load → select,
// exception, review → plugin → compile → blueprint → packs → bundle → resource, report → inventory → eval →
// admission, golden, testing. `tests/all/layering.rs` fails on any cycle.
mod admission;
mod blueprint;
mod bundle;
mod cel;
mod compile;
mod error;
mod eval;
mod exception;
pub mod golden;
mod inventory;
mod k8s;
mod load;
mod model;
mod packs;
mod plugin;
mod pointer;
mod report;
mod resource;
mod review;
mod select;
mod testing;

pub use blueprint::GoldenPath;
pub use bundle::{Bundle, PackInfo};
pub use error::{Diagnostic, Diagnostics, Error};
pub use eval::{Context, Engine, EngineBuilder};
pub use inventory::Inventory;
pub use model::{Action, ExceptionStatus, Operation, PolicyInfo, ResourceRef, RuleInfo, Severity, SourceRef, KINDS};
pub use plugin::{contract as plugin_contract, PluginHost, PluginInfo};
pub use report::{
    Decision, ErrorKind, ExceptionReport, Finding, FindingError, Format, Report, ResourceReport, Summary,
};
pub use resource::Resource;
pub use review::AdmissionError;
pub use testing::{CaseReport, CheckReport, Example, Outcome, SuiteReport, TestSuite};

/// The JSON Schema (2020-12) of a paved document kind (one of [`KINDS`]), generated from the
/// types paved deserialises, for editor completion and `paved schema`.
///
/// ```
/// let schema = paved::document_schema("Policy").unwrap();
/// assert_eq!(schema["title"], "PolicyDocument");
/// assert!(paved::document_schema("Polcy").is_none());
/// ```
pub fn document_schema(kind: &str) -> Option<serde_json::Value> {
    model::json_schema(kind)
}

/// A JSON value as block-style YAML, keys in their order, strings quoted where YAML would read
/// them as something else (as `kubectl get -o yaml` prints): how rendered manifests are written.
///
/// ```
/// let yaml = paved::to_yaml(&serde_json::json!({"kind": "Pod", "metadata": {"name": "on"}}));
/// assert_eq!(yaml, "kind: Pod\nmetadata:\n  name: \"on\"\n");
/// ```
pub fn to_yaml(value: &serde_json::Value) -> String {
    load::to_yaml(value)
}
