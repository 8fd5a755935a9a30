//! Building an engine: bundles merged, every check compiled, plugins linked, params and
//! kinds checked, all once.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::compile::bundle::Bundle;
use crate::error::{Diagnostic, Diagnostics, Error};
use crate::plugin::{self, PluginHost, PluginInfo, Plugins};

use super::Engine;

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
    /// Param overrides for every evaluation, by policy; a context's own override them.
    params: BTreeMap<String, Value>,
    /// What was wrong with a param given, said when the engine is built.
    refused: Option<Error>,
    /// Whether Gatekeeper templates with both Rego and CEL run their Rego.
    gatekeeper_rego: bool,
}

impl EngineBuilder {
    /// Adds a bundle; a later bundle's policies override earlier ones of the same name.
    pub fn bundle(mut self, bundle: Bundle) -> Self {
        self.bundle = std::mem::take(&mut self.bundle).merge(bundle);
        self
    }

    /// Runs the Rego of each Gatekeeper template that has both Rego and CEL code, instead of
    /// its CEL (which Gatekeeper runs when it has both): to compare the two.
    pub fn gatekeeper_rego(mut self) -> Self {
        self.gatekeeper_rego = true;
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

    /// Sets a param for every evaluation, as `paved check --set` does: `POLICY.PARAM` to a
    /// value, or `POLICY` to an object of params. Checked against the loaded policies when the
    /// engine is built; a [`Context`](crate::Context)'s params override these.
    ///
    /// ```
    /// use paved::{Bundle, Engine};
    /// let engine = Engine::builder()
    ///     .bundle(Bundle::pack("platform-baseline")?)
    ///     .set("images.registries", serde_json::json!(["registry.acme.dev/"]))
    ///     .build()?;
    /// let typo = Engine::builder().bundle(Bundle::pack("platform-baseline")?).assign("imgs.registries=[]").build();
    /// assert!(typo.unwrap_err().to_string().contains("did you mean `images`?"));
    /// # Ok::<(), paved::Error>(())
    /// ```
    pub fn set(mut self, key: &str, value: Value) -> Self {
        if let Err(e) = super::context::set_param(&mut self.params, key, value) {
            self.refused.get_or_insert(e);
        }
        self
    }

    /// Sets one param from `POLICY.PARAM=VALUE` (the value JSON when it parses as JSON, else a
    /// string), as [`EngineBuilder::set`] does.
    pub fn assign(self, assignment: &str) -> Self {
        match super::context::parse_assignment(assignment) {
            Ok((key, value)) => self.set(&key, value),
            Err(e) => Self { refused: self.refused.or(Some(e)), ..self },
        }
    }

    /// Compiles the plugins, checks each policy's params against its plugin's schema, and
    /// indexes the policies by kind. Every problem is reported together.
    pub fn build(mut self) -> Result<Engine, Error> {
        if self.gatekeeper_rego {
            self.bundle = std::mem::take(&mut self.bundle).with_gatekeeper_rego();
        }
        let span = tracing::info_span!("engine.build", policies = self.bundle.policies.len());
        let _enter = span.enter();
        if let Some(e) = self.refused {
            return Err(e);
        }
        let names = || self.bundle.policies.iter().map(|p| p.name.as_str());
        if let Some(unknown) = self.params.keys().find(|k| !names().any(|n| n == k.as_str())) {
            return Err(Error::Unknown {
                what: "loaded policy",
                name: unknown.clone(),
                suggestion: crate::error::did_you_mean(unknown, names()).map(str::to_owned),
            });
        }
        let mut diags = Diagnostics::default();
        check_param_values(&self.bundle, &self.params, &mut diags)?;
        let mut notes = Vec::new();
        for (_, d) in &self.bundle.oci_packs {
            diags.push(d.clone());
        }
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
        check_mutation_conflicts(&self.bundle, &mut diags);
        check_location_schemas(&self.bundle, &mut diags);
        check_kinds(&self.bundle, &mut diags);
        // A policy's warnings, once (each binding of it has them).
        let warnings: std::collections::BTreeSet<&String> =
            self.bundle.policies.iter().flat_map(|p| &p.warnings).collect();
        notes.extend(warnings.into_iter().cloned());
        for n in &notes {
            tracing::warn!("{n}");
        }
        let mut engine = diags.into_result(Engine::new(self.bundle, plugins, notes))?;
        engine.params = self.params;
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

/// Checks the params each policy is given (by a binding, or here over its own) against its
/// params schema: a binding's that do not fit are load errors where the binding is written;
/// a caller's are an input error naming the policy and the param, with a did-you-mean.
fn check_param_values(bundle: &Bundle, given: &BTreeMap<String, Value>, diags: &mut Diagnostics) -> Result<(), Error> {
    let mut refused = Vec::new();
    for policy in &bundle.policies {
        let Some(schema) = &policy.params_schema else { continue };
        let own = schema.problems(&policy.params);
        if policy.binding.is_some() {
            for (pointer, message, help) in &own {
                diags.push(policy.origin.diagnostic(&format!("/spec/params{pointer}"), message.clone(), help.clone()));
            }
        }
        if let Some(over) = given.get(&policy.name) {
            refused.extend(super::run::refused_params(policy, over, &own));
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(Error::Input { reason: refused.join("; ") })
    }
}

/// A policy whose `match.kinds` names a kind that is neither Kubernetes' nor one the bundle
/// declares (`spec.kinds`) would silently match nothing: a load error, with a did-you-mean.
fn check_kinds(bundle: &Bundle, diags: &mut Diagnostics) {
    let mut declared: Vec<&str> =
        bundle.settings.as_ref().map(|s| s.kinds.iter().map(String::as_str).collect()).unwrap_or_default();
    declared.extend(bundle.crds.iter().filter_map(|c| c.pointer("/spec/names/kind")).filter_map(Value::as_str));
    for policy in &bundle.policies {
        for (i, pattern) in policy.kinds.iter().enumerate() {
            let kind = pattern.rsplit('/').next().unwrap_or(pattern);
            let group = pattern.split('/').next().filter(|_| pattern.matches('/').count() >= 2);
            // Terraform's types are the providers' own: any name of their shape is taken.
            let infrastructure = group.is_some_and(crate::load::is_infrastructure);
            if kind.contains(['*', '?', '[']) || declared.contains(&kind) || infrastructure {
                continue;
            }
            if let Err(suggestion) = crate::k8s::schema::known_kind(kind) {
                let help = match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if crate::load::terraform::looks_like_type(kind) => {
                        format!("a Terraform resource type is matched in its group: `terraform/*/{kind}`")
                    }
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
            let Some(policy) = bundle.policies.iter().find(|p| p.reported_name() == name) else {
                let mut names: Vec<&str> = bundle.policies.iter().map(|p| p.reported_name()).collect();
                names.dedup();
                diags.push(e.origin.diagnostic(
                    &format!("/spec/policies/{i}/name"),
                    format!("exception `{}` waives policy `{name}`, which is not loaded", e.name),
                    Some(suggest(name, names)),
                ));
                continue;
            };
            // A mutation is waived by its id, as a rule is.
            let ids: Vec<&str> = policy
                .rules
                .iter()
                .map(|r| r.id.as_str())
                .chain(policy.mutations.iter().map(|m| m.id.as_str()))
                .collect();
            for (j, rule) in rules.iter().enumerate().filter(|(_, r)| !ids.contains(&r.as_str())) {
                let ids = ids.clone();
                diags.push(e.origin.diagnostic(
                    &format!("/spec/policies/{i}/rules/{j}"),
                    format!("exception `{}` waives rule `{rule}`, which policy `{name}` does not have", e.name),
                    Some(suggest(rule, ids)),
                ));
            }
        }
    }
}

/// Two mutations that set one field to different values, where that is known before they run
/// (the shorthands' literal values) and their policies may meet one object: a load error (at
/// run time, a conflict is reported as a warning).
fn check_mutation_conflicts(bundle: &Bundle, diags: &mut Diagnostics) {
    let mut set: Vec<(&crate::compile::policy::Policy, &crate::compile::mutation::Mutation, &str, &serde_json::Value)> =
        Vec::new();
    for p in &bundle.policies {
        for m in p.mutations.iter() {
            for (field, value) in &m.writes {
                let earlier =
                    set.iter().find(|(q, n, f, v)| f == field && *v != value && !std::ptr::eq(*n, m) && may_meet(q, p));
                if let Some((q, n, _, v)) = earlier {
                    diags.push(p.origin.diagnostic(
                        &m.pointer,
                        format!(
                            "mutation `{}/{}` sets {field} to {value}, and `{}/{}` sets it to {v}: one object would get both",
                            p.reported_name(),
                            m.id,
                            q.reported_name(),
                            n.id
                        ),
                        Some("give the field one value, or match the two policies to different objects".into()),
                    ));
                }
                set.push((p, m, field, value));
            }
        }
    }
}

/// Two Gatekeeper mutators that may meet one object and read its shape differently (one walks
/// a field as a list, the other as an object; or keys one list by different fields): a load
/// error, where Gatekeeper would skip both and say so in their status.
fn check_location_schemas(bundle: &Bundle, diags: &mut Diagnostics) {
    use crate::compile::location::Path;
    let located: Vec<(&crate::compile::policy::Policy, &crate::compile::mutation::Mutation, &Path)> = bundle
        .policies
        .iter()
        .flat_map(|p| p.mutations.iter().filter_map(move |m| m.location().map(|path| (p.as_ref(), m, path))))
        .collect();
    for (i, (p, m, path)) in located.iter().enumerate() {
        let earlier = located.iter().take(i).find_map(|(q, _, other)| {
            let disagree = path.disagrees_with(other)?;
            may_meet(q, p).then_some((q, disagree))
        });
        if let Some((q, disagree)) = earlier {
            diags.push(p.origin.diagnostic(
                &m.pointer,
                format!(
                    "mutators `{}` ({}) and `{}` ({}) read the object differently: {disagree}",
                    q.reported_name(),
                    q.mutations.iter().find_map(|n| n.location()).map(ToString::to_string).unwrap_or_default(),
                    p.reported_name(),
                    path
                ),
                Some("make the two mutators agree on the object's shape, or apply them to different kinds".into()),
            ));
        }
    }
}

/// Whether two policies may apply to one object: a kind both name (or one that names none).
fn may_meet(a: &crate::compile::policy::Policy, b: &crate::compile::policy::Policy) -> bool {
    a.kinds.is_empty() || b.kinds.is_empty() || a.kinds.iter().any(|k| b.kinds.contains(k))
}

impl Engine {
    /// Starts building an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }
}
