//! Named variables in CEL as Kubernetes reads them: methods called on a variable, `item` read by
//! a variable, `oldObject == null`, and the cost of a variable holding a literal list.

use paved::{Bundle, Context, Engine, Error, Resource};

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {team: shop}}\nspec:\n  containers:\n    - {name: app, image: 'nginx:1.27'}\n    - {name: sidecar, image: 'envoy:1.30'}\n";

/// A policy matching Pods (so its expressions are type-checked against the Pod schema) with one
/// variable and one rule.
fn policy(variable: &str, cel: &str) -> String {
    format!(
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{name: p, version: 1.0.0}}\nspec:\n  match: {{kinds: [Pod]}}\n  variables:\n    - {{name: v, expression: {variable:?}}}\n  rules:\n    - {{id: r, message: m, cel: {cel:?}}}\n"
    )
}

/// Whether the Pod passes the rule, or the load error.
fn passes(variable: &str, cel: &str) -> Result<bool, String> {
    let bundle = Bundle::from_str("bundle.yaml", &policy(variable, cel)).map_err(|e| e.to_string())?;
    let engine = Engine::builder().bundle(bundle).build().map_err(|e| e.to_string())?;
    let report =
        engine.evaluate(&Resource::from_str("pod.yaml", POD).unwrap(), &Context::parse_at("2026-06-01").unwrap());
    assert!(report.findings.iter().all(|f| f.error.is_none()), "{variable} / {cel}: {:?}", report.findings);
    Ok(report.findings.is_empty())
}

#[test]
fn methods_are_called_on_variables_of_every_type() {
    let table: &[(&str, &str)] = &[
        // strings
        ("object.metadata.name", "variables.v.size() == 3"),
        ("object.metadata.name", "variables.v.startsWith('w') && variables.v.endsWith('b')"),
        ("object.metadata.name", "variables.v.contains('e') && variables.v.matches('^w')"),
        ("object.metadata.name", "variables.v.upperAscii() == 'WEB' && variables.v.split('e').size() == 2"),
        ("object.metadata.name", "variables.v.indexOf('b') == 2 && variables.v.substring(1) == 'eb'"),
        // lists
        ("object.spec.containers.map(c, c.name)", "variables.v.size() == 2"),
        ("object.spec.containers.map(c, c.name)", "variables.v.join(',') == 'app,sidecar'"),
        ("object.spec.containers.map(c, c.name)", "variables.v.exists(n, n == 'app') && variables.v.all(n, n != '')"),
        ("object.spec.containers.map(c, c.name)", "variables.v.filter(n, n != 'app').map(n, n + '!') == ['sidecar!']"),
        ("object.spec.containers.map(c, c.name)", "variables.v.sort() == ['app', 'sidecar'] && variables.v.isSorted()"),
        ("['a', 'b']", "variables.v.size() == 2 && variables.v.join('') == 'ab'"),
        // maps
        ("object.metadata.labels", "variables.v.size() == 1 && variables.v.exists(k, k == 'team')"),
        ("{'a': 1}", "variables.v.size() == 1 && variables.v.a == 1"),
        // numbers, bools, optionals, quantities, durations
        ("object.spec.containers.size()", "variables.v == 2 && string(variables.v) == '2'"),
        ("object.spec.?hostNetwork", "!variables.v.hasValue() && variables.v.orValue(false) == false"),
        ("quantity('1Gi')", "variables.v.isGreaterThan(quantity('1Mi')) && variables.v.asApproximateFloat() > 1.0"),
        ("duration('90s')", "variables.v.getSeconds() == 90"),
        ("'1.2.3'", "semver(variables.v).major() == 1"),
    ];
    for (variable, cel) in table {
        assert_eq!(passes(variable, cel), Ok(true), "variable `{variable}`, rule `{cel}`");
    }
}

#[test]
fn an_unknown_method_on_a_variable_is_still_an_error() {
    let e = passes("object.metadata.name", "variables.v.sise() == 3").unwrap_err();
    assert!(e.contains("unknown function `sise`") && e.contains("did you mean `size`?"), "{e}");
    let e = passes("object.metadata.name", "variables.w.size() == 3").unwrap_err();
    assert!(e.contains("unknown variable `variables.w`") && e.contains("did you mean `variables.v`?"), "{e}");
}

#[test]
fn a_variable_reads_item_for_the_for_each_rule_that_reads_it() {
    let text = "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: p, version: 1.0.0}\nspec:\n  match: {kinds: [Pod]}\n  variables:\n    - {name: image, expression: item.image}\n  rules:\n    - {id: r, forEach: containers, message: m, cel: \"variables.image.startsWith('nginx')\"}\n";
    let engine = Engine::builder().bundle(Bundle::from_str("bundle.yaml", text).unwrap()).build().unwrap();
    let report =
        engine.evaluate(&Resource::from_str("pod.yaml", POD).unwrap(), &Context::parse_at("2026-06-01").unwrap());
    let paths: Vec<&str> = report.findings.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["/spec/containers/1"], "{:?}", report.findings);
}

#[test]
fn the_help_lists_the_variables_without_an_empty_entry() {
    let e = passes("1", "objekt == 1").unwrap_err();
    assert!(e.contains("did you mean `object`?"), "{e}");
    let e = passes("1", "zzzzzzzzzzzz == 1").unwrap_err();
    assert!(e.contains("the variables are: object, oldObject, request, params, namespaceObject, inventory"), "{e}");
    assert!(!e.contains(", ,"), "{e}");
}

#[test]
fn old_object_compares_with_null_as_kubernetes_allows() {
    assert_eq!(passes("1", "oldObject == null"), Ok(true));
    assert_eq!(passes("1", "object != null && null != oldObject || true"), Ok(true));
    // Still a mistake where it is one.
    let e = passes("1", "object.metadata.name == 1").unwrap_err();
    assert!(e.contains("never equal"), "{e}");
}

#[test]
fn a_variable_holding_a_literal_list_is_bounded_by_its_length() {
    // Three nested loops over an unbounded list would be refused; over a three-item literal
    // they cost next to nothing.
    let cel = "variables.v.all(a, variables.v.all(b, variables.v.all(c, a + b + c != '')))";
    assert_eq!(passes("['x', 'y', 'z']", cel), Ok(true));
    let e = passes("object.spec.containers.map(c, c.name)", cel).unwrap_err();
    assert!(e.contains("estimated worst-case cost"), "{e}");
}

#[test]
fn every_problem_is_an_invalid_bundle() {
    assert!(matches!(Bundle::from_str("b.yaml", &policy("1", "variables.v.sise()")), Err(Error::Invalid(_))));
}

#[test]
fn numbers_of_different_types_order_but_do_not_equate_as_in_kubernetes() {
    assert_eq!(passes("1", "1 < 2.5 && 2u > 1"), Ok(true));
    for e in ["1 == 1.0", "1u != 1", "1 in [1.0]", "[1, 2].indexOf(2.0) == 1"] {
        assert!(passes("1", e).is_err(), "{e} compiles");
    }
    assert_eq!(passes("1", "dyn(1) == 1.0 && dyn(1u) == 1"), Ok(true));
}
