//! Who audits what: the audit's namespaces are cut into shards (a stable hash of the namespace's
//! name), each held through a `coordination.k8s.io` Lease by one replica, which alone writes its
//! reports. Every replica keeps a member Lease of its own; the live members, sorted, own the
//! shards in turn (shard `i` is the `i mod n`th's), so adding a replica divides the work and the
//! shards of one that dies are taken over once its leases expire. A replica gives a shard up
//! (releases its Lease) when another live member owns it, and takes a shard only when its Lease
//! is free or expired; every change goes through the Lease's `resourceVersion`, so two replicas
//! never hold one shard.
//!
//! A Lease is expired when it has not changed for its duration as this replica's clock
//! measures it (as client-go's leader election judges it: no clocks are compared). A holder
//! trusts its hold for two thirds of the duration after it last renewed, and writes nothing for
//! a shard past that.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::chrono::Utc;
use kube::api::{ListParams, ObjectMeta, PostParams};
use kube::Api;

/// The label that marks the audit's Leases: `member` or `shard`.
const ROLE: &str = "paved.dev/audit-lease";

/// The shards held, each until when the hold may be trusted.
pub(crate) type Held = BTreeMap<u32, Instant>;

/// The shard a namespace (empty: cluster-scoped objects) is in: FNV-1a of its name, so every
/// replica and every release agrees.
pub(crate) fn shard_of(namespace: &str, shards: u32) -> u32 {
    let hash =
        namespace.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    u32::try_from(hash % u64::from(shards.max(1))).unwrap_or(0)
}

/// This replica's view of the Leases.
pub(crate) struct Leases {
    api: Api<Lease>,
    identity: String,
    duration: Duration,
    shards: u32,
    /// Each Lease's `resourceVersion` when first seen as it is, and when.
    seen: HashMap<String, (String, Instant)>,
}

impl Leases {
    pub(crate) fn new(client: &kube::Client, namespace: &str, identity: &str, duration: Duration, shards: u32) -> Self {
        Leases {
            api: Api::namespaced(client.clone(), namespace),
            identity: identity.to_owned(),
            duration,
            shards: shards.max(1),
            seen: HashMap::new(),
        }
    }

    /// Renews this replica's membership, then takes, keeps or gives up each shard as the live
    /// members say; the shards held after it.
    pub(crate) async fn tick(&mut self) -> Result<Held, kube::Error> {
        let started = Instant::now();
        let member = format!("paved-audit-member-{}", self.identity);
        let leases = self.api.list(&ListParams::default().labels(ROLE)).await?.items;
        let find = |name: &str| leases.iter().find(|l| l.metadata.name.as_deref() == Some(name));
        self.claim(&member, "member", find(&member)).await?;
        let now = Instant::now();
        let mut live: Vec<String> = leases
            .iter()
            .filter(|l| role(l) == Some("member") && !self.expired(l, now))
            .filter_map(holder)
            .filter(|h| *h != self.identity)
            .map(str::to_owned)
            .collect();
        live.push(self.identity.clone());
        live.sort_unstable();
        self.sweep(&leases, now).await;
        self.forget(&leases);
        let mut held = Held::new();
        for shard in 0..self.shards {
            let name = format!("paved-audit-shard-{shard}");
            let lease = find(&name);
            let owner = live.get(usize::try_from(shard).unwrap_or(0) % live.len()).map(String::as_str);
            let mine = lease.and_then(holder) == Some(self.identity.as_str());
            let result = if owner == Some(self.identity.as_str()) {
                let free = lease.is_none_or(|l| mine || holder(l).is_none() || self.expired(l, now));
                if free {
                    self.claim(&name, "shard", lease).await.map(Some)
                } else {
                    Ok(None)
                }
            } else if let Some(l) = lease.filter(|_| mine) {
                self.release(l.clone()).await.map(|()| None)
            } else {
                Ok(None)
            };
            match result {
                Ok(Some(())) => {
                    held.insert(shard, started + self.duration * 2 / 3);
                }
                Ok(None) => {}
                Err(kube::Error::Api(e)) if e.code == 409 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(held)
    }

    /// Gives every shard up, so the others take them over at once (on shutdown).
    pub(crate) async fn release_all(&self) {
        let Ok(leases) = self.api.list(&ListParams::default().labels(ROLE)).await else {
            return;
        };
        for l in leases.items.into_iter().filter(|l| holder(l) == Some(self.identity.as_str())) {
            if let Err(e) = self.release(l).await {
                tracing::warn!(error = %e, "cannot release an audit lease; it expires instead");
            }
        }
    }

    /// Deletes the member Leases of replicas gone (expired), at the version seen, so they do not
    /// pile up over rollouts.
    async fn sweep(&self, leases: &[Lease], now: Instant) {
        for l in leases.iter().filter(|l| role(l) == Some("member") && self.expired(l, now)) {
            let (Some(name), Some(version)) = (&l.metadata.name, &l.metadata.resource_version) else { continue };
            let params = kube::api::DeleteParams {
                preconditions: Some(kube::api::Preconditions { resource_version: Some(version.clone()), uid: None }),
                ..kube::api::DeleteParams::default()
            };
            if let Err(e) = self.api.delete(name, &params).await {
                tracing::debug!(lease = %name, error = %e, "cannot delete an expired member lease");
            }
        }
    }

    /// Whether `lease` has not changed for its duration since this replica first saw it so.
    fn expired(&self, lease: &Lease, now: Instant) -> bool {
        let (Some(name), Some(version)) = (&lease.metadata.name, &lease.metadata.resource_version) else {
            return true;
        };
        let duration = lease
            .spec
            .as_ref()
            .and_then(|s| s.lease_duration_seconds)
            .and_then(|s| u64::try_from(s).ok())
            .map_or(self.duration, Duration::from_secs);
        self.seen.get(name).is_some_and(|(v, since)| v == version && now.duration_since(*since) >= duration)
    }

    /// Records each Lease's version, keeping when it was first seen as it is.
    fn forget(&mut self, leases: &[Lease]) {
        let now = Instant::now();
        let mut seen = HashMap::new();
        for l in leases {
            if let (Some(name), Some(version)) = (&l.metadata.name, &l.metadata.resource_version) {
                let since = self.seen.get(name).filter(|(v, _)| v == version).map_or(now, |(_, s)| *s);
                seen.insert(name.clone(), (version.clone(), since));
            }
        }
        self.seen = seen;
    }

    /// Makes `name` this replica's: created, or replaced at the version seen (a conflict means
    /// another replica changed it first).
    async fn claim(&self, name: &str, role: &str, current: Option<&Lease>) -> Result<(), kube::Error> {
        let now = MicroTime(Utc::now());
        let seconds = i32::try_from(self.duration.as_secs()).unwrap_or(i32::MAX).max(1);
        let Some(current) = current else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    labels: Some([(ROLE.to_owned(), role.to_owned())].into()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return self.api.create(&PostParams::default(), &lease).await.map(drop);
        };
        let mut lease = current.clone();
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            spec.holder_identity = Some(self.identity.clone());
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
            tracing::info!(lease = name, "audit lease taken");
        }
        spec.lease_duration_seconds = Some(seconds);
        spec.renew_time = Some(now);
        self.api.replace(name, &PostParams::default(), &lease).await.map(drop)
    }

    /// Lets `lease` go: no holder, so any replica may take it at once.
    async fn release(&self, mut lease: Lease) -> Result<(), kube::Error> {
        let name = lease.metadata.name.clone().unwrap_or_default();
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.renew_time = Some(MicroTime(Utc::now()));
        }
        tracing::info!(lease = %name, "audit lease released");
        self.api.replace(&name, &PostParams::default(), &lease).await.map(drop)
    }
}

fn role(lease: &Lease) -> Option<&str> {
    lease.metadata.labels.as_ref()?.get(ROLE).map(String::as_str)
}

fn holder(lease: &Lease) -> Option<&str> {
    lease.spec.as_ref()?.holder_identity.as_deref().filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::shard_of;

    #[test]
    fn namespaces_spread_over_the_shards_and_stay_put() {
        let counts = (0..3000).fold([0_u32; 3], |mut c, i| {
            let s = shard_of(&format!("team-{i}"), 3);
            if let Some(n) = c.get_mut(usize::try_from(s).unwrap_or(0)) {
                *n += 1;
            }
            c
        });
        assert!(counts.iter().all(|n| (800..1200).contains(n)), "{counts:?}");
        assert_eq!(shard_of("payments", 7), shard_of("payments", 7));
        assert_eq!(shard_of("anything", 1), 0);
    }
}
