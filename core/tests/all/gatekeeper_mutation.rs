//! Gatekeeper's mutators (Assign, AssignMetadata, ModifySet, AssignImage) with Gatekeeper's
//! semantics: `location` paths with list selectors and globs, missing parents made, `pathTests`,
//! `assignIf`, `applyTo` and `match`, and their mistakes refused at load.

use paved::{Bundle, Context, Engine, Resource};
use serde_json::{json, Value};

fn engine(bundle: &str) -> Engine {
    Engine::builder().bundle(Bundle::from_str("mutators.yaml", bundle).unwrap()).build().unwrap()
}

fn mutated(engine: &Engine, yaml: &str) -> (Value, paved::Report) {
    let resources = Resource::from_str("in.yaml", yaml).unwrap();
    let (out, report) = engine.mutate(&resources, &Context::parse_at("2026-06-01").unwrap());
    (out[0].value().clone(), report)
}

fn load_error(bundle: &str) -> String {
    match Bundle::from_str("mutators.yaml", bundle).and_then(|b| Engine::builder().bundle(b).build()) {
        Ok(_) => panic!("loaded:\n{bundle}"),
        Err(e) => e.to_string(),
    }
}

const POD: &str = "
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec:
  containers:
    - {name: app, image: nginx:1.27, args: [--verbose, --alsologtostderr]}
    - {name: proxy, image: docker.io/library/envoy:1.30, imagePullPolicy: IfNotPresent}
";

fn assign(name: &str, location: &str, parameters: &str) -> String {
    format!(
        "
apiVersion: mutations.gatekeeper.sh/v1
kind: Assign
metadata: {{name: {name}}}
spec:
  applyTo: [{{groups: [''], kinds: [Pod], versions: [v1]}}]
  match: {{scope: Namespaced, kinds: [{{apiGroups: ['*'], kinds: [Pod]}}]}}
  location: '{location}'
  parameters: {parameters}
"
    )
}

#[test]
fn assign_sets_every_globbed_element_and_only_the_kinds_it_applies_to() {
    let e = engine(&assign("pull-always", "spec.containers[name: *].imagePullPolicy", "{assign: {value: Always}}"));
    let (out, report) = mutated(&e, POD);
    assert_eq!(out["spec"]["containers"][0]["imagePullPolicy"], "Always");
    assert_eq!(out["spec"]["containers"][1]["imagePullPolicy"], "Always");
    assert_eq!(report.patches.len(), 2, "{:#?}", report.patches);
    assert_eq!((report.patches[0].policy.as_str(), report.patches[0].mutation.as_str()), ("pull-always", "Assign"));
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\nspec:\n  template:\n    spec:\n      containers: [{name: app, image: nginx}]\n";
    let (_, report) = mutated(&e, deployment);
    assert!(report.patches.is_empty(), "applyTo names Pod alone: {:#?}", report.patches);
}

#[test]
fn a_missing_keyed_element_is_made_with_its_key_unless_a_path_test_says_it_must_exist() {
    let e = engine(&assign("foo-policy", "spec.containers[name: foo].imagePullPolicy", "{assign: {value: Always}}"));
    let (out, _) = mutated(&e, POD);
    assert_eq!(out["spec"]["containers"][2], json!({"name": "foo", "imagePullPolicy": "Always"}));

    let guarded = assign(
        "privileged",
        "spec.containers[name: foo].securityContext.privileged",
        "{assign: {value: false}, pathTests: [{subPath: 'spec.containers[name: foo]', condition: MustExist}]}",
    );
    let e = engine(&guarded);
    let (out, report) = mutated(&e, POD);
    assert_eq!(out["spec"]["containers"].as_array().unwrap().len(), 2);
    assert!(report.patches.is_empty());
    let with_foo = POD.replace("name: proxy", "name: foo");
    let (out, _) = mutated(&e, &with_foo);
    assert_eq!(out["spec"]["containers"][1]["securityContext"], json!({"privileged": false}), "parents are made");

    let default = assign(
        "default-sa",
        "spec.serviceAccountName",
        "{assign: {value: restricted}, pathTests: [{subPath: spec.serviceAccountName, condition: MustNotExist}]}",
    );
    let e = engine(&default);
    assert_eq!(mutated(&e, POD).0["spec"]["serviceAccountName"], "restricted");
    let (out, report) =
        mutated(&e, &POD.replace("spec:\n  containers", "spec:\n  serviceAccountName: own\n  containers"));
    assert_eq!((out["spec"]["serviceAccountName"].as_str(), report.patches.len()), (Some("own"), 0));
}

#[test]
fn assign_to_a_keyed_element_replaces_or_appends_the_whole_element() {
    let sidecar = "{assign: {value: {name: networking, image: 'quay.io/foo/bar:latest', imagePullPolicy: Always}}}";
    let e = engine(&assign("sidecar", "spec.containers[name: networking]", sidecar));
    let (out, _) = mutated(&e, POD);
    assert_eq!(
        out["spec"]["containers"][2],
        json!({"name": "networking", "image": "quay.io/foo/bar:latest", "imagePullPolicy": "Always"})
    );
    let e = engine(&assign("replace", "spec.containers[name: app]", "{assign: {value: {name: app, image: busybox}}}"));
    let (out, _) = mutated(&e, POD);
    assert_eq!(out["spec"]["containers"][0], json!({"name": "app", "image": "busybox"}));
}

#[test]
fn assign_if_tests_the_value_there_before_setting_it() {
    let e = engine(&assign(
        "only-if",
        "spec.containers[name: *].imagePullPolicy",
        "{assign: {value: Always}, assignIf: {in: [IfNotPresent]}}",
    ));
    let (out, _) = mutated(&e, POD);
    assert_eq!(out["spec"]["containers"][0].get("imagePullPolicy"), None, "missing is not in the list");
    assert_eq!(out["spec"]["containers"][1]["imagePullPolicy"], "Always");
    let e = engine(&assign(
        "not-in",
        "spec.containers[name: *].imagePullPolicy",
        "{assign: {value: Always}, assignIf: {notIn: [IfNotPresent]}}",
    ));
    let (out, _) = mutated(&e, POD);
    assert_eq!(out["spec"]["containers"][0]["imagePullPolicy"], "Always");
    assert_eq!(out["spec"]["containers"][1]["imagePullPolicy"], "IfNotPresent");
}

#[test]
fn assign_metadata_adds_a_label_or_annotation_only_when_absent() {
    let bundle = "
apiVersion: mutations.gatekeeper.sh/v1
kind: AssignMetadata
metadata: {name: owner}
spec:
  match: {scope: Namespaced, excludedNamespaces: [kube-system]}
  location: metadata.annotations.owner
  parameters: {assign: {value: admin}}
---
apiVersion: mutations.gatekeeper.sh/v1beta1
kind: AssignMetadata
metadata: {name: namespace-label}
spec:
  location: metadata.labels.namespace
  parameters: {assign: {fromMetadata: {field: namespace}}}
---
apiVersion: mutations.gatekeeper.sh/v1
kind: AssignMetadata
metadata: {name: app-label}
spec:
  location: metadata.labels.app
  parameters: {assign: {value: other}}
";
    let e = engine(bundle);
    let (out, _) = mutated(&e, POD);
    assert_eq!(out["metadata"]["annotations"], json!({"owner": "admin"}));
    assert_eq!(out["metadata"]["labels"], json!({"app": "web", "namespace": "shop"}), "an existing label is kept");
    let (out, _) = mutated(&e, &POD.replace("namespace: shop", "namespace: kube-system"));
    assert_eq!(out["metadata"].get("annotations"), None, "excluded namespace");
}

#[test]
fn modify_set_merges_and_prunes_values_as_a_set() {
    let bundle = "
apiVersion: mutations.gatekeeper.sh/v1
kind: ModifySet
metadata: {name: remove-err-logging}
spec:
  applyTo: [{groups: [''], kinds: [Pod], versions: [v1]}]
  location: 'spec.containers[name: *].args'
  parameters: {operation: prune, values: {fromList: [--alsologtostderr]}}
---
apiVersion: mutations.gatekeeper.sh/v1
kind: ModifySet
metadata: {name: add-flags}
spec:
  applyTo: [{groups: [''], kinds: [Pod], versions: [v1]}]
  location: 'spec.containers[name: app].args'
  parameters: {values: {fromList: [--verbose, --json]}}
";
    let (out, _) = mutated(&engine(bundle), POD);
    assert_eq!(out["spec"]["containers"][0]["args"], json!(["--verbose", "--json"]));
    assert_eq!(out["spec"]["containers"][1].get("args"), None, "pruning a missing list makes none");
}

#[test]
fn assign_image_replaces_the_parts_it_is_given() {
    let bundle = "
apiVersion: mutations.gatekeeper.sh/v1alpha1
kind: AssignImage
metadata: {name: mirror}
spec:
  applyTo: [{groups: [''], kinds: [Pod], versions: [v1]}]
  location: 'spec.containers[name: *].image'
  parameters: {assignDomain: mirror.example.com:5000}
---
apiVersion: mutations.gatekeeper.sh/v1alpha1
kind: AssignImage
metadata: {name: pin-app}
spec:
  applyTo: [{groups: [''], kinds: [Pod], versions: [v1]}]
  location: 'spec.containers[name: app].image'
  parameters: {assignTag: '@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'}
";
    let (out, _) = mutated(&engine(bundle), POD);
    assert_eq!(
        out["spec"]["containers"][0]["image"],
        "mirror.example.com:5000/nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
    assert_eq!(out["spec"]["containers"][1]["image"], "mirror.example.com:5000/library/envoy:1.30");
}

#[test]
fn operations_and_namespaces_select_what_is_mutated() {
    let bundle = "
apiVersion: mutations.gatekeeper.sh/v1
kind: Assign
metadata: {name: on-create}
spec:
  applyTo: [{groups: [''], kinds: [Pod], versions: [v1], operations: [CREATE]}]
  match: {namespaces: [shop]}
  location: spec.priorityClassName
  parameters: {assign: {value: standard}}
";
    let e = engine(bundle);
    assert_eq!(mutated(&e, POD).0["spec"]["priorityClassName"], "standard");
    let (out, _) = mutated(&e, &POD.replace("namespace: shop", "namespace: other"));
    assert_eq!(out["spec"].get("priorityClassName"), None);
}

#[test]
fn an_exception_waives_a_mutator_by_its_name_and_kind() {
    let bundle = format!(
        "{}---
apiVersion: paved.dev/v1
kind: PolicyException
metadata: {{name: legacy}}
spec:
  policies: [{{name: pull-always, rules: [Assign]}}]
  match: {{namespaces: [shop]}}
  owner: team-shop
  reason: the legacy registry throttles pulls
  expires: 2026-07-01
",
        assign("pull-always", "spec.containers[name: *].imagePullPolicy", "{assign: {value: Always}}")
    );
    let (out, report) = mutated(&engine(&bundle), POD);
    assert_eq!(out["spec"]["containers"][0].get("imagePullPolicy"), None);
    assert!(report.patches.iter().all(|p| p.waived_by.as_deref() == Some("legacy")), "{:#?}", report.patches);
}

#[test]
fn two_assigns_of_one_field_to_different_values_do_not_load() {
    let bundle = format!(
        "{}---{}",
        assign("always", "spec.containers[name: *].imagePullPolicy", "{assign: {value: Always}}"),
        assign("never", "spec.containers[name: *].imagePullPolicy", "{assign: {value: Never}}")
    );
    let e = load_error(&bundle);
    assert!(e.contains("one object would get both"), "{e}");
}

#[test]
fn mutators_with_mistakes_do_not_load_and_say_where_and_why() {
    let cases = [
        (assign("m", "metadata.labels.a", "{assign: {value: x}}"), "cannot change metadata"),
        (assign("m", "spec.containers[name: foo].name", "{assign: {value: x}}"), "would change the key `name`"),
        (assign("m", "spec.containers[name: foo", "{assign: {value: x}}"), "is not a location"),
        (assign("m", "spec.containers.", "{assign: {value: x}}"), "ends with `.`"),
        (assign("m", "spec.containers[name: *]", "{assign: {value: {name: x}}}"), "cannot end with a glob"),
        (assign("m", "spec.containers[name: foo]", "{assign: {value: {name: bar}}}"), "whose `name` is \"foo\""),
        (assign("m", "spec.x", "{assign: {externalData: {provider: p}}}"), "external data"),
        (assign("m", "spec.x", "{assign: {value: 1, fromMetadata: {field: name}}}"), "exactly one of"),
        (assign("m", "spec.x", "{assign: {fromMetadata: {field: uid}}}"), "`uid`"),
        (assign("m", "spec.x", "{assign: {value: 1}, operation: merge}"), "`operation` is not a parameter of Assign"),
        (
            assign("m", "spec.x.y", "{assign: {value: 1}, pathTests: [{subPath: spec.z, condition: MustExist}]}"),
            "not a prefix",
        ),
        (
            assign("m", "spec.x.y", "{assign: {value: 1}, pathTests: [{subPath: spec.x, condition: Must}]}"),
            "`Must`",
        ),
        (
            assign(
                "m",
                "spec.x.y",
                "{assign: {value: 1}, pathTests: [{subPath: spec, condition: MustNotExist}, {subPath: spec.x, condition: MustExist}]}",
            ),
            "must exist below one that must not",
        ),
        (
            "apiVersion: mutations.gatekeeper.sh/v1\nkind: Assign\nmetadata: {name: m}\nspec:\n  location: spec.x\n  parameters: {assign: {value: 1}}\n".into(),
            "needs `applyTo`",
        ),
        (
            "apiVersion: mutations.gatekeeper.sh/v1\nkind: Assign\nmetadata: {name: m}\nspec:\n  applyTo: [{groups: [''], kinds: ['*'], versions: [v1], operations: [DELETE]}]\n  location: spec.x\n  parameters: {assign: {value: 1}}\n".into(),
            "does not take globs",
        ),
        (
            "apiVersion: mutations.gatekeeper.sh/v1\nkind: AssignMetadata\nmetadata: {name: m}\nspec:\n  location: metadata.name\n  parameters: {assign: {value: x}}\n".into(),
            "sets `metadata.labels.<key>`",
        ),
        (
            "apiVersion: mutations.gatekeeper.sh/v1\nkind: AssignMetadata\nmetadata: {name: m}\nspec:\n  location: metadata.labels.a\n  parameters: {assign: {value: 1}}\n".into(),
            "must be a string",
        ),
        (
            "apiVersion: mutations.gatekeeper.sh/v1\nkind: ModifySet\nmetadata: {name: m}\nspec:\n  applyTo: [{groups: [''], kinds: [Pod], versions: [v1]}]\n  location: spec.x\n  parameters: {operation: add}\n".into(),
            "`add`",
        ),
        (
            "apiVersion: mutations.gatekeeper.sh/v1alpha1\nkind: AssignImage\nmetadata: {name: m}\nspec:\n  applyTo: [{groups: [''], kinds: [Pod], versions: [v1]}]\n  location: 'spec.containers[name: a].image'\n  parameters: {assignTag: latest}\n".into(),
            "neither `:tag` nor",
        ),
        (
            "apiVersion: mutations.gatekeeper.sh/v1alpha1\nkind: AssignImage\nmetadata: {name: m}\nspec:\n  applyTo: [{groups: [''], kinds: [Pod], versions: [v1]}]\n  location: 'spec.containers[name: a].image'\n  parameters: {assignPath: my.repo.lib/app}\n".into(),
            "set assignDomain too",
        ),
        (
            "apiVersion: mutations.gatekeeper.sh/v1\nkind: AssignImage\nmetadata: {name: m}\nspec: {}\n".into(),
            "`v1`",
        ),
        (
            "apiVersion: mutations.gatekeeper.sh/v1\nkind: Assing\nmetadata: {name: m}\nspec: {}\n".into(),
            "did you mean `Assign`",
        ),
        (assign("m", "spec.x", "{assign: {value: 1}, pathTest: []}"), "pathTest"),
    ];
    for (bundle, want) in cases {
        let e = load_error(&bundle);
        assert!(e.contains(want), "want `{want}` in:\n{e}\nfor:\n{bundle}");
        assert!(e.contains("mutators.yaml:"), "where: {e}");
    }
}

#[test]
fn a_mutator_whose_path_meets_the_wrong_type_is_a_finding() {
    let e = engine(&assign("bad", "spec.containers.image", "{assign: {value: x}}"));
    let (_, report) = mutated(&e, POD);
    let f = report.findings.iter().find(|f| f.policy == "bad").expect("a finding");
    assert!(f.message.contains("`spec.containers` is a list, not an object"), "{}", f.message);
}

#[test]
fn two_mutators_that_fight_over_one_field_do_not_converge_and_the_request_is_denied() {
    let bundle = format!(
        "{}---{}",
        assign("a-always", "spec.containers[name: *].imagePullPolicy", "{assign: {value: Always}}"),
        assign("b-never", "spec.containers[name: app].imagePullPolicy", "{assign: {value: Never}}")
    );
    let (_, report) = mutated(&engine(&bundle), POD);
    let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(messages.iter().any(|m| m.contains("mutations conflict")), "{messages:#?}");
    assert!(
        report.findings.iter().any(|f| f.message.contains("not idempotent") && f.action == paved::Action::Deny),
        "{messages:#?}"
    );
}

#[test]
fn two_mutators_that_read_the_objects_shape_differently_do_not_load() {
    let by_image = format!(
        "{}---{}",
        assign("pull", "spec.containers[name: *].imagePullPolicy", "{assign: {value: Always}}"),
        assign("by-image", "spec.containers[image: nginx].imagePullPolicy", "{assign: {value: Always}}")
    );
    let e = load_error(&by_image);
    assert!(e.contains("mutators `by-image` (spec.containers[image: nginx].imagePullPolicy) and `pull`"), "{e}");
    assert!(e.contains("`spec.containers` is a list keyed by `name` to one and by `image` to the other"), "{e}");
    let as_object = format!(
        "{}---{}",
        assign("pull", "spec.containers[name: *].imagePullPolicy", "{assign: {value: Always}}"),
        assign("object", "spec.containers.main.image", "{assign: {value: x}}")
    );
    assert!(load_error(&as_object).contains("`spec.containers` is a list to one and an object to the other"));
    // Different elements, or different fields, agree.
    let fine = format!(
        "{}---{}",
        assign("a", "spec.containers[name: a].imagePullPolicy", "{assign: {value: Always}}"),
        assign("b", "spec.containers[name: b].image", "{assign: {value: x}}")
    );
    engine(&fine);
}
