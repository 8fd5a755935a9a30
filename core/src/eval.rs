//! The engine: a bundle indexed by kind, evaluated against resources deterministically.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock};

use jiff::Timestamp;
use rayon::prelude::*;
use serde_json::{json, Map, Value};

use crate::bundle::Bundle;
use crate::cel::inventory::Index;
use crate::compile::check::{CheckInput, PluginCall};
use crate::compile::expr::ITEM;
use crate::compile::policy::{Policy, Rule};
use crate::error::{Diagnostic, Diagnostics, Error};
use crate::exception::{Exception, Target};
use crate::inventory::Inventory;
use crate::k8s::{self, split_api_version};
use crate::model::ResourceRef;
use crate::model::{Action, BundleSpec, FailurePolicy, Operation};
use crate::plugin::{self, PluginHost, PluginInfo, Plugins};
use crate::pointer::PathPattern;
use crate::report::{Decision, ErrorKind, ExceptionReport, Finding, FindingError, Report, ResourceReport};
use crate::resource::Resource;
use crate::select::Subject;

/// What an evaluation may know of the world. Everything time- or cluster-dependent comes in
/// here, from the caller: the engine reads no clock, environment or network.
///
/// From JSON (as the bindings and the WebAssembly build take it), every field optional but
/// `now`:
///
/// ```
/// let ctx: paved::Context = serde_json::from_str(r#"{
///   "now": "2026-06-01T00:00:00Z",
///   "operation": "UPDATE",
///   "namespaces": {"payments": {"env": "production"}},
///   "params": {"platform-baseline": {"registries": ["registry.acme.dev/"]}},
///   "userInfo": {"username": "alice"}
/// }"#)?;
/// assert_eq!(ctx.operation, paved::Operation::Update);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Context {
    /// The instant exceptions are judged at (RFC 3339, or a date meaning 00:00 UTC).
    #[serde(deserialize_with = "instant")]
    pub now: Timestamp,
    /// The admission operation (`CREATE` for `paved check`).
    #[serde(default)]
    pub operation: Operation,
    /// Labels of namespaces, by name, for `namespaceSelector`. `Namespace` objects among the
    /// evaluated resources override these with their own labels (they are the newer state).
    #[serde(default)]
    pub namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// Parameter overrides by policy name, merged over each policy's `spec.params`.
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    /// The requesting user (`request.userInfo`), when known.
    #[serde(default)]
    pub user_info: Value,
    /// The namespace objects that do not name one are applied into, as `kubectl apply -n`
    /// would; `default` when not given. Cluster-scoped kinds are in no namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The other objects policies may look up (`inventory` in CEL), besides the evaluated
    /// resources, which are always in it. Set with [`Context::inventory`].
    #[serde(skip)]
    pub inventory: Option<Arc<Inventory>>,
}

fn instant<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    crate::exception::parse_instant(&text).map_err(serde::de::Error::custom)
}

impl Context {
    /// A context at the instant `now`, for `CREATE`, with nothing else known.
    pub fn at(now: Timestamp) -> Self {
        Context {
            now,
            operation: Operation::Create,
            namespaces: BTreeMap::new(),
            params: BTreeMap::new(),
            user_info: Value::Null,
            namespace: None,
            inventory: None,
        }
    }

    /// Sets the objects policies may look up besides the evaluated ones (`inventory` in CEL):
    /// a live cluster's export, the rest of a repository.
    pub fn inventory(mut self, inventory: Inventory) -> Self {
        self.inventory = Some(Arc::new(inventory));
        self
    }

    /// Sets the namespace objects without `metadata.namespace` are applied into.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// A context at an instant given as text: RFC 3339 (`2026-12-31T18:00:00Z`) or a date
    /// (`2026-12-31`, meaning 00:00 UTC).
    ///
    /// ```
    /// let ctx = paved::Context::parse_at("2026-12-31")?;
    /// assert_eq!(ctx.now.to_string(), "2026-12-31T00:00:00Z");
    /// # Ok::<(), paved::Error>(())
    /// ```
    pub fn parse_at(now: &str) -> Result<Self, Error> {
        crate::exception::parse_instant(now).map(Context::at).map_err(|reason| Error::Input { reason })
    }

    /// Sets the admission operation.
    pub fn operation(mut self, operation: Operation) -> Self {
        self.operation = operation;
        self
    }

    /// Sets policy params as `paved check --set` does: `POLICY.PARAM` to a value, or `POLICY`
    /// to an object of params (merged over those set before).
    ///
    /// ```
    /// let ctx = paved::Context::parse_at("2026-06-01")?
    ///     .set("images.registries", serde_json::json!(["registry.acme.dev/"]))?
    ///     .set("cost-labels", serde_json::json!({"labels": ["team"]}))?;
    /// assert_eq!(ctx.params["images"]["registries"][0], "registry.acme.dev/");
    /// assert!(ctx.clone().set("images", serde_json::json!(3)).is_err());
    /// # Ok::<(), paved::Error>(())
    /// ```
    pub fn set(mut self, key: &str, value: Value) -> Result<Self, Error> {
        let (policy, params) = match key.split_once('.') {
            Some((policy, param)) if !policy.is_empty() && !param.is_empty() => {
                (policy, Map::from_iter([(param.to_owned(), value)]))
            }
            _ => match value {
                Value::Object(params) if !key.is_empty() => (key, params),
                _ => {
                    return Err(Error::Input {
                        reason: format!("`{key}` is not POLICY.PARAM, and its value is not an object of params"),
                    })
                }
            },
        };
        let entry = self.params.entry(policy.to_owned()).or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = entry.as_object_mut() {
            m.extend(params);
        }
        Ok(self)
    }

    /// Sets the labels of namespaces, by name.
    pub fn namespaces(mut self, namespaces: BTreeMap<String, BTreeMap<String, String>>) -> Self {
        self.namespaces = namespaces;
        self
    }

    /// Adds the labels of namespaces read from files: `Namespace` objects (or a `List` of them,
    /// as `kubectl get namespaces -o yaml` prints), or a mapping of namespace name to labels
    /// (`payments: {env: production}`). Reads the files it is given, and nothing else.
    pub fn read_namespaces<P: Into<PathBuf> + Clone>(mut self, paths: &[P]) -> Result<Self, Error> {
        self.namespaces.extend(crate::resource::read_namespace_labels(paths)?);
        Ok(self)
    }

    /// Sets one param from `POLICY.PARAM=VALUE`, as `paved check --set` takes it: the value is
    /// JSON when it parses as JSON, else a string.
    ///
    /// ```
    /// let ctx = paved::Context::parse_at("2026-06-01")?.assign("images.registries=[\"registry.acme.dev/\"]")?;
    /// assert_eq!(ctx.params["images"]["registries"][0], "registry.acme.dev/");
    /// assert!(ctx.clone().assign("images=3").is_err());
    /// # Ok::<(), paved::Error>(())
    /// ```
    pub fn assign(self, assignment: &str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::Input { reason: format!("{assignment}: {why}") };
        let (key, value) = assignment.split_once('=').ok_or_else(|| invalid("expected POLICY.PARAM=VALUE"))?;
        if !key.split_once('.').is_some_and(|(policy, param)| !policy.is_empty() && !param.is_empty()) {
            return Err(invalid("expected POLICY.PARAM before `=`"));
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        self.set(key, value)
    }

    /// As [`Context::read_namespaces`], from the text of one file named `file`.
    pub fn read_namespaces_str(mut self, file: &str, text: &str) -> Result<Self, Error> {
        self.namespaces.extend(crate::resource::namespace_labels_from_str(file, text)?);
        Ok(self)
    }

    /// Sets the parameter overrides of one policy.
    pub fn params(mut self, policy: &str, params: Value) -> Self {
        self.params.insert(policy.to_owned(), params);
        self
    }

    /// Sets the requesting user (`request.userInfo`).
    pub fn user_info(mut self, user_info: Value) -> Self {
        self.user_info = user_info;
        self
    }
}

/// Below this many resources, evaluation stays on the calling thread (an admission request has
/// one; handing it to a pool would only add latency).
const PARALLEL_FROM: usize = 16;

static EMPTY_PARAMS: LazyLock<Value> = LazyLock::new(|| json!({}));

/// How a policy meets a resource: directly, or through the pod template of a controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Via {
    Direct,
    Template,
}

/// The compiled bundle, indexed. Immutable, `Send + Sync`; share it with an `Arc`.
///
/// ```
/// use paved::{Bundle, Context, Engine, Resource};
/// let bundle = Bundle::from_str("p.yaml", r#"
/// apiVersion: paved.dev/v1
/// kind: Policy
/// metadata: { name: no-latest, version: 1.0.0 }
/// spec:
///   severity: high
///   match: { kinds: [Pod] }
///   rules:
///     - id: pinned
///       forEach: containers
///       message: images must be pinned
///       cel: "!item.image.endsWith(':latest')"
/// "#)?;
/// let engine = Engine::builder().bundle(bundle).build()?;
/// let pods = Resource::from_str("pod.yaml", r#"
/// apiVersion: v1
/// kind: Pod
/// metadata: { name: web }
/// spec: { containers: [ { name: app, image: "nginx:latest" } ] }
/// "#)?;
/// let report = engine.evaluate(&pods, &Context::at("2026-01-01T00:00:00Z".parse().unwrap()));
/// assert_eq!(report.decision, paved::Decision::Deny);
/// assert_eq!(report.findings[0].path, "/spec/containers/0");
/// # Ok::<(), paved::Error>(())
/// ```
#[derive(Debug)]
pub struct Engine {
    policies: Vec<Arc<Policy>>,
    exceptions: Vec<Arc<Exception>>,
    settings: BundleSpec,
    /// The plugins the bundle declares, compiled and linked.
    plugins: Plugins,
    /// What the build had to say without failing (a refused cache, an entry compiled again).
    notes: Vec<String>,
    /// kind -> policies that may match it, in policy order.
    by_kind: HashMap<String, Vec<(usize, Via)>>,
    /// Policies whose kinds are globs (or empty): checked against every resource.
    by_pattern: Vec<usize>,
    /// Custom resources' schemas, from the bundle's CustomResourceDefinitions.
    crds: k8s::schema::Crds,
    /// Whether a policy reads `inventory`: only then is it indexed for an evaluation.
    uses_inventory: bool,
}

const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<Engine>();
};

/// Builds an [`Engine`]: merges bundles, then compiles and links the plugins they declare.
///
/// ```no_run
/// use paved::{Bundle, Engine, PluginHost};
/// let bundle = Bundle::from_str("paved.yaml", &std::fs::read_to_string("paved.yaml")?)?;
/// let engine = Engine::builder()
///     .bundle(bundle)
///     .plugin("registry-allowlist", std::fs::read("registry-allowlist.wasm")?)
///     .plugin_host(PluginHost::default().instances(32))
///     .plugin_cache("/var/cache/paved")
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct EngineBuilder {
    bundle: Bundle,
    plugins: BTreeMap<String, Arc<[u8]>>,
    host: PluginHost,
    cache: Option<PathBuf>,
}

impl EngineBuilder {
    /// Adds a bundle; a later bundle's policies override earlier ones of the same name.
    pub fn bundle(mut self, bundle: Bundle) -> Self {
        self.bundle = std::mem::take(&mut self.bundle).merge(bundle);
        self
    }

    /// Gives the component of a plugin the bundle declares, by its name there. Its sha256 must
    /// still be the one the bundle pins. Bytes given here win over a file the bundle read.
    pub fn plugin(mut self, name: &str, component: impl Into<Vec<u8>>) -> Self {
        self.plugins.insert(name.to_owned(), Arc::from(component.into()));
        self
    }

    /// Sets the WebAssembly host's settings (instances, memory, fuel, deadline).
    pub fn plugin_host(mut self, host: PluginHost) -> Self {
        self.host = host;
        self
    }

    /// Keeps compiled plugins in `dir`, so the next engine does not compile them again. Without
    /// it, nothing is written or read. The directory must be the user's own and writable by no
    /// one else, or it is not used (see [`Engine::notes`]); an entry is used only if it is
    /// what paved wrote for exactly this component and host configuration.
    pub fn plugin_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = Some(dir.into());
        self
    }

    /// Compiles the plugins, checks each policy's params against its plugin's schema, and
    /// indexes the policies by kind. Every problem is reported together.
    pub fn build(self) -> Result<Engine, Error> {
        let span = tracing::info_span!("engine.build", policies = self.bundle.policies.len());
        let _enter = span.enter();
        let mut diags = Diagnostics::default();
        let mut notes = Vec::new();
        for name in self.plugins.keys().filter(|n| !self.bundle.plugins.iter().any(|d| d.name == **n)) {
            diags.push(Diagnostic {
                file: "<EngineBuilder::plugin>".into(),
                line: 0,
                column: 0,
                pointer: None,
                message: format!("a component was given for plugin `{name}`, which no bundle declares"),
                help: Some("declare it under `spec.plugins` of the bundle's `kind: Bundle` document".into()),
            });
        }
        let plugins = plugin::link(
            &self.bundle.plugins,
            &self.plugins,
            &self.host,
            self.cache.as_deref(),
            &mut diags,
            &mut notes,
        );
        for d in self.bundle.unbound() {
            diags.push(d);
        }
        check_params(&self.bundle, &plugins, &mut diags);
        check_exception_targets(&self.bundle, &mut diags);
        check_kinds(&self.bundle, &mut diags);
        for n in &notes {
            tracing::warn!("{n}");
        }
        let engine = diags.into_result(Engine::new(self.bundle, plugins, notes))?;
        tracing::info!(policies = engine.policies.len(), plugins = engine.plugins.len(), "built");
        Ok(engine)
    }

    /// Compiles one plugin component on its own, with this builder's host settings and cache,
    /// and says what it is: for `paved plugin inspect`, and for pinning a new plugin. `name`
    /// names it in errors.
    pub fn inspect_plugin(&self, name: &str, component: &[u8]) -> Result<PluginInfo, Error> {
        plugin::inspect(name, component, &self.host, self.cache.as_deref())
    }
}

/// Checks the params every plugin rule gives its plugin against the plugin's schema.
#[cfg(feature = "plugins")]
fn check_params(bundle: &Bundle, plugins: &Plugins, diags: &mut Diagnostics) {
    for policy in &bundle.policies {
        for (i, rule) in policy.rules.iter().enumerate() {
            let Some(call) = rule.check.plugin() else { continue };
            let Some(plugin) = plugins.get(&call.name) else { continue };
            let errors = plugin.params_errors(&call.params);
            if let Some((first, _)) = errors.first() {
                let detail: Vec<String> =
                    errors.iter().map(|(p, m)| if p.is_empty() { m.clone() } else { format!("{p}: {m}") }).collect();
                let field = if call.in_rule { format!("/params{first}") } else { "/plugin".to_owned() };
                diags.push(policy.origin.diagnostic(
                    &format!("/spec/rules/{i}{field}"),
                    format!("params do not fit plugin `{}`: {}", call.name, detail.join("; ")),
                    Some(format!("its params schema: {}", plugin.params_schema())),
                ));
            }
        }
    }
}

#[cfg(not(feature = "plugins"))]
fn check_params(_: &Bundle, _: &Plugins, _: &mut Diagnostics) {}

/// A policy whose `match.kinds` names a kind that is neither Kubernetes' nor one the bundle
/// declares (`spec.kinds`) would silently match nothing: a load error, with a did-you-mean.
fn check_kinds(bundle: &Bundle, diags: &mut Diagnostics) {
    let mut declared: Vec<&str> =
        bundle.settings.as_ref().map(|s| s.kinds.iter().map(String::as_str).collect()).unwrap_or_default();
    declared.extend(bundle.crds.iter().filter_map(|c| c.pointer("/spec/names/kind")).filter_map(Value::as_str));
    for policy in &bundle.policies {
        for (i, pattern) in policy.kinds.iter().enumerate() {
            let kind = pattern.rsplit('/').next().unwrap_or(pattern);
            if kind.contains(['*', '?', '[']) || declared.contains(&kind) {
                continue;
            }
            if let Err(suggestion) = crate::k8s::schema::known_kind(kind) {
                let help = match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "a custom resource's kind: add its CustomResourceDefinition to the bundle, or declare it under the Bundle's `spec.kinds`".into(),
                };
                diags.push(policy.origin.diagnostic(
                    &format!("/spec/match/kinds/{i}"),
                    format!(
                        "policy `{}` matches kind `{kind}`, which is no Kubernetes kind the bundle knows",
                        policy.name
                    ),
                    Some(help),
                ));
            }
        }
    }
}

/// An exception that names a policy or a rule the engine does not have would waive nothing and
/// say so only as `unused`: a misspelt name is a load error, with a did-you-mean.
fn check_exception_targets(bundle: &Bundle, diags: &mut Diagnostics) {
    let suggest = |word: &str, candidates: Vec<&str>| match crate::error::did_you_mean(word, candidates.iter().copied())
    {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("the names here are: {}", candidates.join(", ")),
    };
    for e in &bundle.exceptions {
        for (i, (name, rules)) in e.policies.iter().enumerate() {
            let Some(policy) = bundle.policies.iter().find(|p| p.name == *name) else {
                let names = bundle.policies.iter().map(|p| p.name.as_str()).collect();
                diags.push(e.origin.diagnostic(
                    &format!("/spec/policies/{i}/name"),
                    format!("exception `{}` waives policy `{name}`, which is not loaded", e.name),
                    Some(suggest(name, names)),
                ));
                continue;
            };
            for (j, rule) in rules.iter().enumerate().filter(|(_, r)| !policy.rules.iter().any(|x| x.id == **r)) {
                let ids = policy.rules.iter().map(|r| r.id.as_str()).collect();
                diags.push(e.origin.diagnostic(
                    &format!("/spec/policies/{i}/rules/{j}"),
                    format!("exception `{}` waives rule `{rule}`, which policy `{name}` does not have", e.name),
                    Some(suggest(rule, ids)),
                ));
            }
        }
    }
}

impl Engine {
    /// Starts building an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    fn new(bundle: Bundle, plugins: Plugins, notes: Vec<String>) -> Engine {
        let mut by_kind: HashMap<String, Vec<(usize, Via)>> = HashMap::new();
        let mut by_pattern = Vec::new();
        for (i, p) in bundle.policies.iter().enumerate() {
            let literal: Option<Vec<&str>> = p.selector.kinds.iter().map(|k| k.kind.literal()).collect();
            match literal {
                Some(kinds) if !kinds.is_empty() => {
                    for k in kinds {
                        by_kind.entry(k.to_owned()).or_default().push((i, Via::Direct));
                    }
                    if p.pod_controllers && p.matches_kind("", "v1", "Pod") {
                        for c in k8s::CONTROLLERS {
                            by_kind.entry(c.kind.to_owned()).or_default().push((i, Via::Template));
                        }
                    }
                }
                _ => by_pattern.push(i),
            }
        }
        for v in by_kind.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        let mut crds = k8s::schema::Crds::default();
        bundle.crds.iter().for_each(|c| crds.add(c));
        Engine {
            uses_inventory: bundle.policies.iter().any(|p| p.uses_inventory),
            crds,
            plugins,
            notes,
            policies: bundle.policies,
            exceptions: bundle.exceptions,
            settings: bundle.settings.unwrap_or_default(),
            by_kind,
            by_pattern,
        }
    }

    /// What the build had to say without failing: a plugin cache it refused, a cache entry it
    /// could not trust and compiled again. Also logged at `warn` through `tracing`.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The plugins the engine linked, sorted by name.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.plugins.values().map(|p| p.info()).collect()
    }

    /// Names of the policies, sorted.
    pub fn policy_names(&self) -> impl Iterator<Item = &str> {
        self.policies.iter().map(|p| p.name.as_str())
    }

    /// What each policy is and checks, sorted by name.
    pub fn policies(&self) -> Vec<crate::PolicyInfo> {
        crate::bundle::infos(&self.policies)
    }

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

    /// Checks that a context names only loaded policies in its params (a typo there would
    /// otherwise change nothing, silently).
    pub fn check_context(&self, ctx: &Context) -> Result<(), Error> {
        match ctx.params.keys().find(|p| !self.policies.iter().any(|x| x.name == **p)) {
            None => Ok(()),
            Some(p) => Err(Error::Unknown {
                what: "loaded policy",
                name: p.clone(),
                suggestion: crate::error::did_you_mean(p, self.policy_names()).map(str::to_owned),
            }),
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
            let record =
                ResourceReport { resource: r.identity(), source: r.source_of(""), policies, findings: findings.len() };
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
        Report { findings, resources, exceptions, summary, decision, now }
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
                    p.matches_rest(&subject, r.operation(ctx), ns_labels)
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
        crate::cel::Activation::new(roots, &policy.variables, &policy.item_variables)
    }

    /// `request` and `namespaceObject` as Kubernetes' admission CEL shapes them.
    fn bindings(&self) -> (Value, Value) {
        let (group, version) = split_api_version(&self.id.api_version);
        let request = json!({
            "operation": self.resource.operation(self.ctx).as_str(),
            "namespace": self.id.namespace,
            "name": self.id.name,
            "kind": { "group": group, "version": version, "kind": self.id.kind },
            "userInfo": self.resource.user_info(self.ctx),
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
        let needs_cel = policies.iter().any(|p| p.rules.iter().any(|r| r.uses_cel));
        let bindings = needs_cel.then(|| self.bindings());
        // Each set of forEach paths is walked once per view, for every rule that uses it.
        let mut walked: Vec<Walked<'_>> = Vec::new();
        for policy in policies {
            let params = self.params(policy);
            let base = match &bindings {
                Some((request, namespace)) if policy.rules.iter().any(|r| r.uses_cel) => {
                    Some(self.activation(policy, (request, namespace), params.as_deref()))
                }
                _ => None,
            };
            // One activation per item, shared by the policy's rules, so that each named
            // variable is computed at most once per item (and once per view when it does not
            // read `item`).
            let mut per_item: Vec<(*const Value, crate::cel::Activation<'_>)> = Vec::new();
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
                    let act = match (&base, rule.uses_cel, paths) {
                        (Some(base), true, None) => Some(base),
                        (Some(base), true, Some(_)) => {
                            let key: *const Value = *item;
                            let i = match per_item.iter().position(|(k, _)| *k == key) {
                                Some(i) => i,
                                None => {
                                    per_item.push((key, base.with(ITEM, crate::cel::Value::json(item))));
                                    per_item.len() - 1
                                }
                            };
                            per_item.get(i).map(|(_, a)| a)
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
                self.json.get_or_init(|| self.view.whole(self.resource).to_string()).as_str()
            } else {
                item_json = item.to_string();
                item_json.as_str()
            };
            Some(PluginCall {
                resource,
                overrides: self.ctx.params.get(&policy.name),
                context: self.plugin_context(policy, rule),
                now: self.ctx.now,
                plugins: self.plugins,
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
        json!({
            "operation": self.resource.operation(self.ctx).as_str(),
            "now": self.ctx.now.to_string(),
            "namespace": { "name": self.id.namespace, "labels": self.ns_labels.cloned().unwrap_or_default() },
            "userInfo": self.resource.user_info(self.ctx),
            "policy": policy.name,
            "rule": rule.id,
        })
        .to_string()
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

impl Decision {
    /// The word used in reports: `allow`, `warn` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Warn => "warn",
            Decision::Deny => "deny",
        }
    }
}
