//! `paved fix`: the platform's mutations applied to manifests, printed, written into their files
//! with the smallest edits, or shown as a diff.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use paved::{Context, Error, Resource};

use crate::check::{EngineArgs, InventoryArgs, ManifestArgs};
use crate::{fail, instant, outcome, print, usage};

#[derive(clap::Args)]
pub struct FixArgs {
    #[command(flatten)]
    manifests: ManifestArgs,
    #[command(flatten)]
    engine: EngineArgs,
    /// The instant exceptions are judged at (RFC 3339); defaults to the current time.
    #[arg(long)]
    now: Option<String>,
    /// The namespace manifests without `metadata.namespace` are applied into.
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    namespace: Option<String>,
    #[command(flatten)]
    inventory: InventoryArgs,
    /// Write the changes into the files, with the smallest edits: comments, key order and the
    /// formatting of what did not change are kept.
    #[arg(long, conflicts_with = "diff")]
    write: bool,
    /// Print a unified diff of the changes instead of the manifests.
    #[arg(long)]
    diff: bool,
}

pub fn run(args: FixArgs) -> ExitCode {
    let mut ctx = match instant(args.now.as_deref()) {
        Ok(now) => Context::at(now),
        Err(e) => return usage(&e),
    };
    if let Some(ns) = &args.namespace {
        ctx = ctx.namespace(ns);
    }
    let mut ctx = match args.engine.context(ctx).and_then(|c| args.inventory.context(c)) {
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
    // `verifyImages` rules with `mutateDigest` pin the images their registries verified.
    let requests = engine.image_requests(&resources);
    if !requests.is_empty() {
        ctx = ctx.images(crate::source::pulled::image_verdicts(&requests));
    }
    let (mutated, report) = engine.mutate(&resources, &ctx);
    // What changed, and a mutation that failed, are said on standard error; the manifests go
    // to standard output.
    let failed =
        report.findings.iter().any(|f| f.error.is_some() && f.waived_by.is_none() && f.action == paved::Action::Deny);
    let mut says = std::io::stderr().lock();
    for c in report.patches.iter().filter(|c| c.waived_by.is_none()) {
        let at = c.source.as_ref().map(|s| format!("{}:{}: ", s.file, s.line)).unwrap_or_default();
        let text = |key: &str| c.operation.get(key).and_then(serde_json::Value::as_str).unwrap_or_default();
        let (op, path) = (text("op"), text("path"));
        let _ = writeln!(says, "{at}{} {}: {}/{}: {op} {path}", c.resource.kind, c.resource.name, c.policy, c.mutation);
    }
    for f in report.findings.iter().filter(|f| f.error.is_some() && f.waived_by.is_none()) {
        let _ = writeln!(says, "{}: {}/{}: {}", f.resource.name, f.policy, f.rule, f.message);
    }
    drop(says);
    let changed = resources.iter().zip(&mutated).any(|(a, b)| a.value() != b.value());
    let written = if args.write || args.diff {
        match rewrite(&resources, &mutated, args.write) {
            Ok(diff) if args.diff => print(&diff),
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => return fail(&e),
        }
    } else {
        let docs: Vec<String> = mutated.iter().map(|r| paved::to_yaml(r.value())).collect();
        print(&docs.join("---\n"))
    };
    // As a formatter's check: 1 when something changed (or would), or a mutation failed.
    outcome(written, changed || failed)
}

/// Each file's manifests with the mutations written in (in place when `write`), and the
/// unified diff of every file that changed.
fn rewrite(resources: &[Resource], mutated: &[Resource], write: bool) -> Result<String, Error> {
    let mut by_file: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for (before, after) in resources.iter().zip(mutated) {
        if before.value() == after.value() {
            continue;
        }
        let file = before.source_of("").map(|s| s.file).unwrap_or_default();
        if file.is_empty() || file.starts_with('<') {
            let reason = "manifests from standard input have no file to rewrite: leave out --write and --diff".into();
            return Err(Error::Input { reason });
        }
        by_file.entry(file).or_default().push(after.value().clone());
    }
    let mut diff = String::new();
    for (file, changes) in by_file {
        let path = PathBuf::from(&file);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
        let rewritten = paved::golden::rewrite(&file, &text, &changes, &[], &[])?;
        if write {
            std::fs::write(&path, &rewritten.text).map_err(|source| Error::Io { path, source })?;
        }
        let unified = similar::TextDiff::from_lines(&text, &rewritten.text);
        diff.push_str(
            &unified.unified_diff().context_radius(3).header(&format!("a/{file}"), &format!("b/{file}")).to_string(),
        );
    }
    Ok(diff)
}
