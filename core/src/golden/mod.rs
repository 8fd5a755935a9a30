//! Golden paths in use: a render judged by the policies the golden path names, conformance of
//! live objects to what they claim to be, upgrades between versions, and a fleet's adoption.

mod audit;
mod catalog;
pub(crate) mod diff;
mod edit;
mod fix;
mod fleet;
mod inputs;
mod merge;
mod render;
mod upgrade;

pub use crate::model::Deprecation;
pub use audit::{audit_namespaces, audit_reports, DRIFT_POLICY};
pub(crate) use catalog::catalog;
pub use diff::{Change, PatchOp, Requests};
pub use edit::{rewrite, rewrite_inputs, Rewrite};
pub use fix::fixes;
pub(crate) use fleet::{conform, outdated};
pub use fleet::{
    Adoption, ChangeKind, ConformSummary, Conformance, Deviation, DeviationKind, Fleet, FleetService, FleetSummary,
    Lag, Score, ServiceConformance, Standing,
};
pub use inputs::InputSet;
pub use merge::{Disposition, FieldMerge, FieldOutcome, MergedObject, Prefer};
pub use render::{RenderError, Rendered};
pub(crate) use upgrade::upgrade;
pub use upgrade::{
    rewrite_upgrades, Applied, FleetUpgrade, FleetUpgradeSummary, ObjectChange, Planned, RequestsChange,
    ServiceUpgrade, Upgrade,
};

use serde_json::Value;

use crate::compile::bundle::Bundle;
use crate::compile::golden_path::GoldenPath;
pub use crate::compile::golden_path::{ANNOTATION_INPUTS, ANNOTATION_PATH};
use crate::engine::Context;
use crate::error::{Diagnostic, Diagnostics, Error};
use crate::load::{self, Sourced};

impl GoldenPath {
    /// Groups live objects into services by their provenance annotations, re-renders each from
    /// its recorded inputs and version, and reports every deviation as drift or extension, with
    /// a score; the objects are also judged by the golden path's policies (with the bundle's
    /// exceptions).
    pub fn conform(bundle: &Bundle, resources: &[crate::Resource], ctx: &Context) -> Conformance {
        conform(bundle, resources, ctx)
    }

    /// Moves a service's inputs from `from` (`NAME@VERSION`) to the highest version `to` allows
    /// (a semver range, `*` for the latest), applying every migration on the way, and says what
    /// changes in the rendered objects.
    pub fn upgrade(bundle: &Bundle, from: &str, inputs: &Value, to: &str) -> Result<Upgrade, Error> {
        upgrade(bundle, from, inputs, to)
    }

    /// Upgrades one service's objects (as its team has them) to the highest version `to`
    /// allows, by a three-way merge: the render of its recorded inputs on its version, the
    /// objects, and the render of its migrated inputs on the new version. Changes under
    /// extension points are kept, the new version's are applied, and fields both changed are
    /// conflicts unless `prefer` names a side.
    pub fn upgrade_objects(
        bundle: &Bundle,
        objects: &[crate::Resource],
        to: &str,
        prefer: Option<Prefer>,
    ) -> Result<ServiceUpgrade, Error> {
        upgrade::upgrade_objects(bundle, objects, to, prefer)
    }

    /// Plans the three-way upgrade of every service in `resources` (see
    /// [`GoldenPath::upgrade_objects`]).
    pub fn upgrade_all(
        bundle: &Bundle,
        resources: &[crate::Resource],
        to: &str,
        prefer: Option<Prefer>,
    ) -> FleetUpgrade {
        upgrade::upgrade_all(bundle, resources, to, prefer)
    }

    /// Backstage catalog entities (`Component`s) for the services in `resources`, with owner,
    /// system and lifecycle from their labels and golden path standing, and the golden path,
    /// its version and the drift score (conform at `ctx`) as annotations.
    pub fn catalog(bundle: &Bundle, resources: &[crate::Resource], ctx: &Context) -> Vec<Value> {
        catalog(bundle, resources, ctx)
    }

    /// Which golden path and version every service in `resources` is on, how far behind the
    /// latest it is, and the adoption of each golden path.
    pub fn outdated(bundle: &Bundle, resources: &[crate::Resource], now: jiff::Timestamp) -> Fleet {
        outdated(bundle, resources, now)
    }

    /// The golden path version (`NAME@VERSION`) and inputs of a service, from a file holding
    /// either its rendered manifests (their annotations name both) or its inputs, which need
    /// `from`.
    pub fn inputs_of(file: &str, text: &str, from: Option<&str>) -> Result<(String, Value), Error> {
        read_inputs(file, text, from)
    }
}

/// The golden path version (`NAME@VERSION`) and inputs of a service, from a file holding either
/// its rendered manifests (their annotations name both) or its inputs, which need `from`.
fn read_inputs(file: &str, text: &str, from: Option<&str>) -> Result<(String, Value), Error> {
    let docs = load::parse_text(file, text).map_err(|d| Error::Invalid(Diagnostics(vec![d])))?;
    let problem = |doc: Option<&Sourced>, at: &str, message: String, help: &str| {
        let diag = match doc {
            Some(d) => d.origin.diagnostic(at, message, Some(help.into())),
            None => {
                Diagnostic { file: file.into(), line: 1, column: 1, pointer: None, message, help: Some(help.into()) }
            }
        };
        Error::Invalid(Diagnostics(vec![diag]))
    };
    let annotation = |d: &Sourced, key: &str| {
        d.value
            .pointer(&format!("/metadata/annotations/{}", key.replace('/', "~1")))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    if let Some(doc) = docs.iter().find(|d| annotation(d, ANNOTATION_PATH).is_some()) {
        let claimed = annotation(doc, ANNOTATION_PATH).unwrap_or_default();
        if let Some(f) = from.filter(|f| *f != claimed) {
            return Err(problem(
                Some(doc),
                "/metadata/annotations",
                format!("these manifests were rendered from {claimed}, not {f}"),
                "leave out NAME@VERSION: the manifests' annotations say which version they are on",
            ));
        }
        let inputs =
            annotation(doc, ANNOTATION_INPUTS).and_then(|s| serde_json::from_str(&s).ok()).ok_or_else(|| {
                if annotation(doc, crate::compile::golden_path::ANNOTATION_INPUTS_DIGEST).is_some() {
                    return problem(
                        Some(doc),
                        "/metadata/annotations",
                        "these manifests record their inputs by digest (they are large), not the inputs themselves"
                            .into(),
                        "give the service's inputs file instead, with NAME@VERSION",
                    );
                }
                problem(
                    Some(doc),
                    "/metadata/annotations",
                    format!("the `{ANNOTATION_INPUTS}` annotation is missing or not JSON"),
                    "render the service again with `paved render` to record its inputs",
                )
            })?;
        return Ok((claimed, inputs));
    }
    let [doc] = docs.as_slice() else {
        return Err(problem(
            None,
            "",
            format!(
                "expected one document of inputs or rendered manifests, found {} documents without provenance",
                docs.len()
            ),
            "give the inputs file, or manifests rendered by `paved render`",
        ));
    };
    let from = from.ok_or_else(|| {
        problem(
            Some(doc),
            "",
            "these are inputs, which do not say which golden path version they were written for".into(),
            "name it: `paved upgrade NAME@VERSION -f FILE`",
        )
    })?;
    Ok((from.to_owned(), doc.value.clone()))
}
