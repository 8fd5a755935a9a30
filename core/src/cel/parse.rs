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

    /// The first two arguments of every call of one of `functions` on the variable `root`
    /// (`inventory.list('apps/v1', 'Deployment')` gives `('apps/v1', 'Deployment')`), each
    /// `None` where they are not both string literals: what is read is only known as it runs.
    pub(crate) fn calls_on(&self, root: &str, functions: &[&str]) -> Vec<Option<(String, String)>> {
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
                    out.push(literal(call.args.first()).zip(literal(call.args.get(1))));
                }
            }
            true
        });
        out
    }
}

/// Visits `e` and what it is made of, depth first; `f` says whether to go into what it visits.
fn visit(e: &IdedExpr, f: &mut dyn FnMut(&IdedExpr) -> bool) {
    use ::cel::common::ast::{EntryExpr, Expr as Node};
    if !f(e) {
        return;
    }
    let entries = |list: &[::cel::common::ast::IdedEntryExpr], f: &mut dyn FnMut(&IdedExpr) -> bool| {
        for x in list {
            match &x.expr {
                EntryExpr::MapEntry(me) => {
                    visit(&me.key, f);
                    visit(&me.value, f);
                }
                EntryExpr::StructField(field) => visit(&field.value, f),
            }
        }
    };
    match &e.expr {
        Node::Call(call) => call.target.iter().map(|t| &**t).chain(&call.args).for_each(|x| visit(x, f)),
        Node::Comprehension(c) => {
            for part in [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                visit(part, f);
            }
        }
        Node::List(l) => l.elements.iter().for_each(|x| visit(x, f)),
        Node::Map(m) => entries(&m.entries, f),
        Node::Struct(st) => entries(&st.entries, f),
        Node::Select(s) => visit(&s.operand, f),
        _ => {}
    }
}
