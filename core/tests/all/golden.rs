//! Golden paths: templates, inputs, provenance and the policies every render must pass.
//! Templates that carry arbitrary data use a custom kind (`example.com/v1` `Carrier`): every
//! render is checked against Kubernetes' schemas, and a ConfigMap's data must be strings.

use paved::golden::RenderError;
use paved::{Bundle, Error};
use serde_json::{json, Value};

fn bundle(outputs: &str) -> Bundle {
    let text = format!(
        "apiVersion: paved.dev/v1\nkind: GoldenPath\nmetadata: {{name: t, version: 1.2.0}}\nspec:\n  inputs:\n    type: object\n    properties:\n      name: {{type: string}}\n      ports: {{type: array, default: [80]}}\n      public: {{type: boolean, default: false}}\n  outputs:\n{outputs}"
    );
    Bundle::from_str("t.yaml", &text).unwrap_or_else(|e| panic!("{e}"))
}

fn render(b: &Bundle, inputs: Value) -> Vec<Value> {
    b.golden_path("t").unwrap().render(&inputs, &Bundle::default()).unwrap_or_else(|e| panic!("{e}")).manifests
}

#[test]
fn expressions_keep_their_type_or_interpolate() {
    let b = bundle(
        "    - apiVersion: example.com/v1\n      kind: Carrier\n      metadata: {name: \"${{ inputs.name }}-config\"}\n      data:\n        ports: ${{ inputs.ports }}\n        count: ${{ size(inputs.ports) }}\n        text: \"ports ${{ inputs.ports }} of ${{ path.name }}@${{ path.version }}\"\n",
    );
    let out = render(&b, json!({"name": "web", "ports": [80, 443]}));
    assert_eq!(out[0]["metadata"]["name"], "web-config");
    assert_eq!(out[0]["data"]["ports"], json!([80, 443]));
    assert_eq!(out[0]["data"]["count"], 2);
    assert_eq!(out[0]["data"]["text"], "ports [80,443] of t@1.2.0");
    assert_eq!(out[0]["metadata"]["annotations"]["paved.dev/golden-path"], "t@1.2.0");
    assert_eq!(out[0]["metadata"]["annotations"]["paved.dev/inputs"], r#"{"name":"web","ports":[80,443]}"#);
}

#[test]
fn if_and_each_on_documents_entries_and_items() {
    let b = bundle(
        "    - $each: inputs.ports\n      $as: port\n      apiVersion: example.com/v1\n      kind: Carrier\n      metadata: {name: \"s-${{ port }}\"}\n      spec:\n        ports:\n          - {port: \"${{ port }}\"}\n          - $if: inputs.public\n            port: 8443\n        external:\n          $if: inputs.public\n          type: LoadBalancer\n    - $if: inputs.public\n      apiVersion: v1\n      kind: ConfigMap\n      metadata: {name: public}\n",
    );
    let private = render(&b, json!({"ports": [80, 81]}));
    assert_eq!(private.len(), 2);
    assert_eq!(private[1]["metadata"]["name"], "s-81");
    assert_eq!(private[1]["spec"], json!({"ports": [{"port": 81}]}));
    let public = render(&b, json!({"ports": [80], "public": true}));
    assert_eq!(public.len(), 2);
    assert_eq!(public[0]["spec"]["ports"], json!([{"port": 80}, {"port": 8443}]));
    assert_eq!(public[0]["spec"]["external"], json!({"type": "LoadBalancer"}));
    assert_eq!(public[1]["kind"], "ConfigMap");
}

#[test]
fn the_order_inputs_are_written_in_changes_nothing() {
    let b = bundle(
        "    - {apiVersion: example.com/v1, kind: Carrier, metadata: {name: x}, data: {all: \"${{ inputs }}\"}}\n",
    );
    let one: Value = serde_json::from_str(r#"{"name": "a", "ports": [1], "public": true}"#).unwrap();
    let two: Value = serde_json::from_str(r#"{"public": true, "ports": [1], "name": "a"}"#).unwrap();
    assert_eq!(render(&b, one), render(&b, two));
}

#[test]
fn template_mistakes_are_load_errors_at_their_line() {
    let text = "apiVersion: paved.dev/v1\nkind: GoldenPath\nmetadata: {name: t, version: 1.0.0}\nspec:\n  inputs: {type: object}\n  outputs:\n    - kind: ConfigMap\n      metadata:\n        name: ${{ input.name }}\n      data:\n        $each: inputs.x\n        broken: \"${{ inputs.x\"\n";
    let Err(Error::Invalid(d)) = Bundle::from_str("t.yaml", text) else { panic!("expected errors") };
    let got: Vec<(u32, &str)> = d.iter().map(|d| (d.line, d.message.as_str())).collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[0].0 == 9 && got[0].1.contains("unknown variable `input`"), "{got:?}");
    assert!(d.0[0].help.as_deref().is_some_and(|h| h.starts_with("did you mean `inputs`?")), "{:?}", d.0[0].help);
    assert!(got.iter().any(|(l, m)| *l == 11 && m.contains("`$each` is not a directive here")), "{got:?}");
    assert!(got.iter().any(|(l, m)| *l == 12 && m.contains("without a closing")), "{got:?}");
}

#[test]
fn a_failing_expression_names_its_place_in_the_template() {
    let b = bundle("    - {apiVersion: v1, kind: ConfigMap, metadata: {name: \"${{ inputs.ports[3] }}\"}}\n");
    let e = b.golden_path("t").unwrap().render(&json!({}), &Bundle::default()).unwrap_err();
    let RenderError::Invalid(Error::Invalid(d)) = e else { panic!("{e}") };
    assert_eq!(d.0[0].line, 12);
    assert!(d.0[0].message.contains("inputs.ports[3]"), "{}", d.0[0].message);
}

/// An input the schema does not declare is a typo the golden path would otherwise render as an
/// error (or an empty value) for every service.
#[test]
fn an_undeclared_input_is_a_load_error_with_a_did_you_mean() {
    let text = "apiVersion: paved.dev/v1\nkind: GoldenPath\nmetadata: {name: t, version: 1.0.0}\nspec:\n  inputs:\n    type: object\n    properties:\n      name: {type: string}\n      db: {type: object, properties: {host: {type: string}}}\n      extra: {type: object, additionalProperties: true}\n  outputs:\n    - {apiVersion: v1, kind: ConfigMap, metadata: {name: \"${{ inputs.nmae }}\"}, data: {h: \"${{ inputs.db.hots }}\", x: \"${{ inputs.extra.anything }}\", ok: \"${{ has(inputs.db) ? inputs.db.host : inputs.name }}\"}}\n";
    let Err(Error::Invalid(d)) = Bundle::from_str("t.yaml", text) else { panic!("the golden path loaded") };
    let all: Vec<String> = d.iter().map(ToString::to_string).collect();
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(
        all[0].starts_with("t.yaml:12:") && all[0].contains("`inputs.nmae` is not in the golden path's inputs schema"),
        "{all:#?}"
    );
    assert!(all[0].contains("did you mean `name`?"), "{all:#?}");
    assert!(all[1].contains("`inputs.db.hots`") && all[1].contains("did you mean `host`?"), "{all:#?}");
}

#[test]
fn versions_are_chosen_by_range() {
    let mut b = bundle("    - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n");
    let v2 = "apiVersion: paved.dev/v1\nkind: GoldenPath\nmetadata: {name: t, version: 2.0.0}\nspec:\n  inputs: {type: object}\n  outputs: [{apiVersion: v1, kind: ConfigMap, metadata: {name: b}}]\n";
    b = b.merge(Bundle::from_str("t2.yaml", v2).unwrap());
    assert_eq!(b.golden_path("t").unwrap().version().to_string(), "2.0.0");
    assert_eq!(b.golden_path("t@^1").unwrap().version().to_string(), "1.2.0");
    let e = b.golden_path("t@^3").unwrap_err().to_string();
    assert!(e.contains("there are: 1.2.0, 2.0.0"), "{e}");
    let e = b.golden_path("tt").unwrap_err().to_string();
    assert!(e.contains("did you mean `t`?"), "{e}");
}

#[test]
fn builtin_web_service_renders_compliant_manifests() {
    let paths = paved::Bundle::golden_paths_builtin().unwrap();
    let web = paths.golden_path("web-service@^1").unwrap();
    let inputs = json!({"name": "checkout", "team": "payments", "costCenter": "cc-3120",
                        "image": "registry.acme.dev/payments/checkout:4.2.1", "ingress": {"host": "checkout.acme.dev"}});
    let r = web.render(&inputs, &Bundle::default()).unwrap();
    let kinds: Vec<&str> = r.manifests.iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "Deployment",
            "Service",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy",
            "Ingress"
        ]
    );
    assert_eq!(r.report.summary.denied + r.report.summary.warned, 0, "{:?}", r.report.findings);
    // Without an ingress there is no Ingress, and the network policy admits no ingress controller.
    let mut internal = inputs.clone();
    internal.as_object_mut().unwrap().remove("ingress");
    let r = web.render(&internal, &Bundle::default()).unwrap();
    assert_eq!(r.manifests.len(), 6);
    assert_eq!(r.manifests[5]["spec"]["ingress"][0]["from"], json!([{"podSelector": {}}]));
    // A floating tag does not fit the schema.
    let mut latest = inputs;
    latest["image"] = json!("nginx:latest");
    let Err(RenderError::Invalid(Error::Invalid(d))) = web.render(&latest, &Bundle::default()) else {
        panic!("expected invalid inputs")
    };
    assert_eq!(d.0[0].pointer.as_deref(), Some("/image"), "{d}");
}

#[test]
fn a_render_its_policies_deny_fails_with_the_findings() {
    let text = "apiVersion: paved.dev/v1\nkind: GoldenPath\nmetadata: {name: t, version: 1.0.0}\nspec:\n  policies: [{name: platform-baseline}]\n  inputs: {type: object}\n  outputs: [{apiVersion: v1, kind: ConfigMap, metadata: {name: c, namespace: default}}]\n";
    let b = Bundle::from_str("t.yaml", text).unwrap();
    match b.golden_path("t").unwrap().render(&json!({}), &b) {
        Err(RenderError::NonCompliant { report, .. }) => {
            assert!(report.findings.iter().any(|f| f.rule == "no-default-namespace"), "{:?}", report.findings)
        }
        other => panic!("expected a non-compliant render, got {other:?}"),
    }
}

#[test]
fn large_inputs_are_recorded_by_digest_and_conform_says_it_needs_them() {
    let b = bundle("    - apiVersion: example.com/v1\n      kind: Carrier\n      metadata: {name: \"${{ inputs.name }}\"}\n      data:\n        ports: \"${{ inputs.ports }}\"\n");
    let ports: Vec<u32> = (0..5_000).collect();
    let out = render(&b, json!({"name": "big", "ports": ports}));
    let annotations = &out[0]["metadata"]["annotations"];
    assert!(annotations.get("paved.dev/inputs").is_none(), "not copied into every object");
    let stamp = serde_json::to_string(&json!({"name": "big", "ports": ports})).unwrap();
    assert!(stamp.len() > 16 << 10);
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(stamp.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(annotations["paved.dev/inputs-sha256"], digest);
    // Small inputs are still recorded whole.
    let small = render(&b, json!({"name": "small", "ports": [80]}));
    assert_eq!(small[0]["metadata"]["annotations"]["paved.dev/inputs"], r#"{"name":"small","ports":[80]}"#);

    let resources: Vec<paved::Resource> = out.into_iter().map(paved::Resource::new).collect();
    let c = paved::GoldenPath::conform(&b, &resources, &paved::Context::parse_at("2026-06-01").unwrap());
    let error = c.services[0].error.as_deref().unwrap();
    assert!(error.contains("recorded its inputs by digest") && error.contains("needs its inputs file"), "{error}");
}

#[test]
fn renders_that_break_kubernetes_limits_or_grow_without_bound_are_refused() {
    // An annotation that carries an input: over Kubernetes' 256 KiB, it is an error, not an
    // object the API server would reject.
    let b = bundle("    - apiVersion: v1\n      kind: ConfigMap\n      metadata:\n        name: big\n        annotations: {copy: \"${{ inputs.name }}\"}\n");
    let e = b.golden_path("t").unwrap().render(&json!({"name": "x".repeat(300_000)}), &Bundle::default()).unwrap_err();
    assert!(e.to_string().contains("bytes of annotations for these inputs; Kubernetes allows 262144"), "{e}");
    // A template repeated over many inputs: bounded.
    let b = bundle("    - $each: inputs.ports\n      $as: p\n      apiVersion: v1\n      kind: ConfigMap\n      metadata: {name: \"c-${{ p }}\"}\n      data: {blob: \"${{ inputs.name }}\"}\n");
    let ports: Vec<u32> = (0..40).collect();
    let e = b
        .golden_path("t")
        .unwrap()
        .render(&json!({"name": "y".repeat(500_000), "ports": ports}), &Bundle::default())
        .unwrap_err();
    assert!(e.to_string().contains("MiB of manifests for these inputs; the most a render may make is 16 MiB"), "{e}");
}

/// The literal parts of a template are checked against Kubernetes' schemas when the golden path
/// loads; what expressions write is checked on every render.
#[test]
fn template_typos_are_load_errors_and_renders_are_checked_against_kubernetes_schemas() {
    let golden = |outputs: &str| {
        format!("apiVersion: paved.dev/v1\nkind: GoldenPath\nmetadata: {{name: t, version: 1.0.0}}\nspec:\n  inputs:\n    type: object\n    properties:\n      replicas: {{type: string}}\n  outputs:\n{outputs}")
    };
    let text = golden(
        "    - apiVersion: policy/v1\n      kind: PodDisruptionBudgt\n      metadata: {name: a}\n    - apiVersion: policy/v1\n      kind: PodDisruptionBudget\n      metadata: {name: b}\n      spec:\n        maxUnavailabel: 1\n        selector: {matchLabels: {app: x}}\n    - apiVersion: apps/v1\n      kind: Deployment\n      metadata: {name: c}\n      spec:\n        replicas: \"3\"\n        template:\n          spec:\n            containers:\n              - $each: \"['a', 'b']\"\n                $as: n\n                name: ${{ n }}\n                imagePullPolcy: Always\n",
    );
    let Err(Error::Invalid(d)) = Bundle::from_str("t.yaml", &text) else { panic!("the golden path loaded") };
    let all: Vec<String> = d.iter().map(ToString::to_string).collect();
    let has = |line: &str, what: &str| {
        assert!(
            all.iter().any(|e| e.starts_with(&format!("t.yaml:{line}:")) && e.contains(what)),
            "{line} {what}: {all:#?}"
        )
    };
    has("11", "did you mean `policy/v1 PodDisruptionBudget`?");
    has("17", "unknown field `spec.maxUnavailabel`");
    has("17", "did you mean `maxUnavailable`?");
    has("23", "`spec.replicas` must be an integer, not a string");
    has("30", "unknown field `spec.template.spec.containers[0].imagePullPolcy`");
    has("30", "did you mean `imagePullPolicy`?");
    assert_eq!(all.len(), 4, "{all:#?}");

    // What an expression writes is checked when it renders.
    let text = golden("    - apiVersion: apps/v1\n      kind: Deployment\n      metadata: {name: c}\n      spec:\n        replicas: ${{ inputs.replicas }}\n        selector: {matchLabels: {app: c}}\n        template:\n          metadata: {labels: {app: c}}\n          spec: {containers: [{name: c, image: nginx}]}\n");
    let b = Bundle::from_str("t.yaml", &text).unwrap();
    let e = b.golden_path("t").unwrap().render(&json!({"replicas": "three"}), &Bundle::default()).unwrap_err();
    let RenderError::NonCompliant { report, .. } = e else { panic!("{e}") };
    let f = &report.findings[0];
    assert_eq!(
        (f.policy.as_str(), f.rule.as_str(), f.path.as_str()),
        ("kubernetes-schema", "fields", "/spec/replicas")
    );
}

/// Inputs written for an older version, rendered with a newer one, point at `paved upgrade`.
#[test]
fn inputs_of_an_older_version_suggest_paved_upgrade() {
    let paths = Bundle::golden_paths_builtin().unwrap();
    let web = paths.golden_path("web-service@2.0.0").unwrap();
    let inputs = "name: checkout\nteam: payments\ncostCenter: cc-3120\nimage: registry.acme.dev/payments/checkout:4.2.1\ntier: critical\ncpu: 500m\n";
    let e = web.render_text("checkout.yaml", inputs, &paths).unwrap_err();
    let RenderError::Invalid(Error::Invalid(d)) = e else { panic!("{e}") };
    let d = d.iter().find(|d| d.line == 6).unwrap_or_else(|| panic!("{d}"));
    let help = d.help.as_deref().unwrap_or_default();
    assert!(
        help.contains("`/cpu` is an input of web-service >=1.0.0, <2.0.0, moved to `/resources/cpu` in 2.0.0"),
        "{help}"
    );
    assert!(help.contains("run `paved upgrade`"), "{help}");
}
