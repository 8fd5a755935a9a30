//! Attestations as cosign makes and checks them (`cosign attest`, `cosign verify-attestation`):
//! an in-toto statement that a predicate holds of an image's digest, in a DSSE envelope signed
//! over its pre-authentication encoding, stored as a layer
//! (`application/vnd.dsse.envelope.v1+json`) of the manifest tagged `sha256-<hex>.att` in the
//! image's repository. Signed by a key, or keyless (the certificate and Rekor bundle in the
//! layer's annotations, as for signatures).

use std::collections::BTreeMap;

use base64::Engine as _;
use paved::{Attestation, AttestationRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sigstore::crypto::Signature;

use crate::artifact::{Descriptor, Manifest};
use crate::{digest_of, Error, Reference, SigningKey, Trust};

/// The media type of an attestation layer.
pub(crate) const DSSE: &str = "application/vnd.dsse.envelope.v1+json";
/// The payload type of an in-toto statement.
const IN_TOTO: &str = "application/vnd.in-toto+json";
/// The statement types cosign writes (v0.1) and in-toto's current one.
const STATEMENTS: [&str; 2] = ["https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1"];
/// The most an attestation layer may hold (an SBOM of a large image is a few MiB).
pub(crate) const MAX_ENVELOPE: u64 = 32 << 20;

/// The tag cosign keeps the attestations of `digest` under.
pub(crate) fn attestation_tag(digest: &str) -> String {
    format!("{}.att", digest.replacen(':', "-", 1))
}

/// DSSE's pre-authentication encoding: what a signature of an envelope signs.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload_type: String,
    payload: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Serialize, Deserialize)]
struct EnvelopeSignature {
    #[serde(default)]
    keyid: String,
    sig: String,
}

/// The layer (its bytes and descriptor) of a statement that `predicate`, of `predicate_type`,
/// holds of `digest` in `reference`'s repository, signed by `key`.
pub(crate) fn layer(
    reference: &Reference,
    digest: &str,
    (predicate_type, predicate): (&str, &Value),
    key: &SigningKey,
) -> Result<(Vec<u8>, Descriptor), Error> {
    let statement = serde_json::json!({
        "_type": STATEMENTS[0],
        "predicateType": predicate_type,
        "subject": [{ "name": reference.repository_path(), "digest": { "sha256": digest.trim_start_matches("sha256:") } }],
        "predicate": predicate,
    });
    let payload = serde_json::to_vec(&statement).map_err(|e| Error::local("statement", e))?;
    let sig = key.sign(&pae(IN_TOTO, &payload))?;
    let envelope = Envelope {
        payload_type: IN_TOTO.into(),
        payload: base64::engine::general_purpose::STANDARD.encode(&payload),
        signatures: vec![EnvelopeSignature { keyid: String::new(), sig }],
    };
    let bytes = serde_json::to_vec(&envelope).map_err(|e| Error::local("envelope", e))?;
    let descriptor = Descriptor {
        media_type: DSSE.into(),
        digest: digest_of(&bytes),
        size: bytes.len() as u64,
        annotations: BTreeMap::from([
            (crate::sign::SIGNATURE.to_owned(), String::new()),
            ("predicateType".to_owned(), predicate_type.to_owned()),
        ]),
    };
    Ok((bytes, descriptor))
}

impl Trust {
    /// The attestations of `digest` among the layers of `attestations` (the manifest at its
    /// attestation tag), of the types `wanted` asks for, each signed by a trusted key or
    /// identity and about this digest, their predicates kept where `wanted` reads them; and why
    /// the others do not count.
    pub(crate) fn attested(
        &self,
        digest: &str,
        attestations: Option<&Manifest>,
        mut blob: impl FnMut(&Descriptor) -> Result<Vec<u8>, Error>,
        wanted: &[AttestationRequest],
    ) -> (Vec<Attestation>, Vec<String>) {
        let (mut found, mut problems) = (Vec::new(), Vec::new());
        for layer in attestations.into_iter().flat_map(|m| &m.layers).filter(|l| l.media_type == DSSE) {
            if layer.size > MAX_ENVELOPE {
                problems.push(format!("an attestation of {} bytes, over the {MAX_ENVELOPE} paved reads", layer.size));
                continue;
            }
            let checked =
                blob(layer).map_err(|e| e.to_string()).and_then(|bytes| self.statement(digest, layer, &bytes));
            match checked {
                Ok((signer, statement)) => {
                    let predicate_type = statement.get("predicateType").and_then(Value::as_str).unwrap_or_default();
                    let Some(asked) = wanted.iter().find(|w| w.predicate_type == predicate_type) else { continue };
                    let predicate = asked.read.then(|| statement.get("predicate").cloned().unwrap_or(Value::Null));
                    found.push(Attestation::new(predicate_type, &signer, predicate));
                }
                Err(why) => problems.push(why),
            }
        }
        (found, problems)
    }

    /// The signer and statement of one attestation layer, or why it does not count.
    fn statement(&self, digest: &str, layer: &Descriptor, bytes: &[u8]) -> Result<(String, Value), String> {
        let envelope: Envelope =
            serde_json::from_slice(bytes).map_err(|e| format!("an attestation that is not a DSSE envelope: {e}"))?;
        if envelope.payload_type != IN_TOTO {
            return Err(format!("an attestation of payload type {:?}, not {IN_TOTO}", envelope.payload_type));
        }
        let payload = base64::engine::general_purpose::STANDARD
            .decode(&envelope.payload)
            .map_err(|e| format!("an attestation whose payload is not base64: {e}"))?;
        let signed = pae(&envelope.payload_type, &payload);
        let mut refusals = Vec::new();
        let mut signer = None;
        for s in &envelope.signatures {
            match self.signer_of(layer, &signed, &payload, &s.sig) {
                Ok(by) => {
                    signer = Some(by);
                    break;
                }
                Err(why) => refusals.push(why),
            }
        }
        let signer =
            signer.ok_or_else(|| format!("an attestation with no trusted signature: {}", refusals.join("; ")))?;
        let statement: Value =
            serde_json::from_slice(&payload).map_err(|e| format!("an attestation that is not JSON: {e}"))?;
        let kind = statement.get("_type").and_then(Value::as_str).unwrap_or_default();
        if !STATEMENTS.contains(&kind) {
            return Err(format!("an attestation of type {kind:?}, not an in-toto statement"));
        }
        let hex = digest.trim_start_matches("sha256:");
        let about = statement.get("subject").and_then(Value::as_array).into_iter().flatten();
        if !about.into_iter().any(|s| s.pointer("/digest/sha256").and_then(Value::as_str) == Some(hex)) {
            return Err(format!("an attestation by {signer} about another image"));
        }
        Ok((signer, statement))
    }

    /// Who made `sig` (base64) over `signed`: a trusted key, or a trusted keyless identity.
    fn signer_of(&self, layer: &Descriptor, signed: &[u8], payload: &[u8], sig: &str) -> Result<String, String> {
        if layer.annotations.contains_key(crate::keyless::CERTIFICATE) {
            let Some((root, identities)) = &self.keyless else {
                return Err("a keyless attestation (give --trusted-root to check it)".into());
            };
            let logged = crate::keyless::Logged::Envelope { statement: payload };
            let checked = crate::keyless::check(root, identities, &layer.annotations, (signed, sig), logged)?;
            return Ok(format!("keyless: {}", checked.subject));
        }
        self.keys
            .iter()
            .find(|(_, k)| k.verify_signature(Signature::Base64Encoded(sig.as_bytes()), signed).is_ok())
            .map(|(name, _)| name.clone())
            .ok_or_else(|| "an attestation signed by a key not trusted".into())
    }
}
