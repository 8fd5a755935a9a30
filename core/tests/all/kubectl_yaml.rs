//! paved reads manifests as kubectl does: a differential test against `kubectl` itself over a
//! corpus of tricky YAML (YAML 1.1 booleans and numbers, merge keys, keys that are not strings,
//! `*List`s, CRLF, a byte-order mark, a stream of documents, tags). `kubectl label --local -o json`
//! decodes a file exactly as `kubectl apply` does, with no API server; the label it adds is
//! taken off again before comparing.

use std::path::Path;

use paved::Resource;
use serde_json::Value;

const LABEL: &str = "paved.dev/differential";

/// kubectl's JSON of every object in `file`, the label it was asked to add taken off.
fn kubectl(file: &Path) -> Vec<Value> {
    let out = std::process::Command::new("kubectl")
        .args(["label", "--local", "-o", "json", "-f"])
        .arg(file)
        .arg(format!("{LABEL}=x"))
        .output()
        .unwrap_or_else(|e| panic!("kubectl is needed for this test (it is on every machine of this project): {e}"));
    assert!(out.status.success(), "kubectl on {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .map(|v| {
            let mut v = v.unwrap();
            let metadata = v["metadata"].as_object_mut().unwrap();
            let labels = metadata["labels"].as_object_mut().unwrap();
            labels.remove(LABEL);
            if labels.is_empty() {
                metadata.remove("labels");
            }
            v
        })
        .collect()
}

#[test]
fn paved_reads_every_manifest_of_the_corpus_as_kubectl_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kubectl-yaml");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 6);
    let mut compared = 0;
    for file in &files {
        let theirs = kubectl(file);
        let ours: Vec<Value> = Resource::from_paths(std::slice::from_ref(file))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .iter()
            .map(|r| r.value().clone())
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{}: objects", file.display());
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(
                a,
                b,
                "{}: paved (left) and kubectl (right) read {} differently",
                file.display(),
                b["metadata"]["name"]
            );
            compared += 1;
        }
    }
    assert!(compared >= 10, "{compared} objects compared");
}

#[test]
fn what_readers_disagree_on_is_refused_with_the_reason() {
    let refused = |text: &str| {
        let e = Resource::from_str("x.yaml", &format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: a}}\n{text}"))
            .unwrap_err();
        let message = e.diagnostics().unwrap().iter().next().unwrap().message.clone();
        message
    };
    // `on` and `yes` are both the key "true": which value wins differs between readers.
    assert!(refused("spec: {on: 1, yes: 2}\n").contains("duplicate key `true`"));
    assert!(refused("spec: {x: .inf}\n").contains("infinite or not a number"));
    assert!(refused("spec: {~: 1}\n").contains("is null"));
    assert!(refused("x: &b {a: 1}\nspec: {a: 2, <<: *b}\n").contains("YAML readers disagree"));
    assert!(refused("spec: {<<: [1]}\n").contains("a merge key (`<<`) takes a mapping"));
    let e = Resource::from_str(
        "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: List, items: [{apiVersion: v1, kind: Pod, metadata: {name: p}}]}\n",
    )
    .unwrap_err();
    assert!(e.to_string().contains("a list inside a list"), "{e}");
}

#[test]
fn yaml_1_1_tricks_do_not_pass_the_pod_security_checks() {
    let engine =
        paved::Engine::builder().bundle(paved::Bundle::pack("pod-security-baseline").unwrap()).build().unwrap();
    let ctx = paved::Context::parse_at("2026-06-01").unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/kubectl-yaml");
    for (file, rule) in [
        ("booleans.yaml", "hostNamespaces"),
        ("booleans.yaml", "privileged"),
        ("merge-keys.yaml", "privileged"),
        ("list-crlf.yaml", "hostNamespaces"),
        ("stream-bom.yaml", "hostNamespaces"),
    ] {
        let resources = Resource::from_paths(&[dir.join(file)]).unwrap();
        let report = engine.evaluate(&resources, &ctx);
        assert!(report.findings.iter().any(|f| f.rule == rule), "{file}: {rule} not found in {:#?}", report.findings);
    }
}
