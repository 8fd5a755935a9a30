//! Kyverno's CEL libraries in Kyverno's policies: the deterministic ones run (image references,
//! `resource` lookups answered from the inventory, JSON and YAML, hashes, service accounts),
//! the ones that reach the network, the clock or randomness are refused when the policy loads.
//! Kyverno's PolicyExceptions are paved exceptions: owned, justified, expiring.

use paved::{Bundle, Context, Engine, Inventory, Resource};
use serde_json::json;

/// A ValidatingPolicy on Pods with one validation.
fn policy(expression: &str) -> String {
    format!(
        r#"apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: lib
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
      - {{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}}
  validations:
    - expression: {}
"#,
        serde_json::to_string(expression).unwrap()
    )
}

fn pod(image: &str) -> Resource {
    Resource::new(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p", "namespace": "shop", "labels": {"team": "a"}},
        "spec": {"serviceAccountName": "web", "containers": [{"name": "c", "image": image}]},
    }))
}

fn ctx() -> Context {
    let config = |ns: &str, name: &str, team: &str| {
        Resource::new(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "labels": {"team": team}},
            "data": {"registry": "ghcr.io"},
        }))
    };
    let inventory =
        Inventory::new(&[config("shop", "allowed", "a"), config("shop", "other", "b"), config("play", "x", "a")]);
    Context::parse_at("2026-06-01").unwrap().inventory(inventory.complete_all())
}

/// Whether the policy holding `expression` allows a Pod of `image`; `Err` with the messages of
/// findings that are not plain denials (errors).
fn allows(expression: &str, image: &str) -> bool {
    let engine = Engine::builder().bundle(Bundle::from_str("vpol.yaml", &policy(expression)).unwrap()).build().unwrap();
    let report = engine.evaluate(&[pod(image)], &ctx());
    for f in &report.findings {
        assert!(f.message.starts_with("failed expression"), "{expression}: {}", f.message);
    }
    report.findings.is_empty()
}

#[test]
fn image_references_read_as_kyverno_reads_them() {
    let digest = format!("sha256:{}", "a".repeat(64));
    for (expression, image, want) in [
        ("image(object.spec.containers[0].image).registry() == 'index.docker.io'", "nginx", true),
        ("parseImageReference(object.spec.containers[0].image).repository() == 'library/nginx'", "nginx:1.27", true),
        ("parseImageReference(object.spec.containers[0].image).tag() == 'latest'", "nginx", true),
        ("parseImageReference(object.spec.containers[0].image).identifier() == '1.27'", "nginx:1.27", true),
        ("parseImageReference(object.spec.containers[0].image).containsDigest()", "ghcr.io/org/app:v1", false),
        (
            "object.spec.containers.all(c, isImage(c.image) && image(c.image).registry() == 'ghcr.io')",
            "ghcr.io/org/app:v1",
            true,
        ),
        ("object.spec.containers.all(c, isImage(c.image))", "Not An Image", false),
    ] {
        assert_eq!(allows(expression, image), want, "{expression} on {image}");
    }
    let pinned = format!("ghcr.io/org/app@{digest}");
    assert!(allows(&format!("image(object.spec.containers[0].image).digest() == '{digest}'"), &pinned));
    assert!(allows("image(object.spec.containers[0].image).containsDigest()", &pinned));
}

#[test]
fn resource_lookups_read_the_inventory() {
    let get = "resource.Get('v1', 'configmaps', object.metadata.namespace, 'allowed').data.registry == image(object.spec.containers[0].image).registry()";
    assert!(allows(get, "ghcr.io/org/app:v1"));
    assert!(!allows(get, "quay.io/org/app:v1"));
    assert!(allows("resource.Get('v1', 'configmaps', 'shop', 'missing') == null", "nginx"));
    assert!(allows("size(resource.List('v1', 'configmaps', 'shop').items) == 2", "nginx"));
    assert!(allows("size(resource.List('v1', 'configmaps', '').items) == 3", "nginx"));
    assert!(allows(
        "resource.List('v1', 'configmaps', '', {'team': 'a'}).items.all(c, c.metadata.labels.team == 'a')",
        "nginx"
    ));
    assert!(allows(
        "resource.List('v1', 'configmaps', 'shop', {'team': 'b'}).items.map(c, c.metadata.name) == ['other']",
        "nginx"
    ));
    assert!(allows("resource.List('v1', 'configmaps', 'shop').kind == 'ConfigMapList'", "nginx"));
}

#[test]
fn json_yaml_hashes_and_service_accounts() {
    for expression in [
        "json.unmarshal('{\"a\": [1, 2]}').a[1] == 2",
        "json.marshal({'b': dyn(1), 'a': dyn('x')}) == '{\"a\":\"x\",\"b\":1}'",
        "yaml.parse('a:\\n  b: yes').a.b == true",
        "sha256('abc') == 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'",
        "hash.md5('abc') == '900150983cd24fb0d6963f7d28e17f72' && hash.sha1('abc') == 'a9993e364706816aba3e25717850c26c9cd0d89d'",
        "parseServiceAccount('system:serviceaccount:shop:web').Namespace == 'shop'",
        "user.parseServiceAccount('alice').Name == ''",
        "math.round(3.14159, 2) == 3.14",
        // Kyverno keeps cel-go's older `orValue`: on a value that is not optional, the value.
        "object.spec.containers.orValue([]).size() == 1",
    ] {
        assert!(allows(expression, "nginx"), "{expression}");
    }
}

#[test]
fn what_reaches_the_network_the_clock_or_chance_does_not_load() {
    for (expression, why) in [
        ("http.Get('https://example.com').ok", "reaches the network"),
        ("image.GetMetadata(object.spec.containers[0].image).config != null", "reaches the network"),
        ("globalContext.Get('cache', '') != null", "reaches the network"),
        ("random() != ''", "random"),
        ("time.now() > timestamp('2026-01-01T00:00:00Z')", "reads the clock"),
        ("x509.decode('') != null", "does not implement it yet"),
    ] {
        let e = Bundle::from_str("vpol.yaml", &policy(expression)).unwrap_err().to_string();
        assert!(e.contains("vpol.yaml:11:") && e.contains("cannot be used") && e.contains(why), "{expression}: {e}");
    }
    // Kyverno's libraries are Kyverno's: a ValidatingAdmissionPolicy cannot call them, nor read
    // paved's inventory.
    for expression in ["isImage('nginx')", "inventory.list('v1', 'ConfigMap').size() == 0"] {
        let vap = policy(expression)
            .replace("policies.kyverno.io/v1", "admissionregistration.k8s.io/v1")
            .replace("kind: ValidatingPolicy", "kind: ValidatingAdmissionPolicy")
            .replace("  validationActions: [Deny]\n", "");
        assert!(Bundle::from_str("vap.yaml", &vap).is_err(), "{expression}");
    }
}

const EXCEPTION: &str = r#"
---
apiVersion: policies.kyverno.io/v1
kind: PolicyException
metadata:
  name: legacy-registry
  namespace: shop
  annotations:
    paved.dev/owner: team-shop
    paved.dev/reason: the legacy image moves to ghcr.io in Q3
    paved.dev/expires: "2026-08-01"
spec:
  policyRefs:
    - {name: lib, kind: ValidatingPolicy}
  matchConditions:
    - name: the-legacy-pod
      expression: "object.metadata.name == 'p'"
"#;

const GHCR_ONLY: &str =
    "object.spec.containers.all(c, c.image in exceptions.allowedImages || image(c.image).registry() == 'ghcr.io')";

fn report(bundle: &str, image: &str, now: &str) -> paved::Report {
    let engine = Engine::builder().bundle(Bundle::from_str("vpol.yaml", bundle).unwrap()).build().unwrap();
    engine.evaluate(&[pod(image)], &Context::parse_at(now).unwrap())
}

#[test]
fn a_kyverno_exception_waives_where_its_conditions_hold_until_it_expires() {
    let bundle = policy(GHCR_ONLY) + EXCEPTION;
    let r = report(&bundle, "quay.io/legacy:1", "2026-06-01");
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].waived_by.as_deref(), Some("legacy-registry"));
    assert_eq!(r.decision.as_str(), "allow");
    assert_eq!((r.exceptions[0].owner.as_str(), r.exceptions[0].waived), ("team-shop", 1));
    // Where its conditions do not hold, it waives nothing.
    let other = bundle.replace("object.metadata.name == 'p'", "object.metadata.name == 'q'");
    let r = report(&other, "quay.io/legacy:1", "2026-06-01");
    assert_eq!((r.findings[0].waived_by.as_deref(), r.decision.as_str()), (None, "deny"));
    // Once it expires, nor there.
    let r = report(&bundle, "quay.io/legacy:1", "2026-08-02");
    assert_eq!((r.findings[0].waived_by.as_deref(), r.decision.as_str()), (None, "deny"));
}

#[test]
fn a_kyverno_exception_with_images_allows_them_to_the_policy() {
    let bundle = policy(GHCR_ONLY) + &EXCEPTION.replace("spec:\n", "spec:\n  images: [quay.io/legacy:1]\n");
    assert!(report(&bundle, "quay.io/legacy:1", "2026-06-01").findings.is_empty());
    let r = report(&bundle, "quay.io/legacy:2", "2026-06-01");
    assert_eq!((r.findings.len(), r.findings[0].waived_by.as_deref()), (1, None));
}

#[test]
fn a_kyverno_exception_without_an_owner_a_reason_or_an_expiry_is_refused() {
    let bare = EXCEPTION
        .replace("    paved.dev/owner: team-shop\n", "")
        .replace("    paved.dev/expires: \"2026-08-01\"\n", "");
    let e = Bundle::from_str("vpol.yaml", &(policy("true") + &bare)).unwrap_err().to_string();
    assert!(
        e.contains("needs the annotation `paved.dev/owner`") && e.contains("needs the annotation `paved.dev/expires`"),
        "{e}"
    );
    assert!(e.contains("vpol.yaml:20:") && e.contains("paved.dev/reason"), "{e}");
    let wrong = EXCEPTION.replace("kind: ValidatingPolicy}", "kind: ValidatingPolicies}");
    let e = Bundle::from_str("vpol.yaml", &(policy("true") + &wrong)).unwrap_err().to_string();
    assert!(e.contains("vpol.yaml:25:") && e.contains("did you mean `ValidatingPolicy`"), "{e}");
    let date = EXCEPTION.replace("\"2026-08-01\"", "next-year");
    let e = Bundle::from_str("vpol.yaml", &(policy("true") + &date)).unwrap_err().to_string();
    assert!(e.contains("vpol.yaml:22:") && e.contains("`next-year` is not"), "{e}");
}

#[test]
fn a_kyverno_exceptions_conditions_read_the_request_though_the_policy_does_not() {
    let bundle = policy(GHCR_ONLY)
        + &EXCEPTION.replace("object.metadata.name == 'p'", "request.userInfo.username == 'break-glass'");
    let engine = Engine::builder().bundle(Bundle::from_str("vpol.yaml", &bundle).unwrap()).build().unwrap();
    let as_user = |name: &str| Context::parse_at("2026-06-01").unwrap().user_info(json!({"username": name}));
    let r = engine.evaluate(&[pod("quay.io/legacy:1")], &as_user("break-glass"));
    assert_eq!(r.findings[0].waived_by.as_deref(), Some("legacy-registry"));
    let r = engine.evaluate(&[pod("quay.io/legacy:1")], &as_user("alice"));
    assert_eq!((r.findings[0].waived_by.as_deref(), r.decision.as_str()), (None, "deny"));
}

#[test]
fn a_kyverno_exception_of_a_paved_exceptions_name_is_an_error() {
    let paved = r#"
---
apiVersion: paved.dev/v1
kind: PolicyException
metadata: {name: legacy-registry}
spec:
  policies: [{name: lib}]
  owner: team-shop
  reason: the same name twice
  expires: "2026-08-01"
"#;
    let e = Bundle::from_str("vpol.yaml", &(policy("true") + EXCEPTION + paved)).unwrap_err().to_string();
    assert!(e.contains("there is already an exception named `legacy-registry`"), "{e}");
}
