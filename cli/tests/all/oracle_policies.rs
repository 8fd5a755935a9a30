//! Kubernetes as the oracle for its own admission policies: the cases of
//! `tests/oracle/admission-policies.yaml` (ValidatingAdmissionPolicies, bindings, param objects and
//! the objects to create) are applied to a real kube-apiserver and loaded as a paved bundle; each
//! object must be allowed or denied alike, with the same denial and warnings.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use super::kube::Kube;
use super::oracle::admit;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The identity `kubectl` has against the test API server (its client certificate).
const USER: &str = "paved-test-admin";

struct Case {
    name: String,
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    documents: String,
    objects: Vec<Value>,
}

fn cases() -> Vec<Case> {
    let file = Path::new(ROOT).join("tests/oracle/admission-policies.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let table = yaml_rust2::YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let strings = |y: &yaml_rust2::Yaml| -> BTreeMap<String, String> {
        y.as_hash()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.as_str().unwrap().to_owned()))
            .collect()
    };
    table[0]
        .as_vec()
        .unwrap()
        .iter()
        .map(|c| {
            let mut objects = String::new();
            for o in c["objects"].as_vec().unwrap() {
                yaml_rust2::YamlEmitter::new(&mut objects).dump(o).unwrap();
                objects.push('\n');
            }
            Case {
                name: c["name"].as_str().unwrap().to_owned(),
                namespaces: c["namespaces"]
                    .as_hash()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.as_str().unwrap().to_owned(), strings(v)))
                    .collect(),
                documents: c["documents"].as_str().unwrap().to_owned(),
                objects: paved::Resource::from_str("objects.yaml", &objects)
                    .unwrap()
                    .iter()
                    .map(|r| r.value().clone())
                    .collect(),
            }
        })
        .collect()
}

/// A verdict as both sides give it: allowed or not, the denial, the warnings (sorted).
#[derive(Debug, PartialEq)]
struct Verdict {
    allowed: bool,
    denial: Option<String>,
    warnings: Vec<String>,
}

/// The denial's sentence from the policy that denied: `ValidatingAdmissionPolicy '...' ...`.
fn sentence(message: &str) -> Option<String> {
    message.find("ValidatingAdmissionPolicy '").map(|at| message[at..].trim_end().to_owned())
}

fn in_paved(case: &Case, object: &Value) -> Verdict {
    let engine = paved::Bundle::from_str(&format!("{}.yaml", case.name), &case.documents)
        .and_then(|b| paved::Engine::builder().bundle(b).build())
        .unwrap_or_else(|e| panic!("case {}: {e}", case.name));
    // paved adds the label the API server gives every namespace, its name.
    let ctx = paved::Context::parse_at("2026-06-01").unwrap().namespaces(case.namespaces.clone());
    let (group, version) = match object["apiVersion"].as_str().unwrap().split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", object["apiVersion"].as_str().unwrap()),
    };
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "oracle", "operation": "CREATE", "namespace": object["metadata"]["namespace"], "name": object["metadata"]["name"],
        "kind": {"group": group, "version": version, "kind": object["kind"]},
        "userInfo": {"username": USER, "groups": ["system:masters", "system:authenticated"]},
        "object": object}});
    let answer = engine.admit(review, &ctx).unwrap();
    let response = &answer["response"];
    let mut warnings: Vec<String> =
        response["warnings"].as_array().into_iter().flatten().map(|w| w.as_str().unwrap().to_owned()).collect();
    warnings.sort();
    Verdict {
        allowed: response["allowed"] == true,
        denial: response["status"]["message"].as_str().and_then(sentence),
        warnings,
    }
}

fn in_kubernetes(kube: &Kube, object: &Value) -> Verdict {
    let answer = admit(kube, object);
    let mut warnings = answer.warnings;
    warnings.sort();
    Verdict { allowed: answer.stored.is_ok(), denial: answer.stored.err().as_deref().and_then(sentence), warnings }
}

#[test]
fn admission_policies_judge_in_paved_as_in_the_api_server() {
    let cases = cases();
    let kube = Kube::start();
    for case in &cases {
        for (name, labels) in &case.namespaces {
            let labels: Value = labels.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            let namespace =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}});
            kube.must(&["apply", "-f", "-"], Some(&namespace.to_string()));
        }
    }
    for case in &cases {
        kube.must(&["apply", "-f", "-"], Some(&case.documents));
    }
    // Policies apply once the API server's informers have them: wait (a bounded time; a case
    // that never agrees is reported below) until each case's first object gets paved's verdict.
    for case in &cases {
        let expected = in_paved(case, &case.objects[0]);
        let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while in_kubernetes(&kube, &case.objects[0]) != expected && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }
    let mut wrong = Vec::new();
    let mut compared = 0;
    for case in &cases {
        for object in &case.objects {
            let (paved, kubernetes) = (in_paved(case, object), in_kubernetes(&kube, object));
            compared += 1;
            if paved != kubernetes {
                let name = format!("{}/{}", case.name, object["metadata"]["name"].as_str().unwrap_or_default());
                wrong.push(format!("{name}:\n  paved:      {paved:?}\n  Kubernetes: {kubernetes:?}"));
            }
        }
    }
    eprintln!(
        "{} cases, {compared} objects: paved and the API server agree on {}",
        cases.len(),
        compared - wrong.len()
    );
    assert!(wrong.is_empty(), "{} of {compared} differ:\n{}", wrong.len(), wrong.join("\n"));
}

/// Every resource the API server serves, from its discovery documents: (group, version,
/// resource, kind, namespaced), subresources left out.
fn served(kube: &Kube) -> Vec<(String, String, String, String, bool)> {
    let get = |path: &str| -> Value { serde_json::from_str(&kube.must(&["get", "--raw", path], None)).unwrap() };
    let mut versions = vec![(String::new(), "v1".to_owned(), "/api/v1".to_owned())];
    for g in get("/apis")["groups"].as_array().unwrap() {
        let group = g["name"].as_str().unwrap();
        for v in g["versions"].as_array().unwrap() {
            let version = v["version"].as_str().unwrap();
            versions.push((group.to_owned(), version.to_owned(), format!("/apis/{group}/{version}")));
        }
    }
    let mut out = Vec::new();
    for (group, version, path) in versions {
        for r in get(&path)["resources"].as_array().unwrap() {
            let name = r["name"].as_str().unwrap();
            if !name.contains('/') {
                let kind = r["kind"].as_str().unwrap().to_owned();
                out.push((group.clone(), version.clone(), name.to_owned(), kind, r["namespaced"] == true));
            }
        }
    }
    out
}

#[test]
fn resource_rules_name_every_served_kind_as_the_api_server_does() {
    let kube = Kube::start();
    let served = served(&kube);
    // One policy per served resource, matching it alone (Exact) in its scope; an object of each
    // kind must meet exactly its own resource's policy.
    let mut documents = String::new();
    for (i, (group, version, resource, _, namespaced)) in served.iter().enumerate() {
        let scope = if *namespaced { "Namespaced" } else { "Cluster" };
        documents.push_str(&format!(
            "---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {{name: p{i}}}\nspec:\n  matchConstraints:\n    matchPolicy: Exact\n    resourceRules: [{{apiGroups: [\"{group}\"], apiVersions: [{version}], operations: [CREATE], resources: [{resource}], scope: {scope}}}]\n  validations: [{{expression: \"false\", message: \"{resource}\"}}]\n---\napiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {{name: b{i}}}\nspec: {{policyName: p{i}, validationActions: [Deny]}}\n"
        ));
    }
    let engine = paved::Bundle::from_str("served.yaml", &documents)
        .and_then(|b| paved::Engine::builder().bundle(b).build())
        .unwrap();
    let mut wrong = Vec::new();
    for (group, version, resource, kind, namespaced) in &served {
        let api_version = if group.is_empty() { version.clone() } else { format!("{group}/{version}") };
        let mut metadata = json!({"name": "x"});
        if *namespaced {
            metadata["namespace"] = json!("default");
        }
        let object = paved::Resource::new(json!({"apiVersion": api_version, "kind": kind, "metadata": metadata}));
        let ctx = paved::Context::parse_at("2026-06-01").unwrap();
        let met: Vec<String> = engine.evaluate(&[object], &ctx).findings.iter().map(|f| f.message.clone()).collect();
        if met != [resource.clone()] {
            wrong.push(format!("{api_version} {kind} ({resource}): met {met:?}"));
        }
    }
    eprintln!("{} served resources: paved names {} as the API server does", served.len(), served.len() - wrong.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(served.len() > 50, "{}", served.len());
}

#[test]
fn admission_policies_load_in_paved_as_the_api_server_accepts_them() {
    let file = Path::new(ROOT).join("tests/oracle/admission-policy-loads.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let table = yaml_rust2::YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let kube = Kube::start();
    let mut wrong = Vec::new();
    let rows = table[0].as_vec().unwrap();
    for row in rows {
        let (what, document) = (row["what"].as_str().unwrap(), row["document"].as_str().unwrap());
        let (created, _, refusal) = kube.kubectl(&["create", "--dry-run=server", "-f", "-"], Some(document));
        let loaded = paved::Bundle::from_str("document.yaml", document);
        // `paved: refuses`: the API server creates it, and paved refuses it by design (the row
        // says why).
        let by_design = row["paved"].as_str() == Some("refuses") && created && loaded.is_err();
        if created != loaded.is_ok() && !by_design {
            let paved = loaded.err().map_or("loads".to_owned(), |e| format!("refuses: {e}"));
            let kubernetes = if created { "accepts".to_owned() } else { format!("refuses: {}", refusal.trim()) };
            wrong.push(format!("{what}:\n  paved {paved}\n  Kubernetes {kubernetes}"));
        }
    }
    let by_design = rows.iter().filter(|r| r["paved"].as_str() == Some("refuses")).count();
    eprintln!(
        "{} documents: paved loads as the API server accepts {} ({by_design} refused by design, as the table says)",
        rows.len(),
        rows.len() - wrong.len()
    );
    assert!(wrong.is_empty(), "{} of {} differ:\n{}", wrong.len(), rows.len(), wrong.join("\n"));
}

/// `paved export vap` of both Pod Security packs' policies, applied to the API server: on a
/// deterministic sample of the restricted fixtures of every version, the API server denies what
/// `paved check --pack pod-security-restricted` denies, and nothing else.
#[test]
fn exported_pod_security_packs_judge_in_the_api_server_as_paved_does() {
    let kube = Kube::start();
    kube.must(&["create", "namespace", "exported"], None);
    for policy in ["pod-security-baseline", "pod-security-restricted"] {
        let out = super::paved()
            .args(["export", "vap", policy, "--pack", "pod-security-restricted", "--partial"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let yaml = String::from_utf8(out.stdout).unwrap();
        assert!(yaml.contains("kind: ValidatingAdmissionPolicyBinding"), "{yaml}");
        kube.must(&["apply", "-f", "-"], Some(&yaml));
    }
    let paths = super::kube::fixtures("restricted", 6);
    let denies: Vec<bool> = super::serve::check(&["--pack", "pod-security-restricted"], &paths)
        .iter()
        .map(|found| !found.is_empty())
        .collect();
    let probe = paths.iter().zip(&denies).find(|(_, d)| **d).unwrap().0.clone();
    super::kube::wait_for("the exported policies to apply", || {
        matches!(
            &super::kube::dry_run(&kube, "exported", std::slice::from_ref(&probe), "")[0],
            super::kube::Verdict::Refused(_)
        )
    });
    let verdicts = super::kube::dry_run(&kube, "exported", &paths, "ValidatingAdmissionPolicy 'pod-security-");
    let mut disagree = Vec::new();
    let mut compared = 0;
    for ((path, denied), verdict) in paths.iter().zip(&denies).zip(&verdicts) {
        if matches!(verdict, super::kube::Verdict::Invalid(_)) {
            continue; // not a valid Pod of this release: refused before admission
        }
        compared += 1;
        if matches!(verdict, super::kube::Verdict::Refused(_)) != *denied {
            disagree.push(format!("{}: paved denies: {denied}; the API server: {verdict:?}", path.display()));
        }
    }
    eprintln!(
        "{compared} fixtures: the exported packs in the API server and paved agree on {}",
        compared - disagree.len()
    );
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
    assert!(compared >= 150 && denies.iter().any(|d| *d) && denies.iter().any(|d| !d), "{compared}");
}
