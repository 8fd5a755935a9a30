//! A Kubernetes binding's `paramRef`, and where an instance of its policy finds its params:
//! the param objects of the policy's `paramKind`, given with the bundle or in the inventory.

use std::sync::Arc;

use serde_json::Value;

use super::resources::one_of;
use super::select::Labels;
use crate::error::Diagnostic;
use crate::load::Origin;

/// A binding's `paramRef`, checked.
#[derive(Debug)]
pub(crate) struct ParamRef {
    name: Option<String>,
    namespace: Option<String>,
    selector: Option<Labels>,
    deny_if_none: bool,
}

impl ParamRef {
    pub(crate) fn new(r: &crate::model::ParamRef, origin: &Origin, diags: &mut Vec<Diagnostic>) -> Option<ParamRef> {
        let before = diags.len();
        let mut at = |field: &str, message: String| {
            diags.push(origin.diagnostic(&format!("/spec/paramRef{field}"), message, None));
        };
        if r.name.is_some() == r.selector.is_some() {
            at("", "`paramRef` takes one of `name` and `selector`".into());
        }
        let deny_if_none = match r.parameter_not_found_action.as_deref() {
            Some("Deny") => true,
            Some("Allow") => false,
            Some(other) => {
                at("/parameterNotFoundAction", one_of(other, &["Allow", "Deny"]));
                true
            }
            None => {
                at("", "`parameterNotFoundAction` is required: `Allow` or `Deny`".into());
                true
            }
        };
        let selector = r.selector.as_ref().and_then(|s| Labels::new(s).map_err(|e| at("/selector", e)).ok());
        (diags.len() == before).then(|| ParamRef {
            name: r.name.clone(),
            namespace: r.namespace.clone(),
            selector,
            deny_if_none,
        })
    }
}

/// Where an instance of a Kubernetes admission policy finds its params: its binding's
/// `paramRef` among the objects of the policy's `paramKind`.
#[derive(Debug)]
pub(crate) struct ParamSource {
    /// `apiVersion` and `kind` of the param objects.
    pub kind: (String, String),
    /// The binding's `paramRef`; `None` when it has none (an error: the policy needs params).
    param_ref: Option<Arc<ParamRef>>,
    /// The param objects given with the bundle, of the kind.
    objects: Vec<Value>,
}

impl ParamSource {
    pub(crate) fn new(kind: (String, String), param_ref: Option<Arc<ParamRef>>, objects: &[Value]) -> ParamSource {
        let of_kind = |o: &&Value| {
            o.get("apiVersion").and_then(Value::as_str) == Some(&kind.0)
                && o.get("kind").and_then(Value::as_str) == Some(&kind.1)
        };
        let objects = objects.iter().filter(of_kind).cloned().collect();
        ParamSource { kind, param_ref, objects }
    }

    /// The param objects for an object in `namespace` (empty when it is cluster-scoped), among
    /// those given with the bundle and `more` (the inventory's, of the kind), in order of
    /// namespace and name; `Ok(None)` when none is found and the binding allows that. Errors
    /// are worded as the API server words them.
    pub(crate) fn resolve<'v>(
        &'v self,
        namespace: &str,
        namespaced: bool,
        more: impl Iterator<Item = &'v Value>,
    ) -> Result<Option<Vec<&'v Value>>, String> {
        let Some(r) = &self.param_ref else {
            return Err("the policy has a paramKind but its binding has no paramRef".into());
        };
        let namespace = match (&r.namespace, namespaced) {
            (Some(ns), true) => ns.as_str(),
            (None, true) if namespace.is_empty() => {
                return Err(
                    "cannot use a namespaced paramRef in a binding that matches a cluster-scoped resource".into()
                );
            }
            (None, true) => namespace,
            (_, false) => "",
        };
        let text = |o: &Value, p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut found: Vec<&Value> = self
            .objects
            .iter()
            .chain(more)
            .filter(|o| text(o, "/metadata/namespace") == namespace)
            .filter(|o| match (&r.name, &r.selector) {
                (Some(name), _) => text(o, "/metadata/name") == *name,
                (None, Some(sel)) => {
                    let labels = o.pointer("/metadata/labels").and_then(Value::as_object);
                    sel.matches(|k| labels.and_then(|m| m.get(k)).and_then(Value::as_str))
                }
                (None, None) => false,
            })
            .collect();
        found.sort_by_key(|o| (text(o, "/metadata/namespace"), text(o, "/metadata/name")));
        found.dedup_by_key(|o| (text(o, "/metadata/namespace"), text(o, "/metadata/name")));
        match (found.is_empty(), r.deny_if_none) {
            (true, true) => Err("no params found for policy binding with `Deny` parameterNotFoundAction".into()),
            (true, false) => Ok(None),
            (false, _) => Ok(Some(found)),
        }
    }
}
