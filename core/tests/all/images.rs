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

/// A policy verifying the platform's images by a keyless identity, with a SLSA provenance
/// attestation from the platform's builder and an SBOM, and writing verified digests back.
const ATTESTED: &str = r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: attested-images, version: 1.0.0 }
spec:
  match: { kinds: [Pod] }
  rules:
    - id: built-by-ci
      message: images from the platform's registry are built by its CI
      verifyImages:
        images: ["registry.acme.dev/*"]
        identities:
          - issuer: https://token.actions.githubusercontent.com
            subjectRegExp: '^https://github\.com/acme/.+/\.github/workflows/release\.yaml@refs/tags/v.+$'
        attestations:
          - predicateType: https://slsa.dev/provenance/v1
            conditions:
              - expression: predicate.buildDefinition.buildType == 'https://actions.github.io/buildtypes/workflow/v1'
                message: built by a GitHub Actions workflow
              - expression: predicate.runDetails.builder.id.startsWith('https://github.com/acme/')
          - predicateType: https://spdx.dev/Document
        mutateDigest: true
"#;

fn provenance(build_type: &str, builder: &str) -> serde_json::Value {
    json!({"buildDefinition": {"buildType": build_type}, "runDetails": {"builder": {"id": builder}}})
}

fn attested_verdict(request: &paved::ImageRequest, attestations: Vec<paved::Attestation>) -> ImageVerdict {
    ImageVerdict::new(request, ImageOutcome::Verified)
        .digest(format!("sha256:{}", "b".repeat(64)))
        .signers(vec!["keyless: https://github.com/acme/web/.github/workflows/release.yaml@refs/tags/v1".into()])
        .attestations(attestations)
}

#[test]
fn attestations_are_asked_for_and_their_predicates_judged_by_the_rules_conditions() {
    let engine = Engine::builder().bundle(Bundle::from_str("attested.yaml", ATTESTED).unwrap()).build().unwrap();
    let request = engine.image_requests(&[deployment()]).remove(0);
    assert!(request.keys.is_empty());
    assert_eq!(request.identities[0].issuer.as_deref(), Some("https://token.actions.githubusercontent.com"));
    let asked: Vec<(&str, bool)> = request.attestations.iter().map(|a| (a.predicate_type.as_str(), a.read)).collect();
    // The provenance's predicate is read (the rule has conditions on it); the SBOM's is not.
    assert_eq!(asked, [("https://slsa.dev/provenance/v1", true), ("https://spdx.dev/Document", false)]);

    let workflow = "https://actions.github.io/buildtypes/workflow/v1";
    let slsa = |build_type: &str, builder: &str| {
        paved::Attestation::new("https://slsa.dev/provenance/v1", "keyless: ci", Some(provenance(build_type, builder)))
    };
    let sbom = paved::Attestation::new("https://spdx.dev/Document", "keyless: ci", None);
    let judge = |attestations: Vec<paved::Attestation>| {
        let verdicts: ImageVerdicts = [attested_verdict(&request, attestations)].into_iter().collect();
        let report = engine.evaluate(&[deployment()], &at(verdicts));
        let details: Vec<String> = report.findings.iter().filter_map(|f| f.detail.clone()).collect();
        (report.decision, details.join("\n"))
    };
    let (decision, _) = judge(vec![slsa(workflow, "https://github.com/acme/builder"), sbom.clone()]);
    assert_eq!(decision, Decision::Allow);
    // One statement of the type meeting every condition suffices.
    let (decision, _) = judge(vec![
        slsa("make", "https://github.com/acme/b"),
        slsa(workflow, "https://github.com/acme/b"),
        sbom.clone(),
    ]);
    assert_eq!(decision, Decision::Allow);
    let (decision, why) = judge(vec![slsa("make", "https://github.com/acme/builder"), sbom.clone()]);
    assert_eq!(decision, Decision::Deny);
    assert!(why.contains("provenance/v1 attestation fails: built by a GitHub Actions workflow"), "{why}");
    let (_, why) = judge(vec![slsa(workflow, "https://github.com/evil/builder"), sbom.clone()]);
    assert!(why.contains("predicate.runDetails.builder.id.startsWith('https://github.com/acme/')` is false"), "{why}");
    // No SBOM: refused, by name.
    let (decision, why) = judge(vec![slsa(workflow, "https://github.com/acme/builder")]);
    assert_eq!(decision, Decision::Deny);
    assert!(why.contains("no https://spdx.dev/Document attestation signed by a trusted signer"), "{why}");
}

#[test]
fn a_predicate_the_conditions_cannot_read_is_an_error_under_the_failure_policy() {
    let engine = Engine::builder().bundle(Bundle::from_str("attested.yaml", ATTESTED).unwrap()).build().unwrap();
    let request = engine.image_requests(&[deployment()]).remove(0);
    let broken = paved::Attestation::new("https://slsa.dev/provenance/v1", "ci", Some(json!({"buildDefinition": 3})));
    let sbom = paved::Attestation::new("https://spdx.dev/Document", "ci", None);
    let verdicts: ImageVerdicts = [attested_verdict(&request, vec![broken, sbom])].into_iter().collect();
    let report = engine.evaluate(&[deployment()], &at(verdicts));
    assert_eq!(report.decision, Decision::Deny);
    let error = report.findings[0].error.as_ref().unwrap();
    assert_eq!(error.kind, ErrorKind::Registry);
    assert!(error.message.contains("predicate.buildDefinition.buildType"), "{error:?}");
}

#[test]
fn verified_digests_are_written_back_and_the_pinned_images_judged_by_their_verdicts() {
    let engine = Engine::builder().bundle(Bundle::from_str("attested.yaml", ATTESTED).unwrap()).build().unwrap();
    let pod = Resource::new(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"containers": [
            {"name": "web", "image": "registry.acme.dev/shop/web:1.2"},
            {"name": "proxy", "image": "envoyproxy/envoy:v1.30"}]}
    }));
    let request = engine.image_requests(std::slice::from_ref(&pod)).remove(0);
    let slsa = paved::Attestation::new(
        "https://slsa.dev/provenance/v1",
        "ci",
        Some(provenance("https://actions.github.io/buildtypes/workflow/v1", "https://github.com/acme/b")),
    );
    let sbom = paved::Attestation::new("https://spdx.dev/Document", "ci", None);
    let verdicts: ImageVerdicts = [attested_verdict(&request, vec![slsa, sbom])].into_iter().collect();
    let ctx = at(verdicts.clone());
    let (out, report) = engine.mutate(std::slice::from_ref(&pod), &ctx);
    let pinned = format!("registry.acme.dev/shop/web:1.2@sha256:{}", "b".repeat(64));
    assert_eq!(out[0].value()["spec"]["containers"][0]["image"], pinned.as_str());
    // An image the rule does not cover is left as it is.
    assert_eq!(out[0].value()["spec"]["containers"][1]["image"], "envoyproxy/envoy:v1.30");
    assert_eq!(report.patches.len(), 1, "{:?}", report.patches);
    assert_eq!(report.patches[0].mutation, "built-by-ci-digest");
    assert_eq!(report.patches[0].operation["path"], "/spec/containers/0/image");
    // The pinned image is judged by the verdict on the tag it was pinned from...
    let report = engine.evaluate(&out, &ctx);
    assert_eq!(report.decision, Decision::Allow, "{:?}", report.findings);
    // ...but only when that verdict is for the same digest.
    let mut other = out[0].value().clone();
    other["spec"]["containers"][0]["image"] =
        json!(format!("registry.acme.dev/shop/web:1.2@sha256:{}", "c".repeat(64)));
    let report = engine.evaluate(&[Resource::new(other)], &ctx);
    assert_eq!(report.decision, Decision::Deny);
    assert!(report.findings[0].error.as_ref().unwrap().message.contains("no verdict"), "{:?}", report.findings);
    // Unverified: nothing is pinned.
    let refused: ImageVerdicts =
        [ImageVerdict::new(&request, ImageOutcome::Refused).reason("not signed")].into_iter().collect();
    let (out, report) = engine.mutate(std::slice::from_ref(&pod), &at(refused));
    assert_eq!(out[0].value()["spec"]["containers"][0]["image"], "registry.acme.dev/shop/web:1.2");
    assert!(report.patches.is_empty());
}

#[test]
fn keyless_identities_and_attestations_are_checked_as_the_bundle_loads() {
    let load = |from: &str, to: &str| {
        let text = ATTESTED.replace(from, to);
        assert_ne!(text, ATTESTED, "{from}");
        Bundle::from_str("attested.yaml", &text).unwrap_err().to_string()
    };
    let e = load("            subjectRegExp: '^https", "            subjectRegExp: '(^https");
    assert!(e.contains("/identities/0/subjectRegExp") && e.contains("not a regular expression"), "{e}");
    let e = load("          - issuer: https://token.actions.githubusercontent.com\n", "          - ");
    assert!(e.contains("give the signer's issuer"), "{e}");
    let e = load("subjectRegExp: '^https", "subject: x\n            subjectRegExp: '^https");
    assert!(e.contains("`subject` or `subjectRegExp`, not both"), "{e}");
    let e = load("predicate.runDetails.builder.id.startsWith(", "predicate.runDetails.builder.id.startsWith(1, ");
    assert!(e.contains("/attestations/0/conditions/1/expression"), "{e}");
    let e = load("== 'https://actions.github.io/buildtypes/workflow/v1'", ".size()");
    assert!(e.contains("not a bool"), "{e}");
    let e = load("predicateType: https://spdx.dev/Document", "predicateType: ' '");
    assert!(e.contains("predicate type"), "{e}");
    let e = load("subjectRegExp", "subjectRegexp");
    assert!(e.contains("subjectRegexp"), "{e}");
}

#[test]
fn the_requirement_of_keys_alone_is_named_as_before_and_others_apart() {
    // Recorded verdicts name requirements by id: keys alone keep the id they had.
    let engine = engine("Fail");
    assert_eq!(engine.image_requests(&[deployment()])[0].requirement, "2e123cda468d012c");
    let attested = Engine::builder().bundle(Bundle::from_str("attested.yaml", ATTESTED).unwrap()).build().unwrap();
    assert_ne!(attested.image_requests(&[deployment()])[0].requirement, "2e123cda468d012c");
}

/// Kyverno's ImageValidatingPolicy, as its documentation writes one: a key attestor, a keyless
/// one, an SBOM attestation, and its payload checked.
fn kyverno_policy(validations: &str, attestors_extra: &str) -> String {
    let key = KEY.trim_end().replace('\n', "\n            ");
    format!(
        r#"apiVersion: policies.kyverno.io/v1alpha1
kind: ImageValidatingPolicy
metadata: {{ name: check-images }}
spec:
  webhookConfiguration: {{ timeoutSeconds: 15 }}
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
      - {{ apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods] }}
  matchImageReferences:
    - glob: "registry.acme.dev/*"
  attestors:
    - name: platform
      cosign:
        key:
          data: |
            {key}
    - name: ci
      cosign:
        keyless:
          identities:
            - issuer: https://token.actions.githubusercontent.com
              subjectRegExp: 'https://github\.com/acme/.+'
        ctlog: {{ url: https://rekor.sigstore.dev }}
{attestors_extra}  attestations:
    - name: sbom
      intoto: {{ type: https://cyclonedx.org/bom }}
  validations:
{validations}"#
    )
}

const KYVERNO_VALIDATIONS: &str = r#"    - expression: >-
        images.containers.map(image, verifyImageSignatures(image, [attestors.platform])).all(e, e > 0)
      message: failed the image signature verification
    - expression: >-
        images.containers.map(image, verifyAttestationSignatures(image, attestations.sbom, [attestors.ci])).all(e ,e > 0)
      message: no SBOM from CI
    - expression: >-
        images.containers.map(image, extractPayload(image, attestations.sbom).bomFormat == 'CycloneDX').all(e, e)
      message: the SBOM is not CycloneDX
"#;

#[test]
fn kyvernos_image_validating_policy_is_read_as_verify_images_rules() {
    let text = kyverno_policy(KYVERNO_VALIDATIONS, "");
    let engine = Engine::builder().bundle(Bundle::from_str("kyverno.yaml", &text).unwrap()).build().unwrap();
    let pod = Resource::new(json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"containers": [{"name": "web", "image": "registry.acme.dev/shop/web:1.2"},
                                {"name": "proxy", "image": "envoyproxy/envoy:v1.30"}]}
    }));
    let requests = engine.image_requests(std::slice::from_ref(&pod));
    // Three validations, three requirements of the one image the policy matches.
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(requests.iter().all(|r| r.image == "registry.acme.dev/shop/web:1.2"));
    let by_key = requests.iter().find(|r| !r.keys.is_empty()).unwrap();
    assert!(by_key.identities.is_empty() && by_key.attestations.is_empty());
    let sbom: Vec<_> = requests.iter().filter(|r| !r.attestations.is_empty()).collect();
    assert_eq!(sbom.len(), 2);
    assert!(sbom.iter().all(|r| r.identities[0].subject_reg_exp.as_deref() == Some(r"https://github\.com/acme/.+")));
    assert!(sbom.iter().any(|r| r.attestations[0].read) && sbom.iter().any(|r| !r.attestations[0].read));

    let verdict = |r: &paved::ImageRequest, format: &str| {
        let attestation =
            paved::Attestation::new("https://cyclonedx.org/bom", "keyless: ci", Some(json!({"bomFormat": format})));
        ImageVerdict::new(r, ImageOutcome::Verified)
            .digest(format!("sha256:{}", "d".repeat(64)))
            .attestations(vec![attestation])
    };
    let judge = |format: &str| {
        let verdicts: ImageVerdicts = requests.iter().map(|r| verdict(r, format)).collect();
        let (mutated, report) = engine.mutate(std::slice::from_ref(&pod), &at(verdicts.clone()));
        (engine.evaluate(&mutated, &at(verdicts)), report)
    };
    let (report, mutated) = judge("CycloneDX");
    assert_eq!(report.decision, Decision::Allow, "{:?}", report.findings);
    // `mutateDigest` is Kyverno's default: the digest is written back.
    assert_eq!(
        mutated.patches[0].operation["value"],
        format!("registry.acme.dev/shop/web:1.2@sha256:{}", "d".repeat(64))
    );
    let (report, _) = judge("SPDX");
    assert_eq!(report.decision, Decision::Deny);
    assert_eq!(report.findings[0].rule, "validations[2]");
    assert!(
        report.findings[0].detail.as_deref().unwrap().contains("the SBOM is not CycloneDX"),
        "{:?}",
        report.findings
    );
}

#[test]
fn what_paved_cannot_honour_in_an_image_validating_policy_is_refused_where_it_is_written() {
    let load = |text: &str| Bundle::from_str("kyverno.yaml", text).unwrap_err().to_string();
    let e = load(&kyverno_policy("    - expression: images.containers.size() > 0\n", ""));
    assert!(e.contains("/spec/validations/0/expression") && e.contains("not one paved can check"), "{e}");
    let e = load(&kyverno_policy(
        "    - expression: images.containers.map(i, verifyImageSignatures(i, [attestors.platfrom])).all(e, e > 0)\n",
        "",
    ));
    assert!(e.contains("no attestor is named `platfrom`"), "{e}");
    let e = load(&kyverno_policy(
        "    - expression: images.containers.all(i, extractPayload(i, attestations.sbom).bomFormat == 'CycloneDX')\n",
        "",
    ));
    assert!(e.contains("needs a validation that verifies it"), "{e}");
    let notary = "    - name: notary\n      notary: { certs: { value: x } }\n";
    let e = load(&kyverno_policy(KYVERNO_VALIDATIONS, notary));
    assert!(e.contains("/spec/attestors/2") && e.contains("Notary"), "{e}");
    let kms = "    - name: kms\n      cosign: { key: { kms: 'gcpkms://projects/p/keys/k' } }\n";
    let e = load(&kyverno_policy(KYVERNO_VALIDATIONS, kms));
    assert!(e.contains("/spec/attestors/2/cosign/key") && e.contains("KMS"), "{e}");
    let roots =
        "    - name: own\n      cosign: { keyless: { identities: [{ issuer: x, subject: y }], roots: 'PEM' } }\n";
    let e = load(&kyverno_policy(KYVERNO_VALIDATIONS, roots));
    assert!(e.contains("keyless/roots") && e.contains("--trusted-root"), "{e}");
    // The all-form reads as the map-form does.
    let all = "    - expression: images.containers.all(image, verifyImageSignatures(image, [attestors.platform, attestors.ci]) > 0)\n";
    let engine =
        Engine::builder().bundle(Bundle::from_str("kyverno.yaml", &kyverno_policy(all, "")).unwrap()).build().unwrap();
    let request = &engine.image_requests(&[deployment()])[0];
    assert_eq!((request.keys.len(), request.identities.len()), (1, 1), "{request:?}");
}
