//! The inventory's index: the objects a policy may look up, borrowed, sorted by kind,
//! namespace and name, with a kind's inverted indexes (`leaves` for `containing`, `selectors`
//! for `selecting`) built the first time a lookup needs them.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::OnceLock;

use serde_json::Value as Json;

/// The objects a policy may look up, by kind (`GROUP/Kind`, every version one kind), then
/// namespace, then name; and which namespaces it holds completely.
pub(crate) struct Index<'a> {
    pub(super) kinds: HashMap<String, Objects<'a>>,
    pub(super) complete_all: bool,
    pub(super) complete: BTreeSet<&'a str>,
}

/// One kind's objects, sorted by namespace, then name.
pub(super) struct Objects<'a> {
    pub(super) objects: Vec<&'a Json>,
    pub(super) names: Vec<&'a str>,
    /// Where each was read.
    pub(super) sources: Vec<Source<'a>>,
    /// Each namespace's range of `objects` (`""`: cluster-scoped).
    pub(super) namespaces: HashMap<&'a str, (usize, usize)>,
    /// `POINTER=VALUE` ([`indexed_leaves`]) to the positions of the objects that hold it.
    pub(super) leaves: OnceLock<HashMap<String, Vec<usize>>>,
    /// `KEY=VALUE` to the positions of the objects whose selector (`spec.selector`, or
    /// `spec.podSelector`) requires that label, and `*` to those whose selector requires none
    /// (empty, or only `matchExpressions`).
    pub(super) selectors: OnceLock<HashMap<String, Vec<usize>>>,
}

/// Where an object was read: `file:line` as text, a file and a line (written out only when a
/// policy asks), or nowhere.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source<'a> {
    Text(&'a str),
    At(&'a str, u32),
    Nowhere,
}

/// An object for the index, and where it was read.
pub(crate) struct Entry<'a> {
    pub(super) key: (&'a str, &'a str, &'a str, &'a str),
    pub(super) object: &'a Json,
    pub(super) source: Source<'a>,
}

impl<'a> Entry<'a> {
    /// `object`, known by its own apiVersion, kind, `metadata.namespace` and `metadata.name`
    /// (or `generateName`).
    pub(crate) fn new(object: &'a Json, source: Source<'a>) -> Entry<'a> {
        let field = |v: Option<&'a Json>| v.and_then(Json::as_str).unwrap_or_default();
        let meta = object.get("metadata");
        let api_version = field(object.get("apiVersion"));
        let group = api_version.split_once('/').map_or("", |(group, _)| group);
        let name = meta.and_then(|m| m.get("name")).or_else(|| meta.and_then(|m| m.get("generateName")));
        let key = (group, field(object.get("kind")), field(meta.and_then(|m| m.get("namespace"))), field(name));
        Entry { key, object, source }
    }

    /// Its group, kind, namespace and name.
    pub(crate) fn key(&self) -> (&'a str, &'a str, &'a str, &'a str) {
        self.key
    }
}

impl<'a> Index<'a> {
    /// The index of `entries`; of two with the same kind, namespace and name the later one is
    /// kept. Nothing is complete unless `complete_all`, or the namespace is in `complete`.
    pub(crate) fn new(entries: Vec<Entry<'a>>, complete_all: bool, complete: BTreeSet<&'a str>) -> Index<'a> {
        // By kind first, so that sorting compares namespaces and names only.
        let mut by_kind: HashMap<(&str, &str), Vec<(usize, Entry<'a>)>> = HashMap::new();
        for (at, e) in entries.into_iter().enumerate() {
            by_kind.entry((e.key.0, e.key.1)).or_default().push((at, e));
        }
        let kinds = by_kind
            .into_iter()
            .map(|((group, kind), mut entries)| {
                // Of two entries with one namespace and name, the later one is kept.
                entries.sort_unstable_by(|(i, a), (j, b)| (a.key.2, a.key.3, i).cmp(&(b.key.2, b.key.3, j)));
                let mut objects = Objects::default();
                let mut entries = entries.into_iter().peekable();
                while let Some((_, e)) = entries.next() {
                    if entries.peek().is_some_and(|(_, next)| next.key == e.key) {
                        continue;
                    }
                    let at = objects.objects.len();
                    objects.objects.push(e.object);
                    objects.names.push(e.key.3);
                    objects.sources.push(e.source);
                    objects.namespaces.entry(e.key.2).or_insert((at, at)).1 = at + 1;
                }
                (format!("{group}/{kind}"), objects)
            })
            .collect();
        Index { kinds, complete_all, complete }
    }
}

impl fmt::Debug for Index<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let objects: usize = self.kinds.values().map(|k| k.objects.len()).sum();
        write!(f, "inventory of {objects} objects")
    }
}

impl Default for Objects<'_> {
    fn default() -> Self {
        Objects {
            objects: Vec::new(),
            names: Vec::new(),
            sources: Vec::new(),
            namespaces: HashMap::new(),
            leaves: OnceLock::new(),
            selectors: OnceLock::new(),
        }
    }
}

impl<'a> Objects<'a> {
    /// The positions of a namespace's objects (empty when it has none).
    pub(super) fn range(&self, namespace: &str) -> (usize, usize) {
        self.namespaces.get(namespace).copied().unwrap_or((0, 0))
    }

    pub(super) fn in_namespace(&self, namespace: &str) -> &[&'a Json] {
        let (start, end) = self.range(namespace);
        self.objects.get(start..end).unwrap_or_default()
    }

    /// The position of an object, by namespace and name.
    pub(super) fn find(&self, namespace: &str, name: &str) -> Option<usize> {
        let (start, end) = self.range(namespace);
        let names = self.names.get(start..end)?;
        names.binary_search(&name).ok().map(|i| start + i)
    }

    pub(super) fn leaves(&self) -> &HashMap<String, Vec<usize>> {
        self.leaves.get_or_init(|| {
            let mut leaves: HashMap<String, Vec<usize>> = HashMap::new();
            for (at, o) in self.objects.iter().enumerate() {
                for leaf in indexed_leaves(o) {
                    leaves.entry(leaf).or_default().push(at);
                }
            }
            leaves
        })
    }

    pub(super) fn selectors(&self) -> &HashMap<String, Vec<usize>> {
        self.selectors.get_or_init(|| {
            let mut selectors: HashMap<String, Vec<usize>> = HashMap::new();
            for (at, o) in self.objects.iter().enumerate() {
                let Some(selector) = selector_of(o).and_then(Json::as_object) else { continue };
                let mut required = required_labels(selector);
                match required.next() {
                    // One required label is enough to find it: every selected set of labels has it.
                    Some((k, v)) => selectors.entry(format!("{k}={v}")).or_default().push(at),
                    None => selectors.entry("*".into()).or_default().push(at),
                }
            }
            selectors
        })
    }
}

/// An object's `spec.selector`, or its `spec.podSelector` (a NetworkPolicy's).
pub(super) fn selector_of(o: &Json) -> Option<&Json> {
    let spec = o.get("spec")?;
    spec.get("selector").or_else(|| spec.get("podSelector"))
}

/// Whether a selector is a LabelSelector (`matchLabels`, `matchExpressions`; empty selects
/// everything) rather than a plain map of labels (a Service's; empty selects nothing).
pub(super) fn structured(selector: &serde_json::Map<String, Json>) -> bool {
    selector.is_empty() || selector.contains_key("matchLabels") || selector.contains_key("matchExpressions")
}

/// The labels a selector requires, with their values.
pub(super) fn required_labels(selector: &serde_json::Map<String, Json>) -> impl Iterator<Item = (&String, &str)> {
    let pairs =
        if structured(selector) { selector.get("matchLabels").and_then(Json::as_object) } else { Some(selector) };
    pairs.into_iter().flatten().filter_map(|(k, v)| v.as_str().map(|v| (k, v)))
}

/// How deep into an object its string fields are indexed (`/spec/scaleTargetRef/name` is 3).
const LEAF_DEPTH: usize = 4;

/// `POINTER=VALUE` of each string field of `v` under `spec` or `metadata.labels`, reached
/// through maps only: the keys of the index's `leaves`, both when the inventory module builds it
/// and when `containing` looks a needle up in it.
pub(crate) fn indexed_leaves(v: &Json) -> Vec<String> {
    pub(super) fn walk(v: &Json, path: &mut String, depth: usize, out: &mut Vec<String>) {
        match v {
            Json::String(s) => out.push(format!("{path}={s}")),
            Json::Object(m) if depth < LEAF_DEPTH => {
                for (k, v) in m {
                    let indexed = match path.as_str() {
                        "" => k == "spec" || k == "metadata",
                        "/metadata" => k == "labels",
                        _ => true,
                    };
                    if !indexed {
                        continue;
                    }
                    let len = path.len();
                    path.push('/');
                    path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    walk(v, path, depth + 1, out);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut String::new(), 0, &mut out);
    out
}
