//! paved's CI integrations run the way their hosts run them, with the real `paved` on the PATH:
//! the GitHub Action's composite steps as the runner runs them (inputs and defaults, `${{ }}`
//! expressions, `if:` conditions, `bash --noprofile --norc -eo pipefail`, `GITHUB_OUTPUT` and
//! `GITHUB_STEP_SUMMARY` files, a step's failure ending the job), and the GitLab component's job
//! as a runner runs it (`$[[ inputs ]]` interpolated into the file, the job's variables, its
//! script lines in one `bash` with `set -eo pipefail`, its reports read back). `act` would need
//! a Docker engine; this machine has none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::deploy::json_of;
use super::valid_sarif;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn yaml(text: &str) -> Vec<Value> {
    yaml_rust2::YamlLoader::load_from_str(text).unwrap().iter().map(json_of).collect()
}

fn path_with_paved() -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_paved")).parent().unwrap();
    format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display())
}

/// A workspace: the repository's checkout, with `files` copied from the repository.
fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (from, to) in files {
        let target = dir.path().join(to);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(Path::new(ROOT).join(from), target).unwrap();
    }
    dir
}

struct Step {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

struct Run {
    steps: Vec<Step>,
    /// Steps with `uses:` the runner would run: the action and its `with`.
    uses: Vec<(String, BTreeMap<String, String>)>,
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    summary: String,
}

/// An expression of the forms the action uses: `inputs.X`, `steps.ID.outputs.X`,
/// `github.action_path`, and `A == 'literal'`.
fn expression(expr: &str, ctx: &Context) -> String {
    if let Some((left, right)) = expr.split_once("==") {
        let literal = right.trim().trim_matches('\'');
        return (expression(left.trim(), ctx) == literal).to_string();
    }
    let parts: Vec<&str> = expr.trim().split('.').collect();
    match parts.as_slice() {
        ["inputs", name] => ctx.inputs.get(*name).cloned().unwrap_or_default(),
        ["steps", id, "outputs", name] => ctx.outputs.get(*id).and_then(|o| o.get(*name)).cloned().unwrap_or_default(),
        ["github", "action_path"] => ctx.action_path.display().to_string(),
        other => panic!("an expression the runner emulation does not know: {other:?}"),
    }
}

struct Context {
    inputs: BTreeMap<String, String>,
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    action_path: PathBuf,
}

fn substitute(text: &str, ctx: &Context) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").unwrap() + start;
        out.push_str(&expression(&rest[start + 3..end], ctx));
        rest = &rest[end + 2..];
    }
    out + rest
}

/// The composite action at `integrations/github-action`, with `with` over its defaults, in
/// `workspace`.
fn github_action(with: &[(&str, &str)], workspace: &Path) -> Run {
    let action_path = Path::new(ROOT).join("integrations/github-action");
    let action = &yaml(&std::fs::read_to_string(action_path.join("action.yml")).unwrap())[0];
    assert_eq!(action["runs"]["using"], "composite");
    let mut inputs: BTreeMap<String, String> = action["inputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v["default"].as_str().unwrap_or_default().to_owned()))
        .collect();
    for (k, v) in with {
        assert!(inputs.contains_key(*k), "the action has no input {k}");
        inputs.insert((*k).to_owned(), (*v).to_owned());
    }
    let mut ctx = Context { inputs, outputs: BTreeMap::new(), action_path };
    let temp = tempfile::tempdir().unwrap();
    let summary = temp.path().join("summary.md");
    let mut run = Run { steps: vec![], uses: vec![], outputs: BTreeMap::new(), summary: String::new() };
    for (i, step) in action["runs"]["steps"].as_array().unwrap().iter().enumerate() {
        if let Some(condition) = step["if"].as_str() {
            if expression(condition, &ctx) != "true" {
                continue;
            }
        }
        let id = step["id"].as_str().map_or_else(|| format!("step{i}"), str::to_owned);
        if let Some(uses) = step["uses"].as_str() {
            let with = step["with"].as_object().into_iter().flatten();
            let with = with.map(|(k, v)| (k.clone(), substitute(v.as_str().unwrap(), &ctx))).collect();
            run.uses.push((uses.to_owned(), with));
            continue;
        }
        assert_eq!(step["shell"], "bash");
        let script = temp.path().join(format!("{id}.sh"));
        std::fs::write(&script, substitute(step["run"].as_str().unwrap(), &ctx)).unwrap();
        let output_file = temp.path().join(format!("{id}.output"));
        std::fs::write(&output_file, "").unwrap();
        let mut command = Command::new("bash");
        command.args(["--noprofile", "--norc", "-eo", "pipefail"]).arg(&script).current_dir(workspace).env_clear();
        command.envs([
            ("PATH", path_with_paved()),
            ("HOME", temp.path().display().to_string()),
            ("CI", "true".into()),
            ("GITHUB_ACTIONS", "true".into()),
            ("GITHUB_WORKSPACE", workspace.display().to_string()),
            ("GITHUB_ACTION_PATH", ctx.action_path.display().to_string()),
            ("GITHUB_OUTPUT", output_file.display().to_string()),
            ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
            ("RUNNER_TEMP", temp.path().display().to_string()),
            ("NO_COLOR", "1".into()),
        ]);
        for (k, v) in step["env"].as_object().into_iter().flatten() {
            command.env(k, substitute(v.as_str().unwrap(), &ctx));
        }
        let out = command.output().unwrap();
        let outputs: BTreeMap<String, String> = std::fs::read_to_string(&output_file)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect();
        ctx.outputs.insert(id, outputs);
        run.steps.push(Step {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        });
        if !out.status.success() {
            break;
        }
    }
    run.outputs = ctx.outputs;
    run.summary = std::fs::read_to_string(&summary).unwrap_or_default();
    run
}

#[test]
fn the_github_action_annotates_uploads_sarif_and_fails_on_a_denial() {
    let ws = workspace(&[("examples/manifests/storefront.yaml", "k8s/storefront.yaml")]);
    let run = github_action(&[("paths", "k8s")], ws.path());
    let check = &run.steps[0];
    assert_eq!(check.code, Some(0), "the check step records, the last step fails: {}", check.stderr);
    assert!(
        check.stdout.lines().any(|l| l.starts_with("::error file=k8s/storefront.yaml,line=")),
        "annotations on the files' lines: {}",
        check.stdout
    );
    assert_eq!(run.outputs["check"]["decision"], "deny");
    // The SARIF upload ran with the report the check wrote, and it is valid SARIF 2.1.0.
    let (uses, with) = &run.uses[0];
    assert!(uses.starts_with("github/codeql-action/upload-sarif@"));
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join(&with["sarif_file"])).unwrap()).unwrap();
    valid_sarif(&sarif);
    assert!(sarif["runs"][0]["results"].as_array().unwrap().len() > 1);
    assert!(run.summary.starts_with("### paved check\n```\n") && run.summary.contains("→ deny"), "{}", run.summary);
    let last = run.steps.last().unwrap();
    assert_eq!(last.code, Some(1), "the job fails after the upload");
    assert!(last.stdout.contains("the check failed at --fail-on deny (decision: deny)"));
}

#[test]
fn the_github_action_passes_a_clean_change_and_takes_bundles_and_fail_on() {
    let ws = workspace(&[
        ("examples/gitops/apps/status-page/deployment.yaml", "deploy/status-page.yaml"),
        ("examples/bundle/paved.yaml", "platform/paved.yaml"),
        ("examples/bundle/workloads.yaml", "platform/workloads.yaml"),
    ]);
    let run = github_action(&[("paths", "deploy"), ("upload-sarif", "false")], ws.path());
    assert_eq!(run.steps.len(), 1, "the failing step is skipped");
    assert_eq!(run.steps[0].code, Some(0), "{}", run.steps[0].stderr);
    assert_eq!(run.outputs["check"]["decision"], "allow");
    assert!(run.uses.is_empty(), "upload-sarif: false");
    // With the platform's bundle instead of the default packs, at --fail-on warn.
    let run = github_action(&[("paths", "deploy"), ("bundle", "platform"), ("fail-on", "warn")], ws.path());
    let decision = &run.outputs["check"]["decision"];
    assert_eq!(run.outputs["check"]["failed"], (decision != "allow").to_string(), "{decision}");
}

#[test]
fn the_github_action_fails_at_once_when_paved_cannot_check() {
    let ws = workspace(&[("examples/manifests/storefront.yaml", "k8s/storefront.yaml")]);
    std::fs::create_dir_all(ws.path().join("platform")).unwrap();
    std::fs::write(
        ws.path().join("platform/paved.yaml"),
        "apiVersion: paved.dev/v1\nkind: Polcy\nmetadata: {name: x}\n",
    )
    .unwrap();
    let run = github_action(&[("paths", "k8s"), ("bundle", "platform")], ws.path());
    assert_eq!(run.steps.len(), 1);
    assert_eq!(run.steps[0].code, Some(2));
    assert!(
        run.steps[0].stderr.contains("platform/paved.yaml:2:"),
        "paved's error with its line: {}",
        run.steps[0].stderr
    );
    assert!(run.steps[0].stdout.contains("::error title=paved::paved could not check (exit 2)"));
    assert!(run.uses.is_empty(), "no report to upload");
}

/// The GitLab component's job, with `inputs` over its spec's defaults, in `workspace`: its exit
/// code, its log, and its artifacts' reports.
fn gitlab_job(inputs: &[(&str, &str)], workspace: &Path) -> (Option<i32>, String, Value) {
    let text = std::fs::read_to_string(Path::new(ROOT).join("integrations/gitlab/paved.yml")).unwrap();
    let (header, body) = text.split_once("\n---\n").unwrap();
    let spec = &yaml(header)[0]["spec"]["inputs"];
    let mut body = body.to_owned();
    for (name, decl) in spec.as_object().unwrap() {
        let given = inputs.iter().find(|(k, _)| k == name).map(|(_, v)| (*v).to_owned());
        let value = given.unwrap_or_else(|| decl["default"].as_str().unwrap().to_owned());
        body = body.replace(&format!("$[[ inputs.{name} ]]"), &value);
    }
    assert!(!body.contains("$[["), "every input is declared: {body}");
    let jobs = &yaml(&body)[0];
    let job = &jobs["paved-check"];
    assert_eq!(job["stage"], "test");
    let lines: Vec<&str> = job["script"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -eo pipefail\n{}", lines.join("\n")))
        .current_dir(workspace)
        .env_clear()
        .env("PATH", path_with_paved())
        .env("CI", "true")
        .env("GITLAB_CI", "true")
        .env("NO_COLOR", "1")
        .envs(job["variables"].as_object().unwrap().iter().map(|(k, v)| (k, v.as_str().unwrap())))
        .output()
        .unwrap();
    assert_eq!(job["artifacts"]["when"], "always");
    let log = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), log, job["artifacts"]["reports"].clone())
}

#[test]
fn the_gitlab_component_reports_code_quality_and_junit_and_fails_on_a_denial() {
    let ws = workspace(&[("examples/manifests/storefront.yaml", "k8s/storefront.yaml")]);
    let (code, log, reports) = gitlab_job(&[("paths", "k8s")], ws.path());
    assert_eq!(code, Some(1), "{log}");
    let quality: Value = serde_json::from_str(
        &std::fs::read_to_string(ws.path().join(reports["codequality"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let issues = quality.as_array().unwrap();
    assert!(!issues.is_empty());
    for issue in issues {
        // The fields GitLab's widget reads, with its severities.
        assert!(issue["description"].is_string() && issue["check_name"].is_string(), "{issue}");
        assert_eq!(issue["fingerprint"].as_str().unwrap().len(), 64);
        assert!(["info", "minor", "major", "critical", "blocker"].contains(&issue["severity"].as_str().unwrap()));
        assert_eq!(issue["location"]["path"], "k8s/storefront.yaml");
        assert!(issue["location"]["lines"]["begin"].as_u64().unwrap() >= 1);
    }
    let fingerprints: std::collections::BTreeSet<&str> =
        issues.iter().map(|i| i["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(fingerprints.len(), issues.len(), "one fingerprint per issue");
    let junit = std::fs::read_to_string(ws.path().join(reports["junit"].as_str().unwrap())).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    assert!(doc.descendants().any(|n| n.has_tag_name("failure")));
    assert!(log.contains("→ deny"), "the human report is the job's log: {log}");
}

#[test]
fn the_gitlab_component_passes_a_clean_change() {
    let ws = workspace(&[("examples/gitops/apps/status-page/deployment.yaml", "k8s/status-page.yaml")]);
    let (code, log, reports) = gitlab_job(&[("paths", "k8s")], ws.path());
    assert_eq!(code, Some(0), "{log}");
    let quality = std::fs::read_to_string(ws.path().join(reports["codequality"].as_str().unwrap())).unwrap();
    let issues: Vec<Value> = serde_json::from_str(&quality).unwrap();
    assert!(issues.iter().all(|i| i["severity"] == "info"), "audits only: {issues:?}");
}
