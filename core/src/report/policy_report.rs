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
    list(results(report, policies, now, None))
}

/// Every result of `report` (of the namespace `only`, when given; empty: cluster-scoped), by
/// namespace.
pub(crate) fn results(
    report: &Report,
    policies: &[PolicyInfo],
    now: Timestamp,
    only: Option<&str>,
) -> BTreeMap<String, Vec<Value>> {
    let by_name: BTreeMap<&str, &PolicyInfo> = policies.iter().map(|p| (p.name.as_str(), p)).collect();
    let mut scopes: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let within = |r: &&ResourceReport| only.is_none_or(|ns| r.resource.namespace == ns);
    for (r, findings) in report.by_resource().filter(|(r, _)| within(r)) {
        let results = scopes.entry(r.resource.namespace.clone()).or_default();
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
                        // Known only after apply: not evaluated, as Kyverno's `skip` says.
                        (None, Some(_), _) if f.unknown() => "skip",
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
    scopes
}

/// The reports of `scopes` as a `v1` `List`.
fn list(scopes: BTreeMap<String, Vec<Value>>) -> Value {
    let items: Vec<Value> = scopes
        .into_iter()
        .map(|(namespace, results)| {
            let summary = summary(&results);
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
        "timestamp": stamp(now),
        "resources": [object],
    });
    if properties.as_object().is_some_and(|m| !m.is_empty()) {
        insert(&mut v, "properties", properties);
    }
    v
}

/// A result's `timestamp`.
pub(crate) fn stamp(now: Timestamp) -> Value {
    json!({ "seconds": now.as_second(), "nanos": now.subsec_nanosecond() })
}

fn insert(object: &mut Value, key: &str, value: Value) {
    if let Some(m) = object.as_object_mut() {
        m.insert(key.to_owned(), value);
    }
}

/// Which report kinds an audit writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// `wgpolicyk8s.io/v1alpha2` PolicyReport and ClusterPolicyReport.
    PolicyReport,
    /// `openreports.io/v1alpha1` Report and ClusterReport (the same fields).
    OpenReports,
}

impl Report {
    /// The report as the objects an audit writes: one report per namespace (and one for
    /// cluster-scoped objects), of `kind`, each split into parts (`paved`, `paved-2`, ...) whose
    /// JSON stays within `max_bytes` (etcd refuses objects over 1.5 MB). A result that is over
    /// the limit alone is a part of its own.
    pub fn policy_reports(&self, kind: ReportKind, max_bytes: usize) -> Vec<Value> {
        reports(results(self, &self.policies, self.now, None), kind, max_bytes)
    }
}

/// The reports of `scopes` (results by namespace), as [`Report::policy_reports`] makes them.
pub(crate) fn reports(scopes: BTreeMap<String, Vec<Value>>, kind: ReportKind, max_bytes: usize) -> Vec<Value> {
    let list = list(scopes);
    let items = list.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
    items.into_iter().flat_map(|item| split(item, max_bytes)).map(|item| as_kind(item, kind)).collect()
}

/// A report in parts whose JSON is within `max_bytes`, each with its own summary; the first keeps
/// the name.
fn split(report: Value, max_bytes: usize) -> Vec<Value> {
    let size = |v: &Value| serde_json::to_string(v).map_or(0, |s| s.len());
    if size(&report) <= max_bytes {
        return vec![report];
    }
    let results = report.get("results").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut shell = report;
    insert(&mut shell, "results", json!([]));
    let room = max_bytes.saturating_sub(size(&shell) + 64);
    let mut parts: Vec<Vec<Value>> = vec![Vec::new()];
    let mut used = 0;
    for r in results {
        let n = size(&r) + 1;
        if used + n > room && parts.last().is_some_and(|p| !p.is_empty()) {
            parts.push(Vec::new());
            used = 0;
        }
        used += n;
        if let Some(p) = parts.last_mut() {
            p.push(r);
        }
    }
    parts
        .into_iter()
        .enumerate()
        .map(|(i, results)| {
            let mut part = shell.clone();
            if let Some(metadata) = part.get_mut("metadata").filter(|_| i > 0) {
                insert(metadata, "name", json!(format!("paved-{}", i + 1)));
            }
            insert(&mut part, "summary", summary(&results));
            insert(&mut part, "results", Value::Array(results));
            part
        })
        .collect()
}

/// How many results of each outcome.
fn summary(results: &[Value]) -> Value {
    let mut summary = BTreeMap::from([("pass", 0), ("fail", 0), ("warn", 0), ("error", 0), ("skip", 0)]);
    for r in results {
        if let Some(n) = r.get("result").and_then(Value::as_str).and_then(|k| summary.get_mut(k)) {
            *n += 1;
        }
    }
    json!(summary)
}

/// A PolicyReport (ClusterPolicyReport) as the kind asked for.
fn as_kind(mut report: Value, kind: ReportKind) -> Value {
    if kind == ReportKind::OpenReports {
        let cluster = report.get("kind").and_then(Value::as_str) == Some("ClusterPolicyReport");
        insert(&mut report, "apiVersion", json!("openreports.io/v1alpha1"));
        insert(&mut report, "kind", json!(if cluster { "ClusterReport" } else { "Report" }));
    }
    report
}

/// PolicyReports: see [`policy_report`].
pub(super) struct PolicyReports;

impl Writer for PolicyReports {
    fn write(&self, report: &Report) -> String {
        pretty(&policy_report(report, &report.policies, report.now))
    }
}
