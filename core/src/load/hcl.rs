//! Terraform configuration (`.tf` files) read directly, for the checks that need no plan: a
//! pre-commit hook checks the same documents, with the same policies, that CI checks again on
//! the plan. Each `resource` block is a document shaped as a plan's resource change is (see
//! [`terraform`](super::terraform)); each `module` call one of kind `module`.
//!
//! What a plan would compute is resolved statically where it can be: literals, variables with
//! their defaults (or `terraform.tfvars` and `*.auto.tfvars` beside them), locals, string
//! templates, `jsonencode` and a few conversions of known values, the provider's `default_tags`
//! and region. Anything else (a reference to another resource, a data source, a function paved
//! does not evaluate) is the [`unknown`](super::unknown::unknown) marker, as a plan's values
//! known only after apply are, and the attribute's references are kept as a plan keeps them.

use std::collections::BTreeMap;
use std::sync::Arc;

use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Block, Body};
use hcl_edit::template::{Element, Template};
use hcl_edit::Span;
use serde_json::{json, Map, Value};

use super::origin::{Origin, Sourced};
use super::unknown::{is_unknown, unknown};
use super::yaml::{Pos, Spans};
use crate::error::Diagnostic;

/// Block arguments of every resource that configure Terraform, not the resource.
const META: &[&str] = &["count", "for_each", "provider", "depends_on", "lifecycle", "connection", "provisioner"];

/// How deep locals may refer to locals, and expressions nest, before the value is unknown.
const MAX_DEPTH: usize = 64;

/// The most instances a `count` or `for_each` makes documents of.
const MAX_INSTANCES: u64 = 1000;

/// The most of a sibling `.tf` or `.tfvars` file read for variables, locals and providers.
const MAX_CONTEXT_BYTES: u64 = 4 << 20;

/// The documents of one `.tf` file: its resources and module calls, with what its module's
/// other files (variables, locals, providers) and tfvars say.
pub(crate) fn read(file: &str, text: &str) -> Result<Vec<Sourced>, Diagnostic> {
    let body = parse(file, text)?;
    let siblings = siblings(file);
    let mut context = Context::default();
    for b in siblings.iter().map(|(_, b)| b).chain(std::iter::once(&body)) {
        context.learn(b);
    }
    for (name, b) in &siblings {
        if name.ends_with(".tfvars") {
            context.assign(b);
        }
    }
    let lines = Lines::new(text);
    let file: Arc<str> = Arc::from(file);
    let mut out = Vec::new();
    for block in body.blocks() {
        let docs = match (block.ident.as_str(), labels(block).as_slice()) {
            ("resource", [kind, name]) => context
                .instances(block)
                .into_iter()
                .map(|(key, each)| each.resource(block, kind, &format!("{name}{key}")))
                .collect(),
            ("module", [name]) => vec![context.module(block, name)],
            _ => continue,
        };
        out.extend(
            docs.into_iter().map(|d| Sourced { value: d.value, origin: origin(&file, &lines, block, &d.places) }),
        );
    }
    Ok(out)
}

/// The `resource "TYPE" "NAME"` blocks of a `.tf` text, with the line each starts at; none
/// when the text is not HCL. Where a plan's findings point.
pub(super) fn resource_blocks(text: &str) -> Vec<(String, String, u32)> {
    let Ok(body) = hcl_edit::parser::parse_body(text) else { return Vec::new() };
    let lines = Lines::new(text);
    body.blocks()
        .filter_map(|b| match (b.ident.as_str(), labels(b).as_slice()) {
            ("resource", [kind, name]) => {
                Some(((*kind).to_owned(), (*name).to_owned(), lines.pos(b.span().map_or(0, |s| s.start)).line))
            }
            _ => None,
        })
        .collect()
}

/// Parses HCL, or says where it is not.
fn parse(file: &str, text: &str) -> Result<Body, Diagnostic> {
    hcl_edit::parser::parse_body(text).map_err(|e| Diagnostic {
        file: Arc::from(file),
        line: u32::try_from(e.location().line()).unwrap_or(u32::MAX),
        column: u32::try_from(e.location().column()).unwrap_or(u32::MAX),
        pointer: None,
        message: format!("invalid HCL: {}", e.message()),
        help: Some("the file should be Terraform configuration, as `terraform validate` reads it".into()),
    })
}

/// The other `.tf` files of the module (the file's directory), and its `terraform.tfvars` and
/// `*.auto.tfvars`, parsed; ones that are not regular files, too large or not HCL are left
/// out (they are reported when they are read themselves).
fn siblings(file: &str) -> Vec<(String, Body)> {
    if file == "<stdin>" {
        return Vec::new();
    }
    let path = std::path::Path::new(file);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<std::path::PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.file_name() != path.file_name())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            name.ends_with(".tf") || name == "terraform.tfvars" || name.ends_with(".auto.tfvars")
        })
        .collect();
    paths.sort();
    paths
        .into_iter()
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() <= MAX_CONTEXT_BYTES))
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let body = hcl_edit::parser::parse_body(&text).ok()?;
            Some((p.file_name()?.to_string_lossy().into_owned(), body))
        })
        .collect()
}

fn labels(block: &Block) -> Vec<&str> {
    block.labels.iter().map(|l| l.as_str()).collect()
}

/// What a module's files say that its resources' values depend on.
#[derive(Default, Clone)]
struct Context {
    variables: BTreeMap<String, Value>,
    locals: BTreeMap<String, Expression>,
    /// The default (unaliased) provider configurations, by provider name: region and default
    /// tags.
    providers: BTreeMap<String, (Option<String>, Option<Value>)>,
    /// `count.index`, or `each.key` and `each.value`, in one instance of a resource.
    instance: BTreeMap<&'static str, Value>,
}

/// A document made of a block, and where each of its pointers was written (byte offsets).
struct Made {
    value: Value,
    places: Vec<(String, usize)>,
}

impl Context {
    /// Learns the variables' defaults, the locals and the providers of a file.
    fn learn(&mut self, body: &Body) {
        for block in body.blocks() {
            match (block.ident.as_str(), labels(block).as_slice()) {
                ("variable", [name]) => {
                    let default = block.body.get_attribute("default").map(|a| self.eval(&a.value, &mut Vec::new(), 0));
                    self.variables.insert((*name).to_owned(), default.unwrap_or_else(unknown));
                }
                ("locals", []) => {
                    for a in block.body.attributes() {
                        self.locals.insert(a.key.as_str().to_owned(), a.value.clone());
                    }
                }
                ("provider", [name]) if block.body.get_attribute("alias").is_none() => {
                    let region = block.body.get_attribute("region").map(|a| self.eval(&a.value, &mut Vec::new(), 0));
                    let tags = block
                        .body
                        .get_blocks("default_tags")
                        .next()
                        .and_then(|d| d.body.get_attribute("tags"))
                        .map(|a| self.eval(&a.value, &mut Vec::new(), 0));
                    let region = region.and_then(|r| r.as_str().map(str::to_owned));
                    self.providers.insert((*name).to_owned(), (region, tags));
                }
                _ => {}
            }
        }
    }

    /// Takes the values a tfvars file assigns to variables.
    fn assign(&mut self, body: &Body) {
        for a in body.attributes() {
            let v = self.eval(&a.value, &mut Vec::new(), 0);
            self.variables.insert(a.key.as_str().to_owned(), v);
        }
    }

    /// The instances a block's `count` or `for_each` makes, as a plan names them (`[0]`,
    /// `["a"]`), each with the context its expressions see; one, named as the block, when it has
    /// neither or their value is unknown.
    fn instances(&self, block: &Block) -> Vec<(String, Context)> {
        let with =
            |pairs: Vec<(&'static str, Value)>| Context { instance: pairs.into_iter().collect(), ..self.clone() };
        let meta = |key: &str| block.body.get_attribute(key).map(|a| self.eval(&a.value, &mut Vec::new(), 0));
        match (meta("count"), meta("for_each")) {
            (Some(Value::Number(n)), _) => {
                let n = n.as_u64().unwrap_or(0).min(MAX_INSTANCES);
                (0..n).map(|i| (format!("[{i}]"), with(vec![("count.index", Value::from(i))]))).collect()
            }
            (_, Some(Value::Object(m))) => m
                .into_iter()
                .take(usize::try_from(MAX_INSTANCES).unwrap_or(usize::MAX))
                .map(|(k, v)| {
                    (
                        format!("[{}]", Value::String(k.clone())),
                        with(vec![("each.key", Value::String(k)), ("each.value", v)]),
                    )
                })
                .collect(),
            (_, Some(Value::Array(items))) => items
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .take(usize::try_from(MAX_INSTANCES).unwrap_or(usize::MAX))
                .map(|k| {
                    let key = Value::String(k);
                    (format!("[{key}]"), with(vec![("each.key", key.clone()), ("each.value", key)]))
                })
                .collect(),
            _ => vec![(String::new(), self.clone())],
        }
    }

    /// A `resource "TYPE" "NAME"` block as a plan's resource change reads.
    fn resource(&self, block: &Block, kind: &str, name: &str) -> Made {
        let mut places = vec![(String::new(), block.span().map_or(0, |s| s.start))];
        let mut refs = Map::new();
        let mut values = self.body(&block.body, "/values", &mut places, &mut refs);
        let provider = block
            .body
            .get_attribute("provider")
            .and_then(|a| traversal(&a.value))
            .and_then(|t| t.split('.').next().map(str::to_owned))
            .unwrap_or_else(|| kind.split('_').next().unwrap_or(kind).to_owned());
        let (region, default_tags) = self.providers.get(&provider).cloned().unwrap_or_default();
        // The provider's default tags join the resource's own, as `tags_all` in a plan; only on
        // a resource that writes `tags` (without the provider's schema, whether one that does not
        // takes tags is unknown here).
        if let (Some(Value::Object(mut all)), Some(o)) = (default_tags, values.as_object_mut()) {
            let merged = match o.get("tags") {
                Some(Value::Object(tags)) => {
                    all.extend(tags.clone());
                    Some(Value::Object(all))
                }
                Some(t) if is_unknown(t) => Some(unknown()),
                _ => None,
            };
            if let Some(merged) = merged {
                o.insert("tags_all".into(), merged);
            }
        }
        let configured: Vec<String> = block
            .body
            .iter()
            .filter_map(|s| s.as_attribute().map(|a| a.key.as_str()).or_else(|| s.as_block().map(|b| b.ident.as_str())))
            .filter(|k| !META.contains(k))
            .map(str::to_owned)
            .collect();
        let address = format!("{kind}.{name}");
        let mut terraform = json!({
            "address": address, "module": "", "mode": "managed", "type": kind, "name": name,
            "provider": provider, "configured": configured, "references": refs,
        });
        if let (Some(r), Some(t)) = (region, terraform.as_object_mut()) {
            t.insert("region".into(), Value::String(r));
        }
        let value = json!({
            "apiVersion": format!("{}/{provider}", super::cloud::TERRAFORM),
            "kind": kind,
            "metadata": super::cloud::metadata(&address, &values),
            "values": values,
            "terraform": terraform,
        });
        Made { value, places }
    }

    /// A `module "NAME"` call: its source, version and inputs.
    fn module(&self, block: &Block, name: &str) -> Made {
        let mut places = vec![(String::new(), block.span().map_or(0, |s| s.start))];
        let mut refs = Map::new();
        let values = self.body(&block.body, "/values", &mut places, &mut refs);
        let address = format!("module.{name}");
        let value = json!({
            "apiVersion": format!("{}/module", super::cloud::TERRAFORM),
            "kind": "module",
            "metadata": { "name": address },
            "values": values,
            "terraform": { "address": address, "module": "", "mode": "module", "name": name, "references": refs },
        });
        Made { value, places }
    }

    /// A block's body as a plan writes its values: attributes by name, nested blocks as lists of
    /// objects; the meta-arguments left out. `dynamic` blocks are unknown.
    fn body(&self, body: &Body, at: &str, places: &mut Vec<(String, usize)>, refs: &mut Map<String, Value>) -> Value {
        let mut out = Map::new();
        for a in body.attributes().filter(|a| !META.contains(&a.key.as_str())) {
            let key = a.key.as_str();
            let mut found = Vec::new();
            out.insert(key.to_owned(), self.eval(&a.value, &mut found, 0));
            places.push((format!("{at}/{}", super::pointer::escape_segment(key)), a.span().map_or(0, |s| s.start)));
            if !found.is_empty() && at == "/values" {
                refs.insert(key.to_owned(), Value::Array(found.into_iter().map(Value::String).collect()));
            }
        }
        for b in body.blocks().filter(|b| !META.contains(&b.ident.as_str())) {
            let (key, value) = match (b.ident.as_str(), labels(b).as_slice()) {
                ("dynamic", [name]) => ((*name).to_owned(), None),
                (ident, _) => (ident.to_owned(), Some(b)),
            };
            let list = out.entry(key.clone()).or_insert_with(|| Value::Array(Vec::new()));
            let here = format!("{at}/{}", super::pointer::escape_segment(&key));
            match (value, list) {
                (None, slot) => *slot = unknown(),
                (Some(b), Value::Array(items)) => {
                    let item = format!("{here}/{}", items.len());
                    places.push((item.clone(), b.span().map_or(0, |s| s.start)));
                    items.push(self.body(&b.body, &item, places, refs));
                }
                _ => {}
            }
        }
        Value::Object(out)
    }

    /// An expression's value when it can be known without a plan; the unknown marker when not.
    /// The resources, data sources and modules it refers to are added to `refs`, as a plan's
    /// configuration lists them.
    fn eval(&self, e: &Expression, refs: &mut Vec<String>, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return unknown();
        }
        let next = depth + 1;
        match e {
            Expression::Null(_) => Value::Null,
            Expression::Bool(b) => Value::Bool(*b.value()),
            Expression::Number(n) => {
                let n = n.value();
                n.as_i64().map(Value::from).or_else(|| n.as_f64().map(Value::from)).unwrap_or(Value::Null)
            }
            Expression::String(s) => Value::String(s.value().clone()),
            Expression::Array(a) => Value::Array(a.iter().map(|x| self.eval(x, refs, next)).collect()),
            Expression::Object(o) => {
                let mut out = Map::new();
                for (k, v) in o.iter() {
                    let key = match k {
                        ObjectKey::Ident(i) => Value::String(i.as_str().to_owned()),
                        ObjectKey::Expression(x) => self.eval(x, refs, next),
                    };
                    match key {
                        Value::String(key) => {
                            out.insert(key, self.eval(v.expr(), refs, next));
                        }
                        _ => return unknown(),
                    }
                }
                Value::Object(out)
            }
            Expression::StringTemplate(t) => self.template(t, refs, next),
            Expression::HeredocTemplate(h) => self.template(&h.template, refs, next),
            Expression::Parenthesis(p) => self.eval(p.inner(), refs, next),
            Expression::Conditional(c) => match self.eval(&c.cond_expr, refs, next) {
                Value::Bool(true) => self.eval(&c.true_expr, refs, next),
                Value::Bool(false) => self.eval(&c.false_expr, refs, next),
                _ => {
                    self.eval(&c.true_expr, refs, next);
                    self.eval(&c.false_expr, refs, next);
                    unknown()
                }
            },
            Expression::FuncCall(f) => self.call(f, refs, next),
            Expression::Traversal(_) | Expression::Variable(_) => self.reference(e, refs, next),
            Expression::UnaryOp(_) | Expression::BinaryOp(_) | Expression::ForExpr(_) => unknown(),
        }
    }

    /// A template's string when every part of it is known.
    fn template(&self, t: &Template, refs: &mut Vec<String>, depth: usize) -> Value {
        let mut out = String::new();
        let mut known = true;
        for element in t.iter() {
            match element {
                Element::Literal(s) => out.push_str(s.value()),
                Element::Interpolation(i) => match self.eval(&i.expr, refs, depth) {
                    Value::String(s) => out.push_str(&s),
                    v @ (Value::Number(_) | Value::Bool(_)) => out.push_str(&v.to_string()),
                    _ => known = false,
                },
                Element::Directive(_) => known = false,
            }
        }
        if known {
            Value::String(out)
        } else {
            unknown()
        }
    }

    /// The functions whose result on known values paved computes as Terraform does.
    fn call(&self, f: &hcl_edit::expr::FuncCall, refs: &mut Vec<String>, depth: usize) -> Value {
        let args: Vec<Value> = f.args.iter().map(|a| self.eval(a, refs, depth)).collect();
        if !f.name.namespace.is_empty() || args.iter().any(contains_unknown) {
            return unknown();
        }
        match (f.name.name.as_str(), args.as_slice()) {
            ("jsonencode", [v]) => serde_json::to_string(&sorted(v.clone())).map_or_else(|_| unknown(), Value::String),
            ("tolist" | "toset" | "tomap", [v]) => v.clone(),
            ("lower", [Value::String(s)]) => Value::String(s.to_lowercase()),
            ("upper", [Value::String(s)]) => Value::String(s.to_uppercase()),
            ("merge", maps) if maps.iter().all(Value::is_object) => {
                let mut out = Map::new();
                maps.iter().filter_map(Value::as_object).for_each(|m| out.extend(m.clone()));
                Value::Object(out)
            }
            _ => unknown(),
        }
    }

    /// `var.x`, `local.y` and what follows them; anything else refers to something only a plan
    /// knows: recorded, and unknown.
    fn reference(&self, e: &Expression, refs: &mut Vec<String>, depth: usize) -> Value {
        let Some(path) = traversal(e) else { return unknown() };
        let parts: Vec<&str> = path.split('.').collect();
        let instance = parts.get(..2).map(|p| p.join(".")).and_then(|k| self.instance.get(k.as_str()));
        if let Some(v) = instance {
            return descend(v.clone(), parts.get(2..).unwrap_or_default());
        }
        let (root, rest) = match parts.as_slice() {
            ["var", name, rest @ ..] => (self.variables.get(*name).cloned().unwrap_or_else(unknown), rest),
            ["local", name, rest @ ..] => {
                let value = self.locals.get(*name).map_or_else(unknown, |x| self.eval(x, refs, depth + 1));
                (value, rest)
            }
            _ => {
                let kept = match parts.as_slice() {
                    ["data" | "module", ..] => parts.len().min(3),
                    ["count" | "each" | "path" | "terraform" | "self", ..] => 0,
                    _ => parts.len().min(2),
                };
                if kept > 0 {
                    refs.push(path.clone());
                    let base = parts.get(..kept).unwrap_or_default().join(".");
                    if base != path {
                        refs.push(base);
                    }
                }
                return unknown();
            }
        };
        descend(root, rest)
    }
}

/// The value at the keys of a traversal's rest (`var.tags.owner` after `var.tags`).
fn descend(root: Value, keys: &[&str]) -> Value {
    keys.iter().fold(root, |v, key| match v {
        Value::Object(mut m) => m.remove(*key).unwrap_or(Value::Null),
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.into_iter().nth(i)).unwrap_or(Value::Null),
        other if is_unknown(&other) => other,
        _ => Value::Null,
    })
}

/// A traversal as text (`aws_s3_bucket.logs.id`, `var.tags.owner`, `local.list.0`), when its
/// steps are names and literal indexes.
fn traversal(e: &Expression) -> Option<String> {
    match e {
        Expression::Variable(v) => Some(v.as_str().to_owned()),
        Expression::Traversal(t) => {
            let mut out = traversal(&t.expr)?;
            for op in &t.operators {
                match op.value() {
                    TraversalOperator::GetAttr(name) => out.push_str(&format!(".{}", name.as_str())),
                    TraversalOperator::LegacyIndex(i) => out.push_str(&format!(".{}", i.value())),
                    TraversalOperator::Index(Expression::Number(n)) => out.push_str(&format!(".{}", n.value())),
                    TraversalOperator::Index(Expression::String(s)) => out.push_str(&format!(".{}", s.value())),
                    _ => return Some(out),
                }
            }
            Some(out)
        }
        _ => None,
    }
}

fn contains_unknown(v: &Value) -> bool {
    match v {
        _ if is_unknown(v) => true,
        Value::Array(a) => a.iter().any(contains_unknown),
        Value::Object(m) => m.values().any(contains_unknown),
        _ => false,
    }
}

/// A value with its objects' keys in order, as Terraform's `jsonencode` writes them.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut pairs: Vec<(String, Value)> = m.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(pairs.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Byte offsets to lines and columns.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        Lines(std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect())
    }

    fn pos(&self, offset: usize) -> Pos {
        let line = self.0.partition_point(|&start| start <= offset);
        let start = self.0.get(line.saturating_sub(1)).copied().unwrap_or(0);
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(offset.saturating_sub(start) + 1).unwrap_or(u32::MAX),
        }
    }
}

/// Where the document's pointers were written: the block for the document, each attribute and
/// nested block for its values.
fn origin(file: &Arc<str>, lines: &Lines, block: &Block, places: &[(String, usize)]) -> Origin {
    let start = block.span().map_or(0, |s| s.start);
    let mut spans = Spans::default();
    spans.insert("", lines.pos(start));
    for (pointer, offset) in places {
        spans.insert(pointer, lines.pos(*offset));
    }
    Origin { file: file.clone(), spans: Arc::new(spans), ..Origin::default() }
}
