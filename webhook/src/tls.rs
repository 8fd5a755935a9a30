//! TLS: the serving certificate, read from PEM files and swapped when they change (cert-manager
//! and kubelet renew a mounted Secret in place), and certificates for trying paved on a laptop.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use crate::Problem;

/// The serving certificate.
#[derive(Debug, Clone)]
pub enum Tls {
    /// PEM files, read again when they change (`tls.crt` and `tls.key` of a mounted
    /// `kubernetes.io/tls` Secret).
    Files {
        /// The certificate chain.
        cert: PathBuf,
        /// Its private key.
        key: PathBuf,
    },
    /// A certificate made by [`generate`], held in memory.
    Generated(Generated),
}

impl Tls {
    /// The files to watch for a new certificate.
    pub(crate) fn files(&self) -> Vec<PathBuf> {
        match self {
            Tls::Files { cert, key } => vec![cert.clone(), key.clone()],
            Tls::Generated(_) => Vec::new(),
        }
    }
}

/// The certificate the server presents, replaced whole when the files change.
#[derive(Debug)]
pub(crate) struct Resolver(RwLock<Arc<CertifiedKey>>);

impl Resolver {
    pub(crate) fn new(key: CertifiedKey) -> Self {
        Resolver(RwLock::new(Arc::new(key)))
    }

    pub(crate) fn set(&self, key: CertifiedKey) {
        if let Ok(mut k) = self.0.write() {
            *k = Arc::new(key);
        }
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.read().ok().map(|k| Arc::clone(&k))
    }
}

/// The certificate and key of `tls`, checked to belong together.
pub(crate) fn load(tls: &Tls) -> Result<CertifiedKey, Problem> {
    let (cert, key) = match tls {
        Tls::Files { cert, key } => (cert, key),
        Tls::Generated(g) => return certified(g.cert.as_bytes(), g.key.as_bytes()).map_err(Problem),
    };
    let bytes = |p: &Path| std::fs::read(p).map_err(|e| Problem(format!("cannot read {}: {e}", p.display())));
    certified(&bytes(cert)?, &bytes(key)?)
        .map_err(|why| Problem(format!("{} and {}: {why}", cert.display(), key.display())))
}

/// A certificate chain and key from PEM text.
pub(crate) fn certified(cert: &[u8], key: &[u8]) -> Result<CertifiedKey, String> {
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the certificate is not PEM: {e}"))?;
    if chain.is_empty() {
        return Err("no CERTIFICATE in the certificate file".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| format!("the key is not a PEM private key: {e}"))?;
    let key = any_supported_type(&key).map_err(|e| format!("unsupported private key: {e}"))?;
    let certified = CertifiedKey::new(chain, key);
    certified.keys_match().map_err(|e| format!("the key does not belong to the certificate: {e}"))?;
    Ok(certified)
}

/// The server's rustls configuration, presenting what `resolver` holds (HTTP/2 and HTTP/1.1).
pub(crate) fn server_config(resolver: Arc<Resolver>) -> Result<Arc<rustls::ServerConfig>, Problem> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Problem(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A certificate authority and a serving certificate signed by it, as PEM text: what
/// `paved cert` writes, and `paved serve --self-signed` serves.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The CA's certificate: the webhook configuration's `caBundle` (base64 of this text).
    pub ca: String,
    /// The serving certificate.
    pub cert: String,
    /// Its private key.
    pub key: String,
}

/// A new CA and a serving certificate for `names` (DNS names or IP addresses), valid a year.
pub fn generate(names: &[String]) -> Result<Generated, Problem> {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let fail = |e: rcgen::Error| Problem(format!("cannot make a certificate: {e}"));
    let now = std::time::SystemTime::now();
    let year = std::time::Duration::from_secs(365 * 24 * 3600);
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    ca.distinguished_name.push(DnType::CommonName, "paved webhook CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now.into();
    ca.not_after = (now + year).into();
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(fail)?).map_err(fail)?;
    let mut leaf = CertificateParams::new(names.to_vec()).map_err(fail)?;
    leaf.distinguished_name.push(DnType::CommonName, names.first().map_or("paved", String::as_str));
    leaf.not_before = now.into();
    leaf.not_after = (now + year).into();
    let key = KeyPair::generate().map_err(fail)?;
    let cert = leaf.signed_by(&key, &ca).map_err(fail)?;
    Ok(Generated { ca: ca.pem(), cert: cert.pem(), key: key.serialize_pem() })
}
