//! Keyless signatures, as cosign makes them with Fulcio and Rekor, checked with no network: the
//! signing certificate chains to a Fulcio CA of a trusted root file (at the instant Rekor logged
//! the signature, for the certificate lives ten minutes), Rekor's signed entry timestamp verifies
//! with a Rekor key of that file, the logged entry is this signature of this payload by this
//! certificate, the signature verifies with the certificate's key, and the certificate's identity
//! (its subject and its OIDC issuer) is one the identity policy allows.

use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use sigstore::crypto::{CosignVerificationKey, Signature};
use x509_cert::der::{Decode, Encode};

use crate::{digest_of, Error};

/// The annotations cosign puts on a keyless signature layer.
pub(crate) const CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
pub(crate) const CHAIN: &str = "dev.sigstore.cosign/chain";
pub(crate) const BUNDLE: &str = "dev.sigstore.cosign/bundle";

/// Fulcio's extension with the OIDC issuer, as a raw string (1.3.6.1.4.1.57264.1.1), and as a DER
/// UTF8String (1.3.6.1.4.1.57264.1.8).
const ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
const ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
/// The code-signing extended key usage (1.3.6.1.5.5.7.3.3), as DER content.
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// Fulcio CAs and Rekor keys: Sigstore's `trusted_root.json` (the public instance's, or a private
/// one's), given to paved as a file.
pub struct TrustedRoot {
    /// Each CA's chain, DER, the root last.
    cas: Vec<Vec<Vec<u8>>>,
    /// Rekor's keys, by log id (the sha256 of the key's DER, hex).
    logs: Vec<(String, CosignVerificationKey)>,
}

impl TrustedRoot {
    /// The trusted root in `json` (`certificateAuthorities[].certChain.certificates[].rawBytes`,
    /// `tlogs[].publicKey.rawBytes`, base64 DER), `name` naming it in errors.
    pub fn from_json(json: &[u8], name: &str) -> Result<TrustedRoot, Error> {
        let bad = |why: String| Error::local(name, format!("not a Sigstore trusted root: {why}"));
        let root: Value = serde_json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        let decode = |v: &Value| {
            let text = v.as_str().ok_or_else(|| bad("rawBytes is not a string".into()))?;
            base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| bad(e.to_string()))
        };
        let list = |key: &str| root.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        let mut cas = Vec::new();
        for ca in list("certificateAuthorities") {
            let certs = ca.pointer("/certChain/certificates").and_then(Value::as_array).cloned().unwrap_or_default();
            let chain = certs
                .iter()
                .map(|c| decode(c.get("rawBytes").unwrap_or(&Value::Null)))
                .collect::<Result<Vec<_>, _>>()?;
            if !chain.is_empty() {
                cas.push(chain);
            }
        }
        let mut logs = Vec::new();
        for log in list("tlogs") {
            let der = decode(log.pointer("/publicKey/rawBytes").unwrap_or(&Value::Null))?;
            let key = CosignVerificationKey::try_from_der(&der).map_err(|e| bad(format!("a Rekor key: {e}")))?;
            logs.push((digest_of(&der).split_off(7), key));
        }
        if cas.is_empty() || logs.is_empty() {
            return Err(bad("it names no Fulcio certificate authority or no Rekor log".into()));
        }
        Ok(TrustedRoot { cas, logs })
    }
}

/// Whose keyless signatures count: an OIDC issuer and a subject (an email or a URI, such as a
/// CI workflow's), each exactly or by a regular expression.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The issuer, matched whole (`^https://token\.actions\.githubusercontent\.com$`), or
    /// `None` for any.
    pub issuer: Option<regex::Regex>,
    /// The subject, matched whole.
    pub subject: regex::Regex,
}

/// A keyless signature checked: its certificate's subject and issuer.
pub(crate) struct Checked {
    pub subject: String,
    pub issuer: Option<String>,
}

/// What Rekor logged.
pub(crate) enum Logged<'a> {
    /// A signature of the payload (a `hashedrekord` entry).
    Signature,
    /// A DSSE envelope of this in-toto statement (an `intoto` entry).
    Envelope { statement: &'a [u8] },
}

/// Checks the keyless signature `signature` (base64) of `payload` with the layer's
/// `annotations`, against `root` and `identities`; Rekor's entry is of the kind `kind`.
pub(crate) fn check(
    root: &TrustedRoot,
    identities: &[Identity],
    annotations: &std::collections::BTreeMap<String, String>,
    (payload, signature): (&[u8], &str),
    kind: Logged<'_>,
) -> Result<Checked, String> {
    let certificate = annotations.get(CERTIFICATE).ok_or("no certificate")?;
    let leaf = pem_ders(certificate)?.into_iter().next().ok_or("an empty certificate")?;
    let bundle: Value = annotations
        .get(BUNDLE)
        .map(|b| serde_json::from_str(b).map_err(|e| format!("the Rekor bundle is not JSON: {e}")))
        .transpose()?
        .ok_or("no Rekor bundle: paved checks keyless signatures only with their transparency-log entry")?;
    let integrated = logged(root, &bundle, &leaf, (payload, signature), kind)?;
    let mut intermediates = annotations.get(CHAIN).map(|c| pem_ders(c)).transpose()?.unwrap_or_default();
    chains(root, &leaf, &mut intermediates, integrated)?;
    let cert = x509_cert::Certificate::from_der(&leaf).map_err(|e| format!("the certificate: {e}"))?;
    let spki = cert.tbs_certificate().subject_public_key_info().to_der().map_err(|e| e.to_string())?;
    let key = CosignVerificationKey::try_from_der(&spki).map_err(|e| format!("the certificate's key: {e}"))?;
    key.verify_signature(Signature::Base64Encoded(signature.as_bytes()), payload)
        .map_err(|_| "a signature the certificate's key did not make")?;
    let (subject, issuer) = identity_of(&cert)?;
    let allowed = identities.iter().any(|i| {
        i.subject.is_match(&subject)
            && i.issuer.as_ref().is_none_or(|want| issuer.as_ref().is_some_and(|x| want.is_match(x)))
    });
    if !allowed {
        let by = issuer.as_deref().map(|i| format!(" (issuer {i})")).unwrap_or_default();
        return Err(format!("a keyless signature by {subject}{by}, an identity not trusted"));
    }
    Ok(Checked { subject, issuer })
}

/// The DER certificates of a PEM text.
fn pem_ders(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let certs = x509_cert::Certificate::load_pem_chain(text.as_bytes()).map_err(|e| format!("a certificate: {e}"))?;
    certs.iter().map(|c| c.to_der().map_err(|e| e.to_string())).collect()
}

/// When Rekor logged the signature, once its signed entry timestamp verified and its entry was
/// found to be this signature, of this payload (or this envelope's statement), by this
/// certificate.
fn logged(
    root: &TrustedRoot,
    bundle: &Value,
    leaf: &[u8],
    (payload, signature): (&[u8], &str),
    kind: Logged<'_>,
) -> Result<u64, String> {
    let entry = bundle.get("Payload").ok_or("a Rekor bundle without its Payload")?;
    let field = |key: &str| entry.get(key).cloned().ok_or(format!("a Rekor bundle without {key}"));
    let (body, integrated, log_id, log_index) =
        (field("body")?, field("integratedTime")?, field("logID")?, field("logIndex")?);
    let log = log_id.as_str().unwrap_or_default();
    let key = root
        .logs
        .iter()
        .find(|(id, _)| id == log)
        .map(|(_, k)| k)
        .ok_or(format!("a Rekor log the trusted root does not name ({log})"))?;
    // The signed entry timestamp is over the entry's canonical JSON: its keys sorted, no spaces.
    let mut canonical = serde_json::Map::new();
    canonical.insert("body".into(), body.clone());
    canonical.insert("integratedTime".into(), integrated.clone());
    canonical.insert("logID".into(), log_id.clone());
    canonical.insert("logIndex".into(), log_index);
    let canonical = serde_json::to_vec(&Value::Object(canonical)).map_err(|e| e.to_string())?;
    let set = bundle
        .get("SignedEntryTimestamp")
        .and_then(Value::as_str)
        .ok_or("a Rekor bundle without its SignedEntryTimestamp")?;
    key.verify_signature(Signature::Base64Encoded(set.as_bytes()), &canonical)
        .map_err(|_| "a Rekor entry whose signed entry timestamp does not verify")?;
    let body = base64::engine::general_purpose::STANDARD
        .decode(body.as_str().unwrap_or_default())
        .map_err(|e| format!("the Rekor entry's body: {e}"))?;
    let body: Value = serde_json::from_slice(&body).map_err(|e| format!("the Rekor entry's body: {e}"))?;
    let text = |pointer: &str| body.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
    let logged_cert = match kind {
        Logged::Signature => {
            let hashed = digest_of(payload);
            if text("/spec/data/hash/value") != hashed.trim_start_matches("sha256:")
                || text("/spec/signature/content") != signature
            {
                return Err("a Rekor entry of another signature or payload".into());
            }
            text("/spec/signature/publicKey/content")
        }
        Logged::Envelope { statement } => {
            let hashed = digest_of(statement);
            if text("/kind") != "intoto"
                || text("/spec/content/payloadHash/value") != hashed.trim_start_matches("sha256:")
            {
                return Err("a Rekor entry of another attestation".into());
            }
            // intoto 0.0.2 keeps the certificate with the envelope's signature, 0.0.1 beside it.
            Some(text("/spec/content/envelope/signatures/0/publicKey"))
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| text("/spec/publicKey"))
        }
    };
    let logged_cert = base64::engine::general_purpose::STANDARD.decode(logged_cert).unwrap_or_default();
    let logged_cert = pem_ders(&String::from_utf8_lossy(&logged_cert)).unwrap_or_default();
    if logged_cert.first().map(Vec::as_slice) != Some(leaf) {
        return Err("a Rekor entry of another certificate".into());
    }
    integrated.as_u64().ok_or("a Rekor integratedTime that is not a time".into())
}

/// Checks that `leaf` chains to a Fulcio CA of `root` at the instant `at` (seconds since the
/// epoch), for code signing.
fn chains(root: &TrustedRoot, leaf: &[u8], intermediates: &mut Vec<Vec<u8>>, at: u64) -> Result<(), String> {
    use rustls::pki_types::{CertificateDer, UnixTime};
    for chain in &root.cas {
        intermediates.extend(chain.iter().take(chain.len().saturating_sub(1)).cloned());
    }
    let roots: Vec<CertificateDer<'_>> =
        root.cas.iter().filter_map(|c| c.last()).map(|d| CertificateDer::from(d.as_slice())).collect();
    let anchors = roots
        .iter()
        .map(webpki::anchor_from_trusted_cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("a Fulcio CA: {e}"))?;
    let intermediates: Vec<CertificateDer<'_>> =
        intermediates.iter().map(|d| CertificateDer::from(d.as_slice())).collect();
    let leaf = CertificateDer::from(leaf);
    let cert = webpki::EndEntityCert::try_from(&leaf).map_err(|e| format!("the certificate: {e}"))?;
    let time = UnixTime::since_unix_epoch(Duration::from_secs(at));
    cert.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        time,
        webpki::KeyUsage::required(CODE_SIGNING),
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| match e {
        webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. } => {
            "a certificate not valid when Rekor logged the signature".to_owned()
        }
        // An issuer of the same name with another key is as unknown as one of no such name.
        webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey => {
            "a certificate no Fulcio CA of the trusted root issued".to_owned()
        }
        other => format!("a certificate that does not chain to the trusted root: {other}"),
    })
}

/// The certificate's subject (its first email or URI name) and OIDC issuer.
fn identity_of(cert: &x509_cert::Certificate) -> Result<(String, Option<String>), String> {
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::SubjectAltName;
    let names = cert
        .tbs_certificate()
        .get_extension::<SubjectAltName>()
        .map_err(|e| format!("the certificate's names: {e}"))?
        .map(|(_, san)| san.0)
        .unwrap_or_default();
    let subject = names
        .iter()
        .find_map(|n| match n {
            GeneralName::Rfc822Name(email) => Some(email.to_string()),
            GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
            _ => None,
        })
        .ok_or("a certificate with no email or URI name")?;
    let mut issuer = None;
    for ext in cert.tbs_certificate().extensions().into_iter().flatten() {
        let id = ext.extn_id.to_string();
        let bytes = ext.extn_value.as_bytes();
        if id == ISSUER_V2 {
            issuer = x509_cert::der::asn1::Utf8StringRef::from_der(bytes).ok().map(|s| s.as_str().to_owned());
        } else if id == ISSUER_V1 && issuer.is_none() {
            issuer = std::str::from_utf8(bytes).ok().map(str::to_owned);
        }
    }
    Ok((subject, issuer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/data/cosign/keyless/{name}", env!("CARGO_MANIFEST_DIR"));
        pem_ders(&std::fs::read_to_string(path).unwrap()).unwrap().remove(0)
    }

    #[test]
    fn a_certificate_counts_only_while_it_was_valid_and_only_from_its_own_ca() {
        let leaf = der("certificate.pem");
        let root = |names: &[&str]| TrustedRoot { cas: names.iter().map(|n| vec![der(n)]).collect(), logs: Vec::new() };
        let logged = 1_634_714_717;
        assert_eq!(chains(&root(&["fulcio-2.pem", "fulcio-1.pem"]), &leaf, &mut Vec::new(), logged), Ok(()));
        // Fulcio's certificates live ten minutes: an hour later, it had expired.
        let e = chains(&root(&["fulcio-1.pem"]), &leaf, &mut Vec::new(), logged + 3600).unwrap_err();
        assert!(e.contains("not valid when Rekor logged"), "{e}");
        let e = chains(&root(&["fulcio-2.pem"]), &leaf, &mut Vec::new(), logged).unwrap_err();
        assert!(e.contains("no Fulcio CA"), "{e}");
        let cert = x509_cert::Certificate::from_der(&leaf).unwrap();
        assert_eq!(identity_of(&cert).unwrap(), ("flavio@castelli.me".to_owned(), None));
    }
}
