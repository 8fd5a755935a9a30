//! Kyverno's `kyverno test` files (`cli.kyverno.io/v1alpha1` Test) as suites: the policies and
//! param resources they name make the bundle, their resources one case, and each expected result
//! (per policy and resource; `pass`, `fail`, `skip`, `error`) one expectation, with Kyverno's
//! meaning. Namespace labels come from the values (`variables` file or inline `values`), the
//! requester from the `userinfo` file. What paved cannot run yet is an error that says so.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::suite::{find, gather, Case, Expect, TestSuite};
use crate::compile::bundle::Bundle;
use crate::engine::inventory::Inventory;
use crate::engine::resource::Resource;
use crate::engine::Context;
use crate::error::Diagnostics;
use crate::k8s::Operation;
use crate::load::{self, Origin, Sourced};
use crate::model::Outcome;

/// The API version of Kyverno's CLI documents.
pub(super) const API_VERSION: &str = "cli.kyverno.io/v1alpha1";

#[allow(dead_code)] // `apiVersion` and `kind` are checked before the document is read
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct KyvernoTest {
    api_version: String,
    kind: String,
    #[serde(default)]
    metadata: Option<Metadata>,
    /// Deprecated by Kyverno for `metadata.name`.
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    resources: Vec<String>,
    #[serde(default)]
    param_resources: Vec<String>,
    #[serde(default)]
    variables: Option<String>,
    #[serde(default)]
    userinfo: Option<String>,
    #[serde(default)]
    values: Option<Values>,
    #[serde(default)]
    results: Vec<KyvernoResult>,
    // What paved cannot run yet: refused with a reason when given.
    #[serde(default)]
    json_payload: Option<Value>,
    #[serde(default)]
    json_payloads: Option<Value>,
    #[serde(default)]
    target_resources: Option<Value>,
    #[serde(default)]
    checks: Option<Value>,
    #[serde(default)]
    exceptions: Option<Value>,
    #[serde(default)]
    context: Option<Value>,
    #[serde(default)]
    cluster_resources: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    name: Option<String>,
}

/// Kyverno's values: namespace labels (and what paved does not read yet).
#[allow(dead_code)] // a values file's `apiVersion`, `kind` and `metadata` are not read
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Values {
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    namespace_selector: Vec<NamespaceLabels>,
    #[serde(default)]
    namespaces: Vec<Value>,
    #[serde(default)]
    global_values: Option<Value>,
    #[serde(default)]
    policies: Vec<PolicyValues>,
    #[serde(default)]
    subresources: Option<Value>,
    #[serde(default)]
    variables: Option<Value>,
}

/// A policy's values: per resource, `request.operation` (what else Kyverno's ClusterPolicies
/// read there, paved does not run).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyValues {
    #[allow(dead_code)] // the operation is the resource's, whichever policy names it
    name: String,
    #[serde(default)]
    resources: Vec<ResourceValues>,
    #[serde(default)]
    rules: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceValues {
    name: String,
    #[serde(default)]
    values: serde_json::Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NamespaceLabels {
    name: String,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct KyvernoResult {
    policy: String,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    is_validating_admission_policy: bool,
    #[serde(default)]
    is_validating_policy: bool,
    #[serde(default)]
    is_mutating_policy: bool,
    #[serde(default)]
    result: Option<String>,
    /// Deprecated by Kyverno for `result`.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    resources: Vec<String>,
    /// Deprecated by Kyverno for `resources`.
    #[serde(default)]
    resource: Option<String>,
    /// Deprecated by Kyverno for `namespace/name` in `resources`.
    #[serde(default)]
    namespace: Option<String>,
    /// The file of the resource as a mutating policy should leave it.
    #[serde(default)]
    patched_resources: Option<String>,
    /// Deprecated by Kyverno for `patchedResources`.
    #[serde(default)]
    patched_resource: Option<String>,
    #[serde(default)]
    generated_resource: Option<Value>,
    #[serde(default)]
    clone_source_resource: Option<Value>,
}

/// A `kyverno test` document as a suite; its problems go to `diags`.
pub(super) fn compile(doc: &Sourced, diags: &mut Diagnostics) -> Option<TestSuite> {
    let before = diags.len();
    let doc = &as_go_reads(doc);
    let (test, problems) = load::typed_despite::<KyvernoTest>(doc);
    problems.into_iter().for_each(|d| diags.push(d));
    let test = test?;
    let origin = &doc.origin;
    let dir = Path::new(&*origin.file).parent().map(Path::to_path_buf).unwrap_or_default();
    not_yet(&test, origin, diags);
    let paths = |list: &[String]| list.iter().map(|p| dir.join(p)).collect::<Vec<_>>();
    let mut policy_files = paths(&test.policies);
    policy_files.extend(paths(&test.param_resources));
    let bundle = gather(origin, "/policies", Bundle::from_paths(&policy_files), diags).unwrap_or_default();
    let mut resources =
        gather(origin, "/resources", Resource::from_paths(&paths(&test.resources)), diags).unwrap_or_default();
    let mut base = Context::at(jiff::Timestamp::UNIX_EPOCH);
    let mut values = test.values.into_iter().collect::<Vec<_>>();
    if let Some(file) = &test.variables {
        values.extend(read_values(&dir.join(file), origin, diags));
    }
    for v in &values {
        not_yet_values(v, origin, diags);
        namespaces(v, &mut base);
    }
    if let Some(file) = &test.userinfo {
        base.user_info = read_user(&dir.join(file), origin, diags).unwrap_or_default();
    }
    let inventory = test.context.as_ref().map(|file| read_context(file, &dir, origin, diags));
    place(&mut resources, &values, &base, (origin, diags));
    let ids: Vec<_> = resources.iter().map(Resource::identity).collect();
    let mut expect = Vec::new();
    for (i, r) in test.results.iter().enumerate() {
        let at = format!("/results/{i}");
        let mut found = expectations(r, &at, &ids, origin, diags);
        if let Some(file) = r.patched_resources.as_ref().or(r.patched_resource.as_ref()) {
            let patched =
                gather(origin, &format!("{at}/patchedResources"), Resource::from_paths(&[dir.join(file)]), diags)
                    .unwrap_or_default();
            // A resource the file does not hold is not compared, as `kyverno test` has it.
            for e in &mut found {
                let id = ids.get(e.index);
                e.patched =
                    patched.iter().find(|p| id.is_some_and(|id| same(&p.identity(), id))).map(|p| p.value.clone());
            }
        }
        expect.extend(found);
    }
    let name = test.metadata.and_then(|m| m.name).or(test.name).unwrap_or_else(|| origin.file.to_string());
    let case = Case {
        name: "kyverno test".into(),
        line: origin.locate("").line,
        now: None,
        operation: None,
        user_info: None,
        namespace: None,
        resources,
        inventory,
        images: Default::default(),
        exceptions: Bundle::default(),
        expect,
        invalid: false,
    };
    (diags.len() == before).then(|| TestSuite {
        name,
        file: origin.file.to_string(),
        bundle,
        now: None,
        base,
        cases: vec![case],
    })
}

/// A resource and the one a patched file holds are the same object: kind and name, and the
/// namespace when the patched one names it.
fn same(patched: &crate::k8s::ResourceRef, given: &crate::k8s::ResourceRef) -> bool {
    patched.kind == given.kind
        && patched.name == given.name
        && (patched.namespace.is_empty() || patched.namespace == given.namespace)
}

/// The fields of a result, as Kyverno's decoder (Go's) matches them: whatever their case
/// (`isMUtatingPolicy` is `isMutatingPolicy`).
const RESULT_FIELDS: [&str; 15] = [
    "policy",
    "rule",
    "isValidatingAdmissionPolicy",
    "isValidatingPolicy",
    "isMutatingPolicy",
    "result",
    "status",
    "kind",
    "resources",
    "resource",
    "namespace",
    "patchedResources",
    "patchedResource",
    "generatedResource",
    "cloneSourceResource",
];

/// The document with its results' fields named as Kyverno reads them.
fn as_go_reads(doc: &Sourced) -> Sourced {
    let mut doc = doc.clone();
    let results = doc.value.get_mut("results").and_then(Value::as_array_mut).into_iter().flatten();
    for result in results.filter_map(Value::as_object_mut) {
        let keys: Vec<String> = result.keys().cloned().collect();
        for key in keys {
            let Some(named) = RESULT_FIELDS.iter().find(|f| **f != key && f.eq_ignore_ascii_case(&key)) else {
                continue;
            };
            if let Some(value) = result.remove(&key) {
                result.insert((*named).to_owned(), value);
            }
        }
    }
    doc
}

/// The namespaces' labels the values give (`namespaceSelector`, `namespaces`).
fn namespaces(v: &Values, base: &mut Context) {
    for ns in &v.namespace_selector {
        base.namespaces.insert(ns.name.clone(), ns.labels.clone());
    }
    for ns in &v.namespaces {
        let text = |p: &str| ns.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let labels = ns
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect());
        if let Some(name) = text("/metadata/name") {
            base.namespaces.insert(name, labels.unwrap_or_default());
        }
    }
}

/// The resources as Kyverno judges them: a namespaced one that names no namespace in `default`,
/// one with a `request.operation` in the values as that request.
fn place(resources: &mut [Resource], values: &[Values], base: &Context, (origin, diags): (&Origin, &mut Diagnostics)) {
    let crds = crate::k8s::schema::Crds::default();
    for r in resources.iter_mut() {
        let id = r.identity();
        let group = crate::k8s::split_api_version(&id.api_version).0;
        if id.namespace.is_empty() && crate::k8s::namespaced(group, &id.kind, &crds) {
            if let Some(meta) = r.value.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("namespace".into(), "default".into());
            }
        }
    }
    for given in values.iter().flat_map(|v| &v.policies).flat_map(|p| &p.resources) {
        let Some(op) = given.values.get("request.operation") else { continue };
        let Ok(operation) = serde_json::from_value::<Operation>(op.clone()) else {
            let message = format!("`request.operation` is CREATE, UPDATE, DELETE or CONNECT, not {op}");
            diags.push(origin.diagnostic("/values", message, None));
            continue;
        };
        for r in resources.iter_mut().filter(|r| r.identity().name == given.name) {
            *r = Resource::from_request(r.value.clone(), None, operation, base.user_info.clone(), false);
        }
    }
}

/// The expectations of one expected result: one per resource it names.
fn expectations(
    r: &KyvernoResult,
    at: &str,
    ids: &[crate::k8s::ResourceRef],
    origin: &Origin,
    diags: &mut Diagnostics,
) -> Vec<Expect> {
    let word = r.result.as_deref().or(r.status.as_deref()).unwrap_or_default();
    let result = match word {
        "pass" => Outcome::Pass,
        "fail" => Outcome::Fail,
        "skip" => Outcome::Skip,
        "error" => Outcome::Error,
        other => {
            let message = crate::compile::resources::one_of(other, &["pass", "fail", "skip", "error"]);
            diags.push(origin.diagnostic(&format!("{at}/result"), message, None));
            return Vec::new();
        }
    };
    // Kyverno's results of CEL policies name no rule: the policy's response is one.
    let cel = r.is_validating_policy || r.is_validating_admission_policy || r.is_mutating_policy;
    let rule = r.rule.clone().filter(|_| !cel);
    if rule.is_some() {
        let help = "paved reads Kyverno's CEL policies (ValidatingPolicy) and Kubernetes' ValidatingAdmissionPolicy; a result with a `rule` is of a ClusterPolicy".to_owned();
        diags.push(origin.diagnostic(
            &format!("{at}/rule"),
            "paved does not run Kyverno's ClusterPolicy rules",
            Some(help),
        ));
        return Vec::new();
    }
    let names = r.resources.iter().chain(&r.resource);
    let mut out = Vec::new();
    for name in names {
        let (namespace, object) = match (name.split_once('/'), &r.namespace) {
            (Some((ns, n)), _) => (Some(ns), n),
            (None, ns) => (ns.as_deref(), name.as_str()),
        };
        let id = match namespace {
            Some(ns) => format!("{}/{ns}/{object}", r.kind),
            None => format!("{}/{object}", r.kind),
        };
        match find(ids, &id) {
            Ok(index) => out.push(Expect {
                resource: id,
                index,
                policy: r.policy.clone(),
                rule: None,
                result,
                line: origin.locate(at).line,
                errors_apart: true,
                violations: None,
                patched: None,
            }),
            Err((message, help)) => diags.push(origin.diagnostic(&format!("{at}/resources"), message, help)),
        }
    }
    out
}

/// What `kyverno test` runs that paved does not yet: an error each, so no expectation is
/// silently dropped.
fn not_yet(t: &KyvernoTest, origin: &Origin, diags: &mut Diagnostics) {
    let given = [
        ("jsonPayload", t.json_payload.is_some()),
        ("jsonPayloads", t.json_payloads.is_some()),
        ("targetResources", t.target_resources.is_some()),
        ("checks", t.checks.is_some()),
        ("exceptions", t.exceptions.is_some()),
        ("clusterResources", t.cluster_resources.is_some()),
    ];
    for (field, _) in given.iter().filter(|(_, g)| *g) {
        diags.push(origin.diagnostic(
            &format!("/{field}"),
            format!("paved does not run a Kyverno test's `{field}` yet"),
            None,
        ));
    }
    for (i, r) in t.results.iter().enumerate() {
        for (field, given) in [
            ("generatedResource", r.generated_resource.is_some()),
            ("cloneSourceResource", r.clone_source_resource.is_some()),
        ] {
            if given {
                let message = format!("paved does not check a Kyverno result's `{field}` yet");
                diags.push(origin.diagnostic(&format!("/results/{i}/{field}"), message, None));
            }
        }
    }
}

fn not_yet_values(v: &Values, origin: &Origin, diags: &mut Diagnostics) {
    let other_values =
        v.policies.iter().flat_map(|p| &p.resources).flat_map(|r| r.values.keys()).any(|k| k != "request.operation");
    for (field, given) in [
        ("globalValues", v.global_values.is_some()),
        ("policies` rules", v.policies.iter().any(|p| p.rules.is_some())),
        ("policies` values other than `request.operation", other_values),
        ("subresources", v.subresources.is_some()),
        ("variables", v.variables.is_some()),
    ] {
        if given {
            let message = format!(
                "paved does not read Kyverno values' `{field}` yet (it reads `namespaceSelector`, `namespaces` and a resource's `request.operation`)"
            );
            diags.push(origin.diagnostic("/values", message, None));
        }
    }
}

/// The `Values` documents of a `variables` file.
fn read_values(path: &Path, origin: &Origin, diags: &mut Diagnostics) -> Vec<Values> {
    let Some(docs) = read(path, origin, "/variables", diags) else { return Vec::new() };
    docs.iter()
        .filter_map(|d| {
            let (v, problems) = load::typed_despite::<Values>(d);
            problems.into_iter().for_each(|p| diags.push(p));
            v
        })
        .collect()
}

/// The requester of a `userinfo` file: its `userInfo` (`username`, `groups`).
fn read_user(path: &Path, origin: &Origin, diags: &mut Diagnostics) -> Option<Value> {
    let docs = read(path, origin, "/userinfo", diags)?;
    docs.first().and_then(|d| d.value.get("userInfo").cloned())
}

/// The cluster of a `context` file (a `Context` whose `spec.resources` are the objects that
/// `resource.Get` and `resource.List` find), as a complete inventory.
fn read_context(file: &Value, dir: &Path, origin: &Origin, diags: &mut Diagnostics) -> Inventory {
    let Some(file) = file.as_str() else {
        diags.push(origin.diagnostic("/context", "`context` is the path of a `Context` file", None));
        return Inventory::default();
    };
    let docs = read(&dir.join(file), origin, "/context", diags).unwrap_or_default();
    let objects: Vec<Resource> = docs
        .iter()
        .flat_map(|d| d.value.pointer("/spec/resources").and_then(Value::as_array).cloned().unwrap_or_default())
        .map(Resource::new)
        .collect();
    Inventory::new(&objects).complete_all()
}

fn read(path: &Path, origin: &Origin, field: &str, diags: &mut Diagnostics) -> Option<Vec<Sourced>> {
    match load::read_file(path, load::Schema::Core) {
        Ok(Ok(docs)) => Some(docs),
        Ok(Err(d)) => {
            diags.push(d);
            None
        }
        Err(e) => {
            diags.push(origin.diagnostic(field, e.to_string(), None));
            None
        }
    }
}
