//! Kubernetes' ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding, loaded as
//! documents of a bundle and judged as the API server judges them.

use paved::{Action, Bundle, Context, Engine, Operation, Resource};
use serde_json::json;

const REPLICAS: &str = r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: replica-limit
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: [apps]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [deployments]
  matchConditions:
    - name: not-a-system-user
      expression: "!request.userInfo.username.startsWith('system:')"
  variables:
    - name: replicas
      expression: "has(object.spec.replicas) ? object.spec.replicas : 1"
  validations:
    - expression: "variables.replicas <= 5"
    - expression: "variables.replicas != 3"
      message: three is unlucky
    - expression: "!object.metadata.name.startsWith('tmp-')"
      messageExpression: "'temporary deployment ' + object.metadata.name"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: replica-limit-prod
spec:
  policyName: replica-limit
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {env: prod}
"#;

fn deployment(name: &str, namespace: &str, replicas: i64) -> Resource {
    Resource::new(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "selector": {}, "template": {"spec": {"containers": []}}},
    }))
}

fn ctx() -> Context {
    let labels = |env: &str| [("env".to_owned(), env.to_owned())].into_iter().collect();
    Context::parse_at("2026-06-01")
        .unwrap()
        .namespaces([("shop".to_owned(), labels("prod")), ("play".to_owned(), labels("dev"))].into_iter().collect())
        .user_info(json!({"username": "alice"}))
}

fn engine(text: &str) -> Engine {
    Engine::builder().bundle(Bundle::from_str("vap.yaml", text).unwrap()).build().unwrap()
}

fn messages(engine: &Engine, r: Resource, ctx: &Context) -> Vec<(String, String, Action)> {
    let report = engine.evaluate(&[r], ctx);
    report.findings.iter().map(|f| (f.rule.clone(), f.message.clone(), f.action)).collect()
}

#[test]
fn validations_judge_what_the_binding_matches_with_kubernetes_messages() {
    let engine = engine(REPLICAS);
    let report = engine.evaluate(&[deployment("tmp-web", "shop", 7)], &ctx());
    let found: Vec<(&str, &str)> = report.findings.iter().map(|f| (f.rule.as_str(), f.message.as_str())).collect();
    assert_eq!(
        found,
        [
            ("validations[0]", "failed expression: variables.replicas <= 5"),
            ("validations[2]", "temporary deployment tmp-web"),
        ]
    );
    let f = &report.findings[0];
    assert_eq!(
        (f.policy.as_str(), f.binding.as_deref(), f.action),
        ("replica-limit", Some("replica-limit-prod"), Action::Deny)
    );
    // The finding points at the validation's line in the policy.
    assert_eq!(report.decision.as_str(), "deny");
    assert_eq!(
        messages(&engine, deployment("web", "shop", 3), &ctx()),
        [("validations[1]".into(), "three is unlucky".into(), Action::Deny)]
    );
    // Outside the binding's namespaces, and for kinds the rules do not name, nothing applies.
    assert!(messages(&engine, deployment("web", "play", 9), &ctx()).is_empty());
    let pod = Resource::new(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"}, "spec": {"containers": []}}),
    );
    assert!(messages(&engine, pod, &ctx()).is_empty());
    // Nor for an operation they do not name.
    assert!(messages(&engine, deployment("web", "shop", 9), &ctx().operation(Operation::Delete)).is_empty());
}

#[test]
fn a_policy_without_a_binding_applies_to_nothing() {
    let policy_only = REPLICAS.split("---").next().unwrap();
    assert!(messages(&engine(policy_only), deployment("web", "shop", 9), &ctx()).is_empty());
}

#[test]
fn match_conditions_leave_resources_out_and_their_errors_follow_the_failure_policy() {
    let engine = engine(REPLICAS);
    let system = ctx().user_info(json!({"username": "system:serviceaccount:kube-system:deployer"}));
    assert!(messages(&engine, deployment("web", "shop", 9), &system).is_empty());
    // A condition that fails (no username) is an error under failurePolicy: Fail...
    let anonymous = ctx().user_info(json!({}));
    let found = messages(&engine, deployment("web", "shop", 9), &anonymous);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "matchConditions/not-a-system-user");
    assert_eq!(found[0].2, Action::Deny);
    // ... and only recorded under Ignore (the API server tells the client nothing of it).
    let ignore = self::engine(&REPLICAS.replace("failurePolicy: Fail", "failurePolicy: Ignore"));
    let found = messages(&ignore, deployment("web", "shop", 9), &anonymous);
    assert_eq!(found[0].2, Action::Audit, "{found:?}");
}

#[test]
fn validation_actions_warn_and_audit() {
    for (actions, action) in [
        ("[Warn]", Action::Warn),
        ("[Warn, Audit]", Action::Warn),
        ("[Audit]", Action::Audit),
        ("[Deny, Audit]", Action::Deny),
    ] {
        let engine =
            self::engine(&REPLICAS.replace("validationActions: [Deny]", &format!("validationActions: {actions}")));
        let found = messages(&engine, deployment("web", "shop", 9), &ctx());
        assert_eq!(
            found,
            [("validations[0]".into(), "failed expression: variables.replicas <= 5".into(), action)],
            "{actions}"
        );
    }
}

#[test]
fn every_problem_of_a_policy_and_its_binding_is_reported_at_its_line() {
    let broken = REPLICAS
        .replace("operations: [CREATE, UPDATE]", "operations: [CREATE, UPDAT]")
        .replace("message: three is unlucky", "mesage: three is unlucky")
        .replace("variables.replicas <= 5", "variables.replica <= 5")
        .replace("validationActions: [Deny]", "validationActions: [Deny, Warn]");
    let e = Bundle::from_str("vap.yaml", &broken)
        .and_then(|b| Engine::builder().bundle(b).build())
        .unwrap_err()
        .to_string();
    for (want, line) in [
        ("did you mean `UPDATE`?", 11),
        ("unknown field `mesage`", 22),
        ("variables.replica", 20),
        ("must not contain both `Deny` and `Warn`", 32),
    ] {
        assert!(e.contains(want), "{want} missing from:\n{e}");
        assert!(e.contains(&format!("vap.yaml:{line}:")), "line {line} missing from:\n{e}");
    }
}

#[test]
fn a_binding_of_a_missing_policy_is_an_error_with_a_did_you_mean() {
    let e = Bundle::from_str("vap.yaml", &REPLICAS.replace("policyName: replica-limit", "policyName: replica-limits"))
        .and_then(|b| Engine::builder().bundle(b).build())
        .unwrap_err()
        .to_string();
    assert!(e.contains("vap.yaml:31:") && e.contains("did you mean `replica-limit`?"), "{e}");
}

#[test]
fn unread_documents_of_the_group_say_so() {
    let map =
        "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmisionPolicy\nmetadata: {name: x}\nspec: {}\n";
    let e = Bundle::from_str("vap.yaml", map).unwrap_err().to_string();
    assert!(e.contains("did you mean `ValidatingAdmissionPolicy`?"), "{e}");
    let v2 = REPLICAS.replacen("admissionregistration.k8s.io/v1", "admissionregistration.k8s.io/v2", 1);
    let e = Bundle::from_str("vap.yaml", &v2).unwrap_err().to_string();
    assert!(e.contains("not `v2`"), "{e}");
}

const WITH_PARAMS: &str = r#"apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: replica-cap}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules:
      - {apiGroups: [apps], apiVersions: [v1], operations: ["*"], resources: [deployments]}
  validations:
    - expression: "object.spec.replicas <= int(params.data.maxReplicas)"
      messageExpression: "'at most ' + params.data.maxReplicas + ' replicas (' + params.metadata.name + ')'"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: replica-cap-binding}
spec:
  policyName: replica-cap
  validationActions: [Deny]
  paramRef: {name: replica-limits, parameterNotFoundAction: Deny}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: replica-limits, namespace: shop, labels: {cap: "yes"}}
data: {maxReplicas: "3"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: strict-limits, namespace: shop, labels: {cap: "yes"}}
data: {maxReplicas: "1"}
"#;

#[test]
fn params_come_from_the_bindings_param_ref_in_the_objects_namespace() {
    let engine = engine(WITH_PARAMS);
    assert_eq!(
        messages(&engine, deployment("web", "shop", 5), &ctx()),
        [("validations[0]".into(), "at most 3 replicas (replica-limits)".into(), Action::Deny)]
    );
    assert!(messages(&engine, deployment("web", "shop", 2), &ctx()).is_empty());
    // No param object in the object's namespace: Deny says so, under the failure policy.
    let found = messages(&engine, deployment("web", "play", 1), &ctx());
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "paramRef");
    assert!(found[0].1.contains("no params found for policy binding with `Deny` parameterNotFoundAction"), "{found:?}");
    let allow = self::engine(&WITH_PARAMS.replace("parameterNotFoundAction: Deny", "parameterNotFoundAction: Allow"));
    assert!(messages(&allow, deployment("web", "play", 9), &ctx()).is_empty());
    // A selector gives every param object it matches, and the policy runs once for each.
    let selected = self::engine(&WITH_PARAMS.replace(
        "name: replica-limits, parameterNotFoundAction",
        "selector: {matchLabels: {cap: \"yes\"}}, parameterNotFoundAction",
    ));
    let found: Vec<String> =
        messages(&selected, deployment("web", "shop", 2), &ctx()).into_iter().map(|f| f.1).collect();
    assert_eq!(found, ["at most 1 replicas (strict-limits)"]);
    // Param objects may come from the inventory too.
    let policy_only = WITH_PARAMS.split("---\napiVersion: v1").next().unwrap();
    let inventory = paved::Inventory::new(&[Resource::new(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "replica-limits", "namespace": "shop"}, "data": {"maxReplicas": "4"}}),
    )]);
    let found = messages(&self::engine(policy_only), deployment("web", "shop", 5), &ctx().inventory(inventory));
    assert_eq!(found[0].1, "at most 4 replicas (replica-limits)");
}

#[test]
fn objects_of_no_param_kind_are_not_documents_of_a_bundle() {
    let e = Bundle::from_str(
        "vap.yaml",
        &WITH_PARAMS
            .replace("paramKind: {apiVersion: v1, kind: ConfigMap}", "paramKind: {apiVersion: v1, kind: Secret}"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("apiVersion `v1` is not a paved document"), "{e}");
}

#[test]
fn an_admission_answer_words_denials_warnings_and_audit_annotations_as_the_api_server() {
    let annotated = REPLICAS.replace(
        "  validations:\n",
        "  auditAnnotations:\n    - {key: replicas, valueExpression: \"string(variables.replicas)\"}\n    - {key: never, valueExpression: \"null\"}\n  validations:\n",
    );
    let review = |namespace: &str| {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "1", "operation": "CREATE", "namespace": namespace, "userInfo": {"username": "alice"},
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "object": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": namespace}, "spec": {"replicas": 9}}}})
    };
    let answer = engine(&annotated).admit(review("shop"), &ctx()).unwrap();
    let response = &answer["response"];
    assert_eq!(response["allowed"], false);
    let message = response["status"]["message"].as_str().unwrap();
    assert!(
        message.contains("ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-prod' denied request: failed expression: variables.replicas <= 5"),
        "{message}"
    );
    assert_eq!(response["auditAnnotations"]["replica-limit/replicas"], "9");
    assert!(response["auditAnnotations"].get("replica-limit/never").is_none());
    let warned = engine(&annotated.replace("validationActions: [Deny]", "validationActions: [Warn]"))
        .admit(review("shop"), &ctx())
        .unwrap();
    assert_eq!(warned["response"]["allowed"], true);
    assert_eq!(
        warned["response"]["warnings"][0],
        "Validation failed for ValidatingAdmissionPolicy 'replica-limit' with binding 'replica-limit-prod': failed expression: variables.replicas <= 5"
    );
}

const KYVERNO: &str = r#"apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: check-labels
spec:
  validationActions: [Deny]
  autogen:
    podControllers:
      controllers: [deployments]
  matchConstraints:
    resourceRules:
      - apiGroups: ['']
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [pods]
  validations:
    - message: label 'environment' is required
      expression: "'environment' in object.metadata.?labels.orValue([])"
"#;

#[test]
fn a_kyverno_validating_policy_applies_without_a_binding_and_to_pod_templates() {
    let engine = engine(KYVERNO);
    let pod = |labels: serde_json::Value| {
        Resource::new(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop", "labels": labels}, "spec": {"containers": []}}),
        )
    };
    assert_eq!(
        messages(&engine, pod(json!({})), &ctx()),
        [("validations[0]".into(), "label 'environment' is required".into(), Action::Deny)]
    );
    assert!(messages(&engine, pod(json!({"environment": "prod"})), &ctx()).is_empty());
    // The pod template of a Deployment is judged as the Pod it makes.
    let found = engine.evaluate(&[deployment("web", "shop", 1)], &ctx()).findings;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].policy.as_str(), found[0].binding.as_deref(), found[0].path.as_str()),
        ("check-labels", None, "/spec/template")
    );
    // With autogen for no controller, only Pods; without the field, every controller.
    let no_autogen = self::engine(&KYVERNO.replace("controllers: [deployments]", "controllers: []"));
    assert!(no_autogen.evaluate(&[deployment("web", "shop", 1)], &ctx()).findings.is_empty());
    let default =
        self::engine(&KYVERNO.replace("  autogen:\n    podControllers:\n      controllers: [deployments]\n", ""));
    assert_eq!(default.evaluate(&[deployment("web", "shop", 1)], &ctx()).findings.len(), 1);
    // A NamespacedValidatingPolicy applies in its own namespace.
    let namespaced = self::engine(&KYVERNO.replace(
        "kind: ValidatingPolicy\nmetadata:\n",
        "kind: NamespacedValidatingPolicy\nmetadata:\n  namespace: play\n",
    ));
    assert!(messages(&namespaced, pod(json!({})), &ctx()).is_empty());
    let in_play = Resource::new(
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "play"}, "spec": {"containers": []}}),
    );
    assert_eq!(messages(&namespaced, in_play, &ctx()).len(), 1);
}

#[test]
fn a_kyverno_policy_of_another_evaluation_mode_or_without_actions_is_refused_at_its_line() {
    let json_mode = KYVERNO.replace("  validationActions: [Deny]\n", "  evaluation: {mode: JSON}\n");
    let e = Bundle::from_str("vpol.yaml", &json_mode).unwrap_err().to_string();
    assert!(e.contains("vpol.yaml:6:3: `validationActions` is required"), "{e}");
    assert!(e.contains("vpol.yaml:6:") && e.contains("evaluation mode `JSON` is not read"), "{e}");
}

#[test]
fn kyverno_test_files_run_under_paved_test() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/kyverno-test");
    let suites = paved::TestSuite::from_paths(&[dir]).unwrap();
    assert_eq!(suites.len(), 1);
    let report = suites[0].run("2026-06-01T00:00:00Z".parse().unwrap());
    let checks: Vec<(String, String, String)> = report.cases[0]
        .checks
        .iter()
        .map(|c| (c.resource.clone(), c.expected.to_string(), c.actual.to_string()))
        .collect();
    assert!(report.passed(), "{checks:?}");
    assert_eq!(checks.len(), 5, "{checks:?}");
    // A result that does not hold is reported as one.
    let text = std::fs::read_to_string(format!("{dir}/kyverno-test.yaml")).unwrap();
    let wrong = text.replacen("result: pass", "result: fail", 1);
    let file = format!("{dir}/kyverno-test.yaml");
    let suites = paved::TestSuite::from_str(&file, &wrong).unwrap();
    let report = suites[0].run("2026-06-01T00:00:00Z".parse().unwrap());
    assert!(!report.passed());
    // What paved does not run is an error at its line, not a silent pass.
    let cluster_policy = text.replacen("isValidatingPolicy: true\n    kind: Pod", "rule: check-team\n    kind: Pod", 1);
    let e = paved::TestSuite::from_str(&file, &cluster_policy).unwrap_err().to_string();
    assert!(
        e.contains("kyverno-test.yaml:12:") && e.contains("paved does not run Kyverno's ClusterPolicy rules"),
        "{e}"
    );
    let e = paved::TestSuite::from_str(&file, &format!("{text}checks: []\n")).unwrap_err().to_string();
    assert!(e.contains("paved does not run a Kyverno test's `checks` yet"), "{e}");
    let e = paved::TestSuite::from_str(&file, &text.replace("resources: [labelled]", "resources: [labeled]"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("the case has no resource `Pod/labeled`") && e.contains("Pod/shop/labelled"), "{e}");
}

#[test]
fn a_kyverno_tests_context_and_values_are_the_cluster_and_the_requests() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/kyverno-context");
    let suites = paved::TestSuite::from_paths(&[dir]).unwrap();
    let report = suites[0].run("2026-06-01T00:00:00Z".parse().unwrap());
    let checks: Vec<(String, String)> =
        report.cases[0].checks.iter().map(|c| (c.resource.clone(), c.actual.to_string())).collect();
    assert!(report.passed(), "{checks:?}");
    // The third is judged as an update (the values' `request.operation`), which the policy skips.
    assert_eq!(checks.len(), 3, "{checks:?}");
    // Without the context, the quota is not there.
    let file = format!("{dir}/kyverno-test.yaml");
    let text = std::fs::read_to_string(&file).unwrap().replace("context: context.yaml\n", "");
    let report = paved::TestSuite::from_str(&file, &text).unwrap()[0].run("2026-06-01T00:00:00Z".parse().unwrap());
    assert!(!report.passed());
}

#[test]
fn a_policy_exports_as_a_validating_admission_policy_or_says_what_cannot() {
    let text = r#"apiVersion: paved.dev/v1
kind: Policy
metadata: {name: workloads, version: 1.2.0}
spec:
  podControllers: false
  match: {kinds: [apps/v1/Deployment], namespaces: [shop, cart], operations: [CREATE]}
  params: {max: 5, registry: "registry.acme.dev/"}
  variables:
    - {name: images, expression: "object.spec.template.spec.containers.map(c, c.image)"}
  rules:
    - {id: replicas, message: too many replicas, when: "has(object.spec.replicas)", cel: "object.spec.replicas <= params.max"}
    - id: registry
      forEach: /spec/template/spec/containers/*
      message: images come from the registry
      messageExpression: "'container ' + item.name + ' pulls from elsewhere'"
      cel: "item.image.startsWith(params.registry)"
    - {id: labels, message: labels, assert: {required: [metadata]}}
"#;
    let bundle = Bundle::from_str("p.yaml", text).unwrap();
    let e = bundle.export_vap("workloads", false).unwrap_err().to_string();
    assert!(e.contains("rule `labels`: a JSON Schema (`assert`) has no CEL form"), "{e}");
    let export = bundle.export_vap("workloads", true).unwrap();
    assert_eq!(export.notes, ["left out: rule `labels`: a JSON Schema (`assert`) has no CEL form"]);
    let yaml = export.yaml();
    for want in [
        "expression: \"{'max': dyn(5), 'registry': dyn('registry.acme.dev/')}\"",
        "expression: \"!(has(object.spec.replicas)) || (object.spec.replicas <= variables.params.max)\"",
        "object.?spec.?template.?spec.?containers.orValue([]).all(item, item.image.startsWith(variables.params.registry))",
        "key: kubernetes.io/metadata.name",
        "- Deny",
    ] {
        assert!(yaml.contains(want), "{want} missing from:\n{yaml}");
    }
    // What it exports loads in paved as Kubernetes' form, and judges alike.
    let exported = Engine::builder().bundle(Bundle::from_str("vap.yaml", &yaml).unwrap()).build().unwrap();
    let native = Engine::builder().bundle(bundle).build().unwrap();
    let d = Resource::new(
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": 9, "template": {"spec": {"containers": [{"name": "c", "image": "docker.io/nginx"}]}}}}),
    );
    let messages = |e: &Engine| -> Vec<String> {
        let mut m: Vec<String> =
            e.evaluate(std::slice::from_ref(&d), &ctx()).findings.iter().map(|f| f.message.clone()).collect();
        m.sort();
        m
    };
    assert_eq!(messages(&native), ["container c pulls from elsewhere", "too many replicas"]);
    assert_eq!(messages(&exported), messages(&native));
}

#[test]
fn type_checking_against_the_schemas_warns_as_the_api_server_does() {
    let crd = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: limits.acme.dev}
spec:
  group: acme.dev
  names: {kind: Limit, plural: limits, singular: limit}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                maxReplicas: {type: integer}
---
apiVersion: acme.dev/v1
kind: Limit
metadata: {name: limit, namespace: shop}
spec: {maxReplicas: 3}
---
"#;
    let policy = REPLICAS
        .replace(
            "  failurePolicy: Fail\n",
            "  failurePolicy: Fail\n  paramKind: {apiVersion: acme.dev/v1, kind: Limit}\n",
        )
        .replace("variables.replicas <= 5", "variables.replicas <= params.spec.maxReplica")
        .replace("variables.replicas != 3", "object.spec.replica != 3")
        .replace(
            "  validationActions: [Deny]\n",
            "  validationActions: [Deny]\n  paramRef: {name: limit, parameterNotFoundAction: Deny}\n",
        );
    // It loads (the API server creates it), and the engine warns of both misspelt fields.
    let engine = engine(&format!("{crd}{policy}"));
    let notes = engine.notes().join("\n");
    assert!(notes.contains("no field `maxReplica` in params.spec; did you mean `maxReplicas`?"), "{notes}");
    assert!(notes.contains("no field `replica` in Deployment; did you mean `replicas`?"), "{notes}");
    assert!(notes.contains("vap.yaml:46:") && notes.contains("type-checking warning"), "{notes}");
    assert_eq!(engine.notes().len(), 2, "{notes}");
}

#[test]
fn a_param_kind_kubernetes_does_not_have_is_an_error_with_a_did_you_mean() {
    let policy = REPLICAS
        .replace("  failurePolicy: Fail\n", "  failurePolicy: Fail\n  paramKind: {apiVersion: v1, kind: ConfigMpa}\n");
    let e = Bundle::from_str("vap.yaml", &policy).unwrap_err().to_string();
    assert!(
        e.contains("vap.yaml:7:") && e.contains("no kind `ConfigMpa`") && e.contains("did you mean `v1 ConfigMap`?"),
        "{e}"
    );
    // A custom kind's objects may come from the inventory: it loads.
    let custom = REPLICAS.replace(
        "  failurePolicy: Fail\n",
        "  failurePolicy: Fail\n  paramKind: {apiVersion: acme.dev/v1, kind: Limit}\n",
    );
    assert!(Bundle::from_str("vap.yaml", &custom).is_ok());
}
