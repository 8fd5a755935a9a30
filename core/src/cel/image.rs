//! Container image references as Kyverno's `image` library reads them: the rules of
//! go-containerregistry's `name.ParseReference` without strict validation, so `nginx` is
//! `index.docker.io/library/nginx:latest` and a reference is a tag or a digest, never both.

use std::fmt;

/// Docker Hub, where a reference without a registry points.
const DEFAULT_REGISTRY: &str = "index.docker.io";
const REPOSITORY_CHARS: &str = "abcdefghijklmnopqrstuvwxyz0123456789_-./";
const TAG_CHARS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImageRef {
    /// What was parsed.
    pub text: String,
    /// The registry as written (`docker.io` read as Docker Hub's), empty when none was.
    registry: String,
    /// The repository as written, without Docker Hub's implicit `library/`.
    repository: String,
    /// The tag as written; a tag reference without one means `latest`.
    tag: Option<String>,
    /// `sha256:<hex>`, for a digest reference.
    digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference: as a tag reference if it is one, else as a digest reference.
    pub(crate) fn parse(s: &str) -> Result<ImageRef, String> {
        tag_reference(s).or_else(|_| digest_reference(s)).map_err(|e| format!("could not parse reference: {s}: {e}"))
    }

    pub(crate) fn registry(&self) -> &str {
        if self.registry.is_empty() {
            DEFAULT_REGISTRY
        } else {
            &self.registry
        }
    }

    pub(crate) fn repository(&self) -> String {
        if self.registry() == DEFAULT_REGISTRY && !self.repository.contains('/') {
            format!("library/{}", self.repository)
        } else {
            self.repository.clone()
        }
    }

    /// The tag of a tag reference (`latest` when it names none); empty for a digest reference.
    pub(crate) fn tag(&self) -> &str {
        match (&self.digest, &self.tag) {
            (Some(_), _) => "",
            (None, Some(t)) => t,
            (None, None) => "latest",
        }
    }

    /// The digest of a digest reference; empty for a tag reference.
    pub(crate) fn digest(&self) -> &str {
        self.digest.as_deref().unwrap_or_default()
    }

    /// The tag or the digest.
    pub(crate) fn identifier(&self) -> &str {
        self.digest.as_deref().unwrap_or_else(|| self.tag())
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn check(what: &str, element: &str, allowed: &str, (min, max): (usize, usize)) -> Result<(), String> {
    let n = element.chars().count();
    if n < min || n > max {
        return Err(format!("{what} must be between {min} and {max} characters in length: {element}"));
    }
    if element.chars().any(|c| !allowed.contains(c)) {
        return Err(format!("{what} can only contain the characters `{allowed}`: {element}"));
    }
    Ok(())
}

/// A registry is a URI authority: a host name or address, and a port.
fn check_registry(name: &str) -> Result<(), String> {
    let (host, port) = match name.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => (h, Some(p)),
        _ => (name, None),
    };
    let host_ok = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).map_or_else(
        || host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')),
        |ip| ip.parse::<std::net::Ipv6Addr>().is_ok(),
    );
    let port_ok = port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(format!("registries must be valid RFC 3986 URI authorities: {name}"))
    }
}

/// `[registry/]repository`: the first part is a registry only when it has a `.` or a `:`.
fn repository(name: &str) -> Result<(String, String), String> {
    if name.is_empty() {
        return Err("a repository name must be specified".into());
    }
    let (registry, repo) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) => (first, rest),
        _ => ("", name),
    };
    check("repository", repo, REPOSITORY_CHARS, (2, 255))?;
    check_registry(registry)?;
    let registry = if registry == "docker.io" { DEFAULT_REGISTRY } else { registry };
    Ok((registry.to_owned(), repo.to_owned()))
}

fn tag_reference(s: &str) -> Result<ImageRef, String> {
    let (base, tag) = match s.rsplit_once(':') {
        // A colon before a `/` is a registry's port, not a tag.
        Some((base, tag)) if !tag.contains('/') => {
            if tag.is_empty() {
                return Err(format!("{s} must specify a tag name after the colon"));
            }
            check("tag", tag, TAG_CHARS, (1, 128))?;
            (base, Some(tag.to_owned()))
        }
        _ => (s, None),
    };
    let (registry, repository) = repository(base)?;
    Ok(ImageRef { text: s.to_owned(), registry, repository, tag, digest: None })
}

fn digest_reference(s: &str) -> Result<ImageRef, String> {
    let mut parts = s.split('@');
    let (Some(base), Some(digest), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "a digest must contain exactly one '@' separator (e.g. registry/repository@digest) saw: {s}"
        ));
    };
    let Some(hex) = digest.strip_prefix("sha256:") else {
        return Err(format!("unsupported digest algorithm: {digest}"));
    };
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(format!("invalid checksum digest format: {digest}"));
    }
    // A tag written before the digest is dropped.
    let base = tag_reference(base).map_or(base.to_owned(), |t| {
        if t.registry.is_empty() {
            t.repository
        } else {
            format!("{}/{}", t.registry, t.repository)
        }
    });
    let (registry, repository) = repository(&base)?;
    Ok(ImageRef { text: s.to_owned(), registry, repository, tag: None, digest: Some(digest.to_owned()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_read_as_go_containerregistry_reads_them() {
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(
            (r.registry(), r.repository().as_str(), r.tag(), r.identifier()),
            ("index.docker.io", "library/nginx", "latest", "latest")
        );
        let r = ImageRef::parse("docker.io/bitnami/redis:7.2").unwrap();
        assert_eq!((r.registry(), r.repository().as_str(), r.tag()), ("index.docker.io", "bitnami/redis", "7.2"));
        let r = ImageRef::parse("localhost:5000/app:v1").unwrap();
        assert_eq!((r.registry(), r.repository().as_str(), r.tag()), ("localhost:5000", "app", "v1"));
        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("ghcr.io/org/app:v1@{d}")).unwrap();
        assert_eq!((r.registry(), r.repository().as_str(), r.tag(), r.digest()), ("ghcr.io", "org/app", "", &*d));
        assert_eq!(r.identifier(), d);
        // `localhost` alone has neither `.` nor `:`: it is a repository's first part.
        assert_eq!(ImageRef::parse("localhost/app").unwrap().registry(), "index.docker.io");
        for bad in ["", "Nginx", "nginx:", "a", "nginx@sha256:abc", "ghcr.io/app:v1:v2", "nginx:bad tag"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
    }
}
