//! The kubernetes-schema pack: manifests are what the cluster accepts, checked against
//! Kubernetes' own schemas of the target version, and custom resources against their
//! CustomResourceDefinitions. Every typo is a finding at its line with a did-you-mean.

use paved::{Bundle, Context, Engine, Report, Resource};

fn check(bundle: Bundle, text: &str, ctx: &Context) -> Report {
    let engine = Engine::builder().bundle(bundle).build().unwrap();
    let resources = Resource::from_str("k8s.yaml", text).unwrap();
    engine.evaluate(&resources, ctx)
}

fn now() -> Context {
    Context::parse_at("2026-06-01T00:00:00Z").unwrap()
}

/// `(rule, line, message, help)` of every finding.
fn findings(report: &Report) -> Vec<(String, u32, String, String)> {
    report
        .findings
        .iter()
        .map(|f| {
            let line = f.source.as_ref().map_or(0, |s| s.line);
            (f.rule.clone(), line, f.message.clone(), f.help.clone().unwrap_or_default())
        })
        .collect()
}

#[test]
fn typos_in_manifests_are_caught_at_their_line_with_a_did_you_mean() {
    let text = "\
apiVersion: apps/v1
kind: Deploymnet
metadata: {name: a, namespace: shop}
---
apiVersion: v1
kind: pod
metadata: {name: p, namespace: shop}
spec: {containers: [{name: c, image: nginx, securityContext: {privileged: true}}]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: b, namespace: shop}
spec:
  maxUnavailabel: 1
  selector: {matchLabels: {app: x}}
---
apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: i, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: shop}
spec:
  replicas: three
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers:
        - {name: app, image: nginx, imagePullPolcy: Always}
      restartPolicy: Sometimes
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec: {type: loadBalancer, ports: [{port: 80, protocol: tcp}]}
";
    let report = check(Bundle::pack("kubernetes-schema").unwrap(), text, &now());
    let got = findings(&report);
    let has = |rule: &str, line: u32, message: &str, help: &str| {
        assert!(
            got.iter().any(|(r, l, m, h)| r == rule && *l == line && m.contains(message) && h.contains(help)),
            "no {rule} finding at line {line} with `{message}` / `{help}` in {got:#?}"
        );
    };
    has("kind", 2, "no kind `Deploymnet` in `apps/v1`", "did you mean `apps/v1 Deployment`?");
    has("kind", 6, "no kind `pod` in `v1`", "did you mean `v1 Pod`?");
    has("fields", 14, "unknown field `spec.maxUnavailabel`", "did you mean `maxUnavailable`?");
    has("kind", 18, "`extensions/v1beta1` `Ingress` was removed in Kubernetes v1.22", "use networking.k8s.io/v1");
    has("fields", 25, "`spec.replicas` must be an integer, not a string", "");
    has(
        "fields",
        31,
        "unknown field `spec.template.spec.containers[0].imagePullPolcy`",
        "did you mean `imagePullPolicy`?",
    );
    has("fields", 32, "`spec.template.spec.restartPolicy` is \"Sometimes\", which is not one of \"Always\"", "");
    has("fields", 37, "`spec.type` is \"loadBalancer\"", "did you mean `LoadBalancer`?");
    has("fields", 37, "`spec.ports[0].protocol` is \"tcp\"", "did you mean `TCP`?");
    assert_eq!(got.len(), 9, "{got:#?}");
    assert_eq!(report.decision, paved::Decision::Deny);
}

#[test]
fn the_target_version_decides_what_is_served() {
    let text = "apiVersion: flowcontrol.apiserver.k8s.io/v1beta3\nkind: FlowSchema\nmetadata: {name: f}\nspec:\n  priorityLevelConfiguration: {name: p}\n";
    let at = |version: &str| {
        let ctx = now().params("kubernetes-schema", serde_json::json!({"kubernetesVersion": version}));
        findings(&check(Bundle::pack("kubernetes-schema").unwrap(), text, &ctx))
    };
    assert_eq!(at("v1.31"), Vec::new(), "v1.31 still serves flowcontrol v1beta3");
    let latest = at("latest");
    assert_eq!(latest.len(), 1, "{latest:#?}");
    assert!(latest[0].2.contains("was removed in Kubernetes v1.32"), "{latest:#?}");
    assert!(latest[0].3.contains("flowcontrol.apiserver.k8s.io/v1"), "{latest:#?}");
    let unknown = at("v1.2");
    assert!(unknown[0].2.contains("could not be evaluated") && unknown[0].2.contains("v1.25"), "{unknown:#?}");
}

const CRD: &str = "\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: certificates.cert-manager.io}
spec:
  group: cert-manager.io
  names: {kind: Certificate, plural: certificates}
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
              required: [secretName]
              properties:
                secretName: {type: string}
                duration: {type: string}
                port: {x-kubernetes-int-or-string: true}
                extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
";

const CERTIFICATES: &str = "\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: shop, namespace: web}
spec:
  secretName: shop-tls
  duraton: 2160h
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: ok, namespace: web}
spec: {secretName: ok-tls, port: http, extra: {anything: [1]}}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: no-secret, namespace: web}
spec: {port: 443}
";

#[test]
fn custom_resources_are_checked_against_their_definition_from_the_input_or_the_bundle() {
    let expect = |got: Vec<(String, u32, String, String)>, offset: u32| {
        assert_eq!(got.len(), 2, "{got:#?}");
        assert!(got.iter().any(|(r, l, m, h)| r == "fields"
            && *l == 6 + offset
            && m.contains("unknown field `spec.duraton`")
            && h == "did you mean `duration`?"));
        assert!(got.iter().any(|(r, _, m, _)| r == "fields" && m.contains("\"secretName\" is a required property")));
    };
    // The definition among the resources.
    let both = format!("{CRD}---\n{CERTIFICATES}");
    let offset = u32::try_from(CRD.lines().count()).unwrap() + 1;
    expect(findings(&check(Bundle::pack("kubernetes-schema").unwrap(), &both, &now())), offset);
    // The definition in the bundle.
    let bundle = Bundle::pack("kubernetes-schema").unwrap().merge(Bundle::from_str("crd.yaml", CRD).unwrap());
    expect(findings(&check(bundle, CERTIFICATES, &now())), 0);
    // No definition: an info finding, never silence.
    let report = check(Bundle::pack("kubernetes-schema").unwrap(), CERTIFICATES, &now());
    let got = findings(&report);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got.iter().all(|(r, _, m, _)| r == "schema-known" && m.contains("no schema for the custom resource")));
    assert!(report.findings.iter().all(|f| f.severity == paved::Severity::Info));
    assert_eq!(report.decision, paved::Decision::Allow);
}

#[test]
fn a_crd_in_the_bundle_makes_its_kind_known_to_policies() {
    let policy = "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: certs, version: 1.0.0}\nspec:\n  match: {kinds: [cert-manager.io/v1/Certificate]}\n  rules: [{id: r, message: m, cel: 'true'}]\n";
    let alone = Engine::builder().bundle(Bundle::from_str("p.yaml", policy).unwrap()).build();
    assert!(alone.err().unwrap().to_string().contains("add its CustomResourceDefinition to the bundle"));
    let with_crd = Bundle::from_str("b.yaml", &format!("{CRD}---\n{policy}")).unwrap();
    assert!(Engine::builder().bundle(with_crd).build().is_ok());
}
