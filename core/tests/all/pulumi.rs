//! Pulumi previews as input: one resource per step on a cloud resource (not the stack, a
//! component or a provider), named by its logical name and typed by its token, judged for the
//! step's operation; Pulumi's unknown sentinels make a check `unknown`.

use paved::{Bundle, Context, Decision, Engine, ErrorKind, Resource};
use serde_json::json;

const PREVIEW: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pulumi/preview.json");

fn engine(rules: &str) -> Engine {
    let policy = format!(
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{name: p, version: 1.0.0}}\nspec:\n  action: Deny\n  match:\n    kinds: [\"pulumi/*/aws:s3/bucketPolicy:BucketPolicy\", \"pulumi/aws/aws:ec2/*\"]\n    operations: [CREATE, UPDATE, DELETE]\n  rules:\n{rules}"
    );
    Engine::builder().bundle(Bundle::from_str("p.yaml", &policy).unwrap()).build().unwrap()
}

#[test]
fn a_preview_is_one_resource_per_step_on_a_cloud_resource() {
    let resources = Resource::from_paths(&[PREVIEW]).unwrap();
    let ids: Vec<(String, String)> = resources.iter().map(|r| (r.identity().kind, r.identity().name)).collect();
    assert_eq!(
        ids,
        [
            ("aws:s3/bucketV2:BucketV2".to_owned(), "exports".to_owned()),
            ("aws:s3/bucketPolicy:BucketPolicy".into(), "exports".into()),
            ("aws:ec2/instance:Instance".into(), "api".into()),
            ("aws:ec2/securityGroup:SecurityGroup".into(), "legacy".into()),
        ],
        "the stack and the provider are not cloud resources"
    );
    let bucket = resources[0].value();
    assert_eq!(bucket["apiVersion"], "pulumi/aws");
    assert_eq!(bucket["metadata"]["labels"], json!({"owner": "data"}));
    assert_eq!(resources[1].value()["values"]["bucket"], json!({"$paved.unknown": "known after apply"}));
    assert_eq!(resources[2].value()["pulumi"]["op"], "update");
    assert!(resources[0].source_of("/values/bucket").unwrap().line > 1);
}

#[test]
fn steps_are_judged_for_their_operation_and_unknowns_are_unknown() {
    let engine = engine(concat!(
        "    - {id: named, message: the policy names its bucket, when: \"object.kind.endsWith('BucketPolicy')\", cel: \"object.values.bucket != ''\"}\n",
        "    - {id: public, message: not public, when: \"object.kind.endsWith('BucketPolicy')\", cel: \"!json.unmarshal(object.values.policy).Statement.exists(s, s.Principal == '*')\"}\n",
        "    - {id: grew, message: instances do not grow, when: \"object.kind.endsWith(':Instance')\", cel: \"oldObject.values.instanceType == object.values.instanceType\"}\n",
        "    - {id: no-ssh-world, message: deleting an open group is fine, when: \"object.kind.endsWith(':SecurityGroup')\", cel: \"request.operation == 'DELETE'\"}\n",
    ));
    let report = engine.evaluate(&Resource::from_paths(&[PREVIEW]).unwrap(), &Context::parse_at("2026-12-07").unwrap());
    let found: Vec<(String, Option<ErrorKind>)> =
        report.findings.iter().map(|f| (f.rule.clone(), f.error.as_ref().map(|e| e.kind))).collect();
    assert_eq!(
        found,
        [("named".into(), Some(ErrorKind::Unknown)), ("public".into(), None), ("grew".into(), None)],
        "{}",
        report.human(false)
    );
    assert_eq!((report.decision, report.summary.unknown), (Decision::Deny, 1));
}

#[test]
fn a_preview_step_paved_cannot_read_is_an_error() {
    let text = r#"{"steps": [{"op": "explode", "urn": "urn:pulumi:dev::p::aws:s3/bucketV2:BucketV2::b"}]}"#;
    let e = Resource::from_str("preview.json", text).unwrap_err().to_string();
    assert!(e.contains("`explode` is not a step of a preview"), "{e}");
}
