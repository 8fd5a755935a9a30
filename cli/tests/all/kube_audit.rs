//! The audit in the cluster: `paved serve --audit` against a real API server keeps PolicyReports
//! current (on changes, on time, without rewriting what did not change), reports the drift of
//! services on golden paths, and shares the work between replicas through Leases, a dead
//! replica's shards taken over by the others.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::kube::{wait_for, Kube};
use super::serve::{certificate_for, serve_in, Serving};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn pod(name: &str, namespace: &str, privileged: bool) -> String {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "securityContext": {"privileged": privileged}}]}})
    .to_string()
}

/// A cluster with the report CRDs and these namespaces.
fn cluster(namespaces: &[&str]) -> Kube {
    let kube = Kube::start();
    let crds = Path::new(ROOT).join("deploy/helm/paved/crds/policyreports.yaml");
    kube.must(&["apply", "-f", crds.to_str().unwrap()], None);
    for ns in namespaces {
        kube.must(&["create", "namespace", ns], None);
    }
    wait_for("the report CRDs to be served", || {
        kube.kubectl(&["get", "policyreports,clusterpolicyreports", "-A"], None).0
    });
    kube
}

/// `paved serve --audit` as replica `identity`, with `flags`.
fn auditor(kube: &Kube, tls: &Path, identity: &str, flags: &[&str]) -> Serving {
    let kubeconfig = kube.kubeconfig();
    let mut all = vec![
        "--audit",
        "--audit-identity",
        identity,
        "--audit-lease-namespace",
        "default",
        "--audit-lease-duration",
        "3s",
    ];
    all.extend_from_slice(flags);
    serve_in(tls, &all, &[("KUBECONFIG", kubeconfig.as_path())])
}

/// The PolicyReport of `namespace` (its first part), if there is one.
fn report(kube: &Kube, namespace: &str) -> Option<Value> {
    let (ok, out, _) = kube.kubectl(&["-n", namespace, "get", "policyreport", "paved", "-o", "json"], None);
    ok.then(|| serde_json::from_str(&out).unwrap())
}

/// The result of `policy/rule` for the object named `name` in `namespace`'s report.
fn result(kube: &Kube, namespace: &str, rule: &str, name: &str) -> Option<String> {
    let report = report(kube, namespace)?;
    report["results"].as_array()?.iter().find_map(|r| {
        let at = format!("{}/{}", r["policy"].as_str()?, r["rule"].as_str()?);
        (at == rule && r["resources"][0]["name"] == name).then(|| r["result"].as_str().unwrap().to_owned())
    })
}

/// `/metrics` of a server, as text.
fn metrics(server: &Serving, tls: &Path) -> String {
    let ca = std::fs::read_to_string(tls.join("ca.crt")).unwrap();
    let mut client = paved_webhook::client::Client::connect(server.addr, "127.0.0.1", &ca).unwrap();
    let answer = client.send("GET", "/metrics", "text/plain", b"").unwrap();
    String::from_utf8(answer.body).unwrap()
}

/// The value of the sample `name` (with its labels, as written) in `text`; 0 when absent.
fn sample(text: &str, name: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
}

#[test]
fn the_audit_keeps_reports_current_on_changes_and_on_time_and_rewrites_nothing_unchanged() {
    let kube = cluster(&["shop", "billing", "payments"]);
    kube.must(&["create", "-f", "-"], Some(&pod("root", "shop", true)));
    kube.must(&["create", "-f", "-"], Some(&pod("web", "shop", false)));
    kube.must(&["create", "-f", "-"], Some(&pod("ledger", "billing", false)));
    // A service on web-service 1.0.0, as rendered.
    let orders = Path::new(ROOT).join("examples/services/orders.yaml");
    let (_, rendered, err) = super::run(&["render", "-f", orders.to_str().unwrap(), "web-service@1.0.0"]);
    assert!(rendered.contains("kind: Deployment"), "{err}");
    kube.must(&["apply", "-f", "-"], Some(&rendered));

    // An exception for the privileged pod that expires twenty seconds from now.
    let dir = tempfile::tempdir().unwrap();
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(20);
    let exception = format!(
        "apiVersion: paved.dev/v1\nkind: PolicyException\nmetadata: {{name: root-until-soon}}\nspec:\n  \
         policies: [{{name: pod-security-baseline, rules: [privileged]}}]\n  \
         match: {{kinds: [Pod], namespaces: [shop], names: [root]}}\n  \
         owner: team-shop\n  reason: a debugging session\n  expires: \"{expires}\"\n"
    );
    std::fs::write(dir.path().join("exceptions.yaml"), exception).unwrap();
    let tls = certificate_for("127.0.0.1");
    let exceptions = dir.path().join("exceptions.yaml");
    let paved =
        auditor(&kube, tls.path(), "only", &["--pack", "pod-security-baseline", "-e", exceptions.to_str().unwrap()]);

    let rule = "pod-security-baseline/privileged";
    wait_for("the first audit", || result(&kube, "shop", rule, "root").is_some());
    assert_eq!(result(&kube, "shop", rule, "root").as_deref(), Some("skip"), "waived while the exception runs");
    assert_eq!(result(&kube, "shop", rule, "web").as_deref(), Some("pass"));
    assert_eq!(result(&kube, "billing", rule, "ledger").as_deref(), Some("pass"));
    let drift = "golden-path-conformance/drift";
    assert_eq!(
        result(&kube, "payments", drift, "orders").as_deref(),
        Some("pass"),
        "{:#}",
        report(&kube, "payments").unwrap()
    );

    // A change in one namespace is reported there; the other namespaces' reports are not
    // rewritten.
    let shop_version = report(&kube, "shop").unwrap()["metadata"]["resourceVersion"].clone();
    kube.must(&["create", "-f", "-"], Some(&pod("late", "billing", true)));
    wait_for("the new pod's result", || result(&kube, "billing", rule, "late").as_deref() == Some("fail"));
    kube.must(&["-n", "payments", "patch", "deployment", "orders", "--type=merge", "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"orders","image":"registry.acme.dev/payments/orders:9.9.9"}]}}}}"#], None);
    wait_for("the drift", || result(&kube, "payments", drift, "orders").as_deref() == Some("fail"));
    let payments = report(&kube, "payments").unwrap();
    let message =
        payments["results"].as_array().unwrap().iter().find(|r| r["policy"] == "golden-path-conformance").unwrap()
            ["message"]
            .clone();
    assert!(message.as_str().unwrap().contains("image"), "{message}");
    kube.must(&["-n", "billing", "delete", "pod", "late", "--wait=false"], None);
    wait_for("the deleted pod's result to go", || result(&kube, "billing", rule, "late").is_none());
    assert_eq!(report(&kube, "shop").unwrap()["metadata"]["resourceVersion"], shop_version);

    // The exception expires: the pod fails, with no admission and no change to it.
    wait_for_long("the exception to expire", Duration::from_secs(40), || {
        result(&kube, "shop", rule, "root").as_deref() == Some("fail")
    });

    let text = metrics(&paved, tls.path());
    assert!(sample(&text, "paved_audit_report_writes_total{operation=\"unchanged\"}") > 0.0, "{text}");
    assert!(sample(&text, "paved_audit_objects_total") > 0.0, "{text}");
    assert!(
        text.contains("paved_drift_score{namespace=\"payments\",service=\"orders\",golden_path=\"web-service@1.0.0\""),
        "{text}"
    );
    assert!(sample(&text, "paved_audit_shards_held") == 1.0, "{text}");
}

fn wait_for_long(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Who holds each shard's Lease.
fn holders(kube: &Kube, shards: usize) -> Vec<String> {
    (0..shards)
        .map(|i| {
            let (ok, out, _) = kube.kubectl(
                &[
                    "-n",
                    "default",
                    "get",
                    "lease",
                    &format!("paved-audit-shard-{i}"),
                    "-o",
                    "jsonpath={.spec.holderIdentity}",
                ],
                None,
            );
            if ok {
                out
            } else {
                String::new()
            }
        })
        .collect()
}

#[test]
fn three_replicas_share_the_audit_and_a_dead_ones_shards_are_taken_over() {
    let namespaces = ["team-a", "team-b", "team-c", "team-d", "team-e", "team-f"];
    let kube = cluster(&namespaces);
    for ns in namespaces {
        kube.must(&["create", "-f", "-"], Some(&pod("app", ns, true)));
    }
    let tls = certificate_for("127.0.0.1");
    let flags = ["--pack", "pod-security-baseline", "--audit-shards", "3"];
    let mut replicas: Vec<(String, Serving)> =
        ["r1", "r2", "r3"].iter().map(|id| (id.to_string(), auditor(&kube, tls.path(), id, &flags))).collect();

    // Each replica holds one shard; every namespace is reported.
    wait_for_long("the shards to spread", Duration::from_secs(40), || {
        let mut h = holders(&kube, 3);
        h.sort();
        h == ["r1", "r2", "r3"]
    });
    let rule = "pod-security-baseline/privileged";
    wait_for("every namespace's report", || namespaces.iter().all(|ns| result(&kube, ns, rule, "app").is_some()));
    // Settled, with no report written twice: the writes of all replicas add up to one per report.
    std::thread::sleep(Duration::from_secs(4));
    let applied: f64 = replicas
        .iter()
        .map(|(_, s)| sample(&metrics(s, tls.path()), "paved_audit_report_writes_total{operation=\"applied\"}"))
        .sum();
    assert_eq!(applied, namespaces.len() as f64, "one write per report");

    // The replica holding shard 0 dies; another takes its shards over and keeps them current.
    let dead = holders(&kube, 3)[0].clone();
    let at = replicas.iter().position(|(id, _)| *id == dead).unwrap();
    let (_, mut server) = replicas.remove(at);
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let killed = Instant::now();
    wait_for_long("the dead replica's shard to be taken over", Duration::from_secs(30), || {
        let h = holders(&kube, 3);
        !h.contains(&dead) && h.iter().all(|x| !x.is_empty())
    });
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(20), "taken over in {took:?}");
    for ns in namespaces {
        kube.must(&["create", "-f", "-"], Some(&pod("second", ns, true)));
    }
    wait_for("every namespace's new pod to be reported", || {
        namespaces.iter().all(|ns| result(&kube, ns, rule, "second").as_deref() == Some("fail"))
    });
    drop(server);
}

/// A kubeconfig for the chart's ServiceAccount, with the chart's RBAC for the audit applied.
fn as_the_chart_grants(kube: &Kube, dir: &Path) -> std::path::PathBuf {
    let mut values = super::deploy::values();
    values["audit"]["enabled"] = json!(true);
    kube.must(&["create", "namespace", "paved"], None);
    let chart = super::deploy::objects("chart", &super::deploy::render_chart(&values, "paved"));
    let rbac = ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];
    for o in chart.iter().filter(|o| rbac.contains(&o["kind"].as_str().unwrap())) {
        kube.must(&["apply", "-f", "-"], Some(&o.to_string()));
    }
    let token = kube.must(&["-n", "paved", "create", "token", "paved"], None);
    let admin = std::fs::read_to_string(kube.kubeconfig()).unwrap();
    let server =
        admin.lines().find_map(|l| l.split("server: \"").nth(1)).unwrap().split('"').next().unwrap().to_owned();
    let ca = admin
        .lines()
        .find_map(|l| l.split("certificate-authority: \"").nth(1))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let config = format!(
        "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"{server}\", certificate-authority: \"{ca}\"}}}}]\n\
         users: [{{name: paved, user: {{token: \"{}\"}}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: paved}}}}]\ncurrent-context: c\n",
        token.trim()
    );
    let path = dir.join("kubeconfig");
    std::fs::write(&path, config).unwrap();
    path
}

#[test]
fn with_the_charts_rbac_the_audit_writes_its_reports_and_what_it_may_not_list_is_an_error() {
    let kube = cluster(&["shop"]);
    kube.must(&["create", "-f", "-"], Some(&pod("root", "shop", true)));
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = as_the_chart_grants(&kube, dir.path());

    // ReplicaSets are not the auditor's to read: the audit says so and fails, and still reports
    // the pods.
    let out = super::paved()
        .env("KUBECONFIG", &kubeconfig)
        .args([
            "audit",
            "--once",
            "--pack",
            "pod-security-baseline",
            "--resources",
            "pods,replicasets.apps,widgets.example.com",
        ])
        .output()
        .unwrap();
    let (code, reports, err) = super::output(out);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot list apps/v1/ReplicaSet: forbidden"), "{err}");
    assert!(err.contains("cannot list widgets.example.com: the cluster serves no such resource"), "{err}");
    assert!(reports.contains("shop") && reports.contains("privileged"), "{reports}");

    // In the cluster, with exactly the chart's grants: the Leases and the reports.
    let values = super::deploy::values();
    let resources = format!("--audit-resources={}", values["audit"]["resources"].as_str().unwrap());
    let tls = certificate_for("127.0.0.1");
    let flags = [
        "--audit",
        "--audit-identity",
        "paved-0",
        "--audit-lease-namespace",
        "paved",
        &resources,
        "--pack",
        "pod-security-baseline",
    ];
    let paved = serve_in(tls.path(), &flags, &[("KUBECONFIG", kubeconfig.as_path())]);
    let rule = "pod-security-baseline/privileged";
    wait_for("the report", || result(&kube, "shop", rule, "root").as_deref() == Some("fail"));
    let text = metrics(&paved, tls.path());
    assert_eq!(sample(&text, "paved_audit_shards_held"), 1.0, "{text}");
    assert!(!paved.log().contains("forbidden"), "{}", paved.log());
}

#[test]
fn with_every_kind_judged_its_own_writes_do_not_feed_the_audit() {
    // The default packs judge every kind (kubernetes-schema): the reports, Events and Leases
    // are left out, so writing a report changes nothing the next pass reports.
    let kube = cluster(&["shop"]);
    kube.must(&["create", "-f", "-"], Some(&pod("web", "shop", false)));
    let tls = certificate_for("127.0.0.1");
    let paved = auditor(&kube, tls.path(), "only", &["--audit-interval", "2s", "--log-level", "debug"]);
    wait_for("the first report", || report(&kube, "shop").is_some());
    let passes = |text: &str| sample(text, "paved_audit_duration_seconds_count{pass=\"full\"}");
    let applied = |text: &str| sample(text, "paved_audit_report_writes_total{operation=\"applied\"}");
    let first = metrics(&paved, tls.path());
    wait_for_long("four more full passes", Duration::from_secs(40), || {
        passes(&metrics(&paved, tls.path())) >= passes(&first) + 4.0
    });
    let after = metrics(&paved, tls.path());
    let listed = kube.must(&["get", "policyreports,clusterpolicyreports", "-A", "--no-headers"], None);
    assert!(applied(&first) >= listed.lines().count() as f64, "{first}");
    // A write that fed the audit would write again at every pass; the young API server may still
    // add an object of its own (a bootstrap configuration) once.
    let again = applied(&after) - applied(&first);
    assert!(again <= 1.0, "{again} writes over four passes of an unchanged cluster: {}", paved.log());
}
