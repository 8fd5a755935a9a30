//! Name globs as policies and exceptions write them.

use globset::{Glob, GlobMatcher};

/// A compiled glob; `*` and `?` as usual, and a plain word matches itself exactly.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    text: String,
    matcher: Option<GlobMatcher>,
}

impl Pattern {
    pub(crate) fn new(text: &str) -> Result<Self, String> {
        let matcher = if text.contains(['*', '?', '[', '{']) {
            Some(Glob::new(text).map_err(|e| format!("invalid glob `{text}`: {}", e.kind()))?.compile_matcher())
        } else {
            None
        };
        Ok(Pattern { text: text.to_owned(), matcher })
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        match &self.matcher {
            Some(m) => m.is_match(s),
            None => self.text == s,
        }
    }

    /// The literal text, when the pattern has no wildcard.
    pub(crate) fn literal(&self) -> Option<&str> {
        self.matcher.is_none().then_some(self.text.as_str())
    }
}
