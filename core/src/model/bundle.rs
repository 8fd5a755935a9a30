//! `kind: Bundle`: a bundle's settings, functions and plugins.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Metadata;

/// `kind: Bundle` (`paved.yaml`): settings for a set of policies and exceptions.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BundleDocument {
    /// Always `paved.dev/v1`.
    pub api_version: String,
    /// Always `Bundle`.
    pub kind: String,
    /// Name and version.
    pub metadata: Metadata,
    /// Settings.
    #[serde(default)]
    pub spec: BundleSpec,
}

/// Bundle settings.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct BundleSpec {
    /// Built-in packs this bundle builds on; its own policies override theirs by name.
    #[serde(default)]
    pub packs: Vec<String>,
    /// Longest time an exception may run, in days, from `created` (or, without `created`, from
    /// the evaluation's `now`).
    #[serde(default = "default_window")]
    pub exception_max_days: u32,
    /// An exception that expires within this many days is reported as `expiring`.
    #[serde(default = "default_horizon")]
    pub exception_warn_days: u32,
    /// WASM plugins the bundle's policies may run, each pinned by its sha256.
    #[serde(default)]
    pub plugins: Vec<PluginSpec>,
    /// Kinds the policies may match that are not Kubernetes' own (custom resources), by name
    /// (`Certificate`); a `match.kinds` naming any other unknown kind is a load error.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// CEL functions every expression of the bundle's policies may call, written once.
    #[serde(default)]
    pub functions: Vec<FunctionSpec>,
    /// Who must have signed the `oci://` packs and plugins this bundle names (instead of
    /// `--verify-key` and `--certificate-identity`, which then vouch only for what the command
    /// line names).
    #[serde(default)]
    pub trust: Option<ArtifactTrust>,
}

/// Signers of OCI artifacts: a signature by any one of the keys or keyless identities suffices.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[non_exhaustive]
pub struct ArtifactTrust {
    /// Public keys (PEM, as cosign's `cosign.pub`).
    #[serde(default)]
    pub keys: Vec<String>,
    /// Keyless signers (checked against the trusted root given with `--trusted-root`).
    #[serde(default)]
    pub identities: Vec<super::IdentitySpec>,
}

/// A CEL function a bundle defines: `name(params...)` is `expression` with the params bound.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct FunctionSpec {
    /// How expressions call it.
    pub name: String,
    /// Its parameters' names, in order.
    #[serde(default)]
    pub params: Vec<String>,
    /// The CEL expression it stands for. It sees its params and the policy's variables
    /// (`object`, `params`, ...), not the variables of the expression that calls it.
    pub expression: String,
    /// What it is for.
    #[serde(default)]
    pub description: Option<String>,
}

/// A plugin a bundle uses.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PluginSpec {
    /// The name policies use in `plugin:`.
    pub name: String,
    /// The component (`.wasm`), relative to the file of this Bundle document.
    pub path: String,
    /// sha256 of the component, hex; the plugin does not load if the file differs.
    pub sha256: String,
    /// What one call may use.
    #[serde(default)]
    pub limits: PluginLimits,
}

/// Limits of one plugin call; each defaults to paved's default.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PluginLimits {
    /// Fuel per call, about one unit per WebAssembly instruction (default 20000000).
    #[serde(default)]
    pub fuel: Option<u64>,
    /// Largest memory, as a Kubernetes quantity (`64Mi`, the default; at most `1Gi`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub memory: Option<Value>,
    /// Largest answer, as a quantity of bytes (`1Mi`, the default).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub output: Option<Value>,
}

fn default_window() -> u32 {
    90
}
fn default_horizon() -> u32 {
    14
}

impl Default for BundleSpec {
    fn default() -> Self {
        BundleSpec {
            packs: Vec::new(),
            exception_max_days: default_window(),
            exception_warn_days: default_horizon(),
            plugins: Vec::new(),
            kinds: Vec::new(),
            functions: Vec::new(),
            trust: None,
        }
    }
}
