//! Resources to evaluate: any YAML or JSON object with `apiVersion` and `kind`, remembering the
//! file and line each of its fields came from.

use std::path::PathBuf;

use serde_json::Value;

use crate::error::{Diagnostic, Diagnostics, Error};
use crate::k8s::{Operation, ResourceRef};
use crate::load::SourceRef;
use crate::load::{self, Origin, Sourced};

/// One resource (a Kubernetes manifest or any object with `apiVersion` and `kind`).
///
/// ```
/// let resources = paved::Resource::from_str("app.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n")?;
/// assert_eq!(resources[0].identity().name, "web");
/// # Ok::<(), paved::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Resource {
    pub(crate) value: Value,
    pub(crate) old: Option<Value>,
    pub(crate) origin: Option<Origin>,
    /// Set when the resource came from an admission request: what the request says of itself,
    /// over the context's.
    pub(crate) admission: Option<Admission>,
    /// The operation its source says it is judged for, over the context's (a Terraform plan's
    /// action on it).
    pub(crate) planned: Option<Operation>,
}

/// What an admission request says of itself.
#[derive(Debug, Clone)]
pub(crate) struct Admission {
    pub operation: Operation,
    pub user_info: Value,
    pub dry_run: bool,
}

impl Resource {
    /// A resource from a JSON value, with no source file (as the webhook and bindings get them).
    pub fn new(value: Value) -> Self {
        Resource { value, old: None, origin: None, admission: None, planned: None }
    }

    /// The object an admission request asks about, judged for the request's operation and user.
    pub(crate) fn from_request(
        object: Value,
        old: Option<Value>,
        operation: Operation,
        user_info: Value,
        dry_run: bool,
    ) -> Self {
        Resource {
            value: object,
            old,
            origin: None,
            admission: Some(Admission { operation, user_info, dry_run }),
            planned: None,
        }
    }

    /// The operation it is judged for: its admission request's, else its plan's, else the
    /// caller's (the context's).
    pub(crate) fn operation(&self, otherwise: Operation) -> Operation {
        self.admission.as_ref().map(|a| a.operation).or(self.planned).unwrap_or(otherwise)
    }

    /// What its admission request says of itself, for the report.
    pub(crate) fn request_info(&self) -> Option<crate::report::RequestInfo> {
        self.admission.as_ref().map(|a| crate::report::RequestInfo {
            operation: a.operation,
            user: a.user_info.get("username").and_then(Value::as_str).unwrap_or_default().to_owned(),
        })
    }

    /// The requesting user: its admission request's, else the caller's (the context's).
    pub(crate) fn user_info<'a>(&'a self, otherwise: &'a Value) -> &'a Value {
        self.admission.as_ref().map_or(otherwise, |a| &a.user_info)
    }

    /// A resource from a JSON value, checked to be an object with a non-empty `apiVersion` and
    /// `kind` (what [`Resource::new`] takes on trust).
    pub fn from_value(value: Value) -> Result<Self, Error> {
        check_shape(&value, &Origin::default()).map_err(|d| Error::Input { reason: d.message })?;
        Ok(Resource::new(value))
    }

    /// Every resource a JSON value holds, as [`Resource::from_str`] reads a document: a
    /// Terraform plan or a Pulumi preview is one resource per change, an AdmissionReview the
    /// object it asks about, a `List` its items; any other value is one resource, checked as
    /// [`Resource::from_value`] checks it. What the bindings take as objects.
    ///
    /// ```
    /// let plan = serde_json::json!({"format_version": "1.2", "terraform_version": "1.9.0", "resource_changes": [
    ///     {"address": "aws_s3_bucket.logs", "type": "aws_s3_bucket", "name": "logs", "mode": "managed",
    ///      "change": {"actions": ["create"], "after": {"bucket": "logs"}, "after_unknown": {"arn": true}}}]});
    /// let resources = paved::Resource::all_from_value(plan)?;
    /// assert_eq!(resources[0].identity().name, "aws_s3_bucket.logs");
    /// # Ok::<(), paved::Error>(())
    /// ```
    pub fn all_from_value(value: Value) -> Result<Vec<Resource>, Error> {
        let many = load::terraform::is_plan(&value)
            || load::pulumi::is_preview(&value)
            || is_admission(&value)
            || is_list(&value);
        if !many {
            return Resource::from_value(value).map(|r| vec![r]);
        }
        let mut diags = Diagnostics::default();
        let origin = Origin { file: std::sync::Arc::from("<input>"), ..Origin::default() };
        let out = from_documents(vec![Sourced { value, origin }], &mut diags);
        // A value has no file: its resources say where nothing was written.
        diags.into_result(out.into_iter().map(|r| Resource { origin: None, ..r }).collect())
    }

    /// The previous version of the object, bound as `oldObject` (admission UPDATE requests).
    pub fn with_old_object(mut self, old: Value) -> Self {
        self.old = Some(old);
        self
    }

    /// The object.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Its apiVersion, kind, namespace and name.
    pub fn identity(&self) -> ResourceRef {
        identity_of(&self.value)
    }

    /// Where a JSON pointer of this resource was written, if it came from a file.
    pub fn source_of(&self, pointer: &str) -> Option<SourceRef> {
        self.origin.as_ref().map(|o| o.source_ref(pointer))
    }

    /// Every resource in a YAML or JSON text, read as kubectl reads it: YAML 1.1 scalars and
    /// merge keys, every item of a `List` or any `*List`, multi-document streams; an
    /// AdmissionReview or AdmissionRequest captured from a cluster is the object it asks about,
    /// judged for its operation, as the webhook would judge it; a Terraform plan
    /// (`terraform show -json`) is one resource per resource change, recognised by its content
    /// (see the crate's README, "Infrastructure"). What kubectl would read differently is an
    /// error, never a guess.
    /// `file` names the text in findings and errors (`<stdin>` for standard input).
    pub fn from_str(file: &str, text: &str) -> Result<Vec<Resource>, Error> {
        Resource::from_bytes(file, text.as_bytes())
    }

    /// As [`Resource::from_str`], from bytes that should be UTF-8.
    pub fn from_bytes(file: &str, bytes: &[u8]) -> Result<Vec<Resource>, Error> {
        let mut diags = Diagnostics::default();
        let docs = load::decode(file, bytes).and_then(|t| load::parse_manifests(file, t));
        let out = match docs {
            Ok(docs) => from_documents(docs, &mut diags),
            Err(d) => {
                diags.push(d);
                Vec::new()
            }
        };
        diags.into_result(out)
    }

    /// Every resource in the YAML/JSON files under `paths` (directories walked in sorted order;
    /// what a directory's `.pavedignore`, in gitignore syntax, names is left out).
    pub fn from_paths<P: Into<PathBuf> + Clone>(paths: &[P]) -> Result<Vec<Resource>, Error> {
        Resource::from_paths_excluding(paths, &[])
    }

    /// As [`Resource::from_paths`], leaving out what the gitignore patterns `exclude` name in
    /// the directories given (`*.inputs.yaml`, `services/`); a file given by name is read.
    pub fn from_paths_excluding<P: Into<PathBuf> + Clone>(
        paths: &[P],
        exclude: &[String],
    ) -> Result<Vec<Resource>, Error> {
        let paths: Vec<PathBuf> = paths.iter().cloned().map(Into::into).collect();
        let mut diags = Diagnostics::default();
        let docs = load::read_all(&paths, exclude, load::Schema::Kubernetes, &mut diags)?;
        let out = from_documents(docs, &mut diags);
        diags.into_result(out)
    }
}

/// Whether a document is an AdmissionReview, or a bare AdmissionRequest (a `uid`, an
/// `operation` and a `kind` that is a group/version/kind object).
fn is_admission(v: &Value) -> bool {
    let review = v.get("kind").and_then(Value::as_str) == Some("AdmissionReview")
        && v.get("apiVersion").and_then(Value::as_str).is_some_and(|a| a.starts_with("admission.k8s.io/"));
    let request = v.get("uid").is_some_and(Value::is_string) && v.get("kind").is_some_and(Value::is_object);
    review || request
}

pub(crate) fn from_documents(docs: Vec<Sourced>, diags: &mut Diagnostics) -> Vec<Resource> {
    let mut out = Vec::with_capacity(docs.len());
    for mut doc in docs {
        if load::terraform::is_plan(&doc.value) {
            match load::terraform::read(&doc) {
                Ok(changes) => out.extend(changes.into_iter().map(Resource::changed)),
                Err(problems) => problems.into_iter().for_each(|d| diags.push(d)),
            }
            continue;
        }
        if load::pulumi::is_preview(&doc.value) {
            match load::pulumi::read(&doc) {
                Ok(changes) => out.extend(changes.into_iter().map(Resource::changed)),
                Err(problems) => problems.into_iter().for_each(|d| diags.push(d)),
            }
            continue;
        }
        if is_admission(&doc.value) {
            // A review read from a file answers nobody: its uid may be left out, as gator's
            // test files leave it out (the webhook requires it).
            if let Some(request) = doc.value.get_mut("request").and_then(Value::as_object_mut) {
                request
                    .entry("uid")
                    .or_insert_with(|| Value::String(format!("{}:{}", doc.origin.file, doc.origin.locate("").line)));
            }
            match crate::k8s::admission::read(doc.value) {
                Ok(r) => {
                    let origin = Origin { base: format!("{}{}", doc.origin.base, r.pointer), ..doc.origin.clone() };
                    let resource = Resource::from_request(r.object, r.old, r.operation, r.user_info, r.dry_run);
                    out.push(Resource { origin: Some(origin), ..resource });
                }
                Err(e) => diags.push(doc.origin.diagnostic(
                    "",
                    e.to_string(),
                    Some("an AdmissionReview as the API server sends it, or its `request`".into()),
                )),
            }
            continue;
        }
        unpack(doc.value, doc.origin, &mut out, diags);
    }
    out
}

/// A resource, or every item of a list (`List`, `PodList`, `DeploymentList`, ...: any kind
/// ending in `List` with `items`), as kubectl creates every item. Each item keeps its own place
/// in the file.
fn unpack(value: Value, origin: Origin, out: &mut Vec<Resource>, diags: &mut Diagnostics) {
    if !is_list(&value) {
        return push(value, origin, out, diags);
    }
    if let Value::Object(mut m) = value {
        if let Some(Value::Array(items)) = m.remove("items") {
            for (i, item) in items.into_iter().enumerate() {
                let origin = Origin { base: format!("{}/items/{i}", origin.base), ..origin.clone() };
                if is_list(&item) {
                    // kubectl refuses it too ("is not a list: no Items field").
                    diags.push(origin.diagnostic(
                        "/kind",
                        "a list inside a list, which kubectl does not create",
                        Some("put its items in the outer list".into()),
                    ));
                    continue;
                }
                push(item, origin, out, diags);
            }
        }
    }
}

/// The file kustomize says an object came from: its `config.kubernetes.io/origin` annotation
/// (`buildMetadata: [originAnnotations]`; a YAML mapping whose `path` is relative to the
/// kustomization), or the path annotation of its functions.
fn kustomize_origin(value: &Value) -> Option<String> {
    let annotations = value.pointer("/metadata/annotations")?.as_object()?;
    if let Some(origin) = annotations.get("config.kubernetes.io/origin").and_then(Value::as_str) {
        let path =
            origin.lines().find_map(|l| l.trim().strip_prefix("path:")).map(|p| p.trim().trim_matches(['\'', '"']));
        if let Some(path) = path.filter(|p| !p.is_empty()) {
            return Some(path.to_owned());
        }
    }
    ["internal.config.kubernetes.io/path", "config.kubernetes.io/path"]
        .iter()
        .find_map(|k| annotations.get(*k).and_then(Value::as_str))
        .map(str::to_owned)
}

impl Resource {
    /// A resource change of a Terraform plan or a Pulumi preview, judged for what it does to
    /// the resource.
    fn changed(c: load::Change) -> Resource {
        use load::Action;
        let operation = match c.action {
            Action::Create => Operation::Create,
            Action::Update => Operation::Update,
            Action::Delete => Operation::Delete,
        };
        let old = if c.action == Action::Delete { Some(c.value.clone()) } else { c.before };
        Resource { value: c.value, old, origin: Some(c.origin), admission: None, planned: Some(operation) }
    }
}

/// Whether an object is a list of resources: a kind ending in `List`, with `items`.
fn is_list(value: &Value) -> bool {
    value.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List"))
        && value.get("items").is_some_and(Value::is_array)
}

fn push(value: Value, mut origin: Origin, out: &mut Vec<Resource>, diags: &mut Diagnostics) {
    if let Some(file) = kustomize_origin(&value) {
        origin.made_from = Some((load::beside(&origin.file, &file), 1));
    }
    match check_shape(&value, &origin) {
        Ok(()) => out.push(Resource { origin: Some(origin), ..Resource::new(value) }),
        Err(d) => diags.push(d),
    }
}

fn check_shape(value: &Value, origin: &Origin) -> Result<(), Diagnostic> {
    // A file of something else (a golden path's inputs, a Pulumi project) in a directory of
    // manifests is left out by name.
    let name = std::path::Path::new(&*origin.file).file_name().map(|n| n.to_string_lossy().into_owned());
    let skip = match name {
        Some(name) if &*origin.file != "<stdin>" => format!(
            "; if the file holds no manifests, leave it out with the line `{name}` in a `.pavedignore` beside it, or with `--exclude {name}`"
        ),
        _ => String::new(),
    };
    let help = Some(format!("a resource is a mapping with `apiVersion` and `kind`, like a Kubernetes manifest{skip}"));
    if !value.is_object() {
        return Err(origin.diagnostic("", "a resource must be a mapping", help));
    }
    for field in ["apiVersion", "kind"] {
        match value.get(field) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(_) => {
                return Err(origin.diagnostic(
                    &format!("/{field}"),
                    format!("`{field}` must be a non-empty string"),
                    help,
                ))
            }
            None => return Err(origin.diagnostic("", format!("the resource has no `{field}`"), help)),
        }
    }
    if let Some(m) = value.get("metadata") {
        if !m.is_object() {
            return Err(origin.diagnostic("/metadata", "`metadata` must be a mapping", None));
        }
    }
    Ok(())
}

/// Namespace labels, by namespace, for `namespaceSelector`: from `Namespace` objects (or a
/// `List` of them, as `kubectl get namespaces -o yaml` prints), or from a mapping of namespace
/// name to labels (`payments: {env: production}`).
pub(crate) fn read_namespace_labels<P: Into<PathBuf> + Clone>(paths: &[P]) -> Result<NamespaceLabels, Error> {
    let paths: Vec<PathBuf> = paths.iter().cloned().map(Into::into).collect();
    let mut diags = Diagnostics::default();
    let docs = load::read_all(&paths, &[], load::Schema::Kubernetes, &mut diags)?;
    namespace_labels_of(docs, diags)
}

/// As [`read_namespace_labels`], from the text of one file.
pub(crate) fn namespace_labels_from_str(file: &str, text: &str) -> Result<NamespaceLabels, Error> {
    match load::parse_manifests(file, text) {
        Ok(docs) => namespace_labels_of(docs, Diagnostics::default()),
        Err(d) => Err(Error::Invalid(Diagnostics(vec![d]))),
    }
}

fn namespace_labels_of(docs: Vec<Sourced>, mut diags: Diagnostics) -> Result<NamespaceLabels, Error> {
    let mut out = NamespaceLabels::new();
    let (objects, maps): (Vec<Sourced>, Vec<Sourced>) = docs.into_iter().partition(|d| d.value.get("kind").is_some());
    for r in from_documents(objects, &mut diags) {
        let id = r.identity();
        if id.kind != "Namespace" {
            if let Some(o) = &r.origin {
                diags.push(o.diagnostic("/kind", format!("expected Namespace objects, found a {}", id.kind), None));
            }
            continue;
        }
        out.insert(
            id.name,
            string_map(r.value.pointer("/metadata/labels"), r.origin.as_ref(), "/metadata/labels", &mut diags),
        );
    }
    for doc in maps {
        match &doc.value {
            Value::Object(m) => {
                for (name, labels) in m {
                    let at = format!("/{}", crate::load::pointer::escape_segment(name));
                    out.insert(name.clone(), string_map(Some(labels), Some(&doc.origin), &at, &mut diags));
                }
            }
            _ => diags.push(doc.origin.diagnostic(
                "",
                "expected Namespace objects or a mapping of namespace names to labels",
                Some("for example `payments: {env: production, team: payments}`".into()),
            )),
        }
    }
    diags.into_result(out)
}

/// Labels by namespace name.
pub(crate) type NamespaceLabels = std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>;

fn string_map(
    v: Option<&Value>,
    origin: Option<&Origin>,
    at: &str,
    diags: &mut Diagnostics,
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    match v {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                match v {
                    Value::String(s) => {
                        out.insert(k.clone(), s.clone());
                    }
                    _ => {
                        if let Some(o) = origin {
                            let p = format!("{at}/{}", crate::load::pointer::escape_segment(k));
                            diags.push(o.diagnostic(&p, "a label value must be a string", Some("quote it".into())));
                        }
                    }
                }
            }
        }
        Some(_) => {
            if let Some(o) = origin {
                diags.push(o.diagnostic(at, "labels must be a mapping of strings", None));
            }
        }
    }
    out
}

/// The apiVersion, kind, namespace and name of an object.
pub(crate) fn identity_of(value: &Value) -> ResourceRef {
    let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    let meta = value.get("metadata");
    let name = meta.and_then(|m| m.get("name")).or_else(|| meta.and_then(|m| m.get("generateName")));
    ResourceRef {
        api_version: s(value.get("apiVersion")),
        kind: s(value.get("kind")),
        namespace: s(meta.and_then(|m| m.get("namespace"))),
        name: s(name),
    }
}

/// Whether two identities name the same object (an apiVersion change keeps the object).
pub(crate) fn same_object(a: &ResourceRef, b: &ResourceRef) -> bool {
    (&a.kind, &a.namespace, &a.name) == (&b.kind, &b.namespace, &b.name)
}
