//! A real OCI registry on loopback: the CNCF distribution registry (Debian's `docker-registry`),
//! with TLS (a CA of the test's own) and basic auth, its storage in a directory of the test's.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user and password the registry takes (the htpasswd line below is its bcrypt hash).
pub(crate) const USER: &str = "paved";
pub(crate) const PASSWORD: &str = "paved-test-password";
const HTPASSWD: &str = "paved:$2b$05$tRoAT.K9BelqRqoRZGtrT.yYiK.rH.lHe5VFsNCmzvxIJzpIgPl2u\n";

pub(crate) struct Registry {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

impl Registry {
    /// A registry on a free loopback port, serving once it answers.
    pub(crate) fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let generated = paved_webhook::generate(&["127.0.0.1".to_owned()]).unwrap();
        std::fs::write(dir.path().join("ca.crt"), &generated.ca).unwrap();
        std::fs::write(dir.path().join("tls.crt"), format!("{}{}", generated.cert, generated.ca)).unwrap();
        std::fs::write(dir.path().join("tls.key"), &generated.key).unwrap();
        std::fs::write(dir.path().join("htpasswd"), HTPASSWD).unwrap();
        let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let d = dir.path().display();
        let config = format!(
            "version: 0.1\nlog: {{level: error}}\nstorage:\n  filesystem: {{rootdirectory: {d}/data}}\n  delete: {{enabled: true}}\n\
             http:\n  addr: {addr}\n  secret: paved-tests\n  tls: {{certificate: {d}/tls.crt, key: {d}/tls.key}}\n\
             auth:\n  htpasswd: {{realm: paved, path: {d}/htpasswd}}\n"
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let mut registry = Registry { child: None, addr, dir };
        registry.run();
        registry
    }

    fn run(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .args(["serve", &self.dir.path().join("config.yml").display().to_string()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("docker-registry (Debian's package docker-registry; scripts/test installs it)");
        self.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(self.addr).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "the registry did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the registry (its storage stays), as a registry that went down.
    pub(crate) fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port and storage.
    pub(crate) fn restart(&mut self) {
        self.stop();
        self.run();
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    pub(crate) fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// `oci://127.0.0.1:PORT/path`.
    pub(crate) fn at(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.addr)
    }

    /// The file the registry keeps the blob `digest` in.
    pub(crate) fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir.path().join(format!("data/docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `paved` with the registry's CA and credentials, and a cache of the test's own.
pub(crate) fn paved_for(registry: &Registry, cache: &Path) -> assert_cmd::Command {
    let mut c = crate::paved();
    c.env("PAVED_CACHE_DIR", cache)
        .env("PAVED_REGISTRY_USERNAME", USER)
        .env("PAVED_REGISTRY_PASSWORD", PASSWORD)
        .env("PAVED_KEY_PASSWORD", "test-key-password")
        .env("DOCKER_CONFIG", cache.join("no-docker-config"))
        .arg("--registry-ca")
        .arg(registry.ca());
    c
}
