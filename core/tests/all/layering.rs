//! The core's stages depend one way, following the data flow (docs/ARCHITECTURE.md): a module
//! uses only the stages below it, and no file reaches, directly or through others, back into
//! itself. Paths are resolved to the file that defines what they name, so `crate::Report` is a
//! use of `report/`, not of the crate root.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The stages, bottom first. A module may use only those before it.
const STAGES: &[&[&str]] = &[
    &["error"],
    &["load"],
    &["k8s"],
    &["model"],
    &["cel"],
    &["plugin"],
    &["report"],
    &["compile"],
    &["engine"],
    &["golden", "testing"],
];

/// One source file: its module path (`engine::resource`), what it defines at its top level,
/// the child modules it declares, and its code with comments and tests left out.
struct File {
    module: Vec<String>,
    defines: BTreeSet<String>,
    children: BTreeSet<String>,
    code: String,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn files() -> BTreeMap<String, File> {
    let src = src();
    let mut out = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            let mut module: Vec<String> = rel.trim_end_matches(".rs").split('/').map(str::to_owned).collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            out.insert(rel, parse(module, &text));
        }
    }
    out
}

fn parse(module: Vec<String>, text: &str) -> File {
    // Tests may use anything; comments (doc links among them) name modules without using them.
    let code = text.split("#[cfg(test)]\nmod ").next().unwrap_or_default();
    let code: String = code
        .lines()
        .map(|line| if line.trim_start().starts_with("//") { "" } else { line })
        .flat_map(|line| [line, "\n"])
        .collect();
    // Inside an inline `mod x { ... }`, `super::` is the file itself.
    let (mut depth, mut inline) = (0usize, Vec::new());
    let code: String = code
        .lines()
        .map(|line| {
            let opens = line.trim_start().trim_start_matches("pub(crate) ").starts_with("mod ") && line.ends_with('{');
            let out = if inline.is_empty() { line.to_owned() } else { line.replace("super::", "self::") };
            if opens {
                inline.push(depth);
            }
            depth = (depth + line.matches('{').count()).saturating_sub(line.matches('}').count());
            while inline.last().is_some_and(|d| depth <= *d) {
                inline.pop();
            }
            out + "\n"
        })
        .collect();
    let mut defines = BTreeSet::new();
    let mut children = BTreeSet::new();
    for line in code.lines().filter(|l| !l.starts_with(char::is_whitespace)) {
        let words: Vec<&str> =
            line.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
        let mut i = 0;
        while matches!(words.get(i), Some(&("pub" | "crate" | "super" | "in" | "async" | "unsafe"))) {
            i += 1;
        }
        if words.get(i..i + 2) == Some(&["const", "fn"]) {
            i += 1;
        }
        if let (Some(&keyword), Some(&name)) = (words.get(i), words.get(i + 1)) {
            if ["struct", "enum", "trait", "type", "fn", "const", "static", "mod", "union"].contains(&keyword) {
                if keyword == "mod" {
                    children.insert(name.to_owned());
                }
                defines.insert(name.to_owned());
            }
        }
    }
    File { module, defines, children, code }
}

/// The paths a file's code names: the leaves of its `use` trees and the `crate::`, `super::`
/// and child-module paths written inline, each as segments.
fn paths(file: &File) -> Vec<Vec<String>> {
    // A module's re-exports of its own parts are its table of contents, not uses.
    let mut out = uses(file, false);
    let code: String =
        file.code.lines().map(|l| if is_use(l) { "" } else { l }).flat_map(|line| [line, "\n"]).collect();
    let code = &code;
    let roots: Vec<String> =
        ["crate", "super", "self"].iter().map(|s| s.to_string()).chain(file.children.iter().cloned()).collect();
    let bytes = code.as_bytes();
    for root in &roots {
        for (i, _) in code.match_indices(&format!("{root}::")) {
            if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_' || bytes[i - 1] == b':') {
                continue;
            }
            let path: String =
                code[i..].chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            out.push(path.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect());
        }
    }
    out
}

/// The leaves of a file's `use` items.
fn uses(file: &File, reexports_of_parts: bool) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let code = &file.code;
    // `use` items start a line (after `pub`, `pub(crate)`) and run to their `;`.
    let mut at = 0;
    for line in code.lines() {
        let start = at;
        at += line.len() + 1;
        let trimmed = line.trim_start();
        let reexport = trimmed.starts_with("pub");
        if is_use(line) {
            let from = start + line.len() - trimmed.len();
            let text = &code[from..];
            let text = &text[text.find("use ").unwrap_or(0) + 4..];
            let mut leaves = Vec::new();
            expand(&text[..text.find(';').unwrap_or(text.len())], &mut Vec::new(), &mut leaves);
            let own_part = |p: &Vec<String>| p.first().is_some_and(|s| file.children.contains(s));
            out.extend(leaves.into_iter().filter(|p| reexports_of_parts || !reexport || !own_part(p)));
        }
    }
    out
}

fn is_use(line: &str) -> bool {
    let trimmed = line.trim_start();
    ["use ", "pub use ", "pub(crate) use ", "pub(super) use "].iter().any(|p| trimmed.starts_with(p))
}

/// The leaves of a `use` tree such as `crate::{a, b::{c, D}}`.
fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head: Vec<String> =
            tree[..open].split("::").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
        let close = tree.rfind('}').filter(|c| *c > open).unwrap_or(tree.len());
        let inner = &tree[open + 1..close];
        let n = prefix.len();
        prefix.extend(head);
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..i], prefix, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], prefix, out);
        prefix.truncate(n);
    } else if !tree.is_empty() {
        let tree = tree.split(" as ").next().unwrap_or(tree);
        let mut path = prefix.clone();
        path.extend(tree.split("::").map(str::trim).filter(|s| !s.is_empty() && *s != "self").map(str::to_owned));
        out.push(path);
    }
}

/// The file a path names, if it names something of this crate.
fn resolve(files: &BTreeMap<String, File>, from: &File, path: &[String]) -> Option<String> {
    resolve_from(files, from, path, 0)
}

fn resolve_from(files: &BTreeMap<String, File>, from: &File, path: &[String], depth: usize) -> Option<String> {
    let by_module: BTreeMap<&[String], &String> = files.iter().map(|(k, f)| (f.module.as_slice(), k)).collect();
    let mut module: Vec<String> = match path.first().map(String::as_str)? {
        "crate" => Vec::new(),
        "super" => from.module[..from.module.len().checked_sub(1)?].to_vec(),
        "self" => from.module.clone(),
        first if from.children.contains(first) => from.module.clone(),
        _ => return None,
    };
    let mut rest = path.iter().skip(usize::from(matches!(path[0].as_str(), "crate" | "super" | "self")));
    let mut item = None;
    for seg in rest.by_ref() {
        if seg == "super" {
            module.pop();
            continue;
        }
        let mut next = module.clone();
        next.push(seg.clone());
        if by_module.contains_key(next.as_slice()) {
            module = next;
        } else {
            item = Some(seg.clone());
            break;
        }
    }
    let Some(item) = item else { return by_module.get(module.as_slice()).map(|s| s.to_string()) };
    // Defined in the module's own file, in one file below it, or (through re-exports) in one
    // file anywhere.
    let defining = |under: &[String]| -> Vec<&String> {
        files.iter().filter(|(_, f)| f.module.starts_with(under) && f.defines.contains(&item)).map(|(k, _)| k).collect()
    };
    if let Some(own) = by_module.get(module.as_slice()) {
        let file = &files[*own];
        if file.defines.contains(&item) {
            return Some(own.to_string());
        }
        // Imported or re-exported there: follow the `use` (a few steps at most).
        if depth < 4 {
            let through = uses(file, true).into_iter().find(|p| p.last() == Some(&item));
            if let Some(to) = through.and_then(|p| resolve_from(files, file, &p, depth + 1)) {
                return Some(to);
            }
        }
    }
    for under in [module.as_slice(), &[]] {
        if let [one] = defining(under).as_slice() {
            return Some(one.to_string());
        }
    }
    by_module.get(module.as_slice()).map(|s| s.to_string())
}

/// File -> the files it uses.
fn file_graph() -> (BTreeMap<String, File>, BTreeMap<String, BTreeSet<String>>) {
    let files = files();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, file) in &files {
        let deps = graph.entry(name.clone()).or_default();
        for path in paths(file) {
            if let Some(to) = resolve(&files, file, &path) {
                if &to != name {
                    deps.insert(to);
                }
            }
        }
    }
    (files, graph)
}

/// The top-level module of a file: `engine` for `engine/run.rs`, `lib` for the crate root.
fn stage_of(files: &BTreeMap<String, File>, file: &str) -> String {
    files[file].module.first().cloned().unwrap_or_else(|| "lib".to_owned())
}

fn module_graph() -> BTreeMap<String, BTreeSet<(String, String, String)>> {
    let (files, graph) = file_graph();
    let mut out: BTreeMap<String, BTreeSet<(String, String, String)>> = BTreeMap::new();
    for (from, deps) in &graph {
        let a = stage_of(&files, from);
        for to in deps {
            let b = stage_of(&files, to);
            if a != b && a != "lib" {
                out.entry(a.clone()).or_default().insert((b, from.clone(), to.clone()));
            }
        }
    }
    out
}

/// A cycle through `from`, if there is one.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    fn walk(
        g: &BTreeMap<String, BTreeSet<String>>,
        at: &str,
        goal: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in g.get(at).into_iter().flatten() {
            if next == goal {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(g, next, goal, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![from.to_owned()];
    walk(graph, from, from, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn no_file_reaches_back_into_itself() {
    let (files, graph) = file_graph();
    assert!(files.len() > 50, "{}", files.len());
    let cycles: Vec<String> = graph.keys().filter_map(|f| cycle(&graph, f)).map(|c| c.join(" -> ")).collect();
    assert!(cycles.is_empty(), "import cycles between files:\n{}", cycles.join("\n"));
}

#[test]
fn every_stage_uses_only_the_stages_below_it() {
    let rank = |m: &str| STAGES.iter().position(|s| s.contains(&m));
    let graph = module_graph();
    let mut back = Vec::new();
    for (from, deps) in &graph {
        let Some(a) = rank(from) else {
            back.push(format!("{from} is not a stage of the layering (add it to STAGES and docs/ARCHITECTURE.md)"));
            continue;
        };
        for (to, file, used) in deps {
            if rank(to).is_none_or(|b| b >= a) {
                back.push(format!("{from} -> {to} ({file} uses {used})"));
            }
        }
    }
    assert!(back.is_empty(), "edges against the order of stages:\n{}", back.join("\n"));
    let stages: BTreeSet<&str> = STAGES.iter().flat_map(|s| s.iter().copied()).collect();
    let present: BTreeSet<String> = file_graph().0.values().filter_map(|f| f.module.first().cloned()).collect();
    assert_eq!(stages, present.iter().map(String::as_str).collect(), "the stages are the folders of core/src");
}

/// The resolution the tests above rely on: a hidden `crate::Type` edge is seen.
#[test]
fn a_path_through_the_facade_is_a_use_of_the_module_that_defines_it() {
    let mut files = files();
    let fake = parse(vec!["load".into(), "fake".into()], "use crate::Report;\nfn f(_: crate::Engine) {}\n");
    files.insert("load/fake.rs".into(), fake);
    let file = &files["load/fake.rs"];
    let used: BTreeSet<String> = paths(file).iter().filter_map(|p| resolve(&files, file, p)).collect();
    assert!(used.iter().any(|f| f.starts_with("report/")), "{used:?}");
    assert!(used.iter().any(|f| f.starts_with("engine/")), "{used:?}");
}
