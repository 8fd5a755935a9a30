//! Writing JSON values as block-style YAML that reads back to the same value, here and in
//! Kubernetes' YAML 1.1 parser (`yes`, `on`, `0755` and friends are quoted).

use serde_json::Value;

/// `value` as a YAML document (no `---`), ending in a newline. Map order is kept.
pub(crate) fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => seq(&mut out, a, 0),
        v => {
            out.push_str(&inline(v));
            out.push('\n');
        }
    }
    out
}

/// The longest key written as `key: value`. YAML readers (go-yaml as well) look no further than
/// 1024 characters for the `:` of a key; a longer one is written as an explicit key (`? key`).
const MAX_SIMPLE_KEY: usize = 1000;

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        let key = scalar(k);
        if key.len() > MAX_SIMPLE_KEY {
            out.push_str("? ");
            out.push_str(&key);
            out.push('\n');
            pad(out, indent);
        } else {
            out.push_str(&key);
        }
        out.push(':');
        value_after(out, v, indent);
    }
}

fn seq(out: &mut String, a: &[Value], indent: usize) {
    for (i, v) in a.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => map(out, m, indent + 2),
            Value::Array(inner) if !inner.is_empty() => seq(out, inner, indent + 2),
            v => {
                out.push_str(&block_or_inline(v, indent + 2));
                out.push('\n');
            }
        }
    }
}

/// What follows `key:`: a nested block on the next lines, or a scalar on the same line.
fn value_after(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            pad(out, indent + 2);
            map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            pad(out, indent + 2);
            seq(out, a, indent + 2);
        }
        v => {
            out.push(' ');
            out.push_str(&block_or_inline(v, indent + 2));
            out.push('\n');
        }
    }
}

/// A multi-line string as a literal block (`|`), anything else inline.
fn block_or_inline(v: &Value, indent: usize) -> String {
    if let Value::String(s) = v {
        let body = s.strip_suffix('\n').unwrap_or(s);
        let literal = s.contains('\n')
            && !body.is_empty()
            && !body.ends_with('\n')
            && !body.split('\n').find(|l| !l.is_empty()).is_some_and(|l| l.starts_with([' ', '\t']))
            && body.lines().all(|l| !l.ends_with([' ', '\t']))
            && body.chars().all(|c| c == '\n' || !c.is_control());
        if literal {
            let mut out = String::from(if s.ends_with('\n') { "|" } else { "|-" });
            for line in body.split('\n') {
                out.push('\n');
                if !line.is_empty() {
                    out.push_str(&" ".repeat(indent));
                    out.push_str(line);
                }
            }
            return out;
        }
    }
    inline(v)
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string as a plain scalar when that reads back as the same string in YAML 1.2 and 1.1,
/// else double-quoted (JSON's escapes are YAML's).
fn scalar(s: &str) -> String {
    if plain_is_safe(s) {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

fn plain_is_safe(s: &str) -> bool {
    const YAML11: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"];
    let Some(first) = s.chars().next() else {
        return false;
    };
    // Anything that starts like a number and could be one in YAML 1.1 (`0755`, `1_000`, `12:30`,
    // `1e3`, dates) is quoted; `100m` and `64Mi` are not.
    let numeric = first.is_ascii_digit() && s.chars().all(|c| c.is_ascii_hexdigit() || "_:.+-xXoO".contains(c));
    !(numeric
        || "-?:,[]{}#&*!|>'\"%@`.+ \t".contains(first)
        || s.ends_with([' ', '\t', ':'])
        || s.contains(": ")
        || s.contains(" #")
        || s.chars().any(|c| c.is_control())
        || YAML11.contains(&s.to_ascii_lowercase().as_str())
        || super::yaml::plain(s) != Some(Value::String(s.to_owned()))
        || super::yaml::plain_k8s(s) != Ok(Value::String(s.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// The text read back, by paved's own reader and as Kubernetes' tools read it: both must
    /// give the same value.
    fn back(text: &str) -> Value {
        use crate::load::{parse_documents_within, yaml::AliasBudget, Schema};
        let mut docs = parse_documents_within(text, Schema::Core, &AliasBudget::default()).unwrap();
        let k8s = parse_documents_within(text, Schema::Kubernetes, &AliasBudget::default()).unwrap();
        assert_eq!(docs.len(), 1, "{text}");
        assert_eq!(k8s.first().map(|d| &d.value), docs.first().map(|d| &d.value), "{text}");
        docs.remove(0).value
    }

    /// Found by the `load` fuzz target: a key whose quoted form passed 1024 characters did not
    /// read back.
    #[test]
    fn long_keys_read_back() {
        let long = format!("meta{}{}", "\u{15}".repeat(300), "F".repeat(200));
        let v = json!({"apiVersion": "v1", long.clone(): "volume2", "nested": {long.clone(): {"a": [1, {long: 2}]}}});
        let text = to_yaml(&v);
        assert!(text.contains("? \"meta\\u0015"), "{text}");
        assert_eq!(back(&text), v);
    }

    #[test]
    fn reads_back_and_looks_like_kubectl() {
        let v = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "x", "labels": {} , "annotations": { "a": "yes", "b": "0755", "c": "key: value" } },
            "data": { "script": "echo hi\nexit 0\n", "n": 3, "f": 1.5, "e": "", "list": [1, [2, 3], { "k": null }, []] },
        });
        let text = to_yaml(&v);
        assert_eq!(back(&text), v);
        assert!(text.contains("  script: |\n    echo hi\n    exit 0\n"), "{text}");
        assert!(text.contains("a: \"yes\""), "{text}");
        assert_eq!(
            to_yaml(&json!({"cpu": "100m", "v": "1.4.2", "d": "2026-01-01", "o": "0755"})),
            "cpu: 100m\nv: \"1.4.2\"\nd: \"2026-01-01\"\no: \"0755\"\n"
        );
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| json!(i)),
            "\\PC{0,12}".prop_map(Value::String),
            "[a-z0-9 :#\\-\n]{0,10}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z0-9:. -]{0,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn round_trips(v in value()) {
            // Documents are mappings (an empty or null document is skipped when read).
            let doc = json!({ "v": v, "list": [v] });
            prop_assert_eq!(back(&to_yaml(&doc)), doc);
        }
    }
}
