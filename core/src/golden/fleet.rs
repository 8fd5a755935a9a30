//! The fleet as it runs: which services claim which golden path versions, how each differs
//! from a re-render of the inputs it records, and how far behind each is.
//!
//! A service is the set of objects that carry the same `paved.dev/golden-path` and
//! `paved.dev/inputs` annotations. Workloads without them are on no golden path.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use jiff::Timestamp;
use semver::Version;
use serde::Serialize;
use serde_json::{json, Value};

use super::diff;
use super::{GoldenPath, ANNOTATION_INPUTS, ANNOTATION_PATH};
use crate::compile::bundle::Bundle;
use crate::compile::golden_path::ANNOTATION_INPUTS_DIGEST;
use crate::engine::resource::{identity_of, same_object};
use crate::engine::{Context, Engine};
use crate::error::Error;
use crate::k8s::merge_keys::{keyed, real_path};
use crate::k8s::{self, ResourceRef};
use crate::load::pointer::covers;
use crate::load::SourceRef;
use crate::model::{Action, Deprecation};
use crate::report::Finding;
use crate::Resource;

/// Score weights, per unit: a service on its golden path's latest version with no drift,
/// no findings and no exceptions scores 0.
const PER_MAJOR: u32 = 10;
const PER_MINOR: u32 = 3;
const PER_PATCH: u32 = 1;
const DEPRECATED: u32 = 5;
const SUNSET: u32 = 20;
const PER_DRIFTED_FIELD: u32 = 5;
const PER_MISSING_OR_EXTRA_OBJECT: u32 = 10;
const PER_DENIAL: u32 = 5;
const PER_WARNING: u32 = 2;
const PER_OPEN_EXCEPTION: u32 = 2;
const PER_EXPIRED_EXCEPTION: u32 = 5;

/// Kinds that run something: without provenance, they are services on no golden path.
const WORKLOADS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"];

/// How far a version is behind the newest one loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lag {
    /// On the newest version.
    Current,
    /// Behind by patch releases.
    Patch,
    /// Behind by minor releases.
    Minor,
    /// Behind by a major release or more.
    Major,
}

words!(Lag, "lag" { Current => "current", Patch => "patch", Minor => "minor", Major => "major" });

/// Where a version stands: how far behind, and whether it is on its way out.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Standing {
    /// The newest version of the golden path loaded.
    pub latest: String,
    /// The biggest step between the version in use and the newest.
    pub behind: Lag,
    /// How many newer versions there are.
    pub newer: usize,
    /// The deprecation, when the version in use is deprecated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<Deprecation>,
    /// Whether its sunset date has passed.
    pub sunset: bool,
}

/// Whether a deviation is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviationKind {
    /// Under an extension point: allowed.
    Extension,
    /// Anywhere else: the service no longer is what its golden path renders.
    Drift,
}

words!(DeviationKind, "deviation kind" { Extension => "extension", Drift => "drift" });

/// How a live object differs from the re-render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// The value differs.
    Changed,
    /// The re-render has it and the live object (or the fleet) does not.
    Missing,
    /// The live object (or the fleet) has it and the re-render does not.
    Extra,
}

words!(ChangeKind, "change kind" { Changed => "changed", Missing => "missing", Extra => "extra" });

/// One difference between a live object and the re-render of its recorded inputs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Deviation {
    /// The object.
    pub object: ResourceRef,
    /// JSON pointer into it (empty when the whole object is missing or extra).
    pub path: String,
    /// Allowed or not.
    pub kind: DeviationKind,
    /// Changed, missing or extra.
    pub change: ChangeKind,
    /// What the re-render has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    /// What the live object has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Value>,
    /// The extension point that allows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension_point: Option<String>,
    /// Where in the input file (for a live object read from one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

/// A drift score and what it is made of (higher is further from the golden path).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Score {
    /// The sum of the rest.
    pub total: u32,
    /// 10 per major, 3 per minor or 1 per patch version behind (the biggest step only).
    pub versions_behind: u32,
    /// 5 for a deprecated version, 20 past its sunset.
    pub deprecation: u32,
    /// 5 per drifted field, 10 per missing or extra object.
    pub drift: u32,
    /// 5 per unwaived denial, 2 per unwaived warning.
    pub findings: u32,
    /// 2 per exception in force, 5 per expired or invalid one.
    pub exceptions: u32,
}

/// How one service conforms.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceConformance {
    /// Its name (the `name` input, or its first object's name).
    pub service: String,
    /// Its first object's namespace.
    pub namespace: String,
    /// The golden path and version it claims (`name@version`).
    pub golden_path: String,
    /// Its objects.
    pub objects: Vec<ResourceRef>,
    /// Where its version stands (absent when the claim is unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standing: Option<Standing>,
    /// Every difference from the re-render, extensions included.
    pub deviations: Vec<Deviation>,
    /// What the golden path's policies find on the live objects.
    pub findings: Vec<Finding>,
    /// Exceptions in force that select its objects.
    pub open_exceptions: Vec<String>,
    /// Expired or invalid exceptions that select its objects.
    pub expired_exceptions: Vec<String>,
    /// The drift score.
    pub score: Score,
    /// Why it could not be checked (an unknown golden path or version, unreadable inputs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ServiceConformance {
    /// Whether it is what its golden path renders: no drift, no unwaived denial, no error.
    pub fn conforms(&self) -> bool {
        self.error.is_none()
            && self.deviations.iter().all(|d| d.kind == DeviationKind::Extension)
            && !self.findings.iter().any(|f| f.waived_by.is_none() && f.action == Action::Deny)
    }
}

/// The result of `conform`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Conformance {
    /// Each service, by namespace and name.
    pub services: Vec<ServiceConformance>,
    /// Workloads on no golden path.
    pub unmanaged: Vec<ResourceRef>,
    /// Counts.
    pub summary: ConformSummary,
}

/// Counts over a `conform` run.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ConformSummary {
    /// Services found.
    pub services: usize,
    /// Services that conform.
    pub conforming: usize,
    /// Services with drift or denials.
    pub drifted: usize,
    /// Services that could not be checked.
    pub errors: usize,
    /// Workloads on no golden path.
    pub unmanaged: usize,
}

/// One service in the fleet report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FleetService {
    /// Its name.
    pub service: String,
    /// Its namespace.
    pub namespace: String,
    /// The golden path and version it claims.
    pub golden_path: String,
    /// Where that version stands (absent when the claim is unknown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standing: Option<Standing>,
    /// Why the claim is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its drift score, as `conform` gives it (absent when it could not be re-rendered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_score: Option<u32>,
}

/// How many services are on one golden path version.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Adoption {
    /// The golden path.
    pub golden_path: String,
    /// The version.
    pub version: String,
    /// Services on it.
    pub services: usize,
    /// Where the version stands.
    pub standing: Standing,
    /// The mean drift score of its services (0 without services).
    pub mean_drift_score: f64,
}

/// The result of `outdated`: adoption and age of golden paths across a fleet.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Fleet {
    /// Every golden path version loaded and how many services are on it, by golden path, newest
    /// version first.
    pub adoption: Vec<Adoption>,
    /// Every service, by namespace and name.
    pub services: Vec<FleetService>,
    /// Workloads on no golden path.
    pub unmanaged: Vec<ResourceRef>,
    /// Counts.
    pub summary: FleetSummary,
}

/// Counts over the fleet.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FleetSummary {
    /// Services on a golden path (known or not).
    pub services: usize,
    /// On the newest version.
    pub current: usize,
    /// Behind by patch releases.
    pub behind_patch: usize,
    /// Behind by minor releases.
    pub behind_minor: usize,
    /// Behind by a major release.
    pub behind_major: usize,
    /// On a deprecated version (sunset or not).
    pub deprecated: usize,
    /// On a version past its sunset.
    pub sunset: usize,
    /// Claiming a golden path or version that is not loaded.
    pub unknown: usize,
    /// Workloads on no golden path.
    pub unmanaged: usize,
    /// Services on a golden path among all services and unmanaged workloads (0 to 1).
    pub adoption_rate: f64,
}

/// Objects that claim the same golden path version and inputs.
pub(super) struct Claim<'r> {
    pub(super) golden_path: String,
    pub(super) inputs: Option<String>,
    pub(super) objects: Vec<&'r Resource>,
}

impl Claim<'_> {
    pub(super) fn recorded_inputs(&self) -> Option<Value> {
        self.inputs.as_deref().and_then(|s| serde_json::from_str(s).ok())
    }

    /// The `name` input, or the first object's name; and the first object's namespace.
    pub(super) fn service(&self) -> (String, String) {
        let first = self.objects.first().map(|o| o.identity()).unwrap_or_default();
        let name = self.recorded_inputs().and_then(|i| i.get("name").and_then(Value::as_str).map(str::to_owned));
        (name.unwrap_or(first.name), first.namespace)
    }
}

/// Groups resources by the provenance they claim; workloads with none are unmanaged.
pub(super) fn claims(resources: &[Resource]) -> (Vec<Claim<'_>>, Vec<ResourceRef>) {
    let mut found: Vec<Claim<'_>> = Vec::new();
    let mut unmanaged = Vec::new();
    for r in resources {
        let annotation = |key: &str| {
            r.value.get("metadata").and_then(|m| m.get("annotations")).and_then(|a| a.get(key)).and_then(Value::as_str)
        };
        let Some(path) = annotation(ANNOTATION_PATH) else {
            if r.value.get("kind").and_then(Value::as_str).is_some_and(|k| WORKLOADS.contains(&k)) {
                unmanaged.push(r.identity());
            }
            continue;
        };
        let inputs = annotation(ANNOTATION_INPUTS).map(str::to_owned);
        match found.iter_mut().find(|c| c.golden_path == path && c.inputs == inputs) {
            Some(c) => c.objects.push(r),
            None => found.push(Claim { golden_path: path.to_owned(), inputs, objects: vec![r] }),
        }
    }
    found.sort_by_cached_key(|c| {
        let (name, ns) = c.service();
        (ns, name, c.golden_path.clone())
    });
    unmanaged.sort();
    (found, unmanaged)
}

/// The golden path version a claim (`NAME@VERSION`) names, or why there is none.
fn resolve<'b>(bundle: &'b Bundle, claim: &str) -> Result<&'b GoldenPath, String> {
    if claim.split_once('@').is_none_or(|(_, v)| Version::parse(v).is_err()) {
        return Err(format!("claims `{claim}`, which is not NAME@VERSION"));
    }
    bundle.golden_path(claim).map_err(|e| match e {
        Error::UnknownGoldenPath { reason, .. } => format!("claims {claim}: {reason}"),
        other => other.to_string(),
    })
}

/// Where `g` stands among the versions of its golden path in `bundle`, at `now`.
fn standing(bundle: &Bundle, g: &GoldenPath, now: Timestamp) -> Standing {
    let newer: Vec<&Version> = bundle
        .golden_paths()
        .filter(|o| o.name() == g.name() && o.version() > g.version())
        .map(|o| o.version())
        .collect();
    let latest = newer.last().copied().unwrap_or(g.version());
    let behind = if latest.major > g.version().major {
        Lag::Major
    } else if latest.minor > g.version().minor {
        Lag::Minor
    } else if latest > g.version() {
        Lag::Patch
    } else {
        Lag::Current
    };
    Standing {
        latest: latest.to_string(),
        behind,
        newer: newer.len(),
        deprecated: g.deprecation().cloned(),
        sunset: g.is_sunset(now),
    }
}

fn version_score(s: &Standing, g: &GoldenPath) -> (u32, u32) {
    let latest = Version::parse(&s.latest).unwrap_or_else(|_| g.version().clone());
    let gap = |a: u64, b: u64| u32::try_from(a.saturating_sub(b)).unwrap_or(u32::MAX);
    let behind = match s.behind {
        Lag::Major => PER_MAJOR * gap(latest.major, g.version().major),
        Lag::Minor => PER_MINOR * gap(latest.minor, g.version().minor),
        Lag::Patch => PER_PATCH * gap(latest.patch, g.version().patch),
        Lag::Current => 0,
    };
    let deprecation = match (s.sunset, s.deprecated.is_some()) {
        (true, _) => SUNSET,
        (false, true) => DEPRECATED,
        _ => 0,
    };
    (behind, deprecation)
}

/// Compares every service in `resources` with a re-render of the inputs its objects record,
/// and evaluates its objects against its golden path's policies with `bundle`'s exceptions at
/// `ctx.now`. `bundle` holds the golden paths (and any policies they name).
pub(crate) fn conform(bundle: &Bundle, resources: &[Resource], ctx: &Context) -> Conformance {
    let (claims, unmanaged) = claims(resources);
    let mut engines: BTreeMap<String, Result<Arc<Engine>, String>> = BTreeMap::new();
    let services: Vec<ServiceConformance> = claims
        .iter()
        .map(|c| {
            let (service, namespace) = c.service();
            let mut s = ServiceConformance {
                service,
                namespace,
                golden_path: c.golden_path.clone(),
                objects: c.objects.iter().map(|o| o.identity()).collect(),
                standing: None,
                deviations: Vec::new(),
                findings: Vec::new(),
                open_exceptions: Vec::new(),
                expired_exceptions: Vec::new(),
                score: Score::default(),
                error: None,
            };
            if let Err(e) = check_service(bundle, c, ctx, &mut engines, &mut s) {
                s.error = Some(e);
            }
            s
        })
        .collect();
    let summary = ConformSummary {
        services: services.len(),
        conforming: services.iter().filter(|s| s.conforms()).count(),
        drifted: services.iter().filter(|s| s.error.is_none() && !s.conforms()).count(),
        errors: services.iter().filter(|s| s.error.is_some()).count(),
        unmanaged: unmanaged.len(),
    };
    Conformance { services, unmanaged, summary }
}

fn check_service(
    bundle: &Bundle,
    claim: &Claim<'_>,
    ctx: &Context,
    engines: &mut BTreeMap<String, Result<Arc<Engine>, String>>,
    s: &mut ServiceConformance,
) -> Result<(), String> {
    let g = resolve(bundle, &claim.golden_path)?;
    let standing = standing(bundle, g, ctx.now);
    let (versions_behind, deprecation) = version_score(&standing, g);
    s.standing = Some(standing);
    let inputs = match &claim.inputs {
        None if claim.objects.iter().any(|o| {
            o.value.pointer(&format!("/metadata/annotations/{}", ANNOTATION_INPUTS_DIGEST.replace('/', "~1"))).is_some()
        }) =>
        {
            return Err(format!(
                "recorded its inputs by digest (`{ANNOTATION_INPUTS_DIGEST}`, they are over {} KiB), so conform needs its inputs file: re-render it with `paved render … -f INPUTS` and compare",
                crate::compile::golden_path::INPUTS_INLINE >> 10
            ))
        }
        None => return Err(format!("has no `{ANNOTATION_INPUTS}` annotation, so it cannot be re-rendered")),
        Some(text) => serde_json::from_str::<Value>(text)
            .map_err(|e| format!("its `{ANNOTATION_INPUTS}` annotation is not JSON: {e}"))?,
    };
    let expected = g.build(&inputs, None).map_err(|e| format!("its recorded inputs do not fit {}: {e}", g.id()))?;
    s.deviations = deviations(g, &expected.manifests, &claim.objects);

    let engine = engines
        .entry(g.id())
        .or_insert_with(|| g.engine(bundle, true).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)?;
    let live: Vec<Resource> = claim.objects.iter().map(|o| (*o).clone()).collect();
    s.findings = engine.evaluate(&live, ctx).findings;
    let mut open = std::collections::BTreeSet::new();
    let mut expired = std::collections::BTreeSet::new();
    for o in &s.objects {
        for (name, in_force) in engine.exceptions_on(o, ctx.now) {
            if in_force { &mut open } else { &mut expired }.insert(name.to_owned());
        }
    }
    s.open_exceptions = open.into_iter().collect();
    s.expired_exceptions = expired.into_iter().collect();

    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let drift: u32 = s
        .deviations
        .iter()
        .filter(|d| d.kind == DeviationKind::Drift)
        .map(|d| if d.path.is_empty() { PER_MISSING_OR_EXTRA_OBJECT } else { PER_DRIFTED_FIELD })
        .sum();
    let unwaived = |a: Action| count(s.findings.iter().filter(|f| f.waived_by.is_none() && f.action == a).count());
    let findings = PER_DENIAL * unwaived(Action::Deny) + PER_WARNING * unwaived(Action::Warn);
    let exceptions =
        PER_OPEN_EXCEPTION * count(s.open_exceptions.len()) + PER_EXPIRED_EXCEPTION * count(s.expired_exceptions.len());
    s.score = Score {
        total: versions_behind + deprecation + drift + findings + exceptions,
        versions_behind,
        deprecation,
        drift,
        findings,
        exceptions,
    };
    Ok(())
}

/// The keyed list item a missing field is in, when the live object lacks the whole item: its
/// path among the keyed values, and its real one in `want`.
fn missing_item(want: &Value, want_keyed: &Value, have_keyed: &Value, c: &diff::Change) -> Option<(String, String)> {
    if c.after.is_some() {
        return None;
    }
    let mut at = String::new();
    for segment in c.path.split('/').skip(1) {
        at.push('/');
        at.push_str(segment);
        if have_keyed.pointer(&at).is_none() {
            // The first ancestor that is missing: an item of a keyed list when its real path
            // ends in an index where the keyed one ends in a key.
            let real = real_path(want, want_keyed, &at)?;
            let index = real.rsplit('/').next().is_some_and(|s| s.parse::<usize>().is_ok());
            let key = segment.parse::<usize>().is_err();
            return (index && key).then_some((at, real));
        }
    }
    None
}

/// Every difference between the re-rendered objects and the live ones, matched by kind,
/// namespace and name.
fn deviations(g: &GoldenPath, expected: &[Value], live: &[&Resource]) -> Vec<Deviation> {
    let mut out = Vec::new();
    for want in expected {
        let object = identity_of(want);
        let Some(have) = live.iter().find(|r| same_object(&r.identity(), &object)) else {
            out.push(Deviation {
                expected: Some(json!(format!("{}/{}", object.api_version, object.kind))),
                object,
                path: String::new(),
                kind: DeviationKind::Drift,
                change: ChangeKind::Missing,
                actual: None,
                extension_point: None,
                source: None,
            });
            continue;
        };
        // Lists Kubernetes merges by key are compared by key: a missing env entry is one
        // missing entry, not every entry after it changed.
        let (want_keyed, have_keyed) = (keyed(want), keyed(&have.value));
        let mut missing_items: Vec<String> = Vec::new();
        for c in diff::diff(&want_keyed, &have_keyed, true) {
            let c = match missing_item(want, &want_keyed, &have_keyed, &c) {
                // A list item that is gone is one deviation, not one per field of it.
                Some((item, _)) if missing_items.contains(&item) => continue,
                Some((item, real)) => {
                    missing_items.push(item);
                    diff::Change { before: want.pointer(&real).cloned(), after: None, path: real }
                }
                None => {
                    let path = real_path(&have.value, &have_keyed, &c.path)
                        .or_else(|| real_path(want, &want_keyed, &c.path))
                        .unwrap_or_else(|| c.path.clone());
                    diff::Change { path, ..c }
                }
            };
            if ignored(&object.kind, &c, &have.value) {
                continue;
            }
            let extension_point = g.extension_points.iter().find(|p| covers(p, &c.path)).cloned();
            out.push(Deviation {
                object: object.clone(),
                kind: if extension_point.is_some() { DeviationKind::Extension } else { DeviationKind::Drift },
                change: match (&c.before, &c.after) {
                    (Some(_), Some(_)) => ChangeKind::Changed,
                    (Some(_), None) => ChangeKind::Missing,
                    _ => ChangeKind::Extra,
                },
                source: have.source_of(&c.path),
                path: c.path,
                expected: c.before,
                actual: c.after,
                extension_point,
            });
        }
    }
    for have in live.iter().filter(|r| !expected.iter().any(|w| same_object(&identity_of(w), &r.identity()))) {
        out.push(Deviation {
            object: have.identity(),
            path: String::new(),
            kind: DeviationKind::Drift,
            change: ChangeKind::Extra,
            expected: None,
            actual: None,
            extension_point: None,
            source: have.source_of(""),
        });
    }
    out
}

/// Defaults as (kind, exact pointer pattern, value).
static DEFAULTS: LazyLock<Vec<(&'static str, String, Value)>> = LazyLock::new(|| {
    let parse = |v: &str| serde_json::from_str(v).unwrap_or(Value::Null);
    let pods = k8s::CONTROLLERS.iter().flat_map(|c| {
        k8s::POD_DEFAULTS.iter().map(move |(p, v)| (c.kind, format!("{}/spec{p}", c.template), parse(v)))
    });
    k8s::KIND_DEFAULTS.iter().map(|(k, p, v)| (*k, (*p).to_owned(), parse(v))).chain(pods).collect()
});

/// Whether a difference is the API server's doing: a managed field, a default it filled in, a
/// value it rewrote to the same meaning, or an empty list or mapping it left out. `live` is the
/// live object.
pub(super) fn ignored(kind: &str, c: &diff::Change, live: &Value) -> bool {
    let exact = |pattern: &str| covers(pattern, &c.path) && pattern.split('/').count() == c.path.split('/').count();
    let empty = |v: &Value| v.as_array().is_some_and(Vec::is_empty) || v.as_object().is_some_and(|m| m.is_empty());
    (c.after.is_none() && c.before.as_ref().is_some_and(empty))
        || k8s::SERVER_MANAGED.iter().any(|p| covers(p, &c.path))
        || (kind == "Service" && k8s::SERVICE_ASSIGNED.iter().any(|p| covers(p, &c.path)))
        || (c.before.is_none() && k8s::KIND_ASSIGNED.iter().any(|(k, p)| *k == kind && covers(p, &c.path)))
        || (c.before.is_none()
            && DEFAULTS.iter().any(|(k, p, v)| *k == kind && exact(p) && c.after.as_ref() == Some(v)))
        || (c.before.is_none() && derived_default(kind, &c.path, c.after.as_ref(), live))
        || same_quantity(&c.path, c.before.as_ref(), c.after.as_ref())
}

/// Defaults the API server derives from the object itself: a Service port's `targetPort` is its
/// `port`; a NetworkPolicy's `policyTypes` are the directions it has rules for (`Ingress`
/// always); a pod's deprecated `serviceAccount` is its `serviceAccountName`.
fn derived_default(kind: &str, path: &str, value: Option<&Value>, live: &Value) -> bool {
    let Some(value) = value else { return false };
    if let Some(spec) = path.strip_suffix("/serviceAccount").filter(|s| s.ends_with("/spec")) {
        return live.pointer(&format!("{spec}/serviceAccountName")) == Some(value);
    }
    match kind {
        "Service" if covers("/spec/ports/*/targetPort", path) && path.matches('/').count() == 4 => {
            let port = path.strip_suffix("/targetPort").map(|p| format!("{p}/port"));
            port.and_then(|p| live.pointer(&p)) == Some(value)
        }
        "NetworkPolicy" if path.starts_with("/spec/policyTypes/") => {
            let egress = live.pointer("/spec/egress").is_some();
            match path {
                "/spec/policyTypes/0" => value == "Ingress",
                "/spec/policyTypes/1" => egress && value == "Egress",
                _ => false,
            }
        }
        _ => false,
    }
}

/// Whether a resource quantity was rewritten to its canonical form (`1000m` read back as `"1"`,
/// `1024Mi` as `1Gi`): the same amount is no drift.
fn same_quantity(path: &str, before: Option<&Value>, after: Option<&Value>) -> bool {
    let quantity_field = path.contains("/resources/") || path.ends_with("/storage") || path.ends_with("/sizeLimit");
    match (before, after) {
        (Some(b), Some(a)) if quantity_field => matches!((k8s::quantity(b), k8s::quantity(a)),
            (Some(x), Some(y)) if (x - y).abs() <= f64::EPSILON * x.abs().max(1.0)),
        _ => false,
    }
}

/// Adoption of golden paths across `resources`: services per version, how far behind each is,
/// deprecated and sunset versions, unknown claims, and workloads on no golden path.
pub(crate) fn outdated(bundle: &Bundle, resources: &[Resource], now: Timestamp) -> Fleet {
    let (claims, unmanaged) = claims(resources);
    let conformance = conform(bundle, resources, &Context::at(now));
    let drift = |service: &str, namespace: &str, golden_path: &str| {
        let s = conformance.services.iter().find(|s| {
            (&s.service, &s.namespace, &s.golden_path)
                == (&service.to_owned(), &namespace.to_owned(), &golden_path.to_owned())
        });
        s.filter(|s| s.error.is_none()).map(|s| s.score.total)
    };
    let mut drift_sums: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut summary = FleetSummary { unmanaged: unmanaged.len(), ..FleetSummary::default() };
    let mut adoption: BTreeMap<(String, std::cmp::Reverse<Version>), Adoption> = bundle
        .golden_paths()
        .map(|g| {
            let a = Adoption {
                golden_path: g.name().to_owned(),
                version: g.version().to_string(),
                services: 0,
                standing: standing(bundle, g, now),
                mean_drift_score: 0.0,
            };
            ((g.name().to_owned(), std::cmp::Reverse(g.version().clone())), a)
        })
        .collect();
    let services: Vec<FleetService> = claims
        .iter()
        .map(|c| {
            let (service, namespace) = c.service();
            summary.services += 1;
            let (standing, error) = match resolve(bundle, &c.golden_path) {
                Ok(g) => {
                    let s = standing(bundle, g, now);
                    if let Some(a) = adoption.get_mut(&(g.name().to_owned(), std::cmp::Reverse(g.version().clone()))) {
                        a.services += 1;
                    }
                    *match s.behind {
                        Lag::Current => &mut summary.current,
                        Lag::Patch => &mut summary.behind_patch,
                        Lag::Minor => &mut summary.behind_minor,
                        Lag::Major => &mut summary.behind_major,
                    } += 1;
                    summary.deprecated += usize::from(s.deprecated.is_some());
                    summary.sunset += usize::from(s.sunset);
                    (Some(s), None)
                }
                Err(e) => {
                    summary.unknown += 1;
                    (None, Some(e))
                }
            };
            let drift_score = drift(&service, &namespace, &c.golden_path);
            if let Some(score) = drift_score {
                let (sum, n) = drift_sums.entry(c.golden_path.clone()).or_default();
                *sum += u64::from(score);
                *n += 1;
            }
            FleetService { service, namespace, golden_path: c.golden_path.clone(), standing, error, drift_score }
        })
        .collect();
    for a in adoption.values_mut() {
        if let Some((sum, n)) = drift_sums.get(&format!("{}@{}", a.golden_path, a.version)).filter(|(_, n)| *n > 0) {
            a.mean_drift_score = *sum as f64 / *n as f64;
        }
    }
    let all = summary.services + summary.unmanaged;
    summary.adoption_rate = if all == 0 { 0.0 } else { summary.services as f64 / all as f64 };
    Fleet { adoption: adoption.into_values().collect(), services, unmanaged, summary }
}
