//! `paved plugin inspect`: what a WASM plugin is, its sha256 to pin, and how long it took to
//! load (a compile, or the compiled-code cache).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use paved::plugin::{Limits, Plugin};

use crate::{pretty, print, print_with, usage, ListFormat};

#[derive(clap::Args)]
pub struct InspectArgs {
    /// The plugin component (`.wasm`).
    path: PathBuf,
    /// Do not use the compiled-code cache ($PAVED_CACHE_DIR, else ~/.cache/paved/plugins).
    #[arg(long)]
    no_cache: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    format: ListFormat,
}

pub fn inspect(args: InspectArgs) -> ExitCode {
    let name = args.path.file_stem().map_or_else(|| "plugin".into(), |s| s.to_string_lossy().replace('_', "-"));
    let mut loader = Plugin::loader(&name);
    if args.no_cache {
        loader = loader.cache_dir(None);
    }
    let started = Instant::now();
    let plugin = match loader.file(&args.path) {
        Ok(p) => p,
        Err(e) => return usage(&e.to_string()),
    };
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let how = if plugin.from_cache() { "loaded from the compiled-code cache" } else { "compiled" };
    let m = plugin.metadata();
    match args.format {
        ListFormat::Json => print(&pretty(&serde_json::json!({
            "path": args.path,
            "sha256": plugin.sha256(),
            "contract": paved::plugin::CONTRACT,
            "metadata": m,
            "load": { "fromCache": plugin.from_cache(), "millis": millis },
        }))),
        ListFormat::Human => print_with(|out| {
            use std::io::Write;
            let limits = Limits::default();
            writeln!(out, "{} {} — {}", m.name, m.version, m.description)?;
            writeln!(out, "  sha256:   {}", plugin.sha256())?;
            writeln!(out, "  contract: {}", paved::plugin::CONTRACT.unwrap_or("none"))?;
            writeln!(out, "  load:     {how} in {millis:.1} ms")?;
            writeln!(out, "  rules:")?;
            for (id, description) in &m.rules {
                writeln!(out, "    {id}: {description}")?;
            }
            writeln!(out, "  params schema: {}", m.params_schema)?;
            writeln!(out, "\nPin it in a Bundle (limits shown are the defaults):")?;
            writeln!(out, "  plugins:")?;
            writeln!(out, "    - name: {}", m.name)?;
            writeln!(out, "      path: {}", args.path.display())?;
            writeln!(out, "      sha256: \"{}\"", plugin.sha256())?;
            writeln!(
                out,
                "      limits: {{ fuel: {}, memory: {}Mi, output: {}Ki }}",
                limits.fuel,
                limits.memory >> 20,
                limits.output >> 10
            )
        }),
    }
}
