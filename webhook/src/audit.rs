//! An audit of what already runs: every object of every kind the loaded policies may judge
//! (`Engine::judges_kind`, over the kinds the cluster serves and lets list), listed a page at a
//! time, one kind after another, so the cluster is never in memory at once, and evaluated with
//! the engine the webhook runs, at one instant, with the namespaces' labels and the inventory the
//! policies read (listed first, as `--watch-inventory` keeps it). What cannot be listed
//! (forbidden, or failing) is said, never skipped in silence.

use std::collections::BTreeMap;

use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::discovery::verbs;
use paved::{Context, Engine, Inventory, Report, Resource};

use crate::Problem;

/// A client of the cluster: in-cluster, or the kubeconfig's current context.
pub async fn connect() -> Result<kube::Client, Problem> {
    let found = crate::cluster::connect(&crate::Namespaces::Cluster(None)).await?;
    found.ok_or_else(|| Problem("no cluster to audit".into()))
}

/// What one pass found.
pub struct Audit {
    /// Every object evaluated, as one report.
    pub report: Option<Report>,
    /// The kinds listed, as `apiVersion/kind`, and how many objects each had.
    pub listed: Vec<(String, usize)>,
    /// What could not be listed, and why.
    pub unreadable: Vec<(String, String)>,
}

/// One pass over the cluster: `page` objects a request; `progress` is told of each kind as it
/// is listed and of how many objects are done.
pub async fn once(
    client: &kube::Client,
    engine: &Engine,
    ctx: Context,
    page: u32,
    progress: &(dyn Fn(&str, usize) + Sync),
) -> Result<Audit, Problem> {
    let discovery = kube::Discovery::new(client.clone())
        .run()
        .await
        .map_err(|e| Problem(format!("cannot discover what the cluster serves: {e}")))?;
    let served: Vec<ApiResource> = discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .filter(|(_, caps)| caps.supports_operation(verbs::LIST))
        .map(|(ar, _)| ar)
        .collect();
    let mut unreadable = Vec::new();
    let mut ctx = ctx;
    ctx.namespaces = namespace_labels(client, &served, page, &mut unreadable).await;
    ctx.inventory = Some(std::sync::Arc::new(inventory(client, engine, &served, page, &mut unreadable).await));
    let mut reports = Vec::new();
    let mut listed = Vec::new();
    for ar in served.iter().filter(|ar| engine.judges_kind(&ar.api_version, &ar.kind)) {
        let name = format!("{}/{}", ar.api_version, ar.kind);
        progress(&name, 0);
        let mut count = 0;
        let outcome = each_page(client, ar, page, |objects| {
            count += objects.len();
            progress(&name, count);
            reports.push(engine.evaluate(&objects, &ctx));
        })
        .await;
        match outcome {
            Ok(()) => listed.push((name, count)),
            Err(e) => unreadable.push((name, e)),
        }
    }
    Ok(Audit { report: Report::merge(reports), listed, unreadable })
}

/// Lists every object of `ar`, `page` at a time, handing each page to `each` as resources.
async fn each_page(
    client: &kube::Client,
    ar: &ApiResource,
    page: u32,
    mut each: impl FnMut(Vec<Resource>),
) -> Result<(), String> {
    let api = kube::Api::<DynamicObject>::all_with(client.clone(), ar);
    let mut params = ListParams::default().limit(page);
    loop {
        let list = api.list(&params).await.map_err(|e| match e {
            kube::Error::Api(e) if e.code == 403 => format!("forbidden: {}", e.message),
            other => other.to_string(),
        })?;
        let next = list.metadata.continue_.clone().filter(|c| !c.is_empty());
        each(list.items.into_iter().filter_map(|o| resource(o, ar)).collect());
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
    served: &[ApiResource],
    page: u32,
    unreadable: &mut Vec<(String, String)>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let Some(ar) = served.iter().find(|ar| ar.group.is_empty() && ar.kind == "Namespace") else { return out };
    let listed = each_page(client, ar, page, |objects| {
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
    served: &[ApiResource],
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
    for ar in served.iter().filter(|ar| wanted(ar)) {
        if let Err(e) = each_page(client, ar, page, |page| objects.extend(page)).await {
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
