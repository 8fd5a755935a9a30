//! Lists: the lists extension and Kubernetes' list library.

use std::cmp::Ordering;

use regex::Regex;

use super::args::{int, list};
use super::arith::add;
use super::strings::index_arg;
use crate::cel::types::Kind;
use crate::cel::value::{Error, List, Value};

pub(super) fn sum<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let l = list(a, 0)?;
    let mut total: Option<Value<'a>> = None;
    for v in l.iter() {
        total = Some(match total {
            None => v,
            Some(t) => add(&[t, v], None)?,
        });
    }
    Ok(total.unwrap_or(Value::Int(0)))
}

pub(super) fn extreme<'a>(a: &[Value<'a>], want: Ordering) -> Result<Value<'a>, Error> {
    let l = list(a, 0)?;
    let mut best: Option<Value<'a>> = None;
    for v in l.iter() {
        best = Some(match best {
            None => v,
            Some(b) => {
                if v.compare(&b)? == Some(want) {
                    v
                } else {
                    b
                }
            }
        });
    }
    best.ok_or_else(|| Error::new("min and max of an empty list are undefined"))
}

pub(super) fn greatest<'a>(a: &[Value<'a>], want: Ordering) -> Result<Value<'a>, Error> {
    let items: Vec<Value<'a>> = match a {
        [Value::List(l)] => l.to_vec(),
        _ => a.to_vec(),
    };
    let mut best: Option<Value<'a>> = None;
    for v in items {
        if !matches!(v, Value::Int(_) | Value::Uint(_) | Value::Double(_)) {
            return Err(Error::new(format!("math.greatest and math.least take numbers, not {}", v.type_name())));
        }
        best = Some(match best {
            None => v,
            Some(b) => {
                if v.compare(&b)? == Some(want) {
                    v
                } else {
                    b
                }
            }
        });
    }
    best.ok_or_else(|| Error::new("math.greatest and math.least need at least one number"))
}

pub(super) fn slice<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let l = list(a, 0)?;
    let (start, end) = (index_arg(a, 1, l.len())?, index_arg(a, 2, l.len())?);
    if start > end {
        return Err(Error::new(format!("invalid slice: start {start} is after end {end}")));
    }
    Ok(Value::list((start..end).filter_map(|i| l.get(i)).collect()))
}

pub(super) fn flatten<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let depth = if a.len() > 1 { int(a, 1)? } else { 1 };
    if depth < 0 {
        return Err(Error::new("flatten: the depth cannot be negative"));
    }
    fn go<'a>(l: &List<'a>, depth: i64, out: &mut Vec<Value<'a>>) {
        for v in l.iter() {
            match v {
                Value::List(inner) if depth > 0 => go(&inner, depth - 1, out),
                other => out.push(other),
            }
        }
    }
    let mut out = Vec::new();
    go(list(a, 0)?, depth, &mut out);
    Ok(Value::list(out))
}

pub(super) fn distinct<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let mut out: Vec<Value<'a>> = Vec::new();
    for v in list(a, 0)?.iter() {
        if !out.iter().any(|o| o.equals(&v)) {
            out.push(v);
        }
    }
    Ok(Value::list(out))
}

pub(super) fn sort<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let mut v = list(a, 0)?.to_vec();
    if let Some(first) = v.first() {
        let kind = first.kind();
        if v.iter().any(|x| x.kind() != kind) || matches!(kind, Kind::List | Kind::Map | Kind::Null | Kind::Optional) {
            return Err(Error::new("sort: the list must hold values of one comparable type"));
        }
    }
    let mut failed = None;
    v.sort_by(|x, y| match x.compare(y) {
        Ok(o) => o.unwrap_or(Ordering::Equal),
        Err(e) => {
            failed = Some(e);
            Ordering::Equal
        }
    });
    failed.map_or(Ok(Value::list(v)), Err)
}

pub(super) fn range<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let n = int(a, 0)?;
    if !(0..=1_000_000).contains(&n) {
        return Err(Error::new(format!("lists.range({n}): the length must be 0 to 1000000")));
    }
    Ok(Value::list((0..n).map(Value::Int).collect()))
}

/// Whether every element of `small` is in `big`: strings, ints and bools are looked up in a hash
/// set, so comparing two lists of thousands of hosts stays linear.
pub(super) fn subset(small: &List<'_>, big: &List<'_>) -> bool {
    use std::collections::HashSet;
    #[derive(PartialEq, Eq, Hash)]
    enum Key<'k> {
        Str(&'k str),
        Int(i128),
        Bool(bool),
    }
    fn key<'k>(v: &'k Value<'_>) -> Option<Key<'k>> {
        match v {
            Value::Str(s) => Some(Key::Str(s)),
            Value::Int(i) => Some(Key::Int(i128::from(*i))),
            Value::Uint(u) => Some(Key::Int(i128::from(*u))),
            Value::Bool(b) => Some(Key::Bool(*b)),
            _ => None,
        }
    }
    let big_items = big.to_vec();
    let mut index: HashSet<Key<'_>> = HashSet::with_capacity(big_items.len());
    let mut others: Vec<&Value<'_>> = Vec::new();
    for v in &big_items {
        match key(v) {
            Some(k) => {
                index.insert(k);
            }
            None => others.push(v),
        }
    }
    small.iter().all(|x| match key(&x) {
        // A double may equal an int of the other list: those are compared one by one.
        Some(k) if index.contains(&k) => true,
        _ => big_items.iter().any(|y| x.equals(y)) || others.iter().any(|y| x.equals(y)),
    })
}
