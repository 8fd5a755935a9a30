//! paved as Argo CD's config management plugin, run the way argocd-cmp-server runs it: the
//! plugin's commands from `integrations/argocd/plugin.yaml`, in the Application's directory of
//! a copy of the repository, with the sidecar's environment from `deploy/argocd/` and the
//! variables the repo server adds (`ARGOCD_APP_*`, `ARGOCD_ENV_*` from the plugin's env,
//! `ARGOCD_APP_PARAMETERS` and `PARAM_*` from its parameters), the process group killed at the
//! deadline, standard output split into manifests, and a failure reported as Argo CD's sync
//! error reports it (the command, its status, its standard error). The repo-server patch is
//! merged into Argo CD's Deployment by a real API server, and its sidecar passes paved's
//! restricted Pod Security pack.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::deploy::json_of;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    yaml_rust2::YamlLoader::load_from_str(&text).unwrap().iter().map(json_of).collect()
}

/// The sidecar: its container in the repo-server patch, and the ConfigMaps it mounts.
struct Sidecar {
    env: Vec<(String, String)>,
    bundle: tempfile::TempDir,
}

fn sidecar() -> Sidecar {
    let patch = &yaml_docs(&Path::new(ROOT).join("deploy/argocd/repo-server-patch.yaml"))[0];
    let container = &patch["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"][0], "/var/run/argocd/argocd-cmp-server", "the sidecar runs Argo CD's CMP server");
    assert_eq!(container["securityContext"]["runAsUser"], 999, "Argo CD requires the sidecar to run as 999");
    // The bundle ConfigMap as the kubelet mounts it: one file per key, at PAVED_BUNDLE.
    let bundle = tempfile::tempdir().unwrap();
    let map = &yaml_docs(&Path::new(ROOT).join("deploy/argocd/paved-bundle.yaml"))[0];
    for (name, text) in map["data"].as_object().unwrap() {
        std::fs::write(bundle.path().join(name), text.as_str().unwrap()).unwrap();
    }
    let mut env = vec![];
    for e in container["env"].as_array().unwrap() {
        let (name, value) = (e["name"].as_str().unwrap(), e["value"].as_str().unwrap());
        let value = if name == "PAVED_BUNDLE" {
            assert_eq!(value, "/etc/paved/bundle");
            bundle.path().to_str().unwrap()
        } else {
            value
        };
        env.push((name.to_owned(), value.to_owned()));
    }
    // The image's binary, found on PATH as the plugin's `paved` command is.
    let bin = Path::new(env!("CARGO_BIN_EXE_paved")).parent().unwrap();
    env.push(("PATH".into(), format!("{}:/usr/bin:/bin", bin.display())));
    env.push(("HOME".into(), "/home/argocd".into()));
    Sidecar { env, bundle }
}

/// The repo server's request: the variables it sets for an Application, in its order.
fn app_env(app: &Value, revision: &str) -> Vec<(String, String)> {
    let source = &app["spec"]["source"];
    let mut env: Vec<(String, String)> = [
        ("ARGOCD_APP_NAME", app["metadata"]["name"].as_str().unwrap()),
        ("ARGOCD_APP_NAMESPACE", app["spec"]["destination"]["namespace"].as_str().unwrap()),
        ("ARGOCD_APP_PROJECT_NAME", app["spec"]["project"].as_str().unwrap()),
        ("ARGOCD_APP_REVISION", revision),
        ("ARGOCD_APP_REVISION_SHORT", &revision[..7]),
        ("ARGOCD_APP_REVISION_SHORT_8", &revision[..8]),
        ("ARGOCD_APP_SOURCE_REPO_URL", source["repoURL"].as_str().unwrap()),
        ("ARGOCD_APP_SOURCE_PATH", source["path"].as_str().unwrap()),
        ("ARGOCD_APP_SOURCE_TARGET_REVISION", source["targetRevision"].as_str().unwrap()),
        ("KUBE_VERSION", "1.34.2"),
        ("KUBE_API_VERSIONS", "v1,apps/v1,policy/v1,networking.k8s.io/v1,autoscaling/v2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let plugin = &source["plugin"];
    for e in plugin["env"].as_array().into_iter().flatten() {
        env.push((format!("ARGOCD_ENV_{}", e["name"].as_str().unwrap()), e["value"].as_str().unwrap().to_owned()));
    }
    if let Some(params) = plugin["parameters"].as_array() {
        env.push(("ARGOCD_APP_PARAMETERS".into(), serde_json::to_string(params).unwrap()));
        let escaped = |s: &str| s.to_uppercase().replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_");
        for p in params {
            let base = format!("PARAM_{}", escaped(p["name"].as_str().unwrap()));
            if let Some(s) = p["string"].as_str() {
                env.push((base.clone(), s.to_owned()));
            }
            for (k, v) in p["map"].as_object().into_iter().flatten() {
                env.push((format!("{base}_{}", escaped(k)), v.as_str().unwrap().to_owned()));
            }
        }
    }
    // Argo CD drops entries with an empty value.
    env.retain(|(_, v)| !v.is_empty());
    env
}

/// The repository as the repo server streams it to the sidecar: a fresh copy in a work directory.
fn checkout(work: &Path) -> PathBuf {
    let repo = work.join("repo");
    copy_dir(&Path::new(ROOT).join("examples/gitops"), &repo);
    repo
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// One command of plugin.yaml, as argocd-cmp-server's runCommand runs it: `command[0]` with
/// `command[1..]` and `args`, in `dir`, with exactly `env`, its process group killed at the
/// deadline; standard output with its last newline trimmed, or the error Argo CD shows.
fn run_command(command: &Value, dir: &Path, env: &[(String, String)], deadline: Instant) -> Result<String, String> {
    let words: Vec<String> = command["command"]
        .as_array()
        .unwrap()
        .iter()
        .chain(command["args"].as_array().into_iter().flatten())
        .map(|w| w.as_str().unwrap().to_owned())
        .collect();
    let path = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.clone()).unwrap();
    let program = path.split(':').map(|d| Path::new(d).join(&words[0])).find(|p| p.is_file()).unwrap();
    let mut child = {
        use std::os::unix::process::CommandExt;
        Command::new(program)
            .args(&words[1..])
            .current_dir(dir)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap()
    };
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let finished = std::sync::Arc::clone(&done);
    let killer = std::thread::spawn(move || {
        while Instant::now() < deadline {
            if finished.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Like Argo CD: SIGKILL to the group, whatever state the command is in.
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
    });
    let (stdout, stderr) = {
        use std::io::Read;
        let (mut out, mut err) = (String::new(), String::new());
        let mut err_pipe = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            err_pipe.read_to_string(&mut err).unwrap();
            err
        });
        child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        (out, reader.join().unwrap())
    };
    let status = child.wait().unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    killer.join().unwrap();
    if status.success() {
        return Ok(stdout.strip_suffix('\n').unwrap_or(&stdout).to_owned());
    }
    let cause = match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "signal: killed".to_owned(),
    };
    let mut error = format!("`{}` failed {cause}", words.join(" "));
    if !stderr.trim().is_empty() {
        error.push_str(&format!(": {}", stderr.trim()));
    }
    Err(error)
}

/// The repo server's GenerateManifest for `app` in a copy of the example repository: init (if
/// the plugin has one), then generate; the manifests as Argo CD splits them.
fn generate(
    app: &Value,
    edit: impl FnOnce(&Path),
    extra: &[(&str, &str)],
    timeout: Duration,
) -> Result<Vec<Value>, String> {
    let plugin = &yaml_docs(&Path::new(ROOT).join("integrations/argocd/plugin.yaml"))[0];
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    assert_eq!(app["spec"]["source"]["plugin"]["name"], plugin["metadata"]["name"], "the Application names the plugin");
    let sidecar = sidecar();
    let work = tempfile::tempdir().unwrap();
    let repo = checkout(work.path());
    let dir = repo.join(app["spec"]["source"]["path"].as_str().unwrap());
    edit(&dir);
    let mut env = sidecar.env.clone();
    env.extend(app_env(app, "8d2f0c1e9b7a6453f1e0d9c8b7a6f5e4d3c2b1a0"));
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let deadline = Instant::now() + timeout;
    if plugin["spec"]["init"]["command"].is_array() {
        run_command(&plugin["spec"]["init"], &dir, &env, deadline)?;
    }
    let out = run_command(&plugin["spec"]["generate"], &dir, &env, deadline)?;
    drop(sidecar.bundle);
    let docs = yaml_rust2::YamlLoader::load_from_str(&out).map_err(|e| format!("not YAML: {e}"))?;
    Ok(docs.iter().map(json_of).filter(|d| !d.is_null()).collect())
}

fn application(name: &str) -> Value {
    yaml_docs(&Path::new(ROOT).join(format!("examples/gitops/argocd/{name}.yaml"))).remove(0)
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn renders_the_golden_path_with_the_applications_parameters() {
    let docs = generate(&application("checkout"), |_| {}, &[], MINUTE).unwrap();
    let deployment = find(&docs, "Deployment", "checkout");
    // The image parameter replaced the inputs file's; the map parameter set scaling.min.
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.acme.dev/payments/checkout:4.3.0"
    );
    assert_eq!(find(&docs, "HorizontalPodAutoscaler", "checkout")["spec"]["minReplicas"], 3);
    assert_eq!(
        deployment["metadata"]["annotations"]["paved.dev/golden-path"].as_str().unwrap().get(..13),
        Some("web-service@2")
    );
    // The directory's own manifest is applied with the render; the inputs file is not.
    assert_eq!(find(&docs, "ConfigMap", "checkout-flags")["data"]["express-checkout"], "true");
    assert!(docs.iter().all(|d| d["kind"].is_string()), "only manifests come out");
    // Every object goes to the Application's namespace (ARGOCD_APP_NAMESPACE, as `namespace`).
    assert!(docs.iter().all(|d| d["metadata"]["namespace"] == "payments"));
}

#[test]
fn the_output_is_the_same_bytes_on_every_run_and_machine() {
    let app = application("checkout");
    let plugin = &yaml_docs(&Path::new(ROOT).join("integrations/argocd/plugin.yaml"))[0];
    let run = |tz: &str, lang: &str| {
        let sidecar = sidecar();
        let work = tempfile::tempdir().unwrap();
        let dir = checkout(work.path()).join("apps/checkout");
        let mut env = sidecar.env.clone();
        env.extend(app_env(&app, "0123456789abcdef0123456789abcdef01234567"));
        env.extend([("TZ".to_owned(), tz.to_owned()), ("LANG".to_owned(), lang.to_owned())]);
        run_command(&plugin["spec"]["generate"], &dir, &env, Instant::now() + MINUTE).unwrap()
    };
    let first = run("UTC", "C.UTF-8");
    assert_eq!(first, run("Pacific/Chatham", "de_DE.UTF-8"), "another work directory, zone and locale");
    assert_eq!(first, run("UTC", "C.UTF-8"));
}

#[test]
fn the_golden_paths_inputs_are_announced_as_the_applications_parameters() {
    // As the CMP server answers GetParametersAnnouncement: the dynamic command, in the app's
    // directory, with its environment; a JSON array on standard output.
    let plugin = &yaml_docs(&Path::new(ROOT).join("integrations/argocd/plugin.yaml"))[0];
    let announce = |app: &Value| {
        let sidecar = sidecar();
        let work = tempfile::tempdir().unwrap();
        let dir = checkout(work.path()).join(app["spec"]["source"]["path"].as_str().unwrap());
        let mut env = sidecar.env.clone();
        env.extend(app_env(app, "0123456789abcdef0123456789abcdef01234567"));
        let out = run_command(&plugin["spec"]["parameters"]["dynamic"], &dir, &env, Instant::now() + MINUTE).unwrap();
        serde_json::from_str::<Vec<Value>>(&out).unwrap()
    };
    let announced = announce(&application("checkout"));
    let named = |name: &str| announced.iter().find(|a| a["name"] == name).unwrap().clone();
    assert_eq!(named("image")["string"], "registry.acme.dev/payments/checkout:4.2.1", "the inputs file's value");
    assert_eq!(named("image")["collectionType"], "string");
    assert_eq!(named("image")["required"], false, "the file gives it");
    assert_eq!(named("scaling")["collectionType"], "map");
    assert_eq!(named("scaling")["map"]["min"], "2", "the schema's default");
    assert_eq!(named("env")["collectionType"], "array");
    assert!(named("tier")["tooltip"].as_str().unwrap().contains("preempt"));
    assert_eq!(announce(&application("status-page")), Vec::<Value>::new(), "no golden path, no parameters");
}

#[test]
fn plain_manifests_are_checked_and_passed_through() {
    let docs = generate(&application("status-page"), |_| {}, &[], MINUTE).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(find(&docs, "Deployment", "status-page")["spec"]["replicas"], 2);
}

#[test]
fn a_denial_fails_the_sync_with_the_findings_and_applies_nothing() {
    let privileged = |dir: &Path| {
        let path = dir.join("deployment.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("allowPrivilegeEscalation: false", "privileged: true")).unwrap();
    };
    let error = generate(&application("status-page"), privileged, &[], MINUTE).unwrap_err();
    assert!(error.starts_with("`paved generate` failed exit status 1: error: paved denies"), "{error}");
    assert!(error.contains("privileged"), "the rule and field are named: {error}");
    assert!(error.contains("./deployment.yaml") && error.contains("(line 27)"), "and the file's line: {error}");
}

#[test]
fn bad_inputs_and_parameters_fail_with_where_and_why() {
    let typo = |dir: &Path| {
        let path = dir.join("inputs.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("costCenter:", "costCentre:")).unwrap();
    };
    let error = generate(&application("checkout"), typo, &[], MINUTE).unwrap_err();
    assert!(error.contains("inputs.yaml:") && error.contains("did you mean `costCenter`"), "{error}");
    let mut app = application("checkout");
    app["spec"]["source"]["plugin"]["parameters"][1]["map"]["min"] = "three".into();
    let error = generate(&app, |_| {}, &[], MINUTE).unwrap_err();
    assert!(error.contains("input `scaling.min`: `three` is not an integer"), "{error}");
    let mut app = application("status-page");
    app["spec"]["source"]["plugin"]["parameters"] = serde_json::json!([{"name": "image", "string": "nginx:1.27"}]);
    let error = generate(&app, |_| {}, &[], MINUTE).unwrap_err();
    assert!(error.contains("no golden path is named to take them"), "parameters are never ignored: {error}");
    let mut app = application("checkout");
    app["spec"]["source"]["plugin"]["env"][0]["value"] = "web-servce@^2".into();
    let error = generate(&app, |_| {}, &[], MINUTE).unwrap_err();
    assert!(error.contains("web-servce") && error.contains("web-service"), "a did-you-mean: {error}");
}

#[test]
fn a_bundle_that_does_not_load_fails_the_sync() {
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(
        broken.path().join("paved.yaml"),
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: x}\nspec: {rulez: []}\n",
    )
    .unwrap();
    let error =
        generate(&application("checkout"), |_| {}, &[("PAVED_BUNDLE", broken.path().to_str().unwrap())], MINUTE)
            .unwrap_err();
    assert!(error.contains("paved.yaml:4:") && error.contains("rulez"), "{error}");
}

#[test]
fn a_render_that_hangs_fails_with_the_reason_before_the_repo_server_kills_it() {
    // A registry that accepts and never answers: the bundle's pull hangs.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let bundle = format!("oci://{}/platform/bundle:1.0.0", silent.local_addr().unwrap());
    let env = [("PAVED_BUNDLE", bundle.as_str()), ("PAVED_TIMEOUT", "2s")];
    let started = Instant::now();
    let error = generate(&application("checkout"), |_| {}, &env, Duration::from_secs(30)).unwrap_err();
    assert!(error.contains("did not finish within 2s"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(25));
    // Without paved's own timeout the repo server's kill is what ends it: still an error, never
    // an empty render.
    let env = [("PAVED_BUNDLE", bundle.as_str()), ("PAVED_TIMEOUT", "10m")];
    let error = generate(&application("checkout"), |_| {}, &env, Duration::from_secs(3)).unwrap_err();
    assert!(error.ends_with("failed signal: killed"), "{error}");
}

#[test]
fn the_deployed_plugin_is_the_one_tested() {
    let map = &yaml_docs(&Path::new(ROOT).join("deploy/argocd/paved-cmp-plugin.yaml"))[0];
    let shipped = std::fs::read_to_string(Path::new(ROOT).join("integrations/argocd/plugin.yaml")).unwrap();
    assert_eq!(map["data"]["plugin.yaml"].as_str().unwrap(), shipped);
    let kustomization = &yaml_docs(&Path::new(ROOT).join("deploy/argocd/kustomization.yaml"))[0];
    for file in kustomization["resources"].as_array().unwrap().iter().chain([&kustomization["patches"][0]["path"]]) {
        let file = file.as_str().unwrap();
        assert!(file.starts_with("https://") || Path::new(ROOT).join("deploy/argocd").join(file).is_file(), "{file}");
    }
    // Every volume the sidecar mounts is declared, or is one of Argo CD's own.
    let patch = &yaml_docs(&Path::new(ROOT).join("deploy/argocd/repo-server-patch.yaml"))[0];
    let spec = &patch["spec"]["template"]["spec"];
    let declared: Vec<&str> = spec["volumes"].as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap()).collect();
    for mount in spec["containers"][0]["volumeMounts"].as_array().unwrap() {
        let name = mount["name"].as_str().unwrap();
        assert!(declared.contains(&name) || ["var-files", "plugins"].contains(&name), "{name}");
    }
}

/// Argo CD's `argocd-repo-server` Deployment as its install.yaml has it, abridged to what the
/// patch meets: the volumes the sidecar shares, the repo server's container.
const REPO_SERVER: &str = r"
apiVersion: apps/v1
kind: Deployment
metadata: { name: argocd-repo-server, namespace: argocd, labels: { app.kubernetes.io/name: argocd-repo-server } }
spec:
  selector: { matchLabels: { app.kubernetes.io/name: argocd-repo-server } }
  template:
    metadata: { labels: { app.kubernetes.io/name: argocd-repo-server } }
    spec:
      automountServiceAccountToken: false
      initContainers:
        - name: copyutil
          image: quay.io/argoproj/argocd:v3.2.0
          command: [/bin/cp, -n, /usr/local/bin/argocd, /var/run/argocd/argocd-cmp-server]
          volumeMounts: [{ name: var-files, mountPath: /var/run/argocd }]
      containers:
        - name: argocd-repo-server
          image: quay.io/argoproj/argocd:v3.2.0
          args: [/usr/local/bin/argocd-repo-server]
          volumeMounts:
            - { name: var-files, mountPath: /var/run/argocd }
            - { name: plugins, mountPath: /home/argocd/cmp-server/plugins }
            - { name: tmp, mountPath: /tmp }
      volumes:
        - { name: var-files, emptyDir: {} }
        - { name: plugins, emptyDir: {} }
        - { name: tmp, emptyDir: {} }
";

#[test]
fn the_repo_server_patch_applies_to_argo_cds_deployment_on_a_real_api_server() {
    let kube = super::kube::Kube::start();
    kube.must(&["create", "namespace", "argocd"], None);
    kube.must(&["apply", "-f", "-"], Some(REPO_SERVER));
    for file in ["paved-cmp-plugin.yaml", "paved-bundle.yaml"] {
        kube.must(&["apply", "--server-side", "-f", &format!("{ROOT}/deploy/argocd/{file}")], None);
    }
    // The API server merges the patch (strategic merge, by container and volume name) and
    // validates the result against its schema.
    let patch = format!("{ROOT}/deploy/argocd/repo-server-patch.yaml");
    kube.must(
        &["patch", "deployment", "argocd-repo-server", "-n", "argocd", "--type", "strategic", "--patch-file", &patch],
        None,
    );
    let deployment: Value = serde_json::from_str(
        &kube.must(&["get", "deployment", "argocd-repo-server", "-n", "argocd", "-o", "json"], None),
    )
    .unwrap();
    let spec = &deployment["spec"]["template"]["spec"];
    let names = |list: &Value| {
        list.as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(names(&spec["containers"]), ["paved", "argocd-repo-server"]);
    let volumes = names(&spec["volumes"]);
    for v in ["var-files", "plugins", "tmp", "paved-cmp-plugin", "paved-bundle", "paved-tmp"] {
        assert!(volumes.contains(&v.to_owned()), "{v} in {volumes:?}");
    }
    // The ConfigMaps the sidecar mounts are there, with the plugin and a bundle that loads.
    let map: Value =
        serde_json::from_str(&kube.must(&["get", "configmap", "paved-cmp-plugin", "-n", "argocd", "-o", "json"], None))
            .unwrap();
    let shipped = std::fs::read_to_string(Path::new(ROOT).join("integrations/argocd/plugin.yaml")).unwrap();
    assert_eq!(map["data"]["plugin.yaml"].as_str().unwrap(), shipped);
    // paved's own packs pass the patched Deployment's sidecar at the restricted level.
    let sidecar = json_of_deployment(&deployment);
    let check =
        super::paved().args(["check", "--pack", "pod-security-restricted", "-"]).write_stdin(sidecar).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
}

/// The Deployment with only the paved sidecar, as JSON for `paved check`.
fn json_of_deployment(deployment: &Value) -> String {
    let mut d = deployment.clone();
    let spec = &mut d["spec"]["template"]["spec"];
    spec["initContainers"] = Value::Array(vec![]);
    let containers = spec["containers"].as_array().unwrap().iter().filter(|c| c["name"] == "paved").cloned().collect();
    spec["containers"] = Value::Array(containers);
    d.to_string()
}
