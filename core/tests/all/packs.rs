//! Every built-in pack carries its own tests (`packs/tests/`), embedded with it: each rule has a
//! case that breaks it and each policy a case that passes it, and all of them hold. These are
//! the examples `paved explain` shows.

use paved::Bundle;
use paved::{Outcome, TestSuite};

#[test]
fn every_rule_of_every_pack_is_tested_and_the_tests_pass() {
    let now = "2026-06-01T00:00:00Z".parse().unwrap();
    let mut problems = Vec::new();
    for pack in Bundle::packs() {
        let policies = Bundle::pack(pack.name).unwrap().policies();
        let suites = TestSuite::of_pack(pack.name).unwrap_or_else(|e| panic!("tests of {}: {e}", pack.name));
        let examples: Vec<_> = suites.iter().flat_map(|s| s.examples()).collect();
        for s in &suites {
            let report = s.run(now);
            for c in report.cases.iter().filter(|c| !c.passed()) {
                let diffs: Vec<String> = c.checks.iter().filter(|k| !k.passed()).map(|k| k.describe()).collect();
                problems.push(format!("{}: case `{}` failed:\n{}", pack.name, c.name, diffs.join("\n")));
            }
        }
        for p in &policies {
            assert!(p.description.is_some(), "policy {} has no description", p.name);
            if !examples.iter().any(|e| e.policy == p.name && e.result == Outcome::Pass) {
                problems.push(format!("{}: no case where policy {} passes", pack.name, p.name));
            }
            for r in &p.rules {
                let broken = examples.iter().any(|e| {
                    e.policy == p.name && e.rule.as_deref() == Some(r.id.as_str()) && e.result == Outcome::Fail
                });
                if !broken {
                    problems.push(format!("{}: no case that breaks {}/{}", pack.name, p.name, r.id));
                }
            }
        }
        println!("{}: {} policies, {} suites, every rule broken once", pack.name, policies.len(), suites.len());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// An Ingress with `hosts` rules, the first `covered` of them listed in its one `tls` entry.
fn ingress(hosts: usize, covered: usize) -> serde_json::Value {
    let host = |i: usize| format!("h{i}.shop.acme.dev");
    let backend = serde_json::json!({"paths": [{"path": "/", "pathType": "Prefix",
        "backend": {"service": {"name": "shop", "port": {"number": 80}}}}]});
    let rules: Vec<_> = (0..hosts).map(|i| serde_json::json!({"host": host(i), "http": backend})).collect();
    let tls: Vec<_> = (0..covered).map(host).collect();
    serde_json::json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "shop", "namespace": "web"},
        "spec": {"tls": [{"hosts": tls, "secretName": "shop-tls"}], "rules": rules}})
}

#[test]
fn ingress_tls_names_the_hosts_without_tls_and_stays_linear() {
    let engine = paved::Engine::builder().bundle(Bundle::pack("platform-baseline").unwrap()).build().unwrap();
    let ctx = paved::Context::at("2026-06-01T00:00:00Z".parse().unwrap());
    let messages = |ingress: serde_json::Value| -> Vec<String> {
        let r = paved::Resource::from_value(ingress).unwrap();
        let report = engine.evaluate(&[r], &ctx);
        report.findings.iter().filter(|f| f.policy == "ingress-tls").map(|f| f.message.clone()).collect()
    };
    assert_eq!(messages(ingress(3, 3)), Vec::<String>::new());
    assert_eq!(messages(ingress(3, 1)), ["hosts without TLS: h1.shop.acme.dev, h2.shop.acme.dev"]);
    let mut none = ingress(2, 0);
    none["spec"].as_object_mut().unwrap().remove("tls");
    assert_eq!(messages(none), ["the Ingress has no spec.tls"]);
    // Ten thousand hosts: a check that compared each host with each TLS entry took minutes here.
    assert_eq!(messages(ingress(10_000, 10_000)), Vec::<String>::new());
    assert_eq!(messages(ingress(10_000, 9_999)), ["10000 hosts, not all of them listed in spec.tls"]);
}

#[test]
fn policy_tests_cover_update_paths_with_old_object_user_info_and_namespace() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/update-tests");
    let suites = TestSuite::from_paths(&[dir]).unwrap();
    let report = suites[0].run("2026-06-01T00:00:00Z".parse().unwrap());
    let failed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| !c.passed())
        .map(|c| {
            format!(
                "{}: {:?}",
                c.name,
                c.checks.iter().filter(|k| !k.passed()).map(|k| k.describe()).collect::<Vec<_>>()
            )
        })
        .collect();
    assert_eq!(report.cases.len(), 5);
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn a_policy_test_reads_its_inventory_from_files_too() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        std::fs::create_dir_all(dir.path().join(name).parent().unwrap()).unwrap();
        std::fs::write(dir.path().join(name), text).unwrap();
    };
    write(
        "policy.yaml",
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: served, version: 1.0.0}\nspec:\n  match: {kinds: [apps/v1/Deployment]}\n  rules:\n    - id: service\n      message: a Deployment needs a Service\n      cel: inventory.list('v1', 'Service', object.metadata.namespace).size() > 0\n",
    );
    write("cluster/services.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {}\n");
    let deployment = "{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop}, spec: {template: {spec: {containers: []}}}}";
    write(
        "tests/served.test.yaml",
        &format!(
            "apiVersion: paved.dev/v1\nkind: PolicyTest\nmetadata: {{name: served}}\nspec:\n  bundles: [../policy.yaml]\n  cases:\n    - name: from a file\n      resources: [{deployment}]\n      inventory: [../cluster/services.yaml]\n      expect: [{{resource: Deployment/shop/web, policy: served, result: pass}}]\n    - name: without it\n      resources: [{deployment}]\n      expect: [{{resource: Deployment/shop/web, policy: served, result: fail}}]\n"
        ),
    );
    let suites = TestSuite::from_paths(&[dir.path().join("tests")]).unwrap();
    let report = suites[0].run("2026-06-01T00:00:00Z".parse().unwrap());
    let failed: Vec<String> = report.cases.iter().filter(|c| !c.passed()).map(|c| format!("{c:?}")).collect();
    assert!(failed.is_empty() && report.cases.len() == 2, "{failed:#?}");
    // A path that is not there is an error that says so.
    write(
        "tests/served.test.yaml",
        &std::fs::read_to_string(dir.path().join("tests/served.test.yaml"))
            .unwrap()
            .replace("../cluster/services.yaml", "../cluster/nope.yaml"),
    );
    let e = TestSuite::from_paths(&[dir.path().join("tests")]).unwrap_err().to_string();
    assert!(e.contains("nope.yaml"), "{e}");
}
