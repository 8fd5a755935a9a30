//! The exception window holds, whatever the source: an exception is judged by the platform
//! bundle's settings whether it came with the bundle, from an exceptions source (`--exceptions`,
//! a webhook's directory, a binding) or through the builder; an exceptions source cannot change
//! the settings; `created` cannot be in the future; a timestamp means one instant or is refused.

use paved::{Bundle, Context, Engine, ExceptionStatus, Resource};

const PLATFORM: &str = r#"
apiVersion: paved.dev/v1
kind: Bundle
metadata: { name: platform }
spec: { exceptionMaxDays: 30 }
---
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: replicas, version: 1.0.0 }
spec:
  match: { kinds: [Deployment] }
  rules:
    - { id: two, message: at least two replicas, cel: "object.spec.replicas >= 2" }
"#;

const DEPLOYMENT: &str =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 1}\n";

fn exception(created: Option<&str>, expires: &str, matched: &str) -> String {
    format!(
        "apiVersion: paved.dev/v1\nkind: PolicyException\nmetadata: {{name: legacy}}\nspec:\n  policies: [{{name: replicas}}]\n{matched}  owner: team-shop\n  reason: migrating\n{}  expires: \"{expires}\"\n",
        created.map(|c| format!("  created: \"{c}\"\n")).unwrap_or_default()
    )
}

/// The report of the Deployment under the platform bundle and an exceptions source, at `now`.
fn judged(exceptions: &str, now: &str) -> paved::Report {
    let platform = Bundle::from_str("platform.yaml", PLATFORM).unwrap();
    let waivers = Bundle::exceptions_from_str("exceptions.yaml", exceptions).unwrap();
    let engine = Engine::builder().bundle(platform).bundle(waivers).build().unwrap();
    let resources = Resource::from_str("web.yaml", DEPLOYMENT).unwrap();
    engine.evaluate(&resources, &Context::parse_at(now).unwrap())
}

#[test]
fn an_exception_from_another_source_is_held_to_the_platform_window() {
    // 80 days from `created`: within paved's default 90, beyond the platform's 30.
    let report = judged(&exception(Some("2026-06-01"), "2026-08-20", "  match: {namespaces: [shop]}\n"), "2026-06-10");
    assert_eq!(report.findings[0].waived_by, None, "an 80-day exception must not waive under a 30-day window");
    let e = &report.exceptions[0];
    assert_eq!(e.status, ExceptionStatus::Invalid);
    assert_eq!(e.problem.as_deref(), Some("it runs 80 days from `created`; the platform allows at most 30"));
    // Within the window, it waives.
    let report = judged(&exception(Some("2026-06-01"), "2026-06-25", "  match: {namespaces: [shop]}\n"), "2026-06-10");
    assert_eq!(report.findings[0].waived_by.as_deref(), Some("legacy"));
    // Without `created`, the window counts from now.
    let report = judged(&exception(None, "2026-09-01", "  match: {namespaces: [shop]}\n"), "2026-06-10");
    assert_eq!(report.exceptions[0].status, ExceptionStatus::Invalid);
    assert!(report.exceptions[0].problem.as_deref().unwrap().contains("from now (it has no `created`)"));
}

#[test]
fn an_exceptions_source_cannot_change_the_settings() {
    let raised = format!(
        "apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: {{name: team}}\nspec: {{exceptionMaxDays: 100000}}\n---\n{}",
        exception(Some("2026-06-01"), "2126-06-01", "")
    );
    let e = Bundle::exceptions_from_str("exceptions.yaml", &raised).unwrap_err().to_string();
    assert!(
        e.starts_with("exceptions.yaml:2:7: an exceptions source holds only PolicyException documents, not a Bundle"),
        "{e}"
    );
    let policy = "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: p, version: 1.0.0}\nspec: {rules: [{id: r, message: m, cel: 'true'}]}\n";
    let e = Bundle::exceptions_from_str("exceptions.yaml", policy).unwrap_err().to_string();
    assert!(e.contains("not a Policy"), "{e}");
}

#[test]
fn created_in_the_future_waives_nothing() {
    let report = judged(&exception(Some("2026-07-01"), "2026-07-20", "  match: {namespaces: [shop]}\n"), "2026-06-10");
    assert_eq!(report.findings[0].waived_by, None);
    let e = &report.exceptions[0];
    assert_eq!(e.status, ExceptionStatus::Invalid);
    assert!(e.problem.as_deref().unwrap().contains("is later than now"), "{e:?}");
}

#[test]
fn a_timestamp_is_one_instant_or_an_error() {
    for bad in ["2026-12-31T18:00:00", "2026-12-31 18:00", "2026-12-31 18:00:00Z", "31/12/2026", "2026-12-31T18:00"] {
        let e = Bundle::exceptions_from_str("e.yaml", &exception(None, bad, "")).unwrap_err().to_string();
        assert!(e.contains(&format!("`{bad}`")), "{bad}: {e}");
        assert!(e.contains("2026-12-31T18:00:00Z"), "the accepted forms are shown: {e}");
    }
    for good in ["2026-12-31", "2026-12-31T18:00:00Z", "2026-12-31T18:00:00+01:00", "2026-12-31T18:00:00.5-05:00"] {
        Bundle::exceptions_from_str("e.yaml", &exception(None, good, "")).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    assert!(Context::parse_at("2026-12-31T18:00:00").is_err());
}

#[test]
fn an_exception_that_matches_everything_says_so() {
    let report = judged(&exception(Some("2026-06-01"), "2026-06-25", ""), "2026-06-10");
    assert!(report.exceptions[0].matches_everything);
    let report = judged(&exception(Some("2026-06-01"), "2026-06-25", "  match: {namespaces: ['*']}\n"), "2026-06-10");
    assert!(report.exceptions[0].matches_everything);
    let report = judged(&exception(Some("2026-06-01"), "2026-06-25", "  match: {namespaces: [shop]}\n"), "2026-06-10");
    assert!(!report.exceptions[0].matches_everything);
}

#[test]
fn an_exception_naming_a_policy_or_rule_that_is_not_loaded_is_a_load_error() {
    let platform = || Bundle::from_str("platform.yaml", PLATFORM).unwrap();
    let build = |text: &str| {
        let waivers = Bundle::exceptions_from_str("exceptions.yaml", text).unwrap();
        Engine::builder().bundle(platform()).bundle(waivers).build().err().map(|e| e.to_string()).unwrap_or_default()
    };
    let policy = exception(None, "2026-06-20", "").replace("{name: replicas}", "{name: replics}");
    let e = build(&policy);
    assert!(e.contains("exceptions.yaml:5:") && e.contains("waives policy `replics`, which is not loaded"), "{e}");
    assert!(e.contains("did you mean `replicas`?"), "{e}");
    let rule = exception(None, "2026-06-20", "").replace("{name: replicas}", "{name: replicas, rules: [tow]}");
    let e = build(&rule);
    assert!(e.contains("waives rule `tow`, which policy `replicas` does not have"), "{e}");
    assert!(e.contains("did you mean `two`?"), "{e}");
    // Named right, it builds.
    assert_eq!(build(&exception(None, "2026-06-20", "")), "");
}
