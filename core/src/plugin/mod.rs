//! WebAssembly plugins: organisation-specific checks, sandboxed.
//!
//! A plugin is a WebAssembly component that exports the contract in `wit/plugin.wit`
//! ([`CONTRACT`]). A bundle lists the plugins it uses, each with its sha256 and its limits; a
//! policy rule runs one with `plugin: NAME` and `params`. Every failure of a plugin is a
//! [`PluginError`] that names the plugin and the cause; the engine turns it into a finding
//! according to the policy's failure policy, and every other rule still runs.
//!
//! The host lives behind the default cargo feature `plugins`. Without it, paved builds without
//! wasmtime, and a bundle that lists plugins does not load.

use std::fmt;

#[cfg(feature = "plugins")]
mod cache;
#[cfg(feature = "plugins")]
mod host;
#[cfg(feature = "plugins")]
mod stderr;

#[cfg(feature = "plugins")]
pub use cache::default_dir as default_cache_dir;
#[cfg(feature = "plugins")]
pub use host::{Loader, Plugin};

/// A plugin in a build without the plugin host: it cannot exist.
#[cfg(not(feature = "plugins"))]
#[derive(Debug)]
pub enum Plugin {}

/// The plugin contract this build speaks: the WIT interface plugins export, or `None` when it
/// was built without the `plugins` feature.
pub const CONTRACT: Option<&str> = if cfg!(feature = "plugins") { Some(CHECKER) } else { None };

/// The exported interface, with the contract version.
#[cfg_attr(not(feature = "plugins"), allow(dead_code))]
const CHECKER: &str = "paved:plugin/checker@0.1.0";

/// What a plugin may use per call. A bundle sets them per plugin; these are the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel per call: roughly one unit per WebAssembly instruction. Deterministic, unlike time.
    pub fuel: u64,
    /// Largest linear memory, in bytes.
    pub memory: u64,
    /// Largest answer (the text of every finding or of the error), in bytes.
    pub output: u64,
}

impl Limits {
    /// The most memory a bundle may give a plugin (the host reserves address space for it).
    pub const MAX_MEMORY: u64 = 1 << 30;
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
pub struct Metadata {
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
pub struct PluginFinding {
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
pub struct PluginError {
    /// The plugin's name in the bundle.
    pub plugin: String,
    /// What went wrong.
    pub cause: Cause,
}

/// Why a plugin failed, at load or in a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// Its file could not be read.
    Unreadable(String),
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
            Cause::Unreadable(e) => write!(f, "cannot be read: {e}"),
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
            Cause::OutputTooLarge { size, limit } => {
                write!(f, "returned {size} bytes, more than its output limit of {limit} bytes")
            }
            Cause::Contract(e) => write!(f, "broke the plugin contract: {e}"),
            Cause::Failed { kind, message } => write!(f, "could not check the resource ({kind}): {message}"),
            Cause::Unavailable(e) => write!(f, "could not be run: {e}"),
        }
    }
}

/// The plugins a bundle loaded, by the name policies use.
pub(crate) type Plugins = std::collections::BTreeMap<String, std::sync::Arc<Plugin>>;

/// Loads the plugins a `kind: Bundle` document lists. Every problem is a diagnostic at its entry;
/// the plugins that load are returned, so the policies that use them still compile.
pub(crate) fn load_all(
    specs: &[crate::model::PluginSpec],
    origin: &crate::load::Origin,
    diags: &mut crate::error::Diagnostics,
) -> Plugins {
    #[cfg_attr(not(feature = "plugins"), allow(unused_mut))]
    let mut plugins = Plugins::new();
    #[cfg(not(feature = "plugins"))]
    if !specs.is_empty() {
        diags.push(origin.diagnostic(
            "/spec/plugins",
            "this build of paved has no plugin host",
            Some("build paved with its default `plugins` feature to use WASM plugins".into()),
        ));
    }
    #[cfg(feature = "plugins")]
    {
        let dir = std::path::Path::new(&*origin.file).parent().unwrap_or(std::path::Path::new(""));
        for (i, spec) in specs.iter().enumerate() {
            let at = |field: &str| format!("/spec/plugins/{i}{field}");
            if plugins.contains_key(&spec.name) {
                diags.push(origin.diagnostic(&at("/name"), format!("plugin `{}` is listed twice", spec.name), None));
                continue;
            }
            let limits = match limits(&spec.limits) {
                Ok(l) => l,
                Err((field, message)) => {
                    diags.push(origin.diagnostic(&at(&format!("/limits/{field}")), message, None));
                    continue;
                }
            };
            if spec.sha256.len() != 64 || !spec.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                diags.push(origin.diagnostic(
                    &at("/sha256"),
                    format!("`{}` is not a sha256 (64 hex digits)", spec.sha256),
                    Some(format!("`sha256sum {}` prints it; so does `paved plugin inspect`", spec.path)),
                ));
                continue;
            }
            let loaded = Plugin::loader(&spec.name).sha256(&spec.sha256).limits(limits).file(&dir.join(&spec.path));
            match loaded {
                Ok(p) => {
                    plugins.insert(spec.name.clone(), std::sync::Arc::new(p));
                }
                Err(e) => {
                    let (field, help) = match &e.cause {
                        Cause::Unreadable(_) => ("/path", Some(format!("paths are relative to {}", origin.file))),
                        Cause::DigestMismatch { .. } => ("/sha256", None),
                        _ => ("", None),
                    };
                    diags.push(origin.diagnostic(&at(field), e.to_string(), help));
                }
            }
        }
    }
    plugins
}

/// The limits a bundle gives a plugin, over the defaults; an error names the field.
#[cfg(feature = "plugins")]
fn limits(spec: &crate::model::PluginLimits) -> Result<Limits, (&'static str, String)> {
    let mut limits = Limits::default();
    if let Some(fuel) = spec.fuel {
        if fuel == 0 {
            return Err(("fuel", "fuel must be positive".into()));
        }
        limits.fuel = fuel;
    }
    let bytes = |field: &'static str, v: &serde_json::Value| {
        crate::golden::diff::quantity(v)
            .filter(|q| *q >= 1.0)
            .map(|q| q as u64)
            .ok_or((field, format!("{v} is not a quantity of bytes such as `64Mi`")))
    };
    if let Some(m) = &spec.memory {
        limits.memory = bytes("memory", m)?;
        if limits.memory > Limits::MAX_MEMORY {
            return Err(("memory", format!("{m} is more than the most a plugin may have, 1Gi")));
        }
    }
    if let Some(o) = &spec.output {
        limits.output = bytes("output", o)?;
    }
    Ok(limits)
}
