//! `verifyImages`: every container image of the pod the rule applies to must carry a verdict
//! of `verified` for the rule's keys or keyless identities, with the attestations it asks for,
//! one of each type meeting the rule's conditions (CEL over its `predicate`). The verdicts come with the context (the engine reaches no
//! registry); an image without one, or whose registry could not be reached, is an error the
//! policy's failure policy decides (fail closed by default).

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde_json::Value;

use crate::cel::{Decls, Form, Program, Ty, Want};
use crate::model::{
    image_names, AttestationRequest, AttestationSpec, IdentitySpec, ImageOutcome, ImageRequest, ImageVerdict,
    ImageVerdicts, VerifyImagesSpec,
};

#[derive(Debug)]
pub(crate) struct VerifyImagesCheck {
    images: Option<GlobSet>,
    keys: Vec<String>,
    identities: Vec<IdentitySpec>,
    attestations: Vec<Attested>,
    /// What the registry is asked about each attestation.
    asked: Vec<AttestationRequest>,
    requirement: String,
    /// Whether verified digests are written into the object.
    pub(crate) mutate_digest: bool,
}

/// An attestation the rule asks for, with its conditions compiled.
#[derive(Debug)]
struct Attested {
    predicate_type: String,
    conditions: Vec<(Program, Option<String>)>,
}

type Invalid = (String, String);

impl VerifyImagesCheck {
    /// The check `spec` asks for; an error names the field.
    pub(crate) fn new(spec: &VerifyImagesSpec) -> Result<VerifyImagesCheck, Invalid> {
        signers(&spec.keys, &spec.identities).map_err(|(field, m)| (format!("/verifyImages{field}"), m))?;
        let attestations = spec
            .attestations
            .iter()
            .enumerate()
            .map(|(i, a)| attested(a).map_err(|(field, m)| (format!("/verifyImages/attestations/{i}{field}"), m)))
            .collect::<Result<Vec<_>, _>>()?;
        let images = if spec.images.is_empty() {
            None
        } else {
            let mut set = GlobSetBuilder::new();
            for (i, pattern) in spec.images.iter().enumerate() {
                let glob = Glob::new(pattern).map_err(|e| (format!("/verifyImages/images/{i}"), e.to_string()))?;
                set.add(glob);
            }
            Some(set.build().map_err(|e| ("/verifyImages/images".to_owned(), e.to_string()))?)
        };
        let asked: Vec<AttestationRequest> = attestations
            .iter()
            .map(|a| AttestationRequest { predicate_type: a.predicate_type.clone(), read: !a.conditions.is_empty() })
            .collect();
        Ok(VerifyImagesCheck {
            images,
            requirement: crate::model::requirement_id(&spec.keys, &spec.identities, &asked),
            keys: spec.keys.clone(),
            identities: spec.identities.clone(),
            attestations,
            asked,
            mutate_digest: spec.mutate_digest,
        })
    }

    /// Whether the rule applies to `image`.
    pub(crate) fn applies(&self, image: &str) -> bool {
        self.images.as_ref().is_none_or(|set| image_names(image).iter().any(|n| set.is_match(n)))
    }

    /// What this rule asks of `image`.
    pub(crate) fn request(&self, image: &str) -> ImageRequest {
        ImageRequest::new(image, &self.requirement, (&self.keys, &self.identities, &self.asked))
    }

    /// The verdict on `image` for this rule: its own, or, for an image pinned to a digest
    /// (`name:tag@sha256:…`, as `mutateDigest` writes it), the verdict on the name it was
    /// pinned from, when that verdict is for the same digest.
    pub(crate) fn verdict<'v>(&self, image: &str, verdicts: &'v ImageVerdicts) -> Option<&'v ImageVerdict> {
        verdicts.get(image, &self.requirement).or_else(|| {
            let (name, digest) = image.rsplit_once('@')?;
            verdicts.get(name, &self.requirement).filter(|v| v.digest.as_deref() == Some(digest))
        })
    }
}

/// Keys or identities, at least one, each well formed; an error names the field (`/keys/0`).
pub(crate) fn signers(keys: &[String], identities: &[IdentitySpec]) -> Result<(), Invalid> {
    if keys.is_empty() && identities.is_empty() {
        return Err((
            String::new(),
            "give at least one public key (`keys`, PEM as cosign.pub) or keyless signer (`identities`)".into(),
        ));
    }
    for (i, key) in keys.iter().enumerate() {
        let key = key.trim();
        if !key.starts_with("-----BEGIN PUBLIC KEY-----") || !key.ends_with("-----END PUBLIC KEY-----") {
            return Err((format!("/keys/{i}"), "not a PEM public key (-----BEGIN PUBLIC KEY-----)".into()));
        }
    }
    for (i, identity) in identities.iter().enumerate() {
        check_identity(identity).map_err(|(field, m)| (format!("/identities/{i}{field}"), m))?;
    }
    Ok(())
}

/// An identity has a subject and an issuer, each exactly or by a regular expression that
/// compiles.
fn check_identity(identity: &IdentitySpec) -> Result<(), Invalid> {
    for (what, exact, pattern) in [
        ("subject", &identity.subject, &identity.subject_reg_exp),
        ("issuer", &identity.issuer, &identity.issuer_reg_exp),
    ] {
        match (exact, pattern) {
            (Some(_), Some(_)) => {
                return Err((String::new(), format!("give `{what}` or `{what}RegExp`, not both")));
            }
            (None, None) => {
                return Err((
                    String::new(),
                    format!("give the signer's {what}: `{what}` (exactly) or `{what}RegExp` (a regular expression)"),
                ));
            }
            (None, Some(p)) => {
                regex::Regex::new(p)
                    .map_err(|e| (format!("/{what}RegExp"), format!("not a regular expression: {e}")))?;
            }
            (Some(_), None) => {}
        }
    }
    Ok(())
}

/// The attestation `spec` asks for, its conditions compiled over `predicate`.
fn attested(spec: &AttestationSpec) -> Result<Attested, Invalid> {
    if spec.predicate_type.trim().is_empty() {
        return Err(("/predicateType".into(), "name the in-toto predicate type (a URI)".into()));
    }
    let roots = [("predicate", Ty::Dyn)];
    let decls = Decls { roots: &roots, variables: None, functions: &[], form: Form::Paved };
    let conditions = spec
        .conditions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let at = format!("/conditions/{i}/expression");
            let program = crate::cel::parse(&c.expression)
                .and_then(|p| p.compile(&decls, Want::Bool))
                .map_err(|(m, h)| (at, h.map_or_else(|| m.clone(), |h| format!("{m} ({h})"))))?;
            Ok((program, c.message.clone()))
        })
        .collect::<Result<Vec<_>, Invalid>>()?;
    Ok(Attested { predicate_type: spec.predicate_type.clone(), conditions })
}

/// The container images of the pod spec at `spec` in `value`, with their pointers.
pub(crate) fn images_of<'v>(value: &'v Value, spec: &str) -> Vec<(String, &'v str)> {
    let mut out = Vec::new();
    for list in crate::k8s::CONTAINER_LISTS {
        let containers = value.pointer(&format!("{spec}/{list}")).and_then(Value::as_array);
        for (i, c) in containers.into_iter().flatten().enumerate() {
            if let Some(image) = c.get("image").and_then(Value::as_str) {
                out.push((format!("{spec}/{list}/{i}/image"), image));
            }
        }
    }
    out
}

impl VerifyImagesCheck {
    /// The images of the pod `value` that fail the rule, by pointer, with why; or why some could
    /// not be judged (no verdict, an unreachable registry), when none fails.
    pub(crate) fn judge(&self, value: &Value, verdicts: &ImageVerdicts) -> Result<Vec<(String, String)>, String> {
        let mut failed = Vec::new();
        let mut unchecked = Vec::new();
        for (path, image) in images_of(value, "/spec").into_iter().filter(|(_, i)| self.applies(i)) {
            match self.verdict(image, verdicts) {
                None => unchecked.push(format!("{image}: no verdict was given for it")),
                Some(v) => match v.outcome {
                    ImageOutcome::Verified => match self.attestations_fail(v) {
                        Ok(None) => {}
                        Ok(Some(why)) => failed.push((path, format!("{image}: {why}"))),
                        Err(why) => unchecked.push(format!("{image}: {why}")),
                    },
                    ImageOutcome::Unreachable => unchecked.push(format!(
                        "{image}: {}",
                        v.reason.as_deref().unwrap_or("the registry could not be reached")
                    )),
                    ImageOutcome::Refused => {
                        let at = v.digest.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
                        let why = v.reason.as_deref().unwrap_or("no signature by a trusted key");
                        failed.push((path, format!("{image}{at}: {why}")));
                    }
                },
            }
        }
        // An image that could not be checked is not a verdict: the policy's failure policy
        // decides (fail closed unless it says Ignore).
        if failed.is_empty() && !unchecked.is_empty() {
            return Err(format!("image signatures not checked: {}", unchecked.join("; ")));
        }
        Ok(failed)
    }

    /// Why a verified image's attestations fail the rule: an attestation of a type it asks for
    /// missing, or none of that type meeting every condition. An error when a condition could
    /// not be evaluated.
    fn attestations_fail(&self, verdict: &ImageVerdict) -> Result<Option<String>, String> {
        for wanted in &self.attestations {
            let found: Vec<_> =
                verdict.attestations.iter().filter(|a| a.predicate_type == wanted.predicate_type).collect();
            if found.is_empty() {
                let why = verdict.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
                return Ok(Some(format!("no {} attestation signed by a trusted signer{why}", wanted.predicate_type)));
            }
            let mut first_failure = None;
            let mut met = false;
            for attestation in found {
                let predicate = attestation.predicate.as_ref().unwrap_or(&Value::Null);
                match self.unmet(wanted, predicate)? {
                    None => {
                        met = true;
                        break;
                    }
                    Some(why) => {
                        first_failure.get_or_insert(why);
                    }
                }
            }
            if !met {
                let why = first_failure.unwrap_or_default();
                return Ok(Some(format!("its {} attestation fails: {why}", wanted.predicate_type)));
            }
        }
        Ok(None)
    }

    /// The first condition of `wanted` that `predicate` does not meet, by its message or its
    /// expression.
    fn unmet(&self, wanted: &Attested, predicate: &Value) -> Result<Option<String>, String> {
        for (program, message) in &wanted.conditions {
            let act = crate::cel::Activation::new(vec![crate::cel::Value::json(predicate)], &[], &[]);
            match program.eval(&act) {
                Ok(crate::cel::Value::Bool(true)) => {}
                Ok(crate::cel::Value::Bool(false)) => {
                    return Ok(Some(message.clone().unwrap_or_else(|| format!("`{}` is false", program.source))));
                }
                Ok(other) => return Err(format!("`{}` gave a {}, not a bool", program.source, other.type_name())),
                Err(e) => return Err(format!("`{}` failed: {e}", program.source)),
            }
        }
        Ok(None)
    }
}
