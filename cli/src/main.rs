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
    Check(CheckArgs),
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
    let mut builder = Engine::builder();
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
    let report = engine.evaluate(&resources, &Context::at(now));
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
