//! Policy params have a schema (written, or inferred from the defaults): expressions are
//! type-checked against it and every value given for the params is validated by it.

use paved::{Bundle, Context, Engine, Error};
use serde_json::json;

const CAP: &str = "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: dev-replica-cap, version: 1.0.0}\nspec:\n  match: {kinds: [apps/v1/Deployment]}\n  params: {max: 3, namespaces: [dev]}\n  rules:\n    - {id: cap, message: too many replicas, cel: \"!(object.metadata.namespace in params.namespaces) || object.spec.replicas <= params.max\"}\n";

fn load(text: &str) -> Result<Bundle, String> {
    Bundle::from_str("bundle.yaml", text).map_err(|e| e.to_string())
}

#[test]
fn a_misspelt_param_in_an_expression_is_a_load_error() {
    let e = load(&CAP.replace("<= params.max", "<= params.mx")).unwrap_err();
    assert!(e.contains("bundle.yaml:8:") && e.contains("no field `mx` in params"), "{e}");
    assert!(e.contains("did you mean `max`?"), "{e}");
    // A policy without params has none to read.
    let e = load(&CAP.replace("  params: {max: 3, namespaces: [dev]}\n", "")).unwrap_err();
    assert!(e.contains("no field `namespaces` in params") && e.contains("params declares no fields"), "{e}");
}

#[test]
fn set_params_are_checked_against_the_schema() {
    let build = |assignment: &str| Engine::builder().bundle(load(CAP).unwrap()).assign(assignment).build();
    assert!(build("dev-replica-cap.max=5").is_ok());
    let e = build("dev-replica-cap.mx=5").unwrap_err();
    assert!(matches!(e, Error::Input { .. }), "{e:?}");
    assert_eq!(e.to_string(), "dev-replica-cap: there is no param `mx`; did you mean `max`?");
    let e = build("dev-replica-cap.max=\"five\"").unwrap_err().to_string();
    assert!(e.starts_with("dev-replica-cap: ") && e.contains("integer"), "{e}");
    let e = build(r#"dev-replica-cap.namespaces=[1]"#).unwrap_err().to_string();
    assert!(e.contains("string"), "{e}");
    // The same for a caller's context.
    let engine = Engine::builder().bundle(load(CAP).unwrap()).build().unwrap();
    let ctx = Context::parse_at("2026-06-01").unwrap().params("dev-replica-cap", json!({"maxx": 1}));
    let e = engine.check_context(&ctx).unwrap_err().to_string();
    assert!(e.contains("there is no param `maxx`; did you mean `max`?"), "{e}");
}

#[test]
fn a_written_schema_types_the_params_and_bounds_their_cost() {
    let policy = |schema: &str, cel: &str| {
        format!(
            "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{name: hosts, version: 1.0.0}}\nspec:\n  match: {{kinds: [networking.k8s.io/v1/Ingress]}}\n  paramsSchema: {schema}\n  params: {{allowed: [a.dev], blocked: [b.dev]}}\n  rules:\n    - {{id: r, message: m, cel: {cel:?}}}\n"
        )
    };
    let nested = "params.allowed.all(a, params.blocked.all(b, params.allowed.all(c, a != b || b != c)))";
    let unbounded = "{type: object, properties: {allowed: {type: array, items: {type: string}}, blocked: {type: array, items: {type: string}}}}";
    let bounded = "{type: object, properties: {allowed: {type: array, maxItems: 50, items: {type: string, maxLength: 253}}, blocked: {type: array, maxItems: 50, items: {type: string}}}}";
    let e = load(&policy(unbounded, nested)).unwrap_err();
    assert!(e.contains("estimated worst-case cost"), "{e}");
    load(&policy(bounded, nested)).unwrap();
    // The schema's types hold in expressions and for the defaults.
    let e = load(&policy(bounded, "params.allowed == 1")).unwrap_err();
    assert!(e.contains("never equal"), "{e}");
    let e = load(&policy(bounded, "true").replace("allowed: [a.dev]", "allowed: [1]")).unwrap_err();
    assert!(e.contains("/spec/params/allowed/0") && e.contains("string"), "{e}");
    let e = load(&policy("{type: objekt}", "true")).unwrap_err();
    assert!(e.contains("the params schema does not compile"), "{e}");
}

#[test]
fn a_bindings_params_are_checked_where_the_binding_is_written() {
    let binding = "---\napiVersion: paved.dev/v1\nkind: PolicyBinding\nmetadata: {name: dev-cap-5}\nspec:\n  policy: dev-replica-cap\n  params: {mxa: 5}\n";
    let e = Engine::builder().bundle(load(&format!("{CAP}{binding}")).unwrap()).build().unwrap_err().to_string();
    assert!(e.contains("there is no param `mxa`") && e.contains("did you mean `max`?"), "{e}");
    assert!(e.contains("bundle.yaml:15:"), "at the binding's params: {e}");
}
