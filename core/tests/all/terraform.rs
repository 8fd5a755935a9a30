//! Terraform plans as input: one resource per resource change, named by its address, judged
//! for the plan's action; values known only after apply make a check `unknown`, never a pass or
//! a false failure. The plans under `tests/data/terraform` were made by Terraform itself.

use paved::{Bundle, Context, Decision, Engine, ErrorKind, Operation, Resource};
use serde_json::json;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/terraform");

fn plan(dir: &str) -> Vec<Resource> {
    Resource::from_paths(&[format!("{DATA}/{dir}/plan.json")]).unwrap()
}

fn engine(rules: &str) -> Engine {
    let policy = format!(
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{name: data, version: 1.0.0}}\nspec:\n  action: Deny\n  match: {{kinds: [\"terraform/*/terraform_data\"]}}\n  rules:\n{rules}"
    );
    Engine::builder().bundle(Bundle::from_str("policy.yaml", &policy).unwrap()).build().unwrap()
}

fn now() -> Context {
    Context::parse_at("2026-12-07T00:00:00Z").unwrap()
}

#[test]
fn a_plan_is_one_resource_per_change_named_by_address_and_found_in_its_tf_file() {
    let resources = plan("generated");
    let names: Vec<String> = resources.iter().map(|r| r.identity().name).collect();
    assert_eq!(names, ["terraform_data.bucket", "terraform_data.later", "module.web.terraform_data.x"]);
    let bucket = &resources[0];
    assert_eq!(bucket.identity().api_version, "terraform/terraform");
    assert_eq!(bucket.identity().kind, "terraform_data");
    assert_eq!(bucket.value()["values"]["input"]["acl"], "public-read");
    assert_eq!(bucket.value()["terraform"]["actions"], json!(["create"]));
    // What an attribute refers to, from the configuration: how rules relate resources whose
    // names are known only after apply.
    assert_eq!(
        resources[1].value()["terraform"]["references"]["input"],
        json!([
            "terraform_data.bucket.id",
            "terraform_data.bucket",
            "terraform_data.bucket.id",
            "terraform_data.bucket"
        ])
    );
    // Findings point at the block that declares the resource, in the module's own directory.
    let at = bucket.source_of("/values/input/acl").unwrap();
    assert_eq!((at.file.ends_with("generated/main.tf"), at.line), (true, 7), "{at:?}");
    let x = resources[2].source_of("").unwrap();
    assert!(x.file.ends_with("generated/web/main.tf") && x.line == 1, "{x:?}");
}

#[test]
fn a_check_that_reads_a_value_known_only_after_apply_is_unknown() {
    let engine = engine(concat!(
        "    - {id: public, message: not public, cel: \"object.values.input.?acl.orValue('') != 'public-read'\"}\n",
        "    - {id: id, message: the id is a uuid, cel: \"object.values.id.size() == 36\"}\n",
        "    - {id: absorbed, message: either side decides, cel: \"object.kind == 'terraform_data' || object.values.id == ''\"}\n",
        "    - {id: error-wins, message: a real error is not hidden, cel: \"object.values.id == '' || object.values.nope == ''\"}\n",
        "    - {id: schema, message: output is a string, assert: {properties: {values: {properties: {output: {type: string}}}}}}\n",
        "    - id: ports\n      message: no port 22\n      forEach: /values/input/ports/*\n      cel: \"item != 22\"\n",
    ));
    let report = engine.evaluate(&plan("generated"), &now());
    let of = |name: &str| -> Vec<(String, Option<ErrorKind>)> {
        report
            .findings
            .iter()
            .filter(|f| f.resource.name == name)
            .map(|f| (f.rule.clone(), f.error.as_ref().map(|e| e.kind)))
            .collect()
    };
    let unknown = Some(ErrorKind::Unknown);
    assert_eq!(
        of("terraform_data.bucket"),
        [
            ("error-wins".into(), Some(ErrorKind::Cel)),
            ("id".into(), unknown),
            ("public".into(), None),
            ("schema".into(), unknown)
        ]
    );
    // `ports: [22, <unknown>]`: the known item fails, the unknown one is unknown.
    let later = of("terraform_data.later");
    assert!(later.contains(&("ports".into(), None)) && later.contains(&("ports".into(), unknown)), "{later:?}");
    // Unknowns are counted apart and never decide: the denial is the known failures'.
    assert_eq!(report.summary.unknown, report.findings.iter().filter(|f| f.unknown()).count());
    assert_eq!(report.summary.unknown, 7);
    assert_eq!(report.decision, Decision::Deny);
    let only_unknown = engine_with_unknowns_only();
    let report = only_unknown.evaluate(&plan("generated"), &now());
    assert_eq!((report.decision, report.summary.denied, report.summary.unknown), (Decision::Allow, 0, 3));
    assert!(report.format("sarif".parse().unwrap()).contains("\"kind\": \"open\""));
    assert!(report.human(false).contains("3 unknown until apply"), "{}", report.human(false));
}

fn engine_with_unknowns_only() -> Engine {
    engine("    - {id: id, message: the id is a uuid, cel: \"object.values.id.size() == 36\"}\n")
}

#[test]
fn deletes_are_judged_on_before_and_replacements_see_both() {
    let resources = plan("changes");
    let by = |name: &str| resources.iter().find(|r| r.identity().name == name).unwrap();
    assert_eq!(resources.len(), 4);
    // A delete: its values are what it was; a policy judges it only if it names DELETE.
    assert_eq!(by("terraform_data.gone").value()["values"]["input"]["acl"], "public-read");
    let engine = Engine::builder()
        .bundle(
            Bundle::from_str(
                "p.yaml",
                concat!(
                    "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: changes, version: 1.0.0}\nspec:\n",
                    "  action: Deny\n  match: {kinds: [\"terraform/*/terraform_data\"], operations: [CREATE, UPDATE, DELETE]}\n",
                    "  rules:\n",
                    "    - {id: op, message: seen, cel: \"request.operation == 'UPDATE' && object.values.input.?size.orValue('') == 'large' && oldObject.values.input.size == 'small'\"}\n",
                    "    - {id: deleted, message: not deleted while public, cel: \"request.operation != 'DELETE' || oldObject.values.input.acl != 'public-read'\"}\n",
                ),
            )
            .unwrap(),
        )
        .build()
        .unwrap();
    let report = engine.evaluate(&resources, &now().operation(Operation::Create));
    let failed: Vec<(String, String)> =
        report.findings.iter().map(|f| (f.resource.name.clone(), f.rule.clone())).collect();
    assert_eq!(
        failed,
        [
            ("terraform_data.changed".into(), "op".into()),
            ("terraform_data.gone".into(), "deleted".into()),
            ("terraform_data.gone".into(), "op".into()),
            ("terraform_data.kept".into(), "op".into()),
        ],
        "the replacement (`op` holds: UPDATE, large after, small before) is the only one that passes `op`"
    );
    // The deleted resource's block is gone from the configuration: it points into the plan.
    let gone = by("terraform_data.gone").source_of("/values/input/acl").unwrap();
    assert!(gone.file.ends_with("plan.json") && gone.line > 1, "{gone:?}");
}

#[test]
fn plans_paved_cannot_read_are_errors_that_say_where() {
    let error = |text: &str| Resource::from_str("plan.json", text).unwrap_err().to_string();
    let e = error(r#"{"format_version": "2.0", "terraform_version": "9.0.0", "resource_changes": []}"#);
    assert!(e.contains("plan format version `2.0` is not one paved reads") && e.contains("plan.json:1"), "{e}");
    let e = error(
        r#"{"format_version": "1.2", "terraform_version": "1.9.0", "resource_changes": [{"address": "a.b", "mode": "managed", "name": "b", "change": {"actions": ["create"]}}]}"#,
    );
    assert!(e.contains("needs `type`"), "{e}");
    let e = error(
        r#"{"format_version": "1.2", "terraform_version": "1.9.0", "resource_changes": [{"address": "a_b.c", "type": "a_b", "mode": "managed", "name": "c", "change": {"actions": ["explode"]}}]}"#,
    );
    assert!(e.contains("`explode` is not an action of a plan"), "{e}");
    // Written by PowerShell's `>`: UTF-16, said so.
    let utf16: Vec<u8> = [0xff, 0xfe].into_iter().chain("{}".encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let e = Resource::from_bytes("plan.json", &utf16).unwrap_err().to_string();
    assert!(e.contains("UTF-16"), "{e}");
    // Truncated: the JSON error, with its place.
    let text = std::fs::read_to_string(format!("{DATA}/generated/plan.json")).unwrap();
    let e = error(&text[..text.len() / 2]);
    assert!(e.contains("plan.json:") && e.contains("invalid YAML"), "{e}");
}

#[test]
fn a_deeply_nested_unknown_is_unknown_not_a_crash() {
    let (mut after, mut unknown) = (json!("deep"), json!(true));
    for _ in 0..60 {
        after = json!({ "n": after });
        unknown = json!({ "n": unknown });
    }
    let plan = json!({"format_version": "1.2", "terraform_version": "1.9.0", "resource_changes": [{
        "address": "terraform_data.deep", "type": "terraform_data", "mode": "managed", "name": "deep",
        "change": {"actions": ["create"], "before": null, "after": {"input": after}, "after_unknown": {"input": unknown}}}]});
    let resources = Resource::from_str("plan.json", &plan.to_string()).unwrap();
    let path = format!("object.values.input{}", ".n".repeat(60));
    let engine = engine(&format!("    - {{id: deep, message: deep, cel: \"{path} == 'deep'\"}}\n"));
    let report = engine.evaluate(&resources, &now());
    assert!(report.findings[0].unknown(), "{:?}", report.findings);
}

#[test]
fn terraform_types_are_matched_in_their_group_and_a_bare_one_is_explained() {
    let bare = "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: p, version: 1.0.0}\nspec:\n  match: {kinds: [aws_s3_bucket]}\n  rules: [{id: r, message: m, cel: 'true'}]\n";
    let e = Engine::builder().bundle(Bundle::from_str("p.yaml", bare).unwrap()).build().unwrap_err().to_string();
    assert!(e.contains("`terraform/*/aws_s3_bucket`"), "{e}");
    // Kubernetes' own checks leave Terraform's resources alone.
    let report =
        Engine::builder().bundle(Bundle::defaults().unwrap()).build().unwrap().evaluate(&plan("generated"), &now());
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}

fn pack_engine() -> Engine {
    Engine::builder()
        .bundle(Bundle::pack("terraform-baseline").unwrap())
        .bundle(Bundle::pack("cost").unwrap())
        .build()
        .unwrap()
}

fn verdicts(report: &paved::Report) -> Vec<(String, String, bool)> {
    let mut out: Vec<(String, String, bool)> =
        report.findings.iter().map(|f| (f.resource.name.clone(), f.rule.clone(), f.unknown())).collect();
    out.sort();
    out
}

#[test]
fn hcl_and_the_plan_of_it_get_the_same_verdicts() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/terraform");
    let engine = pack_engine();
    let hcl = engine.evaluate(&Resource::from_paths(&[format!("{root}/main.tf")]).unwrap(), &now());
    let plan = engine.evaluate(&Resource::from_paths(&[format!("{root}/plan.json")]).unwrap(), &now());
    assert_eq!(verdicts(&hcl), verdicts(&plan));
    assert_eq!((hcl.summary.denied, hcl.summary.unknown), (5, 1), "{}", hcl.human(false));
    // HCL knows each attribute's line: the bucket policy's `policy`, not only its block.
    let policy = hcl.findings.iter().find(|f| f.rule == "policy-not-public").unwrap();
    assert_eq!(policy.source.as_ref().unwrap().line, 18);
}

#[test]
fn hcl_resolves_what_it_can_without_a_plan_and_leaves_the_rest_unknown() {
    let resources = Resource::from_paths(&[format!("{DATA}/hcl/main.tf")]).unwrap();
    let names: Vec<String> = resources.iter().map(|r| r.identity().name).collect();
    assert_eq!(
        names,
        [
            "aws_instance.api[0]",
            "aws_instance.api[1]",
            "aws_security_group_rule.admin",
            "aws_iam_policy.deploy",
            "module.network"
        ]
    );
    let api = resources[0].value();
    // terraform.tfvars over the variable's default; locals and merge; a template of a variable.
    assert_eq!(api["values"]["instance_type"], "m5.xlarge");
    assert_eq!(api["values"]["tags"], json!({"environment": "dev", "owner": "payments", "Name": "api-dev"}));
    assert_eq!(api["values"]["tags_all"]["cost-center"], "cc-3120", "the provider's default tags");
    assert_eq!(api["terraform"]["region"], "eu-central-1");
    // Another resource's attribute: unknown, and kept as a reference, as a plan keeps it.
    assert_eq!(api["values"]["subnet_id"], json!({"$paved.unknown": "known after apply"}));
    assert_eq!(api["terraform"]["references"]["subnet_id"], json!(["aws_subnet.private.id", "aws_subnet.private"]));
    assert_eq!(api["values"]["root_block_device"], json!([{"encrypted": true}]));
    assert_eq!(api["values"]["ebs_block_device"], json!({"$paved.unknown": "known after apply"}), "a dynamic block");
    assert!(api["values"].get("count").is_none(), "meta-arguments are not values");
    // A variable with no default and no value: unknown.
    assert_eq!(resources[2].value()["values"]["cidr_blocks"], json!([{"$paved.unknown": "known after apply"}]));
    // A module call is listed with its inputs.
    assert_eq!(resources[4].value()["values"]["source"], "terraform-aws-modules/vpc/aws");
    // Each value points at its own line.
    assert_eq!(resources[0].source_of("/values/tags").unwrap().line, 6);
    assert_eq!(resources[3].source_of("/values/policy").unwrap().line, 29);
}

#[test]
fn invalid_hcl_is_an_error_that_says_where() {
    let e =
        Resource::from_str("main.tf", "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \n}\n").unwrap_err().to_string();
    assert!(e.contains("main.tf:2") && e.contains("invalid HCL"), "{e}");
}
