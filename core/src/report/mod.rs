//! The result of an evaluation ([`Report`]: ordered findings, exception statuses, a summary and
//! a decision) and the formats it is written in, one [`Writer`](writer::Writer) each.

mod code_quality;
mod contract;
mod format;
mod github;
mod human;
mod info;
mod json;
mod junit;
mod policy_report;
mod sarif;
mod writer;

use writer::Writer;

pub(crate) use contract::money;
pub use contract::{
    Cost, Decision, ErrorKind, ExceptionReport, Finding, FindingError, Fix, Patch, Replacement, Report, RequestInfo,
    ResourceReport, Summary,
};
pub use format::Format;
pub use info::{ExceptionStatus, MutationInfo, PolicyInfo, RuleInfo};
pub(crate) use junit::esc as xml_escape;
pub use policy_report::ReportKind;
pub(crate) use policy_report::{reports as policy_reports_of, results as policy_results, stamp};

impl Report {
    /// The report in `format`, as the CLI prints it (ending in a newline). The report carries
    /// the descriptions of the policies it was made with, so it is written without the engine.
    ///
    /// ```
    /// use paved::{Bundle, Context, Engine, Format, Resource};
    ///
    /// let engine = Engine::builder().bundle(Bundle::defaults()?).build()?;
    /// let pod = Resource::from_str("pod.yaml", "{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {hostPID: true}}")?;
    /// let report = engine.evaluate(&pod, &Context::parse_at("2026-06-01T00:00:00Z")?);
    /// drop(engine);
    /// let sarif = report.format("sarif".parse()?);
    /// assert!(sarif.contains("\"version\": \"2.1.0\""));
    /// assert!(report.format(Format::Github).starts_with("::error file=pod.yaml,line=1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn format(&self, format: Format) -> String {
        format.writer().write(self)
    }

    /// The report for people, as the CLI prints it: in `color` (ANSI) on a terminal.
    pub fn human(&self, color: bool) -> String {
        human::Human { color }.write(self)
    }
}
