//! What `cost` rules make of a run: each resource priced (its report's `costs`), then each
//! budget's group summed over the run and judged: a group whose changes cost more than its
//! budget is a finding on each resource that adds to it; one whose change is known only after
//! apply, `unknown`; one the price table cannot price, an error under the policy's failure
//! policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::compile::cost::{self, CostCheck, Unpriced};
use crate::compile::policy::{Policy, Rule};
use crate::report::{money, Cost, ErrorKind, Finding, FindingError, ResourceReport};

/// A resource's cost under a `cost` rule: priced, grouped and owned by its labels (a Terraform
/// resource's tags), else its namespace's.
pub(super) fn cost(
    resource: &super::resource::Resource,
    ns_labels: Option<&BTreeMap<String, String>>,
    (policy, rule, check): (&Policy, &Rule, &CostCheck),
    params: Option<&Value>,
) -> Cost {
    let label = |key: &str| {
        let own = resource.value.pointer("/metadata/labels").and_then(|l| l.get(key)).and_then(Value::as_str);
        own.or_else(|| ns_labels.and_then(|l| l.get(key)).map(String::as_str)).map(str::to_owned)
    };
    let group = label(&check.budget_by);
    let budget = group.as_ref().and_then(|g| params?.get("budgets")?.get(g)?.as_f64()).map(cents);
    let mut out = Cost {
        policy: policy.reported_name().to_owned(),
        rule: rule.id.clone(),
        item: String::new(),
        before: None,
        after: None,
        delta: None,
        currency: "USD".into(),
        owner: label(&check.owner_by),
        group,
        budget,
        problem: None,
        unknown: false,
    };
    match cost::price(&resource.value, resource.old.as_ref(), params) {
        Ok(Some(p)) => {
            out.item = p.item;
            out.currency = p.currency;
            out.before = p.before.map(cents);
            out.after = p.after.map(cents);
            out.delta = Some(out.after.unwrap_or(0) - out.before.unwrap_or(0));
        }
        Ok(None) => out.problem = Some(format!("paved prices no {}", resource.identity().kind)),
        Err(Unpriced::Unknown(why)) => {
            out.problem = Some(why);
            out.unknown = true;
        }
        Err(Unpriced::Missing(why)) => out.problem = Some(why),
    }
    out
}

#[allow(clippy::cast_possible_truncation)]
fn cents(amount: f64) -> i64 {
    (amount * 100.0).round() as i64
}

/// A budget's group in a run: the total of its known changes, and its resources' costs.
#[derive(Default)]
struct Group<'c> {
    total: i64,
    members: Vec<(usize, &'c Cost)>,
}

/// Judges every budget over the run's costs and puts the findings with their resources (in the
/// order findings of a resource have).
pub(super) fn judge(policies: &[Arc<Policy>], resources: &mut [ResourceReport], findings: &mut Vec<(Finding, bool)>) {
    let mut groups: BTreeMap<(&str, &str, &str), Group<'_>> = BTreeMap::new();
    for (i, r) in resources.iter().enumerate() {
        for c in r.costs.iter().filter(|c| c.budget.is_some()) {
            let Some(group) = c.group.as_deref() else { continue };
            let entry = groups.entry((c.policy.as_str(), c.rule.as_str(), group)).or_default();
            entry.total += c.delta.unwrap_or(0);
            entry.members.push((i, c));
        }
    }
    let mut extra: Vec<(usize, Finding)> = Vec::new();
    for ((policy, rule, name), group) in &groups {
        let Some(policy) = policies.iter().find(|p| p.reported_name() == *policy) else { continue };
        let Some(rule) = policy.rules.iter().find(|r| r.id == *rule) else { continue };
        for (i, c) in &group.members {
            let Some(resource) = resources.get(*i) else { continue };
            if let Some((message, error)) = verdict(c, &resource.resource.name, name, group) {
                extra.push((*i, finding(policy, rule, resource, message, error)));
            }
        }
    }
    if !extra.is_empty() {
        insert(resources, findings, extra);
    }
}

/// What a resource's cost says of its group's budget: over it (when the group's total is and
/// the resource adds to it), unknown, or not priced; `None` when nothing is wrong.
fn verdict(c: &Cost, name: &str, group: &str, all: &Group<'_>) -> Option<(String, Option<FindingError>)> {
    let budget = c.budget.unwrap_or(0);
    match (c.delta, &c.problem) {
        (Some(delta), _) if all.total > budget && delta > 0 => Some((over(c, group, all, budget), None)),
        (None, Some(why)) if c.unknown => Some((
            format!(
                "{name}: cost known only after apply ({why}); the {group} budget is {}",
                money(budget, &c.currency, false)
            ),
            Some(FindingError::new(ErrorKind::Unknown, why.clone())),
        )),
        (None, Some(why)) => Some((
            format!("{name}: the {group} budget cannot be judged: {why}"),
            Some(FindingError::new(ErrorKind::Price, why.clone())),
        )),
        _ => None,
    }
}

/// A budget's finding on a resource: the rule's, with the policy's action (a resource with no
/// price under `failurePolicy: Ignore` only warns).
fn finding(
    policy: &Policy,
    rule: &Rule,
    resource: &ResourceReport,
    message: String,
    error: Option<FindingError>,
) -> Finding {
    let action = match (&error, policy.failure_policy) {
        (Some(e), crate::model::FailurePolicy::Ignore) if e.kind == ErrorKind::Price => crate::model::Action::Warn,
        _ => policy.action,
    };
    Finding {
        policy: policy.reported_name().to_owned(),
        binding: None,
        rule: rule.id.clone(),
        severity: rule.severity,
        action,
        message,
        detail: None,
        help: rule.help.clone(),
        resource: resource.resource.clone(),
        source: resource.source.clone(),
        path: String::new(),
        container: None,
        error,
        waived_by: None,
    }
}

/// `c5.4xlarge in eu-west-1: +$560.64/month, over the dev budget of $200.00` (with the group's
/// total when others add to it).
fn over(c: &Cost, group: &str, all: &Group<'_>, budget: i64) -> String {
    let delta = money(c.delta.unwrap_or(0), &c.currency, true);
    let all = if all.members.len() > 1 {
        format!(" ({group} changes total {}/month)", money(all.total, &c.currency, true))
    } else {
        String::new()
    };
    format!("{}: {delta}/month{all}, over the {group} budget of {}", c.item, money(budget, &c.currency, false))
}

/// The order of a resource's findings: by policy, rule, path and message.
pub(super) fn in_order(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (&a.policy, &a.rule, &a.path, &a.message).cmp(&(&b.policy, &b.rule, &b.path, &b.message))
}

/// Puts each finding after its resource's others, ordered as a resource's findings are.
fn insert(resources: &mut [ResourceReport], findings: &mut Vec<(Finding, bool)>, mut extra: Vec<(usize, Finding)>) {
    let mut rest = std::mem::take(findings).into_iter();
    for (i, r) in resources.iter_mut().enumerate() {
        let mut mine: Vec<(Finding, bool)> = rest.by_ref().take(r.findings).collect();
        let (these, others): (Vec<_>, Vec<_>) = extra.into_iter().partition(|(j, _)| *j == i);
        extra = others;
        mine.extend(these.into_iter().map(|(_, f)| (f, false)));
        mine.sort_by(|(a, _), (b, _)| in_order(a, b));
        r.findings = mine.len();
        findings.append(&mut mine);
    }
    findings.extend(rest);
}
