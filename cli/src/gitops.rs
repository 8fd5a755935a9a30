//! `paved generate`: what a GitOps tool applies for an application's directory (a golden path
//! rendered from the directory's inputs, with the directory's own manifests), checked, and
//! printed the same, byte for byte, on every run and machine; or refused with paved's report.
//! Argo CD's config management plugin runs it (`integrations/argocd/plugin.yaml`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use paved::golden::InputSet;
use paved::{Bundle, Context, Decision, Resource};
use serde_json::Value;

use crate::check::EngineArgs;
use crate::{fail, instant, print, usage, EXIT_ERROR, EXIT_FAILED};

#[derive(Args)]
pub struct GenerateArgs {
    /// The application's directory (default: the working directory, where Argo CD runs its
    /// plugins).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Render this golden path (`NAME@RANGE`) from the directory's inputs file; without it, the
    /// directory's manifests alone are checked and printed.
    #[arg(long, env = "ARGOCD_ENV_GOLDEN_PATH", value_name = "NAME@RANGE")]
    golden_path: Option<String>,
    /// The inputs file, in the directory.
    #[arg(long, short = 'f', env = "ARGOCD_ENV_INPUTS", default_value = "inputs.yaml", value_name = "FILE")]
    inputs: PathBuf,
    /// Set an input over the file's, PATH=VALUE: PATH dotted (`scaling.min=3`), VALUE read as the
    /// golden path's schema types it (repeatable). Argo CD's parameters (`ARGOCD_APP_PARAMETERS`)
    /// are read as these, and `ARGOCD_APP_NAME` and `ARGOCD_APP_NAMESPACE` give `name` and
    /// `namespace` where the inputs do not.
    #[arg(long = "input", value_name = "PATH=VALUE")]
    input: Vec<String>,
    /// The platform's bundles: policies, exceptions, golden paths, directories or `oci://`
    /// references (repeatable; comma-separated in the variable). Without one, the default packs
    /// judge.
    #[arg(long = "bundle", short = 'b', env = "PAVED_BUNDLE", value_delimiter = ',')]
    bundles: Vec<PathBuf>,
    /// A built-in pack to run as well (repeatable; comma-separated in the variable).
    #[arg(long = "pack", short = 'p', env = "PAVED_PACKS", value_delimiter = ',')]
    packs: Vec<String>,
    /// The instant exceptions are judged at (RFC 3339); defaults to the current time.
    #[arg(long)]
    now: Option<String>,
    /// Print the golden path's inputs as Argo CD parameter announcements (JSON) instead, for
    /// plugin.yaml's `parameters.dynamic`: the Application's form in Argo CD's UI.
    #[arg(long)]
    announce: bool,
    /// Give up after this long (`80s`, `2m`), saying so on standard error, before whatever runs
    /// paved kills it without a word (Argo CD's repo server, at its exec timeout).
    #[arg(long, env = "PAVED_TIMEOUT", value_name = "DURATION", value_parser = duration)]
    timeout: Option<std::time::Duration>,
}

fn duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("`{text}` is not a duration like 80s, 2m or 1m30s");
    let d: jiff::SignedDuration = text.parse().map_err(|_| bad())?;
    std::time::Duration::try_from(d).map_err(|_| bad())
}

pub fn generate(args: GenerateArgs) -> ExitCode {
    if let Some(limit) = args.timeout {
        watchdog(limit);
    }
    let mut engine = EngineArgs::default();
    engine.bundles.clone_from(&args.bundles);
    engine.packs.clone_from(&args.packs);
    if args.announce {
        return announce(&args, &engine);
    }
    let ctx = match instant(args.now.as_deref()) {
        Ok(now) => Context::at(now),
        Err(e) => return usage(&e),
    };
    if args.golden_path.is_none() {
        match input_sets(&args.input) {
            Ok(sets) if sets.iter().any(|s| !s.default) => {
                return usage("inputs are set (--input, Argo CD's parameters) but no golden path is named to take them (--golden-path, ARGOCD_ENV_GOLDEN_PATH)");
            }
            Err(e) => return usage(&e),
            Ok(_) => {}
        }
    }
    let mut objects = match args.golden_path.as_deref().map(|g| render(&args, &engine, g)).transpose() {
        Ok(rendered) => rendered.unwrap_or_default(),
        Err(code) => return code,
    };
    match own_manifests(&args) {
        Ok(mut own) => objects.append(&mut own),
        Err(e) => return fail(&e),
    }
    if objects.is_empty() {
        return usage(&format!(
            "{} holds no manifests and no golden path is named (ARGOCD_ENV_GOLDEN_PATH, --golden-path): \
             nothing to apply is an error, not an empty application",
            args.dir.display()
        ));
    }
    let report = match engine.engine() {
        Ok(e) => e.evaluate(&objects, &ctx),
        Err(e) => return fail(&e),
    };
    if report.decision == Decision::Deny {
        let _ = writeln!(std::io::stderr(), "error: paved denies the application's manifests; nothing is applied:\n");
        let _ = std::io::stderr().write_all(report.human(false).as_bytes());
        return ExitCode::from(EXIT_FAILED);
    }
    if report.decision == Decision::Warn {
        let _ = std::io::stderr().write_all(report.human(false).as_bytes());
    }
    let docs: Vec<String> = objects.iter().map(|r| paved::to_yaml(r.value())).collect();
    print(&docs.join("---\n"))
}

/// `--announce`: each top-level input as an Argo CD parameter announcement, its value the
/// inputs file's (else the schema's default): a scalar as a string, an object as a map of its
/// scalar properties, an array as an array; with the schema's description, and `required` where
/// the schema requires it and the file does not give it. No golden path, no parameters.
fn announce(args: &GenerateArgs, engine: &EngineArgs) -> ExitCode {
    let Some(golden_path) = args.golden_path.as_deref() else { return print("[]\n") };
    let bundle = match engine.golden() {
        Ok(b) => b,
        Err(e) => return fail(&e),
    };
    let path = match bundle.golden_path(golden_path) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let file = args.dir.join(&args.inputs);
    let given = match std::fs::read_to_string(&file) {
        Ok(text) => match paved::GoldenPath::inputs_of(&file.to_string_lossy(), &text, Some(&path.id())) {
            Ok((_, inputs)) => inputs,
            Err(e) => return fail(&e),
        },
        Err(_) => Value::Null,
    };
    let schema = path.inputs_schema();
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let mut out = Vec::new();
    for (name, input) in schema["properties"].as_object().into_iter().flatten() {
        let value = given.get(name).unwrap_or(&input["default"]);
        let mut a = serde_json::Map::new();
        a.insert("name".into(), name.as_str().into());
        a.insert("title".into(), name.as_str().into());
        a.insert("required".into(), (required.contains(&name.as_str()) && value.is_null()).into());
        if let Some(d) = input["description"].as_str() {
            a.insert("tooltip".into(), d.into());
        }
        let (collection, announced) = match input["type"].as_str() {
            Some("object") => {
                let props = input["properties"].as_object().into_iter().flatten();
                let map: serde_json::Map<String, Value> = props
                    .filter_map(|(k, p)| {
                        let v = value.get(k).unwrap_or(&p["default"]);
                        (!v.is_null()).then(|| (k.clone(), text(v).into()))
                    })
                    .collect();
                ("map", Some(Value::Object(map)))
            }
            Some("array") => {
                ("array", Some(value.as_array().into_iter().flatten().map(|i| Value::String(text(i))).collect()))
            }
            _ => ("string", (!value.is_null()).then(|| text(value).into())),
        };
        a.insert("collectionType".into(), collection.into());
        if let Some(v) = announced {
            a.insert(collection.into(), v);
        }
        out.push(Value::Object(a));
    }
    print(&format!("{}\n", Value::Array(out)))
}

/// The golden path rendered from the inputs file with the sets and Argo CD's parameters.
fn render(args: &GenerateArgs, engine: &EngineArgs, golden_path: &str) -> Result<Vec<Resource>, ExitCode> {
    let bundle: Bundle = engine.golden().map_err(|e| fail(&e))?;
    let path = bundle.golden_path(golden_path).map_err(|e| fail(&e))?;
    let file = args.dir.join(&args.inputs);
    let text = match std::fs::metadata(&file) {
        Ok(m) if m.is_file() => std::fs::read_to_string(&file),
        Ok(_) => return Err(usage(&format!("{} is not a regular file", file.display()))),
        Err(e) => Err(e),
    }
    .map_err(|e| usage(&format!("cannot read the inputs {}: {e}", file.display())))?;
    let sets = input_sets(&args.input).map_err(|e| usage(&e))?;
    let shown = file.strip_prefix(".").unwrap_or(&file).to_string_lossy();
    match path.render_text_set(&shown, &text, &sets, &bundle) {
        Ok(r) => Ok(r.manifests.into_iter().map(Resource::new).collect()),
        Err(e) => Err(crate::golden::failed(&e)),
    }
}

/// `--input`s, then Argo CD's: the application's name and namespace as defaults, its
/// parameters as sets (a map parameter sets each key under its name).
fn input_sets(flags: &[String]) -> Result<Vec<InputSet>, String> {
    let mut sets = Vec::new();
    for var in ["NAME", "NAMESPACE"] {
        if let Some(v) = std::env::var(format!("ARGOCD_APP_{var}")).ok().filter(|v| !v.is_empty()) {
            sets.push(InputSet::default(var.to_lowercase(), v));
        }
    }
    if let Ok(json) = std::env::var("ARGOCD_APP_PARAMETERS") {
        sets.extend(parameters(&json)?);
    }
    for flag in flags {
        let (path, value) = flag.split_once('=').ok_or_else(|| format!("--input {flag}: expected PATH=VALUE"))?;
        sets.push(InputSet::new(path, value));
    }
    Ok(sets)
}

/// Argo CD's `ARGOCD_APP_PARAMETERS`: `[{name, string | array | map}]`.
fn parameters(json: &str) -> Result<Vec<InputSet>, String> {
    let bad = |why: &str| format!("ARGOCD_APP_PARAMETERS: {why}");
    let list: Vec<Value> = serde_json::from_str(json).map_err(|e| bad(&e.to_string()))?;
    let mut sets = Vec::new();
    for p in &list {
        let name = p.get("name").and_then(Value::as_str).ok_or_else(|| bad("a parameter without a `name`"))?;
        if let Some(s) = p.get("string").and_then(Value::as_str) {
            sets.push(InputSet::new(name, s));
        } else if let Some(items) = p.get("array") {
            sets.push(InputSet::new(name, items.to_string()));
        } else if let Some(Value::Object(map)) = p.get("map") {
            for (k, v) in map {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                sets.push(InputSet::new(format!("{name}.{k}"), text));
            }
        }
    }
    Ok(sets)
}

/// The directory's manifests besides the inputs file, in path order.
fn own_manifests(args: &GenerateArgs) -> Result<Vec<Resource>, paved::Error> {
    if !args.dir.is_dir() {
        return Err(paved::Error::Input { reason: format!("{} is not a directory", args.dir.display()) });
    }
    let inputs = format!("/{}", args.inputs.to_string_lossy().trim_start_matches("./"));
    let exclude = if args.golden_path.is_some() { vec![inputs] } else { Vec::new() };
    Resource::from_paths_excluding(&[args.dir.as_path()], &exclude)
}

/// Ends the process after `limit` with a message, from a thread of its own: a render that
/// hangs (a registry that never answers) fails with a reason rather than a kill.
fn watchdog(limit: std::time::Duration) {
    let started = std::thread::Builder::new().name("timeout".into()).spawn(move || {
        std::thread::sleep(limit);
        let _ = writeln!(
            std::io::stderr(),
            "error: paved generate did not finish within {limit:?} (--timeout, PAVED_TIMEOUT); nothing is applied"
        );
        std::process::exit(i32::from(EXIT_ERROR));
    });
    if started.is_err() {
        let _ = writeln!(std::io::stderr(), "warning: --timeout is not kept here: no thread can watch it");
    }
}
