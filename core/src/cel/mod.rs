//! paved's CEL: Kubernetes' CEL environment, compiled once and evaluated over borrowed
//! resources.
//!
//! Expressions are parsed by the `cel` crate's parser (which also expands the macros) and then
//! compiled here: identifiers become slots, functions their implementations, literal regular
//! expressions are compiled, every node is type-checked (against Kubernetes' schemas when the
//! kind is known) and the worst-case cost is estimated, all when a bundle loads. Evaluation
//! reads the resource where it is, counts its cost, and stops at the budget.

mod compile;
mod eval;
pub(crate) mod ext;
pub(crate) mod inventory;
mod lib;
pub(crate) mod types;
pub(crate) mod value;

use std::cell::RefCell;
use std::fmt;

use ::cel::common::ast::SourceInfo;
use ::cel::IdedExpr;

pub(crate) use types::Ty;
pub(crate) use value::Value;

/// The most an expression may cost at run time, per evaluation (Kubernetes' `PerCallLimit`).
pub(crate) const RUNTIME_LIMIT: u64 = 1_000_000;
/// The most an expression's worst case may cost for it to load (Kubernetes'
/// `StaticEstimatedCostLimit`).
pub(crate) const STATIC_LIMIT: u64 = 10_000_000;

/// Why an evaluation failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Error {
    pub message: String,
    /// The expression ran out of budget (never absorbed by `&&`, `||` or a comprehension).
    pub over_budget: bool,
}

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Error {
        Error { message: message.into(), over_budget: false }
    }

    pub(crate) fn budget(limit: u64) -> Error {
        Error { message: format!("the expression exceeded its cost budget of {limit}"), over_budget: true }
    }

    pub(crate) fn no_overload(name: &str, args: &[&Value<'_>]) -> Error {
        let types: Vec<&str> = args.iter().map(|a| a.type_name()).collect();
        Error::new(format!("no such overload: {name}({})", types.join(", ")))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A problem found while compiling an expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub message: String,
    pub help: Option<String>,
    /// Where in the expression, in characters, when known.
    pub column: Option<usize>,
}

impl Problem {
    /// The message and the help, with a caret under the place in the expression.
    pub(crate) fn render(&self, source: &str) -> (String, Option<String>) {
        let caret = self.column.filter(|_| !source.contains('\n')).map(|c| format!("| {source}\n| {}^", " ".repeat(c)));
        let help = match (&self.help, caret) {
            (Some(h), Some(c)) => Some(format!("{h}\n{c}")),
            (h, c) => h.clone().or(c),
        };
        (self.message.clone(), help)
    }
}

/// What an expression may refer to: the environment's variables with their types, and the
/// named variables (`variables.x`) declared before it.
#[derive(Clone, Copy)]
pub(crate) struct Decls<'d> {
    pub roots: &'d [(&'d str, Ty)],
    pub variables: Option<&'d [(String, Ty)]>,
    /// Functions the bundle defines.
    pub functions: &'d [Function],
}

/// A function a bundle defines: its body is compiled where it is called, with its params bound.
pub(crate) struct Function {
    pub name: String,
    pub params: Vec<String>,
    pub body: Parsed,
}

/// What the expression must give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    Bool,
    String,
    Any,
}

/// A parsed expression, for compiling it under more than one set of types.
pub(crate) struct Parsed {
    source: String,
    pub(crate) expr: IdedExpr,
    pub(crate) info: SourceInfo,
}

/// A compiled expression.
#[derive(Debug)]
pub(crate) struct Program {
    pub source: String,
    ir: compile::Ir,
    /// The static type of the result.
    pub ty: Ty,
    locals: usize,
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

    /// Compiles under `decls`, checking the result is what `want` says.
    pub(crate) fn compile(&self, decls: &Decls<'_>, want: Want) -> Result<Program, (String, Option<String>)> {
        let mut c = compile::Compiler::new(decls, &self.info);
        let out = c.compile(&self.expr);
        let fail = |p: &Problem| p.render(&self.source);
        if let Some(p) = c.problems.first() {
            return Err(fail(p));
        }
        let Some((ir, typed)) = out else {
            return Err(("the expression could not be compiled".into(), None));
        };
        let wrong = match want {
            Want::Bool => !matches!(typed.ty, Ty::Bool | Ty::Dyn),
            Want::String => !matches!(typed.ty, Ty::String | Ty::Dyn),
            Want::Any => false,
        };
        if wrong {
            let what = if want == Want::Bool { "a bool" } else { "a string" };
            return Err((format!("the expression gives a {}, not {what}", typed.ty), None));
        }
        if typed.cost > STATIC_LIMIT {
            return Err((
                format!(
                    "the expression's estimated worst-case cost is {}, over the limit of {STATIC_LIMIT}",
                    typed.cost
                ),
                Some(format!(
                    "the estimate assumes {} items in a list or map that no schema bounds; iterating one such \
                     list inside another multiplies them: iterate fewer nested levels",
                    compile::ASSUMED_ITEMS
                )),
            ));
        }
        Ok(Program { source: self.source.clone(), ir, ty: typed.ty, locals: c.max_locals })
    }

    /// Checks the expression under `decls` (say, with `object` typed by one kind's schema),
    /// without keeping the program.
    pub(crate) fn check(&self, decls: &Decls<'_>) -> Option<(String, Option<String>)> {
        let mut c = compile::Compiler::new(decls, &self.info);
        let _ = c.compile(&self.expr);
        c.problems.first().map(|p| p.render(&self.source))
    }
}

impl Parsed {
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
}

/// Parses and compiles in one step.
#[cfg(test)]
pub(crate) fn compile(source: &str, decls: &Decls<'_>, want: Want) -> Result<Program, (String, Option<String>)> {
    parse(source)?.compile(decls, want)
}

/// The environment's variables, by slot: on the stack for policies' seven.
pub(crate) type Roots<'a> = smallvec::SmallVec<[Value<'a>; 7]>;

/// The named variables' values, each computed when first read and then kept.
type Cache<'a> = RefCell<Vec<Option<Result<Value<'a>, Error>>>>;

/// The values an evaluation sees: the environment's variables by slot, and the named
/// variables. Activations made with [`Activation::with`] share the values of the named variables
/// that do not read the slot they change (a policy's variables that do not read `item` are
/// computed once for all its `forEach` items).
pub(crate) struct Activation<'a> {
    pub roots: Roots<'a>,
    variables: &'a [Program],
    /// Which variables depend on the slot [`Activation::with`] changes.
    dependent: &'a [bool],
    shared: std::rc::Rc<Cache<'a>>,
    own: Cache<'a>,
}

impl<'a> Activation<'a> {
    pub(crate) fn new(
        roots: impl IntoIterator<Item = Value<'a>>,
        variables: &'a [Program],
        dependent: &'a [bool],
    ) -> Self {
        let roots = roots.into_iter().collect();
        let empty = || RefCell::new(vec![None; variables.len()]);
        Activation { roots, variables, dependent, shared: std::rc::Rc::new(empty()), own: empty() }
    }

    /// The same activation with `slot` set to `value`, sharing the variables that do not
    /// depend on it.
    pub(crate) fn with(&self, slot: usize, value: Value<'a>) -> Self {
        let mut roots = self.roots.clone();
        if let Some(r) = roots.get_mut(slot) {
            *r = value;
        }
        Activation {
            roots,
            variables: self.variables,
            dependent: self.dependent,
            shared: self.shared.clone(),
            own: RefCell::new(vec![None; self.variables.len()]),
        }
    }

    fn variable(&self, i: usize, outer: &mut eval::Eval<'a, '_>) -> Result<Value<'a>, Error> {
        let cache = if self.dependent.get(i).copied().unwrap_or(true) { &self.own } else { &*self.shared };
        if let Some(Some(done)) = cache.borrow().get(i) {
            return done.clone();
        }
        let Some(program) = self.variables.get(i) else {
            return Err(Error::new("unknown variable"));
        };
        let mut inner =
            eval::Eval { act: self, locals: eval::locals(program.locals), cost: outer.cost, limit: outer.limit };
        let out = inner.eval(&program.ir);
        outer.cost = inner.cost;
        if let Err(e) = &out {
            if e.over_budget {
                return out;
            }
        }
        if let Some(slot) = cache.borrow_mut().get_mut(i) {
            *slot = Some(out.clone());
        }
        out
    }
}

impl Program {
    /// Whether the program reads the environment's variable in `slot`, or one of the named
    /// variables for which `reads_variable` holds.
    pub(crate) fn reads(&self, slot: usize, reads_variable: &dyn Fn(usize) -> bool) -> bool {
        self.ir.any(&|ir| match ir {
            compile::Ir::Root(s) => *s == slot,
            compile::Ir::Var(v) => reads_variable(*v),
            _ => false,
        })
    }

    /// Evaluates over `act`, within the runtime budget.
    pub(crate) fn eval<'a>(&'a self, act: &Activation<'a>) -> Result<Value<'a>, Error> {
        self.eval_counted(act).0
    }

    /// Evaluates, and says what it cost.
    pub(crate) fn eval_counted<'a>(&'a self, act: &Activation<'a>) -> (Result<Value<'a>, Error>, u64) {
        let mut e = eval::Eval { act, locals: eval::locals(self.locals), cost: 0, limit: RUNTIME_LIMIT };
        let out = e.eval(&self.ir);
        (out, e.cost)
    }
}

#[cfg(test)]
mod tests;
