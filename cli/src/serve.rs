//! `paved serve`, the admission webhook, and `paved cert`, a certificate to try it with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use paved::Context;
use paved_webhook::{Config, Loaded, Namespaces, Server, Tls};

use crate::audit::ReportFormat;
use crate::check::EngineArgs;
use crate::{usage, EXIT_ERROR};

#[derive(clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0:8443")]
    listen: SocketAddr,
    /// The serving certificate chain, PEM (reloaded when it changes).
    #[arg(long, value_name = "FILE", requires = "tls_key", conflicts_with = "self_signed")]
    tls_cert: Option<PathBuf>,
    /// The serving certificate's private key, PEM.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve a certificate made at start for these DNS names, and print its CA for the
    /// webhook configuration's caBundle (for trying paved on a laptop cluster).
    #[arg(long, value_name = "NAME", num_args = 1..)]
    self_signed: Vec<String>,
    /// Watch the cluster's Namespaces for namespace labels (in-cluster, or the kubeconfig).
    #[arg(long)]
    watch_namespaces: bool,
    /// Keep, from the cluster, the kinds the policies read through `inventory` (watched; ready
    /// once each has listed), so admission judges as `paved check --inventory EXPORT
    /// --inventory-complete` does. Watches the cluster's Namespaces too.
    #[arg(long)]
    watch_inventory: bool,
    #[command(flatten)]
    audit: AuditFlags,
    /// The largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 7 << 20)]
    max_body: usize,
    /// The longest an evaluation may take (a request's own `?timeout=` shortens it); past it the
    /// request is answered per the failure policy.
    #[arg(long, value_name = "DURATION", default_value = "9s", value_parser = duration)]
    deadline: Duration,
    /// How often the bundle and certificate files are looked at for changes.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration)]
    poll: Duration,
    /// How often the registry is asked what the `oci://` sources' tags name now (and at once on
    /// SIGHUP); a new digest is pulled, verified and swapped in as a changed file is (one that
    /// fails verification leaves the previous bundle serving).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    registry_poll: Duration,
    /// How long a verdict on an image (`verifyImages`) is kept before its registry is asked
    /// again; an unreachable registry's is not kept.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration)]
    image_cache_ttl: Duration,
    /// How long a shutdown waits for requests in flight; evaluations still running then are
    /// stopped.
    #[arg(long, value_name = "DURATION", default_value = "25s", value_parser = duration)]
    drain: Duration,
    /// The most evaluations running at once (default: four per core); a request beyond it is
    /// answered at once, per the failure policy, and counted.
    #[arg(long, value_name = "N")]
    max_in_flight: Option<usize>,
    /// The most connections open at once; one beyond it is closed as it is accepted.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,
    /// How long a client may take over its TLS handshake, a request's headers (HTTP/1.1 and
    /// HTTP/2) or its body.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    read_timeout: Duration,
    /// How long a connection may stay open with no request after its last answer.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    keep_alive: Duration,
}

/// The audit in the cluster.
#[derive(clap::Args)]
struct AuditFlags {
    /// Audit what runs in the cluster and keep PolicyReports of it current: every object the
    /// policies judge (and drift of the services on golden paths), again on changes, on time
    /// (an exception expiring, a sunset), and every --audit-interval. Replicas share the work
    /// through Leases. Implies --watch-inventory.
    #[arg(long)]
    audit: bool,
    /// The reports' kind.
    #[arg(long, value_enum, default_value_t = ReportFormat::PolicyReport, requires = "audit")]
    audit_format: ReportFormat,
    /// How often everything is audited again, besides changes and time.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration, requires = "audit")]
    audit_interval: Duration,
    /// How many shards the namespaces are cut into, each audited by one replica at a time
    /// (at least the replicas, to use them all).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "audit")]
    audit_shards: u32,
    /// How long an audit Lease holds without renewal; a replica that dies is replaced within
    /// about that long.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = duration, requires = "audit")]
    audit_lease_duration: Duration,
    /// The namespace of the audit's Leases (default: $POD_NAMESPACE, else `paved`).
    #[arg(long, value_name = "NAMESPACE", requires = "audit")]
    audit_lease_namespace: Option<String>,
    /// This replica's name in the Leases (default: $POD_NAME, else the host name).
    #[arg(long, value_name = "NAME", requires = "audit")]
    audit_identity: Option<String>,
    /// Objects asked for in one list request.
    #[arg(long, value_name = "N", default_value_t = 500, requires = "audit")]
    audit_page_size: u32,
    /// Audit only these resources (`pods`, `deployments.apps`: `plural` or `plural.group`, as
    /// RBAC names them); by default every kind the policies judge or the golden paths render.
    #[arg(long, value_name = "RESOURCE", value_delimiter = ',', requires = "audit")]
    audit_resources: Vec<String>,
    /// A report whose JSON would be larger is split into parts (etcd refuses objects over
    /// 1.5 MB).
    #[arg(long, value_name = "BYTES", default_value_t = 1_000_000, requires = "audit")]
    max_report_bytes: usize,
}

impl AuditFlags {
    fn config(&self) -> Result<Option<paved_webhook::audit::AuditConfig>, String> {
        if !self.audit {
            return Ok(None);
        }
        if self.max_report_bytes > 1_500_000 || self.audit_page_size == 0 || self.audit_shards == 0 {
            return Err(
                "--max-report-bytes is at most 1500000 (etcd's limit); --audit-page-size and --audit-shards at least 1"
                    .into(),
            );
        }
        if self.audit_lease_duration < Duration::from_secs(1) {
            return Err("--audit-lease-duration is at least 1s".into());
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let identity = self.audit_identity.clone().or_else(|| env("POD_NAME")).or_else(|| env("HOSTNAME"));
        let identity = identity
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|h| h.trim().to_owned()))
            .filter(|i| !i.is_empty() && i.len() <= 200)
            .ok_or("no name for this replica: give --audit-identity (or set POD_NAME)")?;
        Ok(Some(paved_webhook::audit::AuditConfig {
            kind: self.audit_format.kind(),
            max_report_bytes: self.max_report_bytes,
            page: self.audit_page_size,
            interval: self.audit_interval,
            resources: self.audit_resources.clone(),
            shards: self.audit_shards,
            lease_duration: self.audit_lease_duration,
            identity,
            lease_namespace: self
                .audit_lease_namespace
                .clone()
                .or_else(|| env("POD_NAMESPACE"))
                .unwrap_or_else(|| "paved".into()),
        }))
    }
}

#[derive(clap::Args)]
pub struct CertArgs {
    /// The directory to write `ca.crt`, `tls.crt` and `tls.key` into.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// DNS names (or IP addresses) the certificate is for, e.g. paved.paved.svc.
    #[arg(long = "name", value_name = "NAME", required = true)]
    names: Vec<String>,
}

fn duration(text: &str) -> Result<Duration, String> {
    paved_webhook::parse_duration(text).ok_or_else(|| format!("`{text}` is not a duration like 9s, 500ms or 1m30s"))
}

pub fn serve(args: ServeArgs) -> ExitCode {
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Tls::Files { cert, key },
        _ if !args.self_signed.is_empty() => match paved_webhook::generate(&args.self_signed) {
            Ok(g) => {
                let names = args.self_signed.join(", ");
                eprintln!(
                    "paved serve: a self-signed certificate for {names}; its CA, for caBundle:\n{}",
                    ca_bundle(&g.ca)
                );
                Tls::Generated(g)
            }
            Err(e) => return usage(&e.to_string()),
        },
        _ => return usage("paved serve needs --tls-cert and --tls-key, or --self-signed NAME"),
    };
    let audit = match args.audit.config() {
        Ok(a) => a,
        Err(e) => return usage(&e),
    };
    let engine = args.engine.clone();
    let drift = audit.is_some();
    let load: paved_webhook::Loader = Arc::new(move || {
        let built = engine.engine()?;
        let namespaces = engine.context(Context::at(jiff::Timestamp::now()))?.namespaces;
        let golden = if drift { Some(engine.golden()?) } else { None };
        Ok(Loaded { engine: built, namespaces, golden })
    });
    let mut config = Config::new(args.listen, tls, load);
    config.watch = args.engine.files();
    #[cfg(feature = "oci")]
    {
        config.remote = Some((Arc::new(crate::source::pulled::fingerprint), args.registry_poll));
        let registry = || crate::source::pulled::registry().map_err(|e| e.to_string());
        let root = match crate::source::pulled::trusted_root() {
            Ok(r) => r,
            Err(e) => return usage(&e.to_string()),
        };
        let cache = paved_oci::images::ImageCache::new(registry, root, args.image_cache_ttl);
        config.images = Some(Arc::new(move |requests: &[paved::ImageRequest]| cache.verdicts(requests)));
    }
    let cluster = args.watch_namespaces || args.watch_inventory || audit.is_some();
    config.namespaces = if cluster { Namespaces::Cluster(None) } else { Namespaces::Files };
    config.inventory = args.watch_inventory || audit.is_some();
    config.audit = audit;
    config.max_body = args.max_body;
    config.deadline = args.deadline;
    config.poll = args.poll;
    config.drain = args.drain;
    config.max_in_flight = args.max_in_flight.unwrap_or(config.max_in_flight);
    config.max_connections = args.max_connections;
    config.read_timeout = args.read_timeout;
    config.keep_alive = args.keep_alive;
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return usage(&format!("cannot start the runtime: {e}")),
    };
    let code = runtime.block_on(async move {
        let server = match Server::start(config).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        };
        shutdown_signal().await;
        tracing::info!("stopping: draining requests in flight");
        server.shutdown().await;
        ExitCode::SUCCESS
    });
    // The drain stopped the evaluations still running; what cannot be stopped (a plugin call,
    // bounded by its own deadline) does not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(500));
    code
}

/// SIGTERM (the kubelet stopping the pod) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

pub fn cert(args: CertArgs) -> ExitCode {
    let generated = match paved_webhook::generate(&args.names) {
        Ok(g) => g,
        Err(e) => return usage(&e.to_string()),
    };
    if let Err(e) = std::fs::create_dir_all(&args.dir) {
        return usage(&format!("cannot create {}: {e}", args.dir.display()));
    }
    for (name, text, private) in
        [("ca.crt", &generated.ca, false), ("tls.crt", &generated.cert, false), ("tls.key", &generated.key, true)]
    {
        let path = args.dir.join(name);
        if let Err(e) = write(&path, text, private) {
            return usage(&format!("cannot write {}: {e}", path.display()));
        }
    }
    println!("wrote ca.crt, tls.crt and tls.key to {}\ncaBundle: {}", args.dir.display(), ca_bundle(&generated.ca));
    ExitCode::SUCCESS
}

/// Writes a file; a private key is readable by its owner only.
fn write(path: &std::path::Path, text: &str, private: bool) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = private;
    std::io::Write::write_all(&mut options.open(path)?, text.as_bytes())
}

/// The base64 of a PEM bundle, as a webhook configuration's `caBundle` takes it.
fn ca_bundle(pem: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(pem)
}
