//! The table of functions: each one's name, whether it is called on a receiver, the signatures
//! the checker resolves calls against, and its implementation.

use std::cmp::Ordering;
use std::rc::Rc;

use base64::Engine as _;
use regex::Regex;

#[allow(clippy::wildcard_imports)]
use super::{args::*, arith::*, convert::*, lists::*, strings::*};
use crate::cel::ext::{self, Ext};
use crate::cel::types::T::{self, *};
use crate::cel::value::{Error, Map, Value};

/// An implementation: the arguments (the receiver first) and, for the regex functions, the
/// pattern compiled when the expression loaded.
pub(crate) type Imp = for<'a> fn(&[Value<'a>], Option<&Regex>) -> Result<Value<'a>, Error>;

/// One function of the environment.
pub(crate) struct Func {
    pub name: &'static str,
    pub member: bool,
    pub sigs: &'static [(&'static [T], T)],
    pub imp: Imp,
}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

macro_rules! f {
    ($name:literal, $member:literal, [$(([$($a:expr),*], $r:expr)),* $(,)?], $imp:expr) => {
        Func { name: $name, member: $member, sigs: &[$((&[$($a),*], $r)),*], imp: $imp }
    };
}

pub(super) static FUNCS: &[Func] = &[
    // Operators.
    f!(
        "_+_",
        false,
        [
            ([Int, Int], Int),
            ([Uint, Uint], Uint),
            ([Double, Double], Double),
            ([String, String], String),
            ([Bytes, Bytes], Bytes),
            ([ListA, ListA], ListA),
            ([Duration, Duration], Duration),
            ([Timestamp, Duration], Timestamp),
            ([Duration, Timestamp], Timestamp)
        ],
        add
    ),
    f!(
        "_-_",
        false,
        [
            ([Int, Int], Int),
            ([Uint, Uint], Uint),
            ([Double, Double], Double),
            ([Duration, Duration], Duration),
            ([Timestamp, Timestamp], Duration),
            ([Timestamp, Duration], Timestamp)
        ],
        sub
    ),
    f!("_*_", false, [([Int, Int], Int), ([Uint, Uint], Uint), ([Double, Double], Double)], mul),
    f!("_/_", false, [([Int, Int], Int), ([Uint, Uint], Uint), ([Double, Double], Double)], div),
    f!("_%_", false, [([Int, Int], Int), ([Uint, Uint], Uint)], rem),
    f!("-_", false, [([Int], Int), ([Double], Double)], neg),
    f!("!_", false, [([Bool], Bool)], not),
    // Conversions.
    f!("int", false, [([Int], Int), ([Uint], Int), ([Double], Int), ([String], Int), ([Timestamp], Int)], to_int),
    f!("uint", false, [([Int], Uint), ([Uint], Uint), ([Double], Uint), ([String], Uint)], to_uint),
    f!("double", false, [([Int], Double), ([Uint], Double), ([Double], Double), ([String], Double)], to_double),
    f!("string", false, [([Dyn], String)], to_string),
    f!("bytes", false, [([String], Bytes), ([Bytes], Bytes)], to_bytes),
    f!("bool", false, [([Bool], Bool), ([String], Bool)], to_bool),
    f!("type", false, [([Dyn], Type)], |a, _| Ok(Value::Type(arg(a, 0)?.kind()))),
    f!("dyn", false, [([A], Dyn)], |a, _| arg(a, 0).cloned()),
    f!("duration", false, [([String], Duration), ([Duration], Duration)], to_duration),
    f!("timestamp", false, [([String], Timestamp), ([Timestamp], Timestamp), ([Int], Timestamp)], to_timestamp),
    // Size and strings.
    f!("size", false, [([String], Int), ([Bytes], Int), ([ListA], Int), ([MapAB], Int)], size),
    f!("size", true, [([String], Int), ([Bytes], Int), ([ListA], Int), ([MapAB], Int)], size),
    f!("contains", true, [([String, String], Bool)], |a, _| Ok(Value::Bool(s(a, 0)?.contains(s(a, 1)?)))),
    f!("startsWith", true, [([String, String], Bool)], |a, _| Ok(Value::Bool(s(a, 0)?.starts_with(s(a, 1)?)))),
    f!("endsWith", true, [([String, String], Bool)], |a, _| Ok(Value::Bool(s(a, 0)?.ends_with(s(a, 1)?)))),
    f!("matches", true, [([String, String], Bool)], matches),
    f!("matches", false, [([String, String], Bool)], matches),
    f!("find", true, [([String, String], String)], find_first),
    f!("findAll", true, [([String, String], ListString), ([String, String, Int], ListString)], find_all),
    f!("charAt", true, [([String, Int], String)], char_at),
    f!("indexOf", true, [([String, String], Int), ([String, String, Int], Int), ([ListA, A], Int)], index_of),
    f!("lastIndexOf", true, [([String, String], Int), ([String, String, Int], Int), ([ListA, A], Int)], last_index_of),
    f!("lowerAscii", true, [([String], String)], |a, _| Ok(Value::string(s(a, 0)?.to_ascii_lowercase()))),
    f!("upperAscii", true, [([String], String)], |a, _| Ok(Value::string(s(a, 0)?.to_ascii_uppercase()))),
    f!("replace", true, [([String, String, String], String), ([String, String, String, Int], String)], replace),
    f!("split", true, [([String, String], ListString), ([String, String, Int], ListString)], split),
    f!("substring", true, [([String, Int], String), ([String, Int, Int], String)], substring),
    f!("trim", true, [([String], String)], |a, _| Ok(Value::string(s(a, 0)?.trim()))),
    f!("join", true, [([ListString], String), ([ListString, String], String)], join),
    f!("format", true, [([String, ListA], String)], format),
    f!("reverse", true, [([String], String), ([ListA], ListA)], reverse),
    f!("strings.quote", false, [([String], String)], |a, _| Ok(Value::string(quote(s(a, 0)?)))),
    // Lists.
    f!("isSorted", true, [([ListA], Bool)], |a, _| {
        let items = list(a, 0)?.to_vec();
        for w in items.windows(2) {
            if let [x, y] = w {
                if x.compare(y)? == Some(Ordering::Greater) {
                    return Ok(Value::Bool(false));
                }
            }
        }
        Ok(Value::Bool(true))
    }),
    f!("sum", true, [([ListA], A)], sum),
    f!("min", true, [([ListA], A)], |a, _| extreme(a, Ordering::Less)),
    f!("max", true, [([ListA], A)], |a, _| extreme(a, Ordering::Greater)),
    f!("slice", true, [([ListA, Int, Int], ListA)], slice),
    f!("flatten", true, [([ListListA], ListA), ([ListA, Int], ListA)], flatten),
    f!("distinct", true, [([ListA], ListA)], distinct),
    f!("sort", true, [([ListA], ListA)], sort),
    f!("first", true, [([ListA], OptA)], |a, _| Ok(Value::Optional(list(a, 0)?.get(0).map(Rc::new)))),
    f!("last", true, [([ListA], OptA)], |a, _| {
        let l = list(a, 0)?;
        Ok(Value::Optional(l.len().checked_sub(1).and_then(|i| l.get(i)).map(Rc::new)))
    }),
    f!("lists.range", false, [([Int], ListInt)], range),
    f!("sets.contains", false, [([ListA, ListA], Bool)], |a, _| Ok(Value::Bool(subset(list(a, 1)?, list(a, 0)?)))),
    f!("sets.equivalent", false, [([ListA, ListA], Bool)], |a, _| {
        Ok(Value::Bool(subset(list(a, 0)?, list(a, 1)?) && subset(list(a, 1)?, list(a, 0)?)))
    }),
    f!("sets.intersects", false, [([ListA, ListA], Bool)], |a, _| {
        let other = list(a, 1)?;
        Ok(Value::Bool(list(a, 0)?.iter().any(|x| other.iter().any(|y| x.equals(&y)))))
    }),
    // Math.
    f!("math.ceil", false, [([Double], Double)], |a, _| Ok(Value::Double(d(a, 0)?.ceil()))),
    f!("math.floor", false, [([Double], Double)], |a, _| Ok(Value::Double(d(a, 0)?.floor()))),
    f!("math.round", false, [([Double], Double)], |a, _| Ok(Value::Double(d(a, 0)?.round()))),
    f!("math.trunc", false, [([Double], Double)], |a, _| Ok(Value::Double(d(a, 0)?.trunc()))),
    f!("math.sqrt", false, [([Double], Double), ([Int], Double), ([Uint], Double)], |a, _| Ok(Value::Double(
        num(a, 0)?.sqrt()
    ))),
    f!("math.isInf", false, [([Double], Bool)], |a, _| Ok(Value::Bool(d(a, 0)?.is_infinite()))),
    f!("math.isNaN", false, [([Double], Bool)], |a, _| Ok(Value::Bool(d(a, 0)?.is_nan()))),
    f!("math.isFinite", false, [([Double], Bool)], |a, _| Ok(Value::Bool(d(a, 0)?.is_finite()))),
    f!("math.abs", false, [([Int], Int), ([Uint], Uint), ([Double], Double)], abs),
    f!("math.sign", false, [([Int], Int), ([Uint], Uint), ([Double], Double)], sign),
    f!(
        "math.greatest",
        false,
        [
            ([Dyn], Dyn),
            ([Dyn, Dyn], Dyn),
            ([Dyn, Dyn, Dyn], Dyn),
            ([Dyn, Dyn, Dyn, Dyn], Dyn),
            ([Dyn, Dyn, Dyn, Dyn, Dyn], Dyn)
        ],
        |a, _| greatest(a, Ordering::Greater)
    ),
    f!(
        "math.least",
        false,
        [
            ([Dyn], Dyn),
            ([Dyn, Dyn], Dyn),
            ([Dyn, Dyn, Dyn], Dyn),
            ([Dyn, Dyn, Dyn, Dyn], Dyn),
            ([Dyn, Dyn, Dyn, Dyn, Dyn], Dyn)
        ],
        |a, _| greatest(a, Ordering::Less)
    ),
    f!("math.bitAnd", false, [([Int, Int], Int), ([Uint, Uint], Uint)], |a, _| bits(a, |x, y| x & y)),
    f!("math.bitOr", false, [([Int, Int], Int), ([Uint, Uint], Uint)], |a, _| bits(a, |x, y| x | y)),
    f!("math.bitXor", false, [([Int, Int], Int), ([Uint, Uint], Uint)], |a, _| bits(a, |x, y| x ^ y)),
    f!("math.bitNot", false, [([Int], Int), ([Uint], Uint)], |a, _| match arg(a, 0)? {
        Value::Int(i) => Ok(Value::Int(!i)),
        Value::Uint(u) => Ok(Value::Uint(!u)),
        _ => Err(no_overload("math.bitNot", a)),
    }),
    f!("math.bitShiftLeft", false, [([Int, Int], Int), ([Uint, Int], Uint)], |a, _| shift(a, true)),
    f!("math.bitShiftRight", false, [([Int, Int], Int), ([Uint, Int], Uint)], |a, _| shift(a, false)),
    // Optionals.
    f!("optional.of", false, [([A], OptA)], |a, _| Ok(Value::Optional(Some(Rc::new(arg(a, 0)?.clone()))))),
    f!("optional.ofNonZeroValue", false, [([A], OptA)], |a, _| {
        let v = arg(a, 0)?;
        Ok(Value::Optional((!is_zero(v)).then(|| Rc::new(v.clone()))))
    }),
    f!("optional.none", false, [([], OptA)], |_, _| Ok(Value::Optional(None))),
    f!("hasValue", true, [([OptA], Bool)], |a, _| Ok(Value::Bool(opt(a, 0)?.is_some()))),
    f!("value", true, [([OptA], A)], |a, _| {
        opt(a, 0)?.map(|v| (*v).clone()).ok_or_else(|| Error::new("optional.none() has no value"))
    }),
    f!("orValue", true, [([OptA, A], A)], |a, _| opt(a, 0)?.map_or_else(|| arg(a, 1).cloned(), |v| Ok((*v).clone()))),
    f!("or", true, [([OptA, OptA], OptA)], |a, _| match opt(a, 0)? {
        Some(v) => Ok(Value::Optional(Some(v))),
        None => arg(a, 1).cloned(),
    }),
    // Encoders.
    f!("base64.encode", false, [([Bytes], String), ([String], String)], |a, _| {
        let raw: &[u8] = match arg(a, 0)? {
            Value::Bytes(b) => b,
            Value::Str(s) => s.as_bytes(),
            _ => return Err(no_overload("base64.encode", a)),
        };
        Ok(Value::string(base64::engine::general_purpose::STANDARD.encode(raw)))
    }),
    f!("base64.decode", false, [([String], Bytes)], |a, _| {
        let text = s(a, 0)?;
        let engine = &base64::engine::general_purpose::STANDARD;
        let raw = engine
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|e| Error::new(format!("base64.decode: {e}")))?;
        Ok(Value::Bytes(raw.into()))
    }),
    // Kubernetes' MutatingAdmissionPolicy: a key as one JSON Pointer segment (RFC 6901).
    f!("jsonpatch.escapeKey", false, [([String], String)], |a, _| {
        Ok(Value::string(s(a, 0)?.replace('~', "~0").replace('/', "~1")))
    }),
    // Timestamps and durations.
    f!("getFullYear", true, [([Timestamp], Int), ([Timestamp, String], Int)], |a, _| civil(a, |z| i64::from(z.year()))),
    f!("getMonth", true, [([Timestamp], Int), ([Timestamp, String], Int)], |a, _| civil(a, |z| i64::from(z.month())
        - 1)),
    f!("getDate", true, [([Timestamp], Int), ([Timestamp, String], Int)], |a, _| civil(a, |z| i64::from(z.day()))),
    f!("getDayOfMonth", true, [([Timestamp], Int), ([Timestamp, String], Int)], |a, _| civil(a, |z| i64::from(
        z.day()
    ) - 1)),
    f!("getDayOfWeek", true, [([Timestamp], Int), ([Timestamp, String], Int)], |a, _| civil(a, |z| i64::from(
        z.weekday().to_sunday_zero_offset()
    ))),
    f!("getDayOfYear", true, [([Timestamp], Int), ([Timestamp, String], Int)], |a, _| civil(a, |z| i64::from(
        z.day_of_year()
    ) - 1)),
    f!("getHours", true, [([Timestamp], Int), ([Timestamp, String], Int), ([Duration], Int)], |a, _| time_part(
        a,
        3600,
        |z| i64::from(z.hour())
    )),
    f!("getMinutes", true, [([Timestamp], Int), ([Timestamp, String], Int), ([Duration], Int)], |a, _| time_part(
        a,
        60,
        |z| i64::from(z.minute())
    )),
    f!("getSeconds", true, [([Timestamp], Int), ([Timestamp, String], Int), ([Duration], Int)], |a, _| time_part(
        a,
        1,
        |z| i64::from(z.second())
    )),
    f!("getMilliseconds", true, [([Timestamp], Int), ([Timestamp, String], Int), ([Duration], Int)], |a, _| {
        match arg(a, 0)? {
            Value::Duration(d) => Ok(Value::Int(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))),
            _ => civil(a, |z| i64::from(z.millisecond())),
        }
    }),
    // Kubernetes: quantity.
    f!("quantity", false, [([String], Quantity)], |a, _| Ok(ext_value(Ext::Quantity(
        crate::k8s::Quantity::parse(s(a, 0)?).map_err(Error::new)?
    )))),
    f!("isQuantity", false, [([String], Bool)], |a, _| Ok(Value::Bool(crate::k8s::Quantity::parse(s(a, 0)?).is_ok()))),
    f!("isInteger", true, [([Quantity], Bool)], |a, _| Ok(Value::Bool(quantity(a, 0)?.is_integer()))),
    f!("asInteger", true, [([Quantity], Int)], |a, _| {
        let q = quantity(a, 0)?;
        q.as_integer()
            .map(Value::Int)
            .ok_or_else(|| Error::new(format!("{} is not an integer that fits in int64", q.text)))
    }),
    f!("asApproximateFloat", true, [([Quantity], Double)], |a, _| Ok(Value::Double(quantity(a, 0)?.as_f64()))),
    f!("sign", true, [([Quantity], Int)], |a, _| Ok(Value::Int(quantity(a, 0)?.nanos.signum() as i64))),
    f!("add", true, [([Quantity, Quantity], Quantity), ([Quantity, Int], Quantity)], |a, _| quantity_op(a, 1)),
    f!("sub", true, [([Quantity, Quantity], Quantity), ([Quantity, Int], Quantity)], |a, _| quantity_op(a, -1)),
    f!("isGreaterThan", true, [([Quantity, Quantity], Bool), ([Semver, Semver], Bool)], |a, _| Ok(Value::Bool(
        ext_order(a)? == Ordering::Greater
    ))),
    f!("isLessThan", true, [([Quantity, Quantity], Bool), ([Semver, Semver], Bool)], |a, _| Ok(Value::Bool(
        ext_order(a)? == Ordering::Less
    ))),
    f!("compareTo", true, [([Quantity, Quantity], Int), ([Semver, Semver], Int)], |a, _| Ok(Value::Int(
        ext_order(a)? as i64
    ))),
    // Kubernetes: URL.
    f!("url", false, [([String], Url)], |a, _| Ok(ext_value(Ext::Url(ext::Url::parse(s(a, 0)?).map_err(Error::new)?)))),
    f!("isURL", false, [([String], Bool)], |a, _| Ok(Value::Bool(ext::Url::parse(s(a, 0)?).is_ok()))),
    f!("getScheme", true, [([Url], String)], |a, _| Ok(Value::string(url(a)?.scheme.as_str()))),
    f!("getHost", true, [([Url], String)], |a, _| Ok(Value::string(url(a)?.host.as_str()))),
    f!("getHostname", true, [([Url], String)], |a, _| Ok(Value::string(url(a)?.hostname()))),
    f!("getPort", true, [([Url], String)], |a, _| Ok(Value::string(url(a)?.port()))),
    f!("getEscapedPath", true, [([Url], String)], |a, _| Ok(Value::string(url(a)?.path.as_str()))),
    f!("getQuery", true, [([Url], MapAB)], |a, _| {
        let pairs = url(a)?.query_pairs();
        let map = pairs
            .into_iter()
            .map(|(k, vs)| (Value::string(k), Value::list(vs.into_iter().map(Value::string).collect())))
            .collect();
        Ok(Value::Map(Map::Owned(Rc::new(map))))
    }),
    // Kubernetes: IP and CIDR.
    f!("ip", false, [([String], Ip)], |a, _| Ok(ext_value(Ext::Ip(ext::parse_ip(s(a, 0)?).map_err(Error::new)?)))),
    f!("isIP", false, [([String], Bool)], |a, _| Ok(Value::Bool(ext::parse_ip(s(a, 0)?).is_ok()))),
    f!("ip.isCanonical", false, [([String], Bool)], |a, _| {
        let text = s(a, 0)?;
        Ok(Value::Bool(ext::parse_ip(text).map_err(Error::new)?.to_string() == text))
    }),
    f!("family", true, [([Ip], Int)], |a, _| Ok(Value::Int(ext::family(&ip(a)?)))),
    f!("isUnspecified", true, [([Ip], Bool)], |a, _| Ok(Value::Bool(ip(a)?.is_unspecified()))),
    f!("isLoopback", true, [([Ip], Bool)], |a, _| Ok(Value::Bool(ip(a)?.is_loopback()))),
    f!("isLinkLocalMulticast", true, [([Ip], Bool)], |a, _| Ok(Value::Bool(ext::is_link_local_multicast(&ip(a)?)))),
    f!("isLinkLocalUnicast", true, [([Ip], Bool)], |a, _| Ok(Value::Bool(ext::is_link_local_unicast(&ip(a)?)))),
    f!("isGlobalUnicast", true, [([Ip], Bool)], |a, _| Ok(Value::Bool(ext::is_global_unicast(&ip(a)?)))),
    f!("cidr", false, [([String], Cidr)], |a, _| Ok(ext_value(Ext::Cidr(
        ext::Cidr::parse(s(a, 0)?).map_err(Error::new)?
    )))),
    f!("isCIDR", false, [([String], Bool)], |a, _| Ok(Value::Bool(ext::Cidr::parse(s(a, 0)?).is_ok()))),
    f!("containsIP", true, [([Cidr, Ip], Bool), ([Cidr, String], Bool)], |a, _| {
        let other = match arg(a, 1)? {
            Value::Str(t) => ext::parse_ip(t).map_err(Error::new)?,
            _ => ip_at(a, 1)?,
        };
        Ok(Value::Bool(cidr(a)?.contains_ip(&other)))
    }),
    f!("containsCIDR", true, [([Cidr, Cidr], Bool), ([Cidr, String], Bool)], |a, _| {
        let other = match arg(a, 1)? {
            Value::Str(t) => ext::Cidr::parse(t).map_err(Error::new)?,
            Value::Ext(e) => match &**e {
                Ext::Cidr(c) => c.clone(),
                _ => return Err(no_overload("containsCIDR", a)),
            },
            _ => return Err(no_overload("containsCIDR", a)),
        };
        Ok(Value::Bool(cidr(a)?.contains_cidr(&other)))
    }),
    f!("ip", true, [([Cidr], Ip)], |a, _| Ok(ext_value(Ext::Ip(cidr(a)?.addr)))),
    f!("masked", true, [([Cidr], Cidr)], |a, _| Ok(ext_value(Ext::Cidr(cidr(a)?.masked())))),
    f!("prefixLength", true, [([Cidr], Int)], |a, _| Ok(Value::Int(i64::from(cidr(a)?.prefix)))),
    // The inventory.
    f!(
        "list",
        true,
        [
            ([Inventory, String, String], ListDyn),
            ([Inventory, String, String, String], ListDyn),
            ([Inventory, String, String, String, Dyn], ListDyn)
        ],
        crate::cel::lookup::list
    ),
    f!("get", true, [([Inventory, String, String, String, String], OptDyn)], crate::cel::lookup::get),
    f!("selecting", true, [([Inventory, String, String, String, Dyn], ListDyn)], crate::cel::lookup::selecting),
    f!("containing", true, [([Inventory, String, String, Dyn], ListDyn)], crate::cel::lookup::containing),
    f!("complete", true, [([Inventory, String], Bool)], crate::cel::lookup::complete),
    f!("source", true, [([Inventory, Dyn], String)], crate::cel::lookup::source),
    // Kubernetes: semver.
    f!("semver", false, [([String], Semver), ([String, Bool], Semver)], |a, _| {
        let normalize = matches!(a.get(1), Some(Value::Bool(true)));
        Ok(ext_value(Ext::Semver(ext::parse_semver(s(a, 0)?, normalize).map_err(Error::new)?)))
    }),
    f!("isSemver", false, [([String], Bool), ([String, Bool], Bool)], |a, _| {
        let normalize = matches!(a.get(1), Some(Value::Bool(true)));
        Ok(Value::Bool(ext::parse_semver(s(a, 0)?, normalize).is_ok()))
    }),
    f!("major", true, [([Semver], Int)], |a, _| semver_part(a, |v| v.major)),
    f!("minor", true, [([Semver], Int)], |a, _| semver_part(a, |v| v.minor)),
    f!("patch", true, [([Semver], Int)], |a, _| semver_part(a, |v| v.patch)),
];
