//! GitLab's code quality report: one issue per unwaived finding, on its file and line, with a
//! fingerprint that names the rule, the object and the field, so a finding that moves to another
//! line is the same issue in the merge request and one that is fixed disappears.

use paved::{Bundle, Context, Engine, Format, Resource};
use serde_json::Value;

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec:\n  hostNetwork: true\n  containers: [{name: app, image: nginx:latest}]\n";

fn issues(text: &str) -> Vec<Value> {
    let engine = Engine::builder().bundle(Bundle::defaults().unwrap()).build().unwrap();
    let resources = Resource::from_str("k8s/pod.yaml", text).unwrap();
    let report = engine.evaluate(&resources, &Context::parse_at("2026-12-07T00:00:00Z").unwrap());
    serde_json::from_str(&report.format(Format::CodeQuality)).unwrap()
}

#[test]
fn each_finding_is_an_issue_whose_fingerprint_survives_a_move() {
    let before = issues(POD);
    assert!(before.len() >= 2, "{before:?}");
    let host = before.iter().find(|i| i["check_name"] == "pod-security-baseline/hostNamespaces").unwrap();
    assert_eq!(host["type"], "issue");
    assert_eq!(host["severity"], "critical", "a denial of a high-severity rule");
    assert_eq!(host["location"]["path"], "k8s/pod.yaml");
    assert_eq!(host["location"]["lines"]["begin"], 5);
    assert!(host["description"].as_str().unwrap().starts_with("Pod shop/web: "));
    // Two lines of comments above: every issue moves, none changes its fingerprint.
    let after = issues(&format!("# the web pod\n# of the shop\n{POD}"));
    let print = |list: &[Value]| {
        list.iter().map(|i| (i["fingerprint"].clone(), i["location"]["lines"]["begin"].clone())).collect::<Vec<_>>()
    };
    for ((f1, l1), (f2, l2)) in print(&before).into_iter().zip(print(&after)) {
        assert_eq!(f1, f2);
        assert_eq!(l2.as_u64().unwrap(), l1.as_u64().unwrap() + 2);
    }
    // Fixed, the issue is gone; the others keep their fingerprints.
    let fixed = issues(&POD.replace("  hostNetwork: true\n", ""));
    assert!(fixed.iter().all(|i| i["check_name"] != "pod-security-baseline/hostNamespaces"));
    assert!(fixed.iter().all(|i| before.iter().any(|b| b["fingerprint"] == i["fingerprint"])));
}
