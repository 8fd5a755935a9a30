//! Upgrades: inputs migrated across versions (chained through every version passed), the new
//! manifests, and what changed.

use std::collections::BTreeMap;

use semver::Version;
use serde::Serialize;
use serde_json::Value;

use super::diff::{self, Change, PatchOp, Requests};
use super::edit::{rewrite, Rewrite};
use super::fleet::{claims, Claim};
use super::merge::{merge, Disposition, MergedObject, Prefer};
use super::render::RenderError;
use crate::compile::bundle::Bundle;
use crate::compile::golden_path::Migration;
use crate::compile::golden_path::{ANNOTATION_INPUTS, ANNOTATION_PATH};
use crate::engine::resource::{identity_of, same_object};
use crate::error::Error;
use crate::k8s::ResourceRef;
use crate::load::pointer::{set, unescape_segment};
use crate::model::MigrationOp;
use crate::Resource;

/// What `upgrade` did and would change.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Upgrade {
    /// `name@version` the service is on.
    pub from: String,
    /// `name@version` it moves to.
    pub to: String,
    /// The migration operations that changed the inputs, in the order applied.
    pub migrations: Vec<Applied>,
    /// The inputs as written, before.
    pub inputs_before: Value,
    /// The migrated inputs, to write back: where the old inputs relied on a default, the new
    /// version's default applies (unless a `set-default` migration pinned the old one).
    pub inputs: Value,
    /// The inputs' change as a JSON Patch.
    pub inputs_patch: Vec<PatchOp>,
    /// The new manifests (they pass the new version's policies).
    pub manifests: Vec<Value>,
    /// Each object added, removed or changed, with its JSON Patch.
    pub changes: Vec<ObjectChange>,
    /// What the manifests request before and after.
    pub requests: RequestsChange,
}

/// One migration operation that changed the inputs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Applied {
    /// The version whose migration it is.
    pub version: String,
    /// What it did, for people: `moved /cpu to /resources/cpu`.
    pub description: String,
}

/// How one object changes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ObjectChange {
    /// The object.
    pub object: ResourceRef,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// Field by field, with the values before and after (for a changed object).
    pub fields: Vec<Change>,
    /// The JSON Patch from the old object to the new one (for a changed object).
    pub patch: Vec<PatchOp>,
}

/// Requested CPU and memory before and after.
#[derive(Debug, Clone, Copy, Serialize)]
#[non_exhaustive]
pub struct RequestsChange {
    /// Before.
    pub before: Requests,
    /// After.
    pub after: Requests,
}

/// Upgrades a service on `from` (exact `NAME@VERSION`) with `inputs` to the highest version
/// `range` allows: migrates the inputs through every version in between, renders both, and
/// describes the change. A step to a new major version needs a migration of that version that
/// covers the version before it; without one the upgrade is refused.
pub(crate) fn upgrade(bundle: &Bundle, from: &str, inputs: &Value, range: &str) -> Result<Upgrade, Error> {
    upgrade_and_base(bundle, from, inputs, range).map(|(upgrade, _)| upgrade)
}

/// As [`upgrade`], with the old version's render of `inputs` (the base of a three-way merge).
fn upgrade_and_base(bundle: &Bundle, from: &str, inputs: &Value, range: &str) -> Result<(Upgrade, Vec<Value>), Error> {
    let refuse = |reason: String| Error::CannotUpgrade { from: from.to_owned(), reason };
    let (name, version) =
        from.split_once('@').ok_or_else(|| refuse("give the version it is on: NAME@VERSION".into()))?;
    // An exact version: `NAME@VERSION` finds that one and no other.
    Version::parse(version).map_err(|e| refuse(format!("`{version}` is not a version: {e}")))?;
    let old = bundle.golden_path(from)?;
    let new = bundle.golden_path(&format!("{name}@{range}"))?;
    if new.version() <= old.version() {
        return Err(refuse(format!(
            "{name}@{range} is {}, which is not newer than {}; nothing to upgrade",
            new.version(),
            old.version()
        )));
    }
    let before = old.build(inputs, None)?;
    let written = crate::compile::template::sorted(inputs.clone());
    let mut migrated = written.clone();
    let mut applied = Vec::new();
    let mut at = old.version().clone();
    for step in bundle.golden_paths().filter(|g| g.name() == name && g.version() > old.version()) {
        if step.version() > new.version() {
            break;
        }
        let migrations: Vec<&Migration> = step.migrations.iter().filter(|m| m.from.matches(&at)).collect();
        if step.version().major > at.major && migrations.is_empty() {
            let covered: Vec<String> = step.migrations.iter().map(|m| m.from.to_string()).collect();
            return Err(refuse(format!(
                "{name} {at} → {} is a major upgrade and no migration of {name}@{} covers {at} ({}); add one to \
                 {name}@{}, or upgrade to the newest {}.x first",
                step.version(),
                step.version(),
                if covered.is_empty() {
                    "it has none".into()
                } else {
                    format!("it migrates from {}", covered.join("; "))
                },
                step.version(),
                at.major
            )));
        }
        for op in migrations.iter().flat_map(|m| &m.ops) {
            for description in
                apply(op, &mut migrated).map_err(|e| refuse(format!("{name}@{}: {e}", step.version())))?
            {
                applied.push(Applied { version: step.version().to_string(), description });
            }
        }
        at = step.version().clone();
    }
    let migrated = crate::compile::template::sorted(migrated);
    let after = new.render(&migrated, bundle).map_err(|e| match e {
        RenderError::NonCompliant { golden_path, report } => refuse(format!(
            "{golden_path} renders the migrated inputs into manifests its policies deny ({} denied)",
            report.summary.denied
        )),
        RenderError::Invalid(Error::Invalid(d)) => refuse(format!(
            "the migrated inputs do not fit {}: {}",
            new.id(),
            d.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("; ")
        )),
        RenderError::Invalid(other) => other,
    })?;
    let upgrade = Upgrade {
        from: old.id(),
        to: new.id(),
        migrations: applied,
        inputs_patch: diff::patch(&diff::diff(&written, &migrated, false)),
        changes: object_changes(&before.manifests, &after.manifests),
        requests: RequestsChange { before: Requests::of(&before.manifests), after: Requests::of(&after.manifests) },
        inputs_before: written,
        inputs: migrated,
        manifests: after.manifests,
    };
    Ok((upgrade, before.manifests))
}

/// Objects matched by kind, namespace and name.
fn object_changes(before: &[Value], after: &[Value]) -> Vec<ObjectChange> {
    let old: Vec<_> = before.iter().map(|v| (identity_of(v), v)).collect();
    let new: Vec<_> = after.iter().map(|v| (identity_of(v), v)).collect();
    let mut out = Vec::new();
    for (id, v) in &old {
        let change = match new.iter().find(|(n, _)| same_object(n, id)) {
            Some((_, w)) => {
                let fields = diff::diff(v, w, false);
                if fields.is_empty() {
                    continue;
                }
                ObjectChange { object: id.clone(), change: "changed", patch: diff::patch(&fields), fields }
            }
            None => ObjectChange { object: id.clone(), change: "removed", fields: vec![], patch: vec![] },
        };
        out.push(change);
    }
    for (id, _) in new.iter().filter(|(n, _)| !old.iter().any(|(o, _)| same_object(o, n))) {
        out.push(ObjectChange { object: id.clone(), change: "added", fields: vec![], patch: vec![] });
    }
    out
}

/// Applies one operation; says what it changed (nothing when its path is absent).
pub(crate) fn apply(op: &MigrationOp, inputs: &mut Value) -> Result<Vec<String>, String> {
    let mut done = Vec::new();
    match op {
        MigrationOp::Rename { path, to } => {
            for (parent, key) in expand_parents(inputs, path) {
                let Some(Value::Object(m)) = inputs.pointer_mut(&parent) else { continue };
                if m.contains_key(to) && m.contains_key(&key) {
                    return Err(format!("cannot rename {parent}/{key} to `{to}`: {parent}/{to} is already set"));
                }
                let Some(v) = m.remove(&key) else { continue };
                m.insert(to.clone(), v);
                done.push(format!("renamed {parent}/{key} to {parent}/{to}"));
            }
        }
        MigrationOp::Move { from, to } => {
            if let Some(v) = take(inputs, from) {
                if inputs.pointer(to).is_some() {
                    return Err(format!("cannot move {from} to {to}: {to} is already set"));
                }
                if !set(inputs, to, Some(v)) {
                    return Err(format!("cannot move {from} to {to}: a parent of {to} is not a mapping"));
                }
                done.push(format!("moved {from} to {to}"));
            }
        }
        MigrationOp::SetDefault { path, value } => {
            for (parent, key) in expand_parents(inputs, path) {
                if let Some(Value::Object(m)) = inputs.pointer_mut(&parent) {
                    if !m.contains_key(&key) {
                        m.insert(key.clone(), value.clone());
                        done.push(format!("set {parent}/{key} to {value}"));
                    }
                }
            }
        }
        MigrationOp::Remove { path } => {
            for (parent, key) in expand_parents(inputs, path) {
                if let Some(old) = inputs.pointer_mut(&parent).and_then(|p| remove_child(p, &key)) {
                    done.push(format!("removed {parent}/{key} (was {old})"));
                }
            }
        }
        MigrationOp::MapValue { path, values } => {
            for (parent, key) in expand_parents(inputs, path) {
                let Some(v) = inputs.pointer_mut(&format!("{parent}/{}", crate::load::pointer::escape_segment(&key)))
                else {
                    continue;
                };
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                if let Some(new) = values.get(&text) {
                    done.push(format!("mapped {parent}/{key} from {v} to {new}"));
                    *v = new.clone();
                }
            }
        }
    }
    Ok(done)
}

/// Every existing parent a pointer pattern (`*` for any item or key) names, with the last
/// segment (unescaped).
fn expand_parents(root: &Value, pattern: &str) -> Vec<(String, String)> {
    let segments: Vec<String> = pattern.split('/').skip(1).map(unescape_segment).collect();
    let Some((last, parents)) = segments.split_last() else { return Vec::new() };
    let mut at = vec![(String::new(), root)];
    for seg in parents {
        let mut next = Vec::new();
        for (p, v) in at {
            let children: Vec<(String, &Value)> = match v {
                Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v)).collect(),
                Value::Array(a) => a.iter().enumerate().map(|(i, v)| (i.to_string(), v)).collect(),
                _ => Vec::new(),
            };
            for (k, c) in children.into_iter().filter(|(k, _)| seg == "*" || k == seg) {
                next.push((format!("{p}/{}", crate::load::pointer::escape_segment(&k)), c));
            }
        }
        at = next;
    }
    at.into_iter().filter(|(_, v)| v.is_object() || v.is_array()).map(|(p, _)| (p, last.clone())).collect()
}

fn remove_child(parent: &mut Value, key: &str) -> Option<Value> {
    match parent {
        Value::Object(m) => m.remove(key),
        Value::Array(a) => key.parse::<usize>().ok().filter(|i| *i < a.len()).map(|i| a.remove(i)),
        _ => None,
    }
}

fn take(root: &mut Value, pointer: &str) -> Option<Value> {
    let (parent, key) = pointer.rsplit_once('/')?;
    remove_child(root.pointer_mut(parent)?, &unescape_segment(key))
}

/// A service's objects moved to a newer golden path version by a three-way merge
/// ([`super::merge`]): the team's extensions kept, the new version's changes applied, and
/// conflicts and replacements named.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ServiceUpgrade {
    /// The service's name (its `name` input, or its first object's name).
    pub service: String,
    /// Its first object's namespace.
    pub namespace: String,
    /// The owning team: its objects' `team` label, if one names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The migration of its inputs and the new render.
    pub upgrade: Upgrade,
    /// Every object after the merge.
    pub objects: Vec<MergedObject>,
    /// Fields both sides changed and nothing resolved.
    pub conflicts: usize,
    /// What the service's objects request as they are, and after the merge.
    pub requests: RequestsChange,
}

impl ServiceUpgrade {
    /// Whether it applies as it is: no unresolved conflict.
    pub fn clean(&self) -> bool {
        self.conflicts == 0
    }

    /// The objects that have to be deleted and created again.
    pub fn replaced(&self) -> impl Iterator<Item = &MergedObject> {
        self.objects.iter().filter(|o| !o.replace.is_empty())
    }
}

/// Upgrades the service whose objects (as rendered, then changed by its team) are `objects`, to
/// the highest version `range` allows: the version and inputs its annotations record are the
/// base of a three-way merge with the new version's render.
pub(super) fn upgrade_objects(
    bundle: &Bundle,
    objects: &[Resource],
    range: &str,
    prefer: Option<Prefer>,
) -> Result<ServiceUpgrade, Error> {
    let (claims, _) = claims(objects);
    match claims.as_slice() {
        [claim] => upgrade_claim(bundle, claim, range, prefer),
        [] => Err(Error::CannotUpgrade {
            from: "these objects".into(),
            reason: format!(
                "none of them records a golden path (`{ANNOTATION_PATH}`); render the service with `paved render`"
            ),
        }),
        many => Err(Error::CannotUpgrade {
            from: "these objects".into(),
            reason: format!(
                "they are {} services ({}); upgrade them together with `paved upgrade --all`",
                many.len(),
                many.iter().map(|c| c.service().0).collect::<Vec<_>>().join(", ")
            ),
        }),
    }
}

fn upgrade_claim(
    bundle: &Bundle,
    claim: &Claim<'_>,
    range: &str,
    prefer: Option<Prefer>,
) -> Result<ServiceUpgrade, Error> {
    let from = &claim.golden_path;
    let refuse = |reason: String| Error::CannotUpgrade { from: from.clone(), reason };
    let inputs = claim
        .recorded_inputs()
        .ok_or_else(|| refuse(format!("its objects do not record their inputs as JSON (`{ANNOTATION_INPUTS}`)")))?;
    let (upgrade, base) = upgrade_and_base(bundle, from, &inputs, range)?;
    let new = bundle.golden_path(&upgrade.to)?;
    let objects = merge(new, &base, &upgrade.manifests, &claim.objects, prefer);
    let (service, namespace) = claim.service();
    let team = claim
        .objects
        .iter()
        .find_map(|o| o.value.pointer("/metadata/labels/team").and_then(Value::as_str).map(str::to_owned));
    let conflicts = objects.iter().map(MergedObject::conflicts).sum();
    let now: Vec<Value> = claim.objects.iter().map(|o| o.value.clone()).collect();
    let after: Vec<Value> = objects.iter().filter_map(|o| o.merged.clone()).collect();
    let requests = RequestsChange { before: Requests::of(&now), after: Requests::of(&after) };
    Ok(ServiceUpgrade { service, namespace, team, upgrade, objects, conflicts, requests })
}

/// One service of a fleet upgrade.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "status")]
pub enum Planned {
    /// Upgraded, or with conflicts to resolve.
    Upgrade(Box<ServiceUpgrade>),
    /// Already on the newest version the range allows.
    Current {
        /// The service.
        service: String,
        /// Its namespace.
        namespace: String,
        /// The golden path version it is on.
        golden_path: String,
    },
    /// Not upgraded, and why (an unknown version, no migration, inputs the new version refuses).
    Refused {
        /// The service.
        service: String,
        /// Its namespace.
        namespace: String,
        /// The golden path version it claims.
        golden_path: String,
        /// Why.
        reason: String,
    },
}

/// The plan of `upgrade --all`: every service found, by namespace and name.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FleetUpgrade {
    /// Each service.
    pub services: Vec<Planned>,
    /// Counts.
    pub summary: FleetUpgradeSummary,
}

/// Counts over a fleet upgrade.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FleetUpgradeSummary {
    /// Services found.
    pub services: usize,
    /// Upgraded with no conflict.
    pub upgraded: usize,
    /// With conflicts left.
    pub conflicted: usize,
    /// Already current.
    pub current: usize,
    /// Refused.
    pub refused: usize,
    /// Unresolved conflicts, all services.
    pub conflicts: usize,
    /// Objects to replace, all services.
    pub replacements: usize,
}

/// Plans the upgrade of every service in `resources` to the highest version of its golden path
/// that `range` allows.
pub(super) fn upgrade_all(
    bundle: &Bundle,
    resources: &[Resource],
    range: &str,
    prefer: Option<Prefer>,
) -> FleetUpgrade {
    let (claims, _) = claims(resources);
    let services: Vec<Planned> = claims
        .iter()
        .map(|c| {
            let (service, namespace) = c.service();
            let name = c.golden_path.split_once('@').map_or(c.golden_path.as_str(), |(n, _)| n);
            let current = bundle.golden_path(&c.golden_path).ok().map(|g| g.version().clone());
            let target = bundle.golden_path(&format!("{name}@{range}")).ok().map(|g| g.version().clone());
            if let (Some(current), Some(target)) = (&current, &target) {
                if target <= current {
                    return Planned::Current { service, namespace, golden_path: c.golden_path.clone() };
                }
            }
            match upgrade_claim(bundle, c, range, prefer) {
                Ok(u) => Planned::Upgrade(Box::new(u)),
                Err(e) => Planned::Refused {
                    service,
                    namespace,
                    golden_path: c.golden_path.clone(),
                    reason: match e {
                        Error::CannotUpgrade { reason, .. } => reason,
                        other => other.to_string(),
                    },
                },
            }
        })
        .collect();
    let mut summary = FleetUpgradeSummary { services: services.len(), ..Default::default() };
    for s in &services {
        match s {
            Planned::Upgrade(u) if u.clean() => summary.upgraded += 1,
            Planned::Upgrade(_) => summary.conflicted += 1,
            Planned::Current { .. } => summary.current += 1,
            Planned::Refused { .. } => summary.refused += 1,
        }
        if let Planned::Upgrade(u) = s {
            summary.conflicts += u.conflicts;
            summary.replacements += u.replaced().count();
        }
    }
    FleetUpgrade { services, summary }
}

/// The files `upgrades` rewrite, each rewritten in memory with the smallest edits (comments and
/// key order kept): a merged object replaces its document, an added one goes to the file of its
/// service's first object, a removed one leaves. `read` gives a file's text. Each is `(file,
/// its text before, the rewrite)`; writing them is the caller's (nothing is written when one
/// cannot be rewritten).
pub fn rewrite_upgrades<'u>(
    upgrades: impl Iterator<Item = &'u ServiceUpgrade>,
    read: &dyn Fn(&str) -> Result<String, Error>,
) -> Result<Vec<(String, String, Rewrite)>, Error> {
    #[derive(Default)]
    struct Edits {
        changes: Vec<Value>,
        added: Vec<Value>,
        removed: Vec<ResourceRef>,
    }
    let mut files: BTreeMap<String, Edits> = BTreeMap::new();
    for u in upgrades {
        let home = u.objects.iter().find_map(|o| o.source.as_ref()).map(|s| s.file.clone());
        for o in &u.objects {
            let Some(file) = o.source.as_ref().map(|s| s.file.clone()).or_else(|| home.clone()) else { continue };
            if file == "<stdin>" {
                return Err(Error::CannotUpgrade {
                    from: u.upgrade.from.clone(),
                    reason: "its manifests came from standard input, so there is no file to rewrite".into(),
                });
            }
            let edits = files.entry(file).or_default();
            match (&o.merged, o.disposition) {
                (_, Disposition::Removed) => edits.removed.push(o.object.clone()),
                (Some(m), Disposition::Added | Disposition::Restored) => edits.added.push(m.clone()),
                (Some(m), _) => edits.changes.push(m.clone()),
                (None, _) => {}
            }
        }
    }
    files
        .into_iter()
        .map(|(file, edits)| {
            let text = read(&file)?;
            let rewrite = rewrite(&file, &text, &edits.changes, &edits.added, &edits.removed)?;
            Ok((file, text, rewrite))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(op: serde_json::Value, mut inputs: Value) -> (Value, Vec<String>) {
        let op: MigrationOp = serde_json::from_value(op).unwrap();
        let done = apply(&op, &mut inputs).unwrap();
        (inputs, done)
    }

    #[test]
    fn each_operation() {
        let (v, d) = run(json!({"rename": {"path": "/a/b", "to": "c"}}), json!({"a": {"b": 1}}));
        assert_eq!((v, d.len()), (json!({"a": {"c": 1}}), 1));
        let (v, _) = run(json!({"move": {"from": "/cpu", "to": "/resources/cpu"}}), json!({"cpu": "1"}));
        assert_eq!(v, json!({"resources": {"cpu": "1"}}));
        let (v, d) = run(json!({"move": {"from": "/cpu", "to": "/resources/cpu"}}), json!({}));
        assert_eq!((v, d.len()), (json!({}), 0));
        let (v, _) = run(json!({"set-default": {"path": "/tier", "value": "standard"}}), json!({}));
        assert_eq!(v, json!({"tier": "standard"}));
        let (v, d) = run(json!({"set-default": {"path": "/tier", "value": "standard"}}), json!({"tier": "x"}));
        assert_eq!((v, d.len()), (json!({"tier": "x"}), 0));
        let (v, _) =
            run(json!({"remove": {"path": "/env/*/secret"}}), json!({"env": [{"secret": 1, "n": 2}, {"n": 3}]}));
        assert_eq!(v, json!({"env": [{"n": 2}, {"n": 3}]}));
        let (v, _) = run(
            json!({"map-value": {"path": "/environment", "values": {"production": "prod"}}}),
            json!({"environment": "production"}),
        );
        assert_eq!(v, json!({"environment": "prod"}));
    }

    #[test]
    fn conflicts_are_errors() {
        let op: MigrationOp = serde_json::from_value(json!({"rename": {"path": "/a", "to": "b"}})).unwrap();
        assert!(apply(&op, &mut json!({"a": 1, "b": 2})).unwrap_err().contains("already set"));
    }
}
