//! Compiling a policy document once: selectors, JSON Schemas, CEL programs, forEach paths.

use std::collections::BTreeSet;

use serde_json::Value;

use super::check::{AssertCheck, CelCheck, Check, KubernetesSchemaCheck, PluginCheck};
use super::expr::{self, Expr, POLICY_VARIABLES};
use crate::error::Diagnostic;
use crate::load::Origin;
use crate::model::{Action, FailurePolicy, ForEach, PolicyDocument, RuleSpec, Severity};
use crate::pointer::PathPattern;
use crate::select::Selector;

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
    pub variables: Vec<(String, Expr)>,
    pub rules: Vec<Rule>,
    /// The kinds as written in `match.kinds`, for listings.
    pub kinds: Vec<String>,
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

/// Compiles one policy, collecting every problem.
pub(crate) fn compile(doc: &PolicyDocument, origin: &Origin, plugins: &[&str]) -> Result<Policy, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let at = |pointer: &str, msg: String, help: Option<String>| origin.diagnostic(pointer, msg, help);

    let selector = Selector::new(&doc.spec.match_)
        .map_err(|errs| {
            for (p, e) in errs {
                diags.push(at(&format!("/spec/match{p}"), e, None));
            }
        })
        .unwrap_or_default();

    if doc.spec.rules.is_empty() {
        diags.push(at("/spec/rules", "a policy needs at least one rule".into(), None));
    }
    if let Some(p) = &doc.spec.params {
        if !p.is_object() {
            diags.push(at("/spec/params", "params must be a mapping".into(), None));
        }
    }
    let mut variables = Vec::new();
    for (i, v) in doc.spec.variables.iter().enumerate() {
        let ident = !v.name.is_empty() && v.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ident || variables.iter().any(|(n, _)| n == &v.name) {
            diags.push(at(
                &format!("/spec/variables/{i}/name"),
                format!("`{}` is not a unique identifier", v.name),
                None,
            ));
            continue;
        }
        match expr::compile(&v.expression, POLICY_VARIABLES) {
            Ok(e) => variables.push((v.name.clone(), e)),
            Err((m, h)) => diags.push(at(&format!("/spec/variables/{i}/expression"), m, h)),
        }
    }
    let mut ids = BTreeSet::new();
    let mut rules = Vec::new();
    for (i, spec) in doc.spec.rules.iter().enumerate() {
        let base = format!("/spec/rules/{i}");
        if !ids.insert(spec.id.as_str()) {
            diags.push(at(&format!("{base}/id"), format!("rule id `{}` is used twice in this policy", spec.id), None));
        }
        match compile_rule(spec, doc, plugins) {
            Ok(mut r) => {
                r.line = origin.locate(&base).line;
                rules.push(r);
            }
            Err(errs) => {
                for (p, msg, help) in errs {
                    diags.push(at(&format!("{base}{p}"), msg, help));
                }
            }
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(Policy {
        name: doc.metadata.name.clone(),
        version: doc.metadata.version.clone().unwrap_or_else(|| semver::Version::new(0, 0, 0)),
        description: doc.spec.description.clone(),
        action: doc.spec.action,
        failure_policy: doc.spec.failure_policy,
        selector,
        pod_controllers: doc.spec.pod_controllers,
        params: doc.spec.params.clone().unwrap_or_else(|| Value::Object(Default::default())),
        variables,
        rules,
        kinds: doc.spec.match_.kinds.clone(),
        origin: origin.clone(),
    })
}

type RuleErrors = Vec<(String, String, Option<String>)>;

fn compile_rule(spec: &RuleSpec, policy: &PolicyDocument, plugins: &[&str]) -> Result<Rule, RuleErrors> {
    let mut errs: RuleErrors = Vec::new();
    let cel = |field: &str, src: &Option<String>, errs: &mut RuleErrors| -> Option<Expr> {
        let src = src.as_ref()?;
        expr::compile(src, POLICY_VARIABLES).map_err(|(m, h)| errs.push((format!("/{field}"), m, h))).ok()
    };
    let when = cel("when", &spec.when, &mut errs);
    let message_expression = cel("messageExpression", &spec.message_expression, &mut errs);

    let for_each = match &spec.for_each {
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
    };
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
    let given = [
        ("assert", spec.assert.is_some()),
        ("cel", spec.cel.is_some()),
        ("plugin", spec.plugin.is_some()),
        ("kubernetes", spec.kubernetes.is_some()),
    ];
    let check: Option<Box<dyn Check>> = match given
        .iter()
        .filter(|(_, g)| *g)
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["assert"] => spec.assert.as_ref().and_then(|schema| {
            AssertCheck::new(schema).map_err(|e| errs.push(("/assert".into(), e, None))).ok().map(|c| Box::new(c) as _)
        }),
        ["cel"] => cel("cel", &spec.cel, &mut errs).map(|expr| Box::new(CelCheck { expr, path: path.clone() }) as _),
        ["kubernetes"] => spec.kubernetes.map(|what| Box::new(KubernetesSchemaCheck { what }) as _),
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
                    "give it exactly one of `assert` (a JSON Schema), `cel` (an expression), `plugin` or `kubernetes`"
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
    };
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
