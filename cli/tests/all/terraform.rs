//! `paved check` on a Terraform plan: the README's incidents (a bucket policy public, a large
//! instance in dev with no owner) denied at their `.tf` lines, an SSH rule whose source is known
//! only after apply reported `unknown`, and `--fail-on unknown` failing on it.

use super::{run, run_stdin, valid_sarif};

const PLAN: &str = "examples/terraform/plan.json";

#[test]
fn the_incidents_are_denied_at_their_tf_lines() {
    let (code, out, err) = run(&["check", "--pack", "terraform-baseline", PLAN]);
    assert_eq!(code, 1, "{err}");
    assert!(out.starts_with("examples/terraform/main.tf\n"), "{out}");
    for (address, rule, line) in [
        ("aws_s3_bucket_policy.exports", "storage-public-access/policy-not-public", 16),
        ("aws_s3_bucket_public_access_block.exports", "storage-public-access/public-access-block", 30),
        ("aws_instance.load_test", "instance-types/allowed-type", 47),
        ("aws_instance.load_test", "cloud-tags/required-tags", 47),
    ] {
        let block = resource_block(&out, address);
        assert!(block.contains(rule) && block.contains(&format!("(line {line})")), "{address} {rule}:\n{out}");
    }
    assert!(out.contains("instance type c5.4xlarge is not allowed in dev"), "{out}");
    assert!(out.contains("? unknown critical network-exposure/admin-ports-closed"), "{out}");
    assert!(out.contains("4 denied, 0 warned, 0 audited, 0 waived, 1 unknown until apply → deny"), "{out}");

    let (_, sarif, _) = run(&["check", "--pack", "terraform-baseline", PLAN, "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    valid_sarif(&sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let open: Vec<&serde_json::Value> = results.iter().filter(|r| r["kind"] == "open").collect();
    assert_eq!(open.len(), 1, "{results:?}");
    assert_eq!(open[0]["level"], "none");
    assert!(results
        .iter()
        .all(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "examples/terraform/main.tf"));

    let (_, junit, _) = run(&["check", "--pack", "terraform-baseline", PLAN, "--format", "junit"]);
    assert!(junit.contains("skipped=\"1\"") && junit.contains("<skipped message="), "{junit}");
}

/// The lines of the human report under a resource's header line.
fn resource_block(out: &str, address: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    let start = lines.iter().position(|l| l.starts_with("  ") && l.ends_with(&format!(" {address}"))).unwrap();
    lines[start + 1..].iter().take_while(|l| l.starts_with("    ")).copied().collect::<Vec<_>>().join("\n")
}

#[test]
fn unknown_fails_the_run_only_when_asked() {
    // The plan with only the SSH rule, whose source is the bastion's address.
    let mut plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("../{PLAN}")).unwrap()).unwrap();
    plan["resource_changes"].as_array_mut().unwrap().retain(|r| r["type"] == "aws_security_group_rule");
    let text = plan.to_string();
    let args = ["check", "--pack", "terraform-baseline", "--stdin-filename", PLAN, "-"];
    let (code, out, _) = run_stdin(&args, &text);
    assert_eq!(code, 0, "an unknown is not a denial:\n{out}");
    assert!(out.contains("1 unknown until apply → allow"), "{out}");
    let (code, ..) = run_stdin(&[&args[..], &["--fail-on", "unknown"]].concat(), &text);
    assert_eq!(code, 1);
    let (code, ..) = run_stdin(&[&args[..], &["--fail-on", "warn,unknown"]].concat(), &text);
    assert_eq!(code, 1);
}

#[test]
fn the_cost_of_a_plan_is_reported_and_judged_against_its_budget() {
    let (code, out, err) = run(&["check", "--pack", "cost", PLAN]);
    assert_eq!(code, 1, "{err}");
    assert!(out.contains("c5.4xlarge in eu-west-1: +$560.64/month, over the dev budget of $200.00"), "{out}");
    assert!(out.contains("cost by month (on-demand)") && out.contains("by owner: no owner +$560.64"), "{out}");
    // A larger budget for dev, given at run time: reported, not denied.
    let (code, out, _) =
        run(&["check", "--pack", "cost", "--set", r#"monthly-cost.budgets={"dev": 1000}"#, PLAN, "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let costs: Vec<&serde_json::Value> = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["costs"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(costs.len(), 1, "{costs:?}");
    assert_eq!(costs[0]["delta"], 560.64);
    assert_eq!(costs[0]["budget"], 1000.0);
    assert_eq!(costs[0]["group"], "dev");
}

#[test]
fn kubernetes_packs_leave_a_plan_alone() {
    let (code, out, err) = run(&["check", PLAN]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("8 resources, 0 findings"), "{out}");
}
