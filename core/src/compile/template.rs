//! Structured templates: YAML values whose strings may hold `${{ expr }}`, with `$if` and
//! `$each` directives. Output is built as values, never as text, so it is always well formed.

use serde_json::{Map, Value};

use crate::cel::{self, Activation, Decls, Program as Expr, Ty, Want};

/// The variables every template expression may use.
const VARIABLES: &[&str] = &["inputs", "path"];

/// What opens and closes an expression in a template string: `${{ inputs.name }}`.
const OPEN: &str = "${{";
const CLOSE: &str = "}}";

/// A compiled template node.
#[derive(Debug)]
pub(crate) enum Node {
    /// A value with no expression in it.
    Literal(Value),
    /// A string that is exactly one expression: the result keeps its type.
    Whole(Expr),
    /// A string with expressions inside: the results are written into it.
    Text(Vec<Part>),
    /// A mapping, left out where `cond` is false.
    Map { entries: Vec<(String, Node)>, cond: Option<Expr> },
    /// `{$if: cond, $value: value}`: any value, left out where `cond` is false.
    Cond { cond: Expr, value: Box<Node> },
    /// A list.
    List(Vec<Item>),
}

/// Part of an interpolated string.
#[derive(Debug)]
pub(crate) enum Part {
    Lit(String),
    Expr(Expr),
}

/// A list item or document, repeated for each element of `each` (bound to its `$as` name, the
/// variable after the enclosing ones).
#[derive(Debug)]
pub(crate) struct Item {
    pub node: Node,
    pub each: Option<Expr>,
}

/// A problem in a template: where (JSON pointer inside the template), what, and how to fix it.
pub(crate) type Problem = (String, String, Option<String>);

/// The problems found while compiling templates, and the inputs schema their expressions'
/// `inputs.X` are checked against.
pub(crate) struct Problems<'s> {
    pub list: Vec<Problem>,
    pub inputs: &'s Value,
}

impl Problems<'_> {
    fn push(&mut self, p: Problem) {
        self.list.push(p);
    }
}

/// Compiles a list item or document. `bound` are the `$as` names in scope.
pub(crate) fn item(v: &Value, at: &str, bound: &[String], out: &mut Problems<'_>) -> Option<Item> {
    let Some(m) = v.as_object().filter(|m| m.contains_key("$each")) else {
        return node(v, at, bound, out).map(|node| Item { node, each: None });
    };
    let name = match m.get("$as") {
        None => "item".to_owned(),
        Some(Value::String(s)) if is_ident(s) => s.clone(),
        Some(_) => {
            out.push((format!("{at}/$as"), "`$as` must be a name such as `port`".into(), None));
            return None;
        }
    };
    let each = match m.get("$each") {
        Some(Value::String(s)) => expression(strip(s), &format!("{at}/$each"), bound, out)?,
        _ => {
            out.push((format!("{at}/$each"), "`$each` must be a CEL expression giving a list".into(), None));
            return None;
        }
    };
    let mut rest = m.clone();
    rest.remove("$each");
    rest.remove("$as");
    let mut inner = bound.to_vec();
    inner.push(name.clone());
    // `$value` repeats a scalar or list rather than a mapping.
    let body = match rest.remove("$value") {
        Some(v) if rest.is_empty() => v,
        Some(_) => {
            out.push((at.into(), "`$value` cannot sit beside other keys".into(), None));
            return None;
        }
        None => Value::Object(rest),
    };
    node(&body, at, &inner, out).map(|node| Item { node, each: Some(each) })
}

fn node(v: &Value, at: &str, bound: &[String], out: &mut Problems<'_>) -> Option<Node> {
    match v {
        Value::String(s) => string(s, at, bound, out),
        Value::Array(a) => {
            let items: Vec<Option<Item>> =
                a.iter().enumerate().map(|(i, x)| item(x, &format!("{at}/{i}"), bound, out)).collect();
            items.into_iter().collect::<Option<Vec<_>>>().map(Node::List)
        }
        Value::Object(m) => {
            let mut cond = match m.get("$if") {
                None => None,
                Some(Value::String(s)) => Some(expression(strip(s), &format!("{at}/$if"), bound, out)?),
                Some(_) => {
                    out.push((format!("{at}/$if"), "`$if` must be a CEL expression giving a bool".into(), None));
                    return None;
                }
            };
            if let (Some(value), 2) = (m.get("$value"), m.len()) {
                if let Some(cond) = cond.take() {
                    let value = node(value, &format!("{at}/$value"), bound, out)?;
                    return Some(Node::Cond { cond, value: Box::new(value) });
                }
            }
            let mut entries = Vec::new();
            let mut ok = true;
            for (k, v) in m.iter().filter(|(k, _)| k.as_str() != "$if") {
                let here = format!("{at}/{}", crate::load::pointer::escape_segment(k));
                if k.starts_with('$') {
                    let help = if matches!(k.as_str(), "$each" | "$as" | "$value") {
                        "`$each` repeats list items and documents; wrap this mapping in a list"
                    } else {
                        "the directives are `$if`, `$each`, `$as` and `$value`"
                    };
                    out.push((here, format!("`{k}` is not a directive here"), Some(help.into())));
                    ok = false;
                } else if k.contains(OPEN) {
                    out.push((here, "keys cannot hold expressions".into(), Some("use a literal key".into())));
                    ok = false;
                } else {
                    match node(v, &here, bound, out) {
                        Some(n) => entries.push((k.clone(), n)),
                        None => ok = false,
                    }
                }
            }
            ok.then_some(Node::Map { entries, cond })
        }
        other => Some(Node::Literal(other.clone())),
    }
}

fn string(s: &str, at: &str, bound: &[String], out: &mut Problems<'_>) -> Option<Node> {
    if !s.contains(OPEN) {
        return Some(Node::Literal(Value::String(s.to_owned())));
    }
    let mut parts = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find(OPEN) {
        if start > 0 {
            parts.push(Part::Lit(rest.get(..start).unwrap_or_default().to_owned()));
        }
        let after = rest.get(start + 3..).unwrap_or_default();
        let Some(end) = after.find(CLOSE) else {
            out.push((at.into(), format!("`${{{{` without a closing `}}}}` in \"{s}\""), None));
            return None;
        };
        parts.push(Part::Expr(expression(after.get(..end).unwrap_or_default().trim(), at, bound, out)?));
        rest = after.get(end + 2..).unwrap_or_default();
    }
    if !rest.is_empty() {
        parts.push(Part::Lit(rest.to_owned()));
    }
    match parts.as_slice() {
        [Part::Expr(_)] => match parts.pop() {
            Some(Part::Expr(e)) => Some(Node::Whole(e)),
            _ => None,
        },
        _ => Some(Node::Text(parts)),
    }
}

/// `${{ x }}` or `x`: directives may be written either way.
fn strip(s: &str) -> &str {
    let t = s.trim();
    t.strip_prefix(OPEN).and_then(|x| x.strip_suffix(CLOSE)).map_or(t, str::trim)
}

fn expression(src: &str, at: &str, bound: &[String], out: &mut Problems<'_>) -> Option<Expr> {
    let roots: Vec<(&str, Ty)> =
        VARIABLES.iter().copied().chain(bound.iter().map(String::as_str)).map(|n| (n, Ty::Dyn)).collect();
    let parsed = cel::parse(src).map_err(|(m, h)| out.push((at.into(), m, h))).ok()?;
    let e = parsed
        .compile(&Decls { roots: &roots, variables: None, functions: &[], form: crate::cel::Form::Paved }, Want::Any)
        .map_err(|(m, h)| out.push((at.into(), m, h)))
        .ok()?;
    for chain in parsed.field_chains("inputs") {
        if let Some((field, known)) = unknown_input(out.inputs, &chain) {
            let help = match crate::error::did_you_mean(&field, known.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("the inputs here are: {}", known.join(", ")),
            };
            let path = chain.iter().take_while(|c| **c != field).chain([&field]).cloned().collect::<Vec<_>>().join(".");
            out.push((at.into(), format!("`inputs.{path}` is not in the golden path's inputs schema"), Some(help)));
            return None;
        }
    }
    Some(e)
}

/// The first field of `chain` the inputs schema does not declare, with the fields it does
/// declare there; `None` when every field is declared, or where the schema leaves its fields
/// open (no `properties`, or `additionalProperties` allowed).
fn unknown_input(schema: &Value, chain: &[String]) -> Option<(String, Vec<String>)> {
    let mut node = schema;
    for field in chain {
        let props = node.get("properties").and_then(Value::as_object)?;
        match props.get(field) {
            Some(next) => node = next,
            None if node.get("additionalProperties").is_some_and(|a| a != &Value::Bool(false)) => return None,
            None => return Some((field.clone(), props.keys().cloned().collect())),
        }
    }
    None
}

fn is_ident(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !VARIABLES.contains(&s)
}

/// Where a render failed and why.
pub(crate) type Failure = (String, String);

/// Renders a list item or document into `out` (nothing where `$if` is false, several where
/// `$each` repeats it).
pub(crate) fn render_item<'a>(
    it: &'a Item,
    at: &str,
    scope: &Activation<'a>,
    out: &mut Vec<Value>,
) -> Result<(), Failure> {
    let Some(each) = &it.each else {
        if let Some(v) = render(&it.node, at, scope)? {
            out.push(v);
        }
        return Ok(());
    };
    let list = match each.eval(scope) {
        Ok(cel::Value::List(l)) => l,
        Ok(other) => {
            return Err((at.into(), format!("`$each: {}` gave a {}, not a list", each.source, other.type_name())))
        }
        Err(e) => return Err((at.into(), format!("`$each: {}` failed: {e}", each.source))),
    };
    for element in list.iter() {
        let mut roots = scope.roots.clone();
        roots.push(element);
        let inner = Activation::new(roots, &[], &[]);
        if let Some(v) = render(&it.node, at, &inner)? {
            out.push(v);
        }
    }
    Ok(())
}

/// Renders a node; `None` where a `$if` left it out.
fn render<'a>(n: &'a Node, at: &str, scope: &Activation<'a>) -> Result<Option<Value>, Failure> {
    Ok(Some(match n {
        Node::Literal(v) => v.clone(),
        Node::Whole(e) => json(&run(e, at, scope)?).map_err(|m| (at.to_owned(), m))?,
        Node::Text(parts) => {
            let mut s = String::new();
            for p in parts {
                match p {
                    Part::Lit(l) => s.push_str(l),
                    Part::Expr(e) => match json(&run(e, at, scope)?).map_err(|m| (at.to_owned(), m))? {
                        Value::String(x) => s.push_str(&x),
                        Value::Null => {}
                        other => s.push_str(&other.to_string()),
                    },
                }
            }
            Value::String(s)
        }
        Node::Cond { cond, value } => match holds(cond, at, scope)? {
            true => return render(value, at, scope),
            false => return Ok(None),
        },
        Node::Map { entries, cond } => {
            if let Some(c) = cond {
                if !holds(c, at, scope)? {
                    return Ok(None);
                }
            }
            let mut m = Map::new();
            for (k, v) in entries {
                let here = format!("{at}/{}", crate::load::pointer::escape_segment(k));
                if let Some(v) = render(v, &here, scope)? {
                    m.insert(k.clone(), v);
                }
            }
            Value::Object(m)
        }
        Node::List(items) => {
            let mut out = Vec::new();
            for (i, it) in items.iter().enumerate() {
                render_item(it, &format!("{at}/{i}"), scope, &mut out)?;
            }
            Value::Array(out)
        }
    }))
}

/// Whether a `$if` holds.
fn holds<'a>(c: &'a Expr, at: &str, scope: &Activation<'a>) -> Result<bool, Failure> {
    match run(c, at, scope)? {
        cel::Value::Bool(b) => Ok(b),
        other => Err((at.into(), format!("`$if: {}` gave a {}, not a bool", c.source, other.type_name()))),
    }
}

fn run<'a>(e: &'a Expr, at: &str, scope: &Activation<'a>) -> Result<cel::Value<'a>, Failure> {
    e.eval(scope).map_err(|err| (at.into(), format!("`{}` failed: {err}", e.source)))
}

/// A CEL value as JSON, maps sorted by key (CEL maps have no order; output must be stable).
fn json(v: &cel::Value<'_>) -> Result<Value, String> {
    v.to_json().map(sorted).map_err(|e| format!("{e}: it cannot be written into a manifest"))
}

/// Keys sorted recursively, so the order the developer wrote them in changes nothing.
pub(crate) fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}
