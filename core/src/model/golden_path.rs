//! `kind: GoldenPath`: a versioned blueprint from a developer's inputs to manifests.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Metadata;

/// `kind: GoldenPath`: a versioned blueprint that turns a developer's small spec into complete,
/// compliant manifests.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct GoldenPathDocument {
    /// Always `paved.dev/v1`.
    pub api_version: String,
    /// Always `GoldenPath`.
    pub kind: String,
    /// Name and version (both required: services pin golden paths by version).
    pub metadata: Metadata,
    /// Inputs, outputs and the policies every render must pass.
    pub spec: GoldenPathSpec,
}

/// The body of a golden path.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct GoldenPathSpec {
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
    /// A JSON Schema (2020-12) of what a developer writes; `default`s fill what they leave out.
    pub inputs: Value,
    /// The manifests, as YAML documents whose strings may hold `${{ expr }}` (CEL, with `inputs`
    /// and `path` bound). A string that is exactly one expression keeps its type. A mapping with
    /// `$if: expr` is left out where the expression is false; a list item or document with
    /// `$each: expr` (and `$as: name`, default `item`) is repeated for each element.
    pub outputs: Vec<Value>,
    /// Packs or policies, with semver ranges, that every render must pass (no `Deny` finding).
    #[serde(default)]
    pub policies: Vec<PolicyRef>,
    /// JSON pointers into rendered objects (`*` matches any list item or key) that a service may
    /// change after rendering without that counting as drift, such as `/spec/replicas` or
    /// `/spec/template/spec/containers/*/env`. A pointer covers everything below it.
    #[serde(default)]
    pub extension_points: Vec<String>,
    /// How inputs written for earlier versions become inputs of this one. `paved upgrade`
    /// applies the migrations of every version it passes, in order.
    #[serde(default)]
    pub migrations: Vec<Migration>,
    /// Set when this version should no longer be used.
    #[serde(default)]
    pub deprecated: Option<Deprecation>,
}

/// Operations that turn inputs of the versions `from` matches into inputs of this version.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct Migration {
    /// The semver range of versions whose inputs this migrates (`>=1.0.0, <2.0.0`). It must not
    /// match this version or a later one.
    pub from: String,
    /// What changes, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// The operations, applied in order. A major upgrade with nothing to change still needs a
    /// migration (with no operations) to say it is covered.
    #[serde(default)]
    pub ops: Vec<MigrationOp>,
}

/// One typed operation on inputs. Paths are JSON pointers into the inputs; `*` matches every
/// list item or key. An operation whose path is absent changes nothing.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) enum MigrationOp {
    /// Renames the key at `path` to `to`, in the same mapping.
    Rename {
        /// The key to rename.
        path: String,
        /// Its new name.
        to: String,
    },
    /// Moves the value at `from` to `to` (creating mappings on the way).
    Move {
        /// Where the value is (no `*`).
        from: String,
        /// Where it goes (no `*`).
        to: String,
    },
    /// Sets `value` at `path` where the inputs leave it out: pins a default that this version
    /// changes, or gives a new required input its value.
    SetDefault {
        /// Where.
        path: String,
        /// The value.
        value: Value,
    },
    /// Removes the value at `path`.
    Remove {
        /// What.
        path: String,
    },
    /// Replaces the value at `path` by the one `values` maps it to; values not in the map stay.
    MapValue {
        /// Where.
        path: String,
        /// Old value (as a string) to new value.
        values: BTreeMap<String, Value>,
    },
}

/// That a golden path version is on its way out.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Deprecation {
    /// Since when (a date, `2026-09-01`).
    #[serde(default)]
    pub since: Option<String>,
    /// From when it must not be used any more (a date).
    #[serde(default)]
    pub sunset: Option<String>,
    /// What to use instead: `NAME@RANGE`.
    #[serde(default)]
    pub replacement: Option<String>,
    /// Why, for people.
    #[serde(default)]
    pub message: Option<String>,
}

/// A pack or policy a golden path's renders must pass.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PolicyRef {
    /// A built-in pack's name, or a policy's name.
    pub name: String,
    /// A semver range the policies' versions must satisfy (default `*`).
    #[serde(default)]
    pub version: Option<String>,
}
