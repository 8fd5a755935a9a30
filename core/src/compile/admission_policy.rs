//! Kubernetes' ValidatingAdmissionPolicy and its binding, compiled as a paved policy and binding:
//! each validation a `cel` rule, `matchConstraints` the selector, `matchConditions` and
//! `variables` as they are. Problems point at the document's own fields.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::param_ref::ParamRef;
use super::policy::{self, Binding, Form, Policy};
use super::resources::{one_of, ResourceRules};
use super::select::Selector;
use crate::error::Diagnostic;
use crate::load::Origin;
use crate::model::{
    Action, AdmissionBindingDocument, AdmissionPolicyDocument, AdmissionPolicySpec, FailurePolicy,
    KyvernoPolicyDocument, Match, MatchResources, Metadata, MutationSpec, PolicyDocument, PolicySpec, RuleSpec,
    Severity, Variable, API_VERSION,
};

/// The kinds of Kubernetes' admission-policy documents paved reads.
pub(crate) const POLICY: &str = "ValidatingAdmissionPolicy";
pub(crate) const BINDING: &str = "ValidatingAdmissionPolicyBinding";
pub(crate) const MUTATING_POLICY: &str = "MutatingAdmissionPolicy";
pub(crate) const MUTATING_BINDING: &str = "MutatingAdmissionPolicyBinding";
/// The kinds of Kyverno's policies paved reads.
pub(crate) const KYVERNO_POLICY: &str = "ValidatingPolicy";
pub(crate) const KYVERNO_NAMESPACED_POLICY: &str = "NamespacedValidatingPolicy";
pub(crate) const KYVERNO_MUTATING_POLICY: &str = "MutatingPolicy";
pub(crate) const KYVERNO_NAMESPACED_MUTATING_POLICY: &str = "NamespacedMutatingPolicy";

/// The rule id of a policy's `i`th validation.
pub(crate) fn validation_id(i: usize) -> String {
    format!("validations[{i}]")
}

/// Custom resources' plurals, `(group, kind)` → `spec.names.plural`.
pub(crate) type Plurals = Arc<BTreeMap<(String, String), String>>;

/// Custom resources' plurals, from definitions.
pub(crate) fn plurals(crds: &[Value]) -> Plurals {
    let text = |c: &Value, p: &str| c.pointer(p).and_then(Value::as_str).map(str::to_owned);
    Arc::new(
        crds.iter()
            .filter_map(|c| {
                Some(((text(c, "/spec/group")?, text(c, "/spec/names/kind")?), text(c, "/spec/names/plural")?))
            })
            .collect(),
    )
}

/// Compiles a ValidatingAdmissionPolicy, collecting every problem; `crds` are the bundle's
/// definitions, whose schema types the params of a `paramKind` they define, for the warnings.
pub(crate) fn compile(
    doc: &AdmissionPolicyDocument,
    origin: &Origin,
    functions: &[crate::cel::Function],
    (plurals, crds): (&Plurals, &[Value]),
) -> Result<Policy, Vec<Diagnostic>> {
    let typed_params = doc.spec.param_kind.as_ref().and_then(|k| param_type(k, crds));
    compile_as(doc, (Form::Kubernetes, typed_params.as_ref()), origin, functions, plurals)
}

/// The type of the objects of a param kind, from its definition's schema.
fn param_type(kind: &crate::model::ParamKind, crds: &[Value]) -> Option<crate::cel::Ty> {
    let (group, version) = crate::k8s::split_api_version(&kind.api_version);
    let crd = crds.iter().find(|c| {
        c.pointer("/spec/group").and_then(Value::as_str) == Some(group)
            && c.pointer("/spec/names/kind").and_then(Value::as_str) == Some(kind.kind.as_str())
    })?;
    let versions = crd.pointer("/spec/versions").and_then(Value::as_array)?;
    let served = versions.iter().find(|v| v.get("name").and_then(Value::as_str) == Some(version))?;
    let schema = served.pointer("/schema/openAPIV3Schema")?;
    super::params::Params::new(Some(schema), None).ok().map(|p| p.ty)
}

/// Compiles a ValidatingAdmissionPolicy, or the one a Kyverno policy extends, in `form`.
fn compile_as(
    doc: &AdmissionPolicyDocument,
    (form, typed_params): (Form, Option<&crate::cel::Ty>),
    origin: &Origin,
    functions: &[crate::cel::Function],
    plurals: &Plurals,
) -> Result<Policy, Vec<Diagnostic>> {
    let spec = &doc.spec;
    let mut diags = Vec::new();
    let failure_policy = failure_policy(spec.failure_policy.as_deref(), origin, &mut diags);
    let reinvocation = kind_fields(doc, origin, &mut diags);
    for (i, v) in spec.validations.iter().enumerate() {
        if let Some(reason) = &v.reason {
            let reasons = ["Unauthorized", "Forbidden", "Invalid", "RequestEntityTooLarge"];
            if !reasons.contains(&reason.as_str()) {
                diags.push(origin.diagnostic(&format!("/spec/validations/{i}/reason"), one_of(reason, &reasons), None));
            }
        }
        if v.message.as_deref().is_some_and(|m| m.contains('\n')) {
            let at = format!("/spec/validations/{i}/message");
            diags.push(origin.diagnostic(&at, "a validation's message must not contain line breaks", None));
        }
    }
    let params_schema = params_schema(doc, origin, &mut diags);
    let selector = match_constraints(spec.match_constraints.as_ref(), plurals, origin, &mut diags);
    let (mut paved, renames) = as_paved(doc, params_schema, failure_policy);
    paved.spec.reinvocation_policy = reinvocation;
    let origin = origin.renamed(renames);
    let selected = (selector.clone().unwrap_or_default(), form, typed_params);
    let compiled = policy::compile_selected(&paved, selected, &origin, &[], functions);
    match compiled {
        Ok(mut p) if diags.is_empty() && selector.is_ok() => {
            p.param_kind = spec.param_kind.as_ref().map(|k| (k.api_version.clone(), k.kind.clone()));
            Ok(p)
        }
        Ok(_) => Err(diags),
        Err(mut more) => {
            diags.append(&mut more);
            Err(diags)
        }
    }
}

/// Compiles a Kyverno ValidatingPolicy (or NamespacedValidatingPolicy, which applies in its own
/// namespace only) as the ValidatingAdmissionPolicy it extends, with its own actions and no
/// binding.
pub(crate) fn compile_kyverno(
    doc: &KyvernoPolicyDocument,
    origin: &Origin,
    functions: &[crate::cel::Function],
    plurals: &Plurals,
) -> Result<Policy, Vec<Diagnostic>> {
    let spec = &doc.spec;
    let mut diags = Vec::new();
    let mutating = doc.kind == KYVERNO_MUTATING_POLICY || doc.kind == KYVERNO_NAMESPACED_MUTATING_POLICY;
    // A mutation that fails fails the request (under the failure policy): no actions to read.
    let action = if mutating { Action::Deny } else { actions(&spec.validation_actions, origin, &mut diags) };
    let existing = spec.evaluation.as_ref().and_then(|e| e.mutate_existing.as_ref()).and_then(|m| m.enabled);
    if spec.target_match_constraints.is_some() || existing == Some(true) {
        let at =
            if spec.target_match_constraints.is_some() { "/spec/targetMatchConstraints" } else { "/spec/evaluation" };
        let message = "paved mutates the object it is given: a policy that mutates other, existing objects in the \
                       background (targetMatchConstraints, mutateExisting) is not read";
        diags.push(origin.diagnostic(at, message, None));
    }
    match spec.evaluation.as_ref().and_then(|e| e.mode.as_deref()) {
        None | Some("Kubernetes") => {}
        Some("JSON") => diags.push(origin.diagnostic(
            "/spec/evaluation/mode",
            "paved judges Kubernetes objects: a policy of evaluation mode `JSON` is not read",
            None,
        )),
        Some(other) => {
            diags.push(origin.diagnostic("/spec/evaluation/mode", one_of(other, &["Kubernetes", "JSON"]), None));
        }
    }
    let namespaced = doc.kind == KYVERNO_NAMESPACED_POLICY || doc.kind == KYVERNO_NAMESPACED_MUTATING_POLICY;
    let namespace = namespaced.then(|| doc.metadata.namespace.clone().unwrap_or_default());
    if namespace.as_deref() == Some("") {
        diags.push(origin.diagnostic("/metadata", format!("a {} needs its `namespace`", doc.kind), None));
    }
    let vap = AdmissionPolicyDocument {
        api_version: doc.api_version.clone(),
        // A MutatingPolicy is read as the MutatingAdmissionPolicy it extends.
        kind: if mutating { MUTATING_POLICY.to_owned() } else { doc.kind.clone() },
        metadata: doc.metadata.clone(),
        spec: AdmissionPolicySpec {
            param_kind: None,
            match_constraints: spec.match_constraints.clone(),
            validations: spec.validations.clone(),
            failure_policy: spec.failure_policy.clone(),
            audit_annotations: spec.audit_annotations.clone(),
            match_conditions: spec.match_conditions.clone(),
            variables: spec.variables.clone(),
            mutations: spec.mutations.clone(),
            reinvocation_policy: mutating.then(|| spec.reinvocation_policy.clone().unwrap_or_else(|| "Never".into())),
        },
        status: None,
    };
    match compile_as(&vap, (Form::Kyverno, None), origin, functions, plurals) {
        Ok(mut p) if diags.is_empty() => {
            p.action = action;
            // Kyverno generates a Pod policy for the pod controllers unless its autogen names
            // none; paved judges the pod templates of every controller then.
            p.pod_controllers = generates_for_controllers(spec.autogen.as_ref());
            if let Some(ns) = namespace {
                p.selector = p.selector.within_namespace(&ns);
            }
            Ok(p)
        }
        Ok(_) => Err(diags),
        Err(mut more) => {
            diags.append(&mut more);
            Err(diags)
        }
    }
}

/// What one kind of admission policy has and the other may not: a ValidatingAdmissionPolicy's
/// validations and audit annotations, a MutatingAdmissionPolicy's mutations and reinvocation
/// policy (read here).
fn kind_fields(
    doc: &AdmissionPolicyDocument,
    origin: &Origin,
    diags: &mut Vec<Diagnostic>,
) -> crate::model::Reinvocation {
    let spec = &doc.spec;
    let foreign = |diags: &mut Vec<Diagnostic>, field: &str| {
        let message = format!("a {} has no field `{field}`", doc.kind);
        diags.push(origin.diagnostic(&format!("/spec/{field}"), message, None));
    };
    if doc.kind != MUTATING_POLICY {
        if spec.validations.is_empty() && spec.audit_annotations.is_empty() {
            let message = "a ValidatingAdmissionPolicy needs at least one of `validations` and `auditAnnotations`";
            diags.push(origin.diagnostic("/spec/validations", message, None));
        }
        if !spec.mutations.is_empty() {
            foreign(diags, "mutations");
        }
        if spec.reinvocation_policy.is_some() {
            foreign(diags, "reinvocationPolicy");
        }
        return crate::model::Reinvocation::Never;
    }
    if !spec.validations.is_empty() {
        foreign(diags, "validations");
    }
    if !spec.audit_annotations.is_empty() {
        foreign(diags, "auditAnnotations");
    }
    if spec.mutations.is_empty() {
        diags.push(origin.diagnostic("/spec", "a MutatingAdmissionPolicy needs `mutations`", None));
    }
    for (i, m) in spec.mutations.iter().enumerate() {
        let given = match m.patch_type.as_str() {
            "ApplyConfiguration" => m.apply_configuration.is_some() && m.json_patch.is_none(),
            "JSONPatch" => m.json_patch.is_some() && m.apply_configuration.is_none(),
            other => {
                let at = format!("/spec/mutations/{i}/patchType");
                diags.push(origin.diagnostic(&at, one_of(other, &["ApplyConfiguration", "JSONPatch"]), None));
                continue;
            }
        };
        if !given {
            let message = format!(
                "a mutation of patchType `{}` has `{}`, and only it",
                m.patch_type,
                if m.patch_type == "JSONPatch" { "jsonPatch" } else { "applyConfiguration" }
            );
            diags.push(origin.diagnostic(&format!("/spec/mutations/{i}"), message, None));
        }
    }
    match spec.reinvocation_policy.as_deref() {
        None => {
            let help = "`Never`, or `IfNeeded` to run again when a later mutation changed the object".to_owned();
            diags.push(origin.diagnostic("/spec", "`reinvocationPolicy` is required", Some(help)));
            crate::model::Reinvocation::Never
        }
        Some("Never") => crate::model::Reinvocation::Never,
        Some("IfNeeded") => crate::model::Reinvocation::IfNeeded,
        Some(other) => {
            diags.push(origin.diagnostic("/spec/reinvocationPolicy", one_of(other, &["Never", "IfNeeded"]), None));
            crate::model::Reinvocation::Never
        }
    }
}

/// The params' schema: with a `paramKind`, any object (the param objects are the kind's); with
/// none, `params` has no fields.
fn params_schema(doc: &AdmissionPolicyDocument, origin: &Origin, diags: &mut Vec<Diagnostic>) -> Option<Value> {
    let kind = doc.spec.param_kind.as_ref()?;
    for (field, value) in [("apiVersion", &kind.api_version), ("kind", &kind.kind)] {
        if value.is_empty() {
            diags.push(origin.diagnostic(
                &format!("/spec/paramKind/{field}"),
                format!("`paramKind.{field}` is required"),
                None,
            ));
        }
    }
    // A kind of Kubernetes' own groups that Kubernetes does not have can never be resolved (a
    // custom kind's objects may come from the inventory).
    let known = crate::k8s::schema::version("latest").map(|v| v.known(&kind.api_version, &kind.kind));
    if let Ok(crate::k8s::schema::Known::Unknown { message, help }) = known {
        if !kind.api_version.is_empty() && !kind.kind.is_empty() {
            let message = format!("`paramKind` names no kind: {message}");
            diags.push(origin.diagnostic("/spec/paramKind/kind", message, help));
        }
    }
    Some(json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true }))
}

/// The policy in paved's terms, and where each of paved's fields was written in it.
fn as_paved(
    doc: &AdmissionPolicyDocument,
    params_schema: Option<Value>,
    failure_policy: FailurePolicy,
) -> (PolicyDocument, Vec<(String, String)>) {
    let spec = &doc.spec;
    let mut renames = vec![("/spec/match".to_owned(), "/spec/matchConstraints".to_owned())];
    let rules = spec
        .validations
        .iter()
        .enumerate()
        .map(|(i, v)| {
            renames.push((format!("/spec/rules/{i}/cel"), format!("/spec/validations/{i}/expression")));
            renames.push((format!("/spec/rules/{i}"), format!("/spec/validations/{i}")));
            RuleSpec {
                id: validation_id(i),
                // Kubernetes' message when a validation gives none.
                message: v
                    .message
                    .clone()
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or_else(|| format!("failed expression: {}", v.expression.trim())),
                message_expression: v.message_expression.clone(),
                help: None,
                severity: None,
                when: None,
                for_each: None,
                path: None,
                assert: None,
                cel: Some(v.expression.clone()),
                plugin: None,
                params: None,
                kubernetes: None,
                verify_images: None,
                cost: None,
            }
        })
        .collect();
    let paved = PolicyDocument {
        api_version: API_VERSION.to_owned(),
        kind: "Policy".to_owned(),
        metadata: metadata(&doc.metadata),
        spec: PolicySpec {
            description: None,
            severity: Severity::default(),
            action: Action::Deny,
            failure_policy,
            match_: Match::default(),
            pod_controllers: false,
            params: None,
            params_schema,
            variables: named(&spec.variables),
            match_conditions: named(&spec.match_conditions),
            audit_annotations: spec.audit_annotations.clone(),
            rules,
            mutations: mutations(spec, &mut renames),
            reinvocation_policy: Default::default(),
        },
    };
    (paved, renames)
}

/// A MutatingAdmissionPolicy's mutations as paved's, each named by its place
/// (`mutations[0]`), as the API server names it.
fn mutations(spec: &AdmissionPolicySpec, renames: &mut Vec<(String, String)>) -> Vec<MutationSpec> {
    spec.mutations
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (field, expression) = match (&m.apply_configuration, &m.json_patch) {
                (Some(a), _) => ("applyConfiguration", a),
                (None, Some(j)) => ("jsonPatch", j),
                (None, None) => ("applyConfiguration", &EMPTY),
            };
            let at = format!("/spec/mutations/{i}/{field}");
            renames.push((at.clone(), format!("{at}/expression")));
            let expression = Some(expression.expression.clone());
            let (apply_configuration, json_patch) =
                if field == "jsonPatch" { (None, expression) } else { (expression, None) };
            MutationSpec { id: format!("mutations[{i}]"), apply_configuration, json_patch, ..Default::default() }
        })
        .collect()
}

/// A mutation that says nothing (refused where the kind's fields are checked).
static EMPTY: crate::model::Expression = crate::model::Expression { expression: String::new() };

/// Kubernetes' named expressions (variables, match conditions) as paved's.
pub(crate) fn named(list: &[crate::model::NamedExpression]) -> Vec<Variable> {
    list.iter().map(|v| Variable { name: v.name.clone(), expression: v.expression.clone() }).collect()
}

/// A Kubernetes object's metadata as a paved document's.
pub(crate) fn metadata(meta: &crate::model::ObjectMeta) -> Metadata {
    Metadata {
        name: meta.name.clone(),
        namespace: None,
        version: None,
        labels: meta.labels.clone(),
        annotations: meta.annotations.clone(),
    }
}

/// `failurePolicy`: `Fail` when left out.
pub(crate) fn failure_policy(given: Option<&str>, origin: &Origin, diags: &mut Vec<Diagnostic>) -> FailurePolicy {
    match given {
        None | Some("Fail") => FailurePolicy::Fail,
        Some("Ignore") => FailurePolicy::Ignore,
        Some(other) => {
            diags.push(origin.diagnostic("/spec/failurePolicy", one_of(other, &["Fail", "Ignore"]), None));
            FailurePolicy::Fail
        }
    }
}

/// A policy's `matchConstraints` (required), as a selector; its problems at their fields.
pub(crate) fn match_constraints(
    given: Option<&MatchResources>,
    plurals: &Plurals,
    origin: &Origin,
    diags: &mut Vec<Diagnostic>,
) -> Result<Selector, ()> {
    match given {
        Some(m) => selector(m, plurals, true).map_err(|ps| {
            for (p, m) in ps {
                diags.push(origin.diagnostic(&format!("/spec/matchConstraints{p}"), m, None));
            }
        }),
        None => {
            let help = "name the resources it applies to under `resourceRules`".to_owned();
            diags.push(origin.diagnostic("/spec", "`matchConstraints` is required", Some(help)));
            Err(())
        }
    }
}

/// Whether Kyverno generates a Pod policy for the pod controllers: unless its autogen names
/// none. paved judges the pod templates of every controller then.
pub(crate) fn generates_for_controllers(autogen: Option<&crate::model::Autogen>) -> bool {
    autogen.and_then(|a| a.pod_controllers.as_ref()).is_none_or(|c| !c.controllers.is_empty())
}

/// A `matchConstraints` or `matchResources`, as a selector.
pub(crate) fn selector(
    m: &MatchResources,
    plurals: &Plurals,
    required: bool,
) -> Result<Selector, Vec<(String, String)>> {
    let rules = ResourceRules::new(
        &m.resource_rules,
        &m.exclude_resource_rules,
        m.match_policy.as_deref(),
        Arc::clone(plurals),
        required,
    )?;
    Selector::of_resources(rules, m.namespace_selector.as_ref(), m.object_selector.as_ref())
}

/// Compiles a ValidatingAdmissionPolicyBinding or a MutatingAdmissionPolicyBinding.
pub(crate) fn compile_binding(
    doc: &AdmissionBindingDocument,
    origin: &Origin,
    plurals: &Plurals,
) -> Result<Binding, Vec<Diagnostic>> {
    let spec = &doc.spec;
    let mut diags = Vec::new();
    let origin = origin.renamed(vec![("/spec/policy".into(), "/spec/policyName".into())]);
    if spec.policy_name.is_empty() {
        diags.push(origin.diagnostic("/spec", "`policyName` is required", None));
    }
    // A MutatingAdmissionPolicyBinding has no actions: a mutation that fails fails the request
    // under its policy's failure policy.
    let action = if doc.kind == MUTATING_BINDING {
        if !spec.validation_actions.is_empty() {
            let message = "a MutatingAdmissionPolicyBinding has no field `validationActions`";
            diags.push(origin.diagnostic("/spec/validationActions", message, None));
        }
        Action::Deny
    } else {
        actions(&spec.validation_actions, &origin, &mut diags)
    };
    let param_ref = spec.param_ref.as_ref().and_then(|r| ParamRef::new(r, &origin, &mut diags)).map(Arc::new);
    let selector = spec.match_resources.as_ref().and_then(|m| {
        selector(m, plurals, false)
            .map_err(|ps| {
                for (p, m) in ps {
                    diags.push(origin.diagnostic(&format!("/spec/matchResources{p}"), m, None));
                }
            })
            .ok()
    });
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Binding {
        name: doc.metadata.name.clone(),
        policy: spec.policy_name.clone(),
        params: None,
        selector,
        action: Some(action),
        param_ref,
        kinds: Vec::new(),
        constraint: None,
        origin,
    })
}

/// `validationActions` as paved's action: `Deny` when it denies, else `Warn`, else `Audit`
/// (every finding is in the report, which is what `Audit` records).
pub(crate) fn actions(given: &[String], origin: &Origin, diags: &mut Vec<Diagnostic>) -> Action {
    let mut seen = Vec::new();
    for (i, a) in given.iter().enumerate() {
        let at = format!("/spec/validationActions/{i}");
        match a.as_str() {
            "Deny" | "Warn" | "Audit" if seen.contains(&a.as_str()) => {
                diags.push(origin.diagnostic(&at, format!("`{a}` is given twice"), None));
            }
            "Deny" | "Warn" | "Audit" => seen.push(a.as_str()),
            other => diags.push(origin.diagnostic(&at, one_of(other, &["Deny", "Warn", "Audit"]), None)),
        }
    }
    if given.is_empty() {
        diags.push(origin.diagnostic("/spec", "`validationActions` is required: `Deny`, `Warn` or `Audit`", None));
    }
    if seen.contains(&"Deny") && seen.contains(&"Warn") {
        diags.push(origin.diagnostic(
            "/spec/validationActions",
            "`validationActions` must not contain both `Deny` and `Warn`",
            Some("a denial already carries the message; use `[Deny]` or `[Warn]` (with `Audit` if wanted)".into()),
        ));
    }
    if seen.contains(&"Deny") {
        Action::Deny
    } else if seen.contains(&"Warn") {
        Action::Warn
    } else {
        Action::Audit
    }
}
