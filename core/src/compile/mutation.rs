//! A policy's mutations, compiled: each a CEL expression that gives either a partial object
//! merged as server-side apply merges it (`applyConfiguration`) or JSON Patch operations
//! (`jsonPatch`), as Kubernetes' MutatingAdmissionPolicy has them. The shorthands (`setLabels`,
//! `setAnnotations`, `setDefault`, `addToleration`, `pinImages`) are written here as one of the
//! two, so they run, report and are tested as any other mutation; each changes only what is
//! absent, so applying it again changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::expr::{self, Expr, Form, Scope};
use crate::cel::{Parsed, Ty, Variable, Want};
use crate::error::Diagnostic;
use crate::load::Origin;
use crate::model::{DefaultSpec, MutationSpec, PolicyDocument};

/// How a mutation's result is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchType {
    /// A partial object, merged as server-side apply merges it.
    ApplyConfiguration,
    /// A list of JSON Patch operations (RFC 6902), applied in order.
    JsonPatch,
}

impl PatchType {
    /// Its name in a MutatingAdmissionPolicy's `mutations` (camel case, as paved writes it).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PatchType::ApplyConfiguration => "applyConfiguration",
            PatchType::JsonPatch => "jsonPatch",
        }
    }
}

/// What a mutation changes.
#[derive(Debug)]
pub(crate) enum Change {
    /// A CEL expression's result, applied as its patch type says.
    Cel { patch_type: PatchType, expr: Expr },
    /// A Gatekeeper mutator's change at its `location`.
    Location(Box<super::location::Mutator>),
    /// The images the policy's rule at this index verified pinned to their verified digests
    /// (`verifyImages.mutateDigest`).
    Digests(usize),
}

impl Change {
    /// How its result is applied, by name: `applyConfiguration`, `jsonPatch` or `location`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Change::Cel { patch_type, .. } => patch_type.as_str(),
            Change::Location(_) => "location",
            Change::Digests(_) => "mutateDigest",
        }
    }
}

impl Mutation {
    /// A Gatekeeper mutator's location.
    pub(crate) fn location(&self) -> Option<&super::location::Path> {
        match &self.change {
            Change::Location(m) => Some(&m.walk.path),
            Change::Cel { .. } | Change::Digests(_) => None,
        }
    }
}

/// A compiled mutation.
#[derive(Debug)]
pub(crate) struct Mutation {
    pub id: String,
    /// Why the change is made.
    pub message: String,
    pub when: Option<Expr>,
    pub change: Change,
    /// The expression, as written or as the shorthand wrote it.
    pub source: String,
    /// Where the mutation was written.
    pub pointer: String,
    /// What a shorthand sets, known before it runs: each field (a JSON pointer into the object)
    /// and its value, for finding two mutations that set one field to different values.
    pub writes: Vec<(String, Value)>,
}

/// A policy's mutations, each id once, and their expressions as parsed (with their pointers)
/// for the typed checks.
pub(crate) fn compile(
    doc: &PolicyDocument,
    origin: &Origin,
    (variables, functions, params, form): (&[Variable], &[crate::cel::Function], &Ty, Form),
    diags: &mut Vec<Diagnostic>,
) -> (Vec<Mutation>, Vec<(String, Parsed)>) {
    let mut ids = BTreeSet::new();
    let (mut out, mut parsed) = (Vec::new(), Vec::new());
    let scope = Scope { for_each: false, variables, functions, params, form };
    for (i, spec) in doc.spec.mutations.iter().enumerate() {
        let base = format!("/spec/mutations/{i}");
        if !ids.insert(spec.id.as_str()) {
            let message = format!("mutation id `{}` is used twice in this policy", spec.id);
            diags.push(origin.diagnostic(&format!("{base}/id"), message, None));
        }
        let (field, patch_type, source, message) = match written(spec) {
            Ok(w) => w,
            Err(message) => {
                diags.push(origin.diagnostic(&base, message, None));
                continue;
            }
        };
        let when = spec.when.as_ref().and_then(|w| {
            let pointer = format!("{base}/when");
            match expr::compile(w, &scope, Want::Bool) {
                Ok((p, e)) => {
                    parsed.push((pointer, p));
                    Some(e)
                }
                Err((m, h)) => {
                    diags.push(origin.diagnostic(&pointer, m, h));
                    None
                }
            }
        });
        let pointer = format!("{base}/{field}");
        match expr::compile(&source, &scope, Want::Any) {
            Ok((p, e)) if form.is_kubernetes_like() && plain_literal(&p.expr, patch_type) => {
                let message = match patch_type {
                    PatchType::ApplyConfiguration => format!("must evaluate to Object but got {}", e.ty),
                    PatchType::JsonPatch => format!("must evaluate to list(JSONPatch) but got {}", e.ty),
                };
                let help = "build it of `Object{...}` (`JSONPatch{...}`) literals, as the API server requires";
                diags.push(origin.diagnostic(&pointer, message, Some(help.into())));
            }
            Ok((p, e)) => {
                parsed.push((pointer.clone(), p));
                let message = spec.message.clone().unwrap_or(message);
                let writes = writes(spec);
                let change = Change::Cel { patch_type, expr: e };
                out.push(Mutation { id: spec.id.clone(), message, when, change, source, pointer, writes });
            }
            Err((m, h)) => diags.push(origin.diagnostic(&pointer, m, h)),
        }
    }
    (out, parsed)
}

/// `mutations`, then one for each `verifyImages` rule of `rules` (by id, with its check, in
/// order) that writes verified digests into the object (`mutateDigest`).
pub(crate) fn with_digests<'r>(
    mut mutations: Vec<Mutation>,
    rules: impl Iterator<Item = (&'r str, Option<&'r super::images::VerifyImagesCheck>)>,
) -> Vec<Mutation> {
    for (i, (id, check)) in rules.enumerate() {
        if check.is_some_and(|c| c.mutate_digest) {
            mutations.push(Mutation {
                id: format!("{id}-digest"),
                message: format!("pins the images rule `{id}` verified to the digests verified"),
                when: None,
                change: Change::Digests(i),
                source: "mutateDigest: true".into(),
                pointer: format!("/spec/rules/{i}/verifyImages/mutateDigest"),
                writes: Vec::new(),
            });
        }
    }
    mutations
}

/// Whether an expression gives a plain map (a list of plain maps, for a JSON patch) where the
/// API server wants its message types: a map literal, as a branch of the result or the result.
fn plain_literal(e: &::cel::IdedExpr, patch_type: PatchType) -> bool {
    use ::cel::common::ast::{operators, Expr as Node};
    match (&e.expr, patch_type) {
        (Node::Map(_), PatchType::ApplyConfiguration) => true,
        (Node::List(l), PatchType::JsonPatch) => l.elements.iter().any(|x| matches!(x.expr, Node::Map(_))),
        (Node::Call(c), _) if c.func_name == operators::CONDITIONAL => {
            c.args.iter().skip(1).any(|branch| plain_literal(branch, patch_type))
        }
        _ => false,
    }
}

/// The field a mutation is written in, how it applies, its CEL and its default message.
fn written(spec: &MutationSpec) -> Result<(&'static str, PatchType, String, String), String> {
    use PatchType::{ApplyConfiguration as Apply, JsonPatch as Json};
    let given = [
        spec.apply_configuration.is_some(),
        spec.json_patch.is_some(),
        spec.set_labels.is_some(),
        spec.set_annotations.is_some(),
        spec.set_default.is_some(),
        spec.add_toleration.is_some(),
        spec.pin_images.is_some(),
    ];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err("a mutation has exactly one of `applyConfiguration`, `jsonPatch`, `setLabels`, `setAnnotations`, \
                    `setDefault`, `addToleration` and `pinImages`"
            .into());
    }
    let own = |what: &str| format!("mutation `{}`: {what}", spec.id);
    if let Some(source) = &spec.apply_configuration {
        return Ok(("applyConfiguration", Apply, source.clone(), own("applies a configuration")));
    }
    if let Some(source) = &spec.json_patch {
        return Ok(("jsonPatch", Json, source.clone(), own("applies a JSON patch")));
    }
    if let Some(labels) = &spec.set_labels {
        return Ok(("setLabels", Json, set_absent("labels", labels), describe("labels", labels)));
    }
    if let Some(annotations) = &spec.set_annotations {
        return Ok((
            "setAnnotations",
            Json,
            set_absent("annotations", annotations),
            describe("annotations", annotations),
        ));
    }
    if let Some(d) = &spec.set_default {
        let source = set_default(d)?;
        return Ok(("setDefault", Json, source, format!("defaults {} to {}", d.path, d.value)));
    }
    if let Some(t) = &spec.add_toleration {
        let source = add_toleration(t)?;
        return Ok(("addToleration", Json, source, format!("adds the toleration {t}")));
    }
    let param = spec.pin_images.as_ref().map(|p| p.param.as_str()).unwrap_or_default();
    let message = format!("pins images to the digests in params.{param}");
    Ok(("pinImages", Apply, pin_images(param)?, message))
}

/// The fields a shorthand sets and their values (none for a mutation written in CEL).
fn writes(spec: &MutationSpec) -> Vec<(String, Value)> {
    let escape = |s: &str| s.replace('~', "~0").replace('/', "~1");
    let pairs = |field: &str, m: &BTreeMap<String, String>| -> Vec<(String, Value)> {
        m.iter().map(|(k, v)| (format!("/metadata/{field}/{}", escape(k)), Value::String(v.clone()))).collect()
    };
    let mut out = Vec::new();
    if let Some(labels) = &spec.set_labels {
        out.extend(pairs("labels", labels));
    }
    if let Some(annotations) = &spec.set_annotations {
        out.extend(pairs("annotations", annotations));
    }
    if let Some(d) = &spec.set_default {
        out.push((d.path.clone(), d.value.clone()));
    }
    out
}

fn describe(field: &str, pairs: &BTreeMap<String, String>) -> String {
    let listed: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("sets the {field} {} where absent", listed.join(", "))
}

/// A JSON value as a CEL literal of the same value.
fn literal(value: &Value) -> String {
    match value {
        Value::Array(items) => format!("[{}]", items.iter().map(literal).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => {
            let entries: Vec<String> = m.iter().map(|(k, v)| format!("{}: {}", quoted(k), literal(v))).collect();
            format!("{{{}}}", entries.join(", "))
        }
        Value::String(s) => quoted(s),
        Value::Number(n) if n.is_f64() && !n.to_string().contains(['.', 'e', 'E']) => format!("{n}.0"),
        other => other.to_string(),
    }
}

/// A string as a CEL string literal (JSON's escapes are CEL's).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// JSON Patch operations that add each of `pairs` to `metadata.FIELD` where it is absent.
fn set_absent(field: &str, pairs: &BTreeMap<String, String>) -> String {
    let whole: BTreeMap<&String, Value> = pairs.iter().map(|(k, v)| (k, Value::String(v.clone()))).collect();
    let whole = literal(&serde_json::to_value(whole).unwrap_or_default());
    let each: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let (k, v) = (quoted(k), quoted(v));
            format!(
                "({k} in object.metadata.{field} ? [] : [JSONPatch{{op: 'add', path: '/metadata/{field}/' + jsonpatch.escapeKey({k}), value: {v}}}])"
            )
        })
        .collect();
    format!(
        "has(object.metadata.{field}) ? {} : [JSONPatch{{op: 'add', path: '/metadata/{field}', value: {whole}}}]",
        each.join(" + ")
    )
}

/// The segments of a pointer of field names.
fn field_names(path: &str) -> Result<Vec<String>, String> {
    let rest = path.strip_prefix('/').filter(|r| !r.is_empty()).ok_or_else(|| {
        format!("`setDefault.path` `{path}` is not a JSON pointer of field names, e.g. `/spec/priorityClassName`")
    })?;
    let segments: Vec<String> = rest.split('/').map(crate::load::pointer::unescape_segment).collect();
    if let Some(bad) = segments.iter().find(|s| s.is_empty() || *s == "-" || s.parse::<usize>().is_ok() || *s == "*") {
        return Err(format!("`setDefault.path` `{path}` names `{bad}`, not a field: a default is set on fields only"));
    }
    Ok(segments)
}

/// JSON Patch operations that add `value` at `path` where the object has nothing, making the
/// fields on the way.
fn set_default(d: &DefaultSpec) -> Result<String, String> {
    let segments = field_names(&d.path)?;
    let mut source = "[]".to_owned();
    for depth in (0..segments.len()).rev() {
        let (before, after) = segments.split_at(depth);
        let mut value = d.value.clone();
        for name in after.iter().skip(1).rev() {
            value = Value::Object([(name.clone(), value)].into_iter().collect());
        }
        let parent: String = before.iter().map(|s| format!("[{}]", quoted(s))).collect();
        let pointer: String =
            segments.iter().take(depth + 1).map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1"))).collect();
        let name = after.first().map(|s| quoted(s)).unwrap_or_default();
        source = format!(
            "!({name} in object{parent}) ? [JSONPatch{{op: 'add', path: {}, value: {}}}] : {source}",
            quoted(&pointer),
            literal(&value)
        );
    }
    Ok(source)
}

/// The fields of a Kubernetes toleration.
const TOLERATION: [&str; 5] = ["key", "operator", "value", "effect", "tolerationSeconds"];

/// JSON Patch operations that add a toleration to a pod unless an equal one is there.
fn add_toleration(t: &Value) -> Result<String, String> {
    let Some(fields) = t.as_object().filter(|m| !m.is_empty()) else {
        return Err("`addToleration` is a toleration: a mapping of key, operator, value, effect".into());
    };
    if let Some(k) = fields.keys().find(|k| !TOLERATION.contains(&k.as_str())) {
        let help =
            crate::error::did_you_mean(k, TOLERATION).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
        return Err(format!("`addToleration` has no field `{k}`{help}"));
    }
    let t = literal(t);
    Ok(format!(
        "!has(object.spec) ? [] : !has(object.spec.tolerations) ? [JSONPatch{{op: 'add', path: '/spec/tolerations', value: [{t}]}}] : \
         object.spec.tolerations.exists(t, t == {t}) ? [] : [JSONPatch{{op: 'add', path: '/spec/tolerations/-', value: {t}}}]"
    ))
}

/// An apply configuration that pins each container image `params.PARAM` names to its digest.
fn pin_images(param: &str) -> Result<String, String> {
    if param.is_empty() || !param.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("`pinImages.param` `{param}` is not the name of a param"));
    }
    let lists: Vec<String> = crate::k8s::CONTAINER_LISTS
        .iter()
        .map(|list| {
            format!(
                "?{list}: has(object.spec.{list}) ? optional.of(object.spec.{list}.filter(c, has(c.image) && c.image in params.{param})\
                 .map(c, Object.spec.{list}{{name: c.name, image: c.image + '@' + params.{param}[c.image]}})) : optional.none()"
            )
        })
        .collect();
    Ok(format!("!has(object.spec) ? Object{{}} : Object{{spec: Object.spec{{{}}}}}", lists.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals_keep_their_values() {
        assert_eq!(literal(&json!({"a": [1, 2.5, "x\"y", null, true]})), r#"{"a": [1, 2.5, "x\"y", null, true]}"#);
    }

    #[test]
    fn a_default_is_set_on_fields_only() {
        let d = DefaultSpec { path: "/spec/containers/0/image".into(), value: json!("x") };
        assert!(set_default(&d).unwrap_err().contains("names `0`, not a field"));
        let d = DefaultSpec { path: "/spec/priorityClassName".into(), value: json!("low") };
        let source = set_default(&d).unwrap();
        assert!(
            source.starts_with(
                r#"!("spec" in object) ? [JSONPatch{op: 'add', path: "/spec", value: {"priorityClassName": "low"}}]"#
            ),
            "{source}"
        );
    }
}
