//! An audit of what already runs: every object of every kind the loaded policies may judge
//! (`Engine::judges_kind`, over the kinds the cluster serves and lets list), and of every kind the
//! golden paths render, listed a page at a time, one kind after another, so the cluster is never
//! in memory at once, and evaluated with the engine the webhook runs, at one instant, with the
//! namespaces' labels and the inventory the policies read. Objects that claim a golden path are
//! kept aside and checked by `conform`: their drift is reported with the policies' results. What
//! cannot be listed (forbidden, or failing) is said, never skipped in silence.
//!
//! [`once`] is one pass (`paved audit --once`); `live` keeps the reports in the cluster current
//! (`paved serve --audit`), sharing namespaces between replicas through `lease`.

mod lease;
pub(crate) mod live;
mod write;

use std::collections::BTreeMap;

use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::discovery::{verbs, Scope};
use paved::golden::Conformance;
use paved::{Bundle, Context, Engine, GoldenPath, Inventory, Report, Resource};

use crate::Problem;

pub use live::AuditConfig;
pub(crate) use write::Tally;

/// A client of the cluster: in-cluster, or the kubeconfig's current context.
pub async fn connect() -> Result<kube::Client, Problem> {
    let found = crate::cluster::connect(&crate::Namespaces::Cluster(None)).await?;
    found.ok_or_else(|| Problem("no cluster to audit".into()))
}

/// What one pass found.
#[derive(Default)]
pub struct Audit {
    /// Every object evaluated, as one report.
    pub report: Option<Report>,
    /// How the services on a golden path conform.
    pub drift: Option<Conformance>,
    /// The kinds listed, as `apiVersion/kind`, and how many objects each had.
    pub listed: Vec<(String, usize)>,
    /// What could not be listed, and why.
    pub unreadable: Vec<(String, String)>,
}

impl Audit {
    /// The namespaces there are reports for (empty: cluster-scoped objects).
    pub fn namespaces(&self) -> std::collections::BTreeSet<String> {
        paved::golden::audit_namespaces(self.report.as_ref(), self.drift.as_ref())
    }

    /// The reports of `namespace`, of `kind`, each within `max_bytes`: made one namespace at a
    /// time, so every report of a large cluster is never in memory at once.
    pub fn reports(
        &self,
        namespace: &str,
        now: jiff::Timestamp,
        kind: paved::ReportKind,
        max_bytes: usize,
    ) -> Vec<serde_json::Value> {
        paved::golden::audit_reports(self.report.as_ref(), self.drift.as_ref(), Some(namespace), now, (kind, max_bytes))
    }
}

/// What judges: the engine, and the golden paths (with their exceptions) drift is measured
/// against.
#[derive(Clone, Copy)]
pub struct Judge<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// The golden paths; `None` measures no drift.
    pub golden: Option<&'a Bundle>,
}

/// The kinds the cluster serves and lets list (whether each is namespaced, and whether it can
/// be watched), and the resources an audit is limited to (`plural` or `plural.group`; none: no
/// limit).
pub(crate) struct Served(Vec<(ApiResource, bool)>, Vec<String>, Vec<String>);

impl Served {
    /// Asks the cluster.
    pub(crate) async fn discover(client: &kube::Client, only: &[String]) -> Result<Served, Problem> {
        let discovery = kube::Discovery::new(client.clone())
            .run()
            .await
            .map_err(|e| Problem(format!("cannot discover what the cluster serves: {e}")))?;
        let mut listed: Vec<_> = discovery
            .groups()
            .flat_map(|g| g.recommended_resources())
            .filter(|(_, caps)| caps.supports_operation(verbs::LIST))
            .collect();
        // Discovery's groups come in no set order: the reports' results come in this one.
        listed.sort_by(|(a, _), (b, _)| (&a.group, &a.version, &a.kind).cmp(&(&b.group, &b.version, &b.kind)));
        let unwatched =
            listed.iter().filter(|(_, caps)| !caps.supports_operation(verbs::WATCH)).map(|(ar, _)| resource_name(ar));
        let unwatched = unwatched.collect();
        let kinds = listed.into_iter().map(|(ar, caps)| (ar, caps.scope == Scope::Namespaced)).collect();
        Ok(Served(kinds, only.to_vec(), unwatched))
    }

    /// Whether the cluster can watch `ar` (some kinds, such as ComponentStatus, are only listed).
    pub(crate) fn watches(&self, ar: &ApiResource) -> bool {
        !self.2.contains(&resource_name(ar))
    }

    /// The resources the audit is limited to that the cluster does not serve.
    pub(crate) fn unknown(&self) -> Vec<(String, String)> {
        let served: Vec<String> = self.0.iter().map(|(ar, _)| resource_name(ar)).collect();
        let why = "the cluster serves no such resource (name it as `plural` or `plural.group`)";
        self.1.iter().filter(|o| !served.contains(o)).map(|o| (o.clone(), why.to_owned())).collect()
    }

    /// The kinds an audit by `judge` lists: those the engine may judge and those its golden
    /// paths render (every kind, when one renders a kind it computes), of the resources asked
    /// for (by default all but Events and Leases), never the report kinds.
    pub(crate) fn audited<'s>(&'s self, judge: Judge<'s>) -> impl Iterator<Item = &'s (ApiResource, bool)> {
        let rendered: Option<Vec<(String, String)>> = judge.golden.map_or(Some(Vec::new()), |b| {
            b.golden_paths().map(GoldenPath::kinds).try_fold(Vec::new(), |mut all, kinds| {
                all.extend(kinds?);
                Some(all)
            })
        });
        self.0.iter().filter(move |(ar, _)| {
            let name = resource_name(ar);
            let asked = if self.1.is_empty() { !NOT_AUDITED.contains(&name.as_str()) } else { self.1.contains(&name) };
            // The reports themselves never: each write would change what the next pass reports.
            let reports = ["wgpolicyk8s.io", "openreports.io"].contains(&ar.group.as_str());
            asked
                && !reports
                && (judge.engine.judges_kind(&ar.api_version, &ar.kind)
                    || rendered.as_ref().is_none_or(|r| r.iter().any(|(v, k)| *v == ar.api_version && *k == ar.kind)))
        })
    }
}

/// What an audit leaves out unless `--resources` names it: records of what happens, not
/// configuration (they change all the time and are not written by teams).
const NOT_AUDITED: &[&str] = &["events", "events.events.k8s.io", "leases.coordination.k8s.io"];

/// `plural`, or `plural.group` outside the core group, as kubectl and RBAC name resources.
fn resource_name(ar: &ApiResource) -> String {
    if ar.group.is_empty() {
        ar.plural.clone()
    } else {
        format!("{}.{}", ar.plural, ar.group)
    }
}

/// Which objects a pass takes.
#[derive(Clone, Copy)]
pub(crate) struct Within<'a> {
    /// Only this namespace's objects (empty: only cluster-scoped objects).
    pub(crate) namespace: Option<&'a str>,
    /// Only objects whose namespace (empty: cluster-scoped) this accepts.
    pub(crate) keep: &'a (dyn Fn(&str) -> bool + Sync),
}

/// One pass over the cluster: `page` objects a request, of the resources named (all the engine
/// judges when none are); `progress` is told of each kind as it is listed and of how many
/// objects are done.
pub async fn once(
    client: &kube::Client,
    judge: Judge<'_>,
    ctx: Context,
    limits: (u32, &[String]),
    progress: &(dyn Fn(&str, usize) + Sync),
) -> Result<Audit, Problem> {
    let (page, only) = limits;
    let served = Served::discover(client, only).await?;
    let mut unreadable = served.unknown();
    let mut ctx = ctx;
    ctx.namespaces = namespace_labels(client, &served, page, &mut unreadable).await;
    ctx.inventory = Some(std::sync::Arc::new(inventory(client, judge.engine, &served, page, &mut unreadable).await));
    let mut audit =
        pass(client, &served, judge, &ctx, page, Within { namespace: None, keep: &|_| true }, progress).await;
    audit.unreadable.splice(0..0, unreadable);
    Ok(audit)
}

/// One pass over the objects `within` takes, judged in `ctx`.
pub(crate) async fn pass(
    client: &kube::Client,
    served: &Served,
    judge: Judge<'_>,
    ctx: &Context,
    page: u32,
    within: Within<'_>,
    progress: &(dyn Fn(&str, usize) + Sync),
) -> Audit {
    let mut audit = Audit::default();
    let mut reports = Vec::new();
    let mut claimed = Vec::new();
    let kinds = served.audited(judge).filter(|(_, namespaced)| match within.namespace {
        None => true,
        Some(ns) => *namespaced != ns.is_empty(),
    });
    for (ar, namespaced) in kinds {
        let name = format!("{}/{}", ar.api_version, ar.kind);
        let judged = judge.engine.judges_kind(&ar.api_version, &ar.kind);
        progress(&name, 0);
        let mut count = 0;
        let outcome = each_page(client, ar, within.namespace.filter(|_| *namespaced), page, |mut objects| {
            objects.retain(|o| (within.keep)(o.identity().namespace.as_str()));
            count += objects.len();
            progress(&name, count);
            if judge.golden.is_some() {
                claimed.extend(objects.iter().filter(|o| claims_golden_path(o)).cloned());
            }
            if judged {
                reports.push(judge.engine.evaluate(&objects, ctx));
            }
        })
        .await;
        match outcome {
            Ok(()) => audit.listed.push((name, count)),
            Err(e) => audit.unreadable.push((name, e)),
        }
    }
    audit.report = Report::merge(reports);
    audit.drift = judge.golden.map(|g| GoldenPath::conform(g, &claimed, ctx));
    audit
}

fn claims_golden_path(object: &Resource) -> bool {
    object.value().pointer("/metadata/annotations").and_then(|a| a.get(paved::golden::ANNOTATION_PATH)).is_some()
}

/// Lists every object of `ar` (in `namespace` when given), `page` at a time, handing each page
/// to `each` as resources.
async fn each_page(
    client: &kube::Client,
    ar: &ApiResource,
    namespace: Option<&str>,
    page: u32,
    mut each: impl FnMut(Vec<Resource>),
) -> Result<(), String> {
    let api = match namespace {
        Some(ns) => kube::Api::<DynamicObject>::namespaced_with(client.clone(), ns, ar),
        None => kube::Api::<DynamicObject>::all_with(client.clone(), ar),
    };
    let mut params = ListParams::default().limit(page);
    loop {
        let list = api.list(&params).await.map_err(|e| match e {
            kube::Error::Api(e) if e.code == 403 => format!("forbidden: {}", e.message),
            other => other.to_string(),
        })?;
        let next = list.metadata.continue_.clone().filter(|c| !c.is_empty());
        // What etcd stores comes sorted by namespace and name; what the API server makes up as it
        // answers (ComponentStatus) does not, and reports would differ between passes.
        let mut items = list.items;
        items.sort_by(|a, b| (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name)));
        each(items.into_iter().filter_map(|o| resource(o, ar)).collect());
        match next {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(()),
        }
    }
}

/// An object as paved reads it: with its `apiVersion` and `kind` (a list's items carry none),
/// without `managedFields`.
fn resource(mut object: DynamicObject, ar: &ApiResource) -> Option<Resource> {
    object.metadata.managed_fields = None;
    let mut value = serde_json::to_value(&object).ok()?;
    let map = value.as_object_mut()?;
    map.insert("apiVersion".into(), ar.api_version.clone().into());
    map.insert("kind".into(), ar.kind.clone().into());
    Some(Resource::new(value))
}

/// Every namespace's labels, for `namespaceSelector`.
async fn namespace_labels(
    client: &kube::Client,
    served: &Served,
    page: u32,
    unreadable: &mut Vec<(String, String)>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let Some((ar, _)) = served.0.iter().find(|(ar, _)| ar.group.is_empty() && ar.kind == "Namespace") else {
        return out;
    };
    let listed = each_page(client, ar, None, page, |objects| {
        for o in objects {
            let meta = &o.value()["metadata"];
            let labels = serde_json::from_value(meta["labels"].clone()).unwrap_or_default();
            out.insert(meta["name"].as_str().unwrap_or_default().to_owned(), labels);
        }
    })
    .await;
    if let Err(e) = listed {
        unreadable.push(("v1/Namespace".into(), e));
    }
    out
}

/// The inventory the policies read: every object of the kinds they name, complete when each
/// could be listed.
async fn inventory(
    client: &kube::Client,
    engine: &Engine,
    served: &Served,
    page: u32,
    unreadable: &mut Vec<(String, String)>,
) -> Inventory {
    let needs = engine.inventory_needs();
    let wanted = |ar: &ApiResource| {
        needs.kinds.iter().any(|(g, v, k)| *g == ar.group && (v.is_empty() || *v == ar.version) && *k == ar.kind)
            || needs.resources.iter().any(|(g, v, r)| *g == ar.group && *v == ar.version && *r == ar.plural)
    };
    let mut objects = Vec::new();
    let mut complete = needs.unknown.is_empty();
    for (ar, _) in served.0.iter().filter(|(ar, _)| wanted(ar)) {
        // A kind no policy reads beyond its metadata is kept as that alone.
        let metadata = needs.metadata_only.iter().any(|(g, _, k)| *g == ar.group && *k == ar.kind);
        let kept = |o: Resource| match o.value().get("metadata").filter(|_| metadata) {
            Some(m) => Resource::new(serde_json::json!({"apiVersion": ar.api_version, "kind": ar.kind, "metadata": m})),
            None => o,
        };
        if let Err(e) = each_page(client, ar, None, page, |page| objects.extend(page.into_iter().map(kept))).await {
            unreadable.push((format!("{}/{} (inventory)", ar.api_version, ar.kind), e));
            complete = false;
        }
    }
    let inventory = Inventory::new(&objects);
    if complete {
        inventory.complete_all()
    } else {
        inventory
    }
}
