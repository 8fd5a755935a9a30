//! The plugin host: one wasmtime engine for the process, a pre-instantiated template per
//! plugin, and a fresh, sandboxed instance for every call.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store, Trap};
use wasmtime_wasi::{Deterministic, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::stderr::Stderr;
use super::{cache, Cause, Limits, Metadata, PluginError, PluginFinding, CHECKER};
use crate::Severity;

mod wit {
    wasmtime::component::bindgen!({ path: "../wit", world: "plugin" });
}

use wit::exports::paved::plugin::checker;

/// Instances that may be alive at once, across all plugins: calls in flight on every thread plus
/// stores waiting to be dropped.
const SLOTS: u32 = 256;
/// Memory the pool keeps mapped per slot between instances, so a fresh instance does not fault
/// its pages in again (the pool zeroes it instead).
const KEEP_RESIDENT: usize = 8 << 20;
/// The bytes randomness cycles through: fixed, so plugins are deterministic.
const SEED: [u8; 32] = *b"paved plugins are deterministic.";
/// Stores waiting for the dropper; beyond this, the caller drops its own.
const DROP_QUEUE: usize = 32;

/// The process's engine and linker, shared by every plugin.
struct Host {
    engine: Engine,
    linker: Linker<State>,
    /// Dropping a store (returning its slot to the pool) takes as long as a small check, so it
    /// happens on another thread, after the answer is out.
    dropper: Option<SyncSender<Store<State>>>,
}

fn host() -> Result<&'static Host, String> {
    static HOST: OnceLock<Result<Host, String>> = OnceLock::new();
    HOST.get_or_init(|| Host::new().map_err(|e| format!("cannot start the WebAssembly engine: {e:#}")))
        .as_ref()
        .map_err(Clone::clone)
}

impl Host {
    fn new() -> wasmtime::Result<Host> {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(SLOTS)
            .total_core_instances(SLOTS * 4)
            .total_memories(SLOTS * 2)
            .total_tables(SLOTS * 4)
            .max_memory_size(Limits::MAX_MEMORY as usize)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(64 << 10);
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .max_wasm_stack(512 << 10)
            .wasm_backtrace_max_frames(None);
        let engine = Engine::new(&config)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let (tx, rx) = mpsc::sync_channel::<Store<State>>(DROP_QUEUE);
        let dropper = std::thread::Builder::new()
            .name("paved-plugin-dropper".into())
            .spawn(move || rx.into_iter().for_each(drop))
            .is_ok()
            .then_some(tx);
        Ok(Host { engine, linker, dropper })
    }

    fn recycle(&self, store: Store<State>) {
        match &self.dropper {
            Some(tx) => match tx.try_send(store) {
                Ok(()) => {}
                Err(TrySendError::Full(store) | TrySendError::Disconnected(store)) => drop(store),
            },
            None => drop(store),
        }
    }
}

/// What one instance owns: its WASI context and the memory limiter.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    memory: MemoryLimit,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Refuses memory growth beyond the plugin's limit, and remembers that it did: a guest that
/// cannot grow usually aborts, and the flag tells that trap apart from others.
struct MemoryLimit {
    limit: u64,
    hit: bool,
}

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = desired as u64 <= self.limit;
        self.hit |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// The wall clock plugins see: the evaluation's instant, always.
struct FixedClock(Duration);

impl HostWallClock for FixedClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

/// The monotonic clock plugins see: it never moves.
struct FrozenClock;

impl HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1
    }
    fn now(&self) -> u64 {
        0
    }
}

/// A loaded plugin: verified, compiled, linked against the sandbox and ready to instantiate.
/// Immutable and shared across threads; every [`check`](Plugin::check) runs in a new instance.
pub struct Plugin {
    template: Template,
    sha256: String,
    metadata: Metadata,
    params: jsonschema::Validator,
    from_cache: bool,
}

/// What a call needs: the pre-instantiated component, its name for errors, and its limits.
struct Template {
    name: String,
    limits: Limits,
    pre: wit::PluginPre<State>,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.template.name)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<Plugin>();
};

/// Options for loading a plugin; see [`Plugin::loader`].
#[derive(Debug, Clone)]
pub struct Loader {
    name: String,
    sha256: Option<String>,
    limits: Limits,
    cache: Option<PathBuf>,
}

impl Loader {
    /// Refuse the plugin unless its sha256 is this (hex).
    pub fn sha256(mut self, sha256: &str) -> Self {
        self.sha256 = Some(sha256.to_ascii_lowercase());
        self
    }

    /// Limits per call.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Where compiled plugins are cached; `None` compiles every time. The default is
    /// [`default_cache_dir`].
    pub fn cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        self.cache = dir;
        self
    }

    /// Loads the component in `path`.
    pub fn file(self, path: &Path) -> Result<Plugin, PluginError> {
        match std::fs::read(path) {
            Ok(bytes) => self.bytes(&bytes),
            Err(e) => {
                Err(PluginError { plugin: self.name, cause: Cause::Unreadable(format!("{}: {e}", path.display())) })
            }
        }
    }

    /// Loads a component from its bytes.
    pub fn bytes(self, bytes: &[u8]) -> Result<Plugin, PluginError> {
        let fail = |cause| PluginError { plugin: self.name.clone(), cause };
        let sha256: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        if let Some(expected) = &self.sha256 {
            if *expected != sha256 {
                return Err(fail(Cause::DigestMismatch { expected: expected.clone(), actual: sha256 }));
            }
        }
        let host = host().map_err(|e| fail(Cause::Unavailable(e)))?;
        let (component, from_cache) = cache::component(&host.engine, bytes, &sha256, self.cache.as_deref())
            .map_err(|e| fail(Cause::NotAComponent(format!("{e:#}"))))?;
        contract(&host.engine, &component).map_err(fail)?;
        let instance =
            host.linker.instantiate_pre(&component).map_err(|e| fail(Cause::Unlinkable(format!("{e:#}"))))?;
        let pre = wit::PluginPre::new(instance).map_err(|e| fail(Cause::Contract(format!("{e:#}"))))?;
        let template = Template { name: self.name.clone(), limits: self.limits, pre };
        // The first call in a process costs about a millisecond more; this one pays it at load.
        let raw = template.call(Timestamp::UNIX_EPOCH, |p, store| p.paved_plugin_checker().call_metadata(store))?;
        let (metadata, params) = read_metadata(raw).map_err(|e| fail(Cause::BadMetadata(e)))?;
        Ok(Plugin { template, sha256, metadata, params, from_cache })
    }
}

/// Whether the component exports this contract's checker, and if not, what it exports instead.
fn contract(engine: &Engine, component: &Component) -> Result<(), Cause> {
    let ty = component.component_type();
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_owned()).collect();
    if exports.iter().any(|e| e == CHECKER) {
        return Ok(());
    }
    let interface = CHECKER.split('@').next().unwrap_or(CHECKER);
    match exports.iter().find(|e| e.split('@').next() == Some(interface)) {
        Some(found) => Err(Cause::ContractMismatch { found: found.clone() }),
        None => Err(Cause::MissingExport { exports }),
    }
}

fn read_metadata(m: checker::PluginMetadata) -> Result<(Metadata, jsonschema::Validator), String> {
    if m.name.trim().is_empty() {
        return Err("its name is empty".into());
    }
    if m.rules.is_empty() {
        return Err("it lists no rules".into());
    }
    let mut ids: Vec<&str> = m.rules.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w.first() == w.get(1)) {
        return Err(format!("rule id `{}` is listed twice", w.first().copied().unwrap_or_default()));
    }
    let schema: Value =
        serde_json::from_str(&m.params_schema).map_err(|e| format!("its params schema is not JSON: {e}"))?;
    let params = jsonschema::draft202012::options()
        .build(&schema)
        .map_err(|e| format!("its params schema is not a JSON Schema: {e}"))?;
    let metadata = Metadata {
        name: m.name,
        version: m.version,
        description: m.description,
        rules: m.rules.into_iter().map(|r| (r.id, r.description)).collect(),
        params_schema: schema,
    };
    Ok((metadata, params))
}

impl Plugin {
    /// Starts loading a plugin that a bundle calls `name` (the name every error uses).
    ///
    /// ```no_run
    /// use paved::plugin::Plugin;
    /// let plugin = Plugin::loader("registry-allowlist")
    ///     .sha256("0f1e...")
    ///     .file("plugins/registry_allowlist.wasm".as_ref())?;
    /// let findings = plugin.check(
    ///     r#"{"kind": "Pod", "spec": {"containers": [{"name": "app", "image": "nginx"}]}}"#,
    ///     r#"{"registries": ["registry.acme.io"]}"#,
    ///     r#"{"namespace": {"name": "shop", "labels": {}}}"#,
    ///     "2026-11-22T00:00:00Z".parse().unwrap(),
    /// )?;
    /// assert_eq!(findings[0].rule, "registry-not-allowed");
    /// # Ok::<(), paved::plugin::PluginError>(())
    /// ```
    pub fn loader(name: &str) -> Loader {
        Loader { name: name.to_owned(), sha256: None, limits: Limits::default(), cache: cache::default_dir() }
    }

    /// The name the bundle gives it.
    pub fn name(&self) -> &str {
        &self.template.name
    }

    /// What the plugin says it is.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// sha256 of the component, hex: what a bundle pins.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Its limits per call.
    pub fn limits(&self) -> Limits {
        self.template.limits
    }

    /// Whether its compiled code came from the on-disk cache rather than a compile.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// Where `params` do not fit the plugin's params schema: `(JSON pointer, what is wrong)`.
    pub fn params_errors(&self, params: &Value) -> Vec<(String, String)> {
        let mut errors: Vec<(String, String)> =
            self.params.iter_errors(params).map(|e| (e.instance_path().to_string(), e.to_string())).collect();
        errors.sort();
        errors
    }

    /// Checks one resource in a fresh instance: `resource`, `params` and `context` are JSON
    /// texts as the contract describes them, `now` is what the plugin's clock reads.
    pub fn check(
        &self,
        resource: &str,
        params: &str,
        context: &str,
        now: Timestamp,
    ) -> Result<Vec<PluginFinding>, PluginError> {
        let answer = self
            .template
            .call(now, |p, store| p.paved_plugin_checker().call_check(store, resource, params, context))?;
        let fail = |cause| PluginError { plugin: self.template.name.clone(), cause };
        let limits = self.template.limits;
        let size = match &answer {
            Ok(findings) => findings.iter().map(|f| f.rule.len() + f.message.len() + f.path.len()).sum(),
            Err(checker::Error::InvalidParams(m) | checker::Error::InvalidResource(m) | checker::Error::Failed(m)) => {
                m.len()
            }
        } as u64;
        if size > limits.output {
            return Err(fail(Cause::OutputTooLarge { size, limit: limits.output }));
        }
        let findings = answer.map_err(|e| {
            fail(match e {
                checker::Error::InvalidParams(message) => Cause::Failed { kind: "invalid-params", message },
                checker::Error::InvalidResource(message) => Cause::Failed { kind: "invalid-resource", message },
                checker::Error::Failed(message) => Cause::Failed { kind: "failed", message },
            })
        })?;
        findings
            .into_iter()
            .map(|f| {
                if !self.metadata.rules.iter().any(|(id, _)| *id == f.rule) {
                    return Err(fail(Cause::Contract(format!(
                        "it reported rule `{}`, which its metadata does not list",
                        f.rule
                    ))));
                }
                if !(f.path.is_empty() || f.path.starts_with('/')) {
                    return Err(fail(Cause::Contract(format!(
                        "finding path `{}` is not a JSON pointer (write `/spec/containers/0`, or `` for the whole resource)",
                        f.path
                    ))));
                }
                Ok(PluginFinding {
                    rule: f.rule,
                    message: f.message,
                    path: f.path,
                    severity: f.severity.map(|s| match s {
                        checker::Severity::Info => Severity::Info,
                        checker::Severity::Low => Severity::Low,
                        checker::Severity::Medium => Severity::Medium,
                        checker::Severity::High => Severity::High,
                        checker::Severity::Critical => Severity::Critical,
                    }),
                })
            })
            .collect()
    }
}

impl Template {
    /// Runs `f` in a fresh, sandboxed instance and turns every way it can fail into a cause.
    fn call<R>(
        &self,
        now: Timestamp,
        f: impl FnOnce(&wit::Plugin, &mut Store<State>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let fail = |cause| PluginError { plugin: self.name.clone(), cause };
        let host = host().map_err(|e| fail(Cause::Unavailable(e)))?;
        let stderr = Stderr::default();
        let since_epoch = Duration::try_from(now.duration_since(Timestamp::UNIX_EPOCH)).unwrap_or_default();
        let wasi = WasiCtxBuilder::new()
            .stderr(stderr.clone())
            .wall_clock(FixedClock(since_epoch))
            .monotonic_clock(FrozenClock)
            .secure_random(Deterministic::new(SEED.to_vec()))
            .insecure_random(Deterministic::new(SEED.to_vec()))
            .insecure_random_seed(0)
            .build();
        let state =
            State { wasi, table: ResourceTable::new(), memory: MemoryLimit { limit: self.limits.memory, hit: false } };
        let mut store = Store::new(&host.engine, state);
        store.limiter(|s| &mut s.memory);
        let outcome = store
            .set_fuel(self.limits.fuel)
            .and_then(|()| self.pre.instantiate(&mut store))
            .and_then(|instance| f(&instance, &mut store));
        let memory_hit = store.data().memory.hit;
        host.recycle(store);
        outcome.map_err(|e| {
            fail(if memory_hit {
                Cause::MemoryLimit { limit: self.limits.memory }
            } else {
                match e.downcast_ref::<Trap>() {
                    Some(Trap::OutOfFuel) => Cause::OutOfFuel { limit: self.limits.fuel },
                    Some(trap) => Cause::Trap { trap: trap.to_string(), stderr: stderr.text() },
                    None if format!("{e:#}").contains("pooling allocator") => Cause::Unavailable(format!("{e:#}")),
                    None => Cause::Trap { trap: format!("{e:#}"), stderr: stderr.text() },
                }
            })
        })
    }
}
