//! Signatures as cosign makes and checks them: a "simple signing" payload naming the manifest's
//! digest, signed by a key, stored as a layer of the manifest tagged `sha256-<hex>.sig` in the
//! artifact's repository with the signature in its `dev.cosignproject.cosign/signature`
//! annotation. `cosign verify --key` accepts what `paved sign` writes and the reverse.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;
use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::crypto::{CosignVerificationKey, SigStoreSigner, Signature, SigningScheme};

use crate::artifact::{Descriptor, Manifest};
use crate::{Error, Reference};

/// The media type of a signature layer.
pub(crate) const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The annotation that holds a layer's signature.
pub(crate) const SIGNATURE: &str = "dev.cosignproject.cosign/signature";
const PAYLOAD_TYPE: &str = "cosign container image signature";

/// The tag cosign keeps the signatures of `digest` under.
pub(crate) fn signature_tag(digest: &str) -> String {
    format!("{}.sig", digest.replacen(':', "-", 1))
}

/// The payload that signs `digest` in `reference`'s repository, with `annotations` as cosign's
/// `-a key=value`.
pub(crate) fn payload(reference: &Reference, digest: &str, annotations: &BTreeMap<String, String>) -> Vec<u8> {
    let optional =
        if annotations.is_empty() { Value::Null } else { serde_json::to_value(annotations).unwrap_or_default() };
    serde_json::to_vec(&serde_json::json!({
        "critical": {
            "identity": { "docker-reference": reference.repository_path() },
            "image": { "docker-manifest-digest": digest },
            "type": PAYLOAD_TYPE,
        },
        "optional": optional,
    }))
    .unwrap_or_default()
}

/// A private key that signs: cosign's encrypted PEM (`cosign generate-key-pair`) or an
/// unencrypted PKCS#8 PEM.
pub struct SigningKey {
    signer: SigStoreSigner,
}

impl SigningKey {
    /// The key in `pem`; `password` decrypts cosign's encrypted form.
    pub fn from_pem(pem: &[u8], password: &[u8], name: &str) -> Result<SigningKey, Error> {
        let text = String::from_utf8_lossy(pem);
        let pair = if text.contains("ENCRYPTED") {
            SigStoreKeyPair::from_encrypted_pem(pem, password)
        } else {
            SigStoreKeyPair::from_pem(pem)
        }
        .map_err(|e| Error::local(name, format!("not a private key paved can sign with (or a wrong password): {e}")))?;
        let scheme = match &pair {
            SigStoreKeyPair::ECDSA(_) => SigningScheme::ECDSA_P256_SHA256_ASN1,
            SigStoreKeyPair::ED25519(_) => SigningScheme::ED25519,
            SigStoreKeyPair::RSA(_) => SigningScheme::RSA_PKCS1_SHA256(0),
        };
        let signer = pair.to_sigstore_signer(&scheme).map_err(|e| Error::local(name, e))?;
        Ok(SigningKey { signer })
    }

    /// The public key, PEM.
    #[cfg(test)]
    pub(crate) fn public_pem(&self) -> String {
        self.signer.to_sigstore_keypair().and_then(|p| p.public_key_to_pem()).unwrap_or_default()
    }

    /// The signature of `payload`, base64 as cosign stores it (and DSSE).
    pub(crate) fn sign(&self, payload: &[u8]) -> Result<String, Error> {
        let raw = self.signer.sign(payload).map_err(|e| Error::local("signing key", e))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(raw))
    }
}

/// A new ECDSA P-256 key pair, as `cosign generate-key-pair` makes one: the private key
/// encrypted with `password` (cosign's PEM), and the public key.
pub fn generate_key_pair(password: &[u8]) -> Result<(String, String), Error> {
    let fail = |e: sigstore::errors::SigstoreError| Error::local("key pair", e);
    let signer = SigningScheme::ECDSA_P256_SHA256_ASN1.create_signer().map_err(fail)?;
    let pair = signer.to_sigstore_keypair().map_err(fail)?;
    let private = pair.private_key_to_encrypted_pem(password).map_err(fail)?;
    Ok((private.to_string(), pair.public_key_to_pem().map_err(fail)?))
}

/// Who must have signed an artifact for paved to load it.
#[derive(Default)]
pub struct Trust {
    pub(crate) keys: Vec<(String, CosignVerificationKey)>,
    /// Keyless signatures: the trusted root they chain to, and whose they may be.
    pub(crate) keyless: Option<(std::sync::Arc<crate::TrustedRoot>, Vec<crate::Identity>)>,
    /// Load artifacts that no trusted key signed (their digests are still checked).
    pub allow_unsigned: bool,
}

impl Trust {
    /// Trusts the public key in `pem` (PEM, as `cosign.pub`), known as `name` in messages.
    pub fn key(mut self, name: &str, pem: &[u8]) -> Result<Trust, Error> {
        let key = CosignVerificationKey::try_from_pem(pem)
            .map_err(|e| Error::local(name, format!("not a public key paved can verify with: {e}")))?;
        self.keys.push((name.to_owned(), key));
        Ok(self)
    }

    /// Trusts keyless signatures that chain to `root` by one of `identities`.
    pub fn keyless(
        mut self,
        root: impl Into<std::sync::Arc<crate::TrustedRoot>>,
        identities: Vec<crate::Identity>,
    ) -> Trust {
        self.keyless = Some((root.into(), identities));
        self
    }

    /// Trusts `keys` (PEM, named by the first 12 hex digits of their sha256) and the keyless
    /// signers `identities` under `root`, as a `verifyImages` rule or a bundle's `trust` names
    /// them (subjects and issuers exactly, or by regular expressions matched whole).
    pub fn of(
        keys: &[String],
        identities: &[paved::IdentitySpec],
        root: Option<&std::sync::Arc<crate::TrustedRoot>>,
    ) -> Result<Trust, String> {
        let mut trust = Trust::default();
        for key in keys {
            let digest = crate::digest_of(key.trim().as_bytes());
            let name = format!("key:{}", digest.get(7..19).unwrap_or_default());
            trust = trust.key(&name, key.as_bytes()).map_err(|e| e.to_string())?;
        }
        if identities.is_empty() {
            return Ok(trust);
        }
        let Some(root) = root else {
            return Err(
                "keyless signers need a trusted root: give --trusted-root (Sigstore's trusted_root.json)".into()
            );
        };
        let whole = |exact: &Option<String>, pattern: &Option<String>| -> Result<Option<regex::Regex>, String> {
            let text = match (exact, pattern) {
                (Some(e), _) => format!("^{}$", regex::escape(e)),
                (None, Some(p)) => format!("^(?:{p})$"),
                (None, None) => return Ok(None),
            };
            regex::Regex::new(&text).map(Some).map_err(|e| e.to_string())
        };
        let identities = identities
            .iter()
            .map(|i| {
                let subject = whole(&i.subject, &i.subject_reg_exp)?.ok_or("a keyless signer without a subject")?;
                Ok(crate::Identity { issuer: whole(&i.issuer, &i.issuer_reg_exp)?, subject })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(trust.keyless(std::sync::Arc::clone(root), identities))
    }

    /// Whether any key, or any keyless identity, is trusted.
    pub fn has_keys(&self) -> bool {
        !self.keys.is_empty() || self.keyless.is_some()
    }

    /// The signers of `digest` among the signature layers of `signatures` (the manifest at the
    /// signature tag, `None` when there is none), whose payloads `blob` fetches by descriptor.
    /// Refused unless a trusted key signed it, or unsigned artifacts are allowed.
    pub(crate) fn verify(
        &self,
        reference: &Reference,
        digest: &str,
        signatures: Option<&Manifest>,
        mut blob: impl FnMut(&Descriptor) -> Result<Vec<u8>, Error>,
    ) -> Result<Vec<Signer>, Error> {
        if self.allow_unsigned {
            return Ok(Vec::new());
        }
        if !self.has_keys() {
            return Err(Error::refused(
                reference,
                "no key to verify its signature with: give --verify-key (cosign.pub) or --certificate-identity with --trusted-root, or --allow-unsigned to load it unverified",
            ));
        }
        let layers: Vec<&Descriptor> = signatures
            .map(|m| m.layers.iter().filter(|l| l.media_type == SIMPLE_SIGNING).collect())
            .unwrap_or_default();
        if layers.is_empty() {
            return Err(Error::refused(
                reference,
                format!("it is not signed (no {} in its repository)", signature_tag(digest)),
            ));
        }
        let mut signers = Vec::new();
        let mut problems = Vec::new();
        for layer in layers {
            match self.check(digest, layer, &mut blob) {
                Ok(s) => signers.push(s),
                Err(why) => problems.push(why),
            }
        }
        if signers.is_empty() {
            return Err(Error::refused(reference, format!("no trusted signature: {}", problems.join("; "))));
        }
        Ok(signers)
    }

    /// The signer of one signature layer, or why it does not count.
    fn check(
        &self,
        digest: &str,
        layer: &Descriptor,
        blob: &mut impl FnMut(&Descriptor) -> Result<Vec<u8>, Error>,
    ) -> Result<Signer, String> {
        let Some(signature) = layer.annotations.get(SIGNATURE) else {
            return Err("a signature layer without a signature".into());
        };
        let payload = blob(layer).map_err(|e| e.to_string())?;
        let key = if layer.annotations.contains_key(crate::keyless::CERTIFICATE) {
            let Some((root, identities)) = &self.keyless else {
                return Err("a keyless signature (give --trusted-root and --certificate-identity to check it)".into());
            };
            let logged = crate::keyless::Logged::Signature;
            let checked = crate::keyless::check(root, identities, &layer.annotations, (&payload, signature), logged)?;
            let by = checked.issuer.map(|i| format!(" ({i})")).unwrap_or_default();
            format!("keyless: {}{by}", checked.subject)
        } else {
            self.keys
                .iter()
                .find(|(_, k)| k.verify_signature(Signature::Base64Encoded(signature.as_bytes()), &payload).is_ok())
                .map(|(name, _)| name.clone())
                .ok_or("a signature by a key not trusted")?
        };
        let claims: Value =
            serde_json::from_slice(&payload).map_err(|e| format!("a signed payload that is not JSON: {e}"))?;
        let text = |pointer: &str| claims.pointer(pointer).and_then(Value::as_str).unwrap_or_default().to_owned();
        if text("/critical/type") != PAYLOAD_TYPE {
            return Err(format!("a signed payload of type {:?}, not a {PAYLOAD_TYPE}", text("/critical/type")));
        }
        let signed = text("/critical/image/docker-manifest-digest");
        if signed != digest {
            return Err(format!("a signature by {key} of another manifest ({signed})"));
        }
        let annotations = claims
            .get("optional")
            .and_then(Value::as_object)
            .map(|o| {
                o.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned))).collect()
            })
            .unwrap_or_default();
        Ok(Signer { key, identity: text("/critical/identity/docker-reference"), annotations })
    }
}

/// Who signed an artifact.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Signer {
    /// The trusted key that verified the signature (its file, as given).
    pub key: String,
    /// The repository the signature names (cosign's `docker-reference`).
    pub identity: String,
    /// The annotations signed with it.
    pub annotations: BTreeMap<String, String>,
}

/// The config and manifest of a signature image holding `layers`, as cosign writes them.
pub(crate) fn signature_manifest(layers: &[Descriptor]) -> (Vec<u8>, Vec<u8>) {
    let epoch = "0001-01-01T00:00:00Z";
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "",
        "created": epoch,
        "history": [{ "created": epoch }],
        "os": "",
        "rootfs": { "type": "layers", "diff_ids": layers.iter().map(|l| l.digest.clone()).collect::<Vec<_>>() },
        "config": {},
    }))
    .unwrap_or_default();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": crate::artifact::MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": crate::digest_of(&config),
            "size": config.len(),
        },
        "layers": layers,
    }))
    .unwrap_or_default();
    (config, manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/cosign");

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
    }

    fn signatures(payload: &[u8], signature: &str) -> Manifest {
        let layer = Descriptor {
            media_type: SIMPLE_SIGNING.into(),
            digest: crate::digest_of(payload),
            size: payload.len() as u64,
            annotations: BTreeMap::from([(SIGNATURE.to_owned(), signature.to_owned())]),
        };
        let (_, manifest) = signature_manifest(&[layer]);
        serde_json::from_slice(&manifest).unwrap()
    }

    #[test]
    fn a_signature_cosign_made_verifies_and_binds_its_digest() {
        let payload = fixture("busybox.payload.json");
        let signature = String::from_utf8(fixture("busybox.sig")).unwrap();
        let trust = Trust::default().key("busybox.pub", &fixture("busybox.pub")).unwrap();
        let reference: Reference = "oci://registry-testing.svc.lan/busybox:latest".parse().unwrap();
        let digest = "sha256:f3cfc9d0dbf931d3db4685ec659b7ac68e2a578219da4aae65427886e649b06b";
        let manifest = signatures(&payload, &signature);
        let signers = trust.verify(&reference, digest, Some(&manifest), |_| Ok(payload.clone())).unwrap();
        assert_eq!(signers[0].key, "busybox.pub");
        assert_eq!(signers[0].identity, "registry-testing.svc.lan/busybox");
        // The same signature does not vouch for another manifest.
        let other = format!("sha256:{}", "0".repeat(64));
        let e = trust.verify(&reference, &other, Some(&manifest), |_| Ok(payload.clone())).unwrap_err().to_string();
        assert!(e.contains("of another manifest"), "{e}");
        // A changed payload does not verify.
        let mut changed = payload.clone();
        changed[20] ^= 1;
        let e = trust.verify(&reference, digest, Some(&manifest), |_| Ok(changed.clone())).unwrap_err().to_string();
        assert!(e.contains("a key not trusted"), "{e}");
        // Another key does not verify it.
        let (_, public) = generate_key_pair(b"x").unwrap();
        let stranger = Trust::default().key("stranger.pub", public.as_bytes()).unwrap();
        let e = stranger.verify(&reference, digest, Some(&manifest), |_| Ok(payload.clone())).unwrap_err().to_string();
        assert!(e.contains("a key not trusted"), "{e}");
    }

    /// The trusted root of the fixtures: sigstore's first Fulcio roots and Rekor key.
    fn trusted_root() -> crate::TrustedRoot {
        let body = |name: &str| -> String {
            let text = String::from_utf8(fixture(&format!("keyless/{name}"))).unwrap();
            text.lines().filter(|l| !l.starts_with("-----")).collect()
        };
        let root = serde_json::json!({
            "certificateAuthorities": [
                {"certChain": {"certificates": [{"rawBytes": body("fulcio-1.pem")}]}},
                {"certChain": {"certificates": [{"rawBytes": body("fulcio-2.pem")}]}},
            ],
            "tlogs": [{"publicKey": {"rawBytes": body("rekor.pub")}}],
        });
        crate::TrustedRoot::from_json(root.to_string().as_bytes(), "trusted_root.json").unwrap()
    }

    fn keyless_layer(certificate: &[u8], bundle: &[u8]) -> (Vec<u8>, Manifest) {
        let payload = fixture("keyless/payload.json");
        let signature = String::from_utf8(fixture("keyless/signature")).unwrap();
        let mut manifest = signatures(&payload, &signature);
        let annotations = &mut manifest.layers[0].annotations;
        annotations.insert(crate::keyless::CERTIFICATE.into(), String::from_utf8(certificate.to_vec()).unwrap());
        annotations.insert(crate::keyless::BUNDLE.into(), String::from_utf8(bundle.to_vec()).unwrap());
        (payload, manifest)
    }

    #[test]
    fn a_keyless_signature_cosign_made_verifies_offline_against_its_trusted_root_and_identity() {
        let reference: Reference =
            "oci://registry-testing.svc.lan/kubewarden/disallow-service-nodeport:v1".parse().unwrap();
        let digest = "sha256:5f481572d088dc4023afb35fced9530ced3d9b03bf7299c6f492163cb9f0452e";
        let (certificate, bundle) = (fixture("keyless/certificate.pem"), fixture("keyless/bundle.json"));
        let (payload, manifest) = keyless_layer(&certificate, &bundle);
        let identity = |subject: &str| crate::Identity { issuer: None, subject: regex::Regex::new(subject).unwrap() };
        let trust = Trust::default().keyless(trusted_root(), vec![identity("^flavio@castelli\\.me$")]);
        let signers = trust.verify(&reference, digest, Some(&manifest), |_| Ok(payload.clone())).unwrap();
        assert_eq!(signers[0].key, "keyless: flavio@castelli.me");

        // Another identity is not trusted.
        let other = Trust::default().keyless(trusted_root(), vec![identity("^ci@acme\\.dev$")]);
        let e = other.verify(&reference, digest, Some(&manifest), |_| Ok(payload.clone())).unwrap_err().to_string();
        assert!(e.contains("flavio@castelli.me") && e.contains("an identity not trusted"), "{e}");
        // Without keyless trust, it is said to be keyless.
        let keys = Trust::default().key("busybox.pub", &fixture("busybox.pub")).unwrap();
        let e = keys.verify(&reference, digest, Some(&manifest), |_| Ok(payload.clone())).unwrap_err().to_string();
        assert!(e.contains("a keyless signature"), "{e}");
        // A Rekor entry that does not match: its signed timestamp over a changed time.
        let mut changed: Value = serde_json::from_slice(&bundle).unwrap();
        changed["Payload"]["integratedTime"] = Value::from(1634714718);
        let (payload, tampered) = keyless_layer(&certificate, changed.to_string().as_bytes());
        let e = trust.verify(&reference, digest, Some(&tampered), |_| Ok(payload.clone())).unwrap_err().to_string();
        assert!(e.contains("signed entry timestamp does not verify"), "{e}");
        // A certificate no trusted CA issued: a trusted root of other CAs.
        let foreign = serde_json::json!({
            "certificateAuthorities": [{"certChain": {"certificates": [{"rawBytes": String::from_utf8(fixture("keyless/fulcio-2.pem")).unwrap().lines().filter(|l| !l.starts_with("-----")).collect::<String>()}]}}],
            "tlogs": [{"publicKey": {"rawBytes": String::from_utf8(fixture("keyless/rekor.pub")).unwrap().lines().filter(|l| !l.starts_with("-----")).collect::<String>()}}],
        });
        let root = crate::TrustedRoot::from_json(foreign.to_string().as_bytes(), "other.json").unwrap();
        let (payload, manifest) = keyless_layer(&certificate, &bundle);
        let e = Trust::default()
            .keyless(root, vec![identity(".*")])
            .verify(&reference, digest, Some(&manifest), |_| Ok(payload.clone()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no Fulcio CA of the trusted root issued"), "{e}");
        // The signature of another manifest.
        let e = trust
            .verify(&reference, &format!("sha256:{}", "1".repeat(64)), Some(&manifest), |_| Ok(payload.clone()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("of another manifest"), "{e}");
    }

    #[test]
    fn a_rules_keyless_signers_match_whole_and_need_a_trusted_root() {
        let spec = |subject: Option<&str>, pattern: Option<&str>| paved::IdentitySpec {
            issuer: Some("https://issuer.acme.dev".into()),
            subject: subject.map(str::to_owned),
            subject_reg_exp: pattern.map(str::to_owned),
            ..Default::default()
        };
        let root = std::sync::Arc::new(trusted_root());
        let trust = |s: paved::IdentitySpec| Trust::of(&[], &[s], Some(&root)).unwrap();
        let matches = |t: &Trust, subject: &str, issuer: &str| {
            t.keyless
                .as_ref()
                .unwrap()
                .1
                .iter()
                .any(|i| i.subject.is_match(subject) && i.issuer.as_ref().is_none_or(|re| re.is_match(issuer)))
        };
        // Exactly: a dot is a dot, and nothing more may follow.
        let exact = trust(spec(Some("ci@acme.dev"), None));
        assert!(matches(&exact, "ci@acme.dev", "https://issuer.acme.dev"));
        assert!(!matches(&exact, "ci@acmexdev", "https://issuer.acme.dev"));
        assert!(!matches(&exact, "ci@acme.dev.evil", "https://issuer.acme.dev"));
        assert!(!matches(&exact, "ci@acme.dev", "https://issuer.acme.dev.evil"));
        // By a regular expression, matched whole.
        let pattern = trust(spec(None, Some("ci@acme\\.(dev|io)")));
        assert!(matches(&pattern, "ci@acme.io", "https://issuer.acme.dev"));
        assert!(!matches(&pattern, "evil-ci@acme.io", "https://issuer.acme.dev"));
        // Keyless signers without a trusted root: said plainly.
        let e = Trust::of(&[], &[spec(Some("ci@acme.dev"), None)], None).err().unwrap();
        assert!(e.contains("--trusted-root"), "{e}");
    }

    #[test]
    fn a_key_cosign_generated_signs_what_its_public_key_verifies() {
        let key =
            SigningKey::from_pem(&fixture("cosign_generated_encrypted_empty_private.key"), b"", "cosign.key").unwrap();
        let reference: Reference = "oci://localhost/acme/policies:1".parse().unwrap();
        let digest = crate::digest_of(b"manifest");
        let payload = payload(&reference, &digest, &BTreeMap::new());
        let signature = key.sign(&payload).unwrap();
        let public = key.signer.to_sigstore_keypair().unwrap().public_key_to_pem().unwrap();
        let trust = Trust::default().key("cosign.pub", public.as_bytes()).unwrap();
        let signers = trust
            .verify(&reference, &digest, Some(&signatures(&payload, &signature)), |_| Ok(payload.clone()))
            .unwrap();
        assert_eq!(signers[0].identity, "localhost/acme/policies");
        // The wrong password is said plainly.
        let e = SigningKey::from_pem(&fixture("cosign_generated_encrypted_empty_private.key"), b"wrong", "cosign.key")
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("cosign.key") && e.contains("wrong password"), "{e}");
    }
}
