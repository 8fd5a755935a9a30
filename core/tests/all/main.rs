//! The core's integration tests, one binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod admission;
mod admission_policy;
mod budget;
mod cases;
mod cel_variables;
mod code_quality;
mod exceptions;
mod fleet;
mod gatekeeper;
mod gatekeeper_mutation;
mod golden;
mod hostile;
mod images;
mod inputs;
mod inventory;
mod kubectl_yaml;
mod kubernetes_schema;
mod kyverno;
mod layering;
mod load_errors;
mod mutation;
mod packs;
mod params;
mod plugins;
mod pod_security;
mod properties;
mod public_api;
mod pulumi;
mod shape;
mod terraform;
mod three_way;
mod words;
