//! The inventory from the cluster: for each kind the loaded policies read through `inventory`
//! (`Engine::inventory_needs`), a kube-rs reflector keeps the kind's objects, less their
//! `managedFields` and last-applied annotation (which no policy reads, and which are most of an
//! object's size), and only their metadata (a metadata-only watch) for the kinds no policy reads
//! further, so memory follows what is read, not the cluster. A snapshot of them all,
//! made again when one changes (at most every quarter second), is the inventory every request
//! is judged with. It is complete (what it does not hold does not exist) only once every kind
//! has listed; until then a rule that needs completeness does not deny, and `/readyz` is not
//! ready. A kind the cluster does not serve has no objects: it counts as listed.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, PartialObjectMeta};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{metadata_watcher, watcher, WatchStreamExt};
use paved::{Inventory, InventoryNeeds, Resource};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::metrics::Kind;

/// How long a change waits for the ones that follow it before the snapshot is made again.
const SETTLE: Duration = Duration::from_millis(250);

/// The kinds kept, and the snapshot requests read.
pub(crate) struct Watched {
    /// What it keeps, as the engine said: a new engine that needs the same keeps it.
    pub(crate) needs: InventoryNeeds,
    snapshot: Arc<RwLock<Arc<Inventory>>>,
    /// The kinds not listed yet (or that cannot be), by `apiVersion/kind`.
    pending: Arc<RwLock<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.tasks.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

/// The metrics a watch keeps current.
#[derive(Clone)]
pub(crate) struct Counts {
    pub(crate) objects: Family<Kind, Gauge>,
    pub(crate) restarts: Family<Kind, Counter>,
}

/// One kind being watched.
struct Kept {
    name: String,
    cache: Cache,
    resource: ApiResource,
}

/// A kind's objects: whole, or their metadata alone where no policy reads more.
enum Cache {
    Whole(Store<DynamicObject>),
    Metadata(Store<PartialObjectMeta<DynamicObject>>),
}

impl Cache {
    fn len(&self) -> usize {
        match self {
            Cache::Whole(s) => s.state().len(),
            Cache::Metadata(s) => s.state().len(),
        }
    }

    /// Every object as JSON (a metadata-only one with its metadata alone).
    fn values(&self) -> Vec<serde_json::Value> {
        match self {
            Cache::Whole(s) => s.state().iter().filter_map(|o| serde_json::to_value(&**o).ok()).collect(),
            Cache::Metadata(s) => s
                .state()
                .iter()
                .filter_map(|o| Some(serde_json::json!({"metadata": serde_json::to_value(&o.metadata).ok()?})))
                .collect(),
        }
    }
}

/// What the tasks keeping a kind share.
struct Shared {
    changed: Arc<tokio::sync::Notify>,
    pending: Arc<RwLock<Vec<String>>>,
    counts: Counts,
}

impl Watched {
    /// Starts a reflector for each kind of `needs`: of the objects' metadata alone for the kinds
    /// it says are read no further.
    pub(crate) async fn start(client: &kube::Client, needs: InventoryNeeds, counts: &Counts) -> Watched {
        let shared =
            Shared { changed: Arc::new(tokio::sync::Notify::new()), pending: Arc::default(), counts: counts.clone() };
        let mut kept = Vec::new();
        let mut tasks = Vec::new();
        for (resource, name) in resolve(client, &needs).await {
            let resource = match resource {
                Ok(Some(r)) => r,
                Ok(None) => {
                    tracing::info!(kind = %name, "the cluster serves no such kind: the inventory holds none of it");
                    continue;
                }
                Err(e) => {
                    // Never listed: the inventory stays incomplete, and the server not ready.
                    tracing::error!(kind = %name, error = %e, "cannot discover an inventory kind");
                    write(&shared.pending).push(format!("{name} (discovery failed: {e})"));
                    continue;
                }
            };
            write(&shared.pending).push(name.clone());
            let api = kube::Api::<DynamicObject>::all_with(client.clone(), &resource);
            let metadata = needs.metadata_only.iter().any(|(g, _, k)| *g == resource.group && *k == resource.kind);
            let config = watcher::Config::default();
            let cache = if metadata {
                let (store, watching) = keep(metadata_watcher(api, config), &resource, &name, &shared);
                tasks.extend(watching);
                Cache::Metadata(store)
            } else {
                let (store, watching) = keep(watcher(api, config), &resource, &name, &shared);
                tasks.extend(watching);
                Cache::Whole(store)
            };
            tracing::info!(kind = %name, metadata_only = metadata, "keeping an inventory kind");
            kept.push(Kept { name, cache, resource });
        }
        let snapshot = Arc::new(RwLock::new(Arc::new(Inventory::default())));
        let (made, waiting, counts) = (Arc::clone(&snapshot), Arc::clone(&shared.pending), counts.clone());
        let changed = Arc::clone(&shared.changed);
        tasks.push(tokio::spawn(async move {
            loop {
                changed.notified().await;
                tokio::time::sleep(SETTLE).await;
                let complete = read(&waiting).is_empty();
                let inventory = Arc::new(snapshot_of(&kept, complete, &counts));
                *write(&made) = inventory;
            }
        }));
        Watched { needs, snapshot, pending: shared.pending, tasks }
    }

    /// The inventory now.
    pub(crate) fn current(&self) -> Arc<Inventory> {
        Arc::clone(&read(&self.snapshot))
    }

    /// Returns once every kind has listed and the snapshot holds them, or after `within`.
    pub(crate) async fn listed(&self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while !read(&self.pending).is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // The snapshot is made a settling time after the last kind listed.
        tokio::time::sleep(SETTLE * 2).await;
    }

    /// The kinds not listed yet; none when every kind has listed.
    pub(crate) fn pending(&self) -> Vec<String> {
        read(&self.pending).clone()
    }
}

/// Each kind of `needs` as the cluster serves it, named `group/version/kind` (the version left
/// out where any will do): `Ok(None)` when the cluster does not serve it, `Err` when discovery
/// kept failing.
async fn resolve(client: &kube::Client, needs: &InventoryNeeds) -> Vec<(Result<Option<ApiResource>, String>, String)> {
    let name =
        |g: &str, v: &str, k: &str| [g, v, k].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join("/");
    let wanted = needs.kinds.iter().map(|k| (k, false)).chain(needs.resources.iter().map(|r| (r, true)));
    let mut out = Vec::new();
    for ((group, version, kind), by_resource) in wanted {
        let mut delay = Duration::from_millis(500);
        let found = loop {
            match find(client, (group, version, kind), by_resource).await {
                Err(e) if delay < Duration::from_secs(8) => {
                    tracing::warn!(group = %group, kind = %kind, error = %e, "discovering an inventory kind; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                other => break other.map_err(|e| e.to_string()),
            }
        };
        let shown = match &found {
            Ok(Some(ar)) => ar.kind.clone(),
            _ => kind.clone(),
        };
        out.push((found, name(group, version, &shown)));
    }
    out
}

/// A kind (or, `by_resource`, a resource) as the cluster serves it; `None` when it does not.
async fn find(
    client: &kube::Client,
    (group, version, kind): (&str, &str, &str),
    by_resource: bool,
) -> Result<Option<ApiResource>, kube::Error> {
    let served = if version.is_empty() {
        // The group alone: the kind in the version the cluster prefers.
        kube::discovery::group(client, group).await.map(|g| g.recommended_kind(kind).map(|(ar, _)| ar))
    } else if by_resource {
        let gv = kube::core::GroupVersion::gv(group, version);
        kube::discovery::pinned_group(client, &gv)
            .await
            .map(|g| g.versioned_resources(version).into_iter().map(|(ar, _)| ar).find(|ar| ar.plural == kind))
    } else {
        let gvk = GroupVersionKind::gvk(group, version, kind);
        kube::discovery::pinned_kind(client, &gvk).await.map(|(ar, _)| Some(ar))
    };
    match served {
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
        Err(kube::Error::Discovery(_)) => Ok(None),
        other => other,
    }
}

/// Keeps one kind from `watch` (of whole objects, or of their metadata): its store, and the
/// tasks that keep it — the watch, feeding the store and waking the snapshot on every change,
/// and one that marks the kind listed once the store is ready.
fn keep<K>(
    watch: impl futures::Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
    resource: &ApiResource,
    name: &str,
    shared: &Shared,
) -> (Store<K>, [tokio::task::JoinHandle<()>; 2])
where
    K: kube::Resource<DynamicType = ApiResource> + Clone + Send + Sync + 'static,
{
    let writer = reflector::store::Writer::new(resource.clone());
    let store = writer.as_reader();
    let stream = watch.default_backoff().modify(|o| slim(o.meta_mut())).reflect(writer);
    let (notify, counts, label) = (Arc::clone(&shared.changed), shared.counts.clone(), Kind { kind: name.to_owned() });
    let watch = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(_) => notify.notify_one(),
                Err(e) => {
                    counts.restarts.get_or_create(&label).inc();
                    tracing::warn!(kind = %label.kind, error = %e, "watching the inventory; retrying");
                }
            }
        }
    });
    let (pending, notify, listed) = (Arc::clone(&shared.pending), Arc::clone(&shared.changed), name.to_owned());
    let ready_store = store.clone();
    let ready = tokio::spawn(async move {
        if ready_store.wait_until_ready().await.is_ok() {
            write(&pending).retain(|k| *k != listed);
            tracing::info!(kind = %listed, objects = ready_store.state().len(), "inventory kind listed");
            notify.notify_one();
        }
    });
    (store, [watch, ready])
}

/// What no policy reads, and what makes most of a stored object: gone before it is kept.
fn slim(metadata: &mut kube::api::ObjectMeta) {
    metadata.managed_fields = None;
    if let Some(a) = metadata.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// The inventory of every kind's objects now.
fn snapshot_of(kept: &[Kept], complete: bool, counts: &Counts) -> Inventory {
    let mut resources = Vec::new();
    for k in kept {
        counts
            .objects
            .get_or_create(&Kind { kind: k.name.clone() })
            .set(i64::try_from(k.cache.len()).unwrap_or(i64::MAX));
        for mut value in k.cache.values() {
            // A list's items carry no apiVersion or kind: the watch says what they are.
            if let Some(map) = value.as_object_mut() {
                map.insert("apiVersion".into(), k.resource.api_version.clone().into());
                map.insert("kind".into(), k.resource.kind.clone().into());
            }
            resources.push(Resource::new(value));
        }
    }
    let inventory = Inventory::new(&resources);
    if complete {
        inventory.complete_all()
    } else {
        inventory
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}
