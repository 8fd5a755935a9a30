//! The inventory at admission: `paved serve --watch-inventory` keeps, from a real API server, the
//! kinds its policies read through `inventory`, and judges as `paved check --inventory EXPORT
//! --inventory-complete` judges the same object against an export of the same cluster.

use std::path::Path;

use serde_json::{json, Value};

use super::kube::{wait_for, webhook_configuration, Kube};
use super::serve::{certificate_for, serve_in};

/// Two rules that read the inventory: an Ingress host is claimed once (any namespace), and a
/// Deployment has a PodDisruptionBudget, which is only denied where the inventory is complete.
const BUNDLE: &str = r#"apiVersion: paved.dev/v1
kind: Policy
metadata: {name: unique-hosts, version: 1.0.0}
spec:
  match: {kinds: [Ingress]}
  rules:
    - id: host-taken
      forEach: /spec/rules/*
      message: another Ingress claims this host
      cel: >-
        inventory.containing('networking.k8s.io', 'Ingress', {'spec': {'rules': [{'host': item.host}]}})
          .all(i, i.metadata.namespace == object.metadata.namespace && i.metadata.name == object.metadata.name)
---
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: disruption-budget, version: 1.0.0}
spec:
  match: {kinds: [Deployment]}
  rules:
    - id: pdb
      message: a Deployment needs a PodDisruptionBudget that selects its pods
      when: inventory.complete(object.metadata.namespace)
      cel: >-
        inventory.selecting('policy/v1', 'PodDisruptionBudget', object.metadata.namespace,
          object.spec.template.metadata.labels).size() > 0
"#;

fn ingress(name: &str, host: &str) -> String {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name, "namespace": "shop"},
        "spec": {"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": name, "port": {"number": 80}}}}]}}]}})
    .to_string()
}

fn deployment(app: &str) -> String {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app, "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": app}}, "template": {"metadata": {"labels": {"app": app}},
            "spec": {"containers": [{"name": app, "image": "nginx:1.27"}]}}}})
    .to_string()
}

/// What `paved check` says of `manifest` with the cluster's export as its complete inventory:
/// the findings' messages.
fn checked(kube: &Kube, dir: &Path, manifest: &str) -> Vec<String> {
    let export = kube.must(&["get", "ingress,poddisruptionbudget,deployment", "-A", "-o", "yaml"], None);
    std::fs::write(dir.join("export.yaml"), export).unwrap();
    std::fs::write(dir.join("manifest.json"), manifest).unwrap();
    let (bundle, export, manifest) = (dir.join("bundle"), dir.join("export.yaml"), dir.join("manifest.json"));
    let args = [
        "check",
        "--bundle",
        bundle.to_str().unwrap(),
        "--inventory",
        export.to_str().unwrap(),
        "--inventory-complete",
        "--format",
        "json",
        manifest.to_str().unwrap(),
    ];
    let (_, out, err) = super::run(&args);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    report["findings"].as_array().unwrap().iter().map(|f| f["message"].as_str().unwrap().to_owned()).collect()
}

/// What the API server answers creating `manifest` through paved: the denial, if any.
fn admitted(kube: &Kube, manifest: &str, dry_run: bool) -> Option<String> {
    let mut args = vec!["create", "-f", "-"];
    if dry_run {
        args.push("--dry-run=server");
    }
    let (ok, _, err) = kube.kubectl(&args, Some(manifest));
    (!ok).then_some(err)
}

#[test]
fn the_webhook_keeps_the_inventory_its_policies_read_and_judges_as_paved_check_does() {
    let kube = Kube::start();
    kube.must(&["create", "namespace", "shop"], None);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bundle")).unwrap();
    std::fs::write(dir.path().join("bundle/policies.yaml"), BUNDLE).unwrap();
    let tls = certificate_for("127.0.0.1");
    let kubeconfig = kube.kubeconfig();
    let bundle = dir.path().join("bundle");
    let paved = serve_in(
        tls.path(),
        &["--bundle", bundle.to_str().unwrap(), "--watch-inventory"],
        &[("KUBECONFIG", kubeconfig.as_path())],
    );
    let ca = std::fs::read_to_string(tls.path().join("ca.crt")).unwrap();
    kube.must(&["apply", "-f", "-"], Some(&webhook_configuration(paved.addr, &ca).to_string()));

    // The inventory is complete once every kind has listed: a Deployment without a budget is
    // denied, at admission and by paved check alike.
    let web = deployment("web");
    wait_for("the API server to call paved", || admitted(&kube, &web, true).is_some_and(|e| e.contains("paved.dev")));
    let denial = admitted(&kube, &web, false).unwrap();
    let found = checked(&kube, dir.path(), &web);
    assert_eq!(found, ["a Deployment needs a PodDisruptionBudget that selects its pods"]);
    assert!(denial.contains(&found[0]), "{denial}");

    // A budget created in the cluster reaches the webhook's inventory: the Deployment is allowed.
    let pdb = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}});
    kube.must(&["create", "-f", "-"], Some(&pdb.to_string()));
    wait_for("the budget to reach the inventory", || admitted(&kube, &web, true).is_none());
    assert!(checked(&kube, dir.path(), &web).is_empty());
    kube.must(&["create", "-f", "-"], Some(&web));

    // An Ingress host claimed in the cluster is taken for the next one, as paved check says of
    // the export; deleting the first frees it.
    assert_eq!(admitted(&kube, &ingress("front", "shop.example.com"), false), None);
    let second = ingress("second", "shop.example.com");
    wait_for("the first Ingress to reach the inventory", || admitted(&kube, &second, true).is_some());
    let denial = admitted(&kube, &second, false).unwrap();
    let found = checked(&kube, dir.path(), &second);
    assert_eq!(found, ["another Ingress claims this host"]);
    assert!(denial.contains(&found[0]) && denial.contains("validate.paved.dev"), "{denial}");
    kube.must(&["-n", "shop", "delete", "ingress", "front"], None);
    wait_for("the deletion to reach the inventory", || admitted(&kube, &second, true).is_none());
    assert!(checked(&kube, dir.path(), &second).is_empty());
}
