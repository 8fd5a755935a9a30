//! Terraform and OpenTofu plans, as `terraform show -json` writes them (format versions 0.x,
//! from Terraform 0.12, and 1.x: the same shape), read as documents policies match like
//! manifests: one per managed resource change.
//!
//! A resource change becomes
//!
//! ```yaml
//! apiVersion: terraform/aws             # `terraform/` and the provider's local name
//! kind: aws_s3_bucket                   # the resource type
//! metadata:
//!   name: module.web.aws_s3_bucket.logs # the plan address
//!   labels: {owner: payments}           # the resource's string tags (`tags_all`, else `tags`)
//! values: {bucket: logs, acl: private}  # `change.after` (`change.before` for a delete)
//! terraform: {address: …, module: module.web, mode: managed, type: …, name: logs, provider: …, actions: [create]}
//! ```
//!
//! A value Terraform knows only after apply (`after_unknown`) is the [`unknown`](super::unknown::unknown) marker, which
//! CEL reads as an unknown: a rule that depends on one is neither passed nor failed.

use serde_json::{json, Map, Value};

use super::cloud::{metadata, Action, Change, TERRAFORM as GROUP};
use super::origin::{Origin, Sourced};
use crate::error::Diagnostic;

/// Whether a kind has the shape of a Terraform resource type (`aws_s3_bucket`): a provider's
/// name, an underscore, lowercase words.
pub(crate) fn looks_like_type(kind: &str) -> bool {
    kind.contains('_') && kind.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Whether a document is a plan: `format_version`, `terraform_version`, and resource changes
/// or planned values.
pub(crate) fn is_plan(v: &Value) -> bool {
    v.get("format_version").is_some_and(Value::is_string)
        && v.get("terraform_version").is_some()
        && (v.get("resource_changes").is_some() || v.get("planned_values").is_some())
}

/// The resource changes of a plan, each with the place in the plan it was written; every
/// problem with its place.
pub(crate) fn read(doc: &Sourced) -> Result<Vec<Change>, Vec<Diagnostic>> {
    let version = doc.value.get("format_version").and_then(Value::as_str).unwrap_or_default();
    if !matches!(version.split('.').next(), Some("0" | "1")) || version.split('.').count() != 2 {
        return Err(vec![doc.origin.diagnostic(
            "/format_version",
            format!("plan format version `{version}` is not one paved reads"),
            Some(
                "paved reads the 0.x and 1.x formats `terraform show -json` (Terraform 0.12 on, OpenTofu) writes"
                    .into(),
            ),
        )]);
    }
    let changes = match doc.value.get("resource_changes") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(changes)) => changes,
        Some(_) => {
            return Err(vec![doc.origin.diagnostic("/resource_changes", "`resource_changes` must be a list", None)])
        }
    };
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    let mut blocks = Blocks::default();
    let configured = configuration(&doc.value);
    for (i, change) in changes.iter().enumerate() {
        let origin = Origin { base: format!("{}/resource_changes/{i}", doc.origin.base), ..doc.origin.clone() };
        match planned(change, &origin) {
            Ok(Some(mut p)) => {
                p.origin.made_from = blocks.find(&doc.value, &doc.origin.file, change);
                if let Some(Value::Object(written)) = configured.get(&config_address(change)) {
                    let mut written = written.clone();
                    // A plan's configuration leaves out some nested blocks (`ingress { }` in
                    // Terraform 0.12): what the plan gives a value is written too.
                    let given = p.value.get("values").and_then(Value::as_object).into_iter().flatten();
                    let given: Vec<Value> =
                        given.filter(|(_, v)| set(v)).map(|(k, _)| Value::String(k.clone())).collect();
                    if let Some(Value::Array(names)) = written.get_mut("configured") {
                        names.extend(given.into_iter().filter(|g| !names.contains(g)).collect::<Vec<_>>());
                    }
                    if let Some(t) = p.value.get_mut("terraform").and_then(Value::as_object_mut) {
                        t.extend(written);
                    }
                }
                out.push(p);
            }
            Ok(None) => {}
            Err((pointer, message)) => problems.push(origin.diagnostic(
                &pointer,
                message,
                Some("the plan should be `terraform show -json PLANFILE`'s output, whole".into()),
            )),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

type Problem = (String, String);

/// One resource change as a document; `None` for what is not provisioned (a data source read,
/// a resource forgotten or left alone by a `removed` block).
fn planned(rc: &Value, origin: &Origin) -> Result<Option<Change>, Problem> {
    let text = |key: &'static str| match rc.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
        _ => Err((format!("/{key}"), format!("a resource change needs `{key}`, a non-empty string"))),
    };
    let (address, kind, mode) = (text("address")?, text("type")?, text("mode")?);
    let change = rc
        .get("change")
        .filter(|c| c.is_object())
        .ok_or(("/change".into(), "a resource change needs `change`".into()))?;
    let actions: Vec<&str> = match change.get("actions") {
        Some(Value::Array(a)) => a.iter().map(|a| a.as_str().unwrap_or_default()).collect(),
        _ => return Err(("/change/actions".into(), "a resource change needs `change.actions`, a list".into())),
    };
    let action = match actions.as_slice() {
        _ if mode != "managed" => return Ok(None),
        ["read"] | ["forget"] => return Ok(None),
        ["create"] => Action::Create,
        ["update"] | ["no-op"] => Action::Update,
        ["delete"] => Action::Delete,
        // A replacement is judged as it will be, with what it was.
        ["delete", "create"] | ["create", "delete"] => Action::Update,
        other => return Err(("/change/actions".into(), format!("`{}` is not an action of a plan", other.join(", ")))),
    };
    let (side, values) = if action == Action::Delete {
        ("before", change.get("before").cloned().unwrap_or(Value::Null))
    } else {
        let mut after = change.get("after").cloned().unwrap_or(Value::Null);
        if let Some(unknown) = change.get("after_unknown") {
            mark(&mut after, unknown);
        }
        ("after", after)
    };
    let before = (action == Action::Update).then(|| change.get("before").cloned()).flatten();
    let provider = rc.get("provider_name").and_then(Value::as_str).unwrap_or_default();
    let value = json!({
        "apiVersion": format!("{GROUP}/{}", provider_short_name(provider, kind)),
        "kind": kind,
        "metadata": metadata(address, &values),
        "values": values,
        "terraform": {
            "address": address,
            "module": rc.get("module_address").and_then(Value::as_str).unwrap_or_default(),
            "mode": mode,
            "type": kind,
            "name": rc.get("name").and_then(Value::as_str).unwrap_or_default(),
            "index": rc.get("index").cloned().unwrap_or(Value::Null),
            "provider": provider,
            "actions": actions,
        },
    });
    let origin = origin.renamed(vec![
        ("/values".into(), format!("/change/{side}")),
        ("/kind".into(), "/type".into()),
        ("/metadata".into(), "/address".into()),
        ("/terraform/actions".into(), "/change/actions".into()),
        ("/terraform".into(), String::new()),
    ]);
    let before = before.map(|b| document(&value, b));
    Ok(Some(Change { value, before, action, origin }))
}

/// What the plan's `configuration` says of each resource, by its configuration address: the
/// attributes written (`configured`: one the provider computes, unknown until apply, was not)
/// and what they refer to (`references`: `bucket = aws_s3_bucket.logs.id` refers to
/// `aws_s3_bucket.logs.id` and `aws_s3_bucket.logs`), each reference with its module's address
/// before it, as plan addresses are written (`module.web.aws_s3_bucket.logs`). A rule relates
/// resources whose names are unknown until apply through them.
fn configuration(plan: &Value) -> std::collections::BTreeMap<String, Value> {
    let mut out = std::collections::BTreeMap::new();
    if let Some(root) = plan.pointer("/configuration/root_module") {
        walk(plan, root, &Scope::default(), &mut out);
    }
    out
}

/// A module's place in the configuration: its address prefix (`module.web.`), and what each of
/// its variables refers to in the modules that call it (so a reference through `var.bucket`
/// reaches the bucket the caller passed).
#[derive(Default)]
struct Scope {
    prefix: String,
    variables: std::collections::BTreeMap<String, Vec<Value>>,
}

impl Scope {
    /// What an expression refers to, as plan addresses. A local (whose expression a plan does
    /// not keep) may refer to anything: the list then holds an unknown, so a rule that looks for
    /// a resource in it is unknown rather than wrong.
    fn references(&self, expression: &Value) -> Option<Vec<Value>> {
        let list = expression.get("references")?.as_array()?;
        let mut out = Vec::new();
        for r in list.iter().filter_map(Value::as_str) {
            let (root, rest) = r.split_once('.').unwrap_or((r, ""));
            match root {
                "var" => {
                    out.extend(self.variables.get(rest.split('.').next().unwrap_or(rest)).cloned().unwrap_or_default())
                }
                "local" => out.push(super::unknown::unknown()),
                "count" | "each" | "path" | "terraform" | "self" => {}
                _ => out.push(Value::String(format!("{}{r}", self.prefix))),
            }
        }
        out.dedup();
        Some(out)
    }
}

/// Records what the configuration says of a module's resources, then of the modules it calls.
fn walk(plan: &Value, module: &Value, scope: &Scope, out: &mut std::collections::BTreeMap<String, Value>) {
    for r in module.get("resources").and_then(Value::as_array).into_iter().flatten() {
        let (Some(address), Some(expressions)) =
            (r.get("address").and_then(Value::as_str), r.get("expressions").and_then(Value::as_object))
        else {
            continue;
        };
        let refs: Map<String, Value> = expressions
            .iter()
            .filter_map(|(attribute, e)| Some((attribute.clone(), Value::Array(scope.references(e)?))))
            .collect();
        let configured: Vec<&String> = expressions.keys().collect();
        let mut written = json!({ "configured": configured, "references": refs });
        if let (Some(region), Some(w)) = (region(plan, r), written.as_object_mut()) {
            w.insert("region".into(), Value::String(region.to_owned()));
        }
        out.insert(format!("{}{address}", scope.prefix), written);
    }
    for (name, call) in module.get("module_calls").and_then(Value::as_object).into_iter().flatten() {
        let Some(child) = call.get("module") else { continue };
        let inputs = call.get("expressions").and_then(Value::as_object);
        let variables =
            inputs.into_iter().flatten().filter_map(|(input, e)| Some((input.clone(), scope.references(e)?))).collect();
        walk(plan, child, &Scope { prefix: format!("{}module.{name}.", scope.prefix), variables }, out);
    }
}

/// The region of the provider configuration a resource uses, when the configuration writes it
/// as a constant (`provider "aws" { region = "eu-west-1" }`): what its price depends on.
fn region<'p>(plan: &'p Value, resource: &Value) -> Option<&'p str> {
    let key = resource.get("provider_config_key")?.as_str()?;
    let providers = plan.pointer("/configuration/provider_config")?;
    // A module's resources name their provider `module.x:aws`, or the root's `aws`.
    let config = providers.get(key).or_else(|| providers.get(key.rsplit(':').next()?))?;
    config.pointer("/expressions/region/constant_value")?.as_str()
}

/// A resource change's address in the configuration: its module's, without instance keys,
/// then its type and name (`module.web.aws_s3_bucket.logs` for `module.web[0]...logs["a"]`).
fn config_address(rc: &Value) -> String {
    let text = |k: &str| rc.get(k).and_then(Value::as_str).unwrap_or_default();
    let mut module = String::new();
    let mut depth = 0usize;
    for c in text("module_address").chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            c if depth == 0 => module.push(c),
            _ => {}
        }
    }
    let dot = if module.is_empty() { "" } else { "." };
    format!("{module}{dot}{}.{}", text("type"), text("name"))
}

/// Where resources are declared, by directory of `.tf` files: read once per plan.
#[derive(Default)]
struct Blocks(std::collections::BTreeMap<String, Vec<Block>>);

/// A `resource "TYPE" "NAME"` block: its type, name, file and line.
struct Block {
    kind: String,
    name: String,
    file: std::sync::Arc<str>,
    line: u32,
}

/// The most of a `.tf` file read to find its blocks.
const MAX_TF_BYTES: u64 = 4 << 20;

impl Blocks {
    /// The `.tf` file and line that declare a resource change's resource: in the plan's
    /// directory for the root module, in a local module's `source` for the others (as the
    /// plan's `configuration` names them). `None` when the plan came from standard input, the
    /// module is not local, or no file declares it.
    fn find(&mut self, plan: &Value, file: &str, rc: &Value) -> Option<(std::sync::Arc<str>, u32)> {
        if file == "<stdin>" {
            return None;
        }
        let mut dir = String::from(".");
        let mut module = plan.pointer("/configuration/root_module")?;
        let address = rc.get("module_address").and_then(Value::as_str).unwrap_or_default();
        for call in address.split("module.").map(|s| s.trim_end_matches('.')).filter(|s| !s.is_empty()) {
            let name = call.split('[').next().unwrap_or(call);
            let called = module.get("module_calls")?.get(name)?;
            let source =
                called.get("source").and_then(Value::as_str).filter(|s| s.starts_with("./") || s.starts_with("../"))?;
            dir = format!("{dir}/{source}");
            module = called.get("module")?;
        }
        let (kind, name) = (rc.get("type")?.as_str()?, rc.get("name")?.as_str()?);
        let blocks = self.0.entry(dir.clone()).or_insert_with(|| blocks_in(file, &dir));
        blocks.iter().find(|b| b.kind == kind && b.name == name).map(|b| (b.file.clone(), b.line))
    }
}

/// The resource blocks of the `.tf` files of a directory (`dir`, relative to the plan's
/// `file`), in the order of their names. Files that are not regular (a link to a device) or too
/// large are left out.
fn blocks_in(file: &str, dir: &str) -> Vec<Block> {
    let at = super::origin::beside(file, dir);
    let Ok(entries) = std::fs::read_dir(if at.is_empty() { "." } else { &*at }) else { return Vec::new() };
    let mut files: Vec<std::path::PathBuf> =
        entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "tf")).collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let readable = std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() <= MAX_TF_BYTES);
        let Some(text) = readable.then(|| std::fs::read_to_string(&path).ok()).flatten() else { continue };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let file = super::origin::beside(file, &format!("{dir}/{name}"));
        for (kind, name, line) in super::hcl::resource_blocks(&text) {
            out.push(Block { kind, name, file: file.clone(), line });
        }
    }
    out
}

/// The document of a resource as it was: the same identity, the values before the change.
fn document(now: &Value, values: Value) -> Value {
    let mut old = now.clone();
    if let Some(o) = old.as_object_mut() {
        o.insert(
            "metadata".into(),
            metadata(now.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default(), &values),
        );
        o.insert("values".into(), values);
    }
    old
}

/// The provider's local name: `aws` for `registry.terraform.io/hashicorp/aws` (0.13 on),
/// `provider.aws` or `aws` (0.12); the type's prefix when the plan names none.
fn provider_short_name<'a>(provider: &'a str, kind: &'a str) -> &'a str {
    let last = provider.rsplit('/').next().unwrap_or_default();
    let last = last.strip_prefix("provider.").unwrap_or(last);
    let last = last.split('.').next().unwrap_or_default();
    if last.is_empty() {
        kind.split('_').next().unwrap_or(kind)
    } else {
        last
    }
}

/// Puts the [`unknown`](super::unknown::unknown) marker where `unknown` (a change's `after_unknown`, the same shape as
/// `after` with `true` where a value is known only after apply) says.
fn mark(after: &mut Value, unknown: &Value) {
    match unknown {
        Value::Bool(true) => *after = super::unknown::unknown(),
        Value::Object(fields) if any_unknown(unknown) => {
            if after.is_null() {
                *after = Value::Object(Map::new());
            }
            if let Value::Object(values) = after {
                for (k, u) in fields.iter().filter(|(_, u)| any_unknown(u)) {
                    mark(values.entry(k.clone()).or_insert(Value::Null), u);
                }
            }
        }
        Value::Array(items) => {
            if let Value::Array(values) = after {
                for (v, u) in values.iter_mut().zip(items) {
                    mark(v, u);
                }
            }
        }
        _ => {}
    }
}

/// Whether a planned value says something: known, and not null or empty.
fn set(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty() && !super::unknown::is_unknown(v),
        _ => true,
    }
}

/// Whether an `after_unknown` value marks anything.
fn any_unknown(unknown: &Value) -> bool {
    match unknown {
        Value::Bool(b) => *b,
        Value::Object(m) => m.values().any(any_unknown),
        Value::Array(a) => a.iter().any(any_unknown),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::unknown::is_unknown;
    use super::*;

    #[test]
    fn marks_what_is_known_only_after_apply() {
        let mut after = json!({"bucket": "logs", "arn": null, "grant": [{"id": null}, {"id": "x"}], "tags": {}});
        mark(&mut after, &json!({"arn": true, "grant": [{"id": true}, {}], "tags": {}, "policy": true}));
        assert!(is_unknown(&after["arn"]) && is_unknown(&after["policy"]) && is_unknown(&after["grant"][0]["id"]));
        assert_eq!(after["grant"][1]["id"], "x");
        assert_eq!(after["tags"], json!({}), "nothing marked, nothing changed");
        let mut whole = Value::Null;
        mark(&mut whole, &Value::Bool(true));
        assert!(is_unknown(&whole));
    }

    #[test]
    fn provider_names() {
        assert_eq!(provider_short_name("registry.terraform.io/hashicorp/aws", "aws_s3_bucket"), "aws");
        assert_eq!(provider_short_name("provider.google", "google_storage_bucket"), "google");
        assert_eq!(provider_short_name("aws", "aws_s3_bucket"), "aws");
        assert_eq!(provider_short_name("", "azurerm_storage_account"), "azurerm");
    }
}
