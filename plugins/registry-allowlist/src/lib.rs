//! Images only from the registries a platform team allows, pinned by digest where it matters.
//!
//! Params: `registries` (globs such as `registry.acme.io` or `*.acme.io`) and, optionally,
//! `digestRequired` with `namespaces` (globs) and/or `namespaceLabels`: in those namespaces an
//! image must name its digest (`@sha256:...`), so what runs is exactly what was scanned.

use std::collections::BTreeMap;

use paved_pdk::{export_plugin, glob, json, Error, Finding, Input, Metadata, Plugin};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Params {
    registries: Vec<String>,
    #[serde(default)]
    digest_required: Option<Where>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Where {
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default)]
    namespace_labels: BTreeMap<String, String>,
}

/// The registry an image reference pulls from (`docker.io` when it names none).
fn registry(image: &str) -> &str {
    match image.split_once('/') {
        Some((host, _)) if host.contains(['.', ':']) || host == "localhost" => host,
        _ => "docker.io",
    }
}

struct RegistryAllowlist;

impl Plugin for RegistryAllowlist {
    fn metadata() -> Metadata {
        Metadata::new(
            "registry-allowlist",
            env!("CARGO_PKG_VERSION"),
            "Images come only from allowed registries, and carry a digest in production namespaces.",
        )
        .rule("registry-not-allowed", "Every container image is pulled from an allowed registry.")
        .rule("digest-required", "In production namespaces, every image names its digest.")
        .params_schema(json!({
            "type": "object",
            "required": ["registries"],
            "additionalProperties": false,
            "properties": {
                "registries": { "type": "array", "minItems": 1, "items": { "type": "string" } },
                "digestRequired": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "namespaces": { "type": "array", "items": { "type": "string" } },
                        "namespaceLabels": { "type": "object", "additionalProperties": { "type": "string" } }
                    }
                }
            }
        }))
    }

    fn check(input: &Input) -> Result<Vec<Finding>, Error> {
        let params: Params = input.params()?;
        let object = input.object()?;
        let ns = input.context()?.namespace;
        let production = params.digest_required.is_some_and(|w| {
            w.namespaces.iter().any(|g| glob(g, &ns.name))
                || (!w.namespace_labels.is_empty()
                    && w.namespace_labels.iter().all(|(k, v)| ns.labels.get(k) == Some(v)))
        });
        let mut findings = Vec::new();
        for (path, c) in object.containers() {
            let from = registry(&c.image);
            if !params.registries.iter().any(|g| glob(g, from)) {
                let allowed = params.registries.join(", ");
                findings.push(Finding::new(
                    "registry-not-allowed",
                    format!("{path}/image"),
                    format!(
                        "container {} pulls {} from {from}, which is not an allowed registry ({allowed})",
                        c.name, c.image
                    ),
                ));
            }
            if production && !c.image.contains("@sha256:") {
                findings.push(Finding::new(
                    "digest-required",
                    format!("{path}/image"),
                    format!(
                        "container {} runs {} by tag in production namespace {}; pin it as image@sha256:<digest>",
                        c.name, c.image, ns.name
                    ),
                ));
            }
        }
        Ok(findings)
    }
}

export_plugin!(RegistryAllowlist);
