//! Gatekeeper's ConstraintTemplates and Constraints, compiled as a paved policy and its
//! bindings: a template is a policy that applies only through its constraints (as a
//! ValidatingAdmissionPolicy applies only through its bindings), its parameters' schema the
//! policy's params schema; a constraint is a binding, with Gatekeeper's `match`, its
//! `parameters` and its enforcement action. A template's code runs on regorus (Rego) or on
//! paved's CEL with Gatekeeper's variables (`K8sNativeValidation`: `variables.anyObject`,
//! `variables.params`, then the template's own). A template with both runs the CEL, as
//! Gatekeeper does; its Rego is kept compiled, for `--gatekeeper-engine rego`.
//!
//! Also here: the kinds Gatekeeper's Config and SyncSets sync into `data.inventory`, and the
//! ExpansionTemplates that judge workloads as the pods they make.

use std::sync::Arc;

use serde_json::{json, Value};

use super::admission_policy::{metadata, named};
use super::constraint_match::{Expansion, GatekeeperMatch};
use super::policy::{self, Binding, Form, Policy, Rule};
use super::rego::RegoCheck;
use super::resources::one_of;
use super::select::Selector;
use crate::error::Diagnostic;
use crate::k8s::Operation;
use crate::load::Origin;
use crate::model::{
    Action, CelSource, ConstraintDocument, ExpansionDocument, FailurePolicy, Gvk, Match, PolicyDocument, PolicySpec,
    RegoSource, RuleSpec, Severity, SyncDocument, TemplateDocument, Variable, ADMISSION_TARGET, API_VERSION,
};

pub(crate) const TEMPLATE: &str = "ConstraintTemplate";
pub(crate) const EXPANSION: &str = "ExpansionTemplate";
const CEL_ENGINE: &str = "K8sNativeValidation";
const REGO_ENGINE: &str = "Rego";

/// The rule id of a Rego template's findings.
pub(crate) const REGO_RULE: &str = "violation";

/// A compiled template: the policy that runs, and the Rego one when the CEL runs instead.
pub(crate) struct Template {
    pub policy: Arc<Policy>,
    pub rego: Option<Arc<Policy>>,
}

/// The code of a template's target: its Rego (source, libs, Rego v1, where) and its CEL (with
/// where).
#[derive(Default)]
struct Code {
    rego: Option<(String, Vec<String>, bool, String)>,
    cel: Option<(CelSource, String)>,
}

/// Compiles a ConstraintTemplate, collecting every problem.
pub(crate) fn compile_template(
    doc: &TemplateDocument,
    origin: &Origin,
    functions: &[crate::cel::Function],
) -> Result<Template, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let kind = &doc.spec.crd.spec.names.kind;
    if kind.is_empty() {
        diags.push(origin.diagnostic(
            "/spec/crd/spec/names",
            "`kind` is required: the constraint kind it defines",
            None,
        ));
    } else if kind.to_lowercase() != doc.metadata.name {
        diags.push(origin.diagnostic(
            "/metadata/name",
            format!("a ConstraintTemplate's name must be its kind in lower case: `{}`", kind.to_lowercase()),
            None,
        ));
    }
    let code = code(doc, origin, &mut diags);
    let operations = operations(doc, origin, &mut diags);
    let schema = doc
        .spec
        .crd
        .spec
        .validation
        .as_ref()
        .and_then(|v| v.open_api_v3_schema.clone())
        .unwrap_or_else(|| json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true }));
    let cel = code.cel.as_ref().map(|(source, at)| cel_policy(doc, (source, at), &schema, origin, functions));
    let rego = code.rego.as_ref().map(|(rego, libs, v1, at)| rego_policy(doc, (rego, libs, *v1, at), &schema, origin));
    let with_operations = |mut p: Policy| {
        p.selector = Selector::default().for_operations(operations.clone());
        // Pods judge workloads only through ExpansionTemplates (bound in with the bundle's).
        p.pod_controllers = true;
        p.expansions = Some(Arc::new([]));
        p
    };
    // Both engines' problems are reported.
    let mut compiled = |r: Option<Result<Policy, Vec<Diagnostic>>>| match r? {
        Ok(p) => Some(with_operations(p)),
        Err(mut more) => {
            diags.append(&mut more);
            None
        }
    };
    let (cel, rego) = (compiled(cel), compiled(rego));
    if !diags.is_empty() {
        return Err(diags);
    }
    match (cel, rego) {
        (Some(policy), rego) => Ok(Template { policy: Arc::new(policy), rego: rego.map(Arc::new) }),
        (None, Some(policy)) => Ok(Template { policy: Arc::new(policy), rego: None }),
        (None, None) => {
            Err(vec![origin.diagnostic("/spec/targets", "the template has no code: give `rego` or `code`", None)])
        }
    }
}

/// The template's one target, and its Rego and CEL code.
fn code(doc: &TemplateDocument, origin: &Origin, diags: &mut Vec<Diagnostic>) -> Code {
    let mut out = Code::default();
    let [target] = doc.spec.targets.as_slice() else {
        let message = format!("a template has exactly one target, `{ADMISSION_TARGET}`");
        diags.push(origin.diagnostic("/spec/targets", message, None));
        return out;
    };
    if target.target != ADMISSION_TARGET {
        let message = format!("paved reads templates for `{ADMISSION_TARGET}`, not `{}`", target.target);
        diags.push(origin.diagnostic("/spec/targets/0/target", message, None));
    }
    if let Some(rego) = &target.rego {
        out.rego = Some((rego.clone(), target.libs.clone(), false, "/spec/targets/0".to_owned()));
    }
    for (i, c) in target.code.iter().enumerate() {
        let at = format!("/spec/targets/0/code/{i}");
        match c.engine.as_str() {
            REGO_ENGINE => match serde_json::from_value::<RegoSource>(c.source.clone()) {
                Ok(s) => {
                    let v1 = s.version.as_deref() == Some("v1");
                    out.rego = Some((s.rego, s.libs, v1, format!("{at}/source")));
                }
                Err(e) => {
                    diags.push(origin.diagnostic(&format!("{at}/source"), format!("not a Rego source: {e}"), None))
                }
            },
            CEL_ENGINE => match serde_json::from_value::<CelSource>(c.source.clone()) {
                Ok(s) => out.cel = Some((s, format!("{at}/source"))),
                Err(e) => diags.push(origin.diagnostic(
                    &format!("{at}/source"),
                    format!("not a K8sNativeValidation source: {e}"),
                    None,
                )),
            },
            other => {
                diags.push(origin.diagnostic(&format!("{at}/engine"), one_of(other, &[REGO_ENGINE, CEL_ENGINE]), None))
            }
        }
    }
    out
}

/// The operations the template judges: its target's, or every one Gatekeeper is sent.
fn operations(doc: &TemplateDocument, origin: &Origin, diags: &mut Vec<Diagnostic>) -> Vec<Operation> {
    let given = doc.spec.targets.first().map(|t| t.operations.as_slice()).unwrap_or_default();
    if given.is_empty() || given.iter().any(|o| o == "*") {
        return vec![Operation::Create, Operation::Update, Operation::Delete, Operation::Connect];
    }
    given
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let op = [Operation::Create, Operation::Update, Operation::Delete, Operation::Connect]
                .into_iter()
                .find(|op| op.as_str() == o);
            if op.is_none() {
                let at = format!("/spec/targets/0/operations/{i}");
                diags.push(origin.diagnostic(&at, one_of(o, &["CREATE", "UPDATE", "DELETE", "CONNECT", "*"]), None));
            }
            op
        })
        .collect()
}

/// The template as a paved policy document, with `rules` and `variables`.
fn document(
    doc: &TemplateDocument,
    schema: &Value,
    rules: Vec<RuleSpec>,
    source: Option<&CelSource>,
) -> PolicyDocument {
    let mut variables = Vec::new();
    if let Some(source) = source {
        // Gatekeeper's own variables, then the template's.
        variables.push(Variable {
            name: "anyObject".into(),
            expression:
                r#"has(request.operation) && request.operation == "DELETE" && object == null ? oldObject : object"#
                    .into(),
        });
        variables.push(Variable { name: "params".into(), expression: "params".into() });
        variables.extend(named(&source.variables));
    }
    let failure_policy = match source.and_then(|s| s.failure_policy.as_deref()) {
        Some("Ignore") => FailurePolicy::Ignore,
        _ => FailurePolicy::Fail,
    };
    PolicyDocument {
        api_version: API_VERSION.to_owned(),
        kind: "Policy".to_owned(),
        metadata: metadata(&doc.metadata),
        spec: PolicySpec {
            description: doc.metadata.annotations.get("description").cloned(),
            severity: Severity::default(),
            action: Action::Deny,
            failure_policy,
            match_: Match::default(),
            pod_controllers: false,
            params: None,
            params_schema: Some(schema.clone()),
            variables,
            match_conditions: source.map(|s| named(&s.match_conditions)).unwrap_or_default(),
            audit_annotations: Vec::new(),
            rules,
            mutations: Vec::new(),
            reinvocation_policy: Default::default(),
        },
    }
}

/// A template's `K8sNativeValidation` code as a policy: each validation a `cel` rule.
fn cel_policy(
    doc: &TemplateDocument,
    (source, at): (&CelSource, &str),
    schema: &Value,
    origin: &Origin,
    functions: &[crate::cel::Function],
) -> Result<Policy, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    if let Some(other) = source.failure_policy.as_deref().filter(|f| !["Fail", "Ignore"].contains(f)) {
        diags.push(origin.diagnostic(&format!("{at}/failurePolicy"), one_of(other, &["Fail", "Ignore"]), None));
    }
    for (i, v) in source.variables.iter().enumerate() {
        if ["anyObject", "params"].contains(&v.name.as_str()) || v.name.starts_with("gatekeeper_internal_") {
            let message = format!("`{}` is Gatekeeper's own variable", v.name);
            diags.push(origin.diagnostic(&format!("{at}/variables/{i}/name"), message, None));
        }
    }
    // Gatekeeper's two variables come first: the template's `variables[i]` is paved's `i + 2`.
    let mut renames = vec![("/spec/paramsSchema".to_owned(), "/spec/crd/spec/validation/openAPIV3Schema".to_owned())];
    for i in 0..source.variables.len() {
        renames.push((format!("/spec/variables/{}", i + 2), format!("{at}/variables/{i}")));
    }
    renames.push(("/spec/matchConditions".into(), format!("{at}/matchCondition")));
    let rules = source
        .validations
        .iter()
        .enumerate()
        .map(|(i, v)| {
            renames.push((format!("/spec/rules/{i}/cel"), format!("{at}/validations/{i}/expression")));
            renames.push((format!("/spec/rules/{i}"), format!("{at}/validations/{i}")));
            RuleSpec {
                id: super::admission_policy::validation_id(i),
                message: v
                    .message
                    .clone()
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or_else(|| format!("failed expression: {}", v.expression.trim())),
                message_expression: v.message_expression.clone(),
                cel: Some(v.expression.clone()),
                ..rule_spec(String::new())
            }
        })
        .collect();
    if source.validations.is_empty() {
        diags.push(origin.diagnostic(at, "a K8sNativeValidation source needs `validations`", None));
    }
    let paved = document(doc, schema, rules, Some(source));
    let origin = origin.renamed(renames);
    match policy::compile_selected(&paved, (Selector::default(), Form::Kubernetes, None), &origin, &[], functions) {
        Ok(p) if diags.is_empty() => Ok(p),
        Ok(_) => Err(diags),
        Err(mut more) => {
            diags.append(&mut more);
            Err(diags)
        }
    }
}

/// A template's Rego as a policy of one rule, `violation`.
fn rego_policy(
    doc: &TemplateDocument,
    (rego, libs, v1, at): (&str, &[String], bool, &str),
    schema: &Value,
    origin: &Origin,
) -> Result<Policy, Vec<Diagnostic>> {
    let check = RegoCheck::new(rego, libs, v1).map_err(|e| {
        let field = e.lib.map_or_else(|| format!("{at}/rego"), |i| format!("{at}/libs/{i}"));
        let what = if e.lib.is_some() { "the library" } else { "the template's Rego" };
        let mut d = origin.diagnostic(&field, format!("{what} does not compile: {}", e.message), None);
        // A block scalar's text starts where its field's value does: its line 1 is that line.
        if let Some((line, column)) = e.at {
            d.line += line.saturating_sub(1);
            d.column += column.saturating_sub(1);
        }
        vec![d]
    })?;
    let renames = vec![("/spec/paramsSchema".to_owned(), "/spec/crd/spec/validation/openAPIV3Schema".to_owned())];
    let origin = origin.renamed(renames);
    let paved = document(doc, schema, Vec::new(), None);
    let mut policy =
        policy::compile_selected(&paved, (Selector::default(), Form::Kubernetes, None), &origin, &[], &[])?;
    policy.inventory.any = check.reads_inventory;
    policy.reads_request = true;
    policy.rules = Arc::new(vec![Rule {
        id: REGO_RULE.into(),
        message: String::new(),
        message_expression: None,
        help: None,
        severity: Severity::default(),
        when: None,
        for_each: None,
        check: Box::new(check),
        uses_cel: false,
        line: origin.locate(&format!("{at}/rego")).line,
        spec: rule_spec(REGO_RULE.into()),
    }]);
    Ok(policy)
}

/// A rule of no check, to fill in.
fn rule_spec(id: String) -> RuleSpec {
    RuleSpec {
        id,
        message: String::new(),
        message_expression: None,
        help: None,
        severity: None,
        when: None,
        for_each: None,
        path: None,
        assert: None,
        cel: None,
        plugin: None,
        params: None,
        kubernetes: None,
        verify_images: None,
        cost: None,
    }
}

/// Compiles a Constraint as a binding of its template (named by its kind in lower case).
pub(crate) fn compile_constraint(doc: &ConstraintDocument, origin: &Origin) -> Result<Binding, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let spec = &doc.spec;
    let origin = origin.renamed(vec![("/spec/params".into(), "/spec/parameters".into())]);
    let action = action(doc, &origin, &mut diags);
    if spec.parameters.as_ref().is_some_and(|p| !p.is_object()) {
        diags.push(origin.diagnostic("/spec/parameters", "`parameters` must be a mapping", None));
    }
    let selector = GatekeeperMatch::new(&spec.match_)
        .map_err(|ps| {
            for (p, m) in ps {
                diags.push(origin.diagnostic(&format!("/spec/match{p}"), m, None));
            }
        })
        .ok();
    if !diags.is_empty() {
        return Err(diags);
    }
    let kinds = selector.as_ref().map(GatekeeperMatch::kind_patterns).unwrap_or_default();
    Ok(Binding {
        name: doc.metadata.name.clone(),
        policy: doc.kind.to_lowercase(),
        params: spec.parameters.clone(),
        selector: selector.map(|m| Selector::of_constraint(m, Vec::new())),
        action: Some(action),
        param_ref: None,
        kinds,
        constraint: Some(doc.kind.clone()),
        origin,
    })
}

/// A constraint's enforcement action as paved's: `deny`, `warn`, `dryrun` (recorded: `Audit`);
/// `scoped` takes the strongest of the actions for admission (`validation.gatekeeper.sh`), CI
/// (`gator.gatekeeper.sh`) or every point (`*`), as paved answers the same in both, and
/// `Audit` when only Gatekeeper's audit enforces it.
fn action(doc: &ConstraintDocument, origin: &Origin, diags: &mut Vec<Diagnostic>) -> Action {
    let word = |w: &str, at: &str, diags: &mut Vec<Diagnostic>| match w.to_lowercase().as_str() {
        "deny" => Some(Action::Deny),
        "warn" => Some(Action::Warn),
        "dryrun" => Some(Action::Audit),
        _ => {
            diags.push(origin.diagnostic(at, one_of(w, &["deny", "warn", "dryrun", "scoped"]), None));
            None
        }
    };
    let spec = &doc.spec;
    match spec.enforcement_action.as_deref() {
        None | Some("") => Action::Deny,
        Some(s) if s.eq_ignore_ascii_case("scoped") => {
            if spec.scoped_enforcement_actions.is_empty() {
                let message = "`scoped` needs `scopedEnforcementActions`";
                diags.push(origin.diagnostic("/spec/enforcementAction", message, None));
            }
            let mut strongest = Action::Audit;
            for (i, scoped) in spec.scoped_enforcement_actions.iter().enumerate() {
                let at = format!("/spec/scopedEnforcementActions/{i}/action");
                let Some(a) = word(&scoped.action, &at, diags) else { continue };
                let here = scoped.enforcement_points.is_empty()
                    || scoped
                        .enforcement_points
                        .iter()
                        .any(|p| ["*", "validation.gatekeeper.sh", "gator.gatekeeper.sh"].contains(&p.name.as_str()));
                if here && strength(a) > strength(strongest) {
                    strongest = a;
                }
            }
            strongest
        }
        Some(other) => word(other, "/spec/enforcementAction", diags).unwrap_or(Action::Deny),
    }
}

fn strength(a: Action) -> u8 {
    match a {
        Action::Deny => 2,
        Action::Warn => 1,
        Action::Audit => 0,
    }
}

/// What Gatekeeper's documents add besides templates (policies) and constraints (bindings).
#[derive(Debug, Clone, Default)]
pub(crate) struct GatekeeperExtras {
    /// The kinds Gatekeeper's Config and SyncSets sync into `data.inventory`; none named: every
    /// kind of the inventory.
    pub sync: Vec<Gvk>,
    /// ExpansionTemplates: the workloads judged as the pods they make.
    pub expansions: Vec<Arc<Expansion>>,
    /// The Rego of templates that run their CEL, for `Bundle::with_gatekeeper_rego`.
    pub rego: Vec<Arc<Policy>>,
}

impl GatekeeperExtras {
    /// Adds `other`'s: its expansions and Rego replace those of the same name.
    pub(crate) fn merge(&mut self, other: GatekeeperExtras) {
        self.sync.extend(other.sync);
        self.sync.sort();
        self.sync.dedup();
        self.expansions.retain(|e| !other.expansions.iter().any(|o| o.name == e.name));
        self.expansions.extend(other.expansions);
        self.rego.retain(|r| !other.rego.iter().any(|o| o.name == r.name));
        self.rego.extend(other.rego);
    }
}

/// The kinds a Config's or SyncSet's sync list names.
pub(crate) fn sync_kinds(doc: &SyncDocument) -> Vec<Gvk> {
    let mut kinds = doc.spec.gvks.clone();
    kinds.extend(doc.spec.sync.iter().flat_map(|s| s.sync_only.iter().cloned()));
    kinds
}

/// Compiles an ExpansionTemplate: paved expands the workloads it knows into their pods, at the
/// template paths Kubernetes gives them.
pub(crate) fn compile_expansion(doc: &ExpansionDocument, origin: &Origin) -> Result<Expansion, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let spec = &doc.spec;
    let gvk = &spec.generated_gvk;
    if !(gvk.group.is_empty() && gvk.kind == "Pod") {
        let message = "paved expands workloads into the pods they make: `generatedGVK` must be the core group's Pod";
        diags.push(origin.diagnostic("/spec/generatedGVK", message, None));
    }
    let mut workloads = Vec::new();
    for (i, a) in spec.apply_to.iter().enumerate() {
        let groups = if a.groups.is_empty() { vec![String::new()] } else { a.groups.clone() };
        for (j, kind) in a.kinds.iter().enumerate() {
            for group in &groups {
                let path =
                    crate::k8s::controller(group, kind).map(|c| c.template.trim_start_matches('/').replace('/', "."));
                match path {
                    Some(p) if p == spec.template_source => workloads.push((group.clone(), kind.clone())),
                    Some(p) => diags.push(origin.diagnostic(
                        "/spec/templateSource",
                        format!("a {kind}'s pod template is at `{p}`, not `{}`", spec.template_source),
                        None,
                    )),
                    None => diags.push(origin.diagnostic(
                        &format!("/spec/applyTo/{i}/kinds/{j}"),
                        format!("paved does not know where a `{kind}` of group `{group}` keeps its pod template"),
                        Some(format!(
                            "the workloads paved expands: {}",
                            crate::k8s::CONTROLLERS.iter().map(|c| c.kind).collect::<Vec<_>>().join(", ")
                        )),
                    )),
                }
            }
        }
    }
    let action = match spec.enforcement_action.as_deref().map(str::to_lowercase).as_deref() {
        None | Some("") => None,
        Some("deny") => Some(Action::Deny),
        Some("warn") => Some(Action::Warn),
        Some("dryrun") => Some(Action::Audit),
        Some(other) => {
            diags.push(origin.diagnostic("/spec/enforcementAction", one_of(other, &["deny", "warn", "dryrun"]), None));
            None
        }
    };
    if diags.is_empty() {
        Ok(Expansion { name: doc.metadata.name.clone(), workloads, action })
    } else {
        Err(diags)
    }
}
