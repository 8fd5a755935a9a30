//! `paved`: check resources against policies, test policies, list exceptions and explain rules,
//! from a terminal or CI. Parses arguments, calls the `paved` library, and writes what it
//! returns.

#[cfg(feature = "serve")]
mod audit;
mod check;
mod fix;
mod gitops;
mod golden;
#[cfg(feature = "oci")]
mod oci;
mod output;
mod plugin;
#[cfg(feature = "serve")]
mod serve;
mod source;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use jiff::Timestamp;

/// mimalloc, as the Python and Node packages use: with glibc's, `malloc` and `free` were about a
/// tenth of the samples of a 10,000-host Ingress's evaluation under `perf`.
#[cfg(not(target_arch = "wasm32"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use paved::{Bundle, Engine, Error};

/// Exit codes: 0 passed, 1 a policy (or test, or exception) failure, 2 a usage, load or input
/// error.
pub(crate) const EXIT_FAILED: u8 = 1;
pub(crate) const EXIT_ERROR: u8 = 2;

/// The version, and the plugin contract this build speaks (`paved --version`).
static LONG_VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let contract = paved::plugin_contract().unwrap_or("none (this build has no plugin host)");
    format!("{}\nplugin contract: {contract}", env!("CARGO_PKG_VERSION"))
});

#[derive(Parser)]
#[command(name = "paved", version, long_version = LONG_VERSION.as_str(), about = "Policy and golden-path engine for platform teams")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log what paved does to stderr: -v for info (bundle loads, engine builds, plugin
    /// compiles), -vv for debug (each resource and plugin call), -vvv for trace.
    #[arg(short = 'v', action = clap::ArgAction::Count, global = true)]
    log_verbosity: u8,
    /// Log level or filter, as RUST_LOG takes it (`warn`, `paved=debug`); overrides -v.
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
    #[command(flatten)]
    distribution: source::Distribution,
}

/// Logs to standard error at the level asked for: `--log-level`, else `-v`s, else `RUST_LOG`,
/// else warnings only (a refused plugin cache, a cache entry compiled again). For people, or as
/// JSON lines for a server (`paved serve`, which logs at `info` by default, through a buffer a
/// thread of its own writes out, so that no request waits on standard error). Returns what
/// keeps that buffer written out until the end.
fn init_logging(verbose: u8, filter: Option<&str>, server: bool) -> LogGuard {
    use tracing_subscriber::EnvFilter;
    let quiet = if server { "warn,paved_webhook=info" } else { "warn" };
    let filter = match (filter, verbose) {
        (Some(f), _) => EnvFilter::try_new(f),
        (None, 0) => EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(quiet)),
        (None, 1) => EnvFilter::try_new("info"),
        (None, 2) => EnvFilter::try_new("debug"),
        (None, _) => EnvFilter::try_new("trace"),
    };
    let filter = match filter {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: --log-level: {e}");
            EnvFilter::new("warn")
        }
    };
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    #[cfg(feature = "serve")]
    if server {
        let (writer, guard) = tracing_appender::non_blocking(std::io::stderr());
        let _ = logs.with_writer(writer).json().flatten_event(true).try_init();
        return Some(guard);
    }
    let _ = server;
    let _ = logs.with_writer(std::io::stderr).with_ansi(stderr_color()).try_init();
    LogGuard::default()
}

/// Keeps the server's log buffer written out until it is dropped.
#[cfg(feature = "serve")]
type LogGuard = Option<tracing_appender::non_blocking::WorkerGuard>;
#[cfg(not(feature = "serve"))]
type LogGuard = Option<std::convert::Infallible>;

#[derive(Subcommand)]
enum Command {
    /// Check manifests against policies and exceptions.
    ///
    /// Without --bundle and --pack, the built-in packs kubernetes-schema,
    /// pod-security-baseline and platform-baseline run. Exit status: 0 passed, 1 a policy failed (see --fail-on),
    /// 2 a usage, load or input error.
    #[command(after_help = "Examples:
  paved check k8s/
  helm template chart | paved check -
  kustomize build overlays/prod | paved check --bundle policies/ -
  paved check --bundle policies/ --exceptions exceptions/ --format sarif k8s/ > paved.sarif
  paved check --pack pod-security-restricted --set pod-security-restricted.kubernetesVersion=v1.30 k8s/
  paved check --namespace-labels namespaces.yaml --fail-on warn --format github k8s/")]
    Check(check::CheckArgs),
    /// Apply the platform's mutations to manifests: defaults, labels, image digests.
    ///
    /// Prints every manifest, mutated, in input order; --write writes the changes into the files
    /// with the smallest edits (comments and key order kept); --diff prints a unified diff. What
    /// changed is said on standard error, by policy and mutation. Exit status: 0 nothing to
    /// change, 1 something changed (or a mutation failed), 2 a usage, load or input error.
    #[command(after_help = "Examples:
  paved fix --bundle policies/ k8s/deployment.yaml
  paved fix --bundle policies/ --diff k8s/
  paved fix --bundle policies/ --write k8s/
  kustomize build overlays/prod | paved fix --bundle policies/ - | kubectl apply -f -")]
    Fix(fix::FixArgs),
    /// Serve the admission webhook: the same verdicts as `paved check`, at the Kubernetes API.
    ///
    /// HTTPS on --listen: POST /validate takes admission.k8s.io/v1 AdmissionReviews; /healthz,
    /// /readyz and /metrics (Prometheus) serve operations. The bundle and the certificate are
    /// reloaded when their files change; a bundle that does not load is logged and the previous
    /// one keeps serving. What cannot be judged in time is denied, unless every policy that may
    /// apply sets failurePolicy: Ignore. Logs are JSON on standard error.
    #[command(after_help = "Examples:
  paved serve --bundle /etc/paved/bundle --tls-cert /tls/tls.crt --tls-key /tls/tls.key --watch-namespaces
  paved serve --pack pod-security-restricted --self-signed localhost
  paved cert --dir tls/ --name paved.paved.svc")]
    #[cfg(feature = "serve")]
    Serve(serve::ServeArgs),
    /// Write a CA and a serving certificate for the webhook (ca.crt, tls.crt, tls.key), for
    /// trying `paved serve` without cert-manager.
    #[cfg(feature = "serve")]
    Cert(serve::CertArgs),
    /// Audit what already runs in a cluster: every object the policies may judge, evaluated, as
    /// PolicyReports.
    ///
    /// In-cluster, or the kubeconfig's current context. Objects are listed one kind at a time,
    /// --page-size at a time; namespace labels and the kinds the policies read through
    /// `inventory` are listed first. One report per namespace (and one for cluster-scoped
    /// objects), split to stay under --max-report-bytes. Exit status: 0 done, 2 when something
    /// could not be listed (each said on standard error) or on errors.
    #[command(after_help = "Examples:
  paved audit --once --pack platform-baseline -o reports/
  paved audit --once --bundle policies/ --format openreports | kubectl apply -f -")]
    #[cfg(feature = "serve")]
    Audit(audit::AuditArgs),
    /// Render a golden path: a developer's inputs become complete, compliant manifests.
    ///
    /// The highest version the range allows is used. Inputs are checked against the golden
    /// path's schema (every problem at once) and the manifests against its policies: a render
    /// that its policies deny fails (exit 1) with the findings.
    #[command(after_help = "Examples:
  paved render web-service -f checkout.yaml
  paved render web-service@^2 -f checkout.yaml > k8s/checkout.yaml
  paved render web-service@1.1.0 -f orders.yaml --format json
  paved render platform-api --bundle golden-paths/ -f api.yaml")]
    Render(golden::RenderArgs),
    /// Render and check an application's directory for a GitOps tool: the manifests to apply on
    /// standard output, the same bytes on every run, or nothing and paved's report.
    ///
    /// With a golden path (--golden-path, ARGOCD_ENV_GOLDEN_PATH), it is rendered from the
    /// directory's inputs file; the directory's other manifests join it. All are checked with
    /// the bundles (PAVED_BUNDLE) or the default packs: a denial exits 1 with the findings on
    /// standard error, and prints nothing. Argo CD's config management plugin runs it
    /// (`integrations/argocd/`); Flux pipelines run it before `paved push --render`.
    #[command(after_help = "Examples:
  paved generate apps/checkout --golden-path web-service@^2 --bundle platform/ > out/checkout.yaml
  paved generate apps/checkout --input scaling.min=3 --input image=registry.acme.dev/shop/checkout:4.3.0
  ARGOCD_ENV_GOLDEN_PATH=web-service@^2 ARGOCD_APP_NAME=checkout paved generate")]
    Generate(gitops::GenerateArgs),
    /// Compare services with what their golden path renders: drift, allowed extensions,
    /// findings and a drift score per service.
    ///
    /// Each service's objects record the golden path version and inputs they were rendered
    /// from; they are rendered again and compared field by field. Changes under the golden
    /// path's extension points are allowed; fields the API server manages or defaults are
    /// ignored. Exit status 1 when a service drifted, is denied, or cannot be checked.
    #[command(after_help = "Examples:
  paved conform k8s/
  kubectl get deploy,svc,hpa,pdb,netpol,sa -n payments -o yaml | paved conform -
  paved conform --exceptions exceptions/ --format json k8s/")]
    Conform(golden::ConformArgs),
    /// Upgrade services to a newer golden path version: migrated inputs, the new manifests,
    /// and what changes (a JSON Patch per object, and the requested CPU and memory).
    ///
    /// Migrations of every version passed are applied in order. A major upgrade that no
    /// migration covers is refused. Given a service's manifests, the upgrade is a three-way
    /// merge: the team's changes under extension points are kept, the new version's applied,
    /// other changes reverted, and fields both changed are conflicts (exit status 1) unless
    /// --prefer picks a side. --write rewrites the manifests in place; --all upgrades every
    /// service found.
    #[command(after_help = "Examples:
  paved upgrade web-service@1.0.0 -f orders.yaml
  paved upgrade web-service@1.0.0 -f orders.yaml --to ^2 --write
  paved upgrade -f k8s/orders.yaml --prefer ours --write
  paved upgrade --all k8s/ --format markdown > upgrades.md")]
    Upgrade(golden::UpgradeArgs),
    /// Report golden path adoption across a fleet: services per version, how far behind each
    /// is, deprecated and sunset versions, and workloads on no golden path.
    ///
    /// Exit status 1 when a service is on a version past its sunset or on an unknown one.
    #[command(after_help = "Examples:
  paved outdated k8s/
  paved outdated --bundle golden-paths/ --format json clusters/prod/
  paved outdated --format prometheus k8s/ | curl --data-binary @- $PUSHGATEWAY/metrics/job/paved")]
    Outdated(golden::OutdatedArgs),
    /// Write Backstage catalog entities for the services that run: one `Component` per
    /// service found in the manifests or live exports, with its owner, system and lifecycle
    /// from its labels, and its golden path, version and drift score as annotations.
    #[command(after_help = "Examples:
  paved catalog k8s/ > catalog-info.yaml
  kubectl get deploy,svc,hpa,pdb,netpol,sa,ing -A -o yaml | paved catalog -")]
    Catalog(golden::CatalogArgs),
    /// Print a golden path's inputs as Backstage software-template parameters (a form page
    /// whose JSON Schema is the golden path's own), for a template's `parameters:`.
    #[command(after_help = "Examples:
  paved parameters web-service@^2 > parameters.yaml")]
    Parameters(golden::ParametersArgs),
    /// List the golden paths and their versions: the built-in ones and the bundles', with what
    /// each is for and which are deprecated.
    #[command(
        name = "golden-paths",
        after_help = "Examples:
  paved golden-paths
  paved golden-paths --bundle golden-paths/ --format json"
    )]
    GoldenPaths(golden::ListArgs),
    /// Run policy tests: `kind: PolicyTest` files, `kyverno test` files and gator suites.
    ///
    /// Directories are searched for files whose names end in `test.yaml`, `test.yml`,
    /// `suite.yaml` or `suite.yml`.
    /// Exit status: 0 every case passed, 1 a case failed, 2 a test file is invalid.
    #[command(after_help = "Examples:
  paved test policies/
  paved test packs/tests/platform-baseline.test.yaml --verbose
  paved test policies/ --format junit > test-results.xml")]
    Test {
        /// Test files or directories (default: the current directory).
        paths: Vec<PathBuf>,
        /// The instant of evaluation for tests that give none (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        /// List every case, not only the failed ones.
        #[arg(long)]
        verbose: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TestFormat::Human)]
        format: TestFormat,
        /// Which code runs for a Gatekeeper template that has both: its CEL (as Gatekeeper
        /// runs it) or its Rego (to compare).
        #[arg(long, value_enum, default_value_t = check::GatekeeperEngine::Cel)]
        gatekeeper_engine: check::GatekeeperEngine,
    },
    /// List policy exceptions: owner, ticket, expiry, status and what each waives.
    ///
    /// Exit status: 1 if any exception is expired or invalid (for a scheduled job that
    /// reminds owners), 0 otherwise.
    #[command(after_help = "Examples:
  paved exceptions policies/
  paved exceptions policies/ --expiring 30d
  paved exceptions policies/ --now 2027-01-01 --format json")]
    Exceptions {
        /// Bundle or exception files and directories (default: the current directory). The
        /// policies the exceptions name must be among them, or be the default packs' when they
        /// hold no policy.
        paths: Vec<PathBuf>,
        /// A bundle (directory or file) to read too, as `paved check --bundle` takes it
        /// (repeatable).
        #[arg(long = "bundle", short = 'b')]
        bundles: Vec<PathBuf>,
        /// The instant statuses are judged at (RFC 3339); default: now.
        #[arg(long)]
        now: Option<String>,
        /// Only those that lapse within this span (`30d`, `2w`, `12h`), or already have.
        #[arg(long, value_name = "SPAN")]
        expiring: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Explain a rule: what it checks and why, good and bad examples, how to fix it or ask
    /// for an exception.
    #[command(after_help = "Examples:
  paved explain image-pinned
  paved explain images/image-pinned
  paved explain privileged --pack pod-security-baseline
  paved explain team-label --bundle policies/")]
    Explain {
        /// `RULE`, `POLICY/RULE` or `POLICY`.
        rule: String,
        /// Bundles to look in besides the built-in packs (repeatable).
        #[arg(long = "bundle", short = 'b')]
        bundles: Vec<PathBuf>,
        /// Only look in these built-in packs (repeatable); default: all of them.
        #[arg(long = "pack", short = 'p')]
        packs: Vec<String>,
    },
    /// Export a policy as a Kubernetes ValidatingAdmissionPolicy and its binding (YAML on
    /// standard output), so its CEL rules run inside the API server with no webhook.
    ///
    /// Params are inlined; forEach rules become all() over their lists. What Kubernetes cannot
    /// express (plugins, JSON Schema rules, the inventory, globs, pod controllers, exceptions)
    /// is refused with the reason (exit 2), or left out with --partial and named in the
    /// policy's `paved.dev/left-out` annotation.
    #[command(after_help = "Examples:
  paved export vap pod-security-restricted --pack pod-security-restricted --partial | kubectl apply -f -
  paved export vap replica-cap --bundle policies/")]
    Export {
        /// The form to export to: `vap` (ValidatingAdmissionPolicy).
        #[arg(value_parser = ["vap"])]
        form: String,
        /// The policy's name.
        policy: String,
        /// Bundles to find it in (repeatable).
        #[arg(long = "bundle", short = 'b')]
        bundles: Vec<PathBuf>,
        /// Built-in packs to find it in (repeatable).
        #[arg(long = "pack", short = 'p')]
        packs: Vec<String>,
        /// Leave out what Kubernetes cannot express, instead of refusing.
        #[arg(long)]
        partial: bool,
    },
    /// List the built-in policy packs, their policies and rules.
    #[command(after_help = "Examples:
  paved packs
  paved packs --format json | jq '.[].policies[].rules[].id'")]
    Packs {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Human)]
        format: ListFormat,
    },
    /// Work with WASM plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Push a bundle, pack, golden paths, plugin or rendered manifests to an OCI registry as an
    /// artifact, optionally signed.
    #[cfg(feature = "oci")]
    #[command(after_help = "Examples:
  paved push oci://registry.acme.dev/platform/policies:1.4.0 policies/ --sign-key cosign.key
  paved push oci://registry.acme.dev/platform/plugins/allowlist:1.0.0 allowlist.wasm
  paved render web-service -f checkout.yaml > out/checkout.yaml && paved check out/ \\
    && paved push --render oci://registry.acme.dev/apps/checkout:4.2.1 out/ -a org.opencontainers.image.revision=$GIT_SHA")]
    Push(oci::PushArgs),
    /// Pull an artifact paved pushed, verified (digest, then signature with --verify-key) before
    /// any of it is written.
    #[cfg(feature = "oci")]
    #[command(after_help = "Examples:
  paved pull oci://registry.acme.dev/platform/policies:1.4.0 --verify-key cosign.pub -o policies/
  paved check --bundle oci://registry.acme.dev/platform/policies:1.4.0 --verify-key cosign.pub k8s/")]
    Pull(oci::PullArgs),
    /// Sign an artifact in a registry with a key, as `cosign sign --key` does.
    #[cfg(feature = "oci")]
    #[command(after_help = "Examples:
  COSIGN_PASSWORD=... paved sign oci://registry.acme.dev/platform/policies:1.4.0 --key cosign.key")]
    Sign(oci::SignArgs),
    /// Attest a predicate (SLSA provenance, an SBOM) of an image in a registry, signed with a
    /// key, as `cosign attest --key` does; `verifyImages` rules check it.
    #[cfg(feature = "oci")]
    #[command(after_help = "Examples:
  COSIGN_PASSWORD=... paved attest oci://registry.acme.dev/shop/web:1.2 --key cosign.key \\
      --type https://slsa.dev/provenance/v1 --predicate provenance.json")]
    Attest(oci::AttestArgs),
    /// Say who signed an artifact in a registry, checked against --verify-key; exit 1 if no
    /// trusted key did.
    #[cfg(feature = "oci")]
    #[command(after_help = "Examples:
  paved verify oci://registry.acme.dev/platform/policies:1.4.0 --verify-key cosign.pub")]
    Verify(oci::VerifyArgs),
    /// Write a key pair to sign artifacts with (cosign.key, encrypted, and cosign.pub), as
    /// `cosign generate-key-pair` does.
    #[cfg(feature = "oci")]
    #[command(after_help = "Examples:
  PAVED_KEY_PASSWORD=... paved keygen --dir keys/")]
    Keygen(oci::KeygenArgs),
    /// Print the JSON Schema of a paved document kind, for editors.
    #[command(after_help = "Examples:
  paved schema Policy > .schemas/policy.json
  paved schema")]
    Schema {
        /// Policy, PolicyBinding, PolicyException, Bundle, PolicyTest or GoldenPath; all kinds when
        /// omitted.
        kind: Option<String>,
    },
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  paved completions bash > /etc/bash_completion.d/paved
  paved completions zsh > \"${fpath[1]}/_paved\"
  paved completions fish > ~/.config/fish/completions/paved.fish")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Show what a plugin is (metadata, rules, params schema), its sha256 to pin in a Bundle,
    /// and how long it took to load.
    #[command(after_help = "Examples:
  paved plugin inspect examples/plugins/registry-allowlist.wasm
  paved plugin inspect --format json plugins/target/wasm32-wasip2/release/cost_budget.wasm")]
    Inspect(plugin::InspectArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ListFormat {
    /// For people.
    Human,
    /// For programs.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum TestFormat {
    /// For people.
    Human,
    /// For programs.
    Json,
    /// JUnit XML, for CI.
    Junit,
}

fn main() -> ExitCode {
    let code = run();
    #[cfg(target_arch = "wasm32")]
    exit_with_code(code);
    code
}

/// Exits with paved's own status, 1 or 2, under WASI too: Rust's runtime reports any failure
/// through `wasi:cli/exit.exit` as a bare error (status 1), so a failure calls `exit-with-code`.
#[cfg(target_arch = "wasm32")]
fn exit_with_code(code: ExitCode) {
    if let Some(status) = [EXIT_FAILED, EXIT_ERROR].into_iter().find(|&c| code == ExitCode::from(c)) {
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        wasip2::cli::exit::exit_with_code(status);
    }
}

fn run() -> ExitCode {
    // Not `Cli::parse`, which exits the process itself (under WASI, with the wrong status).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(EXIT_ERROR));
        }
    };
    #[cfg(feature = "serve")]
    let server = matches!(cli.command, Command::Serve(_));
    #[cfg(not(feature = "serve"))]
    let server = false;
    let _logs = init_logging(cli.log_verbosity, cli.log_level.as_deref(), server);
    source::configure(cli.distribution);
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Fix(args) => fix::run(args),
        #[cfg(feature = "serve")]
        Command::Serve(args) => serve::serve(args),
        #[cfg(feature = "serve")]
        Command::Cert(args) => serve::cert(args),
        #[cfg(feature = "serve")]
        Command::Audit(args) => audit::run(args),
        Command::Render(args) => golden::render(args),
        Command::Generate(args) => gitops::generate(args),
        Command::Conform(args) => golden::conform(args),
        Command::Upgrade(args) => golden::upgrade(args),
        Command::Outdated(args) => golden::outdated(args),
        Command::Catalog(args) => golden::catalog(args),
        Command::Parameters(args) => golden::parameters(args),
        Command::GoldenPaths(args) => golden::list(args),
        Command::Test { paths, now, verbose, format, gatekeeper_engine } => {
            test(&paths, now.as_deref(), verbose, (format, gatekeeper_engine))
        }
        Command::Exceptions { mut paths, bundles, now, expiring, format } => {
            paths.extend(bundles);
            exceptions(&paths, now.as_deref(), expiring.as_deref(), format)
        }
        Command::Explain { rule, bundles, packs } => explain(&rule, &bundles, &packs),
        Command::Export { form: _, policy, bundles, packs, partial } => export(&policy, &bundles, &packs, partial),
        Command::Packs { format } => packs(format),
        Command::Plugin(PluginCommand::Inspect(args)) => plugin::inspect(args),
        #[cfg(feature = "oci")]
        Command::Push(args) => oci::push(args),
        #[cfg(feature = "oci")]
        Command::Pull(args) => oci::pull(args),
        #[cfg(feature = "oci")]
        Command::Sign(args) => oci::sign(args),
        #[cfg(feature = "oci")]
        Command::Attest(args) => oci::attest(args),
        #[cfg(feature = "oci")]
        Command::Verify(args) => oci::verify(args),
        #[cfg(feature = "oci")]
        Command::Keygen(args) => oci::keygen(args),
        Command::Schema { kind } => schema(kind.as_deref()),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "paved", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
    }
}

/// Whether standard error is a terminal that takes colours.
fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Whether standard output is a terminal that takes colours.
fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Reports an error on standard error and gives exit status 2.
fn fail(e: &Error) -> ExitCode {
    output::error(e, stderr_color());
    ExitCode::from(EXIT_ERROR)
}

/// Reports a usage error on standard error and gives exit status 2.
fn usage(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "error: {message}");
    ExitCode::from(EXIT_ERROR)
}

/// `--now`, or the current time.
fn instant(now: Option<&str>) -> Result<Timestamp, String> {
    now.map_or_else(|| Ok(Timestamp::now()), |s| paved::parse_instant(s).map_err(|e| format!("--now: {e}")))
}

/// Writes `text` to standard output; a closed pipe is not an error worth a panic.
fn print(text: &str) -> ExitCode {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(EXIT_ERROR),
    }
}

/// Writes what `write` produces (for people) to standard output.
fn print_with(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> ExitCode {
    let mut text = Vec::new();
    let _ = write(&mut text);
    print(&String::from_utf8_lossy(&text))
}

/// The exit status of a command whose output was `written`: 1 if it `failed`.
fn outcome(written: ExitCode, failed: bool) -> ExitCode {
    match (written == ExitCode::SUCCESS, failed) {
        (false, _) => written,
        (true, true) => ExitCode::from(EXIT_FAILED),
        (true, false) => ExitCode::SUCCESS,
    }
}

fn pretty(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).map(|s| s + "\n").unwrap_or_default()
}

/// The bundles at `paths` (the current directory when none), merged.
fn load_bundles(paths: &[PathBuf]) -> Result<Bundle, Error> {
    let here = [PathBuf::from(".")];
    let paths = if paths.is_empty() { &here[..] } else { paths };
    if paths.iter().any(|p| p.to_string_lossy().starts_with("oci://")) {
        return paths.iter().try_fold(Bundle::default(), |b, p| Ok(b.merge(source::bundle(p)?)));
    }
    source::resolve(Bundle::from_paths(paths)?)
}

fn test(
    paths: &[PathBuf],
    now: Option<&str>,
    verbose: bool,
    (format, engine): (TestFormat, check::GatekeeperEngine),
) -> ExitCode {
    let now = match instant(now) {
        Ok(t) => t,
        Err(e) => return usage(&e),
    };
    let here = [PathBuf::from(".")];
    let mut suites = match paved::TestSuite::from_paths(if paths.is_empty() { &here[..] } else { paths }) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    if engine == check::GatekeeperEngine::Rego {
        suites = suites.into_iter().map(paved::TestSuite::with_gatekeeper_rego).collect();
    }
    if suites.is_empty() {
        return usage("no policy tests found (files named `*test.yaml` or `*suite.yaml`)");
    }
    let reports: Vec<_> = suites.iter().map(|s| s.run(now)).collect();
    let written = match format {
        TestFormat::Json => print(&pretty(&reports)),
        TestFormat::Junit => print(&paved::SuiteReport::junit(&reports)),
        TestFormat::Human => print_with(|text| output::tests(text, &reports, verbose, stdout_color())),
    };
    outcome(written, !reports.iter().all(paved::SuiteReport::passed))
}

fn exceptions(paths: &[PathBuf], now: Option<&str>, expiring: Option<&str>, format: ListFormat) -> ExitCode {
    let now = match instant(now) {
        Ok(t) => t,
        Err(e) => return usage(&e),
    };
    let within = match expiring.map(parse_span) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => return usage(&format!("--expiring: {e}")),
    };
    // Exceptions name policies; without any among the paths they name the default packs', as
    // `paved check` runs them.
    let bundle = load_bundles(paths).and_then(|b| {
        let has_policies = b.policy_names().next().is_some();
        if has_policies {
            Ok(b)
        } else {
            Ok(Bundle::defaults()?.merge(b))
        }
    });
    let engine = match bundle.and_then(|b| Engine::builder().bundle(b).build()) {
        Ok(e) => e,
        Err(e) => return fail(&e),
    };
    let all = engine.exceptions(now);
    let lapsed = |e: &paved::ExceptionReport| {
        matches!(e.status, paved::ExceptionStatus::Expired | paved::ExceptionStatus::Invalid)
    };
    let failed = all.iter().any(lapsed);
    let shown: Vec<_> = all
        .into_iter()
        .filter(|e| {
            within.is_none_or(|span| {
                lapsed(e) || e.expires.parse::<Timestamp>().is_ok_and(|t| t.duration_since(now) <= span)
            })
        })
        .collect();
    let written = match format {
        ListFormat::Json => print(&pretty(&shown)),
        ListFormat::Human => print_with(|text| output::exceptions(text, &shown, now, stdout_color())),
    };
    outcome(written, failed)
}

/// `30d`, `2w`, `12h`, `90m`: a span of days, weeks, hours or minutes.
fn parse_span(s: &str) -> Result<jiff::SignedDuration, String> {
    let bad = || format!("`{s}` is not a span like `30d`, `2w` or `12h`");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let minutes = match unit {
        "m" => 1,
        "h" => 60,
        "d" => 24 * 60,
        "w" => 7 * 24 * 60,
        _ => return Err(bad()),
    };
    Ok(jiff::SignedDuration::from_mins(n.checked_mul(minutes).ok_or_else(bad)?))
}

/// `paved export vap`: the YAML on standard output, what was left out on standard error.
fn export(policy: &str, bundles: &[PathBuf], packs: &[String], partial: bool) -> ExitCode {
    let loaded = packs.iter().try_fold(Bundle::default(), |b, p| Ok(b.merge(source::pack(p)?))).and_then(|b| {
        if bundles.is_empty() {
            Ok(b)
        } else {
            Ok(b.merge(load_bundles(bundles)?))
        }
    });
    match loaded.and_then(|b| b.export_vap(policy, partial)) {
        Ok(export) => {
            for note in &export.notes {
                eprintln!("paved: {note}");
            }
            print!("{}", export.yaml());
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

fn explain(query: &str, bundles: &[PathBuf], only: &[String]) -> ExitCode {
    let mut sources: Vec<(String, Bundle, Vec<paved::TestSuite>)> = Vec::new();
    let packs: Vec<&str> = if only.is_empty() {
        Bundle::packs().map(|p| p.name).collect()
    } else {
        only.iter().map(String::as_str).collect()
    };
    for pack in packs {
        match Bundle::pack(pack).and_then(|b| paved::TestSuite::of_pack(pack).map(|t| (b, t))) {
            Ok((b, t)) => sources.push((format!("pack {pack}"), b, t)),
            Err(e) => return fail(&e),
        }
    }
    for path in bundles {
        let loaded = Bundle::from_paths(std::slice::from_ref(path))
            .and_then(|b| paved::TestSuite::from_paths(std::slice::from_ref(path)).map(|t| (b, t)));
        match loaded {
            Ok((b, t)) => sources.push((format!("bundle {}", path.display()), b, t)),
            Err(e) => return fail(&e),
        }
    }
    // By policy name: the same policy in several packs (restricted includes baseline) is one.
    let mut found = std::collections::BTreeMap::new();
    for (origin, bundle, tests) in &sources {
        for (p, rules) in bundle.lookup(query).unwrap_or_default() {
            found.entry(p.name.clone()).or_insert((origin, p, rules, tests));
        }
    }
    let hits: Vec<_> = found.into_values().collect();
    match hits.as_slice() {
        [] => {
            let all = sources.iter().fold(Bundle::default(), |all, (_, b, _)| all.merge(b.clone()));
            let why = all.lookup(query).err().map(|e| e.to_string()).unwrap_or_default();
            usage(&format!("{why} in the built-in packs or the given bundles"))
        }
        [(origin, policy, rules, tests)] => {
            print_with(|text| output::explain(text, origin, policy, rules, tests, stdout_color()))
        }
        many => {
            let names: Vec<String> = many
                .iter()
                .flat_map(|(_, p, rules, _)| rules.iter().map(move |r| format!("{}/{}", p.name, r.id)))
                .collect();
            usage(&format!("`{query}` is a rule of several policies; name one: {}", names.join(", ")))
        }
    }
}

fn packs(format: ListFormat) -> ExitCode {
    let mut listed = Vec::new();
    for pack in Bundle::packs() {
        match Bundle::pack(pack.name) {
            Ok(b) => listed.push((pack, b.policies())),
            Err(e) => return fail(&e),
        }
    }
    match format {
        ListFormat::Json => {
            let v: Vec<_> = listed
                .iter()
                .map(|(p, policies)| serde_json::json!({"name": p.name, "description": p.description, "default": p.default, "policies": policies}))
                .collect();
            print(&pretty(&v))
        }
        ListFormat::Human => print_with(|text| output::packs(text, &listed)),
    }
}

fn schema(kind: Option<&str>) -> ExitCode {
    let kinds: Vec<&str> = match kind {
        Some(k) => vec![k],
        None => paved::KINDS.to_vec(),
    };
    let mut all = serde_json::Map::new();
    for k in &kinds {
        match paved::document_schema(k) {
            Some(s) => {
                all.insert((*k).to_owned(), s);
            }
            None => return usage(&format!("no document kind `{k}`; the kinds are: {}", paved::KINDS.join(", "))),
        }
    }
    let value = match (kind, all.values().next()) {
        (Some(_), Some(one)) => one.clone(),
        _ => serde_json::Value::Object(all),
    };
    print(&pretty(&value))
}
