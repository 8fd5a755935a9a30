//! Compiling a policy document once: selectors, JSON Schemas, CEL programs, forEach paths.

use std::collections::BTreeSet;

use serde_json::Value;

use super::check::{AssertCheck, CelCheck, Check, KubernetesSchemaCheck, PluginCheck};
pub(crate) use super::expr::Form;
use super::expr::{self, Expr, Scope};
use super::params::Params;
use super::reads::{mentions, reads, Reads};
use crate::cel::{Parsed, Ty, Variable, Want};
use crate::compile::select::Selector;
use crate::error::Diagnostic;
use crate::load::pointer::PathPattern;
use crate::load::Origin;
use crate::model::{Action, BindingDocument, FailurePolicy, ForEach, PolicyDocument, RuleSpec, Severity};
use std::sync::Arc;

/// A policy, compiled and ready to evaluate.
#[derive(Debug)]
pub(crate) struct Policy {
    pub name: String,
    pub version: semver::Version,
    pub description: Option<String>,
    pub action: Action,
    pub failure_policy: FailurePolicy,
    pub selector: Selector,
    pub pod_controllers: bool,
    pub params: Value,
    /// The params' schema, which every value given for them must fit; `None` for a policy
    /// whose params are its plugins' alone (their own schemas check them).
    pub params_schema: Option<Arc<Params>>,
    /// The named variables (`variables.x`), in order; each sees the ones before it.
    pub variables: Arc<Vec<Expr>>,
    /// Which of them read `item` (the others are computed once for all of a rule's items).
    pub item_variables: Vec<bool>,
    /// What its expressions read through `inventory`.
    pub inventory: Reads,
    /// Whether an expression may read `request` or `namespaceObject` (it names one, or a
    /// function does): otherwise the evaluation does not make them.
    pub reads_request: bool,
    pub rules: Arc<Vec<Rule>>,
    /// The mutations, in order.
    pub mutations: Arc<Vec<super::mutation::Mutation>>,
    /// Whether the mutations run again when a later policy changed the object after them.
    pub reinvocation: crate::model::Reinvocation,
    /// `matchConditions`, by name, in order.
    pub conditions: Arc<Vec<(String, Expr)>>,
    /// `auditAnnotations`: key and value expression.
    pub annotations: Arc<Vec<(String, Expr)>>,
    /// Whose document it was written as.
    pub form: Form,
    /// The document as written (as paved reads it), for `paved export vap`.
    pub document: Arc<PolicyDocument>,
    /// A Kubernetes admission policy's `paramKind`: `apiVersion` and `kind`.
    pub param_kind: Option<(String, String)>,
    /// For an instance of one, where its params come from.
    pub params_from: Option<Arc<super::param_ref::ParamSource>>,
    /// A binding's match, within the policy's.
    pub narrow: Option<Selector>,
    /// For an instance made by a binding: the policy it instantiates.
    pub binding: Option<String>,
    /// The kinds as written in `match.kinds`, for listings.
    pub kinds: Vec<String>,
    /// What type-checking a Kubernetes or Kyverno policy against the schemas found, which the
    /// API server only warns of.
    pub warnings: Vec<String>,
    /// For a Gatekeeper template and its constraints: the ExpansionTemplates through which it
    /// meets workloads as the pods they make (a paved policy meets every pod controller's).
    pub expansions: Option<Arc<[Arc<super::constraint_match::Expansion>]>>,
    pub origin: Origin,
}

/// A compiled rule.
#[derive(Debug)]
pub(crate) struct Rule {
    pub id: String,
    pub message: String,
    pub message_expression: Option<Expr>,
    pub help: Option<String>,
    pub severity: Severity,
    pub when: Option<Expr>,
    pub for_each: Option<Vec<PathPattern>>,
    pub check: Box<dyn Check>,
    /// Whether the rule's expressions need the CEL scope at all (pure `assert` rules do not).
    pub uses_cel: bool,
    /// Where the rule was written.
    pub line: u32,
    /// The rule as written, for listings and `explain`.
    pub spec: RuleSpec,
}

impl Rule {
    /// Its id, and its check when it verifies images.
    fn images(&self) -> (&str, Option<&super::images::VerifyImagesCheck>) {
        (&self.id, self.check.images())
    }
}

/// Compiles one policy, collecting every problem.
pub(crate) fn compile(
    doc: &PolicyDocument,
    origin: &Origin,
    plugins: &[&str],
    functions: &[crate::cel::Function],
) -> Result<Policy, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let selector = Selector::new(&doc.spec.match_)
        .map_err(|errs| {
            for (p, e) in errs {
                diags.push(origin.diagnostic(&format!("/spec/match{p}"), e, None));
            }
        })
        .unwrap_or_default()
        .for_policy();
    match compile_selected(doc, (selector, Form::Paved, None), origin, plugins, functions) {
        Ok(p) if diags.is_empty() => Ok(p),
        Ok(_) => Err(diags),
        Err(mut more) => {
            diags.append(&mut more);
            Err(diags)
        }
    }
}

/// Compiles a policy whose selector is made already (from its `match`, or from a Kubernetes
/// admission policy's `matchConstraints`), written in `form`; `typed_params` is the type of a
/// Kubernetes policy's params where its `paramKind`'s definition is known, for the warnings.
pub(crate) fn compile_selected(
    doc: &PolicyDocument,
    (selector, form, typed_params): (Selector, Form, Option<&Ty>),
    origin: &Origin,
    plugins: &[&str],
    functions: &[crate::cel::Function],
) -> Result<Policy, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let at = |pointer: &str, msg: String, help: Option<String>| origin.diagnostic(pointer, msg, help);
    if doc.spec.rules.is_empty() && doc.spec.mutations.is_empty() && !form.is_kubernetes_like() {
        diags.push(at("/spec/rules", "a policy needs at least one rule or mutation".into(), None));
    }
    if let Some(p) = &doc.spec.params {
        if !p.is_object() {
            diags.push(at("/spec/params", "params must be a mapping".into(), None));
        }
    }
    let params_schema = params_schema(doc, origin, &mut diags);
    let params_ty = params_schema.as_ref().map_or(Ty::Dyn, |p| p.ty.clone());
    // Every expression as parsed, for the typed checks once the policy compiles.
    let mut parsed: Vec<Typed> = Vec::new();
    let (declared, variables) = compile_variables(doc, origin, (functions, &params_ty, form), &mut parsed, &mut diags);
    let rules = compile_rules(doc, origin, plugins, (&declared, functions, &params_ty, form), &mut parsed, &mut diags);
    let mutations = compile_mutations(doc, origin, (&declared, functions, &params_ty, form), &mut parsed, &mut diags);
    // Kyverno's match conditions see the policy's variables; Kubernetes' do not.
    let seen: &[Variable] = if form == Form::Kyverno { &declared } else { &[] };
    let conditions = compile_conditions(doc, origin, (seen, functions, &params_ty, form), &mut parsed, &mut diags);
    let annotations =
        compile_annotations(doc, origin, (&declared, functions, &params_ty, form), &mut parsed, &mut diags);
    // Kubernetes type-checks an admission policy's expressions against the matched kinds' (and
    // the param kind's) schemas only to warn, in its status: they are compiled, and run, with
    // `object` and `params` untyped. paved warns as the engine is built.
    let mut warnings = Vec::new();
    if diags.is_empty() {
        let params = typed_params.unwrap_or(&params_ty);
        for (pointer, (m, h)) in typed_checks(&selector, &parsed, (&declared, functions, params), form) {
            if form.is_kubernetes_like() {
                warnings.push(warning(&at(&pointer, m, h)));
            } else {
                diags.push(at(&pointer, m, h));
            }
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let item_variables = item_variables(&variables);
    let inventory = reads(doc, parsed.iter().map(|t| &t.parsed), functions, form);
    let reads_request = mentions(doc, functions, &["request", "namespaceObject"]);
    Ok(Policy {
        item_variables,
        inventory,
        reads_request,
        name: doc.metadata.name.clone(),
        version: doc.metadata.version.clone().unwrap_or_else(|| semver::Version::new(0, 0, 0)),
        description: doc.spec.description.clone(),
        action: doc.spec.action,
        failure_policy: doc.spec.failure_policy,
        selector,
        pod_controllers: doc.spec.pod_controllers,
        params: doc.spec.params.clone().unwrap_or_else(|| Value::Object(Default::default())),
        params_schema,
        variables: Arc::new(variables),
        mutations: Arc::new(super::mutation::with_digests(mutations, rules.iter().map(Rule::images))),
        rules: Arc::new(rules),
        reinvocation: doc.spec.reinvocation_policy,
        conditions: Arc::new(conditions),
        annotations: Arc::new(annotations),
        form,
        document: Arc::new(doc.clone()),
        param_kind: None,
        params_from: None,
        narrow: None,
        binding: None,
        kinds: doc.spec.match_.kinds.clone(),
        warnings,
        expansions: None,
        origin: origin.clone(),
    })
}

/// A type-checking problem of a Kubernetes policy, as the warning the API server gives.
fn warning(d: &Diagnostic) -> String {
    let hint = d.help.as_deref().and_then(|h| h.lines().next()).filter(|l| l.starts_with("did you mean"));
    let hint = hint.map(|l| format!("; {l}")).unwrap_or_default();
    format!(
        "{}:{}:{}: {}{hint} (a type-checking warning, as in the policy's status)",
        d.file, d.line, d.column, d.message
    )
}

/// The schema of a policy's params, its defaults checked against it. A policy whose params
/// only its plugins read, and that writes no schema, has none: the plugins' own schemas check
/// them.
fn params_schema(doc: &PolicyDocument, origin: &Origin, diags: &mut Vec<Diagnostic>) -> Option<Arc<Params>> {
    let for_plugins = doc.spec.rules.iter().any(|r| r.plugin.is_some());
    if for_plugins && doc.spec.params_schema.is_none() {
        return None;
    }
    let mut at = |pointer: &str, msg: String, help: Option<String>| diags.push(origin.diagnostic(pointer, msg, help));
    match Params::new(doc.spec.params_schema.as_ref(), doc.spec.params.as_ref()) {
        Ok(p) => {
            for (pointer, m, h) in doc.spec.params.as_ref().map(|d| p.problems(d)).unwrap_or_default() {
                at(&format!("/spec/params{pointer}"), m, h);
            }
            Some(Arc::new(p))
        }
        Err((pointer, m, h)) => {
            at(&pointer, m, h);
            None
        }
    }
}

/// A policy's named variables, in order, each typed by the ones before it.
fn compile_variables(
    doc: &PolicyDocument,
    origin: &Origin,
    (functions, params, form): (&[crate::cel::Function], &Ty, Form),
    parsed: &mut Vec<Typed>,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<Variable>, Vec<Expr>) {
    let mut declared: Vec<Variable> = Vec::new();
    let mut variables = Vec::new();
    for (i, v) in doc.spec.variables.iter().enumerate() {
        let ident = !v.name.is_empty() && v.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident || declared.iter().any(|d| d.name == v.name) {
            let message = format!("`{}` is not a unique identifier", v.name);
            diags.push(origin.diagnostic(&format!("/spec/variables/{i}/name"), message, None));
            continue;
        }
        let pointer = format!("/spec/variables/{i}/expression");
        let scope = Scope { for_each: true, variables: &declared, functions, params, form };
        match expr::compile(&v.expression, &scope, Want::Any) {
            Ok((p, e)) => {
                // A variable may read `item` (of whichever `forEach` rule reads the variable).
                parsed.push(Typed { pointer, parsed: p, for_each: Some(Vec::new()), variables: declared.len() });
                declared.push(Variable { name: v.name.clone(), ty: e.ty.clone(), size: e.size });
                variables.push(e);
            }
            Err((m, h)) => diags.push(origin.diagnostic(&pointer, m, h)),
        }
    }
    (declared, variables)
}

/// A policy's `matchConditions`, each name once; they see `variables` (Kyverno's see the
/// policy's, Kubernetes' none).
fn compile_conditions(
    doc: &PolicyDocument,
    origin: &Origin,
    (variables, functions, params, form): (&[Variable], &[crate::cel::Function], &Ty, Form),
    parsed: &mut Vec<Typed>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(String, Expr)> {
    let mut out: Vec<(String, Expr)> = Vec::new();
    for (i, c) in doc.spec.match_conditions.iter().enumerate() {
        if c.name.is_empty() || out.iter().any(|(n, _)| *n == c.name) {
            let message = format!("`{}` is not a unique name among the match conditions", c.name);
            diags.push(origin.diagnostic(&format!("/spec/matchConditions/{i}/name"), message, None));
        }
        let pointer = format!("/spec/matchConditions/{i}/expression");
        let scope = Scope { for_each: false, variables, functions, params, form };
        match expr::compile(&c.expression, &scope, Want::Bool) {
            Ok((p, e)) => {
                parsed.push(Typed { pointer, parsed: p, for_each: None, variables: variables.len() });
                out.push((c.name.clone(), e));
            }
            Err((m, h)) => diags.push(origin.diagnostic(&pointer, m, h)),
        }
    }
    out
}

/// A policy's `auditAnnotations`, each key once and a valid annotation name.
fn compile_annotations(
    doc: &PolicyDocument,
    origin: &Origin,
    (variables, functions, params, form): (&[Variable], &[crate::cel::Function], &Ty, Form),
    parsed: &mut Vec<Typed>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(String, Expr)> {
    let mut out: Vec<(String, Expr)> = Vec::new();
    for (i, a) in doc.spec.audit_annotations.iter().enumerate() {
        let valid = !a.key.is_empty()
            && a.key.len() <= 63
            && a.key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && a.key.starts_with(|c: char| c.is_ascii_alphanumeric())
            && a.key.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !valid || out.iter().any(|(k, _)| *k == a.key) {
            let message =
                format!("`{}` is not a unique annotation name (alphanumerics, `-`, `_`, `.`; at most 63)", a.key);
            diags.push(origin.diagnostic(&format!("/spec/auditAnnotations/{i}/key"), message, None));
        }
        let pointer = format!("/spec/auditAnnotations/{i}/valueExpression");
        let scope = Scope { for_each: false, variables, functions, params, form };
        match expr::compile(&a.value_expression, &scope, Want::Any) {
            Ok((p, e)) => {
                parsed.push(Typed { pointer, parsed: p, for_each: None, variables: variables.len() });
                out.push((a.key.clone(), e));
            }
            Err((m, h)) => diags.push(origin.diagnostic(&pointer, m, h)),
        }
    }
    out
}

/// A policy's mutations, their expressions kept for the typed checks.
fn compile_mutations(
    doc: &PolicyDocument,
    origin: &Origin,
    env: (&[Variable], &[crate::cel::Function], &Ty, Form),
    parsed: &mut Vec<Typed>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<super::mutation::Mutation> {
    let (mutations, expressions) = super::mutation::compile(doc, origin, env, diags);
    let variables = env.0.len();
    parsed.extend(expressions.into_iter().map(|(pointer, parsed)| Typed {
        pointer,
        parsed,
        for_each: None,
        variables,
    }));
    mutations
}

/// A policy's rules, each id once.
fn compile_rules(
    doc: &PolicyDocument,
    origin: &Origin,
    plugins: &[&str],
    env: (&[Variable], &[crate::cel::Function], &Ty, Form),
    parsed: &mut Vec<Typed>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Rule> {
    let mut ids = BTreeSet::new();
    let mut rules = Vec::new();
    for (i, spec) in doc.spec.rules.iter().enumerate() {
        let base = format!("/spec/rules/{i}");
        if !ids.insert(spec.id.as_str()) {
            let message = format!("rule id `{}` is used twice in this policy", spec.id);
            diags.push(origin.diagnostic(&format!("{base}/id"), message, None));
        }
        match compile_rule(spec, doc, plugins, env, &base, parsed) {
            Ok(mut r) => {
                r.line = origin.locate(&base).line;
                rules.push(r);
            }
            Err(errs) => {
                for (p, msg, help) in errs {
                    diags.push(origin.diagnostic(&format!("{base}{p}"), msg, help));
                }
            }
        }
    }
    rules
}

/// Which variables read the `forEach` item, directly or through another variable.
fn item_variables(variables: &[Expr]) -> Vec<bool> {
    let mut out: Vec<bool> = Vec::with_capacity(variables.len());
    for v in variables {
        let reads = v.reads(expr::ITEM, &|j| out.get(j).copied().unwrap_or(true));
        out.push(reads);
    }
    out
}

impl Policy {
    /// The name its findings carry: a Kubernetes or Gatekeeper policy's own (the instance a
    /// binding or constraint makes is named by it, and found as the finding's `binding`),
    /// which exceptions name; a paved policy's, bound or not.
    pub(crate) fn reported_name(&self) -> &str {
        match (&self.binding, self.form == Form::Kubernetes) {
            (Some(p), true) => p,
            _ => &self.name,
        }
    }

    /// The binding (or constraint) its findings name beside [`Policy::reported_name`].
    pub(crate) fn reported_binding(&self) -> Option<&str> {
        (self.binding.is_some() && self.form == Form::Kubernetes).then_some(self.name.as_str())
    }

    /// Whether it meets a workload of this group and kind as the pod it makes.
    pub(crate) fn expands(&self, group: &str, kind: &str) -> bool {
        self.expansions.as_ref().is_none_or(|e| e.iter().any(|x| x.applies_to(group, kind)))
    }

    /// The action an ExpansionTemplate gives its findings on the pods of a workload of this
    /// group and kind, instead of the policy's.
    pub(crate) fn expansion_action(&self, group: &str, kind: &str) -> Option<Action> {
        self.expansions.as_ref()?.iter().find(|x| x.applies_to(group, kind)).and_then(|x| x.action)
    }

    /// Whether the policy (and its binding's match, for an instance) matches the kind.
    pub(crate) fn matches_kind(&self, group: &str, version: &str, kind: &str) -> bool {
        self.selector.matches_kind(group, version, kind)
            && self.narrow.as_ref().is_none_or(|n| n.matches_kind(group, version, kind))
    }

    /// Whether the policy (and its binding's match) matches the rest of a resource.
    pub(crate) fn matches_rest(
        &self,
        subject: &crate::compile::select::Subject<'_>,
        operation: crate::k8s::Operation,
        namespace_labels: Option<&std::collections::BTreeMap<String, String>>,
    ) -> bool {
        self.selector.matches_rest(subject, operation, namespace_labels)
            && self.narrow.as_ref().is_none_or(|n| n.matches_rest(subject, operation, namespace_labels))
    }

    /// The instance of this policy a binding makes: the same rules, under the binding's name,
    /// with its params over the policy's, its match within the policy's, and its action.
    pub(crate) fn instance(&self, b: &Binding, objects: &[Value]) -> Policy {
        let params =
            b.params.as_ref().map_or_else(|| self.params.clone(), |over| super::params::overlay(&self.params, over));
        Policy {
            name: b.name.clone(),
            version: self.version.clone(),
            description: self.description.clone(),
            action: b.action.unwrap_or(self.action),
            failure_policy: self.failure_policy,
            selector: self.selector.clone(),
            pod_controllers: self.pod_controllers,
            params,
            params_schema: self.params_schema.clone(),
            variables: Arc::clone(&self.variables),
            item_variables: self.item_variables.clone(),
            inventory: self.inventory.clone(),
            reads_request: self.reads_request,
            rules: Arc::clone(&self.rules),
            mutations: Arc::clone(&self.mutations),
            reinvocation: self.reinvocation,
            conditions: Arc::clone(&self.conditions),
            annotations: Arc::clone(&self.annotations),
            form: self.form,
            document: Arc::clone(&self.document),
            param_kind: self.param_kind.clone(),
            params_from: self
                .param_kind
                .as_ref()
                .map(|kind| Arc::new(super::param_ref::ParamSource::new(kind.clone(), b.param_ref.clone(), objects))),
            narrow: b.selector.clone(),
            binding: Some(self.name.clone()),
            kinds: if self.kinds.is_empty() { b.kinds.clone() } else { self.kinds.clone() },
            warnings: self.warnings.clone(),
            expansions: self.expansions.clone(),
            origin: b.origin.clone(),
        }
    }
}

/// A `PolicyBinding`, compiled.
#[derive(Debug)]
pub(crate) struct Binding {
    pub name: String,
    /// The policy it instantiates.
    pub policy: String,
    pub params: Option<Value>,
    pub selector: Option<Selector>,
    pub action: Option<Action>,
    /// A Kubernetes binding's `paramRef`.
    pub param_ref: Option<Arc<super::param_ref::ParamRef>>,
    /// The kinds its match names, for listings (a Gatekeeper constraint's).
    pub kinds: Vec<String>,
    /// A Gatekeeper constraint's kind.
    pub constraint: Option<String>,
    pub origin: Origin,
}

/// Compiles a binding's match and checks its params are a mapping.
pub(crate) fn compile_binding(doc: &BindingDocument, origin: &Origin) -> Result<Binding, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let selector = doc.spec.match_.as_ref().and_then(|m| {
        Selector::new(m)
            .map_err(|errs| {
                for (p, e) in errs {
                    diags.push(origin.diagnostic(&format!("/spec/match{p}"), e, None));
                }
            })
            .ok()
    });
    if doc.spec.params.as_ref().is_some_and(|p| !p.is_object()) {
        diags.push(origin.diagnostic("/spec/params", "params must be a mapping", None));
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Binding {
        name: doc.metadata.name.clone(),
        policy: doc.spec.policy.clone(),
        params: doc.spec.params.clone(),
        selector,
        action: doc.spec.action,
        param_ref: None,
        kinds: Vec::new(),
        constraint: None,
        origin: origin.clone(),
    })
}

type RuleErrors = Vec<(String, String, Option<String>)>;

/// An expression as parsed, with what its typed checks need.
struct Typed {
    pointer: String,
    parsed: Parsed,
    /// The rule's `forEach` paths, when it has them.
    for_each: Option<Vec<PathPattern>>,
    /// How many of the named variables it sees.
    variables: usize,
}

fn compile_rule(
    spec: &RuleSpec,
    policy: &PolicyDocument,
    plugins: &[&str],
    (variables, functions, params, form): (&[Variable], &[crate::cel::Function], &Ty, Form),
    base: &str,
    parsed: &mut Vec<Typed>,
) -> Result<Rule, RuleErrors> {
    let mut errs: RuleErrors = Vec::new();
    let for_each = for_each(spec, &mut errs);
    let scope = Scope { for_each: for_each.is_some(), variables, functions, params, form };
    let mut cel = |field: &str, src: &Option<String>, want: Want, errs: &mut RuleErrors| -> Option<Expr> {
        let src = src.as_ref()?;
        match expr::compile(src, &scope, want) {
            Ok((p, e)) => {
                let pointer = format!("{base}/{field}");
                parsed.push(Typed { pointer, parsed: p, for_each: for_each.clone(), variables: variables.len() });
                Some(e)
            }
            Err((m, h)) => {
                errs.push((format!("/{field}"), m, h));
                None
            }
        }
    };
    let when = cel("when", &spec.when, Want::Bool, &mut errs);
    let message_expression = cel("messageExpression", &spec.message_expression, Want::String, &mut errs);
    let cel_check = cel("cel", &spec.cel, Want::Bool, &mut errs);

    let path = spec.path.clone().unwrap_or_default();
    if !path.is_empty() && !path.starts_with('/') {
        errs.push(("/path".into(), format!("`{path}` is not a JSON pointer"), Some("start it with `/`".into())));
    }

    if spec.params.is_some() && spec.plugin.is_none() {
        errs.push((
            "/params".into(),
            format!("rule `{}` has `params` but runs no plugin", spec.id),
            Some("`params` of a rule are for its plugin; expressions read the policy's `spec.params`".into()),
        ));
    }
    let check = the_check(spec, policy, plugins, cel_check, &path, &mut errs);
    match check {
        Some(check) if errs.is_empty() => Ok(Rule {
            id: spec.id.clone(),
            message: spec.message.clone(),
            uses_cel: spec.cel.is_some() || when.is_some() || message_expression.is_some(),
            message_expression,
            help: spec.help.clone(),
            severity: spec.severity.unwrap_or(policy.spec.severity),
            when,
            for_each,
            check,
            line: 0,
            spec: spec.clone(),
        }),
        _ => Err(errs),
    }
}

/// The one check a rule runs: `assert`, `cel`, `kubernetes` or `plugin`; none, or more than
/// one, is an error.
fn the_check(
    spec: &RuleSpec,
    policy: &PolicyDocument,
    plugins: &[&str],
    cel_check: Option<Expr>,
    path: &str,
    errs: &mut RuleErrors,
) -> Option<Box<dyn Check>> {
    let given = [
        ("assert", spec.assert.is_some()),
        ("cel", spec.cel.is_some()),
        ("plugin", spec.plugin.is_some()),
        ("kubernetes", spec.kubernetes.is_some()),
        ("verifyImages", spec.verify_images.is_some()),
        ("cost", spec.cost.is_some()),
    ];
    match given.iter().filter(|(_, g)| *g).map(|(k, _)| *k).collect::<Vec<_>>().as_slice() {
        ["assert"] => spec.assert.as_ref().and_then(|schema| {
            AssertCheck::new(schema).map_err(|e| errs.push(("/assert".into(), e, None))).ok().map(|c| Box::new(c) as _)
        }),
        ["cel"] => cel_check.map(|expr| Box::new(CelCheck { expr, path: path.to_owned() }) as _),
        ["kubernetes"] => spec.kubernetes.map(|what| Box::new(KubernetesSchemaCheck { what }) as _),
        ["cost"] => spec.cost.as_ref().map(|c| Box::new(super::cost::CostCheck::new(c)) as _),
        ["verifyImages"] => spec.verify_images.as_ref().and_then(|v| {
            super::images::VerifyImagesCheck::new(v)
                .map_err(|(field, msg)| errs.push((field, msg, None)))
                .ok()
                .map(|c| Box::new(c) as _)
        }),
        [_plugin] => spec.plugin.as_deref().and_then(|name| {
            PluginCheck::new(name, plugins, policy.spec.params.as_ref(), spec.params.as_ref())
                .map_err(|(field, msg, help)| errs.push((field, msg, help)))
                .ok()
                .map(|c| Box::new(c) as _)
        }),
        [] => {
            errs.push((
                String::new(),
                format!("rule `{}` has no check", spec.id),
                Some(
                    "give it exactly one of `assert` (a JSON Schema), `cel` (an expression), `plugin`, `kubernetes`, `verifyImages` or `cost`"
                        .into(),
                ),
            ));
            None
        }
        [first, second, ..] => {
            errs.push((
                format!("/{second}"),
                format!("rule `{}` has both `{first}` and `{second}`", spec.id),
                Some("a rule has exactly one check; split it into two rules".into()),
            ));
            None
        }
    }
}

/// The rule's `forEach` paths.
fn for_each(spec: &RuleSpec, errs: &mut RuleErrors) -> Option<Vec<PathPattern>> {
    match &spec.for_each {
        None => None,
        Some(f) => {
            let texts: Vec<&String> = match f {
                ForEach::One(s) => vec![s],
                ForEach::Many(v) => v.iter().collect(),
            };
            let mut pats = Vec::new();
            for t in texts {
                match PathPattern::parse(t) {
                    Ok(mut p) => pats.append(&mut p),
                    Err(e) => errs.push(("/forEach".into(), e, None)),
                }
            }
            Some(pats)
        }
    }
}

/// The most kinds a policy's expressions are typed by (a policy matching every kind is not).
const MAX_TYPED_KINDS: usize = 32;

/// Checks every expression again with `object` typed by the schemas of the built-in kinds the
/// policy matches (and `item` by the schemas at its `forEach` paths), as Kubernetes checks a
/// ValidatingAdmissionPolicy: a misspelt field is a load error, not a runtime failure on every
/// resource. Where a policy matches several kinds, a field any of them has is a field, so an
/// expression that reads one kind's fields behind `object.kind == ...` loads.
fn typed_checks(
    selector: &Selector,
    parsed: &[Typed],
    (variables, functions, params): (&[Variable], &[crate::cel::Function], &Ty),
    form: Form,
) -> Vec<(String, (String, Option<String>))> {
    let Ok(version) = crate::k8s::schema::version("latest") else { return Vec::new() };
    if !selector.names_kinds() || parsed.is_empty() {
        return Vec::new();
    }
    let kinds = version.kinds_where(|g, v, k| selector.matches_kind(g, v, k));
    if kinds.is_empty() || kinds.len() > MAX_TYPED_KINDS {
        return Vec::new();
    }
    let objects: Vec<Ty> = kinds.iter().map(|(kind, schema)| Ty::of_schema(version, schema, kind)).collect();
    let Some(object) = Ty::union(objects.clone()) else { return Vec::new() };
    let mut out = Vec::new();
    for t in parsed {
        let scope = Scope {
            for_each: t.for_each.is_some(),
            variables: variables.get(..t.variables).unwrap_or_default(),
            functions,
            params,
            form,
        };
        let item = t.for_each.as_ref().map(|paths| {
            let items = objects.iter().flat_map(|o| paths.iter().filter_map(|p| item_type(o, p))).collect();
            Ty::union(items).unwrap_or(Ty::Dyn)
        });
        if let Some(p) = expr::check_typed(&t.parsed, &scope, &object, item.as_ref()) {
            out.push((t.pointer.clone(), p));
        }
    }
    out
}

/// The type of the values a `forEach` path reaches in an object of type `object`; `None` where
/// the path leaves the schema.
fn item_type(object: &Ty, path: &PathPattern) -> Option<Ty> {
    use crate::cel::types::Member;
    use crate::load::pointer::Segment;
    let mut ty = object.clone();
    for seg in &path.0 {
        ty = match seg {
            Segment::Key(k) => match ty.member(k) {
                Member::Field(t) => t,
                Member::Unknown(_) => return None,
            },
            Segment::Any => match &ty {
                Ty::List(e) | Ty::Map(_, e) => (**e).clone(),
                _ => Ty::Dyn,
            },
        };
    }
    Some(ty)
}

/// Compiles a bundle's functions: each body parses, and compiles with its params and the
/// policies' variables (so a mistake is reported where the function is written).
pub(crate) fn compile_functions(
    specs: &[crate::model::FunctionSpec],
    origin: &Origin,
) -> (Vec<crate::cel::Function>, Vec<Diagnostic>) {
    let mut out: Vec<crate::cel::Function> = Vec::new();
    let mut diags = Vec::new();
    for (i, f) in specs.iter().enumerate() {
        let at = |field: &str| format!("/spec/functions/{i}/{field}");
        let ident = |n: &str| {
            n.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if !ident(&f.name) || out.iter().any(|o| o.name == f.name) {
            diags.push(origin.diagnostic(&at("name"), format!("`{}` is not a unique function name", f.name), None));
            continue;
        }
        if let Some(p) = f.params.iter().find(|p| !ident(p) || expr::POLICY_VARIABLES.contains(&p.as_str())) {
            diags.push(origin.diagnostic(
                &at("params"),
                format!("`{p}` cannot name a parameter"),
                Some("use a name that is not one of the policy's variables".into()),
            ));
            continue;
        }
        let body = match crate::cel::parse(&f.expression) {
            Ok(b) => b,
            Err((m, h)) => {
                diags.push(origin.diagnostic(&at("expression"), m, h));
                continue;
            }
        };
        let mut roots: Vec<(&str, Ty)> = expr::roots(&Ty::Dyn, Some(&Ty::Dyn), &Ty::Dyn, Form::Paved);
        roots.extend(f.params.iter().map(|p| (p.as_str(), Ty::Dyn)));
        let decls =
            crate::cel::Decls { roots: &roots, variables: None, functions: &out, form: crate::cel::Form::Paved };
        if let Some((m, h)) = body.check(&decls) {
            diags.push(origin.diagnostic(&at("expression"), m, h));
            continue;
        }
        out.push(crate::cel::Function { name: f.name.clone(), params: f.params.clone(), body });
    }
    (out, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_each_paths() {
        let v = serde_json::json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}], "initContainers": [{"name": "i"}]}});
        let pats = PathPattern::parse("containers").unwrap();
        let mut out = Vec::new();
        for p in &pats {
            p.visit(&v, &mut out);
        }
        let paths: Vec<_> = out.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["/spec/initContainers/0", "/spec/containers/0", "/spec/containers/1"]);
        assert!(PathPattern::parse("spec.containers").is_err());
    }
}
