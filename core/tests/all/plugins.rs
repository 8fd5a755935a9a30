//! WASM plugins through the engine: the example plugins, the hostile ones, load errors and the
//! compiled-code cache. The plugins are built from `plugins/` on first use.
#![cfg(feature = "plugins")]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use paved::{Action, Budget, Bundle, Context, Decision, Engine, ErrorKind, PluginHost, Report, Resource};
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

/// One compiled-plugin cache for the whole run, so each plugin compiles once (a debug build of
/// Cranelift is slow); the cache tests use their own directories.
fn shared_cache() -> &'static Path {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    CACHE.get_or_init(|| tempfile::tempdir().unwrap()).path()
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
    // Plugins compile when an engine is built: a bundle is usable once that succeeds.
    let loaded = Bundle::from_paths(&[dir.path().to_path_buf()])
        .and_then(|b| Engine::builder().bundle(b.clone()).plugin_cache(shared_cache()).build().map(|_| b));
    (dir, loaded)
}

fn check(bundle: Bundle, manifests: &str, namespaces: &[(&str, &[(&str, &str)])]) -> Report {
    let engine = Engine::builder().bundle(bundle).plugin_cache(shared_cache()).build().unwrap();
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
    let error = f.error.clone().expect("a failure carries its cause");
    assert_eq!(error.plugin.as_deref(), Some("hostile"));
    // The kind is what a program reads (a webhook's metrics, a binding's exception type).
    let kind = match attack {
        "loop" => ErrorKind::Fuel,
        "memory" => ErrorKind::Memory,
        "huge" | "unknown-rule" | "bad-path" => ErrorKind::InvalidOutput,
        "fail" => ErrorKind::PluginFailed,
        _ => ErrorKind::Trap,
    };
    assert_eq!(error.kind, kind, "{error}");
    let json = serde_json::to_value(&error).unwrap();
    assert_eq!(json["kind"], serde_json::to_value(kind).unwrap());
    (f.action, error.message)
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    let (action, error) = attack("loop", "fuel: 1000000", None);
    assert_eq!(action, Action::Deny);
    assert_eq!(error, "plugin `hostile` ran out of fuel (1000000 units): it loops or needs a higher `limits.fuel`");
}

#[test]
fn a_host_deadline_stops_a_call_that_fuel_would_let_run() {
    let (_dir, bundle) = bundle(&[("hostile", "hostile", "fuel: 100000000000")], &HOSTILE.replace("ATTACK", "loop"));
    let host = PluginHost::default().deadline(Some(std::time::Duration::from_millis(50)));
    let engine = Engine::builder().bundle(bundle.unwrap()).plugin_host(host).build().unwrap();
    let resources = Resource::from_str("workload.yaml", DEPLOYMENT).unwrap();
    let report = engine.evaluate(&resources, &Context::parse_at("2026-11-22").unwrap());
    let f = report.findings.iter().find(|f| f.policy == "hostile").expect("the deadline is a finding");
    let error = f.error.as_ref().unwrap();
    assert_eq!(error.kind, ErrorKind::Deadline, "{error}");
    assert_eq!(error.message, "plugin `hostile` ran past the host's deadline of 50 ms");
    assert_eq!(f.action, Action::Deny, "fail closed");
}

/// An engine running the hostile plugin's endless loop with fuel for minutes, and `n` copies of
/// the Deployment for it.
fn endless_loop(n: usize) -> (tempfile::TempDir, Engine, Vec<Resource>) {
    let (dir, bundle) = bundle(&[("hostile", "hostile", "fuel: 1000000000000")], &HOSTILE.replace("ATTACK", "loop"));
    let engine = Engine::builder().bundle(bundle.unwrap()).plugin_cache(shared_cache()).build().unwrap();
    let manifests: Vec<String> =
        (0..n).map(|i| DEPLOYMENT.replace("name: checkout\n", &format!("name: d{i}\n"))).collect();
    (dir, engine, Resource::from_str("workload.yaml", &manifests.join("---\n")).unwrap())
}

fn at(budget: &Budget) -> Context {
    Context::parse_at("2026-11-22").unwrap().budget(budget.clone())
}

fn plugin_errors(report: &Report) -> Vec<(ErrorKind, String)> {
    let errors = report.findings.iter().filter(|f| f.policy == "hostile").map(|f| f.error.clone().unwrap());
    errors.map(|e| (e.kind, e.message)).collect()
}

#[test]
fn a_stopped_budget_stops_a_running_plugin_call() {
    let (_dir, engine, resources) = endless_loop(1);
    let budget = Budget::new();
    let (report, after_stop) = std::thread::scope(|s| {
        let running = s.spawn(|| engine.evaluate(&resources, &at(&budget)));
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(!running.is_finished(), "the call runs");
        budget.stop();
        let stopped = std::time::Instant::now();
        (running.join().unwrap(), stopped.elapsed())
    });
    let stopped = "plugin `hostile` was stopped: the evaluation's caller stopped it (its deadline passed)";
    assert_eq!(plugin_errors(&report), [(ErrorKind::Deadline, stopped.to_owned())]);
    // A trillion units of fuel would have run for minutes; the clock ticks every 5 ms.
    assert!(after_stop < std::time::Duration::from_secs(5), "the call ran {after_stop:?} after the stop");
    assert_eq!(report.decision, Decision::Deny, "fail closed");
}

#[test]
fn plugin_calls_draw_on_the_evaluations_fuel_budget() {
    let (_dir, engine, resources) = endless_loop(2);
    let budget = Budget::new().fuel_limit(5_000_000);
    let report = engine.evaluate(&resources, &at(&budget));
    let spent = |left: u64| {
        (
            ErrorKind::Fuel,
            format!("plugin `hostile` used up the evaluation's plugin fuel budget ({left} was left for this call)"),
        )
    };
    assert_eq!(plugin_errors(&report), [spent(5_000_000), spent(0)]);
    assert_eq!(budget.fuel_spent(), 5_000_000);
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
    let (_dir, bundle) = bundle(&[("hostile", "hostile", "")], &HOSTILE.replace("ATTACK", "probe"));
    let report = check(bundle.unwrap(), DEPLOYMENT, &[]);
    report.findings.into_iter().filter(|f| f.policy == "hostile").map(|f| f.message).collect()
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
        let bundle = Bundle::from_paths(&[dir.path().to_path_buf()]).unwrap();
        Engine::builder().bundle(bundle).build().unwrap_err().to_string()
    };
    assert!(wrong_pin.contains(":8:15: plugin `registry-allowlist` has sha256 "), "{wrong_pin}");
    assert!(wrong_pin.contains("but the bundle pins 0000"), "{wrong_pin}");

    let plugin_error = |krate: &str| bundle(&[(krate, krate, "")], "").1.unwrap_err().to_string();
    let e = plugin_error("not-a-plugin");
    assert!(e.contains("does not export `paved:plugin/checker@0.1.0` (it exports: wasi:cli/run@0.2.0)"), "{e}");
    let e = plugin_error("future-contract");
    assert!(
        e.contains("plugin `future-contract` speaks another contract version: it exports `paved:plugin/checker@0.2.0`, this paved speaks `paved:plugin/checker@0.1.0`"),
        "{e}"
    );
    let e = Engine::builder().inspect_plugin("x", b"\0asm not really").unwrap_err().to_string();
    assert!(e.contains("is not a WebAssembly component"), "{e}");
    let missing = "apiVersion: paved.dev/v1\nkind: Bundle\nmetadata: { name: t }\nspec:\n  plugins:\n    - { name: x, path: /nonexistent/x.wasm, sha256: \"0000000000000000000000000000000000000000000000000000000000000000\" }\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("paved.yaml"), missing).unwrap();
    let e = Bundle::from_paths(&[dir.path().to_path_buf()]).unwrap_err().to_string();
    assert!(e.contains("plugin `x` cannot be read: /nonexistent/x.wasm"), "{e}");
    // Loaded from text, nothing is read: the component must come from the builder.
    let b = Bundle::from_str("paved.yaml", missing).unwrap();
    let e = Engine::builder().bundle(b.clone()).build().unwrap_err().to_string();
    assert!(e.contains("plugin `x` (/nonexistent/x.wasm) was not given to the engine"), "{e}");
    let e = Engine::builder().bundle(b).plugin("x", std::fs::read(component("trivial")).unwrap()).build().unwrap_err();
    assert!(e.to_string().contains("has sha256"), "the pin still holds for bytes given to the builder: {e}");
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
            "17:15: rule `two-checks` has both `cel` and `plugin` (at /spec/rules/2/plugin)",
            "21:15: rule `params-without-plugin` has `params` but runs no plugin (at /spec/rules/3/params)",
        ],
        "{e}"
    );
    assert!(e.contains("help: did you mean `registry-allowlist`?"), "{e}");
    // Params are checked against the plugin's schema once the plugin is compiled, when the
    // engine is built; the load errors above come first.
    let fixed: String =
        policies.lines().take(16).collect::<Vec<_>>().join("\n").replace("registry-allowlst", "registry-allowlist");
    let (_dir, b) = bundle(&[("registry-allowlist", "registry-allowlist", "")], &fixed);
    let e = b.unwrap_err().to_string();
    assert!(
        e.contains("policies.yaml:13:21: params do not fit plugin `registry-allowlist`: /registries: \"registry.acme.io\" is not of type \"array\" (at /spec/rules/1/params/registries)"),
        "{e}"
    );
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

/// The example bundle's engine with a plugin cache in `cache` and these host settings: its
/// plugins' standing (name, from the cache), its notes, and its report on the example manifests.
fn cached_run(cache: &Path, host: PluginHost) -> (Vec<(String, bool)>, Vec<String>, String) {
    let (_dir, bundle) = examples();
    let engine = Engine::builder().bundle(bundle).plugin_host(host).plugin_cache(cache).build().unwrap();
    let manifests = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/plugins/manifests/checkout.yaml"),
    )
    .unwrap();
    let resources = Resource::from_str("checkout.yaml", &manifests).unwrap();
    let report = engine.evaluate(&resources, &Context::parse_at("2026-11-22").unwrap());
    let standing = engine.plugins().into_iter().map(|p| (p.name.clone(), p.from_cache)).collect();
    (standing, engine.notes().to_vec(), report.to_json())
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut e: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    e.sort();
    e
}

#[test]
fn compiled_plugins_are_cached_on_disk() {
    let cache = tempfile::tempdir().unwrap();
    let (first, notes, report) = cached_run(cache.path(), PluginHost::default());
    assert!(first.iter().all(|(_, cached)| !cached), "the first build compiles: {first:?}");
    assert_eq!(notes, Vec::<String>::new());
    assert_eq!(entries(cache.path()).len(), 3);
    let (second, notes, again) = cached_run(cache.path(), PluginHost::default());
    assert!(second.iter().all(|(_, cached)| *cached), "the second build reads the cache: {second:?}");
    assert_eq!((notes, again), (Vec::<String>::new(), report));
    // Without a cache directory the library writes nothing anywhere.
    let (_dir, bundle) = examples();
    let engine = Engine::builder().bundle(bundle).build().unwrap();
    assert!(engine.plugins().iter().all(|p| !p.from_cache));
}

#[test]
fn swapped_cache_entries_are_compiled_again_not_run() {
    let cache = tempfile::tempdir().unwrap();
    let (_, _, expected) = cached_run(cache.path(), PluginHost::default());
    assert!(expected.contains("registry-not-allowed") || expected.contains("allowed-registries"), "{expected}");
    let e = entries(cache.path());
    let (a, b) = (&e[0], &e[1]);
    let (bytes_a, bytes_b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    std::fs::write(a, &bytes_b).unwrap();
    std::fs::write(b, &bytes_a).unwrap();
    let (standing, notes, report) = cached_run(cache.path(), PluginHost::default());
    assert_eq!(report, expected, "each plugin still runs as itself");
    assert_eq!(standing.iter().filter(|(_, cached)| !cached).count(), 2, "{standing:?}");
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes.iter().all(|n| n.contains("holds the code of another component")), "{notes:?}");
    // Replaced: the next build trusts the cache again.
    let (standing, notes, _) = cached_run(cache.path(), PluginHost::default());
    assert!(standing.iter().all(|(_, cached)| *cached) && notes.is_empty(), "{standing:?} {notes:?}");
}

#[test]
fn a_corrupted_cache_entry_is_compiled_again_not_run() {
    let cache = tempfile::tempdir().unwrap();
    let (_, _, expected) = cached_run(cache.path(), PluginHost::default());
    for (i, entry) in entries(cache.path()).iter().enumerate() {
        let mut bytes = std::fs::read(entry).unwrap();
        match i {
            // Flip code bytes in the middle: before, this killed the process (SIGSEGV).
            0 => {
                let half = bytes.len() / 2;
                bytes.iter_mut().skip(half).take(4096).for_each(|b| *b ^= 0xff)
            }
            1 => bytes.truncate(bytes.len() / 3),
            _ => bytes = b"garbage".to_vec(),
        }
        std::fs::write(entry, bytes).unwrap();
    }
    let (standing, notes, report) = cached_run(cache.path(), PluginHost::default());
    assert_eq!(report, expected);
    assert!(standing.iter().all(|(_, cached)| !cached), "{standing:?}");
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(notes.iter().any(|n| n.contains("is corrupted")), "{notes:?}");
}

#[cfg(unix)]
#[test]
fn a_cache_directory_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let cache = root.path().join("shared");
    let (_, _, expected) = cached_run(&cache, PluginHost::default());
    // Someone else could plant code here now: nothing in it may be loaded, nor written.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let before = entries(&cache);
    let (standing, notes, report) = cached_run(&cache, PluginHost::default());
    assert_eq!(report, expected);
    assert!(standing.iter().all(|(_, cached)| !cached), "{standing:?}");
    assert_eq!(notes.len(), 1, "reported once: {notes:?}");
    assert!(notes[0].contains("is refused: its mode 777 lets others write to it"), "{notes:?}");
    assert_eq!(entries(&cache), before);
    // An entry that others may write is not trusted either.
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(&before[0], std::fs::Permissions::from_mode(0o666)).unwrap();
    let (standing, notes, _) = cached_run(&cache, PluginHost::default());
    assert_eq!(standing.iter().filter(|(_, cached)| !cached).count(), 1, "{standing:?}");
    assert!(notes[0].contains("lets others write to it"), "{notes:?}");
}

#[test]
fn an_entry_of_another_engine_configuration_is_compiled_again() {
    let cache = tempfile::tempdir().unwrap();
    let (_, _, expected) = cached_run(cache.path(), PluginHost::default());
    // Another wasmtime or other CPU features give another engine key, bytes 40..72 of the header
    // (after the magic and the component's digest); the entry is otherwise intact.
    let entry = &entries(cache.path())[0];
    let mut bytes = std::fs::read(entry).unwrap();
    bytes[40..72].iter_mut().for_each(|b| *b = !*b);
    std::fs::write(entry, bytes).unwrap();
    let (standing, notes, report) = cached_run(cache.path(), PluginHost::default());
    assert_eq!(report, expected);
    assert_eq!(standing.iter().filter(|(_, cached)| !cached).count(), 1, "{standing:?}");
    assert!(notes[0].contains("compiled for another engine configuration"), "{notes:?}");
}

#[test]
fn plugins_report_their_metadata() {
    let (_dir, bundle) = examples();
    let engine = Engine::builder().bundle(bundle).build().unwrap();
    let plugins = engine.plugins();
    let names: Vec<(&str, &str, Vec<&str>)> = plugins
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.rules.iter().map(|(id, _)| id.as_str()).collect()))
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
