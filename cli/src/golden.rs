//! `paved render`, `conform`, `upgrade` and `outdated`: golden paths from a developer's inputs
//! to manifests, and back from the manifests to where each service stands.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use paved::{golden, Bundle, Context, Error};

use crate::check::{exceptions_at, read_resources, InventoryArgs};
use crate::{
    fail, instant, outcome, output, pretty, print, print_with, stderr_color, stdout_color, usage, ListFormat,
    EXIT_FAILED,
};

#[derive(Args)]
pub struct RenderArgs {
    /// `NAME` or `NAME@RANGE` (semver, e.g. `^1`, `>=1.2, <3`).
    golden_path: String,
    /// The inputs (YAML or JSON); `-` reads standard input.
    #[arg(long = "inputs", short = 'f', value_name = "FILE")]
    inputs: String,
    #[command(flatten)]
    bundles: Bundles,
    #[command(flatten)]
    inventory: InventoryArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RenderFormat::Yaml)]
    format: RenderFormat,
}

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    bundles: Bundles,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
}

#[derive(Args)]
pub struct ParametersArgs {
    /// `NAME` or `NAME@RANGE`.
    golden_path: String,
    #[command(flatten)]
    bundles: Bundles,
}

#[derive(Args)]
pub struct ConformArgs {
    #[command(flatten)]
    fleet: FleetArgs,
    #[command(flatten)]
    inventory: InventoryArgs,
    /// Also list the changes extension points allow.
    #[arg(long)]
    verbose: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Args)]
pub struct UpgradeArgs {
    /// `NAME@VERSION` the service is on; not needed when --inputs holds rendered manifests
    /// (their annotations say).
    from: Option<String>,
    /// The service's inputs, or its manifests (as rendered, then changed by its team: a
    /// three-way upgrade); `-` reads standard input.
    #[arg(long = "inputs", short = 'f', value_name = "FILE", required_unless_present = "all")]
    inputs: Option<String>,
    /// Upgrade every service found in these files or directories of manifests.
    #[arg(long, value_name = "PATH", num_args = 1.., conflicts_with_all = ["from", "inputs"])]
    all: Vec<String>,
    /// The versions to upgrade to (semver range); the highest is used.
    #[arg(long, default_value = "*")]
    to: String,
    /// Where the team and the new version changed the same field, keep the team's value
    /// (`ours`) or take the new version's (`theirs`). Without it such a field is a conflict and
    /// its service is not written.
    #[arg(long, value_enum)]
    prefer: Option<Prefer>,
    /// Write the result: manifests are rewritten in place; migrated inputs go to FILE (or back
    /// to the --inputs file).
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    write: Option<Option<PathBuf>>,
    #[command(flatten)]
    bundles: Bundles,
    /// Output format (`markdown`: a summary per team, for pull requests).
    #[arg(long, value_enum, default_value_t = UpgradeFormat::Human)]
    format: UpgradeFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum Prefer {
    /// The team's value.
    Ours,
    /// The new version's value.
    Theirs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum UpgradeFormat {
    /// For people.
    Human,
    /// For programs.
    Json,
    /// A summary per team, to paste into a pull request.
    Markdown,
}

#[derive(Args)]
pub struct OutdatedArgs {
    /// Files or directories of manifests; `-` reads standard input.
    #[arg(required = true)]
    paths: Vec<String>,
    #[command(flatten)]
    bundles: Bundles,
    /// The instant sunsets are judged at (RFC 3339); defaults to the current time.
    #[arg(long)]
    now: Option<String>,
    /// Output format (`prometheus`: metrics in the text exposition format, for a scheduled job
    /// to push to a Pushgateway).
    #[arg(long, value_enum, default_value_t = OutdatedFormat::Human)]
    format: OutdatedFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutdatedFormat {
    /// For people.
    Human,
    /// For programs.
    Json,
    /// Prometheus metrics.
    Prometheus,
}

/// The services that run, and what judges them: the arguments of `conform` and `catalog`.
#[derive(Args)]
struct FleetArgs {
    /// Files or directories of manifests or live exports (`kubectl get -o yaml`, or the
    /// manifests in git); `-` reads standard input.
    #[arg(required = true)]
    paths: Vec<String>,
    #[command(flatten)]
    bundles: Bundles,
    /// A directory or file of PolicyExceptions (repeatable).
    #[arg(long = "exceptions", short = 'e')]
    exceptions: Vec<PathBuf>,
    /// The instant exceptions and sunsets are judged at (RFC 3339); defaults to the current time.
    #[arg(long)]
    now: Option<String>,
}

impl FleetArgs {
    /// The golden paths with the exceptions, the resources, and the context at `--now`.
    fn load(&self) -> Result<(Bundle, Vec<paved::Resource>, Context), ExitCode> {
        let ctx = Context::at(instant(self.now.as_deref()).map_err(|e| usage(&e))?);
        let loaded =
            self.bundles.load().and_then(|b| self.exceptions.iter().try_fold(b, |b, e| Ok(b.merge(exceptions_at(e)?))));
        let (bundle, resources) =
            loaded.and_then(|b| read_resources(&self.paths, None, &[]).map(|r| (b, r))).map_err(|e| fail(&e))?;
        Ok((bundle, resources, ctx))
    }
}

#[derive(Args)]
pub struct CatalogArgs {
    #[command(flatten)]
    fleet: FleetArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CatalogFormat::Yaml)]
    format: CatalogFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum CatalogFormat {
    /// A `catalog-info.yaml` of entity documents.
    Yaml,
    /// A JSON array of entities.
    Json,
}

#[derive(Args)]
struct Bundles {
    /// Bundles holding more golden paths, and the policies they name (repeatable); they join
    /// the built-in golden paths.
    #[arg(long = "bundle", short = 'b')]
    bundles: Vec<PathBuf>,
}

impl Bundles {
    /// The built-in golden paths with the bundles' merged over them.
    fn load(&self) -> Result<Bundle, Error> {
        let mut bundle = Bundle::golden_paths_builtin()?;
        for b in &self.bundles {
            bundle = bundle.merge(crate::source::bundle(b)?);
        }
        Ok(bundle)
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum RenderFormat {
    /// Multi-document YAML, ready for `kubectl apply -f -`.
    Yaml,
    /// A `v1` `List`.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// For people.
    Human,
    /// For programs.
    Json,
}

/// A file's name and text; `-` is standard input.
fn read_text(path: &str) -> Result<(String, String), ExitCode> {
    if path == "-" {
        let mut text = String::new();
        return match std::io::stdin().read_to_string(&mut text) {
            Ok(_) => Ok(("<stdin>".to_owned(), text)),
            Err(e) => Err(usage(&format!("cannot read standard input: {e}"))),
        };
    }
    std::fs::read_to_string(path).map(|t| (path.to_owned(), t)).map_err(|e| usage(&format!("cannot read {path}: {e}")))
}

/// Reports a failed render: manifests the golden path's own policies deny exit 1 with the
/// findings; any other error exits 2.
pub(crate) fn failed(e: &golden::RenderError) -> ExitCode {
    let golden::RenderError::NonCompliant { golden_path, report } = e else { return fail_render(e) };
    let _ = writeln!(std::io::stderr(), "error: {golden_path} rendered manifests its own policies deny:\n");
    let _ = std::io::stderr().write_all(report.human(stderr_color()).as_bytes());
    ExitCode::from(EXIT_FAILED)
}

/// Any other failed render: as [`fail`], exit 2.
fn fail_render(e: &golden::RenderError) -> ExitCode {
    match e {
        golden::RenderError::Invalid(e) => fail(e),
        other => fail(&Error::Input { reason: other.to_string() }),
    }
}

/// The golden paths, and the name and text of the file of inputs.
fn load(bundles: &Bundles, inputs: &str) -> Result<(Bundle, String, String), ExitCode> {
    let bundle = bundles.load().map_err(|e| fail(&e))?;
    let (file, text) = read_text(inputs)?;
    Ok((bundle, file, text))
}

/// A golden path's inputs as Backstage software-template parameters: one form page whose
/// JSON Schema is the golden path's own, so the form never drifts from what renders.
/// `paved golden-paths`: every golden path and version, built in or in the bundles, with what
/// it is for and whether it is deprecated.
pub fn list(args: ListArgs) -> ExitCode {
    let bundle = match args.bundles.load() {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let now = jiff::Timestamp::now();
    let mut paths: Vec<&paved::GoldenPath> = bundle.golden_paths().collect();
    paths.sort_by(|a, b| (a.name(), a.version()).cmp(&(b.name(), b.version())));
    match args.format {
        ListFormat::Json => {
            let list: Vec<serde_json::Value> = paths
                .iter()
                .map(|p| {
                    serde_json::json!({"name": p.name(), "version": p.version().to_string(),
                        "description": p.description(), "deprecated": p.deprecation(), "sunset": p.is_sunset(now)})
                })
                .collect();
            print(&pretty(&list))
        }
        ListFormat::Human => print_with(|out| output::golden_paths(out, &paths, now, stdout_color())),
    }
}

/// Warns on standard error when an upgrade moves to a deprecated version.
fn warn_deprecated<'u>(bundle: &Bundle, targets: impl Iterator<Item = &'u str>) {
    let now = jiff::Timestamp::now();
    let mut warned = std::collections::BTreeSet::new();
    for id in targets.filter(|id| warned.insert(*id)) {
        if let Some((path, d)) = bundle.golden_path(id).ok().and_then(|p| p.deprecation().map(|d| (p, d))) {
            let _ = writeln!(std::io::stderr(), "warning: {}", output::deprecation(id, d, path.is_sunset(now)));
        }
    }
}

pub fn parameters(args: ParametersArgs) -> ExitCode {
    let bundle = match args.bundles.load() {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let path = match bundle.golden_path(&args.golden_path) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let mut page = serde_json::Map::new();
    page.insert("title".into(), format!("{} inputs", path.name()).into());
    if let Some(d) = path.description() {
        page.insert("description".into(), d.into());
    }
    if let Some(schema) = path.inputs_schema().as_object() {
        for (key, value) in schema {
            if !matches!(key.as_str(), "$schema" | "$id" | "title" | "type") {
                page.insert(key.clone(), value.clone());
            }
        }
    }
    let header = format!(
        "# Backstage template parameters for {}, generated by `paved parameters {}`.\n",
        path.id(),
        args.golden_path
    );
    print(&(header + &paved::to_yaml(&serde_json::json!({ "parameters": [page] }))))
}

pub fn render(args: RenderArgs) -> ExitCode {
    let (bundle, file, text) = match load(&args.bundles, &args.inputs) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let path = match bundle.golden_path(&args.golden_path) {
        Ok(g) => g,
        Err(e) => return fail(&e),
    };
    if let Some(d) = path.deprecation() {
        let now = jiff::Timestamp::now();
        let _ = writeln!(std::io::stderr(), "warning: {}", output::deprecation(&path.id(), d, path.is_sunset(now)));
    }
    let rendered = match args.inventory.load() {
        Ok(Some(inventory)) => path.render_text_in(&file, &text, &bundle, &inventory),
        Ok(None) => path.render_text(&file, &text, &bundle),
        Err(e) => return fail(&e),
    };
    let rendered = match rendered {
        Ok(r) => r,
        Err(e) => return failed(&e),
    };
    match args.format {
        RenderFormat::Yaml => {
            let docs: Vec<String> = rendered.manifests.iter().map(paved::to_yaml).collect();
            print(&format!("# Rendered by paved from {}\n---\n{}", rendered.golden_path, docs.join("---\n")))
        }
        RenderFormat::Json => {
            print(&pretty(&serde_json::json!({"apiVersion": "v1", "kind": "List", "items": rendered.manifests})))
        }
    }
}

pub fn conform(args: ConformArgs) -> ExitCode {
    let (bundle, resources, ctx) = match args.fleet.load() {
        Ok(x) => x,
        Err(code) => return code,
    };
    let ctx = match args.inventory.context(ctx) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let result = paved::GoldenPath::conform(&bundle, &resources, &ctx);
    let written = match args.format {
        Format::Json => print(&pretty(&result)),
        Format::Human => print_with(|out| output::conformance(out, &result, args.verbose, stdout_color())),
    };
    outcome(written, result.summary.conforming < result.summary.services)
}

pub fn upgrade(args: UpgradeArgs) -> ExitCode {
    let prefer = args.prefer.map(|p| match p {
        Prefer::Ours => golden::Prefer::Ours,
        Prefer::Theirs => golden::Prefer::Theirs,
    });
    if !args.all.is_empty() {
        return upgrade_all(&args, prefer);
    }
    let (bundle, file, text) = match load(&args.bundles, args.inputs.as_deref().unwrap_or("-")) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // Manifests that record their golden path are upgraded by a three-way merge.
    if let Ok(objects) = paved::Resource::from_str(&file, &text) {
        let claim = format!("/metadata/annotations/{}", golden::ANNOTATION_PATH.replace('/', "~1"));
        if objects.iter().any(|o| o.value().pointer(&claim).is_some()) {
            if args.from.is_some() {
                return usage("leave out NAME@VERSION: the manifests' annotations say which version they are on");
            }
            let u = match paved::GoldenPath::upgrade_objects(&bundle, &objects, &args.to, prefer) {
                Ok(u) => u,
                Err(e) => return fail(&e),
            };
            warn_deprecated(&bundle, std::iter::once(u.upgrade.to.as_str()));
            return finish_upgrades(&args, std::slice::from_ref(&u), None);
        }
    }
    let (from, inputs) = match paved::GoldenPath::inputs_of(&file, &text, args.from.as_deref()) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    let upgrade = match paved::GoldenPath::upgrade(&bundle, &from, &inputs, &args.to) {
        Ok(u) => u,
        Err(e) => return fail(&e),
    };
    warn_deprecated(&bundle, std::iter::once(upgrade.to.as_str()));
    if let Some(target) = &args.write {
        let path = target.clone().unwrap_or_else(|| PathBuf::from(&file));
        if path.as_os_str() == "-" || file == "<stdin>" && target.is_none() {
            return usage("--write needs a FILE when the inputs come from standard input");
        }
        // The developer's comments and key order stay: only what the migration changed is edited.
        let rewritten = match golden::rewrite_inputs(&file, &text, &upgrade.inputs) {
            Ok(r) => r.text,
            Err(e) => return fail(&e),
        };
        if let Err(e) = std::fs::write(&path, rewritten) {
            return usage(&format!("cannot write {}: {e}", path.display()));
        }
    }
    match args.format {
        UpgradeFormat::Json => print(&pretty(&upgrade)),
        UpgradeFormat::Human | UpgradeFormat::Markdown => {
            print_with(|out| output::upgrade(out, &upgrade, stdout_color()))
        }
    }
}

/// `upgrade --all`: every service found, upgraded where it is clean.
fn upgrade_all(args: &UpgradeArgs, prefer: Option<golden::Prefer>) -> ExitCode {
    let (bundle, resources) =
        match args.bundles.load().and_then(|b| read_resources(&args.all, None, &[]).map(|r| (b, r))) {
            Ok(x) => x,
            Err(e) => return fail(&e),
        };
    let plan = paved::GoldenPath::upgrade_all(&bundle, &resources, &args.to, prefer);
    let upgrades: Vec<golden::ServiceUpgrade> = plan
        .services
        .iter()
        .filter_map(|s| match s {
            golden::Planned::Upgrade(u) => Some((**u).clone()),
            _ => None,
        })
        .collect();
    warn_deprecated(&bundle, upgrades.iter().map(|u| u.upgrade.to.as_str()));
    finish_upgrades(args, &upgrades, Some(&plan))
}

/// Writes the clean upgrades (with --write), prints them, and exits 1 when a conflict or a
/// refusal is left.
fn finish_upgrades(
    args: &UpgradeArgs,
    upgrades: &[golden::ServiceUpgrade],
    plan: Option<&golden::FleetUpgrade>,
) -> ExitCode {
    let mut written = Vec::new();
    if let Some(target) = &args.write {
        if let Some(path) = target {
            return usage(&format!(
                "manifests are rewritten where they are: give --write alone, not {}",
                path.display()
            ));
        }
        match write_manifests(upgrades.iter().filter(|u| u.clean())) {
            Ok(w) => written = w,
            Err(e) => return fail(&e),
        }
    }
    let open = upgrades.iter().any(|u| !u.clean()) || plan.is_some_and(|p| p.summary.refused > 0);
    let shown = match (args.format, plan) {
        (UpgradeFormat::Json, Some(plan)) => print(&pretty(plan)),
        (UpgradeFormat::Json, None) => print(&pretty(&upgrades.first())),
        (UpgradeFormat::Markdown, _) => print_with(|out| output::upgrade_summary(out, upgrades, plan)),
        (UpgradeFormat::Human, _) => print_with(|out| {
            for u in upgrades {
                output::three_way(out, u, stdout_color())?;
            }
            if let Some(plan) = plan {
                output::fleet_upgrade(out, plan, stdout_color())?;
            }
            output::written(out, &written)
        }),
    };
    outcome(shown, open)
}

/// Rewrites the files that hold the services' objects, in place; none when one cannot be.
fn write_manifests<'u>(
    upgrades: impl Iterator<Item = &'u golden::ServiceUpgrade>,
) -> Result<Vec<(String, golden::Rewrite)>, Error> {
    let read = |f: &str| std::fs::read_to_string(f).map_err(|source| Error::Io { path: PathBuf::from(f), source });
    let rewrites = golden::rewrite_upgrades(upgrades, &read)?;
    for (file, text, rewrite) in &rewrites {
        if rewrite.text != *text {
            std::fs::write(file, &rewrite.text).map_err(|source| Error::Io { path: PathBuf::from(file), source })?;
        }
    }
    Ok(rewrites.into_iter().map(|(file, _, rewrite)| (file, rewrite)).collect())
}

pub fn outdated(args: OutdatedArgs) -> ExitCode {
    let now = match instant(args.now.as_deref()) {
        Ok(now) => now,
        Err(e) => return usage(&e),
    };
    let (bundle, resources) =
        match args.bundles.load().and_then(|b| read_resources(&args.paths, None, &[]).map(|r| (b, r))) {
            Ok(x) => x,
            Err(e) => return fail(&e),
        };
    let fleet = paved::GoldenPath::outdated(&bundle, &resources, now);
    let written = match args.format {
        OutdatedFormat::Json => print(&pretty(&fleet)),
        OutdatedFormat::Human => print_with(|out| output::fleet(out, &fleet, stdout_color())),
        OutdatedFormat::Prometheus => print(&output::fleet_metrics(&fleet)),
    };
    outcome(written, fleet.summary.sunset > 0 || fleet.summary.unknown > 0)
}

pub fn catalog(args: CatalogArgs) -> ExitCode {
    let (bundle, resources, ctx) = match args.fleet.load() {
        Ok(x) => x,
        Err(code) => return code,
    };
    let entities = paved::GoldenPath::catalog(&bundle, &resources, &ctx);
    match args.format {
        CatalogFormat::Yaml => {
            let docs: Vec<String> = entities.iter().map(paved::to_yaml).collect();
            print(&format!("# Generated by `paved catalog` from the running services.\n---\n{}", docs.join("---\n")))
        }
        CatalogFormat::Json => print(&pretty(&entities)),
    }
}
