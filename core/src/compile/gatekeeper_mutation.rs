//! Gatekeeper's mutators (`mutations.gatekeeper.sh`): Assign, AssignMetadata, ModifySet and
//! AssignImage, each compiled as a paved policy of one mutation that walks its `location`
//! (`compile/location.rs`). They match as Gatekeeper matches them: `applyTo` (group, version
//! and kind, no globs, and the operations: CREATE and UPDATE unless fewer are named) and the
//! constraints' `match`. They run among paved's mutations in the engine's policy order (by
//! name: Gatekeeper orders by kind, then name), are run again when a later mutation changed
//! the object (`IfNeeded`), and one that changes its own result again is an error, as
//! Gatekeeper's "mutation not converging" is. External data is refused: paved calls no
//! provider, and its answers do not depend on one.

use std::sync::Arc;

use serde_json::Value;

use super::admission_policy::metadata;
use super::constraint_match::GatekeeperMatch;
use super::location::{self, Condition, Mutator, Node, Path, Set, Setting, Tests, Walk};
use super::mutation::{Change, Mutation};
use super::policy::{self, Form, Policy};
use super::select::{KindPattern, Selector};
use crate::error::Diagnostic;
use crate::k8s::Operation;
use crate::load::Origin;
use crate::model::{Match, MutatorDocument, MutatorParameters, PolicyDocument, PolicySpec, Reinvocation, API_VERSION};

pub(crate) const ASSIGN: &str = "Assign";
pub(crate) const ASSIGN_METADATA: &str = "AssignMetadata";
pub(crate) const MODIFY_SET: &str = "ModifySet";
pub(crate) const ASSIGN_IMAGE: &str = "AssignImage";
pub(crate) const KINDS: &[&str] = &[ASSIGN, ASSIGN_METADATA, MODIFY_SET, ASSIGN_IMAGE];

/// Compiles a mutator, collecting every problem.
pub(crate) fn compile(doc: &MutatorDocument, origin: &Origin) -> Result<Policy, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut problem = |pointer: &str, message: String| diags.push(origin.diagnostic(pointer, message, None));
    let kind = doc.kind.as_str();
    if doc.metadata.name.len() > 63 {
        problem("/metadata/name", "a mutator's name must be no longer than 63 characters".into());
    }
    let params = &doc.spec.parameters;
    for (field, given) in given_parameters(params) {
        if given && !takes(kind, field) {
            problem(&format!("/spec/parameters/{field}"), format!("`{field}` is not a parameter of {kind}"));
        }
    }
    let path = match location::parse(&doc.spec.location) {
        Ok(p) => Some(p),
        Err(e) if doc.spec.location.is_empty() => {
            problem("/spec/location", format!("`location` is required: {e}"));
            None
        }
        Err(e) => {
            problem("/spec/location", format!("`{}` is not a location: {e}", doc.spec.location));
            None
        }
    };
    let tests = path.as_ref().and_then(|p| tests(kind, p, params, &mut problem));
    let set = path.as_ref().and_then(|p| setting(kind, p, params, &mut problem));
    let (kinds, operations) = apply_to(doc, &mut problem);
    let gatekeeper = GatekeeperMatch::new(&doc.spec.match_)
        .map_err(|ps| ps.into_iter().for_each(|(p, m)| problem(&format!("/spec/match{p}"), m)))
        .ok();
    let (Some(path), Some(tests), Some(set), Some(gatekeeper)) = (path, tests, set, gatekeeper) else {
        return Err(diags);
    };
    if !diags.is_empty() {
        return Err(diags);
    }
    let writes = writes(&path, &set);
    let source = doc.spec.location.clone();
    let mut selector = Selector::of_constraint(gatekeeper, operations);
    if !kinds.is_empty() {
        selector.kinds = kinds.iter().filter_map(|k| KindPattern::new(k).ok()).collect();
    }
    let paved = document(doc);
    // Compiled as a policy that applies without a binding and needs no rule, then made paved's:
    // its failures are errors under its failure policy (`Fail`), as in Gatekeeper.
    let mut policy = policy::compile_selected(&paved, (selector, Form::Kyverno, None), origin, &[], &[])?;
    policy.form = Form::Paved;
    policy.reinvocation = Reinvocation::IfNeeded;
    policy.kinds = kinds.iter().map(|k| k.rsplit('/').next().unwrap_or(k).to_owned()).collect();
    let mutator = Mutator { walk: Walk { path, tests }, set };
    policy.mutations = Arc::new(vec![Mutation {
        id: kind.to_owned(),
        message: format!("{kind} `{}` at {source}", doc.metadata.name),
        when: None,
        change: Change::Location(Box::new(mutator)),
        source,
        pointer: "/spec/location".into(),
        writes,
    }]);
    Ok(policy)
}

/// The parameters a document gives, by name.
fn given_parameters(p: &MutatorParameters) -> [(&'static str, bool); 8] {
    [
        ("pathTests", !p.path_tests.is_empty()),
        ("assign", p.assign.is_some()),
        ("assignIf", p.assign_if.is_some()),
        ("operation", p.operation.is_some()),
        ("values", p.values.is_some()),
        ("assignDomain", p.assign_domain.is_some()),
        ("assignPath", p.assign_path.is_some()),
        ("assignTag", p.assign_tag.is_some()),
    ]
}

/// Whether a kind of mutator takes a parameter.
fn takes(kind: &str, field: &str) -> bool {
    match kind {
        ASSIGN => ["pathTests", "assign", "assignIf"].contains(&field),
        ASSIGN_METADATA => field == "assign",
        MODIFY_SET => ["pathTests", "operation", "values"].contains(&field),
        _ => ["pathTests", "assignDomain", "assignPath", "assignTag"].contains(&field),
    }
}

/// The path tests, and the location's shape for the kind: AssignMetadata sets one label or
/// annotation, only when absent; the others do not touch `metadata`, and do not rename what a
/// list selector names.
fn tests(kind: &str, path: &Path, params: &MutatorParameters, problem: &mut impl FnMut(&str, String)) -> Option<Tests> {
    let field = |i: usize| match path.0.get(i) {
        Some(Node::Field(f)) => Some(f.as_str()),
        _ => None,
    };
    if kind == ASSIGN_METADATA {
        let ok =
            path.0.len() == 3 && field(0) == Some("metadata") && matches!(field(1), Some("labels" | "annotations"));
        if !ok || field(2).is_none() {
            problem(
                "/spec/location",
                format!("an AssignMetadata sets `metadata.labels.<key>` or `metadata.annotations.<key>`, not `{path}`"),
            );
            return None;
        }
        return Tests::new(path, &[(path.clone(), Condition::MustNotExist)]).ok();
    }
    if field(0) == Some("metadata") {
        problem(
            "/spec/location",
            format!("{kind} cannot change metadata (AssignMetadata sets labels and annotations)"),
        );
        return None;
    }
    if let [.., Node::List { key, .. }, Node::Field(last)] = path.0.as_slice() {
        if key == last {
            problem("/spec/location", format!("`{path}` would change the key `{key}` its list selector names"));
            return None;
        }
    }
    if kind != ASSIGN && matches!(path.0.last(), Some(Node::List { .. })) {
        problem("/spec/location", format!("a {kind}'s location cannot end with a list selector"));
        return None;
    }
    let mut parsed = Vec::new();
    for (i, t) in params.path_tests.iter().enumerate() {
        let at = format!("/spec/parameters/pathTests/{i}");
        let condition = match t.condition.as_str() {
            "MustExist" => Condition::MustExist,
            "MustNotExist" => Condition::MustNotExist,
            other => {
                problem(&format!("{at}/condition"), super::resources::one_of(other, &["MustExist", "MustNotExist"]));
                return None;
            }
        };
        match location::parse(&t.sub_path) {
            Ok(p) => parsed.push((p, condition)),
            Err(e) => {
                problem(&format!("{at}/subPath"), format!("`{}` is not a path: {e}", t.sub_path));
                return None;
            }
        }
    }
    Tests::new(path, &parsed).map_err(|e| problem("/spec/parameters/pathTests", e)).ok()
}

/// What the mutator sets, checked against its location.
fn setting(
    kind: &str,
    path: &Path,
    params: &MutatorParameters,
    problem: &mut impl FnMut(&str, String),
) -> Option<Setting> {
    let at = "/spec/parameters";
    match kind {
        MODIFY_SET => {
            let values = params.values.as_ref().map(|v| v.from_list.clone()).unwrap_or_default();
            match params.operation.as_deref() {
                None | Some("merge") => Some(Setting::Fixed(Set::Merge(values))),
                Some("prune") => Some(Setting::Fixed(Set::Prune(values))),
                Some(other) => {
                    problem(&format!("{at}/operation"), super::resources::one_of(other, &["merge", "prune"]));
                    None
                }
            }
        }
        ASSIGN_IMAGE => {
            let part = |p: &Option<String>| p.clone().unwrap_or_default();
            let (domain, image_path, tag) =
                (part(&params.assign_domain), part(&params.assign_path), part(&params.assign_tag));
            match location::image_parts(&domain, &image_path, &tag) {
                Ok(()) => Some(Setting::Fixed(Set::Image { domain, path: image_path, tag })),
                Err(e) => {
                    problem(at, e);
                    None
                }
            }
        }
        _ => assign(kind, path, params, problem),
    }
}

/// Assign's and AssignMetadata's `assign`: exactly one of `value` and `fromMetadata`.
fn assign(
    kind: &str,
    path: &Path,
    params: &MutatorParameters,
    problem: &mut impl FnMut(&str, String),
) -> Option<Setting> {
    let at = "/spec/parameters/assign";
    let Some(field) = &params.assign else {
        problem("/spec/parameters", format!("a {kind} needs `assign`: a `value` or `fromMetadata`"));
        return None;
    };
    if field.external_data.is_some() {
        problem(
            &format!("{at}/externalData"),
            "paved does not call external data providers: its answers depend only on what it is given; set a `value`"
                .into(),
        );
        return None;
    }
    let only_if = params.assign_if.as_ref().map(|a| (a.in_.clone(), a.not_in.clone()));
    match (&field.value, &field.from_metadata) {
        (Some(_), Some(_)) | (None, None) => {
            problem(at, "`assign` sets exactly one of `value` and `fromMetadata`".into());
            None
        }
        (None, Some(_)) if matches!(path.0.last(), Some(Node::List { .. })) => {
            problem(at, "cannot assign a metadata field to a list element".into());
            None
        }
        (None, Some(m)) => match m.field.as_str() {
            "name" => Some(Setting::Name),
            "namespace" => Some(Setting::Namespace),
            other => {
                problem(&format!("{at}/fromMetadata/field"), super::resources::one_of(other, &["name", "namespace"]));
                None
            }
        },
        (Some(value), None) => {
            if kind == ASSIGN_METADATA && !value.is_string() {
                problem(&format!("{at}/value"), format!("an AssignMetadata's value must be a string, not {value}"));
                return None;
            }
            if let Some(Node::List { key, value: selected }) = path.0.last() {
                let Some(selected) = selected else {
                    problem(
                        "/spec/location",
                        "a location cannot end with a glob: there is no one element to set".into(),
                    );
                    return None;
                };
                if value.get(key) != Some(selected) {
                    problem(
                        &format!("{at}/value"),
                        format!("the value set at `{path}` must be an object whose `{key}` is {selected}"),
                    );
                    return None;
                }
            }
            Some(Setting::Fixed(Set::Assign { value: value.clone(), only_if }))
        }
    }
}

/// `applyTo`: the kinds as `group/version/Kind` patterns, and the operations. AssignMetadata
/// has none; every other kind must name groups, versions and kinds, without globs.
fn apply_to(doc: &MutatorDocument, problem: &mut impl FnMut(&str, String)) -> (Vec<String>, Vec<Operation>) {
    let Some(apply_to) = &doc.spec.apply_to else {
        if doc.kind != ASSIGN_METADATA {
            problem("/spec", format!("a {} needs `applyTo`: the groups, versions and kinds it changes", doc.kind));
        }
        return (Vec::new(), vec![Operation::Create, Operation::Update]);
    };
    if doc.kind == ASSIGN_METADATA {
        problem("/spec/applyTo", "an AssignMetadata has no `applyTo`: its `match` selects what it changes".into());
    }
    if apply_to.is_empty() {
        problem("/spec/applyTo", format!("a {}'s `applyTo` names at least one group, version and kind", doc.kind));
    }
    let (mut kinds, mut operations) = (Vec::new(), Vec::new());
    for (i, a) in apply_to.iter().enumerate() {
        let at = format!("/spec/applyTo/{i}");
        if a.groups.is_empty() || a.versions.is_empty() || a.kinds.is_empty() {
            problem(&at, "each `applyTo` names its groups, versions and kinds".into());
        }
        if a.groups.iter().chain(&a.versions).chain(&a.kinds).any(|x| x.contains('*')) {
            problem(&at, "`applyTo` does not take globs".into());
        }
        for g in &a.groups {
            for v in &a.versions {
                let group = if g.is_empty() { "core" } else { g };
                kinds.extend(a.kinds.iter().map(|k| format!("{group}/{v}/{k}")));
            }
        }
        for (j, o) in a.operations.iter().enumerate() {
            match o.as_str() {
                "CREATE" => operations.push(Operation::Create),
                "UPDATE" => operations.push(Operation::Update),
                "*" => operations.extend([Operation::Create, Operation::Update]),
                other => problem(
                    &format!("{at}/operations/{j}"),
                    format!("`{other}`: Gatekeeper mutates on CREATE and UPDATE (or `*`)"),
                ),
            }
        }
        if a.operations.is_empty() {
            operations.extend([Operation::Create, Operation::Update]);
        }
    }
    operations.sort_unstable();
    operations.dedup();
    (kinds, operations)
}

/// What the mutator sets, known before it runs, for finding two that set one field to
/// different values: the location (a JSON pointer where it selects no list element) and an
/// Assign's fixed value.
fn writes(path: &Path, set: &Setting) -> Vec<(String, Value)> {
    let Setting::Fixed(Set::Assign { value, only_if: None }) = set else { return Vec::new() };
    let fields: Option<Vec<&str>> = path
        .0
        .iter()
        .map(|n| match n {
            Node::Field(f) => Some(f.as_str()),
            Node::List { .. } => None,
        })
        .collect();
    let field = match fields {
        Some(f) => f.iter().map(|f| format!("/{}", f.replace('~', "~0").replace('/', "~1"))).collect(),
        None => path.to_string(),
    };
    vec![(field, value.clone())]
}

/// The paved document the policy is compiled from: no rules, no CEL.
fn document(doc: &MutatorDocument) -> PolicyDocument {
    PolicyDocument {
        api_version: API_VERSION.to_owned(),
        kind: "Policy".to_owned(),
        metadata: metadata(&doc.metadata),
        spec: PolicySpec {
            description: Some(format!("Gatekeeper {} at {}", doc.kind, doc.spec.location)),
            severity: Default::default(),
            action: crate::model::Action::Deny,
            failure_policy: crate::model::FailurePolicy::Fail,
            match_: Match::default(),
            pod_controllers: false,
            params: None,
            params_schema: None,
            variables: Vec::new(),
            match_conditions: Vec::new(),
            audit_annotations: Vec::new(),
            rules: Vec::new(),
            mutations: Vec::new(),
            reinvocation_policy: Reinvocation::IfNeeded,
        },
    }
}
