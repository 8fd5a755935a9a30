//! CEL: one environment for every expression, compile-time checks of what an expression refers
//! to, and the conversion of JSON into CEL values.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use cel::common::ast::{EntryExpr, Expr as Node, IdedEntryExpr};
use cel::common::types::{CelBool, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString, CelUInt};
use cel::common::value::Val;
use cel::IdedExpr;
use cel::{Env, Program, Value};

/// The variables an expression may use, in policies.
pub(crate) const POLICY_VARIABLES: &[&str] =
    &["object", "oldObject", "request", "params", "namespaceObject", "item", "variables"];

/// The shared CEL environment: the standard library plus the strings, lists and math
/// extensions, and Kubernetes' `sets` library (Kubernetes' CEL has the same).
pub(crate) static ENV: LazyLock<Arc<Env>> = LazyLock::new(|| {
    let mut env = Env::stdlib().with_optional_support(true);
    // Registering the built-in extensions into a fresh environment cannot conflict; if a future
    // version made them conflict, expressions using them would fail to compile with a clear
    // message rather than the engine failing to start.
    let _ = env.add_extension(cel::extensions::strings);
    let _ = env.add_extension(cel::extensions::lists);
    let _ = env.add_extension(cel::extensions::math);
    let _ = env.add_extension(super::sets::extension);
    Arc::new(env)
});

/// The namespaces of the environment's functions (`math.abs(x)`, `sets.contains(a, b)`): a call
/// on one of these names is a function, not a variable's method.
const NAMESPACES: &[&str] = &["lists", "math", "sets", "strings"];

/// A compiled expression and its source text.
#[derive(Debug)]
pub(crate) struct Expr {
    pub source: String,
    pub program: Program,
}

/// Compiles `source`, checking it refers only to `allowed` variables.
pub(crate) fn compile(source: &str, allowed: &[&str]) -> Result<Expr, (String, Option<String>)> {
    let program = ENV.compile(source).map_err(|e| {
        let first = e.errors.first().map(|p| p.msg.clone()).unwrap_or_else(|| e.to_string());
        // cel's rendering ends with the expression and a caret under the problem: keep that part.
        let text = e.to_string();
        let snippet: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
        (format!("invalid CEL expression: {first}"), Some(snippet.join("\n")).filter(|s| !s.is_empty()))
    })?;
    let mut unknown = Vec::new();
    free_variables(program.expression(), &mut Vec::new(), &mut unknown);
    unknown.retain(|v| !allowed.contains(&v.as_str()));
    unknown.sort_unstable();
    if let Some(v) = unknown.first() {
        let help = match crate::error::did_you_mean(v, allowed.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the variables are: {}", allowed.join(", ")),
        };
        return Err((format!("CEL expression uses unknown variable `{v}`"), Some(help)));
    }
    Ok(Expr { source: source.to_owned(), program })
}

/// Collects the names an expression reads that no comprehension inside it binds.
fn free_variables(e: &IdedExpr, bound: &mut Vec<String>, out: &mut Vec<String>) {
    match &e.expr {
        Node::Ident(name) => {
            if !name.starts_with('@') && !bound.contains(name) {
                out.push(name.clone());
            }
        }
        Node::Call(call) => {
            match call.target.as_deref().map(|t| &t.expr) {
                Some(Node::Ident(ns)) if NAMESPACES.contains(&ns.as_str()) && !bound.contains(ns) => {}
                _ => call.target.iter().for_each(|t| free_variables(t, bound, out)),
            }
            for a in &call.args {
                free_variables(a, bound, out);
            }
        }
        Node::Comprehension(c) => {
            free_variables(&c.iter_range, bound, out);
            free_variables(&c.accu_init, bound, out);
            let before = bound.len();
            bound.push(c.iter_var.clone());
            bound.extend(c.iter_var2.clone());
            bound.push(c.accu_var.clone());
            for part in [&c.loop_cond, &c.loop_step, &c.result] {
                free_variables(part, bound, out);
            }
            bound.truncate(before);
        }
        Node::List(l) => l.elements.iter().for_each(|x| free_variables(x, bound, out)),
        Node::Map(m) => m.entries.iter().for_each(|x| entry(x, bound, out)),
        Node::Struct(s) => s.entries.iter().for_each(|x| entry(x, bound, out)),
        Node::Select(s) => free_variables(&s.operand, bound, out),
        Node::Literal(_) | Node::Unspecified => {}
    }
}

fn entry(e: &IdedEntryExpr, bound: &mut Vec<String>, out: &mut Vec<String>) {
    match &e.expr {
        EntryExpr::StructField(f) => free_variables(&f.value, bound, out),
        EntryExpr::MapEntry(m) => {
            free_variables(&m.key, bound, out);
            free_variables(&m.value, bound, out);
        }
    }
}

/// The chains of fields an expression selects from the variable `root` (`inputs.ports[0].name`
/// gives `["ports"]`; `inputs.db.host` and `inputs.?db.?host` give `["db", "host"]`), outermost
/// first, for checking them against a schema. Chains through an index stop there.
pub(crate) fn field_chains(e: &Expr, root: &str) -> Vec<Vec<String>> {
    fn chain(e: &IdedExpr, root: &str) -> Option<Vec<String>> {
        match &e.expr {
            Node::Ident(name) if name == root => Some(Vec::new()),
            Node::Select(s) => chain(&s.operand, root).map(|mut c| {
                c.push(s.field.clone());
                c
            }),
            Node::Call(c) if c.func_name == cel::common::ast::operators::OPT_SELECT => {
                let [operand, field] = c.args.as_slice() else { return None };
                let Node::Literal(cel::common::ast::LiteralValue::String(name)) = &field.expr else { return None };
                chain(operand, root).map(|mut c| {
                    c.push(name.to_string());
                    c
                })
            }
            _ => None,
        }
    }
    fn walk(e: &IdedExpr, root: &str, out: &mut Vec<Vec<String>>) {
        if let Some(c) = chain(e, root) {
            if !c.is_empty() && !out.iter().any(|o| o.starts_with(&c)) {
                out.retain(|o| !c.starts_with(o));
                out.push(c);
            }
            return;
        }
        match &e.expr {
            Node::Call(call) => {
                call.target.iter().for_each(|t| walk(t, root, out));
                call.args.iter().for_each(|a| walk(a, root, out));
            }
            Node::Comprehension(c) => {
                for part in [&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result] {
                    walk(part, root, out);
                }
            }
            Node::List(l) => l.elements.iter().for_each(|x| walk(x, root, out)),
            Node::Map(m) => m.entries.iter().for_each(|x| {
                if let EntryExpr::MapEntry(me) = &x.expr {
                    walk(&me.key, root, out);
                    walk(&me.value, root, out);
                }
            }),
            Node::Select(s) => walk(&s.operand, root, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(e.program.expression(), root, &mut out);
    out
}

/// Converts JSON into a CEL value that borrows its strings from `v`: one allocation per node,
/// no copy of any text.
pub(crate) fn to_val<'v>(v: &'v serde_json::Value) -> Box<dyn Val + 'v> {
    match v {
        serde_json::Value::Null => Box::new(CelNull),
        serde_json::Value::Bool(b) => Box::new(CelBool::from(*b)),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Box::new(CelInt::from(i)),
            (None, Some(u)) => Box::new(CelUInt::from(u)),
            _ => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
        },
        serde_json::Value::String(s) => Box::new(CelString::from(s.as_str())),
        serde_json::Value::Array(a) => Box::new(CelList::from(a.iter().map(to_val).collect::<Vec<_>>())),
        serde_json::Value::Object(o) => {
            let map: HashMap<CelMapKey<'v>, Box<dyn Val + 'v>> =
                o.iter().map(|(k, v)| (CelMapKey::from(k.as_str()), to_val(v))).collect();
            Box::new(CelMap::from(map))
        }
    }
}

/// Renders a CEL value for a message: strings as they are, everything else as CEL would print it.
pub(crate) fn to_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_variables_are_named() {
        let (msg, help) = compile("objet.spec.x == 1", POLICY_VARIABLES).unwrap_err();
        assert!(msg.contains("`objet`"), "{msg}");
        assert_eq!(help.as_deref(), Some("did you mean `object`?"));
    }

    #[test]
    fn syntax_errors_are_reported() {
        let (msg, _) = compile("object.spec. == ", POLICY_VARIABLES).unwrap_err();
        assert!(msg.starts_with("invalid CEL expression"), "{msg}");
    }

    #[test]
    fn comprehension_variables_are_bound() {
        assert!(
            compile("object.spec.containers.all(c, has(c.name) && [1].exists(x, x == 1))", POLICY_VARIABLES).is_ok()
        );
        assert!(compile("object.spec.containers.all(c, d.name == 'x')", POLICY_VARIABLES).is_err());
    }

    #[test]
    fn optional_fields() {
        let e = compile("{'a': {}}.?a.?b.orValue(7) == 7", &[]).unwrap();
        let ctx = cel::Context::with_env(ENV.clone());
        assert_eq!(e.program.execute(&ctx), Ok(Value::Bool(true)), "{:?}", e.program.execute(&ctx));
    }

    #[test]
    fn extensions_are_available() {
        let e = compile(
            "'A'.lowerAscii() == 'a' && [1,2].size() == 2 && math.abs(-1) == 1 && lists.range(2) == [0, 1] \
             && sets.contains([1], [1])",
            &[],
        )
        .unwrap();
        let ctx = cel::Context::with_env(ENV.clone());
        assert_eq!(e.program.execute(&ctx), Ok(Value::Bool(true)));
    }
}
