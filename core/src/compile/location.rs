//! Gatekeeper's mutation paths (`location`: `spec.containers[name: foo].image`) and how its
//! mutators walk them, with Gatekeeper's semantics: a field or a list element the path names
//! that is missing is made (a list element with its key set) unless a path test forbids it; a
//! glob (`[name: *]`) walks every element of a list; `pathTests` stop the mutation where a
//! prefix of the path exists (`MustNotExist`) or does not (`MustExist`). The value set at the
//! end is the mutator's: Assign's value, ModifySet's merge or prune, AssignImage's image parts.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A field of an object.
    Field(String),
    /// The elements of a list whose `key` is `value`; every element when `value` is `None`.
    List { key: String, value: Option<Value> },
}

/// A parsed `location`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path(pub Vec<Node>);

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, node) in self.0.iter().enumerate() {
            match node {
                Node::Field(name) if i == 0 => write!(f, "{}", quoted(name))?,
                Node::Field(name) => write!(f, ".{}", quoted(name))?,
                Node::List { key, value: None } => write!(f, "[{}: *]", quoted(key))?,
                Node::List { key, value: Some(Value::String(v)) } => write!(f, "[{}: {}]", quoted(key), quoted(v))?,
                Node::List { key, value: Some(v) } => write!(f, "[{}: {v}]", quoted(key))?,
            }
        }
        Ok(())
    }
}

impl Path {
    /// Where this path and `other` read one object differently, as long as they walk the same
    /// fields: a field one takes for a list and the other for an object, or a list they key by
    /// different fields. `None` when they agree (or part before any such place).
    pub(crate) fn disagrees_with(&self, other: &Path) -> Option<String> {
        for (i, (a, b)) in self.0.iter().zip(&other.0).enumerate() {
            let at = || Path(self.0.iter().take(i).cloned().collect());
            match (a, b) {
                (Node::Field(x), Node::Field(y)) if x != y => return None,
                (Node::Field(_), Node::Field(_)) => {}
                (Node::List { key: x, value: v }, Node::List { key: y, value: w }) => {
                    if x != y {
                        return Some(format!("`{}` is a list keyed by `{x}` to one and by `{y}` to the other", at()));
                    }
                    if v.is_some() && w.is_some() && v != w {
                        return None;
                    }
                }
                _ => return Some(format!("`{}` is a list to one and an object to the other", at())),
            }
        }
        None
    }
}

/// A name as a path writes it: bare when it can be.
fn quoted(name: &str) -> String {
    let bare = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Int(String),
    Dot,
    Open,
    Close,
    Glob,
    Colon,
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    while let Some((at, c)) = chars.next() {
        match c {
            ' ' | '\t' | '\r' | '\n' => {}
            '.' => out.push(Token::Dot),
            '[' => out.push(Token::Open),
            ']' => out.push(Token::Close),
            '*' => out.push(Token::Glob),
            ':' => out.push(Token::Colon),
            '"' | '\'' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some((_, q)) if q == c => break,
                        Some((_, '\\')) => s.extend(chars.next().map(|(_, e)| e)),
                        Some((_, other)) => s.push(other),
                        None => return Err(format!("unterminated string at position {at}")),
                    }
                }
                out.push(Token::Ident(s));
            }
            c if c.is_ascii_digit() => {
                let mut s = String::from(c);
                while let Some((_, d)) = chars.next_if(|(_, d)| d.is_ascii_digit()) {
                    s.push(d);
                }
                out.push(Token::Int(s));
            }
            c if word(c) => {
                let mut s = String::from(c);
                while let Some((_, d)) = chars.next_if(|&(_, d)| word(d)) {
                    s.push(d);
                }
                out.push(Token::Ident(s));
            }
            other => return Err(format!("invalid character `{other}` at position {at}")),
        }
    }
    Ok(out)
}

/// Parses a path: fields separated by `.`, each optionally followed by one list selector
/// `[key: value]` (a name, a quoted string, an integer, or `*`).
pub(crate) fn parse(text: &str) -> Result<Path, String> {
    let tokens = tokens(text)?;
    let mut nodes = Vec::new();
    let mut rest = tokens.as_slice();
    let found = |t: Option<&Token>| t.map_or_else(|| "the end".to_owned(), |t| format!("{t:?}"));
    loop {
        let Some((Token::Ident(name), after)) = rest.split_first() else {
            return Err(format!("expected a field name, found {}", found(rest.first())));
        };
        nodes.push(Node::Field(name.clone()));
        rest = after;
        if let [Token::Open, Token::Ident(key), Token::Colon, value, Token::Close, after @ ..] = rest {
            let value = match value {
                Token::Glob => None,
                Token::Ident(v) => Some(Value::String(v.clone())),
                Token::Int(v) => {
                    Some(Value::from(v.parse::<i64>().map_err(|_| format!("`{v}` overflows an integer"))?))
                }
                other => return Err(format!("expected a key value or `*` in `[{key}: ...]`, found {other:?}")),
            };
            nodes.push(Node::List { key: key.clone(), value });
            rest = after;
        } else if rest.first() == Some(&Token::Open) {
            return Err("a list selector is `[key: value]` or `[key: *]`".into());
        }
        match rest.split_first() {
            None => return Ok(Path(nodes)),
            Some((Token::Dot, [])) => return Err("the path ends with `.`".into()),
            Some((Token::Dot, after)) => rest = after,
            Some((other, _)) => return Err(format!("expected `.` or the end, found {other:?}")),
        }
    }
}

/// A path test's condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    MustExist,
    MustNotExist,
}

/// The path tests, by the depth of the node they test.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tests(BTreeMap<usize, Condition>);

impl Tests {
    /// The tests of `location`: each sub-path must be a prefix of it; one node cannot be
    /// tested both ways, nor must exist below one that must not.
    pub(crate) fn new(location: &Path, tests: &[(Path, Condition)]) -> Result<Self, String> {
        let mut out = BTreeMap::new();
        for (path, condition) in tests {
            if path.0.is_empty() || !location.0.starts_with(&path.0) {
                return Err(format!("sub path `{path}` is not a prefix of the location `{location}`"));
            }
            let depth = path.0.len() - 1;
            if out.insert(depth, *condition).is_some_and(|c| c != *condition) {
                return Err(format!("sub path `{path}` is tested both MustExist and MustNotExist"));
            }
        }
        let must_not = out.iter().find(|(_, c)| **c == Condition::MustNotExist).map(|(d, _)| *d);
        let must = out.iter().rev().find(|(_, c)| **c == Condition::MustExist).map(|(d, _)| *d);
        if let (Some(not), Some(must)) = (must_not, must) {
            if must > not {
                return Err("a sub path must exist below one that must not exist".into());
            }
        }
        Ok(Tests(out))
    }

    fn exists_ok(&self, depth: usize) -> bool {
        self.0.get(&depth).is_none_or(|c| *c == Condition::MustExist)
    }

    fn missing_ok(&self, depth: usize) -> bool {
        self.0.get(&depth).is_none_or(|c| *c == Condition::MustNotExist)
    }
}

/// What is done where the path ends.
#[derive(Debug, Clone)]
pub(crate) enum Set {
    /// Assign (and AssignMetadata): the value, when the one there passes `assignIf` (`in`,
    /// `notIn`).
    Assign { value: Value, only_if: Option<(Vec<Value>, Vec<Value>)> },
    /// ModifySet `merge`: each value not in the list appended (the list made if missing).
    Merge(Vec<Value>),
    /// ModifySet `prune`: every element equal to one of the values removed.
    Prune(Vec<Value>),
    /// AssignImage: the image's domain, path and tag, each replaced when given.
    Image { domain: String, path: String, tag: String },
}

impl Set {
    /// Sets the field `key` of `object`: whether it did (a value test can refuse).
    fn field(&self, object: &mut Map<String, Value>, key: &str) -> Result<bool, String> {
        match self {
            Set::Assign { value, only_if } => {
                if let Some((within, not_in)) = only_if {
                    let had = object.get(key);
                    if !within.is_empty() && !had.is_some_and(|h| within.contains(h)) {
                        return Ok(false);
                    }
                    if had.is_some_and(|h| not_in.contains(h)) {
                        return Ok(false);
                    }
                }
                object.insert(key.to_owned(), value.clone());
            }
            Set::Merge(values) => match object.get_mut(key) {
                None => {
                    object.insert(key.to_owned(), Value::Array(values.clone()));
                }
                Some(Value::Array(list)) => {
                    for v in values {
                        if !list.contains(v) {
                            list.push(v.clone());
                        }
                    }
                }
                Some(other) => return Err(format!("{other} is not a list of values, cannot treat it as a set")),
            },
            Set::Prune(values) => match object.get_mut(key) {
                None => {}
                Some(Value::Array(list)) => list.retain(|v| !values.contains(v)),
                Some(other) => return Err(format!("{other} is not a list of values, cannot treat it as a set")),
            },
            Set::Image { domain, path, tag } => {
                let had = match object.get(key) {
                    None => "",
                    Some(Value::String(s)) => s.as_str(),
                    Some(other) => return Err(format!("the value at the location is {other}, not an image string")),
                };
                object.insert(key.to_owned(), Value::String(assign_image(had, (domain, path, tag))));
            }
        }
        Ok(true)
    }
}

/// A compiled mutator: its walk, and what it sets where the walk ends.
#[derive(Debug)]
pub(crate) struct Mutator {
    pub walk: Walk,
    pub set: Setting,
}

/// What a mutator sets: fixed, or the object's name or namespace (`fromMetadata`).
#[derive(Debug)]
pub(crate) enum Setting {
    Fixed(Set),
    Name,
    Namespace,
}

impl Mutator {
    /// The object after the mutator, `None` when it changes nothing; `(namespace, name)` are the
    /// object's, as the request gives them.
    pub(crate) fn apply(&self, object: &Value, (namespace, name): (&str, &str)) -> Result<Option<Value>, String> {
        let from = |s: &str| Set::Assign { value: Value::String(s.to_owned()), only_if: None };
        let set = match &self.set {
            Setting::Fixed(set) => set,
            Setting::Name => &from(name),
            Setting::Namespace => &from(namespace),
        };
        let mut after = object.clone();
        self.walk.apply(&mut after, set)?;
        Ok((after != *object).then_some(after))
    }
}

/// A path with its tests: what a mutator walks.
#[derive(Debug, Clone)]
pub(crate) struct Walk {
    pub path: Path,
    pub tests: Tests,
}

impl Walk {
    /// Walks `object` along the path and sets what `set` sets where it ends: whether anything
    /// was set (a value equal to the one there counts; the caller compares).
    pub(crate) fn apply(&self, object: &mut Value, set: &Set) -> Result<bool, String> {
        if self.path.0.is_empty() {
            return Err("the location is empty".into());
        }
        self.step(object, 0, set)
    }

    fn step(&self, current: &mut Value, depth: usize, set: &Set) -> Result<bool, String> {
        let last = depth + 1 == self.path.0.len();
        match self.path.0.get(depth) {
            Some(Node::Field(name)) => {
                let Value::Object(object) = current else {
                    return Err(format!("`{}` is {}, not an object", self.prefix(depth), kind_of(current)));
                };
                let exists = object.contains_key(name);
                if !(if exists { self.tests.exists_ok(depth) } else { self.tests.missing_ok(depth) }) {
                    return Ok(false);
                }
                if last {
                    return set.field(object, name);
                }
                if let Some(next) = object.get_mut(name) {
                    return self.step(next, depth + 1, set);
                }
                let mut next = self.missing(depth)?;
                let changed = self.step(&mut next, depth + 1, set)?;
                if changed {
                    object.insert(name.clone(), next);
                }
                Ok(changed)
            }
            Some(Node::List { key, value }) => {
                let Value::Array(items) = current else {
                    return Err(format!("`{}` is {}, not a list", self.prefix(depth), kind_of(current)));
                };
                if last {
                    return self.set_element(items, (key, value.as_ref()), depth, set);
                }
                let Some(value) = value else {
                    if !self.tests.exists_ok(depth) {
                        return Ok(false);
                    }
                    let mut changed = false;
                    for item in items.iter_mut() {
                        changed |= self.step(item, depth + 1, set)?;
                    }
                    return Ok(changed);
                };
                let mut changed = false;
                let mut found = false;
                for item in items.iter_mut().filter(|i| i.get(key) == Some(value)) {
                    if !self.tests.exists_ok(depth) {
                        return Ok(false);
                    }
                    found = true;
                    changed |= self.step(item, depth + 1, set)?;
                }
                if !found {
                    if !self.tests.missing_ok(depth) {
                        return Ok(false);
                    }
                    let mut next = self.missing(depth)?;
                    if self.step(&mut next, depth + 1, set)? {
                        items.push(next);
                        changed = true;
                    }
                }
                Ok(changed)
            }
            None => Err("the location is empty".into()),
        }
    }

    /// The path ends at a keyed list element: Assign's value (an object of that key) replaces
    /// the element, or is appended.
    fn set_element(
        &self,
        items: &mut Vec<Value>,
        (key, value): (&str, Option<&Value>),
        depth: usize,
        set: &Set,
    ) -> Result<bool, String> {
        let Set::Assign { value: new, .. } = set else {
            return Err("only Assign can set a list element".into());
        };
        let Some(value) = value else {
            return Err("the location cannot end with a glob".into());
        };
        match items.iter_mut().find(|i| i.get(key) == Some(value)) {
            Some(_) if !self.tests.exists_ok(depth) => Ok(false),
            Some(item) => {
                item.clone_from(new);
                Ok(true)
            }
            None if !self.tests.missing_ok(depth) => Ok(false),
            None => {
                items.push(new.clone());
                Ok(true)
            }
        }
    }

    /// What a missing node is made as: an object (with the list key set, when the node is a
    /// list element) or a list.
    fn missing(&self, depth: usize) -> Result<Value, String> {
        let next = match self.path.0.get(depth + 1) {
            Some(Node::List { .. }) => Value::Array(Vec::new()),
            _ => Value::Object(Map::new()),
        };
        match (self.path.0.get(depth), next) {
            (Some(Node::List { key, value: Some(v) }), Value::Object(mut o)) => {
                o.insert(key.clone(), v.clone());
                Ok(Value::Object(o))
            }
            (Some(Node::List { .. }), _) => Err("two list selectors cannot follow each other".into()),
            (_, next) => Ok(next),
        }
    }

    /// The path before `depth`, for messages.
    fn prefix(&self, depth: usize) -> Path {
        Path(self.path.0.iter().take(depth).cloned().collect())
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// An image's domain and the rest: the part before the first `/` is a domain when it has a `.`
/// or a `:`, or is `localhost`.
fn split_domain(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((domain, rest)) if domain.contains(['.', ':']) || domain == "localhost" => (domain, rest),
        _ => ("", name),
    }
}

/// A path and its tag (`:tag` or `@digest`, from the first `:` or `@`).
fn split_tag(rest: &str) -> (&str, &str) {
    rest.find([':', '@']).map_or((rest, ""), |at| rest.split_at(at))
}

/// `image` with each of domain, path and tag replaced where one is given.
fn assign_image(image: &str, (domain, path, tag): (&str, &str, &str)) -> String {
    let (old_domain, rest) = split_domain(image);
    let (old_path, old_tag) = split_tag(rest);
    let pick = |new: &'_ str, old| if new.is_empty() { old } else { new }.to_owned();
    let domain = pick(domain, old_domain);
    let (path, tag) = (pick(path, old_path), pick(tag, old_tag));
    if domain.is_empty() {
        format!("{path}{tag}")
    } else {
        format!("{domain}/{path}{tag}")
    }
}

/// Checks AssignImage's parts as Gatekeeper does: at least one given; a domain a host (with a
/// port) or `localhost`; a path of lower-case components; a tag `:tag` or `@algorithm:hex`; a
/// path that could be read as starting with a domain only with a domain given.
pub(crate) fn image_parts(domain: &str, path: &str, tag: &str) -> Result<(), String> {
    use std::sync::LazyLock;
    static DOMAIN: LazyLock<Option<regex::Regex>> =
        LazyLock::new(|| regex::Regex::new(r"(^\w[\w\-_]*\.[\w\-_\.]*[\w](:\d+)?$)|(^localhost(:\d+)?$)").ok());
    static PATH: LazyLock<Option<regex::Regex>> =
        LazyLock::new(|| regex::Regex::new(r"^[a-z0-9]+(?:(?:(?:[._/]|__|[-]*)[a-z0-9]+)+)?").ok());
    static TAG: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
        regex::Regex::new(
            r"(^:[\w][\w.-]{0,127}$)|(^@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}$)",
        )
        .ok()
    });
    if domain.is_empty() && path.is_empty() && tag.is_empty() {
        return Err("at least one of assignDomain, assignPath and assignTag must be set".into());
    }
    if !domain.is_empty()
        && (!DOMAIN.as_ref().is_some_and(|r| r.is_match(domain)) || split_domain(&format!("{domain}/")) != (domain, ""))
    {
        return Err(format!("assignDomain `{domain}` is not a registry domain (a host, with a port, or localhost)"));
    }
    if !path.is_empty() && PATH.as_ref().and_then(|r| r.find(path)).map(|m| m.as_str()) != Some(path) {
        return Err(format!(
            "assignPath `{path}` is not an image path (lower-case components separated by `/`, `.`, `_` or `-`)"
        ));
    }
    if !tag.is_empty() && (!TAG.as_ref().is_some_and(|r| r.is_match(tag)) || split_tag(tag) != ("", tag)) {
        return Err(format!("assignTag `{tag}` is neither `:tag` nor `@algorithm:digest`"));
    }
    if domain.is_empty() && !split_domain(path).0.is_empty() {
        return Err(format!("assignPath `{path}` would be read as starting with a domain: set assignDomain too"));
    }
    Ok(())
}
