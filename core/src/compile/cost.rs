//! `cost` rules: what a resource provisions, priced by the month, before and after its change.
//! A Terraform plan's instances and databases are priced from the price table
//! (`packs/prices/aws.yaml`, with `params.prices` over it); a Kubernetes workload's CPU and
//! memory requests at `params.cpuCoreHour` and `params.memoryGiBHour`, times its replicas. The
//! engine sums the changes of each budget's group over the run and judges the budgets.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;

use crate::model::CostSpec;

/// The price table shipped with paved.
const AWS: &str = include_str!("../../../packs/prices/aws.yaml");

/// A price table: hourly prices by region and type, and how a month is counted.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Table {
    currency: String,
    hours_per_month: f64,
    default_region: String,
    regions: BTreeMap<String, BTreeMap<String, f64>>,
}

static TABLE: LazyLock<Option<Table>> = LazyLock::new(|| {
    let docs = crate::load::parse_text("packs/prices/aws.yaml", AWS).ok()?;
    serde_json::from_value(docs.into_iter().next()?.value).ok()
});

/// Kubecost's default rates (US dollars per core-hour and per GiB-hour), for a run that sets
/// none.
const CPU_CORE_HOUR: f64 = 0.031_611;
const MEMORY_GIB_HOUR: f64 = 0.004_237;

/// A compiled `cost` rule.
#[derive(Debug)]
pub(crate) struct CostCheck {
    pub budget_by: String,
    pub owner_by: String,
}

impl CostCheck {
    pub(crate) fn new(spec: &CostSpec) -> Self {
        CostCheck {
            budget_by: spec.budget_by.clone().unwrap_or_else(|| "environment".into()),
            owner_by: spec.owner_by.clone().unwrap_or_else(|| "owner".into()),
        }
    }
}

/// What one resource costs by the month, before its change and after: `None` where there is
/// nothing (a resource created, or deleted).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Priced {
    /// What was priced: `c5.4xlarge in eu-west-1`, `3 × (500m CPU, 1 GiB)`.
    pub item: String,
    pub before: Option<f64>,
    pub after: Option<f64>,
    pub currency: String,
}

/// Why a resource could not be priced.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Unpriced {
    /// Its size is known only after apply.
    Unknown(String),
    /// The table has no price for it.
    Missing(String),
}

/// The monthly cost of a resource (`object`) and of what it was (`old`), under the rule's
/// `params`; `Ok(None)` for a kind no price applies to.
pub(crate) fn price(object: &Value, old: Option<&Value>, params: Option<&Value>) -> Result<Option<Priced>, Unpriced> {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
    let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    if api_version.starts_with("terraform/") {
        return terraform(kind, object, old, params);
    }
    workload(object, old, params)
}

/// A Terraform instance or database: its type in its region, hourly, by the month.
fn terraform(
    kind: &str,
    object: &Value,
    old: Option<&Value>,
    params: Option<&Value>,
) -> Result<Option<Priced>, Unpriced> {
    let field = match kind {
        "aws_instance" => "instance_type",
        "aws_db_instance" | "aws_rds_cluster_instance" => "instance_class",
        _ => return Ok(None),
    };
    let Some(table) = TABLE.as_ref() else { return Err(Unpriced::Missing("the price table does not load".into())) };
    let deleted = object
        .pointer("/terraform/actions")
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() == 1 && a.first().and_then(Value::as_str) == Some("delete"));
    let region = object.pointer("/terraform/region").and_then(Value::as_str).unwrap_or(&table.default_region);
    let monthly = |values: &Value| -> Result<(String, f64), Unpriced> {
        let size = values.get(field);
        if size.is_some_and(crate::load::unknown::is_unknown) {
            return Err(Unpriced::Unknown(format!("its {field} is known only after apply")));
        }
        let size = size.and_then(Value::as_str).unwrap_or_default();
        let hourly = params
            .and_then(|p| p.pointer(&format!("/prices/{region}/{}", crate::load::pointer::escape_segment(size))))
            .and_then(Value::as_f64)
            .or_else(|| table.regions.get(region).and_then(|r| r.get(size)).copied())
            .ok_or_else(|| {
                Unpriced::Missing(format!("no price for {size} in {region}: add it to params.prices.{region}"))
            })?;
        let copies = if values.get("multi_az") == Some(&Value::Bool(true)) { 2.0 } else { 1.0 };
        Ok((format!("{size} in {region}"), hourly * copies * table.hours_per_month))
    };
    let values = |v: &Value| v.get("values").cloned().unwrap_or(Value::Null);
    let before = old.map(|o| monthly(&values(o))).transpose()?;
    let (item, after) = if deleted {
        (before.as_ref().map(|(i, _)| format!("{i}, deleted")).unwrap_or_default(), None)
    } else {
        let (item, m) = monthly(&values(object))?;
        (item, Some(m))
    };
    Ok(Some(Priced { item, before: before.map(|(_, m)| m), after, currency: table.currency.clone() }))
}

/// A Kubernetes workload: its pods' CPU and memory requests, times its replicas, at the
/// params' rates.
fn workload(object: &Value, old: Option<&Value>, params: Option<&Value>) -> Result<Option<Priced>, Unpriced> {
    let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
    let Some(spec) = crate::k8s::pod_spec(api_version, kind) else { return Ok(None) };
    let rate = |key: &str, default: f64| params.and_then(|p| p.get(key)).and_then(Value::as_f64).unwrap_or(default);
    let (cpu_rate, memory_rate) = (rate("cpuCoreHour", CPU_CORE_HOUR), rate("memoryGiBHour", MEMORY_GIB_HOUR));
    let hours = TABLE.as_ref().map_or(730.0, |t| t.hours_per_month);
    let requests = |o: &Value| -> (f64, f64, f64) {
        let (group, _) = crate::k8s::split_api_version(api_version);
        let replicas = crate::k8s::controller(group, kind)
            .map_or(Some(1.0), |c| c.replicas.map(|r| o.pointer(r).and_then(Value::as_f64).unwrap_or(1.0)))
            .unwrap_or(1.0);
        let containers = o.pointer(&format!("{spec}/containers")).and_then(Value::as_array);
        let sum = |what: &str| -> f64 {
            containers
                .into_iter()
                .flatten()
                .filter_map(|c| c.pointer(&format!("/resources/requests/{what}")).and_then(crate::k8s::quantity))
                .sum()
        };
        (replicas, sum("cpu"), sum("memory") / f64::from(1u32 << 30))
    };
    let monthly = |(replicas, cpu, gib): (f64, f64, f64)| replicas * (cpu * cpu_rate + gib * memory_rate) * hours;
    let now = requests(object);
    let item = format!("{} × ({} CPU, {:.2} GiB)", now.0, trim(now.1), now.2);
    let currency = TABLE.as_ref().map_or_else(|| "USD".into(), |t| t.currency.clone());
    Ok(Some(Priced { item, before: old.map(|o| monthly(requests(o))), after: Some(monthly(now)), currency }))
}

/// A number of cores as people write it: `0.5`, `2`.
fn trim(n: f64) -> String {
    let text = format!("{n:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn instance(kind: &str, size: Value, actions: &str) -> Value {
        json!({"apiVersion": "terraform/aws", "kind": kind, "metadata": {"name": "x"},
               "values": {"instance_type": size, "instance_class": size}, "terraform": {"actions": [actions], "region": "us-east-1"}})
    }

    #[test]
    fn the_table_loads_and_prices_a_month() {
        let p = price(&instance("aws_instance", json!("c5.4xlarge"), "create"), None, None).unwrap().unwrap();
        assert_eq!((p.item.as_str(), p.before), ("c5.4xlarge in us-east-1", None));
        assert!((p.after.unwrap() - 496.4).abs() < 0.01, "{p:?}");
        let old = instance("aws_instance", json!("t3.small"), "update");
        let p = price(&instance("aws_instance", json!("t3.medium"), "update"), Some(&old), None).unwrap().unwrap();
        assert!((p.after.unwrap() - p.before.unwrap() - 0.0208 * 730.0).abs() < 0.01, "{p:?}");
    }

    #[test]
    fn a_deleted_instance_saves_its_price() {
        let gone = instance("aws_instance", json!("c5.4xlarge"), "delete");
        let p = price(&gone, Some(&gone), None).unwrap().unwrap();
        assert_eq!((p.item.as_str(), p.after), ("c5.4xlarge in us-east-1, deleted", None));
        assert!((p.before.unwrap() - 496.4).abs() < 0.01, "{p:?}");
    }

    #[test]
    fn unknown_sizes_and_missing_prices_are_said() {
        let unknown = instance("aws_instance", crate::load::unknown::unknown(), "create");
        assert!(matches!(price(&unknown, None, None), Err(Unpriced::Unknown(_))));
        let exotic = instance("aws_instance", json!("x9z.huge"), "create");
        let Err(Unpriced::Missing(why)) = price(&exotic, None, None) else { panic!() };
        assert!(why.contains("params.prices.us-east-1"), "{why}");
        let own = json!({"prices": {"us-east-1": {"x9z.huge": 1.0}}});
        assert_eq!(price(&exotic, None, Some(&own)).unwrap().unwrap().after, Some(730.0));
    }

    #[test]
    fn a_workload_is_priced_by_its_requests() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 3, "template": {"spec": {"containers": [
            {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]}}}});
        let p = price(&d, None, Some(&json!({"cpuCoreHour": 0.04, "memoryGiBHour": 0.005}))).unwrap().unwrap();
        assert_eq!(p.item, "3 × (0.5 CPU, 1.00 GiB)");
        assert!((p.after.unwrap() - 3.0 * (0.5 * 0.04 + 0.005) * 730.0).abs() < 1e-6);
        assert_eq!(crate::report::money(-1200, "USD", true), "-$12.00");
        assert_eq!(crate::report::money(49640, "EUR", false), "EUR 496.40");
    }
}
