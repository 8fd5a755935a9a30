//! The compiled form of an expression: its nodes (what the interpreter runs), their static
//! types and worst-case costs, and the bounds the estimate assumes.

use std::sync::Arc;

use regex::Regex;

use super::functions::Func;
use super::types::{Kind, Ty};

/// The most bytes of JSON an object can be (Kubernetes' request limit): it bounds every string
/// read from one.
pub(crate) const MAX_OBJECT_BYTES: u64 = 3 * 1024 * 1024;

/// How many items the estimate assumes a list or map read from an object holds when no schema
/// bounds it. A real object of 3 MiB could hold more; the run-time budget stops an expression
/// on such an object, and this bound makes the estimate reject what is expensive on ordinary
/// ones: iterating one unbounded list inside another.
pub(crate) const ASSUMED_ITEMS: u64 = 10_000;

/// A compiled node.
#[derive(Debug)]
pub(crate) enum Ir {
    Const(Const),
    /// A variable of the environment (`object`, `params`, ...), by slot.
    Root(usize),
    /// A comprehension's or `cel.bind`'s variable, by slot.
    Local(usize),
    /// A named variable (`variables.x`), evaluated once, when first used.
    Var(usize),
    Select(Box<Ir>, Box<str>),
    Has(Box<Ir>, Box<str>),
    OptSelect(Box<Ir>, Box<str>),
    Index(Box<Ir>, Box<Ir>),
    OptIndex(Box<Ir>, Box<Ir>),
    And(Box<Ir>, Box<Ir>),
    Or(Box<Ir>, Box<Ir>),
    Not(Box<Ir>),
    Cond(Box<Ir>, Box<Ir>, Box<Ir>),
    NotStrictlyFalse(Box<Ir>),
    Eq(Box<Ir>, Box<Ir>),
    Ne(Box<Ir>, Box<Ir>),
    Cmp(Box<Ir>, Box<Ir>, Cmp),
    In(Box<Ir>, Box<Ir>),
    /// `x in [literals]`: compared with the literals where they are, no list is built.
    InConsts(Box<Ir>, Box<[Const]>),
    Call(&'static Func, Box<[Ir]>, Option<Arc<Regex>>),
    List(Box<[Ir]>, Box<[usize]>),
    Map(Box<[(Ir, Ir, bool)]>),
    /// `accu + [elements]` inside a comprehension: appended in place.
    Append(usize, Box<[Ir]>),
    Comprehension(Box<Comprehension>),
    /// `cel.bind(name, init, body)`.
    Bind(usize, Box<Ir>, Box<Ir>),
    /// `opt.optMap(x, body)` and `opt.optFlatMap(x, body)`.
    OptMap {
        slot: usize,
        optional: Box<Ir>,
        body: Box<Ir>,
        flat: bool,
    },
    /// `x.?a.?b.orValue(d)`: the fields looked up in turn, `d` where one is missing; no optional
    /// is made on the way.
    OptPath {
        base: Box<Ir>,
        path: Box<[Box<str>]>,
        default: Box<Ir>,
    },
    /// `accu[key] = value` inside `transformMap`, in place.
    Insert(usize, Box<Ir>, Box<Ir>),
}

impl Ir {
    /// Whether `f` holds for this node or any node inside it.
    pub(crate) fn any(&self, f: &dyn Fn(&Ir) -> bool) -> bool {
        if f(self) {
            return true;
        }
        match self {
            Ir::Const(_) | Ir::Root(_) | Ir::Local(_) | Ir::Var(_) => false,
            Ir::Select(a, _) | Ir::Has(a, _) | Ir::OptSelect(a, _) | Ir::Not(a) | Ir::NotStrictlyFalse(a) => a.any(f),
            Ir::Index(a, b)
            | Ir::OptIndex(a, b)
            | Ir::And(a, b)
            | Ir::Or(a, b)
            | Ir::Eq(a, b)
            | Ir::Ne(a, b)
            | Ir::Cmp(a, b, _)
            | Ir::In(a, b)
            | Ir::Bind(_, a, b)
            | Ir::Insert(_, a, b) => a.any(f) || b.any(f),
            Ir::InConsts(a, _) => a.any(f),
            Ir::Cond(a, b, c) => a.any(f) || b.any(f) || c.any(f),
            Ir::Call(_, args, _) | Ir::List(args, _) | Ir::Append(_, args) => args.iter().any(|a| a.any(f)),
            Ir::Map(entries) => entries.iter().any(|(k, v, _)| k.any(f) || v.any(f)),
            Ir::Comprehension(c) => [&c.range, &c.init, &c.cond, &c.step, &c.result].iter().any(|x| x.any(f)),
            Ir::OptMap { optional, body, .. } => optional.any(f) || body.any(f),
            Ir::OptPath { base, default, .. } => base.any(f) || default.any(f),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Comprehension {
    pub range: Ir,
    pub iter: usize,
    pub iter2: Option<usize>,
    pub accu: usize,
    pub init: Ir,
    pub cond: Ir,
    pub step: Ir,
    pub result: Ir,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Cmp {
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug)]
pub(crate) enum Const {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(Box<str>),
    Bytes(Arc<[u8]>),
    Type(Kind),
    /// A fresh list or map (a comprehension's accumulator starts as one).
    EmptyList,
    EmptyMap,
}

/// A node's type and its worst case: the cost of evaluating it and the largest size (length of
/// a string or list) its value can have.
#[derive(Debug, Clone)]
pub(crate) struct Typed {
    pub ty: Ty,
    pub cost: u64,
    pub size: u64,
}

impl Typed {
    pub(super) fn new(ty: Ty, cost: u64) -> Typed {
        let size = max_size(&ty);
        Typed { ty, cost, size }
    }
}

/// The largest size a value of this type is assumed to have when it comes from an object.
pub(crate) fn max_size(ty: &Ty) -> u64 {
    match ty {
        Ty::String | Ty::Bytes => MAX_OBJECT_BYTES,
        Ty::List(_) | Ty::Map(..) | Ty::Object(_) | Ty::Dyn => ASSUMED_ITEMS,
        _ => 1,
    }
}

/// The cost of reading a value of `size` (strings and lists are read a tenth at a time, as
/// Kubernetes counts them).
pub(crate) fn traversal(size: u64) -> u64 {
    size.div_ceil(10)
}

/// The estimated cost of reading a value of at most `size`: a string that only the object's own
/// limit bounds is not charged here (the run-time budget charges what is really read).
pub(super) fn estimated_traversal(size: u64) -> u64 {
    if size >= MAX_OBJECT_BYTES {
        0
    } else {
        traversal(size)
    }
}
