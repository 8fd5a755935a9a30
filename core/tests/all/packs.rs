//! Every built-in pack carries its own tests (`packs/tests/`), embedded with it: each rule has a
//! case that breaks it and each policy a case that passes it, and all of them hold. These are
//! the examples `paved explain` shows.

use paved::testing::{Outcome, TestSuite};
use paved::Bundle;

#[test]
fn every_rule_of_every_pack_is_tested_and_the_tests_pass() {
    let now = "2026-06-01T00:00:00Z".parse().unwrap();
    let mut problems = Vec::new();
    for pack in Bundle::packs() {
        let policies = Bundle::pack(pack.name).unwrap().policies();
        let suites = TestSuite::of_pack(pack.name).unwrap_or_else(|e| panic!("tests of {}: {e}", pack.name));
        let examples: Vec<_> = suites.iter().flat_map(|s| s.examples()).collect();
        for s in &suites {
            let report = s.run(now);
            for c in report.cases.iter().filter(|c| !c.passed()) {
                let diffs: Vec<String> = c.checks.iter().filter(|k| !k.passed()).map(|k| k.describe()).collect();
                problems.push(format!("{}: case `{}` failed:\n{}", pack.name, c.name, diffs.join("\n")));
            }
        }
        for p in &policies {
            assert!(p.description.is_some(), "policy {} has no description", p.name);
            if !examples.iter().any(|e| e.policy == p.name && e.result == Outcome::Pass) {
                problems.push(format!("{}: no case where policy {} passes", pack.name, p.name));
            }
            for r in &p.rules {
                let broken = examples.iter().any(|e| {
                    e.policy == p.name && e.rule.as_deref() == Some(r.id.as_str()) && e.result == Outcome::Fail
                });
                if !broken {
                    problems.push(format!("{}: no case that breaks {}/{}", pack.name, p.name, r.id));
                }
            }
        }
        println!("{}: {} policies, {} suites, every rule broken once", pack.name, policies.len(), suites.len());
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
