//! From the parsed expression to a program: every identifier resolved to a slot, every function
//! to its implementation, every literal regular expression compiled; and on the way, the type
//! of every node checked and the worst-case cost estimated.

use std::sync::Arc;

use ::cel::common::ast::{operators as op, EntryExpr, Expr as Node, LiteralValue};
use ::cel::IdedExpr;

use super::decls::{Decls, Form, Problem};
use super::functions::{self, Func};
use super::ir::{estimated_traversal, max_size, Cmp, Const, Ir, Typed};
use super::types::Kind;
use super::types::{Binds, Member, Ty};

/// The deepest an expression may nest (evaluation recurses as deep).
const MAX_DEPTH: usize = 64;

pub(super) struct Local {
    pub(super) name: String,
    pub(super) ty: Ty,
    pub(super) size: u64,
}

/// The compiler's state for one expression.
pub(crate) struct Compiler<'d> {
    pub(super) decls: &'d Decls<'d>,
    pub(super) source: &'d ::cel::common::ast::SourceInfo,
    pub(super) locals: Vec<Local>,
    /// The slot of the innermost comprehension's accumulator.
    pub(super) accu: Option<usize>,
    /// How deep the node being compiled is.
    pub(super) depth: usize,
    /// Locals below this slot belong to the expression that called the function being
    /// compiled: the function does not see them.
    pub(super) barrier: usize,
    pub max_locals: usize,
    pub problems: Vec<Problem>,
    /// Whether aggregate literals may mix types here (in a `format` call's arguments).
    pub(super) mixed_literals: bool,
}

pub(super) type Out = Option<(Ir, Typed)>;

impl<'d> Compiler<'d> {
    pub(crate) fn new(decls: &'d Decls<'d>, source: &'d ::cel::common::ast::SourceInfo) -> Self {
        Compiler {
            decls,
            source,
            locals: Vec::new(),
            accu: None,
            depth: 0,
            barrier: 0,
            max_locals: 0,
            problems: Vec::new(),
            mixed_literals: false,
        }
    }

    pub(super) fn problem(&mut self, e: &IdedExpr, message: String, help: Option<String>) -> Out {
        let column = self.source.offset_for(e.id).map(|(start, _)| start as usize);
        self.problems.push(Problem { message, help, column });
        None
    }

    pub(super) fn push_local(&mut self, name: &str, ty: Ty, size: u64) -> usize {
        self.locals.push(Local { name: name.to_owned(), ty, size });
        self.max_locals = self.max_locals.max(self.locals.len());
        self.locals.len() - 1
    }

    pub(super) fn local(&self, name: &str) -> Option<(usize, &Local)> {
        self.locals.iter().enumerate().skip(self.barrier).rev().find(|(_, l)| l.name == name)
    }

    pub(crate) fn compile(&mut self, e: &IdedExpr) -> Out {
        if self.depth >= MAX_DEPTH {
            return self.problem(e, format!("the expression nests more than {MAX_DEPTH} levels deep"), None);
        }
        self.depth += 1;
        let out = self.node(e);
        self.depth -= 1;
        out
    }

    pub(super) fn node(&mut self, e: &IdedExpr) -> Out {
        match &e.expr {
            Node::Literal(l) => Some(literal(l)),
            Node::Ident(name) => self.ident(e, name),
            Node::Select(s) => self.select(e, s),
            Node::Call(call) => self.call(e, call),
            Node::List(l) => {
                let mut items = Vec::with_capacity(l.elements.len());
                let (mut cost, mut elem): (u64, Option<Ty>) = (0, None);
                for x in &l.elements {
                    let (ir, t) = self.compile(x)?;
                    cost = cost.saturating_add(t.cost);
                    let optional = l.optional_indices.contains(&items.len());
                    elem = match t.ty {
                        Ty::Optional(inner) if optional && *inner == Ty::Dyn => elem,
                        Ty::Optional(inner) if optional => Some(self.join(x, elem, *inner)?),
                        other => Some(self.join(x, elem, other)?),
                    };
                    items.push(ir);
                }
                let size = items.len() as u64;
                let ir = Ir::List(items.into(), l.optional_indices.clone().into());
                Some((ir, Typed { ty: Ty::list(elem.unwrap_or(Ty::Dyn)), cost: cost + 1, size }))
            }
            Node::Map(m) => {
                let mut entries = Vec::with_capacity(m.entries.len());
                let (mut cost, mut kt, mut vt): (u64, Option<Ty>, Option<Ty>) = (0, None, None);
                for entry in &m.entries {
                    let EntryExpr::MapEntry(me) = &entry.expr else {
                        return self.problem(e, "a map literal holds `key: value` entries".into(), None);
                    };
                    let (k, kty) = self.compile(&me.key)?;
                    let (v, vty) = self.compile(&me.value)?;
                    if !matches!(kty.ty, Ty::Dyn | Ty::String | Ty::Int | Ty::Uint | Ty::Bool) {
                        return self.problem(&me.key, format!("a map key cannot be a {}", kty.ty), None);
                    }
                    cost = cost.saturating_add(kty.cost).saturating_add(vty.cost);
                    kt = Some(self.join(&me.key, kt, kty.ty)?);
                    // An optional entry's value is its optional's (`optional.none()` fits any).
                    vt = match vty.ty {
                        Ty::Optional(inner) if me.optional && *inner == Ty::Dyn => vt,
                        Ty::Optional(inner) if me.optional => Some(self.join(&me.value, vt, *inner)?),
                        other => Some(self.join(&me.value, vt, other)?),
                    };
                    entries.push((k, v, me.optional));
                }
                let size = entries.len() as u64;
                let ty = Ty::map(kt.unwrap_or(Ty::Dyn), vt.unwrap_or(Ty::Dyn));
                Some((Ir::Map(entries.into()), Typed { ty, cost: cost + 1, size }))
            }
            Node::Comprehension(c) => self.comprehension(c),
            Node::Struct(s) => self.structure(e, s),
            Node::Unspecified => self.problem(e, "empty expression".into(), None),
        }
    }

    pub(super) fn ident(&mut self, e: &IdedExpr, name: &str) -> Out {
        if let Some((slot, l)) = self.local(name) {
            let t = Typed { ty: l.ty.clone(), cost: 1, size: l.size };
            return Some((Ir::Local(slot), t));
        }
        if let Some(slot) = self.decls.roots.iter().rposition(|(n, _)| *n == name) {
            let ty = self.decls.roots.get(slot).map_or(Ty::Dyn, |(_, t)| t.clone());
            return Some((Ir::Root(slot), Typed::new(ty, 1)));
        }
        if let Some(kind) = Kind::named(name) {
            return Some((Ir::Const(Const::Type(kind)), Typed::new(Ty::Type, 0)));
        }
        if name == "variables" && self.decls.variables.is_some() {
            return self.problem(e, "`variables` is read one at a time: `variables.NAME`".into(), None);
        }
        // A hidden variable (`item` outside `forEach`) has an empty name.
        let mut known: Vec<&str> = self.decls.roots.iter().map(|(n, _)| *n).filter(|n| !n.is_empty()).collect();
        known.extend(self.locals.iter().map(|l| l.name.as_str()).filter(|n| !n.starts_with('@')));
        if self.decls.variables.is_some() {
            known.push("variables");
        }
        let help = match crate::error::did_you_mean(name, known.iter().copied()) {
            Some(s) => Some(format!("did you mean `{s}`?")),
            None if known.is_empty() => None,
            None => Some(format!("the variables are: {}", known.join(", "))),
        };
        self.problem(e, format!("unknown variable `{name}`"), help)
    }

    /// `variables.x`, and qualified names that are not variables (none today but the
    /// namespaces of functions, which only appear as call targets).
    pub(super) fn qualified(&mut self, e: &IdedExpr) -> Option<Out> {
        let Node::Select(s) = &e.expr else { return None };
        if let Some(kind) = qualified_name(e).and_then(|q| Kind::named(&q)) {
            return Some(Some((Ir::Const(Const::Type(kind)), Typed::new(Ty::Type, 0))));
        }
        let Node::Ident(root) = &s.operand.expr else { return None };
        if root != "variables" || self.local(root).is_some() {
            return None;
        }
        let vars = self.decls.variables?;
        match vars.iter().position(|v| v.name == s.field) {
            Some(i) if !s.test => {
                let t =
                    vars.get(i).map_or(Typed::new(Ty::Dyn, 1), |v| Typed { ty: v.ty.clone(), cost: 1, size: v.size });
                Some(Some((Ir::Var(i), t)))
            }
            // A declared variable is always there, as in Kubernetes (its value may be null).
            Some(_) => Some(Some((Ir::Const(Const::Bool(true)), Typed::new(Ty::Bool, 1)))),
            None => {
                let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
                let help = match crate::error::did_you_mean(&s.field, names.iter().copied()) {
                    Some(n) => Some(format!("did you mean `variables.{n}`?")),
                    None if names.is_empty() => Some("the policy declares no variables".into()),
                    None => Some(format!("the variables declared before this one are: {}", names.join(", "))),
                };
                Some(self.problem(e, format!("unknown variable `variables.{}`", s.field), help))
            }
        }
    }

    pub(super) fn member(&mut self, e: &IdedExpr, ty: &Ty, field: &str) -> Option<Ty> {
        if !ty.selectable() {
            self.problem(e, format!("a {ty} has no fields (reading `.{field}`)"), None);
            return None;
        }
        match ty.member(field) {
            Member::Field(t) => Some(t),
            Member::Unknown(help) => {
                self.problem(e, format!("no field `{field}` in {ty}"), help);
                None
            }
        }
    }

    /// `operand.field` (or `has(operand.field)`): a named variable, a qualified name, or a
    /// field of the operand's type.
    fn select(&mut self, e: &IdedExpr, s: &::cel::common::ast::SelectExpr) -> Out {
        if let Some(found) = self.qualified(e) {
            return found;
        }
        let (operand, t) = self.compile(&s.operand)?;
        // Selecting from an optional chains: the result is optional too.
        let (base, optional) = match &t.ty {
            Ty::Optional(inner) => ((**inner).clone(), true),
            other => (other.clone(), false),
        };
        let field_ty = self.member(e, &base, &s.field)?;
        let field_ty = if optional { Ty::Optional(Box::new(field_ty)) } else { field_ty };
        let cost = t.cost + 1;
        if s.test {
            Some((Ir::Has(Box::new(operand), s.field.as_str().into()), Typed::new(Ty::Bool, cost)))
        } else {
            // A declared schema's `maxItems` or `maxLength` bounds what reading it costs.
            let mut typed = Typed::new(field_ty, cost);
            if let Some(bound) = base.member_bound(&s.field) {
                typed.size = typed.size.min(bound);
            }
            Some((Ir::Select(Box::new(operand), s.field.as_str().into()), typed))
        }
    }

    pub(super) fn call(&mut self, e: &IdedExpr, call: &::cel::common::ast::CallExpr) -> Out {
        let name = call.func_name.as_str();
        let args = &call.args;
        match name {
            op::LOGICAL_AND | op::LOGICAL_OR => self.op_logic(name, args),
            op::LOGICAL_NOT => self.op_not(args),
            op::NOT_STRICTLY_FALSE => self.op_not_strictly_false(args),
            op::CONDITIONAL => self.op_conditional(args),
            op::EQUALS | op::NOT_EQUALS => self.op_equality(e, name, args),
            op::LESS | op::LESS_EQUALS | op::GREATER | op::GREATER_EQUALS => self.op_ordering(e, name, args),
            op::IN => self.op_membership(e, args),
            op::INDEX | op::OPT_INDEX => self.op_index(e, name, args),
            op::OPT_SELECT => self.op_opt_select(e, args),
            _ => self.function(e, call),
        }
    }

    /// Both operands of a binary operator, compiled.
    pub(super) fn binary(&mut self, args: &[IdedExpr]) -> Option<((Ir, Typed), (Ir, Typed))> {
        match args {
            [a, b] => Some((self.compile(a)?, self.compile(b)?)),
            _ => None,
        }
    }

    pub(super) fn op_logic(&mut self, name: &str, args: &[IdedExpr]) -> Out {
        let ((a, ta), (b, tb)) = self.binary(args)?;
        self.expect_bool(args.first()?, &ta.ty)?;
        self.expect_bool(args.get(1)?, &tb.ty)?;
        let cost = ta.cost.saturating_add(tb.cost);
        let ir =
            if name == op::LOGICAL_AND { Ir::And(Box::new(a), Box::new(b)) } else { Ir::Or(Box::new(a), Box::new(b)) };
        Some((ir, Typed::new(Ty::Bool, cost)))
    }

    pub(super) fn op_not(&mut self, args: &[IdedExpr]) -> Out {
        let (a, ta) = self.compile(args.first()?)?;
        self.expect_bool(args.first()?, &ta.ty)?;
        Some((Ir::Not(Box::new(a)), Typed::new(Ty::Bool, ta.cost + 1)))
    }

    pub(super) fn op_not_strictly_false(&mut self, args: &[IdedExpr]) -> Out {
        let (a, ta) = self.compile(args.first()?)?;
        Some((Ir::NotStrictlyFalse(Box::new(a)), Typed::new(Ty::Bool, ta.cost)))
    }

    pub(super) fn op_conditional(&mut self, args: &[IdedExpr]) -> Out {
        let [c, a, b] = args else { return None };
        let (c_ir, tc) = self.compile(c)?;
        self.expect_bool(c, &tc.ty)?;
        let (a_ir, ta) = self.compile(a)?;
        let (b_ir, tb) = self.compile(b)?;
        if self.decls.form != Form::Paved && !ta.ty.compatible(&tb.ty) {
            let message = format!("the branches of `_?_:_` are a {} and a {}: they must have one type", ta.ty, tb.ty);
            return self.problem(b, message, Some("wrap one in `dyn(...)`".into()));
        }
        let ty = if ta.ty == tb.ty { ta.ty } else { Ty::Dyn };
        let cost = tc.cost.saturating_add(ta.cost.max(tb.cost));
        let size = ta.size.max(tb.size);
        Some((Ir::Cond(Box::new(c_ir), Box::new(a_ir), Box::new(b_ir)), Typed { ty, cost, size }))
    }

    pub(super) fn op_equality(&mut self, e: &IdedExpr, name: &str, args: &[IdedExpr]) -> Out {
        let ((a, ta), (b, tb)) = self.binary(args)?;
        if !ta.ty.compatible(&tb.ty) {
            return self.problem(
                e,
                format!(
                    "`{}` compares a {} with a {}: they are never equal",
                    if name == op::EQUALS { "==" } else { "!=" },
                    ta.ty,
                    tb.ty
                ),
                None,
            );
        }
        let cost = 1 + ta.cost.saturating_add(tb.cost) + read_cost(&ta).min(read_cost(&tb));
        let ir = if name == op::EQUALS { Ir::Eq(Box::new(a), Box::new(b)) } else { Ir::Ne(Box::new(a), Box::new(b)) };
        Some((ir, Typed::new(Ty::Bool, cost)))
    }

    pub(super) fn op_ordering(&mut self, e: &IdedExpr, name: &str, args: &[IdedExpr]) -> Out {
        let ((a, ta), (b, tb)) = self.binary(args)?;
        let orderable = |t: &Ty| {
            matches!(
                t,
                Ty::Dyn
                    | Ty::Int
                    | Ty::Uint
                    | Ty::Double
                    | Ty::String
                    | Ty::Bytes
                    | Ty::Bool
                    | Ty::Duration
                    | Ty::Timestamp
            )
        };
        // Kubernetes orders int, uint and double across their types, though it never equates them.
        let numeric = |t: &Ty| matches!(t, Ty::Int | Ty::Uint | Ty::Double);
        let comparable = ta.ty.compatible(&tb.ty) || numeric(&ta.ty) && numeric(&tb.ty);
        if !orderable(&ta.ty) || !orderable(&tb.ty) || !comparable {
            return self.problem(
                e,
                format!("a {} cannot be ordered against a {}", ta.ty, tb.ty),
                Some(order_help(&ta.ty, &tb.ty)),
            );
        }
        let cmp = match name {
            op::LESS => Cmp::Lt,
            op::LESS_EQUALS => Cmp::Le,
            op::GREATER => Cmp::Gt,
            _ => Cmp::Ge,
        };
        let cost = 1 + ta.cost.saturating_add(tb.cost) + read_cost(&ta).min(read_cost(&tb));
        Some((Ir::Cmp(Box::new(a), Box::new(b), cmp), Typed::new(Ty::Bool, cost)))
    }

    pub(super) fn op_membership(&mut self, e: &IdedExpr, args: &[IdedExpr]) -> Out {
        let ((a, ta), (b, tb)) = self.binary(args)?;
        let ok = match &tb.ty {
            Ty::Dyn | Ty::Object(_) => true,
            Ty::List(el) | Ty::Map(el, _) => el.compatible(&ta.ty),
            _ => false,
        };
        if !ok {
            return self.problem(e, format!("`in` looks for a {} in a {}", ta.ty, tb.ty), None);
        }
        // A list is scanned; a map is a lookup; a `dyn` one is charged at run time.
        let scan = if matches!(tb.ty, Ty::List(_)) { tb.size } else { 1 };
        let cost = 1 + ta.cost.saturating_add(tb.cost).saturating_add(scan);
        if let Ir::List(items, optional) = b {
            if optional.is_empty() && items.iter().all(|i| matches!(i, Ir::Const(_))) {
                let consts: Vec<Const> = items
                    .into_vec()
                    .into_iter()
                    .filter_map(|i| if let Ir::Const(c) = i { Some(c) } else { None })
                    .collect();
                return Some((Ir::InConsts(Box::new(a), consts.into()), Typed::new(Ty::Bool, cost)));
            }
            return Some((Ir::In(Box::new(a), Box::new(Ir::List(items, optional))), Typed::new(Ty::Bool, cost)));
        }
        Some((Ir::In(Box::new(a), Box::new(b)), Typed::new(Ty::Bool, cost)))
    }

    pub(super) fn op_index(&mut self, e: &IdedExpr, name: &str, args: &[IdedExpr]) -> Out {
        let ((a, ta), (b, tb)) = self.binary(args)?;
        let ty = match (&ta.ty, &tb.ty) {
            (Ty::List(el), Ty::Int | Ty::Uint | Ty::Dyn) => (**el).clone(),
            (Ty::List(_), other) => {
                return self.problem(e, format!("a list is indexed by an int, not a {other}"), None)
            }
            (Ty::Map(_, v), _) => (**v).clone(),
            (Ty::Dyn | Ty::Object(_), _) => Ty::Dyn,
            (Ty::Optional(inner), _) if name == op::INDEX => match &**inner {
                Ty::List(el) | Ty::Map(_, el) => Ty::Optional(el.clone()),
                _ => Ty::Optional(Box::new(Ty::Dyn)),
            },
            (Ty::Optional(inner), _) if name == op::OPT_INDEX => match &**inner {
                Ty::List(el) | Ty::Map(_, el) => (**el).clone(),
                _ => Ty::Dyn,
            },
            (other, _) => return self.problem(e, format!("a {other} cannot be indexed"), None),
        };
        let cost = 1 + ta.cost.saturating_add(tb.cost);
        if name == op::OPT_INDEX {
            return Some((Ir::OptIndex(Box::new(a), Box::new(b)), Typed::new(Ty::Optional(Box::new(ty)), cost)));
        }
        Some((Ir::Index(Box::new(a), Box::new(b)), Typed::new(ty, cost)))
    }

    pub(super) fn op_opt_select(&mut self, e: &IdedExpr, args: &[IdedExpr]) -> Out {
        let [operand, field] = args else { return None };
        let Node::Literal(LiteralValue::String(f)) = &field.expr else { return None };
        let (a, ta) = self.compile(operand)?;
        let base = match &ta.ty {
            Ty::Optional(inner) => (**inner).clone(),
            other => other.clone(),
        };
        let fty = self.member(e, &base, f.inner())?;
        let ir = Ir::OptSelect(Box::new(a), f.inner().into());
        Some((ir, Typed::new(Ty::Optional(Box::new(fty)), ta.cost + 1)))
    }

    /// A call of a function of the library (or an append in a comprehension).
    pub(super) fn function(&mut self, e: &IdedExpr, call: &::cel::common::ast::CallExpr) -> Out {
        let name = call.func_name.as_str();
        let args = &call.args;
        if let Some(target) = call.target.as_deref() {
            match (name, args.len()) {
                ("all" | "exists" | "existsOne", 3) | ("transformList" | "transformMap", 3 | 4) => {
                    return self.two_variables(e, name, target, args)
                }
                ("optMap" | "optFlatMap", 2) => return self.opt_map(e, name == "optFlatMap", target, args),
                _ => {}
            }
        }
        // `accu + [x]` in a comprehension appends in place.
        if name == op::ADD {
            if let (Some(accu), [Node::Ident(first), Node::List(l)]) =
                (self.accu, args.iter().map(|a| &a.expr).collect::<Vec<_>>().as_slice())
            {
                if self.local(first).map(|(slot, _)| slot) == Some(accu) && l.optional_indices.is_empty() {
                    let mut items = Vec::new();
                    let mut cost = 1u64;
                    let mut elem = None;
                    for x in &l.elements {
                        let (ir, t) = self.compile(x)?;
                        cost = cost.saturating_add(t.cost).saturating_add(1);
                        elem = Some(self.join(x, elem, t.ty)?);
                        items.push(ir);
                    }
                    let ty = Ty::list(elem.unwrap_or(Ty::Dyn));
                    return Some((Ir::Append(accu, items.into()), Typed::new(ty, cost)));
                }
            }
        }
        // A namespaced function (`math.abs`), or `cel.bind`.
        let namespace = call.target.as_deref().and_then(qualified_name).filter(|ns| {
            let root = ns.split('.').next().unwrap_or_default();
            let variable = root == "variables" && self.decls.variables.is_some();
            self.local(root).is_none() && !variable && !self.decls.roots.iter().any(|(n, _)| *n == root)
        });
        if let Some(ns) = namespace {
            let full = format!("{ns}.{name}");
            if let Some(out) = self.refused(e, &full) {
                return out;
            }
            if full == "cel.bind" {
                return self.bind(e, args);
            }
            return match functions::find(&full, false, self.decls.form) {
                Some(f) => self.apply(e, f, None, args),
                None => {
                    let help = crate::error::did_you_mean(&full, functions::names(false, self.decls.form))
                        .map(|s| format!("did you mean `{s}`?"));
                    self.problem(e, format!("unknown function `{full}`"), help)
                }
            };
        }
        let member = call.target.is_some();
        if !member {
            if let Some(f) = self.decls.functions.iter().find(|f| f.name == name) {
                return self.inline(e, f, args);
            }
        }
        if let Some(out) = self.refused(e, name).filter(|_| !member) {
            return out;
        }
        let form = self.decls.form;
        match functions::find(name, member, form) {
            Some(f) => self.apply(e, f, call.target.as_deref(), args),
            None => {
                let other = functions::find(name, !member, form);
                let help = match other {
                    Some(_) if member => Some(format!("`{name}` is a function: call it as `{name}(x, ...)`")),
                    Some(_) => Some(format!("`{name}` is a method: call it as `x.{name}(...)`")),
                    None => crate::error::did_you_mean(name, functions::names(member, form))
                        .map(|s| format!("did you mean `{s}`?")),
                };
                self.problem(e, format!("unknown function `{name}`"), help)
            }
        }
    }

    pub(super) fn apply(
        &mut self,
        e: &IdedExpr,
        f: &'static Func,
        target: Option<&IdedExpr>,
        args: &[IdedExpr],
    ) -> Out {
        let out = self.apply_call(e, f, target, args)?;
        Some(fuse_opt_path(out))
    }

    pub(super) fn apply_call(
        &mut self,
        e: &IdedExpr,
        f: &'static Func,
        target: Option<&IdedExpr>,
        args: &[IdedExpr],
    ) -> Out {
        let mut irs = Vec::with_capacity(args.len() + 1);
        let mut types = Vec::with_capacity(args.len() + 1);
        let outer = self.mixed_literals;
        self.mixed_literals |= f.name == "format";
        for a in target.into_iter().chain(args) {
            let compiled = self.compile(a);
            let Some((ir, t)) = compiled else {
                self.mixed_literals = outer;
                return None;
            };
            irs.push(ir);
            types.push(t);
        }
        self.mixed_literals = outer;
        let mut result: Option<Ty> = None;
        for (params, ret) in f.sigs.iter().filter(|(p, _)| p.len() == types.len()) {
            let mut binds: Binds = [None, None];
            if params.iter().zip(&types).all(|(p, t)| p.accepts(&t.ty, &mut binds)) {
                let ty = ret.instantiate(&binds);
                result = Some(match result {
                    None => ty,
                    Some(prev) if prev == ty => prev,
                    Some(_) => Ty::Dyn,
                });
            }
        }
        let Some(ty) = result else {
            let (message, help) = no_overload(f, &types);
            return self.problem(e, message, Some(help));
        };
        if let Some(why) = self.environment_refuses(f, target, &irs, &types) {
            return self.problem(e, why, None);
        }
        // A literal pattern is compiled once, now, and a bad one is a load error.
        let mut regex = None;
        if functions::takes_regex(f.name) {
            if let Some(Ir::Const(Const::Str(p))) = irs.get(1) {
                match functions::regex(p) {
                    Ok(r) => regex = Some(Arc::new(r)),
                    Err(err) => return self.problem(e, err.message, None),
                }
            }
        }
        let args_cost: u64 = types.iter().map(|t| t.cost).fold(0, u64::saturating_add);
        // `size` reads a length, not the value (as Kubernetes counts it).
        let read: u64 = if f.name == "size" { 0 } else { types.iter().map(read_cost).fold(0, u64::saturating_add) };
        let size = match &ty {
            // What a call builds from a value of unknown size is of unknown size too: a string
            // as long as an object, a list of as many items as the estimate assumes.
            // A lookup in the inventory may give any number of objects.
            Ty::String | Ty::Bytes | Ty::List(_) if types.iter().any(|t| matches!(t.ty, Ty::Dyn | Ty::Inventory)) => {
                max_size(&ty)
            }
            Ty::String | Ty::Bytes | Ty::List(_) => types.iter().map(|t| t.size).fold(0, u64::saturating_add).max(1),
            _ => 1,
        };
        let size = match (f.name, irs.first()) {
            ("lists.range", Some(Ir::Const(Const::Int(n)))) => u64::try_from(*n).unwrap_or(0),
            ("lists.range", _) => max_size(&Ty::list(Ty::Int)),
            _ => size,
        };
        let cost = 1u64.saturating_add(args_cost).saturating_add(read);
        Some((Ir::Call(f, irs.into(), regex), Typed { ty, cost, size }))
    }

    pub(super) fn expect_bool(&mut self, e: &IdedExpr, ty: &Ty) -> Option<()> {
        if matches!(ty, Ty::Bool | Ty::Dyn) {
            Some(())
        } else {
            self.problem(e, format!("expected a bool, got a {ty}"), None);
            None
        }
    }
}

/// What a call that no signature of `f` takes says: how it was called, and what `f` takes.
fn no_overload(f: &Func, types: &[Typed]) -> (String, String) {
    let shown = |types: &[Typed]| types.iter().map(|t| t.ty.to_string()).collect::<Vec<_>>().join(", ");
    let wanted: Vec<String> = f
        .sigs
        .iter()
        .map(|(p, r)| {
            let ps: Vec<&str> = p.iter().map(|t| t.name()).collect();
            if f.member {
                let (recv, rest) = ps.split_first().map_or(("", &[][..]), |(a, b)| (*a, b));
                format!("{recv}.{}({}) -> {}", f.name, rest.join(", "), r.name())
            } else {
                format!("{}({}) -> {}", f.name, ps.join(", "), r.name())
            }
        })
        .collect();
    let called = if f.member {
        let (recv, rest) = types.split_first().map_or((String::new(), &[][..]), |(a, b)| (a.ty.to_string(), b));
        format!("{recv}.{}({})", f.name, shown(rest))
    } else {
        format!("{}({})", display_name(f.name), shown(types))
    };
    (format!("no overload of `{}` takes {called}", display_name(f.name)), format!("it takes: {}", wanted.join("; ")))
}

/// `x.?a.?b.orValue(d)` as one lookup along a path, without the optionals in between.
fn fuse_opt_path((ir, t): (Ir, Typed)) -> (Ir, Typed) {
    let Ir::Call(f, args, None) = ir else { return (ir, t) };
    if f.name != "orValue" || !matches!(&*args, [Ir::OptSelect(..), _]) {
        return (Ir::Call(f, args, None), t);
    }
    match <[Ir; 2]>::try_from(args.into_vec()) {
        Ok([mut chain, default]) => {
            let mut path = Vec::new();
            while let Ir::OptSelect(operand, field) = chain {
                path.push(field);
                chain = *operand;
            }
            path.reverse();
            (Ir::OptPath { base: Box::new(chain), path: path.into(), default: Box::new(default) }, t)
        }
        Err(args) => (Ir::Call(f, args.into(), None), t),
    }
}

fn literal(l: &LiteralValue) -> (Ir, Typed) {
    let (c, ty, size) = match l {
        LiteralValue::Boolean(b) => (Const::Bool(*b.inner()), Ty::Bool, 1),
        LiteralValue::Int(i) => (Const::Int(*i.inner()), Ty::Int, 1),
        LiteralValue::UInt(u) => (Const::Uint(*u.inner()), Ty::Uint, 1),
        LiteralValue::Double(d) => (Const::Double(*d.inner()), Ty::Double, 1),
        LiteralValue::String(s) => (Const::Str(s.inner().into()), Ty::String, s.inner().len() as u64),
        LiteralValue::Bytes(b) => (Const::Bytes(b.inner().into()), Ty::Bytes, b.inner().len() as u64),
        LiteralValue::Null => (Const::Null, Ty::Null, 1),
    };
    (Ir::Const(c), Typed { ty, cost: 0, size })
}

pub(super) fn unify(prev: Option<Ty>, next: Ty) -> Ty {
    match prev {
        None => next,
        Some(p) if p == next => p,
        Some(_) => Ty::Dyn,
    }
}

/// The estimated cost of reading a value through: strings, bytes and lists of known size (a
/// `dyn` value's size is unknown until run time, where it is charged).
fn read_cost(t: &Typed) -> u64 {
    if matches!(t.ty, Ty::String | Ty::Bytes | Ty::List(_)) {
        estimated_traversal(t.size)
    } else {
        0
    }
}

/// `a.b.c` as a dotted name, when the expression is one.
fn qualified_name(e: &IdedExpr) -> Option<String> {
    match &e.expr {
        Node::Ident(n) => Some(n.clone()),
        Node::Select(s) if !s.test => qualified_name(&s.operand).map(|q| format!("{q}.{}", s.field)),
        _ => None,
    }
}

/// Operators by their symbols in messages.
fn display_name(name: &str) -> &str {
    match name {
        "_+_" => "+",
        "_-_" => "-",
        "_*_" => "*",
        "_/_" => "/",
        "_%_" => "%",
        "-_" => "-",
        "!_" => "!",
        other => other,
    }
}

fn order_help(a: &Ty, b: &Ty) -> String {
    if matches!(a, Ty::Quantity) || matches!(b, Ty::Quantity) {
        "compare quantities with `a.isLessThan(b)`, `a.isGreaterThan(b)` or `a.compareTo(b)`".into()
    } else {
        "numbers, strings, bytes, bools, durations and timestamps can be ordered".into()
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    pub(super) fn is<T: Send + Sync>() {}
    is::<Ir>();
}
