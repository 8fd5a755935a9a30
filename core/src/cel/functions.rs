//! The functions of paved's CEL environment: CEL's standard library, cel-go's strings, lists,
//! math, sets, optional and encoder extensions, and Kubernetes' libraries (regex, lists,
//! quantity, URL, IP, CIDR, semver), with Kubernetes' semantics.
//!
//! Each function is one entry: its name, whether it is called on a receiver, the signatures the
//! checker resolves calls against, and one implementation that dispatches on the values.

use std::cmp::Ordering;
use std::net::IpAddr;
use std::rc::Rc;

use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use regex::Regex;

use super::ext::{self, Cidr, Ext, Url};
use super::types::Kind;
use super::types::T;
use super::value::{format_double, Error, List, Map, Str, Value};
use crate::k8s::Quantity;

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

/// The function `name`, called on a receiver or not.
pub(crate) fn find(name: &str, member: bool) -> Option<&'static Func> {
    FUNCS.iter().find(|f| f.name == name && f.member == member)
}

/// Every function name, for did-you-mean.
pub(crate) fn names(member: bool) -> impl Iterator<Item = &'static str> {
    FUNCS.iter().filter(move |f| f.member == member && !f.name.starts_with(['_', '@', '!', '-'])).map(|f| f.name)
}

/// The functions whose pattern argument (the last) is a regular expression.
pub(crate) fn takes_regex(name: &str) -> bool {
    matches!(name, "matches" | "find" | "findAll")
}

/// Compiles a regular expression with a bounded size (RE2 semantics, as CEL's).
pub(crate) fn regex(pattern: &str) -> Result<Regex, Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|e| Error::new(format!("invalid regular expression `{pattern}`: {e}")))
}

use table::FUNCS;

/// The table itself, in a module of its own so that its signatures can name `T`'s variants
/// (`String`, `Bytes`, ...) unqualified.
mod table {
    use super::T::*;
    #[allow(clippy::wildcard_imports)]
    use super::*;

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
        f!(
            "lastIndexOf",
            true,
            [([String, String], Int), ([String, String, Int], Int), ([ListA, A], Int)],
            last_index_of
        ),
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
        f!("orValue", true, [([OptA, A], A)], |a, _| opt(a, 0)?
            .map_or_else(|| arg(a, 1).cloned(), |v| Ok((*v).clone()))),
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
        // Timestamps and durations.
        f!("getFullYear", true, [([Timestamp], Int), ([Timestamp, String], Int)], |a, _| civil(a, |z| i64::from(
            z.year()
        ))),
        f!("getMonth", true, [([Timestamp], Int), ([Timestamp, String], Int)], |a, _| civil(a, |z| i64::from(
            z.month()
        ) - 1)),
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
        f!("isQuantity", false, [([String], Bool)], |a, _| Ok(Value::Bool(
            crate::k8s::Quantity::parse(s(a, 0)?).is_ok()
        ))),
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
        f!("url", false, [([String], Url)], |a, _| Ok(ext_value(Ext::Url(
            ext::Url::parse(s(a, 0)?).map_err(Error::new)?
        )))),
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
}

// ---- argument access ----

fn arg<'v, 'a>(a: &'v [Value<'a>], i: usize) -> Result<&'v Value<'a>, Error> {
    a.get(i).ok_or_else(|| Error::new("missing argument"))
}

pub(crate) fn no_overload(name: &str, a: &[Value<'_>]) -> Error {
    Error::no_overload(name, &a.iter().collect::<Vec<_>>())
}

fn s<'v>(a: &'v [Value<'_>], i: usize) -> Result<&'v str, Error> {
    match arg(a, i)? {
        Value::Str(s) => Ok(s),
        other => Err(Error::new(format!("expected a string, got {}", other.type_name()))),
    }
}

fn int(a: &[Value<'_>], i: usize) -> Result<i64, Error> {
    match arg(a, i)? {
        Value::Int(i) => Ok(*i),
        other => Err(Error::new(format!("expected an int, got {}", other.type_name()))),
    }
}

fn d(a: &[Value<'_>], i: usize) -> Result<f64, Error> {
    match arg(a, i)? {
        Value::Double(d) => Ok(*d),
        other => Err(Error::new(format!("expected a double, got {}", other.type_name()))),
    }
}

#[allow(clippy::cast_precision_loss)]
fn num(a: &[Value<'_>], i: usize) -> Result<f64, Error> {
    match arg(a, i)? {
        Value::Double(d) => Ok(*d),
        Value::Int(i) => Ok(*i as f64),
        Value::Uint(u) => Ok(*u as f64),
        other => Err(Error::new(format!("expected a number, got {}", other.type_name()))),
    }
}

fn list<'v, 'a>(a: &'v [Value<'a>], i: usize) -> Result<&'v List<'a>, Error> {
    match arg(a, i)? {
        Value::List(l) => Ok(l),
        other => Err(Error::new(format!("expected a list, got {}", other.type_name()))),
    }
}

fn opt<'a>(a: &[Value<'a>], i: usize) -> Result<Option<Rc<Value<'a>>>, Error> {
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

fn ext_value<'a>(e: Ext) -> Value<'a> {
    Value::Ext(Rc::new(e))
}

fn quantity<'v>(a: &'v [Value<'_>], i: usize) -> Result<&'v Quantity, Error> {
    match ext_at(a, i) {
        Some(Ext::Quantity(q)) => Ok(q),
        _ => Err(no_overload("quantity", a)),
    }
}

fn url<'v>(a: &'v [Value<'_>]) -> Result<&'v Url, Error> {
    match ext_at(a, 0) {
        Some(Ext::Url(u)) => Ok(u),
        _ => Err(no_overload("url", a)),
    }
}

fn ip(a: &[Value<'_>]) -> Result<IpAddr, Error> {
    ip_at(a, 0)
}

fn ip_at(a: &[Value<'_>], i: usize) -> Result<IpAddr, Error> {
    match ext_at(a, i) {
        Some(Ext::Ip(ip)) => Ok(*ip),
        _ => Err(no_overload("ip", a)),
    }
}

fn cidr<'v>(a: &'v [Value<'_>]) -> Result<&'v Cidr, Error> {
    match ext_at(a, 0) {
        Some(Ext::Cidr(c)) => Ok(c),
        _ => Err(no_overload("cidr", a)),
    }
}

fn ext_order(a: &[Value<'_>]) -> Result<Ordering, Error> {
    match (ext_at(a, 0), ext_at(a, 1)) {
        (Some(x), Some(y)) => x.compare(y).ok_or_else(|| no_overload("compareTo", a)),
        _ => Err(no_overload("compareTo", a)),
    }
}

fn quantity_op<'a>(a: &[Value<'a>], sign: i128) -> Result<Value<'a>, Error> {
    let q = quantity(a, 0)?;
    let other = match arg(a, 1)? {
        Value::Int(i) => i128::from(*i) * 1_000_000_000,
        _ => quantity(a, 1)?.nanos,
    };
    let nanos = q.nanos.checked_add(sign * other).ok_or_else(|| Error::new("quantity overflow"))?;
    Ok(ext_value(Ext::Quantity(Quantity::from_nanos(nanos).map_err(Error::new)?)))
}

fn semver_part<'a>(a: &[Value<'a>], part: fn(&semver::Version) -> u64) -> Result<Value<'a>, Error> {
    match ext_at(a, 0) {
        Some(Ext::Semver(v)) => Ok(Value::Int(i64::try_from(part(v)).unwrap_or(i64::MAX))),
        _ => Err(no_overload("semver", a)),
    }
}

// ---- arithmetic ----

fn overflow() -> Error {
    Error::new("integer overflow")
}

fn add<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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

fn sub<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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

fn mul<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    Ok(match (arg(a, 0)?, arg(a, 1)?) {
        (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_mul(*y).ok_or_else(overflow)?),
        (Value::Uint(x), Value::Uint(y)) => Value::Uint(x.checked_mul(*y).ok_or_else(overflow)?),
        (Value::Double(x), Value::Double(y)) => Value::Double(x * y),
        _ => return Err(no_overload("_*_", a)),
    })
}

fn div<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let zero = || Error::new("division by zero");
    Ok(match (arg(a, 0)?, arg(a, 1)?) {
        (Value::Int(_), Value::Int(0)) | (Value::Uint(_), Value::Uint(0)) => return Err(zero()),
        (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_div(*y).ok_or_else(overflow)?),
        (Value::Uint(x), Value::Uint(y)) => Value::Uint(x / y),
        (Value::Double(x), Value::Double(y)) => Value::Double(x / y),
        _ => return Err(no_overload("_/_", a)),
    })
}

fn rem<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let zero = || Error::new("modulus by zero");
    Ok(match (arg(a, 0)?, arg(a, 1)?) {
        (Value::Int(_), Value::Int(0)) | (Value::Uint(_), Value::Uint(0)) => return Err(zero()),
        (Value::Int(x), Value::Int(y)) => Value::Int(x.checked_rem(*y).ok_or_else(overflow)?),
        (Value::Uint(x), Value::Uint(y)) => Value::Uint(x % y),
        _ => return Err(no_overload("_%_", a)),
    })
}

fn neg<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Int(i) => i.checked_neg().map(Value::Int).ok_or_else(overflow),
        Value::Double(x) => Ok(Value::Double(-x)),
        _ => Err(no_overload("-_", a)),
    }
}

fn not<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Bool(b) => Ok(Value::Bool(!b)),
        _ => Err(no_overload("!_", a)),
    }
}

// ---- conversions ----

#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
fn to_int<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let range = || Error::new("int out of range");
    Ok(Value::Int(match arg(a, 0)? {
        Value::Int(i) => *i,
        Value::Uint(u) => i64::try_from(*u).map_err(|_| range())?,
        Value::Double(x) => {
            if x.is_nan() || *x <= -9.223_372_036_854_776e18 || *x >= 9.223_372_036_854_776e18 {
                return Err(range());
            }
            *x as i64
        }
        Value::Str(t) => t.parse().map_err(|_| Error::new(format!("cannot convert `{}` to int", &**t)))?,
        Value::Timestamp(t) => t.as_second(),
        _ => return Err(no_overload("int", a)),
    }))
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn to_uint<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let range = || Error::new("uint out of range");
    Ok(Value::Uint(match arg(a, 0)? {
        Value::Uint(u) => *u,
        Value::Int(i) => u64::try_from(*i).map_err(|_| range())?,
        Value::Double(x) => {
            if x.is_nan() || *x < 0.0 || *x >= 1.844_674_407_370_955_2e19 {
                return Err(range());
            }
            *x as u64
        }
        Value::Str(t) => t.parse().map_err(|_| Error::new(format!("cannot convert `{}` to uint", &**t)))?,
        _ => return Err(no_overload("uint", a)),
    }))
}

#[allow(clippy::cast_precision_loss)]
fn to_double<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    Ok(Value::Double(match arg(a, 0)? {
        Value::Double(x) => *x,
        Value::Int(i) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Str(t) => match &**t {
            "NaN" => f64::NAN,
            "Infinity" | "+Infinity" | "inf" | "+inf" => f64::INFINITY,
            "-Infinity" | "-inf" => f64::NEG_INFINITY,
            text => text.parse().map_err(|_| Error::new(format!("cannot convert `{text}` to double")))?,
        },
        _ => return Err(no_overload("double", a)),
    }))
}

fn to_string<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        v @ Value::Str(_) => Ok(v.clone()),
        Value::Bytes(b) => {
            std::str::from_utf8(b).map(Value::string).map_err(|_| Error::new("the bytes are not valid UTF-8"))
        }
        Value::Double(x) => Ok(Value::string(format_double(*x))),
        v => Ok(Value::string(v.to_string())),
    }
}

fn to_bytes<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Str(t) => Ok(Value::Bytes(t.as_bytes().into())),
        v @ Value::Bytes(_) => Ok(v.clone()),
        _ => Err(no_overload("bytes", a)),
    }
}

fn to_bool<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::Str(t) => match &**t {
            "1" | "t" | "true" | "TRUE" | "True" => Ok(Value::Bool(true)),
            "0" | "f" | "false" | "FALSE" | "False" => Ok(Value::Bool(false)),
            other => Err(Error::new(format!("cannot convert `{other}` to bool"))),
        },
        _ => Err(no_overload("bool", a)),
    }
}

fn to_duration<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Str(t) => parse_duration(t).map(Value::Duration),
        v @ Value::Duration(_) => Ok(v.clone()),
        _ => Err(no_overload("duration", a)),
    }
}

/// CEL's durations span about ±10,000 years.
const MAX_DURATION_SECONDS: i64 = 315_576_000_000;

fn duration_in_range<'a>(d: SignedDuration) -> Result<Value<'a>, Error> {
    if d.as_secs().abs() > MAX_DURATION_SECONDS {
        return Err(Error::new("duration out of range"));
    }
    Ok(Value::Duration(d))
}

/// CEL's timestamps are years 1 to 9999.
fn timestamp_in_range<'a>(t: Timestamp) -> Result<Value<'a>, Error> {
    let (first, last) = (Timestamp::new(-62_135_596_800, 0), Timestamp::new(253_402_300_799, 999_999_999));
    if first.is_ok_and(|f| t < f) || last.is_ok_and(|l| t > l) {
        return Err(Error::new("timestamp out of range"));
    }
    Ok(Value::Timestamp(t))
}

/// A Go duration: `1h30m`, `-1.5s`, `300ms`, `2us`.
pub(crate) fn parse_duration(text: &str) -> Result<SignedDuration, Error> {
    let bad = || Error::new(format!("`{text}` is not a duration"));
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(SignedDuration::ZERO);
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut nanos: i128 = 0;
    while !rest.is_empty() {
        let end = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let (number, after) = rest.split_at(end);
        let unit_end = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(bad()),
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        let w: i128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
        nanos = nanos.checked_add(w.checked_mul(scale).ok_or_else(bad)?).ok_or_else(bad)?;
        let mut unit_frac = scale;
        for c in frac.bytes() {
            unit_frac /= 10;
            nanos += i128::from(c - b'0') * unit_frac;
        }
        rest = after;
    }
    let nanos = if negative { -nanos } else { nanos };
    if nanos.abs() > i128::from(MAX_DURATION_SECONDS) * 1_000_000_000 {
        return Err(Error::new(format!("duration `{text}` is out of range")));
    }
    let secs = i64::try_from(nanos / 1_000_000_000).map_err(|_| bad())?;
    let sub = i32::try_from(nanos % 1_000_000_000).map_err(|_| bad())?;
    Ok(SignedDuration::new(secs, sub))
}

fn to_timestamp<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let t = match arg(a, 0)? {
        Value::Str(t) => {
            t.parse::<Timestamp>().map_err(|e| Error::new(format!("`{}` is not a timestamp: {e}", &**t)))?
        }
        Value::Timestamp(t) => *t,
        Value::Int(i) => Timestamp::from_second(*i).map_err(|e| Error::new(format!("timestamp out of range: {e}")))?,
        _ => return Err(no_overload("timestamp", a)),
    };
    timestamp_in_range(t)
}

fn civil<'a>(a: &[Value<'a>], part: fn(&jiff::Zoned) -> i64) -> Result<Value<'a>, Error> {
    let Value::Timestamp(t) = arg(a, 0)? else { return Err(no_overload("timestamp", a)) };
    let tz = match a.get(1) {
        None => jiff::tz::TimeZone::UTC,
        Some(Value::Str(name)) => zone(name)?,
        Some(_) => return Err(no_overload("timestamp", a)),
    };
    Ok(Value::Int(part(&t.to_zoned(tz))))
}

fn zone(name: &str) -> Result<jiff::tz::TimeZone, Error> {
    let first = name.chars().next();
    if let Some(sign) = first.filter(|c| *c == '+' || *c == '-' || c.is_ascii_digit()) {
        let rest = if sign.is_ascii_digit() { name } else { name.get(1..).unwrap_or_default() };
        let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
        let (h, m): (i32, i32) = (h.parse().map_err(|_| bad_zone(name))?, m.parse().map_err(|_| bad_zone(name))?);
        let secs = (h * 3600 + m * 60) * if sign == '-' { -1 } else { 1 };
        let offset = jiff::tz::Offset::from_seconds(secs).map_err(|_| bad_zone(name))?;
        return Ok(jiff::tz::TimeZone::fixed(offset));
    }
    if name == "UTC" || name == "Z" {
        return Ok(jiff::tz::TimeZone::UTC);
    }
    jiff::tz::TimeZone::get(name).map_err(|_| bad_zone(name))
}

fn bad_zone(name: &str) -> Error {
    Error::new(format!("unknown time zone `{name}`"))
}

fn time_part<'a>(a: &[Value<'a>], unit: i64, part: fn(&jiff::Zoned) -> i64) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Duration(dur) => Ok(Value::Int(dur.as_secs() / unit)),
        _ => civil(a, part),
    }
}

// ---- strings ----

fn size<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let n = match arg(a, 0)? {
        Value::Str(t) => t.chars().count(),
        Value::Bytes(b) => b.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        _ => return Err(no_overload("size", a)),
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

fn compiled<'r>(a: &[Value<'_>], at: usize, re: Option<&'r Regex>) -> Result<std::borrow::Cow<'r, Regex>, Error> {
    match re {
        Some(r) => Ok(std::borrow::Cow::Borrowed(r)),
        None => regex(s(a, at)?).map(std::borrow::Cow::Owned),
    }
}

fn matches<'a>(a: &[Value<'a>], re: Option<&Regex>) -> Result<Value<'a>, Error> {
    let text = s(a, 0)?;
    Ok(Value::Bool(compiled(a, 1, re)?.is_match(text)))
}

fn find_first<'a>(a: &[Value<'a>], re: Option<&Regex>) -> Result<Value<'a>, Error> {
    let text = s(a, 0)?;
    Ok(Value::string(compiled(a, 1, re)?.find(text).map_or("", |m| m.as_str())))
}

fn find_all<'a>(a: &[Value<'a>], re: Option<&Regex>) -> Result<Value<'a>, Error> {
    let text = s(a, 0)?;
    let limit = match a.get(2) {
        Some(Value::Int(n)) if *n >= 0 => usize::try_from(*n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let re = compiled(a, 1, re)?;
    Ok(Value::list(re.find_iter(text).take(limit).map(|m| Value::string(m.as_str())).collect()))
}

fn chars(t: &str) -> Vec<char> {
    t.chars().collect()
}

fn index_arg(a: &[Value<'_>], i: usize, len: usize) -> Result<usize, Error> {
    let n = int(a, i)?;
    usize::try_from(n).ok().filter(|n| *n <= len).ok_or_else(|| Error::new(format!("index out of range: {n}")))
}

fn char_at<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let cs = chars(s(a, 0)?);
    let i = index_arg(a, 1, cs.len())?;
    Ok(Value::string(cs.get(i).map(char::to_string).unwrap_or_default()))
}

fn position(hay: &[char], needle: &[char], from: usize, last: bool) -> Option<usize> {
    let fits = |i: &usize| hay.get(*i..*i + needle.len()) == Some(needle);
    if last {
        (0..=from.min(hay.len())).rev().find(fits)
    } else {
        (from..=hay.len()).find(fits)
    }
}

fn index_of<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    if let Value::List(l) = arg(a, 0)? {
        let x = arg(a, 1)?;
        return Ok(Value::Int(l.iter().position(|v| v.equals(x)).map_or(-1, |i| i as i64)));
    }
    let (hay, needle) = (chars(s(a, 0)?), chars(s(a, 1)?));
    let from = if a.len() > 2 { index_arg(a, 2, hay.len())? } else { 0 };
    Ok(Value::Int(position(&hay, &needle, from, false).map_or(-1, |i| i as i64)))
}

fn last_index_of<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    if let Value::List(l) = arg(a, 0)? {
        let x = arg(a, 1)?;
        let items = l.to_vec();
        return Ok(Value::Int(items.iter().rposition(|v| v.equals(x)).map_or(-1, |i| i as i64)));
    }
    let (hay, needle) = (chars(s(a, 0)?), chars(s(a, 1)?));
    let from = if a.len() > 2 { index_arg(a, 2, hay.len())? } else { hay.len() };
    Ok(Value::Int(position(&hay, &needle, from, true).map_or(-1, |i| i as i64)))
}

fn replace<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let (text, from, to) = (s(a, 0)?, s(a, 1)?, s(a, 2)?);
    Ok(Value::string(match a.get(3) {
        Some(Value::Int(n)) if *n >= 0 => text.replacen(from, to, usize::try_from(*n).unwrap_or(usize::MAX)),
        _ => text.replace(from, to),
    }))
}

fn split<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let (text, sep) = (s(a, 0)?, s(a, 1)?);
    let limit = match a.get(2) {
        Some(Value::Int(0)) => return Ok(Value::list(Vec::new())),
        Some(Value::Int(n)) if *n > 0 => usize::try_from(*n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let parts: Vec<Value<'a>> = if sep.is_empty() {
        let cs = chars(text);
        let mut out: Vec<Value<'a>> = Vec::new();
        for (i, c) in cs.iter().enumerate() {
            if out.len() + 1 == limit {
                out.push(Value::string(cs.get(i..).unwrap_or_default().iter().collect::<String>()));
                break;
            }
            out.push(Value::string(c.to_string()));
        }
        out
    } else {
        text.splitn(limit, sep).map(Value::string).collect()
    };
    Ok(Value::list(parts))
}

fn substring<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let cs = chars(s(a, 0)?);
    let start = index_arg(a, 1, cs.len())?;
    let end = if a.len() > 2 { index_arg(a, 2, cs.len())? } else { cs.len() };
    if start > end {
        return Err(Error::new(format!("invalid substring range: start {start} is after end {end}")));
    }
    Ok(Value::string(cs.get(start..end).unwrap_or_default().iter().collect::<String>()))
}

fn join<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let sep = if a.len() > 1 { s(a, 1)? } else { "" };
    let mut out = String::new();
    for (i, v) in list(a, 0)?.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        match v {
            Value::Str(t) => out.push_str(&t),
            other => return Err(Error::new(format!("join: the list holds a {}, not only strings", other.type_name()))),
        }
    }
    Ok(Value::string(out))
}

fn reverse<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Str(t) => Ok(Value::string(t.chars().rev().collect::<String>())),
        Value::List(l) => {
            let mut v = l.to_vec();
            v.reverse();
            Ok(Value::list(v))
        }
        _ => Err(no_overload("reverse", a)),
    }
}

/// `strings.quote`: a string literal with escapes, as cel-go writes it.
fn quote(t: &str) -> String {
    let mut out = String::from("\"");
    for c in t.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `format`: `%s`, `%d`, `%f`, `%.Nf`, `%e`, `%x`, `%X`, `%o`, `%b`, `%%`, as cel-go's strings
/// extension reads them.
fn format<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let text = s(a, 0)?;
    let args = list(a, 1)?.to_vec();
    let mut next = args.iter();
    let mut out = String::new();
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut precision: Option<usize> = None;
        if it.peek() == Some(&'.') {
            it.next();
            let mut digits = String::new();
            while let Some(d) = it.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                it.next();
            }
            precision = Some(digits.parse().map_err(|_| Error::new("format: a precision needs digits"))?);
        }
        let verb = it.next().ok_or_else(|| Error::new("format: the text ends in `%`"))?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let v = next.next().ok_or_else(|| Error::new("format: more verbs than arguments"))?;
        out.push_str(&format_one(verb, precision, v)?);
    }
    if next.next().is_some() {
        return Err(Error::new("format: more arguments than verbs"));
    }
    Ok(Value::string(out))
}

/// `%s` as cel-go writes values: strings bare, also inside lists and maps, maps sorted by key,
/// doubles' infinities spelt out.
fn format_s(v: &Value<'_>) -> String {
    match v {
        Value::Double(x) if x.is_infinite() => (if *x > 0.0 { "Infinity" } else { "-Infinity" }).into(),
        Value::Double(x) => format_double(*x),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::List(l) => format!("[{}]", l.iter().map(|x| format_s(&x)).collect::<Vec<_>>().join(", ")),
        Value::Map(m) => {
            let mut entries: Vec<(String, String)> = m.iter().map(|(k, x)| (format_s(&k), format_s(&x))).collect();
            entries.sort();
            format!("{{{}}}", entries.iter().map(|(k, x)| format!("{k}: {x}")).collect::<Vec<_>>().join(", "))
        }
        other => other.to_string(),
    }
}

#[allow(clippy::cast_precision_loss)]
fn format_one(verb: char, precision: Option<usize>, v: &Value<'_>) -> Result<String, Error> {
    let wrong = |what: &str| Error::new(format!("format: `%{verb}` needs {what}, got {}", v.type_name()));
    Ok(match verb {
        's' => format_s(v),
        'd' => match v {
            Value::Int(i) => i.to_string(),
            Value::Uint(u) => u.to_string(),
            Value::Double(x) if x.is_nan() || x.is_infinite() => format_s(v),
            _ => return Err(wrong("an integer")),
        },
        'f' | 'e' => {
            let x = match v {
                Value::Double(x) => *x,
                Value::Int(i) => *i as f64,
                Value::Uint(u) => *u as f64,
                _ => return Err(wrong("a number")),
            };
            let p = precision.unwrap_or(6);
            if x.is_nan() || x.is_infinite() {
                format_double(x).replace("+Inf", "Infinity").replace("-Inf", "-Infinity")
            } else if verb == 'f' {
                format!("{x:.p$}")
            } else {
                let s = format!("{x:.p$e}");
                match s.split_once('e') {
                    Some((m, e)) if e.starts_with('-') => format!("{m}e-{:0>2}", &e[1..]),
                    Some((m, e)) => format!("{m}e+{e:0>2}"),
                    None => s,
                }
            }
        }
        'x' | 'X' => {
            let s = match v {
                Value::Int(i) if *i < 0 => format!("-{:x}", i.unsigned_abs()),
                Value::Int(i) => format!("{i:x}"),
                Value::Uint(u) => format!("{u:x}"),
                Value::Str(t) => t.bytes().map(|b| format!("{b:02x}")).collect(),
                Value::Bytes(b) => b.iter().map(|b| format!("{b:02x}")).collect(),
                _ => return Err(wrong("an integer, string or bytes")),
            };
            if verb == 'X' {
                s.to_uppercase()
            } else {
                s
            }
        }
        'o' => match v {
            Value::Int(i) if *i < 0 => format!("-{:o}", i.unsigned_abs()),
            Value::Int(i) => format!("{i:o}"),
            Value::Uint(u) => format!("{u:o}"),
            _ => return Err(wrong("an integer")),
        },
        'b' => match v {
            Value::Int(i) if *i < 0 => format!("-{:b}", i.unsigned_abs()),
            Value::Int(i) => format!("{i:b}"),
            Value::Uint(u) => format!("{u:b}"),
            Value::Bool(b) => u8::from(*b).to_string(),
            _ => return Err(wrong("an integer")),
        },
        other => return Err(Error::new(format!("format: unknown verb `%{other}`"))),
    })
}

// ---- lists ----

fn sum<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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

fn extreme<'a>(a: &[Value<'a>], want: Ordering) -> Result<Value<'a>, Error> {
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

fn greatest<'a>(a: &[Value<'a>], want: Ordering) -> Result<Value<'a>, Error> {
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

fn slice<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let l = list(a, 0)?;
    let (start, end) = (index_arg(a, 1, l.len())?, index_arg(a, 2, l.len())?);
    if start > end {
        return Err(Error::new(format!("invalid slice: start {start} is after end {end}")));
    }
    Ok(Value::list((start..end).filter_map(|i| l.get(i)).collect()))
}

fn flatten<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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

fn distinct<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let mut out: Vec<Value<'a>> = Vec::new();
    for v in list(a, 0)?.iter() {
        if !out.iter().any(|o| o.equals(&v)) {
            out.push(v);
        }
    }
    Ok(Value::list(out))
}

fn sort<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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

fn range<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let n = int(a, 0)?;
    if !(0..=1_000_000).contains(&n) {
        return Err(Error::new(format!("lists.range({n}): the length must be 0 to 1000000")));
    }
    Ok(Value::list((0..n).map(Value::Int).collect()))
}

/// Whether every element of `small` is in `big`: strings, ints and bools are looked up in a hash
/// set, so comparing two lists of thousands of hosts stays linear.
fn subset(small: &List<'_>, big: &List<'_>) -> bool {
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

// ---- math ----

fn abs<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Int(i) => i.checked_abs().map(Value::Int).ok_or_else(overflow),
        Value::Uint(u) => Ok(Value::Uint(*u)),
        Value::Double(x) => Ok(Value::Double(x.abs())),
        _ => Err(no_overload("math.abs", a)),
    }
}

fn sign<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Int(i) => Ok(Value::Int(i.signum())),
        Value::Uint(u) => Ok(Value::Uint(u64::from(*u > 0))),
        Value::Double(x) if x.is_nan() || *x == 0.0 => Ok(Value::Double(*x)),
        Value::Double(x) => Ok(Value::Double(x.signum())),
        _ => Err(no_overload("math.sign", a)),
    }
}

fn bits<'a>(a: &[Value<'a>], op: fn(u64, u64) -> u64) -> Result<Value<'a>, Error> {
    #[allow(clippy::cast_sign_loss, clippy::cast_possible_wrap)]
    match (arg(a, 0)?, arg(a, 1)?) {
        (Value::Int(x), Value::Int(y)) => Ok(Value::Int(op(*x as u64, *y as u64) as i64)),
        (Value::Uint(x), Value::Uint(y)) => Ok(Value::Uint(op(*x, *y))),
        _ => Err(no_overload("math.bit", a)),
    }
}

fn shift<'a>(a: &[Value<'a>], left: bool) -> Result<Value<'a>, Error> {
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

fn is_zero(v: &Value<'_>) -> bool {
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

/// A string the program holds, as a value (used for constants).
pub(crate) fn borrowed(text: &str) -> Value<'_> {
    Value::Str(Str::Borrowed(text))
}
