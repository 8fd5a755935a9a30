//! Where a document came from: its file, the place of each of its nodes, and what a rendered
//! stream or a renaming says of where it was written.

use std::sync::Arc;

use serde_json::Value;

use super::yaml::{Pos, Spans};
use crate::error::Diagnostic;

/// A document read from a file: its value and where each of its nodes was written.
#[derive(Debug, Clone)]
pub(crate) struct Sourced {
    pub value: Value,
    pub origin: Origin,
}

/// Where a document came from.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin {
    pub file: Arc<str>,
    pub spans: Arc<Spans>,
    /// Pointer of this document inside the parsed one (`/items/3` for a `List` member).
    pub base: String,
    /// The file (and line) a rendered stream says the document was made from (Helm's
    /// `# Source:` comment, kustomize's origin annotation: line 1; a Terraform resource's
    /// block), relative to the stream's directory: reports name it, not the stream (whose lines
    /// are not the file's).
    pub made_from: Option<(Arc<str>, u32)>,
    /// For a document paved reads in its own terms (a Kubernetes admission policy compiled as a
    /// paved policy): where each of paved's pointers was written in it, as prefixes
    /// (`/spec/rules/0/cel` → `/spec/validations/0/expression`), the longest first.
    pub renames: Arc<[(String, String)]>,
}

impl Origin {
    pub(crate) fn locate(&self, pointer: &str) -> Pos {
        self.spans.locate(&format!("{}{}", self.base, self.written(pointer)))
    }

    /// The same document, with paved's pointers renamed to where they were written.
    pub(crate) fn renamed(&self, mut renames: Vec<(String, String)>) -> Origin {
        renames.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        Origin { renames: renames.into(), ..self.clone() }
    }

    /// Where `pointer` was written: renamed by the longest prefix that ends at a segment.
    fn written(&self, pointer: &str) -> String {
        for (from, to) in self.renames.iter() {
            if let Some(rest) = pointer.strip_prefix(from.as_str()) {
                if rest.is_empty() || rest.starts_with('/') {
                    return format!("{to}{rest}");
                }
            }
        }
        pointer.to_owned()
    }

    /// Where `pointer` was written, as reports show it.
    pub(crate) fn source_ref(&self, pointer: &str) -> crate::load::SourceRef {
        if let Some((file, line)) = &self.made_from {
            return crate::load::SourceRef { file: file.to_string(), line: *line, column: 1 };
        }
        let pos = self.locate(pointer);
        crate::load::SourceRef { file: self.file.to_string(), line: pos.line, column: pos.column }
    }

    pub(crate) fn diagnostic(&self, pointer: &str, message: impl Into<String>, help: Option<String>) -> Diagnostic {
        let pos = self.locate(pointer);
        Diagnostic {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
            pointer: Some(self.written(pointer)),
            message: message.into(),
            help,
        }
    }
}

/// `path` (as a rendered stream names a file) relative to the directory of `stream`, `..` and
/// `.` resolved; as it is when the stream has no directory (standard input).
pub(crate) fn beside(stream: &str, path: &str) -> Arc<str> {
    let dir = match stream {
        "<stdin>" => "",
        s => s.rsplit_once('/').map_or("", |(d, _)| d),
    };
    if path.starts_with('/') {
        return Arc::from(path);
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    Arc::from(if dir.starts_with('/') { format!("/{joined}") } else { joined })
}
