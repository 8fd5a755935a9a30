//! Kubernetes' resource rules (`resourceRules`, `excludeResourceRules` of an admission policy's
//! `matchConstraints` and a binding's `matchResources`), checked as the API server checks them
//! and matched as it matches them: operations, API groups and versions, resources and
//! subresources, names and scope.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::k8s::{is_resource_of, resource_of, Operation};
use crate::model::ResourceRule;

/// Compiled resource rules.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResourceRules {
    include: Vec<Rule>,
    exclude: Vec<Rule>,
    /// `matchPolicy: Equivalent` (the default): a rule for one version of a resource matches it
    /// in every version, as the API server converts the object to the version the rule names.
    equivalent: bool,
    /// Resource names of custom kinds, `(group, kind)` → plural, from the definitions given
    /// with the policy; other kinds are named as Kubernetes names its own.
    plurals: Arc<BTreeMap<(String, String), String>>,
}

#[derive(Debug, Clone)]
struct Rule {
    groups: Vec<String>,
    versions: Vec<String>,
    /// Empty: every operation (`*`).
    operations: Vec<Operation>,
    /// `(resource, subresource)`, either may be `*`; no subresource is the object itself.
    resources: Vec<(String, Option<String>)>,
    names: Vec<String>,
    scope: Scope,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Any,
    Cluster,
    Namespaced,
}

/// The identity of a resource as selectors (and these rules) see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub group: &'a str,
    pub version: &'a str,
    /// The kind (Kubernetes' selectors treat a `Namespace` and other cluster-scoped kinds apart).
    pub kind: &'a str,
    /// Empty for a cluster-scoped object.
    pub namespace: &'a str,
    pub name: &'a str,
    pub labels: Option<&'a serde_json::Map<String, serde_json::Value>>,
    /// Whether it is a pod a workload makes (its template), not an object as sent.
    pub generated: bool,
}

/// Problems with their JSON pointers, relative to the match.
pub(crate) type Problems = Vec<(String, String)>;

impl ResourceRules {
    /// Compiles a match's rules, collecting every problem (`required`: whether at least one
    /// include rule must be given, as a policy's `matchConstraints` must).
    pub(crate) fn new(
        include: &[ResourceRule],
        exclude: &[ResourceRule],
        match_policy: Option<&str>,
        plurals: Arc<BTreeMap<(String, String), String>>,
        required: bool,
    ) -> Result<Self, Problems> {
        let mut problems = Vec::new();
        if required && include.is_empty() {
            problems
                .push(("/resourceRules".into(), "`resourceRules` is required: name what the policy applies to".into()));
        }
        let equivalent = match match_policy {
            None | Some("Equivalent") => true,
            Some("Exact") => false,
            Some(other) => {
                problems.push(("/matchPolicy".into(), one_of(other, &["Equivalent", "Exact"])));
                true
            }
        };
        let mut compile = |field: &str, rules: &[ResourceRule]| -> Vec<Rule> {
            rules
                .iter()
                .enumerate()
                .filter_map(|(i, r)| Rule::new(r).map_err(|p| at(&mut problems, &format!("/{field}/{i}"), p)).ok())
                .collect()
        };
        let include = compile("resourceRules", include);
        let exclude = compile("excludeResourceRules", exclude);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(ResourceRules { include, exclude, equivalent, plurals })
    }

    /// Whether `resource` names objects of this kind: a given definition's plural, else
    /// Kubernetes' name for it. Nothing is allocated: it is asked for every object met.
    fn names(&self, resource: &str, group: &str, kind: &str) -> bool {
        match self.plurals.iter().find(|((g, k), _)| g == group && k == kind) {
            Some((_, plural)) => plural == resource,
            None => is_resource_of(resource, kind),
        }
    }

    /// Whether some rule may take in objects of this kind (for some operation, name, scope).
    /// A binding's match that names no rules takes in all its policy's.
    pub(crate) fn matches_kind(&self, group: &str, version: &str, kind: &str) -> bool {
        let names = |r: &str| self.names(r, group, kind);
        self.include.is_empty() || self.include.iter().any(|r| r.takes(group, version, &names, self.equivalent))
    }

    /// Whether the rules take in this object for this operation: an include rule matches
    /// everything of it and no exclude rule does.
    pub(crate) fn matches(&self, s: &Subject<'_>, operation: Operation) -> bool {
        let names = |r: &str| self.names(r, s.group, s.kind);
        let whole = |r: &Rule| {
            r.takes(s.group, s.version, &names, self.equivalent)
                && (r.operations.is_empty() || r.operations.contains(&operation))
                && (r.names.is_empty() || r.names.iter().any(|n| n == s.name))
                && match r.scope {
                    Scope::Any => true,
                    Scope::Cluster => s.namespace.is_empty(),
                    Scope::Namespaced => !s.namespace.is_empty(),
                }
        };
        (self.include.is_empty() || self.include.iter().any(whole)) && !self.exclude.iter().any(whole)
    }

    /// The kinds the include rules name, as `group/version/Kind` patterns: for typing
    /// expressions by the kinds' schemas and for finding candidates. Empty (every kind) when a
    /// rule names a resource that is neither a built-in kind's nor a given definition's.
    pub(crate) fn kinds(&self) -> Vec<String> {
        let Ok(schemas) = crate::k8s::schema::version("latest") else { return Vec::new() };
        let mut out = Vec::new();
        for rule in &self.include {
            for (resource, _) in &rule.resources {
                for group in &rule.groups {
                    for version in &rule.versions {
                        let version = if self.equivalent { "*" } else { version.as_str() };
                        let group_text = if group.is_empty() { "core" } else { group };
                        if resource == "*" {
                            out.push(format!("{group_text}/{version}/*"));
                            continue;
                        }
                        let group_ok = |g: &str| group == "*" || g == group;
                        let mut found: Vec<String> = schemas
                            .kinds_where(|g, _, k| group_ok(g) && resource_of(k) == *resource)
                            .into_iter()
                            .map(|(k, _)| k.to_owned())
                            .collect();
                        found.extend(
                            self.plurals
                                .iter()
                                .filter(|((g, _), p)| group_ok(g) && *p == resource)
                                .map(|((_, k), _)| k.clone()),
                        );
                        if found.is_empty() {
                            return Vec::new();
                        }
                        found.sort();
                        found.dedup();
                        out.extend(found.iter().map(|k| format!("{group_text}/{version}/{k}")));
                    }
                }
            }
        }
        out
    }
}

impl Rule {
    fn new(r: &ResourceRule) -> Result<Rule, Problems> {
        let mut problems = Vec::new();
        for (field, list) in
            [("apiGroups", &r.api_groups), ("apiVersions", &r.api_versions), ("resources", &r.resources)]
        {
            if list.is_empty() {
                problems.push((format!("/{field}"), format!("`{field}` is required: at least one, or `*`")));
            }
            if list.len() > 1 && list.iter().any(|x| x == "*") {
                problems.push((format!("/{field}"), format!("`*` in `{field}` must be its only entry")));
            }
        }
        let mut operations = Vec::new();
        if r.operations.is_empty() {
            problems.push(("/operations".into(), "`operations` is required: at least one, or `*`".into()));
        }
        for (i, op) in r.operations.iter().enumerate() {
            match op.as_str() {
                "*" if r.operations.len() == 1 => {}
                "*" => problems.push((format!("/operations/{i}"), "`*` in `operations` must be its only entry".into())),
                name => match name.parse::<Operation>().ok().filter(|o| o.as_str() == name) {
                    Some(o) => operations.push(o),
                    None => problems.push((
                        format!("/operations/{i}"),
                        one_of(name, &["CREATE", "UPDATE", "DELETE", "CONNECT", "*"]),
                    )),
                },
            }
        }
        let mut resources = Vec::new();
        for (i, text) in r.resources.iter().enumerate() {
            let (resource, sub) = match text.split_once('/') {
                Some((r, s)) => (r, Some(s.to_owned())),
                None => (text.as_str(), None),
            };
            if resource.is_empty() || sub.as_deref().is_some_and(|s| s.is_empty() || s.contains('/')) {
                problems.push((
                    format!("/resources/{i}"),
                    format!("`{text}` is not `resource`, `resource/subresource` or `*`"),
                ));
            }
            if text == "*/*" && r.resources.len() > 1 {
                problems.push((format!("/resources/{i}"), "`*/*` in `resources` must be its only entry".into()));
            }
            resources.push((resource.to_owned(), sub));
        }
        let scope = match r.scope.as_deref() {
            None | Some("*") => Scope::Any,
            Some("Cluster") => Scope::Cluster,
            Some("Namespaced") => Scope::Namespaced,
            Some(other) => {
                problems.push(("/scope".into(), one_of(other, &["Cluster", "Namespaced", "*"])));
                Scope::Any
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Rule {
            groups: r.api_groups.clone(),
            versions: r.api_versions.clone(),
            operations,
            resources,
            names: r.resource_names.clone(),
            scope,
        })
    }

    /// Whether the rule names the object itself of this group, version and resource (paved
    /// judges objects, not subresources: `pods/*` takes in pods, `pods/status` does not).
    fn takes(&self, group: &str, version: &str, names: &dyn Fn(&str) -> bool, equivalent: bool) -> bool {
        self.groups.iter().any(|g| g == "*" || g == group)
            && (equivalent || self.versions.iter().any(|v| v == "*" || v == version))
            && self.resources.iter().any(|(r, sub)| (r == "*" || names(r)) && sub.as_deref().is_none_or(|s| s == "*"))
    }
}

/// "`x` is not one of ...", with a did-you-mean.
pub(crate) fn one_of(given: &str, allowed: &[&str]) -> String {
    let list = allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
    match crate::error::did_you_mean(given, allowed.iter().copied()) {
        Some(s) => format!("`{given}` is not one of {list}: did you mean `{s}`?"),
        None => format!("`{given}` is not one of {list}"),
    }
}

fn at(problems: &mut Problems, prefix: &str, found: Problems) {
    problems.extend(found.into_iter().map(|(p, m)| (format!("{prefix}{p}"), m)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(groups: &[&str], versions: &[&str], ops: &[&str], resources: &[&str]) -> ResourceRule {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect();
        ResourceRule {
            api_groups: s(groups),
            api_versions: s(versions),
            operations: s(ops),
            resources: s(resources),
            ..ResourceRule::default()
        }
    }

    fn subject<'a>(group: &'a str, version: &'a str, kind: &'a str, namespace: &'a str) -> Subject<'a> {
        Subject { group, version, kind, namespace, name: "x", labels: None, generated: false }
    }

    #[test]
    fn rules_match_as_the_api_server_matches_them() {
        let rules = ResourceRules::new(
            &[
                rule(&["apps"], &["v1"], &["CREATE", "UPDATE"], &["deployments"]),
                rule(&[""], &["v1"], &["*"], &["pods"]),
            ],
            &[],
            Some("Exact"),
            Arc::default(),
            true,
        )
        .unwrap();
        assert!(rules.matches(&subject("apps", "v1", "Deployment", "a"), Operation::Create));
        assert!(!rules.matches(&subject("apps", "v1", "Deployment", "a"), Operation::Delete));
        assert!(!rules.matches(&subject("apps", "v1beta2", "Deployment", "a"), Operation::Create));
        assert!(rules.matches(&subject("", "v1", "Pod", "a"), Operation::Delete));
        assert!(!rules.matches(&subject("", "v1", "Service", "a"), Operation::Create));
        // A subresource rule does not take in the object itself.
        let status =
            ResourceRules::new(&[rule(&["*"], &["*"], &["*"], &["pods/status"])], &[], None, Arc::default(), true);
        assert!(!status.unwrap().matches_kind("", "v1", "Pod"));
        assert_eq!(resource_of("NetworkPolicy"), "networkpolicies");
        assert_eq!(resource_of("Ingress"), "ingresses");
        assert_eq!(resource_of("Endpoints"), "endpoints");
        for kind in ["Pod", "Ingress", "NetworkPolicy", "Endpoints", "IPAddress", "ServiceCIDR", "Gateway", "Status"] {
            assert!(is_resource_of(&resource_of(kind), kind), "{kind}");
            assert!(!is_resource_of(&format!("{}x", resource_of(kind)), kind), "{kind}");
        }
        assert!(!is_resource_of("Pods", "Pod") && !is_resource_of("pod", "Pod"));
    }

    #[test]
    fn bad_rules_say_where_and_why() {
        let bad = rule(&["apps", "*"], &[], &["CRAETE"], &["deployments"]);
        let problems = ResourceRules::new(&[bad], &[], Some("Exactly"), Arc::default(), true).unwrap_err();
        let text = format!("{problems:?}");
        assert!(text.contains("/resourceRules/0/apiVersions"), "{text}");
        assert!(text.contains("/resourceRules/0/apiGroups"), "{text}");
        assert!(text.contains("did you mean `CREATE`?"), "{text}");
        assert!(text.contains("did you mean `Exact`?"), "{text}");
    }
}
