//! Kubernetes admission: an `admission.k8s.io/v1` AdmissionReview (or a bare AdmissionRequest)
//! in, the AdmissionReview response out, decided by the same [`Engine::evaluate`] as every other
//! front end.
//!
//! The object judged is `request.object`, or `request.oldObject` for `DELETE`; `oldObject` is
//! bound for `UPDATE`. What the API server leaves out of the object (its `apiVersion` and `kind`
//! on some requests, the namespace and name it will fill in) comes from the request. A denial's
//! `status.message` lists the unwaived `Deny` findings (policy, rule, message, path; the first
//! 20 within 4 KiB, then how many more: a huge object's denial stays small); `Warn`
//! findings become `warnings`, within the API server's limits (256 characters each, 4096 in
//! all); `auditAnnotations` record the decision and what was denied, warned and waived. A
//! validating webhook has no side effects, so `dryRun` changes nothing but `request.dryRun`, which
//! policies can read.

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::engine::resource::Resource;
use crate::engine::{Context, Engine};
use crate::k8s::admission::{self, AdmissionError};
use crate::k8s::Operation;
use crate::report::{Decision, Report};

/// The most characters of one warning the API server keeps.
const WARNING_LENGTH: usize = 256;
/// The most characters of all warnings of a response the API server keeps.
const WARNINGS_TOTAL: usize = 4096;
/// The most denials a denial's message lists, and the most characters it spends on them; the
/// rest are counted (`and 12 more`), and named by policy and rule in the audit annotations.
const DENIALS_SHOWN: usize = 20;
const DENIALS_LENGTH: usize = 4096;

/// An AdmissionReview (or a bare AdmissionRequest), read once: the object it asks about,
/// completed with what the API server leaves out, and what the request says of itself. The
/// objects are moved out of the review, not copied.
///
/// ```
/// let review = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
///   "uid": "7a1", "operation": "CREATE", "namespace": "shop", "kind": {"group": "", "version": "v1", "kind": "Pod"},
///   "object": {"metadata": {"name": "web"}, "spec": {"containers": []}}}});
/// let request = paved::AdmissionRequest::read(review)?;
/// assert_eq!((request.uid(), request.kind(), request.namespace()), ("7a1", "Pod", "shop"));
/// assert_eq!(request.resource().identity().name, "web");
/// # Ok::<(), paved::AdmissionError>(())
/// ```
#[derive(Debug, Clone)]
pub struct AdmissionRequest {
    uid: String,
    api_version: String,
    kind: String,
    namespace: String,
    name: String,
    operation: Operation,
    resource: Resource,
}

impl AdmissionRequest {
    /// Reads a review; one paved cannot judge is an error (see [`AdmissionError::denial`]).
    pub fn read(review: Value) -> Result<Self, AdmissionError> {
        let r = admission::read(review)?;
        Ok(AdmissionRequest {
            resource: Resource::from_request(r.object, r.old, r.operation, r.user_info, r.dry_run),
            uid: r.uid,
            api_version: r.api_version,
            kind: r.kind,
            namespace: r.namespace,
            name: r.name,
            operation: r.operation,
        })
    }

    /// `request.uid`, which the answer repeats.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// `request.kind.kind`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// `request.namespace`; empty for a cluster-scoped object.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `request.name`; empty when the API server is to generate it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `request.operation`.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The object judged (`object`, or `oldObject` for `DELETE`), for this request's operation
    /// and user.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }
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
    /// let answer = engine.admit(review, &Context::parse_at("2026-06-01")?)?;
    /// assert_eq!(answer["response"]["uid"], "705ab4f5");
    /// assert_eq!(answer["response"]["allowed"], false);
    /// assert!(answer["response"]["status"]["message"].as_str().unwrap().contains("pod-security-baseline/hostNamespaces"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn admit(&self, review: Value, ctx: &Context) -> Result<Value, AdmissionError> {
        Ok(self.admit_request(&AdmissionRequest::read(review)?, ctx).0)
    }

    /// As [`Engine::admit`], for a request already read, with the report the answer was made
    /// from (for a webhook's logs and metrics: the decision, the findings, the rule errors).
    pub fn admit_request(&self, request: &AdmissionRequest, ctx: &Context) -> (Value, Report) {
        let span = tracing::debug_span!("admit");
        let _enter = span.enter();
        let report = self.evaluate(std::slice::from_ref(&request.resource), ctx);
        (response(request, &report), report)
    }

    /// Answers a mutating admission request (the webhook's `/mutate`): the mutations only, as a
    /// base64 JSON Patch (`patchType: JSONPatch`) of the request's object when they changed it,
    /// denied only when a mutation failed under `failurePolicy: Fail`. Validation is left to the
    /// validating request the API server sends with the mutated object. With the report the
    /// answer was made from (its `patches`, for the webhook's metrics).
    ///
    /// ```
    /// use base64::Engine as _;
    /// use paved::{AdmissionRequest, Bundle, Context, Engine};
    /// let bundle = Bundle::from_str("p.yaml", "{apiVersion: paved.dev/v1, kind: Policy, metadata: {name: team, version: 1.0.0},
    ///   spec: {match: {kinds: [Pod]}, mutations: [{id: team, setLabels: {team: platform}}]}}")?;
    /// let engine = Engine::builder().bundle(bundle).build()?;
    /// let review = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
    ///   "uid": "7a1", "operation": "CREATE", "kind": {"group": "", "version": "v1", "kind": "Pod"},
    ///   "object": {"metadata": {"name": "web", "labels": {"app": "web"}}, "spec": {"containers": []}}}});
    /// let (answer, _) = engine.admit_mutation(&AdmissionRequest::read(review)?, &Context::parse_at("2026-06-01")?);
    /// assert_eq!(answer["response"]["patchType"], "JSONPatch");
    /// let patch = base64::engine::general_purpose::STANDARD.decode(answer["response"]["patch"].as_str().unwrap())?;
    /// assert_eq!(String::from_utf8(patch)?, r#"[{"op":"add","path":"/metadata/labels/team","value":"platform"}]"#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn admit_mutation(&self, request: &AdmissionRequest, ctx: &Context) -> (Value, Report) {
        let span = tracing::debug_span!("admit_mutation");
        let _enter = span.enter();
        let (report, mut mutated) =
            self.run(std::slice::from_ref(&request.resource), ctx, super::run::Stages::Mutate, &|| {});
        let mut answer = response(request, &report);
        let changed = mutated.pop().flatten().filter(|_| report.decision != Decision::Deny);
        if let (Some(after), Some(response)) = (changed, answer.get_mut("response").and_then(Value::as_object_mut)) {
            let patch = json_patch::diff(&request.resource.value, &after.value);
            let text = serde_json::to_vec(&patch).unwrap_or_default();
            response.insert("patchType".into(), Value::String("JSONPatch".into()));
            response.insert("patch".into(), Value::String(base64::engine::general_purpose::STANDARD.encode(text)));
        }
        (answer, report)
    }

    /// The answer to a request that was read but could not be judged (its evaluation ran past
    /// the deadline, or failed inside the host), and its decision. Denied, naming `reason`
    /// (fail closed), unless every policy that may apply to the object sets
    /// `failurePolicy: Ignore`; then allowed, with `reason` as a warning. Either way the audit
    /// annotations say it was not judged.
    ///
    /// ```
    /// use paved::{AdmissionRequest, Bundle, Decision, Engine};
    /// let engine = Engine::builder().bundle(Bundle::pack("pod-security-baseline")?).build()?;
    /// let review = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
    ///   "uid": "7a1", "operation": "CREATE", "kind": {"group": "", "version": "v1", "kind": "Pod"},
    ///   "object": {"metadata": {"name": "web"}, "spec": {"containers": []}}}});
    /// let (answer, decision) = engine.admit_unjudged(&AdmissionRequest::read(review)?, "the deadline of 9s passed");
    /// assert_eq!((answer["response"]["allowed"].as_bool(), decision), (Some(false), Decision::Deny));
    /// assert_eq!(answer["response"]["status"]["message"], "paved could not judge the request: the deadline of 9s passed");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn admit_unjudged(&self, request: &AdmissionRequest, reason: &str) -> (Value, Decision) {
        let message = format!("paved could not judge the request: {reason}");
        let allowed = self.fails_open(&request.resource);
        let mut response = Map::new();
        response.insert("uid".into(), Value::String(request.uid.clone()));
        response.insert("allowed".into(), Value::Bool(allowed));
        if allowed {
            response.insert("warnings".into(), json!([message]));
        } else {
            response.insert("status".into(), json!({"code": 500, "reason": "InternalError", "message": message}));
        }
        let decision = if allowed { Decision::Warn } else { Decision::Deny };
        response.insert("auditAnnotations".into(), json!({"decision": decision.as_str(), "unjudged": reason}));
        (json!({ "apiVersion": request.api_version, "kind": "AdmissionReview", "response": response }), decision)
    }
}

/// The AdmissionReview answering `request` with `report`.
fn response(request: &AdmissionRequest, report: &Report) -> Value {
    let unwaived = || report.findings.iter().filter(|f| f.waived_by.is_none());
    let denials = bounded(unwaived().filter(|f| f.action == crate::model::Action::Deny).map(|f| said(f, true)));
    let mut warnings = Vec::new();
    let mut total = 0;
    for f in unwaived().filter(|f| f.action == crate::model::Action::Warn) {
        let mut w = said(f, false);
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
    for r in &report.resources {
        audit.extend(r.annotations.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))));
    }
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
        ("mutated", {
            let mut m: Vec<String> = report
                .patches
                .iter()
                .filter(|p| p.waived_by.is_none())
                .map(|p| format!("{}/{}", p.policy, p.mutation))
                .collect();
            m.dedup();
            m.join(",")
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
                "message": format!("denied by paved: {denials}"),
            }),
        );
    }
    if !warnings.is_empty() {
        response.insert("warnings".into(), Value::Array(warnings));
    }
    response.insert("auditAnnotations".into(), Value::Object(audit));
    json!({ "apiVersion": request.api_version, "kind": "AdmissionReview", "response": response })
}

/// The first denials, within [`DENIALS_SHOWN`] and [`DENIALS_LENGTH`], joined, and how many
/// more there are.
fn bounded(denials: impl Iterator<Item = String>) -> String {
    let mut shown = String::new();
    let mut more = 0usize;
    for (i, d) in denials.enumerate() {
        if more > 0 || i >= DENIALS_SHOWN || shown.len() + d.len() > DENIALS_LENGTH && i > 0 {
            more += 1;
            continue;
        }
        if !shown.is_empty() {
            shown.push_str("; ");
        }
        if d.len() > DENIALS_LENGTH {
            let cut: String = d.chars().take(DENIALS_LENGTH - 1).collect();
            shown.push_str(&cut);
            shown.push('…');
        } else {
            shown.push_str(&d);
        }
    }
    if more > 0 {
        shown.push_str(&format!("; and {more} more (the audit annotation `denied` names every rule)"));
    }
    shown
}

/// A finding as a denial or a warning says it: a Kubernetes admission policy's as the API
/// server words it, naming the policy and binding; paved's as `POLICY/RULE: message (at PATH)`.
fn said(f: &crate::report::Finding, denied: bool) -> String {
    match &f.binding {
        Some(b) if denied => {
            format!("ValidatingAdmissionPolicy '{}' with binding '{b}' denied request: {}", f.policy, f.message)
        }
        Some(b) => {
            format!("Validation failed for ValidatingAdmissionPolicy '{}' with binding '{b}': {}", f.policy, f.message)
        }
        None => format!("{}/{}: {}{}", f.policy, f.rule, f.message, at(&f.path)),
    }
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" (at {path})")
    }
}
