//! Namespace labels from the cluster: a kube-rs reflector over Namespaces keeps a cache that
//! every request reads; until it has listed them all the server is not ready.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{watcher, WatchStreamExt};

use crate::Problem;

/// Where namespace labels come from.
#[derive(Clone)]
pub enum Namespaces {
    /// Only the loader's (`--namespace-labels` files).
    Files,
    /// Watched in a cluster: in-cluster or from the kubeconfig (`None`), or this configuration.
    Cluster(Option<Box<kube::Config>>),
}

/// The namespace labels a request may see.
pub(crate) struct Labels {
    store: Option<Store<Namespace>>,
    synced: Arc<AtomicBool>,
}

/// A client of the cluster `source` names; `None` for files alone.
pub(crate) async fn connect(source: &Namespaces) -> Result<Option<kube::Client>, Problem> {
    let Namespaces::Cluster(config) = source else {
        return Ok(None);
    };
    let config = match config {
        Some(c) => (**c).clone(),
        None => kube::Config::infer()
            .await
            .map_err(|e| Problem(format!("no cluster to watch (in-cluster or kubeconfig): {e}")))?,
    };
    let client = kube::Client::try_from(config).map_err(|e| Problem(format!("cannot make a cluster client: {e}")))?;
    Ok(Some(client))
}

impl Labels {
    pub(crate) fn start(client: Option<&kube::Client>) -> Labels {
        let Some(client) = client.cloned() else {
            return Labels { store: None, synced: Arc::new(AtomicBool::new(true)) };
        };
        let api = kube::Api::<Namespace>::all(client);
        let (store, writer) = reflector::store();
        let synced = Arc::new(AtomicBool::new(false));
        let stream =
            reflector::reflector(writer, watcher(api, watcher::Config::default())).default_backoff().touched_objects();
        tokio::spawn(async move {
            futures::pin_mut!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(ns) => {
                        tracing::debug!(namespace = ns.metadata.name.as_deref().unwrap_or(""), "namespace changed")
                    }
                    Err(e) => tracing::warn!(error = %e, "watching namespaces"),
                }
            }
        });
        let (ready, flag) = (store.clone(), Arc::clone(&synced));
        tokio::spawn(async move {
            if ready.wait_until_ready().await.is_ok() {
                flag.store(true, Ordering::Relaxed);
                tracing::info!(namespaces = ready.state().len(), "namespace cache synced");
            }
        });
        Labels { store: Some(store), synced }
    }

    pub(crate) fn synced(&self) -> bool {
        self.synced.load(Ordering::Relaxed)
    }

    /// The labels of `namespace` in the cluster; `None` without a watch or for a namespace it
    /// has not seen.
    pub(crate) fn get(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        let ns = self.store.as_ref()?.get(&ObjectRef::new(namespace))?;
        Some(ns.metadata.labels.clone().unwrap_or_default())
    }

    /// Every namespace's labels in the cluster (none without a watch).
    pub(crate) fn all(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        let Some(store) = &self.store else { return BTreeMap::new() };
        store
            .state()
            .iter()
            .filter_map(|ns| Some((ns.metadata.name.clone()?, ns.metadata.labels.clone().unwrap_or_default())))
            .collect()
    }
}
