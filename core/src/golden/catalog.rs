//! Backstage catalog entities for the services running on golden paths.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::fleet::{conform, ServiceConformance};
use super::ANNOTATION_PATH;
use crate::compile::bundle::Bundle;
use crate::engine::Context;
use crate::k8s::ResourceRef;
use crate::Resource;

/// Backstage catalog entities for the services in `resources`: one `Component` each, from what
/// runs rather than what someone typed. `spec.owner` is the objects' `team` label,
/// `spec.system` their `app.kubernetes.io/part-of` (or `system`) label, `spec.lifecycle`
/// `deprecated` on a deprecated or sunset golden path version (else `production` or
/// `experimental` by the `env` label); annotations name the golden path, its version, where the
/// version stands and the drift score ([`conform`] at `ctx`), and the objects for Backstage's
/// Kubernetes plugin (`backstage.io/kubernetes-id`, `-namespace`, `-label-selector`).
pub(crate) fn catalog(bundle: &Bundle, resources: &[Resource], ctx: &Context) -> Vec<Value> {
    let conformance = conform(bundle, resources, ctx);
    let by_id: BTreeMap<ResourceRef, &Resource> = resources.iter().map(|r| (r.identity(), r)).collect();
    let label = |s: &ServiceConformance, keys: &[&str]| {
        let objects = s.objects.iter().filter_map(|o| by_id.get(o));
        objects
            .flat_map(|r| {
                keys.iter().filter_map(|k| r.value().pointer(&format!("/metadata/labels/{}", k.replace('/', "~1"))))
            })
            .find_map(Value::as_str)
            .map(str::to_owned)
    };
    let names = entity_names(&conformance.services);
    conformance.services.iter().zip(names).map(|(s, name)| entity(s, name, |keys| label(s, keys))).collect()
}

/// Entity names, one per service and unique: a service name two namespaces share gets its
/// namespace, and a service claimed twice in one namespace a number. Backstage allows 63
/// characters.
fn entity_names(services: &[ServiceConformance]) -> Vec<String> {
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for s in services {
        *names.entry(s.service.as_str()).or_default() += 1;
    }
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    services
        .iter()
        .map(|s| {
            let mut name = if names.get(s.service.as_str()).copied().unwrap_or(0) > 1 {
                format!("{}-{}", s.service, s.namespace)
            } else {
                s.service.clone()
            };
            let seen = taken.entry(name.clone()).or_default();
            *seen += 1;
            if *seen > 1 {
                name = format!("{name}-{seen}");
            }
            name.get(..63).unwrap_or(&name).trim_end_matches(['-', '.', '_']).to_owned()
        })
        .collect()
}

/// One service as a Backstage `Component`; `label` reads the first of some labels its objects
/// carry.
fn entity(s: &ServiceConformance, name: String, label: impl Fn(&[&str]) -> Option<String>) -> Value {
    let (path, version) = s.golden_path.split_once('@').unwrap_or((s.golden_path.as_str(), ""));
    let deprecated = s.standing.as_ref().is_some_and(|st| st.deprecated.is_some() || st.sunset);
    let lifecycle = if deprecated {
        "deprecated"
    } else if label(&["env", "environment"]).is_some_and(|e| e == "production" || e == "prod") {
        "production"
    } else {
        "experimental"
    };
    let mut spec = serde_json::Map::new();
    spec.insert("type".into(), json!(if path == "web-service" { "service" } else { path }));
    spec.insert("lifecycle".into(), json!(lifecycle));
    spec.insert(
        "owner".into(),
        json!(label(&["team"]).map_or_else(|| "unknown".to_owned(), |t| format!("group:default/{t}"))),
    );
    if let Some(system) = label(&["app.kubernetes.io/part-of", "system"]) {
        spec.insert("system".into(), json!(system));
    }
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {
            "name": name,
            "title": format!("{} ({})", s.service, s.namespace),
            "description": format!("Runs on the {} golden path, version {version}.", path),
            "labels": {"paved.dev/golden-path": path},
            "tags": [path],
            "annotations": annotations(s, path, version),
        },
        "spec": spec,
    })
}

/// The entity's annotations: where it runs (for Backstage's Kubernetes plugin), its golden
/// path and version, how far behind it is, and its drift.
fn annotations(s: &ServiceConformance, path: &str, version: &str) -> serde_json::Map<String, Value> {
    let mut annotations = serde_json::Map::new();
    let mut note = |k: &str, v: String| {
        annotations.insert(k.to_owned(), Value::String(v));
    };
    note("backstage.io/kubernetes-id", s.service.clone());
    note("backstage.io/kubernetes-namespace", s.namespace.clone());
    note("backstage.io/kubernetes-label-selector", format!("app={}", s.service));
    note(ANNOTATION_PATH, s.golden_path.clone());
    note("paved.dev/golden-path-name", path.to_owned());
    note("paved.dev/golden-path-version", version.to_owned());
    if let Some(st) = &s.standing {
        note("paved.dev/latest-version", st.latest.clone());
        note("paved.dev/behind", st.behind.to_string());
        if let Some(d) = &st.deprecated {
            note("paved.dev/deprecated", "true".into());
            for (key, value) in [("since", &d.since), ("sunset", &d.sunset), ("replacement", &d.replacement)] {
                if let Some(v) = value {
                    note(&format!("paved.dev/deprecated-{key}"), v.clone());
                }
            }
        }
        note("paved.dev/past-sunset", st.sunset.to_string());
    }
    note("paved.dev/drift-score", s.score.total.to_string());
    note("paved.dev/conforms", s.conforms().to_string());
    if let Some(e) = &s.error {
        note("paved.dev/error", e.clone());
    }
    annotations
}
