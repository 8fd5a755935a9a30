//! A policy test suite and its cases, as compiled: what `PolicyTest` documents and Kyverno's
//! test files both become.

use jiff::Timestamp;
use serde_json::Value;

use crate::compile::bundle::Bundle;
use crate::engine::inventory::Inventory;
use crate::engine::resource::Resource;
use crate::engine::Context;
use crate::error::{did_you_mean, Diagnostics, Error};
use crate::k8s::ResourceRef;
use crate::load::Origin;
use crate::model::Outcome;

/// A loaded policy test: the policies under test and its cases, validated.
///
/// ```
/// let suites = paved::TestSuite::from_str("labels.test.yaml", r#"
/// apiVersion: paved.dev/v1
/// kind: PolicyTest
/// metadata: { name: team-label }
/// spec:
///   packs: [platform-baseline]
///   cases:
///     - name: a floating tag is not pinned
///       resources:
///         - apiVersion: v1
///           kind: Pod
///           metadata: { name: web, namespace: shop }
///           spec: { containers: [ { name: app, image: "nginx:latest" } ] }
///       expect:
///         - { resource: Pod/web, policy: images, rule: image-pinned, result: fail }
/// "#)?;
/// let report = suites[0].run("2026-01-01T00:00:00Z".parse().unwrap());
/// assert!(report.passed());
/// # Ok::<(), paved::Error>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TestSuite {
    pub(super) name: String,
    pub(super) file: String,
    pub(super) bundle: Bundle,
    pub(super) now: Option<Timestamp>,
    pub(super) base: Context,
    pub(super) cases: Vec<Case>,
}

#[derive(Debug, Clone)]
pub(super) struct Case {
    pub(super) name: String,
    pub(super) line: u32,
    pub(super) now: Option<Timestamp>,
    pub(super) operation: Option<crate::k8s::Operation>,
    pub(super) user_info: Option<Value>,
    pub(super) namespace: Option<String>,
    pub(super) resources: Vec<Resource>,
    pub(super) inventory: Option<Inventory>,
    pub(super) images: crate::model::ImageVerdicts,
    pub(super) exceptions: Bundle,
    pub(super) expect: Vec<Expect>,
    /// Whether the bundle's engine must refuse to build (a gator test of an invalid
    /// constraint).
    pub(super) invalid: bool,
}

#[derive(Debug, Clone)]
pub(super) struct Expect {
    pub(super) resource: String,
    pub(super) index: usize,
    pub(super) policy: String,
    pub(super) rule: Option<String>,
    pub(super) result: Outcome,
    pub(super) line: u32,
    /// Whether an evaluation error is its own outcome (`error`, as Kyverno's tests have it);
    /// paved's tests count it as the failure it is under `failurePolicy: Fail`.
    pub(super) errors_apart: bool,
    /// A count of findings instead of an outcome (gator's assertions).
    pub(super) violations: Option<Violations>,
    /// The resource as the mutations should leave it (Kyverno's `patchedResources`).
    pub(super) patched: Option<Value>,
}

/// How many findings a gator assertion wants: at least one (`None`) or exactly so many, of
/// those whose message matches `message`.
#[derive(Debug, Clone)]
pub(super) struct Violations {
    pub(super) want: Option<u64>,
    pub(super) message: Option<regex::Regex>,
}

impl TestSuite {
    /// The same suite, running the Rego of each Gatekeeper template that has both Rego and CEL
    /// code instead of its CEL.
    pub fn with_gatekeeper_rego(mut self) -> TestSuite {
        self.bundle = self.bundle.with_gatekeeper_rego();
        self
    }
}

/// The one resource `Kind/name` or `Kind/namespace/name` names.
pub(super) fn find(ids: &[ResourceRef], name: &str) -> Result<usize, (String, Option<String>)> {
    let parts: Vec<&str> = name.split('/').collect();
    let (kind, namespace, object) = match parts.as_slice() {
        [k, n] => (*k, None, *n),
        [k, ns, n] => (*k, Some(*ns), *n),
        _ => return Err((format!("`{name}` is not `Kind/name` or `Kind/namespace/name`"), None)),
    };
    let hits: Vec<usize> = ids
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind == kind && r.name == object && namespace.is_none_or(|ns| r.namespace == ns))
        .map(|(i, _)| i)
        .collect();
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => {
            let all: Vec<String> = ids.iter().map(ResourceRef::to_string).collect();
            let help = match did_you_mean(name, all.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None if all.is_empty() => "the case has no resources".into(),
                None => format!("the case's resources are: {}", all.join(", ")),
            };
            Err((format!("the case has no resource `{name}`"), Some(help)))
        }
        many => Err((
            format!("`{name}` names {} resources of the case", many.len()),
            Some("name the namespace: `Kind/namespace/name`".into()),
        )),
    }
}

/// What a load gave, its problems reported (at `field` when they are not the file's own).
pub(super) fn gather<T>(origin: &Origin, field: &str, loaded: Result<T, Error>, diags: &mut Diagnostics) -> Option<T> {
    match loaded {
        Ok(t) => Some(t),
        Err(Error::Invalid(d)) => {
            d.0.into_iter().for_each(|d| diags.push(d));
            None
        }
        Err(e) => {
            diags.push(origin.diagnostic(field, e.to_string(), None));
            None
        }
    }
}
