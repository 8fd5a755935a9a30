//! WebAssembly plugins: organisation-specific checks, sandboxed.
//!
//! A plugin is a WebAssembly component that exports the contract in `wit/plugin.wit`
//! ([`CONTRACT`](interface::CONTRACT)). A bundle lists the plugins it uses, each with its sha256 and its limits; a
//! policy rule runs one with `plugin: NAME` and `params`. Every failure of a plugin is a
//! [`PluginError`](interface::PluginError) that names the plugin and the cause; the engine turns it into a finding
//! according to the policy's failure policy, and every other rule still runs.
//!
//! The host lives behind the default cargo feature `plugins`. Without it, paved builds without
//! wasmtime, and a bundle that lists plugins does not load.

// Without the host, the contract's types are still compiled (they describe plugins), unused.
#![cfg_attr(not(feature = "plugins"), allow(dead_code))]

#[cfg(feature = "plugins")]
mod cache;
#[cfg(feature = "plugins")]
mod host;
mod interface;
#[cfg(feature = "plugins")]
mod stderr;

#[cfg(feature = "plugins")]
pub(crate) use cache::{Cache, Source};
#[cfg(feature = "plugins")]
pub(crate) use host::{Host, Plugin};
#[cfg(feature = "plugins")]
pub(crate) use interface::Cause;
pub(crate) use interface::Limits;
pub use interface::{contract, PluginHost, PluginInfo};

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
    pub(crate) fn diagnostic(&self, field: &str, message: String, help: Option<String>) -> crate::error::Diagnostic {
        self.origin.diagnostic(&format!("/spec/plugins/{}{field}", self.index), message, help)
    }

    /// Reads the component from beside the Bundle document: the one place loading touches a
    /// plugin file, called only by [`Bundle::from_paths`](crate::Bundle::from_paths).
    pub(crate) fn read(&mut self) -> Result<(), crate::error::Diagnostic> {
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
