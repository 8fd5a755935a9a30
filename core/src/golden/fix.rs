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
        let replacements = replacements(text, &rewritten.text);
        if !replacements.is_empty() {
            out.push(Fix { resource, file, replacements });
        }
    }
    Ok(out)
}

/// The replacements that turn `before` into `after`: one per run of lines that differ.
fn replacements(before: &str, after: &str) -> Vec<Replacement> {
    let diff = similar::TextDiff::from_lines(before, after);
    let (old, new) = (diff.old_slices(), diff.new_slices());
    let chars = |lines: &[&str]| lines.iter().map(|l| l.chars().count()).sum::<usize>();
    let line = |n: usize| u32::try_from(n + 1).unwrap_or(u32::MAX);
    let mut out = Vec::new();
    for group in diff.grouped_ops(0) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
        let (from, to) = (first.old_range().start, last.old_range().end);
        let deleted = old.get(from..to).unwrap_or_default();
        let inserted = new.get(first.new_range().start..last.new_range().end).unwrap_or_default().concat();
        // The end is just past the last deleted line: the start of the next one, or the end
        // of a last line without a newline.
        let (end_line, end_column) = match deleted.last() {
            Some(l) if !l.ends_with('\n') => (line(to - 1), line(l.chars().count())),
            _ => (line(to), 1),
        };
        out.push(Replacement {
            start_line: line(from),
            start_column: 1,
            end_line,
            end_column,
            char_offset: chars(old.get(..from).unwrap_or_default()),
            char_length: chars(deleted),
            inserted,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::replacements;

    #[test]
    fn replacements_cover_the_lines_that_differ_and_nothing_else() {
        let r = replacements("a\nb\nc\nd\ne\n", "a\nB\nB2\nc\nd\nE\n");
        let spans: Vec<_> =
            r.iter().map(|r| (r.start_line, r.end_line, r.end_column, r.char_offset, r.char_length)).collect();
        assert_eq!(spans, [(2, 3, 1, 2, 2), (5, 6, 1, 8, 2)]);
        assert_eq!((r[0].inserted.as_str(), r[1].inserted.as_str()), ("B\nB2\n", "E\n"));
        let r = replacements("a\nb", "a\nb\nc\n");
        assert_eq!((r[0].start_line, r[0].end_line, r[0].end_column, r[0].inserted.as_str()), (2, 2, 2, "b\nc\n"));
        let r = replacements("a\n", "a\nb\n");
        assert_eq!((r[0].start_line, r[0].end_line, r[0].char_length, r[0].inserted.as_str()), (2, 2, 0, "b\n"));
        assert!(replacements("x\n", "x\n").is_empty());
    }
}
