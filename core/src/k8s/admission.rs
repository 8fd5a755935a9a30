//! Reading a Kubernetes AdmissionReview (`admission.k8s.io/v1`, or `v1beta1`) or a bare
//! AdmissionRequest: the object it asks about, completed with what the API server leaves out
//! (`apiVersion` and `kind` from `request.kind`, the namespace and name from the request), and
//! what the request says of itself. Shared by `Engine::admit` and by the loading of captured
//! requests, so both judge the same object.

use serde_json::{json, Map, Value};

use crate::k8s::Operation;

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

/// A request, read: what it asks about and what it says of itself.
pub(crate) struct Request {
    pub uid: String,
    /// The review's apiVersion, to answer in.
    pub api_version: String,
    /// `request.kind.kind`: the kind of the object asked about.
    pub kind: String,
    /// `request.namespace`, empty for a cluster-scoped object.
    pub namespace: String,
    /// `request.name`, empty when the API server will generate it.
    pub name: String,
    /// The object to judge: `object`, or `oldObject` for `DELETE`, completed from the request.
    pub object: Value,
    /// `oldObject` of an `UPDATE`, completed likewise.
    pub old: Option<Value>,
    /// Where the judged object sits in the review (`/request/object`), for source positions.
    pub pointer: String,
    pub operation: Operation,
    pub user_info: Value,
    pub dry_run: bool,
}

/// Reads an AdmissionReview, or a bare AdmissionRequest, into the resource it asks about. The
/// objects are moved out of the review, not copied.
pub(crate) fn read(review: Value) -> Result<Request, AdmissionError> {
    let (mut request, api_version, wrapped) = envelope(review)?;
    let fail = |reason: String, uid: Option<String>| AdmissionError { reason, uid, api_version: api_version.clone() };
    let uid = match request.get("uid").and_then(Value::as_str) {
        Some(u) if !u.is_empty() => u.to_owned(),
        _ => return Err(fail("the request has no `uid`".into(), None)),
    };
    let bad = |reason: String| fail(reason, Some(uid.clone()));
    let operation = match request.get("operation").and_then(Value::as_str) {
        // As the API server spells it: upper case only.
        Some(op) => op
            .parse::<Operation>()
            .ok()
            .filter(|o| o.as_str() == op)
            .ok_or_else(|| bad(format!("operation `{op}` is not CREATE, UPDATE, DELETE or CONNECT")))?,
        None => return Err(bad("the request has no `operation`".into())),
    };
    let object = request.remove("object").filter(|v| !v.is_null());
    let old = request.remove("oldObject").filter(|v| !v.is_null());
    let (judged, old, field) = match (operation, object, old) {
        (Operation::Delete, _, Some(old)) => (old, None, "oldObject"),
        (Operation::Delete, Some(object), None) => (object, None, "object"),
        (Operation::Delete, None, None) => return Err(bad("a DELETE request without `oldObject`".into())),
        (Operation::Update, Some(object), old) => (object, old, "object"),
        (_, Some(object), _) => (object, None, "object"),
        (_, None, _) => return Err(bad(format!("a {} request without `object`", operation.as_str()))),
    };
    let mut object = judged;
    complete(&mut object, &request).map_err(bad)?;
    let old = match old {
        Some(mut old) => {
            complete(&mut old, &request).map_err(bad)?;
            Some(old)
        }
        None => None,
    };
    let text = |key: &str| request.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let kind = request.get("kind").and_then(|k| k.get("kind")).and_then(Value::as_str).unwrap_or_default();
    Ok(Request {
        kind: kind.to_owned(),
        namespace: text("namespace"),
        name: text("name"),
        pointer: format!("{}/{field}", if wrapped { "/request" } else { "" }),
        operation,
        dry_run: request.get("dryRun").and_then(Value::as_bool).unwrap_or(false),
        user_info: request.remove("userInfo").unwrap_or(Value::Null),
        uid,
        api_version,
        object,
        old,
    })
}

/// The request of a review (or a bare request), the apiVersion to answer in, and whether the
/// request was wrapped in a review.
fn envelope(review: Value) -> Result<(Map<String, Value>, String, bool), AdmissionError> {
    let v1 = "admission.k8s.io/v1";
    let fail = |reason: &str, api_version: &str| AdmissionError {
        reason: reason.to_owned(),
        uid: None,
        api_version: api_version.to_owned(),
    };
    let Value::Object(mut top) = review else {
        return Err(fail("the body is not a JSON object", v1));
    };
    if top.contains_key("request") || top.get("kind").and_then(Value::as_str) == Some("AdmissionReview") {
        let version = top.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_owned();
        if !matches!(version.as_str(), "admission.k8s.io/v1" | "admission.k8s.io/v1beta1") {
            return Err(fail(&format!("apiVersion `{version}` is not admission.k8s.io/v1 (or v1beta1)"), v1));
        }
        match top.remove("request") {
            Some(Value::Object(r)) => Ok((r, version, true)),
            _ => Err(fail("the AdmissionReview has no `request` object", &version)),
        }
    } else if top.contains_key("uid") && top.contains_key("kind") {
        Ok((top, v1.to_owned(), false))
    } else {
        Err(fail("expected an AdmissionReview (`kind: AdmissionReview` with a `request`) or an AdmissionRequest", v1))
    }
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
