//! The audit in the cluster (`paved serve --audit`): the reports of the shards this replica
//! holds (see `lease`) kept current. A full pass runs when shards are taken over, when the engine
//! is reloaded, every `interval`, when a watch had to list again (what was deleted meanwhile is
//! not missed), and at the next instant a verdict changes by itself (an exception starting or
//! expiring, a golden path version's sunset). In between, a metadata-only watch of each audited
//! kind marks the namespaces where something changed, and those are audited again, alone, once
//! changes settle. The inventory and namespace labels are the webhook's own caches; nothing is
//! audited before they have listed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::DynamicObject;
use kube::runtime::{metadata_watcher, watcher, WatchStreamExt};
use paved::{Context, ReportKind};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio::sync::{watch, Notify};

use super::lease::{shard_of, Held, Leases};
use super::write::Writer;
use super::{pass, Audit, Judge, Served, Within};
use crate::metrics::Kind;
use crate::{Loaded, State};

/// How long changes in a namespace settle before it is audited again.
const SETTLE: Duration = Duration::from_secs(2);

/// How the audit runs in the cluster.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// The reports' kind.
    pub kind: ReportKind,
    /// A report larger than this (as JSON) is split.
    pub max_report_bytes: usize,
    /// Objects asked for in one list request.
    pub page: u32,
    /// How often everything is audited again, besides watches and time.
    pub interval: Duration,
    /// The only resources audited (`plural` or `plural.group`); none: every kind the policies
    /// judge.
    pub resources: Vec<String>,
    /// How many shards the namespaces are cut into.
    pub shards: u32,
    /// How long a Lease holds without renewal.
    pub lease_duration: Duration,
    /// This replica's name in the Leases (the pod's name).
    pub identity: String,
    /// The namespace the Leases live in.
    pub lease_namespace: String,
}

/// Starts the lease loop and the audit loop; both end when `stopped` changes.
pub(crate) fn spawn(state: Arc<State>, client: kube::Client, config: AuditConfig, stopped: watch::Receiver<bool>) {
    let (held_tx, held) = watch::channel(Held::new());
    let mut leases =
        Leases::new(&client, &config.lease_namespace, &config.identity, config.lease_duration, config.shards);
    let (mut stop, period, metrics) = (stopped.clone(), config.lease_duration / 3, Arc::clone(&state));
    tokio::spawn(async move {
        loop {
            match leases.tick().await {
                Ok(h) => {
                    metrics.metrics.audit.shards.set(i64::try_from(h.len()).unwrap_or(0));
                    // The audit loop is woken only when the shards change, not at every renewal.
                    held_tx.send_if_modified(|old| {
                        let changed = !old.keys().eq(h.keys());
                        *old = h;
                        changed
                    });
                }
                Err(e) => {
                    metrics.metrics.audit.error("lease");
                    tracing::warn!(error = %e, "renewing the audit leases; the shards are not written until it succeeds");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = stop.changed() => {
                    held_tx.send_replace(Held::new());
                    leases.release_all().await;
                    return;
                }
            }
        }
    });
    tokio::spawn(Auditor::new(state, client, config).run(held, stopped));
}

/// The audit loop's state.
struct Auditor {
    state: Arc<State>,
    client: kube::Client,
    config: AuditConfig,
    writer: Writer,
    /// Namespaces changed since they were last audited, and whether a watch listed again.
    dirty: Arc<Dirty>,
    /// The watches of the audited kinds.
    watches: Option<tokio::task::JoinHandle<()>>,
    /// The services whose drift is exported, by namespace.
    services: BTreeMap<String, BTreeMap<crate::metrics::Service, bool>>,
}

#[derive(Default)]
struct Dirty {
    namespaces: Mutex<BTreeSet<String>>,
    relisted: std::sync::atomic::AtomicBool,
    changed: Notify,
}

impl Auditor {
    fn new(state: Arc<State>, client: kube::Client, config: AuditConfig) -> Auditor {
        let writer = Writer::new(&client, config.kind);
        Auditor { state, client, config, writer, dirty: Arc::default(), watches: None, services: BTreeMap::new() }
    }

    async fn run(mut self, mut held: watch::Receiver<Held>, mut stopped: watch::Receiver<bool>) {
        let mut had = BTreeSet::new();
        let mut engine: Option<Arc<Loaded>> = None;
        let mut next_full = Instant::now();
        let mut at: Option<jiff::Timestamp> = None;
        // After a failure, the wait before trying again: doubled each time, up to a minute.
        let mut retry = Duration::from_secs(1);
        loop {
            if held.borrow().is_empty() {
                had.clear();
                tokio::select! {
                    _ = held.changed() => continue,
                    _ = stopped.changed() => return,
                }
            }
            let now = Instant::now();
            let until_time = at.map_or(Duration::MAX, duration_until);
            let wait = next_full.saturating_duration_since(now).min(until_time).min(Duration::from_secs(3600));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = held.changed() => {}
                _ = self.dirty.changed.notified() => tokio::time::sleep(SETTLE).await,
                _ = stopped.changed() => return,
            }
            // Judged with a partial inventory or without the namespaces' labels, the first pass
            // would report what the next one takes back.
            if let Some(why) = self.state.not_ready() {
                tracing::debug!(reason = %why, "the audit waits");
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
            let shards: BTreeSet<u32> = held.borrow().keys().copied().collect();
            let loaded = self.state.current();
            let gained = !shards.is_subset(&had);
            let reloaded = engine.as_ref().is_none_or(|e| !Arc::ptr_eq(e, &loaded));
            if reloaded {
                self.watch(&loaded);
                engine = Some(Arc::clone(&loaded));
            }
            let relisted = self.dirty.relisted.swap(false, std::sync::atomic::Ordering::Relaxed);
            let timed = at.is_some_and(|t| t <= jiff::Timestamp::now());
            let ready = match Served::discover(&self.client, &self.config.resources).await {
                Err(e) => Err(e.0),
                Ok(served) if gained => self.writer.seed().await.map(|()| served),
                Ok(served) => Ok(served),
            };
            let served = match ready {
                Ok(s) => s,
                Err(e) => {
                    self.state.metrics.audit.error("list");
                    tracing::error!(error = %e, retry_in = ?retry, "cannot audit; trying again");
                    next_full = Instant::now() + retry;
                    retry = (retry * 2).min(Duration::from_secs(60));
                    continue;
                }
            };
            retry = Duration::from_secs(1);
            if gained || reloaded || relisted || timed || Instant::now() >= next_full {
                self.take_dirty();
                self.full(&loaded, &served, &held).await;
                next_full = Instant::now() + self.config.interval;
                let now = jiff::Timestamp::now();
                let golden = loaded.golden.as_ref().and_then(|g| g.next_change(now));
                at = [loaded.engine.next_change(now), golden].into_iter().flatten().min();
            } else {
                for namespace in self.take_dirty() {
                    if held.borrow().contains_key(&shard_of(&namespace, self.config.shards)) {
                        self.namespace(&loaded, &served, &held, &namespace).await;
                    }
                }
            }
            had = shards;
        }
    }

    fn take_dirty(&self) -> BTreeSet<String> {
        std::mem::take(&mut *self.dirty.namespaces.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Audits everything in the shards held.
    async fn full(&mut self, loaded: &Loaded, served: &Served, held: &watch::Receiver<Held>) {
        let shards = self.config.shards;
        let mine: BTreeSet<u32> = held.borrow().keys().copied().collect();
        let keep = move |ns: &str| mine.contains(&shard_of(ns, shards));
        self.audit(loaded, served, held, Within { namespace: None, keep: &keep }, "full").await;
    }

    /// Audits one namespace (empty: the cluster-scoped objects) again.
    async fn namespace(&mut self, loaded: &Loaded, served: &Served, held: &watch::Receiver<Held>, namespace: &str) {
        let keep = |ns: &str| ns == namespace;
        self.audit(loaded, served, held, Within { namespace: Some(namespace), keep: &keep }, "namespace").await;
    }

    async fn audit(
        &mut self,
        loaded: &Loaded,
        served: &Served,
        held: &watch::Receiver<Held>,
        within: Within<'_>,
        what: &str,
    ) {
        let started = Instant::now();
        let judge = Judge { engine: &loaded.engine, golden: loaded.golden.as_ref() };
        let mut ctx = Context::at(jiff::Timestamp::now());
        ctx.namespaces = self.state.labels.all();
        ctx.inventory = self.state.watched().map(|w| w.current());
        let mut audit = pass(&self.client, served, judge, &ctx, self.config.page, within, &|_, _| {}).await;
        audit.unreadable.extend(served.unknown());
        for (kind, why) in &audit.unreadable {
            self.state.metrics.audit.error("list");
            tracing::error!(kind = %kind, error = %why, "cannot list for the audit; its objects are not reported");
        }
        let objects: usize = audit.listed.iter().map(|(_, n)| n).sum();
        // Nothing is deleted for a kind that could not be listed: its results are not known.
        let complete = audit.unreadable.is_empty();
        let shards = self.config.shards;
        let may = |ns: &str| held.borrow().get(&shard_of(ns, shards)).is_some_and(|until| Instant::now() < *until);
        let m = &self.state.metrics.audit;
        let mut namespaces = audit.namespaces();
        namespaces.extend(self.writer.namespaces().into_iter().filter(|ns| (within.keep)(ns)));
        let (mut done, mut failed) = (super::write::Synced::default(), None);
        for ns in namespaces.iter().filter(|ns| (within.keep)(ns)) {
            let reports = audit.reports(ns, ctx.now, self.config.kind, self.config.max_report_bytes);
            match self.writer.sync(ns, &reports, complete, &may).await {
                Ok(d) => done.add(&d),
                Err(e) => failed = Some(e),
            }
        }
        m.written(done.applied, done.deleted, done.unchanged);
        match failed {
            None => tracing::info!(
                pass = what,
                objects,
                namespaces = namespaces.len(),
                applied = done.applied,
                deleted = done.deleted,
                "audited"
            ),
            Some(e) => {
                m.error("write");
                tracing::error!(error = %e, "cannot write the audit's reports");
            }
        }
        m.objects.inc_by(u64::try_from(objects).unwrap_or(0));
        m.results(&self.writer.tally());
        m.duration(what, started.elapsed());
        self.drift(&audit, &within);
    }

    /// Exports the drift of the services audited.
    fn drift(&mut self, audit: &Audit, within: &Within<'_>) {
        let Some(conformance) = &audit.drift else { return };
        let stale: Vec<String> = self.services.keys().filter(|ns| (within.keep)(ns)).cloned().collect();
        for ns in stale {
            for s in self.services.remove(&ns).unwrap_or_default().keys() {
                self.state.metrics.audit.forget(s);
            }
        }
        for s in &conformance.services {
            let label = self.state.metrics.audit.service(s);
            self.services.entry(s.namespace.clone()).or_default().insert(label, !s.conforms());
        }
        self.state.metrics.audit.standings(self.services.values().flatten());
    }

    /// Starts a metadata-only watch of every kind `loaded` audits, marking the namespaces where
    /// something changed.
    fn watch(&mut self, loaded: &Arc<Loaded>) {
        let (client, only) = (self.client.clone(), self.config.resources.clone());
        let dirty = Arc::clone(&self.dirty);
        let loaded = Arc::clone(loaded);
        let counts = self.state.metrics.audit.watch_errors.clone();
        let task = tokio::spawn(async move {
            let Ok(served) = Served::discover(&client, &only).await else {
                return dirty.relisted.store(true, std::sync::atomic::Ordering::Relaxed);
            };
            let judge = Judge { engine: &loaded.engine, golden: loaded.golden.as_ref() };
            // Dropped (with the watches) when this task is aborted.
            let mut kinds = tokio::task::JoinSet::new();
            for (ar, _) in served.audited(judge).filter(|(ar, _)| served.watches(ar)) {
                let api = kube::Api::<DynamicObject>::all_with(client.clone(), ar);
                let name = format!("{}/{}", ar.api_version, ar.kind);
                kinds.spawn(watch_kind(api, name, Arc::clone(&dirty), counts.clone()));
            }
            kinds.join_all().await;
        });
        if let Some(old) = self.watches.replace(task) {
            old.abort();
        }
    }
}

impl Drop for Auditor {
    fn drop(&mut self) {
        if let Some(t) = &self.watches {
            t.abort();
        }
    }
}

async fn watch_kind(api: kube::Api<DynamicObject>, name: String, dirty: Arc<Dirty>, counts: Family<Kind, Counter>) {
    let stream = metadata_watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(stream);
    let mut listed = false;
    while let Some(event) = stream.next().await {
        let namespace = match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::Delete(o)) => o.metadata.namespace.unwrap_or_default(),
            Ok(watcher::Event::InitDone) => {
                // A list after the first: deletions in between were not seen.
                if std::mem::replace(&mut listed, true) {
                    dirty.relisted.store(true, std::sync::atomic::Ordering::Relaxed);
                    dirty.changed.notify_one();
                }
                continue;
            }
            Ok(_) => continue,
            Err(e) => {
                counts.get_or_create(&Kind { kind: name.clone() }).inc();
                tracing::warn!(kind = %name, error = %e, "watching for the audit; retrying");
                continue;
            }
        };
        dirty.namespaces.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(namespace);
        dirty.changed.notify_one();
    }
}

fn duration_until(t: jiff::Timestamp) -> Duration {
    let left = t.duration_since(jiff::Timestamp::now());
    Duration::try_from(left).unwrap_or(Duration::ZERO)
}
