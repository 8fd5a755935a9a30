//! `paved audit --once`: one pass over a cluster (in-cluster, or the kubeconfig's): every object
//! the policies may judge, evaluated as `paved check` would, written as PolicyReports (or
//! OpenReports) to a directory or standard output.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ValueEnum;
use paved::{Context, Error, ReportKind};

use crate::check::EngineArgs;
use crate::{fail, instant, print, usage, EXIT_ERROR};

#[derive(clap::Args)]
pub struct AuditArgs {
    /// One pass over the cluster, then exit.
    #[arg(long, required = true)]
    once: bool,
    #[command(flatten)]
    engine: EngineArgs,
    /// The directory to write the reports into, a file each (made if missing); without it, a
    /// YAML stream on standard output.
    #[arg(long, short = 'o', value_name = "DIR")]
    output: Option<PathBuf>,
    /// The reports' kind.
    #[arg(long, value_enum, default_value_t = ReportFormat::PolicyReport)]
    format: ReportFormat,
    /// Objects asked for in one list request.
    #[arg(long, value_name = "N", default_value_t = 500)]
    page_size: u32,
    /// Audit only these resources (`pods`, `deployments.apps`: `plural` or `plural.group`, as
    /// RBAC names them); by default every kind the policies judge or the golden paths render.
    #[arg(long, value_name = "RESOURCE", value_delimiter = ',')]
    resources: Vec<String>,
    /// A report whose JSON would be larger is split into parts (etcd refuses objects over
    /// 1.5 MB).
    #[arg(long, value_name = "BYTES", default_value_t = 1_000_000)]
    max_report_bytes: usize,
    /// The instant exceptions are judged at (RFC 3339); defaults to the current time.
    #[arg(long)]
    now: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ReportFormat {
    /// `wgpolicyk8s.io/v1alpha2` PolicyReport and ClusterPolicyReport.
    PolicyReport,
    /// `openreports.io/v1alpha1` Report and ClusterReport.
    Openreports,
}

impl ReportFormat {
    pub(crate) fn kind(self) -> ReportKind {
        match self {
            ReportFormat::PolicyReport => ReportKind::PolicyReport,
            ReportFormat::Openreports => ReportKind::OpenReports,
        }
    }
}

pub fn run(args: AuditArgs) -> ExitCode {
    if args.max_report_bytes > 1_500_000 || args.page_size == 0 {
        return usage("--max-report-bytes is at most 1500000 (etcd's limit), and --page-size at least 1");
    }
    let ctx = match instant(args.now.as_deref()) {
        Ok(now) => Context::at(now),
        Err(e) => return usage(&e),
    };
    let loaded = args.engine.engine().and_then(|e| Ok((e, args.engine.golden()?, args.engine.context(ctx)?)));
    let (engine, golden, ctx) = match loaded {
        Ok(all) => all,
        Err(e) => return fail(&e),
    };
    let now = ctx.now;
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&Error::Input { reason: format!("cannot start the runtime: {e}") }),
    };
    let terminal = std::io::stderr().is_terminal();
    let progress = |kind: &str, done: usize| {
        if terminal {
            let _ = write!(std::io::stderr(), "\r\x1b[2Kauditing {kind}: {done} objects");
        }
    };
    let audit = runtime.block_on(async {
        let client = paved_webhook::audit::connect().await?;
        let judge = paved_webhook::audit::Judge { engine: &engine, golden: Some(&golden) };
        paved_webhook::audit::once(&client, judge, ctx, (args.page_size, &args.resources), &progress).await
    });
    if terminal {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
    let audit = match audit {
        Ok(a) => a,
        Err(e) => return fail(&Error::Input { reason: e.0 }),
    };
    let (written, count) = write_reports(&audit, &args, now);
    let mut err = std::io::stderr().lock();
    let objects: usize = audit.listed.iter().map(|(_, n)| n).sum();
    let s = audit.report.as_ref().map(|r| r.summary).unwrap_or_default();
    let _ = writeln!(
        err,
        "audited {objects} objects of {} kinds: {} findings ({} denied, {} warned, {} audited, {} waived); {} reports",
        audit.listed.len(),
        s.findings,
        s.denied,
        s.warned,
        s.audited,
        s.waived,
        count
    );
    if let Some(d) = audit.drift.as_ref().filter(|d| d.summary.services > 0) {
        let d = d.summary;
        let _ = writeln!(
            err,
            "{} services on golden paths: {} conform, {} drifted, {} not checkable",
            d.services, d.conforming, d.drifted, d.errors
        );
    }
    for (what, why) in &audit.unreadable {
        let _ = writeln!(err, "error: cannot list {what}: {why}");
    }
    // What could not be read is not audited: the run did not do its job.
    if audit.unreadable.is_empty() {
        written
    } else {
        ExitCode::from(EXIT_ERROR)
    }
}

/// The reports, one namespace's at a time (every report of a large cluster is never in memory
/// at once), to files in `--output` or standard output; how it went and how many there were.
fn write_reports(audit: &paved_webhook::audit::Audit, args: &AuditArgs, now: jiff::Timestamp) -> (ExitCode, usize) {
    if let Some(Err(source)) = args.output.as_ref().map(std::fs::create_dir_all) {
        return (fail(&Error::Io { path: args.output.clone().unwrap_or_default(), source }), 0);
    }
    let mut count = 0;
    for ns in audit.namespaces() {
        let reports = audit.reports(&ns, now, args.format.kind(), args.max_report_bytes);
        let done = match &args.output {
            Some(dir) => write_files(dir, &reports),
            None => {
                let docs: Vec<String> = reports.iter().map(|r| format!("---\n{}", paved::to_yaml(r))).collect();
                print(&docs.concat())
            }
        };
        count += reports.len();
        if done != ExitCode::SUCCESS {
            return (done, count);
        }
    }
    (ExitCode::SUCCESS, count)
}

/// Each report to a file of its own in `dir`: `<kind>-<namespace>-<name>.yaml`.
fn write_files(dir: &std::path::Path, reports: &[serde_json::Value]) -> ExitCode {
    for r in reports {
        let text = |p: &str| r.pointer(p).and_then(serde_json::Value::as_str).unwrap_or_default().to_lowercase();
        let scope = match text("/metadata/namespace") {
            ns if ns.is_empty() => "cluster".to_owned(),
            ns => ns,
        };
        let path = dir.join(format!("{}-{scope}-{}.yaml", text("/kind"), text("/metadata/name")));
        if let Err(source) = std::fs::write(&path, paved::to_yaml(r)) {
            return fail(&Error::Io { path, source });
        }
    }
    ExitCode::SUCCESS
}
