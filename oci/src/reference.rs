//! `oci://registry/repository:tag` and `oci://registry/repository@sha256:…`: where an artifact
//! is, as the distribution spec names it, with the registry always written out.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// The scheme every reference starts with.
pub const SCHEME: &str = "oci://";

/// An artifact's place in a registry: a tag, a digest, or both (the digest then wins).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    /// `host[:port]`, as written.
    pub registry: String,
    /// The repository's path in the registry (`team/policies`).
    pub repository: String,
    /// The tag, if one was written.
    pub tag: Option<String>,
    /// `sha256:<64 hex>`, if one was written.
    pub digest: Option<String>,
}

impl Reference {
    /// Whether `text` names an OCI artifact (starts with `oci://`).
    pub fn is_oci(text: &str) -> bool {
        text.starts_with(SCHEME)
    }

    /// The same artifact, pinned to `digest`.
    pub fn pinned(&self, digest: &str) -> Reference {
        Reference { digest: Some(digest.to_owned()), ..self.clone() }
    }

    /// The same repository at another tag (and no digest).
    pub fn at_tag(&self, tag: &str) -> Reference {
        Reference { tag: Some(tag.to_owned()), digest: None, ..self.clone() }
    }

    /// `registry/repository`, as cosign's payloads name an image.
    pub fn repository_path(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// What the tag or digest is, for a cache key: the digest when there is one.
    pub fn version(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or("latest")
    }

    /// An image as a pod names it (`nginx:1.27`, `registry.acme.dev/shop/web@sha256:…`), with
    /// Docker's defaults: `docker.io` for a name without a registry, `library/` for a name of
    /// one part, `latest` for no tag.
    pub fn from_image(image: &str) -> Result<Reference, Error> {
        let first = image.split('/').next().unwrap_or_default();
        let has_registry = image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
        let full = match (has_registry, image.contains('/')) {
            (true, _) => image.to_owned(),
            (false, true) => format!("docker.io/{image}"),
            (false, false) => format!("docker.io/library/{image}"),
        };
        let mut reference: Reference = format!("{SCHEME}{full}").parse().map_err(|e| match e {
            Error::Reference { reason, .. } => Error::Reference { reference: image.to_owned(), reason },
            other => other,
        })?;
        if reference.tag.is_none() && reference.digest.is_none() {
            reference.tag = Some("latest".into());
        }
        Ok(reference)
    }

    pub(crate) fn client(&self) -> oci_client::Reference {
        let (registry, repository) = (self.registry.clone(), self.repository.clone());
        match (&self.tag, &self.digest) {
            (_, Some(d)) => oci_client::Reference::with_digest(registry, repository, d.clone()),
            (Some(t), None) => oci_client::Reference::with_tag(registry, repository, t.clone()),
            (None, None) => oci_client::Reference::with_tag(registry, repository, "latest".into()),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = Error;

    fn from_str(text: &str) -> Result<Reference, Error> {
        let bad = |why: &str| Error::Reference { reference: text.to_owned(), reason: why.to_owned() };
        let rest = text.strip_prefix(SCHEME).ok_or_else(|| bad("an OCI reference starts with oci://"))?;
        let (rest, digest) = match rest.split_once('@') {
            Some((r, d)) => {
                (r, Some(parse_digest(d).ok_or_else(|| bad("the digest is not sha256: and 64 hex digits"))?))
            }
            None => (rest, None),
        };
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("no repository: write oci://registry/repository[:tag][@sha256:…]"))?;
        if registry.is_empty() || !registry.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)) {
            return Err(bad("the registry is not a host name with an optional port"));
        }
        // A colon after the last slash starts the tag.
        let (repository, tag) = match path.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r, Some(t)),
            _ => (path, None),
        };
        if repository.is_empty() || !repository.split('/').all(path_component) {
            return Err(bad("the repository is lower-case letters, digits and separators (. _ __ -) between slashes"));
        }
        if let Some(t) = tag {
            let valid = t.len() <= 128
                && t.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                && t.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if !valid {
                return Err(bad("the tag is up to 128 letters, digits, _ . - (not first . or -)"));
            }
        }
        Ok(Reference {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag: tag.map(str::to_owned),
            digest,
        })
    }
}

/// `sha256:<64 lower-case hex>`, as given.
pub(crate) fn parse_digest(text: &str) -> Option<String> {
    let hex = text.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))).then(|| text.to_owned())
}

/// One `/`-separated part of a repository name: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, the
/// distribution spec's grammar.
fn path_component(part: &str) -> bool {
    let mut separator = String::new();
    let mut started = false;
    for c in part.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            let allowed = matches!(separator.as_str(), "" | "." | "_" | "__") || separator.chars().all(|s| s == '-');
            if !allowed {
                return false;
            }
            separator.clear();
            started = true;
        } else if started && ".-_".contains(c) {
            separator.push(c);
        } else {
            return false;
        }
    }
    started && separator.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_print_back() {
        for text in [
            "oci://localhost:5000/acme/policies:1.4.0",
            "oci://registry.acme.dev/platform/packs/baseline@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "oci://127.0.0.1:5000/p:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "oci://ghcr.io/acme/my__plugin-x.y",
        ] {
            let r: Reference = text.parse().unwrap();
            assert_eq!(r.to_string(), text);
        }
        let r: Reference = "oci://localhost:5000/a/b:t".parse().unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("localhost:5000", "a/b", Some("t"))
        );
    }

    #[test]
    fn images_take_dockers_defaults() {
        for (image, full) in [
            ("nginx", "oci://docker.io/library/nginx:latest"),
            ("nginx:1.27", "oci://docker.io/library/nginx:1.27"),
            ("bitnami/redis:7", "oci://docker.io/bitnami/redis:7"),
            (
                "localhost:5000/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "oci://localhost:5000/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ),
            ("registry.acme.dev/shop/web:1.2", "oci://registry.acme.dev/shop/web:1.2"),
        ] {
            assert_eq!(Reference::from_image(image).unwrap().to_string(), full);
        }
        let e = Reference::from_image("Registry.acme.dev/Web").unwrap_err().to_string();
        assert!(e.starts_with("Registry.acme.dev/Web:"), "{e}");
    }

    #[test]
    fn malformed_references_say_why() {
        for (text, why) in [
            ("localhost:5000/a", "starts with oci://"),
            ("oci://localhost:5000", "no repository"),
            ("oci://localhost/Acme", "lower-case"),
            ("oci://localhost/a//b", "lower-case"),
            ("oci://localhost/a:-x", "the tag"),
            ("oci://localhost/a@sha256:12", "digest"),
            ("oci://local host/a", "registry"),
        ] {
            let e = text.parse::<Reference>().unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(text), "{text}: {e}");
        }
    }
}
