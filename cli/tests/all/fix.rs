//! `paved fix` and the changes `paved check` shows: the mutations of `examples/mutation`.

use super::{run, run_stdin, NOW};

const BUNDLE: &str = "examples/mutation/bundle";
const WEB: &str = "examples/mutation/manifests/web.yaml";

fn web() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(WEB)
}

#[test]
fn fix_prints_every_manifest_mutated_and_exits_one_when_something_changed() {
    let (code, out, err) = run(&["fix", "--bundle", BUNDLE, WEB, "--now", NOW]);
    assert_eq!(code, 1, "{err}");
    let fixed: serde_json::Value = paved::Resource::from_str("out.yaml", &out).unwrap()[0].value().clone();
    let pod = &fixed["spec"]["template"]["spec"];
    assert!(pod["containers"][0]["image"]
        .as_str()
        .unwrap()
        .ends_with("@sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"));
    assert_eq!(pod["priorityClassName"], "standard");
    assert_eq!(fixed["metadata"]["annotations"]["example.com/owner"], "shop");
    assert!(err.contains("examples/mutation/manifests/web.yaml:17: Deployment web: workload-defaults/digests: replace /spec/template/spec/containers/0/image"), "{err}");
    // What fix printed needs no fixing.
    let (code, again, _) = run_stdin(&["fix", "--bundle", BUNDLE, "-", "--now", NOW], &out);
    assert_eq!((code, again), (0, out));
}

#[test]
fn fix_writes_the_changes_into_the_file_keeping_its_comments_and_shows_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yaml");
    std::fs::copy(web(), &file).unwrap();
    let path = file.to_str().unwrap();
    let (code, diff, _) = run(&["fix", "--bundle", BUNDLE, "--diff", path, "--now", NOW]);
    assert_eq!(code, 1);
    assert!(diff.contains("+          image: registry.example.com/shop/web:1.4.2@sha256:5b0bcabd"), "{diff}");
    assert!(diff.contains("-          image: registry.example.com/shop/web:1.4.2\n"), "{diff}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        std::fs::read_to_string(web()).unwrap(),
        "--diff writes nothing"
    );
    let (code, _, err) = run(&["fix", "--bundle", BUNDLE, "--write", path, "--now", NOW]);
    assert_eq!(code, 1, "{err}");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.starts_with("# The shop's web tier, as the team writes it.\n"), "{written}");
    assert!(written.contains("labels: {cost-center: shared, app: web}   # the selector's label"), "{written}");
    let (code, out, _) = run(&["fix", "--bundle", BUNDLE, "--diff", path, "--now", NOW]);
    assert_eq!((code, out.as_str()), (0, ""), "written once, nothing is left to change");
    let (code, _, err) = run_stdin(
        &["fix", "--bundle", BUNDLE, "--write", "-", "--now", NOW],
        "{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: a, image: a}]}}",
    );
    assert_eq!(code, 2);
    assert!(err.contains("standard input have no file to rewrite"), "{err}");
}

#[test]
fn check_shows_the_changes_before_judging_the_result() {
    let (code, out, _) = run(&["check", "--bundle", BUNDLE, WEB, "--now", NOW]);
    assert_eq!(code, 0, "the pinned image passes the rule: {out}");
    assert!(out.contains("changes (made by mutations before the rules judged)"), "{out}");
    assert!(out.contains("examples/mutation/manifests/web.yaml:17  Deployment shop/web  workload-defaults/digests  replace /spec/template/spec/containers/0/image"), "{out}");
    assert!(
        out.ends_with("1 resource, 0 findings, 6 changes: 0 denied, 0 warned, 0 audited, 0 waived → allow\n"),
        "{out}"
    );
    let (_, json, _) = run(&["check", "--bundle", BUNDLE, WEB, "--now", NOW, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["patches"].as_array().unwrap().len(), 6);
    assert_eq!(
        report["patches"][1]["operation"],
        serde_json::json!({"op": "add", "path": "/spec/template/metadata/labels/cost-center", "value": "shared"})
    );
}

#[test]
fn render_applies_the_platforms_mutations_so_its_output_is_what_the_cluster_stores() {
    let args = ["render", "web-service", "-f", "examples/services/checkout.yaml", "--bundle", BUNDLE];
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let objects = paved::Resource::from_str("out.yaml", &out).unwrap();
    let deployment = objects.iter().find(|r| r.value()["kind"] == "Deployment").unwrap().value();
    assert_eq!(deployment["metadata"]["annotations"]["example.com/owner"], "payments", "the MutatingAdmissionPolicy's");
    assert_eq!(deployment["spec"]["template"]["metadata"]["labels"]["cost-center"], "shared");
    // What render made, `paved fix` leaves as it is.
    let (code, _, err) = run_stdin(&["fix", "--bundle", BUNDLE, "-", "--now", NOW], &out);
    assert_eq!(code, 0, "nothing left to change: {err}");
}

#[test]
fn sarif_carries_each_change_as_a_note_and_the_edit_paved_fix_makes_as_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yaml");
    std::fs::copy(web(), &file).unwrap();
    let path = file.to_str().unwrap();
    let (code, out, err) = run(&["check", "--bundle", BUNDLE, path, "--now", NOW, "--format", "sarif"]);
    assert_eq!(code, 0, "{err}");
    let sarif: serde_json::Value = serde_json::from_str(&out).unwrap();
    super::valid_sarif(&sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 6, "one note per change");
    assert!(results.iter().all(|r| r["level"] == "note" && r["ruleIndex"].is_u64()), "{results:#?}");
    let fixes: Vec<&serde_json::Value> = results.iter().filter_map(|r| r["fixes"].as_array()).flatten().collect();
    assert_eq!(fixes.len(), 1, "the resource's fix goes with its first change");
    let change = &fixes[0]["artifactChanges"][0];
    assert_eq!(change["artifactLocation"]["uri"], format!("file://{path}"));
    // The replacements, applied to the file, make what `paved fix --write` writes.
    let text = std::fs::read_to_string(&file).unwrap();
    let mut chars: Vec<char> = text.chars().collect();
    for r in change["replacements"].as_array().unwrap().iter().rev() {
        let (at, len) =
            (r["deletedRegion"]["charOffset"].as_u64().unwrap(), r["deletedRegion"]["charLength"].as_u64().unwrap());
        let at = usize::try_from(at).unwrap();
        let inserted: Vec<char> = r["insertedContent"]["text"].as_str().unwrap().chars().collect();
        chars.splice(at..at + usize::try_from(len).unwrap(), inserted);
    }
    let (code, _, err) = run(&["fix", "--bundle", BUNDLE, "--write", path, "--now", NOW]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(chars.into_iter().collect::<String>(), std::fs::read_to_string(&file).unwrap());
}
