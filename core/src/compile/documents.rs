//! A bundle's documents sorted by kind and typed, and the helpers that compile documents of
//! one kind: names unique, every problem reported with where the first of a name is.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::compile::admission_policy;
use crate::compile::gatekeeper::{self, GatekeeperExtras};
use crate::compile::gatekeeper_mutation::{self as mutators, ASSIGN_IMAGE};
use crate::compile::policy::{Binding, Policy};
use crate::error::{did_you_mean, Diagnostic, Diagnostics};
use crate::load::{self, Sourced};
use crate::model::{
    AdmissionBindingDocument, AdmissionPolicyDocument, BindingDocument, BundleDocument, BundleSpec, ExceptionDocument,
    GoldenPathDocument, KyvernoExceptionDocument, KyvernoPolicyDocument, PolicyDocument, API_VERSION, KINDS,
};
use crate::model::{
    ConstraintDocument, ExpansionDocument, MutatorDocument, SyncDocument, TemplateDocument, ALPHA_BETA, CONFIG_GROUP,
    CONSTRAINT_GROUP, CONSTRAINT_VERSIONS, EXPANSION_GROUP, MUTATION_GROUP, MUTATION_VERSIONS, SYNCSET_GROUP,
    TEMPLATE_GROUP, TEMPLATE_VERSIONS,
};
use crate::model::{GROUP as ADMISSION_GROUP, KYVERNO_GROUP, KYVERNO_VERSIONS, VERSIONS as ADMISSION_VERSIONS};

/// The groups of Gatekeeper's documents (`test.gatekeeper.sh`: gator's suites).
const GATEKEEPER_GROUPS: &[&str] = &[
    TEMPLATE_GROUP,
    CONSTRAINT_GROUP,
    CONFIG_GROUP,
    SYNCSET_GROUP,
    EXPANSION_GROUP,
    MUTATION_GROUP,
    "test.gatekeeper.sh",
];

/// A bundle's documents by kind, typed; every document that does not read as its kind is a
/// diagnostic.
#[derive(Default)]
pub(crate) struct Typed<'d> {
    pub(crate) policies: Vec<(PolicyDocument, &'d Sourced)>,
    pub(crate) exceptions: Vec<(ExceptionDocument, &'d Sourced)>,
    pub(crate) golden_paths: Vec<(GoldenPathDocument, &'d Sourced)>,
    pub(crate) bindings: Vec<(BindingDocument, &'d Sourced)>,
    pub(crate) admission_policies: Vec<(AdmissionPolicyDocument, &'d Sourced)>,
    pub(crate) admission_bindings: Vec<(AdmissionBindingDocument, &'d Sourced)>,
    pub(crate) kyverno_policies: Vec<(KyvernoPolicyDocument, &'d Sourced)>,
    pub(crate) image_policies: Vec<(crate::model::ImagePolicyDocument, &'d Sourced)>,
    pub(crate) kyverno_exceptions: Vec<(KyvernoExceptionDocument, &'d Sourced)>,
    pub(crate) settings: Option<(BundleSpec, &'d Sourced)>,
    pub(crate) crds: Vec<Value>,
    pub(crate) objects: Vec<&'d Sourced>,
    pub(crate) templates: Vec<(TemplateDocument, &'d Sourced)>,
    pub(crate) constraints: Vec<(ConstraintDocument, &'d Sourced)>,
    pub(crate) syncs: Vec<(SyncDocument, &'d Sourced)>,
    pub(crate) expansions: Vec<(ExpansionDocument, &'d Sourced)>,
    pub(crate) mutators: Vec<(MutatorDocument, &'d Sourced)>,
}

impl<'d> Typed<'d> {
    pub(crate) fn sort(docs: &'d [Sourced], diags: &mut Diagnostics) -> Typed<'d> {
        let mut t = Typed::default();
        for doc in docs {
            if crate::k8s::schema::is_crd(&doc.value) {
                t.crds.push(doc.value.clone());
                continue;
            }
            let api = doc.value.get("apiVersion").and_then(Value::as_str);
            if let Some((group, version)) = api.and_then(|a| a.split_once('/')) {
                if GATEKEEPER_GROUPS.contains(&group) {
                    t.gatekeeper(doc, (group, version), diags);
                    continue;
                }
            }
            // Another Kubernetes object: a param object if a policy's `paramKind` names its kind.
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
                admission_policy::POLICY | admission_policy::MUTATING_POLICY => {
                    despite(doc, diags).map(|p| t.admission_policies.push((p, doc)))
                }
                admission_policy::BINDING | admission_policy::MUTATING_BINDING => {
                    despite(doc, diags).map(|b| t.admission_bindings.push((b, doc)))
                }
                admission_policy::KYVERNO_POLICY
                | admission_policy::KYVERNO_NAMESPACED_POLICY
                | admission_policy::KYVERNO_MUTATING_POLICY
                | admission_policy::KYVERNO_NAMESPACED_MUTATING_POLICY => {
                    despite(doc, diags).map(|p| t.kyverno_policies.push((p, doc)))
                }
                super::image_policy::KIND => despite(doc, diags).map(|p| t.image_policies.push((p, doc))),
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

impl<'d> Typed<'d> {
    /// Sorts a document of Gatekeeper's groups (a gator `Suite` is skipped, as a `PolicyTest`
    /// is).
    fn gatekeeper(&mut self, doc: &'d Sourced, (group, version): (&str, &str), diags: &mut Diagnostics) {
        let kind = doc.value.get("kind").and_then(Value::as_str).unwrap_or_default();
        let (versions, kinds): (&[&str], &[&str]) = match group {
            TEMPLATE_GROUP => (TEMPLATE_VERSIONS, &[gatekeeper::TEMPLATE]),
            CONSTRAINT_GROUP => (CONSTRAINT_VERSIONS, &[]),
            CONFIG_GROUP => (&["v1alpha1"], &["Config"]),
            SYNCSET_GROUP => (&["v1alpha1"], &["SyncSet"]),
            EXPANSION_GROUP => (ALPHA_BETA, &[gatekeeper::EXPANSION]),
            // AssignImage is served in `v1alpha1` only.
            MUTATION_GROUP if kind == ASSIGN_IMAGE => (&["v1alpha1"], &[ASSIGN_IMAGE]),
            MUTATION_GROUP => (MUTATION_VERSIONS, mutators::KINDS),
            _ => return, // test.gatekeeper.sh: suites run under `paved test`
        };
        // A constraint is of any kind a template defines (checked once the bundle is bound).
        let constraint_kind =
            (group == CONSTRAINT_GROUP).then_some(kinds.iter().copied().chain([kind]).collect::<Vec<_>>());
        let kinds = constraint_kind.as_deref().unwrap_or(kinds);
        if policy_kind(doc, (group, version), (versions, kinds), Some(kind).filter(|k| !k.is_empty()), diags).is_none()
        {
            return;
        }
        let typed = match group {
            TEMPLATE_GROUP => despite(doc, diags).map(|d| self.templates.push((d, doc))),
            CONSTRAINT_GROUP => despite(doc, diags).map(|d| self.constraints.push((d, doc))),
            EXPANSION_GROUP => despite(doc, diags).map(|d| self.expansions.push((d, doc))),
            MUTATION_GROUP => despite(doc, diags).map(|d| self.mutators.push((d, doc))),
            _ => despite(doc, diags).map(|d| self.syncs.push((d, doc))),
        };
        if let Err(ds) = typed {
            ds.into_iter().for_each(|d| diags.push(d));
        }
    }

    /// Gatekeeper's templates and mutators (policies) and constraints (bindings), compiled, and
    /// what its other documents add.
    pub(crate) fn gatekeeper_compiled(
        &self,
        functions: &[crate::cel::Function],
        diags: &mut Diagnostics,
    ) -> (Vec<Arc<Policy>>, Vec<Arc<Binding>>, GatekeeperExtras) {
        let name = |m: &crate::model::ObjectMeta| m.name.clone();
        let templates = unique(
            "policy",
            &self.templates,
            |d| name(&d.metadata),
            diags,
            |d, src| gatekeeper::compile_template(d, &src.origin, functions),
        );
        let bindings = unique(
            "constraint",
            &self.constraints,
            |d| name(&d.metadata),
            diags,
            |d, src| gatekeeper::compile_constraint(d, &src.origin),
        );
        let expansions = unique(
            "expansion template",
            &self.expansions,
            |d| name(&d.metadata),
            diags,
            |d, src| gatekeeper::compile_expansion(d, &src.origin),
        );
        let mut sync: Vec<_> = self.syncs.iter().flat_map(|(d, _)| gatekeeper::sync_kinds(d)).collect();
        sync.sort();
        sync.dedup();
        let mutators =
            unique("mutator", &self.mutators, |d| name(&d.metadata), diags, |d, src| mutators::compile(d, &src.origin));
        let policies = templates.iter().map(|t| Arc::clone(&t.policy)).chain(mutators).collect();
        let rego = templates.iter().filter_map(|t| t.rego.clone()).collect();
        (policies, bindings, GatekeeperExtras { sync, expansions, rego })
    }

    /// Kubernetes' and Kyverno's policies and Kubernetes' bindings, compiled; their names are
    /// in the same namespace as paved's.
    pub(crate) fn kubernetes(
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
        policies.extend(unique(
            "policy",
            &self.image_policies,
            |d| name(&d.metadata),
            diags,
            |d, src| super::image_policy::compile(d, &src.origin, functions, &plurals),
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
pub(crate) fn unique<D, T>(
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
pub(crate) fn param_objects(docs: &[&Sourced], policies: &[Arc<Policy>], diags: &mut Diagnostics) -> Vec<Value> {
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
pub(crate) fn twice<'a>(
    what: &str,
    named: impl Iterator<Item = (&'a String, &'a crate::load::Origin)>,
    diags: &mut Diagnostics,
) {
    let mut seen: BTreeMap<&str, &crate::load::Origin> = BTreeMap::new();
    for (name, origin) in named {
        if let Some(first) = seen.insert(name, origin) {
            diags.push(already(what, name, origin, first));
        }
    }
}

/// A second document of a kind with a name the first already has.
pub(crate) fn already(what: &str, name: &str, second: &crate::load::Origin, first: &crate::load::Origin) -> Diagnostic {
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
            ADMISSION_GROUP => Some((
                ADMISSION_VERSIONS,
                &[
                    admission_policy::POLICY,
                    admission_policy::BINDING,
                    admission_policy::MUTATING_POLICY,
                    admission_policy::MUTATING_BINDING,
                ][..],
            )),
            KYVERNO_GROUP => Some((
                KYVERNO_VERSIONS,
                &[
                    admission_policy::KYVERNO_POLICY,
                    admission_policy::KYVERNO_NAMESPACED_POLICY,
                    admission_policy::KYVERNO_MUTATING_POLICY,
                    admission_policy::KYVERNO_NAMESPACED_MUTATING_POLICY,
                    super::image_policy::KIND,
                    "PolicyException",
                ][..],
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
