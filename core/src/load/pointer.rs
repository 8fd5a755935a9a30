//! JSON pointers (RFC 6901): escaping a segment, and patterns whose segments may be `*`, used
//! by `forEach` paths and golden-path extension points alike.

use serde_json::{Map, Value};

use super::unknown::is_unknown;

/// Escapes one JSON pointer segment (RFC 6901).
pub(crate) fn escape_segment(s: &str) -> String {
    if s.contains(['~', '/']) {
        s.replace('~', "~0").replace('/', "~1")
    } else {
        s.to_owned()
    }
}

/// Unescapes one JSON pointer segment (RFC 6901).
pub(crate) fn unescape_segment(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

/// Sets (or, with `None`, removes) the value at `pointer`, creating mappings on the way; a list
/// item can be replaced, removed or appended. False when the path cannot be made.
pub(crate) fn set(root: &mut Value, pointer: &str, value: Option<Value>) -> bool {
    let segments: Vec<String> = pointer.split('/').skip(1).map(unescape_segment).collect();
    let Some((last, parents)) = segments.split_last() else { return false };
    let mut at = root;
    for seg in parents {
        at = match at {
            Value::Object(m) => m.entry(seg.clone()).or_insert_with(|| Value::Object(Map::new())),
            Value::Array(a) => {
                let Ok(i) = seg.parse::<usize>() else { return false };
                // An item added after the last: a mapping the following segments fill in.
                if i == a.len() {
                    a.push(Value::Object(Map::new()));
                }
                match a.get_mut(i) {
                    Some(v) => v,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    match (at, value) {
        (Value::Object(m), Some(v)) => {
            m.insert(last.clone(), v);
        }
        (Value::Object(m), None) => {
            m.remove(last);
        }
        (Value::Array(a), v) => {
            let Ok(i) = last.parse::<usize>() else { return false };
            match v {
                Some(v) if i == a.len() => a.push(v),
                Some(v) => match a.get_mut(i) {
                    Some(item) => *item = v,
                    None => return false,
                },
                None if i < a.len() => {
                    a.remove(i);
                }
                None => {}
            }
        }
        _ => return false,
    }
    true
}

/// Whether a JSON pointer into `value` passes through (or ends at) a value known only after
/// apply.
pub(crate) fn reaches_unknown(value: &Value, pointer: &str) -> bool {
    let mut at = value;
    for segment in pointer.split('/').skip(1) {
        if is_unknown(at) {
            return true;
        }
        let segment = unescape_segment(segment);
        let next = match at {
            Value::Object(m) => m.get(&segment),
            Value::Array(a) => segment.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(v) => at = v,
            None => return false,
        }
    }
    is_unknown(at)
}

/// Whether `pattern` (a JSON pointer whose segments may be `*`) is `pointer` or one of its
/// ancestors.
pub(crate) fn covers(pattern: &str, pointer: &str) -> bool {
    let mut have = pointer.split('/').skip(1);
    pattern.split('/').skip(1).all(|want| have.next().is_some_and(|seg| want == "*" || want == seg))
}

/// One segment of a forEach path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Any,
}

/// A forEach path: a JSON pointer where `*` is every element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathPattern(pub Vec<Segment>);

impl PathPattern {
    pub(crate) fn parse(text: &str) -> Result<Vec<PathPattern>, String> {
        if text == "containers" {
            return Ok(["initContainers", "containers", "ephemeralContainers"]
                .iter()
                .map(|c| PathPattern(vec![Segment::Key("spec".into()), Segment::Key((*c).into()), Segment::Any]))
                .collect());
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!(
                "forEach path `{text}` must be a JSON pointer such as `/spec/volumes/*`, or `containers`"
            ));
        };
        let segments = rest
            .split('/')
            .map(|s| match s {
                "*" => Segment::Any,
                s => Segment::Key(unescape_segment(s)),
            })
            .collect();
        Ok(vec![PathPattern(segments)])
    }

    /// Every value the pattern reaches in `root`, with its JSON pointer.
    pub(crate) fn visit<'v>(&self, root: &'v Value, out: &mut Vec<(String, &'v Value)>) {
        fn go<'v>(segs: &[Segment], v: &'v Value, at: String, out: &mut Vec<(String, &'v Value)>) {
            let Some((first, rest)) = segs.split_first() else {
                out.push((at, v));
                return;
            };
            // What is known only after apply may hold anything: it is the item, and a check
            // that reads it is unknown.
            if is_unknown(v) {
                out.push((at, v));
                return;
            }
            match (first, v) {
                (Segment::Key(k), Value::Object(m)) => {
                    if let Some(child) = m.get(k) {
                        go(rest, child, format!("{at}/{}", escape_segment(k)), out);
                    }
                }
                (Segment::Key(k), Value::Array(a)) => {
                    if let Some(child) = k.parse::<usize>().ok().and_then(|i| a.get(i)) {
                        go(rest, child, format!("{at}/{k}"), out);
                    }
                }
                (Segment::Any, Value::Array(a)) => {
                    for (i, child) in a.iter().enumerate() {
                        go(rest, child, format!("{at}/{i}"), out);
                    }
                }
                (Segment::Any, Value::Object(m)) => {
                    for (k, child) in m {
                        go(rest, child, format!("{at}/{}", escape_segment(k)), out);
                    }
                }
                _ => {}
            }
        }
        go(&self.0, root, String::new(), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_cover_descendants() {
        assert!(covers("/spec/replicas", "/spec/replicas"));
        assert!(covers("/spec/template/spec/containers/*/env", "/spec/template/spec/containers/0/env/3/value"));
        assert!(!covers("/spec/template/spec/containers/*/env", "/spec/template/spec/containers/0/image"));
        assert!(!covers("/spec/replicas", "/spec"));
        assert!(covers("", "/anything"));
    }

    #[test]
    fn patterns_visit_every_match_with_escaped_pointers() {
        let v = json!({"a": {"x/y": [1, 2]}});
        let mut out = Vec::new();
        PathPattern::parse("/a/x~1y/*").unwrap()[0].visit(&v, &mut out);
        assert_eq!(out, vec![("/a/x~1y/0".to_owned(), &json!(1)), ("/a/x~1y/1".to_owned(), &json!(2))]);
        assert_eq!(escape_segment("a~b/c"), "a~0b~1c");
    }
}
