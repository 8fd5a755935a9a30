//! The deployment eats paved's own cooking: the plain manifests and the Helm chart pass the
//! `pod-security-restricted`, `platform-baseline` and `kubernetes-schema` packs, and the chart
//! renders to the plain manifests.
//!
//! The chart's templates keep to a small part of Helm's template language (values, the release
//! namespace, `if`/`if not`/`else`/`end`, `toYaml`, `nindent`), which `render` below implements, so
//! the test needs no `helm` binary.

use std::path::Path;

use serde_json::{Map, Value};

use super::paved;

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy");
const PACKS: [&str; 6] =
    ["--pack", "pod-security-restricted", "--pack", "platform-baseline", "--pack", "kubernetes-schema"];

pub(crate) fn json_of(yaml: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match yaml {
        Yaml::Real(r) => serde_json::from_str(r).unwrap(),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(json_of).collect()),
        Yaml::Hash(h) => {
            Value::Object(h.iter().map(|(k, v)| (k.as_str().unwrap().to_owned(), json_of(v))).collect::<Map<_, _>>())
        }
        Yaml::Null => Value::Null,
        other => panic!("unexpected YAML {other:?}"),
    }
}

pub(crate) fn values() -> Value {
    let text = std::fs::read_to_string(Path::new(DEPLOY).join("helm/paved/values.yaml")).unwrap();
    json_of(&yaml_rust2::YamlLoader::load_from_str(&text).unwrap()[0])
}

/// `.Values.a.b` or `.Release.Namespace`.
fn lookup<'a>(path: &str, values: &'a Value, release: &'a Value) -> &'a Value {
    let (root, rest) = if let Some(rest) = path.strip_prefix(".Values") {
        (values, rest)
    } else if let Some(rest) = path.strip_prefix(".Release") {
        (release, rest)
    } else {
        panic!("the chart uses {path}, which the test's renderer does not know")
    };
    rest.split('.').filter(|s| !s.is_empty()).fold(root, |v, key| &v[key])
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// A pipeline: `X`, `toYaml X`, then `| nindent N`.
fn pipeline(action: &str, values: &Value, release: &Value) -> String {
    let mut stages = action.split('|').map(str::trim);
    let first: Vec<&str> = stages.next().unwrap().split_whitespace().collect();
    let mut out = match first.as_slice() {
        ["toYaml", path] => paved::to_yaml(lookup(path, values, release)).trim_end().to_owned(),
        [path] => match lookup(path, values, release) {
            Value::String(s) => s.trim_end().to_owned(),
            Value::Null => panic!("{path} is not set"),
            other => other.to_string(),
        },
        _ => panic!("unsupported action {{{{ {action} }}}}"),
    };
    for stage in stages {
        let words: Vec<&str> = stage.split_whitespace().collect();
        match words.as_slice() {
            ["nindent", n] => {
                let pad = " ".repeat(n.parse().unwrap());
                out = out.lines().map(|l| format!("\n{pad}{l}")).collect();
            }
            _ => panic!("unsupported function {stage}"),
        }
    }
    out
}

/// Renders a template with `values` into `namespace`.
fn render(template: &str, values: &Value, namespace: &str) -> String {
    let release = serde_json::json!({"Namespace": namespace, "Name": "paved"});
    let (mut out, mut rest) = (String::new(), template);
    // Whether each open `if` (and everything around it) emits.
    let mut emitting: Vec<bool> = vec![true];
    while let Some(start) = rest.find("{{") {
        let (text, after) = rest.split_at(start);
        let end = after.find("}}").expect("an unclosed action");
        let mut action = &after[2..end];
        rest = &after[end + 2..];
        let mut text = text.to_owned();
        if let Some(a) = action.strip_prefix('-') {
            text = text.trim_end().to_owned();
            action = a;
        }
        if let Some(a) = action.strip_suffix('-') {
            rest = rest.trim_start();
            action = a;
        }
        if *emitting.last().unwrap() {
            out.push_str(&text);
        }
        let action = action.trim();
        let words: Vec<&str> = action.split_whitespace().collect();
        match words.as_slice() {
            ["if", "not", path] => emitting.push(*emitting.last().unwrap() && !truthy(lookup(path, values, &release))),
            ["if", path] => emitting.push(*emitting.last().unwrap() && truthy(lookup(path, values, &release))),
            ["else"] => {
                let inner = emitting.pop().unwrap();
                emitting.push(*emitting.last().unwrap() && !inner);
            }
            ["end"] => {
                emitting.pop().unwrap();
            }
            _ if action.starts_with("/*") => {}
            _ => {
                if *emitting.last().unwrap() {
                    out.push_str(&pipeline(action, values, &release));
                }
            }
        }
    }
    assert_eq!(emitting.len(), 1, "an unclosed if");
    out.push_str(rest);
    out
}

pub(crate) fn render_chart(values: &Value, namespace: &str) -> String {
    let mut templates: Vec<_> =
        std::fs::read_dir(Path::new(DEPLOY).join("helm/paved/templates")).unwrap().map(|e| e.unwrap().path()).collect();
    templates.sort();
    templates
        .iter()
        .map(|t| render(&std::fs::read_to_string(t).unwrap(), values, namespace))
        .filter(|r| !r.trim().is_empty())
        .map(|r| format!("---\n{}\n", r.trim_start_matches('\n')))
        .collect()
}

pub(crate) fn objects(file: &str, text: &str) -> Vec<Value> {
    let mut objects: Vec<Value> =
        paved::Resource::from_str(file, text).unwrap().into_iter().map(|r| r.value().clone()).collect();
    objects.sort_by_key(|o| format!("{}/{}", o["kind"], o["metadata"]["name"]));
    objects
}

/// `paved check` with the three packs: no finding above audit.
fn passes(path: &Path) {
    let out =
        paved().arg("check").args(PACKS).args(["--format", "json", "--fail-on", "warn"]).arg(path).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(out.status.success(), "{}: {:#}", path.display(), report["findings"]);
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.iter().all(|f| f["action"] == "Audit"), "{:#}", report["findings"]);
    assert!(report["summary"]["resources"].as_u64().unwrap() >= 10);
}

#[test]
fn the_plain_manifests_pass_paveds_own_packs() {
    passes(&Path::new(DEPLOY).join("manifests"));
}

#[test]
fn the_chart_renders_the_plain_manifests_and_passes_the_packs() {
    let dir = tempfile::tempdir().unwrap();
    let rendered = render_chart(&values(), "paved");
    let file = dir.path().join("chart.yaml");
    std::fs::write(&file, &rendered).unwrap();
    passes(&file);

    let mut plain = String::new();
    for name in ["paved.yaml", "cert-manager.yaml"] {
        plain += &std::fs::read_to_string(Path::new(DEPLOY).join("manifests").join(name)).unwrap();
        plain += "\n---\n";
    }
    // Helm installs into a namespace it is given; the plain manifests make theirs.
    let plain: Vec<Value> = objects("manifests", &plain).into_iter().filter(|o| o["kind"] != "Namespace").collect();
    assert_eq!(objects("chart", &rendered), plain);
}

#[test]
fn without_cert_manager_the_chart_takes_a_ca_bundle_and_without_watching_it_asks_for_no_rbac() {
    let mut values = values();
    values["tls"]["certManager"] = Value::Bool(false);
    values["tls"]["caBundle"] = Value::String("Y2E=".into());
    values["watchNamespaces"] = Value::Bool(false);
    let rendered = render_chart(&values, "policy");
    let objects = objects("chart", &rendered);
    let kinds: Vec<&str> = objects.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert!(
        !kinds.iter().any(|k| ["Certificate", "Issuer", "ClusterRole", "ClusterRoleBinding"].contains(k)),
        "{kinds:?}"
    );
    let webhook = objects.iter().find(|o| o["kind"] == "ValidatingWebhookConfiguration").unwrap();
    assert_eq!(webhook["webhooks"][0]["clientConfig"]["caBundle"], "Y2E=");
    assert_eq!(webhook["webhooks"][0]["clientConfig"]["service"]["namespace"], "policy");
    assert!(webhook["metadata"].get("annotations").is_none());
    let mutating = objects.iter().find(|o| o["kind"] == "MutatingWebhookConfiguration").unwrap();
    assert_eq!(mutating["webhooks"][0]["clientConfig"]["service"]["path"], "/mutate");
    assert_eq!(mutating["webhooks"][0]["clientConfig"]["caBundle"], "Y2E=");
    assert_eq!(mutating["webhooks"][0]["reinvocationPolicy"], "IfNeeded");
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
    let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"].as_array().unwrap();
    assert!(!args.contains(&Value::String("--watch-namespaces".into())));
}

#[test]
fn with_the_inventory_the_chart_grants_list_and_watch_of_exactly_the_kinds_the_bundle_reads() {
    let mut values = values();
    values["inventory"]["enabled"] = Value::Bool(true);
    let objects = objects("chart", &render_chart(&values, "paved"));
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
    let args = deployment["spec"]["template"]["spec"]["containers"][0]["args"].as_array().unwrap();
    assert!(args.contains(&Value::String("--watch-inventory".into())));
    let role = objects.iter().find(|o| o["kind"] == "ClusterRole" && o["metadata"]["name"] == "paved-inventory-reader");
    let rules = role.expect("a ClusterRole for the inventory")["rules"].as_array().unwrap().clone();
    let granted: std::collections::BTreeSet<(String, String)> = rules
        .iter()
        .flat_map(|r| {
            assert_eq!(r["verbs"], serde_json::json!(["list", "watch"]), "list and watch, nothing more");
            let groups: Vec<String> =
                r["apiGroups"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_owned()).collect();
            let resources: Vec<String> =
                r["resources"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_owned()).collect();
            groups.into_iter().flat_map(move |g| resources.clone().into_iter().map(move |r| (g.clone(), r)))
        })
        .collect();
    // What the chart's bundle reads, as the engine says.
    let bundle = paved::Bundle::from_str("bundle.yaml", values["bundle"].as_str().unwrap()).unwrap();
    let engine = paved::Engine::builder().bundle(bundle).build().unwrap();
    let plural = |kind: &str| {
        let k = kind.to_lowercase();
        match k.strip_suffix('y') {
            Some(stem) => format!("{stem}ies"),
            None if k.ends_with('s') => format!("{k}es"),
            None => format!("{k}s"),
        }
    };
    let needs = engine.inventory_needs();
    let read: std::collections::BTreeSet<(String, String)> =
        needs.kinds.iter().map(|(group, _, kind)| (group.clone(), plural(kind))).collect();
    // An autoscaler's target is read by the kind it names, known only as it runs: the
    // workloads it may name are kept for the other rules.
    assert_eq!(needs.unknown, ["autoscaling-target"]);
    assert_eq!(granted, read, "the chart grants what the bundle's policies read, no more");
}

/// `resource.group` (or `resource` in the core group) for every resource of RBAC `rules` whose
/// verbs are `verbs`.
fn granted(rules: &[Value], verbs: &[&str]) -> std::collections::BTreeSet<String> {
    rules
        .iter()
        .filter(|r| r["verbs"] == serde_json::json!(verbs))
        .flat_map(|r| {
            let groups: Vec<String> =
                r["apiGroups"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().into()).collect();
            let resources: Vec<String> =
                r["resources"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().into()).collect();
            groups.into_iter().flat_map(move |g| {
                resources.clone().into_iter().map(move |r| if g.is_empty() { r } else { format!("{r}.{g}") })
            })
        })
        .collect()
}

#[test]
fn with_the_audit_the_chart_grants_listing_what_it_audits_and_writing_only_reports_and_leases() {
    let mut values = values();
    values["audit"]["enabled"] = Value::Bool(true);
    let rendered = render_chart(&values, "paved");
    let objects = objects("chart", &rendered);
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    let resources = values["audit"]["resources"].as_str().unwrap();
    for arg in ["--audit", "--audit-shards=2", "--audit-interval=10m", &format!("--audit-resources={resources}")] {
        assert!(args.contains(&arg), "{arg} in {args:?}");
    }
    let env: Vec<&str> = container["env"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(env, ["POD_NAME", "POD_NAMESPACE"]);

    let role = objects.iter().find(|o| o["kind"] == "ClusterRole" && o["metadata"]["name"] == "paved-auditor").unwrap();
    let rules = role["rules"].as_array().unwrap();
    let listed = granted(rules, &["list", "watch"]);
    let mut wanted: std::collections::BTreeSet<String> = resources.split(',').map(str::to_owned).collect();
    wanted.extend(granted(values["inventory"]["rules"].as_array().unwrap(), &["list", "watch"]));
    wanted.insert("namespaces".into());
    assert_eq!(listed, wanted, "it lists and watches what it audits, the inventory and namespaces, no more");
    let written = granted(rules, &["list", "create", "patch", "delete"]);
    let reports = [
        "clusterpolicyreports.wgpolicyk8s.io",
        "clusterreports.openreports.io",
        "policyreports.wgpolicyk8s.io",
        "reports.openreports.io",
    ];
    assert_eq!(written.iter().map(String::as_str).collect::<Vec<_>>(), reports);
    assert_eq!(
        rules.len(),
        values["audit"]["rules"].as_array().unwrap().len() + values["inventory"]["rules"].as_array().unwrap().len() + 3
    );
    let leases = objects.iter().find(|o| o["kind"] == "Role" && o["metadata"]["name"] == "paved-audit-leases").unwrap();
    assert_eq!(leases["metadata"]["namespace"], "paved");
    assert_eq!(
        granted(leases["rules"].as_array().unwrap(), &["list", "create", "update", "delete"]),
        ["leases.coordination.k8s.io".to_owned()].into()
    );
    // The CRDs it writes ship with the chart.
    for crd in ["policyreports.yaml", "openreports.yaml"] {
        let text = std::fs::read_to_string(Path::new(DEPLOY).join("helm/paved/crds").join(crd)).unwrap();
        assert_eq!(super::deploy::objects(crd, &text).len(), 2);
    }
}

#[test]
fn with_oci_sources_the_chart_passes_the_key_a_cache_and_the_registry_credentials() {
    let mut values = values();
    values["oci"]["enabled"] = Value::Bool(true);
    values["oci"]["verifyKey"] = Value::String("-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----".into());
    for audit in [false, true] {
        values["audit"]["enabled"] = Value::Bool(audit);
        let objects = objects("chart", &render_chart(&values, "paved"));
        let deployment = objects.iter().find(|o| o["kind"] == "Deployment").unwrap();
        let pod = &deployment["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        let args: Vec<&str> = container["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        assert!(
            args.contains(&"--verify-key=/etc/paved/oci/cosign.pub") && args.contains(&"--registry-poll=60s"),
            "{args:?}"
        );
        let env: Vec<&str> = container["env"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
        assert!(env.contains(&"PAVED_CACHE_DIR") && env.contains(&"DOCKER_CONFIG"), "{env:?}");
        assert_eq!(env.contains(&"POD_NAME"), audit);
        let mounts: Vec<&str> =
            container["volumeMounts"].as_array().unwrap().iter().map(|m| m["mountPath"].as_str().unwrap()).collect();
        for path in ["/etc/paved/oci", "/var/cache/paved", "/etc/paved/docker"] {
            assert!(mounts.contains(&path), "{path} in {mounts:?}");
        }
        let key = objects.iter().find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "paved-oci").unwrap();
        assert!(key["data"]["cosign.pub"].as_str().unwrap().starts_with("-----BEGIN PUBLIC KEY-----\nMFkw"));
        let secret = pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "registry-credentials").unwrap();
        assert_eq!(secret["secret"]["secretName"], "paved-registry");
    }
}
