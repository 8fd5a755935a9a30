//! Compiling a policy document once: its selector, JSON Schemas, CEL programs and `forEach`
//! paths, and the checks a rule runs. Pure: nothing here reads a file, the clock or the
//! environment.

pub(crate) mod admission_policy;
pub(crate) mod bundle;
pub(crate) mod check;
pub(crate) mod constraint_match;
pub(crate) mod cost;
pub(crate) mod documents;
pub(crate) mod exception;
pub(crate) mod export;
pub(crate) mod expr;
pub(crate) mod gatekeeper;
pub(crate) mod gatekeeper_mutation;
pub(crate) mod golden_path;
pub(crate) mod image_policy;
pub(crate) mod images;
pub(crate) mod labels;
pub(crate) mod location;
pub(crate) mod mutation;
pub(crate) mod param_ref;
pub(crate) mod params;
pub(crate) mod policy;
pub(crate) mod reads;
pub(crate) mod rego;
pub(crate) mod resources;
pub(crate) mod select;
pub(crate) mod template;
