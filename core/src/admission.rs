//! Kubernetes admission: an `admission.k8s.io/v1` AdmissionReview (or a bare AdmissionRequest)
//! in, the AdmissionReview response out, decided by the same [`Engine::evaluate`] as every other
//! front end.
//!
//! The object judged is `request.object`, or `request.oldObject` for `DELETE`; `oldObject` is
//! bound for `UPDATE`. What the API server leaves out of the object (its `apiVersion` and `kind`
//! on some requests, the namespace and name it will fill in) comes from the request. A denial's
//! `status.message` lists every unwaived `Deny` finding (policy, rule, message, path); `Warn`
//! findings become `warnings`, within the API server's limits (256 characters each, 4096 in
//! all); `auditAnnotations` record the decision and what was denied, warned and waived. A
//! validating webhook has no side effects, so `dryRun` changes nothing but `request.dryRun`, which
//! policies can read.

use serde_json::{json, Map, Value};

use crate::eval::{Context, Engine};
use crate::model::Operation;
use crate::report::{Decision, Report};
use crate::resource::{Admission, Resource};

/// The most characters of one warning the API server keeps.
const WARNING_LENGTH: usize = 256;
/// The most characters of all warnings of a response the API server keeps.
const WARNINGS_TOTAL: usize = 4096;

/// A review paved cannot judge: not an AdmissionReview or AdmissionRequest at all, or one
/// without what a verdict needs.
///
/// When the request's `uid` was readable, [`AdmissionError::denial`] is the well-formed denial a
/// webhook should answer with (fail closed); otherwise the review is not one, and a webhook
/// answers HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a usable AdmissionReview: {reason}")]
#[non_exhaustive]
pub struct AdmissionError {
    /// What is wrong.
    pub reason: String,
    /// The request's uid, when it could be read.
    pub uid: Option<String>,
    /// The review's apiVersion, to answer in.
    api_version: String,
}

impl AdmissionError {
    /// The AdmissionReview that denies the request, naming the problem; `None` when the request
    /// has no readable uid, so no response can be matched to it.
    pub fn denial(&self) -> Option<Value> {
        let uid = self.uid.as_ref()?;
        Some(json!({
            "apiVersion": self.api_version,
            "kind": "AdmissionReview",
            "response": {
                "uid": uid,
                "allowed": false,
                "status": { "code": 400, "reason": "BadRequest", "message": format!("paved: {}", self.reason) },
            },
        }))
    }
}

/// A request, read.
pub(crate) struct Request {
    pub uid: String,
    pub api_version: String,
    pub resource: Resource,
}

/// Reads an AdmissionReview, or a bare AdmissionRequest, into the resource it asks about.
pub(crate) fn read(review: &Value) -> Result<Request, AdmissionError> {
    let mut api_version = "admission.k8s.io/v1".to_owned();
    let fail = |reason: String, uid: Option<String>, api_version: &str| AdmissionError {
        reason,
        uid,
        api_version: api_version.to_owned(),
    };
    let Some(top) = review.as_object() else {
        return Err(fail("the body is not a JSON object".into(), None, &api_version));
    };
    let request = if top.contains_key("request") || top.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
        let version = top.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        if !matches!(version, "admission.k8s.io/v1" | "admission.k8s.io/v1beta1") {
            return Err(fail(
                format!("apiVersion `{version}` is not admission.k8s.io/v1 (or v1beta1)"),
                None,
                &api_version,
            ));
        }
        version.clone_into(&mut api_version);
        match top.get("request").and_then(Value::as_object) {
            Some(r) => r,
            None => return Err(fail("the AdmissionReview has no `request` object".into(), None, &api_version)),
        }
    } else if top.contains_key("uid") && top.contains_key("kind") {
        top
    } else {
        return Err(fail(
            "expected an AdmissionReview (`kind: AdmissionReview` with a `request`) or an AdmissionRequest".into(),
            None,
            &api_version,
        ));
    };
    let uid = match request.get("uid").and_then(Value::as_str) {
        Some(u) if !u.is_empty() => u.to_owned(),
        _ => return Err(fail("the request has no `uid`".into(), None, &api_version)),
    };
    let bad = |reason: String| fail(reason, Some(uid.clone()), &api_version);
    let operation = match request.get("operation").and_then(Value::as_str) {
        Some(op) => serde_json::from_value::<Operation>(Value::String(op.to_owned()))
            .map_err(|_| bad(format!("operation `{op}` is not CREATE, UPDATE, DELETE or CONNECT")))?,
        None => return Err(bad("the request has no `operation`".into())),
    };
    let object = request.get("object").filter(|v| !v.is_null());
    let old = request.get("oldObject").filter(|v| !v.is_null());
    let judged = match (operation, object, old) {
        (Operation::Delete, _, Some(old)) => old,
        (Operation::Delete, Some(object), None) => object,
        (Operation::Delete, None, None) => return Err(bad("a DELETE request without `oldObject`".into())),
        (_, Some(object), _) => object,
        (_, None, _) => return Err(bad(format!("a {} request without `object`", operation.as_str()))),
    };
    let mut object = judged.clone();
    complete(&mut object, request).map_err(bad)?;
    let old = match (operation, old) {
        (Operation::Update, Some(old)) => {
            let mut old = old.clone();
            complete(&mut old, request).map_err(bad)?;
            Some(old)
        }
        _ => None,
    };
    let admission = Admission {
        operation,
        user_info: request.get("userInfo").cloned().unwrap_or(Value::Null),
        dry_run: request.get("dryRun").and_then(Value::as_bool).unwrap_or(false),
    };
    let mut resource = Resource::new(object);
    resource.old = old;
    resource.admission = Some(admission);
    Ok(Request { uid, api_version, resource })
}

/// Fills in what the API server leaves out of an object: `apiVersion` and `kind` from
/// `request.kind`, and the namespace and name from the request.
fn complete(object: &mut Value, request: &Map<String, Value>) -> Result<(), String> {
    let Some(o) = object.as_object_mut() else {
        return Err("the object is not a JSON object".into());
    };
    let kind = request.get("kind").and_then(Value::as_object);
    let field = |k: &str| kind.and_then(|m| m.get(k)).and_then(Value::as_str).unwrap_or_default();
    if !o.contains_key("apiVersion") {
        let (group, version) = (field("group"), field("version"));
        if version.is_empty() {
            return Err("the object has no apiVersion and `request.kind` has no version".into());
        }
        let api_version = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
        o.insert("apiVersion".into(), Value::String(api_version));
    }
    if !o.contains_key("kind") {
        if field("kind").is_empty() {
            return Err("the object has no kind and neither has `request.kind`".into());
        }
        o.insert("kind".into(), Value::String(field("kind").to_owned()));
    }
    let metadata = o.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    let Some(metadata) = metadata.as_object_mut() else {
        return Err("the object's metadata is not a JSON object".into());
    };
    for key in ["namespace", "name"] {
        if let Some(v) = request.get(key).and_then(Value::as_str).filter(|v| !v.is_empty()) {
            metadata.entry(key).or_insert_with(|| Value::String(v.to_owned()));
        }
    }
    Ok(())
}

impl Engine {
    /// Answers an AdmissionReview (or a bare AdmissionRequest) with the AdmissionReview response,
    /// judged at `ctx` (its `now`, namespace labels and params; the operation, user and dry run
    /// come from the request). A review paved cannot judge is an error; see
    /// [`AdmissionError::denial`].
    ///
    /// ```
    /// use paved::{Bundle, Context, Engine};
    /// let engine = Engine::builder().bundle(Bundle::pack("pod-security-baseline")?).build()?;
    /// let review = serde_json::json!({
    ///   "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
    ///   "request": {
    ///     "uid": "705ab4f5", "operation": "CREATE", "namespace": "shop",
    ///     "kind": {"group": "", "version": "v1", "kind": "Pod"},
    ///     "object": {"metadata": {"name": "web"}, "spec": {"hostNetwork": true, "containers": [{"name": "app", "image": "nginx:1.27"}]}}
    ///   }
    /// });
    /// let answer = engine.admit(&review, &Context::parse_at("2026-06-01")?)?;
    /// assert_eq!(answer["response"]["uid"], "705ab4f5");
    /// assert_eq!(answer["response"]["allowed"], false);
    /// assert!(answer["response"]["status"]["message"].as_str().unwrap().contains("host-namespaces"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn admit(&self, review: &Value, ctx: &Context) -> Result<Value, AdmissionError> {
        let span = tracing::debug_span!("admit");
        let _enter = span.enter();
        let request = read(review)?;
        let report = self.evaluate(std::slice::from_ref(&request.resource), ctx);
        Ok(response(&request, &report))
    }
}

/// The AdmissionReview answering `request` with `report`.
fn response(request: &Request, report: &Report) -> Value {
    let unwaived = || report.findings.iter().filter(|f| f.waived_by.is_none());
    let denials: Vec<String> = unwaived()
        .filter(|f| f.action == crate::model::Action::Deny)
        .map(|f| format!("{}/{}: {}{}", f.policy, f.rule, f.message, at(&f.path)))
        .collect();
    let mut warnings = Vec::new();
    let mut total = 0;
    for f in unwaived().filter(|f| f.action == crate::model::Action::Warn) {
        let mut w = format!("{}/{}: {}{}", f.policy, f.rule, f.message, at(&f.path));
        if w.chars().count() > WARNING_LENGTH {
            w = w.chars().take(WARNING_LENGTH - 1).collect::<String>() + "…";
        }
        total += w.len();
        if total > WARNINGS_TOTAL {
            break;
        }
        warnings.push(Value::String(w));
    }
    let list = |action: crate::model::Action| -> String {
        let mut names: Vec<String> =
            unwaived().filter(|f| f.action == action).map(|f| format!("{}/{}", f.policy, f.rule)).collect();
        names.dedup();
        names.join(",")
    };
    let mut audit = Map::new();
    audit.insert("decision".into(), Value::String(report.decision.as_str().into()));
    for (key, value) in [
        ("denied", list(crate::model::Action::Deny)),
        ("warned", list(crate::model::Action::Warn)),
        ("audited", list(crate::model::Action::Audit)),
        ("waived", {
            let mut w: Vec<String> = report
                .findings
                .iter()
                .filter_map(|f| f.waived_by.as_ref().map(|e| format!("{}/{} by {e}", f.policy, f.rule)))
                .collect();
            w.dedup();
            w.join(",")
        }),
    ] {
        if !value.is_empty() {
            audit.insert(key.into(), Value::String(value));
        }
    }
    let mut response = Map::new();
    response.insert("uid".into(), Value::String(request.uid.clone()));
    let allowed = report.decision != Decision::Deny;
    response.insert("allowed".into(), Value::Bool(allowed));
    if !allowed {
        response.insert(
            "status".into(),
            json!({
                "code": 403,
                "reason": "Forbidden",
                "message": format!("denied by paved: {}", denials.join("; ")),
            }),
        );
    }
    if !warnings.is_empty() {
        response.insert("warnings".into(), Value::Array(warnings));
    }
    response.insert("auditAnnotations".into(), Value::Object(audit));
    json!({ "apiVersion": request.api_version, "kind": "AdmissionReview", "response": response })
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" (at {path})")
    }
}
