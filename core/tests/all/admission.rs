//! Every AdmissionRequest captured from real clusters (`../shared/conformance/admission-requests/`)
//! is answered with a well-formed AdmissionReview, and its verdict is the one `paved check` gives
//! the same file (the CLI reads captured requests as the object they carry).

use std::path::Path;

use paved::{Bundle, Context, Decision, Engine, Resource};
use serde_json::Value;

#[test]
fn every_captured_request_gets_a_well_formed_answer_and_the_verdict_of_check() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/admission-requests");
    let engine = Engine::builder().bundle(Bundle::defaults().unwrap()).build().unwrap();
    let ctx = Context::parse_at("2026-06-01").unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() > 150, "{} requests", files.len());
    let (mut allowed, mut denied, mut refused) = (0, 0, 0);
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(file).unwrap();
        let review: Value = serde_json::from_str(&text).unwrap();
        let uid = review.get("request").unwrap_or(&review)["uid"].clone();
        let checked = Resource::from_str(&name, &text).map(|r| engine.evaluate(&r, &ctx));
        match engine.admit(review.clone(), &ctx) {
            Ok(answer) => {
                assert_eq!(answer["kind"], "AdmissionReview", "{name}");
                assert!(answer["apiVersion"].as_str().unwrap().starts_with("admission.k8s.io/"), "{name}");
                let response = &answer["response"];
                assert_eq!(response["uid"], uid, "{name}");
                let ok = response["allowed"].as_bool().unwrap_or_else(|| panic!("{name}: allowed"));
                if !ok {
                    assert_eq!(response["status"]["code"], 403, "{name}");
                    assert!(response["status"]["message"].as_str().unwrap().starts_with("denied by paved: "), "{name}");
                }
                assert!(response["auditAnnotations"]["decision"].is_string(), "{name}");
                let report = checked.unwrap_or_else(|e| panic!("{name}: paved check refused what admit judged: {e}"));
                assert_eq!(report.resources.len(), 1, "{name}");
                assert_eq!(ok, report.decision != Decision::Deny, "{name}: admit and check disagree");
                if ok {
                    allowed += 1;
                } else {
                    denied += 1;
                }
            }
            Err(e) => {
                // A request paved cannot judge is denied (fail closed), in a well-formed answer
                // when it has a uid; `paved check` refuses the same file.
                let denial = e.denial().unwrap_or_else(|| panic!("{name}: {e} has no answer"));
                assert_eq!(denial["response"]["allowed"], false, "{name}");
                assert_eq!(denial["response"]["uid"], uid, "{name}");
                assert!(checked.is_err(), "{name}: check judged what admit refused ({e})");
                refused += 1;
            }
        }
    }
    assert!(allowed > 0 && denied > 0, "allowed {allowed}, denied {denied}, refused {refused}");
    eprintln!("{} requests: {allowed} allowed, {denied} denied, {refused} refused as malformed", files.len());
}

#[test]
fn a_huge_objects_denial_names_the_first_findings_and_counts_the_rest() {
    let containers: Vec<serde_json::Value> = (0..2_000)
        .map(
            |i| serde_json::json!({"name": format!("c{i}"), "image": "app:1", "securityContext": {"privileged": true}}),
        )
        .collect();
    let review = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "namespace": "shop", "name": "big", "operation": "CREATE", "userInfo": {"username": "alice"},
                    "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big", "namespace": "shop"},
                               "spec": {"containers": containers}}}
    });
    let engine = Engine::builder().bundle(Bundle::defaults().unwrap()).build().unwrap();
    let answer = engine.admit(review, &Context::parse_at("2026-06-01").unwrap()).unwrap();
    let message = answer["response"]["status"]["message"].as_str().unwrap();
    assert!(message.len() < 4_200, "{} bytes", message.len());
    assert!(message.contains("pod-security-baseline/privileged"), "{message}");
    assert!(message.contains("more (the audit annotation `denied` names every rule)"), "{message}");
    let denied = answer["response"]["auditAnnotations"]["denied"].as_str().unwrap();
    assert!(denied.contains("pod-security-baseline/privileged"), "{denied}");
}
