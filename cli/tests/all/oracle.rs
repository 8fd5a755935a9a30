//! Kubernetes as the oracle for CEL: the rows of `tests/oracle/cel.yaml` (an expression with its
//! type and value, or the error it gives) are checked in paved and, as ValidatingAdmissionPolicy
//! validations, by a real kube-apiserver (`scripts/kube-up`): both must agree with every row.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::kube::{dry_run, wait_for, Kube, Verdict};
use super::serve::{check, files, CONFORMANCE};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// What a row expects of its expression.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// `type(E) == type && (E) == value` holds.
    Value,
    /// The expression does not compile (type-check included).
    Compile,
    /// It compiles and fails when evaluated.
    Runtime,
}

struct Row {
    expr: String,
    check: String,
    /// What Kubernetes does.
    expect: Expect,
    /// What paved does, where it differs (`paved:` in the table).
    paved: Option<Expect>,
}

fn outcome(word: &str) -> Expect {
    match word {
        "value" => Expect::Value,
        "compile" => Expect::Compile,
        "runtime" => Expect::Runtime,
        other => panic!("`{other}` is value, compile or runtime"),
    }
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(Path::new(ROOT).join("tests/oracle/cel.yaml")).unwrap();
    let table = yaml_rust2::YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("tests/oracle/cel.yaml: {e}"));
    table[0]
        .as_vec()
        .unwrap()
        .iter()
        .map(|r| {
            let expr = r["expr"].as_str().unwrap().to_owned();
            let (check, expect) = match r["error"].as_str() {
                Some(error) => (format!("({expr}) == ({expr})"), outcome(error)),
                None => {
                    let (t, v) = (r["type"].as_str().unwrap(), r["value"].as_str().unwrap());
                    (format!("type({expr}) == {t} && ({expr}) == {v}"), Expect::Value)
                }
            };
            let paved = r["paved"].as_str().map(outcome);
            Row { expr, check, expect, paved }
        })
        .collect()
}

const CONFIG_MAP: &str = r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "oracle", "namespace": "oracle"}, "data": {"a": "1", "b": "two"}}"#;

/// What paved makes of a row's check in a paved Policy: `Value` when it holds, else the error
/// it gives.
fn in_paved(row: &Row) -> Result<Expect, String> {
    let policy = json!({"apiVersion": "paved.dev/v1", "kind": "Policy", "metadata": {"name": "oracle", "version": "1.0.0"},
        "spec": {"match": {"kinds": ["ConfigMap"]}, "rules": [{"id": "row", "message": "the row does not hold", "cel": row.check}]}});
    judged(&policy.to_string())
}

/// What paved makes of a row's check in a ValidatingAdmissionPolicy: exactly what Kubernetes
/// makes of it, whatever paved's own environment does.
fn in_paved_as_kubernetes(row: &Row) -> Result<Expect, String> {
    let policy = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "oracle"},
        "spec": {"failurePolicy": "Fail", "validations": [{"expression": row.check, "message": "the row does not hold"}],
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}]}}});
    let binding = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "oracle"}, "spec": {"policyName": "oracle", "validationActions": ["Deny"]}});
    judged(&format!("{policy}\n---\n{binding}"))
}

/// What a bundle holding one row's check makes of the ConfigMap: `Compile` when it does not
/// load, `Value` when the check holds, `Runtime` when it fails.
fn judged(bundle: &str) -> Result<Expect, String> {
    let engine =
        match paved::Bundle::from_str("oracle.yaml", bundle).and_then(|b| paved::Engine::builder().bundle(b).build()) {
            Ok(engine) => engine,
            Err(_) => return Ok(Expect::Compile),
        };
    let resources = paved::Resource::from_str("cm.json", CONFIG_MAP).unwrap();
    let report = engine.evaluate(&resources, &paved::Context::parse_at("2026-06-01").unwrap());
    match report.findings.first() {
        None => Ok(Expect::Value),
        Some(f) if f.error.is_some() => Ok(Expect::Runtime),
        Some(f) => Err(format!("the check is false: {}", f.message)),
    }
}

/// What Kubernetes makes of each row's check: whether the API server accepts a policy holding
/// it (a dry run of each), then, for those it does, policies of a few of them each in `Warn`
/// with `failurePolicy: Fail`, whose warnings on a ConfigMap's dry run say which checks are false
/// and which failed. A few per policy, each bound in its own namespace: the API server keeps only
/// so many warnings of a request, and stops a policy whose evaluations cost too much together.
fn in_kubernetes(kube: &Kube, rows: &[Row]) -> Vec<Result<Expect, String>> {
    let policy = |name: &str, validations: Vec<Value>| {
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {"failurePolicy": "Fail", "validations": validations,
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}]}}})
    };
    let validation = |i: usize, row: &Row| json!({"expression": row.check, "message": format!("row {i:03} is false")});
    let dir = tempfile::tempdir().unwrap();
    for (i, row) in rows.iter().enumerate() {
        let file = dir.path().join(format!("row-{i:03}.json"));
        std::fs::write(file, policy(&format!("row-{i:03}"), vec![validation(i, row)]).to_string()).unwrap();
    }
    let (_, out, _) =
        kube.kubectl(&["create", "--dry-run=server", "-o", "name", "-f", dir.path().to_str().unwrap()], None);
    let compiles: Vec<bool> = (0..rows.len()).map(|i| out.contains(&format!("/row-{i:03}\n"))).collect();

    const CHUNK: usize = 20;
    let compiled: Vec<usize> = (0..rows.len()).filter(|i| compiles[*i]).collect();
    for (c, chunk) in compiled.chunks(CHUNK).enumerate() {
        let name = format!("oracle-{c}");
        // A validation that is always false says when the policy applies.
        let mut all = vec![json!({"expression": "false", "message": "sentinel"})];
        all.extend(chunk.iter().filter_map(|&i| rows.get(i).map(|row| validation(i, row))));
        kube.must(&["apply", "-f", "-"], Some(&policy(&name, all).to_string()));
        let binding = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {"policyName": name, "validationActions": ["Warn"],
                "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}}});
        kube.must(&["apply", "-f", "-"], Some(&binding.to_string()));
        kube.must(&["create", "namespace", &name], None);
    }
    let mut warnings = String::new();
    for c in 0..compiled.len().div_ceil(CHUNK) {
        let config_map = CONFIG_MAP.replace("\"namespace\": \"oracle\"", &format!("\"namespace\": \"oracle-{c}\""));
        let mut chunk = String::new();
        wait_for("the policy to apply", || {
            let (ok, _, err) = kube.kubectl(&["create", "--dry-run=server", "-f", "-"], Some(&config_map));
            assert!(ok, "{err}");
            chunk = err;
            chunk.contains("sentinel")
        });
        warnings.push_str(&chunk);
    }
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            if !compiles[i] {
                return Ok(Expect::Compile);
            }
            let failed =
                warnings.lines().find(|l| l.contains(&row.check) && !l.contains(&format!("row {i:03} is false")));
            match (warnings.contains(&format!("row {i:03} is false")), failed) {
                (true, _) => Err("the check is false".to_owned()),
                (false, Some(_)) => Ok(Expect::Runtime),
                (false, None) => Ok(Expect::Value),
            }
        })
        .collect()
}

#[test]
fn every_cel_row_gives_in_paved_what_it_gives_in_kubernetes() {
    let rows = rows();
    let kube = Kube::start();
    let kubernetes = in_kubernetes(&kube, &rows);
    let mut wrong = BTreeMap::new();
    for (row, k8s) in rows.iter().zip(&kubernetes) {
        let paved = in_paved(row);
        let as_kubernetes = in_paved_as_kubernetes(row);
        let want = row.paved.clone().unwrap_or(row.expect.clone());
        if k8s.as_ref() != Ok(&row.expect) || paved.as_ref() != Ok(&want) || as_kubernetes.as_ref() != Ok(&row.expect) {
            let table = format!("table {:?} (paved {want:?})", row.expect);
            let found =
                format!("paved {paved:?}, in a ValidatingAdmissionPolicy {as_kubernetes:?}, Kubernetes {k8s:?}");
            wrong.insert(row.expr.clone(), format!("{table}; {found}"));
        }
    }
    let report: Vec<String> = wrong.iter().map(|(e, w)| format!("{e}: {w}")).collect();
    let differ = rows.iter().filter(|r| r.paved.is_some()).count();
    eprintln!(
        "{} CEL rows checked in paved (its own policies and ValidatingAdmissionPolicies) and in Kubernetes 1.37: {} as the table says; paved's own environment differs from Kubernetes on {differ} of them, as the table says, and a ValidatingAdmissionPolicy in paved on none",
        rows.len(),
        rows.len() - wrong.len()
    );
    assert!(wrong.is_empty(), "{} rows disagree:\n{}", wrong.len(), report.join("\n"));
    assert!(rows.len() >= 280, "{} rows", rows.len());
}

/// What the API server answers a `--dry-run=server` create of an object: the object as it would
/// be stored (after every mutation), or the refusal; and its warnings. The oracle for mutation:
/// what Kubernetes' own MutatingAdmissionPolicies make of an object.
pub(crate) struct Answer {
    pub(crate) stored: Result<Value, String>,
    pub(crate) warnings: Vec<String>,
}

pub(crate) fn admit(kube: &Kube, object: &Value) -> Answer {
    let args = ["create", "--dry-run=server", "-o", "json", "-f", "-"];
    let (ok, out, err) = kube.kubectl(&args, Some(&object.to_string()));
    let warnings = err.lines().filter_map(|l| l.strip_prefix("Warning: ")).map(str::to_owned).collect();
    let refusal = err.lines().filter(|l| !l.starts_with("Warning: ")).collect::<Vec<_>>().join("\n");
    let stored = if ok { Ok(serde_json::from_str(&out).unwrap()) } else { Err(refusal) };
    Answer { stored, warnings }
}

#[test]
fn the_oracle_answers_what_a_mutating_admission_policy_makes_of_an_object() {
    let kube = Kube::start();
    kube.must(&["create", "namespace", "mutated"], None);
    let policy = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": "seen"},
        "spec": {"failurePolicy": "Fail", "reinvocationPolicy": "Never",
            "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["configmaps"]}]},
            "mutations": [
                {"patchType": "ApplyConfiguration", "applyConfiguration": {
                    "expression": "Object{metadata: Object.metadata{labels: {'paved.dev/seen': 'yes'}}}"}},
                {"patchType": "JSONPatch", "jsonPatch": {
                    "expression": "[JSONPatch{op: 'add', path: '/data/added', value: string(size(object.data))}]"}}]}});
    let binding = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingAdmissionPolicyBinding",
        "metadata": {"name": "seen"},
        "spec": {"policyName": "seen",
            "matchResources": {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "mutated"}}}}});
    kube.must(&["apply", "-f", "-"], Some(&policy.to_string()));
    kube.must(&["apply", "-f", "-"], Some(&binding.to_string()));
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "mutated"},
        "data": {"a": "1", "b": "2"}});
    let mut answer = Answer { stored: Ok(Value::Null), warnings: Vec::new() };
    wait_for("the policy to apply", || {
        answer = admit(&kube, &object);
        answer.stored.as_ref().unwrap()["metadata"]["labels"]["paved.dev/seen"] == "yes"
    });
    assert!(answer.warnings.is_empty(), "{:?}", answer.warnings);
    let stored = answer.stored.unwrap();
    assert_eq!(stored["data"], json!({"a": "1", "b": "2", "added": "2"}), "{stored:#}");
    let (found, _, _) = kube.kubectl(&["-n", "mutated", "get", "configmap", "cm"], None);
    assert!(!found, "a dry run stores nothing");
}

#[test]
fn rules_of_paveds_pack_exported_as_a_validating_admission_policy_judge_as_paved_does() {
    let rules = ["allowPrivilegeEscalation", "runAsUser", "capabilities_restricted"];
    let kube = Kube::start();
    kube.must(&["create", "namespace", "exported"], None);
    let exported = Path::new(ROOT).join("tests/oracle/pod-security-restricted.vap.yaml");
    kube.must(&["apply", "-f", exported.to_str().unwrap()], None);
    // The fixtures of those checks, and the base pods, of every version.
    let level = Path::new(CONFORMANCE).join("pod-security-admission/restricted");
    let prefixes = ["base", "allowprivilegeescalation", "runasuser", "capabilities_restricted"];
    let paths: Vec<PathBuf> = files(&level)
        .into_iter()
        .filter(|d| d.is_dir())
        .flat_map(|version| ["pass", "fail"].map(|e| version.join(e)))
        .flat_map(|dir| files(&dir))
        .filter(|p| prefixes.iter().any(|x| p.file_name().unwrap().to_string_lossy().starts_with(x)))
        .collect();
    let denies: Vec<bool> = check(&["--pack", "pod-security-restricted"], &paths)
        .iter()
        .map(|found| rules.iter().any(|r| found.contains(&format!("pod-security-restricted/{r}"))))
        .collect();
    let probe = paths.iter().zip(&denies).find(|(_, d)| **d).unwrap().0.clone();
    wait_for("the exported policy to apply", || {
        matches!(&dry_run(&kube, "exported", std::slice::from_ref(&probe), "")[0], Verdict::Refused(_))
    });
    let verdicts = dry_run(&kube, "exported", &paths, "ValidatingAdmissionPolicy 'pod-security-restricted-exported'");
    let mut disagree = Vec::new();
    for ((path, denied), verdict) in paths.iter().zip(&denies).zip(&verdicts) {
        if matches!(verdict, Verdict::Refused(_)) != *denied {
            disagree
                .push(format!("{}: paved denies by these rules: {denied}; Kubernetes: {verdict:?}", path.display()));
        }
    }
    eprintln!(
        "{} fixtures: the exported policy in Kubernetes and the pack in paved agree on {}",
        paths.len(),
        paths.len() - disagree.len()
    );
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
    assert!(paths.len() >= 200 && denies.iter().any(|d| *d) && denies.iter().any(|d| !d), "{}", paths.len());
}
