//! An evaluation's budget: a total CEL cost over every rule and item, and a flag its caller
//! sets to stop it. Either way the evaluation stops where it is, and what did not run is a rule
//! that could not be evaluated, which its failure policy decides.

use paved::{Budget, Bundle, Context, Decision, Engine, ErrorKind, Resource};

/// A rule that costs about `env` for each of a pod's containers.
const POLICY: &str = "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: env-names, version: 1.0.0}\nspec:\n  match: {kinds: [v1/Pod]}\n  rules:\n    - id: known\n      forEach: /spec/containers/*\n      message: variables are named V and short\n      cel: item.env.all(e, e.name.startsWith('V') && e.value.size() < 64)\n";

fn pod(containers: usize, env: usize) -> Vec<Resource> {
    let env: Vec<String> = (0..env).map(|i| format!("{{name: V{i}, value: x}}")).collect();
    let env = env.join(", ");
    let containers: String =
        (0..containers).map(|i| format!("    - {{name: c{i}, image: app:1, env: [{env}]}}\n")).collect();
    let text = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: big, namespace: shop}}\nspec:\n  containers:\n{containers}"
    );
    Resource::from_str("pod.yaml", &text).unwrap()
}

fn engine() -> Engine {
    Engine::builder().bundle(Bundle::from_str("policy.yaml", POLICY).unwrap()).build().unwrap()
}

fn ctx(budget: Budget) -> Context {
    Context::parse_at("2026-06-01").unwrap().budget(budget)
}

#[test]
fn a_total_cost_budget_stops_the_evaluation_and_fails_closed() {
    let engine = engine();
    let resources = pod(200, 30);
    let full = Budget::new();
    let report = engine.evaluate(&resources, &ctx(full.clone()));
    assert_eq!(report.summary.findings, 0, "every container passes");
    assert!(full.spent() > 50_000, "the whole pod costs {}", full.spent());

    let limit = full.spent() / 4;
    let budget = Budget::new().cost_limit(limit);
    let report = engine.evaluate(&resources, &ctx(budget.clone()));
    assert_eq!(report.decision, Decision::Deny, "an evaluation cut short is not an allow");
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    let error = report.findings[0].error.as_ref().unwrap();
    assert_eq!(error.kind, ErrorKind::Cost);
    assert!(error.message.contains(&format!("total cost budget of {limit}")), "{}", error.message);
    // It stopped at the budget, within one item's cost, not at the end.
    assert!(budget.spent() < limit + full.spent() / 100, "{} spent of {limit}", budget.spent());
}

#[test]
fn a_stopped_budget_stops_an_evaluation_on_another_thread() {
    let engine = engine();
    let resources = pod(1_000, 100);
    let budget = Budget::new();
    let report = std::thread::scope(|s| {
        let running = s.spawn(|| engine.evaluate(&resources, &ctx(budget.clone())));
        while budget.spent() < 50_000 {
            std::thread::yield_now();
        }
        budget.stop();
        let at_stop = budget.spent();
        let report = running.join().unwrap();
        // What ran after the stop: what an expression spends between two looks at its budget.
        assert!(budget.spent() - at_stop < 20_000, "{} after the stop", budget.spent() - at_stop);
        report
    });
    assert_eq!(report.decision, Decision::Deny);
    let errors: Vec<_> = report.findings.iter().filter_map(|f| f.error.as_ref()).collect();
    assert_eq!(errors.len(), report.findings.len());
    assert!(errors.iter().any(|e| e.kind == ErrorKind::Deadline && e.message.contains("stopped")), "{errors:#?}");
    assert!(report.findings.len() <= 2, "one finding for the item stopped, one for what did not start");
}

#[test]
fn a_budget_stopped_before_the_start_runs_nothing() {
    let budget = Budget::new();
    budget.stop();
    let report = engine().evaluate(&pod(3, 2), &ctx(budget.clone()));
    assert_eq!(budget.spent(), 0);
    assert_eq!(report.decision, Decision::Deny);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].error.as_ref().unwrap().kind, ErrorKind::Deadline);
}
