//! The local store of what was pulled and verified: blobs by digest (hashed again on every read,
//! so a changed file is never served) and the digest each tag last resolved to, for offline
//! runs. Verification is never cached: an offline pull checks the cached signatures again.

use std::path::{Path, PathBuf};

use crate::{digest_of, Error, Reference};

pub(crate) struct Cache {
    root: PathBuf,
}

impl Cache {
    pub(crate) fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    fn blob_path(&self, digest: &str) -> Option<PathBuf> {
        let hex = crate::reference::parse_digest(digest)?.split_off(7);
        Some(self.root.join("blobs").join("sha256").join(hex))
    }

    fn tag_path(&self, reference: &Reference, tag: &str) -> PathBuf {
        let mut path = self.root.join("refs").join(reference.registry.replace(':', "_"));
        path.extend(reference.repository.split('/'));
        path.join(format!("{tag}.digest"))
    }

    /// The blob `digest`, if it is here and still has that digest (a file that changed is
    /// removed).
    pub(crate) fn get(&self, digest: &str) -> Option<Vec<u8>> {
        let path = self.blob_path(digest)?;
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if !meta.is_file() {
            return None;
        }
        let bytes = std::fs::read(&path).ok()?;
        if digest_of(&bytes) == digest {
            return Some(bytes);
        }
        tracing::warn!(path = %path.display(), "a cached blob no longer has its digest; removed");
        let _ = std::fs::remove_file(&path);
        None
    }

    /// Keeps `bytes` under their digest.
    pub(crate) fn put(&self, bytes: &[u8]) -> Result<(), Error> {
        let digest = digest_of(bytes);
        let Some(path) = self.blob_path(&digest) else { return Ok(()) };
        if self.get(&digest).is_some() {
            return Ok(());
        }
        write_atomically(&path, bytes)
    }

    /// The digest `reference`'s tag resolved to when last pulled.
    pub(crate) fn tagged(&self, reference: &Reference, tag: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.tag_path(reference, tag)).ok()?;
        crate::reference::parse_digest(text.trim())
    }

    pub(crate) fn tag(&self, reference: &Reference, tag: &str, digest: &str) -> Result<(), Error> {
        write_atomically(&self.tag_path(reference, tag), digest.as_bytes())
    }
}

/// Writes `bytes` to a file beside `path`, then renames it over `path`: a reader sees the old
/// file or the new one, never part of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::local(dir, e))?;
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::local(dir, e))?;
    file.write_all(bytes).map_err(|e| Error::local(path, e))?;
    file.persist(path).map_err(|e| Error::local(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_blob_is_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        cache.put(b"policy").unwrap();
        let digest = digest_of(b"policy");
        assert_eq!(cache.get(&digest).as_deref(), Some(&b"policy"[..]));
        std::fs::write(cache.blob_path(&digest).unwrap(), b"tampered").unwrap();
        assert_eq!(cache.get(&digest), None);
        assert!(!cache.blob_path(&digest).unwrap().exists());
    }
}
