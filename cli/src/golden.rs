//! `paved render`, `conform`, `upgrade` and `outdated`: golden paths from a developer's inputs
//! to manifests, and back from the manifests to where each service stands.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use paved::{Bundle, Context, Error};

use crate::check::{exceptions_at, read_resources, InventoryArgs};
use crate::{
    fail, instant, outcome, output, pretty, print, print_with, stderr_color, stdout_color, usage, EXIT_FAILED,
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
pub struct ParametersArgs {
    /// `NAME` or `NAME@RANGE`.
    golden_path: String,
    #[command(flatten)]
    bundles: Bundles,
}

#[derive(Args)]
pub struct ConformArgs {
    /// Files or directories of live manifests (`kubectl get -o yaml`, or the manifests in git);
    /// `-` reads standard input.
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
    /// The service's inputs, or its rendered manifests; `-` reads standard input.
    #[arg(long = "inputs", short = 'f', value_name = "FILE")]
    inputs: String,
    /// The versions to upgrade to (semver range); the highest is used.
    #[arg(long, default_value = "*")]
    to: String,
    /// Write the migrated inputs to this file (it may be the --inputs file).
    #[arg(long, value_name = "FILE")]
    write: Option<PathBuf>,
    #[command(flatten)]
    bundles: Bundles,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
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
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
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
            bundle = bundle.merge(Bundle::from_paths(std::slice::from_ref(b))?);
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
fn failed(e: &Error) -> ExitCode {
    let Error::NonCompliant { golden_path, report } = e else { return fail(e) };
    let _ = writeln!(std::io::stderr(), "error: {golden_path} rendered manifests its own policies deny:\n");
    let mut text = Vec::new();
    let _ = output::human(&mut text, report, stderr_color());
    let _ = std::io::stderr().write_all(&text);
    ExitCode::from(EXIT_FAILED)
}

/// The golden paths, and the name and text of the file of inputs.
fn load(bundles: &Bundles, inputs: &str) -> Result<(Bundle, String, String), ExitCode> {
    let bundle = bundles.load().map_err(|e| fail(&e))?;
    let (file, text) = read_text(inputs)?;
    Ok((bundle, file, text))
}

/// A golden path's inputs as Backstage software-template parameters: one form page whose
/// JSON Schema is the golden path's own, so the form never drifts from what renders.
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
    let ctx = match instant(args.now.as_deref()) {
        Ok(now) => Context::at(now),
        Err(e) => return usage(&e),
    };
    let ctx = match args.inventory.context(ctx) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let loaded =
        args.bundles.load().and_then(|b| args.exceptions.iter().try_fold(b, |b, e| Ok(b.merge(exceptions_at(e)?))));
    let (bundle, resources) = match loaded.and_then(|b| read_resources(&args.paths).map(|r| (b, r))) {
        Ok(x) => x,
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
    let (bundle, file, text) = match load(&args.bundles, &args.inputs) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let (from, inputs) = match paved::GoldenPath::inputs_of(&file, &text, args.from.as_deref()) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    let upgrade = match paved::GoldenPath::upgrade(&bundle, &from, &inputs, &args.to) {
        Ok(u) => u,
        Err(e) => return failed(&e),
    };
    if let Some(path) = &args.write {
        if let Err(e) = std::fs::write(path, paved::to_yaml(&upgrade.inputs)) {
            return usage(&format!("cannot write {}: {e}", path.display()));
        }
    }
    match args.format {
        Format::Json => print(&pretty(&upgrade)),
        Format::Human => print_with(|out| output::upgrade(out, &upgrade, stdout_color())),
    }
}

pub fn outdated(args: OutdatedArgs) -> ExitCode {
    let now = match instant(args.now.as_deref()) {
        Ok(now) => now,
        Err(e) => return usage(&e),
    };
    let (bundle, resources) = match args.bundles.load().and_then(|b| read_resources(&args.paths).map(|r| (b, r))) {
        Ok(x) => x,
        Err(e) => return fail(&e),
    };
    let fleet = paved::GoldenPath::outdated(&bundle, &resources, now);
    let written = match args.format {
        Format::Json => print(&pretty(&fleet)),
        Format::Human => print_with(|out| output::fleet(out, &fleet, stdout_color())),
    };
    outcome(written, fleet.summary.sunset > 0 || fleet.summary.unknown > 0)
}
