//! What every report format implements.

use super::contract::Report;

/// One form a report is written in: JSON, SARIF, JUnit, GitHub annotations, PolicyReports. A
/// new format is one file with one implementation, and a variant of [`Format`](super::Format).
pub(crate) trait Writer: Sync {
    /// `report` as the format's text, ending in a newline. The report carries the policies it
    /// was made with: SARIF takes rule descriptions from them, JUnit and PolicyReports list the
    /// rules that passed.
    fn write(&self, report: &Report) -> String;
}

/// A JSON value as pretty text with a final newline.
pub(super) fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}
