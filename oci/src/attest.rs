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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DIGEST: &str = "sha256:5f481572d088dc4023afb35fced9530ced3d9b03bf7299c6f492163cb9f0452e";
    const PROVENANCE: &str = "https://slsa.dev/provenance/v1";

    fn wanted(read: bool) -> Vec<AttestationRequest> {
        serde_json::from_value(json!([{"predicateType": PROVENANCE, "read": read}])).unwrap()
    }

    fn manifest(layers: &[Descriptor]) -> Manifest {
        serde_json::from_slice(&crate::sign::signature_manifest(layers).1).unwrap()
    }

    fn cosign_key() -> SigningKey {
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/cosign/cosign_generated_encrypted_empty_private.key"
        ))
        .unwrap();
        SigningKey::from_pem(&pem, b"", "cosign.key").unwrap()
    }

    #[test]
    fn an_attestation_signed_by_a_trusted_key_about_this_digest_counts() {
        let reference: Reference = "oci://registry.acme.dev/shop/web:1".parse().unwrap();
        let key = cosign_key();
        let predicate = json!({"runDetails": {"builder": {"id": "https://github.com/acme/builder"}}});
        let (bytes, layer) = layer(&reference, DIGEST, (PROVENANCE, &predicate), &key).unwrap();
        let public = key.public_pem();
        let trust = Trust::default().key("cosign.pub", public.as_bytes()).unwrap();
        let m = manifest(std::slice::from_ref(&layer));
        let (found, problems) = trust.attested(DIGEST, Some(&m), |_| Ok(bytes.clone()), &wanted(true));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(found, [Attestation::new(PROVENANCE, "cosign.pub", Some(predicate.clone()))]);
        // Not read: the predicate is not kept.
        let (found, _) = trust.attested(DIGEST, Some(&m), |_| Ok(bytes.clone()), &wanted(false));
        assert_eq!(found[0].predicate, None);
        // About another image.
        let other = format!("sha256:{}", "0".repeat(64));
        let (found, problems) = trust.attested(&other, Some(&m), |_| Ok(bytes.clone()), &wanted(true));
        assert!(found.is_empty() && problems[0].contains("about another image"), "{problems:?}");
        // Another key.
        let (_, stranger) = crate::generate_key_pair(b"x").unwrap();
        let stranger = Trust::default().key("stranger.pub", stranger.as_bytes()).unwrap();
        let (found, problems) = stranger.attested(DIGEST, Some(&m), |_| Ok(bytes.clone()), &wanted(true));
        assert!(found.is_empty() && problems[0].contains("a key not trusted"), "{problems:?}");
        // A changed statement does not verify.
        let mut envelope: Value = serde_json::from_slice(&bytes).unwrap();
        let forged = json!({"_type": STATEMENTS[0], "predicateType": PROVENANCE,
            "subject": [{"digest": {"sha256": DIGEST.trim_start_matches("sha256:")}}], "predicate": {"forged": true}});
        envelope["payload"] = json!(base64::engine::general_purpose::STANDARD.encode(forged.to_string()));
        let forged = serde_json::to_vec(&envelope).unwrap();
        let (found, problems) = trust.attested(DIGEST, Some(&m), |_| Ok(forged.clone()), &wanted(true));
        assert!(found.is_empty() && problems[0].contains("no trusted signature"), "{problems:?}");
        // Not an envelope at all.
        let (_, problems) = trust.attested(DIGEST, Some(&m), |_| Ok(b"{}".to_vec()), &wanted(true));
        assert!(problems[0].contains("not a DSSE envelope"), "{problems:?}");
    }

    /// When the tests' certificates were issued: 2026-06-01T00:00:00Z.
    const ISSUED: i64 = 1_780_272_000;

    /// A Sigstore of the test's own: a Fulcio CA, a Rekor key, and their trusted root.
    struct Sigstore {
        ca: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
        rekor: rcgen::KeyPair,
    }

    impl Sigstore {
        fn new() -> Sigstore {
            use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
            let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
            ca.distinguished_name.push(DnType::CommonName, "test fulcio");
            ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
            ca.not_before = rcgen::date_time_ymd(2026, 1, 1);
            ca.not_after = rcgen::date_time_ymd(2036, 1, 1);
            let ca = rcgen::CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
            Sigstore { ca, rekor: KeyPair::generate().unwrap() }
        }

        fn root(&self) -> crate::TrustedRoot {
            use rcgen::PublicKeyData;
            let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
            let json = json!({
                "certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": b64(self.ca.der())}]}}],
                "tlogs": [{"publicKey": {"rawBytes": b64(&self.rekor.subject_public_key_info())}}],
            });
            crate::TrustedRoot::from_json(json.to_string().as_bytes(), "trusted_root.json").unwrap()
        }

        /// A ten-minute certificate for `email` from `issuer`, as Fulcio issues, from
        /// [`ISSUED`].
        fn certificate(&self, email: &str, issuer: &str) -> (rcgen::KeyPair, String) {
            use rcgen::{CertificateParams, CustomExtension, ExtendedKeyUsagePurpose, SanType};
            let mut leaf = CertificateParams::new(Vec::<String>::new()).unwrap();
            leaf.subject_alt_names = vec![SanType::Rfc822Name(email.try_into().unwrap())];
            leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
            leaf.custom_extensions =
                vec![CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 57264, 1, 1], issuer.as_bytes().to_vec())];
            leaf.not_before = rcgen::date_time_ymd(2026, 6, 1);
            leaf.not_after = rcgen::date_time_ymd(2026, 6, 1) + std::time::Duration::from_secs(600);
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = leaf.signed_by(&key, &self.ca).unwrap();
            (key, cert.pem())
        }

        /// Rekor's bundle for an intoto entry of `statement` by `certificate`, logged at `at`.
        fn logged(&self, statement: &[u8], certificate: &str, at: i64) -> String {
            use rcgen::{PublicKeyData, SigningKey as _};
            let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
            let body = json!({"apiVersion": "0.0.2", "kind": "intoto", "spec": {"content": {
                "envelope": {"signatures": [{"publicKey": b64(certificate.as_bytes())}]},
                "payloadHash": {"algorithm": "sha256", "value": digest_of(statement).trim_start_matches("sha256:")},
            }}});
            let log_id = digest_of(&self.rekor.subject_public_key_info()).split_off(7);
            let entry =
                json!({"body": b64(body.to_string().as_bytes()), "integratedTime": at, "logID": log_id, "logIndex": 7});
            let set = self.rekor.sign(entry.to_string().as_bytes()).unwrap();
            json!({"SignedEntryTimestamp": b64(&set), "Payload": entry}).to_string()
        }
    }

    /// A keyless attestation layer: the statement about `digest`, signed by `key` of
    /// `certificate`, logged in Rekor as `bundle` makes it.
    fn keyless_layer(
        digest: &str,
        key: &rcgen::KeyPair,
        certificate: &str,
        bundle: impl Fn(&[u8]) -> String,
    ) -> (Vec<u8>, Descriptor) {
        use rcgen::SigningKey as _;
        let statement = json!({"_type": STATEMENTS[1], "predicateType": PROVENANCE,
            "subject": [{"name": "registry.acme.dev/shop/web", "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
            "predicate": {"buildDefinition": {"buildType": "workflow"}}});
        let payload = statement.to_string().into_bytes();
        let sig = base64::engine::general_purpose::STANDARD.encode(key.sign(&pae(IN_TOTO, &payload)).unwrap());
        let envelope = Envelope {
            payload_type: IN_TOTO.into(),
            payload: base64::engine::general_purpose::STANDARD.encode(&payload),
            signatures: vec![EnvelopeSignature { keyid: String::new(), sig }],
        };
        let bytes = serde_json::to_vec(&envelope).unwrap();
        let annotations = BTreeMap::from([
            (crate::keyless::CERTIFICATE.to_owned(), certificate.to_owned()),
            (crate::keyless::BUNDLE.to_owned(), bundle(&payload)),
        ]);
        let layer =
            Descriptor { media_type: DSSE.into(), digest: digest_of(&bytes), size: bytes.len() as u64, annotations };
        (bytes, layer)
    }

    #[test]
    fn a_keyless_attestation_counts_for_a_trusted_identity_logged_while_its_certificate_lived() {
        let sigstore = Sigstore::new();
        let at = ISSUED;
        let (key, certificate) = sigstore.certificate("ci@acme.dev", "https://issuer.acme.dev");
        let identity = |subject: &str| crate::Identity {
            issuer: Some(regex::Regex::new("^https://issuer\\.acme\\.dev$").unwrap()),
            subject: regex::Regex::new(subject).unwrap(),
        };
        let trust = Trust::default().keyless(sigstore.root(), vec![identity("^ci@acme\\.dev$")]);
        let judge = |trust: &Trust, (bytes, layer): (Vec<u8>, Descriptor)| {
            trust.attested(DIGEST, Some(&manifest(&[layer])), |_| Ok(bytes.clone()), &wanted(true))
        };
        let (sigstore, certificate) = (&sigstore, &certificate);
        let logged = |at: i64| move |statement: &[u8]| sigstore.logged(statement, certificate, at);
        let (found, problems) = judge(&trust, keyless_layer(DIGEST, &key, certificate, logged(at + 60)));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(found[0].signer, "keyless: ci@acme.dev");
        assert_eq!(found[0].predicate, Some(json!({"buildDefinition": {"buildType": "workflow"}})));

        // Logged after the certificate expired.
        let (found, problems) = judge(&trust, keyless_layer(DIGEST, &key, certificate, logged(at + 3600)));
        assert!(found.is_empty() && problems[0].contains("not valid when Rekor logged"), "{problems:?}");
        // Another identity.
        let other = Trust::default().keyless(sigstore.root(), vec![identity("^release@acme\\.dev$")]);
        let (_, problems) = judge(&other, keyless_layer(DIGEST, &key, certificate, logged(at + 60)));
        assert!(problems[0].contains("an identity not trusted"), "{problems:?}");
        // A Rekor entry of another statement.
        let elsewhere = |_: &[u8]| sigstore.logged(b"another statement", certificate, at + 60);
        let (_, problems) = judge(&trust, keyless_layer(DIGEST, &key, certificate, elsewhere));
        assert!(problems[0].contains("a Rekor entry of another attestation"), "{problems:?}");
        // Signed by a key that is not the certificate's.
        let (stranger, _) = sigstore.certificate("ci@acme.dev", "https://issuer.acme.dev");
        let (_, problems) = judge(&trust, keyless_layer(DIGEST, &stranger, certificate, logged(at + 60)));
        assert!(problems[0].contains("did not make"), "{problems:?}");
        // A CA the trusted root does not name.
        let foreign = Sigstore::new();
        let (key, certificate) = foreign.certificate("ci@acme.dev", "https://issuer.acme.dev");
        let logged = |statement: &[u8]| sigstore.logged(statement, &certificate, at + 60);
        let (_, problems) = judge(&trust, keyless_layer(DIGEST, &key, &certificate, logged));
        assert!(problems[0].contains("no Fulcio CA"), "{problems:?}");
        // Without keyless trust, it is said to be keyless.
        let keys = Trust::default().key("cosign.pub", cosign_key().public_pem().as_bytes()).unwrap();
        let (key, certificate) = sigstore.certificate("ci@acme.dev", "https://issuer.acme.dev");
        let logged = |statement: &[u8]| sigstore.logged(statement, &certificate, at + 60);
        let (_, problems) = judge(&keys, keyless_layer(DIGEST, &key, &certificate, logged));
        assert!(problems[0].contains("a keyless attestation"), "{problems:?}");
    }
}
