//! `verifyImages`: the engine judges verdicts on images (the registry is asked outside it), fails
//! closed on an image it has none for, and asks for exactly the images its rules cover.

use paved::{Bundle, Context, Decision, Engine, ErrorKind, ImageOutcome, ImageVerdict, ImageVerdicts, Resource};
use serde_json::json;

const KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENptdY/l3nB0yqkXLBWkZWQwo6+cu\nOSWS1X9vPavpiQOoTTGC0xX57OojUadxF1cdQmrsiReWg2Wn4FneJfa8xw==\n-----END PUBLIC KEY-----\n";

fn policy(failure: &str) -> String {
    let key = KEY.trim_end().replace('\n', "\n            ");
    format!(
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{ name: signed-images, version: 1.0.0 }}\nspec:\n  failurePolicy: {failure}\n  match: {{ kinds: [Pod] }}\n  rules:\n    - id: platform-key\n      message: images from the platform's registry are signed by its key\n      verifyImages:\n        images: [\"registry.acme.dev/*\"]\n        keys:\n          - |\n            {key}\n"
    )
}

fn engine(failure: &str) -> Engine {
    Engine::builder().bundle(Bundle::from_str("images.yaml", &policy(failure)).unwrap()).build().unwrap()
}

fn deployment() -> Resource {
    Resource::new(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"template": {"spec": {
            "initContainers": [{"name": "init", "image": "nginx:1.27"}],
            "containers": [{"name": "web", "image": "registry.acme.dev/shop/web:1.2"}]}}}
    }))
}

fn at(verdicts: ImageVerdicts) -> Context {
    Context::parse_at("2026-12-01").unwrap().images(verdicts)
}

#[test]
fn the_engine_asks_for_the_images_its_rules_cover_and_judges_their_verdicts() {
    let engine = engine("Fail");
    let requests = engine.image_requests(&[deployment()]);
    assert_eq!(requests.len(), 1, "{requests:?}");
    let request = &requests[0];
    assert_eq!(request.image, "registry.acme.dev/shop/web:1.2");
    assert_eq!(request.keys, [KEY]);

    // No verdict: not verified, and the policy fails closed.
    let report = engine.evaluate(&[deployment()], &at(ImageVerdicts::default()));
    assert_eq!(report.decision, Decision::Deny);
    let error = report.findings[0].error.as_ref().unwrap();
    assert_eq!(error.kind, ErrorKind::Registry);
    assert!(error.message.contains("no verdict"), "{error:?}");

    // Verified: nothing to say.
    let verified = ImageVerdict::new(request, ImageOutcome::Verified).digest(format!("sha256:{}", "a".repeat(64)));
    let report = engine.evaluate(&[deployment()], &at([verified].into_iter().collect()));
    assert_eq!(report.decision, Decision::Allow, "{:?}", report.findings);

    // Refused: a finding at the image, with why.
    let refused = ImageVerdict::new(request, ImageOutcome::Refused).reason("it is not signed");
    let report = engine.evaluate(&[deployment()], &at([refused].into_iter().collect()));
    assert_eq!(report.decision, Decision::Deny);
    let finding = &report.findings[0];
    assert_eq!(finding.path, "/spec/template/spec/containers/0/image");
    assert!(finding.detail.as_deref().unwrap().contains("it is not signed"), "{finding:?}");
}

#[test]
fn an_unreachable_registry_fails_closed_unless_the_policy_says_ignore() {
    let unreachable = |engine: &Engine| {
        let request = &engine.image_requests(&[deployment()])[0];
        ImageVerdict::new(request, ImageOutcome::Unreachable).reason("connection refused")
    };
    let closed = engine("Fail");
    let report = closed.evaluate(&[deployment()], &at([unreachable(&closed)].into_iter().collect()));
    assert_eq!(report.decision, Decision::Deny);
    assert!(report.findings[0].error.as_ref().unwrap().message.contains("connection refused"));
    let open = engine("Ignore");
    let report = open.evaluate(&[deployment()], &at([unreachable(&open)].into_iter().collect()));
    assert_ne!(report.decision, Decision::Deny, "{:?}", report.findings);
}

#[test]
fn verdicts_travel_as_json_in_the_context() {
    let engine = engine("Fail");
    let request = &engine.image_requests(&[deployment()])[0];
    let verdict = ImageVerdict::new(request, ImageOutcome::Verified).signers(vec!["cosign.pub".into()]);
    let answer = engine
        .evaluate_json(&json!({
            "resources": [deployment().value()],
            "context": {"now": "2026-12-01", "images": [verdict]},
        }))
        .unwrap();
    assert_eq!(answer["decision"], "allow", "{answer}");
}

#[test]
fn a_verify_images_rule_without_keys_or_with_a_broken_key_does_not_load() {
    let e = Bundle::from_str("images.yaml", &policy("Fail").replace("-----BEGIN PUBLIC KEY-----", "BEGIN"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("images.yaml") && e.contains("not a PEM public key"), "{e}");
    let text = "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: { name: p, version: 1.0.0 }\nspec:\n  rules:\n    - { id: r, message: m, verifyImages: { keys: [] } }\n";
    let e = Bundle::from_str("images.yaml", text).unwrap_err().to_string();
    assert!(e.contains("at least one public key"), "{e}");
}

#[test]
fn only_the_images_of_kinds_a_verifying_policy_matches_are_asked_for() {
    let text = policy("Fail").replace("match: { kinds: [Pod] }", "match: { kinds: [batch/v1/Job] }");
    let engine = Engine::builder().bundle(Bundle::from_str("images.yaml", &text).unwrap()).build().unwrap();
    assert!(engine.image_requests(&[deployment()]).is_empty());
    let job = Resource::new(json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate", "namespace": "shop"},
        "spec": {"template": {"spec": {"containers": [{"name": "m", "image": "registry.acme.dev/shop/migrate:3"}]}}}
    }));
    assert_eq!(engine.image_requests(&[job])[0].image, "registry.acme.dev/shop/migrate:3");
    // No rule verifies images: nothing is asked, whatever the resources.
    let plain = Engine::builder().bundle(Bundle::defaults().unwrap()).build().unwrap();
    assert!(plain.image_requests(&[deployment()]).is_empty());
}
