//! `paved check`: read manifests, evaluate them in parallel, write the report in a format.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use paved::{Bundle, Context, Decision, Engine, Error, Operation, Resource};

use crate::{fail, instant, outcome, print, usage};

#[derive(clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    manifests: ManifestArgs,
    #[command(flatten)]
    engine: EngineArgs,
    /// The instant exceptions are judged at (RFC 3339); defaults to the current time.
    #[arg(long)]
    now: Option<String>,
    /// The admission operation plain manifests are judged for (a captured AdmissionReview or
    /// AdmissionRequest is judged for its own).
    #[arg(long, value_enum, default_value_t = OperationArg::Create)]
    operation: OperationArg,
    /// The namespace manifests without `metadata.namespace` are applied into, as
    /// `kubectl apply -n` (default: `default`).
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    namespace: Option<String>,
    #[command(flatten)]
    inventory: InventoryArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// What fails the run (exit status 1): a denial, a warning or worse, a check known only
    /// after apply (a Terraform plan's unknown) or a denial, or nothing; several with commas
    /// (`--fail-on warn,unknown`).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "deny")]
    fail_on: Vec<FailOn>,
    /// Judge `verifyImages` rules by the verdicts in FILE (written by --record-image-verdicts)
    /// instead of asking registries: a CI decision replayed offline, identically.
    #[arg(long, value_name = "FILE")]
    image_verdicts: Option<PathBuf>,
    /// Write the verdicts on images this run judged (asked of registries, or replayed) to FILE.
    #[arg(long, value_name = "FILE")]
    record_image_verdicts: Option<PathBuf>,
}

/// The manifests to read: the flags `paved check` and `paved fix` share.
#[derive(clap::Args)]
pub struct ManifestArgs {
    /// Files or directories of manifests (YAML or JSON, multi-document, `List`s unpacked);
    /// `-` reads standard input.
    #[arg(required = true)]
    paths: Vec<String>,
    /// The file standard input came from, named in findings and reports instead of `<stdin>`
    /// (`kustomize build overlays/prod | paved check --stdin-filename overlays/prod -`).
    #[arg(long = "stdin-filename", value_name = "PATH")]
    stdin_filename: Option<String>,
    /// Leave out what this gitignore pattern names in the directories given (repeatable:
    /// `--exclude '*.inputs.yaml' --exclude services/`); a `.pavedignore` file in a directory
    /// does the same for its tree. A file named on the command line is always read.
    #[arg(long = "exclude", value_name = "GLOB")]
    exclude: Vec<String>,
}

impl ManifestArgs {
    /// The manifests, in the order given.
    pub fn read(&self) -> Result<Vec<Resource>, Error> {
        read_resources(&self.paths, self.stdin_filename.as_deref(), &self.exclude)
    }
}

/// What the engine is built from: the flags `paved check` and `paved serve` share.
#[derive(clap::Args, Clone, Default)]
pub struct EngineArgs {
    /// A directory or file of policies, exceptions and settings (repeatable; later ones override
    /// policies of the same name).
    #[arg(long = "bundle", short = 'b')]
    pub bundles: Vec<PathBuf>,
    /// A built-in pack to run (repeatable); see `paved packs`.
    #[arg(long = "pack", short = 'p')]
    pub packs: Vec<String>,
    /// A directory or file of PolicyExceptions (repeatable).
    #[arg(long = "exceptions", short = 'e')]
    exceptions: Vec<PathBuf>,
    /// Set a policy parameter: POLICY.PARAM=VALUE, VALUE as JSON or a plain string (repeatable).
    #[arg(long = "set", value_name = "POLICY.PARAM=VALUE")]
    sets: Vec<String>,
    /// Namespace labels for `namespaceSelector`: Namespace objects (`kubectl get ns -o yaml`) or
    /// a mapping of namespace name to labels.
    #[arg(long, value_name = "FILE")]
    namespace_labels: Vec<PathBuf>,
    /// Which code runs for a Gatekeeper template that has both: its CEL (`K8sNativeValidation`,
    /// as Gatekeeper runs it) or its Rego (to compare).
    #[arg(long, value_enum, default_value_t = GatekeeperEngine::Cel)]
    pub gatekeeper_engine: GatekeeperEngine,
}

/// The code a Gatekeeper template with both runs.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum GatekeeperEngine {
    /// Its `K8sNativeValidation` CEL, as Gatekeeper runs it.
    #[default]
    Cel,
    /// Its Rego.
    Rego,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Grouped by file and resource, coloured on a terminal.
    Human,
    /// The report contract.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// JUnit XML: a test case per resource and policy.
    Junit,
    /// GitHub Actions annotations.
    Github,
    /// A wgpolicyk8s.io/v1alpha2 PolicyReport per namespace.
    PolicyReport,
    /// GitLab's code quality report (Code Climate issues).
    CodeQuality,
}

#[derive(Clone, Copy, ValueEnum)]
#[value(rename_all = "UPPER")]
enum OperationArg {
    Create,
    Update,
    Delete,
    Connect,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Fail when something is denied.
    Deny,
    /// Fail when something is denied or warned about.
    Warn,
    /// Fail when something is denied or a check is known only after apply.
    Unknown,
    /// Never fail on findings (errors still exit 2).
    Never,
}

pub fn run(args: CheckArgs) -> ExitCode {
    let mut ctx = match instant(args.now.as_deref()) {
        Ok(now) => Context::at(now).operation(match args.operation {
            OperationArg::Create => Operation::Create,
            OperationArg::Update => Operation::Update,
            OperationArg::Delete => Operation::Delete,
            OperationArg::Connect => Operation::Connect,
        }),
        Err(e) => return usage(&e),
    };
    if let Some(ns) = &args.namespace {
        ctx = ctx.namespace(ns);
    }
    ctx = match args.engine.context(ctx).and_then(|c| args.inventory.context(c)) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let engine = match args.engine.engine() {
        Ok(e) => e,
        Err(e) => return fail(&e),
    };
    let resources = match args.manifests.read() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let requests = engine.image_requests(&resources);
    if !requests.is_empty() || args.record_image_verdicts.is_some() {
        let verdicts = crate::source::image_verdicts(&requests, args.image_verdicts.as_deref());
        let recorded = verdicts.and_then(|v| match &args.record_image_verdicts {
            Some(file) => crate::source::record_image_verdicts(&v, file).map(|()| v),
            None => Ok(v),
        });
        match recorded {
            Ok(v) => ctx = ctx.images(v),
            Err(e) => return fail(&e),
        }
    }
    let mut report = evaluate(&engine, &resources, &ctx);
    // The machine formats carry what the mutations change in the files, as fixes.
    if matches!(args.format, Format::Sarif | Format::Json) && !report.patches.is_empty() {
        let read = |f: &str| std::fs::read_to_string(f).map_err(|source| Error::Io { path: f.into(), source });
        match paved::golden::fixes(&report, &resources, &read) {
            Ok(fixes) => report.fixes = fixes,
            Err(e) => return fail(&e),
        }
    }
    drop(resources);
    let text = match args.format {
        Format::Human => report.human(crate::stdout_color()),
        Format::Json => report.format(paved::Format::Json),
        Format::Sarif => report.format(paved::Format::Sarif),
        Format::Junit => report.format(paved::Format::Junit),
        Format::Github => report.format(paved::Format::Github),
        Format::PolicyReport => report.format(paved::Format::PolicyReport),
        Format::CodeQuality => report.format(paved::Format::CodeQuality),
    };
    finish(print(&text), &report, &args.fail_on)
}

/// The flags that give an inventory: `paved check`, `render` and `conform` share them.
#[derive(clap::Args, Clone, Default)]
pub struct InventoryArgs {
    /// Other objects policies may look up (`inventory` in CEL) besides the checked ones, which
    /// are always in it: files or directories, such as `kubectl get -A -o yaml` of a live
    /// cluster (repeatable).
    #[arg(long = "inventory", value_name = "PATH")]
    inventory: Vec<PathBuf>,
    /// Says the checked manifests and the --inventory hold every object of these namespaces
    /// (`--inventory-complete=shop,billing`), or of every namespace when given no value: rules
    /// may then deny what is missing. Without it, a missing object may be out of view and is
    /// not denied. The namespaces follow an `=`, so a path after the flag stays a path.
    #[arg(
        long = "inventory-complete",
        value_name = "NAMESPACES",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "*",
        value_delimiter = ','
    )]
    inventory_complete: Vec<String>,
}

impl InventoryArgs {
    /// The inventory the flags give, if any.
    pub fn load(&self) -> Result<Option<paved::Inventory>, Error> {
        let (paths, complete) = (&self.inventory, &self.inventory_complete);
        if paths.is_empty() && complete.is_empty() {
            return Ok(None);
        }
        let inventory = if paths.is_empty() { paved::Inventory::default() } else { paved::Inventory::read(paths)? };
        Ok(Some(if complete.iter().any(|n| n == "*") {
            inventory.complete_all()
        } else {
            inventory.complete_namespaces(complete.iter().map(|n| n.trim()).filter(|n| !n.is_empty()))
        }))
    }

    /// `ctx` with the inventory.
    pub fn context(&self, ctx: Context) -> Result<Context, Error> {
        Ok(match self.load()? {
            Some(i) => ctx.inventory(i),
            None => ctx,
        })
    }
}

/// The exit status: 1 when the report fails at the `--fail-on` threshold.
fn finish(written: ExitCode, report: &paved::Report, fail_on: &[FailOn]) -> ExitCode {
    let failed = fail_on.iter().any(|f| match f {
        FailOn::Deny => report.decision == Decision::Deny,
        FailOn::Warn => report.decision >= Decision::Warn,
        FailOn::Unknown => report.decision == Decision::Deny || report.summary.unknown > 0,
        FailOn::Never => false,
    });
    outcome(written, failed)
}

impl EngineArgs {
    /// The packs (the defaults when no bundle or pack is named), then the bundles, then the
    /// exceptions, with the `--set` params.
    pub fn engine(&self) -> Result<Engine, Error> {
        let mut builder = Engine::builder();
        if self.packs.is_empty() && self.bundles.is_empty() {
            builder = builder.bundle(Bundle::defaults()?);
        }
        for name in &self.packs {
            builder = builder.bundle(crate::source::pack(name)?);
        }
        if let Some(dir) = crate::plugin::cache_dir() {
            builder = builder.plugin_cache(dir);
        }
        for b in &self.bundles {
            builder = builder.bundle(crate::source::bundle(b)?);
        }
        for e in &self.exceptions {
            builder = builder.bundle(exceptions_at(e)?);
        }
        for set in &self.sets {
            builder = builder.assign(set);
        }
        if self.gatekeeper_engine == GatekeeperEngine::Rego {
            builder = builder.gatekeeper_rego();
        }
        // Only a param can make the build an input error.
        builder.build().map_err(|e| match e {
            Error::Input { reason } => Error::Input { reason: format!("--set {reason}") },
            other => other,
        })
    }

    /// What drift is measured against: the built-in golden paths, with the bundles' and the
    /// exceptions merged over them.
    pub fn golden(&self) -> Result<Bundle, Error> {
        let mut bundle = Bundle::golden_paths_builtin()?;
        for b in &self.bundles {
            bundle = bundle.merge(crate::source::bundle(b)?);
        }
        self.exceptions.iter().try_fold(bundle, |b, e| Ok(b.merge(exceptions_at(e)?)))
    }

    /// `ctx` with the `--namespace-labels`.
    pub fn context(&self, mut ctx: Context) -> Result<Context, Error> {
        if !self.namespace_labels.is_empty() {
            ctx = ctx.read_namespaces(&self.namespace_labels)?;
        }
        Ok(ctx)
    }

    /// The files the engine and context are read from.
    #[cfg(feature = "serve")]
    pub fn files(&self) -> Vec<PathBuf> {
        let on_disk = |p: &&PathBuf| !p.to_string_lossy().starts_with("oci://");
        self.bundles.iter().filter(on_disk).chain(&self.exceptions).chain(&self.namespace_labels).cloned().collect()
    }
}

/// The PolicyExceptions at `path`; a policy there is an error that points at it.
pub(crate) fn exceptions_at(path: &std::path::Path) -> Result<Bundle, Error> {
    Bundle::exceptions_from_paths(&[path])
}

/// Evaluates, showing a progress bar on a terminal when it takes more than a moment.
#[cfg(not(target_arch = "wasm32"))]
fn evaluate(engine: &Engine, resources: &[Resource], ctx: &Context) -> paved::Report {
    use std::io::IsTerminal;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

    if !std::io::stderr().is_terminal() {
        return engine.evaluate(resources, ctx);
    }
    let bar = ProgressBar::with_draw_target(Some(resources.len() as u64), ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template("{spinner} checking {pos}/{len} resources {wide_bar} {eta}") {
        bar.set_style(style);
    }
    let start = Instant::now();
    let shown = AtomicBool::new(false);
    let report = engine.evaluate_observed(resources, ctx, &|| {
        bar.inc(1);
        if start.elapsed() > Duration::from_millis(300) && !shown.swap(true, Ordering::Relaxed) {
            bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    });
    bar.finish_and_clear();
    report
}

/// Evaluates (the WebAssembly build draws no progress bar).
#[cfg(target_arch = "wasm32")]
fn evaluate(engine: &Engine, resources: &[Resource], ctx: &Context) -> paved::Report {
    engine.evaluate(resources, ctx)
}

/// Reads every path (`-` standard input, named `stdin_name` or `<stdin>`); all problems of all
/// files are reported together. A path under the working directory is read by its relative
/// name, so reports (SARIF's repository-relative URIs) name it the same however it was given.
pub(crate) fn read_resources(
    paths: &[String],
    stdin_name: Option<&str>,
    exclude: &[String],
) -> Result<Vec<Resource>, Error> {
    let mut out = Vec::new();
    let mut problems = paved::Diagnostics::default();
    let here = std::env::current_dir().ok();
    for p in paths {
        let read = if p == "-" {
            let name = stdin_name.unwrap_or("<stdin>");
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|source| Error::Io { path: PathBuf::from(name), source })?;
            Resource::from_bytes(name, &bytes)
        } else {
            let path = PathBuf::from(p);
            let relative =
                here.as_deref().and_then(|h| path.strip_prefix(h).ok()).filter(|r| !r.as_os_str().is_empty());
            Resource::from_paths_excluding(&[relative.map_or(path.clone(), PathBuf::from)], exclude)
        };
        match read {
            Ok(mut rs) => out.append(&mut rs),
            Err(Error::Invalid(d)) => problems.0.extend(d.0),
            Err(e) => return Err(e),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::Invalid(problems))
    }
}
