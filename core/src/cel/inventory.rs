//! The inventory's functions (`inventory.list(...)`, ...): lookups in the index
//! `crate::inventory` builds once per evaluation, read where it is. A list they give borrows the
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
    let range = namespaces.get(namespace).and_then(Json::as_array);
    let bound = |i: usize| range.and_then(|r| r.get(i)).and_then(Json::as_u64).and_then(|n| usize::try_from(n).ok());
    match (bound(0), bound(1)) {
        (Some(start), Some(end)) => Ok(objects.get(start..end).unwrap_or_default()),
        _ => Ok(&[]),
    }
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
            Ok(listed(objects.iter().filter(|o| selects(&selector, o.pointer("/metadata/labels")))))
        }
    }
}

/// `inventory.get(apiVersion, kind, namespace, name)`: the object, if the inventory has it.
pub(crate) fn get<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let objects = in_namespace(a, text(a, 3)?)?;
    let name = text(a, 4)?;
    let found = objects
        .binary_search_by(|o| o.pointer("/metadata/name").and_then(Json::as_str).unwrap_or_default().cmp(name))
        .ok()
        .and_then(|i| objects.get(i));
    Ok(Value::Optional(found.map(|o| Rc::new(Value::json(o)))))
}

/// `inventory.selecting(apiVersion, kind, namespace, labels)`: the objects of a namespace whose
/// `spec.selector` selects `labels` (a PodDisruptionBudget, a Service, a NetworkPolicy's
/// `spec.podSelector`).
pub(crate) fn selecting<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let labels = a.get(4).ok_or_else(|| Error::new("missing labels"))?.to_json()?;
    let objects = in_namespace(a, text(a, 3)?)?;
    Ok(listed(objects.iter().filter(|o| {
        let selector = o.pointer("/spec/selector").or_else(|| o.pointer("/spec/podSelector"));
        selector.is_some_and(|s| selects(s, Some(&labels)))
    })))
}

/// `inventory.containing(apiVersion, kind, needle)`: the objects of a kind, in every namespace,
/// that contain `needle` as PostgreSQL's `@>` says: every field of a map is in the object's
/// map, every item of a list is contained in some item of the object's list, scalars equal.
pub(crate) fn containing<'a>(a: &[Value<'a>], _: Option<&regex::Regex>) -> R<'a> {
    let needle = a.get(3).ok_or_else(|| Error::new("missing needle"))?.to_json()?;
    // A needle that names a namespace is looked for in that namespace's objects only.
    let objects = match needle.pointer("/metadata/namespace").and_then(Json::as_str) {
        Some(namespace) => in_namespace(a, namespace)?,
        None => kind(a)?.map_or(&[][..], |(objects, _)| objects),
    };
    Ok(listed(objects.iter().filter(|o| contains(o, &needle))))
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
        .binary_search_by(|o| o.pointer("/metadata/name").and_then(Json::as_str).unwrap_or_default().cmp(&name))
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
            let values: Vec<&str> =
                e.get("values").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str).collect();
            match e.get("operator").and_then(Json::as_str) {
                Some("In") => label(key).is_some_and(|v| values.contains(&v)),
                Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
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
