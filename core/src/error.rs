//! Errors. Every problem in a user's file is a [`Diagnostic`] that says where (file, line,
//! column, JSON pointer), what, and how to fix it; a load or compile reports all of them at once.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// One problem in an input file, with where it is and how to fix it. Its JSON form (`file`,
/// `line`, `column`, `pointer`, `message`, `help`) is what the bindings give.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[non_exhaustive]
pub struct Diagnostic {
    /// The file (`<stdin>` for standard input).
    #[serde(serialize_with = "as_str")]
    pub file: Arc<str>,
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub column: u32,
    /// JSON pointer of the offending node inside its document, if it is known.
    pub pointer: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

fn as_str<S: serde::Serializer>(s: &Arc<str>, to: S) -> Result<S::Ok, S::Error> {
    to.serialize_str(s)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.column, self.message)?;
        if let Some(p) = self.pointer.as_deref().filter(|p| !p.is_empty()) {
            write!(f, " (at {p})")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in a set of files, sorted by file and position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub(crate) fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub(crate) fn into_result<T>(mut self, value: T) -> Result<T, Error> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            self.0.sort();
            self.0.dedup();
            Err(Error::Invalid(self))
        }
    }

    /// The problems, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// What can go wrong when loading inputs, building an engine or using a golden path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// One or more problems in the given files; each says where.
    #[error("{}", .0)]
    Invalid(Diagnostics),
    /// A file or directory could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No golden path matches a `NAME@RANGE`.
    #[error("cannot use golden path `{spec}`: {reason}")]
    UnknownGoldenPath {
        /// What was asked for.
        spec: String,
        /// Why nothing matches, with the closest names or the versions there are.
        reason: String,
    },
    /// An upgrade that cannot be done: no newer version, a major step no migration covers, or
    /// migrated inputs the new version does not accept.
    #[error("cannot upgrade {from}: {reason}")]
    CannotUpgrade {
        /// `name@version` the service is on.
        from: String,
        /// Why.
        reason: String,
    },
    /// An input that is not a file's content is wrong: an instant that is not one, a plugin
    /// component that does not load on its own.
    #[error("{reason}")]
    Input {
        /// What is wrong.
        reason: String,
    },
    /// A name that nothing loaded has: a policy in a context's params, a rule to explain.
    #[error("there is no {what} `{name}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    Unknown {
        /// What kind of thing was named.
        what: &'static str,
        /// The name asked for.
        name: String,
        /// The closest existing name.
        suggestion: Option<String>,
    },
    /// A built-in pack that does not exist was asked for.
    #[error("there is no built-in pack `{name}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownPack {
        /// The name asked for.
        name: String,
        /// The closest existing name.
        suggestion: Option<String>,
    },
}

impl Error {
    /// What went wrong, as one stable word for front ends to map: `invalid` (problems in files,
    /// with [`Error::diagnostics`]), `io`, `unknown-golden-path`, `cannot-upgrade`, `input`,
    /// `unknown` or `unknown-pack`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid",
            Error::Io { .. } => "io",
            Error::UnknownGoldenPath { .. } => "unknown-golden-path",
            Error::CannotUpgrade { .. } => "cannot-upgrade",
            Error::Input { .. } => "input",
            Error::Unknown { .. } => "unknown",
            Error::UnknownPack { .. } => "unknown-pack",
        }
    }

    /// Whether the error is about a golden path: none matches, or an upgrade cannot be done.
    pub fn is_golden_path(&self) -> bool {
        matches!(self, Error::UnknownGoldenPath { .. } | Error::CannotUpgrade { .. })
    }

    /// The diagnostics, when the error is about the content of files.
    pub fn diagnostics(&self) -> Option<&Diagnostics> {
        match self {
            Error::Invalid(d) => Some(d),
            _ => None,
        }
    }
}

/// The closest candidate to `word` by edit distance, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

/// Edit distance where swapping two neighbouring letters is one edit (`tow` is one from `two`),
/// as typing mistakes go: the optimal string alignment distance.
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.last().copied().unwrap_or(0) + 1;
            let mut best = sub.min(del).min(ins);
            let swapped = i > 0 && j > 0 && a.get(i - 1) == Some(cb) && b.get(j - 1) == Some(ca);
            if swapped {
                best = best.min(before.get(j - 1).copied().unwrap_or(usize::MAX) + 1);
            }
            cur.push(best);
        }
        before = std::mem::replace(&mut prev, cur);
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("sevrity", ["severity", "action", "rules"]), Some("severity"));
        assert_eq!(did_you_mean("zzz", ["severity", "action"]), None);
        // A swap of two neighbouring letters is one typo.
        assert_eq!(did_you_mean("tow", ["two", "three"]), Some("two"));
        assert_eq!(did_you_mean("Deploymnet", ["Deployment", "DaemonSet"]), Some("Deployment"));
        assert_eq!(levenshtein("ab", "ba"), 1);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
