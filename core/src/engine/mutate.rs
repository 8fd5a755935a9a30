//! Mutation, before validation, as mutating admission runs before validating admission.
//!
//! The order is fixed: the policies that mutate a resource run in the engine's policy order
//! (by name), those on the object itself first, then those on the pod a controller's template
//! makes; each policy's mutations in the order written, each seeing the object as the ones
//! before left it. (The API server runs its MutatingAdmissionPolicies in no fixed order.) A
//! policy with `reinvocationPolicy: IfNeeded` that ran (its match conditions held) runs once
//! more, after all of them, when a later policy changed the object after it ran (Kubernetes'
//! rule). Then every policy runs once more on the result to check that the mutations are
//! idempotent: a change there is reported (an error under the policy's failure policy; only
//! recorded for Kubernetes' own policies, whose results the API server stores) and not made.
//! Two mutations that set one field to different values are reported as a conflict (a warning;
//! the later one stands).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::compile::exception::Target;
use crate::compile::mutation::{Change, Mutation, PatchType};
use crate::compile::policy::Policy;
use crate::engine::resource::Resource;
use crate::k8s::split_api_version;
use crate::model::{Action, Reinvocation};
use crate::report::{ErrorKind, Finding, FindingError, Patch};

use super::evaluation::{Evaluation, View, NO_EXCEPTIONS};
use super::run::{Placed, Shared};
use super::{Context, Engine, Via};

/// What the mutations made of one resource.
#[derive(Default)]
pub(super) struct Mutated {
    /// The resource after every mutation, when one changed it.
    pub(super) resource: Option<Resource>,
    pub(super) patches: Vec<Patch>,
    pub(super) findings: Vec<(Finding, bool)>,
    /// The policies whose mutations applied.
    pub(super) applied: Vec<String>,
}

/// One mutation's result on a view: the view after it (or what it would have been, when an
/// exception waives it).
pub(super) struct Step {
    mutation: usize,
    after: Value,
    waived_by: Option<String>,
}

/// Which run of a policy it is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// The first, or the one Kubernetes' reinvocation makes: changes are made.
    Change,
    /// The idempotency check: a change is a finding, not made.
    Check,
}

impl Engine {
    /// Runs the mutations of the policies that apply to `r`.
    pub(super) fn mutate_one(&self, r: &Resource, ctx: &Context, shared: &Shared<'_>) -> Mutated {
        let mut out = Mutated::default();
        if !self.mutates || r.operation(ctx.operation) == crate::k8s::Operation::Delete {
            return out;
        }
        let placed = self.place(r, ctx, shared);
        let mut order: Vec<(usize, Via)> = placed
            .candidates
            .iter()
            .copied()
            .filter(|(i, _)| self.policies.get(*i).is_some_and(|p| !p.mutations.is_empty()))
            .collect();
        if order.is_empty() {
            return out;
        }
        order.sort_by_key(|&(i, via)| (via, i));
        let mut current = r.clone();
        let mut written = BTreeMap::new();
        // After each policy that may be reinvoked: the object as it left it.
        let mut left: Vec<(usize, Via, Value)> = Vec::new();
        let at = (&placed, ctx, shared);
        for &(i, via) in &order {
            let invoked = self.mutate_policy((i, via), &mut current, at, Pass::Change, (&mut out, &mut written));
            if invoked && self.policies.get(i).is_some_and(|p| p.reinvocation == Reinvocation::IfNeeded) {
                left.push((i, via, current.value.clone()));
            }
        }
        for (i, via, after) in left {
            if after != current.value {
                self.mutate_policy((i, via), &mut current, at, Pass::Change, (&mut out, &mut written));
            }
        }
        for &(i, via) in &order {
            self.mutate_policy((i, via), &mut current, at, Pass::Check, (&mut out, &mut written));
        }
        out.applied.sort_unstable();
        out.applied.dedup();
        if current.value != r.value {
            out.resource = Some(current);
        }
        out
    }

    /// Runs one policy's mutations on one view of `current`, making (or, in the check pass,
    /// reporting) their changes; whether the policy was invoked (it applied, and its match
    /// conditions held).
    fn mutate_policy(
        &self,
        (i, via): (usize, Via),
        current: &mut Resource,
        (placed, ctx, shared): (&Placed<'_>, &Context, &Shared<'_>),
        pass: Pass,
        (out, written): (&mut Mutated, &mut BTreeMap<String, (String, Value)>),
    ) -> bool {
        let Some(policy) = self.policies.get(i) else { return false };
        let template = placed.template.filter(|_| via == Via::Template);
        let (invoked, steps) = {
            let view = match template {
                Some(path) => View::template(current, path),
                None => Some(View::direct(current, &placed.id)),
            };
            let Some(view) = view.filter(|v| self.applies(policy, current, v, placed, ctx)) else { return false };
            let waiver = |mutation: &str| self.waiver(policy, mutation, placed, via, ctx);
            let ev = self.evaluation((current, &view, placed), ctx, shared);
            let before = out.findings.len();
            let (invoked, steps) = ev.mutate(policy, &waiver, &mut out.findings);
            if pass == Pass::Check {
                // What the first pass reported, it reported once.
                out.findings.truncate(before);
            }
            // It applied when it ran, whether or not it changed anything (as Kyverno reports it).
            if pass == Pass::Change && (invoked || out.findings.len() > before) {
                out.applied.push(policy.reported_name().to_owned());
            }
            (invoked, steps)
        };
        for step in steps {
            let Some(mutation) = policy.mutations.get(step.mutation) else { continue };
            let after = match template {
                Some(path) => with_template(&current.value, path, &step.after),
                None => step.after,
            };
            let operations = json_patch::diff(&current.value, &after);
            if operations.0.is_empty() {
                continue;
            }
            if pass == Pass::Check {
                if step.waived_by.is_some() {
                    continue;
                }
                let paths: Vec<String> = operations.0.iter().map(|o| o.path().to_string()).collect();
                let message = format!(
                    "mutation `{}` is not idempotent: applied again to the result, it changes {}",
                    mutation.id,
                    paths.join(", ")
                );
                // The API server stores what a Kubernetes policy makes, stable or not: recorded.
                let action = policy.form.is_kubernetes_like().then_some(Action::Audit);
                self.mutation_finding(policy, mutation, (current, placed, via), message, action, out);
                continue;
            }
            for op in &operations.0 {
                let op = serde_json::to_value(op).unwrap_or_default();
                let path = op.get("path").and_then(Value::as_str).unwrap_or_default().to_owned();
                if step.waived_by.is_none() {
                    self.conflict(policy, mutation, (current, placed, via), (&path, &op), (out, written));
                }
                out.patches.push(Patch {
                    policy: policy.reported_name().to_owned(),
                    binding: policy.reported_binding().map(str::to_owned),
                    mutation: mutation.id.clone(),
                    message: mutation.message.clone(),
                    resource: placed.id.clone(),
                    source: current.source_of(&path),
                    operation: op,
                    waived_by: step.waived_by.clone(),
                });
            }
            if step.waived_by.is_none() {
                current.value = after;
            }
        }
        invoked
    }

    /// A change to a field an earlier mutation set to another value: reported, as a warning.
    fn conflict(
        &self,
        policy: &Policy,
        mutation: &Mutation,
        at: (&Resource, &Placed<'_>, Via),
        (path, op): (&str, &Value),
        (out, written): (&mut Mutated, &mut BTreeMap<String, (String, Value)>),
    ) {
        let name = format!("{}/{}", policy.reported_name(), mutation.id);
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        if let Some((earlier, was)) = written.get(path) {
            if *earlier != name && *was != value {
                let message = format!(
                    "mutations conflict: `{earlier}` set {path} to {was}, then `{name}` to {value} (the later one stands)"
                );
                self.mutation_finding(policy, mutation, at, message, Some(Action::Warn), out);
            }
        }
        written.insert(path.to_owned(), (name, value));
    }

    /// A finding of a mutation: an error under the policy's failure policy, or of `action`.
    fn mutation_finding(
        &self,
        policy: &Policy,
        mutation: &Mutation,
        (r, placed, via): (&Resource, &Placed<'_>, Via),
        message: String,
        action: Option<Action>,
        out: &mut Mutated,
    ) {
        let error = FindingError::new(ErrorKind::Mutation, message.clone());
        let action = action.unwrap_or(match policy.failure_policy {
            crate::model::FailurePolicy::Ignore => Action::Warn,
            crate::model::FailurePolicy::Fail => Action::Deny,
        });
        out.findings.push((
            Finding {
                policy: policy.reported_name().to_owned(),
                binding: policy.reported_binding().map(str::to_owned),
                rule: mutation.id.clone(),
                severity: Default::default(),
                action,
                message,
                detail: None,
                help: None,
                resource: placed.id.clone(),
                source: r.source_of(&mutation.pointer),
                container: None,
                path: String::new(),
                error: Some(error),
                waived_by: None,
            },
            via == Via::Template,
        ));
    }

    /// The exception in force that waives `mutation` of `policy` on the resource, if any.
    fn waiver(&self, policy: &Policy, mutation: &str, placed: &Placed<'_>, via: Via, ctx: &Context) -> Option<String> {
        let id = &placed.id;
        let (group, version) = split_api_version(&id.api_version);
        let target = Target {
            policy: policy.reported_name(),
            rule: mutation,
            group,
            version,
            kind: &id.kind,
            namespace: &id.namespace,
            name: &id.name,
            container: None,
            via_template: via == Via::Template,
        };
        self.exceptions
            .iter()
            .find(|e| e.kyverno.is_none() && e.standing(ctx.now, &self.settings).is_ok() && e.covers(&target))
            .map(|e| e.name.clone())
    }
}

/// `value` with the pod a mutation left (`pod`, a view of the template at `path`) written back
/// into the template: its `metadata` (less the name and namespace the view lent it from the
/// controller) and `spec`.
fn with_template(value: &Value, path: &str, pod: &Value) -> Value {
    let mut out = value.clone();
    let Some(Value::Object(template)) = out.pointer_mut(path) else { return out };
    let had = template.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
    if let Some(Value::Object(mut metadata)) = pod.get("metadata").cloned() {
        for key in ["name", "namespace"] {
            let lent = value.pointer(&format!("/metadata/{key}"));
            if !had.contains_key(key) && metadata.get(key) == lent {
                metadata.remove(key);
            }
        }
        if !metadata.is_empty() || template.contains_key("metadata") {
            template.insert("metadata".into(), Value::Object(metadata));
        }
    }
    if let Some(spec) = pod.get("spec") {
        template.insert("spec".into(), spec.clone());
    }
    out
}

impl Evaluation<'_> {
    /// Runs `policy`'s mutations on the view, each on what the ones before left: whether the
    /// policy was invoked (its match conditions held), and the views its mutations made, in
    /// order. A mutation an exception waives (`waiver`) is run, and shown, but what it made is
    /// not kept. A failure is a finding under the policy's failure policy.
    pub(super) fn mutate(
        &self,
        policy: &Policy,
        waiver: &dyn Fn(&str) -> Option<String>,
        out: &mut Vec<(Finding, bool)>,
    ) -> (bool, Vec<Step>) {
        let bindings = policy.reads_request.then(|| self.bindings());
        let roots = bindings.as_ref().map_or((&Value::Null, &Value::Null), |(r, n)| (r, n));
        let own = self.params(policy);
        // A Kubernetes binding's params: the mutations run once for each param object.
        let params: Vec<Option<&Value>> = match &policy.params_from {
            None => vec![own.as_deref()],
            Some(source) => match self.param_objects(source) {
                Ok(objects) => objects.into_iter().map(Some).collect(),
                Err(message) => {
                    let cause = FindingError::new(ErrorKind::Cel, message.clone());
                    let message = format!("failed to configure binding: {message}");
                    self.policy_error(policy, "paramRef", message, cause, out);
                    return (true, Vec::new());
                }
            },
        };
        let start = self.view.whole(self.resource);
        let mut object = start.clone();
        let mut steps = Vec::new();
        let mut invoked = false;
        for params in params {
            let act = self.activation_on(crate::cel::Value::json(start), policy, roots, params, &NO_EXCEPTIONS);
            if !self.conditions_hold(policy, Some(&act), out) {
                continue;
            }
            invoked = true;
            self.mutations(policy, (roots, params), waiver, (&mut object, &mut steps), out);
        }
        (invoked, steps)
    }

    /// One run of the policy's mutations (with one of its params), each on what the ones before
    /// left in `object`.
    fn mutations(
        &self,
        policy: &Policy,
        (roots, params): ((&Value, &Value), Option<&Value>),
        waiver: &dyn Fn(&str) -> Option<String>,
        (object, steps): (&mut Value, &mut Vec<Step>),
        out: &mut Vec<(Finding, bool)>,
    ) {
        for (i, m) in policy.mutations.iter().enumerate() {
            if let Some(e) = self.ctx.budget.as_ref().and_then(crate::cel::Budget::exhausted) {
                let cause = FindingError::new(crate::compile::check::error_kind(&e), e.to_string());
                self.policy_error(policy, &m.id, format!("mutation `{}` was stopped: {e}", m.id), cause, out);
                break;
            }
            let result = if let Change::Digests(rule) = m.change {
                Ok(pin_digests(policy, rule, object, &self.ctx.images))
            } else {
                let act = self.activation_on(crate::cel::Value::json(object), policy, roots, params, &NO_EXCEPTIONS);
                run(m, &act, (object, &self.id.namespace, &self.id.name), self.crds)
            };
            match result {
                Ok(None) => {}
                Ok(Some(after)) => {
                    let waived_by = waiver(&m.id);
                    if waived_by.is_none() {
                        after.clone_into(object);
                    }
                    steps.push(Step { mutation: i, after, waived_by });
                }
                Err(cause) => {
                    let message = format!("mutation `{}` failed: {cause}", m.id);
                    self.policy_error(policy, &m.id, message, cause, out);
                }
            }
        }
    }
}

/// One mutation on `object` (of `namespace/name`): what it makes of it, `None` when its
/// `when` is false or it changes nothing.
fn run<'v>(
    m: &'v Mutation,
    act: &crate::cel::Activation<'v>,
    (object, namespace, name): (&Value, &str, &str),
    crds: &crate::k8s::schema::Crds,
) -> Result<Option<Value>, FindingError> {
    let cel_error = |what: &str, e: &crate::cel::Error| crate::compile::check::cel_error(what, e);
    if let Some(when) = &m.when {
        match when.eval(act) {
            Ok(crate::cel::Value::Bool(true)) => {}
            Ok(crate::cel::Value::Bool(false)) => return Ok(None),
            Ok(other) => {
                return Err(FindingError::new(
                    ErrorKind::Cel,
                    format!("`when` gave a {}, not a bool", other.type_name()),
                ))
            }
            Err(e) => return Err(cel_error("when", &e)),
        }
    }
    let invalid = |message: String| FindingError::new(ErrorKind::Mutation, message);
    let (patch_type, expr) = match &m.change {
        Change::Cel { patch_type, expr } => (*patch_type, expr),
        Change::Location(mutator) => return mutator.apply(object, (namespace, name)).map_err(invalid),
        Change::Digests(_) => return Ok(None),
    };
    let result = expr.eval(act).map_err(|e| cel_error("the expression", &e))?;
    let result = result.to_json().map_err(|e| cel_error("the expression", &e))?;
    let after = match patch_type {
        PatchType::ApplyConfiguration => {
            if !result.is_object() {
                return Err(invalid(format!(
                    "unsupported return type from ApplyConfiguration expression: {}",
                    json_type(&result)
                )));
            }
            crate::k8s::apply::apply(object, &result, crds).map_err(invalid)?
        }
        // A `test` that does not hold leaves the object as it was, as in the API server.
        PatchType::JsonPatch => match crate::k8s::apply::json_patch(object, result).map_err(invalid)? {
            Some(after) => after,
            None => return Ok(None),
        },
    };
    Ok((after != *object).then_some(after))
}

/// The pod `object` with each image the policy's rule `rule` verified (and not yet pinned)
/// written as `image@digest`, the digest verified; `None` when nothing changes.
fn pin_digests(policy: &Policy, rule: usize, object: &Value, verdicts: &crate::ImageVerdicts) -> Option<Value> {
    let check = policy.rules.get(rule)?.check.images()?;
    // Copied only when an image is pinned: most objects have nothing to pin.
    let mut after: Option<Value> = None;
    for (path, image) in crate::compile::images::images_of(object, "/spec") {
        if image.contains('@') || !check.applies(image) {
            continue;
        }
        let Some(verdict) = check.verdict(image, verdicts).filter(|v| v.outcome == crate::ImageOutcome::Verified)
        else {
            continue;
        };
        let Some(digest) = &verdict.digest else { continue };
        if let Some(slot) = after.get_or_insert_with(|| object.clone()).pointer_mut(&path) {
            *slot = Value::String(format!("{image}@{digest}"));
        }
    }
    after
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}
