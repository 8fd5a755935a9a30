//! Bundles, packs, plugins and renders through a real OCI registry (TLS, basic auth): pushed,
//! signed, verified, pulled, cached, and refused when they are not what they claim.

use std::path::Path;

use serde_json::Value;

use crate::output;
use crate::registry::{paved_for, Registry};

struct Setup {
    registry: Registry,
    cache: tempfile::TempDir,
    keys: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let setup = Setup {
            registry: Registry::start(),
            cache: tempfile::tempdir().unwrap(),
            keys: tempfile::tempdir().unwrap(),
        };
        for who in ["platform", "stranger"] {
            let dir = setup.keys.path().join(who);
            std::fs::create_dir(&dir).unwrap();
            let (code, out, err) = setup.run(&["keygen", "--dir", dir.to_str().unwrap()]);
            assert_eq!(code, 0, "{out}{err}");
        }
        setup
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        output(paved_for(&self.registry, self.cache.path()).args(args).output().unwrap())
    }

    fn key(&self, who: &str, file: &str) -> String {
        self.keys.path().join(who).join(file).display().to_string()
    }

    /// Pushes `path` to `repo` (signed by `who`, if any); the pinned reference.
    fn push(&self, repo: &str, path: &str, who: Option<&str>, more: &[&str]) -> String {
        let target = self.registry.at(repo);
        let mut args = vec!["push", target.as_str(), path, "--format", "json"];
        let key = who.map(|w| self.key(w, "cosign.key"));
        if let Some(k) = &key {
            args.extend(["--sign-key", k.as_str()]);
        }
        args.extend(more);
        let (code, out, err) = self.run(&args);
        assert_eq!(code, 0, "{out}{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        v["reference"].as_str().unwrap().to_owned()
    }

    /// `paved serve` with `flags` and the certificate in `tls`, reaching the registry with the
    /// tests' credentials, CA and cache.
    fn serve(&self, tls: &Path, flags: &[&str]) -> crate::serve::Serving {
        let cache = self.cache.path().to_owned();
        let env: [(&str, &Path); 3] = [
            ("PAVED_CACHE_DIR", &cache),
            ("PAVED_REGISTRY_USERNAME", Path::new(crate::registry::USER)),
            ("PAVED_REGISTRY_PASSWORD", Path::new(crate::registry::PASSWORD)),
        ];
        let ca = self.registry.ca();
        crate::serve::serve_in(tls, &[flags, &["--registry-ca", ca.to_str().unwrap()]].concat(), &env)
    }

    /// The blobs in paved's cache.
    fn cached(&self) -> Vec<String> {
        let dir = self.cache.path().join("oci/blobs/sha256");
        std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    }
}

fn check_json(setup: &Setup, bundle: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["check", "--bundle", bundle, "examples/manifests", "--now", crate::NOW, "--format", "json"];
    args.extend(extra);
    let (code, out, err) = setup.run(&args);
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

#[test]
fn a_signed_bundle_round_trips_and_decides_as_its_files_do() {
    let s = Setup::new();
    let pushed = s.push("acme/policies:1.4.0", "examples/bundle", Some("platform"), &[]);
    assert!(pushed.contains("@sha256:"), "{pushed}");
    let tag = s.registry.at("acme/policies:1.4.0");
    let public = s.key("platform", "cosign.pub");

    // Who signed what.
    let (code, out, err) = s.run(&["verify", &tag, "--verify-key", &public, "--format", "json"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["reference"], pushed.as_str());
    assert_eq!(v["kind"], "bundle");
    assert_eq!(v["signers"][0]["key"], public.as_str());
    assert_eq!(v["signers"][0]["identity"], format!("{}/acme/policies", s.registry.addr));

    // The same report as from the files.
    let (code, from_files, _) = check_json(&s, "examples/bundle", &[]);
    let (code_oci, from_oci, err) = check_json(&s, &tag, &["--verify-key", &public]);
    assert_eq!((code, code_oci), (1, 1), "{err}");
    assert_eq!(from_oci["summary"], from_files["summary"]);
    assert_eq!(from_oci["resources"], from_files["resources"]);

    // Pulled, the files are the ones pushed.
    let out_dir = s.cache.path().join("pulled");
    let (code, out, err) = s.run(&["pull", &tag, "--verify-key", &public, "-o", out_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("signed by") && out.contains(&pushed), "{out}");
    for f in ["paved.yaml", "workloads.yaml", "exceptions.yaml"] {
        assert_eq!(
            std::fs::read(out_dir.join(f)).unwrap(),
            std::fs::read(Path::new("../examples/bundle").join(f)).unwrap()
        );
    }

    // Pushing the same files again gives the same digest: the artifact is reproducible.
    assert_eq!(
        s.push("mirror/policies:1.4.0", "examples/bundle", None, &[]).split('@').nth(1),
        pushed.split('@').nth(1)
    );

    // skopeo, another client, reads the manifest paved wrote.
    let manifest = skopeo_manifest(&s, "acme/policies:1.4.0");
    assert_eq!(manifest["artifactType"], "application/vnd.paved.bundle.v1");
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.paved.bundle.config.v1+json");
    assert_eq!(manifest["layers"][0]["mediaType"], "application/vnd.paved.bundle.content.v1.tar+gzip");
    assert_eq!(manifest["annotations"]["dev.paved.contents"], "policies=3,goldenPaths=0,exceptions=1");
}

#[test]
fn unsigned_or_wrongly_signed_artifacts_are_refused_and_nothing_of_them_is_cached() {
    let s = Setup::new();
    let public = s.key("platform", "cosign.pub");
    s.push("acme/unsigned:1", "examples/bundle", None, &[]);
    s.push("acme/stranger:1", "examples/bundle/workloads.yaml", Some("stranger"), &[]);
    for (repo, why) in
        [("acme/unsigned:1", "it is not signed"), ("acme/stranger:1", "a signature by a key not trusted")]
    {
        let (code, out, err) = check_json(&s, &s.registry.at(repo), &["--verify-key", &public]);
        assert_eq!(code, 2, "{out}{err}");
        assert!(err.contains("refused") && err.contains(why), "{repo}: {err}");
        let (code, _, err) = s.run(&["verify", &s.registry.at(repo), "--verify-key", &public]);
        assert_eq!(code, 1, "{err}");
    }
    // No key at all: refused, saying how to trust.
    let (code, _, err) = check_json(&s, &s.registry.at("acme/unsigned:1"), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("--verify-key"), "{err}");
    // Only the manifests and the signatures' payloads were read; no content layer was cached.
    assert!(s.cached().is_empty(), "{:?}", s.cached());
    // --allow-unsigned loads it, its digest still checked.
    let (code, v, err) = check_json(&s, &s.registry.at("acme/unsigned:1"), &["--allow-unsigned"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["summary"]["resources"], 5);
}

#[test]
fn registry_faults_say_what_went_wrong() {
    let mut s = Setup::new();
    let public = s.key("platform", "cosign.pub");
    let pushed = s.push("acme/policies:1", "examples/bundle", Some("platform"), &[]);
    let tag = s.registry.at("acme/policies:1");

    // Wrong credentials.
    let out = paved_for(&s.registry, s.cache.path())
        .env("PAVED_REGISTRY_PASSWORD", "wrong")
        .args(["pull", &tag, "--verify-key", &public])
        .output()
        .unwrap();
    let (code, _, err) = output(out);
    assert_eq!(code, 2);
    assert!(err.contains("refused the credentials"), "{err}");

    // Credentials from the Docker config file instead of the environment.
    let docker = s.cache.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let auth = base64_of(&format!("{}:{}", crate::registry::USER, crate::registry::PASSWORD));
    std::fs::write(docker.join("config.json"), format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, s.registry.addr))
        .unwrap();
    let out = paved_for(&s.registry, s.cache.path())
        .env_remove("PAVED_REGISTRY_USERNAME")
        .env_remove("PAVED_REGISTRY_PASSWORD")
        .env("DOCKER_CONFIG", &docker)
        .args(["verify", &tag, "--verify-key", &public])
        .output()
        .unwrap();
    let (code, out, err) = output(out);
    assert_eq!(code, 0, "{out}{err}");

    // A CA paved was not told of.
    let (code, _, err) = output(crate::paved().args(["verify", &tag, "--verify-key", &public]).output().unwrap());
    assert_eq!(code, 2);
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    // A tag that does not exist, a repository that does not exist.
    let (code, _, err) = s.run(&["pull", &s.registry.at("acme/policies:nope"), "--verify-key", &public]);
    assert_eq!(code, 2);
    assert!(err.contains("not found"), "{err}");

    // A manifest whose content layer is missing from the registry, then one whose layer changed.
    let manifest = skopeo_manifest(&s, "acme/policies:1");
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
    let file = s.registry.blob_file(&layer);
    let original = std::fs::read(&file).unwrap();
    std::fs::write(&file, b"not the layer the manifest names").unwrap();
    s.registry.restart();
    let (code, _, err) = s.run(&["pull", &pushed, "--verify-key", &public, "-o", "/nonexistent/never-written"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("refused") && err.contains(&layer), "{err}");
    std::fs::remove_file(&file).unwrap();
    s.registry.restart();
    let (code, _, err) = s.run(&["pull", &pushed, "--verify-key", &public, "-o", "/nonexistent/never-written"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&pushed), "{err}");
    assert!(s.cached().is_empty(), "{:?}", s.cached());
    std::fs::write(&file, original).unwrap();

    // An artifact of another kind where a bundle belongs: the signature image itself.
    let signature_tag = format!("acme/policies:{}.sig", pushed.rsplit('@').next().unwrap().replace(':', "-"));
    let (code, _, err) = check_json(&s, &s.registry.at(&signature_tag), &["--allow-unsigned"]);
    assert_eq!(code, 2);
    assert!(err.contains("application/vnd.oci.image.config.v1+json is not a paved bundle"), "{err}");

    // The registry down.
    s.registry.stop();
    let (code, _, err) = s.run(&["verify", &tag, "--verify-key", &public]);
    assert_eq!(code, 2);
    assert!(err.contains(&tag) && err.to_lowercase().contains("connect"), "{err}");
}

#[test]
fn offline_runs_come_from_the_cache_with_their_signatures_checked_again() {
    let mut s = Setup::new();
    let public = s.key("platform", "cosign.pub");
    let stranger = s.key("stranger", "cosign.pub");
    let tag = s.registry.at("acme/policies:1");
    s.push("acme/policies:1", "examples/bundle", Some("platform"), &[]);
    let (code, online, err) = check_json(&s, &tag, &["--verify-key", &public]);
    assert_eq!(code, 1, "{err}");
    s.registry.stop();
    let (code, offline, err) = check_json(&s, &tag, &["--verify-key", &public, "--offline"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(offline["summary"], online["summary"]);
    // The cache holds the signature too, and it is checked against the keys of this run.
    let (code, _, err) = check_json(&s, &tag, &["--verify-key", &stranger, "--offline"]);
    assert_eq!(code, 2);
    assert!(err.contains("a signature by a key not trusted"), "{err}");
    // A cached blob that changed is not served.
    for blob in s.cached() {
        let path = s.cache.path().join("oci/blobs/sha256").join(&blob);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.push(b' ');
        std::fs::write(&path, bytes).unwrap();
    }
    let (code, _, err) = check_json(&s, &tag, &["--verify-key", &public, "--offline"]);
    assert_eq!(code, 2);
    assert!(err.contains("offline, and not in the cache"), "{err}");
    // Never pulled: offline says so.
    let (code, _, err) = check_json(&s, &s.registry.at("acme/other:1"), &["--verify-key", &public, "--offline"]);
    assert_eq!(code, 2);
    assert!(err.contains("pull it once online"), "{err}");
}

#[test]
fn bundles_name_packs_and_plugins_by_reference_and_renders_are_what_flux_pulls() {
    let s = Setup::new();
    let public = s.key("platform", "cosign.pub");
    // A plugin and a pack, each pushed and signed.
    let plugin = s.push(
        "acme/plugins/registry-allowlist:1.0.0",
        "examples/plugins/bundle/registry-allowlist.wasm",
        Some("platform"),
        &[],
    );
    let work = tempfile::tempdir().unwrap();
    let pack = work.path().join("pack");
    std::fs::create_dir(&pack).unwrap();
    let examples = Path::new("../examples/plugins/bundle");
    for f in ["policies.yaml", "cost-budget.wasm", "owner-catalog.wasm"] {
        std::fs::copy(examples.join(f), pack.join(f)).unwrap();
    }
    // The pack declares its plugins: one by reference (its pin the component's sha256), two
    // as files beside it.
    let sha256 = "e8df499e5c92e87f4dc80be60d4447a6adc863f8826c58d0cbcf108a7cac6086";
    let declared = std::fs::read_to_string(examples.join("paved.yaml"))
        .unwrap()
        .replace("packs: [platform-baseline]", "packs: []")
        .replace("path: registry-allowlist.wasm", &format!("path: \"{plugin}\""));
    std::fs::write(pack.join("paved.yaml"), declared).unwrap();
    let pack_ref = s.push("acme/packs/images:1", pack.to_str().unwrap(), Some("platform"), &[]);
    // A bundle that builds on the pack by reference: the pack's tag is resolved and verified as
    // the bundle is loaded, then the plugin it names.
    let bundle = work.path().join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    let text = format!(
        "apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: {{ name: by-reference }}\nspec:\n  packs: [platform-baseline, {}]\n",
        s.registry.at("acme/packs/images:1"),
    );
    std::fs::write(bundle.join("paved.yaml"), text).unwrap();
    let run = |bundle: &str, extra: &[&str]| {
        let mut args =
            vec!["check", "--bundle", bundle, "examples/plugins/manifests", "--now", crate::NOW, "--format", "json"];
        args.extend(extra);
        let (code, out, err) = s.run(&args);
        (code, serde_json::from_str::<Value>(&out).unwrap_or(Value::Null), err)
    };
    let (code, local, err) = run("examples/plugins/bundle", &[]);
    assert_eq!(code, 1, "{err}");
    let (code, by_reference, err) = run(bundle.to_str().unwrap(), &["--verify-key", &public]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(by_reference["summary"], local["summary"]);
    assert_eq!(by_reference["resources"], local["resources"]);
    // A plugin pin that does not match what the registry holds does not load.
    let text = std::fs::read_to_string(pack.join("paved.yaml")).unwrap().replace(sha256, &"0".repeat(64));
    std::fs::write(pack.join("paved.yaml"), text).unwrap();
    s.push("acme/packs/images:1", pack.to_str().unwrap(), Some("platform"), &[]);
    let (code, _, err) = run(bundle.to_str().unwrap(), &["--verify-key", &public]);
    assert_eq!(code, 2);
    assert!(err.contains("registry-allowlist") && err.contains("sha256"), "{err}");
    // The pack is a bundle artifact, not a plugin.
    let (code, _, err) =
        s.run(&["pull", &pack_ref, "--verify-key", &public, "-o", work.path().join("p").to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    // A render, for Flux: its media types, and a tarball any tar reads.
    let rendered = work.path().join("rendered");
    std::fs::create_dir(&rendered).unwrap();
    std::fs::copy("../examples/manifests/billing.yaml", rendered.join("billing.yaml")).unwrap();
    let render_ref = s.push(
        "apps/billing:1",
        rendered.to_str().unwrap(),
        Some("platform"),
        &["--render", "-a", "org.opencontainers.image.revision=main@sha1:0123abc"],
    );
    let manifest = skopeo_manifest(&s, "apps/billing:1");
    assert_eq!(manifest["config"]["mediaType"], "application/vnd.cncf.flux.config.v1+json");
    assert_eq!(manifest["layers"][0]["mediaType"], "application/vnd.cncf.flux.content.v1.tar+gzip");
    assert_eq!(manifest["annotations"]["org.opencontainers.image.revision"], "main@sha1:0123abc");
    let layer = s.registry.blob_file(manifest["layers"][0]["digest"].as_str().unwrap());
    let listed = std::process::Command::new("tar").arg("tzf").arg(&layer).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&listed.stdout).trim(), "billing.yaml");
    let (code, out, err) =
        s.run(&["pull", &render_ref, "--verify-key", &public, "-o", work.path().join("r").to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("a render"), "{out}");
    // A render is not a bundle.
    let (code, _, err) = check_json(&s, &render_ref, &["--verify-key", &public]);
    assert_eq!(code, 2);
    assert!(err.contains("a render artifact, not a bundle"), "{err}");
}

fn skopeo_manifest(s: &Setup, repo_tag: &str) -> Value {
    let certs = tempfile::tempdir().unwrap();
    std::fs::copy(s.registry.ca(), certs.path().join("ca.crt")).unwrap();
    let out = std::process::Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--creds",
            &format!("{}:{}", crate::registry::USER, crate::registry::PASSWORD),
            "--cert-dir",
        ])
        .arg(certs.path())
        .arg(format!("docker://{}/{repo_tag}", s.registry.addr))
        .output()
        .expect("skopeo (Debian's package; scripts/test installs it)");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A policy that requires labels `keys` of Pods.
fn labels_policy(keys: &[&str]) -> String {
    let cel: Vec<String> = keys.iter().map(|k| format!("'{k}' in object.metadata.labels")).collect();
    format!(
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{ name: labels, version: 1.0.0 }}\nspec:\n  match: {{ kinds: [Pod] }}\n  rules:\n    - id: labels\n      message: pods carry {}\n      cel: \"has(object.metadata.labels) && {}\"\n",
        keys.join(", "),
        cel.join(" && ")
    )
}

#[test]
fn the_webhook_swaps_in_a_moved_tag_once_verified_and_keeps_serving_when_it_is_not() {
    let s = Setup::new();
    let public = s.key("platform", "cosign.pub");
    let work = tempfile::tempdir().unwrap();
    let write = |keys: &[&str]| std::fs::write(work.path().join("policy.yaml"), labels_policy(keys)).unwrap();
    write(&["team"]);
    s.push("acme/live:stable", work.path().to_str().unwrap(), Some("platform"), &[]);
    let tls = crate::serve::certificate_for("localhost");
    let tag = s.registry.at("acme/live:stable");
    let serve = |every: &str| {
        s.serve(tls.path(), &["--bundle", &tag, "--verify-key", &public, "--poll", "200ms", "--registry-poll", every])
    };
    let serving = serve("1s");
    let ca_pem = std::fs::read_to_string(tls.path().join("ca.crt")).unwrap();
    let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop", "labels": {"team": "a"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}});
    let review = crate::serve::review_of(1, &pod);
    let allowed = || {
        let mut client = paved_webhook::client::Client::connect(serving.addr, "localhost", &ca_pem).unwrap();
        client.review(&review).unwrap().json()["response"]["allowed"].as_bool().unwrap()
    };
    assert!(allowed(), "{}", serving.log());
    // The tag moves to a signed bundle that requires more: the webhook swaps it in.
    write(&["team", "app"]);
    s.push("acme/live:stable", work.path().to_str().unwrap(), Some("platform"), &[]);
    crate::kube::wait_for("the moved tag to be served", || !allowed());
    // A second server that asks the registry only when told (SIGHUP).
    let told = serve("1h");
    // The tag moves to an unsigned bundle (new content: the first one's digest is signed):
    // refused, and the signed one keeps serving; the second server refuses it once told.
    write(&["owner"]);
    s.push("acme/live:stable", work.path().to_str().unwrap(), None, &[]);
    crate::kube::wait_for("the unsigned bundle to be refused", || serving.log().contains("it is not signed"));
    assert!(!told.log().contains("it is not signed"), "{}", told.log());
    let hangup = std::process::Command::new("kill").args(["-HUP", &told.child.id().to_string()]).status().unwrap();
    assert!(hangup.success());
    crate::kube::wait_for("the told server to refuse it", || told.log().contains("it is not signed"));
    assert!(!allowed(), "{}", serving.log());
    let mut client = paved_webhook::client::Client::connect(serving.addr, "localhost", &ca_pem).unwrap();
    let metrics = String::from_utf8(client.send("GET", "/metrics", "text/plain", b"").unwrap().body).unwrap();
    assert!(metrics.contains(r#"paved_bundle_reloads_total{result="success"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"paved_bundle_reloads_total{result="failure"}"#), "{metrics}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A container image (an OCI image layout of one layer, made here) copied into the registry by
/// skopeo as `repo_tag`: a real image, as a build pushes one.
fn push_image(s: &Setup, repo_tag: &str, content: &str) {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("rootfs");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("hello.txt"), content).unwrap();
    let tar = work.path().join("layer.tar");
    assert!(std::process::Command::new("tar")
        .arg("cf")
        .arg(&tar)
        .arg("-C")
        .arg(&root)
        .arg("hello.txt")
        .status()
        .unwrap()
        .success());
    let layer_tar = std::fs::read(&tar).unwrap();
    assert!(std::process::Command::new("gzip").arg("-n").arg(&tar).status().unwrap().success());
    let layer = std::fs::read(work.path().join("layer.tar.gz")).unwrap();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha256_hex(&layer_tar))]},
    }))
    .unwrap();
    let descriptor = |media: &str, bytes: &[u8]| serde_json::json!({"mediaType": media, "digest": format!("sha256:{}", sha256_hex(bytes)), "size": bytes.len()});
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar+gzip", &layer)],
    }))
    .unwrap();
    let layout = work.path().join("layout");
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    for blob in [&config, &layer, &manifest] {
        std::fs::write(layout.join("blobs/sha256").join(sha256_hex(blob)), blob).unwrap();
    }
    std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let mut index = descriptor("application/vnd.oci.image.manifest.v1+json", &manifest);
    index["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "v1"});
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [index]})).unwrap(),
    )
    .unwrap();
    let certs = tempfile::tempdir().unwrap();
    std::fs::copy(s.registry.ca(), certs.path().join("ca.crt")).unwrap();
    let out = std::process::Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--dest-creds",
            &format!("{}:{}", crate::registry::USER, crate::registry::PASSWORD),
            "--dest-cert-dir",
        ])
        .arg(certs.path())
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(format!("docker://{}/{repo_tag}", s.registry.addr))
        .output()
        .expect("skopeo");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A bundle whose policy requires the registry's images signed by `key` (PEM).
fn images_policy(s: &Setup, dir: &Path, key: &str) {
    let key = key.trim_end().replace('\n', "\n            ");
    let text = format!(
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{ name: signed-images, version: 1.0.0 }}\nspec:\n  match: {{ kinds: [Pod] }}\n  rules:\n    - id: platform-key\n      message: images from the platform's registry are signed by its key\n      verifyImages:\n        images: [\"{}/*\"]\n        keys:\n          - |\n            {key}\n",
        s.registry.addr
    );
    std::fs::write(dir.join("policy.yaml"), text).unwrap();
}

/// A Deployment of `image`, as JSON (which is YAML too).
fn deployment(name: &str, image: &str) -> String {
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": image}]}}},
    })
    .to_string()
}

#[test]
fn images_are_verified_in_ci_replayed_offline_and_verified_at_admission() {
    let mut s = Setup::new();
    push_image(&s, "shop/web:1.2", "signed");
    push_image(&s, "shop/unsigned:1", "unsigned");
    let (code, out, err) = s.run(&["sign", &s.registry.at("shop/web:1.2"), "--key", &s.key("platform", "cosign.key")]);
    assert_eq!(code, 0, "{out}{err}");
    let work = tempfile::tempdir().unwrap();
    let (bundle, manifests) = (work.path().join("bundle"), work.path().join("manifests"));
    std::fs::create_dir_all(&bundle).unwrap();
    std::fs::create_dir_all(&manifests).unwrap();
    images_policy(&s, &bundle, &std::fs::read_to_string(s.key("platform", "cosign.pub")).unwrap());
    let (signed, unsigned) =
        (format!("{}/shop/web:1.2", s.registry.addr), format!("{}/shop/unsigned:1", s.registry.addr));
    std::fs::write(manifests.join("web.yaml"), deployment("web", &signed)).unwrap();
    std::fs::write(manifests.join("batch.yaml"), deployment("batch", &unsigned)).unwrap();
    let recorded = work.path().join("verdicts.json");
    let check = |s: &Setup, extra: &[&str]| {
        let mut args = vec![
            "check",
            "--bundle",
            bundle.to_str().unwrap(),
            manifests.to_str().unwrap(),
            "--now",
            crate::NOW,
            "--format",
            "json",
        ];
        args.extend(extra);
        s.run(&args)
    };

    // In CI: the signed image passes, the unsigned one fails at its image, saying why.
    let (code, online, err) = check(&s, &["--record-image-verdicts", recorded.to_str().unwrap()]);
    assert_eq!(code, 1, "{online}{err}");
    let report: Value = serde_json::from_str(&online).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{online}");
    assert_eq!(findings[0]["path"], "/spec/template/spec/containers/0/image");
    assert!(findings[0]["detail"].as_str().unwrap().contains("it is not signed"), "{online}");
    let verdicts: Value = serde_json::from_slice(&std::fs::read(&recorded).unwrap()).unwrap();
    assert_eq!(verdicts["kind"], "ImageVerdicts");
    assert_eq!(verdicts["verdicts"].as_array().unwrap().len(), 2, "{verdicts}");

    // Offline, from the recording: the same report, byte for byte, with the registry down.
    s.registry.stop();
    let (code, replayed, err) = check(&s, &["--image-verdicts", recorded.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(replayed, online);
    // `paved test` replays the recording too: a policy test of the CI decision, offline.
    let test = format!(
        "apiVersion: paved.dev/v1\nkind: PolicyTest\nmetadata: {{ name: signed-images }}\nspec:\n  bundles: [bundle]\n  cases:\n    - name: as CI judged\n      now: {}\n      resources: [{}, {}]\n      imageVerdicts: verdicts.json\n      expect:\n        - {{ resource: Deployment/shop/web, policy: signed-images, result: pass }}\n        - {{ resource: Deployment/shop/batch, policy: signed-images, result: fail }}\n",
        crate::NOW,
        deployment("web", &signed),
        deployment("batch", &unsigned)
    );
    std::fs::write(work.path().join("images.test.yaml"), test).unwrap();
    let (code, out, err) = s.run(&["test", work.path().join("images.test.yaml").to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    // With the registry down and no recording: not verified, and the policy fails closed.
    let (code, down, _) = check(&s, &[]);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&down).unwrap();
    let errors: Vec<&Value> =
        report["findings"].as_array().unwrap().iter().filter(|f| f["error"]["kind"] == "registry").collect();
    assert_eq!(errors.len(), 2, "{down}");
    assert!(errors[0]["error"]["message"].as_str().unwrap().contains("image signatures not checked"), "{down}");
    s.registry.restart();

    // At admission: the webhook verifies the same way.
    let tls = crate::serve::certificate_for("localhost");
    let serving = s.serve(tls.path(), &["--bundle", bundle.to_str().unwrap()]);
    let ca_pem = std::fs::read_to_string(tls.path().join("ca.crt")).unwrap();
    let review = |name: &str, image: &str| {
        let review = crate::serve::review_of(name.len(), &serde_json::from_str(&deployment(name, image)).unwrap());
        let mut client = paved_webhook::client::Client::connect(serving.addr, "localhost", &ca_pem).unwrap();
        client.review(&review).unwrap().json()["response"].clone()
    };
    assert_eq!(review("web", &signed)["allowed"], true, "{}", serving.log());
    let answer = review("batch", &unsigned);
    assert_eq!(answer["allowed"], false);
    assert!(answer["status"]["message"].as_str().unwrap().contains("signed-images"), "{answer}");
    // The verdict on the signed image is kept: the registry going down does not change it.
    s.registry.stop();
    assert_eq!(review("web", &signed)["allowed"], true, "{}", serving.log());
    // An image never verified, with the registry down: denied, fail closed.
    assert_eq!(review("new", &format!("{}/shop/new:1", s.registry.addr))["allowed"], false);
}

#[test]
fn keyless_trust_needs_its_trusted_root_and_an_identity() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("trusted_root.json");
    std::fs::write(&root, r#"{"certificateAuthorities": [], "tlogs": []}"#).unwrap();
    for (args, why) in [
        (vec!["--certificate-identity", "ci@acme.dev"], "needs --trusted-root"),
        (
            vec!["--trusted-root", root.to_str().unwrap(), "--certificate-identity", "ci@acme.dev"],
            "names no Fulcio certificate authority",
        ),
        (
            vec!["--trusted-root", "/nonexistent/root.json", "--certificate-identity", "ci@acme.dev"],
            "/nonexistent/root.json",
        ),
    ] {
        let mut all = vec!["check", "--bundle", "oci://127.0.0.1:1/acme/policies:1", "examples/manifests"];
        all.extend(args);
        let (code, _, err) = crate::run(&all);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(why), "{why}: {err}");
    }
}

#[test]
fn attestations_are_checked_by_their_predicates_and_verified_digests_written_back() {
    let s = Setup::new();
    push_image(&s, "shop/api:2", "attested");
    let image = s.registry.at("shop/api:2");
    let (platform, stranger) = (s.key("platform", "cosign.key"), s.key("stranger", "cosign.key"));
    let (code, out, err) = s.run(&["sign", &image, "--key", &platform]);
    assert_eq!(code, 0, "{out}{err}");
    let work = tempfile::tempdir().unwrap();
    let provenance = work.path().join("provenance.json");
    std::fs::write(
        &provenance,
        r#"{"buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1"}, "runDetails": {"builder": {"id": "https://github.com/acme/builder"}}}"#,
    )
    .unwrap();
    let sbom = work.path().join("sbom.json");
    std::fs::write(&sbom, r#"{"spdxVersion": "SPDX-2.3", "packages": []}"#).unwrap();
    let attest = |key: &str, kind: &str, predicate: &Path| {
        let (code, out, err) =
            s.run(&["attest", &image, "--key", key, "--type", kind, "--predicate", predicate.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains(&format!("attested {kind} of ")), "{out}");
    };
    attest(&platform, "https://slsa.dev/provenance/v1", &provenance);
    // The SBOM is attested by a key the policy does not trust.
    attest(&stranger, "https://spdx.dev/Document", &sbom);

    let (bundle, manifests) = (work.path().join("bundle"), work.path().join("manifests"));
    std::fs::create_dir_all(&bundle).unwrap();
    std::fs::create_dir_all(&manifests).unwrap();
    let key = std::fs::read_to_string(s.key("platform", "cosign.pub")).unwrap();
    let key = key.trim_end().replace('\n', "\n            ");
    let policy = format!(
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{ name: attested-images, version: 1.0.0 }}\nspec:\n  match: {{ kinds: [Pod] }}\n  rules:\n    - id: built-by-ci\n      message: images are built by the platform's CI, with an SBOM\n      verifyImages:\n        images: [\"{}/*\"]\n        keys:\n          - |\n            {key}\n        attestations:\n          - predicateType: https://slsa.dev/provenance/v1\n            conditions:\n              - expression: predicate.runDetails.builder.id.startsWith('https://github.com/acme/')\n                message: built by the platform's builder\n          - predicateType: https://spdx.dev/Document\n        mutateDigest: true\n",
        s.registry.addr
    );
    std::fs::write(bundle.join("policy.yaml"), policy).unwrap();
    let named = format!("{}/shop/api:2", s.registry.addr);
    std::fs::write(manifests.join("api.yaml"), deployment("api", &named)).unwrap();
    let recorded = work.path().join("verdicts.json");
    let check = |extra: &[&str]| {
        let mut args = vec!["check", "--bundle", bundle.to_str().unwrap(), manifests.to_str().unwrap()];
        args.extend(["--now", crate::NOW, "--format", "json"]);
        args.extend(extra);
        let (code, out, err) = s.run(&args);
        (code, serde_json::from_str::<Value>(&out).unwrap_or_else(|_| panic!("{out}{err}")))
    };

    // The SBOM's signer is not trusted: refused, saying which attestation and why.
    let (code, report) = check(&[]);
    assert_eq!(code, 1, "{report}");
    let detail = report["findings"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("no https://spdx.dev/Document attestation signed by a trusted signer"), "{detail}");
    assert!(detail.contains("a key not trusted"), "{detail}");

    // Attested by the platform too: verified, the provenance's predicate judged, the digest
    // written back as a patch.
    attest(&platform, "https://spdx.dev/Document", &sbom);
    let (code, report) = check(&["--record-image-verdicts", recorded.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    let patch = &report["patches"][0];
    assert_eq!(patch["operation"]["path"], "/spec/template/spec/containers/0/image", "{report}");
    let pinned = patch["operation"]["value"].as_str().unwrap();
    assert!(pinned.starts_with(&format!("{named}@sha256:")), "{pinned}");
    let verdicts: Value = serde_json::from_slice(&std::fs::read(&recorded).unwrap()).unwrap();
    let attestations = verdicts["verdicts"][0]["attestations"].as_array().unwrap();
    let kinds: Vec<&str> = attestations.iter().map(|a| a["predicateType"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"https://slsa.dev/provenance/v1") && kinds.contains(&"https://spdx.dev/Document"));
    // The provenance is kept (its conditions read it), the SBOM is not.
    for a in attestations {
        assert_eq!(a.get("predicate").is_some(), a["predicateType"] == "https://slsa.dev/provenance/v1", "{a}");
    }

    // `paved fix --write` pins the verified digest in the file.
    let (code, out, err) = s.run(&[
        "fix",
        "--bundle",
        bundle.to_str().unwrap(),
        "--write",
        manifests.join("api.yaml").to_str().unwrap(),
        "--now",
        crate::NOW,
    ]);
    assert_eq!(code, 1, "{out}{err}");
    let written = std::fs::read_to_string(manifests.join("api.yaml")).unwrap();
    assert!(written.contains(pinned), "{written}");
    // Pinned, it is judged by the verdict on the tag it was pinned from: replayed offline, it
    // passes, and nothing more is patched.
    let (code, report) = check(&["--image-verdicts", recorded.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    assert!(report["patches"].as_array().is_none_or(Vec::is_empty), "{report}");

    // At admission: the webhook's /mutate answers with the digest as a JSON patch, and its
    // /validate allows the Pod.
    let tls = crate::serve::certificate_for("localhost");
    let serving = s.serve(tls.path(), &["--bundle", bundle.to_str().unwrap()]);
    let ca_pem = std::fs::read_to_string(tls.path().join("ca.crt")).unwrap();
    let pod: Value = serde_json::from_str(&deployment("api", &named)).unwrap();
    let review = crate::serve::review_of(1, &pod);
    let mut client = paved_webhook::client::Client::connect(serving.addr, "localhost", &ca_pem).unwrap();
    let answer = client.mutate(&review).unwrap().json()["response"].clone();
    assert_eq!(answer["allowed"], true, "{answer}\n{}", serving.log());
    assert_eq!(answer["patchType"], "JSONPatch", "{answer}");
    use base64::Engine as _;
    let patch = base64::engine::general_purpose::STANDARD.decode(answer["patch"].as_str().unwrap()).unwrap();
    let patch: Value = serde_json::from_slice(&patch).unwrap();
    assert_eq!(patch[0]["value"], pinned, "{patch}");
    assert_eq!(client.review(&review).unwrap().json()["response"]["allowed"], true, "{}", serving.log());
    drop(serving);

    // A predicate that fails its condition: refused by the condition's message.
    std::fs::write(&provenance, r#"{"runDetails": {"builder": {"id": "https://evil.example/builder"}}}"#).unwrap();
    push_image(&s, "shop/api:3", "attested by another builder");
    let other = s.registry.at("shop/api:3");
    let (code, out, err) = s.run(&["sign", &other, "--key", &platform]);
    assert_eq!(code, 0, "{out}{err}");
    for (kind, predicate) in [("https://slsa.dev/provenance/v1", &provenance), ("https://spdx.dev/Document", &sbom)] {
        let (code, out, err) =
            s.run(&["attest", &other, "--key", &platform, "--type", kind, "--predicate", predicate.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}{err}");
    }
    std::fs::write(manifests.join("api.yaml"), deployment("api", &format!("{}/shop/api:3", s.registry.addr))).unwrap();
    let (code, report) = check(&[]);
    assert_eq!(code, 1, "{report}");
    let detail = report["findings"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("provenance/v1 attestation fails: built by the platform's builder"), "{detail}");
}

#[test]
fn a_bundle_says_who_must_have_signed_the_packs_it_names() {
    let s = Setup::new();
    let work = tempfile::tempdir().unwrap();
    // A pack the platform's security team signs with its own key.
    let pack = work.path().join("pack");
    std::fs::create_dir(&pack).unwrap();
    std::fs::write(
        pack.join("policy.yaml"),
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: { name: owner-label, version: 1.0.0 }\nspec:\n  match: { kinds: [Deployment] }\n  rules:\n    - { id: owner, message: every Deployment names its owner, cel: \"has(object.metadata.labels) && 'owner' in object.metadata.labels\" }\n",
    )
    .unwrap();
    s.push("acme/packs/security:1", pack.to_str().unwrap(), Some("stranger"), &[]);
    let bundle = |trust: &str| {
        let dir = tempfile::tempdir_in(work.path()).unwrap();
        let text = format!(
            "apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: {{ name: by-reference }}\nspec:\n  packs: [{}]\n{trust}",
            s.registry.at("acme/packs/security:1"),
        );
        std::fs::write(dir.path().join("paved.yaml"), text).unwrap();
        dir
    };
    let trusting = |who: &str| {
        let key = std::fs::read_to_string(s.key(who, "cosign.pub")).unwrap();
        format!("  trust:\n    keys:\n      - |\n        {}\n", key.trim_end().replace('\n', "\n        "))
    };
    let check = |dir: &Path| {
        let platform = s.key("platform", "cosign.pub");
        s.run(&["check", "--bundle", dir.to_str().unwrap(), "examples/manifests", "--verify-key", &platform])
    };
    // The flags trust the platform's key only: the pack is refused...
    let (code, out, err) = check(bundle("").path());
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("refused") && err.contains("a key not trusted"), "{err}");
    // ...unless the bundle says its packs are the security team's.
    let (code, out, err) = check(bundle(&trusting("stranger")).path());
    assert!(code < 2, "{out}{err}");
    // A pack the security team pushes that names the first by reference, without a trust of its
    // own: the first is verified against the trust that vouched for this one, not the flags'.
    let outer = work.path().join("outer");
    std::fs::create_dir(&outer).unwrap();
    let naming = format!(
        "apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: {{ name: outer }}\nspec:\n  packs: [{}]\n",
        s.registry.at("acme/packs/security:1"),
    );
    std::fs::write(outer.join("paved.yaml"), naming).unwrap();
    s.push("acme/packs/outer:1", outer.to_str().unwrap(), Some("stranger"), &[]);
    let nested = tempfile::tempdir_in(work.path()).unwrap();
    let text = format!(
        "apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: {{ name: nested }}\nspec:\n  packs: [{}]\n{}",
        s.registry.at("acme/packs/outer:1"),
        trusting("stranger"),
    );
    std::fs::write(nested.path().join("paved.yaml"), text).unwrap();
    let (code, out, err) = check(nested.path());
    assert!(code < 2, "{out}{err}");
    // A bundle trusting another key refuses it, whatever the flags trust.
    let (code, _, err) = check(bundle(&trusting("platform")).path());
    assert_eq!(code, 2);
    assert!(err.contains("a key not trusted"), "{err}");
    // Keyless signers in a bundle need a trusted root.
    let keyless = "  trust:\n    identities:\n      - { issuer: https://token.actions.githubusercontent.com, subject: https://github.com/acme/policies/.github/workflows/release.yaml@refs/heads/main }\n";
    let (code, _, err) = check(bundle(keyless).path());
    assert_eq!(code, 2);
    assert!(err.contains("spec.trust") && err.contains("--trusted-root"), "{err}");
    // A malformed trust is a load error where it is written.
    let (code, _, err) = check(bundle("  trust: { keys: [not a key] }\n").path());
    assert_eq!(code, 2);
    assert!(err.contains("/spec/trust/keys/0") && err.contains("not a PEM public key"), "{err}");
}
