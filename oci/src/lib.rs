//! paved's policy bundles, packs, golden paths and plugins as OCI artifacts: pushed and pulled
//! through any registry that speaks the distribution spec, signed and verified as cosign signs
//! and verifies, and kept in a content-addressed cache that serves offline runs.
//!
//! Nothing here runs a policy: what [`Registry::pull`] returns was verified (its digest, its
//! signatures) before any of its content was fetched, and is handed to the engine as files.

mod artifact;
mod attest;
mod cache;
pub mod images;
mod keyless;
mod reference;
mod registry;
mod sign;

pub use artifact::{Artifact, Kind};
pub use keyless::{Identity, TrustedRoot};
pub use reference::Reference;
pub use registry::{Options, Pulled, Registry};
pub use sign::{generate_key_pair, Signer, SigningKey, Trust};

/// Why an artifact could not be pushed, pulled or trusted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A reference that is not `oci://registry/repository[:tag][@sha256:…]`.
    #[error("{reference}: {reason}")]
    Reference {
        /// The text given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The registry could not be reached, refused the credentials, or has no such artifact.
    #[error("{reference}: {reason}")]
    Registry {
        /// The artifact asked for.
        reference: String,
        /// What the registry (or the network) said.
        reason: String,
    },
    /// The artifact is not what it claims or is not trusted: nothing of it is loaded or cached.
    #[error("{reference}: refused: {reason}")]
    Refused {
        /// The artifact asked for.
        reference: String,
        /// Which check failed.
        reason: String,
    },
    /// A local file (the content to push, a key, the cache) could not be read or written.
    #[error("{path}: {reason}")]
    Local {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn refused(reference: &Reference, reason: impl Into<String>) -> Error {
        Error::Refused { reference: reference.to_string(), reason: reason.into() }
    }

    pub(crate) fn registry(reference: &Reference, reason: impl std::fmt::Display) -> Error {
        Error::Registry { reference: reference.to_string(), reason: reason.to_string() }
    }

    pub(crate) fn local(path: impl AsRef<std::path::Path>, reason: impl std::fmt::Display) -> Error {
        Error::Local { path: path.as_ref().display().to_string(), reason: reason.to_string() }
    }
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn digest_of(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
