//! WASM plugins through the engine: the example plugins, the hostile ones, load errors and the
//! compiled-code cache. The plugins are built from `plugins/` on first use.
#![cfg(feature = "plugins")]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use paved::plugin::{Cause, Plugin};
use paved::{Action, Bundle, Context, Decision, Engine, Report, Resource};
use sha2::{Digest, Sha256};

/// The component of plugin crate `name`, built (once per run) from the `plugins/` workspace.
pub fn component(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
        let out = std::process::Command::new(env!("CARGO"))
            .args(["build", "--release", "--locked", "--target", "wasm32-wasip2", "--manifest-path"])
            .arg(root.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(root.join("target"))
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building the plugins failed (is the target installed? `rustup target add wasm32-wasip2`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        root.join("target/wasm32-wasip2/release")
    });
    // Libraries are named with underscores, binaries as written.
    let library = dir.join(format!("{}.wasm", name.replace('-', "_")));
    if library.exists() {
        library
    } else {
        dir.join(format!("{name}.wasm"))
    }
}

pub fn sha256(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A bundle that lists `plugins` (name, crate, limits YAML) and holds `policies`, written to a
/// temporary directory as real files, so paths and lines are those a user would see.
pub fn bundle(plugins: &[(&str, &str, &str)], policies: &str) -> (tempfile::TempDir, Result<Bundle, paved::Error>) {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = String::from("apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: { name: test }\nspec:\n  plugins:\n");
    for (name, krate, limits) in plugins {
        let path = component(krate);
        doc += &format!(
            "    - name: {name}\n      path: {}\n      sha256: {}\n      limits: {{ {limits} }}\n",
            path.display(),
            sha256(&path)
        );
    }
    std::fs::write(dir.path().join("paved.yaml"), doc).unwrap();
    std::fs::write(dir.path().join("policies.yaml"), policies).unwrap();
    let loaded = Bundle::from_paths(&[dir.path().to_path_buf()]);
    (dir, loaded)
}

fn check(bundle: Bundle, manifests: &str, namespaces: &[(&str, &[(&str, &str)])]) -> Report {
    let engine = Engine::builder().bundle(bundle).build().unwrap();
    let resources = Resource::from_str("workload.yaml", manifests).unwrap();
    let mut ctx = Context::at("2026-11-22T00:00:00Z".parse().unwrap());
    for (ns, labels) in namespaces {
        ctx.namespaces.insert(ns.to_string(), labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
    }
    engine.evaluate(&resources, &ctx)
}

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: shop-prod
  labels: { team: paymnets }
spec:
  replicas: 3
  template:
    metadata: { labels: { app: checkout } }
    spec:
      containers:
        - name: app
          image: registry.acme.io/shop/checkout:2.1.0
          resources: { requests: { cpu: "1", memory: 2Gi } }
        - name: proxy
          image: docker.io/envoyproxy/envoy:v1.31
          resources: { requests: { cpu: 250m, memory: 256Mi } }
"#;

const EXAMPLES: &str = r#"apiVersion: paved.dev/v1
kind: Policy
metadata: { name: images, version: 1.0.0 }
spec:
  severity: high
  match: { kinds: [Deployment, Pod] }
  podControllers: false
  rules:
    - id: allowed-registries
      message: images come from the platform's registries
      plugin: registry-allowlist
      params:
        registries: [registry.acme.io, "*.acme.io"]
        digestRequired: { namespaceLabels: { environment: production } }
---
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: cost, version: 1.0.0 }
spec:
  action: Warn
  match: { kinds: [Deployment] }
  params: { prices: { cpu: 25, memoryGiB: 3.5 } }
  rules:
    - id: budget
      message: workloads stay within their team's budget
      plugin: cost-budget
      params: { budgets: { payments: 100 }, defaultBudget: 50 }
---
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: ownership, version: 1.0.0 }
spec:
  match: { kinds: [Deployment] }
  rules:
    - id: owner
      message: workloads are owned by a team of the catalog
      plugin: owner-catalog
      params: { teams: [payments, search, platform] }
"#;

fn examples() -> (tempfile::TempDir, Bundle) {
    let (dir, b) = bundle(
        &[
            ("registry-allowlist", "registry-allowlist", ""),
            ("cost-budget", "cost-budget", ""),
            ("owner-catalog", "owner-catalog", "fuel: 5000000, memory: 16Mi"),
        ],
        EXAMPLES,
    );
    (dir, b.unwrap())
}

#[test]
fn example_plugins_find_what_they_should() {
    let (_dir, bundle) = examples();
    let report = check(bundle, DEPLOYMENT, &[("shop-prod", &[("environment", "production")])]);
    let found: Vec<(&str, &str, &str, Action, u32)> = report
        .findings
        .iter()
        .map(|f| {
            (f.policy.as_str(), f.path.as_str(), f.message.as_str(), f.action, f.source.as_ref().map_or(0, |s| s.line))
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "cost",
                "/spec",
                "estimated 117.38/month (3 replicas × 39.12) is over the budget of 50.00 for team paymnets",
                Action::Warn,
                8
            ),
            (
                "images",
                "/spec/template/spec/containers/0/image",
                "container app runs registry.acme.io/shop/checkout:2.1.0 by tag in production namespace shop-prod; pin it as image@sha256:<digest>",
                Action::Deny,
                14
            ),
            (
                "images",
                "/spec/template/spec/containers/1/image",
                "container proxy pulls docker.io/envoyproxy/envoy:v1.31 from docker.io, which is not an allowed registry (registry.acme.io, *.acme.io)",
                Action::Deny,
                17
            ),
            (
                "images",
                "/spec/template/spec/containers/1/image",
                "container proxy runs docker.io/envoyproxy/envoy:v1.31 by tag in production namespace shop-prod; pin it as image@sha256:<digest>",
                Action::Deny,
                17
            ),
            (
                "ownership",
                "/metadata/labels/team",
                "Deployment checkout is owned by `paymnets`, which is not in the catalog; did you mean `payments`?",
                Action::Deny,
                6
            ),
        ]
    );
    assert_eq!(report.decision, Decision::Deny);
    let digest = &report.findings[1];
    assert_eq!(digest.detail.as_deref(), Some("plugin registry-allowlist reports digest-required"));
    assert_eq!(digest.container.as_deref(), Some("app"));
    assert!(report.findings.iter().all(|f| f.error.is_none()));
}

#[test]
fn example_plugins_pass_a_compliant_workload() {
    let (_dir, bundle) = examples();
    let good = DEPLOYMENT
        .replace("paymnets", "payments")
        .replace("registry.acme.io/shop/checkout:2.1.0", "registry.acme.io/shop/checkout@sha256:0123")
        .replace("docker.io/envoyproxy/envoy:v1.31", "mirror.acme.io/envoy@sha256:4567")
        .replace("replicas: 3", "replicas: 2");
    let report = check(bundle, &good, &[("shop-prod", &[("environment", "production")])]);
    assert_eq!(report.findings, []);
    assert_eq!(report.decision, Decision::Allow);
}

#[test]
fn digests_are_only_required_in_production_and_requests_are_needed_for_a_cost() {
    let (_dir, bundle) = examples();
    let staging = DEPLOYMENT
        .replace("shop-prod", "shop-staging")
        .replace("paymnets", "payments")
        .replace("resources: { requests: { cpu: 250m, memory: 256Mi } }", "resources: {}");
    let report = check(bundle, &staging, &[("shop-staging", &[("environment", "staging")])]);
    let rules: Vec<(&str, &str)> = report.findings.iter().map(|f| (f.policy.as_str(), f.path.as_str())).collect();
    assert_eq!(
        rules,
        [
            ("cost", "/spec/template/spec/containers/1/resources/requests"),
            ("images", "/spec/template/spec/containers/1/image"),
        ]
    );
}

const HOSTILE: &str = r#"apiVersion: paved.dev/v1
kind: Policy
metadata: { name: hostile, version: 1.0.0 }
spec:
  match: { kinds: [Deployment] }
  rules:
    - { id: attack, message: never shown, plugin: hostile, params: { attack: ATTACK } }
---
apiVersion: paved.dev/v1
kind: Policy
metadata: { name: labels, version: 1.0.0 }
spec:
  action: Warn
  match: { kinds: [Deployment] }
  rules:
    - id: app-label
      message: workloads carry an app label
      cel: "'app' in object.metadata.labels"
"#;

/// Runs the hostile plugin with `attack` next to an ordinary CEL policy; returns the error of
/// the plugin's finding, after checking that the CEL policy still reported.
fn attack(attack: &str, limits: &str, failure_policy: Option<&str>) -> (Action, String) {
    let mut policies = HOSTILE.replace("ATTACK", attack);
    if let Some(fp) = failure_policy {
        policies = policies.replacen(
            "  match: { kinds: [Deployment] }",
            &format!("  failurePolicy: {fp}\n  match: {{ kinds: [Deployment] }}"),
            1,
        );
    }
    let (_dir, bundle) = bundle(&[("hostile", "hostile", limits)], &policies);
    let report = check(bundle.unwrap(), DEPLOYMENT, &[]);
    assert!(
        report.findings.iter().any(|f| f.policy == "labels" && f.rule == "app-label"),
        "the other policy must still run: {:#?}",
        report.findings
    );
    let f = report.findings.iter().find(|f| f.policy == "hostile").expect("the plugin's failure is a finding");
    assert_eq!(f.rule, "attack");
    (f.action, f.error.clone().expect("a failure carries its cause"))
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let (action, error) = attack("loop", "fuel: 1000000", None);
    assert_eq!(action, Action::Deny);
    assert_eq!(error, "plugin `hostile` ran out of fuel (1000000 units): it loops or needs a higher `limits.fuel`");
}

#[test]
fn unbounded_memory_growth_stops_at_the_limit() {
    let (_, error) = attack("memory", "memory: 8Mi", None);
    assert_eq!(error, "plugin `hostile` tried to use more than its memory limit of 8 MiB");
}

#[test]
fn deep_recursion_traps() {
    let (_, error) = attack("recursion", "", None);
    assert!(error.starts_with("plugin `hostile` trapped: "), "{error}");
}

#[test]
fn a_panic_traps_with_its_message() {
    let (_, error) = attack("panic", "", None);
    assert!(
        error.starts_with("plugin `hostile` trapped: wasm trap: wasm `unreachable` instruction executed; its stderr: "),
        "{error}"
    );
    assert!(error.contains("panicked at testing/hostile/src/lib.rs:"), "{error}");
    assert!(error.ends_with(":\nthe hostile plugin gave up on purpose"), "{error}");
}

#[test]
fn an_abort_traps() {
    let (_, error) = attack("trap", "", None);
    assert_eq!(error, "plugin `hostile` trapped: wasm trap: wasm `unreachable` instruction executed");
}

#[test]
fn an_oversized_answer_is_refused() {
    let (_, error) = attack("huge", "output: 64Ki", None);
    assert!(error.starts_with("plugin `hostile` returned "), "{error}");
    assert!(error.ends_with("bytes, more than its output limit of 65536 bytes"), "{error}");
}

#[test]
fn answers_that_break_the_contract_are_refused() {
    let (_, error) = attack("unknown-rule", "", None);
    assert_eq!(
        error,
        "plugin `hostile` broke the plugin contract: it reported rule `not-a-rule-of-mine`, which its metadata does not list"
    );
    let (_, error) = attack("bad-path", "", None);
    assert!(error.contains("finding path `spec.containers[0]` is not a JSON pointer"), "{error}");
}

#[test]
fn a_plugin_that_cannot_check_says_why() {
    let (_, error) = attack("fail", "", None);
    assert_eq!(error, "plugin `hostile` could not check the resource (failed): the hostile plugin refuses");
}

#[test]
fn failure_policy_ignore_makes_a_failure_a_warning() {
    let (action, error) = attack("loop", "fuel: 1000000", Some("Ignore"));
    assert_eq!(action, Action::Warn);
    assert!(error.contains("ran out of fuel"));
}

#[test]
fn a_plugin_that_floods_stderr_still_shows_its_panic_message() {
    let (_, error) = attack("stderr", "fuel: 100000000", None);
    assert!(
        error
            .starts_with("plugin `hostile` trapped: wasm trap: wasm `unreachable` instruction executed; its stderr: …"),
        "{error}"
    );
    assert!(error.ends_with("gave up after all that logging"), "{error}");
    assert!(error.len() < 2300, "the quoted stderr is capped: {} bytes", error.len());
}

fn probe() -> Vec<String> {
    let plugin = Plugin::loader("hostile").cache_dir(None).file(&component("hostile")).unwrap();
    let now = "2026-11-22T00:00:00Z".parse().unwrap();
    let found = plugin.check("{}", r#"{"attack": "probe"}"#, "{}", now).unwrap();
    found.into_iter().map(|f| f.message).collect()
}

#[test]
fn the_sandbox_has_no_files_environment_or_network_and_a_fixed_clock() {
    let seen = probe();
    let get = |what: &str| seen.iter().find(|s| s.starts_with(&format!("{what}: "))).unwrap().clone();
    assert!(get("file").starts_with("file: Err("), "{seen:?}");
    assert!(get("dir").starts_with("dir: Err("), "{seen:?}");
    assert!(get("write").starts_with("write: Err("), "{seen:?}");
    assert_eq!(get("env"), "env: []");
    assert_eq!(get("args"), "args: []");
    assert!(get("net").starts_with("net: Err("), "{seen:?}");
    // 2026-11-22T00:00:00Z, the evaluation's instant, in seconds since the epoch.
    assert_eq!(get("clock"), "clock: Ok(1795305600)");
    assert_eq!(get("monotonic"), "monotonic: 0ns");
}

#[test]
fn randomness_is_seeded_so_plugins_are_deterministic() {
    // A HashMap's iteration order comes from random keys: with OS randomness it changes from
    // instance to instance.
    let first = probe();
    for _ in 0..3 {
        assert_eq!(probe(), first);
    }
}

#[test]
fn load_errors_say_which_plugin_and_why() {
    let wrong_pin = {
        let dir = tempfile::tempdir().unwrap();
        let path = component("registry-allowlist");
        std::fs::write(
            dir.path().join("paved.yaml"),
            format!(
                "apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: {{ name: t }}\nspec:\n  plugins:\n    - name: registry-allowlist\n      path: {}\n      sha256: \"{}\"\n",
                path.display(),
                "0".repeat(64)
            ),
        )
        .unwrap();
        Bundle::from_paths(&[dir.path().to_path_buf()]).unwrap_err().to_string()
    };
    assert!(wrong_pin.contains(":8:15: plugin `registry-allowlist` has sha256 "), "{wrong_pin}");
    assert!(wrong_pin.contains("but the bundle pins 0000"), "{wrong_pin}");

    let plugin_error = |krate: &str| Plugin::loader(krate).cache_dir(None).file(&component(krate)).unwrap_err();
    let e = plugin_error("not-a-plugin");
    assert!(matches!(&e.cause, Cause::MissingExport { exports } if exports == &["wasi:cli/run@0.2.0"]), "{e}");
    let e = plugin_error("future-contract");
    assert_eq!(
        e.to_string(),
        "plugin `future-contract` speaks another contract version: it exports `paved:plugin/checker@0.2.0`, this paved speaks `paved:plugin/checker@0.1.0`"
    );
    let e = Plugin::loader("x").cache_dir(None).bytes(b"\0asm not really").unwrap_err();
    assert!(matches!(e.cause, Cause::NotAComponent(_)), "{e}");
    let e = Plugin::loader("x").file(Path::new("/nonexistent/x.wasm")).unwrap_err();
    assert!(matches!(e.cause, Cause::Unreadable(_)), "{e}");
}

#[test]
fn policies_that_misuse_plugins_are_load_errors_at_their_lines() {
    let policies = r#"apiVersion: paved.dev/v1
kind: Policy
metadata: { name: images, version: 1.0.0 }
spec:
  rules:
    - id: typo
      message: m
      plugin: registry-allowlst
    - id: bad-params
      message: m
      plugin: registry-allowlist
      params:
        registries: registry.acme.io
    - id: two-checks
      message: m
      cel: "true"
      plugin: registry-allowlist
    - id: params-without-plugin
      message: m
      cel: "true"
      params: { a: 1 }
"#;
    let (_dir, b) = bundle(&[("registry-allowlist", "registry-allowlist", "")], policies);
    let e = b.unwrap_err().to_string();
    let lines: Vec<&str> = e
        .lines()
        .filter(|l| !l.starts_with("  help"))
        .map(|l| l.split_once("policies.yaml:").map_or(l, |(_, r)| r))
        .collect();
    assert_eq!(
        lines,
        [
            "8:15: the bundle has no plugin `registry-allowlst` (at /spec/rules/0/plugin)",
            "13:21: params do not fit plugin `registry-allowlist`: /registries: \"registry.acme.io\" is not of type \"array\" (at /spec/rules/1/params/registries)",
            "17:15: rule `two-checks` has both `cel` and `plugin` (at /spec/rules/2/plugin)",
            "21:15: rule `params-without-plugin` has `params` but runs no plugin (at /spec/rules/3/params)",
        ],
        "{e}"
    );
    assert!(e.contains("help: did you mean `registry-allowlist`?"), "{e}");
}

#[test]
fn bad_limits_are_load_errors() {
    let (_dir, b) = bundle(&[("owner-catalog", "owner-catalog", "memory: 2Gi")], "");
    let e = b.unwrap_err().to_string();
    assert!(e.contains("is more than the most a plugin may have, 1Gi (at /spec/plugins/0/limits/memory)"), "{e}");
    let (_dir, b) = bundle(&[("owner-catalog", "owner-catalog", "output: lots")], "");
    let e = b.unwrap_err().to_string();
    assert!(e.contains("\"lots\" is not a quantity of bytes such as `64Mi` (at /spec/plugins/0/limits/output)"), "{e}");
}

#[test]
fn compiled_plugins_are_cached_on_disk() {
    let cache = tempfile::tempdir().unwrap();
    let load =
        || Plugin::loader("trivial").cache_dir(Some(cache.path().to_path_buf())).file(&component("trivial")).unwrap();
    assert!(!load().from_cache(), "the first load compiles");
    let entries: Vec<_> = std::fs::read_dir(cache.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 1);
    let name = entries[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&sha256(&component("trivial"))) && name.ends_with(".cwasm"), "{name}");
    let cached = load();
    assert!(cached.from_cache(), "the second load reads the cache");
    let now = "2026-11-22T00:00:00Z".parse().unwrap();
    assert_eq!(cached.check("{}", "{}", "{}", now).unwrap(), []);

    // A damaged entry is compiled again and replaced, never trusted.
    std::fs::write(&entries[0], b"garbage").unwrap();
    let recompiled = load();
    assert!(!recompiled.from_cache());
    assert_eq!(recompiled.check("{}", "{}", "{}", now).unwrap(), []);
    assert!(load().from_cache());
}

#[test]
fn plugins_report_their_metadata() {
    let (_dir, bundle) = examples();
    let names: Vec<(&str, &str, Vec<&str>)> = bundle
        .plugins()
        .map(|p| {
            (p.name(), p.metadata().version.as_str(), p.metadata().rules.iter().map(|(id, _)| id.as_str()).collect())
        })
        .collect();
    assert_eq!(
        names,
        [
            ("cost-budget", "0.1.0", vec!["over-budget", "requests-missing"]),
            ("owner-catalog", "0.1.0", vec!["team-label-missing", "team-unknown"]),
            ("registry-allowlist", "0.1.0", vec!["registry-not-allowed", "digest-required"]),
        ]
    );
}
