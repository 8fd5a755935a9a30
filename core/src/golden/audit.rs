//! What an audit writes: the policies' results and, for every service on a golden path, how far
//! it has drifted, as one set of PolicyReports.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::fleet::{Conformance, DeviationKind, ServiceConformance};
use crate::report::{policy_reports_of, policy_results, stamp, Report, ReportKind};

/// The policy name drift results carry.
pub const DRIFT_POLICY: &str = "golden-path-conformance";

/// The reports of an audit (see [`Report::policy_reports`]) for the namespace `namespace`
/// (empty: cluster-scoped; `None`: every namespace): `report`'s results, and one result per
/// service of `drift` (policy `golden-path-conformance`, rule `drift`): `pass` when it is what
/// its golden path renders, `fail` with its drift score and what drifted when not, `error` when
/// it could not be re-rendered. An audit of a large cluster makes them one namespace at a time
/// (see [`audit_namespaces`]), so it never holds every report at once.
pub fn audit_reports(
    report: Option<&Report>,
    drift: Option<&Conformance>,
    namespace: Option<&str>,
    now: jiff::Timestamp,
    format: (ReportKind, usize),
) -> Vec<Value> {
    let mut scopes = report.map(|r| policy_results(r, &r.policies, r.now, namespace)).unwrap_or_default();
    let services = drift.map(|d| d.services.as_slice()).unwrap_or_default();
    for s in services.iter().filter(|s| namespace.is_none_or(|ns| s.namespace == ns)) {
        scopes.entry(s.namespace.clone()).or_default().push(drift_result(s, now));
    }
    policy_reports_of(scopes, format.0, format.1)
}

/// The namespaces (empty: cluster-scoped objects) [`audit_reports`] has results for.
pub fn audit_namespaces(report: Option<&Report>, drift: Option<&Conformance>) -> BTreeSet<String> {
    let resources = report.into_iter().flat_map(|r| &r.resources).filter(|r| !r.policies.is_empty());
    let services = drift.into_iter().flat_map(|d| &d.services);
    resources.map(|r| r.resource.namespace.clone()).chain(services.map(|s| s.namespace.clone())).collect()
}

/// One service's conformance as a report result.
fn drift_result(s: &ServiceConformance, now: jiff::Timestamp) -> Value {
    let drifted: Vec<String> = s
        .deviations
        .iter()
        .filter(|d| d.kind == DeviationKind::Drift)
        .map(|d| format!("{}{}", d.object, d.path))
        .collect();
    let score = s.score;
    let (outcome, message) = match &s.error {
        Some(e) => ("error", format!("{} cannot be checked: {e}", s.golden_path)),
        None if s.conforms() => ("pass", format!("{} as rendered (drift score {})", s.golden_path, score.total)),
        None => {
            let mut why = Vec::new();
            if !drifted.is_empty() {
                let shown: Vec<&str> = drifted.iter().take(5).map(String::as_str).collect();
                let more = drifted.len().saturating_sub(shown.len());
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                why.push(format!("drifted: {}{more}", shown.join(", ")));
            }
            if score.findings > 0 {
                why.push(format!("its golden path's policies deny it ({} points)", score.findings));
            }
            (
                "fail",
                format!(
                    "{} drifted from its golden path (drift score {}): {}",
                    s.golden_path,
                    score.total,
                    why.join("; ")
                ),
            )
        }
    };
    let standing = s.standing.as_ref();
    let mut properties = BTreeMap::from([
        ("goldenPath", s.golden_path.clone()),
        ("service", s.service.clone()),
        ("driftScore", score.total.to_string()),
        ("driftedFields", drifted.len().to_string()),
    ]);
    if let Some(st) = standing {
        properties.insert("latest", st.latest.clone());
        properties.insert("behind", st.behind.as_str().to_owned());
        properties.insert("sunset", st.sunset.to_string());
    }
    let resources: Vec<Value> = s
        .objects
        .iter()
        .map(|o| {
            let mut r = json!({ "apiVersion": o.api_version, "kind": o.kind, "name": o.name });
            if let Some(m) = r.as_object_mut().filter(|_| !o.namespace.is_empty()) {
                m.insert("namespace".into(), json!(o.namespace));
            }
            r
        })
        .collect();
    let sunset = standing.is_some_and(|st| st.sunset);
    json!({
        "source": "paved",
        "policy": DRIFT_POLICY,
        "rule": "drift",
        "result": outcome,
        "message": message,
        "severity": if sunset { "high" } else { "medium" },
        "scored": true,
        "timestamp": stamp(now),
        "resources": resources,
        "properties": properties,
    })
}
