//! What a workload will cost each month, against its team's budget.
//!
//! The estimate is replicas × the sum over containers of requested CPU cores × `prices.cpu` plus
//! requested memory in GiB × `prices.memoryGiB` (prices per month). The team is the workload's
//! `team` label (or `teamLabel`); its budget comes from `budgets`, else `defaultBudget`. A
//! container without requests cannot be estimated and is reported, since it is also unbounded.

use std::collections::BTreeMap;

use paved_pdk::{export_plugin, json, Error, Finding, Input, Metadata, Plugin, Severity};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Params {
    prices: Prices,
    #[serde(default)]
    budgets: BTreeMap<String, f64>,
    #[serde(default)]
    default_budget: Option<f64>,
    #[serde(default = "team")]
    team_label: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Prices {
    cpu: f64,
    memory_gi_b: f64,
}

fn team() -> String {
    "team".into()
}

const GIB: f64 = 1_073_741_824.0;

struct CostBudget;

impl Plugin for CostBudget {
    fn metadata() -> Metadata {
        Metadata::new("cost-budget", env!("CARGO_PKG_VERSION"), "Estimates a workload's monthly cost from its requests and denies it above its team's budget.")
            .rule("over-budget", "The estimated monthly cost stays within the team's budget.")
            .rule("requests-missing", "Every container requests CPU and memory, so its cost can be estimated.")
            .params_schema(json!({
                "type": "object",
                "required": ["prices"],
                "additionalProperties": false,
                "properties": {
                    "prices": { "type": "object", "required": ["cpu", "memoryGiB"], "additionalProperties": false,
                        "properties": { "cpu": { "type": "number", "minimum": 0 }, "memoryGiB": { "type": "number", "minimum": 0 } } },
                    "budgets": { "type": "object", "additionalProperties": { "type": "number", "minimum": 0 } },
                    "defaultBudget": { "type": "number", "minimum": 0 },
                    "teamLabel": { "type": "string" }
                }
            }))
    }

    fn check(input: &Input) -> Result<Vec<Finding>, Error> {
        let p: Params = input.params()?;
        let object = input.object()?;
        let mut findings = Vec::new();
        let mut per_replica = 0.0;
        for (path, c) in object.containers() {
            let cpu = c.resources.requests.get("cpu").and_then(|q| q.value());
            let memory = c.resources.requests.get("memory").and_then(|q| q.value());
            let (Some(cpu), Some(memory)) = (cpu, memory) else {
                findings.push(Finding::new(
                    "requests-missing",
                    format!("{path}/resources/requests"),
                    format!(
                        "container {} does not request both cpu and memory, so its cost is unknown and unbounded",
                        c.name
                    ),
                ));
                continue;
            };
            per_replica += cpu * p.prices.cpu + memory / GIB * p.prices.memory_gi_b;
        }
        let team = object.metadata.labels.get(&p.team_label).or_else(|| object.pod_labels().get(&p.team_label));
        let budget = team.and_then(|t| p.budgets.get(t)).copied().or(p.default_budget);
        let cost = per_replica * f64::from(object.replicas());
        if let Some(budget) = budget.filter(|b| cost > *b) {
            let who = team.map_or("no team".to_owned(), |t| format!("team {t}"));
            findings.push(Finding::new("over-budget", "/spec",
                format!("estimated {cost:.2}/month ({} replicas × {per_replica:.2}) is over the budget of {budget:.2} for {who}", object.replicas()))
                .severity(if cost > 2.0 * budget { Severity::High } else { Severity::Medium }));
        }
        Ok(findings)
    }
}

export_plugin!(CostBudget);
