//! WASM plugins: loading (a cold compile against the verified compiled-code cache), and the
//! registry check through the engine on a 3 KB Deployment, as a plugin rule (a fresh instance
//! per call) and as native CEL rules, beside parsing that Deployment into a `Value`.
//!
//! Needs the plugins built: `bash scripts/build-plugins`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use paved::{Bundle, Context, Engine, Resource};

/// The allocator every shipped paved uses (the command, the Python and Node packages): a
/// plugin call frees on another thread what it allocated on this one, which glibc's allocator
/// serialises on an arena lock.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn component(name: &str) -> PathBuf {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../plugins/target/wasm32-wasip2/release/{name}.wasm"));
    assert!(path.exists(), "{} is missing: run `bash scripts/build-plugins` first", path.display());
    path
}

/// A production Deployment as teams write them: two containers, env, probes, resources,
/// volumes, security context; 3 KB of JSON.
const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout
  namespace: shop-prod
  labels: { app.kubernetes.io/name: checkout, app.kubernetes.io/part-of: shop, team: payments, cost-center: cc-3120 }
  annotations: { paved.dev/golden-path: web-service@2.0.0, deployment.kubernetes.io/revision: "14" }
spec:
  replicas: 6
  revisionHistoryLimit: 5
  selector: { matchLabels: { app.kubernetes.io/name: checkout } }
  strategy: { type: RollingUpdate, rollingUpdate: { maxSurge: 25%, maxUnavailable: 0 } }
  template:
    metadata:
      labels: { app.kubernetes.io/name: checkout, app.kubernetes.io/part-of: shop, team: payments }
      annotations: { prometheus.io/scrape: "true", prometheus.io/port: "9090" }
    spec:
      serviceAccountName: checkout
      automountServiceAccountToken: false
      priorityClassName: business-critical
      securityContext: { runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001, seccompProfile: { type: RuntimeDefault } }
      topologySpreadConstraints:
        - { maxSkew: 1, topologyKey: topology.kubernetes.io/zone, whenUnsatisfiable: ScheduleAnyway, labelSelector: { matchLabels: { app.kubernetes.io/name: checkout } } }
      containers:
        - name: app
          image: registry.acme.io/shop/checkout@sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270
          ports: [ { name: http, containerPort: 8080 }, { name: metrics, containerPort: 9090 } ]
          env:
            - { name: PORT, value: "8080" }
            - { name: LOG_LEVEL, value: info }
            - { name: DATABASE_URL, valueFrom: { secretKeyRef: { name: checkout-db, key: url } } }
            - { name: PAYMENTS_API, value: "http://payments.payments.svc.cluster.local:8080" }
            - { name: OTEL_EXPORTER_OTLP_ENDPOINT, value: "http://otel-collector.observability:4317" }
          resources: { requests: { cpu: 500m, memory: 512Mi }, limits: { memory: 512Mi } }
          livenessProbe: { httpGet: { path: /healthz, port: http }, periodSeconds: 10, failureThreshold: 3 }
          readinessProbe: { httpGet: { path: /ready, port: http }, periodSeconds: 5 }
          startupProbe: { httpGet: { path: /healthz, port: http }, failureThreshold: 30, periodSeconds: 2 }
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } }
          volumeMounts: [ { name: tmp, mountPath: /tmp }, { name: config, mountPath: /etc/checkout, readOnly: true } ]
        - name: envoy
          image: docker.io/envoyproxy/envoy:v1.31.2
          args: [ --config-path, /etc/envoy/envoy.yaml, --log-level, warn ]
          ports: [ { name: proxy, containerPort: 15001 } ]
          resources: { requests: { cpu: 100m, memory: 128Mi }, limits: { memory: 128Mi } }
          readinessProbe: { httpGet: { path: /ready, port: 15021 } }
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: [ALL] } }
          volumeMounts: [ { name: envoy, mountPath: /etc/envoy, readOnly: true } ]
      volumes:
        - { name: tmp, emptyDir: { sizeLimit: 64Mi } }
        - { name: config, configMap: { name: checkout-config } }
        - { name: envoy, configMap: { name: checkout-envoy } }
"#;

const PARAMS: &str =
    r#"{"registries":["registry.acme.io","*.mirror.acme.io"],"digestRequired":{"namespaces":["*-prod"]}}"#;

fn load(c: &mut Criterion) {
    let wasm = std::fs::read(component("registry_allowlist")).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let cached = Engine::builder().plugin_cache(cache.path());
    cached.inspect_plugin("registry-allowlist", &wasm).unwrap();
    assert!(cached.inspect_plugin("registry-allowlist", &wasm).unwrap().from_cache);
    let cold = Engine::builder();
    let mut g = c.benchmark_group("plugin load (registry-allowlist)");
    g.sample_size(10);
    g.bench_function("cold: compile", |b| {
        b.iter(|| black_box(cold.inspect_plugin("registry-allowlist", black_box(&wasm)).unwrap()))
    });
    g.bench_function("cached: verified compiled code from disk", |b| {
        b.iter(|| black_box(cached.inspect_plugin("registry-allowlist", black_box(&wasm)).unwrap()))
    });
    g.finish();
}

/// The registry check as paved users write it: a plugin rule, or two CEL rules.
fn engine(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let wasm = component("registry_allowlist");
    let sha256 = Engine::builder().inspect_plugin("x", &std::fs::read(&wasm).unwrap()).unwrap().sha256;
    let plugin_bundle = format!(
        r#"apiVersion: paved.dev/v1
kind: Bundle
metadata: {{ name: bench }}
spec:
  plugins: [ {{ name: registry-allowlist, path: "{}", sha256: "{sha256}" }} ]
---
apiVersion: paved.dev/v1
kind: Policy
metadata: {{ name: images, version: 1.0.0 }}
spec:
  match: {{ kinds: [Deployment] }}
  rules:
    - id: registries
      message: images come from allowed registries
      plugin: registry-allowlist
      params: {PARAMS}
"#,
        wasm.display()
    );
    std::fs::write(dir.path().join("plugin.yaml"), plugin_bundle).unwrap();
    let cel_bundle = r#"apiVersion: paved.dev/v1
kind: Policy
metadata: { name: images, version: 1.0.0 }
spec:
  match: { kinds: [Deployment] }
  params: { registries: [registry.acme.io/, .mirror.acme.io/], production: ["-prod"] }
  rules:
    - id: registries
      forEach: /spec/template/spec/containers/*
      message: images come from allowed registries
      cel: "params.registries.exists(r, r.startsWith('.') ? item.image.split('/')[0].endsWith(r.substring(0, r.size() - 1)) : item.image.startsWith(r))"
    - id: digests
      forEach: /spec/template/spec/containers/*
      message: images carry a digest in production
      cel: "!params.production.exists(s, request.namespace.endsWith(s)) || item.image.contains('@sha256:')"
"#;
    let plugin =
        Engine::builder().bundle(Bundle::from_paths(&[dir.path().join("plugin.yaml")]).unwrap()).build().unwrap();
    let cel = Engine::builder().bundle(Bundle::from_str("cel.yaml", cel_bundle).unwrap()).build().unwrap();
    let resources = Resource::from_str("deployment.yaml", DEPLOYMENT).unwrap();
    let ctx = Context::at("2026-11-22T00:00:00Z".parse().unwrap());
    let (p, n) = (plugin.evaluate(&resources, &ctx), cel.evaluate(&resources, &ctx));
    assert_eq!(p.findings.len(), 2, "{:?}", p.findings);
    let paths = |r: &paved::Report| r.findings.iter().map(|f| f.path.clone()).collect::<Vec<_>>();
    assert_eq!(paths(&p).len(), paths(&n).len(), "{:?} vs {:?}", paths(&p), paths(&n));

    let json = resources[0].value().to_string();
    assert!(json.len() >= 3000, "the Deployment is {} bytes of JSON", json.len());
    let mut g = c.benchmark_group("registry check through the engine (3 KB Deployment)");
    g.bench_function("plugin rule", |b| b.iter(|| black_box(plugin.evaluate(black_box(&resources), &ctx))));
    g.bench_function("peer: the same check as CEL rules", |b| {
        b.iter(|| black_box(cel.evaluate(black_box(&resources), &ctx)))
    });
    g.bench_function("peer: serde_json parse of the Deployment", |b| {
        b.iter(|| black_box(serde_json::from_str::<serde_json::Value>(black_box(&json)).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, load, engine);
criterion_main!(benches);
