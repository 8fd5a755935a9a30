//! The inventory's functions (`inventory.list(...)`, ...): lookups in the index
//! the engine's inventory module builds once per evaluation, read where it is. A list they give borrows the
//! index; only what a selector or a needle filters is collected.

use std::rc::Rc;

use serde_json::Value as Json;

use super::value::{List, Map, Value};
use super::Error;

type R<'a> = Result<Value<'a>, Error>;

/// The index the receiver is.
fn index<'a>(a: &[Value<'a>]) -> Result<&'a serde_json::Map<String, Json>, Error> {
    match a.first() {
        Some(Value::Map(Map::Json(m))) => Ok(m),
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
fn is_core_version(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else { return false };
    let digits = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    digits.len() < rest.len()
        && (digits.is_empty()
            || ["alpha", "beta"].iter().any(|p| {
                digits.strip_prefix(p).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            }))
}

/// A kind's objects, and its namespaces' ranges of them.
type Kind<'a> = (&'a [Json], &'a serde_json::Map<String, Json>);

/// The objects of a kind, and its namespaces' ranges.
fn kind<'a>(a: &[Value<'a>]) -> Result<Option<Kind<'a>>, Error> {
    let key = kind_key(text(a, 1)?, text(a, 2)?);
    let Some(entry) = index(a)?.get("kinds").and_then(|k| k.get(&key)) else { return Ok(None) };
    match (entry.get("objects"), entry.get("namespaces")) {
        (Some(Json::Array(objects)), Some(Json::Object(namespaces))) => Ok(Some((objects, namespaces))),
        _ => Ok(None),
    }
}

/// The objects of a kind in one namespace (`""`: cluster-scoped).
fn in_namespace<'a>(a: &[Value<'a>], namespace: &str) -> Result<&'a [Json], Error> {
    let Some((objects, namespaces)) = kind(a)? else { return Ok(&[]) };
    let (start, end) = range(namespaces, namespace);
    Ok(objects.get(start..end).unwrap_or_default())
}

/// The positions of a namespace's objects among its kind's (empty when it has none).
fn range(namespaces: &serde_json::Map<String, Json>, namespace: &str) -> (usize, usize) {
    let range = namespaces.get(namespace).and_then(Json::as_array);
    let bound = |i: usize| range.and_then(|r| r.get(i)).and_then(Json::as_u64).and_then(|n| usize::try_from(n).ok());
    (bound(0).unwrap_or(0), bound(1).unwrap_or(0))
}

/// A kind's inverted index `name` (`leaves`, `selectors`): key to positions of objects.
fn lookup<'a>(a: &[Value<'a>], name: &str) -> Result<Option<&'a serde_json::Map<String, Json>>, Error> {
    let key = kind_key(text(a, 1)?, text(a, 2)?);
    Ok(index(a)?.get("kinds").and_then(|k| k.get(&key)).and_then(|e| e.get(name)).and_then(Json::as_object))
}

/// The objects at `positions` (sorted, deduplicated, within `[start, end)`) that `keep`.
fn at_positions<'a>(
    objects: &'a [Json],
    mut positions: Vec<usize>,
    (start, end): (usize, usize),
    keep: impl Fn(&Json) -> bool,
) -> Value<'a> {
    positions.retain(|p| (start..end).contains(p));
    positions.sort_unstable();
    positions.dedup();
    listed(positions.into_iter().filter_map(|p| objects.get(p)).filter(|o| keep(o)))
}

fn positions(found: Option<&Json>) -> impl Iterator<Item = usize> + '_ {
    found
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_u64)
        .filter_map(|n| usize::try_from(n).ok())
}

/// `metadata.name` of an object of the index.
fn name_of(o: &Json) -> &str {
    o.get("metadata").and_then(|m| m.get("name")).and_then(Json::as_str).unwrap_or_default()
}

fn listed<'a>(objects: impl Iterator<Item = &'a Json>) -> Value<'a> {
    Value::list(objects.map(Value::json).collect())
}

/// `inventory.list(apiVersion, kind[, namespace[, selector]])`: the objects of a kind, in every
/// namespace or in one, or those of one namespace whose labels a selector selects; sorted by
/// namespace, then name.
pub(crate) fn list<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    match a.len() {
        3 => Ok(kind(a)?.map_or_else(|| Value::list(Vec::new()), |(objects, _)| Value::List(List::Json(objects)))),
        4 => Ok(Value::List(List::Json(in_namespace(a, text(a, 3)?)?))),
        _ => {
            let selector = a.get(4).ok_or_else(|| Error::new("missing selector"))?.to_json()?;
            let objects = in_namespace(a, text(a, 3)?)?;
            Ok(listed(objects.iter().filter(|o| selects(&selector, o.get("metadata").and_then(|m| m.get("labels"))))))
        }
    }
}

/// `inventory.get(apiVersion, kind, namespace, name)`: the object, if the inventory has it.
pub(crate) fn get<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let objects = in_namespace(a, text(a, 3)?)?;
    let name = text(a, 4)?;
    let found = objects.binary_search_by(|o| name_of(o).cmp(name)).ok().and_then(|i| objects.get(i));
    Ok(Value::Optional(found.map(|o| Rc::new(Value::json(o)))))
}

/// `inventory.selecting(apiVersion, kind, namespace, labels)`: the objects of a namespace whose
/// `spec.selector` selects `labels` (a PodDisruptionBudget, a Service, a NetworkPolicy's
/// `spec.podSelector`).
pub(crate) fn selecting<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let labels = a.get(4).ok_or_else(|| Error::new("missing labels"))?.to_json()?;
    let (Some((objects, namespaces)), Some(selectors)) = (kind(a)?, lookup(a, "selectors")?) else {
        return Ok(Value::list(Vec::new()));
    };
    // A selector that requires a label is indexed under one it requires: the labels' own pairs
    // find every candidate, and the ones that require none are candidates always.
    let mut candidates: Vec<usize> = positions(selectors.get("*")).collect();
    for (k, v) in labels.as_object().into_iter().flatten() {
        if let Some(v) = v.as_str() {
            candidates.extend(positions(selectors.get(&format!("{k}={v}"))));
        }
    }
    let keep = |o: &Json| {
        let spec = o.get("spec");
        let selector = spec.and_then(|s| s.get("selector").or_else(|| s.get("podSelector")));
        selector.is_some_and(|s| selects(s, Some(&labels)))
    };
    Ok(at_positions(objects, candidates, range(namespaces, text(a, 3)?), keep))
}

/// `inventory.containing(apiVersion, kind, needle)`: the objects of a kind, in every namespace,
/// that contain `needle` as PostgreSQL's `@>` says: every field of a map is in the object's
/// map, every item of a list is contained in some item of the object's list, scalars equal.
pub(crate) fn containing<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let needle = a.get(3).ok_or_else(|| Error::new("missing needle"))?.to_json()?;
    let Some((objects, namespaces)) = kind(a)? else { return Ok(Value::list(Vec::new())) };
    // A needle that names a namespace is looked for in that namespace's objects only.
    let within = match needle.pointer("/metadata/namespace").and_then(Json::as_str) {
        Some(namespace) => range(namespaces, namespace),
        None => (0, objects.len()),
    };
    // A string the needle holds at a path of maps finds its candidates in the index: the
    // string with the fewest.
    if let Some(leaves) = lookup(a, "leaves")? {
        let wanted = indexed_leaves(&needle);
        let fewest = wanted.iter().min_by_key(|leaf| leaves.get(*leaf).and_then(Json::as_array).map_or(0, Vec::len));
        if let Some(leaf) = fewest {
            let candidates = positions(leaves.get(leaf)).collect();
            return Ok(at_positions(objects, candidates, within, |o| contains(o, &needle)));
        }
    }
    let slice = objects.get(within.0..within.1).unwrap_or_default();
    Ok(listed(slice.iter().filter(|o| contains(o, &needle))))
}

/// How deep into an object its string fields are indexed (`/spec/scaleTargetRef/name` is 3).
const LEAF_DEPTH: usize = 4;

/// `POINTER=VALUE` of each string field of `v` under `spec` or `metadata.labels`, reached
/// through maps only: the keys of the index's `leaves`, both when the inventory module builds it
/// and when `containing` looks a needle up in it.
pub(crate) fn indexed_leaves(v: &Json) -> Vec<String> {
    fn walk(v: &Json, path: &mut String, depth: usize, out: &mut Vec<String>) {
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
    let (Some(api_version), Some(kind_name), Some(name)) =
        (field(&["apiVersion"]), field(&["kind"]), field(&["metadata", "name"]))
    else {
        return Ok(Value::string(""));
    };
    let namespace = field(&["metadata", "namespace"]).unwrap_or_default();
    let key = kind_key(&api_version, &kind_name);
    let Some(entry) = index(a)?.get("kinds").and_then(|k| k.get(&key)) else { return Ok(Value::string("")) };
    let range = entry.pointer(&format!("/namespaces/{}", namespace.replace('~', "~0").replace('/', "~1")));
    let bound = |i: usize| range.and_then(|r| r.get(i)).and_then(Json::as_u64).and_then(|n| usize::try_from(n).ok());
    let (Some(start), Some(end), Some(Json::Array(objects)), Some(Json::Array(sources))) =
        (bound(0), bound(1), entry.get("objects"), entry.get("sources"))
    else {
        return Ok(Value::string(""));
    };
    let slice = objects.get(start..end).unwrap_or_default();
    let found = slice
        .binary_search_by(|o| name_of(o).cmp(&name))
        .ok()
        .and_then(|i| sources.get(start + i))
        .and_then(Json::as_str)
        .unwrap_or_default();
    Ok(Value::string(found))
}

/// `inventory.complete(namespace)`: whether the inventory holds every object of the namespace,
/// so that what it does not hold does not exist.
pub(crate) fn complete<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let index = index(a)?;
    let namespace = text(a, 1)?;
    let all = index.get("complete").and_then(Json::as_bool).unwrap_or(false);
    let listed = index
        .get("completeNamespaces")
        .and_then(Json::as_array)
        .is_some_and(|n| n.iter().any(|n| n.as_str() == Some(namespace)));
    Ok(Value::Bool(all || listed))
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
    let structured =
        selector.is_empty() || selector.contains_key("matchLabels") || selector.contains_key("matchExpressions");
    if !structured {
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
}
