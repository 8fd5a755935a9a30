//! Arithmetic and the math extension: integers checked for overflow, as CEL's.

use regex::Regex;

use super::args::{arg, int, no_overload};
use super::convert::{duration_in_range, timestamp_in_range};
use crate::cel::value::{Error, Value};

pub(super) fn overflow() -> Error {
    Error::new("integer overflow")
}

pub(super) fn add<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    Ok(match (arg(a, 0)?, arg(a, 1)?) {
        (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_add(*y).ok_or_else(overflow)?),
        (Value::Uint(x), Value::Uint(y)) => Value::Uint(x.checked_add(*y).ok_or_else(overflow)?),
        (Value::Double(x), Value::Double(y)) => Value::Double(x + y),
        (Value::Str(x), Value::Str(y)) => {
            let mut out = String::with_capacity(x.len() + y.len());
            out.push_str(x);
            out.push_str(y);
            Value::string(out)
        }
        (Value::Bytes(x), Value::Bytes(y)) => Value::Bytes([&x[..], &y[..]].concat().into()),
        (Value::List(x), Value::List(y)) => {
            if y.len() == 0 {
                return Ok(Value::List(x.clone()));
            }
            let mut out = Vec::with_capacity(x.len() + y.len());
            out.extend(x.iter());
            out.extend(y.iter());
            Value::list(out)
        }
        (Value::Duration(x), Value::Duration(y)) => duration_in_range(x.checked_add(*y).ok_or_else(overflow)?)?,
        (Value::Timestamp(t), Value::Duration(dur)) | (Value::Duration(dur), Value::Timestamp(t)) => {
            timestamp_in_range(t.checked_add(*dur).map_err(|e| Error::new(format!("timestamp overflow: {e}")))?)?
        }
        _ => return Err(no_overload("_+_", a)),
    })
}

pub(super) fn sub<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    Ok(match (arg(a, 0)?, arg(a, 1)?) {
        (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_sub(*y).ok_or_else(overflow)?),
        (Value::Uint(x), Value::Uint(y)) => Value::Uint(x.checked_sub(*y).ok_or_else(overflow)?),
        (Value::Double(x), Value::Double(y)) => Value::Double(x - y),
        (Value::Duration(x), Value::Duration(y)) => duration_in_range(x.checked_sub(*y).ok_or_else(overflow)?)?,
        (Value::Timestamp(x), Value::Timestamp(y)) => duration_in_range(x.duration_since(*y))?,
        (Value::Timestamp(t), Value::Duration(dur)) => {
            timestamp_in_range(t.checked_sub(*dur).map_err(|e| Error::new(format!("timestamp overflow: {e}")))?)?
        }
        _ => return Err(no_overload("_-_", a)),
    })
}

pub(super) fn mul<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    Ok(match (arg(a, 0)?, arg(a, 1)?) {
        (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_mul(*y).ok_or_else(overflow)?),
        (Value::Uint(x), Value::Uint(y)) => Value::Uint(x.checked_mul(*y).ok_or_else(overflow)?),
        (Value::Double(x), Value::Double(y)) => Value::Double(x * y),
        _ => return Err(no_overload("_*_", a)),
    })
}

pub(super) fn div<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let zero = || Error::new("division by zero");
    Ok(match (arg(a, 0)?, arg(a, 1)?) {
        (Value::Int(_), Value::Int(0)) | (Value::Uint(_), Value::Uint(0)) => return Err(zero()),
        (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_div(*y).ok_or_else(overflow)?),
        (Value::Uint(x), Value::Uint(y)) => Value::Uint(x / y),
        (Value::Double(x), Value::Double(y)) => Value::Double(x / y),
        _ => return Err(no_overload("_/_", a)),
    })
}

pub(super) fn rem<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let zero = || Error::new("modulus by zero");
    Ok(match (arg(a, 0)?, arg(a, 1)?) {
        (Value::Int(_), Value::Int(0)) | (Value::Uint(_), Value::Uint(0)) => return Err(zero()),
        (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_rem(*y).ok_or_else(overflow)?),
        (Value::Uint(x), Value::Uint(y)) => Value::Uint(x % y),
        _ => return Err(no_overload("_%_", a)),
    })
}

pub(super) fn neg<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Int(i) => i.checked_neg().map(Value::Int).ok_or_else(overflow),
        Value::Double(x) => Ok(Value::Double(-x)),
        _ => Err(no_overload("-_", a)),
    }
}

pub(super) fn not<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Bool(b) => Ok(Value::Bool(!b)),
        _ => Err(no_overload("!_", a)),
    }
}

pub(super) fn abs<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Int(i) => i.checked_abs().map(Value::Int).ok_or_else(overflow),
        Value::Uint(u) => Ok(Value::Uint(*u)),
        Value::Double(x) => Ok(Value::Double(x.abs())),
        _ => Err(no_overload("math.abs", a)),
    }
}

pub(super) fn sign<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Int(i) => Ok(Value::Int(i.signum())),
        Value::Uint(u) => Ok(Value::Uint(u64::from(*u > 0))),
        Value::Double(x) if x.is_nan() || *x == 0.0 => Ok(Value::Double(*x)),
        Value::Double(x) => Ok(Value::Double(x.signum())),
        _ => Err(no_overload("math.sign", a)),
    }
}

pub(super) fn bits<'a>(a: &[Value<'a>], op: fn(u64, u64) -> u64) -> Result<Value<'a>, Error> {
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_wrap)]
    match (arg(a, 0)?, arg(a, 1)?) {
        (Value::Int(x), Value::Int(y)) => Ok(Value::Int(op(*x as u64, *y as u64) as i64)),
        (Value::Uint(x), Value::Uint(y)) => Ok(Value::Uint(op(*x, *y))),
        _ => Err(no_overload("math.bit", a)),
    }
}

pub(super) fn shift<'a>(a: &[Value<'a>], left: bool) -> Result<Value<'a>, Error> {
    let n = int(a, 1)?;
    if n < 0 {
        return Err(Error::new(format!("math.bitShift: negative offset {n}")));
    }
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_wrap)]
    match arg(a, 0)? {
        Value::Int(x) => {
            let u = *x as u64;
            let r = if n >= 64 {
                0
            } else if left {
                u << n
            } else {
                u >> n
            };
            Ok(Value::Int(r as i64))
        }
        Value::Uint(u) => Ok(Value::Uint(if n >= 64 {
            0
        } else if left {
            u << n
        } else {
            u >> n
        })),
        _ => Err(no_overload("math.bitShift", a)),
    }
}

pub(super) fn is_zero(v: &Value<'_>) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Int(i) => *i == 0,
        Value::Uint(u) => *u == 0,
        Value::Double(x) => *x == 0.0,
        Value::Str(t) => t.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::List(l) => l.len() == 0,
        Value::Map(m) => m.len() == 0,
        Value::Duration(d) => d.is_zero(),
        Value::Timestamp(t) => t.as_second() == 0 && t.subsec_nanosecond() == 0,
        Value::Optional(o) => o.is_none(),
        Value::Type(_) | Value::Ext(_) | Value::Inventory(_) | Value::Error(_) => false,
    }
}
