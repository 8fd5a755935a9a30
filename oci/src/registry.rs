//! The registry client: push, resolve, pull (verified before any content is fetched) and sign,
//! through `oci-client` on a runtime of its own, so callers stay synchronous.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;

use crate::artifact::{self, Descriptor, Kind, Manifest, MANIFEST, MAX_MANIFEST};
use crate::cache::Cache;
use crate::sign::{self, Signer, SigningKey, Trust};
use crate::{digest_of, Artifact, Error, Reference};

/// How to reach registries and where to keep what was pulled.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The cache directory; `None` keeps nothing (and `offline` then finds nothing).
    pub cache: Option<PathBuf>,
    /// Use only the cache: tags resolve to the digest they had when last pulled, and
    /// signatures are checked again from cached copies.
    pub offline: bool,
    /// PEM files of certificate authorities to trust besides the system's.
    pub ca_files: Vec<PathBuf>,
    /// Registries (`host:port`) spoken to over plain HTTP.
    pub plain_http: Vec<String>,
}

/// An artifact pulled and verified.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// Where it was pulled from, pinned to the digest that was verified.
    pub reference: Reference,
    /// What it holds.
    pub kind: Kind,
    /// The manifest's annotations.
    pub annotations: BTreeMap<String, String>,
    /// The config blob.
    pub config: Vec<u8>,
    /// The content layer (a tar+gzip, or a plugin's component).
    pub content: Vec<u8>,
    /// Who signed it (empty when unsigned artifacts were allowed).
    pub signers: Vec<Signer>,
}

impl Pulled {
    /// Writes the files of a bundle or render under `into`.
    pub fn unpack(&self, into: &Path) -> Result<Vec<PathBuf>, Error> {
        if self.kind == Kind::Plugin {
            return Err(Error::refused(&self.reference, "a plugin is a component, not files to unpack"));
        }
        artifact::unpack(&self.reference, &self.content, into)
    }
}

/// A client for OCI registries.
pub struct Registry {
    client: oci_client::Client,
    runtime: tokio::runtime::Runtime,
    cache: Option<Cache>,
    offline: bool,
}

impl Registry {
    /// A client with `options`.
    pub fn new(options: Options) -> Result<Registry, Error> {
        // reqwest's rustls takes the process's provider: ring, as the rest of paved.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut roots = Vec::new();
        for file in &options.ca_files {
            let data = std::fs::read(file).map_err(|e| Error::local(file, e))?;
            roots.push(Certificate { encoding: CertificateEncoding::Pem, data });
        }
        let config = ClientConfig {
            protocol: if options.plain_http.is_empty() {
                ClientProtocol::Https
            } else {
                ClientProtocol::HttpsExcept(options.plain_http.clone())
            },
            extra_root_certificates: roots,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            user_agent: concat!("paved/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::local("runtime", e))?;
        Ok(Registry {
            client: oci_client::Client::new(config),
            runtime,
            cache: options.cache.map(Cache::new),
            offline: options.offline,
        })
    }

    /// Runs `future` to its end, from any thread (a caller inside a runtime lends a thread).
    fn wait<T: Send>(&self, future: impl Future<Output = T> + Send) -> T {
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| s.spawn(|| self.runtime.block_on(future)).join())
                .unwrap_or_else(|e| std::panic::resume_unwind(e))
        } else {
            self.runtime.block_on(future)
        }
    }

    fn online(&self, reference: &Reference) -> Result<(), Error> {
        if self.offline {
            return Err(Error::registry(reference, "offline: the registry is not asked"));
        }
        Ok(())
    }

    /// Pushes `artifact` to `reference`'s tag; the reference pinned to what was pushed.
    pub fn push(&self, reference: &Reference, artifact: &Artifact) -> Result<Reference, Error> {
        self.online(reference)?;
        if reference.digest.is_some() {
            return Err(Error::Reference {
                reference: reference.to_string(),
                reason: "push to a tag; the digest is what the registry answers".into(),
            });
        }
        let manifest = artifact.manifest();
        let target = reference.client();
        self.wait(async {
            self.client.store_auth_if_needed(&reference.registry, &auth(&reference.registry)).await;
            for blob in [&artifact.config, &artifact.content] {
                self.client.push_blob(&target, blob.clone(), &digest_of(blob)).await?;
            }
            self.client.push_manifest_raw(&target, manifest.clone(), header(MANIFEST)).await
        })
        .map_err(|e| Error::registry(reference, explain(&e)))?;
        Ok(reference.pinned(&digest_of(&manifest)))
    }

    /// The digest `reference` names now: its own, the registry's answer for its tag, or (offline)
    /// the tag's digest when last pulled.
    pub fn resolve(&self, reference: &Reference) -> Result<String, Error> {
        if let Some(d) = &reference.digest {
            return Ok(d.clone());
        }
        let tag = reference.tag.as_deref().unwrap_or("latest");
        if self.offline {
            return self
                .cache
                .as_ref()
                .and_then(|c| c.tagged(reference, tag))
                .ok_or_else(|| Error::registry(reference, "offline, and not in the cache: pull it once online"));
        }
        let target = reference.client();
        self.wait(async {
            self.client.store_auth_if_needed(&reference.registry, &auth(&reference.registry)).await;
            self.client.fetch_manifest_digest(&target, &auth(&reference.registry)).await
        })
        .map_err(|e| Error::registry(reference, explain(&e)))
    }

    /// The artifact at `reference`: its manifest checked against its digest, its signatures
    /// against `trust`, and only then its config and content fetched, each checked against the
    /// manifest. Kept in the cache once all of it was verified; nothing of a refused artifact is.
    pub fn pull(&self, reference: &Reference, trust: &Trust) -> Result<Pulled, Error> {
        let mut fetched = Vec::new();
        let (pinned, manifest, kind, signers) = self.verified(reference, trust, &mut fetched)?;
        let layer = manifest.layers.first().ok_or_else(|| Error::refused(&pinned, "no content layer"))?;
        let config = self.blob(&pinned, &manifest.config, &mut fetched)?;
        let content = self.blob(&pinned, layer, &mut fetched)?;
        if let Some(cache) = self.cache.as_ref().filter(|_| !self.offline) {
            let tag = reference.tag.as_deref().zip(pinned.digest.as_deref());
            keep(cache, reference, &fetched, tag);
        }
        Ok(Pulled { reference: pinned, kind, annotations: manifest.annotations, config, content, signers })
    }

    /// Who signed the artifact at `reference`, as [`Registry::pull`] checks it, without fetching
    /// its content.
    pub fn verify(&self, reference: &Reference, trust: &Trust) -> Result<(Reference, Kind, Vec<Signer>), Error> {
        let (pinned, _, kind, signers) = self.verified(reference, trust, &mut Vec::new())?;
        Ok((pinned, kind, signers))
    }

    /// The manifest at `reference` and its signers; `fetched` gets every byte read, for the cache.
    fn verified(
        &self,
        reference: &Reference,
        trust: &Trust,
        fetched: &mut Vec<Vec<u8>>,
    ) -> Result<(Reference, Manifest, Kind, Vec<Signer>), Error> {
        let digest = self.resolve(reference)?;
        let pinned = reference.pinned(&digest);
        let bytes = self.manifest(&pinned)?.ok_or_else(|| Error::registry(reference, "no such artifact"))?;
        let (manifest, kind) = Manifest::read(&pinned, &bytes)?;
        fetched.push(bytes);
        let signature_tag = sign::signature_tag(&digest);
        let signatures = if trust.allow_unsigned { None } else { self.signatures(reference, &signature_tag, fetched)? };
        let signers = trust.verify(&pinned, &digest, signatures.as_ref(), |d| self.blob(&pinned, d, fetched))?;
        Ok((pinned, manifest, kind, signers))
    }

    /// The signature manifest of the tag `signature_tag`, if there is one.
    fn signatures(
        &self,
        reference: &Reference,
        signature_tag: &str,
        fetched: &mut Vec<Vec<u8>>,
    ) -> Result<Option<Manifest>, Error> {
        let at = reference.at_tag(signature_tag);
        let digest = match self.resolve(&at) {
            Ok(d) => d,
            Err(_) if self.offline => return Ok(None),
            Err(Error::Registry { reason, .. }) if reason.contains(NOT_FOUND) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(bytes) = self.manifest(&at.pinned(&digest))? else { return Ok(None) };
        let manifest = serde_json::from_slice(&bytes)
            .map_err(|e| Error::refused(&at, format!("the signature manifest is not an OCI image manifest: {e}")))?;
        if let Some(cache) = self.cache.as_ref().filter(|_| !self.offline) {
            keep(cache, reference, &[], Some((signature_tag, &digest)));
        }
        fetched.push(bytes);
        Ok(Some(manifest))
    }

    /// The manifest at the pinned `reference`, checked against its digest; `None` if the
    /// registry has none.
    fn manifest(&self, pinned: &Reference) -> Result<Option<Vec<u8>>, Error> {
        let digest = pinned.digest.as_deref().unwrap_or_default();
        if let Some(bytes) = self.cache.as_ref().and_then(|c| c.get(digest)) {
            return Ok(Some(bytes));
        }
        if self.offline {
            return Err(Error::registry(pinned, "offline, and not in the cache: pull it once online"));
        }
        let target = pinned.client();
        let answer = self.wait(async {
            self.client.store_auth_if_needed(&pinned.registry, &auth(&pinned.registry)).await;
            self.client.pull_manifest_raw(&target, &auth(&pinned.registry), &[MANIFEST]).await
        });
        let bytes = match answer {
            Ok((bytes, _)) => bytes.to_vec(),
            Err(e) if not_found(&e) => return Ok(None),
            Err(e) => return Err(Error::registry(pinned, explain(&e))),
        };
        if bytes.len() > MAX_MANIFEST {
            return Err(Error::refused(pinned, "the manifest is larger than 4 MiB"));
        }
        if digest_of(&bytes) != digest {
            return Err(Error::refused(
                pinned,
                format!("the manifest's digest is {}, not {digest}", digest_of(&bytes)),
            ));
        }
        Ok(Some(bytes))
    }

    /// The blob `descriptor` names, checked against its digest and size.
    fn blob(&self, pinned: &Reference, descriptor: &Descriptor, fetched: &mut Vec<Vec<u8>>) -> Result<Vec<u8>, Error> {
        let bytes = match self.cache.as_ref().and_then(|c| c.get(&descriptor.digest)) {
            Some(b) => b,
            None if self.offline => {
                return Err(Error::registry(
                    pinned,
                    format!("offline, and the blob {} is not in the cache", descriptor.digest),
                ))
            }
            None => self.fetch_blob(pinned, descriptor)?,
        };
        if bytes.len() as u64 != descriptor.size || digest_of(&bytes) != descriptor.digest {
            return Err(Error::refused(
                pinned,
                format!(
                    "the blob {} is not what the manifest says (size {}, digest {})",
                    descriptor.digest,
                    bytes.len(),
                    digest_of(&bytes)
                ),
            ));
        }
        fetched.push(bytes.clone());
        Ok(bytes)
    }

    fn fetch_blob(&self, pinned: &Reference, descriptor: &Descriptor) -> Result<Vec<u8>, Error> {
        use futures_util::StreamExt;
        let target = pinned.client();
        let limit = descriptor.size;
        let answer: Result<Vec<u8>, String> = self.wait(async {
            let mut stream =
                self.client.pull_blob_stream(&target, descriptor.digest.as_str()).await.map_err(|e| explain(&e))?;
            let mut bytes = Vec::new();
            while let Some(chunk) = stream.stream.next().await {
                bytes.extend_from_slice(&chunk.map_err(|e| explain(&e))?);
                if bytes.len() as u64 > limit {
                    return Err(format!(
                        "the blob {} is larger than the manifest says ({limit} bytes)",
                        descriptor.digest
                    ));
                }
            }
            Ok(bytes)
        });
        // A body that does not hash to its digest is the registry's content refused, not the
        // registry unreachable.
        answer.map_err(|reason| {
            if reason.to_lowercase().contains("digest") {
                Error::refused(pinned, reason)
            } else {
                Error::registry(pinned, reason)
            }
        })
    }

    /// Whom the image at `reference` (any image: its manifest is not read) is signed by, as
    /// cosign verifies it: the digest its tag names now, and the signatures at that digest's
    /// signature tag checked against `trust`. What was read is cached (offline, it is read from
    /// there and checked again).
    pub fn verify_image(&self, reference: &Reference, trust: &Trust) -> Result<(String, Vec<Signer>), Error> {
        let digest = self.resolve(reference)?;
        let pinned = reference.pinned(&digest);
        let mut fetched = Vec::new();
        let signature_tag = sign::signature_tag(&digest);
        let signatures = self.signatures(reference, &signature_tag, &mut fetched)?;
        let signers = trust.verify(&pinned, &digest, signatures.as_ref(), |d| self.blob(&pinned, d, &mut fetched))?;
        if let Some(cache) = self.cache.as_ref().filter(|_| !self.offline) {
            keep(cache, reference, &fetched, reference.tag.as_deref().zip(Some(digest.as_str())));
        }
        Ok((digest, signers))
    }

    /// The attestations of the image at `reference` (pinned to `digest`, as `verify_image`
    /// found it) of the types `wanted` asks for, verified against `trust`; and why others
    /// found do not count.
    pub fn attestations(
        &self,
        reference: &Reference,
        digest: &str,
        trust: &Trust,
        wanted: &[paved::AttestationRequest],
    ) -> Result<(Vec<paved::Attestation>, Vec<String>), Error> {
        if wanted.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let pinned = reference.pinned(digest);
        let mut fetched = Vec::new();
        let tag = crate::attest::attestation_tag(digest);
        let manifest = self.signatures(reference, &tag, &mut fetched)?;
        let found = trust.attested(digest, manifest.as_ref(), |d| self.blob(&pinned, d, &mut fetched), wanted);
        if let Some(cache) = self.cache.as_ref().filter(|_| !self.offline) {
            keep(cache, reference, &fetched, None);
        }
        Ok(found)
    }

    /// Signs the artifact at `reference` with `key` (cosign's layout: a layer added to the
    /// manifest at its signature tag); the reference pinned to what was signed.
    pub fn sign(
        &self,
        reference: &Reference,
        key: &SigningKey,
        annotations: &BTreeMap<String, String>,
    ) -> Result<Reference, Error> {
        self.online(reference)?;
        let digest = self.resolve(reference)?;
        let pinned = reference.pinned(&digest);
        let payload = sign::payload(&pinned, &digest, annotations);
        let signature = key.sign(&payload)?;
        let layer = Descriptor {
            media_type: sign::SIMPLE_SIGNING.into(),
            digest: digest_of(&payload),
            size: payload.len() as u64,
            annotations: BTreeMap::from([(sign::SIGNATURE.to_owned(), signature)]),
        };
        self.append(reference, &sign::signature_tag(&digest), (payload, layer))?;
        Ok(pinned)
    }

    /// Attests that `predicate`, of the in-toto type `predicate_type`, holds of the image at
    /// `reference`, signed with `key` (cosign's layout: a DSSE layer added to the manifest at its
    /// attestation tag); the reference pinned to what was attested.
    pub fn attest(
        &self,
        reference: &Reference,
        key: &SigningKey,
        (predicate_type, predicate): (&str, &serde_json::Value),
    ) -> Result<Reference, Error> {
        self.online(reference)?;
        let digest = self.resolve(reference)?;
        let pinned = reference.pinned(&digest);
        let layer = crate::attest::layer(&pinned, &digest, (predicate_type, predicate), key)?;
        self.append(reference, &crate::attest::attestation_tag(&digest), layer)?;
        Ok(pinned)
    }

    /// Adds the layer `blob` (described by `layer`) to the manifest at `tag` in `reference`'s
    /// repository, replacing an equal one, as cosign does.
    fn append(&self, reference: &Reference, tag: &str, (blob, layer): (Vec<u8>, Descriptor)) -> Result<(), Error> {
        let mut layers = self.signatures(reference, tag, &mut Vec::new())?.map(|m| m.layers).unwrap_or_default();
        layers.retain(|l| l.digest != layer.digest || l.annotations != layer.annotations);
        layers.push(layer);
        let (config, manifest) = sign::signature_manifest(&layers);
        let target = reference.at_tag(tag).client();
        self.wait(async {
            self.client.store_auth_if_needed(&reference.registry, &auth(&reference.registry)).await;
            for blob in [&blob, &config] {
                self.client.push_blob(&target, blob.clone(), &digest_of(blob)).await?;
            }
            self.client.push_manifest_raw(&target, manifest, header(MANIFEST)).await
        })
        .map_err(|e| Error::registry(reference, explain(&e)))?;
        Ok(())
    }
}

pub(crate) const NOT_FOUND: &str = "not found";

/// Keeps what was verified in the cache, and the digest a tag named; a cache that cannot be
/// written (a read-only disk) is logged and the pull goes on without it.
fn keep(cache: &Cache, reference: &Reference, blobs: &[Vec<u8>], tag: Option<(&str, &str)>) {
    let kept = blobs
        .iter()
        .try_for_each(|b| cache.put(b))
        .and_then(|()| tag.map_or(Ok(()), |(tag, digest)| cache.tag(reference, tag, digest)));
    if let Err(e) = kept {
        tracing::warn!(error = %e, "the OCI cache cannot be written; going on without it");
    }
}

fn not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(e.code, OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::NotFound)
        }),
        OciDistributionError::ServerError { code, .. } => *code == 404,
        _ => false,
    }
}

/// An error with its causes, and the registry's word for a missing artifact said plainly.
fn explain(e: &(dyn std::error::Error + 'static)) -> String {
    if let Some(oci) = e.downcast_ref::<OciDistributionError>() {
        if not_found(oci) {
            return format!("{NOT_FOUND} in the registry");
        }
        if matches!(
            oci,
            OciDistributionError::UnauthorizedError { .. } | OciDistributionError::AuthenticationFailure(_)
        ) {
            return format!(
                "the registry refused the credentials ({oci}); see docker login or $PAVED_REGISTRY_USERNAME"
            );
        }
    }
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = s.source();
    }
    text
}

fn header(media_type: &'static str) -> http::HeaderValue {
    http::HeaderValue::from_static(media_type)
}

/// The credentials for `registry`: `$PAVED_REGISTRY_USERNAME` and `$PAVED_REGISTRY_PASSWORD`,
/// else the Docker config file (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, with
/// its credential helpers), else none.
fn auth(registry: &str) -> RegistryAuth {
    if let (Ok(user), Ok(password)) =
        (std::env::var("PAVED_REGISTRY_USERNAME"), std::env::var("PAVED_REGISTRY_PASSWORD"))
    {
        return RegistryAuth::Basic(user, password);
    }
    match docker_credential::get_credential(registry) {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => {
            RegistryAuth::Basic(user, password)
        }
        Ok(docker_credential::DockerCredential::IdentityToken(token)) => RegistryAuth::Bearer(token),
        Err(_) => RegistryAuth::Anonymous,
    }
}
