//! `paved export vap`: a paved policy whose rules are CEL, as a ValidatingAdmissionPolicy and
//! its binding, so that simple rules run inside the API server with no webhook. Params are
//! inlined as a variable; `forEach` paths become `all()` over the lists they name; what Kubernetes
//! cannot express (plugins, JSON Schema and `kubernetes` rules, the inventory, globs, pod
//! controllers, exceptions) is refused per rule with the reason, or left out with a note when
//! `partial` is asked for.

use serde_json::{json, Map, Value};

use super::policy::{Form, Policy};
use crate::load::pointer::{PathPattern, Segment};
use crate::model::{Globs, LabelSelector, Match, RuleSpec};

/// A policy exported: the documents (policy, binding) and what was left out.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VapExport {
    /// The ValidatingAdmissionPolicy and its ValidatingAdmissionPolicyBinding.
    pub documents: Vec<Value>,
    /// What the export leaves out (with `partial`), one line each.
    pub notes: Vec<String>,
}

impl VapExport {
    /// The documents as one YAML stream.
    pub fn yaml(&self) -> String {
        self.documents.iter().map(|d| format!("---\n{}", crate::load::to_yaml(d))).collect()
    }
}

/// Exports `policy` (compiled from `doc`), with `excepted` when the bundle holds exceptions to
/// it. `Err` holds every refusal.
pub(crate) fn export(policy: &Policy, excepted: bool, partial: bool) -> Result<VapExport, Vec<String>> {
    let doc = &policy.document;
    let mut refused = Vec::new();
    let mut notes = Vec::new();
    let mut leave = |what: String, refused: &mut Vec<String>| {
        if partial {
            notes.push(format!("left out: {what}"));
        } else {
            refused.push(what);
        }
    };
    if policy.form != Form::Paved {
        refused.push(format!("`{}` is a Kubernetes or Kyverno policy already", policy.name));
    }
    let pod = policy.selector.matches_kind("", "v1", "Pod");
    if policy.pod_controllers && pod {
        leave("the pod templates of workloads (podControllers): the policy judges Pods only".into(), &mut refused);
    }
    if excepted {
        leave("the bundle's exceptions to this policy (they expire; the API server cannot)".into(), &mut refused);
    }
    if policy.inventory.any {
        refused.push("the policy reads `inventory`, which the API server does not have".into());
    }
    let constraints = match_constraints(&doc.spec.match_).map_err(|e| refused.push(e)).ok();
    let mut validations = Vec::new();
    for (rule, spec) in policy.rules.iter().zip(&doc.spec.rules) {
        match validation(spec, rule.for_each.as_deref()) {
            Ok(v) => validations.push(v),
            Err(why) => leave(format!("rule `{}`: {why}", spec.id), &mut refused),
        }
    }
    if policy.item_variables.iter().any(|reads| *reads) {
        refused.push("a variable reads `item`, which has no place outside a rule in Kubernetes".into());
    }
    if validations.is_empty() && refused.is_empty() {
        refused.push("no rule is left to export".into());
    }
    if !refused.is_empty() {
        return Err(refused);
    }
    let mut variables = Vec::new();
    if policy.params.as_object().is_some_and(|p| !p.is_empty()) {
        variables.push(json!({"name": "params", "expression": literal(&policy.params)}));
    }
    for v in &doc.spec.variables {
        variables.push(json!({"name": v.name, "expression": inline_params(&v.expression)}));
    }
    let mut spec = Map::new();
    spec.insert(
        "failurePolicy".into(),
        json!(if policy.failure_policy == crate::model::FailurePolicy::Ignore { "Ignore" } else { "Fail" }),
    );
    spec.insert("matchConstraints".into(), constraints.unwrap_or_default());
    if !variables.is_empty() {
        spec.insert("variables".into(), Value::Array(variables));
    }
    spec.insert("validations".into(), Value::Array(validations));
    let name = &policy.name;
    let mut annotations = Map::new();
    annotations.insert("paved.dev/exported-from".into(), json!(format!("{name}@{}", policy.version)));
    if !notes.is_empty() {
        annotations.insert("paved.dev/left-out".into(), json!(notes.join("; ")));
    }
    let metadata = json!({"name": name, "annotations": annotations});
    let vap = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy", "metadata": metadata, "spec": spec});
    let binding = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name}, "spec": {"policyName": name, "validationActions": [policy.action.as_str()]}});
    Ok(VapExport { documents: vec![vap, binding], notes })
}

/// A rule as a validation.
fn validation(spec: &RuleSpec, for_each: Option<&[PathPattern]>) -> Result<Value, String> {
    let Some(cel) = &spec.cel else {
        let what = match (&spec.assert, &spec.plugin) {
            (Some(_), _) => "a JSON Schema (`assert`) has no CEL form",
            (_, Some(_)) => "a WASM plugin cannot run in the API server",
            _ => "a `kubernetes` schema check is the API server's own validation",
        };
        return Err(what.into());
    };
    let holds = match &spec.when {
        Some(when) => format!("!({}) || ({})", inline_params(when), inline_params(cel)),
        None => inline_params(cel),
    };
    let mut v = Map::new();
    match for_each {
        None => {
            v.insert("expression".into(), json!(holds));
            if let Some(m) = &spec.message_expression {
                v.insert("messageExpression".into(), json!(inline_params(m)));
            }
        }
        Some(paths) => {
            let items = paths.iter().map(items).collect::<Result<Vec<_>, _>>()?.join(" + ");
            let items = if paths.len() > 1 { format!("({items})") } else { items };
            v.insert("expression".into(), json!(format!("{items}.all(item, {holds})")));
            if let Some(m) = &spec.message_expression {
                // The message of each item that fails, joined.
                let fails = format!("!({holds})");
                let message = format!("{items}.filter(item, {fails}).map(item, {}).join('; ')", inline_params(m));
                v.insert("messageExpression".into(), json!(message));
            }
        }
    }
    v.insert("message".into(), json!(spec.message.trim()));
    Ok(Value::Object(v))
}

/// The list of values a `forEach` path reaches, as a CEL expression over `object`: keys, then
/// one `*` over a list, then keys inside each element.
fn items(path: &PathPattern) -> Result<String, String> {
    let star = path.0.iter().position(|s| *s == Segment::Any);
    let keys = |segs: &[Segment]| -> Result<Vec<String>, String> {
        segs.iter()
            .map(|s| match s {
                Segment::Key(k) if is_ident(k) => Ok(k.clone()),
                Segment::Key(k) => Err(format!("the path key `{k}` is not a CEL field name")),
                Segment::Any => Err("a path with more than one `*` has no CEL form here".into()),
            })
            .collect()
    };
    let Some(star) = star else {
        let ks = keys(&path.0)?;
        return Ok(format!("(object.{}.hasValue() ? [object.{}] : [])", optional(&ks), ks.join(".")));
    };
    let (before, after) = (path.0.get(..star).unwrap_or_default(), path.0.get(star + 1..).unwrap_or_default());
    let list = format!("object.{}.orValue([])", optional(&keys(before)?));
    if after.is_empty() {
        return Ok(list);
    }
    let tail = keys(after)?;
    Ok(format!("{list}.filter(x, x.{}.hasValue()).map(x, x.{})", optional(&tail), tail.join(".")))
}

/// `?a.?b`: each key an optional field selection (after `object.` or `x.`).
fn optional(keys: &[String]) -> String {
    keys.iter().map(|k| format!("?{k}")).collect::<Vec<_>>().join(".")
}

fn is_ident(k: &str) -> bool {
    k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `params` as `variables.params`, outside string literals.
fn inline_params(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if let Some(q) = quote {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, c) if c == q => quote = None,
                _ => {}
            }
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
        }
        let word: String = chars.get(i..i + 6).map(|w| w.iter().collect()).unwrap_or_default();
        let before = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
        let after = chars.get(i + 6).copied();
        let boundary = |ch: Option<char>| ch.is_none_or(|ch| !(ch.is_ascii_alphanumeric() || ch == '_'));
        if word == "params" && boundary(before) && before != Some('.') && boundary(after) {
            out.push_str("variables.params");
            i += 6;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// A JSON value as a CEL literal.
fn literal(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(a) => format!("[{}]", elements(a.iter()).join(", ")),
        Value::Object(m) => {
            let keys = m.keys().map(|k| literal(&json!(k)));
            format!(
                "{{{}}}",
                keys.zip(elements(m.values())).map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ")
            )
        }
    }
}

/// The literals of a list's elements or a map's values, each in `dyn(...)` when their types
/// differ: Kubernetes' CEL takes aggregate literals of one type only.
fn elements<'v>(items: impl Iterator<Item = &'v Value> + Clone) -> Vec<String> {
    let mut shapes = items.clone().map(shape);
    let first = shapes.next();
    let mixed = shapes.any(|s| Some(s) != first);
    items.map(|v| if mixed { format!("dyn({})", literal(v)) } else { literal(v) }).collect()
}

/// The CEL type of a value's literal.
fn shape(v: &Value) -> String {
    let of = |items: Vec<String>| match items.split_first() {
        Some((first, rest)) if rest.iter().any(|s| s != first) => "dyn".to_owned(),
        Some((first, _)) => first.clone(),
        None => "dyn".to_owned(),
    };
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) if n.is_f64() => "double".into(),
        Value::Number(_) => "int".into(),
        Value::String(_) => "string".into(),
        Value::Array(a) => format!("list({})", of(a.iter().map(shape).collect())),
        Value::Object(m) => format!("map({})", of(m.values().map(shape).collect())),
    }
}

/// A paved `match` as `matchConstraints`: kinds as resource rules, namespaces and names as the
/// API server selects them. Globs have no such form.
fn match_constraints(m: &Match) -> Result<Value, String> {
    let glob = |s: &str| s.contains(['*', '?', '[']);
    let operations: Vec<&str> = if m.operations.is_empty() {
        vec!["CREATE", "UPDATE"]
    } else {
        m.operations.iter().map(|o| o.as_str()).collect()
    };
    let mut rules = Vec::new();
    if m.kinds.is_empty() {
        rules.push(json!({"apiGroups": ["*"], "apiVersions": ["*"], "operations": operations, "resources": ["*"]}));
    }
    for k in &m.kinds {
        if glob(k) {
            return Err(format!("the kind pattern `{k}` has globs; name kinds as `group/version/Kind`"));
        }
        let parts: Vec<&str> = k.split('/').collect();
        let (group, version, kind) = match parts.as_slice() {
            [kind] => (group_of(kind)?, "*".to_owned(), *kind),
            [v, kind] => (String::new(), (*v).to_owned(), *kind),
            [g, v, kind] => (if *g == "core" { String::new() } else { (*g).to_owned() }, (*v).to_owned(), *kind),
            _ => return Err(format!("`{k}` is not a kind")),
        };
        rules.push(json!({"apiGroups": [group], "apiVersions": [version], "operations": operations,
            "resources": [crate::k8s::resource_of(kind)]}));
    }
    let mut expressions: Vec<Value> = Vec::new();
    let list = |g: &Option<Globs>| -> (Vec<String>, Vec<String>) {
        match g {
            None => (Vec::new(), Vec::new()),
            Some(Globs::Include(i)) => (i.clone(), Vec::new()),
            Some(Globs::Both { include, exclude }) => (include.clone(), exclude.clone()),
        }
    };
    let (include, exclude) = list(&m.namespaces);
    for (values, op) in [(include, "In"), (exclude, "NotIn")] {
        if values.iter().any(|v| glob(v)) {
            return Err("namespace globs have no form in a namespace selector; list the namespaces".into());
        }
        if !values.is_empty() {
            expressions.push(json!({"key": "kubernetes.io/metadata.name", "operator": op, "values": values}));
        }
    }
    let (include_names, exclude_names) = list(&m.names);
    if include_names.iter().any(|v| glob(v)) || !exclude_names.is_empty() {
        return Err("name globs and excluded names have no form in resource rules; list the names".into());
    }
    if !include_names.is_empty() {
        for r in rules.iter_mut().filter_map(Value::as_object_mut) {
            r.insert("resourceNames".into(), json!(include_names));
        }
    }
    let mut out = Map::new();
    out.insert("resourceRules".into(), Value::Array(rules));
    let mut namespace = m.namespace_selector.as_ref().map(selector).unwrap_or_default();
    if !expressions.is_empty() {
        let mut all = namespace.get("matchExpressions").and_then(Value::as_array).cloned().unwrap_or_default();
        all.extend(expressions);
        namespace.insert("matchExpressions".into(), Value::Array(all));
    }
    if !namespace.is_empty() {
        out.insert("namespaceSelector".into(), Value::Object(namespace));
    }
    if let Some(l) = &m.labels {
        out.insert("objectSelector".into(), Value::Object(selector(l)));
    }
    Ok(Value::Object(out))
}

/// The API group of a kind named without one: Kubernetes' own, when only one group has it.
fn group_of(kind: &str) -> Result<String, String> {
    let schemas = crate::k8s::schema::version("latest")?;
    let mut groups: Vec<String> = Vec::new();
    for g in [
        "",
        "apps",
        "batch",
        "networking.k8s.io",
        "policy",
        "autoscaling",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
    ] {
        if !schemas.kinds_where(|kg, _, k| kg == g && k == kind).is_empty() {
            groups.push(g.to_owned());
        }
    }
    match groups.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!("say the group of kind `{kind}` (`group/version/{kind}`)")),
    }
}

fn selector(s: &LabelSelector) -> Map<String, Value> {
    match serde_json::to_value(s) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}
