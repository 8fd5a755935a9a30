//! Selectors: which resources a policy or exception applies to, compiled once.

use std::collections::BTreeMap;

use super::constraint_match::GatekeeperMatch;
pub(crate) use super::labels::Labels;
use super::resources::ResourceRules;
pub(crate) use super::resources::Subject;
use crate::k8s::Operation;
use crate::k8s::Pattern;
use crate::model::{Globs, LabelSelector, Match};

/// `Kind`, `version/Kind` or `group/version/Kind`, each part a pattern.
#[derive(Debug, Clone)]
pub(crate) struct KindPattern {
    group: Option<Pattern>,
    version: Option<Pattern>,
    pub kind: Pattern,
}

impl KindPattern {
    pub(crate) fn new(text: &str) -> Result<Self, String> {
        // A Pulumi type token has slashes of its own (`pulumi/*/aws:s3/bucket:Bucket`).
        let parts: Vec<&str> =
            if text.starts_with("pulumi/") { text.splitn(3, '/').collect() } else { text.split('/').collect() };
        let (group, version, kind) = match parts.as_slice() {
            [k] => (None, None, *k),
            [v, k] => (Some(""), Some(*v), *k),
            [g, v, k] => (Some(*g), Some(*v), *k),
            _ => return Err(format!("`{text}` is not `Kind`, `version/Kind` or `group/version/Kind`")),
        };
        if kind.is_empty() {
            return Err(format!("`{text}` names no kind"));
        }
        let group = match group {
            Some("core") => Some(Pattern::new("")?),
            Some(g) => Some(Pattern::new(g)?),
            None => None,
        };
        Ok(KindPattern { group, version: version.map(Pattern::new).transpose()?, kind: Pattern::new(kind)? })
    }

    pub(crate) fn matches(&self, group: &str, version: &str, kind: &str) -> bool {
        self.kind.matches(kind)
            && self.group.as_ref().is_none_or(|g| g.matches(group))
            && self.version.as_ref().is_none_or(|v| v.matches(version))
    }
}

/// Include and exclude globs; an empty include list includes everything.
#[derive(Debug, Clone, Default)]
pub(crate) struct GlobFilter {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

impl GlobFilter {
    pub(crate) fn new(globs: Option<&Globs>) -> Result<Self, String> {
        let (inc, exc): (&[String], &[String]) = match globs {
            None => (&[], &[]),
            Some(Globs::Include(i)) => (i, &[]),
            Some(Globs::Both { include, exclude }) => (include, exclude),
        };
        Ok(GlobFilter {
            include: inc.iter().map(|s| Pattern::new(s)).collect::<Result<_, _>>()?,
            exclude: exc.iter().map(|s| Pattern::new(s)).collect::<Result<_, _>>()?,
        })
    }

    pub(crate) fn from_list(list: &[String]) -> Result<Self, String> {
        Ok(GlobFilter { include: list.iter().map(|s| Pattern::new(s)).collect::<Result<_, _>>()?, exclude: Vec::new() })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    pub(crate) fn matches(&self, s: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(s)))
            && !self.exclude.iter().any(|p| p.matches(s))
    }
}

/// A compiled `spec.match`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Selector {
    pub kinds: Vec<KindPattern>,
    namespaces: GlobFilter,
    names: GlobFilter,
    labels: Option<Labels>,
    namespace_labels: Option<Labels>,
    operations: Vec<Operation>,
    /// Kubernetes' resource rules, for its admission policies' matches (with their own
    /// operations, scopes and names).
    resources: Option<ResourceRules>,
    /// A Gatekeeper constraint's match, with its own semantics.
    gatekeeper: Option<GatekeeperMatch>,
}

impl Selector {
    /// A policy's selector: one that names no operation judges CREATE and UPDATE, as Kyverno,
    /// Gatekeeper and ValidatingAdmissionPolicy users expect, so deleting an object that breaks
    /// a rule is not denied for it. A policy that names DELETE judges the object deleted.
    pub(crate) fn for_policy(mut self) -> Self {
        if self.operations.is_empty() {
            self.operations = vec![Operation::Create, Operation::Update];
        }
        self
    }

    /// Compiles a `match`, reporting each bad field with its JSON pointer (relative to `match`).
    pub(crate) fn new(m: &Match) -> Result<Self, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let kinds = m
            .kinds
            .iter()
            .enumerate()
            .filter_map(|(i, k)| KindPattern::new(k).map_err(|e| errors.push((format!("/kinds/{i}"), e))).ok())
            .collect();
        let mut field = |name: &str, r: Result<GlobFilter, String>| {
            r.map_err(|e| errors.push((format!("/{name}"), e))).unwrap_or_default()
        };
        let namespaces = field("namespaces", GlobFilter::new(m.namespaces.as_ref()));
        let names = field("names", GlobFilter::new(m.names.as_ref()));
        let labels =
            m.labels.as_ref().and_then(|l| Labels::new(l).map_err(|e| errors.push(("/labels".into(), e))).ok());
        let namespace_labels = m
            .namespace_selector
            .as_ref()
            .and_then(|l| Labels::new(l).map_err(|e| errors.push(("/namespaceSelector".into(), e))).ok());
        if errors.is_empty() {
            Ok(Selector {
                kinds,
                namespaces,
                names,
                labels,
                namespace_labels,
                operations: m.operations.clone(),
                resources: None,
                gatekeeper: None,
            })
        } else {
            Err(errors)
        }
    }

    /// A selector of Kubernetes' admission-policy form (`matchConstraints`, `matchResources`):
    /// its resource rules, the namespace and object label selectors.
    pub(crate) fn of_resources(
        resources: ResourceRules,
        namespace_selector: Option<&LabelSelector>,
        object_selector: Option<&LabelSelector>,
    ) -> Result<Self, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut labels = |field: &str, sel: Option<&LabelSelector>| {
            sel.and_then(|l| Labels::new(l).map_err(|e| errors.push((format!("/{field}"), e))).ok())
        };
        let namespace_labels = labels("namespaceSelector", namespace_selector);
        let object_labels = labels("objectSelector", object_selector);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Selector {
            kinds: resources.kinds().iter().filter_map(|k| KindPattern::new(k).ok()).collect(),
            namespace_labels,
            labels: object_labels,
            resources: Some(resources),
            ..Selector::default()
        })
    }

    /// The same selector, for these operations only (a Gatekeeper template's).
    pub(crate) fn for_operations(mut self, operations: Vec<Operation>) -> Self {
        self.operations = operations;
        self
    }

    /// A Gatekeeper constraint's selector: its match, for the operations its template judges.
    pub(crate) fn of_constraint(m: GatekeeperMatch, operations: Vec<Operation>) -> Self {
        Selector {
            kinds: m.kind_patterns().iter().filter_map(|k| KindPattern::new(k).ok()).collect(),
            operations,
            gatekeeper: Some(m),
            ..Selector::default()
        }
    }

    /// The same selector, within one namespace.
    pub(crate) fn within_namespace(mut self, namespace: &str) -> Self {
        self.namespaces = GlobFilter::from_list(&[namespace.to_owned()]).unwrap_or_default();
        self
    }

    /// Whether it names kinds (by `kinds` or resource rules) rather than taking in every kind.
    pub(crate) fn names_kinds(&self) -> bool {
        !self.kinds.is_empty() || self.resources.is_some()
    }

    pub(crate) fn matches_kind(&self, group: &str, version: &str, kind: &str) -> bool {
        (self.kinds.is_empty() || self.kinds.iter().any(|k| k.matches(group, version, kind)))
            && self.resources.as_ref().is_none_or(|r| r.matches_kind(group, version, kind))
            && self.gatekeeper.as_ref().is_none_or(|g| g.matches_kind(group, kind))
    }

    /// Everything but the kind.
    pub(crate) fn matches_rest(
        &self,
        s: &Subject<'_>,
        operation: Operation,
        namespace_labels: Option<&BTreeMap<String, String>>,
    ) -> bool {
        if !self.operations.is_empty() && !self.operations.contains(&operation) {
            return false;
        }
        if let Some(g) = &self.gatekeeper {
            return g.matches_rest(s, namespace_labels);
        }
        if !self.namespaces.is_empty() && !self.namespaces.matches(s.namespace) {
            return false;
        }
        if let Some(r) = &self.resources {
            return r.matches(s, operation)
                && self.labels.as_ref().is_none_or(|l| l.matches(|k| label(s.labels, k)))
                && self.namespace_labels.as_ref().is_none_or(|l| {
                    // Kubernetes: a Namespace is selected by its own labels; another
                    // cluster-scoped object is never left out by a namespace selector.
                    (s.namespace.is_empty() && s.kind != "Namespace")
                        || l.matches(|k| namespace_labels.and_then(|m| m.get(k)).map(String::as_str))
                });
        }
        if !self.names.matches(s.name) {
            return false;
        }
        if let Some(l) = &self.labels {
            if !l.matches(|k| label(s.labels, k)) {
                return false;
            }
        }
        if let Some(l) = &self.namespace_labels {
            if !l.matches(|k| namespace_labels.and_then(|m| m.get(k)).map(String::as_str)) {
                return false;
            }
        }
        true
    }
}

fn label<'v>(labels: Option<&'v serde_json::Map<String, serde_json::Value>>, key: &str) -> Option<&'v str> {
    labels.and_then(|m| m.get(key)).and_then(|v| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_patterns() {
        let k = KindPattern::new("apps/*/Deployment").unwrap();
        assert!(k.matches("apps", "v1", "Deployment"));
        assert!(!k.matches("", "v1", "Deployment"));
        let core = KindPattern::new("v1/Pod").unwrap();
        assert!(core.matches("", "v1", "Pod"));
        assert!(!core.matches("apps", "v1", "Pod"));
        assert!(KindPattern::new("Pod").unwrap().matches("x", "y", "Pod"));
        assert!(KindPattern::new("a/b/c/d").is_err());
    }

    #[test]
    fn glob_filter() {
        let f =
            GlobFilter::new(Some(&Globs::Both { include: vec!["prod-*".into()], exclude: vec!["prod-legacy".into()] }))
                .unwrap();
        assert!(f.matches("prod-a"));
        assert!(!f.matches("prod-legacy"));
        assert!(!f.matches("dev"));
    }
}
