//! Writing an audit's reports to the cluster, without rewrite storms: a report is applied
//! (server-side apply, field manager `paved`) only when what it says differs from what was last
//! written (its results' timestamps aside), and a report no longer made is deleted. What was
//! written is known by digest: read back from the cluster when this replica takes shards over,
//! so a restart or a new holder rewrites nothing that did not change.

use std::collections::BTreeMap;

use kube::api::{ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams};
use paved::ReportKind;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The label paved's reports carry.
const MANAGED: &str = "app.kubernetes.io/managed-by=paved";

/// Results by policy and outcome.
pub(crate) type Tally = BTreeMap<(String, String), i64>;

/// What a sync did.
#[derive(Default)]
pub(crate) struct Synced {
    pub(crate) applied: u64,
    pub(crate) deleted: u64,
    pub(crate) unchanged: u64,
}

impl Synced {
    pub(crate) fn add(&mut self, other: &Synced) {
        self.applied += other.applied;
        self.deleted += other.deleted;
        self.unchanged += other.unchanged;
    }
}

pub(crate) struct Writer {
    client: kube::Client,
    namespaced: ApiResource,
    cluster: ApiResource,
    /// The digest of every report in the cluster, by namespace (empty: cluster-scoped) and name.
    written: BTreeMap<(String, String), [u8; 32]>,
    /// The results of the reports last made for each namespace.
    tallies: BTreeMap<String, Tally>,
}

impl Writer {
    pub(crate) fn new(client: &kube::Client, kind: ReportKind) -> Writer {
        let (group, version, namespaced, cluster) = match kind {
            ReportKind::PolicyReport => ("wgpolicyk8s.io", "v1alpha2", "PolicyReport", "ClusterPolicyReport"),
            ReportKind::OpenReports => ("openreports.io", "v1alpha1", "Report", "ClusterReport"),
        };
        let ar = |kind: &str| {
            let plural = format!("{}s", kind.to_lowercase());
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural)
        };
        Writer {
            client: client.clone(),
            namespaced: ar(namespaced),
            cluster: ar(cluster),
            written: BTreeMap::new(),
            tallies: BTreeMap::new(),
        }
    }

    /// Reads back what paved wrote before.
    pub(crate) async fn seed(&mut self) -> Result<(), String> {
        let mut written = BTreeMap::new();
        for ar in [&self.namespaced, &self.cluster] {
            let api = kube::Api::<DynamicObject>::all_with(self.client.clone(), ar);
            let list =
                api.list(&ListParams::default().labels(MANAGED)).await.map_err(|e| self.problem("reading", ar, &e))?;
            for o in list.items {
                let value = serde_json::to_value(&o).unwrap_or_default();
                written.insert(key(&value), digest(&value));
            }
        }
        self.written = written;
        Ok(())
    }

    /// The namespaces (empty: cluster-scoped) with reports in the cluster.
    pub(crate) fn namespaces(&self) -> std::collections::BTreeSet<String> {
        self.written.keys().map(|(ns, _)| ns.clone()).collect()
    }

    /// Makes the cluster hold `reports` as the reports of `namespace`: each applied when it
    /// changed, and (when `complete`: every kind was listed) the namespace's reports no longer
    /// made deleted. `may` is asked, just before each write, whether this replica still holds
    /// the namespace.
    pub(crate) async fn sync(
        &mut self,
        namespace: &str,
        reports: &[Value],
        complete: bool,
        may: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Synced, String> {
        let mut done = Synced::default();
        let tally_of = self.tallies.entry(namespace.to_owned()).or_default();
        tally_of.clear();
        for r in reports {
            tally(tally_of, r);
        }
        for r in reports {
            let (namespace, name) = key(r);
            let digest = digest(r);
            if self.written.get(&(namespace.clone(), name.clone())) == Some(&digest) {
                done.unchanged += 1;
                continue;
            }
            if !may(&namespace) {
                continue;
            }
            let ar = if namespace.is_empty() { &self.cluster } else { &self.namespaced };
            let api = self.api(ar, &namespace);
            let params = PatchParams::apply("paved").force();
            api.patch(&name, &params, &Patch::Apply(r)).await.map_err(|e| self.problem("writing", ar, &e))?;
            tracing::debug!(namespace = %namespace, name = %name, "report applied");
            self.written.insert((namespace, name), digest);
            done.applied += 1;
        }
        let made: Vec<(String, String)> = reports.iter().map(key).collect();
        let stale: Vec<(String, String)> =
            self.written.keys().filter(|k| complete && k.0 == namespace && !made.contains(k)).cloned().collect();
        for (namespace, name) in stale {
            if !may(&namespace) {
                continue;
            }
            let ar = if namespace.is_empty() { &self.cluster } else { &self.namespaced };
            match self.api(ar, &namespace).delete(&name, &DeleteParams::default()).await {
                Ok(_) => done.deleted += 1,
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(self.problem("deleting", ar, &e)),
            }
            self.written.remove(&(namespace, name));
        }
        Ok(done)
    }

    /// The results of the reports last made, by policy and outcome.
    pub(crate) fn tally(&self) -> Tally {
        let mut all = Tally::new();
        for (k, n) in self.tallies.values().flatten() {
            *all.entry(k.clone()).or_default() += n;
        }
        all
    }

    fn api(&self, ar: &ApiResource, namespace: &str) -> kube::Api<DynamicObject> {
        if namespace.is_empty() {
            kube::Api::all_with(self.client.clone(), ar)
        } else {
            kube::Api::namespaced_with(self.client.clone(), namespace, ar)
        }
    }

    fn problem(&self, doing: &str, ar: &ApiResource, e: &kube::Error) -> String {
        match e {
            kube::Error::Api(s)
                if s.code == 404 && s.reason == "NotFound" && s.message.contains("the server could not") =>
            {
                format!(
                    "the cluster does not serve {}/{}: install its CustomResourceDefinition (deploy/helm/paved/crds)",
                    ar.api_version, ar.kind
                )
            }
            kube::Error::Api(s) if s.code == 403 => format!("{doing} {} is forbidden: {}", ar.kind, s.message),
            other => format!("{doing} {}: {other}", ar.kind),
        }
    }
}

/// A report's namespace and name.
fn key(report: &Value) -> (String, String) {
    let text = |p: &str| report.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
    (text("/metadata/namespace"), text("/metadata/name"))
}

/// What a report says, as compared: its name, labels, summary and results, less the results'
/// timestamps.
fn digest(report: &Value) -> [u8; 32] {
    let mut results = report.get("results").cloned().unwrap_or_default();
    for r in results.as_array_mut().into_iter().flatten() {
        if let Some(m) = r.as_object_mut() {
            m.remove("timestamp");
        }
    }
    let (namespace, name) = key(report);
    let said = serde_json::json!([
        report.get("apiVersion"),
        namespace,
        name,
        report.pointer("/metadata/labels"),
        report.get("summary"),
        results,
    ]);
    let mut hash = Sha256::new();
    canonical(&said, &mut hash);
    hash.finalize().into()
}

/// `value` into `hash` with every object's keys sorted: a report read back from the API server
/// (which orders fields its own way) hashes as the one written.
fn canonical(value: &Value, hash: &mut Sha256) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            hash.update(b"{");
            for k in keys {
                hash.update(serde_json::to_string(k).unwrap_or_default());
                hash.update(b":");
                canonical(map.get(k.as_str()).unwrap_or(&Value::Null), hash);
                hash.update(b",");
            }
            hash.update(b"}");
        }
        Value::Array(items) => {
            hash.update(b"[");
            for i in items {
                canonical(i, hash);
                hash.update(b",");
            }
            hash.update(b"]");
        }
        other => hash.update(other.to_string()),
    }
}

fn tally(into: &mut Tally, report: &Value) {
    for r in report.get("results").and_then(Value::as_array).into_iter().flatten() {
        let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        *into.entry((text("policy"), text("result"))).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::digest;

    #[test]
    fn a_report_read_back_in_another_order_with_other_timestamps_is_the_same_report() {
        let written = json!({"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
            "metadata": {"name": "paved", "namespace": "shop", "labels": {"app.kubernetes.io/managed-by": "paved"}},
            "summary": {"pass": 1, "fail": 0},
            "results": [{"policy": "p", "rule": "r", "result": "pass", "timestamp": {"seconds": 1, "nanos": 0}}]});
        let read = json!({"results": [{"timestamp": {"nanos": 5, "seconds": 9}, "result": "pass", "rule": "r", "policy": "p"}],
            "summary": {"fail": 0, "pass": 1}, "kind": "PolicyReport",
            "metadata": {"uid": "1", "resourceVersion": "7", "labels": {"app.kubernetes.io/managed-by": "paved"}, "namespace": "shop", "name": "paved"},
            "apiVersion": "wgpolicyk8s.io/v1alpha2"});
        assert_eq!(digest(&written), digest(&read));
        let mut changed = read.clone();
        changed["results"][0]["result"] = json!("fail");
        assert_ne!(digest(&written), digest(&changed));
    }
}
