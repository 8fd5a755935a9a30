//! The interpreter: walks a program over borrowed values, counting its cost as it goes.

use std::rc::Rc;

use super::budget::Budget;
use super::functions::{borrowed, no_overload};
use super::ir::{traversal, Cmp, Const, Ir};
use super::value::Error;
use super::value::{List, Map, Value};
use std::cell::RefCell;

/// One evaluation: the activation, the locals' slots and the cost spent.
pub(crate) struct Eval<'a, 'r> {
    pub act: &'r Activation<'a>,
    pub locals: Locals<'a>,
    pub cost: u64,
    pub limit: u64,
    /// The cost at which [`Eval::checkpoint`] next looks at the limit and the budget.
    next: u64,
    /// How much of `cost` the evaluation's budget has been told of.
    told: u64,
}

/// How much cost an expression spends between two looks at its evaluation's budget.
const CHECK_EVERY: u64 = 4096;

type R<'a> = Result<Value<'a>, Error>;

/// The slots of comprehension and `cel.bind` variables: on the stack for all but deep nests.
pub(crate) type Locals<'a> = smallvec::SmallVec<[Value<'a>; 6]>;

/// `n` empty slots.
pub(crate) fn locals<'a>(n: usize) -> Locals<'a> {
    smallvec::smallvec![Value::Null; n]
}

impl<'a, 'r> Eval<'a, 'r> {
    fn new(act: &'r Activation<'a>, slots: usize, cost: u64, limit: u64) -> Self {
        let next = if act.budget.is_some() { limit.min(cost.saturating_add(CHECK_EVERY)) } else { limit };
        Eval { act, locals: locals(slots), cost, limit, next, told: cost }
    }

    #[inline]
    fn charge(&mut self, n: u64) -> Result<(), Error> {
        self.cost = self.cost.saturating_add(n);
        if self.cost > self.next {
            return self.checkpoint();
        }
        Ok(())
    }

    /// Past the expression's limit, or time to tell the budget what was spent and learn
    /// whether the evaluation may go on.
    #[cold]
    fn checkpoint(&mut self) -> Result<(), Error> {
        if self.cost > self.limit {
            return Err(Error::budget(self.limit));
        }
        self.tell()?;
        self.next = self.limit.min(self.cost.saturating_add(CHECK_EVERY));
        Ok(())
    }

    /// Tells the budget (if any) the cost spent since it was last told.
    fn tell(&mut self) -> Result<(), Error> {
        let Some(budget) = self.act.budget else { return Ok(()) };
        let spent = self.cost.saturating_sub(self.told);
        self.told = self.cost;
        budget.spend(spent)
    }

    fn local(&self, slot: usize) -> R<'a> {
        match self.locals.get(slot) {
            Some(Value::Error(e)) => Err((**e).clone()),
            Some(v) => Ok(v.clone()),
            None => Ok(Value::Null),
        }
    }

    fn set(&mut self, slot: usize, v: Value<'a>) {
        if let Some(l) = self.locals.get_mut(slot) {
            *l = v;
        }
    }

    fn bool(&mut self, ir: &'a Ir) -> Result<bool, Error> {
        match self.eval(ir)? {
            Value::Bool(b) => Ok(b),
            other => Err(Error::new(format!("expected a bool, got {}", other.type_name()))),
        }
    }

    /// Evaluates one node. A value that is an error when read (a Terraform plan's unknown, an
    /// accumulator's error) is the error here.
    #[inline]
    pub(crate) fn eval(&mut self, ir: &'a Ir) -> R<'a> {
        match self.node(ir) {
            Ok(Value::Error(e)) => Err((*e).clone()),
            r => r,
        }
    }

    /// Evaluates one node: the leaves here, each family of the others in a method of its own
    /// (field access, optionals, indexing, logic, comparison, building).
    fn node(&mut self, ir: &'a Ir) -> R<'a> {
        match ir {
            Ir::Const(c) => Ok(constant(c)),
            Ir::Root(slot) => {
                self.charge(1)?;
                Ok(self.act.roots.get(*slot).cloned().unwrap_or(Value::Null))
            }
            Ir::Local(slot) => {
                self.charge(1)?;
                self.local(*slot)
            }
            Ir::Var(i) => {
                self.charge(1)?;
                self.act.variable(*i, self)
            }
            Ir::Select(o, field) => self.select(o, field),
            Ir::Has(o, field) => self.has(o, field),
            Ir::OptSelect(o, field) => self.opt_select(o, field),
            Ir::OptPath { base, path, default } => self.opt_path(base, path, default),
            Ir::OptMap { slot, optional, body, flat } => self.opt_map(*slot, optional, body, *flat),
            Ir::Index(a, b) => self.index(a, b, false),
            Ir::OptIndex(a, b) => self.index(a, b, true),
            // `&&` and `||` are commutative over errors: `false && error` is false either way
            // round. Running out of budget is never absorbed.
            Ir::And(a, b) => self.logic(a, b, false),
            Ir::Or(a, b) => self.logic(a, b, true),
            Ir::Not(a) => {
                self.charge(1)?;
                Ok(Value::Bool(!self.bool(a)?))
            }
            Ir::Cond(c, a, b) => {
                if self.bool(c)? {
                    self.eval(a)
                } else {
                    self.eval(b)
                }
            }
            Ir::NotStrictlyFalse(a) => match self.eval(a) {
                Ok(Value::Bool(false)) => Ok(Value::Bool(false)),
                Err(e) if e.over_budget => Err(e),
                _ => Ok(Value::Bool(true)),
            },
            Ir::Eq(a, b) => self.equals(a, b, true),
            Ir::Ne(a, b) => self.equals(a, b, false),
            Ir::Cmp(a, b, cmp) => self.compare(a, b, *cmp),
            Ir::InConsts(a, consts) => {
                let x = self.eval(a)?;
                self.charge(1 + consts.len() as u64)?;
                Ok(Value::Bool(consts.iter().any(|c| constant(c).equals(&x))))
            }
            Ir::In(a, b) => self.contains(a, b),
            Ir::Call(f, args, regex) => self.call(f, args, regex.as_deref()),
            Ir::List(items, optional) => self.list(items, optional),
            Ir::Map(entries) => self.map(entries),
            Ir::Append(slot, items) => self.append(*slot, items),
            Ir::Insert(slot, key, value) => self.insert(*slot, key, value),
            Ir::Comprehension(c) => self.comprehension(c),
            Ir::Bind(slot, init, body) => {
                let v = self.eval(init)?;
                self.set(*slot, v);
                self.eval(body)
            }
        }
    }

    /// `o.field`; from an optional, an optional.
    #[inline]
    fn select(&mut self, o: &'a Ir, field: &str) -> R<'a> {
        let v = self.eval(o)?;
        self.charge(1)?;
        match v {
            // Selecting from an optional chains: the result is optional too.
            Value::Optional(None) => Ok(Value::Optional(None)),
            Value::Optional(Some(inner)) => Ok(Value::Optional(opt_field(&inner, field)?.map(Rc::new))),
            v => select(&v, field),
        }
    }

    /// `has(o.field)`.
    fn has(&mut self, o: &'a Ir, field: &str) -> R<'a> {
        let v = self.eval(o)?;
        self.charge(1)?;
        match v {
            Value::Map(m) => Ok(Value::Bool(m.field(field).is_some())),
            Value::Optional(None) => Ok(Value::Bool(false)),
            Value::Optional(Some(inner)) => match &*inner {
                Value::Map(m) => Ok(Value::Bool(m.field(field).is_some())),
                other => Err(Error::new(format!("has() on a {}, not a map", other.type_name()))),
            },
            other => Err(Error::new(format!("has() on a {}, not a map", other.type_name()))),
        }
    }

    /// `o.?field`.
    fn opt_select(&mut self, o: &'a Ir, field: &str) -> R<'a> {
        let v = self.eval(o)?;
        self.charge(1)?;
        let found = match v {
            Value::Optional(None) => None,
            Value::Optional(Some(inner)) => opt_field(&inner, field)?,
            other => opt_field(&other, field)?,
        };
        Ok(Value::Optional(found.map(Rc::new)))
    }

    /// `base.?a.?b.orValue(default)`, without an optional made on the way.
    fn opt_path(&mut self, base: &'a Ir, path: &[Box<str>], default: &'a Ir) -> R<'a> {
        let mut v = self.eval(base)?;
        for field in path {
            self.charge(1)?;
            let found = match &v {
                Value::Optional(None) => None,
                Value::Optional(Some(inner)) => opt_field(inner, field)?,
                other => opt_field(other, field)?,
            };
            match found {
                Some(next) => v = next,
                None => return self.eval(default),
            }
        }
        self.charge(1)?;
        Ok(v)
    }

    /// `optional.optMap(x, body)`, or `optFlatMap` when `flat`.
    fn opt_map(&mut self, slot: usize, optional: &'a Ir, body: &'a Ir, flat: bool) -> R<'a> {
        let Value::Optional(o) = self.eval(optional)? else {
            return Err(Error::new("optMap and optFlatMap apply to an optional"));
        };
        let Some(inner) = o else { return Ok(Value::Optional(None)) };
        self.set(slot, (*inner).clone());
        match (flat, self.eval(body)?) {
            (true, o @ Value::Optional(_)) => Ok(o),
            (true, other) => Err(Error::new(format!("optFlatMap needs an optional, got {}", other.type_name()))),
            (false, v) => Ok(Value::Optional(Some(Rc::new(v)))),
        }
    }

    /// `a[b]`, or `a[?b]` when `optional`; indexing an optional makes an optional.
    fn index(&mut self, a: &'a Ir, b: &'a Ir, optional: bool) -> R<'a> {
        let (x, k) = (self.eval(a)?, self.eval(b)?);
        self.charge(1)?;
        let found = match &x {
            Value::Optional(None) => return Ok(Value::Optional(None)),
            Value::Optional(Some(inner)) => return Ok(Value::Optional(index(inner, &k)?.map(Rc::new))),
            x => index(x, &k)?,
        };
        if optional {
            return Ok(Value::Optional(found.map(Rc::new)));
        }
        found.ok_or_else(|| match x {
            Value::List(_) => Error::new(format!("index out of range: {k}")),
            _ => Error::new(format!("no such key: {k}")),
        })
    }

    /// `a == b`, or `a != b` when not `equal`: paid by the smaller side's size.
    #[inline]
    fn equals(&mut self, a: &'a Ir, b: &'a Ir, equal: bool) -> R<'a> {
        let (x, y) = (self.eval(a)?, self.eval(b)?);
        self.charge(1 + traversal(x.size_hint().min(y.size_hint())))?;
        Ok(Value::Bool(x.equals(&y) == equal))
    }

    /// `<`, `<=`, `>`, `>=`; values of no common order compare false.
    fn compare(&mut self, a: &'a Ir, b: &'a Ir, cmp: Cmp) -> R<'a> {
        let (x, y) = (self.eval(a)?, self.eval(b)?);
        self.charge(1 + traversal(x.size_hint().min(y.size_hint())))?;
        let Some(o) = x.compare(&y)? else { return Ok(Value::Bool(false)) };
        Ok(Value::Bool(match cmp {
            Cmp::Lt => o.is_lt(),
            Cmp::Le => o.is_le(),
            Cmp::Gt => o.is_gt(),
            Cmp::Ge => o.is_ge(),
        }))
    }

    /// `a in b`: an element of a list, a key of a map.
    fn contains(&mut self, a: &'a Ir, b: &'a Ir) -> R<'a> {
        let (x, c) = (self.eval(a)?, self.eval(b)?);
        match c {
            Value::List(l) => {
                self.charge(1 + l.len() as u64)?;
                if l.iter().any(|v| v.equals(&x)) {
                    return Ok(Value::Bool(true));
                }
                // Not found among the known items: unknown if some item is known only after apply.
                match l.iter().find_map(|v| if let Value::Error(e) = v { Some(e) } else { None }) {
                    Some(e) => Err((*e).clone()),
                    None => Ok(Value::Bool(false)),
                }
            }
            Value::Map(m) => {
                self.charge(1)?;
                Ok(Value::Bool(m.get(&x).is_some()))
            }
            other => Err(Error::no_overload("@in", &[&x, &other])),
        }
    }

    /// `accu[key] = value` inside `transformMap`: the accumulator taken from its slot and
    /// changed in place.
    fn insert(&mut self, slot: usize, key: &'a Ir, value: &'a Ir) -> R<'a> {
        let mut accu = std::mem::replace(self.locals.get_mut(slot).ok_or_else(|| Error::new("bad slot"))?, Value::Null);
        let (k, v) = (self.eval(key)?, self.eval(value)?);
        self.charge(1)?;
        if let Value::Map(Map::Owned(rc)) = &mut accu {
            let entries = Rc::make_mut(rc);
            match entries.iter_mut().find(|(x, _)| x.equals(&k)) {
                Some(entry) => entry.1 = v,
                None => entries.push((k, v)),
            }
        }
        Ok(accu)
    }

    fn call(&mut self, f: &'static super::functions::Func, args: &'a [Ir], regex: Option<&'a regex::Regex>) -> R<'a> {
        let mut values: smallvec::SmallVec<[Value<'a>; 3]> = smallvec::SmallVec::new();
        let mut read = 0u64;
        for a in args.iter() {
            let v = self.eval(a)?;
            // `size` reads a length, not the value (as Kubernetes counts it).
            if matches!(v, Value::Str(_) | Value::Bytes(_) | Value::List(_)) && f.name != "size" {
                read = read.saturating_add(traversal(v.size_hint()));
            }
            values.push(v);
        }
        self.charge(1 + read)?;
        let out = (f.imp)(&values, regex)?;
        // What a call builds is paid for by its size, so no expression can allocate
        // more than its budget allows.
        if let Value::Str(super::value::Str::Owned(_))
        | Value::Bytes(_)
        | Value::List(List::Owned(_))
        | Value::Map(Map::Owned(_)) = &out
        {
            self.charge(traversal(out.size_hint()))?;
        }
        Ok(out)
    }

    fn list(&mut self, items: &'a [Ir], optional: &[usize]) -> R<'a> {
        self.charge(1 + items.len() as u64)?;
        let mut out = Vec::with_capacity(items.len());
        for (i, x) in items.iter().enumerate() {
            let v = self.eval(x)?;
            if optional.contains(&i) {
                match v {
                    Value::Optional(Some(inner)) => out.push((*inner).clone()),
                    Value::Optional(None) => {}
                    other => {
                        return Err(Error::new(format!("`?` in a list needs an optional, got {}", other.type_name())))
                    }
                }
            } else {
                out.push(v);
            }
        }
        Ok(Value::list(out))
    }

    fn map(&mut self, entries: &'a [(Ir, Ir, bool)]) -> R<'a> {
        self.charge(1 + entries.len() as u64)?;
        let mut out: Vec<(Value<'a>, Value<'a>)> = Vec::with_capacity(entries.len());
        for (k, v, optional) in entries.iter() {
            let key = self.eval(k)?;
            if !matches!(key, Value::Str(_) | Value::Int(_) | Value::Uint(_) | Value::Bool(_)) {
                return Err(Error::new(format!("a map key cannot be a {}", key.type_name())));
            }
            if out.iter().any(|(x, _)| x.equals(&key)) {
                return Err(Error::new(format!("the map literal has the key {key} twice")));
            }
            let value = self.eval(v)?;
            match (optional, value) {
                (true, Value::Optional(Some(inner))) => out.push((key, (*inner).clone())),
                (true, Value::Optional(None)) => {}
                (true, other) => {
                    return Err(Error::new(format!("`?` in a map needs an optional, got {}", other.type_name())))
                }
                (false, value) => out.push((key, value)),
            }
        }
        Ok(Value::Map(Map::Owned(Rc::new(out))))
    }

    fn append(&mut self, slot: usize, items: &'a [Ir]) -> R<'a> {
        let mut accu = std::mem::replace(self.locals.get_mut(slot).ok_or_else(|| Error::new("bad slot"))?, Value::Null);
        self.charge(1 + items.len() as u64)?;
        let mut extra = Vec::with_capacity(items.len());
        for x in items.iter() {
            extra.push(self.eval(x)?);
        }
        let out = match &mut accu {
            Value::List(List::Owned(rc)) => {
                Rc::make_mut(rc).extend(extra);
                accu
            }
            Value::List(List::Json(a)) => {
                let mut v: Vec<Value<'a>> = a.iter().map(Value::json).collect();
                v.extend(extra);
                Value::list(v)
            }
            other => return Err(Error::no_overload("_+_", &[other, &Value::list(extra)])),
        };
        Ok(out)
    }

    fn comprehension(&mut self, c: &'a super::ir::Comprehension) -> R<'a> {
        let range = self.eval(&c.range)?;
        let init = self.eval(&c.init)?;
        self.set(c.accu, init);
        let items: Box<dyn Iterator<Item = (Value<'a>, Value<'a>)>> = match &range {
            Value::List(List::Json(a)) => {
                let a: &'a [serde_json::Value] = a;
                Box::new(a.iter().enumerate().map(|(i, v)| (Value::Int(i as i64), Value::json(v))))
            }
            Value::List(l) => Box::new(l.to_vec().into_iter().enumerate().map(|(i, v)| (Value::Int(i as i64), v))),
            Value::Map(m) => Box::new(m.iter().collect::<Vec<_>>().into_iter()),
            other => return Err(Error::new(format!("a {} cannot be iterated", other.type_name()))),
        };
        let is_map = matches!(range, Value::Map(_));
        for (first, second) in items {
            self.charge(1)?;
            match c.iter2 {
                Some(slot2) => {
                    self.set(c.iter, first);
                    self.set(slot2, second);
                }
                None => self.set(c.iter, if is_map { first } else { second }),
            }
            if !self.bool_or_true(&c.cond)? {
                break;
            }
            // An error is kept as the accumulator's value: a later step may absorb it
            // (`false && error`); running out of budget is never kept.
            let next = match self.eval(&c.step) {
                Ok(v) => v,
                Err(e) if e.over_budget => return Err(e),
                Err(e) => Value::Error(Rc::new(e)),
            };
            self.set(c.accu, next);
        }
        self.eval(&c.result)
    }

    /// A loop condition: errors keep the loop going (the step decides).
    fn bool_or_true(&mut self, ir: &'a Ir) -> Result<bool, Error> {
        match self.eval(ir) {
            Ok(Value::Bool(b)) => Ok(b),
            Err(e) if e.over_budget => Err(e),
            _ => Ok(true),
        }
    }

    fn logic(&mut self, a: &'a Ir, b: &'a Ir, or: bool) -> R<'a> {
        self.charge(1)?;
        let decisive = |v: &R<'a>| matches!(v, Ok(Value::Bool(x)) if *x == or);
        let x = self.eval(a);
        if decisive(&x) {
            return x;
        }
        if let Err(e) = &x {
            if e.over_budget {
                return x;
            }
        }
        let y = self.eval(b);
        if decisive(&y) {
            return y;
        }
        match (x, y) {
            // An error decides over an unknown: what failed is not what may pass after apply.
            (Err(e), Err(f)) => Err(if e.unknown { f } else { e }),
            (Err(e), _) | (_, Err(e)) => Err(e),
            (Ok(Value::Bool(_)), Ok(Value::Bool(_))) => Ok(Value::Bool(!or)),
            (Ok(p), Ok(q)) => Err(no_overload(if or { "_||_" } else { "_&&_" }, &[p, q])),
        }
    }
}

/// A literal's value, borrowing its text from the program.
pub(super) fn constant(c: &Const) -> Value<'_> {
    match c {
        Const::Null => Value::Null,
        Const::Bool(b) => Value::Bool(*b),
        Const::Int(i) => Value::Int(*i),
        Const::Uint(u) => Value::Uint(*u),
        Const::Double(d) => Value::Double(*d),
        Const::Str(s) => borrowed(s),
        Const::Bytes(b) => Value::Bytes(Rc::from(&b[..])),
        Const::Type(k) => Value::Type(*k),
        Const::EmptyList => Value::list(Vec::new()),
        Const::EmptyMap => Value::Map(Map::Owned(Rc::new(Vec::new()))),
    }
}

fn select<'a>(v: &Value<'a>, field: &str) -> R<'a> {
    match v {
        Value::Map(m) => m.field(field).ok_or_else(|| Error::new(format!("no such key: {field}"))),
        other => Err(Error::new(format!("a {} has no field `{field}`", other.type_name()))),
    }
}

fn opt_field<'a>(v: &Value<'a>, field: &str) -> Result<Option<Value<'a>>, Error> {
    match v {
        Value::Map(m) => Ok(m.field(field)),
        other => Err(Error::new(format!("a {} has no field `{field}`", other.type_name()))),
    }
}

/// `x[k]`: `None` when the key or index is absent.
fn index<'a>(x: &Value<'a>, k: &Value<'a>) -> Result<Option<Value<'a>>, Error> {
    match (x, k) {
        (Value::List(l), Value::Int(i)) => Ok(usize::try_from(*i).ok().and_then(|i| l.get(i))),
        (Value::List(l), Value::Uint(i)) => Ok(usize::try_from(*i).ok().and_then(|i| l.get(i))),
        (Value::List(l), Value::Double(d)) if d.fract() == 0.0 && *d >= 0.0 =>
        {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(l.get(*d as usize))
        }
        (Value::Map(m), key) => Ok(m.get(key)),
        _ => Err(Error::no_overload("_[_]", &[x, k])),
    }
}

/// The most an expression may cost at run time, per evaluation (Kubernetes' `PerCallLimit`).
pub(crate) const RUNTIME_LIMIT: u64 = 1_000_000;
/// A compiled expression.
#[derive(Debug)]
pub(crate) struct Program {
    pub source: String,
    pub(super) ir: Ir,
    /// The static type of the result.
    pub ty: super::types::Ty,
    /// The largest size (length of a string or list) of the result.
    pub size: u64,
    pub(super) locals: usize,
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
    /// The evaluation's budget, when it has one.
    budget: Option<&'a Budget>,
}

impl<'a> Activation<'a> {
    pub(crate) fn new(
        roots: impl IntoIterator<Item = Value<'a>>,
        variables: &'a [Program],
        dependent: &'a [bool],
    ) -> Self {
        let roots = roots.into_iter().collect();
        let empty = || RefCell::new(vec![None; variables.len()]);
        Activation { roots, variables, dependent, shared: std::rc::Rc::new(empty()), own: empty(), budget: None }
    }

    /// The same activation, its expressions spending from `budget`.
    pub(crate) fn within(mut self, budget: Option<&'a Budget>) -> Self {
        self.budget = budget;
        self
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
            budget: self.budget,
        }
    }

    fn variable(&self, i: usize, outer: &mut Eval<'a, '_>) -> Result<Value<'a>, Error> {
        let cache = if self.dependent.get(i).copied().unwrap_or(true) { &self.own } else { &*self.shared };
        if let Some(Some(done)) = cache.borrow().get(i) {
            return done.clone();
        }
        let Some(program) = self.variables.get(i) else {
            return Err(Error::new("unknown variable"));
        };
        let mut inner = Eval::new(self, program.locals, outer.cost, outer.limit);
        inner.told = outer.told;
        let out = inner.eval(&program.ir);
        outer.cost = inner.cost;
        outer.told = inner.told;
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
            Ir::Root(s) => *s == slot,
            Ir::Var(v) => reads_variable(*v),
            _ => false,
        })
    }

    /// Evaluates over `act`, within the runtime budget.
    pub(crate) fn eval<'a>(&'a self, act: &Activation<'a>) -> Result<Value<'a>, Error> {
        self.eval_counted(act).0
    }

    /// Evaluates, and says what it cost.
    pub(crate) fn eval_counted<'a>(&'a self, act: &Activation<'a>) -> (Result<Value<'a>, Error>, u64) {
        let mut e = Eval::new(act, self.locals, 0, RUNTIME_LIMIT);
        let out = e.eval(&self.ir);
        // What is left is told at the end; an error it gives stops the next rule, not this.
        let _ = e.tell();
        (out, e.cost)
    }
}
