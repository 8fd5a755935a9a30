//! `pod-security-restricted` on the 3 KB Deployment: time and allocations per evaluation, and
//! the same checks written in Rego, evaluated by regorus on the same object.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::expect_used, missing_docs, unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{criterion_group, criterion_main, Criterion};
use paved::{Bundle, Context, Engine, Resource};
use paved_benches::{DEPLOYMENT, POD_SECURITY_REGO};

/// Counts allocations, to report how many one evaluation makes.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(mut f: impl FnMut()) -> u64 {
    f();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..100 {
        f();
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) / 100
}

/// A compliant Pod of one container, under 0.5 KB of JSON.
const SMALL_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop}\nspec:\n  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n  containers:\n    - name: web\n      image: registry.acme.io/web:1.4.2\n      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n";

fn pod_security(c: &mut Criterion) {
    let engine = Engine::builder().bundle(Bundle::pack("pod-security-restricted").unwrap()).build().unwrap();
    let resources = Resource::from_str("deployment.yaml", DEPLOYMENT).unwrap();
    let ctx = Context::at("2026-06-01T00:00:00Z".parse().unwrap());
    let report = engine.evaluate(&resources, &ctx);

    let mut rego = regorus::Engine::new();
    rego.add_policy("pod_security.rego".into(), POD_SECURITY_REGO.into()).unwrap();
    rego.set_input(regorus::Value::from_json_str(&serde_json::to_string(resources[0].value()).unwrap()).unwrap());
    let denials = rego.eval_rule("data.pod_security.violations".into()).unwrap();
    eprintln!(
        "paved: {} findings, {} allocations per evaluation; regorus: {:?}, {} allocations per evaluation",
        report.summary.findings,
        allocations(|| {
            black_box(engine.evaluate(&resources, &ctx));
        }),
        denials,
        allocations(|| {
            black_box(rego.eval_rule("data.pod_security.violations".into()).unwrap());
        }),
    );

    let mut g = c.benchmark_group("pod-security-restricted, 3 KB Deployment");
    g.bench_function("paved evaluate", |b| b.iter(|| black_box(engine.evaluate(black_box(&resources), &ctx))));
    let small = Resource::from_str("pod.yaml", SMALL_POD).unwrap();
    assert!(serde_json::to_string(small[0].value()).unwrap().len() <= 512);
    assert_eq!(engine.evaluate(&small, &ctx).summary.findings, 0);
    g.bench_function("paved evaluate, a 0.5 KB Pod", |b| {
        b.iter(|| black_box(engine.evaluate(black_box(&small), &ctx)))
    });
    g.bench_function("peer: regorus, the same checks in Rego", |b| {
        b.iter(|| black_box(rego.eval_rule("data.pod_security.violations".into()).unwrap()))
    });
    g.finish();
}

/// What the cost budget bounds: a policy whose one loop runs over a list far longer than the
/// estimate assumes is stopped at the run-time budget, and the time that takes is the most any
/// expression can cost.
fn budget(c: &mut Criterion) {
    let bundle = "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: long-loop, version: 1.0.0}\nspec:\n  match: {kinds: [ConfigMap]}\n  rules:\n    - id: every-key\n      message: m\n      cel: \"object.data.all(k, object.data[k] + object.data[k] != '')\"\n";
    let engine = Engine::builder().bundle(Bundle::from_str("b.yaml", bundle).unwrap()).build().unwrap();
    let data: serde_json::Map<String, serde_json::Value> =
        (0..200_000).map(|i| (format!("k{i}"), serde_json::Value::String("v".repeat(64)))).collect();
    let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big", "namespace": "a"}, "data": data});
    let resources = vec![Resource::from_value(cm).unwrap()];
    let ctx = Context::at("2026-06-01T00:00:00Z".parse().unwrap());
    let report = engine.evaluate(&resources, &ctx);
    let error = report.findings[0].error.as_ref().expect("stopped by the budget");
    assert_eq!(error.kind, paved::ErrorKind::Cost);
    let mut g = c.benchmark_group("cost budget");
    g.sample_size(20);
    g.bench_function("a loop over 200,000 keys, stopped at the budget", |b| {
        b.iter(|| black_box(engine.evaluate(black_box(&resources), &ctx)))
    });
    g.finish();
}

/// The Gatekeeper library's pod-security-policy templates as Gatekeeper users run them, each
/// with its constraint's parameters, evaluated by regorus on the Deployment's pod, against
/// paved's `pod-security-restricted` (which checks what they check, and more) on the same pod.
fn gatekeeper_templates(c: &mut Criterion) {
    let dir = paved_benches::gatekeeper().unwrap().join("pkg/webhook/testdata/psp-all-violations");
    let yaml = |path: std::path::PathBuf| {
        let text = std::fs::read_to_string(&path).unwrap();
        Resource::from_str(&path.display().to_string(), &text).unwrap()[0].value().clone()
    };
    let deployment = Resource::from_str("deployment.yaml", DEPLOYMENT).unwrap()[0].value().clone();
    let template = &deployment["spec"]["template"];
    let mut metadata = template["metadata"].clone();
    metadata["name"] = "checkout-7d4b9".into();
    metadata["namespace"] = deployment["metadata"]["namespace"].clone();
    let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]});
    let review = |object: &serde_json::Value| serde_json::json!({"operation": "CREATE", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "object": object});

    let mut rego = regorus::Engine::new();
    rego.set_rego_v0(true);
    // (the query, the input without the object, the input of a pod that breaks the template)
    let mut templates = Vec::new();
    // The same templates and constraints as paved loads them: Rego on regorus inside paved.
    let (mut documents, mut broken_pods) = (Vec::new(), Vec::new());
    for (template, constraint, breaking) in [
        ("host-filesystem-template", "host-filesystem-constraint", "host-filesystem-example"),
        ("host-namespace-template", "host-namespaces-constraint", "host-namespaces-example"),
        ("host-network-ports-template", "host-network-constraint", "host-network-example"),
        ("privileged-containers-template", "privileged-containers-constraint", "privileged-containers-example"),
        ("volume-template", "volumes-constraint", "volumes-example"),
    ] {
        let t = yaml(dir.join(format!("psp-templates/{template}.yaml")));
        // One template of this test data has its `validation` under `names`, where Gatekeeper's
        // CRD prunes it and paved refuses it: put back where it belongs.
        let mut fixed = t.clone();
        if let Some(v) = fixed.pointer_mut("/spec/crd/spec/names").and_then(|n| n.as_object_mut()?.remove("validation"))
        {
            fixed["spec"]["crd"]["spec"]["validation"] = v;
        }
        documents.push(fixed.to_string());
        documents.push(yaml(dir.join(format!("psp-constraints/{constraint}.yaml"))).to_string());
        let source = t["spec"]["targets"][0]["rego"].as_str().unwrap().to_owned();
        let package = rego.add_policy(format!("{template}.rego"), source).unwrap();
        let parameters = yaml(dir.join(format!("psp-constraints/{constraint}.yaml")))["spec"]["parameters"].clone();
        let input = |object| {
            let json = serde_json::json!({"review": review(object), "parameters": parameters});
            regorus::Value::from_json_str(&json.to_string()).unwrap()
        };
        let broken = yaml(dir.join(format!("psp-pods/{breaking}.yaml")));
        broken_pods.push(Resource::from_value(broken.clone()).unwrap());
        templates.push((format!("{package}.violation"), input(&pod), input(&broken)));
    }
    let mut violations = |inputs: &[(String, regorus::Value)]| -> usize {
        inputs
            .iter()
            .map(|(rule, input)| {
                rego.set_input(input.clone());
                rego.eval_rule(rule.clone()).unwrap().as_set().map_or(0, |s| s.len())
            })
            .sum()
    };
    let compliant: Vec<_> = templates.iter().map(|(rule, ok, _)| (rule.clone(), ok.clone())).collect();
    let broken: Vec<_> = templates.iter().map(|(rule, _, bad)| (rule.clone(), bad.clone())).collect();
    assert_eq!(violations(&compliant), 0, "the production pod breaks no template");
    assert!(violations(&broken) >= templates.len(), "each template finds its example pod");

    let engine = Engine::builder().bundle(Bundle::pack("pod-security-restricted").unwrap()).build().unwrap();
    let resources = vec![Resource::from_value(pod).unwrap()];
    let ctx = Context::at("2026-06-01T00:00:00Z".parse().unwrap());
    assert_eq!(engine.evaluate(&resources, &ctx).summary.findings, 0);

    let gatekeeper =
        Engine::builder().bundle(Bundle::from_str("psp.yaml", &documents.join("\n---\n")).unwrap()).build().unwrap();
    assert_eq!(gatekeeper.evaluate(&resources, &ctx).summary.findings, 0, "the production pod breaks no template");
    for pod in broken_pods {
        let found = gatekeeper.evaluate(std::slice::from_ref(&pod), &ctx).summary.findings;
        assert!(found > 0, "paved finds what regorus finds in {:?}", pod.identity());
    }

    let mut g = c.benchmark_group("Gatekeeper library's pod-security-policy templates, 2.3 KB Pod");
    g.bench_function("paved evaluate, the five templates and constraints (regorus inside paved)", |b| {
        b.iter(|| black_box(gatekeeper.evaluate(black_box(&resources), &ctx)))
    });
    g.bench_function("paved evaluate (pod-security-restricted)", |b| {
        b.iter(|| black_box(engine.evaluate(black_box(&resources), &ctx)))
    });
    g.bench_function("peer: regorus, the five templates with their constraints", |b| {
        b.iter(|| black_box(violations(black_box(&compliant))))
    });
    g.finish();
}

criterion_group!(benches, pod_security, gatekeeper_templates, budget);
criterion_main!(benches);
