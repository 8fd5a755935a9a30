//! `paved serve` behind a real Kubernetes API server (`scripts/kube-up`: kube-apiserver and etcd
//! built from their Go modules, on loopback), registered with the ValidatingWebhookConfiguration
//! of `deploy/manifests/paved.yaml`, and driven with `kubectl` as a developer would.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use super::serve::{certificate_for, files, serve_in, Serving, CONFORMANCE};

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
    configuration_of("ValidatingWebhookConfiguration", "/validate", addr, ca)
}

/// The configuration of `kind` in `deploy/manifests/paved.yaml`, its webhooks calling `path`
/// at `addr`.
fn configuration_of(kind: &str, path: &str, addr: std::net::SocketAddr, ca: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join("deploy/manifests/paved.yaml")).unwrap();
    let resources = paved::Resource::from_str("paved.yaml", &text).unwrap();
    let mut config = resources
        .iter()
        .map(|r| r.value().clone())
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("deploy/ has a {kind}"));
    config["metadata"]["annotations"] = json!({});
    let bundle = base64::engine::general_purpose::STANDARD.encode(ca);
    for webhook in config["webhooks"].as_array_mut().unwrap() {
        webhook["clientConfig"] = json!({"url": format!("https://{addr}{path}"), "caBundle": bundle});
    }
    config
}

/// Waits until `done`, up to 30 s.
pub(crate) fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
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
    /// Where paved's bundle is (it reloads what changes there).
    bundle: tempfile::TempDir,
    _tls: tempfile::TempDir,
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
        &["--bundle", bundle.path().to_str().unwrap(), "--watch-namespaces", "--poll", "200ms"],
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
    Setup { kube, paved: Some(paved), bundle, _tls: tls }
}

/// What the API server answers kube-rs creating `pod` (JSON), with a dry run and without: the
/// two error messages.
fn in_kube_rs(kubeconfig: &Path, pod: &str) -> Vec<String> {
    use kube::api::{Api, ApiResource, DynamicObject, PostParams};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(kubeconfig).unwrap(),
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        let pods = ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: "Pod".into(),
            plural: "pods".into(),
        };
        let api: Api<DynamicObject> = Api::namespaced_with(client, "shop", &pods);
        let object: DynamicObject = serde_json::from_str(pod).unwrap();
        let mut messages = Vec::new();
        for dry_run in [true, false] {
            match api.create(&PostParams { dry_run, ..PostParams::default() }, &object).await {
                Err(kube::Error::Api(e)) => messages.push(e.message),
                other => panic!("kube-rs created it, or failed otherwise: {other:?}"),
            }
        }
        messages
    })
}

#[test]
fn kubectl_shows_paveds_verdicts_through_a_real_api_server() {
    let Setup { kube, mut paved, .. } = setup();

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

    // A client library sees the same: kube-rs, dry run and not, gets paved's denial.
    let denial = in_kube_rs(&kube.kubeconfig(), &unlabelled);
    assert!(denial.iter().all(|d| d.contains("production pods need a team label")), "{denial:?}");

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

#[test]
fn a_bundle_reloaded_while_requests_flow_through_the_api_server_changes_verdicts_and_fails_none() {
    let setup = setup();
    let kube = &setup.kube;
    let request = pod("web", json!({"team": "payments"}), "nginx:1.27");
    let stop = std::sync::atomic::AtomicBool::new(false);
    let outcomes = std::thread::scope(|s| {
        let traffic = s.spawn(|| {
            let mut outcomes = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                outcomes.push(kube.kubectl(&["create", "--dry-run=server", "-f", "-"], Some(&request)));
            }
            outcomes
        });
        std::thread::sleep(Duration::from_secs(2));
        let forbid = "---\napiVersion: paved.dev/v1\nkind: Policy\nmetadata: { name: mirror-only, version: 1.0.0 }\nspec:\n  match: { kinds: [Pod] }\n  rules:\n    - { id: mirror, message: images come from the mirror, cel: \"object.spec.containers.all(c, c.image.startsWith('mirror.acme.io/'))\" }\n";
        std::fs::write(setup.bundle.path().join("policies.yaml"), format!("{BUNDLE}{forbid}")).unwrap();
        wait_for("the reloaded bundle to apply", || {
            kube.kubectl(&["create", "--dry-run=server", "-f", "-"], Some(&request))
                .2
                .contains("images come from the mirror")
        });
        std::thread::sleep(Duration::from_secs(2));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        traffic.join().unwrap()
    });
    let allowed = outcomes.iter().take_while(|(ok, _, _)| *ok).count();
    assert!(allowed > 0, "no request before the reload");
    for (ok, _, err) in &outcomes[allowed..] {
        assert!(
            !ok && err.contains("images come from the mirror"),
            "after the reload, every request is denied by it: {err}"
        );
    }
    assert!(outcomes.len() > allowed, "no request after the reload");
}

/// Every `every`-th Pod Security fixture of `level` (all versions, pass and fail alike, in the
/// order of their paths).
pub(crate) fn fixtures(level: &str, every: usize) -> Vec<PathBuf> {
    let level_dir = Path::new(CONFORMANCE).join("pod-security-admission").join(level);
    let mut all = Vec::new();
    for version in files(&level_dir).into_iter().filter(|d| d.is_dir()) {
        for expect in ["pass", "fail"] {
            all.extend(files(&version.join(expect)));
        }
    }
    all.into_iter().step_by(every).collect()
}

/// What the API server said of an object.
#[derive(Debug)]
pub(crate) enum Verdict {
    Admitted,
    /// Refused by admission, with the message.
    Refused(String),
    /// Refused by validation, before admission (the object is not a valid Pod of this release).
    Invalid(String),
}

/// What the API server said of each object of a `kubectl create --dry-run=server` of them all
/// in `namespace`. Each is renamed `f00000`, `f00001`... (some fixtures' names are not valid
/// object names, and the API server validates names before admission); a refusal is
/// admission's when it contains `refusal`, else it must be validation's (`Invalid`).
pub(crate) fn dry_run(kube: &Kube, namespace: &str, paths: &[PathBuf], refusal: &str) -> Vec<Verdict> {
    let dir = tempfile::tempdir().unwrap();
    for (i, path) in paths.iter().enumerate() {
        let mut object = paved::Resource::from_paths(std::slice::from_ref(path)).unwrap()[0].value().clone();
        object["metadata"]["namespace"] = json!(namespace);
        object["metadata"]["name"] = json!(format!("f{i:05}"));
        std::fs::write(dir.path().join(format!("f{i:05}.json")), object.to_string()).unwrap();
    }
    let args = ["create", "--dry-run=server", "-o", "name", "-f", dir.path().to_str().unwrap()];
    let (_, out, err) = kube.kubectl(&args, None);
    let admitted: std::collections::HashSet<&str> = out.lines().filter_map(|l| l.strip_prefix("pod/")).collect();
    (0..paths.len())
        .map(|i| {
            let name = format!("f{i:05}");
            if admitted.contains(name.as_str()) {
                return Verdict::Admitted;
            }
            let line = err
                .lines()
                .find(|l| l.contains(&format!("/{name}.json\"")) || l.contains(&format!("\"{name}\"")))
                .unwrap_or_else(|| panic!("{}: neither admitted nor refused: {err}", paths[i].display()));
            if line.contains(refusal) {
                return Verdict::Refused(line.to_owned());
            }
            // A ValidatingAdmissionPolicy's denial is `Invalid` too; it contains `refusal`.
            assert!(
                line.starts_with("Error from server (Invalid)"),
                "{} was refused, but not by admission: {line}",
                paths[i].display()
            );
            Verdict::Invalid(line.to_owned())
        })
        .collect()
}

/// The Pod Security fixtures, a deterministic sample of every version, level and verdict (all
/// of them with `PAVED_PSA_ALL=1`, as `scripts/psa-through-kube` runs it), created with
/// `--dry-run=server` through the real API server: where paved is the webhook, the API server's
/// verdict is `paved check`'s; where Kubernetes' own Pod Security Admission enforces the same
/// level, its verdict is `paved check`'s too.
#[test]
fn pod_security_fixtures_through_the_api_server_get_paved_checks_verdicts_and_kubernetes_agrees() {
    let every = if std::env::var_os("PAVED_PSA_ALL").is_some() { 1 } else { 8 };
    let kube = Kube::start();
    let tls = certificate_for("127.0.0.1");
    let ca = std::fs::read_to_string(tls.path().join("ca.crt")).unwrap();
    let mut servers = Vec::new();
    let (mut sampled, mut compared, mut invalid) = (0, 0, std::collections::BTreeMap::new());
    for level in ["baseline", "restricted"] {
        let pack = format!("pod-security-{level}");
        let paved = serve_in(tls.path(), &["--pack", pack.as_str()], &[]);
        let mut configuration = webhook_configuration(paved.addr, &ca);
        configuration["metadata"]["name"] = json!(format!("paved-{level}"));
        configuration["webhooks"][0]["name"] = json!(format!("{level}.paved.dev"));
        configuration["webhooks"][0]["namespaceSelector"] = json!({"matchLabels": {"paved.dev/test-level": level}});
        kube.must(&["apply", "-f", "-"], Some(&configuration.to_string()));
        servers.push(paved);
        let (by_paved, by_kubernetes) = (format!("paved-{level}"), format!("psa-{level}"));
        kube.must(&["create", "namespace", &by_paved], None);
        kube.must(&["label", "namespace", &by_paved, &format!("paved.dev/test-level={level}")], None);
        kube.must(&["create", "namespace", &by_kubernetes], None);
        let enforce = format!("pod-security.kubernetes.io/enforce={level}");
        kube.must(
            &["label", "namespace", &by_kubernetes, &enforce, "pod-security.kubernetes.io/enforce-version=latest"],
            None,
        );

        let paths = fixtures(level, every);
        let expected = super::serve::check(&["--pack", pack.as_str()], &paths);
        assert_eq!(expected.len(), paths.len());
        let webhook = format!("admission webhook \"{level}.paved.dev\" denied the request");
        let probe = paths.iter().zip(&expected).find(|(_, e)| !e.is_empty()).unwrap().0.clone();
        wait_for(
            "the API server to call paved",
            || matches!(&dry_run(&kube, &by_paved, std::slice::from_ref(&probe), "")[0], Verdict::Refused(m) if m.contains(&webhook)),
        );
        let through_paved = dry_run(&kube, &by_paved, &paths, &webhook);
        let through_kubernetes = dry_run(&kube, &by_kubernetes, &paths, "violates PodSecurity");
        let mut disagree = Vec::new();
        let verdicts = paths.iter().zip(&expected).zip(through_paved.iter().zip(&through_kubernetes));
        for ((path, expect), (paved, kubernetes)) in verdicts {
            let denied = !expect.is_empty();
            for (by, verdict) in [("paved through the API server", paved), ("Pod Security Admission", kubernetes)] {
                match verdict {
                    Verdict::Invalid(why) => {
                        invalid.insert(path.display().to_string(), why.clone());
                    }
                    v if matches!(v, Verdict::Refused(_)) != denied => {
                        disagree.push(format!("{}: paved check denies {expect:?}; {by}: {v:?}", path.display()));
                    }
                    _ => compared += 1,
                }
            }
        }
        assert!(disagree.is_empty(), "{level}: {} disagreements:\n{}", disagree.len(), disagree.join("\n"));
        let refused = through_paved.iter().filter(|v| matches!(v, Verdict::Refused(_))).count();
        assert!(refused > 0 && refused < paths.len(), "{refused} of {} refused", paths.len());
        sampled += paths.len();
    }
    eprintln!(
        "{sampled} Pod Security fixtures through the API server: {compared} verdicts (paved as the webhook, and Pod Security Admission) equal paved check's; {} not valid Pods of this release:\n{}",
        invalid.len(),
        invalid.iter().map(|(path, why)| format!("{path}: {why}")).collect::<Vec<_>>().join("\n")
    );
    assert!(sampled >= 500 || every == 1, "only {sampled}");
    // What validation refuses before admission is a handful of fixtures written for older releases.
    assert!(invalid.len() * 50 <= sampled, "{} of {sampled} invalid", invalid.len());
}

/// Whether everything `a` has, `b` has too (lists element by element): `b` may hold more, as an
/// object the API server stored holds its defaults.
fn within(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => a.iter().all(|(k, v)| b.get(k).is_some_and(|w| within(v, w))),
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(v, w)| within(v, w)),
        _ => a == b,
    }
}

#[test]
fn through_paveds_mutating_webhook_the_api_server_stores_what_paved_fix_prints() {
    let kube = Kube::start();
    kube.must(&["create", "namespace", "shop"], None);
    let tls = certificate_for("127.0.0.1");
    let bundle = Path::new(ROOT).join("examples/mutation/bundle");
    let paved = serve_in(tls.path(), &["--bundle", bundle.to_str().unwrap()], &[]);
    let ca = std::fs::read_to_string(tls.path().join("ca.crt")).unwrap();
    for (kind, path) in [("MutatingWebhookConfiguration", "/mutate"), ("ValidatingWebhookConfiguration", "/validate")] {
        kube.must(&["apply", "-f", "-"], Some(&configuration_of(kind, path, paved.addr, &ca).to_string()));
    }
    let web = std::fs::read_to_string(Path::new(ROOT).join("examples/mutation/manifests/web.yaml")).unwrap();
    wait_for("the API server to call paved's /mutate", || {
        let (_, out, _) = kube.kubectl(&["create", "--dry-run=server", "-o", "json", "-f", "-"], Some(&web));
        out.contains("example.com/owner")
    });

    kube.must(&["create", "-f", "-"], Some(&web));
    let stored: Value =
        serde_json::from_str(&kube.must(&["-n", "shop", "get", "deployment", "web", "-o", "json"], None)).unwrap();
    let (code, fixed, err) = super::run(&[
        "fix",
        "--bundle",
        "examples/mutation/bundle",
        "examples/mutation/manifests/web.yaml",
        "--now",
        super::NOW,
    ]);
    assert_eq!(code, 1, "{err}");
    let fixed = paved::Resource::from_str("fixed.yaml", &fixed).unwrap()[0].value().clone();
    assert!(within(&fixed, &stored), "paved fix printed:\n{fixed:#}\nthe API server stored:\n{stored:#}");

    // An update goes through both webhooks again and changes nothing paved set.
    kube.must(&["-n", "shop", "label", "deployment", "web", "tier=front"], None);
    let updated: Value =
        serde_json::from_str(&kube.must(&["-n", "shop", "get", "deployment", "web", "-o", "json"], None)).unwrap();
    assert_eq!(updated["spec"]["template"], stored["spec"]["template"]);

    // The validating webhook judges what the mutations made: an image with no digest to pin
    // is denied.
    let other =
        web.replace("name: web\n  namespace", "name: other\n  namespace").replace("shop/web:1.4.2", "shop/web:9.9");
    let (ok, _, err) = kube.kubectl(&["create", "-f", "-"], Some(&other));
    assert!(!ok && err.contains("validate.paved.dev") && err.contains("the image is not pinned by digest"), "{err}");
}
