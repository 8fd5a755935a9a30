#![doc = include_str!("../README.md")]

// Modules follow the data flow, each using only those above it in this list: no cycles (the
// `layering` test checks it).
mod error;
mod model;
mod k8s;
mod pointer;
mod load;
mod select;
mod exception;
mod plugin;
mod review;
mod compile;
mod blueprint;
mod packs;
mod bundle;
mod resource;
mod report;
mod eval;
mod admission;
pub mod formats;
pub mod golden;
pub mod testing;

pub use review::AdmissionError;
pub use blueprint::GoldenPath;
pub use bundle::{Bundle, PackInfo};
pub use error::{Diagnostic, Diagnostics, Error};
pub use eval::{Context, Engine, EngineBuilder};
pub use model::{
    Action, ExceptionStatus, Operation, PolicyInfo, ResourceRef, RuleInfo, Severity, SourceRef, KINDS,
};
pub use plugin::{contract as plugin_contract, PluginHost, PluginInfo};
pub use report::{Decision, ErrorKind, ExceptionReport, Finding, FindingError, Report, ResourceReport, Summary};
pub use resource::Resource;

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
