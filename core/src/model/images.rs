//! Image verification as the engine sees it: what `verifyImages` rules ask of which images
//! ([`ImageRequest`]), and what was found ([`ImageVerdict`]). Registries are asked outside the
//! engine (by `paved check`, `paved serve`, or anything else); the engine only judges verdicts,
//! so a recorded set of verdicts replays a decision exactly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::IdentitySpec;

/// An image a `verifyImages` rule asks to be verified, and against which keys, identities and
/// attestations.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageRequest {
    /// The image as the object names it (`registry.acme.dev/shop/web:1.2`).
    pub image: String,
    /// The requirement's id: a digest of its keys, identities and attestations, the same
    /// wherever the same are asked.
    pub requirement: String,
    /// The public keys (PEM) any one of which must have signed the image.
    pub keys: Vec<String>,
    /// The keyless signers any one of which may have signed it instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentitySpec>,
    /// The attestations it must carry, signed by one of the same keys or identities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestations: Vec<AttestationRequest>,
}

/// An attestation an image must carry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AttestationRequest {
    /// The in-toto predicate type.
    pub predicate_type: String,
    /// Whether the rule reads the predicate (its conditions): the verdict keeps it then, and
    /// only then (an SBOM can be large).
    pub read: bool,
}

impl ImageRequest {
    pub(crate) fn new(
        image: &str,
        requirement: &str,
        (keys, identities, attestations): (&[String], &[IdentitySpec], &[AttestationRequest]),
    ) -> ImageRequest {
        ImageRequest {
            image: image.to_owned(),
            requirement: requirement.to_owned(),
            keys: keys.to_vec(),
            identities: identities.to_vec(),
            attestations: attestations.to_vec(),
        }
    }
}

/// The id of a requirement: the first 16 hex digits of the sha256 of its keys (trimmed), its
/// identities and its attestations' types, each sorted, joined by newlines. (Keys alone hash as
/// they did before identities and attestations were asked.)
pub(crate) fn requirement_id(
    keys: &[String],
    identities: &[IdentitySpec],
    attestations: &[AttestationRequest],
) -> String {
    use sha2::{Digest, Sha256};
    let mut lines: Vec<String> = keys.iter().map(|k| k.trim().to_owned()).collect();
    lines.sort_unstable();
    let mut more: Vec<String> = identities
        .iter()
        .map(|i| {
            let part = |p: &Option<String>| p.clone().unwrap_or_default();
            let (issuer, issuer_re) = (part(&i.issuer), part(&i.issuer_reg_exp));
            let (subject, subject_re) = (part(&i.subject), part(&i.subject_reg_exp));
            format!("identity {issuer:?} {issuer_re:?} {subject:?} {subject_re:?}")
        })
        .chain(attestations.iter().map(|a| format!("attestation {:?} {}", a.predicate_type, a.read)))
        .collect();
    more.sort_unstable();
    lines.extend(more);
    let hash = Sha256::digest(lines.join("\n").as_bytes());
    hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// A verified attestation of an image: an in-toto statement about its digest, signed by a
/// trusted key or identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct Attestation {
    /// The statement's predicate type.
    pub predicate_type: String,
    /// Who signed it.
    pub signer: String,
    /// The predicate, when the rule reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<serde_json::Value>,
}

impl Attestation {
    /// An attestation of `predicate_type` signed by `signer`, with its predicate if read.
    pub fn new(predicate_type: &str, signer: &str, predicate: Option<serde_json::Value>) -> Attestation {
        Attestation { predicate_type: predicate_type.to_owned(), signer: signer.to_owned(), predicate }
    }
}

/// What verifying an image found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ImageOutcome {
    /// Signed by one of the keys.
    Verified,
    /// Not signed by any of the keys (unsigned, signed by others, or a signature that does not
    /// match the image).
    Refused,
    /// Its signature could not be checked: the registry could not be reached or refused.
    Unreachable,
}

words!(ImageOutcome, "image outcome" { Verified => "verified", Refused => "refused", Unreachable => "unreachable" });

/// The verdict on one image for one requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct ImageVerdict {
    /// The image as the object names it.
    pub image: String,
    /// The [`ImageRequest::requirement`] it answers.
    pub requirement: String,
    /// What was found.
    pub outcome: ImageOutcome,
    /// The digest the image's tag named when it was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The keys (or keyless identities) that signed it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signers: Vec<String>,
    /// Its attestations of the types asked, verified.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestations: Vec<Attestation>,
    /// Why it was refused or could not be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl ImageVerdict {
    /// The verdict `outcome` on `request`.
    pub fn new(request: &ImageRequest, outcome: ImageOutcome) -> ImageVerdict {
        ImageVerdict {
            image: request.image.clone(),
            requirement: request.requirement.clone(),
            outcome,
            digest: None,
            signers: Vec::new(),
            attestations: Vec::new(),
            reason: None,
        }
    }

    /// With the digest verified.
    pub fn digest(self, digest: impl Into<String>) -> ImageVerdict {
        ImageVerdict { digest: Some(digest.into()), ..self }
    }

    /// With the keys that signed it.
    pub fn signers(self, signers: Vec<String>) -> ImageVerdict {
        ImageVerdict { signers, ..self }
    }

    /// With its verified attestations.
    pub fn attestations(self, attestations: Vec<Attestation>) -> ImageVerdict {
        ImageVerdict { attestations, ..self }
    }

    /// With why it was refused or not checked.
    pub fn reason(self, reason: impl Into<String>) -> ImageVerdict {
        ImageVerdict { reason: Some(reason.into()), ..self }
    }
}

/// Verdicts by image and requirement; written and read as a list, in that order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<ImageVerdict>", into = "Vec<ImageVerdict>")]
pub struct ImageVerdicts {
    by: BTreeMap<(String, String), ImageVerdict>,
}

impl ImageVerdicts {
    /// Adds (or replaces) a verdict.
    pub fn insert(&mut self, verdict: ImageVerdict) {
        self.by.insert((verdict.image.clone(), verdict.requirement.clone()), verdict);
    }

    /// The verdict on `image` for the requirement `requirement`.
    pub fn get(&self, image: &str, requirement: &str) -> Option<&ImageVerdict> {
        self.by.get(&(image.to_owned(), requirement.to_owned()))
    }

    /// Every verdict, by image and requirement.
    pub fn iter(&self) -> impl Iterator<Item = &ImageVerdict> {
        self.by.values()
    }

    /// How many verdicts there are.
    pub fn len(&self) -> usize {
        self.by.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.by.is_empty()
    }
}

/// The document `paved check --record-image-verdicts` writes.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Recorded {
    api_version: String,
    kind: String,
    verdicts: ImageVerdicts,
}

impl ImageVerdicts {
    /// The verdicts of a recording (`{"apiVersion": "paved.dev/v1", "kind": "ImageVerdicts",
    /// "verdicts": [...]}`), or why it is not one.
    pub fn from_recorded(text: &str) -> Result<ImageVerdicts, String> {
        let recorded: Recorded =
            serde_json::from_str(text).map_err(|e| format!("not image verdicts paved recorded: {e}"))?;
        if recorded.kind != "ImageVerdicts" || recorded.api_version != crate::model::API_VERSION {
            return Err(format!("a {} {}, not paved.dev/v1 ImageVerdicts", recorded.api_version, recorded.kind));
        }
        Ok(recorded.verdicts)
    }

    /// The verdicts in `value`: a list of verdicts, or a recording (as
    /// [`ImageVerdicts::from_recorded`] reads it); for the bindings, whose callers hand over
    /// either.
    pub fn from_json(value: serde_json::Value) -> Result<ImageVerdicts, String> {
        if value.is_object() {
            return ImageVerdicts::from_recorded(&value.to_string());
        }
        serde_json::from_value(value).map_err(|e| format!("not a list of image verdicts: {e}"))
    }

    /// The verdicts as a recording [`ImageVerdicts::from_recorded`] reads.
    pub fn recorded(&self) -> String {
        let recorded = Recorded {
            api_version: crate::model::API_VERSION.into(),
            kind: "ImageVerdicts".into(),
            verdicts: self.clone(),
        };
        serde_json::to_string_pretty(&recorded).unwrap_or_default() + "\n"
    }
}

impl From<Vec<ImageVerdict>> for ImageVerdicts {
    fn from(list: Vec<ImageVerdict>) -> ImageVerdicts {
        let mut verdicts = ImageVerdicts::default();
        list.into_iter().for_each(|v| verdicts.insert(v));
        verdicts
    }
}

impl From<ImageVerdicts> for Vec<ImageVerdict> {
    fn from(verdicts: ImageVerdicts) -> Vec<ImageVerdict> {
        verdicts.by.into_values().collect()
    }
}

impl FromIterator<ImageVerdict> for ImageVerdicts {
    fn from_iter<I: IntoIterator<Item = ImageVerdict>>(iter: I) -> ImageVerdicts {
        iter.into_iter().collect::<Vec<_>>().into()
    }
}

/// The names an image matches by: as written, and, for Docker Hub's short names, in full
/// (`nginx:1.27` is also `docker.io/library/nginx:1.27`).
pub(crate) fn image_names(image: &str) -> Vec<String> {
    let first = image.split('/').next().unwrap_or_default();
    let has_registry = image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_registry {
        return vec![image.to_owned()];
    }
    let full = if image.contains('/') { format!("docker.io/{image}") } else { format!("docker.io/library/{image}") };
    vec![image.to_owned(), full]
}
