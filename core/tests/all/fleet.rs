//! Golden paths after day 1: conform (drift against a re-render), upgrade (chained migrations)
//! and outdated (the fleet report), on the built-in golden paths.

use jiff::Timestamp;
use paved::golden::{self, ChangeKind, DeviationKind, Lag};
use paved::{Bundle, Context, Error, Resource};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

fn builtin() -> Bundle {
    paved::Bundle::golden_paths_builtin().unwrap()
}

fn checkout() -> Value {
    json!({"name": "checkout", "team": "payments", "costCenter": "cc-3120", "tier": "critical",
           "image": "registry.acme.dev/payments/checkout:4.2.1", "ingress": {"host": "checkout.acme.dev"}})
}

/// The manifests as a file of YAML documents, read back as resources (as `paved conform` reads them).
fn as_file(manifests: &[Value]) -> Vec<Resource> {
    let text: Vec<String> = manifests.iter().map(paved::to_yaml).collect();
    Resource::from_str("live.yaml", &text.join("---\n")).unwrap()
}

fn live(spec: &str, inputs: &Value) -> Vec<Value> {
    let b = builtin();
    b.golden_path(spec).unwrap().render(inputs, &b).unwrap().manifests
}

fn conform(manifests: &[Value]) -> golden::Conformance {
    let now: Timestamp = "2026-11-22T00:00:00Z".parse().unwrap();
    paved::GoldenPath::conform(&builtin(), &as_file(manifests), &Context::at(now))
}

fn find<'a>(manifests: &'a mut [Value], kind: &str) -> &'a mut Value {
    manifests.iter_mut().find(|m| m["kind"] == kind).unwrap()
}

#[test]
fn a_fresh_render_conforms() {
    let c = conform(&live("web-service", &checkout()));
    assert_eq!(c.summary.services, 1);
    let s = &c.services[0];
    assert!(s.conforms() && s.deviations.is_empty(), "{:?}", s.deviations);
    assert_eq!(
        (s.service.as_str(), s.namespace.as_str(), s.golden_path.as_str()),
        ("checkout", "payments", "web-service@2.0.0")
    );
    assert_eq!(s.score.total, 0);
}

#[test]
fn an_edited_image_is_drift_at_its_line() {
    let mut m = live("web-service", &checkout());
    find(&mut m, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"] =
        json!("registry.acme.dev/payments/checkout:4.3.0");
    let c = conform(&m);
    let s = &c.services[0];
    assert!(!s.conforms());
    let [d] = s.deviations.as_slice() else { panic!("{:?}", s.deviations) };
    assert_eq!((d.kind, d.change), (DeviationKind::Drift, ChangeKind::Changed));
    assert_eq!(d.path, "/spec/template/spec/containers/0/image");
    assert_eq!(d.actual, Some(json!("registry.acme.dev/payments/checkout:4.3.0")));
    assert_eq!(d.source.as_ref().map(|s| s.file.as_str()), Some("live.yaml"));
    assert_eq!(s.score.drift, 5);
}

#[test]
fn edited_extension_points_are_extensions() {
    let mut m = live("web-service", &checkout());
    let deployment = find(&mut m, "Deployment");
    deployment["spec"]["replicas"] = json!(5);
    deployment["spec"]["template"]["spec"]["containers"][0]["env"] = json!([{"name": "LOG_LEVEL", "value": "debug"}]);
    deployment["spec"]["template"]["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/restartedAt": "2026-11-20"});
    let s = &conform(&m).services[0];
    assert!(s.conforms(), "{:?}", s.deviations);
    assert_eq!(s.deviations.len(), 4, "{:?}", s.deviations);
    assert!(s.deviations.iter().all(|d| d.kind == DeviationKind::Extension));
    assert_eq!(s.deviations[0].extension_point.as_deref(), Some("/spec/replicas"));
}

#[test]
fn a_deleted_network_policy_is_missing_and_a_stray_object_is_extra() {
    let mut m = live("web-service", &checkout());
    m.retain(|o| o["kind"] != "NetworkPolicy");
    let mut stray = m[0].clone();
    stray["kind"] = json!("ConfigMap");
    m.push(stray);
    let s = &conform(&m).services[0];
    let drift: Vec<(String, ChangeKind)> = s.deviations.iter().map(|d| (d.object.to_string(), d.change)).collect();
    assert_eq!(
        drift,
        [
            ("NetworkPolicy/payments/checkout".to_owned(), ChangeKind::Missing),
            ("ConfigMap/payments/checkout".to_owned(), ChangeKind::Extra)
        ]
    );
    assert_eq!(s.score.drift, 20);
}

#[test]
fn fields_the_api_server_adds_are_not_drift() {
    let mut m = live("web-service", &checkout());
    let deployment = find(&mut m, "Deployment");
    deployment["status"] = json!({"replicas": 2});
    deployment["metadata"]["uid"] = json!("5c1e");
    deployment["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!("3");
    deployment["spec"]["revisionHistoryLimit"] = json!(10);
    deployment["spec"]["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
    let pod = &mut deployment["spec"]["template"]["spec"];
    pod["dnsPolicy"] = json!("ClusterFirst");
    pod["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
    pod["containers"][0]["terminationMessagePath"] = json!("/dev/termination-log");
    pod["containers"][0]["livenessProbe"]["timeoutSeconds"] = json!(1);
    pod["containers"][0]["ports"][0]["protocol"] = json!("TCP");
    pod["containers"][0].as_object_mut().unwrap().remove("env"); // the server drops empty lists
                                                                 // The deprecated alias the API server copies `serviceAccountName` into.
    pod["serviceAccount"] = pod["serviceAccountName"].clone();
    assert!(pod["serviceAccount"].is_string());
    let service = find(&mut m, "Service");
    service["spec"]["clusterIP"] = json!("10.0.3.7");
    service["spec"]["sessionAffinity"] = json!("None");
    let s = &conform(&m).services[0];
    assert!(s.deviations.is_empty(), "{:?}", s.deviations);
    // A non-default value in a defaulted field is drift.
    find(&mut m, "Deployment")["spec"]["template"]["spec"]["dnsPolicy"] = json!("None");
    assert_eq!(conform(&m).services[0].deviations.len(), 1);
    find(&mut m, "Deployment")["spec"]["template"]["spec"]["serviceAccount"] = json!("someone-else");
    assert_eq!(conform(&m).services[0].deviations.len(), 2);
}

#[test]
fn an_audit_reports_each_service_s_drift_with_the_policies_results_in_its_namespace() {
    let mut m = live("web-service", &checkout());
    let now: Timestamp = "2026-11-22T00:00:00Z".parse().unwrap();
    let reports = |m: &[Value]| {
        let c = paved::GoldenPath::conform(&builtin(), &as_file(m), &Context::at(now));
        assert_eq!(golden::audit_namespaces(None, Some(&c)), ["payments".to_owned()].into());
        golden::audit_reports(None, Some(&c), Some("payments"), now, (paved::ReportKind::PolicyReport, 1_000_000))
    };
    let before = reports(&m);
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["metadata"]["namespace"], "payments");
    let result = &before[0]["results"][0];
    assert_eq!(
        (result["policy"].as_str(), result["rule"].as_str(), result["result"].as_str()),
        (Some(golden::DRIFT_POLICY), Some("drift"), Some("pass"))
    );
    assert_eq!(result["properties"]["goldenPath"], "web-service@2.0.0");
    assert_eq!(result["resources"].as_array().unwrap().len(), m.len(), "every object of the service");
    find(&mut m, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"] = json!("evil:1");
    let after = reports(&m);
    let result = &after[0]["results"][0];
    assert_eq!(result["result"], "fail");
    let message = result["message"].as_str().unwrap();
    assert!(
        message.contains("drift score 5")
            && message.contains("Deployment/payments/checkout/spec/template/spec/containers/0/image"),
        "{message}"
    );
    assert_eq!(after[0]["summary"]["fail"], 1);
}

#[test]
fn the_next_change_is_the_first_sunset_or_exception_boundary_after_now() {
    let exception = "apiVersion: paved.dev/v1\nkind: PolicyException\nmetadata: {name: soon}\nspec:\n  owner: payments\n  reason: a migration\n  created: 2026-11-25\n  expires: 2026-12-01\n  policies: [{name: images}]\n  match: {namespaces: [payments]}\n";
    let b = builtin().merge(Bundle::from_str("e.yaml", exception).unwrap());
    let at = |t: &str| -> Timestamp { t.parse().unwrap() };
    let sunsets: Vec<Timestamp> = builtin()
        .golden_paths()
        .filter_map(|g| g.deprecation())
        .filter_map(|d| d.sunset.as_deref())
        .map(|s| paved::parse_instant(s).unwrap())
        .collect();
    let first_sunset = sunsets.iter().min().copied();
    let next = |now: &str| b.next_change(at(now));
    let expect = |t: Timestamp, now: &str| Some(first_sunset.filter(|s| *s > at(now) && *s < t).unwrap_or(t));
    assert_eq!(
        next("2026-11-22T00:00:00Z"),
        expect(at("2026-11-25T00:00:00Z"), "2026-11-22T00:00:00Z"),
        "created: valid from then"
    );
    assert_eq!(
        next("2026-11-26T00:00:00Z"),
        expect(at("2026-12-01T00:00:00Z"), "2026-11-26T00:00:00Z"),
        "then it expires"
    );
    let engine = paved::Engine::builder()
        .bundle(Bundle::pack("platform-baseline").unwrap())
        .bundle(Bundle::from_str("e.yaml", exception).unwrap())
        .build()
        .unwrap();
    assert_eq!(engine.next_change(at("2026-11-26T00:00:00Z")), Some(at("2026-12-01T00:00:00Z")));
    assert_eq!(engine.next_change(at("2026-12-02T00:00:00Z")), None, "nothing changes after the last boundary");
}

#[test]
fn a_version_that_does_not_exist_is_an_error_naming_those_that_do() {
    let mut m = live("web-service", &checkout());
    for o in &mut m {
        o["metadata"]["annotations"]["paved.dev/golden-path"] = json!("web-service@1.7.0");
    }
    let c = conform(&m);
    let e = c.services[0].error.as_deref().unwrap();
    assert!(
        e.contains(
            "claims web-service@1.7.0: no version of `web-service` matches `1.7.0`; there are: 1.0.0, 1.1.0, 2.0.0"
        ),
        "{e}"
    );
    assert_eq!((c.summary.errors, c.summary.conforming), (1, 0));
    for o in &mut m {
        o["metadata"]["annotations"]["paved.dev/golden-path"] = json!("web-servise@2.0.0");
    }
    let e = conform(&m).services[0].error.clone().unwrap();
    assert!(e.contains("did you mean `web-service`?"), "{e}");
}

#[test]
fn behind_deprecated_and_exceptions_add_to_the_score() {
    let orders = json!({"name": "orders", "team": "payments", "costCenter": "cc-3120", "replicas": 3,
                        "image": "registry.acme.dev/payments/orders:2.8.0"});
    let m = live("web-service@1.0.0", &orders);
    let exception = "apiVersion: paved.dev/v1\nkind: PolicyException\nmetadata: {name: orders-old}\nspec:\n  owner: payments\n  reason: waiting for the new release\n  expires: 2026-11-01\n  policies: [{name: images}]\n  match: {namespaces: [payments]}\n";
    let b = builtin().merge(Bundle::from_str("e.yaml", exception).unwrap());
    let c = paved::GoldenPath::conform(&b, &as_file(&m), &Context::at("2026-11-22T00:00:00Z".parse().unwrap()));
    let s = &c.services[0];
    let standing = s.standing.as_ref().unwrap();
    assert_eq!((standing.behind, standing.latest.as_str(), standing.newer), (Lag::Major, "2.0.0", 2));
    assert!(standing.deprecated.is_some() && !standing.sunset);
    assert_eq!(s.expired_exceptions, ["orders-old"]);
    assert_eq!((s.score.versions_behind, s.score.deprecation, s.score.exceptions), (10, 5, 5));
    assert_eq!(s.score.total, 20);
    assert!(s.conforms(), "an old version is not drift");
}

#[test]
fn upgrade_chains_migrations_across_a_skipped_version() {
    let orders = json!({"name": "orders", "team": "payments", "costCenter": "cc-3120", "replicas": 3,
                        "environment": "production", "image": "registry.acme.dev/payments/orders:2.8.0",
                        "ingress": {"host": "orders.acme.dev", "className": "nginx"}});
    let b = builtin();
    let u = paved::GoldenPath::upgrade(&b, "web-service@1.0.0", &orders, "^2").unwrap();
    assert_eq!((u.from.as_str(), u.to.as_str()), ("web-service@1.0.0", "web-service@2.0.0"));
    let steps: Vec<(&str, &str)> = u.migrations.iter().map(|m| (m.version.as_str(), m.description.as_str())).collect();
    assert_eq!(steps[0], ("1.1.0", "set /memory to \"256Mi\""), "1.1.0 pins the old memory default: {steps:?}");
    assert!(steps.contains(&("2.0.0", "moved /memory to /resources/memory")), "{steps:?}");
    assert_eq!(
        u.inputs,
        json!({"costCenter": "cc-3120", "environment": "prod", "image": "registry.acme.dev/payments/orders:2.8.0",
               "ingress": {"host": "orders.acme.dev"}, "name": "orders", "resources": {"memory": "256Mi"},
               "scaling": {"min": 3}, "team": "payments", "tier": "standard"})
    );
    // The new default CPU applies; memory stays pinned.
    assert_eq!((u.requests.before.cpu_millis, u.requests.after.cpu_millis), (750, 1500));
    assert_eq!(u.requests.before.memory_bytes, u.requests.after.memory_bytes);
    // Each object's JSON Patch turns the old render into the new one.
    let old = b.golden_path("web-service@1.0.0").unwrap().render(&orders, &b).unwrap().manifests;
    for change in &u.changes {
        let name = change.object.to_string();
        let before = old.iter().find(|o| Resource::new((*o).clone()).identity().to_string() == name).unwrap();
        let after = u.manifests.iter().find(|o| Resource::new((*o).clone()).identity().to_string() == name).unwrap();
        let mut patched = before.clone();
        let patch: json_patch::Patch = serde_json::from_value(serde_json::to_value(&change.patch).unwrap()).unwrap();
        json_patch::patch(&mut patched, &patch).unwrap();
        assert_eq!(&patched, after, "{name}");
    }
    // The inputs' patch does the same for the inputs.
    let mut inputs = u.inputs_before.clone();
    let patch: json_patch::Patch = serde_json::from_value(serde_json::to_value(&u.inputs_patch).unwrap()).unwrap();
    json_patch::patch(&mut inputs, &patch).unwrap();
    assert_eq!(inputs, u.inputs);
}

#[test]
fn a_major_upgrade_no_migration_covers_is_refused() {
    let doc = |v: &str, migrations: &str| {
        format!("apiVersion: paved.dev/v1\nkind: GoldenPath\nmetadata: {{name: t, version: {v}}}\nspec:\n  inputs: {{type: object}}\n  outputs: [{{apiVersion: v1, kind: ConfigMap, metadata: {{name: c}}}}]\n{migrations}")
    };
    let text = [doc("1.0.0", ""), doc("2.0.0", ""), doc("3.0.0", "  migrations: [{from: ^2}]\n")].join("---\n");
    let b = Bundle::from_str("t.yaml", &text).unwrap();
    let e = paved::GoldenPath::upgrade(&b, "t@1.0.0", &json!({}), "*").unwrap_err();
    let Error::CannotUpgrade { reason, .. } = &e else { panic!("{e}") };
    assert!(reason.contains("t 1.0.0 → 2.0.0 is a major upgrade and no migration of t@2.0.0 covers 1.0.0"), "{reason}");
    assert!(paved::GoldenPath::upgrade(&b, "t@2.0.0", &json!({}), "*").is_ok(), "3.0.0 covers 2.x");
    let e = paved::GoldenPath::upgrade(&b, "t@3.0.0", &json!({}), "*").unwrap_err().to_string();
    assert!(e.contains("not newer than 3.0.0"), "{e}");
}

#[test]
fn migrations_are_checked_when_the_golden_path_loads() {
    let text = "apiVersion: paved.dev/v1\nkind: GoldenPath\nmetadata: {name: t, version: 2.0.0}\nspec:\n  inputs:\n    type: object\n    additionalProperties: false\n    properties: {size: {type: string}}\n  outputs: []\n  migrations:\n    - from: ^2\n    - from: ^1\n      ops:\n        - move: {from: /a/*, to: /size}\n        - rename: {path: /old, to: sise}\n  deprecated: {sunset: soon}\n";
    let Err(Error::Invalid(d)) = Bundle::from_str("t.yaml", text) else { panic!("expected errors") };
    let got: Vec<(u32, &str)> = d.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert!(got.iter().any(|(l, m)| *l == 11 && m.contains("matches 2.0.0 itself")), "{got:?}");
    assert!(got.iter().any(|(l, m)| *l == 14 && m.contains("`*` is not allowed")), "{got:?}");
    assert!(got.iter().any(|(l, m)| *l == 15 && m.contains("`/sise` is not an input of this version")), "{got:?}");
    assert!(got.iter().any(|(l, m)| *l == 16 && m.contains("`soon` is not an RFC 3339 date")), "{got:?}");
}

#[test]
fn outdated_counts_versions_deprecations_and_unmanaged_workloads() {
    let cron = |name: &str| {
        json!({"name": name, "team": "finance", "costCenter": "cc-4410", "schedule": "@daily",
               "image": "registry.acme.dev/finance/reports:3.0.2"})
    };
    let mut m = live("web-service", &checkout());
    m.extend(live("cron-job@1.0.0", &cron("old-report")));
    let mut new = cron("new-report");
    new["timeZone"] = json!("Etc/UTC");
    m.extend(live("cron-job@2", &new));
    m.push(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "legacy", "namespace": "ops"}}));
    let f = paved::GoldenPath::outdated(&builtin(), &as_file(&m), "2026-11-22T00:00:00Z".parse().unwrap());
    let s = f.summary;
    assert_eq!((s.services, s.current, s.behind_major, s.deprecated, s.sunset, s.unmanaged), (3, 2, 1, 1, 1, 1));
    let adoption: Vec<(String, usize)> =
        f.adoption.iter().map(|a| (format!("{}@{}", a.golden_path, a.version), a.services)).collect();
    assert_eq!(adoption[..2], [("cron-job@2.0.0".to_owned(), 1), ("cron-job@1.0.0".to_owned(), 1)]);
    assert_eq!(f.unmanaged[0].to_string(), "Deployment/ops/legacy");
}

/// Values valid against (the parts paved's golden paths use of) a JSON Schema: `enum`,
/// `type`, `pattern`, `minimum`/`maximum`, `items`, `properties` and `required`.
fn valid(schema: &Value) -> BoxedStrategy<Value> {
    if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
        return proptest::sample::select(choices.clone()).boxed();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string") => {
            let pattern = schema.get("pattern").and_then(Value::as_str).unwrap_or("[a-z]{1,12}");
            let pattern = pattern.trim_start_matches('^').trim_end_matches('$');
            proptest::string::string_regex(pattern).unwrap().prop_map(Value::String).boxed()
        }
        Some("integer") => {
            let bound = |k: &str, d: i64| schema.get(k).and_then(Value::as_i64).unwrap_or(d);
            (bound("minimum", 0)..=bound("maximum", 1000)).prop_map(|n| json!(n)).boxed()
        }
        Some("boolean") => any::<bool>().prop_map(Value::Bool).boxed(),
        Some("array") => {
            let items = schema.get("items").cloned().unwrap_or(json!({"type": "string"}));
            proptest::collection::vec(valid(&items), 0..3).prop_map(Value::Array).boxed()
        }
        _ => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let fields: Vec<BoxedStrategy<Option<(String, Value)>>> = schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.iter().collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .map(|(k, sub)| {
                    let needed = required.contains(&k.as_str());
                    let k = k.clone();
                    let value = valid(sub).prop_map(move |v| (k.clone(), v));
                    if needed {
                        value.prop_map(Some).boxed()
                    } else {
                        proptest::option::of(value).boxed()
                    }
                })
                .collect();
            fields.prop_map(|f| Value::Object(f.into_iter().flatten().collect())).boxed()
        }
    }
}

#[test]
fn any_valid_inputs_render_compliant_manifests_that_conform() {
    let b = builtin();
    let validators: Vec<_> = b.golden_paths().map(|g| jsonschema::validator_for(g.inputs_schema()).unwrap()).collect();
    for (g, validator) in b.golden_paths().zip(&validators) {
        let mut runner = TestRunner::new(Config { cases: 32, failure_persistence: None, ..Config::default() });
        let inputs = valid(g.inputs_schema()).prop_filter("fits the schema", |v| validator.is_valid(v));
        runner
            .run(&inputs, |inputs| {
                let rendered = g.render(&inputs, &b).map_err(|e| TestCaseError::fail(format!("{}: {e}", g.id())))?;
                let s = rendered.report.summary;
                prop_assert_eq!((s.denied, s.warned), (0, 0), "{}: {:?}", g.id(), rendered.report.findings);
                let c =
                    paved::GoldenPath::conform(&b, &as_file(&rendered.manifests), &Context::at(Timestamp::UNIX_EPOCH));
                prop_assert_eq!(c.services.len(), 1);
                prop_assert!(c.services[0].deviations.is_empty(), "{}: {:?}", g.id(), c.services[0].deviations);
                prop_assert!(c.services[0].conforms());
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{}: {e}", g.id()));
    }
}

#[test]
fn broken_provenance_is_an_error_for_that_service_only() {
    let mut m = live("web-service", &checkout());
    let mut other = live(
        "worker",
        &json!({"name": "sync", "team": "payments", "costCenter": "cc-1",
        "image": "registry.acme.dev/payments/sync:1.0.0", "queue": {"topic": "t", "backend": "sqs"}}),
    );
    for o in &mut m {
        o["metadata"]["annotations"]["paved.dev/inputs"] = json!("{not json");
    }
    other[0]["metadata"]["annotations"].as_object_mut().unwrap().remove("paved.dev/inputs");
    m.extend(other);
    let c = conform(&m);
    let errors: Vec<&str> = c.services.iter().filter_map(|s| s.error.as_deref()).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("`paved.dev/inputs` annotation is not JSON")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("has no `paved.dev/inputs` annotation")), "{errors:?}");
    // The worker's other objects still record their inputs and are checked; from them, the
    // ServiceAccount that lost its record is missing.
    let sync = c.services.iter().find(|s| s.service == "sync" && s.error.is_none()).unwrap();
    let missing: Vec<String> = sync.deviations.iter().map(|d| format!("{} {:?}", d.object, d.change)).collect();
    assert_eq!(missing, ["ServiceAccount/payments/sync Missing"]);
}

#[test]
fn upgrade_inputs_come_from_manifests_or_need_a_version() {
    let m = live("web-service@1.0.0", &json!({"name": "a", "team": "t", "costCenter": "cc-1", "image": "r/a:1"}));
    let text: Vec<String> = m.iter().map(paved::to_yaml).collect();
    let (from, inputs) = paved::GoldenPath::inputs_of("a.yaml", &text.join("---\n"), None).unwrap();
    assert_eq!((from.as_str(), inputs["name"].as_str()), ("web-service@1.0.0", Some("a")));
    let e =
        paved::GoldenPath::inputs_of("a.yaml", &text.join("---\n"), Some("web-service@1.1.0")).unwrap_err().to_string();
    assert!(e.contains("rendered from web-service@1.0.0, not web-service@1.1.0"), "{e}");
    let e = paved::GoldenPath::inputs_of("i.yaml", "name: a\n", None).unwrap_err().to_string();
    assert!(e.contains("do not say which golden path version"), "{e}");
    let e = paved::GoldenPath::inputs_of("i.yaml", "a: [\n", Some("web-service@1.0.0")).unwrap_err().to_string();
    assert!(e.contains("i.yaml"), "{e}");
}

/// A golden path rendering every workload and networking kind, and the objects as the API
/// server returns them (`kubectl get -o yaml`: a `v1 List`, status, server-set fields, defaults,
/// quantities in canonical form): no drift.
#[test]
fn every_kind_exported_from_a_cluster_conforms() {
    let golden = r#"
apiVersion: paved.dev/v1
kind: GoldenPath
metadata: {name: stateful, version: 1.0.0}
spec:
  inputs: {type: object, properties: {name: {type: string}}}
  outputs:
    - apiVersion: apps/v1
      kind: StatefulSet
      metadata: {name: "${{ inputs.name }}", namespace: data}
      spec:
        serviceName: "${{ inputs.name }}"
        selector: {matchLabels: {app: "${{ inputs.name }}"}}
        template:
          metadata: {labels: {app: "${{ inputs.name }}"}}
          spec:
            containers:
              - name: db
                image: registry.acme.dev/db:16
                ports: [{containerPort: 5432, name: pg}]
                resources: {requests: {cpu: 1000m, memory: 1024Mi}, limits: {memory: 1024Mi}}
        volumeClaimTemplates:
          - metadata: {name: data}
            spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1024Mi}}}
    - apiVersion: v1
      kind: Service
      metadata: {name: "${{ inputs.name }}", namespace: data}
      spec:
        clusterIP: None
        selector: {app: "${{ inputs.name }}"}
        ports: [{name: pg, port: 5432}]
    - apiVersion: apps/v1
      kind: DaemonSet
      metadata: {name: "${{ inputs.name }}-agent", namespace: data}
      spec:
        selector: {matchLabels: {app: agent}}
        template:
          metadata: {labels: {app: agent}}
          spec: {containers: [{name: agent, image: registry.acme.dev/agent:1}]}
    - apiVersion: batch/v1
      kind: Job
      metadata: {name: "${{ inputs.name }}-migrate", namespace: data}
      spec:
        template:
          spec: {restartPolicy: Never, containers: [{name: migrate, image: registry.acme.dev/migrate:1}]}
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: {name: "${{ inputs.name }}", namespace: data}
      spec:
        podSelector: {matchLabels: {app: "${{ inputs.name }}"}}
        ingress: [{ports: [{port: 5432}]}]
    - apiVersion: autoscaling/v2
      kind: HorizontalPodAutoscaler
      metadata: {name: "${{ inputs.name }}-agent", namespace: data}
      spec:
        scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: x}
        maxReplicas: 4
    - apiVersion: v1
      kind: PersistentVolumeClaim
      metadata: {name: "${{ inputs.name }}-backup", namespace: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 2048Mi}}}
"#;
    let bundle = Bundle::from_str("stateful.yaml", golden).unwrap();
    let rendered = bundle.golden_path("stateful").unwrap().render(&json!({"name": "pg"}), &bundle).unwrap().manifests;
    let pod_defaults = |pod: &mut Value| {
        pod["restartPolicy"] = pod.get("restartPolicy").cloned().unwrap_or(json!("Always"));
        pod["dnsPolicy"] = json!("ClusterFirst");
        pod["schedulerName"] = json!("default-scheduler");
        pod["securityContext"] = json!({});
        pod["terminationGracePeriodSeconds"] = json!(30);
        for c in pod["containers"].as_array_mut().unwrap() {
            c["imagePullPolicy"] = json!("IfNotPresent");
            c["terminationMessagePath"] = json!("/dev/termination-log");
            c["terminationMessagePolicy"] = json!("File");
            if c.get("resources").is_none() {
                c["resources"] = json!({});
            }
            for p in c.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten() {
                p["protocol"] = json!("TCP");
            }
        }
    };
    let mut items = Vec::new();
    for mut o in rendered {
        o["metadata"]["uid"] = json!("0d5c");
        o["metadata"]["resourceVersion"] = json!("4711");
        o["metadata"]["creationTimestamp"] = json!("2026-11-01T10:00:00Z");
        o["metadata"]["managedFields"] = json!([{"manager": "kubectl", "operation": "Apply"}]);
        let kind = o["kind"].as_str().unwrap().to_owned();
        let mut status = None;
        let spec = &mut o["spec"];
        match kind.as_str() {
            "StatefulSet" => {
                spec["replicas"] = json!(1);
                spec["podManagementPolicy"] = json!("OrderedReady");
                spec["revisionHistoryLimit"] = json!(10);
                spec["minReadySeconds"] = json!(0);
                spec["updateStrategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}});
                spec["persistentVolumeClaimRetentionPolicy"] = json!({"whenDeleted": "Retain", "whenScaled": "Retain"});
                spec["template"]["metadata"]["creationTimestamp"] = Value::Null;
                pod_defaults(&mut spec["template"]["spec"]);
                let c = &mut spec["template"]["spec"]["containers"][0]["resources"];
                *c = json!({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}});
                let t = &mut spec["volumeClaimTemplates"][0];
                t["apiVersion"] = json!("v1");
                t["kind"] = json!("PersistentVolumeClaim");
                t["spec"]["volumeMode"] = json!("Filesystem");
                t["spec"]["resources"]["requests"]["storage"] = json!("1Gi");
                t["status"] = json!({"phase": "Pending"});
                status = Some(json!({"replicas": 1, "readyReplicas": 1, "currentRevision": "pg-7d4"}));
            }
            "Service" => {
                spec["clusterIPs"] = json!(["None"]);
                spec["ipFamilies"] = json!(["IPv4"]);
                spec["ipFamilyPolicy"] = json!("SingleStack");
                spec["type"] = json!("ClusterIP");
                spec["sessionAffinity"] = json!("None");
                spec["internalTrafficPolicy"] = json!("Cluster");
                spec["ports"][0]["protocol"] = json!("TCP");
                spec["ports"][0]["targetPort"] = json!(5432);
                status = Some(json!({"loadBalancer": {}}));
            }
            "DaemonSet" => {
                spec["revisionHistoryLimit"] = json!(10);
                spec["updateStrategy"] =
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}});
                pod_defaults(&mut spec["template"]["spec"]);
            }
            "Job" => {
                for (k, v) in [
                    ("backoffLimit", json!(6)),
                    ("completions", json!(1)),
                    ("parallelism", json!(1)),
                    ("completionMode", json!("NonIndexed")),
                    ("suspend", json!(false)),
                    ("podReplacementPolicy", json!("TerminatingOrFailed")),
                    ("manualSelector", json!(false)),
                ] {
                    spec[k] = v;
                }
                spec["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "0d5c"}});
                spec["template"]["metadata"] = json!({"labels": {"batch.kubernetes.io/controller-uid": "0d5c",
                    "batch.kubernetes.io/job-name": "pg-migrate", "controller-uid": "0d5c", "job-name": "pg-migrate"}});
                pod_defaults(&mut spec["template"]["spec"]);
                status = Some(json!({"succeeded": 1}));
            }
            "NetworkPolicy" => {
                spec["policyTypes"] = json!(["Ingress"]);
                spec["ingress"][0]["ports"][0]["protocol"] = json!("TCP");
            }
            "HorizontalPodAutoscaler" => {
                spec["minReplicas"] = json!(1);
                spec["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 80}}}]);
            }
            "PersistentVolumeClaim" => {
                spec["volumeMode"] = json!("Filesystem");
                spec["storageClassName"] = json!("standard");
                spec["resources"]["requests"]["storage"] = json!("2Gi");
                status = Some(json!({"phase": "Bound"}));
            }
            other => panic!("{other}"),
        }
        if let Some(st) = status {
            o["status"] = st;
        }
        items.push(o);
    }
    // As `kubectl get -o yaml` writes it: one `v1 List`.
    let export = paved::to_yaml(&json!({"apiVersion": "v1", "kind": "List", "items": items}));
    let live = Resource::from_str("export.yaml", &export).unwrap();
    let ctx = Context::at("2026-11-22T00:00:00Z".parse().unwrap());
    let report = paved::GoldenPath::conform(&bundle, &live, &ctx);
    let s = &report.services[0];
    let drift: Vec<String> =
        s.deviations.iter().map(|d| format!("{}{} {:?} -> {:?}", d.object, d.path, d.expected, d.actual)).collect();
    assert!(drift.is_empty(), "false drift:\n{}", drift.join("\n"));
    // A real change still is drift: a quantity that means something else, a non-default value.
    let mut changed = items_of(&export);
    changed[0]["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = json!("2");
    changed[1]["spec"]["sessionAffinity"] = json!("ClientIP");
    let live = as_file(&changed);
    let s = &paved::GoldenPath::conform(&bundle, &live, &ctx).services[0];
    assert_eq!(s.deviations.len(), 2, "{:?}", s.deviations);
}

fn items_of(export: &str) -> Vec<Value> {
    Resource::from_str("export.yaml", export).unwrap().iter().map(|r| r.value().clone()).collect()
}
