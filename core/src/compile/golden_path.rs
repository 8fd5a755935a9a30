//! Golden path definitions: a `GoldenPath` document compiled once (its inputs schema, structured
//! templates, policy ranges, extension points, migrations and deprecation), and the pure part of
//! a render: inputs checked and defaulted, templates instantiated, provenance stamped. Judging a
//! render against policies sits above evaluation, in `golden`.

use std::sync::Arc;

use semver::{Version, VersionReq};
use serde_json::{json, Map, Value};

use super::template::{self, sorted, Item};
use crate::error::{did_you_mean, Diagnostic, Diagnostics, Error};
use crate::load::{Origin, Sourced};
use crate::model::{Deprecation, GoldenPathDocument, MigrationOp};

/// The annotation naming the golden path and version an object was rendered from.
pub const ANNOTATION_PATH: &str = "paved.dev/golden-path";
/// The annotation holding the inputs an object was rendered from, as written (compact JSON, keys
/// sorted): a re-render of the same version fills in the same defaults, and an upgrade lets the
/// new version's defaults apply where the developer relied on defaults.
pub const ANNOTATION_INPUTS: &str = "paved.dev/inputs";
/// Where inputs too large to copy into every object are recorded instead: the sha256 (hex) of
/// the same compact JSON. A service on a digest needs its inputs file to be re-rendered.
pub(crate) const ANNOTATION_INPUTS_DIGEST: &str = "paved.dev/inputs-sha256";
/// Inputs larger than this (as compact JSON) are recorded by digest, not copied into every
/// object.
pub(crate) const INPUTS_INLINE: usize = 16 << 10;
/// Kubernetes' limit on the annotations of one object: the keys and values together.
pub(crate) const ANNOTATIONS_MAX: usize = 256 << 10;
/// The most a render may make, as JSON: a template that repeats without bound is an error, not
/// gigabytes of manifests.
pub(crate) const RENDER_MAX: usize = 16 << 20;

/// A golden path: a versioned blueprint, compiled once, that turns a developer's inputs into
/// complete manifests ([`GoldenPath::render`]); live objects are checked against it with
/// [`GoldenPath::conform`], moved between versions with [`GoldenPath::upgrade`], and counted
/// across a fleet with [`GoldenPath::outdated`].
#[derive(Debug)]
pub struct GoldenPath {
    pub(crate) name: String,
    pub(crate) version: Version,
    pub(crate) description: Option<String>,
    pub(crate) inputs: Value,
    pub(crate) validator: jsonschema::Validator,
    pub(crate) outputs: Vec<Item>,
    pub(crate) policies: Vec<(String, VersionReq)>,
    pub(crate) extension_points: Vec<String>,
    pub(crate) migrations: Vec<Migration>,
    pub(crate) deprecated: Option<Deprecation>,
    pub(crate) sunset: Option<jiff::Timestamp>,
    pub(crate) origin: Origin,
}

/// A compiled migration: the versions it migrates from, and its operations.
#[derive(Debug)]
pub(crate) struct Migration {
    pub(crate) from: VersionReq,
    pub(crate) ops: Vec<MigrationOp>,
}

/// Validated inputs with defaults filled in, and the manifests with provenance: a render before
/// its policy check.
pub(crate) struct Built {
    pub inputs: Value,
    pub manifests: Vec<Value>,
}

impl GoldenPath {
    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its version.
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// What it is for.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// `name@version`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The `(apiVersion, kind)` of every object it renders; `None` when one is computed as it
    /// renders.
    pub fn kinds(&self) -> Option<Vec<(String, String)>> {
        use crate::compile::template::Node;
        let literal = |entries: &[(String, Node)], key: &str| {
            entries.iter().find(|(k, _)| k == key).and_then(|(_, n)| match n {
                Node::Literal(Value::String(s)) => Some(s.clone()),
                _ => None,
            })
        };
        let mut out = Vec::new();
        for item in &self.outputs {
            let kind = match &item.node {
                Node::Map { entries, .. } => literal(entries, "apiVersion").zip(literal(entries, "kind")),
                Node::Literal(v) => v["apiVersion"].as_str().zip(v["kind"].as_str()).map(|(a, k)| (a.into(), k.into())),
                _ => None,
            }?;
            if !out.contains(&kind) {
                out.push(kind);
            }
        }
        Some(out)
    }

    /// The JSON Schema of its inputs.
    pub fn inputs_schema(&self) -> &Value {
        &self.inputs
    }

    /// The JSON pointers a service may change without that counting as drift.
    pub fn extension_points(&self) -> &[String] {
        &self.extension_points
    }

    /// Set when this version is deprecated.
    pub fn deprecation(&self) -> Option<&Deprecation> {
        self.deprecated.as_ref()
    }

    /// Whether this version's sunset date is at or before `now`.
    pub fn is_sunset(&self, now: jiff::Timestamp) -> bool {
        self.sunset.is_some_and(|s| s <= now)
    }

    pub(crate) fn compile(doc: &GoldenPathDocument, origin: &Origin) -> Result<GoldenPath, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let version = doc.metadata.version.clone();
        if version.is_none() {
            diags.push(origin.diagnostic(
                "/metadata",
                "a golden path needs `metadata.version`",
                Some("services pin golden paths by version: add `version: 1.0.0`".into()),
            ));
        }
        let validator = jsonschema::draft202012::options()
            .build(&doc.spec.inputs)
            .map_err(|e| diags.push(origin.diagnostic("/spec/inputs", format!("invalid JSON Schema: {e}"), None)))
            .ok();
        let outputs = outputs(doc, origin, &mut diags);
        let policies = policy_ranges(doc, origin, &mut diags);
        let migrations = migrations(doc, origin, version.as_ref(), &mut diags);
        let sunset = sunset(doc, origin, &mut diags);
        match (version, validator) {
            (Some(version), Some(validator)) if diags.is_empty() => Ok(GoldenPath {
                name: doc.metadata.name.clone(),
                version,
                description: doc.spec.description.clone(),
                inputs: doc.spec.inputs.clone(),
                validator,
                outputs,
                policies,
                extension_points: doc.spec.extension_points.clone(),
                migrations,
                deprecated: doc.spec.deprecated.clone(),
                sunset,
                origin: origin.clone(),
            }),
            _ => Err(diags),
        }
    }

    /// Checks the inputs, fills defaults, builds the manifests and stamps their provenance.
    pub(crate) fn build(&self, inputs: &Value, origin: Option<&Sourced>) -> Result<Built, Error> {
        self.check_inputs(inputs, origin)?;
        let written = sorted(inputs.clone());
        let stamp = serde_json::to_string(&written).unwrap_or_default();
        // Large inputs are recorded once by digest, not copied into every object.
        let digest = (stamp.len() > INPUTS_INLINE).then(|| {
            use sha2::Digest;
            sha2::Sha256::digest(stamp.as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>()
        });
        let mut inputs = written;
        fill_defaults(&mut inputs, &self.inputs);
        let inputs = sorted(inputs);
        let id = self.id();
        let mut manifests = self.instantiate(&inputs, &id)?;
        for (i, m) in manifests.iter_mut().enumerate() {
            let Some(obj) = m.as_object_mut() else {
                return Err(self.invalid(&format!("/spec/outputs/{i}"), format!("output {i} of {id} is not a mapping")));
            };
            let meta = obj.entry("metadata").or_insert_with(|| json!({}));
            let Some(meta) = meta.as_object_mut() else {
                return Err(self.invalid(
                    &format!("/spec/outputs/{i}"),
                    format!("output {i} of {id} has a `metadata` that is not a mapping"),
                ));
            };
            let annotations = meta.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
            if let Some(a) = annotations.as_object_mut() {
                a.insert(ANNOTATION_PATH.into(), Value::String(id.clone()));
                match &digest {
                    None => a.insert(ANNOTATION_INPUTS.into(), Value::String(stamp.clone())),
                    Some(d) => a.insert(ANNOTATION_INPUTS_DIGEST.into(), Value::String(d.clone())),
                };
                let size: usize =
                    a.iter().map(|(k, v)| k.len() + v.as_str().map_or_else(|| v.to_string().len(), str::len)).sum();
                if size > ANNOTATIONS_MAX {
                    return Err(self.invalid(
                        &format!("/spec/outputs/{i}"),
                        format!(
                            "output {i} of {id} has {size} bytes of annotations for these inputs; Kubernetes allows {ANNOTATIONS_MAX}"
                        ),
                    ));
                }
            }
        }
        let size: usize = manifests.iter().map(|m| m.to_string().len()).sum();
        if size > RENDER_MAX {
            return Err(self.invalid(
                "/spec/outputs",
                format!(
                    "{id} renders {} MiB of manifests for these inputs; the most a render may make is {} MiB",
                    size >> 20,
                    RENDER_MAX >> 20
                ),
            ));
        }
        Ok(Built { inputs, manifests })
    }

    /// The outputs for these inputs.
    fn instantiate(&self, inputs: &Value, id: &str) -> Result<Vec<Value>, Error> {
        let path = json!({ "name": self.name, "version": self.version.to_string() });
        let scope = crate::cel::Activation::new(
            vec![crate::cel::Value::json(inputs), crate::cel::Value::json(&path)],
            &[],
            &[],
        );
        let mut manifests = Vec::new();
        for (i, item) in self.outputs.iter().enumerate() {
            template::render_item(item, &format!("/spec/outputs/{i}"), &scope, &mut manifests).map_err(|(at, m)| {
                Error::Invalid(Diagnostics(vec![self.origin.diagnostic(
                    &at,
                    format!("rendering {id}: {m}"),
                    Some("the golden path's template fails for these inputs".into()),
                )]))
            })?;
        }
        Ok(manifests)
    }

    pub(crate) fn invalid(&self, at: &str, message: String) -> Error {
        Error::Invalid(Diagnostics(vec![self.origin.diagnostic(at, message, None)]))
    }

    /// Every way the inputs break the schema, each at its place in the inputs file.
    /// What a migration of this version did with the input at `pointer`, when inputs written for
    /// an older version still have it: they need `paved upgrade`, not a fix by hand.
    fn migrated(&self, pointer: &str) -> Option<String> {
        self.migrations.iter().find_map(|m| {
            m.ops.iter().find_map(|op| {
                let what = match op {
                    MigrationOp::Rename { path, to } if path == pointer => format!("renamed to `{to}`"),
                    MigrationOp::Move { from, to } if from == pointer => format!("moved to `{to}`"),
                    MigrationOp::Remove { path } if path == pointer => "removed".to_owned(),
                    _ => return None,
                };
                Some(format!(
                    "`{pointer}` is an input of {} {}, {what} in {}: run `paved upgrade` to bring these inputs to it",
                    self.name, m.from, self.version
                ))
            })
        })
    }

    fn check_inputs(&self, inputs: &Value, doc: Option<&Sourced>) -> Result<(), Error> {
        let mut diags = Vec::new();
        for e in self.validator.iter_errors(inputs) {
            let pointer = e.instance_path().to_string();
            let keyword = e.kind().keyword().to_owned();
            let schema_path = e.schema_path().to_string();
            let rule = self.origin.source_ref(&format!("/spec/inputs{schema_path}"));
            // The nearest description above the rule says what the input is for.
            let described = std::iter::successors(Some(schema_path.as_str()), |p| p.rsplit_once('/').map(|x| x.0))
                .take(3)
                .find_map(|p| self.inputs.pointer(p).and_then(|s| s.get("description")).and_then(Value::as_str))
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            let requires = format!(
                "{}@{} requires this: `{keyword}` at {}:{}{described}",
                self.name, self.version, rule.file, rule.line
            );
            // Each misspelt key is a problem of its own, on its own line.
            let found: Vec<(String, String, String, bool)> = match e.kind() {
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    let allowed = properties_at(&self.inputs, &pointer);
                    unexpected
                        .iter()
                        .map(|k| {
                            let at = format!("{pointer}/{}", crate::load::pointer::escape_segment(k));
                            let help = match (self.migrated(&at), did_you_mean(k, allowed.iter().map(String::as_str))) {
                                (Some(m), _) => m,
                                (None, Some(s)) => format!("did you mean `{s}`?"),
                                (None, None) => format!("the inputs allowed here are: {}", allowed.join(", ")),
                            };
                            (at, format!("input `{k}` is not one this golden path takes"), help, true)
                        })
                        .collect()
                }
                _ => vec![(pointer.clone(), e.to_string(), requires, false)],
            };
            for (at, message, help, key) in found {
                diags.push(match doc {
                    Some(d) => {
                        let mut diag = d.origin.diagnostic(&at, message, Some(help));
                        if let Some(pos) = d.origin.spans.key(&at).filter(|_| key) {
                            (diag.line, diag.column) = (pos.line, pos.column);
                        }
                        diag
                    }
                    None => Diagnostic {
                        file: "<inputs>".into(),
                        line: 0,
                        column: 0,
                        pointer: Some(at),
                        message,
                        help: Some(help),
                    },
                });
            }
        }
        let mut diags = Diagnostics(diags);
        diags.0.sort();
        if diags.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(diags))
        }
    }
}

/// What is wrong with a migration besides its range: a range that takes in this version, a path
/// that is not a pointer, a `*` where one value is meant, a target this version's inputs do not
/// have.
fn migration_problems(m: &crate::model::Migration, version: Option<&Version>, schema: &Value) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if let (Ok(from), Some(v)) = (VersionReq::parse(&m.from), version) {
        if from.matches(v) {
            problems.push((
                "/from".into(),
                format!("`{}` matches {v} itself: a migration takes inputs of earlier versions", m.from),
            ));
        }
    }
    for (i, op) in m.ops.iter().enumerate() {
        let at = |f: &str| format!("/ops/{i}/{f}");
        let (paths, target): (Vec<(&str, &String)>, Option<String>) = match op {
            MigrationOp::Rename { path, to } => {
                if to.contains('/') {
                    problems.push((at("rename/to"), format!("`{to}` is a key, not a path: rename keeps the parent")));
                }
                let parent = path.rsplit_once('/').map_or("", |p| p.0);
                (vec![("rename/path", path)], Some(format!("{parent}/{}", crate::load::pointer::escape_segment(to))))
            }
            MigrationOp::Move { from, to } => {
                for (f, p) in [("move/from", from), ("move/to", to)] {
                    if p.split('/').any(|s| s == "*") {
                        problems.push((at(f), format!("`{p}`: move takes one value; `*` is not allowed")));
                    }
                }
                (vec![("move/from", from), ("move/to", to)], Some(to.clone()))
            }
            MigrationOp::SetDefault { path, .. } => (vec![("set-default/path", path)], Some(path.clone())),
            MigrationOp::Remove { path } => (vec![("remove/path", path)], None),
            MigrationOp::MapValue { path, .. } => (vec![("map-value/path", path)], Some(path.clone())),
        };
        for (f, p) in paths {
            if !p.starts_with('/') {
                problems.push((at(f), format!("`{p}` is not a JSON pointer into the inputs (start it with `/`)")));
            }
        }
        if let Some(t) = target.filter(|t| t.starts_with('/') && !schema_allows(schema, t)) {
            problems.push((
                format!("/ops/{i}"),
                format!("`{t}` is not an input of this version, so the migrated inputs would not fit"),
            ));
        }
    }
    problems
}

/// Whether a schema allows a value at an instance pointer (`*` for any item or key): it follows
/// `properties` and `items`, and allows anything below a schema that does not close its
/// properties.
fn schema_allows(schema: &Value, pointer: &str) -> bool {
    let mut s = schema;
    for seg in pointer.split('/').skip(1) {
        let property = s.get("properties").and_then(|p| p.get(seg));
        s = match (property, s.get("items")) {
            (Some(next), _) => next,
            (None, Some(items)) if seg == "*" || seg.parse::<usize>().is_ok() => items,
            _ => return s.get("additionalProperties") != Some(&Value::Bool(false)),
        };
    }
    true
}

/// The property names a schema allows at an instance pointer (for did-you-mean).
fn properties_at(schema: &Value, pointer: &str) -> Vec<String> {
    let mut s = schema;
    for seg in pointer.split('/').skip(1) {
        s = match (s.get("properties").and_then(|p| p.get(seg)), s.get("items")) {
            (Some(next), _) => next,
            (None, Some(items)) => items,
            _ => return Vec::new(),
        };
    }
    s.get("properties").and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// Fills what the inputs leave out with the schema's `default`s, recursively.
fn fill_defaults(v: &mut Value, schema: &Value) {
    match v {
        Value::Object(m) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, sub) in props {
                    if let (false, Some(d)) = (m.contains_key(k), sub.get("default")) {
                        m.insert(k.clone(), d.clone());
                    }
                    if let Some(child) = m.get_mut(k) {
                        fill_defaults(child, sub);
                    }
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = schema.get("items") {
                a.iter_mut().for_each(|x| fill_defaults(x, items));
            }
        }
        _ => {}
    }
}

/// The built-in golden paths (`packs/golden-paths/`), embedded.
pub(crate) const GOLDEN_PATHS: &[(&str, &str)] = &[
    ("packs/golden-paths/web-service/1.0.0.yaml", include_str!("../../../packs/golden-paths/web-service/1.0.0.yaml")),
    ("packs/golden-paths/web-service/1.1.0.yaml", include_str!("../../../packs/golden-paths/web-service/1.1.0.yaml")),
    ("packs/golden-paths/web-service/2.0.0.yaml", include_str!("../../../packs/golden-paths/web-service/2.0.0.yaml")),
    ("packs/golden-paths/worker/1.0.0.yaml", include_str!("../../../packs/golden-paths/worker/1.0.0.yaml")),
    ("packs/golden-paths/worker/2.0.0.yaml", include_str!("../../../packs/golden-paths/worker/2.0.0.yaml")),
    ("packs/golden-paths/cron-job/1.0.0.yaml", include_str!("../../../packs/golden-paths/cron-job/1.0.0.yaml")),
    ("packs/golden-paths/cron-job/2.0.0.yaml", include_str!("../../../packs/golden-paths/cron-job/2.0.0.yaml")),
];

/// `NAME` or `NAME@RANGE`: the highest version of the golden path the range allows.
pub(crate) fn find<'b>(paths: &'b [Arc<GoldenPath>], spec: &str) -> Result<&'b Arc<GoldenPath>, Error> {
    let (name, range) = spec.split_once('@').unwrap_or((spec, "*"));
    // A bare version names exactly that version, as `name@1.2.0` does for npm.
    let exact = format!("={range}");
    let req = VersionReq::parse(if Version::parse(range).is_ok() { &exact } else { range }).map_err(|e| {
        Error::UnknownGoldenPath { spec: spec.to_owned(), reason: format!("`{range}` is not a semver range: {e}") }
    })?;
    let same: Vec<&Arc<GoldenPath>> = paths.iter().filter(|g| g.name == name).collect();
    if same.is_empty() {
        let names: Vec<&str> = paths.iter().map(|g| g.name.as_str()).collect();
        let reason = match did_you_mean(name, names.iter().copied()) {
            Some(s) => format!("no golden path `{name}`; did you mean `{s}`?"),
            None => format!("no golden path `{name}`; there are: {}", {
                let mut n = names.clone();
                n.dedup();
                n.join(", ")
            }),
        };
        return Err(Error::UnknownGoldenPath { spec: spec.to_owned(), reason });
    }
    same.iter().filter(|g| req.matches(&g.version)).max_by(|a, b| a.version.cmp(&b.version)).copied().ok_or_else(|| {
        let versions: Vec<String> = same.iter().map(|g| g.version.to_string()).collect();
        Error::UnknownGoldenPath {
            spec: spec.to_owned(),
            reason: format!("no version of `{name}` matches `{range}`; there are: {}", versions.join(", ")),
        }
    })
}

/// A golden path's output templates, and every problem in them.
fn outputs(doc: &GoldenPathDocument, origin: &Origin, diags: &mut Vec<Diagnostic>) -> Vec<Item> {
    let mut problems = template::Problems { list: Vec::new(), inputs: &doc.spec.inputs };
    let outputs: Vec<Item> = doc
        .spec
        .outputs
        .iter()
        .enumerate()
        .filter_map(|(i, o)| template::item(o, &format!("/spec/outputs/{i}"), &[], &mut problems))
        .collect();
    diags.extend(problems.list.into_iter().map(|(p, m, h)| origin.diagnostic(&p, m, h)));
    for (i, output) in doc.spec.outputs.iter().enumerate() {
        for (p, m, h) in literal_problems(output, &format!("/spec/outputs/{i}")) {
            diags.push(origin.diagnostic(&p, m, h));
        }
    }
    outputs
}

/// The policies a golden path names with their version ranges; and its extension points,
/// checked to be JSON pointers.
fn policy_ranges(doc: &GoldenPathDocument, origin: &Origin, diags: &mut Vec<Diagnostic>) -> Vec<(String, VersionReq)> {
    let mut policies = Vec::new();
    for (i, p) in doc.spec.policies.iter().enumerate() {
        let range = p.version.as_deref().unwrap_or("*");
        match VersionReq::parse(range) {
            Ok(r) => policies.push((p.name.clone(), r)),
            Err(e) => diags.push(origin.diagnostic(
                &format!("/spec/policies/{i}/version"),
                format!("`{range}` is not a semver range: {e}"),
                Some("for example `^1.2` or `>=1.0.0, <3`".into()),
            )),
        }
    }
    for (i, p) in doc.spec.extension_points.iter().enumerate() {
        if !p.is_empty() && !p.starts_with('/') {
            diags.push(origin.diagnostic(
                &format!("/spec/extensionPoints/{i}"),
                format!("`{p}` is not a JSON pointer"),
                Some(format!("write it from the object's root: `/{p}`")),
            ));
        }
    }
    policies
}

/// A golden path's migrations, each checked against its version and inputs schema.
fn migrations(
    doc: &GoldenPathDocument,
    origin: &Origin,
    version: Option<&Version>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Migration> {
    doc.spec
        .migrations
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let at = format!("/spec/migrations/{i}");
            let mut problems = migration_problems(m, version, &doc.spec.inputs);
            let from = VersionReq::parse(&m.from)
                .map_err(|e| problems.push(("/from".into(), format!("`{}` is not a semver range: {e}", m.from))))
                .ok();
            let ok = problems.is_empty();
            diags.extend(problems.into_iter().map(|(p, m)| origin.diagnostic(&format!("{at}{p}"), m, None)));
            from.filter(|_| ok).map(|from| Migration { from, ops: m.ops.clone() })
        })
        .collect()
}

/// When a deprecated golden path stops being rendered, with its deprecation checked.
fn sunset(doc: &GoldenPathDocument, origin: &Origin, diags: &mut Vec<Diagnostic>) -> Option<jiff::Timestamp> {
    let mut sunset = None;
    if let Some(d) = &doc.spec.deprecated {
        for (field, value) in [("since", &d.since), ("sunset", &d.sunset)] {
            match value.as_deref().map(crate::compile::exception::parse_instant) {
                Some(Err(e)) => diags.push(origin.diagnostic(&format!("/spec/deprecated/{field}"), e, None)),
                Some(Ok(t)) if field == "sunset" => sunset = Some(t),
                _ => {}
            }
        }
        if let Some(r) = &d.replacement {
            let (_, range) = r.split_once('@').unwrap_or((r, "*"));
            if let Err(e) = VersionReq::parse(range) {
                diags.push(origin.diagnostic(
                    "/spec/deprecated/replacement",
                    format!("`{r}` is not NAME@RANGE: {e}"),
                    Some("for example `web-service@^2`".into()),
                ));
            }
        }
    }
    sunset
}

/// What the literal parts of an output template get wrong against Kubernetes' schemas (of the
/// latest version): a misspelt or removed kind, an unknown field, a literal of the wrong type.
/// Parts written with `${{ }}` are checked when they render.
fn literal_problems(output: &Value, at: &str) -> Vec<template::Problem> {
    use crate::k8s::schema::{self, Known};
    let mut out = Vec::new();
    let literal = |key: &str| output.get(key).and_then(Value::as_str).filter(|s| !s.contains("${{"));
    let (Some(api_version), Some(kind), Ok(version)) =
        (literal("apiVersion"), literal("kind"), schema::version("latest"))
    else {
        return out;
    };
    match version.known(api_version, kind) {
        Known::Unknown { message, help } => out.push((format!("{at}/kind"), message, help)),
        Known::Custom | Known::Infrastructure => {}
        Known::Kind => {
            if let Some(s) = version.kind_schema(api_version, kind) {
                walk(version, s, output, (at, ""), &mut out);
            }
        }
    }
    out
}

/// Checks a template value against `schema`, skipping directives and expressions. `at` is the
/// output's pointer in the document and the value's pointer in the object.
fn walk(
    version: &crate::k8s::schema::Version,
    schema: &Value,
    v: &Value,
    (output, at): (&str, &str),
    out: &mut Vec<template::Problem>,
) {
    use crate::k8s::schema::Field;
    match v {
        Value::String(s) if s.contains("${{") => {}
        Value::Object(m) => {
            if let Some(value) = m.get("$value") {
                return walk(version, schema, value, (&format!("{output}{at}/$value"), ""), out);
            }
            for (key, value) in m {
                if key.starts_with('$') || key.contains("${{") {
                    continue;
                }
                let here = format!("{at}/{}", crate::load::pointer::escape_segment(key));
                match version.field(schema, key) {
                    Field::Known(s) => walk(version, s, value, (output, &here), out),
                    Field::Open => {}
                    Field::Unknown(help) => out.push((
                        format!("{output}{here}"),
                        format!("unknown field `{}`", crate::k8s::schema::dotted(&here)),
                        help,
                    )),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = version.items(schema) {
                for (i, x) in items.iter().enumerate() {
                    walk(version, item, x, (output, &format!("{at}/{i}")), out);
                }
            }
        }
        scalar => {
            for p in version.check_value(schema, scalar, at) {
                out.push((format!("{output}{}", p.pointer), p.message, p.help));
            }
        }
    }
}
