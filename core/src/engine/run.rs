//! Running an engine: the rules that match each resource, their checks, the exceptions that
//! waive findings, and the report.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};

use jiff::Timestamp;
use rayon::prelude::*;
use serde_json::{json, Map, Value};

use crate::cel::index::Index;
use crate::cel::Budget;
use crate::compile::check::{error_kind, CheckInput, PluginCall};
use crate::compile::exception::{Exception, Target};
use crate::compile::expr::ITEM;
use crate::compile::params::{overlay, Problem};
use crate::compile::policy::{Policy, Rule};
use crate::compile::select::Subject;
use crate::engine::inventory::Inventory;
use crate::engine::resource::Resource;
use crate::error::Error;
use crate::k8s::ResourceRef;
use crate::k8s::{self, split_api_version};
use crate::load::pointer::PathPattern;
use crate::model::{Action, FailurePolicy};
use crate::plugin::Plugins;
use crate::report::{ErrorKind, ExceptionReport, Finding, FindingError, Report, ResourceReport};

use super::{Context, Engine, Via};

/// Below this many resources, evaluation stays on the calling thread (an admission request has
/// one; handing it to a pool would only add latency).
const PARALLEL_FROM: usize = 16;

static EMPTY_PARAMS: LazyLock<Value> = LazyLock::new(|| json!({}));
static NULL: Value = Value::Null;

impl Engine {
    /// Every exception and its standing at `now`, without evaluating anything: `active`,
    /// `expiring`, `expired` or `invalid` (`unused` needs a run; see [`Report::exceptions`]).
    pub fn exceptions(&self, now: Timestamp) -> Vec<ExceptionReport> {
        self.exceptions.iter().map(|e| self.exception_report(e, now, None)).collect()
    }

    /// Evaluates a JSON request, `{"resources": [objects], "context": {...}}` (see [`Context`]
    /// for the context's fields; `now` is required), and returns the report as JSON: one call
    /// for every front end that speaks JSON. A malformed request, or params for a policy that is
    /// not loaded, is an error, never an empty report.
    pub fn evaluate_json(&self, request: &Value) -> Result<Value, Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Request {
            resources: Vec<Value>,
            context: Context,
        }
        let input = |reason: String| Error::Input { reason: format!("evaluation request: {reason}") };
        let request = <Request as serde::Deserialize>::deserialize(request).map_err(|e| input(e.to_string()))?;
        let mut resources = Vec::with_capacity(request.resources.len());
        for (i, value) in request.resources.into_iter().enumerate() {
            resources.push(Resource::from_value(value).map_err(|e| input(format!("resources[{i}]: {e}")))?);
        }
        self.check_context(&request.context)?;
        let report = self.evaluate(&resources, &request.context);
        serde_json::to_value(&report).map_err(|e| input(e.to_string()))
    }

    /// `ctx` with the builder's params under its own.
    fn with_params(&self, ctx: &Context) -> Context {
        let mut ctx = ctx.clone();
        for (policy, given) in &self.params {
            let merged = match ctx.params.remove(policy) {
                Some(over) => overlay(given, &over),
                None => given.clone(),
            };
            ctx.params.insert(policy.clone(), merged);
        }
        ctx
    }

    /// Checks that a context names only loaded policies in its params (a typo there would
    /// otherwise change nothing, silently), and that each policy's fit its params schema.
    pub fn check_context(&self, ctx: &Context) -> Result<(), Error> {
        if let Some(p) = ctx.params.keys().find(|p| !self.policies.iter().any(|x| x.name == **p)) {
            return Err(Error::Unknown {
                what: "loaded policy",
                name: p.clone(),
                suggestion: crate::error::did_you_mean(p, self.policy_names()).map(str::to_owned),
            });
        }
        // Only the caller's own params: the builder's were checked when the engine was built.
        let refused: Vec<String> = self
            .policies
            .iter()
            .filter_map(|p| {
                let over = ctx.params.get(&p.name)?;
                let given = self.params.get(&p.name).map_or_else(|| over.clone(), |base| overlay(base, over));
                Some(refused_params(p, &given, &[]))
            })
            .flatten()
            .collect();
        if refused.is_empty() {
            Ok(())
        } else {
            Err(Error::Input { reason: refused.join("; ") })
        }
    }

    /// Evaluates `resources` at `ctx`. The same inputs give the same report, whatever the order
    /// of policies, files or keys.
    pub fn evaluate(&self, resources: &[Resource], ctx: &Context) -> Report {
        self.evaluate_observed(resources, ctx, &|| {})
    }

    /// As [`Engine::evaluate`], calling `done` after each resource (from any thread), for
    /// progress reporting. Large inputs are evaluated in parallel on all cores; the report is
    /// the same as a sequential run's.
    pub fn evaluate_observed(&self, resources: &[Resource], ctx: &Context, done: &(dyn Fn() + Sync)) -> Report {
        let span = tracing::info_span!("evaluate", resources = resources.len());
        let _enter = span.enter();
        let with_params;
        let ctx = if self.params.is_empty() {
            ctx
        } else {
            with_params = self.with_params(ctx);
            &with_params
        };
        let namespaces = namespace_labels(resources, ctx);
        // CustomResourceDefinitions among the resources give their kinds' schemas to the run.
        let crds = {
            let mut crds = self.crds.clone();
            resources.iter().filter(|r| k8s::schema::is_crd(&r.value)).for_each(|r| crds.add(&r.value));
            crds
        };
        let placed = if self.uses_inventory {
            Inventory::placed(resources, ctx.namespace.as_deref().unwrap_or("default"), &crds)
        } else {
            Vec::new()
        };
        let inventory = self.uses_inventory.then(|| Inventory::index(ctx.inventory.as_deref(), resources, &placed));
        let one = |r: &Resource| {
            let _resource =
                tracing::debug_span!(parent: &span, "resource", kind = %r.identity().kind, name = %r.identity().name)
                    .entered();
            let mut findings = Vec::new();
            let policies = self.evaluate_one(r, ctx, (&namespaces, &crds, inventory.as_ref()), &mut findings);
            findings.sort_by(|(a, _), (b, _)| {
                (&a.policy, &a.rule, &a.path, &a.message).cmp(&(&b.policy, &b.rule, &b.path, &b.message))
            });
            tracing::debug!(policies = policies.len(), findings = findings.len(), "evaluated");
            let record = ResourceReport {
                resource: r.identity(),
                source: r.source_of(""),
                policies,
                findings: findings.len(),
                request: r.request_info(),
            };
            done();
            (record, findings)
        };
        let results: Vec<(ResourceReport, Vec<(Finding, bool)>)> = if resources.len() < PARALLEL_FROM {
            resources.iter().map(one).collect()
        } else {
            resources.par_iter().map(one).collect()
        };
        let mut records = Vec::with_capacity(results.len());
        let mut findings = Vec::new();
        for (record, mut f) in results {
            records.push(record);
            findings.append(&mut f);
        }
        let report = self.finish(records, findings, ctx.now);
        tracing::info!(
            resources = report.summary.resources,
            findings = report.summary.findings,
            decision = report.decision.as_str(),
            "evaluated"
        );
        report
    }

    /// The exceptions that select a resource, each with whether it is in force at `now`.
    pub(crate) fn exceptions_on(&self, r: &ResourceRef, now: Timestamp) -> Vec<(&str, bool)> {
        self.exceptions
            .iter()
            .filter(|e| e.selects(r))
            .map(|e| (e.name.as_str(), e.standing(now, &self.settings).is_ok()))
            .collect()
    }

    /// Applies exceptions and builds the report.
    fn finish(&self, resources: Vec<ResourceReport>, mut findings: Vec<(Finding, bool)>, now: Timestamp) -> Report {
        let standing: Vec<bool> = self.exceptions.iter().map(|e| e.standing(now, &self.settings).is_ok()).collect();
        let mut waived = vec![0usize; self.exceptions.len()];
        let findings = findings
            .drain(..)
            .map(|(mut f, via_template)| {
                let (group, version) = split_api_version(&f.resource.api_version);
                let target = Target {
                    policy: &f.policy,
                    rule: &f.rule,
                    group,
                    version,
                    kind: &f.resource.kind,
                    namespace: &f.resource.namespace,
                    name: &f.resource.name,
                    container: f.container.as_deref(),
                    via_template,
                };
                let hit = self
                    .exceptions
                    .iter()
                    .enumerate()
                    .find(|(i, e)| standing.get(*i).copied().unwrap_or(false) && e.covers(&target));
                if let Some((i, e)) = hit {
                    if let Some(n) = waived.get_mut(i) {
                        *n += 1;
                    }
                    f.waived_by = Some(e.name.clone());
                }
                f
            })
            .collect::<Vec<_>>();
        let exceptions =
            self.exceptions.iter().zip(&waived).map(|(e, &n)| self.exception_report(e, now, Some(n))).collect();
        let (summary, decision) = Report::summarize(resources.len(), &findings);
        Report { findings, resources, exceptions, summary, decision, now, policies: Arc::clone(&self.infos) }
    }

    /// An exception as reports show it; `waived` is how many findings it waived in a run.
    fn exception_report(&self, e: &Exception, now: Timestamp, waived: Option<usize>) -> ExceptionReport {
        ExceptionReport {
            name: e.name.clone(),
            owner: e.owner.clone(),
            reason: e.reason.clone(),
            ticket: e.ticket.clone(),
            approved_by: e.approved_by.clone(),
            expires: e.expires.to_string(),
            status: e.status(now, &self.settings, waived),
            problem: e.problem(now, &self.settings).map(|(_, why)| why),
            matches_everything: e.matches_everything(),
            waived: waived.unwrap_or(0),
            waives: e
                .policies
                .iter()
                .flat_map(|(p, rules)| {
                    if rules.is_empty() {
                        vec![p.clone()]
                    } else {
                        rules.iter().map(|r| format!("{p}/{r}")).collect()
                    }
                })
                .collect(),
            source: e.origin.source_ref(""),
        }
    }

    /// Whether every policy that may apply to `r` sets `failurePolicy: Ignore`, so a request
    /// for it that could not be judged is let through (no policy applies: nothing to enforce).
    pub(crate) fn fails_open(&self, r: &Resource) -> bool {
        let id = r.identity();
        let (group, version) = split_api_version(&id.api_version);
        let controller = k8s::controller(group, &id.kind).is_some();
        self.candidates(group, version, &id.kind, controller)
            .iter()
            .all(|&(i, _)| self.policies.get(i).is_some_and(|p| p.failure_policy == FailurePolicy::Ignore))
    }

    /// The policies that may apply to a resource of this kind; `controller` says whether it is a
    /// pod controller (so Pod policies meet its template).
    fn candidates(&self, group: &str, version: &str, kind: &str, controller: bool) -> Vec<(usize, Via)> {
        let mut out: Vec<(usize, Via)> = self.by_kind.get(kind).cloned().unwrap_or_default();
        for &i in &self.by_pattern {
            let Some(p) = self.policies.get(i) else {
                continue;
            };
            if p.matches_kind(group, version, kind) {
                out.push((i, Via::Direct));
            }
            if controller && p.pod_controllers && p.matches_kind("", "v1", "Pod") {
                out.push((i, Via::Template));
            }
        }
        // Kind-indexed entries matched the kind name only; check group and version too.
        out.retain(|&(i, via)| {
            self.policies.get(i).is_some_and(|p| match via {
                Via::Direct => p.matches_kind(group, version, kind),
                Via::Template => controller,
            })
        });
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Evaluates one resource; returns the names of the policies that applied, sorted.
    fn evaluate_one(
        &self,
        r: &Resource,
        ctx: &Context,
        (namespaces, crds, inventory): (
            &BTreeMap<String, BTreeMap<String, String>>,
            &k8s::schema::Crds,
            Option<&Index>,
        ),
        out: &mut Vec<(Finding, bool)>,
    ) -> Vec<String> {
        let mut id = r.identity();
        // A namespaced object that names no namespace is in the one it is applied into.
        if id.namespace.is_empty() && k8s::namespaced(split_api_version(&id.api_version).0, &id.kind, crds) {
            id.namespace = ctx.namespace.clone().unwrap_or_else(|| "default".into());
        }
        let (group, version) = split_api_version(&id.api_version);
        let template_path = k8s::controller(group, &id.kind).map(|c| c.template);
        let candidates = self.candidates(group, version, &id.kind, template_path.is_some());
        let mut applied = Vec::new();
        if candidates.is_empty() {
            return applied;
        }
        // A Namespace is selected by its own labels, every other object by its namespace's.
        let own_namespace = if id.kind == "Namespace" && group.is_empty() { &id.name } else { &id.namespace };
        let ns_labels = namespaces.get(own_namespace);

        let direct = View {
            value: &r.value,
            old: r.old.as_ref(),
            prefix: "",
            via: Via::Direct,
            pod_spec: k8s::pod_spec(&id.api_version, &id.kind),
            pod: Default::default(),
        };
        let template_view = template_path.and_then(|path| {
            let template = r.value.pointer(path).filter(|t| t.is_object())?;
            Some(View {
                value: template,
                old: None,
                prefix: path,
                via: Via::Template,
                pod_spec: Some("/spec".into()),
                pod: Default::default(),
            })
        });
        for view in std::iter::once(&direct).chain(template_view.as_ref()) {
            let policies: Vec<&Policy> = candidates
                .iter()
                .filter(|(_, via)| *via == view.via)
                .filter_map(|(pi, _)| self.policies.get(*pi).map(|p| p.as_ref()))
                .filter(|p| {
                    let subject = Subject {
                        namespace: &id.namespace,
                        name: &id.name,
                        labels: view.value.pointer("/metadata/labels").and_then(Value::as_object),
                    };
                    p.matches_rest(&subject, r.operation(ctx.operation), ns_labels)
                })
                .collect();
            if !policies.is_empty() {
                applied.extend(policies.iter().map(|p| p.name.clone()));
                let ev = Evaluation {
                    resource: r,
                    id: &id,
                    view,
                    ctx,
                    ns_labels,
                    plugins: &self.plugins,
                    crds,
                    inventory,
                    json: Default::default(),
                };
                ev.run(&policies, out);
            }
        }
        applied.sort_unstable();
        applied.dedup();
        applied
    }
}

/// The namespaces' labels: the context's, overridden by those of `Namespace` objects being
/// evaluated (they are the newer state: the namespace being created or changed).
fn namespace_labels(resources: &[Resource], ctx: &Context) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = ctx.namespaces.clone();
    for r in resources.iter().filter(|r| r.value.get("kind").and_then(Value::as_str) == Some("Namespace")) {
        if let Some(name) = r.value.pointer("/metadata/name").and_then(Value::as_str) {
            let labels = r
                .value
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned()))).collect())
                .unwrap_or_default();
            out.insert(name.to_owned(), labels);
        }
    }
    out
}

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
struct View<'a> {
    /// What `forEach` paths walk and selectors read: the object, or the controller's pod
    /// template (whose `metadata` and `spec` are where a Pod has them).
    value: &'a Value,
    old: Option<&'a Value>,
    /// Where the view sits in the real object (`/spec/template` for a Deployment's pod).
    prefix: &'a str,
    via: Via,
    /// Where the pod spec is in `value`, when there is one.
    pod_spec: Option<String>,
    /// The template's pod as a JSON `Pod`, made only for a check that needs it whole (CEL reads
    /// the template where it is).
    pod: std::cell::OnceCell<Value>,
}

impl<'a> View<'a> {
    /// The object the view shows, as JSON.
    fn whole(&self, owner: &Resource) -> &Value {
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
struct Evaluation<'a> {
    resource: &'a Resource,
    id: &'a ResourceRef,
    view: &'a View<'a>,
    ctx: &'a Context,
    ns_labels: Option<&'a BTreeMap<String, String>>,
    plugins: &'a Plugins,
    crds: &'a k8s::schema::Crds,
    /// The evaluation's inventory index, when a policy reads it.
    inventory: Option<&'a Index<'a>>,
    /// The view as JSON text, made once for every plugin rule that checks it whole.
    json: std::cell::OnceCell<String>,
}

impl<'a> Evaluation<'a> {
    /// What a policy's expressions see of the view, borrowed from it: `object`, `oldObject`,
    /// `request`, `params`, `namespaceObject` and `inventory`; `item` is set for each `forEach`
    /// item.
    fn activation<'v>(
        &self,
        policy: &'v Policy,
        (request, namespace): (&'v Value, &'v Value),
        params: Option<&'v Value>,
    ) -> crate::cel::Activation<'v>
    where
        'a: 'v,
    {
        use crate::cel::Value as V;
        let roots = [
            self.view.object(self.resource),
            self.view.old.map_or(V::Null, V::json),
            V::json(request),
            V::json(params.unwrap_or(&EMPTY_PARAMS)),
            V::json(namespace),
            V::Null,
            self.inventory.map_or(V::Null, V::Inventory),
        ];
        crate::cel::Activation::new(roots, &policy.variables, &policy.item_variables).within(self.ctx.budget.as_ref())
    }

    /// `request` and `namespaceObject` as Kubernetes' admission CEL shapes them.
    fn bindings(&self) -> (Value, Value) {
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
    fn params<'p>(&self, policy: &'p Policy) -> Option<std::borrow::Cow<'p, Value>> {
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

    fn run(&self, policies: &[&Policy], out: &mut Vec<(Finding, bool)>) {
        // `request` and `namespaceObject` are made only when an expression may read them.
        let bindings = policies.iter().any(|p| p.reads_request).then(|| self.bindings());
        let (request, namespace) = bindings.as_ref().map_or((&NULL, &NULL), |(r, n)| (r, n));
        // Each set of forEach paths is walked once per view, for every rule that uses it.
        let mut walked: Vec<Walked<'_>> = Vec::new();
        for policy in policies {
            let params = self.params(policy);
            let base = policy
                .rules
                .iter()
                .any(|r| r.uses_cel)
                .then(|| self.activation(policy, (request, namespace), params.as_deref()));
            // One activation per item, shared by the policy's rules, so that each named
            // variable is computed at most once per item (and once per view when it does not
            // read `item`).
            let mut per_item: Vec<crate::cel::Activation<'_>> = Vec::new();
            let mut item_at = ItemPositions::default();
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
                        return self.error(policy, rule, path, FindingError::new(error_kind(&e), e.to_string()), out);
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
                    self.apply(policy, rule, (path, item), act, params.as_deref(), out);
                }
            }
        }
    }

    fn apply<'v>(
        &self,
        policy: &Policy,
        rule: &'v Rule,
        (at, item): (&str, &Value),
        scope: Option<&crate::cel::Activation<'v>>,
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
        let violations = rule.check.check(&CheckInput { value, scope, call: call.as_ref(), params, crds: self.crds });
        match violations {
            Err(e) => self.error(policy, rule, at, e, out),
            Ok(vs) => {
                for v in vs {
                    let mut detail = v.detail;
                    let message = v.message.or_else(|| match (&rule.message_expression, scope) {
                        (Some(m), Some(act)) => match m.eval(act) {
                            Ok(crate::cel::Value::Str(text)) => Some(text.to_string()),
                            Ok(other) => {
                                detail = Some(format!(
                                    "messageExpression gave a {}, so the message is shown",
                                    other.type_name()
                                ));
                                None
                            }
                            Err(e) => {
                                detail = Some(format!("messageExpression failed ({e}), so the message is shown"));
                                None
                            }
                        },
                        _ => None,
                    });
                    let path = format!("{at}{}", v.path);
                    let mut finding = self.finding(
                        policy,
                        rule,
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
        let message = format!("rule `{}` could not be evaluated: {cause}", rule.id);
        out.push((self.finding(policy, rule, at, message, None, Some(cause)), self.view.via == Via::Template));
    }

    fn finding(
        &self,
        policy: &Policy,
        rule: &Rule,
        path: &str,
        message: String,
        detail: Option<String>,
        error: Option<FindingError>,
    ) -> Finding {
        let action = match (&error, policy.failure_policy) {
            (Some(_), FailurePolicy::Ignore) => Action::Warn,
            _ => policy.action,
        };
        let full = format!("{}{path}", self.view.prefix);
        Finding {
            policy: policy.name.clone(),
            rule: rule.id.clone(),
            severity: rule.severity,
            action,
            message,
            detail,
            help: rule.help.clone(),
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

/// How `over`, given over a policy's params, breaks its params schema (leaving out the
/// problems `known` already names), each as `policy: problem; help`.
pub(crate) fn refused_params(policy: &Policy, over: &Value, known: &[Problem]) -> Vec<String> {
    let Some(schema) = &policy.params_schema else { return Vec::new() };
    schema
        .problems(&overlay(&policy.params, over))
        .into_iter()
        .filter(|p| !known.contains(p))
        .map(|(_, message, help)| {
            let help = help.map(|h| format!("; {h}")).unwrap_or_default();
            format!("{}: {message}{help}", policy.name)
        })
        .collect()
}

/// `value` as compact JSON text, through serde_json's writer (`to_string` goes through a
/// `Formatter`, about twice as slow); a `Value` always serializes.
fn json_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
