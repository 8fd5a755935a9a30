//! The inventory's functions (`inventory.list(...)`, `get`, `selecting`, `containing`,
//! `complete`, `source`) over its [`Index`]. A list they give is the index's own slice; only
//! what a selector or a needle filters is collected.

use std::rc::Rc;

use serde_json::Value as Json;

use super::index::{leaf_hash, leaves, selector_of, steps, structured, Index, Objects, Source, Step};
use super::value::{Error, List, Str, Value};

type R<'a> = Result<Value<'a>, Error>;

/// The index the receiver is.
fn index<'a>(a: &[Value<'a>]) -> Result<&'a Index<'a>, Error> {
    match a.first() {
        Some(Value::Inventory(index)) => Ok(index),
        _ => Err(Error::new("no inventory: this evaluation has none")),
    }
}

fn text<'v>(a: &'v [Value<'_>], i: usize) -> Result<&'v str, Error> {
    a.get(i).and_then(Value::as_str).ok_or_else(|| Error::new("expected a string"))
}

/// `GROUP/Kind` of an apiVersion (`apps/v1`, `v1`) or a bare group (`apps`; every version).
fn kind_key(api_version: &str, kind: &str) -> String {
    let group = match api_version.split_once('/') {
        Some((group, _)) => group,
        None if is_core_version(api_version) => "",
        None => api_version,
    };
    format!("{group}/{kind}")
}

/// `v1`, `v1beta2`, `v2alpha1`: a version of the core group.
pub(crate) fn is_core_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else { return false };
    let digits = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    digits.len() < rest.len()
        && (digits.is_empty()
            || ["alpha", "beta"].iter().any(|p| {
                digits.strip_prefix(p).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            }))
}

/// The objects of the kind the arguments name (apiVersion or group, kind).
fn kind<'a>(a: &[Value<'a>]) -> Result<Option<&'a Objects<'a>>, Error> {
    Ok(index(a)?.kind(&kind_key(text(a, 1)?, text(a, 2)?)))
}

/// The objects at `positions` within `[start, end)`, in order, that `keep`.
fn at_positions<'a>(
    objects: &'a [&'a Json],
    positions: &[usize],
    (start, end): (usize, usize),
    keep: impl Fn(&Json) -> bool,
) -> Value<'a> {
    let mut positions: Vec<usize> = positions.iter().copied().filter(|p| (start..end).contains(p)).collect();
    positions.sort_unstable();
    positions.dedup();
    listed(positions.into_iter().filter_map(|p| objects.get(p).copied()).filter(|o| keep(o)))
}

fn listed<'a>(objects: impl Iterator<Item = &'a Json>) -> Value<'a> {
    Value::list(objects.map(Value::json).collect())
}

fn empty<'a>() -> Value<'a> {
    Value::list(Vec::new())
}

/// `inventory.list(apiVersion, kind[, namespace[, selector]])`: the objects of a kind, in every
/// namespace or in one, or those of one namespace whose labels a selector selects; sorted by
/// namespace, then name.
pub(crate) fn list<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let Some(objects) = kind(a)? else { return Ok(empty()) };
    match a.len() {
        3 => Ok(Value::List(List::Refs(&objects.objects))),
        4 => Ok(Value::List(List::Refs(objects.in_namespace(text(a, 3)?)))),
        _ => {
            let selector = a.get(4).ok_or_else(|| Error::new("missing selector"))?.to_json()?;
            let selected = objects.in_namespace(text(a, 3)?).iter().copied();
            Ok(listed(selected.filter(|o| selects(&selector, o.get("metadata").and_then(|m| m.get("labels"))))))
        }
    }
}

/// `inventory.get(apiVersion, kind, namespace, name)`: the object, if the inventory has it.
pub(crate) fn get<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let (namespace, name) = (text(a, 3)?, text(a, 4)?);
    let found = kind(a)?.and_then(|o| o.objects.get(o.find(namespace, name)?).copied());
    Ok(Value::Optional(found.map(|o| Rc::new(Value::json(o)))))
}

/// `inventory.selecting(apiVersion, kind, namespace, labels)`: the objects of a namespace whose
/// `spec.selector` selects `labels` (a PodDisruptionBudget, a Service, a NetworkPolicy's
/// `spec.podSelector`).
pub(crate) fn selecting<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let labels = a.get(4).ok_or_else(|| Error::new("missing labels"))?.to_json()?;
    let Some(objects) = kind(a)? else { return Ok(empty()) };
    let selectors = objects.selectors();
    // A selector that requires a label is indexed under one it requires: the labels' own pairs
    // find every candidate, and the ones that require none are candidates always.
    let mut candidates: Vec<usize> = selectors.get("*").cloned().unwrap_or_default();
    for (k, v) in labels.as_object().into_iter().flatten() {
        if let Some(v) = v.as_str() {
            candidates.extend(selectors.get(&format!("{k}={v}")).into_iter().flatten());
        }
    }
    let keep = |o: &Json| selector_of(o).is_some_and(|s| selects(s, Some(&labels)));
    Ok(at_positions(&objects.objects, &candidates, objects.range(text(a, 3)?), keep))
}

/// `inventory.containing(apiVersion, kind, needle)`: the objects of a kind, in every namespace,
/// that contain `needle` as PostgreSQL's `@>` says: every field of a map is in the object's
/// map, every item of a list is contained in some item of the object's list, scalars equal.
pub(crate) fn containing<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let needle = a.get(3).ok_or_else(|| Error::new("missing needle"))?.to_json()?;
    let Some(objects) = kind(a)? else { return Ok(empty()) };
    // A needle that names a namespace is looked for in that namespace's objects only.
    let within = match needle.pointer("/metadata/namespace").and_then(Json::as_str) {
        Some(namespace) => objects.range(namespace),
        None => (0, objects.objects.len()),
    };
    // A string of the needle finds its candidates in the index (the string with the fewest),
    // and where in their lists it is: only those items are compared with the needle's.
    let index = objects.leaves();
    let mut wanted: Vec<(String, Vec<u32>)> = Vec::new();
    leaves(&needle, &mut |leaf, items| wanted.push((leaf.to_owned(), items.to_vec())));
    let postings = |leaf: &str| index.postings.get(&leaf_hash(leaf)).map_or(&[][..], |p| p.as_slice());
    let Some((leaf, needle_items)) = wanted.iter().min_by_key(|(leaf, _)| postings(leaf).len()) else {
        let slice = objects.objects.get(within.0..within.1).unwrap_or_default();
        return Ok(listed(slice.iter().copied().filter(|o| contains(o, &needle))));
    };
    let route = steps(leaf);
    let mut found: Vec<&'a Json> = Vec::new();
    let mut last = None;
    for posting in postings(leaf) {
        if !(within.0..within.1).contains(&posting.object) || last == Some(posting.object) {
            continue;
        }
        let Some(object) = objects.objects.get(posting.object).copied() else { continue };
        let items = index.items.get(posting.items..posting.items + needle_items.len()).unwrap_or_default();
        let at: Vec<(u32, u32)> = needle_items.iter().copied().zip(items.iter().copied()).collect();
        if contains_at(object, &needle, &route, &at) {
            found.push(object);
            last = Some(posting.object);
        }
    }
    Ok(listed(found.into_iter()))
}

/// `inventory.source(object)`: where an object of the inventory was read (`file:line`), for
/// messages that name another object; `""` when it was not read from a file.
pub(crate) fn source<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let object = a.get(1).ok_or_else(|| Error::new("missing object"))?;
    let field = |path: &[&str]| -> Option<String> {
        let mut v = object.clone();
        for p in path {
            v = match &v {
                Value::Map(m) => m.field(p)?,
                _ => return None,
            };
        }
        v.as_str().map(str::to_owned)
    };
    let (Some(api_version), Some(kind), Some(name)) =
        (field(&["apiVersion"]), field(&["kind"]), field(&["metadata", "name"]))
    else {
        return Ok(Value::string(""));
    };
    let namespace = field(&["metadata", "namespace"]).unwrap_or_default();
    let objects = index(a)?.kind(&kind_key(&api_version, &kind));
    Ok(match objects.and_then(|o| o.sources.get(o.find(&namespace, &name)?)) {
        Some(Source::Text(text)) => Value::Str(Str::Borrowed(text)),
        Some(Source::At(file, line)) => Value::string(format!("{file}:{line}")),
        Some(Source::Nowhere) | None => Value::Str(Str::Borrowed("")),
    })
}

/// `inventory.complete(namespace)`: whether the inventory holds every object of the namespace,
/// so that what it does not hold does not exist.
pub(crate) fn complete<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let index = index(a)?;
    Ok(Value::Bool(index.complete_all || index.complete.contains(text(a, 1)?)))
}

/// Whether `value` contains `needle` with the needle's item on `route` in the value's item
/// `at` says, at each list the route passes through (`(needle's item, value's item)`): the
/// objects an index lookup finds contain the needle exactly when one of their postings does.
fn contains_at(value: &Json, needle: &Json, route: &[Step], at: &[(u32, u32)]) -> bool {
    let Some((step, route)) = route.split_first() else { return contains(value, needle) };
    match (value, needle, step) {
        (Json::Object(v), Json::Object(n), Step::Field(field)) => n.iter().all(|(k, n)| {
            v.get(k).is_some_and(|v| if k == field { contains_at(v, n, route, at) } else { contains(v, n) })
        }),
        (Json::Array(v), Json::Array(n), Step::Item) => {
            let Some((&(on_route, item), at)) = at.split_first() else { return contains(value, needle) };
            n.iter().zip(0..).all(|(n, i)| {
                if i == on_route {
                    v.get(item as usize).is_some_and(|v| contains_at(v, n, route, at))
                } else {
                    v.iter().any(|v| contains(v, n))
                }
            })
        }
        _ => contains(value, needle),
    }
}

fn contains(value: &Json, needle: &Json) -> bool {
    match (value, needle) {
        (Json::Object(v), Json::Object(n)) => n.iter().all(|(k, n)| v.get(k).is_some_and(|v| contains(v, n))),
        (Json::Array(v), Json::Array(n)) => n.iter().all(|n| v.iter().any(|v| contains(v, n))),
        (Json::Number(v), Json::Number(n)) => v.as_f64() == n.as_f64(),
        (v, n) => v == n,
    }
}

/// Whether a selector selects `labels`: a LabelSelector (`matchLabels`, `matchExpressions`; an
/// empty one selects everything) or a plain map of labels (a Service's; an empty one selects
/// nothing).
pub(crate) fn selects(selector: &Json, labels: Option<&Json>) -> bool {
    let empty = serde_json::Map::new();
    let labels = labels.and_then(Json::as_object).unwrap_or(&empty);
    let label = |k: &str| labels.get(k).and_then(Json::as_str);
    let Some(selector) = selector.as_object() else { return false };
    if !structured(selector) {
        return selector.iter().all(|(k, v)| v.as_str().is_some_and(|v| label(k) == Some(v)));
    }
    let match_labels = selector.get("matchLabels").and_then(Json::as_object).into_iter().flatten();
    let expressions = selector.get("matchExpressions").and_then(Json::as_array).into_iter().flatten();
    match_labels.into_iter().all(|(k, v)| v.as_str().is_some_and(|v| label(k) == Some(v)))
        && expressions.into_iter().all(|e| {
            let key = e.get("key").and_then(Json::as_str).unwrap_or_default();
            let listed = |v: &str| {
                e.get("values").and_then(Json::as_array).is_some_and(|vs| vs.iter().any(|x| x.as_str() == Some(v)))
            };
            match e.get("operator").and_then(Json::as_str) {
                Some("In") => label(key).is_some_and(listed),
                Some("NotIn") => label(key).is_none_or(|v| !listed(v)),
                Some("Exists") => label(key).is_some(),
                Some("DoesNotExist") => label(key).is_none(),
                _ => false,
            }
        })
}

/// The objects of the kind a Kyverno `resource` call names by apiVersion and resource (`v1`,
/// `configmaps`).
fn by_resource<'a>(a: &[Value<'a>]) -> Result<Option<(&'a str, &'a Objects<'a>)>, Error> {
    let (api_version, resource) = (text(a, 1)?, text(a, 2)?);
    let group = kind_key(api_version, "");
    let index = index(a)?;
    Ok(index.kinds().find_map(|(key, objects)| {
        let kind = key.strip_prefix(group.as_str())?;
        crate::k8s::is_resource_of(resource, kind).then_some((kind, objects))
    }))
}

/// Kyverno's `resource.Get(apiVersion, resource, namespace, name)`: the object, or null.
pub(crate) fn resource_get<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let (namespace, name) = (text(a, 3)?, text(a, 4)?);
    let found = by_resource(a)?.and_then(|(_, o)| o.objects.get(o.find(namespace, name)?).copied());
    Ok(found.map_or(Value::Null, Value::json))
}

/// Kyverno's `resource.List(apiVersion, resource, namespace[, labels])`: a list object whose
/// `items` are the objects of a namespace (every namespace, for `""`), with those labels.
pub(crate) fn resource_list<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let namespace = text(a, 3)?;
    let labels = a.get(4).map(Value::to_json).transpose()?;
    let found = by_resource(a)?;
    let items = match found {
        None => Vec::new(),
        Some((_, o)) => {
            let objects = if namespace.is_empty() { &o.objects[..] } else { o.in_namespace(namespace) };
            objects
                .iter()
                .filter(|o| {
                    labels.as_ref().and_then(Json::as_object).is_none_or(|want| {
                        let have = o.pointer("/metadata/labels");
                        want.iter().all(|(k, v)| have.and_then(|h| h.get(k)) == Some(v))
                    })
                })
                .map(|o| Value::json(o))
                .collect()
        }
    };
    let kind = Value::string(format!("{}List", found.map_or("", |(kind, _)| kind)));
    let pairs = vec![
        (Value::string("apiVersion"), Value::string(text(a, 1)?)),
        (Value::string("kind"), kind),
        (Value::string("items"), Value::list(items)),
    ];
    Ok(Value::Map(super::value::Map::Owned(Rc::new(pairs))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_versions_and_groups_name_kinds() {
        assert_eq!(kind_key("apps/v1", "Deployment"), "apps/Deployment");
        assert_eq!(kind_key("apps", "Deployment"), "apps/Deployment");
        assert_eq!(kind_key("v1", "Service"), "/Service");
        assert_eq!(kind_key("v1beta1", "Service"), "/Service");
        assert_eq!(kind_key("policy/v1beta1", "PodDisruptionBudget"), "policy/PodDisruptionBudget");
        assert_eq!(kind_key("velero.io", "Backup"), "velero.io/Backup");
        assert!(!is_core_version("vault"));
    }

    #[test]
    fn selectors_select_as_kubernetes_does() {
        let labels = json!({"app": "web", "tier": "front"});
        assert!(selects(&json!({"matchLabels": {"app": "web"}}), Some(&labels)));
        assert!(!selects(&json!({"matchLabels": {"app": "api"}}), Some(&labels)));
        assert!(selects(&json!({}), Some(&labels)), "an empty LabelSelector selects everything");
        assert!(selects(&json!({"app": "web"}), Some(&labels)), "a Service's map");
        let exprs =
            |op: &str, values: Json| json!({"matchExpressions": [{"key": "tier", "operator": op, "values": values}]});
        assert!(selects(&exprs("In", json!(["front", "back"])), Some(&labels)));
        assert!(!selects(&exprs("NotIn", json!(["front"])), Some(&labels)));
        assert!(selects(&exprs("Exists", json!([])), Some(&labels)));
        assert!(!selects(&exprs("DoesNotExist", json!([])), Some(&labels)));
        assert!(!selects(&exprs("Sometimes", json!([])), Some(&labels)), "an unknown operator selects nothing");
        assert!(!selects(&json!(null), Some(&labels)));
    }

    #[test]
    fn containment_is_postgres_containment() {
        let ingress =
            json!({"spec": {"rules": [{"host": "a.dev", "http": {"paths": [{"path": "/"}, {"path": "/api"}]}}]}});
        assert!(contains(&ingress, &json!({"spec": {"rules": [{"host": "a.dev"}]}})));
        assert!(contains(
            &ingress,
            &json!({"spec": {"rules": [{"host": "a.dev", "http": {"paths": [{"path": "/api"}]}}]}})
        ));
        assert!(!contains(&ingress, &json!({"spec": {"rules": [{"host": "b.dev"}]}})));
        assert!(!contains(
            &ingress,
            &json!({"spec": {"rules": [{"host": "a.dev", "http": {"paths": [{"path": "/x"}]}}]}})
        ));
        assert!(contains(&json!({"n": 1}), &json!({"n": 1.0})));
    }

    /// The names of the Ingresses `containing` finds for `needle`, through the index.
    fn found(objects: &[Json], needle: Json) -> Vec<String> {
        let mut index = Index::empty();
        objects.iter().for_each(|o| index.put(super::super::index::Entry::new(o, Source::Nowhere)));
        let needle = Value::json(Box::leak(Box::new(needle)));
        let args = [Value::Inventory(&index), Value::string("networking.k8s.io"), Value::string("Ingress"), needle];
        let Ok(Value::List(list)) = containing(&args, None) else { panic!("a list") };
        let names = list.iter().map(|o| o.to_json().unwrap().pointer("/metadata/name").cloned());
        names.map(|n| n.and_then(|n| n.as_str().map(str::to_owned)).unwrap_or_default()).collect()
    }

    #[test]
    fn an_index_lookup_finds_what_a_scan_finds() {
        let ingress = |name: &str, rules: Json| {
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                   "metadata": {"name": name, "namespace": "shop", "labels": {"a=b": "c"}}, "spec": {"rules": rules}})
        };
        let objects = vec![
            ingress(
                "one",
                json!([{"host": "a.dev", "http": {"paths": [{"path": "/x"}]}}, {"host": "b.dev", "http": {"paths": [{"path": "/"}, {"path": "/y"}]}}]),
            ),
            ingress("two", json!([{"host": "b.dev"}, {"host": "a.dev", "http": {"paths": [{"path": "/y"}]}}])),
            ingress("three", json!([{"host": "c.dev", "http": {"paths": [{"path": "/y"}]}}])),
        ];
        let needles = [
            json!({"spec": {"rules": [{"host": "a.dev"}]}}),
            json!({"spec": {"rules": [{"host": "b.dev", "http": {"paths": [{"path": "/y"}]}}]}}),
            json!({"spec": {"rules": [{"host": "a.dev", "http": {"paths": [{"path": "/y"}]}}]}}),
            json!({"spec": {"rules": [{"host": "a.dev"}, {"host": "b.dev"}]}}),
            json!({"spec": {"rules": [{"host": "c.dev"}, {"host": "b.dev"}]}}),
            json!({"spec": {"rules": [{"http": {"paths": [{"path": "/y"}]}}]}}),
            json!({"metadata": {"namespace": "shop", "labels": {"a=b": "c"}}}),
            json!({"spec": {"rules": [{"host": "a.dev", "http": {"paths": [{"path": "/x"}, {"path": "/"}]}}]}}),
            json!({"spec": {"rules": []}}),
        ];
        for needle in needles {
            let mut scan: Vec<String> = objects
                .iter()
                .filter(|o| contains(o, &needle))
                .map(|o| o["metadata"]["name"].as_str().unwrap().to_owned())
                .collect();
            scan.sort();
            let mut indexed = found(&objects, needle.clone());
            indexed.sort();
            assert_eq!(indexed, scan, "{needle}");
        }
        assert_eq!(
            found(&objects, json!({"spec": {"rules": [{"host": "b.dev", "http": {"paths": [{"path": "/y"}]}}]}})),
            ["one"]
        );
    }
}
