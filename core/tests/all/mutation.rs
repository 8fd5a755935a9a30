//! Mutation: paved's own `mutations` (applyConfiguration, jsonPatch and the shorthands), their
//! order, reinvocation, idempotency, conflicts and exceptions, and validation of the result.

use paved::{Bundle, Context, Engine, Resource};
use serde_json::{json, Value};

fn engine(bundle: &str) -> Engine {
    Engine::builder().bundle(Bundle::from_str("bundle.yaml", bundle).unwrap()).build().unwrap()
}

fn now() -> Context {
    Context::parse_at("2026-06-01").unwrap()
}

fn mutated(engine: &Engine, yaml: &str) -> (Value, paved::Report) {
    let resources = Resource::from_str("in.yaml", yaml).unwrap();
    let (out, report) = engine.mutate(&resources, &now());
    (out[0].value().clone(), report)
}

const DEPLOYMENT: &str = "
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: app
          image: nginx:1.27
";

const DEFAULTS: &str = r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: defaults, version: 1.0.0}
spec:
  match: {kinds: [Pod]}
  params:
    digests: {"nginx:1.27": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
  mutations:
    - id: team
      setLabels: {team: platform, app: ignored}
    - id: priority
      setDefault: {path: /spec/priorityClassName, value: standard}
    - id: spot
      addToleration: {key: spot, operator: Exists, effect: NoSchedule}
    - id: pin
      pinImages: {param: digests}
"#;

#[test]
fn shorthands_mutate_a_workloads_pod_template_and_each_change_is_reported_where_it_is() {
    let e = engine(DEFAULTS);
    let (out, report) = mutated(&e, DEPLOYMENT);
    let template = &out["spec"]["template"];
    assert_eq!(template["metadata"]["labels"], json!({"app": "web", "team": "platform"}), "a label it has is kept");
    assert_eq!(template["metadata"].get("name"), None, "the pod's name is not written into the template");
    assert_eq!(template["spec"]["priorityClassName"], "standard");
    assert_eq!(template["spec"]["tolerations"], json!([{"key": "spot", "operator": "Exists", "effect": "NoSchedule"}]));
    assert_eq!(
        template["spec"]["containers"][0]["image"],
        "nginx:1.27@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
    let ops: Vec<(String, String)> =
        report.patches.iter().map(|p| (p.mutation.clone(), p.operation["path"].as_str().unwrap().to_owned())).collect();
    assert_eq!(
        ops,
        [
            ("team", "/spec/template/metadata/labels/team"),
            ("priority", "/spec/template/spec/priorityClassName"),
            ("spot", "/spec/template/spec/tolerations"),
            ("pin", "/spec/template/spec/containers/0/image"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let pin = report.patches.iter().find(|p| p.mutation == "pin").unwrap();
    assert_eq!(pin.source.as_ref().unwrap().line, 14, "the image's line in the file");
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.resources[0].policies, ["defaults"]);
    // Applied again, nothing changes.
    let (again, report) = mutated(&e, &serde_json::to_string(&out).unwrap());
    assert_eq!(again, out);
    assert!(report.patches.is_empty(), "{:?}", report.patches);
}

#[test]
fn apply_configuration_and_json_patch_run_in_order_and_validation_judges_the_result() {
    let e = engine(
        r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: a-mutate, version: 1.0.0}
spec:
  match: {kinds: [ConfigMap]}
  mutations:
    - id: owner
      applyConfiguration: "Object{metadata: Object.metadata{labels: {'owner': 'team-a'}}}"
    - id: count
      jsonPatch: "[JSONPatch{op: 'add', path: '/data/' + jsonpatch.escapeKey('owner/of'), value: object.metadata.labels.owner}]"
---
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: b-validate, version: 1.0.0}
spec:
  match: {kinds: [ConfigMap]}
  rules:
    - id: owned
      message: a config map has an owner
      cel: "has(object.metadata.labels) && 'owner' in object.metadata.labels"
"#,
    );
    let (out, report) = mutated(&e, "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {a: '1'}}");
    assert_eq!(out["metadata"]["labels"], json!({"owner": "team-a"}));
    assert_eq!(out["data"], json!({"a": "1", "owner/of": "team-a"}));
    assert!(report.findings.is_empty(), "validation saw the mutated object: {:?}", report.findings);
    assert_eq!(report.patches[1].operation, json!({"op": "add", "path": "/data/owner~1of", "value": "team-a"}));
    // `evaluate` mutates too: the same verdict everywhere.
    let r = Resource::from_str("in.yaml", "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {}}").unwrap();
    let report = e.evaluate(&r, &now());
    assert_eq!(report.decision, paved::Decision::Allow);
    assert_eq!(report.patches.len(), 2);
    // Without `data`, the JSON Patch has no parent to add to: the mutation fails, and the policy
    // (failing closed) denies.
    let r = Resource::from_str("in.yaml", "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}").unwrap();
    let report = e.evaluate(&r, &now());
    assert_eq!(report.decision, paved::Decision::Deny);
    assert!(
        report.findings[0].message.contains("JSON Patch: operation 0 failed at /data/owner~1of"),
        "{}",
        report.findings[0].message
    );
}

#[test]
fn a_failed_mutation_is_a_finding_under_the_failure_policy() {
    let e = engine(
        r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: broken, version: 1.0.0}
spec:
  match: {kinds: [Pod]}
  podControllers: false
  mutations:
    - id: missing-parent
      jsonPatch: "[JSONPatch{op: 'add', path: '/data/x/y', value: '1'}]"
    - id: atomic
      applyConfiguration: "Object{spec: Object.spec{tolerations: [{'key': 'x', 'operator': 'Exists'}]}}"
"#,
    );
    let (out, report) = mutated(&e, "{apiVersion: v1, kind: Pod, metadata: {name: c}, spec: {containers: []}}");
    assert_eq!(out["spec"].get("tolerations"), None);
    assert_eq!(report.decision, paved::Decision::Deny);
    let errors: Vec<(&str, &str)> =
        report.findings.iter().map(|f| (f.rule.as_str(), f.error.as_ref().unwrap().kind.as_str())).collect();
    assert_eq!(errors, [("atomic", "mutation"), ("missing-parent", "mutation")]);
    assert!(report.findings[0].message.contains("may not mutate atomic arrays, maps or structs: .spec.tolerations"));
}

#[test]
fn a_mutation_that_is_not_idempotent_is_reported_and_its_second_change_not_made() {
    let e = engine(
        r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: counter, version: 1.0.0}
spec:
  match: {kinds: [ConfigMap]}
  mutations:
    - id: grow
      jsonPatch: "[JSONPatch{op: 'add', path: '/data/n' + string(size(object.data)), value: 'x'}]"
"#,
    );
    let (out, report) = mutated(&e, "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {}}");
    assert_eq!(out["data"], json!({"n0": "x"}));
    let f = &report.findings[0];
    assert!(f.message.contains("mutation `grow` is not idempotent"), "{}", f.message);
    assert_eq!(f.action, paved::Action::Deny);
}

#[test]
fn mutations_that_set_one_field_to_two_values_are_a_conflict_and_the_later_stands() {
    let e = engine(
        r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: a, version: 1.0.0}
spec:
  match: {kinds: [ConfigMap]}
  mutations:
    - {id: tier, applyConfiguration: "Object{metadata: Object.metadata{labels: {'tier': 'gold'}}}"}
---
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: b, version: 1.0.0}
spec:
  match: {kinds: [ConfigMap]}
  mutations:
    - {id: tier, applyConfiguration: "Object{metadata: Object.metadata{labels: {'tier': 'silver'}}}"}
"#,
    );
    let (out, report) = mutated(&e, "{apiVersion: v1, kind: ConfigMap, metadata: {name: c, labels: {x: y}}}");
    assert_eq!(out["metadata"]["labels"]["tier"], "silver");
    let conflict = report.findings.iter().find(|f| f.message.contains("conflict")).unwrap();
    assert_eq!(conflict.action, paved::Action::Warn);
    assert!(conflict.message.contains("`a/tier` set /metadata/labels/tier to \"gold\", then `b/tier` to \"silver\""));
}

#[test]
fn reinvocation_if_needed_runs_a_policy_again_after_a_later_change() {
    let bundle = |reinvocation: &str| {
        format!(
            r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: {{name: a-copy, version: 1.0.0}}
spec:
  match: {{kinds: [ConfigMap]}}
  reinvocationPolicy: {reinvocation}
  mutations:
    - id: copy
      when: "has(object.data) && 'source' in object.data"
      applyConfiguration: "Object{{data: {{'copy': object.data.source}}}}"
---
apiVersion: paved.dev/v1
kind: Policy
metadata: {{name: b-source, version: 1.0.0}}
spec:
  match: {{kinds: [ConfigMap]}}
  mutations:
    - id: source
      applyConfiguration: "Object{{data: {{'source': 'b'}}}}"
"#
        )
    };
    let cm = "{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}";
    let (out, _) = mutated(&engine(&bundle("IfNeeded")), cm);
    assert_eq!(out["data"], json!({"source": "b", "copy": "b"}));
    let (out, report) = mutated(&engine(&bundle("Never")), cm);
    assert_eq!(out["data"], json!({"source": "b"}));
    // Without reinvocation the result is not stable: running the mutations again changes it.
    assert!(report.findings.iter().any(|f| f.message.contains("`copy` is not idempotent")), "{:?}", report.findings);
}

#[test]
fn an_exception_waives_a_mutation_which_is_shown_and_not_made() {
    let e = engine(&format!(
        "{DEFAULTS}
---
apiVersion: paved.dev/v1
kind: PolicyException
metadata: {{name: legacy-web}}
spec:
  policies: [{{name: defaults, rules: [pin]}}]
  match: {{names: [web]}}
  owner: team-web
  reason: the image is rebuilt in place
  expires: 2026-07-01
"
    ));
    let (out, report) = mutated(&e, DEPLOYMENT);
    assert_eq!(out["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");
    let pin = report.patches.iter().find(|p| p.mutation == "pin").unwrap();
    assert_eq!(pin.waived_by.as_deref(), Some("legacy-web"));
    assert_eq!(report.exceptions[0].waived, 1);
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

#[test]
fn mutation_documents_with_mistakes_do_not_load() {
    let load = |mutation: &str| {
        let text = format!(
            "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{name: p, version: 1.0.0}}\nspec:\n  match: {{kinds: [Pod]}}\n  mutations:\n    - {mutation}\n"
        );
        Bundle::from_str("p.yaml", &text).and_then(|b| Engine::builder().bundle(b).build()).unwrap_err().to_string()
    };
    assert!(load("{id: a}").contains("exactly one of `applyConfiguration`"));
    assert!(load("{id: a, addToleration: {key: x, efect: NoSchedule}}").contains("did you mean `effect`?"));
    assert!(
        load("{id: a, jsonPatch: \"[JSONPatch{op: 'add', pth: '/x'}]\"}").contains("`JSONPatch` has no field `pth`")
    );
    assert!(load("{id: a, applyConfiguration: \"Thing{a: 1}\"}").contains("only `Object{...}` and `JSONPatch{...}`"));
    assert!(load("{id: a, setDefault: {path: /spec/containers/0/image, value: x}}").contains("not a field"));
    assert!(
        load("{id: a, pinImages: {param: digests}}").contains("digests"),
        "{}",
        load("{id: a, pinImages: {param: digests}}")
    );
}

const MAP: &str = r#"
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicy
metadata: {name: seen}
spec:
  failurePolicy: Fail
  reinvocationPolicy: Never
  matchConstraints:
    resourceRules:
      - {apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}
  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: "Object{metadata: Object.metadata{labels: {'paved.dev/seen': 'yes'}}}"
    - patchType: JSONPatch
      jsonPatch:
        expression: "[JSONPatch{op: 'add', path: '/data/added', value: string(size(object.data))}]"
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingAdmissionPolicyBinding
metadata: {name: seen}
spec:
  policyName: seen
  matchResources:
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: mutated}}
"#;

#[test]
fn a_mutating_admission_policy_and_its_binding_mutate_as_the_api_server_does() {
    let e = engine(MAP);
    let cm = "{apiVersion: v1, kind: ConfigMap, metadata: {name: cm, namespace: mutated}, data: {a: '1', b: '2'}}";
    let (out, report) = mutated(&e, cm);
    assert_eq!(out["metadata"]["labels"], json!({"paved.dev/seen": "yes"}));
    assert_eq!(out["data"], json!({"a": "1", "b": "2", "added": "2"}));
    assert_eq!(report.patches[0].policy, "seen");
    assert_eq!(report.patches[1].mutation, "mutations[1]");
    // Outside the binding's namespaces, nothing.
    let (out, report) = mutated(&e, &cm.replace("namespace: mutated", "namespace: other"));
    assert_eq!(out.pointer("/metadata/labels"), None);
    assert!(report.patches.is_empty());
    // What a MutatingAdmissionPolicy may not have, and a mutation of the wrong shape.
    let err = |text: String| {
        Bundle::from_str("map.yaml", &text).and_then(|b| Engine::builder().bundle(b).build()).unwrap_err().to_string()
    };
    let e1 = err(MAP.replace(
        "  reinvocationPolicy: Never\n",
        "  reinvocationPolicy: Never\n  validations: [{expression: 'true'}]\n",
    ));
    assert!(e1.contains("a MutatingAdmissionPolicy has no field `validations`"), "{e1}");
    let e2 = err(MAP.replace("patchType: JSONPatch", "patchType: JsonPatch"));
    assert!(e2.contains("JsonPatch") && e2.contains("JSONPatch"), "{e2}");
    let e3 = err(MAP.replace("  policyName: seen\n", "  policyName: seen\n  validationActions: [Deny]\n"));
    assert!(e3.contains("has no field `validationActions`"), "{e3}");
    // As the API server refuses them when they are created.
    let e4 = err(MAP.replace("  reinvocationPolicy: Never\n", ""));
    assert!(e4.contains("`reinvocationPolicy` is required"), "{e4}");
    let e5 = err(MAP.replace(
        "Object{metadata: Object.metadata{labels: {'paved.dev/seen': 'yes'}}}",
        "{'metadata': {'labels': {'a': 'b'}}}",
    ));
    assert!(e5.contains("must evaluate to Object but got map(string, map(string, map(string, string)))"), "{e5}");
}

/// The example's defaults, every shorthand and an apply configuration, a JSON patch that adds
/// only what is missing: mutations that must be idempotent on any pod. Built once.
static IDEMPOTENT: std::sync::LazyLock<Engine> = std::sync::LazyLock::new(defaults);

fn defaults() -> Engine {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/mutation/bundle");
    let mut bundle = Bundle::from_paths(&[example]).unwrap();
    bundle = bundle.merge(
        Bundle::from_str(
            "more.yaml",
            r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: more-defaults, version: 1.0.0}
spec:
  match: {kinds: [Pod]}
  mutations:
    - {id: owner, setAnnotations: {example.com/owner: platform}}
    - id: grace
      jsonPatch: "has(object.spec.terminationGracePeriodSeconds) ? [] : [JSONPatch{op: 'add', path: '/spec/terminationGracePeriodSeconds', value: 30}]"
    - id: seccomp
      applyConfiguration: "has(object.spec.securityContext) && has(object.spec.securityContext.seccompProfile) ? Object{} : Object{spec: Object.spec{securityContext: Object.spec.securityContext{seccompProfile: Object.spec.securityContext.seccompProfile{type: 'RuntimeDefault'}}}}"
"#,
        )
        .unwrap(),
    );
    Engine::builder().bundle(bundle).build().unwrap()
}

/// Mutating what the mutations made changes nothing, and reports nothing.
fn stable(engine: &Engine, resource: &Resource, what: &str) -> Result<(), String> {
    let (once, report) = engine.mutate(std::slice::from_ref(resource), &now());
    let errors: Vec<&str> = report.findings.iter().filter(|f| f.error.is_some()).map(|f| f.message.as_str()).collect();
    if !errors.is_empty() {
        return Err(format!("{what}: {errors:?}"));
    }
    let (twice, again) = engine.mutate(&once, &now());
    if twice[0].value() != once[0].value() || !again.patches.is_empty() {
        return Err(format!("{what}: mutating the result changed it: {:?}", again.patches));
    }
    Ok(())
}

#[test]
fn mutations_are_idempotent_on_every_pod_security_fixture() {
    let engine = &*IDEMPOTENT;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/pod-security-admission");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    let (mut checked, mut changed, mut wrong) = (0, 0, Vec::new());
    for file in &files {
        for resource in Resource::from_paths(std::slice::from_ref(file)).unwrap() {
            checked += 1;
            let (out, _) = engine.mutate(std::slice::from_ref(&resource), &now());
            changed += usize::from(out[0].value() != resource.value());
            if let Err(e) = stable(engine, &resource, &file.display().to_string()) {
                wrong.push(e);
            }
        }
    }
    eprintln!("{checked} fixtures mutated ({changed} changed), each once more: {} stable", checked - wrong.len());
    assert!(wrong.is_empty(), "{} not stable:\n{}", wrong.len(), wrong.join("\n"));
    assert!(checked > 4000 && changed > 4000, "{checked} fixtures, {changed} changed");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn mutations_are_idempotent_on_generated_pods(
        containers in proptest::collection::vec(("[a-c]{1,2}", proptest::option::of("(registry.example.com/shop/web:1.4.2|nginx:1.2[0-9])"), proptest::option::of(proptest::bool::ANY)), 0..4),
        labels in proptest::collection::btree_map("(app|team|cost-center)", "[a-z]{1,3}", 0..3),
        tolerations in proptest::option::of(proptest::collection::vec(("(spot|gpu)", "(Exists|Equal)"), 0..3)),
        priority in proptest::option::of("(low|standard)"),
        workload in proptest::bool::ANY,
    ) {
        let mut seen = std::collections::BTreeSet::new();
        let containers: Vec<Value> = containers
            .into_iter()
            .filter(|(name, _, _)| seen.insert(name.clone()))
            .map(|(name, image, escalation)| {
                let mut c = json!({"name": name, "image": image.unwrap_or_else(|| "busybox".into())});
                if let Some(e) = escalation {
                    c["securityContext"] = json!({"allowPrivilegeEscalation": e});
                }
                c
            })
            .collect();
        let mut spec = json!({"containers": containers});
        if let Some(ts) = tolerations {
            spec["tolerations"] = ts.into_iter().map(|(key, op)| json!({"key": key, "operator": op})).collect();
        }
        if let Some(p) = priority {
            spec["priorityClassName"] = json!(p);
        }
        let metadata = json!({"name": "p", "namespace": "shop", "labels": labels});
        let object = if workload {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "shop"},
                "spec": {"template": {"metadata": metadata, "spec": spec}}})
        } else {
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
        };
        let resource = Resource::new(object);
        proptest::prop_assert_eq!(stable(&IDEMPOTENT, &resource, "generated"), Ok(()));
    }
}

#[test]
fn two_shorthands_that_set_one_field_to_different_values_do_not_load() {
    let bundle = r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: a, version: 1.0.0}
spec:
  match: {kinds: [Pod]}
  mutations:
    - {id: tier, setLabels: {tier: gold}}
---
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: b, version: 1.0.0}
spec:
  match: {kinds: [Pod]}
  mutations:
    - {id: tier, setLabels: {tier: silver}}
"#;
    let err = Bundle::from_str("b.yaml", bundle).and_then(|b| Engine::builder().bundle(b).build()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("mutation `b/tier` sets /metadata/labels/tier to \"silver\", and `a/tier` sets it to \"gold\""),
        "{text}"
    );
    assert!(text.contains("b.yaml:16:29:"), "at the mutation: {text}");
    // Policies that never meet one object do not conflict.
    let apart = bundle.replacen("kinds: [Pod]", "kinds: [ConfigMap]", 1);
    assert!(Bundle::from_str("b.yaml", &apart).and_then(|b| Engine::builder().bundle(b).build()).is_ok());
}

#[test]
fn a_kyverno_mutating_policy_mutates_without_a_binding_and_its_pod_policy_reaches_workloads() {
    let e = engine(
        r#"
apiVersion: policies.kyverno.io/v1
kind: MutatingPolicy
metadata: {name: add-label}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}
  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration:
        expression: >
          Object{ metadata: Object.metadata{ labels: Object.metadata.labels{ foo: "bar" } } }
"#,
    );
    let (out, report) = mutated(&e, "{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: []}}");
    assert_eq!(out["metadata"]["labels"], json!({"foo": "bar"}));
    assert_eq!(report.patches[0].mutation, "mutations[0]");
    let (out, _) = mutated(&e, DEPLOYMENT);
    assert_eq!(out["spec"]["template"]["metadata"]["labels"], json!({"app": "web", "foo": "bar"}));
    let existing = r#"
apiVersion: policies.kyverno.io/v1alpha1
kind: MutatingPolicy
metadata: {name: existing}
spec:
  matchConstraints:
    resourceRules:
      - {apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [configmaps]}
  evaluation: {mutateExisting: {enabled: true}}
  targetMatchConstraints:
    resourceRules:
      - {apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [secrets]}
  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration: {expression: "Object{metadata: Object.metadata{labels: {'a': 'b'}}}"}
"#;
    let err = Bundle::from_str("k.yaml", existing).and_then(|b| Engine::builder().bundle(b).build()).unwrap_err();
    assert!(err.to_string().contains("mutates other, existing objects"), "{err}");
}

#[test]
fn a_kyverno_test_of_a_mutating_policy_compares_the_patched_resource() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "policy.yaml",
        r#"
apiVersion: policies.kyverno.io/v1alpha1
kind: MutatingPolicy
metadata: {name: add-team}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [''], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
  matchConditions:
    - {name: opted-in, expression: "has(object.metadata.labels) && 'app' in object.metadata.labels"}
  mutations:
    - patchType: ApplyConfiguration
      applyConfiguration: {expression: "Object{metadata: Object.metadata{labels: {'team': 'shop'}}}"}
"#,
    );
    write(
        "resources.yaml",
        "{apiVersion: v1, kind: Pod, metadata: {name: a, labels: {app: web}}, spec: {containers: []}}\n---\n{apiVersion: v1, kind: Pod, metadata: {name: b}, spec: {containers: []}}\n",
    );
    write(
        "patched.yaml",
        "{apiVersion: v1, kind: Pod, metadata: {name: a, labels: {app: web, team: shop}}, spec: {containers: []}}\n",
    );
    // Kyverno's decoder matches fields whatever their case, and the library's suites rely on it.
    let test = "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata: {name: t}\npolicies: [policy.yaml]\nresources: [resources.yaml]\nresults:\n  - {policy: add-team, kind: Pod, resources: [a], patchedResources: patched.yaml, result: pass, isMUtatingPolicy: true}\n  - {policy: add-team, kind: Pod, resources: [b], result: skip, isMutatingPolicy: true}\n";
    write("kyverno-test.yaml", test);
    let run = || paved::TestSuite::from_paths(&[dir.path()]).unwrap()[0].run("2026-06-01T00:00:00Z".parse().unwrap());
    let report = run();
    assert!(report.passed(), "{:?}", report.cases[0].checks);
    write(
        "patched.yaml",
        "{apiVersion: v1, kind: Pod, metadata: {name: a, labels: {app: web, team: data}}, spec: {containers: []}}\n",
    );
    let report = run();
    let check = &report.cases[0].checks[0];
    assert_eq!(check.actual, paved::Outcome::Fail);
    assert!(
        check.findings[0].message.contains("has \"shop\" at /metadata/labels/team, the patched one \"data\""),
        "{:?}",
        check.findings
    );
}
