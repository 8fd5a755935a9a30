//! The shape of the code: functions a reader can hold (at most 80 lines), files of one concept
//! (at most 800 lines, tests aside), and every Kubernetes fact in one home (`core/src/k8s/`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FUNCTION_LINES: usize = 80;
const FILE_LINES: usize = 800;

/// Functions still over the limit, each with the most lines it may have until it is split. The
/// list only shrinks: a function that grows past its ceiling, a new long function and an entry
/// that is no longer long all fail.
const LONG_FUNCTIONS: &[(&str, usize)] = &[];

/// Files still over the limit, with their ceilings, on the same terms.
const BIG_FILES: &[(&str, usize)] = &[];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// Every Rust source of the workspace's crates (not their tests), relative to the workspace.
fn sources() -> Vec<String> {
    let root = workspace();
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = ["core/src", "cli/src", "webhook/src", "oci/src", "benches/src", "bindings"]
        .iter()
        .map(|d| root.join(d))
        .collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && !["target", "node_modules", "tests"].contains(&name.as_str()) {
                stack.push(path);
            } else if name.ends_with(".rs") && path.components().any(|c| c.as_os_str() == "src") {
                out.push(path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// The lines of a file before its tests module, with string and character literals blanked so
/// that braces inside them do not count.
fn code_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut in_string: Option<usize> = None; // the number of `#` of a raw string, or usize::MAX for "..."
    let all: Vec<&str> = text.lines().collect();
    for (i, line) in all.iter().enumerate() {
        if line.starts_with("#[cfg(test)]") && all.get(i + 1).is_some_and(|l| l.starts_with("mod ")) {
            break;
        }
        let chars: Vec<char> = line.chars().collect();
        let mut out = String::with_capacity(line.len());
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            if let Some(hashes) = in_string {
                if hashes == usize::MAX && c == '\\' {
                    j += 2;
                    continue;
                }
                let closes =
                    c == '"' && (hashes == usize::MAX || (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')));
                if closes {
                    in_string = None;
                    j += 1 + if hashes == usize::MAX { 0 } else { hashes };
                    out.push('"');
                }
                j += usize::from(!closes);
                continue;
            }
            match c {
                '/' if chars.get(j + 1) == Some(&'/') => break,
                '"' => {
                    in_string = Some(usize::MAX);
                    out.push('"');
                }
                'r' if matches!(chars.get(j + 1), Some('#' | '"'))
                    && (j == 0 || !(chars[j - 1].is_alphanumeric() || chars[j - 1] == '_')) =>
                {
                    let hashes = chars[j + 1..].iter().take_while(|c| **c == '#').count();
                    if chars.get(j + 1 + hashes) == Some(&'"') {
                        in_string = Some(hashes);
                        out.push('"');
                        j += 1 + hashes;
                    } else {
                        out.push(c);
                    }
                }
                '\'' => {
                    // A character literal ('x', '\n', '\''), not a lifetime ('a).
                    let len = if chars.get(j + 1) == Some(&'\\') {
                        chars[j + 2..].iter().position(|c| *c == '\'').map(|p| p + 3)
                    } else {
                        (chars.get(j + 2) == Some(&'\'')).then_some(3)
                    };
                    match len {
                        Some(n) => {
                            out.push_str("' '");
                            j += n - 1;
                        }
                        None => out.push(c),
                    }
                }
                _ => out.push(c),
            }
            j += 1;
        }
        lines.push(out);
    }
    lines
}

/// `file:function` -> lines, for every function of the file.
fn functions(file: &str, lines: &[String]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let words: Vec<&str> =
            lines[i].split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
        let start = words.iter().take_while(|w| ["pub", "crate", "super", "const", "async", "unsafe"].contains(w));
        let at = start.count();
        if words.get(at) == Some(&"fn") && lines[i].trim_start().starts_with(|c: char| c.is_ascii_lowercase()) {
            let name = words.get(at + 1).copied().unwrap_or_default();
            let (mut depth, mut j, mut seen) = (0i64, i, false);
            while j < lines.len() {
                let l = &lines[j];
                depth += l.matches('{').count() as i64 - l.matches('}').count() as i64;
                seen |= l.contains('{');
                if (seen && depth <= 0) || (!seen && l.trim_end().ends_with(';')) {
                    break;
                }
                j += 1;
            }
            out.push((format!("{file}:{name}"), j - i + 1));
            i = j;
        }
        i += 1;
    }
    out
}

/// What is over `limit` and what the allowance says, as failures.
fn check(found: BTreeMap<String, usize>, allowed: &[(&str, usize)], limit: usize, what: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, lines) in found.iter().filter(|(_, n)| **n > limit) {
        match allowed.iter().find(|(a, _)| a == name) {
            None => {
                problems.push(format!("{name} is a {what} of {lines} lines (at most {limit}): split it by meaning"))
            }
            Some((_, most)) if lines > most => {
                problems.push(format!("{name} grew to {lines} lines; it was to shrink from {most}: split it"))
            }
            Some(_) => {}
        }
    }
    for (name, _) in allowed {
        if found.get(*name).is_none_or(|n| *n <= limit) {
            problems.push(format!("{name} is no longer a long {what}: take it off the list"));
        }
    }
    problems
}

#[test]
fn functions_and_files_are_short_enough_to_hold() {
    let root = workspace();
    let (mut functions_found, mut files_found) = (BTreeMap::new(), BTreeMap::new());
    for file in sources() {
        let lines = code_lines(&std::fs::read_to_string(root.join(&file)).unwrap());
        files_found.insert(file.clone(), lines.len());
        for (name, n) in functions(&file, &lines) {
            let longest = functions_found.entry(name).or_insert(0);
            *longest = n.max(*longest);
        }
    }
    assert!(files_found.len() > 80, "{files_found:?}");
    let mut problems = check(functions_found, LONG_FUNCTIONS, FUNCTION_LINES, "function");
    problems.extend(check(files_found, BIG_FILES, FILE_LINES, "file"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scanner_counts_a_function_and_ignores_braces_in_literals() {
    let text = "pub(crate) fn f() {\n    let s = \"{{{\";\n    let c = '{';\n    let r = r#\"}\"#;\n}\nfn g<'a>(x: &'a str) -> &'a str {\n    x\n}\n";
    let lines = code_lines(text);
    assert_eq!(functions("x.rs", &lines), [("x.rs:f".to_owned(), 5), ("x.rs:g".to_owned(), 3)]);
}

/// Facts about Kubernetes objects that must have one home: where pod templates sit, what the
/// API server manages, defaults and will not change in place, and how a quantity reads.
#[test]
fn kubernetes_facts_live_only_in_k8s() {
    let signs = [
        ("a pod-template path", "\"/spec/jobTemplate/spec/template"),
        ("a pod-template path", "\"/spec/template/spec\""),
        ("a server-set field", "\"/metadata/managedFields\""),
        ("a server-set field", "\"/metadata/resourceVersion\""),
        ("a server-assigned field", "\"/spec/clusterIPs\""),
        ("a defaulted field", "terminationMessagePath"),
        ("a defaulted field", "\"/spec/revisionHistoryLimit\""),
        ("an immutable field", "\"/roleRef\""),
        ("a quantity suffix", "\"Mi\""),
        ("a quantity suffix", "\"Ki\""),
    ];
    let root = workspace();
    let mut found = Vec::new();
    for file in sources().iter().filter(|f| f.starts_with("core/src/") && !f.starts_with("core/src/k8s/")) {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let code = text.split("#[cfg(test)]\nmod ").next().unwrap_or_default();
        for (what, sign) in signs {
            if let Some(line) = code.lines().position(|l| l.contains(sign) && !l.trim_start().starts_with("//")) {
                found.push(format!("{file}:{}: {what} ({sign}) outside k8s/", line + 1));
            }
        }
    }
    assert!(found.is_empty(), "ask crate::k8s instead:\n{}", found.join("\n"));
}
