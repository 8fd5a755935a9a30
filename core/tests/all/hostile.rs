//! Hostile input is a clean error: no crash, no unbounded memory.

use paved::{Bundle, Error, Resource};

fn message(r: Result<Vec<Resource>, Error>) -> String {
    match r {
        Err(Error::Invalid(d)) => d.to_string(),
        Err(e) => panic!("unexpected error kind: {e}"),
        Ok(_) => panic!("hostile input was accepted"),
    }
}

#[test]
fn alias_bomb() {
    // "billion laughs": 10 levels of 10 aliases each expand to 10^10 nodes.
    let mut text = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = format!("*l{}", i - 1);
        text.push_str(&format!("l{i}: &l{i} [{}]\n", [p.as_str(); 10].join(", ")));
    }
    let e = message(Resource::from_str("bomb.yaml", &text));
    assert!(e.contains("alias bomb"), "{e}");
    assert!(e.starts_with("bomb.yaml:"), "{e}");
}

#[test]
fn deep_nesting() {
    let text = format!("apiVersion: v1\nkind: ConfigMap\ndata: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let e = message(Resource::from_str("deep.yaml", &text));
    assert!(e.starts_with("deep.yaml:3:"), "{e}");
    let json = format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"data\": {}1{}}}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    let e = message(Resource::from_str("deep.json", &json));
    assert!(e.starts_with("deep.json:1:"), "{e}");
}

#[test]
fn non_utf8() {
    let bytes = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \xff\xfe}\n";
    let e = message(Resource::from_bytes("latin1.yaml", bytes));
    assert!(e.starts_with("latin1.yaml:3:18:") && e.contains("not valid UTF-8"), "{e}");
}

#[test]
fn duplicate_keys() {
    let e =
        message(Resource::from_str("dup.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nkind: Secret\n"));
    assert!(e.starts_with("dup.yaml:4:") && e.contains("duplicate key `kind`"), "{e}");
    let e =
        Bundle::from_str("dup.yaml", "apiVersion: paved.dev/v1\napiVersion: paved.dev/v1\n").unwrap_err().to_string();
    assert!(e.contains("duplicate key"), "{e}");
}

#[test]
fn not_a_mapping_and_no_kind() {
    let e = message(Resource::from_str("list.yaml", "- a\n- b\n"));
    assert!(e.contains("must be a mapping"), "{e}");
    let e = message(Resource::from_str("nokind.yaml", "apiVersion: v1\nmetadata: {name: a}\n"));
    assert!(e.contains("has no `kind`"), "{e}");
}

#[test]
fn list_objects_are_unpacked_with_their_lines() {
    let text = "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {name: a}\n  - apiVersion: v1\n    kind: Secret\n    metadata: {name: b}\n";
    let rs = Resource::from_str("list.yaml", text).unwrap();
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[1].identity().kind, "Secret");
    assert_eq!(rs[1].source_of("/metadata/name").map(|s| s.line), Some(9));
}

#[test]
fn garbage_bytes_do_not_crash() {
    // A few shapes of nonsense; each must be an error or a clean parse, never a panic.
    for text in ["{{{{", "]]]", "? ? ?", "a: &x\nb: *y\n", "!!binary AAAA", "- !!int abc", "a: .inf", "\t- x"] {
        let _ = Resource::from_str("junk.yaml", text);
        let _ = Bundle::from_str("junk.yaml", text);
    }
}
