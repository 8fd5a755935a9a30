//! A [`Bundle`]: policies, exceptions and settings, loaded from files, validated and compiled
//! once. Every problem in every file is reported together.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::compile::admission_policy;
use crate::compile::exception::Exception;
use crate::compile::golden_path::GoldenPath;
use crate::compile::policy::{self, Binding, Form, Policy};
use crate::error::{did_you_mean, Diagnostic, Diagnostics, Error};
use crate::load::packs::Pack;
use crate::load::{self, Sourced};
use crate::model::{
    AdmissionBindingDocument, AdmissionPolicyDocument, BindingDocument, BundleDocument, BundleSpec, ExceptionDocument,
    GoldenPathDocument, KyvernoExceptionDocument, KyvernoPolicyDocument, PolicyDocument, API_VERSION, KINDS,
};
use crate::model::{GROUP as ADMISSION_GROUP, KYVERNO_GROUP, KYVERNO_VERSIONS, VERSIONS as ADMISSION_VERSIONS};
use crate::plugin::{self, Declared};
use crate::report::{PolicyInfo, RuleInfo};

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
        for d in &mut bundle.plugins {
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
        let (mut plugins, mut functions) = (Vec::new(), Vec::new());
        if let Some((spec, doc)) = &typed.settings {
            for (i, name) in spec.packs.iter().enumerate() {
                match Bundle::pack(name) {
                    Ok(b) => base = base.merge(b),
                    Err(e) => diags.push(doc.origin.diagnostic(&format!("/spec/packs/{i}"), e.to_string(), None)),
                }
            }
            plugins = plugin::declare_all(&spec.plugins, &doc.origin, diags);
            let (compiled, problems) = policy::compile_functions(&spec.functions, &doc.origin);
            problems.into_iter().for_each(|d| diags.push(d));
            functions = compiled;
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
        let (more_policies, more_bindings) = typed.kubernetes(&functions, diags);
        policies.extend(more_policies);
        bindings.extend(more_bindings);
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
        self.bind();
        self.sort();
        self
    }

    /// Every declared policy back in `policies`, instances dropped.
    fn unbind(&mut self) {
        self.policies.retain(|p| p.binding.is_none());
        self.policies.append(&mut self.bound);
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
                self.policies.push(Arc::new(p.instance(b, &self.objects)));
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
                b.origin.diagnostic(
                    "/spec/policy",
                    format!("binding `{}` names no loaded policy `{}`", b.name, b.policy),
                    help,
                )
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

/// A bundle's documents by kind, typed; every document that does not read as its kind is a
/// diagnostic.
#[derive(Default)]
struct Typed<'d> {
    policies: Vec<(PolicyDocument, &'d Sourced)>,
    exceptions: Vec<(ExceptionDocument, &'d Sourced)>,
    golden_paths: Vec<(GoldenPathDocument, &'d Sourced)>,
    bindings: Vec<(BindingDocument, &'d Sourced)>,
    admission_policies: Vec<(AdmissionPolicyDocument, &'d Sourced)>,
    admission_bindings: Vec<(AdmissionBindingDocument, &'d Sourced)>,
    kyverno_policies: Vec<(KyvernoPolicyDocument, &'d Sourced)>,
    kyverno_exceptions: Vec<(KyvernoExceptionDocument, &'d Sourced)>,
    settings: Option<(BundleSpec, &'d Sourced)>,
    crds: Vec<Value>,
    objects: Vec<&'d Sourced>,
}

impl<'d> Typed<'d> {
    fn sort(docs: &'d [Sourced], diags: &mut Diagnostics) -> Typed<'d> {
        let mut t = Typed::default();
        for doc in docs {
            if crate::k8s::schema::is_crd(&doc.value) {
                t.crds.push(doc.value.clone());
                continue;
            }
            // Another Kubernetes object: a param object if a policy's `paramKind` names its kind.
            let api = doc.value.get("apiVersion").and_then(Value::as_str);
            let policy_group =
                |a: &str| [ADMISSION_GROUP, KYVERNO_GROUP].iter().any(|g| a.starts_with(&format!("{g}/")));
            if api.is_some_and(|a| a != API_VERSION && !policy_group(a)) {
                t.objects.push(doc);
                continue;
            }
            let Some(kind) = kind_of(doc, diags) else {
                continue;
            };
            // A document whose only problems are unknown fields is compiled too, so the
            // problems inside it are reported in the same run.
            let kyverno = api.is_some_and(|a| a.starts_with(&format!("{KYVERNO_GROUP}/")));
            let typed = match kind {
                "PolicyException" if kyverno => despite(doc, diags).map(|e| t.kyverno_exceptions.push((e, doc))),
                "Policy" => despite(doc, diags).map(|p| t.policies.push((p, doc))),
                "PolicyException" => despite(doc, diags).map(|e| t.exceptions.push((e, doc))),
                "PolicyBinding" => despite(doc, diags).map(|b| t.bindings.push((b, doc))),
                "PolicyTest" => continue,
                admission_policy::POLICY => despite(doc, diags).map(|p| t.admission_policies.push((p, doc))),
                admission_policy::BINDING => despite(doc, diags).map(|b| t.admission_bindings.push((b, doc))),
                admission_policy::KYVERNO_POLICY | admission_policy::KYVERNO_NAMESPACED_POLICY => {
                    despite(doc, diags).map(|p| t.kyverno_policies.push((p, doc)))
                }
                "GoldenPath" => despite(doc, diags).map(|g| t.golden_paths.push((g, doc))),
                _ => load::typed::<BundleDocument>(doc).map(|b| match &t.settings {
                    Some((_, first)) => diags.push(doc.origin.diagnostic(
                        "/kind",
                        format!(
                            "a second Bundle document (the first is at {}:{})",
                            first.origin.file,
                            first.origin.locate("").line
                        ),
                        Some("keep one `kind: Bundle` document per bundle".into()),
                    )),
                    None => t.settings = Some((b.spec, doc)),
                }),
            };
            if let Err(ds) = typed {
                ds.into_iter().for_each(|d| diags.push(d));
            }
        }
        t
    }
}

impl Typed<'_> {
    /// Kubernetes' and Kyverno's policies and Kubernetes' bindings, compiled; their names are
    /// in the same namespace as paved's.
    fn kubernetes(
        &self,
        functions: &[crate::cel::Function],
        diags: &mut Diagnostics,
    ) -> (Vec<Arc<Policy>>, Vec<Arc<Binding>>) {
        let plurals = admission_policy::plurals(&self.crds);
        let name = |m: &crate::model::ObjectMeta| m.name.clone();
        let mut policies = unique(
            "policy",
            &self.admission_policies,
            |d| name(&d.metadata),
            diags,
            |d, src| admission_policy::compile(d, &src.origin, functions, (&plurals, &self.crds)),
        );
        policies.extend(unique(
            "policy",
            &self.kyverno_policies,
            |d| name(&d.metadata),
            diags,
            |d, src| admission_policy::compile_kyverno(d, &src.origin, functions, &plurals),
        ));
        let bindings = unique(
            "binding",
            &self.admission_bindings,
            |d| name(&d.metadata),
            diags,
            |d, src| admission_policy::compile_binding(d, &src.origin, &plurals),
        );
        (policies, bindings)
    }
}

/// A document read as `T`, its problems reported; `Err` (with nothing more to say) when it
/// cannot be read even without its unknown fields.
fn despite<T: serde::de::DeserializeOwned>(doc: &Sourced, diags: &mut Diagnostics) -> Result<T, Vec<Diagnostic>> {
    let (typed, problems) = load::typed_despite(doc);
    problems.into_iter().for_each(|d| diags.push(d));
    typed.ok_or_else(Vec::new)
}

/// Compiles documents of one kind whose names must be unique: a second of a name is a
/// diagnostic that points at the first, and so is every problem compiling one.
fn unique<D, T>(
    what: &str,
    docs: &[(D, &Sourced)],
    name: impl Fn(&D) -> String,
    diags: &mut Diagnostics,
    compile: impl Fn(&D, &Sourced) -> Result<T, Vec<Diagnostic>>,
) -> Vec<Arc<T>> {
    let mut seen: BTreeMap<String, &Sourced> = BTreeMap::new();
    let mut out = Vec::new();
    for (doc, src) in docs {
        let id = name(doc);
        // A second of a name is compiled too, so its own problems are reported with it.
        let first = *seen.entry(id.clone()).or_insert(src);
        let second = !std::ptr::eq(first, *src);
        if second {
            diags.push(already(what, &id, &src.origin, &first.origin));
        }
        match compile(doc, src) {
            Ok(x) if !second => out.push(Arc::new(x)),
            Ok(_) => {}
            Err(ds) => ds.into_iter().for_each(|d| diags.push(d)),
        }
    }
    out
}

/// The Kubernetes objects of a kind some policy's `paramKind` names; any other is not a
/// document of a bundle, and `kind_of` says so.
fn param_objects(docs: &[&Sourced], policies: &[Arc<Policy>], diags: &mut Diagnostics) -> Vec<Value> {
    let text = |d: &Sourced, key: &str| d.value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut out = Vec::new();
    for doc in docs {
        let kind = (text(doc, "apiVersion"), text(doc, "kind"));
        if policies.iter().any(|p| p.param_kind.as_ref() == Some(&kind)) {
            out.push(doc.value.clone());
        } else {
            kind_of(doc, diags);
        }
    }
    out
}

/// A name given to a paved document and to a Kubernetes one of the same role.
fn twice<'a>(what: &str, named: impl Iterator<Item = (&'a String, &'a crate::load::Origin)>, diags: &mut Diagnostics) {
    let mut seen: BTreeMap<&str, &crate::load::Origin> = BTreeMap::new();
    for (name, origin) in named {
        if let Some(first) = seen.insert(name, origin) {
            diags.push(already(what, name, origin, first));
        }
    }
}

/// A second document of a kind with a name the first already has.
fn already(what: &str, name: &str, second: &crate::load::Origin, first: &crate::load::Origin) -> Diagnostic {
    let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    let line = first.locate("/metadata/name").line;
    second.diagnostic(
        "/metadata/name",
        format!("there is already {article} {what} named `{name}` at {}:{line}", first.file),
        Some(format!("{what} names must be unique in a bundle")),
    )
}

/// Checks `apiVersion` and `kind`, returning the kind.
fn kind_of<'a>(doc: &'a Sourced, diags: &mut Diagnostics) -> Option<&'a str> {
    let api = doc.value.get("apiVersion").and_then(|v| v.as_str());
    let kind = doc.value.get("kind").and_then(|v| v.as_str());
    if !doc.value.is_object() {
        diags.push(doc.origin.diagnostic("", "a document must be a mapping", None));
        return None;
    }
    if let Some((group, version)) = api.and_then(|a| a.split_once('/')) {
        let read = match group {
            ADMISSION_GROUP => Some((ADMISSION_VERSIONS, &[admission_policy::POLICY, admission_policy::BINDING][..])),
            KYVERNO_GROUP => Some((
                KYVERNO_VERSIONS,
                &[admission_policy::KYVERNO_POLICY, admission_policy::KYVERNO_NAMESPACED_POLICY, "PolicyException"][..],
            )),
            _ => None,
        };
        if let Some((versions, kinds)) = read {
            return policy_kind(doc, (group, version), (versions, kinds), kind, diags);
        }
    }
    if api != Some(API_VERSION) {
        diags.push(doc.origin.diagnostic(
            if api.is_some() { "/apiVersion" } else { "" },
            match api {
                Some(a) => format!("apiVersion `{a}` is not a paved document"),
                None => "the document has no apiVersion".into(),
            },
            Some(format!("paved documents start with `apiVersion: {API_VERSION}`; keep manifests to check outside the bundle directory")),
        ));
        return None;
    }
    match kind {
        Some(k) if KINDS.contains(&k) => Some(k),
        Some(k) => {
            let help = match did_you_mean(k, KINDS.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("the kinds are: {}", KINDS.join(", ")),
            };
            diags.push(doc.origin.diagnostic("/kind", format!("unknown kind `{k}`"), Some(help)));
            None
        }
        None => {
            diags.push(doc.origin.diagnostic(
                "",
                "the document has no kind",
                Some(format!("one of: {}", KINDS.join(", "))),
            ));
            None
        }
    }
}

/// The kind of a document of Kubernetes' or Kyverno's policy groups, if paved reads it.
fn policy_kind<'a>(
    doc: &'a Sourced,
    (group, version): (&str, &str),
    (versions, kinds): (&[&str], &[&str]),
    kind: Option<&'a str>,
    diags: &mut Diagnostics,
) -> Option<&'a str> {
    if !versions.contains(&version) {
        let message = format!("paved reads {group} in versions {}, not `{version}`", versions.join(", "));
        diags.push(doc.origin.diagnostic("/apiVersion", message, None));
        return None;
    }
    match kind {
        Some(k) if kinds.contains(&k) => Some(k),
        other => {
            let help = match other.and_then(|k| did_you_mean(k, kinds.iter().copied())) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("paved reads {} of this group", kinds.join(" and ")),
            };
            let message = format!("paved does not read {group} `{}` documents", other.unwrap_or("kind-less"));
            diags.push(doc.origin.diagnostic("/kind", message, Some(help)));
            None
        }
    }
}
