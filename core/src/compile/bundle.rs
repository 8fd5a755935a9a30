//! A [`Bundle`]: policies, exceptions and settings, loaded from files, validated and compiled
//! once. Every problem in every file is reported together.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::compile::documents::{param_objects, twice, unique, Typed};
use crate::compile::exception::Exception;
use crate::compile::gatekeeper::GatekeeperExtras;
use crate::compile::golden_path::GoldenPath;
use crate::compile::policy::{self, Binding, Form, Policy};
use crate::error::{did_you_mean, Diagnostic, Diagnostics, Error};
use crate::load::packs::Pack;
use crate::load::{self, Sourced};
use crate::model::{BundleSpec, GoldenPathDocument};
use crate::plugin::{self, Declared};
use crate::report::{MutationInfo, PolicyInfo, RuleInfo};

/// How a reference to an OCI artifact starts.
const OCI: &str = "oci://";

/// Validated, compiled policies and exceptions with their settings. Immutable; build an
/// [`Engine`](crate::Engine) from it.
///
/// ```
/// let bundle = paved::Bundle::from_str("policy.yaml", r#"
/// apiVersion: paved.dev/v1
/// kind: Policy
/// metadata: { name: labels, version: 1.0.0 }
/// spec:
///   rules:
///     - id: team
///       message: every resource needs a team label
///       cel: has(object.metadata.labels) && 'team' in object.metadata.labels
/// "#)?;
/// assert_eq!(bundle.policy_names().collect::<Vec<_>>(), ["labels"]);
/// # Ok::<(), paved::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Bundle {
    /// The policies that apply: those without bindings, and the instances bindings make.
    pub(crate) policies: Vec<Arc<Policy>>,
    /// Policies that have bindings: they apply only through them.
    pub(crate) bound: Vec<Arc<Policy>>,
    /// `PolicyBinding`s, by name.
    pub(crate) bindings: Vec<Arc<Binding>>,
    pub(crate) exceptions: Vec<Arc<Exception>>,
    /// The settings of the bundle's `kind: Bundle` document, if it has one.
    pub(crate) settings: Option<BundleSpec>,
    /// Golden paths, by name and version.
    pub(crate) golden_paths: Vec<Arc<GoldenPath>>,
    /// The WASM plugins the bundle's `kind: Bundle` document declares, in order.
    pub(crate) plugins: Vec<Declared>,
    /// CustomResourceDefinitions given with the bundle: their kinds' schemas.
    pub(crate) crds: Vec<Value>,
    /// Param objects of Kubernetes admission policies (of a policy's `paramKind`), given with
    /// the bundle.
    pub(crate) objects: Vec<Value>,
    /// What Gatekeeper's documents add besides templates and constraints.
    pub(crate) gatekeeper: GatekeeperExtras,
    /// Packs `spec.packs` names by `oci://` reference, with the diagnostic for one not pulled:
    /// the loader pulls them (nothing in the core reaches a registry) and gives them back
    /// through [`Bundle::with_packs`].
    pub(crate) oci_packs: Vec<(String, Diagnostic)>,
}

impl Bundle {
    /// Reads every YAML/JSON file under `paths` (directories walked in sorted order, dot-files
    /// included, symlinks followed only inside the directory given, only regular files opened),
    /// and the WASM components the bundle's plugins name, from beside its `kind: Bundle`
    /// document. This and nothing else reads files.
    pub fn from_paths<P: Into<PathBuf> + Clone>(paths: &[P]) -> Result<Bundle, Error> {
        let span = tracing::info_span!("bundle.load", files = paths.len());
        let _enter = span.enter();
        let paths: Vec<PathBuf> = paths.iter().cloned().map(Into::into).collect();
        let mut diags = Diagnostics::default();
        let docs = load::read_all(&paths, &[], load::Schema::Core, &mut diags)?;
        let mut bundle = Bundle::from_documents(docs, &mut diags);
        for d in bundle.plugins.iter_mut().filter(|d| !d.path.starts_with(OCI)) {
            if let Err(e) = d.read() {
                diags.push(e);
            }
        }
        tracing::info!(policies = bundle.policies.len(), problems = diags.len(), "loaded");
        diags.into_result(bundle)
    }

    /// Loads the documents of one text; `file` names it in diagnostics. Pure: it reads no file,
    /// environment variable or cache. A plugin the text declares is compiled when an engine is
    /// built, from the bytes given to [`EngineBuilder::plugin`](crate::EngineBuilder::plugin).
    ///
    /// ```
    /// let bundle = paved::Bundle::from_str("paved.yaml", r#"
    /// apiVersion: paved.dev/v1
    /// kind: Bundle
    /// metadata: { name: acme }
    /// spec:
    ///   plugins:
    ///     - { name: allowlist, path: /nonexistent/allowlist.wasm, sha256: "0000000000000000000000000000000000000000000000000000000000000000" }
    /// "#)?;
    /// // Nothing was read: the missing file is only a problem when an engine is built.
    /// let err = paved::Engine::builder().bundle(bundle).build().unwrap_err();
    /// assert!(err.to_string().contains("was not given to the engine"), "{err}");
    /// # Ok::<(), paved::Error>(())
    /// ```
    pub fn from_str(file: &str, text: &str) -> Result<Bundle, Error> {
        let mut diags = Diagnostics::default();
        let docs = parse_or_report(file, text, &mut diags);
        let bundle = Bundle::from_documents(docs, &mut diags);
        diags.into_result(bundle)
    }

    pub(crate) fn from_documents(docs: Vec<Sourced>, diags: &mut Diagnostics) -> Bundle {
        let typed = Typed::sort(&docs, diags);
        let mut base = Bundle::default();
        let (mut plugins, mut functions, mut oci_packs) = (Vec::new(), Vec::new(), Vec::new());
        if let Some((spec, doc)) = &typed.settings {
            base = packs(spec, doc, &mut oci_packs, diags);
            plugins = plugin::declare_all(&spec.plugins, &doc.origin, diags);
            let (compiled, problems) = policy::compile_functions(&spec.functions, &doc.origin);
            problems.into_iter().for_each(|d| diags.push(d));
            functions = compiled;
            if let Some(trust) = &spec.trust {
                if let Err((field, message)) = super::images::signers(&trust.keys, &trust.identities) {
                    diags.push(doc.origin.diagnostic(&format!("/spec/trust{field}"), message, None));
                }
            }
        }
        let plugin_names: Vec<&str> = plugins.iter().map(|p| p.name.as_str()).collect();
        let settings = typed.settings.as_ref().map(|(s, _)| s.clone());
        let window = settings.clone().unwrap_or_default();
        let name = |m: &crate::model::Metadata| m.name.clone();
        let policies = unique(
            "policy",
            &typed.policies,
            |d| name(&d.metadata),
            diags,
            |d, src| policy::compile(d, &src.origin, &plugin_names, &functions),
        );
        let mut exceptions = unique(
            "exception",
            &typed.exceptions,
            |d| name(&d.metadata),
            diags,
            |d, src| Exception::compile(d, &src.origin, &window),
        );
        exceptions.extend(unique(
            "exception",
            &typed.kyverno_exceptions,
            |d| d.metadata.name.clone(),
            diags,
            |d, src| Exception::from_kyverno(d, &src.origin, &window, &functions),
        ));
        twice("exception", exceptions.iter().map(|e| (&e.name, &e.origin)), diags);
        let version = |d: &GoldenPathDocument| d.metadata.version.clone().unwrap_or(semver::Version::new(0, 0, 0));
        let golden_paths = unique(
            "golden path",
            &typed.golden_paths,
            |d| format!("{}@{}", d.metadata.name, version(d)),
            diags,
            |d, src| GoldenPath::compile(d, &src.origin),
        );
        let bindings = unique(
            "binding",
            &typed.bindings,
            |d| name(&d.metadata),
            diags,
            |d, src| policy::compile_binding(d, &src.origin),
        );
        let (mut policies, mut bindings) = (policies, bindings);
        let (kubernetes, (gk_policies, gk_bindings, gatekeeper)) =
            (typed.kubernetes(&functions, diags), typed.gatekeeper_compiled(&functions, diags));
        policies.extend(kubernetes.0.into_iter().chain(gk_policies));
        bindings.extend(kubernetes.1.into_iter().chain(gk_bindings));
        twice("policy", policies.iter().map(|p| (&p.name, &p.origin)), diags);
        let objects = param_objects(&typed.objects, &policies, diags);
        twice("binding", bindings.iter().map(|b| (&b.name, &b.origin)), diags);
        let bundle = Bundle {
            policies,
            bound: Vec::new(),
            bindings,
            exceptions,
            settings,
            golden_paths,
            plugins,
            crds: typed.crds,
            objects,
            gatekeeper,
            oci_packs,
        };
        base.merge(bundle)
    }

    /// Order never depends on file or document order.
    fn sort(&mut self) {
        self.policies.sort_by(|a, b| a.name.cmp(&b.name));
        self.exceptions.sort_by(|a, b| a.name.cmp(&b.name));
        self.golden_paths.sort_by(|a, b| (a.name(), a.version()).cmp(&(b.name(), b.version())));
    }

    /// Adds `other`'s policies and exceptions; where both have a policy or exception of the same
    /// name, `other`'s wins (so a platform bundle can override a built-in pack's policy). The
    /// settings are `other`'s when it has a `kind: Bundle` document, else this bundle's.
    pub fn merge(mut self, mut other: Bundle) -> Bundle {
        // Bindings are made again over the merged policies: a binding may bind a policy of the
        // other bundle.
        self.unbind();
        other.unbind();
        self.bindings.retain(|b| !other.bindings.iter().any(|o| o.name == b.name));
        self.bindings.extend(other.bindings);
        self.policies.retain(|p| !other.policies.iter().any(|o| o.name == p.name));
        self.exceptions.retain(|e| !other.exceptions.iter().any(|o| o.name == e.name));
        self.golden_paths
            .retain(|g| !other.golden_paths.iter().any(|o| o.name() == g.name() && o.version() == g.version()));
        self.golden_paths.extend(other.golden_paths);
        if other.settings.is_some() {
            self.settings = other.settings;
        }
        self.plugins.retain(|p| !other.plugins.iter().any(|o| o.name == p.name));
        self.plugins.extend(other.plugins);
        let name = |c: &Value| c.pointer("/metadata/name").cloned();
        self.crds.retain(|c| !other.crds.iter().any(|o| name(o) == name(c)));
        self.crds.extend(other.crds);
        let id = |o: &Value| {
            ["/apiVersion", "/kind", "/metadata/namespace", "/metadata/name"].map(|p| o.pointer(p).cloned())
        };
        self.objects.retain(|o| !other.objects.iter().any(|x| id(x) == id(o)));
        self.objects.extend(other.objects);
        self.policies.extend(other.policies);
        self.exceptions.extend(other.exceptions);
        self.gatekeeper.merge(other.gatekeeper);
        self.oci_packs.extend(other.oci_packs);
        self.bind();
        self.sort();
        self
    }

    /// The `oci://` references of the packs this bundle builds on (`spec.packs`), which its
    /// loader pulls, verifies and gives back through [`Bundle::with_packs`].
    pub fn pack_references(&self) -> impl Iterator<Item = &str> {
        self.oci_packs.iter().map(|(r, _)| r.as_str())
    }

    /// Who must have signed the `oci://` packs and plugins this bundle names, when its
    /// `kind: Bundle` document says (`spec.trust`).
    pub fn artifact_trust(&self) -> Option<&crate::ArtifactTrust> {
        self.settings.as_ref().and_then(|s| s.trust.as_ref())
    }

    /// The plugins whose component is an `oci://` reference (`spec.plugins[].path`), by name:
    /// the loader pulls each and gives its bytes to
    /// [`EngineBuilder::plugin`](crate::EngineBuilder::plugin), which checks its sha256 pin.
    pub fn plugin_references(&self) -> impl Iterator<Item = (&str, &str)> {
        self.plugins.iter().filter(|d| d.path.starts_with(OCI)).map(|d| (d.name.as_str(), d.path.as_str()))
    }

    /// This bundle with the component of its plugin `name` (one of its
    /// [`plugin_references`](Bundle::plugin_references), pulled); checked against the plugin's
    /// sha256 pin when an engine is built, like a component read from a file.
    pub fn with_plugin_component(mut self, name: &str, component: impl Into<Arc<[u8]>>) -> Bundle {
        let component = component.into();
        for d in self.plugins.iter_mut().filter(|d| d.name == name) {
            d.bytes = Some(Arc::clone(&component));
        }
        self
    }

    /// This bundle built on `packs` (the bundles its [`pack_references`](Bundle::pack_references)
    /// name, pulled): their policies first, this bundle's over them, as with built-in packs.
    pub fn with_packs(mut self, packs: impl IntoIterator<Item = Bundle>) -> Bundle {
        self.oci_packs.clear();
        let base = packs.into_iter().fold(Bundle::default(), Bundle::merge);
        base.merge(self)
    }

    /// Every declared policy back in `policies`, instances dropped.
    fn unbind(&mut self) {
        self.policies.retain(|p| p.binding.is_none());
        self.policies.append(&mut self.bound);
    }

    /// This bundle with the Rego of each Gatekeeper template that has both Rego and CEL code
    /// running instead of its CEL (which Gatekeeper runs), to compare the two.
    pub fn with_gatekeeper_rego(mut self) -> Bundle {
        self.unbind();
        for rego in &self.gatekeeper.rego {
            if let Some(p) = self.policies.iter_mut().find(|p| p.name == rego.name) {
                *p = Arc::clone(rego);
            }
        }
        self.bind();
        self.sort();
        self
    }

    /// Moves the policies that bindings name aside, and adds the instances the bindings make. A
    /// binding whose policy is not loaded makes nothing: building an engine reports it.
    fn bind(&mut self) {
        // A Kubernetes admission policy applies only through its bindings, even with none.
        let (bound, free): (Vec<_>, Vec<_>) = self
            .policies
            .drain(..)
            .partition(|p| p.form == Form::Kubernetes || self.bindings.iter().any(|b| b.policy == p.name));
        self.policies = free;
        self.bound = bound;
        for b in &self.bindings {
            if let Some(p) = self.bound.iter().find(|p| p.name == b.policy) {
                self.policies.retain(|x| x.name != b.name);
                let mut instance = p.instance(b, &self.objects);
                // A Gatekeeper constraint meets workloads only as the ExpansionTemplates say.
                if instance.expansions.is_some() {
                    instance.expansions = Some(self.gatekeeper.expansions.clone().into());
                }
                self.policies.push(Arc::new(instance));
            }
        }
    }

    /// The bindings whose policy is not loaded, with a did-you-mean.
    pub(crate) fn unbound(&self) -> Vec<Diagnostic> {
        let names: Vec<&str> =
            self.policies.iter().chain(&self.bound).filter(|p| p.binding.is_none()).map(|p| p.name.as_str()).collect();
        self.bindings
            .iter()
            .filter(|b| !self.bound.iter().any(|p| p.name == b.policy))
            .map(|b| {
                let help = did_you_mean(&b.policy, names.iter().copied()).map(|s| format!("did you mean `{s}`?"));
                match &b.constraint {
                    // A constraint's kind is its template's, which names it in lower case.
                    Some(kind) => b.origin.diagnostic(
                        "/kind",
                        format!(
                            "constraint `{}` is of kind `{kind}`, which no loaded ConstraintTemplate defines",
                            b.name
                        ),
                        did_you_mean(&b.policy, names.iter().copied())
                            .map(|s| format!("did you mean the kind of template `{s}`?")),
                    ),
                    None => b.origin.diagnostic(
                        "/spec/policy",
                        format!("binding `{}` names no loaded policy `{}`", b.name, b.policy),
                        help,
                    ),
                }
            })
            .collect()
    }

    /// Reads an exceptions source: files of `PolicyException` documents and nothing else, so an
    /// exceptions source can neither add policies nor change the platform's settings (its
    /// exception window). The exceptions are judged by the settings of the bundle an engine
    /// merges them with, like those of any other source.
    pub fn exceptions_from_paths<P: Into<PathBuf> + Clone>(paths: &[P]) -> Result<Bundle, Error> {
        let paths: Vec<PathBuf> = paths.iter().cloned().map(Into::into).collect();
        let mut diags = Diagnostics::default();
        let docs = load::read_all(&paths, &[], load::Schema::Core, &mut diags)?;
        let bundle = Bundle::from_documents(only_exceptions(docs, &mut diags), &mut diags);
        diags.into_result(bundle)
    }

    /// As [`Bundle::exceptions_from_paths`], from one text (`file` names it in diagnostics).
    ///
    /// ```
    /// let e = paved::Bundle::exceptions_from_str("exceptions.yaml", r#"
    /// apiVersion: paved.dev/v1
    /// kind: Bundle
    /// metadata: { name: team }
    /// spec: { exceptionMaxDays: 100000 }
    /// "#).unwrap_err();
    /// assert!(e.to_string().contains("an exceptions source holds only PolicyException documents"));
    /// ```
    pub fn exceptions_from_str(file: &str, text: &str) -> Result<Bundle, Error> {
        let mut diags = Diagnostics::default();
        let docs = parse_or_report(file, text, &mut diags);
        let bundle = Bundle::from_documents(only_exceptions(docs, &mut diags), &mut diags);
        diags.into_result(bundle)
    }

    /// The policies of a built-in pack (see [`Bundle::packs`]).
    ///
    /// ```
    /// let pack = paved::Bundle::pack("pod-security-baseline")?;
    /// assert_eq!(pack.policy_names().collect::<Vec<_>>(), ["pod-security-baseline"]);
    /// assert!(paved::Bundle::pack("pod-security-basline").unwrap_err().to_string().contains("did you mean"));
    /// # Ok::<(), paved::Error>(())
    /// ```
    pub fn pack(name: &str) -> Result<Bundle, Error> {
        Bundle::from_texts(Pack::named(name)?.files())
    }

    /// The documents of embedded texts: `(file name, text)`.
    fn from_texts(texts: &[(&str, &str)]) -> Result<Bundle, Error> {
        let mut diags = Diagnostics::default();
        let docs = texts.iter().flat_map(|(file, text)| parse_or_report(file, text, &mut diags)).collect();
        let bundle = Bundle::from_documents(docs, &mut diags);
        diags.into_result(bundle)
    }

    /// The built-in packs: name, what each checks, and whether `paved check` runs it when given
    /// no bundle and no pack.
    pub fn packs() -> impl Iterator<Item = PackInfo> {
        crate::load::packs::PACKS.iter().map(|p| PackInfo {
            name: p.name,
            description: p.description,
            default: crate::load::packs::DEFAULT_PACKS.contains(&p.name),
        })
    }

    /// The built-in golden paths (`web-service`, `worker`, `cron-job`, each in every version).
    pub fn golden_paths_builtin() -> Result<Bundle, Error> {
        Bundle::from_texts(crate::compile::golden_path::GOLDEN_PATHS)
    }

    /// The packs `paved check` runs when it is given no bundle and no pack, as one bundle.
    pub fn defaults() -> Result<Bundle, Error> {
        crate::load::packs::DEFAULT_PACKS.iter().try_fold(Bundle::default(), |b, name| Ok(b.merge(Bundle::pack(name)?)))
    }

    /// Names of the policies, sorted.
    pub fn policy_names(&self) -> impl Iterator<Item = &str> {
        self.policies.iter().map(|p| p.name.as_str())
    }

    /// What each policy is and checks, sorted by name (for listings and `paved explain`).
    pub fn policies(&self) -> Vec<PolicyInfo> {
        infos(&self.policies)
    }

    /// The policies and rules a query names: a policy (`pod-security-baseline`), a rule id
    /// (`host-namespaces`) or both (`POLICY/RULE`). Nothing found is an error with the closest
    /// name as did-you-mean.
    pub fn lookup(&self, query: &str) -> Result<Vec<(PolicyInfo, Vec<RuleInfo>)>, Error> {
        let (policy_name, rule_id) = match query.split_once('/') {
            Some((p, r)) => (Some(p), r),
            None => (None, query),
        };
        let mut found = Vec::new();
        for p in self.policies() {
            let rules: Vec<RuleInfo> = match policy_name {
                Some(pn) if pn != p.name => Vec::new(),
                None if rule_id == p.name => p.rules.clone(),
                _ => p.rules.iter().filter(|x| x.id == rule_id).cloned().collect(),
            };
            if !rules.is_empty() {
                found.push((p, rules));
            }
        }
        if found.is_empty() {
            let names: Vec<String> = self
                .policies()
                .into_iter()
                .flat_map(|p| {
                    let rules: Vec<String> =
                        p.rules.iter().flat_map(|r| [r.id.clone(), format!("{}/{}", p.name, r.id)]).collect();
                    std::iter::once(p.name).chain(rules)
                })
                .collect();
            let suggestion = did_you_mean(query, names.iter().map(String::as_str)).map(str::to_owned);
            return Err(Error::Unknown { what: "rule or policy", name: query.to_owned(), suggestion });
        }
        Ok(found)
    }

    /// A bundle of just the policy `name`, if there is one.
    pub(crate) fn only(&self, name: &str) -> Option<Bundle> {
        let p = self.policies.iter().find(|p| p.name == name)?;
        Some(Bundle { policies: vec![p.clone()], ..Bundle::default() })
    }

    /// The policies that only mutate (no rules): the platform's defaults, which a golden path's
    /// render applies whatever policies it names.
    pub(crate) fn mutations_only(&self) -> Bundle {
        let only = |p: &&Arc<Policy>| !p.mutations.is_empty() && p.rules.is_empty();
        let bound: Vec<Arc<Policy>> = self.bound.iter().filter(only).cloned().collect();
        let bindings = self.bindings.iter().filter(|b| bound.iter().any(|p| p.name == b.policy)).cloned().collect();
        // The instances bindings made are made again when the bundle is merged.
        let policies = self.policies.iter().filter(only).filter(|p| p.binding.is_none()).cloned().collect();
        Bundle { policies, bound, bindings, objects: self.objects.clone(), ..Bundle::default() }
    }

    /// The policy `name` as a Kubernetes ValidatingAdmissionPolicy and its binding (`paved export
    /// vap`), so its rules run in the API server. What Kubernetes cannot express is refused
    /// with the reason, every one at once; with `partial`, what can be left out (rules, pod
    /// controllers, exceptions) is, and the export's notes say what.
    ///
    /// ```
    /// let bundle = paved::Bundle::from_str("p.yaml", r#"
    /// apiVersion: paved.dev/v1
    /// kind: Policy
    /// metadata: { name: replicas }
    /// spec:
    ///   match: { kinds: [apps/v1/Deployment] }
    ///   params: { max: 5 }
    ///   rules:
    ///     - { id: max, message: too many replicas, cel: "object.spec.replicas <= params.max" }
    /// "#)?;
    /// let export = bundle.export_vap("replicas", false)?;
    /// assert!(export.yaml().contains("expression: object.spec.replicas <= variables.params.max"));
    /// # Ok::<(), paved::Error>(())
    /// ```
    pub fn export_vap(&self, name: &str, partial: bool) -> Result<crate::VapExport, Error> {
        let Some(policy) = self.policies.iter().chain(&self.bound).find(|p| p.binding.is_none() && p.name == name)
        else {
            let names: Vec<&str> = self.policies.iter().chain(&self.bound).map(|p| p.name.as_str()).collect();
            let suggestion = did_you_mean(name, names.iter().copied()).map(str::to_owned);
            return Err(Error::Unknown { what: "policy", name: name.to_owned(), suggestion });
        };
        let excepted = self.exceptions.iter().any(|e| e.policies.iter().any(|(p, _)| p == name));
        crate::compile::export::export(policy, excepted, partial).map_err(|refused| Error::Input {
            reason: format!(
                "policy `{name}` cannot run as a ValidatingAdmissionPolicy: {}{}",
                refused.join("; "),
                if partial { "" } else { " (--partial leaves out what can be left out)" }
            ),
        })
    }

    /// The golden paths, sorted by name and version.
    pub fn golden_paths(&self) -> impl Iterator<Item = &GoldenPath> {
        self.golden_paths.iter().map(|g| g.as_ref())
    }

    /// The golden path `NAME` or `NAME@RANGE` names: the highest version the range allows.
    pub fn golden_path(&self, spec: &str) -> Result<&GoldenPath, Error> {
        crate::compile::golden_path::find(&self.golden_paths, spec).map(|g| g.as_ref())
    }

    /// The first instant after `now` at which what `conform` says can change with no change to
    /// the objects: a golden path version's sunset, an exception starting or expiring.
    pub fn next_change(&self, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
        let sunsets = self.golden_paths.iter().filter_map(|g| g.sunset).filter(|t| *t > now);
        sunsets.chain(self.exceptions.iter().filter_map(|e| e.next_change(now))).min()
    }

    /// Names of the exceptions, sorted.
    pub fn exception_names(&self) -> impl Iterator<Item = &str> {
        self.exceptions.iter().map(|e| e.name.as_str())
    }
}

/// A built-in pack, as listings show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PackInfo {
    /// The name used with `--pack` and in a bundle's `spec.packs`.
    pub name: &'static str,
    /// What it checks.
    pub description: &'static str,
    /// Whether `paved check` runs it when given no bundle and no pack.
    pub default: bool,
}

/// What each policy is and checks, in the given order.
pub(crate) fn infos(policies: &[Arc<Policy>]) -> Vec<PolicyInfo> {
    policies
        .iter()
        .map(|p| PolicyInfo {
            name: p.name.clone(),
            version: p.version.to_string(),
            description: p.description.clone(),
            action: p.action,
            kinds: p.kinds.clone(),
            pod_controllers: p.pod_controllers && p.selector.matches_kind("", "v1", "Pod"),
            source: p.origin.source_ref(""),
            rules: p
                .rules
                .iter()
                .map(|r| RuleInfo {
                    id: r.id.clone(),
                    message: r.message.clone(),
                    help: r.help.clone(),
                    severity: r.severity,
                    when: r.spec.when.clone(),
                    for_each: r.spec.for_each.clone(),
                    cel: r.spec.cel.clone(),
                    assert: r.spec.assert.clone(),
                    plugin: r.spec.plugin.clone(),
                    params: r.spec.params.clone(),
                })
                .collect(),
            mutations: p
                .mutations
                .iter()
                .map(|m| MutationInfo {
                    id: m.id.clone(),
                    message: m.message.clone(),
                    patch_type: m.change.name().to_owned(),
                    expression: m.source.clone(),
                })
                .collect(),
        })
        .collect()
}

/// The documents of one text of paved documents; a syntax error is a diagnostic and no documents.
fn parse_or_report(file: &str, text: &str, diags: &mut Diagnostics) -> Vec<Sourced> {
    load::parse_text(file, text).unwrap_or_else(|d| {
        diags.push(d);
        Vec::new()
    })
}

/// The `PolicyException` documents; every other document is a diagnostic.
fn only_exceptions(docs: Vec<Sourced>, diags: &mut Diagnostics) -> Vec<Sourced> {
    docs.into_iter()
        .filter(|doc| {
            let kind = doc.value.get("kind").and_then(serde_json::Value::as_str);
            if kind == Some("PolicyException") {
                return true;
            }
            diags.push(doc.origin.diagnostic(
                if kind.is_some() { "/kind" } else { "" },
                format!(
                    "an exceptions source holds only PolicyException documents, not {}",
                    kind.map_or("a document without a kind".to_owned(), |k| format!("a {k}"))
                ),
                Some("policies and settings (the exception window) come from the platform bundle (`--bundle`)".into()),
            ));
            false
        })
        .collect()
}

/// The built-in packs `spec.packs` names, merged; those named by `oci://` reference go to
/// `oci_packs`, for the loader to pull.
fn packs(
    spec: &BundleSpec,
    doc: &Sourced,
    oci_packs: &mut Vec<(String, Diagnostic)>,
    diags: &mut Diagnostics,
) -> Bundle {
    let mut base = Bundle::default();
    for (i, name) in spec.packs.iter().enumerate() {
        let at = format!("/spec/packs/{i}");
        if name.starts_with(OCI) {
            let why = format!("the pack {name} was not pulled");
            let help = "the loader pulls OCI packs: `paved` does, a library caller passes them to Bundle::with_packs";
            oci_packs.push((name.clone(), doc.origin.diagnostic(&at, why, Some(help.into()))));
            continue;
        }
        match Bundle::pack(name) {
            Ok(b) => base = base.merge(b),
            Err(e) => diags.push(doc.origin.diagnostic(&at, e.to_string(), None)),
        }
    }
    base
}
