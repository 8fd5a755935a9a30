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
    /// `POINTER=VALUE` ([`leaves`]) to the objects that hold it, and where in their lists.
    pub(super) leaves: OnceLock<Leaves>,
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

impl<'a> Index<'a> {
    /// Every object it holds, in no particular order.
    pub(crate) fn objects(&self) -> impl Iterator<Item = &'a Json> + '_ {
        self.kinds.values().flat_map(|k| k.objects.iter().copied())
    }
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

    pub(super) fn leaves(&self) -> &Leaves {
        self.leaves.get_or_init(|| {
            let mut index = Leaves::default();
            for (at, o) in self.objects.iter().enumerate() {
                leaves(o, &mut |leaf, items| {
                    let start = index.items.len();
                    index.items.extend_from_slice(items);
                    index.postings.entry(leaf_hash(leaf)).or_default().push(Posting { object: at, items: start });
                });
            }
            index
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

/// A kind's string fields, by the hash of `POINTER=VALUE` ([`leaf_hash`]): the inverted index
/// `containing` looks a needle's strings up in. Two leaves of one hash share their postings;
/// the lookup compares every candidate with the needle, so that costs time, never an answer.
#[derive(Default)]
pub(super) struct Leaves {
    pub(super) postings: HashMap<u64, smallvec::SmallVec<[Posting; 1]>, foldhash::fast::FixedState>,
    /// The positions in their lists of the items each posting's field is in, end to end: as
    /// many for a posting as its pointer passes through lists (`~*` segments).
    pub(super) items: Vec<u32>,
}

/// One object's field: the object's position, and where its list positions start in
/// [`Leaves::items`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Posting {
    pub(super) object: usize,
    pub(super) items: usize,
}

/// The key of a leaf in [`Leaves`].
pub(super) fn leaf_hash(leaf: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(0).hash_one(leaf)
}

/// Appends a map key to a pointer, `~`, `/` and `=` escaped as `~0`, `~1` and `~2` (so the
/// pointer of `POINTER=VALUE` ends at its first `=`).
fn push_key(path: &mut String, key: &str) {
    for c in key.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            '=' => path.push_str("~2"),
            c => path.push(c),
        }
    }
}

/// A step of a leaf's pointer: a map's field, or a list's item.
#[derive(Debug, PartialEq)]
pub(super) enum Step {
    Field(String),
    Item,
}

/// The steps of the pointer of `POINTER=VALUE`.
pub(super) fn steps(leaf: &str) -> Vec<Step> {
    let pointer = leaf.split_once('=').map_or(leaf, |(pointer, _)| pointer);
    let unescape = |s: &str| {
        if s.contains('~') {
            s.replace("~2", "=").replace("~1", "/").replace("~0", "~")
        } else {
            s.to_owned()
        }
    };
    let segment = |s: &str| if s == ITEM { Step::Item } else { Step::Field(unescape(s)) };
    pointer.split('/').skip(1).map(segment).collect()
}

/// How deep into an object its string fields are indexed, counting map fields and list items
/// (`/spec/rules/~*/http/paths/~*/path` is 7).
const LEAF_DEPTH: usize = 8;

/// The pointer segment of a list's items: `~` followed by neither `0`, `1` nor `2` is never an
/// escaped key.
pub(super) const ITEM: &str = "~*";

/// Calls `leaf` with `POINTER=VALUE` and the positions of the list items on its way, for each
/// string field of `v` under `spec` or `metadata.labels` (lists' items are `~*` in the pointer):
/// the keys of the index's `leaves`, both when the inventory builds it and when `containing`
/// looks a needle up in it.
pub(crate) fn leaves(v: &Json, leaf: &mut dyn FnMut(&str, &[u32])) {
    struct Walk<'f> {
        path: String,
        items: Vec<u32>,
        leaf: &'f mut dyn FnMut(&str, &[u32]),
    }
    impl Walk<'_> {
        fn visit(&mut self, v: &Json, depth: usize) {
            match v {
                Json::String(s) => {
                    let len = self.path.len();
                    self.path.push('=');
                    self.path.push_str(s);
                    (self.leaf)(&self.path, &self.items);
                    self.path.truncate(len);
                }
                Json::Object(m) if depth < LEAF_DEPTH => {
                    for (k, v) in m {
                        let indexed = match self.path.as_str() {
                            "" => k == "spec" || k == "metadata",
                            "/metadata" => k == "labels",
                            _ => true,
                        };
                        if indexed {
                            let len = self.path.len();
                            self.path.push('/');
                            push_key(&mut self.path, k);
                            self.visit(v, depth + 1);
                            self.path.truncate(len);
                        }
                    }
                }
                Json::Array(items) if depth < LEAF_DEPTH && !self.path.is_empty() => {
                    let len = self.path.len();
                    self.path.push('/');
                    self.path.push_str(ITEM);
                    for (at, v) in items.iter().enumerate() {
                        self.items.push(u32::try_from(at).unwrap_or(u32::MAX));
                        self.visit(v, depth + 1);
                        self.items.pop();
                    }
                    self.path.truncate(len);
                }
                _ => {}
            }
        }
    }
    Walk { path: String::new(), items: Vec::new(), leaf }.visit(v, 0);
}
