//! The inventory: the other objects of the platform that a policy may look up, as `inventory`
//! in CEL (a PodDisruptionBudget that selects a Deployment's pods, another Ingress that claims
//! the same host, the ResourceQuota of a namespace).
//!
//! An evaluation's inventory is the objects it is given ([`Inventory`], from a live cluster's
//! export or a repository) together with the evaluated resources themselves, which replace a
//! given object of the same kind, namespace and name (they are the newer, desired state). It is
//! indexed once per evaluation into a JSON value that CEL reads where it is (`cel::inventory`
//! knows its layout):
//!
//! ```text
//! {"complete": bool, "completeNamespaces": [..],
//!  "kinds": {"GROUP/Kind": {"objects": [.. sorted by namespace, then name ..],
//!                           "sources": ["file:line" or "", .. one per object],
//!                           "namespaces": {"NS": [start, end], ..},
//!                           "leaves": {"/spec/x/y=VALUE": [positions], ..},
//!                           "selectors": {"LABEL=VALUE": [positions], "*": [..]}}}}
//! ```
//!
//! `leaves` and `selectors` are inverted indexes (built by `lookups`), so that `containing` and
//! `selecting` look at candidates rather than at every object of a namespace.
//!
//! `GROUP` is empty for the core group; every version of a kind is one kind. Objects are listed
//! in one order, whatever the order they came in, so reports do not depend on it.
//!
//! **Partial views.** An inventory may hold only part of a namespace (a repository of some of a
//! team's services). Whether "no such object" means absent or only out of view is the
//! inventory's *completeness*: a rule that requires an object to exist asks
//! `inventory.complete(namespace)` and only denies when the namespace is complete. Nothing is
//! complete unless the caller says so ([`Inventory::complete_all`],
//! [`Inventory::complete_namespaces`], `paved check --inventory-complete`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{json, Map, Value};

use crate::error::Error;
use crate::k8s;
use crate::resource::Resource;

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
    /// By (group, kind, namespace, name), with where each was read; the last given wins.
    objects: BTreeMap<(String, String, String, String), (Value, String)>,
    complete: Complete,
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
        let mut inventory = Inventory::default();
        inventory.add(resources, "default", &k8s::schema::Crds::default());
        inventory
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
        self.objects.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// Adds `resources`, replacing objects of the same kind, namespace and name; a namespaced
    /// object that names no namespace is in `namespace`.
    fn add(&mut self, resources: &[Resource], namespace: &str, crds: &k8s::schema::Crds) {
        for r in resources {
            let id = r.identity();
            let group = k8s::split_api_version(&id.api_version).0.to_owned();
            let mut value = r.value().clone();
            let ns = if id.namespace.is_empty() && k8s::namespaced(&group, &id.kind, crds) {
                if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.insert("namespace".into(), namespace.into());
                }
                namespace.to_owned()
            } else {
                id.namespace
            };
            let source = r.source_of("").map(|s| format!("{}:{}", s.file, s.line)).unwrap_or_default();
            self.objects.insert((group, id.kind, ns, id.name), (value, source));
        }
    }

    /// The index CEL reads: these objects with the evaluated `resources` over them.
    pub(crate) fn index(
        given: Option<&Inventory>,
        resources: &[Resource],
        namespace: &str,
        crds: &k8s::schema::Crds,
    ) -> Value {
        let mut all = given.cloned().unwrap_or_default();
        all.add(resources, namespace, crds);
        // Per kind: its objects, where each was read, and each namespace's range of them.
        type Indexed = (Vec<Value>, Vec<Value>, Map<String, Value>);
        let mut kinds: BTreeMap<String, Indexed> = BTreeMap::new();
        // The map is ordered by (group, kind, namespace, name): each kind's objects come sorted.
        for ((group, kind, ns, _), (value, source)) in all.objects {
            let (objects, sources, namespaces) = kinds.entry(format!("{group}/{kind}")).or_default();
            let at = objects.len();
            objects.push(value);
            sources.push(source.into());
            match namespaces.get_mut(&ns) {
                Some(Value::Array(range)) => {
                    if let Some(end) = range.get_mut(1) {
                        *end = json!(at + 1);
                    }
                }
                _ => {
                    namespaces.insert(ns, json!([at, at + 1]));
                }
            }
        }
        let kinds: Map<String, Value> = kinds
            .into_iter()
            .map(|(k, (objects, sources, namespaces))| {
                let (leaves, selectors) = lookups(&objects);
                // Moved in, not through `json!`, which would copy every object.
                let entry = Map::from_iter([
                    ("objects".to_owned(), Value::Array(objects)),
                    ("sources".to_owned(), Value::Array(sources)),
                    ("namespaces".to_owned(), Value::Object(namespaces)),
                    ("leaves".to_owned(), Value::Object(leaves)),
                    ("selectors".to_owned(), Value::Object(selectors)),
                ]);
                (k, Value::Object(entry))
            })
            .collect();
        let (complete, namespaces) = match all.complete {
            Complete::All => (true, Vec::new()),
            Complete::Nothing => (false, Vec::new()),
            Complete::Namespaces(set) => (false, set.into_iter().collect()),
        };
        Value::Object(Map::from_iter([
            ("complete".to_owned(), Value::Bool(complete)),
            ("completeNamespaces".to_owned(), namespaces.into()),
            ("kinds".to_owned(), Value::Object(kinds)),
        ]))
    }
}

/// The inverted indexes of one kind's objects, so that lookups do not scan them:
///
/// - `leaves`: `POINTER=VALUE` (`cel::inventory::indexed_leaves`) to the objects, by position;
/// - `selectors`: `KEY=VALUE` to the objects whose selector (`spec.selector`, or
///   `spec.podSelector`) requires that label, and `*` to those whose selector requires none
///   (empty, or only `matchExpressions`).
fn lookups(objects: &[Value]) -> (Map<String, Value>, Map<String, Value>) {
    let mut leaves: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut selectors: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (at, o) in objects.iter().enumerate() {
        for leaf in crate::cel::inventory::indexed_leaves(o) {
            leaves.entry(leaf).or_default().push(at);
        }
        let spec = o.get("spec");
        let Some(selector) = spec.and_then(|s| s.get("selector").or_else(|| s.get("podSelector"))) else { continue };
        let Some(selector) = selector.as_object() else { continue };
        let structured =
            selector.is_empty() || selector.contains_key("matchLabels") || selector.contains_key("matchExpressions");
        let pairs = if structured { selector.get("matchLabels").and_then(Value::as_object) } else { Some(selector) };
        let mut required = pairs.into_iter().flatten().filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")));
        match required.next() {
            // One required label is enough to find it: every selected set of labels has it.
            Some(first) => selectors.entry(first).or_default().push(at),
            None => selectors.entry("*".into()).or_default().push(at),
        }
    }
    let json = |m: BTreeMap<String, Vec<usize>>| m.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
    (json(leaves), json(selectors))
}
