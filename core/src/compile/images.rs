//! `verifyImages`: every container image of the pod the rule applies to must carry a verdict
//! of `verified` for the rule's keys. The verdicts come with the context (the engine reaches no
//! registry); an image without one, or whose registry could not be reached, is an error the
//! policy's failure policy decides (fail closed by default).

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde_json::Value;

use crate::model::{image_names, ImageOutcome, ImageRequest, ImageVerdicts, VerifyImagesSpec};

#[derive(Debug)]
pub(crate) struct VerifyImagesCheck {
    images: Option<GlobSet>,
    keys: Vec<String>,
    requirement: String,
}

impl VerifyImagesCheck {
    /// The check `spec` asks for; an error names the field.
    pub(crate) fn new(spec: &VerifyImagesSpec) -> Result<VerifyImagesCheck, (String, String)> {
        if spec.keys.is_empty() {
            return Err(("/verifyImages/keys".into(), "give at least one public key (PEM, as cosign.pub)".into()));
        }
        for (i, key) in spec.keys.iter().enumerate() {
            let key = key.trim();
            if !key.starts_with("-----BEGIN PUBLIC KEY-----") || !key.ends_with("-----END PUBLIC KEY-----") {
                return Err((
                    format!("/verifyImages/keys/{i}"),
                    "not a PEM public key (-----BEGIN PUBLIC KEY-----)".into(),
                ));
            }
        }
        let images = if spec.images.is_empty() {
            None
        } else {
            let mut set = GlobSetBuilder::new();
            for (i, pattern) in spec.images.iter().enumerate() {
                let glob = Glob::new(pattern).map_err(|e| (format!("/verifyImages/images/{i}"), e.to_string()))?;
                set.add(glob);
            }
            Some(set.build().map_err(|e| ("/verifyImages/images".to_owned(), e.to_string()))?)
        };
        Ok(VerifyImagesCheck { images, keys: spec.keys.clone(), requirement: crate::model::requirement_id(&spec.keys) })
    }

    /// Whether the rule applies to `image`.
    pub(crate) fn applies(&self, image: &str) -> bool {
        self.images.as_ref().is_none_or(|set| image_names(image).iter().any(|n| set.is_match(n)))
    }

    /// What this rule asks of `image`.
    pub(crate) fn request(&self, image: &str) -> ImageRequest {
        ImageRequest::new(image, &self.keys)
    }
}

/// The container images of the pod spec at `spec` in `value`, with their pointers.
pub(crate) fn images_of<'v>(value: &'v Value, spec: &str) -> Vec<(String, &'v str)> {
    let mut out = Vec::new();
    for list in crate::k8s::CONTAINER_LISTS {
        let containers = value.pointer(&format!("{spec}/{list}")).and_then(Value::as_array);
        for (i, c) in containers.into_iter().flatten().enumerate() {
            if let Some(image) = c.get("image").and_then(Value::as_str) {
                out.push((format!("{spec}/{list}/{i}/image"), image));
            }
        }
    }
    out
}

impl VerifyImagesCheck {
    /// The images of the pod `value` that fail the rule, by pointer, with why; or why some could
    /// not be judged (no verdict, an unreachable registry), when none fails.
    pub(crate) fn judge(&self, value: &Value, verdicts: &ImageVerdicts) -> Result<Vec<(String, String)>, String> {
        let mut failed = Vec::new();
        let mut unchecked = Vec::new();
        for (path, image) in images_of(value, "/spec").into_iter().filter(|(_, i)| self.applies(i)) {
            match verdicts.get(image, &self.requirement) {
                None => unchecked.push(format!("{image}: no verdict was given for it")),
                Some(v) => match v.outcome {
                    ImageOutcome::Verified => {}
                    ImageOutcome::Unreachable => unchecked.push(format!(
                        "{image}: {}",
                        v.reason.as_deref().unwrap_or("the registry could not be reached")
                    )),
                    ImageOutcome::Refused => {
                        let at = v.digest.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
                        let why = v.reason.as_deref().unwrap_or("no signature by a trusted key");
                        failed.push((path, format!("{image}{at}: {why}")));
                    }
                },
            }
        }
        // An image that could not be checked is not a verdict: the policy's failure policy
        // decides (fail closed unless it says Ignore).
        if failed.is_empty() && !unchecked.is_empty() {
            return Err(format!("image signatures not checked: {}", unchecked.join("; ")));
        }
        Ok(failed)
    }
}
