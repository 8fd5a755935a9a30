//! Kubernetes as the oracle for mutation: the cases of
//! `tests/oracle/mutating-admission-policies.yaml` (MutatingAdmissionPolicies, their bindings and
//! the objects to create) are applied to a real kube-apiserver and loaded as a paved bundle; each
//! object must be stored alike (or refused by both). paved mutates the object as the API server
//! defaulted it before admission, and its result is defaulted as the API server defaults what
//! admission made, so each side is compared as it would be stored.

use std::path::Path;

use serde_json::{json, Value};

use super::kube::{wait_for, Kube};
use super::oracle::admit;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

struct Case {
    name: String,
    /// The case's documents, with a binding to the case's namespace for each policy that has none.
    documents: Vec<Value>,
    objects: Vec<Value>,
}

fn cases() -> Vec<Case> {
    let file = Path::new(ROOT).join("tests/oracle/mutating-admission-policies.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let table = yaml_rust2::YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let values = |text: &str| -> Vec<Value> {
        paved::Resource::from_str("case.yaml", text).unwrap().iter().map(|r| r.value().clone()).collect()
    };
    table[0]
        .as_vec()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap().to_owned();
            let mut documents = values(c["documents"].as_str().unwrap());
            let bound: Vec<Value> = documents
                .iter()
                .filter(|d| d["kind"] == "MutatingAdmissionPolicyBinding")
                .map(|d| d["spec"]["policyName"].clone())
                .collect();
            let unbound: Vec<Value> = documents
                .iter()
                .filter(|d| d["kind"] == "MutatingAdmissionPolicy" && !bound.contains(&d["metadata"]["name"]))
                .map(|d| d["metadata"]["name"].clone())
                .collect();
            documents.extend(unbound.into_iter().map(|policy| binding(&policy, &name)));
            let mut objects = String::new();
            for o in c["objects"].as_vec().unwrap() {
                yaml_rust2::YamlEmitter::new(&mut objects).dump(o).unwrap();
                objects.push('\n');
            }
            Case { name, documents, objects: values(&objects) }
        })
        .collect()
}

/// A binding of `policy` to the namespace `namespace`.
fn binding(policy: &Value, namespace: &str) -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicyBinding",
        "metadata": {"name": policy},
        "spec": {"policyName": policy,
            "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}}})
}

/// `object` in `namespace`.
fn placed(object: &Value, namespace: &str) -> Value {
    let mut object = object.clone();
    object["metadata"]["namespace"] = json!(namespace);
    object
}

/// What differs between two dry runs of one object, whatever the policies: what the API server
/// stamps on it.
fn unstamped(mut object: Value) -> Value {
    if let Some(m) = object["metadata"].as_object_mut() {
        for key in ["uid", "creationTimestamp", "managedFields", "resourceVersion", "generation"] {
            m.remove(key);
        }
    }
    object
}

/// What paved makes of the object the API server defaulted: the stored object, or the refusal.
fn in_paved(case: &Case, defaulted: &Value) -> Result<Value, String> {
    let documents: Vec<String> = case.documents.iter().map(|d| d.to_string()).collect();
    let engine = paved::Bundle::from_str(&format!("{}.yaml", case.name), &documents.join("\n---\n"))
        .and_then(|b| paved::Engine::builder().bundle(b).build())
        .unwrap_or_else(|e| panic!("case {}: {e}", case.name));
    let resources = vec![paved::Resource::new(defaulted.clone())];
    let (out, report) = engine.mutate(&resources, &paved::Context::parse_at("2026-06-01").unwrap());
    if report.decision == paved::Decision::Deny {
        let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
        return Err(messages.join("; "));
    }
    Ok(out[0].value().clone())
}

#[test]
fn mutating_admission_policies_store_in_paved_what_the_api_server_stores() {
    let cases = cases();
    let kube = Kube::start();
    for case in &cases {
        for namespace in [case.name.clone(), format!("{}-plain", case.name)] {
            kube.must(&["create", "namespace", &namespace], None);
        }
    }
    for case in &cases {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": case.documents});
        kube.must(&["apply", "-f", "-"], Some(&list.to_string()));
    }
    // Policies apply once the API server's informers have them: one applied after all the others
    // says when they do.
    kube.must(&["create", "namespace", "sentinel"], None);
    let sentinel = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": "zz-sentinel"},
        "spec": {"reinvocationPolicy": "Never", "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}]},
            "mutations": [{"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": "Object{data: {'sentinel': 'yes'}}"}}]}});
    let list =
        json!({"apiVersion": "v1", "kind": "List", "items": [sentinel, binding(&json!("zz-sentinel"), "sentinel")]});
    kube.must(&["apply", "-f", "-"], Some(&list.to_string()));
    let probe =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "probe", "namespace": "sentinel"}});
    wait_for("the policies to apply", || admit(&kube, &probe).stored.is_ok_and(|s| s["data"]["sentinel"] == "yes"));
    std::thread::sleep(std::time::Duration::from_secs(2));

    let (mut compared, mut wrong, mut refused) = (0, Vec::new(), 0);
    for case in &cases {
        for object in &case.objects {
            let plain = admit(&kube, &placed(object, &format!("{}-plain", case.name)));
            let defaulted = plain.stored.unwrap_or_else(|e| panic!("{}: the object is refused alone: {e}", case.name));
            let defaulted = placed(&unstamped(defaulted), &case.name);
            let kubernetes = admit(&kube, &placed(object, &case.name)).stored.map(unstamped);
            // The API server defaults what admission added (a container's `resources: {}`):
            // paved's result is defaulted as it would be stored, in the namespace beside.
            let paved = in_paved(case, &defaulted).and_then(|made| {
                let stored = admit(&kube, &placed(&made, &format!("{}-plain", case.name))).stored;
                stored.map(|s| placed(&unstamped(s), &case.name)).map_err(|e| format!("stored, it is refused: {e}"))
            });
            compared += 1;
            refused += usize::from(kubernetes.is_err());
            let agree = match (&paved, &kubernetes) {
                (Ok(p), Ok(k)) => p == k,
                (Err(_), Err(_)) => true,
                _ => false,
            };
            if !agree {
                let name = format!("{}/{}", case.name, object["metadata"]["name"].as_str().unwrap_or_default());
                let show = |r: &Result<Value, String>| match r {
                    Ok(v) => serde_json::to_string(v).unwrap(),
                    Err(e) => format!("refused: {e}"),
                };
                wrong.push(format!("{name}:\n  paved:      {}\n  Kubernetes: {}", show(&paved), show(&kubernetes)));
            }
        }
    }
    eprintln!(
        "{} cases, {compared} objects ({refused} refused by the API server): paved and the API server store alike {}",
        cases.len(),
        compared - wrong.len()
    );
    assert!(wrong.is_empty(), "{} of {compared} differ:\n{}", wrong.len(), wrong.join("\n"));
    assert!(compared >= 100, "{compared} objects");
}
