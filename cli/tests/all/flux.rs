//! The Flux path of `examples/gitops`: CI (`ci/deliver`) renders and checks every app with
//! `paved generate` and pushes each as the OCI artifact Flux's `OCIRepository` pulls, to a real
//! registry; the artifact is read back with another client (skopeo) and a plain `tar`, and is
//! what `paved generate` prints; the cluster's Flux objects name what CI pushed. A denial fails
//! CI before anything is pushed.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::argocd::copy_dir;
use crate::deploy::json_of;
use crate::registry::{paved_for, Registry, PASSWORD, USER};

const GITOPS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/gitops");

/// `ci/deliver` of a copy of the example repository, as a CI job runs it.
fn deliver(registry: &Registry, repo: &Path, cache: &Path, key: &Path) -> (bool, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_paved")).parent().unwrap();
    let out = Command::new("bash")
        .arg(repo.join("ci/deliver"))
        .args([&registry.at("apps"), "main", "0123abc"])
        .arg("--sign-key")
        .arg(key)
        .arg("--registry-ca")
        .arg(registry.ca())
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("PAVED_CACHE_DIR", cache)
        .env("PAVED_REGISTRY_USERNAME", USER)
        .env("PAVED_REGISTRY_PASSWORD", PASSWORD)
        .env("PAVED_KEY_PASSWORD", "test-key-password")
        .env("DOCKER_CONFIG", cache.join("no-docker-config"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// A key pair to sign with (`cosign.key`, `cosign.pub` in `dir`).
fn keygen(registry: &Registry, cache: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let out = paved_for(registry, cache).args(["keygen", "--dir", dir.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The manifest of `repo_tag` as skopeo reads it, or None when the registry has none.
fn skopeo_manifest(registry: &Registry, repo_tag: &str) -> Option<Value> {
    let certs = tempfile::tempdir().unwrap();
    std::fs::copy(registry.ca(), certs.path().join("ca.crt")).unwrap();
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--creds", &format!("{USER}:{PASSWORD}"), "--cert-dir"])
        .arg(certs.path())
        .arg(format!("docker://{}/{repo_tag}", registry.addr))
        .output()
        .expect("skopeo (Debian's package; scripts/test installs it)");
    out.status.success().then(|| serde_json::from_slice(&out.stdout).unwrap())
}

/// A registry, a cache, a signing key and a copy of the example repository.
struct Ci {
    registry: Registry,
    cache: tempfile::TempDir,
    work: tempfile::TempDir,
}

impl Ci {
    fn new() -> Ci {
        let ci =
            Ci { registry: Registry::start(), cache: tempfile::tempdir().unwrap(), work: tempfile::tempdir().unwrap() };
        keygen(&ci.registry, ci.cache.path(), &ci.keys());
        copy_dir(Path::new(GITOPS), &ci.repo());
        ci
    }

    fn keys(&self) -> std::path::PathBuf {
        self.work.path().join("keys")
    }

    fn repo(&self) -> std::path::PathBuf {
        self.work.path().join("repo")
    }

    fn deliver(&self) -> (bool, String) {
        deliver(&self.registry, &self.repo(), self.cache.path(), &self.keys().join("cosign.key"))
    }
}

#[test]
fn ci_pushes_checked_renders_that_the_clusters_flux_objects_pull() {
    let ci = Ci::new();
    let (registry, repo, work, cache, keys) = (&ci.registry, ci.repo(), &ci.work, &ci.cache, ci.keys());
    let (ok, log) = ci.deliver();
    assert!(ok, "{log}");
    for (app, golden_path) in [("checkout", Some("web-service@^2")), ("status-page", None)] {
        let manifest = skopeo_manifest(registry, &format!("apps/{app}:main")).unwrap();
        assert_eq!(manifest["config"]["mediaType"], "application/vnd.cncf.flux.config.v1+json");
        assert_eq!(manifest["layers"][0]["mediaType"], "application/vnd.cncf.flux.content.v1.tar+gzip");
        assert_eq!(manifest["annotations"]["org.opencontainers.image.revision"], "main@sha1:0123abc");
        // The layer is a tarball of what `paved generate` prints for the app.
        let layer = registry.blob_file(manifest["layers"][0]["digest"].as_str().unwrap());
        let unpacked = work.path().join(format!("unpacked-{app}"));
        std::fs::create_dir(&unpacked).unwrap();
        assert!(Command::new("tar").arg("xzf").arg(&layer).arg("-C").arg(&unpacked).status().unwrap().success());
        let mut generate = crate::paved();
        generate.arg("generate").arg(repo.join("apps").join(app));
        if let Some(g) = golden_path {
            generate.args(["--golden-path", g]);
        }
        let expected = generate.output().unwrap();
        assert!(expected.status.success());
        assert_eq!(std::fs::read(unpacked.join("manifests.yaml")).unwrap(), expected.stdout, "{app}");
        // The cluster's Flux objects pull this artifact and apply it whole.
        let text = std::fs::read_to_string(repo.join(format!("flux/clusters/production/{app}.yaml"))).unwrap();
        let docs: Vec<Value> = yaml_rust2::YamlLoader::load_from_str(&text).unwrap().iter().map(json_of).collect();
        let source = docs.iter().find(|d| d["kind"] == "OCIRepository").unwrap();
        assert_eq!(source["spec"]["url"], format!("oci://registry.acme.dev/apps/{app}"));
        assert_eq!(source["spec"]["ref"]["tag"], "main");
        assert_eq!(source["spec"]["verify"]["provider"], "cosign");
        let kustomization = docs.iter().find(|d| d["kind"] == "Kustomization").unwrap();
        assert_eq!(kustomization["spec"]["sourceRef"]["name"], source["metadata"]["name"]);
        assert_eq!(kustomization["spec"]["path"], "./");
        assert_eq!(kustomization["spec"]["prune"], true);
    }
    // The signature is the platform's.
    let (code, out) = {
        let o = paved_for(registry, cache.path())
            .args([
                "verify",
                &registry.at("apps/checkout:main"),
                "--verify-key",
                keys.join("cosign.pub").to_str().unwrap(),
            ])
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
    };
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn a_denied_app_fails_ci_and_nothing_is_pushed() {
    let ci = Ci::new();
    let manifest = ci.repo().join("apps/status-page/deployment.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("allowPrivilegeEscalation: false", "privileged: true")).unwrap();
    let (ok, log) = ci.deliver();
    assert!(!ok);
    assert!(log.contains("paved denies") && log.contains("privileged"), "{log}");
    assert!(skopeo_manifest(&ci.registry, "apps/checkout:main").is_none(), "nothing is pushed, not even the clean app");
}
