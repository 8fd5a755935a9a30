//! `paved`: check resources against policies, from a terminal or CI. Parses arguments, calls
//! the `paved` library, and writes what it returns.

mod output;

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use paved::{Bundle, Context, Engine, Error, Resource, Timestamp};

/// Exit codes: 0 nothing denied, 1 something denied, 2 a usage, load or input error.
const EXIT_DENIED: u8 = 1;
const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(name = "paved", version, about = "Policy and golden-path engine for platform teams")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check manifests against policies and exceptions.
    ///
    /// Examples:
    ///   paved check --bundle policies/ manifests/
    ///   helm template chart | paved check --bundle policies/ -
    ///   paved check --bundle policies/ --format json --now 2026-06-01T00:00:00Z app.yaml
    ///   paved check --pack pod-security-restricted --set pod-security-restricted.kubernetesVersion=v1.30 k8s/
    ///
    /// Without --bundle and --pack, the built-in packs pod-security-baseline and
    /// platform-baseline run.
    Check(CheckArgs),
    /// List the built-in policy packs, their policies and rules.
    Packs {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Print the JSON Schema of a paved document kind (Policy, PolicyException, Bundle), for editors.
    Schema {
        /// The kind; all kinds when omitted.
        kind: Option<String>,
    },
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Files or directories of manifests (YAML or JSON, multi-document); `-` reads standard input.
    #[arg(required = true)]
    paths: Vec<String>,
    /// A directory or file of policies, exceptions and settings (repeatable; later ones override
    /// policies of the same name).
    #[arg(long = "bundle", short = 'b')]
    bundles: Vec<PathBuf>,
    /// A built-in pack to run (repeatable); see `paved packs`.
    #[arg(long = "pack", short = 'p')]
    packs: Vec<String>,
    /// Set a policy parameter: POLICY.PARAM=VALUE, VALUE as JSON or a plain string (repeatable).
    #[arg(long = "set", value_name = "POLICY.PARAM=VALUE")]
    sets: Vec<String>,
    /// The instant exceptions are judged at (RFC 3339); defaults to the current time.
    #[arg(long)]
    now: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Grouped by resource, coloured on a terminal.
    Human,
    /// The report contract.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check(args),
        Command::Packs { format } => packs(format),
        Command::Schema { kind } => schema(kind.as_deref()),
    }
}

fn check(args: CheckArgs) -> ExitCode {
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let fail = |e: Error| {
        output::error(&e, std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none());
        ExitCode::from(EXIT_ERROR)
    };
    let now = match args.now.as_deref().map(paved::parse_instant) {
        None => Timestamp::now(),
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            eprintln!("error: --now: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let mut ctx = Context::at(now);
    for set in &args.sets {
        match parse_set(set) {
            Ok((policy, param, value)) => {
                let entry = ctx.params.entry(policy).or_insert_with(|| serde_json::json!({}));
                if let Some(m) = entry.as_object_mut() {
                    m.insert(param, value);
                }
            }
            Err(e) => {
                eprintln!("error: --set {set}: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    let mut builder = Engine::builder();
    let packs: Vec<&str> = if args.packs.is_empty() && args.bundles.is_empty() {
        paved::DEFAULT_PACKS.to_vec()
    } else {
        args.packs.iter().map(String::as_str).collect()
    };
    for name in packs {
        match paved::Pack::named(name).and_then(|p| p.bundle()) {
            Ok(bundle) => builder = builder.bundle(bundle),
            Err(e) => return fail(e),
        }
    }
    for b in &args.bundles {
        match Bundle::from_paths(std::slice::from_ref(b)) {
            Ok(bundle) => builder = builder.bundle(bundle),
            Err(e) => return fail(e),
        }
    }
    let engine = match builder.build() {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let resources = match read_resources(&args.paths) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let unknown: Vec<&String> = ctx.params.keys().filter(|p| !engine.policy_names().any(|n| n == p.as_str())).collect();
    if let Some(p) = unknown.first() {
        eprintln!(
            "error: --set names policy `{p}`, which is not loaded; the policies are: {}",
            engine.policy_names().collect::<Vec<_>>().join(", ")
        );
        return ExitCode::from(EXIT_ERROR);
    }
    let report = engine.evaluate(&resources, &ctx);
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        Format::Json => writeln!(out, "{}", report.to_json()),
        Format::Human => output::human(&mut out, &report, color),
    };
    if written.is_err() {
        return ExitCode::from(EXIT_ERROR);
    }
    if report.decision == paved::Decision::Deny {
        ExitCode::from(EXIT_DENIED)
    } else {
        ExitCode::SUCCESS
    }
}

/// Reads every path; all problems of all files are reported together.
fn read_resources(paths: &[String]) -> Result<Vec<Resource>, Error> {
    let mut out = Vec::new();
    let mut problems = paved::Diagnostics::default();
    let mut collect = |r: Result<Vec<Resource>, Error>| -> Result<(), Error> {
        match r {
            Ok(mut rs) => out.append(&mut rs),
            Err(Error::Invalid(d)) => problems.0.extend(d.0),
            Err(e) => return Err(e),
        }
        Ok(())
    };
    for p in paths {
        if p == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|source| Error::Io { path: PathBuf::from("<stdin>"), source })?;
            collect(Resource::from_bytes("<stdin>", &bytes))?;
        } else {
            collect(Resource::from_paths(&[PathBuf::from(p)]))?;
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(Error::Invalid(problems))
    }
}

/// Splits `policy.param=value`; the value is JSON when it parses as JSON, else a string.
fn parse_set(s: &str) -> Result<(String, String, serde_json::Value), String> {
    let (key, value) = s.split_once('=').ok_or("expected POLICY.PARAM=VALUE")?;
    let (policy, param) = key.split_once('.').ok_or("expected POLICY.PARAM before `=`")?;
    if policy.is_empty() || param.is_empty() {
        return Err("expected POLICY.PARAM before `=`".into());
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
    Ok((policy.to_owned(), param.to_owned(), value))
}

fn packs(format: Format) -> ExitCode {
    let mut listed = Vec::new();
    for pack in paved::PACKS {
        match pack.bundle() {
            Ok(b) => listed.push((pack, b.policies())),
            Err(e) => {
                output::error(&e, false);
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let written = match format {
        Format::Json => {
            let v: Vec<_> = listed
                .iter()
                .map(|(p, policies)| serde_json::json!({"name": p.name, "description": p.description, "default": paved::DEFAULT_PACKS.contains(&p.name), "policies": policies}))
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&v).unwrap_or_default())
        }
        Format::Human => output::packs(&mut out, &listed),
    };
    if written.is_err() {
        return ExitCode::from(EXIT_ERROR);
    }
    ExitCode::SUCCESS
}

fn schema(kind: Option<&str>) -> ExitCode {
    let kinds: Vec<&str> = match kind {
        Some(k) => vec![k],
        None => paved::model::KINDS.to_vec(),
    };
    let mut all = serde_json::Map::new();
    for k in &kinds {
        match paved::model::json_schema(k) {
            Some(s) => {
                all.insert((*k).to_owned(), s);
            }
            None => {
                eprintln!("error: no document kind `{k}`; the kinds are: {}", paved::model::KINDS.join(", "));
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    let value = match (kind, all.values().next()) {
        (Some(_), Some(one)) => one.clone(),
        _ => serde_json::Value::Object(all),
    };
    println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
    ExitCode::SUCCESS
}
