//! paved's admission webhook: the engine `paved check` runs, answering `admission.k8s.io/v1`
//! AdmissionReviews over HTTPS at `POST /validate` (the verdict) and `POST /mutate` (the
//! mutations, as a JSON Patch).
//!
//! - The engine is built by a loader the caller gives (the CLI builds it from the same flags as
//!   `paved check`), and rebuilt when the files it was built from change. A new engine replaces the
//!   old one whole, between requests; one that does not load is logged and counted, and the old
//!   one keeps serving.
//! - Every request is judged at the instant it arrives, with the labels of its namespace (from
//!   files, or watched in the cluster), within a deadline. What cannot be judged is denied unless
//!   every policy that may apply sets `failurePolicy: Ignore`.
//! - `/healthz`, `/readyz` and `/metrics` (Prometheus text) serve operations.

pub mod audit;
mod bounds;
pub mod client;
mod cluster;
mod http;
mod inventory;
mod metrics;
mod tls;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use paved::{Context, Engine};

use tokio::sync::watch;

pub use cluster::Namespaces;
pub use http::parse_duration;
pub use tls::{generate, Generated, Tls};

/// A problem that stops the server from starting, or a reload from taking effect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Problem(pub String);

/// What the loader builds: the engine (with its params) and the namespace labels read from
/// files.
pub struct Loaded {
    /// The compiled engine.
    pub engine: Engine,
    /// Namespace labels by namespace, for namespaces the cluster does not tell of.
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// The golden paths (with the exceptions) an audit measures drift against; `None` for none.
    pub golden: Option<paved::Bundle>,
}

/// Builds the engine from its sources; called at start and on every change of [`Config::watch`].
pub type Loader = Arc<dyn Fn() -> Result<Loaded, paved::Error> + Send + Sync>;

/// A fingerprint of what the engine is loaded from beyond files (the digests `oci://` tags name
/// now); a change reloads the engine.
pub type Fingerprint = Arc<dyn Fn() -> Vec<u8> + Send + Sync>;

/// Verifies the images `verifyImages` rules ask about (the registry is asked outside the engine);
/// called on the request's blocking thread, within its deadline.
pub type ImageVerifier = Arc<dyn Fn(&[paved::ImageRequest]) -> paved::ImageVerdicts + Send + Sync>;

/// How the server runs.
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The serving certificate.
    pub tls: Tls,
    /// Builds the engine.
    pub load: Loader,
    /// Files and directories the engine is built from; a change to any of them reloads it.
    pub watch: Vec<PathBuf>,
    /// What else the engine is built from, looked at every given interval (a registry is asked
    /// less often than a file is read); a change reloads it.
    pub remote: Option<(Fingerprint, Duration)>,
    /// What verifies images for `verifyImages` rules; without it, their images have no verdict
    /// and the rules fail closed.
    pub images: Option<ImageVerifier>,
    /// Where namespace labels come from besides the loader's context.
    pub namespaces: Namespaces,
    /// Whether to keep, from the cluster of `namespaces`, the kinds the policies read through
    /// `inventory`, so admission judges with the objects `paved check --inventory` would.
    pub inventory: bool,
    /// Whether to audit the cluster of `namespaces` and keep its reports current (with the
    /// inventory kept as `inventory` keeps it), and how.
    pub audit: Option<audit::AuditConfig>,
    /// The largest request body accepted (the API server's own limit on an object is 3 MiB;
    /// a review of an UPDATE carries two).
    pub max_body: usize,
    /// The longest any evaluation may take; a request's own `?timeout=` (the webhook
    /// configuration's `timeoutSeconds`) shortens it, less a margin for the way back.
    pub deadline: Duration,
    /// How often the watched files and the certificate are looked at.
    pub poll: Duration,
    /// How long a shutdown waits for requests in flight; the evaluations still running then are
    /// stopped.
    pub drain: Duration,
    /// The most evaluations running at once; a request beyond it is answered at once, as its
    /// failure policy says of a request that could not be judged.
    pub max_in_flight: usize,
    /// The most connections open at once; one beyond it is closed as it is accepted.
    pub max_connections: usize,
    /// How long a client may take over its TLS handshake, a request's headers (HTTP/1.1 and
    /// HTTP/2 alike) or its body; a connection that sends no request this long after it opens is
    /// closed.
    pub read_timeout: Duration,
    /// How long a connection may stay open with no request after its last answer.
    pub keep_alive: Duration,
}

impl Config {
    /// A configuration with the defaults: 7 MiB bodies, a 9 s deadline, a 2 s poll, a 25 s drain,
    /// four evaluations in flight per core, 1,024 connections, 10 s to read a request and 60 s
    /// of keep-alive.
    pub fn new(listen: SocketAddr, tls: Tls, load: Loader) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Config {
            listen,
            tls,
            load,
            watch: Vec::new(),
            remote: None,
            images: None,
            namespaces: Namespaces::Files,
            inventory: false,
            audit: None,
            max_body: 7 << 20,
            deadline: Duration::from_secs(9),
            poll: Duration::from_secs(2),
            drain: Duration::from_secs(25),
            max_in_flight: 4 * cores,
            max_connections: 1024,
            read_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(60),
        }
    }
}

/// What requests share: the serving engine (swapped whole on reload), the cluster's namespace
/// labels, the metrics.
pub(crate) struct State {
    loaded: RwLock<Arc<Loaded>>,
    pub(crate) labels: cluster::Labels,
    /// The cluster, when watched, and the inventory kept from it (for the serving engine).
    client: Option<kube::Client>,
    inventory: RwLock<Option<Arc<inventory::Watched>>>,
    pub(crate) metrics: metrics::Metrics,
    pub(crate) max_body: usize,
    pub(crate) deadline: Duration,
    draining: AtomicBool,
    /// The evaluations running, each with the budget that stops it.
    pub(crate) running: bounds::Running,
    pub(crate) limits: bounds::Limits,
    /// The rate of denial and warning lines.
    pub(crate) lines: bounds::Lines,
    /// What verifies images for `verifyImages` rules.
    pub(crate) images: Option<ImageVerifier>,
}

impl State {
    /// The engine serving now; a request holds it to its end, whatever reloads meanwhile.
    pub(crate) fn current(&self) -> Arc<Loaded> {
        match self.loaded.read() {
            Ok(l) => Arc::clone(&l),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn replace(&self, loaded: Loaded) {
        self.metrics.policies.set(i64::try_from(loaded.engine.policy_names().count()).unwrap_or(i64::MAX));
        match self.loaded.write() {
            Ok(mut l) => *l = Arc::new(loaded),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(loaded),
        }
    }

    /// Why the server should not be sent requests yet, if it should not.
    pub(crate) fn not_ready(&self) -> Option<String> {
        if self.draining.load(Ordering::Relaxed) {
            return Some("the server is stopping".into());
        }
        if !self.labels.synced() {
            return Some("the namespace cache is syncing".into());
        }
        let pending = self.watched().map(|w| w.pending()).unwrap_or_default();
        (!pending.is_empty()).then(|| format!("the inventory has not listed {}", pending.join(", ")))
    }

    pub(crate) fn watched(&self) -> Option<Arc<inventory::Watched>> {
        self.inventory.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// A watch of what `engine` reads through the inventory, when the server keeps it and the
    /// watch in force keeps other kinds; `None` when there is nothing to change.
    async fn watch_for(&self, engine: &Engine) -> Option<Arc<inventory::Watched>> {
        let client = self.client.as_ref()?;
        let needs = engine.inventory_needs();
        if self.watched().is_some_and(|w| w.needs == needs) {
            return None;
        }
        if !needs.unknown.is_empty() {
            tracing::warn!(policies = ?needs.unknown, "these policies read inventory kinds known only as they run: they are judged without them");
        }
        tracing::info!(kinds = ?needs.kinds, resources = ?needs.resources, "keeping the inventory");
        Some(Arc::new(inventory::Watched::start(client, needs, &self.metrics.inventory).await))
    }

    /// Puts a reloaded engine in force with the watch of what it reads (once that has listed, up
    /// to a minute), so no request is judged by the new engine with the old inventory.
    async fn reload(&self, loaded: Loaded) {
        let watched = self.watch_for(&loaded.engine).await;
        if let Some(w) = &watched {
            w.listed(Duration::from_secs(60)).await;
        }
        self.replace(loaded);
        if let Some(w) = watched {
            *self.inventory.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(w);
        }
    }

    /// The context a request to `namespace` is judged in: now, with the namespace's labels (the
    /// cluster's, when watched).
    pub(crate) fn context(&self, loaded: &Loaded, namespace: &str) -> Context {
        let mut ctx = Context::at(jiff::Timestamp::now());
        if !namespace.is_empty() {
            let ns = namespace;
            let labels = self.labels.get(ns).or_else(|| loaded.namespaces.get(ns).cloned());
            ctx.namespaces = BTreeMap::from([(ns.to_owned(), labels.unwrap_or_default())]);
        }
        ctx.inventory = self.watched().map(|w| w.current());
        ctx
    }
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    done: tokio::task::JoinHandle<()>,
    state: Arc<State>,
}

impl Server {
    /// Loads the engine and the certificate, binds, starts watching, and serves. A bundle or
    /// certificate that does not load is an error here (the old one cannot keep serving: there
    /// is none).
    pub async fn start(config: Config) -> Result<Server, Problem> {
        // Taken before loading, so a change made while the first load runs is reloaded.
        let (bundle, cert) = (fingerprint(&config.watch), fingerprint(&config.tls.files()));
        let load = Arc::clone(&config.load);
        let loaded = tokio::task::spawn_blocking(move || load())
            .await
            .map_err(|e| Problem(format!("loading the bundle failed: {e}")))?
            .map_err(|e| Problem(format!("the bundle does not load:\n{e}")))?;
        // Remote sources are known once loaded (a bundle names its packs and plugins).
        let remote = match config.remote.as_ref().map(|(f, _)| Arc::clone(f)) {
            Some(f) => tokio::task::spawn_blocking(move || f()).await.unwrap_or_default(),
            None => Vec::new(),
        };
        let seen = Seen { bundle, cert, remote };
        let resolver = Arc::new(tls::Resolver::new(tls::load(&config.tls)?));
        let tls_config = tls::server_config(Arc::clone(&resolver))?;
        let client = cluster::connect(&config.namespaces).await?;
        let watches = config.inventory || config.audit.is_some();
        if watches && client.is_none() {
            return Err(Problem(
                "keeping the inventory or auditing needs the cluster: watch it (--watch-namespaces)".into(),
            ));
        }
        let labels = cluster::Labels::start(client.as_ref());
        let metrics = metrics::Metrics::new();
        metrics.policies.set(i64::try_from(loaded.engine.policy_names().count()).unwrap_or(i64::MAX));
        let running = bounds::Running::new(config.max_in_flight, metrics.running.clone());
        let state = Arc::new(State {
            loaded: RwLock::new(Arc::new(loaded)),
            labels,
            client: client.clone().filter(|_| watches),
            inventory: RwLock::new(None),
            metrics,
            max_body: config.max_body,
            deadline: config.deadline,
            draining: AtomicBool::new(false),
            running,
            lines: bounds::Lines::new(),
            images: config.images.clone(),
            limits: bounds::Limits {
                drain: config.drain,
                max_connections: config.max_connections,
                read_timeout: config.read_timeout,
                keep_alive: config.keep_alive,
            },
        });
        let watched = state.watch_for(&state.current().engine).await;
        *state.inventory.write().unwrap_or_else(std::sync::PoisonError::into_inner) = watched;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| Problem(format!("cannot listen on {}: {e}", config.listen)))?;
        let addr = listener.local_addr().map_err(|e| Problem(e.to_string()))?;
        let (stop, stopped) = watch::channel(false);
        let files = Files {
            load: config.load,
            watch: config.watch,
            remote: config.remote,
            tls: config.tls,
            resolver,
            poll: config.poll,
            seen,
        };
        // SIGHUP is handled from before the server says it serves: one sent then is not lost
        // (nor, unhandled, fatal).
        tokio::spawn(watch_files(Arc::clone(&state), files, hangups(), stopped.clone()));
        if let (Some(audit), Some(client)) = (config.audit, client) {
            audit::live::spawn(Arc::clone(&state), client, audit, stopped.clone());
        }
        let done = tokio::spawn(http::serve(listener, tls_config, Arc::clone(&state), stopped));
        tracing::info!(%addr, "serving");
        Ok(Server { addr, stop, done, state })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, answers what is in flight (up to the drain time), and
    /// returns when every connection is closed.
    pub async fn shutdown(self) {
        self.state.draining.store(true, Ordering::Relaxed);
        let _ = self.stop.send(true);
        let _ = self.done.await;
    }
}

/// The fingerprints of what the serving engine and certificate were loaded from.
struct Seen {
    bundle: [u8; 32],
    cert: [u8; 32],
    remote: Vec<u8>,
}

/// What the engine and the certificate are loaded from, and how often to look at it.
struct Files {
    load: Loader,
    watch: Vec<PathBuf>,
    remote: Option<(Fingerprint, Duration)>,
    tls: Tls,
    resolver: Arc<tls::Resolver>,
    poll: Duration,
    seen: Seen,
}

/// Looks at the watched files and the certificate every `poll`, and at the remote sources every
/// interval of theirs or at once on SIGHUP (told a tag moved); reloads what changed.
async fn watch_files(state: Arc<State>, files: Files, mut hangups: Hangups, mut stopped: watch::Receiver<bool>) {
    let Files { load, watch, remote, tls, resolver, poll, seen } = files;
    let Seen { mut bundle, mut cert, remote: mut remote_seen } = seen;
    let cert_files = tls.files();
    let mut asked = tokio::time::Instant::now();
    loop {
        let mut told = false;
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = next_hangup(&mut hangups) => told = true,
            _ = stopped.changed() => return,
        }
        let mut changed = false;
        if let Some((remote, _)) = remote.as_ref().filter(|(_, every)| told || asked.elapsed() >= *every) {
            asked = tokio::time::Instant::now();
            let remote = Arc::clone(remote);
            if let Ok(now) = tokio::task::spawn_blocking(move || remote()).await {
                changed = now != remote_seen;
                remote_seen = now;
            }
        }
        let now = fingerprint(&watch);
        if now != bundle || changed {
            bundle = now;
            let load = Arc::clone(&load);
            match tokio::task::spawn_blocking(move || load()).await {
                Ok(Ok(loaded)) => {
                    state.reload(loaded).await;
                    metrics::Metrics::reload(&state.metrics.bundle_reloads, true);
                    tracing::info!("bundle reloaded");
                }
                Ok(Err(e)) => {
                    metrics::Metrics::reload(&state.metrics.bundle_reloads, false);
                    tracing::error!(error = %e, "the changed bundle does not load; the previous one keeps serving");
                }
                Err(e) => {
                    metrics::Metrics::reload(&state.metrics.bundle_reloads, false);
                    tracing::error!(error = %e, "loading the changed bundle failed; the previous one keeps serving");
                }
            }
        }
        let now = fingerprint(&cert_files);
        if now != cert {
            cert = now;
            match tls::load(&tls) {
                Ok(key) => {
                    resolver.set(key);
                    metrics::Metrics::reload(&state.metrics.certificate_reloads, true);
                    tracing::info!("serving certificate reloaded");
                }
                Err(e) => {
                    metrics::Metrics::reload(&state.metrics.certificate_reloads, false);
                    tracing::error!(error = %e, "the changed certificate does not load; the previous one keeps serving");
                }
            }
        }
    }
}

/// SIGHUP, where there is one.
#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = Option<()>;

#[cfg(unix)]
fn hangups() -> Hangups {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}

#[cfg(not(unix))]
fn hangups() -> Hangups {
    None
}

/// The next SIGHUP; never, where there is none.
#[cfg(unix)]
async fn next_hangup(hangups: &mut Option<tokio::signal::unix::Signal>) {
    match hangups {
        Some(h) => {
            h.recv().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Option<()>) {
    std::future::pending().await
}

/// A digest of the names and contents of every file under `paths` (through symlinks, so a
/// ConfigMap's `..data` swap changes it); unreadable entries count by their error.
fn fingerprint(paths: &[PathBuf]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    fn visit(path: &std::path::Path, hash: &mut Sha256, depth: usize) {
        hash.update(path.as_os_str().as_encoded_bytes());
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() && depth < 16 => {
                let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
                    Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
                    Err(e) => return hash.update(e.to_string()),
                };
                entries.sort();
                for e in entries {
                    visit(&e, hash, depth + 1);
                }
            }
            Ok(m) if m.is_file() => match std::fs::read(path) {
                Ok(bytes) => hash.update(&bytes),
                Err(e) => hash.update(e.to_string()),
            },
            Ok(_) => hash.update(b"special"),
            Err(e) => hash.update(e.to_string()),
        }
    }
    let mut hash = Sha256::new();
    for p in paths {
        visit(p, &mut hash, 0);
    }
    hash.finalize().into()
}
