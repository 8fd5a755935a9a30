//! The inventory: the other objects of the platform that a policy may look up, as `inventory`
//! in CEL (a PodDisruptionBudget that selects a Deployment's pods, another Ingress that claims
//! the same host, the ResourceQuota of a namespace).
//!
//! An evaluation's inventory is the objects it is given ([`Inventory`], from a live cluster's
//! export or a repository) together with the evaluated resources themselves, which replace a
//! given object of the same kind, namespace and name (they are the newer, desired state). It is
//! indexed once per evaluation (`cel::inventory::Index`), by kind, namespace and name, borrowing
//! the objects where they are. Every version of a kind is one kind. Objects are listed in one
//! order, whatever the order they came in, so reports do not depend on it.
//!
//! **Partial views.** An inventory may hold only part of a namespace (a repository of some of a
//! team's services). Whether "no such object" means absent or only out of view is the
//! inventory's *completeness*: a rule that requires an object to exist asks
//! `inventory.complete(namespace)` and only denies when the namespace is complete. Nothing is
//! complete unless the caller says so ([`Inventory::complete_all`],
//! [`Inventory::complete_namespaces`], `paved check --inventory-complete`).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::cel::index::{Entry, Index, Sorted, Source};
use crate::engine::resource::Resource;
use crate::error::Error;
use crate::k8s;

/// Objects a policy may look up besides the one it checks, and which namespaces they cover
/// completely.
///
/// ```
/// let cluster = paved::Resource::from_str("cluster.yaml", "
/// apiVersion: policy/v1
/// kind: PodDisruptionBudget
/// metadata: {name: web, namespace: shop}
/// spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
/// ")?;
/// let inventory = paved::Inventory::new(&cluster).complete_namespaces(["shop"]);
/// let ctx = paved::Context::parse_at("2026-06-01")?.inventory(inventory);
/// # Ok::<(), paved::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// By `group/kind`: the objects in the index's order (the last given of a namespace and
    /// name wins), laid out so that an evaluation's index takes them without reading them.
    kinds: BTreeMap<String, Stored>,
    complete: Complete,
}

/// One kind's objects, sorted by namespace and name, and where each was read.
#[derive(Debug, Clone, Default)]
struct Stored {
    values: Vec<Value>,
    names: Vec<String>,
    spaces: Vec<String>,
    sources: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
enum Complete {
    #[default]
    Nothing,
    All,
    Namespaces(BTreeSet<String>),
}

impl Inventory {
    /// An inventory of `resources` (as `kubectl get -A -o yaml` exports them: namespaced
    /// objects name their namespace), complete for no namespace.
    pub fn new(resources: &[Resource]) -> Inventory {
        Inventory::of(resources, "default", &k8s::schema::Crds::default())
    }

    /// An inventory of the objects in the YAML/JSON files under `paths` (`List`s unpacked).
    pub fn read<P: Into<PathBuf> + Clone>(paths: &[P]) -> Result<Inventory, Error> {
        Ok(Inventory::new(&Resource::from_paths(paths)?))
    }

    /// Says the inventory holds every object of every namespace (and every cluster-scoped
    /// object): what it does not hold does not exist.
    pub fn complete_all(mut self) -> Inventory {
        self.complete = Complete::All;
        self
    }

    /// Says the inventory holds every object of these namespaces.
    pub fn complete_namespaces<S: Into<String>>(mut self, namespaces: impl IntoIterator<Item = S>) -> Inventory {
        let mut set = match std::mem::take(&mut self.complete) {
            Complete::All => return self.complete_all(),
            Complete::Namespaces(set) => set,
            Complete::Nothing => BTreeSet::new(),
        };
        set.extend(namespaces.into_iter().map(Into::into));
        self.complete = Complete::Namespaces(set);
        self
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.kinds.values().map(|k| k.values.len()).sum()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An inventory of `resources`; of two of the same kind, namespace and name the later is
    /// kept; a namespaced object that names no namespace is in `namespace`.
    fn of(resources: &[Resource], namespace: &str, crds: &k8s::schema::Crds) -> Inventory {
        let mut sorted = BTreeMap::new();
        for (r, value) in resources.iter().zip(Inventory::placed(resources, namespace, crds)) {
            let value = value.into_owned();
            let (group, kind, ns, name) = Entry::new(&value, Source::Nowhere).key();
            let key = (format!("{group}/{kind}"), ns.to_owned(), name.to_owned());
            let source = r.source_of("").map(|s| format!("{}:{}", s.file, s.line)).unwrap_or_default();
            sorted.insert(key, (value, source));
        }
        let mut kinds: BTreeMap<String, Stored> = BTreeMap::new();
        for ((kind, ns, name), (value, source)) in sorted {
            let stored = kinds.entry(kind).or_default();
            stored.values.push(value);
            stored.names.push(name);
            stored.spaces.push(ns);
            stored.sources.push(source);
        }
        Inventory { kinds, complete: Complete::Nothing }
    }

    /// The objects of a kind.
    pub(crate) fn objects_of<'s>(&'s self, api_version: &'s str, kind: &'s str) -> impl Iterator<Item = &'s Value> {
        let group = k8s::split_api_version(api_version).0;
        let stored = self.kinds.get(&format!("{group}/{kind}"));
        stored
            .into_iter()
            .flat_map(|s| &s.values)
            .filter(move |v| v.get("apiVersion").and_then(Value::as_str) == Some(api_version))
    }

    /// `resources` as the inventory holds them: a namespaced object that names no namespace is
    /// a copy placed in `namespace` (the one it is applied into); the others are borrowed.
    pub(crate) fn placed<'r>(
        resources: &'r [Resource],
        namespace: &str,
        crds: &k8s::schema::Crds,
    ) -> Vec<Cow<'r, Value>> {
        let text = |v: &'r Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or_default();
        resources
            .iter()
            .map(|r| {
                let named = r.value.get("metadata").is_some_and(|m| !text(m, "namespace").is_empty());
                let group = k8s::split_api_version(text(&r.value, "apiVersion")).0;
                if named || !k8s::namespaced(group, text(&r.value, "kind"), crds) {
                    return Cow::Borrowed(&r.value);
                }
                let mut value = r.value.clone();
                if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.insert("namespace".into(), namespace.into());
                }
                Cow::Owned(value)
            })
            .collect()
    }

    /// The index CEL reads: the `given` objects with the evaluated `resources` over them, as
    /// [`Inventory::placed`] places them (`placed`). The given objects are already in the
    /// index's order (by kind, namespace and name), so they are taken as they come, with no
    /// sorting or hashing of each; the few evaluated resources are put in their places.
    pub(crate) fn index<'a>(
        given: Option<&'a Inventory>,
        resources: &'a [Resource],
        placed: &'a [Cow<'a, Value>],
    ) -> Index<'a> {
        let mut index = Index::empty();
        for (kind, s) in given.into_iter().flat_map(|g| &g.kinds) {
            let sorted = Sorted { values: &s.values, names: &s.names, spaces: &s.spaces, sources: &s.sources };
            index.given(kind.clone(), sorted);
        }
        for (r, value) in resources.iter().zip(placed) {
            let source = r.origin.as_ref().map_or(Source::Nowhere, |o| Source::At(&o.file, o.locate("").line));
            index.put(Entry::new(value, source));
        }
        match given.map(|g| &g.complete) {
            Some(Complete::All) => index.complete_all = true,
            Some(Complete::Namespaces(set)) => index.complete = set.iter().map(String::as_str).collect(),
            Some(Complete::Nothing) | None => {}
        }
        index
    }
}

/// What the loaded policies read through the inventory: the kinds a server keeps for them (as
/// `paved serve` watches them in the cluster), so that what it judges at admission is what
/// `paved check --inventory` judges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InventoryNeeds {
    /// Kinds as `(group, version, kind)`: what `inventory` calls name (a call may name the group
    /// alone: the version is then empty, any the cluster serves), and the kinds Gatekeeper's sync
    /// configuration gives Rego's `data.inventory`.
    pub kinds: Vec<(String, String, String)>,
    /// Kinds as `(group, version, resource)`: what Kyverno's `resource.Get`/`List` name.
    pub resources: Vec<(String, String, String)>,
    /// The policies that read kinds known only as they run (a kind that is not a literal, or
    /// Rego's `data.inventory` with no sync configuration): what they read cannot be kept.
    pub unknown: Vec<String>,
    /// The kinds of `kinds` of which no policy reads more than the objects' `metadata` (they
    /// count them, test for one, or read names, labels and annotations): a server may keep only
    /// that of them.
    pub metadata_only: Vec<(String, String, String)>,
}

/// `(group, version)` of an `apiVersion` as the inventory's calls take it: `group/version`,
/// a core version (`v1`), or a group alone.
fn group_version(api_version: &str) -> (String, String) {
    match api_version.split_once('/') {
        Some((g, v)) => (g.to_owned(), v.to_owned()),
        None if crate::cel::lookup::is_core_version(api_version) => (String::new(), api_version.to_owned()),
        None => (api_version.to_owned(), String::new()),
    }
}

impl super::Engine {
    /// What the loaded policies read through the inventory.
    pub fn inventory_needs(&self) -> InventoryNeeds {
        let mut needs = InventoryNeeds::default();
        // The kinds read whole, by group and kind; `None` when a read of a kind known only as
        // it runs may be whole, so any kind may.
        let mut whole: Option<Vec<(String, String)>> = Some(Vec::new());
        for p in self.policies.iter().filter(|p| p.inventory.any) {
            let rego = p.rules.iter().any(|r| r.id == crate::compile::gatekeeper::REGO_RULE && !r.uses_cel);
            if rego {
                let synced = self.synced.iter().map(|g| (g.group.clone(), g.version.clone(), g.kind.clone()));
                needs.kinds.extend(synced);
                if let Some(w) = whole.as_mut() {
                    w.extend(self.synced.iter().map(|g| (g.group.clone(), g.kind.clone())));
                }
                if self.synced.is_empty() {
                    needs.unknown.push(p.reported_name().to_owned());
                    whole = None;
                }
                continue;
            }
            let into = if p.form == crate::cel::Form::Kyverno { &mut needs.resources } else { &mut needs.kinds };
            for read in &p.inventory.kinds {
                match &read.kind {
                    Some((api_version, kind)) => {
                        let (group, version) = group_version(api_version);
                        if let Some(w) = whole.as_mut().filter(|_| read.whole) {
                            w.push((group.clone(), kind.clone()));
                        }
                        into.push((group, version, kind.clone()));
                    }
                    None => {
                        needs.unknown.push(p.reported_name().to_owned());
                        whole = whole.filter(|_| !read.whole);
                    }
                }
            }
        }
        if let Some(whole) = whole {
            let kinds = needs.kinds.iter().filter(|(g, _, k)| !whole.iter().any(|(wg, wk)| wg == g && wk == k));
            needs.metadata_only = kinds.cloned().collect();
            needs.metadata_only.sort();
            needs.metadata_only.dedup();
        }
        needs.kinds.sort();
        needs.kinds.dedup();
        needs.resources.sort();
        needs.resources.dedup();
        needs.unknown.sort();
        needs.unknown.dedup();
        needs
    }
}
