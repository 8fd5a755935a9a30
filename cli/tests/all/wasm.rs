//! paved as WebAssembly answers as the native `paved` does, byte for byte: the `paved` command
//! built for wasm32-wasip2 (run as `wasmtime run --dir .` runs it) and the `paved:engine`
//! component, on every Pod Security Admission fixture and on the examples. Both are built by
//! `scripts/build-wasm` before the tests run.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use paved_wasm_host::{artifact, document, Command, Context, Document, EngineComponent, EngineOptions};

use super::{paved, NOW};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const PSA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance/pod-security-admission");

static COMMAND: LazyLock<Command> = LazyLock::new(|| Command::load(&artifact("paved.wasm")).unwrap());
static ENGINE: LazyLock<EngineComponent> =
    LazyLock::new(|| EngineComponent::load(&artifact("paved_engine.wasm")).unwrap());

/// Exit status, standard output and standard error of the native binary, run in `dir`.
fn native(args: &[&str], dir: &Path, stdin: &str) -> (i32, String, String) {
    let out = paved().current_dir(dir).args(args).write_stdin(stdin.to_owned()).output().unwrap();
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// The same of the command component, with `dir` preopened as its working directory.
fn wasm(args: &[&str], dir: &Path, stdin: &str) -> (i32, String, String) {
    let out = COMMAND.run(args, dir, stdin.as_bytes()).unwrap();
    (out.code, String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// Files of `dir`, sorted, as paths relative to `base`.
fn files(dir: &Path, base: &Path) -> Vec<String> {
    let mut f: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| p.strip_prefix(base).unwrap().to_string_lossy().into_owned())
        .collect();
    f.sort();
    f
}

fn documents(paths: &[String], base: &Path) -> Vec<Document> {
    paths.iter().map(|p| document(p.as_str(), std::fs::read_to_string(base.join(p)).unwrap())).collect()
}

fn options() -> EngineOptions {
    EngineOptions { packs: vec![], bundle: vec![], exceptions: vec![], set: vec![] }
}

fn context() -> Context {
    Context { now: Some(NOW.to_owned()), operation: None, namespace: None, namespace_labels: vec![] }
}

#[test]
fn the_command_and_the_component_report_every_psa_fixture_as_the_native_cli_does() {
    let base = Path::new(PSA);
    let mut engine = ENGINE.instantiate().unwrap();
    let mut fixtures = 0;
    for level in ["baseline", "restricted"] {
        let mut versions: Vec<PathBuf> =
            std::fs::read_dir(base.join(level)).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
        versions.sort();
        for version_dir in versions {
            let version = version_dir.file_name().unwrap().to_string_lossy().into_owned();
            let pack = format!("pod-security-{level}");
            let set = format!("{pack}.kubernetesVersion={version}");
            let paths: Vec<String> = ["pass", "fail"].iter().flat_map(|e| files(&version_dir.join(e), base)).collect();
            fixtures += paths.len();
            let mut args = vec!["check", "--pack", &pack, "--set", &set, "--now", NOW, "--format", "json"];
            args.extend(paths.iter().map(String::as_str));
            let expected = native(&args, base, "");
            assert_eq!(expected.0, 1, "{level} {version}: {}", expected.2);
            assert_eq!(wasm(&args, base, ""), expected, "paved.wasm, {level} {version}");

            let o = EngineOptions { packs: vec![pack.clone()], set: vec![set.clone()], ..options() };
            let checked = engine.check(&o, &documents(&paths, base), &context(), "json").unwrap().unwrap();
            assert_eq!(checked.output, expected.1, "paved_engine.wasm, {level} {version}");
            assert_eq!(checked.decision, "deny");
        }
    }
    assert!(fixtures >= 4537, "only {fixtures} fixtures");
}

#[test]
fn the_command_answers_as_the_native_cli_does_on_the_examples() {
    let root = Path::new(ROOT);
    let check = ["check", "--bundle", "examples/bundle", "examples/manifests", "--now", NOW];
    let mut runs: Vec<Vec<&str>> = ["human", "json", "sarif", "junit", "github", "policy-report"]
        .iter()
        .map(|f| check.iter().copied().chain(["--format", f]).collect())
        .collect();
    runs.extend([
        vec!["check", "examples/manifests", "--now", NOW],
        vec!["check", "--pack", "pod-security-restricted", "--fail-on", "warn", "examples/manifests", "--now", NOW],
        vec!["check", "--exceptions", "examples/bundle/exceptions.yaml", "-", "--now", NOW, "--format", "json"],
        vec!["check", "--bundle", "examples/bundle", "--set", "nope", "examples/manifests"],
        vec!["check", "examples/no-such-dir"],
        vec!["fix", "--bundle", "examples/mutation/bundle", "examples/mutation/manifests", "--now", NOW],
        vec!["fix", "--bundle", "examples/mutation/bundle", "--diff", "examples/mutation/manifests", "--now", NOW],
        vec!["render", "web-service", "-f", "examples/services/checkout.yaml"],
        vec!["render", "web-service@^1", "-f", "examples/services/orders.yaml", "--format", "json"],
        vec!["render", "worker", "-f", "examples/services/checkout.yaml"],
        vec!["test", "--now", NOW, "examples/tests"],
        vec!["test", "--now", NOW, "--format", "junit", "packs/tests"],
        vec!["exceptions", "--now", NOW, "examples/bundle"],
        vec!["explain", "privileged"],
        vec!["explain", "--bundle", "examples/bundle", "no-such-rule"],
        vec!["packs", "--format", "json"],
        vec!["schema", "Policy"],
    ]);
    let stdin = std::fs::read_to_string(root.join("examples/manifests/storefront.yaml")).unwrap();
    for args in &runs {
        let expected = native(args, root, &stdin);
        let got = wasm(args, root, &stdin);
        assert_eq!(got, expected, "paved {}", args.join(" "));
    }

    // The one difference: WebAssembly cannot host plugins (wasmtime does not nest), and says so
    // where the bundle names one.
    let (code, out, err) =
        wasm(&["check", "--bundle", "examples/plugins/bundle", "examples/plugins/manifests"], root, "");
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with("error: this build of paved has no plugin host\n  --> examples/plugins/bundle/paved.yaml:11:5"),
        "{err}"
    );
}

#[test]
fn the_component_checks_renders_and_explains_as_the_native_cli_does() {
    let root = Path::new(ROOT);
    let mut engine = ENGINE.instantiate().unwrap();
    let bundle = documents(&files(&root.join("examples/bundle"), root), root);
    let manifests = documents(&files(&root.join("examples/manifests"), root), root);
    for format in ["json", "sarif", "junit", "github", "policy-report"] {
        let (code, out, _) = native(
            &["check", "--bundle", "examples/bundle", "examples/manifests", "--now", NOW, "--format", format],
            root,
            "",
        );
        let o = EngineOptions { bundle: bundle.clone(), ..options() };
        let checked = engine.check(&o, &manifests, &context(), format).unwrap().unwrap();
        assert_eq!(checked.output, out, "{format}");
        assert_eq!((checked.decision == "deny") as i32, code);
    }

    // An engine built once checks as often as asked, with the context of each check.
    let acme = engine.create(&EngineOptions { bundle: bundle.clone(), ..options() }).unwrap().unwrap();
    let (_, expected, _) = native(
        &["check", "--bundle", "examples/bundle", "examples/manifests", "--now", NOW, "--format", "json"],
        root,
        "",
    );
    for _ in 0..3 {
        let checked = engine.check_with(acme, &manifests, &context(), "json").unwrap().unwrap();
        assert_eq!(checked.output, expected);
    }
    let later = Context { now: Some("2026-12-15T00:00:00Z".to_owned()), ..context() };
    let checked = engine.check_with(acme, &manifests, &later, "json").unwrap().unwrap();
    assert!(checked.output.contains(r#""status": "expired""#), "the exception lapses with the context's now");
    // Mutation: what `paved fix` prints, and the report `paved check` writes.
    let mutation = documents(&files(&root.join("examples/mutation/bundle"), root), root);
    let defaults = engine.create(&EngineOptions { bundle: mutation, ..options() }).unwrap().unwrap();
    let web = documents(&files(&root.join("examples/mutation/manifests"), root), root);
    let mutated = engine.mutate_with(defaults, &web, &context()).unwrap().unwrap();
    let (_, fixed, _) =
        native(&["fix", "--bundle", "examples/mutation/bundle", "examples/mutation/manifests", "--now", NOW], root, "");
    assert_eq!(mutated.manifests, fixed);
    let (_, json, _) = native(
        &[
            "check",
            "--bundle",
            "examples/mutation/bundle",
            "examples/mutation/manifests",
            "--now",
            NOW,
            "--format",
            "json",
        ],
        root,
        "",
    );
    let report: serde_json::Value = serde_json::from_str(&mutated.report).unwrap();
    assert_eq!(report, serde_json::from_str::<serde_json::Value>(&json).unwrap());
    assert_eq!(mutated.decision, "allow");

    let params = EngineOptions { set: vec!["no-such-policy.x=1".to_owned()], ..options() };
    let e = engine.create(&params).unwrap().unwrap_err();
    assert!(e.message.contains("there is no loaded policy `no-such-policy`"), "{e:?}");

    let inputs = document(
        "examples/services/checkout.yaml",
        std::fs::read_to_string(root.join("examples/services/checkout.yaml")).unwrap(),
    );
    let (_, out, _) = native(&["render", "web-service", "-f", "examples/services/checkout.yaml"], root, "");
    let rendered = engine.render("web-service", &inputs, &[]).unwrap().unwrap();
    assert_eq!(rendered.manifests, out);
    assert_eq!(rendered.golden_path, "web-service@2.0.0");

    // Errors say where, as the CLI's do.
    let bad = document("inputs.yaml", "name: Checkout\nteam: payments\n");
    let e = engine.render("web-service", &bad, &[]).unwrap().unwrap_err();
    assert_eq!(e.kind, "input");
    assert!(e.diagnostics.iter().any(|d| d.file == "inputs.yaml" && d.line == 1), "{e:?}");
    let e = engine.render("no-such-path", &inputs, &[]).unwrap().unwrap_err();
    assert_eq!(e.kind, "golden-path");
    let broken = vec![document(
        "bundle.yaml",
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: p}\nspec:\n  actoin: Deny\n",
    )];
    let e = engine
        .check(&EngineOptions { bundle: broken, ..options() }, &manifests, &context(), "json")
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind, "load");
    assert!(e.diagnostics.iter().any(|d| d.file == "bundle.yaml" && d.line == 5), "{e:?}");
    let e = engine.check(&options(), &[document("bad.yaml", "kind: [")], &context(), "json").unwrap().unwrap_err();
    assert_eq!(e.kind, "input");
    let e = engine.check(&options(), &manifests, &context(), "xml").unwrap().unwrap_err();
    assert_eq!(e.kind, "input");

    let explained: serde_json::Value =
        serde_json::from_str(&engine.explain("privileged", &[]).unwrap().unwrap()).unwrap();
    assert_eq!(explained[0]["policy"]["name"], "pod-security-baseline");
    assert_eq!(explained[0]["rules"][0]["id"], "privileged");
    let packs = engine.packs().unwrap();
    let (_, out, _) = native(&["packs", "--format", "json"], root, "");
    let native_packs: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(packs.len(), native_packs.as_array().unwrap().len());
    let paths: serde_json::Value = serde_json::from_str(&engine.golden_paths().unwrap()).unwrap();
    assert!(paths.as_array().unwrap().iter().any(|p| p["name"] == "web-service" && p["version"] == "2.0.0"));
}
