//! Every load error says file:line and what was expected; all errors of a bundle come together.

use paved::{Bundle, Error};

fn errors(text: &str) -> Vec<String> {
    match Bundle::from_str("bundle.yaml", text) {
        Err(Error::Invalid(d)) => d.iter().map(|d| d.to_string()).collect(),
        Err(e) => panic!("unexpected error kind: {e}"),
        Ok(_) => panic!("the bundle loaded"),
    }
}

fn one(text: &str) -> String {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    e.into_iter().next().unwrap()
}

const HEAD: &str = "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: p, version: 1.0.0}\n";

#[test]
fn unknown_field_with_suggestion() {
    let e = one(&format!("{HEAD}spec:\n  sevrity: high\n  rules: [{{id: r, message: m, cel: 'true'}}]\n"));
    assert!(e.starts_with("bundle.yaml:5:"), "{e}");
    assert!(e.contains("unknown field `sevrity`"), "{e}");
    assert!(e.contains("did you mean `severity`?"), "{e}");
}

#[test]
fn every_unknown_field_of_a_document_is_reported() {
    let e = errors(&format!(
        "{HEAD}spec:\n  sevrity: high\n  rules:\n    - id: r\n      mesage: m\n      cel: 'true'\n  matchh: {{}}\n"
    ));
    assert_eq!(e.len(), 3, "{e:#?}");
    assert!(e[0].starts_with("bundle.yaml:5:") && e[0].contains("did you mean `severity`?"), "{e:#?}");
    assert!(e.iter().any(|d| d.starts_with("bundle.yaml:8:") && d.contains("did you mean `message`?")), "{e:#?}");
    assert!(e.iter().any(|d| d.starts_with("bundle.yaml:10:") && d.contains("did you mean `match`?")), "{e:#?}");
}

#[test]
fn unknown_fields_and_cel_errors_come_together() {
    let text = format!(
        "{HEAD}spec:\n  sevrity: high\n  match: {{kinds: [Pod]}}\n  rules:\n    - id: r\n      message: m\n      cel: has(objct.spec)\n---\n{}spec:\n  rules: [{{id: t, message: m, cel: '1 +'}}]\n  matchh: {{}}\n",
        HEAD.replace("name: p,", "name: q,")
    );
    let e = errors(&text);
    assert_eq!(e.len(), 4, "{e:#?}");
    assert!(e[0].starts_with("bundle.yaml:5:") && e[0].contains("did you mean `severity`?"), "{e:#?}");
    assert!(e[1].starts_with("bundle.yaml:10:") && e[1].contains("did you mean `object`?"), "{e:#?}");
    assert!(e[2].starts_with("bundle.yaml:16:") && e[2].contains("Syntax error"), "{e:#?}");
    assert!(e[3].starts_with("bundle.yaml:17:") && e[3].contains("did you mean `match`?"), "{e:#?}");
}

#[test]
fn wrong_type() {
    let e = one(&format!("{HEAD}spec:\n  rules:\n    - id: r\n      message: [not, a, string]\n      cel: 'true'\n"));
    assert!(e.starts_with("bundle.yaml:7:"), "{e}");
    assert!(e.contains("expected a string"), "{e}");
}

#[test]
fn wrong_enum_value() {
    let e = one(&format!("{HEAD}spec:\n  action: Block\n  rules: [{{id: r, message: m, cel: 'true'}}]\n"));
    assert!(e.starts_with("bundle.yaml:5:"), "{e}");
    assert!(e.contains("unknown variant `Block`, expected one of `Deny`, `Warn`, `Audit`"), "{e}");
}

#[test]
fn missing_required_field() {
    let e = one(&format!("{HEAD}spec:\n  rules:\n    - id: r\n      cel: 'true'\n"));
    assert!(e.starts_with("bundle.yaml:6:"), "{e}");
    assert!(e.contains("missing field `message`"), "{e}");
}

#[test]
fn bad_semver() {
    let e = one("apiVersion: paved.dev/v1\nkind: Policy\nmetadata:\n  name: p\n  version: one.two\nspec:\n  rules: [{id: r, message: m, cel: 'true'}]\n");
    assert!(e.starts_with("bundle.yaml:5:"), "{e}");
    assert!(e.contains("unexpected character"), "{e}");
}

#[test]
fn bad_cel() {
    let e = one(&format!("{HEAD}spec:\n  rules:\n    - id: r\n      message: m\n      cel: object.spec. ==\n"));
    assert!(e.starts_with("bundle.yaml:8:"), "{e}");
    assert!(e.contains("invalid CEL expression"), "{e}");
}

#[test]
fn cel_typo_in_variable() {
    let e = one(&format!("{HEAD}spec:\n  rules:\n    - id: r\n      message: m\n      cel: has(objct.spec)\n"));
    assert!(e.starts_with("bundle.yaml:8:"), "{e}");
    assert!(e.contains("unknown variable `objct`") && e.contains("did you mean `object`?"), "{e}");
}

#[test]
fn bad_json_schema() {
    let e = one(&format!("{HEAD}spec:\n  rules:\n    - id: r\n      message: m\n      assert: {{type: strnig}}\n"));
    assert!(e.starts_with("bundle.yaml:8:"), "{e}");
    assert!(e.contains("invalid JSON Schema"), "{e}");
}

#[test]
fn rule_needs_exactly_one_check() {
    let e = errors(&format!(
        "{HEAD}spec:\n  rules:\n    - {{id: none, message: m}}\n    - {{id: both, message: m, cel: 'true', assert: {{}}}}\n"
    ));
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].starts_with("bundle.yaml:6:") && e[0].contains("has no check"), "{e:#?}");
    assert!(e[1].starts_with("bundle.yaml:7:") && e[1].contains("both `assert` and `cel`"), "{e:#?}");
}

#[test]
fn exception_without_expiry() {
    let e = one("apiVersion: paved.dev/v1\nkind: PolicyException\nmetadata: {name: x}\nspec:\n  policies: [{name: p}]\n  owner: me\n  reason: because\n");
    assert!(e.starts_with("bundle.yaml:5:"), "{e}");
    assert!(e.contains("missing field `expires`"), "{e}");
}

#[test]
fn exception_without_owner_or_reason() {
    let e = one("apiVersion: paved.dev/v1\nkind: PolicyException\nmetadata: {name: x}\nspec:\n  policies: [{name: p}]\n  reason: because\n  expires: 2026-01-01\n");
    assert!(e.contains("missing field `owner`"), "{e}");
    let e = one("apiVersion: paved.dev/v1\nkind: PolicyException\nmetadata: {name: x}\nspec:\n  policies: [{name: p}]\n  owner: ''\n  reason: because\n  expires: 2026-01-01\n");
    assert!(e.starts_with("bundle.yaml:6:") && e.contains("`owner` must not be empty"), "{e}");
}

#[test]
fn exception_longer_than_the_window() {
    let e = one("apiVersion: paved.dev/v1\nkind: PolicyException\nmetadata: {name: x}\nspec:\n  policies: [{name: p}]\n  owner: me\n  reason: r\n  created: 2026-01-01\n  expires: 2026-12-01\n");
    assert!(e.starts_with("bundle.yaml:9:") && e.contains("allows at most 90"), "{e}");
}

#[test]
fn bad_expiry_date() {
    let e = one("apiVersion: paved.dev/v1\nkind: PolicyException\nmetadata: {name: x}\nspec:\n  policies: [{name: p}]\n  owner: me\n  reason: r\n  expires: soon\n");
    assert!(e.starts_with("bundle.yaml:8:") && e.contains("not an RFC 3339 date"), "{e}");
}

#[test]
fn all_errors_are_reported_together() {
    let text = format!(
        "{HEAD}spec:\n  sevrity: high\n  rules: [{{id: r, message: m, cel: 'true'}}]\n---\n\
         apiVersion: paved.dev/v1\nkind: Polcy\nmetadata: {{name: q}}\n---\n\
         {HEAD}spec:\n  rules: [{{id: r, message: m, cel: 'nope('}}]\n"
    );
    let e = errors(&text);
    assert_eq!(e.len(), 4, "{e:#?}");
    assert!(e.iter().any(|x| x.contains("did you mean `Policy`?")), "{e:#?}");
    assert!(e.iter().any(|x| x.contains("there is already a policy named `p`")), "{e:#?}");
    assert!(e.iter().any(|x| x.starts_with("bundle.yaml:16:") && x.contains("invalid CEL")), "{e:#?}");
}

#[test]
fn duplicate_rule_ids() {
    let e = one(&format!(
        "{HEAD}spec:\n  rules:\n    - {{id: r, message: m, cel: 'true'}}\n    - {{id: r, message: m, cel: 'true'}}\n"
    ));
    assert!(e.starts_with("bundle.yaml:7:") && e.contains("used twice"), "{e}");
}

#[test]
fn not_a_paved_document() {
    let e = one("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n");
    assert!(e.starts_with("bundle.yaml:1:") && e.contains("not a paved document"), "{e}");
}

#[test]
fn bad_selector_glob_and_kind() {
    let e = errors(&format!(
        "{HEAD}spec:\n  match:\n    kinds: [a/b/c/d]\n    namespaces: ['[unclosed']\n  rules: [{{id: r, message: m, cel: 'true'}}]\n"
    ));
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(e[0].starts_with("bundle.yaml:6:"), "{e:#?}");
    assert!(e[1].starts_with("bundle.yaml:7:") && e[1].contains("invalid glob"), "{e:#?}");
}

#[test]
fn yaml_syntax_error() {
    let e = one("apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: p\n");
    assert!(e.starts_with("bundle.yaml:") && e.contains("invalid YAML"), "{e}");
}

/// A `match.kinds` typo would silently match nothing; a kind the bundle declares is fine.
#[test]
fn a_misspelt_kind_in_match_is_a_load_error() {
    let build = |text: &str| {
        let bundle = Bundle::from_str("bundle.yaml", text).unwrap();
        paved::Engine::builder().bundle(bundle).build().err().map(|e| e.to_string()).unwrap_or_default()
    };
    let policy = |kinds: &str| {
        format!("{HEAD}spec:\n  match: {{kinds: [{kinds}]}}\n  rules: [{{id: r, message: m, cel: 'true'}}]\n")
    };
    let e = build(&policy("apps/v1/Deploymnet"));
    assert!(e.contains("bundle.yaml:5:") && e.contains("matches kind `Deploymnet`"), "{e}");
    assert!(e.contains("did you mean `Deployment`?"), "{e}");
    let e = build(&policy("pod"));
    assert!(e.contains("did you mean `Pod`?"), "{e}");
    let e = build(&policy("Certificate"));
    assert!(e.contains("declare it under the Bundle's `spec.kinds`"), "{e}");
    assert_eq!(build(&policy("Deployment, apps/*/StatefulSet, '*'")), "");
    let declared = format!(
        "apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: {{name: b}}\nspec: {{kinds: [Certificate]}}\n---\n{}",
        policy("cert-manager.io/v1/Certificate")
    );
    assert_eq!(build(&declared), "");
}
