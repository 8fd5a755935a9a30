//! The inventory at admission: `paved serve --watch-inventory` keeps, from a real API server, the
//! kinds its policies read through `inventory`, and judges as `paved check --inventory EXPORT
//! --inventory-complete` judges the same object against an export of the same cluster.

use std::path::Path;

use serde_json::{json, Value};

use super::kube::{wait_for, webhook_configuration, Kube};
use super::serve::{certificate_for, serve_in, Serving};

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

/// `paved serve --watch-inventory` with `policies` (in `dir/bundle`), registered with the API
/// server.
struct Webhook {
    dir: tempfile::TempDir,
    paved: Serving,
    _tls: tempfile::TempDir,
}

fn webhook_with(kube: &Kube, policies: &str) -> Webhook {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("bundle")).unwrap();
    std::fs::write(dir.path().join("bundle/policies.yaml"), policies).unwrap();
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
    Webhook { dir, paved, _tls: tls }
}

#[test]
fn the_webhook_keeps_the_inventory_its_policies_read_and_judges_as_paved_check_does() {
    let kube = Kube::start();
    kube.must(&["create", "namespace", "shop"], None);
    let Webhook { dir, .. } = &webhook_with(&kube, BUNDLE);

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

/// `paved audit --once` against `kube` with `args`: (status, stdout, stderr).
fn audit(kube: &Kube, args: &[&str]) -> (i32, String, String) {
    let out =
        super::paved().env("KUBECONFIG", kube.kubeconfig()).arg("audit").arg("--once").args(args).output().unwrap();
    super::output(out)
}

/// The results of reports, as `(policy/rule, namespace/name, result)`, sorted.
fn results(reports: &[Value]) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = reports
        .iter()
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            let o = &r["resources"][0];
            let at = format!("{}/{}", o["namespace"].as_str().unwrap_or_default(), o["name"].as_str().unwrap());
            (
                format!("{}/{}", r["policy"].as_str().unwrap(), r["rule"].as_str().unwrap()),
                at,
                r["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn read_reports(dir: &Path) -> Vec<Value> {
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|f| paved::Resource::from_paths(std::slice::from_ref(f)).unwrap()[0].value().clone()).collect()
}

#[test]
fn an_audit_of_the_cluster_reports_per_namespace_what_paved_check_finds_in_its_export() {
    let kube = Kube::start();
    for ns in ["shop", "billing"] {
        kube.must(&["create", "namespace", ns], None);
    }
    let pod = |name: &str, ns: &str, privileged: bool| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "securityContext": {"privileged": privileged}}]}})
        .to_string()
    };
    for (name, ns, privileged) in [("web", "shop", false), ("root", "shop", true), ("ledger", "billing", true)] {
        kube.must(&["create", "-f", "-"], Some(&pod(name, ns, privileged)));
    }
    kube.must(&["create", "-f", "-"], Some(&deployment("api").replace("\"shop\"", "\"billing\"")));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("reports");
    let (code, _, err) =
        audit(&kube, &["--pack", "pod-security-baseline", "-o", out.to_str().unwrap(), "--page-size", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("audited") && err.contains("2 denied"), "{err}");
    let reports = read_reports(&out);
    let scopes: Vec<(&str, &str)> = reports
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["metadata"]["namespace"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(scopes, [("PolicyReport", "billing"), ("PolicyReport", "shop")]);
    let audited = results(&reports);
    assert!(
        audited.contains(&("pod-security-baseline/privileged".into(), "shop/root".into(), "fail".into())),
        "{audited:#?}"
    );
    assert!(audited.iter().any(|(_, at, r)| at == "billing/api" && r == "pass"), "the Deployment's template is judged");

    // paved check on an export of the same cluster finds the same failures.
    let export = kube.must(&["get", "pods,deployments", "-A", "-o", "yaml"], None);
    std::fs::write(dir.path().join("export.yaml"), export).unwrap();
    let (_, json, _) = super::run(&[
        "check",
        "--pack",
        "pod-security-baseline",
        "--format",
        "policy-report",
        dir.path().join("export.yaml").to_str().unwrap(),
    ]);
    let list: Value = serde_json::from_str(&json).unwrap();
    let checked = results(list["items"].as_array().unwrap());
    assert_eq!(checked, audited);

    // Split to stay under a size, in OpenReports' kinds: the same results.
    let small = dir.path().join("small");
    let (code, _, err) = audit(
        &kube,
        &[
            "--pack",
            "pod-security-baseline",
            "-o",
            small.to_str().unwrap(),
            "--format",
            "openreports",
            "--max-report-bytes",
            "2500",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let parts = read_reports(&small);
    assert!(
        parts.len() > 2 && parts.iter().all(|p| p["kind"] == "Report" && p["apiVersion"] == "openreports.io/v1alpha1")
    );
    assert!(parts.iter().all(|p| serde_json::to_string(p).unwrap().len() <= 2500), "each part is within the limit");
    assert_eq!(results(&parts), audited);
}

#[test]
fn a_kind_read_only_for_its_metadata_is_kept_as_metadata_and_judged_alike() {
    const COUNTING: &str = r#"apiVersion: paved.dev/v1
kind: Policy
metadata: {name: few-pods, version: 1.0.0}
spec:
  match: {kinds: [ConfigMap]}
  rules:
    - id: at-most-one
      message: a namespace with more than one pod takes no configuration
      cel: inventory.list('v1', 'Pod', object.metadata.namespace).size() < 2
"#;
    let kube = Kube::start();
    kube.must(&["create", "namespace", "shop"], None);
    // Counted only: the Pods are kept as metadata.
    let Webhook { dir, paved, .. } = &webhook_with(&kube, COUNTING);
    let bundle = dir.path().join("bundle");
    let config =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"}})
            .to_string();
    wait_for("the API server to call paved", || {
        let (ok, _, err) = kube.kubectl(&["create", "--dry-run=server", "-f", "-"], Some(&config));
        ok || err.contains("paved.dev")
    });
    for name in ["a", "b"] {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop"},
            "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}});
        kube.must(&["create", "-f", "-"], Some(&pod.to_string()));
    }
    wait_for("the pods to reach the inventory", || admitted(&kube, &config, true).is_some());
    let denial = admitted(&kube, &config, false).unwrap();
    assert!(denial.contains("a namespace with more than one pod takes no configuration"), "{denial}");
    let log = paved.log();
    assert!(log.contains(r#""kind":"v1/Pod","metadata_only":true"#), "{log}");
    // paved check on the export of the same cluster agrees.
    let export = kube.must(&["get", "pods", "-A", "-o", "yaml"], None);
    std::fs::write(dir.path().join("export.yaml"), export).unwrap();
    std::fs::write(dir.path().join("config.json"), &config).unwrap();
    let (_, out, err) = super::run(&[
        "check",
        "--bundle",
        bundle.to_str().unwrap(),
        "--inventory",
        dir.path().join("export.yaml").to_str().unwrap(),
        "--inventory-complete",
        "--format",
        "json",
        dir.path().join("config.json").to_str().unwrap(),
    ]);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    assert_eq!(report["findings"][0]["message"], "a namespace with more than one pod takes no configuration");
}
