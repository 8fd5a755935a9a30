//! Parsing an expression once, for compiling it under more than one set of types.

use ::cel::common::ast::SourceInfo;
use ::cel::IdedExpr;

/// A parsed expression, for compiling it under more than one set of types.
pub(crate) struct Parsed {
    pub(super) source: String,
    pub(crate) expr: IdedExpr,
    pub(crate) info: SourceInfo,
}

fn parser() -> ::cel::parser::Parser {
    ::cel::parser::Parser::new().enable_optional_syntax(true).enable_ident_escape_syntax(true).max_recursion_depth(128)
}

/// Parses an expression.
pub(crate) fn parse(source: &str) -> Result<Parsed, (String, Option<String>)> {
    match parser().parse_with_source_info(source) {
        Ok((expr, info)) => Ok(Parsed { source: source.to_owned(), expr, info }),
        Err(e) => {
            let first = e.errors.first().map(|p| p.msg.clone()).unwrap_or_else(|| e.to_string());
            let text = e.to_string();
            let snippet: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
            Err((format!("invalid CEL expression: {first}"), Some(snippet.join("\n")).filter(|s| !s.is_empty())))
        }
    }
}

impl Parsed {
    /// The expression's text.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// The chains of fields the expression selects from the variable `root`
    /// (`inputs.ports[0].name` gives `["ports"]`; `inputs.db.host` and `inputs.?db.?host` give
    /// `["db", "host"]`), outermost first. Chains through an index stop there.
    pub(crate) fn field_chains(&self, root: &str) -> Vec<Vec<String>> {
        use ::cel::common::ast::{operators, Expr as Node, LiteralValue};
        fn chain(e: &IdedExpr, root: &str) -> Option<Vec<String>> {
            match &e.expr {
                Node::Ident(name) if name == root => Some(Vec::new()),
                Node::Select(s) => chain(&s.operand, root).map(|mut c| {
                    c.push(s.field.clone());
                    c
                }),
                Node::Call(c) if c.func_name == operators::OPT_SELECT => {
                    let [operand, field] = c.args.as_slice() else { return None };
                    let Node::Literal(LiteralValue::String(name)) = &field.expr else { return None };
                    chain(operand, root).map(|mut c| {
                        c.push(name.to_string());
                        c
                    })
                }
                _ => None,
            }
        }
        let mut out: Vec<Vec<String>> = Vec::new();
        visit(&self.expr, &mut |e| {
            let Some(c) = chain(e, root) else { return true };
            if !c.is_empty() && !out.iter().any(|o| o.starts_with(&c)) {
                out.retain(|o| !c.starts_with(o));
                out.push(c);
            }
            false
        });
        out
    }

    /// Every call of one of `functions` on the variable `root`
    /// (`inventory.list('apps/v1', 'Deployment')`): its first two arguments (`None` where they
    /// are not both string literals: what is read is only known as it runs), and whether what it
    /// returns may be read beyond its objects' `metadata` (see [`whole`]).
    pub(crate) fn calls_on(&self, root: &str, functions: &[&str]) -> Vec<Call> {
        use ::cel::common::ast::{Expr as Node, LiteralValue};
        let literal = |x: Option<&IdedExpr>| match x.map(|x| &x.expr) {
            Some(Node::Literal(LiteralValue::String(s))) => Some(s.to_string()),
            _ => None,
        };
        let mut out = Vec::new();
        visit(&self.expr, &mut |e| {
            if let Node::Call(call) = &e.expr {
                let on_root =
                    call.target.as_ref().is_some_and(|t| matches!(&t.expr, Node::Ident(name) if name == root));
                if on_root && functions.contains(&call.func_name.as_str()) {
                    let kind = literal(call.args.first()).zip(literal(call.args.get(1)));
                    // Matching by selector or by template reads the objects' other fields.
                    let matches = !["list", "get"].contains(&call.func_name.as_str());
                    out.push(Call { kind, whole: matches || whole(&self.expr, e.id) });
                }
            }
            true
        });
        out
    }
}

/// A call that reads the inventory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Call {
    /// `(apiVersion, kind)`, when both are literals.
    pub(crate) kind: Option<(String, String)>,
    /// Whether more than the objects' `metadata` may be read.
    pub(crate) whole: bool,
}

/// Whether what the node `id` of `root` gives (a list of objects, or an optional one) may be
/// read beyond its objects' `metadata`. It is not only when it is counted or tested for
/// presence (`.size()`, `size(x)`, `.hasValue()`), or iterated by a macro whose variable is read
/// only as `v.metadata` (`exists`, `all`, `map` whose function does). Anything else (kept in a
/// variable, filtered, handed to a function) counts as read whole.
fn whole(root: &IdedExpr, id: u64) -> bool {
    use ::cel::common::ast::{operators, Expr as Node, LiteralValue};
    let Some(parent) = parent_of(root, id) else { return true };
    match &parent.expr {
        Node::Call(c) if c.target.as_ref().is_some_and(|t| t.id == id) => {
            !["size", "hasValue"].contains(&c.func_name.as_str())
        }
        Node::Call(c) if c.target.is_none() && c.func_name == "size" => false,
        Node::Comprehension(c) if c.iter_range.id == id => {
            let vars: Vec<&str> = std::iter::once(c.iter_var.as_str()).chain(c.iter_var2.as_deref()).collect();
            let mut escapes = false;
            for part in [&c.loop_cond, &c.loop_step, &c.result] {
                visit(part, &mut |e| {
                    if matches!(&e.expr, Node::Ident(name) if vars.contains(&name.as_str())) {
                        let read_as = parent_of(part, e.id).map(|p| &p.expr);
                        escapes |= !match read_as {
                            Some(Node::Select(s)) => s.field == "metadata",
                            Some(Node::Call(o)) if o.func_name == operators::OPT_SELECT => {
                                let field = o.args.get(1).map(|a| &a.expr);
                                matches!(field, Some(Node::Literal(LiteralValue::String(f))) if f.to_string() == "metadata")
                            }
                            _ => false,
                        };
                    }
                    true
                });
            }
            escapes
        }
        _ => true,
    }
}

/// The node of `root` that `id` is directly part of.
fn parent_of(root: &IdedExpr, id: u64) -> Option<&IdedExpr> {
    let mut found = None;
    visit_with_parent(root, &mut |e, parent| {
        if e.id == id {
            found = parent;
        }
        found.is_none()
    });
    found
}

/// Visits `e` and what it is made of, depth first; `f` says whether to go into what it visits.
fn visit(e: &IdedExpr, f: &mut dyn FnMut(&IdedExpr) -> bool) {
    visit_with_parent(e, &mut |e, _| f(e));
}

/// [`visit`], telling `f` of each node's parent too.
fn visit_with_parent<'e>(e: &'e IdedExpr, f: &mut dyn FnMut(&'e IdedExpr, Option<&'e IdedExpr>) -> bool) {
    fn go<'e>(
        e: &'e IdedExpr,
        parent: Option<&'e IdedExpr>,
        f: &mut dyn FnMut(&'e IdedExpr, Option<&'e IdedExpr>) -> bool,
    ) {
        if f(e, parent) {
            for child in children(e) {
                go(child, Some(e), f);
            }
        }
    }
    go(e, None, f);
}

/// What `e` is directly made of, in order.
fn children(e: &IdedExpr) -> Vec<&IdedExpr> {
    use ::cel::common::ast::{EntryExpr, Expr as Node, IdedEntryExpr};
    fn entries(list: &[IdedEntryExpr]) -> Vec<&IdedExpr> {
        list.iter()
            .flat_map(|x| match &x.expr {
                EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
                EntryExpr::StructField(field) => vec![&field.value],
            })
            .collect()
    }
    match &e.expr {
        Node::Call(call) => call.target.iter().map(|t| &**t).chain(&call.args).collect(),
        Node::Comprehension(c) => vec![&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result],
        Node::List(l) => l.elements.iter().collect(),
        Node::Map(m) => entries(&m.entries),
        Node::Struct(st) => entries(&st.entries),
        Node::Select(s) => vec![&*s.operand],
        _ => Vec::new(),
    }
}
