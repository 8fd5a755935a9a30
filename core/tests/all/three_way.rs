//! Three-way upgrades: a service's objects as its team changed them, merged with the move from
//! the old version's render to the new one's.

use paved::golden::{Disposition, FieldOutcome, Prefer, ServiceUpgrade};
use paved::{Bundle, Resource};
use serde_json::{json, Value};

fn builtin() -> Bundle {
    Bundle::golden_paths_builtin().unwrap()
}

fn orders() -> Value {
    json!({"name": "orders", "team": "payments", "costCenter": "cc-3120", "replicas": 3,
           "environment": "production", "image": "registry.acme.dev/payments/orders:2.8.0",
           "ingress": {"host": "orders.acme.dev", "className": "nginx"}})
}

/// The service rendered on `spec`, changed by `edit`, as a file of manifests read back.
fn service(spec: &str, inputs: &Value, edit: impl FnOnce(&mut Vec<Value>)) -> Vec<Resource> {
    let b = builtin();
    let mut m = b.golden_path(spec).unwrap().render(inputs, &b).unwrap().manifests;
    edit(&mut m);
    let text: Vec<String> = m.iter().map(paved::to_yaml).collect();
    Resource::from_str("orders.yaml", &text.join("---\n")).unwrap()
}

fn kind<'a>(m: &'a mut [Value], kind: &str) -> &'a mut Value {
    m.iter_mut().find(|o| o["kind"] == kind).unwrap()
}

fn upgrade(objects: &[Resource], prefer: Option<Prefer>) -> ServiceUpgrade {
    paved::GoldenPath::upgrade_objects(&builtin(), objects, "^2", prefer).unwrap()
}

fn outcomes(u: &ServiceUpgrade, outcome: FieldOutcome) -> Vec<String> {
    let mut out = Vec::new();
    for o in &u.objects {
        for f in o.fields.iter().filter(|f| f.outcome == outcome) {
            out.push(format!("{}{}", o.object.kind, f.path));
        }
    }
    out
}

fn merged<'a>(u: &'a ServiceUpgrade, kind: &str) -> &'a Value {
    u.objects.iter().find(|o| o.object.kind == kind).and_then(|o| o.merged.as_ref()).unwrap()
}

#[test]
fn an_untouched_service_becomes_the_new_render() {
    let u = upgrade(&service("web-service@1.0.0", &orders(), |_| {}), None);
    assert!(u.clean());
    assert_eq!(u.upgrade.to, "web-service@2.0.0");
    assert!(outcomes(&u, FieldOutcome::Kept).is_empty() && outcomes(&u, FieldOutcome::Reverted).is_empty());
    assert!(!outcomes(&u, FieldOutcome::Upgraded).is_empty());
    let merged: Vec<&Value> = u.objects.iter().filter_map(|o| o.merged.as_ref()).collect();
    assert_eq!(merged.len(), u.upgrade.manifests.len());
    for m in &u.upgrade.manifests {
        assert!(merged.contains(&m), "{m}");
    }
}

#[test]
fn extensions_are_kept_drift_is_reverted_and_said() {
    let objects = service("web-service@1.0.0", &orders(), |m| {
        let d = kind(m, "Deployment");
        d["spec"]["replicas"] = json!(5);
        d["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "LOG_LEVEL", "value": "debug"}]);
        d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] = json!("2Gi");
    });
    let u = upgrade(&objects, None);
    assert!(u.clean(), "{:?}", outcomes(&u, FieldOutcome::Conflict));
    let kept = outcomes(&u, FieldOutcome::Kept);
    assert!(kept.contains(&"Deployment/spec/replicas".to_owned()), "{kept:?}");
    assert!(kept.contains(&"Deployment/spec/template/spec/containers/0/env/0/name".to_owned()), "{kept:?}");
    let d = merged(&u, "Deployment");
    assert_eq!(d["spec"]["replicas"], 5);
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"], "debug");
    // Memory is not an extension point: the golden path's value, and the upgrade says so.
    assert_eq!(
        outcomes(&u, FieldOutcome::Reverted),
        ["Deployment/spec/template/spec/containers/0/resources/limits/memory"]
    );
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"], "256Mi");
}

#[test]
fn a_field_both_changed_is_a_conflict_until_a_side_is_preferred() {
    // 2.0.0 raises the default CPU request from 250m to 500m; the team had set 300m by hand.
    let objects = service("web-service@1.0.0", &orders(), |m| {
        kind(m, "Deployment")["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] =
            json!("300m");
    });
    let cpu = "/spec/template/spec/containers/0/resources/requests/cpu";
    let u = upgrade(&objects, None);
    assert!(!u.clean());
    assert_eq!(u.conflicts, 1);
    assert_eq!(outcomes(&u, FieldOutcome::Conflict), [format!("Deployment{cpu}")]);
    let deployment = u.objects.iter().find(|o| o.object.kind == "Deployment").unwrap();
    let f = deployment.fields.iter().find(|f| f.path == cpu).unwrap();
    assert_eq!(
        (f.base.clone(), f.ours.clone(), f.theirs.clone()),
        (Some(json!("250m")), Some(json!("300m")), Some(json!("500m")))
    );
    assert_eq!(f.source.as_ref().map(|s| s.file.as_str()), Some("orders.yaml"));
    assert!(f.source.as_ref().is_some_and(|s| s.line > 1));
    // Left as the team has it until a side is chosen.
    assert_eq!(merged(&u, "Deployment").pointer(cpu), Some(&json!("300m")));
    let ours = upgrade(&objects, Some(Prefer::Ours));
    assert!(ours.clean());
    assert_eq!(outcomes(&ours, FieldOutcome::Ours), [format!("Deployment{cpu}")]);
    assert_eq!(merged(&ours, "Deployment").pointer(cpu), Some(&json!("300m")));
    let theirs = upgrade(&objects, Some(Prefer::Theirs));
    assert_eq!(merged(&theirs, "Deployment").pointer(cpu), Some(&json!("500m")));
}

#[test]
fn a_selector_the_upgrade_resets_needs_a_replace() {
    let objects = service("web-service@1.0.0", &orders(), |m| {
        kind(m, "Deployment")["spec"]["selector"]["matchLabels"]["track"] = json!("canary");
    });
    let u = upgrade(&objects, None);
    assert!(u.clean());
    let replaced: Vec<String> = u.replaced().map(|o| format!("{} {:?}", o.object, o.replace)).collect();
    assert_eq!(replaced, ["Deployment/payments/orders [\"/spec/selector\"]"]);
}

#[test]
fn a_deleted_object_is_restored_and_the_teams_own_objects_stay() {
    let objects = service("web-service@1.0.0", &orders(), |m| {
        m.retain(|o| o["kind"] != "NetworkPolicy");
        let mut extra = m[0].clone();
        extra["kind"] = json!("ConfigMap");
        extra["metadata"]["name"] = json!("orders-extra");
        extra.as_object_mut().unwrap().remove("automountServiceAccountToken");
        m.push(extra);
    });
    let u = upgrade(&objects, None);
    let fate = |k: &str| u.objects.iter().find(|o| o.object.kind == k).map(|o| o.disposition);
    assert_eq!(fate("NetworkPolicy"), Some(Disposition::Restored));
    assert_eq!(fate("ConfigMap"), Some(Disposition::Unchanged));
    assert_eq!(fate("Deployment"), Some(Disposition::Changed));
}

#[test]
fn objects_of_two_services_or_of_none_are_refused_with_a_reason() {
    let mut both = service("web-service@1.0.0", &orders(), |_| {});
    let mut other = orders();
    other["name"] = json!("billing");
    both.extend(service("web-service@1.0.0", &other, |_| {}));
    let e = paved::GoldenPath::upgrade_objects(&builtin(), &both, "^2", None).unwrap_err().to_string();
    assert!(e.contains("2 services (billing, orders)") && e.contains("--all"), "{e}");
    let plain = Resource::from_str("x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n").unwrap();
    let e = paved::GoldenPath::upgrade_objects(&builtin(), &plain, "^2", None).unwrap_err().to_string();
    assert!(e.contains("records a golden path"), "{e}");
}

/// A live export (`kubectl get -o yaml`) carries what the API server set: status, uids, a
/// cluster IP, defaults. None of it is the team's change, and none of it is lost or replaced.
#[test]
fn what_the_api_server_set_is_neither_drift_nor_a_replace() {
    let objects = service("web-service@1.0.0", &orders(), |m| {
        for o in m.iter_mut() {
            o["metadata"]["uid"] = json!("0b9c7c1e-0000-4000-8000-000000000000");
            o["metadata"]["resourceVersion"] = json!("4711");
        }
        let d = kind(m, "Deployment");
        d["status"] = json!({"replicas": 3, "readyReplicas": 3});
        d["spec"]["revisionHistoryLimit"] = json!(10);
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
        kind(m, "Service")["spec"]["clusterIP"] = json!("10.96.12.7");
    });
    let u = upgrade(&objects, None);
    assert!(u.clean());
    assert!(outcomes(&u, FieldOutcome::Reverted).is_empty(), "{:?}", outcomes(&u, FieldOutcome::Reverted));
    assert_eq!(u.replaced().count(), 0);
    assert_eq!(merged(&u, "Service")["spec"]["clusterIP"], "10.96.12.7");
    assert_eq!(merged(&u, "Deployment")["status"]["readyReplicas"], 3);
    assert_eq!(
        merged(&u, "Deployment")["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
        "IfNotPresent"
    );
}

/// A golden path whose 1.1.0 adds an env variable, for merges of lists by their keys.
fn workers() -> Bundle {
    let version = |v: &str, env: &str| {
        format!(
            "apiVersion: paved.dev/v1\nkind: GoldenPath\nmetadata: {{name: worker, version: {v}}}\nspec:\n  extensionPoints: [/spec/template/spec/containers/*/env]\n  inputs: {{type: object, properties: {{name: {{type: string}}}}}}\n  outputs:\n    - apiVersion: apps/v1\n      kind: Deployment\n      metadata: {{name: \"${{{{ inputs.name }}}}\", namespace: apps}}\n      spec:\n        selector: {{matchLabels: {{app: w}}}}\n        template:\n          metadata: {{labels: {{app: w}}}}\n          spec:\n            containers:\n              - name: app\n                image: registry.acme.dev/w:1\n                env: {env}\n                ports: [{{containerPort: 8080}}]\n"
        )
    };
    let text = [
        version("1.0.0", "[{name: LOG_LEVEL, value: info}]"),
        version("1.1.0", "[{name: LOG_LEVEL, value: info}, {name: CONCURRENCY, value: \"4\"}]"),
    ]
    .join("---\n");
    Bundle::from_str("workers.yaml", &text).unwrap()
}

#[test]
fn lists_merge_by_their_kubernetes_keys() {
    let b = workers();
    let old = b.golden_path("worker@1.0.0").unwrap().render(&json!({"name": "w"}), &b).unwrap().manifests;
    // The team adds a variable of its own at the end, and one before the golden path's.
    let mut mine = old.clone();
    mine[0]["spec"]["template"]["spec"]["containers"][0]["env"] = json!([
        {"name": "FEATURE_X", "value": "on"}, {"name": "LOG_LEVEL", "value": "info"}, {"name": "TEAM_ONLY", "value": "1"}]);
    let text: Vec<String> = mine.iter().map(paved::to_yaml).collect();
    let objects = Resource::from_str("w.yaml", &text.join("---\n")).unwrap();
    for prefer in [None, Some(Prefer::Ours), Some(Prefer::Theirs)] {
        let u = paved::GoldenPath::upgrade_objects(&b, &objects, "^1.1", prefer).unwrap();
        assert!(u.clean(), "no conflict: two variables, not one position ({prefer:?}): {:?}", u.objects[0].fields);
        let env = &merged(&u, "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"];
        let names: Vec<&str> = env.as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
        // Nothing neither side removed is dropped: the golden path's new variable and the team's.
        assert_eq!(names, ["LOG_LEVEL", "CONCURRENCY", "FEATURE_X", "TEAM_ONLY"], "{prefer:?}");
    }
    // What the merge reports is named by where it is in the team's file.
    let u = paved::GoldenPath::upgrade_objects(&b, &objects, "^1.1", None).unwrap();
    let kept = outcomes(&u, FieldOutcome::Kept);
    assert!(kept.contains(&"Deployment/spec/template/spec/containers/0/env/0/name".to_owned()), "{kept:?}");
    assert!(kept.contains(&"Deployment/spec/template/spec/containers/0/env/2/value".to_owned()), "{kept:?}");
}

#[test]
fn conform_names_a_missing_list_item() {
    let b = workers();
    let rendered = b.golden_path("worker@1.1.0").unwrap().render(&json!({"name": "w"}), &b).unwrap().manifests;
    let mut live = rendered.clone();
    // The first variable is gone: one missing item, not every later one changed.
    live[0]["spec"]["template"]["spec"]["containers"][0]["env"].as_array_mut().unwrap().remove(0);
    let text: Vec<String> = live.iter().map(paved::to_yaml).collect();
    let objects = Resource::from_str("live.yaml", &text.join("---\n")).unwrap();
    let report = paved::GoldenPath::conform(&b, &objects, &paved::Context::parse_at("2026-06-01").unwrap());
    let deviations: Vec<String> =
        report.services[0].deviations.iter().map(|d| format!("{:?} {}", d.change, d.path)).collect();
    assert_eq!(deviations, ["Missing /spec/template/spec/containers/0/env/0"], "{deviations:?}");
    assert_eq!(report.services[0].deviations[0].expected, Some(json!({"name": "LOG_LEVEL", "value": "info"})));
}
