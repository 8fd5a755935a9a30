//! The plugin host: one wasmtime engine for the process, a pre-instantiated template per
//! plugin, and a fresh, sandboxed instance for every call.

use std::fmt;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Value;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolConcurrencyLimitError, PoolingAllocationConfig, ResourceLimiter,
    Store, Trap, UpdateDeadline,
};
use wasmtime_wasi::{Deterministic, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::cache::{Cache, Source};
use super::interface::{Cause, Limits, Metadata, PluginError, PluginFinding, PluginHost, PluginInfo, CHECKER};
use super::stderr::Stderr;
use crate::cel::Budget;
use crate::Severity;

mod wit {
    wasmtime::component::bindgen!({ path: "../wit", world: "plugin" });
}

use wit::exports::paved::plugin::checker;

/// Memory the pool keeps mapped per slot between instances, so a fresh instance does not fault
/// its pages in again (the pool zeroes it instead).
const KEEP_RESIDENT: usize = 8 << 20;
/// The bytes randomness cycles through: fixed, so plugins are deterministic.
const SEED: [u8; 32] = *b"paved plugins are deterministic.";
/// Stores waiting for the dropper; beyond this, the caller drops its own.
const DROP_QUEUE: usize = 32;
/// How often the clock ticks that deadlines and stopped budgets are checked on.
const TICK: Duration = Duration::from_millis(5);

/// A wasmtime engine and linker configured by one [`PluginHost`], shared by every plugin an
/// engine with those settings links. A failure to start one is an error of the build that asked
/// for it, never remembered.
pub(crate) struct Host {
    settings: PluginHost,
    engine: Engine,
    linker: Linker<State>,
    /// Dropping a store (returning its slot to the pool) takes as long as a small check, so it
    /// happens on another thread, after the answer is out.
    dropper: Option<SyncSender<Store<State>>>,
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Host {
    /// The host with these settings, started on first use. A started host is kept for the
    /// process (starting one reserves the instance pool and costs milliseconds, and an engine
    /// rebuilt on a bundle reload should not pay it again); a host that fails to start is not
    /// remembered, so the next build tries again.
    pub(crate) fn get(settings: &PluginHost) -> Result<Arc<Host>, String> {
        static HOSTS: Mutex<Vec<Arc<Host>>> = Mutex::new(Vec::new());
        let mut hosts = HOSTS.lock().map_err(|_| "the plugin host registry is poisoned".to_owned())?;
        if let Some(h) = hosts.iter().find(|h| h.settings == *settings) {
            return Ok(Arc::clone(h));
        }
        let host = Arc::new(Host::new(settings).map_err(|e| format!("cannot start the WebAssembly engine: {e:#}"))?);
        hosts.push(Arc::clone(&host));
        Ok(host)
    }

    fn new(settings: &PluginHost) -> wasmtime::Result<Host> {
        let slots = settings.instances.max(1);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(slots)
            .total_core_instances(slots.saturating_mul(4))
            .total_memories(slots.saturating_mul(2))
            .total_tables(slots.saturating_mul(4))
            .max_memory_size(usize::try_from(settings.max_memory).unwrap_or(usize::MAX))
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(64 << 10);
        let mut config = Config::new();
        config
            .consume_fuel(true)
            .epoch_interruption(true)
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
        // The clock deadlines and stopped budgets are checked on: it ticks while the engine lives.
        let clock = engine.weak();
        std::thread::Builder::new()
            .name("paved-plugin-deadline".into())
            .spawn(move || loop {
                std::thread::sleep(TICK);
                match clock.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            })
            .map_err(|e| wasmtime::Error::msg(format!("cannot start the deadline clock: {e}")))?;
        Ok(Host { settings: settings.clone(), engine, linker, dropper })
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

/// What one instance owns: its WASI context, the memory limiter, and what its clock checks.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    memory: MemoryLimit,
    /// The evaluation's budget, whose stop flag each tick reads.
    budget: Option<Budget>,
    /// Ticks until the host's deadline; `None`: no deadline.
    ticks_left: Option<u64>,
    /// Whether the call was interrupted because its budget was stopped.
    stopped: bool,
}

/// What the clock does at each tick of a call: interrupt it if its evaluation was stopped or
/// its deadline passed, or let it run one more tick.
fn tick(state: &mut State) -> UpdateDeadline {
    if state.budget.as_ref().is_some_and(Budget::is_stopped) {
        state.stopped = true;
        return UpdateDeadline::Interrupt;
    }
    match &mut state.ticks_left {
        Some(0) => UpdateDeadline::Interrupt,
        Some(n) => {
            *n -= 1;
            UpdateDeadline::Continue(1)
        }
        None => UpdateDeadline::Continue(1),
    }
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
pub(crate) struct Plugin {
    template: Template,
    sha256: String,
    metadata: Metadata,
    params: jsonschema::Validator,
    source: Source,
}

/// What a call needs: the host, the pre-instantiated component, its name for errors, its limits.
struct Template {
    host: Arc<Host>,
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

/// Compiles and links one component: `sha256`, when given, must be its digest; `cache`, when
/// given, holds compiled code this paved wrote and verified.
pub(crate) fn load(
    host: &Arc<Host>,
    name: &str,
    bytes: &[u8],
    sha256: Option<&str>,
    limits: Limits,
    cache: Option<&Cache>,
) -> Result<Plugin, PluginError> {
    let span = tracing::info_span!("plugin.load", plugin = name);
    let _enter = span.enter();
    let fail = |cause| PluginError { plugin: name.to_owned(), cause };
    let digest: [u8; 32] = Sha256::digest(bytes).into();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(expected) = sha256 {
        if !expected.eq_ignore_ascii_case(&hex) {
            return Err(fail(Cause::DigestMismatch { expected: expected.to_ascii_lowercase(), actual: hex }));
        }
    }
    let (component, source) = match cache {
        Some(cache) => cache.component(&host.engine, bytes, &digest),
        None => Component::new(&host.engine, bytes).map(|c| (c, Source::Compiled)),
    }
    .map_err(|e| fail(Cause::NotAComponent(format!("{e:#}"))))?;
    tracing::info!(plugin = name, source = ?source, "compiled");
    contract(&host.engine, &component).map_err(fail)?;
    let instance = host.linker.instantiate_pre(&component).map_err(|e| fail(Cause::Unlinkable(format!("{e:#}"))))?;
    let pre = wit::PluginPre::new(instance).map_err(|e| fail(Cause::Contract(format!("{e:#}"))))?;
    let template = Template { host: Arc::clone(host), name: name.to_owned(), limits, pre };
    // The first call in a process costs about a millisecond more; this one pays it at load.
    let raw = template.call(Timestamp::UNIX_EPOCH, None, |p, store| p.paved_plugin_checker().call_metadata(store))?;
    let (metadata, params) = read_metadata(raw).map_err(|e| fail(Cause::BadMetadata(e)))?;
    Ok(Plugin { template, sha256: hex, metadata, params, source })
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
    /// The name the bundle gives it.
    pub(crate) fn name(&self) -> &str {
        &self.template.name
    }

    /// What the plugin says it is.
    pub(crate) fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Where its compiled code came from: a compile, the cache, or a compile that replaced a
    /// cache entry it could not trust.
    pub(crate) fn source(&self) -> &Source {
        &self.source
    }

    /// What the plugin is, for listings.
    pub(crate) fn info(&self) -> PluginInfo {
        let m = &self.metadata;
        PluginInfo {
            name: self.template.name.clone(),
            version: m.version.clone(),
            description: m.description.clone(),
            rules: m.rules.clone(),
            params_schema: m.params_schema.clone(),
            sha256: self.sha256.clone(),
            from_cache: self.source == Source::Cached,
            recompiled: match &self.source {
                Source::Replaced(why) => Some(why.clone()),
                _ => None,
            },
            contract: CHECKER,
            limits: (self.template.limits.fuel, self.template.limits.memory, self.template.limits.output),
        }
    }

    /// The JSON Schema of its params.
    pub(crate) fn params_schema(&self) -> &Value {
        &self.metadata.params_schema
    }

    /// Where `params` do not fit the plugin's params schema: `(JSON pointer, what is wrong)`.
    pub(crate) fn params_errors(&self, params: &Value) -> Vec<(String, String)> {
        let mut errors: Vec<(String, String)> =
            self.params.iter_errors(params).map(|e| (e.instance_path().to_string(), e.to_string())).collect();
        errors.sort();
        errors
    }

    /// Checks one resource in a fresh instance: `resource`, `params` and `context` are JSON
    /// texts as the contract describes them, `now` is what the plugin's clock reads, `budget`
    /// the evaluation's (its stop flag and plugin fuel).
    pub(crate) fn check(
        &self,
        resource: &str,
        params: &str,
        context: &str,
        now: Timestamp,
        budget: Option<&Budget>,
    ) -> Result<Vec<PluginFinding>, PluginError> {
        let answer = self
            .template
            .call(now, budget, |p, store| p.paved_plugin_checker().call_check(store, resource, params, context))?;
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
    /// The call gets the plugin's own fuel, or what `budget` has left if that is less.
    fn call<R>(
        &self,
        now: Timestamp,
        budget: Option<&Budget>,
        f: impl FnOnce(&wit::Plugin, &mut Store<State>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let fail = |cause| PluginError { plugin: self.name.clone(), cause };
        if budget.is_some_and(Budget::is_stopped) {
            return Err(fail(Cause::Stopped));
        }
        let left = budget.and_then(Budget::fuel_left);
        let fuel = left.map_or(self.limits.fuel, |left| left.min(self.limits.fuel));
        if fuel == 0 {
            return Err(fail(Cause::BudgetSpent { left: 0 }));
        }
        let host = &self.host;
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
        let ticks_left =
            host.settings.deadline.map(|d| u64::try_from(d.as_millis() / TICK.as_millis()).unwrap_or(u64::MAX));
        let state = State {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryLimit { limit: self.limits.memory, hit: false },
            budget: budget.cloned(),
            ticks_left,
            stopped: false,
        };
        let mut store = Store::new(&host.engine, state);
        store.limiter(|s| &mut s.memory);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut store| Ok(tick(store.data_mut())));
        let outcome = store
            .set_fuel(fuel)
            .and_then(|()| self.pre.instantiate(&mut store))
            .and_then(|instance| f(&instance, &mut store));
        let (memory_hit, stopped) = (store.data().memory.hit, store.data().stopped);
        let burnt = fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        if let Some(budget) = budget {
            budget.burn(burnt);
        }
        tracing::debug!(plugin = %self.name, fuel = burnt, ok = outcome.is_ok(), "plugin call");
        host.recycle(store);
        outcome.map_err(|e| {
            fail(if memory_hit {
                Cause::MemoryLimit { limit: self.limits.memory }
            } else {
                match e.downcast_ref::<Trap>() {
                    Some(Trap::OutOfFuel) if fuel < self.limits.fuel => Cause::BudgetSpent { left: fuel },
                    Some(Trap::OutOfFuel) => Cause::OutOfFuel { limit: self.limits.fuel },
                    Some(Trap::Interrupt) if stopped => Cause::Stopped,
                    Some(Trap::Interrupt) => Cause::Deadline { limit: host.settings.deadline.unwrap_or_default() },
                    Some(trap) => Cause::Trap { trap: trap.to_string(), stderr: stderr.text() },
                    None if e.downcast_ref::<PoolConcurrencyLimitError>().is_some() => {
                        Cause::Unavailable(format!("{e:#}"))
                    }
                    None => Cause::Trap { trap: format!("{e:#}"), stderr: stderr.text() },
                }
            })
        })
    }
}
