//! Fixtures shared by paved's benchmarks.

/// A bundle of 23 rules (assert and CEL, most forEach over containers).
pub const BUNDLE: &str = include_str!("../data/bundle.yaml");

/// A realistic production Deployment: an init container and three containers, about 3 KB.
pub const DEPLOYMENT: &str = include_str!("../data/deployment.yaml");

/// The restricted Pod Security checks in Rego, in the style of the Gatekeeper library's
/// pod-security-policy templates, for the regorus comparison.
pub const POD_SECURITY_REGO: &str = include_str!("../data/pod_security.rego");

/// An Ingress serving `hosts` hosts, every one of them listed in its TLS section, as YAML.
pub fn ingress(hosts: usize) -> String {
    let mut text = String::from(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: shop, namespace: web}\nspec:\n  tls:\n    - secretName: shop-tls\n      hosts:\n",
    );
    for i in 0..hosts {
        text.push_str(&format!("        - h{i}.shop.acme.dev\n"));
    }
    text.push_str("  rules:\n");
    for i in 0..hosts {
        text.push_str(&format!(
            "    - host: h{i}.shop.acme.dev\n      http: {{paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: shop, port: {{number: 80}}}}}}}}]}}\n"
        ));
    }
    text
}

/// A Pod of `containers` containers, each as the restricted profile wants it, with a port, an
/// environment variable and resources, as YAML.
pub fn pod(containers: usize) -> String {
    let mut text = String::from(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: big, namespace: shop, labels: {app: big}}\nspec:\n  containers:\n",
    );
    for i in 0..containers {
        text.push_str(&format!(
            "    - name: c{i}\n      image: registry.acme.dev/shop/c{i}:1.0.{i}\n      ports: [{{containerPort: {port}}}]\n      env: [{{name: N{i}, value: v{i}}}]\n      resources: {{limits: {{cpu: 100m, memory: 64Mi}}, requests: {{cpu: 50m, memory: 32Mi}}}}\n      securityContext: {{allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: {{drop: [ALL]}}, seccompProfile: {{type: RuntimeDefault}}}}\n",
            port = 1024 + i % 60_000
        ));
    }
    text
}

/// A ConfigMap of `keys` keys, as YAML.
pub fn config_map(keys: usize) -> String {
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: shop}\ndata:\n");
    for i in 0..keys {
        text.push_str(&format!("  key{i}: value {i}\n"));
    }
    text
}

/// A ConfigMap of `keys` keys, as one line of JSON (as `kubectl get -o json | jq -c` writes it).
pub fn config_map_json(keys: usize) -> String {
    let data: Vec<String> = (0..keys).map(|i| format!("\"key{i}\": \"value {i}\"")).collect();
    format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {{\"name\": \"big\", \"namespace\": \"shop\"}}, \"data\": {{{}}}}}\n",
        data.join(", ")
    )
}

/// A Deployment whose one container has `items` environment variables, as YAML.
pub fn env_list(items: usize) -> String {
    let mut text = String::from(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: big, namespace: shop}\nspec:\n  selector: {matchLabels: {app: big}}\n  template:\n    metadata: {labels: {app: big}}\n    spec:\n      containers:\n        - name: app\n          image: registry.acme.dev/shop/app:1.0.0\n          env:\n",
    );
    for i in 0..items {
        text.push_str(&format!("            - {{name: VAR_{i}, value: \"{i}\"}}\n"));
    }
    text
}

/// A Service of `ports` ports, as YAML.
pub fn service(ports: usize) -> String {
    let mut text = String::from(
        "apiVersion: v1\nkind: Service\nmetadata: {name: big, namespace: shop}\nspec:\n  selector: {app: big}\n  ports:\n",
    );
    for i in 0..ports {
        text.push_str(&format!("    - {{name: p{i}, port: {port}, targetPort: {port}}}\n", port = 1 + i % 65_000));
    }
    text
}

/// The Gatekeeper module whose webhook tests carry five of the Gatekeeper library's
/// pod-security-policy templates with their constraints (`pkg/webhook/testdata/psp-all-violations`).
pub const GATEKEEPER: &str = "github.com/open-policy-agent/gatekeeper/v3@v3.23.1";

/// The directory of [`GATEKEEPER`], downloaded once through the Go module proxy into
/// `target/go/mod` (the Go toolchain is the test infrastructure's; nothing of it is built), or
/// why it could not be.
pub fn gatekeeper() -> Result<std::path::PathBuf, String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = std::process::Command::new("go")
        .args(["mod", "download", "-json", GATEKEEPER])
        .env("GOMODCACHE", root.join("target/go/mod"))
        .env("GOFLAGS", "-modcacherw")
        .current_dir(std::env::temp_dir())
        .output()
        .map_err(|e| format!("this bench needs the Go toolchain to download {GATEKEEPER}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("`go mod download {GATEKEEPER}` failed: {text}"));
    }
    let module: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let dir = module.get("Dir").and_then(serde_json::Value::as_str);
    dir.map(Into::into).ok_or_else(|| format!("`go mod download` named no directory: {text}"))
}
