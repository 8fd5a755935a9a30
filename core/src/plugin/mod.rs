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

// Without the host, the contract's types are still compiled (they describe plugins), unused.
#![cfg_attr(not(feature = "plugins"), allow(dead_code))]

use std::fmt;

#[cfg(feature = "plugins")]
mod cache;
#[cfg(feature = "plugins")]
mod host;
#[cfg(feature = "plugins")]
mod stderr;

#[cfg(feature = "plugins")]
pub(crate) use cache::{Cache, Source};
#[cfg(feature = "plugins")]
pub(crate) use host::{Host, Plugin};

/// A plugin in a build without the plugin host: it cannot exist.
#[cfg(not(feature = "plugins"))]
#[derive(Debug)]
pub(crate) enum Plugin {}

#[cfg(not(feature = "plugins"))]
impl Plugin {
    pub(crate) fn info(&self) -> PluginInfo {
        match *self {}
    }
}

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
const CHECKER: &str = "paved:plugin/checker@0.1.0";

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
            Cause::OutputTooLarge { size, limit } => {
                write!(f, "returned {size} bytes, more than its output limit of {limit} bytes")
            }
            Cause::Contract(e) => write!(f, "broke the plugin contract: {e}"),
            Cause::Failed { kind, message } => write!(f, "could not check the resource ({kind}): {message}"),
            Cause::Unavailable(e) => write!(f, "could not be run: {e}"),
        }
    }
}

/// The plugins an engine linked, by the name policies use.
pub(crate) type Plugins = std::collections::BTreeMap<String, std::sync::Arc<Plugin>>;

/// A plugin a bundle declares: its entry checked, its component not yet compiled.
#[derive(Clone)]
pub(crate) struct Declared {
    pub name: String,
    /// The component's path, relative to the Bundle document's file.
    pub path: String,
    pub sha256: String,
    /// The limits the entry sets; `None` leaves the host's default.
    pub fuel: Option<u64>,
    pub memory: Option<u64>,
    pub output: Option<u64>,
    /// The Bundle document and the entry's index in `spec.plugins`, for diagnostics.
    pub origin: crate::load::Origin,
    pub index: usize,
    /// The component, when the bundle was read from its files.
    pub bytes: Option<std::sync::Arc<[u8]>>,
}

impl std::fmt::Debug for Declared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Declared")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("sha256", &self.sha256)
            .field("read", &self.bytes.as_ref().map(|b| b.len()))
            .finish_non_exhaustive()
    }
}

impl Declared {
    /// A diagnostic at a field of the entry (`""` for the entry itself).
    pub fn diagnostic(&self, field: &str, message: String, help: Option<String>) -> crate::error::Diagnostic {
        self.origin.diagnostic(&format!("/spec/plugins/{}{field}", self.index), message, help)
    }

    /// Reads the component from beside the Bundle document: the one place loading touches a
    /// plugin file, called only by [`Bundle::from_paths`](crate::Bundle::from_paths).
    pub fn read(&mut self) -> Result<(), crate::error::Diagnostic> {
        let dir = std::path::Path::new(&*self.origin.file).parent().unwrap_or(std::path::Path::new(""));
        let path = dir.join(&self.path);
        match crate::load::read_regular(&path) {
            Ok(bytes) => {
                self.bytes = Some(bytes.into());
                Ok(())
            }
            Err(e) => Err(self.diagnostic(
                "/path",
                format!(
                    "plugin `{}` cannot be read: {}: {}",
                    self.name,
                    path.display(),
                    std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string)
                ),
                Some(format!("paths are relative to {}", self.origin.file)),
            )),
        }
    }
}

/// Checks the plugin entries of a `kind: Bundle` document. Pure: nothing is read or compiled.
pub(crate) fn declare_all(
    specs: &[crate::model::PluginSpec],
    origin: &crate::load::Origin,
    diags: &mut crate::error::Diagnostics,
) -> Vec<Declared> {
    let mut out: Vec<Declared> = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        let at = |field: &str| format!("/spec/plugins/{index}{field}");
        if out.iter().any(|d| d.name == spec.name) {
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
        out.push(Declared {
            name: spec.name.clone(),
            path: spec.path.clone(),
            sha256: spec.sha256.to_ascii_lowercase(),
            fuel: limits.0,
            memory: limits.1,
            output: limits.2,
            origin: origin.clone(),
            index,
            bytes: None,
        });
    }
    out
}

/// Fuel, memory and output bytes a bundle entry sets; `None` leaves the host's default.
type Asked = (Option<u64>, Option<u64>, Option<u64>);

/// The limits a bundle entry sets; an error names the field.
fn limits(spec: &crate::model::PluginLimits) -> Result<Asked, (&'static str, String)> {
    if spec.fuel == Some(0) {
        return Err(("fuel", "fuel must be positive".into()));
    }
    let bytes = |field: &'static str, v: &serde_json::Value| {
        crate::k8s::quantity(v)
            .filter(|q| *q >= 1.0)
            .map(|q| q as u64)
            .ok_or((field, format!("{v} is not a quantity of bytes such as `64Mi`")))
    };
    let memory = spec.memory.as_ref().map(|m| bytes("memory", m)).transpose()?;
    if let (Some(m), Some(given)) = (memory, &spec.memory) {
        if m > Limits::MAX_MEMORY {
            return Err(("memory", format!("{given} is more than the most a plugin may have, 1Gi")));
        }
    }
    let output = spec.output.as_ref().map(|o| bytes("output", o)).transpose()?;
    Ok((spec.fuel, memory, output))
}

/// Compiles and links the plugins a bundle declares, for one engine: each component from the
/// bytes the builder was given for it, else from what the bundle read beside its Bundle
/// document. Problems are diagnostics at the entry; a cache that cannot be trusted, or an entry
/// recompiled, is a note (the build goes on, compiling).
#[cfg_attr(not(feature = "plugins"), allow(unused_variables, clippy::ptr_arg))]
pub(crate) fn link(
    declared: &[Declared],
    supplied: &std::collections::BTreeMap<String, std::sync::Arc<[u8]>>,
    settings: &PluginHost,
    cache_dir: Option<&std::path::Path>,
    diags: &mut crate::error::Diagnostics,
    notes: &mut Vec<String>,
) -> Plugins {
    #[cfg_attr(not(feature = "plugins"), allow(unused_mut))]
    let mut plugins = Plugins::new();
    let Some(first) = declared.first() else {
        return plugins;
    };
    #[cfg(not(feature = "plugins"))]
    diags.push(first.origin.diagnostic(
        "/spec/plugins",
        "this build of paved has no plugin host",
        Some("build paved with its default `plugins` feature to use WASM plugins".into()),
    ));
    #[cfg(feature = "plugins")]
    {
        let host = match Host::get(settings) {
            Ok(h) => h,
            Err(e) => {
                diags.push(first.origin.diagnostic("/spec/plugins", e, None));
                return plugins;
            }
        };
        let cache = cache_dir.and_then(|dir| Cache::open(dir).map_err(|why| notes.push(why)).ok());
        for d in declared {
            let Some(bytes) = supplied.get(&d.name).or(d.bytes.as_ref()) else {
                diags.push(d.diagnostic(
                    "",
                    format!("plugin `{}` ({}) was not given to the engine", d.name, d.path),
                    Some("load the bundle from its files (`Bundle::from_paths`), or give the component with `EngineBuilder::plugin`".into()),
                ));
                continue;
            };
            let memory = d.memory.unwrap_or(Limits::default().memory);
            if memory > settings.max_memory {
                diags.push(d.diagnostic(
                    "/limits/memory",
                    format!(
                        "plugin `{}` asks for {memory} bytes of memory, more than the host allows ({})",
                        d.name, settings.max_memory
                    ),
                    None,
                ));
                continue;
            }
            let limits = Limits {
                fuel: d.fuel.unwrap_or(settings.fuel),
                memory,
                output: d.output.unwrap_or(Limits::default().output),
            };
            match host::load(&host, &d.name, bytes, Some(&d.sha256), limits, cache.as_ref()) {
                Ok(p) => {
                    if let Source::Replaced(why) = p.source() {
                        notes.push(format!("plugin `{}` was compiled again: {why}", d.name));
                    }
                    plugins.insert(d.name.clone(), std::sync::Arc::new(p));
                }
                Err(e) => {
                    let field = if matches!(e.cause, Cause::DigestMismatch { .. }) { "/sha256" } else { "" };
                    diags.push(d.diagnostic(field, e.to_string(), None));
                }
            }
        }
    }
    plugins
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

/// Compiles one component on its own and says what it is (no pin to check).
#[cfg_attr(not(feature = "plugins"), allow(unused_variables))]
pub(crate) fn inspect(
    name: &str,
    component: &[u8],
    settings: &PluginHost,
    cache_dir: Option<&std::path::Path>,
) -> Result<PluginInfo, crate::Error> {
    #[cfg(not(feature = "plugins"))]
    return Err(crate::Error::Input { reason: "this build of paved has no plugin host".into() });
    #[cfg(feature = "plugins")]
    {
        let host = Host::get(settings).map_err(|reason| crate::Error::Input { reason })?;
        let (cache, refused) = match cache_dir.map(Cache::open) {
            Some(Ok(c)) => (Some(c), None),
            Some(Err(why)) => (None, Some(why)),
            None => (None, None),
        };
        let limits = Limits { fuel: settings.fuel, ..Limits::default() };
        let plugin = host::load(&host, name, component, None, limits, cache.as_ref())
            .map_err(|e| crate::Error::Input { reason: e.to_string() })?;
        let mut info = plugin.info();
        info.name = plugin.metadata().name.clone();
        if info.recompiled.is_none() {
            info.recompiled = refused;
        }
        Ok(info)
    }
}
