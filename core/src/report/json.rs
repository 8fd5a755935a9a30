//! The report contract itself, as pretty JSON.

use super::contract::Report;
use super::writer::Writer;

/// The report as pretty JSON: the stable contract.
pub(super) struct Json;

impl Writer for Json {
    fn write(&self, report: &Report) -> String {
        report.to_json() + "\n"
    }
}
