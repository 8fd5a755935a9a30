//! One view of one resource (the object, or the pod a controller makes) and the policies that
//! apply to it: their match conditions, rules and checks, and the findings they make.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use serde_json::{json, Map, Value};

use crate::cel::index::Index;
use crate::cel::Budget;
use crate::compile::check::{error_kind, CheckInput, PluginCall, Review};
use crate::compile::exception::Exception;
use crate::compile::expr::ITEM;
use crate::compile::policy::{Form, Policy, Rule};
use crate::engine::resource::Resource;
use crate::k8s::{self, split_api_version, ResourceRef};
use crate::load::pointer::PathPattern;
use crate::model::{Action, FailurePolicy};
use crate::plugin::Plugins;
use crate::report::{ErrorKind, Finding, FindingError};

use super::{Context, Via};

static EMPTY_PARAMS: LazyLock<Value> = LazyLock::new(|| json!({}));
static NULL: Value = Value::Null;
/// Kyverno's `exceptions` where none allows anything.
pub(super) static NO_EXCEPTIONS: LazyLock<Value> = LazyLock::new(|| json!({"allowedImages": [], "allowedValues": []}));

/// The pod a controller will create, as a `Pod` object, so Pod policies read it unchanged.
fn pod_view(r: &Resource, template: &Value) -> Value {
    let mut metadata = template.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
    for key in ["name", "namespace"] {
        if let Some(v) = r.value.pointer(&format!("/metadata/{key}")) {
            metadata.insert(key.to_owned(), v.clone());
        }
    }
    let mut pod = Map::new();
    pod.insert("apiVersion".into(), Value::String("v1".into()));
    pod.insert("kind".into(), Value::String("Pod".into()));
    pod.insert("metadata".into(), Value::Object(metadata));
    pod.insert("spec".into(), template.get("spec").cloned().unwrap_or_else(|| json!({})));
    Value::Object(pod)
}

/// What policies see of a resource: the object itself, or the pod of a controller's template.
pub(super) struct View<'a> {
    /// What `forEach` paths walk and selectors read: the object, or the controller's pod
    /// template (whose `metadata` and `spec` are where a Pod has them).
    pub(super) value: &'a Value,
    pub(super) old: Option<&'a Value>,
    /// Where the view sits in the real object (`/spec/template` for a Deployment's pod).
    pub(super) prefix: &'a str,
    pub(super) via: Via,
    /// Where the pod spec is in `value`, when there is one.
    pub(super) pod_spec: Option<String>,
    /// The template's pod as a JSON `Pod`, made only for a check that needs it whole (CEL reads
    /// the template where it is).
    pub(super) pod: std::cell::OnceCell<Value>,
}

impl<'a> View<'a> {
    /// The object itself.
    pub(super) fn direct(r: &'a Resource, id: &ResourceRef) -> View<'a> {
        View {
            value: &r.value,
            old: r.old.as_ref(),
            prefix: "",
            via: Via::Direct,
            pod_spec: k8s::pod_spec(&id.api_version, &id.kind),
            pod: Default::default(),
        }
    }

    /// The pod template of a controller, at `path`, if it has one.
    pub(super) fn template(r: &'a Resource, path: &'a str) -> Option<View<'a>> {
        let template = r.value.pointer(path).filter(|t| t.is_object())?;
        Some(View {
            value: template,
            old: None,
            prefix: path,
            via: Via::Template,
            pod_spec: Some("/spec".into()),
            pod: Default::default(),
        })
    }

    /// The object the view shows, as JSON.
    pub(super) fn whole(&self, owner: &Resource) -> &Value {
        match self.via {
            Via::Direct => self.value,
            Via::Template => self.pod.get_or_init(|| pod_view(owner, self.value)),
        }
    }

    /// The object as CEL sees it: for a template, a `Pod` made of references into it.
    fn object(&self, owner: &'a Resource) -> crate::cel::Value<'a> {
        use crate::cel::value::{Map as CelMap, Str};
        use crate::cel::Value as V;
        if self.via == Via::Direct {
            return V::json(self.value);
        }
        let text = |s: &'static str| V::Str(Str::Borrowed(s));
        let mut metadata: Vec<(V<'a>, V<'a>)> = self
            .value
            .get("metadata")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| *k != "name" && *k != "namespace")
                    .map(|(k, v)| (V::Str(Str::Borrowed(k)), V::json(v)))
                    .collect()
            })
            .unwrap_or_default();
        for key in ["name", "namespace"] {
            let own = owner
                .value
                .pointer(&format!("/metadata/{key}"))
                .or_else(|| self.value.pointer(&format!("/metadata/{key}")));
            if let Some(v) = own {
                metadata.push((text(key), V::json(v)));
            }
        }
        let spec = self.value.get("spec").map_or_else(|| V::Map(CelMap::Owned(Default::default())), V::json);
        V::Map(CelMap::Owned(std::rc::Rc::new(vec![
            (text("apiVersion"), text("v1")),
            (text("kind"), text("Pod")),
            (text("metadata"), V::Map(CelMap::Owned(std::rc::Rc::new(metadata)))),
            (text("spec"), spec),
        ])))
    }
}

/// Where each `forEach` item's activation is, by the item's address: a scan while there are
/// few (a pod's containers), a map beyond (so a pod of 20,000 containers is not quadratic).
#[derive(Default)]
struct ItemPositions {
    items: Vec<*const Value>,
    map: HashMap<*const Value, usize, foldhash::fast::FixedState>,
}

impl ItemPositions {
    /// Past this many items, positions are looked up in the map.
    const SCAN: usize = 32;

    fn find(&self, item: &Value) -> Option<usize> {
        let key: *const Value = item;
        if self.items.len() <= Self::SCAN {
            self.items.iter().position(|k| *k == key)
        } else {
            self.map.get(&key).copied()
        }
    }

    /// Adds the next item; its position.
    fn add(&mut self, item: &Value) -> usize {
        self.items.push(item);
        let at = self.items.len() - 1;
        if self.items.len() > Self::SCAN {
            if self.map.is_empty() {
                self.map.extend(self.items.iter().copied().zip(0..));
            } else {
                self.map.insert(item, at);
            }
        }
        at
    }
}

/// The targets a rule's `forEach` paths (or none: the whole view) reach, with their pointers.
type Walked<'v> = (Option<&'v [PathPattern]>, Vec<(String, &'v Value)>);

/// The policies that apply to one view of one resource.
pub(super) struct Evaluation<'a> {
    pub(super) resource: &'a Resource,
    pub(super) id: &'a ResourceRef,
    pub(super) view: &'a View<'a>,
    pub(super) ctx: &'a Context,
    pub(super) ns_labels: Option<&'a BTreeMap<String, String>>,
    pub(super) plugins: &'a Plugins,
    pub(super) crds: &'a k8s::schema::Crds,
    /// The evaluation's inventory index, when a policy reads it.
    pub(super) inventory: Option<&'a Index<'a>>,
    /// Kyverno's exceptions in force.
    pub(super) kyverno_exceptions: &'a [&'a Exception],
    /// Rego's `data.inventory` (made once for the run) and the kinds synced into it.
    pub(super) rego: (&'a crate::compile::rego::Inventory, &'a [crate::model::Gvk]),
    /// The policies that applied: matched, and their match conditions held.
    pub(super) applied: std::cell::RefCell<Vec<String>>,
    /// The audit annotations the policies added.
    pub(super) annotations: std::cell::RefCell<BTreeMap<String, String>>,
    /// What the `cost` rules priced.
    pub(super) costs: std::cell::RefCell<Vec<crate::report::Cost>>,
    /// The view as JSON text, made once for every plugin rule that checks it whole.
    pub(super) json: std::cell::OnceCell<String>,
    /// Gatekeeper's review of the view, made once for every Rego rule.
    pub(super) rego_review: std::cell::OnceCell<regorus::Value>,
}

impl<'a> Evaluation<'a> {
    /// What a policy's expressions see of the view, borrowed from it: `object`, `oldObject`,
    /// `request`, `params`, `namespaceObject` and `inventory`; `item` is set for each `forEach`
    /// item.
    fn activation<'v>(
        &self,
        policy: &'v Policy,
        roots: (&'v Value, &'v Value),
        params: Option<&'v Value>,
        allowed: &'v Value,
    ) -> crate::cel::Activation<'v>
    where
        'a: 'v,
    {
        self.activation_on(self.view.object(self.resource), policy, roots, params, allowed)
    }

    /// [`Evaluation::activation`] with `object` for the view (a mutation sees the object as the
    /// mutations before it left it).
    pub(super) fn activation_on<'v>(
        &self,
        object: crate::cel::Value<'v>,
        policy: &'v Policy,
        (request, namespace): (&'v Value, &'v Value),
        params: Option<&'v Value>,
        allowed: &'v Value,
    ) -> crate::cel::Activation<'v>
    where
        'a: 'v,
    {
        use crate::cel::Value as V;
        let roots = [
            object,
            self.view.old.map_or(V::Null, V::json),
            V::json(request),
            V::json(params.unwrap_or(&EMPTY_PARAMS)),
            V::json(namespace),
            V::Null,
            self.inventory.map_or(V::Null, V::Inventory),
            V::json(allowed),
        ];
        crate::cel::Activation::new(roots, &policy.variables, &policy.item_variables).within(self.ctx.budget.as_ref())
    }

    /// `request` and `namespaceObject` as Kubernetes' admission CEL shapes them.
    pub(super) fn bindings(&self) -> (Value, Value) {
        let (group, version) = split_api_version(&self.id.api_version);
        let request = json!({
            "operation": self.resource.operation(self.ctx.operation).as_str(),
            "namespace": self.id.namespace,
            "name": self.id.name,
            "kind": { "group": group, "version": version, "kind": self.id.kind },
            "userInfo": self.resource.user_info(&self.ctx.user_info),
            "dryRun": self.resource.admission.as_ref().is_some_and(|a| a.dry_run),
        });
        let namespace =
            json!({ "metadata": { "name": self.id.namespace, "labels": self.ns_labels.cloned().unwrap_or_default() } });
        (request, namespace)
    }

    /// The policy's params with the run's overrides merged over them; `None` when empty.
    pub(super) fn params<'p>(&self, policy: &'p Policy) -> Option<std::borrow::Cow<'p, Value>> {
        let params = match (self.ctx.params.get(&policy.name), &policy.params) {
            (Some(Value::Object(over)), Value::Object(base)) => {
                let mut merged = base.clone();
                merged.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
                std::borrow::Cow::Owned(Value::Object(merged))
            }
            _ => std::borrow::Cow::Borrowed(&policy.params),
        };
        params.as_object().is_some_and(|m| !m.is_empty()).then_some(params)
    }

    pub(super) fn run(&self, policies: &[&Policy], out: &mut Vec<(Finding, bool)>) {
        // `request` and `namespaceObject` are made only when an expression may read them (a
        // Kyverno exception's conditions too).
        let excepted = |p: &Policy| p.form == Form::Kyverno && !self.kyverno_exceptions.is_empty();
        let reads = policies.iter().any(|p| p.reads_request || excepted(p));
        let bindings = reads.then(|| self.bindings());
        let roots = bindings.as_ref().map_or((&NULL, &NULL), |(r, n)| (r, n));
        // Each set of forEach paths is walked once per view, for every rule that uses it.
        let mut walked: Vec<Walked<'_>> = Vec::new();
        for policy in policies {
            let Some(source) = &policy.params_from else {
                let params = self.params(policy);
                if !self.run_policy(policy, roots, params.as_deref(), &mut walked, out) {
                    return;
                }
                continue;
            };
            // A Kubernetes binding's params: the policy runs once for each param object.
            match self.param_objects(source).map(|o| (!o.is_empty()).then_some(o)) {
                Err(message) => {
                    self.applied.borrow_mut().push(policy.name.clone());
                    let cause = FindingError::new(ErrorKind::Cel, message.clone());
                    self.policy_error(
                        policy,
                        "paramRef",
                        format!("failed to configure binding: {message}"),
                        cause,
                        out,
                    );
                }
                Ok(None) => {}
                Ok(Some(objects)) => {
                    for params in objects {
                        if !self.run_policy(policy, roots, Some(params), &mut walked, out) {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// The param objects a Kubernetes binding gives its policy for the view (none: the policy
    /// does not apply), or why the binding cannot be configured.
    pub(super) fn param_objects<'s>(
        &'s self,
        source: &'s crate::compile::param_ref::ParamSource,
    ) -> Result<Vec<&'s Value>, String> {
        let (group, _) = split_api_version(&source.kind.0);
        let namespaced = k8s::namespaced(group, &source.kind.1, self.crds);
        let inventory = self.ctx.inventory.iter().flat_map(|i| i.objects_of(&source.kind.0, &source.kind.1));
        Ok(source.resolve(&self.id.namespace, namespaced, inventory)?.unwrap_or_default())
    }

    /// Runs one policy with these params; `false` when the evaluation's budget ran out (the
    /// finding says so, and nothing more runs). A Kyverno policy's exceptions are judged first:
    /// what the policy finds where one exempts it is waived by it.
    fn run_policy<'w>(
        &self,
        policy: &'w Policy,
        roots: (&Value, &Value),
        params: Option<&Value>,
        walked: &mut Vec<Walked<'w>>,
        out: &mut Vec<(Finding, bool)>,
    ) -> bool
    where
        'a: 'w,
    {
        if policy.form != Form::Kyverno {
            return self.run_rules(policy, (roots, params), &NO_EXCEPTIONS, walked, out);
        }
        let Some((exempt, allowed)) = self.kyverno_exceptions(policy, roots, params, out) else { return true };
        let before = out.len();
        let go_on = self.run_rules(policy, (roots, params), allowed.as_ref().unwrap_or(&NO_EXCEPTIONS), walked, out);
        if let Some(name) = exempt {
            for (f, _) in out.iter_mut().skip(before) {
                f.waived_by.get_or_insert_with(|| name.to_owned());
            }
        }
        go_on
    }

    /// The Kyverno exceptions of `policy` whose match conditions hold: the first that exempts
    /// it, and what the others allow, as `exceptions` (`None`: nothing). `None` when a condition
    /// could not be evaluated: as in Kyverno, the policy then gives an error (a finding under its
    /// failure policy) and nothing else.
    fn kyverno_exceptions(
        &self,
        policy: &Policy,
        roots: (&Value, &Value),
        params: Option<&Value>,
        out: &mut Vec<(Finding, bool)>,
    ) -> Option<(Option<&'a str>, Option<Value>)> {
        let mut named =
            self.kyverno_exceptions.iter().filter(|e| e.policies.iter().any(|(p, _)| *p == policy.name)).peekable();
        if named.peek().is_none() {
            return Some((None, None));
        }
        let act = self.activation(policy, roots, params, &NO_EXCEPTIONS);
        let (mut exempt, mut images, mut values) = (None, Vec::new(), Vec::new());
        for e in named {
            let Some(terms) = &e.kyverno else { continue };
            let mut holds = true;
            for (name, condition) in &terms.conditions {
                let cause = match condition.eval(&act) {
                    Ok(crate::cel::Value::Bool(b)) => {
                        holds &= b;
                        continue;
                    }
                    Ok(other) => {
                        FindingError::new(ErrorKind::Cel, format!("it gave a {}, not a bool", other.type_name()))
                    }
                    Err(err) => crate::compile::check::cel_error("the condition", &err),
                };
                let message =
                    format!("match condition `{name}` of exception `{}` could not be evaluated: {cause}", e.name);
                self.policy_error(policy, &format!("exceptions/{}/{name}", e.name), message, cause, out);
                return None;
            }
            if !holds {
                continue;
            }
            if terms.exempts() {
                exempt.get_or_insert(e.name.as_str());
            } else {
                images.extend(terms.images.iter().cloned());
                values.extend(terms.values.iter().cloned());
            }
        }
        Some((exempt, Some(json!({"allowedImages": images, "allowedValues": values}))))
    }

    /// Runs one policy's match conditions, audit annotations and rules.
    fn run_rules<'w>(
        &self,
        policy: &'w Policy,
        (roots, params): ((&Value, &Value), Option<&Value>),
        allowed: &Value,
        walked: &mut Vec<Walked<'w>>,
        out: &mut Vec<(Finding, bool)>,
    ) -> bool
    where
        'a: 'w,
    {
        let cel =
            !policy.conditions.is_empty() || !policy.annotations.is_empty() || policy.rules.iter().any(|r| r.uses_cel);
        let base = cel.then(|| self.activation(policy, roots, params, allowed));
        let before = out.len();
        if !self.conditions_hold(policy, base.as_ref(), out) {
            // A condition that failed is a finding of the policy, which applied.
            if out.len() > before {
                self.applied.borrow_mut().push(policy.name.clone());
            }
            return true;
        }
        self.applied.borrow_mut().push(policy.name.clone());
        if let Some(act) = &base {
            self.annotate(policy, act, out);
        }
        // One activation per item, shared by the policy's rules, so that each named variable
        // is computed at most once per item (and once per view when it does not read `item`).
        let mut per_item: Vec<crate::cel::Activation<'_>> = Vec::new();
        let mut item_at = ItemPositions::default();
        let review = policy.rules.iter().any(|r| r.check.is_rego()).then(|| self.review(roots.0));
        for rule in policy.rules.iter() {
            let paths = rule.for_each.as_deref();
            let at = match walked.iter().position(|(p, _)| *p == paths) {
                Some(i) => i,
                None => {
                    let mut targets = Vec::new();
                    match paths {
                        None => targets.push((String::new(), self.view.value)),
                        Some(paths) => paths.iter().for_each(|p| p.visit(self.view.value, &mut targets)),
                    }
                    walked.push((paths, targets));
                    walked.len() - 1
                }
            };
            let Some((_, targets)) = walked.get(at) else { continue };
            for (path, item) in targets {
                if let Some(e) = self.ctx.budget.as_ref().and_then(Budget::exhausted) {
                    self.error(policy, rule, path, FindingError::new(error_kind(&e), e.to_string()), out);
                    return false;
                }
                let act = match (&base, rule.uses_cel, paths) {
                    (Some(base), true, None) => Some(base),
                    (Some(base), true, Some(_)) => {
                        let i = item_at.find(item).unwrap_or_else(|| {
                            per_item.push(base.with(ITEM, crate::cel::Value::json(item)));
                            item_at.add(item)
                        });
                        per_item.get(i)
                    }
                    _ => None,
                };
                self.apply(policy, rule, (path, item), (act, review.as_ref()), params, out);
            }
        }
        true
    }

    /// Whether the policy's `matchConditions` take in the view, in Kubernetes' order: one that
    /// is false leaves it out; else the first that failed is a finding under the failure policy,
    /// and the rules do not run.
    pub(super) fn conditions_hold<'v>(
        &self,
        policy: &'v Policy,
        act: Option<&crate::cel::Activation<'v>>,
        out: &mut Vec<(Finding, bool)>,
    ) -> bool {
        let Some(act) = act else { return true };
        let mut failed = None;
        for (name, condition) in policy.conditions.iter() {
            let cause = match condition.eval(act) {
                Ok(crate::cel::Value::Bool(true)) => continue,
                Ok(crate::cel::Value::Bool(false)) => return false,
                Ok(other) => FindingError::new(ErrorKind::Cel, format!("it gave a {}, not a bool", other.type_name())),
                Err(e) => crate::compile::check::cel_error("the condition", &e),
            };
            failed.get_or_insert((name, cause));
        }
        let Some((name, cause)) = failed else { return true };
        let written = policy.document.spec.match_conditions.iter().find(|c| c.name == *name);
        let message = match written.filter(|_| policy.form.is_kubernetes_like()) {
            Some(c) => as_kubernetes(&c.expression, &cause),
            None => format!("match condition `{name}` could not be evaluated: {cause}"),
        };
        self.policy_error(policy, &format!("matchConditions/{name}"), message, cause, out);
        false
    }

    /// The policy's audit annotations, `POLICY/KEY`: a string value is added, `null` adds
    /// nothing, anything else or an error is a finding under the failure policy.
    fn annotate<'v>(&self, policy: &'v Policy, act: &crate::cel::Activation<'v>, out: &mut Vec<(Finding, bool)>) {
        let name = policy.reported_name();
        for (key, expr) in policy.annotations.iter() {
            let cause = match expr.eval(act) {
                Ok(crate::cel::Value::Str(text)) => {
                    self.annotations.borrow_mut().insert(format!("{name}/{key}"), text.to_string());
                    continue;
                }
                Ok(crate::cel::Value::Null) => continue,
                Ok(other) => {
                    FindingError::new(ErrorKind::Cel, format!("it gave a {}, not a string or null", other.type_name()))
                }
                Err(e) => crate::compile::check::cel_error("the value expression", &e),
            };
            let message = format!("audit annotation `{key}` could not be evaluated: {cause}");
            self.policy_error(policy, &format!("auditAnnotations/{key}"), message, cause, out);
        }
    }

    /// A finding of the policy as a whole (not of one of its rules), named `id`: an error under
    /// its failure policy.
    pub(super) fn policy_error(
        &self,
        policy: &Policy,
        id: &str,
        message: String,
        cause: FindingError,
        out: &mut Vec<(Finding, bool)>,
    ) {
        let mut finding = self.finding(policy, policy.rules.first(), "", message, None, Some(cause));
        id.clone_into(&mut finding.rule);
        out.push((finding, self.view.via == Via::Template));
    }

    fn apply<'v>(
        &self,
        policy: &Policy,
        rule: &'v Rule,
        (at, item): (&str, &Value),
        (scope, review): (Option<&crate::cel::Activation<'v>>, Option<&Review<'_>>),
        params: Option<&Value>,
        out: &mut Vec<(Finding, bool)>,
    ) {
        if let (Some(when), Some(act)) = (&rule.when, scope) {
            match when.eval(act) {
                Ok(crate::cel::Value::Bool(true)) => {}
                Ok(crate::cel::Value::Bool(false)) => return,
                Ok(other) => {
                    let e =
                        FindingError::new(ErrorKind::Cel, format!("`when` gave a {}, not a bool", other.type_name()));
                    return self.error(policy, rule, at, e, out);
                }
                Err(e) => return self.error(policy, rule, at, crate::compile::check::cel_error("when", &e), out),
            }
        }
        if self.priced(policy, rule, params) {
            return;
        }
        let item_json;
        let call = if rule.check.plugin().is_some() {
            let resource = if at.is_empty() {
                self.json.get_or_init(|| json_text(self.view.whole(self.resource))).as_str()
            } else {
                item_json = json_text(item);
                item_json.as_str()
            };
            Some(PluginCall {
                resource,
                overrides: self.ctx.params.get(&policy.name),
                context: self.plugin_context(policy, rule),
                now: self.ctx.now,
                plugins: self.plugins,
                budget: self.ctx.budget.as_ref(),
            })
        } else {
            None
        };
        let value = if at.is_empty() && rule.check.reads_value() { self.view.whole(self.resource) } else { item };
        let input =
            CheckInput { value, scope, call: call.as_ref(), params, crds: self.crds, review, images: &self.ctx.images };
        let violations = rule.check.check(&input);
        match violations {
            Err(e) => self.error(policy, rule, at, e, out),
            Ok(vs) => {
                for v in vs {
                    let mut detail = v.detail;
                    let message = v.message.or_else(|| match (&rule.message_expression, scope) {
                        (Some(m), Some(act)) => message_of(m, act)
                            .map_err(|why| detail = Some(format!("{why}, so the message is shown")))
                            .ok(),
                        _ => None,
                    });
                    let path = format!("{at}{}", v.path);
                    let mut finding = self.finding(
                        policy,
                        Some(rule),
                        &path,
                        message.unwrap_or_else(|| rule.message.clone()),
                        detail,
                        None,
                    );
                    finding.severity = v.severity.unwrap_or(finding.severity);
                    finding.help = v.help.or(finding.help);
                    out.push((finding, self.view.via == Via::Template));
                }
            }
        }
    }

    /// Prices the resource if the rule is a `cost` rule (the engine judges the budgets over the
    /// run); whether it is one.
    fn priced(&self, policy: &Policy, rule: &Rule, params: Option<&Value>) -> bool {
        let Some(cost) = rule.check.cost() else { return false };
        // A workload is priced whole, not as the pods its template makes.
        if self.view.via == Via::Direct {
            let priced = super::budget::cost(self.resource, self.ns_labels, (policy, rule, cost), params);
            self.costs.borrow_mut().push(priced);
        }
        true
    }

    /// What a Rego rule is told: Gatekeeper's review of the view (the pod a workload makes is
    /// reviewed as a Pod, as Gatekeeper's expansion reviews it), made once for every constraint
    /// on the view, and the inventory.
    fn review<'r>(&'r self, request: &'r Value) -> Review<'r> {
        let delete = self.resource.operation(self.ctx.operation) == crate::k8s::Operation::Delete;
        let review = self.rego_review.get_or_init(|| {
            let whole = self.view.whole(self.resource);
            crate::compile::rego::review(&crate::compile::rego::Reviewed {
                request,
                admission: self.resource.admission.is_some(),
                pod: self.view.via == Via::Template,
                object: (!delete).then_some(whole),
                old: if delete { Some(whole) } else { self.view.old },
            })
        });
        let (synced, inventory) = (self.rego.1, self.inventory);
        let inventory = inventory.map(|index| {
            self.rego.0.get(|| {
                let text = |o: &Value, key: &str| o.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
                index
                    .objects()
                    .filter(|o| {
                        let api_version = text(o, "apiVersion");
                        let (group, version) = split_api_version(&api_version);
                        synced.is_empty()
                            || synced
                                .iter()
                                .any(|g| g.group == group && g.version == version && g.kind == text(o, "kind"))
                    })
                    .collect()
            })
        });
        Review { review, inventory, budget: self.ctx.budget.as_ref() }
    }

    /// What a plugin is told of the evaluation (the contract's `context`).
    fn plugin_context(&self, policy: &Policy, rule: &Rule) -> String {
        json_text(&json!({
            "operation": self.resource.operation(self.ctx.operation).as_str(),
            "now": self.ctx.now.to_string(),
            "namespace": { "name": self.id.namespace, "labels": self.ns_labels.cloned().unwrap_or_default() },
            "userInfo": self.resource.user_info(&self.ctx.user_info),
            "policy": policy.name,
            "rule": rule.id,
        }))
    }

    fn error(&self, policy: &Policy, rule: &Rule, at: &str, cause: FindingError, out: &mut Vec<(Finding, bool)>) {
        let message = match (&rule.spec.cel, policy.form.is_kubernetes_like()) {
            _ if cause.kind == ErrorKind::Unknown => format!("{}: not known until apply", rule.message),
            (Some(expression), true) => as_kubernetes(expression, &cause),
            _ => format!("rule `{}` could not be evaluated: {cause}", rule.id),
        };
        out.push((self.finding(policy, Some(rule), at, message, None, Some(cause)), self.view.via == Via::Template));
    }

    /// A finding of `rule`, or of the policy as a whole (`None`: a policy of audit annotations
    /// only has no rule).
    fn finding(
        &self,
        policy: &Policy,
        rule: Option<&Rule>,
        path: &str,
        message: String,
        detail: Option<String>,
        error: Option<FindingError>,
    ) -> Finding {
        // Under `Ignore` an error is a warning; Kubernetes' admission policies say nothing of
        // it to the client, so it is only recorded.
        let action = match (&error, policy.failure_policy) {
            // Known only after apply: what the policy would do, counted apart from the decision.
            (Some(e), _) if e.kind == ErrorKind::Unknown => policy.action,
            (Some(_), FailurePolicy::Ignore) if policy.form.is_kubernetes_like() => Action::Audit,
            (Some(_), FailurePolicy::Ignore) => Action::Warn,
            _ if self.view.via == Via::Template => {
                let (group, _) = split_api_version(&self.id.api_version);
                policy.expansion_action(group, &self.id.kind).unwrap_or(policy.action)
            }
            _ => policy.action,
        };
        let full = format!("{}{path}", self.view.prefix);
        // An instance's `binding` is the policy it instantiates, its name the binding's.
        Finding {
            policy: policy.reported_name().to_owned(),
            binding: policy.reported_binding().map(str::to_owned),
            rule: rule.map(|r| r.id.clone()).unwrap_or_default(),
            severity: rule.map(|r| r.severity).unwrap_or_default(),
            action,
            message,
            detail,
            help: rule.and_then(|r| r.help.clone()),
            resource: self.id.clone(),
            source: self.resource.source_of(&full),
            container: container_at(self.view.value, self.view.pod_spec.as_deref(), path),
            path: full,
            error,
            waived_by: None,
        }
    }
}

/// The name of the container a path goes through, if any: in a pod (`/spec/containers/0/...`)
/// or in a workload's pod template (`/spec/template/spec/initContainers/1/...`).
fn container_at(value: &Value, spec: Option<&str>, path: &str) -> Option<String> {
    let spec = spec?;
    let rest = path.strip_prefix(spec)?.strip_prefix('/')?;
    let mut segments = rest.split('/');
    let list = segments.next().filter(|l| k8s::CONTAINER_LISTS.contains(l))?;
    let index = segments.next()?;
    value.pointer(&format!("{spec}/{list}/{index}/name"))?.as_str().map(str::to_owned)
}

/// `value` as compact JSON text, through serde_json's writer (`to_string` goes through a
/// `Formatter`, about twice as slow); a `Value` always serializes.
fn json_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// An expression's error as the API server words it.
fn as_kubernetes(expression: &str, cause: &FindingError) -> String {
    let error = match cause.kind {
        ErrorKind::Cost => "operation cancelled: actual cost limit exceeded",
        _ => ["the condition failed: ".to_owned(), format!("`{expression}` failed: ")]
            .iter()
            .find_map(|p| cause.message.strip_prefix(p.as_str()))
            .unwrap_or(&cause.message),
    };
    format!("expression '{expression}' resulted in error: {error}")
}

/// A rule's `messageExpression`, or why its `message` stands instead: it failed, gave no string,
/// or (as the API server has it) gave an empty or multi-line one.
fn message_of<'v>(m: &'v crate::compile::expr::Expr, act: &crate::cel::Activation<'v>) -> Result<String, String> {
    match m.eval(act) {
        Ok(crate::cel::Value::Str(text)) if text.trim().is_empty() || text.contains('\n') => {
            Err("messageExpression gave an empty or multi-line message".into())
        }
        Ok(crate::cel::Value::Str(text)) => Ok(text.to_string()),
        Ok(other) => Err(format!("messageExpression gave a {}", other.type_name())),
        Err(e) => Err(format!("messageExpression failed ({e})")),
    }
}
