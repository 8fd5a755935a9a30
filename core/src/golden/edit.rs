//! Rewriting manifests in place: a file's documents changed to new values with the smallest
//! edits the YAML allows, so that keys, their order, comments and formatting of what did not
//! change stay as they were written.
//!
//! A scalar that changes is replaced where it is written (in block or flow style); a key that
//! is added to a mapping is written before the mapping's first key, at its indentation (or
//! first in a flow mapping); a key whose entry is written on its lines alone is removed with
//! them. Any other change (a list that grows or shrinks, a mapping that becomes a scalar, a
//! block scalar) re-writes the document it is in, which keeps the comments above the document
//! but not those inside it. Every edited document is read back and compared with the value it
//! should have; one that reads back differently is re-written whole.

use serde_json::{Map, Value};

use super::diff;
use crate::engine::resource::{identity_of, same_object};
use crate::error::{Diagnostic, Diagnostics, Error};
use crate::k8s::ResourceRef;
use crate::load::yaml::{self, AliasBudget, Pos, RawDocument, Schema, Spans};

/// What opens and closes a flow mapping (named, so the text's braces are the code's own).
const OPEN_MAP: char = '{';
const CLOSE_MAP: char = '}';

/// How a file was rewritten.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rewrite {
    /// The new text.
    pub text: String,
    /// Documents edited in place.
    pub edited: usize,
    /// Documents written again whole (their inner comments and formatting are not kept).
    pub rewritten: usize,
    /// Documents removed.
    pub removed: usize,
    /// Documents added at the end.
    pub added: usize,
}

/// Rewrites the manifests of `text` (the file `file`): each object of `changes` becomes its new
/// value in the document that holds it (matched by kind, namespace and name), the objects of
/// `removed` are deleted with their documents, and those of `added` are appended. Documents not
/// named are untouched. An object to change or remove that is not a document of its own (an
/// item of a `List`, as `kubectl get -o yaml` exports) is an error: nothing is guessed.
pub fn rewrite(
    file: &str,
    text: &str,
    changes: &[Value],
    added: &[Value],
    removed: &[ResourceRef],
) -> Result<Rewrite, Error> {
    let problem = |line: u32, column: u32, message: String, help: Option<String>| {
        Error::Invalid(Diagnostics(vec![Diagnostic { file: file.into(), line, column, pointer: None, message, help }]))
    };
    let docs = parse(text).map_err(|e| problem(e.pos.line, e.pos.column, e.message, None))?;
    let ids: Vec<ResourceRef> = docs.iter().map(|d| identity_of(&d.value)).collect();
    let missing = changes
        .iter()
        .map(identity_of)
        .chain(removed.iter().cloned())
        .find(|id| !ids.iter().any(|d| same_object(d, id)));
    if let Some(id) = missing {
        return Err(problem(
            1,
            1,
            format!("{id} is not a document of its own in this file (an item of a List?), so it cannot be rewritten in place"),
            Some("--write rewrites manifests with one object per document, as they are kept in git; for a live export, apply the upgrade's manifests (--format json) instead".into()),
        ));
    }
    let bounds = documents(text, &docs);
    let mut out = Rewrite::default();
    let mut pieces: Vec<String> = Vec::new();
    let mut cursor = 0;
    for ((doc, id), (start, end)) in docs.iter().zip(&ids).zip(&bounds) {
        let body = text.get(*start..*end).unwrap_or_default();
        pieces.push(text.get(cursor..*start).unwrap_or_default().to_owned());
        cursor = *end;
        if removed.iter().any(|r| same_object(r, id)) {
            out.removed += 1;
            // The separator before it goes too.
            if let Some(last) = pieces.last_mut() {
                let trimmed = last.trim_end_matches(['\n', ' ']).strip_suffix("---").map(str::to_owned);
                if let Some(t) = trimmed {
                    *last = t;
                }
            }
            continue;
        }
        let Some(new) = changes.iter().find(|c| same_object(&identity_of(c), id)) else {
            pieces.push(body.to_owned());
            continue;
        };
        if *new == doc.value {
            pieces.push(body.to_owned());
            continue;
        }
        match edit_document(text, *start, body, doc, new) {
            Some(edited) => {
                out.edited += 1;
                pieces.push(edited);
            }
            None => {
                out.rewritten += 1;
                pieces.push(crate::load::to_yaml(new));
            }
        }
    }
    pieces.push(text.get(cursor..).unwrap_or_default().to_owned());
    let mut text: String = pieces.concat();
    for new in added {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        if !text.trim().is_empty() {
            text.push_str("---\n");
        }
        text.push_str(&crate::load::to_yaml(new));
        out.added += 1;
    }
    out.text = text;
    Ok(out)
}

/// Rewrites a file of one document (a service's inputs) to hold `new`, with the same smallest
/// edits as [`rewrite`]: the comments, key order and formatting of what did not change stay.
///
/// ```
/// let text = "# the checkout service\nname: checkout   # as in the catalog\nreplicas: 2\n";
/// let new = serde_json::json!({"name": "checkout", "replicas": 3});
/// let out = paved::golden::rewrite_inputs("inputs.yaml", text, &new)?;
/// assert_eq!(out.text, "# the checkout service\nname: checkout   # as in the catalog\nreplicas: 3\n");
/// # Ok::<(), paved::Error>(())
/// ```
pub fn rewrite_inputs(file: &str, text: &str, new: &Value) -> Result<Rewrite, Error> {
    let problem = |line: u32, column: u32, message: String| {
        Error::Invalid(Diagnostics(vec![Diagnostic {
            file: file.into(),
            line,
            column,
            pointer: None,
            message,
            help: None,
        }]))
    };
    let docs = parse(text).map_err(|e| problem(e.pos.line, e.pos.column, e.message))?;
    let (doc, (start, end)) = match (docs.as_slice(), documents(text, &docs).as_slice()) {
        ([], _) => return Ok(Rewrite { text: crate::load::to_yaml(new), rewritten: 1, ..Rewrite::default() }),
        ([doc], [bounds]) => (doc, *bounds),
        _ => return Err(problem(1, 1, format!("{} documents: a service's inputs are one", docs.len()))),
    };
    let mut out = Rewrite::default();
    let body = text.get(start..end).unwrap_or_default();
    let edited = if doc.value == *new {
        body.to_owned()
    } else if let Some(edited) = edit_document(text, start, body, doc, new) {
        out.edited = 1;
        edited
    } else {
        out.rewritten = 1;
        crate::load::to_yaml(new)
    };
    out.text = [text.get(..start).unwrap_or_default(), &edited, text.get(end..).unwrap_or_default()].concat();
    Ok(out)
}

/// Each document's byte range: from its first node to the start of the next document's
/// separator (or the end of the text), trailing blank lines left out.
fn documents(text: &str, docs: &[RawDocument]) -> Vec<(usize, usize)> {
    let starts: Vec<usize> = docs.iter().map(|d| offset(text, d.spans.locate(""))).collect();
    let separators: Vec<usize> = line_starts(text)
        .into_iter()
        .filter(|&o| text.get(o..).is_some_and(|l| l.starts_with("---") || l.starts_with("...")))
        .collect();
    starts
        .iter()
        .map(|&s| {
            let end = separators.iter().copied().find(|&o| o > s).unwrap_or(text.len());
            let body = text.get(s..end).unwrap_or_default();
            (s, s + body.trim_end_matches(['\n', ' ', '\r']).len() + usize::from(body.contains('\n')))
        })
        .map(|(s, e)| (s, e.min(text.len())))
        .collect()
}

fn parse(text: &str) -> Result<Vec<RawDocument>, yaml::SyntaxError> {
    crate::load::parse_documents_within(text, Schema::Kubernetes, &AliasBudget::default())
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).filter(|&i| i < text.len()).collect()
}

/// The byte offset of a 1-based line and column (columns count characters).
fn offset(text: &str, pos: Pos) -> usize {
    let line = usize::try_from(pos.line.max(1) - 1).unwrap_or(0);
    let Some(&start) = line_starts(text).get(line) else { return text.len() };
    let rest = text.get(start..).unwrap_or_default();
    let column = usize::try_from(pos.column.max(1) - 1).unwrap_or(0);
    start + rest.char_indices().nth(column).map_or(rest.len(), |(i, _)| i)
}

/// The document `body` (at `start` in `text`) edited in place into `new`, if every change can
/// be made in place and the result reads back as `new`.
fn edit_document(text: &str, start: usize, body: &str, doc: &RawDocument, new: &Value) -> Option<String> {
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for c in diff::diff(&doc.value, new, false) {
        if let Some(e) = edit(text, &doc.spans, &doc.value, &c) {
            edits.push(e);
            continue;
        }
        // A change inside a flow collection (`ingress: {host: x, className: y}`) that cannot be
        // made alone: the collection is written again, in flow style, where it was.
        let (s, e, with) = flow_collection(text, &doc.spans, new, &c.path)?;
        edits.retain(|(a, b, _)| *b <= s || *a >= e);
        if !edits.iter().any(|(a, b, w)| (*a, *b) == (s, e) && *w == with) {
            edits.push((s, e, with));
        }
    }
    // Back to front, so that earlier offsets stay true; insertions at one place keep their order.
    edits.sort_by_key(|(s, e, _)| (*s, *e));
    let mut out = body.to_owned();
    for (s, e, with) in edits.iter().rev() {
        let (s, e) = (s.checked_sub(start)?, e.checked_sub(start)?);
        if e > out.len() || !out.is_char_boundary(s) || !out.is_char_boundary(e) {
            return None;
        }
        out.replace_range(s..e, with);
    }
    let back = parse(&out).ok()?;
    match back.as_slice() {
        [d] if d.value == *new => Some(out),
        _ => None,
    }
}

/// One change as a text edit: (start, end, replacement) in `text`.
fn edit(text: &str, spans: &Spans, old: &Value, c: &diff::Change) -> Option<(usize, usize, String)> {
    let (parent, key) = c.path.rsplit_once('/')?;
    let key = crate::load::pointer::unescape_segment(key);
    match (&c.before, &c.after) {
        // A scalar that changes, where it is written.
        (Some(before), Some(after)) if scalar(before) && scalar(after) => {
            let at = offset(text, spans.get(&c.path)?);
            let end = scalar_end(text, at)?;
            let flow = in_flow(text, at);
            Some((at, end, inline(after, flow)))
        }
        // A key added to a mapping the document has.
        (None, Some(after)) if old.pointer(parent).is_some_and(Value::is_object) => {
            let map = old.pointer(parent).and_then(Value::as_object)?;
            let at = offset(text, spans.get(parent)?);
            if text.get(at..)?.starts_with(OPEN_MAP) {
                let entry = format!("{}: {}", emit_key(&key), inline(after, true));
                let separator = if map.is_empty() { "" } else { ", " };
                return Some((at + 1, at + 1, format!("{entry}{separator}")));
            }
            // Before the first key, at its column.
            let (first, _) = map.iter().next()?;
            let first_at = spans.key(&format!("{parent}/{}", crate::load::pointer::escape_segment(first)))?;
            let indent = usize::try_from(first_at.column.saturating_sub(1)).ok()?;
            let entry = crate::load::to_yaml(&Value::Object(Map::from_iter([(key, after.clone())])));
            let mut lines = entry.lines();
            let mut with = lines.next()?.to_owned();
            for l in lines {
                with.push('\n');
                if !l.is_empty() {
                    with.push_str(&" ".repeat(indent));
                }
                with.push_str(l);
            }
            with.push('\n');
            with.push_str(&" ".repeat(indent));
            Some((offset(text, first_at), offset(text, first_at), with))
        }
        // A key removed whose entry has its lines to itself.
        (Some(_), None) if old.pointer(parent).is_some_and(Value::is_object) => {
            let key_at = spans.key(&c.path)?;
            let start = offset(text, Pos { line: key_at.line, column: 1 });
            let before_key = text.get(start..offset(text, key_at))?;
            if !before_key.trim().is_empty() {
                return None;
            }
            let indent = before_key.len();
            // Its lines: the key's, and those after it indented deeper (or blank).
            let mut end = text.get(start..)?.find('\n').map_or(text.len(), |i| start + i + 1);
            while end < text.len() {
                let line = text.get(end..)?.split('\n').next()?;
                let deeper = line.len() - line.trim_start().len() > indent;
                if !(deeper || (line.trim().is_empty() && end + line.len() + 1 < text.len())) {
                    break;
                }
                end += line.len() + 1;
            }
            Some((start, end.min(text.len()), String::new()))
        }
        _ => None,
    }
}

fn scalar(v: &Value) -> bool {
    !v.is_object() && !v.is_array()
}

/// The nearest flow collection (`{...}` or `[...]`) holding `path`, as an edit that writes its
/// new value in its place.
fn flow_collection(text: &str, spans: &Spans, new: &Value, path: &str) -> Option<(usize, usize, String)> {
    let mut at = path;
    while let Some((parent, _)) = at.rsplit_once('/') {
        at = parent;
        let start = offset(text, spans.get(at)?);
        let open = text.get(start..)?.chars().next()?;
        if !matches!(open, OPEN_MAP | '[') {
            continue;
        }
        let end = flow_end(text, start)?;
        let value = new.pointer(at)?;
        if !(value.is_object() || value.is_array()) {
            return None;
        }
        return Some((start, end, flow(value)));
    }
    None
}

/// A collection in YAML's flow style: `{host: x, port: 80}`, `[a, b]`.
fn flow(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let entries: Vec<String> = m.iter().map(|(k, v)| format!("{}: {}", emit_key(k), flow(v))).collect();
            format!("{{{}}}", entries.join(", "))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(flow).collect::<Vec<_>>().join(", ")),
        scalar => inline(scalar, true),
    }
}

/// Where the flow collection opened at `at` closes (just after its bracket), outside quotes.
fn flow_end(text: &str, at: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, ch) in text.get(at..)?.char_indices() {
        match (quote, ch) {
            (Some('"'), '"') if previous != '\\' => quote = None,
            (Some('\''), '\'') => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(ch),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => {
                depth -= 1;
                if depth == 0 {
                    return Some(at + i + ch.len_utf8());
                }
            }
            _ => {}
        }
        previous = ch;
    }
    None
}

/// A key as YAML writes it.
fn emit_key(key: &str) -> String {
    inline(&Value::String(key.to_owned()), true)
}

/// A scalar as written inline; in a flow collection, quoted when it holds a flow indicator.
fn inline(v: &Value, flow: bool) -> String {
    let text = crate::load::to_yaml(v);
    let text = text.strip_suffix('\n').unwrap_or(&text).to_owned();
    if text.contains('\n') || (flow && !text.starts_with('"') && text.contains([',', '[', ']', '{', '}'])) {
        return serde_json::to_string(v).unwrap_or(text);
    }
    text
}

/// Where the scalar written at `at` ends: a quoted one at its closing quote, a plain one before
/// a comment, the end of its line or (in a flow collection) the next indicator. `None` for a
/// block scalar (`|`, `>`) or an alias.
fn scalar_end(text: &str, at: usize) -> Option<usize> {
    let rest = text.get(at..)?;
    let line = rest.split('\n').next()?;
    match line.chars().next()? {
        '"' => {
            let mut escaped = false;
            for (i, ch) in line.char_indices().skip(1) {
                match ch {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => return Some(at + i + 1),
                    _ => escaped = false,
                }
            }
            None
        }
        '\'' => {
            let bytes = line.as_bytes();
            let mut i = 1;
            while i < bytes.len() {
                if bytes.get(i) == Some(&b'\'') {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return Some(at + i + 1);
                }
                i += 1;
            }
            None
        }
        '|' | '>' | '*' | '&' | '!' => None,
        _ => {
            let flow = in_flow(text, at);
            let mut end = line.len();
            if let Some(i) = line.find(" #") {
                end = end.min(i);
            }
            if flow {
                if let Some(i) = line.find([',', ']', CLOSE_MAP]) {
                    end = end.min(i);
                }
            }
            Some(at + line.get(..end)?.trim_end().len())
        }
    }
}

/// Whether `at` is inside a flow collection (`{...}`, `[...]`) of its document: the brackets
/// opened before it on its lines and not closed, outside quotes and comments.
fn in_flow(text: &str, at: usize) -> bool {
    let start = text.get(..at).and_then(|t| t.rfind("\n---")).map_or(0, |i| i + 1);
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut previous = '\n';
    for ch in text.get(start..at).unwrap_or_default().chars() {
        match (quote, ch) {
            _ if comment => comment = ch != '\n',
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if matches!(previous, ' ' | '\n' | '[' | OPEN_MAP | ',' | ':') => quote = Some(ch),
            (None, '#') if matches!(previous, ' ' | '\n') => comment = true,
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            _ => {}
        }
        previous = ch;
    }
    depth > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str, new: Value) -> Rewrite {
        rewrite("t.yaml", text, &[new], &[], &[]).unwrap()
    }

    const DEPLOYMENT: &str = "\
# The orders service.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders   # the service
  labels: {app: orders, tier: standard}
spec:
  replicas: 3 # scaled by the HPA
  template:
    spec:
      containers:
        - name: app
          image: \"registry/orders:1.0\"
          resources:
            requests: {cpu: 250m, memory: 256Mi}
";

    fn value(text: &str) -> Value {
        parse(text).unwrap().remove(0).value
    }

    #[test]
    fn scalars_change_where_they_are_written() {
        let mut new = value(DEPLOYMENT);
        new["spec"]["replicas"] = json!(5);
        new["spec"]["template"]["spec"]["containers"][0]["image"] = json!("registry/orders:2.0");
        new["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = json!("500m");
        new["metadata"]["labels"]["tier"] = json!("critical");
        let r = one(DEPLOYMENT, new.clone());
        assert_eq!((r.edited, r.rewritten), (1, 0));
        let want = DEPLOYMENT
            .replace("replicas: 3 #", "replicas: 5 #")
            .replace("\"registry/orders:1.0\"", "registry/orders:2.0")
            .replace("cpu: 250m", "cpu: 500m")
            .replace("tier: standard}", "tier: critical}");
        assert_eq!(r.text, want);
        assert_eq!(value(&r.text), new);
    }

    #[test]
    fn keys_are_added_and_removed_in_place() {
        let mut new = value(DEPLOYMENT);
        new["metadata"]["annotations"] = json!({"paved.dev/golden-path": "web-service@2.0.0"});
        new["metadata"]["labels"]["team"] = json!("payments");
        new["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] = json!({"memory": "256Mi"});
        new["spec"].as_object_mut().unwrap().remove("replicas");
        let r = one(DEPLOYMENT, new.clone());
        assert_eq!((r.edited, r.rewritten), (1, 0), "{}", r.text);
        assert_eq!(value(&r.text), new);
        assert!(r.text.starts_with("# The orders service.\n"));
        assert!(r.text.contains("  name: orders   # the service\n"), "{}", r.text);
        assert!(!r.text.contains("replicas"));
        assert!(r.text.contains("labels: {team: payments, app: orders, tier: standard}"), "{}", r.text);
    }

    #[test]
    fn what_cannot_be_edited_in_place_rewrites_the_document_and_others_stay() {
        let other = "apiVersion: v1\nkind: Service  # untouched\nmetadata: {name: orders}\n";
        let text = format!("{DEPLOYMENT}---\n{other}");
        let mut new = value(DEPLOYMENT);
        new["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "sidecar", "image": "registry/proxy:1"}));
        let r = rewrite("t.yaml", &text, &[new.clone()], &[], &[]).unwrap();
        assert_eq!((r.edited, r.rewritten), (0, 1));
        assert!(r.text.ends_with(&format!("---\n{other}")), "{}", r.text);
        let docs = parse(&r.text).unwrap();
        assert_eq!(docs.first().map(|d| &d.value), Some(&new));
    }

    #[test]
    fn documents_are_removed_and_added() {
        let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "orders"}});
        let policy =
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "orders"}});
        let text = format!("{}---\n{}", DEPLOYMENT, crate::load::to_yaml(&service));
        let r = rewrite("t.yaml", &text, &[], std::slice::from_ref(&policy), &[identity_of(&service)]).unwrap();
        assert_eq!((r.removed, r.added), (1, 1));
        let docs: Vec<Value> = parse(&r.text).unwrap().into_iter().map(|d| d.value).collect();
        assert_eq!(docs, [value(DEPLOYMENT), policy]);
    }

    #[test]
    fn an_object_inside_a_list_is_an_error_not_a_guess() {
        let export =
            "apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Service, metadata: {name: orders}}\n";
        let service =
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "orders", "labels": {"a": "b"}}});
        let e = rewrite("live.yaml", export, std::slice::from_ref(&service), &[], &[]).unwrap_err().to_string();
        assert!(e.contains("Service/orders is not a document of its own"), "{e}");
        let e = rewrite("live.yaml", export, &[], &[], &[identity_of(&service)]).unwrap_err().to_string();
        assert!(e.contains("not a document of its own"), "{e}");
    }
}
