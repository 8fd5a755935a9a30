//! Running an engine: the rules that match each resource, their checks, the exceptions that
//! waive findings, and the report.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use rayon::prelude::*;
use serde_json::Value;

use crate::cel::index::Index;
use crate::compile::exception::{Exception, Target};
use crate::compile::params::{overlay, Problem};
use crate::compile::policy::Policy;
use crate::compile::select::Subject;
use crate::engine::inventory::Inventory;
use crate::engine::resource::Resource;
use crate::error::Error;
use crate::k8s::ResourceRef;
use crate::k8s::{self, split_api_version};
use crate::model::FailurePolicy;
use crate::report::{Cost, ExceptionReport, Finding, Patch, Report, ResourceReport};

use super::evaluation::{Evaluation, View};
use super::{Context, Engine, Via};

/// What a run does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Stages {
    /// Mutate, then validate the result.
    Both,
    /// Mutate only (the webhook's `/mutate`: `/validate` judges what it made).
    Mutate,
}

/// One resource evaluated: its record, findings (each with whether it is of a pod template),
/// the changes its mutations made, and the resource they left, when they changed it.
type Evaluated = (ResourceReport, Vec<(Finding, bool)>, Vec<Patch>, Option<Resource>);

/// Below this many resources, evaluation stays on the calling thread (an admission request has
/// one; handing it to a pool would only add latency).
const PARALLEL_FROM: usize = 16;

/// Where a resource stands for the policies (see [`Engine::place`]).
pub(super) struct Placed<'s> {
    pub(super) id: ResourceRef,
    pub(super) candidates: Vec<(usize, Via)>,
    /// Where its pod template is, for a pod controller.
    pub(super) template: Option<&'static str>,
    pub(super) ns_labels: Option<&'s BTreeMap<String, String>>,
}

/// What the evaluations of one run's resources share.
pub(super) struct Shared<'r> {
    pub(super) namespaces: &'r BTreeMap<String, BTreeMap<String, String>>,
    pub(super) crds: &'r k8s::schema::Crds,
    /// The inventory's index, when a policy reads it.
    pub(super) inventory: Option<&'r Index<'r>>,
    /// Kyverno's exceptions in force.
    pub(super) kyverno_exceptions: &'r [&'r Exception],
    /// Rego's `data.inventory`, made when a Rego rule first reads it.
    pub(super) rego_inventory: &'r crate::compile::rego::Inventory,
}

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
        self.run(resources, ctx, Stages::Both, done).0
    }

    /// Mutates, then validates the result: every resource as the mutations left it, in input
    /// order, and the report, whose `patches` say what changed and why.
    ///
    /// ```
    /// use paved::{Bundle, Context, Engine, Resource};
    /// let bundle = Bundle::from_str("p.yaml", r#"
    /// apiVersion: paved.dev/v1
    /// kind: Policy
    /// metadata: { name: team-label, version: 1.0.0 }
    /// spec:
    ///   match: { kinds: [Deployment] }
    ///   mutations:
    ///     - id: team
    ///       setLabels: { team: platform }
    /// "#)?;
    /// let engine = Engine::builder().bundle(bundle).build()?;
    /// let deployments = Resource::from_str("d.yaml", "{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}}")?;
    /// let (mutated, report) = engine.mutate(&deployments, &Context::parse_at("2026-06-01")?);
    /// assert_eq!(mutated[0].value()["metadata"]["labels"]["team"], "platform");
    /// assert_eq!(report.patches[0].operation["path"], "/metadata/labels");
    /// # Ok::<(), paved::Error>(())
    /// ```
    pub fn mutate(&self, resources: &[Resource], ctx: &Context) -> (Vec<Resource>, Report) {
        let (report, mutated) = self.run(resources, ctx, Stages::Both, &|| {});
        let out = resources.iter().zip(mutated).map(|(r, m)| m.unwrap_or_else(|| r.clone())).collect();
        (out, report)
    }

    /// Mutates, and validates unless `stages` says not to: the report, and each resource that a
    /// mutation changed.
    pub(super) fn run(
        &self,
        resources: &[Resource],
        ctx: &Context,
        stages: Stages,
        done: &(dyn Fn() + Sync),
    ) -> (Report, Vec<Option<Resource>>) {
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
        // Kyverno's exceptions in force: their conditions are judged on each resource.
        let kyverno: Vec<&Exception> = self
            .exceptions
            .iter()
            .filter(|e| e.kyverno.is_some() && e.standing(ctx.now, &self.settings).is_ok())
            .map(|e| &**e)
            .collect();
        let rego_inventory = crate::compile::rego::Inventory::default();
        let shared = Shared {
            namespaces: &namespaces,
            crds: &crds,
            inventory: inventory.as_ref(),
            kyverno_exceptions: &kyverno,
            rego_inventory: &rego_inventory,
        };
        let one = |r: &Resource| {
            let _resource =
                tracing::debug_span!(parent: &span, "resource", kind = %r.identity().kind, name = %r.identity().name)
                    .entered();
            let evaluated = self.one(r, ctx, &shared, stages);
            done();
            evaluated
        };
        let results: Vec<Evaluated> = if resources.len() < PARALLEL_FROM {
            resources.iter().map(one).collect()
        } else {
            resources.par_iter().map(one).collect()
        };
        let (report, mutated) = self.gather(results, ctx.now);
        tracing::info!(
            resources = report.summary.resources,
            findings = report.summary.findings,
            decision = report.decision.as_str(),
            "evaluated"
        );
        (report, mutated)
    }

    /// One resource mutated, and judged when `stages` says so.
    fn one(&self, r: &Resource, ctx: &Context, shared: &Shared<'_>, stages: Stages) -> Evaluated {
        let mutated = self.mutate_one(r, ctx, shared);
        let mut findings = mutated.findings;
        let judged = mutated.resource.as_ref().unwrap_or(r);
        let (mut policies, annotations, costs) = match stages {
            Stages::Both => self.evaluate_one(judged, ctx, shared, &mut findings),
            Stages::Mutate => Default::default(),
        };
        if !mutated.applied.is_empty() {
            policies.extend(mutated.applied);
            policies.sort_unstable();
            policies.dedup();
        }
        findings.sort_by(|(a, _), (b, _)| super::budget::in_order(a, b));
        tracing::debug!(policies = policies.len(), findings = findings.len(), "evaluated");
        let record = ResourceReport {
            resource: r.identity(),
            source: r.source_of(""),
            policies,
            findings: findings.len(),
            request: r.request_info(),
            annotations,
            costs,
        };
        (record, findings, mutated.patches, mutated.resource)
    }

    /// The report of a run's resources, and each resource a mutation changed.
    fn gather(&self, results: Vec<Evaluated>, now: Timestamp) -> (Report, Vec<Option<Resource>>) {
        let mut records = Vec::with_capacity(results.len());
        let (mut findings, mut patches, mut mutated) = (Vec::new(), Vec::new(), Vec::with_capacity(results.len()));
        for (record, mut f, mut p, m) in results {
            records.push(record);
            findings.append(&mut f);
            patches.append(&mut p);
            mutated.push(m);
        }
        (self.finish(records, findings, patches, now), mutated)
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
    fn finish(
        &self,
        mut resources: Vec<ResourceReport>,
        mut findings: Vec<(Finding, bool)>,
        patches: Vec<Patch>,
        now: Timestamp,
    ) -> Report {
        super::budget::judge(&self.policies, &mut resources, &mut findings);
        let standing: Vec<bool> = self.exceptions.iter().map(|e| e.standing(now, &self.settings).is_ok()).collect();
        let mut waived = vec![0usize; self.exceptions.len()];
        // A mutation an exception waived counts once, however many changes it would have made.
        let mut mutations: Vec<(&str, &str, &str, &ResourceRef)> = patches
            .iter()
            .filter_map(|p| Some((p.waived_by.as_deref()?, p.policy.as_str(), p.mutation.as_str(), &p.resource)))
            .collect();
        mutations.dedup();
        for (name, ..) in mutations {
            if let Some(i) = self.exceptions.iter().position(|e| e.name == name) {
                if let Some(n) = waived.get_mut(i) {
                    *n += 1;
                }
            }
        }
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
                // A Kyverno exception waived it where the resource was evaluated.
                let hit = self.exceptions.iter().enumerate().find(|(i, e)| match &f.waived_by {
                    Some(name) => e.name == *name,
                    None => standing.get(*i).copied().unwrap_or(false) && e.covers(&target),
                });
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
        let policies = Arc::clone(&self.infos);
        Report { findings, resources, exceptions, summary, decision, patches, fixes: Vec::new(), now, policies }
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

    /// Whether a loaded policy may judge (or mutate) an object of this `apiVersion` and kind, as
    /// itself or as the pod its template makes: what an audit of a cluster lists.
    pub fn judges_kind(&self, api_version: &str, kind: &str) -> bool {
        let (group, version) = split_api_version(api_version);
        !self.candidates(group, version, kind, k8s::controller(group, kind).is_some()).is_empty()
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
            if controller && p.pod_controllers && p.matches_kind("", "v1", "Pod") && p.expands(group, kind) {
                out.push((i, Via::Template));
            }
        }
        // Kind-indexed entries matched the kind name only; check group and version too.
        out.retain(|&(i, via)| {
            self.policies.get(i).is_some_and(|p| match via {
                Via::Direct => p.matches_kind(group, version, kind),
                Via::Template => controller && p.expands(group, kind),
            })
        });
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Where a resource stands: its identity (its namespace filled in), the policies that may
    /// apply to it, where its pod template is, and its namespace's labels.
    pub(super) fn place<'s>(&self, r: &Resource, ctx: &Context, shared: &Shared<'s>) -> Placed<'s> {
        let mut id = r.identity();
        // A namespaced object that names no namespace is in the one it is applied into.
        if id.namespace.is_empty() && k8s::namespaced(split_api_version(&id.api_version).0, &id.kind, shared.crds) {
            id.namespace = ctx.namespace.clone().unwrap_or_else(|| "default".into());
        }
        let (group, version) = split_api_version(&id.api_version);
        let template = k8s::controller(group, &id.kind).map(|c| c.template);
        let candidates = self.candidates(group, version, &id.kind, template.is_some());
        // A Namespace is selected by its own labels, every other object by its namespace's.
        let own_namespace = if id.kind == "Namespace" && group.is_empty() { &id.name } else { &id.namespace };
        let ns_labels = shared.namespaces.get(own_namespace);
        Placed { id, candidates, template, ns_labels }
    }

    /// Whether `p` applies to a view of `r` (its kind matched already).
    pub(super) fn applies(
        &self,
        p: &Policy,
        r: &Resource,
        view: &View<'_>,
        placed: &Placed<'_>,
        ctx: &Context,
    ) -> bool {
        let id = &placed.id;
        let (group, version) = split_api_version(&id.api_version);
        // A pod template is met as the Pod it makes.
        let (group, version, kind) =
            if view.via == Via::Template { ("", "v1", "Pod") } else { (group, version, id.kind.as_str()) };
        let subject = Subject {
            group,
            version,
            kind,
            namespace: &id.namespace,
            name: &id.name,
            labels: view.value.pointer("/metadata/labels").and_then(Value::as_object),
            generated: view.via == Via::Template,
        };
        p.matches_rest(&subject, r.operation(ctx.operation), placed.ns_labels)
    }

    /// An evaluation of `view` of `r`.
    pub(super) fn evaluation<'e>(
        &'e self,
        (r, view, placed): (&'e Resource, &'e View<'e>, &'e Placed<'e>),
        ctx: &'e Context,
        shared: &'e Shared<'e>,
    ) -> Evaluation<'e> {
        Evaluation {
            resource: r,
            id: &placed.id,
            view,
            ctx,
            ns_labels: placed.ns_labels,
            plugins: &self.plugins,
            crds: shared.crds,
            inventory: shared.inventory,
            kyverno_exceptions: shared.kyverno_exceptions,
            rego: (shared.rego_inventory, &self.synced),
            applied: Default::default(),
            annotations: Default::default(),
            costs: Default::default(),
            json: Default::default(),
            rego_review: Default::default(),
        }
    }

    /// Evaluates one resource; returns the names of the policies that applied, sorted, the
    /// audit annotations they added and what their `cost` rules priced.
    fn evaluate_one(
        &self,
        r: &Resource,
        ctx: &Context,
        shared: &Shared<'_>,
        out: &mut Vec<(Finding, bool)>,
    ) -> (Vec<String>, BTreeMap<String, String>, Vec<Cost>) {
        let placed = self.place(r, ctx, shared);
        let (mut applied, mut annotations, mut costs) = (Vec::new(), BTreeMap::new(), Vec::new());
        if placed.candidates.is_empty() {
            return (applied, annotations, costs);
        }
        let direct = View::direct(r, &placed.id);
        let template_view = placed.template.and_then(|path| View::template(r, path));
        for view in std::iter::once(&direct).chain(template_view.as_ref()) {
            let policies: Vec<&Policy> = placed
                .candidates
                .iter()
                .filter(|(_, via)| *via == view.via)
                .filter_map(|(pi, _)| self.policies.get(*pi).map(|p| p.as_ref()))
                .filter(|p| !p.rules.is_empty() || !p.annotations.is_empty())
                .filter(|p| self.applies(p, r, view, &placed, ctx))
                .collect();
            if !policies.is_empty() {
                let ev = self.evaluation((r, view, &placed), ctx, shared);
                ev.run(&policies, out);
                applied.append(&mut ev.applied.into_inner());
                annotations.append(&mut ev.annotations.into_inner());
                costs.append(&mut ev.costs.into_inner());
            }
        }
        applied.sort_unstable();
        applied.dedup();
        (applied, annotations, costs)
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
    // The API server labels every namespace with its name (`kubernetes.io/metadata.name`), and
    // selectors, ValidatingAdmissionPolicies' above all, select by it.
    let default = ctx.namespace.as_deref().unwrap_or("default");
    let named = resources.iter().map(|r| {
        let text = |p: &str| r.value.pointer(p).and_then(Value::as_str);
        match text("/kind") {
            Some("Namespace") => text("/metadata/name").unwrap_or_default(),
            _ => text("/metadata/namespace").filter(|ns| !ns.is_empty()).unwrap_or(default),
        }
    });
    let known: Vec<String> = out.keys().cloned().collect();
    for ns in named.map(str::to_owned).chain(known) {
        if !ns.is_empty() {
            out.entry(ns.clone()).or_default().entry(NAME_LABEL.to_owned()).or_insert(ns);
        }
    }
    out
}

/// The label the API server gives every namespace: its name.
const NAME_LABEL: &str = "kubernetes.io/metadata.name";

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
