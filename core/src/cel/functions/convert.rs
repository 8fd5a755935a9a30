//! Conversions between CEL's types, and durations and timestamps.

use jiff::{SignedDuration, Timestamp};
use regex::Regex;

use super::args::{arg, no_overload};
use crate::cel::value::{format_double, Error, Value};

#[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
pub(super) fn to_int<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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
pub(super) fn to_uint<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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
pub(super) fn to_double<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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

pub(super) fn to_string<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        v @ Value::Str(_) => Ok(v.clone()),
        Value::Bytes(b) => {
            std::str::from_utf8(b).map(Value::string).map_err(|_| Error::new("the bytes are not valid UTF-8"))
        }
        Value::Double(x) => Ok(Value::string(format_double(*x))),
        v => Ok(Value::string(v.to_string())),
    }
}

pub(super) fn to_bytes<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Str(t) => Ok(Value::Bytes(t.as_bytes().into())),
        v @ Value::Bytes(_) => Ok(v.clone()),
        _ => Err(no_overload("bytes", a)),
    }
}

pub(super) fn to_bool<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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

pub(super) fn to_duration<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Str(t) => parse_duration(t).map(Value::Duration),
        v @ Value::Duration(_) => Ok(v.clone()),
        _ => Err(no_overload("duration", a)),
    }
}

/// CEL's durations span about ±10,000 years.
const MAX_DURATION_SECONDS: i64 = 315_576_000_000;

pub(super) fn duration_in_range<'a>(d: SignedDuration) -> Result<Value<'a>, Error> {
    if d.as_secs().abs() > MAX_DURATION_SECONDS {
        return Err(Error::new("duration out of range"));
    }
    Ok(Value::Duration(d))
}

/// CEL's timestamps are years 1 to 9999.
pub(super) fn timestamp_in_range<'a>(t: Timestamp) -> Result<Value<'a>, Error> {
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

pub(super) fn to_timestamp<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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

pub(super) fn civil<'a>(a: &[Value<'a>], part: fn(&jiff::Zoned) -> i64) -> Result<Value<'a>, Error> {
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

pub(super) fn time_part<'a>(a: &[Value<'a>], unit: i64, part: fn(&jiff::Zoned) -> i64) -> Result<Value<'a>, Error> {
    match arg(a, 0)? {
        Value::Duration(dur) => Ok(Value::Int(dur.as_secs() / unit)),
        _ => civil(a, part),
    }
}
