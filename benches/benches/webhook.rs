//! The admission webhook under load, over TLS with keep-alive on loopback: throughput at
//! saturation, latency at a fixed 1,000 requests per second, and the server's peak RSS.
//!
//! The server runs in a child process (this same binary, started with `PAVED_BENCH_SERVE=1`)
//! with the default packs, so its RSS is its own. The requests are the captured AdmissionRequests
//! and every Pod Security Admission fixture wrapped as an AdmissionReview, from
//! `../shared/conformance/`, sent in turn.
//!
//! With `PAVED_BENCH_INVENTORY=1`, the server also keeps the inventory its policies read from the
//! cluster of `KUBECONFIG` (`paved serve --watch-inventory`), and the load starts once it is
//! ready: `scripts/bench-audit` runs it against an API server holding 10,000 Pods.
//!
//! With `PAVED_BENCH_IMAGE=REGISTRY/REPO:TAG` (and `PAVED_BENCH_REGISTRY_CA`, the registry's CA,
//! `PAVED_BENCH_IMAGE_KEY`, the public key that signed it), the requests are Pods of that image,
//! and the server also runs a `verifyImages` rule for the registry's images with that key
//! (unless `PAVED_BENCH_IMAGE_VERIFY=0`), its verdicts asked of the registry once and then kept:
//! `scripts/bench-oci` runs both against a real registry.
//!
//! `cargo bench -p paved-benches --bench webhook` (`-- --quick` for a short run, as CI does).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use paved_webhook::client::Client;
use serde_json::{json, Value};

/// The allocator the `paved` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONFORMANCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance");

fn main() {
    if std::env::var_os("PAVED_BENCH_SERVE").is_some() {
        return serve();
    }
    // `cargo test --benches` runs bench targets with `--bench`-less arguments; only run a load
    // test when asked to bench.
    let args: Vec<String> = std::env::args().collect();
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let (run, warmup) = if quick {
        (Duration::from_secs(2), Duration::from_millis(500))
    } else {
        (Duration::from_secs(10), Duration::from_secs(2))
    };

    let reviews = Arc::new(match std::env::var("PAVED_BENCH_IMAGE") {
        Ok(image) => image_reviews(&image),
        Err(_) => reviews(),
    });
    let tls = paved_webhook::generate(&["localhost".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tls.crt"), &tls.cert).unwrap();
    std::fs::write(dir.path().join("tls.key"), &tls.key).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("PAVED_BENCH_SERVE", dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr: std::net::SocketAddr = line.trim().parse().unwrap();
    let pid = child.id();
    let connect = || Client::connect(addr, "localhost", &tls.ca).unwrap();
    let started = Instant::now();
    while connect().send("GET", "/readyz", "text/plain", b"").unwrap().status != 200 {
        assert!(started.elapsed() < Duration::from_secs(120), "the server did not get ready");
        std::thread::sleep(Duration::from_millis(100));
    }

    let inventory = if std::env::var_os("PAVED_BENCH_INVENTORY").is_some() {
        ", inventory from the cluster"
    } else if verifies_images() {
        ", verifyImages with a warm verdict cache"
    } else {
        ""
    };
    println!(
        "webhook load: {} distinct AdmissionReviews, TLS 1.3 keep-alive{inventory}, server pid {pid}",
        reviews.len()
    );
    println!("  idle RSS            {:>8.1} MB", rss_mb(pid, "VmRSS"));

    // Saturation: closed loop, as many connections as it takes to keep both cores busy.
    for connections in [4, 16] {
        saturate(&connect, &reviews, connections, warmup);
        let (n, elapsed, latencies) = saturate(&connect, &reviews, connections, run);
        let rate = n as f64 / elapsed.as_secs_f64();
        println!(
            "  saturation, {connections:>2} connections: {rate:>8.0} requests/s  (p50 {:.2} ms, p99 {:.2} ms)",
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99)
        );
    }

    // A fixed rate, open loop: each request is timed from when it was due, so a stall counts
    // against every request it delays.
    let latencies = fixed_rate(&connect, &reviews, 1_000.0, 4, run);
    println!(
        "  1,000 requests/s:    p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms  ({} requests)",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.90),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        latencies.len()
    );
    println!("  peak RSS            {:>8.1} MB", rss_mb(pid, "VmHWM"));
    let _ = child.kill();
    let _ = child.wait();
}

/// The server process: the default packs, the certificate in the directory named by the
/// environment; prints its address on stdout.
/// The server, logging as `paved serve` does by default: JSON lines at `info` for the webhook
/// (a line per denial), through a buffer a thread of its own writes out (to standard error,
/// which the bench sends to /dev/null).
fn serve() {
    let dir = PathBuf::from(std::env::var_os("PAVED_BENCH_SERVE").unwrap());
    let (writer, _flushed) = tracing_appender::non_blocking(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn,paved_webhook=info"))
        .with_writer(writer)
        .with_target(false)
        .json()
        .flatten_event(true)
        .init();
    let load: paved_webhook::Loader = Arc::new(|| {
        let mut builder = paved::Engine::builder().bundle(paved::Bundle::defaults()?);
        if verifies_images() {
            builder = builder.bundle(paved::Bundle::from_str("images.yaml", &images_policy())?);
        }
        Ok(paved_webhook::Loaded { engine: builder.build()?, namespaces: Default::default(), golden: None })
    });
    let tls = paved_webhook::Tls::Files { cert: dir.join("tls.crt"), key: dir.join("tls.key") };
    let mut config = paved_webhook::Config::new("127.0.0.1:0".parse().unwrap(), tls, load);
    if verifies_images() {
        let ca = PathBuf::from(std::env::var_os("PAVED_BENCH_REGISTRY_CA").unwrap());
        let registry: &'static paved_oci::Registry = Box::leak(Box::new(
            paved_oci::Registry::new(paved_oci::Options { ca_files: vec![ca], ..Default::default() }).unwrap(),
        ));
        let cache = paved_oci::images::ImageCache::new(move || Ok(registry), None, Duration::from_secs(300));
        config.images = Some(Arc::new(move |requests: &[paved::ImageRequest]| cache.verdicts(requests)));
    }
    if std::env::var_os("PAVED_BENCH_INVENTORY").is_some() {
        config.namespaces = paved_webhook::Namespaces::Cluster(None);
        config.inventory = true;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let server = paved_webhook::Server::start(config).await.unwrap();
        println!("{}", server.addr());
        std::future::pending::<()>().await;
    });
}

fn reviews() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let wrap =
        |request: Value| json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request});
    for path in files(&Path::new(CONFORMANCE).join("admission-requests")) {
        if path.extension().is_some_and(|e| e == "json") {
            let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            out.push(if v.get("request").is_some() { v } else { wrap(v) });
        }
    }
    let psa = Path::new(CONFORMANCE).join("pod-security-admission");
    for level in files(&psa).into_iter().filter(|p| p.is_dir()) {
        for version in files(&level).into_iter().filter(|p| p.is_dir()) {
            for expect in ["pass", "fail"] {
                for f in files(&version.join(expect)) {
                    for r in paved::Resource::from_paths(&[f]).unwrap() {
                        let o = r.value().clone();
                        out.push(wrap(json!({"uid": format!("psa-{}", out.len()), "operation": "CREATE", "namespace": "shop",
                            "kind": {"group": "", "version": "v1", "kind": o["kind"]}, "userInfo": {"username": "bench"}, "object": o})));
                    }
                }
            }
        }
    }
    out.iter().map(|v| serde_json::to_vec(v).unwrap()).collect()
}

/// Whether the server runs the `verifyImages` rule.
fn verifies_images() -> bool {
    std::env::var_os("PAVED_BENCH_IMAGE").is_some() && std::env::var("PAVED_BENCH_IMAGE_VERIFY").as_deref() != Ok("0")
}

/// A `verifyImages` rule for the images of the bench image's registry, with the bench's key.
fn images_policy() -> String {
    let image = std::env::var("PAVED_BENCH_IMAGE").unwrap();
    let registry = image.split('/').next().unwrap();
    let key = std::fs::read_to_string(std::env::var_os("PAVED_BENCH_IMAGE_KEY").unwrap()).unwrap();
    let key = key.trim_end().replace('\n', "\n            ");
    format!(
        "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {{ name: signed-images, version: 1.0.0 }}\nspec:\n  match: {{ kinds: [Pod] }}\n  rules:\n    - id: signed\n      message: images are signed\n      verifyImages:\n        images: [\"{registry}/*\"]\n        keys:\n          - |\n            {key}\n"
    )
}

/// 200 Pods of `image`, each its own name, as AdmissionReviews.
fn image_reviews(image: &str) -> Vec<Vec<u8>> {
    (0..200)
        .map(|i| {
            let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("web-{i}"), "namespace": "shop",
                "labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": image}]}});
            serde_json::to_vec(&json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
                "uid": format!("image-{i}"), "operation": "CREATE", "namespace": "shop",
                "kind": {"group": "", "version": "v1", "kind": "Pod"}, "userInfo": {"username": "bench"}, "object": pod}}))
            .unwrap()
        })
        .collect()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut f: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    f.sort();
    f
}

fn saturate(
    connect: &(dyn Fn() -> Client + Sync),
    reviews: &Arc<Vec<Vec<u8>>>,
    connections: usize,
    run: Duration,
) -> (usize, Duration, Vec<f64>) {
    let stop = AtomicBool::new(false);
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let latencies: Vec<f64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..connections)
            .map(|_| {
                let mut client = connect();
                let (stop, next, reviews) = (&stop, &next, reviews);
                s.spawn(move || {
                    let mut lat = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let body = &reviews[next.fetch_add(1, Ordering::Relaxed) % reviews.len()];
                        let t = Instant::now();
                        let a = client.send("POST", "/validate", "application/json", body).unwrap();
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                        assert_eq!(a.status, 200);
                    }
                    lat
                })
            })
            .collect();
        std::thread::sleep(run);
        stop.store(true, Ordering::Relaxed);
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    (latencies.len(), start.elapsed(), latencies)
}

fn fixed_rate(
    connect: &(dyn Fn() -> Client + Sync),
    reviews: &Arc<Vec<Vec<u8>>>,
    rate: f64,
    connections: usize,
    run: Duration,
) -> Vec<f64> {
    let per_connection = Duration::from_secs_f64(connections as f64 / rate);
    let total = (run.as_secs_f64() * rate / connections as f64) as usize;
    let start = Instant::now() + Duration::from_millis(50);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..connections)
            .map(|c| {
                let mut client = connect();
                s.spawn(move || {
                    let offset = per_connection.mul_f64(c as f64 / connections as f64);
                    (0..total)
                        .map(|i| {
                            let due = start + offset + per_connection * u32::try_from(i).unwrap();
                            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                                std::thread::sleep(wait);
                            }
                            let body = &reviews[(i * connections + c) % reviews.len()];
                            let a = client.send("POST", "/validate", "application/json", body).unwrap();
                            assert_eq!(a.status, 200);
                            due.elapsed().as_secs_f64() * 1e3
                        })
                        .collect::<Vec<f64>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    })
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or(f64::NAN)
}

/// A line of `/proc/PID/status` in MB (`VmRSS` now, `VmHWM` the peak).
fn rss_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.trim_start_matches(':').trim().strip_suffix(" kB")))
        .and_then(|kb| kb.trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
