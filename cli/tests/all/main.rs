//! The real `paved` binary against the example repo and broken inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use assert_cmd::Command;

mod argocd;
mod ci_hosts;
mod day2;
mod deploy;
mod fix;
mod flux;
mod kube;
mod kube_audit;
mod kube_inventory;
mod oci;
mod oracle;
mod oracle_mutation;
mod oracle_policies;
mod registry;
mod serve;
mod terraform;
mod wasm;

const NOW: &str = "2026-12-05T00:00:00Z";

fn paved() -> Command {
    let mut c = Command::cargo_bin("paved").unwrap();
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    c.env("NO_COLOR", "1");
    c
}

fn run(args: &[&str]) -> (i32, String, String) {
    output(paved().args(args).output().unwrap())
}

fn run_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    output(paved().args(args).write_stdin(stdin.to_owned()).output().unwrap())
}

fn output(out: std::process::Output) -> (i32, String, String) {
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn human_report_on_the_examples() {
    let (code, out, _) = run(&["check", "--bundle", "examples/bundle", "examples/manifests", "--now", NOW]);
    assert_eq!(code, 1, "{out}");
    insta::assert_snapshot!("check_human", out);
}

#[test]
fn json_report_on_the_examples() {
    let (code, out, _) =
        run(&["check", "--bundle", "examples/bundle", "examples/manifests", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["decision"], "deny");
    insta::assert_snapshot!("check_json", out);
}

#[test]
fn nothing_denied_exits_zero() {
    let (code, out, _) =
        run(&["check", "--bundle", "examples/bundle", "examples/manifests/billing.yaml", "--now", NOW]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("→ allow"), "{out}");
}

#[test]
fn expired_exception_stops_waiving() {
    let (code, out, _) = run(&[
        "check",
        "--bundle",
        "examples/bundle",
        "examples/manifests/billing.yaml",
        "--now",
        "2026-12-15T00:00:00Z",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("expired    legacy-billing-sidecar"), "{out}");
}

#[test]
fn multi_document_stdin() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/manifests/storefront.yaml")).unwrap();
    let out = paved()
        .args(["check", "--bundle", "examples/bundle", "-", "--now", NOW, "--format", "json"])
        .write_stdin(text)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["resources"], 2);
    assert_eq!(v["findings"][0]["source"]["file"], "<stdin>");
}

#[test]
fn bundle_errors_are_rendered_like_rustc_and_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.yaml"),
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: p, version: 1.0.0}\nspec:\n  sevrity: high\n  rules: [{id: r, message: m, cel: 'true'}]\n---\napiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: q, version: 1.0.0}\nspec:\n  rules:\n    - id: r\n      message: m\n      cel: has(objct.spec)\n",
    )
    .unwrap();
    let bundle = dir.path().to_str().unwrap();
    let (code, out, err) = run(&["check", "--bundle", bundle, "examples/manifests"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    let err = err.replace(bundle, "BUNDLE");
    insta::assert_snapshot!("bundle_errors", err);
}

#[test]
fn input_errors_exit_two() {
    let (code, _, err) = run(&["check", "--bundle", "examples/bundle", "does-not-exist.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot read does-not-exist.yaml"), "{err}");
    let (code, _, err) = run(&["check", "examples/manifests", "--now", "yesterday"]);
    assert_eq!(code, 2);
    assert!(err.contains("--now"), "{err}");
    let (code, _, _) = run(&["check"]);
    assert_eq!(code, 2);
}

#[test]
fn schema_prints_each_kind_and_matches_the_committed_files() {
    let (_, help, _) = run(&["schema", "--help"]);
    for kind in paved::KINDS {
        assert!(help.contains(kind), "`paved schema --help` names {kind}: {help}");
        let (code, out, _) = run(&["schema", kind]);
        assert_eq!(code, 0);
        let committed = std::fs::read_to_string(format!("{}/../schemas/{kind}.json", env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_default();
        assert!(out == committed, "schemas/{kind}.json is stale: run `paved schema {kind} > schemas/{kind}.json`");
    }
    let (code, _, err) = run(&["schema", "Polcy"]);
    assert_eq!(code, 2);
    assert!(err.contains("no document kind"), "{err}");
}

#[test]
fn default_packs_run_without_a_bundle() {
    let (code, out, _) = run(&["check", "examples/manifests", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let policies: std::collections::BTreeSet<&str> =
        v["findings"].as_array().unwrap().iter().map(|f| f["policy"].as_str().unwrap()).collect();
    assert!(policies.contains("images") && policies.contains("probes"), "{policies:?}");
    insta::assert_snapshot!("check_defaults_human", run(&["check", "examples/manifests", "--now", NOW]).1);
}

#[test]
fn packs_and_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let pod = dir.path().join("pod.yaml");
    std::fs::write(
        &pod,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  securityContext:\n    sysctls: [{name: net.ipv4.tcp_rmem, value: '4096 87380 6291456'}]\n  containers: [{name: c, image: 'docker.io/x:1'}]\n",
    )
    .unwrap();
    let pod = pod.to_str().unwrap();
    // tcp_rmem became a safe sysctl in v1.32.
    let (code, _, _) = run(&["check", "--pack", "pod-security-baseline", pod]);
    assert_eq!(code, 0);
    let (code, out, _) = run(&[
        "check",
        "--pack",
        "pod-security-baseline",
        "--set",
        "pod-security-baseline.kubernetesVersion=v1.31",
        pod,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("pod-security-baseline/sysctls"), "{out}");
    // A JSON parameter value.
    let (code, out, _) =
        run(&["check", "--pack", "platform-baseline", "--set", r#"images.registries=["registry.acme.dev/"]"#, pod]);
    assert_eq!(code, 1);
    assert!(out.contains("images/allowed-registries"), "{out}");
    let (code, _, err) = run(&["check", "--pack", "pod-security-basline", pod]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `pod-security-baseline`?"), "{err}");
    let (code, _, err) = run(&["check", "--pack", "platform-baseline", "--set", "imgs.registries=[]", pod]);
    assert_eq!(code, 2);
    assert!(err.contains("`imgs`"), "{err}");
    // A param the policy does not declare is refused, with a did-you-mean.
    let (code, _, err) = run(&["check", "--pack", "platform-baseline", "--set", "images.registriess=[]", pod]);
    assert_eq!(code, 2);
    assert!(err.contains("--set images: there is no param `registriess`; did you mean `registries`?"), "{err}");
    let (code, _, err) = run(&["check", "--set", "nodot", pod]);
    assert_eq!(code, 2);
    assert!(err.contains("POLICY.PARAM"), "{err}");
}

#[test]
fn a_bundle_can_build_on_packs_and_override_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("paved.yaml"),
        "apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: {name: b}\nspec:\n  packs: [platform-baseline]\n---\n\
         apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: probes, version: 9.0.0}\nspec:\n  action: Warn\n  match: {kinds: [Deployment]}\n  rules: [{id: liveness-probe, message: relaxed, cel: 'true'}]\n",
    )
    .unwrap();
    let (code, out, _) = run(&["check", "--bundle", dir.path().to_str().unwrap(), "examples/manifests", "--now", NOW]);
    assert_eq!(code, 1);
    assert!(out.contains("images/image-pinned"), "the pack's policies run: {out}");
    assert!(!out.contains("probes/readiness-probe"), "the bundle's probes policy replaces the pack's: {out}");
    std::fs::write(
        dir.path().join("paved.yaml"),
        "apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: {name: b}\nspec:\n  packs: [platfrom-baseline]\n",
    )
    .unwrap();
    let (code, _, err) = run(&["check", "--bundle", dir.path().to_str().unwrap(), "examples/manifests"]);
    assert_eq!(code, 2);
    assert!(err.contains("paved.yaml:5:") && err.contains("did you mean `platform-baseline`?"), "{err}");
}

#[test]
fn packs_are_listed() {
    let (code, out, _) = run(&["packs"]);
    assert_eq!(code, 0);
    for rule in [
        "allowPrivilegeEscalation",
        "procMount_restricted",
        "hostProbesAndHostLifecycle",
        "image-pinned",
        "required-tags",
    ] {
        assert!(out.contains(rule), "{rule} missing from:\n{out}");
    }
    let (code, out, _) = run(&["packs", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 6);
}

const FIXTURES: &str = "cli/tests/fixtures";
const EXCEPTIONS: &str = "cli/tests/fixtures/exceptions";

fn check_as(format: &str) -> (i32, String) {
    let (code, out, err) =
        run(&["check", "--bundle", "examples/bundle", "examples/manifests", "--now", NOW, "--format", format]);
    assert!(err.is_empty(), "{err}");
    (code, out)
}

/// Checks a log against the SARIF 2.1.0 schema.
fn valid_sarif(sarif: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/schemas/sarif-schema-2.1.0.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(sarif).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn sarif_is_valid_sarif_2_1_0() {
    let (code, out) = check_as("sarif");
    assert_eq!(code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&out).unwrap();
    valid_sarif(&sarif);
    // What GitHub code scanning needs: rules with help, results with a file region.
    let run = &sarif["runs"][0];
    assert!(run["tool"]["driver"]["rules"].as_array().unwrap().iter().all(|r| r["help"]["text"].is_string()));
    for r in run["results"].as_array().unwrap() {
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() > 0, "{r}");
        assert!(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("examples/"));
    }
    let suppressed = run["results"].as_array().unwrap().iter().filter(|r| r["suppressions"].is_array()).count();
    assert_eq!(suppressed, 1, "the waived finding is kept, suppressed");
    insta::assert_snapshot!("check_sarif", out);
}

#[test]
fn findings_on_standard_input_map_to_files() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let manifest = std::fs::read_to_string(format!("{root}/examples/manifests/storefront.yaml")).unwrap();
    let location = |sarif: &str| -> Vec<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_str(sarif).unwrap();
        v["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["locations"][0]["physicalLocation"].clone())
            .collect()
    };
    // Named: a repository-relative URI against %SRCROOT%, as GitHub code scanning places it.
    let (_, out, _) =
        run_stdin(&["check", "--format", "sarif", "--stdin-filename", "k8s/storefront.yaml", "-"], &manifest);
    let places = location(&out);
    assert!(!places.is_empty());
    for p in &places {
        assert_eq!(
            p["artifactLocation"],
            serde_json::json!({"uri": "k8s/storefront.yaml", "uriBaseId": "%SRCROOT%"}),
            "{p}"
        );
    }
    let (_, out, _) =
        run_stdin(&["check", "--format", "github", "--stdin-filename", "k8s/storefront.yaml", "-"], &manifest);
    assert!(out.lines().filter(|l| l.starts_with("::")).all(|l| l.contains("file=k8s/storefront.yaml,line=")), "{out}");
    // Unnamed: no file that is not one; the object is still named.
    let (_, out, _) = run_stdin(&["check", "--format", "sarif", "-"], &manifest);
    assert!(location(&out).iter().all(serde_json::Value::is_null), "{out}");
    assert!(!out.contains("<stdin>"), "{out}");
    let (_, out, _) = run_stdin(&["check", "--format", "github", "-"], &manifest);
    assert!(!out.contains("file=") && out.contains("Deployment shop/storefront"), "{out}");
    // Helm's `# Source:` comments and kustomize's origin annotations place each object in the
    // file it was made from, relative to the stream's name.
    let helm = format!("---\n# Source: shop/templates/storefront.yaml\n{manifest}");
    let (_, out, _) =
        run_stdin(&["check", "--format", "sarif", "--stdin-filename", "charts/rendered.yaml", "-"], &helm);
    assert!(
        location(&out).iter().all(|p| p["artifactLocation"]["uri"] == "charts/shop/templates/storefront.yaml"),
        "{out}"
    );
    let kustomized = manifest.replacen(
        "metadata:\n",
        "metadata:\n  annotations:\n    config.kubernetes.io/origin: |\n      path: ../../base/storefront.yaml\n",
        1,
    );
    let (_, out, _) = run_stdin(
        &["check", "--format", "github", "--stdin-filename", "overlays/prod/kustomization.yaml", "-"],
        &kustomized,
    );
    assert!(out.contains("file=base/storefront.yaml,line=1"), "{out}");
    // An absolute path under the working directory is named relative to it.
    let absolute = format!("{}/examples/manifests/storefront.yaml", std::fs::canonicalize(root).unwrap().display());
    let (_, out, _) = run(&["check", "--format", "sarif", &absolute]);
    assert!(
        location(&out).iter().all(|p| p["artifactLocation"]["uri"] == "examples/manifests/storefront.yaml"),
        "{out}"
    );
}

#[test]
fn files_that_are_not_manifests_are_left_out_by_pattern_or_pavedignore() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("k8s/services")).unwrap();
    std::fs::write(
        root.join("k8s/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec: {containers: []}\n",
    )
    .unwrap();
    std::fs::write(root.join("k8s/services/checkout.yaml"), "name: checkout\nteam: payments\n").unwrap();
    std::fs::write(root.join("k8s/Pulumi.yaml"), "name: infra\nruntime: nodejs\n").unwrap();
    let k8s = root.join("k8s");
    let k8s = k8s.to_str().unwrap();
    let check = |extra: &[&str]| {
        let mut args = vec!["check", "--format", "json", "--fail-on", "never", "--pack", "kubernetes-schema", k8s];
        args.extend_from_slice(extra);
        run(&args)
    };
    // Stopped, and told how to leave the files out.
    let (code, _, err) = check(&[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("with the line `checkout.yaml` in a `.pavedignore` beside it, or with `--exclude checkout.yaml`"),
        "{err}"
    );
    assert!(err.contains("Pulumi.yaml"), "{err}");
    // --exclude, repeatable, gitignore patterns over the directory given.
    let (code, out, err) = check(&["--exclude", "services/", "--exclude", "Pulumi.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"name\": \"web\""), "{out}");
    // The same from a .pavedignore, which holds for its directory's tree.
    std::fs::write(root.join("k8s/.pavedignore"), "# not manifests\nservices/\nPulumi.yaml\n").unwrap();
    let (code, _, err) = check(&[]);
    assert_eq!(code, 0, "{err}");
    // A file named on the command line is read whatever the patterns say.
    let named = root.join("k8s/services/checkout.yaml");
    let (code, _, err) = check(&[named.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("checkout.yaml"), "{err}");
}

#[test]
fn junit_has_a_case_per_resource_and_policy() {
    let (code, out) = check_as("junit");
    assert_eq!(code, 1);
    let doc = roxmltree::Document::parse(&out).unwrap();
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    let failures = cases.iter().filter(|c| c.children().any(|n| n.has_tag_name("failure"))).count();
    assert_eq!(cases.len(), 8);
    assert_eq!(failures, 2);
    assert_eq!(doc.root_element().attribute("failures"), Some("2"));
    insta::assert_snapshot!("check_junit", out);
}

#[test]
fn github_annotations_name_file_and_line() {
    let (code, out) = check_as("github");
    assert_eq!(code, 1);
    assert!(
        out.lines().filter(|l| l.starts_with("::error file=examples/manifests/storefront.yaml,line=")).count() == 3
    );
    assert!(out.contains("::warning file="), "{out}");
    assert!(!out.contains("legacy-billing-sidecar"), "waived findings are not annotated");
    insta::assert_snapshot!("check_github", out);
}

#[test]
fn code_quality_issues_name_file_and_line_and_leave_waived_findings_out() {
    let (code, out) = check_as("code-quality");
    assert_eq!(code, 1);
    let issues: serde_json::Value = serde_json::from_str(&out).unwrap();
    let issues = issues.as_array().unwrap();
    assert!(issues.iter().all(|i| i["location"]["path"].as_str().unwrap().starts_with("examples/manifests/")));
    assert!(!out.contains("legacy-billing-sidecar"), "waived findings are not issues");
    insta::assert_snapshot!("check_code_quality", out);
}

#[test]
fn policy_report_per_namespace() {
    let (code, out) = check_as("policy-report");
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let items = v["items"].as_array().unwrap();
    let scopes: Vec<(&str, &str)> = items
        .iter()
        .map(|i| (i["kind"].as_str().unwrap(), i["metadata"]["namespace"].as_str().unwrap_or_default()))
        .collect();
    // The billing Namespace itself is cluster-scoped.
    assert_eq!(scopes, [("ClusterPolicyReport", ""), ("PolicyReport", "billing"), ("PolicyReport", "shop")]);
    for report in items {
        assert_eq!(report["apiVersion"], "wgpolicyk8s.io/v1alpha2");
        let results = report["results"].as_array().unwrap();
        let total: u64 = report["summary"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(total as usize, results.len());
    }
    let shop = &items[2];
    assert_eq!(shop["summary"]["fail"], 3);
    assert_eq!(shop["summary"]["warn"], 1);
    assert_eq!(items[1]["summary"]["skip"], 1, "the waived finding is a skip");
    insta::assert_snapshot!("check_policy_report", out);
}

#[test]
fn fail_on_sets_the_threshold() {
    // billing.yaml alone has only a waived finding; with the warning horizon the exception is
    // expiring, and the storefront has warnings and denials.
    let args = |fail_on: &'static str, file: &'static str| {
        run(&["check", "--bundle", "examples/bundle", file, "--now", NOW, "--fail-on", fail_on]).0
    };
    assert_eq!(args("deny", "examples/manifests/storefront.yaml"), 1);
    assert_eq!(args("never", "examples/manifests/storefront.yaml"), 0);
    assert_eq!(args("warn", "examples/manifests/billing.yaml"), 0);
    let dir = tempfile::tempdir().unwrap();
    let warned = dir.path().join("warned.yaml");
    std::fs::write(
        &warned,
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: shop, labels: {team: web}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          image: registry.acme.dev/job:1.0.0\n          resources: {requests: {cpu: 1, memory: 1Gi}, limits: {memory: 1Gi}}\n          securityContext: {allowPrivilegeEscalation: false}\n",
    )
    .unwrap();
    let w = warned.to_str().unwrap();
    let (deny, out, _) = run(&["check", "--bundle", "examples/bundle", w, "--now", NOW]);
    assert!(out.contains("→ warn"), "{out}");
    assert_eq!(deny, 0);
    let (warn, _, _) = run(&["check", "--bundle", "examples/bundle", w, "--now", NOW, "--fail-on", "warn"]);
    assert_eq!(warn, 1);
}

#[test]
fn exceptions_from_their_own_directory() {
    let exceptions = format!("{FIXTURES}/exceptions");
    let (code, out, _) = run(&[
        "check",
        "--bundle",
        "examples/bundle",
        "--exceptions",
        &exceptions,
        "examples/manifests/storefront.yaml",
        "--now",
        NOW,
        "--format",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let waived: Vec<&str> = v["findings"].as_array().unwrap().iter().filter_map(|f| f["waivedBy"].as_str()).collect();
    assert_eq!(waived, ["storefront-single-replica"]);
    // A policy in an exceptions directory is a mistake, pointed at.
    let (code, _, err) = run(&["check", "--exceptions", "examples/bundle", "examples/manifests"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("an exceptions source holds only PolicyException documents, not a Policy")
            && err.contains("examples/bundle/workloads.yaml"),
        "{err}"
    );
}

#[test]
fn namespace_labels_from_a_file() {
    let bundle = format!("{FIXTURES}/namespaces/bundle");
    let check = |labels: &str| {
        let (code, out, err) = run(&[
            "check",
            "--bundle",
            &bundle,
            "--namespace-labels",
            labels,
            "examples/manifests",
            "--now",
            NOW,
            "--format",
            "json",
        ]);
        assert!(err.is_empty(), "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let denied: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["resource"]["namespace"].as_str().unwrap().into())
            .collect();
        (code, denied)
    };
    // The mapping form: shop is production.
    assert_eq!(check(&format!("{FIXTURES}/namespaces/labels.yaml")), (1, vec!["shop".to_owned()]));
    // Namespace objects: billing is production, but billing.yaml holds the billing Namespace
    // itself, whose own labels win (they are the state being applied).
    assert_eq!(check(&format!("{FIXTURES}/namespaces/namespaces.yaml")), (0, vec![]));
    let (code, out, _) = run_stdin(
        &["check", "--bundle", &bundle, "--namespace-labels", &format!("{FIXTURES}/namespaces/namespaces.yaml"), "-"],
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: billing}\nspec: {template: {spec: {containers: []}}}\n",
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("production-owners/on-call"), "{out}");
    // Without labels no namespace is production.
    let (code, out, _) = run(&["check", "--bundle", &bundle, "examples/manifests", "--now", NOW]);
    assert_eq!(code, 0, "{out}");
    // A label that is not a string is pointed at.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("labels.yaml");
    std::fs::write(&bad, "shop:\n  replicas: 3\n").unwrap();
    let (code, _, err) = run(&["check", "--namespace-labels", bad.to_str().unwrap(), "examples/manifests"]);
    assert_eq!(code, 2);
    assert!(err.contains("labels.yaml:2:") && err.contains("must be a string"), "{err}");
}

#[test]
fn policy_tests_of_the_packs_pass() {
    let (code, out, err) = run(&["test", "packs/tests", "examples/tests"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ok: 9 suites"), "{out}");
}

#[test]
fn a_failing_policy_test_shows_what_differed() {
    let file = format!("{FIXTURES}/tests/storefront.test.yaml");
    let (code, out, _) = run(&["test", &file]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("test_failing_human", out);
    let (code, out, _) = run(&["test", &file, "--format", "junit"]);
    assert_eq!(code, 1);
    let doc = roxmltree::Document::parse(&out).unwrap();
    assert_eq!(doc.root_element().attribute("failures"), Some("1"));
    insta::assert_snapshot!("test_failing_junit", out);
    let (code, out, _) = run(&["test", &file, "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["cases"][1]["checks"][0]["actual"], "fail");
}

#[test]
fn a_policy_test_with_typos_is_rejected_whole() {
    let (code, out, err) = run(&["test", &format!("{FIXTURES}/tests/typos.test.yaml")]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    insta::assert_snapshot!("test_typos", err);
}

#[test]
fn exceptions_are_listed_and_expired_ones_fail() {
    let (code, out, _) = run(&["exceptions", "examples/bundle", EXCEPTIONS, "--now", NOW]);
    assert_eq!(code, 0, "{out}");
    insta::assert_snapshot!("exceptions_human", out);
    // `--bundle` as every other command takes it.
    let (code, with_flag, _) = run(&["exceptions", "--bundle", "examples/bundle", EXCEPTIONS, "--now", NOW]);
    assert_eq!((code, with_flag), (0, out));
    // Three weeks later the billing exception has lapsed.
    let later = "2026-12-26T00:00:00Z";
    let (code, out, _) = run(&["exceptions", "examples/bundle", EXCEPTIONS, "--now", later, "--expiring", "30d"]);
    assert_eq!(code, 1);
    assert!(out.contains("expired") && out.contains("legacy-billing-sidecar"), "{out}");
    assert!(out.contains("storefront-single-replica"), "lapses within 30 days: {out}");
    // The check's report says why too.
    let (_, out, _) =
        run(&["check", "-b", "examples/bundle", "--exceptions", EXCEPTIONS, "examples/manifests", "--now", later]);
    assert!(out.contains("  expired    legacy-billing-sidecar") && out.contains("it expired at 2026-12-"), "{out}");
    let (_, out, _) = run(&["exceptions", "examples/bundle", EXCEPTIONS, "--now", later, "--expiring", "7d"]);
    assert!(!out.contains("storefront-single-replica"), "lapses in 20 days: {out}");
    let (code, out, _) = run(&["exceptions", EXCEPTIONS, "--now", NOW, "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["ticket"], "WEB-77");
    assert_eq!(v[0]["status"], "active");
    let (code, _, err) = run(&["exceptions", EXCEPTIONS, "--expiring", "a month"]);
    assert_eq!(code, 2);
    assert!(err.contains("--expiring"), "{err}");
}

#[test]
fn explain_shows_the_rule_its_examples_and_the_way_out() {
    let (code, out, _) = run(&["explain", "image-pinned"]);
    assert_eq!(code, 0);
    insta::assert_snapshot!("explain_image_pinned", out);
    let (code, out, _) = run(&["explain", "pod-security-restricted/runAsNonRoot"]);
    assert_eq!(code, 0);
    assert!(out.contains("Bad example") && out.contains("runAsNonRoot: false"), "{out}");
    let (code, out, _) = run(&["explain", "pinned-image", "--bundle", "examples/bundle"]);
    assert_eq!(code, 0);
    assert!(out.contains("container-hygiene/pinned-image"), "{out}");
    let (code, _, err) = run(&["explain", "image-pined"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `image-pinned`?"), "{err}");
}

#[test]
fn golden_paths_are_listed_and_a_deprecated_target_is_warned_of() {
    let (code, out, err) = run(&["golden-paths"]);
    assert_eq!(code, 0, "{err}");
    for (name, version) in
        [("web-service", "1.0.0"), ("web-service", "2.0.0"), ("worker", "2.0.0"), ("cron-job", "1.0.0")]
    {
        assert!(
            out.lines().any(|l| l.starts_with(name) && l.contains(&format!(" {version} "))),
            "{name}@{version}: {out}"
        );
    }
    assert!(out.contains("web-service@1.0.0 is deprecated"), "{out}");
    let (_, out, _) = run(&["golden-paths", "--format", "json"]);
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let web1 = list.as_array().unwrap().iter().find(|g| g["name"] == "web-service" && g["version"] == "1.0.0").unwrap();
    assert_eq!(web1["deprecated"]["replacement"], "web-service@^2");
    // An upgrade onto a deprecated version says so, with the version's own message.
    let dir = tempfile::tempdir().unwrap();
    let v2 =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../packs/golden-paths/web-service/2.0.0.yaml"))
            .unwrap();
    let v3 = v2.replace("  version: 2.0.0\n", "  version: 2.1.0\n").replacen(
        "\nspec:\n",
        "\nspec:\n  deprecated: {since: 2026-11-01, replacement: web-service@^2, message: 2.1.0 was withdrawn}\n",
        1,
    );
    std::fs::write(dir.path().join("web-service-2.1.yaml"), v3).unwrap();
    let b = dir.path().to_str().unwrap();
    let (_, _, err) =
        run(&["upgrade", "web-service@2.0.0", "-f", "examples/services/checkout.yaml", "--to", "2.1.0", "-b", b]);
    assert!(err.contains("warning: web-service@2.1.0 is deprecated") && err.contains("2.1.0 was withdrawn"), "{err}");
}

#[test]
fn upgrade_write_keeps_the_developers_comments_and_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("orders.yaml");
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/services/orders.yaml")).unwrap();
    let text = text.replace("team: payments\n", "team: payments   # owns the on-call rota\n");
    std::fs::write(&inputs, &text).unwrap();
    let (code, _, err) =
        run(&["upgrade", "web-service@1.0.0", "-f", inputs.to_str().unwrap(), "--to", "^2", "--write"]);
    assert_eq!(code, 0, "{err}");
    let written = std::fs::read_to_string(&inputs).unwrap();
    assert!(written.starts_with("# Inputs written for web-service 1.0.0"), "{written}");
    assert!(
        written.contains("\nname: orders\nteam: payments   # owns the on-call rota\ncostCenter: cc-3120\n"),
        "{written}"
    );
    // And it is what the upgrade computed: the migrated inputs render on 2.0.0.
    let (code, _, err) = run(&["render", "web-service@2.0.0", "-f", inputs.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn help_version_and_completions() {
    let commands = [
        "check",
        "render",
        "conform",
        "upgrade",
        "outdated",
        "catalog",
        "test",
        "exceptions",
        "explain",
        "packs",
        "golden-paths",
    ];
    for cmd in commands.into_iter().chain(["schema", "completions"]) {
        let (code, out, _) = run(&[cmd, "--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("Examples:"), "`paved {cmd} --help` has no examples:\n{out}");
    }
    let (_, out, _) = run(&["--version"]);
    assert!(out.contains(env!("CARGO_PKG_VERSION")), "{out}");
    assert!(out.contains("plugin contract: paved:plugin/checker@0.1.0"), "{out}");
    let (code, out, _) = run(&["plugin", "inspect", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Examples:"), "{out}");
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, _) = run(&["completions", shell]);
        assert_eq!(code, 0);
        assert!(out.contains("paved") && out.contains("exceptions") && out.contains("fail-on"), "{shell}");
    }
}

#[test]
fn render_a_golden_path_from_a_six_line_spec() {
    let examples = [
        ("web-service", "checkout"),
        ("web-service@1.0.0", "orders"),
        ("worker", "ledger-sync"),
        ("cron-job", "nightly-report"),
    ];
    for (path, service) in examples {
        let file = format!("examples/services/{service}.yaml");
        let (code, out, err) = run(&["render", path, "-f", &file]);
        assert_eq!(code, 0, "{err}");
        insta::assert_snapshot!(format!("render_{service}"), out);
        // What it renders passes the policies the golden path names.
        let (code, checked, _) = run_stdin(
            &["check", "--pack", "pod-security-restricted", "--pack", "platform-baseline", "-", "--fail-on", "warn"],
            &out,
        );
        assert_eq!(code, 0, "{checked}");
    }
    let (code, json, _) = run(&["render", "web-service", "-f", "examples/services/checkout.yaml", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 7);
    // A deprecated version renders, with a warning.
    let (_, _, err) = run(&["render", "web-service@1.0.0", "-f", "examples/services/orders.yaml"]);
    assert!(err.starts_with("warning: web-service@1.0.0 is deprecated since 2026-10-01"), "{err}");
}

#[test]
fn render_reports_every_input_problem_and_non_compliance() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("inputs.yaml");
    std::fs::write(
        &bad,
        "name: Checkout\nteam: payments\nimage: nginx:latest\ntier: gold\ningres: {host: x}\nscalng: {}\n",
    )
    .unwrap();
    let (code, out, err) = run(&["render", "web-service", "-f", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    insta::assert_snapshot!("render_input_errors", err.replace(bad.to_str().unwrap(), "inputs.yaml"));
    let (code, _, err) =
        run_stdin(&["render", "config-in-default", "--bundle", "cli/tests/fixtures/golden", "-f", "-"], "name: x\n");
    assert_eq!(code, 1);
    assert!(
        err.contains("config-in-default@1.0.0 rendered manifests its own policies deny")
            && err.contains("workload-placement/no-default-namespace"),
        "{err}"
    );
    let (code, _, err) = run(&["render", "web-service@^9", "-f", "examples/services/checkout.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("no version of `web-service` matches `^9`; there are: 1.0.0, 1.1.0, 2.0.0"), "{err}");
}

#[test]
fn conform_calls_an_edited_render_drift() {
    let dir = tempfile::tempdir().unwrap();
    let (_, rendered, _) = run(&["render", "web-service", "-f", "examples/services/checkout.yaml"]);
    let file = dir.path().join("checkout.yaml");
    std::fs::write(&file, &rendered).unwrap();
    let (code, out, err) = run(&["conform", file.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("payments/checkout  web-service@2.0.0  ✓ conforms  score 0"), "{out}");
    // A developer bumps the image by hand and scales up; the network policy gets deleted.
    let edited = rendered
        .replace("image: registry.acme.dev/payments/checkout:4.2.1", "image: registry.acme.dev/payments/checkout:4.3.0")
        .replace("  replicas: 2\n", "  replicas: 6\n");
    let edited: Vec<&str> = edited.split("---\n").filter(|d| !d.contains("kind: NetworkPolicy")).collect();
    std::fs::write(&file, edited.join("---\n")).unwrap();
    let (code, out, _) = run(&["conform", "--verbose", file.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 1, "{out}");
    insta::assert_snapshot!("conform_drift", out.replace(file.to_str().unwrap(), "checkout.yaml"));
    // Without --verbose the extension is counted, and the summary names the flag that lists it.
    let (_, out, _) = run(&["conform", file.to_str().unwrap(), "--now", NOW]);
    assert!(out.contains("1 allowed extension (--verbose lists them);"), "{out}");
    let (_, json, _) = run(&["conform", file.to_str().unwrap(), "--now", NOW, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["summary"]["drifted"], 1);
    assert_eq!(v["services"][0]["score"]["drift"], 15);
}

#[test]
fn upgrade_moves_a_1x_service_to_2_with_a_readable_diff() {
    let (code, out, err) = run(&["upgrade", "web-service@1.0.0", "-f", "examples/services/orders.yaml", "--to", "^2"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("upgrade_orders", out);
    let (_, json, _) =
        run(&["upgrade", "web-service@1.0.0", "-f", "examples/services/orders.yaml", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["requests"]["after"]["cpuMillis"], 1500);
    assert!(v["changes"][0]["patch"].as_array().is_some_and(|p| !p.is_empty()), "{v}");
}

/// From its manifests (as rendered, then changed by the team), a service is upgraded by a
/// three-way merge; `--write` rewrites the manifests in place, and what it writes conforms to
/// the new version with the team's extension kept.
#[test]
fn upgrade_of_manifests_keeps_extensions_flags_conflicts_and_writes_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let (_, rendered, _) = run(&["render", "web-service@1.0.0", "-f", "examples/services/orders.yaml"]);
    let changed =
        rendered.replacen("replicas: 3", "replicas: 5 # for the sale", 1).replacen("cpu: 250m", "cpu: 300m", 1);
    assert_ne!(changed, rendered);
    let manifests = dir.path().join("orders.yaml");
    std::fs::write(&manifests, &changed).unwrap();
    let file = manifests.to_str().unwrap();
    let (code, out, _) = run(&["upgrade", "-f", file, "--write"]);
    assert_eq!(code, 1, "a conflict is left: {out}");
    assert!(out.contains("kept      /spec/replicas: 5"), "{out}");
    assert!(out.contains("CONFLICT  /spec/template/spec/containers/0/resources/requests/cpu: was \"250m\", the team has \"300m\", web-service@2.0.0 renders \"500m\""), "{out}");
    assert_eq!(std::fs::read_to_string(&manifests).unwrap(), changed, "nothing is written while a conflict is open");
    // A FILE for --write is for inputs only.
    let (code, _, err) = run(&["upgrade", "-f", file, "--write", "x.yaml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("rewritten where they are"), "{err}");
    let (code, out, err) = run(&["upgrade", "-f", file, "--prefer", "theirs", "--write"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("documents 7 edited in place"), "{out}");
    let written = std::fs::read_to_string(&manifests).unwrap();
    assert!(written.contains("replicas: 5 # for the sale"), "the comment stays: {written}");
    assert!(written.starts_with("# Rendered by paved from web-service@1.0.0\n"), "{written}");
    // Re-rendered, the written manifests differ only by the kept extension.
    let (code, json, err) = run(&["conform", file, "--format", "json", "--now", "2026-11-30T00:00:00Z"]);
    assert_eq!(code, 0, "{json}{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["services"][0]["goldenPath"], "web-service@2.0.0");
    let deviations: Vec<(&str, &str)> = v["services"][0]["deviations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["path"].as_str().unwrap(), d["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(deviations, [("/spec/replicas", "extension")]);
}

#[test]
fn upgrade_all_plans_every_service_and_summarises_per_team() {
    let dir = tempfile::tempdir().unwrap();
    for (name, team, spec) in [
        ("orders", "payments", "web-service@1.0.0"),
        ("billing", "payments", "web-service@2.0.0"),
        ("mailer", "growth", "web-service@1.1.0"),
    ] {
        let inputs = dir.path().join(format!("{name}.inputs.yaml"));
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/services/orders.yaml"));
        std::fs::write(&inputs, text.unwrap().replace("orders", name).replace("payments", team)).unwrap();
        if spec == "web-service@2.0.0" {
            // `--write` alone writes the migrated inputs back to their file.
            let (code, _, err) = run(&["upgrade", "web-service@1.0.0", "-f", inputs.to_str().unwrap(), "--write"]);
            assert_eq!(code, 0, "{err}");
        }
        let (code, rendered, err) = run(&["render", spec, "-f", inputs.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        std::fs::write(dir.path().join(format!("{name}.yaml")), rendered).unwrap();
        std::fs::remove_file(&inputs).unwrap();
    }
    let path = dir.path().to_str().unwrap();
    let (code, md, err) = run(&["upgrade", "--all", path, "--format", "markdown"]);
    assert_eq!(code, 0, "{md}{err}");
    assert!(md.contains("## Golden path upgrades for growth"), "{md}");
    assert!(md.contains("## Golden path upgrades for payments"), "{md}");
    assert!(md.contains("| payments/orders | web-service@1.0.0 | web-service@2.0.0 |"), "{md}");
    assert!(!md.contains("payments/billing"), "billing is current: {md}");
    let (code, json, _) = run(&["upgrade", "--all", path, "--format", "json", "--write"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!((v["summary"]["upgraded"].as_u64(), v["summary"]["current"].as_u64()), (Some(2), Some(1)), "{v}");
    let (_, json, _) = run(&["outdated", path, "--format", "json", "--now", "2026-11-30T00:00:00Z"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["summary"]["current"], 3, "{v}");
}

#[test]
fn an_uncovered_major_upgrade_is_refused() {
    let (code, _, err) =
        run_stdin(&["upgrade", "settings@1.0.0", "--bundle", "cli/tests/fixtures/golden", "-f", "-"], "name: app\n");
    assert_eq!(code, 2);
    assert!(
        err.contains("settings 1.0.0 → 2.0.0 is a major upgrade and no migration of settings@2.0.0 covers 1.0.0"),
        "{err}"
    );
    let (code, _, err) = run(&["upgrade", "-f", "examples/services/orders.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("paved upgrade NAME@VERSION -f FILE"), "{err}");
}

#[test]
fn outdated_over_a_generated_fleet_prints_the_adoption_table() {
    let dir = tempfile::tempdir().unwrap();
    let teams = ["payments", "search", "identity", "growth"];
    for i in 0..60 {
        let team = teams[i % teams.len()];
        let base =
            format!("team: {team}\ncostCenter: cc-{}\nimage: registry.acme.dev/{team}/svc-{i}:1.{i}.0\n", 1000 + i);
        let (path, inputs) = match i % 10 {
            0..=3 => ("web-service@2.0.0", format!("name: web-{i}\n{base}tier: standard\n")),
            4 | 5 => ("web-service@1.0.0", format!("name: web-{i}\n{base}replicas: 3\n")),
            6 => ("web-service@1.1.0", format!("name: web-{i}\n{base}")),
            7 => ("worker@2.0.0", format!("name: worker-{i}\n{base}queue: {{topic: jobs-{i}, backend: sqs}}\n")),
            8 => ("worker@1.0.0", format!("name: worker-{i}\n{base}queue: {{name: jobs-{i}}}\n")),
            _ if i % 20 == 9 => ("cron-job@1.0.0", format!("name: job-{i}\n{base}schedule: \"@daily\"\n")),
            _ => ("cron-job@2.0.0", format!("name: job-{i}\n{base}schedule: \"@daily\"\ntimeZone: Etc/UTC\n")),
        };
        let (code, out, err) = run_stdin(&["render", path, "-f", "-"], &inputs);
        assert_eq!(code, 0, "{path} {inputs}: {err}");
        std::fs::write(dir.path().join(format!("svc-{i:02}.yaml")), out).unwrap();
    }
    let unmanaged = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: legacy-billing, namespace: billing}\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: cleanup, namespace: ops}\n";
    std::fs::write(dir.path().join("unmanaged.yaml"), unmanaged).unwrap();
    let claimed = std::fs::read_to_string(dir.path().join("svc-00.yaml")).unwrap();
    std::fs::write(dir.path().join("svc-00.yaml"), claimed.replace("web-service@2.0.0", "web-service@1.7.0")).unwrap();
    let (code, out, _) = run(&["outdated", dir.path().to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 1, "a service past its sunset and an unknown version fail the run:\n{out}");
    insta::assert_snapshot!("outdated_fleet", out);
    let (_, json, _) = run(&["outdated", dir.path().to_str().unwrap(), "--now", NOW, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["summary"]["services"], 60);
    assert_eq!(v["summary"]["unmanaged"], 2);
}

/// `paved` with its compiled-plugin cache in `cache`.
fn paved_cached(cache: &std::path::Path) -> Command {
    let mut c = paved();
    c.env("PAVED_CACHE_DIR", cache);
    c
}

#[test]
fn plugins_run_through_check_and_a_second_run_reuses_the_compiled_code() {
    let cache = tempfile::tempdir().unwrap();
    let check = ["check", "--bundle", "examples/plugins/bundle", "examples/plugins/manifests", "--now", NOW];
    let first = output(paved_cached(cache.path()).args(check).output().unwrap());
    assert_eq!(first.0, 1, "{}", first.2);
    insta::assert_snapshot!("plugins_check", first.1);
    let compiled: Vec<String> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(compiled.len(), 3, "one compiled entry per plugin: {compiled:?}");
    let second = output(paved_cached(cache.path()).args(check).output().unwrap());
    assert_eq!(second, first, "a cached run gives the same answer");

    let inspect = |path: &str| {
        let (code, out, err) =
            output(paved_cached(cache.path()).args(["plugin", "inspect", "--format", "json", path]).output().unwrap());
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let seen = inspect("examples/plugins/bundle/owner-catalog.wasm");
    assert_eq!(seen["load"]["fromCache"], true, "check compiled it already: {seen}");
    assert_eq!(seen["contract"], "paved:plugin/checker@0.1.0");
    assert_eq!(seen["metadata"]["name"], "owner-catalog");
    let pinned =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/plugins/bundle/paved.yaml")).unwrap();
    assert!(pinned.contains(seen["sha256"].as_str().unwrap()), "inspect prints the sha256 the bundle pins");

    let (code, out, _) = output(
        paved_cached(cache.path())
            .args(["plugin", "inspect", "--no-cache", "examples/plugins/bundle/cost-budget.wasm"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0);
    assert!(out.contains("load:     compiled in "), "{out}");
    assert!(out.contains("over-budget: The estimated monthly cost stays within the team's budget."), "{out}");

    let (code, out, _) = output(
        paved_cached(cache.path())
            .args(["explain", "catalog-team", "--bundle", "examples/plugins/bundle"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0);
    assert!(out.contains("  plugin: owner-catalog (WASM)\n  params:\n    teams:\n      - payments"), "{out}");
}

#[test]
fn plugin_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.wasm"), b"this is not WebAssembly").unwrap();
    let (code, _, err) = run(&["plugin", "inspect", dir.path().join("x.wasm").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.starts_with("error: plugin `x` is not a WebAssembly component: "), "{err}");

    // A bundle whose pin does not match its plugin.
    let bundle = dir.path().join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    let plugin = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/plugins/bundle/owner-catalog.wasm");
    std::fs::copy(plugin, bundle.join("owner-catalog.wasm")).unwrap();
    std::fs::write(
        bundle.join("paved.yaml"),
        format!("apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: {{ name: b }}\nspec:\n  plugins:\n    - {{ name: owner-catalog, path: owner-catalog.wasm, sha256: \"{}\" }}\n", "ab".repeat(32)),
    )
    .unwrap();
    let (code, _, err) = run(&["check", "--bundle", bundle.to_str().unwrap(), "examples/plugins/manifests"]);
    assert_eq!(code, 2);
    assert!(err.contains("plugin `owner-catalog` has sha256 "), "{err}");
    assert!(err.contains("but the bundle pins abab"), "{err}");
    assert!(err.contains("paved.yaml:6:"), "{err}");
}

#[test]
fn captured_admission_requests_replay_with_their_operation() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("updates.yaml");
    std::fs::write(
        &bundle,
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: no-scale-to-zero, version: 1.0.0}\nspec:\n  match: {kinds: [Deployment], operations: [UPDATE]}\n  rules:\n    - id: replicas\n      message: production Deployments keep at least one replica\n      cel: object.spec.replicas > 0\n",
    )
    .unwrap();
    let deployment =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  replicas: 0\n";
    let manifest = dir.path().join("web.yaml");
    std::fs::write(&manifest, deployment).unwrap();
    let (b, m) = (bundle.to_str().unwrap(), manifest.to_str().unwrap());
    // A plain manifest is judged for CREATE unless told otherwise.
    let (code, out, _) = run(&["check", "--bundle", b, m, "--now", NOW]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(&["check", "--bundle", b, m, "--now", NOW, "--operation", "UPDATE"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("production Deployments keep at least one replica"), "{out}");
    // A captured UPDATE request carries its own operation, and its object's lines.
    let review = serde_json::json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "7f0c", "operation": "UPDATE", "namespace": "shop", "name": "web",
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "object": {"metadata": {"name": "web"}, "spec": {"replicas": 0}},
            "oldObject": {"metadata": {"name": "web"}, "spec": {"replicas": 3}}
        }
    });
    let captured = dir.path().join("request.json");
    std::fs::write(&captured, serde_json::to_string_pretty(&review).unwrap()).unwrap();
    let (code, out, _) = run(&["check", "--bundle", b, captured.to_str().unwrap(), "--now", NOW, "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["findings"][0]["resource"]["kind"], "Deployment");
    assert_eq!(v["findings"][0]["resource"]["namespace"], "shop");
    assert_eq!(v["findings"][0]["source"]["line"], 14, "the object's line in the review: {out}");
    // A request paved cannot judge is an input error, as the webhook refuses it.
    std::fs::write(&captured, r#"{"uid": "x", "kind": {"kind": "Pod", "version": "v1"}, "object": {}}"#).unwrap();
    let (code, _, err) = run(&["check", captured.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("the request has no `operation`"), "{err}");
}

#[test]
fn every_captured_request_of_the_conformance_corpus_is_read() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance/admission-requests");
    let (code, out, err) = run(&["check", "--format", "json", "--now", NOW, dir]);
    // Two requests there carry no operation: they are refused, and say where.
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.matches("the request has no `operation`").count(), 2, "{err}");
    assert!(out.is_empty());
}

#[test]
fn logs_go_to_stderr_at_the_level_asked_for() {
    let (code, out, err) = run(&["-v", "check", "examples/manifests", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 1);
    assert!(err.contains("engine.build") && err.contains("evaluate"), "{err}");
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok(), "stdout stays the report");
    let (_, _, quiet) = run(&["check", "examples/manifests", "--now", NOW, "--format", "json"]);
    assert!(quiet.is_empty(), "{quiet}");
    let (_, _, debug) = run(&["check", "--log-level", "paved=debug", "examples/manifests", "--now", NOW]);
    assert!(debug.contains("resource"), "{debug}");
}

#[test]
fn exceptions_are_held_to_the_platform_window_from_any_source() {
    let dir = tempfile::tempdir().unwrap();
    let platform = dir.path().join("platform");
    std::fs::create_dir(&platform).unwrap();
    std::fs::write(
        platform.join("paved.yaml"),
        "apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: {name: platform}\nspec: {exceptionMaxDays: 30, packs: [platform-baseline]}\n",
    )
    .unwrap();
    let waivers = dir.path().join("exceptions");
    std::fs::create_dir(&waivers).unwrap();
    std::fs::write(
        waivers.join("storefront.yaml"),
        "apiVersion: paved.dev/v1\nkind: PolicyException\nmetadata: {name: storefront-single-replica}\nspec:\n  policies: [{name: images}]\n  owner: team-shop\n  reason: migrating\n  created: 2026-12-01\n  expires: 2027-02-19\n",
    )
    .unwrap();
    let (p, w) = (platform.to_str().unwrap(), waivers.to_str().unwrap());
    let (code, out, _) =
        run(&["check", "--bundle", p, "--exceptions", w, "examples/manifests", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["findings"].as_array().unwrap().iter().all(|f| f["waivedBy"].is_null()),
        "80 days > 30: nothing is waived"
    );
    assert_eq!(v["exceptions"][0]["status"], "invalid");
    assert_eq!(v["exceptions"][0]["problem"], "it runs 80 days from `created`; the platform allows at most 30");
    // Listed with the platform bundle, the same exception is a load error at its line.
    let (code, _, err) = run(&["exceptions", p, w, "--now", NOW]);
    assert_eq!(code, 2);
    assert!(err.contains("the exception runs 80 days from `created`; the bundle allows at most 30"), "{err}");
    assert!(err.contains("storefront.yaml:9:12"), "{err}");
    // `paved exceptions` says why an exception waives nothing, and warns about one that matches
    // everything.
    std::fs::write(
        waivers.join("storefront.yaml"),
        std::fs::read_to_string(waivers.join("storefront.yaml"))
            .unwrap()
            .replace("2027-02-19", "2026-12-20")
            .replace("2026-12-01", "2026-12-10"),
    )
    .unwrap();
    let (code, out, _) = run(&["exceptions", p, w, "--now", NOW]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("warning: storefront-single-replica: its `created` (2026-12-10T00:00:00Z) is later than now"),
        "{out}"
    );
    assert!(
        out.contains("its `match` names no kind, namespace, name or container, so it waives images on every resource"),
        "{out}"
    );
    // An exceptions source cannot raise the window.
    std::fs::write(
        waivers.join("paved.yaml"),
        "apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: {name: team}\nspec: {exceptionMaxDays: 100000}\n",
    )
    .unwrap();
    let (code, _, err) = run(&["check", "--bundle", p, "--exceptions", w, "examples/manifests", "--now", NOW]);
    assert_eq!(code, 2);
    assert!(err.contains("an exceptions source holds only PolicyException documents, not a Bundle"), "{err}");
}

#[test]
fn the_inventory_is_looked_up_and_a_partial_view_never_denies_on_a_guess() {
    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["check", "examples/manifests", "--now", NOW, "--format", "json", "--fail-on", "never"];
        all.extend_from_slice(args);
        let (code, out, err) = run(&all);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str(&out).unwrap()
    };
    let rules = |r: &serde_json::Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["policy"].as_str().unwrap().starts_with("production-disruption-budget"))
            .map(|f| {
                format!("{} {} {}", f["rule"].as_str().unwrap(), f["action"], f["resource"]["name"].as_str().unwrap())
            })
            .collect()
    };
    // The repository alone: the storefront's budget is not in view, and the view is partial.
    assert_eq!(rules(&json(&[])), ["pod-disruption-budget-in-view \"Audit\" storefront"]);
    // Said complete, its absence is a denial.
    assert_eq!(rules(&json(&["--inventory-complete"])), ["pod-disruption-budget \"Deny\" storefront"]);
    assert_eq!(rules(&json(&["--inventory-complete=shop,billing"])), ["pod-disruption-budget \"Deny\" storefront"]);
    assert_eq!(rules(&json(&["--inventory-complete=billing"])), ["pod-disruption-budget-in-view \"Audit\" storefront"]);
    // A path after the flag is a path, not the flag's value.
    let (billing, storefront) = ("examples/manifests/billing.yaml", "examples/manifests/storefront.yaml");
    let (_, out, err) = run(&["check", "--now", NOW, "--format", "json", "--inventory-complete", billing, storefront]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    let files: std::collections::BTreeSet<&str> =
        report["resources"].as_array().unwrap().iter().filter_map(|r| r["source"]["file"].as_str()).collect();
    assert_eq!(files, [billing, storefront].into(), "both paths are read");
    // The cluster's budget covers it.
    let cluster = "cli/tests/fixtures/inventory/cluster.yaml";
    assert!(rules(&json(&["--inventory", cluster, "--inventory-complete"])).is_empty());
    // A missing inventory file is an error, not an empty inventory.
    let (code, _, err) = run(&["check", "examples/manifests", "--inventory", "cli/tests/fixtures/inventory/nope.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("nope.yaml"), "{err}");
}

#[test]
fn a_render_is_judged_with_the_inventory() {
    // Alone, checkout renders; beside the cluster, where marketing serves its host, it is denied.
    let (code, _, err) = run(&["render", "web-service", "-f", "examples/services/checkout.yaml"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&[
        "render",
        "web-service",
        "-f",
        "examples/services/checkout.yaml",
        "--inventory",
        "cli/tests/fixtures/inventory/cluster.yaml",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("ingress-hosts/host-in-one-namespace"), "{err}");
    assert!(
        err.contains("also claimed by Ingress marketing/promo (cli/tests/fixtures/inventory/cluster.yaml:6)"),
        "{err}"
    );
}
