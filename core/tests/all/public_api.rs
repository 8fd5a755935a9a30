//! The embedding API, used only through the crate root's facade, the way the webhook, the
//! bindings and the WebAssembly build use it: a bundle from a string, an engine, resources as
//! JSON values, a JSON request in and a JSON report out, an AdmissionReview, a golden path.

use paved::{Bundle, Context, Decision, Engine, ErrorKind, Operation, Resource};
use serde_json::json;

const POLICY: &str = r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: no-latest, version: 1.0.0 }
spec:
  severity: high
  match: { kinds: [Pod] }
  rules:
    - id: pinned
      forEach: containers
      message: images must be pinned
      cel: "!item.image.endsWith(':latest')"
    - id: replicas-number
      message: annotations must be readable
      cel: "int(object.metadata.annotations['n']) + 1 > 0"
---
apiVersion: paved.dev/v1
kind: PolicyException
metadata: { name: legacy }
spec:
  policies: [{ name: no-latest, rules: [pinned] }]
  match: { namespaces: [legacy] }
  owner: team-legacy
  reason: migrating off latest tags
  expires: 2026-07-01
"#;

fn engine() -> Engine {
    let bundle = Bundle::from_str("policy.yaml", POLICY).unwrap();
    Engine::builder().bundle(bundle).build().unwrap()
}

fn pod(namespace: &str, image: &str) -> serde_json::Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": namespace, "annotations": {"n": "x"}},
        "spec": {"containers": [{"name": "app", "image": image}]}
    })
}

#[test]
fn a_bundle_from_a_string_evaluates_json_values() {
    let engine = engine();
    let resources = [Resource::new(pod("shop", "nginx:latest")), Resource::new(pod("legacy", "nginx:latest"))];
    let report = engine.evaluate(&resources, &Context::parse_at("2026-06-01").unwrap());
    assert_eq!(report.decision, Decision::Deny);
    let pinned: Vec<_> = report.findings.iter().filter(|f| f.rule == "pinned").collect();
    assert_eq!(pinned.len(), 2);
    assert_eq!(pinned[0].path, "/spec/containers/0");
    assert_eq!(pinned.iter().filter(|f| f.waived_by.as_deref() == Some("legacy")).count(), 1);
    // A CEL error is a finding with a typed error, fail closed.
    let broken = report.findings.iter().find(|f| f.rule == "replicas-number").unwrap();
    let error = broken.error.as_ref().unwrap();
    assert_eq!(error.kind, ErrorKind::Cel);
    assert_eq!(serde_json::to_value(error).unwrap()["kind"], "cel");
    // After the exception expires it waives nothing, the same instant in every front end.
    let later = engine.evaluate(&resources, &Context::parse_at("2026-07-01T00:00:00Z").unwrap());
    assert!(later.findings.iter().all(|f| f.waived_by.is_none()));
}

#[test]
fn json_in_json_out() {
    let engine = engine();
    let ctx: Context = serde_json::from_value(json!({
        "now": "2026-06-01T00:00:00Z", "operation": "UPDATE", "userInfo": {"username": "alice"}
    }))
    .unwrap();
    assert_eq!(ctx.operation, Operation::Update);
    let report = engine.evaluate(&[Resource::new(pod("shop", "nginx:1.27"))], &ctx);
    let compact = report.to_json_compact();
    assert!(!compact.contains('\n'));
    let back: serde_json::Value = serde_json::from_str(&compact).unwrap();
    assert_eq!(back, serde_json::from_str::<serde_json::Value>(&report.to_json()).unwrap());
    assert_eq!(back["decision"], "deny");
    // A context with a typo is refused rather than ignored.
    let typo = serde_json::from_value::<Context>(json!({"now": "2026-06-01", "operaton": "UPDATE"}));
    assert!(typo.unwrap_err().to_string().contains("unknown field `operaton`"));
    let bad = serde_json::from_value::<Context>(json!({"now": "yesterday"}));
    assert!(bad.unwrap_err().to_string().contains("not an RFC 3339"));
    // One call for the front ends that speak JSON; a malformed request is an error.
    let answer = engine
        .evaluate_json(&json!({"resources": [pod("shop", "nginx:latest")], "context": {"now": "2026-06-01"}}))
        .unwrap();
    assert_eq!(answer["decision"], "deny");
    assert_eq!(answer["findings"][0]["rule"], "pinned");
    let e =
        engine.evaluate_json(&json!({"resources": [{"kind": "Pod"}], "context": {"now": "2026-06-01"}})).unwrap_err();
    assert_eq!(e.to_string(), "evaluation request: resources[0]: the resource has no `apiVersion`");
    let e = engine.evaluate_json(&json!({"resource": [], "context": {"now": "2026-06-01"}})).unwrap_err();
    assert!(e.to_string().contains("unknown field `resource`"), "{e}");
    // Params for a policy that is not loaded are an error, with did-you-mean.
    let e = engine.check_context(&Context::parse_at("2026-06-01").unwrap().params("no-lates", json!({}))).unwrap_err();
    assert_eq!(e.to_string(), "there is no loaded policy `no-lates`; did you mean `no-latest`?");
}

#[test]
fn an_admission_review_is_answered() {
    let engine = engine();
    let review = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "abc", "operation": "CREATE", "namespace": "shop", "dryRun": true,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "object": {"metadata": {"name": "web", "annotations": {"n": "one"}}, "spec": {"containers": [{"name": "app", "image": "nginx:latest"}]}}
        }
    });
    let ctx = Context::parse_at("2026-06-01").unwrap();
    let answer = engine.admit(review.clone(), &ctx).unwrap();
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(answer["kind"], "AdmissionReview");
    let response = &answer["response"];
    assert_eq!(response["uid"], "abc");
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 403);
    let message = response["status"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("denied by paved: no-latest/pinned: images must be pinned (at /spec/containers/0); "),
        "{message}"
    );
    // A rule that cannot be evaluated denies too (fail closed), and says why.
    assert!(message.contains("no-latest/replicas-number: rule `replicas-number` could not be evaluated"), "{message}");
    assert_eq!(response["auditAnnotations"]["denied"], "no-latest/pinned,no-latest/replicas-number");
    // DELETE is judged on the old object, by the policies that name DELETE: deleting an object
    // that breaks a rule of a policy naming no operation is allowed.
    let mut delete = review.clone();
    delete["request"]["operation"] = json!("DELETE");
    delete["request"]["oldObject"] = delete["request"]["object"].take();
    assert_eq!(engine.admit(delete.clone(), &ctx).unwrap()["response"]["allowed"], true);
    let guard = "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: keep, version: 1.0.0}\nspec:\n  match: {kinds: [Pod], operations: [DELETE]}\n  rules: [{id: annotated, message: annotated pods stay, cel: '!has(object.metadata.annotations)'}]\n";
    let guarded = Engine::builder().bundle(Bundle::from_str("keep.yaml", guard).unwrap()).build().unwrap();
    let answer = guarded.admit(delete, &ctx).unwrap();
    assert_eq!(answer["response"]["status"]["message"], "denied by paved: keep/annotated: annotated pods stay");
    assert_eq!(guarded.admit(review.clone(), &ctx).unwrap()["response"]["allowed"], true, "CREATE is not judged by it");
    // Malformed: not a review at all (no uid: HTTP 400), or one a denial can answer.
    let e = engine.admit(json!({"kind": "Pod"}), &ctx).unwrap_err();
    assert!(e.denial().is_none(), "{e}");
    let mut no_object = review.clone();
    no_object["request"]["object"] = serde_json::Value::Null;
    let e = engine.admit(no_object, &ctx).unwrap_err();
    let denial = e.denial().unwrap();
    assert_eq!(denial["response"]["allowed"], false);
    assert_eq!(denial["response"]["uid"], "abc");
    assert!(e.to_string().contains("a CREATE request without `object`"), "{e}");
}

#[test]
fn warnings_stay_within_the_api_servers_limits() {
    let mut policy = String::from("apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: chatty, version: 1.0.0}\nspec:\n  action: Warn\n  rules:\n");
    for i in 0..40 {
        policy += &format!("    - {{id: r{i}, message: '{}', cel: 'false'}}\n", "x".repeat(300));
    }
    let engine = Engine::builder().bundle(Bundle::from_str("chatty.yaml", &policy).unwrap()).build().unwrap();
    let review = json!({"uid": "u1", "operation": "CREATE", "kind": {"group": "", "version": "v1", "kind": "ConfigMap"}, "object": {"metadata": {"name": "c"}}});
    let answer = engine.admit(review, &Context::parse_at("2026-06-01").unwrap()).unwrap();
    assert_eq!(answer["response"]["allowed"], true);
    let warnings = answer["response"]["warnings"].as_array().unwrap();
    assert!(!warnings.is_empty());
    assert!(warnings.iter().all(|w| w.as_str().unwrap().chars().count() <= 256));
    assert!(warnings.iter().map(|w| w.as_str().unwrap().len()).sum::<usize>() <= 4096);
}

#[test]
fn a_golden_path_renders_through_the_facade() {
    let bundle = Bundle::golden_paths_builtin().unwrap();
    let path = bundle.golden_path("web-service@^2").unwrap();
    assert_eq!(path.id(), "web-service@2.0.0");
    let rendered = path
        .render(
            &json!({"name": "checkout", "team": "payments", "costCenter": "cc-1", "image": "registry.acme.dev/payments/checkout:4.2.1", "tier": "standard"}),
            &bundle,
        )
        .unwrap();
    assert!(rendered.manifests.iter().any(|m| m["kind"] == "Deployment"));
    assert_eq!(rendered.report.decision, Decision::Allow);
    let resources: Vec<Resource> = rendered.manifests.iter().cloned().map(Resource::new).collect();
    let conformance = paved::GoldenPath::conform(&bundle, &resources, &Context::parse_at("2026-06-01").unwrap());
    assert!(conformance.services.iter().all(|s| s.conforms()), "{conformance:?}");
}

#[test]
fn loading_from_text_reads_nothing() {
    // A pack name and a plugin path in text are data: nothing is read until asked.
    let text = "apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: {name: b}\nspec:\n  packs: [pod-security-baseline]\n  plugins:\n    - {name: p, path: ../../etc/passwd, sha256: \"1111111111111111111111111111111111111111111111111111111111111111\"}\n";
    let bundle = Bundle::from_str("paved.yaml", text).unwrap();
    assert_eq!(bundle.policy_names().collect::<Vec<_>>(), ["pod-security-baseline"]);
    let e = Engine::builder().bundle(bundle).build().unwrap_err().to_string();
    assert!(e.contains("plugin `p` (../../etc/passwd) was not given to the engine"), "{e}");
}

#[test]
fn a_binding_of_a_policy_that_is_not_loaded_is_a_load_error() {
    let text =
        "apiVersion: paved.dev/v1\nkind: PolicyBinding\nmetadata: {name: registries-prod}\nspec:\n  policy: image\n";
    let bundle = Bundle::from_str("b.yaml", text).unwrap().merge(Bundle::pack("platform-baseline").unwrap());
    let Err(paved::Error::Invalid(d)) = Engine::builder().bundle(bundle).build() else { panic!("expected an error") };
    assert_eq!(d.0[0].line, 5, "{d:?}");
    assert!(d.0[0].message.contains("names no loaded policy `image`"), "{d:?}");
    assert_eq!(d.0[0].help.as_deref(), Some("did you mean `images`?"));
}

#[test]
fn expressions_are_typed_by_the_schemas_of_the_kinds_matched() {
    let policy = |cel: &str| {
        format!(
            "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{name: p, version: 1.0.0}}\nspec:\n  match: {{kinds: [Deployment, Service]}}\n  rules:\n    - id: r\n      message: m\n      cel: \"{cel}\"\n"
        )
    };
    // A field of either kind is a field: kind-guarded expressions load.
    let guarded = "object.kind == 'Service' ? size(object.spec.ports) > 0 : object.spec.replicas > 0";
    Bundle::from_str("p.yaml", &policy(guarded)).unwrap();
    // A field of neither is a load error at the rule, with a did-you-mean.
    let Err(paved::Error::Invalid(d)) = Bundle::from_str("p.yaml", &policy("object.spec.replicsa > 0")) else {
        panic!("expected a load error")
    };
    assert_eq!(d.0[0].line, 9, "{d:?}");
    assert!(d.0[0].message.contains("no field `replicsa`"), "{d:?}");
    assert!(d.0[0].help.as_deref().is_some_and(|h| h.starts_with("did you mean `replicas`?")), "{d:?}");
    // Wrong types against the schema: `replicas` is an int.
    let Err(paved::Error::Invalid(d)) = Bundle::from_str("p.yaml", &policy("object.spec.replicas.startsWith('x')"))
    else {
        panic!("expected a load error")
    };
    assert!(d.0[0].message.contains("no overload of `startsWith`"), "{d:?}");
    // `request` has known fields too.
    let Err(paved::Error::Invalid(d)) = Bundle::from_str("p.yaml", &policy("request.operatoin == 'CREATE'")) else {
        panic!("expected a load error")
    };
    assert!(d.0[0].help.as_deref().is_some_and(|h| h.starts_with("did you mean `operation`?")), "{d:?}");
}

/// The benches' 23-rule bundle stands for a platform team's own policies: it loads under the
/// cost estimate (single loops over lists, strings of unknown length read through).
#[test]
fn a_realistic_bundle_loads_under_the_cost_estimate() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/data/bundle.yaml")).unwrap();
    let bundle = Bundle::from_str("bundle.yaml", &text).unwrap_or_else(|e| panic!("{e}"));
    Engine::builder().bundle(bundle).build().unwrap_or_else(|e| panic!("{e}"));
}

/// Params given once to the builder apply to every evaluation; a context's own override them;
/// a param for a policy that is not loaded is refused when the engine is built.
#[test]
fn params_are_given_once_to_the_builder_and_checked_there() {
    let pack = || Bundle::pack("platform-baseline").unwrap();
    let pod = Resource::new(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop",
        "labels": {"team": "t", "app": "p"}}, "spec": {"containers": [{"name": "c", "image": "docker.io/nginx:1.27",
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}}]}}));
    let ctx = Context::parse_at("2026-06-01").unwrap();
    let registry = |report: &paved::Report| report.findings.iter().any(|f| f.rule == "allowed-registries");
    let open = Engine::builder().bundle(pack()).build().unwrap();
    assert!(!registry(&open.evaluate(std::slice::from_ref(&pod), &ctx)));
    let strict =
        Engine::builder().bundle(pack()).assign(r#"images.registries=["registry.acme.dev/"]"#).build().unwrap();
    assert!(registry(&strict.evaluate(std::slice::from_ref(&pod), &ctx)));
    let overridden = ctx.clone().set("images.registries", json!(["docker.io/"])).unwrap();
    assert!(!registry(&strict.evaluate(std::slice::from_ref(&pod), &overridden)));
    let typo = Engine::builder().bundle(pack()).set("imgs.registries", json!([])).build().unwrap_err();
    assert_eq!((typo.kind(), typo.to_string().contains("did you mean `images`?")), ("unknown", true));
    let malformed = Engine::builder().bundle(pack()).assign("nodot").build().unwrap_err();
    assert!(malformed.to_string().contains("POLICY.PARAM"), "{malformed}");
}

#[test]
fn a_replayed_request_is_reported_with_its_operation_and_user() {
    let engine = engine();
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "d1", "operation": "DELETE", "namespace": "shop", "userInfo": {"username": "alice"},
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "oldObject": {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "app", "image": "nginx:latest"}]}}}});
    let resources = Resource::from_str("delete.json", &review.to_string()).unwrap();
    let report = engine.evaluate(&resources, &Context::parse_at("2026-06-01").unwrap());
    assert_eq!(report.decision, Decision::Allow, "{:?}", report.findings);
    let request = report.resources[0].request.as_ref().unwrap();
    assert_eq!((request.operation, request.user.as_str()), (Operation::Delete, "alice"));
    let human = report.human(false);
    assert!(human.contains("  Pod shop/web  (DELETE by alice): no findings\n"), "{human}");
    assert!(human.ends_with("1 resource, 0 findings: 0 denied, 0 warned, 0 audited, 0 waived → allow\n"), "{human}");
    assert!(report.to_json().contains(r#""request": {"#), "the JSON report says it too");
    // A plain manifest has no request, and says nothing of one.
    let plain =
        Resource::from_str("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: []}\n")
            .unwrap();
    let report = engine.evaluate(&plain, &Context::parse_at("2026-06-01").unwrap());
    assert!(report.resources[0].request.is_none() && !report.to_json().contains(r#""request""#));
}

/// A bundle may name packs and plugin components by `oci://` reference: loading reads no registry
/// (the core reaches none), lists them for the loader, and an engine is not built until the
/// loader gave them back.
#[test]
fn oci_references_are_listed_for_the_loader_and_refused_until_given() {
    let settings = r#"
apiVersion: paved.dev/v1
kind: Bundle
metadata: { name: acme }
spec:
  packs: [pod-security-baseline, "oci://registry.acme.dev/packs/images:1"]
  plugins:
    - { name: allowlist, path: "oci://registry.acme.dev/plugins/allowlist:1", sha256: "0000000000000000000000000000000000000000000000000000000000000000" }
"#;
    let bundle = Bundle::from_str("paved.yaml", settings).unwrap();
    assert_eq!(bundle.pack_references().collect::<Vec<_>>(), ["oci://registry.acme.dev/packs/images:1"]);
    assert_eq!(
        bundle.plugin_references().collect::<Vec<_>>(),
        [("allowlist", "oci://registry.acme.dev/plugins/allowlist:1")]
    );
    let e = Engine::builder().bundle(bundle.clone()).build().unwrap_err().to_string();
    assert!(e.contains("paved.yaml:6") && e.contains("was not pulled"), "{e}");
    // Given back: the pack's policies join (the built-in pack's stay), and the component is
    // checked against its pin like a file's.
    let pack = Bundle::from_str("pack.yaml", POLICY).unwrap();
    let e = Engine::builder()
        .bundle(bundle.with_packs([pack]).with_plugin_component("allowlist", b"\0asm not a component".to_vec()))
        .build()
        .unwrap_err()
        .to_string();
    assert!(!e.contains("was not pulled") && e.contains("allowlist") && e.contains("sha256"), "{e}");
}
