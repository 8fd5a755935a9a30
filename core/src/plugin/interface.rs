//! What crosses between paved and a plugin: the contract's name, the host's settings, the
//! limits of a call, a plugin's metadata, its findings and its failures.

use std::fmt;

/// The settings of the WebAssembly host that runs an engine's plugins. Engines built with equal
/// settings share one host (one wasmtime engine and instance pool) while any of them lives.
///
/// ```
/// use std::time::Duration;
/// let host = paved::PluginHost::default().instances(64).fuel(5_000_000).deadline(Some(Duration::from_millis(200)));
/// let engine = paved::Engine::builder().plugin_host(host).build()?;
/// # Ok::<(), paved::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PluginHost {
    /// Instances that may be alive at once, across all plugins: calls in flight on every thread
    /// plus up to 32 finished instances waiting to be freed (default 256). A call that finds
    /// none free fails with an `unavailable` error, by the policy's failure policy.
    pub instances: u32,
    /// The most linear memory any one instance may have, in bytes (default and most: 1 GiB). A
    /// bundle's per-plugin `limits.memory` is checked against it.
    pub max_memory: u64,
    /// Fuel per call for plugins whose bundle entry sets none (default 20 million: about 2 ms of
    /// a tight loop here, 50 times what `registry-allowlist` needs for a Deployment).
    pub fuel: u64,
    /// Wall-clock bound of one call, on top of fuel (default: none, so verdicts depend on fuel
    /// alone and stay deterministic). A call past it fails with a `deadline` error.
    pub deadline: Option<std::time::Duration>,
}

impl Default for PluginHost {
    fn default() -> Self {
        PluginHost { instances: 256, max_memory: Limits::MAX_MEMORY, fuel: Limits::default().fuel, deadline: None }
    }
}

impl PluginHost {
    /// Sets how many instances may be alive at once.
    pub fn instances(mut self, n: u32) -> Self {
        self.instances = n;
        self
    }

    /// Sets the most memory one instance may have, in bytes (at most 1 GiB).
    pub fn max_memory(mut self, bytes: u64) -> Self {
        self.max_memory = bytes.min(Limits::MAX_MEMORY);
        self
    }

    /// Sets the fuel per call of plugins whose bundle entry sets none.
    pub fn fuel(mut self, fuel: u64) -> Self {
        self.fuel = fuel;
        self
    }

    /// Sets the wall-clock bound of one call.
    pub fn deadline(mut self, deadline: Option<std::time::Duration>) -> Self {
        self.deadline = deadline;
        self
    }
}

/// The plugin contract this build speaks: the WIT interface plugins export, or `None` when it
/// was built without the `plugins` feature.
pub(crate) const CONTRACT: Option<&str> = if cfg!(feature = "plugins") { Some(CHECKER) } else { None };

/// The exported interface, with the contract version.
#[cfg_attr(not(feature = "plugins"), allow(dead_code))]
pub(super) const CHECKER: &str = "paved:plugin/checker@0.1.0";

/// What a plugin may use per call. A bundle sets them per plugin; these are the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Fuel per call: roughly one unit per WebAssembly instruction. Deterministic, unlike time.
    pub fuel: u64,
    /// Largest linear memory, in bytes.
    pub memory: u64,
    /// Largest answer (the text of every finding or of the error), in bytes.
    pub output: u64,
}

impl Limits {
    /// The most memory a bundle may give a plugin (the host reserves address space for it).
    pub(crate) const MAX_MEMORY: u64 = 1 << 30;
}

impl Default for Limits {
    /// 20 million fuel (about 2 ms of a tight loop here, 50 times what `registry-allowlist`
    /// needs for a Deployment), 64 MiB of memory, 1 MiB of answer.
    fn default() -> Self {
        Limits { fuel: 20_000_000, memory: 64 << 20, output: 1 << 20 }
    }
}

/// What a plugin says it is (its `metadata()`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct Metadata {
    /// Name.
    pub name: String,
    /// The plugin's own semantic version.
    pub version: String,
    /// What it is for.
    pub description: String,
    /// The rules it reports: `(id, description)`.
    pub rules: Vec<(String, String)>,
    /// JSON Schema of its params.
    pub params_schema: serde_json::Value,
}

/// One finding of a plugin, as it reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PluginFinding {
    /// One of the plugin's rule ids.
    pub rule: String,
    /// What is wrong.
    pub message: String,
    /// JSON pointer into the resource the plugin was given.
    pub path: String,
    /// The plugin's own severity for it, if it gave one.
    pub severity: Option<crate::Severity>,
}

/// A plugin failed: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin `{plugin}` {cause}")]
pub(crate) struct PluginError {
    /// The plugin's name in the bundle.
    pub plugin: String,
    /// What went wrong.
    pub cause: Cause,
}

/// Why a plugin failed, at load or in a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cause {
    /// Its content is not what the bundle pinned.
    DigestMismatch {
        /// The sha256 in the bundle.
        expected: String,
        /// The sha256 of the file.
        actual: String,
    },
    /// It is not a WebAssembly component wasmtime can compile.
    NotAComponent(String),
    /// It does not export the checker interface at all.
    MissingExport {
        /// What it exports instead.
        exports: Vec<String>,
    },
    /// It exports the checker of another contract version.
    ContractMismatch {
        /// The interface it exports.
        found: String,
    },
    /// Its `metadata()` is unusable (no rules, duplicate ids, a params schema that is not one).
    BadMetadata(String),
    /// It needs something the sandbox does not give (an import other than WASI).
    Unlinkable(String),
    /// It used up its fuel: an endless loop, or more work than the bundle allows.
    OutOfFuel {
        /// The fuel it had.
        limit: u64,
    },
    /// It tried to grow its memory beyond the limit.
    MemoryLimit {
        /// The limit, in bytes.
        limit: u64,
    },
    /// It trapped (a panic, an abort, a stack overflow, an out-of-bounds access).
    Trap {
        /// The trap.
        trap: String,
        /// What it wrote to stderr (a panic message), capped.
        stderr: String,
    },
    /// The call ran past the host's deadline.
    Deadline {
        /// The deadline.
        limit: std::time::Duration,
    },
    /// The evaluation it was part of was stopped (its request's deadline had answered).
    Stopped,
    /// The evaluation's plugin fuel budget ran out during (or before) the call.
    BudgetSpent {
        /// The fuel the budget had left for this call.
        left: u64,
    },
    /// Its answer was larger than the limit.
    OutputTooLarge {
        /// Bytes it returned.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Its answer breaks the contract (an unknown rule id, a path that is not a JSON pointer).
    Contract(String),
    /// It reported that it could not check the resource.
    Failed {
        /// `invalid-params`, `invalid-resource` or `failed`.
        kind: &'static str,
        /// Its explanation.
        message: String,
    },
    /// The host could not run it (for example, every pooled instance slot is in use).
    Unavailable(String),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::DigestMismatch { expected, actual } => {
                write!(f, "has sha256 {actual}, but the bundle pins {expected}; rebuild it or update the pin")
            }
            Cause::NotAComponent(e) => write!(f, "is not a WebAssembly component: {e}"),
            Cause::MissingExport { exports } => write!(
                f,
                "does not export `{CHECKER}` (it exports: {}); build it with paved-pdk or against wit/plugin.wit",
                if exports.is_empty() { "nothing".to_owned() } else { exports.join(", ") }
            ),
            Cause::ContractMismatch { found } => {
                write!(f, "speaks another contract version: it exports `{found}`, this paved speaks `{CHECKER}`")
            }
            Cause::BadMetadata(e) => write!(f, "has unusable metadata: {e}"),
            Cause::Unlinkable(e) => write!(f, "needs an import the sandbox does not provide: {e}"),
            Cause::OutOfFuel { limit } => {
                write!(f, "ran out of fuel ({limit} units): it loops or needs a higher `limits.fuel`")
            }
            Cause::MemoryLimit { limit } => write!(f, "tried to use more than its memory limit of {} MiB", limit >> 20),
            Cause::Trap { trap, stderr } if stderr.is_empty() => write!(f, "trapped: {trap}"),
            Cause::Trap { trap, stderr } => write!(f, "trapped: {trap}; its stderr: {stderr}"),
            Cause::Deadline { limit } => write!(f, "ran past the host's deadline of {} ms", limit.as_millis()),
            Cause::Stopped => write!(f, "was stopped: the evaluation's caller stopped it (its deadline passed)"),
            Cause::BudgetSpent { left } => {
                write!(f, "used up the evaluation's plugin fuel budget ({left} was left for this call)")
            }
            Cause::OutputTooLarge { size, limit } => {
                write!(f, "returned {size} bytes, more than its output limit of {limit} bytes")
            }
            Cause::Contract(e) => write!(f, "broke the plugin contract: {e}"),
            Cause::Failed { kind, message } => write!(f, "could not check the resource ({kind}): {message}"),
            Cause::Unavailable(e) => write!(f, "could not be run: {e}"),
        }
    }
}

/// What a linked plugin is: what it says of itself, what it is pinned by, and where its compiled
/// code came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PluginInfo {
    /// Its name (in a bundle, the name policies use; for an inspected file, the name it gives).
    pub name: String,
    /// The plugin's own semantic version.
    pub version: String,
    /// What it is for.
    pub description: String,
    /// The rules it reports: `(id, description)`.
    pub rules: Vec<(String, String)>,
    /// JSON Schema of its params.
    pub params_schema: serde_json::Value,
    /// sha256 of the component, hex: what a bundle pins.
    pub sha256: String,
    /// Whether its compiled code came from the cache.
    pub from_cache: bool,
    /// Why a cache entry was not used and the plugin compiled again, if that happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recompiled: Option<String>,
    /// The plugin contract it speaks (the WIT interface it exports).
    pub contract: &'static str,
    /// The limits it was linked with, per call: fuel, memory in bytes, answer in bytes.
    pub limits: (u64, u64, u64),
}

/// The plugin contract this build speaks (`paved:plugin/checker@…`), or `None` when it was
/// built without the plugin host.
pub fn contract() -> Option<&'static str> {
    CONTRACT
}
