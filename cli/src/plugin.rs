//! `paved plugin inspect`: what a WASM plugin is, its sha256 to pin, and how long it took to
//! load (a compile, or the compiled-code cache).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

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

/// Where the CLI keeps compiled plugins: `$PAVED_CACHE_DIR` (empty: no cache), else
/// `$XDG_CACHE_HOME/paved/plugins`, else `$HOME/.cache/paved/plugins`. The library keeps none
/// unless asked; the CLI asks.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PAVED_CACHE_DIR") {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("paved").join("plugins"))
}

/// Where the CLI keeps pulled OCI artifacts: `$PAVED_CACHE_DIR/oci` (empty: no cache), else
/// `oci` beside the compiled plugins (`~/.cache/paved/oci`).
#[cfg(feature = "oci")]
pub fn oci_cache_dir() -> Option<PathBuf> {
    if std::env::var_os("PAVED_CACHE_DIR").is_some() {
        return cache_dir().map(|d| d.join("oci"));
    }
    cache_dir().and_then(|d| d.parent().map(|p| p.join("oci")))
}

pub fn inspect(args: InspectArgs) -> ExitCode {
    let bytes = match std::fs::read(&args.path) {
        Ok(b) => b,
        Err(e) => return usage(&format!("cannot read {}: {e}", args.path.display())),
    };
    let mut builder = paved::Engine::builder();
    if let Some(dir) = cache_dir().filter(|_| !args.no_cache) {
        builder = builder.plugin_cache(dir);
    }
    let started = Instant::now();
    let name = args.path.file_stem().map_or_else(|| "plugin".into(), |s| s.to_string_lossy().replace('_', "-"));
    let info = match builder.inspect_plugin(&name, &bytes) {
        Ok(p) => p,
        Err(e) => return usage(&e.to_string()),
    };
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(why) = &info.recompiled {
        tracing::warn!("{why}");
    }
    let how = if info.from_cache { "loaded from the compiled-code cache" } else { "compiled" };
    match args.format {
        ListFormat::Json => print(&pretty(&serde_json::json!({
            "path": args.path,
            "sha256": info.sha256,
            "contract": info.contract,
            "metadata": {
                "name": info.name,
                "version": info.version,
                "description": info.description,
                "rules": info.rules,
                "params_schema": info.params_schema,
            },
            "load": { "fromCache": info.from_cache, "millis": millis },
        }))),
        ListFormat::Human => print_with(|out| {
            use std::io::Write;
            let (fuel, memory, output) = info.limits;
            writeln!(out, "{} {} — {}", info.name, info.version, info.description)?;
            writeln!(out, "  sha256:   {}", info.sha256)?;
            writeln!(out, "  contract: {}", info.contract)?;
            writeln!(out, "  load:     {how} in {millis:.1} ms")?;
            writeln!(out, "  rules:")?;
            for (id, description) in &info.rules {
                writeln!(out, "    {id}: {description}")?;
            }
            writeln!(out, "  params schema: {}", info.params_schema)?;
            writeln!(out, "\nPin it in a Bundle (limits shown are the defaults):")?;
            writeln!(out, "  plugins:")?;
            writeln!(out, "    - name: {}", info.name)?;
            writeln!(out, "      path: {}", args.path.display())?;
            writeln!(out, "      sha256: \"{}\"", info.sha256)?;
            writeln!(out, "      limits: {{ fuel: {fuel}, memory: {}Mi, output: {}Ki }}", memory >> 20, output >> 10)
        }),
    }
}
