//! The macros and comprehensions of CEL as the compiler lowers them: the two-variable forms
//! (`all`, `exists`, `map`, `filter` with an index or key), `optMap` and `optFlatMap`, a
//! bundle's functions inlined where they are called, `cel.bind`, and comprehensions.

use ::cel::common::ast::{EntryExpr, Expr as Node, StructExpr};
use ::cel::IdedExpr;

use super::decls::Function;
use super::functions;
use super::ir::{max_size, Comprehension, Const, Ir, Typed};
use super::lower::{Compiler, Out};
use super::types::Ty;

impl Compiler<'_> {
    /// cel-go's two-variable comprehensions: `all`, `exists`, `existsOne`, `transformList` and
    /// `transformMap` over (index, value) of a list or (key, value) of a map.
    pub(super) fn two_variables(&mut self, e: &IdedExpr, name: &str, target: &IdedExpr, args: &[IdedExpr]) -> Out {
        let (Some(Node::Ident(first)), Some(Node::Ident(second))) =
            (args.first().map(|a| &a.expr), args.get(1).map(|a| &a.expr))
        else {
            return self.problem(e, format!("`{name}` takes two variable names first"), None);
        };
        let (range, tr) = self.compile(target)?;
        let (first_ty, second_ty) = match &tr.ty {
            Ty::List(el) => (Ty::Int, (**el).clone()),
            Ty::Map(k, v) => ((**k).clone(), (**v).clone()),
            Ty::Dyn | Ty::Object(_) => (Ty::Dyn, Ty::Dyn),
            other => return self.problem(target, format!("a {other} cannot be iterated"), None),
        };
        let base = self.locals.len();
        let iter = self.push_local(first, first_ty, 1);
        let second_size = max_size(&second_ty);
        let iter2 = self.push_local(second, second_ty, second_size);
        let accu = self.push_local("@result", Ty::Dyn, 1);
        let rest = args.get(2..).unwrap_or_default();
        let parts: Option<Vec<(Ir, Typed)>> = rest.iter().map(|a| self.compile(a)).collect();
        self.locals.truncate(base);
        let mut parts = parts?;
        let local = || Box::new(Ir::Local(accu));
        let per_item: u64 = parts.iter().map(|(_, t)| t.cost).fold(2, u64::saturating_add);
        let (init, cond, step, result, ty) = match name {
            "all" | "exists" | "existsOne" => {
                let (pred, tp) = parts.pop()?;
                self.expect_bool(rest.first()?, &tp.ty)?;
                match name {
                    "all" => (
                        Const::Bool(true),
                        Ir::NotStrictlyFalse(local()),
                        Ir::And(local(), Box::new(pred)),
                        Ir::Local(accu),
                        Ty::Bool,
                    ),
                    "exists" => (
                        Const::Bool(false),
                        Ir::NotStrictlyFalse(Box::new(Ir::Not(local()))),
                        Ir::Or(local(), Box::new(pred)),
                        Ir::Local(accu),
                        Ty::Bool,
                    ),
                    _ => {
                        let add = functions::find("_+_", false, super::decls::Form::Kubernetes)?;
                        let plus_one = Ir::Call(add, vec![Ir::Local(accu), Ir::Const(Const::Int(1))].into(), None);
                        let step = Ir::Cond(Box::new(pred), Box::new(plus_one), local());
                        let one = Box::new(Ir::Const(Const::Int(1)));
                        (Const::Int(0), Ir::Const(Const::Bool(true)), step, Ir::Eq(local(), one), Ty::Bool)
                    }
                }
            }
            _ => {
                let (value, tv) = parts.pop()?;
                let filter = parts.pop();
                if let (Some((_, tf)), Some(f)) = (&filter, rest.first()) {
                    self.expect_bool(f, &tf.ty)?;
                }
                let (add, ty) = if name == "transformList" {
                    (Ir::Append(accu, vec![value].into()), Ty::list(tv.ty))
                } else {
                    (Ir::Insert(accu, Box::new(Ir::Local(iter)), Box::new(value)), Ty::map(Ty::Dyn, tv.ty))
                };
                let step = match filter {
                    Some((f, _)) => Ir::Cond(Box::new(f), Box::new(add), local()),
                    None => add,
                };
                let init = if name == "transformList" { Const::EmptyList } else { Const::EmptyMap };
                (init, Ir::Const(Const::Bool(true)), step, Ir::Local(accu), ty)
            }
        };
        let cost = tr.cost.saturating_add(tr.size.saturating_mul(per_item));
        let c = Comprehension { range, iter, iter2: Some(iter2), accu, init: Ir::Const(init), cond, step, result };
        Some((Ir::Comprehension(Box::new(c)), Typed { ty, cost, size: tr.size }))
    }

    /// `opt.optMap(x, body)`: `body` with `x` bound to the value, when there is one.
    pub(super) fn opt_map(&mut self, e: &IdedExpr, flat: bool, target: &IdedExpr, args: &[IdedExpr]) -> Out {
        let [var, body] = args else { return None };
        let Node::Ident(var) = &var.expr else {
            return self.problem(e, "the first argument of `optMap` is a name".into(), None);
        };
        let (optional, to) = self.compile(target)?;
        let inner = match &to.ty {
            Ty::Optional(inner) => (**inner).clone(),
            Ty::Dyn => Ty::Dyn,
            other => return self.problem(target, format!("`optMap` applies to an optional, not a {other}"), None),
        };
        let size = max_size(&inner);
        let slot = self.push_local(var, inner, size);
        let compiled = self.compile(body);
        self.locals.truncate(slot);
        let (body, tb) = compiled?;
        let ty = match (flat, tb.ty) {
            (true, t @ (Ty::Optional(_) | Ty::Dyn)) => t,
            (true, other) => return self.problem(e, format!("`optFlatMap` needs an optional, got a {other}"), None),
            (false, t) => Ty::Optional(Box::new(t)),
        };
        let ir = Ir::OptMap { slot, optional: Box::new(optional), body: Box::new(body), flat };
        Some((ir, Typed::new(ty, to.cost.saturating_add(tb.cost))))
    }

    /// A call of a function the bundle defines: its arguments bound to its params, its body
    /// compiled here, out of sight of the caller's own variables.
    pub(super) fn inline(&mut self, e: &IdedExpr, f: &Function, args: &[IdedExpr]) -> Out {
        if args.len() != f.params.len() {
            return self.problem(
                e,
                format!("`{}` takes {} argument(s), not {}", f.name, f.params.len(), args.len()),
                Some(format!("it is `{}({})`", f.name, f.params.join(", "))),
            );
        }
        let compiled: Option<Vec<(Ir, Typed)>> = args.iter().map(|a| self.compile(a)).collect();
        let compiled = compiled?;
        let (base, barrier) = (self.locals.len(), self.barrier);
        self.barrier = base;
        let mut slots = Vec::with_capacity(f.params.len());
        for (p, (_, t)) in f.params.iter().zip(&compiled) {
            slots.push(self.push_local(p, t.ty.clone(), t.size));
        }
        let mut inner = Compiler::new(self.decls, &f.body.info);
        inner.locals = std::mem::take(&mut self.locals);
        inner.barrier = base;
        inner.depth = self.depth;
        let body = inner.compile(&f.body.expr);
        self.locals = std::mem::take(&mut inner.locals);
        self.max_locals = self.max_locals.max(inner.max_locals);
        for p in inner.problems {
            self.problem(e, format!("in `{}`: {}", f.name, p.message), p.help);
        }
        self.locals.truncate(base);
        self.barrier = barrier;
        let (mut ir, tb) = body?;
        let mut cost = tb.cost;
        for (slot, (arg, t)) in slots.into_iter().zip(compiled).rev() {
            cost = cost.saturating_add(t.cost);
            ir = Ir::Bind(slot, Box::new(arg), Box::new(ir));
        }
        Some((ir, Typed { ty: tb.ty, cost, size: tb.size }))
    }

    pub(super) fn bind(&mut self, e: &IdedExpr, args: &[IdedExpr]) -> Out {
        let [name, init, body] = args else {
            return self.problem(e, "`cel.bind` takes a name, a value and an expression".into(), None);
        };
        let Node::Ident(var) = &name.expr else {
            return self.problem(name, "the first argument of `cel.bind` is a name".into(), None);
        };
        let (init_ir, ti) = self.compile(init)?;
        let slot = self.push_local(var, ti.ty.clone(), ti.size);
        let body = self.compile(body);
        self.locals.truncate(slot);
        let (body_ir, tb) = body?;
        let cost = ti.cost.saturating_add(tb.cost);
        Some((Ir::Bind(slot, Box::new(init_ir), Box::new(body_ir)), Typed { ty: tb.ty, cost, size: tb.size }))
    }

    pub(super) fn comprehension(&mut self, c: &::cel::common::ast::ComprehensionExpr) -> Out {
        let (range, tr) = self.compile(&c.iter_range)?;
        let Some(elem) = tr.ty.element() else {
            return self.problem(
                &c.iter_range,
                format!("a {} cannot be iterated", tr.ty),
                Some("comprehensions range over lists and maps".into()),
            );
        };
        let (init, tinit) = self.compile(&c.accu_init)?;
        let base = self.locals.len();
        let elem_size = max_size(&elem);
        let (iter, iter2) = match &c.iter_var2 {
            // Two variables: index and value of a list, key and value of a map.
            Some(second) => {
                let (first_ty, second_ty) = match &tr.ty {
                    Ty::List(e) => (Ty::Int, (**e).clone()),
                    Ty::Map(k, v) => ((**k).clone(), (**v).clone()),
                    _ => (Ty::Dyn, Ty::Dyn),
                };
                let first = self.push_local(&c.iter_var, first_ty, 1);
                let second_size = max_size(&second_ty);
                (first, Some(self.push_local(second, second_ty, second_size)))
            }
            None => (self.push_local(&c.iter_var, elem, elem_size), None),
        };
        let accu = self.push_local(&c.accu_var, tinit.ty.clone(), tinit.size);
        let outer_accu = self.accu.replace(accu);
        let cond = self.compile(&c.loop_cond);
        let step = self.compile(&c.loop_step);
        // The accumulator has the step's type when the step refines it (`[]` becomes a list of
        // what `map` produces).
        if let (Some((_, ts)), Some(l)) = (&step, self.locals.get_mut(accu)) {
            if ts.ty != Ty::Dyn && l.ty.compatible(&ts.ty) {
                l.ty = ts.ty.clone();
            }
        }
        let result = self.compile(&c.result);
        self.accu = outer_accu;
        self.locals.truncate(base);
        let ((cond, tc), (step, ts), (result, tres)) = (cond?, step?, result?);
        let per_item = tc.cost.saturating_add(ts.cost);
        let cost = tr
            .cost
            .saturating_add(tinit.cost)
            .saturating_add(tr.size.saturating_mul(per_item))
            .saturating_add(tres.cost);
        let size = if matches!(tres.ty, Ty::List(_)) { tr.size } else { tres.size };
        let ir = Ir::Comprehension(Box::new(Comprehension { range, iter, iter2, accu, init, cond, step, result }));
        Some((ir, Typed { ty: tres.ty, cost, size }))
    }

    /// The message literals of Kubernetes' MutatingAdmissionPolicy: `Object{...}` and its
    /// nested types (`Object.spec.template{...}`), the partial object an `applyConfiguration`
    /// gives, and `JSONPatch{op, path, from, value}`; both are maps of their fields.
    pub(super) fn structure(&mut self, e: &IdedExpr, s: &StructExpr) -> Out {
        let patch = s.type_name == "JSONPatch";
        if !patch && s.type_name != "Object" && !s.type_name.starts_with("Object.") {
            return self.problem(
                e,
                format!("message literals (`{}{{...}}`) are not supported", s.type_name),
                Some("only `Object{...}` and `JSONPatch{...}`, as in a MutatingAdmissionPolicy; else build a map: `{'key': value}`".into()),
            );
        }
        let mut entries = Vec::with_capacity(s.entries.len());
        let mut cost: u64 = 1;
        for entry in &s.entries {
            let EntryExpr::StructField(f) = &entry.expr else {
                return self.problem(e, "a message literal holds `field: value` entries".into(), None);
            };
            let (value, typed) = self.compile(&f.value)?;
            if patch {
                match f.field.as_str() {
                    "op" | "path" | "from" if !matches!(typed.ty, Ty::String | Ty::Dyn) => {
                        let message = format!("`JSONPatch.{}` is a string, not a {}", f.field, typed.ty);
                        return self.problem(&f.value, message, None);
                    }
                    "op" | "path" | "from" | "value" => {}
                    other => {
                        let help = crate::error::did_you_mean(other, ["op", "path", "from", "value"])
                            .map(|s| format!("did you mean `{s}`?"));
                        return self.problem(e, format!("`JSONPatch` has no field `{other}`"), help);
                    }
                }
            }
            cost = cost.saturating_add(typed.cost);
            entries.push((Ir::Const(Const::Str(f.field.as_str().into())), value, f.optional));
        }
        // A message, as Kubernetes types it: a map of its fields at run time, and `null` may
        // stand where one is due (`cond ? JSONPatch{...} : null`).
        let size = entries.len() as u64;
        Some((Ir::Map(entries.into()), Typed { ty: Ty::Object(Vec::new()), cost, size }))
    }
}
