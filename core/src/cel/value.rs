//! CEL values. Values read from a resource borrow it: a string is a `&str` into the JSON, a list
//! or map is the JSON array or object itself, and nothing is copied until an expression builds
//! something new.

use std::cmp::Ordering;
use std::fmt;
use std::rc::Rc;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value as Json;

use super::ext::Ext;
use super::index::Index;
use super::types::Kind;

/// Why an evaluation failed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Error {
    pub message: String,
    /// The expression ran out of budget (never absorbed by `&&`, `||` or a comprehension).
    pub over_budget: bool,
    /// The evaluation's caller stopped it ([`Budget::stop`](super::budget::Budget::stop);
    /// `over_budget` too).
    pub stopped: bool,
    /// The expression read a value known only after apply (a Terraform plan's unknown): CEL's
    /// unknown, absorbed by `&&`, `||` and comprehensions where the other side decides, as
    /// errors are.
    pub unknown: bool,
}

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Error {
        Error { message: message.into(), over_budget: false, stopped: false, unknown: false }
    }

    /// A value known only after apply was read.
    pub(crate) fn unknown() -> Error {
        Error { unknown: true, ..Error::new("it depends on a value known only after apply") }
    }

    pub(crate) fn budget(limit: u64) -> Error {
        Error {
            message: format!("the expression exceeded its cost budget of {limit}"),
            over_budget: true,
            stopped: false,
            unknown: false,
        }
    }

    /// The evaluation's caller stopped it.
    pub(crate) fn stopped() -> Error {
        Error { over_budget: true, stopped: true, ..Error::new("the evaluation was stopped: its deadline passed") }
    }

    /// The evaluation spent its total budget.
    pub(crate) fn spent(limit: u64) -> Error {
        Error {
            message: format!("the evaluation exceeded its total cost budget of {limit}"),
            over_budget: true,
            stopped: false,
            unknown: false,
        }
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

/// A CEL value; `'a` is the lifetime of the resource and the program it is read from.
#[derive(Clone, Debug)]
pub(crate) enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Double(f64),
    Str(Str<'a>),
    Bytes(Rc<[u8]>),
    List(List<'a>),
    Map(Map<'a>),
    Type(Kind),
    Duration(SignedDuration),
    Timestamp(Timestamp),
    Optional(Option<Rc<Value<'a>>>),
    Ext(Rc<Ext>),
    /// The objects a policy may look up (`inventory`).
    Inventory(&'a Index<'a>),
    /// An error held by a comprehension's accumulator: CEL's errors are values there, so that
    /// `false && error` is still false. Reading it is the error.
    Error(Rc<Error>),
}

/// A string: borrowed from the resource or the program, or built by the expression.
#[derive(Clone, Debug)]
pub(crate) enum Str<'a> {
    Borrowed(&'a str),
    Owned(Rc<str>),
}

impl std::ops::Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Str::Borrowed(s) => s,
            Str::Owned(s) => s,
        }
    }
}

/// A list: a JSON array of the resource, or one the expression built.
#[derive(Clone, Debug)]
pub(crate) enum List<'a> {
    Json(&'a [Json]),
    /// Objects of the inventory.
    Refs(&'a [&'a Json]),
    Owned(Rc<Vec<Value<'a>>>),
}

/// A map: a JSON object of the resource, or one the expression built (in insertion order).
#[derive(Clone, Debug)]
pub(crate) enum Map<'a> {
    Json(&'a serde_json::Map<String, Json>),
    Owned(Rc<Vec<(Value<'a>, Value<'a>)>>),
}

impl<'a> Value<'a> {
    /// The value of a JSON node, borrowing it.
    #[inline]
    pub(crate) fn json(v: &'a Json) -> Value<'a> {
        match v {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => Value::Int(i),
                (None, Some(u)) => Value::Uint(u),
                _ => Value::Double(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Value::Str(Str::Borrowed(s)),
            Json::Array(a) => Value::List(List::Json(a)),
            Json::Object(_) if crate::load::unknown::is_unknown(v) => Value::Error(Rc::new(Error::unknown())),
            Json::Object(o) => Value::Map(Map::Json(o)),
        }
    }

    pub(crate) fn string(s: impl Into<Rc<str>>) -> Value<'a> {
        Value::Str(Str::Owned(s.into()))
    }

    pub(crate) fn list(items: Vec<Value<'a>>) -> Value<'a> {
        Value::List(List::Owned(Rc::new(items)))
    }

    pub(crate) fn kind(&self) -> Kind {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(_) => Kind::Bool,
            Value::Int(_) => Kind::Int,
            Value::Uint(_) => Kind::Uint,
            Value::Double(_) => Kind::Double,
            Value::Str(_) => Kind::String,
            Value::Bytes(_) => Kind::Bytes,
            Value::List(_) => Kind::List,
            Value::Map(_) => Kind::Map,
            Value::Type(_) => Kind::Type,
            Value::Duration(_) => Kind::Duration,
            Value::Timestamp(_) => Kind::Timestamp,
            Value::Optional(_) => Kind::Optional,
            Value::Ext(e) => e.kind(),
            Value::Inventory(_) => Kind::Inventory,
            Value::Error(_) => Kind::Null,
        }
    }

    /// The type's name, for messages.
    pub(crate) fn type_name(&self) -> &'static str {
        self.kind().name()
    }

    /// Equality as CEL defines it: numbers compare by value across int, uint and double; values
    /// of different types are unequal.
    pub(crate) fn equals(&self, other: &Value<'a>) -> bool {
        use Value as V;

        match (self, other) {
            (V::Null, V::Null) => true,
            (V::Bool(a), V::Bool(b)) => a == b,
            (V::Str(a), V::Str(b)) => same_key(a, b),
            (V::Bytes(a), V::Bytes(b)) => a == b,
            (V::List(a), V::List(b)) => {
                a.len() == b.len()
                    && (0..a.len()).all(|i| matches!((a.get(i), b.get(i)), (Some(x), Some(y)) if x.equals(&y)))
            }
            (V::Map(a), V::Map(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(&k).is_some_and(|w| v.equals(&w)))
            }
            (V::Type(a), V::Type(b)) => a == b,
            (V::Duration(a), V::Duration(b)) => a == b,
            (V::Timestamp(a), V::Timestamp(b)) => a == b,
            (V::Optional(a), V::Optional(b)) => match (a, b) {
                (Some(a), Some(b)) => a.equals(b),
                (None, None) => true,
                _ => false,
            },
            (V::Ext(a), V::Ext(b)) => a.equals(b),
            _ => self.number_order(other) == Some(Ordering::Equal),
        }
    }

    /// The order of two numbers of any numeric types; `None` when either is not a number or is
    /// NaN.
    fn number_order(&self, other: &Value<'a>) -> Option<Ordering> {
        use Value as V;
        match (self, other) {
            (V::Int(a), V::Int(b)) => Some(a.cmp(b)),
            (V::Uint(a), V::Uint(b)) => Some(a.cmp(b)),
            (V::Int(a), V::Uint(b)) => Some(i128::from(*a).cmp(&i128::from(*b))),
            (V::Uint(a), V::Int(b)) => Some(i128::from(*a).cmp(&i128::from(*b))),
            (V::Double(a), V::Double(b)) => a.partial_cmp(b),
            (V::Double(a), V::Int(b)) => double_vs_int(*a, i128::from(*b)),
            (V::Double(a), V::Uint(b)) => double_vs_int(*a, i128::from(*b)),
            (V::Int(a), V::Double(b)) => double_vs_int(*b, i128::from(*a)).map(Ordering::reverse),
            (V::Uint(a), V::Double(b)) => double_vs_int(*b, i128::from(*a)).map(Ordering::reverse),
            _ => None,
        }
    }

    /// `<`, `<=`, `>`, `>=`: numbers across types, strings, bytes, bools, durations, timestamps.
    /// `None` when the values are unordered (a NaN), so every comparison is false.
    pub(crate) fn compare(&self, other: &Value<'a>) -> Result<Option<Ordering>, Error> {
        use Value as V;
        Ok(Some(match (self, other) {
            (V::Str(a), V::Str(b)) => (**a).cmp(&**b),
            (V::Bytes(a), V::Bytes(b)) => a.cmp(b),
            (V::Bool(a), V::Bool(b)) => a.cmp(b),
            (V::Duration(a), V::Duration(b)) => a.cmp(b),
            (V::Timestamp(a), V::Timestamp(b)) => a.cmp(b),
            (V::Int(_) | V::Uint(_) | V::Double(_), V::Int(_) | V::Uint(_) | V::Double(_)) => {
                return Ok(self.number_order(other))
            }
            (V::Ext(a), V::Ext(b)) => match a.compare(b) {
                Some(o) => o,
                None => return Err(Error::no_overload("_<_", &[self, other])),
            },
            _ => return Err(Error::no_overload("_<_", &[self, other])),
        }))
    }

    /// The map key this value is, if it can be one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Size in the sense of cost: the length of a string, bytes, list or map; 1 otherwise.
    pub(crate) fn size_hint(&self) -> u64 {
        match self {
            Value::Str(s) => s.len() as u64,
            Value::Bytes(b) => b.len() as u64,
            Value::List(l) => l.len() as u64,
            Value::Map(m) => m.len() as u64,
            _ => 1,
        }
    }

    /// Converts back to JSON (for rendering and messages).
    pub(crate) fn to_json(&self) -> Result<Json, Error> {
        Ok(match self {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Uint(u) => Json::from(*u),
            Value::Double(d) => serde_json::Number::from_f64(*d)
                .map(Json::Number)
                .ok_or_else(|| Error::new(format!("{d} has no JSON form")))?,
            Value::Str(s) => Json::String(s.to_string()),
            Value::List(List::Json(a)) => Json::Array(a.to_vec()),
            Value::Map(Map::Json(m)) => Json::Object((*m).clone()),
            Value::List(l) => Json::Array(l.iter().map(|v| v.to_json()).collect::<Result<_, _>>()?),
            Value::Map(m) => {
                let mut out = serde_json::Map::new();
                for (k, v) in m.iter() {
                    let key = match &k {
                        Value::Str(s) => s.to_string(),
                        Value::Int(_) | Value::Uint(_) | Value::Bool(_) => k.to_string(),
                        _ => return Err(Error::new(format!("a {} key has no JSON form", k.type_name()))),
                    };
                    out.insert(key, v.to_json()?);
                }
                Json::Object(out)
            }
            Value::Optional(Some(v)) => v.to_json()?,
            Value::Optional(None) => Json::Null,
            Value::Duration(_) | Value::Timestamp(_) | Value::Ext(_) => Json::String(self.to_string()),
            Value::Error(e) => return Err((**e).clone()),
            Value::Bytes(_) | Value::Type(_) | Value::Inventory(_) => {
                return Err(Error::new(format!("a {} has no JSON form", self.type_name())))
            }
        })
    }
}

/// A double against an integer, as CEL compares them: the integer as a double.
#[allow(clippy::cast_precision_loss)]
fn double_vs_int(d: f64, i: i128) -> Option<Ordering> {
    d.partial_cmp(&(i as f64))
}

impl<'a> List<'a> {
    pub(crate) fn len(&self) -> usize {
        match self {
            List::Json(a) => a.len(),
            List::Refs(a) => a.len(),
            List::Owned(v) => v.len(),
        }
    }

    pub(crate) fn get(&self, i: usize) -> Option<Value<'a>> {
        match self {
            List::Json(a) => a.get(i).map(Value::json),
            List::Refs(a) => a.get(i).map(|v| Value::json(v)),
            List::Owned(v) => v.get(i).cloned(),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = Value<'a>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    pub(crate) fn to_vec(&self) -> Vec<Value<'a>> {
        self.iter().collect()
    }
}

impl<'a> Map<'a> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Map::Json(m) => m.len(),
            Map::Owned(v) => v.len(),
        }
    }

    /// The value at `key`; keys compare as CEL values do (`1 == 1u`).
    pub(crate) fn get(&self, key: &Value<'a>) -> Option<Value<'a>> {
        match self {
            Map::Json(_) => key.as_str().and_then(|k| self.field(k)),
            Map::Owned(v) => v.iter().find(|(k, _)| k.equals(key)).map(|(_, v)| v.clone()),
        }
    }

    /// The value at a string key.
    #[inline]
    pub(crate) fn field(&self, key: &str) -> Option<Value<'a>> {
        match self {
            // The objects of a manifest have tens of keys at most: comparing lengths and first
            // bytes is cheaper than hashing the key.
            Map::Json(m) if m.len() <= 32 => m.iter().find(|(k, _)| same_key(k, key)).map(|(_, v)| Value::json(v)),
            Map::Json(m) => m.get(key).map(Value::json),
            Map::Owned(v) => {
                v.iter().find(|(k, _)| k.as_str().is_some_and(|k| same_key(k, key))).map(|(_, v)| v.clone())
            }
        }
    }

    pub(crate) fn iter(&self) -> Box<dyn Iterator<Item = (Value<'a>, Value<'a>)> + '_> {
        match self {
            Map::Json(m) => Box::new(m.iter().map(|(k, v)| (Value::Str(Str::Borrowed(k.as_str())), Value::json(v)))),
            Map::Owned(v) => Box::new(v.iter().cloned()),
        }
    }
}

/// Whether two short strings (a map's keys, literals) are equal, compared byte by byte in place:
/// cheaper than a call to the C library's `memcmp` for the few bytes they have.
#[inline]
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 32 {
        return a == b;
    }
    let mut i = 0;
    while let (Some(x), Some(y)) = (a.get(i), b.get(i)) {
        if x != y {
            return false;
        }
        i += 1;
    }
    true
}

impl fmt::Display for Value<'_> {
    /// The text `string(x)` gives, and messages show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Uint(u) => write!(f, "{u}"),
            Value::Double(d) => write!(f, "{}", format_double(*d)),
            Value::Str(s) => f.write_str(s),
            Value::Bytes(b) => write!(f, "{}", String::from_utf8_lossy(b)),
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    v.fmt_quoted(f)?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    k.fmt_quoted(f)?;
                    f.write_str(": ")?;
                    v.fmt_quoted(f)?;
                }
                f.write_str("}")
            }
            Value::Type(k) => f.write_str(k.name()),
            Value::Duration(d) => write!(f, "{}", format_duration(*d)),
            Value::Timestamp(t) => write!(f, "{t}"),
            Value::Optional(Some(v)) => write!(f, "optional.of({v})"),
            Value::Optional(None) => f.write_str("optional.none()"),
            Value::Ext(e) => write!(f, "{e}"),
            Value::Inventory(i) => write!(f, "{i:?}"),
            Value::Error(e) => write!(f, "error: {e}"),
        }
    }
}

impl Value<'_> {
    /// Inside lists and maps, strings are quoted.
    fn fmt_quoted(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "{:?}", &**s),
            v => write!(f, "{v}"),
        }
    }
}

/// A double as CEL's `string()` writes it: no trailing `.0` is added to integral values beyond
/// what Go's `%g`-like formatting gives, and exponents for very large or small values.
pub(crate) fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "+Inf".into() } else { "-Inf".into() };
    }
    let abs = d.abs();
    if abs != 0.0 && !(1e-4..1e21).contains(&abs) {
        let s = format!("{d:e}");
        // Rust writes `1e21`; Go writes `1e+21`.
        return match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e:0>2}"),
            Some((m, e)) => format!("{m}e-{:0>2}", e.trim_start_matches('-')),
            None => s,
        };
    }
    format!("{d}")
}

/// A duration as CEL writes it: seconds, with the fraction it needs (`3600s`, `1.5s`).
pub(crate) fn format_duration(d: SignedDuration) -> String {
    let nanos = d.as_nanos();
    let (sign, abs) = if nanos < 0 { ("-", nanos.unsigned_abs()) } else { ("", nanos.unsigned_abs()) };
    let (secs, frac) = (abs / 1_000_000_000, abs % 1_000_000_000);
    if frac == 0 {
        format!("{sign}{secs}s")
    } else {
        format!("{sign}{secs}.{}s", format!("{frac:09}").trim_end_matches('0'))
    }
}
