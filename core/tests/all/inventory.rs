//! `inventory` in CEL: lookups of the other objects of a run (and of a given inventory), in one
//! order whatever the input order, type-checked and cost-bounded when the bundle loads, and
//! partial views that never deny on a guess.

use paved::{Bundle, Context, Engine, Inventory, Resource};
use proptest::prelude::*;

const NOW: &str = "2026-06-01T00:00:00Z";

fn engine(policy: &str) -> Engine {
    Engine::builder().bundle(Bundle::from_str("policy.yaml", policy).unwrap()).build().unwrap()
}

fn load_error(policy: &str) -> String {
    match Bundle::from_str("policy.yaml", policy) {
        Ok(_) => panic!("the policy loaded"),
        Err(e) => e.diagnostics().unwrap().0.iter().map(|d| format!("{}: {}", d.line, d.message)).collect(),
    }
}

const PDB_POLICY: &str = r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: budgets, version: 1.0.0}
spec:
  match: {kinds: [apps/v1/Deployment]}
  rules:
    - id: covered
      when: inventory.complete(request.namespace)
      message: no budget
      messageExpression: >-
        'no PodDisruptionBudget of ' + string(inventory.list('policy/v1', 'PodDisruptionBudget', request.namespace).size()) + ' selects it'
      cel: >-
        inventory.selecting('policy/v1', 'PodDisruptionBudget', request.namespace,
                            object.spec.template.metadata.labels).size() > 0
"#;

fn deployment(ns: &str, name: &str, app: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}, labels: {{app: {app}}}}}\nspec:\n  selector: {{matchLabels: {{app: {app}}}}}\n  template:\n    metadata: {{labels: {{app: {app}}}}}\n    spec: {{containers: [{{name: c, image: 'r/x:1'}}]}}\n"
    )
}

fn pdb(ns: &str, name: &str, app: &str) -> String {
    format!(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{minAvailable: 1, selector: {{matchLabels: {{app: {app}}}}}}}\n"
    )
}

fn resources(docs: &[String]) -> Vec<Resource> {
    Resource::from_str("run.yaml", &docs.join("---\n")).unwrap()
}

fn denied(engine: &Engine, docs: &[String], ctx: &Context) -> Vec<String> {
    let report = engine.evaluate(&resources(docs), ctx);
    report.findings.iter().map(|f| format!("{}/{}: {}", f.resource.namespace, f.resource.name, f.message)).collect()
}

fn complete() -> Context {
    Context::parse_at(NOW).unwrap().inventory(Inventory::default().complete_all())
}

#[test]
fn a_budget_in_the_run_covers_its_deployment() {
    let e = engine(PDB_POLICY);
    let run = [deployment("shop", "web", "web"), pdb("shop", "web", "web"), deployment("shop", "api", "api")];
    assert_eq!(denied(&e, &run, &complete()), ["shop/api: no PodDisruptionBudget of 1 selects it"]);
}

#[test]
fn a_budget_in_another_namespace_does_not() {
    let e = engine(PDB_POLICY);
    let run = [deployment("shop", "web", "web"), pdb("blog", "web", "web")];
    assert_eq!(denied(&e, &run, &complete()).len(), 1);
}

#[test]
fn a_given_inventory_supplies_what_the_run_lacks() {
    let e = engine(PDB_POLICY);
    let cluster = Inventory::new(&resources(&[pdb("shop", "web", "web")])).complete_all();
    let ctx = Context::parse_at(NOW).unwrap().inventory(cluster);
    assert!(denied(&e, &[deployment("shop", "web", "web")], &ctx).is_empty());
}

#[test]
fn the_run_replaces_what_the_inventory_holds_of_the_same_object() {
    // The cluster's budget selects `web`; the repository changes it to select `www`.
    let e = engine(PDB_POLICY);
    let cluster = Inventory::new(&resources(&[pdb("shop", "web", "web")])).complete_all();
    let ctx = Context::parse_at(NOW).unwrap().inventory(cluster);
    let run = [deployment("shop", "web", "web"), pdb("shop", "web", "www")];
    assert_eq!(denied(&e, &run, &ctx).len(), 1);
}

#[test]
fn an_incomplete_view_never_denies_on_a_guess() {
    let e = engine(PDB_POLICY);
    let run = [deployment("shop", "web", "web")];
    assert!(denied(&e, &run, &Context::parse_at(NOW).unwrap()).is_empty(), "nothing is complete by default");
    let other = Context::parse_at(NOW).unwrap().inventory(Inventory::default().complete_namespaces(["blog"]));
    assert!(denied(&e, &run, &other).is_empty());
    let shop = Context::parse_at(NOW).unwrap().inventory(Inventory::default().complete_namespaces(["shop"]));
    assert_eq!(denied(&e, &run, &shop).len(), 1);
}

#[test]
fn objects_without_a_namespace_are_in_the_one_they_are_applied_into() {
    let e = engine(PDB_POLICY);
    let run = [deployment("shop", "web", "web"), pdb("shop", "web", "web").replace(", namespace: shop", "")];
    assert_eq!(denied(&e, &run, &complete()).len(), 1, "the budget went to `default`");
    assert!(denied(&e, &run, &complete().namespace("shop")).is_empty());
}

const LOOKUPS: &str = r#"
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: lookups, version: 1.0.0}
spec:
  action: Warn
  match: {kinds: [v1/ConfigMap]}
  rules:
    - id: show
      message: lookups
      messageExpression: >-
        inventory.list('apps', 'Deployment').map(d, d.metadata.namespace + '/' + d.metadata.name).join(',') + ' | ' +
        inventory.list('apps/v1', 'Deployment', 'shop').map(d, d.metadata.name).join(',') + ' | ' +
        inventory.list('apps/v1', 'Deployment', 'shop', {'matchExpressions': [{'key': 'app', 'operator': 'In', 'values': ['api', 'db']}]}).map(d, d.metadata.name).join(',') + ' | ' +
        inventory.get('apps/v1', 'Deployment', 'shop', 'web').orValue({'metadata': {'name': 'none'}}).metadata.name + ' ' +
        string(inventory.get('apps/v1', 'Deployment', 'shop', 'nope').hasValue()) + ' | ' +
        inventory.containing('apps', 'Deployment', {'spec': {'template': {'metadata': {'labels': {'app': 'web'}}}}}).map(d, d.metadata.namespace).join(',') + ' | ' +
        string(inventory.list('v1', 'Secret').size())
      cel: "false"
"#;

#[test]
fn lookups_list_in_one_order_whatever_the_input_order() {
    let e = engine(LOOKUPS);
    let config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n".to_owned();
    let mut run = vec![
        deployment("shop", "web", "web"),
        deployment("shop", "api", "api"),
        deployment("blog", "web", "web"),
        deployment("shop", "db", "db"),
        config,
    ];
    let expected = "blog/web,shop/api,shop/db,shop/web | api,db,web | api,db | web false | blog,shop | 0";
    let ctx = Context::parse_at(NOW).unwrap();
    let first = engine_report(&e, &run, &ctx);
    assert!(first.contains(expected), "{first}");
    run.reverse();
    assert_eq!(engine_report(&e, &run, &ctx).replace("run.yaml", ""), first.replace("run.yaml", ""));
}

fn engine_report(e: &Engine, docs: &[String], ctx: &Context) -> String {
    let report = e.evaluate(&resources(docs), ctx);
    report.findings.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// The report is the same whatever the order of the run and of the inventory.
    #[test]
    fn the_report_does_not_depend_on_order(seed in any::<u64>()) {
        let e = engine(PDB_POLICY);
        let mut docs: Vec<String> = (0..8).map(|i| deployment(["a", "b"][i % 2], &format!("d{i}"), &format!("app{}", i % 3))).collect();
        docs.extend((0..3).map(|i| pdb(["a", "b"][i % 2], &format!("p{i}"), &format!("app{i}"))));
        let ctx = complete();
        let key = |r: &paved::Report| {
            let mut k: Vec<String> = r.findings.iter().map(|f| format!("{}/{}", f.resource.name, f.message)).collect();
            k.sort();
            k
        };
        let before = key(&e.evaluate(&resources(&docs), &ctx));
        let mut shuffled = docs.clone();
        let mut state = seed;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (state >> 33) as usize % (i + 1));
        }
        // The order of the resources is the order of the report; compare the findings' set.
        let (a, b) = (key(&e.evaluate(&resources(&shuffled), &ctx)), before);
        prop_assert_eq!(a, b);
    }
}

#[test]
fn the_inventory_is_type_checked_when_the_bundle_loads() {
    let policy = |cel: &str| {
        format!(
            "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{name: p, version: 1.0.0}}\nspec:\n  match: {{kinds: [Pod]}}\n  rules:\n    - id: r\n      message: m\n      cel: \"{cel}\"\n"
        )
    };
    let e = load_error(&policy("inventory.lsit('v1', 'Pod').size() > 0"));
    assert!(e.contains("lsit"), "{e}");
    let e = load_error(&policy("inventory.list('v1').size() > 0"));
    assert!(e.contains("no overload of `list`"), "{e}");
    let e = load_error(&policy("inventory.kinds.size() > 0"));
    assert!(e.contains("Inventory"), "{e}");
    let e = load_error(&policy("inventory.get('v1', 'Pod', 'a', 'b') > 0"));
    assert!(!e.is_empty());
    // Two unbounded loops over the inventory, one inside the other: over the cost limit.
    let e = load_error(&policy(
        "inventory.list('v1', 'Pod').all(a, inventory.list('v1', 'Pod').all(b, a.metadata.name != b.metadata.name || a == b))",
    ));
    assert!(e.contains("cost"), "{e}");
}

/// A generated fleet: namespaces with their quota and default-deny policy, and services with a
/// Deployment, Service, autoscaler, disruption budget and Ingress each. Violations are planted;
/// the platform baseline, with the whole fleet in view, finds every one and nothing else.
#[test]
fn every_planted_violation_in_a_fleet_is_found_and_nothing_else() {
    let (namespaces, services) = (12, 10);
    let mut docs = Vec::new();
    let mut planted = std::collections::BTreeSet::new();
    let mut plant = |rule: &str, object: String| {
        planted.insert(format!("{rule} {object}"));
    };
    for n in 0..namespaces {
        let ns = format!("team-{n}");
        docs.push(format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}, labels: {{env: production}}}}\n"));
        if n % 5 == 1 {
            plant("namespace-guardrails/resource-quota", format!("Namespace//{ns}"));
        } else {
            docs.push(format!("apiVersion: v1\nkind: ResourceQuota\nmetadata: {{name: compute, namespace: {ns}}}\nspec: {{hard: {{requests.cpu: '8'}}}}\n"));
        }
        if n % 7 == 3 {
            plant("namespace-guardrails/default-deny", format!("Namespace//{ns}"));
        } else {
            docs.push(format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: default-deny, namespace: {ns}}}\nspec: {{podSelector: {{}}, policyTypes: [Ingress]}}\n"));
        }
        for s in 0..services {
            let name = format!("svc-{s}");
            let i = n * services + s;
            docs.push(format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}, labels: {{app: {name}, env: production}}}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec: {{containers: [{{name: app, image: 'registry.acme.dev/{ns}/{name}:1.0.0'}}]}}\n"
            ));
            let selector = if i % 17 == 5 { "svc-0".to_owned() } else { name.clone() };
            if i % 17 == 5 && s != 0 {
                plant("service-selectors/unique-selector", format!("Service/{ns}/{name}"));
                plant("service-selectors/unique-selector", format!("Service/{ns}/svc-0"));
            }
            docs.push(format!("apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{selector: {{app: {selector}}}, ports: [{{port: 80}}]}}\n"));
            if i % 11 == 4 {
                plant("production-disruption-budget/pod-disruption-budget", format!("Deployment/{ns}/{name}"));
            } else {
                docs.push(format!("apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{minAvailable: 1, selector: {{matchLabels: {{app: {name}}}}}}}\n"));
            }
            let target = if i % 19 == 7 { format!("{name}-typo") } else { name.clone() };
            if i % 19 == 7 {
                plant("autoscaling-target/target-exists", format!("HorizontalPodAutoscaler/{ns}/{name}"));
            }
            docs.push(format!("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {target}}}, minReplicas: 2, maxReplicas: 6}}\n"));
            // Hosts: one namespace borrows another's host; one service repeats a sibling's path.
            let (host, path) = match i {
                23 => ("svc-0.team-0.acme.dev".to_owned(), "/".to_owned()),
                47 => (format!("svc-6.{ns}.acme.dev"), "/".to_owned()),
                _ => (format!("{name}.{ns}.acme.dev"), "/".to_owned()),
            };
            match i {
                23 => {
                    plant("ingress-hosts/host-in-one-namespace", format!("Ingress/{ns}/{name}"));
                    plant("ingress-hosts/host-in-one-namespace", "Ingress/team-0/svc-0".to_owned());
                }
                47 => {
                    plant("ingress-hosts/unique-path", format!("Ingress/{ns}/{name}"));
                    plant("ingress-hosts/unique-path", format!("Ingress/{ns}/svc-6"));
                }
                _ => {}
            }
            docs.push(format!(
                "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  tls: [{{hosts: ['{host}'], secretName: tls}}]\n  rules:\n    - host: {host}\n      http: {{paths: [{{path: '{path}', pathType: Prefix, backend: {{service: {{name: {name}, port: {{number: 80}}}}}}}}]}}\n"
            ));
        }
    }
    // A second autoscaler for one workload.
    docs.push("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: svc-3-cpu, namespace: team-2}\nspec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: svc-3}, minReplicas: 2, maxReplicas: 6}\n".to_owned());
    planted.insert("autoscaling-target/single-autoscaler HorizontalPodAutoscaler/team-2/svc-3-cpu".to_owned());
    planted.insert("autoscaling-target/single-autoscaler HorizontalPodAutoscaler/team-2/svc-3".to_owned());

    let inventory_policies = [
        "production-disruption-budget",
        "production-disruption-budget-in-view",
        "ingress-hosts",
        "service-selectors",
        "autoscaling-target",
        "namespace-guardrails",
    ];
    let engine = Engine::builder().bundle(Bundle::pack("platform-baseline").unwrap()).build().unwrap();
    let ctx = Context::parse_at(NOW).unwrap().inventory(Inventory::default().complete_all());
    let run = resources(&docs);
    let found: std::collections::BTreeSet<String> = engine
        .evaluate(&run, &ctx)
        .findings
        .iter()
        .filter(|f| inventory_policies.contains(&f.policy.as_str()))
        .map(|f| format!("{}/{} {}/{}/{}", f.policy, f.rule, f.resource.kind, f.resource.namespace, f.resource.name))
        .collect();
    let missed: Vec<_> = planted.difference(&found).collect();
    let extra: Vec<_> = found.difference(&planted).collect();
    assert!(missed.is_empty() && extra.is_empty(), "missed {missed:#?}\nextra {extra:#?}");
    assert!(planted.len() > 30, "{} planted", planted.len());

    // The same fleet with nothing said complete: no presence rule denies, conflicts still do.
    let partial = engine.evaluate(&run, &Context::parse_at(NOW).unwrap());
    let denied: std::collections::BTreeSet<&str> = partial
        .findings
        .iter()
        .filter(|f| inventory_policies.contains(&f.policy.as_str()) && f.action == paved::Action::Deny)
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(denied, ["host-in-one-namespace", "single-autoscaler", "unique-path", "unique-selector"].into());
}

/// A policy on ConfigMaps whose rule is `cel` (and that holds `variable`, when given).
fn reading(name: &str, cel: &str, variable: Option<&str>) -> String {
    let variables = variable.map(|v| format!("  variables: [{{name: v, expression: \"{v}\"}}]\n")).unwrap_or_default();
    format!(
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{name: {name}, version: 1.0.0}}\nspec:\n  match: {{kinds: [ConfigMap]}}\n{variables}  rules:\n    - id: r\n      message: m\n      cel: \"{cel}\"\n"
    )
}

fn needs(policies: &[String]) -> paved::InventoryNeeds {
    let bundle = Bundle::from_str("policies.yaml", &policies.join("---\n")).unwrap();
    Engine::builder().bundle(bundle).build().unwrap().inventory_needs()
}

#[test]
fn kinds_read_only_for_their_metadata_are_told_apart_from_those_read_whole() {
    let kinds = |n: &paved::InventoryNeeds| {
        let mut k: Vec<String> = n.metadata_only.iter().map(|(_, _, k)| k.clone()).collect();
        k.sort();
        k
    };
    let base = vec![
        reading("count", "inventory.list('v1', 'Pod', object.metadata.namespace).size() > 0", None),
        reading("named", "inventory.list('apps', 'Deployment').exists(d, d.metadata.name == 'web')", None),
        reading("labels", "inventory.list('v1', 'Service').map(s, s.metadata.?labels.orValue({})).size() > 0", None),
        reading("present", "inventory.get('v1', 'Secret', 'shop', 'tls').hasValue()", None),
        reading(
            "spec",
            "inventory.list('networking.k8s.io', 'NetworkPolicy').exists(p, p.spec.podSelector == {})",
            None,
        ),
        reading("filtered", "size(inventory.list('v1', 'ConfigMap').filter(c, c.metadata.name == 'a')) > 0", None),
        reading(
            "selected",
            "inventory.selecting('policy/v1', 'PodDisruptionBudget', 'shop', {'app': 'a'}).size() > 0",
            None,
        ),
    ];
    let n = needs(&base);
    assert_eq!(n.kinds.len(), 7);
    assert_eq!(kinds(&n), ["Deployment", "Pod", "Secret", "Service"], "filter keeps objects: read whole");

    // Pods kept in a variable may be read any way.
    let mut held = base.clone();
    held.push(reading("held", "variables.v.size() > 0", Some("inventory.list('v1', 'Pod')")));
    assert_eq!(kinds(&needs(&held)), ["Deployment", "Secret", "Service"]);

    // A kind known only as it runs, read whole: any kind may be.
    let mut dynamic = base.clone();
    dynamic.push(reading("dynamic", "inventory.list('v1', object.data.kind).exists(o, o.spec.x == 1)", None));
    let n = needs(&dynamic);
    assert_eq!(n.unknown, ["dynamic"]);
    assert!(n.metadata_only.is_empty());
    // ... but one only tested for presence changes nothing.
    let mut present = base;
    present.push(reading("dynamic", "inventory.get('v1', object.data.kind, 'shop', 'x').hasValue()", None));
    assert_eq!(kinds(&needs(&present)), ["Deployment", "Pod", "Secret", "Service"]);

    // The defaults: the workloads platform-baseline counts are kept for their metadata alone.
    let n = Engine::builder().bundle(Bundle::defaults().unwrap()).build().unwrap().inventory_needs();
    let metadata = kinds(&n);
    for kind in ["Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ResourceQuota"] {
        assert!(metadata.contains(&kind.to_owned()), "{kind} in {metadata:?}");
    }
    for kind in ["PodDisruptionBudget", "Ingress", "Service", "NetworkPolicy", "HorizontalPodAutoscaler"] {
        assert!(!metadata.contains(&kind.to_owned()), "{kind} is read whole");
    }
}
