//! Three-way upgrades: a service's objects as they are ("ours"), merged with the move from the
//! render of its recorded inputs on its version ("base") to the render of its migrated inputs
//! on the new version ("theirs").
//!
//! Field by field (leaves of mappings, lists item by item):
//!
//! - what only the new version changed is applied (`upgraded`);
//! - what only the team changed is kept under an extension point (`kept`), and reset to the
//!   golden path's value anywhere else (`reverted`: it was drift, and the upgrade says so);
//! - what both changed, to different values, is a `conflict`, left as the team has it unless
//!   the caller prefers a side;
//! - what the API server manages or defaults is never the team's change: the object keeps it.
//!
//! A change to a field Kubernetes does not update in place (a selector, a StatefulSet's
//! `volumeClaimTemplates`, a Service's `clusterIP`, a Job's template, ...) means the object has
//! to be replaced; the merge names those fields.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::diff::{self, Change};
use super::fleet::ignored;
use super::GoldenPath;
use crate::engine::resource::{identity_of, same_object};
use crate::k8s::merge_keys::{keyed, real_path, unkeyed};
use crate::k8s::{ResourceRef, IMMUTABLE, MUTABLE_ONLY};
use crate::load::pointer::{covers, set};
use crate::load::SourceRef;
use crate::Resource;

/// Which side a conflict is resolved for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prefer {
    /// The team's value, as the object has it.
    Ours,
    /// The new version's value.
    Theirs,
}

words!(Prefer, "side to prefer" { Ours => "ours", Theirs => "theirs" });

/// What the merge did with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldOutcome {
    /// Both the team and the new version changed it, to different values; left as the object
    /// has it.
    Conflict,
    /// A conflict resolved for the team's value (`prefer: ours`).
    Ours,
    /// A conflict resolved for the new version's value (`prefer: theirs`).
    Theirs,
    /// The team changed it outside the extension points; reset to the golden path's value.
    Reverted,
    /// The team changed it under an extension point; kept.
    Kept,
    /// The new version changed it; applied.
    Upgraded,
}

words!(FieldOutcome, "field outcome" { Conflict => "conflict", Ours => "ours", Theirs => "theirs", Reverted => "reverted", Kept => "kept", Upgraded => "upgraded" });

/// One field the team or the new version changed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FieldMerge {
    /// JSON pointer into the object.
    pub path: String,
    /// What the merge did.
    pub outcome: FieldOutcome,
    /// The old version's render of it (absent: it had none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<Value>,
    /// The object's value as it is (absent: it has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ours: Option<Value>,
    /// The new version's render of it (absent: it has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theirs: Option<Value>,
    /// The extension point the field is under, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extension_point: Option<String>,
    /// Where the object has it, when the object was read from a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

/// What happens to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// It stays as it is.
    Unchanged,
    /// Some of its fields change.
    Changed,
    /// The new version adds it.
    Added,
    /// The new version no longer renders it.
    Removed,
    /// The old version rendered it and the object is gone: the new version's is created.
    Restored,
}

words!(Disposition, "disposition" { Unchanged => "unchanged", Changed => "changed", Added => "added", Removed => "removed", Restored => "restored" });

/// One object of a service after the merge.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MergedObject {
    /// The object.
    pub object: ResourceRef,
    /// What happens to it.
    pub disposition: Disposition,
    /// Where it was read, when it was read from a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
    /// The fields the team or the new version changed, by path.
    pub fields: Vec<FieldMerge>,
    /// Fields that change and that Kubernetes does not update in place: applying the upgrade
    /// needs the object deleted and created again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<String>,
    /// The object after the upgrade (absent when it is removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged: Option<Value>,
}

impl MergedObject {
    /// Its unresolved conflicts.
    pub fn conflicts(&self) -> usize {
        self.fields.iter().filter(|f| f.outcome == FieldOutcome::Conflict).count()
    }
}

/// Merges a service's objects (`ours`) with the move from `base` (the old version's render)
/// to `theirs` (the new version's), as the module says; `new` is the new version, whose
/// extension points count.
pub(crate) fn merge(
    new: &GoldenPath,
    base: &[Value],
    theirs: &[Value],
    ours: &[&Resource],
    prefer: Option<Prefer>,
) -> Vec<MergedObject> {
    let find = |objects: &[Value], id: &ResourceRef| objects.iter().position(|o| same_object(&identity_of(o), id));
    let mut out = Vec::new();
    for t in theirs {
        let id = identity_of(t);
        let b = find(base, &id).and_then(|i| base.get(i));
        let o = ours.iter().find(|r| same_object(&r.identity(), &id));
        out.push(match (b, o) {
            (b, None) => MergedObject {
                disposition: if b.is_some() { Disposition::Restored } else { Disposition::Added },
                object: id,
                source: None,
                fields: Vec::new(),
                replace: Vec::new(),
                merged: Some(t.clone()),
            },
            // An object the new version adds that the team already has: every difference is
            // a change of both sides.
            (b, Some(o)) => object(new, b.unwrap_or(&Value::Object(Map::new())), o, t, prefer),
        });
    }
    for o in ours {
        let id = o.identity();
        if find(theirs, &id).is_some() {
            continue;
        }
        // Gone from the new version: removed. An object the old version did not render either
        // is the team's own, and stays.
        let removed = find(base, &id).is_some();
        out.push(MergedObject {
            object: id,
            disposition: if removed { Disposition::Removed } else { Disposition::Unchanged },
            source: o.source_of(""),
            fields: Vec::new(),
            replace: Vec::new(),
            merged: (!removed).then(|| o.value.clone()),
        });
    }
    out
}

/// Merges one object that the team has and the new version renders.
fn object(new: &GoldenPath, base: &Value, ours: &Resource, theirs: &Value, prefer: Option<Prefer>) -> MergedObject {
    let id = identity_of(theirs);
    let kind = id.kind.as_str();
    // Lists Kubernetes merges by key are merged by key: a team's extra env entry and the new
    // version's are two entries, not one position both changed.
    let (base, ours_keyed, theirs_keyed) = (keyed(base), keyed(&ours.value), keyed(theirs));
    let real = |path: &str| {
        real_path(&ours.value, &ours_keyed, path)
            .or_else(|| real_path(theirs, &theirs_keyed, path))
            .unwrap_or_else(|| path.to_owned())
    };
    let mut merged = theirs_keyed.clone();
    let mut fields = Vec::new();
    let team = diff::diff(&base, &ours_keyed, true);
    for c in &team {
        let theirs_at = theirs_keyed.pointer(&c.path);
        if theirs_at == c.after.as_ref() {
            continue;
        }
        let theirs_changed = theirs_at != c.before.as_ref() || list_moved(&base, &theirs_keyed, &c.path);
        let shown = Change { path: real(&c.path), ..c.clone() };
        if ignored(kind, &shown, &ours.value) {
            // The API server's value, not the team's: the object keeps it unless the new
            // version changes the field.
            if !theirs_changed {
                set(&mut merged, &c.path, c.after.clone());
            }
            continue;
        }
        let extension_point = new.extension_points.iter().find(|p| covers(p, &shown.path)).cloned();
        let outcome = match (theirs_changed, &extension_point, prefer) {
            (false, Some(_), _) => FieldOutcome::Kept,
            (false, None, _) => FieldOutcome::Reverted,
            (true, _, None) => FieldOutcome::Conflict,
            (true, _, Some(Prefer::Ours)) => FieldOutcome::Ours,
            (true, _, Some(Prefer::Theirs)) => FieldOutcome::Theirs,
        };
        if matches!(outcome, FieldOutcome::Kept | FieldOutcome::Conflict | FieldOutcome::Ours)
            && !set(&mut merged, &c.path, c.after.clone())
        {
            // The path no longer exists in the new render's shape: the team's value cannot go
            // where it was.
            fields.push(field(&shown, FieldOutcome::Conflict, theirs_at, extension_point, ours));
            continue;
        }
        fields.push(field(&shown, outcome, theirs_at, extension_point, ours));
    }
    for c in diff::diff(&base, &theirs_keyed, true) {
        let shown = Change { path: real(&c.path), ..c.clone() };
        if team.iter().any(|t| t.path == c.path) || ignored(kind, &shown, theirs) {
            continue;
        }
        let ours_at = ours_keyed.pointer(&c.path).cloned();
        fields.push(FieldMerge {
            source: ours.source_of(&shown.path),
            path: shown.path,
            outcome: FieldOutcome::Upgraded,
            base: c.before,
            ours: ours_at,
            theirs: c.after,
            extension_point: None,
        });
    }
    fields.sort_by(|a, b| (&a.path, a.outcome).cmp(&(&b.path, b.outcome)));
    let merged = unkeyed(&merged);
    let replace = immutable_changes(kind, &ours.value, &merged);
    MergedObject {
        disposition: if merged == ours.value { Disposition::Unchanged } else { Disposition::Changed },
        object: id,
        source: ours.source_of(""),
        fields,
        replace,
        merged: Some(merged),
    }
}

fn field(
    c: &Change,
    outcome: FieldOutcome,
    theirs: Option<&Value>,
    extension_point: Option<String>,
    ours: &Resource,
) -> FieldMerge {
    FieldMerge {
        path: c.path.clone(),
        outcome,
        base: c.before.clone(),
        ours: c.after.clone(),
        theirs: theirs.cloned(),
        extension_point,
        source: ours.source_of(&c.path),
    }
}

/// Whether a list on the way to `path` has a different length in the new render than in the
/// old: positions in it no longer name the same items.
fn list_moved(base: &Value, theirs: &Value, path: &str) -> bool {
    let mut at = String::new();
    for segment in path.split('/').skip(1) {
        if let (Some(Value::Array(b)), Some(Value::Array(t))) = (base.pointer(&at), theirs.pointer(&at)) {
            if b.len() != t.len() {
                return true;
            }
        }
        at.push('/');
        at.push_str(segment);
    }
    false
}

/// The fields that differ between `ours` and `merged` and that Kubernetes will not update in
/// place (an immutable ConfigMap's or Secret's data too), each named once by its pattern.
fn immutable_changes(kind: &str, ours: &Value, merged: &Value) -> Vec<String> {
    let locked = |v: &Value| v.get("immutable") == Some(&Value::Bool(true));
    let mut out: Vec<String> = Vec::new();
    // The merge keeps what the API server set unless the new version changes it, so every
    // difference here is one the upgrade makes.
    for c in diff::diff(ours, merged, true) {
        let under = |p: &str| covers(p, &c.path);
        let hit = IMMUTABLE
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, p)| (*p).to_owned())
            .find(|p| under(p))
            .or_else(|| {
                let (_, mutable) = MUTABLE_ONLY.iter().find(|(k, _)| *k == kind)?;
                (c.path.starts_with("/spec/") && !mutable.iter().any(|p| under(p))).then(|| top(&c.path, 2))
            })
            .or_else(|| {
                let data = ["/data", "/binaryData", "/stringData", "/immutable"];
                (matches!(kind, "ConfigMap" | "Secret") && locked(ours))
                    .then(|| data.iter().find(|p| under(p)).map(|p| (*p).to_owned()))
                    .flatten()
            });
        if let Some(p) = hit {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The first `n` segments of a pointer.
fn top(pointer: &str, n: usize) -> String {
    pointer.split('/').skip(1).take(n).map(|s| format!("/{s}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_kubernetes_will_not_update_in_place_are_named() {
        let sts = json!({"kind": "StatefulSet", "spec": {"replicas": 1, "serviceName": "db",
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}}]}});
        let mut grown = sts.clone();
        grown["spec"]["replicas"] = json!(3);
        assert!(immutable_changes("StatefulSet", &sts, &grown).is_empty(), "replicas change in place");
        grown["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = json!("5Gi");
        grown["spec"]["serviceName"] = json!("db-headless");
        assert_eq!(immutable_changes("StatefulSet", &sts, &grown), ["/spec/serviceName", "/spec/volumeClaimTemplates"]);

        let svc = json!({"kind": "Service", "spec": {"clusterIP": "10.0.0.1", "ports": [{"port": 80}]}});
        let mut moved = svc.clone();
        moved["spec"]["clusterIP"] = json!("10.0.0.2");
        moved["spec"]["ports"][0]["port"] = json!(8080);
        assert_eq!(immutable_changes("Service", &svc, &moved), ["/spec/clusterIP"]);

        let job =
            json!({"kind": "Job", "spec": {"backoffLimit": 1, "template": {"spec": {"containers": [{"image": "a"}]}}}});
        let mut changed = job.clone();
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("b");
        changed["spec"]["backoffLimit"] = json!(3);
        assert_eq!(immutable_changes("Job", &job, &changed), ["/spec/template"]);

        let cm = json!({"kind": "ConfigMap", "immutable": true, "data": {"a": "1"}});
        let mut edited = cm.clone();
        edited["data"]["a"] = json!("2");
        assert_eq!(immutable_changes("ConfigMap", &cm, &edited), ["/data"]);
        let mut open = cm.clone();
        open.as_object_mut().unwrap().remove("immutable");
        let mut edited = open.clone();
        edited["data"]["a"] = json!("2");
        assert!(immutable_changes("ConfigMap", &open, &edited).is_empty());

        let pvc = json!({"kind": "PersistentVolumeClaim", "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
        let mut bigger = pvc.clone();
        bigger["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert!(immutable_changes("PersistentVolumeClaim", &pvc, &bigger).is_empty(), "a claim can grow");
        bigger["spec"]["accessModes"][0] = json!("ReadWriteMany");
        assert_eq!(immutable_changes("PersistentVolumeClaim", &pvc, &bigger), ["/spec/accessModes"]);
    }

    #[test]
    fn set_makes_paths_and_refuses_impossible_ones() {
        let mut v = json!({"a": [1, 2]});
        assert!(set(&mut v, "/b/c", Some(json!(1))));
        assert!(set(&mut v, "/a/2", Some(json!(3))));
        assert!(set(&mut v, "/a/0", None));
        assert!(!set(&mut v, "/a/9", Some(json!(0))), "past the end of a list");
        assert!(!set(&mut v, "/b/c/d", Some(json!(0))), "under a scalar");
        assert_eq!(v, json!({"a": [2, 3], "b": {"c": 1}}));
    }
}
