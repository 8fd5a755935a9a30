//! `paved serve` gives the verdicts `paved check` gives: every Pod Security Admission fixture
//! (at its level and Kubernetes version) and every captured AdmissionRequest of
//! `../shared/conformance/`, sent to the running webhook over TLS as the API server would send
//! them, against the same binary's `paved check --format json` on the same files.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use paved_webhook::client::Client;
use serde_json::{json, Value};

use super::paved;

pub(crate) const CONFORMANCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance");

/// A `paved serve` child process, stopped when dropped.
pub(crate) struct Serving {
    pub(crate) child: Child,
    pub(crate) addr: std::net::SocketAddr,
    /// Its log lines.
    pub(crate) logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Serving {
    /// Its log so far, for a failure's message.
    pub(crate) fn log(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(tls: &Path, flags: &[&str]) -> Serving {
    serve_in(tls, flags, &[])
}

/// `paved serve` with these `flags` and environment variables, on a free port of 127.0.0.1.
pub(crate) fn serve_in(tls: &Path, flags: &[&str], env: &[(&str, &Path)]) -> Serving {
    let (cert, key) = (tls.join("tls.crt"), tls.join("tls.key"));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_paved"))
        .envs(env.iter().copied())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut before = Vec::new();
    let addr = loop {
        let line = lines.next().expect("paved serve exited before serving").unwrap();
        let log: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
        before.push(line);
        if log["message"] == "serving" {
            break log["addr"].as_str().unwrap().parse().unwrap();
        }
    };
    // Keep reading its logs, so it never blocks on a full pipe.
    let logs = std::sync::Arc::new(std::sync::Mutex::new(before));
    let kept = std::sync::Arc::clone(&logs);
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(|l| kept.lock().unwrap().push(l)));
    Serving { child, addr, logs }
}

fn certificate() -> tempfile::TempDir {
    certificate_for("localhost")
}

/// `ca.crt`, `tls.crt` and `tls.key` made by `paved cert` for `name`.
pub(crate) fn certificate_for(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    paved().args(["cert", "--dir", dir.path().to_str().unwrap(), "--name", name]).assert().success();
    dir
}

/// `paved check --format json` on `paths`: for each resource in order, the sorted
/// `policy/rule`s of its unwaived Deny findings.
pub(crate) fn check(flags: &[&str], paths: &[PathBuf]) -> Vec<BTreeSet<String>> {
    let output =
        paved().arg("check").args(flags).args(["--format", "json", "--fail-on", "never"]).args(paths).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut findings = report["findings"].as_array().unwrap().iter();
    report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (0..r["findings"].as_u64().unwrap())
                .filter_map(|_| findings.next())
                .filter(|f| f["action"] == "Deny" && f["waivedBy"].is_null())
                .map(|f| format!("{}/{}", f["policy"].as_str().unwrap(), f["rule"].as_str().unwrap()))
                .collect()
        })
        .collect()
}

/// What the webhook denied a review for, from its audit annotations; `None` when allowed.
fn denied(answer: &Value) -> Option<BTreeSet<String>> {
    let response = &answer["response"];
    if response["allowed"].as_bool().unwrap() {
        return None;
    }
    let list = response["auditAnnotations"]["denied"].as_str().unwrap_or_default();
    Some(list.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect())
}

/// A manifest as the API server sends it for `CREATE`, into `default` when it names no
/// namespace (as `paved check` applies it).
pub(crate) fn review_of(uid: usize, object: &Value) -> Value {
    let (group, version) = match object["apiVersion"].as_str().unwrap().split_once('/') {
        Some((g, v)) => (g.to_owned(), v.to_owned()),
        None => (String::new(), object["apiVersion"].as_str().unwrap().to_owned()),
    };
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or("default");
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": uid.to_string(), "operation": "CREATE", "namespace": namespace, "name": object["metadata"]["name"],
        "kind": {"group": group, "version": version, "kind": object["kind"]},
        "userInfo": {"username": "conformance"}, "object": object}})
}

pub(crate) fn files(dir: &Path) -> Vec<PathBuf> {
    let mut f: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    f.sort();
    f
}

#[test]
fn the_webhook_and_check_agree_on_every_psa_fixture() {
    let tls = certificate();
    let ca = std::fs::read_to_string(tls.path().join("ca.crt")).unwrap();
    let mut total = 0;
    for level in ["baseline", "restricted"] {
        let level_dir = Path::new(CONFORMANCE).join("pod-security-admission").join(level);
        for version_dir in files(&level_dir).into_iter().filter(|d| d.is_dir()) {
            let version = version_dir.file_name().unwrap().to_string_lossy().into_owned();
            let pack = format!("pod-security-{level}");
            let set = format!("{pack}.kubernetesVersion={version}");
            let flags = ["--pack", pack.as_str(), "--set", set.as_str()];
            let paths: Vec<PathBuf> = ["pass", "fail"].iter().flat_map(|e| files(&version_dir.join(e))).collect();
            let expected = check(&flags, &paths);
            let objects: Vec<Value> = paths
                .iter()
                .flat_map(|p| paved::Resource::from_paths(std::slice::from_ref(p)).unwrap())
                .map(|r| r.value().clone())
                .collect();
            assert_eq!(objects.len(), expected.len(), "{level} {version}");
            let server = serve(tls.path(), &flags);
            let mut client = Client::connect(server.addr, "localhost", &ca).unwrap();
            for (i, (object, expect)) in objects.iter().zip(&expected).enumerate() {
                let answer = client.review(&review_of(i, object)).unwrap();
                assert_eq!(answer.status, 200);
                let answer = answer.json();
                assert_eq!(answer["response"]["uid"], i.to_string());
                let got = denied(&answer);
                let want = (!expect.is_empty()).then(|| expect.clone());
                assert_eq!(got, want, "{level} {version}: {}", object["metadata"]["name"]);
                total += 1;
            }
        }
    }
    assert!(total >= 4537, "only {total} fixtures");
}

#[test]
fn the_webhook_and_check_agree_on_every_captured_admission_request() {
    let tls = certificate();
    let ca = std::fs::read_to_string(tls.path().join("ca.crt")).unwrap();
    let dir = Path::new(CONFORMANCE).join("admission-requests");
    let server = serve(tls.path(), &[]);
    let mut client = Client::connect(server.addr, "localhost", &ca).unwrap();
    let (mut readable, mut refused) = (Vec::new(), 0);
    let mut answers = Vec::new();
    for (i, path) in files(&dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")).enumerate() {
        let captured: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        // Most are bare AdmissionRequests; a few are whole AdmissionReviews.
        let mut review = if captured.get("request").is_some() {
            captured
        } else {
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": captured})
        };
        review["request"]["uid"] = json!(i.to_string());
        let answer = client.review(&review).unwrap();
        assert_eq!(answer.status, 200, "{}", path.display());
        let answer = answer.json();
        if paved::Resource::from_paths(std::slice::from_ref(&path)).is_err() {
            // `paved check` refuses it; the webhook denies it, saying why.
            assert_eq!(answer["response"]["status"]["code"], 400, "{}", path.display());
            refused += 1;
        } else {
            readable.push(path);
            answers.push(answer);
        }
    }
    // Each on its own, as the webhook sees each: policies that look up the inventory see the
    // objects of the run, and a run of all of them would be a view of all of them.
    let expected: Vec<BTreeSet<String>> = readable.iter().flat_map(|p| check(&[], std::slice::from_ref(p))).collect();
    assert_eq!(expected.len(), answers.len());
    for ((path, answer), expect) in readable.iter().zip(&answers).zip(&expected) {
        assert_eq!(denied(answer), (!expect.is_empty()).then(|| expect.clone()), "{}", path.display());
    }
    assert_eq!(readable.len() + refused, 194);
    assert_eq!(refused, 2);
}

#[test]
fn the_webhook_judges_with_the_policies_teams_already_run_as_check_does() {
    // A ValidatingAdmissionPolicy with its binding, a Kyverno ValidatingPolicy and a Kyverno
    // PolicyException (both judge at the machine's clock).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/admission-policies");
    let bundle = dir.join("bundle");
    let flags = ["--bundle", bundle.to_str().unwrap()];
    let paths = files(&dir.join("manifests"));
    let expected = check(&flags, &paths);
    let objects: Vec<Value> = paved::Resource::from_paths(&paths).unwrap().iter().map(|r| r.value().clone()).collect();
    assert_eq!(objects.len(), expected.len());
    assert!(expected.iter().any(|e| e.contains("replica-limit/validations[0]")), "{expected:?}");
    let tls = certificate();
    let ca = std::fs::read_to_string(tls.path().join("ca.crt")).unwrap();
    let server = serve(tls.path(), &flags);
    let mut client = Client::connect(server.addr, "localhost", &ca).unwrap();
    for (i, (object, expect)) in objects.iter().zip(&expected).enumerate() {
        let answer = client.review(&review_of(i, object)).unwrap().json();
        let want = (!expect.is_empty()).then(|| expect.clone());
        assert_eq!(denied(&answer), want, "{}", object["metadata"]["name"]);
        if expect.contains("replica-limit/validations[0]") {
            let message = answer["response"]["status"]["message"].as_str().unwrap_or_default();
            let words = "ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit' denied request: at most 5 replicas, not 8";
            assert!(message.contains(words), "{message}");
        }
    }
}
