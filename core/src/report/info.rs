//! The vocabulary listings and reports name policies, rules and exceptions in.

use serde::Serialize;

use crate::load::SourceRef;
use crate::model::{Action, ForEach, Severity};

/// The state of an exception in one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ExceptionStatus {
    /// In force, and it waived something.
    Active,
    /// In force, but expires within the bundle's warning horizon.
    Expiring,
    /// In force, but waived nothing in this run.
    Unused,
    /// Past `expires` (`now >= expires`): it waives nothing.
    Expired,
    /// Runs longer than the bundle allows: it waives nothing.
    Invalid,
}

words!(ExceptionStatus, "exception status" { Active => "active", Expiring => "expiring", Unused => "unused", Expired => "expired", Invalid => "invalid" });

/// A policy as listings show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct PolicyInfo {
    /// Name.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// What it is for.
    pub description: Option<String>,
    /// What a failed rule does.
    pub action: Action,
    /// The kinds it matches, as written (empty: every kind).
    pub kinds: Vec<String>,
    /// Whether it also checks the pod templates of workload controllers (Deployment, Job, ...).
    pub pod_controllers: bool,
    /// Where it was written.
    pub source: SourceRef,
    /// Its rules, in order.
    pub rules: Vec<RuleInfo>,
    /// Its mutations, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<MutationInfo>,
}

/// A mutation as listings show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MutationInfo {
    /// Mutation id.
    pub id: String,
    /// Why it changes what it changes.
    pub message: String,
    /// `applyConfiguration` or `jsonPatch`: how its expression's result is applied; `location`
    /// for a Gatekeeper mutator.
    pub patch_type: String,
    /// Its CEL expression, as written or as the shorthand wrote it (a Gatekeeper mutator's
    /// location).
    pub expression: String,
}

/// A rule as listings show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct RuleInfo {
    /// Rule id.
    pub id: String,
    /// What a failure says.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// How serious.
    pub severity: Severity,
    /// The condition under which it applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// What it iterates over.
    #[serde(rename = "forEach", skip_serializing_if = "Option::is_none")]
    pub for_each: Option<ForEach>,
    /// Its CEL check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cel: Option<String>,
    /// Its JSON Schema check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assert: Option<serde_json::Value>,
    /// The WASM plugin it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// The params it gives the plugin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Value>,
}
