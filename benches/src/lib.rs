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
