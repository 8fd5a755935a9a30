//! Reading a call's arguments: each by its type, with CEL's error when it has another.

use std::cmp::Ordering;
use std::net::IpAddr;
use std::rc::Rc;

use crate::cel::ext::{Cidr, Ext, Url};
use crate::cel::value::{Error, List, Str, Value};
use crate::k8s::Quantity;

pub(super) fn arg<'v, 'a>(a: &'v [Value<'a>], i: usize) -> Result<&'v Value<'a>, Error> {
    a.get(i).ok_or_else(|| Error::new("missing argument"))
}

pub(crate) fn no_overload(name: &str, a: &[Value<'_>]) -> Error {
    Error::no_overload(name, &a.iter().collect::<Vec<_>>())
}

pub(super) fn s<'v>(a: &'v [Value<'_>], i: usize) -> Result<&'v str, Error> {
    match arg(a, i)? {
        Value::Str(s) => Ok(s),
        other => Err(Error::new(format!("expected a string, got {}", other.type_name()))),
    }
}

pub(super) fn int(a: &[Value<'_>], i: usize) -> Result<i64, Error> {
    match arg(a, i)? {
        Value::Int(i) => Ok(*i),
        other => Err(Error::new(format!("expected an int, got {}", other.type_name()))),
    }
}

pub(super) fn d(a: &[Value<'_>], i: usize) -> Result<f64, Error> {
    match arg(a, i)? {
        Value::Double(d) => Ok(*d),
        other => Err(Error::new(format!("expected a double, got {}", other.type_name()))),
    }
}

#[allow(clippy::cast_precision_loss)]
pub(super) fn num(a: &[Value<'_>], i: usize) -> Result<f64, Error> {
    match arg(a, i)? {
        Value::Double(d) => Ok(*d),
        Value::Int(i) => Ok(*i as f64),
        Value::Uint(u) => Ok(*u as f64),
        other => Err(Error::new(format!("expected a number, got {}", other.type_name()))),
    }
}

pub(super) fn list<'v, 'a>(a: &'v [Value<'a>], i: usize) -> Result<&'v List<'a>, Error> {
    match arg(a, i)? {
        Value::List(l) => Ok(l),
        other => Err(Error::new(format!("expected a list, got {}", other.type_name()))),
    }
}

pub(super) fn opt<'a>(a: &[Value<'a>], i: usize) -> Result<Option<Rc<Value<'a>>>, Error> {
    match arg(a, i)? {
        Value::Optional(o) => Ok(o.clone()),
        other => Err(Error::new(format!("expected an optional, got {}", other.type_name()))),
    }
}

fn ext_at<'v>(a: &'v [Value<'_>], i: usize) -> Option<&'v Ext> {
    match a.get(i) {
        Some(Value::Ext(e)) => Some(e),
        _ => None,
    }
}

pub(super) fn ext_value<'a>(e: Ext) -> Value<'a> {
    Value::Ext(Rc::new(e))
}

pub(super) fn quantity<'v>(a: &'v [Value<'_>], i: usize) -> Result<&'v Quantity, Error> {
    match ext_at(a, i) {
        Some(Ext::Quantity(q)) => Ok(q),
        _ => Err(no_overload("quantity", a)),
    }
}

pub(super) fn url<'v>(a: &'v [Value<'_>]) -> Result<&'v Url, Error> {
    match ext_at(a, 0) {
        Some(Ext::Url(u)) => Ok(u),
        _ => Err(no_overload("url", a)),
    }
}

pub(super) fn ip(a: &[Value<'_>]) -> Result<IpAddr, Error> {
    ip_at(a, 0)
}

pub(super) fn ip_at(a: &[Value<'_>], i: usize) -> Result<IpAddr, Error> {
    match ext_at(a, i) {
        Some(Ext::Ip(ip)) => Ok(*ip),
        _ => Err(no_overload("ip", a)),
    }
}

pub(super) fn cidr<'v>(a: &'v [Value<'_>]) -> Result<&'v Cidr, Error> {
    match ext_at(a, 0) {
        Some(Ext::Cidr(c)) => Ok(c),
        _ => Err(no_overload("cidr", a)),
    }
}

pub(super) fn ext_order(a: &[Value<'_>]) -> Result<Ordering, Error> {
    match (ext_at(a, 0), ext_at(a, 1)) {
        (Some(x), Some(y)) => x.compare(y).ok_or_else(|| no_overload("compareTo", a)),
        _ => Err(no_overload("compareTo", a)),
    }
}

pub(super) fn quantity_op<'a>(a: &[Value<'a>], sign: i128) -> Result<Value<'a>, Error> {
    let q = quantity(a, 0)?;
    let other = match arg(a, 1)? {
        Value::Int(i) => i128::from(*i) * 1_000_000_000,
        _ => quantity(a, 1)?.nanos,
    };
    let nanos = q.nanos.checked_add(sign * other).ok_or_else(|| Error::new("quantity overflow"))?;
    Ok(ext_value(Ext::Quantity(Quantity::from_nanos(nanos).map_err(Error::new)?)))
}

pub(super) fn semver_part<'a>(a: &[Value<'a>], part: fn(&semver::Version) -> u64) -> Result<Value<'a>, Error> {
    match ext_at(a, 0) {
        Some(Ext::Semver(v)) => Ok(Value::Int(i64::try_from(part(v)).unwrap_or(i64::MAX))),
        _ => Err(no_overload("semver", a)),
    }
}

/// A string the program holds, as a value (used for constants).
pub(crate) fn borrowed(text: &str) -> Value<'_> {
    Value::Str(Str::Borrowed(text))
}
