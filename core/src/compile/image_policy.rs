//! Kyverno's ImageValidatingPolicy, read as a paved policy of `verifyImages` rules: its
//! attestors (cosign keys and keyless identities) are the rules' signers, its attestations their
//! attestations, `matchImageReferences` their images and `mutateDigest` theirs. Each validation
//! becomes one rule, and must say one of what paved can check (where `images.containers` may be
//! any of the pod's container lists, and the element's name is free):
//!
//! - `images.containers.map(image, verifyImageSignatures(image, [attestors.a, ...])).all(e, e > 0)`
//! - `images.containers.map(image, verifyAttestationSignatures(image, attestations.x, [attestors.a])).all(e, e > 0)`
//! - `images.containers.map(image, extractPayload(image, attestations.x).<condition>).all(e, e)`
//!   (with a `verifyAttestationSignatures` of `attestations.x` in another validation)
//!
//! or the same as `images.containers.all(image, ... > 0)` and `.all(image, <condition>)`. paved
//! verifies every container's image (init and ephemeral ones too), and checks keyless signers
//! against the trusted root it is given (`--trusted-root`), with no network. What would change
//! whom it trusts and that it cannot honour (Notary, KMS keys, certificates, custom roots,
//! another signature repository) is refused where it is written.

use std::collections::BTreeMap;

use regex::Regex;

use super::admission_policy::{
    actions, failure_policy, generates_for_controllers, match_constraints, metadata, named, validation_id, Plurals,
};
use super::policy::{self, Form, Policy};
use crate::error::Diagnostic;
use crate::load::Origin;
use crate::model::{
    Action, AttestationCondition, AttestationSpec, FailurePolicy, IdentitySpec, ImagePolicyDocument, ImagePolicySpec,
    Match, PolicyDocument, PolicySpec, RuleSpec, Severity, VerifyImagesSpec, API_VERSION,
};

/// The kind paved reads.
pub(crate) const KIND: &str = "ImageValidatingPolicy";

/// What one validation asks.
enum Reading {
    Signatures(Vec<String>),
    Attestation(String, Vec<String>),
    Payload(String, String),
}

/// Signers by attestor name.
type Signers = BTreeMap<String, (Vec<String>, Vec<IdentitySpec>)>;

/// Compiles an ImageValidatingPolicy, collecting every problem.
pub(crate) fn compile(
    doc: &ImagePolicyDocument,
    origin: &Origin,
    functions: &[crate::cel::Function],
    plurals: &Plurals,
) -> Result<Policy, Vec<Diagnostic>> {
    let spec = &doc.spec;
    let mut diags = Vec::new();
    let action = actions(&spec.validation_actions, origin, &mut diags);
    let mut at = |pointer: &str, message: String| diags.push(origin.diagnostic(pointer, message, None));
    unread(spec, &mut at);
    let signers = signers(spec, &mut at);
    let types: BTreeMap<&str, &str> = spec
        .attestations
        .iter()
        .filter_map(|a| a.intoto.as_ref().map(|t| (a.name.as_str(), t.type_.as_str())))
        .collect();
    let readings: Vec<Option<Reading>> = spec
        .validations
        .iter()
        .enumerate()
        .map(|(i, v)| {
            read(&v.expression, &signers, &types).map_err(|m| at(&format!("/spec/validations/{i}/expression"), m)).ok()
        })
        .collect();
    let rules = rules(spec, &readings, (&signers, &types), &mut at);
    let failure_policy = failure_policy(spec.failure_policy.as_deref(), origin, &mut diags);
    let selector = match_constraints(spec.match_constraints.as_ref(), plurals, origin, &mut diags);
    let paved = document(doc, rules, (action, failure_policy));
    let mut renames = vec![("/spec/match".to_owned(), "/spec/matchConstraints".to_owned())];
    for i in 0..spec.validations.len() {
        renames.push((format!("/spec/rules/{i}/verifyImages"), format!("/spec/validations/{i}/expression")));
        renames.push((format!("/spec/rules/{i}"), format!("/spec/validations/{i}")));
    }
    let origin = origin.renamed(renames);
    let selected = (selector.clone().unwrap_or_default(), Form::Kyverno, None);
    match policy::compile_selected(&paved, selected, &origin, &[], functions) {
        Ok(mut p) if diags.is_empty() && selector.is_ok() => {
            p.action = action;
            p.pod_controllers = generates_for_controllers(spec.autogen.as_ref());
            Ok(p)
        }
        Ok(_) => Err(diags),
        Err(mut more) => {
            diags.append(&mut more);
            Err(diags)
        }
    }
}

/// The paved policy of `rules` the Kyverno policy `doc` is.
fn document(
    doc: &ImagePolicyDocument,
    rules: Vec<RuleSpec>,
    (action, failure_policy): (Action, FailurePolicy),
) -> PolicyDocument {
    let spec = &doc.spec;
    PolicyDocument {
        api_version: API_VERSION.to_owned(),
        kind: "Policy".to_owned(),
        metadata: metadata(&doc.metadata),
        spec: PolicySpec {
            description: None,
            severity: Severity::default(),
            action,
            failure_policy,
            match_: Match::default(),
            pod_controllers: false,
            params: None,
            params_schema: None,
            variables: named(&spec.variables),
            match_conditions: named(&spec.match_conditions),
            audit_annotations: spec.audit_annotations.clone(),
            rules,
            mutations: Vec::new(),
            reinvocation_policy: Default::default(),
        },
    }
}

/// Refuses what paved cannot honour and would change what is verified.
fn unread(spec: &ImagePolicySpec, at: &mut impl FnMut(&str, String)) {
    if !spec.images.is_empty() {
        at(
            "/spec/images",
            "paved verifies the images of pods and pod templates: custom image extractors are not read".into(),
        );
    }
    if spec.evaluation.as_ref().and_then(|e| e.mode.as_deref()).is_some_and(|m| m != "Kubernetes") {
        at(
            "/spec/evaluation/mode",
            "paved judges Kubernetes objects: only evaluation mode `Kubernetes` is read".into(),
        );
    }
    if spec.validation_configurations.as_ref().and_then(|c| c.required) == Some(false) {
        at(
            "/spec/validationConfigurations/required",
            "paved verifies every image the policy matches: `required: false` is not read".into(),
        );
    }
    for (i, m) in spec.match_image_references.iter().enumerate() {
        if m.expression.is_some() {
            at(&format!("/spec/matchImageReferences/{i}/expression"), "paved matches images by `glob` only".into());
        }
    }
    for (i, a) in spec.attestations.iter().enumerate() {
        if a.intoto.is_none() {
            at(
                &format!("/spec/attestations/{i}"),
                "paved reads in-toto attestations (`intoto`, cosign's layout), not OCI referrers".into(),
            );
        }
    }
}

/// The signers of each attestor, refusing what paved cannot check.
fn signers(spec: &ImagePolicySpec, at: &mut impl FnMut(&str, String)) -> Signers {
    let mut out = Signers::new();
    for (i, a) in spec.attestors.iter().enumerate() {
        let base = format!("/spec/attestors/{i}");
        let Some(cosign) = &a.cosign else {
            at(&base, "paved checks cosign signatures: a Notary attestor is not read".into());
            continue;
        };
        let custom = "paved checks keyless signatures against the trusted root it is given (--trusted-root)";
        for (field, given) in [
            ("certificate", cosign.certificate.is_some()),
            ("source", cosign.source.is_some()),
            ("tuf", cosign.tuf.is_some()),
            ("annotations", cosign.annotations.is_some()),
            ("keyless/roots", cosign.keyless.as_ref().is_some_and(|k| k.roots.is_some())),
        ] {
            if given {
                let why = match field {
                    "source" => "paved reads signatures from the image's own repository",
                    "annotations" => "paved does not match signature annotations",
                    _ => custom,
                };
                at(&format!("{base}/cosign/{field}"), format!("`{field}` is not read: {why}"));
            }
        }
        let mut keys = Vec::new();
        if let Some(key) = &cosign.key {
            match (&key.data, &key.kms, &key.expression) {
                (Some(data), None, None) => keys.push(data.clone()),
                _ => at(
                    &format!("{base}/cosign/key"),
                    "paved reads a key given inline (`data`), not from a KMS or an expression".into(),
                ),
            }
            if key.hash_algorithm.as_deref().is_some_and(|h| h != "sha256") {
                at(&format!("{base}/cosign/key/hashAlgorithm"), "paved verifies sha256 signatures".into());
            }
        }
        let identities = cosign.keyless.as_ref().map(|k| k.identities.clone()).unwrap_or_default();
        if let Err((field, message)) = super::images::signers(&keys, &identities) {
            let field = field.replace("/keys/0", "/key/data").replace("/identities", "/keyless/identities");
            at(&format!("{base}/cosign{field}"), message);
        }
        out.insert(a.name.clone(), (keys, identities));
    }
    out
}

/// One rule per validation, each verifying images by the signers it names.
fn rules(
    spec: &ImagePolicySpec,
    readings: &[Option<Reading>],
    (signers, types): (&Signers, &BTreeMap<&str, &str>),
    at: &mut impl FnMut(&str, String),
) -> Vec<RuleSpec> {
    let images: Vec<String> = spec.match_image_references.iter().filter_map(|m| m.glob.clone()).collect();
    let mutate_digest = spec.validation_configurations.as_ref().and_then(|c| c.mutate_digest).unwrap_or(true);
    // Whom each attestation is verified by, from its `verifyAttestationSignatures`.
    let attested: BTreeMap<&str, &[String]> = readings
        .iter()
        .flatten()
        .filter_map(|r| match r {
            Reading::Attestation(name, by) => Some((name.as_str(), by.as_slice())),
            _ => None,
        })
        .collect();
    let mut rules = Vec::new();
    for (i, (v, reading)) in spec.validations.iter().zip(readings).enumerate() {
        let Some(reading) = reading else { continue };
        let (by, attestations): (&[String], Vec<AttestationSpec>) = match reading {
            Reading::Signatures(by) => (by, Vec::new()),
            Reading::Attestation(name, by) => {
                let type_ = types.get(name.as_str()).map(|t| (*t).to_owned()).unwrap_or_default();
                (by, vec![AttestationSpec { predicate_type: type_, conditions: Vec::new() }])
            }
            Reading::Payload(name, condition) => {
                let Some(by) = attested.get(name.as_str()) else {
                    at(
                        &format!("/spec/validations/{i}/expression"),
                        format!("`extractPayload` of `attestations.{name}` needs a validation that verifies it with `verifyAttestationSignatures`"),
                    );
                    continue;
                };
                let type_ = types.get(name.as_str()).map(|t| (*t).to_owned()).unwrap_or_default();
                let condition = AttestationCondition { expression: condition.clone(), message: v.message.clone() };
                (by, vec![AttestationSpec { predicate_type: type_, conditions: vec![condition] }])
            }
        };
        let (mut keys, mut identities) = (Vec::new(), Vec::new());
        for name in by {
            if let Some((k, ids)) = signers.get(name) {
                keys.extend(k.iter().cloned());
                identities.extend(ids.iter().cloned());
            }
        }
        rules.push(RuleSpec {
            id: validation_id(i),
            message: v
                .message
                .clone()
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| format!("failed expression: {}", v.expression.trim())),
            verify_images: Some(VerifyImagesSpec {
                images: images.clone(),
                keys,
                identities,
                attestations,
                mutate_digest,
            }),
            ..RuleSpec::default()
        });
    }
    rules
}

/// What a validation's expression asks, or why paved cannot read it.
fn read(expression: &str, signers: &Signers, types: &BTreeMap<&str, &str>) -> Result<Reading, String> {
    let forms = "paved reads validations of the forms `images.containers.map(image, verifyImageSignatures(image, [attestors.a])).all(e, e > 0)`, \
                 `... verifyAttestationSignatures(image, attestations.x, [attestors.a]) ...` and \
                 `images.containers.map(image, extractPayload(image, attestations.x).<condition>).all(e, e)`";
    let unread = || format!("this expression is not one paved can check: {forms}");
    let list = r"(?:containers|initContainers|ephemeralContainers)";
    let map = Regex::new(&format!(
        r"(?s)^\s*images\s*\.\s*{list}\s*\.\s*map\s*\(\s*(\w+)\s*,(.*)\)\s*\.\s*all\s*\(\s*(\w+)\s*,(.*)\)\s*$"
    ))
    .map_err(|e| e.to_string())?;
    let all = Regex::new(&format!(r"(?s)^\s*images\s*\.\s*{list}\s*\.\s*all\s*\(\s*(\w+)\s*,(.*)\)\s*$"))
        .map_err(|e| e.to_string())?;
    let (var, inner, counted) = if let Some(c) = map.captures(expression) {
        let (var, inner, e, test) = (&c[1], c[2].to_owned(), &c[3], &c[4]);
        let positive = Regex::new(&format!(r"^\s*{e}\s*>\s*0\s*$")).map_err(|e| e.to_string())?;
        let itself = Regex::new(&format!(r"^\s*{e}\s*$")).map_err(|e| e.to_string())?;
        match (positive.is_match(test), itself.is_match(test)) {
            (true, _) => (var.to_owned(), inner, true),
            (_, true) => (var.to_owned(), inner, false),
            _ => return Err(unread()),
        }
    } else if let Some(c) = all.captures(expression) {
        let inner = c[2].to_owned();
        match inner.trim_end().strip_suffix('0').map(str::trim_end).and_then(|s| s.strip_suffix('>')) {
            Some(call) => (c[1].to_owned(), call.to_owned(), true),
            None => (c[1].to_owned(), inner, false),
        }
    } else {
        return Err(unread());
    };
    let named = |text: &str, prefix: &str| -> Result<Vec<String>, String> {
        let item = Regex::new(&format!(r"^\s*{prefix}\s*\.\s*(\w+)\s*$")).map_err(|e| e.to_string())?;
        text.split(',').map(|s| item.captures(s).map(|c| c[1].to_owned()).ok_or_else(unread)).collect()
    };
    let known = |names: Vec<String>| -> Result<Vec<String>, String> {
        match names.iter().find(|n| !signers.contains_key(*n)) {
            Some(n) => Err(format!("no attestor is named `{n}`")),
            None => Ok(names),
        }
    };
    let attestation = |name: String| -> Result<String, String> {
        if types.contains_key(name.as_str()) {
            Ok(name)
        } else {
            Err(format!("no in-toto attestation is named `{name}`"))
        }
    };
    let signatures = Regex::new(&format!(r"(?s)^\s*verifyImageSignatures\s*\(\s*{var}\s*,\s*\[([^\]]*)\]\s*\)\s*$"))
        .map_err(|e| e.to_string())?;
    let attestations = Regex::new(&format!(
        r"(?s)^\s*verifyAttestationSignatures\s*\(\s*{var}\s*,\s*attestations\s*\.\s*(\w+)\s*,\s*\[([^\]]*)\]\s*\)\s*$"
    ))
    .map_err(|e| e.to_string())?;
    let payload = Regex::new(&format!(r"extractPayload\s*\(\s*{var}\s*,\s*attestations\s*\.\s*(\w+)\s*\)"))
        .map_err(|e| e.to_string())?;
    if counted {
        if let Some(c) = signatures.captures(&inner) {
            return Ok(Reading::Signatures(known(named(&c[1], "attestors")?)?));
        }
        if let Some(c) = attestations.captures(&inner) {
            return Ok(Reading::Attestation(attestation(c[1].to_owned())?, known(named(&c[2], "attestors")?)?));
        }
        return Err(unread());
    }
    let mut names: Vec<String> = payload.captures_iter(&inner).map(|c| c[1].to_owned()).collect();
    names.dedup();
    let [name] = names.as_slice() else {
        return Err(unread());
    };
    let condition = payload.replace_all(&inner, "predicate").into_owned();
    let mentions = Regex::new(&format!(r"\b{var}\b")).map_err(|e| e.to_string())?;
    if mentions.is_match(&condition) {
        return Err(format!("the condition reads `{var}` besides its payload: {forms}"));
    }
    Ok(Reading::Payload(attestation(name.clone())?, condition.trim().to_owned()))
}
