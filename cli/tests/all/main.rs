//! The real `paved` binary against the example repo and broken inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use assert_cmd::Command;

const NOW: &str = "2026-12-05T00:00:00Z";

fn paved() -> Command {
    let mut c = Command::cargo_bin("paved").unwrap();
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    c.env("NO_COLOR", "1");
    c
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = paved().args(args).output().unwrap();
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
    for kind in ["Policy", "PolicyException", "Bundle"] {
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
    for rule in ["allowPrivilegeEscalation", "procMount_restricted", "hostProbesAndHostLifecycle", "image-pinned"] {
        assert!(out.contains(rule), "{rule} missing from:\n{out}");
    }
    let (code, out, _) = run(&["packs", "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 3);
}
