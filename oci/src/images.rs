//! Verdicts on container images for the engine's `verifyImages` rules: each image's signature
//! checked at its registry as cosign checks it, and a cache of verdicts for a server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use paved::{ImageOutcome, ImageRequest, ImageVerdict, ImageVerdicts};

use crate::{Error, Reference, Registry, Trust, TrustedRoot};

/// The verdicts on the images `requests` name, each asked of its registry through `registry`;
/// keyless signers are checked against `root`.
pub fn verdicts(registry: &Registry, root: Option<&Arc<TrustedRoot>>, requests: &[ImageRequest]) -> ImageVerdicts {
    requests.iter().map(|r| verdict(registry, root, r)).collect()
}

/// Every request unreachable, for `reason` (no registry client could be made).
pub fn unreachable(requests: &[ImageRequest], reason: &str) -> ImageVerdicts {
    requests.iter().map(|r| ImageVerdict::new(r, ImageOutcome::Unreachable).reason(reason)).collect()
}

/// Whether `request`'s image is signed by one of its keys or identities, with the attestations
/// it asks for.
fn verdict(registry: &Registry, root: Option<&Arc<TrustedRoot>>, request: &ImageRequest) -> ImageVerdict {
    let verdict = |outcome| ImageVerdict::new(request, outcome);
    let reference = match Reference::from_image(&request.image) {
        Ok(r) => r,
        Err(e) => return verdict(ImageOutcome::Refused).reason(e.to_string()),
    };
    let trust = match Trust::of(&request.keys, &request.identities, root) {
        Ok(t) => t,
        Err(e) => return verdict(ImageOutcome::Unreachable).reason(e),
    };
    let verified = registry.verify_image(&reference, &trust).and_then(|(digest, signers)| {
        let (attestations, problems) = registry.attestations(&reference, &digest, &trust, &request.attestations)?;
        Ok((digest, signers, attestations, problems))
    });
    match verified {
        Ok((digest, signers, attestations, problems)) => {
            let verified = verdict(ImageOutcome::Verified)
                .digest(digest)
                .signers(signers.into_iter().map(|s| s.key).collect())
                .attestations(attestations);
            // Attestations that did not count say why, for the rule that finds one missing.
            if problems.is_empty() {
                verified
            } else {
                verified.reason(problems.join("; "))
            }
        }
        Err(Error::Refused { reason, .. }) => verdict(ImageOutcome::Refused).reason(reason),
        Err(Error::Registry { reason, .. }) if reason.contains(crate::registry::NOT_FOUND) => {
            verdict(ImageOutcome::Refused).reason(format!("the image is {reason}"))
        }
        Err(e) => verdict(ImageOutcome::Unreachable).reason(e.to_string()),
    }
}

/// The most verdicts an [`ImageCache`] keeps; past it, it starts again empty.
const MAX_KEPT: usize = 50_000;

/// Verdicts on images, each kept `ttl` from when it was asked (an unreachable registry's is not
/// kept: the next request asks again), for a server's requests.
pub struct ImageCache {
    registry: Box<dyn Fn() -> Result<&'static Registry, String> + Send + Sync>,
    root: Option<Arc<TrustedRoot>>,
    ttl: Duration,
    kept: Mutex<HashMap<(String, String), (ImageVerdict, Instant)>>,
}

impl ImageCache {
    /// A cache asking `registry` (made when first needed), checking keyless signers against
    /// `root`, and keeping verdicts `ttl`.
    pub fn new(
        registry: impl Fn() -> Result<&'static Registry, String> + Send + Sync + 'static,
        root: Option<Arc<TrustedRoot>>,
        ttl: Duration,
    ) -> Self {
        ImageCache { registry: Box::new(registry), root, ttl, kept: Mutex::default() }
    }

    /// The verdicts on `requests`: kept ones still fresh, the others asked now.
    pub fn verdicts(&self, requests: &[ImageRequest]) -> ImageVerdicts {
        let now = Instant::now();
        let key = |r: &ImageRequest| (r.image.clone(), r.requirement.clone());
        let (mut known, mut asked) = (Vec::new(), Vec::new());
        {
            let kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for r in requests {
                match kept.get(&key(r)).filter(|(_, at)| now.duration_since(*at) < self.ttl) {
                    Some((v, _)) => known.push(v.clone()),
                    None => asked.push(r.clone()),
                }
            }
        }
        if asked.is_empty() {
            return known.into_iter().collect();
        }
        let fresh = match (self.registry)() {
            Ok(registry) => verdicts(registry, self.root.as_ref(), &asked),
            Err(e) => unreachable(&asked, &e),
        };
        let mut kept = self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() > MAX_KEPT {
            kept.clear();
        }
        for v in fresh.iter().filter(|v| v.outcome != ImageOutcome::Unreachable) {
            kept.insert((v.image.clone(), v.requirement.clone()), (v.clone(), now));
        }
        known.into_iter().chain(fresh.iter().cloned()).collect()
    }
}
