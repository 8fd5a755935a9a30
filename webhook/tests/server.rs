//! The webhook end to end, over TLS on loopback: answers, refusals, the deadline, fail-closed
//! causes, metrics, hot reload under load, certificate reload, namespace labels watched in a
//! (stub) cluster, and shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use paved::{Bundle, Engine};
use paved_webhook::client::Client;
use paved_webhook::{Config, Generated, Loaded, Loader, Namespaces, Server, Tls};
use serde_json::{json, Value};

mod stub;

const TEAM_LABEL: &str = r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: team-label, version: 1.0.0 }
spec:
  severity: high
  match: { kinds: [Pod] }
  rules:
    - id: team
      message: pods need a team label
      cel: "has(object.metadata.labels) && 'team' in object.metadata.labels"
"#;

struct Running {
    runtime: tokio::runtime::Runtime,
    server: Option<Server>,
    ca: String,
}

impl Running {
    fn client(&self) -> Client {
        Client::connect(self.addr(), "localhost", &self.ca).unwrap()
    }

    fn addr(&self) -> std::net::SocketAddr {
        self.server.as_ref().unwrap().addr()
    }

    fn metrics(&self) -> String {
        String::from_utf8(self.client().send("GET", "/metrics", "text/plain", b"").unwrap().body).unwrap()
    }

    fn stop(mut self) {
        let server = self.server.take().unwrap();
        self.runtime.block_on(server.shutdown());
    }
}

fn certificate() -> Generated {
    paved_webhook::generate(&["localhost".to_owned()]).unwrap()
}

fn loader_of(paths: Vec<PathBuf>) -> Loader {
    Arc::new(move || {
        let engine = Engine::builder().bundle(Bundle::from_paths(&paths)?).build()?;
        Ok(Loaded { engine, namespaces: Default::default(), golden: None })
    })
}

fn loader_of_text(text: &'static str) -> Loader {
    Arc::new(move || {
        let engine = Engine::builder().bundle(Bundle::from_str("bundle.yaml", text)?).build()?;
        Ok(Loaded { engine, namespaces: Default::default(), golden: None })
    })
}

fn start_with(config: Config, ca: String) -> Running {
    start_named(config, ca, "tokio-runtime-worker")
}

/// Starts the server on a runtime whose threads (its workers and its blocking pool) are named
/// `threads`.
fn start_named(config: Config, ca: String, threads: &str) -> Running {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(threads)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(Server::start(config)).unwrap();
    Running { runtime, server: Some(server), ca }
}

fn start(load: Loader) -> Running {
    let cert = certificate();
    let ca = cert.ca.clone();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), Tls::Generated(cert), load);
    config.poll = Duration::from_millis(50);
    start_with(config, ca)
}

fn review(uid: &str, operation: &str, object: Value) -> Value {
    json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid, "operation": operation, "namespace": "shop", "name": object["metadata"]["name"],
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "userInfo": {"username": "alice"},
            "object": if operation == "DELETE" { Value::Null } else { object.clone() },
            "oldObject": if operation == "CREATE" { Value::Null } else { object },
        }
    })
}

fn pod(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
           "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
}

#[test]
fn answers_reviews_as_the_engine_does() {
    let server = start(loader_of_text(TEAM_LABEL));
    let mut client = server.client();

    let answer = client.review(&review("u-1", "CREATE", pod("web", json!({})))).unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/json");
    let a = answer.json();
    assert_eq!(a["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(a["kind"], "AdmissionReview");
    assert_eq!(a["response"]["uid"], "u-1");
    assert_eq!(a["response"]["allowed"], false);
    assert_eq!(a["response"]["status"]["code"], 403);
    assert_eq!(a["response"]["status"]["message"], "denied by paved: team-label/team: pods need a team label");
    assert_eq!(a["response"]["auditAnnotations"]["denied"], "team-label/team");

    // The same connection (keep-alive) again: allowed.
    let a = client.review(&review("u-2", "CREATE", pod("web", json!({"team": "shop"})))).unwrap().json();
    assert_eq!(a["response"]["uid"], "u-2");
    assert_eq!(a["response"]["allowed"], true);
    assert!(a["response"].get("status").is_none());

    // UPDATE judges the new object; a DELETE is not judged by a policy naming no operation.
    let a = client.review(&review("u-3", "UPDATE", pod("web", json!({"team": "shop"})))).unwrap().json();
    assert_eq!(a["response"]["allowed"], true);
    let a = client.review(&review("u-4", "DELETE", pod("web", json!({})))).unwrap().json();
    assert_eq!(a["response"]["allowed"], true);

    // dryRun changes nothing of the verdict.
    let mut dry = review("u-5", "CREATE", pod("web", json!({})));
    dry["request"]["dryRun"] = json!(true);
    let a = client.review(&dry).unwrap().json();
    assert_eq!((a["response"]["uid"].as_str(), a["response"]["allowed"].as_bool()), (Some("u-5"), Some(false)));

    let metrics = server.metrics();
    assert!(
        metrics.contains(r#"paved_admission_requests_total{decision="deny",operation="CREATE",kind="Pod"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"paved_admission_requests_total{decision="allow",operation="UPDATE",kind="Pod"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("paved_admission_duration_seconds_count 5"), "{metrics}");
    assert!(metrics.contains("paved_policies 1"), "{metrics}");
    server.stop();
}

#[test]
fn warnings_of_warn_policies_are_returned() {
    let server = start(loader_of_text(
        r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: team-label, version: 1.0.0 }
spec:
  severity: low
  action: Warn
  match: { kinds: [Pod] }
  rules:
    - { id: team, message: pods should have a team label, cel: "has(object.metadata.labels.team)" }
"#,
    ));
    let a = server.client().review(&review("w", "CREATE", pod("web", json!({})))).unwrap().json();
    assert_eq!(a["response"]["allowed"], true);
    assert_eq!(a["response"]["warnings"], json!(["team-label/team: pods should have a team label"]));
    assert!(server.metrics().contains(r#"decision="warn""#));
    server.stop();
}

#[test]
fn what_is_not_an_admission_review_is_refused_with_a_reason() {
    let mut config =
        Config::new("127.0.0.1:0".parse().unwrap(), Tls::Generated(certificate()), loader_of_text(TEAM_LABEL));
    config.max_body = 64 << 10;
    let ca = match &config.tls {
        Tls::Generated(g) => g.ca.clone(),
        Tls::Files { .. } => unreachable!(),
    };
    let server = start_with(config, ca);
    let mut c = server.client();
    let text = |a: &paved_webhook::client::Answer| String::from_utf8_lossy(&a.body).into_owned();

    let a = c.send("POST", "/validate", "text/yaml", b"kind: AdmissionReview").unwrap();
    assert_eq!(a.status, 415, "{}", text(&a));
    assert!(text(&a).contains("application/json"));

    let a = c.send("POST", "/validate", "application/json", b"{\"request\": ").unwrap();
    assert_eq!(a.status, 400);
    assert!(text(&a).starts_with("the body is not JSON: EOF while parsing"), "{}", text(&a));

    let a = c.send("POST", "/validate", "application/json; charset=utf-8", b"[1, 2]").unwrap();
    assert_eq!(a.status, 400, "{}", text(&a));
    assert!(text(&a).contains("AdmissionReview"), "{}", text(&a));

    // A version paved does not speak: not an AdmissionReview it can answer.
    let mut v2 = review("v2", "CREATE", pod("web", json!({"team": "x"})));
    v2["apiVersion"] = json!("admission.k8s.io/v2");
    let a = c.review(&v2).unwrap();
    assert_eq!(a.status, 400, "{}", text(&a));
    assert!(text(&a).contains("apiVersion `admission.k8s.io/v2` is not admission.k8s.io/v1"), "{}", text(&a));

    // Well-formed, with a uid, but no operation: a denial inside, that names the problem.
    let mut no_op = review("no-op", "CREATE", pod("web", json!({"team": "x"})));
    no_op["request"].as_object_mut().unwrap().remove("operation");
    let a = c.review(&no_op).unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["response"]["uid"], "no-op");
    assert_eq!(a.json()["response"]["allowed"], false);
    assert_eq!(a.json()["response"]["status"]["message"], "paved: the request has no `operation`");

    // v1beta1 is answered in v1beta1.
    let mut old = review("v1b1", "CREATE", pod("web", json!({"team": "x"})));
    old["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let a = c.review(&old).unwrap().json();
    assert_eq!(
        (a["apiVersion"].as_str(), a["response"]["allowed"].as_bool()),
        (Some("admission.k8s.io/v1beta1"), Some(true))
    );

    // Over the size limit: refused on its declared length, before it is read...
    let mut big = server.client();
    big.write_raw(
        b"POST /validate HTTP/1.1\r\nhost: paved\r\ncontent-type: application/json\r\ncontent-length: 70000\r\n\r\n",
    )
    .unwrap();
    let a = big.read_answer().unwrap();
    assert_eq!(a.status, 413);
    assert!(text(&a).contains("65536 bytes"));
    // ... or, sent in chunks with no length, as soon as it has run past the limit.
    let mut chunked = server.client();
    chunked.write_raw(b"POST /validate HTTP/1.1\r\nhost: paved\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n").unwrap();
    chunked.write_raw(format!("{:x}\r\n", (64 << 10) + 1).as_bytes()).unwrap();
    chunked.write_raw(&vec![b' '; (64 << 10) + 1]).unwrap();
    let a = chunked.read_answer().unwrap();
    assert_eq!(a.status, 413);

    let a = server.client().send("GET", "/validate", "application/json", b"").unwrap();
    assert_eq!(a.status, 405);
    let a = server.client().send("GET", "/mutate", "application/json", b"").unwrap();
    assert_eq!(a.status, 405);
    let a = server.client().send("POST", "/mutates", "application/json", b"{}").unwrap();
    assert_eq!(a.status, 404);

    let metrics = server.metrics();
    for (cause, n) in [("content-type", 1), ("malformed", 1), ("too-large", 2), ("not-admission-review", 3)] {
        assert!(
            metrics.contains(&format!(r#"paved_rejected_requests_total{{cause="{cause}"}} {n}"#)),
            "{cause}: {metrics}"
        );
    }
    // The server is unharmed.
    let a = server.client().review(&review("ok", "CREATE", pod("web", json!({"team": "x"})))).unwrap();
    assert_eq!(a.json()["response"]["allowed"], true);
    server.stop();
}

#[test]
fn health_and_readiness() {
    let server = start(loader_of_text(TEAM_LABEL));
    let mut c = server.client();
    assert_eq!(c.send("GET", "/healthz", "text/plain", b"").unwrap().status, 200);
    assert_eq!(c.send("GET", "/readyz", "text/plain", b"").unwrap().status, 200);
    server.stop();
}

/// A review whose evaluation takes a while: a large object for a rule that walks all of it.
fn slow_review() -> Value {
    let containers: Vec<Value> = (0..20_000).map(|i| json!({"name": format!("c{i}"), "image": "nginx:1.27"})).collect();
    review(
        "slow",
        "CREATE",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big"}, "spec": {"containers": containers}}),
    )
}

const SLOW: &str = r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: images, version: 1.0.0 }
spec:
  severity: high
  failurePolicy: FAILURE
  match: { kinds: [Pod] }
  rules:
    - id: pinned
      forEach: containers
      message: pin images
      cel: "item.image.contains(':')"
"#;

fn deadline_server(failure: &'static str) -> Running {
    let text: &'static str = Box::leak(SLOW.replace("FAILURE", failure).into_boxed_str());
    let cert = certificate();
    let ca = cert.ca.clone();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), Tls::Generated(cert), loader_of_text(text));
    config.deadline = Duration::from_nanos(1);
    start_with(config, ca)
}

#[test]
fn past_the_deadline_the_request_is_denied() {
    let server = deadline_server("Fail");
    let a = server.client().review(&slow_review()).unwrap().json();
    assert_eq!(a["response"]["uid"], "slow");
    assert_eq!(a["response"]["allowed"], false, "{a}");
    assert_eq!(a["response"]["status"]["code"], 500);
    let message = a["response"]["status"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("paved could not judge the request: the evaluation did not finish within its deadline"),
        "{message}"
    );
    assert!(a["response"]["auditAnnotations"]["unjudged"].is_string());
    assert!(server.metrics().contains(r#"paved_evaluation_errors_total{cause="deadline"} 1"#));
    server.stop();
}

#[test]
fn past_the_deadline_a_policy_that_ignores_failures_lets_the_request_through_with_a_warning() {
    let server = deadline_server("Ignore");
    let a = server.client().review(&slow_review()).unwrap().json();
    assert_eq!(a["response"]["allowed"], true, "{a}");
    assert!(a["response"]["warnings"][0].as_str().unwrap().contains("did not finish within its deadline"));
    server.stop();
}

#[test]
fn a_rule_that_errors_fails_closed_and_is_counted() {
    let server = start(loader_of_text(
        r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: replicas, version: 1.0.0 }
spec:
  severity: high
  match: { kinds: [Pod] }
  rules:
    - { id: ratio, message: bad ratio, cel: "100 / size(object.metadata.labels) > 1" }
"#,
    ));
    let a = server.client().review(&review("e", "CREATE", pod("web", json!({})))).unwrap().json();
    assert_eq!(a["response"]["allowed"], false, "{a}");
    assert!(a["response"]["status"]["message"].as_str().unwrap().contains("replicas/ratio"), "{a}");
    assert!(server.metrics().contains(r#"paved_evaluation_errors_total{cause="cel"} 1"#), "{}", server.metrics());
    server.stop();
}

/// A bundle directory laid out as the kubelet mounts a ConfigMap: `policy.yaml` links to
/// `..data/policy.yaml`, `..data` to a timestamped directory, swapped by renaming a new link.
struct ConfigMapDir {
    root: tempfile::TempDir,
    generation: usize,
}

impl ConfigMapDir {
    fn new(text: &str) -> Self {
        let mut dir = ConfigMapDir { root: tempfile::tempdir().unwrap(), generation: 0 };
        dir.swap(text);
        std::os::unix::fs::symlink("..data/policy.yaml", dir.root.path().join("policy.yaml")).unwrap();
        dir
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    fn swap(&mut self, text: &str) {
        self.generation += 1;
        let data = format!("..2026_11_30_00_00_0{}.{}", self.generation, self.generation);
        std::fs::create_dir(self.root.path().join(&data)).unwrap();
        std::fs::write(self.root.path().join(&data).join("policy.yaml"), text).unwrap();
        let tmp = self.root.path().join("..data_tmp");
        std::os::unix::fs::symlink(&data, &tmp).unwrap();
        std::fs::rename(&tmp, self.root.path().join("..data")).unwrap();
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(30), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_reloaded_bundle_replaces_the_old_one_whole_while_requests_flow_and_a_broken_one_is_rejected() {
    let old_message = "denied by paved: team-label/team: pods need a team label";
    let new_text = TEAM_LABEL.replace("pods need a team label", "every pod names its team");
    let new_message = "denied by paved: team-label/team: every pod names its team";
    let mut dir = ConfigMapDir::new(TEAM_LABEL);
    let cert = certificate();
    let ca = cert.ca.clone();
    let mut config =
        Config::new("127.0.0.1:0".parse().unwrap(), Tls::Generated(cert), loader_of(vec![dir.path().to_owned()]));
    config.watch = vec![dir.path().to_owned()];
    config.poll = Duration::from_millis(20);
    let server = start_with(config, ca);

    let stop = Arc::new(AtomicBool::new(false));
    let (answered, seen_new) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let mut client = server.client();
            let (stop, answered, seen_new) = (Arc::clone(&stop), Arc::clone(&answered), Arc::clone(&seen_new));
            std::thread::spawn(move || {
                let (mut n, mut saw_new) = (0, false);
                while !stop.load(Ordering::Relaxed) {
                    let uid = format!("{i}-{n}");
                    let a = client.review(&review(&uid, "CREATE", pod("web", json!({})))).expect("an answer");
                    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
                    let a = a.json();
                    assert_eq!(a["response"]["uid"], uid.as_str());
                    assert_eq!(a["response"]["allowed"], false);
                    let message = a["response"]["status"]["message"].as_str().unwrap().to_owned();
                    if message == new_message {
                        seen_new.store(true, Ordering::Relaxed);
                        saw_new = true;
                    } else {
                        // Once a client saw the new bundle, it never sees the old one again.
                        assert!(!saw_new, "an answer from the old bundle after one from the new");
                        assert_eq!(message, old_message);
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
                n
            })
        })
        .collect();

    let failures = |m: &str| m.contains(r#"paved_bundle_reloads_total{result="failure"} 1"#);
    wait_for("requests to flow", || answered.load(Ordering::Relaxed) > 50);
    dir.swap("apiVersion: paved.dev/v1\nkind: Policy\nmetadata: { name: team-label }\nspec: { rules: [ }\n");
    wait_for("the broken bundle to be rejected", || failures(&server.metrics()));
    let before = answered.load(Ordering::Relaxed);
    wait_for("requests to flow on the old bundle", || answered.load(Ordering::Relaxed) > before + 50);
    assert!(!seen_new.load(Ordering::Relaxed));
    dir.swap(&new_text);
    wait_for("the new bundle to serve", || seen_new.load(Ordering::Relaxed));
    let after = answered.load(Ordering::Relaxed);
    wait_for("requests to flow on the new bundle", || answered.load(Ordering::Relaxed) > after + 50);
    stop.store(true, Ordering::Relaxed);
    let total: usize = clients.into_iter().map(|c| c.join().expect("no client failed")).sum();
    assert!(total > 150);

    // Once the new bundle serves, every answer is the new one's.
    let a = server.client().review(&review("last", "CREATE", pod("web", json!({})))).unwrap().json();
    assert_eq!(a["response"]["status"]["message"], new_message);
    let metrics = server.metrics();
    assert!(metrics.contains(r#"paved_bundle_reloads_total{result="success"} 1"#), "{metrics}");
    server.stop();
}

#[test]
fn a_renewed_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let first = certificate();
    std::fs::write(&cert, &first.cert).unwrap();
    std::fs::write(&key, &first.key).unwrap();
    let mut config = Config::new(
        "127.0.0.1:0".parse().unwrap(),
        Tls::Files { cert: cert.clone(), key: key.clone() },
        loader_of_text(TEAM_LABEL),
    );
    config.poll = Duration::from_millis(20);
    let server = start_with(config, first.ca.clone());
    assert!(Client::connect(server.addr(), "localhost", &first.ca).is_ok());

    // A broken pair is rejected; the old certificate keeps serving.
    std::fs::write(&cert, "not a certificate").unwrap();
    wait_for("the broken certificate to be rejected", || {
        server.metrics().contains(r#"paved_certificate_reloads_total{result="failure"} 1"#)
    });
    assert!(Client::connect(server.addr(), "localhost", &first.ca).is_ok());

    let second = certificate();
    std::fs::write(&key, &second.key).unwrap();
    std::fs::write(&cert, &second.cert).unwrap();
    wait_for("the new certificate to serve", || Client::connect(server.addr(), "localhost", &second.ca).is_ok());
    assert!(Client::connect(server.addr(), "localhost", &first.ca).is_err());
    server.stop();
}

#[test]
fn namespace_labels_are_watched_in_the_cluster_and_a_label_change_flips_the_verdict() {
    let api = stub::ApiServer::start(vec![("shop", json!({"env": "dev"})), ("kube-system", json!({}))]);
    let cert = certificate();
    let ca = cert.ca.clone();
    let mut config = Config::new(
        "127.0.0.1:0".parse().unwrap(),
        Tls::Generated(cert),
        loader_of_text(
            r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: prod-team, version: 1.0.0 }
spec:
  severity: high
  match:
    kinds: [Pod]
    namespaceSelector: { matchLabels: { env: prod } }
  rules:
    - { id: team, message: production pods need a team label, cel: "has(object.metadata.labels.team)" }
"#,
        ),
    );
    config.namespaces = Namespaces::Cluster(Some(Box::new(kube::Config::new(api.url().parse().unwrap()))));
    let server = start_with(config, ca);
    wait_for("the namespace cache to sync", || {
        server.client().send("GET", "/readyz", "text/plain", b"").unwrap().status == 200
    });

    let verdict = || {
        server.client().review(&review("ns", "CREATE", pod("web", json!({})))).unwrap().json()["response"]["allowed"]
            .clone()
    };
    assert_eq!(verdict(), true, "shop is env=dev: the policy does not apply");
    api.relabel("shop", json!({"env": "prod"}));
    wait_for("the relabelled namespace to apply", || verdict() == false);
    api.relabel("shop", json!({"env": "dev"}));
    wait_for("the namespace to be relabelled back", || verdict() == true);
    assert!(api.lists() >= 1 && api.watches() >= 1);
    server.stop();
}

#[test]
fn without_a_synced_namespace_cache_the_server_is_not_ready() {
    let api = stub::ApiServer::start_stalled();
    let cert = certificate();
    let ca = cert.ca.clone();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), Tls::Generated(cert), loader_of_text(TEAM_LABEL));
    config.namespaces = Namespaces::Cluster(Some(Box::new(kube::Config::new(api.url().parse().unwrap()))));
    let server = start_with(config, ca);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.client().send("GET", "/readyz", "text/plain", b"").unwrap().status, 503);
    assert_eq!(server.client().send("GET", "/healthz", "text/plain", b"").unwrap().status, 200);
    server.stop();
}

#[test]
fn a_bundle_that_does_not_load_stops_the_start_with_its_diagnostics() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = Config::new(
        "127.0.0.1:0".parse().unwrap(),
        Tls::Generated(certificate()),
        loader_of_text("apiVersion: paved.dev/v1\nkind: Policy\nmetadata: { name: x }\nspec: { severity: hihg }\n"),
    );
    let error = runtime.block_on(Server::start(config)).err().expect("an error").to_string();
    assert!(error.starts_with("the bundle does not load:"), "{error}");
    assert!(error.contains("bundle.yaml:4"), "{error}");
}

#[test]
fn shutdown_answers_what_is_in_flight() {
    let server = start(loader_of_text(TEAM_LABEL));
    let clients: Vec<_> = (0..4)
        .map(|i| {
            let mut client = server.client();
            std::thread::spawn(move || {
                (0..20)
                    .map(|n| {
                        client.review(&review(&format!("{i}-{n}"), "CREATE", pod("web", json!({})))).map(|a| a.status)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(5));
    let Running { runtime, server, .. } = server;
    runtime.block_on(server.unwrap().shutdown());
    for c in clients {
        // Every request sent got its answer; after the drain, the connection is closed.
        let answers = c.join().unwrap();
        let answered = answers.iter().take_while(|a| matches!(a, Ok(200))).count();
        assert!(answers[answered..].iter().all(Result::is_err), "{answers:?}");
    }
}

#[test]
fn exceptions_in_force_and_expired_are_metrics() {
    let today = jiff::Zoned::now().date();
    let (created, expires) = (today, today.checked_add(jiff::Span::new().days(30)).unwrap());
    let text = r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: team-label, version: 1.0.0 }
spec:
  severity: high
  match: { kinds: [Pod] }
  rules:
    - { id: team, message: pods need a team label, cel: "has(object.metadata.labels.team)" }
---
apiVersion: paved.dev/v1
kind: PolicyException
metadata: { name: old-waiver }
spec:
  policies: [{ name: team-label }]
  match: { kinds: [Pod], names: [legacy] }
  owner: team-shop
  reason: the legacy pod is being replaced
  created: 2020-01-01
  expires: 2020-02-01
---
apiVersion: paved.dev/v1
kind: PolicyException
metadata: { name: batch-waiver }
spec:
  policies: [{ name: team-label }]
  match: { kinds: [Pod], names: [batch] }
  owner: team-shop
  reason: the batch pod is shared
  created: CREATED
  expires: EXPIRES
"#
    .replace("CREATED", &created.to_string())
    .replace("EXPIRES", &expires.to_string());
    let server = start(loader_of_text(Box::leak(text.into_boxed_str())));
    let metrics = server.metrics();
    assert!(metrics.contains(r#"paved_exceptions{status="expired"} 1"#), "{metrics}");
    let in_force: usize = ["active", "unused", "expiring"]
        .iter()
        .filter(|s| metrics.contains(&format!(r#"paved_exceptions{{status="{s}"}} 1"#)))
        .count();
    assert_eq!(in_force, 1, "{metrics}");
    // The expired one waives nothing.
    let a = server.client().review(&review("x", "CREATE", pod("legacy", json!({})))).unwrap().json();
    assert_eq!(a["response"]["allowed"], false);
    server.stop();
}

/// A policy that costs each container of a pod as much as the whole pod: a pod of thousands of
/// containers takes minutes to judge (every expression stays within its own cost limit).
const QUADRATIC: &str = r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: unique-names, version: 1.0.0 }
spec:
  severity: high
  match: { kinds: [Pod] }
  rules:
    - id: unique
      forEach: containers
      message: a container's name is its own
      cel: "object.spec.containers.all(c, c.name != item.name || c.image == item.image)"
"#;

fn quadratic_review(uid: &str) -> Value {
    let containers: Vec<Value> = (0..6_000).map(|i| json!({"name": format!("c{i}"), "image": "nginx:1.27"})).collect();
    review(
        uid,
        "CREATE",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big"}, "spec": {"containers": containers}}),
    )
}

/// The name of the threads of a test's own runtime (its workers and its blocking pool), so
/// that their CPU time is told apart from the other tests' in the same process.
const BOUNDED: &str = "paved-bounded";

fn bounded_server(configure: impl FnOnce(&mut Config)) -> Running {
    let cert = certificate();
    let ca = cert.ca.clone();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), Tls::Generated(cert), loader_of_text(QUADRATIC));
    configure(&mut config);
    start_named(config, ca, BOUNDED)
}

/// The CPU time, in clock ticks, the threads named [`BOUNDED`] have used (every test that uses
/// that name runs in this one test, so they are its own).
fn bounded_cpu_ticks() -> u64 {
    let mut ticks = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let Some((name, rest)) = stat.split_once(") ") else { continue };
        if !name.ends_with(BOUNDED) {
            continue;
        }
        let fields: Vec<&str> = rest.split(' ').collect();
        // utime and stime: the 14th and 15th fields of the line, the 12th and 13th after `comm`.
        ticks += fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    }
    ticks
}

#[test]
fn the_work_stops_when_its_deadline_answers_and_at_the_end_of_the_drain_and_evaluations_in_flight_are_capped() {
    // One test, so that the threads measured are its own server's.
    let server = bounded_server(|c| {
        c.deadline = Duration::from_millis(300);
        c.max_in_flight = 1;
    });
    let start = Instant::now();
    let a = server.client().review(&quadratic_review("slow")).unwrap().json();
    assert!(start.elapsed() < Duration::from_secs(5), "answered at its deadline");
    let message = a["response"]["status"]["message"].as_str().unwrap();
    assert!(message.contains("did not finish within its deadline"), "{message}");
    // Past the answer, the evaluation has stopped: its thread uses no CPU.
    std::thread::sleep(Duration::from_millis(100));
    let before = bounded_cpu_ticks();
    std::thread::sleep(Duration::from_secs(1));
    let used = bounded_cpu_ticks() - before;
    assert!(used <= 10, "{used} ticks of CPU in the second after the answer");

    // While one evaluation runs, a second is answered at once, per its failure policy.
    let addr = server.addr();
    let ca = server.ca.clone();
    let running = std::thread::spawn(move || {
        let mut client = Client::connect(addr, "localhost", &ca).unwrap();
        client.review(&quadratic_review("first")).unwrap().json()
    });
    wait_for("the first evaluation to run", || server.metrics().contains("paved_evaluations_running 1"));
    let second = server.client().review(&review("second", "CREATE", pod("web", json!({})))).unwrap().json();
    assert_eq!(second["response"]["allowed"], false, "{second}");
    let message = second["response"]["status"]["message"].as_str().unwrap();
    assert!(message.contains("judging its most requests at once (1)"), "{message}");
    assert!(server.metrics().contains(r#"paved_evaluation_errors_total{cause="overloaded"} 1"#));
    assert!(running.join().unwrap()["response"]["status"]["message"].as_str().unwrap().contains("deadline"));
    server.stop();

    // A shutdown ends at its drain time, whatever runs: the evaluation is stopped.
    let server = bounded_server(|c| {
        c.deadline = Duration::from_secs(60);
        c.drain = Duration::from_millis(200);
    });
    let (addr, ca) = (server.addr(), server.ca.clone());
    let client = std::thread::spawn(move || {
        let mut client = Client::connect(addr, "localhost", &ca).unwrap();
        client.review(&quadratic_review("drained")).map(|a| a.status)
    });
    wait_for("the evaluation to run", || server.metrics().contains("paved_evaluations_running 1"));
    let start = Instant::now();
    server.stop(); // shuts down, then drops the runtime, which waits for its blocking threads
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "the shutdown took {took:?}");
    let _ = client.join().unwrap();
}

#[test]
fn an_http2_client_that_never_finishes_its_headers_is_closed_at_the_read_timeout() {
    let cert = certificate();
    let ca = cert.ca.clone();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), Tls::Generated(cert), loader_of_text(TEAM_LABEL));
    config.read_timeout = Duration::from_millis(500);
    let server = start_with(config, ca);
    let mut client = Client::connect_alpn(server.addr(), "localhost", &server.ca, vec![b"h2".to_vec()]).unwrap();
    client.write_raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
    client.write_raw(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).unwrap(); // SETTINGS, empty
                                                             // HEADERS on stream 1 without END_HEADERS: a header block that never ends.
    client.write_raw(&[0, 0, 1, 1, 0, 0, 0, 0, 1, 0x82]).unwrap();
    let start = Instant::now();
    client.read_to_end().unwrap();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "the connection stayed open {took:?}");
    server.stop();
}

const DEFAULTS: &str = r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: defaults, version: 1.0.0 }
spec:
  match: { kinds: [Pod] }
  mutations:
    - id: team
      setLabels: { team: platform }
    - id: broken
      when: "has(object.metadata.labels) && 'break' in object.metadata.labels"
      jsonPatch: "[JSONPatch{op: 'remove', path: '/spec/missing'}]"
"#;

#[test]
fn mutate_answers_with_a_json_patch_of_the_object_and_counts_the_changes() {
    use base64::Engine as _;
    let server = start(loader_of_text(DEFAULTS));
    let mut client = server.client();
    let a = client.mutate(&review("m-1", "CREATE", pod("web", json!({"app": "web"})))).unwrap().json();
    assert_eq!(a["response"]["uid"], "m-1");
    assert_eq!(a["response"]["allowed"], true);
    assert_eq!(a["response"]["patchType"], "JSONPatch");
    let patch = base64::engine::general_purpose::STANDARD.decode(a["response"]["patch"].as_str().unwrap()).unwrap();
    let patch: Value = serde_json::from_slice(&patch).unwrap();
    assert_eq!(patch, json!([{"op": "add", "path": "/metadata/labels/team", "value": "platform"}]));
    assert_eq!(a["response"]["auditAnnotations"]["mutated"], "defaults/team");
    // Nothing to change: no patch.
    let a = client.mutate(&review("m-2", "CREATE", pod("web", json!({"team": "data"})))).unwrap().json();
    assert_eq!((a["response"]["allowed"].as_bool(), a["response"].get("patch")), (Some(true), None));
    // A mutation that fails denies (failurePolicy: Fail), with no patch.
    let a = client.mutate(&review("m-3", "CREATE", pod("web", json!({"break": "yes"})))).unwrap().json();
    assert_eq!(a["response"]["allowed"], false);
    assert_eq!(a["response"].get("patch"), None);
    assert!(a["response"]["status"]["message"].as_str().unwrap().contains("defaults/broken"), "{a}");
    // /validate does not answer with a patch.
    let a = client.review(&review("v-1", "CREATE", pod("web", json!({})))).unwrap().json();
    assert_eq!((a["response"]["allowed"].as_bool(), a["response"].get("patch")), (Some(true), None));
    let metrics = server.metrics();
    assert!(metrics.contains(r#"paved_mutations_total{policy="defaults",mutation="team"} 1"#), "{metrics}");
    server.stop();
}
