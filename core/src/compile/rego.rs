//! Rego, as Gatekeeper runs it, on regorus (the Rust Rego interpreter): a ConstraintTemplate's
//! `rego` and `libs`, compiled and analysed once, judged per object with Gatekeeper's input
//! (`input.review`, `input.parameters`) and `data.inventory` in Gatekeeper's layout
//! (`cluster[groupVersion][kind][name]`, `namespace[ns][groupVersion][kind][name]`); each
//! member of the `violation` set is a finding, with its `msg`.
//!
//! The inventory is not regorus' data (adding data makes regorus analyse the policy again): a
//! small module of paved's (`package inventory`) makes `data.inventory` read the part of the
//! input paved puts it in, built once per evaluation and shared by every object.
//!
//! What Rego could do that paved does not allow is refused when the template loads: the network
//! (`http.send`, Gatekeeper's `external_data`), the clock (`time.now_ns`) and chance
//! (`rand.intn`, `uuid.rfc4122`); regorus is built without them. Each evaluation is bounded by
//! regorus' execution timer ([`TIME_LIMIT`]) and does not start once the evaluation's budget is
//! stopped.

use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroU32;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use regorus::Value as Rego;
use serde::Deserialize;
use serde_json::Value;

use super::check::{Check, CheckInput, Review, Violation};
use crate::report::{ErrorKind, FindingError};

/// The most one Rego evaluation (one constraint on one object) may take.
pub(crate) const TIME_LIMIT: Duration = Duration::from_secs(2);

/// Where in the input paved puts the inventory, for [`INVENTORY_MODULE`].
const INVENTORY_KEY: &str = "__paved_inventory";

/// `data.inventory`, read from the input.
const INVENTORY_MODULE: &str = "package inventory\n\n\
    cluster := input.__paved_inventory.cluster\n\n\
    namespace := input.__paved_inventory.namespace\n";

/// Builtins a template may not call, and why.
const REFUSED: &[(&str, &str)] = &[
    ("http.send", "reaches the network"),
    ("external_data", "asks an external data provider over the network"),
    ("net.lookup_ip_addr", "reaches the network"),
    ("time.now_ns", "reads the clock"),
    ("rand.intn", "draws a random number"),
    ("uuid.rfc4122", "draws a random number"),
    ("opa.runtime", "reads the environment"),
];

/// A template's Rego, compiled: judged by taking an analysed engine from the pool (or cloning
/// the first), so that evaluations on many threads neither wait for each other nor analyse the
/// modules again.
pub(crate) struct RegoCheck {
    prepared: Mutex<regorus::Engine>,
    pool: Mutex<Vec<regorus::Engine>>,
    /// `data.<package>.violation`.
    rule: String,
    /// Whether the Rego reads `data.inventory`.
    pub reads_inventory: bool,
}

impl fmt::Debug for RegoCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegoCheck").field("rule", &self.rule).finish_non_exhaustive()
    }
}

/// A problem compiling a template's Rego: in which source (`None`: the template's own,
/// `Some(i)`: `libs[i]`), where in it (line and column) when regorus says, and what.
#[derive(Debug)]
pub(crate) struct RegoError {
    pub lib: Option<usize>,
    pub at: Option<(u32, u32)>,
    pub message: String,
}

impl RegoError {
    /// regorus' error (`--> libs[0].rego:5:3`, the source line, `error: what`), read.
    fn of(e: &impl fmt::Display, lib: Option<usize>) -> RegoError {
        let text = e.to_string();
        let location = text.lines().find_map(|l| l.trim().strip_prefix("--> "));
        let mut parts = location.map(|l| l.rsplitn(3, ':').collect::<Vec<_>>()).unwrap_or_default().into_iter();
        let (column, line, file) = (parts.next(), parts.next(), parts.next());
        let lib = match file.and_then(|f| f.strip_prefix("libs[")).and_then(|f| f.split(']').next()) {
            Some(i) => i.parse().ok(),
            None => lib,
        };
        let at = line.and_then(|l| l.parse().ok()).zip(column.and_then(|c| c.parse().ok()));
        let message = text
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix("error: "))
            .map_or_else(|| first_line(&text), str::to_owned);
        RegoError { lib, at, message }
    }
}

impl RegoCheck {
    /// Compiles a template's Rego (`v1`: Rego v1 syntax, else v0 as Gatekeeper's default) and
    /// its libraries, and analyses them once.
    pub(crate) fn new(rego: &str, libs: &[String], v1: bool) -> Result<RegoCheck, RegoError> {
        for (i, source) in std::iter::once(rego).chain(libs.iter().map(String::as_str)).enumerate() {
            refused(source).map_err(|(line, message)| RegoError {
                lib: i.checked_sub(1),
                at: Some((line, 1)),
                message,
            })?;
        }
        let mut engine = regorus::Engine::new();
        engine.set_rego_v0(!v1);
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: TIME_LIMIT,
            check_interval: NonZeroU32::MIN.saturating_add(999),
        });
        let package =
            engine.add_policy("template.rego".into(), normalized(rego).into()).map_err(|e| RegoError::of(&e, None))?;
        for (i, lib) in libs.iter().enumerate() {
            let lib = normalized(lib).into_owned();
            engine.add_policy(format!("libs[{i}].rego"), lib).map_err(|e| RegoError::of(&e, Some(i)))?;
        }
        let reads_inventory =
            std::iter::once(rego).chain(libs.iter().map(String::as_str)).any(|s| s.contains("inventory"));
        let own_inventory = engine.get_packages().is_ok_and(|ps| ps.iter().any(|p| p == "data.inventory"));
        if reads_inventory && !own_inventory {
            engine
                .add_policy("paved-inventory.rego".into(), INVENTORY_MODULE.into())
                .map_err(|e| RegoError::of(&e, None))?;
        }
        let rule = format!("{package}.violation");
        // Analysed now, with an empty input: what fails here (an unknown builtin, a rule defined
        // twice, no `violation`) is the template's error, at load.
        engine.set_input(Rego::new_object());
        match engine.eval_rule(rule.clone()) {
            Ok(_) => {}
            Err(e) if e.to_string().contains("not a valid rule path") || e.to_string().contains("no rule") => {
                let package = package.strip_prefix("data.").unwrap_or(&package);
                let message = format!("the Rego of package `{package}` defines no `violation` rule");
                return Err(RegoError { lib: None, at: None, message });
            }
            Err(e) => return Err(RegoError::of(&e, None)),
        }
        Ok(RegoCheck { prepared: Mutex::new(engine), pool: Mutex::new(Vec::new()), rule, reads_inventory })
    }

    /// An analysed engine: one from the pool, or a copy of the first.
    fn take(&self) -> Option<regorus::Engine> {
        let pooled = self.pool.lock().ok()?.pop();
        pooled.or_else(|| self.prepared.lock().ok().map(|e| e.clone()))
    }

    /// Gatekeeper's input: the review, the constraint's parameters, and the inventory.
    fn input(review: &Review<'_>, params: Option<&Value>) -> Rego {
        let mut input = BTreeMap::new();
        input.insert(Rego::from("review"), review.review.clone());
        let parameters = params.map_or_else(Rego::new_object, |p| Rego::deserialize(p).unwrap_or(Rego::Undefined));
        input.insert(Rego::from("parameters"), parameters);
        if let Some(inventory) = review.inventory {
            input.insert(Rego::from(INVENTORY_KEY), inventory.clone());
        }
        Rego::from(input)
    }
}

/// What Gatekeeper's review of an object is made of.
pub(crate) struct Reviewed<'a> {
    /// The request as Kubernetes' admission CEL shapes it (kind, name, namespace, operation,
    /// userInfo, dryRun).
    pub request: &'a Value,
    /// Whether the object came in an AdmissionReview (the review then carries the request's
    /// operation and user; an object read from a file carries neither, as in Gatekeeper's audit).
    pub admission: bool,
    /// Whether the object is the pod a workload makes (reviewed as a `v1` Pod).
    pub pod: bool,
    pub object: Option<&'a Value>,
    pub old: Option<&'a Value>,
}

/// Gatekeeper's `input.review` of an object.
pub(crate) fn review(r: &Reviewed<'_>) -> Rego {
    let json = |v: &Value| Rego::deserialize(v).unwrap_or(Rego::Undefined);
    let mut out = BTreeMap::new();
    let keys: &[&str] = if r.admission {
        &["kind", "name", "namespace", "operation", "userInfo", "dryRun"]
    } else {
        &["kind", "name", "namespace"]
    };
    for key in keys {
        if let Some(v) = r.request.get(*key) {
            out.insert(Rego::from(*key), json(v));
        }
    }
    if r.pod {
        out.insert(Rego::from("kind"), json(&serde_json::json!({ "group": "", "version": "v1", "kind": "Pod" })));
    }
    for (key, value) in [("object", r.object), ("oldObject", r.old)] {
        if let Some(v) = value {
            out.insert(Rego::from(key), json(v));
        }
    }
    Rego::from(out)
}

impl Check for RegoCheck {
    fn is_rego(&self) -> bool {
        true
    }

    fn check<'v>(&'v self, input: &CheckInput<'_, 'v>) -> Result<Vec<Violation>, FindingError> {
        let Some(review) = input.review else {
            return Err(FindingError::new(ErrorKind::Rego, "no review was prepared for this Rego rule"));
        };
        if review.budget.is_some_and(crate::cel::Budget::is_stopped) {
            return Err(FindingError::new(ErrorKind::Deadline, "the evaluation was stopped before this Rego ran"));
        }
        let mut engine =
            self.take().ok_or_else(|| FindingError::new(ErrorKind::Rego, "the Rego engine is unavailable"))?;
        engine.set_input(RegoCheck::input(review, input.params));
        let result = engine.eval_rule(self.rule.clone());
        if let Ok(mut pool) = self.pool.lock() {
            pool.push(engine);
        }
        let set = result.map_err(|e| {
            let e = RegoError::of(&e, None);
            let text = match e.at {
                Some((line, column)) => format!("line {line}, column {column}: {}", e.message),
                None => e.message,
            };
            if text.contains("exceeded time limit") {
                let limit = TIME_LIMIT.as_secs();
                return FindingError::new(ErrorKind::Deadline, format!("the Rego ran past its time limit ({limit} s)"));
            }
            FindingError::new(ErrorKind::Rego, format!("the Rego failed: {text}"))
        })?;
        violations(&set)
    }
}

/// The members of the `violation` set, each a violation with its `msg` (and its `details` as
/// the detail); ordered as the set is, by value.
fn violations(set: &Rego) -> Result<Vec<Violation>, FindingError> {
    let members = match set {
        Rego::Undefined => return Ok(Vec::new()),
        Rego::Set(s) => s.iter().cloned().collect::<Vec<_>>(),
        other => {
            let shape = serde_json::to_string(other).unwrap_or_default();
            return Err(FindingError::new(ErrorKind::Rego, format!("`violation` is not a set but {shape}")));
        }
    };
    members
        .iter()
        .map(|m| {
            let json = serde_json::to_value(m).unwrap_or(Value::Null);
            let Some(msg) = json.get("msg").and_then(Value::as_str) else {
                let shape = serde_json::to_string(&json).unwrap_or_default();
                return Err(FindingError::new(
                    ErrorKind::Rego,
                    format!("a violation must be an object with a string `msg`, not {shape}"),
                ));
            };
            let mut v = Violation::at(String::new(), None);
            v.message = Some(msg.to_owned());
            v.detail = json.get("details").filter(|d| !d.is_null()).map(|d| d.to_string());
            Ok(v)
        })
        .collect()
}

/// `data.inventory` in Gatekeeper's layout, made from the inventory's objects the first time a
/// Rego check of an evaluation reads it.
#[derive(Default)]
pub(crate) struct Inventory(OnceLock<Rego>);

impl Inventory {
    pub(crate) fn get<'j>(&self, objects: impl FnOnce() -> Vec<&'j Value>) -> &Rego {
        self.0.get_or_init(|| {
            let mut layout = serde_json::Map::new();
            for object in objects() {
                let text = |p: &str| object.pointer(p).and_then(Value::as_str).unwrap_or_default();
                let (gv, kind, name, ns) =
                    (text("/apiVersion"), text("/kind"), text("/metadata/name"), text("/metadata/namespace"));
                let path: Vec<&str> =
                    if ns.is_empty() { vec!["cluster", gv, kind] } else { vec!["namespace", ns, gv, kind] };
                insert_at(&mut layout, &path, name, object);
            }
            for key in ["cluster", "namespace"] {
                layout.entry(key).or_insert_with(|| Value::Object(serde_json::Map::new()));
            }
            Rego::deserialize(&Value::Object(layout)).unwrap_or(Rego::Undefined)
        })
    }
}

/// Puts `object` under `path`, then `name`.
fn insert_at(map: &mut serde_json::Map<String, Value>, path: &[&str], name: &str, object: &Value) {
    match path.split_first() {
        None => {
            map.insert(name.to_owned(), object.clone());
        }
        Some((first, rest)) => {
            if let Value::Object(next) = map.entry(*first).or_insert_with(|| Value::Object(serde_json::Map::new())) {
                insert_at(next, rest, name, object);
            }
        }
    }
}

/// Rego's braces, as characters (in one place, so that no brace in a character literal stands
/// alone).
const BRACES: (char, char) = ('{', '}');

/// Rego's string quotes, double and raw (written as escapes, for the same line-counting tools).
const DOUBLE: char = '\u{22}';
const RAW: char = '\u{60}';

/// The source with two of OPA's forms rewritten where regorus' parser reads them otherwise,
/// lines kept: chained bodies (`head { A } { B }`, OPA's shorthand for defining the rule twice)
/// written out as `head { A } head { B }`; and a body line that starts with `(` kept from being
/// read as a call of the line before (a `;` ends that one, as OPA's newline does).
pub(crate) fn normalized(source: &str) -> std::borrow::Cow<'_, str> {
    let chars: Vec<(usize, char)> = source.char_indices().collect();
    // Where to insert what, in order.
    let mut inserts: Vec<(usize, String)> = Vec::new();
    // Open brackets, and whether each opening brace opens a body (not a value after `=`).
    let mut stack: Vec<(char, bool)> = Vec::new();
    // The statement being read at depth 0, and the brace of its first body.
    let (mut statement, mut body): (Option<usize>, Option<usize>) = (None, None);
    let mut line_start = true;
    let mut last = ' ';
    let mut i = 0;
    while let Some(&(at, c)) = chars.get(i) {
        if line_start && !c.is_whitespace() {
            line_start = false;
            if stack.is_empty() && c != '#' && c != BRACES.0 && !is_else(source, at) {
                (statement, body) = (Some(at), None);
            }
        }
        match c {
            '#' => i = skip_comment(&chars, i),
            c if c == DOUBLE || c == RAW => i = skip_string(&chars, i, c),
            c if c == '(' || c == '[' || c == BRACES.0 => {
                let opens_body = stack.is_empty() && c == BRACES.0 && !matches!(last, '=' | ',' | '(' | '[' | ':');
                if opens_body && body.is_none() {
                    body = Some(at);
                }
                stack.push((c, opens_body));
            }
            c if c == ')' || c == ']' || c == BRACES.1 => {
                let closed_body = stack.pop().is_some_and(|(_, b)| b);
                let next = next_code(&chars, i + 1).filter(|(_, c)| *c == BRACES.0);
                if let (true, Some((next, _)), Some(start), Some(open)) =
                    (closed_body && stack.is_empty(), next, statement, body)
                {
                    let head = source.get(start..open).unwrap_or_default().trim_end();
                    inserts.push((next, format!("{head} ")));
                }
            }
            '\n' => {
                line_start = true;
                if stack.last().is_some_and(|(b, _)| *b == BRACES.0)
                    && next_code(&chars, i + 1).is_some_and(|(_, c)| c == '(')
                {
                    inserts.extend(ended(source, at));
                }
            }
            _ => {}
        }
        if !c.is_whitespace() && c != '#' {
            last = c;
        }
        i += 1;
    }
    let mut edits: Vec<(usize, usize, String)> = inserts.into_iter().map(|(at, text)| (at, at, text)).collect();
    edits.extend(hoisted(source));
    applied(source, edits)
}

/// For a line `not f(a, x.y)`: the line with the arguments that are references bound first
/// (`__paved_not_N_1 := x.y; not f(a, __paved_not_N_1)`), as OPA rewrites it, so that a
/// reference that is undefined leaves the body undefined instead of making `not` true.
fn hoist_negated_arguments(line: &str, n: usize) -> Option<String> {
    if !line.is_ascii() || line.contains(['#', RAW]) {
        return None;
    }
    // Strings blanked, so commas and parentheses in them do not count; same offsets (ASCII).
    let code = code_of(line);
    let start = code.len() - code.trim_start().len();
    let call = code.get(start..)?.strip_prefix("not ")?.trim_start();
    let name_at = code.len() - call.len();
    let open = name_at + call.find('(')?;
    let close = start + code.trim().len() - 1;
    let (name, inner) = (line.get(name_at..open)?, code.get(open + 1..close)?);
    if code.get(close..=close) != Some(")") || inner.contains(['(', BRACES.0]) {
        return None;
    }
    let is_name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.');
    let is_ref = |s: &str| {
        let root = s.split(['.', '[']).next().unwrap_or_default();
        root.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && is_name(root)
            && s.len() > root.len()
            && s.chars().all(|c| c.is_alphanumeric() || "_.[]".contains(c))
    };
    if !is_name(name) {
        return None;
    }
    // The arguments, as written, split where the blanked text has its commas.
    let mut args = Vec::new();
    let mut from = open + 1;
    for (i, c) in inner.char_indices() {
        if c == ',' {
            args.push(line.get(from..open + 1 + i)?.trim());
            from = open + 2 + i;
        }
    }
    args.push(line.get(from..close)?.trim());
    if !args.iter().any(|a| is_ref(a)) {
        return None;
    }
    let mut binds = String::new();
    let mut passed = Vec::new();
    for (k, a) in args.iter().enumerate() {
        if is_ref(a) {
            let var = format!("__paved_not_{n}_{k}");
            binds.push_str(&format!("{var} := {a}; "));
            passed.push(var);
        } else {
            passed.push((*a).to_owned());
        }
    }
    let indent = line.get(..start).unwrap_or_default();
    Some(format!("{indent}{binds}not {name}({})", passed.join(", ")))
}

/// The lines `not f(x.y)` with their references bound first: what replaces each line.
fn hoisted(source: &str) -> Vec<(usize, usize, String)> {
    let mut edits = Vec::new();
    let mut at = 0;
    for (n, line) in source.split('\n').enumerate() {
        if let Some(hoisted) = hoist_negated_arguments(line, n) {
            edits.push((at, at + line.len(), hoisted));
        }
        at += line.len() + 1;
    }
    edits
}

/// `source` with each range replaced (an insertion replaces an empty one), in order.
fn applied(source: &str, mut edits: Vec<(usize, usize, String)>) -> std::borrow::Cow<'_, str> {
    edits.sort_by_key(|(start, end, _)| (*start, *end));
    if edits.is_empty() {
        return std::borrow::Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + 64);
    let mut from = 0;
    for (start, end, text) in edits {
        if start < from {
            continue;
        }
        out.push_str(source.get(from..start).unwrap_or_default());
        out.push_str(&text);
        from = end;
    }
    out.push_str(source.get(from..).unwrap_or_default());
    std::borrow::Cow::Owned(out)
}

/// A `;` to end the line that ends at `at`, when the next line starts with `(`: unless the line
/// is blank or ends in what takes an operand (then the `(` continues it).
fn ended(source: &str, at: usize) -> Option<(usize, String)> {
    let line = source.get(..at).unwrap_or_default().rsplit('\n').next().unwrap_or_default();
    let code = code_of(line);
    let code = code.trim_end();
    let open = code.ends_with([',', '(', '[', BRACES.0, '|', '=', '+', '-', '*', '/', '&', '<', '>', '!', ':']);
    (!code.trim().is_empty() && !open).then(|| (at, ";".to_owned()))
}

/// The index of the comment's last character.
fn skip_comment(chars: &[(usize, char)], mut i: usize) -> usize {
    while chars.get(i + 1).is_some_and(|(_, c)| *c != '\n') {
        i += 1;
    }
    i
}

/// The index of the string's closing quote.
fn skip_string(chars: &[(usize, char)], mut i: usize, quote: char) -> usize {
    i += 1;
    while let Some(&(_, d)) = chars.get(i) {
        if d == '\\' && quote == DOUBLE {
            i += 1;
        } else if d == quote || d == '\n' && quote == DOUBLE {
            break;
        }
        i += 1;
    }
    i
}

/// The next character that is not blank and not in a comment, from `i`.
fn next_code(chars: &[(usize, char)], mut i: usize) -> Option<(usize, char)> {
    while let Some(&(at, c)) = chars.get(i) {
        if c == '#' {
            while chars.get(i).is_some_and(|(_, c)| *c != '\n') {
                i += 1;
            }
            continue;
        }
        if !c.is_whitespace() {
            return Some((at, c));
        }
        i += 1;
    }
    None
}

/// Whether the text at `at` is an `else` that continues the rule before it.
fn is_else(source: &str, at: usize) -> bool {
    source
        .get(at..)
        .and_then(|rest| rest.strip_prefix("else"))
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// Refuses a builtin paved does not allow, named outside comments and strings: the line, and
/// why.
fn refused(source: &str) -> Result<(), (u32, String)> {
    for (n, line) in source.lines().enumerate() {
        let code = code_of(line);
        for (name, why) in REFUSED {
            let called = code.match_indices(name).any(|(at, _)| {
                let before = code[..at].chars().next_back();
                let after = code[at + name.len()..].trim_start();
                before.is_none_or(|c| !c.is_alphanumeric() && c != '_' && c != '.') && after.starts_with('(')
            });
            if called {
                let message = format!(
                    "`{name}` {why}, and paved's decisions do not depend on what is outside the request and the inventory"
                );
                return Err((u32::try_from(n + 1).unwrap_or(u32::MAX), message));
            }
        }
    }
    Ok(())
}

/// A line of Rego without its comment and with its strings blanked.
fn code_of(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in line.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == DOUBLE {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                out.push(' ');
            }
            None if c == '#' => break,
            None if c == DOUBLE || c == RAW => {
                quote = Some(c);
                out.push(' ');
            }
            None => out.push(c),
        }
    }
    out
}

/// An error's message, on one line.
fn first_line(e: &impl fmt::Display) -> String {
    e.to_string().lines().map(str::trim_end).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chained_bodies_and_parenthesised_lines_read_as_opa_reads_them() {
        let chained = "package p\n\nv[{\"msg\": m}] {\n  m := \"a\"\n} {\n  m := \"b\" # }\n}\n";
        assert_eq!(
            normalized(chained),
            "package p\n\nv[{\"msg\": m}] {\n  m := \"a\"\n} v[{\"msg\": m}] {\n  m := \"b\" # }\n}\n"
        );
        let object_head = "g(c) = {\"a\": 1} {\n  c\n}\n";
        assert_eq!(normalized(object_head), object_head);
        let chained_else = "f(x) = 1 {\n  x > 1\n} else = 2 {\n  true\n}\n";
        assert_eq!(normalized(chained_else), chained_else);
        let negated = "r {\n  not f(x, input.a.b, \"c\")\n  not g(x)\n}\n";
        assert_eq!(
            normalized(negated),
            "r {\n  __paved_not_1_1 := input.a.b; not f(x, __paved_not_1_1, \"c\")\n  not g(x)\n}\n"
        );
        let paren = "r {\n  input.x\n  (input.a - 1) >= input.x\n  f(1,\n    (2))\n}\n";
        assert_eq!(normalized(paren), "r {\n  input.x;\n  (input.a - 1) >= input.x\n  f(1,\n    (2))\n}\n");
    }

    #[test]
    fn refuses_the_network_outside_comments_and_strings() {
        assert!(refused("x := http.send({})").is_err());
        assert!(refused("# http.send(x)\nmsg := \"http.send(x)\"").is_ok());
        assert!(refused("y := my_http.send(1)").is_ok());
        assert_eq!(refused("\n  r := external_data({\"provider\": \"p\"})").unwrap_err().0, 2);
    }
}
