//! `kind: PolicyException`: an owned, justified, expiring waiver.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Globs, Metadata};

/// `kind: PolicyException`: an owned, justified, expiring waiver.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ExceptionDocument {
    /// Always `paved.dev/v1`.
    pub api_version: String,
    /// Always `PolicyException`.
    pub kind: String,
    /// Name.
    pub metadata: Metadata,
    /// What is waived, where, by whom, until when.
    pub spec: ExceptionSpec,
}

/// The body of an exception.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ExceptionSpec {
    /// The policies (and optionally rules) waived.
    pub policies: Vec<WaivedPolicy>,
    /// Where the waiver applies.
    #[serde(default, rename = "match")]
    pub match_: ExceptionMatch,
    /// Who answers for it (a team or person).
    pub owner: String,
    /// Why it is needed.
    pub reason: String,
    /// Tracking ticket.
    #[serde(default)]
    pub ticket: Option<String>,
    /// Who approved it.
    #[serde(default)]
    pub approved_by: Option<String>,
    /// When it was granted (RFC 3339 date or timestamp); the bundle's longest window counts from
    /// here.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub created: Option<String>,
    /// When it stops waiving anything (RFC 3339 date or timestamp; a date means 00:00 UTC).
    #[schemars(with = "String")]
    pub expires: String,
}

/// A policy named by an exception.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct WaivedPolicy {
    /// Policy name.
    pub name: String,
    /// Rule ids; empty waives every rule of the policy.
    #[serde(default)]
    pub rules: Vec<String>,
}

/// Where an exception applies.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ExceptionMatch {
    /// As in policies.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// As in policies.
    #[serde(default)]
    pub namespaces: Option<Globs>,
    /// As in policies.
    #[serde(default)]
    pub names: Option<Globs>,
    /// Container name globs: only findings about these containers are waived.
    #[serde(default)]
    pub containers: Vec<String>,
}
