//! YAML/JSON text to `serde_json::Value` documents that remember where every node was written.
//!
//! We drive `yaml-rust2`'s event parser ourselves instead of using a serde deserializer so that
//! every node gets a JSON pointer and a line/column, and so that hostile input is bounded:
//! nesting depth, alias expansion and duplicate keys are checked while the tree is built.
//!
//! Two ways to read scalars, for two kinds of files ([`Schema`]):
//! - paved's own documents (policies, exceptions, bundles, tests, golden paths and their
//!   inputs) follow the YAML 1.2 core schema (`true`/`false`, `null`/`~`, decimal, `0x` and `0o`
//!   integers, floats), where a schema catches a `yes` meant as a boolean;
//! - manifests are read as Kubernetes' tools read them (kubectl, kustomize and Helm convert YAML
//!   to JSON with `sigs.k8s.io/yaml`, which resolves YAML 1.1 scalars): `yes`/`no`/`on`/`off`/`y`/`n`
//!   are booleans, `0755` is octal, `0b101` binary, `1_000` a thousand, plain keys are resolved
//!   and turned back into strings (`on:` is the key `"true"`), and merge keys (`<<: *base`) are
//!   merged. Where the readers of the field would disagree (an explicit key before a merge that
//!   also sets it, `.inf`, a key that is `null`), the document is refused with the reason.
//!
//! Quoted scalars are always strings. JSON is valid YAML, so `.json` files go through the same
//! path.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Where a node was written: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Pos {
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

/// A JSON pointer by its FNV-1a hash, extended segment by segment while the tree is built, so
/// that reading allocates no pointer text per node. Two pointers of one document that hashed
/// alike would only swap the places reported for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PointerKey(u64);

impl PointerKey {
    /// The root, `""`.
    pub(crate) const ROOT: PointerKey = PointerKey(0xcbf2_9ce4_8422_2325);

    fn byte(self, b: u8) -> Self {
        PointerKey((self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    }

    /// The key of the pointer written `pointer` (segments already escaped).
    pub(crate) fn of(pointer: &str) -> Self {
        pointer.bytes().fold(Self::ROOT, Self::byte)
    }

    /// The member `name` of this object (escaped as a pointer writes it: `~0`, `~1`).
    pub(crate) fn key(self, name: &str) -> Self {
        name.bytes().fold(self.byte(b'/'), |h, b| match b {
            b'~' => h.byte(b'~').byte(b'0'),
            b'/' => h.byte(b'~').byte(b'1'),
            _ => h.byte(b),
        })
    }

    /// The item `i` of this array.
    pub(crate) fn index(self, i: usize) -> Self {
        let mut digits = [0u8; 20];
        let mut n = i;
        let mut at = digits.len();
        loop {
            at -= 1;
            if let Some(d) = digits.get_mut(at) {
                *d = b'0' + (n % 10) as u8;
            }
            n /= 10;
            if n == 0 || at == 0 {
                break;
            }
        }
        digits.get(at..).unwrap_or_default().iter().fold(self.byte(b'/'), |h, b| h.byte(*b))
    }
}

/// Hashes a [`PointerKey`], already a hash, by mixing its bits once.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        let h = self.0 ^ (self.0 >> 33);
        h.wrapping_mul(0xff51_afd7_ed55_8ccd) ^ (h >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(*b) ^ (self.0 >> 56);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type KeyMap = HashMap<PointerKey, Pos, std::hash::BuildHasherDefault<KeyHasher>>;

/// JSON pointer -> where that node was written. The root is `""`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Spans {
    pub(super) values: KeyMap,
    /// Where the key of a map entry was written, by the entry's pointer.
    pub(super) keys: KeyMap,
}

impl Spans {
    /// Where `pointer` was written, or its nearest written ancestor (a finding often points at a
    /// field that is missing, and the best place to show is the object that lacks it).
    pub(crate) fn locate(&self, pointer: &str) -> Pos {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.values.get(&PointerKey::of(p)) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p = p.get(..i).unwrap_or(""),
                None => return Pos::default(),
            }
        }
    }

    /// Records where `pointer` was written (for documents paved makes of another language's
    /// text: Terraform's HCL).
    pub(crate) fn insert(&mut self, pointer: &str, pos: Pos) {
        self.values.insert(PointerKey::of(pointer), pos);
    }

    /// Where exactly `pointer` was written, if it was.
    pub(crate) fn get(&self, pointer: &str) -> Option<Pos> {
        self.values.get(&PointerKey::of(pointer)).copied()
    }

    /// Where the key of the map entry at `pointer` was written.
    pub(crate) fn key(&self, pointer: &str) -> Option<Pos> {
        self.keys.get(&PointerKey::of(pointer)).copied()
    }
}

/// One parsed document of a multi-document stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawDocument {
    /// The document's value.
    pub value: Value,
    /// Where each node was written.
    pub spans: Spans,
}

/// A syntax problem, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

/// Limits that keep hostile input bounded.
pub(super) const MAX_DEPTH: usize = 128;
pub(super) const MAX_NODES: usize = 2_000_000;

/// How plain scalars resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Schema {
    /// YAML 1.2 core: paved's own documents.
    Core,
    /// As `sigs.k8s.io/yaml` (YAML 1.1 with merge keys): manifests.
    Kubernetes,
}

/// Parses all documents of `text` with the full reader, drawing alias expansion from `budget`.
/// Empty documents (e.g. a trailing `---`) are skipped.
pub(crate) fn parse_full(text: &str, schema: Schema, budget: &AliasBudget) -> Result<Vec<RawDocument>, SyntaxError> {
    Builder::new(text, schema, budget).run()
}

/// The full reader alone, for comparing the fast one with it.
#[cfg(test)]
pub(crate) fn parse_slow(text: &str, schema: Schema) -> Result<Vec<RawDocument>, SyntaxError> {
    parse_full(text, schema, &AliasBudget::default())
}

/// What aliases may add to one input, across all its documents and files: nodes, and bytes of
/// text (a 1 MB anchored string aliased 10,000 times is 10 GB). Real content is bounded per
/// document by [`MAX_NODES`]; this bounds what repetition adds.
#[derive(Debug, Default)]
pub(crate) struct AliasBudget {
    nodes: std::sync::atomic::AtomicUsize,
    bytes: std::sync::atomic::AtomicUsize,
    /// Takes no alias at all: a text that uses one stops, to be read again, in the input's
    /// order, with the input's shared budget (so which file goes over is always the same one).
    defer: bool,
    deferred: std::sync::atomic::AtomicBool,
}

/// The most nodes aliases may add to one input.
const ALIAS_NODES: usize = 1_000_000;
/// The most bytes of text aliases may add to one input.
const ALIAS_BYTES: usize = 64 << 20;

impl AliasBudget {
    /// A budget that takes no alias; [`AliasBudget::deferred`] then says a text used one.
    pub(crate) fn deferring() -> Self {
        AliasBudget { defer: true, ..AliasBudget::default() }
    }

    /// Whether a text stopped at an alias that this (deferring) budget did not take.
    pub(crate) fn deferred(&self) -> bool {
        self.deferred.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Spends `nodes` and `bytes`; `Err` with the reason when the input would go over.
    fn spend(&self, nodes: usize, bytes: usize) -> Result<(), String> {
        use std::sync::atomic::Ordering::Relaxed;
        if self.defer {
            self.deferred.store(true, Relaxed);
            return Err("an alias, read again with the input's alias budget".into());
        }
        let n = self.nodes.fetch_add(nodes, Relaxed).saturating_add(nodes);
        let b = self.bytes.fetch_add(bytes, Relaxed).saturating_add(bytes);
        if n > ALIAS_NODES {
            return Err(format!("aliases expand the input by more than {ALIAS_NODES} nodes (an alias bomb?)"));
        }
        if b > ALIAS_BYTES {
            return Err(format!(
                "aliases expand the input by more than {} MiB of text (an alias bomb?)",
                ALIAS_BYTES >> 20
            ));
        }
        Ok(())
    }
}

/// About how many bytes a value takes as text: what an alias of it adds.
fn weight(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len() + 2,
        Value::Array(a) => a.iter().map(weight).sum::<usize>() + 2,
        Value::Object(m) => m.iter().map(|(k, v)| k.len() + 2 + weight(v)).sum::<usize>() + 2,
        _ => 8,
    }
}

/// The key merge keys are written with.
const MERGE: &str = "<<";

enum Frame {
    Seq {
        items: Vec<Value>,
        pointer: PointerKey,
        anchor: usize,
        start_nodes: usize,
    },
    Map {
        map: Map<String, Value>,
        pointer: PointerKey,
        pending_key: Option<(String, Pos)>,
        anchor: usize,
        start_nodes: usize,
        /// Keys a merge key set (they may still be set explicitly after it).
        merged: Vec<String>,
    },
}

struct Builder<'a> {
    schema: Schema,
    parser: Parser<std::str::Chars<'a>>,
    stack: Vec<Frame>,
    spans: Spans,
    /// Anchored values with their size in nodes and in bytes of text.
    anchors: HashMap<usize, (Value, usize, usize)>,
    budget: &'a AliasBudget,
    nodes: usize,
    docs: Vec<RawDocument>,
    root: Option<Value>,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, schema: Schema, budget: &'a AliasBudget) -> Self {
        Builder {
            budget,
            schema,
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
                Event::Scalar(text, style, anchor, tag) => self.scalar(text, style, anchor, tag.as_ref(), pos)?,
                Event::Alias(id) => self.alias(id, pos)?,
                Event::SequenceStart(anchor, _) => self.open(true, anchor, pos)?,
                Event::MappingStart(anchor, _) => self.open(false, anchor, pos)?,
                Event::SequenceEnd | Event::MappingEnd => self.close(pos)?,
            }
        }
        Ok(self.docs)
    }

    /// A scalar: a mapping's key, or a value.
    fn scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        pos: Pos,
    ) -> Result<(), SyntaxError> {
        if self.expecting_key() {
            let key = match self.schema {
                Schema::Kubernetes if style == TScalarStyle::Plain && tag.is_none() => k8s_key(&text, pos)?,
                _ => text,
            };
            return self.set_key(key, pos);
        }
        let value = scalar(&text, style, tag, pos, self.schema)?;
        self.count(1, pos)?;
        let pointer = self.child_pointer();
        self.spans.values.insert(pointer, pos);
        if anchor > 0 {
            self.anchors.insert(anchor, (value.clone(), 1, weight(&value)));
        }
        self.push_value(value, pos)
    }

    /// An alias: the anchored value again, its size drawn from the input's alias budget.
    fn alias(&mut self, id: usize, pos: Pos) -> Result<(), SyntaxError> {
        let Some((value, size, bytes)) = self.anchors.get(&id).cloned() else {
            return Err(err(pos, "alias refers to an unknown anchor"));
        };
        if self.expecting_key() {
            return match value {
                Value::String(s) => self.set_key(s, pos),
                _ => Err(err(pos, "an alias used as a mapping key must name a string")),
            };
        }
        self.count(size, pos)?;
        self.budget.spend(size, bytes).map_err(|m| err(pos, m))?;
        let pointer = self.child_pointer();
        self.spans.values.insert(pointer, pos);
        self.push_value(value, pos)
    }

    /// The start of a sequence or a mapping.
    fn open(&mut self, sequence: bool, anchor: usize, pos: Pos) -> Result<(), SyntaxError> {
        if self.expecting_key() {
            return Err(err(pos, "a mapping key must be a scalar, not a collection"));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(err(pos, format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.count(1, pos)?;
        let pointer = self.child_pointer();
        self.spans.values.insert(pointer, pos);
        let start_nodes = self.nodes;
        self.stack.push(if sequence {
            Frame::Seq { items: Vec::new(), pointer, anchor, start_nodes }
        } else {
            Frame::Map { map: Map::new(), pointer, pending_key: None, anchor, start_nodes, merged: Vec::new() }
        });
        Ok(())
    }

    /// The end of a sequence or a mapping: its value, anchored if it was.
    fn close(&mut self, pos: Pos) -> Result<(), SyntaxError> {
        let (value, anchor, start_nodes) = match self.stack.pop() {
            Some(Frame::Seq { items, anchor, start_nodes, .. }) => (Value::Array(items), anchor, start_nodes),
            Some(Frame::Map { map, anchor, start_nodes, .. }) => (Value::Object(map), anchor, start_nodes),
            None => return Err(err(pos, "unbalanced collection end")),
        };
        if anchor > 0 {
            let size = self.nodes.saturating_sub(start_nodes) + 1;
            let bytes = weight(&value);
            self.anchors.insert(anchor, (value.clone(), size, bytes));
        }
        self.push_value(value, pos)
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
        if let Some(Frame::Map { map, pending_key, pointer, merged, .. }) = self.stack.last_mut() {
            if let Some(i) = merged.iter().position(|k| *k == key) {
                // Set by a merge key before: the explicit value wins, for every reader.
                merged.swap_remove(i);
                map.remove(&key);
            } else if map.contains_key(&key) {
                return Err(err(pos, format!("duplicate key `{key}`")));
            }
            // A block mapping's start event comes after its first key; the mapping starts there.
            if map.is_empty() {
                if let Some(start) = self.spans.values.get_mut(pointer) {
                    *start = (*start).min(pos);
                }
            }
            self.spans.keys.insert(pointer.key(&key), pos);
            *pending_key = Some((key, pos));
        }
        Ok(())
    }

    fn child_pointer(&self) -> PointerKey {
        match self.stack.last() {
            None => PointerKey::ROOT,
            Some(Frame::Seq { items, pointer, .. }) => pointer.index(items.len()),
            Some(Frame::Map { pointer, pending_key, .. }) => {
                pointer.key(pending_key.as_ref().map(|(k, _)| k.as_str()).unwrap_or(""))
            }
        }
    }

    fn push_value(&mut self, value: Value, pos: Pos) -> Result<(), SyntaxError> {
        let schema = self.schema;
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, pending_key, merged, .. }) => {
                if let Some((key, _)) = pending_key.take() {
                    if schema == Schema::Kubernetes && key == MERGE {
                        merge(map, merged, value, pos)?;
                    } else {
                        map.insert(key, value);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Applies a merge key's value (a mapping, or a sequence of them, earlier ones winning) under
/// the keys already set. A key set explicitly before the merge is refused: YAML 1.1 readers
/// disagree there (`sigs.k8s.io/yaml` lets the merge win, the spec the explicit key).
fn merge(map: &mut Map<String, Value>, merged: &mut Vec<String>, value: Value, pos: Pos) -> Result<(), SyntaxError> {
    let sources = match value {
        Value::Object(m) => vec![m],
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::Object(m) => Ok(m),
                _ => Err(err(pos, "a merge key (`<<`) takes a mapping or a sequence of mappings")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(err(pos, "a merge key (`<<`) takes a mapping or a sequence of mappings")),
    };
    for source in sources {
        for (k, v) in source {
            if merged.contains(&k) {
                continue;
            }
            if map.contains_key(&k) {
                return Err(err(
                    pos,
                    format!("`{k}` is set before this merge key and by it; YAML readers disagree on which wins, so write it after the merge"),
                ));
            }
            merged.push(k.clone());
            map.insert(k, v);
        }
    }
    Ok(())
}

/// A plain mapping key as `sigs.k8s.io/yaml` turns it into a JSON key: resolved as a YAML 1.1
/// scalar, then written back as text (`on:` is `"true"`, `010:` is `"8"`).
pub(super) fn k8s_key(text: &str, pos: Pos) -> Result<String, SyntaxError> {
    if text == MERGE {
        return Ok(text.to_owned());
    }
    match plain_k8s(text) {
        Ok(Value::String(s)) => Ok(s),
        Ok(Value::Bool(b)) => Ok(b.to_string()),
        Ok(Value::Number(n)) => Ok(n.to_string()),
        Ok(_) => Err(err(pos, format!("the key `{text}` is null, which a JSON object cannot have; quote it"))),
        Err(why) => Err(err(pos, format!("the key `{text}` {why}; quote it"))),
    }
}

/// Resolves a plain scalar as `sigs.k8s.io/yaml` (go-yaml v2, YAML 1.1) does, then as its JSON
/// would read: booleans `y|yes|on|true` and `n|no|off|false` in three cases, nulls, integers in
/// Go's syntax with underscores dropped (`0x`, `0o`, a leading `0` for octal, `0b`), floats,
/// with integral floats as the integers their JSON reads back as. Timestamps stay strings, as
/// go-yaml v2 keeps them for untyped values. `Err` for what JSON cannot hold (`.inf`, `.nan`).
pub(crate) fn plain_k8s(text: &str) -> Result<Value, String> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Ok(Value::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Ok(Value::Bool(false))
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN"
        | ".NAN" => return Err("is infinite or not a number, which JSON cannot hold".into()),
        _ => {}
    }
    let number = match text.as_bytes().first() {
        Some(b'.') => text.parse::<f64>().ok().filter(|_| looks_like_float(text)).map(float_or_int),
        Some(b'0'..=b'9' | b'+' | b'-') => {
            let plain = text.replace('_', "");
            go_int(&plain).or_else(|| {
                looks_like_float(plain.trim_start_matches(['+', '-']))
                    .then(|| plain.parse::<f64>().ok())
                    .flatten()
                    .map(float_or_int)
            })
        }
        _ => None,
    };
    match number {
        Some(Some(n)) => Ok(Value::Number(n)),
        Some(None) => Err("is a number JSON cannot hold".into()),
        None => Ok(Value::String(text.to_owned())),
    }
}

/// An integer in Go's `strconv.ParseInt(s, 0, 64)` (or `ParseUint`) syntax: a sign, then
/// `0x`/`0o`/`0b` or a leading `0` (octal), or decimal.
fn go_int(text: &str) -> Option<Option<Number>> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(h) = lower.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = lower.strip_prefix("0o") {
        (8, o)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    Some(if negative {
        let i = i64::try_from(magnitude).ok().map(|m| -m).or((magnitude == 1 << 63).then_some(i64::MIN))?;
        Some(Number::from(i))
    } else {
        match i64::try_from(magnitude) {
            Ok(i) => Some(Number::from(i)),
            // Beyond int64, Kubernetes' JSON decoding reads a number as a float.
            #[allow(clippy::cast_precision_loss)]
            Err(_) => Number::from_f64(magnitude as f64),
        }
    })
}

/// A float as its JSON reads back: integral values that Go prints as digits are integers.
fn float_or_int(f: f64) -> Option<Number> {
    if f.fract() == 0.0 && f.abs() < 9.0e18 {
        // Exact: |f| < 2^63 and integral.
        #[allow(clippy::cast_possible_truncation)]
        return Some(Number::from(f as i64));
    }
    Number::from_f64(f)
}

fn err(pos: Pos, message: impl Into<String>) -> SyntaxError {
    SyntaxError { pos, message: message.into() }
}

pub(super) fn scalar(
    text: &str,
    style: TScalarStyle,
    tag: Option<&Tag>,
    pos: Pos,
    schema: Schema,
) -> Result<Value, SyntaxError> {
    let resolve = |text: &str| match schema {
        Schema::Core => plain(text).ok_or_else(|| format!("`{text}` is not a finite number")),
        Schema::Kubernetes => plain_k8s(text).map_err(|why| format!("`{text}` {why}")),
    };
    if let Some(tag) = tag {
        if tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!" {
            return match tag.suffix.as_str() {
                "str" => Ok(Value::String(text.to_owned())),
                "int" | "float" | "bool" | "null" => resolve(text)
                    .ok()
                    .filter(|v| !v.is_string())
                    .ok_or_else(|| err(pos, format!("`{text}` is not a valid !!{}", tag.suffix))),
                other => Err(err(pos, format!("unsupported tag !!{other}"))),
            };
        }
        return Err(err(pos, format!("unsupported tag {}{}", tag.handle, tag.suffix)));
    }
    if style != TScalarStyle::Plain {
        return Ok(Value::String(text.to_owned()));
    }
    resolve(text).map_err(|m| err(pos, m))
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
    fn parse_documents(text: &str, schema: Schema) -> Result<Vec<RawDocument>, SyntaxError> {
        crate::load::parse_documents_within(text, schema, &AliasBudget::default())
    }

    use super::*;

    fn one(text: &str) -> RawDocument {
        parse_documents(text, Schema::Core).unwrap().remove(0)
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
        let docs = parse_documents("---\na: 1\n---\n---\nb: 2\n", Schema::Core).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].spans.get("/b"), Some(Pos { line: 5, column: 4 }));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse_documents("a: 1\nb: 2\na: 3\n", Schema::Core).unwrap_err();
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
        let e = parse_documents(&text, Schema::Core).unwrap_err();
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
        let e = parse_documents(&text, Schema::Core).unwrap_err();
        assert!(e.message.contains("nesting deeper") || e.message.contains("recursion limit"), "{e:?}");
    }

    #[test]
    fn json_is_accepted() {
        let d = one(r#"{"a": [1, "two", null], "b": {"c": false}}"#);
        assert_eq!(d.value, serde_json::json!({"a": [1, "two", null], "b": {"c": false}}));
    }
}
