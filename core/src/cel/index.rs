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
    kinds: HashMap<String, Objects<'a>>,
    pub(crate) complete_all: bool,
    pub(crate) complete: BTreeSet<&'a str>,
}

/// Objects sorted by namespace and name, with their names, namespaces and where each was read.
#[derive(Clone, Copy)]
pub(crate) struct Sorted<'a> {
    pub(crate) values: &'a [Json],
    pub(crate) names: &'a [String],
    pub(crate) spaces: &'a [String],
    pub(crate) sources: &'a [String],
}

/// One kind's objects, sorted by namespace, then name.
pub(crate) struct Objects<'a> {
    pub(super) objects: Vec<&'a Json>,
    pub(super) names: Vec<&'a str>,
    /// Each object's namespace.
    spaces: Vec<&'a str>,
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
        self.kinds().flat_map(|(_, k)| k.objects.iter().copied())
    }

    /// The objects of a kind (`GROUP/Kind`).
    pub(crate) fn kind(&self, key: &str) -> Option<&Objects<'a>> {
        self.kinds.get(key)
    }

    /// Every kind, by `GROUP/Kind`, in no particular order.
    pub(crate) fn kinds(&self) -> impl Iterator<Item = (&str, &Objects<'a>)> + '_ {
        self.kinds.iter().map(|(key, objects)| (key.as_str(), objects))
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
    /// An index of nothing, complete for no namespace.
    pub(crate) fn empty() -> Index<'a> {
        Index { kinds: HashMap::new(), complete_all: false, complete: BTreeSet::new() }
    }

    /// Gives the index a kind's objects (`GROUP/Kind`), sorted: they are taken as they are,
    /// with nothing of them read but their names and namespaces.
    pub(crate) fn given(&mut self, kind: String, sorted: Sorted<'a>) {
        self.kinds.insert(kind, Objects::sorted(sorted));
    }

    /// Puts `entry` over the kind's objects, instead of the one of its namespace and name
    /// (see [`Objects::put`]); of two put, the later wins.
    pub(crate) fn put(&mut self, entry: Entry<'a>) {
        let (group, kind, _, _) = entry.key;
        self.kinds.entry(format!("{group}/{kind}")).or_default().put(entry);
    }
}

impl fmt::Debug for Index<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let objects: usize = self.kinds.len();
        write!(f, "inventory of {objects} objects")
    }
}

impl Default for Objects<'_> {
    fn default() -> Self {
        Objects {
            objects: Vec::new(),
            names: Vec::new(),
            spaces: Vec::new(),
            sources: Vec::new(),
            namespaces: HashMap::new(),
            leaves: OnceLock::new(),
            selectors: OnceLock::new(),
        }
    }
}

impl<'a> Objects<'a> {
    /// Objects already sorted, taken as they are: nothing of them is read but their names and
    /// namespaces.
    fn sorted(given: Sorted<'a>) -> Objects<'a> {
        let mut namespaces = HashMap::new();
        let mut start = 0;
        for (at, ns) in given.spaces.iter().enumerate() {
            if given.spaces.get(at + 1) != Some(ns) {
                namespaces.insert(ns.as_str(), (start, at + 1));
                start = at + 1;
            }
        }
        // Room for the evaluated objects a put adds, so that it moves objects without growing.
        fn with_room<T>(items: impl ExactSizeIterator<Item = T>) -> Vec<T> {
            let mut out = Vec::with_capacity(items.len() + 4);
            out.extend(items);
            out
        }
        Objects {
            objects: with_room(given.values.iter()),
            names: with_room(given.names.iter().map(String::as_str)),
            spaces: with_room(given.spaces.iter().map(String::as_str)),
            sources: with_room(given.sources.iter().map(|s| Source::Text(s))),
            namespaces,
            ..Objects::default()
        }
    }

    /// Puts `entry` in its place: instead of the object of its namespace and name, or where it
    /// sorts.
    fn put(&mut self, entry: Entry<'a>) {
        let (_, _, namespace, name) = entry.key;
        let key = |i: usize| {
            (self.spaces.get(i).copied().unwrap_or_default(), self.names.get(i).copied().unwrap_or_default())
        };
        let (mut low, mut high) = (0, self.objects.len());
        while low < high {
            let mid = (low + high) / 2;
            if key(mid) < (namespace, name) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        if low < self.objects.len() && key(low) == (namespace, name) {
            if let (Some(o), Some(s)) = (self.objects.get_mut(low), self.sources.get_mut(low)) {
                (*o, *s) = (entry.object, entry.source);
            }
            return;
        }
        self.objects.insert(low, entry.object);
        self.names.insert(low, name);
        self.spaces.insert(low, namespace);
        self.sources.insert(low, entry.source);
        for (ns, range) in self.namespaces.iter_mut() {
            if *ns == namespace {
                range.1 += 1;
            } else if range.0 >= low {
                (range.0, range.1) = (range.0 + 1, range.1 + 1);
            }
        }
        self.namespaces.entry(namespace).or_insert((low, low + 1));
    }

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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use serde_json::json;

    use super::{Entry, Index, Sorted, Source};

    fn object(ns: &str, name: &str, version: u32) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": ns, "name": name}, "v": version})
    }

    proptest! {
        /// Objects put over sorted given ones read as the two merged by a map: by namespace and
        /// name, the put ones winning, the later of two put.
        #[test]
        fn put_objects_take_their_places_among_the_given(
            given in proptest::collection::btree_set((0..4_u8, 0..6_u8), 0..20),
            put in proptest::collection::vec((0..5_u8, 0..7_u8), 0..8),
        ) {
            let key = |(ns, name): (u8, u8)| (format!("ns{ns}"), format!("n{name}"));
            let given: Vec<(String, String)> = given.into_iter().map(key).collect();
            let values: Vec<serde_json::Value> = given.iter().map(|(ns, n)| object(ns, n, 0)).collect();
            let names: Vec<String> = given.iter().map(|(_, n)| n.clone()).collect();
            let spaces: Vec<String> = given.iter().map(|(ns, _)| ns.clone()).collect();
            let sources = vec![String::new(); given.len()];
            let put: Vec<serde_json::Value> =
                put.into_iter().enumerate().map(|(i, k)| { let (ns, n) = key(k); object(&ns, &n, u32::try_from(i).unwrap() + 1) }).collect();
            let mut index = Index::empty();
            index.given("/Pod".into(), Sorted { values: &values, names: &names, spaces: &spaces, sources: &sources });
            let mut model: BTreeMap<(String, String), &serde_json::Value> =
                given.iter().cloned().zip(values.iter()).collect();
            for p in &put {
                index.put(Entry::new(p, Source::Nowhere));
                let meta = &p["metadata"];
                model.insert((meta["namespace"].as_str().unwrap().into(), meta["name"].as_str().unwrap().into()), p);
            }
            let objects = index.kind("/Pod").unwrap();
            let all: Vec<&serde_json::Value> = objects.objects.clone();
            prop_assert_eq!(all, model.values().copied().collect::<Vec<_>>());
            for ns in (0..5).map(|n| format!("ns{n}")) {
                let want: Vec<&serde_json::Value> = model.iter().filter(|((n, _), _)| *n == ns).map(|(_, v)| *v).collect();
                prop_assert_eq!(objects.in_namespace(&ns).to_vec(), want);
                for ((n, name), v) in model.iter().filter(|((n, _), _)| *n == ns) {
                    prop_assert_eq!(objects.find(n, name).and_then(|i| objects.objects.get(i)).copied(), Some(*v));
                }
            }
        }
    }
}
