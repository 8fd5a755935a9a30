//! A report's fixes: what its patches change in the files the resources came from, as text
//! replacements (SARIF's `fixes`), made with the rewriter `paved fix --write` and the
//! golden-path upgrades use, so a fix offered is the edit `paved fix` would make.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::engine::resource::Resource;
use crate::error::Error;
use crate::k8s::ResourceRef;
use crate::report::{Fix, Replacement, Report};

/// The fixes of `report`'s patches (those no exception waives) on `resources`, the input it was
/// made from: one per changed resource that came from a file (named as the patches name it),
/// `read` giving a file's text.
/// Resources from standard input have no file to fix, and get none.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let file = dir.path().join("pod.yaml");
/// std::fs::write(&file, "kind: Pod\napiVersion: v1\nmetadata:\n  name: web  # ours\nspec:\n  containers: []\n")?;
/// let bundle = paved::Bundle::from_str("b.yaml", "apiVersion: paved.dev/v1\nkind: Policy\nmetadata: {name: team, version: 1.0.0}\nspec:\n  match: {kinds: [Pod]}\n  mutations: [{id: team, setLabels: {team: web}}]\n")?;
/// let engine = paved::Engine::builder().bundle(bundle).build()?;
/// let resources = paved::Resource::from_paths(&[&file])?;
/// let report = engine.evaluate(&resources, &paved::Context::parse_at("2026-06-01")?);
/// let fixes = paved::golden::fixes(&report, &resources, &|f| std::fs::read_to_string(f).map_err(|e| paved::Error::Input { reason: e.to_string() }))?;
/// let r = &fixes[0].replacements[0];
/// assert_eq!((r.start_line, r.end_line, r.inserted.as_str()), (4, 4, "  labels:\n    team: web\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fixes(
    report: &Report,
    resources: &[Resource],
    read: &dyn Fn(&str) -> Result<String, Error>,
) -> Result<Vec<Fix>, Error> {
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::new();
    for r in resources {
        let id = r.identity();
        // A patch names the resource as evaluated: its namespace filled in when it had none.
        let same = |p: &ResourceRef| {
            (&p.api_version, &p.kind, &p.name) == (&id.api_version, &id.kind, &id.name)
                && (id.namespace.is_empty() || p.namespace == id.namespace)
        };
        let patches: Vec<_> = report.patches.iter().filter(|p| p.waived_by.is_none() && same(&p.resource)).collect();
        let ops: Vec<&Value> = patches.iter().map(|p| &p.operation).collect();
        let Some(file) = r.source_of("").map(|s| s.file).filter(|f| !ops.is_empty() && !f.starts_with('<')) else {
            continue;
        };
        let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops.into_iter().cloned().collect()))
            .map_err(|e| Error::Input { reason: format!("a patch of {id} does not read as JSON Patch: {e}") })?;
        let mut after = r.value().clone();
        json_patch::patch(&mut after, &patch)
            .map_err(|e| Error::Input { reason: format!("the patches of {id} do not apply: {e}") })?;
        if !texts.contains_key(&file) {
            texts.insert(file.clone(), read(&file)?);
        }
        let text = texts.get(&file).map(String::as_str).unwrap_or_default();
        let rewritten = super::edit::rewrite(&file, text, &[after], &[], &[])?;
        let resource = patches.first().map_or(id, |p| p.resource.clone());
        out.extend(replacement(text, &rewritten.text).map(|rep| Fix { resource, file, replacements: vec![rep] }));
    }
    Ok(out)
}

/// The one replacement that turns `before` into `after`: the lines between what they share at
/// the start and at the end.
fn replacement(before: &str, after: &str) -> Option<Replacement> {
    if before == after {
        return None;
    }
    let (old, new): (Vec<&str>, Vec<&str>) =
        (before.split_inclusive('\n').collect(), after.split_inclusive('\n').collect());
    let head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let tail =
        old.iter().rev().zip(new.iter().rev()).take_while(|(a, b)| a == b).count().min(old.len().min(new.len()) - head);
    let deleted = old.get(head..old.len() - tail).unwrap_or_default();
    let inserted = new.get(head..new.len() - tail).unwrap_or_default().concat();
    let chars = |lines: &[&str]| lines.iter().map(|l| l.chars().count()).sum::<usize>();
    let char_offset = chars(old.get(..head).unwrap_or_default());
    let char_length = chars(deleted);
    let line = |n: usize| u32::try_from(n + 1).unwrap_or(u32::MAX);
    // The end is just past the last deleted line: the start of the next one, or the end of a
    // last line without a newline.
    let (end_line, end_column) = match deleted.last() {
        Some(last) if !last.ends_with('\n') => (line(head + deleted.len() - 1), line(last.chars().count())),
        _ => (line(head + deleted.len()), 1),
    };
    Some(Replacement {
        start_line: line(head),
        start_column: 1,
        end_line,
        end_column,
        char_offset,
        char_length,
        inserted,
    })
}

#[cfg(test)]
mod tests {
    use super::replacement;

    #[test]
    fn a_replacement_covers_the_lines_that_differ_and_nothing_else() {
        let r = replacement("a\nb\nc\n", "a\nB\nB2\nc\n").unwrap();
        assert_eq!((r.start_line, r.end_line, r.end_column, r.char_offset, r.char_length), (2, 3, 1, 2, 2));
        assert_eq!(r.inserted, "B\nB2\n");
        let r = replacement("a\nb", "a\nb\nc\n").unwrap();
        assert_eq!((r.start_line, r.end_line, r.end_column, r.inserted.as_str()), (2, 2, 2, "b\nc\n"));
        let r = replacement("a\n", "a\nb\n").unwrap();
        assert_eq!((r.start_line, r.end_line, r.char_length, r.inserted.as_str()), (2, 2, 0, "b\n"));
        assert!(replacement("x\n", "x\n").is_none());
    }
}
