#![doc = include_str!("../README.md")]
#![deny(unreachable_pub)]

/// `as_str`, `Display`, `FromStr` and `ALL` for an enum of words, from one table, so front ends
/// name values without a serde round trip. The serde names are tested against the table.
macro_rules! words {
    ($ty:ident, $what:literal { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The word for the value, as reports and the JSON contract write it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $word),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = crate::Error;

            fn from_str(word: &str) -> Result<Self, Self::Err> {
                $ty::ALL.iter().copied().find(|v| v.as_str() == word).ok_or_else(|| crate::Error::Unknown {
                    what: $what,
                    name: word.to_owned(),
                    suggestion: crate::error::did_you_mean(word, $ty::ALL.iter().map(|v| v.as_str())).map(str::to_owned),
                })
            }
        }
    };
}

// The modules depend one way, following the data flow (see docs/ARCHITECTURE.md): error → load
// → k8s → model → cel → plugin → report → compile → engine → golden, testing.
// `tests/all/layering.rs` fails on any edge against that order and on any cycle between files.
mod cel;
mod compile;
mod engine;
mod error;
pub mod golden;
mod k8s;
mod load;
mod model;
mod plugin;
mod report;
mod testing;

pub use cel::Budget;
pub use compile::bundle::{Bundle, PackInfo};
pub use compile::export::VapExport;
pub use compile::golden_path::GoldenPath;
pub use engine::admit::AdmissionRequest;
pub use engine::inventory::{Inventory, InventoryNeeds};
pub use engine::resource::Resource;
pub use engine::{Context, Engine, EngineBuilder};
pub use error::{Diagnostic, Diagnostics, Error};
pub use k8s::admission::AdmissionError;
pub use k8s::{Operation, ResourceRef};
pub use load::SourceRef;
pub use model::{
    Action, ArtifactTrust, Attestation, AttestationRequest, IdentitySpec, ImageOutcome, ImageRequest, ImageVerdict,
    ImageVerdicts, Severity, KINDS,
};
pub use plugin::{contract as plugin_contract, PluginHost, PluginInfo};
pub use report::{
    Cost, Decision, ErrorKind, ExceptionReport, ExceptionStatus, Finding, FindingError, Fix, Format, MutationInfo,
    Patch, PolicyInfo, Replacement, Report, ReportKind, RequestInfo, ResourceReport, RuleInfo, Summary,
};
pub use testing::{CaseReport, CheckReport, Example, Outcome, SuiteReport, TestSuite, ViolationCount};

/// The JSON Schema (2020-12) of a paved document kind (one of [`KINDS`]), generated from the
/// types paved deserialises, for editor completion and `paved schema`.
///
/// ```
/// let schema = paved::document_schema("Policy").unwrap();
/// assert_eq!(schema["title"], "PolicyDocument");
/// assert!(paved::document_schema("Polcy").is_none());
/// ```
pub fn document_schema(kind: &str) -> Option<serde_json::Value> {
    model::json_schema(kind)
}

/// A JSON value as block-style YAML, keys in their order, strings quoted where YAML would read
/// them as something else (as `kubectl get -o yaml` prints): how rendered manifests are written.
///
/// ```
/// let yaml = paved::to_yaml(&serde_json::json!({"kind": "Pod", "metadata": {"name": "on"}}));
/// assert_eq!(yaml, "kind: Pod\nmetadata:\n  name: \"on\"\n");
/// ```
pub fn to_yaml(value: &serde_json::Value) -> String {
    load::to_yaml(value)
}

/// An instant as paved reads one everywhere (`--now`, a context's `now`, an exception's
/// `expires`): an RFC 3339 date-time with an offset, or a date alone (00:00 UTC that day).
///
/// ```
/// let t = paved::parse_instant("2026-12-31")?;
/// assert_eq!(t.to_string(), "2026-12-31T00:00:00Z");
/// assert!(paved::parse_instant("2026-12-31T18:00:00").is_err(), "no offset: refused, not guessed");
/// # Ok::<(), paved::Error>(())
/// ```
pub fn parse_instant(text: &str) -> Result<jiff::Timestamp, Error> {
    compile::exception::parse_instant(text).map_err(|reason| Error::Input { reason })
}
