//! Strings: size, regular expressions, the strings extension and `format`.

use regex::Regex;

use super::args::{arg, int, list, no_overload, s};
use crate::cel::value::{format_double, Error, Value};

pub(super) fn size<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let n = match arg(a, 0)? {
        Value::Str(t) => t.chars().count(),
        Value::Bytes(b) => b.len(),
        Value::List(l) => l.len(),
        Value::Map(m) => m.len(),
        _ => return Err(no_overload("size", a)),
    };
    Ok(Value::Int(i64::try_from(n).unwrap_or(i64::MAX)))
}

pub(super) fn compiled<'r>(
    a: &[Value<'_>],
    at: usize,
    re: Option<&'r Regex>,
) -> Result<std::borrow::Cow<'r, Regex>, Error> {
    match re {
        Some(r) => Ok(std::borrow::Cow::Borrowed(r)),
        None => regex(s(a, at)?).map(std::borrow::Cow::Owned),
    }
}

pub(super) fn matches<'a>(a: &[Value<'a>], re: Option<&Regex>) -> Result<Value<'a>, Error> {
    let text = s(a, 0)?;
    Ok(Value::Bool(compiled(a, 1, re)?.is_match(text)))
}

pub(super) fn find_first<'a>(a: &[Value<'a>], re: Option<&Regex>) -> Result<Value<'a>, Error> {
    let text = s(a, 0)?;
    Ok(Value::string(compiled(a, 1, re)?.find(text).map_or("", |m| m.as_str())))
}

pub(super) fn find_all<'a>(a: &[Value<'a>], re: Option<&Regex>) -> Result<Value<'a>, Error> {
    let text = s(a, 0)?;
    let limit = match a.get(2) {
        Some(Value::Int(n)) if *n >= 0 => usize::try_from(*n).unwrap_or(usize::MAX),
        _ => usize::MAX,
    };
    let re = compiled(a, 1, re)?;
    Ok(Value::list(re.find_iter(text).take(limit).map(|m| Value::string(m.as_str())).collect()))
}

pub(super) fn chars(t: &str) -> Vec<char> {
    t.chars().collect()
}

pub(super) fn index_arg(a: &[Value<'_>], i: usize, len: usize) -> Result<usize, Error> {
    let n = int(a, i)?;
    usize::try_from(n).ok().filter(|n| *n <= len).ok_or_else(|| Error::new(format!("index out of range: {n}")))
}

pub(super) fn char_at<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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

pub(super) fn index_of<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    if let Value::List(l) = arg(a, 0)? {
        let x = arg(a, 1)?;
        return Ok(Value::Int(l.iter().position(|v| v.equals(x)).map_or(-1, |i| i as i64)));
    }
    let (hay, needle) = (chars(s(a, 0)?), chars(s(a, 1)?));
    let from = match offset(a, &hay, &needle)? {
        None => 0,
        Some(Offset::At(i)) => i,
        Some(Offset::Answer(n)) => return Ok(Value::Int(n)),
    };
    Ok(Value::Int(position(&hay, &needle, from, false).map_or(-1, |i| i as i64)))
}

/// Where an `indexOf`/`lastIndexOf` with an offset starts, as cel-go's strings library reads it:
/// a negative offset is an error; with an empty needle the answer is the offset; past the end,
/// -1.
enum Offset {
    At(usize),
    Answer(i64),
}

fn offset(a: &[Value<'_>], hay: &[char], needle: &[char]) -> Result<Option<Offset>, Error> {
    if a.len() < 3 {
        return Ok(None);
    }
    let n = int(a, 2)?;
    Ok(Some(match usize::try_from(n) {
        _ if needle.is_empty() => Offset::Answer(n),
        Err(_) => return Err(Error::new(format!("index out of range: {n}"))),
        Ok(i) if i >= hay.len() => Offset::Answer(-1),
        Ok(i) => Offset::At(i),
    }))
}

pub(super) fn last_index_of<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    if let Value::List(l) = arg(a, 0)? {
        let x = arg(a, 1)?;
        let items = l.to_vec();
        return Ok(Value::Int(items.iter().rposition(|v| v.equals(x)).map_or(-1, |i| i as i64)));
    }
    let (hay, needle) = (chars(s(a, 0)?), chars(s(a, 1)?));
    let from = match offset(a, &hay, &needle)? {
        None => hay.len(),
        Some(Offset::At(i)) => i,
        Some(Offset::Answer(n)) => return Ok(Value::Int(n)),
    };
    Ok(Value::Int(position(&hay, &needle, from, true).map_or(-1, |i| i as i64)))
}

pub(super) fn replace<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let (text, from, to) = (s(a, 0)?, s(a, 1)?, s(a, 2)?);
    Ok(Value::string(match a.get(3) {
        Some(Value::Int(n)) if *n >= 0 => text.replacen(from, to, usize::try_from(*n).unwrap_or(usize::MAX)),
        _ => text.replace(from, to),
    }))
}

pub(super) fn split<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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

pub(super) fn substring<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
    let cs = chars(s(a, 0)?);
    let start = index_arg(a, 1, cs.len())?;
    let end = if a.len() > 2 { index_arg(a, 2, cs.len())? } else { cs.len() };
    if start > end {
        return Err(Error::new(format!("invalid substring range: start {start} is after end {end}")));
    }
    Ok(Value::string(cs.get(start..end).unwrap_or_default().iter().collect::<String>()))
}

pub(super) fn join<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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

pub(super) fn reverse<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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
pub(super) fn quote(t: &str) -> String {
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
pub(super) fn format<'a>(a: &[Value<'a>], _: Option<&Regex>) -> Result<Value<'a>, Error> {
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

/// Compiles a regular expression with a bounded size (RE2 semantics, as CEL's).
pub(crate) fn regex(pattern: &str) -> Result<Regex, Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|e| Error::new(format!("invalid regular expression `{pattern}`: {e}")))
}
