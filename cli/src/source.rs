//! Where bundles and packs come from: files and directories, the built-in packs, or OCI
//! artifacts (`oci://registry/repository:tag`), pulled, verified (digest, then signature) and
//! only then read. The packs and plugins a bundle names by `oci://` reference are pulled the same
//! way, with the same trust.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use paved::{Bundle, Error};

/// How `oci://` sources are reached and trusted; flags of every command.
#[derive(clap::Args, Clone, Default, Debug)]
pub struct Distribution {
    /// A public key (cosign's `cosign.pub`, PEM) an `oci://` artifact must be signed by; any one
    /// of them suffices (repeatable).
    #[arg(long, global = true, help_heading = "OCI sources", value_name = "FILE")]
    pub verify_key: Vec<PathBuf>,
    /// Sigstore's trusted root (`trusted_root.json`: Fulcio CAs and Rekor keys) keyless
    /// signatures are checked against, with no network: of `oci://` artifacts, and of images
    /// `verifyImages` rules name identities for.
    #[arg(long, global = true, value_name = "FILE", help_heading = "OCI sources")]
    pub trusted_root: Option<PathBuf>,
    /// A keyless signer to trust: the certificate's subject, exactly (an email, or a URI such as
    /// a CI workflow's) (repeatable).
    #[arg(long, global = true, value_name = "SUBJECT", help_heading = "OCI sources")]
    pub certificate_identity: Vec<String>,
    /// A keyless signer to trust, by a regular expression its subject matches whole (repeatable).
    #[arg(long, global = true, value_name = "REGEX", help_heading = "OCI sources")]
    pub certificate_identity_regexp: Vec<String>,
    /// The OIDC issuer the keyless signers' certificates must name
    /// (`https://token.actions.githubusercontent.com`).
    #[arg(long, global = true, value_name = "URL", help_heading = "OCI sources")]
    pub certificate_oidc_issuer: Option<String>,
    /// Load `oci://` artifacts no trusted key signed (their digests are still checked).
    #[arg(long, global = true, help_heading = "OCI sources")]
    pub allow_unsigned: bool,
    /// Pull nothing: `oci://` sources come from the local cache, their signatures checked again.
    #[arg(long, global = true, help_heading = "OCI sources")]
    pub offline: bool,
    /// A certificate authority (PEM) to trust for registries, besides the system's (repeatable).
    #[arg(long, global = true, help_heading = "OCI sources", value_name = "FILE")]
    pub registry_ca: Vec<PathBuf>,
    /// A registry (`host:port`) to speak plain HTTP to (repeatable).
    #[arg(long, global = true, help_heading = "OCI sources", value_name = "HOST:PORT")]
    pub plain_http: Vec<String>,
}

static DISTRIBUTION: OnceLock<Distribution> = OnceLock::new();

/// Sets how `oci://` sources are reached, once, from the command line.
pub fn configure(distribution: Distribution) {
    let _ = DISTRIBUTION.set(distribution);
}

/// The bundle at `path`: files, or an `oci://` artifact.
pub fn bundle(path: &Path) -> Result<Bundle, Error> {
    let text = path.to_string_lossy();
    if text.starts_with("oci://") {
        return pulled::bundle(&text, 0);
    }
    pulled::resolve(Bundle::from_paths(&[path])?, 0)
}

/// `bundle` with the packs and plugins it names by `oci://` reference pulled.
pub fn resolve(bundle: Bundle) -> Result<Bundle, Error> {
    pulled::resolve(bundle, 0)
}

/// The built-in pack `name`, or the pack at an `oci://` reference.
pub fn pack(name: &str) -> Result<Bundle, Error> {
    if name.starts_with("oci://") {
        return pulled::bundle(name, 0);
    }
    Bundle::pack(name)
}

#[cfg(feature = "oci")]
pub mod pulled {
    use super::*;
    use paved_oci::{Kind, Options, Reference, Registry, Trust};
    use std::sync::Arc;

    /// How deep packs may name packs.
    const MAX_DEPTH: usize = 8;

    /// Every `oci://` reference pulled by this process, as written.
    static PULLED: std::sync::Mutex<std::collections::BTreeSet<String>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());

    /// `reference` pulled and verified against `trust`, remembered for [`fingerprint`].
    fn pull(reference: &Reference, trust: &Trust) -> Result<paved_oci::Pulled, Error> {
        PULLED.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(reference.to_string());
        registry()?.pull(reference, trust).map_err(input)
    }

    /// Whom `bundle` trusts for the artifacts it names (its `spec.trust`, with
    /// `--allow-unsigned`), if it says.
    fn declared_trust(bundle: &Bundle) -> Result<Option<Trust>, Error> {
        let Some(declared) = bundle.artifact_trust() else { return Ok(None) };
        let mut trust = Trust::of(&declared.keys, &declared.identities, trusted_root()?.as_ref())
            .map_err(|e| input(format!("the bundle's spec.trust: {e}")))?;
        trust.allow_unsigned = DISTRIBUTION.get().is_some_and(|d| d.allow_unsigned);
        Ok(Some(trust))
    }

    /// What every reference pulled so far names now (its digest, or why that is not known): a
    /// moved tag changes it. Empty offline, where nothing moves.
    pub fn fingerprint() -> Vec<u8> {
        let pulled = PULLED.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let Ok(registry) = registry() else { return Vec::new() };
        if DISTRIBUTION.get().is_some_and(|d| d.offline) {
            return Vec::new();
        }
        let mut out = String::new();
        for text in pulled {
            let now = text
                .parse()
                .map_err(|e: paved_oci::Error| e.to_string())
                .and_then(|r| registry.resolve(&r).map_err(|e| e.to_string()));
            out.push_str(&format!("{text} {now:?}\n"));
        }
        out.into_bytes()
    }

    fn input(e: impl std::fmt::Display) -> Error {
        Error::Input { reason: e.to_string() }
    }

    /// The registry client, made once.
    pub fn registry() -> Result<&'static Registry, Error> {
        static REGISTRY: OnceLock<Result<Registry, String>> = OnceLock::new();
        let made = REGISTRY.get_or_init(|| {
            let d = DISTRIBUTION.get().cloned().unwrap_or_default();
            Registry::new(Options {
                cache: crate::plugin::oci_cache_dir(),
                offline: d.offline,
                ca_files: d.registry_ca,
                plain_http: d.plain_http,
            })
            .map_err(|e| e.to_string())
        });
        made.as_ref().map_err(input)
    }

    /// The keys of `--verify-key`, and `--allow-unsigned`.
    pub fn trust() -> Result<Trust, Error> {
        let d = DISTRIBUTION.get().cloned().unwrap_or_default();
        let mut trust = Trust::default();
        trust.allow_unsigned = d.allow_unsigned;
        for file in &d.verify_key {
            let pem = std::fs::read(file).map_err(|e| input(format!("--verify-key {}: {e}", file.display())))?;
            trust = trust.key(&file.display().to_string(), &pem).map_err(input)?;
        }
        let exact = d.certificate_identity.iter().map(|s| format!("^{}$", regex::escape(s)));
        let patterns: Vec<String> =
            exact.chain(d.certificate_identity_regexp.iter().map(|r| format!("^(?:{r})$"))).collect();
        match (trusted_root()?, patterns.is_empty()) {
            (None, false) => {
                return Err(input("--certificate-identity needs --trusted-root (Sigstore's trusted_root.json)"))
            }
            // A trusted root alone serves the keyless signers of `verifyImages` rules.
            (None, true) | (Some(_), true) => {}
            (Some(root), false) => {
                let issuer = d
                    .certificate_oidc_issuer
                    .as_deref()
                    .map(|i| regex::Regex::new(&format!("^{}$", regex::escape(i))))
                    .transpose()
                    .map_err(input)?;
                let mut identities = Vec::new();
                for p in &patterns {
                    let subject =
                        regex::Regex::new(p).map_err(|e| input(format!("--certificate-identity-regexp: {e}")))?;
                    identities.push(paved_oci::Identity { issuer: issuer.clone(), subject });
                }
                trust = trust.keyless(root, identities);
            }
        }
        Ok(trust)
    }

    /// The trusted root of `--trusted-root`, read once.
    pub fn trusted_root() -> Result<Option<Arc<paved_oci::TrustedRoot>>, Error> {
        static ROOT: OnceLock<Result<Option<Arc<paved_oci::TrustedRoot>>, String>> = OnceLock::new();
        let read = ROOT.get_or_init(|| {
            let Some(file) = DISTRIBUTION.get().and_then(|d| d.trusted_root.clone()) else { return Ok(None) };
            let json = std::fs::read(&file).map_err(|e| format!("--trusted-root {}: {e}", file.display()))?;
            let root =
                paved_oci::TrustedRoot::from_json(&json, &file.display().to_string()).map_err(|e| e.to_string())?;
            Ok(Some(Arc::new(root)))
        });
        read.clone().map_err(input)
    }

    pub fn reference(text: &str) -> Result<Reference, Error> {
        text.parse().map_err(input)
    }

    /// The bundle artifact at `text`, pulled, verified (against the flags) and loaded, with what
    /// it names.
    pub fn bundle(text: &str, depth: usize) -> Result<Bundle, Error> {
        bundle_under(text, depth, &trust()?)
    }

    /// The bundle artifact at `text`, verified against `trust`, with what it names.
    fn bundle_under(text: &str, depth: usize, trust: &Trust) -> Result<Bundle, Error> {
        let reference = reference(text)?;
        let pulled = pull(&reference, trust)?;
        if pulled.kind != Kind::Bundle {
            return Err(input(format!("{reference}: a {} artifact, not a bundle", pulled.kind.as_str())));
        }
        let dir = tempfile::Builder::new().prefix("paved-oci-").tempdir().map_err(input)?;
        let digest = pulled.reference.digest.as_deref().unwrap_or_default();
        let name = format!("{}@{}", reference.repository.replace('/', "_"), digest.get(..19).unwrap_or(digest));
        let root = dir.path().join(name);
        pulled.unpack(&root).map_err(input)?;
        tracing::info!(reference = %pulled.reference, signers = pulled.signers.len(), "pulled");
        resolve_under(Bundle::from_paths(&[root])?, depth, Some(trust))
    }

    /// The verdicts on the images `requests` name, each asked of its registry.
    pub fn image_verdicts(requests: &[paved::ImageRequest]) -> paved::ImageVerdicts {
        match registry().and_then(|r| Ok((r, trusted_root()?))) {
            Ok((r, root)) => paved_oci::images::verdicts(r, root.as_ref(), requests),
            Err(e) => paved_oci::images::unreachable(requests, &e.to_string()),
        }
    }

    /// `bundle` with the packs and plugins it names by `oci://` reference pulled, verified
    /// against its own `spec.trust` if it has one, else the flags'.
    pub fn resolve(bundle: Bundle, depth: usize) -> Result<Bundle, Error> {
        resolve_under(bundle, depth, None)
    }

    /// As [`resolve`]; a bundle without `spec.trust` inherits `parent` (the trust its own
    /// artifact was verified against), else the flags'.
    fn resolve_under(mut bundle: Bundle, depth: usize, parent: Option<&Trust>) -> Result<Bundle, Error> {
        let plugins: Vec<(String, String)> =
            bundle.plugin_references().map(|(n, r)| (n.to_owned(), r.to_owned())).collect();
        let packs: Vec<String> = bundle.pack_references().map(str::to_owned).collect();
        if plugins.is_empty() && packs.is_empty() {
            return Ok(bundle);
        }
        let own = declared_trust(&bundle)?;
        let flags;
        let trust = match (&own, parent) {
            (Some(own), _) => own,
            (None, Some(parent)) => parent,
            (None, None) => {
                flags = trust()?;
                &flags
            }
        };
        for (name, text) in plugins {
            let reference = reference(&text)?;
            let pulled = pull(&reference, trust)?;
            if pulled.kind != Kind::Plugin {
                return Err(input(format!(
                    "{reference} (plugin `{name}`): a {} artifact, not a plugin",
                    pulled.kind.as_str()
                )));
            }
            bundle = bundle.with_plugin_component(&name, pulled.content);
        }
        if packs.is_empty() {
            return Ok(bundle);
        }
        if depth >= MAX_DEPTH {
            return Err(input(format!("packs name packs more than {MAX_DEPTH} deep (a cycle?): {}", packs.join(", "))));
        }
        let pulled = packs.iter().map(|p| bundle_under(p, depth + 1, trust)).collect::<Result<Vec<_>, _>>()?;
        Ok(bundle.with_packs(pulled))
    }
}

#[cfg(not(feature = "oci"))]
pub mod pulled {
    use super::*;

    /// No verdicts: this build reaches no registry, so `verifyImages` rules fail closed.
    pub fn image_verdicts(_requests: &[paved::ImageRequest]) -> paved::ImageVerdicts {
        paved::ImageVerdicts::default()
    }

    pub fn bundle(text: &str, _depth: usize) -> Result<Bundle, Error> {
        Err(Error::Input { reason: format!("{text}: this build of paved cannot pull OCI artifacts") })
    }

    pub fn resolve(loaded: Bundle, _depth: usize) -> Result<Bundle, Error> {
        let first =
            loaded.pack_references().chain(loaded.plugin_references().map(|(_, r)| r)).next().map(str::to_owned);
        match first {
            Some(r) => bundle(&r, 0),
            None => Ok(loaded),
        }
    }
}

/// The verdicts on images `verifyImages` rules ask about: read from a file recorded before
/// (`--image-verdicts`), else asked of the registries.
pub fn image_verdicts(requests: &[paved::ImageRequest], replay: Option<&Path>) -> Result<paved::ImageVerdicts, Error> {
    let Some(file) = replay else { return Ok(pulled::image_verdicts(requests)) };
    let text = std::fs::read_to_string(file).map_err(|source| Error::Io { path: file.to_owned(), source })?;
    paved::ImageVerdicts::from_recorded(&text).map_err(|e| Error::Input { reason: format!("{}: {e}", file.display()) })
}

/// `verdicts` as `--record-image-verdicts` writes them.
pub fn record_image_verdicts(verdicts: &paved::ImageVerdicts, file: &Path) -> Result<(), Error> {
    std::fs::write(file, verdicts.recorded()).map_err(|source| Error::Io { path: file.to_owned(), source })
}
