//! Gatekeeper's ConstraintTemplates and Constraints: the library's own `gator verify` suites,
//! run under `paved test` with each template's CEL and with its Rego; Gatekeeper's match,
//! enforcement actions, inventory, sync list and expansion; and bad input, refused with where
//! and why.

use std::path::{Path, PathBuf};

use paved::{Action, Budget, Bundle, Context, Engine, ErrorKind, Inventory, Resource, TestSuite};
use serde_json::json;

fn library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gatekeeper-library/library")
}

/// Every `suite.yaml` of the library, sorted.
fn suites() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for group in std::fs::read_dir(library()).unwrap() {
        let group = group.unwrap().path();
        if !group.is_dir() {
            continue;
        }
        for dir in std::fs::read_dir(group).unwrap() {
            let suite = dir.unwrap().path().join("suite.yaml");
            if suite.is_file() {
                out.push(suite);
            }
        }
    }
    out.sort();
    out
}

/// The one suite paved cannot read, and why: its template's YAML has a quoted string whose next
/// line is not indented past its key, which YAML 1.2 refuses and Go's YAML reader takes.
const UNREADABLE: &[(&str, &str)] = &[("general/httpsonly", "invalid indentation in quoted scalar")];

fn run_library(rego: bool) -> (usize, usize, Vec<String>) {
    let now = "2026-06-01T00:00:00Z".parse().unwrap();
    let (mut cases, mut passed, mut failed) = (0, 0, Vec::new());
    let all = suites();
    assert_eq!(all.len(), 49, "the library's suites");
    for path in all {
        let name = path.parent().unwrap().strip_prefix(library()).unwrap().to_string_lossy().into_owned();
        let loaded = TestSuite::from_paths(std::slice::from_ref(&path));
        if let Some((_, why)) = UNREADABLE.iter().find(|(n, _)| *n == name) {
            let e = loaded.expect_err(&name).to_string();
            assert!(e.contains(why), "{name}: {e}");
            continue;
        }
        let loaded = loaded.unwrap_or_else(|e| panic!("{name}: {e}"));
        for suite in loaded {
            let suite = if rego { suite.with_gatekeeper_rego() } else { suite };
            for case in suite.run(now).cases {
                cases += 1;
                if case.passed() {
                    passed += 1;
                } else {
                    failed.push(format!("{name}: {} {:?} {:?}", case.name, case.error, case.checks));
                }
            }
        }
    }
    (cases, passed, failed)
}

#[test]
fn the_library_suites_agree_with_the_templates_cel() {
    let (cases, passed, failed) = run_library(false);
    eprintln!("gatekeeper library, CEL where a template has it: {passed}/{cases} cases agree");
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(cases >= 266, "{cases}");
}

#[test]
fn the_library_suites_agree_with_the_templates_rego() {
    let (cases, passed, failed) = run_library(true);
    eprintln!("gatekeeper library, Rego everywhere: {passed}/{cases} cases agree");
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(cases >= 266, "{cases}");
}

/// A template on any kind whose Rego flags an object labelled `bad`, echoing the parameters.
const TEMPLATE: &str = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sbadlabel
spec:
  crd:
    spec:
      names:
        kind: K8sBadLabel
      validation:
        openAPIV3Schema:
          type: object
          properties:
            word:
              type: string
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sbadlabel

        violation[{"msg": msg, "details": {"word": word}}] {
          input.review.object.metadata.labels.bad
          word := object.get(input.parameters, "word", "bad")
          msg := sprintf("%v is %v", [input.review.object.metadata.name, word])
        }
"#;

fn constraint(spec: &str) -> String {
    format!(
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sBadLabel\nmetadata:\n  name: no-bad\nspec:\n{spec}\n"
    )
}

fn engine(docs: &[&str]) -> Result<Engine, paved::Error> {
    Engine::builder().bundle(Bundle::from_str("gk.yaml", &docs.join("\n---\n"))?).build()
}

fn object(kind: &str, namespace: Option<&str>, labels: serde_json::Value) -> Resource {
    let (api, spec) = match kind {
        "Deployment" => (
            "apps/v1",
            json!({"selector": {}, "template": {"metadata": {"labels": labels}, "spec": {"containers": []}}}),
        ),
        _ => ("v1", json!({})),
    };
    let mut metadata = json!({"name": "x", "labels": labels});
    if let Some(ns) = namespace {
        metadata["namespace"] = json!(ns);
    }
    Resource::new(json!({"apiVersion": api, "kind": kind, "metadata": metadata, "spec": spec}))
}

fn ctx() -> Context {
    let labels = [("prod".to_owned(), [("tier".to_owned(), "gold".to_owned())].into())].into();
    Context::parse_at("2026-06-01").unwrap().namespaces(labels)
}

#[test]
fn a_constraint_binds_its_template_with_gatekeepers_match_and_parameters() {
    let spec = "  match:\n    kinds: [{apiGroups: [\"\"], kinds: [ConfigMap, Namespace]}]\n    excludedNamespaces: [kube-*]\n  parameters: {word: naughty}";
    let engine = engine(&[TEMPLATE, &constraint(spec)]).unwrap();
    let bad = json!({"bad": "yes"});
    let report = engine.evaluate(&[object("ConfigMap", Some("prod"), bad.clone())], &ctx());
    let [f] = report.findings.as_slice() else { panic!("{:#?}", report.findings) };
    assert_eq!(
        (f.policy.as_str(), f.binding.as_deref(), f.rule.as_str()),
        ("k8sbadlabel", Some("no-bad"), "violation")
    );
    assert_eq!(f.message, "x is naughty");
    assert_eq!(f.detail.as_deref(), Some(r#"{"word":"naughty"}"#));
    assert_eq!(f.action, Action::Deny);
    // Excluded namespaces, by glob; a Namespace is its own namespace; other kinds are not met.
    assert!(engine.evaluate(&[object("ConfigMap", Some("kube-system"), bad.clone())], &ctx()).findings.is_empty());
    let ns = Resource::new(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-public", "labels": bad}}),
    );
    assert!(engine.evaluate(&[ns], &ctx()).findings.is_empty());
    assert!(engine.evaluate(&[object("Secret", Some("prod"), json!({"bad": "yes"}))], &ctx()).findings.is_empty());
}

#[test]
fn selectors_scope_and_name_follow_gatekeeper() {
    let bad = json!({"bad": "yes", "app": "web"});
    let finds = |spec: &str, r: Resource| {
        !engine(&[TEMPLATE, &constraint(spec)]).unwrap().evaluate(&[r], &ctx()).findings.is_empty()
    };
    let cm = |ns: Option<&str>| object("ConfigMap", ns, bad.clone());
    assert!(finds("  match:\n    namespaceSelector: {matchLabels: {tier: gold}}", cm(Some("prod"))));
    assert!(!finds("  match:\n    namespaceSelector: {matchLabels: {tier: gold}}", cm(Some("dev"))));
    assert!(finds("  match:\n    labelSelector: {matchLabels: {app: web}}", cm(Some("dev"))));
    assert!(!finds("  match:\n    labelSelector: {matchLabels: {app: api}}", cm(Some("dev"))));
    assert!(finds("  match:\n    namespaces: [prod]", cm(Some("prod"))));
    assert!(!finds("  match:\n    namespaces: [prod]", cm(Some("dev"))));
    let node = || object("Node", None, bad.clone());
    // A cluster-scoped object is never left out by namespace matchers.
    assert!(finds("  match:\n    namespaces: [prod]\n    namespaceSelector: {matchLabels: {tier: gold}}", node()));
    assert!(finds("  match:\n    scope: Cluster", node()));
    assert!(!finds("  match:\n    scope: Namespaced", node()));
    assert!(!finds("  match:\n    scope: Cluster", cm(Some("prod"))));
    assert!(finds("  match:\n    name: \"x*\"", cm(Some("prod"))));
    assert!(!finds("  match:\n    name: \"y*\"", cm(Some("prod"))));
}

#[test]
fn enforcement_actions_are_paveds_actions() {
    let action = |spec: &str| {
        let engine = engine(&[TEMPLATE, &constraint(spec)]).unwrap();
        let report = engine.evaluate(&[object("ConfigMap", Some("prod"), json!({"bad": "1"}))], &ctx());
        report.findings[0].action
    };
    assert_eq!(action("  enforcementAction: deny"), Action::Deny);
    assert_eq!(action("  enforcementAction: warn"), Action::Warn);
    assert_eq!(action("  enforcementAction: dryrun"), Action::Audit);
    let scoped = |actions: &str| format!("  enforcementAction: scoped\n  scopedEnforcementActions:\n{actions}");
    let webhook_warn_audit_deny = scoped(
        "    - {action: warn, enforcementPoints: [{name: validation.gatekeeper.sh}]}\n    - {action: deny, enforcementPoints: [{name: audit.gatekeeper.sh}]}",
    );
    assert_eq!(action(&webhook_warn_audit_deny), Action::Warn);
    assert_eq!(
        action(&scoped("    - {action: deny, enforcementPoints: [{name: audit.gatekeeper.sh}]}")),
        Action::Audit
    );
    assert_eq!(action(&scoped("    - {action: deny, enforcementPoints: [{name: \"*\"}]}")), Action::Deny);
    let e = engine(&[TEMPLATE, &constraint("  enforcementAction: block")]).unwrap_err().to_string();
    assert!(e.contains("`block`") && e.contains("deny"), "{e}");
}

#[test]
fn bad_templates_and_constraints_are_errors_at_their_lines() {
    let broken = TEMPLATE.replace("          msg := sprintf", "          msg := sprintf(((");
    let e = engine(&[&broken, &constraint("  parameters: {word: w}")]).unwrap_err().to_string();
    assert!(e.contains("the template's Rego does not compile") && e.contains("gk.yaml:24:"), "{e}");
    let http = TEMPLATE.replace("input.review.object.metadata.labels.bad\n", "http.send({\"url\": \"x\"})\n");
    let e = engine(&[&http]).unwrap_err().to_string();
    assert!(e.contains("`http.send` reaches the network"), "{e}");
    let external = TEMPLATE
        .replace("input.review.object.metadata.labels.bad\n", "external_data({\"provider\": \"p\", \"keys\": []})\n");
    let e = engine(&[&external]).unwrap_err().to_string();
    assert!(e.contains("`external_data`"), "{e}");
    // A constraint of a kind no template defines.
    let other = constraint("  parameters: {word: w}").replace("K8sBadLabel", "K8sBadLabels");
    let e = engine(&[TEMPLATE, &other]).unwrap_err().to_string();
    assert!(
        e.contains("`K8sBadLabels`, which no loaded ConstraintTemplate defines") && e.contains("k8sbadlabel"),
        "{e}"
    );
    // Parameters that do not fit the template's schema, at their line.
    let e = engine(&[TEMPLATE, &constraint("  parameters:\n    word: 3")]).unwrap_err().to_string();
    assert!(e.contains("gk.yaml:34") && e.contains("word"), "{e}");
    let e = engine(&[TEMPLATE, &constraint("  parameters:\n    wrod: w")]).unwrap_err().to_string();
    assert!(e.contains("wrod"), "{e}");
    let bad_schema = TEMPLATE.replace("type: string", "type: strin");
    let e = engine(&[&bad_schema]).unwrap_err().to_string();
    assert!(e.contains("the params schema does not compile") && e.contains("gk.yaml:12:"), "{e}");
    let no_violation = TEMPLATE.replace("violation[{", "deny[{");
    let e = engine(&[&no_violation]).unwrap_err().to_string();
    assert!(e.contains("defines no `violation` rule"), "{e}");
    // A template's name is its kind in lower case.
    let e = engine(&[&TEMPLATE.replace("name: k8sbadlabel", "name: bad-label")]).unwrap_err().to_string();
    assert!(e.contains("`k8sbadlabel`"), "{e}");
}

#[test]
fn a_stopped_evaluation_does_not_start_rego_and_a_failing_rego_is_a_finding() {
    let engine = engine(&[TEMPLATE, &constraint("  parameters: {word: w}")]).unwrap();
    let budget = Budget::new();
    budget.stop();
    let report = engine.evaluate(&[object("ConfigMap", Some("prod"), json!({"bad": "1"}))], &ctx().budget(budget));
    let f = &report.findings[0];
    assert_eq!(f.error.as_ref().map(|e| e.kind), Some(ErrorKind::Deadline), "{f:?}");
    assert_eq!(f.action, Action::Deny);
    // A Rego that runs too long is stopped by its time limit: a finding that says so.
    let slow = TEMPLATE.replace(
        "          input.review.object.metadata.labels.bad\n",
        "          input.review.object.metadata.labels.bad\n          x := numbers.range(1, 20000)[_]\n          y := numbers.range(1, 20000)[_]\n          x * y == -1\n",
    );
    let engine = self::engine(&[&slow, &constraint("  parameters: {word: w}")]).unwrap();
    let report = engine.evaluate(&[object("ConfigMap", Some("prod"), json!({"bad": "1"}))], &ctx());
    let f = &report.findings[0];
    assert_eq!(f.error.as_ref().map(|e| e.kind), Some(ErrorKind::Deadline), "{f:?}");
    assert!(f.message.contains("time limit"), "{}", f.message);
    // A rule with two values for one input fails at run time: a finding with the cause.
    let conflict = TEMPLATE.replace(
        "          msg := sprintf",
        "          one := {\"a\": 1}[_]\n          two := two_values\n          msg := sprintf",
    ) + "        two_values := 1 { true }\n        two_values := 2 { true }\n";
    let engine = self::engine(&[&conflict, &constraint("  parameters: {word: w}")]).unwrap();
    let report = engine.evaluate(&[object("ConfigMap", Some("prod"), json!({"bad": "1"}))], &ctx());
    let f = &report.findings[0];
    assert_eq!(f.error.as_ref().map(|e| e.kind), Some(ErrorKind::Rego), "{f:?}");
    assert_eq!(f.action, Action::Deny);
}

/// A template whose Rego flags an Ingress host another Ingress in `data.inventory` has.
const UNIQUE_HOST: &str = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8suniquehost
spec:
  crd:
    spec:
      names:
        kind: K8sUniqueHost
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8suniquehost

        violation[{"msg": msg}] {
          host := input.review.object.spec.rules[_].host
          other := data.inventory.namespace[ns][gv]["Ingress"][name]
          other.spec.rules[_].host == host
          not [ns, name] == [input.review.object.metadata.namespace, input.review.object.metadata.name]
          msg := sprintf("host %v is taken by %v/%v", [host, ns, name])
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sUniqueHost
metadata:
  name: unique-hosts
"#;

fn ingress(ns: &str, name: &str, host: &str) -> Resource {
    Resource::new(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"rules": [{"host": host}]},
    }))
}

#[test]
fn data_inventory_holds_the_inventory_in_gatekeepers_layout_and_the_sync_list_narrows_it() {
    let inventory = Inventory::new(&[ingress("shop", "old", "a.example.com")]);
    let ctx = Context::parse_at("2026-06-01").unwrap().inventory(inventory);
    let engine = engine(&[UNIQUE_HOST]).unwrap();
    let report = engine.evaluate(&[ingress("web", "new", "a.example.com"), ingress("web", "b", "b.example.com")], &ctx);
    let messages: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(messages, ["host a.example.com is taken by shop/old"]);
    // Gatekeeper syncs only what its Config lists: Ingresses are not among them here.
    let config = "apiVersion: config.gatekeeper.sh/v1alpha1\nkind: Config\nmetadata: {name: config, namespace: gatekeeper-system}\nspec:\n  sync:\n    syncOnly:\n      - {group: \"\", version: v1, kind: Namespace}";
    let engine = self::engine(&[UNIQUE_HOST, config]).unwrap();
    assert!(engine.evaluate(&[ingress("web", "new", "a.example.com")], &ctx).findings.is_empty());
    let syncset = "apiVersion: syncset.gatekeeper.sh/v1alpha1\nkind: SyncSet\nmetadata: {name: ingresses}\nspec:\n  gvks:\n    - {group: networking.k8s.io, version: v1, kind: Ingress}";
    let engine = self::engine(&[UNIQUE_HOST, config, syncset]).unwrap();
    assert_eq!(engine.evaluate(&[ingress("web", "new", "a.example.com")], &ctx).findings.len(), 1);
}

const EXPANSION: &str = r#"apiVersion: expansion.gatekeeper.sh/v1beta1
kind: ExpansionTemplate
metadata:
  name: expand-deployments
spec:
  applyTo:
    - groups: [apps]
      kinds: [Deployment]
      versions: [v1]
  templateSource: spec.template
  generatedGVK: {kind: Pod, group: "", version: v1}
"#;

#[test]
fn a_constraint_on_pods_meets_workloads_only_through_an_expansion_template() {
    let on_pods = constraint("  match:\n    kinds: [{apiGroups: [\"\"], kinds: [Pod]}]\n  parameters: {word: w}");
    let deployment = || object("Deployment", Some("prod"), json!({"bad": "1"}));
    let without = engine(&[TEMPLATE, &on_pods]).unwrap();
    assert!(without.evaluate(&[deployment()], &ctx()).findings.is_empty());
    let with = engine(&[TEMPLATE, &on_pods, EXPANSION]).unwrap();
    let report = with.evaluate(&[deployment()], &ctx());
    let [f] = report.findings.as_slice() else { panic!("{:#?}", report.findings) };
    assert_eq!(f.path, "/spec/template");
    assert_eq!(f.resource.kind, "Deployment");
    // `source: Original` leaves the pods a workload makes out; the expansion's action wins.
    let original = on_pods.replace("  match:\n", "  match:\n    source: Original\n");
    assert!(engine(&[TEMPLATE, &original, EXPANSION]).unwrap().evaluate(&[deployment()], &ctx()).findings.is_empty());
    let warn = EXPANSION.to_owned() + "  enforcementAction: warn\n";
    let report = engine(&[TEMPLATE, &on_pods, &warn]).unwrap().evaluate(&[deployment()], &ctx());
    assert_eq!(report.findings[0].action, Action::Warn);
    // A workload paved does not know where to find the pod template of is refused.
    let unknown =
        EXPANSION.replace("kinds: [Deployment]", "kinds: [Rollout]").replace("groups: [apps]", "groups: [argoproj.io]");
    let e = engine(&[TEMPLATE, &on_pods, &unknown]).unwrap_err().to_string();
    assert!(e.contains("`Rollout`"), "{e}");
}

/// A CEL template: Gatekeeper's `variables.params` and `variables.anyObject`.
const CEL_TEMPLATE: &str = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sneedlabel
spec:
  crd:
    spec:
      names:
        kind: K8sNeedLabel
      validation:
        openAPIV3Schema:
          type: object
          properties:
            key: {type: string}
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: K8sNativeValidation
          source:
            variables:
              - name: labels
                expression: 'has(variables.anyObject.metadata.labels) ? variables.anyObject.metadata.labels : {}'
            validations:
              - expression: 'variables.params.key in variables.labels'
                messageExpression: '"needs label " + variables.params.key'
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sNeedLabel
metadata:
  name: need-owner
spec:
  parameters: {key: owner}
"#;

#[test]
fn cel_templates_see_gatekeepers_variables_and_exceptions_waive_constraints() {
    let engine = engine(&[CEL_TEMPLATE]).unwrap();
    let report = engine.evaluate(&[object("ConfigMap", Some("prod"), json!({"team": "a"}))], &ctx());
    assert_eq!(report.findings[0].message, "needs label owner");
    assert!(engine.evaluate(&[object("ConfigMap", Some("prod"), json!({"owner": "a"}))], &ctx()).findings.is_empty());
    // On DELETE, `anyObject` is the object deleted.
    let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "1", "operation": "DELETE", "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
        "resource": {"group": "", "version": "v1", "resource": "configmaps"}, "name": "x", "namespace": "prod",
        "userInfo": {"username": "u"},
        "oldObject": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "prod", "labels": {"owner": "a"}}},
    }});
    let deleted = Resource::from_str("review.json", &review.to_string()).unwrap();
    let report = engine.evaluate(&deleted, &ctx());
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    // A paved exception waives a constraint's findings by its template's name.
    let exception = "apiVersion: paved.dev/v1\nkind: PolicyException\nmetadata: {name: legacy}\nspec:\n  policies: [{name: k8sneedlabel}]\n  owner: team-a\n  reason: migrating\n  expires: 2026-07-01T00:00:00Z";
    let engine = Engine::builder()
        .bundle(Bundle::from_str("gk.yaml", CEL_TEMPLATE).unwrap())
        .bundle(Bundle::exceptions_from_str("ex.yaml", exception).unwrap())
        .build()
        .unwrap();
    let report = engine.evaluate(&[object("ConfigMap", Some("prod"), json!({}))], &ctx());
    assert_eq!(report.findings[0].waived_by.as_deref(), Some("legacy"));
}
