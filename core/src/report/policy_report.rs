//! `wgpolicyk8s.io/v1alpha2` PolicyReports, the format Kubernetes policy engines share (Kyverno,
//! Policy Reporter and its UI read it).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{json, Value};

use super::contract::{Finding, Report, ResourceReport};
use super::info::PolicyInfo;
use super::writer::{pretty, Writer};
use crate::model::{Action, Severity};

/// The report as a `v1` `List` of PolicyReports: one `PolicyReport` per namespace and one
/// `ClusterPolicyReport` for cluster-scoped resources. Every rule of every policy that applied
/// to a resource has a result: `pass`, `fail` (`Deny` and `Audit`), `warn`, `error` (could not
/// be evaluated), or `skip` (waived by an exception). `now` stamps the results.
fn policy_report(report: &Report, policies: &[PolicyInfo], now: Timestamp) -> Value {
    let by_name: BTreeMap<&str, &PolicyInfo> = policies.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut scopes: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (r, findings) in report.by_resource() {
        let results = scopes.entry(r.resource.namespace.as_str()).or_default();
        for name in &r.policies {
            let Some(policy) = by_name.get(name.as_str()) else {
                continue;
            };
            for rule in &policy.rules {
                let mine: Vec<&Finding> = findings.iter().filter(|f| &f.policy == name && f.rule == rule.id).collect();
                if mine.is_empty() {
                    results.push(result(r, name, &rule.id, "pass", "passed", rule.severity, json!({}), now));
                }
                for f in mine {
                    let outcome = match (&f.waived_by, &f.error, f.action) {
                        (Some(_), _, _) => "skip",
                        (None, Some(_), _) => "error",
                        (None, None, Action::Warn) => "warn",
                        (None, None, Action::Deny | Action::Audit) => "fail",
                    };
                    let mut props = serde_json::Map::new();
                    props.insert("path".into(), json!(f.path));
                    props.insert("action".into(), json!(f.action));
                    if let Some(c) = &f.container {
                        props.insert("container".into(), json!(c));
                    }
                    if let Some(w) = &f.waived_by {
                        props.insert("exception".into(), json!(w));
                    }
                    let props = Value::Object(props);
                    results.push(result(r, name, &rule.id, outcome, &f.message, f.severity, props, now));
                }
            }
        }
    }
    let items: Vec<Value> = scopes
        .into_iter()
        .map(|(namespace, results)| {
            let mut summary = BTreeMap::from([("pass", 0), ("fail", 0), ("warn", 0), ("error", 0), ("skip", 0)]);
            for r in &results {
                if let Some(n) = r.get("result").and_then(Value::as_str).and_then(|k| summary.get_mut(k)) {
                    *n += 1;
                }
            }
            let mut metadata = json!({ "name": "paved", "labels": { "app.kubernetes.io/managed-by": "paved" } });
            let kind = if namespace.is_empty() {
                "ClusterPolicyReport"
            } else {
                insert(&mut metadata, "namespace", json!(namespace));
                "PolicyReport"
            };
            json!({
                "apiVersion": "wgpolicyk8s.io/v1alpha2",
                "kind": kind,
                "metadata": metadata,
                "summary": summary,
                "results": results,
            })
        })
        .collect();
    json!({ "apiVersion": "v1", "kind": "List", "items": items })
}

#[allow(clippy::too_many_arguments)]
fn result(
    r: &ResourceReport,
    policy: &str,
    rule: &str,
    outcome: &str,
    message: &str,
    severity: Severity,
    properties: Value,
    now: Timestamp,
) -> Value {
    let res = &r.resource;
    let mut object = json!({ "apiVersion": res.api_version, "kind": res.kind, "name": res.name });
    if !res.namespace.is_empty() {
        insert(&mut object, "namespace", json!(res.namespace));
    }
    let mut v = json!({
        "source": "paved",
        "policy": policy,
        "rule": rule,
        "result": outcome,
        "message": message,
        "severity": severity,
        "scored": true,
        "timestamp": { "seconds": now.as_second(), "nanos": now.subsec_nanosecond() },
        "resources": [object],
    });
    if properties.as_object().is_some_and(|m| !m.is_empty()) {
        insert(&mut v, "properties", properties);
    }
    v
}

fn insert(object: &mut Value, key: &str, value: Value) {
    if let Some(m) = object.as_object_mut() {
        m.insert(key.to_owned(), value);
    }
}

/// PolicyReports: see [`policy_report`].
pub(super) struct PolicyReports;

impl Writer for PolicyReports {
    fn write(&self, report: &Report) -> String {
        pretty(&policy_report(report, &report.policies, report.now))
    }
}
