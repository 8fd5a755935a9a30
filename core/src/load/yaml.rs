//! YAML/JSON text to `serde_json::Value` documents that remember where every node was written.
//!
//! We drive `yaml-rust2`'s event parser ourselves instead of using a serde deserializer so that
//! every node gets a JSON pointer and a line/column, and so that hostile input is bounded:
//! nesting depth, alias expansion and duplicate keys are checked while the tree is built.
//!
//! Scalars follow the YAML 1.2 core schema (`true`/`false`, `null`/`~`, decimal, `0x` and `0o`
//! integers, floats); quoted scalars are always strings. JSON is valid YAML 1.2, so `.json`
//! files go through the same path.

use crate::pointer::escape_segment;
use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Where a node was written: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Pos {
    fn of(m: &Marker) -> Self {
        Pos {
            line: u32::try_from(m.line()).unwrap_or(u32::MAX),
            column: u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
        }
    }
}

/// JSON pointer -> where that node was written. The root is `""`.
#[derive(Debug, Clone, Default)]
pub struct Spans {
    values: HashMap<Box<str>, Pos>,
    /// Where the key of a map entry was written, by the entry's pointer.
    keys: HashMap<Box<str>, Pos>,
}

impl Spans {
    /// Where `pointer` was written, or its nearest written ancestor (a finding often points at a
    /// field that is missing, and the best place to show is the object that lacks it).
    pub fn locate(&self, pointer: &str) -> Pos {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.values.get(p) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p = p.get(..i).unwrap_or(""),
                None => return Pos::default(),
            }
        }
    }

    /// Where exactly `pointer` was written, if it was.
    #[cfg(test)]
    pub fn get(&self, pointer: &str) -> Option<Pos> {
        self.values.get(pointer).copied()
    }

    /// Where the key of the map entry at `pointer` was written.
    pub fn key(&self, pointer: &str) -> Option<Pos> {
        self.keys.get(pointer).copied()
    }
}

/// One parsed document of a multi-document stream.
#[derive(Debug, Clone)]
pub struct RawDocument {
    /// The document's value.
    pub value: Value,
    /// Where each node was written.
    pub spans: Spans,
}

/// A syntax problem, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

/// Limits that keep hostile input bounded.
const MAX_DEPTH: usize = 128;
const MAX_NODES: usize = 2_000_000;

/// Parses all documents of `text`. Empty documents (e.g. a trailing `---`) are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<RawDocument>, SyntaxError> {
    Builder::new(text).run()
}

enum Frame {
    Seq {
        items: Vec<Value>,
        pointer: String,
        anchor: usize,
        start_nodes: usize,
    },
    Map {
        map: Map<String, Value>,
        pointer: String,
        pending_key: Option<(String, Pos)>,
        anchor: usize,
        start_nodes: usize,
    },
}

struct Builder<'a> {
    parser: Parser<std::str::Chars<'a>>,
    stack: Vec<Frame>,
    spans: Spans,
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    docs: Vec<RawDocument>,
    root: Option<Value>,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str) -> Self {
        Builder {
            parser: Parser::new_from_str(text),
            stack: Vec::new(),
            spans: Spans::default(),
            anchors: HashMap::new(),
            nodes: 0,
            docs: Vec::new(),
            root: None,
        }
    }

    fn run(mut self) -> Result<Vec<RawDocument>, SyntaxError> {
        loop {
            let (event, mark) = self
                .parser
                .next_token()
                .map_err(|e| SyntaxError { pos: Pos::of(e.marker()), message: e.info().to_owned() })?;
            let pos = Pos::of(&mark);
            match event {
                Event::StreamEnd => break,
                Event::StreamStart | Event::Nothing => {}
                Event::DocumentStart => {
                    self.spans = Spans::default();
                    self.anchors.clear();
                    self.nodes = 0;
                    self.root = None;
                }
                Event::DocumentEnd => {
                    if let Some(value) = self.root.take().filter(|v| !v.is_null()) {
                        self.docs.push(RawDocument { value, spans: std::mem::take(&mut self.spans) });
                    }
                }
                Event::Scalar(text, style, anchor, tag) => {
                    if self.expecting_key() {
                        self.set_key(text, pos)?;
                    } else {
                        let value = scalar(&text, style, tag.as_ref(), pos)?;
                        self.count(1, pos)?;
                        let pointer = self.child_pointer();
                        self.spans.values.insert(pointer.into(), pos);
                        if anchor > 0 {
                            self.anchors.insert(anchor, (value.clone(), 1));
                        }
                        self.push_value(value);
                    }
                }
                Event::Alias(id) => {
                    let Some((value, size)) = self.anchors.get(&id).cloned() else {
                        return Err(err(pos, "alias refers to an unknown anchor"));
                    };
                    if self.expecting_key() {
                        match value {
                            Value::String(s) => self.set_key(s, pos)?,
                            _ => return Err(err(pos, "an alias used as a mapping key must name a string")),
                        }
                    } else {
                        self.count(size, pos)?;
                        let pointer = self.child_pointer();
                        self.spans.values.insert(pointer.into(), pos);
                        self.push_value(value);
                    }
                }
                Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                    if self.expecting_key() {
                        return Err(err(pos, "a mapping key must be a scalar, not a collection"));
                    }
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(err(pos, format!("nesting deeper than {MAX_DEPTH} levels")));
                    }
                    self.count(1, pos)?;
                    let pointer = self.child_pointer();
                    self.spans.values.insert(pointer.clone().into(), pos);
                    let start_nodes = self.nodes;
                    self.stack.push(if matches!(event, Event::SequenceStart(..)) {
                        Frame::Seq { items: Vec::new(), pointer, anchor, start_nodes }
                    } else {
                        Frame::Map { map: Map::new(), pointer, pending_key: None, anchor, start_nodes }
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let (value, anchor, start_nodes) = match self.stack.pop() {
                        Some(Frame::Seq { items, anchor, start_nodes, .. }) => {
                            (Value::Array(items), anchor, start_nodes)
                        }
                        Some(Frame::Map { map, anchor, start_nodes, .. }) => (Value::Object(map), anchor, start_nodes),
                        None => return Err(err(pos, "unbalanced collection end")),
                    };
                    if anchor > 0 {
                        let size = self.nodes.saturating_sub(start_nodes) + 1;
                        self.anchors.insert(anchor, (value.clone(), size));
                    }
                    self.push_value(value);
                }
            }
        }
        Ok(self.docs)
    }

    fn count(&mut self, n: usize, pos: Pos) -> Result<(), SyntaxError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(err(pos, format!("document expands to more than {MAX_NODES} nodes (an alias bomb?)")));
        }
        Ok(())
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { pending_key: None, .. }))
    }

    fn set_key(&mut self, key: String, pos: Pos) -> Result<(), SyntaxError> {
        if let Some(Frame::Map { map, pending_key, pointer, .. }) = self.stack.last_mut() {
            if map.contains_key(&key) {
                return Err(err(pos, format!("duplicate key `{key}`")));
            }
            // A block mapping's start event comes after its first key; the mapping starts there.
            if map.is_empty() {
                if let Some(start) = self.spans.values.get_mut(pointer.as_str()) {
                    *start = (*start).min(pos);
                }
            }
            self.spans.keys.insert(format!("{pointer}/{}", escape_segment(&key)).into(), pos);
            *pending_key = Some((key, pos));
        }
        Ok(())
    }

    fn child_pointer(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Seq { items, pointer, .. }) => format!("{pointer}/{}", items.len()),
            Some(Frame::Map { pointer, pending_key, .. }) => {
                let key = pending_key.as_ref().map(|(k, _)| k.as_str()).unwrap_or("");
                format!("{pointer}/{}", escape_segment(key))
            }
        }
    }

    fn push_value(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, pending_key, .. }) => {
                if let Some((key, _)) = pending_key.take() {
                    map.insert(key, value);
                }
            }
        }
    }
}

fn err(pos: Pos, message: impl Into<String>) -> SyntaxError {
    SyntaxError { pos, message: message.into() }
}

fn scalar(text: &str, style: TScalarStyle, tag: Option<&Tag>, pos: Pos) -> Result<Value, SyntaxError> {
    if let Some(tag) = tag {
        if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" {
            return match tag.suffix.as_str() {
                "str" => Ok(Value::String(text.to_owned())),
                "int" | "float" | "bool" | "null" => plain(text)
                    .filter(|v| !v.is_string())
                    .ok_or_else(|| err(pos, format!("`{text}` is not a valid !!{}", tag.suffix))),
                other => Err(err(pos, format!("unsupported tag !!{other}"))),
            };
        }
    }
    if style != TScalarStyle::Plain {
        return Ok(Value::String(text.to_owned()));
    }
    plain(text).ok_or_else(|| err(pos, format!("`{text}` is not a finite number")))
}

/// Resolves a plain scalar by the YAML 1.2 core schema. `None` for numbers JSON cannot hold.
pub(crate) fn plain(text: &str) -> Option<Value> {
    Some(match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "-.inf" | ".nan" | ".NaN" | ".NAN" => return None,
        _ => {
            let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
            let negative = text.starts_with('-');
            let radix = if let Some(h) = text.strip_prefix("0x") {
                i64::from_str_radix(h, 16).ok()
            } else if let Some(o) = text.strip_prefix("0o") {
                i64::from_str_radix(o, 8).ok()
            } else {
                None
            };
            if let Some(i) = radix {
                Value::Number(i.into())
            } else if !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit()) {
                match text.parse::<i64>() {
                    Ok(i) => Value::Number(i.into()),
                    Err(_) if !negative => match text.trim_start_matches('+').parse::<u64>() {
                        Ok(u) => Value::Number(u.into()),
                        Err(_) => float(text)?,
                    },
                    Err(_) => float(text)?,
                }
            } else if looks_like_float(unsigned) {
                float(text)?
            } else {
                Value::String(text.to_owned())
            }
        }
    })
}

fn looks_like_float(s: &str) -> bool {
    let mut chars = s.chars().peekable();
    let digits = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        let mut any = false;
        while chars.next_if(char::is_ascii_digit).is_some() {
            any = true;
        }
        any
    };
    let mut mantissa = digits(&mut chars);
    if chars.next_if_eq(&'.').is_some() {
        mantissa |= digits(&mut chars);
    }
    if !mantissa {
        return false;
    }
    if chars.next_if(|c| matches!(c, 'e' | 'E')).is_some() {
        chars.next_if(|c| matches!(c, '+' | '-'));
        if !digits(&mut chars) {
            return false;
        }
    }
    chars.next().is_none()
}

fn float(text: &str) -> Option<Value> {
    text.parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> RawDocument {
        parse_documents(text).unwrap().remove(0)
    }

    #[test]
    fn core_schema_scalars() {
        let d = one("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: 0x10\ng: v1\nh: 1e3\ni: 1.2.3\nj: -7\n");
        assert_eq!(
            d.value,
            serde_json::json!({"a":1,"b":"1","c":true,"d":null,"e":1.5,"f":16,"g":"v1","h":1000.0,"i":"1.2.3","j":-7})
        );
    }

    #[test]
    fn spans_point_at_nodes() {
        let d = one("a:\n  b:\n    - x\n    - y: 1\n");
        assert_eq!(d.spans.get("/a/b/1/y"), Some(Pos { line: 4, column: 10 }));
        assert_eq!(d.spans.locate("/a/b/1/missing").line, 4);
        assert_eq!(d.spans.get("/a/b/0"), Some(Pos { line: 3, column: 7 }));
    }

    #[test]
    fn multi_document_skips_empty() {
        let docs = parse_documents("---\na: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].spans.get("/b"), Some(Pos { line: 5, column: 4 }));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse_documents("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(e.pos.line, 3);
        assert!(e.message.contains("duplicate key `a`"));
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse_documents(&text).unwrap_err();
        assert!(e.message.contains("alias bomb"), "{e:?}");
    }

    #[test]
    fn small_aliases_expand() {
        let d = one("base: &b {x: 1}\nother: *b\n");
        assert_eq!(d.value["other"], serde_json::json!({"x": 1}));
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        let e = parse_documents(&text).unwrap_err();
        assert!(e.message.contains("nesting deeper") || e.message.contains("recursion limit"), "{e:?}");
    }

    #[test]
    fn json_is_accepted() {
        let d = one(r#"{"a": [1, "two", null], "b": {"c": false}}"#);
        assert_eq!(d.value, serde_json::json!({"a": [1, "two", null], "b": {"c": false}}));
    }
}
