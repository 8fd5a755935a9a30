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
        use ::cel::common::ast::{operators, EntryExpr, Expr as Node, LiteralValue};
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
        fn walk(e: &IdedExpr, root: &str, out: &mut Vec<Vec<String>>) {
            if let Some(c) = chain(e, root) {
                if !c.is_empty() && !out.iter().any(|o| o.starts_with(&c)) {
                    out.retain(|o| !c.starts_with(o));
                    out.push(c);
                }
                return;
            }
            match &e.expr {
                Node::Call(call) => {
                    call.target.iter().for_each(|t| walk(t, root, out));
                    call.args.iter().for_each(|a| walk(a, root, out));
                }
                Node::Comprehension(c) => {
                    for part in [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                        walk(part, root, out);
                    }
                }
                Node::List(l) => l.elements.iter().for_each(|x| walk(x, root, out)),
                Node::Map(m) => m.entries.iter().for_each(|x| {
                    if let EntryExpr::MapEntry(me) = &x.expr {
                        walk(&me.key, root, out);
                        walk(&me.value, root, out);
                    }
                }),
                Node::Select(s) => walk(&s.operand, root, out),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.expr, root, &mut out);
        out
    }

    /// The first two arguments of every call of one of `functions` on the variable `root`
    /// (`inventory.list('apps/v1', 'Deployment')` gives `('apps/v1', 'Deployment')`), each
    /// `None` where they are not both string literals: what is read is only known as it runs.
    pub(crate) fn calls_on(&self, root: &str, functions: &[&str]) -> Vec<Option<(String, String)>> {
        use ::cel::common::ast::{EntryExpr, Expr as Node, LiteralValue};
        fn walk(
            e: &IdedExpr,
            at: &dyn Fn(&::cel::common::ast::CallExpr) -> bool,
            out: &mut Vec<Option<(String, String)>>,
        ) {
            let literal = |x: Option<&IdedExpr>| match x.map(|x| &x.expr) {
                Some(Node::Literal(LiteralValue::String(s))) => Some(s.to_string()),
                _ => None,
            };
            match &e.expr {
                Node::Call(call) => {
                    if at(call) {
                        out.push(literal(call.args.first()).zip(literal(call.args.get(1))));
                    }
                    call.target.iter().for_each(|t| walk(t, at, out));
                    call.args.iter().for_each(|a| walk(a, at, out));
                }
                Node::Comprehension(c) => {
                    for part in [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                        walk(part, at, out);
                    }
                }
                Node::List(l) => l.elements.iter().for_each(|x| walk(x, at, out)),
                Node::Map(m) => entries(&m.entries, at, out),
                Node::Struct(st) => entries(&st.entries, at, out),
                Node::Select(s) => walk(&s.operand, at, out),
                _ => {}
            }
        }
        fn entries(
            list: &[::cel::common::ast::IdedEntryExpr],
            at: &dyn Fn(&::cel::common::ast::CallExpr) -> bool,
            out: &mut Vec<Option<(String, String)>>,
        ) {
            for x in list {
                match &x.expr {
                    EntryExpr::MapEntry(me) => {
                        walk(&me.key, at, out);
                        walk(&me.value, at, out);
                    }
                    EntryExpr::StructField(f) => walk(&f.value, at, out),
                }
            }
        }
        let at = |call: &::cel::common::ast::CallExpr| {
            functions.contains(&call.func_name.as_str())
                && call.target.as_ref().is_some_and(|t| matches!(&t.expr, Node::Ident(name) if name == root))
        };
        let mut out = Vec::new();
        walk(&self.expr, &at, &mut out);
        out
    }
}
