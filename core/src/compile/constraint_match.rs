//! A Gatekeeper constraint's `match`, compiled, with Gatekeeper's semantics: kinds by group and
//! kind (any version), `scope`, `namespaces` and `excludedNamespaces` (a Namespace is its own
//! namespace; another cluster-scoped object is never left out by them), `labelSelector`,
//! `namespaceSelector` (a Namespace by its own labels; another cluster-scoped object always
//! matches), `name`, and `source` (the object as sent, or the pod a workload makes, for
//! expansion).

use std::collections::BTreeMap;

use super::labels::Labels;
use super::resources::Subject;
use crate::k8s::Pattern;
use crate::model::{Action, ConstraintMatch};

/// Which objects a constraint judges: as sent, made by expansion, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    All,
    Original,
    Generated,
}

/// A compiled constraint `match`.
#[derive(Debug, Clone)]
pub(crate) struct GatekeeperMatch {
    /// `(apiGroups, kinds)` pairs; empty lists (or `*`) take any.
    kinds: Vec<(Vec<String>, Vec<String>)>,
    scope: Option<bool>,
    namespaces: Vec<Pattern>,
    excluded: Vec<Pattern>,
    labels: Option<Labels>,
    namespace_labels: Option<Labels>,
    name: Option<Pattern>,
    pub source: Source,
}

impl GatekeeperMatch {
    /// Compiles a `match`, each problem with its pointer relative to it.
    pub(crate) fn new(m: &ConstraintMatch) -> Result<Self, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut globs = |field: &str, list: &[String]| -> Vec<Pattern> {
            list.iter()
                .enumerate()
                .filter_map(|(i, g)| Pattern::new(g).map_err(|e| errors.push((format!("/{field}/{i}"), e))).ok())
                .collect()
        };
        let namespaces = globs("namespaces", &m.namespaces);
        let excluded = globs("excludedNamespaces", &m.excluded_namespaces);
        let scope = match m.scope.as_deref() {
            None | Some("*") => None,
            Some("Cluster") => Some(true),
            Some("Namespaced") => Some(false),
            Some(other) => {
                errors.push(("/scope".into(), super::resources::one_of(other, &["*", "Cluster", "Namespaced"])));
                None
            }
        };
        let source = match m.source.as_deref() {
            None | Some("All") => Source::All,
            Some("Original") => Source::Original,
            Some("Generated") => Source::Generated,
            Some(other) => {
                errors.push(("/source".into(), super::resources::one_of(other, &["All", "Original", "Generated"])));
                Source::All
            }
        };
        let mut selector = |field: &str, s: Option<&crate::model::LabelSelector>| {
            s.and_then(|s| Labels::new(s).map_err(|e| errors.push((format!("/{field}"), e))).ok())
        };
        let labels = selector("labelSelector", m.label_selector.as_ref());
        let namespace_labels = selector("namespaceSelector", m.namespace_selector.as_ref());
        let name = m.name.as_deref().and_then(|n| Pattern::new(n).map_err(|e| errors.push(("/name".into(), e))).ok());
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(GatekeeperMatch {
            kinds: m.kinds.iter().map(|k| (k.api_groups.clone(), k.kinds.clone())).collect(),
            scope,
            namespaces,
            excluded,
            labels,
            namespace_labels,
            name,
            source,
        })
    }

    /// The kinds it names, as paved's kind patterns (`group/*/Kind`), for listings and the
    /// kind index; empty when it takes every kind.
    pub(crate) fn kind_patterns(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (groups, kinds) in &self.kinds {
            let any = |l: &[String]| l.is_empty() || l.iter().any(|x| x == "*");
            if any(kinds) {
                return Vec::new();
            }
            for kind in kinds {
                if any(groups) {
                    out.push(kind.clone());
                } else {
                    out.extend(groups.iter().map(|g| format!("{}/*/{kind}", if g.is_empty() { "core" } else { g })));
                }
            }
        }
        out
    }

    pub(crate) fn matches_kind(&self, group: &str, kind: &str) -> bool {
        let takes = |list: &[String], x: &str| list.is_empty() || list.iter().any(|l| l == "*" || l == x);
        self.kinds.is_empty() || self.kinds.iter().any(|(groups, kinds)| takes(kinds, kind) && takes(groups, group))
    }

    /// Everything but the kind; `namespace_labels` are the labels of the object's namespace.
    pub(crate) fn matches_rest(&self, s: &Subject<'_>, namespace_labels: Option<&BTreeMap<String, String>>) -> bool {
        let is_namespace = s.kind == "Namespace" && s.group.is_empty();
        let own = |k: &str| s.labels.and_then(|m| m.get(k)).and_then(|v| v.as_str());
        // The namespace the namespace matchers see: a Namespace's own name.
        let namespace = if is_namespace { s.name } else { s.namespace };
        let source_ok = match self.source {
            Source::All => true,
            Source::Original => !s.generated,
            Source::Generated => s.generated,
        };
        source_ok
            && self.scope.is_none_or(|cluster| cluster == (is_namespace || s.namespace.is_empty()))
            && (self.namespaces.is_empty()
                || namespace.is_empty()
                || self.namespaces.iter().any(|p| p.matches(namespace)))
            && (namespace.is_empty() || !self.excluded.iter().any(|p| p.matches(namespace)))
            && self.labels.as_ref().is_none_or(|l| l.matches(own))
            && self.namespace_labels.as_ref().is_none_or(|l| {
                if is_namespace {
                    l.matches(own)
                } else {
                    s.namespace.is_empty() || l.matches(|k| namespace_labels.and_then(|m| m.get(k)).map(String::as_str))
                }
            })
            && self.name.as_ref().is_none_or(|n| n.matches(s.name))
    }
}

/// A compiled ExpansionTemplate: the workload kinds it expands into the pods they make, and
/// the action that replaces a constraint's on those pods.
#[derive(Debug, Clone)]
pub(crate) struct Expansion {
    pub name: String,
    /// `(group, kind)` of each workload it applies to.
    pub workloads: Vec<(String, String)>,
    pub action: Option<Action>,
}

impl Expansion {
    pub(crate) fn applies_to(&self, group: &str, kind: &str) -> bool {
        self.workloads.iter().any(|(g, k)| g == group && k == kind)
    }
}
