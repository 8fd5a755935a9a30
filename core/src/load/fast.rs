//! A fast reader for the YAML that manifests are nearly always written in: block mappings and
//! sequences, one-line plain and quoted scalars, one-line flow collections, comments and `---`.
//!
//! It reads nothing the full reader ([`super::yaml`]) would read differently: scalars and keys
//! resolve through the same functions, nodes get the same pointers and places, and whatever is
//! outside its subset (anchors, tags, block scalars, escapes, multi-line scalars, tabs, CR, an
//! error of any kind) makes it return `None`, and the full reader reads the text instead. Under
//! `cfg(fuzzing)` every text it reads is read by both and compared.

use serde_json::{Map, Value};
use yaml_rust2::scanner::TScalarStyle;

use super::yaml::{k8s_key, scalar, PointerKey, Pos, RawDocument, Schema, Spans, MAX_DEPTH, MAX_NODES};

/// What opens and closes a flow mapping (named, so the text's braces are the code's own).
const OPEN_MAP: u8 = b'{';
const CLOSE_MAP: u8 = b'}';

/// Not in the subset: the full reader decides.
struct Bail;

type Read<T> = Result<T, Bail>;

/// The documents of `text`, or `None` when the full reader must read it.
pub(super) fn parse(text: &str, schema: Schema) -> Option<Vec<RawDocument>> {
    if text.bytes().any(|b| b == b'\t' || b == b'\r') {
        return None;
    }
    let mut r = Reader {
        src: text.as_bytes(),
        text,
        at: 0,
        line: 1,
        line_start: 0,
        schema,
        nodes: 0,
        spans: Spans::default(),
        counted: std::cell::Cell::new((0, 0)),
    };
    r.documents().ok()
}

struct Reader<'a> {
    src: &'a [u8],
    text: &'a str,
    at: usize,
    /// 1-based line of `at`.
    line: u32,
    /// Offset of the start of that line.
    line_start: usize,
    schema: Schema,
    nodes: usize,
    spans: Spans,
    /// The last position [`Reader::pos`] counted a column for (offset, column), so that a
    /// long line (a one-line JSON file) is counted once, not once per node.
    counted: std::cell::Cell<(usize, usize)>,
}

/// Where the next content line starts: its indentation, or the end of the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Indent(usize),
    End,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.at).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.src.get(self.at + offset).copied()
    }

    fn pos(&self) -> Pos {
        // Counted on from the last position when it is earlier on this line.
        let (from, counted) = match self.counted.get() {
            (at, column) if (self.line_start..=self.at).contains(&at) => (at, column),
            _ => (self.line_start, 0),
        };
        let part = self.src.get(from..self.at).unwrap_or_default();
        let column = counted
            + if part.is_ascii() {
                part.len()
            } else {
                self.text.get(from..self.at).map_or(part.len(), |l| l.chars().count())
            };
        self.counted.set((self.at, column));
        Pos { line: self.line, column: u32::try_from(column + 1).unwrap_or(u32::MAX) }
    }

    fn column(&self) -> usize {
        self.at - self.line_start
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    /// After a node: spaces, then an optional comment, then the end of the line (consumed).
    fn end_of_line(&mut self) -> Read<()> {
        let before = self.at;
        self.skip_spaces();
        match self.peek() {
            None => Ok(()),
            Some(b'\n') => {
                self.newline();
                Ok(())
            }
            Some(b'#') if self.at > before => {
                self.skip_line();
                Ok(())
            }
            _ => Err(Bail),
        }
    }

    fn skip_line(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'\n' {
                self.newline();
                return;
            }
            self.at += 1;
        }
    }

    fn newline(&mut self) {
        self.at += 1;
        self.line += 1;
        self.line_start = self.at;
    }

    /// Skips blank and comment lines, from the start of a line, and stops at the first content
    /// of the next line with content (or at `---`, `...` or the end).
    fn next_content(&mut self) -> Next {
        if self.peek().is_none() {
            return Next::End;
        }
        if self.at > self.line_start {
            // Already at the content of this line: a nested node stopped here.
            return Next::Indent(self.at - self.line_start);
        }
        loop {
            let start = self.at;
            self.skip_spaces();
            match self.peek() {
                None => return Next::End,
                Some(b'\n') => self.newline(),
                Some(b'#') => self.skip_line(),
                Some(_) => {
                    let indent = self.at - start;
                    if indent == 0 && (self.marker(b'-') || self.marker(b'.')) {
                        return Next::End;
                    }
                    return Next::Indent(indent);
                }
            }
        }
    }

    /// Whether a `---` (or `...`) line starts here.
    fn marker(&self, c: u8) -> bool {
        self.peek() == Some(c)
            && self.peek_at(1) == Some(c)
            && self.peek_at(2) == Some(c)
            && matches!(self.peek_at(3), None | Some(b' ' | b'\n'))
    }

    fn documents(&mut self) -> Read<Vec<RawDocument>> {
        let mut docs = Vec::new();
        loop {
            match self.next_content() {
                Next::End if self.peek().is_none() => return Ok(docs),
                Next::End if self.marker(b'-') => {
                    self.at += 3;
                    self.end_of_line()?;
                }
                Next::End => return Err(Bail), // `...`
                Next::Indent(indent) => {
                    self.spans = Spans::default();
                    self.nodes = 0;
                    if !matches!(self.peek(), Some(OPEN_MAP | b'[')) && !self.block_entry() && !self.starts_key() {
                        return Err(Bail); // a document that is a scalar
                    }
                    let value = self.block_node(indent, PointerKey::ROOT, 0)?;
                    if self.next_content() != Next::End {
                        return Err(Bail);
                    }
                    docs.push(RawDocument { value, spans: std::mem::take(&mut self.spans) });
                }
            }
        }
    }

    /// Whether a block sequence entry (`- ` or `-` at the end of the line) starts here.
    fn block_entry(&self) -> bool {
        self.peek() == Some(b'-') && matches!(self.peek_at(1), None | Some(b' ' | b'\n'))
    }

    fn count(&mut self) -> Read<()> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Bail);
        }
        Ok(())
    }

    /// A block node whose first content is here, at column `indent`: a sequence, a mapping or a
    /// flow collection.
    fn block_node(&mut self, indent: usize, pointer: PointerKey, depth: usize) -> Read<Value> {
        if depth >= MAX_DEPTH {
            return Err(Bail);
        }
        match self.peek() {
            Some(OPEN_MAP | b'[') => {
                let v = self.flow_node(pointer, depth)?;
                self.end_of_line()?;
                Ok(v)
            }
            _ if self.block_entry() => self.block_sequence(indent, pointer, depth, false),
            _ => self.block_mapping(indent, pointer, depth),
        }
    }

    /// A block sequence; `indentless` when it is a mapping's value at the mapping's own
    /// indentation (it then starts, as the full reader places it, at its first entry's content).
    fn block_sequence(&mut self, indent: usize, pointer: PointerKey, depth: usize, indentless: bool) -> Read<Value> {
        self.count()?;
        if !indentless {
            self.spans.values.insert(pointer, self.pos());
        }
        let mut items = Vec::new();
        loop {
            // At `-`, at column `indent`.
            self.at += 1;
            let item = pointer.index(items.len());
            self.skip_spaces();
            if indentless && items.is_empty() {
                self.spans.values.insert(pointer, self.pos());
            }
            let value = match self.peek() {
                None | Some(b'\n' | b'#') => return Err(Bail), // an entry on the lines below
                Some(b'-') if self.block_entry() => return Err(Bail),
                Some(OPEN_MAP | b'[') => {
                    let v = self.flow_node(item, depth + 1)?;
                    self.end_of_line()?;
                    v
                }
                _ if self.starts_key() => {
                    let column = self.column();
                    self.block_mapping(column, item, depth + 1)?
                }
                _ => {
                    let v = self.block_scalar_value(item)?;
                    self.end_of_line()?;
                    v
                }
            };
            items.push(value);
            match self.next_content() {
                Next::Indent(i) if i == indent && self.block_entry() => continue,
                Next::Indent(i) if i > indent => return Err(Bail),
                _ => return Ok(Value::Array(items)),
            }
        }
    }

    /// Whether a mapping key (a plain or quoted scalar, then `:` and a space or the end of the
    /// line) starts here.
    fn starts_key(&self) -> bool {
        let mut probe = Reader { spans: Spans::default(), counted: self.counted.clone(), ..*self };
        probe.key_text().is_ok()
    }

    /// Reads a key and its `:`; leaves `at` after the `:`.
    fn key_text(&mut self) -> Read<(String, TScalarStyle)> {
        let start = self.at;
        let (text, style) = self.scalar_text(false)?;
        // Readers look no further than 1024 characters for a key's `:`.
        if self.at - start > 1000 || self.peek() != Some(b':') || !matches!(self.peek_at(1), None | Some(b' ' | b'\n'))
        {
            return Err(Bail);
        }
        self.at += 1;
        Ok((text, style))
    }

    fn block_mapping(&mut self, indent: usize, pointer: PointerKey, depth: usize) -> Read<Value> {
        self.count()?;
        self.spans.values.insert(pointer, self.pos());
        let mut map = Map::new();
        loop {
            // At a key, at column `indent`.
            let key_pos = self.pos();
            let (text, style) = self.key_text()?;
            let key = self.resolve_key(text, style, key_pos)?;
            let entry = pointer.key(&key);
            self.spans.keys.insert(entry, key_pos);
            self.skip_spaces();
            let value = match self.peek() {
                None | Some(b'\n' | b'#') => {
                    self.skip_line();
                    match self.next_content() {
                        Next::Indent(i) if i > indent => self.block_node(i, entry, depth + 1)?,
                        Next::Indent(i) if i == indent && self.block_entry() => {
                            self.block_sequence(i, entry, depth + 1, true)?
                        }
                        _ => return Err(Bail), // an empty value
                    }
                }
                Some(OPEN_MAP | b'[') => {
                    let v = self.flow_node(entry, depth + 1)?;
                    self.end_of_line()?;
                    v
                }
                _ => {
                    let v = self.block_scalar_value(entry)?;
                    self.end_of_line()?;
                    v
                }
            };
            if map.insert(key, value).is_some() {
                return Err(Bail); // a duplicate key: the full reader says so
            }
            match self.next_content() {
                Next::Indent(i) if i == indent && !self.block_entry() => continue,
                Next::Indent(i) if i > indent => return Err(Bail),
                _ => return Ok(Value::Object(map)),
            }
        }
    }

    fn resolve_key(&self, text: String, style: TScalarStyle, pos: Pos) -> Read<String> {
        match (self.schema, style) {
            (Schema::Kubernetes, _) if text == "<<" => Err(Bail),
            (Schema::Kubernetes, TScalarStyle::Plain) => k8s_key(&text, pos).map_err(|_| Bail),
            _ => Ok(text),
        }
    }

    /// A scalar value in block context, ending its line.
    fn block_scalar_value(&mut self, pointer: PointerKey) -> Read<Value> {
        let pos = self.pos();
        let (text, style) = self.scalar_text(false)?;
        if style == TScalarStyle::Plain && self.peek() == Some(b':') {
            return Err(Bail);
        }
        self.scalar_node(&text, style, pos, pointer)
    }

    fn scalar_node(&mut self, text: &str, style: TScalarStyle, pos: Pos, pointer: PointerKey) -> Read<Value> {
        self.count()?;
        let value = scalar(text, style, None, pos, self.schema).map_err(|_| Bail)?;
        self.spans.values.insert(pointer, pos);
        Ok(value)
    }

    /// A one-line scalar's text and style: quoted, or plain (in flow context, ending at flow
    /// indicators too).
    fn scalar_text(&mut self, flow: bool) -> Read<(String, TScalarStyle)> {
        Ok(match self.peek() {
            Some(b'"') => (self.double_quoted()?, TScalarStyle::DoubleQuoted),
            Some(b'\'') => (self.single_quoted()?, TScalarStyle::SingleQuoted),
            _ => (self.plain(flow)?, TScalarStyle::Plain),
        })
    }

    /// Opens a flow collection at `{` or `[`: counts and places it. `true` when it is empty
    /// (and closed by `close`).
    fn open(&mut self, pointer: PointerKey, pos: Pos, close: u8) -> Read<bool> {
        self.count()?;
        self.spans.values.insert(pointer, pos);
        self.at += 1;
        self.skip_spaces();
        let empty = self.peek() == Some(close);
        if empty {
            self.at += 1;
        }
        Ok(empty)
    }

    /// A one-line plain scalar: up to `: `, ` #` or the end of the line (and, in flow context,
    /// a flow indicator), trailing spaces dropped. Leaves `at` at what ended it.
    fn plain(&mut self, flow: bool) -> Read<String> {
        let first = self.peek().ok_or(Bail)?;
        let second = self.peek_at(1);
        let indicator = matches!(
            first,
            b',' | b'['
                | b']'
                | OPEN_MAP
                | CLOSE_MAP
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
                | b'?'
                | b':'
                | b'\n'
                | b' '
        );
        let dash_alone = matches!(second, None | Some(b' ' | b'\n'))
            || (flow && matches!(second, Some(b',' | b'[' | b']' | b'{' | b'}')));
        if indicator || (first == b'-' && dash_alone) {
            return Err(Bail);
        }
        let start = self.at;
        let mut end = self.at;
        while let Some(b) = self.peek() {
            match b {
                b'\n' => break,
                b':' if matches!(self.peek_at(1), None | Some(b' ' | b'\n')) => break,
                b':' if flow => return Err(Bail),
                b'#' if self.src.get(self.at.wrapping_sub(1)) == Some(&b' ') => break,
                b',' | b'[' | b']' | b'{' | b'}' if flow => break,
                // After a space, a `-` before a flow indicator is refused, as at the start.
                b'-' if flow
                    && self.src.get(self.at.wrapping_sub(1)) == Some(&b' ')
                    && matches!(self.peek_at(1), Some(b',' | b'[' | b']' | b'{' | b'}')) =>
                {
                    return Err(Bail)
                }
                b' ' => {}
                _ => end = self.at + 1,
            }
            self.at += 1;
        }
        self.at = end;
        self.text.get(start..end).map(str::to_owned).ok_or(Bail)
    }

    /// `"..."` on one line, without escapes.
    fn double_quoted(&mut self) -> Read<String> {
        self.at += 1;
        let start = self.at;
        loop {
            match self.peek() {
                Some(b'"') => break,
                None | Some(b'\n' | b'\\') => return Err(Bail),
                Some(_) => self.at += 1,
            }
        }
        let text = self.text.get(start..self.at).ok_or(Bail)?.to_owned();
        self.at += 1;
        Ok(text)
    }

    /// `'...'` on one line, `''` for a quote.
    fn single_quoted(&mut self) -> Read<String> {
        self.at += 1;
        let mut text = String::new();
        let mut start = self.at;
        loop {
            match self.peek() {
                Some(b'\'') if self.peek_at(1) == Some(b'\'') => {
                    text.push_str(self.text.get(start..=self.at).ok_or(Bail)?);
                    self.at += 2;
                    start = self.at;
                }
                Some(b'\'') => break,
                None | Some(b'\n') => return Err(Bail),
                Some(_) => self.at += 1,
            }
        }
        text.push_str(self.text.get(start..self.at).ok_or(Bail)?);
        self.at += 1;
        Ok(text)
    }

    /// A flow node on one line: `{...}`, `[...]` or a scalar.
    fn flow_node(&mut self, pointer: PointerKey, depth: usize) -> Read<Value> {
        if depth >= MAX_DEPTH {
            return Err(Bail);
        }
        let pos = self.pos();
        match self.peek() {
            Some(OPEN_MAP) => {
                let mut map = Map::new();
                if self.open(pointer, pos, b'}')? {
                    return Ok(Value::Object(map));
                }
                loop {
                    self.skip_spaces();
                    let key_pos = self.pos();
                    let start = self.at;
                    let (text, style) = self.scalar_text(true)?;
                    if self.at - start > 1000 || self.peek() != Some(b':') || self.peek_at(1) != Some(b' ') {
                        return Err(Bail);
                    }
                    self.at += 1;
                    self.skip_spaces();
                    let key = self.resolve_key(text, style, key_pos)?;
                    let entry = pointer.key(&key);
                    self.spans.keys.insert(entry, key_pos);
                    let value = self.flow_node(entry, depth + 1)?;
                    if map.insert(key, value).is_some() {
                        return Err(Bail);
                    }
                    if self.flow_next(b'}')? {
                        return Ok(Value::Object(map));
                    }
                }
            }
            Some(b'[') => {
                let mut items = Vec::new();
                if self.open(pointer, pos, b']')? {
                    return Ok(Value::Array(items));
                }
                loop {
                    self.skip_spaces();
                    let value = self.flow_node(pointer.index(items.len()), depth + 1)?;
                    items.push(value);
                    if self.flow_next(b']')? {
                        return Ok(Value::Array(items));
                    }
                }
            }
            _ => {
                let (text, style) = self.scalar_text(true)?;
                self.scalar_node(&text, style, pos, pointer)
            }
        }
    }

    /// After a flow entry: `,` and another entry (`false`), or the `close`ing bracket (`true`).
    fn flow_next(&mut self, close: u8) -> Read<bool> {
        self.skip_spaces();
        match self.peek() {
            Some(b) if b == close => {
                self.at += 1;
                Ok(true)
            }
            Some(b',') => {
                self.at += 1;
                self.skip_spaces();
                if matches!(self.peek(), Some(b']' | b'}')) {
                    return Err(Bail); // a trailing comma
                }
                Ok(false)
            }
            _ => Err(Bail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml::{parse_slow, RawDocument, Schema};
    use super::parse;
    use crate::load::pointer::escape_segment;
    use serde_json::Value;
    use std::path::{Path, PathBuf};

    /// What the fast reader reads, it reads exactly as the full reader does, in both schemas.
    fn agrees(name: &str, text: &str) -> bool {
        let mut fast = false;
        for schema in [Schema::Core, Schema::Kubernetes] {
            if let Some(docs) = parse(text, schema) {
                fast = true;
                let slow = parse_slow(text, schema);
                if Ok(&docs) != slow.as_ref() {
                    let why = match &slow {
                        Ok(slow) if slow.len() == docs.len() => {
                            docs.iter().zip(slow).map(|(a, b)| diff(a, b)).collect::<Vec<_>>().join("\n")
                        }
                        _ => format!("{docs:?}\nvs\n{slow:?}"),
                    };
                    panic!("{name} ({schema:?}) is read differently:\n{why}");
                }
            }
        }
        fast
    }

    /// The first places where two readings differ, by pointer.
    fn diff(a: &RawDocument, b: &RawDocument) -> String {
        fn walk(v: &Value, ptr: String, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => m.iter().for_each(|(k, v)| walk(v, format!("{ptr}/{}", escape_segment(k)), out)),
                Value::Array(a) => a.iter().enumerate().for_each(|(i, v)| walk(v, format!("{ptr}/{i}"), out)),
                _ => {}
            }
            out.push(ptr);
        }
        if a.value != b.value {
            return format!("values: {:?}\nvs {:?}", a.value, b.value);
        }
        let mut ptrs = Vec::new();
        walk(&a.value, String::new(), &mut ptrs);
        ptrs.iter()
            .filter_map(|p| {
                let (x, y) = ((a.spans.get(p), a.spans.key(p)), (b.spans.get(p), b.spans.key(p)));
                (x != y).then(|| format!("{p:?}: fast {x:?}, full {y:?}"))
            })
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                files(&p, out);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "json") {
                out.push(p);
            }
        }
    }

    #[test]
    fn agrees_with_the_full_reader_on_every_file_of_the_repository_and_the_conformance_data() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut paths = Vec::new();
        for dir in ["examples", "packs", "core/tests/data", "benches/data", "../shared/conformance"] {
            files(&root.join(dir), &mut paths);
        }
        assert!(paths.len() > 100, "found only {} files", paths.len());
        let (mut fast, mut total) = (0, 0);
        for p in &paths {
            let Ok(text) = std::fs::read_to_string(p) else { continue };
            total += 1;
            fast += usize::from(agrees(&p.display().to_string(), &text));
        }
        println!("the fast reader read {fast} of {total} files");
        assert!(fast * 10 >= total * 8, "the fast reader read only {fast} of {total} files");
    }

    #[test]
    fn agrees_on_tricky_text() {
        let cases = [
            "a: 1\nb: [x, 'y', \"z\"]\nc: {d: e, f: [1, 2]}\n",
            "- a\n- b: c\n  d: e\n- [1]\n",
            "k:\n- a\n- b\nj: 2\n",
            "k:\n  - a\n  -  b\n",
            "a: x # c\nb: 'it''s'\n# only a comment\n\n---\nc: d\n...\n",
            "a: b:c\nd: http://x.y/z?q=1#f\ne: a #b\nf: a#b\n",
            "on: yes\n010: 0x1F\nn: ~\ny: 1_000\nf: 1.0\ng: -.5\nh: 0b11\n",
            "a: {b: c}  \nd:   e   \n",
            "a: 'x\n  y'\n",
            "a: x\n  y\n",
            "a:\n",
            "a: |\n  x\n",
            "a: &x 1\nb: *x\n",
            "<<: {a: 1}\n",
            "a: 1\na: 2\n",
            "a: [1, 2,]\n",
            "a: {b: c, d}\n",
            "  a: 1\n  b: 2\n",
            "- - a\n",
            "a: \"é\"\nb: {c: é, d: [ü]}\n",
            "a: .inf\n",
            "\"q\": 1\n'r': 2\n",
            "a: [b: c]\n",
            "a: {b:c}\n",
            "a:  # comment\n  b: 1\n",
            "--- # c\na: 1\n---\n---\n- 1\n",
            "a: -1\nb: - 1\n",
            "a: 1\n b: 2\n",
            "a:\n  b: 1\n c: 2\n",
            // Found by the load fuzz target: a lone `-` in a flow collection is an error.
            "a: [0, -, 1]\n",
            "a: [-]\nb: {c: -}\n",
            "a: [-1, -x, -.5]\n",
            "a: [x -, y]\nb: {c: d -}\n",
            "a: [x-, y -z]\n",
            // One-line JSON: columns counted on along the line, through text that is not ASCII.
            "{\"a\": \"é\", \"b\": {\"c\": [\"ü\", {\"d\": 1}]}, \"e\": \"x\"}\n",
            "{\"a\": 1,\n \"b\": {\"é\": 2, \"c\": 3}}\n",
        ];
        let long_key = format!("{}: 1\n", "k".repeat(1100));
        let cases = cases.into_iter().chain([long_key.as_str()]);
        for text in cases {
            agrees(text, text);
        }
    }

    /// Texts made of YAML's pieces, 20,000 of them from a fixed seed: whatever the fast reader
    /// takes, it reads as the full one does.
    #[test]
    fn agrees_on_texts_made_of_yaml_pieces() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            usize::try_from(state % n as u64).unwrap_or(0)
        };
        let mut fast = 0;
        for _ in 0..20_000 {
            let lines = 1 + next(8);
            // Lines of an indentation, maybe a `- `, maybe a key, then a value or nothing; now
            // and then any piece at all.
            let mut text = String::new();
            for _ in 0..lines {
                let mut pick = |from: &[&'static str]| from.get(next(from.len())).copied().unwrap_or_default();
                text.push_str(pick(&["", "", "  ", "    ", " "]));
                text.push_str(pick(&["", "", "- ", "-"]));
                text.push_str(pick(&["", "a: ", "b: ", "on: ", "'k': ", "\"k\": ", "a:", "x y: "]));
                text.push_str(pick(&["", "", "v", "1", "[a, b]", "{c: d}", "yes", "'s'"]));
                if pick(&["", "", "", "piece"]) == "piece" {
                    text.push_str(pick(PIECES));
                }
                text.push_str(pick(&["", "", " # c"]));
                text.push('\n');
            }
            fast += usize::from(agrees(&text, &text));
        }
        println!("the fast reader read {fast} of 20000 texts");
        assert!(fast > 1_000, "the fast reader read only {fast} of 20000 texts");
    }

    const PIECES: &[&str] = &[
        "a",
        "b",
        "key",
        "on",
        "010",
        "1_0",
        "-1",
        "0x1F",
        "1.5",
        "~",
        "null",
        "é",
        "http://x/y",
        "<<",
        ": ",
        ":",
        "- ",
        "-",
        "  ",
        " ",
        "\n",
        "\n  ",
        "\n    ",
        "\n- ",
        "\n  - ",
        "---\n",
        "...\n",
        "{",
        "}",
        "[",
        "]",
        ", ",
        ",",
        "'q'",
        "'it''s'",
        "\"d\"",
        "\"e\\n\"",
        " #c",
        "#",
        "&x ",
        "*x",
        "!!str ",
        "|",
        ">",
        "? ",
        "%",
        "@",
    ];
}
