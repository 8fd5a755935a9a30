//! `paved serve` behind a real Kubernetes API server (`scripts/kube-up`: kube-apiserver and etcd
//! built from their Go modules, on loopback), registered with the ValidatingWebhookConfiguration
//! of `deploy/manifests/paved.yaml`, and driven with `kubectl` as a developer would.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use super::serve::{certificate_for, serve_in, Serving};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// A kube-apiserver with its etcd, stopped by PID when dropped.
pub(crate) struct Kube {
    dir: tempfile::TempDir,
}

impl Kube {
    /// Builds (once per machine) and starts the API server; its log is the failure's message if
    /// it cannot.
    pub(crate) fn start() -> Kube {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("bash")
            .arg(Path::new(ROOT).join("scripts/kube-up"))
            .arg(dir.path())
            .output()
            .expect("bash runs");
        assert!(out.status.success(), "scripts/kube-up failed:\n{}", String::from_utf8_lossy(&out.stderr));
        Kube { dir }
    }

    pub(crate) fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// `kubectl` (of the server's release, built by `scripts/kube-up`) against this server, with
    /// `stdin`: (success, stdout, stderr).
    pub(crate) fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        use std::io::Write;
        let mut child = std::process::Command::new(Path::new(ROOT).join("target/kube/kubectl"))
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("kubectl runs");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
        drop(input);
        let out = child.wait_with_output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
    }

    /// `kubectl` that must succeed: its stdout.
    pub(crate) fn must(&self, args: &[&str], stdin: Option<&str>) -> String {
        let (ok, out, err) = self.kubectl(args, stdin);
        assert!(ok, "kubectl {args:?} failed: {err}");
        out
    }
}

impl Drop for Kube {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(Path::new(ROOT).join("scripts/kube-down"))
            .arg(self.dir.path())
            .status();
    }
}

/// The webhook configuration of `deploy/manifests/paved.yaml`, pointed at `addr` by URL with
/// `ca` as its caBundle instead of at the in-cluster Service.
pub(crate) fn webhook_configuration(addr: std::net::SocketAddr, ca: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join("deploy/manifests/paved.yaml")).unwrap();
    let resources = paved::Resource::from_str("paved.yaml", &text).unwrap();
    let mut config = resources
        .iter()
        .map(|r| r.value().clone())
        .find(|o| o["kind"] == "ValidatingWebhookConfiguration")
        .expect("deploy/ has a ValidatingWebhookConfiguration");
    config["metadata"]["annotations"] = json!({});
    let bundle = base64::engine::general_purpose::STANDARD.encode(ca);
    for webhook in config["webhooks"].as_array_mut().unwrap() {
        webhook["clientConfig"] = json!({"url": format!("https://{addr}/validate"), "caBundle": bundle});
    }
    config
}

/// Waits until `done`, up to 30 s.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

const BUNDLE: &str = r#"apiVersion: paved.dev/v1
kind: Policy
metadata: { name: prod-team, version: 1.0.0 }
spec:
  severity: high
  match:
    kinds: [Pod]
    namespaceSelector: { matchLabels: { env: prod } }
  rules:
    - { id: team, message: production pods need a team label, cel: "has(object.metadata.labels) && 'team' in object.metadata.labels" }
---
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: pinned-images, version: 1.0.0 }
spec:
  action: Warn
  match: { kinds: [Pod] }
  rules:
    - { id: no-latest, message: "images are pinned, not :latest", cel: "!object.spec.containers.exists(c, c.image.endsWith(':latest'))" }
"#;

fn pod(name: &str, labels: Value, image: &str) -> String {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop", "labels": labels},
           "spec": {"containers": [{"name": "app", "image": image}]}})
    .to_string()
}

struct Setup {
    kube: Kube,
    paved: Option<Serving>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// A real API server, `paved serve` with [`BUNDLE`] watching its namespaces, and the webhook
/// registered and answering.
fn setup() -> Setup {
    let kube = Kube::start();
    kube.must(&["create", "namespace", "shop"], None);
    kube.must(&["label", "namespace", "shop", "env=dev"], None);
    let tls = certificate_for("127.0.0.1");
    let bundle = tempfile::tempdir().unwrap();
    std::fs::write(bundle.path().join("policies.yaml"), BUNDLE).unwrap();
    let kubeconfig = kube.kubeconfig();
    let paved = serve_in(
        tls.path(),
        &["--bundle", bundle.path().to_str().unwrap(), "--watch-namespaces"],
        &[("KUBECONFIG", kubeconfig.as_path())],
    );
    let ca = std::fs::read_to_string(tls.path().join("ca.crt")).unwrap();
    let configuration = webhook_configuration(paved.addr, &ca);
    kube.must(&["apply", "-f", "-"], Some(&configuration.to_string()));
    // The API server picks the configuration up within a second or so.
    wait_for("the API server to call paved", || {
        let (_, _, err) =
            kube.kubectl(&["create", "--dry-run=server", "-f", "-"], Some(&pod("probe", json!({}), "nginx:latest")));
        err.contains("images are pinned")
    });
    Setup { kube, paved: Some(paved), _dirs: (tls, bundle) }
}

#[test]
fn kubectl_shows_paveds_verdicts_through_a_real_api_server() {
    let Setup { kube, mut paved, _dirs } = setup();

    // Allowed: stored.
    kube.must(&["create", "-f", "-"], Some(&pod("web", json!({}), "nginx:1.27")));
    assert!(kube.must(&["-n", "shop", "get", "pod", "web", "-o", "name"], None).contains("pod/web"));

    // Warn findings reach kubectl as warnings; the object is stored.
    let (ok, _, err) = kube.kubectl(&["create", "-f", "-"], Some(&pod("tip", json!({}), "nginx:latest")));
    assert!(ok, "{err}");
    assert!(err.contains("Warning:") && err.contains("images are pinned, not :latest"), "{err}");

    // A namespace label change, seen through paved's watch of the real API server, flips the
    // verdict: shop becomes production, where pods need a team label.
    kube.must(&["label", "namespace", "shop", "env=prod", "--overwrite"], None);
    let unlabelled = pod("api", json!({}), "nginx:1.27");
    wait_for("the relabelled namespace to apply", || {
        !kube.kubectl(&["create", "--dry-run=server", "-f", "-"], Some(&unlabelled)).0
    });
    let (ok, _, err) = kube.kubectl(&["create", "-f", "-"], Some(&unlabelled));
    assert!(!ok);
    assert!(
        err.contains(r#"admission webhook "validate.paved.dev" denied the request"#)
            && err.contains("production pods need a team label"),
        "{err}"
    );

    // `--dry-run=server` is judged and not stored.
    let labelled = pod("api", json!({"team": "payments"}), "nginx:1.27");
    let out = kube.must(&["create", "--dry-run=server", "-f", "-"], Some(&labelled));
    assert!(out.contains("created (server dry run)"), "{out}");
    let (found, _, err) = kube.kubectl(&["-n", "shop", "get", "pod", "api"], None);
    assert!(!found && err.contains("NotFound"), "{err}");
    kube.must(&["create", "-f", "-"], Some(&labelled));

    // paved stopped: failurePolicy Fail refuses what it would judge, and the configuration's
    // namespaceSelector keeps kube-system working.
    drop(paved.take());
    let (ok, _, err) = kube.kubectl(&["create", "-f", "-"], Some(&pod("late", json!({"team": "a"}), "nginx:1.27")));
    assert!(!ok && err.contains("failed calling webhook"), "{err}");
    kube.must(&["-n", "kube-system", "create", "configmap", "still-works", "--from-literal=a=b"], None);
}
